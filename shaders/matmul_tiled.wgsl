// Matmul for hardware GPUs: the classic shared-memory tiling. A workgroup of 8 x 8
// invocations computes a 32 x 32 tile of C. Per step of 32 along K, the workgroup stages a
// 32 x 32 tile of op(A) and of op(B) in workgroup memory (each invocation loads 4 vec4s of
// each, coalesced along the stored rows), then each invocation accumulates its 4 x 4 block
// from workgroup memory as outer products.

// a_tile[k][m] and b_tile[k][n], both k-major so the inner loop reads vec4s along m and n.
var<workgroup> a_tile: array<array<vec4<f32>, 8>, 32>;
var<workgroup> b_tile: array<array<vec4<f32>, 8>, 32>;

// Stages op(A)[row0.., k0..] and op(B)[k0.., col0..] for a 32-wide step of K.
fn stage(row0: u32, col0: u32, k0: u32, tx: u32, ty: u32) {
    for (var i = 0u; i < 4u; i++) {
        // Each invocation loads row `kk` = ty * 4 + i of the tile, vec4 column tx.
        let kk = ty * 4u + i;
        if TRANS_A {
            // Stored K x M: row k0 + kk, columns row0 + 4 tx.. are a vec4 along m.
            let at = (k0 + kk) * dims.m + row0 + tx * 4u;
            a_tile[kk][tx] = vec4(a[at / 4u]);
        } else {
            // Stored M x K: read 4 rows of A at column k0 + kk.
            let at = (row0 + tx * 4u) * dims.k + k0 + kk;
            a_tile[kk][tx] = vec4(
                a[at / 4u][at % 4u],
                a[(at + dims.k) / 4u][(at + dims.k) % 4u],
                a[(at + 2u * dims.k) / 4u][(at + 2u * dims.k) % 4u],
                a[(at + 3u * dims.k) / 4u][(at + 3u * dims.k) % 4u],
            );
        }
    }
    // op(B): tile row kk, column group tx.
    let q = load_b4(k0 + ty * 4u, col0 / 4u + tx);
    b_tile[ty * 4u][tx] = q.r0;
    b_tile[ty * 4u + 1u][tx] = q.r1;
    b_tile[ty * 4u + 2u][tx] = q.r2;
    b_tile[ty * 4u + 3u][tx] = q.r3;
}

@compute @workgroup_size(8, 8)
fn matmul(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let row0 = wg.y * 32u;
    let col0 = wg.x * 32u;
    var c0 = vec4(0.0);
    var c1 = vec4(0.0);
    var c2 = vec4(0.0);
    var c3 = vec4(0.0);
    for (var k0 = 0u; k0 < dims.k; k0 += 32u) {
        stage(row0, col0, k0, lid.x, lid.y);
        workgroupBarrier();
        for (var kk = 0u; kk < 32u; kk++) {
            let av = a_tile[kk][lid.y];
            let bv = b_tile[kk][lid.x];
            c0 = fma(vec4(av.x), bv, c0);
            c1 = fma(vec4(av.y), bv, c1);
            c2 = fma(vec4(av.z), bv, c2);
            c3 = fma(vec4(av.w), bv, c3);
        }
        workgroupBarrier();
    }
    let r = row0 + lid.y * 4u;
    let col4 = wg.x * 8u + lid.x;
    store_c(r, col4, c0);
    store_c(r + 1u, col4, c1);
    store_c(r + 2u, col4, c2);
    store_c(r + 3u, col4, c3);
}
