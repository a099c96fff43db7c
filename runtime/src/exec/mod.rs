//! The executor: a graph prepared once for a backend, then run any number of times.
//!
//! Building an [`Executor`]:
//!
//! 1. evaluates every value that depends on no input (constants and what is computed
//!    from them alone, e.g. `ConstantOfShape` weights) once, on the executor's backend
//!    ([`known`]);
//! 2. on the CPU backend, chooses one native step per node where it can ([`select`]):
//!    convolutions and matrix products with their constant operand packed once (for a
//!    fused node, `Op::Fused`, with the front of its program in the microkernel's
//!    epilogue and the rest in the elementwise program kernel), elementwise programs
//!    (fused elementwise nodes and single elementwise nodes) in one blocked pass,
//!    per-channel ops, 2-d max pooling, `Concat`, fast-mode LRN, attention; every other node runs on
//!    the backend as it is. What is fused is decided at compile time, not here;
//! 3. records, per step, which values die after it, so memory is given back as soon as
//!    a value's last reader has run.
//!
//! Every native step gives the bits of its node on the reference kernels in strict mode
//! (a fused node: the bits of the nodes it replaced), so an executor's strict outputs are
//! bit-identical to the reference interpreter's.

mod known;
mod select;
mod steps;

#[cfg(test)]
mod tests;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lightos_ir::{Arena, DType, Graph, Tensor};

use crate::backend::Backend;
use crate::cpu::Isa;
use crate::native::NativeProgram;
use crate::plan::{MemoryPlan, Slot};
use crate::reference::{check_inputs, EvalError, RunError};
use steps::{Kernel, NativeConfig, Place};

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
    /// The result's `(offset, size)` in the arena, for native steps the memory plan
    /// places there.
    slot: Option<(usize, usize)>,
    /// A reshape-like node whose result may stay a view of its operand's arena slot
    /// (the plan keeps the slot alive for the view's readers).
    view: bool,
}

/// What one step of a plan runs, for profiles.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepLabel {
    /// The kernel kind, as [`PlanSummary::kernels`] names it.
    pub kernel: &'static str,
    /// The ops of the graph nodes the step covers, joined by `+`.
    pub ops: String,
    /// The name of the step's first graph node.
    pub node: String,
    /// The shape of the step's (first) result.
    pub shape: String,
}

/// What a plan is made of, for reports.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PlanSummary {
    /// Steps run per inference.
    pub steps: usize,
    /// Graph nodes evaluated once, when the executor was built.
    pub nodes_ahead_of_time: usize,
    /// Per kernel kind (`node`, `conv`, `gemm`, `elementwise`, `chain`, `lrn`, ...): steps
    /// and the graph nodes they cover (one each), sorted by kind.
    pub kernels: Vec<(String, usize, usize)>,
    /// The arena's size in bytes (the static memory plan's peak).
    pub arena_bytes: usize,
    /// Results placed in the arena, one per native step with a fixed-size result that is
    /// not a graph output.
    pub arena_values: usize,
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
    /// Bytes of the arena the native steps' results are placed in.
    arena_bytes: usize,
    /// Arenas not in use by a run (one per concurrent run, reused).
    arenas: Mutex<Vec<Arc<Arena>>>,
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
                    out: Place::Heap,
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
                slot: None,
                view: false,
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
        let arena_bytes = plan_arena(graph, &mut steps, &last_reader, &is_output)?;
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
            arena_bytes,
            arenas: Mutex::new(Vec::new()),
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
            arena_bytes: self.arena_bytes,
            arena_values: self.steps.iter().filter(|s| s.slot.is_some()).count(),
        }
    }

    /// Runs the graph on `inputs` (in graph-input order) and returns its outputs.
    pub fn run(&self, inputs: &[Tensor]) -> Result<Vec<Tensor>, RunError> {
        self.run_timed(inputs, None)
    }

    /// [`Executor::run`], also adding each step's wall time to `times[step]` (one entry
    /// per step of [`Executor::step_labels`]), for profiles.
    pub fn run_profiled(&self, inputs: &[Tensor], times: &mut [Duration]) -> Result<Vec<Tensor>, RunError> {
        if times.len() != self.steps.len() {
            return Err(RunError::Profile {
                steps: self.steps.len(),
                got: times.len(),
            });
        }
        self.run_timed(inputs, Some(times))
    }

    /// What each step runs, in run order, for profiles.
    pub fn step_labels(&self) -> Vec<StepLabel> {
        let nodes = self.graph.nodes();
        self.steps
            .iter()
            .map(|s| {
                let covered: Vec<&lightos_ir::Node> = s.nodes.iter().map(|&i| &nodes[i]).collect();
                StepLabel {
                    kernel: s.kernel.name(),
                    ops: covered.iter().map(|n| n.op.name()).collect::<Vec<_>>().join("+"),
                    node: covered.first().map(|n| n.name.clone()).unwrap_or_default(),
                    shape: covered
                        .last()
                        .and_then(|n| n.results.first())
                        .map(|&r| self.graph.ty(r).shape.to_string())
                        .unwrap_or_default(),
                }
            })
            .collect()
    }

    /// [`Executor::run`], timing each step into `times` when given.
    fn run_timed(&self, inputs: &[Tensor], times: Option<&mut [Duration]>) -> Result<Vec<Tensor>, RunError> {
        check_inputs(self.graph, inputs)?;
        let arena = self.take_arena();
        let outputs = self.run_in(inputs, arena.as_ref(), times);
        if let Some(a) = arena {
            self.give_back(a);
        }
        outputs
    }

    /// An arena for one run: a free one, or a new one.
    fn take_arena(&self) -> Option<Arc<Arena>> {
        if self.arena_bytes == 0 {
            return None;
        }
        let free = self.arenas.lock().unwrap_or_else(|e| e.into_inner()).pop();
        Some(free.unwrap_or_else(|| Arc::new(Arena::new(self.arena_bytes))))
    }

    /// Keeps `arena` for later runs, unless a tensor still points into it.
    fn give_back(&self, mut arena: Arc<Arena>) {
        if Arc::get_mut(&mut arena).is_some() {
            self.arenas.lock().unwrap_or_else(|e| e.into_inner()).push(arena);
        }
    }

    /// [`Executor::run`] with `arena` for the planned results.
    fn run_in(
        &self,
        inputs: &[Tensor],
        arena: Option<&Arc<Arena>>,
        mut times: Option<&mut [Duration]>,
    ) -> Result<Vec<Tensor>, RunError> {
        let mut env = self.known.clone();
        for (port, t) in self.graph.inputs().iter().zip(inputs) {
            env[port.value.index()] = Some(t.clone());
        }
        for (index, step) in self.steps.iter().enumerate() {
            let start = times.is_some().then(Instant::now);
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
            let place = match (arena, step.slot) {
                (Some(arena), Some((offset, size))) => Place::Arena { arena, offset, size },
                _ => Place::Heap,
            };
            let mut results = self.run_step(step, &operands, place).map_err(node_error)?;
            if step.slot.is_none() && !step.view {
                // A kernel may return a view of an operand; one that lies in the arena
                // must not outlive its slot, so it gets bytes of its own.
                for t in &mut results {
                    if t.is_in_arena() {
                        *t = t.to_owned_storage();
                    }
                }
            }
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
            if let (Some(times), Some(start)) = (times.as_deref_mut(), start) {
                times[index] += start.elapsed();
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
    fn run_step<'a>(
        &self,
        step: &Step,
        operands: &[Option<&Tensor>],
        out: Place<'a>,
    ) -> Result<Vec<Tensor>, EvalError> {
        let cfg = || match self.backend {
            Backend::Cpu(c) => Ok(NativeConfig {
                isa: Isa::detect(),
                mode: c.mode,
                threads: c.threads.max(1),
                out,
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
            Kernel::Elementwise(e) => Ok(vec![e.run(cfg()?, operands)?]),
            Kernel::Lrn(l) => Ok(vec![steps::run_lrn(l, cfg()?, operands)?]),
            Kernel::MaxPool(w) => Ok(vec![steps::run_max_pool(w, cfg()?, operands)?]),
            Kernel::AvgPool(w, include) => Ok(vec![steps::run_avg_pool(w, *include, cfg()?, operands)?]),
            Kernel::GlobalAvgPool => Ok(vec![steps::run_global_avg_pool(cfg()?, operands)?]),
            Kernel::Concat(axis) => Ok(vec![steps::run_concat(*axis, cfg()?, operands)?]),
            Kernel::Attention(a) => steps::run_attention(a, cfg()?, operands),
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

/// Whether `op` only reinterprets its first operand's shape, so its result may share the
/// operand's bytes.
fn is_view(op: &lightos_ir::Op) -> bool {
    use lightos_ir::Op;
    matches!(
        op,
        Op::Reshape(_) | Op::Flatten(_) | Op::Squeeze | Op::Unsqueeze | Op::Identity
    )
}

/// The static memory plan of the native steps' results: each result that has a fixed
/// size and is not a graph output gets a slot in one arena, live from its step to its
/// last reader (or the last reader of a view of it: a reshape shares its operand's
/// bytes), reused by values whose lifetimes do not meet. Sets each step's slot and
/// whether its results may stay views into the arena, and returns the arena's size.
fn plan_arena(
    graph: &Graph,
    steps: &mut [Step],
    last_reader: &[Option<usize>],
    is_output: &[bool],
) -> Result<usize, RunError> {
    let mut slots = Vec::new();
    let mut owner = Vec::new();
    // The slot each value's bytes may lie in: its own, or its operand's for a view.
    let mut slot_of: Vec<Option<usize>> = vec![None; graph.values().len()];
    for (s, step) in steps.iter_mut().enumerate() {
        let placed = matches!(
            step.kernel,
            Kernel::Conv(_)
                | Kernel::Gemm(_)
                | Kernel::Chain(_)
                | Kernel::Elementwise(_)
                | Kernel::Lrn(_)
                | Kernel::MaxPool(_)
                | Kernel::AvgPool(..)
                | Kernel::GlobalAvgPool
                | Kernel::Concat(_)
        );
        let Some(&last) = step.nodes.last() else { continue };
        let node = &graph.nodes()[last];
        let [r] = node.results[..] else { continue };
        if matches!(step.kernel, Kernel::Node) && is_view(&node.op) && !is_output[r.index()] {
            if let Some(k) = step.inputs.first().copied().flatten().and_then(|v| slot_of[v.index()]) {
                let end = last_reader[r.index()].unwrap_or(s);
                let slot: &mut Slot = &mut slots[k];
                slot.last = slot.last.max(end);
                slot_of[r.index()] = Some(k);
                step.view = true;
            }
            continue;
        }
        let ty = graph.ty(r);
        let size = ty.shape.num_elements().ok().and_then(|n| n.checked_mul(4));
        let (true, Some(size), DType::F32, false) = (placed, size, ty.dtype, is_output[r.index()]) else {
            continue;
        };
        slot_of[r.index()] = Some(slots.len());
        slots.push(Slot {
            value: r,
            offset: 0,
            size,
            first: s,
            last: last_reader[r.index()].unwrap_or(s),
        });
        owner.push(s);
    }
    let plan = MemoryPlan::from_slots(slots).map_err(|e| RunError::Node {
        node: graph.name.clone(),
        op: "memory plan".into(),
        source: EvalError::Invalid(e.to_string()),
    })?;
    for (slot, &s) in plan.slots.iter().zip(&owner) {
        steps[s].slot = Some((slot.offset, slot.size));
    }
    Ok(plan.arena_bytes)
}
