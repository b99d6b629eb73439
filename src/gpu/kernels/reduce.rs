use anyhow::Result;

use super::{Dispatch, EntryPoint, Kernel};
use crate::gpu::buffers::uniform;
use crate::gpu::shader::Slot;
use crate::gpu::GpuContext;

pub(super) fn entry_points() -> Vec<EntryPoint> {
    vec![EntryPoint {
        entry: "column_sums",
        overrides: Vec::new(),
        parts: vec![wgsl_file!("reduce.wgsl")],
        slots: vec![Slot::Uniform, Slot::Read, Slot::ReadWrite],
    }]
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct ReduceShape {
    rows: u32,
    stride: u32,
}

/// Column sums of a matrix (the bias gradient).
pub struct ColumnSums(Kernel);

impl ColumnSums {
    pub fn new(ctx: &GpuContext) -> Result<Self> {
        Kernel::new(ctx, &entry_points()[0]).map(ColumnSums)
    }

    /// Sums the `rows` x `stride` matrix into `sums` (`stride` floats).
    pub fn dispatch(
        &self,
        ctx: &GpuContext,
        matrix: wgpu::BindingResource<'_>,
        sums: wgpu::BindingResource<'_>,
        rows: usize,
        stride: usize,
    ) -> Dispatch {
        let shape = uniform(
            ctx,
            "column sums shape",
            &ReduceShape {
                rows: rows as u32,
                stride: stride as u32,
            },
        );
        self.0.dispatch(
            ctx,
            vec![shape.as_entire_binding(), matrix, sums],
            ((stride as u32).div_ceil(64), 1),
        )
    }
}
