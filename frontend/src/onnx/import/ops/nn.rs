//! Importers of the neural-network ops: products, convolution, pooling, normalization
//! and the softmax family.

use lightos_ir::infer::normalize_axis;
use lightos_ir::{
    ConvAttrs, GemmAttrs, LayerNormAttrs, LpNormAttrs, NormAttrs, Op, Padding, PoolAttrs, PoolKind, SoftmaxAttrs,
    SoftmaxKind,
};

use super::super::attrs::Attrs;
use super::super::context::{ImportResult, Importer, NodeCx};

/// `MatMul`.
pub(super) fn matmul(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let a = im.req(cx, 0)?;
    let b = im.req(cx, 1)?;
    im.emit(&cx.name, Op::MatMul, vec![Some(a), Some(b)])
}

/// `Gemm`.
pub(super) fn gemm(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let a = &cx.attrs;
    let attrs = GemmAttrs {
        alpha: a.float_or("alpha", 1.0)?,
        beta: a.float_or("beta", 1.0)?,
        trans_a: a.bool_or("transA", false)?,
        trans_b: a.bool_or("transB", false)?,
    };
    let ops = vec![Some(im.req(cx, 0)?), Some(im.req(cx, 1)?), im.input(cx, 2)?];
    im.emit(&cx.name, Op::Gemm(attrs), ops)
}

/// The window attributes shared by convolution and pooling.
struct Window {
    kernel: Vec<usize>,
    strides: Vec<usize>,
    dilations: Vec<usize>,
    padding: Padding,
}

fn window(cx: &NodeCx, kernel: Vec<usize>) -> Result<Window, String> {
    let a = &cx.attrs;
    let n = kernel.len();
    let strides = a.usizes("strides")?.unwrap_or_else(|| vec![1; n]);
    let dilations = a.usizes("dilations")?.unwrap_or_else(|| vec![1; n]);
    let padding = match a.string_or("auto_pad", "NOTSET")?.as_str() {
        "NOTSET" => Padding::Explicit(a.usizes("pads")?.unwrap_or_else(|| vec![0; 2 * n])),
        "SAME_UPPER" => Padding::SameUpper,
        "SAME_LOWER" => Padding::SameLower,
        "VALID" => Padding::Valid,
        other => return Err(format!("unknown auto_pad `{other}`")),
    };
    if strides.len() != n || dilations.len() != n {
        return Err(format!(
            "strides {strides:?} or dilations {dilations:?} do not fit a {n}-d kernel"
        ));
    }
    Ok(Window {
        kernel,
        strides,
        dilations,
        padding,
    })
}

/// The `kernel_shape` attribute, or else the weight `w`'s spatial dims.
pub(super) fn kernel_shape(im: &Importer, w: lightos_ir::ValueId, attrs: &Attrs) -> Result<Vec<usize>, String> {
    match attrs.usizes("kernel_shape")? {
        Some(k) => Ok(k),
        None => im
            .ty(w)
            .shape
            .dims()
            .iter()
            .skip(2)
            .map(|d| d.fixed())
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| "kernel_shape is missing and the weight's spatial dims are not fixed".to_string()),
    }
}

/// `Conv`: the kernel shape defaults to the weight's spatial dims.
pub(super) fn conv(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let x = im.req(cx, 0)?;
    let w = im.req(cx, 1)?;
    let kernel = kernel_shape(im, w, &cx.attrs)?;
    let win = window(cx, kernel)?;
    let group = cx.attrs.int_or("group", 1)?;
    let attrs = ConvAttrs {
        kernel: win.kernel,
        strides: win.strides,
        dilations: win.dilations,
        padding: win.padding,
        group: usize::try_from(group).map_err(|_| format!("group {group} is negative"))?,
    };
    let ops = vec![Some(x), Some(w), im.input(cx, 2)?];
    im.emit(&cx.name, Op::Conv(attrs), ops)
}

/// `MaxPool`, `AveragePool` and `LpPool`.
pub(super) fn pool(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let x = im.req(cx, 0)?;
    let a = &cx.attrs;
    if cx.output_count() > 1 {
        return Err("the Indices output is not supported".into());
    }
    let kind = match cx.node.op_type.as_str() {
        "MaxPool" => {
            if a.int_or("storage_order", 0)? != 0 {
                return Err("storage_order 1 is not supported".into());
            }
            PoolKind::Max
        }
        "AveragePool" => PoolKind::Average {
            count_include_pad: a.bool_or("count_include_pad", false)?,
        },
        _ => PoolKind::Lp { p: lp_order(cx)? },
    };
    let kernel = a
        .usizes("kernel_shape")?
        .ok_or("attribute `kernel_shape` is required")?;
    let win = window(cx, kernel)?;
    let attrs = PoolAttrs {
        kind,
        kernel: win.kernel,
        strides: win.strides,
        dilations: win.dilations,
        padding: win.padding,
        ceil_mode: a.bool_or("ceil_mode", false)?,
    };
    im.emit(&cx.name, Op::Pool(attrs), vec![Some(x)])
}

/// The `p` of Lp pooling: a float before opset 2, an integer since (default 2).
fn lp_order(cx: &NodeCx) -> Result<f32, String> {
    Ok(match cx.attrs.int("p") {
        Ok(Some(p)) => p as f32,
        Ok(None) => 2.0,
        Err(_) => cx.attrs.float_or("p", 2.0)?,
    })
}

/// `GlobalAveragePool`, `GlobalMaxPool` and `GlobalLpPool`.
pub(super) fn global_pool(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let x = im.req(cx, 0)?;
    let kind = match cx.node.op_type.as_str() {
        "GlobalMaxPool" => PoolKind::Max,
        "GlobalAveragePool" => PoolKind::Average {
            count_include_pad: false,
        },
        _ => PoolKind::Lp { p: lp_order(cx)? },
    };
    im.emit(&cx.name, Op::GlobalPool(kind), vec![Some(x)])
}

/// `BatchNormalization` in inference mode.
pub(super) fn batch_norm(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    if cx.output_count() > 1 || cx.attrs.bool_or("training_mode", false)? {
        return Err("training mode (running statistics outputs) is not supported".into());
    }
    let ops = (0..5).map(|i| im.req(cx, i).map(Some)).collect::<Result<_, _>>()?;
    let attrs = NormAttrs {
        axis: 1,
        epsilon: cx.attrs.float_or("epsilon", 1e-5)?,
    };
    im.emit(&cx.name, Op::BatchNorm(attrs), ops)
}

/// `InstanceNormalization`.
pub(super) fn instance_norm(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let ops = (0..3).map(|i| im.req(cx, i).map(Some)).collect::<Result<_, _>>()?;
    let attrs = NormAttrs {
        axis: 1,
        epsilon: cx.attrs.float_or("epsilon", 1e-5)?,
    };
    im.emit(&cx.name, Op::InstanceNorm(attrs), ops)
}

/// `LayerNormalization` (with its optional Mean and InvStdDev outputs) and
/// `RMSNormalization`.
pub(super) fn trailing_norm(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let stats = cx.node.output.iter().skip(1).any(|o| !o.is_empty());
    if stats && cx.node.op_type == "RMSNormalization" {
        return Err("RMSNormalization has one output".into());
    }
    let x = im.req(cx, 0)?;
    if cx.attrs.int_or("stash_type", 1)? != 1 {
        return Err("only stash_type 1 (float) is supported".into());
    }
    let axis = normalize_axis(cx.attrs.int_or("axis", -1)?, im.ty(x).rank()).map_err(|e| e.0)?;
    let attrs = NormAttrs {
        axis,
        epsilon: cx.attrs.float_or("epsilon", 1e-5)?,
    };
    if cx.node.op_type == "RMSNormalization" {
        let scale = im.req(cx, 1)?;
        im.emit(&cx.name, Op::RmsNorm(attrs), vec![Some(x), Some(scale)])
    } else {
        let ops = vec![Some(x), Some(im.req(cx, 1)?), im.input(cx, 2)?];
        let attrs = LayerNormAttrs {
            axis: attrs.axis,
            epsilon: attrs.epsilon,
            stats,
        };
        im.emit(&cx.name, Op::LayerNorm(attrs), ops)
    }
}

/// `LpNormalization`.
pub(super) fn lp_norm(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let x = im.req(cx, 0)?;
    let axis = normalize_axis(cx.attrs.int_or("axis", -1)?, im.ty(x).rank()).map_err(|e| e.0)?;
    let p = cx.attrs.int_or("p", 2)?;
    if p != 1 && p != 2 {
        return Err(format!("p must be 1 or 2, got {p}"));
    }
    im.emit(&cx.name, Op::LpNorm(LpNormAttrs { axis, p: p as u32 }), vec![Some(x)])
}

/// `Softmax`, `LogSoftmax` and `Hardmax`: before opset 13 they work on the input
/// flattened to 2-d at `axis` (default 1); since, along one axis (default -1).
pub(super) fn softmax(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let x = im.req(cx, 0)?;
    let kind = match cx.node.op_type.as_str() {
        "Softmax" => SoftmaxKind::Softmax,
        "LogSoftmax" => SoftmaxKind::LogSoftmax,
        _ => SoftmaxKind::Hardmax,
    };
    let flatten = cx.opset < 13;
    let axis = cx.attrs.int_or("axis", if flatten { 1 } else { -1 })?;
    let rank = im.ty(x).rank();
    let axis = normalize_axis(axis, rank).map_err(|e| e.0)?;
    let attrs = SoftmaxAttrs { kind, axis, flatten };
    im.emit(&cx.name, Op::Softmax(attrs), vec![Some(x)])
}
