//! Twin of shaders/umap_graph.wgsl: per-point membership weights from the k nearest
//! neighbours, with a bisection for each point's bandwidth.

/// Bisection steps for each bandwidth (umap-learn uses 64).
const SEARCH_STEPS: usize = 64;
/// A bandwidth is at least this times the mean neighbour distance (umap-learn's floor).
const MIN_SCALE: f32 = 1e-3;

/// Each point's membership weights for its k neighbours (n x k), from the squared distances
/// `squared` (n x k, nearest first, as `knn` gives them): with d the Euclidean distance,
/// w = exp(-(d - rho) / sigma), rho the nearest distance, sigma such that the weights sum to
/// log2(k + 1). (umap-learn counts the point as its own first neighbour: its `n_neighbors`
/// is k + 1, and its sums skip that self entry.)
pub fn memberships(squared: &[f32], k: usize) -> Vec<f32> {
    let distances: Vec<f32> = squared.iter().map(|d2| d2.sqrt()).collect();
    let target = ((k + 1) as f32).log2();
    let mean_all = distances.iter().sum::<f32>() / distances.len().max(1) as f32;
    distances
        .chunks(k)
        .flat_map(|row| {
            let rho = row.iter().copied().find(|&d| d > 0.0).unwrap_or(0.0);
            let sigma = bandwidth(row, rho, target);
            let mean_row = row.iter().sum::<f32>() / k as f32;
            let floor = MIN_SCALE * if rho > 0.0 { mean_row } else { mean_all };
            let sigma = sigma.max(floor);
            row.iter()
                .map(move |&d| (-(d - rho).max(0.0) / sigma).exp())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The sigma at which sum_j exp(-max(0, d_j - rho) / sigma) over the row reaches `target`.
pub fn bandwidth(row: &[f32], rho: f32, target: f32) -> f32 {
    let (mut lo, mut hi, mut mid) = (0.0f32, f32::INFINITY, 1.0f32);
    for _ in 0..SEARCH_STEPS {
        let sum: f32 = row.iter().map(|&d| (-(d - rho).max(0.0) / mid).exp()).sum();
        if (sum - target).abs() < 1e-5 {
            break;
        }
        if sum > target {
            hi = mid;
            mid = (lo + hi) / 2.0;
        } else {
            lo = mid;
            mid = if hi.is_finite() {
                (lo + hi) / 2.0
            } else {
                mid * 2.0
            };
        }
    }
    mid
}
