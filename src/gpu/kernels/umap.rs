use anyhow::Result;

use super::{Dispatch, EntryPoint, Kernel, StepTable};
use crate::domain::{knn_columns_per_dispatch, GRID_ROW, UMAP_MAX_NEIGHBORS};
use crate::gpu::buffers::uniform;
use crate::gpu::shader::{grid, wgsl_constants, Slot};
use crate::gpu::GpuContext;

/// `top_k`, `memberships` and `layout_edges`, in that order.
pub(super) fn entry_points() -> [EntryPoint; 3] {
    use Slot::{Read, ReadWrite, Uniform};
    let colour = Slot::StepUniform(std::mem::size_of::<LayoutColour>() as u64);
    [
        EntryPoint {
            entry: "top_k",
            overrides: Vec::new(),
            parts: vec![
                (
                    "top_k constants",
                    wgsl_constants(&[("MAX_K", UMAP_MAX_NEIGHBORS as u32)]),
                ),
                wgsl_file!("umap_knn.wgsl"),
            ],
            slots: vec![Uniform, Read, Read, ReadWrite, ReadWrite],
        },
        EntryPoint {
            entry: "memberships",
            overrides: Vec::new(),
            parts: vec![wgsl_file!("umap_graph.wgsl")],
            slots: vec![Uniform, Read, ReadWrite],
        },
        EntryPoint {
            entry: "layout_edges",
            overrides: Vec::new(),
            parts: vec![
                ("layout constants", wgsl_constants(&[("ROW", GRID_ROW)])),
                wgsl_file!("hash.wgsl"),
                wgsl_file!("umap_layout.wgsl"),
            ],
            slots: vec![colour, Uniform, Read, Read, Read, ReadWrite],
        },
    ]
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct KnnShape {
    n: u32,
    k: u32,
    first_row: u32,
    rows: u32,
    stride: u32,
    first_col: u32,
    end_col: u32,
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct GraphShape {
    n: u32,
    k: u32,
    mean_distance: f32,
    _pad: u32,
}

/// The per-(epoch, colour) values of `umap_layout.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub struct LayoutColour {
    pub epoch: u32,
    pub alpha: f32,
    /// The colour's edges are `first..first + count` of the edge list.
    pub first: u32,
    pub count: u32,
}

/// Sizes and constants of one layout problem.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub struct LayoutShape {
    pub n: u32,
    pub dims: u32,
    pub seed: u32,
    pub a: f32,
    pub b: f32,
}

/// The buffers of the layout: the coloured edges, the directed edges' periods, the previous
/// epoch's positions and the positions being moved.
pub struct LayoutBuffers<'a> {
    pub ends: &'a wgpu::Buffer,
    pub periods: &'a wgpu::Buffer,
    pub previous: &'a wgpu::Buffer,
    pub positions: &'a wgpu::Buffer,
}

/// One block of rows of the kNN: rows `first..first + rows` of `n` points, whose dot products
/// with every point are rows x `stride` (the padded point count), and the `k` neighbours kept.
#[derive(Clone, Copy, Debug)]
pub struct KnnBlock {
    pub n: usize,
    pub k: usize,
    pub first: usize,
    pub rows: usize,
    pub stride: usize,
}

/// What `top_k` reads (a block's dot products, every point's squared norm) and writes (the
/// n x k neighbour indices and squared distances).
pub struct KnnBuffers<'a> {
    pub dots: &'a wgpu::Buffer,
    pub norms: &'a wgpu::Buffer,
    pub indices: &'a wgpu::Buffer,
    pub distances: &'a wgpu::Buffer,
}

/// What `memberships` reads (n x k squared distances) and writes (n x k weights).
pub struct MembershipBuffers<'a> {
    pub squared: &'a wgpu::Buffer,
    pub weights: &'a wgpu::Buffer,
}

/// UMAP's kernels: per-row top-k of a distance block, membership weights, layout colours.
pub struct UmapKernels {
    top_k: Kernel,
    memberships: Kernel,
    layout: Kernel,
}

impl UmapKernels {
    pub fn new(ctx: &GpuContext) -> Result<Self> {
        let [top_k, memberships, layout] = &entry_points();
        Ok(UmapKernels {
            top_k: Kernel::new(ctx, top_k)?,
            memberships: Kernel::new(ctx, memberships)?,
            layout: Kernel::new(ctx, layout)?,
        })
    }

    /// The `block.k` nearest neighbours of the block's rows from their dot products with
    /// every point and the squared norms; writes the rows' entries of the indices and squared
    /// distances (n x k). One dispatch per range of columns that fits the loop budget, to be
    /// recorded in order.
    pub fn top_k(
        &self,
        ctx: &GpuContext,
        block: KnnBlock,
        buffers: &KnnBuffers<'_>,
    ) -> Vec<Dispatch> {
        let KnnBlock {
            n,
            k,
            first,
            rows,
            stride,
        } = block;
        let columns = knn_columns_per_dispatch(k);
        (0..n)
            .step_by(columns)
            .map(|first_col| {
                let shape = KnnShape {
                    n: n as u32,
                    k: k as u32,
                    first_row: first as u32,
                    rows: rows as u32,
                    stride: stride as u32,
                    first_col: first_col as u32,
                    end_col: (first_col + columns).min(n) as u32,
                };
                self.top_k.dispatch(
                    ctx,
                    vec![
                        uniform(ctx, "knn shape", &shape).as_entire_binding(),
                        buffers.dots.as_entire_binding(),
                        buffers.norms.as_entire_binding(),
                        buffers.indices.as_entire_binding(),
                        buffers.distances.as_entire_binding(),
                    ],
                    ((rows as u32).div_ceil(64), 1),
                )
            })
            .collect()
    }

    /// Membership weights (n x k) from the squared kNN distances.
    pub fn memberships(
        &self,
        ctx: &GpuContext,
        n: usize,
        k: usize,
        mean_distance: f32,
        buffers: MembershipBuffers<'_>,
    ) -> Dispatch {
        let shape = GraphShape {
            n: n as u32,
            k: k as u32,
            mean_distance,
            _pad: 0,
        };
        self.memberships.dispatch(
            ctx,
            vec![
                uniform(ctx, "graph shape", &shape).as_entire_binding(),
                buffers.squared.as_entire_binding(),
                buffers.weights.as_entire_binding(),
            ],
            ((n as u32).div_ceil(64), 1),
        )
    }

    /// The edges of one colour, `count` of them: their epoch, alpha and place in the edge list
    /// come from the slot of `slots` at the dynamic offset it is recorded with.
    pub fn layout(
        &self,
        ctx: &GpuContext,
        shape: &LayoutShape,
        (slots, count): (&StepTable, usize),
        buffers: LayoutBuffers<'_>,
    ) -> Dispatch {
        let slot_bytes = std::mem::size_of::<LayoutColour>() as u64;
        self.layout.dispatch(
            ctx,
            vec![
                slots.binding_of(slot_bytes),
                uniform(ctx, "layout shape", shape).as_entire_binding(),
                buffers.ends.as_entire_binding(),
                buffers.periods.as_entire_binding(),
                buffers.previous.as_entire_binding(),
                buffers.positions.as_entire_binding(),
            ],
            grid((count as u32).div_ceil(64), GRID_ROW),
        )
    }
}
