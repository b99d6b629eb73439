use anyhow::{ensure, Result};

use super::{Backend, ParamLayout, TrainConfig};
use crate::data::Dataset;
use crate::gpu::buffers::{padded, read_f32, slice, storage, storage_bytes, storage_init};
use crate::gpu::kernels::{
    time_dispatches, AdamBuffers, AdamConfig, Dispatch, Epilogue, Kernels, LossBuffers, MatmulDims,
    MatmulKind, MatmulOperands, StepParams, StepTable,
};
use crate::gpu::GpuContext;
use crate::model::{Activation, ModelSpec, Params};

/// Steps recorded into one command buffer: large enough that submits are rare, small enough
/// that a command buffer stays a few MB.
const STEPS_PER_SUBMIT: usize = 256;
/// Rows per validation batch.
const EVAL_ROWS: usize = 1024;

/// The activations (`acts[0]` is the input batch, `acts[l + 1]` the output of layer `l`) and
/// their gradients for one padded batch size.
struct Workspace {
    rows_pad: usize,
    acts: Vec<wgpu::Buffer>,
    deltas: Vec<wgpu::Buffer>,
}

impl Workspace {
    fn new(ctx: &GpuContext, spec: &ModelSpec, rows: usize) -> Self {
        let rows_pad = padded(rows);
        let sizes: Vec<usize> = spec.widths.iter().map(|&w| rows_pad * padded(w)).collect();
        Workspace {
            rows_pad,
            acts: sizes
                .iter()
                .map(|&n| storage(ctx, "activation", n))
                .collect(),
            deltas: sizes.iter().map(|&n| storage(ctx, "gradient", n)).collect(),
        }
    }
}

/// A dataset split on the GPU as packed u8 images.
struct DeviceSplit {
    count: usize,
    pixels: wgpu::Buffer,
    order: wgpu::Buffer,
    losses: wgpu::Buffer,
}

impl DeviceSplit {
    fn new(ctx: &GpuContext, data: &Dataset, what: &str) -> Result<Self> {
        let identity: Vec<u32> = (0..data.count as u32).collect();
        Ok(DeviceSplit {
            count: data.count,
            pixels: storage_bytes(ctx, what, &data.pixels)?,
            order: storage_init(ctx, "sample order", &identity),
            losses: storage(ctx, "sample losses", data.count),
        })
    }
}

/// Trains the autoencoder entirely on the GPU: every step of an epoch is recorded up front,
/// per-step values come from a uniform table at dynamic offsets, and the only readback is
/// the per-sample losses once per epoch.
pub struct GpuTrainer<'a> {
    ctx: &'a GpuContext,
    layout: ParamLayout,
    batch: usize,
    adam: AdamConfig,
    /// Adam steps taken so far.
    t: u64,
    params: wgpu::Buffer,
    steps: StepTable,
    train: DeviceSplit,
    val: DeviceSplit,
    train_step: Vec<Dispatch>,
    val_step: Vec<Dispatch>,
}

impl<'a> GpuTrainer<'a> {
    pub fn new(
        ctx: &'a GpuContext,
        kernels: &Kernels,
        spec: &ModelSpec,
        init: &Params,
        train: &Dataset,
        val: &Dataset,
        config: &TrainConfig,
    ) -> Result<Self> {
        ensure!(config.batch > 0, "the batch size must be positive");
        spec.check(train.image_size())?;
        spec.check(val.image_size())?;
        let layout = ParamLayout::new(spec, ctx.storage_align_floats());
        let flat = layout.pack(init);
        ctx.check_binding_size("the parameters", (flat.len() * 4) as u64)?;
        let params = storage_init(ctx, "params", &flat);
        let grads = storage(ctx, "grads", layout.total);
        let m = storage(ctx, "adam m", layout.total);
        let v = storage(ctx, "adam v", layout.total);

        let train_split = DeviceSplit::new(ctx, train, "the training images")?;
        let val_split = DeviceSplit::new(ctx, val, "the validation images")?;
        let train_steps = train.count.div_ceil(config.batch);
        let eval_rows = EVAL_ROWS.min(val.count);
        let val_steps = val.count.div_ceil(eval_rows);
        let steps = StepTable::new(ctx, train_steps + val_steps);
        steps.write(
            ctx,
            train_steps,
            &batch_steps(val.count, eval_rows, |_| 0.0),
        );

        let work = Workspace::new(ctx, spec, config.batch);
        let eval = Workspace::new(ctx, spec, eval_rows);
        let net = Network {
            ctx,
            kernels,
            spec,
            layout: &layout,
            params: &params,
            steps: &steps,
        };
        let mut train_step = net.forward_loss(&work, &train_split);
        train_step.extend(net.backward(&work, &grads));
        train_step.push(kernels.adam.dispatch(
            ctx,
            &steps,
            &config.adam,
            AdamBuffers {
                params: &params,
                grads: &grads,
                m: &m,
                v: &v,
            },
            layout.total,
        ));
        let val_step = net.forward_loss(&eval, &val_split);
        ctx.check()?;
        Ok(GpuTrainer {
            ctx,
            layout,
            batch: config.batch,
            adam: config.adam,
            t: 0,
            params,
            steps,
            train: train_split,
            val: val_split,
            train_step,
            val_step,
        })
    }

    /// Records `dispatches` for each step slot in `slots`, a few hundred steps per submit.
    fn run_steps(&self, dispatches: &[Dispatch], slots: std::ops::Range<usize>) {
        let slots: Vec<usize> = slots.collect();
        for chunk in slots.chunks(STEPS_PER_SUBMIT) {
            let mut encoder = self.ctx.device.create_command_encoder(&Default::default());
            {
                let mut pass = encoder.begin_compute_pass(&Default::default());
                for &slot in chunk {
                    let offset = self.steps.offset(slot);
                    for d in dispatches {
                        d.record(&mut pass, offset);
                    }
                }
            }
            self.ctx.queue.submit([encoder.finish()]);
        }
    }
}

/// Step slots covering `count` samples in batches of `batch`; losses land at each sample's
/// position in the order.
fn batch_steps(count: usize, batch: usize, lr_t: impl Fn(usize) -> f32) -> Vec<StepParams> {
    (0..count.div_ceil(batch))
        .map(|s| StepParams {
            first: (s * batch) as u32,
            rows: (batch.min(count - s * batch)) as u32,
            loss_offset: (s * batch) as u32,
            lr_t: lr_t(s),
        })
        .collect()
}

impl Backend for GpuTrainer<'_> {
    fn name(&self) -> &'static str {
        "gpu"
    }

    fn train_epoch(&mut self, order: &[u32]) -> Result<Vec<f32>> {
        ensure!(
            order.len() <= self.train.count,
            "more samples than the step table holds"
        );
        self.ctx
            .queue
            .write_buffer(&self.train.order, 0, bytemuck::cast_slice(order));
        let (adam, t0) = (self.adam, self.t);
        let steps = batch_steps(order.len(), self.batch, |s| adam.lr_t(t0 + s as u64 + 1));
        self.steps.write(self.ctx, 0, &steps);
        self.run_steps(&self.train_step, 0..steps.len());
        self.t += steps.len() as u64;
        read_f32(self.ctx, &self.train.losses, 0, order.len())
    }

    fn validate(&mut self) -> Result<Vec<f32>> {
        let first = self.train.count.div_ceil(self.batch);
        self.run_steps(&self.val_step, first..self.steps.capacity());
        read_f32(self.ctx, &self.val.losses, 0, self.val.count)
    }

    fn kernel_times(&mut self) -> Result<Vec<(&'static str, f64)>> {
        if !self.ctx.timestamps {
            return Ok(Vec::new());
        }
        // Slot 0 holds the first step of the last epoch (or of the warm-up).
        time_dispatches(self.ctx, &self.train_step, self.steps.offset(0))
    }

    fn params(&self) -> Result<Params> {
        let flat = read_f32(self.ctx, &self.params, 0, self.layout.total)?;
        Ok(self.layout.unpack(&flat))
    }
}

/// Builds the dispatch lists of one step from the model and its buffers.
struct Network<'n> {
    ctx: &'n GpuContext,
    kernels: &'n Kernels,
    spec: &'n ModelSpec,
    layout: &'n ParamLayout,
    params: &'n wgpu::Buffer,
    steps: &'n StepTable,
}

impl Network<'_> {
    /// Gather the batch, run every layer, and score the output with the BCE loss (which
    /// applies the final sigmoid itself, so the last layer stops at its logits).
    fn forward_loss(&self, work: &Workspace, split: &DeviceSplit) -> Vec<Dispatch> {
        let (ctx, k) = (self.ctx, self.kernels);
        let width = self.spec.widths[0];
        let mut list = vec![k.gather.dispatch(
            ctx,
            self.steps,
            (&split.pixels, &split.order),
            &work.acts[0],
            width,
            work.rows_pad,
        )];
        let last = self.layout.layers.len() - 1;
        for (l, slots) in self.layout.layers.iter().enumerate() {
            let epilogue = match self.spec.activation(l) {
                _ if l == last => Epilogue::Bias,
                Activation::Relu => Epilogue::BiasRelu,
                Activation::Linear => Epilogue::Bias,
                Activation::Sigmoid => Epilogue::BiasSigmoid,
            };
            list.push(k.matmul.dispatch(
                ctx,
                MatmulKind::forward(epilogue),
                MatmulDims::new(work.rows_pad, slots.out_pad(), slots.in_pad()),
                MatmulOperands {
                    a: work.acts[l].as_entire_binding(),
                    b: slice(self.params, slots.weight, slots.weight_len()),
                    aux: slice(self.params, slots.bias, slots.out_pad()),
                    c: work.acts[l + 1].as_entire_binding(),
                },
            ));
        }
        let out = self.spec.widths[last + 1];
        list.push(k.loss.dispatch(
            ctx,
            self.steps,
            LossBuffers {
                logits: &work.acts[last + 1],
                targets: &work.acts[0],
                grad: &work.deltas[last + 1],
                losses: &split.losses,
            },
            out,
            work.rows_pad,
        ));
        list
    }

    /// Gradients of every weight and bias into `grads`, from the output layer down.
    fn backward(&self, work: &Workspace, grads: &wgpu::Buffer) -> Vec<Dispatch> {
        let (ctx, k) = (self.ctx, self.kernels);
        let mut list = Vec::new();
        for (l, slots) in self.layout.layers.iter().enumerate().rev() {
            list.push(k.matmul.dispatch(
                ctx,
                MatmulKind::WEIGHT_GRAD,
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
                    MatmulKind::input_grad(relu),
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
