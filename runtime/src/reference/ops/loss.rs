//! Loss ops; floats only, `f16` and `bf16` compute in `f32` and round once.
//!
//! Order of the numerical contract for `NllLoss`: the input is seen as `[N, C, D]` (the
//! trailing axes flattened) and the target as `[N, D]`. For each target element in
//! row-major order, with class `t`: `w = weight[t]` (1 without weights) and
//! `l = -x[n][t][d] * w`; an ignored element has `w = 0` and `l = 0`. Then `none` gives
//! each `l`; `sum` gives `tree_sum(l)`; `mean` gives `tree_sum(l) / tree_sum(w)` (NaN
//! when every element is ignored).

use lightos_ir::op::{LossReduction, NllLossAttrs};
use lightos_ir::{DType, Tensor};

use super::scalar::{elems, with_float, Float, FloatElem};
use crate::reference::accumulate::{tree_sum, Accum};
use crate::reference::{invalid, EvalError};

/// ONNX `NegativeLogLikelihoodLoss`: `input [N, C, d...]`, `target [N, d...]`,
/// `weight [C]`.
pub(crate) fn nll_loss(
    l: &NllLossAttrs,
    x: &Tensor,
    target: &Tensor,
    weight: Option<&Tensor>,
) -> Result<Tensor, EvalError> {
    let dt = x.dtype();
    with_float!(dt, E => nll_loss_typed::<E>(l, x, target, weight),
        _ => Err(EvalError::UnsupportedDType { op: "NegativeLogLikelihoodLoss".into(), dtype: dt }))
}

/// [`nll_loss`] for one element type.
fn nll_loss_typed<E: FloatElem>(
    l: &NllLossAttrs,
    x: &Tensor,
    target: &Tensor,
    weight: Option<&Tensor>,
) -> Result<Tensor, EvalError> {
    let dims = x.dims();
    if dims.len() < 2 {
        invalid!("NegativeLogLikelihoodLoss input must have rank 2 or more, got {dims:?}");
    }
    let (n, c) = (dims[0], dims[1]);
    let want: Vec<usize> = std::iter::once(n).chain(dims[2..].iter().copied()).collect();
    if target.dims() != want.as_slice() || !matches!(target.dtype(), DType::I32 | DType::I64) {
        invalid!(
            "NegativeLogLikelihoodLoss target must be i32 or i64 of shape {want:?}, got {} {:?}",
            target.dtype(),
            target.dims()
        );
    }
    let classes = target.to_i64_vec().unwrap_or_default();
    let xv = elems::<E>(x)?;
    let weights = match weight {
        None => None,
        Some(w) => {
            if w.dims() != [c] || w.dtype() != x.dtype() {
                invalid!(
                    "NegativeLogLikelihoodLoss weight must be [{c}] of {}, got {} {:?}",
                    x.dtype(),
                    w.dtype(),
                    w.dims()
                );
            }
            Some(elems::<E>(w)?)
        }
    };
    let d = classes.len().checked_div(n).unwrap_or(0);
    let zero = <E::C as Accum>::ZERO;
    let one = E::C::ONE;
    let mut losses = Vec::with_capacity(classes.len());
    let mut applied = Vec::with_capacity(classes.len());
    for (k, &t) in classes.iter().enumerate() {
        if l.ignore_index == Some(t) {
            losses.push(zero);
            applied.push(zero);
            continue;
        }
        let Some(ti) = usize::try_from(t).ok().filter(|&ti| ti < c) else {
            invalid!("NegativeLogLikelihoodLoss target {t} is out of range for {c} classes");
        };
        let w = weights.map_or(one, |w| w[ti].widen());
        let (i, j) = (k / d, k % d);
        losses.push(-xv[(i * c + ti) * d + j].widen() * w);
        applied.push(w);
    }
    let out = match l.reduction {
        LossReduction::None => {
            let data: Vec<E> = losses.into_iter().map(E::narrow).collect();
            return Ok(Tensor::from_vec(target.dims().to_vec(), data)?);
        }
        LossReduction::Sum => tree_sum(losses),
        LossReduction::Mean => tree_sum(losses) / tree_sum(applied),
    };
    Ok(Tensor::from_vec(vec![], vec![E::narrow(out)])?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An `f32` tensor.
    fn t(dims: &[usize], v: &[f32]) -> Tensor {
        Tensor::from_vec(dims.to_vec(), v.to_vec()).unwrap()
    }

    /// An `i64` tensor.
    fn ti(dims: &[usize], v: &[i64]) -> Tensor {
        Tensor::from_vec(dims.to_vec(), v.to_vec()).unwrap()
    }

    /// Loss attributes.
    fn attrs(reduction: LossReduction, ignore_index: Option<i64>) -> NllLossAttrs {
        NllLossAttrs {
            reduction,
            ignore_index,
        }
    }

    #[test]
    fn nll_loss_reductions() {
        // N = 2, C = 3.
        let x = t(&[2, 3], &[-1., -2., -3., -4., -5., -6.]);
        let y = ti(&[2], &[2, 0]);
        let w = t(&[3], &[1., 2., 0.5]);
        let none = nll_loss(&attrs(LossReduction::None, None), &x, &y, None).unwrap();
        assert_eq!(none.dims(), &[2]);
        assert_eq!(none.as_slice::<f32>().unwrap(), &[3., 4.]);
        let sum = nll_loss(&attrs(LossReduction::Sum, None), &x, &y, Some(&w)).unwrap();
        assert_eq!(sum.as_slice::<f32>().unwrap(), &[1.5 + 4.]);
        let mean = nll_loss(&attrs(LossReduction::Mean, None), &x, &y, Some(&w)).unwrap();
        assert_eq!(mean.as_slice::<f32>().unwrap(), &[5.5 / 1.5]);
        // Ignoring class 0 drops the second element and its weight.
        let mean = nll_loss(&attrs(LossReduction::Mean, Some(0)), &x, &y, Some(&w)).unwrap();
        assert_eq!(mean.as_slice::<f32>().unwrap(), &[3.0]);
        let bad = ti(&[2], &[3, 0]);
        assert!(nll_loss(&attrs(LossReduction::Sum, None), &x, &bad, None).is_err());
    }

    #[test]
    fn nll_loss_spatial() {
        // N = 1, C = 2, D = 2: target per position.
        let x = t(&[1, 2, 2], &[-1., -2., -3., -4.]);
        let y = ti(&[1, 2], &[1, 0]);
        let none = nll_loss(&attrs(LossReduction::None, None), &x, &y, None).unwrap();
        assert_eq!(none.as_slice::<f32>().unwrap(), &[3., 2.]);
        let mean = nll_loss(&attrs(LossReduction::Mean, None), &x, &y, None).unwrap();
        assert_eq!(mean.as_slice::<f32>().unwrap(), &[2.5]);
    }
}
