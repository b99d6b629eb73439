//! UMAP's layout optimisation, one epoch at a time, in the form the GPU runs it: each point
//! moves only itself, against the other points' positions from the previous epoch, so an
//! epoch's result does not depend on the order the points are processed in.
//!
//! umap-learn instead walks the edges in order and moves both ends of each in place. Moving
//! only one end per copy of an edge (half the pull) left clusters merged (k-means accuracy
//! 0.82 instead of 0.96 on the deep recipe's codes), and pulling twice towards the stale
//! partner overshoots; replaying umap-learn's exchange on the pair (see `move_point`) gives
//! umap-learn's accuracy.

use rayon::prelude::*;

use super::graph::Graph;
use crate::gpu::kernels::UMAP_MAX_DIMS;

/// Negative samples per applied edge (umap-learn's default).
pub const NEGATIVE_RATE: u32 = 5;
/// Gradient components are clipped to +-4 (umap-learn's clip).
const CLIP: f32 = 4.0;

/// The curve 1 / (1 + a d^(2b)) that the layout's attraction and repulsion follow.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Curve {
    pub a: f32,
    pub b: f32,
}

impl Curve {
    /// Least-squares fit (Gauss-Newton with damping) of the curve to umap-learn's target for
    /// `min_dist` and spread 1: 1 below min_dist, exp(-(d - min_dist)) above, on [0, 3].
    pub fn fit(min_dist: f32) -> Curve {
        let xs: Vec<f64> = (0..300).map(|i| 3.0 * f64::from(i) / 299.0).collect();
        let ys: Vec<f64> = xs
            .iter()
            .map(|&x| {
                if x < f64::from(min_dist) {
                    1.0
                } else {
                    (-(x - f64::from(min_dist))).exp()
                }
            })
            .collect();
        let (mut a, mut b, mut damping) = (1.5f64, 0.9f64, 1e-3f64);
        let cost = |a: f64, b: f64| -> f64 {
            xs.iter()
                .zip(&ys)
                .map(|(&x, &y)| (1.0 / (1.0 + a * x.powf(2.0 * b)) - y).powi(2))
                .sum()
        };
        for _ in 0..200 {
            // Normal equations of the residuals r = f(x) - y with f = 1 / (1 + a x^2b).
            let (mut jtj, mut jtr) = ([0.0f64; 3], [0.0f64; 2]);
            for (&x, &y) in xs.iter().zip(&ys) {
                if x == 0.0 {
                    continue;
                }
                let p = x.powf(2.0 * b);
                let f = 1.0 / (1.0 + a * p);
                let (da, db) = (-f * f * p, -f * f * a * p * 2.0 * x.ln());
                let r = f - y;
                jtj[0] += da * da;
                jtj[1] += da * db;
                jtj[2] += db * db;
                jtr[0] += da * r;
                jtr[1] += db * r;
            }
            let (m00, m01, m11) = (jtj[0] * (1.0 + damping), jtj[1], jtj[2] * (1.0 + damping));
            let det = m00 * m11 - m01 * m01;
            let step_a = (m11 * jtr[0] - m01 * jtr[1]) / det;
            let step_b = (m00 * jtr[1] - m01 * jtr[0]) / det;
            if cost(a - step_a, b - step_b) < cost(a, b) {
                a -= step_a;
                b -= step_b;
                damping /= 3.0;
            } else {
                damping *= 10.0;
            }
        }
        Curve {
            a: a as f32,
            b: b as f32,
        }
    }
}

/// Everything an epoch of the layout needs beside the positions.
pub struct LayoutProblem<'a> {
    pub graph: &'a Graph,
    /// Per edge: epochs between its samples (max weight / weight).
    pub epochs_per_sample: Vec<f32>,
    pub curve: Curve,
    pub dims: usize,
    pub seed: u32,
}

impl<'a> LayoutProblem<'a> {
    pub fn new(graph: &'a Graph, curve: Curve, dims: usize, seed: u32) -> Self {
        let max = graph.weights.iter().copied().fold(0.0f32, f32::max);
        LayoutProblem {
            graph,
            epochs_per_sample: graph.weights.iter().map(|&w| max / w).collect(),
            curve,
            dims,
            seed,
        }
    }

    /// Epoch `epoch` (from 1) of `epochs`: the new positions of every point from `previous`.
    pub fn epoch(&self, previous: &[f32], epoch: u32, epochs: u32) -> Vec<f32> {
        let dims = self.dims;
        let mut next = previous.to_vec();
        let alpha = 1.0 - (epoch - 1) as f32 / epochs as f32;
        next.par_chunks_mut(dims)
            .enumerate()
            .for_each(|(i, own)| self.move_point(i, own, previous, epoch, alpha));
        next
    }

    /// Moves point `i` (its position in `own`, starting from the previous epoch's) along its
    /// edges sampled this epoch and their negative samples.
    fn move_point(&self, i: usize, own: &mut [f32], previous: &[f32], epoch: u32, alpha: f32) {
        let (dims, g) = (self.dims, self.graph);
        let n = previous.len() / dims;
        let Curve { a, b } = self.curve;
        for e in g.offsets[i] as usize..g.offsets[i + 1] as usize {
            let period = self.epochs_per_sample[e];
            if (epoch as f32 / period).floor() <= ((epoch - 1) as f32 / period).floor() {
                continue;
            }
            let j = g.targets[e] as usize;
            let other = &previous[j * dims..(j + 1) * dims];
            // umap-learn moves both ends of a sampled edge, and samples it in both directions
            // (the graph is symmetric). Played out on the pair alone: both ends move, twice;
            // this point keeps its own moves, and the partner's copy of the edge moves it.
            let mut partner = [0.0f32; UMAP_MAX_DIMS];
            partner[..dims].copy_from_slice(other);
            for _ in 0..2 {
                let d2 = squared_distance(own, &partner[..dims]);
                if d2 > 0.0 {
                    let coeff = -2.0 * a * b * d2.powf(b - 1.0) / (a * d2.powf(b) + 1.0);
                    for (y, o) in own.iter_mut().zip(partner.iter_mut()) {
                        let g = (coeff * (*y - *o)).clamp(-CLIP, CLIP) * alpha;
                        *y += g;
                        *o -= g;
                    }
                }
            }
            for s in 0..NEGATIVE_RATE {
                let k = negative_sample(self.seed, epoch, e as u32, s, n as u32) as usize;
                if k == i {
                    continue;
                }
                let other = &previous[k * dims..(k + 1) * dims];
                let d2 = squared_distance(own, other);
                let coeff = if d2 > 0.0 {
                    2.0 * b / ((0.001 + d2) * (a * d2.powf(b) + 1.0))
                } else {
                    0.0
                };
                for (y, o) in own.iter_mut().zip(other) {
                    let grad = if coeff > 0.0 {
                        (coeff * (*y - o)).clamp(-CLIP, CLIP)
                    } else {
                        CLIP
                    };
                    *y += grad * alpha;
                }
            }
        }
    }
}

fn squared_distance(x: &[f32], y: &[f32]) -> f32 {
    x.iter().zip(y).map(|(a, b)| (a - b) * (a - b)).sum()
}

/// A 32-bit integer mixer (lowbias32): the GPU computes the same bits.
pub fn mix(mut x: u32) -> u32 {
    x ^= x >> 16;
    x = x.wrapping_mul(0x7feb_352d);
    x ^= x >> 15;
    x = x.wrapping_mul(0x846c_a68b);
    x ^ (x >> 16)
}

/// The point that negative sample `s` of edge `edge` repels in `epoch`: a counter-based draw,
/// so that any invocation can compute it without shared random state.
pub fn negative_sample(seed: u32, epoch: u32, edge: u32, s: u32, n: u32) -> u32 {
    mix(mix(mix(seed ^ epoch) ^ edge) ^ s) % n
}
