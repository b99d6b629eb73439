use crate::model::{Activation, ModelSpec, Params};
use crate::reference;

/// Layers `0..layers` on the `rows` input rows of `acts[0]`, layer `l` writing its output
/// into `acts[l + 1]` (each buffer at least rows x width): bias, then the layer's
/// activation, except that the last stops at its logits when `logits_last` (the BCE loss
/// applies the sigmoid itself), exactly as the GPU's forward pass.
pub fn forward_into(
    spec: &ModelSpec,
    params: &Params,
    acts: &mut [Vec<f32>],
    rows: usize,
    layers: usize,
    logits_last: bool,
) {
    for l in 0..layers {
        let (fan_in, fan_out) = spec.layer_shape(l);
        let (before, after) = acts.split_at_mut(l + 1);
        let out = &mut after[0][..rows * fan_out];
        let input = &before[l][..rows * fan_in];
        let shape = (rows, fan_out, fan_in);
        reference::gemm_skipping_zeros_into(false, false, input, &params.weights[l], shape, out);
        reference::add_bias(out, &params.biases[l]);
        match spec.activation(l) {
            _ if logits_last && l + 1 == layers => {}
            Activation::Relu => reference::relu(out),
            Activation::Sigmoid => out.iter_mut().for_each(|v| *v = reference::sigmoid(*v)),
            Activation::Linear => {}
        }
    }
}
