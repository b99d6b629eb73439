use anyhow::Result;

use super::{row_shape, step::STEP_BYTES, Dispatch, Kernel, StepTable};
use crate::gpu::shader::Slot;
use crate::gpu::GpuContext;

const STEP: (&str, &str) = ("step.wgsl", include_str!("../../../shaders/step.wgsl"));
const SOURCE: (&str, &str) = ("loss.wgsl", include_str!("../../../shaders/loss.wgsl"));

/// What the loss kernel reads and writes. `logits`, `targets` and `grad` are
/// `rows_pad x stride` with `width` valid columns; `losses` takes one value per valid row.
pub struct LossBuffers<'a> {
    pub logits: &'a wgpu::Buffer,
    pub targets: &'a wgpu::Buffer,
    pub grad: &'a wgpu::Buffer,
    pub losses: &'a wgpu::Buffer,
}

/// Fused sigmoid + binary cross-entropy: per-sample losses and dL/dlogits.
pub struct BceLoss(Kernel);

impl BceLoss {
    pub fn new(ctx: &GpuContext) -> Result<Self> {
        Kernel::new(
            ctx,
            &[STEP, SOURCE],
            "bce_sigmoid",
            &[
                Slot::StepUniform(STEP_BYTES),
                Slot::Uniform,
                Slot::Read,
                Slot::Read,
                Slot::ReadWrite,
                Slot::ReadWrite,
            ],
        )
        .map(BceLoss)
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
        let shape = row_shape(ctx, width);
        self.0.dispatch(
            ctx,
            vec![
                steps.binding(),
                shape.as_entire_binding(),
                logits.as_entire_binding(),
                targets.as_entire_binding(),
                grad.as_entire_binding(),
                losses.as_entire_binding(),
            ],
            (rows_pad as u32, 1),
        )
    }
}
