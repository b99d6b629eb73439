//! The report of a whole `run`: JSON for tools, Markdown for people.

use crate::cluster::{ClusterRun, KmeansConfig};

use super::TrainReport;

/// Everything `aeclust run` did, as `out/report.json`.
#[derive(Debug, serde::Serialize)]
pub struct RunReport {
    pub data: String,
    pub train: TrainReport,
    pub kmeans: KmeansConfig,
    pub clustering: Vec<ClusterRun>,
    pub files: Vec<String>,
}

impl RunReport {
    /// The same, as `out/summary.md`.
    pub fn markdown(&self) -> String {
        format!("{}{}{}", self.header(), self.epochs(), self.clusters())
    }

    /// What a run prints at its end, after its epoch lines: the summary without the epochs.
    pub fn brief(&self) -> String {
        format!("{}{}", self.header(), self.clusters())
    }

    fn header(&self) -> String {
        let t = &self.train;
        let mut md = String::from("# aeclust run\n\n");
        md += &format!(
            "- data: {} ({} training, {} validation images)\n",
            self.data, t.train_samples, t.val_samples
        );
        md += &format!(
            "- device: {} on {} ({}, {}), matmul kernel {}\n",
            t.backend, t.adapter.name, t.adapter.api, t.adapter.device_type, t.matmul_kernel
        );
        md += &format!(
            "- model: {:?}; Adam lr {}, batch {}, {} epochs, seed {}\n\n",
            t.layers, t.config.adam.lr, t.config.batch, t.config.epochs, t.config.seed
        );
        md
    }

    fn epochs(&self) -> String {
        let mut md =
            "| epoch | loss | val_loss | seconds | samples/s |\n| --- | --- | --- | --- | --- |\n"
                .to_string();
        for e in &self.train.epochs {
            md += &format!(
                "| {} | {:.4} | {:.4} | {:.1} | {:.0} |\n",
                e.epoch, e.loss, e.val_loss, e.seconds, e.samples_per_sec
            );
        }
        md.push('\n');
        md
    }

    fn clusters(&self) -> String {
        let mut md = format!(
            "k-means, k = {}, {} init, {} restarts:\n\n",
            self.kmeans.k,
            self.kmeans.init.name(),
            self.kmeans.n_init
        );
        md +=
            "| features | acc | NMI | ARI | inertia | iterations | seconds | embedding seconds |\n";
        md += "| --- | --- | --- | --- | --- | --- | --- | --- |\n";
        let score = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.4}"));
        for r in &self.clustering {
            md += &format!(
                "| {} ({} x {}) | {} | {} | {} | {:.6e} | {} | {:.2} | {} |\n",
                r.features,
                r.samples,
                r.dims,
                score(r.acc),
                score(r.nmi),
                score(r.ari),
                r.inertia,
                r.iterations,
                r.seconds,
                r.embedding
                    .as_ref()
                    .map_or("-".into(), |e| format!("{:.2}", e.seconds))
            );
        }
        if let Some(e) = self.clustering.iter().find_map(|r| r.embedding.as_ref()) {
            md += &format!(
                "\nUMAP: {} neighbours ({} search), {} dimensions, min_dist {}, {} epochs.\n",
                e.config.neighbors,
                e.neighbour_search_used,
                e.config.dims,
                e.config.min_dist,
                e.layout_epochs
            );
        }
        md += "\nFiles: ";
        md += &self.files.join(", ");
        md += "\n";
        md
    }
}
