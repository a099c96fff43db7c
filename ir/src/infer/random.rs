//! Type rules of the random-number ops.

use super::{bail, expect_float, Args, InferError};
use crate::graph::TensorType;
use crate::op::{BernoulliAttrs, MultinomialAttrs, RandomAttrs, RandomLikeAttrs};
use crate::shape::{Dim, Shape};
use crate::DType;

/// `shape` of the float `dtype`.
pub(super) fn random(a: &RandomAttrs) -> Result<TensorType, InferError> {
    if !a.dtype.is_float() {
        bail!("random values must be a float dtype, got {}", a.dtype);
    }
    if let Err(e) = crate::shape::num_elements(&a.shape) {
        bail!("random shape {:?}: {e}", a.shape);
    }
    Ok(TensorType::fixed(a.dtype, &a.shape))
}

/// The operand's dims, of the attribute's float dtype (or the operand's).
pub(super) fn random_like(a: &RandomLikeAttrs, args: &Args) -> Result<TensorType, InferError> {
    let x = args.get(0)?.ty;
    let dtype = a.dtype.unwrap_or(x.dtype);
    if !dtype.is_float() {
        bail!("random values must be a float dtype, got {dtype}");
    }
    Ok(TensorType::new(dtype, x.shape.clone()))
}

/// The probabilities' dims, of the attribute's dtype (or theirs).
pub(super) fn bernoulli(a: &BernoulliAttrs, args: &Args) -> Result<TensorType, InferError> {
    let p = args.get(0)?.ty;
    expect_float(p, "bernoulli probabilities")?;
    Ok(TensorType::new(a.dtype.unwrap_or(p.dtype), p.shape.clone()))
}

/// `[batch, sample_size]` of i32 or i64.
pub(super) fn multinomial(a: &MultinomialAttrs, args: &Args) -> Result<TensorType, InferError> {
    let x = args.get(0)?.ty;
    expect_float(x, "multinomial input")?;
    if x.rank() != 2 {
        bail!("multinomial input must be [batch, classes], got {x}");
    }
    if !matches!(a.dtype, DType::I32 | DType::I64) {
        bail!("multinomial results must be i32 or i64, got {}", a.dtype);
    }
    Ok(TensorType::new(
        a.dtype,
        Shape(vec![x.shape.0[0].clone(), Dim::Fixed(a.sample_size)]),
    ))
}
