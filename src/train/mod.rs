//! Training: the `Trainer` seam (a GPU and a CPU implementation) and the loop they share.

mod cpu_trainer;
mod gpu_trainer;

pub use cpu_trainer::CpuTrainer;
pub use gpu_trainer::GpuTrainer;

use std::time::Instant;

use anyhow::{bail, Result};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::model::Params;
use crate::optim::AdamConfig;
use crate::reference::gather::ImageMove;

/// What training minimises.
#[derive(Clone, Debug, Default)]
pub enum Objective {
    /// The model's reconstruction loss.
    #[default]
    Reconstruction,
    /// DEC's clustering loss on the codes (shaders/dec.wgsl): only the encoder learns.
    Clusters(ClusterObjective),
}

/// Fine-tuning an encoder towards its clusters (DEC, Xie et al. 2016, with DEC-DA's moved
/// inputs, Guo et al. 2018): every epoch starts from the soft assignments of every image to
/// the centres, which give each image its target; each step trains the encoder and the
/// centres on images moved by a few whole pixels. Validation is the loss of the unmoved
/// images against the same targets.
#[derive(Clone, Debug)]
pub struct ClusterObjective {
    /// k x d, row-major: the codes' cluster centres to start from (they learn too).
    pub centres: Vec<f32>,
    pub k: usize,
    /// Each image moves by up to this many pixels down and right (each drawn in
    /// [-max_move, max_move] per image and epoch); 0 leaves them in place.
    pub max_move: usize,
    /// Each image turns by up to this many degrees either way (drawn uniformly per image and
    /// epoch) before it moves.
    pub max_turn: f64,
    /// The images' grid: pixels per row, values per pixel.
    pub cols: usize,
    pub channels: usize,
}

impl ClusterObjective {
    /// The packed moves (`reference::gather::ImageMove::pack`, two words each) of an
    /// epoch's `count` positions in the sample order, from the seed and the Adam steps taken
    /// before the epoch: the same on every device.
    pub fn moves(&self, seed: u64, steps_before: u64, count: usize) -> Vec<u32> {
        let key = seed ^ 0x4d4f_5645_5321 ^ steps_before.rotate_left(32);
        let mut rng = ChaCha8Rng::seed_from_u64(key);
        let span = self.max_move as i32;
        (0..count)
            .flat_map(|_| {
                let turn = self.max_turn;
                let degrees = if turn > 0.0 {
                    rng.random_range(-turn..=turn)
                } else {
                    0.0
                };
                let down = rng.random_range(-span..=span) as i8;
                let right = rng.random_range(-span..=span) as i8;
                ImageMove::new(degrees, down, right).pack()
            })
            .collect()
    }

    /// The layers that learn: the encoder's, up to the code.
    pub fn layers(spec: &crate::model::ModelSpec) -> usize {
        spec.code_layer() + 1
    }
}

/// The recipe: Keras defaults unless changed.
#[derive(Clone, Debug, serde::Serialize)]
pub struct TrainConfig {
    /// Epochs to run now.
    pub epochs: usize,
    pub batch: usize,
    pub adam: AdamConfig,
    pub seed: u64,
    /// Epochs already done (when resuming): the shuffle continues where they left it and
    /// the epochs are numbered after them.
    pub first_epoch: usize,
    #[serde(skip)]
    pub objective: Objective,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 3,
            batch: 32,
            adam: AdamConfig::default(),
            seed: 0,
            first_epoch: 0,
            objective: Objective::Reconstruction,
        }
    }
}

/// What one epoch gave.
#[derive(Clone, Debug, serde::Serialize)]
pub struct EpochStats {
    pub epoch: usize,
    pub loss: f64,
    pub val_loss: f64,
    pub seconds: f64,
    pub samples_per_sec: f64,
}

/// Takes the losses of the samples trained since its last call.
pub type Progress<'p> = dyn FnMut(&[f32]) -> Result<()> + 'p;

/// What trains the model: `GpuTrainer` (the WGSL kernels) or `CpuTrainer` (their CPU twins),
/// built by `device::Device::trainer`.
pub trait Trainer {
    /// "gpu" or "cpu", as the report names it.
    fn name(&self) -> &'static str;
    /// One pass over the training samples listed in `order` (at most the training set's size),
    /// in batches; returns every listed sample's loss as it was before its batch's update,
    /// except that a step whose update made a parameter NaN or infinite has its first
    /// sample's loss set to NaN. `progress` gets every loss once, in order, now and then (every
    /// few hundred steps on the GPU); when it fails, the epoch stops with its error.
    fn train_epoch(&mut self, order: &[u32], progress: &mut Progress) -> Result<Vec<f32>>;
    /// Every validation sample's loss with the current parameters.
    fn validate(&mut self) -> Result<Vec<f32>>;
    /// The current parameters.
    fn params(&self) -> Result<Params>;
    /// With the clusters objective, the centres as they have learnt (k x d); empty otherwise.
    fn centres(&self) -> Result<Vec<f32>>;
    /// Adam's step count and moments.
    fn adam_state(&self) -> Result<AdamState>;
    /// Continues from a saved Adam state (shapes as the parameters').
    fn set_adam_state(&mut self, state: &AdamState) -> Result<()>;
    /// Device time of one training step per kernel family, in seconds, where the device can
    /// measure it (GPU timestamps); empty otherwise. Runs (and applies) one more step.
    fn kernel_times(&mut self) -> Result<Vec<(&'static str, f64)>> {
        Ok(Vec::new())
    }
}

pub use crate::optim::AdamState;

/// How much the validation loss fell in the last epoch, as a fraction of the epoch before,
/// when that is more than `STILL_FALLING`: training stopped while it was still learning fast.
pub fn still_falling(epochs: &[EpochStats]) -> Option<f64> {
    let [.., before, last] = epochs else {
        return None;
    };
    let drop = (before.val_loss - last.val_loss) / before.val_loss;
    (drop > STILL_FALLING).then_some(drop)
}

/// A last epoch that cut the validation loss by more than this is "still falling".
pub const STILL_FALLING: f64 = 0.05;

/// The per-epoch sample orders: a seeded shuffle, the same for every device.
pub struct Shuffle {
    rng: ChaCha8Rng,
    order: Vec<u32>,
}

impl Shuffle {
    pub fn new(count: usize, seed: u64) -> Self {
        Shuffle {
            // A stream of its own, so that the order does not depend on the initialisation.
            rng: ChaCha8Rng::seed_from_u64(seed ^ 0x5348_5546_464c_4521),
            order: (0..count as u32).collect(),
        }
    }

    pub fn next_epoch(&mut self) -> &[u32] {
        self.order.shuffle(&mut self.rng);
        &self.order
    }
}

fn mean(values: &[f32]) -> f64 {
    values.iter().map(|&v| f64::from(v)).sum::<f64>() / values.len().max(1) as f64
}

/// What `fit` reports while an epoch runs.
#[derive(Clone, Copy, Debug)]
pub struct EpochProgress {
    pub epoch: usize,
    pub samples: usize,
    pub total: usize,
    /// Mean loss of the epoch's samples so far.
    pub running_loss: f64,
    pub seconds: f64,
}

/// Trains for `config.epochs` epochs, calling `on_progress` during each and `on_epoch` after
/// each (with the trainer, to save a checkpoint); stops with an error naming the epoch and step
/// when a loss or a weight is not finite, or with the error of a callback.
pub fn fit(
    trainer: &mut dyn Trainer,
    config: &TrainConfig,
    train_count: usize,
    mut on_progress: impl FnMut(&EpochProgress) -> Result<()>,
    mut on_epoch: impl FnMut(&EpochStats, &dyn Trainer) -> Result<()>,
) -> Result<Vec<EpochStats>> {
    let mut shuffle = Shuffle::new(train_count, config.seed);
    for _ in 0..config.first_epoch {
        shuffle.next_epoch();
    }
    let mut history = Vec::new();
    for epoch in config.first_epoch + 1..=config.first_epoch + config.epochs {
        let order = shuffle.next_epoch();
        let start = Instant::now();
        let (mut samples, mut sum) = (0usize, 0.0f64);
        let mut report = |part: &[f32]| {
            if let Some(bad) = part.iter().position(|l| !l.is_finite()) {
                bail!(
                    "training diverged at epoch {epoch}, step {}: the loss or the weights \
                     became NaN or infinite (try a smaller --lr)",
                    (samples + bad) / config.batch + 1
                );
            }
            samples += part.len();
            sum += part.iter().map(|&l| f64::from(l)).sum::<f64>();
            on_progress(&EpochProgress {
                epoch,
                samples,
                total: train_count,
                running_loss: sum / samples.max(1) as f64,
                seconds: start.elapsed().as_secs_f64(),
            })
        };
        let losses = trainer.train_epoch(order, &mut report)?;
        let seconds = start.elapsed().as_secs_f64();
        let val_losses = trainer.validate()?;
        let stats = EpochStats {
            epoch,
            loss: mean(&losses),
            val_loss: mean(&val_losses),
            seconds,
            samples_per_sec: train_count as f64 / seconds,
        };
        if !stats.val_loss.is_finite() {
            bail!("validation loss is {} after epoch {epoch}", stats.val_loss);
        }
        on_epoch(&stats, trainer)?;
        history.push(stats);
    }
    Ok(history)
}
