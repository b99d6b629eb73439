//! Lloyd's iterations for every restart, on the GPU (WGSL) or on the CPU (its exact twin).

use anyhow::Result;
use rayon::prelude::*;

use crate::domain::check_kmeans;
use crate::gpu::buffers::{narrow_rows, read_bytes, read_f32, storage, storage_init, widen_rows};
use crate::gpu::kernels::{
    padded_dims, record_steps, Dispatch, KmeansBuffers, KmeansShape, MAX_RUNNING,
};
use crate::gpu::Gpu;
use crate::gpu::GpuContext;
use crate::reference::kmeans;

/// One restart's outcome.
#[derive(Clone, Debug)]
pub struct Restart {
    pub labels: Vec<u32>,
    /// Each point's squared distance to its centroid.
    pub distances: Vec<f32>,
    pub centroids: Vec<f32>,
    pub iterations: usize,
}

/// Where Lloyd's iterations run: `GpuEngine` (kmeans.wgsl) or `CpuEngine` (its twin), built
/// by `device::Device::kmeans_engine`.
pub trait Engine {
    /// Lloyd's iterations from each of `inits` (k x d centroids each): a restart is done once
    /// an iteration moved its centroids by a squared shift (`reference::kmeans::shift`) of
    /// at most `tol`, or after `max_iter` iterations; then every point is assigned to its
    /// restart's final centroids.
    fn lloyd(&mut self, inits: &[Vec<f32>], max_iter: usize, tol: f32) -> Result<Vec<Restart>>;
    /// Every point's nearest of the k x d `centroids` and its squared distance, with no
    /// iteration: `lloyd`'s last step alone.
    fn assign(&mut self, centroids: &[f32]) -> Result<(Vec<u32>, Vec<f32>)>;
    /// How many restarts `lloyd` runs together at most (more are run in turn).
    fn batch(&self) -> usize;
}

/// Lloyd's iterations through `reference::kmeans`, the twin of kmeans.wgsl: the same
/// centroids give bit-identical labels, centroids and iterations. The restarts run side by
/// side on the cores (an iteration on 10 000 codes is too short to split well over them).
pub struct CpuEngine<'a> {
    pub points: &'a [f32],
    pub d: usize,
}

impl Engine for CpuEngine<'_> {
    fn lloyd(&mut self, inits: &[Vec<f32>], max_iter: usize, tol: f32) -> Result<Vec<Restart>> {
        let (points, d) = (self.points, self.d);
        Ok(inits
            .par_iter()
            .map(|init| {
                let mut centroids = init.clone();
                let mut iterations = 0;
                loop {
                    let (labels, _) = kmeans::assign(points, &centroids, d);
                    let updated = kmeans::update(points, &labels, &centroids, d);
                    let shift = kmeans::shift(&centroids, &updated, d);
                    centroids = updated;
                    iterations += 1;
                    if shift <= tol || iterations >= max_iter {
                        break;
                    }
                }
                let (labels, distances) = kmeans::assign(points, &centroids, d);
                Restart {
                    labels,
                    distances,
                    centroids,
                    iterations,
                }
            })
            .collect())
    }

    fn assign(&mut self, centroids: &[f32]) -> Result<(Vec<u32>, Vec<f32>)> {
        Ok(kmeans::assign(self.points, centroids, self.d))
    }

    fn batch(&self) -> usize {
        usize::MAX
    }
}

/// Iterations recorded per submit; the host reads the restarts' state after each.
const ITERATIONS_PER_SUBMIT: usize = 8;

/// Every restart of a batch advances in the same dispatches (the restart is the grid's z)
/// and decides its own convergence on the GPU; the host records `ITERATIONS_PER_SUBMIT`
/// iterations at a time and reads back only the restarts' state (done, iterations) between
/// them, then the labels, distances and centroids once at the end.
pub struct GpuEngine<'a> {
    ctx: &'a GpuContext,
    gpu: &'a Gpu,
    /// The points, rows padded with zeros to `padded_dims(d)` (the kernels' vec4 rows).
    points: wgpu::Buffer,
    /// Points, features, clusters.
    n: usize,
    d: usize,
    k: usize,
    /// The most restarts that run together: as many as fit one binding, at most `MAX_RUNNING`.
    batch: usize,
}

impl<'a> GpuEngine<'a> {
    /// Fails, before any work, when the sizes are outside the kernels' domain.
    pub fn new(gpu: &'a Gpu, points: &[f32], n: usize, d: usize, k: usize) -> Result<Self> {
        check_kmeans(n, d, k)?;
        let ctx = &gpu.ctx;
        let padded = widen_rows(points, d, padded_dims(d));
        ctx.check_binding_size("the points", (padded.len() * 4) as u64)?;
        // The largest per-restart buffer is the labels' (n) or the partial sums'.
        let per_restart =
            (n.max(n.div_ceil(crate::domain::KMEANS_CHUNK) * k * (padded_dims(d) + 1)) * 4) as u64;
        let batch =
            (ctx.max_binding_bytes() / per_restart.max(1)).clamp(1, MAX_RUNNING as u64) as usize;
        Ok(GpuEngine {
            ctx,
            gpu,
            points: storage_init(ctx, "points", &padded)?,
            n,
            d,
            k,
            batch,
        })
    }

    /// `lloyd` for at most `batch` restarts.
    fn lloyd_batch(&self, inits: &[Vec<f32>], max_iter: usize, tol: f32) -> Result<Vec<Restart>> {
        let (ctx, n, d, k) = (self.ctx, self.n, self.d, self.k);
        let restarts = inits.len();
        let shape = KmeansShape::new(n, d, k, restarts, max_iter, tol);
        let row = shape.d as usize;
        let centroids = storage_init(ctx, "centroids", &widen_rows(&inits.concat(), d, row))?;
        let labels = storage(ctx, "labels", restarts * n)?;
        let distances = storage(ctx, "distances", restarts * n)?;
        let partial_len = shape.chunks as usize * k * (row + 1);
        let partials = storage(ctx, "partial sums", restarts * partial_len)?;
        let updated = storage(ctx, "updated centroids", restarts * k * row)?;
        let shifts = storage(ctx, "centroid shifts", restarts * k)?;
        let state = storage_init(ctx, "restart state", &vec![0u32; 2 * restarts])?;
        let buffers = KmeansBuffers {
            points: &self.points,
            centroids: &centroids,
            labels: &labels,
            distances: &distances,
            partials: &partials,
            updated: &updated,
            shifts: &shifts,
            state: &state,
        };
        let kernels = &self.gpu.kernels.kmeans;
        // One iteration of the restarts in `running`.
        let iteration = |running: &[u32]| {
            let shape = shape.running_only(running);
            let mut dispatches = kernels.assign(ctx, shape, &buffers, false);
            dispatches.extend(kernels.iterate(ctx, shape, &buffers));
            dispatches
        };
        let read_state = || -> Result<Vec<u32>> {
            Ok(bytemuck::pod_collect_to_vec(&read_bytes(
                ctx,
                &state,
                0,
                restarts * 8,
            )?))
        };
        let mut running: Vec<u32> = (0..restarts as u32).collect();
        let mut dispatches = iteration(&running);
        // Every restart is done after max_iter iterations at the most. The restarts that are
        // done leave the dispatches at the next read.
        let mut recorded = 0;
        while recorded < max_iter {
            let count = ITERATIONS_PER_SUBMIT.min(max_iter - recorded);
            self.submit(&dispatches, count);
            recorded += count;
            let state = read_state()?;
            let still: Vec<u32> = running
                .iter()
                .copied()
                .filter(|&r| state[2 * r as usize] == 0)
                .collect();
            if still.is_empty() {
                break;
            }
            if still.len() < running.len() {
                running = still;
                dispatches = iteration(&running);
            }
        }
        self.submit(&kernels.assign(ctx, shape, &buffers, true), 1);
        let state = read_state()?;
        let all_labels: Vec<u32> =
            bytemuck::pod_collect_to_vec(&read_bytes(ctx, &labels, 0, restarts * n * 4)?);
        let all_distances = read_f32(ctx, &distances, 0, restarts * n)?;
        let all_centroids = read_f32(ctx, &centroids, 0, restarts * k * row)?;
        Ok((0..restarts)
            .map(|r| Restart {
                labels: all_labels[r * n..(r + 1) * n].to_vec(),
                distances: all_distances[r * n..(r + 1) * n].to_vec(),
                centroids: narrow_rows(&all_centroids[r * k * row..(r + 1) * k * row], d, row),
                iterations: state[2 * r + 1] as usize,
            })
            .collect())
    }

    /// Records `dispatches` `times` over in one command buffer and submits it.
    fn submit(&self, dispatches: &[Dispatch], times: usize) {
        let mut encoder = self.ctx.device.create_command_encoder(&Default::default());
        record_steps(&mut encoder, dispatches, std::iter::repeat_n(0, times));
        self.ctx.queue.submit([encoder.finish()]);
    }
}

impl Engine for GpuEngine<'_> {
    fn lloyd(&mut self, inits: &[Vec<f32>], max_iter: usize, tol: f32) -> Result<Vec<Restart>> {
        let mut restarts = Vec::with_capacity(inits.len());
        for batch in inits.chunks(self.batch) {
            restarts.extend(self.lloyd_batch(batch, max_iter, tol)?);
        }
        self.ctx.check()?;
        Ok(restarts)
    }

    fn assign(&mut self, centroids: &[f32]) -> Result<(Vec<u32>, Vec<f32>)> {
        // No iteration: only the final assignment runs.
        let restart = self.lloyd_batch(&[centroids.to_vec()], 0, 0.0)?.remove(0);
        self.ctx.check()?;
        Ok((restart.labels, restart.distances))
    }

    fn batch(&self) -> usize {
        self.batch
    }
}
