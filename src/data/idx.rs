//! Reader for the IDX format of MNIST, gzipped or not, with errors that name the file.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
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
    #[error("{path}: more bytes after the data than the {expected} the header promises")]
    TrailingBytes { path: String, expected: usize },
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

/// The stream of an IDX file's bytes: raw, or gunzipped when it starts with the gzip magic.
struct Source<'a> {
    reader: Box<dyn Read + 'a>,
    gzip: bool,
    path: &'a str,
}

impl<'a> Source<'a> {
    fn new(bytes: &'a [u8], path: &'a str) -> Result<Self, IdxError> {
        if bytes.is_empty() {
            return Err(IdxError::Empty { path: path.into() });
        }
        let gzip = bytes.starts_with(&[0x1f, 0x8b]);
        let reader: Box<dyn Read> = if gzip {
            Box::new(GzDecoder::new(bytes))
        } else {
            Box::new(bytes)
        };
        Ok(Source { reader, gzip, path })
    }

    fn error(&self, e: std::io::Error) -> IdxError {
        if self.gzip {
            IdxError::Invalid {
                path: self.path.into(),
                what: format!("corrupt gzip stream: {e}"),
            }
        } else {
            IdxError::Io {
                path: self.path.into(),
                source: e,
            }
        }
    }

    /// Up to `limit` bytes (fewer when the stream ends first).
    fn read_up_to(&mut self, limit: u64) -> Result<Vec<u8>, IdxError> {
        let mut out = Vec::new();
        (&mut self.reader)
            .take(limit)
            .read_to_end(&mut out)
            .map_err(|e| self.error(e))?;
        Ok(out)
    }

    /// The big-endian u32s of the header, or an error that says how far the file got.
    fn header(&mut self, words: usize, at: usize) -> Result<Vec<u32>, IdxError> {
        let bytes = self.read_up_to(4 * words as u64)?;
        if at == 0 && bytes.is_empty() {
            return Err(IdxError::Empty {
                path: self.path.into(),
            });
        }
        if bytes.len() < 4 * words {
            return Err(IdxError::Truncated {
                path: self.path.into(),
                expected: at + 4 * words,
                found: at + bytes.len(),
            });
        }
        Ok(bytes
            .chunks(4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
            .collect())
    }
}

/// Parses an IDX file with the given magic, returning the dimensions and the payload. Reads
/// no more than the header promises (plus one byte to notice extra data), so that a small
/// gzip file cannot inflate without bound.
fn parse(
    bytes: &[u8],
    path: &str,
    magic: u32,
    expected: &'static str,
) -> Result<(Vec<usize>, Vec<u8>), IdxError> {
    let mut source = Source::new(bytes, path)?;
    let found = source.header(1, 0)?[0];
    if found != magic {
        return Err(IdxError::Magic {
            path: path.to_string(),
            expected,
            found,
            magic,
        });
    }
    let ndims = (magic & 0xff) as usize;
    let dims: Vec<usize> = source
        .header(ndims, 4)?
        .into_iter()
        .map(|d| d as usize)
        .collect();
    let payload = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| IdxError::Invalid {
            path: path.to_string(),
            what: format!("dimensions {dims:?} overflow"),
        })?;
    let data = source.read_up_to(payload as u64 + 1)?;
    if data.len() < payload {
        return Err(IdxError::Truncated {
            path: path.to_string(),
            expected: payload,
            found: data.len(),
        });
    }
    if data.len() > payload {
        return Err(IdxError::TrailingBytes {
            path: path.to_string(),
            expected: payload,
        });
    }
    Ok((dims, data))
}

fn read_file(path: &Path) -> Result<(Vec<u8>, String), IdxError> {
    let shown = path.display().to_string();
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|f| BufReader::new(f).read_to_end(&mut bytes))
        .map_err(|source| IdxError::Io {
            path: shown.clone(),
            source,
        })?;
    Ok((bytes, shown))
}

/// The image count, rows and columns of an IDX3 image file (gzipped or not), from its header
/// alone.
pub fn read_image_header(path: &Path) -> Result<(usize, usize, usize), IdxError> {
    let shown = path.display().to_string();
    let io = |source| IdxError::Io {
        path: shown.clone(),
        source,
    };
    let mut file = BufReader::new(File::open(path).map_err(io)?);
    let gzip = file.fill_buf().map_err(io)?.starts_with(&[0x1f, 0x8b]);
    let reader: Box<dyn Read> = if gzip {
        Box::new(GzDecoder::new(file))
    } else {
        Box::new(file)
    };
    let mut source = Source {
        reader,
        gzip,
        path: &shown,
    };
    let found = source.header(1, 0)?[0];
    if found != IMAGES_MAGIC {
        return Err(IdxError::Magic {
            path: shown.clone(),
            expected: "images",
            found,
            magic: IMAGES_MAGIC,
        });
    }
    let dims: Vec<usize> = source
        .header(3, 4)?
        .into_iter()
        .map(|d| d as usize)
        .collect();
    check_image_dims(&dims, &shown)?;
    // A raw file's size tells whether it holds what its header promises; a gzipped one's
    // is known when it is read.
    if !gzip {
        let found = std::fs::metadata(path)
            .map_err(io)?
            .len()
            .saturating_sub(16);
        let expected = (dims[0] as u64).saturating_mul((dims[1] * dims[2]) as u64);
        if found < expected {
            return Err(IdxError::Truncated {
                path: shown.clone(),
                expected: expected.try_into().unwrap_or(usize::MAX),
                found: found as usize,
            });
        }
    }
    Ok((dims[0], dims[1], dims[2]))
}

fn check_image_dims(dims: &[usize], path: &str) -> Result<(), IdxError> {
    let what = if dims[0] == 0 {
        Some(format!("no images (dimensions {dims:?})"))
    } else if dims[1] == 0 || dims[2] == 0 {
        Some(format!(
            "images of {} x {} pixels: an image needs at least one",
            dims[1], dims[2]
        ))
    } else {
        None
    };
    match what {
        Some(what) => Err(IdxError::Invalid {
            path: path.into(),
            what,
        }),
        None => Ok(()),
    }
}

/// Parses the bytes of an IDX3 image file (gzipped or not); `path` names it in errors.
pub fn parse_images(bytes: &[u8], path: &str) -> Result<IdxImages, IdxError> {
    let (dims, pixels) = parse(bytes, path, IMAGES_MAGIC, "images")?;
    check_image_dims(&dims, path)?;
    Ok(IdxImages {
        count: dims[0],
        rows: dims[1],
        cols: dims[2],
        pixels,
    })
}

/// Parses the bytes of an IDX1 label file (gzipped or not); `path` names it in errors.
pub fn parse_labels(bytes: &[u8], path: &str) -> Result<Vec<u8>, IdxError> {
    let (_, labels) = parse(bytes, path, LABELS_MAGIC, "labels")?;
    Ok(labels)
}

/// Reads an IDX3 image file (`.gz` or raw).
pub fn read_images(path: &Path) -> Result<IdxImages, IdxError> {
    let (bytes, shown) = read_file(path)?;
    parse_images(&bytes, &shown)
}

/// Reads an IDX1 label file (`.gz` or raw).
pub fn read_labels(path: &Path) -> Result<Vec<u8>, IdxError> {
    let (bytes, shown) = read_file(path)?;
    parse_labels(&bytes, &shown)
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
