// Portable matmul: any adapter, no subgroups. A workgroup of 8 x 8 invocations computes a
// 32 x 32 tile of C; each invocation owns a 4 x 4 block and walks K four at a time.

// acc + op(A)[r, kk..kk+4] * op(B)[kk..kk+4, 4 columns].
fn row_update(acc: vec4<f32>, r: u32, kk: u32, q: Quad) -> vec4<f32> {
    var s = fma(vec4(load_a(r, kk)), q.r0, acc);
    s = fma(vec4(load_a(r, kk + 1u)), q.r1, s);
    s = fma(vec4(load_a(r, kk + 2u)), q.r2, s);
    return fma(vec4(load_a(r, kk + 3u)), q.r3, s);
}

@compute @workgroup_size(8, 8)
fn matmul(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let col4 = wg.x * 8u + lid.x;
    let r = wg.y * 32u + lid.y * 4u;
    var c0 = vec4(0.0);
    var c1 = vec4(0.0);
    var c2 = vec4(0.0);
    var c3 = vec4(0.0);
    for (var kk = 0u; kk < dims.k; kk += 4u) {
        let q = load_b4(kk, col4);
        c0 = row_update(c0, r, kk, q);
        c1 = row_update(c1, r + 1u, kk, q);
        c2 = row_update(c2, r + 2u, kk, q);
        c3 = row_update(c3, r + 3u, kk, q);
    }
    store_c(r, col4, c0);
    store_c(r + 1u, col4, c1);
    store_c(r + 2u, col4, c2);
    store_c(r + 3u, col4, c3);
}
