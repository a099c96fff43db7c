//! The op importers, one function per ONNX op (opset differences handled inside), and
//! the table that finds them by op type.

mod attention;
mod einsum;
mod elementwise;
mod layout;
mod loss;
mod nn;
mod quant;
mod random;
mod recurrent;
mod reduce;
mod scatter;
mod select;
mod signal;
mod vision;

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
        "IsInf" | "LeakyRelu" | "Elu" | "Selu" | "Celu" | "HardSigmoid" | "ThresholdedRelu" | "Gelu" | "Shrink"
        | "Swish" => elementwise::activation,
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
        "MaxPool" => vision::max_pool,
        "AveragePool" | "LpPool" => nn::pool,
        "GlobalMaxPool" | "GlobalAveragePool" | "GlobalLpPool" => nn::global_pool,
        "BatchNormalization" => nn::batch_norm,
        "InstanceNormalization" => nn::instance_norm,
        "LayerNormalization" | "RMSNormalization" => nn::trailing_norm,
        "LpNormalization" => nn::lp_norm,
        "Softmax" | "LogSoftmax" | "Hardmax" => nn::softmax,
        "ReduceSum" | "ReduceMean" | "ReduceMax" | "ReduceMin" | "ReduceProd" | "ReduceL1" | "ReduceL2"
        | "ReduceLogSum" | "ReduceLogSumExp" | "ReduceSumSquare" => reduce::reduce,
        "ArgMax" | "ArgMin" => reduce::arg_reduce,
        "CumSum" | "CumProd" => reduce::cum_sum,
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
        "QuantizeLinear" => quant::quantize_linear,
        "DequantizeLinear" => quant::dequantize_linear,
        "DynamicQuantizeLinear" => quant::dynamic_quantize_linear,
        "MatMulInteger" => quant::matmul_integer,
        "ConvInteger" => quant::conv_integer,
        "QLinearMatMul" => quant::qlinear_matmul,
        "QLinearConv" => quant::qlinear_conv,
        "BitCast" => quant::bit_cast,
        "ConvTranspose" => vision::conv_transpose,
        "LRN" => vision::lrn,
        "Resize" => vision::resize,
        "Upsample" => vision::upsample,
        "MaxUnpool" => vision::max_unpool,
        "GridSample" => vision::grid_sample,
        "AffineGrid" => vision::affine_grid,
        "Col2Im" => vision::col2im,
        "CenterCropPad" => vision::center_crop_pad,
        "RoiAlign" => vision::roi_align,
        "DeformConv" => vision::deform_conv,
        "Attention" => attention::attention,
        "RotaryEmbedding" => attention::rotary,
        "NegativeLogLikelihoodLoss" => loss::nll_loss,
        "SoftmaxCrossEntropyLoss" => loss::softmax_cross_entropy,
        "Einsum" => einsum::einsum,
        "Det" => einsum::det,
        "MeanVarianceNormalization" => einsum::mean_variance_normalization,
        "ScatterElements" | "Scatter" => scatter::scatter_elements,
        "ScatterND" => scatter::scatter_nd,
        "GatherND" => scatter::gather_nd,
        "Compress" => scatter::compress,
        "RNN" | "GRU" | "LSTM" => recurrent::rnn,
        "NonMaxSuppression" => select::non_max_suppression,
        "Unique" => select::unique,
        "ReverseSequence" => select::reverse_sequence,
        "TfIdfVectorizer" => select::tf_idf_vectorizer,
        "DFT" => signal::dft,
        "STFT" => signal::stft,
        "HannWindow" | "HammingWindow" | "BlackmanWindow" => signal::window,
        "MelWeightMatrix" => signal::mel_weight_matrix,
        "RandomUniform" | "RandomNormal" => random::random,
        "RandomUniformLike" | "RandomNormalLike" => random::random_like,
        "Bernoulli" => random::bernoulli,
        "Multinomial" => random::multinomial,
        _ => return None,
    })
}
