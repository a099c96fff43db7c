//! Importers of the scatter, gather-by-tuple and selection ops.

use lightos_ir::infer::normalize_axis;
use lightos_ir::op::{CompressAttrs, GatherNdAttrs, ScatterElementsAttrs, ScatterNdAttrs, ScatterReduction};
use lightos_ir::Op;

use super::super::context::{ImportResult, Importer, NodeCx};

/// The `reduction` attribute (default `none`).
fn reduction(cx: &NodeCx) -> Result<ScatterReduction, String> {
    Ok(match cx.attrs.string_or("reduction", "none")?.as_str() {
        "none" => ScatterReduction::None,
        "add" => ScatterReduction::Add,
        "mul" => ScatterReduction::Mul,
        "max" => ScatterReduction::Max,
        "min" => ScatterReduction::Min,
        other => return Err(format!("unknown reduction `{other}`")),
    })
}

/// The three operands of a scatter.
fn scatter_operands(im: &Importer, cx: &NodeCx) -> Result<Vec<Option<lightos_ir::ValueId>>, String> {
    Ok(vec![Some(im.req(cx, 0)?), Some(im.req(cx, 1)?), Some(im.req(cx, 2)?)])
}

/// `ScatterElements` and the deprecated `Scatter` (its alias without reductions).
pub(super) fn scatter_elements(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let ops = scatter_operands(im, cx)?;
    let rank = ops[0].map_or(0, |v| im.ty(v).rank());
    let axis = normalize_axis(cx.attrs.int_or("axis", 0)?, rank).map_err(|e| e.0)?;
    let attrs = ScatterElementsAttrs {
        axis,
        reduction: reduction(cx)?,
    };
    im.emit(&cx.name, Op::ScatterElements(attrs), ops)
}

/// `ScatterND`.
pub(super) fn scatter_nd(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let ops = scatter_operands(im, cx)?;
    let attrs = ScatterNdAttrs {
        reduction: reduction(cx)?,
    };
    im.emit(&cx.name, Op::ScatterNd(attrs), ops)
}

/// `GatherND`.
pub(super) fn gather_nd(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let b = cx.attrs.int_or("batch_dims", 0)?;
    let batch_dims = usize::try_from(b).map_err(|_| format!("batch_dims must not be negative, got {b}"))?;
    let ops = vec![Some(im.req(cx, 0)?), Some(im.req(cx, 1)?)];
    im.emit(&cx.name, Op::GatherNd(GatherNdAttrs { batch_dims }), ops)
}

/// `Compress`: without `axis` the input is flattened.
pub(super) fn compress(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let x = im.req(cx, 0)?;
    let axis = match cx.attrs.int("axis")? {
        None => None,
        Some(a) => Some(normalize_axis(a, im.ty(x).rank()).map_err(|e| e.0)?),
    };
    let ops = vec![Some(x), Some(im.req(cx, 1)?)];
    im.emit(&cx.name, Op::Compress(CompressAttrs { axis }), ops)
}
