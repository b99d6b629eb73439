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
    /// Which of `bench --repeat`'s runs of this backend and batch size it is, from 0.
    pub repetition: usize,
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
    /// The CPU's estimated fp32 peak, where it can be estimated.
    pub cpu_peak: Option<CpuPeak>,
    pub runs: Vec<BenchRun>,
    pub kernels: Vec<KernelTime>,
}

/// An estimate of the CPU's fp32 peak: every core retiring two fused multiply-adds of its
/// widest vector per cycle at the clock the kernel reports (the base or current one, so the
/// fraction of it a run reaches is indicative, not exact).
#[derive(Clone, Debug, serde::Serialize)]
pub struct CpuPeak {
    pub cores: usize,
    /// f32 lanes per FMA unit and cycle: 16 (AVX-512), 8 (AVX2 + FMA, or AVX-512 on Zen 4)
    /// or 4.
    pub lanes: usize,
    pub ghz: f64,
    pub gflops: f64,
}

impl CpuPeak {
    /// From /proc/cpuinfo's clock and the vector features of this CPU (Linux, x86-64).
    pub fn estimate() -> Option<CpuPeak> {
        let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
        let mhz: f64 = info
            .lines()
            .find(|l| l.starts_with("cpu MHz"))?
            .split(':')
            .nth(1)?
            .trim()
            .parse()
            .ok()?;
        let lanes = vector_lanes(&info);
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let ghz = mhz / 1000.0;
        Some(CpuPeak {
            cores,
            lanes,
            ghz,
            gflops: cores as f64 * 2.0 * lanes as f64 * 2.0 * ghz,
        })
    }
}

/// f32 lanes per FMA unit and cycle: 16 with AVX-512 (8 on AMD's Zen 4, cpu family 25,
/// which runs a 512-bit vector as two 256-bit halves), 8 with AVX2 + FMA, else 4.
fn vector_lanes(cpuinfo: &str) -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        let field = |name: &str| {
            cpuinfo
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split(':').nth(1))
                .map(str::trim)
        };
        let zen4 = field("vendor_id") == Some("AuthenticAMD") && field("cpu family") == Some("25");
        if std::arch::is_x86_feature_detected!("avx512f") {
            return if zen4 { 8 } else { 16 };
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            return 8;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = cpuinfo;
    4
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
        repetition: 0,
        samples: train.count,
        first_step_seconds,
        seconds,
        samples_per_sec,
        gflops: 6.0 * spec.parameter_count() as f64 * samples_per_sec / 1e9,
    };
    Ok((run, kernels))
}

#[cfg(test)]
mod tests {
    use super::vector_lanes;

    #[test]
    fn zen4_counts_its_512_bit_vectors_as_two_halves() {
        let zen4 = "vendor_id\t: AuthenticAMD\ncpu family\t: 25\n";
        let zen5 = "vendor_id\t: AuthenticAMD\ncpu family\t: 26\n";
        let intel = "vendor_id\t: GenuineIntel\ncpu family\t: 6\n";
        let widest = vector_lanes(intel);
        assert_eq!(vector_lanes(zen5), widest);
        assert_eq!(vector_lanes(zen4), widest.min(8));
    }
}
