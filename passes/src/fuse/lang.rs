//! The e-graph's language and analysis.
//!
//! An e-node is a [`Term`] applied to child e-classes. Terms are interned in the
//! analysis, so an e-node is a small hashable pair of a [`TermId`] and its children.
//! Every e-class carries [`Data`]: its type, its value when it is a constant, whether the
//! original program reads it more than once, and a name for the node it becomes.

use std::collections::HashMap;

use egg::{DidMerge, Id, Language};
use lightos_ir::infer::{infer, Operand, SymbolNamer};
use lightos_ir::names::encode;
use lightos_ir::{Graph, Op, Tensor, TensorType, ValueId};
use lightos_runtime::reference::eval_op;

/// The e-graph of the fusion pass.
pub type EGraph = egg::EGraph<FNode, FuseAnalysis>;

/// The handle of an interned [`Term`].
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TermId(pub u32);

/// What an e-node computes from its children.
#[derive(Clone, Debug)]
pub enum Term {
    /// The first result of an IR op applied to the children, in operand order.
    Op(Op),
    /// A value of the original graph taken as given: a graph input, a constant, or a
    /// result of a node the e-graph does not model (random or multi-result ops).
    Leaf(ValueId),
    /// A constant made by a rewrite (folded weights, a reciprocal, a shape).
    Const(Tensor),
    /// An absent optional operand.
    Absent,
}

/// An e-node: a term and its child e-classes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FNode {
    /// The term.
    pub term: TermId,
    /// The operands, in the op's operand order.
    pub children: Vec<Id>,
}

impl Language for FNode {
    type Discriminant = TermId;

    fn discriminant(&self) -> TermId {
        self.term
    }

    fn matches(&self, other: &Self) -> bool {
        self.term == other.term && self.children.len() == other.children.len()
    }

    fn children(&self) -> &[Id] {
        &self.children
    }

    fn children_mut(&mut self) -> &mut [Id] {
        &mut self.children
    }
}

/// What is known about an e-class.
#[derive(Clone, Debug, Default)]
pub struct Data {
    /// The type; `None` for the absent operand and for e-nodes whose operands do not fit
    /// their op (never extracted).
    pub ty: Option<TensorType>,
    /// The value, when every input to it is a constant and it is small enough to fold.
    pub constant: Option<Tensor>,
    /// Whether the original program reads this value more than once (or outside the
    /// e-graph, or as a graph output), so folding it into one reader would recompute it.
    pub shared: bool,
    /// The name of the original node (or input) that defined the value.
    pub name: Option<String>,
}

/// The analysis: interned terms, the original graph (for leaves), and [`Data`] per class.
pub struct FuseAnalysis {
    terms: Vec<Term>,
    keys: HashMap<String, TermId>,
    /// The graph the e-graph was built from.
    pub graph: Graph,
    /// Constants larger than this are not folded.
    pub max_const_bytes: usize,
    /// The class of the absent operand.
    pub absent: Option<egg::Id>,
    namer: SymbolNamer,
}

impl FuseAnalysis {
    /// An analysis over `graph`.
    pub fn new(graph: Graph) -> FuseAnalysis {
        FuseAnalysis {
            terms: Vec::new(),
            keys: HashMap::new(),
            graph,
            max_const_bytes: 64 << 20,
            absent: None,
            namer: SymbolNamer::new("fuse"),
        }
    }

    /// The interned id of `term`.
    pub fn intern(&mut self, term: Term) -> TermId {
        let key = term_key(&term);
        if let Some(&id) = self.keys.get(&key) {
            return id;
        }
        let id = TermId(self.terms.len() as u32);
        self.terms.push(term);
        self.keys.insert(key, id);
        id
    }

    /// The term of an id.
    pub fn term(&self, id: TermId) -> &Term {
        &self.terms[id.0 as usize]
    }

    /// The type `term` gives when applied to operands of `children` data, or `None`
    /// when they do not fit.
    pub fn result_type(&mut self, term: &Term, children: &[&Data]) -> Option<TensorType> {
        match term {
            Term::Op(op) => {
                let mut operands = Vec::with_capacity(children.len());
                for d in children {
                    operands.push(d.ty.as_ref().map(|ty| Operand {
                        ty,
                        value: d.constant.as_ref(),
                    }));
                }
                infer(op, &operands, &mut self.namer).ok()?.into_iter().next()
            }
            Term::Leaf(v) => Some(self.graph.ty(*v).clone()),
            Term::Const(t) => Some(TensorType::fixed(t.dtype(), t.dims())),
            Term::Absent => None,
        }
    }
}

/// A key equal for equal terms: op name and attributes, leaf id, or constant contents.
fn term_key(term: &Term) -> String {
    match term {
        Term::Op(op) => {
            let (name, attrs) = encode(op);
            format!("{name}{attrs:?}")
        }
        Term::Leaf(v) => format!("leaf{}", v.0),
        Term::Const(t) => format!(
            "const{:?}{:?}{:x}",
            t.dtype(),
            t.dims(),
            xxhash_rust::xxh3::xxh3_128(t.bytes())
        ),
        Term::Absent => "absent".into(),
    }
}

/// Whether an op may be computed ahead of time and merged with equal computations:
/// everything but the random ops.
pub fn is_pure(op: &Op) -> bool {
    !matches!(
        op,
        Op::Random(_) | Op::RandomLike(_) | Op::Bernoulli(_) | Op::Multinomial(_)
    )
}

impl egg::Analysis<FNode> for FuseAnalysis {
    type Data = Data;

    fn make(egraph: &mut EGraph, enode: &FNode) -> Data {
        let term = egraph.analysis.term(enode.term).clone();
        let children: Vec<Data> = enode.children.iter().map(|&c| egraph[c].data.clone()).collect();
        let refs: Vec<&Data> = children.iter().collect();
        let ty = egraph.analysis.result_type(&term, &refs);
        let constant = match &term {
            Term::Leaf(v) => egraph.analysis.graph.constant_value(*v).cloned(),
            Term::Const(t) => Some(t.clone()),
            Term::Op(op) => fold(op, &children, ty.as_ref(), egraph.analysis.max_const_bytes),
            Term::Absent => None,
        };
        let name = match &term {
            Term::Leaf(v) => leaf_name(&egraph.analysis.graph, *v),
            _ => None,
        };
        Data {
            ty,
            constant,
            shared: false,
            name,
        }
    }

    fn merge(&mut self, a: &mut Data, b: Data) -> DidMerge {
        let mut changed_a = false;
        let mut b_differs = false;
        if a.ty.is_none() && b.ty.is_some() {
            a.ty = b.ty;
            changed_a = true;
        } else if a.ty.is_some() && b.ty.is_none() {
            b_differs = true;
        }
        if a.constant.is_none() && b.constant.is_some() {
            a.constant = b.constant;
            changed_a = true;
        } else if a.constant.is_some() && b.constant.is_none() {
            b_differs = true;
        }
        if a.shared != b.shared {
            if b.shared {
                a.shared = true;
                changed_a = true;
            } else {
                b_differs = true;
            }
        }
        match (&a.name, b.name) {
            (None, Some(n)) => {
                a.name = Some(n);
                changed_a = true;
            }
            (Some(_), None) => b_differs = true,
            (Some(x), Some(y)) if *x != y => b_differs = true,
            _ => {}
        }
        DidMerge(changed_a, b_differs)
    }
}

/// The value of `op` on constant children, when all are constant and the result is
/// small enough.
fn fold(op: &Op, children: &[Data], ty: Option<&TensorType>, max_bytes: usize) -> Option<Tensor> {
    // A fused kernel's class also holds the unfused ops, which fold on their own.
    if !is_pure(op) || matches!(op, Op::Fused(_)) {
        return None;
    }
    let ty = ty?;
    let bytes = ty.shape.num_elements().ok()?.checked_mul(ty.dtype.size_bytes())?;
    if bytes > max_bytes {
        return None;
    }
    let mut operands = Vec::with_capacity(children.len());
    for d in children {
        match (&d.ty, &d.constant) {
            (None, _) => operands.push(None),
            (Some(_), Some(t)) => operands.push(Some(t)),
            (Some(_), None) => return None,
        }
    }
    if let (Op::Binary(b), [Some(x), Some(y)]) = (op, operands.as_slice()) {
        if let Some(t) = scale_by_block(*b, x, y) {
            return Some(t);
        }
    }
    eval_op(op, &operands).ok()?.into_iter().next()
}

/// `x op y` for `f32` tensors where `y` varies along one contiguous run of `x`'s axes
/// and is 1 elsewhere (a per-channel scale of conv weights, a per-column scale of a
/// matrix): the folding of weights, computed directly. IEEE arithmetic on each element
/// pair is what the reference kernel computes too, so the bits are the same.
fn scale_by_block(op: lightos_ir::BinaryOp, x: &Tensor, y: &Tensor) -> Option<Tensor> {
    use lightos_ir::BinaryOp::{Add, Div, Mul, Sub};
    if x.dtype() != lightos_ir::DType::F32 || y.dtype() != lightos_ir::DType::F32 || y.dims().len() > x.dims().len() {
        return None;
    }
    let f: fn(f32, f32) -> f32 = match op {
        Add => |a, b| a + b,
        Sub => |a, b| a - b,
        Mul => |a, b| a * b,
        Div => |a, b| a / b,
        _ => return None,
    };
    let offset = x.dims().len() - y.dims().len();
    let varying: Vec<usize> = (0..y.dims().len())
        .filter(|&i| y.dims()[i] != 1)
        .map(|i| i + offset)
        .collect();
    let (Some(&first), Some(&last)) = (varying.first(), varying.last()) else {
        return None;
    };
    if varying.len() != last - first + 1 || varying.iter().any(|&a| y.dims()[a - offset] != x.dims()[a]) {
        return None;
    }
    let inner: usize = x.dims()[last + 1..].iter().product();
    let block = y.len();
    let (xs, ys) = (x.as_slice::<f32>().ok()?, y.as_slice::<f32>().ok()?);
    let data: Vec<f32> = xs
        .iter()
        .enumerate()
        .map(|(i, &a)| f(a, ys[(i / inner) % block]))
        .collect();
    Tensor::from_vec(x.dims().to_vec(), data).ok()
}

/// The name a leaf's value had in the graph: its input port or its producer.
fn leaf_name(graph: &Graph, v: ValueId) -> Option<String> {
    if let Some(node) = graph.producer(v) {
        return Some(node.name.clone());
    }
    graph.inputs().iter().find(|p| p.value == v).map(|p| p.name.clone())
}
