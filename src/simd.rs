//! What the CPU offers beyond plain Rust: loops compiled for its vector units (chosen at run
//! time), and cache prefetch hints.

/// Defines a function whose body is compiled for AVX2 and FMA when the CPU has them (chosen
/// at run time), else as it is: its loops use 8-wide vectors and `mul_add` is one
/// instruction. Rust never fuses a multiply and an add by itself, so the results are the same
/// bits either way. The body is a function marked `inline(always)` inside one built with the
/// features, so it is compiled for them whatever the optimiser decides (a closure handed to
/// such a function was not always inlined into it: `mul_add` then became a library call,
/// 25x slower). Arguments are plain names; the return type must not borrow.
macro_rules! fast_fn {
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block) => {
        $(#[$meta])*
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            fn portable($($arg: $ty),*) $(-> $ret)? $body
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2,fma")]
            unsafe fn avx2_fma($($arg: $ty),*) $(-> $ret)? {
                portable($($arg),*)
            }
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                // SAFETY: the CPU has AVX2 and FMA, checked just above.
                return unsafe { avx2_fma($($arg),*) };
            }
            portable($($arg),*)
        }
    };
}
pub(crate) use fast_fn;

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
