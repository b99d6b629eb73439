//! The GPU host: adapter and device, buffers, and one wrapper per WGSL kernel family.

pub mod buffers;
mod context;
pub mod kernels;
mod shader;

pub use context::{list_adapters, AdapterReport, AdapterSummary, GpuContext, GpuRequest};
pub use shader::wgsl_source;

/// A GPU context and its compiled kernels: what every GPU stage runs on.
pub struct Gpu {
    pub ctx: GpuContext,
    pub kernels: kernels::Kernels,
}
