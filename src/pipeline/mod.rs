//! The post's pipeline as a library: train -> encode -> embed -> cluster -> pictures, each
//! stage on the device the caller opened. The binary's commands are thin layers over these
//! functions: they turn flags into settings, print the `Events`, and handle signals.

mod clustering;
mod fine_tune;
mod plan;
mod run;
mod training;

pub use crate::cluster::Features;
pub use clustering::{
    assignments_csv, cluster_and_write, write_html, ClusterOutputs, ClusterPlan, Clustering,
};
pub use fine_tune::{fine_tune, FineTunePlan, FineTuned};
pub use plan::{check_clustering, plan_training, TrainPlan};
pub use run::{Pipeline, PipelineResult, RunPlan};
pub use training::{train_model, ModelOutputs, Trained};

use crate::cluster::ClusterRun;
use crate::data::Dataset;
use crate::device::Device;
use crate::model::ModelSpec;
use crate::train::{EpochProgress, EpochStats};

/// What a training run is about to do.
pub struct TrainStart<'a> {
    pub device: &'a Device,
    pub train: &'a Dataset,
    pub val: &'a Dataset,
    pub spec: &'a ModelSpec,
    /// The number of the last epoch to run (epochs continue a resumed model's count).
    pub last_epoch: usize,
    /// How many epochs this run trains.
    pub epochs: usize,
}

/// What the pipeline tells its caller as it goes (each has a default that ignores it).
pub trait Events {
    /// Training is about to start.
    fn training_started(&mut self, _start: &TrainStart) {}
    /// The training loop starts (true) or ends (false): while it runs, `stop_requested` is
    /// asked now and then.
    fn training_loop(&mut self, _running: bool) {}
    /// Progress within an epoch, every few hundred steps.
    fn progress(&mut self, _progress: &EpochProgress) {}
    /// An epoch is done.
    fn epoch_done(&mut self, _stats: &EpochStats) {}
    /// Asked at every progress report and after every epoch: true stops training, with an
    /// error that names the last checkpoint.
    fn stop_requested(&self) -> bool {
        false
    }
    /// One clustering run is done.
    fn clustered(&mut self, _run: &ClusterRun) {}
    /// A line worth showing a user: a file written, a table.
    fn info(&mut self, _line: &str) {}
}

/// Events that nobody listens to.
pub struct Silent;

impl Events for Silent {}
