use anyhow::Result;

use super::{Dispatch, EntryPoint, Kernel};
use crate::domain::{kmeans_centroids_per_dispatch, GRID_ROW, KMEANS_CHUNK, KMEANS_MAX_K};
use crate::gpu::buffers::uniform;
use crate::gpu::shader::{grid, wgsl_constants, Slot};
use crate::gpu::GpuContext;

/// The vec4 slots per lane of the wide `partial_sums_subgroup8` (the narrow one has 1): 128
/// dimensions per workgroup.
const WIDE_SLOTS: u32 = 4;
/// The most clusters for `partial_sums_subgroup8`, which walks the clusters in turn (a ballot
/// per cluster and 8 points): past this the plain kernel's indexed sums cost less on
/// lavapipe (measured: even at 32 on 10 000 x 32 codes, 1.6x faster at 32 on 784-d pixels).
pub const BALLOT_MAX_K: usize = 32;

/// `assign`, `assign_subgroup8`, `partial_sums`, `partial_sums_subgroup8` (narrow, then wide),
/// `update`, `shift_rows` and `converge`, in that order.
pub(super) fn entry_points() -> [EntryPoint; 8] {
    [
        ("assign", 1),
        ("assign_subgroup8", 1),
        ("partial_sums", 1),
        ("partial_sums_subgroup8", 1),
        ("partial_sums_subgroup8", WIDE_SLOTS),
        ("update", 1),
        ("shift_rows", 1),
        ("converge", 1),
    ]
    .map(|(entry, slots)| EntryPoint {
        entry,
        overrides: Vec::new(),
        parts: [
            (
                "kmeans constants",
                wgsl_constants(&[
                    ("CHUNK", KMEANS_CHUNK as u32),
                    ("MAX_K", KMEANS_MAX_K as u32),
                    ("ROW", GRID_ROW),
                    ("SLOTS", slots),
                    ("MAX_RUNNING", MAX_RUNNING as u32),
                ]),
            ),
            wgsl_file!("kmeans.wgsl"),
        ]
        .into_iter()
        .chain(
            entry
                .ends_with("subgroup8")
                .then(|| wgsl_file!("kmeans_subgroup.wgsl")),
        )
        .collect(),
        slots: vec![
            Slot::Uniform,
            Slot::Read,
            Slot::ReadWrite,
            Slot::ReadWrite,
            Slot::ReadWrite,
            Slot::ReadWrite,
            Slot::ReadWrite,
            Slot::ReadWrite,
            Slot::ReadWrite,
        ],
    })
}

/// The most restarts one dispatch runs (its grid's z): the length of `KmeansShape::running`
/// (written there as a literal: rustc 1.9x fails with an internal error on the constant).
pub const MAX_RUNNING: usize = 256;

/// Sizes of one k-means problem (all restarts at once), as the kernels see them.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub struct KmeansShape {
    pub n: u32,
    /// The padded dimensions (`padded_dims`) of the points' and centroids' rows.
    pub d: u32,
    pub k: u32,
    pub chunks: u32,
    /// The centroids one `assign` dispatch compares: first_centroid .. end_centroid.
    first_centroid: u32,
    end_centroid: u32,
    /// How many restarts the dispatches run: the first entries of `running`.
    pub restarts: u32,
    pub max_iter: u32,
    /// A restart is done when its squared centroid shift is at most this.
    pub tol: f32,
    /// 1 for the assignment to the final centroids, which runs for every restart.
    final_pass: u32,
    /// Always 0: the kernels xor each square with it, so that no driver can fuse the product
    /// into the add that follows (kmeans.wgsl's `squares`).
    zero_bits: u32,
    _pad: u32,
    /// The restarts the dispatches run, by grid z: the host leaves out the restarts that
    /// are done, so that they cost no workgroups.
    running: [u32; 256],
}

// `running`'s literal length is MAX_RUNNING, and the struct is the WGSL one (48 bytes, then
// the list).
const _: () = assert!(std::mem::size_of::<KmeansShape>() == 48 + 4 * MAX_RUNNING);

/// The kernels' row width for d features: d rounded up to a multiple of 4 (a row is vec4s),
/// the rest zeros, which change no distance, sum or shift.
pub fn padded_dims(d: usize) -> usize {
    d.next_multiple_of(4)
}

impl KmeansShape {
    /// The shape of `restarts` runs (at most `MAX_RUNNING`) on n points of d features in k
    /// clusters, each stopping at a squared centroid shift of at most `tol` or after
    /// `max_iter` iterations, all of them running; the caller checks it against
    /// `domain::check_kmeans`.
    pub fn new(n: usize, d: usize, k: usize, restarts: usize, max_iter: usize, tol: f32) -> Self {
        let shape = KmeansShape {
            n: n as u32,
            d: padded_dims(d) as u32,
            k: k as u32,
            chunks: n.div_ceil(KMEANS_CHUNK) as u32,
            first_centroid: 0,
            end_centroid: k as u32,
            restarts: restarts as u32,
            max_iter: max_iter as u32,
            tol,
            final_pass: 0,
            zero_bits: 0,
            _pad: 0,
            running: [0; 256],
        };
        shape.running_only(&(0..restarts as u32).collect::<Vec<_>>())
    }

    /// This shape running only the restarts `running` (at most `MAX_RUNNING`).
    pub fn running_only(self, running: &[u32]) -> Self {
        let mut shape = KmeansShape {
            restarts: running.len() as u32,
            ..self
        };
        shape.running[..running.len()].copy_from_slice(running);
        shape
    }
}

/// The buffers of one k-means problem, in binding order; all but the points hold one part
/// per restart. Points, centroids and updated centroids have rows of `padded_dims`.
pub struct KmeansBuffers<'a> {
    pub points: &'a wgpu::Buffer,
    pub centroids: &'a wgpu::Buffer,
    pub labels: &'a wgpu::Buffer,
    pub distances: &'a wgpu::Buffer,
    pub partials: &'a wgpu::Buffer,
    pub updated: &'a wgpu::Buffer,
    /// k floats per restart: each centroid's squared shift.
    pub shifts: &'a wgpu::Buffer,
    /// 2 u32 per restart: done, iterations run.
    pub state: &'a wgpu::Buffer,
}

impl KmeansBuffers<'_> {
    fn bindings<'b>(&'b self, shape: &'b wgpu::Buffer) -> Vec<wgpu::BindingResource<'b>> {
        [
            shape,
            self.points,
            self.centroids,
            self.labels,
            self.distances,
            self.partials,
            self.updated,
            self.shifts,
            self.state,
        ]
        .iter()
        .map(|b| b.as_entire_binding())
        .collect()
    }
}

/// Lloyd's k-means for every restart at once: assignment, deterministic partial sums,
/// centroid update, shift and convergence.
pub struct Kmeans {
    assign: Kernel,
    /// `assign` is the subgroup kernel: 8 points per workgroup and 16 centroids at once (else
    /// 64 points, one centroid at a time).
    subgroup8: bool,
    /// The plain partial sums: 64 dimensions per workgroup, any k.
    partial_sums: Kernel,
    /// With subgroups, `partial_sums_subgroup8` for k up to `BALLOT_MAX_K`: narrow (rows up to
    /// 8 vec4s) and wide.
    ballot_sums: Option<[Kernel; 2]>,
    update: Kernel,
    shift_rows: Kernel,
    converge: Kernel,
}

impl Kmeans {
    /// The kernels that suit the adapter: the subgroup `assign` and `partial_sums` on
    /// adapters with 8-wide subgroups (lavapipe), the plain ones elsewhere.
    pub fn new(ctx: &GpuContext) -> Result<Self> {
        Self::with_subgroup8(ctx, ctx.subgroup8)
    }

    /// The kernels with the subgroup `assign` and `partial_sums` or the plain ones (the
    /// subgroup ones need an adapter with 8-wide subgroups). Both give the same labels,
    /// distances and sums, bit for bit; tests run both.
    pub fn with_subgroup8(ctx: &GpuContext, subgroup8: bool) -> Result<Self> {
        let [assign, assign8, sums, sums8, sums8_wide, update, shift_rows, converge] =
            &entry_points();
        Ok(Kmeans {
            assign: Kernel::new(ctx, if subgroup8 { assign8 } else { assign })?,
            subgroup8,
            partial_sums: Kernel::new(ctx, sums)?,
            ballot_sums: if subgroup8 {
                Some([Kernel::new(ctx, sums8)?, Kernel::new(ctx, sums8_wide)?])
            } else {
                None
            },
            update: Kernel::new(ctx, update)?,
            shift_rows: Kernel::new(ctx, shift_rows)?,
            converge: Kernel::new(ctx, converge)?,
        })
    }

    /// Every restart's labels and distances to the nearest of its centroids (restarts that
    /// are done sit out, except in the `final_pass`): one dispatch per range of centroids
    /// that fits the loop budget, to be recorded in order.
    pub fn assign(
        &self,
        ctx: &GpuContext,
        shape: KmeansShape,
        b: &KmeansBuffers,
        final_pass: bool,
    ) -> Vec<Dispatch> {
        let (points_per_group, block) = if self.subgroup8 { (8, 16) } else { (64, 1) };
        let groups = shape.n.div_ceil(points_per_group);
        let per_dispatch = kmeans_centroids_per_dispatch(shape.d as usize / 4, block) as u32;
        (0..shape.k)
            .step_by(per_dispatch as usize)
            .map(|first| {
                let range = KmeansShape {
                    first_centroid: first,
                    end_centroid: (first + per_dispatch).min(shape.k),
                    final_pass: u32::from(final_pass),
                    ..shape
                };
                let shape_buffer = uniform(ctx, "kmeans shape", &range);
                self.assign.dispatch_layers(
                    ctx,
                    b.bindings(&shape_buffer),
                    grid(groups, GRID_ROW),
                    shape.restarts,
                )
            })
            .collect()
    }

    /// One Lloyd iteration of every restart that is not done, after `assign`: partial sums,
    /// update, shifts, convergence.
    pub fn iterate(
        &self,
        ctx: &GpuContext,
        shape: KmeansShape,
        b: &KmeansBuffers,
    ) -> Vec<Dispatch> {
        let shape_buffer = uniform(ctx, "kmeans shape", &shape);
        let bindings = || b.bindings(&shape_buffer);
        let layers = shape.restarts;
        let quads = shape.d / 4;
        let (partial_sums, dimension_groups) = match &self.ballot_sums {
            Some([_, wide]) if shape.k as usize <= BALLOT_MAX_K && quads > 8 => {
                (wide, quads.div_ceil(8 * WIDE_SLOTS))
            }
            Some([narrow, _]) if shape.k as usize <= BALLOT_MAX_K => (narrow, 1),
            _ => (&self.partial_sums, (shape.d + 1).div_ceil(64)),
        };
        vec![
            partial_sums.dispatch_layers(ctx, bindings(), (dimension_groups, shape.chunks), layers),
            self.update
                .dispatch_layers(ctx, bindings(), (shape.d.div_ceil(64), shape.k), layers),
            self.shift_rows
                .dispatch_layers(ctx, bindings(), (shape.k.div_ceil(64), 1), layers),
            self.converge
                .dispatch(ctx, bindings(), (shape.restarts.div_ceil(64), 1)),
        ]
    }
}
