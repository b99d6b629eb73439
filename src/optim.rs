//! The optimizer: Keras's Adam, its settings and its state.

use crate::model::Params;

/// Adam's hyper-parameters (Keras defaults).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct AdamConfig {
    pub lr: f32,
    pub beta1: f32,
    pub beta2: f32,
    pub epsilon: f32,
}

impl Default for AdamConfig {
    fn default() -> Self {
        AdamConfig {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-7,
        }
    }
}

impl AdamConfig {
    /// The bias-corrected learning rate of step `t` (counting from 1), computed in f64.
    pub fn lr_t(&self, t: u64) -> f32 {
        let b1 = f64::from(self.beta1).powf(t as f64);
        let b2 = f64::from(self.beta2).powf(t as f64);
        (f64::from(self.lr) * (1.0 - b2).sqrt() / (1.0 - b1)) as f32
    }
}

/// Adam's state: the steps taken and the first and second moments, shaped as the parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct AdamState {
    pub step: u64,
    pub m: Params,
    pub v: Params,
}
