use anyhow::{ensure, Result};

use super::{AdamState, Progress, TrainConfig, Trainer};
use crate::data::Dataset;
use crate::gpu::buffers::{map_read, read_f32, staging_buffer, storage, storage_init};
use crate::gpu::kernels::{
    record_steps, time_dispatches, AdamBuffers, AdamCoefficients, Dispatch, Kernels, StepTable,
};
use crate::gpu::GpuContext;
use crate::model::{ModelSpec, Params};
use crate::network::{batch_steps, eval_rows, DeviceSplit, GpuPasses, ParamOffsets, Workspace};
use crate::optim::AdamConfig;

/// Steps recorded into one command buffer: large enough that submits are rare, small enough
/// that a command buffer stays a few MB.
const STEPS_PER_SUBMIT: usize = 256;
/// Trains the autoencoder entirely on the GPU: every step of an epoch is recorded up front,
/// per-step values come from a uniform table at dynamic offsets, and the only readback is
/// the per-sample losses: each submit of `STEPS_PER_SUBMIT` steps copies its own into a
/// staging buffer, read while the next submit runs.
pub struct GpuTrainer<'a> {
    ctx: &'a GpuContext,
    offsets: ParamOffsets,
    batch: usize,
    adam: AdamConfig,
    /// Adam steps taken so far.
    t: u64,
    params: wgpu::Buffer,
    m: wgpu::Buffer,
    v: wgpu::Buffer,
    steps: StepTable,
    train: DeviceSplit,
    val: DeviceSplit,
    train_step: Vec<Dispatch>,
    val_step: Vec<Dispatch>,
    /// Two buffers the per-sample losses of one submit are copied to for reading.
    loss_staging: [wgpu::Buffer; 2],
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
        // A batch larger than the training set is the whole set.
        let batch = config.batch.min(train.count.max(1));
        spec.check(train.image_size())?;
        spec.check(val.image_size())?;
        let offsets = ParamOffsets::new(spec, ctx.storage_align_floats());
        let flat = offsets.pack(init);
        let params = storage_init(ctx, "the parameters", &flat)?;
        let grads = storage(ctx, "grads", offsets.total)?;
        let m = storage(ctx, "adam m", offsets.total)?;
        let v = storage(ctx, "adam v", offsets.total)?;

        let train_split = DeviceSplit::new(ctx, train, "the training images")?;
        let val_split = DeviceSplit::new(ctx, val, "the validation images")?;
        let train_steps = train.count.div_ceil(batch);
        let eval_rows = eval_rows(ctx, spec, val.count);
        let val_steps = val.count.div_ceil(eval_rows);
        let steps = StepTable::new(ctx, train_steps + val_steps);
        steps.write(
            ctx,
            train_steps,
            &batch_steps(val.count, eval_rows, |_| 0.0),
        );

        let work = Workspace::new(ctx, spec, batch)?;
        let eval = Workspace::new(ctx, spec, eval_rows)?;
        let net = GpuPasses {
            ctx,
            kernels,
            spec,
            offsets: &offsets,
            params: &params,
            steps: &steps,
        };
        let mut train_step = net.forward_loss(&work, &train_split);
        train_step.extend(net.backward(&work, &grads));
        train_step.push(kernels.adam.dispatch(
            ctx,
            &steps,
            AdamCoefficients {
                beta1: config.adam.beta1,
                beta2: config.adam.beta2,
                epsilon: config.adam.epsilon,
            },
            AdamBuffers {
                params: &params,
                grads: &grads,
                m: &m,
                v: &v,
                losses: &train_split.losses,
            },
            offsets.total,
        ));
        let val_step = net.forward_loss(&eval, &val_split);
        ctx.check()?;
        Ok(GpuTrainer {
            ctx,
            offsets,
            batch,
            adam: config.adam,
            t: 0,
            params,
            m,
            v,
            steps,
            train: train_split,
            val: val_split,
            train_step,
            val_step,
            loss_staging: [0, 1].map(|_| staging_buffer(ctx, STEPS_PER_SUBMIT * batch * 4)),
        })
    }

    /// The `len` losses that submit `i` copied to its staging buffer, once it is `done`.
    fn read_staged_losses(
        &self,
        (i, len, done): (usize, usize, wgpu::SubmissionIndex),
    ) -> Result<Vec<f32>> {
        let bytes = map_read(self.ctx, &self.loss_staging[i % 2], len * 4, done)?;
        Ok(bytemuck::pod_collect_to_vec(&bytes))
    }

    /// Records `dispatches` for each step slot in `slots`, a few hundred steps per submit.
    fn run_steps(&self, dispatches: &[Dispatch], slots: std::ops::Range<usize>) {
        for first in slots.clone().step_by(STEPS_PER_SUBMIT) {
            let chunk = first..(first + STEPS_PER_SUBMIT).min(slots.end);
            self.submit_steps(dispatches, chunk, |_| {});
        }
    }

    /// Submits `dispatches` for each slot in `slots` in one compute pass, then `after`'s
    /// commands, in one command buffer.
    fn submit_steps(
        &self,
        dispatches: &[Dispatch],
        slots: std::ops::Range<usize>,
        after: impl FnOnce(&mut wgpu::CommandEncoder),
    ) -> wgpu::SubmissionIndex {
        let mut encoder = self.ctx.device.create_command_encoder(&Default::default());
        record_steps(
            &mut encoder,
            dispatches,
            slots.map(|s| self.steps.offset(s)),
        );
        after(&mut encoder);
        self.ctx.queue.submit([encoder.finish()])
    }
}

impl Trainer for GpuTrainer<'_> {
    fn name(&self) -> &'static str {
        "gpu"
    }

    fn train_epoch(&mut self, order: &[u32], progress: &mut Progress) -> Result<Vec<f32>> {
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
        self.t += steps.len() as u64;
        // Each submit copies its steps' losses into one of two staging buffers; while the GPU
        // runs submit i, the host reads the losses of submit i - 1.
        let mut losses = Vec::with_capacity(order.len());
        let mut pending: Option<(usize, usize, wgpu::SubmissionIndex)> = None;
        for (i, first) in (0..steps.len()).step_by(STEPS_PER_SUBMIT).enumerate() {
            let slots = first..(first + STEPS_PER_SUBMIT).min(steps.len());
            let samples = (slots.start * self.batch)..(slots.end * self.batch).min(order.len());
            let staging = &self.loss_staging[i % 2];
            let submission = self.submit_steps(&self.train_step, slots, |encoder| {
                let bytes = (samples.len() * 4) as u64;
                let offset = (samples.start * 4) as u64;
                encoder.copy_buffer_to_buffer(&self.train.losses, offset, staging, 0, bytes);
            });
            if let Some(previous) = pending.replace((i, samples.len(), submission)) {
                let part = self.read_staged_losses(previous)?;
                progress(&part)?;
                losses.extend(part);
            }
        }
        if let Some(last) = pending {
            let part = self.read_staged_losses(last)?;
            progress(&part)?;
            losses.extend(part);
        }
        Ok(losses)
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

    fn adam_state(&self) -> Result<AdamState> {
        let read = |b: &wgpu::Buffer| -> Result<Params> {
            Ok(self
                .offsets
                .unpack(&read_f32(self.ctx, b, 0, self.offsets.total)?))
        };
        Ok(AdamState {
            step: self.t,
            m: read(&self.m)?,
            v: read(&self.v)?,
        })
    }

    fn set_adam_state(&mut self, state: &AdamState) -> Result<()> {
        ensure!(
            self.offsets.fits(&state.m) && self.offsets.fits(&state.v),
            "the optimizer state does not fit the model"
        );
        for (buffer, moments) in [(&self.m, &state.m), (&self.v, &state.v)] {
            let flat = self.offsets.pack(moments);
            self.ctx
                .queue
                .write_buffer(buffer, 0, bytemuck::cast_slice(&flat));
        }
        self.t = state.step;
        self.ctx.check()
    }

    fn params(&self) -> Result<Params> {
        let flat = read_f32(self.ctx, &self.params, 0, self.offsets.total)?;
        Ok(self.offsets.unpack(&flat))
    }
}
