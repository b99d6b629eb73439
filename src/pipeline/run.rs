//! The whole pipeline into one output directory, as `aeclust run` does it.

use std::path::{Path, PathBuf};

use anyhow::Result;

use super::clustering::{cluster_and_write, write_html, ClusterOutputs, ClusterPlan, Clustering};
use super::plan::{check_clustering, plan_training, TrainPlan};
use super::training::{train_model, ModelOutputs, Trained};
use super::Events;
use crate::cluster::Features;
use crate::data::{Dataset, Skipped, Source, SourceKind, Split, Survey};
use crate::device::Device;
use crate::output::{beside, remove_stale_temps, write_atomic, write_json, OutputSet};
use crate::recipe::RecipeSettings;
use crate::report::{csv, labelled, loss_plot, reconstruction_sheet, write_png, RunReport};
use crate::{model_file, npy};

/// Everything one run does: what to train on, how to train, what and how to cluster.
pub struct Pipeline<'a> {
    pub device: &'a Device,
    pub source: &'a Source,
    /// How the data is named in the report (its path).
    pub data_name: String,
    pub training: RecipeSettings,
    pub clustering: ClusterPlan,
    /// The images to encode and cluster (see [`Split::default_for`]).
    pub split: Split,
}

/// A run checked against its data before any work: the training to do and the number of
/// images to cluster.
pub struct RunPlan {
    pub training: TrainPlan,
    pub points: usize,
}

/// What a run gave.
pub struct PipelineResult {
    pub trained: Trained,
    /// The clustered images' codes, one row each.
    pub codes: Vec<f32>,
    pub clustering: Clustering,
    /// report.json's content; `report.markdown()` is summary.md's.
    pub report: RunReport,
    /// Every file written, in order.
    pub files: Vec<PathBuf>,
}

/// The fixed names of a run's outputs.
const MODEL: &str = "model.safetensors";
const SKIPPED: &str = "skipped.csv";
const CLUSTERING: &str = "clustering.safetensors";
/// Beside the output directory: `<out>.checkpoint.safetensors`.
const CHECKPOINTS: &str = "checkpoint.safetensors";
const EMBEDDING: &str = "embedding.npy";
const FINE_TUNED: &str = "fine-tuned.safetensors";
const NAMES: [&str; 11] = [
    "train.json",
    "codes.npy",
    "reconstructions.png",
    "clusters.json",
    "assignments.csv",
    "clusters.png",
    "loss.png",
    "map.png",
    "report.json",
    "summary.md",
    "report.html",
];

impl Pipeline<'_> {
    /// Checks a run of `training` and `clustering` on the `split` of the data that `survey`
    /// describes, before any work.
    pub fn plan(
        survey: &Survey,
        training: &RecipeSettings,
        clustering: &ClusterPlan,
        split: Split,
    ) -> Result<RunPlan> {
        let training_plan = plan_training(survey, training, None)?;
        let points = check_clustering(survey, split, &training_plan.spec, clustering)?;
        Ok(RunPlan {
            training: training_plan,
            points,
        })
    }

    /// Every file a run into `out` writes or removes for `k` clusters (the list of skipped
    /// files, written or an earlier run's removed, among them), and its checkpoints beside
    /// `out` with `checkpoints`.
    pub fn output_files(out: &Path, k: usize, checkpoints: bool) -> Result<Vec<PathBuf>> {
        let mut files: Vec<PathBuf> = [MODEL, SKIPPED]
            .iter()
            .chain(&NAMES)
            .map(|n| out.join(n))
            .collect();
        files.extend(with_cluster_outputs(out, None, |outputs| outputs.files(k)));
        if checkpoints {
            files.push(beside(out, CHECKPOINTS)?);
        }
        files.sort();
        files.dedup();
        Ok(files)
    }

    /// Trains (model.safetensors, train.json), encodes the split's images (codes.npy),
    /// pictures ten of them (reconstructions.png), clusters the codes (clusters.json,
    /// assignments.csv, clusters/, clusters.png), plots (loss.png, codes_pca.png), lists the
    /// files left out of the data (skipped.csv, when any were) and writes the report
    /// (report.json, summary.md): all staged in `out`, and put in place together at the end.
    pub fn run(
        &self,
        plan: RunPlan,
        mut out: OutputSet,
        events: &mut dyn Events,
    ) -> Result<PipelineResult> {
        let dir = out
            .target_dir()
            .expect("a directory of outputs")
            .to_path_buf();
        let checkpoints = out.beside(CHECKPOINTS)?;
        let model = out.stage(&dir.join(MODEL))?;
        let outputs = ModelOutputs {
            model: Some(&model),
            checkpoints: self
                .training
                .checkpoint_every
                .map(|_| checkpoints.as_path()),
        };
        let trained = train_model(
            self.device,
            self.source,
            &self.training,
            plan.training,
            outputs,
            events,
        )?;
        write_json(&out.stage(&dir.join("train.json"))?, &trained.report)?;

        let data = self.source.split(self.split)?;
        let codes = self
            .device
            .encoder()
            .encode(&trained.spec, &trained.params, &data)?;
        let d = codes.len() / data.count;
        npy::write_matrix(&out.stage(&dir.join("codes.npy"))?, &codes, data.count, d)?;
        events.info(&format!("encoded {} images to {d}-d codes", data.count));
        self.write_reconstructions(
            &out.stage(&dir.join("reconstructions.png"))?,
            &trained,
            &data,
            &codes,
        )?;

        let features = Features {
            values: &codes,
            n: data.count,
            d,
        };
        let digest = model_file::digest(&trained.spec, &trained.params);
        let clustering = with_cluster_outputs(&dir, Some(&digest), |outputs| {
            cluster_and_write(
                self.device,
                features,
                Some((&trained.spec, &trained.params)),
                Some(&data),
                &self.clustering,
                outputs,
                &mut out,
                events,
            )
        })?;

        let loss = out.stage(&dir.join("loss.png"))?;
        loss_plot(
            &loss,
            &trained.curve,
            &trained.report.epochs,
            trained.spec.loss,
        )?;
        let files_root =
            (self.source.kind() == SourceKind::Folder).then_some(self.source.survey.path.as_path());
        write_html(
            &dir.join("report.html"),
            &mut out,
            format!(
                "aeclust: {} clusters of {}",
                self.clustering.kmeans.k, self.data_name
            ),
            self.settings(&trained, &data),
            vec![("the loss, epoch by epoch".into(), std::fs::read(&loss)?)],
            &data,
            files_root,
            &clustering,
        )?;
        // An earlier run's embedding or fine-tuned model, of other codes.
        if clustering.embedding.is_none() && dir.join(EMBEDDING).is_file() {
            out.remove_when_placed(dir.join(EMBEDDING));
        }
        if clustering.fine_tuned.is_none() && dir.join(FINE_TUNED).is_file() {
            out.remove_when_placed(dir.join(FINE_TUNED));
        }
        let skipped = &self.source.survey.skipped;
        if !skipped.is_empty() {
            write_atomic(
                &out.stage(&dir.join(SKIPPED))?,
                skipped_csv(skipped).as_bytes(),
            )?;
        } else if dir.join(SKIPPED).is_file() {
            // An earlier run's list, of files this run did not leave out.
            out.remove_when_placed(dir.join(SKIPPED));
        }
        let (report_path, summary_path) = (dir.join("report.json"), dir.join("summary.md"));
        let mut listed = out.staged_places();
        listed.extend([report_path.clone(), summary_path.clone()]);
        let report = RunReport {
            data: self.data_name.clone(),
            train: trained.report.clone(),
            kmeans: self.clustering.kmeans.clone(),
            clustering: clustering.runs.clone(),
            files: listed_names(&dir, &listed),
        };
        write_json(&out.stage(&report_path)?, &report)?;
        write_atomic(&out.stage(&summary_path)?, report.markdown().as_bytes())?;
        let files = out.commit()?;
        // The run is whole: its checkpoints are no longer needed.
        if self.training.checkpoint_every.is_some() {
            let _ = std::fs::remove_file(&checkpoints);
            remove_stale_temps(&checkpoints);
        }
        Ok(PipelineResult {
            trained,
            codes,
            clustering,
            report,
            files,
        })
    }

    /// The run's settings and facts, as report.html lists them.
    fn settings(&self, trained: &Trained, data: &Dataset) -> Vec<(String, String)> {
        let report = &trained.report;
        let kmeans = &self.clustering.kmeans;
        let embedding = self
            .clustering
            .embed
            .as_ref()
            .map_or("none".to_string(), |u| {
                format!(
                    "UMAP, {} neighbours, {} dimensions, min_dist {}",
                    u.neighbors, u.dims, u.min_dist
                )
            });
        let fine_tuning = self
            .clustering
            .fine_tune
            .as_ref()
            .map_or("none".to_string(), |t| {
                format!(
                    "{} epochs towards the clusters (DEC), images moved up to {} pixels and \
                     turned up to {} degrees, lr {}; clusters by the nearest centre \
                     (fine-tuned.safetensors places new images)",
                    t.epochs, t.max_move, t.max_turn, t.lr
                )
            });
        [
            ("data", self.data_name.clone()),
            (
                "images clustered",
                format!(
                    "{} ({} split), {}",
                    data.count,
                    self.split.name(),
                    data.shape()
                ),
            ),
            (
                "model",
                format!("{:?}, {} loss", report.layers, report.loss.name()),
            ),
            (
                "training",
                format!(
                    "{} epochs of {} images, batch {}, seed {}; loss {:.4}, val_loss {:.4}",
                    report.epochs.len(),
                    report.train_samples,
                    report.config.batch,
                    report.config.seed,
                    report.final_loss,
                    report.final_val_loss
                ),
            ),
            (
                "device",
                format!("{} ({})", report.backend, report.adapter.name),
            ),
            (
                "k-means",
                format!(
                    "k = {}, {} restarts, seed {}",
                    kmeans.k, kmeans.n_init, kmeans.seed
                ),
            ),
            ("embedding", embedding),
            ("fine-tuning", fine_tuning),
            (
                "typicality",
                "the squared distance to the cluster's centre".into(),
            ),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_string(), value))
        .collect()
    }

    /// Ten of the clustered images, their reconstructions and their codes, as in the post.
    fn write_reconstructions(
        &self,
        path: &Path,
        trained: &Trained,
        data: &Dataset,
        codes: &[f32],
    ) -> Result<()> {
        // The first ten, as in the post; from a folder or an array, which may be ordered
        // class by class, ten spread over all of them.
        let count = data.count.min(10);
        let picked: Vec<usize> = match data.names {
            Some(_) => (0..count).map(|i| i * data.count / count).collect(),
            None => (0..count).collect(),
        };
        let shown = data.select(&picked);
        let size = shown.image_size();
        let reconstructions =
            self.device
                .encoder()
                .reconstruct(&trained.spec, &trained.params, &shown)?;
        let originals: Vec<&[u8]> = shown.pixels.chunks(size).collect();
        let code_width = codes.len() / data.count;
        let shown_codes: Vec<f32> = picked
            .iter()
            .flat_map(|&i| &codes[i * code_width..(i + 1) * code_width])
            .copied()
            .collect();
        let shape = shown.shape();
        let sheet = reconstruction_sheet(&originals, &reconstructions, &shown_codes, shape, 3);
        let rows = ["original", "reconstruction", "code"].map(String::from);
        let title = format!("{count} images, their reconstructions and their {code_width}-d codes");
        write_png(path, &labelled(&sheet, &title, &rows, shape.rows * 3 + 1)?)
    }
}

/// Calls `f` with where a run's clustering outputs go inside `out`, for the codes of the
/// model of `digest`.
fn with_cluster_outputs<R>(
    out: &Path,
    digest: Option<&str>,
    f: impl FnOnce(&ClusterOutputs) -> R,
) -> R {
    let fine_tuned = out.join(FINE_TUNED);
    let (report, assignments) = (out.join("clusters.json"), out.join("assignments.csv"));
    let (pictures, sheet) = (out.join("clusters"), out.join("clusters.png"));
    let (clustering, embedding) = (out.join(CLUSTERING), out.join(EMBEDDING));
    let map = out.join("map.png");
    f(&ClusterOutputs {
        report: Some(&report),
        assignments: Some(&assignments),
        pictures: Some(&pictures),
        sheet: Some(&sheet),
        clustering: Some(&clustering),
        embedding: Some(&embedding),
        model_digest: digest,
        map: Some(&map),
        fine_tuned_model: Some(&fine_tuned),
    })
}

/// One line per file left out of the data: its name and why.
fn skipped_csv(skipped: &[Skipped]) -> String {
    let mut text = String::from("file,reason\n");
    for s in skipped {
        text += &format!("{},{}\n", csv::field(&s.name), csv::field(s.why));
    }
    text
}

/// The files of `out` as the report lists them: names relative to `out`, a subdirectory's
/// files as the subdirectory once ("clusters/").
fn listed_names(out: &Path, files: &[PathBuf]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for file in files {
        let relative = file.strip_prefix(out).unwrap_or(file);
        let mut parts = relative.components();
        let first = parts.next().map_or(String::new(), |c| {
            c.as_os_str().to_string_lossy().into_owned()
        });
        let name = if parts.next().is_some() {
            format!("{first}/")
        } else {
            first
        };
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names
}
