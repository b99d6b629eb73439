//! Twin of shaders/matmul_*.wgsl: C = op(A) op(B) through sgemm, and the epilogues (bias,
//! ReLU, sigmoid, the ReLU mask of the backward pass).

/// Steps of k that sgemm sums in one chain of fused multiply-adds before adding the chain to
/// the sum of the chains before it (matrixmultiply's KC): with the order of the steps, all
/// that the bits of an element of C depend on.
pub const CHAIN_DEPTH: usize = 256;

/// Rows that an order of a transposed A's rows may move within (aligned windows): the tiles
/// find its live steps 16 rows at a time, and 16 floats are a cache line.
pub const TRANSPOSED_ORDER_WINDOW: usize = 16;

/// The sgemm that `gemm` runs on this CPU: its own tiles for x86's AVX-512 or AVX2 + FMA (for
/// products at least a tile wide), or matrixmultiply's. Both give the same bits.
pub fn sgemm_name() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    if let Some(tiles) = super::tiled_sgemm::name() {
        return tiles;
    }
    "sgemm (matrixmultiply)"
}

/// C (m x n) = op(A) op(B); op(A) is m x k (stored k x m when `trans_a`),
/// op(B) is k x n (stored n x k when `trans_b`).
pub fn gemm(
    trans_a: bool,
    trans_b: bool,
    a: &[f32],
    b: &[f32],
    (m, n, k): (usize, usize, usize),
) -> Vec<f32> {
    let mut c = vec![0.0f32; m * n];
    gemm_into(trans_a, trans_b, a, b, (m, n, k), &mut c);
    c
}

/// `gemm` writing into `c` (m x n), which is overwritten.
pub fn gemm_into(
    trans_a: bool,
    trans_b: bool,
    a: &[f32],
    b: &[f32],
    shape: (usize, usize, usize),
    c: &mut [f32],
) {
    sgemm((a, trans_a, None), (b, trans_b, None), shape, c, false);
}

/// `gemm_into` for an A with many zeros (ReLU's outputs and their gradients, MNIST's blank
/// margins): the AVX2 tiles skip the steps of k where all their rows of op(A) are zero. A
/// skipped step would add ±0 x b to each sum, which leaves a sum as it is while b is finite,
/// so the bits are `gemm_into`'s unless B holds an infinity or a NaN (whose products with a
/// zero, NaN, are left out) or a partial sum underflows to -0 (which a skipped +0 would have
/// turned into +0). Training gives B its weights and gradients, and stops at the first step
/// where one of them is infinite or NaN, however its sums came out.
///
/// The tiles take op(A)'s rows (and C's) in `row_order`'s groups when it is given, which
/// changes no bit either: a permutation of 0..m, such as `rows_grouped_by_zeros(a)`; when
/// `trans_a`, one that moves rows only within aligned windows of `TRANSPOSED_ORDER_WINDOW`
/// (`order[q] / 16 == q / 16`), such as `columns_grouped_by_zeros(a)`, so that a row block
/// of a transposed A reads one or two cache lines per step.
pub fn gemm_skipping_zeros_into(
    (a, trans_a, row_order): (&[f32], bool, Option<&[u32]>),
    (b, trans_b): (&[f32], bool),
    shape: (usize, usize, usize),
    c: &mut [f32],
) {
    check_row_order(row_order, shape.0, trans_a);
    sgemm((a, trans_a, row_order), (b, trans_b, None), shape, c, true);
}

/// op(B) laid out ahead for this CPU's tiles: for a B that many products multiply by (a
/// layer's weights between two Adam steps), so that each product reads it as it is instead of
/// packing B again. Where this CPU has no tiles for it, products read B itself.
pub struct PackedB {
    trans_b: bool,
    /// op(B)'s (k, n).
    shape: (usize, usize),
    #[cfg(target_arch = "x86_64")]
    panels: Option<super::tiled_sgemm::Panels>,
}

impl PackedB {
    /// op(B) (k x n; stored n x k when `trans_b`), packed in parallel.
    pub fn new(trans_b: bool, b: &[f32], (k, n): (usize, usize)) -> Self {
        assert_eq!(b.len(), k * n, "PackedB: B has the wrong size");
        PackedB {
            trans_b,
            shape: (k, n),
            // SAFETY: the strides describe exactly B, whose size is checked above.
            #[cfg(target_arch = "x86_64")]
            panels: unsafe {
                super::tiled_sgemm::Panels::pack(b, strides(trans_b, (k, n)), (k, n))
            },
        }
    }

    /// Packs a new B of the same shape over this one.
    pub fn repack(&mut self, b: &[f32]) {
        let (k, n) = self.shape;
        assert_eq!(b.len(), k * n, "PackedB: B has the wrong size");
        #[cfg(target_arch = "x86_64")]
        if let Some(panels) = &mut self.panels {
            // SAFETY: the strides describe exactly B, whose size is checked above.
            unsafe { panels.repack(b, strides(self.trans_b, self.shape)) };
        }
    }
}

/// The strides (row, column) of op(B) (k x n) stored row-major, n x k when `trans_b`.
fn strides(trans_b: bool, (k, n): (usize, usize)) -> (usize, usize) {
    if trans_b {
        (1, k)
    } else {
        (n, 1)
    }
}

/// `gemm_skipping_zeros_into` for an A stored row-major, with op(B) = `b` packed ahead as
/// `packed` (which changes no bit).
pub fn gemm_packed_skipping_zeros_into(
    (a, row_order): (&[f32], Option<&[u32]>),
    (b, packed): (&[f32], &PackedB),
    shape: (usize, usize, usize),
    c: &mut [f32],
) {
    check_row_order(row_order, shape.0, false);
    let b = (b, packed.trans_b, Some(packed));
    sgemm((a, false, row_order), b, shape, c, true);
}

/// Panics unless `row_order`, if any, holds each of 0..m once, and for an A stored
/// transposed moves rows only within their windows of `TRANSPOSED_ORDER_WINDOW`.
fn check_row_order(row_order: Option<&[u32]>, m: usize, trans_a: bool) {
    if let Some(order) = row_order {
        assert!(
            is_permutation(order, m),
            "gemm: the row order is not one of m rows"
        );
        let window = TRANSPOSED_ORDER_WINDOW;
        assert!(
            !trans_a
                || order
                    .iter()
                    .enumerate()
                    .all(|(q, &i)| i as usize / window == q / window),
            "gemm: a transposed A's row order moves rows out of their windows of {window}"
        );
    }
}

/// Whether `order` holds each of 0..m once.
fn is_permutation(order: &[u32], m: usize) -> bool {
    let mut seen = vec![false; m];
    order.len() == m
        && order.iter().all(|&i| {
            seen.get_mut(i as usize)
                .is_some_and(|s| !std::mem::replace(s, true))
        })
}

fn sgemm(
    (a, trans_a, row_order): (&[f32], bool, Option<&[u32]>),
    (b, trans_b, packed): (&[f32], bool, Option<&PackedB>),
    (m, n, k): (usize, usize, usize),
    c: &mut [f32],
    skip_zero_steps: bool,
) {
    assert_eq!(a.len(), m * k, "gemm: A has the wrong size");
    assert_eq!(b.len(), k * n, "gemm: B has the wrong size");
    assert_eq!(c.len(), m * n, "gemm: C has the wrong size");
    if let Some(packed) = packed {
        assert_eq!(packed.shape, (k, n), "gemm: B was packed for another shape");
    }
    let (rsa, csa) = if trans_a { (1, m) } else { (k, 1) };
    let (rsb, csb) = strides(trans_b, (k, n));
    #[cfg(target_arch = "x86_64")]
    {
        let panels = packed.and_then(|p| p.panels.as_ref());
        let (a, b) = ((a, (rsa, csa), row_order), (b, (rsb, csb), panels));
        // SAFETY: the strides describe exactly the slices checked above, m, k > 0, a row order
        // is a permutation of m rows (checked by the caller), and the panels hold op(B)
        // (their shape is checked above and `PackedB` is packed from a B).
        if m > 0
            && k > 0
            && unsafe { super::tiled_sgemm::gemm((m, n, k), a, b, c, skip_zero_steps) }
        {
            return;
        }
    }
    // SAFETY: the strides describe exactly the slices checked above, and c is m x n.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.as_ptr(),
            rsa as isize,
            csa as isize,
            b.as_ptr(),
            rsb as isize,
            csb as isize,
            0.0,
            c.as_mut_ptr(),
            n as isize,
            1,
        );
    }
}

/// Adds `bias` (n) to every row of `c`.
pub fn add_bias(c: &mut [f32], bias: &[f32]) {
    for row in c.chunks_mut(bias.len()) {
        for (x, b) in row.iter_mut().zip(bias) {
            *x += b;
        }
    }
}

pub fn relu(c: &mut [f32]) {
    for x in c {
        *x = x.max(0.0);
    }
}

pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// Zeroes `grad` where the forward activation `mask` is not positive (ReLU backward).
pub fn relu_mask(grad: &mut [f32], mask: &[f32]) {
    // A select rather than a conditional store, so that the loop vectorises.
    for (g, &a) in grad.iter_mut().zip(mask) {
        *g = if a <= 0.0 { 0.0 } else { *g };
    }
}
