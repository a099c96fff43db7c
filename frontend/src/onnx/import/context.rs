//! The import state: the graph being built, the ONNX value names bound so far, and the
//! helpers op importers use to emit IR nodes.

use std::collections::{HashMap, HashSet};

use lightos_ir::infer::{infer, shape_query_value, Operand, SymbolNamer};
use lightos_ir::{DType, Element, Graph, Op, Tensor, TensorType, ValueId};

use super::attrs::Attrs;
use crate::onnx::proto::NodeProto;

/// One ONNX node being imported.
pub(crate) struct NodeCx<'a> {
    /// The node.
    pub node: &'a NodeProto,
    /// Its unique name in the IR (the ONNX name, or one made up for unnamed nodes).
    pub name: String,
    /// Its attributes.
    pub attrs: Attrs<'a>,
    /// The ai.onnx opset version of the model.
    pub opset: i64,
}

impl NodeCx<'_> {
    /// How many outputs the node declares.
    pub(crate) fn output_count(&self) -> usize {
        self.node.output.len()
    }

    /// How many operand slots the node has (absent optional ones included).
    pub(crate) fn input_count(&self) -> usize {
        self.node.input.len()
    }
}

/// The result of an op importer: the values for the node's outputs, in order, or a
/// message saying why the node cannot be imported.
pub(crate) type ImportResult = Result<Vec<ValueId>, String>;

/// Evaluates an op on constant operands, for folding during import; `None` when it
/// cannot (the importer then emits the op as is).
pub type Folder = fn(&Op, &[Option<&Tensor>]) -> Option<Vec<Tensor>>;

/// Results with at most this many elements are folded during import: enough for the
/// shape computations exporters emit, small enough never to bloat a graph.
const IMPORT_FOLD_LIMIT: usize = 4096;

/// The graph under construction and the ONNX names bound to its values.
pub(crate) struct Importer {
    /// The graph.
    pub graph: Graph,
    values: HashMap<String, ValueId>,
    node_names: HashSet<String>,
    fold: Option<Folder>,
}

impl Importer {
    /// An importer building a graph named `name`.
    pub(crate) fn new(name: &str, fold: Option<Folder>) -> Importer {
        Importer {
            graph: Graph::new(name),
            values: HashMap::new(),
            node_names: HashSet::new(),
            fold,
        }
    }

    /// Binds an ONNX value name.
    pub(crate) fn bind(&mut self, name: &str, value: ValueId) {
        self.values.insert(name.to_string(), value);
    }

    /// The value bound to an ONNX name.
    pub(crate) fn lookup(&self, name: &str) -> Option<ValueId> {
        self.values.get(name).copied()
    }

    /// A node name not used yet, based on `base`.
    pub(crate) fn unique_name(&mut self, base: &str) -> String {
        let base = if base.is_empty() { "node" } else { base };
        let mut name = base.to_string();
        let mut k = 1;
        while self.node_names.contains(&name) {
            k += 1;
            name = format!("{base}#{k}");
        }
        self.node_names.insert(name.clone());
        name
    }

    /// The `i`-th operand of the node, `None` when absent or empty.
    pub(crate) fn input(&self, cx: &NodeCx, i: usize) -> Result<Option<ValueId>, String> {
        match cx.node.input.get(i).map(String::as_str) {
            None | Some("") => Ok(None),
            Some(name) => self
                .lookup(name)
                .map(Some)
                .ok_or_else(|| format!("operand `{name}` is not defined")),
        }
    }

    /// The `i`-th operand of the node, which must be present.
    pub(crate) fn req(&self, cx: &NodeCx, i: usize) -> Result<ValueId, String> {
        self.input(cx, i)?
            .ok_or_else(|| format!("operand {i} is required but missing"))
    }

    /// Every present operand, in order.
    pub(crate) fn all_inputs(&self, cx: &NodeCx) -> Result<Vec<ValueId>, String> {
        (0..cx.input_count())
            .filter_map(|i| self.input(cx, i).transpose())
            .collect()
    }

    /// The type of a value.
    pub(crate) fn ty(&self, v: ValueId) -> &TensorType {
        self.graph.ty(v)
    }

    /// The integer contents of a constant value.
    pub(crate) fn const_ints(&self, v: ValueId) -> Option<Vec<i64>> {
        self.graph.constant_value(v)?.to_i64_vec()
    }

    /// Appends a node for `op`, inferring its result types, and returns its results.
    pub(crate) fn emit(&mut self, base: &str, op: Op, operands: Vec<Option<ValueId>>) -> Result<Vec<ValueId>, String> {
        let types = {
            let ops: Vec<Option<Operand>> = operands
                .iter()
                .map(|o| {
                    o.map(|v| Operand {
                        ty: self.graph.ty(v),
                        value: self.graph.constant_value(v),
                    })
                })
                .collect();
            let mut names = SymbolNamer::new(format!("d{}", self.graph.values().len()));
            infer(&op, &ops, &mut names).map_err(|e| e.0)?
        };
        if let Some(values) = self.try_fold(&op, &operands, &types) {
            return Ok(values.into_iter().map(|t| self.constant(base, t)).collect());
        }
        let name = self.unique_name(base);
        let node = self.graph.add_node(name, op, operands, types);
        Ok(self.graph.node(node).results.clone())
    }

    /// The results of `op` when they are small and known now: shape queries of fixed
    /// dims, and ops on constants when a folder is set.
    fn try_fold(&self, op: &Op, operands: &[Option<ValueId>], types: &[TensorType]) -> Option<Vec<Tensor>> {
        let small = types
            .iter()
            .all(|t| t.shape.num_elements().is_ok_and(|n| n <= IMPORT_FOLD_LIMIT));
        if !small || matches!(op, Op::Constant(_)) {
            return None;
        }
        if let Some(t) = operands
            .first()
            .copied()
            .flatten()
            .and_then(|v| shape_query_value(op, self.ty(v)))
        {
            return Some(vec![t]);
        }
        let fold = self.fold?;
        let values = operands
            .iter()
            .map(|o| match o {
                None => Some(None),
                Some(v) => self.graph.constant_value(*v).map(Some),
            })
            .collect::<Option<Vec<_>>>()?;
        let results = fold(op, &values)?;
        let fits = results.len() == types.len()
            && results
                .iter()
                .zip(types)
                .all(|(t, ty)| lightos_ir::verify::compatible(ty, &TensorType::fixed(t.dtype(), t.dims())));
        fits.then_some(results)
    }

    /// Like [`Importer::emit`] for ops with one result.
    pub(crate) fn emit1(&mut self, base: &str, op: Op, operands: Vec<Option<ValueId>>) -> Result<ValueId, String> {
        Ok(self.emit(base, op, operands)?[0])
    }

    /// A constant node holding `t`.
    pub(crate) fn constant(&mut self, base: &str, t: Tensor) -> ValueId {
        let ty = TensorType::fixed(t.dtype(), t.dims());
        let name = self.unique_name(base);
        let node = self.graph.add_node(name, Op::Constant(t), vec![], vec![ty]);
        self.graph.node(node).results[0]
    }

    /// A rank-1 i64 constant.
    pub(crate) fn const_i64s(&mut self, base: &str, values: &[i64]) -> ValueId {
        let t = Tensor::from_vec(vec![values.len()], values.to_vec()).expect("length matches");
        self.constant(base, t)
    }

    /// A scalar constant of `dtype` holding `value` (converted as by a cast).
    pub(crate) fn const_scalar(&mut self, base: &str, dtype: DType, value: f64) -> Result<ValueId, String> {
        let t = scalar_of(dtype, value)?;
        Ok(self.constant(base, t))
    }
}

/// A rank-0 tensor of `dtype` holding `value`.
pub(crate) fn scalar_of(dtype: DType, value: f64) -> Result<Tensor, String> {
    fn s<T: Element>(v: T) -> Tensor {
        Tensor::scalar(v)
    }
    Ok(match dtype {
        DType::F32 => s(value as f32),
        DType::F64 => s(value),
        DType::F16 => s(half::f16::from_f64(value)),
        DType::BF16 => s(half::bf16::from_f64(value)),
        DType::I8 => s(value as i8),
        DType::I16 => s(value as i16),
        DType::I32 => s(value as i32),
        DType::I64 => s(value as i64),
        DType::U8 => s(value as u8),
        DType::U16 => s(value as u16),
        DType::U32 => s(value as u32),
        DType::U64 => s(value as u64),
        DType::Bool => Tensor::from_bools(vec![], &[value != 0.0]).map_err(|e| e.to_string())?,
        narrow => return Err(format!("a scalar constant of {narrow} is not supported")),
    })
}
