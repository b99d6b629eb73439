use anyhow::Result;

use super::{Dispatch, EntryPoint, Kernel};
use crate::domain::SCAN_BLOCK;
use crate::gpu::buffers::uniform;
use crate::gpu::shader::{wgsl_constants, Slot};
use crate::gpu::GpuContext;

/// `scan_blocks`, `scan_totals` and `scan_within`, in that order.
pub(super) fn entry_points() -> [EntryPoint; 3] {
    ["scan_blocks", "scan_totals", "scan_within"].map(|entry| EntryPoint {
        entry,
        overrides: Vec::new(),
        parts: vec![
            (
                "scan constants",
                wgsl_constants(&[("BLOCK", SCAN_BLOCK as u32)]),
            ),
            wgsl_file!("scan.wgsl"),
        ],
        slots: vec![Slot::Uniform, Slot::Read, Slot::ReadWrite, Slot::ReadWrite],
    })
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct ScanShape {
    n: u32,
    blocks: u32,
}

/// Exclusive prefix sums of u32 counts (`reference::scan`).
pub struct Scan {
    blocks: Kernel,
    totals: Kernel,
    within: Kernel,
}

impl Scan {
    pub fn new(ctx: &GpuContext) -> Result<Self> {
        let [blocks, totals, within] = &entry_points();
        Ok(Scan {
            blocks: Kernel::new(ctx, blocks)?,
            totals: Kernel::new(ctx, totals)?,
            within: Kernel::new(ctx, within)?,
        })
    }

    /// The three dispatches that write the n + 1 exclusive prefix sums of the first n values
    /// of `values` into `prefix`, with `sums` (one u32 per SCAN_BLOCK values) between them.
    pub fn dispatches(
        &self,
        ctx: &GpuContext,
        n: usize,
        values: &wgpu::Buffer,
        (prefix, sums): (&wgpu::Buffer, &wgpu::Buffer),
    ) -> [Dispatch; 3] {
        let blocks = n.div_ceil(SCAN_BLOCK) as u32;
        let shape = uniform(
            ctx,
            "scan shape",
            &ScanShape {
                n: n as u32,
                blocks,
            },
        );
        let resources = || {
            vec![
                shape.as_entire_binding(),
                values.as_entire_binding(),
                prefix.as_entire_binding(),
                sums.as_entire_binding(),
            ]
        };
        let groups = blocks.div_ceil(64);
        [
            self.blocks.dispatch(ctx, resources(), (groups, 1)),
            self.totals.dispatch(ctx, resources(), (1, 1)),
            self.within.dispatch(ctx, resources(), (groups, 1)),
        ]
    }
}
