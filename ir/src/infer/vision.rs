//! Type rules of the vision ops (transposed and deformable convolution, local response
//! normalization, resampling, grids, pooling with indices, unpooling, col2im, centre
//! crop-or-pad, RoI align), and the geometry they share with the interpreters.

use super::{bail, expect_float, Args, InferError, SymbolNamer};
use crate::graph::TensorType;
use crate::op::{
    AspectPolicy, CenterCropPadAttrs, ConvTransposeAttrs, DeformConvAttrs, LrnAttrs, MaxPoolIndicesAttrs,
    MaxUnpoolAttrs, Padding, ResizeAttrs, RoiAlignAttrs,
};
use crate::shape::{Dim, Shape};
use crate::DType;

/// The resolved geometry of a transposed convolution over fixed spatial sizes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConvTransposeGeometry {
    /// Output size per spatial axis.
    pub output: Vec<usize>,
    /// Output positions cropped at the beginning of each spatial axis: output coordinate
    /// `o` is coordinate `o + pad_begin` of the full (uncropped) result.
    pub pad_begin: Vec<usize>,
}

/// Resolves the output sizes and begin pads of a transposed convolution over spatial
/// `input` sizes.
///
/// Per axis the full extent is `stride * (in - 1) + output_padding + (kernel - 1) *
/// dilation + 1`. With explicit pads the output is the full extent less both pads. With
/// `output_shape` (or `SAME_UPPER` / `SAME_LOWER`, whose output is `in * stride`), the total
/// padding is `full - output` clamped at zero; `SAME_UPPER` puts `total / 2` at the
/// beginning and the rest at the end, any other padding puts `total - total / 2` at the
/// beginning (the ONNX rule). An output larger than the full extent grows at the end, where
/// no input contributes.
pub fn conv_transpose_geometry(input: &[usize], a: &ConvTransposeAttrs) -> Result<ConvTransposeGeometry, InferError> {
    let n = input.len();
    if a.kernel.len() != n || a.strides.len() != n || a.dilations.len() != n || a.output_padding.len() != n {
        bail!(
            "conv_transpose attributes have {} / {} / {} / {} axes for {n} spatial axes",
            a.kernel.len(),
            a.strides.len(),
            a.dilations.len(),
            a.output_padding.len()
        );
    }
    if let Some(s) = &a.output_shape {
        if s.len() != n {
            bail!(
                "conv_transpose output_shape has {} entries for {n} spatial axes",
                s.len()
            );
        }
    }
    if let Padding::Explicit(p) = &a.padding {
        if p.len() != 2 * n {
            bail!("conv_transpose pads has {} entries for {n} spatial axes", p.len());
        }
    }
    let overflow = |i: usize| InferError(format!("conv_transpose axis {i} overflows"));
    let mut geo = ConvTransposeGeometry {
        output: Vec::with_capacity(n),
        pad_begin: Vec::with_capacity(n),
    };
    for i in 0..n {
        let (k, s, d) = (a.kernel[i], a.strides[i], a.dilations[i]);
        if k == 0 || s == 0 || d == 0 {
            bail!("conv_transpose axis {i} has a zero kernel, stride or dilation");
        }
        if input[i] == 0 {
            bail!("conv_transpose input has size 0 on spatial axis {i}");
        }
        let full = s
            .checked_mul(input[i] - 1)
            .and_then(|v| v.checked_add(a.output_padding[i]))
            .and_then(|v| v.checked_add(d.checked_mul(k - 1)?))
            .and_then(|v| v.checked_add(1))
            .ok_or_else(|| overflow(i))?;
        let target = match (&a.output_shape, &a.padding) {
            (Some(shape), _) => Some(shape[i]),
            (None, Padding::SameUpper | Padding::SameLower) => {
                Some(input[i].checked_mul(s).ok_or_else(|| overflow(i))?)
            }
            _ => None,
        };
        let (out, begin) = match target {
            Some(out) => {
                let total = full.saturating_sub(out);
                let begin = if matches!(a.padding, Padding::SameUpper) {
                    total / 2
                } else {
                    total - total / 2
                };
                (out, begin)
            }
            None => {
                let (begin, end) = match &a.padding {
                    Padding::Explicit(p) => (p[i], p[n + i]),
                    _ => (0, 0),
                };
                let pads = begin.checked_add(end).ok_or_else(|| overflow(i))?;
                if pads > full {
                    bail!("conv_transpose pads {begin} + {end} exceed the output extent {full} on axis {i}");
                }
                (full - pads, begin)
            }
        };
        geo.output.push(out);
        geo.pad_begin.push(begin);
    }
    Ok(geo)
}

/// The type rule of [`crate::Op::ConvTranspose`].
pub(super) fn conv_transpose(
    c: &ConvTransposeAttrs,
    args: &Args,
    names: &mut SymbolNamer,
) -> Result<TensorType, InferError> {
    let x = args.get(0)?.ty;
    let w = args.get(1)?.ty;
    expect_float(x, "conv_transpose input")?;
    if x.rank() < 3 || w.rank() != x.rank() || w.dtype != x.dtype {
        bail!("conv_transpose needs input and weight of equal rank 3 or more and one dtype, got {x} and {w}");
    }
    if c.kernel.len() != x.rank() - 2 {
        bail!("conv_transpose kernel has {} axes for input {x}", c.kernel.len());
    }
    if c.group == 0 {
        bail!("conv_transpose group must be positive");
    }
    if let (Dim::Fixed(cin), Dim::Fixed(wc)) = (&x.shape.0[1], &w.shape.0[0]) {
        if cin != wc || cin % c.group != 0 {
            bail!(
                "conv_transpose input {x} does not fit weight {w} with group {}",
                c.group
            );
        }
    }
    for (i, (&k, wd)) in c.kernel.iter().zip(&w.shape.0[2..]).enumerate() {
        if let Dim::Fixed(wk) = wd {
            if *wk != k {
                bail!(
                    "conv_transpose kernel {:?} disagrees with weight {w} on axis {i}",
                    c.kernel
                );
            }
        }
    }
    let cout = match &w.shape.0[1] {
        Dim::Fixed(m) => Dim::Fixed(
            m.checked_mul(c.group)
                .ok_or_else(|| InferError("conv_transpose output channels overflow".into()))?,
        ),
        Dim::Sym(_) if c.group == 1 => w.shape.0[1].clone(),
        Dim::Sym(_) => names.fresh(),
    };
    if let Some(b) = args.opt(2) {
        if b.ty.rank() != 1 || b.ty.dtype != x.dtype {
            bail!("conv_transpose bias must be rank 1 of {}, got {}", x.dtype, b.ty);
        }
        if let (Dim::Fixed(bn), Dim::Fixed(co)) = (&b.ty.shape.0[0], &cout) {
            if bn != co {
                bail!("conv_transpose bias has {bn} elements for {co} output channels");
            }
        }
    }
    let mut out = vec![x.shape.0[0].clone(), cout];
    match Shape(x.shape.0[2..].to_vec()).as_fixed() {
        Some(sizes) => out.extend(conv_transpose_geometry(&sizes, c)?.output.into_iter().map(Dim::Fixed)),
        None => match &c.output_shape {
            Some(s) => out.extend(s.iter().map(|&d| Dim::Fixed(d))),
            None => out.extend((2..x.rank()).map(|_| names.fresh())),
        },
    }
    Ok(TensorType::new(x.dtype, Shape(out)))
}

/// The type rule of [`crate::Op::Lrn`]: the input's type.
pub(super) fn lrn(l: &LrnAttrs, args: &Args) -> Result<TensorType, InferError> {
    let x = args.get(0)?.ty;
    expect_float(x, "lrn input")?;
    if x.rank() < 2 {
        bail!("lrn needs rank 2 or more, got {x}");
    }
    if l.size == 0 {
        bail!("lrn size must be positive");
    }
    Ok(x.clone())
}

/// The largest output size [`resize_geometry`] accepts on one axis.
const MAX_RESIZE_DIM: f64 = (1u64 << 40) as f64;

/// A resize output size as `usize`, refusing negative, NaN and huge values.
fn checked_size(v: f64, axis: usize) -> Result<usize, InferError> {
    if !(0.0..=MAX_RESIZE_DIM).contains(&v) {
        bail!("resize output size {v} on axis {axis} is out of range");
    }
    Ok(v as usize)
}

/// `floor(n * scale)`, the output size of an axis of size `n` resized by `scale`.
fn scaled_size(n: usize, scale: f64, axis: usize) -> Result<usize, InferError> {
    if !(scale > 0.0 && scale.is_finite()) {
        bail!("resize scale {scale} on axis {axis} must be positive and finite");
    }
    checked_size((n as f64 * scale).floor(), axis)
}

/// Output sizes and per-axis scales of a resize over fixed `input` sizes.
#[derive(Clone, Debug, PartialEq)]
pub struct ResizeGeometry {
    /// Output size of every axis.
    pub output: Vec<usize>,
    /// Scale of every axis (`1.0` for axes that are not resized): the `scales` operand's
    /// value, or `size / input` (after the aspect-ratio policy) when sizes are given.
    pub scales: Vec<f64>,
    /// The resized length of every axis before rounding to a whole output size:
    /// `input * scale`, or the size itself with `stretch` sizes. The `align_corners` and
    /// `tf_crop_and_resize` transformations divide by `length - 1`, as the ONNX reference
    /// does.
    pub lengths: Vec<f64>,
}

/// Resolves a resize over fixed `input` sizes from its `scales` or `sizes` operand values
/// (one entry per resized axis, in the order of `attrs.axes`).
///
/// With scales, each output size is `floor(input * scale)` (computed in `f64`). With sizes,
/// `stretch` takes each size as given and its scale as `size / input`; `not_larger` and
/// `not_smaller` use one scale, the smallest or largest of those, for every resized axis
/// and round `scale * input` half up.
pub fn resize_geometry(
    input: &[usize],
    attrs: &ResizeAttrs,
    scales: Option<&[f64]>,
    sizes: Option<&[i64]>,
) -> Result<ResizeGeometry, InferError> {
    let rank = input.len();
    let axes = &attrs.axes;
    for (i, &a) in axes.iter().enumerate() {
        if a >= rank || axes[..i].contains(&a) {
            bail!("resize axes {axes:?} do not fit rank {rank}");
        }
    }
    let mut geo = ResizeGeometry {
        output: input.to_vec(),
        scales: vec![1.0; rank],
        lengths: input.iter().map(|&n| n as f64).collect(),
    };
    match (scales, sizes) {
        (Some(sc), None) => {
            if sc.len() != axes.len() {
                bail!("resize has {} scales for {} axes", sc.len(), axes.len());
            }
            for (&a, &s) in axes.iter().zip(sc) {
                geo.scales[a] = s;
                geo.output[a] = scaled_size(input[a], s, a)?;
                geo.lengths[a] = input[a] as f64 * s;
            }
        }
        (None, Some(sz)) => {
            if sz.len() != axes.len() {
                bail!("resize has {} sizes for {} axes", sz.len(), axes.len());
            }
            for (&a, &s) in axes.iter().zip(sz) {
                if s < 0 || s as f64 > MAX_RESIZE_DIM {
                    bail!("resize size {s} on axis {a} is out of range");
                }
                if input[a] == 0 {
                    bail!("resize cannot scale axis {a} of size 0 to a size");
                }
            }
            let ratios: Vec<f64> = axes.iter().zip(sz).map(|(&a, &s)| s as f64 / input[a] as f64).collect();
            match attrs.aspect {
                AspectPolicy::Stretch => {
                    for ((&a, &s), &r) in axes.iter().zip(sz).zip(&ratios) {
                        geo.output[a] = s as usize;
                        geo.scales[a] = r;
                        geo.lengths[a] = s as f64;
                    }
                }
                AspectPolicy::NotLarger | AspectPolicy::NotSmaller => {
                    let pick = ratios.iter().copied().reduce(|p, r| {
                        if (attrs.aspect == AspectPolicy::NotLarger) == (r < p) {
                            r
                        } else {
                            p
                        }
                    });
                    if let Some(scale) = pick {
                        for &a in axes {
                            geo.scales[a] = scale;
                            geo.lengths[a] = scale * input[a] as f64;
                            geo.output[a] = checked_size((geo.lengths[a] + 0.5).floor(), a)?;
                        }
                    }
                }
            }
        }
        _ => bail!("resize needs exactly one of scales and sizes"),
    }
    Ok(geo)
}

/// The type rule of [`crate::Op::Resize`]: fixed sizes where the input and the scales or
/// sizes are known, fresh symbols elsewhere.
pub(super) fn resize(r: &ResizeAttrs, args: &Args, names: &mut SymbolNamer) -> Result<TensorType, InferError> {
    let x = args.get(0)?.ty;
    let rank = x.rank();
    let needs_float = !matches!(r.mode, crate::op::ResizeMode::Nearest);
    if (needs_float && !x.dtype.is_float()) || x.dtype == DType::Bool {
        bail!("resize in {:?} mode does not take {}", r.mode, x.dtype);
    }
    for (i, &a) in r.axes.iter().enumerate() {
        if a >= rank || r.axes[..i].contains(&a) {
            bail!("resize axes {:?} do not fit {x}", r.axes);
        }
    }
    let count = |i: usize, what: &str| -> Result<(), InferError> {
        if let Some(o) = args.opt(i) {
            if o.ty.rank() != 1 {
                bail!("resize {what} must be rank 1, got {}", o.ty);
            }
        }
        Ok(())
    };
    count(1, "roi")?;
    count(2, "scales")?;
    count(3, "sizes")?;
    if let Some(roi) = args.opt(1) {
        expect_float(roi.ty, "resize roi")?;
    }
    let (scales, sizes) = (args.opt(2), args.opt(3));
    if scales.is_some() == sizes.is_some() {
        bail!("resize needs exactly one of scales and sizes");
    }
    if let Some(s) = scales {
        expect_float(s.ty, "resize scales")?;
    }
    if let Some(s) = sizes {
        if s.ty.dtype != DType::I64 {
            bail!("resize sizes must be i64, got {}", s.ty);
        }
    }
    let scale_vals = scales.and_then(|s| s.value).map(|t| t.to_f64_vec());
    let size_vals = args.const_ints(3)?;
    let known = scale_vals.is_some() || size_vals.is_some();
    if let (Some(dims), true) = (x.shape.as_fixed(), known) {
        let geo = resize_geometry(&dims, r, scale_vals.as_deref(), size_vals.as_deref())?;
        return Ok(TensorType::fixed(x.dtype, &geo.output));
    }
    let mut out = x.shape.0.clone();
    for (i, &a) in r.axes.iter().enumerate() {
        out[a] = match (&scale_vals, &size_vals, &x.shape.0[a]) {
            (None, Some(sz), _) if r.aspect == AspectPolicy::Stretch => match sz.get(i) {
                Some(&s) if s >= 0 => Dim::Fixed(s as usize),
                _ => bail!("resize sizes {sz:?} do not fit axes {:?}", r.axes),
            },
            (Some(sc), None, Dim::Fixed(n)) => match sc.get(i) {
                Some(&s) => Dim::Fixed(scaled_size(*n, s, a)?),
                None => bail!("resize scales {sc:?} do not fit axes {:?}", r.axes),
            },
            _ => names.fresh(),
        };
    }
    Ok(TensorType::new(x.dtype, Shape(out)))
}

/// The dims of a rank-1 integer operand's value when it is a known constant, checked to
/// have `len` non-negative entries.
fn const_dims(args: &Args, i: usize, len: usize, what: &str) -> Result<Option<Vec<usize>>, InferError> {
    match args.const_ints(i)? {
        None => Ok(None),
        Some(v) => {
            if v.len() != len || v.iter().any(|&d| d < 0) {
                bail!("{what} {v:?} must have {len} non-negative entries");
            }
            Ok(Some(v.into_iter().map(|d| d as usize).collect()))
        }
    }
}

/// Requires operand `i`, when present, to be a rank-1 i64 tensor, and returns its fixed
/// length when known.
fn i64_list(args: &Args, i: usize, what: &str) -> Result<Option<usize>, InferError> {
    let Some(o) = args.opt(i) else {
        return Ok(None);
    };
    if o.ty.dtype != DType::I64 || o.ty.rank() != 1 {
        bail!("{what} must be a rank-1 i64 tensor, got {}", o.ty);
    }
    Ok(o.ty.shape.0[0].fixed())
}

/// Spatial output dims of a window over `x`'s spatial axes (fresh when not fixed).
fn window_dims(
    x: &TensorType,
    kernel: &[usize],
    strides: &[usize],
    dilations: &[usize],
    padding: &Padding,
    ceil_mode: bool,
    names: &mut SymbolNamer,
) -> Result<Vec<Dim>, InferError> {
    let spatial = &x.shape.0[2..];
    Ok(match Shape(spatial.to_vec()).as_fixed() {
        Some(sizes) => super::conv_geometry(&sizes, kernel, strides, dilations, padding, ceil_mode)?
            .output
            .into_iter()
            .map(Dim::Fixed)
            .collect(),
        None => spatial.iter().map(|_| names.fresh()).collect(),
    })
}

/// The type rule of [`crate::Op::MaxPoolIndices`]: values and i64 indices of one shape.
pub(super) fn max_pool_indices(
    p: &MaxPoolIndicesAttrs,
    args: &Args,
    names: &mut SymbolNamer,
) -> Result<Vec<TensorType>, InferError> {
    let x = args.get(0)?.ty;
    if x.rank() < 3 || p.kernel.len() != x.rank() - 2 {
        bail!("max pool kernel has {} axes for input {x}", p.kernel.len());
    }
    if !x.dtype.is_float() && !x.dtype.is_int() {
        bail!("max pool does not take {}", x.dtype);
    }
    let mut out = x.shape.0[..2].to_vec();
    out.extend(window_dims(
        x,
        &p.kernel,
        &p.strides,
        &p.dilations,
        &p.padding,
        p.ceil_mode,
        names,
    )?);
    Ok(vec![
        TensorType::new(x.dtype, Shape(out.clone())),
        TensorType::new(DType::I64, Shape(out)),
    ])
}

/// The type rule of [`crate::Op::MaxUnpool`].
pub(super) fn max_unpool(u: &MaxUnpoolAttrs, args: &Args, names: &mut SymbolNamer) -> Result<TensorType, InferError> {
    let x = args.get(0)?.ty;
    let idx = args.get(1)?.ty;
    let rank = x.rank();
    if rank < 3 || u.kernel.len() != rank - 2 {
        bail!("max unpool kernel has {} axes for input {x}", u.kernel.len());
    }
    if !x.dtype.is_numeric() || idx.dtype != DType::I64 || idx.rank() != rank {
        bail!("max unpool needs a numeric input and i64 indices of its rank, got {x} and {idx}");
    }
    i64_list(args, 2, "max unpool output_shape")?;
    if let Some(dims) = const_dims(args, 2, rank, "max unpool output_shape")? {
        return Ok(TensorType::fixed(x.dtype, &dims));
    }
    if args.opt(2).is_some() {
        return Ok(TensorType::new(
            x.dtype,
            Shape((0..rank).map(|_| names.fresh()).collect()),
        ));
    }
    let mut out = x.shape.0[..2].to_vec();
    for (i, d) in x.shape.0[2..].iter().enumerate() {
        out.push(match d.fixed() {
            Some(n) => Dim::Fixed(unpool_size(n, u, i)?),
            None => names.fresh(),
        });
    }
    Ok(TensorType::new(x.dtype, Shape(out)))
}

/// The output size of max unpooling along spatial axis `i` of input size `n`:
/// `(n - 1) * stride - pad_begin - pad_end + kernel`.
pub fn unpool_size(n: usize, u: &MaxUnpoolAttrs, i: usize) -> Result<usize, InferError> {
    let k = u.kernel.len();
    let stride = if u.strides.is_empty() {
        1
    } else {
        *u.strides.get(i).unwrap_or(&0)
    };
    let (begin, end) = if u.pads.is_empty() {
        (0, 0)
    } else {
        (*u.pads.get(i).unwrap_or(&0), *u.pads.get(k + i).unwrap_or(&0))
    };
    if (!u.strides.is_empty() && u.strides.len() != k) || (!u.pads.is_empty() && u.pads.len() != 2 * k) {
        bail!(
            "max unpool strides {:?} or pads {:?} do not fit a {k}-d kernel",
            u.strides,
            u.pads
        );
    }
    n.checked_sub(1)
        .and_then(|v| v.checked_mul(stride))
        .and_then(|v| v.checked_add(u.kernel[i]))
        .and_then(|v| v.checked_sub(begin))
        .and_then(|v| v.checked_sub(end))
        .ok_or_else(|| InferError(format!("max unpool output size of spatial axis {i} is out of range")))
}

/// The type rule of [`crate::Op::GridSample`]: `[N, C, grid spatial dims...]`.
pub(super) fn grid_sample(args: &Args) -> Result<TensorType, InferError> {
    let x = args.get(0)?.ty;
    let grid = args.get(1)?.ty;
    expect_float(x, "grid sample input")?;
    expect_float(grid, "grid sample grid")?;
    let rank = x.rank();
    if rank < 3 || grid.rank() != rank {
        bail!("grid sample needs input and grid of equal rank 3 or more, got {x} and {grid}");
    }
    if let Some(k) = grid.shape.0[rank - 1].fixed() {
        if k != rank - 2 {
            bail!("grid sample grid {grid} must end in {} coordinates", rank - 2);
        }
    }
    if let (Some(a), Some(b)) = (x.shape.0[0].fixed(), grid.shape.0[0].fixed()) {
        if a != b {
            bail!("grid sample input {x} and grid {grid} differ in batch");
        }
    }
    let mut out = x.shape.0[..2].to_vec();
    out.extend(grid.shape.0[1..rank - 1].iter().cloned());
    Ok(TensorType::new(x.dtype, Shape(out)))
}

/// The type rule of [`crate::Op::AffineGrid`]: `[N, spatial..., n]`.
pub(super) fn affine_grid(args: &Args, names: &mut SymbolNamer) -> Result<TensorType, InferError> {
    let theta = args.get(0)?.ty;
    expect_float(theta, "affine grid theta")?;
    let len = i64_list(args, 1, "affine grid size")?
        .ok_or_else(|| InferError("affine grid size must have a fixed length".into()))?;
    if len != 4 && len != 5 {
        bail!("affine grid size must have 4 or 5 entries, got {len}");
    }
    let n = len - 2;
    if theta.rank() != 3
        || theta.shape.0[1].fixed().is_some_and(|d| d != n)
        || theta.shape.0[2].fixed().is_some_and(|d| d != n + 1)
    {
        bail!("affine grid theta must be [N, {n}, {}], got {theta}", n + 1);
    }
    let mut out = vec![theta.shape.0[0].clone()];
    match const_dims(args, 1, len, "affine grid size")? {
        Some(dims) => out.extend(dims[2..].iter().map(|&d| Dim::Fixed(d))),
        None => out.extend((0..n).map(|_| names.fresh())),
    }
    out.push(Dim::Fixed(n));
    Ok(TensorType::new(theta.dtype, Shape(out)))
}

/// The type rule of [`crate::Op::Col2Im`]: `[N, C, image...]`.
pub(super) fn col2im(args: &Args, names: &mut SymbolNamer) -> Result<TensorType, InferError> {
    let x = args.get(0)?.ty;
    expect_float(x, "col2im input")?;
    if x.rank() != 3 {
        bail!("col2im input must be [N, C * block, L], got {x}");
    }
    let n = i64_list(args, 1, "col2im image_shape")?;
    let nb = i64_list(args, 2, "col2im block_shape")?;
    let n = match (n, nb) {
        (Some(a), Some(b)) if a == b && a > 0 => a,
        _ => {
            bail!("col2im image_shape and block_shape must have one fixed, equal, positive length")
        }
    };
    let block = const_dims(args, 2, n, "col2im block_shape")?;
    let channels = match (&x.shape.0[1], &block) {
        (Dim::Fixed(c), Some(b)) => {
            let k: usize = b.iter().product();
            if k == 0 || c % k != 0 {
                bail!("col2im input {x} does not divide into blocks of {b:?}");
            }
            Dim::Fixed(c / k)
        }
        _ => names.fresh(),
    };
    let mut out = vec![x.shape.0[0].clone(), channels];
    match const_dims(args, 1, n, "col2im image_shape")? {
        Some(dims) => out.extend(dims.into_iter().map(Dim::Fixed)),
        None => out.extend((0..n).map(|_| names.fresh())),
    }
    Ok(TensorType::new(x.dtype, Shape(out)))
}

/// The type rule of [`crate::Op::CenterCropPad`].
pub(super) fn center_crop_pad(
    c: &CenterCropPadAttrs,
    args: &Args,
    names: &mut SymbolNamer,
) -> Result<TensorType, InferError> {
    let x = args.get(0)?.ty;
    for (i, &a) in c.axes.iter().enumerate() {
        if a >= x.rank() || c.axes[..i].contains(&a) {
            bail!("center crop pad axes {:?} do not fit {x}", c.axes);
        }
    }
    if i64_list(args, 1, "center crop pad shape")?.is_some_and(|l| l != c.axes.len()) {
        bail!("center crop pad shape must have {} entries", c.axes.len());
    }
    let mut out = x.shape.0.clone();
    let values = const_dims(args, 1, c.axes.len(), "center crop pad shape")?;
    for (i, &a) in c.axes.iter().enumerate() {
        out[a] = match &values {
            Some(v) => Dim::Fixed(v[i]),
            None => names.fresh(),
        };
    }
    Ok(TensorType::new(x.dtype, Shape(out)))
}

/// The type rule of [`crate::Op::RoiAlign`]: `[R, C, output_height, output_width]`.
pub(super) fn roi_align(r: &RoiAlignAttrs, args: &Args) -> Result<TensorType, InferError> {
    let x = args.get(0)?.ty;
    let rois = args.get(1)?.ty;
    let idx = args.get(2)?.ty;
    expect_float(x, "roi align input")?;
    if x.rank() != 4 || rois.rank() != 2 || rois.dtype != x.dtype || idx.rank() != 1 || !idx.dtype.is_int() {
        bail!("roi align needs X [N, C, H, W], rois [R, 4] of its dtype and integer batch indices [R], got {x}, {rois} and {idx}");
    }
    if rois.shape.0[1].fixed().is_some_and(|d| d != 4) {
        bail!("roi align rois must be [R, 4], got {rois}");
    }
    if let (Some(a), Some(b)) = (rois.shape.0[0].fixed(), idx.shape.0[0].fixed()) {
        if a != b {
            bail!("roi align has {a} rois but {b} batch indices");
        }
    }
    let out = vec![
        rois.shape.0[0].clone(),
        x.shape.0[1].clone(),
        Dim::Fixed(r.output_height),
        Dim::Fixed(r.output_width),
    ];
    Ok(TensorType::new(x.dtype, Shape(out)))
}

/// The type rule of [`crate::Op::DeformConv`]: `[N, oC, conv output dims...]`.
pub(super) fn deform_conv(d: &DeformConvAttrs, args: &Args, names: &mut SymbolNamer) -> Result<TensorType, InferError> {
    let x = args.get(0)?.ty;
    let w = args.get(1)?.ty;
    let offset = args.get(2)?.ty;
    expect_float(x, "deform conv input")?;
    let rank = x.rank();
    if rank < 3 || w.rank() != rank || offset.rank() != rank || w.dtype != x.dtype || offset.dtype != x.dtype {
        bail!("deform conv needs input, weight and offset of equal rank 3 or more and one dtype, got {x}, {w} and {offset}");
    }
    if d.kernel.len() != rank - 2 || d.group == 0 || d.offset_group == 0 {
        bail!(
            "deform conv kernel {:?}, group {} or offset_group {} do not fit {x}",
            d.kernel,
            d.group,
            d.offset_group
        );
    }
    for (i, o) in [(3, "bias"), (4, "mask")] {
        if let Some(op) = args.opt(i) {
            if op.ty.dtype != x.dtype {
                bail!("deform conv {o} must be {}, got {}", x.dtype, op.ty);
            }
        }
    }
    let mut out = vec![x.shape.0[0].clone(), w.shape.0[0].clone()];
    if Shape(x.shape.0[2..].to_vec()).is_fixed() {
        let padding = Padding::Explicit(d.pads.clone());
        out.extend(window_dims(
            x,
            &d.kernel,
            &d.strides,
            &d.dilations,
            &padding,
            false,
            names,
        )?);
    } else {
        out.extend(offset.shape.0[2..].iter().cloned());
    }
    Ok(TensorType::new(x.dtype, Shape(out)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::op::{CoordTransform, NearestMode, ResizeMode};

    /// Attributes with a 3-wide kernel, unit dilations and no output padding.
    fn ct(padding: Padding, strides: Vec<usize>, output_shape: Option<Vec<usize>>) -> ConvTransposeAttrs {
        let n = strides.len();
        ConvTransposeAttrs {
            kernel: vec![3; n],
            strides,
            dilations: vec![1; n],
            padding,
            output_padding: vec![0; n],
            output_shape,
            group: 1,
        }
    }

    #[test]
    fn conv_transpose_shapes() {
        let g = conv_transpose_geometry(&[3, 3], &ct(Padding::Explicit(vec![0; 4]), vec![1, 1], None)).unwrap();
        assert_eq!((g.output, g.pad_begin), (vec![5, 5], vec![0, 0]));
        let g = conv_transpose_geometry(&[3, 3], &ct(Padding::Explicit(vec![1, 2, 1, 2]), vec![3, 2], None)).unwrap();
        assert_eq!((g.output, g.pad_begin), (vec![7, 3], vec![1, 2]));
        // SAME_UPPER: output 6, total padding 1 goes to the end.
        let g = conv_transpose_geometry(&[3], &ct(Padding::SameUpper, vec![2], None)).unwrap();
        assert_eq!((g.output, g.pad_begin), (vec![6], vec![0]));
        let g = conv_transpose_geometry(&[3], &ct(Padding::SameLower, vec![2], None)).unwrap();
        assert_eq!((g.output, g.pad_begin), (vec![6], vec![1]));
        // An output_shape larger than the full extent grows at the end.
        let g = conv_transpose_geometry(
            &[3, 3],
            &ct(Padding::Explicit(vec![0; 4]), vec![3, 2], Some(vec![10, 8])),
        )
        .unwrap();
        assert_eq!((g.output, g.pad_begin), (vec![10, 8], vec![0, 0]));
        assert!(conv_transpose_geometry(&[3], &ct(Padding::Explicit(vec![3, 3]), vec![1], None)).is_err());
    }

    /// Nearest half-pixel attributes over `axes`.
    fn rz(axes: Vec<usize>, aspect: AspectPolicy) -> ResizeAttrs {
        ResizeAttrs {
            mode: ResizeMode::Nearest,
            coord: CoordTransform::HalfPixel,
            nearest: NearestMode::RoundPreferFloor,
            cubic_coeff_a: -0.75,
            exclude_outside: false,
            extrapolation_value: 0.0,
            aspect,
            antialias: false,
            axes,
        }
    }

    #[test]
    fn resize_sizes_and_scales() {
        let g = resize_geometry(
            &[1, 1, 4, 4],
            &rz(vec![0, 1, 2, 3], AspectPolicy::Stretch),
            Some(&[1.0, 1.0, 0.6, 0.6]),
            None,
        )
        .unwrap();
        assert_eq!(g.output, vec![1, 1, 2, 2]);
        let g = resize_geometry(
            &[1, 1, 2, 2],
            &rz(vec![2, 3], AspectPolicy::NotLarger),
            None,
            Some(&[7, 8]),
        )
        .unwrap();
        assert_eq!((g.output, g.scales[2]), (vec![1, 1, 7, 7], 3.5));
        let g = resize_geometry(
            &[1, 1, 2, 2],
            &rz(vec![2, 3], AspectPolicy::NotSmaller),
            None,
            Some(&[7, 8]),
        )
        .unwrap();
        assert_eq!(g.output, vec![1, 1, 8, 8]);
        assert!(resize_geometry(&[2], &rz(vec![0], AspectPolicy::Stretch), Some(&[-1.0]), None).is_err());
        assert!(resize_geometry(&[2], &rz(vec![1], AspectPolicy::Stretch), Some(&[1.0]), None).is_err());
    }
}
