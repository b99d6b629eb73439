//! Twin of shaders/umap_nndescent.wgsl: approximate k nearest neighbours by NN-descent (Dong,
//! Moses and Li, 2011: a neighbour of a neighbour is likely a neighbour), started from random
//! projection trees as pynndescent starts it, in a form whose answer does not depend on the
//! order of any step, so that the GPU, which runs the steps in parallel, finds the same lists
//! bit for bit.
//!
//! The points are first renumbered in the order of one tree (`umap_forest`), so that near
//! points sit near each other in memory. Every point keeps a list of k entries, nearest first
//! by (squared distance, index), each flagged new when it came in since the point last
//! sampled it. The list starts with k points drawn by hash, then takes the nearest of its
//! leaf neighbours in each tree (the renumbering tree first). An iteration:
//!
//! 1. reverse: every entry i -> j is also filed under j, with its flag;
//! 2. sample: every point draws up to `candidates` new and as many old entries among its own
//!    and its reverse ones, those with the smallest hash of (point, entry, iteration): its
//!    sampled neighbourhood;
//! 3. join: every point is offered each new neighbour, the whole sampled neighbourhood of
//!    each new neighbour and the new part of each old neighbour's (a path through two old
//!    edges was offered before), and keeps the k nearest of its list and the offers. Its
//!    sampled new entries become old, the entries that came in become new.
//!
//! A list is the k smallest (distance, index) pairs of a set, a sample the `candidates`
//! smallest (hash, index) pairs of a set: neither depends on the order things are offered in.
//! The iterations stop when at most `delta` x n x k entries came in, or after `iterations`.
//! Distances add the squared differences dimension by dimension, each square rounded on its
//! own, as k-means does.

use rayon::prelude::*;

use super::scan::exclusive_scan;
use super::umap_forest::{build_tree, leaf_window, levels_for, permute_rows, Tree};
use super::umap_knn::Neighbours;
use super::umap_layout::mix;

/// An entry's flag: it came in since its point last sampled it.
pub const NEW: u32 = 1 << 31;
/// An entry's flag during a join: it came in during this one.
pub const INSERTED: u32 = 1 << 30;
/// The index bits of an entry.
pub const INDEX: u32 = INSERTED - 1;
/// An empty slot of a sample.
pub const EMPTY: u32 = u32::MAX;

/// NN-descent's settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Descent {
    /// Neighbours per point (the point itself not counted).
    pub k: usize,
    /// New (and old) neighbours sampled per point and iteration.
    pub candidates: usize,
    /// Random projection trees, the renumbering one included.
    pub trees: usize,
    /// The most points of a leaf.
    pub leaf: usize,
    /// The most iterations.
    pub iterations: usize,
    /// Stop when at most this times n x k entries came in.
    pub delta: f32,
    pub seed: u32,
}

impl Descent {
    /// The settings for n points: `k` new and `k` old neighbours sampled, 8 trees with leaves
    /// of 32 (at least k + 1), and pynndescent's iteration count, max(5, round(log2 n)), and
    /// delta, 0.001.
    pub fn for_points(n: usize, k: usize, seed: u32) -> Descent {
        Descent {
            k,
            candidates: k,
            trees: 8,
            leaf: 32.max(k + 1),
            iterations: ((n as f64).log2().round() as usize).max(5),
            delta: 0.001,
            seed,
        }
    }

    /// Whether an iteration in which `updates` entries came in ends the descent.
    pub fn converged(&self, n: usize, updates: u64) -> bool {
        updates as f64 <= self.delta as f64 * (n * self.k) as f64
    }

    /// The levels of each tree.
    pub fn levels(&self, n: usize) -> usize {
        levels_for(n, self.leaf)
    }
}

/// Every point's list: n x k entries (index and flags) and their squared distances.
#[derive(Clone, Debug, PartialEq)]
pub struct Lists {
    pub entries: Vec<u32>,
    pub squared: Vec<f32>,
}

impl Lists {
    /// `update(i, list)` on every point's list of k in parallel (starting empty when `fresh`,
    /// else as stored), each stored back after; the sum of what `update` returned.
    fn update_each(
        &mut self,
        k: usize,
        fresh: bool,
        update: impl Fn(usize, &mut List) -> u64 + Sync,
    ) -> u64 {
        self.entries
            .par_chunks_mut(k)
            .zip(self.squared.par_chunks_mut(k))
            .enumerate()
            .map(|(i, (entries, squared))| {
                let mut list = if fresh {
                    List::empty(k)
                } else {
                    List::load(entries, squared)
                };
                let result = update(i, &mut list);
                list.store(entries, squared);
                result
            })
            .sum()
    }
}

/// The k approximate nearest neighbours of every point of the n x d `points` (n > k), nearest
/// first, ties to the lower index; and how many entries came in at each iteration.
pub fn nn_descent(points: &[f32], n: usize, d: usize, descent: &Descent) -> (Neighbours, Vec<u64>) {
    let levels = descent.levels(n);
    let renumbering = build_tree(points, d, (descent.seed, 0), descent.leaf, levels);
    let points = permute_rows(points, d, &renumbering.order);
    let mut lists = initial_lists(&points, d, descent);
    let identity = Tree {
        order: (0..n as u32).collect(),
        ..renumbering.clone()
    };
    offer_leaves(&points, d, &mut lists, &identity, descent.leaf);
    for tree in 1..descent.trees as u32 {
        let tree = build_tree(&points, d, (descent.seed, tree), descent.leaf, levels);
        offer_leaves(&points, d, &mut lists, &tree, descent.leaf);
    }
    let mut history = Vec::new();
    for iteration in 1..=descent.iterations as u32 {
        let reverse = reverse_entries(&lists.entries, n, descent.k);
        let samples = sample(&lists.entries, &reverse, descent, iteration);
        let updates = join(&points, d, &mut lists, &samples, descent.candidates);
        history.push(updates);
        if descent.converged(n, updates) {
            break;
        }
    }
    (original_numbering(&lists, &renumbering.order), history)
}

/// The squared distance between two points: the squared differences added in order, each
/// rounded on its own.
pub fn squared_distance(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).fold(0.0, |sum, (x, y)| {
        let e = x - y;
        sum + e * e
    })
}

/// The starting lists: point i's k successors from a drawn offset, (i + 1 + (o + s) mod
/// (n - 1)) mod n for s < k, which are k points other than i; all new.
pub fn initial_lists(points: &[f32], d: usize, descent: &Descent) -> Lists {
    let (n, k) = (points.len() / d, descent.k);
    let mut lists = Lists {
        entries: vec![0; n * k],
        squared: vec![0.0; n * k],
    };
    lists.update_each(k, true, |i, list| {
        let offset = initial_offset(descent.seed, i as u32, n as u32) as usize;
        for s in 0..k {
            let j = (i + 1 + (offset + s) % (n - 1)) % n;
            let row = |p: usize| &points[p * d..(p + 1) * d];
            list.offer(j as u32, squared_distance(row(i), row(j)), NEW);
        }
        0
    });
    lists
}

/// Where point i's starting successors begin, 0..n - 1.
pub fn initial_offset(seed: u32, i: u32, n: u32) -> u32 {
    mix(seed ^ mix(i)) % (n - 1)
}

/// Every point offered the points of its leaf window in `tree` (`umap_forest::leaf_window`),
/// as new entries.
pub fn offer_leaves(points: &[f32], d: usize, lists: &mut Lists, tree: &Tree, leaf: usize) {
    let k = lists.entries.len() / tree.order.len();
    let mut position = vec![0u32; tree.order.len()];
    for (p, &i) in tree.order.iter().enumerate() {
        position[i as usize] = p as u32;
    }
    lists.update_each(k, false, |i, list| {
        let p = position[i] as usize;
        let (from, to) = leaf_window(p as u32, tree.starts[p], tree.ends[p], leaf as u32);
        let row = |q: usize| &points[q * d..(q + 1) * d];
        for q in from..to {
            let j = tree.order[q as usize] as usize;
            if j != i {
                list.offer(j as u32, squared_distance(row(i), row(j)), NEW);
            }
        }
        0
    });
}

/// The reverse entries in compressed rows: those of point j are
/// `sources[offsets[j]..offsets[j + 1]]`, each the point whose list holds j, with that
/// entry's NEW flag (in any order: what follows depends only on the set).
pub struct Reverse {
    pub offsets: Vec<u32>,
    pub sources: Vec<u32>,
}

/// Every entry filed under its target.
pub fn reverse_entries(entries: &[u32], n: usize, k: usize) -> Reverse {
    let mut counts = vec![0u32; n];
    for &e in entries {
        counts[(e & INDEX) as usize] += 1;
    }
    let offsets = exclusive_scan(&counts);
    let mut cursor = offsets.clone();
    let mut sources = vec![0u32; entries.len()];
    for (at, &e) in entries.iter().enumerate() {
        let slot = &mut cursor[(e & INDEX) as usize];
        sources[*slot as usize] = (at / k) as u32 | (e & NEW);
        *slot += 1;
    }
    Reverse { offsets, sources }
}

/// The order of sampling: a hash of (point, neighbour, iteration).
pub fn priority(seed: u32, iteration: u32, i: u32, j: u32) -> u32 {
    mix(mix(mix(seed ^ iteration) ^ i) ^ j)
}

/// Every point's sample: n rows of `2 x candidates` slots, the new neighbours then the old,
/// each part ordered by (priority, index) and padded with EMPTY.
pub fn sample(entries: &[u32], reverse: &Reverse, descent: &Descent, iteration: u32) -> Vec<u32> {
    let (k, m) = (descent.k, descent.candidates);
    let mut samples = vec![EMPTY; entries.len() / k * 2 * m];
    samples
        .par_chunks_mut(2 * m)
        .enumerate()
        .for_each(|(i, row)| {
            let own = &entries[i * k..(i + 1) * k];
            let range = reverse.offsets[i] as usize..reverse.offsets[i + 1] as usize;
            let (new, old) = row.split_at_mut(m);
            let mut keys = [vec![u32::MAX; m], vec![u32::MAX; m]];
            for &e in own.iter().chain(&reverse.sources[range]) {
                let j = e & INDEX;
                let key = priority(descent.seed, iteration, i as u32, j);
                if e & NEW != 0 {
                    insert_sampled(new, &mut keys[0], j, key);
                } else {
                    insert_sampled(old, &mut keys[1], j, key);
                }
            }
        });
    samples
}

/// Puts j with `key` into a sample ordered by (key, index), unless it is there or the sample
/// is full of smaller pairs.
fn insert_sampled(slots: &mut [u32], keys: &mut [u32], j: u32, key: u32) {
    let m = slots.len();
    let at = (0..m)
        .find(|&s| (keys[s], slots[s]) >= (key, j))
        .unwrap_or(m);
    if at == m || (keys[at], slots[at]) == (key, j) {
        return;
    }
    slots.copy_within(at..m - 1, at + 1);
    keys.copy_within(at..m - 1, at + 1);
    slots[at] = j;
    keys[at] = key;
}

/// Every point offered its sampled neighbourhood's neighbourhoods (see the module's notes);
/// returns how many entries came in.
pub fn join(points: &[f32], d: usize, lists: &mut Lists, samples: &[u32], m: usize) -> u64 {
    let k = lists.entries.len() / (samples.len() / (2 * m));
    lists.update_each(k, false, |i, list| {
        let row = |p: u32| &points[p as usize * d..(p as usize + 1) * d];
        let sampled = |p: u32| &samples[p as usize * 2 * m..(p as usize + 1) * 2 * m];
        let mut offer = |c: u32| {
            if c != i as u32 && c != EMPTY {
                list.offer(c, squared_distance(row(i as u32), row(c)), INSERTED);
            }
        };
        let (new, old) = sampled(i as u32).split_at(m);
        for &a in new.iter().filter(|&&a| a != EMPTY) {
            offer(a);
            sampled(a).iter().for_each(|&c| offer(c));
        }
        for &a in old.iter().filter(|&&a| a != EMPTY) {
            sampled(a)[..m].iter().for_each(|&c| offer(c));
        }
        settle_flags(&mut list.entries, new)
    })
}

/// After a join: entries that came in become new, sampled new entries become old; returns
/// how many came in.
pub fn settle_flags(entries: &mut [u32], sampled_new: &[u32]) -> u64 {
    let mut inserted = 0;
    for e in entries {
        if *e & INSERTED != 0 {
            *e = (*e & INDEX) | NEW;
            inserted += 1;
        } else if *e & NEW != 0 && sampled_new.contains(&(*e & INDEX)) {
            *e &= INDEX;
        }
    }
    inserted
}

/// The lists of the renumbered points (point p is the original point `order[p]`) in the
/// original numbering, each nearest first with ties to the lower original index.
pub fn original_numbering(lists: &Lists, order: &[u32]) -> Neighbours {
    let (n, k) = (order.len(), lists.entries.len() / order.len());
    let mut position = vec![0usize; n];
    for (p, &i) in order.iter().enumerate() {
        position[i as usize] = p;
    }
    let rows: Vec<(Vec<u32>, Vec<f32>)> = (0..n)
        .into_par_iter()
        .map(|i| {
            let p = position[i];
            let mut row: Vec<(f32, u32)> = (p * k..(p + 1) * k)
                .map(|e| (lists.squared[e], order[(lists.entries[e] & INDEX) as usize]))
                .collect();
            row.sort_by(|a, b| a.partial_cmp(b).expect("finite distances"));
            row.into_iter().map(|(d, j)| (j, d)).unzip()
        })
        .collect();
    let (indices, squared): (Vec<Vec<u32>>, Vec<Vec<f32>>) = rows.into_iter().unzip();
    Neighbours {
        indices: indices.concat(),
        squared: squared.concat(),
    }
}

/// One point's list while it is offered points: nearest first by (squared distance, index).
struct List {
    entries: Vec<u32>,
    squared: Vec<f32>,
    k: usize,
}

impl List {
    fn empty(k: usize) -> List {
        List {
            entries: Vec::with_capacity(k + 1),
            squared: Vec::with_capacity(k + 1),
            k,
        }
    }

    fn load(entries: &[u32], squared: &[f32]) -> List {
        List {
            entries: entries.to_vec(),
            squared: squared.to_vec(),
            k: entries.len(),
        }
    }

    /// Takes in j at squared distance `d` with `flag` when the list is not full, or (d, j) is
    /// below its last pair, and j is not in it.
    fn offer(&mut self, j: u32, d: f32, flag: u32) {
        let before = |s: usize| (self.squared[s], self.entries[s] & INDEX) < (d, j);
        let len = self.entries.len();
        if len == self.k && before(len - 1) || self.entries.iter().any(|&e| e & INDEX == j) {
            return;
        }
        let at = (0..len).find(|&s| !before(s)).unwrap_or(len);
        self.entries.insert(at, j | flag);
        self.squared.insert(at, d);
        self.entries.truncate(self.k);
        self.squared.truncate(self.k);
    }

    fn store(&self, entries: &mut [u32], squared: &mut [f32]) {
        entries.copy_from_slice(&self.entries);
        squared.copy_from_slice(&self.squared);
    }
}
