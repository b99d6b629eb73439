//! The JSON reports the commands write.

use crate::gpu::AdapterSummary;
use crate::train::{EpochStats, TrainConfig};

/// What `aeclust train --report` writes.
#[derive(Debug, serde::Serialize)]
pub struct TrainReport {
    pub backend: String,
    pub adapter: AdapterSummary,
    pub matmul_kernel: String,
    pub layers: Vec<usize>,
    pub config: TrainConfig,
    pub train_samples: usize,
    pub val_samples: usize,
    pub epochs: Vec<EpochStats>,
    pub final_loss: f64,
    pub final_val_loss: f64,
}
