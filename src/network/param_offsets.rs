use crate::gpu::buffers::{padded, round_up};
use crate::model::{ModelSpec, Params};

/// Where each layer's weight and bias live in the flat, padded parameter buffer that Adam
/// updates in one dispatch. Weights are `padded(in) x padded(out)`; each tensor starts at a
/// multiple of the device's storage offset alignment so that it can be bound on its own.
/// Padding is zero and stays zero (its gradient is zero, so Adam never moves it).
#[derive(Clone, Debug)]
pub struct ParamOffsets {
    pub layers: Vec<LayerSlots>,
    pub total: usize,
}

#[derive(Clone, Copy, Debug)]
pub struct LayerSlots {
    pub fan_in: usize,
    pub fan_out: usize,
    pub weight: usize,
    pub bias: usize,
}

impl LayerSlots {
    pub fn in_pad(&self) -> usize {
        padded(self.fan_in)
    }
    pub fn out_pad(&self) -> usize {
        padded(self.fan_out)
    }
    pub fn weight_len(&self) -> usize {
        self.in_pad() * self.out_pad()
    }
}

impl ParamOffsets {
    pub fn new(spec: &ModelSpec, align_floats: usize) -> Self {
        let mut next = 0;
        let mut layers = Vec::new();
        for l in 0..spec.layer_count() {
            let (fan_in, fan_out) = spec.layer_shape(l);
            let weight = next;
            let bias = round_up(weight + padded(fan_in) * padded(fan_out), align_floats);
            next = round_up(bias + padded(fan_out), align_floats);
            layers.push(LayerSlots {
                fan_in,
                fan_out,
                weight,
                bias,
            });
        }
        ParamOffsets {
            layers,
            total: next,
        }
    }

    /// The floats the first `layers` layers take: a prefix of the buffer, whole vec4s.
    pub fn prefix(&self, layers: usize) -> usize {
        self.layers.get(layers).map_or(self.total, |s| s.weight)
    }

    /// Whether `params` has these offsets's layer shapes.
    pub fn fits(&self, params: &Params) -> bool {
        params.weights.len() == self.layers.len()
            && params.biases.len() == self.layers.len()
            && self.layers.iter().enumerate().all(|(l, s)| {
                params.weights[l].len() == s.fan_in * s.fan_out
                    && params.biases[l].len() == s.fan_out
            })
    }

    pub fn pack(&self, params: &Params) -> Vec<f32> {
        let mut flat = vec![0.0; self.total];
        for (slots, (w, b)) in self
            .layers
            .iter()
            .zip(params.weights.iter().zip(&params.biases))
        {
            for r in 0..slots.fan_in {
                let dst = slots.weight + r * slots.out_pad();
                flat[dst..dst + slots.fan_out]
                    .copy_from_slice(&w[r * slots.fan_out..(r + 1) * slots.fan_out]);
            }
            flat[slots.bias..slots.bias + slots.fan_out].copy_from_slice(b);
        }
        flat
    }

    pub fn unpack(&self, flat: &[f32]) -> Params {
        let mut params = Params {
            weights: Vec::new(),
            biases: Vec::new(),
        };
        for slots in &self.layers {
            params.weights.push(
                (0..slots.fan_in)
                    .flat_map(|r| {
                        let src = slots.weight + r * slots.out_pad();
                        flat[src..src + slots.fan_out].iter().copied()
                    })
                    .collect(),
            );
            params
                .biases
                .push(flat[slots.bias..slots.bias + slots.fan_out].to_vec());
        }
        params
    }
}
