//! Sampling at computed positions: `GridSample`, `AffineGrid`, `RoiAlign` and
//! `DeformConv`; floats only, computed in the compute type (`f32` for `f16` / `bf16` /
//! `f32`, `f64` for `f64`), coordinates included, and rounded once per output element.
//!
//! Orders of the numerical contract:
//!
//! - N-linear and N-cubic interpolation (`GridSample`, `DeformConv`) nest the axes: the
//!   last spatial axis is interpolated first. For each combination of taps on the outer
//!   axes, `acc = 0; acc = acc + w * v` over the taps of the next axis in ascending
//!   position, and the results feed the axis outside it the same way. A tap outside the
//!   input with zero padding has `v = 0`.
//! - `GridSample` coordinates: `((g + 1) / 2) * (len - 1)` with `align_corners`, else
//!   `((g + 1) * len - 1) / 2`; nearest rounds half to even. Out-of-range coordinates are
//!   clamped (`border`) or reflected (`reflection`) before the taps are taken; linear taps
//!   are `floor(x)` and `floor(x) + 1` with weights `1 - f` and `f`, cubic taps
//!   `floor(x) - 1 ..= floor(x) + 2` with the Keys weights of `a = -0.75`.
//! - `AffineGrid`: base coordinates are computed in `f64` and rounded once; each output
//!   coordinate is `acc = 0; acc = acc + theta[k][j] * base[j]` for `j` in order, the last
//!   base entry being 1.
//! - `RoiAlign`: per sample, `s = ((w1 * v1 + w2 * v2) + w3 * v3) + w4 * v4`; average mode
//!   sums the samples of a bin in row-major order from zero and divides by their count,
//!   max mode takes the first largest of `w_i * v_i` over the samples (the ONNX reference
//!   and ONNX Runtime rule).
//! - `DeformConv`: per output element, `acc = 0`; for each input channel of the group
//!   (ascending), for each kernel position (row-major), `s` is the N-linear sample at the
//!   offset position (zero outside), times the mask when given, and
//!   `acc = acc + w * s`; then `y = acc + bias`.

use lightos_ir::infer::conv_geometry;
use lightos_ir::op::{DeformConvAttrs, GridMode, GridPadding, GridSampleAttrs, Padding, RoiAlignAttrs};
use lightos_ir::{DType, Tensor};

use super::scalar::{elems, with_float, Float, FloatElem};
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

/// Row-major strides of `dims`.
fn row_strides(dims: &[usize]) -> Vec<usize> {
    let mut s = vec![1usize; dims.len()];
    for a in (0..dims.len().saturating_sub(1)).rev() {
        s[a] = s[a + 1] * dims[a + 1];
    }
    s
}

/// The taps of one axis: `(element offset, or None for a zero, weight)`.
type AxisTaps<C> = Vec<(Option<usize>, C)>;

/// `x` reflected into `[lo, hi]` by the near border, as often as needed.
fn reflect<C: Float>(x: C, lo: C, hi: C) -> C {
    let range = hi - lo;
    if range <= C::ZERO {
        return lo;
    }
    let two = C::ONE + C::ONE;
    let fold = |d: C| {
        let n = (d / range).floor();
        let r = d - n * range;
        let even = n - two * (n / two).floor() == C::ZERO;
        (r, even)
    };
    if x < lo {
        let (r, even) = fold(lo - x);
        if even {
            lo + r
        } else {
            hi - r
        }
    } else if x > hi {
        let (r, even) = fold(x - hi);
        if even {
            hi - r
        } else {
            lo + r
        }
    } else {
        x
    }
}

/// The Keys cubic weights of taps `-1, 0, 1, 2` around a point at fraction `t` with
/// `a = -0.75`, by the formulas of the ONNX reference.
fn cubic_weights<C: Float>(t: C) -> [C; 4] {
    let c = |v: f64| C::from_f64(v);
    let a = c(-0.75);
    let (one, two) = (C::ONE, c(2.0));
    let t = t.abs();
    let far = |x: C| ((a * x - c(5.0) * a) * x + c(8.0) * a) * x - c(4.0) * a;
    let near = |x: C| ((a + two) * x - (a + c(3.0))) * x * x + one;
    [far(t + one), near(t), near(one - t), far(two - t)]
}

/// How `GridSample` reads one axis of length `len`.
struct GridAxis<C> {
    /// The length.
    len: usize,
    /// Lowest coordinate of the sampled region.
    lo: C,
    /// Highest coordinate of the sampled region.
    hi: C,
}

impl<C: Float> GridAxis<C> {
    /// The element offset of integer position `i` (stride `stride`) under `padding`, or
    /// `None` for a zero.
    fn at(&self, i: i64, stride: usize, padding: GridPadding) -> Option<usize> {
        let last = self.len as i64 - 1;
        let i = match padding {
            GridPadding::Zeros => {
                if i < 0 || i > last {
                    return None;
                }
                i
            }
            GridPadding::Border => i.clamp(0, last),
            GridPadding::Reflection => {
                let r = reflect(C::from_f64(i as f64), self.lo, self.hi);
                (r.to_f64() as i64).clamp(0, last)
            }
        };
        Some(i as usize * stride)
    }
}

/// ONNX `GridSample` over any number of spatial axes. See the module docs.
pub(crate) fn grid_sample(g: &GridSampleAttrs, x: &Tensor, grid: &Tensor) -> Result<Tensor, EvalError> {
    if grid.dtype() != x.dtype() && !grid.dtype().is_float() {
        invalid!("GridSample grid must be a float tensor, got {}", grid.dtype());
    }
    let dt = x.dtype();
    with_float!(dt, E => grid_sample_typed::<E>(g, x, grid), _ => Err(unsupported("GridSample", dt)))
}

/// [`grid_sample`] for one element type.
fn grid_sample_typed<E: FloatElem>(g: &GridSampleAttrs, x: &Tensor, grid: &Tensor) -> Result<Tensor, EvalError> {
    let (xd, gd) = (x.dims(), grid.dims());
    let rank = xd.len();
    if rank < 3 || gd.len() != rank || gd[0] != xd[0] || gd[rank - 1] != rank - 2 {
        invalid!("GridSample input {xd:?} and grid {gd:?} do not fit");
    }
    let n = rank - 2;
    let spatial = &xd[2..];
    if spatial.contains(&0) {
        invalid!("GridSample input {xd:?} has an empty spatial axis");
    }
    let (batch, channels) = (xd[0], xd[1]);
    let c = |v: f64| E::C::from_f64(v);
    let axes: Vec<GridAxis<E::C>> = spatial
        .iter()
        .map(|&len| {
            let l = c(len as f64);
            if g.align_corners {
                GridAxis {
                    len,
                    lo: E::C::ZERO,
                    hi: l - E::C::ONE,
                }
            } else {
                GridAxis {
                    len,
                    lo: c(-0.5),
                    hi: l - c(0.5),
                }
            }
        })
        .collect();
    let strides = row_strides(spatial);
    let out_spatial = &gd[1..rank - 1];
    let out_len = numel(out_spatial)?;
    let in_len = numel(spatial)?;
    numel(&[batch, channels, in_len])?;
    let mut out_dims = vec![batch, channels];
    out_dims.extend(out_spatial);
    let mut out = vec![E::zeroed(); numel(&out_dims)?];
    let xv = elems::<E>(x)?;
    let gv: Vec<E::C> = grid.to_f64_vec().into_iter().map(c).collect();
    let mut taps: Vec<AxisTaps<E::C>> = vec![Vec::new(); n];
    for b in 0..batch {
        for pos in 0..out_len {
            let coords = &gv[(b * out_len + pos) * n..(b * out_len + pos + 1) * n];
            for (a, ax) in axes.iter().enumerate() {
                // The grid lists coordinates innermost axis first.
                let v = coords[n - 1 - a];
                let l = c(ax.len as f64);
                let two = c(2.0);
                let mut p = if g.align_corners {
                    (v + E::C::ONE) / two * (l - E::C::ONE)
                } else {
                    ((v + E::C::ONE) * l - E::C::ONE) / two
                };
                if g.mode == GridMode::Nearest {
                    p = p.round_even();
                }
                if p < ax.lo || p > ax.hi {
                    p = match g.padding {
                        GridPadding::Border => {
                            let hi = l - E::C::ONE;
                            if p < E::C::ZERO {
                                E::C::ZERO
                            } else if p > hi {
                                hi
                            } else {
                                p
                            }
                        }
                        GridPadding::Reflection => reflect(p, ax.lo, ax.hi),
                        GridPadding::Zeros => p,
                    };
                }
                let base = p.floor();
                let i0 = base.to_f64() as i64;
                let t = p - base;
                taps[a].clear();
                match g.mode {
                    GridMode::Nearest => taps[a].push((ax.at(p.to_f64() as i64, strides[a], g.padding), E::C::ONE)),
                    GridMode::Linear => {
                        taps[a].push((ax.at(i0, strides[a], g.padding), E::C::ONE - t));
                        taps[a].push((ax.at(i0.saturating_add(1), strides[a], g.padding), t));
                    }
                    GridMode::Cubic => {
                        for (k, w) in cubic_weights(t).into_iter().enumerate() {
                            let i = i0.saturating_add(k as i64 - 1);
                            taps[a].push((ax.at(i, strides[a], g.padding), w));
                        }
                    }
                }
            }
            for ch in 0..channels {
                let plane_at = (b * channels + ch) * in_len;
                let v = nested_read(xv, plane_at, &taps);
                out[(b * channels + ch) * out_len + pos] = E::narrow(v);
            }
        }
    }
    Ok(Tensor::from_vec(out_dims, out)?)
}

/// [`nested`] reading stored elements of `xv` from `base` on.
fn nested_read<E: FloatElem>(xv: &[E], base: usize, taps: &[AxisTaps<E::C>]) -> E::C {
    let Some((first, rest)) = taps.split_first() else {
        return xv[base].widen();
    };
    let mut acc = E::C::ZERO;
    for &(off, w) in first {
        let v = match off {
            Some(off) => nested_read(xv, base + off, rest),
            None => E::C::ZERO,
        };
        acc = acc + w * v;
    }
    acc
}

/// ONNX `AffineGrid`: `[N, D?, H, W, n]` sampling coordinates from `theta` `[N, n, n + 1]`
/// and `size` `[N, C, D?, H, W]`. See the module docs.
pub(crate) fn affine_grid(align_corners: bool, theta: &Tensor, size: &Tensor) -> Result<Tensor, EvalError> {
    let dt = theta.dtype();
    with_float!(dt, E => affine_grid_typed::<E>(align_corners, theta, size), _ => Err(unsupported("AffineGrid", dt)))
}

/// [`affine_grid`] for one element type.
fn affine_grid_typed<E: FloatElem>(align_corners: bool, theta: &Tensor, size: &Tensor) -> Result<Tensor, EvalError> {
    let sizes = match size.to_i64_vec() {
        Some(v) if (v.len() == 4 || v.len() == 5) && v.iter().all(|&d| d >= 0) => {
            v.into_iter().map(|d| d as usize).collect::<Vec<_>>()
        }
        _ => invalid!("AffineGrid size must hold 4 or 5 non-negative integers"),
    };
    let n = sizes.len() - 2;
    let td = theta.dims();
    if td != [sizes[0], n, n + 1] {
        invalid!("AffineGrid theta {td:?} does not fit size {sizes:?}");
    }
    let spatial = &sizes[2..];
    // Base coordinates per spatial axis, in f64, rounded once.
    let base: Vec<Vec<E::C>> = spatial
        .iter()
        .map(|&len| {
            (0..len)
                .map(|i| {
                    let v = if align_corners {
                        if len <= 1 {
                            0.0
                        } else {
                            -1.0 + i as f64 * (2.0 / (len - 1) as f64)
                        }
                    } else {
                        let step = 2.0 / len as f64;
                        (-1.0 + step / 2.0) + i as f64 * step
                    };
                    E::C::from_f64(v)
                })
                .collect()
        })
        .collect();
    let tv: Vec<E::C> = elems::<E>(theta)?.iter().map(|v| v.widen()).collect();
    let mut out_dims = vec![sizes[0]];
    out_dims.extend(spatial);
    out_dims.push(n);
    let out_len = numel(spatial)?;
    let mut out = Vec::with_capacity(numel(&out_dims)?);
    let mut coord = vec![0usize; n];
    let mut point = vec![E::C::ZERO; n + 1];
    for b in 0..sizes[0] {
        let th = &tv[b * n * (n + 1)..(b + 1) * n * (n + 1)];
        for pos in 0..out_len {
            let mut rem = pos;
            for a in (0..n).rev() {
                coord[a] = rem % spatial[a];
                rem /= spatial[a];
            }
            // (x, y, z, 1): x runs along the last spatial axis.
            for (j, slot) in point.iter_mut().take(n).enumerate() {
                let a = n - 1 - j;
                *slot = base[a][coord[a]];
            }
            point[n] = E::C::ONE;
            for k in 0..n {
                let mut acc = E::C::ZERO;
                for j in 0..=n {
                    acc = acc + th[k * (n + 1) + j] * point[j];
                }
                out.push(E::narrow(acc));
            }
        }
    }
    Ok(Tensor::from_vec(out_dims, out)?)
}

/// The most samples `RoiAlign` takes along one axis of a bin.
const MAX_ROI_SAMPLES: f64 = 4096.0;

/// The most samples `RoiAlign` takes in one bin.
const MAX_ROI_BIN_SAMPLES: usize = 1 << 22;

/// One bilinear sample of `RoiAlign`: four offsets into a plane and their weights.
struct RoiSample<C> {
    /// Offsets of the four neighbours.
    pos: [usize; 4],
    /// Their weights.
    w: [C; 4],
}

/// ONNX `RoiAlign` over `[N, C, H, W]` inputs. See the module docs.
pub(crate) fn roi_align(r: &RoiAlignAttrs, x: &Tensor, rois: &Tensor, batch: &Tensor) -> Result<Tensor, EvalError> {
    if rois.dtype() != x.dtype() {
        invalid!("RoiAlign rois must be {}, got {}", x.dtype(), rois.dtype());
    }
    let dt = x.dtype();
    with_float!(dt, E => roi_align_typed::<E>(r, x, rois, batch), _ => Err(unsupported("RoiAlign", dt)))
}

/// [`roi_align`] for one element type.
fn roi_align_typed<E: FloatElem>(
    r: &RoiAlignAttrs,
    x: &Tensor,
    rois: &Tensor,
    batch: &Tensor,
) -> Result<Tensor, EvalError> {
    let xd = x.dims();
    let Some(indices) = batch.to_i64_vec() else {
        invalid!("RoiAlign batch_indices must be integers, got {}", batch.dtype());
    };
    let nrois = indices.len();
    if xd.len() != 4 || rois.dims() != [nrois, 4] {
        invalid!(
            "RoiAlign input {xd:?}, rois {:?} and {nrois} batch indices do not fit",
            rois.dims()
        );
    }
    let (n, channels, height, width) = (xd[0], xd[1], xd[2], xd[3]);
    if height == 0 || width == 0 {
        invalid!("RoiAlign input {xd:?} is empty");
    }
    let (oh, ow) = (r.output_height, r.output_width);
    let c = |v: f64| E::C::from_f64(v);
    let xv = elems::<E>(x)?;
    let rv = elems::<E>(rois)?;
    let plane = height * width;
    numel(&[n, channels, plane])?;
    let out_dims = vec![nrois, channels, oh, ow];
    let mut out = vec![E::zeroed(); numel(&out_dims)?];
    let (hf, wf) = (c(height as f64), c(width as f64));
    for (ri, &bi) in indices.iter().enumerate() {
        let Some(b) = usize::try_from(bi).ok().filter(|&b| b < n) else {
            invalid!("RoiAlign batch index {bi} is out of range for {n} images");
        };
        let scale = c(r.spatial_scale as f64);
        let offset = if r.half_pixel { c(0.5) } else { E::C::ZERO };
        let roi: Vec<E::C> = rv[ri * 4..ri * 4 + 4]
            .iter()
            .map(|v| v.widen() * scale - offset)
            .collect();
        let (sx, sy) = (roi[0], roi[1]);
        let (mut rw, mut rh) = (roi[2] - roi[0], roi[3] - roi[1]);
        if !r.half_pixel {
            // Malformed rois become one pixel wide (NaN stays NaN).
            if rw < E::C::ONE {
                rw = E::C::ONE;
            }
            if rh < E::C::ONE {
                rh = E::C::ONE;
            }
        }
        let bin_h = rh / c(oh as f64);
        let bin_w = rw / c(ow as f64);
        let grid = |extent: C2<E>, bins: usize| -> Result<usize, EvalError> {
            let g = if r.sampling_ratio > 0 {
                r.sampling_ratio as f64
            } else {
                (extent / c(bins as f64)).ceil().to_f64()
            };
            if g.is_nan() || g <= 0.0 {
                Ok(0)
            } else if g > MAX_ROI_SAMPLES {
                invalid!("RoiAlign needs {g} samples per bin, too many")
            } else {
                Ok(g as usize)
            }
        };
        let (gh, gw) = (grid(rh, oh)?, grid(rw, ow)?);
        if gh * gw > MAX_ROI_BIN_SAMPLES {
            invalid!("RoiAlign needs {gh} x {gw} samples per bin, too many");
        }
        let count = c((gh * gw).max(1) as f64);
        let mut samples: Vec<RoiSample<E::C>> = Vec::with_capacity(gh * gw);
        for ph in 0..oh {
            for pw in 0..ow {
                samples.clear();
                for iy in 0..gh {
                    let yy = sy + c(ph as f64) * bin_h + c(iy as f64 + 0.5) * bin_h / c(gh as f64);
                    for ix in 0..gw {
                        let xx = sx + c(pw as f64) * bin_w + c(ix as f64 + 0.5) * bin_w / c(gw as f64);
                        samples.push(bilinear_sample(yy, xx, height, width, hf, wf));
                    }
                }
                for ch in 0..channels {
                    let pv = &xv[(b * channels + ch) * plane..(b * channels + ch + 1) * plane];
                    let terms =
                        |s: &RoiSample<E::C>| -> [E::C; 4] { [0, 1, 2, 3].map(|k| s.w[k] * pv[s.pos[k]].widen()) };
                    let v = if r.max {
                        let mut best: Option<E::C> = None;
                        for s in &samples {
                            for t in terms(s) {
                                if best.is_none_or(|m| t > m) {
                                    best = Some(t);
                                }
                            }
                        }
                        best.unwrap_or(E::C::ZERO)
                    } else {
                        let mut acc = E::C::ZERO;
                        for s in &samples {
                            let [t1, t2, t3, t4] = terms(s);
                            acc = acc + (((t1 + t2) + t3) + t4);
                        }
                        acc / count
                    };
                    out[((ri * channels + ch) * oh + ph) * ow + pw] = E::narrow(v);
                }
            }
        }
    }
    Ok(Tensor::from_vec(out_dims, out)?)
}

/// Shorthand for the compute type of `E`.
type C2<E> = <E as FloatElem>::C;

/// The bilinear neighbours and weights of `(y, x)` as `RoiAlign` takes them: positions
/// more than one pixel outside give zero weights; others are clamped into the input.
fn bilinear_sample<C: Float>(y: C, x: C, height: usize, width: usize, hf: C, wf: C) -> RoiSample<C> {
    let minus_one = -C::ONE;
    if !(y >= minus_one && y <= hf && x >= minus_one && x <= wf) {
        return RoiSample {
            pos: [0; 4],
            w: [C::ZERO; 4],
        };
    }
    let y = if y < C::ZERO { C::ZERO } else { y };
    let x = if x < C::ZERO { C::ZERO } else { x };
    let axis = |v: C, len: usize| -> (usize, usize, C) {
        let low = (v.to_f64() as usize).min(len - 1);
        if low >= len - 1 {
            (len - 1, len - 1, C::from_f64((len - 1) as f64))
        } else {
            (low, low + 1, v)
        }
    };
    let (y_low, y_high, y) = axis(y, height);
    let (x_low, x_high, x) = axis(x, width);
    let ly = y - C::from_f64(y_low as f64);
    let lx = x - C::from_f64(x_low as f64);
    let (hy, hx) = (C::ONE - ly, C::ONE - lx);
    RoiSample {
        pos: [
            y_low * width + x_low,
            y_low * width + x_high,
            y_high * width + x_low,
            y_high * width + x_high,
        ],
        w: [hy * hx, hy * lx, ly * hx, ly * lx],
    }
}

/// ONNX `DeformConv` over any number of spatial axes. See the module docs.
pub(crate) fn deform_conv(
    d: &DeformConvAttrs,
    x: &Tensor,
    w: &Tensor,
    offset: &Tensor,
    bias: Option<&Tensor>,
    mask: Option<&Tensor>,
) -> Result<Tensor, EvalError> {
    let dt = x.dtype();
    if [Some(w), Some(offset), bias, mask]
        .into_iter()
        .flatten()
        .any(|t| t.dtype() != dt)
    {
        invalid!("DeformConv operands must share one dtype");
    }
    with_float!(dt, E => deform_conv_typed::<E>(d, x, w, offset, bias, mask), _ => Err(unsupported("DeformConv", dt)))
}

/// [`deform_conv`] for one element type.
fn deform_conv_typed<E: FloatElem>(
    d: &DeformConvAttrs,
    x: &Tensor,
    w: &Tensor,
    offset: &Tensor,
    bias: Option<&Tensor>,
    mask: Option<&Tensor>,
) -> Result<Tensor, EvalError> {
    let (xd, wd) = (x.dims(), w.dims());
    let rank = xd.len();
    if rank < 3 || wd.len() != rank {
        invalid!("DeformConv input {xd:?} and weight {wd:?} do not fit");
    }
    let n = rank - 2;
    let kernel = wd[2..].to_vec();
    if !d.kernel.is_empty() && d.kernel != kernel {
        invalid!("DeformConv kernel_shape {:?} disagrees with weight {wd:?}", d.kernel);
    }
    let list = |v: &[usize], len: usize, def: usize| {
        if v.is_empty() {
            vec![def; len]
        } else {
            v.to_vec()
        }
    };
    let strides = list(&d.strides, n, 1);
    let dilations = list(&d.dilations, n, 1);
    let pads = list(&d.pads, 2 * n, 0);
    let (batch, cin, cout, cin_g) = (xd[0], xd[1], wd[0], wd[1]);
    let (group, og) = (d.group, d.offset_group);
    if group == 0 || og == 0 || cout % group != 0 || cin_g.checked_mul(group) != Some(cin) || cin % og != 0 {
        invalid!("DeformConv input {xd:?}, weight {wd:?}, group {group} and offset_group {og} do not fit");
    }
    let spatial = &xd[2..];
    if spatial.contains(&0) {
        invalid!("DeformConv input {xd:?} has an empty spatial axis");
    }
    let geo = conv_geometry(
        spatial,
        &kernel,
        &strides,
        &dilations,
        &Padding::Explicit(pads.clone()),
        false,
    )?;
    let klen = numel(&kernel)?;
    let out_len = numel(&geo.output)?;
    let mut want = vec![batch, og * klen * n];
    want.extend(&geo.output);
    if offset.dims() != want {
        invalid!("DeformConv offset {:?} must be {want:?}", offset.dims());
    }
    want[1] = og * klen;
    if let Some(m) = mask {
        if m.dims() != want {
            invalid!("DeformConv mask {:?} must be {want:?}", m.dims());
        }
    }
    let biases = match bias {
        Some(b) if b.len() != cout => invalid!("DeformConv bias has {} elements for {cout} channels", b.len()),
        Some(b) => Some(elems::<E>(b)?),
        None => None,
    };
    let xv = elems::<E>(x)?;
    let wv = elems::<E>(w)?;
    let ov = elems::<E>(offset)?;
    let mv = mask.map(elems::<E>).transpose()?;
    let in_len = numel(spatial)?;
    numel(&[batch, cin, in_len])?;
    let strides_in = row_strides(spatial);
    let c = |v: f64| E::C::from_f64(v);
    let (cout_g, cin_og) = (cout / group, cin / og);
    let mut out_dims = vec![batch, cout];
    out_dims.extend(&geo.output);
    let mut out = vec![E::zeroed(); numel(&out_dims)?];
    let mut o = vec![0usize; n];
    let mut k = vec![0usize; n];
    let mut taps: Vec<AxisTaps<E::C>> = vec![Vec::new(); n];
    for nb in 0..batch {
        for pos in 0..out_len {
            let mut rem = pos;
            for a in (0..n).rev() {
                o[a] = rem % geo.output[a];
                rem /= geo.output[a];
            }
            // Samples per (offset group, kernel position), shared by the channels.
            let mut samples: Vec<Vec<AxisTaps<E::C>>> = Vec::with_capacity(og * klen);
            for g in 0..og {
                for kf in 0..klen {
                    let mut rem = kf;
                    for a in (0..n).rev() {
                        k[a] = rem % kernel[a];
                        rem /= kernel[a];
                    }
                    for a in 0..n {
                        let ch = ((g * klen + kf) * n + a) * out_len + pos;
                        let off = ov[nb * og * klen * n * out_len + ch].widen();
                        let start = c((o[a] * strides[a] + k[a] * dilations[a]) as f64) - c(pads[a] as f64);
                        let p = start + off;
                        let base = p.floor();
                        let i0 = base.to_f64() as i64;
                        let t = p - base;
                        let at = |i: i64| (i >= 0 && i < spatial[a] as i64).then(|| i as usize * strides_in[a]);
                        taps[a].clear();
                        taps[a].push((at(i0), E::C::ONE - t));
                        taps[a].push((at(i0.saturating_add(1)), t));
                    }
                    samples.push(taps.clone());
                }
            }
            for co in 0..cout {
                let g = co / cout_g;
                let mut acc = E::C::ZERO;
                for ci in g * cin_g..(g + 1) * cin_g {
                    let ogi = ci / cin_og;
                    let xbase = (nb * cin + ci) * in_len;
                    let wbase = (co * cin_g + (ci - g * cin_g)) * klen;
                    for kf in 0..klen {
                        let mut s = nested_read(xv, xbase, &samples[ogi * klen + kf]);
                        if let Some(m) = mv {
                            s = s * m[(nb * og * klen + ogi * klen + kf) * out_len + pos].widen();
                        }
                        acc = acc + wv[wbase + kf].widen() * s;
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

    /// `GridSample` attributes.
    fn gs(mode: GridMode, padding: GridPadding, align_corners: bool) -> GridSampleAttrs {
        GridSampleAttrs {
            mode,
            padding,
            align_corners,
        }
    }

    #[test]
    fn grid_sample_linear_nearest_and_padding() {
        // A 1x3 row [0, 1, 2]; grid x in [-1, 1], y = 0.
        let x = t(&[1, 1, 1, 3], &[0., 1., 2.]);
        let grid = t(&[1, 1, 3, 2], &[-1., 0., 0., 0., 1., 0.]);
        let y = grid_sample(&gs(GridMode::Linear, GridPadding::Zeros, true), &x, &grid).unwrap();
        assert_eq!(f(&y), vec![0., 1., 2.]);
        // Not aligned: x = -1 is the left edge, position -0.5: half of element 0 and a zero.
        let y = grid_sample(&gs(GridMode::Linear, GridPadding::Zeros, false), &x, &grid).unwrap();
        assert_eq!(f(&y), vec![0., 1., 1.]);
        let y = grid_sample(&gs(GridMode::Linear, GridPadding::Border, false), &x, &grid).unwrap();
        assert_eq!(f(&y), vec![0., 1., 2.]);
        // Nearest rounds half to even: positions 0.5 -> 0, 2.5 -> 2, 3.5 -> 4 (clamped to 3).
        let x4 = t(&[1, 1, 1, 4], &[0., 1., 2., 3.]);
        let grid = t(&[1, 1, 3, 2], &[-0.5, 0., 0.5, 0., 1., 0.]);
        let y = grid_sample(&gs(GridMode::Nearest, GridPadding::Border, false), &x4, &grid).unwrap();
        assert_eq!(f(&y), vec![0., 2., 3.]);
        assert!(grid_sample(
            &gs(GridMode::Linear, GridPadding::Zeros, true),
            &x,
            &t(&[1, 1, 3, 1], &[0.; 3])
        )
        .is_err());
    }

    #[test]
    fn reflect_folds_into_range() {
        assert_eq!(reflect(-1.0f32, 0.0, 2.0), 1.0);
        assert_eq!(reflect(3.0f32, 0.0, 2.0), 1.0);
        assert_eq!(reflect(5.0f32, 0.0, 2.0), 1.0);
        assert_eq!(reflect(-0.75f32, -0.5, 2.5), -0.25);
        assert_eq!(reflect(1.0f32, 0.0, 0.0), 0.0);
    }

    #[test]
    fn cubic_weights_interpolate() {
        let w = cubic_weights(0.0f64);
        assert_eq!(w, [0.0, 1.0, 0.0, 0.0]);
        let w = cubic_weights(0.5f64);
        assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!((w[1] - w[2]).abs() < 1e-12);
    }

    #[test]
    fn affine_grid_identity() {
        let theta = t(&[1, 2, 3], &[1., 0., 0., 0., 1., 0.]);
        let size = Tensor::from_vec(vec![4], vec![1i64, 1, 2, 2]).unwrap();
        let y = affine_grid(false, &theta, &size).unwrap();
        assert_eq!(y.dims(), &[1, 2, 2, 2]);
        assert_eq!(f(&y), vec![-0.5, -0.5, 0.5, -0.5, -0.5, 0.5, 0.5, 0.5]);
        let y = affine_grid(true, &theta, &size).unwrap();
        assert_eq!(f(&y), vec![-1., -1., 1., -1., -1., 1., 1., 1.]);
        let bad = Tensor::from_vec(vec![4], vec![2i64, 1, 2, 2]).unwrap();
        assert!(affine_grid(true, &theta, &bad).is_err());
    }

    #[test]
    fn roi_align_average_of_constant_is_constant() {
        let x = t(&[1, 1, 4, 4], &[3.0; 16]);
        let rois = t(&[1, 4], &[0., 0., 3., 3.]);
        let idx = Tensor::from_vec(vec![1], vec![0i64]).unwrap();
        let r = RoiAlignAttrs {
            max: false,
            output_height: 2,
            output_width: 2,
            sampling_ratio: 2,
            spatial_scale: 1.0,
            half_pixel: true,
        };
        let y = roi_align(&r, &x, &rois, &idx).unwrap();
        assert_eq!(f(&y), vec![3.0; 4]);
        let bad = Tensor::from_vec(vec![1], vec![1i64]).unwrap();
        assert!(roi_align(&r, &x, &rois, &bad).is_err());
    }

    #[test]
    fn deform_conv_with_zero_offsets_is_conv() {
        // 1x1x2x2 input, 1x1x2x2 weight of ones, zero offsets: one output, the sum.
        let x = t(&[1, 1, 2, 2], &[1., 2., 3., 4.]);
        let w = t(&[1, 1, 2, 2], &[1., 1., 1., 1.]);
        let offset = t(&[1, 8, 1, 1], &[0.; 8]);
        let d = DeformConvAttrs {
            kernel: vec![],
            strides: vec![],
            dilations: vec![],
            pads: vec![],
            group: 1,
            offset_group: 1,
        };
        let y = deform_conv(&d, &x, &w, &offset, None, None).unwrap();
        assert_eq!(f(&y), vec![10.]);
        // Shift every tap half a pixel right: the right column samples zero padding.
        let mut o = vec![0.; 8];
        for k in 0..4 {
            o[k * 2 + 1] = 0.5;
        }
        let y = deform_conv(&d, &x, &w, &t(&[1, 8, 1, 1], &o), None, None).unwrap();
        assert_eq!(f(&y), vec![1.5 + 1.0 + 3.5 + 2.0]);
        let mask = t(&[1, 4, 1, 1], &[1., 0., 0., 0.]);
        let y = deform_conv(&d, &x, &w, &offset, Some(&t(&[1], &[0.5])), Some(&mask)).unwrap();
        assert_eq!(f(&y), vec![1.5]);
    }
}
