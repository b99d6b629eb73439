//! What every kernel is correct for, in one place: the limits that follow from the kernels'
//! code and from the adapters, and the checks the host runs before any work. The table in
//! docs/ARCHITECTURE.md states the same limits in words.
//!
//! Besides the device limits (binding sizes, grid sizes), one limit is easy to miss: Mesa's
//! software drivers (lavapipe, llvmpipe) stop *every* loop of an invocation once the
//! invocation has run 65 535 loop iterations in total, all loops together
//! (`LP_MAX_TGSI_LOOP_ITERATIONS` in gallivm), with no error. A kernel that loops longer
//! returns a wrong answer there. So no kernel loops more than [`LOOP_BUDGET`] times per
//! invocation for any accepted input: long scans are split over several dispatches that carry
//! their state in a buffer, and what cannot be split is a stated limit.

use anyhow::{bail, Result};

/// Loop iterations one invocation may run, all loops together, with a margin under
/// gallivm's 65 535 for the short fixed loops around the long one.
pub const LOOP_BUDGET: usize = 60_000;

/// The longest reduction a matmul accepts (its K: the batch for a weight gradient, a layer's
/// width otherwise, the features for the kNN's dot products). The tiled kernel loops
/// K + K / 32 times per invocation, the others K / 4 or K / 8.
pub const MATMUL_MAX_K: usize = 32_768;
/// The most rows (M) or columns (N) of a matmul's C: a 32 x 32 tile per workgroup, at most
/// 65 535 workgroups per grid axis.
pub const MATMUL_MAX_MN: usize = GRID_ROW as usize * 32;

/// k-means: the points per partial-sum chunk (kmeans.wgsl's CHUNK).
pub const KMEANS_CHUNK: usize = 256;
/// k-means: the most clusters the partial-sum kernel keeps in registers (kmeans.wgsl's MAX_K).
pub const KMEANS_MAX_K: usize = 256;
/// k-means: the most features per point. `assign` loops d / 4 + 1 times per centroid (its
/// rows are vec4s) and takes as many centroids per dispatch as the loop budget allows, at
/// least one.
pub const KMEANS_MAX_D: usize = LOOP_BUDGET - 1;
/// k-means: the most points. `update` loops once per chunk, and member counts are exact in
/// f32 up to 2^24.
pub const KMEANS_MAX_N: usize = (LOOP_BUDGET - 1) * KMEANS_CHUNK;

/// DEC fine-tuning: the most clusters (as k-means').
pub const DEC_MAX_K: usize = KMEANS_MAX_K;
/// DEC fine-tuning: the most samples. `cluster_mass` sums every 64th row per lane.
pub const DEC_MAX_N: usize = 64 * (LOOP_BUDGET - 8);
/// The largest whole-pixel move of an image each way (the gather packs a move as two signed
/// bytes).
pub const MAX_IMAGE_MOVE: usize = 127;

/// The longest side of an image the gather moves and turns: its fixed-point source
/// coordinates stay within i32.
pub const MAX_MOVED_SIDE: usize = 16_384;

/// Fails unless images of `rows` x `cols` pixels can be moved and turned by the gather.
pub fn check_moved_image(rows: usize, cols: usize) -> Result<()> {
    if rows.max(cols) > MAX_MOVED_SIDE {
        bail!(
            "images moved for fine-tuning are at most {MAX_MOVED_SIDE} pixels a side, got \
             {rows} x {cols}"
        );
    }
    Ok(())
}

/// DEC fine-tuning: the loop iterations of one `dec_loss` invocation for k centres of d values
/// (the gradient row zeroed, the target's norm, the kernels' sum, then per centre its kernel
/// and its share of the gradient, and the finiteness check); `soft_assign` runs fewer.
pub fn dec_loop_cost(k: usize, d: usize) -> usize {
    // A padded row is a multiple of 32 floats (gpu::buffers::PAD).
    d.next_multiple_of(32) + k + k * d + 2 * k * d + d
}

/// UMAP: the most neighbours per point, not counting the point itself (umap_knn.wgsl's MAX_K,
/// the registers of its insertion list).
pub const UMAP_MAX_NEIGHBORS: usize = 64;
/// UMAP: the most embedding dimensions. A layout invocation loops about 12 times per
/// dimension (attraction both ways, five negative samples); 1 024 keeps it far inside the
/// budget and the host's spectral layout quick.
pub const UMAP_MAX_DIMS: usize = 1_024;

/// Exclusive scans: the values per block (scan.wgsl's BLOCK). `scan_totals` loops once per
/// block, the others once per value of a block.
pub const SCAN_BLOCK: usize = 256;

/// NN-descent: the most points. One invocation per point in a 1-D grid of 64-wide workgroups;
/// an entry's index shares its u32 with two flags (30 bits, far more).
pub const NN_DESCENT_MAX_N: usize = GRID_ROW as usize * 64;

/// NN-descent: the loop iterations of one offer of a point to a list of k: the distance over
/// `quads` vec4s, the check that the point is not in the list, the insertion.
fn offer_cost(quads: usize, k: usize) -> usize {
    quads + 2 * k + 2
}

/// NN-descent's `join_samples`: the sample slots one dispatch takes (a new slot offers 2m + 1
/// points, an old one m), after loading the list, storing it and settling its flags (k x m);
/// 0 when one slot alone loops past the budget.
pub fn join_slots_per_dispatch(quads: usize, k: usize, m: usize) -> usize {
    let fixed = 2 * k + k * m + 2 * m;
    LOOP_BUDGET.saturating_sub(fixed) / ((2 * m + 1) * offer_cost(quads, k))
}

/// NN-descent's `draw_samples`: the reverse entries one dispatch takes after a point's own k
/// (each costs up to 2m + 2 iterations, in each of the sample's two parts).
pub fn sample_entries_per_dispatch(k: usize, m: usize) -> usize {
    let per_entry = 2 * (2 * m + 2);
    (LOOP_BUDGET.saturating_sub(k * per_entry + 4 * m) / per_entry).max(1)
}

/// Fails unless NN-descent of n points of d features with k neighbours (k sampled) and leaves
/// of `leaf` fits the kernels (see `nn_descent_max_features`).
pub fn check_nn_descent(n: usize, d: usize, k: usize, leaf: usize) -> Result<()> {
    if n > NN_DESCENT_MAX_N {
        bail!("the approximate neighbour search takes at most {NN_DESCENT_MAX_N} points, got {n}");
    }
    let most = nn_descent_max_features(k, leaf);
    if d > most {
        bail!(
            "the approximate neighbour search takes at most {most} features with {k} \
             neighbours, got {d} (give --neighbour-search exact)"
        );
    }
    Ok(())
}

/// The most features NN-descent takes with k neighbours (k sampled) and leaves of `leaf`:
/// one slot of `join_samples` (2k + 1 offers) and the `leaf` offers of `offer_leaves` must
/// each fit the loop budget.
pub fn nn_descent_max_features(k: usize, leaf: usize) -> usize {
    let join = LOOP_BUDGET.saturating_sub(2 * k + k * k + 2 * k) / (2 * k + 1);
    let leaves = LOOP_BUDGET.saturating_sub(2 * k) / leaf.max(k);
    4 * join.min(leaves).saturating_sub(2 * k + 2)
}

/// Rows of a 2-D dispatch grid (WebGPU's per-axis limit), shared by every kernel that indexes
/// with `gid.y * ROW + gid.x`.
pub const GRID_ROW: u32 = 65_535;

/// The columns `top_k` scans per dispatch: each costs one iteration, plus up to `k` when it
/// enters the list, and the list is loaded and stored once.
pub fn knn_columns_per_dispatch(k: usize) -> usize {
    ((LOOP_BUDGET - 2 * k) / (k + 1)).max(1)
}

/// The centroids `assign` compares per dispatch when it walks them `block` at a time (1, or
/// 16 for the subgroup variant), `quads` vec4s per row: (quads + 1) loop iterations per block.
pub fn kmeans_centroids_per_dispatch(quads: usize, block: usize) -> usize {
    block * (LOOP_BUDGET / (quads + 1) / block).max(1)
}

/// Fails unless `value`, a size that becomes a matmul's reduction K, fits the kernels.
pub fn check_matmul_k(what: &str, value: usize) -> Result<()> {
    if value > MATMUL_MAX_K {
        bail!("{what} is at most {MATMUL_MAX_K} (a limit of the kernels), got {value}");
    }
    Ok(())
}

/// Fails unless UMAP's exact kNN of n points of d features fits the kernels (the dot
/// products are a matmul with N = n and K = d).
pub fn check_knn(n: usize, d: usize) -> Result<()> {
    check_matmul_k("UMAP's number of features", d)?;
    if n > MATMUL_MAX_MN {
        bail!("UMAP on the GPU takes at most {MATMUL_MAX_MN} points, got {n}");
    }
    Ok(())
}

/// Fails unless DEC fine-tuning of n samples with codes of d values against k centres, the
/// images moved by up to `max_move` pixels, fits the kernels.
pub fn check_dec(n: usize, d: usize, k: usize, max_move: usize) -> Result<()> {
    if k == 0 || k > DEC_MAX_K {
        bail!("fine-tuning takes 1 to {DEC_MAX_K} clusters, got {k}");
    }
    if d == 0 || dec_loop_cost(k, d) > LOOP_BUDGET {
        bail!(
            "fine-tuning takes codes of at most {} values with {k} clusters (a limit of the kernels), got {d}",
            (1..=LOOP_BUDGET).take_while(|&d| dec_loop_cost(k, d) <= LOOP_BUDGET).last().unwrap_or(0)
        );
    }
    if n > DEC_MAX_N {
        bail!("fine-tuning takes at most {DEC_MAX_N} images, got {n}");
    }
    if max_move > MAX_IMAGE_MOVE {
        bail!("images move by at most {MAX_IMAGE_MOVE} pixels, got {max_move}");
    }
    Ok(())
}

/// Fails unless k-means of n points of d features into k clusters fits the kernels.
pub fn check_kmeans(n: usize, d: usize, k: usize) -> Result<()> {
    if k == 0 || k > KMEANS_MAX_K {
        bail!("--k must be between 1 and {KMEANS_MAX_K}, got {k}");
    }
    if d == 0 || d > KMEANS_MAX_D {
        bail!("k-means takes 1 to {KMEANS_MAX_D} features per point, got {d}");
    }
    if n > KMEANS_MAX_N {
        bail!("k-means takes at most {KMEANS_MAX_N} points, got {n}");
    }
    Ok(())
}
