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

/// Scales values in [0, `max`] to bytes (clamped).
fn to_bytes(values: &[f32], max: f32) -> Vec<u8> {
    let scale = if max > 0.0 { 255.0 / max } else { 0.0 };
    values
        .iter()
        .map(|&v| (v * scale).clamp(0.0, 255.0).round() as u8)
        .collect()
}

/// Draws a code as a block image 4 values wide (32 values: 8 x 4, as in the post), each value
/// a 3x3 square, centred on a black `rows` x `cols` canvas.
fn code_image(code: &[u8], rows: usize, cols: usize) -> Vec<u8> {
    const PER_ROW: usize = 4;
    const CELL: usize = 3;
    let code_rows = code.len().div_ceil(PER_ROW);
    let (h, w) = (code_rows * CELL, PER_ROW * CELL);
    let (top, left) = (rows.saturating_sub(h) / 2, cols.saturating_sub(w) / 2);
    let mut canvas = vec![0u8; rows * cols];
    for (i, &v) in code.iter().enumerate() {
        let (r0, c0) = (top + (i / PER_ROW) * CELL, left + (i % PER_ROW) * CELL);
        for r in r0..(r0 + CELL).min(rows) {
            for c in c0..(c0 + CELL).min(cols) {
                canvas[r * cols + c] = v;
            }
        }
    }
    canvas
}

/// The post's picture: a row of original images, a row of their reconstructions (values in
/// [0, 1]) and a row of their codes (scaled by the largest code value shown), `scale` times
/// enlarged, with 1-pixel gutters.
pub fn reconstruction_sheet(
    originals: &[&[u8]],
    reconstructions: &[f32],
    codes: &[f32],
    (rows, cols): (usize, usize),
    scale: usize,
) -> Gray {
    let count = originals.len();
    let recon = to_bytes(reconstructions, 1.0);
    let max_code = codes.iter().copied().fold(0.0f32, f32::max);
    let code_bytes = to_bytes(codes, max_code);
    let width = codes.len() / count.max(1);
    let code_images: Vec<Vec<u8>> = code_bytes
        .chunks(width.max(1))
        .map(|c| code_image(c, rows, cols))
        .collect();
    let mut cells: Vec<&[u8]> = originals.to_vec();
    cells.extend(recon.chunks(rows * cols));
    cells.extend(code_images.iter().map(Vec::as_slice));
    image_grid(&cells, rows, cols, count, scale)
}

/// Writes an RGB PNG (atomically).
pub fn write_png_rgb(path: &Path, width: usize, height: usize, rgb: &[u8]) -> Result<()> {
    let mut bytes = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut bytes, width as u32, height as u32);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.write_header()?.write_image_data(rgb)?;
    }
    write_atomic(path, &bytes)
}
