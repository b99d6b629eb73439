//! aeclust: an autoencoder trained, and its codes clustered, in WGSL compute shaders, with a
//! CPU twin of every kernel.
//!
//! [`pipeline`] runs the post's steps (train, encode, embed, cluster, pictures) on a
//! [`device::Device`], the one place where the GPU or the CPU is chosen: it builds each
//! stage's implementation ([`train::Trainer`], [`encode::Encoder`], [`embed::UmapSteps`],
//! [`cluster::engine::Engine`]). On the GPU the stages record [`gpu::kernels`]; on the CPU
//! they call [`reference`](mod@reference), one twin per shader file and the oracle of the
//! shader tests. [`domain`] states what every kernel is correct for.
//!
//! The CPU stages run their loops on rayon's global pool. Called from a thread outside it,
//! each loop is handed over and the caller sleeps until it is done; a program that makes its
//! main thread one of the pool's workers first
//! (`rayon::ThreadPoolBuilder::new().use_current_thread().build_global()`, as the binary
//! and examples/ do) saves that round trip, thousands of times per UMAP layout.

pub mod bench;
pub mod cluster;
pub mod data;
pub mod device;
pub mod domain;
pub mod embed;
pub mod encode;
pub mod export;
pub mod gpu;
pub mod identity;
pub mod input;
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
