//! The steps of an execution plan and how each runs.
//!
//! A step is one graph node, run on the backend ([`Kernel::Node`]), on its ahead-of-time
//! compiled kernel ([`Kernel::Native`]), or on one native CPU kernel: a convolution or
//! matrix product with its weights packed ahead of time and, for a fused node, the front
//! of its program (per-channel stages, bias row, residual, activation) applied in the
//! microkernel's epilogue and the rest of the program run by the elementwise program
//! kernel on the result in place ([`ConvStep`], [`GemmStep`]); an elementwise program
//! ([`ElementwiseStep`], a fused elementwise node or a single elementwise node); a
//! per-channel op as a one-stage chain; 2-d max pooling; `Concat`; fast-mode LRN;
//! attention (all four results).
//! Which ops are fused together is decided at compile time (the fusion pass makes
//! `Op::Fused` nodes); every step gives the bits of its node on the reference in strict
//! mode (fast-mode LRN and the fast-mode products aside, which are deterministic).

use std::sync::Arc;

use lightos_ir::{Arena, AttentionAttrs, DType, LrnAttrs, Tensor};

use crate::backend::gemm_addend;
use crate::cpu::{
    self, Activation, Bias, ChainOp, ChainStage, Conv2dParams, ConvFusion, Epilogue, Isa, MatRef, Mode, PackedB,
    PackedConvWeights, PoolWindow, ProgInput, ProgInstr, Residual,
};
use crate::reference::{attention_mask_f32, EvalError};

/// What a step runs.
pub(crate) enum Kernel {
    /// The node itself, on the backend.
    Node,
    /// The node on its ahead-of-time compiled kernel from the artifact.
    Native,
    /// A 2-d convolution with packed weights and a fused epilogue.
    Conv(Box<ConvStep>),
    /// A matrix product with a packed constant B and a fused epilogue.
    Gemm(Box<GemmStep>),
    /// A per-channel elementwise chain.
    Chain(Box<ChainStep>),
    /// An elementwise program in one pass.
    Elementwise(Box<ElementwiseStep>),
    /// Fast-mode local response normalization.
    Lrn(LrnAttrs),
    /// 2-d max pooling.
    MaxPool(PoolWindow),
    /// 2-d average pooling; the flag is `count_include_pad`.
    AvgPool(PoolWindow, bool),
    /// Global average pooling.
    GlobalAvgPool,
    /// `Concat` of `f32` tensors along an axis, written straight into its slot.
    Concat(usize),
    /// Scaled dot-product attention (`f32`, rank 4, no cache, no soft cap or window);
    /// its four results on the heap.
    Attention(Box<AttentionAttrs>),
}

impl Kernel {
    /// A short name for reports.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Kernel::Node => "node",
            Kernel::Native => "native",
            Kernel::Conv(c) if c.packed.is_winograd() => "conv_winograd",
            Kernel::Conv(_) => "conv",
            Kernel::Gemm(_) => "gemm",
            Kernel::Chain(_) => "chain",
            Kernel::Elementwise(_) => "elementwise",
            Kernel::Lrn(_) => "lrn",
            Kernel::MaxPool(_) => "max_pool",
            Kernel::AvgPool(..) => "average_pool",
            Kernel::GlobalAvgPool => "global_average_pool",
            Kernel::Concat(_) => "concat",
            Kernel::Attention(_) => "attention",
        }
    }
}

/// How an epilogue's residual operand is combined.
#[derive(Copy, Clone, Debug)]
pub(crate) struct ResidualUse {
    /// The step input holding the residual.
    pub input: usize,
    /// Added after the activation.
    pub after_activation: bool,
}

/// A convolution with its epilogue (bias, per-channel stages, residual, activation) and
/// the rest of its program. Inputs: `[x, residual?, program inputs..]`.
pub(crate) struct ConvStep {
    /// Kernel size, strides, dilations, groups; batch and spatial sizes are set per run.
    pub template: Conv2dParams,
    /// The weights as given (for the rare direct path) and packed.
    pub weights: Tensor,
    /// The packed weights.
    pub packed: PackedConvWeights,
    /// The bias.
    pub bias: Option<Tensor>,
    /// Per-channel stages after the bias (batch norm, scale, shift).
    pub stages: Vec<OwnedStage>,
    /// The residual.
    pub residual: Option<ResidualUse>,
    /// The activation.
    pub activation: Activation,
    /// The rest of the program, run on the result in place.
    pub tail: Option<ElementwiseStep>,
}

/// A matrix product `epilogue(alpha * A * B)` and the rest of its program. Inputs:
/// `[a, c?, residual?, program inputs..]`.
pub(crate) struct GemmStep {
    /// Whether A is transposed (Gemm's `trans_a`); A is 2-d then, else `[.., M, K]`.
    pub trans_a: bool,
    /// B, packed.
    pub b: PackedB,
    /// Gemm's alpha (`None` for MatMul).
    pub alpha: Option<f32>,
    /// Gemm's C with its beta: the step input holding it.
    pub addend: Option<(usize, f32)>,
    /// A per-column bias (a MatMul followed by the add of a constant row).
    pub col_bias: Option<Tensor>,
    /// The residual.
    pub residual: Option<ResidualUse>,
    /// The activation.
    pub activation: Activation,
    /// The rest of the program, run on the result in place.
    pub tail: Option<ElementwiseStep>,
}

/// An elementwise program over the step's inputs: `ProgSrc::Input(k)` is step input `k`
/// (only the inputs the program reads are looked at); `ProgSrc::Prior`, in a tail, is the
/// result of the convolution or product before it.
pub(crate) struct ElementwiseStep {
    /// The program.
    pub program: Vec<ProgInstr>,
    /// The result's dims (fixed when the step was chosen).
    pub dims: Vec<usize>,
}

impl ElementwiseStep {
    /// Runs on input tensors (a fused elementwise node's step).
    pub(crate) fn run(&self, cfg: NativeConfig<'_>, inputs: &[Option<&Tensor>]) -> Result<Tensor, EvalError> {
        build_f32(cfg.out, self.dims.clone(), |out| self.apply(cfg, inputs, out))
    }

    /// Runs the program into `out`, whose contents are `ProgSrc::Prior`.
    fn apply(&self, cfg: NativeConfig<'_>, inputs: &[Option<&Tensor>], out: &mut [f32]) -> Result<(), cpu::CpuError> {
        let views: Vec<ProgInput> = inputs
            .iter()
            .map(|t| match t {
                Some(t) if t.dtype() == DType::F32 => ProgInput {
                    data: t.as_slice::<f32>().unwrap_or(&[]),
                    dims: t.dims(),
                },
                _ => ProgInput { data: &[], dims: &[] },
            })
            .collect();
        cpu::elementwise_program_f32(cfg.isa, cfg.threads, &self.dims, &views, &self.program, out)
    }

    /// Runs the program as the tail of an anchor whose result, of `dims`, is in `out`.
    fn apply_tail(
        &self,
        cfg: NativeConfig<'_>,
        inputs: &[Option<&Tensor>],
        dims: &[usize],
        out: &mut [f32],
    ) -> Result<(), cpu::CpuError> {
        if dims != self.dims {
            return Err(cpu::CpuError::Invalid(format!(
                "the anchor's result {dims:?} is not the fused result {:?}",
                self.dims
            )));
        }
        self.apply(cfg, inputs, out)
    }
}

/// One stage of a [`ChainStep`], its operands owned.
#[derive(Clone, Debug)]
pub(crate) enum OwnedStage {
    /// `t op v` or `v op t`.
    Binary {
        /// The operation.
        op: ChainOp,
        /// One value per channel, or one for all.
        values: Vec<f32>,
        /// Whether the value is the left operand.
        value_first: bool,
    },
    /// Batch normalization, `inv` precomputed as the reference does.
    BatchNorm {
        /// Mean.
        mean: Vec<f32>,
        /// `1 / sqrt(var + eps)`.
        inv: Vec<f32>,
        /// Scale.
        scale: Vec<f32>,
        /// Bias.
        bias: Vec<f32>,
    },
    /// An activation.
    Activation(Activation),
}

impl OwnedStage {
    fn view(&self) -> ChainStage<'_> {
        match self {
            OwnedStage::Binary {
                op,
                values,
                value_first,
            } => ChainStage::Binary {
                op: *op,
                values,
                value_first: *value_first,
            },
            OwnedStage::BatchNorm { mean, inv, scale, bias } => ChainStage::BatchNorm { mean, inv, scale, bias },
            OwnedStage::Activation(a) => ChainStage::Activation(*a),
        }
    }
}

/// A per-channel chain over axis 1. Inputs: `[x]`.
pub(crate) struct ChainStep {
    /// The stages, in order.
    pub stages: Vec<OwnedStage>,
}

/// Where a native step puts its result.
#[derive(Copy, Clone)]
pub(crate) enum Place<'a> {
    /// Fresh heap memory.
    Heap,
    /// The executor's arena, at `offset`, in a slot of `size` bytes that no live value
    /// shares (the executor's memory plan).
    Arena {
        /// The arena of this run.
        arena: &'a Arc<Arena>,
        /// The slot's byte offset.
        offset: usize,
        /// The slot's size in bytes.
        size: usize,
    },
}

/// The settings every native step runs with.
#[derive(Copy, Clone)]
pub(crate) struct NativeConfig<'a> {
    /// The instruction set.
    pub isa: Isa,
    /// The numerics mode.
    pub mode: Mode,
    /// Threads.
    pub threads: usize,
    /// Where the result goes.
    pub out: Place<'a>,
}

fn cpu_error(e: cpu::CpuError) -> EvalError {
    EvalError::Invalid(e.to_string())
}

/// An `f32` tensor of `dims` at `place`, filled by `fill`.
fn build_f32(
    place: Place,
    dims: Vec<usize>,
    fill: impl FnOnce(&mut [f32]) -> Result<(), cpu::CpuError>,
) -> Result<Tensor, EvalError> {
    match place {
        Place::Heap => {
            let mut t = Tensor::zeros(DType::F32, dims)?;
            let out = t
                .as_mut_slice::<f32>()
                .ok_or_else(|| EvalError::Invalid("a fresh tensor is not writable".into()))?;
            fill(out).map_err(cpu_error)?;
            Ok(t)
        }
        Place::Arena { arena, offset, size } => {
            let bytes = dims
                .iter()
                .try_fold(4usize, |a, &d| a.checked_mul(d))
                .ok_or_else(|| EvalError::Invalid(format!("result {dims:?} overflows")))?;
            if bytes != size {
                return Err(EvalError::Invalid(format!(
                    "result {dims:?} does not fit its {size}-byte slot in the memory plan"
                )));
            }
            // SAFETY: the slot is exactly the result's size, and the memory plan gives it
            // to this value alone while the value is live; `fill` writes every element.
            unsafe { Tensor::from_arena::<f32, _>(arena, offset, dims, fill) }?.map_err(cpu_error)
        }
    }
}

/// The step's first input (its main operand), or an error naming `what` step it is.
fn first_operand<'a>(inputs: &[Option<&'a Tensor>], what: &str) -> Result<&'a Tensor, EvalError> {
    inputs
        .first()
        .copied()
        .flatten()
        .ok_or_else(|| EvalError::Invalid(format!("{what} input has no value")))
}

/// The `f32` elements of input `i`.
fn input_f32<'a>(inputs: &[Option<&'a Tensor>], i: usize) -> Result<&'a [f32], EvalError> {
    let t = inputs
        .get(i)
        .copied()
        .flatten()
        .ok_or_else(|| EvalError::Invalid(format!("fused step input {i} has no value")))?;
    Ok(t.as_slice::<f32>()?)
}

impl ConvStep {
    /// Runs on input tensors `[x, residual?, program inputs..]`.
    pub(crate) fn run(&self, cfg: NativeConfig<'_>, inputs: &[Option<&Tensor>]) -> Result<Tensor, EvalError> {
        let x = first_operand(inputs, "convolution")?;
        let xd = x.dims();
        if xd.len() != 4 {
            return Err(EvalError::Invalid(format!("convolution input must be 4-d, got {xd:?}")));
        }
        let p = Conv2dParams {
            batch: xd[0],
            in_channels: xd[1],
            in_h: xd[2],
            in_w: xd[3],
            ..self.template.clone()
        };
        let dims = p.output_dims().map_err(cpu_error)?.to_vec();
        let residual = match self.residual {
            Some(r) => Some(input_f32(inputs, r.input)?),
            None => None,
        };
        let stages: Vec<ChainStage> = self.stages.iter().map(OwnedStage::view).collect();
        let fusion = ConvFusion {
            residual,
            residual_after_activation: self.residual.is_some_and(|r| r.after_activation),
            activation: self.activation,
            stages: &stages,
        };
        let bias = match &self.bias {
            Some(b) => Some(b.as_slice::<f32>()?),
            None => None,
        };
        let (xs, ws) = (x.as_slice::<f32>()?, self.weights.as_slice::<f32>()?);
        build_f32(cfg.out, dims.clone(), |out| {
            cpu::conv2d_packed_f32(
                cfg.isa,
                cfg.mode,
                cfg.threads,
                &p,
                xs,
                ws,
                &self.packed,
                bias,
                &fusion,
                out,
            )?;
            match &self.tail {
                Some(t) => t.apply_tail(cfg, inputs, &dims, out),
                None => Ok(()),
            }
        })
    }
}

impl GemmStep {
    /// Runs on input tensors `[a, c?, residual?, program inputs..]`.
    pub(crate) fn run(&self, cfg: NativeConfig<'_>, inputs: &[Option<&Tensor>]) -> Result<Tensor, EvalError> {
        let a = first_operand(inputs, "product")?;
        let ad = a.dims();
        let (k, n) = (self.b.rows(), self.b.cols());
        let (av, dims) = if self.trans_a {
            if ad.len() != 2 {
                return Err(EvalError::Invalid(format!("Gemm's A must be 2-d, got {ad:?}")));
            }
            (MatRef::row_major(a.as_slice()?, ad[0], ad[1]).t(), vec![ad[1], n])
        } else {
            if ad.len() < 2 {
                return Err(EvalError::Invalid(format!(
                    "product input must have rank 2 or more, got {ad:?}"
                )));
            }
            let kk = ad[ad.len() - 1];
            let m: usize = ad[..ad.len() - 1].iter().product();
            let mut dims = ad.to_vec();
            if let Some(last) = dims.last_mut() {
                *last = n;
            }
            (MatRef::row_major(a.as_slice()?, m, kk), dims)
        };
        if av.cols != k {
            return Err(EvalError::Invalid(format!(
                "product inner sizes differ: A is {ad:?}, B has {k} rows"
            )));
        }
        let m = av.rows;
        let addend = match self.addend {
            Some((i, beta)) => {
                let c = inputs
                    .get(i)
                    .copied()
                    .flatten()
                    .ok_or_else(|| EvalError::Invalid("Gemm's C has no value".into()))?;
                Some(gemm_addend(c, m, n, beta)?)
            }
            None => None,
        };
        let residual = match self.residual {
            Some(r) => Some(Residual {
                data: input_f32(inputs, r.input)?,
                row_stride: n,
                after_activation: r.after_activation,
            }),
            None => None,
        };
        let bias = match &self.col_bias {
            Some(b) => Bias::PerColumn(b.as_slice()?),
            None => Bias::None,
        };
        let epilogue = Epilogue {
            alpha: self.alpha,
            addend,
            bias,
            residual,
            activation: self.activation,
        };
        build_f32(cfg.out, dims.clone(), |out| {
            cpu::gemm_packed_f32(cfg.isa, cfg.mode, cfg.threads, av, &self.b, &epilogue, out)?;
            match &self.tail {
                Some(t) => t.apply_tail(cfg, inputs, &dims, out),
                None => Ok(()),
            }
        })
    }
}

/// `[outer, channels, inner]` of a tensor of rank 2 or more, over axis 1.
fn channel_view(dims: &[usize]) -> Result<(usize, usize, usize), EvalError> {
    if dims.len() < 2 {
        return Err(EvalError::Invalid(format!(
            "a per-channel op needs rank 2 or more, got {dims:?}"
        )));
    }
    Ok((dims[0], dims[1], dims[2..].iter().product()))
}

impl ChainStep {
    /// Runs on input tensors `[x]`.
    pub(crate) fn run(&self, cfg: NativeConfig<'_>, inputs: &[Option<&Tensor>]) -> Result<Tensor, EvalError> {
        let x = first_operand(inputs, "chain")?;
        let (outer, channels, inner) = channel_view(x.dims())?;
        let stages: Vec<ChainStage> = self.stages.iter().map(OwnedStage::view).collect();
        let xs = x.as_slice::<f32>()?;
        build_f32(cfg.out, x.dims().to_vec(), |out| {
            cpu::channel_chain_f32(cfg.threads, xs, outer, channels, inner, &stages, out)
        })
    }
}

/// Runs fast-mode LRN on input tensors `[x]`.
pub(crate) fn run_lrn(l: &LrnAttrs, cfg: NativeConfig<'_>, inputs: &[Option<&Tensor>]) -> Result<Tensor, EvalError> {
    let x = first_operand(inputs, "LRN")?;
    let (outer, channels, inner) = channel_view(x.dims())?;
    let xs = x.as_slice::<f32>()?;
    build_f32(cfg.out, x.dims().to_vec(), |out| {
        cpu::lrn_fast_f32(
            cfg.threads,
            xs,
            outer,
            channels,
            inner,
            l.size,
            l.alpha,
            l.beta,
            l.bias,
            out,
        )
    })
}

/// Runs 2-d max pooling on input tensors `[x]`.
pub(crate) fn run_max_pool(
    win: &PoolWindow,
    cfg: NativeConfig<'_>,
    inputs: &[Option<&Tensor>],
) -> Result<Tensor, EvalError> {
    run_pool(win, cfg, inputs, |threads, xs, dims, out| {
        cpu::max_pool2d_f32(threads, xs, dims, win, out)
    })
}

/// Runs 2-d average pooling on input tensors `[x]`.
pub(crate) fn run_avg_pool(
    win: &PoolWindow,
    count_include_pad: bool,
    cfg: NativeConfig<'_>,
    inputs: &[Option<&Tensor>],
) -> Result<Tensor, EvalError> {
    run_pool(win, cfg, inputs, |threads, xs, dims, out| {
        cpu::avg_pool2d_f32(threads, xs, dims, win, count_include_pad, out)
    })
}

/// Runs global average pooling on input tensors `[x]` (rank 3 or more).
pub(crate) fn run_global_avg_pool(cfg: NativeConfig<'_>, inputs: &[Option<&Tensor>]) -> Result<Tensor, EvalError> {
    let x = first_operand(inputs, "global pool")?;
    let d = x.dims();
    if d.len() < 3 {
        return Err(EvalError::Invalid(format!(
            "global pooling needs rank 3 or more, got {d:?}"
        )));
    }
    let mut dims = d[..2].to_vec();
    dims.resize(d.len(), 1);
    let xs = x.as_slice::<f32>()?;
    build_f32(cfg.out, dims, |out| {
        cpu::global_avg_pool_f32(cfg.threads, xs, out.len(), out)
    })
}

/// Runs a 2-d pooling kernel `pool(threads, x, dims, out)` on input tensors `[x]`.
fn run_pool(
    win: &PoolWindow,
    cfg: NativeConfig<'_>,
    inputs: &[Option<&Tensor>],
    pool: impl FnOnce(usize, &[f32], [usize; 4], &mut [f32]) -> Result<(), cpu::CpuError>,
) -> Result<Tensor, EvalError> {
    let x = first_operand(inputs, "pool")?;
    let d = x.dims();
    let dims: [usize; 4] = d
        .try_into()
        .map_err(|_| EvalError::Invalid(format!("2-d pooling needs a 4-d input, got {d:?}")))?;
    let xs = x.as_slice::<f32>()?;
    build_f32(cfg.out, vec![d[0], d[1], win.output[0], win.output[1]], |out| {
        pool(cfg.threads, xs, dims, out)
    })
}

/// Runs `Concat` along `axis` on `f32` input tensors: each output row (the axes before
/// `axis`) is the parts' rows one after another.
pub(crate) fn run_concat(axis: usize, cfg: NativeConfig<'_>, inputs: &[Option<&Tensor>]) -> Result<Tensor, EvalError> {
    let parts: Vec<&Tensor> = inputs.iter().copied().collect::<Option<_>>().unwrap_or_default();
    if parts.len() != inputs.len() {
        return Err(EvalError::Invalid("concat operands have no value".into()));
    }
    let dims = crate::reference::concat_dims(axis, &parts)?;
    let outer: usize = dims[..axis].iter().product();
    let slices: Vec<&[f32]> = parts.iter().map(|p| p.as_slice::<f32>()).collect::<Result<_, _>>()?;
    build_f32(cfg.out, dims, |out| cpu::concat_f32(cfg.threads, outer, &slices, out))
}

/// Runs attention on input tensors `[q, k, v, mask?]` (rank 4, `f32`; the mask `f32` or
/// bool): `Y`, `present_key` (`K`), `present_value` (`V`) and `qk_matmul_output`, the
/// reference's bits in both modes.
pub(crate) fn run_attention(
    a: &AttentionAttrs,
    cfg: NativeConfig<'_>,
    inputs: &[Option<&Tensor>],
) -> Result<Vec<Tensor>, EvalError> {
    let operand = |i: usize, what: &str| {
        inputs
            .get(i)
            .copied()
            .flatten()
            .ok_or_else(|| EvalError::Invalid(format!("attention {what} has no value")))
    };
    let (q, k, v) = (operand(0, "query")?, operand(1, "key")?, operand(2, "value")?);
    let mask = inputs.get(3).copied().flatten();
    let (Ok(&[b, hq, sq, hd]), Ok(&[kb, hkv, skv, khd]), Ok(&[vb, vh, vs, dv])) = (
        <&[usize; 4]>::try_from(q.dims()),
        <&[usize; 4]>::try_from(k.dims()),
        <&[usize; 4]>::try_from(v.dims()),
    ) else {
        return Err(EvalError::Invalid(format!(
            "attention needs rank-4 query, key and value, got {:?}, {:?} and {:?}",
            q.dims(),
            k.dims(),
            v.dims()
        )));
    };
    if [kb, vb, vh, vs, khd] != [b, b, hkv, skv, hd] {
        return Err(EvalError::Invalid(format!(
            "attention key {:?} and value {:?} do not fit query {:?}",
            k.dims(),
            v.dims(),
            q.dims()
        )));
    }
    let dims = cpu::AttentionDims {
        batch: b,
        q_heads: hq,
        kv_heads: hkv,
        q_len: sq,
        kv_len: skv,
        head_size: hd,
        v_size: dv,
    };
    // As the reference: the scale in f64, its square root rounded to f32.
    let scale = match a.scale {
        Some(s) => s as f64,
        None => 1.0 / (hd as f64).sqrt(),
    };
    let mask = mask.map(|m| attention_mask_f32(m, [b, hq, sq], skv)).transpose()?;
    let params = cpu::AttentionParams {
        s: scale.sqrt() as f32,
        causal: a.is_causal,
        mask: mask.as_ref().map(|(values, strides, len)| cpu::AttentionMask {
            values,
            strides: *strides,
            len: *len,
        }),
        qk_output: a.qk_output,
    };
    let mut y = Tensor::zeros(DType::F32, vec![b, hq, sq, dv])?;
    let mut qk = Tensor::zeros(DType::F32, vec![b, hq, sq, skv])?;
    let writable = || EvalError::Invalid("a fresh tensor is not writable".into());
    cpu::attention_f32(
        cfg.isa,
        cfg.threads,
        &dims,
        q.as_slice()?,
        k.as_slice()?,
        v.as_slice()?,
        &params,
        y.as_mut_slice::<f32>().ok_or_else(writable)?,
        qk.as_mut_slice::<f32>().ok_or_else(writable)?,
    )
    .map_err(cpu_error)?;
    Ok(vec![y, k.clone(), v.clone(), qk])
}
