//! UMAP: a low-dimensional embedding in which k-means finds the digits. The steps: the k
//! nearest neighbours (exact, or by NN-descent for many points), fuzzy membership weights, their symmetric union, a spectral initial
//! layout, then the stochastic layout optimisation with negative sampling.

mod gpu_nndescent;
mod gpu_steps;
mod graph;
mod init;
mod layout;
mod search;
mod steps;
mod transform;

pub use gpu_steps::GpuUmapSteps;
pub use graph::{symmetrize, Graph};
pub use init::spectral_layout;
pub use layout::{colour_edges, layout_problem};
pub use search::{NeighbourSearch, NN_DESCENT_FROM};
pub use steps::{CpuUmapSteps, UmapSteps};
pub use transform::{transform_epochs, Reference};

/// A UMAP embedding and the graph it lays out.
pub type Embedded = (Vec<f32>, Graph);

use anyhow::{bail, Result};

use crate::device::Device;
use crate::domain::{UMAP_MAX_DIMS, UMAP_MAX_NEIGHBORS};
use crate::reference::umap_layout::Curve;
use crate::scale::FeatureScale;

/// The embedding's settings (umap-learn's names and defaults where they exist).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
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
    /// How the neighbours are found.
    pub search: NeighbourSearch,
    pub seed: u64,
}

impl Default for UmapConfig {
    fn default() -> Self {
        UmapConfig {
            neighbors: 20,
            dims: 10,
            min_dist: 0.0,
            epochs: None,
            search: NeighbourSearch::Auto,
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

    /// Fails unless these settings can embed `n` points of `d` features (before any work).
    pub fn check_points(&self, n: usize, d: usize) -> Result<()> {
        self.check()?;
        if n < 2 {
            bail!("UMAP needs at least 2 points, got {n}");
        }
        if self.neighbors > n {
            bail!(
                "--neighbors {} is more than the {n} points to embed (it counts the point \
                 itself); give --neighbors {n} or less",
                self.neighbors
            );
        }
        self.search.check(n, d, self.neighbors - 1)
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
    Ok(umap_with_graph(device, points, (n, d), config)?.0)
}

/// `umap`, and the graph it laid out.
pub fn umap_with_graph(
    device: &Device,
    points: &[f32],
    (n, d): (usize, usize),
    config: &UmapConfig,
) -> Result<(Vec<f32>, Graph)> {
    config.check_points(n, d)?;
    let k = config.neighbors - 1;
    if points.iter().any(|v| !v.is_finite()) {
        bail!("the features hold NaN or infinite values");
    }
    // UMAP depends only on how distances compare: a power of two keeps them inside f32.
    let points = FeatureScale::of(points).apply(points);
    let steps = device.umap_steps();
    let neighbours = config
        .search
        .run(steps.as_ref(), &points, (n, d), k, config.seed)?;
    let weights = steps.memberships(&neighbours.squared, k)?;
    let graph = symmetrize(&neighbours.indices, &weights, n, k);
    let embedding = lay_out(device, &graph, n, config)?;
    Ok((embedding, graph))
}

/// The graph of n points laid out in `config.dims` dimensions: spectral start, then the
/// layout epochs on `device`.
fn lay_out(device: &Device, graph: &Graph, n: usize, config: &UmapConfig) -> Result<Vec<f32>> {
    let initial = spectral_layout(graph, n, config.dims, config.seed);
    let curve = Curve::fit(config.min_dist);
    let problem = layout_problem(graph, curve, config.dims, config.seed as u32);
    device
        .umap_steps()
        .layout(&problem, &initial, config.epochs_for(n))
}

/// umap-learn's `min_dist` for pictures: points of a cluster spread a little, so that its
/// size shows.
const DISPLAY_MIN_DIST: f32 = 0.1;

/// The graph that `umap_with_graph` made for clustering, laid out in 2-D for a picture, as
/// umap-learn's users draw it (its default `min_dist`).
pub fn display_layout(
    device: &Device,
    graph: &Graph,
    n: usize,
    config: &UmapConfig,
) -> Result<Vec<f32>> {
    let display = UmapConfig {
        dims: 2,
        min_dist: DISPLAY_MIN_DIST,
        ..config.clone()
    };
    lay_out(device, graph, n, &display)
}
