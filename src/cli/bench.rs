//! `aeclust bench`.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Args;

use super::args::check_outputs;
use aeclust::bench::{bench_run, BenchReport, BenchRun, CpuPeak, KernelTime};
use aeclust::data::{load_dir, Split};
use aeclust::device::{BackendChoice, Device};
use aeclust::gpu::GpuRequest;
use aeclust::output::write_json;
use aeclust::recipe::Recipe;

#[derive(Args)]
pub struct BenchArgs {
    /// Directory with MNIST's four IDX files.
    #[arg(long, default_value = "data/mnist")]
    pub data: PathBuf,
    /// Batch sizes to time, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "32,256,1024")]
    pub batch: Vec<usize>,
    /// Training samples per timed run.
    #[arg(long, default_value_t = 8192)]
    pub samples: usize,
    /// Write the figures as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Time only the CPU reference.
    #[arg(long)]
    pub cpu_only: bool,
    /// Use the adapter whose name contains this text (see `aeclust info`).
    #[arg(long)]
    pub adapter: Option<String>,
    /// The model to time.
    #[arg(long, value_enum, default_value_t = Recipe::Blog)]
    pub recipe: Recipe,
    /// Time every backend at every batch size this many times, the backends in turn; the
    /// table shows each one's median run and the range of samples/s (shared machines vary
    /// by a third within minutes), the JSON every run.
    #[arg(long, default_value_t = 1)]
    pub repeat: usize,
}

pub fn bench(args: &BenchArgs) -> Result<()> {
    if args.batch.contains(&0) || args.samples == 0 || args.repeat == 0 {
        bail!("--batch sizes, --samples and --repeat must be at least 1");
    }
    check_outputs(args.json.as_deref(), &Default::default())?;
    let train_set = load_dir(&args.data, Split::Train)?.truncated(args.samples);
    let val_set = load_dir(&args.data, Split::Test)?.truncated(1024);
    let spec = args.recipe.model();
    spec.check(train_set.image_size())?;
    let mut devices = Vec::new();
    if !args.cpu_only {
        let (gpu, _) = Device::open(
            BackendChoice::Gpu,
            &GpuRequest {
                adapter: args.adapter.as_deref(),
                ..Default::default()
            },
        )?;
        devices.push(gpu);
    }
    devices.push(Device::open(BackendChoice::Cpu, &GpuRequest::default())?.0);

    println!(
        "{} training samples per run; GFLOP/s = 6 x {} parameters x samples/s",
        train_set.count,
        spec.parameter_count()
    );
    let peak = CpuPeak::estimate();
    if let Some(p) = &peak {
        println!(
            "CPU fp32 peak, estimated: {:.0} GFLOP/s ({} cores x 2 FMA x {} lanes x 2 flops x \
             {:.2} GHz); the CPU rows show the fraction of it reached",
            p.gflops, p.cores, p.lanes, p.ghz
        );
    }
    let range_header = if args.repeat > 1 {
        "samples/s range"
    } else {
        ""
    };
    let header = format!(
        "{:<8} {:<34} {:>6} {:>12} {:>9} {:>12} {:>18} {range_header:>18}",
        "backend", "adapter", "batch", "samples/s", "GFLOP/s", "first step", "GPU/CPU, CPU/peak"
    );
    println!("{}", header.trim_end());
    let mut runs = Vec::new();
    let mut kernels = Vec::new();
    for &batch in &args.batch {
        // Each device's runs at this batch size, the devices taking turns.
        let mut device_runs = vec![Vec::new(); devices.len()];
        for repetition in 0..args.repeat {
            for (device, timed) in devices.iter().zip(&mut device_runs) {
                let (run, times) = bench_run(device, &spec, &train_set, &val_set, batch)?;
                timed.push(BenchRun { repetition, ..run });
                if repetition == 0 {
                    kernels.extend(times);
                }
            }
        }
        let medians: Vec<&BenchRun> = device_runs.iter().map(|timed| median_run(timed)).collect();
        let cpu_rate = medians.last().map_or(f64::NAN, |r| r.samples_per_sec);
        for (r, timed) in medians.iter().zip(&device_runs) {
            let ratio = match (r.backend.as_str(), &peak) {
                ("gpu", _) => format!("{:.2}x", r.samples_per_sec / cpu_rate),
                (_, Some(p)) => format!("{:.0}% peak", 100.0 * r.gflops / p.gflops),
                _ => String::new(),
            };
            let range = if args.repeat > 1 {
                rate_range(timed)
            } else {
                String::new()
            };
            let row = format!(
                "{:<8} {:<34.34} {:>6} {:>12.0} {:>9.1} {:>10.3} s {:>18} {range:>18}",
                r.backend,
                r.adapter,
                r.batch,
                r.samples_per_sec,
                r.gflops,
                r.first_step_seconds,
                ratio
            );
            println!("{}", row.trim_end());
        }
        let by_repetition =
            (0..args.repeat).flat_map(|rep| device_runs.iter().map(move |d| &d[rep]));
        runs.extend(by_repetition.cloned());
    }
    print_kernel_times(&kernels);
    if let Some(path) = &args.json {
        let report = BenchReport {
            model: spec.widths.clone(),
            flops_per_sample: 6 * spec.parameter_count(),
            cpu_peak: peak,
            runs,
            kernels,
        };
        write_json(path, &report)?;
        println!("json: {}", path.display());
    }
    Ok(())
}

/// The run with the median rate (the lower of the two middle ones for an even count).
fn median_run(runs: &[BenchRun]) -> &BenchRun {
    let mut by_rate: Vec<&BenchRun> = runs.iter().collect();
    by_rate.sort_by(|a, b| a.samples_per_sec.total_cmp(&b.samples_per_sec));
    by_rate[(by_rate.len() - 1) / 2]
}

/// The lowest and the highest samples/s of `runs`, as "low-high".
fn rate_range(runs: &[BenchRun]) -> String {
    let rates = runs.iter().map(|run| run.samples_per_sec);
    let low = rates.clone().fold(f64::INFINITY, f64::min);
    let high = rates.fold(0.0, f64::max);
    format!("{low:.0}-{high:.0}")
}

/// One row per kernel family, one column per batch size: GPU microseconds per training step.
fn print_kernel_times(times: &[KernelTime]) {
    let mut batches: Vec<usize> = times.iter().map(|t| t.batch).collect();
    batches.dedup();
    let mut families: Vec<&str> = Vec::new();
    for t in times {
        if !families.contains(&t.kernel.as_str()) {
            families.push(&t.kernel);
        }
    }
    if families.is_empty() {
        return;
    }
    print!(
        "\nGPU time per training step (timestamp queries), microseconds\n{:<16}",
        "kernel"
    );
    for b in &batches {
        print!(" {:>12}", format!("batch {b}"));
    }
    println!();
    for family in families.iter().copied().chain(["total"]) {
        print!("{family:<16}");
        for &b in &batches {
            let us: f64 = times
                .iter()
                .filter(|t| t.batch == b && (family == "total" || t.kernel == family))
                .map(|t| t.microseconds)
                .sum();
            print!(" {us:>12.0}");
        }
        println!();
    }
}
