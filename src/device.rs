//! The one seam between the GPU and the CPU: `--backend` becomes a `Device`, and the
//! `Device` builds every stage's implementation (trainer, encoder, k-means engine, UMAP
//! steps): the WGSL kernels on a GPU adapter, or their CPU twins. No other module matches on
//! the device.

use anyhow::Result;

use crate::cluster::engine::{CpuEngine, Engine, GpuEngine};
use crate::data::Dataset;
use crate::embed::{CpuUmapSteps, GpuUmapSteps, UmapSteps};
use crate::encode::{CpuEncoder, Encoder, GpuEncoder};
use crate::gpu::kernels::Kernels;
use crate::gpu::{AdapterSummary, Gpu, GpuContext, GpuRequest};
use crate::model::{ModelSpec, Params};
use crate::train::{CpuTrainer, GpuTrainer, TrainConfig, Trainer};

/// What the user asked for with `--backend`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum BackendChoice {
    /// The fastest: a hardware GPU when there is one, else the CPU reference (a software
    /// adapter such as lavapipe is slower than the CPU reference on the same cores).
    Auto,
    /// A GPU adapter, hardware or software.
    Gpu,
    /// The CPU reference.
    Cpu,
}

/// What `--backend auto` picks among `adapters` (best first, as `list_adapters` orders them):
/// the first when it is hardware, else none (the CPU).
pub fn auto_pick(adapters: &[crate::gpu::AdapterReport]) -> Option<usize> {
    adapters.first().filter(|a| !a.software).map(|_| 0)
}

/// An opened device (a GPU with its kernels compiled, or the CPU), ready to build stages.
pub enum Device {
    Gpu(Box<Gpu>),
    Cpu,
}

impl Device {
    /// Opens the device; with `Auto` and no hardware adapter, returns the CPU and the reason
    /// as a notice.
    pub fn open(choice: BackendChoice, request: &GpuRequest) -> Result<(Device, Option<String>)> {
        let open_gpu = || -> Result<Device> {
            let ctx = GpuContext::new(request)?;
            let kernels = Kernels::new(&ctx)?;
            Ok(Device::Gpu(Box::new(Gpu { ctx, kernels })))
        };
        match choice {
            BackendChoice::Cpu => Ok((Device::Cpu, None)),
            BackendChoice::Gpu => Ok((open_gpu()?, None)),
            // A named adapter is a demand for that adapter, not a preference.
            BackendChoice::Auto if request.adapter.is_some() => Ok((open_gpu()?, None)),
            BackendChoice::Auto => {
                let adapters = crate::gpu::list_adapters();
                if auto_pick(&adapters).is_none() {
                    let why = match adapters.first() {
                        Some(_) => "no hardware GPU: running on the CPU (faster here than the \
                                    software GPU; --backend gpu uses it anyway)"
                            .into(),
                        None => "no GPU: running on the CPU".into(),
                    };
                    return Ok((Device::Cpu, Some(why)));
                }
                match open_gpu() {
                    Ok(device) => Ok((device, None)),
                    Err(e) => Ok((
                        Device::Cpu,
                        Some(format!("{e:#}; running on the CPU reference instead")),
                    )),
                }
            }
        }
    }

    /// "gpu" or "cpu".
    pub fn backend_name(&self) -> &'static str {
        match self {
            Device::Gpu(_) => "gpu",
            Device::Cpu => "cpu",
        }
    }

    pub fn adapter(&self) -> AdapterSummary {
        match self {
            Device::Gpu(gpu) => gpu.ctx.adapter.clone(),
            Device::Cpu => AdapterSummary {
                name: match rayon::current_num_threads() {
                    1 => "CPU reference (1 thread)".into(),
                    threads => format!("CPU reference ({threads} threads)"),
                },
                api: "cpu".into(),
                device_type: "Cpu".into(),
                driver: crate::reference::sgemm_name().into(),
            },
        }
    }

    /// The matmul implementation in use.
    pub fn matmul_kernel(&self) -> &'static str {
        match self {
            Device::Gpu(gpu) => gpu.kernels.matmul.variant,
            Device::Cpu => crate::reference::sgemm_name(),
        }
    }

    /// The trainer of `spec` from `init` on `train`, validated on `val`.
    pub fn trainer<'a>(
        &'a self,
        spec: &ModelSpec,
        init: &Params,
        train: &'a Dataset,
        val: &'a Dataset,
        config: &TrainConfig,
    ) -> Result<Box<dyn Trainer + 'a>> {
        Ok(match self {
            Device::Gpu(gpu) => Box::new(GpuTrainer::new(
                &gpu.ctx,
                &gpu.kernels,
                spec,
                init,
                train,
                val,
                config,
            )?),
            Device::Cpu => Box::new(CpuTrainer::new(spec, init, train, val, config)?),
        })
    }

    /// The forward pass of a trained model (codes, reconstructions).
    pub fn encoder(&self) -> Box<dyn Encoder + '_> {
        match self {
            Device::Gpu(gpu) => Box::new(GpuEncoder(gpu)),
            Device::Cpu => Box::new(CpuEncoder),
        }
    }

    /// Lloyd's iterations over the n x d `points` with `k` clusters.
    pub fn kmeans_engine<'a>(
        &'a self,
        points: &'a [f32],
        n: usize,
        d: usize,
        k: usize,
    ) -> Result<Box<dyn Engine + 'a>> {
        Ok(match self {
            Device::Gpu(gpu) => Box::new(GpuEngine::new(gpu, points, n, d, k)?),
            Device::Cpu => Box::new(CpuEngine { points, d }),
        })
    }

    /// UMAP's kNN, membership weights and layout epochs.
    pub fn umap_steps(&self) -> Box<dyn UmapSteps + '_> {
        match self {
            Device::Gpu(gpu) => Box::new(GpuUmapSteps(gpu)),
            Device::Cpu => Box::new(CpuUmapSteps),
        }
    }
}
