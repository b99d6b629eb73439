//! The library alone, the other half: a clustering kept as a file (`run` writes
//! clustering.safetensors beside model.safetensors), new images placed in it, as scikit-learn's
//! `predict` does.
//!
//! cargo run --release -- run --data data/digits --out out-digits
//! cargo run --release --example assign_new_images -- out-digits data/digits

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, Result};

use aeclust::cluster::SavedClustering;
use aeclust::data::{DataOptions, Source, Split};
use aeclust::device::{BackendChoice, Device};
use aeclust::model_file;

fn main() -> Result<()> {
    rayon::ThreadPoolBuilder::new()
        .use_current_thread()
        .build_global()?;
    let mut args = std::env::args().skip(1);
    let run: PathBuf = args.next().context("give a run's output directory")?.into();
    let data: PathBuf = args.next().context("give the images to assign")?.into();

    let (spec, params) = model_file::load_weights(&run.join("model.safetensors"))?;
    let clustering = SavedClustering::load(&run.join("clustering.safetensors"))?;
    // The clustering names the model whose codes it was made from.
    let digest = model_file::digest(&spec, &params);
    clustering.check_features(Some(&digest), spec.code_width())?;

    let images = Source::open(&data, &DataOptions::default(), &|_, _| {})?.split(Split::All)?;
    spec.check_data(images.shape())?;
    let (device, _) = Device::open(BackendChoice::Auto, &Default::default())?;
    let codes = device.encoder().encode(&spec, &params, &images)?;
    let placed = clustering.assign(&device, &codes)?;

    let mut sizes: BTreeMap<u32, usize> = BTreeMap::new();
    for &c in &placed.labels {
        *sizes.entry(c).or_default() += 1;
    }
    for i in 0..images.count.min(5) {
        println!("{} -> cluster {}", images.name(i), placed.labels[i]);
    }
    println!(
        "{} images in {} clusters: {sizes:?}",
        images.count, clustering.k
    );
    Ok(())
}
