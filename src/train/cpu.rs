use anyhow::{ensure, Result};

use super::{Backend, TrainConfig};
use crate::data::Dataset;
use crate::gpu::kernels::AdamConfig;
use crate::model::{Activation, ModelSpec, Params};
use crate::reference::{self, gemm_into};

/// Rows per validation batch (the same as the GPU trainer's, so sums group alike).
const EVAL_ROWS: usize = 1024;

/// Activations (`acts[0]` is the input batch, `acts[l + 1]` the output of layer `l`) and their
/// gradients for up to `rows` samples.
struct Scratch {
    acts: Vec<Vec<f32>>,
    deltas: Vec<Vec<f32>>,
}

impl Scratch {
    fn new(spec: &ModelSpec, rows: usize) -> Self {
        let sized = || spec.widths.iter().map(|&w| vec![0.0; rows * w]).collect();
        Scratch {
            acts: sized(),
            deltas: sized(),
        }
    }
}

/// The CPU reference trainer: the same math as the GPU trainer, kernel for kernel, through the
/// functions of `reference` (the oracle of the shader tests), with sgemm from `matrixmultiply`
/// on every core.
pub struct CpuTrainer<'a> {
    spec: ModelSpec,
    batch: usize,
    adam: AdamConfig,
    t: u64,
    params: Params,
    m: Params,
    v: Params,
    grads: Params,
    train: &'a Dataset,
    val: &'a Dataset,
    work: Scratch,
}

fn zeros_like(p: &Params) -> Params {
    Params {
        weights: p.weights.iter().map(|w| vec![0.0; w.len()]).collect(),
        biases: p.biases.iter().map(|b| vec![0.0; b.len()]).collect(),
    }
}

impl<'a> CpuTrainer<'a> {
    pub fn new(
        spec: &ModelSpec,
        init: &Params,
        train: &'a Dataset,
        val: &'a Dataset,
        config: &TrainConfig,
    ) -> Result<Self> {
        ensure!(config.batch > 0, "the batch size must be positive");
        spec.check(train.image_size())?;
        spec.check(val.image_size())?;
        Ok(CpuTrainer {
            spec: spec.clone(),
            batch: config.batch,
            adam: config.adam,
            t: 0,
            params: init.clone(),
            m: zeros_like(init),
            v: zeros_like(init),
            grads: zeros_like(init),
            train,
            val,
            work: Scratch::new(spec, config.batch.max(EVAL_ROWS)),
        })
    }

    /// Forward pass of the first `rows` rows of `work.acts[0]`; the last layer stops at its
    /// logits (the loss applies the sigmoid), exactly as on the GPU.
    fn forward(&mut self, rows: usize) {
        let last = self.spec.layer_count() - 1;
        for l in 0..=last {
            let (fan_in, fan_out) = self.spec.layer_shape(l);
            let (before, after) = self.work.acts.split_at_mut(l + 1);
            let out = &mut after[0][..rows * fan_out];
            gemm_into(
                false,
                false,
                &before[l][..rows * fan_in],
                &self.params.weights[l],
                (rows, fan_out, fan_in),
                out,
            );
            reference::add_bias(out, &self.params.biases[l]);
            if l != last && self.spec.activation(l) == Activation::Relu {
                reference::relu(out);
            }
        }
    }

    /// Per-sample losses of the batch in `work.acts[0]`, and dL/dlogits in the last delta.
    fn loss(&mut self, rows: usize) -> Vec<f32> {
        let width = *self.spec.widths.last().expect("a model has layers");
        let last = self.spec.layer_count();
        let (grad, losses) = reference::bce_sigmoid(
            &self.work.acts[last][..rows * width],
            &self.work.acts[0][..rows * width],
            width,
        );
        self.work.deltas[last][..rows * width].copy_from_slice(&grad);
        losses
    }

    /// Gradients of every weight and bias, from the output layer down.
    fn backward(&mut self, rows: usize) {
        for l in (0..self.spec.layer_count()).rev() {
            let (fan_in, fan_out) = self.spec.layer_shape(l);
            let delta = &self.work.deltas[l + 1][..rows * fan_out];
            gemm_into(
                true,
                false,
                &self.work.acts[l][..rows * fan_in],
                delta,
                (fan_in, fan_out, rows),
                &mut self.grads.weights[l],
            );
            self.grads.biases[l] = reference::column_sums(delta, fan_out);
            if l > 0 {
                let (below, above) = self.work.deltas.split_at_mut(l + 1);
                let input_grad = &mut below[l][..rows * fan_in];
                gemm_into(
                    false,
                    true,
                    &above[0][..rows * fan_out],
                    &self.params.weights[l],
                    (rows, fan_in, fan_out),
                    input_grad,
                );
                if self.spec.activation(l - 1) == Activation::Relu {
                    reference::relu_mask(input_grad, &self.work.acts[l][..rows * fan_in]);
                }
            }
        }
    }

    fn update(&mut self) {
        self.t += 1;
        let lr_t = self.adam.lr_t(self.t);
        let tensors = self
            .params
            .weights
            .iter_mut()
            .chain(self.params.biases.iter_mut());
        let moments = self
            .m
            .weights
            .iter_mut()
            .chain(self.m.biases.iter_mut())
            .zip(self.v.weights.iter_mut().chain(self.v.biases.iter_mut()));
        let grads = self.grads.weights.iter().chain(self.grads.biases.iter());
        for ((p, (m, v)), g) in tensors.zip(moments).zip(grads) {
            reference::adam(p, g, m, v, &self.adam, lr_t);
        }
    }

    /// Loads `rows` images `order[first..]` of `data` as the input batch.
    fn gather(&mut self, data: &Dataset, order: &[u32], first: usize, rows: usize) {
        let width = data.image_size();
        let batch = reference::gather(&data.pixels, width, order, first, rows);
        self.work.acts[0][..rows * width].copy_from_slice(&batch);
    }
}

impl Backend for CpuTrainer<'_> {
    fn name(&self) -> &'static str {
        "cpu"
    }

    fn train_epoch(&mut self, order: &[u32]) -> Result<Vec<f32>> {
        let mut losses = Vec::with_capacity(order.len());
        for first in (0..order.len()).step_by(self.batch) {
            let rows = self.batch.min(order.len() - first);
            self.gather(self.train, order, first, rows);
            self.forward(rows);
            losses.extend(self.loss(rows));
            self.backward(rows);
            self.update();
        }
        Ok(losses)
    }

    fn validate(&mut self) -> Result<Vec<f32>> {
        let order: Vec<u32> = (0..self.val.count as u32).collect();
        let mut losses = Vec::with_capacity(order.len());
        for first in (0..order.len()).step_by(EVAL_ROWS) {
            let rows = EVAL_ROWS.min(order.len() - first);
            self.gather(self.val, &order, first, rows);
            self.forward(rows);
            losses.extend(self.loss(rows));
        }
        Ok(losses)
    }

    fn params(&self) -> Result<Params> {
        Ok(self.params.clone())
    }
}
