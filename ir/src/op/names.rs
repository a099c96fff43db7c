//! Op names and attributes as the text format spells them.
//!
//! [`encode`] turns an op into its name and an ordered attribute list; [`decode`] is its
//! inverse. Attribute order is fixed per op, which keeps the text canonical.

use super::*;
use crate::dtype::DType;
use crate::tensor::Tensor;

mod attention;
mod quant;
mod vision;

/// An attribute value in the text format.
#[derive(Clone, Debug, PartialEq)]
pub enum AttrValue {
    /// An integer.
    Int(i64),
    /// A float.
    Float(f32),
    /// A boolean.
    Bool(bool),
    /// A list of integers.
    Ints(Vec<i64>),
    /// A keyword, such as a dtype or a padding mode.
    Ident(String),
    /// A small tensor.
    Tensor(Tensor),
    /// A quoted string, such as a fused kernel's program.
    Str(String),
}

/// Attributes as an ordered list of names and values.
pub type AttrList = Vec<(&'static str, AttrValue)>;

const UNARY_PLAIN: &[(&str, UnaryOp)] = &[
    ("abs", UnaryOp::Abs),
    ("neg", UnaryOp::Neg),
    ("exp", UnaryOp::Exp),
    ("log", UnaryOp::Log),
    ("sqrt", UnaryOp::Sqrt),
    ("reciprocal", UnaryOp::Reciprocal),
    ("floor", UnaryOp::Floor),
    ("ceil", UnaryOp::Ceil),
    ("round", UnaryOp::Round),
    ("sign", UnaryOp::Sign),
    ("relu", UnaryOp::Relu),
    ("sigmoid", UnaryOp::Sigmoid),
    ("tanh", UnaryOp::Tanh),
    ("sin", UnaryOp::Sin),
    ("cos", UnaryOp::Cos),
    ("tan", UnaryOp::Tan),
    ("asin", UnaryOp::Asin),
    ("acos", UnaryOp::Acos),
    ("atan", UnaryOp::Atan),
    ("sinh", UnaryOp::Sinh),
    ("cosh", UnaryOp::Cosh),
    ("asinh", UnaryOp::Asinh),
    ("acosh", UnaryOp::Acosh),
    ("atanh", UnaryOp::Atanh),
    ("erf", UnaryOp::Erf),
    ("not", UnaryOp::Not),
    ("bitwise_not", UnaryOp::BitwiseNot),
    ("softplus", UnaryOp::Softplus),
    ("softsign", UnaryOp::Softsign),
    ("is_nan", UnaryOp::IsNaN),
    ("hard_swish", UnaryOp::HardSwish),
    ("mish", UnaryOp::Mish),
];

const BINARY: &[(&str, BinaryOp)] = &[
    ("add", BinaryOp::Add),
    ("sub", BinaryOp::Sub),
    ("mul", BinaryOp::Mul),
    ("div", BinaryOp::Div),
    ("pow", BinaryOp::Pow),
    ("max", BinaryOp::Max),
    ("min", BinaryOp::Min),
    ("mod", BinaryOp::Mod { fmod: false }),
    ("fmod", BinaryOp::Mod { fmod: true }),
    ("and", BinaryOp::And),
    ("or", BinaryOp::Or),
    ("xor", BinaryOp::Xor),
    ("equal", BinaryOp::Equal),
    ("less", BinaryOp::Less),
    ("less_equal", BinaryOp::LessOrEqual),
    ("greater", BinaryOp::Greater),
    ("greater_equal", BinaryOp::GreaterOrEqual),
    ("shift_left", BinaryOp::ShiftLeft),
    ("shift_right", BinaryOp::ShiftRight),
    ("bitwise_and", BinaryOp::BitwiseAnd),
    ("bitwise_or", BinaryOp::BitwiseOr),
    ("bitwise_xor", BinaryOp::BitwiseXor),
    ("prelu", BinaryOp::PRelu),
];

const REDUCE: &[(&str, ReduceKind)] = &[
    ("reduce_sum", ReduceKind::Sum),
    ("reduce_mean", ReduceKind::Mean),
    ("reduce_max", ReduceKind::Max),
    ("reduce_min", ReduceKind::Min),
    ("reduce_prod", ReduceKind::Prod),
    ("reduce_l1", ReduceKind::L1),
    ("reduce_l2", ReduceKind::L2),
    ("reduce_log_sum", ReduceKind::LogSum),
    ("reduce_log_sum_exp", ReduceKind::LogSumExp),
    ("reduce_sum_square", ReduceKind::SumSquare),
];

const SOFTMAX: &[(&str, SoftmaxKind)] = &[
    ("softmax", SoftmaxKind::Softmax),
    ("log_softmax", SoftmaxKind::LogSoftmax),
    ("hardmax", SoftmaxKind::Hardmax),
];

const PAD_MODES: &[(&str, PadMode)] = &[
    ("constant", PadMode::Constant),
    ("reflect", PadMode::Reflect),
    ("edge", PadMode::Edge),
    ("wrap", PadMode::Wrap),
];

fn name_of<T: PartialEq + Copy>(table: &[(&'static str, T)], v: T) -> Option<&'static str> {
    table.iter().find(|(_, x)| *x == v).map(|(n, _)| *n)
}

fn value_of<T: Copy>(table: &[(&'static str, T)], name: &str) -> Option<T> {
    table.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
}

pub(super) fn op_name(op: &Op) -> String {
    encode(op).0.to_string()
}

fn int(v: usize) -> AttrValue {
    AttrValue::Int(v as i64)
}

fn ints(v: &[usize]) -> AttrValue {
    AttrValue::Ints(v.iter().map(|&x| x as i64).collect())
}

fn padding(p: &Padding) -> AttrValue {
    match p {
        Padding::Explicit(v) => ints(v),
        Padding::SameUpper => AttrValue::Ident("same_upper".into()),
        Padding::SameLower => AttrValue::Ident("same_lower".into()),
        Padding::Valid => AttrValue::Ident("valid".into()),
    }
}

/// The text name and attributes of an op.
pub fn encode(op: &Op) -> (&'static str, AttrList) {
    use AttrValue::{Bool, Float, Ident};
    match op {
        Op::Constant(_) => ("constant", vec![]),
        Op::Identity => ("identity", vec![]),
        Op::Unary(u) => match *u {
            UnaryOp::IsInf { negative, positive } => (
                "is_inf",
                vec![("negative", Bool(negative)), ("positive", Bool(positive))],
            ),
            UnaryOp::LeakyRelu { alpha } => ("leaky_relu", vec![("alpha", Float(alpha))]),
            UnaryOp::Elu { alpha } => ("elu", vec![("alpha", Float(alpha))]),
            UnaryOp::Selu { alpha, gamma } => ("selu", vec![("alpha", Float(alpha)), ("gamma", Float(gamma))]),
            UnaryOp::Celu { alpha } => ("celu", vec![("alpha", Float(alpha))]),
            UnaryOp::HardSigmoid { alpha, beta } => {
                ("hard_sigmoid", vec![("alpha", Float(alpha)), ("beta", Float(beta))])
            }
            UnaryOp::ThresholdedRelu { alpha } => ("thresholded_relu", vec![("alpha", Float(alpha))]),
            UnaryOp::Gelu { tanh } => ("gelu", vec![("tanh", Bool(tanh))]),
            UnaryOp::Shrink { bias, lambd } => ("shrink", vec![("bias", Float(bias)), ("lambd", Float(lambd))]),
            UnaryOp::Swish { alpha } => ("swish", vec![("alpha", Float(alpha))]),
            plain => (name_of(UNARY_PLAIN, plain).unwrap_or("unary"), vec![]),
        },
        Op::Binary(b) => (name_of(BINARY, *b).unwrap_or("binary"), vec![]),
        Op::Where => ("where", vec![]),
        Op::Clip => ("clip", vec![]),
        Op::Cast(c) => {
            // `saturate` and `round_mode` print only when they differ from the defaults.
            let mut attrs = vec![("to", Ident(c.to.name().into()))];
            if !c.saturate {
                attrs.push(("saturate", Bool(false)));
            }
            if c.round_mode != crate::dtype::minifloat::RoundMode::Up {
                attrs.push(("round_mode", Ident(c.round_mode.name().into())));
            }
            ("cast", attrs)
        }
        Op::MatMul => ("matmul", vec![]),
        Op::Gemm(g) => (
            "gemm",
            vec![
                ("alpha", Float(g.alpha)),
                ("beta", Float(g.beta)),
                ("trans_a", Bool(g.trans_a)),
                ("trans_b", Bool(g.trans_b)),
            ],
        ),
        Op::Conv(c) => (
            "conv",
            vec![
                ("kernel", ints(&c.kernel)),
                ("strides", ints(&c.strides)),
                ("dilations", ints(&c.dilations)),
                ("padding", padding(&c.padding)),
                ("group", int(c.group)),
            ],
        ),
        Op::Pool(p) => {
            let (name, mut attrs) = match p.kind {
                PoolKind::Max => ("max_pool", vec![]),
                PoolKind::Average { count_include_pad } => {
                    ("average_pool", vec![("count_include_pad", Bool(count_include_pad))])
                }
                PoolKind::Lp { p } => ("lp_pool", vec![("p", Float(p))]),
            };
            attrs.extend([
                ("kernel", ints(&p.kernel)),
                ("strides", ints(&p.strides)),
                ("dilations", ints(&p.dilations)),
                ("padding", padding(&p.padding)),
                ("ceil_mode", Bool(p.ceil_mode)),
            ]);
            (name, attrs)
        }
        Op::GlobalPool(k) => match *k {
            PoolKind::Max => ("global_max_pool", vec![]),
            PoolKind::Average { .. } => ("global_average_pool", vec![]),
            PoolKind::Lp { p } => ("global_lp_pool", vec![("p", Float(p))]),
        },
        Op::BatchNorm(n) => ("batch_norm", vec![("epsilon", Float(n.epsilon))]),
        Op::InstanceNorm(n) => ("instance_norm", vec![("epsilon", Float(n.epsilon))]),
        Op::LayerNorm(n) => {
            let mut attrs = vec![("axis", int(n.axis)), ("epsilon", Float(n.epsilon))];
            if n.stats {
                attrs.push(("stats", Bool(true)));
            }
            ("layer_norm", attrs)
        }
        Op::RmsNorm(n) => ("rms_norm", vec![("axis", int(n.axis)), ("epsilon", Float(n.epsilon))]),
        Op::LpNorm(n) => ("lp_norm", vec![("axis", int(n.axis)), ("p", int(n.p as usize))]),
        Op::Softmax(s) => (
            name_of(SOFTMAX, s.kind).unwrap_or("softmax"),
            vec![("axis", int(s.axis)), ("flatten", Bool(s.flatten))],
        ),
        Op::Reduce(r) => (
            name_of(REDUCE, r.kind).unwrap_or("reduce"),
            vec![
                ("keepdims", Bool(r.keepdims)),
                ("noop_with_empty_axes", Bool(r.noop_with_empty_axes)),
            ],
        ),
        Op::ArgReduce(a) => (
            if a.max { "arg_max" } else { "arg_min" },
            vec![
                ("axis", int(a.axis)),
                ("keepdims", Bool(a.keepdims)),
                ("select_last_index", Bool(a.select_last_index)),
            ],
        ),
        Op::Reshape(r) => ("reshape", vec![("allowzero", Bool(r.allowzero))]),
        Op::Flatten(a) => ("flatten", vec![("axis", int(a.axis))]),
        Op::Squeeze => ("squeeze", vec![]),
        Op::Unsqueeze => ("unsqueeze", vec![]),
        Op::Transpose(t) => ("transpose", vec![("perm", ints(&t.perm))]),
        Op::Concat(a) => ("concat", vec![("axis", int(a.axis))]),
        Op::Split(s) => ("split", vec![("axis", int(s.axis)), ("outputs", int(s.outputs))]),
        Op::Slice => ("slice", vec![]),
        Op::Gather(a) => ("gather", vec![("axis", int(a.axis))]),
        Op::GatherElements(a) => ("gather_elements", vec![("axis", int(a.axis))]),
        Op::Expand => ("expand", vec![]),
        Op::Tile => ("tile", vec![]),
        Op::Pad(p) => (
            "pad",
            vec![("mode", Ident(name_of(PAD_MODES, p.mode).unwrap_or("constant").into()))],
        ),
        Op::Shape(s) => {
            let mut attrs = vec![("start", AttrValue::Int(s.start))];
            if let Some(e) = s.end {
                attrs.push(("end", AttrValue::Int(e)));
            }
            ("shape", attrs)
        }
        Op::Size => ("size", vec![]),
        Op::ConstantOfShape(v) => ("constant_of_shape", vec![("value", AttrValue::Tensor(v.clone()))]),
        Op::Range => ("range", vec![]),
        Op::Trilu(t) => ("trilu", vec![("upper", Bool(t.upper))]),
        Op::CumSum(c) => (
            "cum_sum",
            vec![("exclusive", Bool(c.exclusive)), ("reverse", Bool(c.reverse))],
        ),
        Op::CumProd(c) => (
            "cum_prod",
            vec![("exclusive", Bool(c.exclusive)), ("reverse", Bool(c.reverse))],
        ),
        Op::DepthToSpace(d) => (
            "depth_to_space",
            vec![
                ("blocksize", int(d.blocksize)),
                ("mode", Ident(if d.crd { "crd" } else { "dcr" }.into())),
            ],
        ),
        Op::SpaceToDepth(d) => (
            "space_to_depth",
            vec![
                ("blocksize", int(d.blocksize)),
                ("mode", Ident(if d.crd { "crd" } else { "dcr" }.into())),
            ],
        ),
        Op::TopK(t) => (
            "top_k",
            vec![
                ("axis", int(t.axis)),
                ("largest", Bool(t.largest)),
                ("sorted", Bool(t.sorted)),
            ],
        ),
        Op::OneHot(a) => ("one_hot", vec![("axis", int(a.axis))]),
        Op::EyeLike(e) => {
            let mut attrs = vec![("k", AttrValue::Int(e.k))];
            if let Some(d) = e.dtype {
                attrs.push(("dtype", Ident(d.name().into())));
            }
            ("eye_like", attrs)
        }
        Op::NonZero => ("non_zero", vec![]),
        Op::QuantizeLinear(_)
        | Op::DequantizeLinear(_)
        | Op::DynamicQuantizeLinear
        | Op::MatMulInteger
        | Op::ConvInteger(_)
        | Op::QLinearMatMul
        | Op::QLinearConv(_)
        | Op::BitCast(_) => quant::encode(op).unwrap_or(("quant", vec![])),
        Op::Fused(f) => {
            let (name, mut attrs) = match &f.anchor {
                Some(anchor) => {
                    let (anchor_name, attrs) = encode(&anchor.op());
                    let name = match anchor_name {
                        "conv" => "fused_conv",
                        "gemm" => "fused_gemm",
                        _ => "fused_matmul",
                    };
                    (name, attrs)
                }
                None => ("fused_elementwise", vec![]),
            };
            attrs.push(("program", AttrValue::Str(f.program_text())));
            (name, attrs)
        }
        Op::Attention(_)
        | Op::NllLoss(_)
        | Op::Einsum(_)
        | Op::RotaryEmbedding(_)
        | Op::ScatterElements(_)
        | Op::ScatterNd(_)
        | Op::GatherNd(_)
        | Op::Compress(_)
        | Op::Det => attention::encode(op).unwrap_or(("attention", vec![])),
        Op::Rnn(r) => super::recurrent::encode(r),
        Op::NonMaxSuppression(a) => super::select::encode_nms(a),
        Op::Unique(a) => super::select::encode_unique(a),
        Op::ReverseSequence(a) => super::select::encode_reverse_sequence(a),
        Op::TfIdfVectorizer(a) => super::select::encode_tf_idf(a),
        Op::Dft(a) => super::signal::encode_dft(a),
        Op::Stft(a) => super::signal::encode_stft(a),
        Op::Window(a) => super::signal::encode_window(a),
        Op::MelWeightMatrix(a) => super::signal::encode_mel(a),
        Op::Random(a) => super::random::encode_random(a),
        Op::RandomLike(a) => super::random::encode_random_like(a),
        Op::Bernoulli(a) => super::random::encode_bernoulli(a),
        Op::Multinomial(a) => super::random::encode_multinomial(a),
        Op::ConvTranspose(_)
        | Op::Lrn(_)
        | Op::Resize(_)
        | Op::MaxPoolIndices(_)
        | Op::MaxUnpool(_)
        | Op::GridSample(_)
        | Op::AffineGrid(_)
        | Op::Col2Im(_)
        | Op::CenterCropPad(_)
        | Op::RoiAlign(_)
        | Op::DeformConv(_) => vision::encode(op).unwrap_or(("vision", vec![])),
    }
}

/// Reads attributes by name while decoding, and refuses unknown ones.
struct Attrs {
    items: Vec<(String, AttrValue)>,
}

impl Attrs {
    fn take(&mut self, key: &str) -> Result<AttrValue, String> {
        match self.items.iter().position(|(k, _)| k == key) {
            Some(i) => Ok(self.items.remove(i).1),
            None => Err(format!("missing attribute `{key}`")),
        }
    }

    fn take_opt(&mut self, key: &str) -> Option<AttrValue> {
        self.take(key).ok()
    }

    fn int(&mut self, key: &str) -> Result<i64, String> {
        match self.take(key)? {
            AttrValue::Int(v) => Ok(v),
            other => Err(format!("attribute `{key}` must be an integer, got {other:?}")),
        }
    }

    fn usize(&mut self, key: &str) -> Result<usize, String> {
        let v = self.int(key)?;
        usize::try_from(v).map_err(|_| format!("attribute `{key}` must not be negative, got {v}"))
    }

    fn float(&mut self, key: &str) -> Result<f32, String> {
        match self.take(key)? {
            AttrValue::Float(v) => Ok(v),
            AttrValue::Int(v) => Ok(v as f32),
            other => Err(format!("attribute `{key}` must be a float, got {other:?}")),
        }
    }

    fn bool(&mut self, key: &str) -> Result<bool, String> {
        match self.take(key)? {
            AttrValue::Bool(v) => Ok(v),
            other => Err(format!("attribute `{key}` must be true or false, got {other:?}")),
        }
    }

    fn usizes(&mut self, key: &str) -> Result<Vec<usize>, String> {
        match self.take(key)? {
            AttrValue::Ints(v) => v
                .into_iter()
                .map(|x| usize::try_from(x).map_err(|_| format!("attribute `{key}` has a negative entry")))
                .collect(),
            other => Err(format!("attribute `{key}` must be a list, got {other:?}")),
        }
    }

    fn ident(&mut self, key: &str) -> Result<String, String> {
        match self.take(key)? {
            AttrValue::Ident(v) => Ok(v),
            other => Err(format!("attribute `{key}` must be a keyword, got {other:?}")),
        }
    }

    fn dtype(&mut self, key: &str) -> Result<DType, String> {
        let name = self.ident(key)?;
        name.parse().map_err(|e: crate::dtype::UnknownDType| e.to_string())
    }

    fn tensor(&mut self, key: &str) -> Result<Tensor, String> {
        match self.take(key)? {
            AttrValue::Tensor(t) => Ok(t),
            other => Err(format!("attribute `{key}` must be a tensor, got {other:?}")),
        }
    }

    fn padding(&mut self) -> Result<Padding, String> {
        match self.take("padding")? {
            AttrValue::Ints(v) => Ok(Padding::Explicit(
                v.into_iter()
                    .map(|x| usize::try_from(x).map_err(|_| "padding has a negative entry".to_string()))
                    .collect::<Result<_, _>>()?,
            )),
            AttrValue::Ident(s) => match s.as_str() {
                "same_upper" => Ok(Padding::SameUpper),
                "same_lower" => Ok(Padding::SameLower),
                "valid" => Ok(Padding::Valid),
                _ => Err(format!("unknown padding `{s}`")),
            },
            other => Err(format!("attribute `padding` must be a list or keyword, got {other:?}")),
        }
    }

    fn norm(&mut self, with_axis: bool) -> Result<NormAttrs, String> {
        Ok(NormAttrs {
            axis: if with_axis { self.usize("axis")? } else { 1 },
            epsilon: self.float("epsilon")?,
        })
    }

    fn pool(&mut self, kind: PoolKind) -> Result<Op, String> {
        Ok(Op::Pool(PoolAttrs {
            kind,
            kernel: self.usizes("kernel")?,
            strides: self.usizes("strides")?,
            dilations: self.usizes("dilations")?,
            padding: self.padding()?,
            ceil_mode: self.bool("ceil_mode")?,
        }))
    }
}

/// The op named `name` with attributes `attrs`. `Constant` is not decoded here: the text
/// parser builds it from its data.
pub fn decode(name: &str, attrs: Vec<(String, AttrValue)>) -> Result<Op, String> {
    let mut a = Attrs { items: attrs };
    let op = decode_with(name, &mut a)?;
    if let Some((k, _)) = a.items.first() {
        return Err(format!("op `{name}` has no attribute `{k}`"));
    }
    Ok(op)
}

fn decode_with(name: &str, a: &mut Attrs) -> Result<Op, String> {
    if let Some(anchor_name) = name.strip_prefix("fused_") {
        let program = match a.take("program")? {
            AttrValue::Str(s) => FusedAttrs::parse_program(&s)?,
            other => return Err(format!("attribute `program` must be a string, got {other:?}")),
        };
        let anchor = match anchor_name {
            "elementwise" => None,
            "conv" | "gemm" | "matmul" => FusedAnchor::of(&decode_with(anchor_name, a)?),
            _ => return Err(format!("unknown op `{name}`")),
        };
        return Ok(Op::Fused(Box::new(FusedAttrs { anchor, program })));
    }
    if let Some(u) = value_of(UNARY_PLAIN, name) {
        return Ok(Op::Unary(u));
    }
    if let Some(b) = value_of(BINARY, name) {
        return Ok(Op::Binary(b));
    }
    if let Some(kind) = value_of(REDUCE, name) {
        return Ok(Op::Reduce(ReduceAttrs {
            kind,
            keepdims: a.bool("keepdims")?,
            noop_with_empty_axes: a.bool("noop_with_empty_axes")?,
        }));
    }
    if let Some(op) = vision::decode(name, a)? {
        return Ok(op);
    }
    if let Some(op) = attention::decode(name, a)? {
        return Ok(op);
    }
    if let Some(op) = quant::decode(name, a)? {
        return Ok(op);
    }
    if let Some(kind) = value_of(SOFTMAX, name) {
        return Ok(Op::Softmax(SoftmaxAttrs {
            kind,
            axis: a.usize("axis")?,
            flatten: a.bool("flatten")?,
        }));
    }
    Ok(match name {
        "identity" => Op::Identity,
        "is_inf" => Op::Unary(UnaryOp::IsInf {
            negative: a.bool("negative")?,
            positive: a.bool("positive")?,
        }),
        "leaky_relu" => Op::Unary(UnaryOp::LeakyRelu {
            alpha: a.float("alpha")?,
        }),
        "elu" => Op::Unary(UnaryOp::Elu {
            alpha: a.float("alpha")?,
        }),
        "selu" => Op::Unary(UnaryOp::Selu {
            alpha: a.float("alpha")?,
            gamma: a.float("gamma")?,
        }),
        "celu" => Op::Unary(UnaryOp::Celu {
            alpha: a.float("alpha")?,
        }),
        "hard_sigmoid" => Op::Unary(UnaryOp::HardSigmoid {
            alpha: a.float("alpha")?,
            beta: a.float("beta")?,
        }),
        "thresholded_relu" => Op::Unary(UnaryOp::ThresholdedRelu {
            alpha: a.float("alpha")?,
        }),
        "gelu" => Op::Unary(UnaryOp::Gelu { tanh: a.bool("tanh")? }),
        "shrink" => Op::Unary(UnaryOp::Shrink {
            bias: a.float("bias")?,
            lambd: a.float("lambd")?,
        }),
        "swish" => Op::Unary(UnaryOp::Swish {
            alpha: a.float("alpha")?,
        }),
        "where" => Op::Where,
        "clip" => Op::Clip,
        "cast" => Op::Cast(CastAttrs {
            to: a.dtype("to")?,
            saturate: match a.take_opt("saturate") {
                Some(AttrValue::Bool(b)) => b,
                Some(other) => return Err(format!("attribute `saturate` must be true or false, got {other:?}")),
                None => true,
            },
            round_mode: match a.take_opt("round_mode") {
                Some(AttrValue::Ident(m)) => crate::dtype::minifloat::RoundMode::from_name(&m)
                    .ok_or_else(|| format!("unknown round_mode `{m}`"))?,
                Some(other) => return Err(format!("attribute `round_mode` must be a keyword, got {other:?}")),
                None => crate::dtype::minifloat::RoundMode::Up,
            },
        }),
        "matmul" => Op::MatMul,
        "gemm" => Op::Gemm(GemmAttrs {
            alpha: a.float("alpha")?,
            beta: a.float("beta")?,
            trans_a: a.bool("trans_a")?,
            trans_b: a.bool("trans_b")?,
        }),
        "conv" => Op::Conv(ConvAttrs {
            kernel: a.usizes("kernel")?,
            strides: a.usizes("strides")?,
            dilations: a.usizes("dilations")?,
            padding: a.padding()?,
            group: a.usize("group")?,
        }),
        "max_pool" => a.pool(PoolKind::Max)?,
        "average_pool" => {
            let count_include_pad = a.bool("count_include_pad")?;
            a.pool(PoolKind::Average { count_include_pad })?
        }
        "lp_pool" => {
            let p = a.float("p")?;
            a.pool(PoolKind::Lp { p })?
        }
        "global_max_pool" => Op::GlobalPool(PoolKind::Max),
        "global_average_pool" => Op::GlobalPool(PoolKind::Average {
            count_include_pad: false,
        }),
        "global_lp_pool" => Op::GlobalPool(PoolKind::Lp { p: a.float("p")? }),
        "batch_norm" => Op::BatchNorm(a.norm(false)?),
        "instance_norm" => Op::InstanceNorm(a.norm(false)?),
        "layer_norm" => {
            let n = a.norm(true)?;
            let stats = match a.take_opt("stats") {
                None => false,
                Some(AttrValue::Bool(b)) => b,
                Some(other) => return Err(format!("attribute `stats` must be true or false, got {other:?}")),
            };
            Op::LayerNorm(LayerNormAttrs {
                axis: n.axis,
                epsilon: n.epsilon,
                stats,
            })
        }
        "rms_norm" => Op::RmsNorm(a.norm(true)?),
        "lp_norm" => Op::LpNorm(LpNormAttrs {
            axis: a.usize("axis")?,
            p: a.usize("p")? as u32,
        }),
        "arg_max" | "arg_min" => Op::ArgReduce(ArgReduceAttrs {
            max: name == "arg_max",
            axis: a.usize("axis")?,
            keepdims: a.bool("keepdims")?,
            select_last_index: a.bool("select_last_index")?,
        }),
        "reshape" => Op::Reshape(ReshapeAttrs {
            allowzero: a.bool("allowzero")?,
        }),
        "flatten" => Op::Flatten(AxisAttr { axis: a.usize("axis")? }),
        "squeeze" => Op::Squeeze,
        "unsqueeze" => Op::Unsqueeze,
        "transpose" => Op::Transpose(TransposeAttrs {
            perm: a.usizes("perm")?,
        }),
        "concat" => Op::Concat(AxisAttr { axis: a.usize("axis")? }),
        "split" => Op::Split(SplitAttrs {
            axis: a.usize("axis")?,
            outputs: a.usize("outputs")?,
        }),
        "slice" => Op::Slice,
        "gather" => Op::Gather(AxisAttr { axis: a.usize("axis")? }),
        "gather_elements" => Op::GatherElements(AxisAttr { axis: a.usize("axis")? }),
        "expand" => Op::Expand,
        "tile" => Op::Tile,
        "pad" => {
            let mode = a.ident("mode")?;
            Op::Pad(PadAttrs {
                mode: value_of(PAD_MODES, &mode).ok_or_else(|| format!("unknown pad mode `{mode}`"))?,
            })
        }
        "shape" => Op::Shape(ShapeAttrs {
            start: a.int("start")?,
            end: match a.take_opt("end") {
                Some(AttrValue::Int(e)) => Some(e),
                Some(other) => return Err(format!("attribute `end` must be an integer, got {other:?}")),
                None => None,
            },
        }),
        "size" => Op::Size,
        "constant_of_shape" => Op::ConstantOfShape(a.tensor("value")?),
        "range" => Op::Range,
        "trilu" => Op::Trilu(TriluAttrs {
            upper: a.bool("upper")?,
        }),
        "cum_prod" => Op::CumProd(CumSumAttrs {
            exclusive: a.bool("exclusive")?,
            reverse: a.bool("reverse")?,
        }),
        "cum_sum" => Op::CumSum(CumSumAttrs {
            exclusive: a.bool("exclusive")?,
            reverse: a.bool("reverse")?,
        }),
        "depth_to_space" => Op::DepthToSpace(DepthToSpaceAttrs {
            blocksize: a.usize("blocksize")?,
            crd: match a.ident("mode")?.as_str() {
                "crd" => true,
                "dcr" => false,
                m => return Err(format!("unknown depth_to_space mode `{m}`")),
            },
        }),
        "space_to_depth" => Op::SpaceToDepth(DepthToSpaceAttrs {
            blocksize: a.usize("blocksize")?,
            crd: match a.take_opt("mode") {
                None => false,
                Some(AttrValue::Ident(m)) if m == "dcr" => false,
                Some(AttrValue::Ident(m)) if m == "crd" => true,
                Some(other) => return Err(format!("unknown space_to_depth mode {other:?}")),
            },
        }),
        "top_k" => Op::TopK(TopKAttrs {
            axis: a.usize("axis")?,
            largest: a.bool("largest")?,
            sorted: a.bool("sorted")?,
        }),
        "one_hot" => Op::OneHot(AxisAttr { axis: a.usize("axis")? }),
        "eye_like" => Op::EyeLike(EyeLikeAttrs {
            k: a.int("k")?,
            dtype: match a.take_opt("dtype") {
                Some(AttrValue::Ident(d)) => Some(d.parse().map_err(|e: crate::dtype::UnknownDType| e.to_string())?),
                Some(other) => return Err(format!("attribute `dtype` must be a dtype, got {other:?}")),
                None => None,
            },
        }),
        "non_zero" => Op::NonZero,
        "rnn" | "gru" | "lstm" => Op::Rnn(super::recurrent::decode(name, &mut a.items)?),
        "non_max_suppression" | "unique" | "reverse_sequence" | "tf_idf_vectorizer" => {
            super::select::decode(name, &mut a.items)?.ok_or_else(|| format!("unknown op `{name}`"))?
        }
        "dft" | "stft" | "hann_window" | "hamming_window" | "blackman_window" | "mel_weight_matrix" => {
            super::signal::decode(name, &mut a.items)?.ok_or_else(|| format!("unknown op `{name}`"))?
        }
        "random_uniform"
        | "random_normal"
        | "random_uniform_like"
        | "random_normal_like"
        | "bernoulli"
        | "multinomial" => super::random::decode(name, &mut a.items)?.ok_or_else(|| format!("unknown op `{name}`"))?,
        _ => return Err(format!("unknown op `{name}`")),
    })
}
