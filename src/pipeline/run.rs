//! The whole pipeline into one output directory, as `aeclust run` does it.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::clustering::{cluster_and_write, ClusterOutputs, ClusterPlan, Clustering};
use super::training::{train_model, Trained};
use super::Events;
use crate::cluster::Features;
use crate::data::{Dataset, Source, Split};
use crate::device::Device;
use crate::npy;
use crate::output::{check_writable, write_atomic, write_json, DirLock};
use crate::recipe::RecipeSettings;
use crate::report::{loss_plot, pca_plot, reconstruction_sheet, write_png, ImageShape, RunReport};

/// An output directory, created and locked against a second run for as long as this lives.
pub struct OutputDir {
    path: PathBuf,
    _lock: DirLock,
}

impl OutputDir {
    /// Creates `path` if missing, locks it, and checks that files can be written in it.
    pub fn claim(path: &Path) -> Result<Self> {
        std::fs::create_dir_all(path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        let lock = DirLock::acquire(path)?;
        check_writable(&path.join("train.json"))?;
        Ok(OutputDir {
            path: path.to_path_buf(),
            _lock: lock,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Everything one run does: what to train on, how to train, how to cluster.
pub struct Pipeline<'a> {
    pub device: &'a Device,
    pub source: &'a Source,
    /// How the data is named in the report (its path).
    pub data_name: String,
    pub training: RecipeSettings,
    pub clustering: ClusterPlan,
}

/// What a run gave.
pub struct PipelineResult {
    pub trained: Trained,
    /// The held-out images' codes, one row each.
    pub codes: Vec<f32>,
    pub clustering: Clustering,
    /// report.json's content; `report.markdown()` is summary.md's.
    pub report: RunReport,
    /// Every file written, in order.
    pub files: Vec<PathBuf>,
}

impl Pipeline<'_> {
    /// Trains (model.safetensors, train.json), encodes the held-out images (codes.npy),
    /// pictures ten of them (reconstructions.png), clusters the codes (clusters.json,
    /// assignments.csv, clusters/, clusters.png), plots (loss.png, codes_pca.png), and
    /// writes the report (report.json, summary.md), all into `out`.
    pub fn run(&self, out: &OutputDir, events: &mut dyn Events) -> Result<PipelineResult> {
        let out = out.path();
        let mut files = Vec::new();
        let model = out.join("model.safetensors");
        let trained = train_model(
            self.device,
            self.source,
            &self.training,
            None,
            Some(&model),
            events,
        )?;
        files.push(model);
        let path = out.join("train.json");
        write_json(&path, &trained.report)?;
        files.push(path);

        let test = self.source.split(Split::Test)?;
        let codes = self
            .device
            .encoder()
            .encode(&trained.spec, &trained.params, &test)?;
        let d = codes.len() / test.count;
        let path = out.join("codes.npy");
        npy::write_matrix(&path, &codes, test.count, d)?;
        files.push(path);
        events.info(&format!(
            "encoded the {} test images to {d}-d codes",
            test.count
        ));
        let path = out.join("reconstructions.png");
        self.write_reconstructions(&path, &trained, &test, &codes)?;
        events.info(&format!("reconstructions: {}", path.display()));
        files.push(path);

        let (report, assignments) = (out.join("clusters.json"), out.join("assignments.csv"));
        let (pictures, sheet) = (out.join("clusters"), out.join("clusters.png"));
        let outputs = ClusterOutputs {
            report: Some(&report),
            assignments: Some(&assignments),
            pictures: Some(&pictures),
            sheet: Some(&sheet),
        };
        let features = Features {
            values: &codes,
            n: test.count,
            d,
        };
        let clustering = cluster_and_write(
            self.device,
            features,
            Some(&test),
            &self.clustering,
            &outputs,
            events,
        )?;
        files.extend(clustering.files.iter().cloned());

        let path = out.join("loss.png");
        loss_plot(
            &path,
            &trained.curve,
            &trained.report.epochs,
            trained.spec.loss,
        )?;
        files.push(path);
        let path = out.join("codes_pca.png");
        pca_plot(&path, &codes, (test.count, d), &clustering.labels)?;
        files.push(path);

        let (report_path, summary_path) = (out.join("report.json"), out.join("summary.md"));
        files.extend([report_path.clone(), summary_path.clone()]);
        let report = RunReport {
            data: self.data_name.clone(),
            train: trained.report.clone(),
            kmeans: self.clustering.kmeans.clone(),
            clustering: clustering.runs.clone(),
            files: listed_names(out, &files),
        };
        write_json(&report_path, &report)?;
        write_atomic(&summary_path, report.markdown().as_bytes())?;
        Ok(PipelineResult {
            trained,
            codes,
            clustering,
            report,
            files,
        })
    }

    /// Ten held-out images, their reconstructions and their codes, as in the post.
    fn write_reconstructions(
        &self,
        path: &Path,
        trained: &Trained,
        test: &Dataset,
        codes: &[f32],
    ) -> Result<()> {
        // The first ten, as in the post; from a folder, whose files are listed class by
        // class, ten spread over all of them.
        let count = test.count.min(10);
        let picked: Vec<usize> = match test.names {
            Some(_) => (0..count).map(|i| i * test.count / count).collect(),
            None => (0..count).collect(),
        };
        let shown = test.select(&picked);
        let size = shown.image_size();
        let reconstructions =
            self.device
                .encoder()
                .reconstruct(&trained.spec, &trained.params, &shown)?;
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
        write_png(path, &sheet)
    }
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
