//! Twin of shaders/dec*.wgsl: DEC's clustering loss on codes against fixed centres (the
//! shaders' header gives the formulas), in the shaders' order of operations.

/// The Student-t kernel of `code` to centre `j` of the k x d `centres`.
fn kernel_to(code: &[f32], centres: &[f32], j: usize) -> f32 {
    let d = code.len();
    let centre = &centres[j * d..(j + 1) * d];
    let distance = code
        .iter()
        .zip(centre)
        .fold(0.0f32, |sum, (z, c)| sum + (z - c) * (z - c));
    1.0 / (1.0 + distance)
}

fn kernel_sum(code: &[f32], centres: &[f32], k: usize) -> f32 {
    (0..k).fold(0.0f32, |sum, j| sum + kernel_to(code, centres, j))
}

/// The soft assignments (rows x k) of rows x d `codes` to the k x d `centres`.
pub fn soft_assign(codes: &[f32], centres: &[f32], k: usize, d: usize) -> Vec<f32> {
    codes
        .chunks(d)
        .flat_map(|code| {
            let sum = kernel_sum(code, centres, k);
            (0..k).map(move |j| kernel_to(code, centres, j) / sum)
        })
        .collect()
}

/// Each centre's mass, the column sums of the n x k `soft`, summed as shaders/dec_mass.wgsl
/// does: 64 lanes each over every 64th row, then the lanes in halves.
pub fn cluster_mass(soft: &[f32], k: usize) -> Vec<f32> {
    let rows = soft.len() / k;
    (0..k)
        .map(|j| {
            let mut partial: Vec<f32> = (0..64)
                .map(|lane| {
                    (lane..rows)
                        .step_by(64)
                        .fold(0.0f32, |s, r| s + soft[r * k + j])
                })
                .collect();
            let mut half = 32;
            while half > 0 {
                for lane in 0..half {
                    partial[lane] += partial[lane + half];
                }
                half /= 2;
            }
            partial[0]
        })
        .collect()
}

/// s^2 / f, zero for a centre without mass.
fn target_weight(soft_row: &[f32], mass: &[f32], j: usize) -> f32 {
    if mass[j] <= 0.0 {
        0.0
    } else {
        soft_row[j] * soft_row[j] / mass[j]
    }
}

/// The refreshed assignments and masses a batch's targets come from.
#[derive(Clone, Copy)]
pub struct DecTargets<'a> {
    /// n x k soft assignments of every sample at the last refresh.
    pub soft: &'a [f32],
    /// Their column sums.
    pub mass: &'a [f32],
    pub centres: &'a [f32],
}

/// Each row's loss KL(p || q) (NaN when its code is not finite), and dL/dz of the mean over a
/// batch of `batch_rows` rows (this block may be a part of it) into `grad`, for rows x d
/// `codes` of the samples `samples`; each row's coefficients 2 t_j (p_j - q_j) / batch_rows
/// into `coefficients` (rows x k), for `centre_grad`.
pub fn dec_loss(
    codes: &[f32],
    samples: &[u32],
    targets: DecTargets<'_>,
    batch_rows: usize,
    (grad, coefficients): (&mut [f32], &mut [f32]),
) -> Vec<f32> {
    let k = targets.mass.len();
    let d = targets.centres.len() / k;
    let scale = 2.0 / batch_rows as f32;
    codes
        .chunks(d)
        .zip(grad.chunks_mut(d))
        .zip(coefficients.chunks_mut(k))
        .zip(samples)
        .map(|(((code, g), row_coefficients), &sample)| {
            let soft_row = &targets.soft[sample as usize * k..(sample as usize + 1) * k];
            let weights = (0..k).fold(0.0f32, |s, j| s + target_weight(soft_row, targets.mass, j));
            let kernels = kernel_sum(code, targets.centres, k);
            g.fill(0.0);
            let mut loss = 0.0f32;
            for (j, coefficient_out) in row_coefficients.iter_mut().enumerate() {
                let t = kernel_to(code, targets.centres, j);
                let q = t / kernels;
                let p = target_weight(soft_row, targets.mass, j) / weights;
                if p > 0.0 {
                    loss += p * (p / q).ln();
                }
                let coefficient = scale * t * (p - q);
                *coefficient_out = coefficient;
                let centre = &targets.centres[j * d..(j + 1) * d];
                for ((g, z), c) in g.iter_mut().zip(code).zip(centre) {
                    *g += coefficient * (z - c);
                }
            }
            if code.iter().all(|z| z.is_finite()) {
                loss
            } else {
                f32::NAN
            }
        })
        .collect()
}

/// The centres' gradient (k x d) from rows x d `codes` and their `coefficients` (rows x k),
/// each value summed over the rows in order, as shaders/dec_centres.wgsl does.
pub fn centre_grad(codes: &[f32], coefficients: &[f32], centres: &[f32], k: usize) -> Vec<f32> {
    let d = centres.len() / k;
    (0..k * d)
        .map(|i| {
            let (j, dim) = (i / d, i % d);
            let sum = codes
                .chunks(d)
                .zip(coefficients.chunks(k))
                .fold(0.0f32, |sum, (code, c)| {
                    sum + c[j] * (code[dim] - centres[i])
                });
            -sum
        })
        .collect()
}
