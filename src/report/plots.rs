//! Plots drawn with plotters into memory and written as PNG: the loss curves (and, with
//! `map.rs`, the map of the points). Text uses DejaVu Sans, embedded (assets/DejaVuSans.ttf, its licence
//! beside it), so no system font is needed.

use std::path::Path;
use std::sync::Once;

use anyhow::{anyhow, Result};
use plotters::prelude::*;

use super::images::write_png_rgb;
use crate::train::EpochStats;

const FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");
const SIZE: (u32, u32) = (900, 560);

pub(super) fn register_font() -> Result<()> {
    static ONCE: Once = Once::new();
    let mut result = Ok(());
    ONCE.call_once(|| {
        result = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT)
            .map_err(|_| anyhow!("the embedded font is not a valid TrueType font"));
    });
    result
}

/// Draws on a white canvas of `size` and writes it to `path` (atomically).
pub(super) fn render(
    path: &Path,
    size: (u32, u32),
    draw: impl FnOnce(&DrawingArea<BitMapBackend, plotters::coord::Shift>) -> Result<()>,
) -> Result<()> {
    register_font()?;
    let (w, h) = size;
    let mut rgb = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, size).into_drawing_area();
        draw(&root)?;
        root.present()
            .map_err(|e| anyhow!("plotting failed: {e}"))?;
    }
    write_png_rgb(path, w as usize, h as usize, rgb)
}

pub(super) fn plot_error<E: std::fmt::Display>(e: E) -> anyhow::Error {
    anyhow!("plotting failed: {e}")
}

/// Training loss per epoch, validation loss per epoch, and the running training loss within
/// the epochs (`running`: (epoch as a fraction, mean loss so far)), on an axis named after
/// the `loss`.
pub fn loss_plot(
    path: &Path,
    running: &[(f64, f64)],
    epochs: &[EpochStats],
    loss: crate::model::Loss,
) -> Result<()> {
    let values = running
        .iter()
        .map(|p| p.1)
        .chain(epochs.iter().flat_map(|e| [e.loss, e.val_loss]));
    let (lo, hi) = values.fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let pad = (hi - lo).max(1e-3) * 0.05;
    render(path, SIZE, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption("aeclust: loss per epoch", ("sans-serif", 24))
            .margin(16)
            .x_label_area_size(44)
            .y_label_area_size(64)
            .build_cartesian_2d(0f64..epochs.len().max(1) as f64, (lo - pad)..(hi + pad))
            .map_err(plot_error)?;
        chart
            .configure_mesh()
            .x_desc("epoch")
            .y_desc(loss.description())
            .label_style(("sans-serif", 14))
            .draw()
            .map_err(plot_error)?;
        let faint = BLUE.mix(0.4);
        chart
            .draw_series(LineSeries::new(running.iter().copied(), faint))
            .map_err(plot_error)?
            .label("running training loss")
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], faint));
        for (name, color, value) in [
            (
                "training loss",
                BLUE,
                (|e: &EpochStats| e.loss) as fn(&EpochStats) -> f64,
            ),
            ("validation loss", RED, |e: &EpochStats| e.val_loss),
        ] {
            let points: Vec<(f64, f64)> =
                epochs.iter().map(|e| (e.epoch as f64, value(e))).collect();
            chart
                .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))
                .map_err(plot_error)?
                .label(name)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                });
            chart
                .draw_series(
                    points
                        .into_iter()
                        .map(|p| Circle::new(p, 4, color.filled())),
                )
                .map_err(plot_error)?;
        }
        chart
            .configure_series_labels()
            .label_font(("sans-serif", 14))
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .draw()
            .map_err(plot_error)
    })
}
