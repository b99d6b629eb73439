//! Principal components by power iteration with deflation on the covariance matrix (computed
//! with sgemm): the PCA view of the codes.

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
    let mut cov: Vec<f64> = gemm(true, false, &centred, &centred, (d, d, n))
        .into_iter()
        .map(f64::from)
        .collect();
    let mut components: Vec<Vec<f64>> = Vec::new();
    for _ in 0..dims.min(d) {
        let mut v: Vec<f64> = (0..d).map(|i| 1.0 + i as f64 * 1e-3).collect();
        for _ in 0..300 {
            let mut w: Vec<f64> = (0..d)
                .map(|i| (0..d).map(|j| cov[i * d + j] * v[j]).sum())
                .collect();
            let norm = w.iter().map(|x| x * x).sum::<f64>().sqrt().max(1e-300);
            w.iter_mut().for_each(|x| *x /= norm);
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
