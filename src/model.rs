//! The network description and its parameters (Keras layout: a weight is `in x out`, row-major).

use anyhow::{bail, Context, Result};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::data::Shape;

/// What a layer applies after `x W + b`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    Relu,
    Linear,
    Sigmoid,
}

impl Activation {
    pub fn name(self) -> &'static str {
        match self {
            Activation::Relu => "relu",
            Activation::Linear => "linear",
            Activation::Sigmoid => "sigmoid",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        [Activation::Relu, Activation::Linear, Activation::Sigmoid]
            .into_iter()
            .find(|a| a.name() == text.trim())
    }
}

/// The reconstruction loss, which fixes the output layer's activation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Loss {
    /// Binary cross-entropy on a sigmoid output (fused: the last layer stops at its logits).
    Bce,
    /// Mean squared error on a linear output.
    Mse,
}

impl Loss {
    pub fn name(self) -> &'static str {
        match self {
            Loss::Bce => "bce",
            Loss::Mse => "mse",
        }
    }

    /// What a plot's axis calls it.
    pub fn description(self) -> &'static str {
        match self {
            Loss::Bce => "binary cross-entropy",
            Loss::Mse => "mean squared error",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Loss::Bce, Loss::Mse]
            .into_iter()
            .find(|l| l.name() == text)
    }

    pub fn output_activation(self) -> Activation {
        match self {
            Loss::Bce => Activation::Sigmoid,
            Loss::Mse => Activation::Linear,
        }
    }
}

/// A dense autoencoder: layer widths from input to reconstruction, each layer's activation,
/// and the loss.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelSpec {
    pub widths: Vec<usize>,
    /// One per layer (`widths.len() - 1`); the last is the loss's output activation.
    pub activations: Vec<Activation>,
    pub loss: Loss,
    /// The shape of the images it was made for, when known (model files from before it was
    /// recorded, and weights-only files, do not say).
    pub input: Option<Shape>,
}

/// Parses a comma-separated list of positive widths (`--layers`).
pub fn parse_widths(text: &str) -> Result<Vec<usize>> {
    text.split(',')
        .map(|w| match w.trim().parse::<usize>() {
            Ok(v) if v > 0 => Ok(v),
            _ => bail!("--layers: {w:?} is not a positive layer width"),
        })
        .collect()
}

/// Parses a comma-separated list of activations (`--activations`).
pub fn parse_activations(text: &str) -> Result<Vec<Activation>> {
    text.split(',')
        .map(|a| {
            Activation::parse(a)
                .with_context(|| format!("--activations: {a:?} is not relu, linear or sigmoid"))
        })
        .collect()
}

impl ModelSpec {
    /// The blog's model: 784-128-32-128-784, ReLU inside, sigmoid output, BCE.
    pub fn blog() -> Self {
        ModelSpec::standard(vec![784, 128, 32, 128, 784], false, Loss::Bce)
    }

    /// ReLU in every hidden layer (but a linear code layer when `linear_code`) and the output
    /// activation of `loss`.
    pub fn standard(widths: Vec<usize>, linear_code: bool, loss: Loss) -> Self {
        let mut spec = ModelSpec {
            activations: vec![Activation::Relu; widths.len().saturating_sub(1)],
            widths,
            loss,
            input: None,
        };
        if linear_code && spec.widths.len() >= 3 {
            let code = spec.code_layer();
            spec.activations[code] = Activation::Linear;
        }
        if let Some(last) = spec.activations.last_mut() {
            *last = loss.output_activation();
        }
        spec
    }

    /// `784,128,32,128,784`-style widths with the blog's activations and loss, checked
    /// against the image size of the data.
    pub fn parse(text: &str, image_size: usize) -> Result<Self> {
        let spec = ModelSpec::standard(parse_widths(text)?, false, Loss::Bce);
        spec.check(image_size)?;
        Ok(spec)
    }

    /// Fails unless the model takes images of `shape`: its recorded input shape, when it has
    /// one, and its first and last widths.
    pub fn check_data(&self, shape: Shape) -> Result<()> {
        if let Some(input) = self.input.filter(|&input| input != shape) {
            bail!("the model was made for images of {input}, but these images are {shape}");
        }
        let w = &self.widths;
        if w[0] != shape.size() {
            bail!(
                "the model takes {} values per image, but images of {shape} have {}",
                w[0],
                shape.size()
            );
        }
        self.check(shape.size())
    }

    /// An autoencoder must start and end with the image size, have a code layer, one
    /// activation per layer, and the output activation its loss needs.
    pub fn check(&self, image_size: usize) -> Result<()> {
        let w = &self.widths;
        if w.len() < 3 {
            bail!("the model needs at least 3 layer widths (input, code, output), got {w:?}");
        }
        if w[0] != image_size || w[w.len() - 1] != image_size {
            bail!("the model's layers {w:?} must start and end with the image size {image_size}");
        }
        if self.activations.len() != self.layer_count() {
            bail!(
                "{} activations for {} layers",
                self.activations.len(),
                self.layer_count()
            );
        }
        let last = self.activations[self.layer_count() - 1];
        let wanted = self.loss.output_activation();
        if last != wanted {
            bail!(
                "the {} loss needs a {} output layer, got {}",
                self.loss.name(),
                wanted.name(),
                last.name()
            );
        }
        if self.activations[..self.layer_count() - 1].contains(&Activation::Sigmoid) {
            bail!("sigmoid is only for the output layer (its backward pass is not implemented)");
        }
        Ok(())
    }

    pub fn layer_count(&self) -> usize {
        self.widths.len() - 1
    }

    /// (fan_in, fan_out) of dense layer `l`.
    pub fn layer_shape(&self, l: usize) -> (usize, usize) {
        (self.widths[l], self.widths[l + 1])
    }

    pub fn activation(&self, l: usize) -> Activation {
        self.activations[l]
    }

    /// Index of the code layer (the narrowest), whose output is the learned representation.
    pub fn code_layer(&self) -> usize {
        let inner = &self.widths[1..self.widths.len() - 1];
        let narrowest = inner.iter().min().copied().unwrap_or(0);
        inner.iter().position(|&w| w == narrowest).unwrap_or(0)
    }

    /// Values per code: the code layer's width.
    pub fn code_width(&self) -> usize {
        self.widths[self.code_layer() + 1]
    }

    pub fn parameter_count(&self) -> usize {
        (0..self.layer_count())
            .map(|l| {
                let (i, o) = self.layer_shape(l);
                i * o + o
            })
            .sum()
    }
}

/// Weights and biases of every layer, unpadded.
#[derive(Clone, Debug, PartialEq)]
pub struct Params {
    pub weights: Vec<Vec<f32>>,
    pub biases: Vec<Vec<f32>>,
}

impl Params {
    /// Every weight, then every bias.
    pub fn tensors(&self) -> impl Iterator<Item = &[f32]> {
        self.weights.iter().chain(&self.biases).map(Vec::as_slice)
    }

    pub fn tensors_mut(&mut self) -> impl Iterator<Item = &mut [f32]> {
        self.weights
            .iter_mut()
            .chain(&mut self.biases)
            .map(Vec::as_mut_slice)
    }

    /// Keras defaults: Glorot-uniform weights (limit sqrt(6 / (fan_in + fan_out))), zero biases.
    pub fn glorot(spec: &ModelSpec, seed: u64) -> Params {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut weights = Vec::new();
        let mut biases = Vec::new();
        for l in 0..spec.layer_count() {
            let (fan_in, fan_out) = spec.layer_shape(l);
            let limit = (6.0 / (fan_in + fan_out) as f64).sqrt() as f32;
            weights.push(
                (0..fan_in * fan_out)
                    .map(|_| rng.random_range(-limit..limit))
                    .collect(),
            );
            biases.push(vec![0.0; fan_out]);
        }
        Params { weights, biases }
    }
}
