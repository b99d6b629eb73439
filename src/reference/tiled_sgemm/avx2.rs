//! AVX2 + FMA tiles of 4 rows x 24 columns: 12 accumulators (matrixmultiply's 8 x 8 keeps 8,
//! barely the two FMA units' latency, and spends shuffles on A), from 3 loads of B and 4
//! broadcasts of A per step of k.

use std::arch::x86_64::*;

use super::{Tile, Tiles};

pub struct Avx2;

/// Steps of k ahead of the kernel that B's rows are fetched into L1 (on an AVX2 EPYC, 32
/// trained the deep recipe 2-7% faster than 16, now that B's panels packed ahead come from
/// L3 on a block's first pass; 64 was slower).
const PREFETCH_STEPS: usize = 32;
const MR: usize = 4;
/// Three 8-lane vectors.
const NR: usize = 24;
const V: usize = NR / 8;

impl Tiles for Avx2 {
    const NAME: &'static str = "sgemm (AVX2 4x24 tiles, matrixmultiply's sums)";
    const NR: usize = NR;
    const MR: usize = MR;
    const SKIPS_STEPS: bool = true;

    fn available() -> bool {
        is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
    }

    #[target_feature(enable = "avx2")]
    unsafe fn pack_rows(kc: usize, nc: usize, b: *const f32, ldb: usize, out: *mut f32) {
        for jp in (0..nc).step_by(NR) {
            let panel = out.add(jp * kc);
            let masks: [__m256i; V] =
                std::array::from_fn(|v| lanes_below((nc - jp).saturating_sub(8 * v)));
            for p in 0..kc {
                for (v, &mask) in masks.iter().enumerate() {
                    let row = _mm256_maskload_ps(b.add(p * ldb + jp + 8 * v), mask);
                    _mm256_store_ps(panel.add(p * NR + 8 * v), row);
                }
            }
        }
    }

    #[target_feature(enable = "avx2")]
    unsafe fn pack_transposed(kc: usize, nc: usize, b: *const f32, ldb: usize, out: *mut f32) {
        for jp in (0..nc).step_by(NR) {
            let panel = out.add(jp * kc);
            for j8 in (0..NR).step_by(8) {
                let live = nc.saturating_sub(jp + j8).min(8);
                for p8 in (0..kc).step_by(8) {
                    let depth = (kc - p8).min(8);
                    let mask = lanes_below(depth);
                    let block: [__m256; 8] = std::array::from_fn(|j| {
                        if j < live {
                            _mm256_maskload_ps(b.add((jp + j8 + j) * ldb + p8), mask)
                        } else {
                            _mm256_setzero_ps()
                        }
                    });
                    let columns = transpose8(block);
                    for (p, column) in columns.iter().enumerate().take(depth) {
                        _mm256_store_ps(panel.add((p8 + p) * NR + j8), *column);
                    }
                }
            }
        }
    }

    #[target_feature(enable = "avx2,fma")]
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
            let (c, cols) = (c.add(jp), NR.min(nc - jp));
            match tile.steps {
                None => kernel::<A_ROWS_CONTIGUOUS>(
                    tile,
                    0..tile.kc,
                    (a, stride),
                    b_panel,
                    c,
                    ldc,
                    cols,
                ),
                Some(steps) => {
                    let steps = steps.iter().map(|&p| p as usize);
                    kernel::<A_ROWS_CONTIGUOUS>(tile, steps, (a, stride), b_panel, c, ldc, cols)
                }
            }
        }
    }
}

/// Lanes below `live` set (all when `live` >= 8), for masked loads and stores.
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn lanes_below(live: usize) -> __m256i {
    let live = _mm256_set1_epi32(live.min(8) as i32);
    _mm256_cmpgt_epi32(live, _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))
}

/// Writes (or adds) one `tile.rows` x `cols` tile of C (rows `tile.row_at`, row stride
/// `ldc`) from `steps` of k: row i of A at `a + i * stride` read along k with step 1 when
/// `A_ROWS_CONTIGUOUS`, else at `a + i` with step `stride`; step p of B's packed panel at
/// `b + p * NR`.
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn kernel<const A_ROWS_CONTIGUOUS: bool>(
    tile: &Tile,
    steps: impl Iterator<Item = usize>,
    (a, stride): (*const f32, usize),
    b: *const f32,
    c: *mut f32,
    ldc: usize,
    cols: usize,
) {
    let row = |r: usize| tile.row_at[r.min(tile.rows - 1)];
    let a_at: [*const f32; MR] = std::array::from_fn(|r| {
        if A_ROWS_CONTIGUOUS {
            a.add(row(r) * stride)
        } else {
            a.add(row(r))
        }
    });
    let a_step = if A_ROWS_CONTIGUOUS { 1 } else { stride };
    let mut acc = [[_mm256_setzero_ps(); V]; MR];
    for p in steps {
        let b_row = b.add(p * NR);
        let ahead = b_row.wrapping_add(PREFETCH_STEPS * NR);
        _mm_prefetch::<_MM_HINT_T0>(ahead.cast());
        _mm_prefetch::<_MM_HINT_T0>(ahead.wrapping_add(16).cast());
        let bv: [__m256; V] = std::array::from_fn(|v| _mm256_load_ps(b_row.add(8 * v)));
        for r in 0..MR {
            let av = _mm256_broadcast_ss(&*a_at[r].add(p * a_step));
            for v in 0..V {
                acc[r][v] = _mm256_fmadd_ps(av, bv[v], acc[r][v]);
            }
        }
    }
    // Masked stores are slow on AMD's cores: only the last tile of a row block uses them.
    let masks: Option<[__m256i; V]> =
        (cols < NR).then(|| std::array::from_fn(|v| lanes_below(cols.saturating_sub(8 * v))));
    for (r, acc) in acc.iter().enumerate().take(tile.rows) {
        for v in 0..V {
            let at = c.add(tile.row_at[r] * ldc + 8 * v);
            match masks {
                None => {
                    let sum = if tile.accumulate {
                        _mm256_add_ps(_mm256_loadu_ps(at), acc[v])
                    } else {
                        acc[v]
                    };
                    _mm256_storeu_ps(at, sum);
                }
                Some(masks) => {
                    let sum = if tile.accumulate {
                        _mm256_add_ps(_mm256_maskload_ps(at, masks[v]), acc[v])
                    } else {
                        acc[v]
                    };
                    _mm256_maskstore_ps(at, masks[v], sum);
                }
            }
        }
    }
}

/// The 8 x 8 transpose of 8 rows of 8 floats.
#[target_feature(enable = "avx")]
#[inline]
unsafe fn transpose8(rows: [__m256; 8]) -> [__m256; 8] {
    // Pairs of rows interleaved by element, then by pairs of elements: t4[4q + s] holds
    // elements 4i + s of rows 4q..4q+4, for each 128-bit lane i.
    let t2: [__m256; 8] = std::array::from_fn(|i| {
        let (x, y) = (rows[i & !1], rows[i | 1]);
        if i % 2 == 0 {
            _mm256_unpacklo_ps(x, y)
        } else {
            _mm256_unpackhi_ps(x, y)
        }
    });
    let t4: [__m256; 8] = std::array::from_fn(|i| {
        let (q, s) = (i / 4, i % 4);
        let (x, y) = (
            _mm256_castps_pd(t2[4 * q + s / 2]),
            _mm256_castps_pd(t2[4 * q + 2 + s / 2]),
        );
        _mm256_castpd_ps(if s % 2 == 0 {
            _mm256_unpacklo_pd(x, y)
        } else {
            _mm256_unpackhi_pd(x, y)
        })
    });
    // Output row 4i + s takes lane i of t4[s] (rows 0-3) and of t4[4 + s] (rows 4-7).
    std::array::from_fn(|o| {
        let (i, s) = (o / 4, o % 4);
        if i == 0 {
            _mm256_permute2f128_ps::<0x20>(t4[s], t4[4 + s])
        } else {
            _mm256_permute2f128_ps::<0x31>(t4[s], t4[4 + s])
        }
    })
}
