// The soft assignments s of the batch's valid rows, into soft[(step.loss_offset + row) * k ..].

@group(0) @binding(4) var<storage, read_write> soft: array<f32>;

@compute @workgroup_size(64)
fn soft_assign(@builtin(global_invocation_id) gid: vec3<u32>) {
    let row = gid.x;
    if row >= step.rows {
        return;
    }
    let sum = kernel_sum(row);
    let out = (step.loss_offset + row) * shape.clusters;
    for (var j = 0u; j < shape.clusters; j++) {
        soft[out + j] = kernel_to(row, j) / sum;
    }
}
