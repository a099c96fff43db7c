//! Building the e-graph from a graph.
//!
//! Every node with one result and a deterministic op becomes an e-node; constants, graph
//! inputs and the results of the other nodes (random ops, ops with several results)
//! become leaves. Equal computations share an e-class from the start.

use std::collections::HashMap;

use egg::Id;
use lightos_ir::{Graph, Op, ValueId};

use super::lang::{is_pure, EGraph, FNode, FuseAnalysis, Term};

/// The e-graph of a graph and the class of each of its values.
pub struct Built {
    /// The e-graph.
    pub egraph: EGraph,
    /// The class of every value of the original graph.
    pub class_of: HashMap<ValueId, Id>,
}

fn add_term(eg: &mut EGraph, term: Term, children: Vec<Id>) -> Id {
    let term = eg.analysis.intern(term);
    eg.add(FNode { term, children })
}

/// Builds the e-graph of `graph`.
pub fn build(graph: &Graph) -> Built {
    let mut eg = EGraph::new(FuseAnalysis::new(graph.clone()));
    let absent = add_term(&mut eg, Term::Absent, Vec::new());
    eg.analysis.absent = Some(absent);
    let mut class_of = HashMap::new();
    for p in graph.inputs() {
        class_of.insert(p.value, add_term(&mut eg, Term::Leaf(p.value), Vec::new()));
    }
    for node in graph.nodes() {
        let children: Option<Vec<Id>> = node
            .operands
            .iter()
            .map(|o| match o {
                None => Some(absent),
                Some(v) => class_of.get(v).copied(),
            })
            .collect();
        let modeled = node.results.len() == 1 && is_pure(&node.op) && !matches!(node.op, Op::Constant(_));
        if let (true, Some(children)) = (modeled, children) {
            // Only nodes whose type the e-graph recomputes exactly are modeled.
            let term = Term::Op(node.op.clone());
            let data: Vec<_> = children.iter().map(|&c| eg[c].data.clone()).collect();
            let refs: Vec<_> = data.iter().collect();
            let ty = eg.analysis.result_type(&term, &refs);
            if ty.as_ref() == Some(graph.ty(node.results[0])) {
                let id = add_term(&mut eg, term, children);
                if eg[id].data.name.is_none() {
                    eg[id].data.name = Some(node.name.clone());
                }
                class_of.insert(node.results[0], id);
                continue;
            }
        }
        for &r in &node.results {
            class_of.insert(r, add_term(&mut eg, Term::Leaf(r), Vec::new()));
        }
    }
    // Values read more than once (as graph outputs too) must stay materialized.
    let mut uses: HashMap<Id, usize> = HashMap::new();
    for node in graph.nodes() {
        for v in node.operands.iter().flatten() {
            *uses.entry(eg.find(class_of[v])).or_default() += 1;
        }
    }
    for p in graph.outputs() {
        *uses.entry(eg.find(class_of[&p.value])).or_default() += 2;
    }
    for (id, n) in uses {
        if n > 1 {
            eg[id].data.shared = true;
        }
    }
    eg.rebuild();
    Built { egraph: eg, class_of }
}
