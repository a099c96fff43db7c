//! Exponentials and logarithms: `exp`, `exp2`, `exp_m1`, `ln`, `ln_1p`, `log2`, `log10`.
//!
//! Method. `exp`: `x = k ln2 + r` with `|r| <= ln2 / 2` (Cody-Waite, `ln2` in two parts so
//! `k * LN2_HI` is exact), then the Taylor series of `e^r - 1` to degree 14 with the first
//! two terms kept in double-double, then one scaling by `2^k`. `ln`: `x = 2^e m` with
//! `m` in `[sqrt(1/2), sqrt(2))`, `ln m = 2 atanh(s)` with `s = (m - 1) / (m + 1)` in
//! double-double, the series in `s^2` partly in double-double, and `e ln2` added exactly.
//! Both kernels work on double-double inputs and return double-double results, which the
//! other families (`pow`, hyperbolic, sigmoid) build on.

use super::dd::{ilogb, mul_pow2_any, pow2i, round_int, scale, two_prod, two_sum, Dd};
use std::f64::consts::{LN_2, LOG10_E, LOG2_E, SQRT_2};

/// `ln 2` rounded to 40 significant bits: `k * LN2_HI` is exact for `|k| < 2^13`.
const LN2_HI: f64 = 0.693_147_180_559_208_2;
/// `ln 2 - LN2_HI` rounded to `f64` (together: `ln 2` to about 2^-94).
const LN2_LO: f64 = 7.371_002_565_167_799e-13;
/// `ln 2` as a double-double.
pub(crate) const LN2_DD: Dd = Dd::new(LN_2, 2.319_046_813_846_299_6e-17);
/// `1 / ln 2` as a double-double.
const INV_LN2_DD: Dd = Dd::new(LOG2_E, 2.035_527_374_093_103_3e-17);
/// `1 / ln 10` as a double-double.
const INV_LN10_DD: Dd = Dd::new(LOG10_E, 1.098_319_650_216_765e-17);
/// `1 / 3` as a double-double.
const THIRD_DD: Dd = Dd::new(1.0 / 3.0, 1.850_371_707_708_594e-17);

/// `1 / n!` (exact factorial for `n <= 22`, then one correctly rounded division).
pub(crate) const fn inv_fact(n: u32) -> f64 {
    let mut f = 1.0;
    let mut i = 2;
    while i <= n {
        f *= i as f64;
        i += 1;
    }
    1.0 / f
}

/// Taylor coefficients `1/3!, 1/4!, ..., 1/14!` of `(e^r - 1 - r - r^2/2) / r^3`.
const EXP_TAIL: [f64; 12] = {
    let mut c = [0.0; 12];
    let mut i = 0;
    while i < 12 {
        c[i] = inv_fact(i as u32 + 3);
        i += 1;
    }
    c
};

/// Coefficients `1/5, 1/7, ..., 1/27` of the `atanh` series tail used by the logarithm.
const LOG_TAIL: [f64; 12] = {
    let mut c = [0.0; 12];
    let mut i = 0;
    while i < 12 {
        c[i] = 1.0 / (2 * i + 5) as f64;
        i += 1;
    }
    c
};

/// The exponential kernel on a double-double argument with `|xh| <= 1100`:
/// returns `(k, p)` with `e^(xh + xl) = 2^k * (1 + p)`, `p` a double-double with
/// `|p| <= 0.42` and relative error about 2^-58 (of `1 + p`).
pub(crate) fn exp_core(xh: f64, xl: f64) -> (i32, Dd) {
    let kf = round_int(xh * LOG2_E);
    // Exact: k * LN2_HI has at most 51 bits and lies within a factor two of xh.
    let rh = xh - kf * LN2_HI;
    let (r, e) = two_sum(rh, -(kf * LN2_LO));
    let (rh, rl) = two_sum(r, e + xl);
    // e^r - 1 = r + r^2/2 + r^3 q(r), the first two terms kept exact.
    let (s2, s2e) = two_prod(rh, rh);
    let mut q = EXP_TAIL[11];
    for &c in EXP_TAIL[..11].iter().rev() {
        q = c + rh * q;
    }
    let tail = (rh * s2) * q;
    let (p, pe) = two_sum(rh, 0.5 * s2);
    // rl contributes rl * e^r ~ rl * (1 + r).
    let lo = pe + (((0.5 * s2e) + tail) + rl * (1.0 + rh));
    let (ph, pl) = two_sum(p, lo);
    (kf as i32, Dd::new(ph, pl))
}

/// `1 + p` as a double-double.
#[inline]
fn one_plus(p: Dd) -> Dd {
    let (h, l) = two_sum(1.0, p.hi);
    let (h, l) = two_sum(h, l + p.lo);
    Dd::new(h, l)
}

/// `e^x` as `(k, m)` with `e^x = 2^k * m`, `m` a double-double in about `[0.7, 1.42]`
/// (relative error about 2^-58). For finite `|x| <= 1100`.
pub(crate) fn exp_dd(x: f64) -> (i32, Dd) {
    let (k, p) = exp_core(x, 0.0);
    (k, one_plus(p))
}

/// `e^x - 1` as a double-double, for finite `|x| <= 700` (relative error about 2^-57).
pub(crate) fn exp_m1_dd(x: f64) -> Dd {
    let (k, p) = exp_core(x, 0.0);
    if k == 0 {
        return p;
    }
    let e = one_plus(p);
    let s = pow2i(k);
    let (a, ae) = two_sum(e.hi * s, -1.0);
    let (h, l) = two_sum(a, ae + e.lo * s);
    Dd::new(h, l)
}

/// `e^x` for `f64`: error below 1 ulp (measured about 0.5), correctly signed limits:
/// `exp(-inf) = +0`, `exp(+inf) = +inf`, overflow to `+inf` above about 709.78,
/// gradual underflow to `+0` below about -745.13.
pub fn exp_f64(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if x > 710.0 {
        return f64::INFINITY;
    }
    if x < -746.0 {
        return 0.0;
    }
    if x.abs() < pow2i(-54) {
        return 1.0 + x;
    }
    let (k, m) = exp_dd(x);
    scale(m.hi, k)
}

/// `e^x` for `f32`: the `f64` result rounded once to `f32` (within 1 ulp, almost always
/// correctly rounded).
pub fn exp_f32(x: f32) -> f32 {
    super::narrow(exp_f64(x as f64))
}

/// `2^x` for `f64`: exact for integer `x` in range; error below 1 ulp otherwise.
/// `exp2(-inf) = +0`, `exp2(+inf) = +inf`, overflow at `x >= 1024`.
pub fn exp2_f64(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if x >= 1024.0 {
        return f64::INFINITY;
    }
    if x < -1080.0 {
        return 0.0;
    }
    let kf = round_int(x);
    let r = x - kf; // exact, |r| <= 1/2
                    // t = r ln2 as a double-double.
    let (th, tl) = two_prod(r, LN2_DD.hi);
    let tl = tl + r * LN2_DD.lo;
    let (k2, p) = exp_core(th, tl);
    scale(one_plus(p).hi, kf as i32 + k2)
}

/// `2^x` for `f32`: the `f64` result rounded once to `f32`.
pub fn exp2_f32(x: f32) -> f32 {
    super::narrow(exp2_f64(x as f64))
}

/// `e^x - 1` for `f64`, accurate also for tiny `x` (error below 1 ulp, measured about
/// 0.5): `exp_m1(±0) = ±0`, `exp_m1(-inf) = -1`, `exp_m1(+inf) = +inf`.
pub fn exp_m1_f64(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if x > 710.0 {
        return f64::INFINITY;
    }
    if x < -40.0 {
        // e^x < 2^-57: the result rounds to -1.
        return -1.0;
    }
    if x.abs() < pow2i(-54) {
        return x;
    }
    if x > 700.0 {
        let (k, m) = exp_dd(x);
        return scale(m.hi, k);
    }
    exp_m1_dd(x).hi
}

/// `e^x - 1` for `f32`: the `f64` result rounded once to `f32`.
pub fn exp_m1_f32(x: f32) -> f32 {
    super::narrow(exp_m1_f64(x as f64))
}

/// `ln(xh + xl)` as a double-double, for a finite double-double with `xh > 0`
/// (relative error about 2^-66, enough for `pow`).
pub(crate) fn ln_dd(xh: f64, xl: f64) -> Dd {
    // x = 2^e * m with m in [sqrt(1/2), sqrt(2)).
    let mut e = ilogb(xh);
    let mut m = f64::from_bits((xh.to_bits() & 0x000f_ffff_ffff_ffff) | (1023u64 << 52));
    if xh.to_bits() >> 52 == 0 {
        // Subnormal: take the significand from the scaled-up value.
        let y = xh * pow2i(54);
        m = f64::from_bits((y.to_bits() & 0x000f_ffff_ffff_ffff) | (1023u64 << 52));
    }
    if m > SQRT_2 {
        m *= 0.5;
        e += 1;
    }
    let f = m - 1.0; // exact
    let fl = if xl == 0.0 { 0.0 } else { mul_pow2_any(xl, -e) };
    // s = (f + fl) / (2 + f + fl), |s| <= 0.1716.
    let (nh, nl) = two_sum(f, fl);
    let (dh, dl) = two_sum(2.0, f);
    let s = Dd::new(nh, nl).div(Dd::new(dh, dl + fl));
    // ln(1 + f) = 2s + 2 s z P(z), z = s^2, P = 1/3 + z (1/5 + z/7 + ...).
    let z = s.mul(s);
    let mut p1 = LOG_TAIL[11];
    for &c in LOG_TAIL[..11].iter().rev() {
        p1 = c + z.hi * p1;
    }
    let (mh, ml) = two_prod(z.hi, p1);
    let ml = ml + z.lo * p1;
    let (ph, pl) = two_sum(THIRD_DD.hi, mh);
    let big_p = Dd::new(ph, (pl + THIRD_DD.lo) + ml);
    let t = s.mul(z).mul(big_p);
    // e ln2 + 2s + 2t; e * LN2_HI is exact.
    let ef = e as f64;
    let (a, ae) = two_sum(ef * LN2_HI, 2.0 * s.hi);
    let (b, be) = two_sum(a, 2.0 * t.hi);
    let lo = (ae + be) + ((ef * LN2_LO + 2.0 * s.lo) + 2.0 * t.lo);
    let (h, l) = two_sum(b, lo);
    Dd::new(h, l)
}

/// Shared special cases of the logarithms: `Some(result)` for NaN, negative, zero and
/// infinite inputs.
#[inline]
fn log_special(x: f64) -> Option<f64> {
    if x.is_nan() || x < 0.0 {
        Some(f64::NAN)
    } else if x == 0.0 {
        Some(f64::NEG_INFINITY)
    } else if x == f64::INFINITY {
        Some(x)
    } else {
        None
    }
}

/// Natural logarithm for `f64` (error below 1 ulp, measured about 0.5): `ln(±0) = -inf`,
/// `ln(x < 0) = NaN`, `ln(1) = +0`, `ln(+inf) = +inf`.
pub fn ln_f64(x: f64) -> f64 {
    if let Some(r) = log_special(x) {
        return r;
    }
    ln_dd(x, 0.0).hi
}

/// Natural logarithm for `f32`: the `f64` result rounded once to `f32`.
pub fn ln_f32(x: f32) -> f32 {
    super::narrow(ln_f64(x as f64))
}

/// Base-2 logarithm for `f64`: exact for powers of two, error below 1 ulp otherwise;
/// special values as [`ln_f64`].
pub fn log2_f64(x: f64) -> f64 {
    if let Some(r) = log_special(x) {
        return r;
    }
    ln_dd(x, 0.0).mul(INV_LN2_DD).hi
}

/// Base-2 logarithm for `f32`: the `f64` result rounded once to `f32`.
pub fn log2_f32(x: f32) -> f32 {
    super::narrow(log2_f64(x as f64))
}

/// Base-10 logarithm for `f64`: exact for exact powers of ten, error below 1 ulp
/// otherwise; special values as [`ln_f64`].
pub fn log10_f64(x: f64) -> f64 {
    if let Some(r) = log_special(x) {
        return r;
    }
    ln_dd(x, 0.0).mul(INV_LN10_DD).hi
}

/// Base-10 logarithm for `f32`: the `f64` result rounded once to `f32`.
pub fn log10_f32(x: f32) -> f32 {
    super::narrow(log10_f64(x as f64))
}

/// `ln(1 + x)` for `f64`, accurate also for tiny `x` (error below 1 ulp):
/// `ln_1p(±0) = ±0`, `ln_1p(-1) = -inf`, `ln_1p(x < -1) = NaN`, `ln_1p(+inf) = +inf`.
pub fn ln_1p_f64(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if x < -1.0 {
        return f64::NAN;
    }
    if x == -1.0 {
        return f64::NEG_INFINITY;
    }
    if x == f64::INFINITY {
        return x;
    }
    if x.abs() < pow2i(-54) {
        return x;
    }
    let (h, l) = two_sum(1.0, x);
    ln_dd(h, l).hi
}

/// `ln(1 + x)` for `f32`: the `f64` result rounded once to `f32`.
pub fn ln_1p_f32(x: f32) -> f32 {
    super::narrow(ln_1p_f64(x as f64))
}
