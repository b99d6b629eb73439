//! Every setting checked against the data before any work: what is knowable from the data's
//! survey (counts, image shape, classes), the flags and the model file is checked here, so a
//! run never fails after training for a reason it could have named at its start.

use std::path::Path;

use anyhow::{Context, Result};

use super::clustering::ClusterPlan;
use crate::data::{Split, Survey};
use crate::model::{ModelSpec, Params};
use crate::model_file::{self, TrainingState};
use crate::recipe::RecipeSettings;
use crate::train::TrainConfig;

/// A training that can run: the model to train (new, or a file's to resume) on data it fits.
pub struct TrainPlan {
    pub spec: ModelSpec,
    pub config: TrainConfig,
    /// The weights and training state of a model file to resume.
    pub resumed: Option<(Params, TrainingState)>,
}

/// Checks `settings` (and the model file at `resume`, when resuming) against the data of
/// `survey`.
pub fn plan_training(
    survey: &Survey,
    settings: &RecipeSettings,
    resume: Option<&Path>,
) -> Result<TrainPlan> {
    let mut config = settings.config()?;
    let samples = survey.count(Split::Train)?;
    let samples = settings.limit.map_or(samples, |n| n.min(samples));
    survey.count(Split::Test)?;
    let Some(path) = resume else {
        let spec = settings.model(survey.shape)?;
        return Ok(TrainPlan {
            spec,
            config,
            resumed: None,
        });
    };
    let (spec, params, state) = model_file::load(path)?;
    let shown = path.display();
    let state = state.with_context(|| {
        format!("{shown} has no optimizer state to resume from (save it with --model-out)")
    })?;
    spec.check_data(survey.shape)
        .with_context(|| format!("{shown} does not fit {}", survey.path.display()))?;
    settings.check_resume(&spec, &state, &shown.to_string(), samples)?;
    config.first_epoch = state.epochs;
    config.seed = state.seed;
    Ok(TrainPlan {
        spec,
        config,
        resumed: Some((params, state)),
    })
}

/// Checks that `plan` can cluster the `split` of `survey` encoded by `spec`.
pub fn check_clustering(
    survey: &Survey,
    split: Split,
    spec: &ModelSpec,
    plan: &ClusterPlan,
) -> Result<usize> {
    let points = survey.count(split)?;
    plan.check_points(points, spec.code_width(), survey.shape.size())?;
    plan.check_fine_tune(points, spec.code_width(), Some(survey.shape))?;
    Ok(points)
}
