//! Twin of shaders/umap_forest.wgsl: random projection trees (as pynndescent starts its
//! NN-descent), built level by level so that every level is one parallel step.
//!
//! A tree orders the points: at each level every segment of the order longer than `leaf` is
//! split by the hyperplane halfway between two of its points, drawn by hash, and each side
//! keeps its order (a stable partition through a prefix sum). After `levels` levels the
//! segments are the leaves; a point's leaf neighbours are the members of its segment, or the
//! `leaf` positions around it in a segment still longer. Margins add their products in
//! order, each rounded on its own, as the shader does.

use rayon::prelude::*;

use super::scan::exclusive_scan;
use super::umap_layout::mix;

/// One tree: the order of the points and, per position, its segment's first and last + 1
/// positions.
#[derive(Clone, Debug, PartialEq)]
pub struct Tree {
    pub order: Vec<u32>,
    pub starts: Vec<u32>,
    pub ends: Vec<u32>,
}

/// Levels enough to bring n points to leaves of `leaf` when splits were even, and six more
/// for the uneven ones.
pub fn levels_for(n: usize, leaf: usize) -> usize {
    (n as f64 / leaf as f64).log2().ceil().max(0.0) as usize + 6
}

/// Tree `tree` of the n x d `points`.
pub fn build_tree(
    points: &[f32],
    d: usize,
    (seed, tree): (u32, u32),
    leaf: usize,
    levels: usize,
) -> Tree {
    let n = points.len() / d;
    let mut current = Tree {
        order: (0..n as u32).collect(),
        starts: vec![0; n],
        ends: vec![n as u32; n],
    };
    for level in 0..levels as u32 {
        let sides: Vec<u32> = (0..n)
            .into_par_iter()
            .map(|p| side(points, d, &current, (seed, tree, level), leaf, p))
            .collect();
        let prefix = exclusive_scan(&sides);
        let mut next = Tree {
            order: vec![0; n],
            starts: vec![0; n],
            ends: vec![0; n],
        };
        for p in 0..n {
            let (at, start, end) = moved(&current, &sides, &prefix, p);
            next.order[at] = current.order[p];
            next.starts[at] = start;
            next.ends[at] = end;
        }
        current = next;
    }
    current
}

/// Which side (0 or 1) of its segment's split the point at position p goes to: 0 in a
/// segment of at most `leaf`; 1 when its margin is negative; by hash of the point when the
/// margin is zero.
pub fn side(
    points: &[f32],
    d: usize,
    tree: &Tree,
    (seed, id, level): (u32, u32, u32),
    leaf: usize,
    p: usize,
) -> u32 {
    let (s, e) = (tree.starts[p], tree.ends[p]);
    if (e - s) as usize <= leaf {
        return 0;
    }
    let (a, b) = pivots(seed, id, level, s, e);
    let row = |q: u32| &points[q as usize * d..(q as usize + 1) * d];
    let m = margin(
        row(tree.order[a as usize]),
        row(tree.order[b as usize]),
        row(tree.order[p]),
    );
    if m > 0.0 {
        0
    } else if m < 0.0 {
        1
    } else {
        mix(tree.order[p] ^ seed) & 1
    }
}

/// Where the point at position p moves, and its new segment: side 0 first, each side in the
/// order it had. `prefix` is the exclusive prefix sum of `sides` (n + 1 values).
pub fn moved(tree: &Tree, sides: &[u32], prefix: &[u32], p: usize) -> (usize, u32, u32) {
    let (s, e) = (tree.starts[p], tree.ends[p]);
    let ones_before = prefix[p] - prefix[s as usize];
    let zeros = (e - s) - (prefix[e as usize] - prefix[s as usize]);
    if sides[p] == 1 {
        ((s + zeros + ones_before) as usize, s + zeros, e)
    } else {
        (p - ones_before as usize, s, s + zeros)
    }
}

/// The positions of the two points of segment s..e (at least 2 long) whose halfway
/// hyperplane splits it at `level`: distinct, drawn by hash of (seed, tree, level, s).
pub fn pivots(seed: u32, tree: u32, level: u32, s: u32, e: u32) -> (u32, u32) {
    let m = e - s;
    let h = mix(mix(mix(seed ^ tree) ^ level) ^ s);
    let a = h % m;
    let b = (a + 1 + mix(h) % (m - 1)) % m;
    (s + a, s + b)
}

/// Which side of the hyperplane halfway between a and b the point x lies on:
/// (a - b) . (x - (a + b) / 2), each product rounded on its own, added in order.
pub fn margin(a: &[f32], b: &[f32], x: &[f32]) -> f32 {
    (0..x.len()).fold(0.0, |sum, c| {
        let normal = a[c] - b[c];
        let middle = (a[c] + b[c]) * 0.5;
        sum + normal * (x[c] - middle)
    })
}

/// The positions whose points the point at position p is offered: its segment s..e, or the
/// `leaf` positions around p inside it when the segment is longer.
pub fn leaf_window(p: u32, s: u32, e: u32, leaf: u32) -> (u32, u32) {
    if e - s <= leaf {
        return (s, e);
    }
    let from = p.saturating_sub(leaf / 2).clamp(s, e - leaf);
    (from, from + leaf)
}

/// The rows of the n x d `points` in `order`.
pub fn permute_rows(points: &[f32], d: usize, order: &[u32]) -> Vec<f32> {
    order
        .iter()
        .flat_map(|&i| &points[i as usize * d..(i as usize + 1) * d])
        .copied()
        .collect()
}
