//! Importers of the selection and sequence ops: `NonMaxSuppression` (opsets 10, 11),
//! `Unique` (11), `ReverseSequence` (10) and `TfIdfVectorizer` (9, integer pools only).

use lightos_ir::infer::normalize_axis;
use lightos_ir::{NmsAttrs, Op, ReverseSequenceAttrs, TfIdfAttrs, TfIdfMode, UniqueAttrs};

use super::super::context::{ImportResult, Importer, NodeCx};

/// The node's present-or-absent operands from slot `from` on, trailing absent ones dropped.
fn operands(im: &Importer, cx: &NodeCx, from: usize) -> Result<Vec<Option<lightos_ir::ValueId>>, String> {
    let mut ops = Vec::new();
    for i in from..cx.input_count() {
        ops.push(im.input(cx, i)?);
    }
    while ops.last().is_some_and(|o| o.is_none()) {
        ops.pop();
    }
    Ok(ops)
}

/// `NonMaxSuppression`.
pub(super) fn non_max_suppression(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let attrs = NmsAttrs {
        center_point_box: match cx.attrs.int_or("center_point_box", 0)? {
            0 => false,
            1 => true,
            v => return Err(format!("center_point_box must be 0 or 1, got {v}")),
        },
    };
    let mut ops = vec![Some(im.req(cx, 0)?), Some(im.req(cx, 1)?)];
    ops.extend(operands(im, cx, 2)?);
    im.emit(&cx.name, Op::NonMaxSuppression(attrs), ops)
}

/// `Unique`: four results whatever the node uses.
pub(super) fn unique(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let x = im.req(cx, 0)?;
    let axis = match cx.attrs.int("axis")? {
        None => None,
        Some(a) => Some(normalize_axis(a, im.ty(x).rank()).map_err(|e| e.0)?),
    };
    let sorted = cx.attrs.int_or("sorted", 1)? != 0;
    im.emit(&cx.name, Op::Unique(UniqueAttrs { axis, sorted }), vec![Some(x)])
}

/// `ReverseSequence`.
pub(super) fn reverse_sequence(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let x = im.req(cx, 0)?;
    let lens = im.req(cx, 1)?;
    let rank = im.ty(x).rank();
    let axis = |name: &str, default: i64| -> Result<usize, String> {
        normalize_axis(cx.attrs.int_or(name, default)?, rank).map_err(|e| e.0)
    };
    let attrs = ReverseSequenceAttrs {
        batch_axis: axis("batch_axis", 1)?,
        time_axis: axis("time_axis", 0)?,
    };
    im.emit(&cx.name, Op::ReverseSequence(attrs), vec![Some(x), Some(lens)])
}

/// `TfIdfVectorizer` with `pool_int64s`; string pools are refused.
pub(super) fn tf_idf_vectorizer(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let a = &cx.attrs;
    if cx
        .node
        .attribute
        .iter()
        .any(|x| x.name == "pool_strings" && !x.strings.is_empty())
    {
        return Err("string pools are not supported (only pool_int64s)".into());
    }
    let mode = match a.string("mode")?.as_deref() {
        Some("TF") => TfIdfMode::Tf,
        Some("IDF") => TfIdfMode::Idf,
        Some("TFIDF") => TfIdfMode::TfIdf,
        Some(m) => return Err(format!("unknown mode `{m}`")),
        None => return Err("attribute `mode` is required".into()),
    };
    let size = |name: &str| -> Result<usize, String> {
        let v = a.int(name)?.ok_or_else(|| format!("attribute `{name}` is required"))?;
        usize::try_from(v).map_err(|_| format!("attribute `{name}` is negative: {v}"))
    };
    let attrs = TfIdfAttrs {
        mode,
        min_gram_length: size("min_gram_length")?,
        max_gram_length: size("max_gram_length")?,
        max_skip_count: size("max_skip_count")?,
        ngram_counts: a
            .usizes("ngram_counts")?
            .ok_or("attribute `ngram_counts` is required")?,
        ngram_indexes: a
            .usizes("ngram_indexes")?
            .ok_or("attribute `ngram_indexes` is required")?,
        pool: a.ints("pool_int64s")?.ok_or("attribute `pool_int64s` is required")?,
        weights: a.floats("weights")?.unwrap_or_default(),
    };
    let x = im.req(cx, 0)?;
    im.emit(&cx.name, Op::TfIdfVectorizer(attrs), vec![Some(x)])
}
