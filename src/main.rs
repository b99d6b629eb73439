use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Result};
use clap::{Args, Parser, Subcommand};

use aeclust::data::{load_dir, Split};
use aeclust::gpu::kernels::{AdamConfig, Kernels};
use aeclust::gpu::{list_adapters, GpuContext};
use aeclust::model::{ModelSpec, Params};
use aeclust::output::{check_writable, write_json};
use aeclust::report::TrainReport;
use aeclust::train::{fit, GpuTrainer, TrainConfig};

/// Train an MNIST autoencoder and cluster its codes, in WGSL compute shaders.
#[derive(Parser)]
#[command(version, about, after_help = EXAMPLES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

const EXAMPLES: &str = "Examples:
  aeclust train                                  the blog's recipe on the bundled MNIST
  aeclust train --epochs 1 --limit 5000          a quick run
  aeclust train --data my-idx-dir --report r.json
  aeclust info                                   the adapters wgpu sees";

#[derive(Subcommand)]
enum Command {
    /// Train the autoencoder on the GPU and print one line per epoch.
    Train(TrainArgs),
    /// List every adapter wgpu sees, and the one that would be used.
    Info,
}

#[derive(Args)]
struct TrainArgs {
    /// Directory with MNIST's four IDX files (train-/t10k-, images/labels, .gz or raw).
    #[arg(long, default_value = "data/mnist")]
    data: PathBuf,
    /// Passes over the training set.
    #[arg(long, default_value_t = 3)]
    epochs: usize,
    /// Samples per Adam step.
    #[arg(long, default_value_t = 32)]
    batch: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = 1e-3)]
    lr: f32,
    /// Seed of the initial weights and of the shuffle.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Layer widths from input to reconstruction (ReLU inside, sigmoid last).
    #[arg(long, default_value = "784,128,32,128,784")]
    layers: String,
    /// Train on the first N training samples only.
    #[arg(long)]
    limit: Option<usize>,
    /// Write a JSON report of the run here.
    #[arg(long)]
    report: Option<PathBuf>,
    /// Use the adapter whose name contains this text (see `aeclust info`).
    #[arg(long)]
    adapter: Option<String>,
}

fn train(args: &TrainArgs) -> Result<()> {
    if args.epochs == 0 {
        bail!("--epochs must be at least 1");
    }
    if args.batch == 0 {
        bail!("--batch must be at least 1");
    }
    if !(args.lr.is_finite() && args.lr > 0.0) {
        bail!("--lr must be a positive number, got {}", args.lr);
    }
    if args.limit == Some(0) {
        bail!("--limit must be at least 1");
    }
    if let Some(path) = &args.report {
        check_writable(path)?;
    }
    let mut train_set = load_dir(&args.data, Split::Train)?;
    if let Some(n) = args.limit {
        train_set = train_set.truncated(n);
    }
    let val_set = load_dir(&args.data, Split::Test)?;
    let spec = ModelSpec::parse(&args.layers, train_set.image_size())?;
    let config = TrainConfig {
        epochs: args.epochs,
        batch: args.batch,
        adam: AdamConfig {
            lr: args.lr,
            ..AdamConfig::default()
        },
        seed: args.seed,
    };

    let ctx = GpuContext::new(args.adapter.as_deref())?;
    let kernels = Kernels::new(&ctx)?;
    println!(
        "adapter: {} ({}, {}), matmul kernel: {}",
        ctx.adapter.name, ctx.adapter.backend, ctx.adapter.device_type, kernels.matmul.variant
    );
    println!(
        "data: {} train, {} validation images of {}x{}; model {:?}, {} parameters",
        train_set.count,
        val_set.count,
        train_set.rows,
        train_set.cols,
        spec.widths,
        spec.parameter_count()
    );
    let init = Params::glorot(&spec, config.seed);
    let mut trainer = GpuTrainer::new(&ctx, &kernels, &spec, &init, &train_set, &val_set, &config)?;
    let epochs = fit(&mut trainer, &config, train_set.count, |e| {
        println!(
            "epoch {}/{}: loss {:.4}, val_loss {:.4}, {:.1} s, {:.0} samples/s",
            e.epoch, config.epochs, e.loss, e.val_loss, e.seconds, e.samples_per_sec
        );
    })?;
    if let Some(path) = &args.report {
        let last = epochs.last();
        let report = TrainReport {
            backend: "gpu".into(),
            adapter: ctx.adapter.clone(),
            matmul_kernel: kernels.matmul.variant.into(),
            layers: spec.widths.clone(),
            config,
            train_samples: train_set.count,
            val_samples: val_set.count,
            final_loss: last.map_or(f64::NAN, |e| e.loss),
            final_val_loss: last.map_or(f64::NAN, |e| e.val_loss),
            epochs,
        };
        write_json(path, &report)?;
        println!("report: {}", path.display());
    }
    Ok(())
}

fn info() -> Result<()> {
    let adapters = list_adapters();
    if adapters.is_empty() {
        // Opening one gives the install instructions.
        GpuContext::new(None)?;
    }
    for (i, (a, limits)) in adapters.iter().enumerate() {
        let pick = if i == 0 { "  <- used by default" } else { "" };
        println!(
            "{}: {} ({}, {}, driver {}){pick}",
            i, a.name, a.backend, a.device_type, a.driver
        );
        println!(
            "   max storage binding {} MiB, max buffer {} MiB, workgroup storage {} KiB, \
             {} invocations per workgroup",
            limits.max_storage_buffer_binding_size >> 20,
            limits.max_buffer_size >> 20,
            limits.max_compute_workgroup_storage_size >> 10,
            limits.max_compute_invocations_per_workgroup
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Train(args) => train(args),
        Command::Info => info(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
