//! A split of images in memory (`Dataset`), the shape of one image, and byte counts as people
//! read them.

use std::fmt;

use anyhow::{bail, Result};
use rand::seq::SliceRandom;
use rand::SeedableRng;

/// The label of an image in no class folder (beside class folders): it is clustered, and left
/// out of the scores.
pub const NO_LABEL: u8 = u8::MAX;

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
