//! One Rust wrapper per WGSL kernel family. Each builds its pipelines once and turns buffers
//! into `Dispatch`es: a pipeline, a bind group and a grid, ready to record any number of times.

mod adam;
mod gather;
mod loss;
mod matmul;
mod reduce;
mod step;

pub use adam::{Adam, AdamBuffers, AdamConfig};
pub use gather::Gather;
pub use loss::{BceLoss, LossBuffers};
pub use matmul::{Epilogue, Matmul, MatmulDims, MatmulKind, MatmulOperands, MatmulVariant};
pub use reduce::ColumnSums;
pub use step::{StepParams, StepTable};

use anyhow::Result;

use super::shader::{bind_group, bind_group_layout, pipeline, Slot};
use super::GpuContext;

/// One kernel launch with its resources bound.
pub struct Dispatch {
    pipeline: wgpu::ComputePipeline,
    bind_group: wgpu::BindGroup,
    workgroups: (u32, u32),
    /// The bind group takes the per-step uniform at a dynamic offset.
    per_step: bool,
}

impl Dispatch {
    /// Records this launch; `step_offset` is the byte offset of the step's uniform slot.
    pub fn record(&self, pass: &mut wgpu::ComputePass<'_>, step_offset: u32) {
        pass.set_pipeline(&self.pipeline);
        if self.per_step {
            pass.set_bind_group(0, &self.bind_group, &[step_offset]);
        } else {
            pass.set_bind_group(0, &self.bind_group, &[]);
        }
        pass.dispatch_workgroups(self.workgroups.0, self.workgroups.1, 1);
    }
}

/// One WGSL entry point with its bind group layout: what every single-pipeline family wraps.
struct Kernel {
    layout: wgpu::BindGroupLayout,
    pipeline: wgpu::ComputePipeline,
    per_step: bool,
}

impl Kernel {
    /// `slots` in binding order; a leading `StepUniform` makes the kernel per-step.
    fn new(ctx: &GpuContext, parts: &[(&str, &str)], entry: &str, slots: &[Slot]) -> Result<Self> {
        let layout = bind_group_layout(ctx, entry, slots);
        let pipeline = pipeline(ctx, parts, entry, &layout, &[])?;
        let per_step = matches!(slots.first(), Some(Slot::StepUniform(_)));
        Ok(Kernel {
            layout,
            pipeline,
            per_step,
        })
    }

    fn dispatch(
        &self,
        ctx: &GpuContext,
        resources: Vec<wgpu::BindingResource<'_>>,
        workgroups: (u32, u32),
    ) -> Dispatch {
        Dispatch {
            pipeline: self.pipeline.clone(),
            bind_group: bind_group(ctx, "kernel", &self.layout, resources),
            workgroups,
            per_step: self.per_step,
        }
    }
}

/// A uniform holding a row's valid width and its padded stride, for kernels that walk
/// padded rows (`GatherShape` and `LossShape` in WGSL).
fn row_shape(ctx: &GpuContext, width: usize) -> wgpu::Buffer {
    let shape = [width as u32, crate::gpu::buffers::padded(width) as u32];
    crate::gpu::buffers::uniform(ctx, "row shape", &shape)
}

/// Records `dispatches` once, in order, submits and waits.
pub fn run(ctx: &GpuContext, dispatches: &[&Dispatch], step_offset: u32) -> Result<()> {
    let mut encoder = ctx.device.create_command_encoder(&Default::default());
    {
        let mut pass = encoder.begin_compute_pass(&Default::default());
        for d in dispatches {
            d.record(&mut pass, step_offset);
        }
    }
    ctx.queue.submit([encoder.finish()]);
    ctx.wait()
}

/// Every kernel family, compiled once at start-up.
pub struct Kernels {
    pub matmul: Matmul,
    pub gather: Gather,
    pub loss: BceLoss,
    pub column_sums: ColumnSums,
    pub adam: Adam,
}

impl Kernels {
    pub fn new(ctx: &GpuContext) -> Result<Self> {
        Ok(Kernels {
            matmul: Matmul::new(ctx)?,
            gather: Gather::new(ctx)?,
            loss: BceLoss::new(ctx)?,
            column_sums: ColumnSums::new(ctx)?,
            adam: Adam::new(ctx)?,
        })
    }
}
