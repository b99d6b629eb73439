//! The GPU trainer and the CPU reference trainer: same seed, same init, same batch order,
//! a few hundred Adam steps. They sum in different orders, so they agree to a tolerance:
//! on lavapipe the worst differences seen were 1.2e-7 (per-sample loss) and 5.5e-7 (weights)
//! after 300 steps; the bounds below leave a 20x-40x margin.

mod common;

use std::path::Path;

use aeclust::data::{load_dir, Split};
use aeclust::gpu::kernels::Kernels;
use aeclust::model::{ModelSpec, Params};
use aeclust::train::{Backend, CpuTrainer, GpuTrainer, Shuffle, TrainConfig};

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn gpu_and_cpu_trainers_agree_over_300_steps() {
    let ctx = common::gpu();
    let kernels = Kernels::new(&ctx).unwrap();
    let dir = Path::new("data/mnist");
    // 3 epochs of 100 steps at batch 32; 3 190 samples make the last batch partial.
    let train = load_dir(dir, Split::Train).unwrap().truncated(3190);
    let val = load_dir(dir, Split::Test).unwrap().truncated(2000);
    let spec = ModelSpec::blog();
    let config = TrainConfig {
        seed: 5,
        ..TrainConfig::default()
    };
    let init = Params::glorot(&spec, config.seed);
    let mut gpu = GpuTrainer::new(&ctx, &kernels, &spec, &init, &train, &val, &config).unwrap();
    let mut cpu = CpuTrainer::new(&spec, &init, &train, &val, &config).unwrap();

    let mut shuffle = Shuffle::new(train.count, config.seed);
    let mut worst_loss = 0.0f32;
    for epoch in 0..3 {
        let order = shuffle.next_epoch().to_vec();
        let g = gpu.train_epoch(&order, &mut |_| Ok(())).unwrap();
        let c = cpu.train_epoch(&order, &mut |_| Ok(())).unwrap();
        worst_loss = worst_loss.max(max_abs_diff(&g, &c));
        // Per-step means, the figure a user sees, agree more tightly than single samples.
        for (s, (gs, cs)) in g.chunks(32).zip(c.chunks(32)).enumerate() {
            let mean = |x: &[f32]| x.iter().sum::<f32>() / x.len() as f32;
            let (gm, cm) = (mean(gs), mean(cs));
            assert!(
                (gm - cm).abs() <= 2e-5 * cm,
                "epoch {epoch} step {s}: GPU loss {gm}, CPU loss {cm}"
            );
        }
    }
    // Every sample's loss, over all 300 steps.
    assert!(
        worst_loss <= 2e-5,
        "per-sample losses differ by up to {worst_loss}"
    );

    let (gp, cp) = (gpu.params().unwrap(), cpu.params().unwrap());
    for (l, (gw, cw)) in gp.weights.iter().zip(&cp.weights).enumerate() {
        let d = max_abs_diff(gw, cw);
        assert!(d <= 2e-5, "layer {l} weights differ by up to {d}");
    }
    for (l, (gb, cb)) in gp.biases.iter().zip(&cp.biases).enumerate() {
        let d = max_abs_diff(gb, cb);
        assert!(d <= 2e-5, "layer {l} biases differ by up to {d}");
    }
    let d = max_abs_diff(&gpu.validate().unwrap(), &cpu.validate().unwrap());
    assert!(d <= 2e-5, "validation losses differ by up to {d}");
}
