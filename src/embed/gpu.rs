//! UMAP's heavy steps on the GPU: the exact kNN (distance blocks through the matmul kernel,
//! then a per-row top-k kernel), the membership weights, and the layout epochs.

use anyhow::Result;

use super::LayoutProblem;
use crate::gpu::buffers::{pad_matrix, padded, read_bytes, read_f32, slice, storage, storage_init};
use crate::gpu::kernels::{
    Epilogue, Kernels, LayoutBuffers, LayoutColour, LayoutShape, MatmulDims, MatmulKind,
    MatmulOperands, StepTable,
};
use crate::gpu::GpuContext;

/// Bytes of one block of distances (rows x every point).
const BLOCK_BYTES: usize = 64 << 20;

/// The `k` nearest neighbours of every point of the n x d `points`: (indices, squared
/// distances), each n x k, nearest first, as `embed::knn` computes them on the CPU.
pub fn knn(
    ctx: &GpuContext,
    kernels: &Kernels,
    points: &[f32],
    (n, d, k): (usize, usize, usize),
) -> Result<(Vec<u32>, Vec<f32>)> {
    let (n_pad, d_pad) = (padded(n), padded(d));
    let norms: Vec<f32> = points
        .chunks(d)
        .map(|p| p.iter().map(|v| v * v).sum())
        .collect();
    let point_buffer = storage_init(ctx, "the points", &pad_matrix(points, n, d))?;
    let norm_buffer = storage_init(ctx, "the squared norms", &norms)?;
    let budget = BLOCK_BYTES.min(ctx.max_binding_bytes() as usize);
    let block = (budget / (n_pad * 4) / 32 * 32).clamp(32, n_pad);
    let dots = storage(ctx, "a block of dot products", block * n_pad)?;
    let indices = storage(ctx, "the neighbours", n * k)?;
    let distances = storage(ctx, "the neighbour distances", n * k)?;
    let mut encoder = ctx.device.create_command_encoder(&Default::default());
    for first in (0..n).step_by(block) {
        let rows = block.min(n - first);
        let rows_pad = padded(rows);
        // x_i . x_j for the block's rows against every point: A B^T, as the trainer's dX.
        let matmul = kernels.matmul.dispatch(
            ctx,
            MatmulKind {
                trans_a: false,
                trans_b: true,
                epilogue: Epilogue::None,
            },
            MatmulDims::new(rows_pad, n_pad, d_pad),
            MatmulOperands {
                a: slice(&point_buffer, first * d_pad, rows_pad * d_pad),
                b: point_buffer.as_entire_binding(),
                aux: point_buffer.as_entire_binding(),
                c: dots.as_entire_binding(),
            },
        );
        let top_k = kernels.umap.top_k(
            ctx,
            (n, k),
            (first, rows, n_pad),
            &dots,
            &norm_buffer,
            (&indices, &distances),
        );
        let mut pass = encoder.begin_compute_pass(&Default::default());
        matmul.record(&mut pass, 0);
        for dispatch in &top_k {
            dispatch.record(&mut pass, 0);
        }
    }
    ctx.queue.submit([encoder.finish()]);
    let neighbours = bytemuck::pod_collect_to_vec(&read_bytes(ctx, &indices, 0, n * k * 4)?);
    Ok((neighbours, read_f32(ctx, &distances, 0, n * k)?))
}

/// Membership weights (n x k) from the squared neighbour distances, as
/// `embed::memberships` computes them on the CPU.
pub fn memberships(
    ctx: &GpuContext,
    kernels: &Kernels,
    squared: &[f32],
    (n, k): (usize, usize),
) -> Result<Vec<f32>> {
    let mean = squared.iter().map(|v| v.sqrt()).sum::<f32>() / squared.len().max(1) as f32;
    let squared_buffer = storage_init(ctx, "the neighbour distances", squared)?;
    let weights = storage(ctx, "the membership weights", n * k)?;
    let dispatch = kernels
        .umap
        .memberships(ctx, (n, k, mean), &squared_buffer, &weights);
    crate::gpu::kernels::run(ctx, &[&dispatch], 0)?;
    read_f32(ctx, &weights, 0, n * k)
}

/// `epochs` layout epochs from `initial` (n x dims): per epoch, the positions are copied
/// to the previous-epoch buffer, then each colour of edges runs as one dispatch.
pub fn layout(
    ctx: &GpuContext,
    kernels: &Kernels,
    problem: &LayoutProblem,
    initial: &[f32],
    epochs: usize,
) -> Result<Vec<f32>> {
    let n = problem.graph.offsets.len() - 1;
    let shape = LayoutShape {
        n: n as u32,
        dims: problem.dims as u32,
        seed: problem.seed,
        a: problem.curve.a,
        b: problem.curve.b,
    };
    let edges = &problem.edges;
    let ends = storage_init(ctx, "the coloured edges", &edges.ends)?;
    let periods = storage_init(ctx, "the edges' periods", &problem.epochs_per_sample)?;
    let positions = storage_init(ctx, "the layout", initial)?;
    let previous = storage(ctx, "the previous layout", initial.len())?;
    let colours = edges.colours();
    let slots = StepTable::new(ctx, epochs * colours);
    let values: Vec<LayoutColour> = (1..=epochs)
        .flat_map(|t| {
            (0..colours).map(move |c| LayoutColour {
                epoch: t as u32,
                alpha: 1.0 - (t - 1) as f32 / epochs as f32,
                first: edges.offsets[c],
                count: edges.offsets[c + 1] - edges.offsets[c],
            })
        })
        .collect();
    slots.write_slots(ctx, 0, &values);
    let dispatches: Vec<_> = (0..colours)
        .map(|c| {
            let count = (edges.offsets[c + 1] - edges.offsets[c]) as usize;
            let buffers = LayoutBuffers {
                ends: &ends,
                periods: &periods,
                previous: &previous,
                positions: &positions,
            };
            kernels.umap.layout(ctx, &shape, (&slots, count), buffers)
        })
        .collect();
    let bytes = std::mem::size_of_val(initial) as u64;
    let mut encoder = ctx.device.create_command_encoder(&Default::default());
    for t in 0..epochs {
        encoder.copy_buffer_to_buffer(&positions, 0, &previous, 0, bytes);
        let mut pass = encoder.begin_compute_pass(&Default::default());
        for (c, dispatch) in dispatches.iter().enumerate() {
            dispatch.record(&mut pass, slots.offset(t * colours + c));
        }
    }
    ctx.queue.submit([encoder.finish()]);
    read_f32(ctx, &positions, 0, initial.len())
}
