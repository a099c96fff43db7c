//! Determinants (ONNX `Det`).
//!
//! Order of the numerical contract, per matrix of size `n`, in the compute type (`f16`
//! and `bf16` in `f32`, rounded once at the end): LU elimination with partial pivoting.
//! For column `k` in order: the pivot is the first row `i >= k` with the largest `|a[i][k]|`;
//! a zero pivot makes the determinant `0`; rows swap (each swap flips the sign); then for
//! each row `i > k` in order, `f = a[i][k] / a[k][k]` and `a[i][j] = a[i][j] - f * a[k][j]`
//! for `j > k` in order. The determinant is `sign * a[0][0] * a[1][1] * ...`, multiplied
//! left to right (an empty matrix gives 1).

use lightos_ir::Tensor;

use super::scalar::{elems, with_float, Float, FloatElem};
use crate::reference::accumulate::Accum;
use crate::reference::{invalid, EvalError};

/// ONNX `Det`: `[..., n, n]` to `[...]`.
pub(crate) fn det(x: &Tensor) -> Result<Tensor, EvalError> {
    let dt = x.dtype();
    with_float!(dt, E => det_typed::<E>(x), _ => Err(EvalError::UnsupportedDType { op: "Det".into(), dtype: dt }))
}

/// The determinant of one `n x n` matrix, overwritten by its elimination.
fn det_one<C: Float>(a: &mut [C], n: usize) -> C {
    let zero = <C as Accum>::ZERO;
    let mut negative = false;
    for k in 0..n {
        let mut p = k;
        for i in k + 1..n {
            if a[i * n + k].abs() > a[p * n + k].abs() {
                p = i;
            }
        }
        if a[p * n + k] == zero {
            return zero;
        }
        if p != k {
            for j in 0..n {
                a.swap(k * n + j, p * n + j);
            }
            negative = !negative;
        }
        for i in k + 1..n {
            let f = a[i * n + k] / a[k * n + k];
            for j in k + 1..n {
                a[i * n + j] = a[i * n + j] - f * a[k * n + j];
            }
        }
    }
    let mut d = C::ONE;
    for k in 0..n {
        d = d * a[k * n + k];
    }
    if negative {
        -d
    } else {
        d
    }
}

/// [`det`] for one element type.
fn det_typed<E: FloatElem>(x: &Tensor) -> Result<Tensor, EvalError> {
    let dims = x.dims();
    let r = dims.len();
    if r < 2 || dims[r - 1] != dims[r - 2] {
        invalid!("Det needs square matrices in the last two axes, got {dims:?}");
    }
    let n = dims[r - 1];
    let xv = elems::<E>(x)?;
    let size = n * n;
    let count: usize = dims[..r - 2].iter().product();
    let mut out = Vec::with_capacity(count);
    let mut a = vec![<E::C as Accum>::ZERO; size];
    for m in 0..count {
        for (o, v) in a.iter_mut().zip(&xv[m * size..(m + 1) * size]) {
            *o = v.widen();
        }
        out.push(E::narrow(det_one(&mut a, n)));
    }
    Ok(Tensor::from_vec(dims[..r - 2].to_vec(), out)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn determinants() {
        // [[2, 1], [4, 3]] pivots on 4 (one swap): -(4 * (1 - 0.5 * 3)) = 2;
        // [[0, 1], [1, 0]] needs a swap: -1; singular: 0.
        let x = Tensor::from_vec(vec![3, 2, 2], vec![2f32, 1., 4., 3., 0., 1., 1., 0., 1., 2., 2., 4.]).unwrap();
        let d = det(&x).unwrap();
        assert_eq!(d.dims(), &[3]);
        assert_eq!(d.as_slice::<f32>().unwrap(), &[2., -1., 0.]);
        let m3 = Tensor::from_vec(vec![3, 3], vec![2f64, 0., 0., 0., 3., 0., 0., 0., 4.]).unwrap();
        assert_eq!(det(&m3).unwrap().as_slice::<f64>().unwrap(), &[24.]);
        assert!(det(&Tensor::from_vec(vec![2, 3], vec![0f32; 6]).unwrap()).is_err());
    }
}
