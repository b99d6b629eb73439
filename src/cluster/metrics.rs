//! Scores of a clustering against true labels (never used to fit): accuracy after the best
//! one-to-one matching of clusters to labels (Hungarian), NMI and ARI.

use pathfinding::kuhn_munkres::kuhn_munkres;
use pathfinding::matrix::Matrix;

use crate::data::NO_LABEL;

/// `counts[c][l]`: how many samples of cluster c carry label l. Samples without a label
/// ([`NO_LABEL`]) are left out, here and so in every score.
pub fn contingency(clusters: &[u32], labels: &[u8]) -> Vec<Vec<u64>> {
    let k = clusters.iter().max().map_or(0, |&c| c as usize + 1);
    let classes = labels
        .iter()
        .filter(|&&l| l != NO_LABEL)
        .max()
        .map_or(0, |&l| l as usize + 1);
    let mut counts = vec![vec![0u64; classes]; k];
    for (&c, &l) in clusters.iter().zip(labels) {
        if l != NO_LABEL {
            counts[c as usize][l as usize] += 1;
        }
    }
    counts
}

/// The samples the scores count: those with a label.
fn scored(counts: &[Vec<u64>]) -> u64 {
    counts.iter().flatten().sum()
}

/// The fraction of samples whose cluster maps to their label under the matching of clusters
/// to labels that maximises it (unmatched clusters count as wrong).
pub fn accuracy(clusters: &[u32], labels: &[u8]) -> f64 {
    let counts = contingency(clusters, labels);
    let size = counts.len().max(counts.first().map_or(0, Vec::len));
    if size == 0 {
        return 0.0;
    }
    let weights = Matrix::from_fn(size, size, |(c, l)| {
        counts
            .get(c)
            .and_then(|row| row.get(l))
            .map_or(0, |&v| v as i64)
    });
    let (matched, _) = kuhn_munkres(&weights);
    matched as f64 / scored(&counts).max(1) as f64
}

fn entropy(sizes: impl Iterator<Item = u64>, n: f64) -> f64 {
    sizes
        .filter(|&s| s > 0)
        .map(|s| {
            let p = s as f64 / n;
            -p * p.ln()
        })
        .sum()
}

/// Normalised mutual information, arithmetic-mean normalisation (scikit-learn's default).
pub fn nmi(clusters: &[u32], labels: &[u8]) -> f64 {
    let counts = contingency(clusters, labels);
    let n = scored(&counts) as f64;
    let rows: Vec<u64> = counts.iter().map(|r| r.iter().sum()).collect();
    let cols: Vec<u64> = (0..counts.first().map_or(0, Vec::len))
        .map(|l| counts.iter().map(|r| r[l]).sum())
        .collect();
    let mut mi = 0.0;
    for (c, row) in counts.iter().enumerate() {
        for (l, &v) in row.iter().enumerate() {
            if v > 0 {
                let v = v as f64;
                mi += v / n * (v * n / (rows[c] as f64 * cols[l] as f64)).ln();
            }
        }
    }
    let (hc, hl) = (entropy(rows.into_iter(), n), entropy(cols.into_iter(), n));
    if hc == 0.0 && hl == 0.0 {
        return 1.0;
    }
    let denominator = (hc + hl) / 2.0;
    if denominator == 0.0 {
        0.0
    } else {
        (mi / denominator).max(0.0)
    }
}

fn pairs(x: u64) -> f64 {
    let x = x as f64;
    x * (x - 1.0) / 2.0
}

/// Adjusted Rand index.
pub fn ari(clusters: &[u32], labels: &[u8]) -> f64 {
    let counts = contingency(clusters, labels);
    let n = scored(&counts);
    let index: f64 = counts.iter().flatten().map(|&v| pairs(v)).sum();
    let rows: f64 = counts.iter().map(|r| pairs(r.iter().sum())).sum();
    let cols: f64 = (0..counts.first().map_or(0, Vec::len))
        .map(|l| pairs(counts.iter().map(|r| r[l]).sum()))
        .sum();
    let expected = rows * cols / pairs(n);
    let max = (rows + cols) / 2.0;
    if max == expected {
        return 1.0;
    }
    (index - expected) / (max - expected)
}
