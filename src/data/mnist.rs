//! MNIST's four-file IDX layout: `train-` and `t10k-`, `images-idx3-` and `labels-idx1-`,
//! `ubyte`, raw or gzipped.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use super::{idx, Dataset, Shape, Split, NO_LABEL};
use crate::identity::Inputs;

fn prefix(split: Split) -> &'static str {
    match split {
        Split::Train => "train",
        Split::Test | Split::All => "t10k",
    }
}

fn stem(split: Split, kind: &str) -> String {
    let ndim = if kind == "images" { 3 } else { 1 };
    format!("{}-{kind}-idx{ndim}-ubyte", prefix(split))
}

/// Finds `<prefix>-<kind>-idx?-ubyte[.gz]` in `dir`.
fn find_file(dir: &Path, split: Split, kind: &str) -> Option<PathBuf> {
    let stem = stem(split, kind);
    [format!("{stem}.gz"), stem]
        .into_iter()
        .map(|name| dir.join(name))
        .find(|path| path.is_file())
}

/// Whether `dir` holds MNIST's files (any of them: a missing one is then an error of its own).
pub fn is_idx_dir(dir: &Path) -> bool {
    [Split::Train, Split::Test]
        .iter()
        .any(|&s| find_file(dir, s, "images").is_some() || find_file(dir, s, "labels").is_some())
}

/// One split's files, surveyed: the image count and size from the header, the labels (small,
/// so read whole).
pub struct IdxSplit {
    images: PathBuf,
    pub count: usize,
    pub shape: Shape,
    labels: Vec<u8>,
}

/// An IDX directory surveyed: each split whose files are there.
pub struct IdxPlan {
    dir: PathBuf,
    train: Option<IdxSplit>,
    test: Option<IdxSplit>,
    pub classes: Vec<String>,
}

/// Reads the headers of the images and the labels of each split present; a split with one of
/// its two files missing is an error.
pub fn survey(dir: &Path, inputs: &mut Inputs) -> Result<IdxPlan> {
    let mut splits = Vec::new();
    for split in [Split::Train, Split::Test] {
        let (images, labels) = (
            find_file(dir, split, "images"),
            find_file(dir, split, "labels"),
        );
        let (images, labels) = match (images, labels) {
            (None, None) => {
                splits.push(None);
                continue;
            }
            (Some(images), Some(labels)) => (images, labels),
            (None, _) => bail!("{}: missing {}[.gz]", dir.display(), stem(split, "images")),
            (_, None) => bail!("{}: missing {}[.gz]", dir.display(), stem(split, "labels")),
        };
        let (count, rows, cols) = idx::read_image_header(&images)?;
        let label_values = idx::read_labels(&labels)?;
        if label_values.len() != count {
            bail!(
                "{}: {} labels for {count} images in {}",
                labels.display(),
                label_values.len(),
                images.display()
            );
        }
        if let Some(i) = label_values.iter().position(|&l| l == NO_LABEL) {
            bail!(
                "{}: label {NO_LABEL} at {i} is not a class index 0 to {}",
                labels.display(),
                NO_LABEL - 1
            );
        }
        inputs.add(&images);
        inputs.add(&labels);
        splits.push(Some(IdxSplit {
            images,
            count,
            shape: Shape {
                rows,
                cols,
                channels: 1,
            },
            labels: label_values,
        }));
    }
    let test = splits.pop().flatten();
    let train = splits.pop().flatten();
    if let (Some(a), Some(b)) = (&train, &test) {
        if a.shape != b.shape {
            bail!(
                "{}: the training images are {}, the test images {}",
                dir.display(),
                a.shape,
                b.shape
            );
        }
    }
    // Digits at least, and every label that occurs.
    let top = [&train, &test]
        .into_iter()
        .flatten()
        .flat_map(|s| s.labels.iter().copied().max())
        .max()
        .unwrap_or(0);
    Ok(IdxPlan {
        dir: dir.to_path_buf(),
        train,
        test,
        classes: (0..=top.max(9)).map(|d| d.to_string()).collect(),
    })
}

impl IdxPlan {
    /// The surveyed files of the train or the test split.
    pub fn split(&self, split: Split) -> Result<&IdxSplit> {
        let part = match split {
            Split::Train => &self.train,
            _ => &self.test,
        };
        match part {
            Some(part) => Ok(part),
            None => bail!(
                "{}: missing {}[.gz]",
                self.dir.display(),
                stem(split, "images")
            ),
        }
    }

    /// Reads the train or the test split.
    pub fn load(&self, split: Split) -> Result<Dataset> {
        let part = self.split(split)?;
        let images = idx::read_images(&part.images)?;
        if (images.count, images.rows, images.cols)
            != (part.count, part.shape.rows, part.shape.cols)
        {
            bail!("{} changed while it was read", part.images.display());
        }
        Ok(Dataset {
            count: images.count,
            rows: images.rows,
            cols: images.cols,
            channels: 1,
            pixels: images.pixels,
            labels: Some(part.labels.clone()),
            classes: self.classes.clone(),
            names: None,
        })
    }
}
