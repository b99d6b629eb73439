// DEC's clustering loss (Xie et al. 2016) on a batch of codes z, against k centres c_j:
// the Student-t kernel of one degree of freedom, t_ij = 1 / (1 + |z_i - c_j|^2), gives the soft
// assignments q_ij = t_ij / sum_j t_ij. The target of a sample is p_ij = s_ij^2 / f_j
// normalised over j, where s are the soft assignments of every sample at the last refresh and
// f_j = sum_i s_ij each centre's mass. The loss of a row is KL(p_i || q_i), and
// dL/dz_i = 2 sum_j t_ij (p_ij - q_ij) (z_i - c_j) / rows (the batch's mean), and
// dL/dc_j = -2 sum_i t_ij (p_ij - q_ij) (z_i - c_j) / rows.
// This part holds what the kernels over a batch share (dec_assign.wgsl, dec_loss.wgsl,
// dec_centres.wgsl; the masses are dec_mass.wgsl's): one invocation per row, each looping
// over k x d, or per centre value, looping over the rows (see domain.rs).

struct DecShape {
    clusters: u32,
    dims: u32,
    // Floats per row of `codes` and `grad`.
    stride: u32,
    // Rows of the batch buffers (padded).
    rows: u32,
}

@group(0) @binding(0) var<uniform> step: Step;
@group(0) @binding(1) var<uniform> shape: DecShape;
@group(0) @binding(2) var<storage, read> codes: array<f32>;
@group(0) @binding(3) var<storage, read> centres: array<f32>;

fn kernel_to(row: u32, j: u32) -> f32 {
    var distance = 0.0;
    for (var d = 0u; d < shape.dims; d++) {
        let e = codes[row * shape.stride + d] - centres[j * shape.dims + d];
        distance += e * e;
    }
    return 1.0 / (1.0 + distance);
}

fn kernel_sum(row: u32) -> f32 {
    var sum = 0.0;
    for (var j = 0u; j < shape.clusters; j++) {
        sum += kernel_to(row, j);
    }
    return sum;
}
