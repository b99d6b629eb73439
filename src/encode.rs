//! A trained model applied to images: their codes (the encoder half) or their
//! reconstructions (the whole model), on the GPU or on the CPU reference.

use anyhow::Result;
use rayon::prelude::*;

use crate::data::Dataset;
use crate::device::Device;
use crate::gpu::buffers::{padded, read_f32, storage, storage_init};
use crate::gpu::kernels::{Kernels, StepTable};
use crate::gpu::GpuContext;
use crate::model::{Activation, ModelSpec, Params};
use crate::reference;
use crate::train::network::{batch_steps, eval_rows, DeviceSplit, Network, Workspace, EVAL_ROWS};
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

/// The reconstruction (the output layer's activation) of every image of `data`: `data.count` rows of the
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

/// Bytes of outputs gathered on the GPU between readbacks.
const READBACK_BYTES: u64 = 64 << 20;

/// The forward pass in batches; the outputs of a group of batches are copied on the GPU into
/// one buffer that is read back once per group (a group fits one binding).
fn forward_gpu(
    ctx: &GpuContext,
    kernels: &Kernels,
    spec: &ModelSpec,
    params: &Params,
    data: &Dataset,
    layers: usize,
) -> Result<Vec<f32>> {
    let layout = ParamLayout::new(spec, ctx.storage_align_floats());
    let param_buffer = storage_init(ctx, "the parameters", &layout.pack(params))?;
    let split = DeviceSplit::new(ctx, data, "the images")?;
    let rows = eval_rows(ctx, spec, data.count);
    let steps = batch_steps(data.count, rows, |_| 0.0);
    let table = StepTable::new(ctx, steps.len());
    table.write(ctx, 0, &steps);
    let work = Workspace::new(ctx, spec, rows)?;
    let net = Network {
        ctx,
        kernels,
        spec,
        layout: &layout,
        params: &param_buffer,
        steps: &table,
    };
    let forward = net.forward(&work, &split, layers, false);

    let (width, out_pad) = (spec.widths[layers], padded(spec.widths[layers]));
    let batch_bytes = (work.rows_pad * out_pad * 4) as u64;
    let group = (READBACK_BYTES.min(ctx.max_binding_bytes()) / batch_bytes).max(1) as usize;
    let outputs = storage(ctx, "a group of outputs", group * work.rows_pad * out_pad)?;
    let mut codes = Vec::with_capacity(data.count * width);
    for first in (0..steps.len()).step_by(group) {
        let slots = first..(first + group).min(steps.len());
        let mut encoder = ctx.device.create_command_encoder(&Default::default());
        for (i, s) in slots.clone().enumerate() {
            {
                let mut pass = encoder.begin_compute_pass(&Default::default());
                for d in &forward {
                    d.record(&mut pass, table.offset(s));
                }
            }
            let at = i as u64 * batch_bytes;
            encoder.copy_buffer_to_buffer(&work.acts[layers], 0, &outputs, at, batch_bytes);
        }
        ctx.queue.submit([encoder.finish()]);
        let padded_outputs = read_f32(ctx, &outputs, 0, slots.len() * work.rows_pad * out_pad)?;
        for (batch, step) in padded_outputs
            .chunks(work.rows_pad * out_pad)
            .zip(&steps[slots])
        {
            for row in batch.chunks(out_pad).take(step.rows as usize) {
                codes.extend_from_slice(&row[..width]);
            }
        }
    }
    Ok(codes)
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
