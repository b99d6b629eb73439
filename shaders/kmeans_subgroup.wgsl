// The k-means kernels for adapters with 8-wide subgroups (lavapipe), where a workgroup's
// lanes are SIMD lanes of one CPU thread and every per-lane load is a scalar loop, so loads
// are what costs. They give the same labels, distances and sums, bit for bit, as `assign`
// and `partial_sums` in kmeans.wgsl, with far fewer loads.
// (`enable subgroups;` is omitted on purpose: naga 30 rejects it; the feature is requested.)

// Takes centroid c at distance `dist` when it lies in the dispatch's range and is nearer.
fn consider(best: ptr<function, f32>, best_c: ptr<function, u32>, dist: f32, c: u32) {
    if c < shape.end_centroid && dist < *best {
        *best = dist;
        *best_c = c;
    }
}

// `assign`: one workgroup is one subgroup of 8 points; the lanes walk 16 centroids at once:
// per 4 dimensions each lane loads its point's vec4 and two centroids' (c0 + lane and
// c0 + 8 + lane, the second only when the range holds more than 8), and gets the other
// centroids' by broadcast, so a point's vec4 is loaded once per 16 centroids. Each distance
// is the same sum of squares as in `assign`.
@compute @workgroup_size(8)
fn assign_subgroup8(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(subgroup_invocation_id) lane: u32,
) {
    let r = running(gid.z);
    // The whole subgroup is one workgroup, of one restart: it skips together.
    if skipped(r) {
        return;
    }
    let i = gid.y * (ROW * 8u) + gid.x;
    // Lanes past the last point compute on point 0 and store nothing: every lane must take
    // part in the broadcasts.
    let valid = i < shape.n;
    let row = quads();
    let point = select(0u, i, valid) * row;
    let at = r * shape.n + i;
    let base = r * shape.k * row;
    let last = shape.end_centroid - 1u;
    var best = 3.4e38;
    var best_c = 0u;
    if valid && shape.first_centroid > 0u {
        best = distances[at];
        best_c = labels[at];
    }
    for (var c0 = shape.first_centroid; c0 < shape.end_centroid; c0 += 16u) {
        // This lane loads centroids c0 + lane and c0 + 8 + lane (the last one again past the
        // range's end); the second eight exist when c0 + 8 is inside the range.
        let mine = base + min(c0 + lane, last) * row;
        let theirs = base + min(c0 + 8u + lane, last) * row;
        let sixteen = c0 + 8u <= last;
        var d0 = 0.0;
        var d1 = 0.0;
        var d2 = 0.0;
        var d3 = 0.0;
        var d4 = 0.0;
        var d5 = 0.0;
        var d6 = 0.0;
        var d7 = 0.0;
        var d8 = 0.0;
        var d9 = 0.0;
        var d10 = 0.0;
        var d11 = 0.0;
        var d12 = 0.0;
        var d13 = 0.0;
        var d14 = 0.0;
        var d15 = 0.0;
        for (var q = 0u; q < row; q++) {
            let x = points[point + q];
            let v = centroids[mine + q];
            d0 = add_squares(d0, x - subgroupBroadcast(v, 0u));
            d1 = add_squares(d1, x - subgroupBroadcast(v, 1u));
            d2 = add_squares(d2, x - subgroupBroadcast(v, 2u));
            d3 = add_squares(d3, x - subgroupBroadcast(v, 3u));
            d4 = add_squares(d4, x - subgroupBroadcast(v, 4u));
            d5 = add_squares(d5, x - subgroupBroadcast(v, 5u));
            d6 = add_squares(d6, x - subgroupBroadcast(v, 6u));
            d7 = add_squares(d7, x - subgroupBroadcast(v, 7u));
            if sixteen {
                let w = centroids[theirs + q];
                d8 = add_squares(d8, x - subgroupBroadcast(w, 0u));
                d9 = add_squares(d9, x - subgroupBroadcast(w, 1u));
                d10 = add_squares(d10, x - subgroupBroadcast(w, 2u));
                d11 = add_squares(d11, x - subgroupBroadcast(w, 3u));
                d12 = add_squares(d12, x - subgroupBroadcast(w, 4u));
                d13 = add_squares(d13, x - subgroupBroadcast(w, 5u));
                d14 = add_squares(d14, x - subgroupBroadcast(w, 6u));
                d15 = add_squares(d15, x - subgroupBroadcast(w, 7u));
            }
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
        if sixteen {
            consider(&best, &best_c, d8, c0 + 8u);
            consider(&best, &best_c, d9, c0 + 9u);
            consider(&best, &best_c, d10, c0 + 10u);
            consider(&best, &best_c, d11, c0 + 11u);
            consider(&best, &best_c, d12, c0 + 12u);
            consider(&best, &best_c, d13, c0 + 13u);
            consider(&best, &best_c, d14, c0 + 14u);
            consider(&best, &best_c, d15, c0 + 15u);
        }
    }
    if valid {
        labels[at] = best_c;
        distances[at] = best;
    }
}

// `partial_sums` for up to a few dozen clusters: one workgroup is one subgroup whose lanes
// hold 4 dimensions in each of SLOTS slots (1 to 4, declared by the host: 32 SLOTS
// dimensions per workgroup). The lanes keep the chunk's
// labels, 8 points a lane-row, and walk the clusters in turn: a ballot per 8 points finds
// the cluster's members, whose rows are then added in point order, as in `partial_sums`. So
// every row is loaded once per workgroup as vec4s, and no sum is kept in an indexed array
// (which lavapipe turns into gathers and scatters). The member count is exact either way.
@compute @workgroup_size(8)
fn partial_sums_subgroup8(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(subgroup_invocation_id) lane: u32,
) {
    let chunk = group.y;
    let r = running(group.z);
    if skipped(r) {
        return;
    }
    let row = quads();
    // Slot s holds quad q0 + 8 s; a slot past the row's end for every lane is skipped, and a
    // lane past it loads the row's last vec4 and stores nothing.
    let q0 = group.x * 8u * SLOTS + lane;
    let slots = min(SLOTS, (row - group.x * 8u * SLOTS + 7u) / 8u);
    let last = row - 1u;
    let first = chunk * CHUNK;
    let end = min(shape.n, first + CHUNK);
    let blocks = (end - first + 7u) / 8u;
    // Point first + 8 b + lane's label, or k (no cluster) past the chunk's end.
    var mine: array<u32, CHUNK / 8u>;
    for (var b = 0u; b < blocks; b++) {
        let i = first + 8u * b + lane;
        mine[b] = select(shape.k, labels[r * shape.n + min(i, end - 1u)], i < end);
    }
    let base = r * shape.chunks * shape.k;
    for (var c = 0u; c < shape.k; c++) {
        var sum0 = vec4<f32>();
        var sum1 = vec4<f32>();
        var sum2 = vec4<f32>();
        var sum3 = vec4<f32>();
        var count = 0u;
        for (var b = 0u; b < blocks; b++) {
            var members = subgroupBallot(mine[b] == c).x;
            while members != 0u {
                let p = (first + 8u * b + firstTrailingBit(members)) * row;
                sum0 += points[p + min(q0, last)];
                if SLOTS > 1u && slots > 1u {
                    sum1 += points[p + min(q0 + 8u, last)];
                }
                if SLOTS > 2u && slots > 2u {
                    sum2 += points[p + min(q0 + 16u, last)];
                }
                if SLOTS > 3u && slots > 3u {
                    sum3 += points[p + min(q0 + 24u, last)];
                }
                count += 1u;
                members &= members - 1u;
            }
        }
        let at = (base + chunk * shape.k + c) * (shape.d + 1u);
        store_quad(at, q0, sum0);
        if SLOTS > 1u {
            store_quad(at, q0 + 8u, sum1);
        }
        if SLOTS > 2u {
            store_quad(at, q0 + 16u, sum2);
        }
        if SLOTS > 3u {
            store_quad(at, q0 + 24u, sum3);
        }
        if q0 == 0u {
            partials[at + shape.d] = f32(count);
        }
    }
}

// Quad q of the partial sums' row at `at`, when q is inside the row.
fn store_quad(at: u32, q: u32, sum: vec4<f32>) {
    if q < quads() {
        partials[at + 4u * q] = sum.x;
        partials[at + 4u * q + 1u] = sum.y;
        partials[at + 4u * q + 2u] = sum.z;
        partials[at + 4u * q + 3u] = sum.w;
    }
}
