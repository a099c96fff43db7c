//! Typed attributes of the loss ops.

/// How a loss op reduces its per-element losses.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum LossReduction {
    /// No reduction: one loss per target element.
    None,
    /// The sum of the weighted losses.
    Sum,
    /// The sum of the weighted losses divided by the sum of the weights applied.
    Mean,
}

/// Attributes of [`crate::Op::NllLoss`]: negative log-likelihood loss.
///
/// Operands: `input` (`[N, C, d1, ...]`, float), `target` (`[N, d1, ...]`, i32 or i64
/// class indices) and `weight?` (`[C]`). The loss of element `(n, d...)` with class
/// `t = target[n, d...]` is `-input[n, t, d...] * weight[t]` (weight 1 without `weight`),
/// or 0 when `t` is the ignored index.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct NllLossAttrs {
    /// The reduction.
    pub reduction: LossReduction,
    /// A target value that contributes neither loss nor weight.
    pub ignore_index: Option<i64>,
}
