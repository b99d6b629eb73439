//! The kernels over their whole stated domain (src/domain.rs), GPU against the
//! CPU twin: sizes up to the limits, across the dispatch splits that keep every invocation
//! inside the software drivers' loop budget, and refusals just past the limits.

mod common;

use aeclust::cluster::{kmeans, Init, KmeansConfig};
use aeclust::device::Device;
use aeclust::domain::{
    kmeans_centroids_per_dispatch, knn_columns_per_dispatch, GRID_ROW, KMEANS_MAX_D, KMEANS_MAX_K,
    LOOP_BUDGET, MATMUL_MAX_K, UMAP_MAX_DIMS, UMAP_MAX_NEIGHBORS,
};
use aeclust::embed::{
    layout_problem, symmetrize, umap, GpuUmapSteps, NeighbourSearch, UmapConfig, UmapSteps,
};
use aeclust::gpu::kernels::{padded_dims, Kmeans, BALLOT_MAX_K};
use aeclust::reference::umap_graph::memberships;
use aeclust::reference::umap_knn::knn;
use aeclust::reference::umap_layout::Curve;
use common::{for_each_device, for_each_gpu, gpu_device, rng, uniform};
use proptest::prelude::*;

/// k-means on every GPU gives its CPU twin's labels and centroids, bit for bit.
fn check_kmeans(n: usize, d: usize, k: usize, seed: u64) {
    let points = uniform(&mut rng(seed), n * d, 0.0, 1.0);
    let config = KmeansConfig {
        k,
        init: Init::Random,
        n_init: 1,
        max_iter: 3,
        seed,
        ..KmeansConfig::default()
    };
    common::assert_kmeans_twins_agree(&points, n, d, &config, 1e-5);
}

#[test]
fn kmeans_at_the_edges_of_its_domain() {
    // The first, third and fourth cases need several `assign` dispatches; the third loops
    // past 65 535 iterations if it were one dispatch (k (d / 4 + 1); at 784 features and 90
    // clusters, the size that once returned wrong clusters on lavapipe, before rows were
    // vec4s). Up to BALLOT_MAX_K clusters, lavapipe's partial sums walk the clusters: rows
    // of up to 32 features take the narrow kernel, wider ones the wide one, whose last
    // workgroup holds part of a row (33, 784, 1500, KMEANS_MAX_D features), and chunks end in a
    // block of 8 points (257, 300). d not a multiple of 4 has padded rows.
    for (n, d, k) in [
        (300, 1500, KMEANS_MAX_K),
        (300, 784, 90),
        (300, 2999, 90),
        (40, KMEANS_MAX_D, 17),
        (70, LOOP_BUDGET / 2, 4),
        (1000, 1, KMEANS_MAX_K),
        (300, 784, 10),
        (300, 1500, BALLOT_MAX_K),
        (257, 33, BALLOT_MAX_K),
        (257, 30, BALLOT_MAX_K + 1),
        // One cluster: every chunk's 256 points are its members.
        (600, 3, 1),
        (600, 40, 1),
        // More points than one row of the dispatch grid holds (65 535 workgroups of 64).
        (GRID_ROW as usize * 64 + 100, 1, 2),
    ] {
        check_kmeans(n, d, k, n as u64 + k as u64);
    }
    for quads in [1, 196, 375, 750, padded_dims(KMEANS_MAX_D) / 4] {
        for block in [1, 16] {
            let centroids = kmeans_centroids_per_dispatch(quads, block);
            assert_eq!(centroids % block, 0);
            assert!(centroids == block || centroids / block * (quads + 1) <= LOOP_BUDGET);
        }
    }
    // The cases above that must split do.
    for block in [1, 16] {
        assert!(kmeans_centroids_per_dispatch(1500 / 4, block) < KMEANS_MAX_K);
        assert!(kmeans_centroids_per_dispatch(750, block) < 90);
        assert!(kmeans_centroids_per_dispatch(padded_dims(KMEANS_MAX_D) / 4, block) < 17);
    }
}

#[test]
fn the_plain_kmeans_kernels_agree_too_where_the_subgroup_ones_run() {
    // Adapters with 8-wide subgroups run `assign_subgroup8` and `partial_sums_subgroup8`; the
    // plain kernels (every other adapter's) are checked on them as well, at the same edges.
    for mut gpu in common::devices::open_gpus(None) {
        if !gpu.ctx.subgroup8 {
            continue;
        }
        gpu.kernels.kmeans = Kmeans::with_subgroup8(&gpu.ctx, false).unwrap();
        let device = Device::Gpu(Box::new(gpu));
        for (n, d, k) in [(300, 784, 90), (1000, 1, KMEANS_MAX_K), (257, 33, 17)] {
            let points = uniform(&mut rng(n as u64), n * d, 0.0, 1.0);
            let config = KmeansConfig {
                k,
                init: Init::Random,
                n_init: 1,
                max_iter: 3,
                ..KmeansConfig::default()
            };
            common::assert_kmeans_matches_cpu(&[&device], &points, n, d, &config, 1e-5);
        }
    }
}

#[test]
fn restarts_split_over_batches_give_the_twin_s_answer() {
    // Bindings of 64 KiB hold the labels of 16 restarts of 1 000 points: 40 restarts run in
    // three batches, and the best of them must be the CPU's, iterations included.
    let (n, d, k) = (1000, 8, 5);
    let points = common::blobs(n, d, k, 4);
    let config = KmeansConfig {
        k,
        n_init: 40,
        seed: 9,
        ..KmeansConfig::default()
    };
    let small: Vec<Device> = common::devices::open_gpus(Some(64 << 10))
        .into_iter()
        .map(|gpu| Device::Gpu(Box::new(gpu)))
        .collect();
    let small: Vec<&Device> = small.iter().collect();
    common::assert_kmeans_matches_cpu(&small, &points, n, d, &config, 1e-6);
}

#[test]
fn kmeans_refuses_sizes_past_its_domain() {
    let points = vec![0.5f32; 2 * (KMEANS_MAX_D + 1)];
    let config = KmeansConfig {
        k: 2,
        ..KmeansConfig::default()
    };
    let err = kmeans(gpu_device(), &points, 2, KMEANS_MAX_D + 1, &config).unwrap_err();
    assert!(err.to_string().contains("features per point"), "{err}");
    let err = KmeansConfig {
        k: KMEANS_MAX_K + 1,
        ..KmeansConfig::default()
    }
    .check()
    .unwrap_err();
    assert!(err.to_string().contains("256"), "{err}");
}

/// The GPU's exact kNN gives the CPU's neighbours. The points are small integers, so every
/// distance is exact whatever the order of the sums, and the many ties test the rule that
/// ties go to the lower index, across the column dispatches too.
fn check_knn(n: usize, d: usize, k: usize, seed: u64) {
    let mut rng = rng(seed);
    let points: Vec<f32> = (0..n * d)
        .map(|_| rand::Rng::random_range(&mut rng, -4i32..=4) as f32)
        .collect();
    let want = knn(&points, n, d, k);
    for_each_gpu(|gpu| {
        let got = GpuUmapSteps(gpu).knn(&points, n, d, k).unwrap();
        let what = format!("n {n} d {d} k {k}");
        if let Some(at) = (0..n * k).find(|&e| got.indices[e] != want.indices[e]) {
            panic!(
                "{what}: point {} neighbour {}: GPU {} at {}, CPU {} at {}",
                at / k,
                at % k,
                got.indices[at],
                got.squared[at],
                want.indices[at],
                want.squared[at]
            );
        }
        assert_eq!(got.squared, want.squared, "{what}: distances differ");
    });
}

#[test]
fn knn_at_the_edges_of_its_domain() {
    // The most neighbours, over several column dispatches; the default neighbours over
    // more columns than one dispatch scans.
    check_knn(
        2 * knn_columns_per_dispatch(UMAP_MAX_NEIGHBORS) + 5,
        3,
        UMAP_MAX_NEIGHBORS,
        1,
    );
    check_knn(knn_columns_per_dispatch(19) + 40, 2, 19, 2);
    check_knn(UMAP_MAX_NEIGHBORS + 1, 5, UMAP_MAX_NEIGHBORS, 3);
}

#[test]
fn umap_refuses_sizes_past_its_domain() {
    let n = 3;
    let d = MATMUL_MAX_K + 1;
    let points = vec![0.5f32; n * d];
    let config = UmapConfig {
        neighbors: 2,
        ..UmapConfig::default()
    };
    let err = umap(gpu_device(), &points, (n, d), &config).unwrap_err();
    assert!(err.to_string().contains("features"), "{err}");
    for bad in [
        UmapConfig {
            neighbors: UMAP_MAX_NEIGHBORS + 2,
            ..UmapConfig::default()
        },
        UmapConfig {
            dims: 1025,
            ..UmapConfig::default()
        },
    ] {
        assert!(bad.check().is_err());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn kmeans_any_size_in_its_domain(
        d_exp in 0.0f64..1.0,
        k in 1usize..=KMEANS_MAX_K,
        n_extra in 0usize..300,
        seed in any::<u64>(),
    ) {
        // d from 1 to the limit, log-uniform; n small where d * k is large.
        let d = (KMEANS_MAX_D as f64).powf(d_exp).round().max(1.0) as usize;
        let budget = 4_000_000 / (d * k);
        let n = (k + n_extra).min(budget.max(k));
        check_kmeans(n, d, k, seed);
    }

    #[test]
    fn knn_any_size_in_its_domain(
        k in 1usize..=UMAP_MAX_NEIGHBORS,
        n_extra in 1usize..2500,
        d in 1usize..40,
        seed in any::<u64>(),
    ) {
        check_knn(k + n_extra, d, k, seed);
    }
}

/// Separated blobs times `factor`: k-means and UMAP must give what they give at scale 1.
fn scaled_blobs(factor: f32) -> (Vec<f32>, usize, usize) {
    let (n, d) = (240, 6);
    let mut rng = rng(21);
    let points = (0..n * d)
        .map(|e| {
            let blob = (e / d) % 4;
            (blob * 10 + e % d) as f32 + rand::Rng::random_range(&mut rng, -1.0..1.0)
        })
        .map(|v| v * factor)
        .collect();
    (points, n, d)
}

#[test]
fn kmeans_and_umap_work_at_any_float_scale() {
    let (plain, n, d) = scaled_blobs(1.0);
    let config = KmeansConfig {
        k: 4,
        seed: 5,
        n_init: 2,
        ..KmeansConfig::default()
    };
    let umap_configs =
        [NeighbourSearch::Exact, NeighbourSearch::NnDescent].map(|search| UmapConfig {
            neighbors: 8,
            dims: 2,
            epochs: Some(20),
            search,
            ..UmapConfig::default()
        });
    for_each_device(|device| {
        let want = kmeans(device, &plain, n, d, &config).unwrap();
        let want_embeddings = umap_configs
            .clone()
            .map(|umap_config| umap(device, &plain, (n, d), &umap_config).unwrap());
        // Powers of two far outside f32's comfortable range: squared distances would
        // overflow (2^70) or underflow (2^-90) without rescaling. Scaling is exact, so
        // everything must match bit for bit.
        for exponent in [70, -90] {
            let factor = 2f32.powi(exponent);
            let (points, _, _) = scaled_blobs(factor);
            let got = kmeans(device, &points, n, d, &config).unwrap();
            assert_eq!(got.labels, want.labels, "2^{exponent}: labels");
            let rescaled: Vec<f32> = want.centroids.iter().map(|c| c * factor).collect();
            assert_eq!(got.centroids, rescaled, "2^{exponent}: centroids");
            let inertia = want.inertia * f64::from(factor).powi(2);
            assert!(
                (got.inertia - inertia).abs() <= 1e-9 * inertia,
                "2^{exponent}"
            );
            for (umap_config, want_embedding) in umap_configs.iter().zip(&want_embeddings) {
                let embedding = umap(device, &points, (n, d), umap_config).unwrap();
                let search = umap_config.search.name();
                assert_eq!(
                    embedding, *want_embedding,
                    "2^{exponent}: {search} embedding"
                );
            }
        }
        // Not a power of two: the blobs are still found.
        let (points, _, _) = scaled_blobs(1e20);
        let got = kmeans(device, &points, n, d, &config).unwrap();
        let truth: Vec<u8> = (0..n).map(|i| (i % 4) as u8).collect();
        assert_eq!(
            aeclust::cluster::metrics::accuracy(&got.labels, &truth),
            1.0
        );
    });
}

#[test]
fn umap_graph_and_layout_at_the_edges_of_their_domain() {
    let mut rng = rng(31);
    // The most neighbours.
    let (n, d, k) = (150, 4, UMAP_MAX_NEIGHBORS);
    let points = uniform(&mut rng, n * d, -1.0, 1.0);
    let neighbours = knn(&points, n, d, k);
    let want = memberships(&neighbours.squared, k);
    // The most embedding dimensions, a few epochs.
    let dims = UMAP_MAX_DIMS;
    let graph = symmetrize(&neighbours.indices, &want, n, k);
    let problem = layout_problem(&graph, Curve::fit(0.0), dims, 3);
    let initial = uniform(&mut rng, n * dims, 0.0, 10.0);
    let epochs = 2;
    let cpu = (1..=epochs as u32).fold(initial.clone(), |layout, epoch| {
        problem.epoch(&layout, epoch, epochs as u32)
    });
    for_each_gpu(|gpu| {
        let steps = GpuUmapSteps(gpu);
        let weights = steps.memberships(&neighbours.squared, k).unwrap();
        common::assert_close(
            "weights at the most neighbours",
            &weights,
            &want,
            1e-4,
            1e-4,
        );
        let got = steps.layout(&problem, &initial, epochs).unwrap();
        common::assert_close("layout at the most dimensions", &got, &cpu, 1e-3, 1e-3);
    });
}

#[test]
fn the_gpu_trainer_and_encoder_refuse_models_past_the_matmul_domain() {
    use aeclust::data::Dataset;
    use aeclust::model::{Loss, ModelSpec, Params};
    use aeclust::train::TrainConfig;
    // A model with a layer wider than any matmul reduction the kernels take, as a
    // weights-only file could describe: refused before any buffer exists, not a panic.
    let spec = ModelSpec::standard(vec![4, MATMUL_MAX_K + 1, 4], false, Loss::Bce);
    let params = Params {
        weights: vec![vec![0.0; 4 * (MATMUL_MAX_K + 1)]; 2],
        biases: vec![vec![0.0; MATMUL_MAX_K + 1], vec![0.0; 4]],
    };
    let data = Dataset {
        count: 2,
        rows: 2,
        cols: 2,
        channels: 1,
        pixels: vec![0; 8],
        labels: None,
        classes: Vec::new(),
        names: None,
    };
    let err = gpu_device()
        .encoder()
        .encode(&spec, &params, &data)
        .unwrap_err();
    assert!(
        err.to_string().contains("a layer's width is at most"),
        "{err}"
    );
    let config = TrainConfig::default();
    let err = gpu_device()
        .trainer(&spec, &params, &data, &data, &config)
        .err()
        .expect("refused");
    assert!(
        err.to_string().contains("a layer's width is at most"),
        "{err}"
    );
}
