// Exclusive prefix sums of n u32 counts (prefix[i] = values[0] + ... + values[i - 1], and
// prefix[n] the total) in three steps over blocks of BLOCK values, each a plain loop in a
// fixed order: integer sums, so any order would give the same answer. `scan_blocks` sums each
// block; `scan_totals`, one invocation, turns the block sums into their exclusive prefix sums
// and writes the total; `scan_within` walks each block from its block's start.
// BLOCK is declared by the host (src/domain.rs's SCAN_BLOCK).

struct ScanShape {
    n: u32,
    blocks: u32,
}

@group(0) @binding(0) var<uniform> shape: ScanShape;
@group(0) @binding(1) var<storage, read> values: array<u32>;
// n + 1 values.
@group(0) @binding(2) var<storage, read_write> prefix: array<u32>;
// One per block.
@group(0) @binding(3) var<storage, read_write> sums: array<u32>;

@compute @workgroup_size(64)
fn scan_blocks(@builtin(global_invocation_id) gid: vec3<u32>) {
    let b = gid.x;
    if b >= shape.blocks {
        return;
    }
    var sum = 0u;
    for (var i = b * BLOCK; i < min((b + 1u) * BLOCK, shape.n); i++) {
        sum += values[i];
    }
    sums[b] = sum;
}

@compute @workgroup_size(1)
fn scan_totals() {
    var running = 0u;
    for (var b = 0u; b < shape.blocks; b++) {
        let sum = sums[b];
        sums[b] = running;
        running += sum;
    }
    prefix[shape.n] = running;
}

@compute @workgroup_size(64)
fn scan_within(@builtin(global_invocation_id) gid: vec3<u32>) {
    let b = gid.x;
    if b >= shape.blocks {
        return;
    }
    var running = sums[b];
    for (var i = b * BLOCK; i < min((b + 1u) * BLOCK, shape.n); i++) {
        prefix[i] = running;
        running += values[i];
    }
}
