//! k-means on every device, and the clustering scores against scikit-learn (GPU against CPU
//! bit for bit is in tests/parity.rs).

mod common;

use aeclust::cluster::metrics::{accuracy, ari, contingency, nmi};
use aeclust::cluster::{kmeans, Init, KmeansConfig};
use aeclust::device::Device;
use common::for_each_device;
use rand::Rng;

#[test]
fn kmeans_finds_separated_blobs() {
    let (n, d, k) = (500, 4, 5);
    let points = common::blobs(n, d, k, 9);
    let truth: Vec<u8> = (0..n).map(|i| (i % k) as u8).collect();
    let config = KmeansConfig {
        k,
        ..KmeansConfig::default()
    };
    for_each_device(|device| {
        let result = kmeans(device, &points, n, d, &config).unwrap();
        assert_eq!(accuracy(&result.labels, &truth), 1.0);
        // Each point is within the blob's noise of its centroid: inertia <= n * d * 1.
        assert!(
            result.inertia < (n * d) as f64 * 1.0 / 3.0 * 1.2,
            "{}",
            result.inertia
        );
    });
}

#[test]
fn an_empty_cluster_keeps_its_centroid() {
    // Two distinct values only: any three initial centroids repeat one, and the repeat
    // (the higher index, as ties go low) never gets a member.
    let points: Vec<f32> = (0..40)
        .map(|i| if i % 2 == 0 { 0.0 } else { 10.0 })
        .collect();
    let config = KmeansConfig {
        k: 3,
        init: Init::Random,
        n_init: 3,
        ..KmeansConfig::default()
    };
    for_each_device(|device| {
        let r = kmeans(device, &points, 40, 1, &config).unwrap();
        assert!(
            r.centroids.iter().all(|c| c.is_finite()),
            "{:?}",
            r.centroids
        );
        assert_eq!(r.inertia, 0.0);
        let used: std::collections::BTreeSet<u32> = r.labels.iter().copied().collect();
        assert_eq!(used.len(), 2);
    });
}

#[test]
fn bad_kmeans_input_is_refused() {
    let points = vec![0.0f32; 10];
    let err = |config: KmeansConfig, pts: &[f32]| {
        kmeans(&Device::Cpu, pts, 10, 1, &config)
            .unwrap_err()
            .to_string()
    };
    assert!(err(
        KmeansConfig {
            k: 0,
            ..Default::default()
        },
        &points
    )
    .contains("--k must be between 1"));
    assert!(err(
        KmeansConfig {
            k: 11,
            ..Default::default()
        },
        &points
    )
    .contains("is more than the 10 points to cluster"));
    let mut nan = points.clone();
    nan[3] = f32::NAN;
    assert!(err(
        KmeansConfig {
            k: 2,
            ..Default::default()
        },
        &nan
    )
    .contains("NaN"));
}

#[test]
fn scores_match_scikit_learn() {
    // Cluster ids and labels made up by formula; the expected values are what scikit-learn
    // 1.9.1 gives for the same vectors (normalized_mutual_info_score, adjusted_rand_score,
    // and scipy's linear_sum_assignment on the contingency table for the accuracy).
    let clusters: Vec<u32> = (0..50u32).map(|i| (i * 7 + i / 3) % 4).collect();
    let labels: Vec<u8> = (0..50u32).map(|i| ((i * 5 + i / 4) % 3) as u8).collect();
    assert!((accuracy(&clusters, &labels) - 0.36).abs() < 1e-12);
    assert!((nmi(&clusters, &labels) - 0.10626970357485956).abs() < 1e-12);
    assert!((ari(&clusters, &labels) - 6.137416761285175e-05).abs() < 1e-12);
    assert_eq!(contingency(&clusters, &labels).len(), 4);

    // A perfect clustering under other names scores 1 everywhere.
    let truth: Vec<u8> = (0..30).map(|i| (i % 3) as u8).collect();
    let renamed: Vec<u32> = truth.iter().map(|&l| [2, 0, 1][l as usize]).collect();
    assert_eq!(accuracy(&renamed, &truth), 1.0);
    assert!((nmi(&renamed, &truth) - 1.0).abs() < 1e-12);
    assert!((ari(&renamed, &truth) - 1.0).abs() < 1e-12);
}

#[test]
fn principal_components_find_the_spread_directions() {
    // Points spread 10x more along (1, 1, 0) than along (1, -1, 0), none along z.
    let mut rng = common::rng(12);
    let points: Vec<f32> = (0..2000)
        .flat_map(|_| {
            let (a, b): (f32, f32) = (rng.random_range(-10.0..10.0), rng.random_range(-1.0..1.0));
            [a + b + 3.0, a - b - 1.0, 5.0]
        })
        .collect();
    let xy: Vec<(f64, f64)> = aeclust::pca::project(&points, 2000, 3, 2)
        .chunks(2)
        .map(|p| (f64::from(p[0]), f64::from(p[1])))
        .collect();
    let variance =
        |f: fn(&(f64, f64)) -> f64| xy.iter().map(f).map(|v| v * v).sum::<f64>() / 2000.0;
    let (v1, v2) = (variance(|p| p.0), variance(|p| p.1));
    // Var(a) * 2 = 66.7 along the first axis, Var(b) * 2 = 0.67 along the second.
    assert!((v1 - 66.7).abs() < 5.0, "{v1}");
    assert!((v2 - 0.667).abs() < 0.1, "{v2}");
}
