//! UMAP's fuzzy neighbour graph: the directed membership weights (`reference::umap_graph` or
//! shaders/umap_graph.wgsl) made symmetric by the fuzzy union, on the host.

/// A symmetric sparse graph in compressed rows: the edges of point i are
/// `targets[offsets[i]..offsets[i + 1]]` with `weights` alongside, sorted by target.
#[derive(Clone, Debug, PartialEq)]
pub struct Graph {
    pub offsets: Vec<u32>,
    pub targets: Vec<u32>,
    pub weights: Vec<f32>,
}

/// The fuzzy union w_ij + w_ji - w_ij w_ji of the directed kNN weights.
pub fn symmetrize(neighbours: &[u32], weights: &[f32], n: usize, k: usize) -> Graph {
    let mut rows: Vec<std::collections::BTreeMap<u32, (f32, f32)>> = vec![Default::default(); n];
    for i in 0..n {
        for s in 0..k {
            let (j, w) = (neighbours[i * k + s], weights[i * k + s]);
            rows[i].entry(j).or_default().0 = w;
            rows[j as usize].entry(i as u32).or_default().1 = w;
        }
    }
    let mut graph = Graph {
        offsets: vec![0],
        targets: Vec::new(),
        weights: Vec::new(),
    };
    for row in rows {
        for (j, (a, b)) in row {
            let w = a + b - a * b;
            if w > 0.0 {
                graph.targets.push(j);
                graph.weights.push(w);
            }
        }
        graph.offsets.push(graph.targets.len() as u32);
    }
    graph
}
