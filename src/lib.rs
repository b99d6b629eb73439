//! aeclust: an autoencoder trained, and its codes clustered, in WGSL compute shaders, with a
//! CPU twin of every kernel.
//!
//! [`pipeline`] runs the post's steps (train, encode, embed, cluster, pictures) on a
//! [`device::Device`], the one place where the GPU or the CPU is chosen: it builds each
//! stage's implementation ([`train::Trainer`], [`encode::Encoder`], [`embed::UmapSteps`],
//! [`cluster::engine::Engine`]). On the GPU the stages record [`gpu::kernels`]; on the CPU
//! they call [`reference`](mod@reference), one twin per shader file and the oracle of the
//! shader tests. [`domain`] states what every kernel is correct for.

pub mod bench;
pub mod cluster;
pub mod data;
pub mod device;
pub mod domain;
pub mod embed;
pub mod encode;
pub mod gpu;
pub mod model;
pub mod model_file;
pub mod network;
pub mod npy;
pub mod optim;
pub mod output;
pub mod pca;
pub mod pipeline;
pub mod recipe;
pub mod reference;
pub mod report;
pub mod scale;
pub mod simd;
pub mod train;
