// One epoch of UMAP's layout optimisation. Each invocation owns one point and moves only it,
// against the other points' positions from the previous epoch (`previous`), writing its new
// position to `next`; so the result does not depend on scheduling, and the host alternates
// the two buffers. An edge (CSR row of the point) is sampled in an epoch when
// floor(epoch / period) grows, period = max weight / weight. A sampled edge pulls the point
// and its neighbour together as umap-learn's two moves of both ends would (the edge and its
// reverse, played out on a private copy of the neighbour; the point keeps its own moves), and
// pushes the point away from NEGATIVE_RATE points drawn by a counter-based hash of (seed,
// epoch, edge, sample). Gradients are clipped to +-4 and scaled by alpha = 1 - (epoch - 1) / epochs.

struct LayoutShape {
    n: u32,
    dims: u32,
    seed: u32,
    a: f32,
    b: f32,
}

struct Epoch {
    epoch: u32,
    alpha: f32,
}

const MAX_DIMS: u32 = 32u;
const NEGATIVE_RATE: u32 = 5u;
const CLIP: f32 = 4.0;
const ROW: u32 = 65535u;

@group(0) @binding(0) var<uniform> epoch: Epoch;
@group(0) @binding(1) var<uniform> shape: LayoutShape;
@group(0) @binding(2) var<storage, read> offsets: array<u32>;
@group(0) @binding(3) var<storage, read> targets: array<u32>;
@group(0) @binding(4) var<storage, read> periods: array<f32>;
@group(0) @binding(5) var<storage, read> previous: array<f32>;
@group(0) @binding(6) var<storage, read_write> next: array<f32>;

// lowbias32: the host's `embed::mix`, bit for bit.
fn mix(x0: u32) -> u32 {
    var x = x0;
    x ^= x >> 16u;
    x *= 0x7feb352du;
    x ^= x >> 15u;
    x *= 0x846ca68bu;
    return x ^ (x >> 16u);
}

fn squared_distance(own: ptr<function, array<f32, MAX_DIMS>>, j: u32) -> f32 {
    var d2 = 0.0;
    for (var c = 0u; c < shape.dims; c++) {
        let e = (*own)[c] - previous[j * shape.dims + c];
        d2 += e * e;
    }
    return d2;
}

@compute @workgroup_size(64)
fn layout_epoch(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.y * (ROW * 64u) + gid.x;
    if i >= shape.n {
        return;
    }
    let dims = shape.dims;
    let a = shape.a;
    let b = shape.b;
    var own: array<f32, MAX_DIMS>;
    for (var c = 0u; c < dims; c++) {
        own[c] = previous[i * dims + c];
    }
    let t = f32(epoch.epoch);
    for (var e = offsets[i]; e < offsets[i + 1u]; e++) {
        let period = periods[e];
        if floor(t / period) <= floor((t - 1.0) / period) {
            continue;
        }
        let j = targets[e];
        var partner: array<f32, MAX_DIMS>;
        for (var c = 0u; c < dims; c++) {
            partner[c] = previous[j * dims + c];
        }
        for (var pull = 0u; pull < 2u; pull++) {
            var d2 = 0.0;
            for (var c = 0u; c < dims; c++) {
                let e = own[c] - partner[c];
                d2 += e * e;
            }
            if d2 > 0.0 {
                let coeff = -2.0 * a * b * pow(d2, b - 1.0) / (a * pow(d2, b) + 1.0);
                for (var c = 0u; c < dims; c++) {
                    let grad = clamp(coeff * (own[c] - partner[c]), -CLIP, CLIP) * epoch.alpha;
                    own[c] += grad;
                    partner[c] -= grad;
                }
            }
        }
        for (var s = 0u; s < NEGATIVE_RATE; s++) {
            let k = mix(mix(mix(shape.seed ^ epoch.epoch) ^ e) ^ s) % shape.n;
            if k == i {
                continue;
            }
            let d2 = squared_distance(&own, k);
            var coeff = 0.0;
            if d2 > 0.0 {
                coeff = 2.0 * b / ((0.001 + d2) * (a * pow(d2, b) + 1.0));
            }
            for (var c = 0u; c < dims; c++) {
                var grad = CLIP;
                if coeff > 0.0 {
                    grad = clamp(coeff * (own[c] - previous[k * dims + c]), -CLIP, CLIP);
                }
                own[c] += grad * epoch.alpha;
            }
        }
    }
    for (var c = 0u; c < dims; c++) {
        next[i * dims + c] = own[c];
    }
}
