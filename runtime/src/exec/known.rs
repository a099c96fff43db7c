//! Values known before any input arrives: constants, and what is computed from constants
//! alone (a `ConstantOfShape` weight, a reshaped or transposed weight, a shape
//! computation). The executor evaluates them once, when it is built, on its own backend,
//! so they have the very bits a run would give them, and no run pays for them again.

use lightos_ir::{Graph, Op, Tensor};

use crate::backend::Backend;
use crate::reference::{EvalError, RunError};

/// Whether `op` may be evaluated ahead of time when its operands are known: everything
/// but the random generators (each run draws anew).
fn is_pure(op: &Op) -> bool {
    !matches!(
        op,
        Op::Random(_) | Op::RandomLike(_) | Op::Bernoulli(_) | Op::Multinomial(_)
    )
}

/// Evaluates every node whose operands are all known, in graph order. Returns one entry
/// per value: its tensor when known. Values only the known nodes read are dropped once
/// evaluation is over (`keep[v]` says which to keep).
pub(crate) fn evaluate_known(graph: &Graph, backend: &Backend, keep: &[bool]) -> Result<Vec<Option<Tensor>>, RunError> {
    let mut known: Vec<Option<Tensor>> = vec![None; graph.values().len()];
    for node in graph.nodes() {
        if !is_pure(&node.op) {
            continue;
        }
        let mut operands = Vec::with_capacity(node.operands.len());
        let mut all_known = true;
        for o in &node.operands {
            match o {
                Some(v) => match &known[v.index()] {
                    Some(t) => operands.push(Some(t)),
                    None => {
                        all_known = false;
                        break;
                    }
                },
                None => operands.push(None),
            }
        }
        if !all_known {
            continue;
        }
        let node_error = |source: EvalError| RunError::Node {
            node: node.name.clone(),
            op: node.op.name(),
            source,
        };
        let results = backend.eval(&node.op, &operands).map_err(node_error)?;
        if results.len() != node.results.len() {
            return Err(node_error(EvalError::Invalid(format!(
                "gave {} results, expected {}",
                results.len(),
                node.results.len()
            ))));
        }
        for (&r, t) in node.results.iter().zip(results) {
            known[r.index()] = Some(t);
        }
    }
    for (slot, &k) in known.iter_mut().zip(keep) {
        if !k {
            *slot = None;
        }
    }
    Ok(known)
}
