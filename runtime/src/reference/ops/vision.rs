//! Transposed convolution, local response normalization, max pooling with indices, max
//! unpooling, col2im and centre crop-or-pad. The arithmetic kernels take floats only;
//! `f16` and `bf16` compute in `f32` and round once per output element.
//!
//! Orders of the numerical contract:
//!
//! - `ConvTranspose` is computed as a gather, not a scatter: per output element
//!   `y[n, co, o]` (group `g = co / (C_out / group)`), `acc = 0`; for each input channel
//!   `ci` of group `g` (ascending), for each kernel position `k` in row-major order whose
//!   input position `i = (o + pad_begin - k * dilation) / stride` is whole and inside the
//!   input, `acc = acc + x[n, ci, i] * w[ci, co mod (C_out / group), k]` (a rounded multiply,
//!   then a rounded add); then `y = acc + bias[co]`. Kernel positions with no input
//!   position are skipped, not added as zero.
//! - `LRN`: per element, `sum = 0`; for each channel `c'` of the window, ascending,
//!   `sum = sum + x[c'] * x[c']`; then `t = (alpha / size) * sum` (with `alpha / size`
//!   rounded once), `d = bias + t`, `y = x / d^beta` (the project's own `pow`).

use lightos_ir::infer::{conv_geometry, conv_transpose_geometry, unpool_size};
use lightos_ir::op::{
    CenterCropPadAttrs, Col2ImAttrs, ConvTransposeAttrs, LrnAttrs, MaxPoolIndicesAttrs, MaxUnpoolAttrs,
};
use lightos_ir::{DType, Element, Tensor};

use super::scalar::{elems, make, with_any, with_float, with_int, Float, FloatElem};
use crate::reference::accumulate::Accum;
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

/// ONNX `ConvTranspose` over any number of spatial axes, with groups, strides,
/// dilations, padding, output padding and an explicit output shape. See the module docs
/// for the accumulation order.
pub(crate) fn conv_transpose(
    c: &ConvTransposeAttrs,
    x: &Tensor,
    w: &Tensor,
    bias: Option<&Tensor>,
) -> Result<Tensor, EvalError> {
    if w.dtype() != x.dtype() || bias.is_some_and(|b| b.dtype() != x.dtype()) {
        invalid!("ConvTranspose operands must share one dtype");
    }
    let dt = x.dtype();
    with_float!(dt, E => conv_transpose_typed::<E>(c, x, w, bias), _ => Err(unsupported("ConvTranspose", dt)))
}

/// The attributes with ONNX's defaults filled in for empty lists and the kernel taken
/// from the weight's spatial dims.
fn resolved(c: &ConvTransposeAttrs, kernel: &[usize]) -> Result<ConvTransposeAttrs, EvalError> {
    if !c.kernel.is_empty() && c.kernel != kernel {
        invalid!(
            "ConvTranspose kernel_shape {:?} disagrees with the weight's {kernel:?}",
            c.kernel
        );
    }
    let n = kernel.len();
    let or = |v: &Vec<usize>, d: usize| if v.is_empty() { vec![d; n] } else { v.clone() };
    Ok(ConvTransposeAttrs {
        kernel: kernel.to_vec(),
        strides: or(&c.strides, 1),
        dilations: or(&c.dilations, 1),
        padding: c.padding.clone(),
        output_padding: or(&c.output_padding, 0),
        output_shape: c.output_shape.clone(),
        group: c.group,
    })
}

/// For one spatial axis, per output coordinate, the `(kernel index, input index)` pairs
/// that reach it, kernel index ascending.
fn axis_taps(
    input: usize,
    output: usize,
    kernel: usize,
    stride: usize,
    dilation: usize,
    begin: usize,
) -> Vec<Vec<(usize, usize)>> {
    (0..output)
        .map(|o| {
            let shifted = o.saturating_add(begin);
            (0..kernel)
                .filter_map(|k| {
                    let t = shifted.checked_sub(k.checked_mul(dilation)?)?;
                    (t % stride == 0 && t / stride < input).then_some((k, t / stride))
                })
                .collect()
        })
        .collect()
}

/// [`conv_transpose`] for one element type.
fn conv_transpose_typed<E: FloatElem>(
    c: &ConvTransposeAttrs,
    x: &Tensor,
    w: &Tensor,
    bias: Option<&Tensor>,
) -> Result<Tensor, EvalError> {
    let (xd, wd) = (x.dims(), w.dims());
    if xd.len() < 3 || wd.len() != xd.len() {
        invalid!("ConvTranspose needs input and weight of equal rank 3 or more, got {xd:?} and {wd:?}");
    }
    let (batch, cin, cout_g) = (xd[0], xd[1], wd[1]);
    let group = c.group;
    if group == 0 || wd[0] != cin || cin % group != 0 {
        invalid!("ConvTranspose input {xd:?} and weight {wd:?} do not fit group {group}");
    }
    let cin_g = cin / group;
    let cout = match cout_g.checked_mul(group) {
        Some(v) => v,
        None => invalid!("ConvTranspose output channels overflow"),
    };
    let attrs = resolved(c, &wd[2..])?;
    let geo = conv_transpose_geometry(&xd[2..], &attrs)?;
    let biases = match bias {
        Some(b) if b.len() != cout => invalid!("ConvTranspose bias has {} elements for {cout} channels", b.len()),
        Some(b) => Some(elems::<E>(b)?),
        None => None,
    };
    let rank = xd.len() - 2;
    let per_axis: Vec<Vec<Vec<(usize, usize)>>> = (0..rank)
        .map(|a| {
            axis_taps(
                xd[2 + a],
                geo.output[a],
                attrs.kernel[a],
                attrs.strides[a],
                attrs.dilations[a],
                geo.pad_begin[a],
            )
        })
        .collect();
    let (xv, wv) = (elems::<E>(x)?, elems::<E>(w)?);
    let in_len = numel(&xd[2..])?;
    let kernel_len = numel(&attrs.kernel)?;
    numel(&[batch, cin, in_len])?;
    numel(&[cin, cout_g, kernel_len])?;
    let mut out_dims = vec![batch, cout];
    out_dims.extend(&geo.output);
    let out_len = numel(&geo.output)?;
    let mut out = vec![E::zeroed(); numel(&out_dims)?];
    // (flat kernel index, flat input offset) of every contributing tap, row-major.
    let mut taps: Vec<(usize, usize)> = Vec::new();
    let mut coord = vec![0usize; rank];
    for pos in 0..out_len {
        let mut rem = pos;
        for a in (0..rank).rev() {
            coord[a] = rem % geo.output[a];
            rem /= geo.output[a];
        }
        taps.clear();
        taps.push((0, 0));
        for a in 0..rank {
            let along = &per_axis[a][coord[a]];
            let mut next = Vec::with_capacity(taps.len() * along.len());
            for &(kf, off) in &taps {
                for &(k, i) in along {
                    next.push((kf * attrs.kernel[a] + k, off * xd[2 + a] + i));
                }
            }
            taps = next;
        }
        for nb in 0..batch {
            for co in 0..cout {
                let (g, col) = (co / cout_g, co % cout_g);
                let mut acc = <E::C as Accum>::ZERO;
                for ci in g * cin_g..(g + 1) * cin_g {
                    let xbase = (nb * cin + ci) * in_len;
                    let wbase = (ci * cout_g + col) * kernel_len;
                    for &(kf, off) in &taps {
                        let p = xv[xbase + off].widen() * wv[wbase + kf].widen();
                        acc = acc + p;
                    }
                }
                if let Some(bv) = biases {
                    acc = acc + bv[co].widen();
                }
                out[(nb * cout + co) * out_len + pos] = E::narrow(acc);
            }
        }
    }
    Ok(Tensor::from_vec(out_dims, out)?)
}

/// ONNX `LRN` across the channel axis (axis 1) of a tensor of rank 2 or more. See the
/// module docs for the order of operations.
pub(crate) fn lrn(l: &LrnAttrs, x: &Tensor) -> Result<Tensor, EvalError> {
    let dt = x.dtype();
    with_float!(dt, E => lrn_typed::<E>(l, x), _ => Err(unsupported("LRN", dt)))
}

/// [`lrn`] for one element type.
fn lrn_typed<E: FloatElem>(l: &LrnAttrs, x: &Tensor) -> Result<Tensor, EvalError> {
    let dims = x.dims();
    if dims.len() < 2 || l.size == 0 {
        invalid!(
            "LRN needs rank 2 or more and a positive size, got {dims:?} and size {}",
            l.size
        );
    }
    let (outer, channels) = (dims[0], dims[1]);
    let inner = numel(&dims[2..])?;
    let before = (l.size - 1) / 2;
    let after = l.size - 1 - before;
    let xv = elems::<E>(x)?;
    let scale = E::C::from_f64(l.alpha as f64) / E::C::from_f64(l.size as f64);
    let (bias, beta) = (E::C::from_f64(l.bias as f64), E::C::from_f64(l.beta as f64));
    let mut out = Vec::with_capacity(xv.len());
    for n in 0..outer {
        for c in 0..channels {
            let lo = c.saturating_sub(before);
            let hi = c.saturating_add(after).min(channels - 1);
            for p in 0..inner {
                let mut sum = <E::C as Accum>::ZERO;
                for cc in lo..=hi {
                    let v = xv[(n * channels + cc) * inner + p].widen();
                    sum = sum + v * v;
                }
                let d = bias + scale * sum;
                let v = xv[(n * channels + c) * inner + p].widen();
                out.push(E::narrow(v / d.pow(beta)));
            }
        }
    }
    Ok(Tensor::from_vec(dims.to_vec(), out)?)
}

/// An element type max pooling compares: floats (NaN wins) and integers.
trait MaxElem: Element + PartialOrd {
    /// The identity of `max`: negative infinity or the type's minimum.
    const LOWEST: Self;
    /// Whether the value is NaN.
    fn nan(self) -> bool;
}

/// Implements [`MaxElem`] from a lowest value and a NaN test per type.
macro_rules! max_elem {
    ($($t:ty => $lowest:expr, $nan:expr);* $(;)?) => {$(
        impl MaxElem for $t {
            const LOWEST: Self = $lowest;
            fn nan(self) -> bool { let f: fn($t) -> bool = $nan; f(self) }
        }
    )*};
}
max_elem! {
    f32 => f32::NEG_INFINITY, |v| v.is_nan();
    f64 => f64::NEG_INFINITY, |v| v.is_nan();
    half::f16 => half::f16::NEG_INFINITY, |v| v.is_nan();
    half::bf16 => half::bf16::NEG_INFINITY, |v| v.is_nan();
    i8 => i8::MIN, |_| false; i16 => i16::MIN, |_| false;
    i32 => i32::MIN, |_| false; i64 => i64::MIN, |_| false;
    u8 => u8::MIN, |_| false; u16 => u16::MIN, |_| false;
    u32 => u32::MIN, |_| false; u64 => u64::MIN, |_| false;
}

/// ONNX `MaxPool` with its `Indices` result.
///
/// Values are those of max pooling (padding never takes part; NaN wins; an all-padding
/// window gives the lowest value). The index is that of the first NaN of the window, else
/// of its first maximum, in row-major kernel order: `plane * spatial + position`, with the
/// spatial position numbered row-major, or column-major with `column_major`. A window with
/// no input position gets index -1.
pub(crate) fn max_pool_indices(p: &MaxPoolIndicesAttrs, x: &Tensor) -> Result<(Tensor, Tensor), EvalError> {
    let dt = x.dtype();
    with_float!(dt, E => max_pool_indices_typed::<E>(p, x),
        _ => with_int!(dt, E => max_pool_indices_typed::<E>(p, x), _ => Err(unsupported("MaxPool", dt))))
}

/// For one spatial axis, per output coordinate, the input coordinates a window covers
/// (kernel order), leaving out padding and positions past it.
fn window_taps(
    input: usize,
    output: usize,
    kernel: usize,
    stride: usize,
    dilation: usize,
    begin: usize,
) -> Vec<Vec<usize>> {
    (0..output)
        .map(|o| {
            (0..kernel)
                .filter_map(|k| {
                    let c = o.checked_mul(stride)?.checked_add(k.checked_mul(dilation)?)?;
                    let c = c.checked_sub(begin)?;
                    (c < input).then_some(c)
                })
                .collect()
        })
        .collect()
}

/// [`max_pool_indices`] for one element type.
fn max_pool_indices_typed<E: MaxElem>(p: &MaxPoolIndicesAttrs, x: &Tensor) -> Result<(Tensor, Tensor), EvalError> {
    let dims = x.dims();
    if dims.len() < 3 || p.kernel.len() != dims.len() - 2 {
        invalid!("MaxPool kernel {:?} does not fit input {dims:?}", p.kernel);
    }
    let spatial = &dims[2..];
    let rank = spatial.len();
    let ones = vec![1; rank];
    let strides = if p.strides.is_empty() { &ones } else { &p.strides };
    let dilations = if p.dilations.is_empty() { &ones } else { &p.dilations };
    let geo = conv_geometry(spatial, &p.kernel, strides, dilations, &p.padding, p.ceil_mode)?;
    let per_axis: Vec<Vec<Vec<usize>>> = (0..rank)
        .map(|a| {
            window_taps(
                spatial[a],
                geo.output[a],
                p.kernel[a],
                strides[a],
                dilations[a],
                geo.pad_begin[a],
            )
        })
        .collect();
    let in_len = numel(spatial)?;
    let planes = numel(&dims[..2])?;
    numel(&[planes, in_len])?;
    // Row-major strides for reading, and the strides the index numbers positions with.
    let mut row = vec![1usize; rank];
    let mut numbering = vec![1usize; rank];
    for a in (0..rank.saturating_sub(1)).rev() {
        row[a] = row[a + 1] * spatial[a + 1];
    }
    for a in 1..rank {
        numbering[a] = numbering[a - 1] * spatial[a - 1];
    }
    if !p.column_major {
        numbering.clone_from(&row);
    }
    let out_len = numel(&geo.output)?;
    let mut out_dims = dims[..2].to_vec();
    out_dims.extend(&geo.output);
    let total = numel(&out_dims)?;
    let xv = elems::<E>(x)?;
    let (mut values, mut indices) = (vec![E::LOWEST; total], vec![-1i64; total]);
    // (read offset, numbered position) of each tap of the current window, row-major.
    let mut taps: Vec<(usize, usize)> = Vec::new();
    let mut coord = vec![0usize; rank];
    for pos in 0..out_len {
        let mut rem = pos;
        for a in (0..rank).rev() {
            coord[a] = rem % geo.output[a];
            rem /= geo.output[a];
        }
        taps.clear();
        taps.push((0, 0));
        for a in 0..rank {
            let along = &per_axis[a][coord[a]];
            let mut next = Vec::with_capacity(taps.len() * along.len());
            for &(off, num) in &taps {
                for &c in along {
                    next.push((off + c * row[a], num + c * numbering[a]));
                }
            }
            taps = next;
        }
        for plane in 0..planes {
            let base = plane * in_len;
            let mut best: Option<(E, usize)> = None;
            for &(off, num) in &taps {
                let v = xv[base + off];
                if v.nan() {
                    best = Some((v, num));
                    break;
                }
                if best.is_none_or(|(m, _)| v > m) {
                    best = Some((v, num));
                }
            }
            if let Some((v, num)) = best {
                values[plane * out_len + pos] = v;
                indices[plane * out_len + pos] = (base + num) as i64;
            }
        }
    }
    Ok((
        Tensor::from_vec(out_dims.clone(), values)?,
        Tensor::from_vec(out_dims, indices)?,
    ))
}

/// ONNX `MaxUnpool`: scatters `x` to the flat positions `indices` of a zero tensor of the
/// unpooled shape (`(in - 1) * stride - pads + kernel` per spatial axis; later elements win
/// where indices repeat), which then takes the top-left corner of `output_shape` when
/// that is given (the ONNX reference's rule), zeros elsewhere.
pub(crate) fn max_unpool(
    u: &MaxUnpoolAttrs,
    x: &Tensor,
    indices: &Tensor,
    output_shape: Option<&Tensor>,
) -> Result<Tensor, EvalError> {
    let dt = x.dtype();
    with_any!(dt, T => max_unpool_typed::<T>(u, x, indices, output_shape))
}

/// [`max_unpool`] for one storage type.
fn max_unpool_typed<T: Element>(
    u: &MaxUnpoolAttrs,
    x: &Tensor,
    indices: &Tensor,
    output_shape: Option<&Tensor>,
) -> Result<Tensor, EvalError> {
    let dims = x.dims();
    if dims.len() < 3 || u.kernel.len() != dims.len() - 2 || indices.dims() != dims {
        invalid!(
            "MaxUnpool input {dims:?}, indices {:?} and kernel {:?} do not fit",
            indices.dims(),
            u.kernel
        );
    }
    let mut inferred = dims[..2].to_vec();
    for (i, &n) in dims[2..].iter().enumerate() {
        inferred.push(unpool_size(n, u, i)?);
    }
    let idx = match indices.to_i64_vec() {
        Some(v) => v,
        None => invalid!("MaxUnpool indices must be integers, got {}", indices.dtype()),
    };
    let xv = elems::<T>(x)?;
    let len = numel(&inferred)?;
    let mut scattered = vec![T::zeroed(); len];
    for (&i, &v) in idx.iter().zip(xv) {
        match usize::try_from(i).ok().filter(|&i| i < len) {
            Some(i) => scattered[i] = v,
            None => invalid!("MaxUnpool index {i} is outside the unpooled shape {inferred:?}"),
        }
    }
    let Some(shape) = output_shape else {
        return make(x.dtype(), inferred, scattered);
    };
    let target: Vec<usize> = match shape.to_i64_vec() {
        Some(v) if v.len() == dims.len() && v.iter().all(|&d| d >= 0) => v.into_iter().map(|d| d as usize).collect(),
        _ => invalid!("MaxUnpool output_shape must have {} non-negative integers", dims.len()),
    };
    if target[..2] != inferred[..2] || target.iter().zip(&inferred).any(|(t, i)| t < i) {
        invalid!("MaxUnpool output_shape {target:?} is smaller than the unpooled shape {inferred:?}");
    }
    let mut out = vec![T::zeroed(); numel(&target)?];
    let rank = target.len();
    let mut coord = vec![0usize; rank];
    for (flat, &v) in scattered.iter().enumerate() {
        let mut rem = flat;
        for a in (0..rank).rev() {
            coord[a] = rem % inferred[a];
            rem /= inferred[a];
        }
        let at = coord.iter().zip(&target).fold(0, |acc, (&c, &t)| acc * t + c);
        out[at] = v;
    }
    make(x.dtype(), target, out)
}

/// The values of a rank-1 integer operand as non-negative sizes, `len` of them.
fn sizes_of(t: &Tensor, len: Option<usize>, what: &str) -> Result<Vec<usize>, EvalError> {
    match t.to_i64_vec() {
        Some(v) if t.dims().len() == 1 && len.is_none_or(|l| l == v.len()) && v.iter().all(|&d| d >= 0) => {
            Ok(v.into_iter().map(|d| d as usize).collect())
        }
        _ => invalid!(
            "{what} must be a rank-1 integer tensor of non-negative sizes, got {:?} {}",
            t.dims(),
            t.dtype()
        ),
    }
}

/// ONNX `Col2Im`: sums the columns `[N, C * prod(block), L]` back into images
/// `[N, C, image...]`. Computed as a gather: per image element, `acc = 0`; for each block
/// position in row-major order that covers it, `acc = acc + column value`.
pub(crate) fn col2im(c: &Col2ImAttrs, x: &Tensor, image: &Tensor, block: &Tensor) -> Result<Tensor, EvalError> {
    let dt = x.dtype();
    with_float!(dt, E => col2im_typed::<E>(c, x, image, block), _ => Err(unsupported("Col2Im", dt)))
}

/// [`col2im`] for one element type.
fn col2im_typed<E: FloatElem>(
    c: &Col2ImAttrs,
    x: &Tensor,
    image: &Tensor,
    block: &Tensor,
) -> Result<Tensor, EvalError> {
    let image = sizes_of(image, None, "Col2Im image_shape")?;
    let n = image.len();
    let block = sizes_of(block, Some(n), "Col2Im block_shape")?;
    let dims = x.dims();
    let k = numel(&block)?;
    if dims.len() != 3 || n == 0 || k == 0 || !dims[1].is_multiple_of(k) {
        invalid!("Col2Im input {dims:?} does not fit block {block:?}");
    }
    let list = |v: &[usize], len: usize, d: usize, what: &str| -> Result<Vec<usize>, EvalError> {
        if v.is_empty() {
            Ok(vec![d; len])
        } else if v.len() == len {
            Ok(v.to_vec())
        } else {
            invalid!("Col2Im {what} {v:?} does not fit {n} axes")
        }
    };
    let dilations = list(&c.dilations, n, 1, "dilations")?;
    let strides = list(&c.strides, n, 1, "strides")?;
    let pads = list(&c.pads, 2 * n, 0, "pads")?;
    let geo = conv_geometry(
        &image,
        &block,
        &strides,
        &dilations,
        &lightos_ir::Padding::Explicit(pads.clone()),
        false,
    )?;
    let blocks = numel(&geo.output)?;
    if blocks != dims[2] {
        invalid!("Col2Im input has {} columns, the geometry gives {blocks}", dims[2]);
    }
    let per_axis: Vec<Vec<Vec<(usize, usize)>>> = (0..n)
        .map(|a| axis_taps(geo.output[a], image[a], block[a], strides[a], dilations[a], pads[a]))
        .collect();
    let (batch, channels) = (dims[0], dims[1] / k);
    let mut out_dims = vec![batch, channels];
    out_dims.extend(&image);
    let img_len = numel(&image)?;
    let xv = elems::<E>(x)?;
    let mut out = vec![E::zeroed(); numel(&out_dims)?];
    let mut taps: Vec<(usize, usize)> = Vec::new();
    let mut coord = vec![0usize; n];
    for pos in 0..img_len {
        let mut rem = pos;
        for a in (0..n).rev() {
            coord[a] = rem % image[a];
            rem /= image[a];
        }
        taps.clear();
        taps.push((0, 0));
        for a in 0..n {
            let along = &per_axis[a][coord[a]];
            let mut next = Vec::with_capacity(taps.len() * along.len());
            for &(kf, col) in &taps {
                for &(kk, b) in along {
                    next.push((kf * block[a] + kk, col * geo.output[a] + b));
                }
            }
            taps = next;
        }
        for nb in 0..batch {
            for ch in 0..channels {
                let mut acc = <E::C as Accum>::ZERO;
                for &(kf, col) in &taps {
                    acc = acc + xv[((nb * channels + ch) * k + kf) * blocks + col].widen();
                }
                out[(nb * channels + ch) * img_len + pos] = E::narrow(acc);
            }
        }
    }
    Ok(Tensor::from_vec(out_dims, out)?)
}

/// ONNX `CenterCropPad`: along each of `axes`, a larger axis is cropped to the middle
/// (the extra element of an odd difference is dropped at the end) and a smaller one is
/// padded with zeros (the extra zero goes at the end).
pub(crate) fn center_crop_pad(c: &CenterCropPadAttrs, x: &Tensor, shape: &Tensor) -> Result<Tensor, EvalError> {
    let dt = x.dtype();
    with_any!(dt, T => center_crop_pad_typed::<T>(c, x, shape))
}

/// [`center_crop_pad`] for one storage type.
fn center_crop_pad_typed<T: Element>(c: &CenterCropPadAttrs, x: &Tensor, shape: &Tensor) -> Result<Tensor, EvalError> {
    let dims = x.dims();
    let target = sizes_of(shape, Some(c.axes.len()), "CenterCropPad shape")?;
    let rank = dims.len();
    let mut out_dims = dims.to_vec();
    // Per axis: (output offset, input offset, copied length).
    let mut spans: Vec<(usize, usize, usize)> = dims.iter().map(|&d| (0, 0, d)).collect();
    for (&a, &t) in c.axes.iter().zip(&target) {
        if a >= rank {
            invalid!("CenterCropPad axis {a} is out of range for {dims:?}");
        }
        let d = dims[a];
        out_dims[a] = t;
        spans[a] = if t < d {
            (0, (d - t) / 2, t)
        } else {
            ((t - d) / 2, 0, d)
        };
    }
    let xv = elems::<T>(x)?;
    let mut out = vec![T::zeroed(); numel(&out_dims)?];
    let mut coord = vec![0usize; rank];
    for (flat, slot) in out.iter_mut().enumerate() {
        let mut rem = flat;
        for a in (0..rank).rev() {
            coord[a] = rem % out_dims[a];
            rem /= out_dims[a];
        }
        let mut src = 0usize;
        let mut inside = true;
        for a in 0..rank {
            let (o, i, len) = spans[a];
            match coord[a].checked_sub(o).filter(|&v| v < len) {
                Some(v) => src = src * dims[a] + i + v,
                None => {
                    inside = false;
                    break;
                }
            }
        }
        if inside {
            *slot = xv[src];
        }
    }
    make(x.dtype(), out_dims, out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lightos_ir::op::Padding;

    /// An `f32` tensor.
    fn t(dims: &[usize], v: &[f32]) -> Tensor {
        Tensor::from_vec(dims.to_vec(), v.to_vec()).unwrap()
    }

    /// The elements of an `f32` tensor.
    fn f(t: &Tensor) -> Vec<f32> {
        t.as_slice::<f32>().unwrap().to_vec()
    }

    /// Attributes with unit dilations, no output padding and one group.
    fn ct(strides: &[usize], padding: Padding, output_shape: Option<Vec<usize>>) -> ConvTransposeAttrs {
        ConvTransposeAttrs {
            kernel: vec![],
            strides: strides.to_vec(),
            dilations: vec![],
            padding,
            output_padding: vec![],
            output_shape,
            group: 1,
        }
    }

    #[test]
    fn conv_transpose_1d_stride_and_bias() {
        // x = [1, 2], w = [1, 10, 100], stride 2: full output [1, 10, 102, 20, 200].
        let x = t(&[1, 1, 2], &[1., 2.]);
        let w = t(&[1, 1, 3], &[1., 10., 100.]);
        let y = conv_transpose(&ct(&[2], Padding::Explicit(vec![0, 0]), None), &x, &w, None).unwrap();
        assert_eq!((y.dims(), f(&y)), (&[1, 1, 5][..], vec![1., 10., 102., 20., 200.]));
        // Pads crop 1 at each end; the bias is added to every output.
        let b = t(&[1], &[0.5]);
        let y = conv_transpose(&ct(&[2], Padding::Explicit(vec![1, 1]), None), &x, &w, Some(&b)).unwrap();
        assert_eq!(f(&y), vec![10.5, 102.5, 20.5]);
        // An output_shape past the full extent grows at the end with bias only.
        let y = conv_transpose(
            &ct(&[2], Padding::Explicit(vec![0, 0]), Some(vec![7])),
            &x,
            &w,
            Some(&b),
        )
        .unwrap();
        assert_eq!(f(&y), vec![1.5, 10.5, 102.5, 20.5, 200.5, 0.5, 0.5]);
        // SAME_UPPER: output 4, total padding 1 at the end.
        let y = conv_transpose(&ct(&[2], Padding::SameUpper, None), &x, &w, None).unwrap();
        assert_eq!(f(&y), vec![1., 10., 102., 20.]);
        let y = conv_transpose(&ct(&[2], Padding::SameLower, None), &x, &w, None).unwrap();
        assert_eq!(f(&y), vec![10., 102., 20., 200.]);
    }

    #[test]
    fn conv_transpose_2d_groups_and_dilation() {
        // Two groups of one channel each; 1x1 input, 2x2 kernel dilated by 2 -> 3x3.
        let x = t(&[1, 2, 1, 1], &[1., 2.]);
        let w = t(&[2, 1, 2, 2], &[1., 2., 3., 4., 5., 6., 7., 8.]);
        let mut a = ct(&[1, 1], Padding::Explicit(vec![0; 4]), None);
        a.group = 2;
        a.dilations = vec![2, 2];
        let y = conv_transpose(&a, &x, &w, None).unwrap();
        assert_eq!(y.dims(), &[1, 2, 3, 3]);
        assert_eq!(
            f(&y),
            vec![1., 0., 2., 0., 0., 0., 3., 0., 4., 10., 0., 12., 0., 0., 0., 14., 0., 16.]
        );
        // Two input channels summed into one output channel, in channel order.
        let x = t(&[1, 2, 1, 2], &[1., 2., 3., 4.]);
        let w = t(&[2, 1, 1, 2], &[1., 1., 10., 10.]);
        let y = conv_transpose(&ct(&[1, 1], Padding::Explicit(vec![0; 4]), None), &x, &w, None).unwrap();
        assert_eq!((y.dims(), f(&y)), (&[1, 1, 1, 3][..], vec![31., 73., 42.]));
        // Weight channels that do not match the input are refused.
        assert!(conv_transpose(
            &ct(&[1, 1], Padding::Explicit(vec![0; 4]), None),
            &t(&[1, 3, 1, 1], &[0.; 3]),
            &w,
            None
        )
        .is_err());
    }

    #[test]
    fn lrn_window_and_defaults() {
        // size 3 over 3 channels, alpha 3 (alpha/size = 1), beta 1, bias 1.
        let x = t(&[1, 3, 1, 1], &[1., 2., 3.]);
        let l = LrnAttrs {
            size: 3,
            alpha: 3.0,
            beta: 1.0,
            bias: 1.0,
        };
        let y = lrn(&l, &x).unwrap();
        // Sums of squares: [1+4, 1+4+9, 4+9] -> y = x / (1 + s).
        assert_eq!(f(&y), vec![1. / 6., 2. / 15., 3. / 14.]);
        // Even size: one channel before, one after... size 2 is the channel and the next.
        let l2 = LrnAttrs {
            size: 2,
            alpha: 2.0,
            beta: 1.0,
            bias: 0.0,
        };
        let y = lrn(&l2, &x).unwrap();
        assert_eq!(f(&y), vec![1. / 5., 2. / 13., 3. / 9.]);
        assert!(lrn(&l, &t(&[3], &[1., 2., 3.])).is_err());
    }

    #[test]
    fn max_pool_indices_row_and_column_major() {
        // 3x3 plane, 2x2 windows, stride 1: maxima are the bottom-right of each window.
        let x = t(&[1, 1, 3, 3], &[1., 2., 3., 4., 5., 6., 7., 8., 9.]);
        let mut p = MaxPoolIndicesAttrs {
            kernel: vec![2, 2],
            strides: vec![1, 1],
            dilations: vec![1, 1],
            padding: Padding::Explicit(vec![0; 4]),
            ceil_mode: false,
            column_major: false,
        };
        let (v, i) = max_pool_indices(&p, &x).unwrap();
        assert_eq!(f(&v), vec![5., 6., 8., 9.]);
        assert_eq!(i.as_slice::<i64>().unwrap(), &[4, 5, 7, 8]);
        p.column_major = true;
        let (_, i) = max_pool_indices(&p, &x).unwrap();
        // (1,1) -> 1 + 1*3 = 4, (1,2) -> 1 + 2*3 = 7, (2,1) -> 5, (2,2) -> 8.
        assert_eq!(i.as_slice::<i64>().unwrap(), &[4, 7, 5, 8]);
        // Ties keep the first; the second plane's indices count from its own offset; NaN wins.
        let x = t(&[1, 2, 1, 2], &[3., 3., 1., f32::NAN]);
        p.kernel = vec![1, 2];
        p.column_major = false;
        let (v, i) = max_pool_indices(&p, &x).unwrap();
        assert_eq!(f(&v)[0], 3.);
        assert!(f(&v)[1].is_nan());
        assert_eq!(i.as_slice::<i64>().unwrap(), &[0, 3]);
    }

    #[test]
    fn max_unpool_scatters_and_pads() {
        let x = t(&[1, 1, 1, 2], &[5., 6.]);
        let idx = Tensor::from_vec(vec![1, 1, 1, 2], vec![1i64, 2]).unwrap();
        let u = MaxUnpoolAttrs {
            kernel: vec![1, 2],
            strides: vec![1, 2],
            pads: vec![0; 4],
        };
        let y = max_unpool(&u, &x, &idx, None).unwrap();
        assert_eq!((y.dims(), f(&y)), (&[1, 1, 1, 4][..], vec![0., 5., 6., 0.]));
        let shape = Tensor::from_vec(vec![4], vec![1i64, 1, 2, 5]).unwrap();
        let y = max_unpool(&u, &x, &idx, Some(&shape)).unwrap();
        assert_eq!(f(&y), vec![0., 5., 6., 0., 0., 0., 0., 0., 0., 0.]);
        let bad = Tensor::from_vec(vec![1, 1, 1, 2], vec![1i64, 4]).unwrap();
        assert!(max_unpool(&u, &x, &bad, None).is_err());
        let small = Tensor::from_vec(vec![4], vec![1i64, 1, 1, 3]).unwrap();
        assert!(max_unpool(&u, &x, &idx, Some(&small)).is_err());
    }

    #[test]
    fn col2im_sums_overlapping_blocks() {
        // 1-d image of 4, blocks of 2 at stride 1: 3 columns; column values c[k][b].
        let x = t(&[1, 2, 3], &[1., 2., 3., 10., 20., 30.]);
        let image = Tensor::from_vec(vec![1], vec![4i64]).unwrap();
        let block = Tensor::from_vec(vec![1], vec![2i64]).unwrap();
        let c = Col2ImAttrs {
            dilations: vec![],
            pads: vec![],
            strides: vec![],
        };
        let y = col2im(&c, &x, &image, &block).unwrap();
        // Position p gets c[0][p] + c[1][p - 1].
        assert_eq!((y.dims(), f(&y)), (&[1, 1, 4][..], vec![1., 12., 23., 30.]));
        let wrong = Tensor::from_vec(vec![1], vec![5i64]).unwrap();
        assert!(col2im(&c, &x, &wrong, &block).is_err());
    }

    #[test]
    fn center_crop_pad_both_ways() {
        let x = t(&[5], &[1., 2., 3., 4., 5.]);
        let c = CenterCropPadAttrs { axes: vec![0] };
        let shape = |n: i64| Tensor::from_vec(vec![1], vec![n]).unwrap();
        assert_eq!(f(&center_crop_pad(&c, &x, &shape(2)).unwrap()), vec![2., 3.]);
        assert_eq!(f(&center_crop_pad(&c, &x, &shape(3)).unwrap()), vec![2., 3., 4.]);
        assert_eq!(
            f(&center_crop_pad(&c, &x, &shape(8)).unwrap()),
            vec![0., 1., 2., 3., 4., 5., 0., 0.]
        );
        assert!(center_crop_pad(&c, &x, &shape(-1)).is_err());
    }
}
