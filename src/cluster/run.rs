use std::time::Instant;

use anyhow::Result;

use super::metrics::{accuracy, ari, nmi};
use super::{kmeans, KmeansConfig, KmeansResult};
use crate::device::Device;
use crate::embed::{Graph, UmapConfig};

/// How the features were embedded before k-means, and how long it took.
#[derive(Clone, Debug, serde::Serialize)]
pub struct EmbeddingRun {
    pub method: &'static str,
    #[serde(flatten)]
    pub config: UmapConfig,
    /// The neighbour search that ran ("exact" or "nn-descent").
    pub neighbour_search_used: &'static str,
    pub layout_epochs: usize,
    pub seconds: f64,
}

/// One clustering of one feature set, as reported.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ClusterRun {
    /// "codes" or "pixels", with "+umap" when embedded first.
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
    /// The embedding the k-means ran on, if any.
    pub embedding: Option<EmbeddingRun>,
}

/// A feature matrix: `n` rows of `d` values.
#[derive(Clone, Copy, Debug)]
pub struct Features<'a> {
    pub values: &'a [f32],
    pub n: usize,
    pub d: usize,
}

/// k-means of `features` on `device`, timed and scored against `labels`; the run is named
/// `name` ("codes", "pixels").
pub fn cluster_features(
    device: &Device,
    name: &str,
    features: Features,
    labels: Option<&[u8]>,
    config: &KmeansConfig,
) -> Result<(ClusterRun, KmeansResult)> {
    let Features { values, n, d } = features;
    let start = Instant::now();
    let result = kmeans(device, values, n, d, config)?;
    let seconds = start.elapsed().as_secs_f64();
    let score = |f: fn(&[u32], &[u8]) -> f64| labels.map(|l| f(&result.labels, l));
    let run = ClusterRun {
        features: name.into(),
        samples: n,
        dims: d,
        k: config.k,
        inertia: result.inertia,
        iterations: result.iterations,
        seconds,
        acc: score(accuracy),
        nmi: score(nmi),
        ari: score(ari),
        embedding: None,
    };
    Ok((run, result))
}

/// UMAP of `features`, then k-means of the embedding, timed and scored; the run is named
/// `name` + "+umap". Returns the embedding and its graph too.
pub fn embed_and_cluster(
    device: &Device,
    name: &str,
    features: Features,
    labels: Option<&[u8]>,
    kmeans: &KmeansConfig,
    umap: &UmapConfig,
) -> Result<(ClusterRun, KmeansResult, Vec<f32>, Graph)> {
    let n = features.n;
    let (start, d) = (Instant::now(), features.d);
    let (embedded, graph) = crate::embed::umap_with_graph(device, features.values, (n, d), umap)?;
    let seconds = start.elapsed().as_secs_f64();
    let features = Features {
        values: &embedded,
        n,
        d: umap.dims,
    };
    let name = format!("{name}+umap");
    let (mut run, result) = cluster_features(device, &name, features, labels, kmeans)?;
    run.embedding = Some(EmbeddingRun {
        method: "umap",
        config: umap.clone(),
        neighbour_search_used: umap.search.resolve(n, d, umap.neighbors - 1).name(),
        layout_epochs: umap.epochs_for(n),
        seconds,
    });
    Ok((run, result, embedded, graph))
}
