use anyhow::Result;

use super::{step::STEP_BYTES, Dispatch, StepTable};
use crate::gpu::buffers::{padded, uniform};
use crate::gpu::shader::{bind_group, bind_group_layout, pipeline, Slot};
use crate::gpu::GpuContext;

const STEP: (&str, &str) = ("step.wgsl", include_str!("../../../shaders/step.wgsl"));
const SOURCE: (&str, &str) = ("loss.wgsl", include_str!("../../../shaders/loss.wgsl"));

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct LossShape {
    width: u32,
    stride: u32,
}

/// What the loss kernel reads and writes. `logits`, `targets` and `grad` are
/// `rows_pad x stride` with `width` valid columns; `losses` takes one value per valid row.
pub struct LossBuffers<'a> {
    pub logits: &'a wgpu::Buffer,
    pub targets: &'a wgpu::Buffer,
    pub grad: &'a wgpu::Buffer,
    pub losses: &'a wgpu::Buffer,
}

/// Fused sigmoid + binary cross-entropy: per-sample losses and dL/dlogits.
pub struct BceLoss {
    layout: wgpu::BindGroupLayout,
    pipeline: wgpu::ComputePipeline,
}

impl BceLoss {
    pub fn new(ctx: &GpuContext) -> Result<Self> {
        let layout = bind_group_layout(
            ctx,
            "bce",
            &[
                Slot::StepUniform(STEP_BYTES),
                Slot::Uniform,
                Slot::Read,
                Slot::Read,
                Slot::ReadWrite,
                Slot::ReadWrite,
            ],
        );
        let pipeline = pipeline(ctx, &[STEP, SOURCE], "bce_sigmoid", &layout, &[])?;
        Ok(BceLoss { layout, pipeline })
    }

    pub fn dispatch(
        &self,
        ctx: &GpuContext,
        steps: &StepTable,
        buffers: LossBuffers<'_>,
        width: usize,
        rows_pad: usize,
    ) -> Dispatch {
        let LossBuffers {
            logits,
            targets,
            grad,
            losses,
        } = buffers;
        let stride = padded(width);
        let shape = uniform(
            ctx,
            "bce shape",
            &LossShape {
                width: width as u32,
                stride: stride as u32,
            },
        );
        let bind_group = bind_group(
            ctx,
            "bce",
            &self.layout,
            vec![
                steps.binding(),
                shape.as_entire_binding(),
                logits.as_entire_binding(),
                targets.as_entire_binding(),
                grad.as_entire_binding(),
                losses.as_entire_binding(),
            ],
        );
        Dispatch {
            pipeline: self.pipeline.clone(),
            bind_group,
            workgroups: (rows_pad as u32, 1),
            per_step: true,
        }
    }
}
