//! The op set of the LightOS IR: one [`Op`] enum whose variants carry typed attributes.
//!
//! Ops follow the newest ONNX semantics. Parameters that newer opsets take as inputs
//! (reduction axes, slice bounds, pad widths, target shapes, …) are operands here too: the
//! frontend turns an older opset's attribute into a constant operand, so each op has one
//! form. Axes held in attributes are already normalized to non-negative numbers.
//! Optional operands are `None` in a node's operand list.

mod attrs;
pub mod names;

pub use attrs::*;

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
    /// Layer normalization over axes `axis..`; operands `X, scale, bias?`.
    LayerNorm(NormAttrs),
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
    SpaceToDepth(BlockAttr),
    /// The k largest or smallest along an axis; operands `data, k`; outputs values, indices.
    TopK(TopKAttrs),
    /// One-hot encoding; operands `indices, depth, values`.
    OneHot(AxisAttr),
    /// A 2-d tensor with ones on the k-th diagonal, shaped like its operand.
    EyeLike(EyeLikeAttrs),
    /// Indices of the non-zero elements, as `[rank, count]` i64.
    NonZero,
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
            _ => Some(1),
        }
    }
}
