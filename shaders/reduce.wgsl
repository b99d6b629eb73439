// Column sums of a rows x stride matrix (the bias gradient is the column sum of dL/dz).
// One invocation per column; the order of the sum is fixed, so the result is deterministic.

struct ReduceShape {
    rows: u32,
    stride: u32,
}

@group(0) @binding(0) var<uniform> shape: ReduceShape;
@group(0) @binding(1) var<storage, read> matrix: array<f32>;
@group(0) @binding(2) var<storage, read_write> sums: array<f32>;

@compute @workgroup_size(64)
fn column_sums(@builtin(global_invocation_id) gid: vec3<u32>) {
    let col = gid.x;
    if col >= shape.stride {
        return;
    }
    var s = 0.0;
    for (var r = 0u; r < shape.rows; r++) {
        s += matrix[r * shape.stride + col];
    }
    sums[col] = s;
}
