//! A small vector abstraction over the instruction sets the CPU kernels use.
//!
//! Each instruction set is a zero-sized marker type implementing [`Simd`]; the kernels are
//! generic `#[inline(always)]` functions over it, instantiated inside one
//! `#[target_feature]` entry point per instruction set (see `isa.rs`), so the intrinsics
//! inline into code compiled for that instruction set.
//!
//! Every operation is a plain IEEE single-precision operation, rounded to nearest even,
//! except [`Simd::fmadd`], which is fused where the instruction set has a fused
//! multiply-add (all but [`Scalar`]). Comparisons are ordered (false when either operand is
//! NaN). Nothing here is contracted or reassociated by the compiler: Rust emits no
//! fast-math flags.

/// One instruction set's `f32` vector operations.
///
/// # Safety
///
/// Every method is `unsafe`: the caller must run on a CPU with the instruction set (the
/// dispatch in `isa.rs` checks this at run time), and pointers must be valid for
/// [`Simd::LANES`] elements.
pub(crate) trait Simd: Copy {
    /// Lanes per vector.
    const LANES: usize;
    /// A vector of `LANES` `f32`.
    type V: Copy;
    /// A lane mask.
    type M: Copy;
    /// All lanes `+0.0`.
    unsafe fn zero() -> Self::V;
    /// All lanes `x`.
    unsafe fn splat(x: f32) -> Self::V;
    /// Loads `LANES` elements from `p` (no alignment needed).
    unsafe fn load(p: *const f32) -> Self::V;
    /// Stores `LANES` elements to `p` (no alignment needed).
    unsafe fn store(p: *mut f32, v: Self::V);
    /// `a + b`, rounded.
    unsafe fn add(a: Self::V, b: Self::V) -> Self::V;
    /// `a * b`, rounded.
    unsafe fn mul(a: Self::V, b: Self::V) -> Self::V;
    /// `a - b`, rounded.
    unsafe fn sub(a: Self::V, b: Self::V) -> Self::V;
    /// `a / b`, rounded.
    unsafe fn div(a: Self::V, b: Self::V) -> Self::V;
    /// `a * b + c`, rounded once where the instruction set has a fused multiply-add.
    unsafe fn fmadd(a: Self::V, b: Self::V, c: Self::V) -> Self::V;
    /// `a > b` (false for NaN).
    unsafe fn gt(a: Self::V, b: Self::V) -> Self::M;
    /// `a == b` (false for NaN; `+0 == -0`).
    unsafe fn eq(a: Self::V, b: Self::V) -> Self::M;
    /// Lanes that are NaN.
    unsafe fn nan(a: Self::V) -> Self::M;
    /// Union of two masks.
    unsafe fn or_mask(a: Self::M, b: Self::M) -> Self::M;
    /// `t` where `m` is set, else `f`.
    unsafe fn select(m: Self::M, t: Self::V, f: Self::V) -> Self::V;
    /// `t` where `m` is set, else `+0.0`.
    #[inline(always)]
    unsafe fn keep(m: Self::M, t: Self::V) -> Self::V {
        Self::select(m, t, Self::zero())
    }
    /// Bitwise and of the lanes' bit patterns.
    unsafe fn and_bits(a: Self::V, b: Self::V) -> Self::V;
    /// Bitwise or of the lanes' bit patterns.
    unsafe fn or_bits(a: Self::V, b: Self::V) -> Self::V;
    /// Hints that the cache line holding `p` will be used soon; `p` need not be valid.
    #[inline(always)]
    unsafe fn prefetch(p: *const f32) {
        let _ = p;
    }
    /// The first `n <= LANES` elements at `p`, the other lanes `+0.0`; reads nothing past
    /// `p + n` (so `p` need only be valid for `n` elements).
    #[inline(always)]
    unsafe fn load_first(p: *const f32, n: usize) -> Self::V {
        let mut buf = [0.0f32; 16];
        std::ptr::copy_nonoverlapping(p, buf.as_mut_ptr(), n);
        Self::load(buf.as_ptr())
    }
    /// Stores the first `n <= LANES` lanes of `v` at `p` and touches nothing past `p + n`.
    #[inline(always)]
    unsafe fn store_first(p: *mut f32, n: usize, v: Self::V) {
        let mut buf = [0.0f32; 16];
        Self::store(buf.as_mut_ptr(), v);
        std::ptr::copy_nonoverlapping(buf.as_ptr(), p, n);
    }
    /// The lanes of `a` and `b` interleaved, `[a0, b0, a1, b1, ..]`, as two vectors (the
    /// first holds the low halves).
    #[inline(always)]
    unsafe fn zip(a: Self::V, b: Self::V) -> (Self::V, Self::V) {
        let (mut x, mut y, mut z) = ([0.0f32; 16], [0.0f32; 16], [0.0f32; 32]);
        Self::store(x.as_mut_ptr(), a);
        Self::store(y.as_mut_ptr(), b);
        for l in 0..Self::LANES {
            z[2 * l] = x[l];
            z[2 * l + 1] = y[l];
        }
        (Self::load(z.as_ptr()), Self::load(z.as_ptr().add(Self::LANES)))
    }
}

/// Portable scalar code, one lane. `fmadd` is not fused here (a multiply then an add).
#[derive(Copy, Clone)]
pub(crate) struct Scalar;

impl Simd for Scalar {
    const LANES: usize = 1;
    type V = f32;
    type M = bool;
    #[inline(always)]
    unsafe fn zero() -> f32 {
        0.0
    }
    #[inline(always)]
    unsafe fn splat(x: f32) -> f32 {
        x
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> f32 {
        *p
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: f32) {
        *p = v;
    }
    #[inline(always)]
    unsafe fn add(a: f32, b: f32) -> f32 {
        a + b
    }
    #[inline(always)]
    unsafe fn mul(a: f32, b: f32) -> f32 {
        a * b
    }
    #[inline(always)]
    unsafe fn sub(a: f32, b: f32) -> f32 {
        a - b
    }
    #[inline(always)]
    unsafe fn div(a: f32, b: f32) -> f32 {
        a / b
    }
    #[inline(always)]
    unsafe fn fmadd(a: f32, b: f32, c: f32) -> f32 {
        // Not fused: a software fma would be far slower than the strict kernel.
        a * b + c
    }
    #[inline(always)]
    unsafe fn gt(a: f32, b: f32) -> bool {
        a > b
    }
    #[inline(always)]
    unsafe fn eq(a: f32, b: f32) -> bool {
        a == b
    }
    #[inline(always)]
    unsafe fn nan(a: f32) -> bool {
        a.is_nan()
    }
    #[inline(always)]
    unsafe fn or_mask(a: bool, b: bool) -> bool {
        a | b
    }
    #[inline(always)]
    unsafe fn select(m: bool, t: f32, f: f32) -> f32 {
        if m {
            t
        } else {
            f
        }
    }
    #[inline(always)]
    unsafe fn and_bits(a: f32, b: f32) -> f32 {
        f32::from_bits(a.to_bits() & b.to_bits())
    }
    #[inline(always)]
    unsafe fn or_bits(a: f32, b: f32) -> f32 {
        f32::from_bits(a.to_bits() | b.to_bits())
    }
}

#[cfg(target_arch = "x86_64")]
pub(crate) use x86::{Avx2, Avx512};

/// x86-64 vector types.
#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::Simd;
    use std::arch::x86_64::*;

    /// AVX2 with FMA: 8 lanes in a `ymm` register.
    #[derive(Copy, Clone)]
    pub(crate) struct Avx2;

    impl Simd for Avx2 {
        const LANES: usize = 8;
        type V = __m256;
        type M = __m256;
        #[inline(always)]
        unsafe fn zero() -> __m256 {
            _mm256_setzero_ps()
        }
        #[inline(always)]
        unsafe fn splat(x: f32) -> __m256 {
            _mm256_set1_ps(x)
        }
        #[inline(always)]
        unsafe fn load(p: *const f32) -> __m256 {
            _mm256_loadu_ps(p)
        }
        #[inline(always)]
        unsafe fn store(p: *mut f32, v: __m256) {
            _mm256_storeu_ps(p, v)
        }
        #[inline(always)]
        unsafe fn add(a: __m256, b: __m256) -> __m256 {
            _mm256_add_ps(a, b)
        }
        #[inline(always)]
        unsafe fn mul(a: __m256, b: __m256) -> __m256 {
            _mm256_mul_ps(a, b)
        }
        #[inline(always)]
        unsafe fn sub(a: __m256, b: __m256) -> __m256 {
            _mm256_sub_ps(a, b)
        }
        #[inline(always)]
        unsafe fn div(a: __m256, b: __m256) -> __m256 {
            _mm256_div_ps(a, b)
        }
        #[inline(always)]
        unsafe fn fmadd(a: __m256, b: __m256, c: __m256) -> __m256 {
            _mm256_fmadd_ps(a, b, c)
        }
        #[inline(always)]
        unsafe fn gt(a: __m256, b: __m256) -> __m256 {
            _mm256_cmp_ps::<_CMP_GT_OQ>(a, b)
        }
        #[inline(always)]
        unsafe fn eq(a: __m256, b: __m256) -> __m256 {
            _mm256_cmp_ps::<_CMP_EQ_OQ>(a, b)
        }
        #[inline(always)]
        unsafe fn nan(a: __m256) -> __m256 {
            _mm256_cmp_ps::<_CMP_UNORD_Q>(a, a)
        }
        #[inline(always)]
        unsafe fn or_mask(a: __m256, b: __m256) -> __m256 {
            _mm256_or_ps(a, b)
        }
        #[inline(always)]
        unsafe fn select(m: __m256, t: __m256, f: __m256) -> __m256 {
            _mm256_blendv_ps(f, t, m)
        }
        #[inline(always)]
        unsafe fn keep(m: __m256, t: __m256) -> __m256 {
            // A mask lane is all ones or all zeros: a bitwise and (no blend, which LLVM
            // may turn into a slow masked store when `t` lives in memory).
            _mm256_and_ps(m, t)
        }
        #[inline(always)]
        unsafe fn and_bits(a: __m256, b: __m256) -> __m256 {
            _mm256_and_ps(a, b)
        }
        #[inline(always)]
        unsafe fn or_bits(a: __m256, b: __m256) -> __m256 {
            _mm256_or_ps(a, b)
        }
        #[inline(always)]
        unsafe fn prefetch(p: *const f32) {
            _mm_prefetch::<_MM_HINT_T0>(p.cast::<i8>())
        }
        #[inline(always)]
        unsafe fn load_first(p: *const f32, n: usize) -> __m256 {
            _mm256_maskload_ps(p, first_lanes(n))
        }
        #[inline(always)]
        unsafe fn store_first(p: *mut f32, n: usize, v: __m256) {
            // Four, two and one lanes with plain stores: a masked store (`vmaskmovps`) is
            // microcoded and slow on some x86 cores (AMD's Zen among them).
            let (mut p, mut n, mut part) = (p, n, _mm256_castps256_ps128(v));
            if n >= 8 {
                _mm256_storeu_ps(p, v);
                return;
            }
            if n >= 4 {
                _mm_storeu_ps(p, part);
                part = _mm256_extractf128_ps::<1>(v);
                (p, n) = (p.add(4), n - 4);
            }
            if n >= 2 {
                _mm_storel_pd(p.cast::<f64>(), _mm_castps_pd(part));
                part = _mm_movehl_ps(part, part);
                (p, n) = (p.add(2), n - 2);
            }
            if n == 1 {
                _mm_store_ss(p, part);
            }
        }
        #[inline(always)]
        unsafe fn zip(a: __m256, b: __m256) -> (__m256, __m256) {
            // Within 128-bit halves: [a0 b0 a1 b1 | a4 b4 a5 b5] and [a2 b2 a3 b3 | a6 b6 a7 b7].
            let (lo, hi) = (_mm256_unpacklo_ps(a, b), _mm256_unpackhi_ps(a, b));
            (
                _mm256_permute2f128_ps(lo, hi, 0x20),
                _mm256_permute2f128_ps(lo, hi, 0x31),
            )
        }
    }

    /// AVX-512F: 16 lanes in a `zmm` register, masks in `k` registers.
    #[derive(Copy, Clone)]
    pub(crate) struct Avx512;

    impl Simd for Avx512 {
        const LANES: usize = 16;
        type V = __m512;
        type M = __mmask16;
        #[inline(always)]
        unsafe fn zero() -> __m512 {
            _mm512_setzero_ps()
        }
        #[inline(always)]
        unsafe fn splat(x: f32) -> __m512 {
            _mm512_set1_ps(x)
        }
        #[inline(always)]
        unsafe fn load(p: *const f32) -> __m512 {
            _mm512_loadu_ps(p)
        }
        #[inline(always)]
        unsafe fn store(p: *mut f32, v: __m512) {
            _mm512_storeu_ps(p, v)
        }
        #[inline(always)]
        unsafe fn add(a: __m512, b: __m512) -> __m512 {
            _mm512_add_ps(a, b)
        }
        #[inline(always)]
        unsafe fn mul(a: __m512, b: __m512) -> __m512 {
            _mm512_mul_ps(a, b)
        }
        #[inline(always)]
        unsafe fn sub(a: __m512, b: __m512) -> __m512 {
            _mm512_sub_ps(a, b)
        }
        #[inline(always)]
        unsafe fn div(a: __m512, b: __m512) -> __m512 {
            _mm512_div_ps(a, b)
        }
        #[inline(always)]
        unsafe fn fmadd(a: __m512, b: __m512, c: __m512) -> __m512 {
            _mm512_fmadd_ps(a, b, c)
        }
        #[inline(always)]
        unsafe fn gt(a: __m512, b: __m512) -> __mmask16 {
            _mm512_cmp_ps_mask::<_CMP_GT_OQ>(a, b)
        }
        #[inline(always)]
        unsafe fn eq(a: __m512, b: __m512) -> __mmask16 {
            _mm512_cmp_ps_mask::<_CMP_EQ_OQ>(a, b)
        }
        #[inline(always)]
        unsafe fn nan(a: __m512) -> __mmask16 {
            _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(a, a)
        }
        #[inline(always)]
        unsafe fn or_mask(a: __mmask16, b: __mmask16) -> __mmask16 {
            a | b
        }
        #[inline(always)]
        unsafe fn select(m: __mmask16, t: __m512, f: __m512) -> __m512 {
            // Takes the second vector where the mask bit is set.
            _mm512_mask_blend_ps(m, f, t)
        }
        #[inline(always)]
        unsafe fn and_bits(a: __m512, b: __m512) -> __m512 {
            // `_mm512_and_ps` needs AVX512DQ; the integer form is AVX512F.
            _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(a), _mm512_castps_si512(b)))
        }
        #[inline(always)]
        unsafe fn or_bits(a: __m512, b: __m512) -> __m512 {
            _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(a), _mm512_castps_si512(b)))
        }
        #[inline(always)]
        unsafe fn prefetch(p: *const f32) {
            _mm_prefetch::<_MM_HINT_T0>(p.cast::<i8>())
        }
        #[inline(always)]
        unsafe fn load_first(p: *const f32, n: usize) -> __m512 {
            _mm512_maskz_loadu_ps(((1u32 << n) - 1) as __mmask16, p)
        }
        #[inline(always)]
        unsafe fn store_first(p: *mut f32, n: usize, v: __m512) {
            _mm512_mask_storeu_ps(p, ((1u32 << n) - 1) as __mmask16, v)
        }
    }

    /// An AVX2 lane mask selecting lanes `0..n` (`n <= 8`): their sign bits set.
    #[inline(always)]
    unsafe fn first_lanes(n: usize) -> __m256i {
        _mm256_cmpgt_epi32(_mm256_set1_epi32(n as i32), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))
    }
}

#[cfg(target_arch = "aarch64")]
pub(crate) use arm::Neon;

/// AArch64 vector types.
#[cfg(target_arch = "aarch64")]
mod arm {
    use super::Simd;
    use std::arch::aarch64::*;

    /// NEON (Advanced SIMD): 4 lanes in a `v` register.
    #[derive(Copy, Clone)]
    pub(crate) struct Neon;

    impl Simd for Neon {
        const LANES: usize = 4;
        type V = float32x4_t;
        type M = uint32x4_t;
        #[inline(always)]
        unsafe fn zero() -> float32x4_t {
            vdupq_n_f32(0.0)
        }
        #[inline(always)]
        unsafe fn splat(x: f32) -> float32x4_t {
            vdupq_n_f32(x)
        }
        #[inline(always)]
        unsafe fn load(p: *const f32) -> float32x4_t {
            vld1q_f32(p)
        }
        #[inline(always)]
        unsafe fn store(p: *mut f32, v: float32x4_t) {
            vst1q_f32(p, v)
        }
        #[inline(always)]
        unsafe fn add(a: float32x4_t, b: float32x4_t) -> float32x4_t {
            vaddq_f32(a, b)
        }
        #[inline(always)]
        unsafe fn mul(a: float32x4_t, b: float32x4_t) -> float32x4_t {
            vmulq_f32(a, b)
        }
        #[inline(always)]
        unsafe fn sub(a: float32x4_t, b: float32x4_t) -> float32x4_t {
            vsubq_f32(a, b)
        }
        #[inline(always)]
        unsafe fn div(a: float32x4_t, b: float32x4_t) -> float32x4_t {
            vdivq_f32(a, b)
        }
        #[inline(always)]
        unsafe fn fmadd(a: float32x4_t, b: float32x4_t, c: float32x4_t) -> float32x4_t {
            // vfmaq_f32(c, a, b) = c + a * b, fused.
            vfmaq_f32(c, a, b)
        }
        #[inline(always)]
        unsafe fn gt(a: float32x4_t, b: float32x4_t) -> uint32x4_t {
            vcgtq_f32(a, b)
        }
        #[inline(always)]
        unsafe fn eq(a: float32x4_t, b: float32x4_t) -> uint32x4_t {
            vceqq_f32(a, b)
        }
        #[inline(always)]
        unsafe fn nan(a: float32x4_t) -> uint32x4_t {
            vmvnq_u32(vceqq_f32(a, a))
        }
        #[inline(always)]
        unsafe fn or_mask(a: uint32x4_t, b: uint32x4_t) -> uint32x4_t {
            vorrq_u32(a, b)
        }
        #[inline(always)]
        unsafe fn select(m: uint32x4_t, t: float32x4_t, f: float32x4_t) -> float32x4_t {
            vbslq_f32(m, t, f)
        }
        #[inline(always)]
        unsafe fn and_bits(a: float32x4_t, b: float32x4_t) -> float32x4_t {
            vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(a), vreinterpretq_u32_f32(b)))
        }
        #[inline(always)]
        unsafe fn or_bits(a: float32x4_t, b: float32x4_t) -> float32x4_t {
            vreinterpretq_f32_u32(vorrq_u32(vreinterpretq_u32_f32(a), vreinterpretq_u32_f32(b)))
        }
    }
}

/// Defines `unsafe fn NAME(isa: Isa, ARGS..)`, which runs the generic
/// `GENERIC::<Avx2>(ARGS..)` compiled for AVX2 and FMA where `isa` is AVX2 or AVX-512
/// (x86-64), and `GENERIC::<Scalar>(ARGS..)` elsewhere: the one run-time dispatch of a
/// kernel generic over [`Simd`]. The caller promises `isa` runs here and whatever the
/// generic function asks of its arguments.
macro_rules! simd_dispatch {
    ($(#[$attr:meta])* $vis:vis unsafe fn $name:ident($($arg:ident: $ty:ty),* $(,)?) => $generic:ident) => {
        $(#[$attr])*
        #[allow(clippy::too_many_arguments)]
        $vis unsafe fn $name(isa: $crate::cpu::Isa, $($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            if matches!(isa, $crate::cpu::Isa::Avx2 | $crate::cpu::Isa::Avx512) {
                #[target_feature(enable = "avx2,fma")]
                unsafe fn avx2($($arg: $ty),*) {
                    $generic::<$crate::cpu::simd::Avx2>($($arg),*)
                }
                return avx2($($arg),*);
            }
            let _ = isa;
            $generic::<$crate::cpu::simd::Scalar>($($arg),*)
        }
    };
}
pub(crate) use simd_dispatch;
