//! One Rust wrapper per WGSL kernel family. Each builds its pipelines once and turns buffers
//! into `Dispatch`es: a pipeline, a bind group and a grid, ready to record any number of times.

/// One WGSL file of shaders/ as a source part: its path and its text, built into the binary.
macro_rules! wgsl_file {
    ($name:literal) => {
        (
            concat!("shaders/", $name),
            include_str!(concat!("../../../shaders/", $name)).to_string(),
        )
    };
}

mod adam;
mod dec;
mod gather;
mod kmeans;
mod loss;
mod matmul;
mod nndescent;
mod reduce;
mod scan;
mod step;
mod umap;

pub use adam::{Adam, AdamBuffers, AdamCoefficients};
pub use dec::{DecDims, DecKernels, DecLossBuffers};
pub use gather::{upload_images, Gather, GatherSource, ImageChunk, ImageMoves};
pub use kmeans::{padded_dims, Kmeans, KmeansBuffers, KmeansShape, BALLOT_MAX_K, MAX_RUNNING};
pub use loss::{LossBuffers, LossFunction, LossKernels};
pub use matmul::{Epilogue, Matmul, MatmulDims, MatmulKind, MatmulOperands, MatmulVariant};
pub use nndescent::{
    DescentBuffers, DescentShape, DescentStep, ForestBuffers, ForestStep, NnDescentKernels,
    TreeShape,
};
pub use reduce::ColumnSums;
pub use scan::Scan;
pub use step::{StepParams, StepTable};
pub use umap::{
    KnnBlock, KnnBuffers, LayoutBuffers, LayoutColour, LayoutShape, MembershipBuffers, UmapKernels,
};

use std::borrow::Borrow;

use anyhow::Result;

pub use super::shader::Slot;
use super::shader::{bind_group, bind_group_layout, pipeline};
use super::{buffers, GpuContext};

/// One kernel launch with its resources bound.
pub struct Dispatch {
    /// The kernel family, for per-kernel timings.
    pub label: &'static str,
    pipeline: wgpu::ComputePipeline,
    bind_group: wgpu::BindGroup,
    workgroups: [u32; 3],
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
        let [x, y, z] = self.workgroups;
        pass.dispatch_workgroups(x, y, z);
    }
}

/// One WGSL entry point as the host builds it: the source parts it is compiled from, in order
/// (files of shaders/ and constants generated from Rust), and how it sees each binding. The
/// wrappers build their pipelines from these, and the contract test checks them against the
/// shaders with naga, so the two cannot drift apart.
#[derive(Clone, Debug)]
pub struct EntryPoint {
    pub entry: &'static str,
    pub parts: Vec<(&'static str, String)>,
    pub slots: Vec<Slot>,
    /// Every set of override constants the host builds a pipeline with (none: the shader's
    /// defaults only).
    pub overrides: Vec<Overrides>,
}

/// Which variant of a kernel family an adapter gets, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelChoice {
    pub family: &'static str,
    pub variant: &'static str,
    pub why: &'static str,
}

/// The kernel variants an adapter gets (the same rules `Kernels::new` follows): with 8-wide
/// subgroups or not, in software or not.
pub fn choices(subgroup8: bool, software: bool) -> Vec<KernelChoice> {
    let matmul = MatmulVariant::choose(subgroup8, software);
    let matmul_why = match matmul {
        MatmulVariant::Subgroup8 => "8-wide subgroups: each lane's A shared by broadcast",
        MatmulVariant::Blocked => {
            "a software adapter without 8-wide subgroups: registers, no shared memory"
        }
        MatmulVariant::Tiled => "a hardware GPU: tiles staged through workgroup memory",
    };
    let kmeans = if subgroup8 {
        KernelChoice {
            family: "k-means",
            variant: "assign_subgroup8, partial_sums_subgroup8 (up to 32 clusters)",
            why: "8-wide subgroups: 16 centroids at once, a ballot walk over the clusters",
        }
    } else {
        KernelChoice {
            family: "k-means",
            variant: "assign, partial_sums",
            why: "no 8-wide subgroups",
        }
    };
    vec![
        KernelChoice {
            family: "matmul",
            variant: matmul.name(),
            why: matmul_why,
        },
        kmeans,
    ]
}

/// Values of a shader's `override` constants, by name.
pub type Overrides = Vec<(&'static str, f64)>;

/// Every entry point the host can build, for every matmul variant.
pub fn catalog() -> Vec<EntryPoint> {
    [
        matmul::entry_points(),
        gather::entry_points(),
        loss::entry_points().into(),
        reduce::entry_points(),
        dec::entry_points().into(),
        adam::entry_points(),
        kmeans::entry_points().into(),
        umap::entry_points().into(),
        scan::entry_points().into(),
        nndescent::entry_points(),
    ]
    .concat()
}

/// One WGSL entry point with its bind group layout: what every single-pipeline family wraps.
struct Kernel {
    entry: &'static str,
    layout: wgpu::BindGroupLayout,
    pipeline: wgpu::ComputePipeline,
    per_step: bool,
}

impl Kernel {
    /// A leading `StepUniform` slot makes the kernel per-step.
    fn new(ctx: &GpuContext, spec: &EntryPoint) -> Result<Self> {
        let layout = bind_group_layout(ctx, spec.entry, &spec.slots);
        let pipeline = pipeline(ctx, &spec.parts, spec.entry, &layout, &[])?;
        let per_step = matches!(spec.slots.first(), Some(Slot::StepUniform(_)));
        Ok(Kernel {
            entry: spec.entry,
            layout,
            pipeline,
            per_step,
        })
    }

    fn dispatch(
        &self,
        ctx: &GpuContext,
        resources: Vec<wgpu::BindingResource<'_>>,
        (x, y): (u32, u32),
    ) -> Dispatch {
        self.dispatch_layers(ctx, resources, (x, y), 1)
    }

    /// `dispatch` over `layers` copies of the grid (the z axis: k-means' restarts).
    fn dispatch_layers(
        &self,
        ctx: &GpuContext,
        resources: Vec<wgpu::BindingResource<'_>>,
        (x, y): (u32, u32),
        layers: u32,
    ) -> Dispatch {
        Dispatch {
            label: self.entry,
            pipeline: self.pipeline.clone(),
            bind_group: bind_group(ctx, "kernel", &self.layout, resources),
            workgroups: [x, y, layers],
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

/// GPU time of each dispatch of `dispatches` (recorded once, each in a pass of its own
/// between two timestamps), summed per label in order of first appearance, in seconds.
/// Needs `ctx.timestamps`.
pub fn time_dispatches(
    ctx: &GpuContext,
    dispatches: &[Dispatch],
    step_offset: u32,
) -> Result<Vec<(&'static str, f64)>> {
    let count = (dispatches.len() * 2) as u32;
    let queries = ctx.device.create_query_set(&wgpu::QuerySetDescriptor {
        label: Some("kernel timings"),
        ty: wgpu::QueryType::Timestamp,
        count,
    });
    let resolved = ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("kernel timings"),
        size: u64::from(count) * 8,
        usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
        mapped_at_creation: false,
    });
    let mut encoder = ctx.device.create_command_encoder(&Default::default());
    for (i, d) in dispatches.iter().enumerate() {
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some(d.label),
            timestamp_writes: Some(wgpu::ComputePassTimestampWrites {
                query_set: &queries,
                beginning_of_pass_write_index: Some(2 * i as u32),
                end_of_pass_write_index: Some(2 * i as u32 + 1),
            }),
        });
        d.record(&mut pass, step_offset);
    }
    encoder.resolve_query_set(&queries, 0..count, &resolved, 0);
    ctx.queue.submit([encoder.finish()]);
    let ticks: Vec<u64> =
        bytemuck::pod_collect_to_vec(&buffers::read_bytes(ctx, &resolved, 0, count as usize * 8)?);
    let tick_seconds = f64::from(ctx.queue.get_timestamp_period()) * 1e-9;
    let mut totals: Vec<(&'static str, f64)> = Vec::new();
    for (d, pair) in dispatches.iter().zip(ticks.chunks(2)) {
        let seconds = pair[1].saturating_sub(pair[0]) as f64 * tick_seconds;
        match totals.iter_mut().find(|(label, _)| *label == d.label) {
            Some((_, total)) => *total += seconds,
            None => totals.push((d.label, seconds)),
        }
    }
    Ok(totals)
}

/// Records `dispatches` in one compute pass of `encoder`, all of them once per dynamic offset
/// of `step_offsets` (the slots of a `StepTable`; kernels without one ignore it), in order.
pub fn record_steps<D: Borrow<Dispatch>>(
    encoder: &mut wgpu::CommandEncoder,
    dispatches: &[D],
    step_offsets: impl IntoIterator<Item = u32>,
) {
    let mut pass = encoder.begin_compute_pass(&Default::default());
    for offset in step_offsets {
        for d in dispatches {
            d.borrow().record(&mut pass, offset);
        }
    }
}

/// Records `dispatches` once, in order, submits and waits.
pub fn run<D: Borrow<Dispatch>>(
    ctx: &GpuContext,
    dispatches: &[D],
    step_offset: u32,
) -> Result<()> {
    let mut encoder = ctx.device.create_command_encoder(&Default::default());
    record_steps(&mut encoder, dispatches, [step_offset]);
    ctx.queue.submit([encoder.finish()]);
    ctx.wait()
}

/// Every kernel family, compiled once at start-up.
pub struct Kernels {
    pub matmul: Matmul,
    pub gather: Gather,
    pub loss: LossKernels,
    pub column_sums: ColumnSums,
    pub dec: DecKernels,
    pub adam: Adam,
    pub kmeans: Kmeans,
    pub umap: UmapKernels,
    pub scan: Scan,
    pub nndescent: NnDescentKernels,
}

impl Kernels {
    pub fn new(ctx: &GpuContext) -> Result<Self> {
        Ok(Kernels {
            matmul: Matmul::new(ctx)?,
            gather: Gather::new(ctx)?,
            loss: LossKernels::new(ctx)?,
            column_sums: ColumnSums::new(ctx)?,
            dec: DecKernels::new(ctx)?,
            adam: Adam::new(ctx)?,
            kmeans: Kmeans::new(ctx)?,
            umap: UmapKernels::new(ctx)?,
            scan: Scan::new(ctx)?,
            nndescent: NnDescentKernels::new(ctx)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::choices;

    #[test]
    fn each_adapter_class_gets_its_variants() {
        let variant = |subgroup8, software| {
            let choices = choices(subgroup8, software);
            (
                choices[0].variant,
                choices[1].variant.starts_with("assign_subgroup8"),
            )
        };
        assert_eq!(variant(true, true), ("subgroup8", true));
        assert_eq!(variant(true, false), ("subgroup8", true));
        assert_eq!(variant(false, true), ("blocked", false));
        assert_eq!(variant(false, false), ("tiled", false));
    }
}
