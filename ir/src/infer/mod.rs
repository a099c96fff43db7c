//! Result types of each op: the type rules of the IR.
//!
//! [`infer`] computes the result types of an op from its operands' types, and from their
//! values where a constant operand decides a shape (a reshape's target, reduction axes).
//! The verifier checks declared types against it, and the interpreters use the geometry
//! helpers here, so there is one definition of each shape rule.

mod attention;
mod einsum;
mod elementwise;
mod geometry;
mod layout;
mod linalg;
mod loss;
mod quant;
mod random;
mod recurrent;
mod reduce;
mod scatter;
mod select;
mod signal;
mod vision;

pub use einsum::{einsum_dims, EinsumDims, EinsumEquation, EinsumLabel};
pub use geometry::{conv_geometry, ConvGeometry};
pub use layout::{
    normalize_axes, normalize_axis, resolve_reshape, shape_range, slice_bounds, split_sizes, SliceBounds,
};
pub use quant::{same_granularity, scale_layout, ScaleLayout};
pub use reduce::reduce_axes;
pub use signal::dft_axis;
pub use vision::{conv_transpose_geometry, resize_geometry, unpool_size, ConvTransposeGeometry, ResizeGeometry};

use crate::graph::TensorType;
use crate::op::Op;
use crate::shape::{Dim, Shape};
use crate::tensor::Tensor;
use crate::DType;

/// An operand as type inference sees it: its type and, when known, its value.
#[derive(Copy, Clone, Debug)]
pub struct Operand<'a> {
    /// The static type.
    pub ty: &'a TensorType,
    /// The value, when it is a constant.
    pub value: Option<&'a Tensor>,
}

/// An error of type inference: the operands do not fit the op.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InferError(pub String);

/// Shorthand for returning an [`InferError`].
macro_rules! bail {
    ($($arg:tt)*) => { return Err($crate::infer::InferError(format!($($arg)*))) };
}
pub(crate) use bail;

/// Names fresh symbolic dimensions for sizes known only at run time.
#[derive(Debug)]
pub struct SymbolNamer {
    prefix: String,
    next: u32,
}

impl SymbolNamer {
    /// A namer whose symbols start with `prefix` (e.g. the node's index).
    pub fn new(prefix: impl Into<String>) -> SymbolNamer {
        SymbolNamer {
            prefix: prefix.into(),
            next: 0,
        }
    }

    /// A new symbolic dimension.
    pub fn fresh(&mut self) -> Dim {
        let d = Dim::Sym(format!("{}_{}", self.prefix, self.next));
        self.next += 1;
        d
    }
}

/// The result types of `op` applied to `operands` (`None` for absent optional ones).
pub fn infer(
    op: &Op,
    operands: &[Option<Operand<'_>>],
    names: &mut SymbolNamer,
) -> Result<Vec<TensorType>, InferError> {
    let args = Args { operands };
    match op {
        Op::Constant(t) => Ok(vec![TensorType::fixed(t.dtype(), t.dims())]),
        Op::Identity => Ok(vec![args.get(0)?.ty.clone()]),
        Op::Unary(u) => elementwise::unary(*u, &args).map(one),
        Op::Binary(b) => elementwise::binary(*b, &args, names).map(one),
        Op::Where => elementwise::where_(&args, names).map(one),
        Op::Clip => elementwise::clip(&args).map(one),
        Op::Cast(c) => Ok(vec![TensorType::new(c.to, args.get(0)?.ty.shape.clone())]),
        Op::MatMul => linalg::matmul(&args, names).map(one),
        Op::Gemm(g) => linalg::gemm(g, &args).map(one),
        Op::Conv(c) => linalg::conv(c, &args, names).map(one),
        Op::Pool(p) => linalg::pool(p, &args, names).map(one),
        Op::GlobalPool(_) => linalg::global_pool(&args).map(one),
        Op::BatchNorm(_) | Op::InstanceNorm(_) => reduce::channel_norm(&args).map(one),
        Op::LayerNorm(n) => reduce::layer_norm(n, &args),
        Op::RmsNorm(n) => reduce::trailing_norm(n.axis, &args).map(one),
        Op::LpNorm(n) => reduce::lp_norm(n.axis, &args).map(one),
        Op::Softmax(s) => reduce::softmax(s, &args).map(one),
        Op::Reduce(r) => reduce::reduce(r, &args, names).map(one),
        Op::ArgReduce(a) => reduce::arg_reduce(a, &args).map(one),
        Op::Reshape(r) => layout::reshape(r, &args, names).map(one),
        Op::Flatten(a) => layout::flatten(a.axis, &args, names).map(one),
        Op::Squeeze => layout::squeeze(&args).map(one),
        Op::Unsqueeze => layout::unsqueeze(&args, names).map(one),
        Op::Transpose(t) => layout::transpose(&t.perm, &args).map(one),
        Op::Concat(a) => layout::concat(a.axis, &args, names).map(one),
        Op::Split(s) => layout::split(s, &args, names),
        Op::Slice => layout::slice(&args, names).map(one),
        Op::Gather(a) => layout::gather(a.axis, &args).map(one),
        Op::GatherElements(a) => layout::gather_elements(a.axis, &args).map(one),
        Op::Expand => layout::expand(&args, names).map(one),
        Op::Tile => layout::tile(&args, names).map(one),
        Op::Pad(_) => layout::pad(&args, names).map(one),
        Op::Shape(s) => layout::shape_of(s, &args).map(one),
        Op::Size => Ok(vec![TensorType::fixed(DType::I64, &[])]),
        Op::ConstantOfShape(v) => layout::constant_of_shape(v, &args, names).map(one),
        Op::Range => layout::range(&args, names).map(one),
        Op::Trilu(_) => {
            let x = args.get(0)?.ty;
            if x.rank() < 2 {
                bail!("trilu needs rank 2 or more, got {x}");
            }
            Ok(vec![x.clone()])
        }
        Op::CumSum(_) | Op::CumProd(_) => Ok(vec![args.get(0)?.ty.clone()]),
        Op::DepthToSpace(d) => layout::depth_to_space(d.blocksize, &args, names).map(one),
        Op::SpaceToDepth(b) => layout::space_to_depth(b.blocksize, &args, names).map(one),
        Op::TopK(t) => layout::top_k(t, &args, names),
        Op::OneHot(a) => layout::one_hot(a.axis, &args, names).map(one),
        Op::EyeLike(e) => {
            let x = args.get(0)?.ty;
            if x.rank() != 2 {
                bail!("eye_like needs a rank-2 operand, got {x}");
            }
            Ok(vec![TensorType::new(e.dtype.unwrap_or(x.dtype), x.shape.clone())])
        }
        Op::ConvTranspose(c) => vision::conv_transpose(c, &args, names).map(one),
        Op::Lrn(l) => vision::lrn(l, &args).map(one),
        Op::Resize(r) => vision::resize(r, &args, names).map(one),
        Op::MaxPoolIndices(p) => vision::max_pool_indices(p, &args, names),
        Op::MaxUnpool(u) => vision::max_unpool(u, &args, names).map(one),
        Op::GridSample(_) => vision::grid_sample(&args).map(one),
        Op::AffineGrid(_) => vision::affine_grid(&args, names).map(one),
        Op::Col2Im(_) => vision::col2im(&args, names).map(one),
        Op::CenterCropPad(c) => vision::center_crop_pad(c, &args, names).map(one),
        Op::RoiAlign(r) => vision::roi_align(r, &args).map(one),
        Op::DeformConv(d) => vision::deform_conv(d, &args, names).map(one),
        Op::NonZero => {
            let x = args.get(0)?.ty;
            Ok(vec![TensorType::new(
                DType::I64,
                Shape(vec![Dim::Fixed(x.rank()), names.fresh()]),
            )])
        }
        Op::Rnn(r) => recurrent::rnn(r, &args),
        Op::QuantizeLinear(q) => quant::quantize(q, &args).map(one),
        Op::DequantizeLinear(d) => quant::dequantize(d, &args).map(one),
        Op::DynamicQuantizeLinear => quant::dynamic_quantize(&args),
        Op::MatMulInteger => quant::matmul_integer(&args, names).map(one),
        Op::ConvInteger(c) => quant::conv_integer(c, &args, names).map(one),
        Op::QLinearMatMul => quant::qlinear_matmul(&args, names).map(one),
        Op::QLinearConv(c) => quant::qlinear_conv(c, &args, names).map(one),
        Op::BitCast(b) => quant::bit_cast(b, &args).map(one),
        Op::NonMaxSuppression(_) => select::non_max_suppression(&args, names).map(one),
        Op::Unique(u) => select::unique(u, &args, names),
        Op::ReverseSequence(r) => select::reverse_sequence(r, &args).map(one),
        Op::TfIdfVectorizer(t) => select::tf_idf(t, &args).map(one),
        Op::Dft(d) => signal::dft(d, &args, names).map(one),
        Op::Stft(s) => signal::stft(s, &args, names).map(one),
        Op::Window(w) => signal::window(w, &args, names).map(one),
        Op::MelWeightMatrix(m) => signal::mel_weight_matrix(m, &args, names).map(one),
        Op::Random(r) => random::random(r).map(one),
        Op::RandomLike(r) => random::random_like(r, &args).map(one),
        Op::Bernoulli(b) => random::bernoulli(b, &args).map(one),
        Op::Multinomial(m) => random::multinomial(m, &args).map(one),
        Op::Attention(a) => attention::attention(a, &args, names),
        Op::NllLoss(l) => loss::nll_loss(l, &args).map(one),
        Op::Einsum(e) => einsum::einsum(e, &args, names).map(one),
        Op::Det => einsum::det(&args).map(one),
        Op::RotaryEmbedding(r) => attention::rotary(r, &args).map(one),
        Op::ScatterElements(s) => scatter::scatter_elements(s, &args).map(one),
        Op::ScatterNd(_) => scatter::scatter_nd(&args).map(one),
        Op::GatherNd(g) => scatter::gather_nd(g, &args).map(one),
        Op::Compress(c) => scatter::compress(c, &args, names).map(one),
        Op::Fused(f) => fused(f, operands, names).map(one),
    }
}

/// The result type of a fused kernel: its anchor's, then each instruction's in turn.
fn fused(
    f: &crate::op::FusedAttrs,
    operands: &[Option<Operand<'_>>],
    names: &mut SymbolNamer,
) -> Result<TensorType, InferError> {
    use crate::op::FusedSrc;
    f.check_sources(operands.len()).map_err(InferError)?;
    let anchor = match &f.anchor {
        Some(a) => {
            let count = a.operand_count().min(operands.len());
            infer(&a.op(), &operands[..count], names)?.pop()
        }
        None => None,
    };
    let mut temps: Vec<TensorType> = Vec::with_capacity(f.program.len());
    for (i, instr) in f.program.iter().enumerate() {
        let mut slots: Vec<Option<Operand<'_>>> = Vec::with_capacity(3);
        for src in instr.operand_slots() {
            slots.push(match src {
                None => None,
                Some(FusedSrc::Anchor) => anchor.as_ref().map(|ty| Operand { ty, value: None }),
                Some(FusedSrc::Operand(k)) => match operands[k] {
                    Some(o) => Some(o),
                    None => {
                        return Err(InferError(format!(
                            "instruction {i} reads operand {k}, which is absent"
                        )))
                    }
                },
                Some(FusedSrc::Temp(t)) => Some(Operand {
                    ty: &temps[t],
                    value: None,
                }),
            });
        }
        let ty = infer(&instr.op(), &slots, names)
            .map_err(|e| InferError(format!("instruction {i}: {e}")))?
            .pop()
            .ok_or_else(|| InferError(format!("instruction {i} has no result")))?;
        temps.push(ty);
    }
    temps
        .pop()
        .or(anchor)
        .ok_or_else(|| InferError("a fused kernel needs an anchor or a program".into()))
}

/// The value of a `shape` or `size` op whose operand has fixed dims: known at compile
/// time even when the operand's data is not.
pub fn shape_query_value(op: &Op, operand: &TensorType) -> Option<Tensor> {
    let dims = operand.shape.as_fixed()?;
    match op {
        Op::Shape(s) => {
            let (start, end) = shape_range(s, dims.len());
            let v: Vec<i64> = dims[start..end].iter().map(|&d| d as i64).collect();
            Tensor::from_vec(vec![v.len()], v).ok()
        }
        Op::Size => Some(Tensor::scalar(dims.iter().product::<usize>() as i64)),
        _ => None,
    }
}

fn one(t: TensorType) -> Vec<TensorType> {
    vec![t]
}

/// Checked access to operands.
pub(crate) struct Args<'a, 'b> {
    operands: &'a [Option<Operand<'b>>],
}

impl<'a, 'b> Args<'a, 'b> {
    /// The `i`-th operand, which must be present.
    pub(crate) fn get(&self, i: usize) -> Result<Operand<'b>, InferError> {
        match self.operands.get(i) {
            Some(Some(o)) => Ok(*o),
            _ => bail!("operand {i} is required but missing"),
        }
    }

    /// The `i`-th operand if present.
    pub(crate) fn opt(&self, i: usize) -> Option<Operand<'b>> {
        self.operands.get(i).copied().flatten()
    }

    /// Number of operand slots.
    pub(crate) fn len(&self) -> usize {
        self.operands.len()
    }

    /// The present operands.
    pub(crate) fn present(&self) -> impl Iterator<Item = Operand<'b>> + '_ {
        self.operands.iter().flatten().copied()
    }

    /// The integer values of the `i`-th operand when it is a known constant.
    pub(crate) fn const_ints(&self, i: usize) -> Result<Option<Vec<i64>>, InferError> {
        match self.opt(i) {
            None => Ok(None),
            Some(o) => match o.value {
                None => Ok(None),
                Some(t) => match t.to_i64_vec() {
                    Some(v) => Ok(Some(v)),
                    None => bail!("operand {i} must be an integer tensor, got {}", t.dtype()),
                },
            },
        }
    }
}

/// Requires `ty` to be one of the float types.
pub(crate) fn expect_float(ty: &TensorType, what: &str) -> Result<(), InferError> {
    if !ty.dtype.is_float() {
        bail!("{what} must be a float tensor, got {ty}");
    }
    Ok(())
}
