//! Per-channel elementwise chains in one pass: the batch-norm / scale / shift /
//! activation runs that convolutional networks put between their convolutions.
//!
//! A chain maps every element `x[n, c, i]` of an `[outer, channels, inner]` view through
//! its [`ChainStage`]s in order, each stage one rounded `f32` operation (or a select), the
//! very operations the reference kernels of the separate ops perform, so the result is
//! bit-identical to running the ops one after another, in either [`Mode`](super::Mode).
//! Only the memory traffic changes: one read and one write instead of one per op.
//!
//! Lines (one `(n, c)` pair each) are split across threads ([`super::threads`]); every
//! element is computed whole by one thread, so the thread count never changes a bit.

use super::gemm::{expect_len, mul, Activation};
use super::kernel::activate;
use super::simd::{Scalar, Simd};
use super::threads::{self, SharedOut};
use super::CpuError;

/// The arithmetic of a [`ChainStage::Binary`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ChainOp {
    /// `a + b`.
    Add,
    /// `a - b`.
    Sub,
    /// `a * b`.
    Mul,
    /// `a / b`.
    Div,
}

/// One stage of a chain.
#[derive(Copy, Clone, Debug)]
pub enum ChainStage<'a> {
    /// `t op v[c]` (or `v[c] op t` when `value_first`), `v` holding one value per channel,
    /// or one value for all channels.
    Binary {
        /// The operation.
        op: ChainOp,
        /// The per-channel (or single) values.
        values: &'a [f32],
        /// Whether the value is the left operand.
        value_first: bool,
    },
    /// Inference batch normalization as the reference computes it:
    /// `((t - mean[c]) * inv[c]) * scale[c] + bias[c]`, where the caller computed
    /// `inv[c] = 1 / sqrt(var[c] + eps)` in `f32`.
    BatchNorm {
        /// Running mean.
        mean: &'a [f32],
        /// Reciprocal standard deviation.
        inv: &'a [f32],
        /// Scale.
        scale: &'a [f32],
        /// Bias.
        bias: &'a [f32],
    },
    /// An activation with the reference's semantics.
    Activation(Activation),
}

impl ChainStage<'_> {
    /// Checks that every per-channel operand has `channels` values (or one, where a
    /// single value is allowed).
    pub(crate) fn check(&self, channels: usize) -> Result<(), CpuError> {
        match self {
            ChainStage::Binary { values, .. } => {
                if values.len() != channels && values.len() != 1 {
                    return Err(CpuError::Size {
                        what: "chain operand",
                        expected: channels,
                        got: values.len(),
                    });
                }
            }
            ChainStage::BatchNorm { mean, inv, scale, bias } => {
                for (what, v) in [("mean", mean), ("inv", inv), ("scale", scale), ("bias", bias)] {
                    expect_len(what, channels, v.len())?;
                }
            }
            ChainStage::Activation(_) => {}
        }
        Ok(())
    }

    /// Applies the stage to the vector `t` of channel `c` (the same operations as
    /// [`ChainStage::apply`], for a microkernel epilogue).
    ///
    /// # Safety
    ///
    /// `S` must run on this CPU; `c` must be a channel the stage has values for.
    #[inline(always)]
    pub(crate) unsafe fn apply_vec<S: Simd>(&self, c: usize, t: S::V) -> S::V {
        match *self {
            ChainStage::Binary {
                op,
                values,
                value_first,
            } => {
                let v = S::splat(*values.get_unchecked(if values.len() == 1 { 0 } else { c }));
                match (op, value_first) {
                    (ChainOp::Add, _) => S::add(t, v),
                    (ChainOp::Sub, false) => S::sub(t, v),
                    (ChainOp::Sub, true) => S::sub(v, t),
                    (ChainOp::Mul, _) => S::mul(t, v),
                    (ChainOp::Div, false) => S::div(t, v),
                    (ChainOp::Div, true) => S::div(v, t),
                }
            }
            ChainStage::BatchNorm { mean, inv, scale, bias } => {
                let at = |p: &[f32]| S::splat(*p.get_unchecked(c));
                S::add(S::mul(S::mul(S::sub(t, at(mean)), at(inv)), at(scale)), at(bias))
            }
            ChainStage::Activation(act) => activate::<S>(t, &act),
        }
    }

    /// Applies the stage to one line of channel `c`, in place.
    fn apply(&self, c: usize, line: &mut [f32]) {
        match *self {
            ChainStage::Binary {
                op,
                values,
                value_first,
            } => {
                let v = values[if values.len() == 1 { 0 } else { c }];
                match (op, value_first) {
                    // Addition and multiplication commute exactly in IEEE arithmetic.
                    (ChainOp::Add, _) => line.iter_mut().for_each(|t| *t += v),
                    (ChainOp::Sub, false) => line.iter_mut().for_each(|t| *t -= v),
                    (ChainOp::Sub, true) => line.iter_mut().for_each(|t| *t = v - *t),
                    (ChainOp::Mul, _) => line.iter_mut().for_each(|t| *t *= v),
                    (ChainOp::Div, false) => line.iter_mut().for_each(|t| *t /= v),
                    (ChainOp::Div, true) => line.iter_mut().for_each(|t| *t = v / *t),
                }
            }
            ChainStage::BatchNorm { mean, inv, scale, bias } => {
                let (m, i, s, b) = (mean[c], inv[c], scale[c], bias[c]);
                line.iter_mut().for_each(|t| *t = ((*t - m) * i) * s + b);
            }
            ChainStage::Activation(Activation::Relu) => line.iter_mut().for_each(|t| {
                // `x` if `x > 0` or NaN, else `+0`.
                if !(*t > 0.0 || t.is_nan()) {
                    *t = 0.0;
                }
            }),
            ChainStage::Activation(act) => line.iter_mut().for_each(|t| {
                // SAFETY: the scalar "vector" is one plain `f32`; no memory is touched.
                *t = unsafe { activate::<Scalar>(*t, &act) };
            }),
        }
    }
}

/// `out = stages(x)` for `x` viewed as `[outer, channels, inner]` (row-major), on
/// `threads` threads.
pub fn channel_chain_f32(
    threads: usize,
    x: &[f32],
    outer: usize,
    channels: usize,
    inner: usize,
    stages: &[ChainStage],
    out: &mut [f32],
) -> Result<(), CpuError> {
    if threads == 0 {
        return Err(CpuError::Invalid("thread count must be at least 1".into()));
    }
    let len = mul(mul(outer, channels, "chain input")?, inner, "chain input")?;
    expect_len("chain input", len, x.len())?;
    expect_len("chain output", len, out.len())?;
    for s in stages {
        s.check(channels)?;
    }
    let lines = outer * channels;
    if len == 0 {
        return Ok(());
    }
    // Enough lines per thread that the hand-off pays for itself.
    let parts = threads::split(lines, threads.min(len.div_ceil(1 << 14)));
    let dst = SharedOut(out.as_mut_ptr());
    let mut unit = vec![(); parts.len()];
    threads::run_parts(&parts, &mut unit, |part, _| {
        for l in part {
            // SAFETY: line `l` lies inside `out`, and only this thread writes it.
            let line = unsafe { std::slice::from_raw_parts_mut(dst.get().add(l * inner), inner) };
            line.copy_from_slice(&x[l * inner..(l + 1) * inner]);
            for s in stages {
                s.apply(l % channels, line);
            }
        }
    });
    Ok(())
}
