//! NN-descent on the GPU: the steps of `reference::umap_nndescent::nn_descent` as dispatches of
//! umap_forest.wgsl, scan.wgsl and umap_nndescent.wgsl. The trees and the starting lists are
//! one command buffer; each iteration is two, the first followed by a read of the most reverse
//! entries of a point (how many ranges `draw_samples` needs), the second by a read of the
//! entries that came in (whether the descent goes on).

use anyhow::Result;

use crate::domain::{
    check_nn_descent, join_slots_per_dispatch, sample_entries_per_dispatch, SCAN_BLOCK,
};
use crate::gpu::buffers::{read_bytes, storage, storage_init};
use crate::gpu::kernels::{
    record_steps, DescentBuffers, DescentShape, DescentStep, Dispatch, ForestBuffers, ForestStep,
    TreeShape,
};
use crate::gpu::{Gpu, GpuContext};
use crate::reference::umap_knn::Neighbours;
use crate::reference::umap_nndescent::{original_numbering, Descent, Lists};

/// The buffers of one descent.
struct Buffers {
    points: wgpu::Buffer,
    permuted: wgpu::Buffer,
    /// The renumbering tree, kept to the end (its order maps the lists back).
    renumbering: wgpu::Buffer,
    /// Two trees between which the levels go back and forth.
    trees: [wgpu::Buffer; 2],
    sides: wgpu::Buffer,
    prefix: wgpu::Buffer,
    sums: wgpu::Buffer,
    entries: wgpu::Buffer,
    squared: wgpu::Buffer,
    counts: wgpu::Buffer,
    sources: wgpu::Buffer,
    samples: wgpu::Buffer,
}

impl Buffers {
    /// Every buffer, each checked against the device's limits before any is made.
    fn new(
        ctx: &GpuContext,
        points: &[f32],
        n: usize,
        d: usize,
        descent: &Descent,
    ) -> Result<Self> {
        let quads = d.div_ceil(4);
        let (k, m) = (descent.k, descent.candidates);
        let mut padded = vec![0.0f32; n * quads * 4];
        for (row, point) in padded.chunks_mut(quads * 4).zip(points.chunks(d)) {
            row[..d].copy_from_slice(point);
        }
        let sizes = [
            ("the renumbered points", n * quads * 4),
            ("a tree", 3 * n),
            ("the neighbour lists", n * k),
            ("the neighbour samples", n * 2 * m),
        ];
        for (label, floats) in sizes {
            ctx.check_binding_size(label, (floats * 4) as u64)?;
        }
        Ok(Buffers {
            points: storage_init(ctx, "the points", &padded)?,
            permuted: storage(ctx, "the renumbered points", n * quads * 4)?,
            renumbering: storage(ctx, "the renumbering tree", 3 * n)?,
            trees: [
                storage(ctx, "a tree", 3 * n)?,
                storage(ctx, "a tree", 3 * n)?,
            ],
            sides: storage(ctx, "the trees' sides", n)?,
            prefix: storage(ctx, "the prefix sums", n + 1)?,
            sums: storage(ctx, "the block sums", n.div_ceil(SCAN_BLOCK))?,
            entries: storage(ctx, "the neighbour lists", n * k)?,
            squared: storage(ctx, "the neighbour distances", n * k)?,
            counts: storage(ctx, "the reverse counts", n + 2)?,
            sources: storage(ctx, "the reverse entries", n * k)?,
            samples: storage(ctx, "the neighbour samples", n * 2 * m)?,
        })
    }

    fn descent<'a>(&'a self, tree: &'a wgpu::Buffer) -> DescentBuffers<'a> {
        DescentBuffers {
            points: &self.permuted,
            entries: &self.entries,
            squared: &self.squared,
            counts: &self.counts,
            offsets: &self.prefix,
            sources: &self.sources,
            samples: &self.samples,
            tree,
        }
    }
}

/// `reference::umap_nndescent::nn_descent`, bit for bit: the lists and the entries that came in
/// at each iteration. Fails before any work outside the kernels' domain.
pub fn nn_descent(
    gpu: &Gpu,
    points: &[f32],
    (n, d): (usize, usize),
    descent: &Descent,
) -> Result<(Neighbours, Vec<u64>)> {
    check_nn_descent(n, d, descent.k, descent.leaf)?;
    let ctx = &gpu.ctx;
    let buffers = Buffers::new(ctx, points, n, d, descent)?;
    let run = Run {
        gpu,
        buffers: &buffers,
        descent,
        n,
        quads: d.div_ceil(4),
    };
    run.start()?;
    let mut history = Vec::new();
    for iteration in 1..=descent.iterations as u32 {
        let updates = run.iterate(iteration)?;
        history.push(updates);
        if descent.converged(n, updates) {
            break;
        }
    }
    let k = descent.k;
    let lists = Lists {
        entries: bytemuck::pod_collect_to_vec(&read_bytes(ctx, &buffers.entries, 0, n * k * 4)?),
        squared: bytemuck::pod_collect_to_vec(&read_bytes(ctx, &buffers.squared, 0, n * k * 4)?),
    };
    let order = bytemuck::pod_collect_to_vec(&read_bytes(ctx, &buffers.renumbering, 0, n * 4)?);
    Ok((original_numbering(&lists, &order), history))
}

/// One descent's dispatches.
struct Run<'a> {
    gpu: &'a Gpu,
    buffers: &'a Buffers,
    descent: &'a Descent,
    n: usize,
    quads: usize,
}

impl Run<'_> {
    fn tree_shape(&self, tree: u32, level: u32) -> TreeShape {
        TreeShape {
            n: self.n as u32,
            quads: self.quads as u32,
            seed: self.descent.seed,
            tree,
            level,
            leaf: self.descent.leaf as u32,
            zero_bits: 0,
            _pad: 0,
        }
    }

    fn descent_shape(
        &self,
        iteration: u32,
        (first, end): (usize, usize),
        flag: bool,
    ) -> DescentShape {
        DescentShape {
            n: self.n as u32,
            k: self.descent.k as u32,
            m: self.descent.candidates as u32,
            quads: self.quads as u32,
            seed: self.descent.seed,
            iteration,
            first: first as u32,
            end: end as u32,
            leaf: self.descent.leaf as u32,
            flag: u32::from(flag),
            zero_bits: 0,
            _pad: 0,
        }
    }

    /// Tree `tree` of `points` (with `spare`, a buffer of the same size, bound where the
    /// permutation would write): its dispatches, and the buffer of `trees` that ends up
    /// holding it.
    fn tree(
        &self,
        tree: u32,
        points: &wgpu::Buffer,
        spare: &wgpu::Buffer,
    ) -> (Vec<Dispatch>, usize) {
        let Gpu { ctx, kernels } = self.gpu;
        let b = self.buffers;
        let forest = |step, level, from: usize| {
            let buffers = ForestBuffers {
                points,
                tree_in: &b.trees[from],
                sides: &b.sides,
                prefix: &b.prefix,
                tree_out: &b.trees[1 - from],
                permuted: spare,
            };
            kernels
                .nndescent
                .forest(ctx, step, &self.tree_shape(tree, level), &buffers)
        };
        let mut dispatches = vec![forest(ForestStep::Start, 0, 1)];
        let mut current = 0;
        for level in 0..self.descent.levels(self.n) as u32 {
            dispatches.push(forest(ForestStep::Sides, level, current));
            let prefix = (&b.prefix, &b.sums);
            dispatches.extend(kernels.scan.dispatches(ctx, self.n, &b.sides, prefix));
            dispatches.push(forest(ForestStep::Scatter, level, current));
            current = 1 - current;
        }
        (dispatches, current)
    }

    /// The renumbering tree, the renumbered points, the starting lists and every tree's leaves
    /// offered.
    fn start(&self) -> Result<()> {
        let Gpu { ctx, kernels } = self.gpu;
        let b = self.buffers;
        let mut encoder = ctx.device.create_command_encoder(&Default::default());
        let (dispatches, at) = self.tree(0, &b.points, &b.permuted);
        record_steps(&mut encoder, &dispatches, [0]);
        encoder.copy_buffer_to_buffer(&b.trees[at], 0, &b.renumbering, 0, None);
        let permute = ForestBuffers {
            points: &b.points,
            tree_in: &b.renumbering,
            sides: &b.sides,
            prefix: &b.prefix,
            tree_out: &b.trees[0],
            permuted: &b.permuted,
        };
        let nndescent = &kernels.nndescent;
        let shape = self.descent_shape(0, (0, 0), true);
        let mut dispatches = vec![
            nndescent.forest(ctx, ForestStep::Permute, &self.tree_shape(0, 0), &permute),
            nndescent.descent(
                ctx,
                DescentStep::InitialLists,
                &shape,
                &b.descent(&b.renumbering),
            ),
            nndescent.descent(
                ctx,
                DescentStep::OfferLeaves,
                &shape,
                &b.descent(&b.renumbering),
            ),
        ];
        let shape = self.descent_shape(0, (0, 0), false);
        for tree in 1..self.descent.trees as u32 {
            let (built, at) = self.tree(tree, &b.permuted, &b.points);
            dispatches.extend(built);
            let leaves = b.descent(&b.trees[at]);
            dispatches.push(nndescent.descent(ctx, DescentStep::OfferLeaves, &shape, &leaves));
        }
        record_steps(&mut encoder, &dispatches, [0]);
        ctx.queue.submit([encoder.finish()]);
        Ok(())
    }

    /// One iteration; returns how many entries came in.
    fn iterate(&self, iteration: u32) -> Result<u64> {
        let Gpu { ctx, kernels } = self.gpu;
        let b = self.buffers;
        let (n, k, m) = (self.n, self.descent.k, self.descent.candidates);
        let nndescent = &kernels.nndescent;
        let buffers = b.descent(&b.renumbering);
        let step = |step, range, flag| {
            nndescent.descent(
                ctx,
                step,
                &self.descent_shape(iteration, range, flag),
                &buffers,
            )
        };
        let mut encoder = ctx.device.create_command_encoder(&Default::default());
        encoder.clear_buffer(&b.counts, 0, None);
        let mut counting = vec![step(DescentStep::CountReverse, (0, 0), false)];
        counting.extend(
            kernels
                .scan
                .dispatches(ctx, n, &b.counts, (&b.prefix, &b.sums)),
        );
        record_steps(&mut encoder, &counting, [0]);
        encoder.clear_buffer(&b.counts, 0, Some((n * 4) as u64));
        record_steps(
            &mut encoder,
            &[step(DescentStep::FillReverse, (0, 0), false)],
            [0],
        );
        ctx.queue.submit([encoder.finish()]);
        let most_reverse = read_counter(ctx, &b.counts, n + 1)? as usize;

        let chunk = sample_entries_per_dispatch(k, m);
        let mut dispatches: Vec<Dispatch> = (0..most_reverse.div_ceil(chunk).max(1))
            .map(|c| {
                step(
                    DescentStep::DrawSamples,
                    (c * chunk, (c + 1) * chunk),
                    false,
                )
            })
            .collect();
        let slots = join_slots_per_dispatch(self.quads, k, m);
        for first in (0..2 * m).step_by(slots) {
            let end = (first + slots).min(2 * m);
            dispatches.push(step(DescentStep::Join, (first, end), end == 2 * m));
        }
        let mut encoder = ctx.device.create_command_encoder(&Default::default());
        record_steps(&mut encoder, &dispatches, [0]);
        ctx.queue.submit([encoder.finish()]);
        Ok(u64::from(read_counter(ctx, &b.counts, n)?))
    }
}

/// The u32 at `index` of `buffer`, once the work submitted before is done.
fn read_counter(ctx: &GpuContext, buffer: &wgpu::Buffer, index: usize) -> Result<u32> {
    let bytes = read_bytes(ctx, buffer, index * 4, 4)?;
    Ok(u32::from_le_bytes(bytes[..4].try_into().expect("4 bytes")))
}
