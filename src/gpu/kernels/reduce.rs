use anyhow::Result;

use super::Dispatch;
use crate::gpu::buffers::uniform;
use crate::gpu::shader::{bind_group, bind_group_layout, pipeline, Slot};
use crate::gpu::GpuContext;

const SOURCE: (&str, &str) = ("reduce.wgsl", include_str!("../../../shaders/reduce.wgsl"));

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct ReduceShape {
    rows: u32,
    stride: u32,
}

/// Column sums of a matrix (the bias gradient).
pub struct ColumnSums {
    layout: wgpu::BindGroupLayout,
    pipeline: wgpu::ComputePipeline,
}

impl ColumnSums {
    pub fn new(ctx: &GpuContext) -> Result<Self> {
        let layout = bind_group_layout(
            ctx,
            "column sums",
            &[Slot::Uniform, Slot::Read, Slot::ReadWrite],
        );
        let pipeline = pipeline(ctx, &[SOURCE], "column_sums", &layout, &[])?;
        Ok(ColumnSums { layout, pipeline })
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
        let bind_group = bind_group(
            ctx,
            "column sums",
            &self.layout,
            vec![shape.as_entire_binding(), matrix, sums],
        );
        Dispatch {
            pipeline: self.pipeline.clone(),
            bind_group,
            workgroups: ((stride as u32).div_ceil(64), 1),
            per_step: false,
        }
    }
}
