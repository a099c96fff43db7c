//! Running a whole graph on the reference kernels.

use std::collections::HashMap;

use lightos_ir::{Dim, Graph, Tensor, TensorType};

use super::EvalError;
use crate::backend::Backend;
use crate::native::NativeProgram;

/// Why a graph could not be run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RunError {
    /// A profile was asked for with the wrong number of step times.
    #[error("the plan has {steps} steps, but {got} step times were given for its profile")]
    Profile {
        /// Steps in the plan.
        steps: usize,
        /// Step times given.
        got: usize,
    },
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

/// Runs a graph once, on the reference kernels or on a [`Backend`] that may replace
/// some of them, and on the CPU backend also on an artifact's ahead-of-time compiled
/// kernels ([`Interpreter::with_native`]): a one-run convenience over
/// [`Executor`](crate::exec::Executor), which prepares a graph for many runs.
pub struct Interpreter<'g> {
    graph: &'g Graph,
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
        Interpreter {
            graph,
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
        crate::exec::Executor::with_native(self.graph, self.backend, self.native)?.run(inputs)
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
