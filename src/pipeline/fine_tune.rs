//! `--fine-tune`: the encoder trained further towards the clusters found on its codes (DEC,
//! Xie et al. 2016, on moved images as DEC-DA, Guo et al. 2018), so that the clusters are
//! sharper than the codes' own: every cluster's mean code is a centre to start from, and every
//! epoch pulls each image's code (and the centres) towards the centres its target (its
//! sharpened soft assignment at the epoch's start) favours. The clusters are then the nearest
//! centre of each fine-tuned code.

use std::time::Instant;

use anyhow::{bail, Result};

use super::Events;
use crate::cluster::{metrics, ClusterRun, Features, KmeansResult, SavedClustering};
use crate::data::{Dataset, Shape};
use crate::device::Device;
use crate::domain::{check_dec, check_moved_image};
use crate::model::{ModelSpec, Params};
use crate::optim::AdamConfig;
use crate::train::{fit, ClusterObjective, Objective, TrainConfig};

/// How to fine-tune: DEC-DA's settings unless changed.
#[derive(Clone, Debug, serde::Serialize)]
pub struct FineTunePlan {
    pub epochs: usize,
    /// Each image moves by up to this many whole pixels each way, drawn per image and epoch.
    pub max_move: usize,
    /// Each image turns by up to this many degrees either way, drawn per image and epoch.
    pub max_turn: f64,
    pub lr: f32,
    pub batch: usize,
    pub seed: u64,
    /// The share of images that must stay in their cluster (after matching the clusters
    /// one to one) for the fine-tuned clusters to be kept; below it the clusters it started
    /// from stay.
    pub keep_agreement: f64,
}

impl Default for FineTunePlan {
    fn default() -> Self {
        FineTunePlan {
            epochs: 0,
            max_move: 2,
            max_turn: 10.0,
            lr: 1e-4,
            batch: 256,
            seed: 0,
            keep_agreement: 0.9,
        }
    }
}

impl FineTunePlan {
    /// Fails unless `n` images of `shape` with codes of `d` values fit a fine-tuning into `k`
    /// clusters (before any work).
    pub fn check(&self, n: usize, d: usize, k: usize, shape: Shape) -> Result<()> {
        if !(self.lr.is_finite() && self.lr > 0.0) {
            bail!("--fine-tune-lr must be a positive number, got {}", self.lr);
        }
        if self.batch == 0 {
            bail!("the fine-tuning batch must be at least 1");
        }
        if self.max_move >= shape.rows.max(shape.cols) {
            bail!(
                "--fine-tune-move must be smaller than the images ({}), got {}",
                shape,
                self.max_move
            );
        }
        if !(0.0..=1.0).contains(&self.keep_agreement) {
            bail!(
                "--fine-tune-keep must be between 0 and 1, got {}",
                self.keep_agreement
            );
        }
        if !(0.0..=180.0).contains(&self.max_turn) {
            bail!(
                "--fine-tune-turn must be between 0 and 180 degrees, got {}",
                self.max_turn
            );
        }
        check_dec(n, d, k, self.max_move)?;
        check_moved_image(shape.rows, shape.cols)
    }
}

/// What fine-tuning gave.
pub struct FineTuned {
    /// The model with its encoder fine-tuned (the decoder as it was).
    pub params: Params,
    /// The images' codes through it (n x d).
    pub codes: Vec<f32>,
    /// The clustering: each code's nearest centre, the centres as its centroids.
    pub result: KmeansResult,
    /// The run as the report lists it ("codes+fine-tuned").
    pub run: ClusterRun,
    /// The share of images in the cluster they started in (clusters matched one to one).
    pub agreement: f64,
}

impl FineTuned {
    /// Whether the fine-tuned clusters refine the ones they started from (`plan`'s
    /// agreement), rather than replace them: self-training has no evidence to overrule the
    /// clustering it was given on many images, and where it did (the 8 x 8 digits, 35-58 %
    /// kept against MNIST's 98 %) its clusters were worse.
    pub fn kept(&self, plan: &FineTunePlan) -> bool {
        self.agreement >= plan.keep_agreement
    }
}

/// Each cluster's mean code (k x d); a cluster without members takes the mean of all codes.
fn mean_codes(codes: Features, labels: &[u32], k: usize) -> Vec<f32> {
    let d = codes.d;
    let mut sums = vec![0.0f64; (k + 1) * d];
    let mut counts = vec![0usize; k + 1];
    for (code, &label) in codes.values.chunks(d).zip(labels) {
        for slot in [label as usize, k] {
            counts[slot] += 1;
            for (s, &v) in sums[slot * d..(slot + 1) * d].iter_mut().zip(code) {
                *s += f64::from(v);
            }
        }
    }
    (0..k)
        .flat_map(|j| {
            let from = if counts[j] > 0 { j } else { k };
            let (sums, count) = (&sums[from * d..(from + 1) * d], counts[from].max(1));
            sums.iter().map(move |&s| (s / count as f64) as f32)
        })
        .collect()
}

/// Fine-tunes the encoder of the model (`spec`, `params`) on `data`, whose codes are `codes`
/// and whose clusters are `labels` (`k` of them), as `plan` says; the epochs are reported to
/// `events`, and the result scored against `truth` when known.
#[allow(clippy::too_many_arguments)]
pub fn fine_tune(
    device: &Device,
    (spec, params): (&ModelSpec, &Params),
    data: &Dataset,
    codes: Features,
    (labels, k): (&[u32], usize),
    plan: &FineTunePlan,
    truth: Option<&[u8]>,
    events: &mut dyn Events,
) -> Result<FineTuned> {
    let shape = data.shape();
    plan.check(data.count, codes.d, k, shape)?;
    let start = Instant::now();
    let objective = ClusterObjective {
        centres: mean_codes(codes, labels, k),
        k,
        max_move: plan.max_move,
        max_turn: plan.max_turn,
        cols: shape.cols,
        channels: shape.channels,
    };
    let config = TrainConfig {
        epochs: plan.epochs,
        batch: plan.batch,
        adam: AdamConfig {
            lr: plan.lr,
            ..AdamConfig::default()
        },
        seed: plan.seed,
        first_epoch: 0,
        objective: Objective::Clusters(objective),
    };
    let mut trainer = device.trainer(spec, params, data, data, &config)?;
    fit(
        trainer.as_mut(),
        &config,
        data.count,
        |_| Ok(()),
        |stats, _| {
            events.info(&format!(
                "fine-tune epoch {}/{}: loss {:.5}, unmoved {:.5}, {:.1} s",
                stats.epoch, plan.epochs, stats.loss, stats.val_loss, stats.seconds
            ));
            Ok(())
        },
    )?;
    let (params, centres) = (trainer.params()?, trainer.centres()?);
    drop(trainer);
    let tuned = device.encoder().encode(spec, &params, data)?;
    let features = Features {
        values: &tuned,
        n: data.count,
        d: codes.d,
    };
    let nearest = KmeansResult {
        labels: Vec::new(),
        centroids: centres,
        distances: Vec::new(),
        inertia: 0.0,
        iterations: plan.epochs,
    };
    let placement = SavedClustering::of(features, &nearest, None, None).assign(device, &tuned)?;
    let result = KmeansResult {
        inertia: placement.distances.iter().sum(),
        labels: placement.labels,
        distances: placement.distances,
        ..nearest
    };
    // k <= DEC_MAX_K = 256: every cluster index fits a byte.
    let started: Vec<u8> = labels.iter().map(|&l| l as u8).collect();
    let agreement = metrics::accuracy(&result.labels, &started);
    let score = |f: fn(&[u32], &[u8]) -> f64| truth.map(|t| f(&result.labels, t));
    let run = ClusterRun {
        features: "codes+fine-tuned".into(),
        samples: data.count,
        dims: codes.d,
        k,
        inertia: result.inertia,
        iterations: plan.epochs,
        seconds: start.elapsed().as_secs_f64(),
        acc: score(metrics::accuracy),
        nmi: score(metrics::nmi),
        ari: score(metrics::ari),
        embedding: None,
    };
    Ok(FineTuned {
        params,
        codes: tuned,
        result,
        run,
        agreement,
    })
}
