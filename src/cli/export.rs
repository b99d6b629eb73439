//! `aeclust export`: the clusters as folders, then, once named, the labels.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use clap::Args;

use super::args::check_output_dir;
use aeclust::data::SourceKind;
use aeclust::export::{self, Assigned};
use aeclust::output::OutputSet;

#[derive(Args)]
pub struct ExportArgs {
    /// The clustering to export: an assignments.csv that `run`, `cluster` or `assign` wrote.
    #[arg(long)]
    pub assignments: PathBuf,
    /// The image folder the assignments name the files of.
    #[arg(long)]
    pub data: PathBuf,
    /// A new (or empty) directory for the export.
    #[arg(long)]
    pub out: PathBuf,
    /// The clusters' names: a names.csv (cluster,name; `skip` leaves a cluster out), as the
    /// first export and report.html write it, or the first export's folder with its cluster
    /// folders renamed. With it, labels.csv is written instead of the cluster folders.
    #[arg(long, value_name = "FILE|DIR")]
    pub names: Option<PathBuf>,
    /// With --names, also write an ImageFolder tree (<label>/<image>) for --data and
    /// torchvision.
    #[arg(long, requires = "names")]
    pub image_folder: bool,
}

/// Each image's label (none: left out).
type LabelOf = Box<dyn Fn(&Assigned) -> Option<String>>;

/// The clusters' labels from a names.csv, with a notice for the clusters it does not name.
fn named(path: &Path, k: usize) -> Result<Vec<Option<String>>> {
    let names = export::read_names(path, k)?;
    if !names.unnamed.is_empty() {
        eprintln!(
            "notice: {} names no cluster {:?}: they keep the label cluster-<c>",
            path.display(),
            names.unnamed
        );
    }
    Ok(names.labels)
}

pub fn export(args: &ExportArgs) -> Result<()> {
    if SourceKind::of(&args.data)? != SourceKind::Folder {
        bail!(
            "--data {} is not an image folder; export links the files of a folder",
            args.data.display()
        );
    }
    let rows = export::read_assignments(&args.assignments)?;
    if rows.is_empty() {
        bail!("{} assigns no images", args.assignments.display());
    }
    check_output_dir(&args.out, "--out", &args.data)?;
    if std::fs::read_dir(&args.out).is_ok_and(|mut entries| entries.next().is_some()) {
        bail!(
            "--out {} is not empty; export writes a new folder (remove it or choose another)",
            args.out.display()
        );
    }
    let k = rows.iter().map(|r| r.cluster + 1).max().unwrap_or(0);
    let label_of: Option<LabelOf> = match &args.names {
        None => None,
        Some(names) if names.is_dir() => {
            let folders = export::read_renamed_folders(names)?;
            if let Some(row) = rows.iter().find(|r| !folders.contains_key(&r.image)) {
                bail!(
                    "{} is in none of the folders of {}",
                    row.image,
                    names.display()
                );
            }
            // A folder still named cluster-<c> takes its name from the names.csv beside it.
            let csv = names.join("names.csv");
            let from_csv = match csv.is_file() {
                true => Some(named(&csv, k)?),
                false => None,
            };
            Some(Box::new(move |row: &Assigned| {
                let folder = folders[&row.image].clone();
                match (&from_csv, &folder) {
                    (Some(csv), Some(name)) if *name == export::cluster_folder(row.cluster) => {
                        csv[row.cluster].clone()
                    }
                    _ => folder,
                }
            }))
        }
        Some(names) => {
            let names = named(names, k)?;
            Some(Box::new(move |row: &Assigned| names[row.cluster].clone()))
        }
    };
    let mut out = OutputSet::directory(&args.out)?;
    match label_of {
        None => {
            let sizes = export::export_clusters(&rows, &args.data, &mut out)?;
            out.commit()?;
            println!(
                "{} clusters of {} images in {} (sizes {sizes:?}, hard links to the images \
                 where the file system allows); name them in {} or rename their folders, then \
                 run aeclust export --names {}",
                k,
                rows.len(),
                args.out.display(),
                args.out.join("names.csv").display(),
                args.out.display()
            );
        }
        Some(label_of) => {
            let counts =
                export::export_labels(&rows, label_of, &args.data, args.image_folder, &mut out)?;
            out.commit()?;
            let labelled: usize = counts.values().sum();
            println!(
                "{labelled} of {} images labelled, {} labels {counts:?}: {}",
                rows.len(),
                counts.len(),
                args.out.join("labels.csv").display()
            );
        }
    }
    Ok(())
}
