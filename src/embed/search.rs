//! How UMAP finds each point's neighbours: exactly (every pair's distance, n^2) or by
//! NN-descent (close to n log n, a recall near 1), and which one a number of points gets.

use anyhow::Result;

use super::steps::UmapSteps;
use crate::domain::{check_knn, check_nn_descent, nn_descent_max_features};
use crate::reference::umap_knn::Neighbours;
use crate::reference::umap_nndescent::Descent;

/// The neighbour search a user asks for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NeighbourSearch {
    /// Exact below `NN_DESCENT_FROM` points, NN-descent from there (unless the features are
    /// wider than it takes).
    #[default]
    Auto,
    /// Every pair's distance.
    Exact,
    /// NN-descent from random projection trees.
    NnDescent,
}

/// The points from which `Auto` takes NN-descent: where it overtakes the exact search on the
/// CPU reference (10-d codes, 19 neighbours; docs/PERFORMANCE.md).
pub const NN_DESCENT_FROM: usize = 40_000;

impl NeighbourSearch {
    /// The search that runs for n points of d features, k neighbours each: `Exact` or
    /// `NnDescent`. `Auto` keeps the exact search for features wider than NN-descent takes.
    pub fn resolve(self, n: usize, d: usize, k: usize) -> NeighbourSearch {
        match self {
            NeighbourSearch::Auto
                if n >= NN_DESCENT_FROM && d <= nn_descent_max_features(k, leaf(n, k)) =>
            {
                NeighbourSearch::NnDescent
            }
            NeighbourSearch::Auto => NeighbourSearch::Exact,
            chosen => chosen,
        }
    }

    /// Its name in reports and files.
    pub fn name(self) -> &'static str {
        match self {
            NeighbourSearch::Auto => "auto",
            NeighbourSearch::Exact => "exact",
            NeighbourSearch::NnDescent => "nn-descent",
        }
    }

    /// Fails unless the search that runs for n points of d features, k neighbours each, fits
    /// the kernels.
    pub fn check(self, n: usize, d: usize, k: usize) -> Result<()> {
        match self.resolve(n, d, k) {
            NeighbourSearch::NnDescent => check_nn_descent(n, d, k, leaf(n, k)),
            _ => check_knn(n, d),
        }
    }

    /// The k neighbours of every point of the n x d `points`, through `steps`.
    pub fn run(
        self,
        steps: &dyn UmapSteps,
        points: &[f32],
        (n, d): (usize, usize),
        k: usize,
        seed: u64,
    ) -> Result<Neighbours> {
        match self.resolve(n, d, k) {
            NeighbourSearch::NnDescent => {
                Ok(steps.nn_descent(points, (n, d), &descent(n, k, seed))?.0)
            }
            _ => steps.knn(points, n, d, k),
        }
    }
}

/// NN-descent's settings for UMAP: the defaults, seeded by the run's seed.
fn descent(n: usize, k: usize, seed: u64) -> Descent {
    Descent::for_points(n, k, seed as u32)
}

/// The most points of NN-descent's leaves for n points and k neighbours.
fn leaf(n: usize, k: usize) -> usize {
    descent(n, k, 0).leaf
}
