//! Datasets: what `--data` names, read into u8 images with optional labels.
//!
//! Three sources, told apart by what the path is:
//! - a directory with MNIST's four IDX files (train and t10k, raw or gzipped);
//! - any other directory: an image folder (PNG, JPEG, BMP, GIF, WebP), searched
//!   recursively; subfolder names are the classes (sorted, as torchvision's `ImageFolder`);
//!   `train/` and `test/` (or `val/`) at the top are the splits;
//! - a `.npy` file: uint8 N x H x W or N x H x W x C, or float32 N x D in [0, 1].
//!
//! Colour images are 3 channels interleaved per pixel (R, G, B, R, G, B, ...). A source
//! without a test part is split by `--val-fraction`, always the same way.

mod array;
mod folder;
pub mod idx;
mod mnist;

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use rand::seq::SliceRandom;
use rand::SeedableRng;

pub use folder::IMAGE_EXTENSIONS;

/// One split of an image dataset: `count` images of `rows` x `cols` x `channels` u8 values.
#[derive(Clone, Debug)]
pub struct Dataset {
    pub count: usize,
    pub rows: usize,
    pub cols: usize,
    /// 1 (grayscale) or 3 (RGB, interleaved per pixel).
    pub channels: usize,
    pub pixels: Vec<u8>,
    /// One class index per image, when the source has labels.
    pub labels: Option<Vec<u8>>,
    /// What each class index stands for (digits for MNIST, subfolder names for a folder).
    pub classes: Vec<String>,
    /// Each image's file (relative to the data) for an image folder; else images are named
    /// by their index.
    pub names: Option<Vec<String>>,
}

impl Dataset {
    /// Values per image (the model's input width).
    pub fn image_size(&self) -> usize {
        self.rows * self.cols * self.channels
    }

    /// The labels when there are any; for MNIST, checked to be digits 0-9.
    pub fn scoring_labels(&self) -> Result<Option<&[u8]>> {
        let Some(labels) = &self.labels else {
            return Ok(None);
        };
        if let Some(i) = labels
            .iter()
            .position(|&l| l as usize >= self.classes.len())
        {
            bail!(
                "label {} of image {i} is not one of the {} classes{}",
                labels[i],
                self.classes.len(),
                if self.classes.len() == 10 {
                    " (a digit 0-9), which the scores need"
                } else {
                    ""
                }
            );
        }
        Ok(Some(labels))
    }

    /// The name of image `i` in outputs: its file, or its index.
    pub fn name(&self, i: usize) -> String {
        match &self.names {
            Some(names) => names[i].clone(),
            None => i.to_string(),
        }
    }

    /// The first `n` images (all of them when `n` is larger).
    pub fn truncated(self, n: usize) -> Dataset {
        let n = n.min(self.count);
        self.select(&(0..n).collect::<Vec<_>>())
    }

    /// The images at `indices`, in that order.
    pub fn select(&self, indices: &[usize]) -> Dataset {
        let size = self.image_size();
        Dataset {
            count: indices.len(),
            pixels: indices
                .iter()
                .flat_map(|&i| &self.pixels[i * size..(i + 1) * size])
                .copied()
                .collect(),
            labels: self
                .labels
                .as_ref()
                .map(|l| indices.iter().map(|&i| l[i]).collect()),
            names: self
                .names
                .as_ref()
                .map(|n| indices.iter().map(|&i| n[i].clone()).collect()),
            classes: self.classes.clone(),
            ..*self
        }
    }

    /// This dataset followed by `other` (same image size and classes).
    pub fn concat(mut self, other: Dataset) -> Result<Dataset> {
        if (self.rows, self.cols, self.channels) != (other.rows, other.cols, other.channels) {
            bail!("the splits hold images of different sizes");
        }
        self.pixels.extend(other.pixels);
        self.labels = self.labels.zip(other.labels).map(|(mut a, b)| {
            a.extend(b);
            a
        });
        self.names = self.names.zip(other.names).map(|(mut a, b)| {
            a.extend(b);
            a
        });
        self.count += other.count;
        Ok(self)
    }
}

/// Which part of the data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Split {
    Train,
    /// The held-out part: MNIST's t10k files, a folder's `test/` or `val/`, or the
    /// `--val-fraction` of a source without one.
    Test,
    All,
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
}

impl Default for DataOptions {
    fn default() -> Self {
        DataOptions {
            resize: None,
            val_fraction: 0.1,
            labels: None,
        }
    }
}

impl DataOptions {
    pub fn check(&self) -> Result<()> {
        if !(self.val_fraction > 0.0 && self.val_fraction < 1.0) {
            bail!(
                "--val-fraction must be between 0 and 1 (exclusive), got {}",
                self.val_fraction
            );
        }
        if let Some((w, h)) = self.resize {
            if w == 0 || h == 0 || u64::from(w) * u64::from(h) > 1 << 24 {
                bail!("--resize must be WxH with 1 to 16 777 216 pixels, got {w}x{h}");
            }
        }
        Ok(())
    }
}

/// Parses `--resize WxH`.
pub fn parse_size(text: &str) -> Result<(u32, u32)> {
    let parsed = text
        .split_once(['x', 'X'])
        .and_then(|(w, h)| Some((w.trim().parse().ok()?, h.trim().parse().ok()?)));
    match parsed {
        Some(size) => Ok(size),
        None => bail!("--resize takes WIDTHxHEIGHT, such as 28x28, got {text:?}"),
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
        if path.is_file() {
            if path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("npy"))
            {
                return Ok(SourceKind::Npy);
            }
            bail!(
                "--data {} is a file; it takes a directory (MNIST's IDX files, or images) or a \
                 .npy array",
                path.display()
            );
        }
        bail!("data {} does not exist", path.display())
    }

    pub fn describe(self) -> &'static str {
        match self {
            SourceKind::Idx => "MNIST IDX files",
            SourceKind::Folder => "an image folder",
            SourceKind::Npy => "a .npy array",
        }
    }
}

/// A whole source read once, with its parts: the explicit train and test parts, or one pool
/// that `split` divides by the validation fraction.
pub struct Source {
    pub kind: SourceKind,
    parts: Parts,
    val_fraction: f64,
}

enum Parts {
    /// MNIST's files, already one per split: each is read when asked for.
    Idx(PathBuf),
    TrainTest(Dataset, Dataset),
    Pool(Dataset),
}

impl Source {
    /// Reads what `path` holds (an IDX directory's splits are read when asked for).
    /// `progress(done, total)` follows the images of a folder as they are decoded.
    pub fn open(
        path: &Path,
        options: &DataOptions,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<Self> {
        options.check()?;
        let kind = SourceKind::of(path)?;
        if options.labels.is_some() && kind != SourceKind::Npy {
            bail!("--labels goes with a .npy dataset; a folder's labels are its subfolders");
        }
        let parts = match kind {
            SourceKind::Idx => {
                if options.resize.is_some() {
                    bail!("--resize applies to image folders and arrays, not to IDX files");
                }
                Parts::Idx(path.to_path_buf())
            }
            SourceKind::Folder => match folder::load(path, options.resize, progress)? {
                folder::Loaded::TrainTest(train, test) => Parts::TrainTest(train, test),
                folder::Loaded::Pool(pool) => Parts::Pool(pool),
            },
            SourceKind::Npy => Parts::Pool(array::load(path, options)?),
        };
        Ok(Source {
            kind,
            parts,
            val_fraction: options.val_fraction,
        })
    }

    /// One part of the data.
    pub fn split(&self, split: Split) -> Result<Dataset> {
        match (&self.parts, split) {
            (Parts::Idx(dir), Split::All) => {
                mnist::load_split(dir, Split::Train)?.concat(mnist::load_split(dir, Split::Test)?)
            }
            (Parts::Idx(dir), split) => mnist::load_split(dir, split),
            (Parts::TrainTest(train, _), Split::Train) => Ok(train.clone()),
            (Parts::TrainTest(_, test), Split::Test) => Ok(test.clone()),
            (Parts::TrainTest(train, test), Split::All) => train.clone().concat(test.clone()),
            (Parts::Pool(pool), Split::All) => Ok(pool.clone()),
            (Parts::Pool(pool), split) => {
                let (train, held) = hold_out(pool.count, self.val_fraction)?;
                Ok(pool.select(if split == Split::Train { &train } else { &held }))
            }
        }
    }

    /// The training and the held-out part.
    pub fn train_and_test(&self) -> Result<(Dataset, Dataset)> {
        Ok((self.split(Split::Train)?, self.split(Split::Test)?))
    }
}

/// Reads one split of the data at `path` (the whole source is read).
pub fn load(path: &Path, split: Split, options: &DataOptions) -> Result<Dataset> {
    Source::open(path, options, &|_, _| {})?.split(split)
}

/// MNIST's IDX directory, one split: what the tests and the benchmark read.
pub fn load_dir(dir: &Path, split: Split) -> Result<Dataset> {
    load(dir, split, &DataOptions::default())
}

/// The indices kept for training and held out, each in their original order: a seeded
/// shuffle's first round(fraction x n) are held out (at least one image in each part). The
/// seed is fixed, so that `train`, `encode` and `cluster` agree on the parts whatever their
/// `--seed`.
fn hold_out(n: usize, fraction: f64) -> Result<(Vec<usize>, Vec<usize>)> {
    if n < 2 {
        bail!("{n} image(s): too few to hold some out for validation");
    }
    let held_count = ((n as f64 * fraction).round() as usize).clamp(1, n - 1);
    let mut order: Vec<usize> = (0..n).collect();
    // A stream of its own, apart from the weights' and the shuffle's.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0x4845_4c44_4f55_5421);
    order.shuffle(&mut rng);
    let mut held = vec![false; n];
    for &i in &order[..held_count] {
        held[i] = true;
    }
    let (held, train): (Vec<usize>, Vec<usize>) = (0..n).partition(|&i| held[i]);
    Ok((train, held))
}
