//! Clustering the codes (or any feature matrix): k-means on the GPU or the CPU, and scores.

mod engine;
mod kmeans;
pub mod metrics;

pub use kmeans::{kmeans, Init, KmeansConfig, KmeansResult};
