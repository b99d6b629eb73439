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
mod folder;
pub mod idx;
mod mnist;
pub mod names;
mod walk;

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use rand::seq::SliceRandom;
use rand::SeedableRng;

use crate::identity::{FileId, Inputs};
pub use folder::{IMAGE_EXTENSIONS, MAX_CLASSES};
pub use walk::Skipped;

/// The label of an image in no class folder (beside class folders): it is clustered, and left
/// out of the scores.
pub const NO_LABEL: u8 = u8::MAX;

/// The most bytes one image may take while it decodes (less when the memory budget is
/// smaller).
pub const IMAGE_DECODE_LIMIT: u64 = 256 << 20;

/// The shape of one image: `rows` x `cols` x `channels` u8 values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Shape {
    pub rows: usize,
    pub cols: usize,
    /// 1 (grayscale) or 3 (RGB, interleaved per pixel).
    pub channels: usize,
}

impl Shape {
    /// Values per image.
    pub fn size(&self) -> usize {
        self.rows * self.cols * self.channels
    }
}

impl fmt::Display for Shape {
    /// Width x height, gray or RGB: "28x28 gray", "32x32 RGB".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let colour = if self.channels == 3 { "RGB" } else { "gray" };
        write!(f, "{}x{} {colour}", self.cols, self.rows)
    }
}

/// A byte count as people read it: "512 MiB", "2.4 GiB".
pub fn bytes_text(bytes: u64) -> String {
    const GIB: f64 = (1u64 << 30) as f64;
    if bytes >= 1 << 30 {
        format!("{:.1} GiB", bytes as f64 / GIB)
    } else if bytes >= 1 << 20 {
        format!("{:.0} MiB", (bytes as f64 / (1 << 20) as f64).ceil())
    } else {
        format!("{:.0} KiB", (bytes as f64 / 1024.0).ceil())
    }
}

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

    /// Every image's shape.
    pub fn shape(&self) -> Shape {
        Shape {
            rows: self.rows,
            cols: self.cols,
            channels: self.channels,
        }
    }

    /// The labels when there are any, each a class index or [`NO_LABEL`] (an image that the
    /// scores leave out).
    pub fn scoring_labels(&self) -> Result<Option<&[u8]>> {
        let Some(labels) = &self.labels else {
            return Ok(None);
        };
        if let Some(i) = labels
            .iter()
            .position(|&l| l != NO_LABEL && l as usize >= self.classes.len())
        {
            bail!(
                "label {} of image {i} is not one of the {} classes",
                labels[i],
                self.classes.len()
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

    /// `n` images drawn across the whole dataset (all of them when `n` is larger), in their
    /// order: the same ones on every run.
    pub fn sampled(self, n: usize) -> Dataset {
        if n >= self.count {
            return self;
        }
        let mut order: Vec<usize> = (0..self.count).collect();
        // A stream of its own, apart from the weights', the shuffle's and the hold-out's.
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0x4c49_4d49_545f_5345);
        order.shuffle(&mut rng);
        let mut kept = order[..n].to_vec();
        kept.sort_unstable();
        self.select(&kept)
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

/// What a source holds, known without decoding a pixel: enough to check every setting
/// before any work.
pub struct Survey {
    pub path: PathBuf,
    pub kind: SourceKind,
    /// Every image's shape as it will be decoded (after `--resize`).
    pub shape: Shape,
    /// What each class index stands for (digits for MNIST, subfolder names for a folder).
    pub classes: Vec<String>,
    /// Whether images come with labels.
    pub labelled: bool,
    /// Files found and not read, each with the reason.
    pub skipped: Vec<Skipped>,
    /// One line each about what was done with the source's layout.
    pub notices: Vec<String>,
    /// Every file the source is read from.
    pub inputs: Inputs,
    val_fraction: f64,
    budget: (u64, &'static str),
    plan: Plan,
}

enum Plan {
    Idx(mnist::IdxPlan),
    Folder(folder::FolderPlan),
    Npy(array::ArrayPlan),
}

impl Survey {
    /// Surveys what `path` holds (see the module).
    pub fn of(path: &Path, options: &DataOptions) -> Result<Survey> {
        options.check()?;
        let kind = SourceKind::of(path)?;
        if options.labels.is_some() && kind != SourceKind::Npy {
            bail!("--labels goes with a .npy dataset; a folder's labels are its subfolders");
        }
        if options.resize.is_some() && kind != SourceKind::Folder {
            bail!(
                "--resize applies to image folders only; resize {} before reading it",
                kind.describe()
            );
        }
        let budget = options.memory_budget();
        let mut inputs = Inputs::default();
        let (mut skipped, mut notices) = (Vec::new(), Vec::new());
        let (plan, shape, classes, labelled) = match kind {
            SourceKind::Idx => {
                let plan = mnist::survey(path, &mut inputs)?;
                let shape = plan
                    .split(Split::Train)
                    .or_else(|_| plan.split(Split::Test))?
                    .shape;
                let classes = plan.classes.clone();
                (Plan::Idx(plan), shape, classes, true)
            }
            SourceKind::Folder => {
                let excluded: Vec<FileId> = options
                    .exclude
                    .iter()
                    .filter_map(|p| FileId::of(p))
                    .collect();
                let limit = IMAGE_DECODE_LIMIT.min(budget.0);
                let found =
                    folder::survey(path, options.resize, &excluded, limit, options.val_fraction)?;
                (skipped, notices, inputs) = (found.skipped, found.notices, found.inputs);
                let plan = found.plan;
                let (shape, classes, labelled) = (plan.shape, plan.classes.clone(), plan.labelled);
                (Plan::Folder(plan), shape, classes, labelled)
            }
            SourceKind::Npy => {
                let plan = array::survey(path, options.labels.as_deref())?;
                inputs.add(path);
                if let Some(labels) = &options.labels {
                    inputs.add(labels);
                }
                let (shape, classes, labelled) =
                    (plan.shape, plan.classes.clone(), plan.labels.is_some());
                (Plan::Npy(plan), shape, classes, labelled)
            }
        };
        let survey = Survey {
            path: path.to_path_buf(),
            kind,
            shape,
            classes,
            labelled,
            skipped,
            notices,
            inputs,
            val_fraction: options.val_fraction,
            budget,
            plan,
        };
        survey.check_memory()?;
        Ok(survey)
    }

    /// How many images `split` holds.
    pub fn count(&self, split: Split) -> Result<usize> {
        let pool = match &self.plan {
            Plan::Idx(plan) => {
                return match split {
                    Split::All => {
                        Ok(plan.split(Split::Train)?.count + plan.split(Split::Test)?.count)
                    }
                    split => Ok(plan.split(split)?.count),
                }
            }
            Plan::Folder(plan) => match plan.train_count {
                Some(train) => {
                    return Ok(match split {
                        Split::Train => train,
                        Split::Test => plan.count() - train,
                        Split::All => plan.count(),
                    })
                }
                None => plan.count(),
            },
            Plan::Npy(plan) => plan.count,
        };
        if split == Split::All {
            return Ok(pool);
        }
        let held = held_out_count(pool, self.val_fraction)?;
        Ok(if split == Split::Test {
            held
        } else {
            pool - held
        })
    }

    /// Fails unless the decoded images fit the memory budget.
    pub fn check_memory(&self) -> Result<()> {
        let count = match &self.plan {
            Plan::Idx(plan) => [Split::Train, Split::Test]
                .iter()
                .filter_map(|&s| plan.split(s).ok())
                .map(|s| s.count)
                .sum(),
            _ => self.count(Split::All)?,
        };
        let bytes = count as u64 * self.shape.size() as u64;
        let (budget, source) = self.budget;
        if bytes > budget {
            let resize = if self.kind == SourceKind::Folder {
                "; give --resize WxH to make them smaller"
            } else {
                ""
            };
            bail!(
                "the {count} images of {} need {} decoded, above the memory budget of {} \
                 ({source}){resize}",
                self.shape,
                bytes_text(bytes),
                bytes_text(budget)
            );
        }
        Ok(())
    }

    /// Decodes the images (within the memory budget). `progress(done, total)` follows a
    /// folder's images as they are decoded.
    pub fn load(self, progress: &(dyn Fn(usize, usize) + Sync)) -> Result<Source> {
        self.check_memory()?;
        let parts = match &self.plan {
            Plan::Idx(_) => Parts::Idx,
            Plan::Folder(plan) => Parts::Loaded {
                all: folder::decode(plan, progress)?,
                train: plan.train_count,
            },
            Plan::Npy(plan) => Parts::Loaded {
                all: array::load(plan)?,
                train: None,
            },
        };
        Ok(Source {
            survey: self,
            parts,
        })
    }
}

/// A source with its pixels, and the parts it is split into.
pub struct Source {
    pub survey: Survey,
    parts: Parts,
}

enum Parts {
    /// MNIST's files, already one per split: each is read when asked for.
    Idx,
    /// Every image; with split folders the first `train` are the training part, else the
    /// validation fraction is held out.
    Loaded { all: Dataset, train: Option<usize> },
}

impl Source {
    /// Surveys and reads what `path` holds (an IDX directory's splits are read when asked
    /// for). `progress(done, total)` follows the images of a folder as they are decoded.
    pub fn open(
        path: &Path,
        options: &DataOptions,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<Self> {
        Survey::of(path, options)?.load(progress)
    }

    pub fn kind(&self) -> SourceKind {
        self.survey.kind
    }

    /// One part of the data.
    pub fn split(&self, split: Split) -> Result<Dataset> {
        let (all, train) = match (&self.parts, &self.survey.plan) {
            (Parts::Idx, Plan::Idx(plan)) => {
                return match split {
                    Split::All => plan.load(Split::Train)?.concat(plan.load(Split::Test)?),
                    split => plan.load(split),
                }
            }
            (Parts::Loaded { all, train }, _) => (all, train),
            _ => unreachable!("parts follow the plan"),
        };
        let (train, held): (Vec<usize>, Vec<usize>) = match (train, split) {
            (_, Split::All) => return Ok(all.clone()),
            (Some(t), _) => ((0..*t).collect(), (*t..all.count).collect()),
            (None, _) => hold_out(all.count, self.survey.val_fraction)?,
        };
        Ok(all.select(if split == Split::Train { &train } else { &held }))
    }

    /// The training part (at most `limit` images of it: MNIST's first ones, as Keras users
    /// slice them, or a sample across the whole part from any other source) and the held-out
    /// part.
    pub fn train_and_test(&self, limit: Option<usize>) -> Result<(Dataset, Dataset)> {
        let mut train = self.split(Split::Train)?;
        if let Some(n) = limit {
            train = match self.kind() {
                SourceKind::Idx => train.truncated(n),
                _ => train.sampled(n),
            };
        }
        Ok((train, self.split(Split::Test)?))
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

/// How many of `n` images are held out for validation: round(fraction x n), at least one in
/// each part.
fn held_out_count(n: usize, fraction: f64) -> Result<usize> {
    if n < 2 {
        bail!("{n} image(s): too few to hold some out for validation");
    }
    Ok(((n as f64 * fraction).round() as usize).clamp(1, n - 1))
}

/// The indices kept for training and held out, each in their original order: a seeded
/// shuffle's first round(fraction x n) are held out (at least one image in each part). The
/// seed is fixed, so that `train`, `encode` and `cluster` agree on the parts whatever their
/// `--seed`.
fn hold_out(n: usize, fraction: f64) -> Result<(Vec<usize>, Vec<usize>)> {
    let held_count = held_out_count(n, fraction)?;
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
