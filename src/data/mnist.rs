//! MNIST's four-file IDX layout: `train-` and `t10k-`, `images-idx3-` and `labels-idx1-`,
//! `ubyte`, raw or gzipped.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use super::{idx, Dataset, Split};

fn prefix(split: Split) -> &'static str {
    match split {
        Split::Train => "train",
        Split::Test | Split::All => "t10k",
    }
}

/// Finds `<prefix>-<kind>-idx?-ubyte[.gz]` in `dir`.
fn find_file(dir: &Path, split: Split, kind: &str) -> Option<PathBuf> {
    let ndim = if kind == "images" { 3 } else { 1 };
    let stem = format!("{}-{kind}-idx{ndim}-ubyte", prefix(split));
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

/// Loads the train or the test split.
pub fn load_split(dir: &Path, split: Split) -> Result<Dataset> {
    let find = |kind: &str| match find_file(dir, split, kind) {
        Some(path) => Ok(path),
        None => {
            let ndim = if kind == "images" { 3 } else { 1 };
            bail!(
                "{}: missing {}-{kind}-idx{ndim}-ubyte[.gz]",
                dir.display(),
                prefix(split)
            )
        }
    };
    let images_path = find("images")?;
    let labels_path = find("labels")?;
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
        channels: 1,
        pixels: images.pixels,
        labels: Some(labels),
        classes: (0..10).map(|d| d.to_string()).collect(),
        names: None,
    })
}
