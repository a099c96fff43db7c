//! Choosing the steps of the CPU backend: which kernel runs each node.
//!
//! Fusion is decided at compile time (the fusion pass makes `Op::Fused` nodes), so every
//! step here covers exactly one node:
//!
//! - `Fused` with a convolution anchor (2-d, `f32`, constant weights and bias) or a
//!   product anchor (`Gemm` or `MatMul`, `f32`, constant 2-d B): the anchor's native
//!   kernel, with the longest front of the program its epilogue computes (for a
//!   convolution, per-channel arithmetic by constants; for a product, the add of a
//!   constant row; then a residual add of an `f32` value of the result's shape and an
//!   activation, `Relu`, `LeakyRelu` or `Clip` with constant bounds, in either order),
//!   and the rest of the program on the elementwise program kernel, in place;
//! - `Fused` without an anchor, and single `f32` elementwise nodes (unary, binary,
//!   `Clip` with constant bounds): the elementwise program kernel, when every shape is
//!   fixed;
//! - `Conv`, `Gemm`, `MatMul` alone: the native kernels with packed constant operands;
//! - `BatchNormalization` with constant parameters, per-channel `Add`, `Sub`, `Mul`,
//!   `Div` by a constant and activations over a value of rank 2 or more: a one-stage
//!   per-channel chain;
//! - `MaxPool` and `AveragePool` over 2 spatial axes (fixed spatial sizes);
//! - `GlobalAveragePool` of `f32` values of fixed shapes;
//! - `Concat` of `f32` values computed at run time (into the arena);
//! - `LRN` in fast mode;
//! - `Attention` on rank-4 `f32` `Q`, `K`, `V` of fixed shapes, with an optional `f32`
//!   or bool mask, causal or not, and no cache, padding lengths, soft cap or window, its
//!   softmax in `f32`: the attention kernel (the reference's bits in both modes).
//!
//! Anything else (other dtypes, symbolic shapes where a kernel needs fixed ones, an op
//! with no native kernel) runs on the backend as a node, which is always correct.

use lightos_ir::infer::conv_geometry;
use lightos_ir::{
    BinaryOp, DType, Dim, FusedAnchor, FusedAttrs, FusedInstr, FusedSrc, Graph, Node, Op, Padding, PoolKind, Tensor,
    UnaryOp, ValueId,
};

use super::steps::{ChainStep, ConvStep, ElementwiseStep, GemmStep, Kernel, NativeConfig, OwnedStage, ResidualUse};
use crate::cpu::{
    Activation, ChainOp, Conv2dParams, MatRef, Mode, PackedB, PackedConvWeights, PoolWindow, ProgInstr, ProgSrc,
};
use crate::reference::{binary_f32, is_f32_unary};

/// A chosen step: the nodes it covers (one; the last is where it runs), its kernel and
/// the values it reads.
pub(crate) struct Chosen {
    /// Indices of the nodes covered, in graph order.
    pub nodes: Vec<usize>,
    /// The kernel.
    pub kernel: Kernel,
    /// The values read, in the kernel's input order.
    pub inputs: Vec<Option<ValueId>>,
}

/// The values a step reads, each once, in the order first asked for.
#[derive(Default)]
struct Inputs(Vec<Option<ValueId>>);

impl Inputs {
    /// The step input holding `v`, added if new.
    fn index(&mut self, v: ValueId) -> usize {
        match self.0.iter().position(|&x| x == Some(v)) {
            Some(p) => p,
            None => {
                self.0.push(Some(v));
                self.0.len() - 1
            }
        }
    }
}

/// What the anchor of a fused node is, for matching its epilogue.
#[derive(Copy, Clone)]
enum AnchorKind {
    /// A convolution with this many output channels.
    Conv {
        /// Output channels.
        channels: usize,
    },
    /// A matrix product with this many columns.
    Product {
        /// Columns (N).
        cols: usize,
    },
}

/// What the front of a fused program folds into its anchor's epilogue.
#[derive(Clone, Default)]
struct Front {
    /// Per-channel stages (convolution).
    stages: Vec<OwnedStage>,
    /// A constant row added to every row (product).
    col_bias: Option<Tensor>,
    /// The residual value, and whether it is added after the activation.
    residual: Option<(ValueId, bool)>,
    /// The activation.
    activation: Activation,
}

/// What the selector knows about the graph.
pub(crate) struct Selector<'a> {
    graph: &'a Graph,
    known: &'a [Option<Tensor>],
    cfg: NativeConfig<'static>,
}

impl<'a> Selector<'a> {
    /// A selector over `graph` whose known values are `known`.
    pub(crate) fn new(graph: &'a Graph, known: &'a [Option<Tensor>], cfg: NativeConfig<'static>) -> Selector<'a> {
        Selector { graph, known, cfg }
    }

    /// Chooses a step for every node not known ahead of time, in graph order.
    pub(crate) fn choose(self) -> Vec<Chosen> {
        let nodes = self.graph.nodes();
        let mut chosen = Vec::new();
        for (i, node) in nodes.iter().enumerate() {
            if node.results.iter().all(|r| self.known[r.index()].is_some()) {
                continue;
            }
            let step = self
                .fused(i)
                .or_else(|| self.conv(i))
                .or_else(|| self.product(i))
                .or_else(|| self.chain(i))
                .or_else(|| self.elementwise(i))
                .or_else(|| self.lrn(i))
                .or_else(|| self.max_pool(i))
                .or_else(|| self.global_avg_pool(i))
                .or_else(|| self.concat(i))
                .or_else(|| self.attention(i))
                .unwrap_or_else(|| Chosen {
                    nodes: vec![i],
                    kernel: Kernel::Node,
                    inputs: node.operands.clone(),
                });
            chosen.push(step);
        }
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

    /// The fixed dims of `v`, when it is `f32` and its shape is fixed.
    fn fixed_f32(&self, v: ValueId) -> Option<Vec<usize>> {
        let ty = self.graph.ty(v);
        (ty.dtype == DType::F32).then(|| ty.shape.as_fixed())?
    }

    /// The single known `f32` element of an optional operand slot `k` of `node` (a
    /// scalar bound): `Some(None)` when the slot is empty.
    fn scalar_operand(&self, node: &Node, k: Option<usize>) -> Option<Option<f32>> {
        let Some(k) = k else { return Some(None) };
        let t = self.known_f32(Some(node.operand(k)?))?;
        (t.len() == 1)
            .then(|| t.as_slice::<f32>().ok().map(|s| s[0]))?
            .map(Some)
    }

    /// The activation node `i` computes on its operand 0, if it is one.
    fn activation(&self, i: usize) -> Option<Activation> {
        let node = self.node(i);
        match node.op {
            Op::Unary(UnaryOp::Relu) => Some(Activation::Relu),
            Op::Unary(UnaryOp::LeakyRelu { alpha }) => Some(Activation::LeakyRelu { alpha }),
            Op::Clip => Some(Activation::Clip {
                min: self.scalar_operand(node, node.operand(1).map(|_| 1))?,
                max: self.scalar_operand(node, node.operand(2).map(|_| 2))?,
            }),
            _ => None,
        }
    }

    /// The convolution of `node` (operands `X, W, B?`), with an empty epilogue.
    fn conv_anchor(&self, node: &Node, c: &lightos_ir::ConvAttrs) -> Option<ConvStep> {
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
        // Where the input's spatial size is fixed, the packing sees it: the Winograd tile
        // size is chosen for it.
        let sized = match xt.shape.dims()[2..]
            .iter()
            .map(Dim::fixed)
            .collect::<Option<Vec<usize>>>()
        {
            Some(hw) if hw.len() == 2 => Conv2dParams {
                in_h: hw[0],
                in_w: hw[1],
                ..template.clone()
            },
            _ => template.clone(),
        };
        let packed = PackedConvWeights::new(self.cfg.isa, self.cfg.mode, &sized, w.as_slice().ok()?).ok()?;
        Some(ConvStep {
            template,
            weights: w.clone(),
            packed,
            bias,
            stages: Vec::new(),
            residual: None,
            activation: Activation::None,
            tail: None,
        })
    }

    /// The fixed dims of a convolution's result on the fixed input `x`.
    fn conv_dims(&self, step: &ConvStep, x: ValueId) -> Option<Vec<usize>> {
        let xd = self.fixed_f32(x)?;
        let p = Conv2dParams {
            batch: *xd.first()?,
            in_channels: *xd.get(1)?,
            in_h: *xd.get(2)?,
            in_w: *xd.get(3)?,
            ..step.template.clone()
        };
        Some(p.output_dims().ok()?.to_vec())
    }

    /// The product of `node` (`Gemm`: `A, B, C?`; `MatMul`: `A, B`) with an empty
    /// epilogue; its inputs are `[a, c?]`.
    fn product_anchor(&self, node: &Node, anchor: &FusedAnchor, inputs: &mut Inputs) -> Option<GemmStep> {
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
        inputs.index(a);
        let (trans_a, b_view, alpha, addend) = match anchor {
            FusedAnchor::Gemm(g) => {
                if self.graph.ty(a).rank() != 2 {
                    return None;
                }
                let addend = match node.operand(2) {
                    Some(c) if g.beta != 0.0 => {
                        if self.graph.ty(c).dtype != DType::F32 || self.graph.ty(c).rank() > 2 {
                            return None;
                        }
                        Some((inputs.index(c), g.beta))
                    }
                    _ => None,
                };
                let b_view = if g.trans_b { b_view.t() } else { b_view };
                (g.trans_a, b_view, Some(g.alpha), addend)
            }
            FusedAnchor::MatMul => (false, b_view, None, None),
            FusedAnchor::Conv(_) => return None,
        };
        let packed = PackedB::new(self.cfg.isa, self.cfg.mode, b_view).ok()?;
        Some(GemmStep {
            trans_a,
            b: packed,
            alpha,
            addend,
            col_bias: None,
            residual: None,
            activation: Activation::None,
            tail: None,
        })
    }

    /// The fixed dims of a product's result on the fixed input `a`.
    fn product_dims(&self, step: &GemmStep, a: ValueId) -> Option<Vec<usize>> {
        let mut d = self.fixed_f32(a)?;
        let n = step.b.cols();
        if step.trans_a {
            d = vec![*d.get(1)?, n];
        } else {
            *d.last_mut()? = n;
        }
        Some(d)
    }

    /// A `Conv` node alone.
    fn conv(&self, i: usize) -> Option<Chosen> {
        let node = self.node(i);
        let Op::Conv(c) = &node.op else { return None };
        let step = self.conv_anchor(node, c)?;
        Some(Chosen {
            nodes: vec![i],
            kernel: Kernel::Conv(Box::new(step)),
            inputs: vec![node.operand(0)],
        })
    }

    /// A `Gemm` or `MatMul` node alone.
    fn product(&self, i: usize) -> Option<Chosen> {
        let node = self.node(i);
        let anchor = match &node.op {
            Op::Gemm(_) | Op::MatMul => FusedAnchor::of(&node.op)?,
            _ => return None,
        };
        let mut inputs = Inputs::default();
        let step = self.product_anchor(node, &anchor, &mut inputs)?;
        Some(Chosen {
            nodes: vec![i],
            kernel: Kernel::Gemm(Box::new(step)),
            inputs: inputs.0,
        })
    }

    /// A fused node: its anchor's kernel with the front of its program in the epilogue
    /// and the rest on the elementwise program kernel, or, without an anchor, the
    /// elementwise program kernel.
    fn fused(&self, i: usize) -> Option<Chosen> {
        let node = self.node(i);
        let Op::Fused(f) = &node.op else { return None };
        let f: &FusedAttrs = f;
        f.check_sources(node.operands.len()).ok()?;
        let [r] = node.results[..] else { return None };
        if self.graph.ty(r).dtype != DType::F32 {
            return None;
        }
        let mut inputs = Inputs::default();
        let Some(anchor) = &f.anchor else {
            let dims = self.fixed_f32(r)?;
            let program = self.program(node, &f.program, 0, false, &dims, &mut inputs)?;
            return Some(Chosen {
                nodes: vec![i],
                kernel: Kernel::Elementwise(Box::new(ElementwiseStep { program, dims })),
                inputs: inputs.0,
            });
        };
        let x = node.operand(0)?;
        let (mut conv, mut gemm, kind, anchor_dims) = match anchor {
            FusedAnchor::Conv(c) => {
                let step = self.conv_anchor(node, c)?;
                inputs.index(x);
                let dims = if f.program.is_empty() {
                    None
                } else {
                    Some(self.conv_dims(&step, x)?)
                };
                let kind = AnchorKind::Conv {
                    channels: step.template.out_channels,
                };
                (Some(step), None, kind, dims)
            }
            FusedAnchor::Gemm(_) | FusedAnchor::MatMul => {
                let step = self.product_anchor(node, anchor, &mut inputs)?;
                let dims = if f.program.is_empty() {
                    None
                } else {
                    Some(self.product_dims(&step, x)?)
                };
                let kind = AnchorKind::Product { cols: step.b.cols() };
                (None, Some(step), kind, dims)
            }
        };
        let (front, tail) = match anchor_dims {
            None => (Front::default(), None),
            Some(dims) => {
                // The anchor's result is the fused result's shape: the program only reads
                // values that broadcast to it.
                if self.fixed_f32(r)? != dims {
                    return None;
                }
                let fronts = self.fronts(node, &f.program, kind, &dims);
                // The longest front whose values the rest of the program does not need
                // (the rest reads only the front's result, as `Prior`).
                let p = (0..fronts.len())
                    .rev()
                    .find(|&p| p == 0 || rest_reads_only_last(&f.program, p))?;
                let tail = if p == f.program.len() {
                    None
                } else {
                    let program = self.program(node, &f.program[p..], p, true, &dims, &mut inputs)?;
                    Some(ElementwiseStep { program, dims })
                };
                (fronts[p].clone(), tail)
            }
        };
        let residual = front.residual.map(|(v, after_activation)| ResidualUse {
            input: inputs.index(v),
            after_activation,
        });
        let kernel = if let Some(mut step) = conv.take() {
            step.stages = front.stages;
            step.residual = residual;
            step.activation = front.activation;
            step.tail = tail;
            Kernel::Conv(Box::new(step))
        } else {
            let mut step = gemm.take()?;
            step.col_bias = front.col_bias;
            step.residual = residual;
            step.activation = front.activation;
            step.tail = tail;
            Kernel::Gemm(Box::new(step))
        };
        Some(Chosen {
            nodes: vec![i],
            kernel,
            inputs: inputs.0,
        })
    }

    /// The epilogues of the program's fronts: entry `p` computes instructions `..p`
    /// (entry 0 is the empty epilogue), as far as the anchor's epilogue can.
    fn fronts(&self, node: &Node, program: &[FusedInstr], kind: AnchorKind, dims: &[usize]) -> Vec<Front> {
        let mut fronts = vec![Front::default()];
        for (i, instr) in program.iter().enumerate() {
            let cur = if i == 0 {
                FusedSrc::Anchor
            } else {
                FusedSrc::Temp(i - 1)
            };
            let mut f = fronts[i].clone();
            if self.extend(node, instr, cur, kind, dims, &mut f).is_none() {
                break;
            }
            let done = f.residual.is_some() && f.activation != Activation::None;
            fronts.push(f);
            if done {
                break;
            }
        }
        fronts
    }

    /// Adds `instr`, which must read the front's result `cur`, to the epilogue `f`.
    fn extend(
        &self,
        node: &Node,
        instr: &FusedInstr,
        cur: FusedSrc,
        kind: AnchorKind,
        dims: &[usize],
        f: &mut Front,
    ) -> Option<()> {
        let plain = f.residual.is_none() && f.activation == Activation::None;
        match *instr {
            FusedInstr::Unary { op, x } if x == cur && f.activation == Activation::None => {
                f.activation = match op {
                    UnaryOp::Relu => Activation::Relu,
                    UnaryOp::LeakyRelu { alpha } => Activation::LeakyRelu { alpha },
                    _ => return None,
                };
            }
            FusedInstr::Clip { x, min, max } if x == cur && f.activation == Activation::None => {
                let bound = |s: Option<FusedSrc>| match s {
                    None => Some(None),
                    Some(FusedSrc::Operand(k)) => self.scalar_operand(node, Some(k)),
                    Some(_) => None,
                };
                f.activation = Activation::Clip {
                    min: bound(min)?,
                    max: bound(max)?,
                };
            }
            FusedInstr::Binary { op, a, b } => {
                let (value_first, k) = match (a, b) {
                    (x, FusedSrc::Operand(k)) if x == cur => (false, k),
                    (FusedSrc::Operand(k), x) if x == cur => (true, k),
                    _ => return None,
                };
                let v = node.operand(k)?;
                let chain_op = match op {
                    BinaryOp::Add => Some(ChainOp::Add),
                    BinaryOp::Sub => Some(ChainOp::Sub),
                    BinaryOp::Mul => Some(ChainOp::Mul),
                    BinaryOp::Div => Some(ChainOp::Div),
                    _ => None,
                };
                let known = self.known_f32(Some(v));
                match (kind, chain_op) {
                    (AnchorKind::Conv { channels }, Some(op)) if plain && f.stages.len() < 64 => {
                        if let Some(values) = known.and_then(|t| per_channel(t, 4, channels)) {
                            f.stages.push(OwnedStage::Binary {
                                op,
                                values,
                                value_first,
                            });
                            return Some(());
                        }
                    }
                    (AnchorKind::Product { cols }, Some(ChainOp::Add)) if plain && f.col_bias.is_none() => {
                        let row = known.filter(|t| {
                            t.len() == cols && t.dims().len() <= 2 && t.dims().iter().rev().skip(1).all(|&d| d == 1)
                        });
                        if let Some(row) = row {
                            f.col_bias = Some(row.clone());
                            return Some(());
                        }
                    }
                    _ => {}
                }
                if op != BinaryOp::Add || f.residual.is_some() || self.fixed_f32(v)? != dims {
                    return None;
                }
                f.residual = Some((v, f.activation != Activation::None));
            }
            _ => return None,
        }
        Some(())
    }

    /// Translates `instrs`, instructions `first..` of `node`'s program, for the
    /// elementwise program kernel over a result of `dims`: with `prior`, the anchor (when
    /// `first` is 0) or the front's result `t<first - 1>` is `ProgSrc::Prior`; operands
    /// become step inputs. `None` unless every value read is `f32` with a fixed shape,
    /// every op has an `f32` function, clip bounds are constant scalars, and every
    /// instruction's reference result broadcasts to `dims` (the last one is `dims`), so
    /// computing each at `dims` gives the reference's elements.
    fn program(
        &self,
        node: &Node,
        instrs: &[FusedInstr],
        first: usize,
        prior: bool,
        dims: &[usize],
        inputs: &mut Inputs,
    ) -> Option<Vec<ProgInstr>> {
        let mut shapes: Vec<Vec<usize>> = Vec::new();
        let mut out = Vec::new();
        for instr in instrs {
            let mut src = |s: FusedSrc| -> Option<(ProgSrc, Vec<usize>)> {
                match s {
                    FusedSrc::Anchor if prior && first == 0 => Some((ProgSrc::Prior, dims.to_vec())),
                    FusedSrc::Temp(t) if prior && t + 1 == first => Some((ProgSrc::Prior, dims.to_vec())),
                    FusedSrc::Temp(t) if t >= first => Some((ProgSrc::Temp(t - first), shapes.get(t - first)?.clone())),
                    FusedSrc::Operand(k) => {
                        let v = node.operand(k)?;
                        let d = self.fixed_f32(v)?;
                        Some((ProgSrc::Input(inputs.index(v)), d))
                    }
                    _ => None,
                }
            };
            let (p, shape) = match *instr {
                FusedInstr::Unary { op, x } => {
                    let (x, shape) = src(x)?;
                    is_f32_unary(op).then_some((ProgInstr::Unary { op, x }, shape))?
                }
                FusedInstr::Binary { op, a, b } => {
                    let ((a, sa), (b, sb)) = (src(a)?, src(b)?);
                    binary_f32(op)?;
                    let shape = broadcast(&sa, &sb)?;
                    if op == BinaryOp::PRelu && shape != sa {
                        return None;
                    }
                    (ProgInstr::Binary { op, a, b }, shape)
                }
                FusedInstr::Clip { x, min, max } => {
                    let (x, shape) = src(x)?;
                    let bound = |s: Option<FusedSrc>| match s {
                        None => Some(None),
                        Some(FusedSrc::Operand(k)) => self.scalar_operand(node, Some(k)),
                        Some(_) => None,
                    };
                    (
                        ProgInstr::Clip {
                            x,
                            min: bound(min)?,
                            max: bound(max)?,
                        },
                        shape,
                    )
                }
            };
            if broadcast(&shape, dims)? != dims {
                return None;
            }
            shapes.push(shape);
            out.push(p);
        }
        (shapes.last()? == dims).then_some(out)
    }

    /// A single elementwise node (unary, binary, `Clip`) on `f32` values of fixed
    /// shapes, as a one-instruction program.
    fn elementwise(&self, i: usize) -> Option<Chosen> {
        let node = self.node(i);
        let slot = |k: usize| node.operand(k).map(|_| FusedSrc::Operand(k));
        let instr = match node.op {
            Op::Unary(op) => FusedInstr::Unary {
                op,
                x: FusedSrc::Operand(0),
            },
            Op::Binary(op) => FusedInstr::Binary {
                op,
                a: FusedSrc::Operand(0),
                b: FusedSrc::Operand(1),
            },
            Op::Clip => FusedInstr::Clip {
                x: FusedSrc::Operand(0),
                min: slot(1),
                max: slot(2),
            },
            _ => return None,
        };
        let [r] = node.results[..] else { return None };
        let dims = self.fixed_f32(r)?;
        let mut inputs = Inputs::default();
        let program = self.program(node, &[instr], 0, false, &dims, &mut inputs)?;
        Some(Chosen {
            nodes: vec![i],
            kernel: Kernel::Elementwise(Box::new(ElementwiseStep { program, dims })),
            inputs: inputs.0,
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

    /// Node `i` as a one-stage per-channel chain.
    fn chain(&self, i: usize) -> Option<Chosen> {
        let node = self.node(i);
        let x = node.operands.iter().flatten().copied().find(|&v| self.runtime_f32(v))?;
        let xt = self.graph.ty(x);
        if xt.rank() < 2 {
            return None;
        }
        let channels = xt.shape.dims()[1].fixed()?;
        let stages = vec![self.stage(i, x, channels)?];
        Some(Chosen {
            nodes: vec![i],
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

    /// `Attention` at node `i`, in the forms the native kernel covers (see the module
    /// docs); its inputs are `[q, k, v, mask?]`.
    fn attention(&self, i: usize) -> Option<Chosen> {
        let node = self.node(i);
        let Op::Attention(a) = &node.op else { return None };
        let capped = a.softcap > 0.0;
        let plain = !capped
            && a.left_window.is_none()
            && a.right_window.is_none()
            && matches!(a.softmax_precision, None | Some(DType::F32));
        if !plain || node.results.len() != 4 || (4..node.operands.len()).any(|k| node.operand(k).is_some()) {
            return None;
        }
        let rank4 = |k: usize| -> Option<[usize; 4]> { self.fixed_f32(node.operand(k)?)?.try_into().ok() };
        let ([b, hq, sq, hd], [kb, hkv, skv, khd], [vb, vh, vs, _]) = (rank4(0)?, rank4(1)?, rank4(2)?);
        if [kb, vb, vh, vs, khd] != [b, b, hkv, skv, hd] || hkv == 0 || hq % hkv != 0 {
            return None;
        }
        if let Some(m) = node.operand(3) {
            let ty = self.graph.ty(m);
            let dims = ty.shape.as_fixed()?;
            let fits = matches!(ty.dtype, DType::F32 | DType::Bool)
                && (1..=4).contains(&dims.len())
                && dims[dims.len() - 1] <= skv
                && dims[..dims.len() - 1]
                    .iter()
                    .rev()
                    .zip([sq, hq, b])
                    .all(|(&d, t)| d == 1 || d == t);
            if !fits {
                return None;
            }
        }
        Some(Chosen {
            nodes: vec![i],
            kernel: Kernel::Attention(Box::new(*a)),
            inputs: node.operands.iter().take(4).copied().collect(),
        })
    }

    /// 2-d max pooling at node `i`, when the input's spatial sizes are fixed.
    fn max_pool(&self, i: usize) -> Option<Chosen> {
        let node = self.node(i);
        let Op::Pool(p) = &node.op else { return None };
        let x = node.operand(0)?;
        let xt = self.graph.ty(x);
        if matches!(p.kind, PoolKind::Lp { .. }) || !self.runtime_f32(x) || xt.rank() != 4 || p.kernel.len() != 2 {
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
            pad_end: [*g.pad_end.first()?, *g.pad_end.get(1)?],
            output: [*g.output.first()?, *g.output.get(1)?],
        };
        let kernel = match p.kind {
            PoolKind::Average { count_include_pad } => Kernel::AvgPool(win, count_include_pad),
            _ => Kernel::MaxPool(win),
        };
        Some(Chosen {
            nodes: vec![i],
            kernel,
            inputs: vec![Some(x)],
        })
    }

    /// Global average pooling at node `i`, of an `f32` value of rank 3 or more with a
    /// fixed shape.
    fn global_avg_pool(&self, i: usize) -> Option<Chosen> {
        let node = self.node(i);
        let Op::GlobalPool(PoolKind::Average { .. }) = node.op else {
            return None;
        };
        let x = node.operand(0)?;
        let dims = self.fixed_f32(x)?;
        (self.runtime_f32(x) && dims.len() >= 3).then(|| Chosen {
            nodes: vec![i],
            kernel: Kernel::GlobalAvgPool,
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

/// Whether instructions `p..` of `program` read nothing of the front `..p` but its result
/// `t<p - 1>`.
fn rest_reads_only_last(program: &[FusedInstr], p: usize) -> bool {
    program[p..].iter().all(|instr| {
        instr.sources().iter().all(|s| match *s {
            FusedSrc::Anchor => false,
            FusedSrc::Temp(t) => t + 1 >= p,
            FusedSrc::Operand(_) => true,
        })
    })
}

/// The NumPy broadcast of two shapes.
fn broadcast(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let rank = a.len().max(b.len());
    let at = |d: &[usize], i: usize| if i + d.len() >= rank { d[i + d.len() - rank] } else { 1 };
    (0..rank)
        .map(|i| match (at(a, i), at(b, i)) {
            (x, y) if x == y => Some(x),
            (1, y) => Some(y),
            (x, 1) => Some(x),
            _ => None,
        })
        .collect()
}
