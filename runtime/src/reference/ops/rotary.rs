//! Rotary position embedding (ONNX `RotaryEmbedding`).
//!
//! Order of the numerical contract: for each head of each position, with `R` the rotary
//! dim and `c`, `s` the cache entries of pair `i < R / 2`, the pair `(x1, x2)` (`x[i]`,
//! `x[i + R/2]`, or `x[2i]`, `x[2i + 1]` when interleaved) becomes
//! `(c * x1 - s * x2, s * x1 + c * x2)`, each product and the sum or difference rounded
//! in the compute type (`f16` and `bf16` in `f32`, rounded once at the end). Dims at `R`
//! and past are copied.

use lightos_ir::op::RotaryAttrs;
use lightos_ir::Tensor;

use super::scalar::{elems, with_float, FloatElem};
use crate::reference::{invalid, EvalError};

/// ONNX `RotaryEmbedding`.
pub(crate) fn rotary(
    r: &RotaryAttrs,
    x: &Tensor,
    cos: &Tensor,
    sin: &Tensor,
    position_ids: Option<&Tensor>,
) -> Result<Tensor, EvalError> {
    let dt = x.dtype();
    if cos.dtype() != dt || sin.dtype() != dt {
        invalid!(
            "RotaryEmbedding caches must be {dt}, got {} and {}",
            cos.dtype(),
            sin.dtype()
        );
    }
    with_float!(dt, E => rotary_typed::<E>(r, x, cos, sin, position_ids),
        _ => Err(EvalError::UnsupportedDType { op: "RotaryEmbedding".into(), dtype: dt }))
}

/// [`rotary`] for one element type.
fn rotary_typed<E: FloatElem>(
    r: &RotaryAttrs,
    x: &Tensor,
    cos: &Tensor,
    sin: &Tensor,
    position_ids: Option<&Tensor>,
) -> Result<Tensor, EvalError> {
    // (batch, seq, heads, head size) and whether the heads axis comes before the sequence.
    let (b, s, h, d, heads_first) = match *x.dims() {
        [b, h, s, d] => (b, s, h, d, true),
        [b, s, hidden] => {
            let Some(h) = r.num_heads.filter(|&h| h > 0 && hidden % h == 0) else {
                invalid!("RotaryEmbedding needs num_heads dividing the hidden size {hidden}");
            };
            (b, s, h, hidden / h, false)
        }
        _ => invalid!("RotaryEmbedding input must be rank 3 or 4, got {:?}", x.dims()),
    };
    let rot = r.rotary_dim.filter(|&v| v > 0).unwrap_or(d);
    if !rot.is_multiple_of(2) || rot > d {
        invalid!("RotaryEmbedding dim {rot} must be even and at most the head size {d}");
    }
    let half = rot / 2;
    if cos.dims() != sin.dims() || cos.dims().last() != Some(&half) {
        invalid!(
            "RotaryEmbedding caches {:?} and {:?} must end in {half}",
            cos.dims(),
            sin.dims()
        );
    }
    // The cache row of each (batch, position).
    let rows: Vec<usize> = match position_ids {
        Some(p) => {
            let Some(ids) = p.to_i64_vec().filter(|v| p.dims() == [b, s] && v.len() == b * s) else {
                invalid!(
                    "RotaryEmbedding position_ids must be integers of shape [{b}, {s}], got {:?}",
                    p.dims()
                );
            };
            let max = match *cos.dims() {
                [m, _] => m,
                _ => invalid!(
                    "RotaryEmbedding caches must be rank 2 with position_ids, got {:?}",
                    cos.dims()
                ),
            };
            ids.iter()
                .map(|&i| usize::try_from(i).ok().filter(|&i| i < max))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| EvalError::Invalid(format!("RotaryEmbedding position id out of range 0..{max}")))?
        }
        None => {
            if cos.dims() != [b, s, half] {
                invalid!(
                    "RotaryEmbedding caches must be [{b}, {s}, {half}] without position_ids, got {:?}",
                    cos.dims()
                );
            }
            (0..b * s).collect()
        }
    };
    let (xv, cv, sv) = (elems::<E>(x)?, elems::<E>(cos)?, elems::<E>(sin)?);
    let mut out = xv.to_vec();
    let at = |bi: usize, si: usize, hi: usize, di: usize| -> usize {
        if heads_first {
            ((bi * h + hi) * s + si) * d + di
        } else {
            ((bi * s + si) * h + hi) * d + di
        }
    };
    for bi in 0..b {
        for si in 0..s {
            let row = rows[bi * s + si] * half;
            for hi in 0..h {
                for i in 0..half {
                    let (j1, j2) = if r.interleaved {
                        (2 * i, 2 * i + 1)
                    } else {
                        (i, i + half)
                    };
                    let (x1, x2) = (xv[at(bi, si, hi, j1)].widen(), xv[at(bi, si, hi, j2)].widen());
                    let (c, sn) = (cv[row + i].widen(), sv[row + i].widen());
                    out[at(bi, si, hi, j1)] = E::narrow(c * x1 - sn * x2);
                    out[at(bi, si, hi, j2)] = E::narrow(sn * x1 + c * x2);
                }
            }
        }
    }
    Ok(Tensor::from_vec(x.dims().to_vec(), out)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An `f32` tensor.
    fn t(dims: &[usize], v: &[f32]) -> Tensor {
        Tensor::from_vec(dims.to_vec(), v.to_vec()).unwrap()
    }

    #[test]
    fn rotates_halves_and_pairs() {
        // One head of size 4 at one position; cos = [0, 1], sin = [1, 0]: pair 0 turns by
        // 90 degrees, pair 1 stays.
        let x = t(&[1, 1, 1, 4], &[1., 2., 3., 4.]);
        let (cos, sin) = (t(&[1, 1, 2], &[0., 1.]), t(&[1, 1, 2], &[1., 0.]));
        let attrs = |interleaved| RotaryAttrs {
            interleaved,
            rotary_dim: None,
            num_heads: None,
        };
        // Halves: pairs (x0, x2) and (x1, x3).
        let y = rotary(&attrs(false), &x, &cos, &sin, None).unwrap();
        assert_eq!(y.as_slice::<f32>().unwrap(), &[-3., 2., 1., 4.]);
        // Neighbours: pairs (x0, x1) and (x2, x3).
        let y = rotary(&attrs(true), &x, &cos, &sin, None).unwrap();
        assert_eq!(y.as_slice::<f32>().unwrap(), &[-2., 1., 3., 4.]);
        // Position ids pick cache rows; row 1 is the identity.
        let (cos2, sin2) = (t(&[2, 2], &[0., 1., 1., 1.]), t(&[2, 2], &[1., 0., 0., 0.]));
        let ids = Tensor::from_vec(vec![1, 1], vec![1i64]).unwrap();
        let y = rotary(&attrs(false), &x, &cos2, &sin2, Some(&ids)).unwrap();
        assert_eq!(y.as_slice::<f32>().unwrap(), &[1., 2., 3., 4.]);
        let bad = Tensor::from_vec(vec![1, 1], vec![2i64]).unwrap();
        assert!(rotary(&attrs(false), &x, &cos2, &sin2, Some(&bad)).is_err());
    }
}
