//! `aeclust encode`.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use super::args::{check_output, open_device, DataArgs, DeviceArgs, SplitArg};
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
    #[arg(long, value_enum, default_value_t = SplitArg::Test)]
    pub split: SplitArg,
    /// Write the codes here as a float32 .npy (images x code width).
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub device: DeviceArgs,
}

pub fn encode(args: &EncodeArgs) -> Result<()> {
    check_output(Some(&args.out))?;
    let (spec, params) = model_file::load_weights(&args.model)?;
    args.data.check()?;
    let data = args.data.open()?.split(args.split.split())?;
    spec.check(data.image_size())?;
    let device = open_device(&args.device)?;
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
