//! A dataset as a NumPy array: uint8 N x H x W (grayscale), N x H x W x C (C = 1 or 3), or
//! float32 N x D with values in [0, 1] (stored as bytes, rounded to the nearest 1/255, as
//! images are), with labels from an integer .npy of N values.

use std::path::Path;

use anyhow::{bail, Result};

use super::{DataOptions, Dataset};
use crate::npy::{self, Values};

pub fn load(path: &Path, options: &DataOptions) -> Result<Dataset> {
    let shown = path.display();
    if options.resize.is_some() {
        bail!("--resize applies to image folders; resize the array before saving it");
    }
    let array = npy::read_array(path, npy::IMAGES)?;
    let (count, rows, cols, channels, pixels) = match (array.values, &array.shape[..]) {
        (Values::U8(pixels), &[n, h, w]) => (n, h, w, 1, pixels),
        (Values::U8(pixels), &[n, h, w, c]) if c == 1 || c == 3 => (n, h, w, c, pixels),
        (Values::F32(values), &[n, d]) => {
            if let Some(i) = values.iter().position(|v| !(0.0..=1.0).contains(v)) {
                bail!(
                    "{shown}: value {} at {i} is outside [0, 1]; scale float arrays to [0, 1]",
                    values[i]
                );
            }
            let pixels = values.iter().map(|v| (v * 255.0).round() as u8).collect();
            // A square number of features is drawn as a square image, else as one row.
            let side = (d as f64).sqrt().round() as usize;
            let (h, w) = if side * side == d {
                (side, side)
            } else {
                (1, d)
            };
            (n, h, w, 1, pixels)
        }
        (_, shape) => bail!(
            "{shown}: shape {shape:?} of {}: expected uint8 N x H x W or N x H x W x C (C 1 or \
             3), or float32 N x D",
            array.dtype
        ),
    };
    let labels = match &options.labels {
        None => None,
        Some(file) => Some(read_labels(file, count)?),
    };
    let classes = labels.as_ref().map_or_else(Vec::new, |l: &Vec<u8>| {
        let top = l.iter().copied().max().unwrap_or(0);
        (0..=top).map(|c| c.to_string()).collect()
    });
    Ok(Dataset {
        count,
        rows,
        cols,
        channels,
        pixels,
        labels,
        classes,
        names: None,
    })
}

/// `count` class indices 0 to 255 from an integer .npy.
fn read_labels(path: &Path, count: usize) -> Result<Vec<u8>> {
    let shown = path.display();
    let array = npy::read_array(path, npy::INTEGERS)?;
    let Values::I64(values) = array.values else {
        let Values::U8(values) = array.values else {
            unreachable!("integer dtypes only")
        };
        return check_count(values, &array.shape, count, path);
    };
    if let Some(i) = values.iter().position(|v| !(0..=255).contains(v)) {
        bail!(
            "{shown}: label {} at {i} is not a class index 0 to 255",
            values[i]
        );
    }
    let values = values.into_iter().map(|v| v as u8).collect();
    check_count(values, &array.shape, count, path)
}

fn check_count(values: Vec<u8>, shape: &[usize], count: usize, path: &Path) -> Result<Vec<u8>> {
    if shape.len() != 1 || values.len() != count {
        bail!(
            "{}: shape {shape:?}, expected one label per image ({count})",
            path.display()
        );
    }
    Ok(values)
}
