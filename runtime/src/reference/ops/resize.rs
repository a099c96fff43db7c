//! `Resize` (and `Upsample`, which the frontend maps onto it): nearest, linear and cubic
//! resampling with every ONNX coordinate transformation.
//!
//! Order of the numerical contract:
//!
//! - Output sizes and scales come from [`resize_geometry`]. Source coordinates, tap
//!   positions and tap weights are computed per axis in `f64` from the scale (as `f64`),
//!   the input and output lengths and the roi, by the formulas of the ONNX specification.
//! - The resized axes are processed one at a time, in ascending axis order (whatever the
//!   order of `axes`); an axis whose samples are all the identity is skipped.
//! - Nearest mode copies elements, in any dtype. Linear and cubic modes (floats only)
//!   compute in the compute type (`f32` for `f16` / `bf16` / `f32`, `f64` for `f64`):
//!   along an axis each output is `acc = 0; acc = acc + w * x` over its taps in ascending
//!   tap order, with the weight rounded once from `f64`; taps of weight exactly zero are
//!   skipped. The result is rounded to the element type once at the end.
//! - Linear taps are the two positions around the source coordinate, cubic taps the
//!   four; with `antialias` the kernel is stretched by `1 / scale` when downsampling and
//!   the weights are divided by their sum. With `exclude_outside`, taps outside the input
//!   get weight zero and the rest are divided by their sum. Tap positions are then
//!   clamped into the input (edge replication).
//! - With `tf_crop_and_resize`, an output element whose source coordinate on any resized
//!   axis lies outside `[0, input - 1]` is the extrapolation value.

use lightos_ir::infer::resize_geometry;
use lightos_ir::op::{CoordTransform, NearestMode, ResizeAttrs, ResizeMode};
use lightos_ir::{DType, Element, Tensor};

use super::scalar::{elems, make, with_any, with_float, Float, FloatElem};
use crate::reference::accumulate::Accum;
use crate::reference::{invalid, EvalError};

/// The most taps one antialiased sample may have.
const MAX_TAPS: f64 = (1u64 << 20) as f64;

/// The element count of `dims`, or an error when it overflows.
fn numel(dims: &[usize]) -> Result<usize, EvalError> {
    match dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d)) {
        Some(n) => Ok(n),
        None => invalid!("shape {dims:?} overflows"),
    }
}

/// Where one output coordinate along a resized axis reads from.
#[derive(Clone, Debug, PartialEq)]
enum Sample {
    /// Input positions and their weights, summed in this order.
    Taps(Vec<(usize, f64)>),
    /// Outside the input (`tf_crop_and_resize`): the extrapolation value.
    Outside,
}

/// The samples of one resized axis.
struct AxisPlan {
    /// The axis.
    axis: usize,
    /// One sample per output coordinate.
    samples: Vec<Sample>,
}

/// What one resized axis looks like to the coordinate transformation.
struct AxisSpec {
    /// Input length.
    input: usize,
    /// Output length.
    output: usize,
    /// The scale.
    scale: f64,
    /// The resized length before rounding.
    length: f64,
    /// The roi begin and end (normalized), for `tf_crop_and_resize`.
    roi: (f64, f64),
}

/// The source coordinate of output coordinate `y`.
fn source_coord(coord: CoordTransform, y: usize, s: &AxisSpec) -> f64 {
    let y = y as f64;
    let input = s.input as f64;
    match coord {
        CoordTransform::HalfPixel => (y + 0.5) / s.scale - 0.5,
        CoordTransform::HalfPixelSymmetric => {
            let adjustment = s.output as f64 / s.length;
            let center = input / 2.0;
            let offset = center * (1.0 - adjustment);
            offset + (y + 0.5) / s.scale - 0.5
        }
        CoordTransform::PytorchHalfPixel => {
            if s.output > 1 {
                (y + 0.5) / s.scale - 0.5
            } else {
                0.0
            }
        }
        CoordTransform::AlignCorners => {
            if s.output > 1 {
                y * (input - 1.0) / (s.length - 1.0)
            } else {
                0.0
            }
        }
        CoordTransform::Asymmetric => y / s.scale,
        CoordTransform::TfCropAndResize => {
            let (start, end) = s.roi;
            if s.output > 1 {
                y * (end - start) * (input - 1.0) / (s.length - 1.0) + start * (input - 1.0)
            } else {
                0.5 * (start + end) * (input - 1.0)
            }
        }
    }
}

/// The nearest input position of source coordinate `x` (before clamping).
fn nearest_position(mode: NearestMode, x: f64, scale: f64) -> f64 {
    let floor = x.floor();
    let frac = x - floor;
    match mode {
        NearestMode::RoundPreferFloor => floor + if frac > 0.5 { 1.0 } else { 0.0 },
        NearestMode::RoundPreferCeil => floor + if frac >= 0.5 { 1.0 } else { 0.0 },
        NearestMode::Floor => floor,
        NearestMode::Ceil => floor + if frac > 0.0 { 1.0 } else { 0.0 },
        NearestMode::Simple => {
            if scale < 1.0 {
                floor + if frac > 0.0 { 1.0 } else { 0.0 }
            } else {
                x.trunc()
            }
        }
    }
}

/// The cubic convolution kernel with coefficient `a`.
fn cubic_kernel(a: f64, t: f64) -> f64 {
    let t = t.abs();
    if t <= 1.0 {
        ((a + 2.0) * t - (a + 3.0)) * t * t + 1.0
    } else if t < 2.0 {
        ((a * t - 5.0 * a) * t + 8.0 * a) * t - 4.0 * a
    } else {
        0.0
    }
}

/// The linear (triangle) kernel.
fn linear_kernel(t: f64) -> f64 {
    (1.0 - t.abs()).max(0.0)
}

/// Divides `taps`' weights by their sum (in tap order), unless the sum is zero.
fn normalize(taps: &mut [(f64, f64)]) {
    let sum = taps.iter().fold(0.0, |acc, t| acc + t.1);
    if sum != 0.0 {
        for t in taps.iter_mut() {
            t.1 /= sum;
        }
    }
}

/// The weighted taps of source coordinate `x` for linear or cubic mode.
fn weighted_taps(r: &ResizeAttrs, x: f64, s: &AxisSpec) -> Result<Vec<(usize, f64)>, EvalError> {
    let support = if r.mode == ResizeMode::Cubic { 2.0 } else { 1.0 };
    let a = r.cubic_coeff_a as f64;
    let kernel = |t: f64| {
        if r.mode == ResizeMode::Cubic {
            cubic_kernel(a, t)
        } else {
            linear_kernel(t)
        }
    };
    let stretch = if r.antialias { s.scale.min(1.0) } else { 1.0 };
    let start = (-support / stretch).floor() + 1.0;
    let count = 2.0 - 2.0 * start;
    if count > MAX_TAPS {
        invalid!(
            "resize antialias window of {count} taps is too large (scale {})",
            s.scale
        );
    }
    let base = x.floor();
    let mut taps: Vec<(f64, f64)> = (0..count as usize)
        .map(|j| {
            let p = base + start + j as f64;
            (p, kernel((p - x) * stretch))
        })
        .collect();
    if r.antialias {
        normalize(&mut taps);
    }
    let last = (s.input - 1) as f64;
    if r.exclude_outside {
        for t in taps.iter_mut() {
            if t.0 < 0.0 || t.0 > last {
                t.1 = 0.0;
            }
        }
        normalize(&mut taps);
    }
    Ok(taps
        .into_iter()
        .filter(|t| t.1 != 0.0)
        .map(|(p, w)| (p.clamp(0.0, last) as usize, w))
        .collect())
}

/// The samples of one resized axis.
fn plan_axis(r: &ResizeAttrs, s: &AxisSpec) -> Result<Vec<Sample>, EvalError> {
    if s.input == 0 {
        if s.output == 0 {
            return Ok(Vec::new());
        }
        invalid!("resize cannot fill {} outputs from an empty axis", s.output);
    }
    let last = (s.input - 1) as f64;
    (0..s.output)
        .map(|y| {
            let x = source_coord(r.coord, y, s);
            if r.coord == CoordTransform::TfCropAndResize && !(0.0..=last).contains(&x) {
                return Ok(Sample::Outside);
            }
            if !x.is_finite() {
                invalid!("resize source coordinate {x} is not finite");
            }
            Ok(Sample::Taps(match r.mode {
                ResizeMode::Nearest => {
                    vec![(nearest_position(r.nearest, x, s.scale).clamp(0.0, last) as usize, 1.0)]
                }
                ResizeMode::Linear | ResizeMode::Cubic => weighted_taps(r, x, s)?,
            }))
        })
        .collect()
}

/// Whether an axis's samples copy the input unchanged.
fn is_identity(samples: &[Sample], input: usize) -> bool {
    samples.len() == input
        && samples
            .iter()
            .enumerate()
            .all(|(y, s)| matches!(s, Sample::Taps(t) if t.len() == 1 && t[0] == (y, 1.0)))
}

/// The values of a float operand as `f64`, refusing other dtypes.
fn float_values(t: &Tensor, what: &str) -> Result<Vec<f64>, EvalError> {
    if !t.dtype().is_float() {
        invalid!("resize {what} must be a float tensor, got {}", t.dtype());
    }
    Ok(t.to_f64_vec())
}

/// ONNX `Resize`: operands `X, roi?, scales?, sizes?`. See the module docs.
pub(crate) fn resize(
    r: &ResizeAttrs,
    x: &Tensor,
    roi: Option<&Tensor>,
    scales: Option<&Tensor>,
    sizes: Option<&Tensor>,
) -> Result<Tensor, EvalError> {
    // An empty scales operand next to sizes means "not given" (opsets 11 and 12).
    let scales = scales.filter(|s| !(s.is_empty() && sizes.is_some()));
    let scale_vals = scales.map(|s| float_values(s, "scales")).transpose()?;
    let size_vals = match sizes {
        Some(s) => match s.to_i64_vec() {
            Some(v) => Some(v),
            None => invalid!("resize sizes must be integers, got {}", s.dtype()),
        },
        None => None,
    };
    let dims = x.dims();
    let geo = resize_geometry(dims, r, scale_vals.as_deref(), size_vals.as_deref())?;
    let naxes = r.axes.len();
    let rois = match (r.coord, roi) {
        (CoordTransform::TfCropAndResize, Some(t)) => {
            let v = float_values(t, "roi")?;
            if v.len() != 2 * naxes {
                invalid!("resize roi has {} entries for {naxes} axes", v.len());
            }
            (0..naxes).map(|i| (v[i], v[naxes + i])).collect()
        }
        (CoordTransform::TfCropAndResize, None) => {
            invalid!("resize with tf_crop_and_resize needs a roi")
        }
        _ => vec![(0.0, 1.0); naxes],
    };
    let mut order: Vec<usize> = (0..naxes).collect();
    order.sort_by_key(|&i| r.axes[i]);
    let mut plans = Vec::new();
    for i in order {
        let axis = r.axes[i];
        let spec = AxisSpec {
            input: dims[axis],
            output: geo.output[axis],
            scale: geo.scales[axis],
            length: geo.lengths[axis],
            roi: rois[i],
        };
        let samples = plan_axis(r, &spec)?;
        if !is_identity(&samples, spec.input) {
            plans.push(AxisPlan { axis, samples });
        }
    }
    numel(&geo.output)?;
    let dt = x.dtype();
    let e = r.extrapolation_value as f64;
    match r.mode {
        ResizeMode::Nearest => with_any!(dt, T => nearest_typed::<T>(dt, x, &plans, e)),
        ResizeMode::Linear | ResizeMode::Cubic => {
            with_float!(dt, E => weighted_typed::<E>(x, &plans, e),
            _ => Err(EvalError::UnsupportedDType { op: "Resize".into(), dtype: dt }))
        }
    }
}

/// The shape of a tensor as `outer x len x inner` around `axis`.
fn split_at(dims: &[usize], axis: usize) -> (usize, usize, usize) {
    let outer = dims[..axis].iter().product();
    let inner = dims[axis + 1..].iter().product();
    (outer, dims[axis], inner)
}

/// Runs `plans` over `data` of shape `dims`, with `sample` computing one output from a
/// sample and a reader of the current line.
fn run_plans<T: Copy>(
    mut data: Vec<T>,
    dims: &[usize],
    plans: &[AxisPlan],
    extrapolated: T,
    mut sample: impl FnMut(&[(usize, f64)], &dyn Fn(usize) -> T) -> T,
) -> Result<(Vec<T>, Vec<usize>), EvalError> {
    let mut dims = dims.to_vec();
    for plan in plans {
        let (outer, len, inner) = split_at(&dims, plan.axis);
        let out_len = plan.samples.len();
        let mut out = Vec::with_capacity(numel(&[outer, out_len, inner])?);
        for o in 0..outer {
            for s in &plan.samples {
                for i in 0..inner {
                    out.push(match s {
                        Sample::Outside => extrapolated,
                        Sample::Taps(taps) => sample(taps, &|p| data[(o * len + p) * inner + i]),
                    });
                }
            }
        }
        data = out;
        dims[plan.axis] = out_len;
    }
    // Outputs outside the input on any axis are exactly the extrapolation value.
    let outside: Vec<(usize, Vec<bool>)> = plans
        .iter()
        .filter(|p| p.samples.contains(&Sample::Outside))
        .map(|p| (p.axis, p.samples.iter().map(|s| *s == Sample::Outside).collect()))
        .collect();
    for (axis, mask) in &outside {
        let (outer, len, inner) = split_at(&dims, *axis);
        for o in 0..outer {
            for (y, &m) in mask.iter().enumerate() {
                if m {
                    let at = (o * len + y) * inner;
                    data[at..at + inner].fill(extrapolated);
                }
            }
        }
    }
    Ok((data, dims))
}

/// Nearest resampling: copies elements of any dtype.
fn nearest_typed<T: Element>(dt: DType, x: &Tensor, plans: &[AxisPlan], e: f64) -> Result<Tensor, EvalError> {
    let fill = super::elementwise::cast(&Tensor::scalar(e), dt)?;
    let fill = elems::<T>(&fill)?.first().copied().unwrap_or_else(T::zeroed);
    let data = elems::<T>(x)?.to_vec();
    let (data, dims) = run_plans(data, x.dims(), plans, fill, |taps, read| read(taps[0].0))?;
    make(dt, dims, data)
}

/// Linear and cubic resampling in the compute type.
fn weighted_typed<E: FloatElem>(x: &Tensor, plans: &[AxisPlan], e: f64) -> Result<Tensor, EvalError> {
    let data: Vec<E::C> = elems::<E>(x)?.iter().map(|v| v.widen()).collect();
    let fill = E::C::from_f64(e);
    let (data, dims) = run_plans(data, x.dims(), plans, fill, |taps, read| {
        let mut acc = <E::C as Accum>::ZERO;
        for &(p, w) in taps {
            acc = acc + E::C::from_f64(w) * read(p);
        }
        acc
    })?;
    Ok(Tensor::from_vec(dims, data.into_iter().map(E::narrow).collect())?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lightos_ir::op::AspectPolicy;

    /// An `f32` tensor.
    fn t(dims: &[usize], v: &[f32]) -> Tensor {
        Tensor::from_vec(dims.to_vec(), v.to_vec()).unwrap()
    }

    /// The elements of an `f32` tensor.
    fn f(t: &Tensor) -> Vec<f32> {
        t.as_slice::<f32>().unwrap().to_vec()
    }

    /// Attributes resizing the last two axes of a rank-4 tensor.
    fn attrs(mode: ResizeMode, coord: CoordTransform) -> ResizeAttrs {
        ResizeAttrs {
            mode,
            coord,
            nearest: NearestMode::RoundPreferFloor,
            cubic_coeff_a: -0.75,
            exclude_outside: false,
            extrapolation_value: 0.0,
            aspect: AspectPolicy::Stretch,
            antialias: false,
            axes: vec![2, 3],
        }
    }

    /// A rank-1 `f32` scales operand.
    fn scales(v: &[f32]) -> Tensor {
        t(&[v.len()], v)
    }

    #[test]
    fn nearest_upsample_and_ints() {
        let x = t(&[1, 1, 2, 2], &[1., 2., 3., 4.]);
        let r = attrs(ResizeMode::Nearest, CoordTransform::HalfPixel);
        let y = resize(&r, &x, None, Some(&scales(&[2.0, 3.0])), None).unwrap();
        assert_eq!(y.dims(), &[1, 1, 4, 6]);
        assert_eq!(&f(&y)[..6], &[1., 1., 1., 2., 2., 2.]);
        assert_eq!(&f(&y)[18..], &[3., 3., 3., 4., 4., 4.]);
        let xi = Tensor::from_vec(vec![1, 1, 1, 3], vec![5i32, 6, 7]).unwrap();
        let sizes = Tensor::from_vec(vec![2], vec![1i64, 6]).unwrap();
        let y = resize(&r, &xi, None, None, Some(&sizes)).unwrap();
        assert_eq!(y.as_slice::<i32>().unwrap(), &[5, 5, 6, 6, 7, 7]);
    }

    #[test]
    fn nearest_modes_round_as_named() {
        let s = AxisSpec {
            input: 4,
            output: 8,
            scale: 2.0,
            length: 8.0,
            roi: (0.0, 1.0),
        };
        assert_eq!(source_coord(CoordTransform::HalfPixel, 1, &s), 0.25);
        assert_eq!(nearest_position(NearestMode::RoundPreferFloor, 2.5, 2.0), 2.0);
        assert_eq!(nearest_position(NearestMode::RoundPreferCeil, 2.5, 2.0), 3.0);
        assert_eq!(nearest_position(NearestMode::Floor, 2.7, 2.0), 2.0);
        assert_eq!(nearest_position(NearestMode::Ceil, 2.2, 2.0), 3.0);
        assert_eq!(nearest_position(NearestMode::Ceil, 2.0, 2.0), 2.0);
        assert_eq!(nearest_position(NearestMode::Simple, 2.2, 0.5), 3.0);
        assert_eq!(nearest_position(NearestMode::Simple, 2.7, 2.0), 2.0);
    }

    #[test]
    fn linear_half_pixel_and_align_corners() {
        let x = t(&[1, 1, 2, 2], &[1., 2., 3., 4.]);
        let r = attrs(ResizeMode::Linear, CoordTransform::HalfPixel);
        let y = resize(&r, &x, None, Some(&scales(&[2.0, 2.0])), None).unwrap();
        // Rows: x_src = -0.25, 0.25, 0.75, 1.25 -> weights clamp at the edges.
        assert_eq!(&f(&y)[..4], &[1., 1.25, 1.75, 2.]);
        assert_eq!(&f(&y)[4..8], &[1.5, 1.75, 2.25, 2.5]);
        let r = attrs(ResizeMode::Linear, CoordTransform::AlignCorners);
        let x = t(&[1, 1, 1, 2], &[0., 3.]);
        let y = resize(&r, &x, None, Some(&scales(&[1.0, 2.0])), None).unwrap();
        assert_eq!(f(&y), vec![0., 1., 2., 3.]);
    }

    #[test]
    fn cubic_weights_sum_to_one_and_exclude_outside() {
        for &frac in &[0.0, 0.25, 0.5, 0.8] {
            let w: f64 = (-1..=2).map(|k| cubic_kernel(-0.75, k as f64 - frac)).sum();
            assert!((w - 1.0).abs() < 1e-12);
        }
        let mut r = attrs(ResizeMode::Cubic, CoordTransform::HalfPixel);
        r.exclude_outside = true;
        let s = AxisSpec {
            input: 4,
            output: 8,
            scale: 2.0,
            length: 8.0,
            roi: (0.0, 1.0),
        };
        let taps = weighted_taps(&r, -0.25, &s).unwrap();
        assert!(taps.iter().all(|&(p, _)| p <= 1));
        assert!((taps.iter().map(|t| t.1).sum::<f64>() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn tf_crop_extrapolates() {
        let x = t(&[1, 1, 1, 3], &[1., 2., 3.]);
        let mut r = attrs(ResizeMode::Linear, CoordTransform::TfCropAndResize);
        r.axes = vec![3];
        r.extrapolation_value = 9.0;
        let roi = t(&[2], &[0.5, 1.5]);
        let sizes = Tensor::from_vec(vec![1], vec![3i64]).unwrap();
        // Source coordinates 1, 2, 3: the last is past the end.
        let y = resize(&r, &x, Some(&roi), None, Some(&sizes)).unwrap();
        assert_eq!(f(&y), vec![2., 3., 9.]);
        assert!(resize(&r, &x, None, None, Some(&sizes)).is_err());
    }

    #[test]
    fn bad_operands_are_refused() {
        let x = t(&[1, 1, 2, 2], &[1., 2., 3., 4.]);
        let r = attrs(ResizeMode::Linear, CoordTransform::HalfPixel);
        assert!(resize(&r, &x, None, Some(&scales(&[2.0])), None).is_err());
        assert!(resize(&r, &x, None, Some(&scales(&[0.0, 1.0])), None).is_err());
        assert!(resize(&r, &x, None, None, None).is_err());
        let xi = Tensor::from_vec(vec![1, 1, 1, 2], vec![1i32, 2]).unwrap();
        assert!(resize(&r, &xi, None, Some(&scales(&[1.0, 2.0])), None).is_err());
    }
}
