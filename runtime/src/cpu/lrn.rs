//! Local response normalization for [`Mode::Fast`](super::Mode::Fast).
//!
//! `y = x / (bias + alpha / size * sum(x[c']^2))^beta` over the channel window of each
//! element, as ONNX `LRN`. The reference evaluates the power with the project's correctly
//! rounded `pow`, which costs more than the rest of the op together; here it is
//! `exp(beta * ln(d))` in `f64` with short polynomials ([`pow_f64`], relative error below
//! `1e-13`, so the `f32` result is the correctly rounded one but for rare ties). The
//! window sums run over a sliding window of squares. Same bits from run to run and for
//! every thread count (threads take whole `(n, c)` planes).

use super::gemm::{expect_len, mul};
use super::threads::{self, SharedOut};
use super::CpuError;

/// `ln(2)` split in a high part with trailing zero bits and the rest.
const LN2_HI: f64 = 0.693_147_180_369_123_8;
const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;

/// `ln(x)` for finite `x > 0`: `x = m * 2^e` with `m` in `[sqrt(1/2), sqrt(2))`, then
/// `ln(m) = 2 atanh(s)`, `s = (m - 1) / (m + 1)`, `|s| < 0.172`, by its odd series.
fn ln_f64(x: f64) -> f64 {
    let bits = x.to_bits();
    let mut e = ((bits >> 52) & 0x7ff) as i64 - 1023;
    let mut m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    if m > std::f64::consts::SQRT_2 {
        m *= 0.5;
        e += 1;
    }
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let mut p = 1.0 / 17.0;
    for k in [15.0, 13.0, 11.0, 9.0, 7.0, 5.0, 3.0] {
        p = p * s2 + 1.0 / k;
    }
    let ln_m = 2.0 * s * (p * s2 + 1.0);
    let e = e as f64;
    e * LN2_HI + (e * LN2_LO + ln_m)
}

/// `exp(y)` for `|y| < 700`: `y = k ln 2 + r`, `|r| <= ln(2) / 2`, Taylor to degree 13.
fn exp_f64(y: f64) -> f64 {
    let k = (y / std::f64::consts::LN_2).round();
    let r = (y - k * LN2_HI) - k * LN2_LO;
    // 1 / i! for i = 13 down to 0.
    const INV_FACT: [f64; 14] = [
        1.0 / 6_227_020_800.0,
        1.0 / 479_001_600.0,
        1.0 / 39_916_800.0,
        1.0 / 3_628_800.0,
        1.0 / 362_880.0,
        1.0 / 40_320.0,
        1.0 / 5_040.0,
        1.0 / 720.0,
        1.0 / 120.0,
        1.0 / 24.0,
        1.0 / 6.0,
        0.5,
        1.0,
        1.0,
    ];
    let mut p = INV_FACT[0];
    for &c in &INV_FACT[1..] {
        p = p * r + c;
    }
    p * f64::from_bits(((k as i64 + 1023) as u64) << 52)
}

/// `d^beta` for the positive, finite `d` LRN produces (`pow` of the reference for other
/// inputs). The common exponents are square roots: `d^0.75 = sqrt(d) * sqrt(sqrt(d))`.
pub(crate) fn pow_f64(d: f64, beta: f64) -> f64 {
    if beta == 0.75 && d >= 0.0 {
        let r = d.sqrt();
        return r * r.sqrt();
    }
    if beta == 0.5 && d >= 0.0 {
        return d.sqrt();
    }
    let y = beta * ln_f64(d);
    if d > 0.0 && d.is_finite() && y.abs() < 700.0 {
        exp_f64(y)
    } else {
        crate::math::pow_f64(d, beta)
    }
}

/// ONNX `LRN` on `x` viewed as `[outer, channels, inner]`, on `threads` threads.
#[allow(clippy::too_many_arguments)]
pub fn lrn_fast_f32(
    threads: usize,
    x: &[f32],
    outer: usize,
    channels: usize,
    inner: usize,
    size: usize,
    alpha: f32,
    beta: f32,
    bias: f32,
    out: &mut [f32],
) -> Result<(), CpuError> {
    if threads == 0 || size == 0 {
        return Err(CpuError::Invalid(
            "LRN needs at least one thread and a positive size".into(),
        ));
    }
    let len = mul(mul(outer, channels, "LRN input")?, inner, "LRN input")?;
    expect_len("LRN input", len, x.len())?;
    expect_len("LRN output", len, out.len())?;
    if len == 0 {
        return Ok(());
    }
    let (before, after) = ((size - 1) / 2, size - 1 - (size - 1) / 2);
    let scale = alpha as f64 / size as f64;
    let (bias, beta) = (bias as f64, beta as f64);
    let planes = outer * channels;
    let parts = threads::split(planes, threads.min(len.div_ceil(1 << 14)));
    let dst = SharedOut(out.as_mut_ptr());
    let mut sums = vec![Vec::<f64>::new(); parts.len()];
    threads::run_parts(&parts, &mut sums, |part, sum| {
        sum.resize(inner, 0.0);
        for plane in part {
            let (n, c) = (plane / channels, plane % channels);
            let lo = c.saturating_sub(before);
            let hi = (c + after).min(channels - 1);
            sum.fill(0.0);
            for cc in lo..=hi {
                let src = &x[(n * channels + cc) * inner..][..inner];
                for (s, &v) in sum.iter_mut().zip(src) {
                    let v = v as f64;
                    *s += v * v;
                }
            }
            // SAFETY: plane `plane` lies inside `out`, and only this thread writes it.
            let o = unsafe { std::slice::from_raw_parts_mut(dst.get().add(plane * inner), inner) };
            let src = &x[plane * inner..][..inner];
            for ((o, &v), &s) in o.iter_mut().zip(src).zip(sum.iter()) {
                *o = (v as f64 / pow_f64(bias + scale * s, beta)) as f32;
            }
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_pow_is_close_to_the_reference_pow() {
        let mut worst = 0.0f64;
        for i in 1..20_000 {
            let d = 1.0 + i as f64 * 0.037;
            for beta in [0.75, 0.5, 1.0, 2.5] {
                let want = crate::math::pow_f64(d, beta);
                worst = worst.max(((pow_f64(d, beta) - want) / want).abs());
            }
        }
        assert!(worst < 1e-13, "worst relative error {worst:e}");
    }

    #[test]
    fn lrn_matches_the_reference_within_rounding() {
        let (outer, channels, inner) = (2, 7, 5);
        let x: Vec<f32> = (0..outer * channels * inner)
            .map(|i| ((i * 37 % 23) as f32 - 11.0) * 0.3)
            .collect();
        let mut out = vec![0.0; x.len()];
        lrn_fast_f32(2, &x, outer, channels, inner, 3, 1e-4 * 50.0, 0.75, 2.0, &mut out).unwrap();
        let t = lightos_ir::Tensor::from_vec(vec![outer, channels, inner], x).unwrap();
        let attrs = lightos_ir::LrnAttrs {
            size: 3,
            alpha: 1e-4 * 50.0,
            beta: 0.75,
            bias: 2.0,
        };
        let want = crate::reference::eval_op(&lightos_ir::Op::Lrn(attrs), &[Some(&t)]).unwrap();
        for (a, b) in out.iter().zip(want[0].as_slice::<f32>().unwrap()) {
            assert!((a - b).abs() <= 1e-6 * b.abs(), "{a} vs {b}");
        }
    }
}
