//! Typed attributes of the ops.

use crate::dtype::DType;

/// Elementwise functions of one operand.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum UnaryOp {
    /// `|x|`.
    Abs,
    /// `-x`.
    Neg,
    /// `e^x`.
    Exp,
    /// Natural logarithm.
    Log,
    /// Square root.
    Sqrt,
    /// `1 / x`.
    Reciprocal,
    /// Round toward negative infinity.
    Floor,
    /// Round toward positive infinity.
    Ceil,
    /// Round half to even.
    Round,
    /// `-1`, `0` or `1`.
    Sign,
    /// `max(x, 0)`.
    Relu,
    /// `1 / (1 + e^-x)`.
    Sigmoid,
    /// Hyperbolic tangent.
    Tanh,
    /// Sine.
    Sin,
    /// Cosine.
    Cos,
    /// Tangent.
    Tan,
    /// Arcsine.
    Asin,
    /// Arccosine.
    Acos,
    /// Arctangent.
    Atan,
    /// Hyperbolic sine.
    Sinh,
    /// Hyperbolic cosine.
    Cosh,
    /// Inverse hyperbolic sine.
    Asinh,
    /// Inverse hyperbolic cosine.
    Acosh,
    /// Inverse hyperbolic tangent.
    Atanh,
    /// The error function.
    Erf,
    /// Logical not (bool).
    Not,
    /// Bitwise not (integers).
    BitwiseNot,
    /// `ln(1 + e^x)`.
    Softplus,
    /// `x / (1 + |x|)`.
    Softsign,
    /// Whether `x` is NaN (bool result).
    IsNaN,
    /// Whether `x` is an infinity of the selected signs (bool result).
    IsInf {
        /// Detect negative infinity.
        negative: bool,
        /// Detect positive infinity.
        positive: bool,
    },
    /// `x` if `x >= 0`, else `alpha * x`.
    LeakyRelu {
        /// Slope below zero.
        alpha: f32,
    },
    /// `x` if `x > 0`, else `alpha * (e^x - 1)`.
    Elu {
        /// Scale below zero.
        alpha: f32,
    },
    /// `gamma * (x if x > 0 else alpha * (e^x - 1))`.
    Selu {
        /// Scale below zero.
        alpha: f32,
        /// Overall scale.
        gamma: f32,
    },
    /// `max(0, x) + min(0, alpha * (e^(x / alpha) - 1))`.
    Celu {
        /// Scale.
        alpha: f32,
    },
    /// `max(0, min(1, alpha * x + beta))`.
    HardSigmoid {
        /// Slope.
        alpha: f32,
        /// Offset.
        beta: f32,
    },
    /// `x * max(0, min(1, x / 6 + 1/2))`.
    HardSwish,
    /// `x` if `x > alpha`, else 0.
    ThresholdedRelu {
        /// Threshold.
        alpha: f32,
    },
    /// Gaussian error linear unit, exact (erf) or with the tanh approximation.
    Gelu {
        /// Use the tanh approximation.
        tanh: bool,
    },
    /// `x * tanh(softplus(x))`.
    Mish,
    /// `x - bias` if `x > lambd`, `x + bias` if `x < -lambd`, else 0.
    Shrink {
        /// Offset.
        bias: f32,
        /// Threshold.
        lambd: f32,
    },
    /// `x * sigmoid(alpha * x)`.
    Swish {
        /// Scale inside the sigmoid.
        alpha: f32,
    },
}

/// Elementwise functions of two broadcast operands.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    /// `a + b`.
    Add,
    /// `a - b`.
    Sub,
    /// `a * b`.
    Mul,
    /// `a / b` (integer division truncates).
    Div,
    /// `a ^ b`; the result has `a`'s dtype.
    Pow,
    /// The larger; NaN wins.
    Max,
    /// The smaller; NaN wins.
    Min,
    /// Remainder with the sign of the divisor (`fmod: false`) or of the dividend (`fmod: true`).
    Mod {
        /// C `fmod` semantics.
        fmod: bool,
    },
    /// Logical and (bool).
    And,
    /// Logical or (bool).
    Or,
    /// Logical xor (bool).
    Xor,
    /// `a == b` (bool result).
    Equal,
    /// `a < b` (bool result).
    Less,
    /// `a <= b` (bool result).
    LessOrEqual,
    /// `a > b` (bool result).
    Greater,
    /// `a >= b` (bool result).
    GreaterOrEqual,
    /// `a << b` (integers; see the reference kernel for signed types and large counts).
    ShiftLeft,
    /// `a >> b` (integers; arithmetic for signed types).
    ShiftRight,
    /// Bitwise and.
    BitwiseAnd,
    /// Bitwise or.
    BitwiseOr,
    /// Bitwise xor.
    BitwiseXor,
    /// `a` if `a >= 0`, else `slope * a`; the slope broadcasts to `a`.
    PRelu,
}

impl BinaryOp {
    /// Whether the result is bool whatever the operand dtype.
    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinaryOp::Equal | BinaryOp::Less | BinaryOp::LessOrEqual | BinaryOp::Greater | BinaryOp::GreaterOrEqual
        )
    }

    /// Whether the operands are bool.
    pub fn is_logical(self) -> bool {
        matches!(self, BinaryOp::And | BinaryOp::Or | BinaryOp::Xor)
    }
}

/// Attributes of [`crate::Op::Cast`] (ONNX `Cast`, opset 25).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct CastAttrs {
    /// The target dtype.
    pub to: DType,
    /// For float8 targets: values past the largest finite value (infinities included)
    /// become that value (`true`, the ONNX default) or infinity / NaN per format
    /// (`false`); see [`crate::dtype::minifloat`]. For `f8e8m0`: whether the largest
    /// value stays put instead of rounding up to NaN. No effect on other targets.
    pub saturate: bool,
    /// How values round to `f8e8m0` (ONNX default `up`). No effect on other targets.
    pub round_mode: crate::dtype::minifloat::RoundMode,
}

impl CastAttrs {
    /// A cast to `to` with the ONNX defaults: saturating, rounding up to `f8e8m0`.
    pub fn to(to: DType) -> CastAttrs {
        CastAttrs {
            to,
            saturate: true,
            round_mode: crate::dtype::minifloat::RoundMode::Up,
        }
    }
}

/// Attributes of [`crate::Op::Gemm`].
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct GemmAttrs {
    /// Scale of the product.
    pub alpha: f32,
    /// Scale of `C`.
    pub beta: f32,
    /// Transpose `A` first.
    pub trans_a: bool,
    /// Transpose `B` first.
    pub trans_b: bool,
}

/// Explicit padding of each spatial axis, resolved from ONNX's `auto_pad` at import when
/// the spatial input sizes are fixed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Padding {
    /// Begin pads of each spatial axis, then end pads (ONNX's `pads` order).
    Explicit(Vec<usize>),
    /// `SAME_UPPER`: the extra pad goes at the end.
    SameUpper,
    /// `SAME_LOWER`: the extra pad goes at the beginning.
    SameLower,
    /// `VALID`: no padding.
    Valid,
}

/// Attributes of [`crate::Op::Conv`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConvAttrs {
    /// Spatial kernel size.
    pub kernel: Vec<usize>,
    /// Stride per spatial axis.
    pub strides: Vec<usize>,
    /// Dilation per spatial axis.
    pub dilations: Vec<usize>,
    /// Padding.
    pub padding: Padding,
    /// Number of groups.
    pub group: usize,
}

/// The kind of a pooling op.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum PoolKind {
    /// Maximum of the window.
    Max,
    /// Mean of the window.
    Average {
        /// Count padded positions in the divisor.
        count_include_pad: bool,
    },
    /// `(sum |x|^p)^(1/p)` over the window.
    Lp {
        /// The norm's order.
        p: f32,
    },
}

/// Attributes of [`crate::Op::Pool`].
#[derive(Clone, Debug, PartialEq)]
pub struct PoolAttrs {
    /// The pooling function.
    pub kind: PoolKind,
    /// Window size per spatial axis.
    pub kernel: Vec<usize>,
    /// Stride per spatial axis.
    pub strides: Vec<usize>,
    /// Dilation per spatial axis.
    pub dilations: Vec<usize>,
    /// Padding.
    pub padding: Padding,
    /// Round the output size up instead of down.
    pub ceil_mode: bool,
}

/// Attributes of the normalization ops.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct NormAttrs {
    /// First normalized axis (layer and RMS norm; 1 for the others).
    pub axis: usize,
    /// Added to the variance before the square root.
    pub epsilon: f32,
}

/// Attributes of [`crate::Op::LayerNorm`].
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct LayerNormAttrs {
    /// First normalized axis.
    pub axis: usize,
    /// Added to the variance before the square root.
    pub epsilon: f32,
    /// Also give the mean and the inverse standard deviation of each normalized group as
    /// f32 results shaped like the input with the normalized axes set to 1 (three results
    /// instead of one).
    pub stats: bool,
}

/// Attributes of [`crate::Op::LpNorm`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct LpNormAttrs {
    /// The normalized axis.
    pub axis: usize,
    /// 1 or 2.
    pub p: u32,
}

/// Which function [`crate::Op::Softmax`] computes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum SoftmaxKind {
    /// `e^x / sum e^x`.
    Softmax,
    /// `x - max - ln(sum e^(x - max))`.
    LogSoftmax,
    /// 1 at the first maximum, 0 elsewhere.
    Hardmax,
}

/// Attributes of [`crate::Op::Softmax`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct SoftmaxAttrs {
    /// The function.
    pub kind: SoftmaxKind,
    /// The axis (opset 13+), or the first of the flattened trailing axes (before 13).
    pub axis: usize,
    /// Before opset 13: normalize over all axes from `axis` on, as one.
    pub flatten: bool,
}

/// The reduction function of [`crate::Op::Reduce`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ReduceKind {
    /// Sum.
    Sum,
    /// Mean.
    Mean,
    /// Maximum.
    Max,
    /// Minimum.
    Min,
    /// Product.
    Prod,
    /// Sum of absolute values.
    L1,
    /// Square root of the sum of squares.
    L2,
    /// Log of the sum.
    LogSum,
    /// Log of the sum of exponentials.
    LogSumExp,
    /// Sum of squares.
    SumSquare,
}

/// Attributes of [`crate::Op::Reduce`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ReduceAttrs {
    /// The reduction function.
    pub kind: ReduceKind,
    /// Keep reduced axes with size 1.
    pub keepdims: bool,
    /// With no axes given: return the input unchanged instead of reducing all axes.
    pub noop_with_empty_axes: bool,
}

/// Attributes of [`crate::Op::ArgReduce`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ArgReduceAttrs {
    /// Arg-max (true) or arg-min (false).
    pub max: bool,
    /// The reduced axis.
    pub axis: usize,
    /// Keep the reduced axis with size 1.
    pub keepdims: bool,
    /// Return the last index of ties instead of the first.
    pub select_last_index: bool,
}

/// Attributes of [`crate::Op::Reshape`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ReshapeAttrs {
    /// A `0` in the shape means size zero, not "copy the input's size".
    pub allowzero: bool,
}

/// A single normalized axis.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct AxisAttr {
    /// The axis.
    pub axis: usize,
}

/// Attributes of [`crate::Op::Transpose`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransposeAttrs {
    /// Output axis `i` is input axis `perm[i]`.
    pub perm: Vec<usize>,
}

/// Attributes of [`crate::Op::Split`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct SplitAttrs {
    /// The split axis.
    pub axis: usize,
    /// Number of results.
    pub outputs: usize,
}

/// Padding modes of [`crate::Op::Pad`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum PadMode {
    /// Fill with a constant.
    Constant,
    /// Mirror without repeating the edge.
    Reflect,
    /// Repeat the edge.
    Edge,
    /// Wrap around.
    Wrap,
}

/// Attributes of [`crate::Op::Pad`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct PadAttrs {
    /// How padded values are chosen.
    pub mode: PadMode,
}

/// Attributes of [`crate::Op::Shape`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ShapeAttrs {
    /// First axis reported (may be negative, ONNX rules).
    pub start: i64,
    /// One past the last axis reported; `None` for all.
    pub end: Option<i64>,
}

/// Attributes of [`crate::Op::Trilu`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct TriluAttrs {
    /// Keep the upper triangle (else the lower).
    pub upper: bool,
}

/// Attributes of [`crate::Op::CumSum`] and [`crate::Op::CumProd`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct CumSumAttrs {
    /// Leave out the element itself.
    pub exclusive: bool,
    /// Accumulate from the end.
    pub reverse: bool,
}

/// Attributes of [`crate::Op::DepthToSpace`] and [`crate::Op::SpaceToDepth`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct DepthToSpaceAttrs {
    /// Block edge.
    pub blocksize: usize,
    /// Column-row-depth order (`CRD`) instead of depth-column-row (`DCR`).
    pub crd: bool,
}

/// A block edge.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct BlockAttr {
    /// Block edge.
    pub blocksize: usize,
}

/// Attributes of [`crate::Op::TopK`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct TopKAttrs {
    /// The axis.
    pub axis: usize,
    /// Largest (true) or smallest.
    pub largest: bool,
    /// Sort the results.
    pub sorted: bool,
}

/// Attributes of [`crate::Op::EyeLike`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct EyeLikeAttrs {
    /// The diagonal: 0 main, positive above, negative below.
    pub k: i64,
    /// Result dtype (the operand's when `None`).
    pub dtype: Option<DType>,
}
