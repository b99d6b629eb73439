//! `aeclust assign`: new images (or codes) placed in a saved clustering.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;

use super::args::{check_outputs, open_device, DataArgs, DeviceArgs, SplitArg};
use aeclust::cluster::SavedClustering;
use aeclust::identity::Inputs;
use aeclust::output::write_atomic;
use aeclust::pipeline::assignments_csv;
use aeclust::{model_file, npy};

#[derive(Args)]
pub struct AssignArgs {
    /// A clustering saved by `run` (clustering.safetensors) or `cluster --clustering-out`.
    #[arg(long)]
    pub clustering: PathBuf,
    /// The model whose codes were clustered: the images of --data are encoded with it.
    #[arg(long, conflicts_with = "codes", required_unless_present = "codes")]
    pub model: Option<PathBuf>,
    /// Or the codes to assign (a float32 .npy, images x code width).
    #[arg(long)]
    pub codes: Option<PathBuf>,
    /// The images to assign (see `train --help` for what --data takes); with --codes, the
    /// images the codes are of (names and labels in the CSV), when the counts agree.
    #[command(flatten)]
    pub data: DataArgs,
    /// Which images.
    #[arg(long, value_enum)]
    pub split: Option<SplitArg>,
    /// Write each image's cluster here as CSV: image (file or index), cluster, label (when
    /// known), squared distance to its centroid (the columns of assignments.csv).
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub device: DeviceArgs,
}

pub fn assign(args: &AssignArgs) -> Result<()> {
    args.data.check()?;
    let saved = SavedClustering::load(&args.clustering)?;
    let mut inputs = Inputs::default();
    inputs.add(&args.clustering);
    let (model, survey, width) = match (&args.model, &args.codes) {
        (Some(path), _) => {
            let (spec, params) = model_file::load_weights(path)?;
            saved
                .check_features(Some(&model_file::digest(&spec, &params)), spec.code_width())
                .with_context(|| {
                    format!(
                        "{} does not go with {}",
                        args.clustering.display(),
                        path.display()
                    )
                })?;
            inputs.add(path);
            let survey = args.data.survey(None)?;
            spec.check_data(survey.shape).with_context(|| {
                format!(
                    "{} does not fit {}",
                    path.display(),
                    args.data.data.display()
                )
            })?;
            let width = spec.code_width();
            (Some((spec, params)), Some(survey), width)
        }
        (None, Some(path)) => {
            let (n, d) = npy::read_matrix_shape(path)?;
            saved.check_features(None, d)?;
            inputs.add(path);
            // The images only name the rows when their count is the codes'.
            let survey =
                args.data.survey(None).ok().filter(|survey| {
                    survey.count(args.data.split(args.split, survey)).ok() == Some(n)
                });
            (None, survey, d)
        }
        (None, None) => bail!("give --model (and --data) or --codes"),
    };
    if let Some(survey) = &survey {
        inputs.extend(&survey.inputs);
    }
    check_outputs([args.out.as_path()], &inputs)?;
    let device = open_device(&args.device)?;
    let data = match survey {
        Some(survey) => {
            let split = args.data.split(args.split, &survey);
            Some(args.data.load(survey)?.split(split)?)
        }
        None => None,
    };
    let codes = match (&model, &args.codes) {
        (Some((spec, params)), _) => {
            let data = data.as_ref().expect("images with a model");
            device.encoder().encode(spec, params, data)?
        }
        (None, Some(path)) => npy::read_matrix(path)?.0,
        (None, None) => unreachable!("checked above"),
    };
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
