//! Short training runs on every device: the loss falls, and the same seed gives the same run.

mod common;

use std::path::Path;

use aeclust::data::{load_dir, Dataset, Split};
use aeclust::model::{ModelSpec, Params};
use aeclust::train::{fit, CpuTrainer, GpuTrainer, TrainConfig, Trainer};
use common::{for_each_device, for_each_gpu};

fn mnist(samples: usize, val: usize) -> (Dataset, Dataset) {
    let dir = Path::new("data/mnist");
    (
        load_dir(dir, Split::Train).unwrap().truncated(samples),
        load_dir(dir, Split::Test).unwrap().truncated(val),
    )
}

#[test]
fn loss_falls_on_a_few_hundred_mnist_images() {
    for_each_device(|device| {
        let (train, val) = mnist(500, 300);
        let spec = ModelSpec::blog();
        let config = TrainConfig {
            epochs: 4,
            ..TrainConfig::default()
        };
        let init = Params::glorot(&spec, 0);
        let mut trainer = device.trainer(&spec, &init, &train, &val, &config).unwrap();
        let before: f64 = trainer
            .validate()
            .unwrap()
            .iter()
            .map(|&l| f64::from(l))
            .sum::<f64>()
            / 300.0;
        let mut seen = Vec::new();
        let history = fit(
            trainer.as_mut(),
            &config,
            train.count,
            |p| {
                seen.push((p.epoch, p.samples));
                Ok(())
            },
            |_, _| Ok(()),
        )
        .unwrap();
        for epoch in 1..=4 {
            let last = seen
                .iter()
                .filter(|(e, _)| *e == epoch)
                .map(|(_, s)| *s)
                .max();
            assert_eq!(
                last,
                Some(500),
                "progress of epoch {epoch} did not reach every sample"
            );
        }
        let losses: Vec<f64> = history.iter().map(|e| e.loss).collect();
        assert!(
            losses.windows(2).all(|w| w[1] < w[0]),
            "training loss did not fall: {losses:?}"
        );
        let after = history.last().unwrap().val_loss;
        assert!(after < 0.6 * before, "val_loss {before} -> {after}");
        // The trained parameters differ from the initial ones and are finite.
        let params = trainer.params().unwrap();
        assert_ne!(params, init);
        assert!(params.weights.iter().flatten().all(|w| w.is_finite()));
    });
}

#[test]
fn same_seed_gives_identical_runs_and_partial_batches_work() {
    for_each_device(|device| {
        // 100 samples in batches of 48: the last batch has 4 rows.
        let (train, val) = mnist(100, 50);
        let spec = ModelSpec::parse("784,64,16,64,784", 784).unwrap();
        let config = TrainConfig {
            epochs: 2,
            batch: 48,
            seed: 3,
            ..TrainConfig::default()
        };
        let run = || {
            let init = Params::glorot(&spec, config.seed);
            let mut trainer = device.trainer(&spec, &init, &train, &val, &config).unwrap();
            let history = fit(
                trainer.as_mut(),
                &config,
                train.count,
                |_| Ok(()),
                |_, _| Ok(()),
            )
            .unwrap();
            let losses: Vec<(f64, f64)> = history.iter().map(|e| (e.loss, e.val_loss)).collect();
            (losses, trainer.params().unwrap())
        };
        let (first, params_a) = run();
        let (second, params_b) = run();
        assert_eq!(first, second);
        assert_eq!(params_a, params_b);
        assert!(first.iter().all(|(l, v)| l.is_finite() && v.is_finite()));
    });
}

#[test]
fn progress_arrives_every_few_hundred_steps_and_matches_the_epoch() {
    for_each_gpu(|gpu| {
        let (ctx, kernels) = (&gpu.ctx, &gpu.kernels);
        // 300 steps of one sample: two submits of the GPU trainer, so two progress calls.
        let (train, val) = mnist(300, 10);
        let spec = ModelSpec::parse("784,16,4,16,784", 784).unwrap();
        let config = TrainConfig {
            batch: 1,
            ..TrainConfig::default()
        };
        let init = Params::glorot(&spec, 1);
        let mut trainer =
            GpuTrainer::new(ctx, kernels, &spec, &init, &train, &val, &config).unwrap();
        let order: Vec<u32> = (0..300).rev().collect();
        let mut parts: Vec<Vec<f32>> = Vec::new();
        let losses = trainer
            .train_epoch(&order, &mut |p| {
                parts.push(p.to_vec());
                Ok(())
            })
            .unwrap();
        assert_eq!(parts.iter().map(Vec::len).collect::<Vec<_>>(), [256, 44]);
        assert_eq!(parts.concat(), losses);
        let mut cpu = CpuTrainer::new(&spec, &init, &train, &val, &config).unwrap();
        let cpu_losses = cpu.train_epoch(&order, &mut |_| Ok(())).unwrap();
        common::assert_close("per-sample losses", &losses, &cpu_losses, 2e-5, 1e-4);
    });
}
