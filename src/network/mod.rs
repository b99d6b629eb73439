//! The model on a device: where its parameters live in the GPU's flat buffer, and its passes
//! (forward, loss, backward) as GPU dispatch lists or as CPU twin calls. Used by the trainers
//! and the encoder.

mod cpu_passes;
mod gpu_passes;
mod param_offsets;

pub use cpu_passes::{forward_into, pack_forward};
pub use gpu_passes::{batch_steps, eval_rows, DeviceSplit, GpuPasses, Workspace};
pub use param_offsets::{LayerSlots, ParamOffsets};

/// Rows per batch of a pass without learning (validation, encoding), on every device.
pub const EVAL_ROWS: usize = 1024;
