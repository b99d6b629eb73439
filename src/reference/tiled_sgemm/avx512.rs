//! AVX-512F tiles of 8 rows x 48 columns (24 vector accumulators, against matrixmultiply's
//! 16 x 16), which keep both FMA units busy where a 16 x 16 tile waits on its 16 broadcasts.

use std::arch::x86_64::*;

use super::{Tile, Tiles};

pub struct Avx512;

/// Steps of k ahead of the kernel that B's rows are fetched into L1.
const PREFETCH_STEPS: usize = 16;
const MR: usize = 8;
const NR: usize = 48;

impl Tiles for Avx512 {
    const NAME: &'static str = "sgemm (AVX-512 8x48 tiles, matrixmultiply's sums)";
    const NR: usize = NR;
    const MR: usize = MR;
    // Not yet: no machine with AVX-512 was at hand to test a skipping kernel on.
    const SKIPS_STEPS: bool = false;

    fn available() -> bool {
        is_x86_feature_detected!("avx512f")
    }

    #[target_feature(enable = "avx512f")]
    unsafe fn pack_rows(kc: usize, nc: usize, b: *const f32, ldb: usize, out: *mut f32) {
        for jp in (0..nc).step_by(NR) {
            let panel = out.add(jp * kc);
            let masks: [__mmask16; 3] = std::array::from_fn(|v| {
                ((1u32 << (nc - jp).saturating_sub(16 * v).min(16)) - 1) as __mmask16
            });
            for p in 0..kc {
                for (v, &mask) in masks.iter().enumerate() {
                    let row = _mm512_maskz_loadu_ps(mask, b.add(p * ldb + jp + 16 * v));
                    _mm512_store_ps(panel.add(p * NR + 16 * v), row);
                }
            }
        }
    }

    #[target_feature(enable = "avx512f")]
    unsafe fn pack_transposed(kc: usize, nc: usize, b: *const f32, ldb: usize, out: *mut f32) {
        for jp in (0..nc).step_by(NR) {
            let panel = out.add(jp * kc);
            for j16 in (0..NR).step_by(16) {
                let live = nc.saturating_sub(jp + j16).min(16);
                for p16 in (0..kc).step_by(16) {
                    let depth = (kc - p16).min(16);
                    let mask = ((1u32 << depth) - 1) as __mmask16;
                    let block: [__m512; 16] = std::array::from_fn(|j| {
                        if j < live {
                            _mm512_maskz_loadu_ps(mask, b.add((jp + j16 + j) * ldb + p16))
                        } else {
                            _mm512_setzero_ps()
                        }
                    });
                    let columns = transpose16(block);
                    for (p, column) in columns.iter().enumerate().take(depth) {
                        _mm512_storeu_ps(panel.add((p16 + p) * NR + j16), *column);
                    }
                }
            }
        }
    }

    #[target_feature(enable = "avx512f")]
    unsafe fn row_block<const A_ROWS_CONTIGUOUS: bool>(
        tile: &Tile,
        a: *const f32,
        stride: usize,
        panels: *const f32,
        c: *mut f32,
        ldc: usize,
        nc: usize,
    ) {
        for (panel, jp) in (0..nc).step_by(NR).enumerate() {
            let b_panel = panels.add(panel * NR * tile.kc);
            kernel::<A_ROWS_CONTIGUOUS>(tile, a, stride, b_panel, c.add(jp), ldc, NR.min(nc - jp));
        }
    }
}

/// Writes (or adds) one `tile.rows` x `cols` tile of C (rows `tile.row_at`, row stride
/// `ldc`) from `tile.kc` steps: row i of A at `a + i * stride` read along k with step 1 when
/// `A_ROWS_CONTIGUOUS`, else at `a + i` with step `stride`; step p of B's packed panel at
/// `b + p * NR`.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn kernel<const A_ROWS_CONTIGUOUS: bool>(
    tile: &Tile,
    a: *const f32,
    stride: usize,
    b: *const f32,
    c: *mut f32,
    ldc: usize,
    cols: usize,
) {
    let masks: [__mmask16; 3] =
        std::array::from_fn(|v| ((1u32 << cols.saturating_sub(16 * v).min(16)) - 1) as __mmask16);
    // Rows past the edge repeat the last row and are not stored.
    let row = |r: usize| tile.row_at[r.min(tile.rows - 1)];
    let a_at: [*const f32; MR] = std::array::from_fn(|r| {
        if A_ROWS_CONTIGUOUS {
            a.add(row(r) * stride)
        } else {
            a.add(row(r))
        }
    });
    let a_step = if A_ROWS_CONTIGUOUS { 1 } else { stride };
    let mut acc = [[_mm512_setzero_ps(); 3]; MR];
    for p in 0..tile.kc {
        let b_row = b.add(p * NR);
        let ahead = b_row.wrapping_add(PREFETCH_STEPS * NR);
        for v in 0..3 {
            _mm_prefetch::<_MM_HINT_T0>(ahead.wrapping_add(16 * v).cast());
        }
        let bv: [__m512; 3] = std::array::from_fn(|v| _mm512_load_ps(b_row.add(16 * v)));
        for r in 0..MR {
            let av = _mm512_set1_ps(*a_at[r].add(p * a_step));
            for v in 0..3 {
                acc[r][v] = _mm512_fmadd_ps(av, bv[v], acc[r][v]);
            }
        }
    }
    for (r, acc) in acc.iter().enumerate().take(tile.rows) {
        for v in 0..3 {
            let at = c.add(tile.row_at[r] * ldc + 16 * v);
            let sum = if tile.accumulate {
                _mm512_add_ps(_mm512_maskz_loadu_ps(masks[v], at), acc[v])
            } else {
                acc[v]
            };
            _mm512_mask_storeu_ps(at, masks[v], sum);
        }
    }
}

/// The 16 x 16 transpose of 16 rows of 16 floats.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn transpose16(rows: [__m512; 16]) -> [__m512; 16] {
    // Pairs of rows interleaved by element, then by pairs of elements: t4[4q + s] holds
    // elements 4i + s of rows 4q..4q+4, for each 128-bit lane i.
    let t2: [__m512; 16] = std::array::from_fn(|i| {
        let (x, y) = (rows[i & !1], rows[i | 1]);
        if i % 2 == 0 {
            _mm512_unpacklo_ps(x, y)
        } else {
            _mm512_unpackhi_ps(x, y)
        }
    });
    let t4: [__m512; 16] = std::array::from_fn(|i| {
        let (q, s) = (i / 4, i % 4);
        let (x, y) = (
            _mm512_castps_pd(t2[4 * q + s / 2]),
            _mm512_castps_pd(t2[4 * q + 2 + s / 2]),
        );
        _mm512_castpd_ps(if s % 2 == 0 {
            _mm512_unpacklo_pd(x, y)
        } else {
            _mm512_unpackhi_pd(x, y)
        })
    });
    // Then the 128-bit lanes: output row 4i + s takes lane i of t4[s], t4[4 + s], t4[8 + s]
    // and t4[12 + s].
    std::array::from_fn(|o| {
        let (i, s) = (o / 4, o % 4);
        let even_odd = |x: __m512, y: __m512, odd: bool| {
            if odd {
                _mm512_shuffle_f32x4::<0b11_01_11_01>(x, y)
            } else {
                _mm512_shuffle_f32x4::<0b10_00_10_00>(x, y)
            }
        };
        // Lanes (0, 2) or (1, 3) of rows 0-3 and 4-7, then of 8-11 and 12-15.
        let low = even_odd(t4[s], t4[4 + s], i % 2 == 1);
        let high = even_odd(t4[8 + s], t4[12 + s], i % 2 == 1);
        even_odd(low, high, i >= 2)
    })
}
