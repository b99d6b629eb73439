//! `aeclust train`.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Args;

use super::args::{check_outputs, open_device, DeviceArgs, RecipeArgs};
use super::console::Console;
use aeclust::output::{write_json, OutputSet};
use aeclust::pipeline::{plan_training, train_model, ModelOutputs};

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

pub fn train(args: &TrainArgs) -> Result<()> {
    let settings = args.recipe.settings()?;
    if args.recipe.checkpoint_every.is_some() && args.model_out.is_none() {
        bail!("--checkpoint-every needs --model-out (where the checkpoints go)");
    }
    let survey = args.recipe.data.survey(None)?;
    let plan = plan_training(&survey, &settings, args.model.as_deref())?;
    let mut inputs = survey.inputs.clone();
    inputs.extend_path(args.model.as_deref());
    check_outputs(
        [&args.report, &args.model_out]
            .into_iter()
            .flatten()
            .map(|p| p.as_path()),
        &inputs,
    )?;
    let device = open_device(&args.device)?;
    let source = args.recipe.data.load(survey)?;
    // The model and the report are put in place together; checkpoints go straight to the
    // model's place, to resume from if the run stops.
    let mut set = OutputSet::loose();
    let model = args
        .model_out
        .as_deref()
        .map(|p| set.stage(p))
        .transpose()?;
    let outputs = ModelOutputs {
        model: model.as_deref(),
        checkpoints: args.model_out.as_deref(),
    };
    let trained = train_model(
        &device,
        &source,
        &settings,
        plan,
        outputs,
        &mut Console::new(args.quiet),
    )?;
    if let Some(path) = &args.report {
        write_json(&set.stage(path)?, &trained.report)?;
    }
    set.commit()?;
    match &args.model_out {
        Some(path) => println!("model: {}", path.display()),
        None => println!("model: not saved (give --model-out FILE to keep it)"),
    }
    if let Some(path) = &args.report {
        println!("report: {}", path.display());
    }
    Ok(())
}
