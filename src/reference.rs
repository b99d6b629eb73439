//! The CPU twin of every WGSL kernel, on unpadded row-major matrices: the same formulas in the
//! same precision (f32), used as the oracle of the shader tests.

use crate::gpu::kernels::AdamConfig;

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
    (m, n, k): (usize, usize, usize),
    c: &mut [f32],
) {
    assert_eq!(a.len(), m * k, "gemm: A has the wrong size");
    assert_eq!(b.len(), k * n, "gemm: B has the wrong size");
    assert_eq!(c.len(), m * n, "gemm: C has the wrong size");
    let (rsa, csa) = if trans_a { (1, m) } else { (k, 1) };
    let (rsb, csb) = if trans_b { (1, k) } else { (n, 1) };
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
    for (g, &a) in grad.iter_mut().zip(mask) {
        if a <= 0.0 {
            *g = 0.0;
        }
    }
}

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

/// Rows `order[first..first + rows]` of u8 images of `width` pixels, scaled by 1/255.
pub fn gather(pixels: &[u8], width: usize, order: &[u32], first: usize, rows: usize) -> Vec<f32> {
    order[first..first + rows]
        .iter()
        .flat_map(|&i| {
            let i = i as usize;
            pixels[i * width..(i + 1) * width]
                .iter()
                .map(|&p| f32::from(p) / 255.0)
        })
        .collect()
}

/// Keras's clipping of predictions for the loss value.
pub const BCE_EPSILON: f32 = 1e-7;

/// Sigmoid + binary cross-entropy of rows x `width` logits. Writes dL/dlogits of the mean
/// loss over a batch of `batch_rows` rows (this block may be a part of that batch) into
/// `grad` and returns each row's mean loss, NaN where a logit is NaN or infinite (as the
/// shader does).
pub fn bce_sigmoid(
    logits: &[f32],
    targets: &[f32],
    width: usize,
    batch_rows: usize,
    grad: &mut [f32],
) -> Vec<f32> {
    let scale = 1.0 / (batch_rows as f32 * width as f32);
    row_losses((logits, targets), width, grad, |z, t| {
        let p = sigmoid(z);
        let q = p.clamp(BCE_EPSILON, 1.0 - BCE_EPSILON);
        ((p - t) * scale, -(t * q.ln() + (1.0 - t) * (1.0 - q).ln()))
    })
}

/// Mean squared error of rows x `width` linear outputs, with the gradient and per-row losses
/// as `bce_sigmoid` gives them (NaN where an output is NaN or infinite).
pub fn mse(
    outputs: &[f32],
    targets: &[f32],
    width: usize,
    batch_rows: usize,
    grad: &mut [f32],
) -> Vec<f32> {
    let scale = 2.0 / (batch_rows as f32 * width as f32);
    row_losses((outputs, targets), width, grad, |y, t| {
        let e = y - t;
        (e * scale, e * e)
    })
}

/// Each row's mean of `element(output, target)`'s loss, its gradient written into `grad`;
/// NaN for a row that holds a NaN or infinite output.
fn row_losses(
    (outputs, targets): (&[f32], &[f32]),
    width: usize,
    grad: &mut [f32],
    element: impl Fn(f32, f32) -> (f32, f32),
) -> Vec<f32> {
    outputs
        .chunks(width)
        .zip(targets.chunks(width))
        .zip(grad.chunks_mut(width))
        .map(|((y_row, t_row), g_row)| {
            let mut sum = 0.0f32;
            for ((&y, &t), g) in y_row.iter().zip(t_row).zip(g_row) {
                let (gradient, loss) = element(y, t);
                *g = gradient;
                sum += loss;
            }
            if y_row.iter().all(|y| y.is_finite()) {
                sum / width as f32
            } else {
                f32::NAN
            }
        })
        .collect()
}

/// One Adam step (Keras formula) with the bias-corrected rate `lr_t`. Returns false when a
/// parameter or moment became NaN or infinite.
#[must_use]
pub fn adam(
    params: &mut [f32],
    grads: &[f32],
    m: &mut [f32],
    v: &mut [f32],
    config: &AdamConfig,
    lr_t: f32,
) -> bool {
    crate::simd::fast(|| {
        let moments = m.iter_mut().zip(v.iter_mut());
        let mut finite = true;
        for ((p, &g), (m, v)) in params.iter_mut().zip(grads).zip(moments) {
            *m += (g - *m) * (1.0 - config.beta1);
            *v += (g * g - *v) * (1.0 - config.beta2);
            *p -= lr_t * *m / (v.sqrt() + config.epsilon);
            finite &= p.is_finite() && m.is_finite() && v.is_finite();
        }
        finite
    })
}
