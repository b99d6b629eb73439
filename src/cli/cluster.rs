//! `aeclust cluster`.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::{Args, ValueEnum};

use super::args::{open_device, DataArgs, DeviceArgs, EmbedArgs, KmeansArgs, SplitArg};
use super::console::Console;
use aeclust::output::check_writable;
use aeclust::pipeline::{cluster_and_write, ClusterOutputs, ClusterPlan, Features};
use aeclust::{model_file, npy};

#[derive(Args)]
pub struct ClusterArgs {
    /// Features to cluster: a float32 .npy (samples x features), such as `encode` writes.
    #[arg(long, conflicts_with = "model", required_unless_present = "model")]
    pub codes: Option<PathBuf>,
    /// Or a model: encode the images of --data/--split with it, then cluster the codes.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// The images of the codes (see `train --help` for what --data takes): labels for the
    /// scores, images for --pixels and --pictures, and the images to encode with --model.
    #[command(flatten)]
    pub data: DataArgs,
    /// Which images the codes belong to.
    #[arg(long, value_enum, default_value_t = SplitArg::Test)]
    pub split: SplitArg,
    #[command(flatten)]
    pub kmeans: KmeansArgs,
    #[command(flatten)]
    pub embed: EmbedArgs,
    /// Seed of the initial centroids and of the embedding.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Also cluster the raw pixels the same way, side by side.
    #[arg(long)]
    pub pixels: bool,
    /// Write a JSON report of the runs here.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Write every sample's cluster here as CSV: image (file or index), cluster, label (when
    /// known), squared distance to its centroid.
    #[arg(long)]
    pub assignments: Option<PathBuf>,
    /// Write one PNG per cluster (its first 64 members) into this directory.
    #[arg(long)]
    pub pictures: Option<PathBuf>,
    #[command(flatten)]
    pub device: DeviceArgs,
}

pub fn cluster(args: &ClusterArgs) -> Result<()> {
    for path in [&args.report, &args.assignments].into_iter().flatten() {
        check_writable(path)?;
    }
    let plan = ClusterPlan {
        kmeans: args.kmeans.config(args.seed)?,
        embed: args.embed.config(args.seed)?,
        pixels: args.pixels,
    };
    let device = open_device(&args.device)?;
    args.data.check()?;
    let data = args
        .data
        .open()
        .and_then(|source| source.split(args.split.split()));
    let mut unscored = None;
    let (codes, n, d, data) = match (&args.codes, &args.model) {
        (Some(path), _) => {
            let (codes, n, d) = npy::read_matrix(path)?;
            // Labels and images only belong to these codes when the counts agree.
            let data = match data {
                Ok(data) if data.count == n => Some(data),
                Ok(data) => {
                    let split = args.split.to_possible_value().expect("no skipped split");
                    unscored = Some(format!(
                        "the {} split of {} holds {} images, the codes {n} rows (--split and \
                         --data say which images the codes are)",
                        split.get_name(),
                        args.data.data.display(),
                        data.count
                    ));
                    None
                }
                Err(error) => {
                    unscored = Some(format!("{error:#}"));
                    None
                }
            };
            (codes, n, d, data)
        }
        (None, Some(model)) => {
            let (spec, params) = model_file::load_weights(model)?;
            let data = data?;
            let codes = device.encoder().encode(&spec, &params, &data)?;
            let d = codes.len() / data.count;
            (codes, data.count, d, Some(data))
        }
        (None, None) => bail!("give --codes or --model"),
    };
    let outputs = ClusterOutputs {
        report: args.report.as_deref(),
        assignments: args.assignments.as_deref(),
        pictures: args.pictures.as_deref(),
        sheet: None,
    };
    let features = Features {
        values: &codes,
        n,
        d,
    };
    let mut console = Console::new(false);
    cluster_and_write(
        &device,
        features,
        data.as_ref(),
        &plan,
        &outputs,
        &mut console,
    )?;
    if let Some(why) = unscored {
        eprintln!("notice: not scored: {why}");
    }
    Ok(())
}
