//! DEC fine-tuning: its kernels (shaders/dec*.wgsl) against their twins on awkward shapes and
//! at the edges of their domain, a hand-computed loss, and the two trainers with the clusters
//! objective against each other.

mod common;

use std::path::Path;

use aeclust::data::{load_dir, Split};
use aeclust::domain::{
    check_dec, check_moved_image, dec_loop_cost, DEC_MAX_K, LOOP_BUDGET, MAX_IMAGE_MOVE,
    MAX_MOVED_SIDE,
};
use aeclust::gpu::buffers::{pad_matrix, padded, read_f32, storage, storage_init};
use aeclust::gpu::kernels::{run, DecDims, DecLossBuffers, Kernels, StepParams, StepTable};
use aeclust::gpu::GpuContext;
use aeclust::model::{ModelSpec, Params};
use aeclust::reference::dec::{centre_grad, cluster_mass, dec_loss, soft_assign, DecTargets};
use aeclust::train::{
    ClusterObjective, CpuTrainer, GpuTrainer, Objective, Shuffle, TrainConfig, Trainer,
};
use common::{assert_close, for_each_gpu, one_step, rng, uniform};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Every sample's soft assignments, drawn, and their masses.
fn random_targets(rng: &mut ChaCha8Rng, n: usize, k: usize) -> (Vec<f32>, Vec<f32>) {
    let mut soft = uniform(rng, n * k, 0.0, 1.0);
    for row in soft.chunks_mut(k) {
        let sum: f32 = row.iter().sum();
        row.iter_mut().for_each(|s| *s /= sum);
    }
    let mass = cluster_mass(&soft, k);
    (soft, mass)
}

/// Runs `dec_loss` on a batch with `inputs` (codes, centres, soft assignments, masses) and the
/// sample `order`, into a gradient and coefficients filled with NaN first and `losses` losses;
/// returns those three buffers.
fn run_dec_loss(
    (ctx, kernels): (&GpuContext, &Kernels),
    (steps, dims): (&StepTable, DecDims),
    [codes, centres, soft, mass]: [&wgpu::Buffer; 4],
    order: &[u32],
    losses: usize,
) -> (wgpu::Buffer, wgpu::Buffer, wgpu::Buffer) {
    let nan = |n: usize| vec![f32::NAN; n];
    let grad = storage_init(ctx, "grad", &nan(dims.rows_pad * padded(dims.d))).unwrap();
    let coefficients = storage_init(ctx, "coefficients", &nan(dims.rows_pad * dims.k)).unwrap();
    let loss_buf = storage(ctx, "losses", losses).unwrap();
    let order = storage_init(ctx, "order", order).unwrap();
    let buffers = DecLossBuffers {
        codes,
        centres,
        soft,
        mass,
        order: &order,
        grad: &grad,
        losses: &loss_buf,
        coefficients: &coefficients,
    };
    let loss = kernels.dec.loss(ctx, steps, dims, buffers);
    run(ctx, &[&loss], steps.offset(0)).unwrap();
    (grad, loss_buf, coefficients)
}

/// A batch of `rows` codes of `d` values (padded to `rows_pad` rows, garbage past the valid
/// ones) against `k` centres, the samples drawn from `n`: the GPU's soft assignments, masses,
/// losses and gradient against the twins'.
fn check_dec_kernels(
    ctx: &GpuContext,
    kernels: &Kernels,
    (rows, d, k, n): (usize, usize, usize, usize),
    rng: &mut ChaCha8Rng,
) {
    let rows_pad = padded(rows);
    let stride = padded(d);
    let codes = uniform(rng, rows * d, -2.0, 2.0);
    let centres = uniform(rng, k * d, -2.0, 2.0);
    let (soft, _) = random_targets(rng, n, k);
    let order: Vec<u32> = (0..rows).map(|_| rng.random_range(0..n as u32)).collect();
    let offset = n - rows.min(n);
    let steps = one_step(
        ctx,
        StepParams {
            first: 0,
            rows: rows as u32,
            loss_offset: offset as u32,
            lr_t: 0.0,
        },
    );
    let mut codes_pad = pad_matrix(&codes, rows, d);
    codes_pad.resize(rows_pad * stride, 7.0);
    let codes_buf = storage_init(ctx, "codes", &codes_pad).unwrap();
    let centres_buf = storage_init(ctx, "centres", &centres).unwrap();
    // The batch's assignments land in the last rows of the soft assignments.
    let soft_buf = storage_init(ctx, "soft", &soft).unwrap();
    let dims = DecDims { k, d, rows_pad };
    let assign = kernels
        .dec
        .soft_assign(ctx, &steps, dims, (&codes_buf, &centres_buf, &soft_buf));
    run(ctx, &[&assign], steps.offset(0)).unwrap();
    let got_soft = read_f32(ctx, &soft_buf, 0, n * k).unwrap();
    let mut want_soft = soft.clone();
    if rows <= n {
        want_soft[offset * k..].copy_from_slice(&soft_assign(&codes, &centres, k, d));
    }
    assert_close("soft assignments", &got_soft, &want_soft, 1e-7, 1e-5);

    let mass_buf = storage(ctx, "mass", k).unwrap();
    let mass = kernels.dec.cluster_mass(ctx, (&soft_buf, &mass_buf), n, k);
    run(ctx, &[&mass], 0).unwrap();
    let want_mass = cluster_mass(&got_soft, k);
    let got_mass = read_f32(ctx, &mass_buf, 0, k).unwrap();
    assert_close("masses", &got_mass, &want_mass, 0.0, 1e-6);

    let inputs = [&codes_buf, &centres_buf, &soft_buf, &mass_buf];
    let (grad_buf, loss_buf, coefficients_buf) =
        run_dec_loss((ctx, kernels), (&steps, dims), inputs, &order, n + 1);
    let centre_grads_buf = storage(ctx, "centre grads", k * d).unwrap();
    let centres_step = kernels.dec.centre_grad(
        ctx,
        &steps,
        dims,
        (&codes_buf, &centres_buf),
        (&coefficients_buf, &centre_grads_buf),
    );
    run(ctx, &[&centres_step], steps.offset(0)).unwrap();
    let targets = DecTargets {
        soft: &got_soft,
        mass: &got_mass,
        centres: &centres,
    };
    let mut want_grad = vec![0.0; rows * d];
    let mut want_coefficients = vec![0.0; rows * k];
    let outputs = (&mut want_grad[..], &mut want_coefficients[..]);
    let want_losses = dec_loss(&codes, &order, targets, rows, outputs);
    let mut coefficients_pad = want_coefficients.clone();
    coefficients_pad.resize(rows_pad * k, 0.0);
    let got_coefficients = read_f32(ctx, &coefficients_buf, 0, rows_pad * k).unwrap();
    let what = format!("rows {rows} d {d} k {k} n {n}");
    assert_close(
        &format!("{what}: coefficients"),
        &got_coefficients,
        &coefficients_pad,
        1e-7,
        1e-4,
    );
    // The centres' gradient from the GPU's coefficients, so that only its sums differ.
    let want_centre_grads = centre_grad(&codes, &got_coefficients[..rows * k], &centres, k);
    let got_centre_grads = read_f32(ctx, &centre_grads_buf, 0, k * d).unwrap();
    assert_close(
        &format!("{what}: centre gradient"),
        &got_centre_grads,
        &want_centre_grads,
        1e-7,
        1e-4,
    );
    let mut want_grad_pad = pad_matrix(&want_grad, rows, d);
    want_grad_pad.resize(rows_pad * stride, 0.0);
    let got_grad = read_f32(ctx, &grad_buf, 0, rows_pad * stride).unwrap();
    assert_close(
        &format!("{what}: gradient"),
        &got_grad,
        &want_grad_pad,
        1e-7,
        1e-4,
    );
    let got_losses = read_f32(ctx, &loss_buf, 0, n + 1).unwrap();
    let at = offset..offset + rows;
    assert_close(
        &format!("{what}: losses"),
        &got_losses[at],
        &want_losses,
        1e-6,
        1e-4,
    );
    assert_eq!(got_losses[n], 0.0, "{what}: a loss written past the batch");
}

#[test]
fn dec_kernels_match_their_twins() {
    for_each_gpu(|gpu| {
        let mut rng = rng(21);
        // (rows, d, k, samples)
        for case in [
            (1, 1, 1, 1),
            (7, 10, 10, 50),
            (33, 32, 17, 100),
            (5, 3, 256, 20),
            (64, 2, 3, 64),
        ] {
            check_dec_kernels(&gpu.ctx, &gpu.kernels, case, &mut rng);
        }
    });
}

#[test]
fn dec_kernels_at_the_edges_of_their_domain() {
    // The widest code the most clusters take, within the loop budget and one past it.
    let d = (1..)
        .take_while(|&d| dec_loop_cost(DEC_MAX_K, d) <= LOOP_BUDGET)
        .last()
        .unwrap();
    assert!(check_dec(100, d, DEC_MAX_K, MAX_IMAGE_MOVE).is_ok());
    // The gather's fixed-point source coordinates stay within i32 up to this side.
    assert!(check_moved_image(MAX_MOVED_SIDE, 3).is_ok());
    assert!(check_moved_image(3, MAX_MOVED_SIDE + 1).is_err());
    for refused in [
        check_dec(100, d + 1, DEC_MAX_K, 0),
        check_dec(100, d, DEC_MAX_K + 1, 0),
        check_dec(100, 1, 0, 0),
        check_dec(100, 1, 1, MAX_IMAGE_MOVE + 1),
        check_dec(aeclust::domain::DEC_MAX_N + 1, 1, 1, 0),
    ] {
        assert!(refused.is_err());
    }
    for_each_gpu(|gpu| {
        let mut rng = rng(22);
        check_dec_kernels(&gpu.ctx, &gpu.kernels, (40, d, DEC_MAX_K, 60), &mut rng);
        // The masses of more samples than one lane's loop takes in a budget's share.
        check_dec_kernels(&gpu.ctx, &gpu.kernels, (3, 1, 2, 200_000), &mut rng);
    });
}

#[test]
fn the_loss_of_a_code_on_a_centre_pulls_it_towards_that_centre() {
    // Two centres at -1 and 3 on a line; a code at 0 is nearer the first. Its soft
    // assignments are the Student-t kernels 1/2 and 1/10 normalised: 5/6 and 1/6.
    let centres = [-1.0f32, 3.0];
    let soft = soft_assign(&[0.0], &centres, 2, 1);
    assert_close("soft", &soft, &[5.0 / 6.0, 1.0 / 6.0], 1e-7, 0.0);
    // Alone, its target sharpens them: p = q^2 / f with f = q, so p = q, no loss, no pull.
    let mass = cluster_mass(&soft, 2);
    let targets = DecTargets {
        soft: &soft,
        mass: &mass,
        centres: &centres,
    };
    let (mut grad, mut coefficients) = ([f32::NAN], [f32::NAN; 2]);
    let loss = dec_loss(&[0.0], &[0], targets, 1, (&mut grad, &mut coefficients));
    assert_close("alone", &[loss[0], grad[0]], &[0.0, 0.0], 1e-7, 0.0);
    // With a second sample sitting on the far centre, the second centre's mass grows, the
    // first sample's target leans further towards the first centre, and the gradient
    // (descended) moves the code towards it: a positive dL/dz at z = 0 for the centre at -1.
    let soft = [5.0 / 6.0, 1.0 / 6.0, 0.0, 1.0];
    let mass = cluster_mass(&soft, 2);
    let targets = DecTargets {
        soft: &soft,
        mass: &mass,
        centres: &centres,
    };
    let loss = dec_loss(&[0.0], &[0], targets, 1, (&mut grad, &mut coefficients));
    // p = (25/36 / (5/6), 1/36 / (7/6)) normalised = (5/6, 1/42) / (5/6 + 1/42).
    let p: [f32; 2] = [35.0 / 36.0, 1.0 / 36.0];
    let q: [f32; 2] = [5.0 / 6.0, 1.0 / 6.0];
    let kl = p[0] * (p[0] / q[0]).ln() + p[1] * (p[1] / q[1]).ln();
    let want = 2.0 * (0.5 * (p[0] - q[0]) * 1.0 + 0.1 * (p[1] - q[1]) * -3.0);
    assert_close("loss", &loss, &[kl], 1e-6, 1e-5);
    assert_close("gradient", &grad, &[want], 1e-6, 1e-5);
    assert!(grad[0] > 0.0);
    // The centres move the other way round: the first towards the code (up), the second,
    // whose share the target cut, away from it (up too, from 3).
    let centre_grads = centre_grad(&[0.0], &coefficients, &centres, 2);
    let want = [
        -(2.0 * 0.5 * (p[0] - q[0])),
        2.0 * 0.1 * (p[1] - q[1]) * 3.0,
    ];
    assert_close("centre gradient", &centre_grads, &want, 1e-6, 1e-5);
    assert!(centre_grads[0] < 0.0 && centre_grads[1] < 0.0);
}

#[test]
fn a_non_finite_code_makes_its_loss_nan() {
    for_each_gpu(|gpu| {
        let ctx = &gpu.ctx;
        let (rows, d, k) = (3, 4, 2);
        let mut codes = vec![0.5; rows * d];
        codes[d + 2] = f32::INFINITY;
        let centres = [0.0; 8];
        let soft = [0.5; 6];
        let steps = one_step(
            ctx,
            StepParams {
                first: 0,
                rows: rows as u32,
                loss_offset: 0,
                lr_t: 0.0,
            },
        );
        let mut codes_pad = pad_matrix(&codes, rows, d);
        codes_pad.resize(32 * padded(d), 0.0);
        let buf = |what, values: &[f32]| storage_init(ctx, what, values).unwrap();
        let (codes_buf, centres_buf, soft_buf) = (
            buf("codes", &codes_pad),
            buf("centres", &centres),
            buf("soft", &soft),
        );
        let mass_buf = buf("mass", &cluster_mass(&soft, k));
        let dims = DecDims { k, d, rows_pad: 32 };
        let inputs = [&codes_buf, &centres_buf, &soft_buf, &mass_buf];
        let order = [0, 1, 2];
        let (_, loss_buf, _) =
            run_dec_loss((ctx, &gpu.kernels), (&steps, dims), inputs, &order, rows);
        let got = read_f32(ctx, &loss_buf, 0, rows).unwrap();
        assert!(
            got[0].is_finite() && got[1].is_nan() && got[2].is_finite(),
            "{got:?}"
        );
    });
}

/// The clusters objective on a small model: a few hundred MNIST images, centres drawn
/// among their codes' range, images moved by up to `max_move` pixels.
fn cluster_setup(max_move: usize) -> (ModelSpec, Params, TrainConfig, aeclust::data::Dataset) {
    let train = load_dir(Path::new("data/mnist"), Split::Train)
        .unwrap()
        .truncated(700);
    let spec = ModelSpec::standard(vec![784, 64, 8, 64, 784], true, aeclust::model::Loss::Mse);
    let init = Params::glorot(&spec, 3);
    let mut rng = rng(4);
    let objective = ClusterObjective {
        centres: uniform(&mut rng, 5 * 8, -0.5, 0.5),
        k: 5,
        max_move,
        max_turn: if max_move > 0 { 10.0 } else { 0.0 },
        cols: 28,
        channels: 1,
    };
    let config = TrainConfig {
        batch: 64,
        seed: 9,
        objective: Objective::Clusters(objective),
        ..TrainConfig::default()
    };
    (spec, init, config, train)
}

#[test]
fn gpu_and_cpu_trainers_agree_on_the_clusters_objective() {
    for_each_gpu(|g| {
        let (spec, init, config, train) = cluster_setup(2);
        let mut gpu =
            GpuTrainer::new(&g.ctx, &g.kernels, &spec, &init, &train, &train, &config).unwrap();
        let mut cpu = CpuTrainer::new(&spec, &init, &train, &train, &config).unwrap();
        let mut shuffle = Shuffle::new(train.count, config.seed);
        for epoch in 0..3 {
            let order = shuffle.next_epoch().to_vec();
            let gl = gpu.train_epoch(&order, &mut |_| Ok(())).unwrap();
            let cl = cpu.train_epoch(&order, &mut |_| Ok(())).unwrap();
            assert_close(&format!("epoch {epoch} losses"), &gl, &cl, 1e-6, 1e-3);
            let (gv, cv) = (gpu.validate().unwrap(), cpu.validate().unwrap());
            assert_close(&format!("epoch {epoch} validation"), &gv, &cv, 1e-6, 1e-3);
        }
        let (gc, cc) = (gpu.centres().unwrap(), cpu.centres().unwrap());
        assert_close("centres", &gc, &cc, 2e-5, 1e-3);
        let Objective::Clusters(objective) = &config.objective else {
            unreachable!()
        };
        assert_ne!(cc, objective.centres, "the centres did not learn");
        let (gp, cp) = (gpu.params().unwrap(), cpu.params().unwrap());
        for l in 0..spec.layer_count() {
            let what = format!("layer {l} weights");
            assert_close(&what, &gp.weights[l], &cp.weights[l], 2e-5, 1e-3);
        }
        // Only the encoder learns.
        for l in spec.code_layer() + 1..spec.layer_count() {
            assert_eq!(cp.weights[l], init.weights[l], "decoder layer {l} changed");
            assert_eq!(
                gp.weights[l], init.weights[l],
                "decoder layer {l} changed on the GPU"
            );
        }
    });
}

#[test]
fn an_epoch_brings_the_codes_closer_to_their_targets_on_every_device() {
    common::for_each_device(|device| {
        // Unmoved: an untrained encoder's codes of moved images are far from the unmoved
        // images' targets.
        let (spec, init, config, train) = cluster_setup(0);
        let mut trainer = device
            .trainer(&spec, &init, &train, &train, &config)
            .unwrap();
        let mean = |losses: Vec<f32>| {
            assert!(losses.iter().all(|l| l.is_finite() && *l >= -1e-6));
            losses.iter().sum::<f32>() / losses.len() as f32
        };
        // The targets from the initial codes, before and after one epoch that learns them.
        let before = mean(trainer.validate().unwrap());
        let order = Shuffle::new(train.count, config.seed).next_epoch().to_vec();
        trainer.train_epoch(&order, &mut |_| Ok(())).unwrap();
        let after = mean(trainer.validate().unwrap());
        assert!(
            after < 0.9 * before,
            "the loss went from {before} to {after}"
        );
    });
}

#[test]
fn a_fine_tuned_run_saves_the_model_its_clustering_places() {
    use common::cli::{aeclust, read_json, s, text};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("tiny");
    common::write_idx_dataset(&data, 48, 40, 4, true);
    let out_dir = dir.path().join("out");
    let run = |extra: &[&str]| {
        let mut args = vec!["run", "--out", s(&out_dir), "--data", s(&data)];
        args.extend_from_slice(&["--layers", "16,6,3,6,16", "--epochs", "1", "--k", "3"]);
        args.extend_from_slice(extra);
        let out = aeclust(&args);
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stderr) + &text(&out.stdout)
    };
    // Kept whatever it moves (the tiny images' clusters are arbitrary).
    let printed = run(&[
        "--fine-tune",
        "2",
        "--fine-tune-move",
        "1",
        "--fine-tune-keep",
        "0",
    ]);
    assert!(printed.contains("fine-tune epoch 2/2"), "{printed}");
    let report = read_json(out_dir.join("report.json"));
    let runs: Vec<&str> = report["clustering"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["features"].as_str().unwrap())
        .collect();
    assert_eq!(runs, ["codes", "codes+fine-tuned"]);
    let listed = report["files"].to_string();
    assert!(listed.contains("fine-tuned.safetensors"), "{listed}");

    // New images are placed through the fine-tuned model, not the autoencoder.
    let assign = |model: &str| {
        let csv = dir.path().join("a.csv");
        aeclust(&[
            "assign",
            "--clustering",
            s(&out_dir.join("clustering.safetensors")),
            "--model",
            s(&out_dir.join(model)),
            "--data",
            s(&data),
            "--out",
            s(&csv),
        ])
    };
    assert!(assign("fine-tuned.safetensors").status.success());
    let refused = assign("model.safetensors");
    assert!(!refused.status.success());
    assert!(text(&refused.stderr).contains("another model"));

    // A run without fine-tuning leaves no fine-tuned model of other codes behind.
    run(&[]);
    assert!(!out_dir.join("fine-tuned.safetensors").exists());
    assert!(assign("model.safetensors").status.success());
}

#[test]
fn fine_tuning_that_reclusters_leaves_the_clusters_as_they_were() {
    use common::cli::{aeclust, read_json, s, text};
    // On the 8 x 8 digits, fine-tuning moves most images to other clusters (docs/RESULTS.md):
    // the run keeps UMAP's clusters, says so, and writes no fine-tuned model.
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let digits = concat!(env!("CARGO_MANIFEST_DIR"), "/data/digits");
    let mut args = vec![
        "run", "--recipe", "deep", "--data", digits, "--split", "all",
    ];
    args.extend_from_slice(&["--epochs", "5", "--embed", "umap", "--fine-tune", "10"]);
    args.extend_from_slice(&["--backend", "cpu", "--out", s(&out_dir)]);
    let out = aeclust(&args);
    let printed = text(&out.stderr) + &text(&out.stdout);
    assert!(out.status.success(), "{printed}");
    assert!(
        printed.contains("the clusters stay as they were"),
        "{printed}"
    );
    assert!(!out_dir.join("fine-tuned.safetensors").exists());
    let runs = read_json(out_dir.join("clusters.json"))["runs"].clone();
    let names: Vec<&str> = runs
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["features"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["codes", "codes+umap", "codes+fine-tuned"]);
    // The saved clustering is UMAP's, of the autoencoder's codes: it places the images
    // where assignments.csv put them.
    let csv = dir.path().join("a.csv");
    let assign = aeclust(&[
        "assign",
        "--clustering",
        s(&out_dir.join("clustering.safetensors")),
        "--model",
        s(&out_dir.join("model.safetensors")),
        "--data",
        digits,
        "--split",
        "all",
        "--out",
        s(&csv),
    ]);
    assert!(assign.status.success(), "{}", text(&assign.stderr));
    let placed = std::fs::read_to_string(&csv).unwrap();
    let written = std::fs::read_to_string(out_dir.join("assignments.csv")).unwrap();
    let clusters = |t: &str| -> Vec<String> {
        t.lines()
            .skip(1)
            .map(|l| l.split(',').nth(1).unwrap().to_string())
            .collect()
    };
    let (placed, written) = (clusters(&placed), clusters(&written));
    let same = placed.iter().zip(&written).filter(|(a, b)| a == b).count();
    assert!(
        same * 100 >= written.len() * 99,
        "{same} of {} placed in their cluster",
        written.len()
    );
}
