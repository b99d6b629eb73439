//! Clustering features (codes, their UMAP embedding, the pixels) and writing what a user asked
//! for: scores, the contingency table, assignments, pictures, the JSON report.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use super::fine_tune::{fine_tune, FineTunePlan, FineTuned};
use super::Events;
use crate::cluster::{
    cluster_features, embed_and_cluster, metrics, ClusterRun, Features, KmeansConfig, KmeansResult,
    SavedClustering,
};
use crate::data::{Dataset, Shape};
use crate::device::Device;
use crate::embed::{display_layout, Embedded, UmapConfig};
use crate::model::{ModelSpec, Params};
use crate::output::{write_atomic, write_json, OutputSet, MARKER_TEXT, OUTPUT_MARKER};
use crate::pca;
use crate::report::{self, csv, ClusterReport, HtmlReport};
use crate::{model_file, npy};

/// How to cluster: k-means, optionally on a UMAP embedding too, optionally the pixels too,
/// optionally with the encoder fine-tuned towards the clusters after.
#[derive(Clone, Debug)]
pub struct ClusterPlan {
    pub kmeans: KmeansConfig,
    /// Also cluster the features' UMAP embedding, side by side.
    pub embed: Option<UmapConfig>,
    /// Also cluster the images' pixels the same way.
    pub pixels: bool,
    /// Fine-tune the encoder towards the codes' clusters (`--fine-tune`); the outputs then
    /// follow the fine-tuned codes' clusters.
    pub fine_tune: Option<FineTunePlan>,
}

impl ClusterPlan {
    /// Fails unless the plan can cluster `n` points with codes of `code_width` values and
    /// images of `pixel_width` values (before any work).
    pub fn check_points(&self, n: usize, code_width: usize, pixel_width: usize) -> Result<()> {
        let mut widths = vec![code_width];
        if self.pixels {
            widths.push(pixel_width);
        }
        for d in widths {
            self.kmeans.check_points(n, d)?;
            if let Some(umap) = &self.embed {
                umap.check_points(n, d)?;
                self.kmeans.check_points(n, umap.dims)?;
            }
        }
        Ok(())
    }

    /// Fails unless fine-tuning, when asked for, can run on `n` images of `shape` (none when
    /// the codes have no images) with codes of `code_width` values.
    pub fn check_fine_tune(&self, n: usize, code_width: usize, shape: Option<Shape>) -> Result<()> {
        match (&self.fine_tune, shape) {
            (None, _) => Ok(()),
            (Some(tune), Some(shape)) => tune.check(n, code_width, self.kmeans.k, shape),
            (Some(_), None) => {
                bail!("--fine-tune needs the images of the codes: give --model and --data")
            }
        }
    }
}

/// Where the results of a clustering go (each optional): their final places.
#[derive(Clone, Copy, Default)]
pub struct ClusterOutputs<'a> {
    pub report: Option<&'a Path>,
    pub assignments: Option<&'a Path>,
    pub pictures: Option<&'a Path>,
    /// The one-row-per-cluster sheet (`clusters.png` in `pictures` when not given).
    pub sheet: Option<&'a Path>,
    /// The clustering as a file, to assign new images to it.
    pub clustering: Option<&'a Path>,
    /// The codes' embedding (.npy), with `--embed umap`.
    pub embedding: Option<&'a Path>,
    /// The digest of the model whose codes are clustered, which the clustering file names.
    pub model_digest: Option<&'a str>,
    /// With fine-tuning, the fine-tuned model (which the clustering file then names).
    pub fine_tuned_model: Option<&'a Path>,
    /// The points in 2-D (UMAP's layout for display, or the PCA), by cluster and by class.
    pub map: Option<&'a Path>,
}

impl ClusterOutputs<'_> {
    /// Where the one-row-per-cluster sheet goes, if anywhere.
    pub fn sheet_path(&self) -> Option<PathBuf> {
        self.sheet
            .map(Path::to_path_buf)
            .or_else(|| self.pictures.map(|dir| dir.join("clusters.png")))
    }

    fn picture_paths(&self, k: usize) -> Vec<PathBuf> {
        self.pictures.map_or_else(Vec::new, |dir| {
            (0..k)
                .map(|c| dir.join(report::cluster_picture_name(c)))
                .collect()
        })
    }

    /// Every file a clustering into `k` clusters writes, and the pictures of an earlier one
    /// it removes.
    pub fn files(&self, k: usize) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = [
            self.report,
            self.assignments,
            self.clustering,
            self.embedding,
            self.map,
            self.fine_tuned_model,
        ]
        .into_iter()
        .flatten()
        .map(Path::to_path_buf)
        .collect();
        files.extend(self.picture_paths(k));
        files.extend(self.sheet_path());
        if let Some(dir) = self.pictures {
            files.extend(report::stale_cluster_pictures(dir, k));
        }
        files
    }
}

/// What a clustering gave and wrote.
pub struct Clustering {
    /// Every run, in order: the codes, their embedding, the pixels, theirs.
    pub runs: Vec<ClusterRun>,
    /// Each sample's cluster in the run the outputs follow (the embedded codes when there
    /// are any, else the codes), and its squared distance to its centroid.
    pub labels: Vec<u32>,
    pub distances: Vec<f64>,
    /// The codes' UMAP embedding (n x dims), with `--embed umap`.
    pub embedding: Option<Vec<f32>>,
    /// What places new points in this clustering.
    pub saved: SavedClustering,
    /// The map's picture (PNG), when one was drawn.
    pub map_png: Option<Vec<u8>>,
    /// The fine-tuned model and codes, with `--fine-tune`.
    pub fine_tuned: Option<FineTuned>,
    /// The files written.
    pub files: Vec<PathBuf>,
}

/// Clusters `codes` (of `model`, which fine-tuning needs), as `plan` says, scored against the
/// labels of `data` when there is data; reports each run to `events` and stages `outputs` in
/// `set`.
#[allow(clippy::too_many_arguments)]
pub fn cluster_and_write(
    device: &Device,
    codes: Features,
    model: Option<(&ModelSpec, &Params)>,
    data: Option<&Dataset>,
    plan: &ClusterPlan,
    outputs: &ClusterOutputs,
    set: &mut OutputSet,
    events: &mut dyn Events,
) -> Result<Clustering> {
    if (plan.pixels || outputs.pictures.is_some()) && data.is_none() {
        bail!("--pixels and --pictures need the images of the codes (--data, --split)");
    }
    let config = &plan.kmeans;
    let labels = data.map(Dataset::scoring_labels).transpose()?.flatten();
    let mut runs = Vec::new();
    // The clustering the outputs follow: of the embedding when there is one.
    let mut cluster =
        |name: &str, features: Features| -> Result<(KmeansResult, Option<Embedded>)> {
            let (run, plain) = cluster_features(device, name, features, labels, config)?;
            events.clustered(&run);
            runs.push(run);
            let Some(umap) = &plan.embed else {
                return Ok((plain, None));
            };
            let (run, result, embedding, graph) =
                embed_and_cluster(device, name, features, labels, config, umap)?;
            events.clustered(&run);
            runs.push(run);
            Ok((result, Some((embedding, graph))))
        };
    let (result, embedded) = cluster("codes", codes)?;
    let (embedding, graph) = embedded.unzip();
    if let (true, Some(data)) = (plan.pixels, data) {
        let values: Vec<f32> = data.pixels.iter().map(|&p| f32::from(p) / 255.0).collect();
        let pixels = Features {
            values: &values,
            n: data.count,
            d: data.image_size(),
        };
        cluster("pixels", pixels)?;
    }
    let fine_tuned = match (&plan.fine_tune, model, data) {
        (None, ..) => None,
        (Some(tune), Some(model), Some(data)) => {
            let clusters = (&result.labels[..], config.k);
            let tuned = fine_tune(device, model, data, codes, clusters, tune, labels, events)?;
            events.clustered(&tuned.run);
            runs.push(tuned.run.clone());
            let moved = 100.0 * (1.0 - tuned.agreement);
            if tuned.kept(tune) {
                events.info(&format!("fine-tuning moved {moved:.1} % of the images to another cluster: its clusters are kept"));
                Some(tuned)
            } else {
                events.info(&format!(
                    "fine-tuning moved {moved:.1} % of the images to another cluster, more than \
                     --fine-tune-keep allows: it re-clustered rather than refined, so the clusters \
                     stay as they were and no fine-tuned model is written"
                ));
                None
            }
        }
        (Some(_), ..) => bail!("--fine-tune needs the model and the images of the codes"),
    };
    let (result, saved) = match (&fine_tuned, model) {
        (Some(tuned), Some((spec, _))) => {
            let features = Features {
                values: &tuned.codes,
                ..codes
            };
            let digest = model_file::digest(spec, &tuned.params);
            let saved = SavedClustering::of(features, &tuned.result, None, Some(digest));
            (&tuned.result, saved)
        }
        _ => {
            let umap = plan.embed.as_ref().zip(embedding.as_deref());
            let digest = outputs.model_digest.map(str::to_string);
            (&result, SavedClustering::of(codes, &result, umap, digest))
        }
    };
    let mut files = Vec::new();
    if let (Some(path), Some(tuned), Some((spec, _))) =
        (outputs.fine_tuned_model, &fine_tuned, model)
    {
        model_file::save(&set.stage(path)?, spec, &tuned.params, None)?;
        events.info(&format!("fine-tuned model: {}", path.display()));
        files.push(path.to_path_buf());
    }
    if let Some(labels) = labels {
        let counts = metrics::contingency(&result.labels, labels);
        let classes = data.map_or(&[][..], |d| d.classes.as_slice());
        events.info(report::contingency_table(&counts, classes).trim_end());
    }
    let mut map_png = None;
    if let Some(path) = outputs.clustering {
        saved.save(&set.stage(path)?)?;
        files.push(path.to_path_buf());
    }
    if let (Some(path), Some(embedding), Some(umap)) = (outputs.embedding, &embedding, &plan.embed)
    {
        npy::write_matrix(&set.stage(path)?, embedding, codes.n, umap.dims)?;
        files.push(path.to_path_buf());
    }
    if let Some(path) = outputs.map {
        let (xy, method) = match (&graph, &plan.embed) {
            (Some(graph), Some(umap)) => (display_layout(device, graph, codes.n, umap)?, "UMAP"),
            _ => (
                pca::project(codes.values, codes.n, codes.d, 2),
                "codes' first two principal components",
            ),
        };
        let classes = data
            .and_then(|d| Some((d.labels.as_deref()?, d.classes.as_slice())))
            .filter(|(_, names)| !names.is_empty());
        let staged = set.stage(path)?;
        report::map_plot(&staged, &xy, method, &result.labels, classes)?;
        map_png = Some(std::fs::read(&staged)?);
        events.info(&format!("map: {}", path.display()));
        files.push(path.to_path_buf());
    }
    if let Some(path) = outputs.assignments {
        let text = assignments_csv(&result.labels, &result.distances, data);
        write_atomic(&set.stage(path)?, text.as_bytes())?;
        files.push(path.to_path_buf());
    }
    if let (Some(dir), Some(data)) = (outputs.pictures, data) {
        let pictures = outputs.picture_paths(config.k);
        let staged = pictures
            .iter()
            .map(|p| set.stage(p))
            .collect::<Result<Vec<_>>>()?;
        report::cluster_pictures(&staged, data, &result.labels, 64)?;
        // So that an image folder holding the pictures leaves them out.
        write_atomic(&set.stage(&dir.join(OUTPUT_MARKER))?, MARKER_TEXT)?;
        for stale in report::stale_cluster_pictures(dir, config.k) {
            set.remove_when_placed(stale);
        }
        let sheet = outputs.sheet_path().expect("a sheet with pictures");
        report::write_png(
            &set.stage(&sheet)?,
            &report::cluster_sheet(data, &result.labels, config.k, 16)?,
        )?;
        events.info(&format!(
            "pictures: {} clusters in {}, all on {}",
            pictures.len(),
            dir.display(),
            sheet.display()
        ));
        files.extend(pictures);
        files.push(sheet);
    }
    if let Some(path) = outputs.report {
        let report = ClusterReport {
            kmeans: config.clone(),
            runs: runs.clone(),
        };
        write_json(&set.stage(path)?, &report)?;
        events.info(&format!("report: {}", path.display()));
        files.push(path.to_path_buf());
    }
    Ok(Clustering {
        runs,
        labels: result.labels.clone(),
        distances: result.distances.clone(),
        embedding,
        saved,
        map_png,
        files,
        fine_tuned,
    })
}

/// One line per sample: its image (file, or index), cluster, label (class name) and squared
/// distance to its centroid: `assignments.csv`.
pub fn assignments_csv(labels: &[u32], distances: &[f64], data: Option<&Dataset>) -> String {
    let mut text = String::from("image,cluster,label,distance\n");
    for (i, (&cluster, &distance)) in labels.iter().zip(distances).enumerate() {
        let (image, label) = match data {
            Some(data) => {
                let label = data
                    .labels
                    .as_ref()
                    .and_then(|l| data.classes.get(l[i] as usize))
                    .map_or(String::new(), |c| csv::field(c));
                (csv::field(&data.name(i)), label)
            }
            None => (i.to_string(), String::new()),
        };
        text += &format!("{image},{cluster},{label},{distance}\n");
    }
    text
}

/// The page to look through a clustering of `data` (report.html) at `path`, staged in `set`:
/// `settings` and `pictures` (with the map) above one section per cluster. `files_root` is the
/// image folder the images' names are relative to, to link each thumbnail to its file.
#[allow(clippy::too_many_arguments)]
pub fn write_html(
    path: &Path,
    set: &mut OutputSet,
    title: String,
    settings: Vec<(String, String)>,
    mut pictures: Vec<(String, Vec<u8>)>,
    data: &Dataset,
    files_root: Option<&Path>,
    clustering: &Clustering,
) -> Result<()> {
    if let Some(map) = &clustering.map_png {
        pictures.push((
            "the map: each image, coloured by cluster (and by class)".into(),
            map.clone(),
        ));
    }
    let saved = &clustering.saved;
    HtmlReport {
        title,
        settings,
        runs: &clustering.runs,
        pictures,
        data,
        files_root,
        clusters: &clustering.labels,
        distances: &clustering.distances,
        centroids: &saved.centroids,
        k: saved.k,
    }
    .write(&set.stage(path)?)
}
