//! The network description and its parameters (Keras layout: a weight is `in x out`, row-major).

use anyhow::{bail, Result};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// What a layer applies after `x W + b`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    Relu,
    Linear,
    Sigmoid,
}

/// A dense autoencoder: layer widths from input to reconstruction, ReLU inside, sigmoid last.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelSpec {
    pub widths: Vec<usize>,
}

impl ModelSpec {
    /// The blog's model: 784-128-32-128-784.
    pub fn blog() -> Self {
        ModelSpec {
            widths: vec![784, 128, 32, 128, 784],
        }
    }

    /// Parses `784,128,32,128,784` and checks it against the image size of the data.
    pub fn parse(text: &str, image_size: usize) -> Result<Self> {
        let widths = text
            .split(',')
            .map(|w| match w.trim().parse::<usize>() {
                Ok(v) if v > 0 => Ok(v),
                _ => bail!("--layers: {w:?} is not a positive layer width"),
            })
            .collect::<Result<Vec<_>>>()?;
        let spec = ModelSpec { widths };
        spec.check(image_size)?;
        Ok(spec)
    }

    /// An autoencoder must start and end with the image size and have a code layer.
    pub fn check(&self, image_size: usize) -> Result<()> {
        let w = &self.widths;
        if w.len() < 3 {
            bail!("the model needs at least 3 layer widths (input, code, output), got {w:?}");
        }
        if w[0] != image_size || w[w.len() - 1] != image_size {
            bail!("the model's layers {w:?} must start and end with the image size {image_size}");
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
        if l + 1 == self.layer_count() {
            Activation::Sigmoid
        } else {
            Activation::Relu
        }
    }

    /// Index of the code layer (the narrowest), whose output is the learned representation.
    pub fn code_layer(&self) -> usize {
        let inner = &self.widths[1..self.widths.len() - 1];
        let narrowest = inner.iter().min().copied().unwrap_or(0);
        inner.iter().position(|&w| w == narrowest).unwrap_or(0)
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
