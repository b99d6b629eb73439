//! `aeclust run` (and `aeclust` alone): the post's whole pipeline into one directory.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Parser};

use super::args::{open_device, DeviceArgs, EmbedArgs, KmeansArgs, RecipeArgs};
use super::console::Console;
use aeclust::pipeline::{ClusterPlan, OutputDir, Pipeline};

#[derive(Args)]
pub struct RunArgs {
    /// Directory for everything the run writes (created if missing).
    #[arg(long, default_value = "out")]
    pub out: PathBuf,
    #[command(flatten)]
    pub recipe: RecipeArgs,
    #[command(flatten)]
    pub kmeans: KmeansArgs,
    #[command(flatten)]
    pub embed: EmbedArgs,
    /// Also cluster the raw test pixels, side by side with the codes.
    #[arg(long)]
    pub pixels: bool,
    /// No progress bar or epoch lines while training.
    #[arg(long)]
    pub quiet: bool,
    #[command(flatten)]
    pub device: DeviceArgs,
}

/// Parses `RunArgs` from nothing: every default.
#[derive(Parser)]
struct Defaults {
    #[command(flatten)]
    run: RunArgs,
}

impl RunArgs {
    pub fn default_args() -> RunArgs {
        Defaults::parse_from(["aeclust"]).run
    }
}

pub fn run(args: &RunArgs) -> Result<()> {
    let training = args.recipe.settings()?;
    // One seed for the whole pipeline: the weights, the shuffle and the initial centroids.
    let seed = training.seed();
    let clustering = ClusterPlan {
        kmeans: args.kmeans.config(seed)?,
        embed: args.embed.config(seed)?,
        pixels: args.pixels,
    };
    let out = OutputDir::claim(&args.out)?;
    let device = open_device(&args.device)?;
    let source = args.recipe.data.open()?;
    let pipeline = Pipeline {
        device: &device,
        source: &source,
        data_name: args.recipe.data.data.display().to_string(),
        training,
        clustering,
    };
    let result = pipeline.run(&out, &mut Console::new(args.quiet))?;
    println!(
        "\n{}\n(written to {})",
        result.report.markdown(),
        args.out.join("summary.md").display()
    );
    Ok(())
}
