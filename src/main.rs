use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};

use aeclust::bench::{bench_run, BenchReport, KernelTime};
use aeclust::cluster::{cluster_features, metrics, ClusterRun, Init, KmeansConfig};
use aeclust::data::{load_dir, Split};
use aeclust::device::{BackendChoice, Device};
use aeclust::gpu::kernels::AdamConfig;
use aeclust::gpu::{list_adapters, GpuContext};
use aeclust::model::{ModelSpec, Params};
use aeclust::output::{check_writable, write_json};
use aeclust::report::{self, ClusterReport, TrainReport};
use aeclust::train::{fit, TrainConfig};
use aeclust::{model_file, npy};

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
  aeclust train --backend cpu                    the CPU reference trainer
  aeclust train --data my-idx-dir --report r.json
  aeclust train --model-out model.safetensors    then:
  aeclust encode --model model.safetensors --out codes.npy
  aeclust bench --batch 32,256 --json bench.json GPU vs CPU reference throughput
  aeclust info                                   the adapters wgpu sees";

#[derive(Subcommand)]
enum Command {
    /// Train the autoencoder and print one line per epoch.
    Train(TrainArgs),
    /// Encode images to their codes with a trained model.
    Encode(EncodeArgs),
    /// Cluster codes (or a model's codes of the images) with k-means, and score the clusters.
    Cluster(ClusterArgs),
    /// Time the same training steps on the GPU and on the CPU reference.
    Bench(BenchArgs),
    /// List every adapter wgpu sees, and the one that would be used.
    Info,
}

/// Where to run: shared by every command that computes.
#[derive(Args)]
struct DeviceArgs {
    /// auto: a GPU adapter when wgpu finds one (lavapipe counts), else the CPU reference.
    #[arg(long, value_enum, default_value_t = BackendChoice::Auto)]
    backend: BackendChoice,
    /// Use the adapter whose name contains this text (see `aeclust info`).
    #[arg(long)]
    adapter: Option<String>,
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
    /// Save the trained model here (safetensors, PyTorch layout).
    #[arg(long)]
    model_out: Option<PathBuf>,
    #[command(flatten)]
    device: DeviceArgs,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum SplitArg {
    Train,
    Test,
}

#[derive(Args)]
struct EncodeArgs {
    /// A model saved by `train --model-out`.
    #[arg(long)]
    model: PathBuf,
    /// Directory with MNIST's four IDX files.
    #[arg(long, default_value = "data/mnist")]
    data: PathBuf,
    /// Which images to encode.
    #[arg(long, value_enum, default_value_t = SplitArg::Test)]
    split: SplitArg,
    /// Write the codes here as a float32 .npy (images x code width).
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    device: DeviceArgs,
}

#[derive(Args)]
struct ClusterArgs {
    /// Features to cluster: a float32 .npy (samples x features), such as `encode` writes.
    #[arg(long, conflicts_with = "model", required_unless_present = "model")]
    codes: Option<PathBuf>,
    /// Or a model: encode the images of --data/--split with it, then cluster the codes.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Directory with MNIST's four IDX files: labels for the scores, images for --pixels and
    /// --pictures, and the images to encode with --model.
    #[arg(long, default_value = "data/mnist")]
    data: PathBuf,
    /// Which images the codes belong to.
    #[arg(long, value_enum, default_value_t = SplitArg::Test)]
    split: SplitArg,
    #[command(flatten)]
    kmeans: KmeansArgs,
    /// Also cluster the raw pixels the same way, side by side.
    #[arg(long)]
    pixels: bool,
    /// Write a JSON report of the runs here.
    #[arg(long)]
    report: Option<PathBuf>,
    /// Write the cluster id of every sample here, one per line.
    #[arg(long)]
    assignments: Option<PathBuf>,
    /// Write one PNG per cluster (its first 64 members) into this directory.
    #[arg(long)]
    pictures: Option<PathBuf>,
    #[command(flatten)]
    device: DeviceArgs,
}

/// k-means settings, shared by `cluster` and `run`.
#[derive(Args)]
struct KmeansArgs {
    /// Number of clusters.
    #[arg(long, default_value_t = 10)]
    k: usize,
    /// How the first centroids are chosen.
    #[arg(long, value_enum, default_value_t = Init::KmeansPlusPlus)]
    init: Init,
    /// Restarts; the lowest inertia wins.
    #[arg(long, default_value_t = 10)]
    n_init: usize,
    /// Most Lloyd iterations per restart.
    #[arg(long, default_value_t = 300)]
    max_iter: usize,
    /// Stop when the squared centroid shift is at most this times the mean feature variance.
    #[arg(long, default_value_t = 1e-4)]
    tol: f64,
    /// Seed of the initial centroids.
    #[arg(long = "kmeans-seed", default_value_t = 0)]
    seed: u64,
}

impl KmeansArgs {
    fn config(&self) -> KmeansConfig {
        KmeansConfig {
            k: self.k,
            init: self.init,
            n_init: self.n_init,
            max_iter: self.max_iter,
            tol: self.tol,
            seed: self.seed,
        }
    }
}

#[derive(Args)]
struct BenchArgs {
    /// Directory with MNIST's four IDX files.
    #[arg(long, default_value = "data/mnist")]
    data: PathBuf,
    /// Batch sizes to time, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "32,256,1024")]
    batch: Vec<usize>,
    /// Training samples per timed run.
    #[arg(long, default_value_t = 8192)]
    samples: usize,
    /// Write the figures as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Time only the CPU reference.
    #[arg(long)]
    cpu_only: bool,
    /// Use the adapter whose name contains this text (see `aeclust info`).
    #[arg(long)]
    adapter: Option<String>,
}

fn open_device(args: &DeviceArgs) -> Result<Device> {
    let (device, notice) = Device::open(args.backend, args.adapter.as_deref())?;
    if let Some(notice) = notice {
        eprintln!("notice: {notice}");
    }
    Ok(device)
}

fn check_output(path: Option<&Path>) -> Result<()> {
    match path {
        Some(path) => check_writable(path),
        None => Ok(()),
    }
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
    check_output(args.report.as_deref())?;
    check_output(args.model_out.as_deref())?;
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

    let device = open_device(&args.device)?;
    let adapter = device.adapter();
    println!(
        "backend: {}, adapter: {} ({}, {}), matmul kernel: {}",
        device.backend_name(),
        adapter.name,
        adapter.backend,
        adapter.device_type,
        device.matmul_kernel()
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
    let mut trainer = device.trainer(&spec, &init, &train_set, &val_set, &config)?;
    let epochs = fit(trainer.as_mut(), &config, train_set.count, |e| {
        println!(
            "epoch {}/{}: loss {:.4}, val_loss {:.4}, {:.1} s, {:.0} samples/s",
            e.epoch, config.epochs, e.loss, e.val_loss, e.seconds, e.samples_per_sec
        );
    })?;
    if let Some(path) = &args.model_out {
        model_file::save(path, &spec, &trainer.params()?)?;
        println!("model: {}", path.display());
    }
    if let Some(path) = &args.report {
        let last = epochs.last().expect("at least one epoch");
        let report = TrainReport {
            backend: device.backend_name().into(),
            adapter,
            matmul_kernel: device.matmul_kernel().into(),
            layers: spec.widths.clone(),
            train_samples: train_set.count,
            val_samples: val_set.count,
            final_loss: last.loss,
            final_val_loss: last.val_loss,
            config,
            epochs,
        };
        write_json(path, &report)?;
        println!("report: {}", path.display());
    }
    Ok(())
}

fn encode(args: &EncodeArgs) -> Result<()> {
    check_output(Some(&args.out))?;
    let (spec, params) = model_file::load(&args.model)?;
    let data = load_dir(&args.data, args.split.split())?;
    spec.check(data.image_size())?;
    let device = open_device(&args.device)?;
    let start = std::time::Instant::now();
    let codes = aeclust::encode::encode(&device, &spec, &params, &data)?;
    let width = codes.len() / data.count;
    npy::write_matrix(&args.out, &codes, data.count, width)?;
    println!(
        "encoded {} images to {width}-d codes on {} ({}) in {:.2} s: {}",
        data.count,
        device.backend_name(),
        device.adapter().name,
        start.elapsed().as_secs_f64(),
        args.out.display()
    );
    Ok(())
}

impl SplitArg {
    fn split(self) -> Split {
        match self {
            SplitArg::Train => Split::Train,
            SplitArg::Test => Split::Test,
        }
    }
}

fn print_run(run: &ClusterRun) {
    let score = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.4}"));
    println!(
        "{:<7} {:>6} x {:<4} k {:<3} inertia {:<14.6e} {:>3} iterations {:>7.2} s   acc {}  nmi {}  ari {}",
        run.features,
        run.samples,
        run.dims,
        run.k,
        run.inertia,
        run.iterations,
        run.seconds,
        score(run.acc),
        score(run.nmi),
        score(run.ari)
    );
}

fn cluster(args: &ClusterArgs) -> Result<()> {
    for path in [&args.report, &args.assignments].into_iter().flatten() {
        check_writable(path)?;
    }
    let config = args.kmeans.config();
    let device = open_device(&args.device)?;
    let data = load_dir(&args.data, args.split.split());
    let (codes, n, d, data) = match (&args.codes, &args.model) {
        (Some(path), _) => {
            let (codes, n, d) = npy::read_matrix(path)?;
            // Labels and images only belong to these codes when the counts agree.
            let data = data.ok().filter(|data| data.count == n);
            if data.is_none() {
                eprintln!(
                    "notice: no {} images of {} to score against",
                    n,
                    args.data.display()
                );
            }
            (codes, n, d, data)
        }
        (None, Some(model)) => {
            let (spec, params) = model_file::load(model)?;
            let data = data?;
            let codes = aeclust::encode::encode(&device, &spec, &params, &data)?;
            let d = codes.len() / data.count;
            (codes, data.count, d, Some(data))
        }
        (None, None) => bail!("give --codes or --model"),
    };
    if (args.pixels || args.pictures.is_some()) && data.is_none() {
        bail!("--pixels and --pictures need the images of the codes (--data, --split)");
    }
    let labels = data.as_ref().map(|d| d.labels.as_slice());
    let (run, result) = cluster_features(&device, "codes", &codes, (n, d), labels, &config)?;
    print_run(&run);
    let mut runs = vec![run];
    if let Some(labels) = labels {
        print!(
            "{}",
            report::contingency_table(&metrics::contingency(&result.labels, labels))
        );
    }
    if args.pixels {
        let data = data.as_ref().expect("checked above");
        let pixels: Vec<f32> = data.pixels.iter().map(|&p| f32::from(p) / 255.0).collect();
        let shape = (data.count, data.image_size());
        let (run, _) = cluster_features(&device, "pixels", &pixels, shape, labels, &config)?;
        print_run(&run);
        runs.push(run);
    }
    if let Some(path) = &args.assignments {
        let text: String = result.labels.iter().map(|c| format!("{c}\n")).collect();
        aeclust::output::write_atomic(path, text.as_bytes())?;
    }
    if let (Some(dir), Some(data)) = (&args.pictures, &data) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let written = report::cluster_pictures(dir, data, &result.labels, config.k, 64)?;
        println!("pictures: {} files in {}", written.len(), dir.display());
    }
    if let Some(path) = &args.report {
        write_json(
            path,
            &ClusterReport {
                kmeans: config,
                runs,
            },
        )?;
        println!("report: {}", path.display());
    }
    Ok(())
}

fn bench(args: &BenchArgs) -> Result<()> {
    if args.batch.contains(&0) || args.samples == 0 {
        bail!("--batch sizes and --samples must be at least 1");
    }
    check_output(args.json.as_deref())?;
    let train_set = load_dir(&args.data, Split::Train)?.truncated(args.samples);
    let val_set = load_dir(&args.data, Split::Test)?.truncated(1024);
    let spec = ModelSpec::blog();
    spec.check(train_set.image_size())?;
    let mut devices = Vec::new();
    if !args.cpu_only {
        let (gpu, _) = Device::open(BackendChoice::Gpu, args.adapter.as_deref())?;
        devices.push(gpu);
    }
    devices.push(Device::Cpu);

    println!(
        "{} training samples per run; GFLOP/s = 6 x {} parameters x samples/s",
        train_set.count,
        spec.parameter_count()
    );
    println!(
        "{:<8} {:<34} {:>6} {:>12} {:>9} {:>12} {:>9}",
        "backend", "adapter", "batch", "samples/s", "GFLOP/s", "first step", "GPU/CPU"
    );
    let mut runs = Vec::new();
    let mut kernels = Vec::new();
    for &batch in &args.batch {
        let mut row_runs = Vec::new();
        for device in &devices {
            let (run, times) = bench_run(device, &spec, &train_set, &val_set, batch)?;
            row_runs.push(run);
            kernels.extend(times);
        }
        let cpu_rate = row_runs.last().map_or(f64::NAN, |r| r.samples_per_sec);
        for r in &row_runs {
            let ratio = if r.backend == "gpu" {
                format!("{:.2}x", r.samples_per_sec / cpu_rate)
            } else {
                String::new()
            };
            println!(
                "{:<8} {:<34.34} {:>6} {:>12.0} {:>9.1} {:>10.3} s {:>9}",
                r.backend,
                r.adapter,
                r.batch,
                r.samples_per_sec,
                r.gflops,
                r.first_step_seconds,
                ratio
            );
        }
        runs.extend(row_runs);
    }
    print_kernel_times(&kernels);
    if let Some(path) = &args.json {
        let report = BenchReport {
            model: spec.widths.clone(),
            flops_per_sample: 6 * spec.parameter_count(),
            runs,
            kernels,
        };
        write_json(path, &report)?;
        println!("json: {}", path.display());
    }
    Ok(())
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
    // Mesa's Vulkan drivers print a spurious "error: XDG_RUNTIME_DIR is invalid" line when it
    // is unset (as in containers and CI); none of them needs it for compute.
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        std::env::set_var("XDG_RUNTIME_DIR", std::env::temp_dir());
    }
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Train(args) => train(args),
        Command::Encode(args) => encode(args),
        Command::Cluster(args) => cluster(args),
        Command::Bench(args) => bench(args),
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
