//! NN-descent: the GPU's lists against the CPU twin's, bit for bit, at the edges of the
//! kernels' domain; its recall against the exact neighbours; refusals past the domain.

mod common;

use aeclust::device::Device;
use aeclust::domain::{
    nn_descent_max_features, sample_entries_per_dispatch, NN_DESCENT_MAX_N, UMAP_MAX_NEIGHBORS,
};
use aeclust::embed::{
    umap, umap_with_graph, GpuUmapSteps, NeighbourSearch, UmapConfig, UmapSteps, NN_DESCENT_FROM,
};
use aeclust::reference::umap_knn::{knn, Neighbours};
use aeclust::reference::umap_nndescent::{nn_descent, Descent};
use common::{blobs, for_each_device, for_each_gpu, rng, uniform};

fn check_twins(points: &[f32], n: usize, d: usize, descent: &Descent) {
    let (want, want_history) = nn_descent(points, n, d, descent);
    for_each_gpu(|gpu| {
        let (got, history) = GpuUmapSteps(gpu)
            .nn_descent(points, (n, d), descent)
            .unwrap();
        assert_eq!(history, want_history, "n {n} d {d}: entries that came in");
        let k = descent.k;
        if let Some(at) = (0..n * k).find(|&e| {
            got.indices[e] != want.indices[e]
                || got.squared[e].to_bits() != want.squared[e].to_bits()
        }) {
            let row = at / k * k..(at / k + 1) * k;
            panic!(
                "n {n} d {d}: point {} differs at {}:\nGPU {:?}\n    {:?}\nCPU {:?}\n    {:?}",
                at / k,
                at % k,
                &got.indices[row.clone()],
                &got.squared[row.clone()],
                &want.indices[row.clone()],
                &want.squared[row]
            );
        }
    });
}

/// The share of the exact k nearest neighbours that `approx` found.
fn recall(approx: &Neighbours, exact: &Neighbours, n: usize, k: usize) -> f64 {
    let hits: usize = (0..n)
        .map(|i| {
            let row = &exact.indices[i * k..(i + 1) * k];
            let found = &approx.indices[i * k..(i + 1) * k];
            found.iter().filter(|j| row.contains(j)).count()
        })
        .sum();
    hits as f64 / (n * k) as f64
}

#[test]
fn gpu_lists_are_the_cpu_twins() {
    let mut rng = rng(3);
    for (n, d, k) in [(500, 5, 7), (1000, 10, 19)] {
        let points = uniform(&mut rng, n * d, -1.0, 1.0);
        check_twins(&points, n, d, &Descent::for_points(n, k, 1));
    }
}

#[test]
fn nn_descent_at_the_edges_of_its_domain() {
    let mut rng = rng(5);
    // The most neighbours and the most features they allow: the joins split into the most
    // dispatches. With n = k + 1 every list holds every other point.
    let k = UMAP_MAX_NEIGHBORS;
    let descent = Descent::for_points(k + 1, k, 2);
    let d = nn_descent_max_features(k, descent.leaf);
    let points = uniform(&mut rng, (k + 1) * d, -1.0, 1.0);
    check_twins(&points, k + 1, d, &descent);
    let (got, _) = nn_descent(&points, k + 1, d, &descent);
    let exact = knn(&points, k + 1, d, k);
    assert_eq!(recall(&got, &exact, k + 1, k), 1.0);
    let n = 3 * descent.leaf + 7;
    let points = uniform(&mut rng, n * d, -1.0, 1.0);
    check_twins(&points, n, d, &Descent::for_points(n, k, 3));
    // A hub: far from each other in 40 dimensions, the points of a sphere all have its
    // centre as nearest neighbour, so its reverse entries span several `draw_samples`
    // dispatches.
    let (k, d) = (19, 40);
    let n = 2 * sample_entries_per_dispatch(k, k) + 100;
    let mut points = vec![0.0f32; n * d];
    for point in points.chunks_mut(d).skip(1) {
        let v = uniform(&mut rng, d, -1.0, 1.0);
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        point.iter_mut().zip(&v).for_each(|(p, x)| *p = x / norm);
    }
    check_twins(&points, n, d, &Descent::for_points(n, k, 4));
    // The fewest points: two, each the other's neighbour.
    check_twins(&[0.0, 1.0, 1.0, 0.0], 2, 2, &Descent::for_points(2, 1, 6));
    // Every point the same: every distance ties.
    let n = 300;
    check_twins(&vec![0.25f32; n * 3], n, 3, &Descent::for_points(n, 9, 5));
}

#[test]
fn recall_on_clustered_points_is_at_least_0_99() {
    // Ten blobs of 10-d points, as the deep recipe's codes are; the default settings.
    let (n, d, k) = (20_000, 10, 19);
    let points = blobs(n, d, 10, 7);
    let (approx, history) = nn_descent(&points, n, d, &Descent::for_points(n, k, 0));
    let exact = knn(&points, n, d, k);
    let recall = recall(&approx, &exact, n, k);
    assert!(
        recall >= 0.99,
        "recall {recall}, entries that came in {history:?}"
    );
    for i in 0..n {
        let row = &approx.squared[i * k..(i + 1) * k];
        assert!(
            row.windows(2).all(|w| w[0] <= w[1]),
            "point {i}: not nearest first"
        );
        assert!(!approx.indices[i * k..(i + 1) * k].contains(&(i as u32)));
    }
}

#[test]
fn auto_takes_nn_descent_from_its_threshold_and_every_device_builds_the_same_graph() {
    let search = NeighbourSearch::Auto;
    let (n, k) = (NN_DESCENT_FROM, 19);
    let widest = nn_descent_max_features(k, Descent::for_points(n, k, 0).leaf);
    assert_eq!(search.resolve(n - 1, 10, k), NeighbourSearch::Exact);
    assert_eq!(search.resolve(n, 10, k), NeighbourSearch::NnDescent);
    assert_eq!(search.resolve(n, widest, k), NeighbourSearch::NnDescent);
    // Wider features than NN-descent takes: auto keeps the exact search, and says so.
    assert_eq!(search.resolve(n, widest + 1, k), NeighbourSearch::Exact);
    assert!(search.check(n, widest + 1, k).is_ok());
    assert!(NeighbourSearch::NnDescent.check(n, widest + 1, k).is_err());
    let (n, d) = (600, 6);
    let points = blobs(n, d, 4, 9);
    let config = UmapConfig {
        neighbors: 10,
        dims: 2,
        epochs: Some(20),
        search: NeighbourSearch::NnDescent,
        ..UmapConfig::default()
    };
    let (_, want) = umap_with_graph(&Device::Cpu, &points, (n, d), &config).unwrap();
    for_each_device(|device| {
        let (embedded, graph) = umap_with_graph(device, &points, (n, d), &config).unwrap();
        assert_eq!(graph.targets, want.targets, "the graph's edges");
        let again = umap_with_graph(device, &points, (n, d), &config).unwrap().0;
        assert_eq!(embedded, again, "a second run");
    });
}

#[test]
fn nn_descent_refuses_sizes_past_its_domain() {
    let k = 19;
    let leaf = Descent::for_points(1000, k, 0).leaf;
    let most = nn_descent_max_features(k, leaf);
    let err = NeighbourSearch::NnDescent
        .check(1000, most + 1, k)
        .unwrap_err();
    assert!(
        err.to_string().contains("--neighbour-search exact"),
        "{err}"
    );
    assert!(NeighbourSearch::NnDescent.check(1000, most, k).is_ok());
    let err = NeighbourSearch::Auto
        .check(NN_DESCENT_MAX_N + 1, 10, k)
        .unwrap_err();
    assert!(err.to_string().contains("at most"), "{err}");
    // Refused before any work: far too many features for the GPU's kernels.
    let (n, d) = (50, most + 1);
    let config = UmapConfig {
        neighbors: k + 1,
        search: NeighbourSearch::NnDescent,
        ..UmapConfig::default()
    };
    let err = umap(common::gpu_device(), &vec![0.5; n * d], (n, d), &config).unwrap_err();
    assert!(err.to_string().contains("features"), "{err}");
}
