//! Type rules of the signal-processing ops: DFT, STFT, windows and the mel filter bank.

use super::{bail, expect_float, Args, InferError, SymbolNamer};
use crate::graph::TensorType;
use crate::op::{DftAttrs, MelWeightMatrixAttrs, StftAttrs, WindowAttrs};
use crate::shape::{Dim, Shape};

/// The single integer value of operand `i` when it is a known constant.
fn const_one(args: &Args, i: usize, what: &str) -> Result<Option<i64>, InferError> {
    match args.const_ints(i)? {
        None => Ok(None),
        Some(v) if v.len() == 1 => Ok(Some(v[0])),
        Some(v) => bail!("{what} must be one integer, got {v:?}"),
    }
}

/// Normalizes a DFT axis: `[-r, -2]` or `[0, r - 2]` for an input of rank `r`.
pub fn dft_axis(axis: i64, rank: usize) -> Result<usize, InferError> {
    let r = rank as i64;
    let a = if axis < 0 { axis + r } else { axis };
    if a < 0 || a > r - 2 {
        bail!("dft axis {axis} is out of range for an input of rank {rank}");
    }
    Ok(a as usize)
}

/// The size of the transformed axis given its input size `d` and the `dft_length`
/// operand's value `len` (`None`: absent), or `None` when it is not known.
fn dft_out(a: &DftAttrs, d: Option<usize>, len: Option<Option<i64>>) -> Result<Option<usize>, InferError> {
    let n = match len {
        Some(Some(l)) if l < 1 => bail!("dft_length must be positive, got {l}"),
        Some(Some(l)) => Some(l as usize),
        Some(None) => None,
        None if a.inverse && a.onesided => d.and_then(|d| d.checked_sub(1)).and_then(|m| m.checked_mul(2)),
        None => d,
    };
    Ok(n.map(|n| if a.onesided && !a.inverse { n / 2 + 1 } else { n }))
}

/// `input` with the transformed axis resized and the last dim 2 (1 for the inverse
/// one-sided transform). With the axis unknown, every dim the transform could change is
/// a fresh symbol.
pub(super) fn dft(a: &DftAttrs, args: &Args, names: &mut SymbolNamer) -> Result<TensorType, InferError> {
    let x = args.get(0)?.ty;
    expect_float(x, "dft input")?;
    let r = x.rank();
    if r < 2 || x.shape.0[r - 1].fixed().is_some_and(|c| c != 1 && c != 2) {
        bail!("dft input must be [..., 1] or [..., 2], got {x}");
    }
    let len = match args.opt(1) {
        None => None,
        Some(_) => Some(const_one(args, 1, "dft_length")?),
    };
    let axis = match args.opt(2) {
        None => Some(dft_axis(-2, r)?),
        Some(_) => match const_one(args, 2, "dft axis")? {
            Some(v) => Some(dft_axis(v, r)?),
            None => None,
        },
    };
    let mut dims = x.shape.0.clone();
    for (i, d) in dims.iter_mut().enumerate().take(r - 1) {
        if axis.is_some_and(|ax| ax != i) {
            continue;
        }
        let fixed = d.fixed();
        let out = dft_out(a, fixed, len)?;
        let same = match (fixed, out) {
            (Some(f), Some(o)) => f == o,
            // The plain transform keeps the size whatever it is.
            _ => len.is_none() && !a.onesided,
        };
        if !same {
            *d = match (axis, out) {
                (Some(_), Some(o)) => Dim::Fixed(o),
                _ => names.fresh(),
            };
        }
    }
    dims[r - 1] = Dim::Fixed(if a.inverse && a.onesided { 1 } else { 2 });
    Ok(TensorType::new(x.dtype, Shape(dims)))
}

/// `[batch, frames, bins, 2]`.
pub(super) fn stft(a: &StftAttrs, args: &Args, names: &mut SymbolNamer) -> Result<TensorType, InferError> {
    let x = args.get(0)?.ty;
    expect_float(x, "stft signal")?;
    if x.rank() != 3 || x.shape.0[2].fixed().is_some_and(|c| c != 1 && c != 2) {
        bail!("stft signal must be [batch, length, 1 or 2], got {x}");
    }
    let step = const_one(args, 1, "stft frame_step")?;
    let frame = match const_one(args, 3, "stft frame_length")? {
        Some(l) => Some(l),
        None => match args.opt(2) {
            Some(w) if w.ty.rank() == 1 => w.ty.shape.0[0].fixed().map(|n| n as i64),
            Some(w) => bail!("stft window must be rank 1, got {}", w.ty),
            None if args.opt(3).is_none() => x.shape.0[1].fixed().map(|n| n as i64),
            None => None,
        },
    };
    if step.is_some_and(|s| s < 1) || frame.is_some_and(|f| f < 1) {
        bail!("stft frame_step {step:?} and frame_length {frame:?} must be positive");
    }
    let frames = match (x.shape.0[1].fixed(), frame, step) {
        (Some(n), Some(f), Some(s)) => {
            let f = f as usize;
            if f > n {
                bail!("stft frame_length {f} is longer than the signal ({n})");
            }
            Dim::Fixed((n - f) / s as usize + 1)
        }
        _ => names.fresh(),
    };
    let bins = match frame {
        Some(f) if a.onesided => Dim::Fixed(f as usize / 2 + 1),
        Some(f) => Dim::Fixed(f as usize),
        None => names.fresh(),
    };
    Ok(TensorType::new(
        x.dtype,
        Shape(vec![x.shape.0[0].clone(), frames, bins, Dim::Fixed(2)]),
    ))
}

/// `[size]` of the attribute's dtype.
pub(super) fn window(a: &WindowAttrs, args: &Args, names: &mut SymbolNamer) -> Result<TensorType, InferError> {
    let size = args.get(0)?.ty;
    if !size.dtype.is_int() || size.rank() > 1 {
        bail!("window size must be one integer, got {size}");
    }
    if !a.dtype.is_numeric() {
        bail!("window dtype must be numeric, got {}", a.dtype);
    }
    let n = match const_one(args, 0, "window size")? {
        Some(n) if n < 0 => bail!("window size must not be negative, got {n}"),
        Some(n) => Dim::Fixed(n as usize),
        None => names.fresh(),
    };
    Ok(TensorType::new(a.dtype, Shape(vec![n])))
}

/// `[dft_length / 2 + 1, num_mel_bins]` of the attribute's dtype.
pub(super) fn mel_weight_matrix(
    a: &MelWeightMatrixAttrs,
    args: &Args,
    names: &mut SymbolNamer,
) -> Result<TensorType, InferError> {
    for i in 0..3 {
        let t = args.get(i)?.ty;
        if !t.dtype.is_int() || t.rank() > 1 {
            bail!("mel_weight_matrix operand {i} must be one integer, got {t}");
        }
    }
    for i in 3..5 {
        let t = args.get(i)?.ty;
        if !t.dtype.is_float() || t.rank() > 1 {
            bail!("mel_weight_matrix operand {i} must be one float, got {t}");
        }
    }
    let bins = match const_one(args, 0, "num_mel_bins")? {
        Some(n) if n < 0 => bail!("num_mel_bins must not be negative, got {n}"),
        Some(n) => Dim::Fixed(n as usize),
        None => names.fresh(),
    };
    let spec = match const_one(args, 1, "dft_length")? {
        Some(n) if n < 1 => bail!("dft_length must be positive, got {n}"),
        Some(n) => Dim::Fixed(n as usize / 2 + 1),
        None => names.fresh(),
    };
    Ok(TensorType::new(a.dtype, Shape(vec![spec, bins])))
}
