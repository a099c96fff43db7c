//! Type rules of the quantization ops and `BitCast`, and the shape rule of scales and
//! zero points ([`scale_layout`]) that the kernels share.

use super::{bail, linalg, Args, InferError, Operand, SymbolNamer};
use crate::dtype::DType;
use crate::graph::TensorType;
use crate::op::{BitCastAttrs, ConvAttrs, DequantizeAttrs, QuantizeAttrs};
use crate::shape::Shape;

/// How a scale (and its zero point) maps onto the elements of the tensor it quantizes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ScaleLayout {
    /// One scale for every element.
    PerTensor,
    /// One scale per index along `axis` (the scale is rank 1).
    PerAxis {
        /// The quantized axis.
        axis: usize,
    },
    /// One scale per block of `block` consecutive indices along `axis`; the scale has the
    /// data's rank and dims, except `ceil(dim / block)` along `axis`.
    Blocked {
        /// The quantized axis.
        axis: usize,
        /// Elements per block.
        block: usize,
    },
}

/// The layout of a scale of dims `scale` for data of dims `x`, quantized along `axis`
/// with `block_size` (0 when not blocked): per tensor when the scale has one element,
/// else per axis or blocked, which must fit `x` exactly.
pub fn scale_layout(x: &[usize], scale: &[usize], axis: usize, block_size: usize) -> Result<ScaleLayout, InferError> {
    if scale.iter().product::<usize>() == 1 {
        return Ok(ScaleLayout::PerTensor);
    }
    if axis >= x.len() {
        bail!("quantization axis {axis} is out of range for data of dims {x:?}");
    }
    if block_size == 0 {
        if scale.len() != 1 || scale[0] != x[axis] {
            bail!(
                "a per-axis scale must be rank 1 of length {} (axis {axis} of {x:?}), got dims {scale:?}",
                x[axis]
            );
        }
        return Ok(ScaleLayout::PerAxis { axis });
    }
    let blocks = x[axis].div_ceil(block_size);
    let fits = scale.len() == x.len()
        && scale
            .iter()
            .zip(x)
            .enumerate()
            .all(|(i, (&s, &d))| if i == axis { s == blocks } else { s == d });
    if !fits {
        bail!(
            "a blocked scale for data {x:?} with block size {block_size} along axis {axis} must have dims \
             equal to the data's except {blocks} along the axis, got {scale:?}"
        );
    }
    Ok(ScaleLayout::Blocked {
        axis,
        block: block_size,
    })
}

/// Whether a zero point of dims `zp` fits a scale of dims `scale`: the same dims, or one
/// element each (per tensor, e.g. `[1]` with a scalar scale).
pub fn same_granularity(zp: &[usize], scale: &[usize]) -> bool {
    zp == scale || (zp.iter().product::<usize>() == 1 && scale.iter().product::<usize>() == 1)
}

/// The dtypes a quantized tensor may have (the results of `QuantizeLinear`, the inputs of
/// `DequantizeLinear` besides `i32`).
fn is_quantized(d: DType) -> bool {
    matches!(d, DType::U8 | DType::I8 | DType::U16 | DType::I16) || (d.is_narrow() && d != DType::F8E8M0)
}

/// Whether `d` is one of the ordinary float dtypes `f32`, `f16`, `bf16`.
fn is_scale_float(d: DType) -> bool {
    matches!(d, DType::F32 | DType::F16 | DType::BF16)
}

/// Checks a scale and its optional zero point against the data `x`: the zero point must
/// have dtype `zp_dtype` and the scale's dims; with fixed dims, the layout must fit.
fn check_scale(
    what: &str,
    x: &TensorType,
    scale: &TensorType,
    zp: Option<Operand>,
    zp_dtype: DType,
    axis: usize,
    block_size: usize,
) -> Result<(), InferError> {
    if let Some(z) = zp {
        if z.ty.dtype != zp_dtype {
            bail!("{what} zero point must be {zp_dtype}, got {}", z.ty);
        }
        if let (Some(a), Some(b)) = (z.ty.shape.as_fixed(), scale.shape.as_fixed()) {
            if !same_granularity(&a, &b) {
                bail!("{what} zero point {} and scale {scale} must have the same shape", z.ty);
            }
        }
    }
    if let (Some(xd), Some(sd)) = (x.shape.as_fixed(), scale.shape.as_fixed()) {
        scale_layout(&xd, &sd, axis, block_size).map_err(|e| InferError(format!("{what}: {}", e.0)))?;
    }
    Ok(())
}

/// `QuantizeLinear`: `x` is `f32`, `f16`, `bf16` or `i32`; the scale one of those or
/// `f8e8m0`; the result has dtype `q.to` and the dims of `x`.
pub(super) fn quantize(q: &QuantizeAttrs, args: &Args) -> Result<TensorType, InferError> {
    let x = args.get(0)?.ty;
    let scale = args.get(1)?.ty;
    if !is_scale_float(x.dtype) && x.dtype != DType::I32 {
        bail!("quantize_linear input must be f32, f16, bf16 or i32, got {x}");
    }
    if !is_scale_float(scale.dtype) && !matches!(scale.dtype, DType::I32 | DType::F8E8M0) {
        bail!("quantize_linear scale must be f32, f16, bf16, i32 or f8e8m0, got {scale}");
    }
    if !is_quantized(q.to) {
        bail!("quantize_linear cannot produce {}", q.to);
    }
    if let Some(p) = q.precision {
        if !matches!(p, DType::F32 | DType::F16 | DType::BF16 | DType::F64) {
            bail!("quantize_linear precision must be a float dtype, got {p}");
        }
    }
    check_scale("quantize_linear", x, scale, args.opt(2), q.to, q.axis, q.block_size)?;
    Ok(TensorType::new(q.to, x.shape.clone()))
}

/// `DequantizeLinear`: `x` is a quantized dtype or `i32`; the scale `f32`, `f16`, `bf16`
/// or `f8e8m0`; the result has dtype `d.to` (`f32`, `f16` or `bf16`) and the dims of `x`.
pub(super) fn dequantize(d: &DequantizeAttrs, args: &Args) -> Result<TensorType, InferError> {
    let x = args.get(0)?.ty;
    let scale = args.get(1)?.ty;
    if !is_quantized(x.dtype) && x.dtype != DType::I32 {
        bail!("dequantize_linear cannot read {x}");
    }
    if !is_scale_float(scale.dtype) && scale.dtype != DType::F8E8M0 {
        bail!("dequantize_linear scale must be f32, f16, bf16 or f8e8m0, got {scale}");
    }
    if !is_scale_float(d.to) {
        bail!("dequantize_linear result must be f32, f16 or bf16, got {}", d.to);
    }
    check_scale(
        "dequantize_linear",
        x,
        scale,
        args.opt(2),
        x.dtype,
        d.axis,
        d.block_size,
    )?;
    Ok(TensorType::new(d.to, x.shape.clone()))
}

/// `DynamicQuantizeLinear`: `f32` data gives `u8` data of its dims, an `f32` scalar scale
/// and a `u8` scalar zero point.
pub(super) fn dynamic_quantize(args: &Args) -> Result<Vec<TensorType>, InferError> {
    let x = args.get(0)?.ty;
    if x.dtype != DType::F32 {
        bail!("dynamic_quantize_linear input must be f32, got {x}");
    }
    Ok(vec![
        TensorType::new(DType::U8, x.shape.clone()),
        TensorType::fixed(DType::F32, &[]),
        TensorType::fixed(DType::U8, &[]),
    ])
}

/// Requires `ty` to be `u8` or `i8`.
fn expect_byte(ty: &TensorType, what: &str) -> Result<(), InferError> {
    if !matches!(ty.dtype, DType::U8 | DType::I8) {
        bail!("{what} must be u8 or i8, got {ty}");
    }
    Ok(())
}

/// Requires the optional operand `i` to have dtype `dtype`.
fn expect_zero_point(args: &Args, i: usize, dtype: DType, what: &str) -> Result<(), InferError> {
    if let Some(z) = args.opt(i) {
        if z.ty.dtype != dtype {
            bail!("{what} must be {dtype} like its data, got {}", z.ty);
        }
    }
    Ok(())
}

/// Requires operand `i` to be an `f32`, `f16` or `bf16` scale, returning its dtype.
fn expect_scale(args: &Args, i: usize, what: &str) -> Result<DType, InferError> {
    let s = args.get(i)?.ty;
    if !is_scale_float(s.dtype) {
        bail!("{what} must be f32, f16 or bf16, got {s}");
    }
    Ok(s.dtype)
}

/// The dims of `matmul(a, b)`, from the `matmul` rule applied to `a` and `b` retyped as
/// `i32`.
fn matmul_dims(a: &TensorType, b: &TensorType, names: &mut SymbolNamer) -> Result<Shape, InferError> {
    let a = TensorType::new(DType::I32, a.shape.clone());
    let b = TensorType::new(DType::I32, b.shape.clone());
    let ops = [
        Some(Operand { ty: &a, value: None }),
        Some(Operand { ty: &b, value: None }),
    ];
    Ok(linalg::matmul(&Args { operands: &ops }, names)?.shape)
}

/// The dims of `conv(x, w)`, from the `conv` rule applied to `x` and `w` retyped as `f32`.
fn conv_dims(c: &ConvAttrs, x: &TensorType, w: &TensorType, names: &mut SymbolNamer) -> Result<Shape, InferError> {
    let x = TensorType::new(DType::F32, x.shape.clone());
    let w = TensorType::new(DType::F32, w.shape.clone());
    let ops = [
        Some(Operand { ty: &x, value: None }),
        Some(Operand { ty: &w, value: None }),
    ];
    Ok(linalg::conv(c, &Args { operands: &ops }, names)?.shape)
}

/// `MatMulInteger`: `u8` or `i8` matrices (zero points of their dtype) give `i32`.
pub(super) fn matmul_integer(args: &Args, names: &mut SymbolNamer) -> Result<TensorType, InferError> {
    let a = args.get(0)?.ty;
    let b = args.get(1)?.ty;
    expect_byte(a, "matmul_integer A")?;
    expect_byte(b, "matmul_integer B")?;
    expect_zero_point(args, 2, a.dtype, "matmul_integer a_zero_point")?;
    expect_zero_point(args, 3, b.dtype, "matmul_integer b_zero_point")?;
    Ok(TensorType::new(DType::I32, matmul_dims(a, b, names)?))
}

/// `ConvInteger`: `u8` or `i8` input and weight (zero points of their dtype) give `i32`.
pub(super) fn conv_integer(c: &ConvAttrs, args: &Args, names: &mut SymbolNamer) -> Result<TensorType, InferError> {
    let x = args.get(0)?.ty;
    let w = args.get(1)?.ty;
    expect_byte(x, "conv_integer X")?;
    expect_byte(w, "conv_integer W")?;
    expect_zero_point(args, 2, x.dtype, "conv_integer x_zero_point")?;
    expect_zero_point(args, 3, w.dtype, "conv_integer w_zero_point")?;
    Ok(TensorType::new(DType::I32, conv_dims(c, x, w, names)?))
}

/// The result dtype of a `qlinear_*` op: its `y_zero_point`'s, else the first input's.
fn qlinear_result(args: &Args, x: &TensorType, zp: usize, what: &str) -> Result<DType, InferError> {
    match args.opt(zp) {
        Some(z) => {
            expect_byte(z.ty, &format!("{what} y_zero_point"))?;
            Ok(z.ty.dtype)
        }
        None => Ok(x.dtype),
    }
}

/// `QLinearMatMul`: `u8` or `i8` matrices with float scales; the result has the dtype of
/// `y_zero_point` (else of `a`).
pub(super) fn qlinear_matmul(args: &Args, names: &mut SymbolNamer) -> Result<TensorType, InferError> {
    let a = args.get(0)?.ty;
    let b = args.get(3)?.ty;
    expect_byte(a, "qlinear_matmul a")?;
    expect_byte(b, "qlinear_matmul b")?;
    let sa = expect_scale(args, 1, "qlinear_matmul a_scale")?;
    let sb = expect_scale(args, 4, "qlinear_matmul b_scale")?;
    let sy = expect_scale(args, 6, "qlinear_matmul y_scale")?;
    if sa != sb || sa != sy {
        bail!("qlinear_matmul scales must share one dtype, got {sa}, {sb} and {sy}");
    }
    expect_zero_point(args, 2, a.dtype, "qlinear_matmul a_zero_point")?;
    expect_zero_point(args, 5, b.dtype, "qlinear_matmul b_zero_point")?;
    let dtype = qlinear_result(args, a, 7, "qlinear_matmul")?;
    Ok(TensorType::new(dtype, matmul_dims(a, b, names)?))
}

/// `QLinearConv`: `u8` or `i8` input and weight with `f32` scales and an optional `i32`
/// bias; the result has the dtype of `y_zero_point` (else of `x`).
pub(super) fn qlinear_conv(c: &ConvAttrs, args: &Args, names: &mut SymbolNamer) -> Result<TensorType, InferError> {
    let x = args.get(0)?.ty;
    let w = args.get(3)?.ty;
    expect_byte(x, "qlinear_conv x")?;
    expect_byte(w, "qlinear_conv w")?;
    for (i, what) in [(1, "x_scale"), (4, "w_scale"), (6, "y_scale")] {
        let s = args.get(i)?.ty;
        if s.dtype != DType::F32 {
            bail!("qlinear_conv {what} must be f32, got {s}");
        }
    }
    expect_zero_point(args, 2, x.dtype, "qlinear_conv x_zero_point")?;
    expect_zero_point(args, 5, w.dtype, "qlinear_conv w_zero_point")?;
    if let Some(b) = args.opt(8) {
        if b.ty.dtype != DType::I32 || b.ty.rank() != 1 {
            bail!("qlinear_conv bias must be rank-1 i32, got {}", b.ty);
        }
    }
    let dtype = qlinear_result(args, x, 7, "qlinear_conv")?;
    Ok(TensorType::new(dtype, conv_dims(c, x, w, names)?))
}

/// `BitCast`: the target must have the operand's bit width; the dims are kept.
pub(super) fn bit_cast(b: &BitCastAttrs, args: &Args) -> Result<TensorType, InferError> {
    let x = args.get(0)?.ty;
    if x.dtype.bits() != b.to.bits() {
        bail!(
            "bit_cast needs dtypes of one bit width, got {} ({} bits) to {} ({} bits)",
            x.dtype,
            x.dtype.bits(),
            b.to,
            b.to.bits()
        );
    }
    Ok(TensorType::new(b.to, x.shape.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts() {
        assert_eq!(scale_layout(&[2, 3], &[], 1, 0).unwrap(), ScaleLayout::PerTensor);
        assert_eq!(scale_layout(&[2, 3], &[1], 5, 0).unwrap(), ScaleLayout::PerTensor);
        assert_eq!(
            scale_layout(&[2, 3], &[3], 1, 0).unwrap(),
            ScaleLayout::PerAxis { axis: 1 }
        );
        assert!(scale_layout(&[2, 3], &[2], 1, 0).is_err());
        assert!(scale_layout(&[2, 3], &[3], 2, 0).is_err());
        assert_eq!(
            scale_layout(&[2, 5], &[2, 3], 1, 2).unwrap(),
            ScaleLayout::Blocked { axis: 1, block: 2 }
        );
        assert!(scale_layout(&[2, 5], &[2, 2], 1, 2).is_err());
        assert!(scale_layout(&[2, 5], &[3, 3], 1, 2).is_err());
    }

    fn ty(dtype: DType, dims: &[usize]) -> TensorType {
        TensorType::fixed(dtype, dims)
    }

    fn op(t: &TensorType) -> Option<Operand<'_>> {
        Some(Operand { ty: t, value: None })
    }

    #[test]
    fn quantize_types() {
        let x = ty(DType::F32, &[2, 3]);
        let s = ty(DType::F32, &[3]);
        let z = ty(DType::I4, &[3]);
        let q = QuantizeAttrs {
            axis: 1,
            block_size: 0,
            to: DType::I4,
            saturate: true,
            precision: None,
        };
        let ops = [op(&x), op(&s), op(&z)];
        assert_eq!(quantize(&q, &Args { operands: &ops }).unwrap(), ty(DType::I4, &[2, 3]));
        let bad = QuantizeAttrs { to: DType::U8, ..q };
        assert!(quantize(&bad, &Args { operands: &ops }).is_err());
        let d = DequantizeAttrs {
            axis: 0,
            block_size: 0,
            to: DType::F16,
        };
        let ops = [op(&z), op(&s), op(&z)];
        assert_eq!(dequantize(&d, &Args { operands: &ops }).unwrap(), ty(DType::F16, &[3]));
        let ops = [op(&x), op(&s)];
        assert!(dequantize(&d, &Args { operands: &ops }).is_err());
    }

    #[test]
    fn integer_products_and_bit_casts() {
        let a = ty(DType::U8, &[4, 3]);
        let b = ty(DType::I8, &[3, 2]);
        let mut names = SymbolNamer::new("t");
        let ops = [op(&a), op(&b)];
        assert_eq!(
            matmul_integer(&Args { operands: &ops }, &mut names).unwrap(),
            ty(DType::I32, &[4, 2])
        );
        let f = ty(DType::F32, &[3, 2]);
        let ops = [op(&a), op(&f)];
        assert!(matmul_integer(&Args { operands: &ops }, &mut names).is_err());
        let ops = [op(&f)];
        let cast = BitCastAttrs { to: DType::I32 };
        assert_eq!(
            bit_cast(&cast, &Args { operands: &ops }).unwrap(),
            ty(DType::I32, &[3, 2])
        );
        assert!(bit_cast(&BitCastAttrs { to: DType::I16 }, &Args { operands: &ops }).is_err());
    }
}
