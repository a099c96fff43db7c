//! Typed attributes of [`crate::Op::Einsum`].

/// Attributes of [`crate::Op::Einsum`].
///
/// The equation is normalized at import: no spaces, and always an explicit output
/// (`ij,jk->ik`; implicit ONNX equations get the ellipsis dims first, then the labels that
/// appear once, in ASCII order). Labels are ASCII letters; `...` stands for broadcast
/// dims. [`crate::infer::EinsumEquation`] parses it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EinsumAttrs {
    /// The normalized equation.
    pub equation: String,
}
