//! `aeclust cluster`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;

use super::args::{
    check_output_dir, open_device, refuse_foreign_files, DataArgs, DeviceArgs, EmbedArgs,
    KmeansArgs, SplitArg,
};
use super::console::Console;
use aeclust::data::SourceKind;
use aeclust::identity::{refuse_duplicates, Inputs};
use aeclust::output::{check_placeable, OutputSet};
use aeclust::pipeline::{cluster_and_write, write_html, ClusterOutputs, ClusterPlan, Features};
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
    #[arg(long, value_enum)]
    pub split: Option<SplitArg>,
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
    /// Save the clustering here (safetensors), to assign new images to it with `assign`.
    #[arg(long, value_name = "FILE")]
    pub clustering_out: Option<PathBuf>,
    /// With --embed umap, write the codes' embedding here (a float32 .npy, images x dims).
    #[arg(long, value_name = "FILE")]
    pub embedding_out: Option<PathBuf>,
    #[command(flatten)]
    pub device: DeviceArgs,
}

/// Where the features come from.
enum FeatureSource {
    Codes(PathBuf),
    Model(aeclust::model::ModelSpec, aeclust::model::Params),
}

pub fn cluster(args: &ClusterArgs) -> Result<()> {
    let plan = ClusterPlan {
        kmeans: args.kmeans.config(args.seed)?,
        embed: args.embed.config(args.seed)?,
        pixels: args.pixels,
    };
    if args.embedding_out.is_some() && plan.embed.is_none() {
        bail!("--embedding-out needs --embed umap");
    }
    args.data.check()?;
    let needs_images = args.pixels || args.pictures.is_some();
    let mut digest = None;
    let mut inputs = Inputs::default();
    let (features, points, width, survey, unscored) = match (&args.codes, &args.model) {
        (Some(path), _) => {
            let (n, d) = npy::read_matrix_shape(path)?;
            inputs.add(path);
            // Labels and images only belong to these codes when the counts agree.
            let (survey, unscored) = match args.data.survey(None) {
                Ok(survey) => {
                    let split = args.data.split(args.split, &survey);
                    match survey.count(split) {
                        Ok(count) if count == n => (Some(survey), None),
                        Ok(count) => (
                            None,
                            Some(format!(
                                "the {} split of {} holds {count} images, the codes {n} \
                                 rows (--split and --data say which images the codes are)",
                                split.name(),
                                args.data.data.display()
                            )),
                        ),
                        Err(error) => (None, Some(format!("{error:#}"))),
                    }
                }
                Err(error) => (None, Some(format!("{error:#}"))),
            };
            if let (true, Some(why)) = (needs_images, &unscored) {
                bail!("--pixels and --pictures need the images of the codes: {why}");
            }
            (FeatureSource::Codes(path.clone()), n, d, survey, unscored)
        }
        (None, Some(model)) => {
            let (spec, params) = model_file::load_weights(model)?;
            digest = Some(model_file::digest(&spec, &params));
            inputs.add(model);
            let survey = args.data.survey(None)?;
            spec.check_data(survey.shape).with_context(|| {
                format!(
                    "{} does not fit {}",
                    model.display(),
                    args.data.data.display()
                )
            })?;
            let n = survey.count(args.data.split(args.split, &survey))?;
            let width = spec.code_width();
            (
                FeatureSource::Model(spec, params),
                n,
                width,
                Some(survey),
                None,
            )
        }
        (None, None) => bail!("give --codes or --model"),
    };
    let pixel_width = survey.as_ref().map_or(0, |s| s.shape.size());
    plan.check_points(points, width, pixel_width)?;
    if let Some(survey) = &survey {
        inputs.extend(&survey.inputs);
    }
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
    };
    let html = args.pictures.as_ref().map(|dir| dir.join("report.html"));
    let mut files = outputs.files(plan.kmeans.k);
    files.extend(html.clone());
    if let Some(dir) = &args.pictures {
        check_output_dir(dir, "--pictures", &args.data.data)?;
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
    ]
    .into_iter()
    .flatten()
    .map(PathBuf::as_path)
    .collect();
    refuse_duplicates(&named)?;
    inputs.refuse_outputs(files.iter().map(|p| p.as_path()))?;

    let device = open_device(&args.device)?;
    let data = match survey {
        Some(survey) => {
            let split = args.data.split(args.split, &survey);
            Some(args.data.load(survey)?.split(split)?)
        }
        None => None,
    };
    let codes = match &features {
        FeatureSource::Codes(path) => npy::read_matrix(path)?.0,
        FeatureSource::Model(spec, params) => {
            let data = data.as_ref().expect("images to encode");
            device.encoder().encode(spec, params, data)?
        }
    };
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
                aeclust::data::names::escape(args.data.data.as_os_str()),
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
        let folder =
            args.data.data.is_dir() && SourceKind::of(&args.data.data)? == SourceKind::Folder;
        write_html(
            path,
            &mut set,
            format!("aeclust: {} clusters", plan.kmeans.k),
            settings,
            Vec::new(),
            data,
            folder.then_some(args.data.data.as_path()),
            &clustering,
        )?;
        println!("report: {}", path.display());
    }
    set.commit()?;
    if let Some(why) = unscored {
        eprintln!("notice: not scored: {why}");
    }
    Ok(())
}
