//! Model files: safetensors with PyTorch names and layout (`encoder.0.weight` is out x in),
//! and the layer widths in the metadata so that a file describes its model.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use safetensors::{Dtype, SafeTensors};

use crate::model::{ModelSpec, Params};
use crate::output::write_atomic;

const LAYERS_KEY: &str = "aeclust.layers";

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

/// Writes the model to `path` (atomically).
pub fn save(path: &Path, spec: &ModelSpec, params: &Params) -> Result<()> {
    let mut tensors: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    for l in 0..spec.layer_count() {
        let (fan_in, fan_out) = spec.layer_shape(l);
        let name = layer_name(spec, l);
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
    let views = tensors
        .iter()
        .map(|(name, shape, bytes)| {
            let view = safetensors::tensor::TensorView::new(Dtype::F32, shape.clone(), bytes)?;
            Ok((name.clone(), view))
        })
        .collect::<Result<Vec<_>, safetensors::SafeTensorError>>()?;
    let widths: Vec<String> = spec.widths.iter().map(usize::to_string).collect();
    let metadata = HashMap::from([(LAYERS_KEY.to_string(), widths.join(","))]);
    let bytes = safetensors::serialize(views, Some(metadata))?;
    write_atomic(path, &bytes)
}

/// Reads a model written by `save`, checking that every tensor is there with the shape the
/// layer widths imply.
pub fn load(path: &Path) -> Result<(ModelSpec, Params)> {
    let shown = path.display();
    let bytes = std::fs::read(path).with_context(|| format!("cannot read model {shown}"))?;
    let (_, metadata) = SafeTensors::read_metadata(&bytes)
        .map_err(|e| anyhow::anyhow!("{shown} is not a safetensors model file: {e}"))?;
    let tensors = SafeTensors::deserialize(&bytes)
        .map_err(|e| anyhow::anyhow!("{shown} is not a safetensors model file: {e}"))?;
    let layers = metadata
        .metadata()
        .as_ref()
        .and_then(|m| m.get(LAYERS_KEY))
        .with_context(|| {
            format!("{shown}: no {LAYERS_KEY} in the metadata (not an aeclust model)")
        })?;
    let widths = layers
        .split(',')
        .map(|w| w.parse::<usize>().ok().filter(|&w| w > 0))
        .collect::<Option<Vec<_>>>()
        .with_context(|| format!("{shown}: bad layer widths {layers:?}"))?;
    let spec = ModelSpec { widths };
    spec.check(spec.widths[0])
        .with_context(|| format!("{shown}: not an autoencoder"))?;
    let mut params = Params {
        weights: Vec::new(),
        biases: Vec::new(),
    };
    for l in 0..spec.layer_count() {
        let (fan_in, fan_out) = spec.layer_shape(l);
        let name = layer_name(&spec, l);
        let weight = read_tensor(
            &tensors,
            &format!("{name}.weight"),
            &[fan_out, fan_in],
            &shown,
        )?;
        params.weights.push(transpose(&weight, fan_out, fan_in));
        params.biases.push(read_tensor(
            &tensors,
            &format!("{name}.bias"),
            &[fan_out],
            &shown,
        )?);
    }
    Ok((spec, params))
}

fn read_tensor(
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
