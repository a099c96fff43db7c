//! Importers of reductions, arg-reductions, cumulative sums and top-k.

use lightos_ir::infer::normalize_axis;
use lightos_ir::{ArgReduceAttrs, CumSumAttrs, Op, ReduceAttrs, ReduceKind, TopKAttrs};

use super::super::context::{ImportResult, Importer, NodeCx};

/// The opset since which a reduction takes its axes as an operand.
fn axes_operand_since(kind: ReduceKind) -> i64 {
    if kind == ReduceKind::Sum {
        13
    } else {
        18
    }
}

/// `ReduceSum`, `ReduceMean`, …: axes become an operand in every opset.
pub(super) fn reduce(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let kind = match cx.node.op_type.as_str() {
        "ReduceSum" => ReduceKind::Sum,
        "ReduceMean" => ReduceKind::Mean,
        "ReduceMax" => ReduceKind::Max,
        "ReduceMin" => ReduceKind::Min,
        "ReduceProd" => ReduceKind::Prod,
        "ReduceL1" => ReduceKind::L1,
        "ReduceL2" => ReduceKind::L2,
        "ReduceLogSum" => ReduceKind::LogSum,
        "ReduceLogSumExp" => ReduceKind::LogSumExp,
        "ReduceSumSquare" => ReduceKind::SumSquare,
        other => return Err(format!("`{other}` is not a reduction")),
    };
    let x = im.req(cx, 0)?;
    let axes = if cx.opset < axes_operand_since(kind) {
        cx.attrs
            .ints("axes")?
            .map(|axes| im.const_i64s(&format!("{}/axes", cx.name), &axes))
    } else {
        im.input(cx, 1)?
    };
    let attrs = ReduceAttrs {
        kind,
        keepdims: cx.attrs.bool_or("keepdims", true)?,
        noop_with_empty_axes: cx.attrs.bool_or("noop_with_empty_axes", false)?,
    };
    im.emit(&cx.name, Op::Reduce(attrs), vec![Some(x), axes])
}

/// `ArgMax` and `ArgMin`.
pub(super) fn arg_reduce(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let x = im.req(cx, 0)?;
    let axis = normalize_axis(cx.attrs.int_or("axis", 0)?, im.ty(x).rank()).map_err(|e| e.0)?;
    let attrs = ArgReduceAttrs {
        max: cx.node.op_type == "ArgMax",
        axis,
        keepdims: cx.attrs.bool_or("keepdims", true)?,
        select_last_index: cx.attrs.bool_or("select_last_index", false)?,
    };
    im.emit(&cx.name, Op::ArgReduce(attrs), vec![Some(x)])
}

/// `CumSum` and `CumProd`.
pub(super) fn cum_sum(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let attrs = CumSumAttrs {
        exclusive: cx.attrs.bool_or("exclusive", false)?,
        reverse: cx.attrs.bool_or("reverse", false)?,
    };
    let ops = vec![Some(im.req(cx, 0)?), Some(im.req(cx, 1)?)];
    let op = if cx.node.op_type == "CumProd" {
        Op::CumProd(attrs)
    } else {
        Op::CumSum(attrs)
    };
    im.emit(&cx.name, op, ops)
}

/// `TopK`: `k` is an attribute before opset 10 and an operand since.
pub(super) fn top_k(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let x = im.req(cx, 0)?;
    let k = if cx.opset < 10 {
        let k = cx.attrs.int("k")?.ok_or("attribute `k` is required")?;
        im.const_i64s(&format!("{}/k", cx.name), &[k])
    } else {
        im.req(cx, 1)?
    };
    let axis = normalize_axis(cx.attrs.int_or("axis", -1)?, im.ty(x).rank()).map_err(|e| e.0)?;
    let attrs = TopKAttrs {
        axis,
        largest: cx.attrs.bool_or("largest", true)?,
        sorted: cx.attrs.bool_or("sorted", true)?,
    };
    im.emit(&cx.name, Op::TopK(attrs), vec![Some(x), Some(k)])
}
