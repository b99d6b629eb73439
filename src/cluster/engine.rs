//! One Lloyd iteration and one assignment, on the GPU (WGSL) or on the CPU (its exact twin).

use anyhow::Result;
use rayon::prelude::*;

use super::nearest::{nearest_centroids, CentroidBlocks};
use crate::gpu::buffers::{read_bytes, read_f32, storage, storage_init};
use crate::gpu::kernels::domain::KMEANS_CHUNK;
use crate::gpu::kernels::{run, Dispatch, Kernels, KmeansBuffers, KmeansShape};
use crate::gpu::GpuContext;

/// Where Lloyd's iterations run.
pub trait Engine {
    /// One iteration from `centroids`: assign every point, then the new centroids.
    fn step(&mut self, centroids: &[f32]) -> Result<Vec<f32>>;
    /// Every point's nearest centroid and squared distance.
    fn assign(&mut self, centroids: &[f32]) -> Result<(Vec<u32>, Vec<f32>)>;
}

/// The CPU twin of kmeans.wgsl: the same operations in the same order, so the same centroids
/// give bit-identical labels and distances.
pub struct CpuEngine<'a> {
    pub points: &'a [f32],
    pub d: usize,
    pub k: usize,
}

impl Engine for CpuEngine<'_> {
    fn step(&mut self, centroids: &[f32]) -> Result<Vec<f32>> {
        let (labels, _) = self.assign(centroids)?;
        let (d, k) = (self.d, self.k);
        // Per chunk, per cluster: d sums and a count, added in point order.
        let partials: Vec<Vec<f32>> = labels
            .par_chunks(KMEANS_CHUNK)
            .zip(self.points.par_chunks(KMEANS_CHUNK * d))
            .map(|(chunk_labels, chunk_points)| {
                let mut acc = vec![0.0f32; k * (d + 1)];
                for (&c, x) in chunk_labels.iter().zip(chunk_points.chunks(d)) {
                    let row = &mut acc[c as usize * (d + 1)..(c as usize + 1) * (d + 1)];
                    for (a, &v) in row.iter_mut().zip(x) {
                        *a += v;
                    }
                    row[d] += 1.0;
                }
                acc
            })
            .collect();
        let mut updated = centroids.to_vec();
        for c in 0..k {
            for j in 0..d {
                let (mut sum, mut count) = (0.0f32, 0.0f32);
                for p in &partials {
                    sum += p[c * (d + 1) + j];
                    count += p[c * (d + 1) + d];
                }
                if count > 0.0 {
                    updated[c * d + j] = sum / count;
                }
            }
        }
        Ok(updated)
    }

    fn assign(&mut self, centroids: &[f32]) -> Result<(Vec<u32>, Vec<f32>)> {
        let blocks = CentroidBlocks::new(centroids, self.d);
        Ok(nearest_centroids(self.points, &blocks))
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
    pub fn new(
        ctx: &'a GpuContext,
        kernels: &Kernels,
        points: &[f32],
        (n, d, k): (usize, usize, usize),
    ) -> Result<Self> {
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
