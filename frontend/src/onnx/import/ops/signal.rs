//! Importers of the signal-processing ops: `DFT` (opset 17's `axis` attribute and opset
//! 20's `axis` input), `STFT`, `HannWindow`, `HammingWindow`, `BlackmanWindow` and
//! `MelWeightMatrix` (all opset 17).

use lightos_ir::{DType, DftAttrs, MelWeightMatrixAttrs, Op, StftAttrs, WindowAttrs, WindowKind};

use super::super::context::{ImportResult, Importer, NodeCx};
use crate::onnx::tensor::dtype_from_onnx;

/// A 0/1 attribute with a default.
fn flag(cx: &NodeCx, name: &str, default: bool) -> Result<bool, String> {
    match cx.attrs.int_or(name, default as i64)? {
        0 => Ok(false),
        1 => Ok(true),
        v => Err(format!("attribute `{name}` must be 0 or 1, got {v}")),
    }
}

/// The `output_datatype` attribute (default float).
fn output_dtype(cx: &NodeCx) -> Result<DType, String> {
    let code = cx.attrs.int_or("output_datatype", 1)?;
    i32::try_from(code)
        .ok()
        .and_then(dtype_from_onnx)
        .ok_or_else(|| format!("output_datatype {code} is not supported"))
}

/// `DFT`: before opset 20 the axis is an attribute (default 1) and becomes a constant
/// operand; from 20 it is the optional third input (default -2).
pub(super) fn dft(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let attrs = DftAttrs {
        inverse: flag(cx, "inverse", false)?,
        onesided: flag(cx, "onesided", false)?,
    };
    let x = im.req(cx, 0)?;
    let len = im.input(cx, 1)?;
    let axis = if cx.opset < 20 {
        let axis = cx.attrs.int_or("axis", 1)?;
        Some(im.constant(&format!("{}_axis", cx.name), lightos_ir::Tensor::scalar(axis)))
    } else {
        im.input(cx, 2)?
    };
    let mut ops = vec![Some(x), len, axis];
    while ops.last().is_some_and(|o| o.is_none()) {
        ops.pop();
    }
    im.emit(&cx.name, Op::Dft(attrs), ops)
}

/// `STFT` (`onesided` defaults to 1).
pub(super) fn stft(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let attrs = StftAttrs {
        onesided: flag(cx, "onesided", true)?,
    };
    let mut ops = vec![
        Some(im.req(cx, 0)?),
        Some(im.req(cx, 1)?),
        im.input(cx, 2)?,
        im.input(cx, 3)?,
    ];
    while ops.last().is_some_and(|o| o.is_none()) {
        ops.pop();
    }
    im.emit(&cx.name, Op::Stft(attrs), ops)
}

/// `HannWindow`, `HammingWindow` and `BlackmanWindow` (`periodic` defaults to 1).
pub(super) fn window(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let kind = match cx.node.op_type.as_str() {
        "HannWindow" => WindowKind::Hann,
        "HammingWindow" => WindowKind::Hamming,
        "BlackmanWindow" => WindowKind::Blackman,
        other => return Err(format!("`{other}` is not a window op")),
    };
    let attrs = WindowAttrs {
        kind,
        periodic: flag(cx, "periodic", true)?,
        dtype: output_dtype(cx)?,
    };
    let size = im.req(cx, 0)?;
    im.emit(&cx.name, Op::Window(attrs), vec![Some(size)])
}

/// `MelWeightMatrix`.
pub(super) fn mel_weight_matrix(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let attrs = MelWeightMatrixAttrs {
        dtype: output_dtype(cx)?,
    };
    let ops = (0..5).map(|i| im.req(cx, i).map(Some)).collect::<Result<Vec<_>, _>>()?;
    im.emit(&cx.name, Op::MelWeightMatrix(attrs), ops)
}
