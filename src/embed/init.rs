//! The initial layout of the embedding: the graph's spectral layout (umap-learn's default),
//! each dimension scaled to [0, 10] as umap-learn scales it.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::graph::Graph;
use crate::simd::prefetch;

/// Block power iterations for the eigenvectors.
const ITERATIONS: usize = 300;
/// Columns multiplied by the graph in one pass over its edges: the default 11 (10
/// dimensions and the trivial one) in one pass, whose random reads of a row's neighbours
/// are each 96 bytes (two cache lines fetched at once rather than one line in each of two
/// passes).
const GROUP: usize = 12;
/// Edges between a row's prefetch and its use in the multiplication.
const PREFETCH_EDGES: usize = 16;
/// Rows per parallel task when the columns are interleaved.
const ROWS_PER_TASK: usize = 4096;

/// The eigenvectors of the normalised adjacency D^-1/2 W D^-1/2 with the largest
/// eigenvalues after the trivial one (the smallest of the normalised Laplacian, as
/// umap-learn's spectral layout), by block power iteration on (I + M) / 2 with
/// Gram-Schmidt; n x dims.
pub fn spectral_layout(graph: &Graph, n: usize, dims: usize, seed: u64) -> Vec<f32> {
    let degree: Vec<f64> = (0..n)
        .map(|i| row(graph, i).map(|(_, w)| w).sum::<f64>().max(1e-12))
        .collect();
    let scale: Vec<f64> = degree.iter().map(|d| 1.0 / d.sqrt()).collect();
    let columns = dims + 1;
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5350_4543);
    let mut basis: Vec<Vec<f64>> = (0..columns)
        .map(|_| (0..n).map(|_| rng.random_range(-1.0..1.0)).collect())
        .collect();
    orthonormalize(&mut basis);
    // Per edge e of row i to j: w_e / sqrt(degree_j), the part of M's entry that pulls j's
    // value into i's (the other factor, 1 / sqrt(degree_i), comes after the sum).
    let pull: Vec<f64> = (0..n)
        .flat_map(|i| row(graph, i).map(|(j, w)| w * scale[j]))
        .collect();
    let mut scratch = Scratch::default();
    for _ in 0..ITERATIONS {
        for columns in basis.chunks_mut(GROUP) {
            let problem = (graph, &pull[..], &scale[..]);
            match columns.len() {
                1 => multiply::<1>(problem, columns, &mut scratch),
                2 => multiply::<2>(problem, columns, &mut scratch),
                3 | 4 => multiply::<4>(problem, columns, &mut scratch),
                5..=8 => multiply::<8>(problem, columns, &mut scratch),
                _ => multiply::<GROUP>(problem, columns, &mut scratch),
            }
        }
        orthonormalize(&mut basis);
    }
    // Each dimension spans [0, 10], as umap-learn rescales its initial layout.
    let spans: Vec<(f64, f64)> = basis[1..]
        .iter()
        .map(|v| {
            v.iter()
                .fold((f64::MAX, f64::MIN), |(lo, hi), &x| (lo.min(x), hi.max(x)))
        })
        .collect();
    (0..n)
        .flat_map(|i| {
            basis[1..]
                .iter()
                .zip(&spans)
                .map(move |(v, &(lo, hi))| (10.0 * (v[i] - lo) / (hi - lo).max(1e-300)) as f32)
        })
        .collect()
}

/// The interleaved copies of a group's columns before and after the multiplication.
#[derive(Default)]
struct Scratch {
    group: Vec<f64>,
    next: Vec<f64>,
}

/// Replaces each of `columns` (at most W of them) by (I + M) / 2 times it, W columns at once,
/// interleaved row by row: each row runs W independent sums (one sum alone waits on its
/// adds) over values that stay in cache. Each sum runs in edge order (from -0.0, as `Sum`
/// does), so the bits are those of one column at a time and do not depend on the threads
/// or on W. (Slots past the columns hold stale values, summed and dropped.)
fn multiply<const W: usize>(
    (graph, pull, scale): (&Graph, &[f64], &[f64]),
    columns: &mut [Vec<f64>],
    scratch: &mut Scratch,
) {
    let n = scale.len();
    scratch.group.resize(n * W, 0.0);
    scratch.next.resize(n * W, 0.0);
    let (group, next) = (&mut scratch.group[..n * W], &mut scratch.next[..n * W]);
    group
        .par_chunks_mut(W)
        .with_min_len(ROWS_PER_TASK)
        .enumerate()
        .for_each(|(i, row)| {
            for (slot, v) in row.iter_mut().zip(&*columns) {
                *slot = v[i];
            }
        });
    let group = &*group;
    next.par_chunks_mut(W).enumerate().for_each(|(i, out)| {
        let mut pulled = [-0.0f64; W];
        let edges = graph.offsets[i] as usize..graph.offsets[i + 1] as usize;
        for e in edges {
            if let Some(&ahead) = graph.targets.get(e + PREFETCH_EDGES) {
                prefetch(group[ahead as usize * W..][..W].as_ptr_range());
            }
            let (j, w) = (graph.targets[e] as usize, pull[e]);
            let values = &group[j * W..(j + 1) * W];
            for (p, &v) in pulled.iter_mut().zip(values) {
                *p += w * v;
            }
        }
        let own = &group[i * W..(i + 1) * W];
        for ((o, &v), p) in out.iter_mut().zip(own).zip(pulled) {
            *o = (v + scale[i] * p) / 2.0;
        }
    });
    columns.par_iter_mut().enumerate().for_each(|(c, v)| {
        for (x, row) in v.iter_mut().zip(next.chunks(W)) {
            *x = row[c];
        }
    });
}

fn row(graph: &Graph, i: usize) -> impl Iterator<Item = (usize, f64)> + '_ {
    let edges = graph.offsets[i] as usize..graph.offsets[i + 1] as usize;
    edges.map(|e| (graph.targets[e] as usize, f64::from(graph.weights[e])))
}

/// Modified Gram-Schmidt, in order: column c keeps only what the earlier ones do not span.
/// Once a column is final it is removed from all later ones at once: a task per core takes
/// several of them and runs their dot products side by side (independent sums, each still
/// in row order from -0.0 as `Sum` runs it), so every column sees the same operations in
/// the same order as when it is finished alone.
fn orthonormalize(basis: &mut [Vec<f64>]) {
    let threads = rayon::current_num_threads();
    for c in 0..basis.len() {
        let (done, rest) = basis.split_at_mut(c + 1);
        let u = &mut done[c];
        let norm = u.iter().map(|x| x * x).sum::<f64>().sqrt().max(1e-300);
        u.iter_mut().for_each(|x| *x /= norm);
        let u = &*u;
        let per_task = rest.len().div_ceil(threads).max(1);
        rest.par_chunks_mut(per_task).for_each(|columns| {
            for pair in columns.chunks_mut(2) {
                let dots = match pair {
                    [v, w] => {
                        let (mut dv, mut dw) = (-0.0f64, -0.0f64);
                        for ((&a, &x), &y) in u.iter().zip(v.iter()).zip(w.iter()) {
                            dv += a * x;
                            dw += a * y;
                        }
                        [dv, dw]
                    }
                    [v] => [u.iter().zip(v.iter()).map(|(a, b)| a * b).sum(), 0.0],
                    _ => unreachable!("chunks of two"),
                };
                for (v, dot) in pair.iter_mut().zip(dots) {
                    v.iter_mut().zip(u).for_each(|(x, y)| *x -= dot * y);
                }
            }
        });
    }
}
