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
    let shown = path.display();
    let file = std::fs::File::open(path).with_context(|| format!("cannot read {shown}"))?;
    let npy = npyz::NpyFile::new(std::io::BufReader::new(file))
        .with_context(|| format!("{shown} is not a .npy file"))?;
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
    let values: Vec<f32> = npy
        .into_vec()
        .with_context(|| format!("{shown}: truncated or corrupt data"))?;
    if values.iter().any(|v| !v.is_finite()) {
        bail!("{shown}: holds NaN or infinite values");
    }
    Ok((values, rows as usize, cols as usize))
}
