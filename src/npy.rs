//! float32 matrices as NumPy .npy files (rows x cols, C order).

use std::path::Path;

use anyhow::{bail, Context, Result};
use npyz::WriterBuilder;

use crate::output::write_atomic;

/// Writes `data` (rows x cols, row-major) to `path` as float32 (atomically).
pub fn write_matrix(path: &Path, data: &[f32], rows: usize, cols: usize) -> Result<()> {
    assert_eq!(data.len(), rows * cols, "npy: data and shape disagree");
    let mut bytes = Vec::new();
    let mut writer = npyz::WriteOptions::<f32>::new()
        .default_dtype()
        .shape(&[rows as u64, cols as u64])
        .writer(&mut bytes)
        .begin_nd()?;
    writer.extend(data.iter().copied())?;
    writer.finish()?;
    write_atomic(path, &bytes)
}

/// Reads a 2-D float32 matrix; returns the values (row-major) and (rows, cols).
pub fn read_matrix(path: &Path) -> Result<(Vec<f32>, usize, usize)> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    parse_matrix(&bytes, &path.display().to_string())
}

/// Parses the bytes of a .npy file holding a 2-D float32 matrix; `shown` names it in errors.
pub fn parse_matrix(bytes: &[u8], shown: &str) -> Result<(Vec<f32>, usize, usize)> {
    check_header(bytes, shown)?;
    let npy = npyz::NpyFile::new(bytes).with_context(|| format!("{shown} is not a .npy file"))?;
    let dtype = npy.dtype().descr();
    if dtype != "'<f4'" {
        bail!("{shown}: dtype {dtype}, expected float32 ('<f4')");
    }
    if npy.order() != npyz::Order::C {
        bail!("{shown}: Fortran order is not supported; save it with C order");
    }
    let shape = npy.shape().to_vec();
    let [rows, cols] = shape[..] else {
        bail!("{shown}: shape {shape:?}, expected a 2-D matrix (samples x features)");
    };
    if rows == 0 || cols == 0 {
        bail!("{shown}: shape {shape:?} holds no values");
    }
    // Checked before reading, so that a header cannot make the reader allocate without bound.
    let fits = rows
        .checked_mul(cols)
        .and_then(|n| n.checked_mul(4))
        .is_some_and(|size| size <= bytes.len() as u64);
    if !fits {
        bail!("{shown}: truncated: shape {shape:?} needs more data than the file holds");
    }
    let values: Vec<f32> = npy
        .into_vec()
        .with_context(|| format!("{shown}: truncated or corrupt data"))?;
    if values.iter().any(|v| !v.is_finite()) {
        bail!("{shown}: holds NaN or infinite values");
    }
    Ok((values, rows as usize, cols as usize))
}

/// Checks the header before npyz parses it: its stated length must fit the file (npyz
/// allocates that length first, so a 20-byte file could ask for 4 GB), and it must be the
/// flat dict a float32 matrix has (npyz's parser backtracks exponentially on deeply nested
/// brackets: 33 `{` took minutes). Both found by fuzzing.
fn check_header(bytes: &[u8], shown: &str) -> Result<()> {
    let stated = match (bytes.get(..6), bytes.get(6)) {
        (Some(b"\x93NUMPY"), Some(1)) => bytes
            .get(8..10)
            .map(|b| (10, usize::from(u16::from_le_bytes([b[0], b[1]])))),
        (Some(b"\x93NUMPY"), Some(2 | 3)) => bytes
            .get(8..12)
            .map(|b| (12, u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)),
        // Not a .npy file at all: npyz says so.
        _ => return Ok(()),
    };
    let Some(header) = stated.and_then(|(prefix, length)| bytes.get(prefix..prefix + length))
    else {
        bail!("{shown}: truncated .npy header");
    };
    let count = |c: u8| header.iter().filter(|&&b| b == c).count();
    if count(b'{') > 1 || count(b'(') > 1 || count(b'[') > 0 {
        bail!("{shown}: not the header of a plain float32 matrix");
    }
    Ok(())
}
