use std::time::Instant;

use anyhow::Result;

use super::metrics::{accuracy, ari, nmi};
use super::{kmeans, KmeansConfig, KmeansResult};
use crate::device::Device;

/// One clustering of one feature set, as reported.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ClusterRun {
    /// "codes" or "pixels".
    pub features: String,
    pub samples: usize,
    pub dims: usize,
    pub k: usize,
    pub inertia: f64,
    pub iterations: usize,
    pub seconds: f64,
    /// Scores against the true labels, where there are labels.
    pub acc: Option<f64>,
    pub nmi: Option<f64>,
    pub ari: Option<f64>,
}

/// k-means of `points` (n x d) on `device`, timed and scored against `labels`.
pub fn cluster_features(
    device: &Device,
    features: &str,
    points: &[f32],
    (n, d): (usize, usize),
    labels: Option<&[u8]>,
    config: &KmeansConfig,
) -> Result<(ClusterRun, KmeansResult)> {
    let start = Instant::now();
    let result = kmeans(device, points, n, d, config)?;
    let seconds = start.elapsed().as_secs_f64();
    let score = |f: fn(&[u32], &[u8]) -> f64| labels.map(|l| f(&result.labels, l));
    let run = ClusterRun {
        features: features.into(),
        samples: n,
        dims: d,
        k: config.k,
        inertia: result.inertia,
        iterations: result.iterations,
        seconds,
        acc: score(accuracy),
        nmi: score(nmi),
        ari: score(ari),
    };
    Ok((run, result))
}
