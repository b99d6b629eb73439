//! Twin of shaders/umap_knn.wgsl (with the matmul kernel for the dot products): exact k
//! nearest neighbours by brute force (squared Euclidean distances, ties to the lower
//! index; a point is not its own neighbour). The dot products are computed in registers
//! and scanned at once, never stored.

use rayon::prelude::*;

use crate::simd::fast_fn;

/// Rows of distances computed by one task.
const BLOCK: usize = 64;
/// Points of a tile: their coordinates (TILE x d) stay in cache while every row of the block
/// is compared with them.
const TILE: usize = 2048;
/// Rows that share each load of a tile's coordinates.
const ROWS: usize = 4;
/// Points per step of the scan: the dot products of ROWS rows with LANES points stay in
/// vector registers.
const LANES: usize = 16;
/// Dimensions summed in one fused chain before the chain is added to the dot product, as
/// sgemm sums them: the dot products, and so the neighbours, are the bits the matmul
/// kernel's CPU twin gives.
const DEPTH: usize = super::matmul::CHAIN_DEPTH;

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
    // Padded with infinities: a padding lane's distance is never a candidate.
    let mut norms: Vec<f32> = points
        .chunks(d)
        .map(|p| p.iter().map(|v| v * v).sum())
        .collect();
    norms.resize(n.next_multiple_of(LANES), f32::INFINITY);
    let by_dimension = by_dimension(points, n, d);
    let lists: Vec<Vec<(u32, f32)>> = (0..n)
        .step_by(BLOCK)
        .collect::<Vec<_>>()
        .par_iter()
        .flat_map_iter(|&first| block_lists(points, &by_dimension, &norms, n, k, first))
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

fast_fn! {
    /// The nearest-first lists of the BLOCK rows from `first` (fewer at the end): the points
    /// are scanned a tile at a time, ROWS rows by LANES points a step.
    fn block_lists(
        points: &[f32],
        by_dimension: &[f32],
        norms: &[f32],
        n: usize,
        k: usize,
        first: usize,
    ) -> Vec<Vec<(u32, f32)>> {
        let d = points.len() / n;
        let rows = BLOCK.min(n - first);
        let mut lists: Vec<Vec<(u32, f32)>> = vec![Vec::with_capacity(k + 1); rows];
        for tile in (0..n).step_by(TILE) {
            let tile = tile..(tile + TILE).min(n);
            for group in (0..rows).step_by(ROWS) {
                // A last, partial group repeats its last row; the copies are dropped.
                let row = |r: usize| first + (group + r).min(rows - 1);
                let queries: [&[f32]; ROWS] =
                    std::array::from_fn(|r| &points[row(r) * d..(row(r) + 1) * d]);
                let lists = &mut lists[group..(group + ROWS).min(rows)];
                for start in tile.clone().step_by(LANES) {
                    let worst = std::array::from_fn(|r| match lists.get(r) {
                        Some(best) if best.len() == k => best[k - 1].1,
                        _ => f32::INFINITY,
                    });
                    let norms_q = std::array::from_fn(|r| norms[row(r)]);
                    let dots = dot_products(&queries, by_dimension, n, start);
                    let step = distances(&dots, norms_q, &norms[start..start + LANES], worst);
                    let valid = LANES.min(tile.end - start);
                    for (r, best) in lists.iter_mut().enumerate() {
                        if step.candidates[r] {
                            let distances = &step.distances[r][..valid];
                            insert_candidates(row(r), start, distances, k, best);
                        }
                    }
                }
            }
        }
        lists
    }
}

/// The n x d points by dimension: d rows of n values, each padded with zeros to whole
/// steps of LANES, so that one dimension of LANES points is one contiguous load.
fn by_dimension(points: &[f32], n: usize, d: usize) -> Vec<f32> {
    let stride = n.next_multiple_of(LANES);
    let mut out = vec![0.0f32; d * stride];
    for (j, point) in points.chunks(d).enumerate() {
        for (c, &v) in point.iter().enumerate() {
            out[c * stride + j] = v;
        }
    }
    out
}

/// x_q . x_j for each query q and the LANES points j = start.. (`by_dimension`'s layout, n
/// points), each dot product a fused multiply-add chain over the dimensions in order, one
/// chain per DEPTH dimensions, the chains added in order.
#[inline(always)]
fn dot_products(
    queries: &[&[f32]; ROWS],
    by_dimension: &[f32],
    n: usize,
    start: usize,
) -> [[f32; LANES]; ROWS] {
    let stride = n.next_multiple_of(LANES);
    let d = queries[0].len();
    let mut dots = [[0.0f32; LANES]; ROWS];
    for block in (0..d).step_by(DEPTH) {
        let mut chains = [[0.0f32; LANES]; ROWS];
        for c in block..(block + DEPTH).min(d) {
            let values: &[f32; LANES] = by_dimension[c * stride + start..][..LANES]
                .try_into()
                .expect("a whole step of LANES");
            for (chain, query) in chains.iter_mut().zip(queries) {
                let x = query[c];
                for (acc, &v) in chain.iter_mut().zip(values) {
                    *acc = x.mul_add(v, *acc);
                }
            }
        }
        for (dot, chain) in dots.iter_mut().zip(chains) {
            for (acc, part) in dot.iter_mut().zip(chain) {
                *acc = if block == 0 { part } else { *acc + part };
            }
        }
    }
    dots
}

/// One step of the scan: ROWS x LANES squared distances, and per row whether any of them
/// is nearer than the row's current k-th neighbour.
struct Step {
    distances: [[f32; LANES]; ROWS],
    candidates: [bool; ROWS],
}

/// d2 = max(|x_q|^2 + |x_j|^2 - 2 x_q.x_j, 0) from the dot products, and which rows hold a
/// distance below their `worst` (a step with none is passed over whole: the same lists as
/// looking at every candidate).
#[inline(always)]
fn distances(
    dots: &[[f32; LANES]; ROWS],
    norms_q: [f32; ROWS],
    norms: &[f32],
    worst: [f32; ROWS],
) -> Step {
    let mut step = Step {
        distances: [[0.0; LANES]; ROWS],
        candidates: [false; ROWS],
    };
    for r in 0..ROWS {
        let mut nearest = f32::INFINITY;
        for ((d2, &dot), &norm) in step.distances[r].iter_mut().zip(&dots[r]).zip(norms) {
            *d2 = (norms_q[r] + norm - 2.0 * dot).max(0.0);
            nearest = nearest.min(*d2);
        }
        step.candidates[r] = nearest < worst[r];
    }
    step
}

/// Point i's `best` list updated with the points start.. at squared `distances` from it
/// (j != i), in index order, as `nearest` finds them.
fn insert_candidates(
    i: usize,
    start: usize,
    distances: &[f32],
    k: usize,
    best: &mut Vec<(u32, f32)>,
) {
    for (l, &d) in distances.iter().enumerate() {
        let j = start + l;
        if j != i {
            offer(best, j as u32, d, k);
        }
    }
}

/// The `k` smallest (index, distance) pairs, nearest first, ties to the lower index.
pub fn nearest(candidates: impl Iterator<Item = (u32, f32)>, k: usize) -> (Vec<u32>, Vec<f32>) {
    let mut best: Vec<(u32, f32)> = Vec::with_capacity(k + 1);
    for (j, d) in candidates {
        offer(&mut best, j, d, k);
    }
    best.into_iter().unzip()
}

/// Puts (j, d) into `best` (nearest first, at most k) when it is nearer than the k-th; after
/// the equally near ones already there, so that ties go to the lower index when offered in
/// index order.
fn offer(best: &mut Vec<(u32, f32)>, j: u32, d: f32, k: usize) {
    if best.len() == k && d >= best[k - 1].1 {
        return;
    }
    let at = best.partition_point(|&(_, bd)| bd <= d);
    best.insert(at, (j, d));
    best.truncate(k);
}
