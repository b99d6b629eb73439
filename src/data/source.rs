//! A source with its pixels, split into its parts.

use std::path::Path;

use anyhow::{bail, Result};
use rand::seq::SliceRandom;
use rand::SeedableRng;

use super::survey::{Plan, Survey};
use super::{DataOptions, Dataset, SourceKind, Split};

/// A source with its pixels, and the parts it is split into.
pub struct Source {
    pub survey: Survey,
    pub(super) parts: Parts,
}

pub(super) enum Parts {
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

    /// `split`, the source given up for it: all of a decoded source is handed over, not
    /// copied, so that its pixels are held once.
    pub fn into_split(self, split: Split) -> Result<Dataset> {
        match (self.parts, split) {
            (Parts::Loaded { all, .. }, Split::All) => Ok(all),
            (parts, _) => Source {
                survey: self.survey,
                parts,
            }
            .split(split),
        }
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
    Source::open(path, options, &|_, _| {})?.into_split(split)
}

/// MNIST's IDX directory, one split: what the tests and the benchmark read.
pub fn load_dir(dir: &Path, split: Split) -> Result<Dataset> {
    load(dir, split, &DataOptions::default())
}

/// How many of `n` images are held out for validation: round(fraction x n), at least one in
/// each part.
pub(super) fn held_out_count(n: usize, fraction: f64) -> Result<usize> {
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
