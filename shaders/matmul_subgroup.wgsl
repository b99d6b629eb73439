// Matmul for adapters with 8-wide subgroups (tuned on lavapipe, where a workgroup's lanes are
// SIMD lanes of one CPU thread and every per-lane load is a scalar loop, so loads are what
// costs). One workgroup is one subgroup and computes a 16 x 32 tile of C; each lane owns a
// 16 x 4 block. Each lane loads a quarter of the A tile as four vec4s and the lanes trade
// them by broadcast. No shared memory and no barriers, which are slow there.
// (`enable subgroups;` is omitted on purpose: naga 30 rejects it; the feature is requested.)

// op(A)[row, k0..k0+4] and op(A)[row, k0+4..k0+8].
struct Pair {
    lo: vec4<f32>,
    hi: vec4<f32>,
}

// acc + op(A)[row, k0..k0+8] * op(B)[k0..k0+8, this lane's 4 columns].
fn row_update(acc: vec4<f32>, x: Pair, lo: Quad, hi: Quad) -> vec4<f32> {
    var s = fma(vec4(x.lo.x), lo.r0, acc);
    s = fma(vec4(x.lo.y), lo.r1, s);
    s = fma(vec4(x.lo.z), lo.r2, s);
    s = fma(vec4(x.lo.w), lo.r3, s);
    s = fma(vec4(x.hi.x), hi.r0, s);
    s = fma(vec4(x.hi.y), hi.r1, s);
    s = fma(vec4(x.hi.z), hi.r2, s);
    return fma(vec4(x.hi.w), hi.r3, s);
}

// A stored transposed: lane j holds op(A)[r..r+4, k0 + j] in `t`; returns those 4 rows.
fn transposed_rows(t: vec4<f32>) -> array<Pair, 4> {
    let v0 = subgroupBroadcast(t, 0u);
    let v1 = subgroupBroadcast(t, 1u);
    let v2 = subgroupBroadcast(t, 2u);
    let v3 = subgroupBroadcast(t, 3u);
    let v4 = subgroupBroadcast(t, 4u);
    let v5 = subgroupBroadcast(t, 5u);
    let v6 = subgroupBroadcast(t, 6u);
    let v7 = subgroupBroadcast(t, 7u);
    return array<Pair, 4>(
        Pair(vec4(v0.x, v1.x, v2.x, v3.x), vec4(v4.x, v5.x, v6.x, v7.x)),
        Pair(vec4(v0.y, v1.y, v2.y, v3.y), vec4(v4.y, v5.y, v6.y, v7.y)),
        Pair(vec4(v0.z, v1.z, v2.z, v3.z), vec4(v4.z, v5.z, v6.z, v7.z)),
        Pair(vec4(v0.w, v1.w, v2.w, v3.w), vec4(v4.w, v5.w, v6.w, v7.w)),
    );
}

// The 16 x 8 tile of op(A) at rows r.., columns k0.. as 16 row pairs, 4 vec4 loads per lane.
fn a_tile(r: u32, k0: u32, lane: u32) -> array<Pair, 16> {
    if TRANS_A {
        // Lane j loads stored row k0 + j, columns r..r+16.
        let at = ((k0 + lane) * dims.m + r) / 4u;
        let q0 = transposed_rows(a[at]);
        let q1 = transposed_rows(a[at + 1u]);
        let q2 = transposed_rows(a[at + 2u]);
        let q3 = transposed_rows(a[at + 3u]);
        return array<Pair, 16>(
            q0[0], q0[1], q0[2], q0[3], q1[0], q1[1], q1[2], q1[3],
            q2[0], q2[1], q2[2], q2[3], q3[0], q3[1], q3[2], q3[3],
        );
    }
    // Lane j loads rows r + 2j and r + 2j + 1 at k0..k0+8.
    let at = ((r + 2u * lane) * dims.k + k0) / 4u;
    let row = dims.k / 4u;
    let e = Pair(a[at], a[at + 1u]);
    let o = Pair(a[at + row], a[at + row + 1u]);
    return array<Pair, 16>(
        Pair(subgroupBroadcast(e.lo, 0u), subgroupBroadcast(e.hi, 0u)),
        Pair(subgroupBroadcast(o.lo, 0u), subgroupBroadcast(o.hi, 0u)),
        Pair(subgroupBroadcast(e.lo, 1u), subgroupBroadcast(e.hi, 1u)),
        Pair(subgroupBroadcast(o.lo, 1u), subgroupBroadcast(o.hi, 1u)),
        Pair(subgroupBroadcast(e.lo, 2u), subgroupBroadcast(e.hi, 2u)),
        Pair(subgroupBroadcast(o.lo, 2u), subgroupBroadcast(o.hi, 2u)),
        Pair(subgroupBroadcast(e.lo, 3u), subgroupBroadcast(e.hi, 3u)),
        Pair(subgroupBroadcast(o.lo, 3u), subgroupBroadcast(o.hi, 3u)),
        Pair(subgroupBroadcast(e.lo, 4u), subgroupBroadcast(e.hi, 4u)),
        Pair(subgroupBroadcast(o.lo, 4u), subgroupBroadcast(o.hi, 4u)),
        Pair(subgroupBroadcast(e.lo, 5u), subgroupBroadcast(e.hi, 5u)),
        Pair(subgroupBroadcast(o.lo, 5u), subgroupBroadcast(o.hi, 5u)),
        Pair(subgroupBroadcast(e.lo, 6u), subgroupBroadcast(e.hi, 6u)),
        Pair(subgroupBroadcast(o.lo, 6u), subgroupBroadcast(o.hi, 6u)),
        Pair(subgroupBroadcast(e.lo, 7u), subgroupBroadcast(e.hi, 7u)),
        Pair(subgroupBroadcast(o.lo, 7u), subgroupBroadcast(o.hi, 7u)),
    );
}

@compute @workgroup_size(8)
fn matmul(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(subgroup_invocation_id) lane: u32,
) {
    let col4 = wg.x * 8u + lane;
    let r = wg.y * 16u;
    var c0 = vec4(0.0); var c1 = vec4(0.0); var c2 = vec4(0.0); var c3 = vec4(0.0);
    var c4 = vec4(0.0); var c5 = vec4(0.0); var c6 = vec4(0.0); var c7 = vec4(0.0);
    var c8 = vec4(0.0); var c9 = vec4(0.0); var c10 = vec4(0.0); var c11 = vec4(0.0);
    var c12 = vec4(0.0); var c13 = vec4(0.0); var c14 = vec4(0.0); var c15 = vec4(0.0);
    for (var k0 = 0u; k0 < dims.k; k0 += 8u) {
        let lo = load_b4(k0, col4);
        let hi = load_b4(k0 + 4u, col4);
        let x = a_tile(r, k0, lane);
        c0 = row_update(c0, x[0], lo, hi);
        c1 = row_update(c1, x[1], lo, hi);
        c2 = row_update(c2, x[2], lo, hi);
        c3 = row_update(c3, x[3], lo, hi);
        c4 = row_update(c4, x[4], lo, hi);
        c5 = row_update(c5, x[5], lo, hi);
        c6 = row_update(c6, x[6], lo, hi);
        c7 = row_update(c7, x[7], lo, hi);
        c8 = row_update(c8, x[8], lo, hi);
        c9 = row_update(c9, x[9], lo, hi);
        c10 = row_update(c10, x[10], lo, hi);
        c11 = row_update(c11, x[11], lo, hi);
        c12 = row_update(c12, x[12], lo, hi);
        c13 = row_update(c13, x[13], lo, hi);
        c14 = row_update(c14, x[14], lo, hi);
        c15 = row_update(c15, x[15], lo, hi);
    }
    store_c(r, col4, c0); store_c(r + 1u, col4, c1);
    store_c(r + 2u, col4, c2); store_c(r + 3u, col4, c3);
    store_c(r + 4u, col4, c4); store_c(r + 5u, col4, c5);
    store_c(r + 6u, col4, c6); store_c(r + 7u, col4, c7);
    store_c(r + 8u, col4, c8); store_c(r + 9u, col4, c9);
    store_c(r + 10u, col4, c10); store_c(r + 11u, col4, c11);
    store_c(r + 12u, col4, c12); store_c(r + 13u, col4, c13);
    store_c(r + 14u, col4, c14); store_c(r + 15u, col4, c15);
}
