//! What a source holds, read without decoding a pixel, and its memory budget.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use super::source::{held_out_count, Parts, Source};
use super::{array, bytes_text, folder, mnist, DataOptions, Shape, Skipped, SourceKind, Split};
use crate::identity::{FileId, Inputs};

/// The most bytes one image may take while it decodes (less when the memory budget is
/// smaller).
pub const IMAGE_DECODE_LIMIT: u64 = 256 << 20;

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
    pub(super) val_fraction: f64,
    budget: (u64, &'static str),
    pub(super) plan: Plan,
}

pub(super) enum Plan {
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
