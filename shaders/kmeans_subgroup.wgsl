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

// The 8 distances `d` of this lane's point to the centroids whose vec4 the 8 lanes hold in
// `v`, each grown by this vec4 of dimensions, x being the point's.
fn add_eight(d: array<f32, 8>, x: vec4<f32>, v: vec4<f32>) -> array<f32, 8> {
    return array<f32, 8>(
        add_squares(d[0], x - subgroupBroadcast(v, 0u)),
        add_squares(d[1], x - subgroupBroadcast(v, 1u)),
        add_squares(d[2], x - subgroupBroadcast(v, 2u)),
        add_squares(d[3], x - subgroupBroadcast(v, 3u)),
        add_squares(d[4], x - subgroupBroadcast(v, 4u)),
        add_squares(d[5], x - subgroupBroadcast(v, 5u)),
        add_squares(d[6], x - subgroupBroadcast(v, 6u)),
        add_squares(d[7], x - subgroupBroadcast(v, 7u)),
    );
}

// `consider` for centroids c0 .. c0 + 7 at distances d, in centroid order, so that ties go
// to the lower index.
fn consider_eight(best: ptr<function, f32>, best_c: ptr<function, u32>, d: array<f32, 8>, c0: u32) {
    consider(best, best_c, d[0], c0);
    consider(best, best_c, d[1], c0 + 1u);
    consider(best, best_c, d[2], c0 + 2u);
    consider(best, best_c, d[3], c0 + 3u);
    consider(best, best_c, d[4], c0 + 4u);
    consider(best, best_c, d[5], c0 + 5u);
    consider(best, best_c, d[6], c0 + 6u);
    consider(best, best_c, d[7], c0 + 7u);
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
        var near = array<f32, 8>();
        var far = array<f32, 8>();
        for (var q = 0u; q < row; q++) {
            let x = points[point + q];
            near = add_eight(near, x, centroids[mine + q]);
            if sixteen {
                far = add_eight(far, x, centroids[theirs + q]);
            }
        }
        consider_eight(&best, &best_c, near, c0);
        if sixteen {
            consider_eight(&best, &best_c, far, c0 + 8u);
        }
    }
    if valid {
        labels[at] = best_c;
        distances[at] = best;
    }
}

// `partial_sums` for up to a few dozen clusters: one workgroup is one subgroup whose lanes
// hold 4 dimensions in each of SLOTS slots (1 to 4, declared by the host: 32 SLOTS
// dimensions per workgroup). The lanes keep the chunk's labels, 8 points a lane-row, and
// walk the clusters in turn: a ballot per 8 points finds the cluster's members, whose rows
// are then added in point order, as in `partial_sums`. So every row is loaded once per
// workgroup as vec4s, and no sum is kept in an indexed array (which lavapipe turns into
// gathers and scatters). The member count is exact either way.
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
