//! The error function `erf`.
//!
//! Method. For `|x| < 1/2`, the Maclaurin series
//! `erf x = (2/sqrt(pi)) sum_n (-1)^n x^(2n+1) / (n! (2n+1))` to degree 27. For
//! `1/2 <= |x| < 6`, a Taylor expansion around the nearest `a = j/4` (`|x - a| <= 1/8`):
//! with `h = x - a`, `erf(a + h) = erf(a) + K(a) h sum_m H_m(a) (-h)^m / (m+1)!`, where
//! `K(a) = (2/sqrt(pi)) e^(-a^2)` and `H_m` are the (physicists') Hermite polynomials, which
//! follow from `d^n/dx^n e^(-x^2) = (-1)^n H_n(x) e^(-x^2)`. `erf(a)` and `K(a)` are
//! tabulated as double-doubles; the `H_m(a)` come from their three-term recurrence at run
//! time (16 terms, truncation below 2^-62). For `|x| >= 6`, `erf` rounds to `±1`.

use super::dd::{two_prod, two_sum, Dd};
use super::exp_log::inv_fact;

/// `2 / sqrt(pi)` as a double-double.
const TWO_OVER_SQRT_PI: Dd = Dd::new(std::f64::consts::FRAC_2_SQRT_PI, 1.533_545_961_316_588e-17);

/// Maclaurin tail: `erf x = (2/sqrt(pi)) x (1 + v B(v))`, `v = x^2`, with `B` coefficients
/// `(-1)^(n+1) / ((n+1)! (2n+3))`, `n = 0..13`.
const ERF0_COEF: [f64; 13] = {
    let mut c = [0.0; 13];
    let mut i = 0;
    while i < 13 {
        let v = inv_fact(i as u32 + 1) / (2 * i + 3) as f64;
        c[i] = if i % 2 == 0 { -v } else { v };
        i += 1;
    }
    c
};

/// `1 / n` for `n = 0..=16` (entries 0 and 1 unused by the recurrence).
const INV: [f64; 17] = {
    let mut c = [0.0; 17];
    let mut i = 1;
    while i < 17 {
        c[i] = 1.0 / i as f64;
        i += 1;
    }
    c
};

/// Number of Hermite terms in the expansion around `a = j/4`.
const TERMS: usize = 16;

/// For `a = j/4`, `j = 2..=24`: `(erf(a) hi, erf(a) lo, K(a) hi, K(a) lo)` with
/// `K(a) = (2/sqrt(pi)) e^(-a^2)`.
#[rustfmt::skip]
const ERF_TABLE: [(f64, f64, f64, f64); 23] = [
    (
        0.520_499_877_813_046_5,
        1.900_077_467_916_287e-17,
        0.878_782_578_935_444_8,
        3.599_894_905_735_222_4e-17,
    ),
    (
        0.711_155_633_653_515_1,
        4.697_440_771_642_89e-17,
        0.642_931_069_195_207_4,
        -4.291_557_055_743_067e-17,
    ),
    (
        0.842_700_792_949_714_9,
        -2.480_101_178_911_860_2e-17,
        0.415_107_497_420_594_7,
        -1.433_392_329_331_424_3e-17,
    ),
    (
        0.922_900_128_256_458_3,
        -5.517_754_429_863_92e-17,
        0.236_521_122_447_290_8,
        -8.289_310_148_800_608e-19,
    ),
    (
        0.966_105_146_475_310_8,
        -3.386_703_144_168_069_6e-17,
        0.118_930_289_223_629_37,
        -1.965_198_483_169_106_5e-18,
    ),
    (
        0.986_671_671_219_182_4,
        2.143_119_028_956_533_8e-17,
        0.052_774_995_930_150_37,
        3.114_802_609_251_415_7e-18,
    ),
    (
        0.995_322_265_018_952_7,
        2.207_198_583_297_65e-17,
        0.020_666_985_354_092_053,
        7.394_328_005_377_764e-19,
    ),
    (
        0.998_537_283_413_318_8,
        2.695_640_588_541_345_7e-17,
        0.007_142_319_022_017_983,
        -1.553_978_476_951_966e-19,
    ),
    (
        0.999_593_047_982_555,
        4.692_515_109_704_223_4e-17,
        0.002_178_284_230_352_709_5,
        2.076_131_438_805_365_8e-19,
    ),
    (
        0.999_899_378_077_880_3,
        4.451_378_916_214_761e-17,
        0.000_586_277_247_093_792_3,
        2.077_084_876_528_847e-21,
    ),
    (
        0.999_977_909_503_001_4,
        5.363_397_058_636_269e-17,
        0.000_139_253_051_946_747_86,
        -1.011_450_657_978_511_4e-20,
    ),
    (
        0.999_995_697_220_536_3,
        5.224_680_575_187_069e-17,
        2.918_902_538_358_170_2e-5,
        -1.521_161_659_948_827e-21,
    ),
    (
        0.999_999_256_901_627_6,
        4.964_727_918_721_220_4e-17,
        5.399_426_777_384_783e-6,
        -3.804_804_100_501_357e-22,
    ),
    (
        0.999_999_886_272_743_4,
        4.227_618_239_182_961_5e-17,
        8.814_321_912_318_039e-7,
        2.759_949_360_917_261e-23,
    ),
    (
        0.999_999_984_582_742_1,
        1.448_265_319_200_25e-17,
        1.269_823_467_186_655_8e-7,
        -7.455_284_924_456_066e-25,
    ),
    (
        0.999_999_998_149_425_9,
        9.866_750_341_927_52e-19,
        1.614_399_371_950_741_2e-8,
        -6.145_126_967_041_825e-25,
    ),
    (
        0.999_999_999_803_383_9,
        1.261_472_797_505_494_7e-17,
        1.811_305_895_908_69e-9,
        -7.492_547_698_428_035e-26,
    ),
    (
        0.999_999_999_981_514_9,
        5.461_622_108_299_497e-17,
        1.793_435_703_434_133_7e-10,
        5.216_767_879_153_026e-27,
    ),
    (
        0.999_999_999_998_462_6,
        -2.294_992_711_807_301e-17,
        1.567_086_653_101_733_6e-11,
        -8.241_981_702_345_345e-28,
    ),
    (
        0.999_999_999_999_886_9,
        2.859_354_043_191_264e-17,
        1.208_407_471_600_675_5e-12,
        2.521_314_751_032_645_4e-29,
    ),
    (
        0.999_999_999_999_992_7,
        -3.037_595_544_836_49e-17,
        8.223_316_045_262_922e-14,
        -5.434_761_628_389_154e-31,
    ),
    (
        0.999_999_999_999_999_6,
        2.087_554_810_748_885_3e-17,
        4.938_485_140_964_219e-15,
        4.810_311_058_298_794_7e-32,
    ),
    (
        1.0,
        -2.151_973_671_249_891_3e-17,
        2.617_301_239_249_265e-16,
        -1.335_640_266_499_748_3e-32,
    ),
];

/// `erf(ax)` for `1/2 <= ax < 6`.
fn erf_mid(ax: f64) -> f64 {
    let j = super::dd::round_int(ax * 4.0);
    let a = j * 0.25;
    let h = ax - a; // exact, |h| <= 1/8
    let (eh, el, kh, kl) = ERF_TABLE[j as usize - 2];
    // Hermite values H_0..H_15 at a.
    let mut hm = [0.0f64; TERMS];
    hm[0] = 1.0;
    hm[1] = 2.0 * a;
    for n in 1..TERMS - 1 {
        hm[n + 1] = 2.0 * a * hm[n] - (2 * n) as f64 * hm[n - 1];
    }
    // S' = sum_{m>=1} H_m (-h)^m / (m+1)!, nested.
    let mut acc = hm[TERMS - 1];
    for m in (2..TERMS).rev() {
        acc = hm[m - 1] + acc * (-h * INV[m + 1]);
    }
    let s1 = acc * (-h * 0.5);
    // erf = erf(a) + K h (1 + S'), with K h in double-double.
    let (c1, c1e) = two_prod(kh, h);
    let c1e = c1e + kl * h;
    let c2 = c1 * s1;
    let (s, se) = two_sum(eh, c1);
    s + (((se + el) + c1e) + c2)
}

/// Error function for `f64` (error below 1 ulp, measured about 0.5):
/// `erf(±0) = ±0`, `erf(±inf) = ±1`, odd.
pub fn erf_f64(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    let ax = x.abs();
    if ax >= 6.0 {
        // erfc(6) < 2^-55: erf rounds to 1.
        return 1.0f64.copysign(x);
    }
    if x == 0.0 {
        return x;
    }
    let v = if ax < 0.5 {
        // Scale tiny arguments up so the double-double product stays exact.
        let big = ax < 1e-290;
        let t = if big { ax * 1.329_227_995_784_916e36 } else { ax }; // 2^120
        let v2 = t * t;
        let tail = if big {
            0.0
        } else {
            (t * v2) * {
                let c = &ERF0_COEF;
                let mut acc = c[c.len() - 1];
                for &ci in c[..c.len() - 1].iter().rev() {
                    acc = ci + v2 * acc;
                }
                acc
            }
        };
        let (h, l) = two_sum(t, tail);
        let r = Dd::new(h, l).mul(TWO_OVER_SQRT_PI).hi;
        if big {
            r * 7.523_163_845_262_64e-37 // 2^-120
        } else {
            r
        }
    } else {
        erf_mid(ax)
    };
    v.copysign(x)
}

/// Error function for `f32`: the `f64` result rounded once to `f32`.
pub fn erf_f32(x: f32) -> f32 {
    super::narrow(erf_f64(x as f64))
}
