// Fuzzy membership weights of each point's k neighbours (umap-learn's smooth kNN distances):
// rho = the nearest non-zero distance, sigma found by bisection so that
// sum_j exp(-max(0, d_j - rho) / sigma) = log2(k + 1) (umap-learn counts the point itself as
// its first neighbour), floored at 1e-3 x the mean distance
// (the row's, or the whole graph's when rho is 0); w_j = exp(-max(0, d_j - rho) / sigma).
// One invocation per point; `squared` holds the kNN kernel's squared distances.

struct GraphShape {
    n: u32,
    k: u32,
    // Mean Euclidean distance over every point's neighbours.
    mean_distance: f32,
}

const SEARCH_STEPS: u32 = 64u;
const MIN_SCALE: f32 = 1e-3;

@group(0) @binding(0) var<uniform> shape: GraphShape;
@group(0) @binding(1) var<storage, read> squared: array<f32>;
@group(0) @binding(2) var<storage, read_write> weights: array<f32>;

fn mass(row: u32, rho: f32, sigma: f32) -> f32 {
    var sum = 0.0;
    for (var s = 0u; s < shape.k; s++) {
        sum += exp(-max(sqrt(squared[row + s]) - rho, 0.0) / sigma);
    }
    return sum;
}

@compute @workgroup_size(64)
fn memberships(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if i >= shape.n {
        return;
    }
    let row = i * shape.k;
    var rho = 0.0;
    var row_sum = 0.0;
    for (var s = 0u; s < shape.k; s++) {
        let d = sqrt(squared[row + s]);
        row_sum += d;
        if rho == 0.0 && d > 0.0 {
            rho = d;
        }
    }
    let target_mass = log2(f32(shape.k + 1u));
    var lo = 0.0;
    var hi = 0.0;
    var bounded = false;
    var sigma = 1.0;
    for (var step = 0u; step < SEARCH_STEPS; step++) {
        let sum = mass(row, rho, sigma);
        if abs(sum - target_mass) < 1e-5 {
            break;
        }
        if sum > target_mass {
            hi = sigma;
            bounded = true;
            sigma = (lo + hi) / 2.0;
        } else {
            lo = sigma;
            if bounded {
                sigma = (lo + hi) / 2.0;
            } else {
                sigma *= 2.0;
            }
        }
    }
    var mean = shape.mean_distance;
    if rho > 0.0 {
        mean = row_sum / f32(shape.k);
    }
    sigma = max(sigma, MIN_SCALE * mean);
    for (var s = 0u; s < shape.k; s++) {
        weights[row + s] = exp(-max(sqrt(squared[row + s]) - rho, 0.0) / sigma);
    }
}
