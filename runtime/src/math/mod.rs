//! The project's own transcendental functions: the numerics contract of the reference
//! backend.
//!
//! # Contract
//!
//! The reference interpreter defines the exact bits every backend must reproduce in
//! `strict` mode, on every machine. So these functions never call the platform's libm or
//! the `std` transcendental methods (`f64::exp`, `ln`, `sin`, `powf`, ...), whose results
//! differ between platforms and library versions. They use only:
//!
//! - IEEE-754 binary64 `+ - * /` and `sqrt`, all correctly rounded, in round-to-nearest-even,
//!   each rounded separately: **no fused multiply-add anywhere** (Rust never contracts
//!   `a * b + c`, and no `mul_add` is called), every polynomial is an explicit Horner loop;
//! - comparisons, sign manipulation (`abs`, `copysign`), bit manipulation and exact integer
//!   arithmetic (`u64`/`u128`, for the large-argument reduction of `sin`/`cos`/`tan`);
//! - the conversions `f32 as f64` (exact), `f64 as f32` (one correct rounding) and exact
//!   integer/float conversions.
//!
//! Given those, the results are a pure function of the input bits, identical on every
//! platform that evaluates `f64` operations in binary64 with subnormals kept (all Rust
//! targets with SSE2 or a scalar IEEE FPU; not x87 extended precision, and not an
//! environment that flushes subnormals to zero). A backend reproduces them by performing the
//! same operations in the same order; the sources here are that order. Note that the `f32`
//! functions are defined through binary64 arithmetic too, so a device without `f64` has to
//! emulate it (for instance as pairs of `f32`) to match them bit for bit.
//!
//! # Precision
//!
//! Every function is computed in `f64`, with double-double ("dd") arithmetic
//! (the private `dd` module) where a result would otherwise lose bits to cancellation or
//! to amplification (`pow`, the hyperbolic inverses, argument reduction). The `f64`
//! functions are accurate to below 1 ulp (measured at most 0.54 ulp against 200-bit
//! references) over their whole domain, including
//! arguments near zero (relative accuracy) and huge arguments of `sin`/`cos`/`tan` (exact
//! Payne-Hanek reduction). The `f32` functions are the `f64` function of the widened input,
//! rounded once to `f32`: within 1 ulp of the exact result, and almost always correctly
//! rounded (the rare exception is a double rounding where the exact result lies within
//! about 2^-29 ulp of a midpoint between two `f32`s).
//!
//! # Special values
//!
//! Special cases follow C99 Annex F: NaN in gives NaN out (except `pow(x, ±0)` and
//! `pow(1, y)`, which are 1), domain errors give NaN (`ln` of a negative number,
//! `asin(2)`, `acosh(0.5)`, `atanh(2)`, `sin(inf)`), poles give signed infinities
//! (`ln(0) = -inf`, `atanh(±1) = ±inf`), overflow gives `±inf`, underflow goes gradually
//! through the subnormals to `±0`, and odd functions keep the sign of zero
//! (`sin(-0) = -0`, `tanh(-0) = -0`, `erf(-0) = -0`, ...). Each function's doc lists its
//! cases. Every NaN result is the canonical quiet NaN (`f64::NAN` / `f32::NAN`: sign clear,
//! only the quiet bit set), whatever the payload of a NaN input: hardware differs in the NaN
//! its arithmetic produces, so no NaN is left to arithmetic.
//!
//! # Functions
//!
//! Each exists as `name_f32` and `name_f64`: [`exp_f32`], [`exp2_f32`], [`exp_m1_f32`],
//! [`ln_f32`], [`ln_1p_f32`], [`log2_f32`], [`log10_f32`], [`pow_f32`], [`sin_f32`],
//! [`cos_f32`], [`tan_f32`], [`asin_f32`], [`acos_f32`], [`atan_f32`], [`atan2_f32`],
//! [`sinh_f32`], [`cosh_f32`], [`tanh_f32`], [`asinh_f32`], [`acosh_f32`], [`atanh_f32`],
//! [`erf_f32`], [`sigmoid_f32`] (and the same with `_f64`).

mod dd;
mod erf;
mod exp_log;
mod hyperbolic;
mod pow;
mod trig;

#[cfg(test)]
mod tests;

/// Rounds an `f64` result to `f32` (one correct rounding), mapping NaN to the canonical
/// `f32::NAN` so the bits never depend on how the hardware converts NaN payloads.
#[inline]
fn narrow(v: f64) -> f32 {
    if v.is_nan() {
        f32::NAN
    } else {
        v as f32
    }
}

pub use erf::{erf_f32, erf_f64};
pub use exp_log::{
    exp2_f32, exp2_f64, exp_f32, exp_f64, exp_m1_f32, exp_m1_f64, ln_1p_f32, ln_1p_f64, ln_f32, ln_f64, log10_f32,
    log10_f64, log2_f32, log2_f64,
};
pub use hyperbolic::{
    acosh_f32, acosh_f64, asinh_f32, asinh_f64, atanh_f32, atanh_f64, cosh_f32, cosh_f64, sigmoid_f32, sigmoid_f64,
    sinh_f32, sinh_f64, tanh_f32, tanh_f64,
};
pub use pow::{pow_f32, pow_f64};
pub use trig::{
    acos_f32, acos_f64, asin_f32, asin_f64, atan2_f32, atan2_f64, atan_f32, atan_f64, cos_f32, cos_f64, sin_f32,
    sin_f64, tan_f32, tan_f64,
};
