//! Choosing the steps of the CPU backend: which nodes run as native kernels, and which
//! elementwise nodes fold into them.
//!
//! Patterns, each matched only where every fused intermediate value has exactly one
//! reader and is not a graph output (so nothing else needs it):
//!
//! - `Conv` (2-d, `f32`, constant weights and bias), then optionally per-channel
//!   arithmetic (batch norm, scale, shift by constants), then a residual `Add` of a value
//!   of the same shape and an activation (`Relu`, `LeakyRelu`, `Clip` with constant
//!   bounds), in either order;
//! - `Gemm` or `MatMul` (`f32`, constant 2-d B), then for `MatMul` optionally the `Add` of
//!   a constant row (a bias), then the same residual and activation;
//! - a run of per-channel elementwise nodes (`BatchNormalization` with constant
//!   parameters; `Add`, `Sub`, `Mul`, `Div` by a constant with one value per channel;
//!   activations) over a value of rank 2 or more;
//! - `MaxPool` over 2 spatial axes (fixed spatial sizes);
//! - `Concat` of `f32` values computed at run time (into the arena);
//! - `LRN` in fast mode.
//!
//! A fused step runs where its last node stands, so every value it reads (a residual
//! computed after the convolution, say) is ready by then.

use lightos_ir::infer::conv_geometry;
use lightos_ir::{BinaryOp, DType, Dim, Graph, Node, Op, Padding, PoolKind, Tensor, UnaryOp, ValueId};

use super::steps::{ChainStep, ConvStep, GemmStep, Kernel, NativeConfig, OwnedStage, ResidualUse};
use crate::cpu::{Activation, ChainOp, Conv2dParams, MatRef, Mode, PackedB, PackedConvWeights, PoolWindow};

/// A chosen step: the nodes it covers (the last one is where it runs), its kernel and the
/// values it reads.
pub(crate) struct Chosen {
    /// Indices of the nodes covered, in graph order.
    pub nodes: Vec<usize>,
    /// The kernel.
    pub kernel: Kernel,
    /// The values read, in the kernel's input order.
    pub inputs: Vec<Option<ValueId>>,
}

/// What the selector knows about the graph.
pub(crate) struct Selector<'a> {
    graph: &'a Graph,
    known: &'a [Option<Tensor>],
    /// For each value, the nodes reading it (a node once per operand slot).
    readers: Vec<Vec<usize>>,
    /// Whether each value is a graph output.
    is_output: Vec<bool>,
    /// Whether each node is already covered by a chosen step.
    taken: Vec<bool>,
    cfg: NativeConfig<'static>,
}

impl<'a> Selector<'a> {
    /// A selector over `graph` whose known values are `known`.
    pub(crate) fn new(graph: &'a Graph, known: &'a [Option<Tensor>], cfg: NativeConfig<'static>) -> Selector<'a> {
        let mut readers = vec![Vec::new(); graph.values().len()];
        for (i, node) in graph.nodes().iter().enumerate() {
            for v in node.operands.iter().flatten() {
                readers[v.index()].push(i);
            }
        }
        let mut is_output = vec![false; graph.values().len()];
        for p in graph.outputs() {
            is_output[p.value.index()] = true;
        }
        Selector {
            graph,
            known,
            readers,
            is_output,
            taken: vec![false; graph.nodes().len()],
            cfg,
        }
    }

    /// Chooses steps for every node not known ahead of time, in the order they run.
    pub(crate) fn choose(mut self) -> Vec<Chosen> {
        let nodes = self.graph.nodes();
        let mut chosen = Vec::new();
        for (i, node) in nodes.iter().enumerate() {
            if self.taken[i] || node.results.iter().all(|r| self.known[r.index()].is_some()) {
                continue;
            }
            let step = self
                .conv(i)
                .or_else(|| self.product(i))
                .or_else(|| self.chain(i))
                .or_else(|| self.lrn(i))
                .or_else(|| self.max_pool(i))
                .or_else(|| self.concat(i))
                .unwrap_or_else(|| Chosen {
                    nodes: vec![i],
                    kernel: Kernel::Node,
                    inputs: node.operands.clone(),
                });
            for &n in &step.nodes {
                self.taken[n] = true;
            }
            chosen.push(step);
        }
        // A fused step runs at its last node.
        chosen.sort_by_key(|c| c.nodes.last().copied().unwrap_or(0));
        chosen
    }

    fn node(&self, i: usize) -> &'a Node {
        &self.graph.nodes()[i]
    }

    /// The known `f32` tensor of value `v`.
    fn known_f32(&self, v: Option<ValueId>) -> Option<&'a Tensor> {
        self.known[v?.index()].as_ref().filter(|t| t.dtype() == DType::F32)
    }

    /// Whether `v` is an `f32` value computed at run time.
    fn runtime_f32(&self, v: ValueId) -> bool {
        self.known[v.index()].is_none() && self.graph.ty(v).dtype == DType::F32
    }

    /// The one node reading `v`, if it has exactly one reader, is free, and `v` is not
    /// a graph output.
    fn sole_reader(&self, v: ValueId) -> Option<usize> {
        match self.readers[v.index()].as_slice() {
            [r] if !self.is_output[v.index()] && !self.taken[*r] => Some(*r),
            _ => None,
        }
    }

    /// The activation node `i` computes on its operand 0, if it is one.
    fn activation(&self, i: usize) -> Option<Activation> {
        let node = self.node(i);
        match node.op {
            Op::Unary(UnaryOp::Relu) => Some(Activation::Relu),
            Op::Unary(UnaryOp::LeakyRelu { alpha }) => Some(Activation::LeakyRelu { alpha }),
            Op::Clip => {
                let bound = |k: usize| -> Option<Option<f32>> {
                    match node.operand(k) {
                        None => Some(None),
                        Some(v) => {
                            let t = self.known_f32(Some(v))?;
                            (t.len() == 1)
                                .then(|| t.as_slice::<f32>().ok().map(|s| s[0]))?
                                .map(Some)
                        }
                    }
                };
                Some(Activation::Clip {
                    min: bound(1)?,
                    max: bound(2)?,
                })
            }
            _ => None,
        }
    }

    /// Extends an anchor with result `r` by a residual add and an activation; returns the
    /// nodes taken, the residual value with its use, and the activation.
    #[allow(clippy::type_complexity)]
    fn epilogue(
        &self,
        mut r: ValueId,
        residual_input: usize,
    ) -> (Vec<usize>, Option<(ValueId, ResidualUse)>, Activation) {
        let (mut nodes, mut residual, mut act) = (Vec::new(), None, Activation::None);
        while let Some(i) = self.sole_reader(r) {
            let node = self.node(i);
            if let Some(a) = self.activation(i) {
                if act != Activation::None || node.operand(0) != Some(r) {
                    break;
                }
                act = a;
            } else if let Op::Binary(BinaryOp::Add) = node.op {
                let other = match (node.operand(0), node.operand(1)) {
                    (Some(a), Some(b)) if a == r && b != r => b,
                    (Some(a), Some(b)) if b == r && a != r => a,
                    _ => break,
                };
                let same_shape = self.graph.ty(other).shape == self.graph.ty(r).shape;
                if residual.is_some() || !self.runtime_f32(other) || !same_shape {
                    break;
                }
                let after_activation = act != Activation::None;
                residual = Some((
                    other,
                    ResidualUse {
                        input: residual_input,
                        after_activation,
                    },
                ));
            } else {
                break;
            }
            nodes.push(i);
            r = node.results[0];
            if residual.is_some() && act != Activation::None {
                break;
            }
        }
        (nodes, residual, act)
    }

    /// A convolution step anchored at node `i`.
    fn conv(&self, i: usize) -> Option<Chosen> {
        let node = self.node(i);
        let Op::Conv(c) = &node.op else { return None };
        let x = node.operand(0)?;
        let xt = self.graph.ty(x);
        if !self.runtime_f32(x) || xt.rank() != 4 || c.kernel.len() != 2 {
            return None;
        }
        let w = self.known_f32(node.operand(1))?;
        let bias = match node.operand(2) {
            Some(b) => Some(self.known_f32(Some(b))?.clone()),
            None => None,
        };
        let wd = w.dims();
        if wd.len() != 4 {
            return None;
        }
        let padding = match &c.padding {
            Padding::Explicit(p) => Padding::Explicit(p.clone()),
            other => {
                let spatial: Option<Vec<usize>> = xt.shape.dims()[2..].iter().map(Dim::fixed).collect();
                let g = conv_geometry(&spatial?, &c.kernel, &c.strides, &c.dilations, other, false).ok()?;
                Padding::Explicit([g.pad_begin, g.pad_end].concat())
            }
        };
        let template = Conv2dParams {
            batch: 1,
            in_channels: wd[1].checked_mul(c.group)?,
            in_h: 0,
            in_w: 0,
            out_channels: wd[0],
            kernel: [c.kernel[0], c.kernel[1]],
            strides: [*c.strides.first()?, *c.strides.get(1)?],
            dilations: [*c.dilations.first()?, *c.dilations.get(1)?],
            padding,
            groups: c.group,
        };
        let packed = PackedConvWeights::new(self.cfg.isa, self.cfg.mode, &template, w.as_slice().ok()?).ok()?;
        // Per-channel arithmetic right after the convolution (batch norm, scale, shift)
        // runs in its epilogue, on the rows (output channels) of each tile.
        let mut nodes = vec![i];
        let mut stages = Vec::new();
        let mut r = node.results[0];
        while let Some(j) = self.sole_reader(r) {
            match self.stage(j, r, template.out_channels) {
                Some(OwnedStage::Activation(_)) | None => break,
                Some(s) => stages.push(s),
            }
            nodes.push(j);
            r = self.node(j).results[0];
        }
        let (more, residual, activation) = self.epilogue(r, 1);
        let mut inputs = vec![Some(x)];
        inputs.extend(residual.map(|(v, _)| Some(v)));
        nodes.extend(more);
        Some(Chosen {
            nodes,
            kernel: Kernel::Conv(Box::new(ConvStep {
                template,
                weights: w.clone(),
                packed,
                bias,
                stages,
                residual: residual.map(|(_, u)| u),
                activation,
            })),
            inputs,
        })
    }

    /// A `Gemm` or `MatMul` step anchored at node `i`.
    fn product(&self, i: usize) -> Option<Chosen> {
        let node = self.node(i);
        let a = node.operand(0)?;
        if !self.runtime_f32(a) || self.graph.ty(a).rank() < 2 {
            return None;
        }
        let b = self.known_f32(node.operand(1))?;
        let bd = b.dims();
        if bd.len() != 2 {
            return None;
        }
        let b_view = MatRef::row_major(b.as_slice().ok()?, bd[0], bd[1]);
        let mut inputs = vec![Some(a)];
        let (trans_a, b_view, alpha, addend) = match &node.op {
            Op::Gemm(g) => {
                if self.graph.ty(a).rank() != 2 {
                    return None;
                }
                let addend = match node.operand(2) {
                    Some(c) if g.beta != 0.0 => {
                        if self.graph.ty(c).dtype != DType::F32 || self.graph.ty(c).rank() > 2 {
                            return None;
                        }
                        inputs.push(Some(c));
                        Some((1, g.beta))
                    }
                    _ => None,
                };
                let b_view = if g.trans_b { b_view.t() } else { b_view };
                (g.trans_a, b_view, Some(g.alpha), addend)
            }
            Op::MatMul => (false, b_view, None, None),
            _ => return None,
        };
        let packed = PackedB::new(self.cfg.isa, self.cfg.mode, b_view).ok()?;
        let mut nodes = vec![i];
        let mut r = node.results[0];
        // MatMul + the add of a constant row: a per-column bias.
        let mut col_bias = None;
        if matches!(node.op, Op::MatMul) {
            if let Some(j) = self.sole_reader(r) {
                let add = self.node(j);
                if let (Op::Binary(BinaryOp::Add), [Some(p), Some(q)]) = (&add.op, add.operands.as_slice()) {
                    let other = if *p == r { *q } else { *p };
                    let n = packed.cols();
                    let row = self.known_f32(Some(other)).filter(|t| {
                        t.len() == n && t.dims().iter().rev().skip(1).all(|&d| d == 1) && t.dims().len() <= 2
                    });
                    if let Some(row) =
                        row.filter(|_| p != q && self.graph.ty(add.results[0]).shape == self.graph.ty(r).shape)
                    {
                        col_bias = Some(row.clone());
                        nodes.push(j);
                        r = add.results[0];
                    }
                }
            }
        }
        let (more, residual, activation) = self.epilogue(r, inputs.len());
        nodes.extend(more);
        inputs.extend(residual.map(|(v, _)| Some(v)));
        Some(Chosen {
            nodes,
            kernel: Kernel::Gemm(Box::new(GemmStep {
                trans_a,
                b: packed,
                alpha,
                addend,
                col_bias,
                residual: residual.map(|(_, u)| u),
                activation,
            })),
            inputs,
        })
    }

    /// The stage node `i` applies to `x`, when it is a per-channel elementwise op on it.
    fn stage(&self, i: usize, x: ValueId, channels: usize) -> Option<OwnedStage> {
        let node = self.node(i);
        if node.operand(0) == Some(x) {
            if let Some(a) = self.activation(i) {
                return Some(OwnedStage::Activation(a));
            }
        }
        let xt = self.graph.ty(x);
        match &node.op {
            Op::BatchNorm(n) if node.operand(0) == Some(x) => {
                let param = |k: usize| -> Option<Vec<f32>> {
                    let t = self.known_f32(node.operand(k))?;
                    (t.dims() == [channels]).then(|| t.as_slice::<f32>().ok().map(<[f32]>::to_vec))?
                };
                let (scale, bias, mean, var) = (param(1)?, param(2)?, param(3)?, param(4)?);
                let inv = var.iter().map(|&v| 1.0f32 / (v + n.epsilon).sqrt()).collect();
                Some(OwnedStage::BatchNorm { mean, inv, scale, bias })
            }
            Op::Binary(op) => {
                let op = match op {
                    BinaryOp::Add => ChainOp::Add,
                    BinaryOp::Sub => ChainOp::Sub,
                    BinaryOp::Mul => ChainOp::Mul,
                    BinaryOp::Div => ChainOp::Div,
                    _ => return None,
                };
                let (value_first, other) = match (node.operand(0), node.operand(1)) {
                    (Some(a), Some(b)) if a == x && b != x => (false, b),
                    (Some(a), Some(b)) if b == x && a != x => (true, a),
                    _ => return None,
                };
                if self.graph.ty(node.results[0]).shape != xt.shape {
                    return None;
                }
                let values = per_channel(self.known_f32(Some(other))?, xt.rank(), channels)?;
                Some(OwnedStage::Binary {
                    op,
                    values,
                    value_first,
                })
            }
            _ => None,
        }
    }

    /// A per-channel chain starting at node `i`.
    fn chain(&self, i: usize) -> Option<Chosen> {
        let node = self.node(i);
        let x = node.operands.iter().flatten().copied().find(|&v| self.runtime_f32(v))?;
        let xt = self.graph.ty(x);
        if xt.rank() < 2 {
            return None;
        }
        let channels = xt.shape.dims()[1].fixed()?;
        let mut stages = vec![self.stage(i, x, channels)?];
        let mut nodes = vec![i];
        let mut r = node.results[0];
        while let Some(j) = self.sole_reader(r) {
            match self.stage(j, r, channels) {
                Some(s) => stages.push(s),
                None => break,
            }
            nodes.push(j);
            r = self.node(j).results[0];
        }
        Some(Chosen {
            nodes,
            kernel: Kernel::Chain(Box::new(ChainStep { stages })),
            inputs: vec![Some(x)],
        })
    }

    /// Fast-mode LRN at node `i`.
    fn lrn(&self, i: usize) -> Option<Chosen> {
        let node = self.node(i);
        let Op::Lrn(l) = &node.op else { return None };
        let x = node.operand(0)?;
        if self.cfg.mode != Mode::Fast || !self.runtime_f32(x) || self.graph.ty(x).rank() < 2 {
            return None;
        }
        Some(Chosen {
            nodes: vec![i],
            kernel: Kernel::Lrn(*l),
            inputs: vec![Some(x)],
        })
    }
}

impl Selector<'_> {
    /// `Concat` at node `i`, when every operand is an `f32` value computed at run time.
    fn concat(&self, i: usize) -> Option<Chosen> {
        let node = self.node(i);
        let Op::Concat(a) = &node.op else { return None };
        let all_runtime = node.operands.iter().all(|o| o.is_some_and(|v| self.runtime_f32(v)));
        (all_runtime && !node.operands.is_empty()).then(|| Chosen {
            nodes: vec![i],
            kernel: Kernel::Concat(a.axis),
            inputs: node.operands.clone(),
        })
    }

    /// 2-d max pooling at node `i`, when the input's spatial sizes are fixed.
    fn max_pool(&self, i: usize) -> Option<Chosen> {
        let node = self.node(i);
        let Op::Pool(p) = &node.op else { return None };
        let x = node.operand(0)?;
        let xt = self.graph.ty(x);
        if p.kind != PoolKind::Max || !self.runtime_f32(x) || xt.rank() != 4 || p.kernel.len() != 2 {
            return None;
        }
        let spatial: Vec<usize> = xt.shape.dims()[2..].iter().map(Dim::fixed).collect::<Option<_>>()?;
        let or_ones = |v: &[usize]| if v.is_empty() { vec![1, 1] } else { v.to_vec() };
        let (strides, dilations) = (or_ones(&p.strides), or_ones(&p.dilations));
        let g = conv_geometry(&spatial, &p.kernel, &strides, &dilations, &p.padding, p.ceil_mode).ok()?;
        let win = PoolWindow {
            kernel: [p.kernel[0], p.kernel[1]],
            strides: [*strides.first()?, *strides.get(1)?],
            dilations: [*dilations.first()?, *dilations.get(1)?],
            pad_begin: [*g.pad_begin.first()?, *g.pad_begin.get(1)?],
            output: [*g.output.first()?, *g.output.get(1)?],
        };
        Some(Chosen {
            nodes: vec![i],
            kernel: Kernel::MaxPool(win),
            inputs: vec![Some(x)],
        })
    }
}

/// The values of `t` as one per channel (axis 1 of a rank-`rank` operand), or as one
/// value for all, when `t` broadcasts that way without enlarging the operand.
fn per_channel(t: &Tensor, rank: usize, channels: usize) -> Option<Vec<f32>> {
    let d = t.dims();
    if d.len() > rank {
        return None;
    }
    let values = t.as_slice::<f32>().ok()?;
    if values.len() == 1 {
        return Some(values.to_vec());
    }
    // Right-aligned, axis 1 of the operand is entry `1 - (rank - d.len())` of `d`.
    let axis = 1usize.checked_sub(rank - d.len())?;
    let fits = d
        .iter()
        .enumerate()
        .all(|(k, &n)| if k == axis { n == channels } else { n == 1 });
    fits.then(|| values.to_vec())
}
