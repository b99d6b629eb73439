use rayon::prelude::*;

use crate::model::{Activation, ModelSpec, Params};
use crate::reference::{self, PackedB};

/// The weights of layers `0..layers` packed for the forward products (op(B) = W), for
/// `forward_into`; packed again whenever the weights change.
pub fn pack_forward(spec: &ModelSpec, params: &Params, layers: usize) -> Vec<PackedB> {
    (0..layers)
        .into_par_iter()
        .map(|l| PackedB::new(false, &params.weights[l], spec.layer_shape(l)))
        .collect()
}

/// Layers `0..layers` on the `rows` input rows of `acts[0]`, layer `l` writing its output
/// into `acts[l + 1]` (each buffer at least rows x width): bias, then the layer's
/// activation, except that the last stops at its logits when `logits_last` (the BCE loss
/// applies the sigmoid itself), exactly as the GPU's forward pass. `packed` is
/// `pack_forward` of these `params` (at least `layers` of them); the products take the rows
/// in `row_order`'s groups (`rows_grouped_by_zeros` of the input: every layer's ReLU zeros
/// follow its input's), which changes no bit.
pub fn forward_into(
    spec: &ModelSpec,
    (params, packed): (&Params, &[PackedB]),
    (acts, row_order): (&mut [Vec<f32>], &[u32]),
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
        let weights = (&params.weights[l][..], &packed[l]);
        reference::gemm_packed_skipping_zeros_into((input, Some(row_order)), weights, shape, out);
        reference::add_bias(out, &params.biases[l]);
        match spec.activation(l) {
            _ if logits_last && l + 1 == layers => {}
            Activation::Relu => reference::relu(out),
            Activation::Sigmoid => out.iter_mut().for_each(|v| *v = reference::sigmoid(*v)),
            Activation::Linear => {}
        }
    }
}
