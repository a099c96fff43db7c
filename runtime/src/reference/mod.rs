//! The reference backend: a plain, deterministic interpreter over the IR.
//!
//! It is the numerical contract of the project (see `DESIGN.md`): each op's kernel here
//! fixes the exact order of floating-point operations that every backend's strict mode
//! must reproduce bit for bit. The rules:
//!
//! - Elementwise ops compute each element on its own. `f16` and `bf16` compute in `f32`
//!   and round once at the end of the op.
//! - Dot products (matmul, gemm, convolution) accumulate along K in order from zero, each
//!   step a rounded multiply then a rounded add (never fused); bias and scales come after.
//! - Long reductions use the lane-partial then halving-tree order of [`accumulate`].
//! - Transcendental functions are the project's own ([`crate::math`]), never libm's.
//!
//! [`eval_op`] evaluates one op on tensors; [`Interpreter`] runs a whole graph.

pub mod accumulate;
mod error;
pub(crate) mod exec;
mod ops;

pub(crate) use error::invalid;
pub use error::EvalError;
pub use exec::{check_inputs, Interpreter, RunError};
pub use ops::eval_op;
pub(crate) use ops::{
    attention_exp_f32, attention_mask_f32, binary_f32, clip_f32, concat_dims, is_f32_unary, unary_f32,
};
