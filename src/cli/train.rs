//! `aeclust train`.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use super::args::{check_output, open_device, DeviceArgs, RecipeArgs};
use aeclust::data::{load_dir, Split};
use aeclust::device::Device;
use aeclust::model::{ModelSpec, Params};
use aeclust::model_file;
use aeclust::output::write_json;
use aeclust::report::TrainReport;
use aeclust::train::fit;

#[derive(Args)]
pub struct TrainArgs {
    #[command(flatten)]
    pub recipe: RecipeArgs,
    /// Write a JSON report of the run here.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Save the trained model here (safetensors, PyTorch layout).
    #[arg(long)]
    pub model_out: Option<PathBuf>,
    #[command(flatten)]
    pub device: DeviceArgs,
}

/// A trained model and the report of its training.
pub struct Trained {
    pub spec: ModelSpec,
    pub params: Params,
    pub report: TrainReport,
}

/// Loads the data, trains on `device` with one line per epoch, and returns the model.
pub fn run_training(recipe: &RecipeArgs, device: &Device) -> Result<Trained> {
    let config = recipe.config()?;
    let mut train_set = load_dir(&recipe.data, Split::Train)?;
    if let Some(n) = recipe.limit {
        train_set = train_set.truncated(n);
    }
    let val_set = load_dir(&recipe.data, Split::Test)?;
    let spec = ModelSpec::parse(&recipe.layers, train_set.image_size())?;
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
    let params = trainer.params()?;
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
    Ok(Trained {
        spec,
        params,
        report,
    })
}

pub fn train(args: &TrainArgs) -> Result<()> {
    args.recipe.config()?;
    check_output(args.report.as_deref())?;
    check_output(args.model_out.as_deref())?;
    let device = open_device(&args.device)?;
    let trained = run_training(&args.recipe, &device)?;
    if let Some(path) = &args.model_out {
        model_file::save(path, &trained.spec, &trained.params)?;
        println!("model: {}", path.display());
    }
    if let Some(path) = &args.report {
        write_json(path, &trained.report)?;
        println!("report: {}", path.display());
    }
    Ok(())
}
