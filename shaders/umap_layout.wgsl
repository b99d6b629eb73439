// One colour of one epoch of UMAP's layout optimisation: umap-learn's update for each sampled
// edge of the colour, one invocation per undirected edge {i, j}. The edges of a colour share
// no end, so they move their ends in place at the same time without conflict; negative
// samples read the previous epoch's positions (`previous`), so the result does not depend on
// scheduling. An edge is sampled in an epoch when floor(epoch / period) grows (period = max
// weight / weight); then, for i -> j and then j -> i: head and tail attract each other (both
// move), and the head is pushed from NEGATIVE_RATE points drawn by a counter-based hash of
// (seed, epoch, directed edge, sample). Gradients are clipped to +-4 and scaled by
// alpha = 1 - (epoch - 1) / epochs.

struct LayoutShape {
    n: u32,
    dims: u32,
    seed: u32,
    a: f32,
    b: f32,
}

// The slot of one (epoch, colour).
struct Colour {
    epoch: u32,
    alpha: f32,
    first: u32,
    count: u32,
}

const NEGATIVE_RATE: u32 = 5u;
const CLIP: f32 = 4.0;
// ROW, the workgroups per row of a 2-D grid, is declared by the host.

@group(0) @binding(0) var<uniform> colour: Colour;
@group(0) @binding(1) var<uniform> shape: LayoutShape;
// Per undirected edge: i, j, the directed edge i -> j, the directed edge j -> i.
@group(0) @binding(2) var<storage, read> ends: array<vec4<u32>>;
// Per directed edge.
@group(0) @binding(3) var<storage, read> periods: array<f32>;
@group(0) @binding(4) var<storage, read> previous: array<f32>;
@group(0) @binding(5) var<storage, read_write> positions: array<f32>;

// mix (shaders/hash.wgsl) is compiled before this file.

fn sample_edge(head: u32, tail: u32, edge: u32) {
    let dims = shape.dims;
    let a = shape.a;
    let b = shape.b;
    let h = head * dims;
    let t = tail * dims;
    var d2 = 0.0;
    for (var c = 0u; c < dims; c++) {
        let e = positions[h + c] - positions[t + c];
        d2 += e * e;
    }
    if d2 > 0.0 {
        let coeff = -2.0 * a * b * pow(d2, b - 1.0) / (a * pow(d2, b) + 1.0);
        for (var c = 0u; c < dims; c++) {
            let grad = clamp(coeff * (positions[h + c] - positions[t + c]), -CLIP, CLIP);
            positions[h + c] += grad * colour.alpha;
            positions[t + c] -= grad * colour.alpha;
        }
    }
    for (var s = 0u; s < NEGATIVE_RATE; s++) {
        let k = mix(mix(mix(shape.seed ^ colour.epoch) ^ edge) ^ s) % shape.n;
        if k == head {
            continue;
        }
        var r2 = 0.0;
        for (var c = 0u; c < dims; c++) {
            let e = positions[h + c] - previous[k * dims + c];
            r2 += e * e;
        }
        var coeff = 0.0;
        if r2 > 0.0 {
            coeff = 2.0 * b / ((0.001 + r2) * (a * pow(r2, b) + 1.0));
        }
        for (var c = 0u; c < dims; c++) {
            var grad = CLIP;
            if coeff > 0.0 {
                grad = clamp(coeff * (positions[h + c] - previous[k * dims + c]), -CLIP, CLIP);
            }
            positions[h + c] += grad * colour.alpha;
        }
    }
}

@compute @workgroup_size(64)
fn layout_edges(@builtin(global_invocation_id) gid: vec3<u32>) {
    let index = gid.y * (ROW * 64u) + gid.x;
    if index >= colour.count {
        return;
    }
    let edge = ends[colour.first + index];
    let period = periods[edge.z];
    let t = f32(colour.epoch);
    if floor(t / period) <= floor((t - 1.0) / period) {
        return;
    }
    sample_edge(edge.x, edge.y, edge.z);
    sample_edge(edge.y, edge.x, edge.w);
}
