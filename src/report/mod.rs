//! The JSON reports the commands write.

use crate::cluster::{ClusterRun, KmeansConfig};
use crate::gpu::AdapterSummary;
use crate::model::{Activation, Loss};
use crate::train::{EpochStats, TrainConfig};

/// What `aeclust train --report` writes.
#[derive(Clone, Debug, serde::Serialize)]
pub struct TrainReport {
    pub backend: String,
    pub adapter: AdapterSummary,
    pub matmul_kernel: String,
    pub layers: Vec<usize>,
    pub activations: Vec<Activation>,
    pub loss: Loss,
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

pub mod csv;
mod font;
mod html;
mod images;
mod map;
mod palette;
mod plots;
mod summary;

pub use html::{suggested_names, HtmlReport};
pub use map::map_plot;
pub use plots::loss_plot;
pub use summary::RunReport;

pub use images::{image_grid, reconstruction_sheet, write_png, ImageShape, Picture};

/// The file of cluster `c`'s picture in a pictures directory.
pub fn cluster_picture_name(c: usize) -> String {
    format!("cluster-{c}.png")
}

/// Writes cluster c's picture to `paths[c]` for every cluster: a grid of its first `members`
/// images (8 to a row, scaled 2x), like the post's "Items of Cluster 4".
pub fn cluster_pictures(
    paths: &[std::path::PathBuf],
    data: &crate::data::Dataset,
    clusters: &[u32],
    members: usize,
) -> anyhow::Result<()> {
    let size = data.image_size();
    let shape = ImageShape::of(data);
    for (c, path) in paths.iter().enumerate() {
        let images: Vec<&[u8]> = clusters
            .iter()
            .enumerate()
            .filter(|&(_, &label)| label as usize == c)
            .take(members)
            .map(|(i, _)| &data.pixels[i * size..(i + 1) * size])
            .collect();
        write_png(path, &image_grid(&images, shape, 8, 2))?;
    }
    Ok(())
}

/// The `cluster-<c>.png` files of `dir` with c >= k: pictures of clusters that an earlier
/// clustering with more clusters wrote there (nothing else of `dir` is ever removed).
pub fn stale_cluster_pictures(dir: &std::path::Path, k: usize) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut stale: Vec<std::path::PathBuf> = entries
        .flatten()
        .filter(|entry| {
            entry
                .file_name()
                .to_str()
                .and_then(|n| n.strip_prefix("cluster-")?.strip_suffix(".png"))
                .filter(|c| c.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|c| c.parse::<usize>().ok())
                .is_some_and(|c| c >= k)
                && entry.file_type().is_ok_and(|t| t.is_file())
        })
        .map(|entry| entry.path())
        .collect();
    stale.sort();
    stale
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

/// One row per cluster: a label cell (the cluster's majority class index, large, when there
/// are labels, over its size), then its first `members` images; the post's "items of
/// cluster" pictures on one sheet.
pub fn cluster_sheet(
    data: &crate::data::Dataset,
    clusters: &[u32],
    k: usize,
    members: usize,
) -> Picture {
    let size = data.image_size();
    let shape = ImageShape::of(data);
    let counts = data
        .labels
        .as_ref()
        .map(|labels| crate::cluster::metrics::contingency(clusters, labels));
    let mut labels: Vec<Vec<u8>> = Vec::with_capacity(k);
    let mut cells: Vec<Vec<usize>> = Vec::with_capacity(k);
    for c in 0..k {
        let mut label = vec![0u8; data.rows * data.cols];
        let total = clusters.iter().filter(|&&l| l as usize == c).count();
        if let Some(row) = counts.as_ref().and_then(|counts| counts.get(c)) {
            let majority = (0..row.len()).max_by_key(|&l| row[l]).unwrap_or(0);
            font::draw_number(&mut label, data.cols, (2, 2), majority as u64, 3);
        }
        font::draw_number(
            &mut label,
            data.cols,
            (2, data.rows.saturating_sub(7)),
            total as u64,
            1,
        );
        labels.push(shape.from_gray(&label));
        cells.push(
            clusters
                .iter()
                .enumerate()
                .filter(|&(_, &label)| label as usize == c)
                .take(members)
                .map(|(i, _)| i)
                .collect(),
        );
    }
    let blank = vec![0u8; size];
    let mut images: Vec<&[u8]> = Vec::with_capacity(k * (members + 1));
    for (label, members_of_c) in labels.iter().zip(&cells) {
        images.push(label);
        for slot in 0..members {
            images.push(match members_of_c.get(slot) {
                Some(&i) => &data.pixels[i * size..(i + 1) * size],
                None => &blank,
            });
        }
    }
    image_grid(&images, shape, members + 1, 2)
}
