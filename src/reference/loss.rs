//! Twin of shaders/loss.wgsl: fused sigmoid + binary cross-entropy, and mean squared error.

use super::matmul::sigmoid;

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
