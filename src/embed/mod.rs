//! UMAP: a low-dimensional embedding in which k-means finds the digits. The steps: exact
//! k nearest neighbours, fuzzy membership weights, their symmetric union, a PCA initial
//! layout, then the stochastic layout optimisation with negative sampling.

mod graph;
mod knn;
mod layout;

pub use graph::{memberships, symmetrize, Graph};
pub use knn::{knn, nearest};
pub use layout::{mix, negative_sample, Curve, LayoutProblem, NEGATIVE_RATE};

use anyhow::{bail, Result};

/// The embedding's settings (umap-learn's names and defaults where they exist).
#[derive(Clone, Debug, serde::Serialize)]
pub struct UmapConfig {
    /// Neighbours per point in the graph (`n_neighbors`).
    pub neighbors: usize,
    /// Dimensions of the embedding (`n_components`).
    pub dims: usize,
    /// How tightly points may pack (`min_dist`).
    pub min_dist: f32,
    /// Layout epochs; umap-learn's rule when not given (500 up to 10 000 points, else 200).
    pub epochs: Option<usize>,
    pub seed: u64,
}

impl Default for UmapConfig {
    fn default() -> Self {
        UmapConfig {
            neighbors: 20,
            dims: 10,
            min_dist: 0.0,
            epochs: None,
            seed: 0,
        }
    }
}

impl UmapConfig {
    /// Fails on settings that fit no data.
    pub fn check(&self) -> Result<()> {
        if self.neighbors < 2 {
            bail!("--neighbors must be at least 2, got {}", self.neighbors);
        }
        if self.dims == 0 {
            bail!("--embed-dims must be at least 1");
        }
        if !(self.min_dist.is_finite() && self.min_dist >= 0.0) {
            bail!(
                "--min-dist must be a non-negative number, got {}",
                self.min_dist
            );
        }
        if self.epochs == Some(0) {
            bail!("--embed-epochs must be at least 1");
        }
        Ok(())
    }

    pub fn epochs_for(&self, n: usize) -> usize {
        self.epochs.unwrap_or(if n <= 10_000 { 500 } else { 200 })
    }
}

/// The initial layout: the points' first `dims` principal components, scaled so that the
/// largest coordinate is 10 (umap-learn scales its spectral layout the same way).
pub fn initial_layout(points: &[f32], n: usize, d: usize, dims: usize) -> Vec<f32> {
    let mut layout = crate::pca::project(points, n, d, dims);
    let largest = layout.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    if largest > 0.0 {
        layout.iter_mut().for_each(|v| *v *= 10.0 / largest);
    }
    layout
}

/// Embeds the n x d `points` in `config.dims` dimensions on the CPU (n x dims, row-major).
pub fn umap_cpu(points: &[f32], n: usize, d: usize, config: &UmapConfig) -> Result<Vec<f32>> {
    config.check()?;
    if config.neighbors >= n {
        bail!(
            "--neighbors must be below the number of points ({n}), got {}",
            config.neighbors
        );
    }
    let k = config.neighbors;
    let (neighbours, squared) = knn(points, n, d, k);
    let distances: Vec<f32> = squared.iter().map(|d2| d2.sqrt()).collect();
    let graph = symmetrize(&neighbours, &memberships(&distances, k), n, k);
    let problem = LayoutProblem::new(
        &graph,
        Curve::fit(config.min_dist),
        config.dims,
        config.seed as u32,
    );
    let epochs = config.epochs_for(n) as u32;
    let mut layout = initial_layout(points, n, d, config.dims);
    for epoch in 1..=epochs {
        layout = problem.epoch(&layout, epoch, epochs);
    }
    Ok(layout)
}
