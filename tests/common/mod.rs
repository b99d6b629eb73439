#![allow(dead_code)]

pub mod cli;
pub mod corpus;
pub mod devices;

#[allow(unused_imports)]
pub use devices::{for_each_device, for_each_gpu, gpu_device, gpus};

use aeclust::embed::{symmetrize, Graph};
use aeclust::reference::umap_graph::memberships;
use aeclust::reference::umap_knn::knn;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A step table of one slot holding `step`.
pub fn one_step(
    ctx: &aeclust::gpu::GpuContext,
    step: aeclust::gpu::kernels::StepParams,
) -> aeclust::gpu::kernels::StepTable {
    let table = aeclust::gpu::kernels::StepTable::new(ctx, 1);
    table.write(ctx, 0, &[step]);
    table
}

pub fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

pub fn uniform(rng: &mut ChaCha8Rng, n: usize, lo: f32, hi: f32) -> Vec<f32> {
    (0..n).map(|_| rng.random_range(lo..hi)).collect()
}

/// UMAP's graph of `n` points drawn uniformly in [-1, 1]^d: the exact k nearest neighbours,
/// their membership weights, the fuzzy union.
pub fn random_knn_graph(rng: &mut ChaCha8Rng, n: usize, d: usize, k: usize) -> Graph {
    let points = uniform(rng, n * d, -1.0, 1.0);
    let neighbours = knn(&points, n, d, k);
    let weights = memberships(&neighbours.squared, k);
    symmetrize(&neighbours.indices, &weights, n, k)
}

/// Asserts |got - want| <= abs + rel * |want| elementwise, naming the worst element.
pub fn assert_close(what: &str, got: &[f32], want: &[f32], abs: f32, rel: f32) {
    assert_eq!(got.len(), want.len(), "{what}: lengths differ");
    let mut worst = (0usize, 0.0f32);
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let excess = (g - w).abs() - (abs + rel * w.abs());
        assert!(!g.is_nan(), "{what}: NaN at {i}");
        if excess > worst.1 {
            worst = (i, excess);
        }
    }
    let i = worst.0;
    assert!(
        worst.1 <= 0.0,
        "{what}: element {i} is {} but should be {} (tolerance {abs} + {rel} * |want|)",
        got[i],
        want[i]
    );
}

/// Writes a dataset in MNIST's four-file IDX layout (gzipped when `gz`) with random pixels.
pub fn write_idx_dataset(dir: &std::path::Path, train: usize, test: usize, side: usize, gz: bool) {
    use aeclust::data::idx::{encode_images, encode_labels};
    use std::io::Write;
    let mut rng = rng(1);
    std::fs::create_dir_all(dir).unwrap();
    for (prefix, count) in [("train", train), ("t10k", test)] {
        let pixels: Vec<u8> = (0..count * side * side)
            .map(|i| if i % 3 == 0 { rng.random() } else { 0 })
            .collect();
        let labels: Vec<u8> = (0..count).map(|i| (i % 10) as u8).collect();
        for (kind, bytes) in [
            ("images-idx3", encode_images(count, side, side, &pixels)),
            ("labels-idx1", encode_labels(&labels)),
        ] {
            let name = format!("{prefix}-{kind}-ubyte");
            if gz {
                let file = std::fs::File::create(dir.join(format!("{name}.gz"))).unwrap();
                let mut enc = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
                enc.write_all(&bytes).unwrap();
                enc.finish().unwrap();
            } else {
                std::fs::write(dir.join(name), bytes).unwrap();
            }
        }
    }
}

/// `k` Gaussian-ish blobs of `n` points in `d` dimensions (point i in blob i % k).
pub fn blobs(n: usize, d: usize, k: usize, seed: u64) -> Vec<f32> {
    let mut rng = rng(seed);
    let centers: Vec<f32> = (0..k * d).map(|_| rng.random_range(-5.0..5.0)).collect();
    (0..n)
        .flat_map(|i| {
            let c = i % k;
            (0..d)
                .map(|j| centers[c * d + j] + rng.random_range(-1.0..1.0))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// k-means of the n x d `points` on every GPU gives the CPU twin's labels, centroids and
/// iterations bit for bit. Distances use fma on both sides, but a driver may split it into a
/// multiply and an add (lavapipe's differ from the CPU's in the last bit), so the inertia
/// matches to `inertia_rel` only; the labels and centroids, which decide everything else,
/// match exactly.
pub fn assert_kmeans_twins_agree(
    points: &[f32],
    n: usize,
    d: usize,
    config: &aeclust::cluster::KmeansConfig,
    inertia_rel: f64,
) {
    let every: Vec<&aeclust::device::Device> = gpus().iter().collect();
    assert_kmeans_matches_cpu(&every, points, n, d, config, inertia_rel);
}

/// `assert_kmeans_twins_agree` on these devices.
pub fn assert_kmeans_matches_cpu(
    devices: &[&aeclust::device::Device],
    points: &[f32],
    n: usize,
    d: usize,
    config: &aeclust::cluster::KmeansConfig,
    inertia_rel: f64,
) {
    use aeclust::cluster::kmeans;
    let c = kmeans(&aeclust::device::Device::Cpu, points, n, d, config).unwrap();
    for &gpu in devices {
        let g = {
            let _turn = devices::take_turn(gpu);
            kmeans(gpu, points, n, d, config).unwrap()
        };
        let what = format!("{}: n {n} d {d} k {}", devices::name(gpu), config.k);
        assert_eq!(g.labels, c.labels, "{what}: labels differ");
        assert_eq!(g.centroids, c.centroids, "{what}: centroids differ");
        assert_eq!(g.iterations, c.iterations, "{what}: iterations differ");
        assert!(
            (g.inertia - c.inertia).abs() <= inertia_rel * c.inertia,
            "{what}: inertia {} vs {}",
            g.inertia,
            c.inertia
        );
        assert!(g.iterations >= 1 && g.inertia.is_finite(), "{what}");
    }
}
