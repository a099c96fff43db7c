//! Accuracy sweeps against an oracle and exact special-value checks.
//!
//! Oracles: the platform's `f64` functions (through `std`, or libm directly for `erf`,
//! `asinh`, `acosh`, `atanh`, which `std` lacks or computes itself less accurately). They
//! are accurate to about 1 ulp (a few are documented at up to 2 ulp), so an `f64` bound
//! here covers our error plus the oracle's. An `f32` result is compared with the oracle's
//! `f64` result rounded to `f32`.

use super::dd::Dd;
use super::*;
use std::f64::consts as c64;

extern "C" {
    #[link_name = "erf"]
    fn libm_erf(x: f64) -> f64;
    #[link_name = "asinh"]
    fn libm_asinh(x: f64) -> f64;
    #[link_name = "acosh"]
    fn libm_acosh(x: f64) -> f64;
    #[link_name = "atanh"]
    fn libm_atanh(x: f64) -> f64;
}

fn o_erf(x: f64) -> f64 {
    // SAFETY: a pure libm function of one double.
    unsafe { libm_erf(x) }
}
fn o_asinh(x: f64) -> f64 {
    // SAFETY: a pure libm function of one double.
    unsafe { libm_asinh(x) }
}
fn o_acosh(x: f64) -> f64 {
    // SAFETY: a pure libm function of one double.
    unsafe { libm_acosh(x) }
}
fn o_atanh(x: f64) -> f64 {
    // SAFETY: a pure libm function of one double.
    unsafe { libm_atanh(x) }
}
/// Sigmoid oracle: std `exp` finished in double-double (about 0.75 ulp).
fn o_sigmoid(x: f64) -> f64 {
    let e = (-x.abs()).exp();
    let d = Dd::ONE.add(Dd::from_f64(e));
    if x >= 0.0 {
        Dd::ONE.div(d).hi
    } else {
        Dd::from_f64(e).div(d).hi
    }
}

/// Deterministic xorshift64* generator.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 * (1.0 / 9_007_199_254_740_992.0)
    }
    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
    /// Random significand times 2^e, e uniform in [e_lo, e_hi], random sign if `signed`.
    fn log_uniform(&mut self, e_lo: i32, e_hi: i32, signed: bool) -> f64 {
        let e = e_lo + (self.next() % (e_hi - e_lo + 1) as u64) as i32;
        let m = 1.0 + self.unit();
        let v = m * 2f64.powi(e);
        if signed && self.next() & 1 == 1 {
            -v
        } else {
            v
        }
    }
}

fn ord64(x: f64) -> i64 {
    let b = x.to_bits() as i64;
    if b < 0 {
        i64::MIN - b
    } else {
        b
    }
}
fn ord32(x: f32) -> i32 {
    let b = x.to_bits() as i32;
    if b < 0 {
        i32::MIN - b
    } else {
        b
    }
}
/// Distance in ulps (representable values between), NaN only equal to NaN.
fn ulp64(a: f64, b: f64) -> u64 {
    if a.is_nan() || b.is_nan() {
        return if a.is_nan() && b.is_nan() { 0 } else { u64::MAX };
    }
    if a == b {
        return 0;
    }
    ord64(a).abs_diff(ord64(b))
}
fn ulp32(a: f32, b: f32) -> u64 {
    if a.is_nan() || b.is_nan() {
        return if a.is_nan() && b.is_nan() { 0 } else { u64::MAX };
    }
    if a == b {
        return 0;
    }
    ord32(a).abs_diff(ord32(b)) as u64
}

/// Max ulp error of `f` against `oracle` over `xs`; asserts it is within `tol`.
fn check64(name: &str, f: fn(f64) -> f64, oracle: fn(f64) -> f64, xs: &[f64], tol: u64) {
    let (mut worst, mut at) = (0, 0.0);
    for &x in xs {
        let d = ulp64(f(x), oracle(x));
        if d > worst {
            (worst, at) = (d, x);
        }
    }
    eprintln!("MEASURED {name}: {worst} ulp (f64, {} points, at {at:e})", xs.len());
    assert!(
        worst <= tol,
        "{name}({at:e}) = {:e}, oracle {:e}: {worst} ulp > {tol}",
        f(at),
        oracle(at)
    );
}
fn check32(name: &str, f: fn(f32) -> f32, oracle: fn(f64) -> f64, xs: &[f32], tol: u64) {
    let (mut worst, mut at) = (0, 0.0f32);
    for &x in xs {
        let d = ulp32(f(x), oracle(x as f64) as f32);
        if d > worst {
            (worst, at) = (d, x);
        }
    }
    eprintln!("MEASURED {name}: {worst} ulp (f32, {} points, at {at:e})", xs.len());
    assert!(
        worst <= tol,
        "{name}({at:e}) = {:e}, oracle {:e}: {worst} ulp > {tol}",
        f(at),
        oracle(at as f64) as f32
    );
}
type F2<T> = fn(T, T) -> T;
fn check64_2(name: &str, f: F2<f64>, oracle: F2<f64>, xs: &[(f64, f64)], tol: u64) {
    let (mut worst, mut at) = (0, (0.0, 0.0));
    for &(x, y) in xs {
        let d = ulp64(f(x, y), oracle(x, y));
        if d > worst {
            (worst, at) = (d, (x, y));
        }
    }
    eprintln!("MEASURED {name}: {worst} ulp (f64, {} points, at {at:?})", xs.len());
    assert!(worst <= tol, "{name}{at:?}: {worst} ulp > {tol}");
}
fn check32_2(name: &str, f: F2<f32>, oracle: F2<f64>, xs: &[(f32, f32)], tol: u64) {
    let (mut worst, mut at) = (0, (0.0f32, 0.0f32));
    for &(x, y) in xs {
        let d = ulp32(f(x, y), oracle(x as f64, y as f64) as f32);
        if d > worst {
            (worst, at) = (d, (x, y));
        }
    }
    eprintln!("MEASURED {name}: {worst} ulp (f32, {} points, at {at:?})", xs.len());
    assert!(worst <= tol, "{name}{at:?}: {worst} ulp > {tol}");
}

/// `n` points: `n/2` uniform in `[lo, hi]`, `n/2` log-uniform with exponents in
/// `[e_lo, e_hi]` (random sign if `signed`), clipped to `[lo, hi]`.
fn points(seed: u64, n: usize, lo: f64, hi: f64, e_lo: i32, e_hi: i32, signed: bool) -> Vec<f64> {
    let mut r = Rng(seed);
    let mut v = Vec::with_capacity(n);
    for i in 0..n {
        let x = if i % 2 == 0 {
            r.uniform(lo, hi)
        } else {
            r.log_uniform(e_lo, e_hi, signed)
        };
        if x >= lo && x <= hi {
            v.push(x);
        }
    }
    v
}
fn to32(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).filter(|x| x.is_finite()).collect()
}
/// Random finite `f32` bit patterns.
fn all_f32(seed: u64, n: usize) -> Vec<f32> {
    let mut r = Rng(seed);
    (0..n)
        .map(|_| f32::from_bits(r.next() as u32))
        .filter(|x| x.is_finite())
        .collect()
}

const N: usize = 100_000;

#[test]
fn math_sweep_exp() {
    let xs = points(1, N, -746.0, 711.0, -60, 9, true);
    check64("exp", exp_f64, f64::exp, &xs, 1);
    check32(
        "exp",
        exp_f32,
        f64::exp,
        &to32(&points(2, N, -104.0, 89.0, -30, 6, true)),
        1,
    );
    let xs = points(3, N, -1080.0, 1025.0, -60, 10, true);
    check64("exp2", exp2_f64, f64::exp2, &xs, 1);
    check32(
        "exp2",
        exp2_f32,
        f64::exp2,
        &to32(&points(4, N, -150.0, 129.0, -30, 7, true)),
        1,
    );
    let xs = points(5, N, -50.0, 711.0, -70, 9, true);
    check64("exp_m1", exp_m1_f64, f64::exp_m1, &xs, 1);
    check32(
        "exp_m1",
        exp_m1_f32,
        f64::exp_m1,
        &to32(&points(6, N, -20.0, 89.0, -40, 6, true)),
        1,
    );
}

#[test]
fn math_sweep_log() {
    let mut xs = points(7, N, 0.0, 4.0, -1074, 1023, false);
    xs.extend(
        points(8, N / 2, 0.5, 2.0, -60, -1, false)
            .iter()
            .map(|d| 1.0 + d * 0.01),
    );
    check64("ln", ln_f64, f64::ln, &xs, 1);
    check64("log2", log2_f64, f64::log2, &xs, 1);
    // glibc's log10 is documented at up to 2 ulp (ours measures below 1 against mpmath).
    check64("log10", log10_f64, f64::log10, &xs, 2);
    let xs32 = all_f32(9, N).into_iter().map(f32::abs).collect::<Vec<_>>();
    check32("ln", ln_f32, f64::ln, &xs32, 1);
    check32("log2", log2_f32, f64::log2, &xs32, 1);
    check32("log10", log10_f32, f64::log10, &xs32, 1);
    let mut xs = points(10, N, -1.0, 10.0, -80, 1023, true);
    xs.extend(points(11, N / 4, 0.0, 1.0, -60, -1, false).iter().map(|d| d - 1.0));
    check64("ln_1p", ln_1p_f64, f64::ln_1p, &xs, 1);
    let xs32 = all_f32(12, N).into_iter().filter(|&x| x >= -1.0).collect::<Vec<_>>();
    check32("ln_1p", ln_1p_f32, f64::ln_1p, &xs32, 1);
}

#[test]
fn math_sweep_pow() {
    let mut r = Rng(13);
    let mut xy = Vec::new();
    for _ in 0..N / 2 {
        xy.push((r.log_uniform(-30, 30, false), r.uniform(-40.0, 40.0)));
    }
    for _ in 0..N / 4 {
        // Near 1 with large exponents: amplification of the logarithm's error.
        let x = 1.0 + r.log_uniform(-50, -3, true);
        xy.push((x, r.uniform(-700.0, 700.0) / x.ln().abs().max(1e-300)));
    }
    for _ in 0..N / 4 {
        // Results near overflow and underflow, negative bases with integer exponents.
        let x = r.log_uniform(-8, 8, true);
        let y = (r.uniform(-1070.0, 1020.0) / x.abs().log2()).round();
        xy.push((x, y));
    }
    check64_2("pow", pow_f64, f64::powf, &xy, 1);
    let mut xy32 = Vec::new();
    for _ in 0..N {
        let neg = r.next() & 3 == 0;
        let x = r.log_uniform(-20, 20, neg) as f32;
        let y = if x < 0.0 {
            r.uniform(-30.0, 30.0).round()
        } else {
            r.uniform(-40.0, 40.0)
        };
        xy32.push((x, y as f32));
    }
    check32_2("pow", pow_f32, f64::powf, &xy32, 1);
}

#[test]
fn math_sweep_trig() {
    let mut xs = points(14, N, -10.0, 10.0, -30, 3, true);
    xs.extend(points(15, N / 2, -2e6, 2e6, -30, 21, true));
    xs.extend(points(16, N / 4, -f64::MAX, f64::MAX, 20, 1023, true));
    // Near multiples of pi/2, where the reduction cancels most.
    for k in 1..2000 {
        let m = k as f64 * c64::FRAC_PI_2;
        xs.push(m);
        xs.push(f64::from_bits(m.to_bits() + 1));
        xs.push(f64::from_bits(m.to_bits() - 1));
    }
    check64("sin", sin_f64, f64::sin, &xs, 1);
    check64("cos", cos_f64, f64::cos, &xs, 1);
    check64("tan", tan_f64, f64::tan, &xs, 2);
    let mut xs32 = to32(&points(17, N, -10.0, 10.0, -30, 3, true));
    xs32.extend(to32(&points(18, N / 2, -1e5, 1e5, -20, 17, true)));
    xs32.extend(all_f32(19, N / 2));
    check32("sin", sin_f32, f64::sin, &xs32, 1);
    check32("cos", cos_f32, f64::cos, &xs32, 1);
    check32("tan", tan_f32, f64::tan, &xs32, 1);
}

#[test]
fn math_sweep_inverse_trig() {
    let mut xs = points(20, N, -1.0, 1.0, -60, -1, true);
    xs.extend(points(21, N / 4, 0.0, 1.0, -60, -2, false).iter().map(|d| 1.0 - d));
    xs.extend(points(22, N / 4, -1.0, 0.0, -60, -2, false).iter().map(|d| d - 1.0));
    check64("asin", asin_f64, f64::asin, &xs, 1);
    check64("acos", acos_f64, f64::acos, &xs, 1);
    let xs32 = to32(&xs);
    check32("asin", asin_f32, f64::asin, &xs32, 1);
    check32("acos", acos_f32, f64::acos, &xs32, 1);
    let xs = points(23, N, -4.0, 4.0, -1074, 1023, true);
    check64("atan", atan_f64, f64::atan, &xs, 1);
    check32("atan", atan_f32, f64::atan, &all_f32(24, N), 1);
    let mut r = Rng(25);
    let mut xy = Vec::new();
    for _ in 0..N {
        let (a, b) = if r.next() & 1 == 0 {
            (r.log_uniform(-10, 10, true), r.log_uniform(-10, 10, true))
        } else {
            (r.log_uniform(-1074, 1023, true), r.log_uniform(-1074, 1023, true))
        };
        xy.push((a, b));
    }
    check64_2("atan2", atan2_f64, f64::atan2, &xy, 1);
    let xy32: Vec<(f32, f32)> = all_f32(26, N).chunks_exact(2).map(|p| (p[0], p[1])).collect();
    check32_2("atan2", atan2_f32, f64::atan2, &xy32, 1);
}

#[test]
fn math_sweep_hyperbolic() {
    let xs = points(27, N, -712.0, 712.0, -40, 5, true);
    check64("sinh", sinh_f64, f64::sinh, &xs, 2);
    check64("cosh", cosh_f64, f64::cosh, &xs, 2);
    let xs32 = to32(&points(28, N, -90.0, 90.0, -30, 5, true));
    check32("sinh", sinh_f32, f64::sinh, &xs32, 1);
    check32("cosh", cosh_f32, f64::cosh, &xs32, 1);
    let xs = points(29, N, -25.0, 25.0, -40, 4, true);
    check64("tanh", tanh_f64, f64::tanh, &xs, 2);
    check32("tanh", tanh_f32, f64::tanh, &to32(&xs), 1);
    let xs = points(30, N, -10.0, 10.0, -1074, 1023, true);
    check64("asinh", asinh_f64, o_asinh, &xs, 2);
    check32("asinh", asinh_f32, o_asinh, &all_f32(31, N), 1);
    let mut xs = points(32, N, 1.0, 10.0, 0, 1023, false);
    xs.extend(points(33, N / 2, 0.0, 1.0, -60, -1, false).iter().map(|d| 1.0 + d));
    check64("acosh", acosh_f64, o_acosh, &xs, 2);
    check32("acosh", acosh_f32, o_acosh, &to32(&xs), 1);
    let mut xs = points(34, N, -1.0, 1.0, -60, -1, true);
    xs.extend(points(35, N / 2, 0.0, 1.0, -53, -2, false).iter().map(|d| 1.0 - d));
    check64("atanh", atanh_f64, o_atanh, &xs, 2);
    check32("atanh", atanh_f32, o_atanh, &to32(&xs), 1);
}

#[test]
fn math_sweep_erf_sigmoid() {
    let xs = points(36, N, -7.0, 7.0, -1074, 3, true);
    check64("erf", erf_f64, o_erf, &xs, 2);
    check32(
        "erf",
        erf_f32,
        o_erf,
        &to32(&points(37, N, -5.0, 5.0, -149, 2, true)),
        1,
    );
    let xs = points(38, N, -760.0, 50.0, -60, 6, true);
    check64("sigmoid", sigmoid_f64, o_sigmoid, &xs, 1);
    check32(
        "sigmoid",
        sigmoid_f32,
        o_sigmoid,
        &to32(&points(39, N, -110.0, 30.0, -40, 6, true)),
        1,
    );
}

/// Bitwise equality: sign of zero significant, and a NaN only equals the same NaN bits.
fn same(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits()
}

macro_rules! expect {
    ($($call:expr => $want:expr),* $(,)?) => {$(
        let (got, want): (f64, f64) = ($call, $want);
        assert!(same(got, want), "{} = {got:e} ({:#x}), want {want:e}", stringify!($call), got.to_bits());
    )*};
}
macro_rules! expect32 {
    ($($call:expr => $want:expr),* $(,)?) => {$(
        let (got, want): (f32, f32) = ($call, $want);
        assert!(
            got.to_bits() == want.to_bits(),
            "{} = {got:e}, want {want:e}", stringify!($call)
        );
    )*};
}

const INF: f64 = f64::INFINITY;
const NAN: f64 = f64::NAN;
/// Smallest positive subnormal.
const TINY: f64 = 4.9e-324;

#[test]
fn math_special_exp_log() {
    expect! {
        exp_f64(NAN) => NAN, exp_f64(INF) => INF, exp_f64(-INF) => 0.0,
        exp_f64(0.0) => 1.0, exp_f64(-0.0) => 1.0, exp_f64(1.0) => c64::E,
        exp_f64(710.0) => INF, exp_f64(709.78) => 1.7928227943945155e308,
        exp_f64(-746.0) => 0.0, exp_f64(-745.0) => TINY, exp_f64(c64::LN_2) => 2.0,
        exp2_f64(10.0) => 1024.0, exp2_f64(-1074.0) => TINY, exp2_f64(-1075.0) => 0.0,
        exp2_f64(1023.0) => 8.98846567431158e307, exp2_f64(1024.0) => INF,
        exp2_f64(0.5) => c64::SQRT_2, exp2_f64(-INF) => 0.0, exp2_f64(NAN) => NAN,
        exp_m1_f64(0.0) => 0.0, exp_m1_f64(-0.0) => -0.0, exp_m1_f64(-INF) => -1.0,
        exp_m1_f64(INF) => INF, exp_m1_f64(NAN) => NAN, exp_m1_f64(1e-300) => 1e-300,
        exp_m1_f64(TINY) => TINY, exp_m1_f64(-TINY) => -TINY, exp_m1_f64(-50.0) => -1.0,
        ln_f64(0.0) => -INF, ln_f64(-0.0) => -INF, ln_f64(-1.0) => NAN, ln_f64(-INF) => NAN,
        ln_f64(1.0) => 0.0, ln_f64(INF) => INF, ln_f64(NAN) => NAN, ln_f64(2.0) => c64::LN_2,
        ln_f64(c64::E) => 1.0, ln_f64(TINY) => -744.4400719213812,
        ln_f64(f64::MAX) => 709.782712893384,
        log2_f64(TINY) => -1074.0, log2_f64(1024.0) => 10.0, log2_f64(0.125) => -3.0,
        log2_f64(0.0) => -INF, log2_f64(-2.0) => NAN,
        log10_f64(1000.0) => 3.0, log10_f64(1e22) => 22.0, log10_f64(1e-5) => -5.0,
        log10_f64(0.0) => -INF,
        ln_1p_f64(0.0) => 0.0, ln_1p_f64(-0.0) => -0.0, ln_1p_f64(-1.0) => -INF,
        ln_1p_f64(-2.0) => NAN, ln_1p_f64(INF) => INF, ln_1p_f64(NAN) => NAN,
        ln_1p_f64(1e-300) => 1e-300, ln_1p_f64(-TINY) => -TINY,
        ln_1p_f64(f64::MAX) => 709.782712893384,
    }
    expect32! {
        exp_f32(-0.0) => 1.0, exp_f32(89.0) => f32::INFINITY, exp_f32(-104.0) => 0.0,
        exp_f32(-103.0) => 1e-45, exp_f32(f32::NAN) => f32::NAN,
        exp_m1_f32(-0.0) => -0.0, ln_f32(0.0) => f32::NEG_INFINITY, ln_f32(-1.0) => f32::NAN,
        ln_f32(1.0) => 0.0, ln_1p_f32(-1.0) => f32::NEG_INFINITY, ln_1p_f32(-0.0) => -0.0,
        log2_f32(1.0e-45) => -149.0, log10_f32(1e10) => 10.0, exp2_f32(-149.0) => 1e-45,
    }
}

#[test]
fn math_special_pow() {
    expect! {
        pow_f64(NAN, 0.0) => 1.0, pow_f64(NAN, -0.0) => 1.0, pow_f64(INF, 0.0) => 1.0,
        pow_f64(1.0, NAN) => 1.0, pow_f64(1.0, INF) => 1.0, pow_f64(1.0, -INF) => 1.0,
        pow_f64(NAN, 1.0) => NAN, pow_f64(2.0, NAN) => NAN, pow_f64(-1.0, NAN) => NAN,
        pow_f64(-1.0, INF) => 1.0, pow_f64(-1.0, -INF) => 1.0,
        pow_f64(0.5, INF) => 0.0, pow_f64(-0.5, INF) => 0.0, pow_f64(2.0, INF) => INF,
        pow_f64(-2.0, INF) => INF, pow_f64(0.5, -INF) => INF, pow_f64(2.0, -INF) => 0.0,
        pow_f64(-0.0, -3.0) => -INF, pow_f64(0.0, -3.0) => INF, pow_f64(-0.0, -2.0) => INF,
        pow_f64(-0.0, -0.5) => INF, pow_f64(-0.0, -INF) => INF, pow_f64(-0.0, 3.0) => -0.0,
        pow_f64(0.0, 3.0) => 0.0, pow_f64(-0.0, 2.0) => 0.0, pow_f64(-0.0, 0.5) => 0.0,
        pow_f64(-0.0, INF) => 0.0,
        pow_f64(-INF, 3.0) => -INF, pow_f64(-INF, 2.0) => INF, pow_f64(-INF, 0.5) => INF,
        pow_f64(-INF, -3.0) => -0.0, pow_f64(-INF, -2.0) => 0.0, pow_f64(-INF, -0.5) => 0.0,
        pow_f64(INF, -1.0) => 0.0, pow_f64(INF, 0.5) => INF,
        pow_f64(-8.0, 1.0 / 3.0) => NAN, pow_f64(-2.0, 3.0) => -8.0, pow_f64(-2.0, 2.0) => 4.0,
        pow_f64(2.0, 0.5) => c64::SQRT_2, pow_f64(10.0, -2.0) => 0.01, pow_f64(3.0, 40.0) => 1.2157665459056929e19,
        pow_f64(2.0, 1024.0) => INF, pow_f64(2.0, 1023.0) => 8.98846567431158e307,
        pow_f64(2.0, -1074.0) => TINY, pow_f64(2.0, -1075.0) => 0.0,
        pow_f64(-2.0, -1075.0) => -0.0, pow_f64(-2.0, 1025.0) => -INF,
        pow_f64(10.0, 308.0) => 1e308, pow_f64(1e-300, 1e-300) => 1.0, pow_f64(7.0, 1.0) => 7.0,
    }
    expect32! {
        pow_f32(f32::NAN, 0.0) => 1.0, pow_f32(1.0, f32::NAN) => 1.0,
        pow_f32(-0.0, -3.0) => f32::NEG_INFINITY, pow_f32(-0.0, 3.0) => -0.0,
        pow_f32(-8.0, 0.5) => f32::NAN, pow_f32(-2.0, 3.0) => -8.0,
        pow_f32(2.0, 128.0) => f32::INFINITY, pow_f32(2.0, -149.0) => 1e-45,
        pow_f32(2.0, -150.0) => 0.0, pow_f32(-2.0, -151.0) => -0.0,
        pow_f32(16777215.0, 1.0) => 16777215.0, pow_f32(-1.0, f32::INFINITY) => 1.0,
    }
}

#[test]
fn math_special_trig() {
    expect! {
        sin_f64(0.0) => 0.0, sin_f64(-0.0) => -0.0, sin_f64(INF) => NAN, sin_f64(-INF) => NAN,
        sin_f64(NAN) => NAN, sin_f64(c64::PI) => 1.2246467991473532e-16,
        sin_f64(-c64::FRAC_PI_2) => -1.0, sin_f64(1e-300) => 1e-300, sin_f64(-TINY) => -TINY,
        cos_f64(0.0) => 1.0, cos_f64(-0.0) => 1.0, cos_f64(INF) => NAN, cos_f64(c64::PI) => -1.0,
        cos_f64(c64::FRAC_PI_2) => 6.123233995736766e-17,
        tan_f64(0.0) => 0.0, tan_f64(-0.0) => -0.0, tan_f64(-INF) => NAN,
        tan_f64(c64::FRAC_PI_4) => 0.9999999999999999,
        tan_f64(c64::FRAC_PI_2) => 1.633123935319537e16,
        asin_f64(2.0) => NAN, asin_f64(-1.0000000000000002) => NAN, asin_f64(1.0) => c64::FRAC_PI_2,
        asin_f64(-1.0) => -c64::FRAC_PI_2, asin_f64(-0.0) => -0.0, asin_f64(0.5) => c64::FRAC_PI_6,
        acos_f64(1.0) => 0.0, acos_f64(-1.0) => c64::PI, acos_f64(0.0) => c64::FRAC_PI_2,
        acos_f64(-0.0) => c64::FRAC_PI_2, acos_f64(1.5) => NAN, acos_f64(NAN) => NAN,
        atan_f64(INF) => c64::FRAC_PI_2, atan_f64(-INF) => -c64::FRAC_PI_2,
        atan_f64(-0.0) => -0.0, atan_f64(1.0) => c64::FRAC_PI_4, atan_f64(NAN) => NAN,
        atan2_f64(0.0, 0.0) => 0.0, atan2_f64(-0.0, 0.0) => -0.0,
        atan2_f64(0.0, -0.0) => c64::PI, atan2_f64(-0.0, -0.0) => -c64::PI,
        atan2_f64(0.0, -1.0) => c64::PI, atan2_f64(-0.0, -1.0) => -c64::PI,
        atan2_f64(0.0, 1.0) => 0.0, atan2_f64(-0.0, 1.0) => -0.0,
        atan2_f64(1.0, 0.0) => c64::FRAC_PI_2, atan2_f64(-1.0, -0.0) => -c64::FRAC_PI_2,
        atan2_f64(1.0, -INF) => c64::PI, atan2_f64(-1.0, -INF) => -c64::PI,
        atan2_f64(1.0, INF) => 0.0, atan2_f64(-1.0, INF) => -0.0,
        atan2_f64(INF, 5.0) => c64::FRAC_PI_2, atan2_f64(-INF, -5.0) => -c64::FRAC_PI_2,
        atan2_f64(INF, -INF) => 2.356194490192345, atan2_f64(-INF, -INF) => -2.356194490192345,
        atan2_f64(INF, INF) => c64::FRAC_PI_4, atan2_f64(-INF, INF) => -c64::FRAC_PI_4,
        atan2_f64(NAN, 1.0) => NAN, atan2_f64(1.0, NAN) => NAN,
        atan2_f64(1.0, 1.0) => c64::FRAC_PI_4, atan2_f64(-1.0, -1.0) => -2.356194490192345,
        atan2_f64(TINY, 1.0) => TINY, atan2_f64(f64::MAX, TINY) => c64::FRAC_PI_2,
    }
    // Huge arguments, exactly reduced (expected values from 4000-bit mpmath; the fourth
    // argument is the double closest to a multiple of pi/2, where glibc's cos is off).
    let hard = 6381956970095103.0 * 2f64.powi(797);
    expect! {
        sin_f64(1e22) => -0.8522008497671888, cos_f64(1e22) => 0.523214785395139,
        tan_f64(1e22) => -1.6287782256068988,
        sin_f64(1e300) => -0.8178819121159085, cos_f64(1e300) => -0.5753861119575491,
        tan_f64(1e300) => 1.4214488238747245,
        sin_f64(f64::MAX) => 0.004961954789184062, cos_f64(f64::MAX) => -0.9999876894265599,
        tan_f64(f64::MAX) => -0.004962015874444895,
        sin_f64(hard) => 1.0, cos_f64(hard) => -4.687165924254628e-19,
        tan_f64(hard) => -2.133485385753704e18,
        sin_f64(1048576.0) => 0.3304931400217347, cos_f64(1048576.0) => 0.943808393901312,
        tan_f64(1048576.0) => 0.350169740126609,
        sin_f64(-1e22) => 0.8522008497671888, tan_f64(-1e300) => -1.4214488238747245,
    }
    expect32! {
        sin_f32(-0.0) => -0.0, cos_f32(-0.0) => 1.0, tan_f32(-0.0) => -0.0,
        sin_f32(f32::INFINITY) => f32::NAN, asin_f32(2.0) => f32::NAN, acos_f32(-1.0) => std::f32::consts::PI,
        atan2_f32(-0.0, -0.0) => -std::f32::consts::PI, atan_f32(-0.0) => -0.0,
        sin_f32(f32::MAX) => -0.521_876_5,
    }
}

#[test]
fn math_special_hyperbolic_erf_sigmoid() {
    expect! {
        sinh_f64(0.0) => 0.0, sinh_f64(-0.0) => -0.0, sinh_f64(INF) => INF, sinh_f64(-INF) => -INF,
        sinh_f64(NAN) => NAN, sinh_f64(711.0) => INF, sinh_f64(-711.0) => -INF,
        sinh_f64(710.0) => 1.1169973830808555e308, sinh_f64(1e-300) => 1e-300,
        cosh_f64(0.0) => 1.0, cosh_f64(-0.0) => 1.0, cosh_f64(-INF) => INF, cosh_f64(INF) => INF,
        cosh_f64(-711.0) => INF, cosh_f64(NAN) => NAN,
        tanh_f64(0.0) => 0.0, tanh_f64(-0.0) => -0.0, tanh_f64(INF) => 1.0, tanh_f64(-INF) => -1.0,
        tanh_f64(NAN) => NAN, tanh_f64(-TINY) => -TINY, tanh_f64(30.0) => 1.0,
        asinh_f64(-0.0) => -0.0, asinh_f64(-INF) => -INF, asinh_f64(NAN) => NAN,
        asinh_f64(f64::MAX) => 710.475860073944,
        acosh_f64(1.0) => 0.0, acosh_f64(0.5) => NAN, acosh_f64(-INF) => NAN, acosh_f64(INF) => INF,
        acosh_f64(NAN) => NAN, acosh_f64(f64::MAX) => 710.475860073944,
        atanh_f64(1.0) => INF, atanh_f64(-1.0) => -INF, atanh_f64(2.0) => NAN,
        atanh_f64(-0.0) => -0.0, atanh_f64(NAN) => NAN, atanh_f64(0.5) => 0.5493061443340549,
        erf_f64(0.0) => 0.0, erf_f64(-0.0) => -0.0, erf_f64(INF) => 1.0, erf_f64(-INF) => -1.0,
        erf_f64(NAN) => NAN, erf_f64(6.0) => 1.0, erf_f64(-5.9) => -0.9999999999999999, erf_f64(-6.5) => -1.0, erf_f64(1.0) => 0.8427007929497149,
        erf_f64(TINY) => TINY, erf_f64(-1e-300) => -1.1283791670955126e-300,
        sigmoid_f64(0.0) => 0.5, sigmoid_f64(-0.0) => 0.5, sigmoid_f64(INF) => 1.0,
        sigmoid_f64(-INF) => 0.0, sigmoid_f64(NAN) => NAN, sigmoid_f64(40.0) => 1.0,
        sigmoid_f64(-800.0) => 0.0, sigmoid_f64(-745.0) => TINY,
    }
    expect32! {
        tanh_f32(-0.0) => -0.0, tanh_f32(f32::NEG_INFINITY) => -1.0, sinh_f32(-0.0) => -0.0,
        sinh_f32(90.0) => f32::INFINITY, cosh_f32(-90.0) => f32::INFINITY,
        atanh_f32(-1.0) => f32::NEG_INFINITY, atanh_f32(1.5) => f32::NAN, acosh_f32(0.0) => f32::NAN,
        acosh_f32(1.0) => 0.0, asinh_f32(-0.0) => -0.0, erf_f32(-0.0) => -0.0, erf_f32(4.0) => 1.0,
        sigmoid_f32(0.0) => 0.5, sigmoid_f32(20.0) => 1.0, sigmoid_f32(-104.0) => 0.0,
    }
}

type Fn64 = fn(f64) -> f64;
type Fn32 = fn(f32) -> f32;

/// Every function as a one-argument `f64` function (`pow` and `atan2` with a fixed partner).
const ALL64: [Fn64; 23] = [
    exp_f64,
    exp2_f64,
    exp_m1_f64,
    ln_f64,
    ln_1p_f64,
    log2_f64,
    log10_f64,
    sin_f64,
    cos_f64,
    tan_f64,
    asin_f64,
    acos_f64,
    atan_f64,
    sinh_f64,
    cosh_f64,
    tanh_f64,
    asinh_f64,
    acosh_f64,
    atanh_f64,
    erf_f64,
    sigmoid_f64,
    |x| pow_f64(x.abs(), 0.7 - x),
    |x| atan2_f64(x, -0.3),
];
/// The same for `f32`.
const ALL32: [Fn32; 23] = [
    exp_f32,
    exp2_f32,
    exp_m1_f32,
    ln_f32,
    ln_1p_f32,
    log2_f32,
    log10_f32,
    sin_f32,
    cos_f32,
    tan_f32,
    asin_f32,
    acos_f32,
    atan_f32,
    sinh_f32,
    cosh_f32,
    tanh_f32,
    asinh_f32,
    acosh_f32,
    atanh_f32,
    erf_f32,
    sigmoid_f32,
    |x| pow_f32(x.abs(), 0.7 - x),
    |x| atan2_f32(x, -0.3),
];

/// NaN results are the canonical quiet NaN whatever the input NaN's sign and payload.
#[test]
fn math_nan_is_canonical() {
    let odd_nans = [
        f64::from_bits(0xfff8_0000_0000_1234),
        f64::from_bits(0x7ff0_0000_0000_0001),
    ];
    for (i, (f, f32_)) in ALL64.iter().zip(ALL32).enumerate() {
        for &n in &odd_nans {
            assert_eq!(f(n).to_bits(), f64::NAN.to_bits(), "function #{i}");
            assert_eq!(f32_(n as f32).to_bits(), f32::NAN.to_bits(), "function #{i} (f32)");
        }
        assert_eq!(f32_(f32::from_bits(0xffc0_0001)).to_bits(), f32::NAN.to_bits());
    }
    assert_eq!(
        pow_f64(2.0, f64::from_bits(0xfff8_0000_0000_0001)).to_bits(),
        f64::NAN.to_bits()
    );
    // Domain errors and invalid operations produce the same canonical NaN.
    for v in [
        ln_f64(-1.0),
        sin_f64(INF),
        acosh_f64(0.0),
        atanh_f64(-3.0),
        pow_f64(-2.0, 0.5),
    ] {
        assert_eq!(v.to_bits(), f64::NAN.to_bits());
    }
}

/// Deterministic bit patterns: a checksum over a fixed set of results of every function,
/// pinning the exact bits the reference backend defines. A change here changes the
/// numerics contract (every backend's `strict` mode must follow); a platform that
/// disagrees does not implement IEEE-754 binary64 arithmetic as assumed.
#[test]
fn math_golden_bits() {
    let mut r = Rng(40);
    let mut h64: u64 = 0xcbf2_9ce4_8422_2325;
    let mut h32: u64 = 0xcbf2_9ce4_8422_2325;
    for i in 0..3000 {
        let x = match i % 3 {
            0 => r.log_uniform(-12, 9, true),
            1 => r.uniform(-2.0, 2.0),
            _ => r.log_uniform(-1074, 1023, true),
        };
        for (f, g) in ALL64.iter().zip(ALL32) {
            h64 = (h64 ^ f(x).to_bits()).wrapping_mul(0x100_0000_01b3);
            h32 = (h32 ^ g(x as f32).to_bits() as u64).wrapping_mul(0x100_0000_01b3);
        }
    }
    assert_eq!(
        (h64, h32),
        (0xb61a_7098_fe7f_31ce, 0x04d7_6220_3c11_8c05),
        "golden checksums changed: {h64:#018x} {h32:#018x}"
    );
}
