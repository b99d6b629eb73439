//! Buffer creation, upload and readback helpers.

use anyhow::{anyhow, Result};
use wgpu::util::DeviceExt;

use super::GpuContext;

/// Rounds `n` up to a multiple of `to`.
pub fn round_up(n: usize, to: usize) -> usize {
    n.div_ceil(to) * to
}

/// Every matrix on the GPU has its rows and columns zero-padded to a multiple of this.
pub const PAD: usize = 32;

pub fn padded(n: usize) -> usize {
    round_up(n, PAD)
}

/// Copies a rows x cols row-major matrix into a zero-padded one.
pub fn pad_matrix(data: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = widen_rows(data, cols, padded(cols));
    out.resize(padded(rows) * padded(cols), 0.0);
    out
}

/// The inverse of `pad_matrix`.
pub fn unpad_matrix(data: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    narrow_rows(&data[..rows * padded(cols)], cols, padded(cols))
}

/// Rows of `cols` values copied into rows of `stride` (at least `cols`), the rest zeros.
pub fn widen_rows(data: &[f32], cols: usize, stride: usize) -> Vec<f32> {
    let mut out = vec![0.0; data.len().checked_div(cols).unwrap_or(0) * stride];
    for (to, from) in out.chunks_mut(stride).zip(data.chunks(cols)) {
        to[..cols].copy_from_slice(from);
    }
    out
}

/// The first `cols` values of each row of `stride` values: the inverse of `widen_rows`.
pub fn narrow_rows(data: &[f32], cols: usize, stride: usize) -> Vec<f32> {
    if cols == 0 {
        return Vec::new();
    }
    data.chunks(stride)
        .flat_map(|row| &row[..cols])
        .copied()
        .collect()
}

const STORAGE: wgpu::BufferUsages = wgpu::BufferUsages::STORAGE
    .union(wgpu::BufferUsages::COPY_SRC)
    .union(wgpu::BufferUsages::COPY_DST);

/// A zeroed storage buffer of `floats` f32s, checked against the device's limits first.
pub fn storage(ctx: &GpuContext, label: &str, floats: usize) -> Result<wgpu::Buffer> {
    let size = (floats.max(1) * 4) as u64;
    ctx.check_binding_size(label, size)?;
    Ok(ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size,
        usage: STORAGE,
        mapped_at_creation: false,
    }))
}

/// A storage buffer holding `data`, checked against the device's limits first.
pub fn storage_init<T: bytemuck::Pod>(
    ctx: &GpuContext,
    label: &str,
    data: &[T],
) -> Result<wgpu::Buffer> {
    ctx.check_binding_size(label, std::mem::size_of_val(data) as u64)?;
    Ok(ctx
        .device
        .create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(label),
            contents: bytemuck::cast_slice(data),
            usage: STORAGE,
        }))
}

/// A uniform buffer holding `value`.
pub fn uniform<T: bytemuck::Pod>(ctx: &GpuContext, label: &str, value: &T) -> wgpu::Buffer {
    ctx.device
        .create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(label),
            contents: bytemuck::bytes_of(value),
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        })
}

/// Packs bytes into a u32 storage buffer (WGSL has no u8), padding the tail with zeros.
pub fn storage_bytes(ctx: &GpuContext, label: &str, bytes: &[u8]) -> Result<wgpu::Buffer> {
    ctx.check_binding_size(label, round_up(bytes.len(), 4) as u64)?;
    let mut padded_bytes = bytes.to_vec();
    padded_bytes.resize(round_up(bytes.len().max(4), 4), 0);
    Ok(ctx
        .device
        .create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(label),
            contents: &padded_bytes,
            usage: STORAGE,
        }))
}

/// Binds `floats` f32s of `buffer` starting at float `offset`.
pub fn slice(buffer: &wgpu::Buffer, offset: usize, floats: usize) -> wgpu::BindingResource<'_> {
    wgpu::BindingResource::Buffer(wgpu::BufferBinding {
        buffer,
        offset: (offset * 4) as u64,
        size: wgpu::BufferSize::new((floats * 4) as u64),
    })
}

/// Copies `floats` f32s from float `offset` of `buffer` back to the host (waits for the GPU).
pub fn read_f32(
    ctx: &GpuContext,
    buffer: &wgpu::Buffer,
    offset: usize,
    floats: usize,
) -> Result<Vec<f32>> {
    let bytes = read_bytes(ctx, buffer, offset * 4, floats * 4)?;
    Ok(bytemuck::pod_collect_to_vec(&bytes))
}

/// Copies `len` bytes from byte `offset` of `buffer` back to the host (waits for the GPU).
pub fn read_bytes(
    ctx: &GpuContext,
    buffer: &wgpu::Buffer,
    offset: usize,
    len: usize,
) -> Result<Vec<u8>> {
    let staging = staging_buffer(ctx, len);
    let mut encoder = ctx.device.create_command_encoder(&Default::default());
    encoder.copy_buffer_to_buffer(buffer, offset as u64, &staging, 0, len as u64);
    let submission = ctx.queue.submit([encoder.finish()]);
    map_read(ctx, &staging, len, submission)
}

/// A buffer the host can map to read `len` bytes copied into it.
pub fn staging_buffer(ctx: &GpuContext, len: usize) -> wgpu::Buffer {
    ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("readback"),
        size: (len as u64).max(4),
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    })
}

/// Waits for `submission` (which fills `staging`), then copies out its first `len` bytes and
/// unmaps it for reuse. Later submissions keep running.
pub fn map_read(
    ctx: &GpuContext,
    staging: &wgpu::Buffer,
    len: usize,
    submission: wgpu::SubmissionIndex,
) -> Result<Vec<u8>> {
    if len == 0 {
        return Ok(Vec::new());
    }
    let (sender, receiver) = std::sync::mpsc::channel();
    staging.map_async(wgpu::MapMode::Read, ..len as u64, move |r| {
        let _ = sender.send(r);
    });
    let wait = wgpu::PollType::Wait {
        submission_index: Some(submission),
        timeout: None,
    };
    if let Err(e) = ctx.device.poll(wait) {
        anyhow::bail!("GPU wait failed on {}: {e}", ctx.adapter.name);
    }
    ctx.check()?;
    receiver
        .recv()
        .map_err(|_| anyhow!("GPU readback was dropped"))?
        .map_err(|e| anyhow!("GPU readback failed: {e}"))?;
    let view = staging
        .get_mapped_range(..len as u64)
        .map_err(|e| anyhow!("GPU readback failed: {e}"))?;
    let out = view.to_vec();
    drop(view);
    staging.unmap();
    Ok(out)
}
