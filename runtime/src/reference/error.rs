//! Errors of evaluating ops.

use lightos_ir::DType;

/// Why an op could not be evaluated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EvalError {
    /// The op has no kernel for this dtype.
    #[error("{op} has no kernel for {dtype}")]
    UnsupportedDType {
        /// The op's name.
        op: String,
        /// The dtype.
        dtype: DType,
    },
    /// The operands do not fit the op at run time (shapes, values, indices).
    #[error("{0}")]
    Invalid(String),
    /// A tensor could not be built or viewed.
    #[error(transparent)]
    Tensor(#[from] lightos_ir::TensorError),
    /// A shape rule failed.
    #[error(transparent)]
    Infer(#[from] lightos_ir::infer::InferError),
}

/// Shorthand for returning [`EvalError::Invalid`].
macro_rules! invalid {
    ($($arg:tt)*) => { return Err($crate::reference::EvalError::Invalid(format!($($arg)*))) };
}
pub(crate) use invalid;
