//! Type rules of the selection and sequence ops: non-maximum suppression, `Unique`,
//! `ReverseSequence` and `TfIdfVectorizer`.

use super::{bail, expect_float, Args, InferError, SymbolNamer};
use crate::graph::TensorType;
use crate::op::{ReverseSequenceAttrs, TfIdfAttrs, UniqueAttrs};
use crate::shape::{Dim, Shape};
use crate::DType;

/// `[selected, 3]` i64: the count is known only at run time.
pub(super) fn non_max_suppression(args: &Args, names: &mut SymbolNamer) -> Result<TensorType, InferError> {
    let boxes = args.get(0)?.ty;
    let scores = args.get(1)?.ty;
    expect_float(boxes, "non_max_suppression boxes")?;
    if boxes.rank() != 3 || scores.rank() != 3 || scores.dtype != boxes.dtype {
        bail!("non_max_suppression needs boxes [batch, boxes, 4] and scores [batch, classes, boxes] of one float dtype, got {boxes} and {scores}");
    }
    if boxes.shape.0[2].fixed().is_some_and(|n| n != 4) {
        bail!("non_max_suppression boxes must end in 4 coordinates, got {boxes}");
    }
    if let Some(m) = args.opt(2) {
        if !m.ty.dtype.is_int() || m.ty.rank() > 1 {
            bail!("max_output_boxes_per_class must be one integer, got {}", m.ty);
        }
    }
    for i in [3, 4] {
        if let Some(t) = args.opt(i) {
            if !t.ty.dtype.is_float() || t.ty.rank() > 1 {
                bail!("non_max_suppression thresholds must be one float, got {}", t.ty);
            }
        }
    }
    Ok(TensorType::new(DType::I64, Shape(vec![names.fresh(), Dim::Fixed(3)])))
}

/// `Y, indices, inverse_indices, counts`; the number of uniques is known only at run time.
pub(super) fn unique(a: &UniqueAttrs, args: &Args, names: &mut SymbolNamer) -> Result<Vec<TensorType>, InferError> {
    let x = args.get(0)?.ty;
    let n = names.fresh();
    let (y, inverse) = match a.axis {
        None => {
            let count = match x.shape.as_fixed() {
                Some(d) => match crate::shape::num_elements(&d) {
                    Ok(c) => Dim::Fixed(c),
                    Err(e) => bail!("unique input {x}: {e}"),
                },
                None => names.fresh(),
            };
            (Shape(vec![n.clone()]), count)
        }
        Some(axis) => {
            if axis >= x.rank() {
                bail!("unique axis {axis} is out of range for {x}");
            }
            let mut dims = x.shape.0.clone();
            let along = std::mem::replace(&mut dims[axis], n.clone());
            (Shape(dims), along)
        }
    };
    let idx = |d: Dim| TensorType::new(DType::I64, Shape(vec![d]));
    Ok(vec![TensorType::new(x.dtype, y), idx(n.clone()), idx(inverse), idx(n)])
}

/// The input's type; `sequence_lens` must be integers, one per batch entry.
pub(super) fn reverse_sequence(a: &ReverseSequenceAttrs, args: &Args) -> Result<TensorType, InferError> {
    let x = args.get(0)?.ty;
    let lens = args.get(1)?.ty;
    if a.batch_axis == a.time_axis || a.batch_axis >= x.rank() || a.time_axis >= x.rank() {
        bail!(
            "reverse_sequence axes {} and {} must be two different axes of {x}",
            a.batch_axis,
            a.time_axis
        );
    }
    if !lens.dtype.is_int() || lens.rank() != 1 {
        bail!("reverse_sequence sequence_lens must be rank-1 integers, got {lens}");
    }
    if let (Some(b), Some(l)) = (x.shape.0[a.batch_axis].fixed(), lens.shape.0[0].fixed()) {
        if b != l {
            bail!("reverse_sequence has {l} lengths for a batch of {b}");
        }
    }
    Ok(x.clone())
}

/// f32 `[out]` or `[B, out]`, `out = max(ngram_indexes) + 1`.
pub(super) fn tf_idf(a: &TfIdfAttrs, args: &Args) -> Result<TensorType, InferError> {
    let x = args.get(0)?.ty;
    if !x.dtype.is_int() || x.rank() == 0 || x.rank() > 2 {
        bail!("tf_idf_vectorizer needs integers of shape [C] or [B, C], got {x}");
    }
    let Some(out) = a.ngram_indexes.iter().max().and_then(|m| m.checked_add(1)) else {
        bail!("tf_idf_vectorizer needs ngram_indexes");
    };
    if !a.weights.is_empty() && a.weights.len() < out {
        bail!("tf_idf_vectorizer has {} weights for {out} outputs", a.weights.len());
    }
    let mut dims = vec![Dim::Fixed(out)];
    if x.rank() == 2 {
        dims.insert(0, x.shape.0[0].clone());
    }
    Ok(TensorType::new(DType::F32, Shape(dims)))
}
