//! The op importers, one function per ONNX op (opset differences handled inside), and
//! the table that finds them by op type.

mod elementwise;
mod layout;
mod nn;
mod reduce;

use super::context::{ImportResult, Importer, NodeCx};

/// An importer of one ONNX op type.
pub(crate) type ImportFn = fn(&mut Importer, &NodeCx) -> ImportResult;

/// The importer of an ai.onnx op type, or `None` when the op is not supported.
pub(crate) fn importer(op_type: &str) -> Option<ImportFn> {
    if elementwise::plain_unary(op_type).is_some() {
        return Some(|im, cx| {
            let op = elementwise::plain_unary(&cx.node.op_type).ok_or("not a unary op")?;
            elementwise::unary(im, cx, op)
        });
    }
    if elementwise::plain_binary(op_type).is_some() {
        return Some(|im, cx| {
            let op = elementwise::plain_binary(&cx.node.op_type).ok_or("not a binary op")?;
            elementwise::binary(im, cx, op)
        });
    }
    Some(match op_type {
        "IsInf" | "LeakyRelu" | "Elu" | "Selu" | "Celu" | "HardSigmoid" | "ThresholdedRelu" | "Gelu" | "Shrink" => {
            elementwise::activation
        }
        "Mod" => elementwise::modulo,
        "BitShift" => elementwise::bit_shift,
        "Sum" | "Max" | "Min" | "Mean" => elementwise::variadic,
        "Where" => elementwise::where_,
        "Clip" => elementwise::clip,
        "Cast" | "CastLike" => elementwise::cast,
        "Identity" | "Dropout" => elementwise::identity,
        "MatMul" => nn::matmul,
        "Gemm" => nn::gemm,
        "Conv" => nn::conv,
        "MaxPool" | "AveragePool" | "LpPool" => nn::pool,
        "GlobalMaxPool" | "GlobalAveragePool" | "GlobalLpPool" => nn::global_pool,
        "BatchNormalization" => nn::batch_norm,
        "InstanceNormalization" => nn::instance_norm,
        "LayerNormalization" | "RMSNormalization" => nn::trailing_norm,
        "LpNormalization" => nn::lp_norm,
        "Softmax" | "LogSoftmax" | "Hardmax" => nn::softmax,
        "ReduceSum" | "ReduceMean" | "ReduceMax" | "ReduceMin" | "ReduceProd" | "ReduceL1" | "ReduceL2"
        | "ReduceLogSum" | "ReduceLogSumExp" | "ReduceSumSquare" => reduce::reduce,
        "ArgMax" | "ArgMin" => reduce::arg_reduce,
        "CumSum" => reduce::cum_sum,
        "TopK" => reduce::top_k,
        "Reshape" => layout::reshape,
        "Flatten" => layout::flatten,
        "Squeeze" | "Unsqueeze" => layout::squeeze,
        "Transpose" => layout::transpose,
        "Concat" => layout::concat,
        "Split" => layout::split,
        "Slice" => layout::slice,
        "Gather" | "GatherElements" => layout::gather,
        "Expand" | "Tile" | "Range" | "NonZero" | "Size" => layout::direct,
        "Pad" => layout::pad,
        "Shape" => layout::shape,
        "ConstantOfShape" => layout::constant_of_shape,
        "Trilu" => layout::trilu,
        "DepthToSpace" | "SpaceToDepth" => layout::depth_space,
        "OneHot" => layout::one_hot,
        "EyeLike" => layout::eye_like,
        "Constant" => layout::constant,
        _ => return None,
    })
}
