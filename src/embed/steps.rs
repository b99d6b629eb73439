//! UMAP's device steps behind one seam: the kNN, the membership weights and the layout epochs.

use anyhow::Result;

use crate::reference::umap_graph::memberships;
use crate::reference::umap_knn::{knn, Neighbours};
use crate::reference::umap_layout::LayoutProblem;
use crate::reference::umap_nndescent::{nn_descent, Descent};

/// Where UMAP's heavy steps run: `GpuUmapSteps` (the umap_*.wgsl kernels) or `CpuUmapSteps`
/// (their twins), built by `device::Device::umap_steps`.
pub trait UmapSteps {
    /// The `k` nearest neighbours of every point of the n x d `points`.
    fn knn(&self, points: &[f32], n: usize, d: usize, k: usize) -> Result<Neighbours>;
    /// The approximate nearest neighbours of NN-descent, and the entries that came in at each
    /// of its iterations.
    fn nn_descent(
        &self,
        points: &[f32],
        shape: (usize, usize),
        descent: &Descent,
    ) -> Result<(Neighbours, Vec<u64>)>;
    /// Membership weights (n x k) from the squared neighbour distances.
    fn memberships(&self, squared: &[f32], k: usize) -> Result<Vec<f32>>;
    /// `epochs` layout epochs from `initial` (n x dims).
    fn layout(&self, problem: &LayoutProblem, initial: &[f32], epochs: usize) -> Result<Vec<f32>>;
}

/// UMAP's steps through `reference::umap_*`.
pub struct CpuUmapSteps;

impl UmapSteps for CpuUmapSteps {
    fn knn(&self, points: &[f32], n: usize, d: usize, k: usize) -> Result<Neighbours> {
        Ok(knn(points, n, d, k))
    }

    fn nn_descent(
        &self,
        points: &[f32],
        (n, d): (usize, usize),
        descent: &Descent,
    ) -> Result<(Neighbours, Vec<u64>)> {
        Ok(nn_descent(points, n, d, descent))
    }

    fn memberships(&self, squared: &[f32], k: usize) -> Result<Vec<f32>> {
        Ok(memberships(squared, k))
    }

    fn layout(&self, problem: &LayoutProblem, initial: &[f32], epochs: usize) -> Result<Vec<f32>> {
        let epochs = epochs as u32;
        Ok((1..=epochs).fold(initial.to_vec(), |layout, epoch| {
            problem.epoch(&layout, epoch, epochs)
        }))
    }
}
