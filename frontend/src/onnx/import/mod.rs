//! Import of a decoded ONNX model into a LightOS [`Graph`].
//!
//! The steps: check the opset, bind initializers (as constants) and graph inputs, order
//! the nodes topologically (refusing undefined names, duplicate definitions and cycles),
//! report every unsupported op at once, import each node through its op importer, bind
//! the graph outputs, and verify the result.

mod attrs;
mod context;
mod ops;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::path::Path;

use lightos_ir::{Dim, Graph, Shape, TensorType};

use self::attrs::Attrs;
pub use self::context::Folder;
use self::context::{Importer, NodeCx};
use crate::onnx::error::UnsupportedOp;
use crate::onnx::proto::tensor_shape_proto::dimension::Value as DimValue;
use crate::onnx::proto::type_proto::Value as TypeValue;
use crate::onnx::proto::{GraphProto, ModelProto, NodeProto, ValueInfoProto};
use crate::onnx::tensor::{dtype_from_onnx, tensor_from_proto, TensorContext};
use crate::onnx::OnnxError;

/// The oldest ai.onnx opset the importer covers.
pub const MIN_OPSET: i64 = 7;
/// The newest ai.onnx opset the importer covers.
pub const MAX_OPSET: i64 = 28;

/// How to import.
#[derive(Clone, Copy, Debug, Default)]
pub struct ImportOptions {
    /// Evaluates ops on constants so shape computations fold as they are imported.
    /// Without it, a shape that depends on computed values may not be inferable.
    pub fold: Option<Folder>,
}

/// Imports `model` without folding. External tensor data is read from `model_dir` (and
/// only from inside it).
pub fn import_model(model: &ModelProto, model_dir: Option<&Path>) -> Result<Graph, OnnxError> {
    import_model_with(model, model_dir, &ImportOptions::default())
}

/// Imports `model` with `options`.
pub fn import_model_with(
    model: &ModelProto,
    model_dir: Option<&Path>,
    options: &ImportOptions,
) -> Result<Graph, OnnxError> {
    let opset = match ai_onnx_opset(model) {
        Ok(v) => v,
        Err(e) => {
            // A model of other domains only says more by naming its ops.
            if let Some(graph) = model.graph.as_ref() {
                check_supported(graph)?;
            }
            return Err(e);
        }
    };
    let graph = model.graph.as_ref().ok_or(OnnxError::MissingGraph)?;
    let ctx = match model_dir {
        Some(dir) => TensorContext::new(dir),
        None => TensorContext::in_memory(),
    };
    let name = if graph.name.is_empty() { "main" } else { &graph.name };
    let mut im = Importer::new(name, options.fold);
    bind_initializers(&mut im, graph, &ctx)?;
    bind_inputs(&mut im, graph)?;
    let order = topological_order(graph, &im)?;
    check_supported(graph)?;
    for (index, &i) in order.iter().enumerate() {
        import_node(&mut im, &graph.node[i], index, opset)?;
    }
    for output in &graph.output {
        let value = im
            .lookup(&output.name)
            .ok_or_else(|| OnnxError::UndefinedOutput(output.name.clone()))?;
        im.graph.add_output(output.name.clone(), value);
    }
    lightos_ir::verify(&im.graph)?;
    Ok(im.graph)
}

fn ai_onnx_opset(model: &ModelProto) -> Result<i64, OnnxError> {
    let mut opset = None;
    for import in &model.opset_import {
        match import.domain.as_str() {
            "" | "ai.onnx" => opset = Some(import.version),
            _ => {}
        }
    }
    let version = opset.ok_or(OnnxError::NoAiOnnxOpset)?;
    if !(MIN_OPSET..=MAX_OPSET).contains(&version) {
        return Err(OnnxError::UnsupportedOpset {
            domain: "ai.onnx".into(),
            version,
            min: MIN_OPSET,
            max: MAX_OPSET,
        });
    }
    Ok(version)
}

fn bind_initializers(im: &mut Importer, graph: &GraphProto, ctx: &TensorContext) -> Result<(), OnnxError> {
    for init in &graph.initializer {
        if im.lookup(&init.name).is_some() {
            return Err(OnnxError::DuplicateValue {
                value: init.name.clone(),
                by: "an initializer".into(),
            });
        }
        let t = tensor_from_proto(init, ctx)?;
        let v = im.constant(&init.name, t);
        im.bind(&init.name, v);
    }
    if !graph.sparse_initializer.is_empty() {
        return Err(OnnxError::UnsupportedOps {
            ops: vec![UnsupportedOp {
                op_type: "sparse initializer".into(),
                node: graph.sparse_initializer.len().to_string(),
            }],
        });
    }
    Ok(())
}

fn bind_inputs(im: &mut Importer, graph: &GraphProto) -> Result<(), OnnxError> {
    for input in &graph.input {
        if im.lookup(&input.name).is_some() {
            // Older exporters list initializers among the inputs; they stay constants.
            if graph.initializer.iter().any(|i| i.name == input.name) {
                continue;
            }
            return Err(OnnxError::DuplicateValue {
                value: input.name.clone(),
                by: "a graph input".into(),
            });
        }
        let ty = input_type(input)?;
        let v = im.graph.add_input(input.name.clone(), ty);
        im.bind(&input.name, v);
    }
    Ok(())
}

fn input_type(input: &ValueInfoProto) -> Result<TensorType, OnnxError> {
    let bad = |message: &str| OnnxError::BadInput {
        input: input.name.clone(),
        message: message.to_string(),
    };
    let Some(TypeValue::TensorType(t)) = input.r#type.as_ref().and_then(|t| t.value.as_ref()) else {
        return Err(bad("only tensor inputs are supported"));
    };
    let dtype = dtype_from_onnx(t.elem_type).ok_or_else(|| {
        bad(&format!(
            "element type {} ({}) is not supported",
            t.elem_type,
            crate::onnx::tensor::onnx_type_name(t.elem_type)
        ))
    })?;
    let shape = t
        .shape
        .as_ref()
        .ok_or_else(|| bad("has no shape (its rank must be known)"))?;
    let mut dims = Vec::with_capacity(shape.dim.len());
    for (k, d) in shape.dim.iter().enumerate() {
        dims.push(match &d.value {
            Some(DimValue::DimValue(n)) => {
                Dim::Fixed(usize::try_from(*n).map_err(|_| bad(&format!("dimension {k} is negative ({n})")))?)
            }
            Some(DimValue::DimParam(p)) if !p.is_empty() => Dim::Sym(p.clone()),
            _ => Dim::Sym(format!("{}_d{k}", input.name)),
        });
    }
    Ok(TensorType::new(dtype, Shape(dims)))
}

/// The display name of a node: its own, or its op type and position.
fn node_label(node: &NodeProto, index: usize) -> String {
    if node.name.is_empty() {
        format!("{}_{index}", node.op_type)
    } else {
        node.name.clone()
    }
}

/// Orders the nodes so that each comes after the definitions it reads, keeping the
/// model's order where it is free.
fn topological_order(graph: &GraphProto, im: &Importer) -> Result<Vec<usize>, OnnxError> {
    let mut producer: HashMap<&str, usize> = HashMap::new();
    for (i, node) in graph.node.iter().enumerate() {
        for out in node.output.iter().filter(|o| !o.is_empty()) {
            if im.lookup(out).is_some() || producer.insert(out, i).is_some() {
                return Err(OnnxError::DuplicateValue {
                    value: out.clone(),
                    by: format!("node `{}`", node_label(node, i)),
                });
            }
        }
    }
    let mut waiting = vec![0usize; graph.node.len()];
    let mut users: Vec<Vec<usize>> = vec![Vec::new(); graph.node.len()];
    for (i, node) in graph.node.iter().enumerate() {
        for input in node.input.iter().filter(|s| !s.is_empty()) {
            match producer.get(input.as_str()) {
                Some(&p) => {
                    waiting[i] += 1;
                    users[p].push(i);
                }
                None if im.lookup(input).is_some() => {}
                None => {
                    return Err(OnnxError::UndefinedValue {
                        node: node_label(node, i),
                        value: input.clone(),
                    })
                }
            }
        }
    }
    let mut ready: BinaryHeap<Reverse<usize>> = (0..graph.node.len())
        .filter(|&i| waiting[i] == 0)
        .map(Reverse)
        .collect();
    let mut order = Vec::with_capacity(graph.node.len());
    while let Some(Reverse(i)) = ready.pop() {
        order.push(i);
        for &u in &users[i] {
            waiting[u] -= 1;
            if waiting[u] == 0 {
                ready.push(Reverse(u));
            }
        }
    }
    if order.len() != graph.node.len() {
        let nodes = (0..graph.node.len())
            .filter(|&i| waiting[i] > 0)
            .map(|i| node_label(&graph.node[i], i))
            .collect();
        return Err(OnnxError::Cycle { nodes });
    }
    Ok(order)
}

fn check_supported(graph: &GraphProto) -> Result<(), OnnxError> {
    let ops: Vec<UnsupportedOp> = graph
        .node
        .iter()
        .enumerate()
        .filter(|(_, n)| !matches!(n.domain.as_str(), "" | "ai.onnx") || ops::importer(&n.op_type).is_none())
        .map(|(i, n)| UnsupportedOp {
            op_type: if matches!(n.domain.as_str(), "" | "ai.onnx") {
                n.op_type.clone()
            } else {
                format!("{}.{}", n.domain, n.op_type)
            },
            node: node_label(n, i),
        })
        .collect();
    if ops.is_empty() {
        Ok(())
    } else {
        Err(OnnxError::UnsupportedOps { ops })
    }
}

fn import_node(im: &mut Importer, node: &NodeProto, index: usize, opset: i64) -> Result<(), OnnxError> {
    let label = node_label(node, index);
    let bad = |message: String| OnnxError::BadNode {
        node: label.clone(),
        op_type: node.op_type.clone(),
        message,
    };
    let import = ops::importer(&node.op_type).ok_or_else(|| bad("unsupported op".into()))?;
    let cx = NodeCx {
        node,
        name: label.clone(),
        attrs: Attrs::new(node),
        opset,
    };
    let values = import(im, &cx).map_err(bad)?;
    if values.len() < node.output.iter().filter(|o| !o.is_empty()).count() {
        return Err(bad(format!(
            "declares {} outputs, the import gives {}",
            node.output.len(),
            values.len()
        )));
    }
    for (name, v) in node.output.iter().zip(values) {
        if !name.is_empty() {
            im.bind(name, v);
        }
    }
    Ok(())
}
