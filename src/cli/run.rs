//! `aeclust run` (and `aeclust` alone): the post's whole pipeline into one directory.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Parser};

use super::args::{
    check_output_dir, open_device, refuse_foreign_files, DeviceArgs, EmbedArgs, FineTuneArgs,
    KmeansArgs, RecipeArgs, SplitArg,
};
use super::console::Console;
use aeclust::output::{check_placeable, OutputSet};
use aeclust::pipeline::{ClusterPlan, Pipeline};

#[derive(Args)]
pub struct RunArgs {
    /// Directory for everything the run writes (created if missing; its files are replaced
    /// only when the run succeeds).
    #[arg(long, default_value = "out")]
    pub out: PathBuf,
    #[command(flatten)]
    pub recipe: RecipeArgs,
    /// Which images to encode and cluster (training always uses the training part).
    #[arg(long, value_enum)]
    pub split: Option<SplitArg>,
    #[command(flatten)]
    pub kmeans: KmeansArgs,
    #[command(flatten)]
    pub embed: EmbedArgs,
    #[command(flatten)]
    pub fine_tune: FineTuneArgs,
    /// Also cluster the raw pixels, side by side with the codes.
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
        fine_tune: args.fine_tune.config(seed),
    };
    let data = &args.recipe.data;
    check_output_dir(&args.out, "--out", &data.data)?;
    let survey = data.survey(Some(&args.out))?;
    let split = data.split(args.split, &survey);
    let plan = Pipeline::plan(&survey, &training, &clustering, split)?;
    let files = Pipeline::output_files(
        &args.out,
        args.kmeans.k,
        args.recipe.checkpoint_every.is_some(),
    )?;
    refuse_foreign_files(&args.out, "--out", &files)?;
    for file in &files {
        check_placeable(file)?;
    }
    survey
        .inputs
        .refuse_outputs(files.iter().map(|f| f.as_path()))?;
    let out = OutputSet::directory(&args.out)?;
    let device = open_device(&args.device)?;
    let source = data.load(survey)?;
    let pipeline = Pipeline {
        device: &device,
        source: &source,
        data_name: aeclust::data::names::escape(data.data.as_os_str()),
        training,
        clustering,
        split,
    };
    let result = pipeline.run(plan, out, &mut Console::new(args.quiet))?;
    println!(
        "\n{}\n(written to {})",
        result.report.brief(),
        args.out.join("summary.md").display()
    );
    Ok(())
}
