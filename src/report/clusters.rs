//! The clusters as pictures: one picture per cluster (`cluster-<c>.png`), the sheet of every
//! cluster's first members (`clusters.png`), and the contingency table of clusters and
//! classes; clusters by number and classes by name.

use std::path::{Path, PathBuf};

use anyhow::Result;

use super::images::{image_grid, write_png};
use super::labelled::labelled;
use crate::cluster::metrics::contingency;
use crate::data::Dataset;

/// Images per row of a cluster's picture.
const PER_ROW: usize = 8;
/// How much the pictures enlarge the images.
const SCALE: usize = 2;

/// The file of cluster `c`'s picture in a pictures directory.
pub fn cluster_picture_name(c: usize) -> String {
    format!("cluster-{c}.png")
}

/// The members of cluster `c`, the first `members` of them at most.
fn members_of(clusters: &[u32], c: usize, members: usize) -> Vec<usize> {
    clusters
        .iter()
        .enumerate()
        .filter(|&(_, &label)| label as usize == c)
        .take(members)
        .map(|(i, _)| i)
        .collect()
}

/// "cluster 3: 176 images, mostly dogs (98%)": a cluster by its number, size and majority
/// class when the images have classes.
fn describe(data: &Dataset, clusters: &[u32], c: usize) -> String {
    let size = clusters.iter().filter(|&&l| l as usize == c).count();
    let majority = data.labels.as_ref().and_then(|labels| {
        let counts = contingency(clusters, labels);
        let row = counts.get(c)?;
        let (class, &count) = row
            .iter()
            .enumerate()
            .max_by_key(|&(l, &n)| (n, usize::MAX - l))?;
        let name = data.classes.get(class)?;
        (count > 0).then(|| {
            format!(
                ", mostly {name} ({:.0}%)",
                100.0 * count as f64 / size as f64
            )
        })
    });
    format!("cluster {c}: {size} images{}", majority.unwrap_or_default())
}

/// Writes cluster c's picture to `paths[c]` for every cluster: its first `members` images
/// (8 to a row, enlarged 2x), like the post's "Items of Cluster 4", titled with the cluster's
/// number, size and majority class.
pub fn cluster_pictures(
    paths: &[PathBuf],
    data: &Dataset,
    clusters: &[u32],
    members: usize,
) -> Result<()> {
    let size = data.image_size();
    let shape = data.shape();
    for (c, path) in paths.iter().enumerate() {
        let images: Vec<&[u8]> = members_of(clusters, c, members)
            .into_iter()
            .map(|i| &data.pixels[i * size..(i + 1) * size])
            .collect();
        let grid = image_grid(&images, shape, PER_ROW, SCALE);
        write_png(
            path,
            &labelled(&grid, &describe(data, clusters, c), &[], 0)?,
        )?;
    }
    Ok(())
}

/// The `cluster-<c>.png` files of `dir` with c >= k: pictures of clusters that an earlier
/// clustering with more clusters wrote there (nothing else of `dir` is ever removed).
pub fn stale_cluster_pictures(dir: &Path, k: usize) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut stale: Vec<PathBuf> = entries
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

/// The contingency table (clusters down, classes across, by name) as text.
pub fn contingency_table(counts: &[Vec<u64>], classes: &[String]) -> String {
    let columns = counts.first().map_or(0, Vec::len);
    let name = |l: usize| classes.get(l).cloned().unwrap_or_else(|| l.to_string());
    let widths: Vec<usize> = (0..columns)
        .map(|l| name(l).chars().count().max(5))
        .collect();
    let mut out = format!("{:>8}", "cluster");
    for (l, width) in widths.iter().enumerate() {
        out += &format!(" {:>width$}", name(l));
    }
    out += &format!(" {:>6}\n", "size");
    for (c, row) in counts.iter().enumerate() {
        out += &format!("{c:>8}");
        for (v, width) in row.iter().zip(&widths) {
            out += &format!(" {v:>width$}");
        }
        out += &format!(" {:>6}\n", row.iter().sum::<u64>());
    }
    out
}

/// One row per cluster, named on its left (number, size, majority class), with its first
/// `members` images; the post's "items of cluster" pictures on one sheet.
pub fn cluster_sheet(
    data: &Dataset,
    clusters: &[u32],
    k: usize,
    members: usize,
) -> Result<super::Picture> {
    let size = data.image_size();
    let shape = data.shape();
    let blank = vec![0u8; size];
    let mut images: Vec<&[u8]> = Vec::with_capacity(k * members);
    let mut rows = Vec::with_capacity(k);
    for c in 0..k {
        let shown = members_of(clusters, c, members);
        for slot in 0..members {
            images.push(match shown.get(slot) {
                Some(&i) => &data.pixels[i * size..(i + 1) * size],
                None => &blank,
            });
        }
        rows.push(describe(data, clusters, c));
    }
    let grid = image_grid(&images, shape, members, SCALE);
    let title = format!("{k} clusters, the first {members} images of each");
    labelled(&grid, &title, &rows, shape.rows * SCALE + 1)
}
