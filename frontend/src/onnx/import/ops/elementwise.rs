//! Importers of elementwise ops: math, activations, logic, comparisons, casts.

use lightos_ir::{BinaryOp, CastAttrs, DType, Op, UnaryOp};

use super::super::context::{ImportResult, Importer, NodeCx};

/// Unary ops whose ONNX form has no attributes.
pub(super) fn plain_unary(op_type: &str) -> Option<UnaryOp> {
    Some(match op_type {
        "Abs" => UnaryOp::Abs,
        "Neg" => UnaryOp::Neg,
        "Exp" => UnaryOp::Exp,
        "Log" => UnaryOp::Log,
        "Sqrt" => UnaryOp::Sqrt,
        "Reciprocal" => UnaryOp::Reciprocal,
        "Floor" => UnaryOp::Floor,
        "Ceil" => UnaryOp::Ceil,
        "Round" => UnaryOp::Round,
        "Sign" => UnaryOp::Sign,
        "Relu" => UnaryOp::Relu,
        "Sigmoid" => UnaryOp::Sigmoid,
        "Tanh" => UnaryOp::Tanh,
        "Sin" => UnaryOp::Sin,
        "Cos" => UnaryOp::Cos,
        "Tan" => UnaryOp::Tan,
        "Asin" => UnaryOp::Asin,
        "Acos" => UnaryOp::Acos,
        "Atan" => UnaryOp::Atan,
        "Sinh" => UnaryOp::Sinh,
        "Cosh" => UnaryOp::Cosh,
        "Asinh" => UnaryOp::Asinh,
        "Acosh" => UnaryOp::Acosh,
        "Atanh" => UnaryOp::Atanh,
        "Erf" => UnaryOp::Erf,
        "Not" => UnaryOp::Not,
        "BitwiseNot" => UnaryOp::BitwiseNot,
        "Softplus" => UnaryOp::Softplus,
        "Softsign" => UnaryOp::Softsign,
        "IsNaN" => UnaryOp::IsNaN,
        "HardSwish" => UnaryOp::HardSwish,
        "Mish" => UnaryOp::Mish,
        _ => return None,
    })
}

/// Binary ops whose ONNX form has no attributes.
pub(super) fn plain_binary(op_type: &str) -> Option<BinaryOp> {
    Some(match op_type {
        "Add" => BinaryOp::Add,
        "Sub" => BinaryOp::Sub,
        "Mul" => BinaryOp::Mul,
        "Div" => BinaryOp::Div,
        "Pow" => BinaryOp::Pow,
        "And" => BinaryOp::And,
        "Or" => BinaryOp::Or,
        "Xor" => BinaryOp::Xor,
        "Equal" => BinaryOp::Equal,
        "Less" => BinaryOp::Less,
        "LessOrEqual" => BinaryOp::LessOrEqual,
        "Greater" => BinaryOp::Greater,
        "GreaterOrEqual" => BinaryOp::GreaterOrEqual,
        "BitwiseAnd" => BinaryOp::BitwiseAnd,
        "BitwiseOr" => BinaryOp::BitwiseOr,
        "BitwiseXor" => BinaryOp::BitwiseXor,
        "PRelu" => BinaryOp::PRelu,
        _ => return None,
    })
}

/// A unary op applied to operand 0.
pub(super) fn unary(im: &mut Importer, cx: &NodeCx, op: UnaryOp) -> ImportResult {
    let x = im.req(cx, 0)?;
    im.emit(&cx.name, Op::Unary(op), vec![Some(x)])
}

/// A binary op applied to operands 0 and 1.
pub(super) fn binary(im: &mut Importer, cx: &NodeCx, op: BinaryOp) -> ImportResult {
    let a = im.req(cx, 0)?;
    let b = im.req(cx, 1)?;
    im.emit(&cx.name, Op::Binary(op), vec![Some(a), Some(b)])
}

/// Activations with attributes.
pub(super) fn activation(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let a = &cx.attrs;
    let op = match cx.node.op_type.as_str() {
        "IsInf" => UnaryOp::IsInf {
            negative: a.bool_or("detect_negative", true)?,
            positive: a.bool_or("detect_positive", true)?,
        },
        "LeakyRelu" => UnaryOp::LeakyRelu {
            alpha: a.float_or("alpha", 0.01)?,
        },
        "Elu" => UnaryOp::Elu {
            alpha: a.float_or("alpha", 1.0)?,
        },
        "Selu" => UnaryOp::Selu {
            alpha: a.float_or("alpha", 1.673_263_2)?,
            gamma: a.float_or("gamma", 1.050_701)?,
        },
        "Celu" => UnaryOp::Celu {
            alpha: a.float_or("alpha", 1.0)?,
        },
        "HardSigmoid" => UnaryOp::HardSigmoid {
            alpha: a.float_or("alpha", 0.2)?,
            beta: a.float_or("beta", 0.5)?,
        },
        "ThresholdedRelu" => UnaryOp::ThresholdedRelu {
            alpha: a.float_or("alpha", 1.0)?,
        },
        "Gelu" => UnaryOp::Gelu {
            tanh: match a.string_or("approximate", "none")?.as_str() {
                "none" => false,
                "tanh" => true,
                other => return Err(format!("unknown approximate `{other}`")),
            },
        },
        "Shrink" => UnaryOp::Shrink {
            bias: a.float_or("bias", 0.0)?,
            lambd: a.float_or("lambd", 0.5)?,
        },
        "Swish" => UnaryOp::Swish {
            alpha: a.float_or("alpha", 1.0)?,
        },
        other => return Err(format!("`{other}` is not an activation")),
    };
    unary(im, cx, op)
}

/// `Mod`, with its `fmod` attribute.
pub(super) fn modulo(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let fmod = cx.attrs.bool_or("fmod", false)?;
    binary(im, cx, BinaryOp::Mod { fmod })
}

/// `BitShift`, with its `direction` attribute.
pub(super) fn bit_shift(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let op = match cx.attrs.string("direction")?.as_deref() {
        Some("LEFT") => BinaryOp::ShiftLeft,
        Some("RIGHT") => BinaryOp::ShiftRight,
        other => return Err(format!("direction must be LEFT or RIGHT, got {other:?}")),
    };
    binary(im, cx, op)
}

/// `Sum`, `Max`, `Min` and `Mean`: a left-to-right chain of binary ops.
pub(super) fn variadic(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let inputs = im.all_inputs(cx)?;
    let Some((&first, rest)) = inputs.split_first() else {
        return Err("needs at least one operand".into());
    };
    let op = match cx.node.op_type.as_str() {
        "Max" => BinaryOp::Max,
        "Min" => BinaryOp::Min,
        _ => BinaryOp::Add,
    };
    let mut acc = first;
    if rest.is_empty() {
        acc = im.emit1(&cx.name, Op::Identity, vec![Some(first)])?;
    }
    for &v in rest {
        acc = im.emit1(&cx.name, Op::Binary(op), vec![Some(acc), Some(v)])?;
    }
    if cx.node.op_type == "Mean" {
        let dtype = im.ty(acc).dtype;
        let n = im.const_scalar(&format!("{}/count", cx.name), dtype, inputs.len() as f64)?;
        acc = im.emit1(&cx.name, Op::Binary(BinaryOp::Div), vec![Some(acc), Some(n)])?;
    }
    Ok(vec![acc])
}

/// `Where`.
pub(super) fn where_(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let ops = (0..3).map(|i| im.req(cx, i).map(Some)).collect::<Result<_, _>>()?;
    im.emit(&cx.name, Op::Where, ops)
}

/// `Clip`: bounds are attributes before opset 11 and operands since.
pub(super) fn clip(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let x = im.req(cx, 0)?;
    let (lo, hi) = if cx.opset < 11 {
        let dtype = im.ty(x).dtype;
        let lo = f64::from(cx.attrs.float_or("min", f32::MIN)?);
        let hi = f64::from(cx.attrs.float_or("max", f32::MAX)?);
        (
            Some(im.const_scalar(&format!("{}/min", cx.name), dtype, lo)?),
            Some(im.const_scalar(&format!("{}/max", cx.name), dtype, hi)?),
        )
    } else {
        (im.input(cx, 1)?, im.input(cx, 2)?)
    };
    im.emit(&cx.name, Op::Clip, vec![Some(x), lo, hi])
}

/// `Cast` and `CastLike`, with `saturate` (opset 19 on, for float8 targets) and
/// `round_mode` (opset 24 on, for `f8e8m0` targets). Strings are not supported.
pub(super) fn cast(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let x = im.req(cx, 0)?;
    let to = if cx.node.op_type == "CastLike" {
        im.ty(im.req(cx, 1)?).dtype
    } else {
        let code = cx.attrs.int("to")?.ok_or("attribute `to` is required")?;
        super::quant::dtype_attr(code, "to")?
    };
    let mode = cx.attrs.string_or("round_mode", "up")?;
    let attrs = CastAttrs {
        to,
        saturate: cx.attrs.bool_or("saturate", true)?,
        round_mode: lightos_ir::dtype::minifloat::RoundMode::from_name(&mode)
            .ok_or_else(|| format!("unknown round_mode `{mode}` (up, down or nearest)"))?,
    };
    im.emit(&cx.name, Op::Cast(attrs), vec![Some(x)])
}

/// `Identity`, and `Dropout` in inference (its optional mask is all true).
pub(super) fn identity(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let x = im.req(cx, 0)?;
    if cx.node.op_type == "Dropout" {
        let training = match im.input(cx, 2)? {
            Some(t) => im.const_ints(t).is_none_or(|v| v.iter().any(|&b| b != 0)),
            None => false,
        };
        if training {
            return Err("training mode is not supported (inference only)".into());
        }
    }
    let y = im.emit1(&cx.name, Op::Identity, vec![Some(x)])?;
    if cx.output_count() < 2 {
        return Ok(vec![y]);
    }
    let shape = im.emit1(
        &format!("{}/shape", cx.name),
        Op::Shape(lightos_ir::ShapeAttrs { start: 0, end: None }),
        vec![Some(x)],
    )?;
    let one = lightos_ir::Tensor::from_bools(vec![1], &[true]).map_err(|e| e.to_string())?;
    let mask = im.emit1(
        &format!("{}/mask", cx.name),
        Op::ConstantOfShape(one),
        vec![Some(shape)],
    )?;
    debug_assert_eq!(im.ty(mask).dtype, DType::Bool);
    Ok(vec![y, mask])
}
