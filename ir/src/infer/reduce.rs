//! Type rules of reductions, normalizations and the softmax family.

use super::layout::normalize_axes;
use super::{bail, expect_float, Args, InferError};
use crate::graph::TensorType;
use crate::op::{ArgReduceAttrs, LayerNormAttrs, ReduceAttrs, ReduceKind, SoftmaxAttrs};
use crate::shape::{Dim, Shape};
use crate::DType;

pub(super) fn channel_norm(args: &Args) -> Result<TensorType, InferError> {
    let x = args.get(0)?.ty;
    expect_float(x, "normalization input")?;
    if x.rank() < 2 {
        bail!("normalization input needs rank 2 or more, got {x}");
    }
    for p in args.present().skip(1) {
        if p.ty.rank() != 1 {
            bail!("normalization parameters must be rank 1, got {}", p.ty);
        }
    }
    Ok(x.clone())
}

pub(super) fn trailing_norm(axis: usize, args: &Args) -> Result<TensorType, InferError> {
    let x = args.get(0)?.ty;
    expect_float(x, "normalization input")?;
    if axis >= x.rank() {
        bail!("normalization axis {axis} is out of range for {x}");
    }
    Ok(x.clone())
}

/// `LayerNorm`: `Y` like the input, and with `stats` the f32 mean and inverse standard
/// deviation with the normalized axes set to 1.
pub(super) fn layer_norm(n: &LayerNormAttrs, args: &Args) -> Result<Vec<TensorType>, InferError> {
    let y = trailing_norm(n.axis, args)?;
    if !n.stats {
        return Ok(vec![y]);
    }
    let mut dims = y.shape.0.clone();
    for d in &mut dims[n.axis..] {
        *d = Dim::Fixed(1);
    }
    let stat = TensorType::new(DType::F32, Shape(dims));
    Ok(vec![y, stat.clone(), stat])
}

pub(super) fn lp_norm(axis: usize, args: &Args) -> Result<TensorType, InferError> {
    let x = args.get(0)?.ty;
    expect_float(x, "lp_norm input")?;
    if axis >= x.rank() {
        bail!("lp_norm axis {axis} is out of range for {x}");
    }
    Ok(x.clone())
}

pub(super) fn softmax(s: &SoftmaxAttrs, args: &Args) -> Result<TensorType, InferError> {
    let x = args.get(0)?.ty;
    expect_float(x, "softmax input")?;
    if s.axis >= x.rank().max(1) {
        bail!("softmax axis {} is out of range for {x}", s.axis);
    }
    Ok(x.clone())
}

/// The reduced axes of a reduction: `None` when they are only known at run time.
pub fn reduce_axes(
    r: &ReduceAttrs,
    rank: usize,
    axes: Option<Vec<i64>>,
    has_axes: bool,
) -> Result<Option<Vec<usize>>, InferError> {
    match axes {
        Some(a) if !a.is_empty() => normalize_axes(&a, rank).map(Some),
        Some(_) => Ok(Some(if r.noop_with_empty_axes {
            vec![]
        } else {
            (0..rank).collect()
        })),
        None if has_axes => Ok(None),
        None => Ok(Some(if r.noop_with_empty_axes {
            vec![]
        } else {
            (0..rank).collect()
        })),
    }
}

pub(super) fn reduce(r: &ReduceAttrs, args: &Args, names: &mut super::SymbolNamer) -> Result<TensorType, InferError> {
    let x = args.get(0)?.ty;
    let numeric_ok = match r.kind {
        ReduceKind::Max | ReduceKind::Min => x.dtype.is_numeric() || x.dtype == DType::Bool,
        ReduceKind::LogSum | ReduceKind::LogSumExp | ReduceKind::L2 => x.dtype.is_float(),
        _ => x.dtype.is_numeric(),
    };
    if !numeric_ok {
        bail!("reduce {:?} does not take {}", r.kind, x.dtype);
    }
    let axes_operand = args.opt(1);
    let axes = reduce_axes(r, x.rank(), args.const_ints(1)?, axes_operand.is_some())?;
    let dims = match axes {
        Some(axes) => reduced_dims(&x.shape, &axes, r.keepdims),
        None => {
            let count = axes_operand
                .and_then(|a| a.ty.shape.0.first().and_then(Dim::fixed))
                .ok_or_else(|| InferError("reduce axes operand must have a fixed length".into()))?;
            let rank = if r.keepdims {
                x.rank()
            } else {
                x.rank().saturating_sub(count)
            };
            (0..rank).map(|_| names.fresh()).collect()
        }
    };
    Ok(TensorType::new(x.dtype, Shape(dims)))
}

fn reduced_dims(shape: &Shape, axes: &[usize], keepdims: bool) -> Vec<Dim> {
    let mut out = Vec::new();
    for (i, d) in shape.0.iter().enumerate() {
        if axes.contains(&i) {
            if keepdims {
                out.push(Dim::Fixed(1));
            }
        } else {
            out.push(d.clone());
        }
    }
    out
}

pub(super) fn arg_reduce(a: &ArgReduceAttrs, args: &Args) -> Result<TensorType, InferError> {
    let x = args.get(0)?.ty;
    if !x.dtype.is_numeric() || a.axis >= x.rank().max(1) {
        bail!("arg reduce axis {} does not fit {x}", a.axis);
    }
    Ok(TensorType::new(
        DType::I64,
        Shape(reduced_dims(&x.shape, &[a.axis], a.keepdims)),
    ))
}
