//! Type rules of the loss ops.

use super::{bail, expect_float, Args, InferError};
use crate::graph::TensorType;
use crate::op::{LossReduction, NllLossAttrs};
use crate::shape::{Dim, Shape};
use crate::DType;

/// `NllLoss`: the per-element losses shaped like `target`, or a scalar when reduced.
pub(super) fn nll_loss(l: &NllLossAttrs, args: &Args) -> Result<TensorType, InferError> {
    let x = args.get(0)?.ty;
    let t = args.get(1)?.ty;
    expect_float(x, "nll_loss input")?;
    if x.rank() < 2 {
        bail!("nll_loss input must have rank 2 or more, got {x}");
    }
    if !matches!(t.dtype, DType::I32 | DType::I64) || t.rank() + 1 != x.rank() {
        bail!("nll_loss target must be i32 or i64 of rank {}, got {t}", x.rank() - 1);
    }
    let xd = x.shape.dims();
    let expect: Vec<&Dim> = std::iter::once(&xd[0]).chain(&xd[2..]).collect();
    for (a, b) in t.shape.dims().iter().zip(expect) {
        if let (Dim::Fixed(p), Dim::Fixed(q)) = (a, b) {
            if p != q {
                bail!("nll_loss target {t} does not fit input {x}");
            }
        }
    }
    if let Some(w) = args.opt(2) {
        let fits = match (w.ty.shape.dims(), &xd[1]) {
            ([Dim::Fixed(c)], Dim::Fixed(n)) => c == n,
            ([_], _) => true,
            _ => false,
        };
        if w.ty.dtype != x.dtype || !fits {
            bail!("nll_loss weight must be [C] of {}, got {}", x.dtype, w.ty);
        }
    }
    Ok(match l.reduction {
        LossReduction::None => TensorType::new(x.dtype, t.shape.clone()),
        LossReduction::Sum | LossReduction::Mean => TensorType::new(x.dtype, Shape::scalar()),
    })
}
