//! Importers of the attention ops.

use lightos_ir::op::{AttentionAttrs, QkOutput, RotaryAttrs};
use lightos_ir::Op;

use super::super::context::{ImportResult, Importer, NodeCx};
use crate::onnx::tensor::dtype_from_onnx;

/// A window size attribute: `-1` (the default) is unbounded.
fn window(cx: &NodeCx, name: &str) -> Result<Option<usize>, String> {
    match cx.attrs.int_or(name, -1)? {
        -1 => Ok(None),
        w => usize::try_from(w)
            .map(Some)
            .map_err(|_| format!("attribute `{name}` must be -1 or non-negative, got {w}")),
    }
}

/// A head count attribute, which must be positive when given.
fn heads(cx: &NodeCx, name: &str) -> Result<Option<usize>, String> {
    match cx.attrs.int(name)? {
        None => Ok(None),
        Some(h) if h > 0 => Ok(Some(h as usize)),
        Some(h) => Err(format!("attribute `{name}` must be positive, got {h}")),
    }
}

/// `Attention` (opsets 23 to 25): one IR op with all four results.
pub(super) fn attention(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let a = &cx.attrs;
    let qk_output = match a.int_or("qk_matmul_output_mode", 0)? {
        0 => QkOutput::Raw,
        1 => QkOutput::Softcapped,
        2 => QkOutput::Biased,
        3 => QkOutput::Softmax,
        m => return Err(format!("qk_matmul_output_mode must be 0 to 3, got {m}")),
    };
    let softmax_precision = match a.int("softmax_precision")? {
        None => None,
        Some(code) => {
            let d = i32::try_from(code)
                .ok()
                .and_then(dtype_from_onnx)
                .filter(|d| d.is_float());
            Some(d.ok_or_else(|| format!("softmax_precision {code} is not a supported float type"))?)
        }
    };
    let windows = cx.opset >= 25;
    let attrs = AttentionAttrs {
        is_causal: a.bool_or("is_causal", false)?,
        q_num_heads: heads(cx, "q_num_heads")?,
        kv_num_heads: heads(cx, "kv_num_heads")?,
        qk_output,
        scale: a.float("scale")?,
        softcap: a.float_or("softcap", 0.0)?,
        softmax_precision,
        left_window: if windows { window(cx, "left_window_size")? } else { None },
        right_window: if windows {
            window(cx, "right_window_size")?
        } else {
            None
        },
    };
    let q = im.req(cx, 0)?;
    if windows && im.ty(q).rank() == 4 && (attrs.q_num_heads.is_some() || attrs.kv_num_heads.is_some()) {
        return Err("q_num_heads and kv_num_heads must not be given for rank-4 operands".into());
    }
    let mut ops = vec![Some(q), Some(im.req(cx, 1)?), Some(im.req(cx, 2)?)];
    for i in 3..7 {
        ops.push(im.input(cx, i)?);
    }
    while ops.last() == Some(&None) {
        ops.pop();
    }
    im.emit(&cx.name, Op::Attention(attrs), ops)
}

/// `RotaryEmbedding` (opset 23).
pub(super) fn rotary(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let a = &cx.attrs;
    let rotary_dim = match a.int_or("rotary_embedding_dim", 0)? {
        0 => None,
        d => Some(usize::try_from(d).map_err(|_| format!("rotary_embedding_dim must not be negative, got {d}"))?),
    };
    let attrs = RotaryAttrs {
        interleaved: a.bool_or("interleaved", false)?,
        rotary_dim,
        num_heads: heads(cx, "num_heads")?,
    };
    let ops = vec![
        Some(im.req(cx, 0)?),
        Some(im.req(cx, 1)?),
        Some(im.req(cx, 2)?),
        im.input(cx, 3)?,
    ];
    im.emit(&cx.name, Op::RotaryEmbedding(attrs), ops)
}
