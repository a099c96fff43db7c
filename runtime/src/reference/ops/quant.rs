//! Kernels of the quantization ops and `BitCast`.
//!
//! The arithmetic follows the ONNX reference implementation step by step, rounding where
//! it rounds (its NumPy dtype promotions included), so results match it bit for bit:
//!
//! - `QuantizeLinear`: `q = x / scale` in the division dtype (see
//!   [`QuantizeAttrs::precision`]), then for integer results `round_half_even(q) + zp`
//!   clamped to the range; for float8/float4 results `q` (plus the zero point when it is
//!   not zero) encoded once with round to nearest even and the `saturate` rule.
//! - `DequantizeLinear`: `x` as `f32` minus the zero point (in `f64` for `i32` data),
//!   times the scale in `f32` (in `f64` for `i32` data), then rounded to the result dtype.
//! - `MatMulInteger`, `ConvInteger`: exact integer products summed in wrapping `i32`.
//! - `QLinearMatMul`, `QLinearConv`: the integer product as above, then
//!   `f64(acc) * f64(multiplier) + y_zero_point` rounded half to even and clamped, where
//!   the multiplier `a_scale * b_scale / y_scale` is computed in the scales' dtype.
//!
//! A NaN that has to become an integer becomes 0 before the zero point is added (the
//! ONNX reference leaves it undefined); values past an integer range saturate.

use half::{bf16, f16};
use lightos_ir::dtype::minifloat;
use lightos_ir::infer::{same_granularity, scale_layout, ScaleLayout};
use lightos_ir::{BitCastAttrs, ConvAttrs, DType, DequantizeAttrs, QuantizeAttrs, Tensor};

use super::index::{broadcast_dims, broadcast_strides, StridedWalk};
use super::linalg;
use crate::reference::{invalid, EvalError};

/// The integer range of a quantized integer dtype, `None` for others.
fn int_range(d: DType) -> Option<(f64, f64)> {
    Some(match d {
        DType::U8 => (0.0, 255.0),
        DType::I8 => (-128.0, 127.0),
        DType::U16 => (0.0, 65535.0),
        DType::I16 => (-32768.0, 32767.0),
        DType::U4 => (0.0, 15.0),
        DType::I4 => (-8.0, 7.0),
        DType::U2 => (0.0, 3.0),
        DType::I2 => (-2.0, 1.0),
        _ => return None,
    })
}

/// `v` rounded half to even and clamped to `[lo, hi]`; NaN gives 0 (then clamped).
fn round_clamp(v: f64, lo: f64, hi: f64) -> f64 {
    let r = if v.is_nan() { 0.0 } else { v.round_ties_even() };
    r.clamp(lo, hi)
}

/// A tensor of the integer dtype `d` from values already in its range.
fn int_tensor(d: DType, dims: Vec<usize>, values: &[f64]) -> Result<Tensor, EvalError> {
    Ok(match d {
        DType::U16 => Tensor::from_vec(dims, values.iter().map(|&v| v as u16).collect())?,
        DType::I16 => Tensor::from_vec(dims, values.iter().map(|&v| v as i16).collect())?,
        DType::I8 | DType::I4 | DType::I2 => {
            let bytes: Vec<u8> = values.iter().map(|&v| v as i8 as u8).collect();
            Tensor::from_bytes(d, dims, &bytes)?
        }
        _ => {
            let bytes: Vec<u8> = values.iter().map(|&v| v as u8).collect();
            Tensor::from_bytes(d, dims, &bytes)?
        }
    })
}

/// `v` rounded to the float dtype `d` (`f64`, `f32`, `f16` or `bf16`), as an `f64`.
fn round_to(d: DType, v: f64) -> f64 {
    match d {
        DType::F32 => f64::from(v as f32),
        DType::F16 => f16::from_f64(v).to_f64(),
        DType::BF16 => bf16::from_f64(v).to_f64(),
        _ => v,
    }
}

/// `a / b` for `a` and `b` of the float dtype `d`, correctly rounded to `d` (`f16` and
/// `bf16` divide in `f32` and round once more, which is exact for division).
fn div_in(d: DType, a: f64, b: f64) -> f64 {
    match d {
        DType::F64 => a / b,
        _ => round_to(d, f64::from(a as f32 / b as f32)),
    }
}

/// `a * b` for `a` and `b` of the float dtype `d`, correctly rounded to `d`.
fn mul_in(d: DType, a: f64, b: f64) -> f64 {
    match d {
        DType::F64 => a * b,
        _ => round_to(d, f64::from(a as f32 * b as f32)),
    }
}

/// The dtype NumPy computes `a / b` in for these operand dtypes, as the ONNX reference
/// sees them: the common dtype when they agree, `f64` when either is `i32`, else `f32`.
fn promote(a: DType, b: DType) -> DType {
    if a == DType::I32 || b == DType::I32 {
        DType::F64
    } else if a == b {
        a
    } else {
        DType::F32
    }
}

/// For each element of data with dims `dims`, the index of its scale under `layout`.
fn scale_indices(layout: ScaleLayout, dims: &[usize]) -> Vec<usize> {
    let n: usize = dims.iter().product();
    match layout {
        ScaleLayout::PerTensor => vec![0; n],
        ScaleLayout::PerAxis { axis } => {
            let inner: usize = dims[axis + 1..].iter().product();
            (0..n).map(|i| (i / inner.max(1)) % dims[axis].max(1)).collect()
        }
        ScaleLayout::Blocked { axis, block } => {
            let inner: usize = dims[axis + 1..].iter().product::<usize>().max(1);
            let d = dims[axis].max(1);
            let blocks = dims[axis].div_ceil(block).max(1);
            (0..n)
                .map(|i| {
                    let (outer, a, rest) = (i / (d * inner), (i / inner) % d, i % inner);
                    (outer * blocks + a / block) * inner + rest
                })
                .collect()
        }
    }
}

/// Resolves the scale layout of `scale` for `x` and checks that the zero point, when
/// present, has the scale's dims and the dtype `zp_dtype`.
fn layout_of(
    what: &str,
    x: &Tensor,
    scale: &Tensor,
    zp: Option<&Tensor>,
    zp_dtype: DType,
    axis: usize,
    block_size: usize,
) -> Result<ScaleLayout, EvalError> {
    if let Some(z) = zp {
        if z.dtype() != zp_dtype || !same_granularity(z.dims(), scale.dims()) {
            invalid!(
                "{what} zero point {}{:?} must be {zp_dtype} with the scale's dims {:?}",
                z.dtype(),
                z.dims(),
                scale.dims()
            );
        }
    }
    Ok(scale_layout(x.dims(), scale.dims(), axis, block_size)?)
}

/// ONNX `QuantizeLinear` (see the [module documentation](self)).
pub(crate) fn quantize_linear(
    q: &QuantizeAttrs,
    x: &Tensor,
    scale: &Tensor,
    zp: Option<&Tensor>,
) -> Result<Tensor, EvalError> {
    let layout = layout_of("quantize_linear", x, scale, zp, q.to, q.axis, q.block_size)?;
    let div = q.precision.unwrap_or_else(|| promote(x.dtype(), scale.dtype()));
    let (xs, ss) = (x.to_f64_vec(), scale.to_f64_vec());
    let zs = zp.map_or_else(|| vec![0.0; ss.len()], Tensor::to_f64_vec);
    let which = scale_indices(layout, x.dims());
    let quotients = xs
        .iter()
        .zip(&which)
        .map(|(&v, &k)| div_in(div, round_to(div, v), round_to(div, ss[k])));
    let dims = x.dims().to_vec();
    if let Some((lo, hi)) = int_range(q.to) {
        let values: Vec<f64> = quotients
            .zip(&which)
            .map(|(v, &k)| {
                let r = if v.is_nan() { 0.0 } else { v.round_ties_even() };
                (r + zs[k]).clamp(lo, hi)
            })
            .collect();
        return int_tensor(q.to, dims, &values);
    }
    if !q.to.is_narrow_float() || q.to == DType::F8E8M0 {
        invalid!("quantize_linear cannot produce {}", q.to);
    }
    let codes = quotients
        .zip(&which)
        .map(|(v, &k)| {
            // A zero zero point is not added, so -0 keeps its sign as in the reference.
            let v = if zs[k] != 0.0 { v + zs[k] } else { v };
            minifloat::encode(q.to, v, q.saturate).unwrap_or(0)
        })
        .collect::<Vec<u8>>();
    Ok(Tensor::from_bytes(q.to, dims, &codes)?)
}

/// ONNX `DequantizeLinear` (see the [module documentation](self)).
pub(crate) fn dequantize_linear(
    d: &DequantizeAttrs,
    x: &Tensor,
    scale: &Tensor,
    zp: Option<&Tensor>,
) -> Result<Tensor, EvalError> {
    let layout = layout_of("dequantize_linear", x, scale, zp, x.dtype(), d.axis, d.block_size)?;
    // `x.astype(f32) - zp` is f32 arithmetic, except with an i32 zero point (f64).
    let wide = x.dtype() == DType::I32 && zp.is_some();
    let compute = if wide { DType::F64 } else { DType::F32 };
    let (xs, ss) = (x.to_f64_vec(), scale.to_f64_vec());
    let zs = zp.map(Tensor::to_f64_vec);
    let which = scale_indices(layout, x.dims());
    let values = xs.iter().zip(&which).map(|(&v, &k)| {
        let xf = round_to(DType::F32, v);
        let dx = match &zs {
            Some(z) => round_to(compute, xf - z[k]),
            None => xf,
        };
        mul_in(compute, dx, ss[k])
    });
    let dims = x.dims().to_vec();
    Ok(match d.to {
        DType::F32 => Tensor::from_vec(dims, values.map(|v| v as f32).collect())?,
        DType::F16 => Tensor::from_vec(dims, values.map(f16::from_f64).collect())?,
        DType::BF16 => Tensor::from_vec(dims, values.map(bf16::from_f64).collect())?,
        other => invalid!("dequantize_linear cannot produce {other}"),
    })
}

/// ONNX `DynamicQuantizeLinear`: `u8` data, the `f32` scale and the `u8` zero point.
///
/// With `lo = min(0, min x)` and `hi = max(0, max x)` (NaN propagating), in `f32`:
/// `scale = (hi - lo, or 1 when equal) / 255`, `zp = round_half_even(clamp(0 - lo / scale,
/// 0, 255))`, `y = clamp(round_half_even(x / scale) + zp, 0, 255)`.
pub(crate) fn dynamic_quantize_linear(x: &Tensor) -> Result<Vec<Tensor>, EvalError> {
    if x.dtype() != DType::F32 {
        invalid!("dynamic_quantize_linear needs f32 data, got {}", x.dtype());
    }
    let xs = x.as_slice::<f32>()?;
    let nan_max = |a: f32, b: f32| {
        if a.is_nan() || b.is_nan() {
            f32::NAN
        } else {
            a.max(b)
        }
    };
    let nan_min = |a: f32, b: f32| {
        if a.is_nan() || b.is_nan() {
            f32::NAN
        } else {
            a.min(b)
        }
    };
    let hi = xs.iter().fold(0.0f32, |m, &v| nan_max(m, v));
    let lo = xs.iter().fold(0.0f32, |m, &v| nan_min(m, v));
    let scale = (if hi == lo { 1.0 } else { hi - lo }) / 255.0f32;
    let initial = 0.0f32 - lo / scale;
    // Python's `max(0, min(255, initial))`: a NaN keeps 255.
    let capped = if initial < 255.0 { initial } else { 255.0 };
    let zp = if capped > 0.0 { capped } else { 0.0 }.round_ties_even();
    let y: Vec<u8> = xs
        .iter()
        .map(|&v| round_clamp(f64::from((v / scale).round_ties_even()) + f64::from(zp), 0.0, 255.0) as u8)
        .collect();
    Ok(vec![
        Tensor::from_vec(x.dims().to_vec(), y)?,
        Tensor::scalar(scale),
        Tensor::scalar(zp as u8),
    ])
}

/// The values of `v` broadcast to `dims`, where a one-element `v` is a scalar and a rank-1
/// `v` runs along the second-to-last axis (`rows`) or the last axis.
fn expand(dims: &[usize], v: &Tensor, rows: bool, what: &str) -> Result<Vec<f64>, EvalError> {
    let n: usize = dims.iter().product();
    let values = v.to_f64_vec();
    if values.len() == 1 {
        return Ok(vec![values[0]; n]);
    }
    let vd = match v.dims() {
        [len] if rows => vec![*len, 1],
        d => d.to_vec(),
    };
    if vd.len() > dims.len() || broadcast_dims(dims, &vd).ok().as_deref() != Some(dims) {
        invalid!("{what} of dims {:?} does not fit data of dims {dims:?}", v.dims());
    }
    let strides = broadcast_strides(&vd, dims);
    Ok(StridedWalk::new(dims, [&strides]).map(|[i]| values[i]).collect())
}

/// Requires `t` to be `u8` or `i8`, and its zero point (when present) to share its dtype.
fn check_byte(t: &Tensor, zp: Option<&Tensor>, what: &str) -> Result<(), EvalError> {
    if !matches!(t.dtype(), DType::U8 | DType::I8) {
        invalid!("{what} must be u8 or i8, got {}", t.dtype());
    }
    if let Some(z) = zp {
        if z.dtype() != t.dtype() {
            invalid!(
                "{what} zero point must be {} like its data, got {}",
                t.dtype(),
                z.dtype()
            );
        }
    }
    Ok(())
}

/// `x - zp` as `i32`, with the zero point broadcast as in [`expand`].
fn shifted_i32(x: &Tensor, zp: Option<&Tensor>, rows: bool, what: &str) -> Result<Tensor, EvalError> {
    let xs = x.to_f64_vec();
    let zs = match zp {
        Some(z) => expand(x.dims(), z, rows, what)?,
        None => vec![0.0; xs.len()],
    };
    let v: Vec<i32> = xs.iter().zip(&zs).map(|(&a, &b)| (a - b) as i32).collect();
    Ok(Tensor::from_vec(x.dims().to_vec(), v)?)
}

/// ONNX `MatMulInteger`: `(A - a_zero_point) (B - b_zero_point)` in wrapping `i32`; a
/// rank-1 `a_zero_point` is per row of `A`, a rank-1 `b_zero_point` per column of `B`.
pub(crate) fn matmul_integer(
    a: &Tensor,
    b: &Tensor,
    azp: Option<&Tensor>,
    bzp: Option<&Tensor>,
) -> Result<Tensor, EvalError> {
    check_byte(a, azp, "matmul_integer A")?;
    check_byte(b, bzp, "matmul_integer B")?;
    let a32 = shifted_i32(a, azp, true, "matmul_integer a_zero_point")?;
    let b32 = shifted_i32(b, bzp, false, "matmul_integer b_zero_point")?;
    linalg::matmul(&a32, &b32)
}

/// The dims of a matmul with rank-1 operands promoted to matrices: `[batch.., M, N]`.
fn full_matmul_dims(a: &[usize], b: &[usize]) -> Result<Vec<usize>, EvalError> {
    if a.is_empty() || b.is_empty() {
        invalid!("matmul operands must have rank 1 or more, got {a:?} and {b:?}");
    }
    let da = if a.len() == 1 { vec![1, a[0]] } else { a.to_vec() };
    let db = if b.len() == 1 { vec![b[0], 1] } else { b.to_vec() };
    let mut out = broadcast_dims(&da[..da.len() - 2], &db[..db.len() - 2])?;
    out.push(da[da.len() - 2]);
    out.push(db[db.len() - 1]);
    Ok(out)
}

/// Requires a zero point's dtype to be `u8` or `i8`; returns the result dtype it gives.
fn out_dtype(yzp: Option<&Tensor>, default: DType) -> Result<DType, EvalError> {
    match yzp {
        Some(z) if !matches!(z.dtype(), DType::U8 | DType::I8) => {
            invalid!("y_zero_point must be u8 or i8, got {}", z.dtype())
        }
        Some(z) => Ok(z.dtype()),
        None => Ok(default),
    }
}

/// Requantizes `i32` accumulators: `clamp(round_half_even(f64(acc) * mult + zp))` into
/// `dtype` (`u8` or `i8`), with per-element multipliers and zero points.
fn requantize(acc: &Tensor, mult: &[f64], zps: &[f64], dtype: DType) -> Result<Tensor, EvalError> {
    let (lo, hi) = int_range(dtype).unwrap_or((0.0, 255.0));
    let values: Vec<f64> = acc
        .as_slice::<i32>()?
        .iter()
        .zip(mult)
        .zip(zps)
        .map(|((&c, &m), &z)| round_clamp(f64::from(c) * m + z, lo, hi))
        .collect();
    int_tensor(dtype, acc.dims().to_vec(), &values)
}

/// ONNX `QLinearMatMul`: operands `a, a_scale, a_zero_point?, b, b_scale, b_zero_point?,
/// y_scale, y_zero_point?`. The scales (one dtype: `f32`, `f16` or `bf16`) and zero points
/// are per tensor, or rank 1 per row of `a` / per column of `b` and `y`, or N-d
/// broadcasting to the result.
pub(crate) fn qlinear_matmul(operands: [Option<&Tensor>; 8]) -> Result<Tensor, EvalError> {
    let [Some(a), Some(a_scale), azp, Some(b), Some(b_scale), bzp, Some(y_scale), yzp] = operands else {
        invalid!("qlinear_matmul needs a, a_scale, b, b_scale and y_scale");
    };
    check_byte(a, azp, "qlinear_matmul a")?;
    check_byte(b, bzp, "qlinear_matmul b")?;
    let sd = a_scale.dtype();
    if !matches!(sd, DType::F32 | DType::F16 | DType::BF16) || b_scale.dtype() != sd || y_scale.dtype() != sd {
        invalid!(
            "qlinear_matmul scales must share one of f32, f16, bf16, got {sd}, {} and {}",
            b_scale.dtype(),
            y_scale.dtype()
        );
    }
    let dtype = out_dtype(yzp, a.dtype())?;
    let acc = matmul_integer(a, b, azp, bzp)?;
    let full = full_matmul_dims(a.dims(), b.dims())?;
    let sa = expand(&full, a_scale, true, "qlinear_matmul a_scale")?;
    let sb = expand(&full, b_scale, false, "qlinear_matmul b_scale")?;
    let sy = expand(&full, y_scale, false, "qlinear_matmul y_scale")?;
    let mult: Vec<f64> = (0..sa.len())
        .map(|i| div_in(sd, mul_in(sd, sa[i], sb[i]), sy[i]))
        .collect();
    let zps = match yzp {
        Some(z) => expand(&full, z, false, "qlinear_matmul y_zero_point")?,
        None => vec![0.0; mult.len()],
    };
    requantize(&acc, &mult, &zps, dtype)
}

/// The largest number of products one output of an integer convolution may sum: below
/// `2^53` even with products of magnitude `255 * 255` and an `i32` bias, so the `f64`
/// convolution that computes it is exact.
const MAX_CONV_TERMS: usize = 1 << 36;

/// The exact integer convolution of `x - x_zero_point` by `w - w_zero_point` (per output
/// channel) plus the bias, wrapped to `i32`. Computed by the float convolution kernel in
/// `f64`, which is exact for these integers (see [`MAX_CONV_TERMS`]).
fn int_conv(
    c: &ConvAttrs,
    x: &Tensor,
    w: &Tensor,
    xzp: Option<&Tensor>,
    wzp: Option<&Tensor>,
    bias: Option<&Tensor>,
    what: &str,
) -> Result<Tensor, EvalError> {
    check_byte(x, xzp, what)?;
    check_byte(w, wzp, what)?;
    let wd = w.dims();
    if x.dims().len() < 3 || wd.len() != x.dims().len() {
        invalid!(
            "{what} needs input and weight of equal rank 3 or more, got {:?} and {wd:?}",
            x.dims()
        );
    }
    let terms = wd[1..].iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    if terms.is_none_or(|t| t >= MAX_CONV_TERMS) {
        invalid!("{what} weight {wd:?} sums too many products");
    }
    let xf = match xzp {
        Some(z) if z.len() != 1 => invalid!("{what} x_zero_point must have one element, got dims {:?}", z.dims()),
        Some(z) => {
            let zv = z.to_f64_vec()[0];
            x.to_f64_vec().into_iter().map(|v| v - zv).collect()
        }
        None => x.to_f64_vec(),
    };
    let per_channel: usize = wd[1..].iter().product();
    let wf: Vec<f64> = match wzp {
        Some(z) if z.len() != 1 && z.len() != wd[0] => {
            invalid!(
                "{what} w_zero_point must have 1 or {} elements, got dims {:?}",
                wd[0],
                z.dims()
            )
        }
        Some(z) => {
            let zs = z.to_f64_vec();
            w.to_f64_vec()
                .into_iter()
                .enumerate()
                .map(|(i, v)| v - zs[if zs.len() == 1 { 0 } else { i / per_channel.max(1) }])
                .collect()
        }
        None => w.to_f64_vec(),
    };
    let bias = match bias {
        Some(b) if b.dtype() != DType::I32 => {
            invalid!("{what} bias must be i32, got {}", b.dtype())
        }
        Some(b) => Some(Tensor::from_vec(b.dims().to_vec(), b.to_f64_vec())?),
        None => None,
    };
    let xf = Tensor::from_vec(x.dims().to_vec(), xf)?;
    let wf = Tensor::from_vec(wd.to_vec(), wf)?;
    let out = linalg::conv(c, &xf, &wf, bias.as_ref())?;
    let wrapped: Vec<i32> = out.as_slice::<f64>()?.iter().map(|&v| v as i64 as i32).collect();
    Ok(Tensor::from_vec(out.dims().to_vec(), wrapped)?)
}

/// ONNX `ConvInteger`: the convolution of `X - x_zero_point` (per tensor) by
/// `W - w_zero_point` (per tensor or per output channel), summed in wrapping `i32`.
pub(crate) fn conv_integer(
    c: &ConvAttrs,
    x: &Tensor,
    w: &Tensor,
    xzp: Option<&Tensor>,
    wzp: Option<&Tensor>,
) -> Result<Tensor, EvalError> {
    int_conv(c, x, w, xzp, wzp, None, "conv_integer")
}

/// ONNX `QLinearConv`: operands `x, x_scale, x_zero_point?, w, w_scale, w_zero_point?,
/// y_scale, y_zero_point?, B?`. The integer convolution (with the `i32` bias) is
/// requantized with the multiplier `x_scale * w_scale / y_scale` in `f32`, per output
/// channel when `w_scale` is.
pub(crate) fn qlinear_conv(c: &ConvAttrs, operands: [Option<&Tensor>; 9]) -> Result<Tensor, EvalError> {
    let [Some(x), Some(x_scale), xzp, Some(w), Some(w_scale), wzp, Some(y_scale), yzp, bias] = operands else {
        invalid!("qlinear_conv needs x, x_scale, w, w_scale and y_scale");
    };
    for (s, name) in [(x_scale, "x_scale"), (w_scale, "w_scale"), (y_scale, "y_scale")] {
        if s.dtype() != DType::F32 {
            invalid!("qlinear_conv {name} must be f32, got {}", s.dtype());
        }
    }
    if x_scale.len() != 1 || y_scale.len() != 1 || yzp.is_some_and(|z| z.len() != 1) {
        invalid!("qlinear_conv x_scale, y_scale and y_zero_point must have one element each");
    }
    let dtype = out_dtype(yzp, x.dtype())?;
    let acc = int_conv(c, x, w, xzp, wzp, bias, "qlinear_conv")?;
    let channels = acc.dims()[1];
    let ws = w_scale.to_f64_vec();
    if ws.len() != 1 && ws.len() != channels {
        invalid!(
            "qlinear_conv w_scale must have 1 or {channels} elements, got {}",
            ws.len()
        );
    }
    let (xs, ys) = (x_scale.to_f64_vec()[0], y_scale.to_f64_vec()[0]);
    let per_channel: Vec<f64> = (0..channels)
        .map(|co| {
            div_in(
                DType::F32,
                mul_in(DType::F32, xs, ws[if ws.len() == 1 { 0 } else { co }]),
                ys,
            )
        })
        .collect();
    let spatial: usize = acc.dims()[2..].iter().product();
    let mult: Vec<f64> = (0..acc.len())
        .map(|i| per_channel[(i / spatial.max(1)) % channels.max(1)])
        .collect();
    let zp = yzp.map_or(0.0, |z| z.to_f64_vec()[0]);
    requantize(&acc, &mult, &vec![zp; mult.len()], dtype)
}

/// ONNX `BitCast`: the bits of each element read as `b.to`, of the same width. The 4- and
/// 2-bit types keep their low bits and are re-extended (`u4` 15 is `i4` -1); a bool result
/// needs bytes 0 or 1.
pub(crate) fn bit_cast(b: &BitCastAttrs, x: &Tensor) -> Result<Tensor, EvalError> {
    let (from, to) = (x.dtype(), b.to);
    if from == to {
        return Ok(x.clone());
    }
    if from.bits() != to.bits() {
        invalid!(
            "bit_cast from {from} ({} bits) to {to} ({} bits)",
            from.bits(),
            to.bits()
        );
    }
    let dims = x.dims().to_vec();
    let bits = to.bits();
    if bits < 8 {
        let mask = (1u8 << bits) - 1;
        let bytes: Vec<u8> = x
            .bytes()
            .iter()
            .map(|&v| {
                let low = v & mask;
                if to.is_signed_int() {
                    (((low << (8 - bits)) as i8) >> (8 - bits)) as u8
                } else {
                    low
                }
            })
            .collect();
        return Ok(Tensor::from_bytes(to, dims, &bytes)?);
    }
    if to == DType::Bool {
        if let Some(v) = x.bytes().iter().find(|&&v| v > 1) {
            invalid!("bit_cast to bool needs bytes 0 or 1, got {v}");
        }
    }
    Ok(Tensor::from_bytes(to, dims, x.bytes())?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f32s(dims: &[usize], v: &[f32]) -> Tensor {
        Tensor::from_vec(dims.to_vec(), v.to_vec()).unwrap()
    }

    fn bytes(dtype: DType, dims: &[usize], v: &[u8]) -> Tensor {
        Tensor::from_bytes(dtype, dims.to_vec(), v).unwrap()
    }

    fn qattrs(to: DType) -> QuantizeAttrs {
        QuantizeAttrs {
            axis: 1,
            block_size: 0,
            to,
            saturate: true,
            precision: None,
        }
    }

    #[test]
    fn quantize_per_tensor_rounds_half_even_and_saturates() {
        // x / 2 = [0, 1, 1.5, 500, -127, -500]; rint -> [0, 1, 2, 500, -127, -500]; +128.
        let x = f32s(&[6], &[0.0, 2.0, 3.0, 1000.0, -254.0, -1000.0]);
        let y = quantize_linear(
            &qattrs(DType::U8),
            &x,
            &Tensor::scalar(2.0f32),
            Some(&Tensor::scalar(128u8)),
        )
        .unwrap();
        assert_eq!(y.bytes(), &[128, 129, 130, 255, 1, 0]);
        // 2.5 -> 2 and 3.5 -> 4 (ties to even); no zero point means 0.
        let x = f32s(&[3], &[2.5, 3.5, -2.5]);
        let y = quantize_linear(&qattrs(DType::I8), &x, &Tensor::scalar(1.0f32), None).unwrap();
        assert_eq!(y.to_i64_vec(), Some(vec![2, 4, -2]));
    }

    #[test]
    fn quantize_per_axis_blocked_and_narrow() {
        // Per axis 0 with scales [2, 4] into i4 with zero points [1, -1].
        let x = f32s(&[2, 2], &[6.0, 40.0, 8.0, -100.0]);
        let a = QuantizeAttrs {
            axis: 0,
            ..qattrs(DType::I4)
        };
        let zp = bytes(DType::I4, &[2], &[1, 0xFF]);
        let y = quantize_linear(&a, &x, &f32s(&[2], &[2.0, 4.0]), Some(&zp)).unwrap();
        assert_eq!(y.to_i64_vec(), Some(vec![4, 7, 1, -8]));
        // Blocked along axis 1, block 2, three columns: scales [[1, 10], [2, 20]].
        let x = f32s(&[2, 3], &[1.0, 2.0, 30.0, 4.0, 6.0, 60.0]);
        let a = QuantizeAttrs {
            block_size: 2,
            ..qattrs(DType::U8)
        };
        let y = quantize_linear(&a, &x, &f32s(&[2, 2], &[1.0, 10.0, 2.0, 20.0]), None).unwrap();
        assert_eq!(y.bytes(), &[1, 2, 3, 2, 3, 3]);
        // Float8: 1e6 / 2 saturates to 448; zero point 0 keeps -0.
        let x = f32s(&[3], &[1.0, 1e6, -0.0]);
        let zp = bytes(DType::F8E4M3FN, &[], &[0]);
        let y = quantize_linear(&qattrs(DType::F8E4M3FN), &x, &Tensor::scalar(2.0f32), Some(&zp)).unwrap();
        assert_eq!(y.bytes(), &[0x30, 0x7E, 0x80]);
        let no_sat = QuantizeAttrs {
            saturate: false,
            ..qattrs(DType::F8E5M2)
        };
        let y = quantize_linear(&no_sat, &x, &Tensor::scalar(2.0f32), None).unwrap();
        assert_eq!(y.bytes(), &[0x38, 0x7C, 0x80]);
        // Mismatched zero point dtype.
        assert!(quantize_linear(&qattrs(DType::U8), &x, &Tensor::scalar(2.0f32), Some(&zp)).is_err());
    }

    #[test]
    fn quantize_division_dtype() {
        // f16 / f16 divides in f16: 1 / 3 rounds to f16 first, then * 3 would not be 1.
        let x = Tensor::from_vec(vec![1], vec![f16::from_f32(2049.0)]).unwrap();
        let s = Tensor::scalar(f16::from_f32(2.0));
        // 2049 is not an f16 (it rounds to 2048); 2048 / 2 = 1024.
        let y = quantize_linear(&qattrs(DType::U16), &x, &s, None).unwrap();
        assert_eq!(y.to_i64_vec(), Some(vec![1024]));
        // i32 data divides in f64: 16777217 / 1 stays exact and saturates at u16.
        let x = Tensor::from_vec(vec![1], vec![-7i32]).unwrap();
        let y = quantize_linear(&qattrs(DType::I16), &x, &Tensor::scalar(2.0f32), None).unwrap();
        assert_eq!(y.to_i64_vec(), Some(vec![-4]));
        assert_eq!(
            (promote(DType::F16, DType::F32), promote(DType::I32, DType::F16)),
            (DType::F32, DType::F64)
        );
    }

    #[test]
    fn dequantize() {
        let x = bytes(DType::U8, &[4], &[0, 3, 128, 255]);
        let d = DequantizeAttrs {
            axis: 1,
            block_size: 0,
            to: DType::F32,
        };
        let y = dequantize_linear(&d, &x, &Tensor::scalar(2.0f32), Some(&Tensor::scalar(128u8))).unwrap();
        assert_eq!(y.as_slice::<f32>().unwrap(), &[-256.0, -250.0, 0.0, 254.0]);
        // int4 per axis, to f16.
        let x = bytes(DType::I4, &[2, 2], &[0xF8, 7, 1, 0xFF]);
        let d = DequantizeAttrs {
            axis: 0,
            block_size: 0,
            to: DType::F16,
        };
        let zp = bytes(DType::I4, &[2], &[0xFF, 1]);
        let y = dequantize_linear(&d, &x, &f32s(&[2], &[0.5, 3.0]), Some(&zp)).unwrap();
        assert_eq!(y.to_f64_vec(), vec![-3.5, 4.0, 0.0, -6.0]);
        // float8 with an e8m0 scale (2^1).
        let x = bytes(DType::F8E4M3FN, &[2], &[0x38, 0xFE]);
        let s = bytes(DType::F8E8M0, &[], &[128]);
        let d = DequantizeAttrs {
            axis: 0,
            block_size: 0,
            to: DType::F32,
        };
        assert_eq!(
            dequantize_linear(&d, &x, &s, None).unwrap().to_f64_vec(),
            vec![2.0, -896.0]
        );
    }

    #[test]
    fn dynamic_quantize() {
        let x = f32s(&[6], &[0.0, 2.0, -3.0, -2.5, 1.34, 0.5]);
        let r = dynamic_quantize_linear(&x).unwrap();
        assert_eq!(r[0].bytes(), &[153, 255, 0, 26, 221, 179]);
        assert_eq!(r[1].as_slice::<f32>().unwrap(), &[5.0f32 / 255.0]);
        assert_eq!(r[2].bytes(), &[153]);
        // All equal: scale 1/255.
        let r = dynamic_quantize_linear(&f32s(&[2], &[0.0, 0.0])).unwrap();
        assert_eq!((r[0].bytes(), r[2].bytes()), (&[0u8, 0][..], &[0u8][..]));
    }

    #[test]
    fn integer_matmul_with_zero_points() {
        let a = bytes(DType::U8, &[2, 2], &[10, 20, 30, 40]);
        let b = Tensor::from_vec(vec![2, 2], vec![1i8, -2, 3, 4]).unwrap();
        // Per-row a zero points [10, 30]: A' = [[0, 10], [0, 10]]; b zp per column [1, 0].
        let azp = bytes(DType::U8, &[2], &[10, 30]);
        let bzp = Tensor::from_vec(vec![2], vec![1i8, 0]).unwrap();
        let y = matmul_integer(&a, &b, Some(&azp), Some(&bzp)).unwrap();
        // B' = [[0, -2], [2, 4]].
        assert_eq!(y.as_slice::<i32>().unwrap(), &[20, 40, 20, 40]);
        assert!(matmul_integer(&a, &b, Some(&bzp), None).is_err());
    }

    #[test]
    fn qlinear_matmul_requantizes() {
        let a = bytes(DType::U8, &[1, 2], &[12, 14]);
        let b = bytes(DType::U8, &[2, 1], &[3, 5]);
        let s = |v: f32| Tensor::scalar(v);
        let (azp, bzp, yzp) = (Tensor::scalar(10u8), Tensor::scalar(1u8), Tensor::scalar(100u8));
        // (2 * 2 + 4 * 4) = 20; multiplier 0.5 * 0.25 / 0.125 = 1; 20 + 100 = 120.
        let y = qlinear_matmul([
            Some(&a),
            Some(&s(0.5)),
            Some(&azp),
            Some(&b),
            Some(&s(0.25)),
            Some(&bzp),
            Some(&s(0.125)),
            Some(&yzp),
        ])
        .unwrap();
        assert_eq!(y.bytes(), &[120]);
        // y scale 8: 20 / 8 = 2.5 -> 2 (half to even).
        let y = qlinear_matmul([
            Some(&a),
            Some(&s(0.5)),
            Some(&azp),
            Some(&b),
            Some(&s(0.25)),
            Some(&bzp),
            Some(&s(1.0)),
            Some(&yzp),
        ])
        .unwrap();
        assert_eq!(y.bytes(), &[102]);
    }

    #[test]
    fn integer_convolutions() {
        let c = ConvAttrs {
            kernel: vec![2, 2],
            strides: vec![1, 1],
            dilations: vec![1, 1],
            padding: lightos_ir::Padding::Explicit(vec![0, 0, 0, 0]),
            group: 1,
        };
        let x = bytes(DType::U8, &[1, 1, 3, 3], &[2, 3, 4, 5, 6, 7, 8, 9, 10]);
        let w = bytes(DType::U8, &[1, 1, 2, 2], &[1, 1, 1, 1]);
        let y = conv_integer(&c, &x, &w, Some(&Tensor::scalar(1u8)), None).unwrap();
        assert_eq!(y.as_slice::<i32>().unwrap(), &[12, 16, 24, 28]);
        // Padding counts as the zero point's value (zero after the shift).
        let padded = ConvAttrs {
            padding: lightos_ir::Padding::Explicit(vec![1, 1, 1, 1]),
            ..c.clone()
        };
        let w2 = bytes(DType::U8, &[2, 1, 2, 2], &[1, 1, 1, 1, 1, 1, 1, 1]);
        let wzp = bytes(DType::U8, &[2], &[0, 1]);
        let y = conv_integer(&padded, &x, &w2, Some(&Tensor::scalar(1u8)), Some(&wzp)).unwrap();
        assert_eq!(y.dims(), &[1, 2, 4, 4]);
        assert_eq!(&y.as_slice::<i32>().unwrap()[..5], &[1, 3, 5, 3, 5]);
        assert!(y.as_slice::<i32>().unwrap()[16..].iter().all(|&v| v == 0));
        // QLinearConv: multiplier 0.5 * 2 / 0.25 = 4, bias 1, y zp 3: (12 + 1) * 4 + 3 = 55.
        let s = |v: f32| Tensor::scalar(v);
        let y = qlinear_conv(
            &c,
            [
                Some(&x),
                Some(&s(0.5)),
                Some(&Tensor::scalar(1u8)),
                Some(&w),
                Some(&s(2.0)),
                None,
                Some(&s(0.25)),
                Some(&Tensor::scalar(3u8)),
                Some(&Tensor::from_vec(vec![1], vec![1i32]).unwrap()),
            ],
        )
        .unwrap();
        assert_eq!(y.bytes(), &[55, 71, 103, 119]);
    }

    #[test]
    fn bit_casts() {
        let x = f32s(&[2], &[1.0, -2.5]);
        let y = bit_cast(&BitCastAttrs { to: DType::I32 }, &x).unwrap();
        assert_eq!(y.as_slice::<i32>().unwrap(), &[1065353216, -1071644672]);
        let u4 = bytes(DType::U4, &[2], &[15, 7]);
        let i4 = bit_cast(&BitCastAttrs { to: DType::I4 }, &u4).unwrap();
        assert_eq!(i4.to_i64_vec(), Some(vec![-1, 7]));
        let f4 = bit_cast(&BitCastAttrs { to: DType::F4E2M1 }, &i4).unwrap();
        assert_eq!(f4.to_f64_vec(), vec![-6.0, 6.0]);
        assert!(bit_cast(&BitCastAttrs { to: DType::I16 }, &x).is_err());
        assert!(bit_cast(&BitCastAttrs { to: DType::Bool }, &bytes(DType::U8, &[1], &[2])).is_err());
    }
}
