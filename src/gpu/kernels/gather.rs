use anyhow::Result;

use super::{row_shape, step::STEP_BYTES, Dispatch, Kernel, StepTable};
use crate::gpu::buffers::padded;
use crate::gpu::shader::Slot;
use crate::gpu::GpuContext;

const STEP: (&str, &str) = ("step.wgsl", include_str!("../../../shaders/step.wgsl"));
const SOURCE: (&str, &str) = ("gather.wgsl", include_str!("../../../shaders/gather.wgsl"));

/// Builds a padded f32 batch from u8 images picked through a sample-order buffer.
pub struct Gather(Kernel);

impl Gather {
    pub fn new(ctx: &GpuContext) -> Result<Self> {
        Kernel::new(
            ctx,
            &[STEP, SOURCE],
            "gather",
            &[
                Slot::StepUniform(STEP_BYTES),
                Slot::Uniform,
                Slot::Read,
                Slot::Read,
                Slot::ReadWrite,
            ],
        )
        .map(Gather)
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
        let shape = row_shape(ctx, width);
        self.0.dispatch(
            ctx,
            vec![
                steps.binding(),
                shape.as_entire_binding(),
                pixels.as_entire_binding(),
                order.as_entire_binding(),
                batch.as_entire_binding(),
            ],
            ((stride as u32).div_ceil(64), rows_pad as u32),
        )
    }
}
