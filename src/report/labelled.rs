//! Words on pictures: a title above a grid of images and a label left of each of its rows,
//! in the embedded DejaVu Sans, so that pictures name clusters and classes as the user does.

use anyhow::{anyhow, Result};
use plotters::prelude::*;

use super::images::Picture;
use super::plots::register_font;

const TEXT: u32 = 13;
const TITLE: u32 = 15;

/// `grid` (gray or RGB) with `title` above it and `rows[i]` left of its i-th row, each row
/// `row_height` pixels from the grid's first pixel row; RGB.
pub fn labelled(
    grid: &Picture,
    title: &str,
    rows: &[String],
    row_height: usize,
) -> Result<Picture> {
    register_font()?;
    let font = ("sans-serif", TEXT).into_font();
    let measure = |text: &str| {
        font.box_size(text)
            .map_or(8 * text.len() as u32, |(w, _)| w)
    };
    let label_width = rows.iter().map(|r| measure(r)).max().map_or(0, |w| w + 12) as usize;
    let title_height = TITLE as usize + 12;
    let width = (label_width + grid.width).max(measure(title) as usize + 16);
    let height = title_height + grid.height;
    let mut rgb = vec![255u8; width * height * 3];
    for y in 0..grid.height {
        for x in 0..grid.width {
            let from = (y * grid.width + x) * grid.channels;
            let to = ((title_height + y) * width + label_width + x) * 3;
            for c in 0..3 {
                rgb[to + c] = grid.pixels[from + c.min(grid.channels - 1)];
            }
        }
    }
    {
        let root =
            BitMapBackend::with_buffer(&mut rgb, (width as u32, height as u32)).into_drawing_area();
        let style = |size: u32| ("sans-serif", size).into_font().color(&BLACK);
        let failed = |e| anyhow!("labelling a picture failed: {e}");
        root.draw_text(title, &style(TITLE), (6, 6))
            .map_err(failed)?;
        for (i, text) in rows.iter().enumerate() {
            let middle = title_height + i * row_height + row_height / 2;
            let y = middle.saturating_sub(TEXT as usize / 2) as i32;
            root.draw_text(text, &style(TEXT), (4, y)).map_err(failed)?;
        }
        root.present().map_err(failed)?;
    }
    Ok(Picture {
        width,
        height,
        channels: 3,
        pixels: rgb,
    })
}
