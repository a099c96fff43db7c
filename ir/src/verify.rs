//! The verifier: checks handles, then SSA form and order, then each op's types.
//!
//! Every error names the offending node, so a broken pass or a bad model is found fast.

use std::collections::HashSet;

use crate::graph::{Graph, TensorType, ValueDef, ValueId};
use crate::infer::{infer, Operand, SymbolNamer};
use crate::shape::Dim;

/// A graph that breaks an IR rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// A handle points outside its arena, or a value's recorded definition is wrong.
    #[error("{place}: {detail}")]
    BadHandle {
        /// The node (or graph port) holding the handle.
        place: String,
        /// What is wrong.
        detail: String,
    },
    /// A value is used before its definition (this includes cycles).
    #[error("node \"{node}\" uses value {value} before it is defined (a cycle or a misordered graph)")]
    UseBeforeDef {
        /// The using node.
        node: String,
        /// The value.
        value: String,
    },
    /// A value is defined more than once.
    #[error("value {value} is defined twice (at node \"{node}\")")]
    Redefined {
        /// The second defining node.
        node: String,
        /// The value.
        value: String,
    },
    /// Two nodes share a name, or a name is empty.
    #[error("node name \"{0}\" is empty or not unique")]
    BadName(String),
    /// A graph output names a value that is not defined.
    #[error("graph output \"{0}\" refers to an undefined value")]
    UndefinedOutput(String),
    /// The op does not accept its operands.
    #[error("node \"{node}\" ({op}): {message}")]
    Type {
        /// The node.
        node: String,
        /// The op's name.
        op: String,
        /// What is wrong.
        message: String,
    },
}

/// Checks `graph` against every IR rule.
pub fn verify(graph: &Graph) -> Result<(), VerifyError> {
    check_handles(graph)?;
    check_order(graph)?;
    check_types(graph)
}

fn check_handles(graph: &Graph) -> Result<(), VerifyError> {
    let in_range = |v: ValueId| graph.try_value(v).is_some();
    for (i, port) in graph.inputs().iter().enumerate() {
        let ok = graph.try_value(port.value).map(|v| v.def) == Some(ValueDef::Input(i));
        if !ok {
            return Err(VerifyError::BadHandle {
                place: format!("graph input \"{}\"", port.name),
                detail: format!("value {} is not recorded as input {i}", port.value),
            });
        }
    }
    for (i, node) in graph.nodes().iter().enumerate() {
        let place = || format!("node \"{}\"", node.name);
        for v in node.operands.iter().flatten() {
            if !in_range(*v) {
                return Err(VerifyError::BadHandle {
                    place: place(),
                    detail: format!("operand {v} does not exist"),
                });
            }
        }
        for (index, &r) in node.results.iter().enumerate() {
            let expected = ValueDef::Result {
                node: crate::graph::NodeId(i as u32),
                index,
            };
            if graph.try_value(r).map(|v| v.def) != Some(expected) {
                return Err(VerifyError::BadHandle {
                    place: place(),
                    detail: format!("result {r} does not exist or is not recorded as result {index} of this node"),
                });
            }
        }
    }
    for port in graph.outputs() {
        if !in_range(port.value) {
            return Err(VerifyError::UndefinedOutput(port.name.clone()));
        }
    }
    Ok(())
}

fn check_order(graph: &Graph) -> Result<(), VerifyError> {
    let mut defined = vec![false; graph.values().len()];
    for port in graph.inputs() {
        defined[port.value.index()] = true;
    }
    let mut names = HashSet::new();
    for node in graph.nodes() {
        if node.name.is_empty() || !names.insert(node.name.as_str()) {
            return Err(VerifyError::BadName(node.name.clone()));
        }
        for v in node.operands.iter().flatten() {
            if !defined[v.index()] {
                return Err(VerifyError::UseBeforeDef {
                    node: node.name.clone(),
                    value: v.to_string(),
                });
            }
        }
        for r in &node.results {
            if std::mem::replace(&mut defined[r.index()], true) {
                return Err(VerifyError::Redefined {
                    node: node.name.clone(),
                    value: r.to_string(),
                });
            }
        }
    }
    for port in graph.outputs() {
        if !defined[port.value.index()] {
            return Err(VerifyError::UndefinedOutput(port.name.clone()));
        }
    }
    Ok(())
}

fn check_types(graph: &Graph) -> Result<(), VerifyError> {
    for (i, node) in graph.nodes().iter().enumerate() {
        let type_error = |message: String| VerifyError::Type {
            node: node.name.clone(),
            op: node.op.name(),
            message,
        };
        let operands: Vec<Option<Operand>> = node
            .operands
            .iter()
            .map(|o| {
                o.map(|v| Operand {
                    ty: graph.ty(v),
                    value: graph.constant_value(v),
                })
            })
            .collect();
        let mut names = SymbolNamer::new(format!("v{i}"));
        let inferred = infer(&node.op, &operands, &mut names).map_err(|e| type_error(e.0))?;
        if inferred.len() != node.results.len() {
            return Err(type_error(format!(
                "has {} results, the op gives {}",
                node.results.len(),
                inferred.len()
            )));
        }
        for (k, (want, &r)) in inferred.iter().zip(&node.results).enumerate() {
            let have = graph.ty(r);
            if !compatible(want, have) {
                return Err(type_error(format!(
                    "result {k} is declared {have} but the op gives {want}"
                )));
            }
        }
    }
    Ok(())
}

/// Whether a declared type agrees with an inferred one: same dtype and rank, and no two
/// fixed sizes that differ.
pub fn compatible(inferred: &TensorType, declared: &TensorType) -> bool {
    inferred.dtype == declared.dtype
        && inferred.rank() == declared.rank()
        && inferred
            .shape
            .dims()
            .iter()
            .zip(declared.shape.dims())
            .all(|(a, b)| !matches!((a, b), (Dim::Fixed(x), Dim::Fixed(y)) if x != y))
}
