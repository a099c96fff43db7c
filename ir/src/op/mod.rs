//! The op set of the LightOS IR: one [`Op`] enum whose variants carry typed attributes.
//!
//! Ops follow the newest ONNX semantics. Parameters that newer opsets take as inputs
//! (reduction axes, slice bounds, pad widths, target shapes, …) are operands here too: the
//! frontend turns an older opset's attribute into a constant operand, so each op has one
//! form. Axes held in attributes are already normalized to non-negative numbers.
//! Optional operands are `None` in a node's operand list.

mod attention;
mod attrs;
mod einsum;
mod fused;
mod loss;
pub mod names;
mod quant;
mod random;
mod recurrent;
mod scatter;
mod select;
mod signal;
mod take;
mod vision;

pub use attention::*;
pub use attrs::*;
pub use einsum::*;
pub use fused::*;
pub use loss::*;
pub use quant::*;
pub use random::*;
pub use recurrent::*;
pub use scatter::*;
pub use select::*;
pub use signal::*;
pub use vision::*;

use crate::tensor::Tensor;

/// One operation of the graph, with its typed attributes.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    /// A constant tensor: weights, or a folded value. No operands.
    Constant(Tensor),
    /// Passes its operand through.
    Identity,
    /// An elementwise function of one operand.
    Unary(UnaryOp),
    /// An elementwise function of two broadcast operands.
    Binary(BinaryOp),
    /// `where(cond, x, y)`, broadcast.
    Where,
    /// Clamps `x` to `[min, max]`; operands `x, min?, max?` (scalars).
    Clip,
    /// Converts to another dtype.
    Cast(CastAttrs),
    /// Batched matrix product with NumPy broadcasting.
    MatMul,
    /// `alpha * op(A) * op(B) + beta * C`; operands `A, B, C?`.
    Gemm(GemmAttrs),
    /// N-d convolution; operands `X, W, B?`.
    Conv(ConvAttrs),
    /// Max, average or Lp pooling over windows; one output (indices are not produced).
    Pool(PoolAttrs),
    /// Pooling over all spatial axes.
    GlobalPool(PoolKind),
    /// Inference-mode batch normalization; operands `X, scale, bias, mean, var`.
    BatchNorm(NormAttrs),
    /// Instance normalization; operands `X, scale, bias`.
    InstanceNorm(NormAttrs),
    /// Layer normalization over axes `axis..`; operands `X, scale, bias?`; results `Y`,
    /// and with `stats` also the mean and inverse standard deviation.
    LayerNorm(LayerNormAttrs),
    /// RMS normalization over axes `axis..`; operands `X, scale`.
    RmsNorm(NormAttrs),
    /// Lp normalization along one axis.
    LpNorm(LpNormAttrs),
    /// Softmax, log-softmax or hardmax along an axis.
    Softmax(SoftmaxAttrs),
    /// A reduction; operands `data, axes?` (i64).
    Reduce(ReduceAttrs),
    /// Index of the maximum or minimum along an axis.
    ArgReduce(ArgReduceAttrs),
    /// Reshape to a shape operand (i64), with ONNX's `0` and `-1` rules.
    Reshape(ReshapeAttrs),
    /// Flattens to 2-d at `axis`.
    Flatten(AxisAttr),
    /// Removes size-1 axes; operands `data, axes?`.
    Squeeze,
    /// Inserts size-1 axes; operands `data, axes`.
    Unsqueeze,
    /// Permutes axes.
    Transpose(TransposeAttrs),
    /// Joins operands along an axis.
    Concat(AxisAttr),
    /// Splits along an axis; operands `data, split?`.
    Split(SplitAttrs),
    /// Strided slice; operands `data, starts, ends, axes?, steps?`.
    Slice,
    /// Gathers slices along an axis by indices; operands `data, indices`.
    Gather(AxisAttr),
    /// Gathers elements along an axis; operands `data, indices` of equal rank.
    GatherElements(AxisAttr),
    /// Broadcasts to a shape operand; operands `data, shape`.
    Expand,
    /// Repeats along each axis; operands `data, repeats`.
    Tile,
    /// Pads; operands `data, pads, constant_value?, axes?`.
    Pad(PadAttrs),
    /// The shape of the operand as i64, sliced to `[start, end)`.
    Shape(ShapeAttrs),
    /// The element count of the operand as an i64 scalar.
    Size,
    /// A tensor of the shape operand's dims filled with a scalar.
    ConstantOfShape(Tensor),
    /// `start, start + delta, …` below `limit`; operands `start, limit, delta` (scalars).
    Range,
    /// Upper or lower triangle; operands `data, k?`.
    Trilu(TriluAttrs),
    /// Running sum along an axis; operands `data, axis`.
    CumSum(CumSumAttrs),
    /// Moves depth into blocks of space.
    DepthToSpace(DepthToSpaceAttrs),
    /// Moves blocks of space into depth.
    SpaceToDepth(DepthToSpaceAttrs),
    /// The k largest or smallest along an axis; operands `data, k`; outputs values, indices.
    TopK(TopKAttrs),
    /// One-hot encoding; operands `indices, depth, values`.
    OneHot(AxisAttr),
    /// A 2-d tensor with ones on the k-th diagonal, shaped like its operand.
    EyeLike(EyeLikeAttrs),
    /// Indices of the non-zero elements, as `[rank, count]` i64.
    NonZero,
    /// Transposed N-d convolution; operands `X, W, B?` with `W` as `[C_in, C_out / group, k...]`.
    ConvTranspose(ConvTransposeAttrs),
    /// Local response normalization across channels.
    Lrn(LrnAttrs),
    /// Resampling by nearest, linear or cubic interpolation; operands `X, roi?, scales?, sizes?`.
    Resize(ResizeAttrs),
    /// Max pooling with the flat indices of the maxima; results values and indices (i64).
    MaxPoolIndices(MaxPoolIndicesAttrs),
    /// Scatters pooled values back to their indices; operands `X, I, output_shape?`.
    MaxUnpool(MaxUnpoolAttrs),
    /// Samples the input at normalized grid positions; operands `X, grid`.
    GridSample(GridSampleAttrs),
    /// Affine sampling grids from transforms; operands `theta, size`.
    AffineGrid(AffineGridAttrs),
    /// Sums sliding blocks back into an image; operands `input, image_shape, block_shape`.
    Col2Im(Col2ImAttrs),
    /// Crops or zero-pads axes about their centre to a shape; operands `input, shape`.
    CenterCropPad(CenterCropPadAttrs),
    /// Pools regions of interest by bilinear sampling; operands `X, rois, batch_indices`.
    RoiAlign(RoiAlignAttrs),
    /// Deformable convolution; operands `X, W, offset, B?, mask?`.
    DeformConv(DeformConvAttrs),
    /// A recurrent layer (simple RNN, GRU or LSTM, by its cell); see [`RnnAttrs`] for the
    /// operands and results.
    Rnn(RnnAttrs),
    /// Non-maximum suppression of boxes; see [`NmsAttrs`] for the operands. One result,
    /// `[selected, 3]` i64.
    NonMaxSuppression(NmsAttrs),
    /// The unique elements or slices; four results, see [`UniqueAttrs`].
    Unique(UniqueAttrs),
    /// Reverses the first `len[b]` time steps of each batch entry; operands
    /// `input, sequence_lens`.
    ReverseSequence(ReverseSequenceAttrs),
    /// N-gram counts of integer sequences, weighted; one f32 result.
    TfIdfVectorizer(TfIdfAttrs),
    /// Discrete Fourier transform along one axis; operands `input, dft_length?, axis?`,
    /// see [`DftAttrs`].
    Dft(DftAttrs),
    /// Short-time Fourier transform; operands `signal, frame_step, window?, frame_length?`.
    Stft(StftAttrs),
    /// A Hann, Hamming or Blackman window; the operand is its size.
    Window(WindowAttrs),
    /// A mel filter bank; see [`MelWeightMatrixAttrs`] for the five operands.
    MelWeightMatrix(MelWeightMatrixAttrs),
    /// Random numbers of a fixed shape from the reference generator; no operands.
    Random(RandomAttrs),
    /// Random numbers shaped like the operand.
    RandomLike(RandomLikeAttrs),
    /// 0 or 1 drawn with the operand's probabilities of 1.
    Bernoulli(BernoulliAttrs),
    /// Class indices drawn from `[batch, classes]` unnormalized log-probabilities.
    Multinomial(MultinomialAttrs),
    /// Scaled dot-product attention; see [`AttentionAttrs`] for the operands and results.
    Attention(AttentionAttrs),
    /// Negative log-likelihood loss; operands `input, target, weight?`.
    NllLoss(NllLossAttrs),
    /// Running product along an axis; operands `data, axis`.
    CumProd(CumSumAttrs),
    /// Einstein summation over its operands; see [`EinsumAttrs`].
    Einsum(EinsumAttrs),
    /// Rotary position embedding; see [`RotaryAttrs`] for the operands.
    RotaryEmbedding(RotaryAttrs),
    /// Writes updates into a copy of `data` at positions along one axis; operands
    /// `data, indices, updates`.
    ScatterElements(ScatterElementsAttrs),
    /// Writes update slices into a copy of `data` at index tuples; operands
    /// `data, indices, updates`.
    ScatterNd(ScatterNdAttrs),
    /// Gathers slices of `data` by index tuples; operands `data, indices`.
    GatherNd(GatherNdAttrs),
    /// Keeps the slices where a bool condition holds; operands `input, condition`.
    Compress(CompressAttrs),
    /// Determinants of the trailing square matrices.
    Det,
    /// Linear quantization `saturate(round(x / scale) + zero_point)` (see
    /// [`QuantizeAttrs`]); operands `x, scale, zero_point?`.
    QuantizeLinear(QuantizeAttrs),
    /// Linear dequantization `(x - zero_point) * scale` (see [`DequantizeAttrs`]);
    /// operands `x, scale, zero_point?`.
    DequantizeLinear(DequantizeAttrs),
    /// Quantizes `f32` to `u8` with a scale and zero point computed from the data;
    /// results `y, scale, zero_point`.
    DynamicQuantizeLinear,
    /// Integer matrix product `(A - a_zero_point) (B - b_zero_point)` in wrapping `i32`;
    /// operands `A, B, a_zero_point?, b_zero_point?` (`u8` or `i8`).
    MatMulInteger,
    /// Integer convolution of `X - x_zero_point` by `W - w_zero_point` in wrapping `i32`;
    /// operands `X, W, x_zero_point?, w_zero_point?` (`u8` or `i8`).
    ConvInteger(ConvAttrs),
    /// Quantized matrix product; operands `a, a_scale, a_zero_point?, b, b_scale,
    /// b_zero_point?, y_scale, y_zero_point?`.
    QLinearMatMul,
    /// Quantized convolution; operands `x, x_scale, x_zero_point?, w, w_scale,
    /// w_zero_point?, y_scale, y_zero_point?, B?`.
    QLinearConv(ConvAttrs),
    /// Reinterprets the bits of each element as another dtype of the same width.
    BitCast(BitCastAttrs),
    /// A fused kernel: an optional convolution or matrix product, then an elementwise
    /// program; see [`FusedAttrs`]. Made by the fusion pass.
    Fused(Box<FusedAttrs>),
}

impl Op {
    /// The name of the op in the text format, e.g. `matmul` or `unary.relu`.
    pub fn name(&self) -> String {
        names::op_name(self)
    }

    /// How many results the op gives for a node with `operand_count` operands and the
    /// given attributes; `None` when it varies (split) and the node decides.
    pub fn fixed_result_count(&self) -> Option<usize> {
        match self {
            Op::Split(a) => Some(a.outputs),
            Op::TopK(_) => Some(2),
            Op::DynamicQuantizeLinear => Some(3),
            Op::MaxPoolIndices(_) => Some(2),
            Op::Attention(_) => Some(4),
            Op::LayerNorm(n) => Some(if n.stats { 3 } else { 1 }),
            Op::Rnn(a) => Some(a.cell.results()),
            Op::Unique(_) => Some(4),
            _ => Some(1),
        }
    }
}
