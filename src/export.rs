//! From clusters to labels. First the clusters as folders: one folder per cluster
//! (`cluster-<c>/`, each image linked under its path in the data, a hard link where the file
//! system allows, else a copy; the data is never modified) and `names.csv` (each cluster's
//! suggested name). Then, once the user has edited `names.csv` (or renamed the folders), the
//! labels: `labels.csv` (image, label) and, on request, an ImageFolder tree (`<label>/...`)
//! ready for `--data` and for torchvision. Two clusters may get one name (they merge); the
//! name `skip` leaves a cluster out.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::data::names;
use crate::domain::KMEANS_MAX_K;
use crate::output::{write_atomic, OutputSet};
use crate::report::csv;

/// The name that leaves a cluster out of the labels.
pub const SKIP: &str = "skip";

/// One row of `assignments.csv`.
#[derive(Clone, Debug, PartialEq)]
pub struct Assigned {
    /// The image's path relative to the data (escaped as `data::names` does).
    pub image: String,
    pub cluster: usize,
    /// Its class, when the data has classes.
    pub label: String,
}

/// The rows of an `assignments.csv` that `run`, `cluster` or `assign` wrote.
pub fn read_assignments(path: &Path) -> Result<Vec<Assigned>> {
    let shown = path.display().to_string();
    let rows = read_csv(path)?;
    if rows.first().map(|r| r.join(",")) != Some("image,cluster,label,distance".into()) {
        bail!("{shown} is not an assignments.csv (its header is not image,cluster,label,distance)");
    }
    rows[1..]
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let [image, cluster, label, _] = &row[..] else {
                bail!("{shown}: row {} has {} fields, not 4", i + 2, row.len());
            };
            let cluster: usize = match cluster.parse() {
                Ok(c) if c < KMEANS_MAX_K => c,
                _ => bail!(
                    "{shown}: row {}: {cluster:?} is not a cluster 0 to {}",
                    i + 2,
                    KMEANS_MAX_K - 1
                ),
            };
            Ok(Assigned {
                image: image.clone(),
                cluster,
                label: label.clone(),
            })
        })
        .collect::<Result<Vec<_>>>()
        .and_then(|rows| {
            let mut seen = std::collections::HashSet::new();
            match rows.iter().find(|r| !seen.insert(r.image.as_str())) {
                Some(row) => bail!("{shown}: the image {} is in two rows", row.image),
                None => Ok(rows),
            }
        })
}

/// The rows of the UTF-8 CSV file at `path` (a byte order mark, as spreadsheets save one,
/// left out).
fn read_csv(path: &Path) -> Result<Vec<Vec<String>>> {
    let shown = path.display().to_string();
    let text = String::from_utf8(crate::input::read(path)?)
        .with_context(|| format!("{shown} is not UTF-8 text"))?;
    csv::parse(text.trim_start_matches('\u{feff}'), &shown)
}

/// Each cluster's suggested name: its majority label when the images have labels, else
/// `cluster-<c>`.
pub fn suggested_names(rows: &[Assigned], k: usize) -> Vec<String> {
    (0..k)
        .map(|c| {
            let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
            for row in rows
                .iter()
                .filter(|r| r.cluster == c && !r.label.is_empty())
            {
                *counts.entry(&row.label).or_default() += 1;
            }
            // The most frequent, the first by name among equals.
            let best = counts
                .into_iter()
                .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0)));
            best.map_or_else(|| format!("cluster-{c}"), |(label, _)| label.to_string())
        })
        .collect()
}

/// The source file of an image named `image` in the folder `data`.
fn source(data: &Path, image: &str) -> Result<PathBuf> {
    let relative = names::unescape(image)
        .with_context(|| format!("{image:?} is not an image name that aeclust wrote"))?;
    let relative = Path::new(&relative);
    let safe = relative
        .components()
        .all(|c| matches!(c, std::path::Component::Normal(_)));
    if !safe {
        bail!("{image:?} is not a path inside the data");
    }
    Ok(data.join(relative))
}

/// Puts `from` at `to` (a staged place): a hard link, else a copy.
fn link_or_copy(from: &Path, to: &Path) -> Result<()> {
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    if std::fs::hard_link(from, to).is_err() {
        std::fs::copy(from, to)
            .with_context(|| format!("cannot copy {} to {}", from.display(), to.display()))?;
    }
    Ok(())
}

/// Stages, in the directory set `out`, the folder `folder` holding every image of `rows`
/// under its path in the data folder `data`.
fn stage_folder(
    out: &mut OutputSet,
    dir: &Path,
    folder: &str,
    rows: &[&Assigned],
    data: &Path,
) -> Result<()> {
    for row in rows {
        let from = source(data, &row.image)?;
        crate::input::check_file(&from)?;
        let relative = Path::new(folder).join(names::unescape(&row.image).expect("checked"));
        link_or_copy(&from, &out.stage(&dir.join(relative))?)?;
    }
    Ok(())
}

/// The folder name of cluster `c` before it is named.
pub fn cluster_folder(c: usize) -> String {
    format!("cluster-{c}")
}

/// Writes the clusters of `rows` (images of the folder `data`) into the directory set `out`:
/// `cluster-<c>/` per cluster and `names.csv`. Returns how many images each cluster holds.
pub fn export_clusters(rows: &[Assigned], data: &Path, out: &mut OutputSet) -> Result<Vec<usize>> {
    let dir = out
        .target_dir()
        .context("not a directory of outputs")?
        .to_path_buf();
    let k = rows.iter().map(|r| r.cluster + 1).max().unwrap_or(0);
    let mut sizes = Vec::with_capacity(k);
    for c in 0..k {
        let members: Vec<&Assigned> = rows.iter().filter(|r| r.cluster == c).collect();
        sizes.push(members.len());
        stage_folder(out, &dir, &cluster_folder(c), &members, data)?;
    }
    let mut text = String::from("cluster,name\n");
    for (c, name) in suggested_names(rows, k).iter().enumerate() {
        text += &format!("{c},{}\n", csv::field(name));
    }
    write_atomic(&out.stage(&dir.join("names.csv"))?, text.as_bytes())?;
    Ok(sizes)
}

/// Fails unless `name` can be a label and the name of its folder in an ImageFolder tree: not
/// empty, no `/` or control character, not starting with a dot (a hidden folder, which a
/// folder reader leaves out), not `labels.csv` (beside the tree), at most 255 bytes.
fn check_label(name: &str) -> std::result::Result<(), &'static str> {
    if name.is_empty() {
        Err("is empty")
    } else if name.contains('/') || name.chars().any(char::is_control) {
        Err("holds a / or a control character, which a folder name cannot")
    } else if name.starts_with('.') {
        Err("starts with a dot: its folder would be hidden, and left out when read as data")
    } else if name == "labels.csv" {
        Err("is the name of the labels file beside the folders")
    } else if name.len() > 255 {
        Err("is longer than the 255 bytes of a folder name")
    } else {
        Ok(())
    }
}

/// The clusters' names from a `names.csv`.
pub struct Names {
    /// Each cluster's label; `None` for a cluster named `skip`.
    pub labels: Vec<Option<String>>,
    /// The clusters the file does not name (they keep `cluster-<c>`).
    pub unnamed: Vec<usize>,
}

/// Each cluster's label from a `names.csv` (`cluster,name` rows), for `k` clusters.
pub fn read_names(path: &Path, k: usize) -> Result<Names> {
    let shown = path.display().to_string();
    let rows = read_csv(path)?;
    if rows.first().map(|r| r.join(",")) != Some("cluster,name".into()) {
        bail!("{shown}: the first row must be cluster,name");
    }
    let mut names: Vec<Option<String>> = (0..k).map(|c| Some(cluster_folder(c))).collect();
    let mut seen = vec![false; k];
    for (i, row) in rows[1..].iter().enumerate() {
        let line = i + 2;
        let [cluster, name] = &row[..] else {
            bail!(
                "{shown}: row {line} has {} fields, not 2 (cluster,name)",
                row.len()
            );
        };
        let c: usize = match cluster.trim().parse() {
            Ok(c) if c < k => c,
            _ => bail!(
                "{shown}: row {line}: {cluster:?} is not one of the clusters 0 to {}",
                k - 1
            ),
        };
        if std::mem::replace(&mut seen[c], true) {
            bail!("{shown}: row {line}: cluster {c} is named twice");
        }
        let name = name.trim();
        if name == SKIP {
            names[c] = None;
            continue;
        }
        if let Err(why) = check_label(name) {
            bail!("{shown}: row {line}: the name {name:?} {why}");
        }
        names[c] = Some(name.to_string());
    }
    Ok(Names {
        labels: names,
        unnamed: (0..k).filter(|&c| !seen[c]).collect(),
    })
}

/// Each image's label from an exported folder whose cluster folders the user renamed: every
/// file below a top-level folder `X` is the image of the same path in the data, labelled X
/// (a folder named `skip` leaves its images out). Hidden folders (aeclust's mark) are not
/// read.
pub fn read_renamed_folders(dir: &Path) -> Result<BTreeMap<String, Option<String>>> {
    let mut labels = BTreeMap::new();
    let listing =
        std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    for entry in listing {
        let entry = entry.with_context(|| format!("cannot read {}", dir.display()))?;
        let folder = entry.file_name();
        if !entry.file_type().is_ok_and(|t| t.is_dir())
            || folder.as_encoded_bytes().starts_with(b".")
        {
            continue;
        }
        let label = folder
            .to_str()
            .with_context(|| format!("{}: folder names must be UTF-8", entry.path().display()))?
            .to_string();
        if label != SKIP {
            if let Err(why) = check_label(&label) {
                bail!("{}: the folder name {label:?} {why}", dir.display());
            }
        }
        let mut pending = vec![entry.path()];
        while let Some(current) = pending.pop() {
            for inner in std::fs::read_dir(&current)
                .with_context(|| format!("cannot read {}", current.display()))?
            {
                let inner = inner.with_context(|| format!("cannot read {}", current.display()))?;
                let path = inner.path();
                if inner.file_type().is_ok_and(|t| t.is_dir()) {
                    pending.push(path);
                    continue;
                }
                let relative = path.strip_prefix(entry.path()).expect("below the folder");
                let image = names::escape(relative.as_os_str());
                let label = (label != SKIP).then(|| label.clone());
                if labels.insert(image.clone(), label).is_some() {
                    bail!("{image} is in two folders of {}", dir.display());
                }
            }
        }
    }
    Ok(labels)
}

/// Writes `labels.csv` (image, label) for the images of `rows` that have a label in
/// `label_of`, and with `image_folder` the tree `<label>/<image path>` of links to the files
/// of `data`, into the directory set `out`. Returns each label's image count.
pub fn export_labels(
    rows: &[Assigned],
    label_of: impl Fn(&Assigned) -> Option<String>,
    data: &Path,
    image_folder: bool,
    out: &mut OutputSet,
) -> Result<BTreeMap<String, usize>> {
    let dir = out
        .target_dir()
        .context("not a directory of outputs")?
        .to_path_buf();
    let mut text = String::from("image,label\n");
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut by_label: BTreeMap<String, Vec<&Assigned>> = BTreeMap::new();
    for row in rows {
        let Some(label) = label_of(row) else { continue };
        text += &format!("{},{}\n", csv::field(&row.image), csv::field(&label));
        *counts.entry(label.clone()).or_default() += 1;
        by_label.entry(label).or_default().push(row);
    }
    write_atomic(&out.stage(&dir.join("labels.csv"))?, text.as_bytes())?;
    if image_folder {
        for (label, members) in &by_label {
            stage_folder(out, &dir, label, members, data)?;
        }
    }
    Ok(counts)
}
