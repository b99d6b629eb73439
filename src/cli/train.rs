//! `aeclust train`.

use std::cell::Cell;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;

use super::args::{check_output, open_device, DeviceArgs, RecipeArgs};
use super::interrupt;
use aeclust::data::Source;
use aeclust::device::Device;
use aeclust::model::{ModelSpec, Params};
use aeclust::model_file::{self, TrainingState};
use aeclust::output::write_json;
use aeclust::report::TrainReport;
use aeclust::train::{fit, Backend, EpochProgress};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

#[derive(Args)]
pub struct TrainArgs {
    #[command(flatten)]
    pub recipe: RecipeArgs,
    /// Write a JSON report of the run here.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Save the trained model here (safetensors, PyTorch layout, with Adam's state so that
    /// training can resume).
    #[arg(long)]
    pub model_out: Option<PathBuf>,
    /// Resume from this model (saved by --model-out): its weights, Adam's state, the epochs
    /// done and the seed; --epochs more epochs give the same result as one longer run.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Print nothing while training (no progress bar, no epoch lines).
    #[arg(long)]
    pub quiet: bool,
    #[command(flatten)]
    pub device: DeviceArgs,
}

/// A progress bar for the running epoch on stderr, drawn only when stderr is a terminal.
struct EpochBar {
    bar: Option<ProgressBar>,
    epochs: usize,
}

impl EpochBar {
    fn new(quiet: bool, epochs: usize) -> Self {
        let bar = (!quiet).then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{prefix} [{bar:30}] {pos}/{len} samples, {msg} ({eta} left)",
                )
                .expect("a valid template")
                .progress_chars("=> "),
            );
            bar
        });
        EpochBar { bar, epochs }
    }

    fn update(&self, p: &EpochProgress) {
        if let Some(bar) = &self.bar {
            bar.set_length(p.total as u64);
            bar.set_prefix(format!("epoch {}/{}", p.epoch, self.epochs));
            bar.set_position(p.samples as u64);
            bar.set_message(format!(
                "loss {:.4}, {:.0} samples/s",
                p.running_loss,
                p.samples as f64 / p.seconds.max(1e-9)
            ));
        }
    }

    /// Clears the bar before the epoch's line is printed.
    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
            bar.reset();
        }
    }
}

/// A trained model and the report of its training.
pub struct Trained {
    pub spec: ModelSpec,
    pub params: Params,
    /// (epoch as a fraction, running training loss) as the epochs went.
    pub curve: Vec<(f64, f64)>,
    pub report: TrainReport,
}

/// Where a training run's model goes, and whether it is also saved between epochs.
pub struct ModelOutput<'a> {
    pub path: &'a Path,
    /// Save after every this many epochs (`--checkpoint-every`), besides at the end.
    pub checkpoint_every: Option<usize>,
}

/// Trains on `source`'s training part (validating on its held-out part) on `device` with one
/// line per epoch (saving checkpoints to `output` as asked), and returns the model.
pub fn run_training(
    recipe: &RecipeArgs,
    source: &Source,
    device: &Device,
    quiet: bool,
    resume: Option<&Path>,
    output: Option<ModelOutput>,
) -> Result<Trained> {
    let mut config = recipe.config()?;
    let resumed = resume.map(model_file::load).transpose()?;
    let (mut train_set, val_set) = source.train_and_test()?;
    if let Some(n) = recipe.limit {
        train_set = train_set.truncated(n);
    }
    let (spec, init, adam) = match resumed {
        None => {
            let spec = recipe.model(train_set.image_size())?;
            let init = Params::glorot(&spec, config.seed);
            (spec, init, None)
        }
        Some((spec, params, state)) => {
            let path = resume.expect("resumed from a path").display();
            let state = state.with_context(|| {
                format!("{path} has no optimizer state to resume from (save it with --model-out)")
            })?;
            spec.check(train_set.image_size())?;
            recipe.check_resume(&spec, &state, &path.to_string(), train_set.count)?;
            config.first_epoch = state.epochs;
            config.seed = state.seed;
            (spec, params, Some(state.adam))
        }
    };
    let adapter = device.adapter();
    println!(
        "backend: {}, adapter: {} ({}, {}), matmul kernel: {}",
        device.backend_name(),
        adapter.name,
        adapter.backend,
        adapter.device_type,
        device.matmul_kernel()
    );
    let colour = if train_set.channels == 3 { " RGB" } else { "" };
    println!(
        "data: {} train, {} validation images of {}x{}{colour}; model {:?} ({}; {}), {} parameters",
        train_set.count,
        val_set.count,
        train_set.cols,
        train_set.rows,
        spec.widths,
        spec.activations
            .iter()
            .map(|a| a.name())
            .collect::<Vec<_>>()
            .join(","),
        spec.loss.name(),
        spec.parameter_count()
    );
    let mut trainer = device.trainer(&spec, &init, &train_set, &val_set, &config)?;
    if let Some(adam) = &adam {
        trainer.set_adam_state(adam)?;
    }
    let last_epoch = config.first_epoch + config.epochs;
    let bar = EpochBar::new(quiet, last_epoch);
    let mut curve = Vec::new();
    // Saves the model with everything needed to resume it after `epochs` epochs.
    let saved = Cell::new(None);
    let checkpoint = |backend: &dyn Backend, epochs: usize| -> Result<()> {
        let Some(out) = &output else { return Ok(()) };
        let state = TrainingState {
            adam: backend.adam_state()?,
            epochs,
            seed: config.seed,
        };
        model_file::save(out.path, &spec, &backend.params()?, Some(&state))?;
        saved.set(Some(epochs));
        Ok(())
    };
    let stop_if_interrupted = || -> Result<()> {
        if !interrupt::requested() {
            return Ok(());
        }
        match (&output, saved.get()) {
            (Some(out), Some(epochs)) => bail!(
                "interrupted; {0} holds the model after epoch {epochs} (continue with --model {0})",
                out.path.display()
            ),
            _ => bail!("interrupted before a checkpoint was saved"),
        }
    };
    let epochs = interrupt::stoppable(|| {
        fit(
            trainer.as_mut(),
            &config,
            train_set.count,
            |p| {
                bar.update(p);
                let at = (p.epoch - 1) as f64 + p.samples as f64 / p.total as f64;
                curve.push((at, p.running_loss));
                stop_if_interrupted()
            },
            |e, backend| {
                bar.finish();
                if !quiet {
                    println!(
                        "epoch {}/{last_epoch}: loss {:.4}, val_loss {:.4}, {:.1} s, {:.0} samples/s",
                        e.epoch, e.loss, e.val_loss, e.seconds, e.samples_per_sec
                    );
                }
                let every = output.as_ref().and_then(|out| out.checkpoint_every);
                if every.is_some_and(|n| e.epoch % n == 0 && e.epoch < last_epoch) {
                    checkpoint(backend, e.epoch)?;
                }
                stop_if_interrupted()
            },
        )
    })?;
    let params = trainer.params()?;
    checkpoint(trainer.as_ref(), last_epoch)?;
    let last = epochs.last().expect("at least one epoch");
    let report = TrainReport {
        backend: device.backend_name().into(),
        adapter,
        matmul_kernel: device.matmul_kernel().into(),
        layers: spec.widths.clone(),
        activations: spec.activations.clone(),
        loss: spec.loss,
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
        curve,
        report,
    })
}

pub fn train(args: &TrainArgs) -> Result<()> {
    args.recipe.config()?;
    check_output(args.report.as_deref())?;
    check_output(args.model_out.as_deref())?;
    if args.recipe.checkpoint_every.is_some() && args.model_out.is_none() {
        bail!("--checkpoint-every needs --model-out (where the checkpoints go)");
    }
    let device = open_device(&args.device)?;
    let source = args.recipe.data.open()?;
    let output = args.model_out.as_deref().map(|path| ModelOutput {
        path,
        checkpoint_every: args.recipe.checkpoint_every,
    });
    let trained = run_training(
        &args.recipe,
        &source,
        &device,
        args.quiet,
        args.model.as_deref(),
        output,
    )?;
    if let Some(path) = &args.model_out {
        println!("model: {}", path.display());
    }
    if let Some(path) = &args.report {
        write_json(path, &trained.report)?;
        println!("report: {}", path.display());
    }
    Ok(())
}
