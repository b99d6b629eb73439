//! Twin of shaders/umap_layout.wgsl: UMAP's layout optimisation, one epoch at a time, in the
//! form the GPU runs it: umap-learn's
//! in-place walk over the edges (both ends of a sampled edge move), with the edges grouped
//! into colours that share no end, so that a colour's edges can move at once, and negative
//! samples read from the previous epoch's positions, so that the result does not depend on
//! the order within a colour.

use rayon::prelude::*;

use crate::simd::prefetch;

/// Negative samples per applied edge (umap-learn's default).
pub const NEGATIVE_RATE: u32 = 5;
/// Edges of one colour per parallel task.
const EDGES_PER_TASK: usize = 256;
/// Edges of one colour updated in lockstep by one task.
const LANES: usize = 8;
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

/// The graph's undirected edges grouped into colours, so that no two edges of one colour
/// share an end: within a colour the edges can move their ends at the same time, and the
/// result equals walking them one by one in any order.
#[derive(Clone, Debug, PartialEq)]
pub struct ColouredEdges {
    /// Per undirected edge: (i, j, the directed edge i -> j, the directed edge j -> i), the
    /// directed edges as indices into the graph's compressed rows.
    pub ends: Vec<[u32; 4]>,
    /// Edges of colour c are `ends[offsets[c]..offsets[c + 1]]`.
    pub offsets: Vec<u32>,
}

impl ColouredEdges {
    pub fn colours(&self) -> usize {
        self.offsets.len() - 1
    }
}

/// Everything an epoch of the layout needs beside the positions.
pub struct LayoutProblem {
    /// Points.
    pub n: usize,
    /// Per directed edge: epochs between its samples (max weight / weight).
    pub epochs_per_sample: Vec<f32>,
    pub edges: ColouredEdges,
    pub curve: Curve,
    pub dims: usize,
    pub seed: u32,
}

impl LayoutProblem {
    /// Epoch `epoch` (from 1) of `epochs`: the new positions of every point from `previous`.
    /// The colours run in order; the edges of a colour run in parallel, as on the GPU: they
    /// share no end and their negative samples read `previous`, so the order does not matter
    /// and the result is that of running them one by one.
    pub fn epoch(&self, previous: &[f32], epoch: u32, epochs: u32) -> Vec<f32> {
        let mut positions = previous.to_vec();
        let alpha = 1.0 - (epoch - 1) as f32 / epochs as f32;
        let shared = SharedPositions {
            ptr: positions.as_mut_ptr(),
            len: positions.len(),
        };
        for colour in self.edges.offsets.windows(2) {
            let edges = &self.edges.ends[colour[0] as usize..colour[1] as usize];
            edges.par_chunks(EDGES_PER_TASK).for_each(|chunk| {
                let mut due = [[0u32; 4]; EDGES_PER_TASK];
                let mut count = 0;
                for edge in chunk {
                    if sampled(epoch, self.epochs_per_sample[edge[2] as usize]) {
                        due[count] = *edge;
                        count += 1;
                    }
                }
                let mut groups = due[..count].chunks(LANES).peekable();
                if let Some(first) = groups.peek() {
                    self.prefetch_edges(&shared, previous, first, epoch);
                }
                while let Some(group) = groups.next() {
                    if let Some(next) = groups.peek() {
                        self.prefetch_edges(&shared, previous, next, epoch);
                    }
                    self.sample_edges(&shared, previous, group, Direction::Forward, epoch, alpha);
                    self.sample_edges(&shared, previous, group, Direction::Reverse, epoch, alpha);
                }
            });
        }
        positions
    }

    /// Asks the cache for the rows the updates of `edges` will read: their ends and their
    /// negative samples, all random rows whose loads would otherwise stall the updates.
    fn prefetch_edges(
        &self,
        positions: &SharedPositions,
        previous: &[f32],
        edges: &[[u32; 4]],
        epoch: u32,
    ) {
        let dims = self.dims;
        for &[i, j, forward, reverse] in edges {
            for end in [i, j] {
                positions.prefetch_row(end as usize, dims);
            }
            for edge in [forward, reverse] {
                for s in 0..NEGATIVE_RATE {
                    let k = negative_sample(self.seed, epoch, edge, s, self.n as u32) as usize;
                    prefetch(previous[k * dims..(k + 1) * dims].as_ptr_range());
                }
            }
        }
    }

    /// umap-learn's update for one sampled directed edge, for each edge of `edges` in the
    /// given direction: head and tail attract each other (both move), then the head is pushed
    /// from NEGATIVE_RATE points, read from `previous`. The edges share no end, so they are
    /// updated in lockstep: each step runs for every edge before the next step, which gives
    /// the processor independent chains of arithmetic (and `powf` calls) to overlap, where
    /// one edge alone is a single chain of dependent latencies. Each edge's own arithmetic,
    /// and so its bits, is that of updating it alone.
    fn sample_edges(
        &self,
        positions: &SharedPositions,
        previous: &[f32],
        edges: &[[u32; 4]],
        direction: Direction,
        epoch: u32,
        alpha: f32,
    ) {
        let dims = self.dims;
        let n = previous.len() / dims;
        let Curve { a, b } = self.curve;
        let mut heads: [&mut [f32]; LANES] = Default::default();
        let mut tails: [&mut [f32]; LANES] = Default::default();
        let mut head_ids = [0usize; LANES];
        let mut edge_ids = [0u32; LANES];
        for (lane, &[i, j, forward, reverse]) in edges.iter().enumerate() {
            let (head, tail, edge) = match direction {
                Direction::Forward => (i, j, forward),
                Direction::Reverse => (j, i, reverse),
            };
            // SAFETY: the edges that run at the same time (this group's and those of other
            // tasks of the colour) share no end, so only this edge touches the rows of
            // `head` and `tail`, and an edge joins two different points.
            (heads[lane], tails[lane]) =
                unsafe { positions.two_rows(head as usize, tail as usize, dims) };
            head_ids[lane] = head as usize;
            edge_ids[lane] = edge;
        }
        let lanes = edges.len();
        let mut d2 = [0.0f32; LANES];
        let mut coeff = [0.0f32; LANES];
        for lane in 0..lanes {
            d2[lane] = heads[lane]
                .iter()
                .zip(&*tails[lane])
                .map(|(h, t)| (h - t).powi(2))
                .sum();
        }
        for lane in 0..lanes {
            let d2 = d2[lane];
            if d2 > 0.0 {
                coeff[lane] = -2.0 * a * b * d2.powf(b - 1.0) / (a * d2.powf(b) + 1.0);
            }
        }
        for lane in 0..lanes {
            if d2[lane] > 0.0 {
                for (h, t) in heads[lane].iter_mut().zip(tails[lane].iter_mut()) {
                    let grad = (coeff[lane] * (*h - *t)).clamp(-CLIP, CLIP);
                    *h += grad * alpha;
                    *t += -(grad * alpha);
                }
            }
        }
        for s in 0..NEGATIVE_RATE {
            // A lane whose sample is its own head keeps an empty row: its sum is -0.0, its
            // coefficient 0 and its update nothing, as when the sample is skipped.
            let mut others: [&[f32]; LANES] = Default::default();
            for lane in 0..lanes {
                let k = negative_sample(self.seed, epoch, edge_ids[lane], s, n as u32) as usize;
                if k != head_ids[lane] {
                    others[lane] = &previous[k * dims..(k + 1) * dims];
                }
            }
            for lane in 0..lanes {
                d2[lane] = heads[lane]
                    .iter()
                    .zip(others[lane])
                    .map(|(h, o)| (h - o) * (h - o))
                    .sum();
            }
            for lane in 0..lanes {
                let d2 = d2[lane];
                coeff[lane] = if d2 > 0.0 {
                    2.0 * b / ((0.001 + d2) * (a * d2.powf(b) + 1.0))
                } else {
                    0.0
                };
            }
            for lane in 0..lanes {
                for (h, o) in heads[lane].iter_mut().zip(others[lane]) {
                    let grad = if coeff[lane] > 0.0 {
                        (coeff[lane] * (*h - o)).clamp(-CLIP, CLIP)
                    } else {
                        CLIP
                    };
                    *h += grad * alpha;
                }
            }
        }
    }
}

/// Which way an undirected edge is sampled: from its first end or from its second.
#[derive(Clone, Copy)]
enum Direction {
    Forward,
    Reverse,
}

/// The positions of an epoch, shared by the edges of one colour that run in parallel: each
/// edge reads and writes only the rows of its two ends, which no other edge of the colour
/// touches.
struct SharedPositions {
    ptr: *mut f32,
    len: usize,
}

// SAFETY: the edges that share it at once touch disjoint elements (see `epoch`).
unsafe impl Sync for SharedPositions {}

impl SharedPositions {
    /// Prefetches row `row` (of `dims` values) without touching it: another thread may be
    /// writing it.
    fn prefetch_row(&self, row: usize, dims: usize) {
        let start = self.ptr.wrapping_add(row * dims).cast_const();
        prefetch(start..start.wrapping_add(dims));
    }

    /// Rows `first` and `second` (of `dims` values each), to read and write.
    ///
    /// # Safety
    /// No other thread may touch either row while the slices live.
    #[allow(clippy::mut_from_ref)]
    unsafe fn two_rows(
        &self,
        first: usize,
        second: usize,
        dims: usize,
    ) -> (&mut [f32], &mut [f32]) {
        assert!(first != second && (first.max(second) + 1) * dims <= self.len);
        unsafe {
            (
                std::slice::from_raw_parts_mut(self.ptr.add(first * dims), dims),
                std::slice::from_raw_parts_mut(self.ptr.add(second * dims), dims),
            )
        }
    }
}

/// Whether an edge sampled every `period` epochs is sampled in `epoch`: floor(epoch / period)
/// grows, as the kernel decides. The quotients are never negative, so the casts are the
/// floors (without a libm call); a NaN period (all weights zero) samples every epoch, as a
/// comparison of NaN floors would.
fn sampled(epoch: u32, period: f32) -> bool {
    let (now, before) = (epoch as f32 / period, (epoch - 1) as f32 / period);
    now.is_nan() || now as u32 > before as u32
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
