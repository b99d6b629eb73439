//! Reader for the IDX format of MNIST, gzipped or not, with errors that name the file.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use flate2::read::GzDecoder;

/// Magic number of an IDX file of unsigned bytes with three dimensions (images).
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of an IDX file of unsigned bytes with one dimension (labels).
pub const LABELS_MAGIC: u32 = 0x0000_0801;

#[derive(Debug, thiserror::Error)]
pub enum IdxError {
    #[error("{path}: cannot read: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: not an IDX file of {expected} (magic 0x{found:08x}, expected 0x{magic:08x})")]
    Magic {
        path: String,
        expected: &'static str,
        found: u32,
        magic: u32,
    },
    #[error(
        "{path}: truncated: the header promises {expected} bytes of data, the file has {found}"
    )]
    Truncated {
        path: String,
        expected: usize,
        found: usize,
    },
    #[error("{path}: {found} bytes after the data (the header promises {expected})")]
    TrailingBytes {
        path: String,
        expected: usize,
        found: usize,
    },
    #[error("{path}: empty file")]
    Empty { path: String },
    #[error("{path}: {what}")]
    Invalid { path: String, what: String },
}

/// Images from an IDX3 file: `count` images of `rows` x `cols` bytes, row-major.
pub struct IdxImages {
    pub count: usize,
    pub rows: usize,
    pub cols: usize,
    pub pixels: Vec<u8>,
}

/// Reads a whole file, gunzipping it when it starts with the gzip magic.
fn read_maybe_gzip(path: &Path) -> Result<Vec<u8>, IdxError> {
    let shown = path.display().to_string();
    let io_err = |source| IdxError::Io {
        path: shown.clone(),
        source,
    };
    let mut raw = Vec::new();
    BufReader::new(File::open(path).map_err(io_err)?)
        .read_to_end(&mut raw)
        .map_err(io_err)?;
    if raw.is_empty() {
        return Err(IdxError::Empty { path: shown });
    }
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        GzDecoder::new(raw.as_slice())
            .read_to_end(&mut out)
            .map_err(|e| IdxError::Invalid {
                path: shown.clone(),
                what: format!("corrupt gzip stream: {e}"),
            })?;
        if out.is_empty() {
            return Err(IdxError::Empty { path: shown });
        }
        return Ok(out);
    }
    Ok(raw)
}

fn header_u32(bytes: &[u8], index: usize, path: &str) -> Result<u32, IdxError> {
    let at = index * 4;
    bytes
        .get(at..at + 4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or_else(|| IdxError::Truncated {
            path: path.to_string(),
            expected: at + 4,
            found: bytes.len(),
        })
}

/// Parses an IDX file with `dims` dimensions, returning the dimensions and the payload.
fn parse(
    bytes: Vec<u8>,
    path: &str,
    magic: u32,
    expected: &'static str,
) -> Result<(Vec<usize>, Vec<u8>), IdxError> {
    let found = header_u32(&bytes, 0, path)?;
    if found != magic {
        return Err(IdxError::Magic {
            path: path.to_string(),
            expected,
            found,
            magic,
        });
    }
    let ndims = (magic & 0xff) as usize;
    let dims = (1..=ndims)
        .map(|i| header_u32(&bytes, i, path).map(|d| d as usize))
        .collect::<Result<Vec<_>, _>>()?;
    let header = 4 * (ndims + 1);
    let payload = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| IdxError::Invalid {
            path: path.to_string(),
            what: format!("dimensions {dims:?} overflow"),
        })?;
    let available = bytes.len() - header;
    if available < payload {
        return Err(IdxError::Truncated {
            path: path.to_string(),
            expected: payload,
            found: available,
        });
    }
    if available > payload {
        return Err(IdxError::TrailingBytes {
            path: path.to_string(),
            expected: payload,
            found: available,
        });
    }
    let mut bytes = bytes;
    bytes.drain(..header);
    Ok((dims, bytes))
}

/// Reads an IDX3 image file (`.gz` or raw).
pub fn read_images(path: &Path) -> Result<IdxImages, IdxError> {
    let shown = path.display().to_string();
    let (dims, pixels) = parse(read_maybe_gzip(path)?, &shown, IMAGES_MAGIC, "images")?;
    if dims.contains(&0) {
        return Err(IdxError::Invalid {
            path: shown,
            what: format!("no images (dimensions {dims:?})"),
        });
    }
    Ok(IdxImages {
        count: dims[0],
        rows: dims[1],
        cols: dims[2],
        pixels,
    })
}

/// Reads an IDX1 label file (`.gz` or raw).
pub fn read_labels(path: &Path) -> Result<Vec<u8>, IdxError> {
    let shown = path.display().to_string();
    let (_, labels) = parse(read_maybe_gzip(path)?, &shown, LABELS_MAGIC, "labels")?;
    Ok(labels)
}

/// Encodes images as an IDX3 byte stream (used to write synthetic datasets in tests).
pub fn encode_images(count: usize, rows: usize, cols: usize, pixels: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + pixels.len());
    for v in [IMAGES_MAGIC, count as u32, rows as u32, cols as u32] {
        out.extend_from_slice(&v.to_be_bytes());
    }
    out.extend_from_slice(pixels);
    out
}

/// Encodes labels as an IDX1 byte stream.
pub fn encode_labels(labels: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + labels.len());
    for v in [LABELS_MAGIC, labels.len() as u32] {
        out.extend_from_slice(&v.to_be_bytes());
    }
    out.extend_from_slice(labels);
    out
}
