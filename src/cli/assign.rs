//! `aeclust assign`: new images (or codes) placed in a saved clustering.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;

use super::args::{check_outputs, open_device, DeviceArgs};
use super::features::FeatureArgs;
use aeclust::cluster::SavedClustering;
use aeclust::output::write_atomic;
use aeclust::pipeline::assignments_csv;

#[derive(Args)]
pub struct AssignArgs {
    /// A clustering saved by `run` (clustering.safetensors) or `cluster --clustering-out`.
    #[arg(long)]
    pub clustering: PathBuf,
    #[command(flatten)]
    pub features: FeatureArgs,
    /// Write each image's cluster here as CSV: image (file or index), cluster, label (when
    /// known), squared distance to its centroid (the columns of assignments.csv).
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub device: DeviceArgs,
}

pub fn assign(args: &AssignArgs) -> Result<()> {
    let saved = SavedClustering::load(&args.clustering)?;
    let mut features = args.features.plan(false)?;
    saved
        .check_features(features.digest.as_deref(), features.width)
        .with_context(|| format!("{} does not go with these codes", args.clustering.display()))?;
    features.inputs.add(&args.clustering);
    check_outputs([args.out.as_path()], &features.inputs)?;
    let device = open_device(&args.device)?;
    let width = features.width;
    let (codes, data, _) = args.features.load(features, &device)?;
    let start = std::time::Instant::now();
    let placed = saved.assign(&device, &codes)?;
    write_atomic(
        &args.out,
        assignments_csv(&placed.labels, &placed.distances, data.as_ref()).as_bytes(),
    )?;
    let mut sizes = vec![0usize; saved.k];
    for &c in &placed.labels {
        sizes[c as usize] += 1;
    }
    println!(
        "assigned {} images of {width}-d codes to {} clusters{} in {:.2} s (sizes {sizes:?}): {}",
        codes.len() / width,
        saved.k,
        if saved.umap.is_some() {
            " through the UMAP embedding"
        } else {
            ""
        },
        start.elapsed().as_secs_f64(),
        args.out.display()
    );
    Ok(())
}
