// Matmul for adapters with 8-wide subgroups (tuned on lavapipe, where a workgroup's lanes are
// SIMD lanes of one CPU thread and every per-lane load is a scalar loop). One workgroup is one
// subgroup and computes a 16 x 32 tile of C; each lane owns a 16 x 4 block. Lane i loads
// op(A)[r, k0 + i] once and the other lanes get it by broadcast: 8x fewer A loads.
// No shared memory and no barriers, which are slow there.
// (`enable subgroups;` is omitted on purpose: naga 30 rejects it; the feature is requested.)

// acc + op(A)[r, k0..k0+8] * op(B)[k0..k0+8, lane's 4 columns], where lane j holds
// op(A)[r, k0 + j] in `x`.
fn row_update(acc: vec4<f32>, x: f32, lo: Quad, hi: Quad) -> vec4<f32> {
    var s = fma(vec4(subgroupBroadcast(x, 0u)), lo.r0, acc);
    s = fma(vec4(subgroupBroadcast(x, 1u)), lo.r1, s);
    s = fma(vec4(subgroupBroadcast(x, 2u)), lo.r2, s);
    s = fma(vec4(subgroupBroadcast(x, 3u)), lo.r3, s);
    s = fma(vec4(subgroupBroadcast(x, 4u)), hi.r0, s);
    s = fma(vec4(subgroupBroadcast(x, 5u)), hi.r1, s);
    s = fma(vec4(subgroupBroadcast(x, 6u)), hi.r2, s);
    return fma(vec4(subgroupBroadcast(x, 7u)), hi.r3, s);
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
        let k = k0 + lane;
        c0 = row_update(c0, load_a(r, k), lo, hi);
        c1 = row_update(c1, load_a(r + 1u, k), lo, hi);
        c2 = row_update(c2, load_a(r + 2u, k), lo, hi);
        c3 = row_update(c3, load_a(r + 3u, k), lo, hi);
        c4 = row_update(c4, load_a(r + 4u, k), lo, hi);
        c5 = row_update(c5, load_a(r + 5u, k), lo, hi);
        c6 = row_update(c6, load_a(r + 6u, k), lo, hi);
        c7 = row_update(c7, load_a(r + 7u, k), lo, hi);
        c8 = row_update(c8, load_a(r + 8u, k), lo, hi);
        c9 = row_update(c9, load_a(r + 9u, k), lo, hi);
        c10 = row_update(c10, load_a(r + 10u, k), lo, hi);
        c11 = row_update(c11, load_a(r + 11u, k), lo, hi);
        c12 = row_update(c12, load_a(r + 12u, k), lo, hi);
        c13 = row_update(c13, load_a(r + 13u, k), lo, hi);
        c14 = row_update(c14, load_a(r + 14u, k), lo, hi);
        c15 = row_update(c15, load_a(r + 15u, k), lo, hi);
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
