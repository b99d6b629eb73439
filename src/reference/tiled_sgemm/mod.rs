//! sgemm that gives the bits of matrixmultiply's x86 kernels, and is faster on this project's
//! products, for CPUs with AVX-512F or with AVX2 and FMA (where matrixmultiply runs its
//! AVX-512 or its FMA kernel).
//!
//! matrixmultiply sums every element of C as one chain of fused multiply-adds per block of
//! `CHAIN_DEPTH` steps of k, in order and from zero, and adds each block's chain to the sum
//! of the blocks before it. That order is all the bits depend on, so the tiles can differ:
//! each instruction set here keeps 12 or 24 accumulators in flight, where matrixmultiply's
//! keep 8 or 16. A is read where it lies, one broadcast per row and step of k (matrixmultiply
//! packs it too: a tenth of a deep training step on an AVX2 EPYC); B is packed once per block
//! into aligned panels that the tiles read line after line (read in place, its rows a page or
//! more apart, it was 7% slower), or packed ahead once for every product by the same B
//! (`Panels`: the CPU trainer's weights, which both halves of a batch multiply by).

mod avx2;
mod avx512;
mod live_steps;

use std::cell::RefCell;

use super::matmul::CHAIN_DEPTH;
use live_steps::LiveSteps;

/// One instruction set's tiles of C.
trait Tiles {
    /// What `aeclust info` shows.
    const NAME: &'static str;
    /// Columns of a tile of C, and of a packed panel of B.
    const NR: usize;
    /// Columns of B whose `CHAIN_DEPTH` rows (480 KiB) stay in a core's L2 cache while every
    /// row of A passes over them: a whole number of panels.
    const NC: usize = Self::NR * (480 / Self::NR);
    /// Rows of C that `row_block` takes at once.
    const MR: usize;
    /// Whether `row_block` runs only a tile's `steps` when they are given (found with AVX2,
    /// so only tiles that run where AVX2 is may).
    const SKIPS_STEPS: bool;

    fn available() -> bool;

    /// Packs the kc x nc block of op(B) = B, element (p, j) at `b[p * ldb + j]`, as panels of
    /// NR columns, each kc x NR, zero past column nc.
    ///
    /// # Safety
    /// The CPU has the instruction set, the block lies inside B, and `out` holds kc x nc
    /// rounded up to whole panels, aligned to 64 bytes.
    unsafe fn pack_rows(kc: usize, nc: usize, b: *const f32, ldb: usize, out: *mut f32);

    /// `pack_rows` for op(B) = Bᵀ, element (p, j) at `b[j * ldb + p]`.
    ///
    /// # Safety
    /// As `pack_rows`.
    unsafe fn pack_transposed(kc: usize, nc: usize, b: *const f32, ldb: usize, out: *mut f32);

    /// Writes (or adds) `tile.rows` (at most MR) rows and nc columns of C (rows `tile.row_at`,
    /// row stride `ldc`) from `tile.kc` steps, tile by tile: row i of op(A) at `a + i * stride`
    /// read along k with step 1 when `A_ROWS_CONTIGUOUS`, else at `a + i` with step `stride`;
    /// B packed.
    ///
    /// # Safety
    /// As `pack_rows`, and the rows and columns lie inside A and C.
    unsafe fn row_block<const A_ROWS_CONTIGUOUS: bool>(
        tile: &Tile,
        a: *const f32,
        stride: usize,
        panels: *const f32,
        c: *mut f32,
        ldc: usize,
        nc: usize,
    );
}

/// What every tile of one row block and one block of k shares.
struct Tile<'s> {
    /// Steps of k (at most `CHAIN_DEPTH`).
    kc: usize,
    /// Rows of C to store (at most MR); the rows past them repeat the last one.
    rows: usize,
    /// Which rows of A and C they are (the first `rows`).
    row_at: [usize; MAX_MR],
    /// Add to C (the sum of the blocks of k before) rather than overwrite it.
    accumulate: bool,
    /// The steps of k to run, in order, when the others add nothing (the row block's rows of
    /// A are all zero there); every step when None.
    steps: Option<&'s [u16]>,
}

/// The most rows any instruction set's tiles take at once.
const MAX_MR: usize = 8;

/// One cache line of packed B, so that the packing buffer is aligned to lines.
#[repr(C, align(64))]
#[derive(Clone, Copy)]
struct Line([f32; 16]);

thread_local! {
    /// A block of op(B) packed as panels (`CHAIN_DEPTH` x NC floats).
    static PACKED: RefCell<Vec<Line>> = const { RefCell::new(Vec::new()) };
    /// The live steps of the op(A) being multiplied, when the tiles skip the others.
    static LIVE: RefCell<LiveSteps> = const { RefCell::new(LiveSteps::new()) };
}

/// The tiles `gemm` runs on this CPU, if any.
pub fn name() -> Option<&'static str> {
    if avx512::Avx512::available() {
        Some(avx512::Avx512::NAME)
    } else if avx2::Avx2::available() {
        Some(avx2::Avx2::NAME)
    } else {
        None
    }
}

/// op(B) packed ahead as the tiles of this CPU read it, block after block in the order that
/// `gemm` takes them: for a B that many products multiply by (a layer's weights between two
/// Adam steps), so that each product reads these panels instead of packing its own.
pub struct Panels {
    lines: Vec<Line>,
    /// What op(B) was packed: (k, n).
    shape: (usize, usize),
}

impl Panels {
    /// op(B) (k x n, element (p, j) at `b[p * rsb + j * csb]`, one stride 1) packed, in parallel
    /// blocks; None where this CPU has no tiles for a product n columns wide.
    ///
    /// # Safety
    /// The strides address only elements inside `b`.
    pub unsafe fn pack(b: &[f32], strides: (usize, usize), shape: (usize, usize)) -> Option<Self> {
        let floats = if avx512::Avx512::available() {
            packed_size::<avx512::Avx512>(shape)
        } else if avx2::Avx2::available() {
            packed_size::<avx2::Avx2>(shape)
        } else {
            None
        }?;
        let mut panels = Panels {
            lines: vec![Line([0.0; 16]); floats / 16],
            shape,
        };
        panels.repack(b, strides);
        Some(panels)
    }

    /// Packs a new op(B) of the same shape over these panels.
    ///
    /// # Safety
    /// As `pack`.
    pub unsafe fn repack(&mut self, b: &[f32], strides: (usize, usize)) {
        if avx512::Avx512::available() {
            repack::<avx512::Avx512>(self, b, strides)
        } else {
            repack::<avx2::Avx2>(self, b, strides)
        }
    }
}

/// A block of op(B) as the tiles take it: `kc` steps of k from `p0`, `nc` columns from `j0`.
#[derive(Clone, Copy)]
struct Block {
    j0: usize,
    nc: usize,
    p0: usize,
    kc: usize,
    /// Where its panels start among the blocks packed ahead, in floats (whole lines).
    at: usize,
}

impl Block {
    /// Floats of its panels packed ahead, to the end of their last line.
    fn floats<T: Tiles>(&self) -> usize {
        (self.kc * self.nc.next_multiple_of(T::NR)).next_multiple_of(16)
    }
}

/// The blocks of a k x n op(B) in the order `tiled` runs them (and packs them ahead).
fn blocks<T: Tiles>((k, n): (usize, usize)) -> Vec<Block> {
    let mut list: Vec<Block> = Vec::new();
    for j0 in (0..n).step_by(T::NC) {
        let nc = T::NC.min(n - j0);
        for p0 in (0..k).step_by(CHAIN_DEPTH) {
            let kc = CHAIN_DEPTH.min(k - p0);
            let at = list.last().map_or(0, |last| last.at + last.floats::<T>());
            list.push(Block { j0, nc, p0, kc, at });
        }
    }
    list
}

/// Floats in `T`'s panels of a k x n op(B), if `T` takes products n columns wide.
fn packed_size<T: Tiles>((k, n): (usize, usize)) -> Option<usize> {
    let last = blocks::<T>((k, n)).last().copied();
    (n >= T::NR).then_some(last.map_or(0, |last| last.at + last.floats::<T>()))
}

/// `Panels::repack` on `T`'s tiles, block by block in parallel.
unsafe fn repack<T: Tiles>(panels: &mut Panels, b: &[f32], (rsb, csb): (usize, usize)) {
    use rayon::prelude::*;
    let list = blocks::<T>(panels.shape);
    let mut rest = &mut panels.lines[..];
    let mut outs = Vec::with_capacity(list.len());
    for block in &list {
        let (out, tail) = rest.split_at_mut(block.floats::<T>() / 16);
        outs.push(out);
        rest = tail;
    }
    list.into_par_iter().zip(outs).for_each(|(block, out)| {
        let Block { j0, nc, p0, kc, .. } = block;
        let (b_block, out) = (b.as_ptr().add(p0 * rsb + j0 * csb), out.as_mut_ptr());
        // SAFETY: the block lies inside B, and `out` holds it, aligned to a line.
        if csb == 1 {
            T::pack_rows(kc, nc, b_block, rsb, out.cast());
        } else {
            T::pack_transposed(kc, nc, b_block, csb, out.cast());
        }
    });
}

/// C (m x n, row-major) = op(A) op(B), with element (i, p) of op(A) at `a[i * rsa + p * csa]`
/// and element (p, j) of op(B) at `b[p * rsb + j * csb]`, one of each pair of strides 1, if
/// this CPU has tiles for a product n columns wide (narrower ones, such as the 10-wide code
/// layer's, waste less in matrixmultiply's 8- or 16-wide tiles). Returns whether it ran.
/// With `skip_zero_steps`, tiles that can skip leave out the steps of k where their rows of
/// op(A) are all zero; they take the rows in `row_order`'s groups when given (where op(A) is
/// stored transposed, an order that moves rows only within aligned windows of 16), else in
/// order. With `panels` (op(B) packed by `Panels::pack`), B itself is not read.
///
/// # Safety
/// The strides address only elements inside `a` and `b`, m, k > 0, `row_order` (if any) is
/// a permutation of 0..m (one that stays within aligned windows of 16 rows where op(A) is
/// stored transposed), and `panels` (if any) holds this op(B).
pub unsafe fn gemm(
    shape: (usize, usize, usize),
    (a, strides_a, row_order): (&[f32], (usize, usize), Option<&[u32]>),
    (b, strides_b, panels): (&[f32], (usize, usize), Option<&Panels>),
    c: &mut [f32],
    skip_zero_steps: bool,
) -> bool {
    let (a, b) = ((a, strides_a, row_order), (b, strides_b, panels));
    if avx512::Avx512::available() {
        tiled::<avx512::Avx512>(shape, a, b, c, skip_zero_steps)
    } else if avx2::Avx2::available() {
        tiled::<avx2::Avx2>(shape, a, b, c, skip_zero_steps)
    } else {
        false
    }
}

/// `gemm` on `T`'s tiles, when the product is at least a tile wide.
unsafe fn tiled<T: Tiles>(
    (m, n, k): (usize, usize, usize),
    (a, (rsa, csa), row_order): (&[f32], (usize, usize), Option<&[u32]>),
    (b, (rsb, csb), ahead): (&[f32], (usize, usize), Option<&Panels>),
    c: &mut [f32],
    skip_zero_steps: bool,
) -> bool {
    debug_assert!(csa == 1 || rsa == 1);
    debug_assert!(csb == 1 || rsb == 1);
    debug_assert_eq!(c.len(), m * n);
    debug_assert!(ahead.is_none_or(|panels| panels.shape == (k, n)));
    debug_assert!(row_order.is_none_or(|order| order.len() == m));
    debug_assert!(T::MR <= MAX_MR);
    if n < T::NR {
        return false;
    }
    let skip = skip_zero_steps && T::SKIPS_STEPS;
    LIVE.with_borrow_mut(|live| {
        if skip {
            // SAFETY (AVX2): tiles that skip run only where the CPU has it.
            live.find(a.as_ptr(), (rsa, csa), (m, k), (T::MR, row_order));
        }
        PACKED.with_borrow_mut(|packed| {
            if ahead.is_none() {
                packed.resize(CHAIN_DEPTH * T::NC / 16, Line([0.0; 16]));
            }
            for Block { j0, nc, p0, kc, at } in blocks::<T>((k, n)) {
                let block = p0 / CHAIN_DEPTH;
                let panels = match ahead {
                    Some(ahead) => ahead.lines.as_ptr().cast::<f32>().add(at),
                    None => {
                        let panels = packed.as_mut_ptr().cast::<f32>();
                        let b_block = b.as_ptr().add(p0 * rsb + j0 * csb);
                        if csb == 1 {
                            T::pack_rows(kc, nc, b_block, rsb, panels);
                        } else {
                            T::pack_transposed(kc, nc, b_block, csb, panels);
                        }
                        panels.cast_const()
                    }
                };
                for (row_block, i0) in (0..m).step_by(T::MR).enumerate() {
                    let rows = T::MR.min(m - i0);
                    let mut row_at = [0; MAX_MR];
                    for (r, at) in row_at[..rows].iter_mut().enumerate() {
                        *at = row_order.map_or(i0 + r, |order| order[i0 + r] as usize);
                    }
                    let tile = Tile {
                        kc,
                        rows,
                        row_at,
                        accumulate: block > 0,
                        steps: skip.then(|| live.of(block, row_block)),
                    };
                    let a_rows = a.as_ptr().add(p0 * csa);
                    let c_rows = c.as_mut_ptr().add(j0);
                    if csa == 1 {
                        T::row_block::<true>(&tile, a_rows, rsa, panels, c_rows, n, nc);
                    } else {
                        T::row_block::<false>(&tile, a_rows, csa, panels, c_rows, n, nc);
                    }
                }
            }
        });
    });
    true
}
