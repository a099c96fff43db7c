//! The native CPU backend's `f32` microkernels: matrix multiplication and 2-d
//! convolution, hand-vectorised for AVX-512F, AVX2 with FMA, NEON, and portable scalar
//! code, chosen at run time ([`Isa::detect`]).
//!
//! # The two modes
//!
//! Both modes give the same bits from run to run and for every thread count. Work is split
//! across threads over output tiles only ([`threads`]); K is never split, and each output
//! element is one unbroken sequential loop along K whatever the blocking, so neither the
//! cache blocking nor the thread count can change a bit.
//!
//! - [`Mode::Strict`] reproduces the reference kernels (`crate::reference`, `MatMul`,
//!   `Gemm`, `Conv`) bit for bit: each output element starts at `+0.0` and accumulates
//!   along K in order, each step a rounded multiply and then a rounded add (never fused),
//!   and bias, scales, residual and activation come after, one rounded operation each, in
//!   the reference's order. The vectors run across independent output elements (the
//!   columns of a tile), so every lane keeps the sequential K order and SIMD `mul` + `add`
//!   is exact to the scalar loop. Strict results are the same on every instruction set.
//! - [`Mode::Fast`] accumulates with fused multiply-add (`acc = fma(a, b, acc)`, one
//!   rounding per step instead of two), in the same K order. It differs from the
//!   reference by rounding only (well within `1e-5` relative for ordinary data), and may
//!   differ between instruction sets that do and do not fuse (the scalar path never
//!   fuses). The epilogue is never fused in either mode. Convolutions whose weights were
//!   packed ahead of time ([`PackedConvWeights`]) with a 3x3 kernel, unit strides and
//!   dilations, one group and finite weights run as Winograd `F(4x4, 3x3)` or, on small
//!   outputs, `F(2x2, 3x3)` in fast mode (see the `winograd` module): 2.25 or 4
//!   multiply-adds per output and channel pair instead of 9, with an error bounded by a
//!   few rounding units of the sum of the terms' magnitudes.
//!
//! # Entry points
//!
//! - [`matmul_f32`]: row-major `C = epilogue(A * B)`; [`gemm_f32`] for strided or
//!   transposed operands on a chosen [`Isa`], with a fused [`Epilogue`] (alpha, a scaled
//!   broadcasting addend as ONNX `Gemm`'s `C`, per-row or per-column bias, residual,
//!   relu / leaky relu / clip).
//! - [`conv2d_f32`] and [`conv2d_fused_f32`]: NCHW convolution with groups, strides,
//!   dilations and padding as implicit-im2col GEMM (1x1 convolutions use the input as B
//!   directly), with fused bias, residual and activation.
//! - [`concat_f32`]: a concatenation, copied on several threads.
//! - [`elementwise_program_f32`]: an elementwise program (a fused elementwise node) over
//!   broadcast inputs in one blocked pass, bit-identical to the reference in both modes.
//! - [`attention_f32`]: scaled dot-product attention (rank 4, optional additive mask,
//!   causal), bit-identical to the reference in both modes.
//!
//! Every entry point checks its sizes and returns [`CpuError`] instead of panicking.

mod attention;
mod chain;
mod concat;
mod conv;
mod depthwise;
mod fused_elementwise;
mod gemm;
mod isa;
mod kernel;
mod lrn;
mod phase;
mod pool;
mod simd;
pub mod threads;
mod winograd;

#[cfg(test)]
mod attention_tests;
#[cfg(test)]
mod tests;

pub use attention::{attention_f32, AttentionDims, AttentionMask, AttentionParams};
pub use chain::{channel_chain_f32, ChainOp, ChainStage};
pub use concat::concat_f32;
pub use conv::{conv2d_f32, conv2d_fused_f32, conv2d_packed_f32, Conv2dParams, ConvFusion, PackedConvWeights};
pub use fused_elementwise::{elementwise_program_f32, ProgInput, ProgInstr, ProgSrc};
pub use gemm::{gemm_f32, gemm_packed_f32, matmul_f32, Activation, Addend, Bias, Epilogue, MatRef, PackedB, Residual};
pub use isa::Isa;
pub use lrn::lrn_fast_f32;
pub use pool::{avg_pool2d_f32, global_avg_pool_f32, max_pool2d_f32, PoolWindow};

/// The numerical mode of a kernel (see the module docs).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Bit-identical to the reference kernels on every machine.
    Strict,
    /// Fused multiply-add; deterministic, but not bit-identical to the reference.
    #[default]
    Fast,
}

impl Mode {
    /// The mode's name on the command line and in manifests.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Strict => "strict",
            Mode::Fast => "fast",
        }
    }

    /// The mode named `name`.
    pub fn from_name(name: &str) -> Option<Mode> {
        match name {
            "strict" => Some(Mode::Strict),
            "fast" => Some(Mode::Fast),
            _ => None,
        }
    }
}

/// Why a CPU kernel refused its arguments.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CpuError {
    /// A buffer has the wrong number of elements.
    #[error("{what} has {got} elements, expected {expected}")]
    Size {
        /// Which operand.
        what: &'static str,
        /// The length needed.
        expected: usize,
        /// The length given.
        got: usize,
    },
    /// A size computation overflows.
    #[error("size overflow: {0}")]
    Overflow(String),
    /// Inconsistent arguments.
    #[error("invalid arguments: {0}")]
    Invalid(String),
    /// The instruction set is not available on this CPU or in this build.
    #[error("instruction set {0:?} is not available on this CPU")]
    IsaUnavailable(Isa),
}
