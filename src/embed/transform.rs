//! New points placed in a fixed UMAP embedding, as umap-learn's `transform` does: each new
//! point's k nearest reference points, membership weights to them, a start at their weighted
//! mean (or at a reference point it equals), then layout epochs that move only the new point,
//! attracted by its neighbours' embedded positions and pushed from random reference points.
//!
//! Unlike umap-learn's, a point's result never depends on the other points it came with
//! (umap-learn's issues #566 and #1224): every step reads only the point and the reference,
//! and its random draws come from a hash of the point's own values, not from a stream shared
//! by the batch. So assigning a subset gives exactly the rows that assigning everything gives.
//! It runs on the host for every backend: a point costs one scan of the reference and a few
//! hundred small updates.

use rayon::prelude::*;

use crate::reference::umap_graph::bandwidth;
use crate::reference::umap_layout::{mix, Curve, NEGATIVE_RATE};
use crate::reference::umap_nndescent::squared_distance;

/// A fitted embedding to place new points in.
pub struct Reference<'a> {
    /// The reference points (n x d), as UMAP measured them (already scaled).
    pub points: &'a [f32],
    pub d: usize,
    /// Their embedding (n x dims).
    pub embedding: &'a [f32],
    pub dims: usize,
    /// Neighbours per new point.
    pub neighbors: usize,
    pub curve: Curve,
    pub seed: u32,
}

/// Layout epochs for new points: umap-learn's (100 against up to 10 000 reference points, 30
/// above).
pub fn transform_epochs(n: usize) -> usize {
    if n <= 10_000 {
        100
    } else {
        30
    }
}

/// Gradient components are clipped to +-4 (umap-learn's clip).
const CLIP: f32 = 4.0;

impl Reference<'_> {
    fn n(&self) -> usize {
        self.points.len() / self.d
    }

    /// The embedding (m x dims) of the m x d `points` (scaled as the reference was).
    pub fn transform(&self, points: &[f32]) -> Vec<f32> {
        points
            .par_chunks(self.d)
            .flat_map_iter(|point| self.place(point))
            .collect()
    }

    /// The k nearest reference points to `point` (index, Euclidean distance), nearest first,
    /// ties to the lower index.
    fn nearest(&self, point: &[f32]) -> Vec<(u32, f32)> {
        let k = self.neighbors.min(self.n());
        let mut best: Vec<(f32, u32)> = Vec::with_capacity(k + 1);
        for (i, row) in self.points.chunks(self.d).enumerate() {
            let d2 = squared_distance(row, point);
            if best.len() == k && d2 >= best[k - 1].0 {
                continue;
            }
            let at = best.partition_point(|&(d, _)| d <= d2);
            best.insert(at, (d2, i as u32));
            best.truncate(k);
        }
        best.into_iter().map(|(d2, i)| (i, d2.sqrt())).collect()
    }

    /// One new point's position.
    fn place(&self, point: &[f32]) -> Vec<f32> {
        let dims = self.dims;
        let neighbours = self.nearest(point);
        let weights = weights(&neighbours);
        let row = |i: u32| &self.embedding[i as usize * dims..(i as usize + 1) * dims];
        // The start: a reference point it equals, else its neighbours' weighted mean.
        let mut position = vec![0.0f32; dims];
        match neighbours.iter().find(|(_, d)| *d == 0.0) {
            Some(&(i, _)) => position.copy_from_slice(row(i)),
            None => {
                let total: f32 = weights.iter().sum();
                for (&(i, _), &w) in neighbours.iter().zip(&weights) {
                    for (p, &e) in position.iter_mut().zip(row(i)) {
                        *p += w / total * e;
                    }
                }
            }
        }
        // umap-learn drops the weakest edges, then samples each edge in proportion to its
        // weight.
        let epochs = transform_epochs(self.n());
        let top = weights.iter().fold(0.0f32, |m, &w| m.max(w));
        let periods: Vec<f32> = weights
            .iter()
            .map(|&w| {
                if w < top / epochs as f32 || w <= 0.0 {
                    f32::INFINITY
                } else {
                    top / w
                }
            })
            .collect();
        let identity = point.iter().fold(self.seed, |h, v| mix(h ^ v.to_bits()));
        let Curve { a, b } = self.curve;
        let n = self.n() as u32;
        for epoch in 1..=epochs as u32 {
            // umap-learn starts new points at a quarter of the fit's learning rate.
            let alpha = 0.25 * (1.0 - (epoch - 1) as f32 / epochs as f32);
            for (slot, (&(j, _), &period)) in neighbours.iter().zip(&periods).enumerate() {
                if !sampled(epoch, period) {
                    continue;
                }
                let tail = row(j);
                let d2: f32 = position
                    .iter()
                    .zip(tail)
                    .map(|(p, t)| (p - t) * (p - t))
                    .sum();
                if d2 > 0.0 {
                    let coeff = -2.0 * a * b * d2.powf(b - 1.0) / (a * d2.powf(b) + 1.0);
                    for (p, &t) in position.iter_mut().zip(tail) {
                        *p += (coeff * (*p - t)).clamp(-CLIP, CLIP) * alpha;
                    }
                }
                for s in 0..NEGATIVE_RATE {
                    let draw = mix(mix(mix(identity ^ epoch) ^ slot as u32) ^ s) % n;
                    let other = row(draw);
                    let d2: f32 = position
                        .iter()
                        .zip(other)
                        .map(|(p, o)| (p - o) * (p - o))
                        .sum();
                    let coeff = if d2 > 0.0 {
                        2.0 * b / ((0.001 + d2) * (a * d2.powf(b) + 1.0))
                    } else {
                        0.0
                    };
                    for (p, &o) in position.iter_mut().zip(other) {
                        let grad = if coeff > 0.0 {
                            (coeff * (*p - o)).clamp(-CLIP, CLIP)
                        } else {
                            CLIP
                        };
                        *p += grad * alpha;
                    }
                }
            }
        }
        position
    }
}

/// Whether an edge sampled every `period` epochs is sampled in `epoch`.
fn sampled(epoch: u32, period: f32) -> bool {
    period.is_finite() && (epoch as f32 / period) as u32 > ((epoch - 1) as f32 / period) as u32
}

/// Membership weights of a new point to its neighbours, as umap-learn's `transform` takes
/// them: exp(-d / sigma) (no offset: the nearest reference point is not the point itself),
/// sigma such that they sum to log2(k).
fn weights(neighbours: &[(u32, f32)]) -> Vec<f32> {
    let distances: Vec<f32> = neighbours.iter().map(|&(_, d)| d).collect();
    let sigma = bandwidth(&distances, 0.0, (distances.len() as f32).log2());
    let mean = distances.iter().sum::<f32>() / distances.len().max(1) as f32;
    let sigma = sigma.max(1e-3 * mean).max(f32::MIN_POSITIVE);
    distances.iter().map(|&d| (-d / sigma).exp()).collect()
}
