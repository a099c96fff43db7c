//! Importers of the quantization ops (`QuantizeLinear`, `DequantizeLinear`,
//! `DynamicQuantizeLinear`, `MatMulInteger`, `ConvInteger`, `QLinearMatMul`,
//! `QLinearConv`) and of `BitCast`.

use lightos_ir::infer::normalize_axis;
use lightos_ir::{BitCastAttrs, ConvAttrs, DType, DequantizeAttrs, Op, Padding, QuantizeAttrs, ValueId};

use super::super::context::{ImportResult, Importer, NodeCx};
use crate::onnx::tensor::{dtype_from_onnx, onnx_type_name};

/// The dtype of an ONNX `DataType` code in attribute `name`, with a clear error for
/// `STRING` and the codes LightOS has no dtype for.
pub(super) fn dtype_attr(code: i64, name: &str) -> Result<DType, String> {
    let code32 = i32::try_from(code).map_err(|_| format!("attribute `{name}` = {code} is not an ONNX data type"))?;
    dtype_from_onnx(code32).ok_or_else(|| match onnx_type_name(code32) {
        "STRING" => format!("attribute `{name}`: string tensors are not supported"),
        other => format!("attribute `{name}`: ONNX data type {code} ({other}) is not supported"),
    })
}

/// The normalized quantization axis: 0 when the scale is known to hold one element (the
/// axis does not matter then), else `axis` normalized against the data's rank.
fn quant_axis(im: &Importer, cx: &NodeCx, x: ValueId, scale: ValueId) -> Result<usize, String> {
    let axis = cx.attrs.int_or("axis", 1)?;
    let per_tensor = im
        .ty(scale)
        .shape
        .as_fixed()
        .is_some_and(|d| d.iter().product::<usize>() == 1);
    if per_tensor {
        return Ok(0);
    }
    normalize_axis(axis, im.ty(x).rank()).map_err(|e| e.0)
}

/// The non-negative `block_size` attribute (opset 21 on; 0 before).
fn block_size(cx: &NodeCx) -> Result<usize, String> {
    let b = cx.attrs.int_or("block_size", 0)?;
    usize::try_from(b).map_err(|_| format!("block_size {b} is negative"))
}

/// `QuantizeLinear`: the result dtype is the zero point's, else `output_dtype`, else `u8`.
pub(super) fn quantize_linear(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let x = im.req(cx, 0)?;
    let scale = im.req(cx, 1)?;
    let zp = im.input(cx, 2)?;
    let output_dtype = match cx.attrs.int_or("output_dtype", 0)? {
        0 => None,
        code => Some(dtype_attr(code, "output_dtype")?),
    };
    let to = match (zp, output_dtype) {
        (Some(z), Some(d)) if im.ty(z).dtype != d => {
            return Err(format!(
                "output_dtype {d} differs from the zero point's dtype {}",
                im.ty(z).dtype
            ))
        }
        (Some(z), _) => im.ty(z).dtype,
        (None, Some(d)) => d,
        (None, None) => DType::U8,
    };
    let precision = match cx.attrs.int_or("precision", 0)? {
        0 => None,
        code => Some(dtype_attr(code, "precision")?),
    };
    let attrs = QuantizeAttrs {
        axis: quant_axis(im, cx, x, scale)?,
        block_size: block_size(cx)?,
        to,
        saturate: cx.attrs.bool_or("saturate", true)?,
        precision,
    };
    im.emit(&cx.name, Op::QuantizeLinear(attrs), vec![Some(x), Some(scale), zp])
}

/// `DequantizeLinear`: the result dtype is `output_dtype`, else the scale's.
pub(super) fn dequantize_linear(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let x = im.req(cx, 0)?;
    let scale = im.req(cx, 1)?;
    let zp = im.input(cx, 2)?;
    let to = match cx.attrs.int_or("output_dtype", 0)? {
        0 => match im.ty(scale).dtype {
            DType::F8E8M0 => return Err("an f8e8m0 scale needs the output_dtype attribute".into()),
            d => d,
        },
        code => dtype_attr(code, "output_dtype")?,
    };
    let attrs = DequantizeAttrs {
        axis: quant_axis(im, cx, x, scale)?,
        block_size: block_size(cx)?,
        to,
    };
    im.emit(&cx.name, Op::DequantizeLinear(attrs), vec![Some(x), Some(scale), zp])
}

/// `DynamicQuantizeLinear`: three results.
pub(super) fn dynamic_quantize_linear(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let x = im.req(cx, 0)?;
    im.emit(&cx.name, Op::DynamicQuantizeLinear, vec![Some(x)])
}

/// `MatMulInteger`.
pub(super) fn matmul_integer(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let ops = vec![
        Some(im.req(cx, 0)?),
        Some(im.req(cx, 1)?),
        im.input(cx, 2)?,
        im.input(cx, 3)?,
    ];
    im.emit(&cx.name, Op::MatMulInteger, ops)
}

/// The convolution attributes of `ConvInteger` and `QLinearConv`; the kernel shape
/// defaults to the spatial dims of the weight `w`.
fn conv_attrs(im: &Importer, cx: &NodeCx, w: ValueId) -> Result<ConvAttrs, String> {
    let a = &cx.attrs;
    let kernel = super::nn::kernel_shape(im, w, a)?;
    let n = kernel.len();
    let strides = a.usizes("strides")?.unwrap_or_else(|| vec![1; n]);
    let dilations = a.usizes("dilations")?.unwrap_or_else(|| vec![1; n]);
    if strides.len() != n || dilations.len() != n {
        return Err(format!(
            "strides {strides:?} or dilations {dilations:?} do not fit a {n}-d kernel"
        ));
    }
    let padding = match a.string_or("auto_pad", "NOTSET")?.as_str() {
        "NOTSET" => Padding::Explicit(a.usizes("pads")?.unwrap_or_else(|| vec![0; 2 * n])),
        "SAME_UPPER" => Padding::SameUpper,
        "SAME_LOWER" => Padding::SameLower,
        "VALID" => Padding::Valid,
        other => return Err(format!("unknown auto_pad `{other}`")),
    };
    let group = a.int_or("group", 1)?;
    Ok(ConvAttrs {
        kernel,
        strides,
        dilations,
        padding,
        group: usize::try_from(group).map_err(|_| format!("group {group} is negative"))?,
    })
}

/// `ConvInteger`.
pub(super) fn conv_integer(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let x = im.req(cx, 0)?;
    let w = im.req(cx, 1)?;
    let attrs = conv_attrs(im, cx, w)?;
    let ops = vec![Some(x), Some(w), im.input(cx, 2)?, im.input(cx, 3)?];
    im.emit(&cx.name, Op::ConvInteger(attrs), ops)
}

/// `QLinearMatMul`: eight operands (the zero points may be absent).
pub(super) fn qlinear_matmul(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let ops = (0..8)
        .map(|i| {
            if matches!(i, 2 | 5 | 7) {
                im.input(cx, i)
            } else {
                im.req(cx, i).map(Some)
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    im.emit(&cx.name, Op::QLinearMatMul, ops)
}

/// `QLinearConv`: nine operands (the zero points and the bias may be absent).
pub(super) fn qlinear_conv(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let ops = (0..9)
        .map(|i| {
            if matches!(i, 2 | 5 | 7 | 8) {
                im.input(cx, i)
            } else {
                im.req(cx, i).map(Some)
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    let w = ops[3].ok_or("operand 3 is required but missing")?;
    let attrs = conv_attrs(im, cx, w)?;
    im.emit(&cx.name, Op::QLinearConv(attrs), ops)
}

/// `BitCast` (opset 26).
pub(super) fn bit_cast(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let x = im.req(cx, 0)?;
    let code = cx.attrs.int("to")?.ok_or("attribute `to` is required")?;
    let to = dtype_attr(code, "to")?;
    im.emit(&cx.name, Op::BitCast(BitCastAttrs { to }), vec![Some(x)])
}
