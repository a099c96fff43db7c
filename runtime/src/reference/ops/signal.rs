//! Signal-processing kernels: the discrete Fourier transform, the short-time Fourier
//! transform, the window generators and the mel filter bank.
//!
//! # The DFT's order of operations
//!
//! Every transform is a direct (not fast) DFT, so its order is simple to reproduce. For a
//! line `z[0..m]` (complex; a real input has imaginary parts `+0`) and a length `n`, output
//! bin `k` is
//!
//! ```text
//! re = 0, im = 0
//! for j in 0..min(m, n):                       (in order; zero padding adds nothing)
//!     (c, s) = twiddle((k * j) mod n, n)
//!     forward: re = re + (zr[j] * c + zi[j] * s);  im = im + (zi[j] * c - zr[j] * s)
//!     inverse: re = re + (zr[j] * c - zi[j] * s);  im = im + (zi[j] * c + zr[j] * s)
//! inverse: re = re / n, im = im / n
//! ```
//!
//! each operation rounded in the compute type (`f32` for `f16`/`bf16`, rounded once when
//! stored). `twiddle(t, n)` is `(cos, sin)` of `2 pi t / n`, computed in `f64` with the
//! project's own `cos`/`sin` from the angle `(TAU * t) / n` and rounded once to the compute
//! type; at the quarter turns (`4 t` a multiple of `n`) it is exactly `(±1, 0)` or
//! `(0, ±1)`. The inverse one-sided transform first rebuilds the full spectrum of length
//! `n` (`Z[j]` for `j <= n / 2` from the input, zero past its end, `Z[n - j] = conj(Z[j])`
//! above) and keeps the real part.

use std::f64::consts::TAU;

use lightos_ir::{DftAttrs, MelWeightMatrixAttrs, StftAttrs, Tensor, WindowAttrs, WindowKind};

use super::elementwise::cast;
use super::scalar::{elems, make, with_float, Float, FloatElem};
use crate::reference::accumulate::Accum;
use crate::reference::{invalid, EvalError};

/// `(cos, sin)` of `2 pi t / n` in `f64`, exact at the quarter turns.
fn twiddle64(t: usize, n: usize) -> (f64, f64) {
    if n == 0 {
        return (1.0, 0.0);
    }
    let t = t % n;
    let quarter = 4 * t as u128;
    if quarter.is_multiple_of(n as u128) {
        return match quarter / n as u128 {
            0 => (1.0, 0.0),
            1 => (0.0, 1.0),
            2 => (-1.0, 0.0),
            _ => (0.0, -1.0),
        };
    }
    let theta = (TAU * t as f64) / n as f64;
    (Float::cos(theta), Float::sin(theta))
}

/// The twiddles `0..n` of a transform of length `n`, in the compute type.
fn twiddles<C: Float>(n: usize) -> Vec<(C, C)> {
    (0..n)
        .map(|t| {
            let (c, s) = twiddle64(t, n);
            (C::from_f64(c), C::from_f64(s))
        })
        .collect()
}

/// Bins `0..bins` of the DFT of length `n` of `z` (see the module docs for the order).
fn dft_line<C: Float>(z: &[(C, C)], n: usize, bins: usize, inverse: bool, tw: &[(C, C)]) -> Vec<(C, C)> {
    let used = z.len().min(n);
    let scale = C::from_f64(n as f64);
    (0..bins)
        .map(|k| {
            let (mut re, mut im) = (C::ZERO, C::ZERO);
            for (j, &(zr, zi)) in z[..used].iter().enumerate() {
                let t = ((k as u128 * j as u128) % n as u128) as usize;
                let (c, s) = tw[t];
                if inverse {
                    re = re + (zr * c - zi * s);
                    im = im + (zi * c + zr * s);
                } else {
                    re = re + (zr * c + zi * s);
                    im = im + (zi * c - zr * s);
                }
            }
            if inverse {
                (re / scale, im / scale)
            } else {
                (re, im)
            }
        })
        .collect()
}

/// The single integer value of an operand.
fn one_int(t: &Tensor, what: &str) -> Result<i64, EvalError> {
    match t.to_i64_vec().as_deref() {
        Some(&[v]) => Ok(v),
        _ => invalid!("{what} must be one integer, got {t:?}"),
    }
}

/// `DFT`; see the module docs for the order of operations.
pub(crate) fn dft(a: &DftAttrs, x: &Tensor, len: Option<&Tensor>, axis: Option<&Tensor>) -> Result<Tensor, EvalError> {
    let dtype = x.dtype();
    with_float!(dtype,
        F => dft_typed::<F>(a, x, len, axis),
        _ => Err(EvalError::UnsupportedDType { op: "dft".into(), dtype }))
}

/// [`dft`] for float element type `F`.
fn dft_typed<F: FloatElem>(
    a: &DftAttrs,
    x: &Tensor,
    len: Option<&Tensor>,
    axis: Option<&Tensor>,
) -> Result<Tensor, EvalError> {
    let dims = x.dims();
    let r = dims.len();
    if r < 2 || !(1..=2).contains(&dims[r - 1]) {
        invalid!("dft input must be [..., 1] or [..., 2], got {dims:?}");
    }
    let axis = lightos_ir::infer::dft_axis(axis.map(|t| one_int(t, "dft axis")).transpose()?.unwrap_or(-2), r)?;
    let m = dims[axis];
    let n = match len.map(|t| one_int(t, "dft_length")).transpose()? {
        Some(l) if l >= 1 => usize::try_from(l).unwrap_or(usize::MAX),
        Some(l) => invalid!("dft_length must be positive, got {l}"),
        None if a.inverse && a.onesided => match m.checked_sub(1).and_then(|v| v.checked_mul(2)) {
            Some(v) if v > 0 => v,
            _ => invalid!("the inverse one-sided dft of {m} bins has no default length"),
        },
        None if m == 0 => invalid!("dft of an empty axis"),
        None => m,
    };
    let bins = if a.onesided && !a.inverse { n / 2 + 1 } else { n };
    let real_out = a.inverse && a.onesided;
    let c_in = dims[r - 1];
    let c_out = if real_out { 1 } else { 2 };
    let outer: usize = dims[..axis].iter().product();
    let inner: usize = dims[axis + 1..r - 1].iter().product();
    let mut out_dims = dims.to_vec();
    out_dims[axis] = bins;
    out_dims[r - 1] = c_out;
    let total = lightos_ir::shape::num_elements(&out_dims).map_err(|e| EvalError::Invalid(e.to_string()))?;
    let xs = elems::<F>(x)?;
    let tw = twiddles::<F::C>(n);
    let mut out = vec![F::C::ZERO; total];
    for o in 0..outer {
        for i in 0..inner {
            let at = |j: usize| ((o * m + j) * inner + i) * c_in;
            let mut z: Vec<(F::C, F::C)> = (0..m)
                .map(|j| {
                    let re = xs[at(j)].widen();
                    let im = if c_in == 2 { xs[at(j) + 1].widen() } else { F::C::ZERO };
                    (re, im)
                })
                .collect();
            if real_out {
                // Rebuild the full spectrum from its first half.
                let half: Vec<(F::C, F::C)> = (0..=n / 2)
                    .map(|j| z.get(j).copied().unwrap_or((F::C::ZERO, F::C::ZERO)))
                    .collect();
                z = (0..n)
                    .map(|j| {
                        if j <= n / 2 {
                            half[j]
                        } else {
                            (half[n - j].0, -half[n - j].1)
                        }
                    })
                    .collect();
            }
            let y = dft_line(&z, n, bins, a.inverse, &tw);
            for (k, (re, im)) in y.into_iter().enumerate() {
                let base = ((o * bins + k) * inner + i) * c_out;
                out[base] = re;
                if !real_out {
                    out[base + 1] = im;
                }
            }
        }
    }
    make(x.dtype(), out_dims, out.into_iter().map(F::narrow).collect::<Vec<F>>())
}

/// `STFT`: frame `t` of batch entry `b` is `signal[b, t * step .. t * step + frame]`, each
/// sample (both parts when complex) multiplied by the window (rounded), then transformed
/// forward as in [`dft`] with `n = frame`.
pub(crate) fn stft(
    a: &StftAttrs,
    x: &Tensor,
    step: &Tensor,
    window: Option<&Tensor>,
    frame: Option<&Tensor>,
) -> Result<Tensor, EvalError> {
    let dtype = x.dtype();
    if window.is_some_and(|w| w.dtype() != dtype) {
        invalid!("stft window must be {dtype} like the signal");
    }
    with_float!(dtype,
        F => stft_typed::<F>(a, x, step, window, frame),
        _ => Err(EvalError::UnsupportedDType { op: "stft".into(), dtype }))
}

/// [`stft`] for float element type `F`.
fn stft_typed<F: FloatElem>(
    a: &StftAttrs,
    x: &Tensor,
    step: &Tensor,
    window: Option<&Tensor>,
    frame: Option<&Tensor>,
) -> Result<Tensor, EvalError> {
    let &[batch, length, c_in] = x.dims() else {
        invalid!("stft signal must be [batch, length, 1 or 2], got {:?}", x.dims());
    };
    if !(1..=2).contains(&c_in) {
        invalid!("stft signal must end in 1 or 2, got {:?}", x.dims());
    }
    let step = match one_int(step, "stft frame_step")? {
        s if s >= 1 => usize::try_from(s).unwrap_or(usize::MAX),
        s => invalid!("stft frame_step must be positive, got {s}"),
    };
    let window = window
        .map(|w| -> Result<Vec<F::C>, EvalError> {
            if w.dims().len() != 1 {
                invalid!("stft window must be rank 1, got {:?}", w.dims());
            }
            Ok(elems::<F>(w)?.iter().map(|v| v.widen()).collect())
        })
        .transpose()?;
    let frame = match frame.map(|t| one_int(t, "stft frame_length")).transpose()? {
        Some(f) if f >= 1 => usize::try_from(f).unwrap_or(usize::MAX),
        Some(f) => invalid!("stft frame_length must be positive, got {f}"),
        None => window.as_ref().map_or(length, Vec::len),
    };
    if window.as_ref().is_some_and(|w| w.len() != frame) {
        invalid!("stft window length differs from frame_length {frame}");
    }
    if frame > length || frame == 0 {
        invalid!("stft frame_length {frame} does not fit a signal of {length}");
    }
    let frames = (length - frame) / step + 1;
    let bins = if a.onesided { frame / 2 + 1 } else { frame };
    let xs = elems::<F>(x)?;
    let tw = twiddles::<F::C>(frame);
    let out_dims = vec![batch, frames, bins, 2];
    let total = lightos_ir::shape::num_elements(&out_dims).map_err(|e| EvalError::Invalid(e.to_string()))?;
    let mut out = Vec::with_capacity(total);
    for b in 0..batch {
        for t in 0..frames {
            let z: Vec<(F::C, F::C)> = (0..frame)
                .map(|j| {
                    let at = (b * length + t * step + j) * c_in;
                    let re = xs[at].widen();
                    let im = if c_in == 2 { xs[at + 1].widen() } else { F::C::ZERO };
                    match &window {
                        Some(w) => (re * w[j], im * w[j]),
                        None => (re, im),
                    }
                })
                .collect();
            for (re, im) in dft_line(&z, frame, bins, false, &tw) {
                out.push(F::narrow(re));
                out.push(F::narrow(im));
            }
        }
    }
    make(x.dtype(), out_dims, out)
}

/// A window of `size` samples, computed in `f64` and cast once to the dtype:
/// `N = size` (periodic) or `size - 1` (symmetric), `c1 = cos(2 pi n / N)` and
/// `c2 = cos(4 pi n / N)` from the exact twiddles of the DFT (module docs), and
///
/// - Hann: `0.5 - 0.5 * c1`;
/// - Hamming: `25/46 - (1 - 25/46) * c1`;
/// - Blackman: `(0.42 - 0.5 * c1) + 0.08 * c2`.
///
/// A symmetric window of one sample (`N = 0`) is `[1]`.
pub(crate) fn window(a: &WindowAttrs, size: &Tensor) -> Result<Tensor, EvalError> {
    let size = match one_int(size, "window size")? {
        s if s >= 0 => usize::try_from(s).unwrap_or(usize::MAX),
        s => invalid!("window size must not be negative, got {s}"),
    };
    if size > isize::MAX as usize / 8 {
        invalid!("window size {size} is too large");
    }
    let big_n = if a.periodic { size } else { size.saturating_sub(1) };
    let values: Vec<f64> = (0..size)
        .map(|n| {
            if big_n == 0 {
                return 1.0;
            }
            let c1 = twiddle64(n % big_n, big_n).0;
            match a.kind {
                WindowKind::Hann => 0.5 - 0.5 * c1,
                WindowKind::Hamming => {
                    let alpha = 25.0 / 46.0;
                    alpha - (1.0 - alpha) * c1
                }
                WindowKind::Blackman => {
                    let c2 = twiddle64((2 * (n % big_n)) % big_n, big_n).0;
                    (0.42 - 0.5 * c1) + 0.08 * c2
                }
            }
        })
        .collect();
    cast(&Tensor::from_vec(vec![size], values)?, a.dtype)
}

/// Python's float floor division `a // b` (NumPy's `divmod` rule).
fn floor_div(a: f64, b: f64) -> f64 {
    let m = a % b;
    let mut div = (a - m) / b;
    if m != 0.0 && ((b < 0.0) != (m < 0.0)) {
        div -= 1.0;
    }
    if div == 0.0 {
        return 0.0f64.copysign(a / b);
    }
    let f = div.floor();
    if div - f > 0.5 {
        f + 1.0
    } else {
        f
    }
}

/// `MelWeightMatrix`, computed in `f64` as the ONNX reference does and cast once:
/// `mel(h) = 2595 * ln_1p(h / 700) / ln(10)`, `num_mel_bins + 2` points
/// `p_i = i * step + mel(lower)` with `step = (mel(upper) - mel(lower)) / (num_mel_bins + 2)`,
/// each mapped back to `hz_i = 700 * expm1((p_i / 2595) * ln(10))` and to the bin
/// `b_i = floor(((dft_length + 1) * hz_i) / sample_rate)`; filter `i` rises linearly from
/// `b_i` to `b_{i+1}` (1 at `b_{i+1}`; exactly 1 there when they are equal) and falls to
/// `b_{i+2}` (exclusive).
pub(crate) fn mel_weight_matrix(a: &MelWeightMatrixAttrs, ops: [&Tensor; 5]) -> Result<Tensor, EvalError> {
    let mel_bins = one_int(ops[0], "num_mel_bins")?;
    let dft_length = one_int(ops[1], "dft_length")?;
    let sample_rate = one_int(ops[2], "sample_rate")?;
    let edge = |t: &Tensor, what: &str| -> Result<f64, EvalError> {
        match t.to_f64_vec().as_slice() {
            [v] => Ok(*v),
            _ => invalid!("{what} must be one number"),
        }
    };
    let (lower, upper) = (edge(ops[3], "lower_edge_hertz")?, edge(ops[4], "upper_edge_hertz")?);
    if mel_bins < 0 || dft_length < 1 || sample_rate < 1 || mel_bins > 1 << 24 || dft_length > 1 << 30 {
        invalid!("mel_weight_matrix sizes are out of range: {mel_bins} bins, dft_length {dft_length}, sample_rate {sample_rate}");
    }
    let mel_bins = mel_bins as usize;
    let spec_bins = dft_length as usize / 2 + 1;
    let ln10 = Float::ln(10.0f64);
    let mel = |h: f64| 2595.0 * Float::ln_1p(h / 700.0) / ln10;
    let (low, high) = (mel(lower), mel(upper));
    let step = (high - low) / (mel_bins + 2) as f64;
    let points: Vec<i64> = (0..mel_bins + 2)
        .map(|i| {
            let p = i as f64 * step + low;
            let hz = 700.0 * crate::math::exp_m1_f64(p / 2595.0 * ln10);
            let b = floor_div((dft_length + 1) as f64 * hz, sample_rate as f64);
            if b.is_finite() && b.abs() < 1e15 {
                Ok(b as i64)
            } else {
                invalid!("mel_weight_matrix bin {b} is out of range")
            }
        })
        .collect::<Result<_, _>>()?;
    let mut out = vec![0.0f64; spec_bins * mel_bins];
    let mut set = |j: i64, i: usize, v: f64| -> Result<(), EvalError> {
        match usize::try_from(j) {
            Ok(j) if j < spec_bins => {
                out[j * mel_bins + i] = v;
                Ok(())
            }
            _ => invalid!("mel_weight_matrix bin {j} is outside [0, {spec_bins})"),
        }
    };
    for i in 0..mel_bins {
        let (lo, center, hi) = (points[i], points[i + 1], points[i + 2]);
        let rise = center - lo;
        if rise == 0 {
            set(center, i, 1.0)?;
        } else {
            for j in lo..=center {
                set(j, i, (j - lo) as f64 / rise as f64)?;
            }
        }
        let fall = hi - center;
        if fall > 0 {
            for j in center..hi {
                set(j, i, (hi - j) as f64 / fall as f64)?;
            }
        }
    }
    cast(&Tensor::from_vec(vec![spec_bins, mel_bins], out)?, a.dtype)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f32s(t: &Tensor) -> Vec<f32> {
        t.as_slice::<f32>().unwrap().to_vec()
    }

    fn dft_attrs(inverse: bool, onesided: bool) -> DftAttrs {
        DftAttrs { inverse, onesided }
    }

    #[test]
    fn dft_of_four_samples() {
        // x = [1, 2, 3, 4]: X = [10, -2 + 2i, -2, -2 - 2i] (quarter-turn twiddles are exact).
        let x = Tensor::from_vec(vec![4, 1], vec![1.0f32, 2.0, 3.0, 4.0]).unwrap();
        let axis = Tensor::scalar(0i64);
        let y = dft(&dft_attrs(false, false), &x, None, Some(&axis)).unwrap();
        assert_eq!(y.dims(), &[4, 2]);
        assert_eq!(f32s(&y), vec![10.0, 0.0, -2.0, 2.0, -2.0, 0.0, -2.0, -2.0]);
        let half = dft(&dft_attrs(false, true), &x, None, Some(&axis)).unwrap();
        assert_eq!(f32s(&half), vec![10.0, 0.0, -2.0, 2.0, -2.0, 0.0]);
        // The inverse gives the signal back; the one-sided inverse from the half spectrum.
        let back = dft(&dft_attrs(true, false), &y, None, Some(&axis)).unwrap();
        assert_eq!(f32s(&back), vec![1.0, 0.0, 2.0, 0.0, 3.0, 0.0, 4.0, 0.0]);
        let real = dft(&dft_attrs(true, true), &half, None, Some(&axis)).unwrap();
        assert_eq!(real.dims(), &[4, 1]);
        assert_eq!(f32s(&real), vec![1.0, 2.0, 3.0, 4.0]);
        // Zero padding to 8 and truncation to 2.
        let eight = Tensor::scalar(8i64);
        assert_eq!(
            dft(&dft_attrs(false, false), &x, Some(&eight), Some(&axis))
                .unwrap()
                .dims(),
            &[8, 2]
        );
        let two = Tensor::scalar(2i64);
        let t = dft(&dft_attrs(false, false), &x, Some(&two), Some(&axis)).unwrap();
        assert_eq!(f32s(&t), vec![3.0, 0.0, -1.0, 0.0]);
        assert!(dft(&dft_attrs(false, false), &x, None, Some(&Tensor::scalar(1i64))).is_err());
    }

    #[test]
    fn stft_frames() {
        let x = Tensor::from_vec(vec![1, 6, 1], vec![1.0f32, 1.0, 1.0, 1.0, 2.0, 2.0]).unwrap();
        let step = Tensor::scalar(2i64);
        let frame = Tensor::scalar(4i64);
        let y = stft(&StftAttrs { onesided: true }, &x, &step, None, Some(&frame)).unwrap();
        assert_eq!(y.dims(), &[1, 2, 3, 2]);
        // Frame 0: [1, 1, 1, 1] -> [4, 0, 0]; frame 1: [1, 1, 2, 2] -> [6, 1 - i - 2 + 2i, 0].
        assert_eq!(
            f32s(&y),
            vec![4.0, 0.0, 0.0, 0.0, 0.0, 0.0, 6.0, 0.0, -1.0, 1.0, 0.0, 0.0]
        );
    }

    #[test]
    fn windows() {
        let attrs = |kind, periodic| WindowAttrs {
            kind,
            periodic,
            dtype: lightos_ir::DType::F32,
        };
        let four = Tensor::scalar(4i64);
        assert_eq!(
            f32s(&window(&attrs(WindowKind::Hann, true), &four).unwrap()),
            vec![0.0, 0.5, 1.0, 0.5]
        );
        let hamming = f32s(&window(&attrs(WindowKind::Hamming, true), &four).unwrap());
        assert_eq!(hamming[2], 1.0);
        assert_eq!(hamming[1], (25.0f64 / 46.0) as f32);
        let five = Tensor::scalar(5i64);
        let b = f32s(&window(&attrs(WindowKind::Blackman, false), &five).unwrap());
        assert_eq!(b[2], 1.0);
        assert_eq!(
            f32s(&window(&attrs(WindowKind::Hann, false), &Tensor::scalar(1i64)).unwrap()),
            vec![1.0]
        );
        assert!(window(&attrs(WindowKind::Hann, false), &Tensor::scalar(-1i64)).is_err());
    }

    #[test]
    fn python_floor_division() {
        assert_eq!(floor_div(7.0, 2.0), 3.0);
        assert_eq!(floor_div(-7.0, 2.0), -4.0);
        assert_eq!(floor_div(6.0, 3.0), 2.0);
    }
}
