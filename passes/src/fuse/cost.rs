//! The cost model of fusion: kernel launches, bytes moved through memory and arithmetic,
//! priced by the target's [`CostModel`].
//!
//! A kernel reads each distinct operand once and writes its result once; what a fused
//! kernel computes in between stays in registers. Ops that only relabel their operand
//! (reshape and friends) are views and cost a fixed small amount. Constants cost nothing:
//! they are folded at compile time.

use std::collections::{HashMap, HashSet};

use egg::{CostFunction, Id};
use lightos_ir::{Dim, FusedAnchor, FusedAttrs, Graph, Op, TensorType, UnaryOp};
use lightos_targets::CostModel;

use super::lang::{EGraph, FNode, Term};

/// Elements of a type, taking a symbolic dimension as 1.
pub fn elements(ty: &TensorType) -> f64 {
    ty.shape
        .dims()
        .iter()
        .map(|d| match d {
            Dim::Fixed(n) => *n as f64,
            Dim::Sym(_) => 1.0,
        })
        .product()
}

/// Bytes of a type.
pub fn bytes(ty: &TensorType) -> f64 {
    elements(ty) * ty.dtype.size_bytes() as f64
}

/// The work of one op.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Work {
    /// Whether it launches a kernel (or is only a view).
    pub kernel: bool,
    /// Bytes read and written.
    pub bytes: f64,
    /// Floating-point operations.
    pub flops: f64,
}

impl Work {
    /// Its cost in nanoseconds.
    pub fn ns(&self, model: &CostModel) -> f64 {
        if self.kernel {
            model.kernel(self.bytes, self.flops)
        } else {
            model.view_ns
        }
    }
}

/// Whether an op only relabels its operand's data.
pub fn is_view(op: &Op) -> bool {
    matches!(
        op,
        Op::Reshape(_) | Op::Flatten(_) | Op::Squeeze | Op::Unsqueeze | Op::Identity
    )
}

/// Arithmetic per element of a unary function.
fn unary_flops(u: &UnaryOp) -> f64 {
    match u {
        UnaryOp::Relu | UnaryOp::Neg | UnaryOp::Abs | UnaryOp::LeakyRelu { .. } | UnaryOp::Sign => 1.0,
        UnaryOp::Sqrt | UnaryOp::Reciprocal | UnaryOp::Floor | UnaryOp::Ceil | UnaryOp::Round => 2.0,
        UnaryOp::HardSigmoid { .. } | UnaryOp::HardSwish => 4.0,
        _ => 12.0,
    }
}

/// Arithmetic per element of a binary function: division is several times slower than
/// the other arithmetic.
fn binary_flops(b: &lightos_ir::BinaryOp) -> f64 {
    match b {
        lightos_ir::BinaryOp::Pow => 12.0,
        lightos_ir::BinaryOp::Div => 4.0,
        _ => 1.0,
    }
}

fn program_flops(f: &FusedAttrs) -> f64 {
    f.program
        .iter()
        .map(|i| match i {
            lightos_ir::FusedInstr::Unary { op, .. } => unary_flops(op),
            lightos_ir::FusedInstr::Binary { op, .. } => binary_flops(op),
            lightos_ir::FusedInstr::Clip { .. } => 2.0,
        })
        .sum()
}

fn anchor_flops(anchor: &FusedAnchor, operands: &[&TensorType], result: &TensorType) -> f64 {
    let out = elements(result);
    match anchor {
        FusedAnchor::Conv(_) => {
            // Each output multiplies C_in / group * kernel elements of W[C_out, C_in/g, k..].
            let per_output: f64 = operands.get(1).map_or(1.0, |w| {
                w.shape
                    .dims()
                    .iter()
                    .skip(1)
                    .map(|d| d.fixed().unwrap_or(1) as f64)
                    .product()
            });
            2.0 * out * per_output
        }
        FusedAnchor::Gemm(g) => {
            let k = operands.first().and_then(|a| {
                let d = a.shape.dims();
                let axis = if g.trans_a { 0 } else { d.len().saturating_sub(1) };
                d.get(axis)?.fixed()
            });
            2.0 * out * k.unwrap_or(1) as f64
        }
        FusedAnchor::MatMul => {
            let k = operands.first().and_then(|a| a.shape.dims().last()?.fixed());
            2.0 * out * k.unwrap_or(1) as f64
        }
    }
}

/// The work of `op` reading the distinct operands `operands` and writing `result`.
pub fn op_work(op: &Op, operands: &[&TensorType], result: &TensorType) -> Work {
    let traffic: f64 = operands.iter().map(|t| bytes(t)).sum::<f64>() + bytes(result);
    if is_view(op) {
        return Work {
            kernel: false,
            bytes: 0.0,
            flops: 0.0,
        };
    }
    let out = elements(result);
    let input = operands.first().map_or(out, |t| elements(t));
    let flops = match op {
        Op::Fused(f) => {
            let anchor = f.anchor.as_ref().map_or(0.0, |a| anchor_flops(a, operands, result));
            anchor + program_flops(f) * out
        }
        Op::Conv(c) => anchor_flops(&FusedAnchor::Conv(c.clone()), operands, result),
        Op::Gemm(g) => anchor_flops(&FusedAnchor::Gemm(*g), operands, result),
        Op::MatMul => anchor_flops(&FusedAnchor::MatMul, operands, result),
        Op::Unary(u) => unary_flops(u) * out,
        Op::Binary(b) => binary_flops(b) * out,
        Op::Clip | Op::Where => out,
        Op::Pool(p) => out * p.kernel.iter().product::<usize>() as f64,
        Op::BatchNorm(_) => 2.0 * out,
        Op::Softmax(_) | Op::LayerNorm(_) | Op::RmsNorm(_) | Op::InstanceNorm(_) => 10.0 * input,
        Op::Reduce(_) | Op::GlobalPool(_) => input,
        Op::Attention(_) => {
            // Q [.., s_q, d], K [.., s_kv, d]: two products and a softmax over s_q x s_kv.
            let q = elements(operands.first().copied().unwrap_or(result));
            let k = operands.get(1).map_or(q, |t| elements(t));
            let d = operands
                .first()
                .and_then(|t| t.shape.dims().last()?.fixed())
                .unwrap_or(1) as f64;
            let scores = q / d * (k / d);
            4.0 * scores * d + 10.0 * scores
        }
        _ => out,
    };
    Work {
        kernel: true,
        bytes: traffic,
        flops,
    }
}

/// Kernels, traffic and estimated time of a whole graph.
#[derive(Copy, Clone, Debug, Default, PartialEq)]
pub struct GraphCost {
    /// Kernel launches per run.
    pub kernels: usize,
    /// Ops that are views.
    pub views: usize,
    /// Bytes read and written by the kernels.
    pub bytes: f64,
    /// Floating-point operations.
    pub flops: f64,
    /// Estimated time in nanoseconds under the cost model.
    pub ns: f64,
}

/// The cost of running `graph` under `model`; constants are free.
pub fn graph_cost(graph: &Graph, model: &CostModel) -> GraphCost {
    let mut total = GraphCost::default();
    for node in graph.nodes() {
        if matches!(node.op, Op::Constant(_)) || node.results.is_empty() {
            continue;
        }
        let mut seen = HashSet::new();
        let operands: Vec<&TensorType> = node
            .operands
            .iter()
            .flatten()
            .filter(|v| seen.insert(**v))
            .map(|&v| graph.ty(v))
            .collect();
        let result = graph.ty(node.results[0]);
        let mut work = op_work(&node.op, &operands, result);
        // Further results are written too.
        work.bytes += node.results[1..].iter().map(|&r| bytes(graph.ty(r))).sum::<f64>();
        if work.kernel {
            total.kernels += 1;
        } else {
            total.views += 1;
        }
        total.bytes += work.bytes;
        total.flops += work.flops;
        total.ns += work.ns(model);
    }
    total
}

/// The own cost of every e-node (its children excluded), computed once before extraction.
pub fn own_costs(egraph: &EGraph, model: &CostModel) -> HashMap<FNode, f64> {
    let mut costs = HashMap::new();
    for class in egraph.classes() {
        for node in &class.nodes {
            costs.insert(node.clone(), own_cost(egraph, node, class.id, model));
        }
    }
    costs
}

fn own_cost(egraph: &EGraph, node: &FNode, class: Id, model: &CostModel) -> f64 {
    // A node reading its own class (`x * 1` merged with `x`) is never the way to
    // compute it.
    if node.children.iter().any(|&c| egraph.find(c) == egraph.find(class)) {
        return f64::INFINITY;
    }
    let data = &egraph[class].data;
    if data.constant.is_some() {
        return 0.0;
    }
    let Term::Op(op) = egraph.analysis.term(node.term) else {
        return 0.0;
    };
    let Some(result) = &data.ty else {
        return f64::INFINITY;
    };
    let mut seen = HashSet::new();
    let operands: Vec<&TensorType> = node
        .children
        .iter()
        .filter(|c| seen.insert(egraph.find(**c)))
        .filter_map(|&c| egraph[c].data.ty.as_ref())
        .collect();
    op_work(op, &operands, result).ns(model)
}

/// Egg's cost function: an e-node's own cost plus its distinct children's, where a
/// child read elsewhere too (a shared value) adds nothing: it is computed once whichever
/// reader is picked. This keeps costs the DAG's, not the tree's, which in densely
/// connected models would grow exponentially and swamp the differences between
/// alternatives.
pub struct ExtractCost<'a> {
    /// Own costs by e-node.
    pub own: &'a HashMap<FNode, f64>,
    /// The e-graph, for which classes are shared.
    pub egraph: &'a EGraph,
}

impl CostFunction<FNode> for ExtractCost<'_> {
    type Cost = f64;

    fn cost<C>(&mut self, enode: &FNode, mut costs: C) -> f64
    where
        C: FnMut(Id) -> f64,
    {
        let own = self.own.get(enode).copied().unwrap_or(f64::INFINITY);
        let mut seen = Vec::with_capacity(enode.children.len());
        let mut total = own;
        for &c in &enode.children {
            if !seen.contains(&c) {
                seen.push(c);
                if !self.egraph[c].data.shared {
                    total += costs(c);
                }
            }
        }
        total
    }
}
