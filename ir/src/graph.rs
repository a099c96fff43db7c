//! The graph: arenas of values and nodes, referred to by typed handles.
//!
//! Nodes are stored in topological order: a node's operands are graph inputs or results
//! of earlier nodes. Every value has exactly one definition, recorded in [`ValueDef`].

use std::fmt;

use crate::op::Op;
use crate::shape::Shape;
use crate::DType;

/// The handle of a value in a [`Graph`].
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ValueId(pub u32);

/// The handle of a node in a [`Graph`].
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub u32);

impl ValueId {
    /// The arena index.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl NodeId {
    /// The arena index.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for ValueId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "%{}", self.0)
    }
}

/// The static type of a value: element type and shape.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TensorType {
    /// Element type.
    pub dtype: DType,
    /// Shape, possibly with symbolic dimensions.
    pub shape: Shape,
}

impl TensorType {
    /// A type from a dtype and a shape.
    pub fn new(dtype: DType, shape: Shape) -> TensorType {
        TensorType { dtype, shape }
    }

    /// A type with fixed dimensions.
    pub fn fixed(dtype: DType, dims: &[usize]) -> TensorType {
        TensorType::new(dtype, Shape::fixed(dims))
    }

    /// The rank.
    pub fn rank(&self) -> usize {
        self.shape.rank()
    }
}

impl fmt::Display for TensorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.dtype, self.shape)
    }
}

/// Where a value is defined.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ValueDef {
    /// The `n`-th graph input.
    Input(usize),
    /// The `index`-th result of `node`.
    Result {
        /// The defining node.
        node: NodeId,
        /// Which result.
        index: usize,
    },
}

/// A value: its type and definition.
#[derive(Clone, Debug, PartialEq)]
pub struct ValueData {
    /// The static type.
    pub ty: TensorType,
    /// The definition.
    pub def: ValueDef,
}

/// A node: an op applied to operands, defining results.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// A name unique in the graph, used in diagnostics.
    pub name: String,
    /// The op.
    pub op: Op,
    /// Operands; `None` marks an absent optional operand.
    pub operands: Vec<Option<ValueId>>,
    /// Results, defined by this node.
    pub results: Vec<ValueId>,
}

impl Node {
    /// The `i`-th operand, if present.
    pub fn operand(&self, i: usize) -> Option<ValueId> {
        self.operands.get(i).copied().flatten()
    }
}

/// A named graph input or output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Port {
    /// The name users bind by.
    pub name: String,
    /// The value.
    pub value: ValueId,
}

/// A graph of tensor ops.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Graph {
    /// The graph's name.
    pub name: String,
    values: Vec<ValueData>,
    nodes: Vec<Node>,
    inputs: Vec<Port>,
    outputs: Vec<Port>,
}

impl Graph {
    /// An empty graph.
    pub fn new(name: impl Into<String>) -> Graph {
        Graph {
            name: name.into(),
            ..Graph::default()
        }
    }

    /// Assembles a graph from raw parts without checking them; run the verifier next.
    pub fn from_parts(
        name: String,
        values: Vec<ValueData>,
        nodes: Vec<Node>,
        inputs: Vec<Port>,
        outputs: Vec<Port>,
    ) -> Graph {
        Graph {
            name,
            values,
            nodes,
            inputs,
            outputs,
        }
    }

    /// Adds a graph input of type `ty`.
    pub fn add_input(&mut self, name: impl Into<String>, ty: TensorType) -> ValueId {
        let id = self.push_value(ty, ValueDef::Input(self.inputs.len()));
        self.inputs.push(Port {
            name: name.into(),
            value: id,
        });
        id
    }

    /// Appends a node defining results of `result_types`, and returns it.
    pub fn add_node(
        &mut self,
        name: impl Into<String>,
        op: Op,
        operands: Vec<Option<ValueId>>,
        result_types: Vec<TensorType>,
    ) -> NodeId {
        let node = NodeId(self.nodes.len() as u32);
        let results = result_types
            .into_iter()
            .enumerate()
            .map(|(index, ty)| self.push_value(ty, ValueDef::Result { node, index }))
            .collect();
        self.nodes.push(Node {
            name: name.into(),
            op,
            operands,
            results,
        });
        node
    }

    /// Marks `value` as a graph output named `name`.
    pub fn add_output(&mut self, name: impl Into<String>, value: ValueId) {
        self.outputs.push(Port {
            name: name.into(),
            value,
        });
    }

    fn push_value(&mut self, ty: TensorType, def: ValueDef) -> ValueId {
        let id = ValueId(self.values.len() as u32);
        self.values.push(ValueData { ty, def });
        id
    }

    /// The value arena.
    pub fn values(&self) -> &[ValueData] {
        &self.values
    }

    /// The nodes, in topological order.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// Mutable access to the nodes; run the verifier after changing them.
    pub fn nodes_mut(&mut self) -> &mut [Node] {
        &mut self.nodes
    }

    /// The node ids, in order.
    pub fn node_ids(&self) -> impl Iterator<Item = NodeId> {
        (0..self.nodes.len() as u32).map(NodeId)
    }

    /// One node. Panics on a foreign handle; use [`Graph::try_node`] on unchecked handles.
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id.index()]
    }

    /// One node, or `None` for a handle out of range.
    pub fn try_node(&self, id: NodeId) -> Option<&Node> {
        self.nodes.get(id.index())
    }

    /// One value. Panics on a foreign handle; use [`Graph::try_value`] on unchecked handles.
    pub fn value(&self, id: ValueId) -> &ValueData {
        &self.values[id.index()]
    }

    /// One value, or `None` for a handle out of range.
    pub fn try_value(&self, id: ValueId) -> Option<&ValueData> {
        self.values.get(id.index())
    }

    /// The type of a value.
    pub fn ty(&self, id: ValueId) -> &TensorType {
        &self.values[id.index()].ty
    }

    /// Sets the static type of a value (shape inference refines types in place).
    pub fn set_type(&mut self, id: ValueId, ty: TensorType) {
        self.values[id.index()].ty = ty;
    }

    /// Operands of node `id` with their types and constant values, as type inference
    /// takes them.
    pub fn operands_for_inference(&self, id: NodeId) -> Vec<Option<crate::infer::Operand<'_>>> {
        self.node(id)
            .operands
            .iter()
            .map(|o| {
                o.map(|v| crate::infer::Operand {
                    ty: self.ty(v),
                    value: self.constant_value(v),
                })
            })
            .collect()
    }

    /// The graph inputs, in order.
    pub fn inputs(&self) -> &[Port] {
        &self.inputs
    }

    /// The graph outputs, in order.
    pub fn outputs(&self) -> &[Port] {
        &self.outputs
    }

    /// Mutable access to the outputs (passes redirect them).
    pub fn outputs_mut(&mut self) -> &mut Vec<Port> {
        &mut self.outputs
    }

    /// The node defining `value`, if it is not a graph input.
    pub fn producer(&self, value: ValueId) -> Option<&Node> {
        match self.try_value(value)?.def {
            ValueDef::Result { node, .. } => self.try_node(node),
            ValueDef::Input(_) => None,
        }
    }

    /// The constant tensor of `value` when a `constant` node defines it.
    pub fn constant_value(&self, value: ValueId) -> Option<&crate::Tensor> {
        match &self.producer(value)?.op {
            Op::Constant(t) => Some(t),
            _ => None,
        }
    }

    /// Replaces every use of `old` (operands and graph outputs) by `new`.
    pub fn replace_uses(&mut self, old: ValueId, new: ValueId) {
        for node in &mut self.nodes {
            for operand in node.operands.iter_mut().flatten() {
                if *operand == old {
                    *operand = new;
                }
            }
        }
        for port in &mut self.outputs {
            if port.value == old {
                port.value = new;
            }
        }
    }

    /// Counts nodes per op name, sorted by name.
    pub fn op_counts(&self) -> Vec<(String, usize)> {
        let mut counts = std::collections::BTreeMap::new();
        for node in &self.nodes {
            *counts.entry(node.op.name()).or_insert(0) += 1;
        }
        counts.into_iter().collect()
    }
}
