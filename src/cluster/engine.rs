//! One Lloyd iteration and one assignment, on the GPU (WGSL) or on the CPU (its exact twin).

use anyhow::Result;

use crate::device::Gpu;
use crate::domain::check_kmeans;
use crate::gpu::buffers::{read_bytes, read_f32, storage, storage_init};
use crate::gpu::kernels::{run, Dispatch, KmeansBuffers, KmeansShape};
use crate::gpu::GpuContext;
use crate::reference::kmeans;

/// Where Lloyd's iterations run: `GpuEngine` (kmeans.wgsl) or `CpuEngine` (its twin), built
/// by `device::Device::kmeans_engine`.
pub trait Engine {
    /// One iteration from `centroids`: assign every point, then the new centroids.
    fn step(&mut self, centroids: &[f32]) -> Result<Vec<f32>>;
    /// Every point's nearest centroid and squared distance.
    fn assign(&mut self, centroids: &[f32]) -> Result<(Vec<u32>, Vec<f32>)>;
}

/// Lloyd's iterations through `reference::kmeans`, the twin of kmeans.wgsl: the same
/// centroids give bit-identical labels and centroids.
pub struct CpuEngine<'a> {
    pub points: &'a [f32],
    pub d: usize,
}

impl Engine for CpuEngine<'_> {
    fn step(&mut self, centroids: &[f32]) -> Result<Vec<f32>> {
        let (labels, _) = self.assign(centroids)?;
        Ok(kmeans::update(self.points, &labels, centroids, self.d))
    }

    fn assign(&mut self, centroids: &[f32]) -> Result<(Vec<u32>, Vec<f32>)> {
        Ok(kmeans::assign(self.points, centroids, self.d))
    }
}

/// The points stay on the GPU for every restart; each call uploads the centroids and reads
/// back only what the host needs (the new centroids, or the labels at the end).
pub struct GpuEngine<'a> {
    ctx: &'a GpuContext,
    n: usize,
    centroids: wgpu::Buffer,
    labels: wgpu::Buffer,
    distances: wgpu::Buffer,
    updated: wgpu::Buffer,
    /// One dispatch per range of centroids, in order.
    assign: Vec<Dispatch>,
    partial_sums: Dispatch,
    update: Dispatch,
}

impl<'a> GpuEngine<'a> {
    /// Fails, before any work, when the sizes are outside the kernels' domain.
    pub fn new(gpu: &'a Gpu, points: &[f32], n: usize, d: usize, k: usize) -> Result<Self> {
        check_kmeans(n, d, k)?;
        let Gpu { ctx, kernels } = gpu;
        ctx.check_binding_size("the points", (points.len() * 4) as u64)?;
        let shape = KmeansShape::new(n, d, k);
        let points = storage_init(ctx, "points", points)?;
        let centroids = storage(ctx, "centroids", k * d)?;
        let labels = storage(ctx, "labels", n)?;
        let distances = storage(ctx, "distances", n)?;
        let partials = storage(ctx, "partial sums", shape.chunks as usize * k * (d + 1))?;
        let updated = storage(ctx, "updated centroids", k * d)?;
        let buffers = KmeansBuffers {
            points: &points,
            centroids: &centroids,
            labels: &labels,
            distances: &distances,
            partials: &partials,
            updated: &updated,
        };
        let k = &kernels.kmeans;
        Ok(GpuEngine {
            ctx,
            n,
            assign: k.assign(ctx, shape, &buffers),
            partial_sums: k.partial_sums(ctx, shape, &buffers),
            update: k.update(ctx, shape, &buffers),
            centroids,
            labels,
            distances,
            updated,
        })
    }
}

impl Engine for GpuEngine<'_> {
    fn step(&mut self, centroids: &[f32]) -> Result<Vec<f32>> {
        let q = &self.ctx.queue;
        q.write_buffer(&self.centroids, 0, bytemuck::cast_slice(centroids));
        let dispatches: Vec<&Dispatch> = self
            .assign
            .iter()
            .chain([&self.partial_sums, &self.update])
            .collect();
        run(self.ctx, &dispatches, 0)?;
        read_f32(self.ctx, &self.updated, 0, centroids.len())
    }

    fn assign(&mut self, centroids: &[f32]) -> Result<(Vec<u32>, Vec<f32>)> {
        let q = &self.ctx.queue;
        q.write_buffer(&self.centroids, 0, bytemuck::cast_slice(centroids));
        run(self.ctx, &self.assign.iter().collect::<Vec<_>>(), 0)?;
        let labels =
            bytemuck::pod_collect_to_vec(&read_bytes(self.ctx, &self.labels, 0, self.n * 4)?);
        Ok((labels, read_f32(self.ctx, &self.distances, 0, self.n)?))
    }
}
