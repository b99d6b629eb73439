//! `aeclust cluster`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use clap::Args;

use super::args::{
    check_output_dir, open_device, refuse_foreign_files, DeviceArgs, EmbedArgs, FineTuneArgs,
    KmeansArgs,
};
use super::console::Console;
use super::features::FeatureArgs;
use aeclust::data::SourceKind;
use aeclust::identity::refuse_duplicates;
use aeclust::output::{check_placeable, OutputSet};
use aeclust::pipeline::{cluster_and_write, write_html, ClusterOutputs, ClusterPlan, Features};

#[derive(Args)]
pub struct ClusterArgs {
    #[command(flatten)]
    pub features: FeatureArgs,
    #[command(flatten)]
    pub kmeans: KmeansArgs,
    #[command(flatten)]
    pub embed: EmbedArgs,
    #[command(flatten)]
    pub fine_tune: FineTuneArgs,
    /// With --fine-tune, write the fine-tuned model here (the encoder fine-tuned, the decoder
    /// as it was): the model whose codes a saved clustering (--clustering-out) places.
    #[arg(long, value_name = "FILE")]
    pub fine_tuned_out: Option<PathBuf>,
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
    /// Save the clustering here (safetensors), to assign new images to it with `assign`.
    #[arg(long, value_name = "FILE")]
    pub clustering_out: Option<PathBuf>,
    /// With --embed umap, write the codes' embedding here (a float32 .npy, images x dims).
    #[arg(long, value_name = "FILE")]
    pub embedding_out: Option<PathBuf>,
    #[command(flatten)]
    pub device: DeviceArgs,
}

pub fn cluster(args: &ClusterArgs) -> Result<()> {
    let plan = ClusterPlan {
        kmeans: args.kmeans.config(args.seed)?,
        embed: args.embed.config(args.seed)?,
        pixels: args.pixels,
        fine_tune: args.fine_tune.config(args.seed),
    };
    if args.embedding_out.is_some() && plan.embed.is_none() {
        bail!("--embedding-out needs --embed umap");
    }
    match (&plan.fine_tune, &args.fine_tuned_out, &args.clustering_out) {
        (None, Some(_), _) => bail!("--fine-tuned-out needs --fine-tune"),
        (Some(_), None, Some(_)) => bail!(
            "--clustering-out with --fine-tune needs --fine-tuned-out: the clustering places \
             the codes of the fine-tuned model"
        ),
        _ => {}
    }
    if plan.fine_tune.is_some() && args.features.model.is_none() {
        bail!("--fine-tune needs --model (it trains the model's encoder)");
    }
    let needs_images = args.pixels || args.pictures.is_some() || plan.fine_tune.is_some();
    let features = args.features.plan(needs_images)?;
    let (points, width) = (features.points, features.width);
    let digest = features.digest.clone();
    let shape = features.survey.as_ref().map(|s| s.shape);
    plan.check_points(points, width, shape.map_or(0, |s| s.size()))?;
    plan.check_fine_tune(points, width, shape)?;
    let map = args.pictures.as_ref().map(|dir| dir.join("map.png"));
    let outputs = ClusterOutputs {
        report: args.report.as_deref(),
        assignments: args.assignments.as_deref(),
        pictures: args.pictures.as_deref(),
        sheet: None,
        clustering: args.clustering_out.as_deref(),
        embedding: args.embedding_out.as_deref(),
        model_digest: digest.as_deref(),
        map: map.as_deref(),
        fine_tuned_model: args.fine_tuned_out.as_deref(),
    };
    let html = args.pictures.as_ref().map(|dir| dir.join("report.html"));
    let mut files = outputs.files(plan.kmeans.k);
    files.extend(html.clone());
    if let Some(dir) = &args.pictures {
        check_output_dir(dir, "--pictures", &args.features.data.data)?;
        refuse_foreign_files(dir, "--pictures", &files)?;
    }
    for file in &files {
        check_placeable(file)?;
    }
    let sheet = outputs.sheet_path();
    let named: Vec<&Path> = [
        &args.report,
        &args.assignments,
        &sheet,
        &args.clustering_out,
        &args.embedding_out,
        &args.fine_tuned_out,
    ]
    .into_iter()
    .flatten()
    .map(PathBuf::as_path)
    .collect();
    refuse_duplicates(&named)?;
    features
        .inputs
        .refuse_outputs(files.iter().map(|p| p.as_path()))?;

    let device = open_device(&args.device)?;
    let no_images = features.no_images.clone();
    let (codes, data, model) = args.features.load(features, &device)?;
    let features = Features {
        values: &codes,
        n: points,
        d: width,
    };
    let mut set = OutputSet::loose();
    let mut console = Console::new(false);
    let clustering = cluster_and_write(
        &device,
        features,
        model.as_ref().map(|(spec, params)| (spec, params)),
        data.as_ref(),
        &plan,
        &outputs,
        &mut set,
        &mut console,
    )?;
    if let (Some(path), Some(data)) = (&html, &data) {
        let settings = vec![
            (
                "data".to_string(),
                aeclust::data::names::escape(args.features.data.data.as_os_str()),
            ),
            ("features".into(), format!("{points} x {width}")),
            (
                "k-means".into(),
                format!(
                    "k = {}, {} restarts, seed {}",
                    plan.kmeans.k, plan.kmeans.n_init, args.seed
                ),
            ),
            (
                "typicality".into(),
                "the squared distance to the cluster's centre".into(),
            ),
        ];
        let data_path = &args.features.data.data;
        let folder = data_path.is_dir() && SourceKind::of(data_path)? == SourceKind::Folder;
        write_html(
            path,
            &mut set,
            format!("aeclust: {} clusters", plan.kmeans.k),
            settings,
            Vec::new(),
            data,
            folder.then_some(data_path.as_path()),
            &clustering,
        )?;
        println!("report: {}", path.display());
    }
    set.commit()?;
    if let Some(why) = no_images {
        eprintln!("notice: not scored: {why}");
    }
    Ok(())
}
