//! Training a model from a recipe's settings (or resuming a saved one) on a data source, with
//! checkpoints, reporting to `Events`.

use std::cell::Cell;
use std::path::Path;

use anyhow::{bail, Result};

use super::plan::TrainPlan;
use super::{Events, TrainStart};
use crate::data::Source;
use crate::device::Device;
use crate::model::{ModelSpec, Params};
use crate::model_file::{self, TrainingState};
use crate::recipe::RecipeSettings;
use crate::report::TrainReport;
use crate::train::{fit, Trainer};

/// Where a training saves its model.
#[derive(Clone, Copy, Default)]
pub struct ModelOutputs<'a> {
    /// The trained model, at the end.
    pub model: Option<&'a Path>,
    /// The model after every `checkpoint_every` epochs, to resume from if the run stops.
    pub checkpoints: Option<&'a Path>,
}

/// A trained model and the report of its training.
pub struct Trained {
    pub spec: ModelSpec,
    pub params: Params,
    /// (epoch as a fraction, running training loss) as the epochs went.
    pub curve: Vec<(f64, f64)>,
    pub report: TrainReport,
}

/// Trains on `source`'s training part (validating on its held-out part) on `device`, as
/// `plan` says (a new model from `settings`, or a saved one continued from its training
/// state). Saves the model as `output` says. Stops with the last checkpoint named when
/// `events` asks.
pub fn train_model(
    device: &Device,
    source: &Source,
    settings: &RecipeSettings,
    plan: TrainPlan,
    output: ModelOutputs,
    events: &mut dyn Events,
) -> Result<Trained> {
    let TrainPlan {
        spec,
        config,
        resumed,
    } = plan;
    let (train_set, val_set) = source.train_and_test(settings.limit)?;
    let (init, adam) = match resumed {
        None => (Params::glorot(&spec, config.seed), None),
        Some((params, state)) => (params, Some(state.adam)),
    };
    let last_epoch = config.first_epoch + config.epochs;
    events.training_started(&TrainStart {
        device,
        train: &train_set,
        val: &val_set,
        spec: &spec,
        last_epoch,
        epochs: config.epochs,
    });
    let mut trainer = device.trainer(&spec, &init, &train_set, &val_set, &config)?;
    if let Some(adam) = &adam {
        trainer.set_adam_state(adam)?;
    }
    let mut curve = Vec::new();
    // Saves the model with everything needed to resume it after `epochs` epochs.
    let saved = Cell::new(None);
    let save = |path: Option<&Path>, trainer: &dyn Trainer, epochs: usize| -> Result<()> {
        let Some(path) = path else { return Ok(()) };
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
        match (output.checkpoints, saved.get()) {
            (Some(path), Some(epochs)) => bail!(
                "interrupted; {0} holds the model after epoch {epochs} (continue it with \
                 aeclust train --model {0})",
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
            let every = settings.checkpoint_every;
            if every.is_some_and(|n| e.epoch % n == 0 && e.epoch < last_epoch) {
                save(output.checkpoints, trainer, e.epoch)?;
            }
            stop_if_asked(&**events)
        },
    );
    events.into_inner().training_loop(false);
    let epochs = epochs?;
    let params = trainer.params()?;
    save(output.model, trainer.as_ref(), last_epoch)?;
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
