// Adam over every parameter in one dispatch (flat buffers, 4 parameters per invocation),
// the Keras formula:
//   m += (g - m) (1 - beta1);  v += (g^2 - v) (1 - beta2);  p -= lr_t m / (sqrt(v) + eps)
// with lr_t = lr sqrt(1 - beta2^t) / (1 - beta1^t) precomputed per step on the host.
// A parameter or moment that becomes NaN or infinite marks the step as diverged by writing
// NaN over the loss of the step's first sample, where the host looks for it.

struct AdamConsts {
    beta1: f32,
    beta2: f32,
    epsilon: f32,
    // Number of vec4s to update.
    count4: u32,
}

@group(0) @binding(0) var<uniform> step: Step;
@group(0) @binding(1) var<uniform> consts: AdamConsts;
@group(0) @binding(2) var<storage, read_write> params: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> grads: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> m: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> v: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> losses: array<f32>;

// ROW, the workgroups per row of the 2-D dispatch grid (a dispatch is capped at 65535 per
// axis), is declared by the host (src/gpu/kernels/adam.rs).

@compute @workgroup_size(256)
fn adam(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.y * (ROW * 256u) + gid.x;
    if i >= consts.count4 {
        return;
    }
    let g = grads[i];
    let mi = m[i] + (g - m[i]) * (1.0 - consts.beta1);
    let vi = v[i] + (g * g - v[i]) * (1.0 - consts.beta2);
    let pi = params[i] - step.lr_t * mi / (sqrt(vi) + consts.epsilon);
    m[i] = mi;
    v[i] = vi;
    params[i] = pi;
    if any(non_finite(pi) | non_finite(mi) | non_finite(vi)) {
        losses[step.loss_offset] = bitcast<f32>(0x7fc00000u);
    }
}

// By the exponent bits: drivers may assume floats are never NaN and fold `x != x` away.
fn non_finite(x: vec4<f32>) -> vec4<bool> {
    return (bitcast<vec4<u32>>(x) & vec4(0x7f800000u)) == vec4(0x7f800000u);
}
