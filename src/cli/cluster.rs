//! `aeclust cluster`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;

use super::args::{open_device, DataArgs, DeviceArgs, EmbedArgs, KmeansArgs, SplitArg};
use aeclust::cluster::{
    cluster_features, embed_and_cluster, metrics, ClusterRun, KmeansConfig, KmeansResult,
};
use aeclust::data::Dataset;
use aeclust::device::Device;
use aeclust::embed::UmapConfig;
use aeclust::encode::encode;
use aeclust::output::{check_writable, write_atomic, write_json};
use aeclust::report::{self, ClusterReport};
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

pub fn print_run(run: &ClusterRun) {
    let score = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.4}"));
    let embedding = run
        .embedding
        .as_ref()
        .map_or(String::new(), |e| format!("   (umap {:.2} s)", e.seconds));
    println!(
        "{:<11} {:>6} x {:<4} k {:<3} inertia {:<14.6e} {:>3} iterations {:>7.2} s   acc {}  nmi {}  ari {}{embedding}",
        run.features,
        run.samples,
        run.dims,
        run.k,
        run.inertia,
        run.iterations,
        run.seconds,
        score(run.acc),
        score(run.nmi),
        score(run.ari)
    );
}

/// Where the results of a clustering go (each optional).
pub struct ClusterOutputs<'a> {
    pub report: Option<&'a Path>,
    pub assignments: Option<&'a Path>,
    pub pictures: Option<&'a Path>,
    /// The one-row-per-cluster sheet (`clusters.png` in `pictures` when not given).
    pub sheet: Option<&'a Path>,
}

/// Clusters `codes` (n x d), and with `embed` their UMAP embedding, and with `pixels` the
/// images' pixels (embedded too with `embed`); scores them against the labels of `data` when
/// there is data; prints and writes the results. Assignments and pictures follow the
/// embedded codes when there are any.
pub fn cluster_and_write(
    device: &Device,
    (codes, n, d): (&[f32], usize, usize),
    data: Option<&Dataset>,
    (config, embed): (&KmeansConfig, Option<&UmapConfig>),
    pixels: bool,
    outputs: &ClusterOutputs,
) -> Result<(Vec<ClusterRun>, Vec<u32>)> {
    if (pixels || outputs.pictures.is_some()) && data.is_none() {
        bail!("--pixels and --pictures need the images of the codes (--data, --split)");
    }
    let labels = data.map(Dataset::scoring_labels).transpose()?.flatten();
    let mut runs = Vec::new();
    let mut cluster = |features: &str, points: &[f32], shape: (usize, usize)| -> Result<_> {
        let (run, plain) = cluster_features(device, features, points, shape, labels, config)?;
        print_run(&run);
        runs.push(run);
        let Some(umap) = embed else { return Ok(plain) };
        let (run, embedded) =
            embed_and_cluster(device, features, points, shape, labels, (config, umap))?;
        print_run(&run);
        runs.push(run);
        Ok(embedded)
    };
    let result = cluster("codes", codes, (n, d))?;
    if let (true, Some(data)) = (pixels, data) {
        let values: Vec<f32> = data.pixels.iter().map(|&p| f32::from(p) / 255.0).collect();
        cluster("pixels", &values, (data.count, data.image_size()))?;
    }
    if let Some(labels) = labels {
        let counts = metrics::contingency(&result.labels, labels);
        print!("{}", report::contingency_table(&counts));
    }
    if let Some(path) = outputs.assignments {
        write_atomic(path, assignments_csv(&result, data).as_bytes())?;
    }
    if let (Some(dir), Some(data)) = (outputs.pictures, data) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let written = report::cluster_pictures(dir, data, &result.labels, config.k, 64)?;
        let sheet = outputs
            .sheet
            .map_or_else(|| dir.join("clusters.png"), Path::to_path_buf);
        report::write_png(
            &sheet,
            &report::cluster_sheet(data, &result.labels, config.k, 16),
        )?;
        println!(
            "pictures: {} clusters in {}, all on {}",
            written.len(),
            dir.display(),
            sheet.display()
        );
    }
    if let Some(path) = outputs.report {
        let report = ClusterReport {
            kmeans: config.clone(),
            runs: runs.clone(),
        };
        write_json(path, &report)?;
        println!("report: {}", path.display());
    }
    Ok((runs, result.labels))
}

/// One line per sample: its image, cluster, label (class name) and squared distance.
fn assignments_csv(result: &KmeansResult, data: Option<&Dataset>) -> String {
    let mut text = String::from("image,cluster,label,distance\n");
    for (i, (&cluster, &distance)) in result.labels.iter().zip(&result.distances).enumerate() {
        let (image, label) = match data {
            Some(data) => {
                let label = data
                    .labels
                    .as_ref()
                    .and_then(|l| data.classes.get(l[i] as usize))
                    .map_or(String::new(), |c| csv_field(c));
                (csv_field(&data.name(i)), label)
            }
            None => (i.to_string(), String::new()),
        };
        text += &format!("{image},{cluster},{label},{distance}\n");
    }
    text
}

/// A CSV field, quoted when it holds a comma, a quote or a line break.
fn csv_field(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_string()
    }
}

pub fn cluster(args: &ClusterArgs) -> Result<()> {
    for path in [&args.report, &args.assignments].into_iter().flatten() {
        check_writable(path)?;
    }
    let config = args.kmeans.config(args.seed)?;
    let embed = args.embed.config(args.seed)?;
    let device = open_device(&args.device)?;
    args.data.check()?;
    let data = args
        .data
        .open()
        .and_then(|source| source.split(args.split.split()));
    let (codes, n, d, data) = match (&args.codes, &args.model) {
        (Some(path), _) => {
            let (codes, n, d) = npy::read_matrix(path)?;
            // Labels and images only belong to these codes when the counts agree.
            (codes, n, d, data.ok().filter(|data| data.count == n))
        }
        (None, Some(model)) => {
            let (spec, params) = model_file::load_weights(model)?;
            let data = data?;
            let codes = encode(&device, &spec, &params, &data)?;
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
    cluster_and_write(
        &device,
        (&codes, n, d),
        data.as_ref(),
        (&config, embed.as_ref()),
        args.pixels,
        &outputs,
    )?;
    if data.is_none() {
        eprintln!(
            "notice: not scored: no {n} images in {}",
            args.data.data.display()
        );
    }
    Ok(())
}
