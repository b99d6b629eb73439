//! A dataset as a NumPy array, as NumPy writes them: N x H x W, N x H x W x C (C = 1 or 3) or
//! N x D, of any integer type (values 0 to 255) or float type (values in [0, 1], rounded to
//! the nearest 1/255 as images are), with labels from an integer .npy of N values.
//!
//! [`survey`] reads the headers only; [`load`] streams the values through one conversion to
//! bytes, so the array is never held twice.

use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::{Dataset, Shape, NO_LABEL};
use crate::npy::{self, Element, ElementKind, Header, Values};

/// A .npy dataset surveyed.
pub struct ArrayPlan {
    path: PathBuf,
    header: Header,
    pub count: usize,
    pub shape: Shape,
    pub labels: Option<Vec<u8>>,
    pub classes: Vec<String>,
}

/// Reads the array's header and the labels, and checks that they go together.
pub fn survey(path: &Path, labels: Option<&Path>) -> Result<ArrayPlan> {
    let shown = path.display();
    let header = npy::read_header(path)?;
    let (count, shape) = match header.shape[..] {
        [n, h, w] => (n, (h, w, 1)),
        [n, h, w, c] if c == 1 || c == 3 => (n, (h, w, c)),
        [n, d] => {
            // A square number of features is drawn as a square image, else as one row.
            let side = (d as f64).sqrt().round() as usize;
            (
                n,
                if side * side == d {
                    (side, side, 1)
                } else {
                    (1, d, 1)
                },
            )
        }
        _ => bail!(
            "{shown}: shape {:?}: expected N x H x W, N x H x W x C (C 1 or 3) or N x D",
            header.shape
        ),
    };
    let labels = labels.map(|file| read_labels(file, count)).transpose()?;
    let classes = labels.as_ref().map_or_else(Vec::new, |l| {
        let top = l.iter().copied().max().unwrap_or(0);
        (0..=top).map(|c| c.to_string()).collect()
    });
    Ok(ArrayPlan {
        path: path.to_path_buf(),
        header,
        count,
        shape: Shape {
            rows: shape.0,
            cols: shape.1,
            channels: shape.2,
        },
        labels,
        classes,
    })
}

/// Reads the values, converted to bytes on the way: each image is named by its index in the
/// array.
pub fn load(plan: &ArrayPlan) -> Result<Dataset> {
    let shown = plan.path.display();
    let mut file = crate::input::open(&plan.path)?;
    file.seek(SeekFrom::Start(plan.header.data_offset))
        .with_context(|| format!("cannot read {shown}"))?;
    let pixels = to_bytes(BufReader::new(file), &plan.header, &shown.to_string())?;
    Ok(Dataset {
        count: plan.count,
        rows: plan.shape.rows,
        cols: plan.shape.cols,
        channels: plan.shape.channels,
        pixels,
        labels: plan.labels.clone(),
        classes: plan.classes.clone(),
        names: Some((0..plan.count).map(|i| i.to_string()).collect()),
    })
}

/// One value as a pixel, or the value as a number when it is out of range.
fn pixel(raw: &[u8], element: Element) -> Result<u8, f64> {
    let mut bytes = [0u8; 8];
    bytes[..raw.len()].copy_from_slice(raw);
    if element.big_endian {
        bytes[..raw.len()].reverse();
    }
    let unsigned = u64::from_le_bytes(bytes);
    let integer = |value: i128| u8::try_from(value).map_err(|_| value as f64);
    match (element.kind, element.bytes) {
        (ElementKind::Float, 4) => {
            let v = f32::from_bits(unsigned as u32);
            // The same rounding as the float32 images of earlier versions.
            if (0.0..=1.0).contains(&v) {
                Ok((v * 255.0).round() as u8)
            } else {
                Err(f64::from(v))
            }
        }
        (ElementKind::Float, 2) => {
            let v = half_to_f32(unsigned as u16);
            if (0.0..=1.0).contains(&v) {
                Ok((v * 255.0).round() as u8)
            } else {
                Err(f64::from(v))
            }
        }
        (ElementKind::Float, _) => {
            let v = f64::from_bits(unsigned);
            if (0.0..=1.0).contains(&v) {
                Ok((v * 255.0).round() as u8)
            } else {
                Err(v)
            }
        }
        (ElementKind::Unsigned, _) => integer(i128::from(unsigned)),
        (ElementKind::Signed, n) => {
            let shift = 64 - 8 * n as u32;
            integer(i128::from((unsigned << shift) as i64 >> shift))
        }
    }
}

/// An IEEE half-precision value (NumPy's float16) as f32, exactly.
fn half_to_f32(bits: u16) -> f32 {
    let sign = if bits & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exponent = i32::from((bits >> 10) & 0x1f);
    let fraction = f32::from(bits & 0x3ff);
    sign * match exponent {
        0 => fraction * 2f32.powi(-24),
        31 if fraction == 0.0 => f32::INFINITY,
        31 => f32::NAN,
        e => (1.0 + fraction / 1024.0) * 2f32.powi(e - 15),
    }
}

/// Streams the values of `reader` (positioned at the data) into bytes, checking each.
fn to_bytes(mut reader: impl Read, header: &Header, shown: &str) -> Result<Vec<u8>> {
    let element = header.element;
    let count = header.values();
    let mut pixels = Vec::new();
    pixels
        .try_reserve_exact(count)
        .with_context(|| format!("{shown}: cannot hold {count} values"))?;
    let mut chunk = vec![0u8; element.bytes << 16];
    while pixels.len() < count {
        let values = (count - pixels.len()).min(1 << 16);
        let raw = &mut chunk[..values * element.bytes];
        reader
            .read_exact(raw)
            .with_context(|| format!("{shown}: truncated or unreadable data"))?;
        for value in raw.chunks_exact(element.bytes) {
            match pixel(value, element) {
                Ok(p) => pixels.push(p),
                Err(v) => {
                    let range = match element.kind {
                        ElementKind::Float => "[0, 1]; scale float arrays to [0, 1]",
                        _ => "0 to 255; integer arrays hold pixel values",
                    };
                    bail!(
                        "{shown}: value {v} at index {} is outside {range}",
                        pixels.len()
                    );
                }
            }
        }
    }
    Ok(pixels)
}

/// `count` class indices 0 to 254 from an integer .npy.
fn read_labels(path: &Path, count: usize) -> Result<Vec<u8>> {
    let shown = path.display();
    let array = npy::read_array(path, npy::INTEGERS)?;
    let values: Vec<i64> = match array.values {
        Values::I64(values) => values,
        Values::U8(values) => values.into_iter().map(i64::from).collect(),
        Values::F32(_) => unreachable!("integer dtypes only"),
    };
    if array.shape.len() != 1 || values.len() != count {
        bail!(
            "{shown}: shape {:?}, expected one label per image ({count})",
            array.shape
        );
    }
    if let Some(i) = values
        .iter()
        .position(|v| !(0..i64::from(NO_LABEL)).contains(v))
    {
        bail!(
            "{shown}: label {} at {i} is not a class index 0 to {}",
            values[i],
            NO_LABEL - 1
        );
    }
    Ok(values.into_iter().map(|v| v as u8).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn element(descr: &str) -> Element {
        Element::parse(descr).unwrap()
    }

    #[test]
    fn every_type_converts_and_refuses_out_of_range_values() {
        let f8 = element("'<f8'");
        assert_eq!(pixel(&0.5f64.to_le_bytes(), f8), Ok(128));
        assert_eq!(pixel(&1.0f64.to_le_bytes(), f8), Ok(255));
        assert_eq!(pixel(&1.5f64.to_le_bytes(), f8), Err(1.5));
        assert!(pixel(&f64::NAN.to_le_bytes(), f8).is_err());
        let f4 = element("'<f4'");
        assert_eq!(pixel(&(0.2f32).to_le_bytes(), f4), Ok(51));
        let be = element("'>f4'");
        assert_eq!(pixel(&(0.2f32).to_be_bytes(), be), Ok(51));
        assert_eq!(pixel(&(-1i16).to_le_bytes(), element("'<i2'")), Err(-1.0));
        assert_eq!(pixel(&(255i16).to_le_bytes(), element("'<i2'")), Ok(255));
        assert_eq!(pixel(&(256u32).to_le_bytes(), element("'<u4'")), Err(256.0));
        assert_eq!(pixel(&(7i64).to_be_bytes(), element("'>i8'")), Ok(7));
        assert_eq!(pixel(&[200], element("'|u1'")), Ok(200));
        let f2 = element("'<f2'");
        assert_eq!(pixel(&0x3800u16.to_le_bytes(), f2), Ok(128), "0.5");
        assert_eq!(pixel(&0x3c00u16.to_le_bytes(), f2), Ok(255), "1.0");
        assert_eq!(pixel(&0x4000u16.to_le_bytes(), f2), Err(2.0));
        assert_eq!(
            pixel(&0x0001u16.to_le_bytes(), f2),
            Ok(0),
            "the smallest subnormal"
        );
        assert!(pixel(&0x7e00u16.to_le_bytes(), f2).is_err(), "NaN");
        assert_eq!(pixel(&[200], element("'|i1'")), Err(-56.0));
        assert_eq!(
            pixel(&u64::MAX.to_le_bytes(), element("'<u8'")),
            Err(u64::MAX as f64)
        );
    }
}
