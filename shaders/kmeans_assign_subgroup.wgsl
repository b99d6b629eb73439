// `assign` for adapters with 8-wide subgroups (lavapipe): the same nearest centroid and the
// same distance, bit for bit, as `assign` in kmeans.wgsl (one fma chain per point and
// centroid, dimension by dimension; ties to the lower index), with 8x fewer loads. There a
// workgroup's lanes are SIMD lanes of one CPU thread and every per-lane load is a scalar
// loop, so loads are what costs. One workgroup is one subgroup of 8 points; the lanes walk
// 8 centroids at once: per dimension each lane loads its point's value and one centroid's,
// and gets the other 7 centroids' by broadcast.
// (`enable subgroups;` is omitted on purpose: naga 30 rejects it; the feature is requested.)

// Takes centroid c at distance `dist` when it lies in the dispatch's range and is nearer.
fn consider(best: ptr<function, f32>, best_c: ptr<function, u32>, dist: f32, c: u32) {
    if c < shape.end_centroid && dist < *best {
        *best = dist;
        *best_c = c;
    }
}

@compute @workgroup_size(8)
fn assign_subgroup8(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(subgroup_invocation_id) lane: u32,
) {
    let r = gid.z;
    // The whole subgroup is one workgroup, of one restart: it skips together.
    if skipped(r) {
        return;
    }
    let i = gid.y * (ROW * 8u) + gid.x;
    // Lanes past the last point compute on point 0 and store nothing: every lane must take
    // part in the broadcasts.
    let valid = i < shape.n;
    let point = select(0u, i, valid) * shape.d;
    let at = r * shape.n + i;
    let base = r * shape.k * shape.d;
    var best = 3.4e38;
    var best_c = 0u;
    if valid && shape.first_centroid > 0u {
        best = distances[at];
        best_c = labels[at];
    }
    for (var c0 = shape.first_centroid; c0 < shape.end_centroid; c0 += 8u) {
        // This lane loads centroid c0 + lane (the last one again past the range's end).
        let mine = base + min(c0 + lane, shape.end_centroid - 1u) * shape.d;
        var d0 = 0.0;
        var d1 = 0.0;
        var d2 = 0.0;
        var d3 = 0.0;
        var d4 = 0.0;
        var d5 = 0.0;
        var d6 = 0.0;
        var d7 = 0.0;
        for (var j = 0u; j < shape.d; j++) {
            let x = points[point + j];
            let v = centroids[mine + j];
            let e0 = x - subgroupBroadcast(v, 0u);
            d0 = fma(e0, e0, d0);
            let e1 = x - subgroupBroadcast(v, 1u);
            d1 = fma(e1, e1, d1);
            let e2 = x - subgroupBroadcast(v, 2u);
            d2 = fma(e2, e2, d2);
            let e3 = x - subgroupBroadcast(v, 3u);
            d3 = fma(e3, e3, d3);
            let e4 = x - subgroupBroadcast(v, 4u);
            d4 = fma(e4, e4, d4);
            let e5 = x - subgroupBroadcast(v, 5u);
            d5 = fma(e5, e5, d5);
            let e6 = x - subgroupBroadcast(v, 6u);
            d6 = fma(e6, e6, d6);
            let e7 = x - subgroupBroadcast(v, 7u);
            d7 = fma(e7, e7, d7);
        }
        // In centroid order, so that ties go to the lower index.
        consider(&best, &best_c, d0, c0);
        consider(&best, &best_c, d1, c0 + 1u);
        consider(&best, &best_c, d2, c0 + 2u);
        consider(&best, &best_c, d3, c0 + 3u);
        consider(&best, &best_c, d4, c0 + 4u);
        consider(&best, &best_c, d5, c0 + 5u);
        consider(&best, &best_c, d6, c0 + 6u);
        consider(&best, &best_c, d7, c0 + 7u);
    }
    if valid {
        labels[at] = best_c;
        distances[at] = best;
    }
}
