//! Scalar arithmetic of the reference kernels: element types, their compute types, and
//! the project's own transcendental functions behind one trait.

use half::{bf16, f16};
use lightos_ir::Element;

use crate::math;
use crate::reference::accumulate::Accum;

/// A float type kernels compute in: `f32` or `f64`. Its methods are the project's own
/// implementations, so results do not depend on the platform's libm.
pub(crate) trait Float:
    Accum
    + PartialOrd
    + std::ops::Sub<Output = Self>
    + std::ops::Div<Output = Self>
    + std::ops::Neg<Output = Self>
    + std::fmt::Debug
{
    /// One.
    const ONE: Self;
    /// Converts from `f64` (rounding).
    fn from_f64(v: f64) -> Self;
    /// Converts to `f64` (exact).
    fn to_f64(self) -> f64;
    /// `e^x`.
    fn exp(self) -> Self;
    /// Natural logarithm.
    fn ln(self) -> Self;
    /// Square root (correctly rounded).
    fn sqrt(self) -> Self;
    /// `x^y`.
    fn pow(self, y: Self) -> Self;
    /// Hyperbolic tangent.
    fn tanh(self) -> Self;
    /// The error function.
    fn erf(self) -> Self;
    /// Sine.
    fn sin(self) -> Self;
    /// Cosine.
    fn cos(self) -> Self;
    /// Tangent.
    fn tan(self) -> Self;
    /// Arcsine.
    fn asin(self) -> Self;
    /// Arccosine.
    fn acos(self) -> Self;
    /// Arctangent.
    fn atan(self) -> Self;
    /// Hyperbolic sine.
    fn sinh(self) -> Self;
    /// Hyperbolic cosine.
    fn cosh(self) -> Self;
    /// Inverse hyperbolic sine.
    fn asinh(self) -> Self;
    /// Inverse hyperbolic cosine.
    fn acosh(self) -> Self;
    /// Inverse hyperbolic tangent.
    fn atanh(self) -> Self;
    /// `ln(1 + x)`.
    fn ln_1p(self) -> Self;
    /// Whether the value is NaN.
    fn is_nan(self) -> bool;
    /// Round toward negative infinity (exact).
    fn floor(self) -> Self;
    /// Round toward positive infinity (exact).
    fn ceil(self) -> Self;
    /// Round half to even (exact).
    fn round_even(self) -> Self;
    /// Absolute value (exact).
    fn abs(self) -> Self;
}

macro_rules! float_impl {
    ($t:ty, $($name:ident => $f:path),* $(,)?) => {
        impl Float for $t {
            const ONE: Self = 1.0;
            fn from_f64(v: f64) -> Self { v as $t }
            fn to_f64(self) -> f64 { self as f64 }
            fn sqrt(self) -> Self { <$t>::sqrt(self) }
            fn is_nan(self) -> bool { <$t>::is_nan(self) }
            fn floor(self) -> Self { <$t>::floor(self) }
            fn ceil(self) -> Self { <$t>::ceil(self) }
            fn round_even(self) -> Self { <$t>::round_ties_even(self) }
            fn abs(self) -> Self { <$t>::abs(self) }
            fn pow(self, y: Self) -> Self { math_pow(self, y) }
            $(fn $name(self) -> Self { $f(self) })*
        }
    };
}

trait MathPow: Sized {
    fn pow_impl(self, y: Self) -> Self;
}

fn math_pow<T: MathPow>(x: T, y: T) -> T {
    x.pow_impl(y)
}

impl MathPow for f32 {
    fn pow_impl(self, y: f32) -> f32 {
        math::pow_f32(self, y)
    }
}

impl MathPow for f64 {
    fn pow_impl(self, y: f64) -> f64 {
        math::pow_f64(self, y)
    }
}

float_impl!(f32,
    exp => math::exp_f32, ln => math::ln_f32, tanh => math::tanh_f32, erf => math::erf_f32,
    sin => math::sin_f32, cos => math::cos_f32, tan => math::tan_f32, asin => math::asin_f32,
    acos => math::acos_f32, atan => math::atan_f32, sinh => math::sinh_f32, cosh => math::cosh_f32,
    asinh => math::asinh_f32, acosh => math::acosh_f32, atanh => math::atanh_f32, ln_1p => math::ln_1p_f32,
);
float_impl!(f64,
    exp => math::exp_f64, ln => math::ln_f64, tanh => math::tanh_f64, erf => math::erf_f64,
    sin => math::sin_f64, cos => math::cos_f64, tan => math::tan_f64, asin => math::asin_f64,
    acos => math::acos_f64, atan => math::atan_f64, sinh => math::sinh_f64, cosh => math::cosh_f64,
    asinh => math::asinh_f64, acosh => math::acosh_f64, atanh => math::atanh_f64, ln_1p => math::ln_1p_f64,
);

/// A float element type and the type kernels compute it in: `f16` and `bf16` compute in
/// `f32` and round once when the result is stored.
pub(crate) trait FloatElem: Element {
    /// The compute type.
    type C: Float;
    /// Converts to the compute type (exact).
    fn widen(self) -> Self::C;
    /// Rounds from the compute type.
    fn narrow(c: Self::C) -> Self;
}

impl FloatElem for f32 {
    type C = f32;
    fn widen(self) -> f32 {
        self
    }
    fn narrow(c: f32) -> f32 {
        c
    }
}

impl FloatElem for f64 {
    type C = f64;
    fn widen(self) -> f64 {
        self
    }
    fn narrow(c: f64) -> f64 {
        c
    }
}

impl FloatElem for f16 {
    type C = f32;
    fn widen(self) -> f32 {
        self.to_f32()
    }
    fn narrow(c: f32) -> f16 {
        f16::from_f32(c)
    }
}

impl FloatElem for bf16 {
    type C = f32;
    fn widen(self) -> f32 {
        self.to_f32()
    }
    fn narrow(c: f32) -> bf16 {
        bf16::from_f32(c)
    }
}

/// Runs `$body` with `$T` bound to the float element type of `$dtype`, or evaluates
/// `$other` for non-float dtypes.
macro_rules! with_float {
    ($dtype:expr, $T:ident => $body:expr, _ => $other:expr) => {
        match $dtype {
            lightos_ir::DType::F32 => {
                type $T = f32;
                $body
            }
            lightos_ir::DType::F64 => {
                type $T = f64;
                $body
            }
            lightos_ir::DType::F16 => {
                type $T = half::f16;
                $body
            }
            lightos_ir::DType::BF16 => {
                type $T = half::bf16;
                $body
            }
            _ => $other,
        }
    };
}
pub(crate) use with_float;

/// Runs `$body` with `$T` bound to the storage type of `$dtype` for every dtype: bool is
/// stored as `u8`; the narrow types (one byte per element) as `i8` (`i4`, `i2`,
/// sign-extended) or `u8` (`u4`, `u2` and the float8/float4 codes). Their storage values
/// order like their values except for the narrow floats: kernels that compare elements
/// must refuse those first (see [`DType::is_narrow_float`](lightos_ir::DType::is_narrow_float)).
macro_rules! with_any {
    ($dtype:expr, $T:ident => $body:expr) => {
        match $dtype {
            lightos_ir::DType::I4 | lightos_ir::DType::I2 => {
                type $T = i8;
                $body
            }
            lightos_ir::DType::U4
            | lightos_ir::DType::U2
            | lightos_ir::DType::F8E4M3FN
            | lightos_ir::DType::F8E4M3FNUZ
            | lightos_ir::DType::F8E5M2
            | lightos_ir::DType::F8E5M2FNUZ
            | lightos_ir::DType::F8E8M0
            | lightos_ir::DType::F4E2M1 => {
                type $T = u8;
                $body
            }
            lightos_ir::DType::F32 => {
                type $T = f32;
                $body
            }
            lightos_ir::DType::F64 => {
                type $T = f64;
                $body
            }
            lightos_ir::DType::F16 => {
                type $T = half::f16;
                $body
            }
            lightos_ir::DType::BF16 => {
                type $T = half::bf16;
                $body
            }
            lightos_ir::DType::I8 => {
                type $T = i8;
                $body
            }
            lightos_ir::DType::I16 => {
                type $T = i16;
                $body
            }
            lightos_ir::DType::I32 => {
                type $T = i32;
                $body
            }
            lightos_ir::DType::I64 => {
                type $T = i64;
                $body
            }
            lightos_ir::DType::U8 | lightos_ir::DType::Bool => {
                type $T = u8;
                $body
            }
            lightos_ir::DType::U16 => {
                type $T = u16;
                $body
            }
            lightos_ir::DType::U32 => {
                type $T = u32;
                $body
            }
            lightos_ir::DType::U64 => {
                type $T = u64;
                $body
            }
        }
    };
}
pub(crate) use with_any;

/// Runs `$body` with `$T` bound to the integer type of `$dtype`, or evaluates `$other`.
macro_rules! with_int {
    ($dtype:expr, $T:ident => $body:expr, _ => $other:expr) => {
        match $dtype {
            lightos_ir::DType::I8 => {
                type $T = i8;
                $body
            }
            lightos_ir::DType::I16 => {
                type $T = i16;
                $body
            }
            lightos_ir::DType::I32 => {
                type $T = i32;
                $body
            }
            lightos_ir::DType::I64 => {
                type $T = i64;
                $body
            }
            lightos_ir::DType::U8 => {
                type $T = u8;
                $body
            }
            lightos_ir::DType::U16 => {
                type $T = u16;
                $body
            }
            lightos_ir::DType::U32 => {
                type $T = u32;
                $body
            }
            lightos_ir::DType::U64 => {
                type $T = u64;
                $body
            }
            _ => $other,
        }
    };
}
pub(crate) use with_int;

/// The storage dtype of `dtype` as [`with_any!`] binds it: `u8` for bool, `u4`, `u2`
/// and the narrow floats, `i8` for `i4` and `i2`, the dtype itself otherwise.
pub(crate) fn storage_dtype(dtype: lightos_ir::DType) -> lightos_ir::DType {
    use lightos_ir::DType;
    match dtype {
        DType::I4 | DType::I2 => DType::I8,
        DType::Bool => DType::U8,
        d if d.is_narrow() => DType::U8,
        d => d,
    }
}

/// Typed element access for the kernels: `Tensor::as_slice`, with bool and the narrow
/// types read through their storage type (see [`storage_dtype`]).
pub(crate) fn elems<T: Element>(t: &lightos_ir::Tensor) -> Result<&[T], crate::reference::EvalError> {
    if t.dtype() != T::DTYPE && storage_dtype(t.dtype()) == T::DTYPE {
        return Ok(bytemuck::cast_slice(t.bytes()));
    }
    Ok(t.as_slice::<T>()?)
}

/// A tensor of `dtype` (bool and the narrow types allowed, from their storage type) from
/// typed elements; narrow elements are checked (see `Tensor::from_bytes`).
pub(crate) fn make<T: Element>(
    dtype: lightos_ir::DType,
    dims: Vec<usize>,
    data: Vec<T>,
) -> Result<lightos_ir::Tensor, crate::reference::EvalError> {
    Ok(lightos_ir::Tensor::from_bytes(
        dtype,
        dims,
        bytemuck::cast_slice(&data),
    )?)
}
