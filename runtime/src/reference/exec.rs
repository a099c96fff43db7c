//! Running a whole graph on the reference kernels.

use std::collections::HashMap;

use lightos_ir::{Dim, Graph, Tensor, TensorType};

use super::EvalError;
use crate::backend::Backend;
use crate::native::NativeProgram;

/// Why a graph could not be run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RunError {
    /// The number of inputs is wrong.
    #[error("the model takes {expected} inputs, {given} were given")]
    InputCount {
        /// Inputs the graph takes.
        expected: usize,
        /// Inputs given.
        given: usize,
    },
    /// An input has the wrong dtype.
    #[error("input \"{name}\" must be {expected}, got dtype {given}")]
    InputDType {
        /// The input.
        name: String,
        /// Its declared type.
        expected: TensorType,
        /// The given dtype.
        given: lightos_ir::DType,
    },
    /// An input has the wrong shape.
    #[error("input \"{name}\" must have shape {expected}, got {given:?}")]
    InputShape {
        /// The input.
        name: String,
        /// Its declared shape.
        expected: lightos_ir::Shape,
        /// The given dims.
        given: Vec<usize>,
    },
    /// A symbolic dimension is bound to two sizes.
    #[error("dimension `{symbol}` is {first} in one input and {second} in input \"{name}\"")]
    SymbolMismatch {
        /// The symbol.
        symbol: String,
        /// The size bound first.
        first: usize,
        /// The conflicting size.
        second: usize,
        /// The input with the conflict.
        name: String,
    },
    /// A node failed.
    #[error("node \"{node}\" ({op}): {source}")]
    Node {
        /// The node.
        node: String,
        /// Its op.
        op: String,
        /// The failure.
        source: EvalError,
    },
}

/// Runs a graph node by node in graph order, on the reference kernels or on a
/// [`Backend`] that may replace some of them, and on the CPU backend also on an
/// artifact's ahead-of-time compiled kernels ([`Interpreter::with_native`]).
pub struct Interpreter<'g> {
    graph: &'g Graph,
    last_use: Vec<usize>,
    backend: Backend,
    native: Option<&'g NativeProgram>,
}

impl<'g> Interpreter<'g> {
    /// An interpreter for a verified graph, on the reference kernels.
    pub fn new(graph: &'g Graph) -> Interpreter<'g> {
        Interpreter::with_backend(graph, Backend::Reference)
    }

    /// An interpreter for a verified graph, on `backend`.
    pub fn with_backend(graph: &'g Graph, backend: Backend) -> Interpreter<'g> {
        let mut last_use = vec![0usize; graph.values().len()];
        for (i, node) in graph.nodes().iter().enumerate() {
            for v in node.operands.iter().flatten() {
                last_use[v.index()] = i;
            }
        }
        for port in graph.outputs() {
            last_use[port.value.index()] = usize::MAX;
        }
        Interpreter {
            graph,
            last_use,
            backend,
            native: None,
        }
    }

    /// Uses `program`'s native kernels, compiled for this graph (the same program text:
    /// nodes are matched by index), for the nodes that have one, when the backend is
    /// [`Backend::Cpu`]; the reference backend never uses them.
    pub fn with_native(mut self, program: &'g NativeProgram) -> Interpreter<'g> {
        self.native = Some(program);
        self
    }

    /// Checks `inputs` against the graph's input types, binding symbolic dimensions.
    pub fn check_inputs(&self, inputs: &[Tensor]) -> Result<HashMap<String, usize>, RunError> {
        check_inputs(self.graph, inputs)
    }

    /// Runs the graph on `inputs` (in graph-input order) and returns its outputs.
    pub fn run(&self, inputs: &[Tensor]) -> Result<Vec<Tensor>, RunError> {
        self.check_inputs(inputs)?;
        let mut env: Vec<Option<Tensor>> = vec![None; self.graph.values().len()];
        for (port, t) in self.graph.inputs().iter().zip(inputs) {
            env[port.value.index()] = Some(t.clone());
        }
        for (i, node) in self.graph.nodes().iter().enumerate() {
            let node_error = |source: EvalError| RunError::Node {
                node: node.name.clone(),
                op: node.op.name(),
                source,
            };
            let operands: Vec<Option<&Tensor>> = node
                .operands
                .iter()
                .map(|o| o.and_then(|v| env[v.index()].as_ref()))
                .collect();
            if operands
                .iter()
                .zip(&node.operands)
                .any(|(t, o)| o.is_some() && t.is_none())
            {
                return Err(node_error(EvalError::Invalid("an operand has no value".into())));
            }
            let native = match (&self.backend, self.native) {
                (Backend::Cpu(_), Some(program)) => program.run_node(i, &operands),
                _ => None,
            };
            let results = match native {
                Some(r) => r,
                None => self.backend.eval(&node.op, &operands),
            }
            .map_err(node_error)?;
            if results.len() != node.results.len() {
                return Err(node_error(EvalError::Invalid(format!(
                    "gave {} results, expected {}",
                    results.len(),
                    node.results.len()
                ))));
            }
            for (&r, t) in node.results.iter().zip(results) {
                check_result(self.graph, r, &t).map_err(node_error)?;
                env[r.index()] = Some(t);
            }
            for v in node.operands.iter().flatten() {
                if self.last_use[v.index()] == i {
                    env[v.index()] = None;
                }
            }
        }
        self.graph
            .outputs()
            .iter()
            .map(|port| {
                env[port.value.index()].clone().ok_or_else(|| RunError::Node {
                    node: port.name.clone(),
                    op: "output".into(),
                    source: EvalError::Invalid("graph output has no value".into()),
                })
            })
            .collect()
    }
}

/// Checks `inputs` against `graph`'s input types, binding symbolic dimensions.
pub fn check_inputs(graph: &Graph, inputs: &[Tensor]) -> Result<HashMap<String, usize>, RunError> {
    let ports = graph.inputs();
    if ports.len() != inputs.len() {
        return Err(RunError::InputCount {
            expected: ports.len(),
            given: inputs.len(),
        });
    }
    let mut symbols: HashMap<String, usize> = HashMap::new();
    for (port, t) in ports.iter().zip(inputs) {
        let ty = graph.ty(port.value);
        if ty.dtype != t.dtype() {
            return Err(RunError::InputDType {
                name: port.name.clone(),
                expected: ty.clone(),
                given: t.dtype(),
            });
        }
        let shape_error = || RunError::InputShape {
            name: port.name.clone(),
            expected: ty.shape.clone(),
            given: t.dims().to_vec(),
        };
        if ty.rank() != t.dims().len() {
            return Err(shape_error());
        }
        for (d, &n) in ty.shape.dims().iter().zip(t.dims()) {
            match d {
                Dim::Fixed(f) if *f != n => return Err(shape_error()),
                Dim::Fixed(_) => {}
                Dim::Sym(s) => {
                    let first = *symbols.entry(s.clone()).or_insert(n);
                    if first != n {
                        return Err(RunError::SymbolMismatch {
                            symbol: s.clone(),
                            first,
                            second: n,
                            name: port.name.clone(),
                        });
                    }
                }
            }
        }
    }
    Ok(symbols)
}

/// Checks a node's result `t` against the declared type of its value `r` (symbolic
/// dimensions match any size).
pub(crate) fn check_result(graph: &Graph, r: lightos_ir::ValueId, t: &Tensor) -> Result<(), EvalError> {
    let ty = graph.ty(r);
    let fits = t.dtype() == ty.dtype
        && t.dims().len() == ty.rank()
        && ty
            .shape
            .dims()
            .iter()
            .zip(t.dims())
            .all(|(d, &n)| d.fixed().is_none_or(|f| f == n));
    if fits {
        Ok(())
    } else {
        Err(EvalError::Invalid(format!(
            "result {}{:?} does not match its declared type {ty}",
            t.dtype(),
            t.dims()
        )))
    }
}
