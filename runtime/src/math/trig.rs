//! Circular functions: `sin`, `cos`, `tan`, `asin`, `acos`, `atan`, `atan2`.
//!
//! Argument reduction for `sin`/`cos`/`tan` writes `|x| = q (pi/2) + r` with `|r| <= pi/4`
//! and `r` a double-double:
//! - `|x| < 2^20`: Cody-Waite with `pi/2` in four parts (three of 33 bits, so `k * part`
//!   is exact), giving `r` to about 2^-130 absolute;
//! - `|x| >= 2^20`: Payne-Hanek, multiplying the 53-bit significand by a 192-bit window of
//!   the binary expansion of `2/pi` in integer arithmetic, giving `r` to about 2^-128
//!   absolute.
//!
//! So the reduction is accurate for every finite argument, including the largest `f64`, and
//! the functions keep their accuracy over the whole range. Kernels are Taylor series
//! (to degree 17 for `sin`, 20 for `cos`) on `|r| <= pi/4`, finished in double-double.
//!
//! The inverse functions all go through one double-double kernel `atan2_pos`: a quotient
//! `t` in `[0, 1]` is reduced against the nearest `c = j/8` with
//! `atan t = atan c + atan((t - c) / (1 + t c))` (tabulated `atan(j/8)`), leaving an
//! argument below 1/16 for an odd Taylor series of degree 17.

use super::dd::{fast_two_sum, ilogb, mul_pow2_any, round_int, two_prod, two_sum, Dd};
use super::exp_log::inv_fact;
use std::f64::consts::{FRAC_2_PI, FRAC_PI_2, FRAC_PI_4, PI};

/// `pi/2` split in three 33-bit parts and a 53-bit tail (about 2^-152 together).
const PIO2_1: f64 = 1.570_796_326_734_125_6;
const PIO2_2: f64 = 6.077_100_506_303_966e-11;
const PIO2_3: f64 = 2.022_266_248_711_166_5e-21;
const PIO2_4: f64 = 8.478_427_660_368_9e-32;
/// `pi/2` as a double-double.
const PIO2_DD: Dd = Dd::new(FRAC_PI_2, 6.123_233_995_736_766e-17);
/// `pi` as a double-double.
const PI_DD: Dd = Dd::new(PI, 1.224_646_799_147_353_2e-16);

/// The binary expansion of `2/pi`: bits 1..=1280 after the binary point, 64 per word,
/// most significant first.
const TWO_OVER_PI_BITS: [u64; 20] = [
    0xA2F9_836E_4E44_1529,
    0xFC27_57D1_F534_DDC0,
    0xDB62_9599_3C43_9041,
    0xFE51_63AB_DEBB_C561,
    0xB724_6E3A_424D_D2E0,
    0x0649_2EEA_09D1_921C,
    0xFE1D_EB1C_B129_A73E,
    0xE882_35F5_2EBB_4484,
    0xE99C_7026_B45F_7E41,
    0x3991_D639_8353_39F4,
    0x9C84_5F8B_BDF9_283B,
    0x1FF8_97FF_DE05_980F,
    0xEF2F_118B_5A0A_6D1F,
    0x6D36_7ECF_27CB_09B7,
    0x4F46_3F66_9E5F_EA2D,
    0x7527_BAC7_EBE5_F17B,
    0x3D07_39F7_8A52_92EA,
    0x6BFB_5FB1_1F8D_5D08,
    0x5603_3046_FC7B_6BAB,
    0xF0CF_BC20_9AF4_361D,
];

/// `atan(j/8)` for `j = 0..=8`, as double-doubles `(hi, lo)`.
const ATAN_TABLE: [(f64, f64); 9] = [
    (0.0, 0.0),
    (0.124_354_994_546_761_44, -3.125_324_142_453_938_3e-18),
    (0.244_978_663_126_864_14, 1.069_875_561_873_445_1e-17),
    (0.358_770_670_270_572_25, -2.462_381_558_263_863_5e-17),
    (0.463_647_609_000_806_1, 2.269_877_745_296_168_7e-17),
    (0.558_599_315_343_562_4, -5.455_630_548_591_626_4e-18),
    (0.643_501_108_793_284_4, 1.583_478_505_144_428_6e-17),
    (0.718_829_999_621_624_5, -2.147_838_844_445_698_3e-17),
    (FRAC_PI_4, 3.061_616_997_868_383e-17),
];

/// `sin r = r - r^3/6 + r^5 S(r^2)`: `S` has coefficients `(-1)^n / (2n+5)!`, `n = 0..7`.
const SIN_COEF: [f64; 7] = {
    let mut c = [0.0; 7];
    let mut i = 0;
    while i < 7 {
        let v = inv_fact(2 * i as u32 + 5);
        c[i] = if i % 2 == 0 { v } else { -v };
        i += 1;
    }
    c
};

/// `cos r = 1 - r^2/2 + r^4/24 - r^6 C(r^2)`: `C` has coefficients `(-1)^n / (2n+6)!`,
/// `n = 0..8`.
const COS_COEF: [f64; 8] = {
    let mut c = [0.0; 8];
    let mut i = 0;
    while i < 8 {
        let v = inv_fact(2 * i as u32 + 6);
        c[i] = if i % 2 == 0 { v } else { -v };
        i += 1;
    }
    c
};

/// `-1/6` as a double-double.
const NEG_SIXTH_DD: Dd = Dd::new(-1.0 / 6.0, -9.251_858_538_542_97e-18);
/// `1/24` as a double-double.
const TWENTYFOURTH_DD: Dd = Dd::new(1.0 / 24.0, 2.312_964_634_635_742_7e-18);

/// `atan u = u + u^3 A(u^2)`: `A` has coefficients `(-1)^(n+1) / (2n+3)`, `n = 0..8`.
const ATAN_COEF: [f64; 8] = {
    let mut c = [0.0; 8];
    let mut i = 0;
    while i < 8 {
        let v = 1.0 / (2 * i + 3) as f64;
        c[i] = if i % 2 == 0 { -v } else { v };
        i += 1;
    }
    c
};

/// Horner evaluation of `c[0] + z c[1] + z^2 c[2] + ...`, one multiply and one add per step.
#[inline]
fn horner(c: &[f64], z: f64) -> f64 {
    let mut acc = c[c.len() - 1];
    for &ci in c[..c.len() - 1].iter().rev() {
        acc = ci + z * acc;
    }
    acc
}

/// Cody-Waite reduction for `pi/4 < ax < 2^20`: `(q mod 4, r)`.
fn reduce_medium(ax: f64) -> (u32, Dd) {
    let kf = round_int(ax * FRAC_2_PI);
    // kf < 2^20, each 33-bit part times kf is exact; ax - kf*PIO2_1 is exact (Sterbenz).
    let r0 = ax - kf * PIO2_1;
    let (r1, e1) = two_sum(r0, -(kf * PIO2_2));
    let (r2, e2) = two_sum(r1, -(kf * PIO2_3));
    let lo = (e1 + e2) - kf * PIO2_4;
    let (h, l) = two_sum(r2, lo);
    ((kf as i64 & 3) as u32, Dd::new(h, l))
}

/// 128 bits of the 256-bit number `limbs` (least significant limb first) starting at `pos`.
fn bits_at(limbs: &[u64; 4], pos: u32) -> u128 {
    let w = (pos / 64) as usize;
    let s = pos % 64;
    let get = |i: usize| if i < 4 { limbs[i] as u128 } else { 0 };
    let low = get(w) | (get(w + 1) << 64);
    if s == 0 {
        low
    } else {
        (low >> s) | (get(w + 2) << (128 - s))
    }
}

/// Payne-Hanek reduction for finite `ax >= 2^20`: `(q mod 4, r)`.
fn reduce_large(ax: f64) -> (u32, Dd) {
    let bits = ax.to_bits();
    let m = (bits & 0x000f_ffff_ffff_ffff) | (1u64 << 52);
    // ax = m * 2^e with e >= -32.
    let e = ((bits >> 52) & 0x7ff) as i32 - 1075;
    // Bits of 2/pi before index i0 (1-based) contribute multiples of 4 to ax * 2/pi.
    let i0 = (e - 1).max(1);
    let p = (i0 - 1) as usize;
    let (wi, sh) = (p / 64, (p % 64) as u32);
    let word = |j: usize| -> u64 {
        let a = TWO_OVER_PI_BITS[wi + j];
        if sh == 0 {
            a
        } else {
            (a << sh) | (TWO_OVER_PI_BITS[wi + j + 1] >> (64 - sh))
        }
    };
    let (w0, w1, w2) = (word(0), word(1), word(2));
    // m * (w0:w1:w2), a 245-bit product in four limbs.
    let m = m as u128;
    let a2 = m * w2 as u128;
    let a1 = m * w1 as u128 + (a2 >> 64);
    let a0 = m * w0 as u128 + (a1 >> 64);
    let limbs = [a2 as u64, a1 as u64, a0 as u64, (a0 >> 64) as u64];
    // ax * 2/pi = product * 2^(e - i0 - 191) (mod 4): the binary point sits at bit `pt`.
    let pt = (i0 + 191 - e) as u32;
    let mut q = (bits_at(&limbs, pt) & 3) as u32;
    let frac = bits_at(&limbs, pt - 128);
    // Round to the nearest quadrant: a fraction >= 1/2 becomes negative.
    let (neg, g) = if frac >> 127 == 1 {
        q += 1;
        (true, frac.wrapping_neg())
    } else {
        (false, frac)
    };
    if g == 0 {
        return (q & 3, Dd::ZERO);
    }
    // f = g / 2^128 as a double-double, then r = f * pi/2.
    let lz = g.leading_zeros() as i32;
    let gn = g << lz;
    let hi = mul_pow2_any((gn >> 75) as u64 as f64, -53 - lz);
    let lo = mul_pow2_any((gn & ((1u128 << 75) - 1)) as f64, -128 - lz);
    let (fh, fl) = fast_two_sum(hi, lo);
    let r = Dd::new(fh, fl).mul(PIO2_DD);
    (q & 3, if neg { r.neg() } else { r })
}

/// Reduces finite `ax >= 0`: `ax = q pi/2 + r` (mod 2 pi), `|r| <= pi/4`.
fn reduce(ax: f64) -> (u32, Dd) {
    if ax <= FRAC_PI_4 {
        (0, Dd::from_f64(ax))
    } else if ax < 1_048_576.0 {
        reduce_medium(ax)
    } else {
        reduce_large(ax)
    }
}

/// `sin r` for a reduced double-double `|r| <= pi/4` (relative error about 2^-60).
fn sin_kernel(r: Dd) -> Dd {
    let x = r.hi;
    // z = x^2 and x^3 exactly (as double-doubles); the r^3/6 term in double-double.
    let (z, ze) = two_prod(x, x);
    let (c, ce) = two_prod(x, z);
    let t1 = Dd::new(c, ce + x * ze).mul(NEG_SIXTH_DD);
    let t2 = (c * z) * horner(&SIN_COEF, z);
    let (s, se) = two_sum(x, t1.hi);
    let lo = ((se + t1.lo) + t2) + r.lo * (1.0 - 0.5 * z);
    let (h, l) = fast_two_sum(s, lo);
    Dd::new(h, l)
}

/// `cos r` for a reduced double-double `|r| <= pi/4` (relative error about 2^-60).
fn cos_kernel(r: Dd) -> Dd {
    let x = r.hi;
    let (z, ze) = two_prod(x, x);
    let hz = 0.5 * z;
    let w = 1.0 - hz;
    let err = (1.0 - w) - hz; // exact rounding error of 1 - hz
                              // z^2 / 24 in double-double, the rest plainly.
    let (q, qe) = two_prod(z, z);
    let t1 = Dd::new(q, qe + 2.0 * z * ze).mul(TWENTYFOURTH_DD);
    let t2 = (q * z) * horner(&COS_COEF, z);
    let (s, se) = two_sum(w, t1.hi);
    let lo = ((((se + err) - 0.5 * ze) + t1.lo) - t2) - x * r.lo;
    let (h, l) = fast_two_sum(s, lo);
    Dd::new(h, l)
}

/// Sine for `f64` (error below 1 ulp, measured about 0.5, for every finite argument):
/// `sin(±0) = ±0`, `sin(±inf) = NaN`.
pub fn sin_f64(x: f64) -> f64 {
    if !x.is_finite() {
        return f64::NAN;
    }
    let ax = x.abs();
    if ax < 1.490_116_119_384_765_6e-8 {
        // 2^-26: x^3/6 is below half an ulp of x.
        return x;
    }
    let (q, r) = reduce(ax);
    let v = match q {
        0 => sin_kernel(r).hi,
        1 => cos_kernel(r).hi,
        2 => -sin_kernel(r).hi,
        _ => -cos_kernel(r).hi,
    };
    if x < 0.0 {
        -v
    } else {
        v
    }
}

/// Sine for `f32`: the `f64` result rounded once to `f32`.
pub fn sin_f32(x: f32) -> f32 {
    super::narrow(sin_f64(x as f64))
}

/// Cosine for `f64` (error below 1 ulp, measured about 0.5, for every finite argument):
/// `cos(±0) = 1`, `cos(±inf) = NaN`.
pub fn cos_f64(x: f64) -> f64 {
    if !x.is_finite() {
        return f64::NAN;
    }
    let ax = x.abs();
    if ax < 7.450_580_596_923_828e-9 {
        // 2^-27: x^2/2 is below half an ulp of 1.
        return 1.0;
    }
    let (q, r) = reduce(ax);
    match q {
        0 => cos_kernel(r).hi,
        1 => -sin_kernel(r).hi,
        2 => -cos_kernel(r).hi,
        _ => sin_kernel(r).hi,
    }
}

/// Cosine for `f32`: the `f64` result rounded once to `f32`.
pub fn cos_f32(x: f32) -> f32 {
    super::narrow(cos_f64(x as f64))
}

/// Tangent for `f64` (error below 1 ulp, for every finite argument; never infinite,
/// since no `f64` is a multiple of pi/2): `tan(±0) = ±0`, `tan(±inf) = NaN`.
pub fn tan_f64(x: f64) -> f64 {
    if !x.is_finite() {
        return f64::NAN;
    }
    let ax = x.abs();
    if ax < 7.450_580_596_923_828e-9 {
        // 2^-27: x^3/3 is below half an ulp of x.
        return x;
    }
    let (q, r) = reduce(ax);
    let (s, c) = (sin_kernel(r), cos_kernel(r));
    let v = if q & 1 == 0 { s.div(c).hi } else { -c.div(s).hi };
    if x < 0.0 {
        -v
    } else {
        v
    }
}

/// Tangent for `f32`: the `f64` result rounded once to `f32`.
pub fn tan_f32(x: f32) -> f32 {
    super::narrow(tan_f64(x as f64))
}

/// `atan t` for a double-double `t` in `[0, 1]` (slightly above 1 is fine).
fn atan_unit(t: Dd) -> Dd {
    let j = round_int(t.hi * 8.0) as usize;
    let u = if j == 0 {
        t
    } else {
        let c = j as f64 * 0.125;
        // t.hi - c is exact (Sterbenz); c has 4 bits so t.hi * c is handled exactly.
        let (nh, nl) = two_sum(t.hi - c, t.lo);
        let (p, pe) = two_prod(t.hi, c);
        let (d, de) = two_sum(1.0, p);
        let dl = (de + pe) + t.lo * c;
        Dd::new(nh, nl).div(Dd::new(d, dl))
    };
    let v = u.hi * u.hi;
    let tail = u.lo + (u.hi * v) * horner(&ATAN_COEF, v);
    let (at_hi, at_lo) = ATAN_TABLE[j];
    let (s, se) = two_sum(at_hi, u.hi);
    let (h, l) = two_sum(s, (se + at_lo) + tail);
    Dd::new(h, l)
}

/// The angle of the point `(d, n)` for double-doubles `n, d >= 0`, not both zero, in
/// `[0, pi/2]`, as a double-double. Both must be in a range where their quotient and
/// the dd arithmetic neither overflow nor underflow (callers scale).
fn atan2_pos(n: Dd, d: Dd) -> Dd {
    if n.hi <= d.hi {
        atan_unit(n.div(d))
    } else {
        PIO2_DD.sub(atan_unit(d.div(n)))
    }
}

/// Arctangent for `f64`, in `[-pi/2, pi/2]` (error below 1 ulp, measured about 0.5):
/// `atan(±0) = ±0`, `atan(±inf) = ±pi/2` (rounded).
pub fn atan_f64(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    let ax = x.abs();
    if ax < 7.450_580_596_923_828e-9 {
        // 2^-27: x^3/3 is below half an ulp of x.
        return x;
    }
    if ax > 1.152_921_504_606_847e18 {
        // 2^60: pi/2 - 1/x rounds to pi/2.
        return FRAC_PI_2.copysign(x);
    }
    atan2_pos(Dd::from_f64(ax), Dd::ONE).hi.copysign(x)
}

/// Arctangent for `f32`: the `f64` result rounded once to `f32`.
pub fn atan_f32(x: f32) -> f32 {
    super::narrow(atan_f64(x as f64))
}

/// Two-argument arctangent for `f64`: the angle of `(x, y)` in `[-pi, pi]` (error below
/// 1 ulp, measured about 0.5). Special cases (C99 Annex F): `atan2(±0, +0 or x > 0) = ±0`,
/// `atan2(±0, -0 or x < 0) = ±pi`, `atan2(y, ±0) = ±pi/2` for `y != 0` of that sign,
/// `atan2(±y, -inf) = ±pi` and `atan2(±y, +inf) = ±0` for finite `y > 0`,
/// `atan2(±inf, x) = ±pi/2` for finite `x`, `atan2(±inf, -inf) = ±3pi/4`,
/// `atan2(±inf, +inf) = ±pi/4`, NaN in gives NaN out.
pub fn atan2_f64(y: f64, x: f64) -> f64 {
    if x.is_nan() || y.is_nan() {
        return f64::NAN;
    }
    let neg_x = x.is_sign_negative();
    if y == 0.0 {
        return if neg_x { PI.copysign(y) } else { y };
    }
    if x == 0.0 {
        return FRAC_PI_2.copysign(y);
    }
    let (ax, ay) = (x.abs(), y.abs());
    if ay.is_infinite() {
        let v = if ax.is_infinite() {
            if neg_x {
                3.0 * FRAC_PI_4 // 2.356194490192345, the rounded 3pi/4
            } else {
                FRAC_PI_4
            }
        } else {
            FRAC_PI_2
        };
        return v.copysign(y);
    }
    if ax.is_infinite() {
        return if neg_x { PI.copysign(y) } else { 0.0f64.copysign(y) };
    }
    let (ey, ex) = (ilogb(ay), ilogb(ax));
    if ey - ex > 60 {
        // |y/x| > 2^60: pi/2 -/+ |x/y| rounds to pi/2 either way.
        return FRAC_PI_2.copysign(y);
    }
    if ex - ey > 60 {
        // |y/x| < 2^-59: atan(|y/x|) = |y/x| to far below half an ulp.
        return if neg_x { PI.copysign(y) } else { (ay / ax).copysign(y) };
    }
    // Scale both by 2^-ex (exact): ax in [1, 2), ay in [2^-60, 2^62).
    let (sx, sy) = (mul_pow2_any(ax, -ex), mul_pow2_any(ay, -ex));
    let a = atan2_pos(Dd::from_f64(sy), Dd::from_f64(sx));
    let a = if neg_x { PI_DD.sub(a) } else { a };
    a.hi.copysign(y)
}

/// Two-argument arctangent for `f32`: the `f64` result rounded once to `f32`.
pub fn atan2_f32(y: f32, x: f32) -> f32 {
    super::narrow(atan2_f64(y as f64, x as f64))
}

/// `sqrt(1 - a^2)` as a double-double for `a` in `[0, 1]`.
fn sqrt_one_minus_sq(a: f64) -> Dd {
    let u = if a >= 0.5 {
        // (1 - a)(1 + a), with 1 - a exact.
        let (h, l) = two_sum(1.0, a);
        Dd::from_f64(1.0 - a).mul(Dd::new(h, l))
    } else {
        let (p, pe) = two_prod(a, a);
        let (h, l) = two_sum(1.0, -p);
        Dd::new(h, l - pe)
    };
    u.sqrt()
}

/// Arcsine for `f64`, in `[-pi/2, pi/2]` (error below 1 ulp, measured about 0.5):
/// `asin(±0) = ±0`, `asin(±1) = ±pi/2`, NaN for `|x| > 1`.
pub fn asin_f64(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    let ax = x.abs();
    if ax > 1.0 {
        return f64::NAN;
    }
    if ax < 1.490_116_119_384_765_6e-8 {
        // 2^-26: x^3/6 is below half an ulp of x.
        return x;
    }
    atan2_pos(Dd::from_f64(ax), sqrt_one_minus_sq(ax)).hi.copysign(x)
}

/// Arcsine for `f32`: the `f64` result rounded once to `f32`.
pub fn asin_f32(x: f32) -> f32 {
    super::narrow(asin_f64(x as f64))
}

/// Arccosine for `f64`, in `[0, pi]` (error below 1 ulp, measured about 0.5):
/// `acos(1) = +0`, `acos(-1) = pi`, `acos(±0) = pi/2`, NaN for `|x| > 1`.
pub fn acos_f64(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    let ax = x.abs();
    if ax > 1.0 {
        return f64::NAN;
    }
    let a = atan2_pos(sqrt_one_minus_sq(ax), Dd::from_f64(ax));
    if x < 0.0 {
        PI_DD.sub(a).hi
    } else {
        a.hi
    }
}

/// Arccosine for `f32`: the `f64` result rounded once to `f32`.
pub fn acos_f32(x: f32) -> f32 {
    super::narrow(acos_f64(x as f64))
}
