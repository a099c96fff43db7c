//! Element types of tensors.
//!
//! # The narrow ONNX types
//!
//! Besides the usual floats, integers and bool, LightOS has the ONNX 8-, 4- and 2-bit
//! types (ONNX codes 17 to 26): the float8 formats [`DType::F8E4M3FN`],
//! [`DType::F8E4M3FNUZ`], [`DType::F8E5M2`], [`DType::F8E5M2FNUZ`] and
//! [`DType::F8E8M0`], the 4-bit float [`DType::F4E2M1`], and the integers
//! [`DType::U4`], [`DType::I4`], [`DType::U2`] and [`DType::I2`].
//!
//! **In memory every one of them takes one byte per element.** Sub-byte types are
//! unpacked: `i4` and `i2` are sign-extended into an `i8`-like byte (`-8..=7`, `-2..=1`),
//! `u4` and `u2` sit in a `u8` byte (`0..=15`, `0..=3`), and `f4e2m1` keeps its 4-bit
//! code in the low bits of a byte. The float8 types hold their 8-bit code. Packing two
//! or four elements into a byte happens only at the ONNX boundary (`TensorProto`
//! `raw_data` and `int32_data`, in the frontend). One byte per element keeps every
//! element addressable, so data-movement kernels (reshape, slice, gather, concat, …)
//! work on these types unchanged, and [`Tensor`](crate::Tensor) checks the byte of each
//! element when it is built (see [`DType::valid_byte`]).
//!
//! These types take part in casts, quantization and data movement, as in ONNX; the
//! arithmetic kernels refuse them. Their value conversions are in [`minifloat`].

pub mod minifloat;

use std::fmt;
use std::str::FromStr;

use half::{bf16, f16};

/// The element type of a tensor.
///
/// The set follows what ONNX models use for inference. Booleans are stored as one byte,
/// `0` or `1`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DType {
    /// IEEE 754 binary32.
    F32,
    /// IEEE 754 binary16.
    F16,
    /// bfloat16: binary32 with the low 16 mantissa bits dropped.
    BF16,
    /// IEEE 754 binary64.
    F64,
    /// Signed 8-bit integer.
    I8,
    /// Signed 16-bit integer.
    I16,
    /// Signed 32-bit integer.
    I32,
    /// Signed 64-bit integer.
    I64,
    /// Unsigned 8-bit integer.
    U8,
    /// Unsigned 16-bit integer.
    U16,
    /// Unsigned 32-bit integer.
    U32,
    /// Unsigned 64-bit integer.
    U64,
    /// Boolean, one byte per element.
    Bool,
    /// 8-bit float: 1 sign, 4 exponent (bias 7), 3 mantissa bits; no infinities, NaN is
    /// `S.1111.111`; largest finite value 448 (ONNX `FLOAT8E4M3FN`).
    F8E4M3FN,
    /// 8-bit float: 1 sign, 4 exponent (bias 8), 3 mantissa bits; no infinities, no
    /// negative zero, NaN is `0x80`; largest finite value 240 (ONNX `FLOAT8E4M3FNUZ`).
    F8E4M3FNUZ,
    /// 8-bit float: 1 sign, 5 exponent (bias 15), 2 mantissa bits, with IEEE infinities
    /// and NaNs; largest finite value 57344 (ONNX `FLOAT8E5M2`).
    F8E5M2,
    /// 8-bit float: 1 sign, 5 exponent (bias 16), 2 mantissa bits; no infinities, no
    /// negative zero, NaN is `0x80`; largest finite value 57344 (ONNX `FLOAT8E5M2FNUZ`).
    F8E5M2FNUZ,
    /// 8-bit exponent-only float: the value of code `c` is `2^(c - 127)`, `0xFF` is NaN;
    /// no sign, no zero (ONNX `FLOAT8E8M0`, the scale of the MX formats).
    F8E8M0,
    /// Unsigned 4-bit integer, `0..=15`, one per byte (ONNX `UINT4`).
    U4,
    /// Signed 4-bit integer, `-8..=7`, sign-extended into one byte (ONNX `INT4`).
    I4,
    /// 4-bit float: 1 sign, 2 exponent (bias 1), 1 mantissa bit; all 16 codes are finite
    /// (`±{0, 0.5, 1, 1.5, 2, 3, 4, 6}`); the code in the low 4 bits of one byte (ONNX
    /// `FLOAT4E2M1`).
    F4E2M1,
    /// Unsigned 2-bit integer, `0..=3`, one per byte (ONNX `UINT2`).
    U2,
    /// Signed 2-bit integer, `-2..=1`, sign-extended into one byte (ONNX `INT2`).
    I2,
}

impl DType {
    /// Every dtype, in a fixed order.
    pub const ALL: [DType; 23] = [
        DType::F32,
        DType::F16,
        DType::BF16,
        DType::F64,
        DType::I8,
        DType::I16,
        DType::I32,
        DType::I64,
        DType::U8,
        DType::U16,
        DType::U32,
        DType::U64,
        DType::Bool,
        DType::F8E4M3FN,
        DType::F8E4M3FNUZ,
        DType::F8E5M2,
        DType::F8E5M2FNUZ,
        DType::F8E8M0,
        DType::U4,
        DType::I4,
        DType::F4E2M1,
        DType::U2,
        DType::I2,
    ];

    /// Size of one element in memory, in bytes (one for every narrow type, see the
    /// [module documentation](self)).
    pub fn size_bytes(self) -> usize {
        match self {
            DType::I8 | DType::U8 | DType::Bool => 1,
            DType::F8E4M3FN
            | DType::F8E4M3FNUZ
            | DType::F8E5M2
            | DType::F8E5M2FNUZ
            | DType::F8E8M0
            | DType::U4
            | DType::I4
            | DType::F4E2M1
            | DType::U2
            | DType::I2 => 1,
            DType::F16 | DType::BF16 | DType::I16 | DType::U16 => 2,
            DType::F32 | DType::I32 | DType::U32 => 4,
            DType::F64 | DType::I64 | DType::U64 => 8,
        }
    }

    /// The width of one element in bits as ONNX counts it: 4 for `u4`, `i4` and
    /// `f4e2m1`, 2 for `u2` and `i2`, 8 for bool, otherwise eight times
    /// [`DType::size_bytes`].
    pub fn bits(self) -> usize {
        match self {
            DType::U4 | DType::I4 | DType::F4E2M1 => 4,
            DType::U2 | DType::I2 => 2,
            _ => 8 * self.size_bytes(),
        }
    }

    /// Whether this is a floating-point type (the narrow float formats included).
    pub fn is_float(self) -> bool {
        matches!(self, DType::F32 | DType::F16 | DType::BF16 | DType::F64) || self.is_narrow_float()
    }

    /// Whether this is one of the narrow ONNX types: the float8 and float4 formats and
    /// the 4- and 2-bit integers. They take part in casts, quantization and data
    /// movement; arithmetic kernels refuse them.
    pub fn is_narrow(self) -> bool {
        self.is_narrow_float() || matches!(self, DType::U4 | DType::I4 | DType::U2 | DType::I2)
    }

    /// Whether this is a float8 or float4 format, whose byte codes do not order like
    /// their values (comparing or sorting needs a conversion first).
    pub fn is_narrow_float(self) -> bool {
        matches!(
            self,
            DType::F8E4M3FN | DType::F8E4M3FNUZ | DType::F8E5M2 | DType::F8E5M2FNUZ | DType::F8E8M0 | DType::F4E2M1
        )
    }

    /// Whether `byte` is a valid in-memory element of this one-byte type: `0` or `1` for
    /// bool, the range of the 4- and 2-bit integers (sign-extended for `i4` and `i2`), a
    /// 4-bit code for `f4e2m1`. Every byte is valid for the other one-byte types; `true`
    /// for wider types.
    pub fn valid_byte(self, byte: u8) -> bool {
        match self {
            DType::Bool => byte <= 1,
            DType::U4 | DType::F4E2M1 => byte <= 15,
            DType::U2 => byte <= 3,
            DType::I4 => (-8..=7).contains(&(byte as i8)),
            DType::I2 => (-2..=1).contains(&(byte as i8)),
            _ => true,
        }
    }

    /// Whether this is an integer type (signed or unsigned, not bool).
    pub fn is_int(self) -> bool {
        self.is_signed_int() || self.is_unsigned_int()
    }

    /// Whether this is a signed integer type.
    pub fn is_signed_int(self) -> bool {
        matches!(
            self,
            DType::I8 | DType::I16 | DType::I32 | DType::I64 | DType::I4 | DType::I2
        )
    }

    /// Whether this is an unsigned integer type.
    pub fn is_unsigned_int(self) -> bool {
        matches!(
            self,
            DType::U8 | DType::U16 | DType::U32 | DType::U64 | DType::U4 | DType::U2
        )
    }

    /// Whether values of this type can be negated (floats and signed integers).
    pub fn is_signed(self) -> bool {
        self.is_float() || self.is_signed_int()
    }

    /// Whether this is a number type (everything but bool).
    pub fn is_numeric(self) -> bool {
        self != DType::Bool
    }

    /// The name used in the IR text format, e.g. `f32`.
    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "f32",
            DType::F16 => "f16",
            DType::BF16 => "bf16",
            DType::F64 => "f64",
            DType::I8 => "i8",
            DType::I16 => "i16",
            DType::I32 => "i32",
            DType::I64 => "i64",
            DType::U8 => "u8",
            DType::U16 => "u16",
            DType::U32 => "u32",
            DType::U64 => "u64",
            DType::Bool => "bool",
            DType::F8E4M3FN => "f8e4m3fn",
            DType::F8E4M3FNUZ => "f8e4m3fnuz",
            DType::F8E5M2 => "f8e5m2",
            DType::F8E5M2FNUZ => "f8e5m2fnuz",
            DType::F8E8M0 => "f8e8m0",
            DType::U4 => "u4",
            DType::I4 => "i4",
            DType::F4E2M1 => "f4e2m1",
            DType::U2 => "u2",
            DType::I2 => "i2",
        }
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error for a dtype name that is not known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown dtype `{0}`")]
pub struct UnknownDType(pub String);

impl FromStr for DType {
    type Err = UnknownDType;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DType::ALL
            .into_iter()
            .find(|d| d.name() == s)
            .ok_or_else(|| UnknownDType(s.to_string()))
    }
}

/// A Rust type that is the storage of one [`DType`].
///
/// `bool` tensors are stored as `u8` (0 or 1), so `u8` maps to [`DType::U8`] and the
/// boolean view of a tensor is read through `u8` with [`DType::Bool`].
pub trait Element: bytemuck::Pod + Copy + Send + Sync + PartialEq + fmt::Debug + 'static {
    /// The dtype this Rust type stores.
    const DTYPE: DType;
}

macro_rules! element {
    ($($t:ty => $d:ident),* $(,)?) => {
        $(impl Element for $t { const DTYPE: DType = DType::$d; })*
    };
}

element! {
    f32 => F32, f16 => F16, bf16 => BF16, f64 => F64,
    i8 => I8, i16 => I16, i32 => I32, i64 => I64,
    u8 => U8, u16 => U16, u32 => U32, u64 => U64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for d in DType::ALL {
            assert_eq!(d.name().parse::<DType>(), Ok(d));
        }
        assert_eq!("f8".parse::<DType>(), Err(UnknownDType("f8".into())));
    }

    #[test]
    fn narrow_types_take_one_byte() {
        for d in DType::ALL.into_iter().filter(|d| d.is_narrow()) {
            assert_eq!(d.size_bytes(), 1, "{d}");
        }
        assert_eq!(
            (
                DType::I4.bits(),
                DType::U2.bits(),
                DType::F8E5M2.bits(),
                DType::F32.bits()
            ),
            (4, 2, 8, 32)
        );
        assert!(DType::F8E4M3FN.is_float() && DType::F8E4M3FN.is_narrow_float());
        assert!(DType::I4.is_signed_int() && DType::U2.is_unsigned_int() && !DType::I4.is_narrow_float());
        assert!(!DType::I8.is_narrow() && !DType::F32.is_narrow());
    }

    #[test]
    fn valid_bytes() {
        assert!(DType::I4.valid_byte(0xF8) && DType::I4.valid_byte(7) && !DType::I4.valid_byte(8));
        assert!(DType::I2.valid_byte(0xFE) && !DType::I2.valid_byte(0xFD) && !DType::I2.valid_byte(2));
        assert!(DType::U4.valid_byte(15) && !DType::U4.valid_byte(16));
        assert!(DType::F4E2M1.valid_byte(15) && !DType::F4E2M1.valid_byte(0x80));
        assert!(DType::U2.valid_byte(3) && !DType::U2.valid_byte(4));
        assert!(DType::F8E4M3FN.valid_byte(0xFF) && DType::U8.valid_byte(0xFF));
    }
}
