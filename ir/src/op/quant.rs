//! Attributes of the quantization ops and of `BitCast`.
//!
//! The quantized ops are [`crate::Op::QuantizeLinear`], [`crate::Op::DequantizeLinear`],
//! [`crate::Op::DynamicQuantizeLinear`], [`crate::Op::MatMulInteger`],
//! [`crate::Op::ConvInteger`], [`crate::Op::QLinearMatMul`] and
//! [`crate::Op::QLinearConv`] (the last two take [`crate::ConvAttrs`] or nothing). Scales
//! and zero points are operands; their shape picks the granularity:
//!
//! - per tensor: one element (rank 0, or any shape of one element);
//! - per axis: rank 1, as long as the quantized axis;
//! - blocked (`block_size > 0`): the rank of the data, equal dims except along the axis,
//!   where it is `ceil(dim / block_size)`.

use crate::dtype::DType;

/// Attributes of [`crate::Op::QuantizeLinear`]: `y = saturate(round(x / scale) + zero_point)`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct QuantizeAttrs {
    /// The quantized axis for per-axis and blocked scales (normalized; 0 when the scale
    /// is per tensor).
    pub axis: usize,
    /// Elements per block along `axis` for blocked quantization; 0 otherwise.
    pub block_size: usize,
    /// The result dtype: `u8`, `i8`, `u16`, `i16`, `u4`, `i4`, `u2`, `i2` or a float8 or
    /// float4 format. A zero point, when present, has this dtype.
    pub to: DType,
    /// For float8 results: values past the largest finite value clamp to it (`true`) or
    /// become infinity / NaN (`false`), as in [`crate::CastAttrs::saturate`].
    pub saturate: bool,
    /// The dtype `x / scale` is computed in (ONNX `precision`); `None` for NumPy's
    /// promotion of the dtypes of `x` and `scale`, as the ONNX reference computes it: the
    /// common dtype when they agree, `f64` when either is `i32`, else `f32`.
    pub precision: Option<DType>,
}

/// Attributes of [`crate::Op::DequantizeLinear`]: `y = (x - zero_point) * scale`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct DequantizeAttrs {
    /// The quantized axis for per-axis and blocked scales (normalized; 0 when the scale
    /// is per tensor).
    pub axis: usize,
    /// Elements per block along `axis` for blocked quantization; 0 otherwise.
    pub block_size: usize,
    /// The result dtype: `f32`, `f16` or `bf16`.
    pub to: DType,
}

/// Attributes of [`crate::Op::BitCast`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct BitCastAttrs {
    /// The target dtype, of the same bit width as the operand's.
    pub to: DType,
}
