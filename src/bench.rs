//! `aeclust bench`: the same training steps on the GPU and on the CPU reference, timed.

use std::time::Instant;

use anyhow::Result;

use crate::data::Dataset;
use crate::device::Device;
use crate::model::{ModelSpec, Params};
use crate::train::TrainConfig;

/// One backend at one batch size.
#[derive(Clone, Debug, serde::Serialize)]
pub struct BenchRun {
    pub backend: String,
    pub adapter: String,
    pub batch: usize,
    pub samples: usize,
    /// The first batch alone, pipeline compilation included.
    pub first_step_seconds: f64,
    pub seconds: f64,
    pub samples_per_sec: f64,
    /// 6 x parameters x samples / seconds: a forward (2 flops per weight) and a backward
    /// (4) per sample; bias, activation, loss and Adam work is not counted.
    pub gflops: f64,
}

/// Device time of one kernel family in one training step.
#[derive(Clone, Debug, serde::Serialize)]
pub struct KernelTime {
    pub backend: String,
    pub adapter: String,
    pub batch: usize,
    pub kernel: String,
    pub microseconds: f64,
}

#[derive(Debug, serde::Serialize)]
pub struct BenchReport {
    pub model: Vec<usize>,
    pub flops_per_sample: usize,
    pub runs: Vec<BenchRun>,
    pub kernels: Vec<KernelTime>,
}

/// Trains `train` once through with `device` at `batch` (after one warm-up batch) and times
/// it; then times one step per kernel family where the device has timestamps.
pub fn bench_run(
    device: &Device,
    spec: &ModelSpec,
    train: &Dataset,
    val: &Dataset,
    batch: usize,
) -> Result<(BenchRun, Vec<KernelTime>)> {
    let config = TrainConfig {
        batch,
        ..TrainConfig::default()
    };
    let init = Params::glorot(spec, 0);
    let mut trainer = device.trainer(spec, &init, train, val, &config)?;
    let order: Vec<u32> = (0..train.count as u32).collect();
    let start = Instant::now();
    trainer.train_epoch(&order[..batch.min(order.len())], &mut |_| Ok(()))?;
    let first_step_seconds = start.elapsed().as_secs_f64();
    let start = Instant::now();
    trainer.train_epoch(&order, &mut |_| Ok(()))?;
    let seconds = start.elapsed().as_secs_f64();
    let samples_per_sec = train.count as f64 / seconds;
    let adapter = device.adapter().name;
    let kernels = trainer
        .kernel_times()?
        .into_iter()
        .map(|(kernel, seconds)| KernelTime {
            backend: device.backend_name().into(),
            adapter: adapter.clone(),
            batch,
            kernel: kernel.into(),
            microseconds: seconds * 1e6,
        })
        .collect();
    let run = BenchRun {
        backend: device.backend_name().into(),
        adapter,
        batch,
        samples: train.count,
        first_step_seconds,
        seconds,
        samples_per_sec,
        gflops: 6.0 * spec.parameter_count() as f64 * samples_per_sec / 1e9,
    };
    Ok((run, kernels))
}
