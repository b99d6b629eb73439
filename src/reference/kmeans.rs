//! Twin of shaders/kmeans.wgsl: `assign` (in `nearest`, fast and bit-exact) and
//! `partial_sums` + `update`, and `shift_rows` + `converge`'s shift, the same operations in the
//! same order, so the same centroids give bit-identical labels, centroids and iterations.

mod nearest;

use nearest::{nearest_centroids, CentroidBlocks};

use rayon::prelude::*;

use crate::domain::KMEANS_CHUNK;

/// Every point's nearest centroid of the k x d `centroids` and its squared distance.
pub fn assign(points: &[f32], centroids: &[f32], d: usize) -> (Vec<u32>, Vec<f32>) {
    nearest_centroids(points, &CentroidBlocks::new(centroids, d))
}

/// The new centroids from the points' `labels`: per chunk of `KMEANS_CHUNK` points and per
/// cluster, the members' sums and count in point order, then the chunks added in order and
/// divided; an empty cluster keeps its centroid.
pub fn update(points: &[f32], labels: &[u32], centroids: &[f32], d: usize) -> Vec<f32> {
    let k = centroids.len() / d;
    // Per chunk, per cluster: d sums and a count, added in point order.
    let partials: Vec<Vec<f32>> = labels
        .par_chunks(KMEANS_CHUNK)
        .zip(points.par_chunks(KMEANS_CHUNK * d))
        .map(|(chunk_labels, chunk_points)| {
            let mut acc = vec![0.0f32; k * (d + 1)];
            for (&c, x) in chunk_labels.iter().zip(chunk_points.chunks(d)) {
                let row = &mut acc[c as usize * (d + 1)..(c as usize + 1) * (d + 1)];
                for (a, &v) in row.iter_mut().zip(x) {
                    *a += v;
                }
                row[d] += 1.0;
            }
            acc
        })
        .collect();
    let mut updated = centroids.to_vec();
    for c in 0..k {
        for j in 0..d {
            let (mut sum, mut count) = (0.0f32, 0.0f32);
            for p in &partials {
                sum += p[c * (d + 1) + j];
                count += p[c * (d + 1) + d];
            }
            if count > 0.0 {
                updated[c * d + j] = sum / count;
            }
        }
    }
    updated
}

/// The squared shift from the `old` to the `new` k x d centroids: per centroid the squares
/// (each rounded) added over the dimensions in order, the centroids' shifts then added in
/// order.
pub fn shift(old: &[f32], new: &[f32], d: usize) -> f32 {
    old.chunks(d)
        .zip(new.chunks(d))
        .map(|(old, new)| {
            old.iter().zip(new).fold(0.0f32, |shift, (&o, &n)| {
                let e = n - o;
                shift + e * e
            })
        })
        .fold(0.0f32, |total, shift| total + shift)
}
