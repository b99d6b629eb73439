//! What the commands print while the pipeline runs: the training lines and progress bar,
//! each clustering run, and the library's information lines; and whether a signal asked to
//! stop.

use aeclust::cluster::ClusterRun;
use aeclust::pipeline::{Events, TrainStart};
use aeclust::train::{still_falling, EpochProgress, EpochStats};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::interrupt;

/// Prints to the terminal; `quiet` leaves out the progress bar and the epoch lines.
pub struct Console {
    quiet: bool,
    bar: Option<ProgressBar>,
    /// The number of the training run's last epoch, and how many epochs it trains.
    last_epoch: usize,
    epochs: usize,
    /// Every epoch trained so far.
    done: Vec<EpochStats>,
}

impl Console {
    pub fn new(quiet: bool) -> Self {
        // Drawn only when stderr is a terminal.
        let bar = (!quiet).then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{prefix} [{bar:30}] {pos}/{len} samples, {msg} ({eta} left)",
                )
                .expect("a valid template")
                .progress_chars("=> "),
            );
            bar
        });
        Console {
            quiet,
            bar,
            last_epoch: 0,
            epochs: 0,
            done: Vec::new(),
        }
    }
}

impl Events for Console {
    fn training_started(&mut self, start: &TrainStart) {
        let TrainStart {
            device,
            train,
            val,
            spec,
            last_epoch,
            epochs,
        } = start;
        self.last_epoch = *last_epoch;
        self.epochs = *epochs;
        let adapter = device.adapter();
        println!(
            "backend: {}, adapter: {} ({}, {}), matmul kernel: {}",
            device.backend_name(),
            adapter.name,
            adapter.api,
            adapter.device_type,
            device.matmul_kernel()
        );
        let activations: Vec<&str> = spec.activations.iter().map(|a| a.name()).collect();
        println!(
            "data: {} train, {} validation images of {}; model {:?} ({}; {}), {} parameters",
            train.count,
            val.count,
            train.shape(),
            spec.widths,
            activations.join(","),
            spec.loss.name(),
            spec.parameter_count()
        );
    }

    fn training_loop(&mut self, running: bool) {
        interrupt::set_stoppable(running);
        if running {
            return;
        }
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        if let Some(drop) = still_falling(&self.done) {
            eprintln!(
                "notice: the validation loss fell {:.0}% in the last epoch and is still falling; \
                 more --epochs would likely give better codes",
                drop * 100.0
            );
        }
    }

    fn progress(&mut self, p: &EpochProgress) {
        if let Some(bar) = &self.bar {
            // The bar covers the whole training, so its time left is the run's.
            let before = (p.epoch + self.epochs).saturating_sub(self.last_epoch + 1);
            bar.set_length((self.epochs * p.total) as u64);
            bar.set_prefix(format!("epoch {}/{}", p.epoch, self.last_epoch));
            bar.set_position((before * p.total + p.samples) as u64);
            bar.set_message(format!(
                "loss {:.4}, {:.0} samples/s",
                p.running_loss,
                p.samples as f64 / p.seconds.max(1e-9)
            ));
        }
    }

    fn epoch_done(&mut self, e: &EpochStats) {
        self.done.push(e.clone());
        if !self.quiet {
            let print = || {
                println!(
                    "epoch {}/{}: loss {:.4}, val_loss {:.4}, {:.1} s, {:.0} samples/s",
                    e.epoch, self.last_epoch, e.loss, e.val_loss, e.seconds, e.samples_per_sec
                )
            };
            // Printed above the bar, which goes on.
            match &self.bar {
                Some(bar) => bar.suspend(print),
                None => print(),
            }
        }
    }

    fn stop_requested(&self) -> bool {
        interrupt::requested()
    }

    fn clustered(&mut self, run: &ClusterRun) {
        print_run(run);
    }

    fn info(&mut self, line: &str) {
        println!("{line}");
    }
}

/// One clustering run on one line: features, size, inertia, time, scores.
pub fn print_run(run: &ClusterRun) {
    let score = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.4}"));
    let embedding = run
        .embedding
        .as_ref()
        .map_or(String::new(), |e| format!("   (umap {:.2} s)", e.seconds));
    println!(
        "{:<11} {:>6} x {:<4} k {:<3} inertia {:<14.6e} {:>3} iterations {:>7.2} s   acc {}  nmi {}  ari {}{embedding}",
        run.features,
        run.samples,
        run.dims,
        run.k,
        run.inertia,
        run.iterations,
        run.seconds,
        score(run.acc),
        score(run.nmi),
        score(run.ari)
    );
}
