//! Type rules of the scatter, gather-by-tuple and selection ops.

use super::{bail, Args, InferError, SymbolNamer};
use crate::graph::TensorType;
use crate::op::{CompressAttrs, GatherNdAttrs, ScatterElementsAttrs};
use crate::shape::{Dim, Shape};
use crate::DType;

/// Requires an integer index tensor.
fn expect_indices(t: &TensorType, op: &str) -> Result<(), InferError> {
    if !matches!(t.dtype, DType::I32 | DType::I64) {
        bail!("{op} indices must be i32 or i64, got {t}");
    }
    Ok(())
}

/// Requires two dim lists to agree where both are fixed.
fn same_dims(a: &[Dim], b: &[Dim], what: &str) -> Result<(), InferError> {
    if a.len() != b.len() {
        bail!("{what}: ranks {} and {} differ", a.len(), b.len());
    }
    for (x, y) in a.iter().zip(b) {
        if let (Dim::Fixed(p), Dim::Fixed(q)) = (x, y) {
            if p != q {
                bail!("{what}: sizes {p} and {q} differ");
            }
        }
    }
    Ok(())
}

/// `ScatterElements`: the result is typed like `data`.
pub(super) fn scatter_elements(s: &ScatterElementsAttrs, args: &Args) -> Result<TensorType, InferError> {
    let data = args.get(0)?.ty;
    let idx = args.get(1)?.ty;
    let upd = args.get(2)?.ty;
    expect_indices(idx, "scatter_elements")?;
    if upd.dtype != data.dtype || idx.rank() != data.rank() {
        bail!(
            "scatter_elements needs updates of {} and indices of rank {}, got {upd} and {idx}",
            data.dtype,
            data.rank()
        );
    }
    same_dims(
        idx.shape.dims(),
        upd.shape.dims(),
        "scatter_elements indices and updates",
    )?;
    if s.axis >= data.rank() {
        bail!("scatter_elements axis {} is out of range for {data}", s.axis);
    }
    Ok(data.clone())
}

/// The index tuple length of a gather or scatter by tuples.
fn tuple_len(idx: &TensorType, op: &str) -> Result<usize, InferError> {
    expect_indices(idx, op)?;
    match idx.shape.dims().last() {
        Some(Dim::Fixed(k)) => Ok(*k),
        _ => bail!("{op} indices need a fixed last dim, got {idx}"),
    }
}

/// `ScatterNd`: the result is typed like `data`.
pub(super) fn scatter_nd(args: &Args) -> Result<TensorType, InferError> {
    let data = args.get(0)?.ty;
    let idx = args.get(1)?.ty;
    let upd = args.get(2)?.ty;
    let k = tuple_len(idx, "scatter_nd")?;
    if k > data.rank() || upd.dtype != data.dtype {
        bail!("scatter_nd tuples of length {k} do not fit {data}, or updates {upd} differ in dtype");
    }
    let d = idx.shape.dims();
    let want: Vec<Dim> = d[..d.len() - 1]
        .iter()
        .chain(&data.shape.dims()[k..])
        .cloned()
        .collect();
    same_dims(upd.shape.dims(), &want, "scatter_nd updates")?;
    Ok(data.clone())
}

/// `GatherNd`: `indices.shape[..-1] + data.shape[batch_dims + k..]`.
pub(super) fn gather_nd(g: &GatherNdAttrs, args: &Args) -> Result<TensorType, InferError> {
    let data = args.get(0)?.ty;
    let idx = args.get(1)?.ty;
    let k = tuple_len(idx, "gather_nd")?;
    let b = g.batch_dims;
    if b >= idx.rank() || b + k > data.rank() {
        bail!("gather_nd with batch_dims {b} and tuples of length {k} does not fit {data} and {idx}");
    }
    same_dims(&data.shape.dims()[..b], &idx.shape.dims()[..b], "gather_nd batch dims")?;
    let d = idx.shape.dims();
    let out: Vec<Dim> = d[..d.len() - 1]
        .iter()
        .chain(&data.shape.dims()[b + k..])
        .cloned()
        .collect();
    Ok(TensorType::new(data.dtype, Shape(out)))
}

/// `Compress`: the selected axis (or the flattened input) gets the count of true
/// conditions, known when the condition is a constant.
pub(super) fn compress(c: &CompressAttrs, args: &Args, names: &mut SymbolNamer) -> Result<TensorType, InferError> {
    let x = args.get(0)?;
    let cond = args.get(1)?;
    if cond.ty.dtype != DType::Bool || cond.ty.rank() != 1 {
        bail!("compress condition must be a rank-1 bool tensor, got {}", cond.ty);
    }
    let kept = match cond.value.and_then(|v| v.as_bool_bytes().ok()) {
        Some(v) => Dim::Fixed(v.iter().filter(|&&b| b != 0).count()),
        None => names.fresh(),
    };
    let mut dims = match c.axis {
        None => vec![Dim::Fixed(0)],
        Some(a) if a < x.ty.rank() => x.ty.shape.dims().to_vec(),
        Some(a) => bail!("compress axis {a} is out of range for {}", x.ty),
    };
    dims[c.axis.unwrap_or(0)] = kept;
    Ok(TensorType::new(x.ty.dtype, Shape(dims)))
}
