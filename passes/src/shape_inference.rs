//! Shape inference: re-derives every result type from its operands, so symbolic or
//! unknown dimensions become fixed wherever the operands (and constants) decide them.

use lightos_ir::infer::{infer, SymbolNamer};
use lightos_ir::{Graph, NodeId, TensorType};

use crate::{Pass, PassError, PassStats};

/// Re-infers result types in graph order.
#[derive(Debug, Default)]
pub struct ShapeInference;

impl Pass for ShapeInference {
    fn name(&self) -> &'static str {
        "shape-inference"
    }

    fn run(&self, mut graph: Graph) -> Result<(Graph, PassStats), PassError> {
        let mut stats = PassStats::default();
        for id in graph.node_ids().collect::<Vec<_>>() {
            stats.changed += refine_node(&mut graph, id)?;
        }
        Ok((graph, stats))
    }
}

/// Re-infers the result types of one node, keeping what the old types knew that
/// inference cannot (a declared fixed size where inference gives a symbol). Returns how
/// many result types changed.
pub(crate) fn refine_node(graph: &mut Graph, id: NodeId) -> Result<usize, PassError> {
    let inferred = {
        let operands = graph.operands_for_inference(id);
        let mut names = SymbolNamer::new(format!("s{}", id.0));
        infer(&graph.node(id).op, &operands, &mut names).map_err(|e| PassError::Node {
            pass: "shape-inference",
            node: graph.node(id).name.clone(),
            message: e.0,
        })?
    };
    let mut changed = 0;
    for (r, new) in graph.node(id).results.clone().into_iter().zip(inferred) {
        let old = graph.ty(r).clone();
        let merged = merge(&old, new);
        if merged != old {
            graph.set_type(r, merged);
            changed += 1;
        }
    }
    Ok(changed)
}

/// The more precise of two descriptions of one type: a fixed size wins over a symbol.
fn merge(old: &TensorType, new: TensorType) -> TensorType {
    if old.dtype != new.dtype || old.rank() != new.rank() {
        return new;
    }
    let dims = old
        .shape
        .dims()
        .iter()
        .zip(new.shape.dims())
        .map(|(o, n)| if n.fixed().is_some() { n.clone() } else { o.clone() })
        .collect();
    TensorType::new(new.dtype, lightos_ir::Shape(dims))
}
