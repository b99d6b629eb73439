use anyhow::Result;

use super::{step::STEP_BYTES, Dispatch, EntryPoint, Kernel, StepTable};
use crate::gpu::buffers::uniform;
use crate::gpu::shader::{grid, wgsl_constants, Slot};
use crate::gpu::GpuContext;

/// Workgroups per row of Adam's 2-D grid (`ROW` in adam.wgsl).
const GRID_ROW: u32 = 4096;

pub(super) fn entry_points() -> Vec<EntryPoint> {
    vec![EntryPoint {
        entry: "adam",
        overrides: Vec::new(),
        parts: vec![
            ("adam constants", wgsl_constants(&[("ROW", GRID_ROW)])),
            wgsl_file!("step.wgsl"),
            wgsl_file!("adam.wgsl"),
        ],
        slots: vec![
            Slot::StepUniform(STEP_BYTES),
            Slot::Uniform,
            Slot::ReadWrite,
            Slot::Read,
            Slot::ReadWrite,
            Slot::ReadWrite,
            Slot::ReadWrite,
        ],
    }]
}

/// Adam's decay rates and epsilon, as the kernel takes them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamCoefficients {
    pub beta1: f32,
    pub beta2: f32,
    pub epsilon: f32,
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct AdamConsts {
    beta1: f32,
    beta2: f32,
    epsilon: f32,
    count4: u32,
}

/// The flat buffers Adam reads and updates, all of the same length, and the per-sample losses
/// where a step that makes a parameter non-finite is marked NaN.
pub struct AdamBuffers<'a> {
    pub params: &'a wgpu::Buffer,
    pub grads: &'a wgpu::Buffer,
    pub m: &'a wgpu::Buffer,
    pub v: &'a wgpu::Buffer,
    pub losses: &'a wgpu::Buffer,
}

/// Adam over flat parameter, gradient and moment buffers, in one dispatch.
pub struct Adam(Kernel);

impl Adam {
    pub fn new(ctx: &GpuContext) -> Result<Self> {
        Kernel::new(ctx, &entry_points()[0]).map(Adam)
    }

    /// Updates `count` floats (a multiple of 4) of `params` and the moments `m`, `v`.
    pub fn dispatch(
        &self,
        ctx: &GpuContext,
        steps: &StepTable,
        coefficients: AdamCoefficients,
        buffers: AdamBuffers<'_>,
        count: usize,
    ) -> Dispatch {
        let AdamBuffers {
            params,
            grads,
            m,
            v,
            losses,
        } = buffers;
        assert!(count.is_multiple_of(4), "Adam updates whole vec4s");
        let consts = uniform(
            ctx,
            "adam consts",
            &AdamConsts {
                beta1: coefficients.beta1,
                beta2: coefficients.beta2,
                epsilon: coefficients.epsilon,
                count4: (count / 4) as u32,
            },
        );
        self.0.dispatch(
            ctx,
            vec![
                steps.binding(),
                consts.as_entire_binding(),
                params.as_entire_binding(),
                grads.as_entire_binding(),
                m.as_entire_binding(),
                v.as_entire_binding(),
                losses.as_entire_binding(),
            ],
            grid(((count / 4) as u32).div_ceil(256), GRID_ROW),
        )
    }
}
