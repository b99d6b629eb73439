//! Where `cluster` and `assign` get their features: a file of codes, or a model's codes of
//! the images of `--data`; checked before any work, then read.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;

use super::args::{DataArgs, SplitArg};
use aeclust::data::{Dataset, Survey};
use aeclust::device::Device;
use aeclust::identity::Inputs;
use aeclust::model::{ModelSpec, Params};
use aeclust::{model_file, npy};

#[derive(Args)]
pub struct FeatureArgs {
    /// Features: a float32 .npy (images x features), such as `encode` writes.
    #[arg(long, conflicts_with = "model", required_unless_present = "model")]
    pub codes: Option<PathBuf>,
    /// Or a model: the images of --data/--split are encoded with it.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// The images (see `train --help` for what --data takes): with --model, the images to
    /// encode; with --codes, the images the codes are of (names, labels, pictures), when the
    /// counts agree.
    #[command(flatten)]
    pub data: DataArgs,
    /// Which images.
    #[arg(long, value_enum)]
    pub split: Option<SplitArg>,
}

/// The features, their images when known, and the model whose codes they are.
pub type Loaded = (Vec<f32>, Option<Dataset>, Option<(ModelSpec, Params)>);

/// Features checked before any work.
pub struct FeaturePlan {
    model: Option<(ModelSpec, Params)>,
    /// The digest of the model, when the features are its codes.
    pub digest: Option<String>,
    pub points: usize,
    pub width: usize,
    /// The images of the features, when known.
    pub survey: Option<Survey>,
    /// Why the features have no images, when they have none.
    pub no_images: Option<String>,
    /// Every file read.
    pub inputs: Inputs,
}

impl FeatureArgs {
    /// Reads what is knowable before any work: the codes' shape, or the model and the
    /// images' survey. With `needs_images`, codes without their images are an error.
    pub fn plan(&self, needs_images: bool) -> Result<FeaturePlan> {
        self.data.check()?;
        let mut inputs = Inputs::default();
        match (&self.codes, &self.model) {
            (Some(path), _) => {
                let (n, d) = npy::read_matrix_shape(path)?;
                inputs.add(path);
                let (survey, no_images) = match self.data.survey(None) {
                    Ok(survey) => {
                        let split = self.data.split(self.split, &survey);
                        match survey.count(split) {
                            Ok(count) if count == n => (Some(survey), None),
                            Ok(count) => (
                                None,
                                Some(format!(
                                    "the {} split of {} holds {count} images, the codes {n} \
                                     rows (--split and --data say which images the codes are)",
                                    split.name(),
                                    self.data.data.display()
                                )),
                            ),
                            Err(error) => (None, Some(format!("{error:#}"))),
                        }
                    }
                    Err(error) => (None, Some(format!("{error:#}"))),
                };
                if let (true, Some(why)) = (needs_images, &no_images) {
                    bail!("this needs the images of the codes: {why}");
                }
                if let Some(survey) = &survey {
                    inputs.extend(&survey.inputs);
                }
                Ok(FeaturePlan {
                    model: None,
                    digest: None,
                    points: n,
                    width: d,
                    survey,
                    no_images,
                    inputs,
                })
            }
            (None, Some(path)) => {
                let (spec, params) = model_file::load_weights(path)?;
                inputs.add(path);
                let survey = self.data.survey(None)?;
                spec.check_data(survey.shape).with_context(|| {
                    format!(
                        "{} does not fit {}",
                        path.display(),
                        self.data.data.display()
                    )
                })?;
                let points = survey.count(self.data.split(self.split, &survey))?;
                inputs.extend(&survey.inputs);
                Ok(FeaturePlan {
                    digest: Some(model_file::digest(&spec, &params)),
                    width: spec.code_width(),
                    model: Some((spec, params)),
                    points,
                    survey: Some(survey),
                    no_images: None,
                    inputs,
                })
            }
            (None, None) => bail!("give --codes or --model"),
        }
    }

    /// Reads the images (when known) and the features: the codes, or the model's codes of
    /// the images on `device`; and the model, when the features are its codes.
    pub fn load(&self, plan: FeaturePlan, device: &Device) -> Result<Loaded> {
        let data = match plan.survey {
            Some(survey) => {
                let split = self.data.split(self.split, &survey);
                Some(self.data.load(survey)?.into_split(split)?)
            }
            None => None,
        };
        let codes = match (&plan.model, &self.codes) {
            (Some((spec, params)), _) => {
                let data = data.as_ref().expect("images with a model");
                device.encoder().encode(spec, params, data)?
            }
            (None, Some(path)) => npy::read_matrix(path)?.0,
            (None, None) => unreachable!("planned"),
        };
        Ok((codes, data, plan.model))
    }
}
