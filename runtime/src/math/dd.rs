//! Double-double ("dd") arithmetic: a value carried as an unevaluated sum `hi + lo` of two
//! `f64`s with `|lo| <= ulp(hi) / 2`, built only from correctly rounded IEEE basic operations
//! (error-free transformations). It gives the kernels about 100 bits of working precision
//! without fused multiply-add, so every result is the same on every IEEE-754 machine.
//!
//! Preconditions (not checked): operands are finite, and products stay well inside the
//! normal range (|a|, |b| below about 2^995 and products above about 2^-969); the kernels
//! only call these helpers on reduced arguments where that holds.

/// A double-double value `hi + lo`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Dd {
    /// Leading part: the sum rounded to `f64`.
    pub hi: f64,
    /// Trailing part: what `hi` misses.
    pub lo: f64,
}

impl Dd {
    /// Zero.
    pub const ZERO: Dd = Dd { hi: 0.0, lo: 0.0 };
    /// One.
    pub const ONE: Dd = Dd { hi: 1.0, lo: 0.0 };

    /// Builds a dd from two parts, with no normalisation.
    #[inline]
    pub const fn new(hi: f64, lo: f64) -> Dd {
        Dd { hi, lo }
    }

    /// The dd holding exactly `x`.
    #[inline]
    pub const fn from_f64(x: f64) -> Dd {
        Dd { hi: x, lo: 0.0 }
    }

    /// `-self`.
    #[inline]
    pub fn neg(self) -> Dd {
        Dd {
            hi: -self.hi,
            lo: -self.lo,
        }
    }

    /// `self * 2^k` for a power of two that keeps both parts normal (exact).
    #[inline]
    pub fn mul_pow2(self, p: f64) -> Dd {
        Dd {
            hi: self.hi * p,
            lo: self.lo * p,
        }
    }

    /// `self + b`.
    #[inline]
    pub fn add(self, b: Dd) -> Dd {
        let (s, e) = two_sum(self.hi, b.hi);
        let e = e + (self.lo + b.lo);
        let (h, l) = two_sum(s, e);
        Dd { hi: h, lo: l }
    }

    /// `self - b`.
    #[inline]
    pub fn sub(self, b: Dd) -> Dd {
        self.add(b.neg())
    }

    /// `self * b`.
    #[inline]
    pub fn mul(self, b: Dd) -> Dd {
        let (p, e) = two_prod(self.hi, b.hi);
        let e = e + (self.hi * b.lo + self.lo * b.hi);
        let (h, l) = fast_two_sum(p, e);
        Dd { hi: h, lo: l }
    }

    /// `self / b` (`b` nonzero).
    #[inline]
    pub fn div(self, b: Dd) -> Dd {
        let q1 = self.hi / b.hi;
        let (p, pe) = two_prod(q1, b.hi);
        // self.hi - p is exact: p is within one rounding of self.hi.
        let r = (((self.hi - p) - pe) + self.lo) - q1 * b.lo;
        let q2 = r / b.hi;
        let (h, l) = fast_two_sum(q1, q2);
        Dd { hi: h, lo: l }
    }

    /// `sqrt(self)` (`self >= 0`).
    #[inline]
    pub fn sqrt(self) -> Dd {
        let s = self.hi.sqrt();
        if s == 0.0 {
            return Dd::ZERO;
        }
        let (p, pe) = two_prod(s, s);
        let r = (((self.hi - p) - pe) + self.lo) / (2.0 * s);
        let (h, l) = fast_two_sum(s, r);
        Dd { hi: h, lo: l }
    }
}

/// `a + b = s + e` exactly, with `s = fl(a + b)` (Knuth's branch-free two-sum).
#[inline]
pub(crate) fn two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    let bb = s - a;
    let e = (a - (s - bb)) + (b - bb);
    (s, e)
}

/// `a + b = s + e` exactly, with `s = fl(a + b)`; requires `|a| >= |b|` (or `a == 0`).
#[inline]
pub(crate) fn fast_two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    let e = b - (s - a);
    (s, e)
}

/// Veltkamp's splitter, `2^27 + 1`.
const SPLITTER: f64 = 134_217_729.0;

/// Splits `a` into two halves of at most 26 significant bits each, `a = hi + lo` exactly.
#[inline]
fn split(a: f64) -> (f64, f64) {
    let c = SPLITTER * a;
    let hi = c - (c - a);
    (hi, a - hi)
}

/// `a * b = p + e` exactly, with `p = fl(a * b)` (Dekker's product, no fma).
#[inline]
pub(crate) fn two_prod(a: f64, b: f64) -> (f64, f64) {
    let p = a * b;
    let (ah, al) = split(a);
    let (bh, bl) = split(b);
    let e = (((ah * bh - p) + ah * bl) + al * bh) + al * bl;
    (p, e)
}

/// `2^k` for `-1022 <= k <= 1023`, built from its bits.
#[inline]
pub(crate) fn pow2i(k: i32) -> f64 {
    debug_assert!((-1022..=1023).contains(&k));
    f64::from_bits(((k + 1023) as u64) << 52)
}

/// `y * 2^k` with a single rounding, for `|y| < 2` and any `k` (overflows to infinity and
/// underflows through the subnormals to zero like one correctly rounded multiplication).
#[inline]
pub(crate) fn scale(y: f64, k: i32) -> f64 {
    if k > 1023 {
        // y * 2^1023 is exact; the second product rounds (to infinity when it overflows).
        y * pow2i(1023) * pow2i((k - 1023).min(1023))
    } else if k >= -1022 {
        y * pow2i(k)
    } else if k >= -1075 {
        // First product is exact and normal; the second does the one rounding.
        y * pow2i(k + 53) * pow2i(-53)
    } else {
        // |y * 2^k| < 2^-1075: rounds to a zero of the sign of y.
        y * 0.0
    }
}

/// `y * 2^k` for any `k`, in exact steps as long as no step leaves the normal range.
/// Used only for trailing parts, where a last-bit difference does not matter.
#[inline]
pub(crate) fn mul_pow2_any(mut y: f64, mut k: i32) -> f64 {
    while k > 1023 {
        y *= pow2i(1023);
        k -= 1023;
    }
    while k < -1022 {
        y *= pow2i(-1022);
        k += 1022;
    }
    y * pow2i(k)
}

/// Rounds to the nearest integer, ties to even, for `|x| < 2^51` (with the usual
/// add-and-subtract of `1.5 * 2^52`, so only IEEE additions are involved).
#[inline]
pub(crate) fn round_int(x: f64) -> f64 {
    const MAGIC: f64 = 6_755_399_441_055_744.0; // 1.5 * 2^52
    (x + MAGIC) - MAGIC
}

/// `floor(log2(x))` for finite `x > 0`, subnormals included.
#[inline]
pub(crate) fn ilogb(x: f64) -> i32 {
    let bits = x.to_bits();
    let e = ((bits >> 52) & 0x7ff) as i32;
    if e == 0 {
        // Subnormal: scale up by 2^54 (exact) and look again.
        (((x * pow2i(54)).to_bits() >> 52) & 0x7ff) as i32 - 1023 - 54
    } else {
        e - 1023
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn math_dd_error_free_transformations() {
        let (p, e) = two_prod(1.0 + f64::EPSILON, 1.0 - f64::EPSILON);
        assert_eq!(p, 1.0);
        assert_eq!(e, -f64::EPSILON * f64::EPSILON);
        let (s, e) = two_sum(1.0, 1e-30);
        assert_eq!((s, e), (1.0, 1e-30));
        let third = Dd::ONE.div(Dd::from_f64(3.0));
        assert_eq!(third.hi, 1.0 / 3.0);
        assert_eq!(third.lo, 1.850371707708594e-17);
        let r2 = Dd::from_f64(2.0).sqrt();
        assert_eq!(r2.hi, std::f64::consts::SQRT_2);
        // One Newton step: the trailing part is within a few ulps of exact.
        assert!((r2.lo + 9.667293313452913e-17).abs() < 1e-31);
        assert_eq!(round_int(2.5), 2.0);
        assert_eq!(round_int(-3.5), -4.0);
        assert_eq!(ilogb(f64::MIN_POSITIVE / 8.0), -1025);
        assert_eq!(ilogb(3.0), 1);
        assert_eq!(scale(1.5, -1074), 2.0 * 4.9e-324);
        assert_eq!(scale(1.0, 1024), f64::INFINITY);
        assert_eq!(scale(-1.0, -1080), -0.0);
    }
}
