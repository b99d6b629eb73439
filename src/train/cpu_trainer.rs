use anyhow::{ensure, Result};
use rayon::prelude::*;

use super::{AdamState, ClusterObjective, Objective, Progress, TrainConfig, Trainer};
use crate::data::Dataset;
use crate::domain::check_dec;
use crate::model::{Activation, Loss, ModelSpec, Params};
use crate::network::{forward_into, pack_forward, EVAL_ROWS};
use crate::optim::AdamConfig;
use crate::reference::dec::DecTargets;
use crate::reference::{self, gemm_packed_skipping_zeros_into, gemm_skipping_zeros_into, PackedB};
/// A batch is split over the cores only in parts of at least this many rows.
const MIN_PART_ROWS: usize = 8;
/// Parameters per Adam task.
const ADAM_CHUNK: usize = 16 * 1024;

/// The weights packed once per Adam step for every product that multiplies by them, instead of
/// once per product and part: for the forward products (op(B) = W) and, from layer 1 on, for
/// the input gradients (op(B) = Wᵀ, layer `l` at `l - 1`).
struct PackedWeights {
    forward: Vec<PackedB>,
    backward: Vec<PackedB>,
}

impl PackedWeights {
    fn new(spec: &ModelSpec, params: &Params) -> Self {
        PackedWeights {
            forward: pack_forward(spec, params, spec.layer_count()),
            backward: (1..spec.layer_count())
                .into_par_iter()
                .map(|l| {
                    let (fan_in, fan_out) = spec.layer_shape(l);
                    PackedB::new(true, &params.weights[l], (fan_out, fan_in))
                })
                .collect(),
        }
    }

    /// Packs the new weights of the first `layers` layers of `params` over these.
    fn repack(&mut self, params: &Params, layers: usize) {
        let forward = self.forward.iter_mut().enumerate().take(layers);
        let forward = forward.map(|(l, packed)| (packed, &params.weights[l]));
        let backward = self.backward.iter_mut().enumerate().take(layers - 1);
        let backward = backward.map(|(l, packed)| (packed, &params.weights[l + 1]));
        let all: Vec<_> = forward.chain(backward).collect();
        all.into_par_iter().for_each(|(packed, w)| packed.repack(w));
    }
}

/// One core's share of a batch: its activations (`acts[0]` is the input, `acts[l + 1]` the
/// output of layer `l`), their gradients, and the weight gradients of its rows.
struct Worker {
    acts: Vec<Vec<f32>>,
    /// The input rows grouped by their zeros, for the tiles of the products that take rows
    /// of samples (the forward products and the input gradients).
    row_order: Vec<u32>,
    deltas: Vec<Vec<f32>>,
    grads: Params,
    /// With the clusters objective: its rows' coefficients and its share of the centres'
    /// gradient.
    coefficients: Vec<f32>,
    centre_grads: Vec<f32>,
}

fn zeros_like(p: &Params) -> Params {
    Params {
        weights: p.weights.iter().map(|w| vec![0.0; w.len()]).collect(),
        biases: p.biases.iter().map(|b| vec![0.0; b.len()]).collect(),
    }
}

impl Worker {
    fn new(spec: &ModelSpec, params: &Params, rows: usize) -> Self {
        let sized = || spec.widths.iter().map(|&w| vec![0.0; rows * w]).collect();
        Worker {
            acts: sized(),
            row_order: Vec::new(),
            deltas: sized(),
            grads: zeros_like(params),
            coefficients: Vec::new(),
            centre_grads: Vec::new(),
        }
    }

    /// Loads images `order[range]` of `data` as the input rows, each moved by its entry of
    /// `moves` (on the objective's grid) when there are moves.
    fn gather(
        &mut self,
        data: &Dataset,
        order: &[u32],
        range: std::ops::Range<usize>,
        moves: Option<(&[u32], &ClusterObjective)>,
    ) {
        let width = data.image_size();
        let rows = range.len();
        let batch = match moves {
            Some((moves, grid)) => {
                let shape = (width, grid.cols, grid.channels);
                reference::gather::gather_moved(
                    &data.pixels,
                    shape,
                    order,
                    moves,
                    range.start,
                    rows,
                )
            }
            None => reference::gather(&data.pixels, width, order, range.start, rows),
        };
        self.acts[0][..rows * width].copy_from_slice(&batch);
        self.row_order = reference::rows_grouped_by_zeros(&batch, width);
    }

    /// Per-sample losses, and dL/dlogits of the mean over `batch_rows` into the last delta.
    fn loss(&mut self, spec: &ModelSpec, rows: usize, batch_rows: usize) -> Vec<f32> {
        let layers = spec.layer_count();
        let width = spec.widths[layers];
        let loss = match spec.loss {
            Loss::Bce => reference::bce_sigmoid,
            Loss::Mse => reference::mse,
        };
        loss(
            &self.acts[layers][..rows * width],
            &self.acts[0][..rows * width],
            width,
            batch_rows,
            &mut self.deltas[layers][..rows * width],
        )
    }

    /// DEC's per-sample losses of the samples `samples`, dL/dcodes of the mean over
    /// `batch_rows` into the code layer's delta, and this part's share of the centres'
    /// gradient.
    fn cluster_loss(
        &mut self,
        spec: &ModelSpec,
        samples: &[u32],
        targets: DecTargets<'_>,
        batch_rows: usize,
    ) -> Vec<f32> {
        let layers = ClusterObjective::layers(spec);
        let n = samples.len() * spec.code_width();
        let codes = &self.acts[layers][..n];
        let grad = &mut self.deltas[layers][..n];
        let k = targets.mass.len();
        self.coefficients.resize(samples.len() * k, 0.0);
        let outputs = (grad, &mut self.coefficients[..]);
        let losses = reference::dec::dec_loss(codes, samples, targets, batch_rows, outputs);
        self.centre_grads =
            reference::dec::centre_grad(codes, &self.coefficients, targets.centres, k);
        losses
    }

    /// This worker's share of the weight and bias gradients of the first `layers` layers,
    /// from the gradient at the output of the last of them down.
    fn backward(
        &mut self,
        spec: &ModelSpec,
        (params, packed): (&Params, &PackedWeights),
        rows: usize,
        layers: usize,
    ) {
        for l in (0..layers).rev() {
            let (fan_in, fan_out) = spec.layer_shape(l);
            let delta = &self.deltas[l + 1][..rows * fan_out];
            let input = &self.acts[l][..rows * fan_in];
            let dw = &mut self.grads.weights[l];
            // The pixels keep their order: neighbours share their zeros.
            let units = (l > 0).then(|| reference::columns_grouped_by_zeros(input, fan_in));
            let input = (input, true, units.as_deref());
            gemm_skipping_zeros_into(input, (delta, false), (fan_in, fan_out, rows), dw);
            self.grads.biases[l] = reference::column_sums(delta, fan_out);
            if l > 0 {
                let (below, above) = self.deltas.split_at_mut(l + 1);
                let input_grad = &mut below[l][..rows * fan_in];
                let delta = &above[0][..rows * fan_out];
                let weights = (&params.weights[l][..], &packed.backward[l - 1]);
                let shape = (rows, fan_in, fan_out);
                let delta = (delta, Some(&self.row_order[..]));
                gemm_packed_skipping_zeros_into(delta, weights, shape, input_grad);
                if spec.activation(l - 1) == Activation::Relu {
                    reference::relu_mask(input_grad, &self.acts[l][..rows * fan_in]);
                }
            }
        }
    }
}

/// The CPU reference trainer: the same math as the GPU trainer, kernel for kernel, through the
/// functions of `reference` (the oracle of the shader tests). A batch is split into one part
/// per core; each part runs forward and backward with single-threaded sgemm, and the parts'
/// gradients are summed before Adam (so sums group differently from the GPU: see the
/// parity test's tolerance).
pub struct CpuTrainer<'a> {
    spec: ModelSpec,
    /// The layers that learn: all, or the encoder's with the clusters objective.
    layers: usize,
    seed: u64,
    clusters: Option<CpuClusters>,
    batch: usize,
    adam: AdamConfig,
    t: u64,
    params: Params,
    /// `params`' weights packed.
    packed: PackedWeights,
    m: Params,
    v: Params,
    train: &'a Dataset,
    val: &'a Dataset,
    workers: Vec<Worker>,
}

/// What the clusters objective adds: the centres and their Adam moments, every training
/// image's soft assignments at the epoch's start, the centres' masses, and the epoch's moves.
struct CpuClusters {
    objective: ClusterObjective,
    centres: Vec<f32>,
    m: Vec<f32>,
    v: Vec<f32>,
    soft: Vec<f32>,
    mass: Vec<f32>,
    moves: Vec<u32>,
    /// Whether `soft` and `mass` are of the current encoder and centres.
    fresh: bool,
}

/// What one batch runs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Pass {
    /// Forward, loss and backward on moved images (with the clusters objective).
    Train,
    /// Forward and loss (with the clusters objective, and the codes' soft assignments).
    Evaluate,
    /// Forward of the encoder and the codes' soft assignments (the clusters objective's
    /// refresh).
    SoftAssign,
}

/// Splits `rows` into at most `parts` contiguous ranges of at least `MIN_PART_ROWS` rows.
fn split_rows(start: usize, rows: usize, parts: usize) -> Vec<std::ops::Range<usize>> {
    let parts = parts.min(rows.div_ceil(MIN_PART_ROWS)).max(1);
    let size = rows.div_ceil(parts);
    (0..parts)
        .map(|i| start + i * size..start + ((i + 1) * size).min(rows))
        .filter(|r| !r.is_empty())
        .collect()
}

impl<'a> CpuTrainer<'a> {
    pub fn new(
        spec: &ModelSpec,
        init: &Params,
        train: &'a Dataset,
        val: &'a Dataset,
        config: &TrainConfig,
    ) -> Result<Self> {
        ensure!(config.batch > 0, "the batch size must be positive");
        spec.check(train.image_size())?;
        spec.check(val.image_size())?;
        // A batch larger than the training set is the whole set.
        let batch = config.batch.min(train.count.max(1));
        let cores = rayon::current_num_threads();
        let part_rows = batch.max(EVAL_ROWS).div_ceil(cores);
        let clusters = match &config.objective {
            Objective::Reconstruction => None,
            Objective::Clusters(objective) => {
                check_dec(
                    train.count,
                    spec.code_width(),
                    objective.k,
                    objective.max_move,
                )?;
                Some(CpuClusters {
                    objective: objective.clone(),
                    centres: objective.centres.clone(),
                    m: vec![0.0; objective.centres.len()],
                    v: vec![0.0; objective.centres.len()],
                    soft: vec![0.0; train.count * objective.k],
                    mass: vec![0.0; objective.k],
                    moves: Vec::new(),
                    fresh: false,
                })
            }
        };
        let layers = match clusters {
            Some(_) => ClusterObjective::layers(spec),
            None => spec.layer_count(),
        };
        let mut trainer = CpuTrainer {
            spec: spec.clone(),
            layers,
            seed: config.seed,
            clusters,
            batch,
            adam: config.adam,
            t: 0,
            params: init.clone(),
            packed: PackedWeights::new(spec, init),
            m: zeros_like(init),
            v: zeros_like(init),
            train,
            val,
            workers: (0..cores)
                .map(|_| Worker::new(spec, init, part_rows))
                .collect(),
        };
        trainer.refresh_targets(Pass::SoftAssign);
        Ok(trainer)
    }

    /// Runs `pass` over samples `order[first..first + rows]`, the parts in parallel; returns
    /// the per-sample losses (none for `Pass::SoftAssign`), with the clusters objective the
    /// codes' soft assignments (none for `Pass::Train`), and how many workers took a part
    /// (whose gradient shares the batch's gradients are).
    fn run_batch(
        &mut self,
        data: &Dataset,
        order: &[u32],
        (first, rows): (usize, usize),
        pass: Pass,
    ) -> (Vec<f32>, Vec<f32>, usize) {
        let ranges = split_rows(first, rows, self.workers.len());
        let used = ranges.len();
        let (spec, params, packed) = (&self.spec, &self.params, &self.packed);
        let (clusters, layers) = (self.clusters.as_ref(), self.layers);
        let moves = clusters
            .filter(|_| pass == Pass::Train)
            .map(|c| (&c.moves[..], &c.objective));
        let parts: Vec<(Vec<f32>, Vec<f32>)> = self.workers[..used]
            .par_iter_mut()
            .zip(ranges)
            .map(|(w, range)| {
                let part = range.len();
                let samples = &order[range.clone()];
                w.gather(data, order, range, moves);
                let weights = (params, &packed.forward[..]);
                let acts = (&mut w.acts[..], &w.row_order[..]);
                forward_into(spec, weights, acts, part, layers, clusters.is_none());
                let losses = match clusters {
                    _ if pass == Pass::SoftAssign => Vec::new(),
                    Some(c) => {
                        let targets = DecTargets {
                            soft: &c.soft,
                            mass: &c.mass,
                            centres: &c.centres,
                        };
                        w.cluster_loss(spec, samples, targets, rows)
                    }
                    None => w.loss(spec, part, rows),
                };
                let soft = match clusters {
                    Some(c) if pass != Pass::Train => {
                        let d = spec.code_width();
                        let codes = &w.acts[layers][..part * d];
                        reference::dec::soft_assign(codes, &c.centres, c.objective.k, d)
                    }
                    _ => Vec::new(),
                };
                if pass == Pass::Train {
                    w.backward(spec, (params, packed), part, layers);
                }
                (losses, soft)
            })
            .collect();
        let (losses, soft): (Vec<_>, Vec<_>) = parts.into_iter().unzip();
        (losses.concat(), soft.concat(), used)
    }

    /// With the clusters objective, the soft assignments of every training image with the
    /// current encoder, and the centres' masses: the targets until the next refresh. With
    /// `Pass::Evaluate`, also every image's loss against the targets before (the validation
    /// losses), in the same pass.
    fn refresh_targets(&mut self, pass: Pass) -> Vec<f32> {
        let Some(clusters) = &self.clusters else {
            return Vec::new();
        };
        let k = clusters.objective.k;
        let order: Vec<u32> = (0..self.train.count as u32).collect();
        let mut soft = Vec::with_capacity(order.len() * k);
        let mut losses = Vec::new();
        for first in (0..order.len()).step_by(EVAL_ROWS) {
            let rows = EVAL_ROWS.min(order.len() - first);
            let (batch_losses, batch_soft, _) =
                self.run_batch(self.train, &order, (first, rows), pass);
            losses.extend(batch_losses);
            soft.extend(batch_soft);
        }
        let mass = reference::dec::cluster_mass(&soft, k);
        if let Some(clusters) = &mut self.clusters {
            clusters.soft = soft;
            clusters.mass = mass;
            clusters.fresh = true;
        }
        losses
    }

    /// One Adam step over every tensor, in parallel chunks, with the gradients of the first
    /// `parts` workers' shares; false when a parameter or moment became NaN or infinite.
    /// Each chunk's gradient is summed (share 0 + share 1 + ...) into a scratch buffer that
    /// stays in cache for Adam, instead of a model-sized sum written out and read back; a
    /// single share is Adam's gradient as it is. The new weights are then packed.
    fn update(&mut self, parts: usize) -> bool {
        self.t += 1;
        let (adam, lr_t) = (self.adam, self.adam.lr_t(self.t));
        let shares: Vec<Vec<&[f32]>> = self.workers[..parts]
            .iter()
            .map(|w| w.grads.tensors().collect())
            .collect();
        let moments = self.m.tensors_mut().zip(self.v.tensors_mut());
        let mut finite = true;
        let layer_count = self.spec.layer_count();
        for (i, (p, (m, v))) in self.params.tensors_mut().zip(moments).enumerate() {
            // Every weight, then every bias: tensor i is of layer i % layer_count.
            if i % layer_count >= self.layers {
                continue;
            }
            finite &= p
                .par_chunks_mut(ADAM_CHUNK)
                .zip(m.par_chunks_mut(ADAM_CHUNK))
                .zip(v.par_chunks_mut(ADAM_CHUNK))
                .enumerate()
                .map_init(Vec::new, |sum, (c, ((p, m), v))| {
                    let at = c * ADAM_CHUNK..c * ADAM_CHUNK + p.len();
                    let grad = match &shares[..] {
                        [only] => &only[i][at],
                        [first, second, rest @ ..] => {
                            sum.clear();
                            let pairs = first[i][at.clone()].iter().zip(&second[i][at.clone()]);
                            sum.extend(pairs.map(|(a, b)| a + b));
                            for share in rest {
                                for (g, s) in sum.iter_mut().zip(&share[i][at.clone()]) {
                                    *g += s;
                                }
                            }
                            &sum[..]
                        }
                        [] => unreachable!("a batch has at least one part"),
                    };
                    reference::adam(p, grad, m, v, &adam, lr_t)
                })
                .reduce(|| true, |a, b| a && b);
        }
        if let Some(clusters) = &mut self.clusters {
            let mut grad = self.workers[0].centre_grads.clone();
            for share in &self.workers[1..parts] {
                grad.iter_mut()
                    .zip(&share.centre_grads)
                    .for_each(|(g, s)| *g += s);
            }
            let (m, v) = (&mut clusters.m, &mut clusters.v);
            finite &= reference::adam(&mut clusters.centres, &grad, m, v, &adam, lr_t);
        }
        self.packed.repack(&self.params, self.layers);
        finite
    }
}

impl Trainer for CpuTrainer<'_> {
    fn name(&self) -> &'static str {
        "cpu"
    }

    fn train_epoch(&mut self, order: &[u32], progress: &mut Progress) -> Result<Vec<f32>> {
        if let Some(clusters) = &mut self.clusters {
            clusters.moves = clusters.objective.moves(self.seed, self.t, order.len());
            if !clusters.fresh {
                self.refresh_targets(Pass::SoftAssign);
            }
        }
        if let Some(clusters) = &mut self.clusters {
            clusters.fresh = false;
        }
        let mut losses = Vec::with_capacity(order.len());
        for first in (0..order.len()).step_by(self.batch) {
            let rows = self.batch.min(order.len() - first);
            let (mut batch_losses, _, parts) =
                self.run_batch(self.train, order, (first, rows), Pass::Train);
            if !self.update(parts) {
                batch_losses[0] = f32::NAN;
            }
            progress(&batch_losses)?;
            losses.extend(batch_losses);
        }
        Ok(losses)
    }

    fn validate(&mut self) -> Result<Vec<f32>> {
        // With the clusters objective, the unmoved training images against their targets,
        // which the same pass refreshes.
        if self.clusters.is_some() {
            return Ok(self.refresh_targets(Pass::Evaluate));
        }
        let order: Vec<u32> = (0..self.val.count as u32).collect();
        let mut losses = Vec::with_capacity(order.len());
        for first in (0..order.len()).step_by(EVAL_ROWS) {
            let rows = EVAL_ROWS.min(order.len() - first);
            losses.extend(
                self.run_batch(self.val, &order, (first, rows), Pass::Evaluate)
                    .0,
            );
        }
        Ok(losses)
    }

    fn params(&self) -> Result<Params> {
        Ok(self.params.clone())
    }

    fn centres(&self) -> Result<Vec<f32>> {
        Ok(self
            .clusters
            .as_ref()
            .map_or(Vec::new(), |c| c.centres.clone()))
    }

    fn adam_state(&self) -> Result<AdamState> {
        Ok(AdamState {
            step: self.t,
            m: self.m.clone(),
            v: self.v.clone(),
        })
    }

    fn set_adam_state(&mut self, state: &AdamState) -> Result<()> {
        ensure!(
            state
                .m
                .tensors()
                .map(<[f32]>::len)
                .eq(self.m.tensors().map(<[f32]>::len))
                && state
                    .v
                    .tensors()
                    .map(<[f32]>::len)
                    .eq(self.v.tensors().map(<[f32]>::len)),
            "the optimizer state does not fit the model"
        );
        self.t = state.step;
        self.m = state.m.clone();
        self.v = state.v.clone();
        Ok(())
    }
}
