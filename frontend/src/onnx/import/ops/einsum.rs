//! Importers of `Einsum`, `Det` and `MeanVarianceNormalization`.

use lightos_ir::infer::EinsumEquation;
use lightos_ir::op::EinsumAttrs;
use lightos_ir::{BinaryOp, Op, ReduceAttrs, ReduceKind, UnaryOp};

use super::super::context::{ImportResult, Importer, NodeCx};

/// `Einsum`: the equation is normalized (no spaces, explicit output).
pub(super) fn einsum(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let equation = cx.attrs.string("equation")?.ok_or("attribute `equation` is required")?;
    let equation = EinsumEquation::parse(&equation).map_err(|e| e.0)?.text();
    let ops = im.all_inputs(cx)?.into_iter().map(Some).collect();
    im.emit(&cx.name, Op::Einsum(EinsumAttrs { equation }), ops)
}

/// `Det`.
pub(super) fn det(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let x = im.req(cx, 0)?;
    im.emit(&cx.name, Op::Det, vec![Some(x)])
}

/// `MeanVarianceNormalization`, lowered as its ONNX function body:
/// `(x - mean(x)) / (sqrt(mean(x^2) - mean(x)^2) + 1e-9)` over `axes` (default
/// `[0, 2, 3]`), the means kept as size-1 axes.
pub(super) fn mean_variance_normalization(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let x = im.req(cx, 0)?;
    let dtype = im.ty(x).dtype;
    let axes = cx.attrs.ints("axes")?.unwrap_or_else(|| vec![0, 2, 3]);
    let base = cx.name.clone();
    let axes = im.const_i64s(&format!("{base}/axes"), &axes);
    let mean = Op::Reduce(ReduceAttrs {
        kind: ReduceKind::Mean,
        keepdims: true,
        noop_with_empty_axes: false,
    });
    let two = im.const_scalar(&format!("{base}/two"), dtype, 2.0)?;
    let eps = im.const_scalar(&format!("{base}/epsilon"), dtype, 1e-9)?;
    let bin = |op| Op::Binary(op);
    let x_mean = im.emit1(&base, mean.clone(), vec![Some(x), Some(axes)])?;
    let mean_sq = im.emit1(&base, bin(BinaryOp::Pow), vec![Some(x_mean), Some(two)])?;
    let x_sq = im.emit1(&base, bin(BinaryOp::Pow), vec![Some(x), Some(two)])?;
    let sq_mean = im.emit1(&base, mean, vec![Some(x_sq), Some(axes)])?;
    let var = im.emit1(&base, bin(BinaryOp::Sub), vec![Some(sq_mean), Some(mean_sq)])?;
    let std = im.emit1(&base, Op::Unary(UnaryOp::Sqrt), vec![Some(var)])?;
    let centered = im.emit1(&base, bin(BinaryOp::Sub), vec![Some(x), Some(x_mean)])?;
    let denom = im.emit1(&base, bin(BinaryOp::Add), vec![Some(std), Some(eps)])?;
    im.emit(&base, bin(BinaryOp::Div), vec![Some(centered), Some(denom)])
}
