//! The map: every point in 2-D (UMAP's layout for display, or the first two principal
//! components), coloured by cluster, and beside it by true class when the classes are known.

use std::path::Path;

use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::palette::{self, Shape};
use super::plots::{plot_error, render};
use crate::data::NO_LABEL;

/// Groups shown in a legend at most (the rest are named "and N more").
const LEGEND_MAX: usize = 20;

/// What a panel colours the points by.
struct Groups<'a> {
    title: String,
    of_point: Vec<usize>,
    names: &'a [String],
}

/// Draws `xy` (n x 2), titled by `method`, coloured by `clusters` and, with `classes`
/// (each point's class index, [`NO_LABEL`] for none, and the class names), a second panel
/// coloured by class. Points are small and translucent so that tens of thousands do not
/// hide each other.
pub fn map_plot(
    path: &Path,
    xy: &[f32],
    method: &str,
    clusters: &[u32],
    classes: Option<(&[u8], &[String])>,
) -> Result<()> {
    let k = clusters.iter().max().map_or(0, |&c| c as usize + 1);
    let cluster_names: Vec<String> = (0..k).map(|c| format!("cluster {c}")).collect();
    let mut panels = vec![Groups {
        title: format!("{method}, by cluster"),
        of_point: clusters.iter().map(|&c| c as usize).collect(),
        names: &cluster_names,
    }];
    if let Some((labels, names)) = classes {
        panels.push(Groups {
            title: format!("{method}, by class"),
            of_point: labels
                .iter()
                .map(|&l| {
                    if l == NO_LABEL {
                        usize::MAX
                    } else {
                        l as usize
                    }
                })
                .collect(),
            names,
        });
    }
    let points: Vec<(f64, f64)> = xy
        .chunks(2)
        .map(|p| (f64::from(p[0]), f64::from(p[1])))
        .collect();
    let size = (720 * panels.len() as u32, 640);
    render(path, size, |root| {
        let areas = root.split_evenly((1, panels.len()));
        for (area, groups) in areas.iter().zip(&panels) {
            panel(area, &points, groups)?;
        }
        Ok(())
    })
}

fn range(values: impl Iterator<Item = f64> + Clone) -> std::ops::Range<f64> {
    let (lo, hi) = values.fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let pad = (hi - lo).max(1e-6) * 0.03;
    (lo - pad)..(hi + pad)
}

fn panel(
    area: &DrawingArea<BitMapBackend, Shift>,
    points: &[(f64, f64)],
    groups: &Groups,
) -> Result<()> {
    let xr = range(points.iter().map(|p| p.0));
    let yr = range(points.iter().map(|p| p.1));
    let mut chart = ChartBuilder::on(area)
        .caption(&groups.title, ("sans-serif", 20))
        .margin(12)
        .margin_right(12 + legend_width(area, groups))
        .build_cartesian_2d(xr, yr)
        .map_err(plot_error)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .disable_axes()
        .draw()
        .map_err(plot_error)?;
    // Fewer points, less transparent; 10 000 points at a quarter.
    let alpha = (2_500.0 / points.len().max(1) as f64).clamp(0.12, 0.8);
    let members = |g: usize| -> Vec<(f64, f64)> {
        points
            .iter()
            .zip(&groups.of_point)
            .filter(|&(_, &of)| of == g)
            .map(|(&p, _)| p)
            .collect()
    };
    let unlabelled = members(usize::MAX);
    chart
        .draw_series(
            unlabelled
                .iter()
                .map(|&p| Circle::new(p, 1, BLACK.mix(alpha / 2.0).filled())),
        )
        .map_err(plot_error)?;
    let count = groups.names.len();
    for g in 0..count {
        let style = palette::colour(g).mix(alpha).filled();
        let at = members(g);
        let size = 2;
        match palette::shape(g) {
            Shape::Circle => chart.draw_series(at.iter().map(|&p| Circle::new(p, size, style))),
            Shape::Square => chart.draw_series(at.iter().map(|&p| {
                EmptyElement::at(p) + Rectangle::new([(-size, -size), (size, size)], style)
            })),
            Shape::Triangle => {
                chart.draw_series(at.iter().map(|&p| TriangleMarker::new(p, size + 1, style)))
            }
            Shape::Diamond => chart
                .draw_series(at.iter().map(|&p| {
                    EmptyElement::at(p) + Polygon::new(diamond((0, 0), size + 1), style)
                })),
        }
        .map_err(plot_error)?;
    }
    legend(area, groups)
}

/// The four corners of a diamond of half-width `r` around `c`.
fn diamond(c: (i32, i32), r: i32) -> Vec<(i32, i32)> {
    vec![
        (c.0, c.1 - r),
        (c.0 + r, c.1),
        (c.0, c.1 + r),
        (c.0 - r, c.1),
    ]
}

/// The width the legend takes at the panel's right: its markers and its longest name.
fn legend_width(area: &DrawingArea<BitMapBackend, Shift>, groups: &Groups) -> u32 {
    let font = ("sans-serif", 12).into_font().color(&BLACK);
    let text = groups.names[..groups.names.len().min(LEGEND_MAX)]
        .iter()
        .chain(std::iter::once(&"and 99 more".to_string()))
        .map(|n| area.estimate_text_size(n, &font).map_or(80, |(w, _)| w))
        .max()
        .unwrap_or(80);
    text + 36
}

/// The groups' markers and names at the panel's upper right, beside the points.
fn legend(area: &DrawingArea<BitMapBackend, Shift>, groups: &Groups) -> Result<()> {
    let count = groups.names.len();
    let shown = count.min(LEGEND_MAX);
    let more = count > LEGEND_MAX;
    let rows = shown + usize::from(more);
    if rows == 0 {
        return Ok(());
    }
    let (width, _) = area.dim_in_pixel();
    let font = ("sans-serif", 12).into_font().color(&BLACK);
    let (line, left) = (16, width as i32 - legend_width(area, groups) as i32);
    let top = 36;
    area.draw(&Rectangle::new(
        [
            (left - 6, top - 8),
            (width as i32 - 8, top + line * rows as i32),
        ],
        WHITE.mix(0.85).filled(),
    ))
    .map_err(plot_error)?;
    for (g, name) in groups.names[..shown].iter().enumerate() {
        let (x, y) = (left + 6, top + line * g as i32);
        let style = palette::colour(g).filled();
        match palette::shape(g) {
            Shape::Circle => area.draw(&Circle::new((x, y), 5, style)),
            Shape::Square => area.draw(&Rectangle::new([(x - 5, y - 5), (x + 5, y + 5)], style)),
            Shape::Triangle => area.draw(&TriangleMarker::new((x, y), 6, style)),
            Shape::Diamond => area.draw(&Polygon::new(diamond((x, y), 6), style)),
        }
        .map_err(plot_error)?;
        area.draw_text(name, &font, (x + 12, y - 7))
            .map_err(plot_error)?;
    }
    if more {
        let y = top + line * shown as i32;
        let text = format!("and {} more", count - LEGEND_MAX);
        area.draw_text(&text, &font, (left + 18, y - 7))
            .map_err(plot_error)?;
    }
    Ok(())
}
