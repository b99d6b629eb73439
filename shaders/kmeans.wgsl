// k-means (Lloyd) on n points of d dimensions, k clusters, with no float atomics: every sum
// has a fixed order, so a run is deterministic and the CPU twin in src/reference/kmeans.rs
// reproduces it exactly. Distances accumulate with fma, dimension by dimension.
// (kmeans_assign_subgroup.wgsl, compiled after this file, is `assign` for 8-wide subgroups.)

struct KmeansShape {
    n: u32,
    d: u32,
    k: u32,
    // Point chunks of the partial sums (CHUNK points each).
    chunks: u32,
    // `assign` compares centroids first_centroid .. end_centroid in this dispatch.
    first_centroid: u32,
    end_centroid: u32,
}

// CHUNK (points per partial-sum chunk), MAX_K (the most clusters the partial-sum kernel keeps
// in registers) and ROW (workgroups per row of a 2-D grid) are declared by the host, from
// src/domain.rs.

@group(0) @binding(0) var<uniform> shape: KmeansShape;
@group(0) @binding(1) var<storage, read> points: array<f32>;
@group(0) @binding(2) var<storage, read> centroids: array<f32>;
@group(0) @binding(3) var<storage, read_write> labels: array<u32>;
@group(0) @binding(4) var<storage, read_write> distances: array<f32>;
// (chunk, cluster, dimension) sums; dimension d holds the member count.
@group(0) @binding(5) var<storage, read_write> partials: array<f32>;
@group(0) @binding(6) var<storage, read_write> updated: array<f32>;

// Nearest centroid of each point (ties go to the lower index) and its squared distance.
// The host splits the centroids over several dispatches, so that no invocation loops past
// the software drivers' budget; each after the first starts from the best found so far.
@compute @workgroup_size(64)
fn assign(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.y * (ROW * 64u) + gid.x;
    if i >= shape.n {
        return;
    }
    var best = 3.4e38;
    var best_c = 0u;
    if shape.first_centroid > 0u {
        best = distances[i];
        best_c = labels[i];
    }
    for (var c = shape.first_centroid; c < shape.end_centroid; c++) {
        var dist = 0.0;
        for (var j = 0u; j < shape.d; j++) {
            let diff = points[i * shape.d + j] - centroids[c * shape.d + j];
            dist = fma(diff, diff, dist);
        }
        if dist < best {
            best = dist;
            best_c = c;
        }
    }
    labels[i] = best_c;
    distances[i] = best;
}

// Per chunk of CHUNK points and per dimension j (j == d counts members): the sum over the
// chunk's points of each cluster, in point order.
@compute @workgroup_size(64)
fn partial_sums(@builtin(global_invocation_id) gid: vec3<u32>) {
    let j = gid.x;
    let chunk = gid.y;
    if j > shape.d {
        return;
    }
    var acc: array<f32, MAX_K>;
    let end = min(shape.n, (chunk + 1u) * CHUNK);
    for (var i = chunk * CHUNK; i < end; i++) {
        var v = 1.0;
        if j < shape.d {
            v = points[i * shape.d + j];
        }
        acc[labels[i]] += v;
    }
    for (var c = 0u; c < shape.k; c++) {
        partials[(chunk * shape.k + c) * (shape.d + 1u) + j] = acc[c];
    }
}

// New centroids: the chunks' sums added in chunk order, over the count. An empty cluster
// keeps its old centroid.
@compute @workgroup_size(64)
fn update(@builtin(global_invocation_id) gid: vec3<u32>) {
    let j = gid.x;
    let c = gid.y;
    if j >= shape.d {
        return;
    }
    var sum = 0.0;
    var count = 0.0;
    for (var chunk = 0u; chunk < shape.chunks; chunk++) {
        let at = (chunk * shape.k + c) * (shape.d + 1u);
        sum += partials[at + j];
        count += partials[at + shape.d];
    }
    var value = centroids[c * shape.d + j];
    if count > 0.0 {
        value = sum / count;
    }
    updated[c * shape.d + j] = value;
}
