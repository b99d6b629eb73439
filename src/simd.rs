//! Plain loops compiled for the CPU's vector units, chosen at run time.

/// Runs `f` compiled for AVX2 and FMA when the CPU has them, else as it is: its body is
/// inlined into a function built with those features, so its loops use 8-wide vectors and
/// `mul_add` is one instruction. Rust never fuses a multiply and an add by itself, so the
/// results are the same bits either way.
#[inline(always)]
pub fn fast<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU has AVX2 and FMA, checked just above.
        return unsafe { avx2_fma(f) };
    }
    f()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn avx2_fma<R>(f: impl FnOnce() -> R) -> R {
    f()
}
