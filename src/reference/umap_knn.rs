//! Twin of shaders/umap_knn.wgsl (with the matmul kernel for the dot products): exact k
//! nearest neighbours by brute force (squared Euclidean distances, ties to the lower
//! index; a point is not its own neighbour).

use rayon::prelude::*;

use super::gemm_into;

/// Rows of distances computed at once.
const BLOCK: usize = 64;
/// Columns of a block's distances computed at once: a 64 x 4 096 tile of dot products
/// (1 MiB) is scanned while it is still in cache.
const TILE: usize = 4096;

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
    let lists: Vec<Vec<(u32, f32)>> = (0..n)
        .step_by(BLOCK)
        .collect::<Vec<_>>()
        .par_iter()
        .flat_map_iter(|&first| {
            let rows = BLOCK.min(n - first);
            let block = &points[first * d..(first + rows) * d];
            let mut lists = vec![Vec::with_capacity(k + 1); rows];
            let mut dots = vec![0.0f32; rows * TILE];
            for start in (0..n).step_by(TILE) {
                let columns = TILE.min(n - start);
                let dots = &mut dots[..rows * columns];
                // x_i . x_j for the block's rows against this tile's points.
                let tile = &points[start * d..(start + columns) * d];
                gemm_into(false, true, block, tile, (rows, columns, d), dots);
                for (r, best) in lists.iter_mut().enumerate() {
                    let row = &dots[r * columns..(r + 1) * columns];
                    nearest_in_tile(first + r, &norms, start, row, k, best);
                }
            }
            lists
        })
        .collect();
    let mut neighbours = Neighbours {
        indices: Vec::with_capacity(n * k),
        squared: Vec::with_capacity(n * k),
    };
    for list in lists {
        for (j, squared) in list {
            neighbours.indices.push(j);
            neighbours.squared.push(squared);
        }
    }
    neighbours
}

/// Point i's `best` list (nearest first, at most k) updated with the points start.. of a
/// tile, from their dot products with point i, as `nearest` finds them among
/// d2 = max(|x_i|^2 + |x_j|^2 - 2 x_i.x_j, 0) for j != i. The distances are computed a chunk
/// at a time (vectorised), and a chunk none of whose distances would enter the full list is
/// passed over whole: the same list as looking at every candidate.
fn nearest_in_tile(
    i: usize,
    norms: &[f32],
    start: usize,
    dots: &[f32],
    k: usize,
    best: &mut Vec<(u32, f32)>,
) {
    const CHUNK: usize = 16;
    let norm_i = norms[i];
    let norms = &norms[start..start + dots.len()];
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
            let j = start + c * CHUNK + l;
            if j == i || (best.len() == k && d >= best[k - 1].1) {
                continue;
            }
            let at = best.partition_point(|&(_, bd)| bd <= d);
            best.insert(at, (j as u32, d));
            best.truncate(k);
        }
    }
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
