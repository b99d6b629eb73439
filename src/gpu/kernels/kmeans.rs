use anyhow::Result;

use super::{Dispatch, Kernel};
use crate::gpu::shader::{grid, Slot};
use crate::gpu::GpuContext;

const SOURCE: (&str, &str) = ("kmeans.wgsl", include_str!("../../../shaders/kmeans.wgsl"));
/// Must match CHUNK, MAX_K and ROW in kmeans.wgsl.
pub const KMEANS_CHUNK: usize = 256;
pub const KMEANS_MAX_K: usize = 256;
const GRID_ROW: u32 = 65535;

/// Sizes of one k-means problem, as the kernels see them.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub struct KmeansShape {
    pub n: u32,
    pub d: u32,
    pub k: u32,
    pub chunks: u32,
}

impl KmeansShape {
    pub fn new(n: usize, d: usize, k: usize) -> Self {
        KmeansShape {
            n: n as u32,
            d: d as u32,
            k: k as u32,
            chunks: n.div_ceil(KMEANS_CHUNK) as u32,
        }
    }
}

/// The buffers of one k-means problem: `[shape, points, centroids, labels, distances,
/// partials, updated]` in binding order.
pub struct KmeansBuffers<'a> {
    pub shape: &'a wgpu::Buffer,
    pub points: &'a wgpu::Buffer,
    pub centroids: &'a wgpu::Buffer,
    pub labels: &'a wgpu::Buffer,
    pub distances: &'a wgpu::Buffer,
    pub partials: &'a wgpu::Buffer,
    pub updated: &'a wgpu::Buffer,
}

impl KmeansBuffers<'_> {
    fn bindings(&self) -> Vec<wgpu::BindingResource<'_>> {
        [
            self.shape,
            self.points,
            self.centroids,
            self.labels,
            self.distances,
            self.partials,
            self.updated,
        ]
        .iter()
        .map(|b| b.as_entire_binding())
        .collect()
    }
}

/// Lloyd's k-means: assignment, deterministic partial sums, centroid update.
pub struct Kmeans {
    assign: Kernel,
    partial_sums: Kernel,
    update: Kernel,
}

const SLOTS: [Slot; 7] = [
    Slot::Uniform,
    Slot::Read,
    Slot::Read,
    Slot::ReadWrite,
    Slot::ReadWrite,
    Slot::ReadWrite,
    Slot::ReadWrite,
];

impl Kmeans {
    pub fn new(ctx: &GpuContext) -> Result<Self> {
        Ok(Kmeans {
            assign: Kernel::new(ctx, &[SOURCE], "assign", &SLOTS)?,
            partial_sums: Kernel::new(ctx, &[SOURCE], "partial_sums", &SLOTS)?,
            update: Kernel::new(ctx, &[SOURCE], "update", &SLOTS)?,
        })
    }

    /// Labels and distances of every point to the nearest of `centroids`.
    pub fn assign(&self, ctx: &GpuContext, shape: KmeansShape, b: &KmeansBuffers) -> Dispatch {
        let groups = shape.n.div_ceil(64);
        self.assign
            .dispatch(ctx, b.bindings(), grid(groups, GRID_ROW))
    }

    /// The per-chunk sums of the points of each cluster (after `assign`).
    pub fn partial_sums(
        &self,
        ctx: &GpuContext,
        shape: KmeansShape,
        b: &KmeansBuffers,
    ) -> Dispatch {
        self.partial_sums.dispatch(
            ctx,
            b.bindings(),
            ((shape.d + 1).div_ceil(64), shape.chunks),
        )
    }

    /// The new centroids into `updated` (after `partial_sums`).
    pub fn update(&self, ctx: &GpuContext, shape: KmeansShape, b: &KmeansBuffers) -> Dispatch {
        self.update
            .dispatch(ctx, b.bindings(), (shape.d.div_ceil(64), shape.k))
    }
}
