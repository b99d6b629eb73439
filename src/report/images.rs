//! Pictures, grayscale or RGB: grids of images, written as PNG.

use std::path::Path;

use anyhow::Result;

use crate::output::write_atomic;

/// The shape of one image: rows x cols pixels of `channels` bytes (1 gray, 3 RGB).
pub type ImageShape = crate::data::Shape;

/// A one-channel image of `shape`'s size in `shape`'s channels (gray in every channel).
fn gray_in(shape: ImageShape, gray: &[u8]) -> Vec<u8> {
    gray.iter()
        .flat_map(|&v| std::iter::repeat_n(v, shape.channels))
        .collect()
}

/// A picture, `channels` bytes per pixel, row-major.
pub struct Picture {
    pub width: usize,
    pub height: usize,
    pub channels: usize,
    pub pixels: Vec<u8>,
}

/// Lays `images` (each of `shape`) out left to right, top to bottom, `per_row` to a row, each
/// scaled up `scale` times, with a 1-pixel mid-gray gutter around every cell.
pub fn image_grid(images: &[&[u8]], shape: ImageShape, per_row: usize, scale: usize) -> Picture {
    const GUTTER: u8 = 128;
    let ImageShape {
        rows,
        cols,
        channels,
    } = shape;
    let per_row = per_row.max(1);
    let grid_rows = images.len().div_ceil(per_row).max(1);
    let (cell_w, cell_h) = (cols * scale + 1, rows * scale + 1);
    let width = per_row * cell_w + 1;
    let height = grid_rows * cell_h + 1;
    let mut pixels = vec![GUTTER; width * height * channels];
    for (i, image) in images.iter().enumerate() {
        let (x0, y0) = ((i % per_row) * cell_w + 1, (i / per_row) * cell_h + 1);
        for y in 0..rows * scale {
            for x in 0..cols * scale {
                let from = ((y / scale) * cols + x / scale) * channels;
                let to = ((y0 + y) * width + x0 + x) * channels;
                pixels[to..to + channels].copy_from_slice(&image[from..from + channels]);
            }
        }
    }
    Picture {
        width,
        height,
        channels,
        pixels,
    }
}

/// Writes a grayscale or RGB PNG (atomically).
pub fn write_png(path: &Path, picture: &Picture) -> Result<()> {
    write_atomic(path, &png_bytes(picture)?)
}

/// A grayscale or RGB picture as the bytes of a PNG file.
pub fn png_bytes(picture: &Picture) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    {
        let mut encoder =
            png::Encoder::new(&mut bytes, picture.width as u32, picture.height as u32);
        encoder.set_color(if picture.channels == 3 {
            png::ColorType::Rgb
        } else {
            png::ColorType::Grayscale
        });
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header()?;
        writer.write_image_data(&picture.pixels)?;
    }
    Ok(bytes)
}

/// `image` (of `shape`) brought within `side` x `side` pixels by taking every n-th pixel (an
/// image that fits already is kept), and its new shape: a thumbnail.
pub fn thumbnail(image: &[u8], shape: ImageShape, side: usize) -> (Vec<u8>, ImageShape) {
    let step = shape.rows.max(shape.cols).div_ceil(side).max(1);
    if step == 1 {
        return (image.to_vec(), shape);
    }
    let (rows, cols) = (shape.rows.div_ceil(step), shape.cols.div_ceil(step));
    let mut pixels = Vec::with_capacity(rows * cols * shape.channels);
    for r in 0..rows {
        for c in 0..cols {
            let at = ((r * step) * shape.cols + c * step) * shape.channels;
            pixels.extend_from_slice(&image[at..at + shape.channels]);
        }
    }
    let small = ImageShape {
        rows,
        cols,
        channels: shape.channels,
    };
    (pixels, small)
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
/// [0, 1], in the images' channels) and a row of their codes (gray, scaled by the largest code
/// value shown), `scale` times enlarged, with 1-pixel gutters.
pub fn reconstruction_sheet(
    originals: &[&[u8]],
    reconstructions: &[f32],
    codes: &[f32],
    shape: ImageShape,
    scale: usize,
) -> Picture {
    let count = originals.len();
    let recon = to_bytes(reconstructions, 1.0);
    let max_code = codes.iter().copied().fold(0.0f32, f32::max);
    let code_bytes = to_bytes(codes, max_code);
    let width = codes.len() / count.max(1);
    let code_images: Vec<Vec<u8>> = code_bytes
        .chunks(width.max(1))
        .map(|c| gray_in(shape, &code_image(c, shape.rows, shape.cols)))
        .collect();
    let mut cells: Vec<&[u8]> = originals.to_vec();
    cells.extend(recon.chunks(shape.size()));
    cells.extend(code_images.iter().map(Vec::as_slice));
    image_grid(&cells, shape, count, scale)
}

/// Writes an RGB PNG (atomically).
pub fn write_png_rgb(path: &Path, width: usize, height: usize, rgb: Vec<u8>) -> Result<()> {
    let picture = Picture {
        width,
        height,
        channels: 3,
        pixels: rgb,
    };
    write_png(path, &picture)
}
