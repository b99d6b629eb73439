//! NumPy .npy files: float32 matrices (rows x cols, C order) written and read, and the arrays
//! a dataset or its labels may come as (uint8, float32, integers) read.

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
    let bytes = crate::input::read(path)?;
    parse_matrix(&bytes, &path.display().to_string())
}

/// Parses the bytes of a .npy file holding a 2-D float32 matrix; `shown` names it in errors.
pub fn parse_matrix(bytes: &[u8], shown: &str) -> Result<(Vec<f32>, usize, usize)> {
    let array = parse_array(bytes, shown, FLOAT32)?;
    let Values::F32(values) = array.values else {
        unreachable!("only float32 is accepted")
    };
    let [rows, cols] = array.shape[..] else {
        bail!(
            "{shown}: shape {:?}, expected a 2-D matrix (samples x features)",
            array.shape
        );
    };
    Ok((values, rows, cols))
}

/// The values of a .npy array, by element type.
#[derive(Debug)]
pub enum Values {
    U8(Vec<u8>),
    F32(Vec<f32>),
    /// Any integer type, widened (labels).
    I64(Vec<i64>),
}

/// A .npy array: its shape (C order, no zero dimension), dtype as written, and values.
#[derive(Debug)]
pub struct Array {
    pub shape: Vec<usize>,
    pub dtype: String,
    pub values: Values,
}

/// Which element types a reader takes, and how to say so.
pub struct Dtypes {
    descrs: &'static [&'static str],
    expected: &'static str,
}

pub const FLOAT32: Dtypes = Dtypes {
    descrs: &["'<f4'"],
    expected: "float32 ('<f4')",
};
pub const IMAGES: Dtypes = Dtypes {
    descrs: &["'|u1'", "'<f4'"],
    expected: "uint8 or float32",
};
pub const INTEGERS: Dtypes = Dtypes {
    descrs: &[
        "'|u1'", "'|i1'", "'<i2'", "'<u2'", "'<i4'", "'<u4'", "'<i8'", "'<u8'",
    ],
    expected: "an integer type",
};

/// How a .npy array's values are stored, from its `descr` (such as `'<f8'`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Element {
    pub kind: ElementKind,
    /// Bytes per value: 1, 2, 4 or 8.
    pub bytes: usize,
    pub big_endian: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElementKind {
    Unsigned,
    Signed,
    Float,
}

impl Element {
    /// The element type of `descr` (quotes included, as npyz gives it), if it is a plain
    /// integer or float type.
    pub fn parse(descr: &str) -> Option<Element> {
        let text = descr.trim_matches('\'');
        let mut chars = text.chars();
        let order = chars.next()?;
        let kind = match chars.next()? {
            'u' => ElementKind::Unsigned,
            'i' => ElementKind::Signed,
            'f' => ElementKind::Float,
            _ => return None,
        };
        let bytes: usize = chars.as_str().parse().ok()?;
        let valid = match kind {
            ElementKind::Float => matches!(bytes, 2 | 4 | 8),
            _ => matches!(bytes, 1 | 2 | 4 | 8),
        };
        let big_endian = match order {
            '>' => true,
            '<' | '|' | '=' => false,
            _ => return None,
        };
        valid.then_some(Element {
            kind,
            bytes,
            big_endian: big_endian && bytes > 1,
        })
    }
}

/// A .npy file's header: what it holds and where its values start.
#[derive(Clone, Debug)]
pub struct Header {
    /// C order, no zero dimension.
    pub shape: Vec<usize>,
    /// The dtype as written (such as `'<f8'`).
    pub dtype: String,
    pub element: Element,
    /// Where the values start in the file.
    pub data_offset: u64,
}

impl Header {
    pub fn values(&self) -> usize {
        self.shape.iter().product()
    }
}

/// Reads only the header of the .npy file at `path`, and checks that the file holds the
/// values it promises, in C order, of a plain integer or float type.
pub fn read_header(path: &Path) -> Result<Header> {
    use std::io::Read;
    let shown = path.display().to_string();
    let mut file = crate::input::open(path)?;
    let file_len = file
        .metadata()
        .with_context(|| format!("cannot read {shown}"))?
        .len();
    let mut prefix = [0u8; 12];
    let got = file
        .read(&mut prefix)
        .with_context(|| format!("cannot read {shown}"))?;
    let stated = match (&prefix[..6], prefix[6]) {
        (b"\x93NUMPY", 1) if got >= 10 => {
            10 + u64::from(u16::from_le_bytes([prefix[8], prefix[9]]))
        }
        (b"\x93NUMPY", 2 | 3) if got >= 12 => {
            12 + u64::from(u32::from_le_bytes([
                prefix[8], prefix[9], prefix[10], prefix[11],
            ]))
        }
        _ => bail!("{shown} is not a .npy file"),
    };
    if stated > file_len || stated > 1 << 20 {
        bail!("{shown}: truncated .npy header");
    }
    let mut bytes = prefix[..got].to_vec();
    bytes.resize(stated as usize, 0);
    file.read_exact(&mut bytes[got..])
        .with_context(|| format!("cannot read {shown}"))?;
    check_header(&bytes, &shown)?;
    let npy =
        npyz::NpyFile::new(&bytes[..]).with_context(|| format!("{shown} is not a .npy file"))?;
    let dtype = npy.dtype().descr();
    let element = Element::parse(&dtype)
        .with_context(|| format!("{shown}: dtype {dtype} is not an integer or float type"))?;
    if npy.order() != npyz::Order::C {
        bail!("{shown}: Fortran order is not supported; save it with C order");
    }
    let shape: Vec<usize> = npy.shape().iter().map(|&d| d as usize).collect();
    if shape.is_empty() || shape.contains(&0) {
        bail!("{shown}: shape {shape:?} holds no values");
    }
    let needed = shape
        .iter()
        .try_fold(element.bytes as u64, |size, &d| size.checked_mul(d as u64));
    if needed.is_none_or(|needed| needed > file_len - stated) {
        bail!("{shown}: truncated: shape {shape:?} needs more data than the file holds");
    }
    Ok(Header {
        shape,
        dtype,
        element,
        data_offset: stated,
    })
}

/// The (rows, cols) of the 2-D float32 matrix at `path`, from its header alone.
pub fn read_matrix_shape(path: &Path) -> Result<(usize, usize)> {
    let header = read_header(path)?;
    let shown = path.display();
    if !FLOAT32.descrs.contains(&header.dtype.as_str()) {
        bail!(
            "{shown}: dtype {}, expected {}",
            header.dtype,
            FLOAT32.expected
        );
    }
    match header.shape[..] {
        [rows, cols] => Ok((rows, cols)),
        _ => bail!(
            "{shown}: shape {:?}, expected a 2-D matrix (samples x features)",
            header.shape
        ),
    }
}

/// Reads a .npy array of one of `dtypes`.
pub fn read_array(path: &Path, dtypes: Dtypes) -> Result<Array> {
    let bytes = crate::input::read(path)?;
    parse_array(&bytes, &path.display().to_string(), dtypes)
}

/// Parses the bytes of a .npy array of one of `dtypes`; `shown` names it in errors. Float
/// values must be finite.
pub fn parse_array(bytes: &[u8], shown: &str, dtypes: Dtypes) -> Result<Array> {
    check_header(bytes, shown)?;
    let npy = npyz::NpyFile::new(bytes).with_context(|| format!("{shown} is not a .npy file"))?;
    let dtype = npy.dtype().descr();
    if !dtypes.descrs.contains(&dtype.as_str()) {
        bail!("{shown}: dtype {dtype}, expected {}", dtypes.expected);
    }
    let element = match dtype.as_str() {
        "'|u1'" | "'|i1'" => 1,
        "'<i2'" | "'<u2'" => 2,
        "'<f4'" | "'<i4'" | "'<u4'" => 4,
        _ => 8,
    };
    if npy.order() != npyz::Order::C {
        bail!("{shown}: Fortran order is not supported; save it with C order");
    }
    let shape = npy.shape().to_vec();
    if shape.is_empty() || shape.contains(&0) {
        bail!("{shown}: shape {shape:?} holds no values");
    }
    // Checked before reading, so that a header cannot make the reader allocate without bound.
    let fits = shape
        .iter()
        .try_fold(element, |size: u64, &d| size.checked_mul(d))
        .is_some_and(|size| size <= bytes.len() as u64);
    if !fits {
        bail!("{shown}: truncated: shape {shape:?} needs more data than the file holds");
    }
    let corrupt = || format!("{shown}: truncated or corrupt data");
    let values = match dtype.as_str() {
        "'|u1'" => Values::U8(npy.into_vec().with_context(corrupt)?),
        "'<f4'" => {
            let values: Vec<f32> = npy.into_vec().with_context(corrupt)?;
            if values.iter().any(|v| !v.is_finite()) {
                bail!("{shown}: holds NaN or infinite values");
            }
            Values::F32(values)
        }
        "'|i1'" => Values::I64(widen::<i8>(npy, corrupt)?),
        "'<i2'" => Values::I64(widen::<i16>(npy, corrupt)?),
        "'<u2'" => Values::I64(widen::<u16>(npy, corrupt)?),
        "'<i4'" => Values::I64(widen::<i32>(npy, corrupt)?),
        "'<u4'" => Values::I64(widen::<u32>(npy, corrupt)?),
        "'<i8'" => Values::I64(npy.into_vec().with_context(corrupt)?),
        _ => {
            let values: Vec<u64> = npy.into_vec().with_context(corrupt)?;
            Values::I64(
                values
                    .into_iter()
                    .map(|v| v.min(i64::MAX as u64) as i64)
                    .collect(),
            )
        }
    };
    Ok(Array {
        shape: shape.into_iter().map(|d| d as usize).collect(),
        dtype,
        values,
    })
}

fn widen<T: npyz::Deserialize + Into<i64>>(
    npy: npyz::NpyFile<&[u8]>,
    corrupt: impl FnOnce() -> String,
) -> Result<Vec<i64>> {
    let values: Vec<T> = npy.into_vec().with_context(corrupt)?;
    Ok(values.into_iter().map(Into::into).collect())
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
        bail!("{shown}: not the header of a plain array");
    }
    Ok(())
}
