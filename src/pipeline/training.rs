//! Training a model from a recipe's settings (or resuming a saved one) on a data source, with
//! checkpoints, reporting to `Events`.

use std::cell::Cell;
use std::path::Path;

use anyhow::{bail, Context, Result};

use super::{Events, TrainStart};
use crate::data::Source;
use crate::device::Device;
use crate::model::{ModelSpec, Params};
use crate::model_file::{self, TrainingState};
use crate::recipe::RecipeSettings;
use crate::report::TrainReport;
use crate::train::{fit, Trainer};

/// A trained model and the report of its training.
pub struct Trained {
    pub spec: ModelSpec,
    pub params: Params,
    /// (epoch as a fraction, running training loss) as the epochs went.
    pub curve: Vec<(f64, f64)>,
    pub report: TrainReport,
}

/// Trains on `source`'s training part (validating on its held-out part) on `device`: a new
/// model from `settings`, or the model saved at `resume` continued from its training state
/// (the flags of `settings` must agree with it). Saves the model to `output` at the end and
/// every `settings.checkpoint_every` epochs. Stops with the last checkpoint named when
/// `events` asks.
pub fn train_model(
    device: &Device,
    source: &Source,
    settings: &RecipeSettings,
    resume: Option<&Path>,
    output: Option<&Path>,
    events: &mut dyn Events,
) -> Result<Trained> {
    let mut config = settings.config()?;
    let resumed = resume.map(model_file::load).transpose()?;
    let (mut train_set, val_set) = source.train_and_test()?;
    if let Some(n) = settings.limit {
        train_set = train_set.truncated(n);
    }
    let (spec, init, adam) = match resumed {
        None => {
            let spec = settings.model(train_set.image_size())?;
            let init = Params::glorot(&spec, config.seed);
            (spec, init, None)
        }
        Some((spec, params, state)) => {
            let path = resume.expect("resumed from a path").display();
            let state = state.with_context(|| {
                format!("{path} has no optimizer state to resume from (save it with --model-out)")
            })?;
            spec.check(train_set.image_size())?;
            settings.check_resume(&spec, &state, &path.to_string(), train_set.count)?;
            config.first_epoch = state.epochs;
            config.seed = state.seed;
            (spec, params, Some(state.adam))
        }
    };
    let last_epoch = config.first_epoch + config.epochs;
    events.training_started(&TrainStart {
        device,
        train: &train_set,
        val: &val_set,
        spec: &spec,
        last_epoch,
    });
    let mut trainer = device.trainer(&spec, &init, &train_set, &val_set, &config)?;
    if let Some(adam) = &adam {
        trainer.set_adam_state(adam)?;
    }
    let mut curve = Vec::new();
    // Saves the model with everything needed to resume it after `epochs` epochs.
    let saved = Cell::new(None);
    let checkpoint = |trainer: &dyn Trainer, epochs: usize| -> Result<()> {
        let Some(path) = output else { return Ok(()) };
        let state = TrainingState {
            adam: trainer.adam_state()?,
            epochs,
            seed: config.seed,
        };
        model_file::save(path, &spec, &trainer.params()?, Some(&state))?;
        saved.set(Some(epochs));
        Ok(())
    };
    let stop_if_asked = |events: &dyn Events| -> Result<()> {
        if !events.stop_requested() {
            return Ok(());
        }
        match (output, saved.get()) {
            (Some(path), Some(epochs)) => bail!(
                "interrupted; {0} holds the model after epoch {epochs} (continue with --model {0})",
                path.display()
            ),
            _ => bail!("interrupted before a checkpoint was saved"),
        }
    };
    events.training_loop(true);
    let events = std::cell::RefCell::new(events);
    let epochs = fit(
        trainer.as_mut(),
        &config,
        train_set.count,
        |p| {
            let at = (p.epoch - 1) as f64 + p.samples as f64 / p.total as f64;
            curve.push((at, p.running_loss));
            let mut events = events.borrow_mut();
            events.progress(p);
            stop_if_asked(&**events)
        },
        |e, trainer| {
            let mut events = events.borrow_mut();
            events.epoch_done(e);
            let every = settings.checkpoint_every.filter(|_| output.is_some());
            if every.is_some_and(|n| e.epoch % n == 0 && e.epoch < last_epoch) {
                checkpoint(trainer, e.epoch)?;
            }
            stop_if_asked(&**events)
        },
    );
    events.into_inner().training_loop(false);
    let epochs = epochs?;
    let params = trainer.params()?;
    checkpoint(trainer.as_ref(), last_epoch)?;
    let last = epochs.last().expect("at least one epoch");
    let report = TrainReport {
        backend: device.backend_name().into(),
        adapter: device.adapter(),
        matmul_kernel: device.matmul_kernel().into(),
        layers: spec.widths.clone(),
        activations: spec.activations.clone(),
        loss: spec.loss,
        train_samples: train_set.count,
        val_samples: val_set.count,
        final_loss: last.loss,
        final_val_loss: last.val_loss,
        config,
        epochs,
    };
    Ok(Trained {
        spec,
        params,
        curve,
        report,
    })
}
