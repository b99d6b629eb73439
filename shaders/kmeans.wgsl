// k-means (Lloyd) on n points of d dimensions, k clusters, every restart at once (the
// restart is the grid's z), with no float atomics: every sum has a fixed order, so a run is
// deterministic and the CPU twin in src/reference/kmeans.rs reproduces it exactly. Distances
// and shifts add the squares dimension by dimension, each square rounded on its own (no
// fma: lavapipe splits fma into a multiply and an add, hardware fuses it, so only separate
// roundings give every adapter the CPU twin's bits). Convergence is decided here: after
// its update a restart's squared centroid shift is compared with the tolerance, and a
// restart that is done (converged, or at the iteration limit) skips every later iteration,
// so the host records iterations ahead and reads only the per-restart state now and then;
// after each read it leaves the restarts that are done out of the dispatches (`running`).
// Points and centroids are rows of vec4s: the host pads d to a multiple of 4 with zeros,
// which add exactly nothing to any distance, sum or shift, so the labels, sums and shifts
// are those of the unpadded rows, bit for bit, with a quarter of the loads.
// (kmeans_subgroup.wgsl, compiled after this file, holds the kernels for 8-wide subgroups.)

struct KmeansShape {
    n: u32,
    // The padded dimensions: a multiple of 4.
    d: u32,
    k: u32,
    // Point chunks of the partial sums (CHUNK points each).
    chunks: u32,
    // `assign` compares centroids first_centroid .. end_centroid in this dispatch.
    first_centroid: u32,
    end_centroid: u32,
    // How many restarts the dispatch runs.
    restarts: u32,
    max_iter: u32,
    // Done when the squared centroid shift is at most this.
    tol: f32,
    // 1 for the assignment to the final centroids, which runs for every restart.
    final_pass: u32,
    // Always 0, and unknown to the compiler: see `squares`.
    zero_bits: u32,
    _pad: u32,
    // The restarts this dispatch runs, by grid z (the first `restarts`, 4 to a vec4): the
    // host leaves out those that are done.
    running: array<vec4<u32>, MAX_RUNNING / 4>,
}

// CHUNK (points per partial-sum chunk), MAX_K (the most clusters the partial-sum kernel keeps
// in registers) and ROW (workgroups per row of a 2-D grid) are declared by the host, from
// src/domain.rs; so are MAX_RUNNING (the most restarts per dispatch) and SLOTS
// (kmeans_subgroup.wgsl).

@group(0) @binding(0) var<uniform> shape: KmeansShape;
@group(0) @binding(1) var<storage, read> points: array<vec4<f32>>;
// Per restart: k x d centroids.
@group(0) @binding(2) var<storage, read_write> centroids: array<vec4<f32>>;
// Per restart: n labels and squared distances.
@group(0) @binding(3) var<storage, read_write> labels: array<u32>;
@group(0) @binding(4) var<storage, read_write> distances: array<f32>;
// Per restart: (chunk, cluster, dimension) sums; dimension d holds the member count.
@group(0) @binding(5) var<storage, read_write> partials: array<f32>;
// Per restart: the k x d centroids of the update.
@group(0) @binding(6) var<storage, read_write> updated: array<vec4<f32>>;
// Per restart: each centroid's squared shift in this iteration.
@group(0) @binding(7) var<storage, read_write> shifts: array<f32>;
// Per restart: (done, iterations run).
@group(0) @binding(8) var<storage, read_write> state: array<u32>;

// vec4s per row of points or centroids.
fn quads() -> u32 {
    return shape.d / 4u;
}

// e's components squared, each product rounded to f32: the xor with a zero the compiler
// cannot see keeps a driver from fusing the product into the add that follows.
fn squares(e: vec4<f32>) -> vec4<f32> {
    return bitcast<vec4<f32>>(bitcast<vec4<u32>>(e * e) ^ vec4<u32>(shape.zero_bits));
}

// dist plus the squares of e's components, added in order: one row's 4 dimensions.
fn add_squares(dist: f32, e: vec4<f32>) -> f32 {
    let p = squares(e);
    return dist + p.x + p.y + p.z + p.w;
}

// The restart that grid slot z runs.
fn running(z: u32) -> u32 {
    return shape.running[z / 4u][z % 4u];
}

// Whether restart r sits this pass out: it is done, and this is not the final assignment.
fn skipped(r: u32) -> bool {
    return shape.final_pass == 0u && state[2u * r] != 0u;
}

// Nearest centroid of each point (ties go to the lower index) and its squared distance.
// The host splits the centroids over several dispatches, so that no invocation loops past
// the software drivers' budget; each after the first starts from the best found so far.
@compute @workgroup_size(64)
fn assign(@builtin(global_invocation_id) gid: vec3<u32>) {
    let r = running(gid.z);
    let i = gid.y * (ROW * 64u) + gid.x;
    if i >= shape.n || skipped(r) {
        return;
    }
    let at = r * shape.n + i;
    let row = quads();
    let base = r * shape.k * row;
    var best = 3.4e38;
    var best_c = 0u;
    if shape.first_centroid > 0u {
        best = distances[at];
        best_c = labels[at];
    }
    for (var c = shape.first_centroid; c < shape.end_centroid; c++) {
        var dist = 0.0;
        for (var q = 0u; q < row; q++) {
            dist = add_squares(dist, points[i * row + q] - centroids[base + c * row + q]);
        }
        if dist < best {
            best = dist;
            best_c = c;
        }
    }
    labels[at] = best_c;
    distances[at] = best;
}

// Per chunk of CHUNK points and per dimension j (j == d counts members): the sum over the
// chunk's points of each cluster, in point order.
@compute @workgroup_size(64)
fn partial_sums(@builtin(global_invocation_id) gid: vec3<u32>) {
    let j = gid.x;
    let chunk = gid.y;
    let r = running(gid.z);
    if j > shape.d || skipped(r) {
        return;
    }
    var acc: array<f32, MAX_K>;
    let end = min(shape.n, (chunk + 1u) * CHUNK);
    for (var i = chunk * CHUNK; i < end; i++) {
        var v = 1.0;
        if j < shape.d {
            v = points[i * quads() + j / 4u][j % 4u];
        }
        acc[labels[r * shape.n + i]] += v;
    }
    let base = r * shape.chunks * shape.k;
    for (var c = 0u; c < shape.k; c++) {
        partials[(base + chunk * shape.k + c) * (shape.d + 1u) + j] = acc[c];
    }
}

// New centroids: the chunks' sums added in chunk order, over the count. An empty cluster
// keeps its old centroid.
@compute @workgroup_size(64)
fn update(@builtin(global_invocation_id) gid: vec3<u32>) {
    let j = gid.x;
    let c = gid.y;
    let r = running(gid.z);
    if j >= shape.d || skipped(r) {
        return;
    }
    var sum = 0.0;
    var count = 0.0;
    let base = r * shape.chunks * shape.k;
    for (var chunk = 0u; chunk < shape.chunks; chunk++) {
        let at = (base + chunk * shape.k + c) * (shape.d + 1u);
        sum += partials[at + j];
        count += partials[at + shape.d];
    }
    let at = (r * shape.k + c) * quads() + j / 4u;
    var value = centroids[at][j % 4u];
    if count > 0.0 {
        value = sum / count;
    }
    updated[at][j % 4u] = value;
}

// Per centroid: its squared shift (the squares added over the dimensions in order), and the
// updated centroid becomes the current one.
@compute @workgroup_size(64)
fn shift_rows(@builtin(global_invocation_id) gid: vec3<u32>) {
    let c = gid.x;
    let r = running(gid.z);
    if c >= shape.k || skipped(r) {
        return;
    }
    let row = quads();
    let base = (r * shape.k + c) * row;
    var shift = 0.0;
    for (var q = 0u; q < row; q++) {
        shift = add_squares(shift, updated[base + q] - centroids[base + q]);
        centroids[base + q] = updated[base + q];
    }
    shifts[r * shape.k + c] = shift;
}

// Per restart: one more iteration counted; done when the total shift (the centroids' shifts
// added in order) is within the tolerance, or at the iteration limit.
@compute @workgroup_size(64)
fn converge(@builtin(global_invocation_id) gid: vec3<u32>) {
    if gid.x >= shape.restarts {
        return;
    }
    let r = running(gid.x);
    if skipped(r) {
        return;
    }
    var total = 0.0;
    for (var c = 0u; c < shape.k; c++) {
        total += shifts[r * shape.k + c];
    }
    let iterations = state[2u * r + 1u] + 1u;
    state[2u * r + 1u] = iterations;
    if total <= shape.tol || iterations >= shape.max_iter {
        state[2u * r] = 1u;
    }
}
