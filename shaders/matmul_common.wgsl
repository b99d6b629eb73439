// Shared by the matmul variants: C = op(A) * op(B), then an epilogue.
//
// Every matrix is stored row-major, zero-padded so that its row and column counts are
// multiples of 32: M, N and K below are padded sizes and no kernel checks bounds.
// op(A) is M x K, stored K x M when TRANS_A. op(B) is K x N, stored N x K when TRANS_B.

struct Dims {
    m: u32,
    n: u32,
    k: u32,
    _pad: u32,
}

override TRANS_A: bool = false;
override TRANS_B: bool = false;
// 0: none, 1: + bias, 2: relu(+ bias), 3: sigmoid(+ bias), 4: keep where aux > 0 (ReLU backward).
override EPILOGUE: u32 = 0u;

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> b: array<vec4<f32>>;
// The bias (one row of N) or the ReLU mask (M x N, the forward activation), per EPILOGUE.
@group(0) @binding(3) var<storage, read> aux: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> c: array<vec4<f32>>;

fn load_a(row: u32, kk: u32) -> f32 {
    var i = row * dims.k + kk;
    if TRANS_A {
        i = kk * dims.m + row;
    }
    return a[i / 4u][i % 4u];
}

// Four consecutive rows (kk..kk+4) of op(B) at column group `col4` (4 columns).
struct Quad {
    r0: vec4<f32>,
    r1: vec4<f32>,
    r2: vec4<f32>,
    r3: vec4<f32>,
}

// Loops here and in the kernels are unrolled by hand: lavapipe does not unroll them, and a
// loop-indexed array lives in memory rather than in registers.
fn load_b4(kk: u32, col4: u32) -> Quad {
    if TRANS_B {
        // Stored N x K: read 4 stored rows along k and transpose them in registers.
        let stride = dims.k / 4u;
        let at = col4 * 4u * stride + kk / 4u;
        let s0 = b[at];
        let s1 = b[at + stride];
        let s2 = b[at + 2u * stride];
        let s3 = b[at + 3u * stride];
        return Quad(
            vec4(s0.x, s1.x, s2.x, s3.x),
            vec4(s0.y, s1.y, s2.y, s3.y),
            vec4(s0.z, s1.z, s2.z, s3.z),
            vec4(s0.w, s1.w, s2.w, s3.w),
        );
    }
    let stride = dims.n / 4u;
    let at = kk * stride + col4;
    return Quad(b[at], b[at + stride], b[at + 2u * stride], b[at + 3u * stride]);
}

fn epilogue(row: u32, col4: u32, v: vec4<f32>) -> vec4<f32> {
    if EPILOGUE == 1u {
        return v + aux[col4];
    }
    if EPILOGUE == 2u {
        return max(v + aux[col4], vec4(0.0));
    }
    if EPILOGUE == 3u {
        return 1.0 / (1.0 + exp(-(v + aux[col4])));
    }
    if EPILOGUE == 4u {
        return select(vec4(0.0), v, aux[row * (dims.n / 4u) + col4] > vec4(0.0));
    }
    return v;
}

fn store_c(row: u32, col4: u32, v: vec4<f32>) {
    c[row * (dims.n / 4u) + col4] = epilogue(row, col4, v);
}
