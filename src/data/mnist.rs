use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use super::idx;

/// One split of an image dataset: `count` images of `rows` x `cols` u8 pixels plus labels.
#[derive(Clone)]
pub struct Dataset {
    pub count: usize,
    pub rows: usize,
    pub cols: usize,
    pub pixels: Vec<u8>,
    pub labels: Vec<u8>,
}

impl Dataset {
    /// Pixels per image (the model's input width).
    pub fn image_size(&self) -> usize {
        self.rows * self.cols
    }

    /// The labels, checked to be digits 0-9 as the scores and pictures assume.
    pub fn digit_labels(&self) -> Result<&[u8]> {
        match self.labels.iter().position(|&l| l > 9) {
            None => Ok(&self.labels),
            Some(i) => bail!(
                "label {} of image {i} is not a digit 0-9, which the scores need",
                self.labels[i]
            ),
        }
    }

    /// The first `n` images (all of them when `n` is larger).
    pub fn truncated(mut self, n: usize) -> Dataset {
        let n = n.min(self.count);
        self.pixels.truncate(n * self.image_size());
        self.labels.truncate(n);
        self.count = n;
        self
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Split {
    Train,
    Test,
}

impl Split {
    fn prefix(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Test => "t10k",
        }
    }
}

/// Finds `<prefix>-<kind>-idx?-ubyte[.gz]` in `dir`.
fn find_file(dir: &Path, split: Split, kind: &str) -> Result<PathBuf> {
    let ndim = if kind == "images" { 3 } else { 1 };
    let stem = format!("{}-{kind}-idx{ndim}-ubyte", split.prefix());
    for name in [format!("{stem}.gz"), stem.clone()] {
        let path = dir.join(&name);
        if path.is_file() {
            return Ok(path);
        }
    }
    bail!("{}: missing {stem}[.gz]", dir.display())
}

/// Loads one split from a directory in MNIST's four-file IDX layout, gzipped or not.
pub fn load_dir(dir: &Path, split: Split) -> Result<Dataset> {
    if dir.is_file() {
        bail!(
            "--data {} is a file; it takes the directory that holds MNIST's four IDX files",
            dir.display()
        );
    }
    if !dir.is_dir() {
        bail!("data directory {} does not exist", dir.display());
    }
    let images_path = find_file(dir, split, "images")?;
    let labels_path = find_file(dir, split, "labels")?;
    let images = idx::read_images(&images_path)?;
    let labels = idx::read_labels(&labels_path)?;
    if labels.len() != images.count {
        bail!(
            "{}: {} labels for {} images in {}",
            labels_path.display(),
            labels.len(),
            images.count,
            images_path.display()
        );
    }
    Ok(Dataset {
        count: images.count,
        rows: images.rows,
        cols: images.cols,
        pixels: images.pixels,
        labels,
    })
}
