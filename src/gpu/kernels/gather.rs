use anyhow::Result;

use super::{step::STEP_BYTES, Dispatch, StepTable};
use crate::gpu::buffers::{padded, uniform};
use crate::gpu::shader::{bind_group, bind_group_layout, pipeline, Slot};
use crate::gpu::GpuContext;

const STEP: (&str, &str) = ("step.wgsl", include_str!("../../../shaders/step.wgsl"));
const SOURCE: (&str, &str) = ("gather.wgsl", include_str!("../../../shaders/gather.wgsl"));

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct GatherShape {
    width: u32,
    stride: u32,
}

/// Builds a padded f32 batch from u8 images picked through a sample-order buffer.
pub struct Gather {
    layout: wgpu::BindGroupLayout,
    pipeline: wgpu::ComputePipeline,
}

impl Gather {
    pub fn new(ctx: &GpuContext) -> Result<Self> {
        let layout = bind_group_layout(
            ctx,
            "gather",
            &[
                Slot::StepUniform(STEP_BYTES),
                Slot::Uniform,
                Slot::Read,
                Slot::Read,
                Slot::ReadWrite,
            ],
        );
        let pipeline = pipeline(ctx, &[STEP, SOURCE], "gather", &layout, &[])?;
        Ok(Gather { layout, pipeline })
    }

    /// `batch` is `rows_pad x padded(width)`; images are `width` bytes each in `pixels`.
    pub fn dispatch(
        &self,
        ctx: &GpuContext,
        steps: &StepTable,
        (pixels, order): (&wgpu::Buffer, &wgpu::Buffer),
        batch: &wgpu::Buffer,
        width: usize,
        rows_pad: usize,
    ) -> Dispatch {
        let stride = padded(width);
        let shape = uniform(
            ctx,
            "gather shape",
            &GatherShape {
                width: width as u32,
                stride: stride as u32,
            },
        );
        let bind_group = bind_group(
            ctx,
            "gather",
            &self.layout,
            vec![
                steps.binding(),
                shape.as_entire_binding(),
                pixels.as_entire_binding(),
                order.as_entire_binding(),
                batch.as_entire_binding(),
            ],
        );
        Dispatch {
            pipeline: self.pipeline.clone(),
            bind_group,
            workgroups: ((stride as u32).div_ceil(64), rows_pad as u32),
            per_step: true,
        }
    }
}
