use anyhow::Result;

use super::{step::STEP_BYTES, Dispatch, EntryPoint, Kernel, StepTable};
use crate::gpu::buffers::{padded, uniform};
use crate::gpu::shader::Slot;
use crate::gpu::GpuContext;

/// `soft_assign`, `cluster_mass`, `dec_loss` and `centre_grad`, in that order.
pub(super) fn entry_points() -> [EntryPoint; 4] {
    use Slot::{Read, ReadWrite, StepUniform, Uniform};
    let rows = |entry, file, mut slots: Vec<Slot>| {
        let mut all = vec![StepUniform(STEP_BYTES), Uniform, Read, Read];
        all.append(&mut slots);
        EntryPoint {
            entry,
            overrides: Vec::new(),
            parts: vec![wgsl_file!("step.wgsl"), wgsl_file!("dec.wgsl"), file],
            slots: all,
        }
    };
    [
        rows(
            "soft_assign",
            wgsl_file!("dec_assign.wgsl"),
            vec![ReadWrite],
        ),
        EntryPoint {
            entry: "cluster_mass",
            overrides: Vec::new(),
            parts: vec![wgsl_file!("dec_mass.wgsl")],
            slots: vec![Uniform, Read, ReadWrite],
        },
        rows(
            "dec_loss",
            wgsl_file!("dec_loss.wgsl"),
            vec![Read, Read, Read, ReadWrite, ReadWrite, ReadWrite],
        ),
        rows(
            "centre_grad",
            wgsl_file!("dec_centres.wgsl"),
            vec![Read, ReadWrite],
        ),
    ]
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct DecShape {
    clusters: u32,
    dims: u32,
    stride: u32,
    rows: u32,
}

/// The problem: k centres of d values (k x d, row-major, unpadded), codes in batches of
/// `rows_pad` rows of `padded(d)` floats.
#[derive(Clone, Copy, Debug)]
pub struct DecDims {
    pub k: usize,
    pub d: usize,
    pub rows_pad: usize,
}

impl DecDims {
    fn shape(&self, ctx: &GpuContext) -> wgpu::Buffer {
        let shape = DecShape {
            clusters: self.k as u32,
            dims: self.d as u32,
            stride: padded(self.d) as u32,
            rows: self.rows_pad as u32,
        };
        uniform(ctx, "DEC shape", &shape)
    }

    fn grid(&self) -> (u32, u32) {
        ((self.rows_pad as u32).div_ceil(64), 1)
    }
}

/// What `dec_loss` reads and writes: the batch's codes and their gradient (`rows_pad x
/// padded(d)`), the centres, every sample's soft assignments at the last refresh (n x k) and
/// the centres' masses, the sample order, a loss per sample, and the rows' coefficients
/// (`rows_pad x k`) that `centre_grad` reads.
pub struct DecLossBuffers<'a> {
    pub codes: &'a wgpu::Buffer,
    pub centres: &'a wgpu::Buffer,
    pub soft: &'a wgpu::Buffer,
    pub mass: &'a wgpu::Buffer,
    pub order: &'a wgpu::Buffer,
    pub grad: &'a wgpu::Buffer,
    pub losses: &'a wgpu::Buffer,
    pub coefficients: &'a wgpu::Buffer,
}

/// DEC's clustering loss and its gradients (shaders/dec*.wgsl).
pub struct DecKernels {
    soft_assign: Kernel,
    cluster_mass: Kernel,
    loss: Kernel,
    centre_grad: Kernel,
}

impl DecKernels {
    pub fn new(ctx: &GpuContext) -> Result<Self> {
        let [soft_assign, cluster_mass, loss, centre_grad] = &entry_points();
        Ok(DecKernels {
            soft_assign: Kernel::new(ctx, soft_assign)?,
            cluster_mass: Kernel::new(ctx, cluster_mass)?,
            loss: Kernel::new(ctx, loss)?,
            centre_grad: Kernel::new(ctx, centre_grad)?,
        })
    }

    /// A per-batch kernel's dispatch: the step, the shape, the batch's codes and the centres,
    /// then `rest` in the order of its slots.
    fn over_batch(
        ctx: &GpuContext,
        kernel: &Kernel,
        (steps, dims): (&StepTable, DecDims),
        (codes, centres): (&wgpu::Buffer, &wgpu::Buffer),
        rest: &[&wgpu::Buffer],
        grid: (u32, u32),
    ) -> Dispatch {
        let shape = dims.shape(ctx);
        let mut bindings = vec![
            steps.binding(),
            shape.as_entire_binding(),
            codes.as_entire_binding(),
            centres.as_entire_binding(),
        ];
        bindings.extend(rest.iter().map(|b| b.as_entire_binding()));
        kernel.dispatch(ctx, bindings, grid)
    }

    /// The soft assignments of a batch's `step.rows` codes into rows `step.loss_offset..` of
    /// the n x k `soft`.
    pub fn soft_assign(
        &self,
        ctx: &GpuContext,
        steps: &StepTable,
        dims: DecDims,
        (codes, centres, soft): (&wgpu::Buffer, &wgpu::Buffer, &wgpu::Buffer),
    ) -> Dispatch {
        let batch = (steps, dims);
        Self::over_batch(
            ctx,
            &self.soft_assign,
            batch,
            (codes, centres),
            &[soft],
            dims.grid(),
        )
    }

    /// The k column sums of the n x k `soft` into `mass`.
    pub fn cluster_mass(
        &self,
        ctx: &GpuContext,
        (soft, mass): (&wgpu::Buffer, &wgpu::Buffer),
        n: usize,
        k: usize,
    ) -> Dispatch {
        let shape = uniform(ctx, "cluster mass shape", &[n as u32, k as u32]);
        self.cluster_mass.dispatch(
            ctx,
            vec![
                shape.as_entire_binding(),
                soft.as_entire_binding(),
                mass.as_entire_binding(),
            ],
            (k as u32, 1),
        )
    }

    /// The loss of a batch's rows and the gradient of their mean with respect to the codes.
    pub fn loss(
        &self,
        ctx: &GpuContext,
        steps: &StepTable,
        dims: DecDims,
        buffers: DecLossBuffers<'_>,
    ) -> Dispatch {
        let b = buffers;
        let rest = [b.soft, b.mass, b.order, b.grad, b.losses, b.coefficients];
        let batch = (steps, dims);
        Self::over_batch(
            ctx,
            &self.loss,
            batch,
            (b.codes, b.centres),
            &rest,
            dims.grid(),
        )
    }

    /// The centres' gradient (k x d, into `centre_grads`) from the batch's codes and the
    /// coefficients `loss` wrote.
    pub fn centre_grad(
        &self,
        ctx: &GpuContext,
        steps: &StepTable,
        dims: DecDims,
        (codes, centres): (&wgpu::Buffer, &wgpu::Buffer),
        (coefficients, centre_grads): (&wgpu::Buffer, &wgpu::Buffer),
    ) -> Dispatch {
        let grid = (((dims.k * dims.d) as u32).div_ceil(64), 1);
        let rest = [coefficients, centre_grads];
        Self::over_batch(
            ctx,
            &self.centre_grad,
            (steps, dims),
            (codes, centres),
            &rest,
            grid,
        )
    }
}
