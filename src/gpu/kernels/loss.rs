use anyhow::Result;

use super::{row_shape, step::STEP_BYTES, Dispatch, EntryPoint, Kernel, StepTable};
use crate::gpu::shader::Slot;
use crate::gpu::GpuContext;

/// `bce_sigmoid` and `mse`, in that order.
pub(super) fn entry_points() -> [EntryPoint; 2] {
    ["bce_sigmoid", "mse"].map(|entry| EntryPoint {
        entry,
        overrides: Vec::new(),
        parts: vec![wgsl_file!("step.wgsl"), wgsl_file!("loss.wgsl")],
        slots: vec![
            Slot::StepUniform(STEP_BYTES),
            Slot::Uniform,
            Slot::Read,
            Slot::Read,
            Slot::ReadWrite,
            Slot::ReadWrite,
        ],
    })
}

/// What a loss kernel reads and writes. `outputs` (the last layer's logits for BCE, its
/// linear outputs for MSE), `targets` and `grad` are `rows_pad x stride` with `width` valid
/// columns; `losses` takes one value per valid row.
pub struct LossBuffers<'a> {
    pub outputs: &'a wgpu::Buffer,
    pub targets: &'a wgpu::Buffer,
    pub grad: &'a wgpu::Buffer,
    pub losses: &'a wgpu::Buffer,
}

/// Which loss kernel runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LossFunction {
    /// Fused sigmoid + binary cross-entropy on logits.
    BceSigmoid,
    /// Mean squared error on linear outputs.
    Mse,
}

/// The reconstruction losses: per-sample losses and the gradient of the batch's mean loss.
pub struct LossKernels {
    bce_sigmoid: Kernel,
    mse: Kernel,
}

impl LossKernels {
    pub fn new(ctx: &GpuContext) -> Result<Self> {
        let [bce_sigmoid, mse] = &entry_points();
        Ok(LossKernels {
            bce_sigmoid: Kernel::new(ctx, bce_sigmoid)?,
            mse: Kernel::new(ctx, mse)?,
        })
    }

    pub fn dispatch(
        &self,
        ctx: &GpuContext,
        function: LossFunction,
        steps: &StepTable,
        buffers: LossBuffers<'_>,
        width: usize,
        rows_pad: usize,
    ) -> Dispatch {
        let LossBuffers {
            outputs,
            targets,
            grad,
            losses,
        } = buffers;
        let kernel = match function {
            LossFunction::BceSigmoid => &self.bce_sigmoid,
            LossFunction::Mse => &self.mse,
        };
        let shape = row_shape(ctx, width);
        kernel.dispatch(
            ctx,
            vec![
                steps.binding(),
                shape.as_entire_binding(),
                outputs.as_entire_binding(),
                targets.as_entire_binding(),
                grad.as_entire_binding(),
                losses.as_entire_binding(),
            ],
            (rows_pad as u32, 1),
        )
    }
}
