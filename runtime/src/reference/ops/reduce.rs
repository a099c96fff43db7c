//! Reductions: the reduce ops, arg-max/min, cumulative sums and top-k.
//!
//! Float sums (sum, mean, sum of squares, L1, L2, log-sum, log-sum-exp) add the reduced
//! elements, in row-major order of their positions, with [`tree_sum`]; products, extremes
//! and cumulative sums go sequentially in order. `f16` and `bf16` compute in `f32` and
//! round once per result. Integer sums and products wrap.

use std::cmp::Ordering;

use lightos_ir::infer::{normalize_axis, reduce_axes};
use lightos_ir::shape::{num_elements, strides};
use lightos_ir::{ArgReduceAttrs, CumSumAttrs, DType, Element, ReduceAttrs, ReduceKind, Tensor, TopKAttrs};

use super::index::StridedWalk;
use super::scalar::{elems, make, with_any, with_float, with_int, Float, FloatElem};
use crate::reference::accumulate::{tree_sum, Accum};
use crate::reference::{invalid, EvalError};

/// An integer element type with the wrapping arithmetic the integer kernels use.
pub(super) trait Int: Element + Ord {
    /// The smallest value.
    const MIN: Self;
    /// The largest value.
    const MAX: Self;
    /// Zero.
    const ZERO: Self;
    /// One.
    const ONE: Self;
    /// `self + o`, wrapping.
    fn wadd(self, o: Self) -> Self;
    /// `self * o`, wrapping.
    fn wmul(self, o: Self) -> Self;
    /// `|self|`, wrapping (`MIN` stays `MIN`).
    fn wabs(self) -> Self;
    /// Widens exactly.
    fn to_i128(self) -> i128;
    /// Narrows, keeping the low bits.
    fn from_i128(v: i128) -> Self;
}

macro_rules! int_impl {
    ($($t:ty => $abs:expr),* $(,)?) => {$(
        impl Int for $t {
            const MIN: Self = <$t>::MIN;
            const MAX: Self = <$t>::MAX;
            const ZERO: Self = 0;
            const ONE: Self = 1;
            fn wadd(self, o: Self) -> Self { self.wrapping_add(o) }
            fn wmul(self, o: Self) -> Self { self.wrapping_mul(o) }
            fn wabs(self) -> Self { $abs(self) }
            fn to_i128(self) -> i128 { self as i128 }
            fn from_i128(v: i128) -> Self { v as $t }
        }
    )*};
}

int_impl!(
    i8 => i8::wrapping_abs, i16 => i16::wrapping_abs, i32 => i32::wrapping_abs, i64 => i64::wrapping_abs,
    u8 => std::convert::identity, u16 => std::convert::identity, u32 => std::convert::identity,
    u64 => std::convert::identity,
);

/// Orders values with NaN above everything (NaNs equal among themselves), as NumPy sorts.
pub(super) fn nan_last_cmp<T: PartialOrd>(a: &T, b: &T) -> Ordering {
    a.partial_cmp(b).unwrap_or_else(|| is_nan(a).cmp(&is_nan(b)))
}

/// Whether a value is unordered with itself (a float NaN).
fn is_nan<T: PartialOrd>(v: &T) -> bool {
    v.partial_cmp(v).is_none()
}

/// The dims left after reducing `axes` of `dims`.
fn reduced_dims(dims: &[usize], axes: &[usize], keepdims: bool) -> Vec<usize> {
    let mut out = Vec::with_capacity(dims.len());
    for (i, &d) in dims.iter().enumerate() {
        if !axes.contains(&i) {
            out.push(d);
        } else if keepdims {
            out.push(1);
        }
    }
    out
}

/// Where the groups of a reduction lie: the first element of each group (one per output
/// element, row-major) and the offsets of a group's elements from it (row-major order of
/// the reduced positions).
struct Plan {
    bases: Vec<usize>,
    offsets: Vec<usize>,
}

impl Plan {
    /// The plan of reducing `axes` of `dims` to `outputs` (non-zero) elements. With an
    /// empty input every group is empty; otherwise every product here is bounded by the
    /// input's element count.
    fn new(dims: &[usize], axes: &[usize], outputs: usize) -> Plan {
        if dims.contains(&0) {
            return Plan {
                bases: vec![0; outputs],
                offsets: Vec::new(),
            };
        }
        let st = strides(dims);
        let (mut kd, mut ks, mut rd, mut rs) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (i, (&d, &s)) in dims.iter().zip(&st).enumerate() {
            if axes.contains(&i) {
                rd.push(d);
                rs.push(s);
            } else {
                kd.push(d);
                ks.push(s);
            }
        }
        let bases = StridedWalk::new(&kd, [&ks]).map(|[o]| o).collect();
        let offsets = StridedWalk::new(&rd, [&rs]).map(|[o]| o).collect();
        Plan { bases, offsets }
    }

    /// Applies `f` to each group's elements, converted by `conv`, in output order.
    fn map<T: Copy, U, R>(
        &self,
        x: &[T],
        conv: impl Fn(T) -> U,
        mut f: impl FnMut(&[U]) -> R,
    ) -> Result<Vec<R>, EvalError> {
        let mut buf = Vec::with_capacity(self.offsets.len());
        let mut out = Vec::with_capacity(self.bases.len());
        for &b in &self.bases {
            buf.clear();
            for &o in &self.offsets {
                match x.get(b + o) {
                    Some(&v) => buf.push(conv(v)),
                    None => invalid!("reduction index {} is out of range", b + o),
                }
            }
            out.push(f(&buf));
        }
        Ok(out)
    }
}

/// The output dims and plan of reducing `axes` of `x`; `None` plan when the output is empty.
fn plan(x: &Tensor, axes: &[usize], keepdims: bool) -> Result<(Vec<usize>, Option<Plan>), EvalError> {
    let out = reduced_dims(x.dims(), axes, keepdims);
    let n = num_elements(&out).map_err(lightos_ir::TensorError::from)?;
    let plan = (n > 0).then(|| Plan::new(x.dims(), axes, n));
    Ok((out, plan))
}

/// `Reduce*`: reduces the axes given by the operand (or all, or none, by ONNX's rules).
pub(crate) fn reduce(r: &ReduceAttrs, x: &Tensor, axes: Option<&Tensor>) -> Result<Tensor, EvalError> {
    let given = match axes {
        Some(a) => match a.to_i64_vec() {
            Some(v) => Some(v),
            None => invalid!("reduce axes must be integers, got {}", a.dtype()),
        },
        None => None,
    };
    let has_axes = given.is_some();
    let Some(axes) = reduce_axes(r, x.dims().len(), given, has_axes)? else {
        invalid!("reduce axes are unknown");
    };
    let (dims, plan) = plan(x, &axes, r.keepdims)?;
    let unsupported = || EvalError::UnsupportedDType {
        op: format!("Reduce{:?}", r.kind),
        dtype: x.dtype(),
    };
    if x.dtype() == DType::Bool {
        return reduce_bool(r.kind, x, dims, plan).ok_or_else(unsupported)?;
    }
    with_float!(x.dtype(), T => {
        let data = match &plan {
            Some(p) => p.map(elems::<T>(x)?, T::widen, |g| T::narrow(float_group(r.kind, g)))?,
            None => Vec::new(),
        };
        make(x.dtype(), dims, data)
    }, _ => with_int!(x.dtype(), T => {
        if matches!(r.kind, ReduceKind::L2 | ReduceKind::LogSum | ReduceKind::LogSumExp) {
            return Err(unsupported());
        }
        let data = match &plan {
            Some(p) => p.map(elems::<T>(x)?, |v| v, |g| int_group(r.kind, g))?,
            None => Vec::new(),
        };
        make(x.dtype(), dims, data)
    }, _ => Err(unsupported())))
}

/// Reduces one group of float elements (in the compute type).
fn float_group<C: Float>(kind: ReduceKind, g: &[C]) -> C {
    let inf = C::from_f64(f64::INFINITY);
    match kind {
        ReduceKind::Sum => tree_sum(g.iter().copied()),
        ReduceKind::Mean => tree_sum(g.iter().copied()) / C::from_f64(g.len() as f64),
        ReduceKind::SumSquare => tree_sum(g.iter().map(|&v| v * v)),
        ReduceKind::L1 => tree_sum(g.iter().map(|&v| v.abs())),
        ReduceKind::L2 => tree_sum(g.iter().map(|&v| v * v)).sqrt(),
        ReduceKind::LogSum if g.is_empty() => -inf,
        ReduceKind::LogSum => tree_sum(g.iter().copied()).ln(),
        ReduceKind::LogSumExp => log_sum_exp(g),
        ReduceKind::Prod => g.iter().fold(C::ONE, |acc, &v| acc * v),
        ReduceKind::Max => extreme(g, true),
        ReduceKind::Min => extreme(g, false),
    }
}

/// `m + ln(sum e^(x - m))` with `m` the largest finite element (NaN propagates); with no
/// finite element the shift is 0, so an infinity gives the exact result. Empty: `-inf`.
fn log_sum_exp<C: Float>(g: &[C]) -> C {
    let inf = C::from_f64(f64::INFINITY);
    if g.is_empty() {
        return -inf;
    }
    let mut m = -inf;
    for &v in g {
        if v.is_nan() {
            return v;
        }
        if v.abs() < inf && v > m {
            m = v;
        }
    }
    if m == -inf {
        m = C::ZERO;
    }
    tree_sum(g.iter().map(|&v| (v - m).exp())).ln() + m
}

/// The largest (`max`) or smallest element, in order; NaN propagates; empty: `∓inf`.
fn extreme<C: Float>(g: &[C], max: bool) -> C {
    let inf = C::from_f64(f64::INFINITY);
    let mut acc = if max { -inf } else { inf };
    for &v in g {
        if v.is_nan() {
            return v;
        }
        if (max && v > acc) || (!max && v < acc) {
            acc = v;
        }
    }
    acc
}

/// Reduces one group of integers (wrapping); `kind` is not a log or L2 reduction.
fn int_group<T: Int>(kind: ReduceKind, g: &[T]) -> T {
    let it = g.iter().copied();
    match kind {
        ReduceKind::Sum => it.fold(T::ZERO, T::wadd),
        ReduceKind::Mean => {
            let sum = it.fold(T::ZERO, T::wadd).to_i128();
            T::from_i128(sum.checked_div(g.len() as i128).unwrap_or(0))
        }
        ReduceKind::SumSquare => it.fold(T::ZERO, |a, v| a.wadd(v.wmul(v))),
        ReduceKind::L1 => it.fold(T::ZERO, |a, v| a.wadd(v.wabs())),
        ReduceKind::Prod => it.fold(T::ONE, T::wmul),
        ReduceKind::Max => it.fold(T::MIN, Ord::max),
        ReduceKind::Min => it.fold(T::MAX, Ord::min),
        ReduceKind::L2 | ReduceKind::LogSum | ReduceKind::LogSumExp => T::ZERO,
    }
}

/// Bool max (any) and min (all); `None` for other kinds.
fn reduce_bool(
    kind: ReduceKind,
    x: &Tensor,
    dims: Vec<usize>,
    plan: Option<Plan>,
) -> Option<Result<Tensor, EvalError>> {
    let max = match kind {
        ReduceKind::Max => true,
        ReduceKind::Min => false,
        _ => return None,
    };
    let run = || {
        let data = match &plan {
            Some(p) => {
                let init = u8::from(!max);
                let f = |g: &[u8]| {
                    if max {
                        g.iter().fold(init, |a, &v| a | v)
                    } else {
                        g.iter().fold(init, |a, &v| a & v)
                    }
                };
                p.map(elems::<u8>(x)?, |v| u8::from(v != 0), f)?
            }
            None => Vec::new(),
        };
        make(DType::Bool, dims, data)
    };
    Some(run())
}

/// `ArgMax` / `ArgMin` along one axis, as `i64`: the first (or last) extreme index; a NaN
/// counts as the extreme of both (NumPy's rule).
pub(crate) fn arg_reduce(a: &ArgReduceAttrs, x: &Tensor) -> Result<Tensor, EvalError> {
    if x.dtype().is_narrow_float() {
        // Their byte codes do not order like their values.
        return Err(EvalError::UnsupportedDType {
            op: if a.max { "arg_max" } else { "arg_min" }.into(),
            dtype: x.dtype(),
        });
    }
    let rank = x.dims().len();
    if rank == 0 {
        return Ok(Tensor::scalar(0i64));
    }
    if a.axis >= rank {
        invalid!("arg reduce axis {} is out of range for rank {rank}", a.axis);
    }
    if x.dims()[a.axis] == 0 {
        invalid!("arg reduce over an empty axis {} of {:?}", a.axis, x.dims());
    }
    let (dims, plan) = plan(x, &[a.axis], a.keepdims)?;
    let data: Vec<i64> = match plan {
        Some(p) => {
            with_any!(x.dtype(), T => p.map(elems::<T>(x)?, |v| v, |g| arg_index(g, a.max, a.select_last_index))?)
        }
        None => Vec::new(),
    };
    Ok(Tensor::from_vec(dims, data)?)
}

/// The index of the extreme of `g` (non-empty).
fn arg_index<T: PartialOrd + Copy>(g: &[T], max: bool, last: bool) -> i64 {
    let order: Vec<usize> = if last {
        (0..g.len()).rev().collect()
    } else {
        (0..g.len()).collect()
    };
    if let Some(&i) = order.iter().find(|&&i| is_nan(&g[i])) {
        return i as i64;
    }
    let mut best = order[0];
    for &i in &order[1..] {
        let c = nan_last_cmp(&g[i], &g[best]);
        if (max && c == Ordering::Greater) || (!max && c == Ordering::Less) {
            best = i;
        }
    }
    best as i64
}

/// The `(outer, n, inner)` split of `dims` around `axis` (a scalar counts as `[1]`).
fn split_at_axis(dims: &[usize], axis: usize) -> (usize, usize, usize) {
    if dims.is_empty() {
        return (1, 1, 1);
    }
    let outer = dims[..axis].iter().product();
    let inner = dims[axis + 1..].iter().product();
    (outer, dims[axis], inner)
}

/// Reads a one-element integer operand (`what` names it in errors).
fn one_int(t: &Tensor, what: &str) -> Result<i64, EvalError> {
    match t.to_i64_vec().as_deref() {
        Some(&[v]) => Ok(v),
        _ => invalid!("{what} must be one integer, got {t:?}"),
    }
}

/// `CumSum` along the axis operand, sequentially in order (from the end when `reverse`),
/// leaving out each element itself when `exclusive`.
pub(crate) fn cum_sum(c: &CumSumAttrs, x: &Tensor, axis: &Tensor) -> Result<Tensor, EvalError> {
    let axis = normalize_axis(one_int(axis, "cum_sum axis")?, x.dims().len())?;
    if x.is_empty() {
        return Ok(x.clone());
    }
    let lines = split_at_axis(x.dims(), axis);
    let dims = x.dims().to_vec();
    with_float!(x.dtype(), T => {
        let data = scan(elems::<T>(x)?, lines, c, <T as FloatElem>::C::ZERO, |a, v: T| a + v.widen(), T::narrow);
        make(x.dtype(), dims, data)
    }, _ => with_int!(x.dtype(), T => {
        let data = scan(elems::<T>(x)?, lines, c, T::ZERO, T::wadd, |a| a);
        make(x.dtype(), dims, data)
    }, _ => Err(EvalError::UnsupportedDType { op: "CumSum".into(), dtype: x.dtype() })))
}

/// `CumProd` along the axis operand, sequentially in order from one (from the end when
/// `reverse`), leaving out each element itself when `exclusive`. Floats multiply in the
/// compute type (`f16` and `bf16` in `f32`, rounding each stored value once); integers
/// wrap.
pub(crate) fn cum_prod(c: &CumSumAttrs, x: &Tensor, axis: &Tensor) -> Result<Tensor, EvalError> {
    let axis = normalize_axis(one_int(axis, "cum_prod axis")?, x.dims().len())?;
    if x.is_empty() {
        return Ok(x.clone());
    }
    let lines = split_at_axis(x.dims(), axis);
    let dims = x.dims().to_vec();
    with_float!(x.dtype(), T => {
        let data = scan(elems::<T>(x)?, lines, c, <<T as FloatElem>::C as Float>::ONE, |a, v: T| a * v.widen(), T::narrow);
        make(x.dtype(), dims, data)
    }, _ => with_int!(x.dtype(), T => {
        let data = scan(elems::<T>(x)?, lines, c, T::ONE, T::wmul, |a| a);
        make(x.dtype(), dims, data)
    }, _ => Err(EvalError::UnsupportedDType { op: "CumProd".into(), dtype: x.dtype() })))
}

/// The running sums (or products, by `add`) of each line of `x` split as
/// `(outer, n, inner)`, starting from `zero`.
fn scan<T: Copy, A: Copy>(
    x: &[T],
    (outer, n, inner): (usize, usize, usize),
    c: &CumSumAttrs,
    zero: A,
    add: impl Fn(A, T) -> A,
    store: impl Fn(A) -> T,
) -> Vec<T> {
    let mut out = x.to_vec();
    for o in 0..outer {
        for i in 0..inner {
            let mut acc = zero;
            for s in 0..n {
                let k = if c.reverse { n - 1 - s } else { s };
                let at = (o * n + k) * inner + i;
                if c.exclusive {
                    out[at] = store(acc);
                    acc = add(acc, x[at]);
                } else {
                    acc = add(acc, x[at]);
                    out[at] = store(acc);
                }
            }
        }
    }
    out
}

/// `TopK`: the `k` largest (or smallest) elements along the axis, sorted, with their `i64`
/// indices; ties keep the smaller index first and NaN ranks above every number.
pub(crate) fn top_k(t: &TopKAttrs, x: &Tensor, k: &Tensor) -> Result<(Tensor, Tensor), EvalError> {
    if x.dtype().is_narrow_float() {
        // Their byte codes do not order like their values.
        return Err(EvalError::UnsupportedDType {
            op: "top_k".into(),
            dtype: x.dtype(),
        });
    }
    let dims = x.dims();
    if t.axis >= dims.len() {
        invalid!("top_k axis {} is out of range for rank {}", t.axis, dims.len());
    }
    let k = one_int(k, "top_k k")?;
    let n = dims[t.axis];
    if k < 0 || k as u64 > n as u64 {
        invalid!("top_k k = {k} is out of range for an axis of size {n}");
    }
    let k = k as usize;
    let mut out_dims = dims.to_vec();
    out_dims[t.axis] = k;
    if x.is_empty() || k == 0 {
        let values = Tensor::zeros(x.dtype(), out_dims.clone())?;
        return Ok((values, Tensor::zeros(DType::I64, out_dims)?));
    }
    let (outer, _, inner) = split_at_axis(dims, t.axis);
    let mut picks = Vec::with_capacity(outer * inner * k);
    with_any!(x.dtype(), T => top_k_lines(elems::<T>(x)?, (outer, n, inner), k, t.largest, &mut picks));
    let es = x.dtype().size_bytes();
    let mut bytes = Vec::with_capacity(picks.len() * es);
    let mut indices = Vec::with_capacity(picks.len());
    for &(src, index) in &picks {
        bytes.extend_from_slice(&x.bytes()[src * es..(src + 1) * es]);
        indices.push(index as i64);
    }
    let values = Tensor::from_bytes(x.dtype(), out_dims.clone(), &bytes)?;
    Ok((values, Tensor::from_vec(out_dims, indices)?))
}

/// Appends, in output order, the `(source element, index along the axis)` of each pick.
fn top_k_lines<T: PartialOrd + Copy>(
    x: &[T],
    (outer, n, inner): (usize, usize, usize),
    k: usize,
    largest: bool,
    picks: &mut Vec<(usize, usize)>,
) {
    let mut lines = vec![Vec::new(); inner];
    for o in 0..outer {
        for (i, line) in lines.iter_mut().enumerate() {
            let at = |j: usize| (o * n + j) * inner + i;
            let mut order: Vec<usize> = (0..n).collect();
            // A stable sort keeps the smaller index first among ties.
            if largest {
                order.sort_by(|&a, &b| nan_last_cmp(&x[at(b)], &x[at(a)]));
            } else {
                order.sort_by(|&a, &b| nan_last_cmp(&x[at(a)], &x[at(b)]));
            }
            order.truncate(k);
            *line = order;
        }
        for j in 0..k {
            for (i, line) in lines.iter().enumerate() {
                picks.push(((o * n + line[j]) * inner + i, line[j]));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use half::f16;

    fn attrs(kind: ReduceKind, keepdims: bool) -> ReduceAttrs {
        ReduceAttrs {
            kind,
            keepdims,
            noop_with_empty_axes: false,
        }
    }

    fn f32s(t: &Tensor) -> Vec<f32> {
        t.as_slice::<f32>().unwrap().to_vec()
    }

    fn x23() -> Tensor {
        Tensor::from_vec(vec![2, 3], vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap()
    }

    fn axes(v: &[i64]) -> Tensor {
        Tensor::from_vec(vec![v.len()], v.to_vec()).unwrap()
    }

    #[test]
    fn reduce_float_kinds() {
        let x = x23();
        let a1 = axes(&[1]);
        let run = |k, keep| reduce(&attrs(k, keep), &x, Some(&a1)).unwrap();
        assert_eq!(f32s(&run(ReduceKind::Sum, false)), vec![6.0, 15.0]);
        assert_eq!(run(ReduceKind::Sum, true).dims(), &[2, 1]);
        assert_eq!(f32s(&run(ReduceKind::Mean, false)), vec![2.0, 5.0]);
        assert_eq!(f32s(&run(ReduceKind::Prod, false)), vec![6.0, 120.0]);
        assert_eq!(f32s(&run(ReduceKind::Max, false)), vec![3.0, 6.0]);
        assert_eq!(f32s(&run(ReduceKind::Min, false)), vec![1.0, 4.0]);
        assert_eq!(f32s(&run(ReduceKind::SumSquare, false)), vec![14.0, 77.0]);
        assert_eq!(f32s(&run(ReduceKind::L1, false)), vec![6.0, 15.0]);
        let all = reduce(&attrs(ReduceKind::Sum, false), &x, None).unwrap();
        assert_eq!(all.dims(), &[] as &[usize]);
        assert_eq!(f32s(&all), vec![21.0]);
        let cols = reduce(&attrs(ReduceKind::Sum, true), &x, Some(&axes(&[-2]))).unwrap();
        assert_eq!(cols.dims(), &[1, 3]);
        assert_eq!(f32s(&cols), vec![5.0, 7.0, 9.0]);
    }

    #[test]
    fn reduce_l2_and_nan() {
        let x = Tensor::from_vec(vec![2, 2], vec![3.0f32, 4.0, f32::NAN, 1.0]).unwrap();
        let a1 = axes(&[1]);
        let l2 = reduce(&attrs(ReduceKind::L2, false), &x, Some(&a1)).unwrap();
        assert_eq!(f32s(&l2)[0], 5.0);
        let mx = f32s(&reduce(&attrs(ReduceKind::Max, false), &x, Some(&a1)).unwrap());
        assert_eq!(mx[0], 4.0);
        assert!(mx[1].is_nan());
    }

    #[test]
    fn reduce_empty_axes_and_noop() {
        let x = x23();
        let empty = Tensor::from_vec(vec![0], Vec::<i64>::new()).unwrap();
        let all = reduce(&attrs(ReduceKind::Sum, false), &x, Some(&empty)).unwrap();
        assert_eq!(f32s(&all), vec![21.0]);
        let noop = ReduceAttrs {
            noop_with_empty_axes: true,
            ..attrs(ReduceKind::Sum, false)
        };
        assert_eq!(reduce(&noop, &x, Some(&empty)).unwrap(), x);
        assert_eq!(reduce(&noop, &x, None).unwrap(), x);
    }

    #[test]
    fn reduce_empty_set() {
        let x = Tensor::from_vec(vec![2, 0, 4], Vec::<f32>::new()).unwrap();
        let a = axes(&[1]);
        let run = |k| f32s(&reduce(&attrs(k, true), &x, Some(&a)).unwrap());
        assert_eq!(run(ReduceKind::Sum), vec![0.0; 8]);
        assert_eq!(run(ReduceKind::Prod), vec![1.0; 8]);
        assert_eq!(run(ReduceKind::Max), vec![f32::NEG_INFINITY; 8]);
        assert_eq!(run(ReduceKind::Min), vec![f32::INFINITY; 8]);
        assert_eq!(run(ReduceKind::L2), vec![0.0; 8]);
        assert_eq!(run(ReduceKind::LogSum), vec![f32::NEG_INFINITY; 8]);
        assert_eq!(run(ReduceKind::LogSumExp), vec![f32::NEG_INFINITY; 8]);
        let xi = Tensor::from_vec(vec![2, 0], Vec::<i32>::new()).unwrap();
        let mx = reduce(&attrs(ReduceKind::Max, false), &xi, Some(&axes(&[1]))).unwrap();
        assert_eq!(mx.as_slice::<i32>().unwrap(), &[i32::MIN, i32::MIN]);
    }

    #[test]
    fn reduce_ints_wrap() {
        let x = Tensor::from_vec(vec![3], vec![100i8, 100, -7]).unwrap();
        let run = |k| reduce(&attrs(k, false), &x, None).unwrap().as_slice::<i8>().unwrap()[0];
        assert_eq!(run(ReduceKind::Sum), (193i32 as i8));
        assert_eq!(run(ReduceKind::Max), 100);
        assert_eq!(run(ReduceKind::Min), -7);
        assert_eq!(run(ReduceKind::L1), (207i32 as i8));
        let m = Tensor::from_vec(vec![2], vec![-7i64, 2]).unwrap();
        let mean = reduce(&attrs(ReduceKind::Mean, false), &m, None).unwrap();
        assert_eq!(mean.as_slice::<i64>().unwrap(), &[-2]);
        assert!(reduce(&attrs(ReduceKind::LogSum, false), &m, None).is_err());
    }

    #[test]
    fn reduce_bool_and_f16() {
        let b = Tensor::from_bools(vec![2, 2], &[true, false, true, true]).unwrap();
        let a = axes(&[1]);
        let mx = reduce(&attrs(ReduceKind::Max, false), &b, Some(&a)).unwrap();
        assert_eq!(mx.as_bool_bytes().unwrap(), &[1, 1]);
        let mn = reduce(&attrs(ReduceKind::Min, false), &b, Some(&a)).unwrap();
        assert_eq!(mn.as_bool_bytes().unwrap(), &[0, 1]);
        let h = Tensor::from_vec(vec![2], vec![f16::from_f32(1.5), f16::from_f32(2.0)]).unwrap();
        let s = reduce(&attrs(ReduceKind::Mean, false), &h, None).unwrap();
        assert_eq!(s.as_slice::<f16>().unwrap(), &[f16::from_f32(1.75)]);
    }

    #[test]
    fn arg_max_min() {
        let x = Tensor::from_vec(vec![2, 3], vec![1.0f32, 3.0, 3.0, 2.0, f32::NAN, 0.0]).unwrap();
        let am = |max, last| ArgReduceAttrs {
            max,
            axis: 1,
            keepdims: false,
            select_last_index: last,
        };
        let get = |t: Tensor| t.as_slice::<i64>().unwrap().to_vec();
        assert_eq!(get(arg_reduce(&am(true, false), &x).unwrap()), vec![1, 1]);
        assert_eq!(get(arg_reduce(&am(true, true), &x).unwrap()), vec![2, 1]);
        assert_eq!(get(arg_reduce(&am(false, false), &x).unwrap()), vec![0, 1]);
        let keep = ArgReduceAttrs {
            axis: 0,
            keepdims: true,
            ..am(false, false)
        };
        let r = arg_reduce(&keep, &Tensor::from_vec(vec![2, 2], vec![5i32, 1, 2, 9]).unwrap()).unwrap();
        assert_eq!(r.dims(), &[1, 2]);
        assert_eq!(get(r), vec![1, 0]);
    }

    #[test]
    fn cum_sums() {
        let x = x23();
        let ax = Tensor::scalar(1i64);
        let run = |exclusive, reverse| f32s(&cum_sum(&CumSumAttrs { exclusive, reverse }, &x, &ax).unwrap());
        assert_eq!(run(false, false), vec![1.0, 3.0, 6.0, 4.0, 9.0, 15.0]);
        assert_eq!(run(true, false), vec![0.0, 1.0, 3.0, 0.0, 4.0, 9.0]);
        assert_eq!(run(false, true), vec![6.0, 5.0, 3.0, 15.0, 11.0, 6.0]);
        assert_eq!(run(true, true), vec![5.0, 3.0, 0.0, 11.0, 6.0, 0.0]);
        let xi = Tensor::from_vec(vec![2, 2], vec![1i32, 2, 3, 4]).unwrap();
        let c = cum_sum(
            &CumSumAttrs {
                exclusive: false,
                reverse: false,
            },
            &xi,
            &axes(&[-2]),
        )
        .unwrap();
        assert_eq!(c.as_slice::<i32>().unwrap(), &[1, 2, 4, 6]);
    }

    #[test]
    fn cum_prods() {
        // x23 is [[1, 2, 3], [4, 5, 6]].
        let x = x23();
        let ax = Tensor::scalar(1i64);
        let run = |exclusive, reverse| f32s(&cum_prod(&CumSumAttrs { exclusive, reverse }, &x, &ax).unwrap());
        assert_eq!(run(false, false), vec![1.0, 2.0, 6.0, 4.0, 20.0, 120.0]);
        assert_eq!(run(true, false), vec![1.0, 1.0, 2.0, 1.0, 4.0, 20.0]);
        assert_eq!(run(false, true), vec![6.0, 6.0, 3.0, 120.0, 30.0, 6.0]);
        assert_eq!(run(true, true), vec![6.0, 3.0, 1.0, 30.0, 6.0, 1.0]);
        let xi = Tensor::from_vec(vec![2], vec![i8::MAX, 2]).unwrap();
        let c = cum_prod(
            &CumSumAttrs {
                exclusive: false,
                reverse: false,
            },
            &xi,
            &axes(&[0]),
        )
        .unwrap();
        assert_eq!(c.as_slice::<i8>().unwrap(), &[127, -2]);
    }

    #[test]
    fn top_k_values_and_ties() {
        let x = Tensor::from_vec(vec![2, 4], vec![1.0f32, 3.0, 3.0, 2.0, f32::NAN, 0.0, 5.0, -1.0]).unwrap();
        let k = axes(&[2]);
        let attrs = |largest| TopKAttrs {
            axis: 1,
            largest,
            sorted: true,
        };
        let (v, i) = top_k(&attrs(true), &x, &k).unwrap();
        assert_eq!(v.dims(), &[2, 2]);
        let v = f32s(&v);
        assert_eq!(&v[..2], &[3.0, 3.0]);
        assert!(v[2].is_nan());
        assert_eq!(v[3], 5.0);
        assert_eq!(i.as_slice::<i64>().unwrap(), &[1, 2, 0, 2]);
        let (v, i) = top_k(&attrs(false), &x, &k).unwrap();
        assert_eq!(f32s(&v), vec![1.0, 2.0, -1.0, 0.0]);
        assert_eq!(i.as_slice::<i64>().unwrap(), &[0, 3, 3, 1]);
        let col = TopKAttrs {
            axis: 0,
            largest: true,
            sorted: true,
        };
        let (v, i) = top_k(&col, &x23(), &axes(&[1])).unwrap();
        assert_eq!(f32s(&v), vec![4.0, 5.0, 6.0]);
        assert_eq!(i.as_slice::<i64>().unwrap(), &[1, 1, 1]);
        assert!(top_k(&attrs(true), &x, &axes(&[5])).is_err());
    }

    #[test]
    fn empty_inputs_with_huge_dims() {
        let big = 1usize << 40;
        let x = Tensor::zeros(DType::F32, vec![2, 0, big, big]).unwrap();
        let s = reduce(&attrs(ReduceKind::Sum, false), &x, Some(&axes(&[1, 2, 3]))).unwrap();
        assert_eq!(f32s(&s), vec![0.0, 0.0]);
        let c = cum_sum(
            &CumSumAttrs {
                exclusive: false,
                reverse: false,
            },
            &x,
            &Tensor::scalar(2i64),
        );
        assert_eq!(c.unwrap().dims(), x.dims());
        let (v, _) = top_k(
            &TopKAttrs {
                axis: 1,
                largest: true,
                sorted: true,
            },
            &x,
            &axes(&[0]),
        )
        .unwrap();
        assert_eq!(v.dims(), x.dims());
        assert!(reduce(&attrs(ReduceKind::Sum, true), &x, Some(&axes(&[1]))).is_err());
    }
}
