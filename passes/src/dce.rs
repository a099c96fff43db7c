//! Dead-code elimination: keeps only the nodes that graph outputs depend on, and
//! renumbers values densely.

use lightos_ir::{Graph, ValueDef, ValueId};

use crate::{Pass, PassError, PassStats};

/// Removes nodes whose results nothing uses.
#[derive(Debug, Default)]
pub struct DeadCodeElimination;

impl Pass for DeadCodeElimination {
    fn name(&self) -> &'static str {
        "dce"
    }

    fn run(&self, graph: Graph) -> Result<(Graph, PassStats), PassError> {
        let mut live = vec![false; graph.nodes().len()];
        let mut needed: Vec<ValueId> = graph.outputs().iter().map(|p| p.value).collect();
        let mut seen = vec![false; graph.values().len()];
        while let Some(v) = needed.pop() {
            if std::mem::replace(&mut seen[v.index()], true) {
                continue;
            }
            if let ValueDef::Result { node, .. } = graph.value(v).def {
                live[node.index()] = true;
                needed.extend(graph.node(node).operands.iter().flatten());
            }
        }
        let removed = live.iter().filter(|l| !**l).count();
        Ok((
            rebuild(&graph, &live),
            PassStats {
                measures: Vec::new(),
                changed: removed,
                notes: vec![],
            },
        ))
    }
}

/// A copy of `graph` with only the nodes marked in `keep`, values renumbered in order.
pub(crate) fn rebuild(graph: &Graph, keep: &[bool]) -> Graph {
    let mut out = Graph::new(graph.name.clone());
    let mut map: Vec<Option<ValueId>> = vec![None; graph.values().len()];
    for port in graph.inputs() {
        map[port.value.index()] = Some(out.add_input(port.name.clone(), graph.ty(port.value).clone()));
    }
    for (node, _) in graph.nodes().iter().zip(keep).filter(|(_, k)| **k) {
        let operands = node.operands.iter().map(|o| o.and_then(|v| map[v.index()])).collect();
        let types = node.results.iter().map(|&r| graph.ty(r).clone()).collect();
        let id = out.add_node(node.name.clone(), node.op.clone(), operands, types);
        for (&old, &new) in node.results.iter().zip(&out.node(id).results) {
            map[old.index()] = Some(new);
        }
    }
    for port in graph.outputs() {
        if let Some(v) = map[port.value.index()] {
            out.add_output(port.name.clone(), v);
        }
    }
    out
}
