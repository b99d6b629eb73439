//! The CPU twin of every WGSL kernel, one module per shader file (`matmul` beside
//! shaders/matmul_*.wgsl, `umap_knn` beside shaders/umap_knn.wgsl, ...), on unpadded row-major
//! matrices: the same formulas in the same precision (f32). They are the oracle of the shader
//! tests and the math of the CPU backend. Nothing here knows of the GPU.

pub mod adam;
pub mod dec;
pub mod gather;
pub mod kmeans;
pub mod loss;
pub mod matmul;
pub mod reduce;
pub mod row_groups;
pub mod scan;
#[cfg(target_arch = "x86_64")]
mod tiled_sgemm;
pub mod umap_forest;
pub mod umap_graph;
pub mod umap_knn;
pub mod umap_layout;
pub mod umap_nndescent;

pub use adam::adam;
pub use gather::gather;
pub use loss::{bce_sigmoid, mse, BCE_EPSILON};
pub use matmul::{
    add_bias, gemm, gemm_into, gemm_packed_skipping_zeros_into, gemm_skipping_zeros_into, relu,
    relu_mask, sgemm_name, sigmoid, PackedB, CHAIN_DEPTH, TRANSPOSED_ORDER_WINDOW,
};
pub use reduce::column_sums;
pub use row_groups::{columns_grouped_by_zeros, rows_grouped_by_zeros};
