//! Clustering the codes (or any feature matrix): k-means on the GPU or the CPU, and scores.

pub mod engine;
mod kmeans;
pub mod metrics;
mod run;
mod saved;

pub use kmeans::{kmeans, Init, KmeansConfig, KmeansResult};
pub use run::{cluster_features, embed_and_cluster, ClusterRun, EmbeddingRun, Features};
pub use saved::{Placement, SavedClustering, SavedUmap};
