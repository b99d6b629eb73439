use anyhow::{ensure, Result};

use super::{AdamState, ClusterObjective, Objective, Progress, TrainConfig, Trainer};
use crate::data::Dataset;
use crate::domain::check_dec;
use crate::gpu::buffers::{map_read, read_f32, staging_buffer, storage, storage_init};
use crate::gpu::kernels::{
    record_steps, time_dispatches, AdamBuffers, AdamCoefficients, DecDims, DecLossBuffers,
    Dispatch, GatherSource, ImageMoves, Kernels, StepTable,
};
use crate::gpu::GpuContext;
use crate::model::{ModelSpec, Params};
use crate::network::{batch_steps, eval_rows, DeviceSplit, GpuPasses, ParamOffsets, Workspace};
use crate::optim::AdamConfig;

fn coefficients_of(adam: &AdamConfig) -> AdamCoefficients {
    AdamCoefficients {
        beta1: adam.beta1,
        beta2: adam.beta2,
        epsilon: adam.epsilon,
    }
}

fn identity(count: usize) -> Vec<u32> {
    (0..count as u32).collect()
}

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
    /// The validation split's losses: the validation images', or with the clusters objective
    /// the training images'.
    val_losses: wgpu::Buffer,
    val_count: usize,
    clusters: Option<GpuClusters>,
    seed: u64,
    train_step: Vec<Dispatch>,
    val_step: Vec<Dispatch>,
    /// Two buffers the per-sample losses of one submit are copied to for reading.
    loss_staging: [wgpu::Buffer; 2],
}

/// What the clusters objective adds: the moves of an epoch, and the refresh of every image's
/// soft assignments (one pass over the training images in the validation slots, which the
/// validation pass also does after each image's loss) and of the centres' masses.
struct GpuClusters {
    objective: ClusterObjective,
    /// The centres as they learn (k x d, padded to whole vec4s for Adam).
    centres: wgpu::Buffer,
    moves: wgpu::Buffer,
    refresh_step: Vec<Dispatch>,
    mass_step: Dispatch,
    /// Whether the soft assignments and masses are of the current encoder and centres.
    fresh: bool,
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
        let clusters = match &config.objective {
            Objective::Reconstruction => None,
            Objective::Clusters(objective) => Some(objective),
        };
        // With the clusters objective the validation passes run over the training images.
        let val_split = match clusters {
            None => Some(DeviceSplit::new(ctx, val, "the validation images")?),
            Some(_) => None,
        };
        let val_count = val_split.as_ref().map_or(train.count, |v| v.count);
        let train_steps = train.count.div_ceil(batch);
        let eval_rows = eval_rows(ctx, spec, val_count);
        let val_steps = val_count.div_ceil(eval_rows);
        let steps = StepTable::new(ctx, train_steps + val_steps);
        steps.write(
            ctx,
            train_steps,
            &batch_steps(val_count, eval_rows, |_| 0.0),
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
        // Adam over the layers that learn (the encoder's, with the clusters objective).
        let learning = clusters.map_or(offsets.layers.len(), |_| ClusterObjective::layers(spec));
        let adam_step = |losses: &wgpu::Buffer| {
            kernels.adam.dispatch(
                ctx,
                &steps,
                coefficients_of(&config.adam),
                AdamBuffers {
                    params: &params,
                    grads: &grads,
                    m: &m,
                    v: &v,
                    losses,
                },
                offsets.prefix(learning),
            )
        };
        let (train_step, val_step, val_losses, clusters) = match (clusters, val_split) {
            (None, Some(val_split)) => {
                let mut train_step = net.forward_loss(&work, &train_split);
                train_step.extend(net.backward(&work, &grads, offsets.layers.len()));
                train_step.push(adam_step(&train_split.losses));
                let val_step = net.forward_loss(&eval, &val_split);
                (train_step, val_step, val_split.losses, None)
            }
            (Some(objective), _) => {
                let (d, layers) = (spec.code_width(), ClusterObjective::layers(spec));
                check_dec(train.count, d, objective.k, objective.max_move)?;
                let mut padded_centres = objective.centres.clone();
                padded_centres.resize(objective.centres.len().next_multiple_of(4), 0.0);
                let centres = storage_init(ctx, "the cluster centres", &padded_centres)?;
                let centre_count = padded_centres.len();
                let centre_grads = storage(ctx, "the centres' gradient", centre_count)?;
                let centre_m = storage(ctx, "adam m of the centres", centre_count)?;
                let centre_v = storage(ctx, "adam v of the centres", centre_count)?;
                let widest = work.rows_pad.max(eval.rows_pad);
                let coefficients = storage(ctx, "the rows' coefficients", widest * objective.k)?;
                let soft = storage(ctx, "the soft assignments", train.count * objective.k)?;
                let mass = storage(ctx, "the cluster masses", objective.k)?;
                let moves = storage(ctx, "the image moves", 2 * train.count)?;
                let all = storage_init(ctx, "the images in order", &identity(train.count))?;
                let val_losses = storage(ctx, "the unmoved images' losses", train.count)?;
                let moved = GatherSource {
                    moves: Some(ImageMoves {
                        moves: &moves,
                        cols: objective.cols,
                        channels: objective.channels,
                    }),
                    ..train_split.source()
                };
                let in_order = GatherSource {
                    order: &all,
                    ..train_split.source()
                };
                let dec_loss = |work: &Workspace, order, losses| {
                    kernels.dec.loss(
                        ctx,
                        &steps,
                        DecDims {
                            k: objective.k,
                            d,
                            rows_pad: work.rows_pad,
                        },
                        DecLossBuffers {
                            codes: &work.acts[layers],
                            centres: &centres,
                            soft: &soft,
                            mass: &mass,
                            order,
                            grad: &work.deltas[layers],
                            losses,
                            coefficients: &coefficients,
                        },
                    )
                };
                let dims = |work: &Workspace| DecDims {
                    k: objective.k,
                    d,
                    rows_pad: work.rows_pad,
                };
                let mut train_step = net.forward(&work, moved, layers, false);
                train_step.push(dec_loss(&work, &train_split.order, &train_split.losses));
                train_step.push(kernels.dec.centre_grad(
                    ctx,
                    &steps,
                    dims(&work),
                    (&work.acts[layers], &centres),
                    (&coefficients, &centre_grads),
                ));
                train_step.extend(net.backward(&work, &grads, layers));
                train_step.push(adam_step(&train_split.losses));
                train_step.push(kernels.adam.dispatch(
                    ctx,
                    &steps,
                    coefficients_of(&config.adam),
                    AdamBuffers {
                        params: &centres,
                        grads: &centre_grads,
                        m: &centre_m,
                        v: &centre_v,
                        losses: &train_split.losses,
                    },
                    centre_count,
                ));
                // A batch's soft assignments overwrite only its own images' rows, after their
                // losses read them.
                let codes = &eval.acts[layers];
                let assign = || {
                    kernels
                        .dec
                        .soft_assign(ctx, &steps, dims(&eval), (codes, &centres, &soft))
                };
                let mut val_step = net.forward(&eval, in_order, layers, false);
                val_step.push(dec_loss(&eval, &all, &val_losses));
                val_step.push(assign());
                let mut refresh_step = net.forward(&eval, in_order, layers, false);
                refresh_step.push(assign());
                let mass_step =
                    kernels
                        .dec
                        .cluster_mass(ctx, (&soft, &mass), train.count, objective.k);
                let clusters = GpuClusters {
                    objective: objective.clone(),
                    centres,
                    moves,
                    refresh_step,
                    mass_step,
                    fresh: false,
                };
                (train_step, val_step, val_losses, Some(clusters))
            }
            (None, None) => unreachable!("a validation split without the clusters objective"),
        };
        let mut trainer = GpuTrainer {
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
            val_losses,
            val_count,
            clusters,
            seed: config.seed,
            train_step,
            val_step,
            loss_staging: [0, 1].map(|_| staging_buffer(ctx, STEPS_PER_SUBMIT * batch * 4)),
        };
        trainer.refresh_targets();
        ctx.check()?;
        Ok(trainer)
    }

    /// The `len` losses that submit `i` copied to its staging buffer, once it is `done`.
    fn read_staged_losses(
        &self,
        (i, len, done): (usize, usize, wgpu::SubmissionIndex),
    ) -> Result<Vec<f32>> {
        let bytes = map_read(self.ctx, &self.loss_staging[i % 2], len * 4, done)?;
        Ok(bytemuck::pod_collect_to_vec(&bytes))
    }

    /// With the clusters objective, every training image's soft assignments with the current
    /// encoder, then the centres' masses: the targets until the next refresh.
    fn refresh_targets(&mut self) {
        if let Some(clusters) = &self.clusters {
            self.run_steps(&clusters.refresh_step, self.val_slots());
            self.update_masses();
        }
    }

    /// The centres' masses from the soft assignments, which are then fresh.
    fn update_masses(&mut self) {
        if let Some(clusters) = &self.clusters {
            self.submit_steps(&[], 0..0, |encoder| {
                record_steps(encoder, std::slice::from_ref(&clusters.mass_step), [0]);
            });
        }
        if let Some(clusters) = &mut self.clusters {
            clusters.fresh = true;
        }
    }

    /// The step slots of the validation passes (after the training steps).
    fn val_slots(&self) -> std::ops::Range<usize> {
        self.train.count.div_ceil(self.batch)..self.steps.capacity()
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
        if let Some(clusters) = &self.clusters {
            let moves = clusters.objective.moves(self.seed, t0, order.len());
            let bytes = bytemuck::cast_slice(&moves);
            self.ctx.queue.write_buffer(&clusters.moves, 0, bytes);
            if !clusters.fresh {
                self.refresh_targets();
            }
        }
        if let Some(clusters) = &mut self.clusters {
            clusters.fresh = false;
        }
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
        self.run_steps(&self.val_step, self.val_slots());
        self.update_masses();
        read_f32(self.ctx, &self.val_losses, 0, self.val_count)
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

    fn centres(&self) -> Result<Vec<f32>> {
        match &self.clusters {
            Some(c) => read_f32(self.ctx, &c.centres, 0, c.objective.centres.len()),
            None => Ok(Vec::new()),
        }
    }
}
