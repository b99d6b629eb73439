//! aeclust: an MNIST autoencoder trained, and its codes clustered, in WGSL compute shaders.
//!
//! Data flows one way: [`data`] -> [`model`] / [`train`] -> [`report`].
//! [`reference`](mod@reference) is the CPU twin of every kernel: the oracle of the shader tests.

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
