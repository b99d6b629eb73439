//! What the CPU offers beyond plain Rust: loops compiled for its vector units (chosen at run
//! time), and cache prefetch hints.

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

/// Asks the cache for the lines of the non-empty range `start..end` (a hint: it reads
/// nothing and never faults, so the range may be one another thread is writing).
pub fn prefetch<T>(std::ops::Range { start, end }: std::ops::Range<*const T>) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // SAFETY: a prefetch of any address is allowed; it only warms the cache.
        unsafe {
            _mm_prefetch::<_MM_HINT_T0>(start.cast());
            _mm_prefetch::<_MM_HINT_T0>(end.cast::<u8>().wrapping_sub(1).cast());
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (start, end);
}
