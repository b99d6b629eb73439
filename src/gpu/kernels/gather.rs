use anyhow::Result;

use super::{step::STEP_BYTES, Dispatch, EntryPoint, Kernel, StepTable};
use crate::gpu::buffers::{padded, round_up, storage_bytes, uniform};
use crate::gpu::shader::{wgsl_constants, Slot};
use crate::gpu::GpuContext;
use crate::reference::gather::TURN_ONE;

pub(super) fn entry_points() -> Vec<EntryPoint> {
    vec![EntryPoint {
        entry: "gather",
        overrides: Vec::new(),
        parts: vec![
            (
                "gather constants",
                wgsl_constants(&[("TURN_ONE", TURN_ONE as u32)]),
            ),
            wgsl_file!("step.wgsl"),
            wgsl_file!("gather.wgsl"),
        ],
        slots: vec![
            Slot::StepUniform(STEP_BYTES),
            Slot::Uniform,
            Slot::Read,
            Slot::Read,
            Slot::ReadWrite,
            Slot::Read,
        ],
    }]
}

/// Images `first .. first + count` of a split, packed as u8 in one buffer.
pub struct ImageChunk {
    pub first: usize,
    pub count: usize,
    pub pixels: wgpu::Buffer,
}

/// Uploads `count` images of `width` bytes each as chunks of whole images, each within the
/// device's binding limit.
pub fn upload_images(
    ctx: &GpuContext,
    what: &str,
    pixels: &[u8],
    width: usize,
) -> Result<Vec<ImageChunk>> {
    // Fails when not even one image fits.
    ctx.check_binding_size(what, round_up(width, 4) as u64)?;
    let image = width.max(1);
    let per_chunk = (ctx.max_binding_bytes() / image as u64) as usize;
    pixels
        .chunks(per_chunk * image)
        .enumerate()
        .map(|(i, bytes)| {
            Ok(ImageChunk {
                first: i * per_chunk,
                count: bytes.len() / image,
                pixels: storage_bytes(ctx, what, bytes)?,
            })
        })
        .collect()
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct GatherShape {
    width: u32,
    stride: u32,
    first_image: u32,
    images: u32,
    cols: u32,
    channels: u32,
    moved: u32,
}

/// What the gather reads: a split's images in chunks, the sample order that picks them, and
/// optionally a whole-pixel move per position in the order.
#[derive(Clone, Copy)]
pub struct GatherSource<'a> {
    pub images: &'a [ImageChunk],
    pub order: &'a wgpu::Buffer,
    pub moves: Option<ImageMoves<'a>>,
}

/// One packed move per position in the sample order (`reference::gather::ImageMove::pack`,
/// two words each), for images of rows of `cols` pixels of `channels` values.
#[derive(Clone, Copy)]
pub struct ImageMoves<'a> {
    pub moves: &'a wgpu::Buffer,
    pub cols: usize,
    pub channels: usize,
}

/// Builds a padded f32 batch from u8 images picked through a sample-order buffer.
pub struct Gather(Kernel);

impl Gather {
    pub fn new(ctx: &GpuContext) -> Result<Self> {
        Kernel::new(ctx, &entry_points()[0]).map(Gather)
    }

    /// `batch` is `rows_pad x padded(width)`; images are `width` bytes each. One dispatch per
    /// chunk, to be recorded together (the first chunk's also zeroes the padding rows).
    pub fn dispatch(
        &self,
        ctx: &GpuContext,
        steps: &StepTable,
        source: GatherSource<'_>,
        batch: &wgpu::Buffer,
        width: usize,
        rows_pad: usize,
    ) -> Vec<Dispatch> {
        let stride = padded(width);
        source
            .images
            .iter()
            .map(|chunk| {
                let shape = GatherShape {
                    width: width as u32,
                    stride: stride as u32,
                    first_image: chunk.first as u32,
                    images: chunk.count as u32,
                    cols: source.moves.map_or(1, |m| m.cols as u32),
                    channels: source.moves.map_or(1, |m| m.channels as u32),
                    moved: u32::from(source.moves.is_some()),
                };
                // Without moves the shader reads none: any buffer fills the slot.
                let moves = source.moves.map_or(source.order, |m| m.moves);
                self.0.dispatch(
                    ctx,
                    vec![
                        steps.binding(),
                        uniform(ctx, "gather shape", &shape).as_entire_binding(),
                        chunk.pixels.as_entire_binding(),
                        source.order.as_entire_binding(),
                        batch.as_entire_binding(),
                        moves.as_entire_binding(),
                    ],
                    ((stride as u32).div_ceil(64), rows_pad as u32),
                )
            })
            .collect()
    }
}
