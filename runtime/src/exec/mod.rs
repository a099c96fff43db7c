//! The executor: a graph prepared once for a backend, then run any number of times.
//!
//! Building an [`Executor`]:
//!
//! 1. evaluates every value that depends on no input (constants and what is computed
//!    from them alone, e.g. `ConstantOfShape` weights) once, on the executor's backend
//!    ([`known`]);
//! 2. on the CPU backend, chooses native steps ([`select`]): convolutions and matrix
//!    products with their constant operand packed once and their bias, residual and
//!    activation fused into the microkernel's epilogue, per-channel elementwise chains in
//!    one pass, 2-d max pooling, fast-mode LRN; every other node runs on the backend as it is;
//! 3. records, per step, which values die after it, so memory is given back as soon as
//!    a value's last reader has run.
//!
//! Every fused step gives the bits of its nodes run one after another on the same
//! backend, so an executor's outputs are those of the plain node-by-node interpreter on
//! that backend: bit-identical to the reference in strict mode.

mod known;
mod select;
mod steps;

#[cfg(test)]
mod tests;

use lightos_ir::{Graph, Tensor};

use crate::backend::Backend;
use crate::cpu::Isa;
use crate::native::NativeProgram;
use crate::reference::{check_inputs, EvalError, RunError};
use steps::{Kernel, NativeConfig};

/// One step of the plan.
struct Step {
    /// Nodes covered (indices in graph order); errors name the last.
    nodes: Vec<usize>,
    /// The kernel.
    kernel: Kernel,
    /// Values read.
    inputs: Vec<Option<lightos_ir::ValueId>>,
    /// Values to drop after the step (their last reader).
    dead_after: Vec<lightos_ir::ValueId>,
}

/// What a plan is made of, for reports.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PlanSummary {
    /// Steps run per inference.
    pub steps: usize,
    /// Graph nodes evaluated once, when the executor was built.
    pub nodes_ahead_of_time: usize,
    /// Per kernel kind (`node`, `conv`, `gemm`, `chain`, `lrn`): steps and the graph
    /// nodes they cover, sorted by kind.
    pub kernels: Vec<(String, usize, usize)>,
}

/// A graph prepared for repeated runs on one backend.
pub struct Executor<'g> {
    graph: &'g Graph,
    backend: Backend,
    /// The artifact's native kernels.
    native: Option<&'g NativeProgram>,
    /// Values known ahead of time that runs read.
    known: Vec<Option<Tensor>>,
    steps: Vec<Step>,
    nodes_ahead_of_time: usize,
}

impl<'g> Executor<'g> {
    /// Prepares a verified `graph` for `backend`. Fails when evaluating a value that
    /// depends on no input fails (a run would fail the same way).
    pub fn new(graph: &'g Graph, backend: Backend) -> Result<Executor<'g>, RunError> {
        Executor::with_native(graph, backend, None)
    }

    /// [`Executor::new`], with the ahead-of-time compiled kernels of `native` (an
    /// artifact's code section) for the nodes they cover that no fused step takes, on
    /// the CPU backend.
    pub fn with_native(
        graph: &'g Graph,
        backend: Backend,
        native: Option<&'g NativeProgram>,
    ) -> Result<Executor<'g>, RunError> {
        let mut needed = vec![false; graph.values().len()];
        for node in graph.nodes() {
            for v in node.operands.iter().flatten() {
                needed[v.index()] = true;
            }
        }
        for p in graph.outputs() {
            needed[p.value.index()] = true;
        }
        let mut known = known::evaluate_known(graph, &backend, &needed)?;
        let nodes_ahead_of_time = graph
            .nodes()
            .iter()
            .filter(|n| !n.results.is_empty() && n.results.iter().all(|r| known[r.index()].is_some()))
            .count();
        let chosen = match backend {
            Backend::Cpu(c) => {
                let cfg = NativeConfig {
                    isa: Isa::detect(),
                    mode: c.mode,
                    threads: c.threads.max(1),
                };
                let mut chosen = select::Selector::new(graph, &known, cfg).choose();
                if let Some(program) = native {
                    for c in &mut chosen {
                        if matches!(c.kernel, Kernel::Node) && program.has_native(c.nodes[0]) {
                            c.kernel = Kernel::Native;
                        }
                    }
                }
                chosen
            }
            Backend::Reference => {
                let mut out = Vec::new();
                for (i, n) in graph.nodes().iter().enumerate() {
                    if n.results.is_empty() || n.results.iter().any(|r| known[r.index()].is_none()) {
                        out.push(select::Chosen {
                            nodes: vec![i],
                            kernel: Kernel::Node,
                            inputs: n.operands.clone(),
                        });
                    }
                }
                out
            }
        };
        // Liveness: a computed value dies after its last reader; known values and graph
        // outputs are kept.
        let mut last_reader = vec![None; graph.values().len()];
        let mut read_by_steps = vec![false; graph.values().len()];
        for (s, c) in chosen.iter().enumerate() {
            for v in c.inputs.iter().flatten() {
                last_reader[v.index()] = Some(s);
                read_by_steps[v.index()] = true;
            }
        }
        let mut steps: Vec<Step> = chosen
            .into_iter()
            .map(|c| Step {
                nodes: c.nodes,
                kernel: c.kernel,
                inputs: c.inputs,
                dead_after: Vec::new(),
            })
            .collect();
        let mut is_output = vec![false; graph.values().len()];
        for p in graph.outputs() {
            is_output[p.value.index()] = true;
        }
        for (v, last) in last_reader.iter().enumerate() {
            if let Some(s) = *last {
                if known[v].is_none() && !is_output[v] {
                    steps[s].dead_after.push(lightos_ir::ValueId(v as u32));
                }
            }
        }
        // Known values nothing reads any more (weights now packed inside a step).
        for (v, slot) in known.iter_mut().enumerate() {
            if !read_by_steps[v] && !is_output[v] {
                *slot = None;
            }
        }
        Ok(Executor {
            graph,
            backend,
            native,
            known,
            steps,
            nodes_ahead_of_time,
        })
    }

    /// The graph.
    pub fn graph(&self) -> &Graph {
        self.graph
    }

    /// What the plan is made of.
    pub fn summary(&self) -> PlanSummary {
        let mut kinds: std::collections::BTreeMap<&str, (usize, usize)> = Default::default();
        for s in &self.steps {
            let e = kinds.entry(s.kernel.name()).or_default();
            e.0 += 1;
            e.1 += s.nodes.len();
        }
        PlanSummary {
            steps: self.steps.len(),
            nodes_ahead_of_time: self.nodes_ahead_of_time,
            kernels: kinds.into_iter().map(|(k, (s, n))| (k.to_string(), s, n)).collect(),
        }
    }

    /// Runs the graph on `inputs` (in graph-input order) and returns its outputs.
    pub fn run(&self, inputs: &[Tensor]) -> Result<Vec<Tensor>, RunError> {
        check_inputs(self.graph, inputs)?;
        let mut env = self.known.clone();
        for (port, t) in self.graph.inputs().iter().zip(inputs) {
            env[port.value.index()] = Some(t.clone());
        }
        for step in &self.steps {
            let last = *step.nodes.last().unwrap_or(&0);
            let node = &self.graph.nodes()[last];
            let node_error = |source: EvalError| RunError::Node {
                node: node.name.clone(),
                op: node.op.name(),
                source,
            };
            let operands: Vec<Option<&Tensor>> = step
                .inputs
                .iter()
                .map(|o| o.and_then(|v| env[v.index()].as_ref()))
                .collect();
            if operands
                .iter()
                .zip(&step.inputs)
                .any(|(t, o)| o.is_some() && t.is_none())
            {
                return Err(node_error(EvalError::Invalid("an operand has no value".into())));
            }
            let results = self.run_step(step, &operands).map_err(node_error)?;
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
            for v in &step.dead_after {
                env[v.index()] = None;
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

    /// Runs one step on its operands.
    fn run_step(&self, step: &Step, operands: &[Option<&Tensor>]) -> Result<Vec<Tensor>, EvalError> {
        let cfg = || match self.backend {
            Backend::Cpu(c) => Ok(NativeConfig {
                isa: Isa::detect(),
                mode: c.mode,
                threads: c.threads.max(1),
            }),
            Backend::Reference => Err(EvalError::Invalid("a native step on the reference backend".into())),
        };
        match &step.kernel {
            Kernel::Node => {
                let node = &self.graph.nodes()[step.nodes[0]];
                self.backend.eval(&node.op, operands)
            }
            Kernel::Native => {
                let index = step.nodes[0];
                let node = &self.graph.nodes()[index];
                match self.native.and_then(|p| p.run_node(index, operands)) {
                    Some(result) => result,
                    None => self.backend.eval(&node.op, operands),
                }
            }
            Kernel::Conv(c) => Ok(vec![c.run(cfg()?, operands)?]),
            Kernel::Gemm(g) => Ok(vec![g.run(cfg()?, operands)?]),
            Kernel::Chain(c) => Ok(vec![c.run(cfg()?, operands)?]),
            Kernel::Lrn(l) => Ok(vec![steps::run_lrn(l, cfg()?, operands)?]),
            Kernel::MaxPool(w) => Ok(vec![steps::run_max_pool(w, cfg()?, operands)?]),
        }
    }
}

/// Checks a node's result `t` against the declared type of its value `r` (symbolic
/// dimensions match any size).
fn check_result(graph: &Graph, r: lightos_ir::ValueId, t: &Tensor) -> Result<(), EvalError> {
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
