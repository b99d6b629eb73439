//! An order of a matrix's rows that puts rows with zeros in the same columns together, in
//! groups of the AVX2 tiles' row blocks: a product that skips the steps of k where all the
//! rows of a block are zero then skips more (on a deep recipe's layers, 10-20% of the steps
//! a block runs in input order). Any order gives the same bits. The same for the columns,
//! whose order a transposed A's products take.

use super::matmul::TRANSPOSED_ORDER_WINDOW;

/// Rows per group: the AVX2 tiles' row block.
pub const GROUP_ROWS: usize = 4;
/// Rows that a group is chosen from (a training batch's part), so that the cost grows with
/// the rows and not with their square.
const WINDOW_ROWS: usize = 128;

/// The rows of `a` (row-major, `width` columns) in groups of `GROUP_ROWS`, window by window
/// of `WINDOW_ROWS` rows: each group starts with the window's first row left and adds, one
/// at a time, the row left that is nonzero (NaN counts) in the fewest columns where the
/// group is all zero so far (the first such row on a tie).
pub fn rows_grouped_by_zeros(a: &[f32], width: usize) -> Vec<u32> {
    let rows = a.len().checked_div(width).unwrap_or(0);
    let words = width.div_ceil(64);
    let mut nonzero = vec![0u64; rows * words];
    for (row, bits) in a
        .chunks_exact(width)
        .zip(nonzero.chunks_exact_mut(words.max(1)))
    {
        for (j, &x) in row.iter().enumerate() {
            bits[j / 64] |= u64::from(x != 0.0) << (j % 64);
        }
    }
    let bits = |row: u32| &nonzero[row as usize * words..][..words];
    let mut order = Vec::with_capacity(rows);
    let mut group = vec![0u64; words];
    for start in (0..rows).step_by(WINDOW_ROWS) {
        let mut left: Vec<u32> = (start as u32..rows.min(start + WINDOW_ROWS) as u32).collect();
        while !left.is_empty() {
            let first = left.remove(0);
            group.copy_from_slice(bits(first));
            order.push(first);
            for _ in 1..GROUP_ROWS {
                let added = |&row: &u32| -> u32 {
                    let new = bits(row).iter().zip(&group).map(|(r, g)| r & !g);
                    new.map(u64::count_ones).sum()
                };
                let Some((at, _)) = left.iter().enumerate().min_by_key(|(_, row)| added(row))
                else {
                    break;
                };
                let row = left.remove(at);
                group.iter_mut().zip(bits(row)).for_each(|(g, r)| *g |= r);
                order.push(row);
            }
        }
    }
    order
}

/// The columns of `a` (row-major, `width` columns) in order of how many rows they are
/// nonzero in (NaN counts), fewest first, ties in order, within each aligned window of
/// `TRANSPOSED_ORDER_WINDOW` columns: the units of a layer's input for its weight gradient,
/// whose A is the input transposed, so that units that are rarely nonzero share a row block
/// (on a deep recipe's hidden layers, 15-18% fewer of its steps stay live), while a block's
/// units stay on one cache line of each sample's row.
pub fn columns_grouped_by_zeros(a: &[f32], width: usize) -> Vec<u32> {
    let mut nonzero = vec![0u32; width];
    for row in a.chunks_exact(width) {
        for (count, &x) in nonzero.iter_mut().zip(row) {
            *count += u32::from(x != 0.0);
        }
    }
    let mut order: Vec<u32> = (0..width as u32).collect();
    for window in order.chunks_mut(TRANSPOSED_ORDER_WINDOW) {
        window.sort_by_key(|&column| nonzero[column as usize]);
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_with_the_same_zeros_end_up_in_one_group() {
        // Rows 0, 2, 4, 6 are nonzero in columns 0..3, rows 1, 3, 5, 7 in columns 60..70
        // (across a 64-bit word), and a NaN counts as nonzero.
        let width = 70;
        let a: Vec<f32> = (0..8 * width)
            .map(|e| {
                let (row, col) = (e / width, e % width);
                match (row % 2, col) {
                    (0, 0..3) => 1.0,
                    (1, 60..70) if row == 3 && col == 65 => f32::NAN,
                    (1, 60..70) => -2.0,
                    _ => 0.0,
                }
            })
            .collect();
        assert_eq!(rows_grouped_by_zeros(&a, width), [0, 2, 4, 6, 1, 3, 5, 7]);
    }

    #[test]
    fn columns_are_sorted_by_their_nonzeros_within_each_window() {
        // Column j is nonzero in (j * 7) % 5 of 6 rows (a NaN counts), over two windows
        // and a partial third.
        let (rows, width) = (6, 35);
        let a: Vec<f32> = (0..rows * width)
            .map(|e| match (e / width, e % width) {
                (0, 3) => f32::NAN,
                (row, column) if row < column * 7 % 5 => 1.0,
                _ => 0.0,
            })
            .collect();
        let order = columns_grouped_by_zeros(&a, width);
        let count = |j: u32| {
            (0..rows)
                .filter(|r| a[r * width + j as usize] != 0.0)
                .count()
        };
        for (w, window) in order.chunks(TRANSPOSED_ORDER_WINDOW).enumerate() {
            let first = (w * TRANSPOSED_ORDER_WINDOW) as u32;
            let mut expected: Vec<u32> = (first..first + window.len() as u32).collect();
            expected.sort_by_key(|&j| count(j));
            assert_eq!(window, expected, "window {w}");
        }
    }

    #[test]
    fn every_row_appears_once_whatever_the_shape() {
        for (rows, width) in [(0, 5), (1, 1), (5, 3), (9, 64), (13, 130), (300, 7)] {
            let a: Vec<f32> = (0..rows * width)
                .map(|e| if e % 3 == 0 { 0.0 } else { e as f32 })
                .collect();
            let mut order = rows_grouped_by_zeros(&a, width);
            order.sort_unstable();
            assert_eq!(order, (0..rows as u32).collect::<Vec<_>>());
        }
    }
}
