//! Exact conversions between the narrow float formats (float8, float4, E8M0) and the
//! ordinary floats, following the ONNX `Cast` specification.
//!
//! Decoding ([`decode`]) is exact: every narrow float value is an `f32`.
//!
//! Encoding ([`encode`], for the sign–exponent–mantissa formats) rounds the exact source
//! value once, to nearest with ties to even, then applies the ONNX out-of-range rules:
//!
//! | value | E4M3FN | E4M3FNUZ | E5M2 | E5M2FNUZ | E2M1 |
//! |---|---|---|---|---|---|
//! | `±0` | `±0` | `+0` | `±0` | `+0` | `±0` |
//! | NaN | NaN (sign kept) | NaN | NaN (sign kept) | NaN | see below |
//! | `±inf`, saturating | `±max` | `±max` | `±max` | `±max` | `±max` |
//! | `±inf`, not saturating | NaN | NaN | `±inf` | NaN | `±max` |
//! | rounds past `max`, saturating | `±max` | `±max` | `±max` | `±max` | `±max` |
//! | rounds past `max`, not saturating | NaN | NaN | `±inf` | NaN | `±max` |
//!
//! (`max` is 448, 240, 57344, 57344 and 6.) Values that round to zero keep their sign
//! where the format has a negative zero. The canonical NaN codes are `0x7F` (E4M3FN) and
//! `0x7E` (E5M2), with the sign bit of the source NaN, and `0x80` (the FNUZ formats);
//! these are the codes the ONNX reference (through `ml_dtypes`) writes. E2M1 has no NaN
//! and no infinity: it always saturates, and a NaN becomes a zero whose sign is the
//! opposite of the NaN's sign bit, again as the ONNX reference writes it (ONNX leaves the
//! value undefined).
//!
//! E8M0 ([`encode_e8m0`]) is exponent-only and has its own rounding modes.

use super::DType;

/// How a sign–exponent–mantissa format spends its special codes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Special {
    /// IEEE-like: the all-ones exponent holds infinities (mantissa zero) and NaNs.
    Ieee,
    /// Finite only; `S.1111.111` is NaN.
    Fn,
    /// Finite only, no negative zero; `0x80` is the only NaN.
    Fnuz,
    /// Every code is a finite number.
    Finite,
}

/// The layout of a small sign–exponent–mantissa float format.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
struct Format {
    /// Exponent bits.
    exp_bits: u32,
    /// Mantissa bits.
    man_bits: u32,
    /// Exponent bias.
    bias: i32,
    /// The special codes.
    special: Special,
}

impl Format {
    /// The format of `dtype`, or `None` for other dtypes (E8M0 included).
    fn of(dtype: DType) -> Option<Format> {
        let (exp_bits, man_bits, bias, special) = match dtype {
            DType::F8E4M3FN => (4, 3, 7, Special::Fn),
            DType::F8E4M3FNUZ => (4, 3, 8, Special::Fnuz),
            DType::F8E5M2 => (5, 2, 15, Special::Ieee),
            DType::F8E5M2FNUZ => (5, 2, 16, Special::Fnuz),
            DType::F4E2M1 => (2, 1, 1, Special::Finite),
            _ => return None,
        };
        Some(Format {
            exp_bits,
            man_bits,
            bias,
            special,
        })
    }

    /// The position of the sign bit.
    fn sign_shift(self) -> u32 {
        self.exp_bits + self.man_bits
    }

    /// The largest exponent field of a finite value.
    fn max_exp_field(self) -> u32 {
        let all = (1 << self.exp_bits) - 1;
        match self.special {
            Special::Ieee => all - 1,
            _ => all,
        }
    }

    /// The largest mantissa field at the largest exponent.
    fn max_man_field(self) -> u32 {
        let all = (1 << self.man_bits) - 1;
        match self.special {
            Special::Fn => all - 1,
            _ => all,
        }
    }

    /// The code of the largest finite value, positive.
    fn max_code(self) -> u8 {
        ((self.max_exp_field() << self.man_bits) | self.max_man_field()) as u8
    }

    /// The NaN code for a NaN of the given sign.
    fn nan_code(self, negative: bool) -> u8 {
        let sign = (negative as u8) << self.sign_shift();
        match self.special {
            Special::Fn => 0x7F | sign,
            Special::Ieee => 0x7E | sign,
            Special::Fnuz => 0x80,
            // No NaN: the ONNX reference writes a zero of the opposite sign.
            Special::Finite => (!negative as u8) << self.sign_shift(),
        }
    }

    /// The code an overflow (or an infinity) becomes when not saturating.
    fn overflow_code(self, negative: bool) -> u8 {
        let sign = (negative as u8) << self.sign_shift();
        match self.special {
            Special::Ieee => ((((1 << self.exp_bits) - 1) << self.man_bits) as u8) | sign,
            Special::Fn | Special::Fnuz => self.nan_code(negative),
            Special::Finite => self.max_code() | sign,
        }
    }
}

/// `2^e` as an `f64`, for `-1022 <= e <= 1023`.
fn pow2(e: i32) -> f64 {
    f64::from_bits(((e + 1023) as u64) << 52)
}

/// The value of `code` in the narrow float format `dtype` (float8, float4 or E8M0), or
/// `None` when `dtype` is not one of them. Exact: every such value is an `f32`. Bits
/// above the format's width are ignored.
pub fn decode(dtype: DType, code: u8) -> Option<f32> {
    if dtype == DType::F8E8M0 {
        return Some(decode_e8m0(code));
    }
    let f = Format::of(dtype)?;
    let code = u32::from(code) & ((1 << (f.sign_shift() + 1)) - 1);
    let negative = code >> f.sign_shift() != 0;
    let exp = (code >> f.man_bits) & ((1 << f.exp_bits) - 1);
    let man = code & ((1 << f.man_bits) - 1);
    let all_ones = (1 << f.exp_bits) - 1;
    let magnitude = match f.special {
        Special::Fnuz if code == 0x80 => return Some(f32::NAN),
        Special::Fn if exp == all_ones && man == (1 << f.man_bits) - 1 => return Some(f32::NAN),
        Special::Ieee if exp == all_ones => {
            if man == 0 {
                f64::INFINITY
            } else {
                return Some(f32::NAN);
            }
        }
        _ if exp == 0 => f64::from(man) * pow2(1 - f.bias - f.man_bits as i32),
        _ => f64::from(man + (1 << f.man_bits)) * pow2(exp as i32 - f.bias - f.man_bits as i32),
    };
    // Exact: at most 4 significant bits, exponents well inside f32's range.
    let v = magnitude as f32;
    Some(if negative { -v } else { v })
}

/// The code of `x` in the narrow float format `dtype` (float8 or float4; not E8M0, see
/// [`encode_e8m0`]), rounding the exact value of `x` once to nearest even; `saturate`
/// picks the out-of-range rule (see the [module documentation](self); E2M1 always
/// saturates). `None` when `dtype` is not one of these formats.
pub fn encode(dtype: DType, x: f64, saturate: bool) -> Option<u8> {
    let f = Format::of(dtype)?;
    let bits = x.to_bits();
    let negative = bits >> 63 != 0;
    if x.is_nan() {
        return Some(f.nan_code(negative));
    }
    let sign = (negative as u8) << f.sign_shift();
    // A zero result: the FNUZ formats have no negative zero.
    let zero = if f.special == Special::Fnuz { 0 } else { sign };
    let saturated = f.max_code() | sign;
    if x.is_infinite() {
        return Some(if saturate { saturated } else { f.overflow_code(negative) });
    }
    let exp_field = ((bits >> 52) & 0x7FF) as i32;
    if exp_field == 0 {
        // Zero or an f64 subnormal: far below half the smallest subnormal of any format.
        return Some(zero);
    }
    let e = exp_field - 1023;
    let mant = (bits & ((1u64 << 52) - 1)) | (1u64 << 52);
    let m = f.man_bits as i32;
    let emin = 1 - f.bias;
    // The quantum (unit in the last place) of the target at this binade.
    let q = e.max(emin) - m;
    // `|x| = mant * 2^(e - 52)`; `n` is `|x| / 2^q` rounded to nearest even. The shift is
    // at least 49 because `q >= e - 3`.
    let shift = (q - (e - 52)) as u32;
    let n = if shift >= 64 {
        0
    } else {
        let whole = mant >> shift;
        let rest = mant & ((1u64 << shift) - 1);
        let half = 1u64 << (shift - 1);
        if rest > half || (rest == half && whole & 1 == 1) {
            whole + 1
        } else {
            whole
        }
    };
    if n == 0 {
        return Some(zero);
    }
    // Normalize a carry into the next binade.
    let (n, q) = if n == 1u64 << (m + 1) { (n >> 1, q + 1) } else { (n, q) };
    let (exp, man) = if n < 1u64 << m {
        (0u32, n as u32)
    } else {
        ((q + m + f.bias) as u32, (n - (1u64 << m)) as u32)
    };
    let too_big = exp > f.max_exp_field() || (exp == f.max_exp_field() && man > f.max_man_field());
    if too_big {
        return Some(if saturate { saturated } else { f.overflow_code(negative) });
    }
    Some(((exp << f.man_bits) | man) as u8 | sign)
}

/// How a value rounds to E8M0 (ONNX `Cast`'s `round_mode`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum RoundMode {
    /// Toward positive infinity: the next power of two at or above the value.
    Up,
    /// Toward zero: the power of two at or below the value.
    Down,
    /// To the nearest power of two by the ONNX rule (see [`encode_e8m0`]).
    Nearest,
}

impl RoundMode {
    /// The ONNX spelling: `up`, `down` or `nearest`.
    pub fn name(self) -> &'static str {
        match self {
            RoundMode::Up => "up",
            RoundMode::Down => "down",
            RoundMode::Nearest => "nearest",
        }
    }

    /// The mode with ONNX spelling `name`.
    pub fn from_name(name: &str) -> Option<RoundMode> {
        Some(match name {
            "up" => RoundMode::Up,
            "down" => RoundMode::Down,
            "nearest" => RoundMode::Nearest,
            _ => return None,
        })
    }
}

/// The value of an E8M0 code: `2^(code - 127)`, NaN for `0xFF`.
pub fn decode_e8m0(code: u8) -> f32 {
    match code {
        0xFF => f32::NAN,
        // 2^-127: the f32 subnormal with bit 22 set.
        0 => f32::from_bits(1 << 22),
        c => f32::from_bits(u32::from(c) << 23),
    }
}

/// The E8M0 code of `x`, as the ONNX reference computes it from the bits of `x` as an
/// `f32` (the sign is ignored; ONNX leaves negative values undefined):
///
/// - NaN and infinities give `0xFF` (NaN).
/// - Otherwise the code starts as the `f32` exponent field `E` (`0` for zero and
///   subnormals) and is incremented when rounding says so: `Up` when any mantissa bit is
///   set; `Down` never; `Nearest` when the first mantissa bit is set and so is any other
///   mantissa bit or `E > 0` (so a tie `1.5 * 2^k` rounds up except below the normal
///   range).
/// - With `saturate`, `E = 254` never increments (the largest value stays `2^127`);
///   without, it becomes `0xFF` (NaN).
pub fn encode_e8m0(x: f32, saturate: bool, mode: RoundMode) -> u8 {
    let bits = x.to_bits();
    let exp = (bits >> 23) & 0xFF;
    if exp == 0xFF {
        return 0xFF;
    }
    let man = bits & 0x7F_FFFF;
    let up = match mode {
        RoundMode::Up => man != 0,
        RoundMode::Down => false,
        RoundMode::Nearest => {
            let guard = man & 0x40_0000 != 0;
            let rest = man & 0x3F_FFFF != 0;
            guard && (rest || exp > 0)
        }
    };
    if up && !(saturate && exp == 0xFE) {
        (exp + 1) as u8
    } else {
        exp as u8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const F8: [DType; 4] = [DType::F8E4M3FN, DType::F8E4M3FNUZ, DType::F8E5M2, DType::F8E5M2FNUZ];

    #[test]
    fn largest_values() {
        let max = |d| decode(d, Format::of(d).unwrap().max_code()).unwrap();
        assert_eq!(max(DType::F8E4M3FN), 448.0);
        assert_eq!(max(DType::F8E4M3FNUZ), 240.0);
        assert_eq!(max(DType::F8E5M2), 57344.0);
        assert_eq!(max(DType::F8E5M2FNUZ), 57344.0);
        assert_eq!(max(DType::F4E2M1), 6.0);
    }

    #[test]
    fn special_codes_decode() {
        assert!(decode(DType::F8E4M3FN, 0x7F).unwrap().is_nan());
        assert!(decode(DType::F8E4M3FN, 0xFF).unwrap().is_nan());
        assert_eq!(decode(DType::F8E4M3FN, 0x80).unwrap().to_bits(), (-0.0f32).to_bits());
        assert!(decode(DType::F8E4M3FNUZ, 0x80).unwrap().is_nan());
        assert_eq!(decode(DType::F8E5M2, 0x7C), Some(f32::INFINITY));
        assert_eq!(decode(DType::F8E5M2, 0xFC), Some(f32::NEG_INFINITY));
        assert!(decode(DType::F8E5M2, 0x7D).unwrap().is_nan());
        // Smallest subnormals.
        assert_eq!(decode(DType::F8E4M3FN, 1), Some(2f32.powi(-9)));
        assert_eq!(decode(DType::F8E4M3FNUZ, 1), Some(2f32.powi(-10)));
        assert_eq!(decode(DType::F8E5M2, 1), Some(2f32.powi(-16)));
        assert_eq!(decode(DType::F8E5M2FNUZ, 1), Some(2f32.powi(-17)));
        let e2m1: Vec<f32> = (0..16).map(|c| decode(DType::F4E2M1, c).unwrap()).collect();
        assert_eq!(
            e2m1,
            [0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, -0.0, -0.5, -1.0, -1.5, -2.0, -3.0, -4.0, -6.0]
        );
        assert_eq!(decode(DType::F32, 0), None);
    }

    #[test]
    fn every_code_round_trips() {
        for d in F8.into_iter().chain([DType::F4E2M1]) {
            let codes = if d == DType::F4E2M1 { 16 } else { 256 };
            for c in 0..codes {
                let v = decode(d, c as u8).unwrap();
                if v.is_nan() {
                    continue;
                }
                for sat in [false, true] {
                    let back = encode(d, f64::from(v), sat).unwrap();
                    if v.is_infinite() && sat {
                        continue;
                    }
                    assert_eq!(back, c as u8, "{d} code {c:#x} value {v} saturate {sat}");
                }
            }
        }
    }

    #[test]
    fn rounding_is_to_nearest_even() {
        // E4M3FN around 1: quantum 1/8. 1 + 1/16 is a tie -> 1 (even); 1 + 3/16 -> 1.25.
        assert_eq!(encode(DType::F8E4M3FN, 1.0625, true), Some(0x38));
        assert_eq!(encode(DType::F8E4M3FN, 1.1875, true), Some(0x3A));
        assert_eq!(encode(DType::F8E4M3FN, 1.0626, true), Some(0x39));
        // Half the smallest subnormal is a tie to zero; just above rounds up.
        assert_eq!(encode(DType::F8E4M3FN, 2f64.powi(-10), true), Some(0));
        assert_eq!(encode(DType::F8E4M3FN, -2f64.powi(-10), true), Some(0x80));
        assert_eq!(encode(DType::F8E4M3FNUZ, -1e-9, true), Some(0));
        assert_eq!(encode(DType::F8E4M3FN, 2f64.powi(-10) * 1.001, true), Some(1));
        // Carry from the subnormals into the normals: 0.875*2^-6 + half quantum.
        assert_eq!(encode(DType::F8E4M3FN, 0.9375 * 2f64.powi(-6), true), Some(0x08));
        // E2M1: ties to even.
        let e2m1: Vec<u8> = [0.25, 0.75, 1.25, 1.75, 2.5, 3.5, 5.0, 0.2500001]
            .map(|x| encode(DType::F4E2M1, x, true).unwrap())
            .to_vec();
        assert_eq!(e2m1, [0, 2, 2, 4, 4, 6, 6, 1]);
    }

    #[test]
    fn out_of_range() {
        // 464 is the tie between 448 and the NaN code: it rounds to 448.
        assert_eq!(encode(DType::F8E4M3FN, 464.0, false), Some(0x7E));
        assert_eq!(encode(DType::F8E4M3FN, 465.0, false), Some(0x7F));
        assert_eq!(encode(DType::F8E4M3FN, -465.0, false), Some(0xFF));
        assert_eq!(encode(DType::F8E4M3FN, 1e6, true), Some(0x7E));
        assert_eq!(encode(DType::F8E4M3FN, f64::NEG_INFINITY, true), Some(0xFE));
        assert_eq!(encode(DType::F8E4M3FN, f64::INFINITY, false), Some(0x7F));
        assert_eq!(encode(DType::F8E4M3FNUZ, f64::NEG_INFINITY, false), Some(0x80));
        assert_eq!(encode(DType::F8E4M3FNUZ, -1e6, true), Some(0xFF));
        assert_eq!(encode(DType::F8E5M2, 1e6, false), Some(0x7C));
        assert_eq!(encode(DType::F8E5M2, -1e6, false), Some(0xFC));
        assert_eq!(encode(DType::F8E5M2, 1e6, true), Some(0x7B));
        assert_eq!(encode(DType::F8E5M2FNUZ, 1e6, false), Some(0x80));
        assert_eq!(encode(DType::F8E5M2FNUZ, 1e6, true), Some(0x7F));
        assert_eq!(encode(DType::F4E2M1, 9.0, false), Some(0x7));
        assert_eq!(encode(DType::F4E2M1, f64::NEG_INFINITY, false), Some(0xF));
    }

    #[test]
    fn nans() {
        assert_eq!(encode(DType::F8E4M3FN, f64::NAN, true), Some(0x7F));
        assert_eq!(encode(DType::F8E4M3FN, -f64::NAN, true), Some(0xFF));
        assert_eq!(encode(DType::F8E5M2, f64::NAN, false), Some(0x7E));
        assert_eq!(encode(DType::F8E5M2FNUZ, -f64::NAN, false), Some(0x80));
        assert_eq!(encode(DType::F4E2M1, f64::NAN, true), Some(0x8));
        assert_eq!(encode(DType::F4E2M1, -f64::NAN, true), Some(0x0));
        assert_eq!(encode(DType::F32, 1.0, true), None);
    }

    #[test]
    fn e8m0() {
        assert_eq!(decode_e8m0(127), 1.0);
        assert_eq!(decode_e8m0(0), 2f32.powi(-127));
        assert_eq!(decode_e8m0(254), 2f32.powi(127));
        assert!(decode_e8m0(255).is_nan());
        assert_eq!(decode(DType::F8E8M0, 128), Some(2.0));
        let up: Vec<u8> = [0.0f32, 0.124, 0.25, 0.5, 1.1, 2.0, 4.0, 8.0]
            .map(|x| encode_e8m0(x, true, RoundMode::Up))
            .to_vec();
        assert_eq!(up, [0, 124, 125, 126, 128, 128, 129, 130]);
        assert_eq!(encode_e8m0(1.1, true, RoundMode::Down), 127);
        // 1.5 is a tie: up; 1.25 rounds down; 1.75 rounds up.
        assert_eq!(encode_e8m0(1.5, true, RoundMode::Nearest), 128);
        assert_eq!(encode_e8m0(1.25, true, RoundMode::Nearest), 127);
        assert_eq!(encode_e8m0(1.75, true, RoundMode::Nearest), 128);
        assert_eq!(encode_e8m0(f32::MAX, true, RoundMode::Up), 254);
        assert_eq!(encode_e8m0(f32::MAX, false, RoundMode::Up), 255);
        assert_eq!(encode_e8m0(f32::INFINITY, true, RoundMode::Up), 255);
        assert_eq!(RoundMode::from_name("nearest"), Some(RoundMode::Nearest));
        assert_eq!(RoundMode::Down.name(), "down");
    }
}
