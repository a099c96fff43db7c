//! Constant folding: evaluates nodes whose operands are all constants with the reference
//! kernels (so folding cannot change numerics), and reads shapes that are fixed.

use lightos_ir::infer::shape_query_value;
use lightos_ir::{Graph, NodeId, Op, Tensor};
use lightos_runtime::reference::eval_op;

use crate::shape_inference::refine_node;
use crate::{Pass, PassError, PassStats};

/// Folds constant subgraphs into constants.
#[derive(Debug)]
pub struct ConstantFolding {
    /// Results larger than this many bytes are left unfolded, so folding never bloats
    /// the artifact (e.g. a `constant_of_shape` that makes a large buffer).
    pub max_result_bytes: usize,
}

impl Default for ConstantFolding {
    fn default() -> Self {
        ConstantFolding {
            max_result_bytes: 16 << 20,
        }
    }
}

impl Pass for ConstantFolding {
    fn name(&self) -> &'static str {
        "fold"
    }

    fn run(&self, mut graph: Graph) -> Result<(Graph, PassStats), PassError> {
        let mut stats = PassStats::default();
        for id in graph.node_ids().collect::<Vec<_>>() {
            refine_node(&mut graph, id)?;
            let Some(value) = self.fold(&graph, id)? else {
                continue;
            };
            let node = &mut graph.nodes_mut()[id.index()];
            node.op = Op::Constant(value);
            node.operands.clear();
            refine_node(&mut graph, id)?;
            stats.changed += 1;
        }
        Ok((graph, stats))
    }
}

impl ConstantFolding {
    /// The constant that node `id` computes, if it can be known now.
    fn fold(&self, graph: &Graph, id: NodeId) -> Result<Option<Tensor>, PassError> {
        let node = graph.node(id);
        if matches!(node.op, Op::Constant(_)) || node.results.len() != 1 {
            return Ok(None);
        }
        if let Some(t) = node.operand(0).and_then(|v| shape_query_value(&node.op, graph.ty(v))) {
            return Ok(Some(t));
        }
        let mut operands = Vec::with_capacity(node.operands.len());
        for o in &node.operands {
            match o {
                None => operands.push(None),
                Some(v) => match graph.constant_value(*v) {
                    Some(t) => operands.push(Some(t)),
                    None => return Ok(None),
                },
            }
        }
        let result_bytes = graph
            .ty(node.results[0])
            .shape
            .num_elements()
            .ok()
            .and_then(|n| n.checked_mul(graph.ty(node.results[0]).dtype.size_bytes()));
        if result_bytes.is_none_or(|b| b > self.max_result_bytes) {
            return Ok(None);
        }
        let mut results = eval_op(&node.op, &operands).map_err(|e| PassError::Node {
            pass: "fold",
            node: node.name.clone(),
            message: e.to_string(),
        })?;
        Ok(results.pop())
    }
}
