//! Every stage on the GPU against its CPU implementation, through the device seam: the
//! trainers (same seed, init and batch order), the encoders, k-means (bit for bit) and UMAP's
//! steps. The trainers sum in different orders, so they agree to a tolerance: on lavapipe the
//! worst differences seen were 1.2e-7 (per-sample loss) and 5.5e-7 (weights) after 300
//! steps; the bounds below leave a 20x-40x margin.

mod common;

use std::path::Path;

use aeclust::cluster::{Init, KmeansConfig};
use aeclust::data::{load_dir, Split};
use aeclust::device::Device;
use aeclust::embed::{layout_problem, CpuUmapSteps, GpuUmapSteps, UmapSteps};
use aeclust::encode::{CpuEncoder, Encoder, GpuEncoder};
use aeclust::model::{ModelSpec, Params};
use aeclust::reference::umap_graph::memberships;
use aeclust::reference::umap_knn::knn;
use aeclust::reference::umap_layout::Curve;
use aeclust::train::{CpuTrainer, GpuTrainer, Shuffle, TrainConfig, Trainer};
use common::{assert_close, for_each_gpu, random_knn_graph, rng, uniform};

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn gpu_and_cpu_trainers_agree_over_300_steps() {
    for_each_gpu(|g| {
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
        let mut gpu =
            GpuTrainer::new(&g.ctx, &g.kernels, &spec, &init, &train, &val, &config).unwrap();
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
    });
}

#[test]
fn gpu_and_cpu_reconstructions_agree() {
    let data = load_dir(Path::new("data/mnist"), Split::Test)
        .unwrap()
        .truncated(40);
    let spec = ModelSpec::blog();
    let params = Params::glorot(&spec, 6);
    let c = CpuEncoder.reconstruct(&spec, &params, &data).unwrap();
    for_each_gpu(|gpu| {
        let g = GpuEncoder(gpu).reconstruct(&spec, &params, &data).unwrap();
        assert_eq!(g.len(), 40 * 784);
        common::assert_close("reconstructions", &g, &c, 1e-6, 1e-5);
    });
    assert!(
        c.iter().all(|&v| (0.0..=1.0).contains(&v)),
        "sigmoid outputs"
    );
}

#[test]
fn gpu_and_cpu_encoders_agree() {
    let data = load_dir(Path::new("data/mnist"), Split::Test)
        .unwrap()
        .truncated(1500);
    let spec = ModelSpec::blog();
    let params = Params::glorot(&spec, 2);
    let c = CpuEncoder.encode(&spec, &params, &data).unwrap();
    for_each_gpu(|gpu| {
        let g = GpuEncoder(gpu).encode(&spec, &params, &data).unwrap();
        assert_eq!(g.len(), 1500 * 32);
        common::assert_close("codes", &g, &c, 1e-5, 1e-5);
    });
    assert!(c.iter().all(|&v| v >= 0.0), "ReLU codes are never negative");
    assert!(c.iter().any(|&v| v > 0.0));
}

#[test]
fn gpu_kmeans_matches_the_cpu_twin_exactly() {
    for (n, d, k, init) in [
        (1001, 7, 5, Init::KmeansPlusPlus),
        (300, 785, 3, Init::Random),
        (31, 1, 4, Init::KmeansPlusPlus),
        (600, 32, 10, Init::Random),
    ] {
        let points = common::blobs(n, d, k, n as u64);
        let config = KmeansConfig {
            k,
            init,
            n_init: 2,
            seed: 3,
            ..KmeansConfig::default()
        };
        common::assert_kmeans_twins_agree(&points, n, d, &config, 1e-6);
    }
}

#[test]
fn every_restart_of_a_batch_matches_the_cpu_however_early_it_stops() {
    // Restarts that converge at once, late, or not before the limit run in one batch; those
    // done leave the dispatches while the others go on, and each must end as on the CPU,
    // distances included (lavapipe splits fma: the kernels must not use it). GL's compiler
    // rearranges float arithmetic (GLSL without `precise`), so there the distances match
    // to rounding.
    let (n, d, k) = (700, 6, 4);
    let points = common::blobs(n, d, k, 12);
    let mut rng = rng(13);
    let inits: Vec<Vec<f32>> = (0..9)
        .map(|r| match r % 3 {
            // The first k points: one per blob, so close to converged.
            0 => points[..k * d].to_vec(),
            // All centroids in one corner: many iterations.
            1 => uniform(&mut rng, k * d, -0.01, 0.01),
            _ => uniform(&mut rng, k * d, -3.0, 3.0),
        })
        .collect();
    let cpu = Device::Cpu
        .kmeans_engine(&points, n, d, k)
        .unwrap()
        .lloyd(&inits, 12, 1e-6)
        .unwrap();
    let iterations: Vec<usize> = cpu.iter().map(|r| r.iterations).collect();
    assert!(
        iterations.iter().any(|&i| i < 4) && iterations.contains(&12),
        "{iterations:?}"
    );
    common::devices::for_each_gpu_device(|device| {
        let gpu = device
            .kmeans_engine(&points, n, d, k)
            .unwrap()
            .lloyd(&inits, 12, 1e-6)
            .unwrap();
        for (r, (g, c)) in gpu.iter().zip(&cpu).enumerate() {
            let what = format!("{}: restart {r}", common::devices::name(device));
            assert_eq!(g.iterations, c.iterations, "{what}: iterations");
            assert_eq!(g.labels, c.labels, "{what}: labels");
            assert_eq!(g.centroids, c.centroids, "{what}: centroids");
            if device.adapter().api == "gl" {
                assert_close(&what, &g.distances, &c.distances, 1e-6, 1e-6);
            } else {
                assert_eq!(g.distances, c.distances, "{what}: distances");
            }
        }
    });
}

#[test]
fn gpu_knn_and_memberships_match_the_cpu() {
    let mut rng = rng(8);
    let (n, d, k) = (300, 7, 9);
    let points = uniform(&mut rng, n * d, -1.0, 1.0);
    let want = knn(&points, n, d, k);
    let want_weights = memberships(&want.squared, k);
    // Bindings of at most 64 KiB, so that the kNN runs in several blocks.
    for gpu in common::devices::open_gpus(Some(64 << 10)) {
        let steps = GpuUmapSteps(&gpu);
        let got = steps.knn(&points, n, d, k).unwrap();
        assert_eq!(got.indices, want.indices);
        assert_close("kNN distances", &got.squared, &want.squared, 1e-5, 1e-5);
        let weights = steps.memberships(&want.squared, k).unwrap();
        assert_close("weights", &weights, &want_weights, 1e-4, 1e-4);
    }
}

#[test]
fn gpu_layout_epochs_match_the_cpu() {
    let mut rng = rng(9);
    let (n, d, k, dims) = (200, 5, 7, 3);
    let graph = random_knn_graph(&mut rng, n, d, k);
    let problem = layout_problem(&graph, Curve::fit(0.0), dims, 11);
    let initial = uniform(&mut rng, n * dims, 0.0, 10.0);
    for epochs in [1, 4] {
        let cpu = CpuUmapSteps.layout(&problem, &initial, epochs).unwrap();
        for_each_gpu(|gpu| {
            let got = GpuUmapSteps(gpu)
                .layout(&problem, &initial, epochs)
                .unwrap();
            assert_close(&format!("{epochs} epochs"), &got, &cpu, 1e-3, 1e-3);
        });
    }
}
