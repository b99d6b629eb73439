//! Twin of shaders/reduce.wgsl.

/// Sum of each column of a rows x cols matrix.
pub fn column_sums(matrix: &[f32], cols: usize) -> Vec<f32> {
    let mut sums = vec![0.0f32; cols];
    for row in matrix.chunks(cols) {
        for (s, x) in sums.iter_mut().zip(row) {
            *s += x;
        }
    }
    sums
}
