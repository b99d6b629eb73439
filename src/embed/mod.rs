//! UMAP: a low-dimensional embedding in which k-means finds the digits. The steps: exact
//! k nearest neighbours, fuzzy membership weights, their symmetric union, a spectral initial
//! layout, then the stochastic layout optimisation with negative sampling.

pub mod gpu;
mod graph;
mod init;
mod knn;
mod layout;

pub use graph::{memberships, symmetrize, Graph};
pub use init::spectral_layout;
pub use knn::{knn, nearest};
pub use layout::{mix, negative_sample, ColouredEdges, Curve, LayoutProblem, NEGATIVE_RATE};

use anyhow::{bail, Result};

use crate::device::Device;
use crate::gpu::kernels::domain::{check_knn, UMAP_MAX_DIMS, UMAP_MAX_NEIGHBORS};
use crate::scale::FeatureScale;

/// The embedding's settings (umap-learn's names and defaults where they exist).
#[derive(Clone, Debug, serde::Serialize)]
pub struct UmapConfig {
    /// Neighbours per point in the graph, counting the point itself (umap-learn's
    /// `n_neighbors`).
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
        if !(2..=UMAP_MAX_NEIGHBORS + 1).contains(&self.neighbors) {
            bail!(
                "--neighbors must be between 2 and {}, got {}",
                UMAP_MAX_NEIGHBORS + 1,
                self.neighbors
            );
        }
        if !(1..=UMAP_MAX_DIMS).contains(&self.dims) {
            bail!(
                "--embed-dims must be between 1 and {UMAP_MAX_DIMS}, got {}",
                self.dims
            );
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

/// Embeds the n x d `points` in `config.dims` dimensions (n x dims, row-major): the kNN
/// graph, its weights and the layout on `device`; the graph's symmetrisation (sparse, a few
/// hundred thousand edges) and the spectral initial layout on the host.
pub fn umap(
    device: &Device,
    points: &[f32],
    (n, d): (usize, usize),
    config: &UmapConfig,
) -> Result<Vec<f32>> {
    config.check()?;
    let k = config.neighbors - 1;
    if k >= n {
        bail!(
            "--neighbors must be at most the number of points ({n}), got {}",
            k + 1
        );
    }
    if points.iter().any(|v| !v.is_finite()) {
        bail!("the features hold NaN or infinite values");
    }
    if let Device::Gpu(_) = device {
        check_knn(n, d)?;
    }
    // UMAP depends only on how distances compare: a power of two keeps them inside f32.
    let points = FeatureScale::of(points).apply(points);
    let points = points.as_ref();
    let (neighbours, squared) = match device {
        Device::Gpu(gpu) => gpu::knn(&gpu.ctx, &gpu.kernels, points, (n, d, k))?,
        Device::Cpu => knn(points, n, d, k),
    };
    let weights = match device {
        Device::Gpu(gpu) => gpu::memberships(&gpu.ctx, &gpu.kernels, &squared, (n, k))?,
        Device::Cpu => memberships(&squared, k),
    };
    let graph = symmetrize(&neighbours, &weights, n, k);
    let initial = spectral_layout(&graph, n, config.dims, config.seed);
    let curve = Curve::fit(config.min_dist);
    let problem = LayoutProblem::new(&graph, curve, config.dims, config.seed as u32);
    let epochs = config.epochs_for(n);
    match device {
        Device::Gpu(gpu) => gpu::layout(&gpu.ctx, &gpu.kernels, &problem, &initial, epochs),
        Device::Cpu => Ok((1..=epochs as u32).fold(initial, |layout, epoch| {
            problem.epoch(&layout, epoch, epochs as u32)
        })),
    }
}
