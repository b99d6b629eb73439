use anyhow::Result;

use super::{Dispatch, EntryPoint, Overrides};
use crate::domain::{MATMUL_MAX_K, MATMUL_MAX_MN};
use crate::gpu::buffers::uniform;
use crate::gpu::shader::{bind_group, bind_group_layout, pipeline, Slot};
use crate::gpu::GpuContext;

/// Every variant computes a 32 x 32 tile of C per workgroup.
const TILE: u32 = 32;

/// The `matmul` entry point of one variant.
fn entry_point(variant: MatmulVariant) -> EntryPoint {
    let body = match variant {
        MatmulVariant::Subgroup8 => wgsl_file!("matmul_subgroup.wgsl"),
        MatmulVariant::Tiled => wgsl_file!("matmul_tiled.wgsl"),
        MatmulVariant::Blocked => wgsl_file!("matmul_blocked.wgsl"),
    };
    EntryPoint {
        entry: "matmul",
        overrides: MatmulKind::ALL.iter().map(|k| k.overrides()).collect(),
        parts: vec![wgsl_file!("matmul_common.wgsl"), body],
        slots: vec![
            Slot::Uniform,
            Slot::Read,
            Slot::Read,
            Slot::Read,
            Slot::ReadWrite,
        ],
    }
}

/// `matmul` in every variant.
pub(super) fn entry_points() -> Vec<EntryPoint> {
    MatmulVariant::ALL.map(entry_point).to_vec()
}

/// What happens to each element of C = op(A) op(B) before it is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Epilogue {
    None = 0,
    Bias = 1,
    BiasRelu = 2,
    BiasSigmoid = 3,
    /// Keep C where the forward activation (aux) is positive: the ReLU backward pass.
    ReluMask = 4,
}

/// One matmul pipeline: which operands are transposed, and the epilogue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatmulKind {
    /// C = A B, then the epilogue: Z = X W + b and the activation.
    Forward(Epilogue),
    /// C = A^T B: dW = X^T dZ.
    WeightGrad,
    /// C = A B^T, masked by the previous ReLU or not: dX = dZ W^T.
    InputGrad { relu_mask: bool },
}

impl MatmulKind {
    /// Whether op(A) and op(B) are read transposed.
    pub fn transposes(self) -> (bool, bool) {
        match self {
            MatmulKind::Forward(_) => (false, false),
            MatmulKind::WeightGrad => (true, false),
            MatmulKind::InputGrad { .. } => (false, true),
        }
    }

    pub fn epilogue(self) -> Epilogue {
        match self {
            MatmulKind::Forward(epilogue) => epilogue,
            MatmulKind::WeightGrad | MatmulKind::InputGrad { relu_mask: false } => Epilogue::None,
            MatmulKind::InputGrad { relu_mask: true } => Epilogue::ReluMask,
        }
    }

    /// The override constants of its pipeline.
    pub fn overrides(self) -> Overrides {
        let (trans_a, trans_b) = self.transposes();
        vec![
            ("TRANS_A", f64::from(u8::from(trans_a))),
            ("TRANS_B", f64::from(u8::from(trans_b))),
            ("EPILOGUE", self.epilogue() as u32 as f64),
        ]
    }

    /// The kernel family name in timings.
    pub fn label(self) -> &'static str {
        match self {
            MatmulKind::Forward(_) => "matmul X W",
            MatmulKind::WeightGrad => "matmul X^T dZ",
            MatmulKind::InputGrad { .. } => "matmul dZ W^T",
        }
    }

    /// Every kind the trainer, the encoder and the kNN use; one pipeline each.
    pub const ALL: [MatmulKind; 7] = [
        MatmulKind::Forward(Epilogue::None),
        MatmulKind::Forward(Epilogue::Bias),
        MatmulKind::Forward(Epilogue::BiasRelu),
        MatmulKind::Forward(Epilogue::BiasSigmoid),
        MatmulKind::WeightGrad,
        MatmulKind::InputGrad { relu_mask: false },
        MatmulKind::InputGrad { relu_mask: true },
    ];
}

/// Padded sizes of op(A) (m x k) and op(B) (k x n); all multiples of `buffers::PAD`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct MatmulDims {
    pub m: u32,
    pub n: u32,
    pub k: u32,
    pub _pad: u32,
}

impl MatmulDims {
    pub fn new(m: usize, n: usize, k: usize) -> Self {
        for d in [m, n, k] {
            assert!(
                d % crate::gpu::buffers::PAD == 0,
                "matmul dims must be padded"
            );
        }
        // The callers check their sizes against the domain before any work.
        assert!(
            k <= MATMUL_MAX_K && m.max(n) <= MATMUL_MAX_MN,
            "matmul {m} x {n} x {k} is outside the kernels' domain"
        );
        MatmulDims {
            m: m as u32,
            n: n as u32,
            k: k as u32,
            _pad: 0,
        }
    }
}

/// The buffers of one matmul: C = op(A) op(B), with `aux` the bias or the ReLU mask
/// (any buffer when the epilogue uses neither).
pub struct MatmulOperands<'a> {
    pub a: wgpu::BindingResource<'a>,
    pub b: wgpu::BindingResource<'a>,
    pub aux: wgpu::BindingResource<'a>,
    pub c: wgpu::BindingResource<'a>,
}

/// The three matmul kernels; each suits one class of adapter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatmulVariant {
    /// 8-wide subgroups, no shared memory (lavapipe and other 8-lane CPU adapters).
    Subgroup8,
    /// Shared-memory tiles (hardware GPUs).
    Tiled,
    /// Register blocks straight from memory (software adapters without 8-wide subgroups).
    Blocked,
}

impl MatmulVariant {
    pub const ALL: [MatmulVariant; 3] = [
        MatmulVariant::Subgroup8,
        MatmulVariant::Tiled,
        MatmulVariant::Blocked,
    ];

    /// The variant for this adapter.
    pub fn for_adapter(ctx: &GpuContext) -> Self {
        Self::choose(ctx.subgroup8, ctx.software)
    }

    /// The variant for an adapter with 8-wide subgroups or not, in software or not.
    pub fn choose(subgroup8: bool, software: bool) -> Self {
        if subgroup8 {
            MatmulVariant::Subgroup8
        } else if software {
            MatmulVariant::Blocked
        } else {
            MatmulVariant::Tiled
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            MatmulVariant::Subgroup8 => "subgroup8",
            MatmulVariant::Tiled => "tiled",
            MatmulVariant::Blocked => "blocked",
        }
    }
}

/// The matmul family, in the variant that suits the adapter.
pub struct Matmul {
    layout: wgpu::BindGroupLayout,
    pipelines: Vec<(MatmulKind, wgpu::ComputePipeline)>,
    pub variant: &'static str,
}

impl Matmul {
    pub fn new(ctx: &GpuContext) -> Result<Self> {
        Self::with_variant(ctx, MatmulVariant::for_adapter(ctx))
    }

    /// Builds one variant; `Subgroup8` needs an adapter with 8-wide subgroups. Tests build
    /// every variant the adapter can run.
    pub fn with_variant(ctx: &GpuContext, variant: MatmulVariant) -> Result<Self> {
        let spec = entry_point(variant);
        let layout = bind_group_layout(ctx, spec.entry, &spec.slots);
        let pipelines = MatmulKind::ALL
            .iter()
            .map(|&kind| {
                pipeline(ctx, &spec.parts, spec.entry, &layout, &kind.overrides())
                    .map(|p| (kind, p))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Matmul {
            layout,
            pipelines,
            variant: variant.name(),
        })
    }

    /// C = op(A) op(B) with the kind's epilogue.
    pub fn dispatch(
        &self,
        ctx: &GpuContext,
        kind: MatmulKind,
        dims: MatmulDims,
        operands: MatmulOperands<'_>,
    ) -> Dispatch {
        let MatmulOperands { a, b, aux, c } = operands;
        let pipeline = self
            .pipelines
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, p)| p.clone())
            .expect("every MatmulKind has a pipeline");
        let dims_buffer = uniform(ctx, "matmul dims", &dims);
        let bind_group = bind_group(
            ctx,
            "matmul",
            &self.layout,
            vec![dims_buffer.as_entire_binding(), a, b, aux, c],
        );
        Dispatch {
            label: kind.label(),
            pipeline,
            bind_group,
            workgroups: [dims.n / TILE, dims.m / TILE, 1],
            per_step: false,
        }
    }
}
