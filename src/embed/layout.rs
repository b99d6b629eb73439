//! The layout problem built from the graph on the host: the edges' sampling periods and
//! their colouring. The epochs themselves run in `reference::umap_layout` (CPU) or
//! shaders/umap_layout.wgsl (GPU).

use super::graph::Graph;
use crate::reference::umap_layout::{ColouredEdges, Curve, LayoutProblem};

/// Everything the layout epochs need from `graph`: per directed edge, the epochs between its
/// samples (max weight / weight, umap-learn's schedule), and the coloured edges.
pub fn layout_problem(graph: &Graph, curve: Curve, dims: usize, seed: u32) -> LayoutProblem {
    let max = graph.weights.iter().copied().fold(0.0f32, f32::max);
    LayoutProblem {
        n: graph.offsets.len() - 1,
        epochs_per_sample: graph.weights.iter().map(|&w| max / w).collect(),
        edges: colour_edges(graph),
        curve,
        dims,
        seed,
    }
}

/// The undirected edges of `graph` grouped into colours by a greedy colouring in edge order:
/// each edge takes the first colour free at both ends.
pub fn colour_edges(graph: &Graph) -> ColouredEdges {
    let n = graph.offsets.len() - 1;
    let mut classes: Vec<Vec<[u32; 4]>> = Vec::new();
    let mut taken: Vec<Vec<bool>> = vec![Vec::new(); n];
    for i in 0..n {
        for forward in graph.offsets[i] as usize..graph.offsets[i + 1] as usize {
            let j = graph.targets[forward] as usize;
            if j <= i {
                continue;
            }
            let row = graph.offsets[j] as usize..graph.offsets[j + 1] as usize;
            let Some(reverse) = row.clone().find(|&r| graph.targets[r] as usize == i) else {
                continue;
            };
            let free = |v: usize, c: usize| !taken[v].get(c).copied().unwrap_or(false);
            let colour = (0..).find(|&c| free(i, c) && free(j, c)).unwrap_or(0);
            for v in [i, j] {
                if taken[v].len() <= colour {
                    taken[v].resize(colour + 1, false);
                }
                taken[v][colour] = true;
            }
            if classes.len() <= colour {
                classes.resize(colour + 1, Vec::new());
            }
            classes[colour].push([i as u32, j as u32, forward as u32, reverse as u32]);
        }
    }
    let mut offsets = vec![0u32];
    for class in &classes {
        offsets.push(offsets[offsets.len() - 1] + class.len() as u32);
    }
    ColouredEdges {
        ends: classes.concat(),
        offsets,
    }
}
