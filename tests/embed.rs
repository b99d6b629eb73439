//! UMAP: its steps against brute force, umap-learn's constants and known geometry, and the
//! whole embedding on every device (GPU against CPU step by step is in tests/parity.rs).

mod common;

use aeclust::embed::{
    colour_edges, layout_problem, spectral_layout, symmetrize, umap, Graph, UmapConfig,
};
use aeclust::reference::umap_graph::memberships;
use aeclust::reference::umap_knn::{knn, nearest};
use aeclust::reference::umap_layout::{negative_sample, Curve, LayoutProblem, NEGATIVE_RATE};
use common::{for_each_device, random_knn_graph, rng, uniform};

#[test]
fn curve_fit_matches_umap_learn() {
    // umap-learn's find_ab_params(spread=1, min_dist) (scipy curve_fit) gives these.
    for (min_dist, a, b) in [(0.1, 1.5769, 0.8951), (0.0, 1.9328, 0.7905)] {
        let curve = Curve::fit(min_dist);
        assert!(
            (curve.a - a).abs() < 0.01 * a,
            "min_dist {min_dist}: a {}",
            curve.a
        );
        assert!(
            (curve.b - b).abs() < 0.01 * b,
            "min_dist {min_dist}: b {}",
            curve.b
        );
    }
}

#[test]
fn knn_matches_brute_force() {
    let mut rng = rng(4);
    let (n, d, k) = (300, 7, 5);
    let points = uniform(&mut rng, n * d, -1.0, 1.0);
    let neighbours = knn(&points, n, d, k);
    let (indices, distances) = (&neighbours.indices, &neighbours.squared);
    for i in 0..n {
        let exact = (0..n).filter(|&j| j != i).map(|j| {
            let d2: f32 = (0..d)
                .map(|c| (points[i * d + c] - points[j * d + c]).powi(2))
                .sum();
            (j as u32, d2)
        });
        let (want, want_d) = nearest(exact, k);
        assert_eq!(&indices[i * k..(i + 1) * k], &want[..], "neighbours of {i}");
        for (got, want) in distances[i * k..(i + 1) * k].iter().zip(want_d) {
            assert!((got - want).abs() < 1e-5, "distance {got} vs {want}");
        }
    }
}

/// The fused scan's dot products are sgemm's bits, as the matmul kernel's twin computes
/// them: the same neighbours and distances as scanning a whole Gram matrix, also past one
/// sgemm depth block (256 dimensions) and at sizes off every step of the scan.
#[test]
fn knn_distances_are_those_of_the_gram_matrix_by_sgemm() {
    let mut rng = rng(7);
    for (n, d, k) in [(203, 5, 4), (150, 300, 6), (67, 784, 3)] {
        let points = uniform(&mut rng, n * d, 0.0, 1.0);
        let dots = aeclust::reference::gemm(false, true, &points, &points, (n, n, d));
        let norms: Vec<f32> = points
            .chunks(d)
            .map(|p| p.iter().map(|v| v * v).sum())
            .collect();
        let neighbours = knn(&points, n, d, k);
        for i in 0..n {
            let candidates = (0..n).filter(|&j| j != i).map(|j| {
                let d2 = (norms[i] + norms[j] - 2.0 * dots[i * n + j]).max(0.0);
                (j as u32, d2)
            });
            let (want, want_d) = nearest(candidates, k);
            let at = i * k..(i + 1) * k;
            assert_eq!(neighbours.indices[at.clone()], want, "d {d}: point {i}");
            assert_eq!(neighbours.squared[at], want_d, "d {d}: point {i}");
        }
    }
}

#[test]
fn memberships_sum_to_log2_of_k_plus_one_and_the_graph_is_symmetric() {
    let mut rng = rng(5);
    let (n, d, k) = (200, 4, 8);
    let points = uniform(&mut rng, n * d, -1.0, 1.0);
    let neighbours = knn(&points, n, d, k);
    let (indices, squared) = (&neighbours.indices, &neighbours.squared);
    let weights = memberships(squared, k);
    for row in weights.chunks(k) {
        assert_eq!(row[0], 1.0, "the nearest neighbour has weight 1");
        let sum: f32 = row.iter().sum();
        assert!(
            (sum - ((k + 1) as f32).log2()).abs() < 1e-3,
            "row sums to {sum}"
        );
    }
    let graph = symmetrize(indices, &weights, n, k);
    let weight = |i: usize, j: u32| {
        let row = graph.offsets[i] as usize..graph.offsets[i + 1] as usize;
        row.clone()
            .find(|&e| graph.targets[e] == j)
            .map(|e| graph.weights[e])
    };
    for i in 0..n {
        for e in graph.offsets[i] as usize..graph.offsets[i + 1] as usize {
            let j = graph.targets[e];
            assert_eq!(weight(j as usize, i as u32), Some(graph.weights[e]));
            assert!(graph.weights[e] > 0.0 && graph.weights[e] <= 1.0);
        }
    }
}

#[test]
fn negative_samples_cover_the_points_evenly() {
    let n = 97;
    let mut counts = vec![0u32; n as usize];
    for e in 0..2000 {
        for s in 0..5 {
            counts[negative_sample(3, 7, e, s, n) as usize] += 1;
        }
    }
    let expected = 10_000.0 / n as f64;
    for c in counts {
        assert!((f64::from(c) - expected).abs() < 0.5 * expected, "{c}");
    }
}

/// Five well separated blobs of 60 points in 20 dimensions: (points, n, d, per blob).
fn blobs() -> (Vec<f32>, usize, usize, usize) {
    let mut rng = rng(6);
    let (per, d) = (60, 20);
    let mut points = Vec::new();
    for blob in 0..5 {
        let centre = uniform(&mut rng, d, -20.0, 20.0);
        for _ in 0..per {
            let noise = uniform(&mut rng, d, -1.0, 1.0);
            points.extend(centre.iter().zip(noise).map(|(c, e)| c + e + blob as f32));
        }
    }
    (points, 5 * per, d, per)
}

/// Every point of a 2-d embedding of `blobs` is nearer its own blob's centre than any other's.
fn assert_blobs_separate(embedded: &[f32], per: usize) {
    let centre = |b: usize| -> [f32; 2] {
        let mut c = [0.0; 2];
        for p in embedded[b * per * 2..(b + 1) * per * 2].chunks(2) {
            c[0] += p[0] / per as f32;
            c[1] += p[1] / per as f32;
        }
        c
    };
    let dist = |p: &[f32], c: [f32; 2]| ((p[0] - c[0]).powi(2) + (p[1] - c[1]).powi(2)).sqrt();
    for b in 0..5 {
        for p in embedded[b * per * 2..(b + 1) * per * 2].chunks(2) {
            let own = dist(p, centre(b));
            for other in (0..5).filter(|&o| o != b) {
                assert!(
                    own < dist(p, centre(other)),
                    "a point of blob {b} sits in {other}"
                );
            }
        }
    }
}

#[test]
fn umap_separates_blobs_and_repeats_itself() {
    let (points, n, d, per) = blobs();
    let config = UmapConfig {
        neighbors: 10,
        dims: 2,
        epochs: Some(200),
        ..Default::default()
    };
    for_each_device(|device| {
        let embedded = umap(device, &points, (n, d), &config).unwrap();
        assert_eq!(embedded, umap(device, &points, (n, d), &config).unwrap());
        assert_blobs_separate(&embedded, per);
    });
}

#[test]
fn edge_colours_share_no_end_and_cover_every_edge_once() {
    let mut rng = rng(12);
    let (n, d, k) = (250, 6, 9);
    let graph = random_knn_graph(&mut rng, n, d, k);
    let edges = colour_edges(&graph);
    assert_eq!(edges.ends.len() * 2, graph.targets.len());
    for c in 0..edges.colours() {
        let mut seen = vec![false; n];
        for &[i, j, forward, reverse] in
            &edges.ends[edges.offsets[c] as usize..edges.offsets[c + 1] as usize]
        {
            for v in [i, j] {
                assert!(!seen[v as usize], "colour {c} touches point {v} twice");
                seen[v as usize] = true;
            }
            assert_eq!(graph.targets[forward as usize], j);
            assert_eq!(graph.targets[reverse as usize], i);
        }
    }
}

#[test]
fn cpu_layout_epochs_in_parallel_equal_one_edge_at_a_time() {
    let mut rng = rng(13);
    // Enough points that a colour holds more edges than one parallel task takes.
    let (n, d, k, dims) = (4000, 5, 9, 4);
    let graph = random_knn_graph(&mut rng, n, d, k);
    let problem = layout_problem(&graph, Curve::fit(0.0), dims, 7);
    let widest = (0..problem.edges.colours())
        .map(|c| problem.edges.offsets[c + 1] - problem.edges.offsets[c])
        .max()
        .unwrap();
    assert!(widest > 1024, "colours of {widest} edges run in one task");
    let initial = uniform(&mut rng, n * dims, 0.0, 10.0);
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            (1..=5).fold(initial.clone(), |layout, epoch| {
                problem.epoch(&layout, epoch, 5)
            })
        })
    };
    let one_at_a_time = (1..=5).fold(initial.clone(), |layout, epoch| {
        epoch_one_edge_at_a_time(&problem, &layout, epoch, 5)
    });
    let bits = |layout: Vec<f32>| layout.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(run(1)), bits(one_at_a_time.clone()));
    assert_eq!(bits(run(4)), bits(one_at_a_time));
}

/// umap-learn's epoch as it reads: the sampled edges one at a time (colour after colour, in
/// order), each moving its head and tail, then pushing its head from negative samples read
/// from the previous epoch.
fn epoch_one_edge_at_a_time(
    problem: &LayoutProblem,
    previous: &[f32],
    epoch: u32,
    epochs: u32,
) -> Vec<f32> {
    let (dims, n) = (problem.dims, problem.n);
    let Curve { a, b } = problem.curve;
    let alpha = 1.0 - (epoch - 1) as f32 / epochs as f32;
    let mut positions = previous.to_vec();
    for &[i, j, forward, reverse] in &problem.edges.ends {
        let period = problem.epochs_per_sample[forward as usize];
        let (now, before) = (epoch as f32 / period, (epoch - 1) as f32 / period);
        if !(now.is_nan() || now as u32 > before as u32) {
            continue;
        }
        for (head, tail, edge) in [(i, j, forward), (j, i, reverse)] {
            let (head, tail) = (head as usize * dims, tail as usize * dims);
            let d2: f32 = (0..dims)
                .map(|c| (positions[head + c] - positions[tail + c]).powi(2))
                .sum();
            if d2 > 0.0 {
                let coeff = -2.0 * a * b * d2.powf(b - 1.0) / (a * d2.powf(b) + 1.0);
                for c in 0..dims {
                    let grad =
                        (coeff * (positions[head + c] - positions[tail + c])).clamp(-4.0, 4.0);
                    positions[head + c] += grad * alpha;
                    positions[tail + c] += -(grad * alpha);
                }
            }
            for s in 0..NEGATIVE_RATE {
                let other = negative_sample(problem.seed, epoch, edge, s, n as u32) as usize;
                if other * dims == head {
                    continue;
                }
                let other = &previous[other * dims..][..dims];
                let d2: f32 = (0..dims)
                    .map(|c| (positions[head + c] - other[c]) * (positions[head + c] - other[c]))
                    .sum();
                let coeff = if d2 > 0.0 {
                    2.0 * b / ((0.001 + d2) * (a * d2.powf(b) + 1.0))
                } else {
                    0.0
                };
                for c in 0..dims {
                    let grad = if coeff > 0.0 {
                        (coeff * (positions[head + c] - other[c])).clamp(-4.0, 4.0)
                    } else {
                        4.0
                    };
                    positions[head + c] += grad * alpha;
                }
            }
        }
    }
    positions
}

#[test]
fn spectral_layout_does_not_depend_on_how_many_columns_share_a_pass() {
    // Column c of the power iteration depends only on columns 0..=c (modified Gram-Schmidt in
    // order, the random start drawn column by column), so the first dimensions agree to the
    // bit whatever the width of the passes that multiply them: 1 + 1, 4, 8 and 12 + 2
    // columns.
    let mut rng = rng(17);
    let (n, d, k) = (500, 6, 8);
    let graph = random_knn_graph(&mut rng, n, d, k);
    let widest = spectral_layout(&graph, n, 13, 3);
    for dims in [1, 3, 7] {
        let narrow = spectral_layout(&graph, n, dims, 3);
        for i in 0..n {
            let (got, want) = (&narrow[i * dims..][..dims], &widest[i * 13..][..dims]);
            assert!(
                got.iter()
                    .zip(want)
                    .all(|(a, b)| a.to_bits() == b.to_bits()),
                "{dims} dimensions, point {i}: {got:?} vs {want:?}"
            );
        }
    }
}

#[test]
fn spectral_layout_separates_two_loosely_joined_cliques() {
    // Two cliques of 20 joined by one edge: the first non-trivial eigenvector (the Fiedler
    // vector) has one sign per clique, so the first dimension splits them.
    let size = 20;
    let n = 2 * size;
    let clique = |i: usize| i / size;
    let (mut offsets, mut targets, mut weights) = (vec![0u32], Vec::new(), Vec::new());
    for i in 0..n {
        for j in 0..n {
            let bridge = (i, j) == (size - 1, size) || (i, j) == (size, size - 1);
            if i != j && (clique(i) == clique(j) || bridge) {
                targets.push(j as u32);
                weights.push(1.0);
            }
        }
        offsets.push(targets.len() as u32);
    }
    let graph = Graph {
        offsets,
        targets,
        weights,
    };
    let layout = spectral_layout(&graph, n, 2, 0);
    let first: Vec<f32> = layout.chunks(2).map(|p| p[0]).collect();
    let (left, right) = first.split_at(size);
    let (lo, hi) = if left[0] < right[0] {
        (left, right)
    } else {
        (right, left)
    };
    let lo_max = lo.iter().fold(f32::MIN, |m, &v| m.max(v));
    let hi_min = hi.iter().fold(f32::MAX, |m, &v| m.min(v));
    assert!(lo_max < hi_min, "the cliques overlap: {first:?}");
}
