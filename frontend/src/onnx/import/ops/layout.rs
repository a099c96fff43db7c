//! Importers of shape and data-movement ops.

use lightos_ir::infer::normalize_axis;
use lightos_ir::{
    AxisAttr, DepthToSpaceAttrs, EyeLikeAttrs, Op, PadAttrs, PadMode, ReshapeAttrs, ShapeAttrs, SplitAttrs, Tensor,
    TransposeAttrs, TriluAttrs,
};

use super::super::context::{ImportResult, Importer, NodeCx};
use crate::onnx::tensor::{dtype_from_onnx, tensor_from_proto, TensorContext};

/// `Reshape`: the target is an attribute before opset 5 (not supported) and an operand since.
pub(super) fn reshape(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let attrs = ReshapeAttrs {
        allowzero: cx.attrs.bool_or("allowzero", false)?,
    };
    let ops = vec![Some(im.req(cx, 0)?), Some(im.req(cx, 1)?)];
    im.emit(&cx.name, Op::Reshape(attrs), ops)
}

/// `Flatten`: the axis may be negative, counted from `rank + 1`.
pub(super) fn flatten(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let x = im.req(cx, 0)?;
    let rank = im.ty(x).rank() as i64;
    let axis = cx.attrs.int_or("axis", 1)?;
    if axis < -rank || axis > rank {
        return Err(format!("axis {axis} is out of range for rank {rank}"));
    }
    let axis = if axis < 0 { axis + rank } else { axis } as usize;
    im.emit(&cx.name, Op::Flatten(AxisAttr { axis }), vec![Some(x)])
}

/// An operand that was an `ints` attribute before `since`: made a constant then.
fn ints_operand(
    im: &mut Importer,
    cx: &NodeCx,
    attr: &str,
    index: usize,
    since: i64,
) -> Result<Option<lightos_ir::ValueId>, String> {
    if cx.opset < since {
        Ok(cx
            .attrs
            .ints(attr)?
            .map(|v| im.const_i64s(&format!("{}/{attr}", cx.name), &v)))
    } else {
        im.input(cx, index)
    }
}

/// `Squeeze` and `Unsqueeze`: axes become an operand at opset 13.
pub(super) fn squeeze(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let x = im.req(cx, 0)?;
    let axes = ints_operand(im, cx, "axes", 1, 13)?;
    let op = if cx.node.op_type == "Squeeze" {
        Op::Squeeze
    } else {
        Op::Unsqueeze
    };
    im.emit(&cx.name, op, vec![Some(x), axes])
}

/// `Transpose`: the permutation defaults to reversing the axes.
pub(super) fn transpose(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let x = im.req(cx, 0)?;
    let perm = match cx.attrs.usizes("perm")? {
        Some(p) => p,
        None => (0..im.ty(x).rank()).rev().collect(),
    };
    im.emit(&cx.name, Op::Transpose(TransposeAttrs { perm }), vec![Some(x)])
}

/// `Concat`.
pub(super) fn concat(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let inputs = im.all_inputs(cx)?;
    let first = *inputs.first().ok_or("needs at least one operand")?;
    let axis = cx.attrs.int("axis")?.ok_or("attribute `axis` is required")?;
    let axis = normalize_axis(axis, im.ty(first).rank()).map_err(|e| e.0)?;
    im.emit(
        &cx.name,
        Op::Concat(AxisAttr { axis }),
        inputs.into_iter().map(Some).collect(),
    )
}

/// `Split`: sizes are an attribute before opset 13 and an operand since.
pub(super) fn split(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let x = im.req(cx, 0)?;
    let axis = normalize_axis(cx.attrs.int_or("axis", 0)?, im.ty(x).rank()).map_err(|e| e.0)?;
    let sizes = ints_operand(im, cx, "split", 1, 13)?;
    let attrs = SplitAttrs {
        axis,
        outputs: cx.output_count(),
    };
    im.emit(&cx.name, Op::Split(attrs), vec![Some(x), sizes])
}

/// `Slice`: parameters are attributes before opset 10 and operands since.
pub(super) fn slice(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let x = im.req(cx, 0)?;
    let ops = if cx.opset < 10 {
        let starts = ints_operand(im, cx, "starts", 1, 10)?.ok_or("attribute `starts` is required")?;
        let ends = ints_operand(im, cx, "ends", 2, 10)?.ok_or("attribute `ends` is required")?;
        let axes = ints_operand(im, cx, "axes", 3, 10)?;
        vec![Some(x), Some(starts), Some(ends), axes, None]
    } else {
        let mut ops = vec![Some(x)];
        for i in 1..5 {
            ops.push(im.input(cx, i)?);
        }
        ops
    };
    im.emit(&cx.name, Op::Slice, ops)
}

/// `Gather` and `GatherElements`.
pub(super) fn gather(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let x = im.req(cx, 0)?;
    let idx = im.req(cx, 1)?;
    let axis = normalize_axis(cx.attrs.int_or("axis", 0)?, im.ty(x).rank()).map_err(|e| e.0)?;
    let op = if cx.node.op_type == "Gather" {
        Op::Gather(AxisAttr { axis })
    } else {
        Op::GatherElements(AxisAttr { axis })
    };
    im.emit(&cx.name, op, vec![Some(x), Some(idx)])
}

/// Ops whose operands map one to one: `Expand`, `Tile`, `Range`, `NonZero`, `Size`.
pub(super) fn direct(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let op = match cx.node.op_type.as_str() {
        "Expand" => Op::Expand,
        "Tile" => Op::Tile,
        "Range" => Op::Range,
        "NonZero" => Op::NonZero,
        "Size" => Op::Size,
        other => return Err(format!("`{other}` has no direct form")),
    };
    let ops = (0..cx.input_count())
        .map(|i| im.input(cx, i))
        .collect::<Result<_, _>>()?;
    im.emit(&cx.name, op, ops)
}

/// `Pad`: pads and value are attributes before opset 11 and operands since.
pub(super) fn pad(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let x = im.req(cx, 0)?;
    let mode = match cx.attrs.string_or("mode", "constant")?.as_str() {
        "constant" => PadMode::Constant,
        "reflect" => PadMode::Reflect,
        "edge" => PadMode::Edge,
        "wrap" => PadMode::Wrap,
        other => return Err(format!("unknown pad mode `{other}`")),
    };
    let ops = if cx.opset < 11 {
        let pads = cx.attrs.ints("pads")?.ok_or("attribute `pads` is required")?;
        let pads = im.const_i64s(&format!("{}/pads", cx.name), &pads);
        let dtype = im.ty(x).dtype;
        let value = im.const_scalar(
            &format!("{}/value", cx.name),
            dtype,
            f64::from(cx.attrs.float_or("value", 0.0)?),
        )?;
        vec![Some(x), Some(pads), Some(value), None]
    } else {
        vec![Some(x), Some(im.req(cx, 1)?), im.input(cx, 2)?, im.input(cx, 3)?]
    };
    im.emit(&cx.name, Op::Pad(PadAttrs { mode }), ops)
}

/// `Shape`, with the `start` and `end` of opset 15.
pub(super) fn shape(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let x = im.req(cx, 0)?;
    let attrs = ShapeAttrs {
        start: cx.attrs.int_or("start", 0)?,
        end: cx.attrs.int("end")?,
    };
    im.emit(&cx.name, Op::Shape(attrs), vec![Some(x)])
}

/// `ConstantOfShape`: the value defaults to a float zero.
pub(super) fn constant_of_shape(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let shape = im.req(cx, 0)?;
    let value = match cx.attrs.tensor("value")? {
        Some(t) => tensor_from_proto(t, &TensorContext::in_memory()).map_err(|e| e.to_string())?,
        None => Tensor::from_vec(vec![1], vec![0.0f32]).map_err(|e| e.to_string())?,
    };
    let value = value.reshaped(vec![1]).map_err(|e| e.to_string())?;
    im.emit(&cx.name, Op::ConstantOfShape(value), vec![Some(shape)])
}

/// `Trilu`.
pub(super) fn trilu(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let attrs = TriluAttrs {
        upper: cx.attrs.bool_or("upper", true)?,
    };
    let ops = vec![Some(im.req(cx, 0)?), im.input(cx, 1)?];
    im.emit(&cx.name, Op::Trilu(attrs), ops)
}

/// `DepthToSpace` and `SpaceToDepth`.
pub(super) fn depth_space(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let x = im.req(cx, 0)?;
    let blocksize = cx.attrs.int("blocksize")?.ok_or("attribute `blocksize` is required")?;
    let blocksize = usize::try_from(blocksize)
        .ok()
        .filter(|&b| b > 0)
        .ok_or_else(|| format!("blocksize must be positive, got {blocksize}"))?;
    let crd = match cx.attrs.string_or("mode", "DCR")?.as_str() {
        "DCR" => false,
        "CRD" => true,
        other => return Err(format!("unknown mode `{other}`")),
    };
    let attrs = DepthToSpaceAttrs { blocksize, crd };
    let op = if cx.node.op_type == "DepthToSpace" {
        Op::DepthToSpace(attrs)
    } else {
        Op::SpaceToDepth(attrs)
    };
    im.emit(&cx.name, op, vec![Some(x)])
}

/// `OneHot`: the axis may be negative, counted from the output rank.
pub(super) fn one_hot(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let idx = im.req(cx, 0)?;
    let rank = im.ty(idx).rank() + 1;
    let axis = normalize_axis(cx.attrs.int_or("axis", -1)?, rank).map_err(|e| e.0)?;
    let ops = vec![Some(idx), Some(im.req(cx, 1)?), Some(im.req(cx, 2)?)];
    im.emit(&cx.name, Op::OneHot(AxisAttr { axis }), ops)
}

/// `EyeLike`.
pub(super) fn eye_like(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let x = im.req(cx, 0)?;
    let dtype = match cx.attrs.int("dtype")? {
        None => None,
        Some(code) => Some(dtype_from_onnx(code as i32).ok_or_else(|| format!("dtype {code} is not supported"))?),
    };
    let attrs = EyeLikeAttrs {
        k: cx.attrs.int_or("k", 0)?,
        dtype,
    };
    im.emit(&cx.name, Op::EyeLike(attrs), vec![Some(x)])
}

/// `Constant`, in every attribute form but strings and sparse tensors.
pub(super) fn constant(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let a = &cx.attrs;
    let t = if let Some(t) = a.tensor("value")? {
        tensor_from_proto(t, &TensorContext::in_memory()).map_err(|e| e.to_string())?
    } else if let Some(f) = a.float("value_float")? {
        Tensor::scalar(f)
    } else if let Some(v) = a.floats("value_floats")? {
        Tensor::from_vec(vec![v.len()], v).map_err(|e| e.to_string())?
    } else if let Some(i) = a.int("value_int")? {
        Tensor::scalar(i)
    } else if let Some(v) = a.ints("value_ints")? {
        Tensor::from_vec(vec![v.len()], v).map_err(|e| e.to_string())?
    } else if a.has("sparse_value") || a.has("value_string") || a.has("value_strings") {
        return Err("sparse and string constants are not supported".into());
    } else {
        return Err("has no value attribute".into());
    };
    Ok(vec![im.constant(&cx.name, t)])
}
