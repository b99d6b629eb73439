//! A trained model applied to images: their codes (the encoder half) or their
//! reconstructions (the whole model), on the GPU or on the CPU reference.

use anyhow::Result;
use rayon::prelude::*;

use crate::data::Dataset;
use crate::gpu::buffers::{padded, read_f32, storage, storage_init};
use crate::gpu::kernels::{record_steps, StepTable};
use crate::gpu::Gpu;
use crate::model::{ModelSpec, Params};
use crate::network::{
    batch_steps, eval_rows, forward_into, pack_forward, DeviceSplit, GpuPasses, ParamOffsets,
    Workspace, EVAL_ROWS,
};

/// Runs a trained model's forward pass: `GpuEncoder` (the WGSL kernels) or `CpuEncoder`
/// (their CPU twins), built by `device::Device::encoder`.
pub trait Encoder {
    /// The output of the first `layers` layers of `spec` for every image of `data`
    /// (`data.count` rows of that layer's width), each layer with its activation.
    fn forward(
        &self,
        spec: &ModelSpec,
        params: &Params,
        data: &Dataset,
        layers: usize,
    ) -> Result<Vec<f32>>;

    /// The code of every image of `data`: `data.count` rows of the code layer's width.
    fn encode(&self, spec: &ModelSpec, params: &Params, data: &Dataset) -> Result<Vec<f32>> {
        spec.check(data.image_size())?;
        self.forward(spec, params, data, spec.code_layer() + 1)
    }

    /// The reconstruction (the output layer's activation) of every image of `data`:
    /// `data.count` rows of the image size.
    fn reconstruct(&self, spec: &ModelSpec, params: &Params, data: &Dataset) -> Result<Vec<f32>> {
        spec.check(data.image_size())?;
        self.forward(spec, params, data, spec.layer_count())
    }
}

/// Bytes of outputs gathered on the GPU between readbacks.
const READBACK_BYTES: u64 = 64 << 20;

/// The forward pass on the GPU in batches; the outputs of a group of batches are copied on
/// the GPU into one buffer that is read back once per group (a group fits one binding).
pub struct GpuEncoder<'a>(pub &'a Gpu);

impl Encoder for GpuEncoder<'_> {
    fn forward(
        &self,
        spec: &ModelSpec,
        params: &Params,
        data: &Dataset,
        layers: usize,
    ) -> Result<Vec<f32>> {
        let Gpu { ctx, kernels } = self.0;
        let offsets = ParamOffsets::new(spec, ctx.storage_align_floats());
        let param_buffer = storage_init(ctx, "the parameters", &offsets.pack(params))?;
        let split = DeviceSplit::new(ctx, data, "the images")?;
        let rows = eval_rows(ctx, spec, data.count);
        let steps = batch_steps(data.count, rows, |_| 0.0);
        let table = StepTable::new(ctx, steps.len());
        table.write(ctx, 0, &steps);
        let work = Workspace::new(ctx, spec, rows)?;
        let net = GpuPasses {
            ctx,
            kernels,
            spec,
            offsets: &offsets,
            params: &param_buffer,
            steps: &table,
        };
        let forward = net.forward(&work, split.source(), layers, false);

        let (width, out_pad) = (spec.widths[layers], padded(spec.widths[layers]));
        let batch_bytes = (work.rows_pad * out_pad * 4) as u64;
        let group = (READBACK_BYTES.min(ctx.max_binding_bytes()) / batch_bytes).max(1) as usize;
        let outputs = storage(ctx, "a group of outputs", group * work.rows_pad * out_pad)?;
        let mut codes = Vec::with_capacity(data.count * width);
        for first in (0..steps.len()).step_by(group) {
            let slots = first..(first + group).min(steps.len());
            let mut encoder = ctx.device.create_command_encoder(&Default::default());
            for (i, s) in slots.clone().enumerate() {
                record_steps(&mut encoder, &forward, [table.offset(s)]);
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
}

/// The same forward pass through the CPU twins, in parallel batches.
pub struct CpuEncoder;

impl Encoder for CpuEncoder {
    fn forward(
        &self,
        spec: &ModelSpec,
        params: &Params,
        data: &Dataset,
        layers: usize,
    ) -> Result<Vec<f32>> {
        let order: Vec<u32> = (0..data.count as u32).collect();
        let starts: Vec<usize> = (0..data.count).step_by(EVAL_ROWS).collect();
        let packed = pack_forward(spec, params, layers);
        let parts: Vec<Vec<f32>> = starts
            .par_iter()
            .map(|&first| {
                let rows = EVAL_ROWS.min(data.count - first);
                let input =
                    crate::reference::gather(&data.pixels, data.image_size(), &order, first, rows);
                let mut acts = vec![input];
                acts.extend(spec.widths[1..=layers].iter().map(|&w| vec![0.0; rows * w]));
                let row_order =
                    crate::reference::rows_grouped_by_zeros(&acts[0], data.image_size());
                let acts_in_order = (&mut acts[..], &row_order[..]);
                forward_into(spec, (params, &packed), acts_in_order, rows, layers, false);
                acts.pop().unwrap_or_default()
            })
            .collect();
        Ok(parts.concat())
    }
}
