// The k nearest neighbours of a block of rows, from their dot products with every point
// (computed by the matmul kernel): d2 = |x_i|^2 + |x_j|^2 - 2 x_i.x_j, clamped at 0. One
// invocation per row keeps its k nearest in registers by insertion, scanning j in order, so
// ties go to the lower index. A point is not its own neighbour. The host splits the columns
// over several dispatches so that no invocation loops past the software drivers' budget;
// each after the first resumes the list the previous one stored.

struct KnnShape {
    n: u32,
    k: u32,
    // The block holds rows first_row .. first_row + rows; `dots` is rows x stride.
    first_row: u32,
    rows: u32,
    stride: u32,
    // This dispatch scans columns first_col .. end_col.
    first_col: u32,
    end_col: u32,
}

// MAX_K, the registers of the insertion list, is declared by the host (from
// src/gpu/kernels/domain.rs).

@group(0) @binding(0) var<uniform> shape: KnnShape;
@group(0) @binding(1) var<storage, read> dots: array<f32>;
@group(0) @binding(2) var<storage, read> norms: array<f32>;
@group(0) @binding(3) var<storage, read_write> indices: array<u32>;
@group(0) @binding(4) var<storage, read_write> distances: array<f32>;

@compute @workgroup_size(64)
fn top_k(@builtin(global_invocation_id) gid: vec3<u32>) {
    let r = gid.x;
    if r >= shape.rows {
        return;
    }
    let i = shape.first_row + r;
    let k = shape.k;
    var best_d: array<f32, MAX_K>;
    var best_j: array<u32, MAX_K>;
    // Columns before first_col, less the point itself, filled the list up to k.
    var count = min(k, shape.first_col - u32(i < shape.first_col));
    for (var s = 0u; s < count; s++) {
        best_j[s] = indices[i * k + s];
        best_d[s] = distances[i * k + s];
    }
    for (var j = shape.first_col; j < shape.end_col; j++) {
        if j == i {
            continue;
        }
        let d = max(norms[i] + norms[j] - 2.0 * dots[r * shape.stride + j], 0.0);
        if count == k && d >= best_d[k - 1u] {
            continue;
        }
        var p = count;
        if count < k {
            count += 1u;
        } else {
            p = k - 1u;
        }
        while p > 0u && best_d[p - 1u] > d {
            best_d[p] = best_d[p - 1u];
            best_j[p] = best_j[p - 1u];
            p -= 1u;
        }
        best_d[p] = d;
        best_j[p] = j;
    }
    for (var s = 0u; s < count; s++) {
        indices[i * k + s] = best_j[s];
        distances[i * k + s] = best_d[s];
    }
}
