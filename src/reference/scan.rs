//! Twin of shaders/scan.wgsl: exclusive prefix sums of u32 counts.

/// The n + 1 exclusive prefix sums of `values`: `out[i] = values[0] + ... + values[i - 1]`, and
/// `out[n]` the total.
pub fn exclusive_scan(values: &[u32]) -> Vec<u32> {
    let mut out = Vec::with_capacity(values.len() + 1);
    let mut sum = 0u32;
    out.push(0);
    for &v in values {
        sum += v;
        out.push(sum);
    }
    out
}
