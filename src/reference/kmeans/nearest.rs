//! The CPU twin of `assign` in kmeans.wgsl, fast: every point's nearest centroid and squared
//! distance, with the kernel's arithmetic exactly. Each distance is one chain over the
//! dimensions in order (diff = x - c, acc = acc + diff * diff, the product rounded on its
//! own, never an fma); a chain is latency bound, so many run side by side: the SIMD lanes
//! hold 16 centroids (stored dimension-major in blocks of 16: one AVX-512 vector, or two
//! AVX2 vectors, where the CPU has them), and 4 points go through each block together. Every
//! lane still runs its own chain in the kernel's order, so the results are bit for bit those
//! of the plain loop.

use rayon::prelude::*;

/// Centroids per block: one SIMD lane each (k = 10 fits one block).
const LANES: usize = 16;
/// Points that share a pass over a block.
const GROUP: usize = 4;

/// The centroids in blocks of `LANES`, dimension-major within a block
/// (`data[(block * d + j) * LANES + lane]`), zero past the last centroid.
pub struct CentroidBlocks {
    d: usize,
    k: usize,
    data: Vec<f32>,
}

impl CentroidBlocks {
    pub fn new(centroids: &[f32], d: usize) -> Self {
        let k = centroids.len() / d;
        let blocks = k.div_ceil(LANES);
        let mut data = vec![0.0; blocks * d * LANES];
        for (c, centroid) in centroids.chunks(d).enumerate() {
            let (block, lane) = (c / LANES, c % LANES);
            for (j, &v) in centroid.iter().enumerate() {
                data[(block * d + j) * LANES + lane] = v;
            }
        }
        CentroidBlocks { d, k, data }
    }
}

/// Nearest centroid (ties to the lower index; 0 with distance 3.4e38 when every distance is
/// larger) and squared distance of every point of `points` (n x d).
pub fn nearest_centroids(points: &[f32], centroids: &CentroidBlocks) -> (Vec<u32>, Vec<f32>) {
    let d = centroids.d;
    let per_task = GROUP * 64;
    let parts: Vec<(Vec<u32>, Vec<f32>)> = points
        .par_chunks(per_task * d)
        .map(|part| {
            let mut labels = Vec::with_capacity(part.len() / d);
            let mut distances = Vec::with_capacity(part.len() / d);
            nearest_of_part(part, centroids, &mut labels, &mut distances);
            (labels, distances)
        })
        .collect();
    let mut labels = Vec::with_capacity(points.len() / d);
    let mut distances = Vec::with_capacity(points.len() / d);
    for (l, dist) in parts {
        labels.extend(l);
        distances.extend(dist);
    }
    (labels, distances)
}

/// The vector units `block_distances` can use.
#[derive(Clone, Copy, PartialEq)]
enum Vectors {
    #[cfg(target_arch = "x86_64")]
    Avx512,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    Plain,
}

impl Vectors {
    fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                return Vectors::Avx512;
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                return Vectors::Avx2;
            }
        }
        Vectors::Plain
    }
}

fn nearest_of_part(
    part: &[f32],
    centroids: &CentroidBlocks,
    labels: &mut Vec<u32>,
    distances: &mut Vec<f32>,
) {
    let d = centroids.d;
    let vectors = Vectors::detect();
    for group in part.chunks(GROUP * d) {
        let count = group.len() / d;
        let mut best = [(0u32, 3.4e38f32); GROUP];
        for (b, block) in centroids.data.chunks(d * LANES).enumerate() {
            let in_block = (centroids.k - b * LANES).min(LANES);
            let acc = match vectors {
                // SAFETY: the CPU has the features (detected above); the group holds GROUP
                // points of d values and the block d rows of LANES values.
                #[cfg(target_arch = "x86_64")]
                Vectors::Avx512 if count == GROUP => unsafe {
                    block_distances_avx512(group, block, d)
                },
                #[cfg(target_arch = "x86_64")]
                Vectors::Avx2 if count == GROUP && in_block <= LANES / 2 => unsafe {
                    block_distances_avx2::<1>(group, block, d)
                },
                #[cfg(target_arch = "x86_64")]
                Vectors::Avx2 if count == GROUP => unsafe {
                    block_distances_avx2::<2>(group, block, d)
                },
                _ => block_distances(group, block, d, count),
            };
            for (best, acc) in best.iter_mut().zip(&acc).take(count) {
                for (lane, &dist) in acc.iter().enumerate().take(in_block) {
                    if dist < best.1 {
                        *best = ((b * LANES + lane) as u32, dist);
                    }
                }
            }
        }
        for &(label, dist) in best.iter().take(count) {
            labels.push(label);
            distances.push(dist);
        }
    }
}

/// The squared distances of the first `count` points of `group` to the block's centroids.
fn block_distances(group: &[f32], block: &[f32], d: usize, count: usize) -> [[f32; LANES]; GROUP] {
    let mut acc = [[0.0f32; LANES]; GROUP];
    for (p, acc) in acc.iter_mut().enumerate().take(count) {
        for j in 0..d {
            let x = group[p * d + j];
            for (lane, acc) in acc.iter_mut().enumerate() {
                let diff = x - block[j * LANES + lane];
                *acc += diff * diff;
            }
        }
    }
    acc
}

/// `block_distances` for a full group, H AVX2 vectors per point (the block's first H halves;
/// the lanes of the others stay zero): lane l of point p runs p's chain against centroid l,
/// in the same order and with the same roundings.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn block_distances_avx2<const H: usize>(
    group: &[f32],
    block: &[f32],
    d: usize,
) -> [[f32; LANES]; GROUP] {
    use std::arch::x86_64::*;
    const HALF: usize = LANES / 2;
    assert!(H <= 2 && group.len() >= GROUP * d && block.len() >= d * LANES);
    let mut acc = [[_mm256_setzero_ps(); H]; GROUP];
    for j in 0..d {
        let mut c = [_mm256_setzero_ps(); H];
        for (h, c) in c.iter_mut().enumerate() {
            // SAFETY: j < d and h < H <= 2, so the half j * LANES + h * HALF .. + HALF is
            // inside the block (asserted).
            *c = unsafe { _mm256_loadu_ps(block.as_ptr().add(j * LANES + h * HALF)) };
        }
        for (p, acc) in acc.iter_mut().enumerate() {
            let x = _mm256_set1_ps(group[p * d + j]);
            for (acc, c) in acc.iter_mut().zip(c) {
                let diff = _mm256_sub_ps(x, c);
                *acc = _mm256_add_ps(*acc, _mm256_mul_ps(diff, diff));
            }
        }
    }
    let mut out = [[0.0f32; LANES]; GROUP];
    for (out, acc) in out.iter_mut().zip(acc) {
        for (half, acc) in out.chunks_exact_mut(HALF).zip(acc) {
            // SAFETY: `half` holds HALF floats, one AVX2 vector.
            unsafe { _mm256_storeu_ps(half.as_mut_ptr(), acc) };
        }
    }
    out
}

/// `block_distances` for a full group, one AVX-512 vector per point, as the AVX2 version.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn block_distances_avx512(group: &[f32], block: &[f32], d: usize) -> [[f32; LANES]; GROUP] {
    use std::arch::x86_64::*;
    assert!(group.len() >= GROUP * d && block.len() >= d * LANES);
    let mut acc = [_mm512_setzero_ps(); GROUP];
    for j in 0..d {
        // SAFETY: j < d, so the row j * LANES .. + LANES is inside the block (asserted).
        let c = unsafe { _mm512_loadu_ps(block.as_ptr().add(j * LANES)) };
        for (p, acc) in acc.iter_mut().enumerate() {
            let diff = _mm512_sub_ps(_mm512_set1_ps(group[p * d + j]), c);
            *acc = _mm512_add_ps(*acc, _mm512_mul_ps(diff, diff));
        }
    }
    let mut out = [[0.0f32; LANES]; GROUP];
    for (out, acc) in out.iter_mut().zip(acc) {
        // SAFETY: `out` holds LANES floats, one AVX-512 vector.
        unsafe { _mm512_storeu_ps(out.as_mut_ptr(), acc) };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every vector kernel this CPU has gives the plain loop's bits.
    #[test]
    fn vector_kernels_give_the_plain_bits() {
        let mut state = 0x9e37_79b9_u32;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 8) as f32 / (1 << 24) as f32 * 8.0 - 4.0
        };
        for d in [1, 3, 32, 784] {
            let group: Vec<f32> = (0..GROUP * d).map(|_| next()).collect();
            let block: Vec<f32> = (0..LANES * d).map(|_| next()).collect();
            let plain = block_distances(&group, &block, d, GROUP);
            let bits = |acc: [[f32; LANES]; GROUP]| acc.map(|row| row.map(f32::to_bits));
            #[cfg(target_arch = "x86_64")]
            {
                if std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: the CPU has AVX2; the sizes are those the kernel asserts.
                    let avx2 = unsafe { block_distances_avx2::<2>(&group, &block, d) };
                    assert_eq!(bits(avx2), bits(plain), "AVX2, d = {d}");
                    // SAFETY: as above.
                    let half = unsafe { block_distances_avx2::<1>(&group, &block, d) };
                    let low =
                        |acc: [[f32; LANES]; GROUP]| bits(acc).map(|r| r[..LANES / 2].to_vec());
                    assert_eq!(low(half), low(plain), "AVX2, first half, d = {d}");
                }
                if std::arch::is_x86_feature_detected!("avx512f") {
                    // SAFETY: the CPU has AVX-512F; the sizes are those the kernel asserts.
                    let avx512 = unsafe { block_distances_avx512(&group, &block, d) };
                    assert_eq!(bits(avx512), bits(plain), "AVX-512, d = {d}");
                }
            }
        }
    }
}
