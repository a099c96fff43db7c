//! Scatters, gathers by index tuples and `Compress`.
//!
//! Updates apply one at a time in row-major order of the indices, so a later update to
//! the same position sees the earlier ones. With a reduction, each step is
//! `out = f(out, update)` rounded to the element type (floats compute in the compute
//! type, `f16` and `bf16` in `f32`; integers wrap; `max`/`min` let NaN win). Negative
//! indices count from the end of their axis; any index out of range is an error.

use lightos_ir::op::{CompressAttrs, GatherNdAttrs, ScatterElementsAttrs, ScatterNdAttrs, ScatterReduction};
use lightos_ir::shape::strides;
use lightos_ir::{DType, Element, Tensor};

use super::scalar::{elems, with_float, with_int, Float, FloatElem};
use crate::reference::{invalid, EvalError};

/// The element count of `dims`, or an error when it overflows.
fn numel(dims: &[usize]) -> Result<usize, EvalError> {
    match dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d)) {
        Some(n) => Ok(n),
        None => invalid!("shape {dims:?} overflows"),
    }
}

/// The integer indices of `t` (i32 or i64).
fn indices(t: &Tensor, op: &str) -> Result<Vec<i64>, EvalError> {
    match t.dtype() {
        DType::I32 | DType::I64 => Ok(t.to_i64_vec().unwrap_or_default()),
        dt => invalid!("{op} indices must be i32 or i64, got {dt}"),
    }
}

/// `i` as a position on an axis of size `n` (negative counts from the end).
fn wrap(i: i64, n: usize, op: &str) -> Result<usize, EvalError> {
    let n_i = i64::try_from(n).unwrap_or(i64::MAX);
    let j = if i < 0 { i.checked_add(n_i) } else { Some(i) };
    match j {
        Some(j) if (0..n_i).contains(&j) => Ok(j as usize),
        _ => invalid!("{op} index {i} is out of range for an axis of size {n}"),
    }
}

/// Scatter steps: each copies or combines one update element into one output element.
type Steps = Vec<(usize, usize)>;

/// Applies `steps` (output element, update element) to a copy of `data`.
fn apply(op: &str, data: &Tensor, updates: &Tensor, steps: &Steps, r: ScatterReduction) -> Result<Tensor, EvalError> {
    if updates.dtype() != data.dtype() {
        invalid!("{op} updates must be {}, got {}", data.dtype(), updates.dtype());
    }
    let dt = data.dtype();
    if r == ScatterReduction::None {
        let es = dt.size_bytes();
        let (src, mut out) = (updates.bytes(), data.bytes().to_vec());
        for &(o, u) in steps {
            out[o * es..(o + 1) * es].copy_from_slice(&src[u * es..(u + 1) * es]);
        }
        return Ok(Tensor::from_bytes(dt, data.dims().to_vec(), &out)?);
    }
    with_float!(dt, E => reduce_float::<E>(data, updates, steps, r),
        _ => with_int!(dt, I => reduce_int::<I>(data, updates, steps, r),
        _ => Err(EvalError::UnsupportedDType { op: op.into(), dtype: dt })))
}

/// `max` or `min` of floats with NaN winning.
fn pick<C: Float>(a: C, b: C, max: bool) -> C {
    if a.is_nan() {
        a
    } else if b.is_nan() || (max && b > a) || (!max && b < a) {
        b
    } else {
        a
    }
}

/// [`apply`] with a reduction, for floats.
fn reduce_float<E: FloatElem>(
    data: &Tensor,
    updates: &Tensor,
    steps: &Steps,
    r: ScatterReduction,
) -> Result<Tensor, EvalError> {
    let mut out = elems::<E>(data)?.to_vec();
    let upd = elems::<E>(updates)?;
    for &(o, u) in steps {
        let (a, b) = (out[o].widen(), upd[u].widen());
        out[o] = E::narrow(match r {
            ScatterReduction::Add => a + b,
            ScatterReduction::Mul => a * b,
            ScatterReduction::Max => pick(a, b, true),
            ScatterReduction::Min => pick(a, b, false),
            ScatterReduction::None => b,
        });
    }
    Ok(Tensor::from_vec(data.dims().to_vec(), out)?)
}

/// Wrapping integer arithmetic for the scatter reductions.
trait ScatterInt: Element + Ord {
    /// `self + o`, wrapping.
    fn add(self, o: Self) -> Self;
    /// `self * o`, wrapping.
    fn mul(self, o: Self) -> Self;
}

/// Implements [`ScatterInt`].
macro_rules! scatter_int {
    ($($t:ty),*) => {$(
        impl ScatterInt for $t {
            fn add(self, o: Self) -> Self { self.wrapping_add(o) }
            fn mul(self, o: Self) -> Self { self.wrapping_mul(o) }
        }
    )*};
}
scatter_int!(i8, i16, i32, i64, u8, u16, u32, u64);

/// [`apply`] with a reduction, for integers.
fn reduce_int<I: ScatterInt>(
    data: &Tensor,
    updates: &Tensor,
    steps: &Steps,
    r: ScatterReduction,
) -> Result<Tensor, EvalError> {
    let mut out = elems::<I>(data)?.to_vec();
    let upd = elems::<I>(updates)?;
    for &(o, u) in steps {
        let (a, b) = (out[o], upd[u]);
        out[o] = match r {
            ScatterReduction::Add => a.add(b),
            ScatterReduction::Mul => a.mul(b),
            ScatterReduction::Max => a.max(b),
            ScatterReduction::Min => a.min(b),
            ScatterReduction::None => b,
        };
    }
    Ok(Tensor::from_vec(data.dims().to_vec(), out)?)
}

/// ONNX `ScatterElements` (and the older `Scatter`).
pub(crate) fn scatter_elements(
    s: &ScatterElementsAttrs,
    data: &Tensor,
    idx: &Tensor,
    updates: &Tensor,
) -> Result<Tensor, EvalError> {
    let op = "ScatterElements";
    let (dims, idims) = (data.dims(), idx.dims());
    let fits = s.axis < dims.len()
        && idims.len() == dims.len()
        && updates.dims() == idims
        && idims
            .iter()
            .zip(dims)
            .enumerate()
            .all(|(a, (i, d))| a == s.axis || i <= d);
    if !fits {
        invalid!(
            "{op} indices {idims:?} and updates {:?} do not fit data {dims:?} on axis {}",
            updates.dims(),
            s.axis
        );
    }
    let ix = indices(idx, op)?;
    let (st, ist) = (strides(dims), strides(idims));
    let mut steps = Vec::with_capacity(ix.len());
    for (p, &i) in ix.iter().enumerate() {
        let mut dst = 0;
        for a in 0..dims.len() {
            let coord = if a == s.axis {
                wrap(i, dims[a], op)?
            } else {
                p / ist[a] % idims[a]
            };
            dst += coord * st[a];
        }
        steps.push((dst, p));
    }
    apply(op, data, updates, &steps, s.reduction)
}

/// ONNX `ScatterND`.
pub(crate) fn scatter_nd(
    s: &ScatterNdAttrs,
    data: &Tensor,
    idx: &Tensor,
    updates: &Tensor,
) -> Result<Tensor, EvalError> {
    let op = "ScatterND";
    let (dims, idims) = (data.dims(), idx.dims());
    let Some((&k, lead)) = idims.split_last() else {
        invalid!("{op} indices must have rank 1 or more");
    };
    if k > dims.len() {
        invalid!("{op} index tuples of length {k} do not fit data {dims:?}");
    }
    let want: Vec<usize> = lead.iter().chain(&dims[k..]).copied().collect();
    if updates.dims() != want.as_slice() {
        invalid!("{op} updates must have shape {want:?}, got {:?}", updates.dims());
    }
    let ix = indices(idx, op)?;
    let st = strides(dims);
    let slice = numel(&dims[k..])?;
    let mut steps = Vec::new();
    for t in 0..numel(lead)? {
        let mut base = 0;
        for (j, &i) in ix[t * k..(t + 1) * k].iter().enumerate() {
            base += wrap(i, dims[j], op)? * st[j];
        }
        steps.extend((0..slice).map(|e| (base + e, t * slice + e)));
    }
    apply(op, data, updates, &steps, s.reduction)
}

/// ONNX `GatherND`.
pub(crate) fn gather_nd(g: &GatherNdAttrs, data: &Tensor, idx: &Tensor) -> Result<Tensor, EvalError> {
    let op = "GatherND";
    let (dims, idims) = (data.dims(), idx.dims());
    let b = g.batch_dims;
    let Some((&k, lead)) = idims.split_last() else {
        invalid!("{op} indices must have rank 1 or more");
    };
    if b >= idims.len() || b + k > dims.len() || dims[..b] != idims[..b] {
        invalid!("{op} indices {idims:?} with batch_dims {b} do not fit data {dims:?}");
    }
    let ix = indices(idx, op)?;
    let st = strides(dims);
    let slice = numel(&dims[b + k..])?;
    let per_batch = numel(&lead[b..])?;
    let out_dims: Vec<usize> = lead.iter().chain(&dims[b + k..]).copied().collect();
    let es = data.dtype().size_bytes();
    let src = data.bytes();
    let mut bytes = Vec::with_capacity(numel(&out_dims)?.saturating_mul(es));
    for t in 0..numel(lead)? {
        let batch = t / per_batch;
        let mut base = if b > 0 { batch * st[b - 1] } else { 0 };
        for (j, &i) in ix[t * k..(t + 1) * k].iter().enumerate() {
            base += wrap(i, dims[b + j], op)? * st[b + j];
        }
        bytes.extend_from_slice(&src[base * es..(base + slice) * es]);
    }
    Ok(Tensor::from_bytes(data.dtype(), out_dims, &bytes)?)
}

/// ONNX `Compress`.
pub(crate) fn compress(c: &CompressAttrs, x: &Tensor, cond: &Tensor) -> Result<Tensor, EvalError> {
    let op = "Compress";
    if cond.dtype() != DType::Bool || cond.dims().len() != 1 {
        invalid!(
            "{op} condition must be a rank-1 bool tensor, got {} {:?}",
            cond.dtype(),
            cond.dims()
        );
    }
    let keep = cond.as_bool_bytes()?;
    let (outer, n, inner, mut out_dims) = match c.axis {
        None => (1, x.len(), 1, vec![0]),
        Some(a) if a < x.dims().len() => {
            let d = x.dims();
            (numel(&d[..a])?, d[a], numel(&d[a + 1..])?, d.to_vec())
        }
        Some(a) => invalid!("{op} axis {a} is out of range for {:?}", x.dims()),
    };
    if keep.iter().skip(n).any(|&k| k != 0) {
        invalid!("{op} condition selects past the {n} slices of the axis");
    }
    let picked: Vec<usize> = (0..n.min(keep.len())).filter(|&i| keep[i] != 0).collect();
    out_dims[c.axis.unwrap_or(0)] = picked.len();
    let es = x.dtype().size_bytes();
    let src = x.bytes();
    let mut bytes = Vec::with_capacity(numel(&out_dims)?.saturating_mul(es));
    for o in 0..outer {
        for &i in &picked {
            let start = (o * n + i) * inner;
            bytes.extend_from_slice(&src[start * es..(start + inner) * es]);
        }
    }
    Ok(Tensor::from_bytes(x.dtype(), out_dims, &bytes)?)
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

    /// The `f32` elements.
    fn f(t: &Tensor) -> Vec<f32> {
        t.as_slice::<f32>().unwrap().to_vec()
    }

    #[test]
    fn scatter_elements_orders_and_reduces() {
        let data = t(&[1, 5], &[1., 2., 3., 4., 5.]);
        let idx = ti(&[1, 2], &[1, -2]);
        let upd = t(&[1, 2], &[10., 20.]);
        let attrs = |reduction| ScatterElementsAttrs { axis: 1, reduction };
        assert_eq!(
            f(&scatter_elements(&attrs(ScatterReduction::None), &data, &idx, &upd).unwrap()),
            [1., 10., 3., 20., 5.]
        );
        // Duplicates apply in order.
        let dup = ti(&[1, 2], &[1, 1]);
        assert_eq!(
            f(&scatter_elements(&attrs(ScatterReduction::Add), &data, &dup, &upd).unwrap()),
            [1., 32., 3., 4., 5.]
        );
        assert_eq!(
            f(&scatter_elements(&attrs(ScatterReduction::Mul), &data, &dup, &upd).unwrap()),
            [1., 400., 3., 4., 5.]
        );
        assert_eq!(
            f(&scatter_elements(&attrs(ScatterReduction::Min), &data, &dup, &upd).unwrap()),
            [1., 2., 3., 4., 5.]
        );
        let bad = ti(&[1, 2], &[5, 0]);
        assert!(scatter_elements(&attrs(ScatterReduction::None), &data, &bad, &upd).is_err());
    }

    #[test]
    fn scatter_and_gather_by_tuples() {
        let data = t(&[2, 2], &[1., 2., 3., 4.]);
        // Whole rows.
        let rows = ti(&[1, 1], &[1]);
        let upd = t(&[1, 2], &[7., 8.]);
        let s = ScatterNdAttrs {
            reduction: ScatterReduction::None,
        };
        assert_eq!(f(&scatter_nd(&s, &data, &rows, &upd).unwrap()), [1., 2., 7., 8.]);
        // Single elements, with max.
        let elems_ix = ti(&[2, 2], &[0, 0, 1, 1]);
        let upd = t(&[2], &[0., 9.]);
        let s = ScatterNdAttrs {
            reduction: ScatterReduction::Max,
        };
        assert_eq!(f(&scatter_nd(&s, &data, &elems_ix, &upd).unwrap()), [1., 2., 3., 9.]);
        let g = gather_nd(&GatherNdAttrs { batch_dims: 0 }, &data, &elems_ix).unwrap();
        assert_eq!(f(&g), [1., 4.]);
        // batch_dims 1: row b picks column idx[b].
        let g = gather_nd(&GatherNdAttrs { batch_dims: 1 }, &data, &ti(&[2, 1], &[1, 0])).unwrap();
        assert_eq!((g.dims(), f(&g)), (&[2usize][..], vec![2., 3.]));
        assert!(gather_nd(&GatherNdAttrs { batch_dims: 0 }, &data, &ti(&[1, 2], &[2, 0])).is_err());
    }

    #[test]
    fn compress_selects() {
        let x = t(&[3, 2], &[1., 2., 3., 4., 5., 6.]);
        let cond = Tensor::from_bools(vec![2], &[false, true]).unwrap();
        let y = compress(&CompressAttrs { axis: Some(0) }, &x, &cond).unwrap();
        assert_eq!((y.dims(), f(&y)), (&[1usize, 2][..], vec![3., 4.]));
        let y = compress(&CompressAttrs { axis: None }, &x, &cond).unwrap();
        assert_eq!(f(&y), [2.]);
        let long = Tensor::from_bools(vec![3], &[true, false, true]).unwrap();
        assert!(compress(&CompressAttrs { axis: Some(1) }, &x, &long).is_err());
    }
}
