//! Elementwise kernels: unary and binary functions, `Where`, `Clip` and `Cast`.
//!
//! Every element is computed on its own. Floats compute in their [`FloatElem::C`] type
//! (`f16`/`bf16` in `f32`) and round once when stored; the formulas in the doc comments
//! below fix the order of the rounded operations, which is the contract every backend's
//! strict mode reproduces. "max"/"min" of floats in a formula are NaN-propagating and
//! order `-0 < +0` (IEEE 754-2019 `maximum`/`minimum`), see [`fmax`] and [`fmin`].

use half::{bf16, f16};
use lightos_ir::{BinaryOp, DType, Element, Op, Tensor, UnaryOp};

use super::index::{broadcast_dims, broadcast_strides, StridedWalk};
use super::scalar::{elems, make, with_any, with_float, with_int, Float, FloatElem};
use crate::reference::{invalid, EvalError};

// ---------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------

/// The error for an op that has no kernel for `dtype`.
fn unsupported<T>(op: Op, dtype: DType) -> Result<T, EvalError> {
    Err(EvalError::UnsupportedDType { op: op.name(), dtype })
}

/// Maps every element of `x` through `f` into a tensor of `dtype` with `x`'s dims.
fn map<A: Element, R: Element>(x: &Tensor, dtype: DType, f: impl FnMut(A) -> R) -> Result<Tensor, EvalError> {
    let out: Vec<R> = elems::<A>(x)?.iter().copied().map(f).collect();
    make(dtype, x.dims().to_vec(), out)
}

/// Applies `f` to the NumPy broadcast of `a` and `b`, giving a tensor of `dtype`.
fn zip_map<A: Element, B: Element, R: Element>(
    a: &Tensor,
    b: &Tensor,
    dtype: DType,
    mut f: impl FnMut(A, B) -> Result<R, EvalError>,
) -> Result<Tensor, EvalError> {
    let (xa, xb) = (elems::<A>(a)?, elems::<B>(b)?);
    let dims = broadcast_dims(a.dims(), b.dims())?;
    let out: Vec<R> = if a.dims() == b.dims() {
        xa.iter().zip(xb).map(|(&x, &y)| f(x, y)).collect::<Result<_, _>>()?
    } else {
        let sa = broadcast_strides(a.dims(), &dims);
        let sb = broadcast_strides(b.dims(), &dims);
        StridedWalk::new(&dims, [&sa, &sb])
            .map(|[i, j]| f(xa[i], xb[j]))
            .collect::<Result<_, _>>()?
    };
    make(dtype, dims, out)
}

/// `C::from_f64` of an `f32` attribute (exact).
fn attr<C: Float>(v: f32) -> C {
    C::from_f64(f64::from(v))
}

/// Whether `x` is `+inf` or `-inf`.
fn is_inf<C: Float>(x: C) -> bool {
    x.abs().to_f64() == f64::INFINITY
}

/// Whether `x` has its sign bit set (`-0` included).
fn sign_bit<C: Float>(x: C) -> bool {
    x.to_f64().is_sign_negative()
}

/// The larger of `a` and `b`: NaN if either is NaN (the first NaN operand), `+0` over
/// `-0`, else the ordinary maximum.
fn fmax<C: Float>(a: C, b: C) -> C {
    if a.is_nan() {
        a
    } else if b.is_nan() || b > a {
        b
    } else if a > b || !sign_bit(a) {
        a
    } else {
        b
    }
}

/// The smaller of `a` and `b`: NaN if either is NaN (the first NaN operand), `-0` under
/// `+0`, else the ordinary minimum.
fn fmin<C: Float>(a: C, b: C) -> C {
    if a.is_nan() {
        a
    } else if b.is_nan() || b < a {
        b
    } else if a < b || sign_bit(a) {
        a
    } else {
        b
    }
}

// ---------------------------------------------------------------------------------------
// Unary
// ---------------------------------------------------------------------------------------

/// Evaluates a unary elementwise op.
///
/// Floats (`f32`, `f64`, `f16`, `bf16`) take every op but `Not` and `BitwiseNot`, with the
/// formulas of [`float_unary`]; `IsNaN` and `IsInf` give bool. Integers take `Abs` and
/// `Sign` (all), `Neg`, `Relu` and `LeakyRelu` (signed) and `BitwiseNot`, see
/// [`int_unary`]. Bool takes `Not`. Anything else is [`EvalError::UnsupportedDType`].
pub(crate) fn unary(op: UnaryOp, x: &Tensor) -> Result<Tensor, EvalError> {
    let dtype = x.dtype();
    match op {
        UnaryOp::IsNaN | UnaryOp::IsInf { .. } => with_float!(dtype,
            F => map::<F, u8>(x, DType::Bool, |v| float_predicate(op, v.widen()) as u8),
            _ => unsupported(Op::Unary(op), dtype)),
        UnaryOp::Not if dtype == DType::Bool => map::<u8, u8>(x, dtype, |v| (v == 0) as u8),
        UnaryOp::Not | UnaryOp::BitwiseNot if dtype.is_float() => unsupported(Op::Unary(op), dtype),
        _ => with_float!(dtype,
            F => map::<F, F>(x, dtype, |v| F::narrow(float_unary(op, v.widen()))),
            _ => with_int!(dtype, I => int_unary::<I>(op, x), _ => unsupported(Op::Unary(op), dtype))),
    }
}

/// `IsNaN(x)`: `x` is NaN. `IsInf{negative, positive}(x)`: `x` is `-inf` and `negative`,
/// or `+inf` and `positive`.
fn float_predicate<C: Float>(op: UnaryOp, x: C) -> bool {
    match op {
        UnaryOp::IsInf { negative, positive } => is_inf(x) && if x > C::ZERO { positive } else { negative },
        _ => x.is_nan(),
    }
}

/// One float element of a unary op, in the compute type. Each `op` is:
///
/// - `Abs`, `Neg`, `Floor`, `Ceil`, `Sqrt`: exact / correctly rounded. `Round`: half to
///   even. `Reciprocal`: `1 / x`. `Exp`, `Log`, `Tanh`, `Erf` and the trigonometric and
///   hyperbolic functions: the project's own ([`Float`]).
/// - `Sign`: `1` if `x > 0`, `-1` if `x < 0`, `+0` for `±0`, NaN for NaN.
/// - `Relu`: `x` if `x > 0` or NaN, else `+0`.
/// - `LeakyRelu`: `alpha * x` if `x < 0`, else `x`.
/// - `Sigmoid`: `1 / (1 + exp(-x))` if `x > 0`, else `e / (1 + e)` with `e = exp(x)`.
/// - `Softplus`: [`softplus`]. `Softsign`: `x / (1 + |x|)`.
/// - `Elu`: `x` if `x > 0`, else `alpha * expm1(x)` with [`expm1`].
/// - `Selu`: `x * gamma` if `x > 0`, else `(alpha * expm1(x)) * gamma`.
/// - `Celu`: `max(0, x) + min(0, alpha * expm1(x / alpha))`.
/// - `HardSigmoid`: `max(0, min(1, alpha * x + beta))`.
/// - `HardSwish`: `x * max(0, min(1, alpha * x + beta))`, `alpha = 1/6`, `beta = 0.5`
///   (both rounded to the compute type).
/// - `ThresholdedRelu`: `x` if `x > alpha`, else `0` (NaN gives 0).
/// - `Gelu`: [`gelu`] or [`gelu_tanh`]. `Mish`: `x * tanh(softplus(x))`.
/// - `Shrink`: `x + bias` if `x < -lambd`, `x - bias` if `x > lambd`, else `0`.
/// - `Swish`: `x * sigmoid(alpha * x)` with the `Sigmoid` formula.
///
/// `Not`, `BitwiseNot`, `IsNaN` and `IsInf` never reach here.
pub(crate) fn float_unary<C: Float>(op: UnaryOp, x: C) -> C {
    let (zero, one) = (C::ZERO, C::ONE);
    match op {
        UnaryOp::Abs => x.abs(),
        UnaryOp::Neg => -x,
        UnaryOp::Exp => x.exp(),
        UnaryOp::Log => x.ln(),
        UnaryOp::Sqrt => x.sqrt(),
        UnaryOp::Reciprocal => one / x,
        UnaryOp::Floor => x.floor(),
        UnaryOp::Ceil => x.ceil(),
        UnaryOp::Round => x.round_even(),
        UnaryOp::Sign => sign(x),
        UnaryOp::Relu => {
            if x > zero || x.is_nan() {
                x
            } else {
                zero
            }
        }
        UnaryOp::LeakyRelu { alpha } => {
            if x < zero {
                attr::<C>(alpha) * x
            } else {
                x
            }
        }
        UnaryOp::Sigmoid => sigmoid(x),
        UnaryOp::Tanh => x.tanh(),
        UnaryOp::Sin => x.sin(),
        UnaryOp::Cos => x.cos(),
        UnaryOp::Tan => x.tan(),
        UnaryOp::Asin => x.asin(),
        UnaryOp::Acos => x.acos(),
        UnaryOp::Atan => x.atan(),
        UnaryOp::Sinh => x.sinh(),
        UnaryOp::Cosh => x.cosh(),
        UnaryOp::Asinh => x.asinh(),
        UnaryOp::Acosh => x.acosh(),
        UnaryOp::Atanh => x.atanh(),
        UnaryOp::Erf => x.erf(),
        UnaryOp::Softplus => softplus(x),
        UnaryOp::Softsign => x / (one + x.abs()),
        UnaryOp::Elu { alpha } => {
            if x > zero {
                x
            } else {
                attr::<C>(alpha) * expm1(x)
            }
        }
        UnaryOp::Selu { alpha, gamma } => {
            let g = attr::<C>(gamma);
            if x > zero {
                x * g
            } else {
                attr::<C>(alpha) * expm1(x) * g
            }
        }
        UnaryOp::Celu { alpha } => celu(x, attr(alpha)),
        UnaryOp::HardSigmoid { alpha, beta } => hard_sigmoid(x, attr(alpha), attr(beta)),
        UnaryOp::HardSwish => x * hard_sigmoid(x, C::from_f64(1.0 / 6.0), C::from_f64(0.5)),
        UnaryOp::ThresholdedRelu { alpha } => {
            if x > attr(alpha) {
                x
            } else {
                zero
            }
        }
        UnaryOp::Gelu { tanh: false } => gelu(x),
        UnaryOp::Gelu { tanh: true } => gelu_tanh(x),
        UnaryOp::Mish => x * softplus(x).tanh(),
        UnaryOp::Shrink { bias, lambd } => shrink(x, attr(bias), attr(lambd)),
        UnaryOp::Swish { alpha } => x * sigmoid(attr::<C>(alpha) * x),
        UnaryOp::Not | UnaryOp::BitwiseNot | UnaryOp::IsNaN | UnaryOp::IsInf { .. } => x,
    }
}

/// `1` if `x > 0`, `-1` if `x < 0`, `+0` for `±0`, NaN for NaN.
fn sign<C: Float>(x: C) -> C {
    if x > C::ZERO {
        C::ONE
    } else if x < C::ZERO {
        -C::ONE
    } else if x.is_nan() {
        x
    } else {
        C::ZERO
    }
}

/// `1 / (1 + exp(-x))` if `x > 0`, else `e / (1 + e)` with `e = exp(x)`: `exp` never
/// overflows.
fn sigmoid<C: Float>(x: C) -> C {
    if x > C::ZERO {
        C::ONE / (C::ONE + (-x).exp())
    } else {
        let e = x.exp();
        e / (C::ONE + e)
    }
}

/// `ln(1 + e^x)` as `x + ln_1p(exp(-x))` if `x > 0`, else `ln_1p(exp(x))`.
fn softplus<C: Float>(x: C) -> C {
    if x > C::ZERO {
        x + (-x).exp().ln_1p()
    } else {
        x.exp().ln_1p()
    }
}

/// `e^x - 1` accurately near zero (Kahan): with `u = exp(x)`, it is `x` if `u == 1`, `-1`
/// if `u - 1 == -1`, `u` if `u` is `+inf`, else `((u - 1) * x) / ln(u)`.
fn expm1<C: Float>(x: C) -> C {
    let u = x.exp();
    if u == C::ONE {
        return x;
    }
    let um1 = u - C::ONE;
    if um1 == -C::ONE || is_inf(u) {
        return um1;
    }
    um1 * x / u.ln()
}

/// `max(0, x) + min(0, alpha * expm1(x / alpha))`.
fn celu<C: Float>(x: C, alpha: C) -> C {
    fmax(C::ZERO, x) + fmin(C::ZERO, alpha * expm1(x / alpha))
}

/// `max(0, min(1, alpha * x + beta))`.
fn hard_sigmoid<C: Float>(x: C, alpha: C, beta: C) -> C {
    fmax(C::ZERO, fmin(C::ONE, alpha * x + beta))
}

/// Exact GELU: `((0.5 * x) * (1 + erf(x / s)))` with `s = sqrt(2)` rounded to the compute
/// type.
fn gelu<C: Float>(x: C) -> C {
    let half = C::from_f64(0.5);
    let s = C::from_f64(std::f64::consts::SQRT_2);
    half * x * (C::ONE + (x / s).erf())
}

/// Tanh GELU, `0.5 * x * (1 + tanh(y))` with `y = k * (x + c * ((x * x) * x))`,
/// `k = sqrt(2 / pi)` and `c = 0.044715` (both rounded to the compute type), evaluated as
/// `x * sigmoid(2 * y)` with [`sigmoid`]: equal in real arithmetic, but without the
/// cancellation of `1 + tanh(y)` for negative `x`.
fn gelu_tanh<C: Float>(x: C) -> C {
    let k = C::from_f64(0.797_884_560_802_865_4);
    let c = C::from_f64(0.044_715);
    let y = k * (x + c * (x * x * x));
    x * sigmoid(y + y)
}

/// `x + bias` if `x < -lambd`, `x - bias` if `x > lambd`, else `0`.
fn shrink<C: Float>(x: C, bias: C, lambd: C) -> C {
    if x < -lambd {
        x + bias
    } else if x > lambd {
        x - bias
    } else {
        C::ZERO
    }
}

/// A unary op on an integer tensor:
///
/// - `Abs`: wrapping (`|MIN| = MIN`); unsigned is the identity. `Sign`: `-1`, `0`, `1`.
/// - `Neg` (signed): wrapping. `Relu` (signed): `max(x, 0)`.
/// - `LeakyRelu` (signed): `x` if `x >= 0`, else `alpha * x` computed in `f64` and
///   converted toward zero, saturating.
/// - `BitwiseNot`: `!x`.
fn int_unary<I: Int>(op: UnaryOp, x: &Tensor) -> Result<Tensor, EvalError> {
    let zero = I::wrap(0);
    let f: Box<dyn Fn(I) -> I> = match op {
        UnaryOp::Abs => Box::new(|v: I| v.wabs()),
        UnaryOp::Sign => Box::new(|v: I| I::wrap(v.to_i128().signum())),
        UnaryOp::BitwiseNot => Box::new(|v: I| v.not()),
        UnaryOp::Neg if I::SIGNED => Box::new(|v: I| v.wneg()),
        UnaryOp::Relu if I::SIGNED => Box::new(move |v: I| v.max(zero)),
        UnaryOp::LeakyRelu { alpha } if I::SIGNED => Box::new(move |v: I| {
            if v < zero {
                I::sat(f64::from(alpha) * v.to_f64())
            } else {
                v
            }
        }),
        _ => return unsupported(Op::Unary(op), x.dtype()),
    };
    map::<I, I>(x, x.dtype(), f)
}

// ---------------------------------------------------------------------------------------
// Integer arithmetic
// ---------------------------------------------------------------------------------------

/// The integer element types, with the wrapping arithmetic the kernels use.
trait Int: Element + Ord {
    /// Whether the type is signed.
    const SIGNED: bool;
    /// The value (exact).
    fn to_i128(self) -> i128;
    /// The low bits of `v` (two's complement wrap, like `as`).
    fn wrap(v: i128) -> Self;
    /// `v` rounded toward zero, saturating at the type's bounds, NaN to 0 (Rust `as`).
    fn sat(v: f64) -> Self;
    /// The value rounded to nearest even (Rust `as`).
    fn to_f64(self) -> f64;
    /// Wrapping `+`.
    fn wadd(self, o: Self) -> Self;
    /// Wrapping `-`.
    fn wsub(self, o: Self) -> Self;
    /// Wrapping `*`.
    fn wmul(self, o: Self) -> Self;
    /// Truncating, wrapping `/` (`o` must not be 0).
    fn wdiv(self, o: Self) -> Self;
    /// Truncated remainder, wrapping (`o` must not be 0).
    fn wrem(self, o: Self) -> Self;
    /// Wrapping negation.
    fn wneg(self) -> Self;
    /// Bitwise not.
    fn not(self) -> Self;
    /// Bitwise and.
    fn and(self, o: Self) -> Self;
    /// Bitwise or.
    fn or(self, o: Self) -> Self;
    /// Bitwise xor.
    fn xor(self, o: Self) -> Self;
    /// `self << n` (bits past the top, the sign bit's included, are dropped), 0 when
    /// `n >= BITS`.
    fn shl(self, n: u32) -> Self;
    /// `self >> n`, arithmetic (sign-extending) for signed types; when `n >= BITS`, the
    /// sign extension alone: -1 for negative `self`, else 0.
    fn shr(self, n: u32) -> Self;
    /// Wrapping absolute value.
    fn wabs(self) -> Self {
        if self < Self::wrap(0) {
            self.wneg()
        } else {
            self
        }
    }
}

macro_rules! int_impl {
    ($($t:ty: $signed:expr),* $(,)?) => {$(
        impl Int for $t {
            const SIGNED: bool = $signed;
            fn to_i128(self) -> i128 { self as i128 }
            fn wrap(v: i128) -> Self { v as $t }
            fn sat(v: f64) -> Self { v as $t }
            fn to_f64(self) -> f64 { self as f64 }
            fn wadd(self, o: Self) -> Self { self.wrapping_add(o) }
            fn wsub(self, o: Self) -> Self { self.wrapping_sub(o) }
            fn wmul(self, o: Self) -> Self { self.wrapping_mul(o) }
            fn wdiv(self, o: Self) -> Self { self.wrapping_div(o) }
            fn wrem(self, o: Self) -> Self { self.wrapping_rem(o) }
            fn wneg(self) -> Self { self.wrapping_neg() }
            fn not(self) -> Self { !self }
            fn and(self, o: Self) -> Self { self & o }
            fn or(self, o: Self) -> Self { self | o }
            fn xor(self, o: Self) -> Self { self ^ o }
            fn shl(self, n: u32) -> Self { self.checked_shl(n).unwrap_or(0) }
            fn shr(self, n: u32) -> Self {
                self.checked_shr(n).unwrap_or(Self::wrap(if (self as i128) < 0 { -1 } else { 0 }))
            }
        }
    )*};
}

int_impl!(i8: true, i16: true, i32: true, i64: true, u8: false, u16: false, u32: false, u64: false);

/// Truncating integer division; division by zero is an error.
fn int_div<I: Int>(x: I, y: I) -> Result<I, EvalError> {
    if y == I::wrap(0) {
        invalid!("integer division by zero");
    }
    Ok(x.wdiv(y))
}

/// C `fmod` of integers: the remainder has the sign of the dividend; zero divisor errs.
fn int_fmod<I: Int>(x: I, y: I) -> Result<I, EvalError> {
    if y == I::wrap(0) {
        invalid!("integer modulo by zero");
    }
    Ok(x.wrem(y))
}

/// Python `%` of integers: the remainder has the sign of the divisor; zero divisor errs.
fn int_mod<I: Int>(x: I, y: I) -> Result<I, EvalError> {
    let zero = I::wrap(0);
    let r = int_fmod(x, y)?;
    Ok(if r != zero && (r < zero) != (y < zero) {
        r.wadd(y)
    } else {
        r
    })
}

/// `base ^ exp` by squaring, wrapping. A negative `exp` gives `1` for base `1`, `±1` for
/// base `-1` (by the parity of `exp`), an error for base `0`, and `0` otherwise (the
/// truncated value of `1 / base^-exp`).
fn int_pow<I: Int>(base: I, exp: i128) -> Result<I, EvalError> {
    if exp < 0 {
        return match base.to_i128() {
            0 => invalid!("integer zero raised to a negative power"),
            1 => Ok(base),
            -1 => Ok(if exp % 2 == 0 { I::wrap(1) } else { base }),
            _ => Ok(I::wrap(0)),
        };
    }
    let (mut acc, mut b, mut e) = (I::wrap(1), base, exp);
    while e > 0 {
        if e & 1 == 1 {
            acc = acc.wmul(b);
        }
        e >>= 1;
        if e > 0 {
            b = b.wmul(b);
        }
    }
    Ok(acc)
}

// ---------------------------------------------------------------------------------------
// Binary
// ---------------------------------------------------------------------------------------

/// Evaluates a binary elementwise op with NumPy broadcasting.
///
/// Operands share a dtype except for `Pow`. Floats: arithmetic, `Max`, `Min`, `Mod` and
/// `PRelu` ([`float_binary`]). Integers: arithmetic, `Max`, `Min`, `Mod`, bitwise ops,
/// shifts (unsigned) and `PRelu` ([`int_binary`]). Bool: `And`, `Or`, `Xor`. Comparisons
/// take every dtype and give bool. `Pow`: see [`pow`]. `PRelu`'s slope must broadcast to
/// the shape of `a`, which is the result's shape.
pub(crate) fn binary(op: BinaryOp, a: &Tensor, b: &Tensor) -> Result<Tensor, EvalError> {
    let dtype = a.dtype();
    if op == BinaryOp::Pow {
        return pow(a, b);
    }
    if dtype != b.dtype() {
        invalid!(
            "{} operands differ in dtype: {dtype} and {}",
            Op::Binary(op).name(),
            b.dtype()
        );
    }
    if op == BinaryOp::PRelu && broadcast_dims(a.dims(), b.dims())? != a.dims() {
        invalid!("prelu slope {:?} does not broadcast to {:?}", b.dims(), a.dims());
    }
    if op.is_comparison() {
        return compare(op, a, b);
    }
    if op.is_logical() {
        return logical(op, a, b);
    }
    with_float!(dtype,
        F => float_binary::<F>(op, a, b),
        _ => with_int!(dtype, I => int_binary::<I>(op, a, b), _ => unsupported(Op::Binary(op), dtype)))
}

/// A float binary op, computed in the compute type:
///
/// - `Add`, `Sub`, `Mul`, `Div`: one rounded IEEE operation.
/// - `Max`, `Min`: [`fmax`], [`fmin`] (NaN propagates).
/// - `Mod { fmod: true }`: C `fmod` (exact). `Mod { fmod: false }`: [`py_mod`].
/// - `PRelu`: `slope * x` if `x < 0`, else `x`.
fn float_binary<F: FloatElem>(op: BinaryOp, a: &Tensor, b: &Tensor) -> Result<Tensor, EvalError> {
    let f: fn(F::C, F::C) -> F::C = match op {
        BinaryOp::Add => |x, y| x + y,
        BinaryOp::Sub => |x, y| x - y,
        BinaryOp::Mul => |x, y| x * y,
        BinaryOp::Div => |x, y| x / y,
        BinaryOp::Max => fmax,
        BinaryOp::Min => fmin,
        BinaryOp::Mod { fmod: true } => c_fmod,
        BinaryOp::Mod { fmod: false } => py_mod,
        BinaryOp::PRelu => prelu,
        _ => return unsupported(Op::Binary(op), a.dtype()),
    };
    zip_map::<F, F, F>(a, b, a.dtype(), |x, y| Ok(F::narrow(f(x.widen(), y.widen()))))
}

/// Whether [`unary_f32`] computes `op` (every unary op but the bool-valued predicates
/// and the bitwise ones, which have no `f32` result).
pub(crate) fn is_f32_unary(op: UnaryOp) -> bool {
    !matches!(
        op,
        UnaryOp::Not | UnaryOp::BitwiseNot | UnaryOp::IsNaN | UnaryOp::IsInf { .. }
    )
}

/// One `f32` element of unary `op` (see [`is_f32_unary`]), the reference's very bits:
/// what the CPU backend's fused elementwise kernel computes per element.
pub(crate) fn unary_f32(op: UnaryOp, x: f32) -> f32 {
    float_unary::<f32>(op, x)
}

/// The `f32` function of binary `op` with both operands `f32` and an `f32` result, as
/// the reference computes each element (`Add`, `Sub`, `Mul`, `Div`, `Max`, `Min`, `Mod`,
/// `PRelu`, `Pow`); `None` for the others (comparisons, logical and bitwise ops).
pub(crate) fn binary_f32(op: BinaryOp) -> Option<fn(f32, f32) -> f32> {
    Some(match op {
        BinaryOp::Add => |x, y| x + y,
        BinaryOp::Sub => |x, y| x - y,
        BinaryOp::Mul => |x, y| x * y,
        BinaryOp::Div => |x, y| x / y,
        BinaryOp::Max => fmax::<f32>,
        BinaryOp::Min => fmin::<f32>,
        BinaryOp::Mod { fmod: true } => c_fmod::<f32>,
        BinaryOp::Mod { fmod: false } => py_mod::<f32>,
        BinaryOp::PRelu => prelu::<f32>,
        // An `f32` exponent is cast to `f32` (the identity), then `pow` in `f32`.
        BinaryOp::Pow => |x, y| Float::pow(x, y),
        _ => return None,
    })
}

/// `Clip` of one `f32` element with its bounds already read: `min(max(x, lo), hi)`,
/// absent bounds skipped, as [`clip`] computes it.
pub(crate) fn clip_f32(x: f32, lo: Option<f32>, hi: Option<f32>) -> f32 {
    let v = lo.map_or(x, |l| fmax(x, l));
    hi.map_or(v, |h| fmin(v, h))
}

/// `PRelu` of floats: `slope * x` if `x < 0`, else `x`.
fn prelu<C: Float>(x: C, slope: C) -> C {
    if x < C::ZERO {
        slope * x
    } else {
        x
    }
}

/// C `fmod`: `x - trunc(x / y) * y` computed exactly (the remainder is representable).
fn c_fmod<C: Float>(x: C, y: C) -> C {
    C::from_f64(x.to_f64() % y.to_f64())
}

/// Python `%` (NumPy `mod`): `r = fmod(x, y)`; NaN stays NaN; a zero `r` takes the sign of
/// `y`; a nonzero `r` whose sign differs from `y`'s becomes `r + y` (one rounded add).
fn py_mod<C: Float>(x: C, y: C) -> C {
    let r = c_fmod(x, y);
    if r.is_nan() {
        r
    } else if r == C::ZERO {
        if y < C::ZERO {
            -C::ZERO
        } else {
            C::ZERO
        }
    } else if (r < C::ZERO) != (y < C::ZERO) {
        r + y
    } else {
        r
    }
}

/// An integer binary op:
///
/// - `Add`, `Sub`, `Mul`: wrapping. `Div`: truncating (`MIN / -1 = MIN`), zero divisor
///   errs. `Mod`: [`int_mod`] or [`int_fmod`]. `Max`, `Min`.
/// - `BitwiseAnd`, `BitwiseOr`, `BitwiseXor`.
/// - `ShiftLeft`, `ShiftRight`: see [`Int::shl`] and [`Int::shr`]; a negative shift
///   count counts as one past the bit width (ONNX `BitShift`, opset 28).
/// - `PRelu`: `slope * x` (wrapping) if `x < 0`, else `x`.
fn int_binary<I: Int>(op: BinaryOp, a: &Tensor, b: &Tensor) -> Result<Tensor, EvalError> {
    let f: fn(I, I) -> Result<I, EvalError> = match op {
        BinaryOp::Add => |x, y| Ok(x.wadd(y)),
        BinaryOp::Sub => |x, y| Ok(x.wsub(y)),
        BinaryOp::Mul => |x, y| Ok(x.wmul(y)),
        BinaryOp::Div => int_div,
        BinaryOp::Mod { fmod: true } => int_fmod,
        BinaryOp::Mod { fmod: false } => int_mod,
        BinaryOp::Max => |x, y| Ok(x.max(y)),
        BinaryOp::Min => |x, y| Ok(x.min(y)),
        BinaryOp::BitwiseAnd => |x, y| Ok(x.and(y)),
        BinaryOp::BitwiseOr => |x, y| Ok(x.or(y)),
        BinaryOp::BitwiseXor => |x, y| Ok(x.xor(y)),
        BinaryOp::ShiftLeft => |x, y| Ok(x.shl(shift_amount(y))),
        BinaryOp::ShiftRight => |x, y| Ok(x.shr(shift_amount(y))),
        BinaryOp::PRelu => |x, s| Ok(if x < I::wrap(0) { s.wmul(x) } else { x }),
        _ => return unsupported(Op::Binary(op), a.dtype()),
    };
    zip_map::<I, I, I>(a, b, a.dtype(), f)
}

/// A shift count as `u32`; counts past `u32::MAX` saturate (they shift everything out).
fn shift_amount<I: Int>(n: I) -> u32 {
    u32::try_from(n.to_i128()).unwrap_or(u32::MAX)
}

/// A comparison, for every dtype (floats compare in IEEE order: NaN is unordered and
/// unequal, `-0 == +0`); the result is bool.
fn compare(op: BinaryOp, a: &Tensor, b: &Tensor) -> Result<Tensor, EvalError> {
    if a.dtype().is_narrow_float() {
        // Their byte codes do not order like their values.
        return unsupported(Op::Binary(op), a.dtype());
    }
    with_float!(a.dtype(),
        F => zip_map::<F, F, u8>(a, b, DType::Bool, |x, y| Ok(cmp(op, x.widen(), y.widen()) as u8)),
        _ => with_any!(a.dtype(), T => zip_map::<T, T, u8>(a, b, DType::Bool, |x, y| Ok(cmp(op, x, y) as u8))))
}

/// `op` applied to `x` and `y`.
fn cmp<T: PartialOrd>(op: BinaryOp, x: T, y: T) -> bool {
    match op {
        BinaryOp::Less => x < y,
        BinaryOp::LessOrEqual => x <= y,
        BinaryOp::Greater => x > y,
        BinaryOp::GreaterOrEqual => x >= y,
        _ => x == y,
    }
}

/// `And`, `Or`, `Xor` of bool tensors (any nonzero byte is true).
fn logical(op: BinaryOp, a: &Tensor, b: &Tensor) -> Result<Tensor, EvalError> {
    if a.dtype() != DType::Bool {
        return unsupported(Op::Binary(op), a.dtype());
    }
    zip_map::<u8, u8, u8>(a, b, DType::Bool, |x, y| {
        let (x, y) = (x != 0, y != 0);
        Ok(match op {
            BinaryOp::And => x && y,
            BinaryOp::Or => x || y,
            _ => x != y,
        } as u8)
    })
}

/// `Pow(a, b)`; the result has `a`'s dtype.
///
/// - Float base: the exponent (any numeric dtype) is first cast (see [`cast`]) to the
///   base's compute type, then `a.pow(b)` with the project's `pow`.
/// - Integer base, integer exponent: [`int_pow`] (wrapping; zero to a negative power errs).
/// - Integer base, float exponent: `pow` in `f64` of the base (rounded to `f64`) and the
///   exponent, converted back toward zero, saturating (NaN gives 0).
fn pow(a: &Tensor, b: &Tensor) -> Result<Tensor, EvalError> {
    let (da, db) = (a.dtype(), b.dtype());
    if db == DType::Bool {
        return unsupported(Op::Binary(BinaryOp::Pow), db);
    }
    match da {
        DType::F32 => pow_float::<f32, f32>(a, &cast(b, DType::F32)?),
        DType::F16 => pow_float::<f16, f32>(a, &cast(b, DType::F32)?),
        DType::BF16 => pow_float::<bf16, f32>(a, &cast(b, DType::F32)?),
        DType::F64 => pow_float::<f64, f64>(a, &cast(b, DType::F64)?),
        _ => with_int!(da,
            I => with_int!(db,
                E => zip_map::<I, E, I>(a, b, da, |x, e| int_pow(x, e.to_i128())),
                _ => pow_int_float::<I>(a, &cast(b, DType::F64)?)),
            _ => unsupported(Op::Binary(BinaryOp::Pow), da)),
    }
}

/// Float `Pow` with an exponent already in the base's compute type.
fn pow_float<F: FloatElem, E: FloatElem<C = F::C>>(a: &Tensor, e: &Tensor) -> Result<Tensor, EvalError> {
    zip_map::<F, E, F>(a, e, a.dtype(), |x, y| Ok(F::narrow(x.widen().pow(y.widen()))))
}

/// Integer base to an `f64` exponent, computed in `f64`.
fn pow_int_float<I: Int>(a: &Tensor, e: &Tensor) -> Result<Tensor, EvalError> {
    zip_map::<I, f64, I>(a, e, a.dtype(), |x, y| Ok(I::sat(Float::pow(x.to_f64(), y))))
}

// ---------------------------------------------------------------------------------------
// Where, Clip
// ---------------------------------------------------------------------------------------

/// `where(cond, x, y)`: `x` where `cond` is true, else `y`, with three-way NumPy
/// broadcasting; `cond` is bool, `x` and `y` share any dtype.
pub(crate) fn where_(cond: &Tensor, x: &Tensor, y: &Tensor) -> Result<Tensor, EvalError> {
    if cond.dtype() != DType::Bool {
        invalid!("where condition must be bool, got {}", cond.dtype());
    }
    if x.dtype() != y.dtype() {
        invalid!("where branches differ in dtype: {} and {}", x.dtype(), y.dtype());
    }
    let dims = broadcast_dims(&broadcast_dims(cond.dims(), x.dims())?, y.dims())?;
    let sc = broadcast_strides(cond.dims(), &dims);
    let sx = broadcast_strides(x.dims(), &dims);
    let sy = broadcast_strides(y.dims(), &dims);
    let c = elems::<u8>(cond)?;
    with_any!(x.dtype(), T => {
        let (xs, ys) = (elems::<T>(x)?, elems::<T>(y)?);
        let out: Vec<T> = StridedWalk::new(&dims, [&sc, &sx, &sy])
            .map(|[i, j, k]| if c[i] != 0 { xs[j] } else { ys[k] })
            .collect();
        make(x.dtype(), dims, out)
    })
}

/// `Clip(x, min?, max?)`: `min(max(x, lo), hi)` with absent bounds skipped; each bound
/// is one element of `x`'s dtype. Floats use [`fmax`]/[`fmin`] (NaN in `x` or a bound
/// propagates); when `lo > hi` every element becomes `hi`. Floats and integers only.
pub(crate) fn clip(x: &Tensor, min: Option<&Tensor>, max: Option<&Tensor>) -> Result<Tensor, EvalError> {
    let dtype = x.dtype();
    with_float!(dtype,
        F => {
            let lo = bound::<F>(min, dtype)?.map(F::widen);
            let hi = bound::<F>(max, dtype)?.map(F::widen);
            map::<F, F>(x, dtype, |v| {
                let v = lo.map_or(v.widen(), |l| fmax(v.widen(), l));
                F::narrow(hi.map_or(v, |h| fmin(v, h)))
            })
        },
        _ => with_int!(dtype,
            I => {
                let (lo, hi) = (bound::<I>(min, dtype)?, bound::<I>(max, dtype)?);
                map::<I, I>(x, dtype, |v| {
                    let v = lo.map_or(v, |l| v.max(l));
                    hi.map_or(v, |h| v.min(h))
                })
            },
            _ => unsupported(Op::Clip, dtype)))
}

/// The single element of an optional clip bound of `dtype`.
fn bound<T: Element>(t: Option<&Tensor>, dtype: DType) -> Result<Option<T>, EvalError> {
    let Some(t) = t else { return Ok(None) };
    if t.dtype() != dtype {
        invalid!("clip bound must be {dtype}, got {}", t.dtype());
    }
    match elems::<T>(t)? {
        [v] => Ok(Some(*v)),
        _ => invalid!("clip bound must have one element, got shape {:?}", t.dims()),
    }
}

// ---------------------------------------------------------------------------------------
// Cast
// ---------------------------------------------------------------------------------------

/// A value on its way through [`cast`]: floats widened exactly to `f64`, integers and bool
/// exactly to `i128`.
#[derive(Copy, Clone, Debug)]
enum Val {
    /// A float value.
    F(f64),
    /// An integer value (bool is 0 or 1).
    I(i128),
}

/// Converts `x` to dtype `to` with the ONNX defaults (saturating float8, `f8e8m0`
/// rounding up); see [`cast_with`].
pub(crate) fn cast(x: &Tensor, to: DType) -> Result<Tensor, EvalError> {
    cast_with(x, &lightos_ir::CastAttrs::to(to))
}

/// Converts `x` to dtype `c.to`, for every pair of dtypes:
///
/// - to bool: nonzero is true (NaN is true); from bool: 0 or 1.
/// - integer to integer: two's complement wrap (Rust `as`, NumPy `astype`); the 4- and
///   2-bit integers wrap into their width too (`200` to `i4` is `-8`).
/// - float to integer: toward zero; out of range saturates at the bounds and NaN gives 0
///   (Rust `as`; NumPy's result there is platform-defined). To the 4- and 2-bit integers
///   the truncated value then wraps into the width, as the ONNX reference (`ml_dtypes`)
///   does: `-9.0` to `i4` is `7`.
/// - to a float: rounded once to nearest even, from the exact source value (integers and
///   `f64` to `f16`/`bf16` too, through round-to-odd intermediates).
/// - to a float8 or float4 format: rounded once to nearest even from the exact value
///   (integers through a round-to-odd `f64`), then `c.saturate` decides what happens past
///   the largest finite value; see [`lightos_ir::dtype::minifloat`].
/// - to `f8e8m0`: the value is rounded to `f32` first (as the ONNX reference does), then
///   encoded with `c.round_mode` and `c.saturate` by
///   [`lightos_ir::dtype::minifloat::encode_e8m0`].
/// - from a narrow float: its exact value (NaN and infinities included).
pub(crate) fn cast_with(x: &Tensor, c: &lightos_ir::CastAttrs) -> Result<Tensor, EvalError> {
    use lightos_ir::dtype::minifloat;
    let (from, to) = (x.dtype(), c.to);
    if from == to {
        return Ok(x.clone());
    }
    let vals: Vec<Val> = if from.is_narrow_float() {
        x.to_f64_vec().into_iter().map(Val::F).collect()
    } else if from.is_narrow() {
        x.to_i64_vec()
            .unwrap_or_default()
            .into_iter()
            .map(|v| Val::I(i128::from(v)))
            .collect()
    } else {
        with_float!(from,
            F => elems::<F>(x)?.iter().map(|v| Val::F(v.widen().to_f64())).collect(),
            _ => with_int!(from,
                I => elems::<I>(x)?.iter().map(|v| Val::I(v.to_i128())).collect(),
                _ => elems::<u8>(x)?.iter().map(|&v| Val::I((v != 0) as i128)).collect()))
    };
    let dims = x.dims().to_vec();
    match to {
        DType::Bool => make(to, dims, vals.into_iter().map(|v| val_nonzero(v) as u8).collect()),
        DType::F32 => make(to, dims, vals.into_iter().map(val_to_f32).collect()),
        DType::F64 => make(to, dims, vals.into_iter().map(val_to_f64).collect()),
        DType::F16 => make(
            to,
            dims,
            vals.into_iter().map(|v| f16::from_f32(val_to_f32_odd(v))).collect(),
        ),
        DType::BF16 => make(
            to,
            dims,
            vals.into_iter().map(|v| bf16::from_f32(val_to_f32_odd(v))).collect(),
        ),
        DType::F8E8M0 => make(
            to,
            dims,
            vals.into_iter()
                .map(|v| minifloat::encode_e8m0(val_to_f32(v), c.saturate, c.round_mode))
                .collect::<Vec<u8>>(),
        ),
        d if d.is_narrow_float() => {
            let codes = vals
                .into_iter()
                .map(|v| {
                    let exact = match v {
                        Val::F(f) => f,
                        Val::I(i) => i128_to_f64_odd(i),
                    };
                    minifloat::encode(d, exact, c.saturate).unwrap_or(0)
                })
                .collect::<Vec<u8>>();
            make(to, dims, codes)
        }
        d if d.is_narrow() => make(
            to,
            dims,
            vals.into_iter()
                .map(|v| {
                    let i = match v {
                        // Toward zero, saturating at i128's bounds, NaN to 0.
                        Val::F(f) => f as i128,
                        Val::I(i) => i,
                    };
                    wrap_narrow(d, i)
                })
                .collect::<Vec<u8>>(),
        ),
        _ => with_int!(to,
            I => make(to, dims, vals.into_iter().map(val_to_int::<I>).collect()),
            _ => unsupported(Op::Cast(*c), from)),
    }
}

/// The low `to.bits()` bits of `v` as the byte of a 4- or 2-bit integer: sign-extended
/// for `i4` and `i2`.
fn wrap_narrow(to: DType, v: i128) -> u8 {
    let bits = to.bits() as u32;
    let low = (v as u8) & ((1u8 << bits) - 1);
    if to.is_signed_int() {
        (((low << (8 - bits)) as i8) >> (8 - bits)) as u8
    } else {
        low
    }
}

/// Whether a value is nonzero (NaN is).
fn val_nonzero(v: Val) -> bool {
    match v {
        Val::F(f) => f != 0.0,
        Val::I(i) => i != 0,
    }
}

/// To `f32`, rounded to nearest even.
fn val_to_f32(v: Val) -> f32 {
    match v {
        Val::F(f) => f as f32,
        Val::I(i) => i as f32,
    }
}

/// To `f64`, rounded to nearest even.
fn val_to_f64(v: Val) -> f64 {
    match v {
        Val::F(f) => f,
        Val::I(i) => i as f64,
    }
}

/// To an integer: floats toward zero and saturating (NaN is 0), integers wrapping.
fn val_to_int<I: Int>(v: Val) -> I {
    match v {
        Val::F(f) => I::sat(f),
        Val::I(i) => I::wrap(i),
    }
}

/// To `f32` rounded to odd, so that rounding the result once more to `f16` or `bf16` (at
/// most 11 significant bits, fewer than `f32`'s 24 less 2) equals rounding the exact value.
fn val_to_f32_odd(v: Val) -> f32 {
    let f = match v {
        Val::F(f) => f,
        Val::I(i) => i128_to_f64_odd(i),
    };
    f64_to_f32_odd(f)
}

/// `v` rounded to `f64` by round-to-odd: truncated, with the last bit set if inexact.
fn i128_to_f64_odd(v: i128) -> f64 {
    let m = v.unsigned_abs();
    let bits = 128 - m.leading_zeros();
    let f = if bits <= 53 {
        m as f64
    } else {
        let shift = bits - 53;
        let mut t = m >> shift;
        if m & ((1u128 << shift) - 1) != 0 {
            t |= 1;
        }
        // `t < 2^53` is exact, and the scale is a power of two; `shift <= 75`.
        t as f64 * f64::from_bits(u64::from(1023 + shift) << 52)
    };
    if v < 0 {
        -f
    } else {
        f
    }
}

/// `v` rounded to `f32` by round-to-odd: toward zero, with the last bit set if inexact.
/// Past `f32::MAX` gives `±f32::MAX` (odd); NaN and infinities pass through.
fn f64_to_f32_odd(v: f64) -> f32 {
    let r = v as f32;
    if v.is_nan() || f64::from(r) == v {
        return r;
    }
    if r.is_infinite() {
        return if v < 0.0 { -f32::MAX } else { f32::MAX };
    }
    let mut bits = r.to_bits();
    if f64::from(r).abs() > v.abs() {
        bits -= 1;
    }
    f32::from_bits(bits | 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f32s(dims: &[usize], v: &[f32]) -> Tensor {
        Tensor::from_vec(dims.to_vec(), v.to_vec()).unwrap()
    }

    fn i32s(dims: &[usize], v: &[i32]) -> Tensor {
        Tensor::from_vec(dims.to_vec(), v.to_vec()).unwrap()
    }

    fn bools(dims: &[usize], v: &[bool]) -> Tensor {
        Tensor::from_bools(dims.to_vec(), v).unwrap()
    }

    fn get<T: Element>(t: &Tensor) -> Vec<T> {
        elems::<T>(t).unwrap().to_vec()
    }

    #[test]
    fn add_broadcasts() {
        let a = f32s(&[2, 1], &[1.0, 2.0]);
        let b = f32s(&[3], &[10.0, 20.0, 30.0]);
        let r = binary(BinaryOp::Add, &a, &b).unwrap();
        assert_eq!(r.dims(), &[2, 3]);
        assert_eq!(get::<f32>(&r), vec![11.0, 21.0, 31.0, 12.0, 22.0, 32.0]);
        let s = binary(BinaryOp::Sub, &Tensor::scalar(1.0f32), &b).unwrap();
        assert_eq!(get::<f32>(&s), vec![-9.0, -19.0, -29.0]);
        assert!(binary(BinaryOp::Add, &f32s(&[2], &[1.0, 2.0]), &b).is_err());
        assert!(binary(BinaryOp::Add, &a, &i32s(&[1], &[1])).is_err());
        let e = binary(BinaryOp::Mul, &f32s(&[0, 3], &[]), &b).unwrap();
        assert_eq!(e.dims(), &[0, 3]);
    }

    #[test]
    fn max_min_nan_and_zero() {
        let a = f32s(&[4], &[f32::NAN, 1.0, -0.0, 3.0]);
        let b = f32s(&[4], &[1.0, f32::NAN, 0.0, 2.0]);
        let mx = get::<f32>(&binary(BinaryOp::Max, &a, &b).unwrap());
        let mn = get::<f32>(&binary(BinaryOp::Min, &a, &b).unwrap());
        assert!(mx[0].is_nan() && mx[1].is_nan() && mn[0].is_nan() && mn[1].is_nan());
        assert_eq!(mx[2].to_bits(), 0.0f32.to_bits());
        assert_eq!(mn[2].to_bits(), (-0.0f32).to_bits());
        assert_eq!((mx[3], mn[3]), (3.0, 2.0));
    }

    #[test]
    fn integer_arithmetic_edges() {
        let a = Tensor::from_vec(vec![4], vec![i8::MAX, i8::MIN, -7, 7]).unwrap();
        let b = Tensor::from_vec(vec![4], vec![1i8, -1, 2, -2]).unwrap();
        assert_eq!(
            get::<i8>(&binary(BinaryOp::Add, &a, &b).unwrap()),
            vec![i8::MIN, i8::MAX, -5, 5]
        );
        assert_eq!(
            get::<i8>(&binary(BinaryOp::Div, &a, &b).unwrap()),
            vec![127, i8::MIN, -3, -3]
        );
        let m = binary(BinaryOp::Mod { fmod: false }, &a, &b).unwrap();
        assert_eq!(get::<i8>(&m), vec![0, 0, 1, -1]);
        let fm = binary(BinaryOp::Mod { fmod: true }, &a, &b).unwrap();
        assert_eq!(get::<i8>(&fm), vec![0, 0, -1, 1]);
        let z = Tensor::from_vec(vec![1], vec![0i8]).unwrap();
        let err = binary(BinaryOp::Div, &a, &z).unwrap_err();
        assert_eq!(err, EvalError::Invalid("integer division by zero".into()));
        assert!(binary(BinaryOp::Mod { fmod: false }, &a, &z).is_err());
        assert_eq!(get::<i8>(&unary(UnaryOp::Abs, &a).unwrap()), vec![127, i8::MIN, 7, 7]);
        assert_eq!(get::<i8>(&unary(UnaryOp::Neg, &a).unwrap()), vec![-127, i8::MIN, 7, -7]);
        assert_eq!(get::<i8>(&unary(UnaryOp::Sign, &a).unwrap()), vec![1, -1, -1, 1]);
        assert_eq!(get::<i8>(&unary(UnaryOp::Relu, &a).unwrap()), vec![127, 0, 0, 7]);
        let lr = unary(UnaryOp::LeakyRelu { alpha: 0.5 }, &a).unwrap();
        assert_eq!(get::<i8>(&lr), vec![127, -64, -3, 7]);
        assert_eq!(
            get::<i8>(&unary(UnaryOp::BitwiseNot, &a).unwrap()),
            vec![-128, 127, 6, -8]
        );
        let u = Tensor::from_vec(vec![1], vec![3u8]).unwrap();
        assert!(matches!(
            unary(UnaryOp::Neg, &u),
            Err(EvalError::UnsupportedDType { .. })
        ));
    }

    #[test]
    fn shifts_and_bitwise() {
        let a = Tensor::from_vec(vec![4], vec![1u8, 0x80, 0xff, 3]).unwrap();
        let b = Tensor::from_vec(vec![4], vec![7u8, 1, 8, 200]).unwrap();
        assert_eq!(
            get::<u8>(&binary(BinaryOp::ShiftLeft, &a, &b).unwrap()),
            vec![0x80, 0, 0, 0]
        );
        assert_eq!(
            get::<u8>(&binary(BinaryOp::ShiftRight, &a, &b).unwrap()),
            vec![0, 0x40, 0, 0]
        );
        assert_eq!(
            get::<u8>(&binary(BinaryOp::BitwiseXor, &a, &b).unwrap()),
            vec![6, 0x81, 0xf7, 203]
        );
        // Signed: the left shift drops bits past the sign bit; the right shift extends the
        // sign; negative or too-large counts give the sign extension alone.
        let x = Tensor::from_vec(vec![4], vec![-16i8, 0x41, -3, 5]).unwrap();
        let n = Tensor::from_vec(vec![4], vec![2i8, 1, 8, -1]).unwrap();
        assert_eq!(
            get::<i8>(&binary(BinaryOp::ShiftLeft, &x, &n).unwrap()),
            vec![-64, -126, 0, 0]
        );
        assert_eq!(
            get::<i8>(&binary(BinaryOp::ShiftRight, &x, &n).unwrap()),
            vec![-4, 0x20, -1, 0]
        );
    }

    #[test]
    fn float_mod() {
        let a = f32s(&[5], &[5.5, -5.5, 5.5, -0.0, 3.0]);
        let b = f32s(&[5], &[2.0, 2.0, -2.0, 3.0, -3.0]);
        let m = get::<f32>(&binary(BinaryOp::Mod { fmod: false }, &a, &b).unwrap());
        assert_eq!(m[..3], [1.5, 0.5, -0.5]);
        assert_eq!(m[3].to_bits(), 0.0f32.to_bits());
        assert_eq!(m[4].to_bits(), (-0.0f32).to_bits());
        let f = get::<f32>(&binary(BinaryOp::Mod { fmod: true }, &a, &b).unwrap());
        assert_eq!(f[..3], [1.5, -1.5, 1.5]);
        let z = get::<f32>(&binary(BinaryOp::Mod { fmod: false }, &a, &Tensor::scalar(0.0f32)).unwrap());
        assert!(z.iter().all(|v| v.is_nan()));
    }

    #[test]
    fn comparisons_and_logic() {
        let a = f32s(&[3], &[1.0, f32::NAN, -0.0]);
        let b = f32s(&[3], &[2.0, f32::NAN, 0.0]);
        assert_eq!(get::<u8>(&binary(BinaryOp::Equal, &a, &b).unwrap()), vec![0, 0, 1]);
        assert_eq!(get::<u8>(&binary(BinaryOp::Less, &a, &b).unwrap()), vec![1, 0, 0]);
        assert_eq!(
            get::<u8>(&binary(BinaryOp::GreaterOrEqual, &a, &b).unwrap()),
            vec![0, 0, 1]
        );
        let r = binary(BinaryOp::Less, &i32s(&[2], &[-1, 5]), &i32s(&[], &[0])).unwrap();
        assert_eq!(r.dtype(), DType::Bool);
        assert_eq!(get::<u8>(&r), vec![1, 0]);
        let p = bools(&[2, 1], &[true, false]);
        let q = bools(&[2], &[true, false]);
        assert_eq!(get::<u8>(&binary(BinaryOp::Xor, &p, &q).unwrap()), vec![0, 1, 1, 0]);
        assert_eq!(get::<u8>(&binary(BinaryOp::And, &p, &q).unwrap()), vec![1, 0, 0, 0]);
        assert_eq!(get::<u8>(&binary(BinaryOp::Equal, &p, &q).unwrap()), vec![1, 0, 0, 1]);
        assert_eq!(get::<u8>(&unary(UnaryOp::Not, &q).unwrap()), vec![0, 1]);
        assert!(binary(BinaryOp::And, &a, &b).is_err());
    }

    #[test]
    fn prelu_slope_broadcasts_to_x() {
        let x = f32s(&[2, 2], &[-2.0, 3.0, -4.0, f32::NAN]);
        let s = f32s(&[2], &[0.5, 0.25]);
        let r = get::<f32>(&binary(BinaryOp::PRelu, &x, &s).unwrap());
        assert_eq!(r[..3], [-1.0, 3.0, -2.0]);
        assert!(r[3].is_nan());
        assert!(binary(BinaryOp::PRelu, &s, &x).is_err());
    }

    #[test]
    fn integer_pow() {
        let a = i32s(&[6], &[2, -3, 1, -1, 5, 2]);
        let e = Tensor::from_vec(vec![6], vec![10i64, 3, -5, -3, -1, 40]).unwrap();
        let r = binary(BinaryOp::Pow, &a, &e).unwrap();
        assert_eq!(r.dtype(), DType::I32);
        assert_eq!(get::<i32>(&r), vec![1024, -27, 1, -1, 0, 0]);
        assert!(binary(BinaryOp::Pow, &i32s(&[1], &[0]), &i32s(&[1], &[-1])).is_err());
    }

    #[test]
    fn where_broadcasts_three_ways() {
        let c = bools(&[2, 1], &[true, false]);
        let x = i32s(&[3], &[1, 2, 3]);
        let y = i32s(&[], &[-1]);
        let r = where_(&c, &x, &y).unwrap();
        assert_eq!(r.dims(), &[2, 3]);
        assert_eq!(get::<i32>(&r), vec![1, 2, 3, -1, -1, -1]);
        let b = where_(&c, &bools(&[1], &[true]), &bools(&[1], &[false])).unwrap();
        assert_eq!((b.dtype(), get::<u8>(&b)), (DType::Bool, vec![1, 0]));
        assert!(where_(&x, &x, &y).is_err());
    }

    #[test]
    fn clip_bounds() {
        let x = f32s(&[4], &[-5.0, 0.5, 5.0, f32::NAN]);
        let lo = Tensor::scalar(-1.0f32);
        let hi = f32s(&[1], &[1.0]);
        let r = get::<f32>(&clip(&x, Some(&lo), Some(&hi)).unwrap());
        assert_eq!(r[..3], [-1.0, 0.5, 1.0]);
        assert!(r[3].is_nan());
        assert_eq!(get::<f32>(&clip(&x, None, Some(&hi)).unwrap())[..3], [-5.0, 0.5, 1.0]);
        let inverted = get::<f32>(&clip(&x, Some(&hi), Some(&lo)).unwrap());
        assert_eq!(inverted[..3], [-1.0, -1.0, -1.0]);
        let xi = i32s(&[3], &[-5, 2, 9]);
        let r = clip(&xi, Some(&Tensor::scalar(0i32)), Some(&Tensor::scalar(4i32))).unwrap();
        assert_eq!(get::<i32>(&r), vec![0, 2, 4]);
        assert!(clip(&xi, Some(&lo), None).is_err());
        assert!(clip(&xi, Some(&i32s(&[2], &[0, 1])), None).is_err());
    }

    #[test]
    fn cast_float_to_int_and_bool() {
        let x = f32s(&[6], &[2.7, -2.7, 300.0, f32::NAN, -0.0, f32::INFINITY]);
        assert_eq!(
            get::<i32>(&cast(&x, DType::I32).unwrap()),
            vec![2, -2, 300, 0, 0, i32::MAX]
        );
        assert_eq!(get::<i8>(&cast(&x, DType::I8).unwrap()), vec![2, -2, 127, 0, 0, 127]);
        assert_eq!(get::<u8>(&cast(&x, DType::U8).unwrap()), vec![2, 0, 255, 0, 0, 255]);
        let b = cast(&x, DType::Bool).unwrap();
        assert_eq!((b.dtype(), get::<u8>(&b)), (DType::Bool, vec![1, 1, 1, 1, 0, 1]));
        let back = cast(&b, DType::F16).unwrap();
        assert_eq!(get::<f16>(&back)[4], f16::ZERO);
        assert_eq!(get::<f16>(&back)[0], f16::ONE);
    }

    #[test]
    fn cast_to_and_from_narrow_types() {
        use lightos_ir::dtype::minifloat::RoundMode;
        use lightos_ir::CastAttrs;
        let x = f32s(&[6], &[0.5, -448.0, 1000.0, f32::NAN, -1e-9, f32::NEG_INFINITY]);
        let sat = cast(&x, DType::F8E4M3FN).unwrap();
        assert_eq!(sat.bytes(), &[0x30, 0xFE, 0x7E, 0x7F, 0x80, 0xFE]);
        let no_sat = CastAttrs {
            saturate: false,
            ..CastAttrs::to(DType::F8E4M3FN)
        };
        assert_eq!(
            cast_with(&x, &no_sat).unwrap().bytes(),
            &[0x30, 0xFE, 0x7F, 0x7F, 0x80, 0xFF]
        );
        let e5m2 = CastAttrs {
            saturate: false,
            ..CastAttrs::to(DType::F8E5M2)
        };
        assert_eq!(
            cast_with(&x, &e5m2).unwrap().bytes(),
            &[0x38, 0xDF, 0x64, 0x7E, 0x80, 0xFC]
        );
        // And back: exact values.
        let back = cast(&sat, DType::F32).unwrap();
        let v = get::<f32>(&back);
        assert_eq!(&v[..3], &[0.5, -448.0, 448.0]);
        assert!(v[3].is_nan());
        assert_eq!(v[4].to_bits(), (-0.0f32).to_bits());
        // Integers to float8 round from the exact value: 2^24 + 1 -> 2^24 in e5m2 (57344
        // saturates).
        let i = Tensor::from_vec(vec![2], vec![17i64, 1 << 40]).unwrap();
        assert_eq!(cast(&i, DType::F8E5M2).unwrap().to_f64_vec(), vec![16.0, 57344.0]);
        // Floats and ints to the 4- and 2-bit integers: toward zero, then wrap.
        let y = f32s(&[5], &[-9.0, 8.0, 2.7, -2.7, 15.0]);
        assert_eq!(cast(&y, DType::I4).unwrap().to_i64_vec(), Some(vec![7, -8, 2, -2, -1]));
        assert_eq!(cast(&y, DType::U4).unwrap().to_i64_vec(), Some(vec![7, 8, 2, 14, 15]));
        assert_eq!(cast(&y, DType::I2).unwrap().to_i64_vec(), Some(vec![-1, 0, -2, -2, -1]));
        let i4 = cast(&y, DType::I4).unwrap();
        assert_eq!(get::<i8>(&cast(&i4, DType::I8).unwrap()), vec![7, -8, 2, -2, -1]);
        assert_eq!(cast(&i4, DType::U2).unwrap().to_i64_vec(), Some(vec![3, 0, 2, 2, 3]));
        // float4: saturating always.
        let f = f32s(&[4], &[9.0, -0.25, 1.25, 5.0]);
        assert_eq!(cast(&f, DType::F4E2M1).unwrap().to_f64_vec(), vec![6.0, -0.0, 1.0, 4.0]);
        // E8M0 with its rounding modes, and back to f16 (2^-127 underflows to 0).
        let e = f32s(&[4], &[0.0, 1.1, 3.0, 0.124]);
        assert_eq!(cast(&e, DType::F8E8M0).unwrap().bytes(), &[0, 128, 129, 124]);
        let down = CastAttrs {
            round_mode: RoundMode::Down,
            ..CastAttrs::to(DType::F8E8M0)
        };
        let d = cast_with(&e, &down).unwrap();
        assert_eq!(d.bytes(), &[0, 127, 128, 123]);
        assert_eq!(get::<f16>(&cast(&d, DType::F16).unwrap())[..2], [f16::ZERO, f16::ONE]);
        // Bool to and from narrow types.
        let b = Tensor::from_bools(vec![2], &[true, false]).unwrap();
        assert_eq!(cast(&b, DType::F8E4M3FN).unwrap().bytes(), &[0x38, 0]);
        assert_eq!(
            cast(&cast(&b, DType::I2).unwrap(), DType::Bool).unwrap().bytes(),
            &[1, 0]
        );
    }

    #[test]
    fn cast_int_pairs() {
        let x = Tensor::from_vec(vec![3], vec![-1i64, 300, i64::MAX]).unwrap();
        assert_eq!(get::<u8>(&cast(&x, DType::U8).unwrap()), vec![255, 44, 255]);
        assert_eq!(get::<i16>(&cast(&x, DType::I16).unwrap()), vec![-1, 300, -1]);
        assert_eq!(
            get::<u64>(&cast(&x, DType::U64).unwrap()),
            vec![u64::MAX, 300, i64::MAX as u64]
        );
        assert_eq!(
            get::<f32>(&cast(&x, DType::F32).unwrap()),
            vec![-1.0, 300.0, 9.223372e18]
        );
        let u = Tensor::from_vec(vec![1], vec![u64::MAX]).unwrap();
        assert_eq!(get::<i64>(&cast(&u, DType::I64).unwrap()), vec![-1]);
        assert_eq!(get::<f64>(&cast(&u, DType::F64).unwrap()), vec![18446744073709551615.0]);
        assert_eq!(
            get::<bf16>(&cast(&u, DType::BF16).unwrap()),
            vec![bf16::from_f64(1.8446744073709552e19)]
        );
    }

    #[test]
    fn cast_rounds_once_to_half_types() {
        // 1 + 2^-11 + 2^-40 is just above the f16 tie between 1 and 1 + 2^-10: a double
        // rounding through f32 would tie to even (1.0); rounding once gives 1 + 2^-10.
        let v = 1.0 + 2f64.powi(-11) + 2f64.powi(-40);
        let x = Tensor::from_vec(vec![1], vec![v]).unwrap();
        assert_eq!(
            get::<f16>(&cast(&x, DType::F16).unwrap()),
            vec![f16::from_f64(1.0 + 2f64.powi(-10))]
        );
        // An exact tie in f64 rounds to even.
        let t = Tensor::from_vec(vec![1], vec![1.0 + 2f64.powi(-11)]).unwrap();
        assert_eq!(get::<f16>(&cast(&t, DType::F16).unwrap()), vec![f16::ONE]);
        // Integers above the bf16 tie: 257 + 2^-? as i64: 0x1_0100_0001 (257 * 2^24 + 1).
        let i = Tensor::from_vec(vec![1], vec![(257i64 << 24) + 1]).unwrap();
        assert_eq!(
            get::<bf16>(&cast(&i, DType::BF16).unwrap()),
            vec![bf16::from_f32(258.0 * 16_777_216.0)]
        );
        let big = Tensor::from_vec(vec![1], vec![1e300f64]).unwrap();
        assert_eq!(get::<f16>(&cast(&big, DType::F16).unwrap()), vec![f16::INFINITY]);
        assert_eq!(get::<f32>(&cast(&big, DType::F32).unwrap()), vec![f32::INFINITY]);
        let h = Tensor::from_vec(vec![2], vec![f16::from_f32(0.1), f16::NAN]).unwrap();
        let hb = get::<bf16>(&cast(&h, DType::BF16).unwrap());
        assert_eq!(hb[0], bf16::from_f32(f16::from_f32(0.1).to_f32()));
        assert!(hb[1].is_nan());
    }

    #[test]
    fn unary_piecewise() {
        let x = f32s(&[5], &[-3.0, -0.0, 0.25, 4.0, f32::NAN]);
        let relu = get::<f32>(&unary(UnaryOp::Relu, &x).unwrap());
        assert_eq!(relu[..4], [0.0, 0.0, 0.25, 4.0]);
        assert_eq!(relu[1].to_bits(), 0);
        assert!(relu[4].is_nan());
        let sign = get::<f32>(&unary(UnaryOp::Sign, &x).unwrap());
        assert_eq!(sign[..4], [-1.0, 0.0, 1.0, 1.0]);
        assert!(sign[4].is_nan());
        let hs = get::<f32>(&unary(UnaryOp::HardSwish, &x).unwrap());
        assert_eq!(hs[..4], [0.0, 0.0, 0.25 * (0.25f32 * (1.0 / 6.0) + 0.5), 4.0]);
        let hsig = get::<f32>(&unary(UnaryOp::HardSigmoid { alpha: 0.5, beta: 0.5 }, &x).unwrap());
        assert_eq!(hsig[..4], [0.0, 0.5, 0.625, 1.0]);
        assert!(hsig[4].is_nan());
        let th = get::<f32>(&unary(UnaryOp::ThresholdedRelu { alpha: 0.5 }, &x).unwrap());
        assert_eq!(th, vec![0.0, 0.0, 0.0, 4.0, 0.0]);
        let sh = get::<f32>(&unary(UnaryOp::Shrink { bias: 1.0, lambd: 0.5 }, &x).unwrap());
        assert_eq!(sh, vec![-2.0, 0.0, 0.0, 3.0, 0.0]);
        let lr = get::<f32>(&unary(UnaryOp::LeakyRelu { alpha: 0.1 }, &x).unwrap());
        assert_eq!(lr[0], -3.0 * 0.1f32);
        let r = f32s(&[4], &[0.5, 1.5, 2.5, -2.5]);
        assert_eq!(
            get::<f32>(&unary(UnaryOp::Round, &r).unwrap()),
            vec![0.0, 2.0, 2.0, -2.0]
        );
        let nan = get::<u8>(&unary(UnaryOp::IsNaN, &x).unwrap());
        assert_eq!(nan, vec![0, 0, 0, 0, 1]);
        let inf = f32s(&[3], &[f32::INFINITY, f32::NEG_INFINITY, 1.0]);
        let pos = unary(
            UnaryOp::IsInf {
                negative: false,
                positive: true,
            },
            &inf,
        )
        .unwrap();
        assert_eq!((pos.dtype(), get::<u8>(&pos)), (DType::Bool, vec![1, 0, 0]));
        let both = unary(
            UnaryOp::IsInf {
                negative: true,
                positive: true,
            },
            &inf,
        )
        .unwrap();
        assert_eq!(get::<u8>(&both), vec![1, 1, 0]);
        assert!(unary(UnaryOp::Exp, &i32s(&[1], &[1])).is_err());
        assert!(unary(UnaryOp::Not, &x).is_err());
    }

    #[test]
    fn unary_transcendental_formulas() {
        let x = Tensor::from_vec(vec![5], vec![-800.0f64, -1.0, 0.0, 1.0, 800.0]).unwrap();
        let sig = get::<f64>(&unary(UnaryOp::Sigmoid, &x).unwrap());
        assert_eq!(sig[0], 0.0);
        assert_eq!(sig[2], 0.5);
        assert_eq!(sig[4], 1.0);
        assert!((sig[3] - 0.7310585786300049).abs() < 1e-14);
        assert!((sig[1] - 0.2689414213699951).abs() < 1e-14);
        let sp = get::<f64>(&unary(UnaryOp::Softplus, &x).unwrap());
        assert_eq!((sp[0], sp[4]), (0.0, 800.0));
        assert!((sp[3] - 1.3132616875182228).abs() < 1e-14);
        let elu = get::<f64>(&unary(UnaryOp::Elu { alpha: 2.0 }, &x).unwrap());
        assert_eq!((elu[0], elu[4]), (-2.0, 800.0));
        assert!((elu[1] + 2.0 * 0.6321205588285577).abs() < 1e-14);
        let celu = get::<f64>(&unary(UnaryOp::Celu { alpha: 2.0 }, &x).unwrap());
        assert!((celu[1] - 2.0 * (-0.3934693402873666)).abs() < 1e-14);
        assert_eq!((celu[3], celu[4]), (1.0, 800.0));
        let gelu = get::<f64>(&unary(UnaryOp::Gelu { tanh: false }, &x).unwrap());
        assert!((gelu[3] - 0.8413447460685429).abs() < 1e-14);
        assert_eq!((gelu[0], gelu[4]), (-0.0, 800.0));
        let gt = get::<f64>(&unary(UnaryOp::Gelu { tanh: true }, &x).unwrap());
        assert!((gt[3] - 0.8411919906082768).abs() < 1e-14);
        let mish = get::<f64>(&unary(UnaryOp::Mish, &x).unwrap());
        assert!((mish[3] - 0.8650983882673103).abs() < 1e-14);
        let small = Tensor::from_vec(vec![1], vec![-1e-10f32]).unwrap();
        let e = get::<f32>(&unary(UnaryOp::Elu { alpha: 1.0 }, &small).unwrap());
        assert!((e[0] + 1e-10).abs() < 1e-16);
        let h = Tensor::from_vec(vec![1], vec![f16::from_f32(1.0)]).unwrap();
        let hs = get::<f16>(&unary(UnaryOp::Sigmoid, &h).unwrap());
        assert_eq!(hs, vec![f16::from_f32(0.7310586)]);
    }

    #[test]
    fn float_pow_mixed_dtypes() {
        let a = f32s(&[3], &[2.0, 4.0, -2.0]);
        let e = Tensor::from_vec(vec![3], vec![3i64, 0, 3]).unwrap();
        let r = binary(BinaryOp::Pow, &a, &e).unwrap();
        assert_eq!(r.dtype(), DType::F32);
        assert_eq!(get::<f32>(&r), vec![8.0, 1.0, -8.0]);
        let ei = f32s(&[1], &[0.5]);
        let ri = binary(BinaryOp::Pow, &i32s(&[2], &[9, 2]), &ei).unwrap();
        assert_eq!(get::<i32>(&ri), vec![3, 1]);
    }

    #[test]
    fn gelu_tanh_has_no_cancellation() {
        let x = Tensor::from_vec(vec![2], vec![-5.508317947387695f64, -4.50860071182251]).unwrap();
        let g = get::<f64>(&unary(UnaryOp::Gelu { tanh: true }, &x).unwrap());
        assert!((g[0] / -5.550677214584679e-9 - 1.0).abs() < 1e-12);
        assert!((g[1] / -4.890278101372214e-6 - 1.0).abs() < 1e-12);
    }

    #[test]
    fn half_types_compute_in_f32_and_round_once() {
        let a = Tensor::from_vec(vec![2], vec![bf16::from_f32(1.0), bf16::from_f32(256.0)]).unwrap();
        let b = Tensor::from_vec(vec![1], vec![bf16::from_f32(1.0)]).unwrap();
        let r = get::<bf16>(&binary(BinaryOp::Add, &a, &b).unwrap());
        assert_eq!(r, vec![bf16::from_f32(2.0), bf16::from_f32(256.0)]);
        let v = Tensor::from_vec(vec![1], vec![1.0 + 2f64.powi(-8) + 2f64.powi(-40)]).unwrap();
        let c = get::<bf16>(&cast(&v, DType::BF16).unwrap());
        assert_eq!(c, vec![bf16::from_f64(1.0 + 2f64.powi(-7))]);
    }
}
