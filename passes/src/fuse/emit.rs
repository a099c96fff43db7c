//! Writing the extracted program back as a graph.
//!
//! Graph inputs and the nodes the e-graph does not model keep their places; everything
//! else is emitted on demand, depth first from the values those nodes and the graph
//! outputs read, as the cheapest e-node of each class. Constant classes become constant
//! nodes. Nodes keep the names of the original nodes whose values they compute.

use std::collections::{HashMap, HashSet};

use egg::{Extractor, Id};
use lightos_ir::infer::{infer, Operand, SymbolNamer};
use lightos_ir::{Graph, Op, Tensor, ValueId};

use super::cost::ExtractCost;
use super::lang::{EGraph, FNode, Term};

/// A failure to write the extracted program (a bug in a rule, reported, never a panic).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct EmitError(pub String);

/// The extractor of the fusion pass.
pub type Best<'a> = Extractor<'a, ExtractCost<'a>, FNode, super::lang::FuseAnalysis>;

struct Emitter<'a, 'b> {
    eg: &'a EGraph,
    best: &'b Best<'a>,
    own: &'b HashMap<FNode, f64>,
    original: &'b Graph,
    out: Graph,
    value_of: HashMap<Id, ValueId>,
    in_progress: HashSet<Id>,
    names: HashSet<String>,
    namer: SymbolNamer,
}

/// Emits the cheapest program of `eg` for `original`, whose values' classes are
/// `class_of`.
pub fn emit<'a, 'b>(
    eg: &'a EGraph,
    best: &'b Best<'a>,
    own: &'b HashMap<FNode, f64>,
    original: &'b Graph,
    class_of: &HashMap<ValueId, Id>,
) -> Result<Graph, EmitError> {
    let mut e = Emitter {
        eg,
        best,
        own,
        original,
        out: Graph::new(original.name.clone()),
        value_of: HashMap::new(),
        in_progress: HashSet::new(),
        names: HashSet::new(),
        namer: SymbolNamer::new("fused"),
    };
    for p in original.inputs() {
        let v = e.out.add_input(p.name.clone(), original.ty(p.value).clone());
        e.names.insert(p.name.clone());
        e.value_of.insert(eg.find(class_of[&p.value]), v);
    }
    for node in original.nodes() {
        let leaf = node.results.iter().all(|r| {
            let c = eg.find(class_of[r]);
            eg[c]
                .nodes
                .iter()
                .any(|n| matches!(eg.analysis.term(n.term), Term::Leaf(l) if l == r))
        });
        if matches!(node.op, Op::Constant(_)) || !leaf {
            continue;
        }
        // A node the e-graph does not model: emit its operands, then the node itself.
        let mut operands = Vec::with_capacity(node.operands.len());
        for o in &node.operands {
            operands.push(match o {
                None => None,
                Some(v) => Some(e.class(eg.find(class_of[v]), &node.name)?),
            });
        }
        let name = e.fresh_name(&node.name);
        let types = node.results.iter().map(|&r| original.ty(r).clone()).collect();
        let id = e.out.add_node(name, node.op.clone(), operands, types);
        let results = e.out.node(id).results.clone();
        for (r, new) in node.results.iter().zip(results) {
            e.value_of.entry(eg.find(class_of[r])).or_insert(new);
        }
    }
    for p in original.outputs() {
        let v = e.class(eg.find(class_of[&p.value]), &p.name)?;
        e.out.add_output(p.name.clone(), v);
    }
    Ok(e.out)
}

impl Emitter<'_, '_> {
    fn fresh_name(&mut self, base: &str) -> String {
        let mut name = base.to_string();
        let mut k = 1;
        while self.names.contains(&name) {
            name = format!("{base}.{k}");
            k += 1;
        }
        self.names.insert(name.clone());
        name
    }

    /// The value of class `id`, emitting it if needed; `hint` names it when the class
    /// has no name of its own.
    fn class(&mut self, id: Id, hint: &str) -> Result<ValueId, EmitError> {
        let id = self.eg.find(id);
        if let Some(&v) = self.value_of.get(&id) {
            return Ok(v);
        }
        if !self.in_progress.insert(id) {
            return Err(EmitError(format!("the extracted program has a cycle at e-class {id}")));
        }
        let data = &self.eg[id].data;
        let base = data.name.clone().unwrap_or_else(|| format!("{hint}.fused"));
        let v = if let Some(t) = &data.constant {
            self.constant(id, t.clone(), &base)
        } else {
            let node = self.choose(id);
            match self.eg.analysis.term(node.term) {
                Term::Op(op) => {
                    let op = op.clone();
                    let mut operands = Vec::with_capacity(node.children.len());
                    for (k, &c) in node.children.iter().enumerate() {
                        let absent = self.eg.analysis.absent.map(|a| self.eg.find(a)) == Some(self.eg.find(c));
                        operands.push(if absent {
                            None
                        } else {
                            Some(self.class(c, &format!("{base}.{k}"))?)
                        });
                    }
                    self.op_node(op, operands, &base)?
                }
                Term::Const(t) => {
                    let t = t.clone();
                    self.constant(id, t, &base)
                }
                Term::Leaf(v) => {
                    return Err(EmitError(format!(
                        "value {v} of the original graph is read before it is defined"
                    )))
                }
                Term::Absent => return Err(EmitError("an absent operand was read as a value".into())),
            }
        };
        self.in_progress.remove(&id);
        self.value_of.insert(id, v);
        Ok(v)
    }

    /// The e-node to emit for class `id`: the cheapest, unless it reads a class being
    /// emitted above it (a cycle through a shared value, which the extractor's DAG costs
    /// allow); then the cheapest that does not.
    fn choose(&self, id: Id) -> FNode {
        let best = self.best.find_best_node(id);
        let in_cycle = |n: &FNode| n.children.iter().any(|c| self.in_progress.contains(&self.eg.find(*c)));
        if !in_cycle(best) {
            return best.clone();
        }
        let estimate = |n: &FNode| -> f64 {
            let own = self.own.get(n).copied().unwrap_or(f64::INFINITY);
            own + n
                .children
                .iter()
                .filter(|&&c| !self.eg[c].data.shared)
                .map(|&c| self.best.find_best_cost(c))
                .sum::<f64>()
        };
        let mut candidates: Vec<&FNode> = self.eg[id].nodes.iter().filter(|n| !in_cycle(n)).collect();
        candidates.sort_by(|a, b| estimate(a).total_cmp(&estimate(b)));
        candidates.first().map_or_else(|| best.clone(), |n| (*n).clone())
    }

    fn constant(&mut self, id: Id, t: Tensor, base: &str) -> ValueId {
        // An original constant keeps its node's name.
        let original = self.eg[id]
            .nodes
            .iter()
            .find_map(|n| match self.eg.analysis.term(n.term) {
                Term::Leaf(v) => self.original.producer(*v).map(|p| p.name.clone()),
                _ => None,
            });
        let name = self.fresh_name(original.as_deref().unwrap_or(base));
        let ty = lightos_ir::TensorType::fixed(t.dtype(), t.dims());
        let node = self.out.add_node(name, Op::Constant(t), Vec::new(), vec![ty]);
        self.out.node(node).results[0]
    }

    fn op_node(&mut self, op: Op, operands: Vec<Option<ValueId>>, base: &str) -> Result<ValueId, EmitError> {
        let types = {
            let ops: Vec<Option<Operand<'_>>> = operands
                .iter()
                .map(|o| {
                    o.map(|v| Operand {
                        ty: self.out.ty(v),
                        value: self.out.constant_value(v),
                    })
                })
                .collect();
            infer(&op, &ops, &mut self.namer).map_err(|e| EmitError(format!("{}: {e}", op.name())))?
        };
        let name = self.fresh_name(base);
        let node = self.out.add_node(name, op, operands, types);
        Ok(self.out.node(node).results[0])
    }
}
