// Random projection trees built level by level (twin: src/reference/umap_forest.rs). A tree
// is an order of the points and, per position, the first and last + 1 positions of its
// segment: `tree_start` writes the identity with one segment; each level, `tree_sides` puts
// every point of a segment longer than `leaf` on a side of the hyperplane halfway between two
// of the segment's points drawn by hash (0 in a segment short enough), the host's scan sums
// the sides, and `tree_scatter` moves every point to its side's part of the segment, each side
// in the order it had. `permute_points` writes the points in a tree's order.
// Products are rounded on their own and added in order (in_order.wgsl), as the twin does.

struct TreeShape {
    n: u32,
    // vec4s per point.
    quads: u32,
    seed: u32,
    tree: u32,
    level: u32,
    leaf: u32,
    // Always 0, and unknown to the compiler (in_order.wgsl).
    zero_bits: u32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> shape: TreeShape;
@group(0) @binding(1) var<storage, read> points: array<vec4<f32>>;
// order (n), starts (n), ends (n).
@group(0) @binding(2) var<storage, read> tree_in: array<u32>;
@group(0) @binding(3) var<storage, read_write> sides: array<u32>;
// The exclusive prefix sums of `sides` (n + 1).
@group(0) @binding(4) var<storage, read> prefix: array<u32>;
@group(0) @binding(5) var<storage, read_write> tree_out: array<u32>;
@group(0) @binding(6) var<storage, read_write> permuted: array<vec4<f32>>;

fn zero_bits() -> u32 {
    return shape.zero_bits;
}

// (a - b) . (x - (a + b) / 2) for the points a, b and x: the products added in order.
fn margin(a: u32, b: u32, x: u32) -> f32 {
    var sum = 0.0;
    for (var c = 0u; c < shape.quads; c++) {
        let pa = points[a * shape.quads + c];
        let pb = points[b * shape.quads + c];
        let middle = opaque((pa + pb) * 0.5);
        let p = opaque((pa - pb) * (points[x * shape.quads + c] - middle));
        sum = add_in_order(sum, p);
    }
    return sum;
}

@compute @workgroup_size(64)
fn tree_start(@builtin(global_invocation_id) gid: vec3<u32>) {
    let p = gid.x;
    let n = shape.n;
    if p >= n {
        return;
    }
    tree_out[p] = p;
    tree_out[n + p] = 0u;
    tree_out[2u * n + p] = n;
}

@compute @workgroup_size(64)
fn tree_sides(@builtin(global_invocation_id) gid: vec3<u32>) {
    let p = gid.x;
    let n = shape.n;
    if p >= n {
        return;
    }
    let s = tree_in[n + p];
    let e = tree_in[2u * n + p];
    if e - s <= shape.leaf {
        sides[p] = 0u;
        return;
    }
    let m = e - s;
    let h = mix(mix(mix(shape.seed ^ shape.tree) ^ shape.level) ^ s);
    let a = h % m;
    let b = (a + 1u + mix(h) % (m - 1u)) % m;
    let point = tree_in[p];
    let margin = margin(tree_in[s + a], tree_in[s + b], point);
    if margin > 0.0 {
        sides[p] = 0u;
    } else if margin < 0.0 {
        sides[p] = 1u;
    } else {
        sides[p] = mix(point ^ shape.seed) & 1u;
    }
}

@compute @workgroup_size(64)
fn tree_scatter(@builtin(global_invocation_id) gid: vec3<u32>) {
    let p = gid.x;
    let n = shape.n;
    if p >= n {
        return;
    }
    let s = tree_in[n + p];
    let e = tree_in[2u * n + p];
    let ones_before = prefix[p] - prefix[s];
    let zeros = (e - s) - (prefix[e] - prefix[s]);
    var at = p - ones_before;
    var start = s;
    var end = s + zeros;
    if sides[p] == 1u {
        at = s + zeros + ones_before;
        start = s + zeros;
        end = e;
    }
    tree_out[at] = tree_in[p];
    tree_out[n + at] = start;
    tree_out[2u * n + at] = end;
}

@compute @workgroup_size(64)
fn permute_points(@builtin(global_invocation_id) gid: vec3<u32>) {
    let p = gid.x;
    if p >= shape.n {
        return;
    }
    let point = tree_in[p];
    for (var c = 0u; c < shape.quads; c++) {
        permuted[p * shape.quads + c] = points[point * shape.quads + c];
    }
}
