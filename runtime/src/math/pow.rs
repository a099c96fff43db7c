//! `pow(x, y)`, with the special cases of C99 Annex F.
//!
//! Method: `|x|^y = e^(y ln|x|)` where `ln|x|` comes from the double-double logarithm
//! (relative error about 2^-66), `y ln|x|` is formed exactly as a double-double, and the
//! double-double exponential kernel finishes; so the error stays below 1 ulp even where
//! `|y ln x|` is near 745 and the exponent amplifies the logarithm's error.

use super::dd::{scale, two_prod, two_sum};
use super::exp_log::{exp_core, ln_dd};

/// Classifies `y` as an integer and an odd integer, from its bits (exact for all `f64`).
fn int_kind(y: f64) -> (bool, bool) {
    if !y.is_finite() {
        return (false, false);
    }
    if y == 0.0 {
        return (true, false);
    }
    let bits = y.to_bits();
    let e = ((bits >> 52) & 0x7ff) as i32 - 1023;
    if e < 0 {
        return (false, false);
    }
    if e > 52 {
        return (true, false);
    }
    let mant = (bits & 0x000f_ffff_ffff_ffff) | (1u64 << 52);
    let frac_bits = (52 - e) as u32;
    let is_int = frac_bits == 0 || mant & ((1u64 << frac_bits) - 1) == 0;
    let is_odd = is_int && (mant >> frac_bits) & 1 == 1;
    (is_int, is_odd)
}

/// `x^y` for finite `x > 0`, `x != 1`, finite `y != 0`.
fn pow_pos(x: f64, y: f64) -> f64 {
    let l = ln_dd(x, 0.0);
    let z0 = y * l.hi;
    if z0 > 710.0 {
        return f64::INFINITY;
    }
    if z0 < -746.0 {
        return 0.0;
    }
    // z = y * ln x as a double-double. |y| <= 710 / |ln x| <= 2^63 here, so the split in
    // two_prod cannot overflow.
    let (ph, pe) = two_prod(y, l.hi);
    let (zh, zl) = two_sum(ph, pe + y * l.lo);
    let (k, p) = exp_core(zh, zl);
    let (h, e) = two_sum(1.0, p.hi);
    scale(h + (e + p.lo), k)
}

/// `x^y` for `f64`, error below 1 ulp (measured about 0.5). Special cases (C99 Annex F):
/// `pow(x, ±0) = 1` for every `x` (NaN too); `pow(1, y) = 1` for every `y` (NaN too);
/// otherwise NaN in gives NaN out; `pow(-1, ±inf) = 1`; `pow(x, -inf)` is `+inf` for
/// `|x| < 1` and `+0` for `|x| > 1`, `pow(x, +inf)` the reverse; `pow(±0, y)` is `±inf`
/// for odd integer `y < 0`, `+inf` for other `y < 0`, `±0` for odd integer `y > 0` and
/// `+0` for other `y > 0`; `pow(-inf, y)` is `-0` / `+0` for `y < 0` (odd integer / other)
/// and `-inf` / `+inf` for `y > 0`; `pow(+inf, y)` is `+0` for `y < 0` and `+inf` for
/// `y > 0`; a finite `x < 0` with a finite non-integer `y` gives NaN; a finite `x < 0`
/// with an integer `y` gives `±|x|^y`, negative exactly when `y` is odd.
pub fn pow_f64(x: f64, y: f64) -> f64 {
    if y == 0.0 || x == 1.0 {
        return 1.0;
    }
    if x.is_nan() || y.is_nan() {
        return f64::NAN;
    }
    let (y_int, y_odd) = int_kind(y);
    if y.is_infinite() {
        let ax = x.abs();
        if ax == 1.0 {
            return 1.0;
        }
        return if (ax < 1.0) == (y > 0.0) { 0.0 } else { f64::INFINITY };
    }
    if x == 0.0 {
        return if y < 0.0 {
            if y_odd {
                f64::INFINITY.copysign(x)
            } else {
                f64::INFINITY
            }
        } else if y_odd {
            x
        } else {
            0.0
        };
    }
    if x.is_infinite() {
        let mag = if y < 0.0 { 0.0 } else { f64::INFINITY };
        return if x < 0.0 && y_odd { -mag } else { mag };
    }
    if x < 0.0 {
        if !y_int {
            return f64::NAN;
        }
        let r = pow_pos(-x, y);
        return if y_odd { -r } else { r };
    }
    pow_pos(x, y)
}

/// `x^y` for `f32`: the `f64` result rounded once to `f32` (within 1 ulp); the special
/// cases are those of [`pow_f64`], which agree with C99 `powf` for every `f32` input.
pub fn pow_f32(x: f32, y: f32) -> f32 {
    super::narrow(pow_f64(x as f64, y as f64))
}

#[cfg(test)]
mod tests {
    use super::int_kind;

    #[test]
    fn math_pow_int_kind() {
        assert_eq!(int_kind(3.0), (true, true));
        assert_eq!(int_kind(-3.0), (true, true));
        assert_eq!(int_kind(4.0), (true, false));
        assert_eq!(int_kind(0.5), (false, false));
        assert_eq!(int_kind(2.5), (false, false));
        assert_eq!(int_kind(9007199254740991.0), (true, true));
        assert_eq!(int_kind(9007199254740992.0), (true, false));
        assert_eq!(int_kind(1e300), (true, false));
        assert_eq!(int_kind(4503599627370495.5), (false, false));
        assert_eq!(int_kind(1.0), (true, true));
        assert_eq!(int_kind(f64::MIN_POSITIVE), (false, false));
    }
}
