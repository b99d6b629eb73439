//! UMAP's heavy steps on the GPU: the exact kNN (distance blocks through the matmul kernel,
//! then a per-row top-k kernel), the membership weights, and the layout epochs.

use anyhow::Result;

use super::LayoutProblem;
use crate::gpu::buffers::{pad_matrix, padded, read_bytes, read_f32, slice, storage, storage_init};
use crate::gpu::kernels::{
    Epilogue, Kernels, LayoutBuffers, LayoutEpoch, LayoutShape, MatmulDims, MatmulKind,
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
        top_k.record(&mut pass, 0);
    }
    ctx.queue.submit([encoder.finish()]);
    let neighbours = bytemuck::pod_collect_to_vec(&read_bytes(ctx, &indices, 0, n * k * 4)?);
    Ok((neighbours, read_f32(ctx, &distances, 0, n * k)?))
}

/// Membership weights (n x k) from the squared neighbour distances, as
/// `embed::memberships` computes them from the distances on the CPU.
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

/// `epochs` layout epochs from `initial` (n x dims).
pub fn layout(
    ctx: &GpuContext,
    kernels: &Kernels,
    problem: &LayoutProblem,
    initial: &[f32],
    epochs: usize,
) -> Result<Vec<f32>> {
    let graph = problem.graph;
    let n = graph.offsets.len() - 1;
    let shape = LayoutShape {
        n: n as u32,
        dims: problem.dims as u32,
        seed: problem.seed,
        a: problem.curve.a,
        b: problem.curve.b,
    };
    let offsets = storage_init(ctx, "the graph's rows", &graph.offsets)?;
    let targets = storage_init(ctx, "the graph's edges", &graph.targets)?;
    let periods = storage_init(ctx, "the edges' periods", &problem.epochs_per_sample)?;
    let positions = [
        storage_init(ctx, "the layout", initial)?,
        storage(ctx, "the layout", initial.len())?,
    ];
    let table = StepTable::new(ctx, epochs);
    let slots: Vec<LayoutEpoch> = (1..=epochs)
        .map(|t| LayoutEpoch {
            epoch: t as u32,
            alpha: 1.0 - (t - 1) as f32 / epochs as f32,
        })
        .collect();
    table.write_slots(ctx, 0, &slots);
    // Epoch t reads positions[(t - 1) % 2] and writes the other one.
    let dispatches = [0, 1].map(|from| {
        let buffers = LayoutBuffers {
            offsets: &offsets,
            targets: &targets,
            periods: &periods,
            previous: &positions[from],
            next: &positions[1 - from],
        };
        kernels.umap.layout(ctx, &shape, &table, buffers)
    });
    let mut encoder = ctx.device.create_command_encoder(&Default::default());
    {
        let mut pass = encoder.begin_compute_pass(&Default::default());
        for t in 0..epochs {
            dispatches[t % 2].record(&mut pass, table.offset(t));
        }
    }
    ctx.queue.submit([encoder.finish()]);
    read_f32(ctx, &positions[epochs % 2], 0, initial.len())
}
