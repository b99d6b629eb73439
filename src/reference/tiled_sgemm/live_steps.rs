//! The steps of k that each row block of op(A) needs: at the others all its rows are zero,
//! and their products add nothing to C while B is finite. Found 8 steps or 8 rows at a time
//! with AVX2 (only AVX2's tiles skip).

use std::arch::x86_64::*;

use super::CHAIN_DEPTH;
use crate::reference::TRANSPOSED_ORDER_WINDOW;

/// Rows of an op(A) stored transposed that `find` reads at once (two 8-lane masks), and the
/// window its row order stays in.
const WINDOW: usize = 16;
const _: () = assert!(WINDOW == TRANSPOSED_ORDER_WINDOW);

/// The live steps of every block of `CHAIN_DEPTH` steps and row block of one op(A).
pub struct LiveSteps {
    row_blocks: usize,
    /// 64-step words per row block.
    words: usize,
    /// Bit p % 64 of word `b * words + p / 64`: whether step p is live in row block b.
    bits: Vec<u64>,
    /// For an op(A) stored transposed: which rows of its window each row block takes.
    lanes: Vec<u16>,
    /// Slot `block * row_blocks + row block` holds its steps from `CHAIN_DEPTH * slot`.
    steps: Vec<u16>,
    counts: Vec<usize>,
}

/// The positions of the set bits of each byte, in order.
const SET_BITS: [[u8; 8]; 256] = {
    let mut table = [[0; 8]; 256];
    let mut byte = 0;
    while byte < 256 {
        let (mut bit, mut set) = (0, 0);
        while bit < 8 {
            if byte >> bit & 1 == 1 {
                table[byte][set] = bit as u8;
                set += 1;
            }
            bit += 1;
        }
        byte += 1;
    }
    table
};

impl LiveSteps {
    pub const fn new() -> Self {
        LiveSteps {
            row_blocks: 0,
            words: 0,
            bits: Vec::new(),
            lanes: Vec::new(),
            steps: Vec::new(),
            counts: Vec::new(),
        }
    }

    /// Finds them for op(A), m x k with element (i, p) at `a + i * rs + p * cs`, one of the
    /// strides 1, in row blocks of `mr` rows (a divisor of 8): rows `order[b * mr..]` in row
    /// block b when an order is given, else rows `b * mr..`. Where `cs` is not 1, an order
    /// moves rows only within aligned windows of `WINDOW` (`order[q] / 16 == q / 16`).
    ///
    /// # Safety
    /// Every such element lies inside A, `order` (if any) holds m rows of A, and the CPU has
    /// AVX2.
    #[target_feature(enable = "avx2")]
    pub unsafe fn find(
        &mut self,
        a: *const f32,
        (rs, cs): (usize, usize),
        (m, k): (usize, usize),
        (mr, order): (usize, Option<&[u32]>),
    ) {
        debug_assert_eq!(8 % mr, 0);
        debug_assert!(order.is_none_or(|order| order.len() == m));
        debug_assert!(order.is_none_or(|order| {
            cs == 1
                || order
                    .iter()
                    .enumerate()
                    .all(|(q, &i)| i as usize / WINDOW == q / WINDOW)
        }));
        self.row_blocks = m.div_ceil(mr);
        self.words = k.div_ceil(64);
        self.bits.clear();
        self.bits.resize(self.row_blocks * self.words, 0);
        // Along A in memory, 8 floats at a time: steps of one row, or rows of one step.
        if cs == 1 {
            for q in 0..m {
                let i = order.map_or(q, |order| order[q] as usize);
                let words = &mut self.bits[q / mr * self.words..][..self.words];
                for p8 in (0..k).step_by(8) {
                    let nonzero = nonzero_lanes(a.add(i * rs + p8), k - p8);
                    words[p8 / 64] |= u64::from(nonzero) << (p8 % 64);
                }
            }
        } else {
            // Rows of one step, a window at a time: row block b is live where one of the
            // lanes `lanes[b]` of its window is.
            self.lanes.clear();
            for q0 in (0..m).step_by(mr) {
                let window = q0 / WINDOW * WINDOW;
                let rows = (q0..m.min(q0 + mr)).map(|q| order.map_or(q, |order| order[q] as usize));
                self.lanes
                    .push(rows.fold(0, |lanes, i| lanes | 1 << (i - window)));
            }
            for p in 0..k {
                for first in (0..m).step_by(WINDOW) {
                    let at = a.add(p * cs + first);
                    let mut nonzero = u16::from(nonzero_lanes(at, m - first));
                    if m - first > 8 {
                        nonzero |= u16::from(nonzero_lanes(at.add(8), m - first - 8)) << 8;
                    }
                    for b in first / mr..((first + WINDOW) / mr).min(self.row_blocks) {
                        let live = nonzero & self.lanes[b] != 0;
                        self.bits[b * self.words + p / 64] |= u64::from(live) << (p % 64);
                    }
                }
            }
        }
        self.steps
            .resize(k.div_ceil(CHAIN_DEPTH) * self.row_blocks * CHAIN_DEPTH, 0);
        self.counts.clear();
        for p0 in (0..k).step_by(CHAIN_DEPTH) {
            let kc = CHAIN_DEPTH.min(k - p0);
            for b in 0..self.row_blocks {
                let slot = self.steps.as_mut_ptr().add(CHAIN_DEPTH * self.counts.len());
                let mut count = 0;
                // The positions of 8 steps' live bits, stored 8 at a time: a store never
                // reaches past the slot, as at most p8 - p0 steps come before it.
                for p8 in (p0..p0 + kc).step_by(8) {
                    let byte = (self.bits[b * self.words + p8 / 64] >> (p8 % 64)) as u8;
                    let set = _mm_loadl_epi64(SET_BITS[usize::from(byte)].as_ptr().cast());
                    let offset = _mm_set1_epi16((p8 - p0) as i16);
                    let steps = _mm_add_epi16(_mm_cvtepu8_epi16(set), offset);
                    _mm_storeu_si128(slot.add(count).cast(), steps);
                    count += byte.count_ones() as usize;
                }
                self.counts.push(count);
            }
        }
    }

    /// The live steps of row block `row_block` in block `block` of k, in order.
    pub fn of(&self, block: usize, row_block: usize) -> &[u16] {
        let slot = block * self.row_blocks + row_block;
        let at = CHAIN_DEPTH * slot;
        &self.steps[at..at + self.counts[slot]]
    }
}

/// Bit l set where float l of the (at most) 8 from `at`, the first `live` of them read, is
/// not zero (NaN included).
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn nonzero_lanes(at: *const f32, live: usize) -> u8 {
    let values = if live >= 8 {
        _mm256_loadu_ps(at)
    } else {
        let lanes = _mm256_cmpgt_epi32(
            _mm256_set1_epi32(live as i32),
            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
        );
        _mm256_maskload_ps(at, lanes)
    };
    _mm256_movemask_ps(_mm256_cmp_ps::<_CMP_NEQ_UQ>(values, _mm256_setzero_ps())) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `find` against the definition, on both layouts of A (rows in order, and reversed:
    /// wholly where A is stored row-major, within each window of 16 rows where it is stored
    /// transposed), for every row block size a divisor of 8 allows, around the 8-step groups,
    /// the 16-row windows, the 64-step words and the blocks of k.
    #[test]
    fn find_lists_exactly_the_steps_where_a_row_is_not_zero() {
        if !is_x86_feature_detected!("avx2") {
            eprintln!("no AVX2 on this CPU: nothing skips, nothing to check");
            return;
        }
        let mut state = 0x2545_f491_u32;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state
        };
        let mut live = LiveSteps::new();
        for mr in [1, 2, 4, 8] {
            for m in [1, 3, 4, 5, 8, 9, 16, 17, 40] {
                for k in [1, 7, 8, 9, 63, 64, 65, 255, 256, 257, 600] {
                    // Mostly +0 and -0, some NaN, a few values; element (i, p) at i * k + p.
                    let a: Vec<f32> = (0..m * k)
                        .map(|_| match next() % 16 {
                            0..=8 => 0.0,
                            9..=12 => -0.0,
                            13 => f32::NAN,
                            _ => 1.5,
                        })
                        .collect();
                    let transposed: Vec<f32> = (0..k * m).map(|e| a[(e % m) * k + e / m]).collect();
                    let reverse: Vec<u32> = (0..m as u32).rev().collect();
                    // Reversed within each aligned window of 16 rows, as a transposed A's
                    // order must be.
                    let windows_reversed: Vec<u32> = (0..m)
                        .map(|q| {
                            let window = q / WINDOW * WINDOW;
                            (window + m.min(window + WINDOW) - 1 - q) as u32
                        })
                        .collect();
                    for (data, strides, order) in [
                        (&a, (k, 1), None),
                        (&a, (k, 1), Some(&reverse[..])),
                        (&transposed, (1, m), None),
                        (&transposed, (1, m), Some(&windows_reversed[..])),
                    ] {
                        // SAFETY: the CPU has AVX2 (checked); the strides address data, the
                        // order holds m rows.
                        unsafe { live.find(data.as_ptr(), strides, (m, k), (mr, order)) };
                        let row = |q: usize| order.map_or(q, |order| order[q] as usize);
                        for (block, p0) in (0..k).step_by(CHAIN_DEPTH).enumerate() {
                            let kc = CHAIN_DEPTH.min(k - p0);
                            for (b, i0) in (0..m).step_by(mr).enumerate() {
                                let expected: Vec<u16> = (0..kc as u16)
                                    .filter(|&p| {
                                        (i0..m.min(i0 + mr))
                                            .any(|q| a[row(q) * k + p0 + p as usize] != 0.0)
                                    })
                                    .collect();
                                assert_eq!(
                                    live.of(block, b),
                                    expected,
                                    "mr {mr} m {m} k {k} strides {strides:?} order {order:?} \
                                     block {block} row block {b}"
                                );
                            }
                        }
                    }
                }
            }
        }
    }
}
