//! Hyperbolic functions and their inverses: `sinh`, `cosh`, `tanh`, `asinh`, `acosh`,
//! `atanh`, and the logistic `sigmoid`.
//!
//! All are formed in double-double from the exponential and logarithm kernels of
//! [`super::exp_log`], so cancellation near zero costs nothing:
//! `sinh x = (E + E/(1+E)) / 2` and `tanh x = E2 / (E2 + 2)` with `E = e^|x| - 1`,
//! `E2 = e^(2|x|) - 1`; `cosh x = (e^|x| + e^-|x|) / 2`; `asinh x = ln(|x| + sqrt(x^2+1))`,
//! `acosh x = ln(x + sqrt((x-1)(x+1)))`, `atanh x = ln((1+|x|)/(1-|x|)) / 2`, each
//! logarithm taken of a double-double argument.

use super::dd::{scale, two_prod, two_sum, Dd};
use super::exp_log::{exp_dd, exp_f64, exp_m1_dd, ln_dd, LN2_DD};

/// Above this, `e^-x` is below 2^-63 of `e^x` and drops out of `sinh`/`cosh`.
const BIG: f64 = 22.0;
/// 2^-28: below this `sinh`, `tanh`, `asinh`, `atanh` round to `x` itself.
const TINY: f64 = 3.725_290_298_461_914e-9;
/// 2^28: above this `asinh x = ln 2|x|` and `acosh x = ln 2x` to within 2^-58.
const HUGE: f64 = 268_435_456.0;

/// `e^ax / 2` for `ax > BIG`, overflowing to `+inf` (near `ax = 710.48`).
fn half_exp(ax: f64) -> f64 {
    if ax > 711.0 {
        return f64::INFINITY;
    }
    let (k, m) = exp_dd(ax);
    scale(m.hi, k - 1)
}

/// Hyperbolic sine for `f64` (error below 1 ulp, measured about 0.5): `sinh(±0) = ±0`,
/// `sinh(±inf) = ±inf`, overflow to `±inf` beyond about `|x| = 710.48`.
pub fn sinh_f64(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if x.is_infinite() {
        return x;
    }
    let ax = x.abs();
    if ax < TINY {
        return x;
    }
    let v = if ax > BIG {
        half_exp(ax)
    } else {
        let e = exp_m1_dd(ax);
        let q = e.div(e.add(Dd::ONE));
        0.5 * e.add(q).hi
    };
    v.copysign(x)
}

/// Hyperbolic sine for `f32`: the `f64` result rounded once to `f32`.
pub fn sinh_f32(x: f32) -> f32 {
    super::narrow(sinh_f64(x as f64))
}

/// Hyperbolic cosine for `f64` (error below 1 ulp, measured about 0.5): `cosh(±0) = 1`,
/// `cosh(±inf) = +inf`, overflow to `+inf` beyond about `|x| = 710.48`.
pub fn cosh_f64(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    let ax = x.abs();
    if ax < 7.450_580_596_923_828e-9 {
        // 2^-27: x^2/2 is below half an ulp of 1.
        return 1.0;
    }
    if ax > BIG {
        return half_exp(ax);
    }
    let (k, m) = exp_dd(ax);
    // k <= 32 here, so the scaling is exact.
    let e = m.mul_pow2(super::dd::pow2i(k));
    0.5 * e.add(Dd::ONE.div(e)).hi
}

/// Hyperbolic cosine for `f32`: the `f64` result rounded once to `f32`.
pub fn cosh_f32(x: f32) -> f32 {
    super::narrow(cosh_f64(x as f64))
}

/// Hyperbolic tangent for `f64` (error below 1 ulp, measured about 0.5):
/// `tanh(±0) = ±0`, `tanh(±inf) = ±1`.
pub fn tanh_f64(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    let ax = x.abs();
    if ax < TINY {
        return x;
    }
    if ax >= BIG {
        // 1 - tanh(22) < 2^-62.
        return 1.0f64.copysign(x);
    }
    let e = exp_m1_dd(2.0 * ax);
    e.div(e.add(Dd::from_f64(2.0))).hi.copysign(x)
}

/// Hyperbolic tangent for `f32`: the `f64` result rounded once to `f32`.
pub fn tanh_f32(x: f32) -> f32 {
    super::narrow(tanh_f64(x as f64))
}

/// Inverse hyperbolic sine for `f64` (error below 1 ulp, measured about 0.5):
/// `asinh(±0) = ±0`, `asinh(±inf) = ±inf`.
pub fn asinh_f64(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if x.is_infinite() {
        return x;
    }
    let ax = x.abs();
    if ax < TINY {
        return x;
    }
    let r = if ax > HUGE {
        ln_dd(ax, 0.0).add(LN2_DD)
    } else {
        // w = ax + sqrt(ax^2 + 1), all in double-double.
        let (p, pe) = two_prod(ax, ax);
        let (h, l) = two_sum(p, 1.0);
        let s = Dd::new(h, l + pe).sqrt();
        let w = Dd::from_f64(ax).add(s);
        ln_dd(w.hi, w.lo)
    };
    r.hi.copysign(x)
}

/// Inverse hyperbolic sine for `f32`: the `f64` result rounded once to `f32`.
pub fn asinh_f32(x: f32) -> f32 {
    super::narrow(asinh_f64(x as f64))
}

/// Inverse hyperbolic cosine for `f64` (error below 1 ulp, measured about 0.5):
/// `acosh(1) = +0`, `acosh(+inf) = +inf`, NaN for `x < 1`.
pub fn acosh_f64(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if x < 1.0 {
        return f64::NAN;
    }
    if x == f64::INFINITY {
        return x;
    }
    if x > HUGE {
        return ln_dd(x, 0.0).add(LN2_DD).hi;
    }
    // (x - 1)(x + 1) with both factors exact double-doubles.
    let (a, ae) = two_sum(x, -1.0);
    let (b, be) = two_sum(x, 1.0);
    let s = Dd::new(a, ae).mul(Dd::new(b, be)).sqrt();
    let w = Dd::from_f64(x).add(s);
    ln_dd(w.hi, w.lo).hi
}

/// Inverse hyperbolic cosine for `f32`: the `f64` result rounded once to `f32`.
pub fn acosh_f32(x: f32) -> f32 {
    super::narrow(acosh_f64(x as f64))
}

/// Inverse hyperbolic tangent for `f64` (error below 1 ulp, measured about 0.5):
/// `atanh(±0) = ±0`, `atanh(±1) = ±inf`, NaN for `|x| > 1`.
pub fn atanh_f64(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    let ax = x.abs();
    if ax > 1.0 {
        return f64::NAN;
    }
    if ax == 1.0 {
        return f64::INFINITY.copysign(x);
    }
    if ax < TINY {
        return x;
    }
    let (nh, nl) = two_sum(1.0, ax);
    let (dh, dl) = two_sum(1.0, -ax);
    let q = Dd::new(nh, nl).div(Dd::new(dh, dl));
    (0.5 * ln_dd(q.hi, q.lo).hi).copysign(x)
}

/// Inverse hyperbolic tangent for `f32`: the `f64` result rounded once to `f32`.
pub fn atanh_f32(x: f32) -> f32 {
    super::narrow(atanh_f64(x as f64))
}

/// The logistic function `1 / (1 + e^-x)` for `f64`, computed without overflow or
/// cancellation (`e^x / (1 + e^x)` for `x < 0`), error below 1 ulp (measured about 0.5):
/// `sigmoid(-inf) = +0`, `sigmoid(±0) = 0.5`, `sigmoid(+inf) = 1`; it reaches exactly 1
/// above about `x = 36.7` and follows `e^x` (down to gradual underflow) below -40.
pub fn sigmoid_f64(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if x > 40.0 {
        // e^-x < 2^-57: 1 / (1 + e^-x) rounds to 1.
        return 1.0;
    }
    if x < -40.0 {
        // e^x / (1 + e^x) = e^x (1 - e^x + ...) rounds like e^x.
        return exp_f64(x);
    }
    let ax = x.abs();
    let (k, m) = exp_dd(-ax);
    // k >= -58, exact scaling.
    let e = m.mul_pow2(super::dd::pow2i(k));
    let d = e.add(Dd::ONE);
    if x >= 0.0 {
        Dd::ONE.div(d).hi
    } else {
        e.div(d).hi
    }
}

/// The logistic function for `f32`: the `f64` result rounded once to `f32`.
pub fn sigmoid_f32(x: f32) -> f32 {
    super::narrow(sigmoid_f64(x as f64))
}
