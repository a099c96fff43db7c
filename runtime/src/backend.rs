//! Backends of the executor: the reference kernels, or the native CPU kernels with the
//! reference kernels for every op that has no native kernel yet.
//!
//! The CPU backend runs f32 `matmul`, `gemm` and 2-d `conv` on the microkernels of
//! [`crate::cpu`]. In [`Mode::Strict`] their outputs are bit-identical to the reference
//! kernels'; in [`Mode::Fast`] they may differ in rounding but are the same from run to
//! run and for every thread count. Every other op runs its reference kernel, so every
//! model that compiles also runs.

use lightos_ir::{infer::conv_geometry, ConvAttrs, DType, GemmAttrs, Op, Padding, Tensor};

use crate::cpu::{self, Addend, Conv2dParams, Epilogue, MatRef, Mode};
use crate::reference::{eval_op, EvalError};

/// Which kernels run the graph.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Backend {
    /// The reference kernels only: the numerical contract itself.
    Reference,
    /// Native CPU kernels where they exist, reference kernels elsewhere.
    Cpu(CpuConfig),
}

/// Settings of the CPU backend.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct CpuConfig {
    /// Strict (bit-identical to the reference) or fast.
    pub mode: Mode,
    /// Worker threads; each output element is computed whole by one thread in a fixed
    /// order, so this never changes a bit.
    pub threads: usize,
}

impl Default for CpuConfig {
    fn default() -> Self {
        CpuConfig {
            mode: Mode::Fast,
            threads: 1,
        }
    }
}

impl Backend {
    /// Evaluates one op on this backend.
    pub fn eval(&self, op: &Op, operands: &[Option<&Tensor>]) -> Result<Vec<Tensor>, EvalError> {
        if let Backend::Cpu(config) = self {
            if let Some(result) = native(config, op, operands) {
                return result.map(|t| vec![t]);
            }
        }
        eval_op(op, operands)
    }
}

fn cpu_error(e: cpu::CpuError) -> EvalError {
    EvalError::Invalid(e.to_string())
}

/// The native kernel's result for `op`, or `None` when it has no native kernel for
/// these operands.
fn native(config: &CpuConfig, op: &Op, operands: &[Option<&Tensor>]) -> Option<Result<Tensor, EvalError>> {
    let f32s = |i: usize| operands.get(i).copied().flatten().filter(|t| t.dtype() == DType::F32);
    match op {
        Op::MatMul => matmul(config, f32s(0)?, f32s(1)?),
        Op::Gemm(g) => {
            let c = match operands.get(2).copied().flatten() {
                Some(c) => Some(f32s(2).filter(|_| c.dims().len() <= 2)?),
                None => None,
            };
            Some(gemm(config, g, f32s(0)?, f32s(1)?, c))
        }
        Op::Conv(c) => {
            let bias = match operands.get(2).copied().flatten() {
                Some(_) => Some(f32s(2)?),
                None => None,
            };
            conv(config, c, f32s(0)?, f32s(1)?, bias)
        }
        _ => None,
    }
}

/// `[.., M, K] x [K, N]` (the batch folds into M) and `[M, K] x [K, N]`.
fn matmul(config: &CpuConfig, a: &Tensor, b: &Tensor) -> Option<Result<Tensor, EvalError>> {
    let (ad, bd) = (a.dims(), b.dims());
    if ad.len() < 2 || bd.len() != 2 || ad[ad.len() - 1] != bd[0] {
        return None;
    }
    let (k, n) = (bd[0], bd[1]);
    let m: usize = ad[..ad.len() - 1].iter().product();
    let mut dims = ad.to_vec();
    *dims.last_mut()? = n;
    Some((|| {
        let mut out = vec![
            0.0f32;
            m.checked_mul(n)
                .ok_or_else(|| EvalError::Invalid("matmul output overflows".into()))?
        ];
        cpu::matmul_f32(
            config.mode,
            config.threads,
            a.as_slice()?,
            b.as_slice()?,
            m,
            k,
            n,
            &Epilogue::none(),
            &mut out,
        )
        .map_err(cpu_error)?;
        Ok(Tensor::from_vec(dims, out)?)
    })())
}

fn gemm(config: &CpuConfig, g: &GemmAttrs, a: &Tensor, b: &Tensor, c: Option<&Tensor>) -> Result<Tensor, EvalError> {
    let (av, bv) = (matrix(a, g.trans_a)?, matrix(b, g.trans_b)?);
    let (m, n) = (av.rows, bv.cols);
    let addend = match c {
        Some(c) if g.beta != 0.0 => Some(gemm_addend(c, m, n, g.beta)?),
        _ => None,
    };
    let epilogue = Epilogue {
        alpha: Some(g.alpha),
        addend,
        ..Epilogue::none()
    };
    let mut out = vec![
        0.0f32;
        m.checked_mul(n)
            .ok_or_else(|| EvalError::Invalid("gemm output overflows".into()))?
    ];
    cpu::gemm_f32(
        cpu::Isa::detect(),
        config.mode,
        config.threads,
        av,
        bv,
        &epilogue,
        &mut out,
    )
    .map_err(cpu_error)?;
    Ok(Tensor::from_vec(vec![m, n], out)?)
}

/// ONNX `Gemm`'s `C` (rank 0 to 2, broadcasting to `[m, n]`) as a scaled addend.
pub(crate) fn gemm_addend(c: &Tensor, m: usize, n: usize, beta: f32) -> Result<Addend<'_>, EvalError> {
    let d = c.dims();
    let (rows, cols) = match d.len() {
        0 => (1, 1),
        1 => (1, d[0]),
        2 => (d[0], d[1]),
        _ => {
            return Err(EvalError::Invalid(format!(
                "gemm C must have rank 2 or less, got {d:?}"
            )))
        }
    };
    let fits = |have: usize, want: usize| have == want || have == 1;
    if !fits(rows, m) || !fits(cols, n) {
        return Err(EvalError::Invalid(format!(
            "gemm C {d:?} does not broadcast to [{m}, {n}]"
        )));
    }
    Ok(Addend {
        data: c.as_slice()?,
        row_stride: if rows == 1 { 0 } else { cols },
        col_stride: if cols == 1 { 0 } else { 1 },
        beta,
    })
}

/// A 2-d tensor as a matrix view, transposed if asked.
fn matrix(t: &Tensor, trans: bool) -> Result<MatRef<'_>, EvalError> {
    let d = t.dims();
    if d.len() != 2 {
        return Err(EvalError::Invalid(format!("gemm operands must be 2-d, got {d:?}")));
    }
    let m = MatRef::row_major(t.as_slice()?, d[0], d[1]);
    Ok(if trans { m.t() } else { m })
}

fn conv(
    config: &CpuConfig,
    c: &ConvAttrs,
    x: &Tensor,
    w: &Tensor,
    bias: Option<&Tensor>,
) -> Option<Result<Tensor, EvalError>> {
    let (xd, wd) = (x.dims(), w.dims());
    if xd.len() != 4 || wd.len() != 4 || c.kernel.len() != 2 {
        return None;
    }
    let padding = match &c.padding {
        Padding::Explicit(p) => Padding::Explicit(p.clone()),
        other => {
            // Resolve SAME padding here so the microkernel sees explicit pads.
            let g = conv_geometry(&xd[2..], &c.kernel, &c.strides, &c.dilations, other, false).ok()?;
            Padding::Explicit([g.pad_begin, g.pad_end].concat())
        }
    };
    let params = Conv2dParams {
        batch: xd[0],
        in_channels: xd[1],
        in_h: xd[2],
        in_w: xd[3],
        out_channels: wd[0],
        kernel: [c.kernel[0], c.kernel[1]],
        strides: [c.strides[0], c.strides[1]],
        dilations: [c.dilations[0], c.dilations[1]],
        padding,
        groups: c.group,
    };
    Some((|| {
        let dims = params.output_dims().map_err(cpu_error)?;
        let len = dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
        let mut out = vec![0.0f32; len.ok_or_else(|| EvalError::Invalid("conv output overflows".into()))?];
        let bias = match bias {
            Some(b) => Some(b.as_slice::<f32>()?),
            None => None,
        };
        cpu::conv2d_f32(
            config.mode,
            config.threads,
            &params,
            x.as_slice()?,
            w.as_slice()?,
            bias,
            &mut out,
        )
        .map_err(cpu_error)?;
        Ok(Tensor::from_vec(dims.to_vec(), out)?)
    })())
}
