//! Questions rules ask about e-classes.

use egg::Id;
use lightos_ir::{DType, Op, Tensor, TensorType};

use crate::fuse::lang::{EGraph, FNode, Term};

/// The IR ops in class `id`, with their children.
pub fn ops(eg: &EGraph, id: Id) -> impl Iterator<Item = (&Op, &[Id])> {
    eg[id]
        .nodes
        .iter()
        .filter_map(move |n: &FNode| match eg.analysis.term(n.term) {
            Term::Op(op) => Some((op, n.children.as_slice())),
            _ => None,
        })
}

/// The type of class `id`.
pub fn ty(eg: &EGraph, id: Id) -> Option<&TensorType> {
    eg[id].data.ty.as_ref()
}

/// Whether class `id` is an `f32` value.
pub fn is_f32(eg: &EGraph, id: Id) -> bool {
    ty(eg, id).is_some_and(|t| t.dtype == DType::F32)
}

/// Whether classes `a` and `b` have the same (known) type.
pub fn same_type(eg: &EGraph, a: Id, b: Id) -> bool {
    matches!((ty(eg, a), ty(eg, b)), (Some(x), Some(y)) if x == y)
}

/// The constant value of class `id`.
pub fn constant(eg: &EGraph, id: Id) -> Option<&Tensor> {
    eg[id].data.constant.as_ref()
}

/// Whether class `id` is the absent operand.
pub fn is_absent(eg: &EGraph, id: Id) -> bool {
    eg[id]
        .nodes
        .iter()
        .any(|n| matches!(eg.analysis.term(n.term), Term::Absent))
}

/// Whether the original program reads class `id` more than once.
pub fn shared(eg: &EGraph, id: Id) -> bool {
    eg[id].data.shared
}

/// The value of an `f32` constant whose elements are all equal (constants of up to
/// 4096 elements: identities like `x * 1` come with small constants, and scanning
/// weights would be wasted).
pub fn splat(eg: &EGraph, id: Id) -> Option<f32> {
    let t = constant(eg, id)?;
    if t.dtype() != DType::F32 || t.len() > 4096 {
        return None;
    }
    let s = t.as_slice::<f32>().ok()?;
    let first = *s.first()?;
    s.iter().all(|x| x.to_bits() == first.to_bits()).then_some(first)
}

/// The constant integers of class `id` (axes, shapes).
pub fn ints(eg: &EGraph, id: Id) -> Option<Vec<i64>> {
    constant(eg, id)?.to_i64_vec()
}

/// The fixed dims of class `id`.
pub fn dims(eg: &EGraph, id: Id) -> Option<Vec<usize>> {
    ty(eg, id)?.shape.dims().iter().map(|d| d.fixed()).collect()
}

/// A batch norm's constant parameters, with its per-channel factor.
pub struct BatchNormParams<'a> {
    /// `gamma / sqrt(var + epsilon)` per channel.
    pub k: Vec<f32>,
    /// The shift `beta`.
    pub beta: &'a [f32],
    /// The running mean.
    pub mean: &'a [f32],
}

/// The parameters of a batch norm whose `gamma, beta, mean, var` operands are the
/// classes `params`, when all four are `f32` constants.
pub fn batch_norm_params(eg: &EGraph, params: [Id; 4], epsilon: f32) -> Option<BatchNormParams<'_>> {
    let slices: Option<Vec<&[f32]>> = params
        .iter()
        .map(|&p| {
            constant(eg, p)
                .filter(|t| t.dtype() == DType::F32)?
                .as_slice::<f32>()
                .ok()
        })
        .collect();
    let [gamma, beta, mean, var] = <[&[f32]; 4]>::try_from(slices?).ok()?;
    let k = gamma.iter().zip(var).map(|(g, v)| g / (v + epsilon).sqrt()).collect();
    Some(BatchNormParams { k, beta, mean })
}
