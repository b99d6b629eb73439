// The reconstruction losses, Keras semantics: the loss is the mean over the valid rows and the
// `width` outputs. Each writes dL/d(its input) over the padded batch (zero in the padding) and
// each valid row's mean loss to losses[step.loss_offset + row]. One workgroup per row.
//   bce_sigmoid: fused sigmoid + binary cross-entropy on logits z; predictions are clipped to
//                [1e-7, 1 - 1e-7] for the loss value only; dL/dz = (sigmoid(z) - t) / (rows w).
//   mse:         mean squared error on linear outputs y; dL/dy = 2 (y - t) / (rows w).
// A NaN or infinite input makes its row's loss NaN (the clip alone would hide it), so that the
// host stops training.

struct LossShape {
    width: u32,
    stride: u32,
}

const EPSILON: f32 = 1e-7;

@group(0) @binding(0) var<uniform> step: Step;
@group(0) @binding(1) var<uniform> shape: LossShape;
@group(0) @binding(2) var<storage, read> outputs: array<f32>;
@group(0) @binding(3) var<storage, read> targets: array<f32>;
@group(0) @binding(4) var<storage, read_write> grad: array<f32>;
@group(0) @binding(5) var<storage, read_write> losses: array<f32>;

var<workgroup> partial: array<f32, 64>;
// Per lane: 1 when it saw a NaN or infinite input.
var<workgroup> partial_non_finite: array<u32, 64>;

// By the exponent bits: drivers may assume floats are never NaN.
fn non_finite(x: f32) -> u32 {
    return u32((bitcast<u32>(x) & 0x7f800000u) == 0x7f800000u);
}

// Sums the lanes' losses of `row` and writes the row's mean (NaN if any input was not finite).
fn finish_row(row: u32, lid: u32, sum: f32, bad: u32) {
    partial[lid] = sum;
    partial_non_finite[lid] = bad;
    workgroupBarrier();
    for (var half = 32u; half > 0u; half /= 2u) {
        if lid < half {
            partial[lid] += partial[lid + half];
            partial_non_finite[lid] |= partial_non_finite[lid + half];
        }
        workgroupBarrier();
    }
    if lid == 0u && row < step.rows {
        var loss = partial[0] / f32(shape.width);
        if partial_non_finite[0] != 0u {
            loss = bitcast<f32>(0x7fc00000u);
        }
        losses[step.loss_offset + row] = loss;
    }
}

@compute @workgroup_size(64)
fn bce_sigmoid(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let row = wg.x;
    let scale = 1.0 / (f32(step.rows) * f32(shape.width));
    var sum = 0.0;
    var bad = 0u;
    for (var col = lid; col < shape.stride; col += 64u) {
        let i = row * shape.stride + col;
        var g = 0.0;
        if row < step.rows && col < shape.width {
            let t = targets[i];
            let z = outputs[i];
            let p = 1.0 / (1.0 + exp(-z));
            g = (p - t) * scale;
            let q = clamp(p, EPSILON, 1.0 - EPSILON);
            sum -= t * log(q) + (1.0 - t) * log(1.0 - q);
            bad |= non_finite(z);
        }
        grad[i] = g;
    }
    finish_row(row, lid, sum, bad);
}

@compute @workgroup_size(64)
fn mse(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let row = wg.x;
    let scale = 2.0 / (f32(step.rows) * f32(shape.width));
    var sum = 0.0;
    var bad = 0u;
    for (var col = lid; col < shape.stride; col += 64u) {
        let i = row * shape.stride + col;
        var g = 0.0;
        if row < step.rows && col < shape.width {
            let y = outputs[i];
            let e = y - targets[i];
            g = e * scale;
            sum += e * e;
            bad |= non_finite(y);
        }
        grad[i] = g;
    }
    finish_row(row, lid, sum, bad);
}
