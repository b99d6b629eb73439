// Each row's loss KL(p || q) into losses[step.loss_offset + row] (NaN when its code is not
// finite), its gradient into grad (zero in the padding rows and columns), and its
// coefficients 2 t_j (p_j - q_j) / rows into coefficients[row * k + j] (zero in the padding
// rows) for the centres' gradient; the target p comes from soft and mass of the row's
// sample, order[step.first + row].

@group(0) @binding(4) var<storage, read> soft: array<f32>;
@group(0) @binding(5) var<storage, read> mass: array<f32>;
@group(0) @binding(6) var<storage, read> order: array<u32>;
@group(0) @binding(7) var<storage, read_write> grad: array<f32>;
@group(0) @binding(8) var<storage, read_write> losses: array<f32>;
@group(0) @binding(9) var<storage, read_write> coefficients: array<f32>;

// s^2 / f, zero for a centre without mass.
fn target_weight(sample: u32, j: u32) -> f32 {
    let f = mass[j];
    if f <= 0.0 {
        return 0.0;
    }
    let s = soft[sample * shape.clusters + j];
    return s * s / f;
}

// By the exponent bits: drivers may assume floats are never NaN.
fn non_finite(x: f32) -> bool {
    return (bitcast<u32>(x) & 0x7f800000u) == 0x7f800000u;
}

@compute @workgroup_size(64)
fn dec_loss(@builtin(global_invocation_id) gid: vec3<u32>) {
    let row = gid.x;
    if row >= shape.rows {
        return;
    }
    for (var d = 0u; d < shape.stride; d++) {
        grad[row * shape.stride + d] = 0.0;
    }
    if row >= step.rows {
        for (var j = 0u; j < shape.clusters; j++) {
            coefficients[row * shape.clusters + j] = 0.0;
        }
        return;
    }
    let sample = order[step.first + row];
    var weights = 0.0;
    for (var j = 0u; j < shape.clusters; j++) {
        weights += target_weight(sample, j);
    }
    let kernels = kernel_sum(row);
    let scale = 2.0 / f32(step.rows);
    var loss = 0.0;
    for (var j = 0u; j < shape.clusters; j++) {
        let t = kernel_to(row, j);
        let q = t / kernels;
        let p = target_weight(sample, j) / weights;
        if p > 0.0 {
            loss += p * log(p / q);
        }
        let coefficient = scale * t * (p - q);
        coefficients[row * shape.clusters + j] = coefficient;
        for (var d = 0u; d < shape.dims; d++) {
            let at = row * shape.stride + d;
            grad[at] += coefficient * (codes[at] - centres[j * shape.dims + d]);
        }
    }
    var bad = false;
    for (var d = 0u; d < shape.dims; d++) {
        bad = bad || non_finite(codes[row * shape.stride + d]);
    }
    if bad {
        loss = bitcast<f32>(0x7fc00000u);
    }
    losses[step.loss_offset + row] = loss;
}
