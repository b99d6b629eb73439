//! Datasets: MNIST-layout IDX files on disk, validated and kept as bytes.

pub mod idx;
mod mnist;

pub use mnist::{load_dir, Dataset, Split};
