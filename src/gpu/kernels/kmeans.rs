use anyhow::Result;

use super::{Dispatch, EntryPoint, Kernel};
use crate::domain::{kmeans_centroids_per_dispatch, GRID_ROW, KMEANS_CHUNK, KMEANS_MAX_K};
use crate::gpu::buffers::uniform;
use crate::gpu::shader::{grid, wgsl_constants, Slot};
use crate::gpu::GpuContext;

/// `assign`, `assign_subgroup8`, `partial_sums` and `update`, in that order.
pub(super) fn entry_points() -> [EntryPoint; 4] {
    let constants = wgsl_constants(&[
        ("CHUNK", KMEANS_CHUNK as u32),
        ("MAX_K", KMEANS_MAX_K as u32),
        ("ROW", GRID_ROW),
    ]);
    ["assign", "assign_subgroup8", "partial_sums", "update"].map(|entry| EntryPoint {
        entry,
        parts: [
            ("kmeans constants", constants.clone()),
            wgsl_file!("kmeans.wgsl"),
        ]
        .into_iter()
        .chain((entry == "assign_subgroup8").then(|| wgsl_file!("kmeans_assign_subgroup.wgsl")))
        .collect(),
        slots: vec![
            Slot::Uniform,
            Slot::Read,
            Slot::Read,
            Slot::ReadWrite,
            Slot::ReadWrite,
            Slot::ReadWrite,
            Slot::ReadWrite,
        ],
    })
}

/// Sizes of one k-means problem, as the kernels see them.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub struct KmeansShape {
    pub n: u32,
    pub d: u32,
    pub k: u32,
    pub chunks: u32,
    /// The centroids one `assign` dispatch compares: first_centroid .. end_centroid.
    first_centroid: u32,
    end_centroid: u32,
}

impl KmeansShape {
    /// The shape of n points of d features in k clusters; the caller checks it against
    /// `domain::check_kmeans`.
    pub fn new(n: usize, d: usize, k: usize) -> Self {
        KmeansShape {
            n: n as u32,
            d: d as u32,
            k: k as u32,
            chunks: n.div_ceil(KMEANS_CHUNK) as u32,
            first_centroid: 0,
            end_centroid: k as u32,
        }
    }
}

/// The buffers of one k-means problem, in binding order.
pub struct KmeansBuffers<'a> {
    pub points: &'a wgpu::Buffer,
    pub centroids: &'a wgpu::Buffer,
    pub labels: &'a wgpu::Buffer,
    pub distances: &'a wgpu::Buffer,
    pub partials: &'a wgpu::Buffer,
    pub updated: &'a wgpu::Buffer,
}

impl KmeansBuffers<'_> {
    fn bindings<'b>(&'b self, shape: &'b wgpu::Buffer) -> Vec<wgpu::BindingResource<'b>> {
        [
            shape,
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
    /// Points per `assign` workgroup, and centroids it walks at once: 64 and 1 for the plain
    /// kernel, 8 and 8 for the subgroup one.
    subgroup8: bool,
    partial_sums: Kernel,
    update: Kernel,
}

impl Kmeans {
    /// The kernels, with the `assign` that suits the adapter: the subgroup one on adapters
    /// with 8-wide subgroups (lavapipe), the plain one elsewhere.
    pub fn new(ctx: &GpuContext) -> Result<Self> {
        Self::with_assign(ctx, ctx.subgroup8)
    }

    /// The kernels with the subgroup `assign` or the plain one (the subgroup one needs an
    /// adapter with 8-wide subgroups). Both give the same labels and distances; tests run
    /// both.
    pub fn with_assign(ctx: &GpuContext, subgroup8: bool) -> Result<Self> {
        let [assign, assign_subgroup8, partial_sums, update] = &entry_points();
        Ok(Kmeans {
            assign: Kernel::new(ctx, if subgroup8 { assign_subgroup8 } else { assign })?,
            subgroup8,
            partial_sums: Kernel::new(ctx, partial_sums)?,
            update: Kernel::new(ctx, update)?,
        })
    }

    /// Labels and distances of every point to the nearest of `centroids`: one dispatch per
    /// range of centroids that fits the loop budget, to be recorded in order.
    pub fn assign(&self, ctx: &GpuContext, shape: KmeansShape, b: &KmeansBuffers) -> Vec<Dispatch> {
        let (points_per_group, block) = if self.subgroup8 { (8, 8) } else { (64, 1) };
        let groups = shape.n.div_ceil(points_per_group);
        let per_dispatch = kmeans_centroids_per_dispatch(shape.d as usize, block) as u32;
        (0..shape.k)
            .step_by(per_dispatch as usize)
            .map(|first| {
                let range = KmeansShape {
                    first_centroid: first,
                    end_centroid: (first + per_dispatch).min(shape.k),
                    ..shape
                };
                let shape = uniform(ctx, "kmeans shape", &range);
                self.assign
                    .dispatch(ctx, b.bindings(&shape), grid(groups, GRID_ROW))
            })
            .collect()
    }

    /// The per-chunk sums of the points of each cluster (after `assign`).
    pub fn partial_sums(
        &self,
        ctx: &GpuContext,
        shape: KmeansShape,
        b: &KmeansBuffers,
    ) -> Dispatch {
        let shape_buffer = uniform(ctx, "kmeans shape", &shape);
        self.partial_sums.dispatch(
            ctx,
            b.bindings(&shape_buffer),
            ((shape.d + 1).div_ceil(64), shape.chunks),
        )
    }

    /// The new centroids into `updated` (after `partial_sums`).
    pub fn update(&self, ctx: &GpuContext, shape: KmeansShape, b: &KmeansBuffers) -> Dispatch {
        let shape_buffer = uniform(ctx, "kmeans shape", &shape);
        self.update.dispatch(
            ctx,
            b.bindings(&shape_buffer),
            (shape.d.div_ceil(64), shape.k),
        )
    }
}
