//! The model on the GPU: activation workspaces, dataset splits, and the dispatch lists of a
//! forward pass, a loss and a backward pass. Used by the trainer and the encoder.

use anyhow::Result;

use super::{ParamOffsets, EVAL_ROWS};
use crate::data::Dataset;
use crate::domain::check_matmul_k;
use crate::gpu::buffers::{padded, slice, storage, storage_init, PAD};
use crate::gpu::kernels::{
    upload_images, Dispatch, Epilogue, GatherSource, ImageChunk, Kernels, LossBuffers,
    LossFunction, MatmulDims, MatmulKind, MatmulOperands, StepParams, StepTable,
};
use crate::gpu::GpuContext;
use crate::model::{Activation, Loss, ModelSpec};

/// Rows per batch for passes without learning (validation, encoding) over `count` images:
/// `EVAL_ROWS`, fewer where the widest layer's activations would not fit one binding.
pub fn eval_rows(ctx: &GpuContext, spec: &ModelSpec, count: usize) -> usize {
    let widest = spec.widths.iter().map(|&w| padded(w)).max().unwrap_or(1);
    let fitting = (ctx.max_binding_bytes() as usize / (widest * 4)) / PAD * PAD;
    EVAL_ROWS.min(count).min(fitting.max(1))
}

/// The activations (`acts[0]` is the input batch, `acts[l + 1]` the output of layer `l`) and
/// their gradients for one padded batch size.
pub struct Workspace {
    pub rows_pad: usize,
    pub acts: Vec<wgpu::Buffer>,
    pub deltas: Vec<wgpu::Buffer>,
}

impl Workspace {
    /// Fails, before creating its buffers, when a matmul of this batch or model would be
    /// outside the kernels' domain (each is a reduction length somewhere in the step).
    pub fn new(ctx: &GpuContext, spec: &ModelSpec, rows: usize) -> Result<Self> {
        let rows_pad = padded(rows);
        check_matmul_k("the batch", rows_pad)?;
        for &width in &spec.widths {
            check_matmul_k("a layer's width", padded(width))?;
        }
        let sizes: Vec<usize> = spec.widths.iter().map(|&w| rows_pad * padded(w)).collect();
        let buffers = |label: &str| -> Result<Vec<wgpu::Buffer>> {
            sizes.iter().map(|&n| storage(ctx, label, n)).collect()
        };
        Ok(Workspace {
            rows_pad,
            acts: buffers("a batch's activation buffer")?,
            deltas: buffers("a batch's gradient buffer")?,
        })
    }
}

/// A dataset split on the GPU: packed u8 images (in as many buffers as the device's binding
/// limit needs), the sample order, and a loss per sample.
pub struct DeviceSplit {
    pub count: usize,
    pub images: Vec<ImageChunk>,
    pub order: wgpu::Buffer,
    pub losses: wgpu::Buffer,
}

impl DeviceSplit {
    /// The images in the split's order, unmoved.
    pub fn source(&self) -> GatherSource<'_> {
        GatherSource {
            images: &self.images,
            order: &self.order,
            moves: None,
        }
    }

    pub fn new(ctx: &GpuContext, data: &Dataset, what: &str) -> Result<Self> {
        let identity: Vec<u32> = (0..data.count as u32).collect();
        Ok(DeviceSplit {
            count: data.count,
            images: upload_images(ctx, what, &data.pixels, data.image_size())?,
            order: storage_init(ctx, "the sample order", &identity)?,
            losses: storage(ctx, "the sample losses", data.count)?,
        })
    }
}

/// Step slots covering `count` samples in batches of `batch`; losses land at each sample's
/// position in the order.
pub fn batch_steps(count: usize, batch: usize, lr_t: impl Fn(usize) -> f32) -> Vec<StepParams> {
    (0..count.div_ceil(batch))
        .map(|s| StepParams {
            first: (s * batch) as u32,
            rows: (batch.min(count - s * batch)) as u32,
            loss_offset: (s * batch) as u32,
            lr_t: lr_t(s),
        })
        .collect()
}

/// Builds the dispatch lists of one step from the model and its buffers.
pub struct GpuPasses<'n> {
    pub ctx: &'n GpuContext,
    pub kernels: &'n Kernels,
    pub spec: &'n ModelSpec,
    pub offsets: &'n ParamOffsets,
    pub params: &'n wgpu::Buffer,
    pub steps: &'n StepTable,
}

impl GpuPasses<'_> {
    /// Gather the batch, run every layer, and score the output with the model's loss (BCE
    /// applies the final sigmoid itself, so for it the last layer stops at its logits).
    pub fn forward_loss(&self, work: &Workspace, split: &DeviceSplit) -> Vec<Dispatch> {
        let layers = self.offsets.layers.len();
        let mut list = self.forward(work, split.source(), layers, true);
        let last = layers - 1;
        let out = self.spec.widths[layers];
        list.push(self.kernels.loss.dispatch(
            self.ctx,
            match self.spec.loss {
                Loss::Bce => LossFunction::BceSigmoid,
                Loss::Mse => LossFunction::Mse,
            },
            self.steps,
            LossBuffers {
                outputs: &work.acts[layers],
                targets: &work.acts[0],
                grad: &work.deltas[last + 1],
                losses: &split.losses,
            },
            out,
            work.rows_pad,
        ));
        list
    }

    /// Gather the batch and run the first `layers` layers, the last of them stopping at its
    /// logits when `logits_last`.
    pub fn forward(
        &self,
        work: &Workspace,
        source: GatherSource<'_>,
        layers: usize,
        logits_last: bool,
    ) -> Vec<Dispatch> {
        let (ctx, k) = (self.ctx, self.kernels);
        let width = self.spec.widths[0];
        let mut list =
            k.gather
                .dispatch(ctx, self.steps, source, &work.acts[0], width, work.rows_pad);
        for (l, slots) in self.offsets.layers[..layers].iter().enumerate() {
            let epilogue = match self.spec.activation(l) {
                _ if logits_last && l + 1 == layers => Epilogue::Bias,
                Activation::Relu => Epilogue::BiasRelu,
                Activation::Linear => Epilogue::Bias,
                Activation::Sigmoid => Epilogue::BiasSigmoid,
            };
            list.push(k.matmul.dispatch(
                ctx,
                MatmulKind::Forward(epilogue),
                MatmulDims::new(work.rows_pad, slots.out_pad(), slots.in_pad()),
                MatmulOperands {
                    a: work.acts[l].as_entire_binding(),
                    b: slice(self.params, slots.weight, slots.weight_len()),
                    aux: slice(self.params, slots.bias, slots.out_pad()),
                    c: work.acts[l + 1].as_entire_binding(),
                },
            ));
        }
        list
    }

    /// Gradients of the weights and biases of the first `layers` layers into `grads`, from
    /// the gradient at the output of the last of them down.
    pub fn backward(&self, work: &Workspace, grads: &wgpu::Buffer, layers: usize) -> Vec<Dispatch> {
        let (ctx, k) = (self.ctx, self.kernels);
        let mut list = Vec::new();
        for (l, slots) in self.offsets.layers[..layers].iter().enumerate().rev() {
            list.push(k.matmul.dispatch(
                ctx,
                MatmulKind::WeightGrad,
                MatmulDims::new(slots.in_pad(), slots.out_pad(), work.rows_pad),
                MatmulOperands {
                    a: work.acts[l].as_entire_binding(),
                    b: work.deltas[l + 1].as_entire_binding(),
                    aux: work.acts[l].as_entire_binding(),
                    c: slice(grads, slots.weight, slots.weight_len()),
                },
            ));
            list.push(k.column_sums.dispatch(
                ctx,
                work.deltas[l + 1].as_entire_binding(),
                slice(grads, slots.bias, slots.out_pad()),
                work.rows_pad,
                slots.out_pad(),
            ));
            if l > 0 {
                let relu = self.spec.activation(l - 1) == Activation::Relu;
                list.push(k.matmul.dispatch(
                    ctx,
                    MatmulKind::InputGrad { relu_mask: relu },
                    MatmulDims::new(work.rows_pad, slots.in_pad(), slots.out_pad()),
                    MatmulOperands {
                        a: work.deltas[l + 1].as_entire_binding(),
                        b: slice(self.params, slots.weight, slots.weight_len()),
                        aux: work.acts[l].as_entire_binding(),
                        c: work.deltas[l].as_entire_binding(),
                    },
                ));
            }
        }
        list
    }
}
