//! `aeclust run` (and `aeclust` alone): the post's whole pipeline into one directory.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Parser};

use super::args::{open_device, DeviceArgs, EmbedArgs, KmeansArgs, RecipeArgs};
use super::cluster::{cluster_and_write, ClusterOutputs};
use super::train::{run_training, ModelOutput};
use aeclust::data::Split;
use aeclust::encode::{encode, reconstruct};
use aeclust::npy;
use aeclust::output::write_atomic;
use aeclust::output::write_json;
use aeclust::report::{
    loss_plot, pca_plot, reconstruction_sheet, write_png, ImageShape, RunReport,
};

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
    args.recipe.config()?;
    // One seed for the whole pipeline: the weights, the shuffle and the initial centroids.
    let config = args.kmeans.config(args.recipe.seed())?;
    let embed = args.embed.config(args.recipe.seed())?;
    let out = &args.out;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let _lock = aeclust::output::DirLock::acquire(out)?;
    aeclust::output::check_writable(&out.join("train.json"))?;
    let device = open_device(&args.device)?;

    let model_path = out.join("model.safetensors");
    let output = ModelOutput {
        path: &model_path,
        checkpoint_every: args.recipe.checkpoint_every,
    };
    let source = args.recipe.data.open()?;
    let trained = run_training(
        &args.recipe,
        &source,
        &device,
        args.quiet,
        None,
        Some(output),
    )?;
    write_json(&out.join("train.json"), &trained.report)?;

    let test = source.split(Split::Test)?;
    let codes = encode(&device, &trained.spec, &trained.params, &test)?;
    let d = codes.len() / test.count;
    npy::write_matrix(&out.join("codes.npy"), &codes, test.count, d)?;
    println!("encoded the {} test images to {d}-d codes", test.count);
    write_reconstructions(
        &out.join("reconstructions.png"),
        &device,
        &trained,
        &test,
        &codes,
    )?;

    let report = out.join("clusters.json");
    let assignments = out.join("assignments.csv");
    let pictures = out.join("clusters");
    let sheet = out.join("clusters.png");
    let outputs = ClusterOutputs {
        report: Some(&report),
        assignments: Some(&assignments),
        pictures: Some(&pictures),
        sheet: Some(&sheet),
    };
    let (runs, clusters) = cluster_and_write(
        &device,
        (&codes, test.count, d),
        Some(&test),
        (&config, embed.as_ref()),
        args.pixels,
        &outputs,
    )?;

    loss_plot(
        &out.join("loss.png"),
        &trained.curve,
        &trained.report.epochs,
        trained.spec.loss,
    )?;
    pca_plot(
        &out.join("codes_pca.png"),
        &codes,
        (test.count, d),
        &clusters,
    )?;
    let files = [
        "model.safetensors",
        "train.json",
        "codes.npy",
        "reconstructions.png",
        "clusters.png",
        "loss.png",
        "codes_pca.png",
        "clusters.json",
        "assignments.csv",
        "clusters/",
        "report.json",
        "summary.md",
    ];
    let report = RunReport {
        data: args.recipe.data.data.display().to_string(),
        train: trained.report,
        kmeans: config,
        clustering: runs,
        files: files.iter().map(|f| f.to_string()).collect(),
    };
    write_json(&out.join("report.json"), &report)?;
    let summary = report.markdown();
    write_atomic(&out.join("summary.md"), summary.as_bytes())?;
    println!(
        "\n{summary}\n(written to {})",
        out.join("summary.md").display()
    );
    Ok(())
}

/// Ten held-out images, their reconstructions and their codes, as in the post.
fn write_reconstructions(
    path: &std::path::Path,
    device: &aeclust::device::Device,
    trained: &super::train::Trained,
    test: &aeclust::data::Dataset,
    codes: &[f32],
) -> Result<()> {
    // The first ten, as in the post; from a folder, whose files are listed class by class,
    // ten spread over all of them.
    let count = test.count.min(10);
    let picked: Vec<usize> = match test.names {
        Some(_) => (0..count).map(|i| i * test.count / count).collect(),
        None => (0..count).collect(),
    };
    let shown = test.select(&picked);
    let size = shown.image_size();
    let reconstructions = reconstruct(device, &trained.spec, &trained.params, &shown)?;
    let originals: Vec<&[u8]> = shown.pixels.chunks(size).collect();
    let code_width = codes.len() / test.count;
    let shown_codes: Vec<f32> = picked
        .iter()
        .flat_map(|&i| &codes[i * code_width..(i + 1) * code_width])
        .copied()
        .collect();
    let sheet = reconstruction_sheet(
        &originals,
        &reconstructions,
        &shown_codes,
        ImageShape::of(&shown),
        3,
    );
    write_png(path, &sheet)?;
    println!("reconstructions: {}", path.display());
    Ok(())
}
