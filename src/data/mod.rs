//! Datasets: what `--data` names, read into u8 images with optional labels.
//!
//! Three sources, told apart by what the path is:
//! - a directory with MNIST's four IDX files (train and t10k, raw or gzipped);
//! - any other directory: an image folder (PNG, JPEG, BMP, GIF, WebP), searched
//!   recursively through links; subfolder names are the classes (sorted, as torchvision's
//!   `ImageFolder`); `train/` and `test/` or `val/` at the top (any case) are the splits;
//! - a `.npy` file: N x H x W, N x H x W x C or N x D, of any integer or float type.
//!
//! A source is read in two steps. [`Survey::of`] reads what is knowable without decoding a
//! pixel (the files, classes and splits, every image's size from its header, the counts, the
//! labels) so that every setting can be checked before any work; [`Survey::load`] then
//! decodes the pixels, within a stated memory budget. Colour images are 3 channels
//! interleaved per pixel (R, G, B, R, G, B, ...). A source without a test part is split by
//! `--val-fraction`, always the same way.

mod array;
mod complete;
mod dataset;
mod folder;
pub mod idx;
mod mnist;
pub mod names;
mod source;
mod survey;
mod walk;

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

pub use dataset::{bytes_text, Dataset, Shape, NO_LABEL};
pub use folder::{IMAGE_EXTENSIONS, MAX_CLASSES};
pub use source::{load, load_dir, Source};
pub use survey::{Survey, IMAGE_DECODE_LIMIT};
pub use walk::Skipped;

/// Which part of the data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Split {
    Train,
    /// The held-out part: MNIST's t10k files, a folder's `test/` or `val/`, or the
    /// `--val-fraction` of a source without one.
    Test,
    All,
}

impl Split {
    /// The name `--split` gives it.
    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Test => "test",
            Split::All => "all",
        }
    }

    /// The images a run clusters when no `--split` is given: MNIST's test set (the post's
    /// protocol), every image of any other source.
    pub fn default_for(kind: SourceKind) -> Split {
        match kind {
            SourceKind::Idx => Split::Test,
            _ => Split::All,
        }
    }
}

/// How a source is read and split.
#[derive(Clone, Debug)]
pub struct DataOptions {
    /// Resize every image to (width, height) with a triangle (bilinear) filter.
    pub resize: Option<(u32, u32)>,
    /// The part held out for validation when the source has no test part.
    pub val_fraction: f64,
    /// Labels of a .npy dataset: an integer .npy with one value per image.
    pub labels: Option<PathBuf>,
    /// The most bytes the decoded images may take (half the memory available now when not
    /// given).
    pub max_memory: Option<u64>,
    /// Folders inside an image folder that are not read (a run's output directory).
    pub exclude: Vec<PathBuf>,
}

impl Default for DataOptions {
    fn default() -> Self {
        DataOptions {
            resize: None,
            val_fraction: 0.1,
            labels: None,
            max_memory: None,
            exclude: Vec::new(),
        }
    }
}

/// The most pixels `--resize` takes.
pub const MAX_RESIZE_PIXELS: u64 = 1 << 24;

impl DataOptions {
    pub fn check(&self) -> Result<()> {
        if !(self.val_fraction > 0.0 && self.val_fraction < 1.0) {
            bail!(
                "--val-fraction must be between 0 and 1 (exclusive), got {}",
                self.val_fraction
            );
        }
        if let Some((w, h)) = self.resize {
            if w == 0 || h == 0 || u64::from(w) * u64::from(h) > MAX_RESIZE_PIXELS {
                bail!("{RESIZE_USAGE}, got {w}x{h}");
            }
        }
        if self.max_memory == Some(0) {
            bail!("--max-memory-mib must be at least 1");
        }
        Ok(())
    }

    /// The memory budget of the decoded images, and where it comes from.
    pub fn memory_budget(&self) -> (u64, &'static str) {
        match self.max_memory {
            Some(bytes) => (bytes, "--max-memory-mib"),
            None => (
                available_memory().map_or(8 << 30, |bytes| bytes / 2),
                "half the memory available now; --max-memory-mib sets it",
            ),
        }
    }
}

/// The memory the system says is available (Linux's MemAvailable).
fn available_memory() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

const RESIZE_USAGE: &str =
    "--resize takes WIDTHxHEIGHT of 1 to 16 777 216 pixels in all, such as 28x28";

/// Parses `--resize WxH`.
pub fn parse_size(text: &str) -> Result<(u32, u32)> {
    let parsed = text
        .split_once(['x', 'X'])
        .and_then(|(w, h)| Some((w.trim().parse().ok()?, h.trim().parse().ok()?)));
    match parsed {
        Some(size) => Ok(size),
        None => bail!("{RESIZE_USAGE}, got {text:?}"),
    }
}

/// What kind of source a path is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceKind {
    Idx,
    Folder,
    Npy,
}

impl SourceKind {
    /// Tells the kind from the path, or says why it is none.
    pub fn of(path: &Path) -> Result<Self> {
        if path.is_dir() {
            return Ok(if mnist::is_idx_dir(path) {
                SourceKind::Idx
            } else {
                SourceKind::Folder
            });
        }
        let takes = "it takes a directory (MNIST's IDX files, or images) or a .npy array";
        if path.is_file() {
            if path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("npy"))
            {
                return Ok(SourceKind::Npy);
            }
            bail!("--data {} is a file; {takes}", path.display());
        }
        match std::fs::metadata(path) {
            Ok(meta) => {
                let what = crate::input::kind_of(&meta);
                bail!("--data {} is {what}; {takes}", path.display())
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                bail!("--data {} does not exist", path.display())
            }
            Err(e) => bail!("--data {}: {e}", path.display()),
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            SourceKind::Idx => "MNIST IDX files",
            SourceKind::Folder => "an image folder",
            SourceKind::Npy => "a .npy array",
        }
    }
}
