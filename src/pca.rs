//! Principal components by power iteration with deflation: on the covariance matrix (computed
//! with sgemm) for codes of up to `COVARIANCE_MAX_D` values, on the points themselves for wider
//! ones, whose d x d covariance would cost d^2 memory and time: the PCA view of the codes.

use crate::reference::gemm;

/// The n x d `points`, centred, projected on their first `dims` principal components
/// (n x dims, row-major).
pub fn project(points: &[f32], n: usize, d: usize, dims: usize) -> Vec<f32> {
    let mut mean = vec![0.0f64; d];
    for row in points.chunks(d) {
        for (m, &v) in mean.iter_mut().zip(row) {
            *m += f64::from(v) / n as f64;
        }
    }
    let centred: Vec<f32> = points
        .chunks(d)
        .flat_map(|row| {
            row.iter()
                .zip(&mean)
                .map(|(&v, &m)| (f64::from(v) - m) as f32)
        })
        .collect();
    let components = if d <= COVARIANCE_MAX_D {
        components_of_covariance(&centred, n, d, dims)
    } else {
        components_of_points(&centred, d, dims)
    };
    let components = &components;
    centred
        .chunks(d)
        .flat_map(|row| {
            (0..dims).map(move |c| match components.get(c) {
                Some(comp) => row
                    .iter()
                    .zip(comp)
                    .map(|(&v, &w)| f64::from(v) * w)
                    .sum::<f64>() as f32,
                None => 0.0,
            })
        })
        .collect()
}

/// The widest codes whose covariance matrix is formed (d^2 values, 300 products with it per
/// component).
const COVARIANCE_MAX_D: usize = 1024;

/// Power iterations per component.
const ITERATIONS: usize = 300;

fn start(d: usize) -> Vec<f64> {
    (0..d).map(|i| 1.0 + i as f64 * 1e-3).collect()
}

fn normalise(w: &mut [f64]) {
    let norm = w.iter().map(|x| x * x).sum::<f64>().sqrt().max(1e-300);
    w.iter_mut().for_each(|x| *x /= norm);
}

/// The first `dims` components from the covariance of the n x d `centred` points.
fn components_of_covariance(centred: &[f32], n: usize, d: usize, dims: usize) -> Vec<Vec<f64>> {
    let mut cov: Vec<f64> = gemm(true, false, centred, centred, (d, d, n))
        .into_iter()
        .map(f64::from)
        .collect();
    let mut components: Vec<Vec<f64>> = Vec::new();
    for _ in 0..dims.min(d) {
        let mut v = start(d);
        for _ in 0..ITERATIONS {
            let mut w: Vec<f64> = (0..d)
                .map(|i| (0..d).map(|j| cov[i * d + j] * v[j]).sum())
                .collect();
            normalise(&mut w);
            v = w;
        }
        let lambda: f64 = (0..d)
            .map(|i| v[i] * (0..d).map(|j| cov[i * d + j] * v[j]).sum::<f64>())
            .sum();
        for i in 0..d {
            for j in 0..d {
                cov[i * d + j] -= lambda * v[i] * v[j];
            }
        }
        components.push(v);
    }
    components
}

/// The first `dims` components from the n x d `centred` points themselves: each iteration
/// multiplies by X^T X as two products with X, and removes the components found before.
fn components_of_points(centred: &[f32], d: usize, dims: usize) -> Vec<Vec<f64>> {
    let mut components: Vec<Vec<f64>> = Vec::new();
    for _ in 0..dims.min(d) {
        let mut v = start(d);
        for _ in 0..ITERATIONS {
            let mut w = vec![0.0f64; d];
            for row in centred.chunks(d) {
                let u: f64 = row.iter().zip(&v).map(|(&x, &v)| f64::from(x) * v).sum();
                for (w, &x) in w.iter_mut().zip(row) {
                    *w += f64::from(x) * u;
                }
            }
            for c in &components {
                let along: f64 = w.iter().zip(c).map(|(w, c)| w * c).sum();
                w.iter_mut().zip(c).for_each(|(w, c)| *w -= along * c);
            }
            normalise(&mut w);
            v = w;
        }
        components.push(v);
    }
    components
}
