//! The JSON reports the commands write.

use crate::cluster::{ClusterRun, KmeansConfig};
use crate::gpu::AdapterSummary;
use crate::train::{EpochStats, TrainConfig};

/// What `aeclust train --report` writes.
#[derive(Debug, serde::Serialize)]
pub struct TrainReport {
    pub backend: String,
    pub adapter: AdapterSummary,
    pub matmul_kernel: String,
    pub layers: Vec<usize>,
    pub config: TrainConfig,
    pub train_samples: usize,
    pub val_samples: usize,
    pub epochs: Vec<EpochStats>,
    pub final_loss: f64,
    pub final_val_loss: f64,
}

/// What `aeclust cluster --report` writes.
#[derive(Debug, serde::Serialize)]
pub struct ClusterReport {
    pub kmeans: KmeansConfig,
    pub runs: Vec<ClusterRun>,
}

mod images;
mod summary;

pub use summary::RunReport;

pub use images::{image_grid, reconstruction_sheet, write_png, Gray};

/// Writes `cluster-<c>.png` into `dir` for every cluster: a grid of its first `members`
/// images (8 to a row, scaled 2x), like the post's "Items of Cluster 4".
pub fn cluster_pictures(
    dir: &std::path::Path,
    data: &crate::data::Dataset,
    clusters: &[u32],
    k: usize,
    members: usize,
) -> anyhow::Result<Vec<std::path::PathBuf>> {
    let size = data.image_size();
    (0..k)
        .map(|c| {
            let images: Vec<&[u8]> = clusters
                .iter()
                .enumerate()
                .filter(|&(_, &label)| label as usize == c)
                .take(members)
                .map(|(i, _)| &data.pixels[i * size..(i + 1) * size])
                .collect();
            let path = dir.join(format!("cluster-{c}.png"));
            write_png(&path, &image_grid(&images, data.rows, data.cols, 8, 2))?;
            Ok(path)
        })
        .collect()
}

/// The contingency table (clusters down, labels across) as text.
pub fn contingency_table(counts: &[Vec<u64>]) -> String {
    let classes = counts.first().map_or(0, Vec::len);
    let mut out = format!("{:>8}", "cluster");
    for l in 0..classes {
        out += &format!(" {l:>5}");
    }
    out += &format!(" {:>6}\n", "size");
    for (c, row) in counts.iter().enumerate() {
        out += &format!("{c:>8}");
        for v in row {
            out += &format!(" {v:>5}");
        }
        out += &format!(" {:>6}\n", row.iter().sum::<u64>());
    }
    out
}
