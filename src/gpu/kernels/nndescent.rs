use anyhow::Result;

use super::{Dispatch, EntryPoint, Kernel};
use crate::domain::{GRID_ROW, UMAP_MAX_NEIGHBORS};
use crate::gpu::buffers::uniform;
use crate::gpu::shader::{grid, wgsl_constants, Slot};
use crate::gpu::GpuContext;

/// The entry points of umap_forest.wgsl.
const FOREST: [&str; 4] = ["tree_start", "tree_sides", "tree_scatter", "permute_points"];
/// The entry points of umap_nndescent.wgsl.
const DESCENT: [&str; 6] = [
    "initial_lists",
    "offer_leaves",
    "count_reverse",
    "fill_reverse",
    "draw_samples",
    "join_samples",
];

/// The forest's entry points, then NN-descent's, in the orders of FOREST and DESCENT.
pub(super) fn entry_points() -> Vec<EntryPoint> {
    use Slot::{Read, ReadWrite, Uniform};
    let forest = FOREST.map(|entry| EntryPoint {
        entry,
        overrides: Vec::new(),
        parts: vec![
            wgsl_file!("hash.wgsl"),
            wgsl_file!("in_order.wgsl"),
            wgsl_file!("umap_forest.wgsl"),
        ],
        slots: vec![Uniform, Read, Read, ReadWrite, Read, ReadWrite, ReadWrite],
    });
    let descent = DESCENT.map(|entry| EntryPoint {
        entry,
        overrides: Vec::new(),
        parts: vec![
            (
                "nndescent constants",
                wgsl_constants(&[("MAX_K", UMAP_MAX_NEIGHBORS as u32), ("ROW", GRID_ROW)]),
            ),
            wgsl_file!("hash.wgsl"),
            wgsl_file!("in_order.wgsl"),
            wgsl_file!("umap_nndescent.wgsl"),
        ],
        slots: vec![
            Uniform, Read, ReadWrite, ReadWrite, ReadWrite, Read, ReadWrite, ReadWrite, Read,
        ],
    });
    forest.into_iter().chain(descent).collect()
}

/// One level of one tree, as umap_forest.wgsl sees it.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub struct TreeShape {
    pub n: u32,
    /// vec4s per point.
    pub quads: u32,
    pub seed: u32,
    pub tree: u32,
    pub level: u32,
    pub leaf: u32,
    /// Always 0 (see `opaque` in the shader).
    pub zero_bits: u32,
    pub _pad: u32,
}

/// One step of NN-descent, as umap_nndescent.wgsl sees it.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub struct DescentShape {
    pub n: u32,
    pub k: u32,
    /// Neighbours sampled per point, new and old each.
    pub m: u32,
    pub quads: u32,
    pub seed: u32,
    pub iteration: u32,
    /// `draw_samples`: the range of reverse entries; `join_samples`: of sample slots.
    pub first: u32,
    pub end: u32,
    pub leaf: u32,
    /// `join_samples`: the last range; `offer_leaves`: the tree's order is the identity.
    pub flag: u32,
    /// Always 0 (see `opaque` in the shader).
    pub zero_bits: u32,
    pub _pad: u32,
}

/// umap_forest.wgsl's bindings.
pub struct ForestBuffers<'a> {
    pub points: &'a wgpu::Buffer,
    pub tree_in: &'a wgpu::Buffer,
    pub sides: &'a wgpu::Buffer,
    pub prefix: &'a wgpu::Buffer,
    pub tree_out: &'a wgpu::Buffer,
    pub permuted: &'a wgpu::Buffer,
}

/// umap_nndescent.wgsl's bindings.
pub struct DescentBuffers<'a> {
    pub points: &'a wgpu::Buffer,
    pub entries: &'a wgpu::Buffer,
    pub squared: &'a wgpu::Buffer,
    pub counts: &'a wgpu::Buffer,
    pub offsets: &'a wgpu::Buffer,
    pub sources: &'a wgpu::Buffer,
    pub samples: &'a wgpu::Buffer,
    pub tree: &'a wgpu::Buffer,
}

/// A forest entry point, by its place in FOREST.
#[derive(Clone, Copy, Debug)]
pub enum ForestStep {
    Start,
    Sides,
    Scatter,
    Permute,
}

/// An NN-descent entry point, by its place in DESCENT.
#[derive(Clone, Copy, Debug)]
pub enum DescentStep {
    InitialLists,
    OfferLeaves,
    CountReverse,
    FillReverse,
    DrawSamples,
    Join,
}

/// The random projection trees' and NN-descent's kernels.
pub struct NnDescentKernels {
    forest: Vec<Kernel>,
    descent: Vec<Kernel>,
}

impl NnDescentKernels {
    pub fn new(ctx: &GpuContext) -> Result<Self> {
        let mut forest = entry_points()
            .iter()
            .map(|spec| Kernel::new(ctx, spec))
            .collect::<Result<Vec<_>>>()?;
        let descent = forest.split_off(FOREST.len());
        Ok(NnDescentKernels { forest, descent })
    }

    /// `step` over every position of the shape's n.
    pub fn forest(
        &self,
        ctx: &GpuContext,
        step: ForestStep,
        shape: &TreeShape,
        buffers: &ForestBuffers<'_>,
    ) -> Dispatch {
        let shape_buffer = uniform(ctx, "tree shape", shape);
        let resources = vec![
            shape_buffer.as_entire_binding(),
            buffers.points.as_entire_binding(),
            buffers.tree_in.as_entire_binding(),
            buffers.sides.as_entire_binding(),
            buffers.prefix.as_entire_binding(),
            buffers.tree_out.as_entire_binding(),
            buffers.permuted.as_entire_binding(),
        ];
        self.forest[step as usize].dispatch(ctx, resources, (shape.n.div_ceil(64), 1))
    }

    /// `step` over every point (every entry for the reverse steps).
    pub fn descent(
        &self,
        ctx: &GpuContext,
        step: DescentStep,
        shape: &DescentShape,
        buffers: &DescentBuffers<'_>,
    ) -> Dispatch {
        let shape_buffer = uniform(ctx, "descent shape", shape);
        let resources = vec![
            shape_buffer.as_entire_binding(),
            buffers.points.as_entire_binding(),
            buffers.entries.as_entire_binding(),
            buffers.squared.as_entire_binding(),
            buffers.counts.as_entire_binding(),
            buffers.offsets.as_entire_binding(),
            buffers.sources.as_entire_binding(),
            buffers.samples.as_entire_binding(),
            buffers.tree.as_entire_binding(),
        ];
        let workgroups = match step {
            DescentStep::CountReverse | DescentStep::FillReverse => {
                grid((shape.n * shape.k).div_ceil(64), GRID_ROW)
            }
            _ => (shape.n.div_ceil(64), 1),
        };
        self.descent[step as usize].dispatch(ctx, resources, workgroups)
    }
}
