//! Grayscale pictures: grids of images, written as PNG.

use std::path::Path;

use anyhow::Result;

use crate::output::write_atomic;

/// A grayscale picture, one byte per pixel, row-major.
pub struct Gray {
    pub width: usize,
    pub height: usize,
    pub pixels: Vec<u8>,
}

/// Lays `images` (each `rows` x `cols` bytes) out left to right, top to bottom, `per_row` to
/// a row, each scaled up `scale` times, with a 1-pixel mid-gray gutter around every cell.
pub fn image_grid(
    images: &[&[u8]],
    rows: usize,
    cols: usize,
    per_row: usize,
    scale: usize,
) -> Gray {
    const GUTTER: u8 = 128;
    let per_row = per_row.max(1);
    let grid_rows = images.len().div_ceil(per_row).max(1);
    let (cell_w, cell_h) = (cols * scale + 1, rows * scale + 1);
    let width = per_row * cell_w + 1;
    let height = grid_rows * cell_h + 1;
    let mut pixels = vec![GUTTER; width * height];
    for (i, image) in images.iter().enumerate() {
        let (x0, y0) = ((i % per_row) * cell_w + 1, (i / per_row) * cell_h + 1);
        for y in 0..rows * scale {
            for x in 0..cols * scale {
                pixels[(y0 + y) * width + x0 + x] = image[(y / scale) * cols + x / scale];
            }
        }
    }
    Gray {
        width,
        height,
        pixels,
    }
}

/// Writes a grayscale PNG (atomically).
pub fn write_png(path: &Path, picture: &Gray) -> Result<()> {
    let mut bytes = Vec::new();
    {
        let mut encoder =
            png::Encoder::new(&mut bytes, picture.width as u32, picture.height as u32);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header()?;
        writer.write_image_data(&picture.pixels)?;
    }
    write_atomic(path, &bytes)
}
