//! How UMAP finds each point's neighbours: exactly (every pair's distance, n^2) or by
//! NN-descent (close to n log n, a recall near 1), and which one a number of points gets.

use anyhow::Result;

use super::steps::UmapSteps;
use crate::domain::{check_knn, check_nn_descent};
use crate::reference::umap_knn::Neighbours;
use crate::reference::umap_nndescent::Descent;

/// The neighbour search a user asks for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NeighbourSearch {
    /// Exact below `NN_DESCENT_FROM` points, NN-descent from there.
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
    /// The search that runs for n points: `Exact` or `NnDescent`.
    pub fn resolve(self, n: usize) -> NeighbourSearch {
        match self {
            NeighbourSearch::Auto if n >= NN_DESCENT_FROM => NeighbourSearch::NnDescent,
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
        match self.resolve(n) {
            NeighbourSearch::NnDescent => check_nn_descent(n, d, k, descent(n, k, 0).leaf),
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
        match self.resolve(n) {
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
