//! Model files: safetensors with PyTorch names and layout (`encoder.0.weight` is out x in),
//! and the layer widths in the metadata so that a file describes its model.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use safetensors::{Dtype, SafeTensors};

use crate::data::Shape;
use crate::model::{parse_activations, Loss, ModelSpec, Params};
use crate::optim::AdamState;
use crate::output::{remove_stale_temps, write_atomic};

const LAYERS_KEY: &str = "aeclust.layers";
const ACTIVATIONS_KEY: &str = "aeclust.activations";
const LOSS_KEY: &str = "aeclust.loss";
const STEP_KEY: &str = "aeclust.adam_step";
const EPOCHS_KEY: &str = "aeclust.epochs";
const SEED_KEY: &str = "aeclust.seed";
/// The images the model was made for: `height,width,channels`.
const INPUT_KEY: &str = "aeclust.input_shape";

/// What resuming training needs beside the weights: Adam's state (saved as `adam.m.*` and
/// `adam.v.*` tensors named and shaped like the weights), the epochs done and the seed.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainingState {
    pub adam: AdamState,
    pub epochs: usize,
    pub seed: u64,
}

/// `encoder.i` for the layers up to the code layer, `decoder.i` after it.
fn layer_name(spec: &ModelSpec, l: usize) -> String {
    let code = spec.code_layer();
    if l <= code {
        format!("encoder.{l}")
    } else {
        format!("decoder.{}", l - code - 1)
    }
}

/// Transposes a rows x cols row-major matrix.
fn transpose(m: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut t = vec![0.0; m.len()];
    for r in 0..rows {
        for c in 0..cols {
            t[c * rows + r] = m[r * cols + c];
        }
    }
    t
}

/// The named tensors of `params` (PyTorch layout), names prefixed with `prefix`.
fn named_tensors(
    spec: &ModelSpec,
    params: &Params,
    prefix: &str,
) -> Vec<(String, Vec<usize>, Vec<u8>)> {
    let mut tensors = Vec::new();
    for l in 0..spec.layer_count() {
        let (fan_in, fan_out) = spec.layer_shape(l);
        let name = format!("{prefix}{}", layer_name(spec, l));
        let weight = transpose(&params.weights[l], fan_in, fan_out);
        tensors.push((
            format!("{name}.weight"),
            vec![fan_out, fan_in],
            bytemuck::cast_slice(&weight).to_vec(),
        ));
        tensors.push((
            format!("{name}.bias"),
            vec![fan_out],
            bytemuck::cast_slice(&params.biases[l]).to_vec(),
        ));
    }
    tensors
}

/// Writes the model to `path` (atomically), with the training state when given.
pub fn save(
    path: &Path,
    spec: &ModelSpec,
    params: &Params,
    state: Option<&TrainingState>,
) -> Result<()> {
    let mut tensors = named_tensors(spec, params, "");
    let widths: Vec<String> = spec.widths.iter().map(usize::to_string).collect();
    let activations: Vec<&str> = spec.activations.iter().map(|a| a.name()).collect();
    let mut metadata = HashMap::from([
        (LAYERS_KEY.to_string(), widths.join(",")),
        (ACTIVATIONS_KEY.to_string(), activations.join(",")),
        (LOSS_KEY.to_string(), spec.loss.name().to_string()),
    ]);
    if let Some(shape) = spec.input {
        let text = format!("{},{},{}", shape.rows, shape.cols, shape.channels);
        metadata.insert(INPUT_KEY.into(), text);
    }
    if let Some(state) = state {
        tensors.extend(named_tensors(spec, &state.adam.m, "adam.m."));
        tensors.extend(named_tensors(spec, &state.adam.v, "adam.v."));
        metadata.insert(STEP_KEY.into(), state.adam.step.to_string());
        metadata.insert(EPOCHS_KEY.into(), state.epochs.to_string());
        metadata.insert(SEED_KEY.into(), state.seed.to_string());
    }
    write_tensors(path, &tensors, metadata)
}

/// Named f32 tensors: name, shape, little-endian bytes.
pub type Tensors = [(String, Vec<usize>, Vec<u8>)];

/// Writes f32 `tensors` and `metadata` to `path` as safetensors (atomically), the same model
/// as the same bytes.
pub fn write_tensors(
    path: &Path,
    tensors: &Tensors,
    metadata: HashMap<String, String>,
) -> Result<()> {
    let views = tensors
        .iter()
        .map(|(name, shape, bytes)| {
            let view = safetensors::tensor::TensorView::new(Dtype::F32, shape.clone(), bytes)?;
            Ok((name.clone(), view))
        })
        .collect::<Result<Vec<_>, safetensors::SafeTensorError>>()?;
    let bytes = safetensors::serialize(views, Some(metadata))?;
    // A model file is rewritten every checkpoint, so a kill is most likely to catch it
    // half-written; its next write tidies up (once per file, not on every small output).
    remove_stale_temps(path);
    write_atomic(path, &with_sorted_header(bytes)?)
}

/// A hex SHA-256 of the model: its widths, activations, loss and every weight and bias, so
/// that what was computed from its codes can name it.
pub fn digest(spec: &ModelSpec, params: &Params) -> String {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    let activations: Vec<&str> = spec.activations.iter().map(|a| a.name()).collect();
    hash.update(format!(
        "{:?} {:?} {}",
        spec.widths,
        activations,
        spec.loss.name()
    ));
    for values in params.weights.iter().chain(&params.biases) {
        hash.update(bytemuck::cast_slice::<f32, u8>(values));
    }
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The same file with its JSON header's keys sorted: safetensors writes them in hash-map
/// order, which differs from run to run, and the same model should be the same bytes. The
/// header keeps its length (offsets into the data are relative to its end), padded with
/// spaces as the format allows.
fn with_sorted_header(bytes: Vec<u8>) -> Result<Vec<u8>> {
    let length = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + length])?;
    // serde_json's maps are ordered by key.
    let mut sorted = serde_json::to_vec(&header)?;
    if sorted.len() > length {
        bail!(
            "the sorted model header grew from {length} to {} bytes",
            sorted.len()
        );
    }
    sorted.resize(length, b' ');
    let mut out = bytes;
    out[8..8 + length].copy_from_slice(&sorted);
    Ok(out)
}

/// The most epochs a model file may say it has done: a resume replays the shuffle of each
/// one, so a larger count would hold the start-up for minutes.
pub const MAX_EPOCHS: usize = 10_000;

/// Reads a model's weights: a file written by `save`, or a weights-only safetensors file
/// with the same PyTorch names (`encoder.0.weight`, ..., `decoder.0.bias`, ...), such as a
/// PyTorch export, whose widths follow from the tensors (with the blog's activations and loss
/// unless its metadata names others).
pub fn load_weights(path: &Path) -> Result<(ModelSpec, Params)> {
    let bytes = read(path)?;
    let (spec, params, _, _) = parse(&bytes, path)?;
    Ok((spec, params))
}

/// Reads a model written by `save` with what resuming it needs (when the file has it),
/// checking that every tensor is there with the shape the layer widths imply and that the
/// training state is sound.
pub fn load(path: &Path) -> Result<(ModelSpec, Params, Option<TrainingState>)> {
    let bytes = read(path)?;
    let (spec, params, tensors, meta) = parse(&bytes, path)?;
    let state = training_state(&tensors, &meta, &spec, &path.display())?;
    Ok((spec, params, state))
}

fn read(path: &Path) -> Result<Vec<u8>> {
    crate::input::read(path).context("cannot read the model")
}

/// The model in `bytes`, its tensors and its metadata.
fn parse<'a>(
    bytes: &'a [u8],
    path: &Path,
) -> Result<(ModelSpec, Params, SafeTensors<'a>, HashMap<String, String>)> {
    let shown = path.display();
    let (_, metadata) = SafeTensors::read_metadata(bytes)
        .map_err(|e| anyhow::anyhow!("{shown} is not a safetensors model file: {e}"))?;
    let tensors = SafeTensors::deserialize(bytes)
        .map_err(|e| anyhow::anyhow!("{shown} is not a safetensors model file: {e}"))?;
    let meta = metadata.metadata().clone().unwrap_or_default();
    let text = |key: &str| meta.get(key);
    let widths = match text(LAYERS_KEY) {
        Some(layers) => layers
            .split(',')
            .map(|w| w.parse::<usize>().ok().filter(|&w| w > 0))
            .collect::<Option<Vec<_>>>()
            .with_context(|| format!("{shown}: bad layer widths {layers:?}"))?,
        None => widths_from_tensors(&tensors).with_context(|| {
            format!(
                "{shown}: not an autoencoder's weights: no {LAYERS_KEY} in the metadata \
                 and no encoder.0.weight tensor"
            )
        })?,
    };
    // Files from before activations and losses were recorded hold the blog's model.
    let loss = match text(LOSS_KEY) {
        None => Loss::Bce,
        Some(name) => Loss::parse(name).with_context(|| format!("{shown}: bad loss {name:?}"))?,
    };
    let mut spec = ModelSpec::standard(widths, false, loss);
    if let Some(list) = text(ACTIVATIONS_KEY) {
        spec.activations = parse_activations(list).with_context(|| format!("{shown}"))?;
    }
    spec.check(spec.widths[0])
        .with_context(|| format!("{shown}: not an autoencoder"))?;
    if let Some(text) = text(INPUT_KEY) {
        spec.input = Some(parse_shape(text, spec.widths[0]).with_context(|| {
            format!(
                "{shown}: bad {INPUT_KEY} {text:?} for a model of width {}",
                spec.widths[0]
            )
        })?);
    }
    let params = read_params(&tensors, &spec, "", &shown)?;
    Ok((spec, params, tensors, meta))
}

/// `height,width,channels` whose values fill `width` inputs.
fn parse_shape(text: &str, width: usize) -> Option<Shape> {
    let values: Vec<usize> = text
        .split(',')
        .map(|v| v.trim().parse().ok())
        .collect::<Option<_>>()?;
    let [rows, cols, channels] = values[..] else {
        return None;
    };
    let shape = Shape {
        rows,
        cols,
        channels,
    };
    let fills = rows.checked_mul(cols)?.checked_mul(channels)? == width;
    (fills && matches!(channels, 1 | 3)).then_some(shape)
}

/// Layer widths from the shapes of `encoder.i.weight` then `decoder.i.weight` (out x in).
fn widths_from_tensors(tensors: &SafeTensors) -> Option<Vec<usize>> {
    let shape = |name: String| tensors.tensor(&name).ok().map(|t| t.shape().to_vec());
    let first = shape("encoder.0.weight".into())?;
    let mut widths = vec![*first.get(1)?];
    for part in ["encoder", "decoder"] {
        for i in 0.. {
            let Some(dims) = shape(format!("{part}.{i}.weight")) else {
                break;
            };
            widths.push(*dims.first()?);
        }
    }
    Some(widths)
}

/// The training state of a file saved with one; `None` for a weights-only file. The counters
/// are checked against each other and against sane bounds, and the moments against what
/// Adam can produce, so that a damaged file is named as such before any work.
fn training_state(
    tensors: &SafeTensors,
    meta: &HashMap<String, String>,
    spec: &ModelSpec,
    shown: &std::path::Display,
) -> Result<Option<TrainingState>> {
    let number = |key: &str| -> Result<Option<u64>> {
        meta.get(key)
            .map(|v| {
                v.parse::<u64>()
                    .with_context(|| format!("{shown}: bad {key} {v:?}"))
            })
            .transpose()
    };
    let Some(step) = number(STEP_KEY)? else {
        return Ok(None);
    };
    let damaged = |what: String| anyhow::anyhow!("{shown}: the optimizer state is damaged: {what}");
    let epochs = number(EPOCHS_KEY)?.ok_or_else(|| damaged(format!("no {EPOCHS_KEY}")))?;
    let seed = number(SEED_KEY)?.ok_or_else(|| damaged(format!("no {SEED_KEY}")))?;
    if epochs == 0 || epochs > MAX_EPOCHS as u64 {
        return Err(damaged(format!(
            "{EPOCHS_KEY} is {epochs}, not 1 to {MAX_EPOCHS}"
        )));
    }
    if step < epochs {
        return Err(damaged(format!(
            "{STEP_KEY} is {step}, fewer than the {epochs} epochs done"
        )));
    }
    let moments = |prefix: &str| {
        read_params(tensors, spec, prefix, shown).map_err(|e| damaged(e.to_string()))
    };
    let (m, v) = (moments("adam.m.")?, moments("adam.v.")?);
    if v.weights
        .iter()
        .chain(&v.biases)
        .flatten()
        .any(|&x| x < 0.0)
    {
        return Err(damaged(
            "negative second moments (adam.v.*), which Adam never produces".into(),
        ));
    }
    Ok(Some(TrainingState {
        adam: AdamState { step, m, v },
        epochs: epochs as usize,
        seed,
    }))
}

/// The weights and biases whose tensor names start with `prefix`.
fn read_params(
    tensors: &SafeTensors,
    spec: &ModelSpec,
    prefix: &str,
    shown: &std::path::Display,
) -> Result<Params> {
    let mut params = Params {
        weights: Vec::new(),
        biases: Vec::new(),
    };
    for l in 0..spec.layer_count() {
        let (fan_in, fan_out) = spec.layer_shape(l);
        let name = format!("{prefix}{}", layer_name(spec, l));
        let weight = read_tensor(
            tensors,
            &format!("{name}.weight"),
            &[fan_out, fan_in],
            shown,
        )?;
        params.weights.push(transpose(&weight, fan_out, fan_in));
        params.biases.push(read_tensor(
            tensors,
            &format!("{name}.bias"),
            &[fan_out],
            shown,
        )?);
    }
    Ok(params)
}

/// The f32 tensor `name` of `tensors`, which must have `shape` and finite values.
pub fn read_tensor(
    tensors: &SafeTensors,
    name: &str,
    shape: &[usize],
    shown: &std::path::Display,
) -> Result<Vec<f32>> {
    let view = tensors
        .tensor(name)
        .map_err(|_| anyhow::anyhow!("{shown}: tensor {name} is missing"))?;
    if view.dtype() != Dtype::F32 {
        bail!("{shown}: tensor {name} is {:?}, expected F32", view.dtype());
    }
    if view.shape() != shape {
        bail!(
            "{shown}: tensor {name} has shape {:?}, but the layers need {shape:?}",
            view.shape()
        );
    }
    let values: Vec<f32> = bytemuck::pod_collect_to_vec(view.data());
    if values.iter().any(|v| !v.is_finite()) {
        bail!("{shown}: tensor {name} holds NaN or infinite values");
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_removes_only_the_temporary_files_of_its_own_killed_writers() {
        let dir = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        child.wait().unwrap();
        let dead = child.id();
        let stale = dir.path().join(format!(".out.bin.tmp-{dead}"));
        // Process 1 always runs.
        let running = dir.path().join(".out.bin.tmp-1");
        let other_file = dir.path().join(format!(".other.bin.tmp-{dead}"));
        for file in [&stale, &running, &other_file] {
            std::fs::write(file, b"partial").unwrap();
        }
        let path = dir.path().join("out.bin");
        let tensors = [("w".to_string(), vec![1], 1.5f32.to_le_bytes().to_vec())];
        write_tensors(&path, &tensors, HashMap::new()).unwrap();
        assert!(SafeTensors::deserialize(&std::fs::read(&path).unwrap()).is_ok());
        assert!(!stale.exists());
        assert!(running.exists() && other_file.exists());
    }
}
