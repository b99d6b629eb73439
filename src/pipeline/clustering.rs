//! Clustering features (codes, their UMAP embedding, the pixels) and writing what a user asked
//! for: scores, the contingency table, assignments, pictures, the JSON report.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::Events;
use crate::cluster::{
    cluster_features, embed_and_cluster, metrics, ClusterRun, Features, KmeansConfig, KmeansResult,
};
use crate::data::Dataset;
use crate::device::Device;
use crate::embed::UmapConfig;
use crate::output::{write_atomic, write_json};
use crate::report::{self, ClusterReport};

/// How to cluster: k-means, optionally on a UMAP embedding too, optionally the pixels too.
#[derive(Clone, Debug)]
pub struct ClusterPlan {
    pub kmeans: KmeansConfig,
    /// Also cluster the features' UMAP embedding, side by side.
    pub embed: Option<UmapConfig>,
    /// Also cluster the images' pixels the same way.
    pub pixels: bool,
}

/// Where the results of a clustering go (each optional).
#[derive(Clone, Copy, Default)]
pub struct ClusterOutputs<'a> {
    pub report: Option<&'a Path>,
    pub assignments: Option<&'a Path>,
    pub pictures: Option<&'a Path>,
    /// The one-row-per-cluster sheet (`clusters.png` in `pictures` when not given).
    pub sheet: Option<&'a Path>,
}

/// What a clustering gave and wrote.
pub struct Clustering {
    /// Every run, in order: the codes, their embedding, the pixels, theirs.
    pub runs: Vec<ClusterRun>,
    /// Each sample's cluster in the run the outputs follow (the embedded codes when there
    /// are any, else the codes).
    pub labels: Vec<u32>,
    /// The files written.
    pub files: Vec<PathBuf>,
}

/// Clusters `codes`, as `plan` says, scored against the labels of `data` when there is data;
/// reports each run to `events` and writes `outputs`.
pub fn cluster_and_write(
    device: &Device,
    codes: Features,
    data: Option<&Dataset>,
    plan: &ClusterPlan,
    outputs: &ClusterOutputs,
    events: &mut dyn Events,
) -> Result<Clustering> {
    if (plan.pixels || outputs.pictures.is_some()) && data.is_none() {
        bail!("--pixels and --pictures need the images of the codes (--data, --split)");
    }
    let config = &plan.kmeans;
    let labels = data.map(Dataset::scoring_labels).transpose()?.flatten();
    let mut runs = Vec::new();
    let mut cluster = |name: &str, features: Features| -> Result<KmeansResult> {
        let (run, plain) = cluster_features(device, name, features, labels, config)?;
        events.clustered(&run);
        runs.push(run);
        let Some(umap) = &plan.embed else {
            return Ok(plain);
        };
        let (run, embedded) = embed_and_cluster(device, name, features, labels, config, umap)?;
        events.clustered(&run);
        runs.push(run);
        Ok(embedded)
    };
    let result = cluster("codes", codes)?;
    if let (true, Some(data)) = (plan.pixels, data) {
        let values: Vec<f32> = data.pixels.iter().map(|&p| f32::from(p) / 255.0).collect();
        let pixels = Features {
            values: &values,
            n: data.count,
            d: data.image_size(),
        };
        cluster("pixels", pixels)?;
    }
    if let Some(labels) = labels {
        let counts = metrics::contingency(&result.labels, labels);
        events.info(report::contingency_table(&counts).trim_end());
    }
    let mut files = Vec::new();
    if let Some(path) = outputs.assignments {
        write_atomic(path, assignments_csv(&result, data).as_bytes())?;
        files.push(path.to_path_buf());
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
        events.info(&format!(
            "pictures: {} clusters in {}, all on {}",
            written.len(),
            dir.display(),
            sheet.display()
        ));
        files.extend(written);
        files.push(sheet);
    }
    if let Some(path) = outputs.report {
        let report = ClusterReport {
            kmeans: config.clone(),
            runs: runs.clone(),
        };
        write_json(path, &report)?;
        events.info(&format!("report: {}", path.display()));
        files.push(path.to_path_buf());
    }
    Ok(Clustering {
        runs,
        labels: result.labels,
        files,
    })
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
