// Matmul for adapters with 8-wide subgroups (tuned on lavapipe, where a workgroup's lanes are
// SIMD lanes of one CPU thread and every per-lane load is a scalar loop, so loads are what
// costs). One workgroup is one subgroup and computes a 32 x 32 tile of C; each lane owns a
// 32 x 4 block (32 accumulators: spills are cheap there, loads are not). Each lane loads an
// eighth of the A tile as eight vec4s and the lanes trade them by broadcast. No shared
// memory and no barriers, which are slow there.
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

// The 32 x 8 tile of op(A) at rows r.., columns k0.. as 32 row pairs, 8 vec4 loads per lane.
fn a_tile(r: u32, k0: u32, lane: u32) -> array<Pair, 32> {
    if TRANS_A {
        // Lane j loads stored row k0 + j, columns r..r+32.
        let at = ((k0 + lane) * dims.m + r) / 4u;
        let q0 = transposed_rows(a[at + 0u]);
        let q1 = transposed_rows(a[at + 1u]);
        let q2 = transposed_rows(a[at + 2u]);
        let q3 = transposed_rows(a[at + 3u]);
        let q4 = transposed_rows(a[at + 4u]);
        let q5 = transposed_rows(a[at + 5u]);
        let q6 = transposed_rows(a[at + 6u]);
        let q7 = transposed_rows(a[at + 7u]);
        return array<Pair, 32>(
            q0[0], q0[1], q0[2], q0[3],
            q1[0], q1[1], q1[2], q1[3],
            q2[0], q2[1], q2[2], q2[3],
            q3[0], q3[1], q3[2], q3[3],
            q4[0], q4[1], q4[2], q4[3],
            q5[0], q5[1], q5[2], q5[3],
            q6[0], q6[1], q6[2], q6[3],
            q7[0], q7[1], q7[2], q7[3],
        );
    }
    // Lane j loads rows r + 4j .. r + 4j + 3 at k0..k0+8.
    let row = dims.k / 4u;
    let at = ((r + 4u * lane) * dims.k + k0) / 4u;
    let x0 = Pair(a[at], a[at + 1u]);
    let x1 = Pair(a[at + row], a[at + row + 1u]);
    let x2 = Pair(a[at + 2u * row], a[at + 2u * row + 1u]);
    let x3 = Pair(a[at + 3u * row], a[at + 3u * row + 1u]);
    return array<Pair, 32>(
        Pair(subgroupBroadcast(x0.lo, 0u), subgroupBroadcast(x0.hi, 0u)),
        Pair(subgroupBroadcast(x1.lo, 0u), subgroupBroadcast(x1.hi, 0u)),
        Pair(subgroupBroadcast(x2.lo, 0u), subgroupBroadcast(x2.hi, 0u)),
        Pair(subgroupBroadcast(x3.lo, 0u), subgroupBroadcast(x3.hi, 0u)),
        Pair(subgroupBroadcast(x0.lo, 1u), subgroupBroadcast(x0.hi, 1u)),
        Pair(subgroupBroadcast(x1.lo, 1u), subgroupBroadcast(x1.hi, 1u)),
        Pair(subgroupBroadcast(x2.lo, 1u), subgroupBroadcast(x2.hi, 1u)),
        Pair(subgroupBroadcast(x3.lo, 1u), subgroupBroadcast(x3.hi, 1u)),
        Pair(subgroupBroadcast(x0.lo, 2u), subgroupBroadcast(x0.hi, 2u)),
        Pair(subgroupBroadcast(x1.lo, 2u), subgroupBroadcast(x1.hi, 2u)),
        Pair(subgroupBroadcast(x2.lo, 2u), subgroupBroadcast(x2.hi, 2u)),
        Pair(subgroupBroadcast(x3.lo, 2u), subgroupBroadcast(x3.hi, 2u)),
        Pair(subgroupBroadcast(x0.lo, 3u), subgroupBroadcast(x0.hi, 3u)),
        Pair(subgroupBroadcast(x1.lo, 3u), subgroupBroadcast(x1.hi, 3u)),
        Pair(subgroupBroadcast(x2.lo, 3u), subgroupBroadcast(x2.hi, 3u)),
        Pair(subgroupBroadcast(x3.lo, 3u), subgroupBroadcast(x3.hi, 3u)),
        Pair(subgroupBroadcast(x0.lo, 4u), subgroupBroadcast(x0.hi, 4u)),
        Pair(subgroupBroadcast(x1.lo, 4u), subgroupBroadcast(x1.hi, 4u)),
        Pair(subgroupBroadcast(x2.lo, 4u), subgroupBroadcast(x2.hi, 4u)),
        Pair(subgroupBroadcast(x3.lo, 4u), subgroupBroadcast(x3.hi, 4u)),
        Pair(subgroupBroadcast(x0.lo, 5u), subgroupBroadcast(x0.hi, 5u)),
        Pair(subgroupBroadcast(x1.lo, 5u), subgroupBroadcast(x1.hi, 5u)),
        Pair(subgroupBroadcast(x2.lo, 5u), subgroupBroadcast(x2.hi, 5u)),
        Pair(subgroupBroadcast(x3.lo, 5u), subgroupBroadcast(x3.hi, 5u)),
        Pair(subgroupBroadcast(x0.lo, 6u), subgroupBroadcast(x0.hi, 6u)),
        Pair(subgroupBroadcast(x1.lo, 6u), subgroupBroadcast(x1.hi, 6u)),
        Pair(subgroupBroadcast(x2.lo, 6u), subgroupBroadcast(x2.hi, 6u)),
        Pair(subgroupBroadcast(x3.lo, 6u), subgroupBroadcast(x3.hi, 6u)),
        Pair(subgroupBroadcast(x0.lo, 7u), subgroupBroadcast(x0.hi, 7u)),
        Pair(subgroupBroadcast(x1.lo, 7u), subgroupBroadcast(x1.hi, 7u)),
        Pair(subgroupBroadcast(x2.lo, 7u), subgroupBroadcast(x2.hi, 7u)),
        Pair(subgroupBroadcast(x3.lo, 7u), subgroupBroadcast(x3.hi, 7u)),
    );
}

@compute @workgroup_size(8)
fn matmul(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(subgroup_invocation_id) lane: u32,
) {
    let col4 = wg.x * 8u + lane;
    let r = wg.y * 32u;
    var c: array<vec4<f32>, 32>;
    for (var k0 = 0u; k0 < dims.k; k0 += 8u) {
        let lo = load_b4(k0, col4);
        let hi = load_b4(k0 + 4u, col4);
        let x = a_tile(r, k0, lane);
        c[0] = row_update(c[0], x[0], lo, hi);
        c[1] = row_update(c[1], x[1], lo, hi);
        c[2] = row_update(c[2], x[2], lo, hi);
        c[3] = row_update(c[3], x[3], lo, hi);
        c[4] = row_update(c[4], x[4], lo, hi);
        c[5] = row_update(c[5], x[5], lo, hi);
        c[6] = row_update(c[6], x[6], lo, hi);
        c[7] = row_update(c[7], x[7], lo, hi);
        c[8] = row_update(c[8], x[8], lo, hi);
        c[9] = row_update(c[9], x[9], lo, hi);
        c[10] = row_update(c[10], x[10], lo, hi);
        c[11] = row_update(c[11], x[11], lo, hi);
        c[12] = row_update(c[12], x[12], lo, hi);
        c[13] = row_update(c[13], x[13], lo, hi);
        c[14] = row_update(c[14], x[14], lo, hi);
        c[15] = row_update(c[15], x[15], lo, hi);
        c[16] = row_update(c[16], x[16], lo, hi);
        c[17] = row_update(c[17], x[17], lo, hi);
        c[18] = row_update(c[18], x[18], lo, hi);
        c[19] = row_update(c[19], x[19], lo, hi);
        c[20] = row_update(c[20], x[20], lo, hi);
        c[21] = row_update(c[21], x[21], lo, hi);
        c[22] = row_update(c[22], x[22], lo, hi);
        c[23] = row_update(c[23], x[23], lo, hi);
        c[24] = row_update(c[24], x[24], lo, hi);
        c[25] = row_update(c[25], x[25], lo, hi);
        c[26] = row_update(c[26], x[26], lo, hi);
        c[27] = row_update(c[27], x[27], lo, hi);
        c[28] = row_update(c[28], x[28], lo, hi);
        c[29] = row_update(c[29], x[29], lo, hi);
        c[30] = row_update(c[30], x[30], lo, hi);
        c[31] = row_update(c[31], x[31], lo, hi);
    }
    store_c(r + 0u, col4, c[0]); store_c(r + 1u, col4, c[1]);
    store_c(r + 2u, col4, c[2]); store_c(r + 3u, col4, c[3]);
    store_c(r + 4u, col4, c[4]); store_c(r + 5u, col4, c[5]);
    store_c(r + 6u, col4, c[6]); store_c(r + 7u, col4, c[7]);
    store_c(r + 8u, col4, c[8]); store_c(r + 9u, col4, c[9]);
    store_c(r + 10u, col4, c[10]); store_c(r + 11u, col4, c[11]);
    store_c(r + 12u, col4, c[12]); store_c(r + 13u, col4, c[13]);
    store_c(r + 14u, col4, c[14]); store_c(r + 15u, col4, c[15]);
    store_c(r + 16u, col4, c[16]); store_c(r + 17u, col4, c[17]);
    store_c(r + 18u, col4, c[18]); store_c(r + 19u, col4, c[19]);
    store_c(r + 20u, col4, c[20]); store_c(r + 21u, col4, c[21]);
    store_c(r + 22u, col4, c[22]); store_c(r + 23u, col4, c[23]);
    store_c(r + 24u, col4, c[24]); store_c(r + 25u, col4, c[25]);
    store_c(r + 26u, col4, c[26]); store_c(r + 27u, col4, c[27]);
    store_c(r + 28u, col4, c[28]); store_c(r + 29u, col4, c[29]);
    store_c(r + 30u, col4, c[30]); store_c(r + 31u, col4, c[31]);
}
