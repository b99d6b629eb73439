//! Named training recipes: the model and the training settings that go with it. Every value
//! can be overridden by a flag.

use anyhow::{bail, Result};

use crate::data::Shape;
use crate::domain::{check_matmul_k, MATMUL_MAX_K};
use crate::model::{parse_widths, Activation, Loss, ModelSpec};
use crate::model_file::{TrainingState, MAX_EPOCHS};
use crate::optim::AdamConfig;
use crate::train::{Objective, TrainConfig};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Recipe {
    /// The post's autoencoder: 784-128-32-128-784, ReLU code, sigmoid + BCE, batch 32, 3 epochs.
    Blog,
    /// A deeper autoencoder whose codes cluster (N2D's encoder): 784-500-500-2000-10, linear
    /// 10-d code, mirrored decoder, MSE, batch 256.
    Deep,
}

/// What a recipe sets.
pub struct RecipeValues {
    pub layers: &'static str,
    /// The code layer is linear (else ReLU like every hidden layer).
    pub linear_code: bool,
    pub loss: Loss,
    pub batch: usize,
    pub epochs: usize,
}

impl Recipe {
    /// The recipe's model.
    pub fn model(self) -> ModelSpec {
        let values = self.values();
        let widths = parse_widths(values.layers).expect("a recipe's widths parse");
        ModelSpec::standard(widths, values.linear_code, values.loss)
    }

    pub fn values(self) -> RecipeValues {
        match self {
            Recipe::Blog => RecipeValues {
                layers: "784,128,32,128,784",
                linear_code: false,
                loss: Loss::Bce,
                batch: 32,
                epochs: 3,
            },
            Recipe::Deep => RecipeValues {
                layers: "784,500,500,2000,10,2000,500,500,784",
                linear_code: true,
                loss: Loss::Mse,
                batch: 256,
                epochs: 20,
            },
        }
    }
}

/// A recipe with the values a user overrides (the training flags, typed): everything that
/// decides the model and its training.
#[derive(Clone, Debug)]
pub struct RecipeSettings {
    pub recipe: Recipe,
    /// Passes over the training set (the recipe's when not given).
    pub epochs: Option<usize>,
    /// Samples per Adam step (the recipe's when not given).
    pub batch: Option<usize>,
    /// Adam's learning rate.
    pub lr: f32,
    /// Seed of the initial weights and of the shuffle (0 when not given; a resumed model's
    /// own).
    pub seed: Option<u64>,
    /// Layer widths from input to reconstruction (the recipe's, with the image size at both
    /// ends, when not given).
    pub layers: Option<Vec<usize>>,
    /// One activation per layer.
    pub activations: Option<Vec<Activation>>,
    pub loss: Option<Loss>,
    /// Train on the first this many training samples only.
    pub limit: Option<usize>,
    /// Also save the model (with Adam's state) after every this many epochs.
    pub checkpoint_every: Option<usize>,
}

impl RecipeSettings {
    /// The recipe as it is, with the default learning rate.
    pub fn of(recipe: Recipe) -> Self {
        RecipeSettings {
            recipe,
            epochs: None,
            batch: None,
            lr: AdamConfig::default().lr,
            seed: None,
            layers: None,
            activations: None,
            loss: None,
            limit: None,
            checkpoint_every: None,
        }
    }
}

impl RecipeSettings {
    /// The training settings, after checking the flags that can be checked without data.
    pub fn config(&self) -> Result<TrainConfig> {
        let values = self.recipe.values();
        let (epochs, batch) = (
            self.epochs.unwrap_or(values.epochs),
            self.batch.unwrap_or(values.batch),
        );
        if epochs == 0 || epochs > MAX_EPOCHS {
            bail!("--epochs must be between 1 and {MAX_EPOCHS}, got {epochs}");
        }
        if batch == 0 {
            bail!("--batch must be at least 1");
        }
        check_matmul_k("--batch", batch)?;
        if !(self.lr.is_finite() && self.lr > 0.0) {
            bail!("--lr must be a positive number, got {}", self.lr);
        }
        if self.limit == Some(0) {
            bail!("--limit must be at least 1");
        }
        if self.checkpoint_every == Some(0) {
            bail!("--checkpoint-every must be at least 1");
        }
        Ok(TrainConfig {
            epochs,
            batch,
            adam: AdamConfig {
                lr: self.lr,
                ..AdamConfig::default()
            },
            seed: self.seed(),
            first_epoch: 0,
            objective: Objective::Reconstruction,
        })
    }

    pub fn seed(&self) -> u64 {
        self.seed.unwrap_or(0)
    }

    /// Fails when a flag given with `train --model` conflicts with the model file being
    /// resumed: the file's model, seed and step count win, so a flag that says otherwise
    /// would be ignored. (`--lr` and `--epochs` apply to the epochs to come.)
    pub fn check_resume(
        &self,
        spec: &ModelSpec,
        state: &TrainingState,
        file: &str,
        samples: usize,
    ) -> Result<()> {
        let conflict = |flag: &str, value: &str, holds: String| {
            anyhow::anyhow!(
                "{flag} {value} conflicts with {file}, which {holds}; \
                 leave {flag} out to resume it"
            )
        };
        if let Some(layers) = self.layers.as_ref().filter(|&l| *l != spec.widths) {
            let given: Vec<String> = layers.iter().map(ToString::to_string).collect();
            let given = given.join(",");
            return Err(conflict(
                "--layers",
                &given,
                format!("holds {:?}", spec.widths),
            ));
        }
        if let Some(list) = self
            .activations
            .as_ref()
            .filter(|&a| *a != spec.activations)
        {
            let names: Vec<&str> = list.iter().map(|a| a.name()).collect();
            let holds = "has other activations".to_string();
            return Err(conflict("--activations", &names.join(","), holds));
        }
        if let Some(loss) = self.loss.filter(|&l| l != spec.loss) {
            let holds = format!("was trained with {}", spec.loss.name());
            return Err(conflict("--loss", loss.name(), holds));
        }
        if let Some(seed) = self.seed.filter(|&s| s != state.seed) {
            let holds = format!("was trained from seed {}", state.seed);
            return Err(conflict("--seed", &seed.to_string(), holds));
        }
        let batch = self.batch.unwrap_or(self.recipe.values().batch);
        let per_epoch = samples.div_ceil(batch) as u64;
        if state.adam.step != state.epochs as u64 * per_epoch {
            bail!(
                "{file} took {} Adam steps over {} epochs, but {samples} samples at batch \
                 {batch} take {per_epoch} an epoch: resume with the --batch (or --recipe) and \
                 --limit it was trained with",
                state.adam.step,
                state.epochs
            );
        }
        Ok(())
    }

    /// The model for images of `shape`: the recipe's, with the flags' overrides, checked
    /// against the image size and the kernels' widths. Without --layers, the recipe's first and
    /// last widths become the image size.
    pub fn model(&self, shape: Shape) -> Result<ModelSpec> {
        let image_size = shape.size();
        if image_size > MATMUL_MAX_K {
            bail!(
                "images of {shape} are {image_size} values each, more than the {MATMUL_MAX_K} \
                 a layer takes; give --resize WxH to make them smaller"
            );
        }
        let values = self.recipe.values();
        let widths = match &self.layers {
            Some(layers) => layers.clone(),
            None => {
                let mut widths = parse_widths(values.layers)?;
                let last = widths.len() - 1;
                widths[0] = image_size;
                widths[last] = image_size;
                widths
            }
        };
        let loss = self.loss.unwrap_or(values.loss);
        let mut spec = ModelSpec::standard(widths, values.linear_code, loss);
        if let Some(list) = &self.activations {
            spec.activations = list.clone();
        }
        spec.input = Some(shape);
        spec.check_data(shape)?;
        for &width in &spec.widths {
            check_matmul_k("a layer's width", width)?;
        }
        Ok(spec)
    }
}
