//! UMAP's heavy steps on the GPU: the exact kNN (distance blocks through the matmul kernel,
//! then a per-row top-k kernel), the membership weights, and the layout epochs.

use anyhow::Result;

use super::steps::UmapSteps;
use crate::domain::check_knn;
use crate::gpu::buffers::{pad_matrix, padded, read_bytes, read_f32, slice, storage, storage_init};
use crate::gpu::kernels::{
    record_steps, run, KnnBlock, KnnBuffers, LayoutBuffers, LayoutColour, LayoutShape, MatmulDims,
    MatmulKind, MatmulOperands, MembershipBuffers, StepTable,
};
use crate::gpu::Gpu;
use crate::reference::umap_knn::Neighbours;
use crate::reference::umap_layout::LayoutProblem;
use crate::reference::umap_nndescent::Descent;

/// Bytes of one block of distances (rows x every point).
const BLOCK_BYTES: usize = 64 << 20;

/// UMAP's steps on the GPU.
pub struct GpuUmapSteps<'a>(pub &'a Gpu);

impl UmapSteps for GpuUmapSteps<'_> {
    /// The kNN as `reference::umap_knn` finds it; fails before any work outside the kernels'
    /// domain.
    fn knn(&self, points: &[f32], n: usize, d: usize, k: usize) -> Result<Neighbours> {
        check_knn(n, d)?;
        let Gpu { ctx, kernels } = self.0;
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
                MatmulKind::InputGrad { relu_mask: false },
                MatmulDims::new(rows_pad, n_pad, d_pad),
                MatmulOperands {
                    a: slice(&point_buffer, first * d_pad, rows_pad * d_pad),
                    b: point_buffer.as_entire_binding(),
                    aux: point_buffer.as_entire_binding(),
                    c: dots.as_entire_binding(),
                },
            );
            let block = KnnBlock {
                n,
                k,
                first,
                rows,
                stride: n_pad,
            };
            let mut dispatches = vec![matmul];
            let buffers = KnnBuffers {
                dots: &dots,
                norms: &norm_buffer,
                indices: &indices,
                distances: &distances,
            };
            dispatches.extend(kernels.umap.top_k(ctx, block, &buffers));
            record_steps(&mut encoder, &dispatches, [0]);
        }
        ctx.queue.submit([encoder.finish()]);
        Ok(Neighbours {
            indices: bytemuck::pod_collect_to_vec(&read_bytes(ctx, &indices, 0, n * k * 4)?),
            squared: read_f32(ctx, &distances, 0, n * k)?,
        })
    }

    /// The lists of `reference::umap_nndescent`, bit for bit.
    fn nn_descent(
        &self,
        points: &[f32],
        shape: (usize, usize),
        descent: &Descent,
    ) -> Result<(Neighbours, Vec<u64>)> {
        super::gpu_nndescent::nn_descent(self.0, points, shape, descent)
    }

    /// The weights as `reference::umap_graph` computes them.
    fn memberships(&self, squared: &[f32], k: usize) -> Result<Vec<f32>> {
        let Gpu { ctx, kernels } = self.0;
        let n = squared.len() / k;
        let mean = squared.iter().map(|v| v.sqrt()).sum::<f32>() / squared.len().max(1) as f32;
        let squared_buffer = storage_init(ctx, "the neighbour distances", squared)?;
        let weights = storage(ctx, "the membership weights", n * k)?;
        let buffers = MembershipBuffers {
            squared: &squared_buffer,
            weights: &weights,
        };
        let dispatch = kernels.umap.memberships(ctx, n, k, mean, buffers);
        run(ctx, &[dispatch], 0)?;
        read_f32(ctx, &weights, 0, n * k)
    }

    /// Per epoch, the positions are copied to the previous-epoch buffer, then each colour of
    /// edges runs as one dispatch at its (epoch, colour) slot; all epochs in one command buffer.
    fn layout(&self, problem: &LayoutProblem, initial: &[f32], epochs: usize) -> Result<Vec<f32>> {
        let Gpu { ctx, kernels } = self.0;
        let shape = LayoutShape {
            n: problem.n as u32,
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
}
