// NN-descent on points renumbered in a tree's order (twin: src/reference/umap_nndescent.rs,
// whose notes give the algorithm). Every entry point runs one invocation per point (per
// position for `offer_leaves`, per entry for the reverse steps). A point's list lives in
// registers while it is offered points: nearest first by (squared distance, index), an
// offer taken in when it is below the last pair and its point is not in the list. Lists
// and samples are the smallest pairs of sets, so neither depends on the order of the offers
// nor on the order `fill_reverse` files the reverse entries in. `sample` and `join` take
// their work in ranges (`first`..`end`), one dispatch per range, so that no invocation
// loops past the software drivers' budget; each resumes the state the previous one stored.
// MAX_K (the registers of a list or a sample) is declared by the host, from src/domain.rs.

struct DescentShape {
    n: u32,
    k: u32,
    // New (and old) neighbours sampled per point.
    m: u32,
    // vec4s per point.
    quads: u32,
    seed: u32,
    iteration: u32,
    // `sample`: the range of the reverse entries; `join`: of the sample's slots.
    first: u32,
    end: u32,
    leaf: u32,
    // `join`: this range is the last, so the flags settle; `offer_leaves`: the tree's order
    // is the identity (the renumbering tree, after the renumbering).
    flag: u32,
    // Always 0, and unknown to the compiler (in_order.wgsl).
    zero_bits: u32,
    _pad: u32,
}

const NEW: u32 = 0x80000000u;
const INSERTED: u32 = 0x40000000u;
const INDEX: u32 = 0x3fffffffu;
const EMPTY: u32 = 0xffffffffu;

@group(0) @binding(0) var<uniform> shape: DescentShape;
@group(0) @binding(1) var<storage, read> points: array<vec4<f32>>;
// n x k entries: a point index with the NEW and INSERTED flags.
@group(0) @binding(2) var<storage, read_write> entries: array<u32>;
@group(0) @binding(3) var<storage, read_write> squared: array<f32>;
// n counts of reverse entries (then the fill's cursors), the entries that came in during the
// iteration, and the most reverse entries of a point.
@group(0) @binding(4) var<storage, read_write> counts: array<atomic<u32>>;
// The exclusive prefix sums of the counts (n + 1).
@group(0) @binding(5) var<storage, read> offsets: array<u32>;
// The reverse entries, by target: a source point with its entry's NEW flag.
@group(0) @binding(6) var<storage, read_write> sources: array<u32>;
// n x 2m: the sampled new neighbours, then the old, EMPTY past the end.
@group(0) @binding(7) var<storage, read_write> samples: array<u32>;
// A tree: order (n), starts (n), ends (n).
@group(0) @binding(8) var<storage, read> tree: array<u32>;

var<private> list_ids: array<u32, MAX_K>;
var<private> list_d: array<f32, MAX_K>;

fn zero_bits() -> u32 {
    return shape.zero_bits;
}

// Squared Euclidean distance: the squares, each rounded on its own, added in order.
fn squared_distance(a: u32, b: u32) -> f32 {
    var sum = 0.0;
    for (var c = 0u; c < shape.quads; c++) {
        let e = points[a * shape.quads + c] - points[b * shape.quads + c];
        sum = add_in_order(sum, opaque(e * e));
    }
    return sum;
}

// (d1, j1) < (d2, j2).
fn before(d1: f32, j1: u32, d2: f32, j2: u32) -> bool {
    return d1 < d2 || (d1 == d2 && j1 < j2);
}

fn load_list(i: u32) {
    for (var s = 0u; s < shape.k; s++) {
        list_ids[s] = entries[i * shape.k + s];
        list_d[s] = squared[i * shape.k + s];
    }
}

fn store_list(i: u32) {
    for (var s = 0u; s < shape.k; s++) {
        entries[i * shape.k + s] = list_ids[s];
        squared[i * shape.k + s] = list_d[s];
    }
}

// Point i's list takes in point j with `flag` when j is nearer than its last entry (ties to
// the lower index) and not in it already.
fn offer(i: u32, j: u32, flag: u32) {
    if j == i || j == EMPTY {
        return;
    }
    let k = shape.k;
    let d = squared_distance(i, j);
    if !before(d, j, list_d[k - 1u], list_ids[k - 1u] & INDEX) {
        return;
    }
    for (var s = 0u; s < k; s++) {
        if (list_ids[s] & INDEX) == j {
            return;
        }
    }
    var p = k - 1u;
    while p > 0u && before(d, j, list_d[p - 1u], list_ids[p - 1u] & INDEX) {
        list_ids[p] = list_ids[p - 1u];
        list_d[p] = list_d[p - 1u];
        p -= 1u;
    }
    list_ids[p] = j | flag;
    list_d[p] = d;
}

@compute @workgroup_size(64)
fn initial_lists(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    let n = shape.n;
    if i >= n {
        return;
    }
    // Above every pair an offer can have: the first k offers are all taken in.
    for (var s = 0u; s < shape.k; s++) {
        list_ids[s] = INDEX;
        list_d[s] = bitcast<f32>(0x7f800000u);
    }
    let offset = mix(shape.seed ^ mix(i)) % (n - 1u);
    for (var s = 0u; s < shape.k; s++) {
        offer(i, (i + 1u + (offset + s) % (n - 1u)) % n, NEW);
    }
    store_list(i);
}

@compute @workgroup_size(64)
fn offer_leaves(@builtin(global_invocation_id) gid: vec3<u32>) {
    let p = gid.x;
    let n = shape.n;
    if p >= n {
        return;
    }
    let identity = shape.flag == 1u;
    var i = p;
    if !identity {
        i = tree[p];
    }
    let s = tree[n + p];
    let e = tree[2u * n + p];
    // The segment, or the `leaf` positions around p in a segment still longer.
    var window_start = s;
    var window_end = e;
    if e - s > shape.leaf {
        window_start = clamp(max(p, shape.leaf / 2u) - shape.leaf / 2u, s, e - shape.leaf);
        window_end = window_start + shape.leaf;
    }
    load_list(i);
    for (var q = window_start; q < window_end; q++) {
        var j = q;
        if !identity {
            j = tree[q];
        }
        offer(i, j, NEW);
    }
    store_list(i);
}

// One invocation per entry of a grid of ROW workgroups a row.
fn entry_index(gid: vec3<u32>) -> u32 {
    return gid.y * (ROW * 64u) + gid.x;
}

@compute @workgroup_size(64)
fn count_reverse(@builtin(global_invocation_id) gid: vec3<u32>) {
    let e = entry_index(gid);
    if e >= shape.n * shape.k {
        return;
    }
    let count = atomicAdd(&counts[entries[e] & INDEX], 1u) + 1u;
    atomicMax(&counts[shape.n + 1u], count);
}

@compute @workgroup_size(64)
fn fill_reverse(@builtin(global_invocation_id) gid: vec3<u32>) {
    let e = entry_index(gid);
    if e >= shape.n * shape.k {
        return;
    }
    let entry = entries[e];
    let j = entry & INDEX;
    let slot = atomicAdd(&counts[j], 1u);
    sources[offsets[j] + slot] = (e / shape.k) | (entry & NEW);
}

var<private> sample_ids: array<u32, MAX_K>;
var<private> sample_keys: array<u32, MAX_K>;

// The order of sampling: a hash of (point, neighbour, iteration).
fn priority(i: u32, j: u32) -> u32 {
    return mix(mix(mix(shape.seed ^ shape.iteration) ^ i) ^ j);
}

// The sample stored by the previous range, or an empty one for the first.
fn load_sample(i: u32, part: u32) {
    for (var s = 0u; s < shape.m; s++) {
        if shape.first == 0u {
            sample_ids[s] = EMPTY;
            sample_keys[s] = EMPTY;
            continue;
        }
        let j = samples[(2u * i + part) * shape.m + s];
        sample_ids[s] = j;
        sample_keys[s] = EMPTY;
        if j != EMPTY {
            sample_keys[s] = priority(i, j);
        }
    }
}

fn store_sample(i: u32, part: u32) {
    for (var s = 0u; s < shape.m; s++) {
        samples[(2u * i + part) * shape.m + s] = sample_ids[s];
    }
}

// Puts j into the sample when (its key, j) is below the sample's last pair and not in it.
fn insert_sampled(i: u32, j: u32) {
    let m = shape.m;
    let key = priority(i, j);
    var at = 0u;
    while at < m && (sample_keys[at] < key || (sample_keys[at] == key && sample_ids[at] < j)) {
        at += 1u;
    }
    if at == m || (sample_keys[at] == key && sample_ids[at] == j) {
        return;
    }
    for (var s = m - 1u; s > at; s--) {
        sample_ids[s] = sample_ids[s - 1u];
        sample_keys[s] = sample_keys[s - 1u];
    }
    sample_ids[at] = j;
    sample_keys[at] = key;
}

// One part of a point's sample (0: new entries, 1: old ones) over its own entries (in the
// first range) and its reverse entries first..end.
fn sample_part(i: u32, part: u32) {
    load_sample(i, part);
    let wanted = select(NEW, 0u, part == 1u);
    if shape.first == 0u {
        for (var s = 0u; s < shape.k; s++) {
            let entry = entries[i * shape.k + s];
            if (entry & NEW) == wanted {
                insert_sampled(i, entry & INDEX);
            }
        }
    }
    let start = offsets[i] + shape.first;
    let stop = min(offsets[i] + shape.end, offsets[i + 1u]);
    for (var r = start; r < stop; r++) {
        let source = sources[r];
        if (source & NEW) == wanted {
            insert_sampled(i, source & INDEX);
        }
    }
    store_sample(i, part);
}

@compute @workgroup_size(64)
fn draw_samples(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if i >= shape.n {
        return;
    }
    sample_part(i, 0u);
    sample_part(i, 1u);
}

@compute @workgroup_size(64)
fn join_samples(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if i >= shape.n {
        return;
    }
    let m = shape.m;
    load_list(i);
    for (var s = shape.first; s < shape.end; s++) {
        let a = samples[2u * i * m + s];
        if a == EMPTY {
            continue;
        }
        if s < m {
            offer(i, a, INSERTED);
            for (var c = 0u; c < 2u * m; c++) {
                offer(i, samples[2u * a * m + c], INSERTED);
            }
        } else {
            for (var c = 0u; c < m; c++) {
                offer(i, samples[2u * a * m + c], INSERTED);
            }
        }
    }
    if shape.flag == 1u {
        // Entries that came in become new; sampled new ones become old.
        var inserted = 0u;
        for (var s = 0u; s < shape.k; s++) {
            let entry = list_ids[s];
            if (entry & INSERTED) != 0u {
                list_ids[s] = (entry & INDEX) | NEW;
                inserted += 1u;
            } else if (entry & NEW) != 0u {
                for (var t = 0u; t < m; t++) {
                    if samples[2u * i * m + t] == (entry & INDEX) {
                        list_ids[s] = entry & INDEX;
                        break;
                    }
                }
            }
        }
        atomicAdd(&counts[shape.n], inserted);
    }
    store_list(i);
}
