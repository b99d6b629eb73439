// The centres' gradient over a batch, dL/dc_j = -sum_rows coefficients[row * k + j]
// (z_row - c_j), one invocation per centre value, summing the valid rows in order.

@group(0) @binding(4) var<storage, read> coefficients: array<f32>;
@group(0) @binding(5) var<storage, read_write> centre_grads: array<f32>;

@compute @workgroup_size(64)
fn centre_grad(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if i >= shape.clusters * shape.dims {
        return;
    }
    let j = i / shape.dims;
    let d = i % shape.dims;
    var sum = 0.0;
    for (var row = 0u; row < step.rows; row++) {
        let e = codes[row * shape.stride + d] - centres[i];
        sum += coefficients[row * shape.clusters + j] * e;
    }
    centre_grads[i] = -sum;
}
