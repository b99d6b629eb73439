//! A clustering kept as a file, to place new points in it later (scikit-learn's `predict`,
//! umap-learn's `transform`): the centroids and the scale k-means measured them in, the model
//! whose codes were clustered (a digest of its weights), and with UMAP the reference points,
//! their embedding and the fitted curve.
//!
//! One safetensors file: tensors `centroids` [k, width], and with UMAP `umap.reference`
//! [n, features] and `umap.embedding` [n, dims]; metadata keys `aeclust.*` (see `save`).

use std::collections::HashMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use safetensors::SafeTensors;

use super::{Features, KmeansResult};
use crate::device::Device;
use crate::embed::{transform_epochs, NeighbourSearch, Reference, UmapConfig};
use crate::model_file::{read_tensor, write_tensors};
use crate::reference::umap_layout::Curve;
use crate::scale::FeatureScale;

const KIND: &str = "aeclust.kind";
const KIND_VALUE: &str = "clustering";
const MODEL: &str = "aeclust.model_sha256";
const FEATURES: &str = "aeclust.features";
const K: &str = "aeclust.k";
const KMEANS_SCALE: &str = "aeclust.kmeans_scale_exponent";
const UMAP_NEIGHBORS: &str = "aeclust.umap.neighbors";
const UMAP_DIMS: &str = "aeclust.umap.dims";
const UMAP_MIN_DIST: &str = "aeclust.umap.min_dist";
const UMAP_SEED: &str = "aeclust.umap.seed";
const UMAP_CURVE: &str = "aeclust.umap.curve";
const UMAP_SCALE: &str = "aeclust.umap.scale_exponent";

/// What a clustering needs to place new points.
#[derive(Clone, Debug, PartialEq)]
pub struct SavedClustering {
    pub k: usize,
    /// Values per point clustered (the code width).
    pub features: usize,
    /// The hex SHA-256 (`model_file::digest`) of the model whose codes were clustered; none
    /// for features from a file.
    pub model_digest: Option<String>,
    /// The centroids (k x width), in the space k-means ran in: the features, or their UMAP
    /// embedding.
    pub centroids: Vec<f32>,
    /// The power of two k-means divided that space by.
    pub kmeans_scale: FeatureScale,
    pub umap: Option<SavedUmap>,
}

/// A UMAP embedding kept as the reference for new points.
#[derive(Clone, Debug, PartialEq)]
pub struct SavedUmap {
    pub config: UmapConfig,
    pub curve: Curve,
    /// The points embedded (n x features), as given.
    pub reference: Vec<f32>,
    /// The power of two UMAP divided them by.
    pub scale: FeatureScale,
    /// Their embedding (n x dims).
    pub embedding: Vec<f32>,
}

/// Each point's cluster and squared distance to its centroid (in the space k-means ran in).
pub struct Placement {
    pub labels: Vec<u32>,
    pub distances: Vec<f64>,
}

impl SavedClustering {
    /// The clustering `result` of the n x d `features` (with `umap`, of their `embedding`),
    /// from the codes of the model of `model_digest`.
    pub fn of(
        features: Features,
        result: &KmeansResult,
        umap: Option<(&UmapConfig, &[f32])>,
        model_digest: Option<String>,
    ) -> Self {
        let space = umap.map_or(features.values, |(_, embedding)| embedding);
        SavedClustering {
            k: result.centroids.len() / umap.map_or(features.d, |(config, _)| config.dims),
            features: features.d,
            model_digest,
            centroids: result.centroids.clone(),
            kmeans_scale: FeatureScale::of(space),
            umap: umap.map(|(config, embedding)| SavedUmap {
                config: config.clone(),
                curve: Curve::fit(config.min_dist),
                reference: features.values.to_vec(),
                scale: FeatureScale::of(features.values),
                embedding: embedding.to_vec(),
            }),
        }
    }

    /// Width of the space k-means ran in.
    fn width(&self) -> usize {
        self.umap.as_ref().map_or(self.features, |u| u.config.dims)
    }

    /// Writes the clustering to `path` (atomically).
    pub fn save(&self, path: &Path) -> Result<()> {
        let bytes = |v: &[f32]| bytemuck::cast_slice::<f32, u8>(v).to_vec();
        let mut tensors = vec![(
            "centroids".to_string(),
            vec![self.k, self.width()],
            bytes(&self.centroids),
        )];
        let mut meta = HashMap::from([
            (KIND.to_string(), KIND_VALUE.to_string()),
            (FEATURES.into(), self.features.to_string()),
            (K.into(), self.k.to_string()),
            (
                KMEANS_SCALE.into(),
                self.kmeans_scale.exponent().to_string(),
            ),
        ]);
        if let Some(digest) = &self.model_digest {
            meta.insert(MODEL.into(), digest.clone());
        }
        if let Some(umap) = &self.umap {
            let n = umap.reference.len() / self.features;
            tensors.push((
                "umap.reference".into(),
                vec![n, self.features],
                bytes(&umap.reference),
            ));
            tensors.push((
                "umap.embedding".into(),
                vec![n, umap.config.dims],
                bytes(&umap.embedding),
            ));
            meta.extend([
                (UMAP_NEIGHBORS.into(), umap.config.neighbors.to_string()),
                (UMAP_DIMS.into(), umap.config.dims.to_string()),
                (UMAP_MIN_DIST.into(), umap.config.min_dist.to_string()),
                (UMAP_SEED.into(), umap.config.seed.to_string()),
                (
                    UMAP_CURVE.into(),
                    format!("{},{}", umap.curve.a, umap.curve.b),
                ),
                (UMAP_SCALE.into(), umap.scale.exponent().to_string()),
            ]);
        }
        write_tensors(path, &tensors, meta)
    }

    /// Reads a clustering written by `save`, checking that its parts fit together.
    pub fn load(path: &Path) -> Result<Self> {
        let shown = path.display();
        let bytes = crate::input::read(path).context("cannot read the clustering")?;
        let not_one = |e: safetensors::SafeTensorError| {
            anyhow::anyhow!("{shown} is not a clustering file: {e}")
        };
        let (_, metadata) = SafeTensors::read_metadata(&bytes).map_err(not_one)?;
        let tensors = SafeTensors::deserialize(&bytes).map_err(not_one)?;
        let meta = metadata.metadata().clone().unwrap_or_default();
        if meta.get(KIND).map(String::as_str) != Some(KIND_VALUE) {
            bail!("{shown} is not a clustering file (no {KIND} = {KIND_VALUE})");
        }
        let value = |key: &str| -> Result<&String> {
            meta.get(key)
                .with_context(|| format!("{shown}: the clustering has no {key}"))
        };
        let number = |key: &str| -> Result<i64> {
            let text = value(key)?;
            text.parse()
                .with_context(|| format!("{shown}: bad {key} {text:?}"))
        };
        let count = |key: &str| -> Result<usize> {
            usize::try_from(number(key)?)
                .ok()
                .filter(|&v| v > 0)
                .with_context(|| format!("{shown}: {key} must be a positive count"))
        };
        let exponent = |key: &str| -> Result<FeatureScale> {
            i32::try_from(number(key)?)
                .ok()
                .filter(|e| e.abs() <= 200)
                .map(FeatureScale::from_exponent)
                .with_context(|| format!("{shown}: bad {key}"))
        };
        let (k, features) = (count(K)?, count(FEATURES)?);
        let umap = match meta.get(UMAP_DIMS) {
            None => None,
            Some(_) => {
                let dims = count(UMAP_DIMS)?;
                let reference_shape = tensors
                    .tensor("umap.reference")
                    .map(|t| t.shape().to_vec())
                    .map_err(|_| anyhow::anyhow!("{shown}: tensor umap.reference is missing"))?;
                let n = reference_shape.first().copied().unwrap_or(0);
                let curve: Vec<f32> = value(UMAP_CURVE)?
                    .split(',')
                    .map(|v| v.parse::<f32>().ok().filter(|v| v.is_finite() && *v > 0.0))
                    .collect::<Option<_>>()
                    .with_context(|| format!("{shown}: bad {UMAP_CURVE}"))?;
                let [a, b] = curve[..] else {
                    bail!("{shown}: bad {UMAP_CURVE}");
                };
                let min_dist: f32 = value(UMAP_MIN_DIST)?
                    .parse()
                    .with_context(|| format!("{shown}: bad {UMAP_MIN_DIST}"))?;
                let config = UmapConfig {
                    neighbors: count(UMAP_NEIGHBORS)?,
                    dims,
                    min_dist,
                    epochs: None,
                    search: NeighbourSearch::Auto,
                    seed: number(UMAP_SEED)? as u64,
                };
                config
                    .check_points(n, features)
                    .with_context(|| format!("{shown}: a damaged UMAP reference"))?;
                Some(SavedUmap {
                    reference: read_tensor(&tensors, "umap.reference", &[n, features], &shown)?,
                    embedding: read_tensor(&tensors, "umap.embedding", &[n, dims], &shown)?,
                    scale: exponent(UMAP_SCALE)?,
                    curve: Curve { a, b },
                    config,
                })
            }
        };
        let width = umap.as_ref().map_or(features, |u| u.config.dims);
        let saved = SavedClustering {
            k,
            features,
            model_digest: meta.get(MODEL).cloned(),
            centroids: read_tensor(&tensors, "centroids", &[k, width], &shown)?,
            kmeans_scale: exponent(KMEANS_SCALE)?,
            umap,
        };
        if !saved.scales_fit() {
            bail!("{shown}: the clustering is damaged: its scales do not fit its values");
        }
        Ok(saved)
    }

    /// Whether the scales fit the values they were taken from: the reference's and the
    /// embedding's exactly (both are kept), the centroids' within the range k-means measured
    /// them in (their squares neither overflow nor underflow f32).
    fn scales_fit(&self) -> bool {
        if let Some(umap) = &self.umap {
            return FeatureScale::of(&umap.reference) == umap.scale
                && FeatureScale::of(&umap.embedding) == self.kmeans_scale;
        }
        let largest = self
            .kmeans_scale
            .apply(&self.centroids)
            .iter()
            .fold(0.0f32, |m, v| m.max(v.abs()));
        let top = if self.kmeans_scale.exponent() == 0 {
            2f32.powi(20)
        } else {
            1.0
        };
        largest == 0.0 || (2f32.powi(-60)..=top).contains(&largest)
    }

    /// Fails unless these features (from the model of `digest`, or from a file when none) are
    /// the kind this clustering was made from.
    pub fn check_features(&self, digest: Option<&str>, width: usize) -> Result<()> {
        match (&self.model_digest, digest) {
            (None, Some(_)) => bail!(
                "the clustering was made from a file of codes, so it cannot tell which model \
                 they came from; give the codes to assign with --codes"
            ),
            (Some(made), Some(given)) if made != given => bail!(
                "the clustering was made from the codes of another model (weights digest \
                 {}..., this model's {}...)",
                &made[..made.len().min(12)],
                &given[..given.len().min(12)]
            ),
            _ => {}
        }
        if width != self.features {
            bail!(
                "the clustering was made from features of {} values, these have {width}",
                self.features
            );
        }
        Ok(())
    }

    /// The space k-means ran in for the n x features `points`: the points, or their place in
    /// the UMAP embedding.
    pub fn embed(&self, points: &[f32]) -> Vec<f32> {
        let Some(umap) = &self.umap else {
            return points.to_vec();
        };
        let scaled = umap.scale.apply(points);
        let reference_scaled = umap.scale.apply(&umap.reference);
        let reference = Reference {
            points: &reference_scaled,
            d: self.features,
            embedding: &umap.embedding,
            dims: umap.config.dims,
            neighbors: umap.config.neighbors,
            curve: umap.curve,
            seed: umap.config.seed as u32,
        };
        reference.transform(&scaled)
    }

    /// The layout epochs a new point gets (for the report).
    pub fn transform_epochs(&self) -> Option<usize> {
        let umap = self.umap.as_ref()?;
        Some(transform_epochs(umap.reference.len() / self.features))
    }

    /// Each of the n x features `points`' cluster on `device`: its nearest centroid in the
    /// space k-means ran in, measured as k-means measured it, so the points clustered get
    /// their own clusters back (with UMAP, their places are found anew).
    pub fn assign(&self, device: &Device, points: &[f32]) -> Result<Placement> {
        if points.iter().any(|v| !v.is_finite()) {
            bail!("the features hold NaN or infinite values");
        }
        let n = points.len() / self.features;
        let space = self.embed(points);
        let width = self.width();
        let scaled = self.kmeans_scale.apply(&space);
        let centroids = self.kmeans_scale.apply(&self.centroids);
        let mut engine = device.kmeans_engine(&scaled, n, width, self.k)?;
        let (labels, distances) = engine.assign(&centroids)?;
        let square = self.kmeans_scale.factor().powi(2);
        Ok(Placement {
            labels,
            distances: distances.iter().map(|&d| f64::from(d) * square).collect(),
        })
    }
}
