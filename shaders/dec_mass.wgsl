// Each centre's mass f_j = sum_i s_ij over the n rows of the soft assignments: one workgroup
// per centre, each lane summing every 64th row from its own, then the lanes in halves (a fixed
// order, the same on every run).

struct MassShape {
    rows: u32,
    clusters: u32,
}

@group(0) @binding(0) var<uniform> shape: MassShape;
@group(0) @binding(1) var<storage, read> soft: array<f32>;
@group(0) @binding(2) var<storage, read_write> mass: array<f32>;

var<workgroup> partial: array<f32, 64>;

@compute @workgroup_size(64)
fn cluster_mass(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let j = wg.x;
    var sum = 0.0;
    for (var row = lid; row < shape.rows; row += 64u) {
        sum += soft[row * shape.clusters + j];
    }
    partial[lid] = sum;
    workgroupBarrier();
    for (var half = 32u; half > 0u; half /= 2u) {
        if lid < half {
            partial[lid] += partial[lid + half];
        }
        workgroupBarrier();
    }
    if lid == 0u {
        mass[j] = partial[0];
    }
}
