use anyhow::{bail, Result};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::device::Device;
use crate::domain::{check_kmeans, KMEANS_MAX_K};
use crate::scale::FeatureScale;
use crate::simd::fast_fn;

/// How the first centroids are chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Init {
    /// k distinct points drawn uniformly.
    Random,
    /// scikit-learn's greedy k-means++ (2 + ln k candidates per centroid).
    #[value(name = "kmeans++")]
    #[serde(rename = "kmeans++")]
    KmeansPlusPlus,
}

impl Init {
    pub fn name(self) -> &'static str {
        match self {
            Init::Random => "random",
            Init::KmeansPlusPlus => "kmeans++",
        }
    }
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct KmeansConfig {
    pub k: usize,
    pub init: Init,
    /// Restarts from different initial centroids; the lowest inertia wins.
    pub n_init: usize,
    pub max_iter: usize,
    /// Stop when the squared centroid shift is at most `tol` x the mean per-feature variance
    /// (scikit-learn's rule).
    pub tol: f64,
    pub seed: u64,
}

impl Default for KmeansConfig {
    fn default() -> Self {
        KmeansConfig {
            k: 10,
            init: Init::KmeansPlusPlus,
            n_init: 10,
            max_iter: 300,
            tol: 1e-4,
            seed: 0,
        }
    }
}

impl KmeansConfig {
    /// Fails on settings that fit no data (see `check_points` for a given data).
    pub fn check(&self) -> Result<()> {
        if self.k == 0 || self.k > KMEANS_MAX_K {
            bail!("--k must be between 1 and {KMEANS_MAX_K}, got {}", self.k);
        }
        if self.n_init == 0 || self.max_iter == 0 {
            bail!("--n-init and --max-iter must be at least 1");
        }
        // The GPU counts iterations in 32 bits.
        if self.max_iter > u32::MAX as usize {
            bail!(
                "--max-iter must be at most {}, got {}",
                u32::MAX,
                self.max_iter
            );
        }
        if !(self.tol.is_finite() && self.tol >= 0.0) {
            bail!("--tol must be a non-negative number, got {}", self.tol);
        }
        Ok(())
    }

    /// Fails unless these settings can cluster `n` points of `d` features (before any work).
    pub fn check_points(&self, n: usize, d: usize) -> Result<()> {
        self.check()?;
        if self.k > n {
            bail!(
                "--k {} is more than the {n} points to cluster; give --k {n} or less",
                self.k
            );
        }
        check_kmeans(n, d, self.k)
    }
}

#[derive(Clone, Debug)]
pub struct KmeansResult {
    pub labels: Vec<u32>,
    pub centroids: Vec<f32>,
    /// Each point's squared distance to its centroid.
    pub distances: Vec<f64>,
    /// Sum of squared distances of the points to their centroids.
    pub inertia: f64,
    /// Lloyd iterations of the winning restart.
    pub iterations: usize,
}

/// k-means of the n x d row-major `points` on `device`. The initial centroids are drawn on
/// the CPU from `config.seed`, so the GPU and the CPU start every restart from the same ones.
pub fn kmeans(
    device: &Device,
    points: &[f32],
    n: usize,
    d: usize,
    config: &KmeansConfig,
) -> Result<KmeansResult> {
    config.check_points(n, d)?;
    if points.iter().any(|v| !v.is_finite()) {
        bail!("the features hold NaN or infinite values");
    }
    let scale = FeatureScale::of(points);
    let scaled = scale.apply(points);
    let mut best = kmeans_scaled(device, &scaled, (n, d), config)?;
    scale.restore(&mut best.centroids);
    let square = scale.factor().powi(2);
    best.inertia *= square;
    best.distances.iter_mut().for_each(|d| *d *= square);
    Ok(best)
}

/// k-means of features whose squared distances fit f32: every restart's initial centroids
/// drawn in turn from the seed, Lloyd's iterations for all of them on the device, and the
/// restart of lowest inertia (the first of equals).
fn kmeans_scaled(
    device: &Device,
    points: &[f32],
    (n, d): (usize, usize),
    config: &KmeansConfig,
) -> Result<KmeansResult> {
    let k = config.k;
    let tol = (config.tol * mean_variance(points, n, d)) as f32;
    let mut engine = device.kmeans_engine(points, n, d, k)?;
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let mut best: Option<KmeansResult> = None;
    // The restarts' initial centroids in turn from the seed, as many at a time as the engine
    // runs together.
    let mut drawn = 0;
    while drawn < config.n_init {
        let count = engine.batch().min(config.n_init - drawn);
        drawn += count;
        let inits: Vec<Vec<f32>> = (0..count)
            .map(|_| match config.init {
                Init::Random => random_init(points, n, d, k, &mut rng),
                Init::KmeansPlusPlus => kmeans_plus_plus(points, n, d, k, &mut rng),
            })
            .collect();
        for restart in engine.lloyd(&inits, config.max_iter, tol)? {
            let distances: Vec<f64> = restart.distances.into_iter().map(f64::from).collect();
            let result = KmeansResult {
                labels: restart.labels,
                centroids: restart.centroids,
                inertia: distances.iter().sum(),
                distances,
                iterations: restart.iterations,
            };
            if best.as_ref().is_none_or(|b| result.inertia < b.inertia) {
                best = Some(result);
            }
        }
    }
    Ok(best.expect("n_init >= 1"))
}

/// The mean over the features of each feature's variance. Every column is summed in row
/// order, walking the rows (not the columns) so that memory is read in order.
fn mean_variance(points: &[f32], n: usize, d: usize) -> f64 {
    let mut sums = vec![0.0f64; d];
    for x in points.chunks(d) {
        for (sum, &v) in sums.iter_mut().zip(x) {
            *sum += f64::from(v);
        }
    }
    let means: Vec<f64> = sums.iter().map(|s| s / n as f64).collect();
    let mut squares = vec![0.0f64; d];
    for x in points.chunks(d) {
        for ((square, &v), mean) in squares.iter_mut().zip(x).zip(&means) {
            *square += (f64::from(v) - mean).powi(2);
        }
    }
    squares.iter().map(|s| s / n as f64).sum::<f64>() / d as f64
}

fn row(points: &[f32], d: usize, i: usize) -> &[f32] {
    &points[i * d..(i + 1) * d]
}

/// The points stored feature-major (`values[j * n + i]` is feature j of point i), for the
/// k-means++ distances, which then run across points in SIMD lanes.
struct Columns {
    n: usize,
    values: Vec<f32>,
}

impl Columns {
    fn new(points: &[f32], n: usize, d: usize) -> Self {
        let mut values = vec![0.0; n * d];
        for (i, x) in points.chunks(d).enumerate() {
            for (j, &v) in x.iter().enumerate() {
                values[j * n + i] = v;
            }
        }
        Columns { n, values }
    }

    /// Every point's squared distance in f64 to each of `centres` (one vector per centre):
    /// per point, the sum over the features in order of (x - c)^2 with x - c in f32. Points
    /// sit in the lanes, each with its own sum in that order, so the result is that of one
    /// point at a time; every centre is measured in the same pass over the points.
    fn squared_distances_to(&self, centres: &[&[f32]]) -> Vec<Vec<f64>> {
        const BLOCK: usize = 256;
        let n = self.n;
        let blocks: Vec<Vec<Vec<f64>>> = (0..n.div_ceil(BLOCK))
            .into_par_iter()
            .map(|b| {
                let len = BLOCK.min(n - b * BLOCK);
                let mut sums = vec![vec![0.0f64; len]; centres.len()];
                sum_block(&self.values, n, centres, b * BLOCK, &mut sums);
                sums
            })
            .collect();
        (0..centres.len())
            .map(|c| blocks.iter().flat_map(|b| b[c].iter().copied()).collect())
            .collect()
    }
}

fast_fn! {
    /// Adds to `sums[c][i]` the squared distance of point `first + i` (of the n points of the
    /// feature-major `values`) to `centres[c]`, feature by feature.
    fn sum_block(
        values: &[f32],
        n: usize,
        centres: &[&[f32]],
        first: usize,
        sums: &mut [Vec<f64>],
    ) {
        let len = sums[0].len();
        for j in 0..centres[0].len() {
            let column = &values[j * n + first..][..len];
            for (centre, sums) in centres.iter().zip(sums.iter_mut()) {
                let c = centre[j];
                for (sum, &x) in sums.iter_mut().zip(column) {
                    *sum += f64::from(x - c) * f64::from(x - c);
                }
            }
        }
    }
}

fn random_init(points: &[f32], n: usize, d: usize, k: usize, rng: &mut ChaCha8Rng) -> Vec<f32> {
    rand::seq::index::sample(rng, n, k)
        .iter()
        .flat_map(|i| row(points, d, i).to_vec())
        .collect()
}

/// scikit-learn's greedy k-means++: each new centroid is the best of 2 + ln k candidates drawn
/// with probability proportional to the squared distance to the nearest chosen centroid.
fn kmeans_plus_plus(
    points: &[f32],
    n: usize,
    d: usize,
    k: usize,
    rng: &mut ChaCha8Rng,
) -> Vec<f32> {
    let trials = 2 + (k as f64).ln() as usize;
    let first = rng.random_range(0..n);
    let mut centroids = row(points, d, first).to_vec();
    let columns = Columns::new(points, n, d);
    let mut closest = columns
        .squared_distances_to(&[row(points, d, first)])
        .remove(0);
    let mut potential: f64 = closest.iter().sum();
    for _ in 1..k {
        let mut cumulative = closest.clone();
        for i in 1..n {
            cumulative[i] += cumulative[i - 1];
        }
        let candidates: Vec<usize> = (0..trials)
            .map(|_| {
                let target = rng.random::<f64>() * potential;
                cumulative.partition_point(|&c| c < target).min(n - 1)
            })
            .collect();
        let centres: Vec<&[f32]> = candidates.iter().map(|&c| row(points, d, c)).collect();
        let (best, best_closest, best_potential) = candidates
            .iter()
            .zip(columns.squared_distances_to(&centres))
            .map(|(&c, to_c)| {
                let updated: Vec<f64> = to_c
                    .into_iter()
                    .zip(&closest)
                    .map(|(to_c, &before)| before.min(to_c))
                    .collect();
                let total = updated.iter().sum::<f64>();
                (c, updated, total)
            })
            .min_by(|a, b| a.2.total_cmp(&b.2))
            .expect("at least two candidates");
        centroids.extend_from_slice(row(points, d, best));
        closest = best_closest;
        potential = best_potential;
    }
    centroids
}
