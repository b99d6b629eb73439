//! `aeclust encode`.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;

use super::args::{check_outputs, open_device, DataArgs, DeviceArgs, SplitArg};
use aeclust::{model_file, npy};

#[derive(Args)]
pub struct EncodeArgs {
    /// A model saved by `train --model-out`.
    #[arg(long)]
    pub model: PathBuf,
    /// The images (see `train --help` for what --data takes).
    #[command(flatten)]
    pub data: DataArgs,
    /// Which images to encode.
    #[arg(long, value_enum)]
    pub split: Option<SplitArg>,
    /// Write the codes here as a float32 .npy (images x code width).
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub device: DeviceArgs,
}

pub fn encode(args: &EncodeArgs) -> Result<()> {
    args.data.check()?;
    let (spec, params) = model_file::load_weights(&args.model)?;
    let survey = args.data.survey(None)?;
    spec.check_data(survey.shape).with_context(|| {
        format!(
            "{} does not fit {}",
            args.model.display(),
            args.data.data.display()
        )
    })?;
    let split = args.data.split(args.split, &survey);
    survey.count(split)?;
    let mut inputs = survey.inputs.clone();
    inputs.extend_path(Some(&args.model));
    check_outputs([args.out.as_path()], &inputs)?;
    let device = open_device(&args.device)?;
    let data = args.data.load(survey)?.into_split(split)?;
    let start = std::time::Instant::now();
    let codes = device.encoder().encode(&spec, &params, &data)?;
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
