//! The JSON reports the commands write.

use crate::cluster::{ClusterRun, KmeansConfig};
use crate::gpu::AdapterSummary;
use crate::model::{Activation, Loss};
use crate::train::{EpochStats, TrainConfig};

/// What `aeclust train --report` writes.
#[derive(Clone, Debug, serde::Serialize)]
pub struct TrainReport {
    pub backend: String,
    pub adapter: AdapterSummary,
    pub matmul_kernel: String,
    pub layers: Vec<usize>,
    pub activations: Vec<Activation>,
    pub loss: Loss,
    pub config: TrainConfig,
    pub train_samples: usize,
    pub val_samples: usize,
    pub epochs: Vec<EpochStats>,
    pub final_loss: f64,
    pub final_val_loss: f64,
}

/// What `aeclust cluster --report` writes.
#[derive(Debug, serde::Serialize)]
pub struct ClusterReport {
    pub kmeans: KmeansConfig,
    pub runs: Vec<ClusterRun>,
}

mod clusters;
pub mod csv;
mod html;
mod images;
mod labelled;
mod map;
mod palette;
mod plots;
mod summary;

pub use clusters::{
    cluster_picture_name, cluster_pictures, cluster_sheet, contingency_table,
    stale_cluster_pictures,
};
pub use html::{suggested_names, HtmlReport};
pub use labelled::labelled;
pub use map::map_plot;
pub use plots::loss_plot;
pub use summary::RunReport;

pub use images::{image_grid, reconstruction_sheet, write_png, ImageShape, Picture};
