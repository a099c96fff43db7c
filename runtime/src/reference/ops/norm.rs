//! Normalization ops and softmax; floats only, `f16` and `bf16` compute in `f32` and
//! round once per output element (`f64` computes in `f64`).
//!
//! Orders of the numerical contract (`n` is the number of normalized elements, `eps` the
//! attribute converted to the compute type; every sum is a [`tree_sum`] in element order):
//!
//! - Statistics (instance and layer norm): `mean = sum(x) / n`, `d = x - mean`,
//!   `var = sum(d * d) / n`, `inv = 1 / sqrt(var + eps)`; then
//!   `y = (d * inv) * scale + bias`.
//! - Batch norm: `inv = 1 / sqrt(var + eps)` per channel; `y = ((x - mean) * inv) * scale +
//!   bias`.
//! - RMS norm: `inv = 1 / sqrt(sum(x * x) / n + eps)`; `y = (x * inv) * scale` (the ONNX
//!   function body multiplies by the reciprocal).
//! - Lp norm: `norm = sum(|x|)` (p = 1) or `sqrt(sum(x * x))` (p = 2); `y = x / norm`, and
//!   `0` where `norm == 0`.
//! - Softmax: `m = max(x)` (NaN wins), `e = exp(x - m)`, `s = sum(e)`, `y = e / s`;
//!   log-softmax: `y = (x - m) - ln(s)`; hardmax: 1 at the first maximum (the first NaN if
//!   any), else 0.

use lightos_ir::op::{LayerNormAttrs, LpNormAttrs, NormAttrs, SoftmaxAttrs, SoftmaxKind};
use lightos_ir::{DType, Tensor};

use super::index::{broadcast_strides, StridedWalk};
use super::scalar::{elems, with_float, Float, FloatElem};
use crate::reference::accumulate::{tree_sum, Accum};
use crate::reference::{invalid, EvalError};

/// The error for a dtype `op` has no kernel for.
fn unsupported(op: &str, dtype: DType) -> EvalError {
    EvalError::UnsupportedDType { op: op.into(), dtype }
}

/// The element count of `dims`, or an error when it overflows.
fn numel(dims: &[usize]) -> Result<usize, EvalError> {
    match dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d)) {
        Some(n) => Ok(n),
        None => invalid!("shape {dims:?} overflows"),
    }
}

/// A tensor seen as `outer x len x inner`: `outer * inner` lines of `len` elements each,
/// consecutive elements of a line `inner` apart.
#[derive(Copy, Clone, Debug)]
struct Lines {
    /// Product of the axes before the line's axes.
    outer: usize,
    /// Elements per line.
    len: usize,
    /// Product of the axes after the line's axes.
    inner: usize,
}

impl Lines {
    /// Lines along the single axis `axis`.
    fn along(dims: &[usize], axis: usize) -> Result<Lines, EvalError> {
        if axis >= dims.len() {
            invalid!("axis {axis} is out of range for shape {dims:?}");
        }
        Ok(Lines {
            outer: numel(&dims[..axis])?,
            len: dims[axis],
            inner: numel(&dims[axis + 1..])?,
        })
    }

    /// Lines over all axes from `axis` on, flattened into one.
    fn trailing(dims: &[usize], axis: usize) -> Result<Lines, EvalError> {
        if axis > dims.len() {
            invalid!("axis {axis} is out of range for shape {dims:?}");
        }
        Ok(Lines {
            outer: numel(&dims[..axis])?,
            len: numel(&dims[axis..])?,
            inner: 1,
        })
    }

    /// Number of lines.
    fn count(&self) -> usize {
        self.outer * self.inner
    }

    /// Flat index of element `j` of line `l`.
    fn at(&self, l: usize, j: usize) -> usize {
        ((l / self.inner) * self.len + j) * self.inner + l % self.inner
    }
}

/// Maps every line of `x` through `f(line index, input values, output values)` in the
/// compute type and returns the results in `x`'s dtype and shape.
fn map_lines<E: FloatElem>(
    x: &Tensor,
    lines: Lines,
    mut f: impl FnMut(usize, &[E::C], &mut [E::C]),
) -> Result<Tensor, EvalError> {
    let xv = elems::<E>(x)?;
    if xv.is_empty() {
        return Ok(x.clone());
    }
    let mut out = vec![E::narrow(<E::C as Accum>::ZERO); xv.len()];
    let mut input = vec![<E::C as Accum>::ZERO; lines.len];
    let mut result = input.clone();
    for l in 0..lines.count() {
        for (j, v) in input.iter_mut().enumerate() {
            *v = xv[lines.at(l, j)].widen();
        }
        f(l, &input, &mut result);
        for (j, &r) in result.iter().enumerate() {
            out[lines.at(l, j)] = E::narrow(r);
        }
    }
    Ok(Tensor::from_vec(x.dims().to_vec(), out)?)
}

/// The values of a float tensor in the compute type `C`.
fn values_as<C: Float>(t: &Tensor, op: &str) -> Result<Vec<C>, EvalError> {
    let dt = t.dtype();
    with_float!(dt, P => Ok(elems::<P>(t)?.iter().map(|&v| C::from_f64(v.widen().to_f64())).collect()),
        _ => Err(unsupported(op, dt)))
}

/// A per-channel parameter: `channels` values in the compute type.
fn per_channel<C: Float>(t: &Tensor, channels: usize, what: &str, op: &str) -> Result<Vec<C>, EvalError> {
    if t.len() != channels {
        invalid!("{op} {what} has {} elements for {channels} channels", t.len());
    }
    values_as(t, op)
}

/// The values of `t` broadcast one way to `target` (row-major), in the compute type.
fn expand_to<C: Float>(t: &Tensor, target: &[usize], op: &str) -> Result<Vec<C>, EvalError> {
    let mut dims = t.dims();
    while dims.len() > target.len() && dims[0] == 1 {
        dims = &dims[1..];
    }
    let lead = target.len().checked_sub(dims.len());
    let fits = lead.is_some_and(|lead| dims.iter().zip(&target[lead..]).all(|(&d, &g)| d == 1 || d == g));
    if !fits {
        invalid!(
            "{op} parameter of shape {:?} does not broadcast to {target:?}",
            t.dims()
        );
    }
    let values = values_as::<C>(t, op)?;
    let strides = broadcast_strides(dims, target);
    Ok(StridedWalk::new(target, [&strides]).map(|[i]| values[i]).collect())
}

/// The compute-type count `n` of a normalization.
fn count<C: Float>(n: usize) -> C {
    C::from_f64(n as f64)
}

/// Writes `(x - mean) * inv` of one line to `out` (see the module docs for the order)
/// and returns `mean` and `inv`.
fn standardize<C: Float>(x: &[C], eps: C, out: &mut [C]) -> (C, C) {
    let n = count::<C>(x.len());
    let mean = tree_sum(x.iter().copied()) / n;
    for (o, &v) in out.iter_mut().zip(x) {
        *o = v - mean;
    }
    let var = tree_sum(out.iter().map(|&d| d * d)) / n;
    let inv = C::ONE / (var + eps).sqrt();
    for o in out.iter_mut() {
        *o = *o * inv;
    }
    (mean, inv)
}

/// ONNX `BatchNormalization` in inference mode: `((x - mean) * inv) * scale + bias` per
/// channel (axis 1), `inv = 1 / sqrt(var + eps)`.
pub(crate) fn batch_norm(
    n: &NormAttrs,
    x: &Tensor,
    scale: &Tensor,
    bias: &Tensor,
    mean: &Tensor,
    var: &Tensor,
) -> Result<Tensor, EvalError> {
    let dt = x.dtype();
    with_float!(dt, E => batch_norm_typed::<E>(n, x, [scale, bias, mean, var]),
        _ => Err(unsupported("BatchNormalization", dt)))
}

/// [`batch_norm`] for one element type; `params` are scale, bias, mean and variance.
fn batch_norm_typed<E: FloatElem>(n: &NormAttrs, x: &Tensor, params: [&Tensor; 4]) -> Result<Tensor, EvalError> {
    let dims = x.dims();
    if dims.len() < 2 {
        invalid!("BatchNormalization needs rank 2 or more, got {dims:?}");
    }
    let op = "BatchNormalization";
    let c = dims[1];
    let [scale, bias, mean, var] = params.map(|t| per_channel::<E::C>(t, c, "parameter", op));
    let (scale, bias, mean, var) = (scale?, bias?, mean?, var?);
    let eps = E::C::from_f64(n.epsilon as f64);
    let inv: Vec<E::C> = var.iter().map(|&v| E::C::ONE / (v + eps).sqrt()).collect();
    // Lines of the spatial axes, one per (n, c): line l is channel l % c.
    let lines = Lines::trailing(dims, 2)?;
    map_lines::<E>(x, lines, |l, xs, out| {
        let ch = l % c;
        for (o, &v) in out.iter_mut().zip(xs) {
            *o = ((v - mean[ch]) * inv[ch]) * scale[ch] + bias[ch];
        }
    })
}

/// ONNX `InstanceNormalization`: per `(n, c)` over the spatial axes,
/// `(d * inv) * scale[c] + bias[c]` (see the module docs).
pub(crate) fn instance_norm(n: &NormAttrs, x: &Tensor, scale: &Tensor, bias: &Tensor) -> Result<Tensor, EvalError> {
    let dt = x.dtype();
    with_float!(dt, E => instance_norm_typed::<E>(n, x, scale, bias),
        _ => Err(unsupported("InstanceNormalization", dt)))
}

/// [`instance_norm`] for one element type.
fn instance_norm_typed<E: FloatElem>(
    n: &NormAttrs,
    x: &Tensor,
    scale: &Tensor,
    bias: &Tensor,
) -> Result<Tensor, EvalError> {
    let dims = x.dims();
    if dims.len() < 2 {
        invalid!("InstanceNormalization needs rank 2 or more, got {dims:?}");
    }
    let op = "InstanceNormalization";
    let c = dims[1];
    let scale = per_channel::<E::C>(scale, c, "scale", op)?;
    let bias = per_channel::<E::C>(bias, c, "bias", op)?;
    let eps = E::C::from_f64(n.epsilon as f64);
    map_lines::<E>(x, Lines::trailing(dims, 2)?, |l, xs, out| {
        let ch = l % c;
        standardize(xs, eps, out);
        for o in out.iter_mut() {
            *o = *o * scale[ch] + bias[ch];
        }
    })
}

/// ONNX `LayerNormalization`: over the axes from `n.axis` on, flattened,
/// `(d * inv) * scale + bias`, with `scale` and `bias` broadcast to the normalized shape.
/// With `n.stats`, also the `mean` and `inv` of each line, rounded to f32, shaped like `x`
/// with the normalized axes set to 1.
pub(crate) fn layer_norm(
    n: &LayerNormAttrs,
    x: &Tensor,
    scale: &Tensor,
    bias: Option<&Tensor>,
) -> Result<Vec<Tensor>, EvalError> {
    let dt = x.dtype();
    with_float!(dt, E => layer_norm_typed::<E>(n, x, scale, bias), _ => Err(unsupported("LayerNormalization", dt)))
}

/// [`layer_norm`] for one element type.
fn layer_norm_typed<E: FloatElem>(
    n: &LayerNormAttrs,
    x: &Tensor,
    scale: &Tensor,
    bias: Option<&Tensor>,
) -> Result<Vec<Tensor>, EvalError> {
    let op = "LayerNormalization";
    let lines = Lines::trailing(x.dims(), n.axis)?;
    let normalized = &x.dims()[n.axis..];
    let scale = expand_to::<E::C>(scale, normalized, op)?;
    let bias = bias.map(|b| expand_to::<E::C>(b, normalized, op)).transpose()?;
    let eps = E::C::from_f64(n.epsilon as f64);
    let mut means = vec![0f32; lines.count()];
    let mut invs = vec![0f32; lines.count()];
    let y = map_lines::<E>(x, lines, |l, xs, out| {
        let (mean, inv) = standardize(xs, eps, out);
        means[l] = mean.to_f64() as f32;
        invs[l] = inv.to_f64() as f32;
        for (j, o) in out.iter_mut().enumerate() {
            *o = *o * scale[j];
            if let Some(b) = &bias {
                *o = *o + b[j];
            }
        }
    })?;
    if !n.stats {
        return Ok(vec![y]);
    }
    let mut dims = x.dims().to_vec();
    for d in &mut dims[n.axis..] {
        *d = 1;
    }
    Ok(vec![
        y,
        Tensor::from_vec(dims.clone(), means)?,
        Tensor::from_vec(dims, invs)?,
    ])
}

/// ONNX `RMSNormalization`: over the axes from `n.axis` on, flattened,
/// `(x * inv) * scale` with `inv = 1 / sqrt(sum(x * x) / n + eps)`.
pub(crate) fn rms_norm(n: &NormAttrs, x: &Tensor, scale: &Tensor) -> Result<Tensor, EvalError> {
    let dt = x.dtype();
    with_float!(dt, E => rms_norm_typed::<E>(n, x, scale), _ => Err(unsupported("RMSNormalization", dt)))
}

/// [`rms_norm`] for one element type.
fn rms_norm_typed<E: FloatElem>(n: &NormAttrs, x: &Tensor, scale: &Tensor) -> Result<Tensor, EvalError> {
    let lines = Lines::trailing(x.dims(), n.axis)?;
    let scale = expand_to::<E::C>(scale, &x.dims()[n.axis..], "RMSNormalization")?;
    let eps = E::C::from_f64(n.epsilon as f64);
    map_lines::<E>(x, lines, |_, xs, out| {
        let mean_square = tree_sum(xs.iter().map(|&v| v * v)) / count::<E::C>(xs.len());
        let inv = E::C::ONE / (mean_square + eps).sqrt();
        for ((o, &v), &s) in out.iter_mut().zip(xs).zip(&scale) {
            *o = (v * inv) * s;
        }
    })
}

/// ONNX `LpNormalization` along `n.axis`, `p` 1 or 2; a zero norm gives zeros.
pub(crate) fn lp_norm(n: &LpNormAttrs, x: &Tensor) -> Result<Tensor, EvalError> {
    if n.p != 1 && n.p != 2 {
        invalid!("LpNormalization supports p = 1 or 2, got {}", n.p);
    }
    let dt = x.dtype();
    with_float!(dt, E => lp_norm_typed::<E>(n, x), _ => Err(unsupported("LpNormalization", dt)))
}

/// [`lp_norm`] for one element type.
fn lp_norm_typed<E: FloatElem>(n: &LpNormAttrs, x: &Tensor) -> Result<Tensor, EvalError> {
    let zero = <E::C as Accum>::ZERO;
    map_lines::<E>(x, Lines::along(x.dims(), n.axis)?, |_, xs, out| {
        let norm = if n.p == 1 {
            tree_sum(xs.iter().map(|v| v.abs()))
        } else {
            tree_sum(xs.iter().map(|&v| v * v)).sqrt()
        };
        for (o, &v) in out.iter_mut().zip(xs) {
            *o = if norm == zero { zero } else { v / norm };
        }
    })
}

/// ONNX `Softmax`, `LogSoftmax` and `Hardmax`: along `s.axis`, or with `s.flatten` (before
/// opset 13) over all axes from `s.axis` on as one.
pub(crate) fn softmax(s: &SoftmaxAttrs, x: &Tensor) -> Result<Tensor, EvalError> {
    let dt = x.dtype();
    with_float!(dt, E => softmax_typed::<E>(s, x), _ => Err(unsupported("Softmax", dt)))
}

/// [`softmax`] for one element type.
fn softmax_typed<E: FloatElem>(s: &SoftmaxAttrs, x: &Tensor) -> Result<Tensor, EvalError> {
    let lines = if s.flatten {
        Lines::trailing(x.dims(), s.axis)?
    } else {
        Lines::along(x.dims(), s.axis)?
    };
    map_lines::<E>(x, lines, |_, xs, out| match s.kind {
        SoftmaxKind::Softmax => softmax_line(xs, out),
        SoftmaxKind::LogSoftmax => log_softmax_line(xs, out),
        SoftmaxKind::Hardmax => hardmax_line(xs, out),
    })
}

/// The maximum of a non-empty line, NaN winning.
fn line_max<C: Float>(xs: &[C]) -> C {
    let mut m = xs[0];
    for &v in xs {
        if v.is_nan() {
            return v;
        }
        if v > m {
            m = v;
        }
    }
    m
}

/// `e / sum(e)` with `e = exp(x - max)`.
fn softmax_line<C: Float>(xs: &[C], out: &mut [C]) {
    if xs.is_empty() {
        return;
    }
    let m = line_max(xs);
    for (o, &v) in out.iter_mut().zip(xs) {
        *o = (v - m).exp();
    }
    let sum = tree_sum(out.iter().copied());
    for o in out.iter_mut() {
        *o = *o / sum;
    }
}

/// `(x - max) - ln(sum(exp(x - max)))`.
fn log_softmax_line<C: Float>(xs: &[C], out: &mut [C]) {
    if xs.is_empty() {
        return;
    }
    let m = line_max(xs);
    let log_sum = tree_sum(xs.iter().map(|&v| (v - m).exp())).ln();
    for (o, &v) in out.iter_mut().zip(xs) {
        *o = (v - m) - log_sum;
    }
}

/// 1 at the first maximum (the first NaN if there is one), 0 elsewhere.
fn hardmax_line<C: Float>(xs: &[C], out: &mut [C]) {
    let mut best = 0;
    for (j, &v) in xs.iter().enumerate() {
        if xs[best].is_nan() {
            break;
        }
        if v.is_nan() || v > xs[best] {
            best = j;
        }
    }
    for (j, o) in out.iter_mut().enumerate() {
        *o = if j == best { C::ONE } else { C::ZERO };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An `f32` tensor.
    fn t(dims: &[usize], v: &[f32]) -> Tensor {
        Tensor::from_vec(dims.to_vec(), v.to_vec()).unwrap()
    }

    /// The elements of an `f32` tensor.
    fn f(t: &Tensor) -> Vec<f32> {
        t.as_slice::<f32>().unwrap().to_vec()
    }

    /// Asserts `a` is within a relative 1e-6 of `b`.
    fn close(a: &[f32], b: &[f64]) {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            assert!((*x as f64 - y).abs() <= 1e-6 * (1.0 + y.abs()), "{a:?} vs {b:?}");
        }
    }

    /// Softmax attributes.
    fn sm(kind: SoftmaxKind, axis: usize, flatten: bool) -> SoftmaxAttrs {
        SoftmaxAttrs { kind, axis, flatten }
    }

    #[test]
    fn softmax_rows_sum_to_one() {
        let x = t(&[2, 3], &[1., 2., 3., -1., 0., 1000.]);
        let y = f(&softmax(&sm(SoftmaxKind::Softmax, 1, false), &x).unwrap());
        let e: Vec<f64> = [1f64, 2., 3.].iter().map(|v| (v - 3.0).exp()).collect();
        let s: f64 = e.iter().sum();
        close(&y[..3], &[e[0] / s, e[1] / s, e[2] / s]);
        close(&y[3..], &[0., 0., 1.]);
        assert!((y[..3].iter().sum::<f32>() - 1.0).abs() < 1e-6);
        let ly = f(&softmax(&sm(SoftmaxKind::LogSoftmax, 1, false), &x).unwrap());
        close(&ly[..3], &[1. - 3. - s.ln(), 2. - 3. - s.ln(), -s.ln()]);
        // Along axis 0: columns.
        let y = f(&softmax(&sm(SoftmaxKind::Softmax, 0, false), &t(&[2, 2], &[0., 5., 0., 5.])).unwrap());
        assert_eq!(y, vec![0.5, 0.5, 0.5, 0.5]);
    }

    #[test]
    fn softmax_flatten_and_hardmax() {
        let x = t(&[2, 2, 2], &[0., 0., 0., 0., 1., 1., 1., 1.]);
        let y = f(&softmax(&sm(SoftmaxKind::Softmax, 1, true), &x).unwrap());
        assert_eq!(y, vec![0.25; 8]);
        let y = f(&softmax(&sm(SoftmaxKind::Softmax, 0, true), &x).unwrap());
        assert!((y.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        let h = t(&[2, 3], &[1., 3., 3., 2., 0., 1.]);
        let y = f(&softmax(&sm(SoftmaxKind::Hardmax, 1, false), &h).unwrap());
        assert_eq!(y, vec![0., 1., 0., 1., 0., 0.]);
        assert!(softmax(&sm(SoftmaxKind::Softmax, 2, false), &h).is_err());
    }

    #[test]
    fn layer_norm_matches_manual() {
        let xs = [1f32, 2., 4., 7., -1., 0.5, 3., 3.];
        let x = t(&[2, 4], &xs);
        let scale = t(&[4], &[1., 2., 0.5, -1.]);
        let bias = t(&[1], &[0.25]);
        let n = LayerNormAttrs {
            axis: 1,
            epsilon: 1e-5,
            stats: false,
        };
        let y = f(&layer_norm(&n, &x, &scale, Some(&bias)).unwrap()[0]);
        let mut want = Vec::new();
        for row in xs.chunks(4) {
            let mean = row.iter().map(|&v| v as f64).sum::<f64>() / 4.0;
            let var = row.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / 4.0;
            for (j, &v) in row.iter().enumerate() {
                let s = [1., 2., 0.5, -1.][j];
                want.push((v as f64 - mean) / (var + 1e-5f32 as f64).sqrt() * s + 0.25);
            }
        }
        close(&y, &want);
        // Axis 0 normalizes everything; no bias.
        let n0 = LayerNormAttrs {
            axis: 0,
            epsilon: 0.0,
            stats: true,
        };
        let r = layer_norm(&n0, &t(&[2], &[1., 3.]), &t(&[1], &[1.]), None).unwrap();
        assert_eq!(f(&r[0]), vec![-1., 1.]);
        // The statistics: mean 2 and 1 / sqrt(var 1), shaped [1].
        assert_eq!((r[1].dims(), f(&r[1])), (&[1usize][..], vec![2.]));
        assert_eq!(f(&r[2]), vec![1.]);
        assert!(layer_norm(&n, &x, &t(&[3], &[1.; 3]), None).is_err());
    }

    #[test]
    fn batch_and_instance_norm() {
        let x = t(&[1, 2, 2], &[1., 3., 10., 20.]);
        let n = NormAttrs { axis: 1, epsilon: 0.0 };
        let y = batch_norm(
            &n,
            &x,
            &t(&[2], &[2., 1.]),
            &t(&[2], &[1., 0.]),
            &t(&[2], &[1., 10.]),
            &t(&[2], &[4., 25.]),
        );
        assert_eq!(f(&y.unwrap()), vec![1., 3., 0., 2.]);
        let y = instance_norm(&n, &x, &t(&[2], &[1., 2.]), &t(&[2], &[0., 1.])).unwrap();
        assert_eq!(f(&y), vec![-1., 1., -1., 3.]);
    }

    #[test]
    fn rms_and_lp_norm() {
        let n = NormAttrs { axis: 1, epsilon: 0.0 };
        let y = rms_norm(&n, &t(&[1, 2], &[3., 4.]), &t(&[2], &[1., 2.])).unwrap();
        let rms = (12.5f64).sqrt();
        close(&f(&y), &[3. / rms, 8. / rms]);
        let x = t(&[2, 2], &[3., -4., 0., 0.]);
        let y = lp_norm(&LpNormAttrs { axis: 1, p: 2 }, &x).unwrap();
        assert_eq!(f(&y), vec![0.6, -0.8, 0., 0.]);
        let y = lp_norm(&LpNormAttrs { axis: 0, p: 1 }, &x).unwrap();
        assert_eq!(f(&y), vec![1., -1., 0., 0.]);
        assert!(lp_norm(&LpNormAttrs { axis: 0, p: 3 }, &x).is_err());
    }
}
