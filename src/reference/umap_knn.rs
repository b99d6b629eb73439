//! Twin of shaders/umap_knn.wgsl (with the matmul kernel for the dot products): exact k
//! nearest neighbours by brute force (squared Euclidean distances, ties to the lower
//! index; a point is not its own neighbour).

use rayon::prelude::*;

use super::gemm;

/// Rows of distances computed at once.
const BLOCK: usize = 256;

/// Every point's k nearest neighbours, nearest first.
#[derive(Clone, Debug, PartialEq)]
pub struct Neighbours {
    /// n x k point indices.
    pub indices: Vec<u32>,
    /// n x k squared distances.
    pub squared: Vec<f32>,
}

/// The `k` nearest neighbours of every point of the n x d `points`.
pub fn knn(points: &[f32], n: usize, d: usize, k: usize) -> Neighbours {
    let norms: Vec<f32> = points
        .chunks(d)
        .map(|p| p.iter().map(|v| v * v).sum())
        .collect();
    let rows: Vec<(Vec<u32>, Vec<f32>)> = (0..n)
        .step_by(BLOCK)
        .collect::<Vec<_>>()
        .par_iter()
        .flat_map_iter(|&first| {
            let rows = BLOCK.min(n - first);
            let block = &points[first * d..(first + rows) * d];
            // x_i . x_j for the block's rows against every point.
            let dots = gemm(false, true, block, points, (rows, n, d));
            let norms = &norms;
            (0..rows).map(move |r| nearest_in_row(first + r, norms, &dots[r * n..(r + 1) * n], k))
        })
        .collect();
    let mut neighbours = Neighbours {
        indices: Vec::with_capacity(n * k),
        squared: Vec::with_capacity(n * k),
    };
    for (indices, squared) in rows {
        neighbours.indices.extend(indices);
        neighbours.squared.extend(squared);
    }
    neighbours
}

/// The `k` nearest of point `i` from its dot products with every point, as `nearest` finds
/// them among d2 = max(|x_i|^2 + |x_j|^2 - 2 x_i.x_j, 0) for j != i. The distances are
/// computed a chunk at a time (vectorised), and a chunk none of whose distances would enter
/// the full list is passed over whole: the same list as looking at every candidate.
fn nearest_in_row(i: usize, norms: &[f32], dots: &[f32], k: usize) -> (Vec<u32>, Vec<f32>) {
    const CHUNK: usize = 16;
    let mut best: Vec<(u32, f32)> = Vec::with_capacity(k + 1);
    let norm_i = norms[i];
    for (c, (chunk_norms, chunk_dots)) in norms.chunks(CHUNK).zip(dots.chunks(CHUNK)).enumerate() {
        let mut distances = [0.0f32; CHUNK];
        for ((d, &norm), &dot) in distances.iter_mut().zip(chunk_norms).zip(chunk_dots) {
            *d = (norm_i + norm - 2.0 * dot).max(0.0);
        }
        let distances = &distances[..chunk_dots.len()];
        if best.len() == k && distances.iter().all(|&d| d >= best[k - 1].1) {
            continue;
        }
        for (l, &d) in distances.iter().enumerate() {
            let j = c * CHUNK + l;
            if j == i || (best.len() == k && d >= best[k - 1].1) {
                continue;
            }
            let at = best.partition_point(|&(_, bd)| bd <= d);
            best.insert(at, (j as u32, d));
            best.truncate(k);
        }
    }
    best.into_iter().unzip()
}

/// The `k` smallest (index, distance) pairs, nearest first, ties to the lower index.
pub fn nearest(candidates: impl Iterator<Item = (u32, f32)>, k: usize) -> (Vec<u32>, Vec<f32>) {
    let mut best: Vec<(u32, f32)> = Vec::with_capacity(k + 1);
    for (j, d) in candidates {
        if best.len() == k && d >= best[k - 1].1 {
            continue;
        }
        let at = best.partition_point(|&(_, bd)| bd <= d);
        best.insert(at, (j, d));
        best.truncate(k);
    }
    best.into_iter().unzip()
}
