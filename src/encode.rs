//! A trained model applied to images: their codes (the encoder half) or their
//! reconstructions (the whole model), on the GPU or on the CPU reference.

use anyhow::Result;
use rayon::prelude::*;

use crate::data::Dataset;
use crate::device::Device;
use crate::gpu::buffers::{padded, read_f32, storage_init};
use crate::gpu::kernels::{Kernels, StepTable};
use crate::gpu::GpuContext;
use crate::model::{Activation, ModelSpec, Params};
use crate::reference;
use crate::train::network::{batch_steps, DeviceSplit, Network, Workspace, EVAL_ROWS};
use crate::train::ParamLayout;

/// The code of every image of `data`: `data.count` rows of the code layer's width.
pub fn encode(
    device: &Device,
    spec: &ModelSpec,
    params: &Params,
    data: &Dataset,
) -> Result<Vec<f32>> {
    forward(device, spec, params, data, spec.code_layer() + 1)
}

/// The reconstruction (sigmoid output) of every image of `data`: `data.count` rows of the
/// image size.
pub fn reconstruct(
    device: &Device,
    spec: &ModelSpec,
    params: &Params,
    data: &Dataset,
) -> Result<Vec<f32>> {
    forward(device, spec, params, data, spec.layer_count())
}

/// The output of the first `layers` layers for every image, with each layer's activation.
fn forward(
    device: &Device,
    spec: &ModelSpec,
    params: &Params,
    data: &Dataset,
    layers: usize,
) -> Result<Vec<f32>> {
    spec.check(data.image_size())?;
    match device {
        Device::Gpu(gpu) => forward_gpu(&gpu.ctx, &gpu.kernels, spec, params, data, layers),
        Device::Cpu => Ok(forward_cpu(spec, params, data, layers)),
    }
}

/// The forward pass in batches; each batch's output is copied on the GPU into one buffer
/// that is read back once.
fn forward_gpu(
    ctx: &GpuContext,
    kernels: &Kernels,
    spec: &ModelSpec,
    params: &Params,
    data: &Dataset,
    layers: usize,
) -> Result<Vec<f32>> {
    let layout = ParamLayout::new(spec, ctx.storage_align_floats());
    let param_buffer = storage_init(ctx, "params", &layout.pack(params));
    let split = DeviceSplit::new(ctx, data, "the images")?;
    let rows = EVAL_ROWS.min(data.count);
    let steps = batch_steps(data.count, rows, |_| 0.0);
    let table = StepTable::new(ctx, steps.len());
    table.write(ctx, 0, &steps);
    let work = Workspace::new(ctx, spec, rows);
    let net = Network {
        ctx,
        kernels,
        spec,
        layout: &layout,
        params: &param_buffer,
        steps: &table,
    };
    let forward = net.forward(&work, &split, layers, false);

    let out_pad = padded(spec.widths[layers]);
    let batch_floats = work.rows_pad * out_pad;
    ctx.check_binding_size("the outputs", (steps.len() * batch_floats * 4) as u64)?;
    let outputs = crate::gpu::buffers::storage(ctx, "outputs", steps.len() * batch_floats);
    let mut encoder = ctx.device.create_command_encoder(&Default::default());
    for s in 0..steps.len() {
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            for d in &forward {
                d.record(&mut pass, table.offset(s));
            }
        }
        let bytes = (batch_floats * 4) as u64;
        encoder.copy_buffer_to_buffer(&work.acts[layers], 0, &outputs, s as u64 * bytes, bytes);
    }
    ctx.queue.submit([encoder.finish()]);
    let padded_outputs = read_f32(ctx, &outputs, 0, steps.len() * batch_floats)?;
    let width = spec.widths[layers];
    Ok(steps
        .iter()
        .enumerate()
        .flat_map(|(s, step)| {
            let batch = &padded_outputs[s * batch_floats..(s + 1) * batch_floats];
            (0..step.rows as usize)
                .flat_map(move |r| batch[r * out_pad..r * out_pad + width].iter().copied())
        })
        .collect())
}

/// The same forward pass through `reference`, in parallel batches.
fn forward_cpu(spec: &ModelSpec, params: &Params, data: &Dataset, layers: usize) -> Vec<f32> {
    let order: Vec<u32> = (0..data.count as u32).collect();
    let width = data.image_size();
    let starts: Vec<usize> = (0..data.count).step_by(EVAL_ROWS).collect();
    let parts: Vec<Vec<f32>> = starts
        .par_iter()
        .map(|&first| {
            let rows = EVAL_ROWS.min(data.count - first);
            let mut x = reference::gather(&data.pixels, width, &order, first, rows);
            for l in 0..layers {
                let (fan_in, fan_out) = spec.layer_shape(l);
                let mut z = reference::gemm(
                    false,
                    false,
                    &x,
                    &params.weights[l],
                    (rows, fan_out, fan_in),
                );
                reference::add_bias(&mut z, &params.biases[l]);
                match spec.activation(l) {
                    Activation::Relu => reference::relu(&mut z),
                    Activation::Sigmoid => z.iter_mut().for_each(|v| *v = reference::sigmoid(*v)),
                    Activation::Linear => {}
                }
                x = z;
            }
            x
        })
        .collect();
    parts.concat()
}
