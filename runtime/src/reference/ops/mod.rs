//! The reference kernels, one module per op family, and the dispatch from [`Op`].

mod attention;
mod det;
mod einsum;
mod elementwise;
mod fused;
mod index;
mod layout;
mod linalg;
mod loss;
mod norm;
mod quant;
mod random;
mod recurrent;
mod reduce;
mod resize;
mod rotary;
mod sampling;
mod scalar;
mod scatter;
mod select;
mod signal;
mod vision;

use lightos_ir::{Op, Tensor};

use super::{invalid, EvalError};

pub(crate) use attention::{attention_exp_f32, attention_mask_f32};
pub(crate) use elementwise::{binary_f32, clip_f32, is_f32_unary, unary_f32};
pub(crate) use layout::concat_dims;

/// Evaluates `op` on `operands` (`None` for absent optional ones) and returns its results.
pub fn eval_op(op: &Op, operands: &[Option<&Tensor>]) -> Result<Vec<Tensor>, EvalError> {
    let arg = |i: usize| -> Result<&Tensor, EvalError> {
        match operands.get(i) {
            Some(Some(t)) => Ok(*t),
            _ => invalid!("{} needs operand {i}", op.name()),
        }
    };
    let opt = |i: usize| operands.get(i).copied().flatten();
    let one = |t: Tensor| Ok(vec![t]);
    match op {
        Op::Constant(t) => one(t.clone()),
        Op::Identity => one(arg(0)?.clone()),
        Op::Unary(u) => one(elementwise::unary(*u, arg(0)?)?),
        Op::Binary(b) => one(elementwise::binary(*b, arg(0)?, arg(1)?)?),
        Op::Where => one(elementwise::where_(arg(0)?, arg(1)?, arg(2)?)?),
        Op::Clip => one(elementwise::clip(arg(0)?, opt(1), opt(2))?),
        Op::Cast(c) => one(elementwise::cast_with(arg(0)?, c)?),
        Op::MatMul => one(linalg::matmul(arg(0)?, arg(1)?)?),
        Op::Gemm(g) => one(linalg::gemm(g, arg(0)?, arg(1)?, opt(2))?),
        Op::Conv(c) => one(linalg::conv(c, arg(0)?, arg(1)?, opt(2))?),
        Op::Pool(p) => one(linalg::pool(p, arg(0)?)?),
        Op::GlobalPool(k) => one(linalg::global_pool(*k, arg(0)?)?),
        Op::BatchNorm(n) => one(norm::batch_norm(n, arg(0)?, arg(1)?, arg(2)?, arg(3)?, arg(4)?)?),
        Op::InstanceNorm(n) => one(norm::instance_norm(n, arg(0)?, arg(1)?, arg(2)?)?),
        Op::LayerNorm(n) => norm::layer_norm(n, arg(0)?, arg(1)?, opt(2)),
        Op::RmsNorm(n) => one(norm::rms_norm(n, arg(0)?, arg(1)?)?),
        Op::LpNorm(n) => one(norm::lp_norm(n, arg(0)?)?),
        Op::Softmax(s) => one(norm::softmax(s, arg(0)?)?),
        Op::Reduce(r) => one(reduce::reduce(r, arg(0)?, opt(1))?),
        Op::ArgReduce(a) => one(reduce::arg_reduce(a, arg(0)?)?),
        Op::CumSum(c) => one(reduce::cum_sum(c, arg(0)?, arg(1)?)?),
        Op::CumProd(c) => one(reduce::cum_prod(c, arg(0)?, arg(1)?)?),
        Op::ScatterElements(s) => one(scatter::scatter_elements(s, arg(0)?, arg(1)?, arg(2)?)?),
        Op::ScatterNd(s) => one(scatter::scatter_nd(s, arg(0)?, arg(1)?, arg(2)?)?),
        Op::GatherNd(g) => one(scatter::gather_nd(g, arg(0)?, arg(1)?)?),
        Op::Compress(c) => one(scatter::compress(c, arg(0)?, arg(1)?)?),
        Op::Fused(f) => one(fused::fused(f, operands)?),
        Op::Det => one(det::det(arg(0)?)?),
        Op::RotaryEmbedding(r) => one(rotary::rotary(r, arg(0)?, arg(1)?, arg(2)?, opt(3))?),
        Op::Einsum(e) => {
            let parts: Vec<&Tensor> = operands.iter().flatten().copied().collect();
            one(einsum::einsum(e, &parts)?)
        }
        Op::TopK(t) => {
            let (values, indices) = reduce::top_k(t, arg(0)?, arg(1)?)?;
            Ok(vec![values, indices])
        }
        Op::Reshape(r) => one(layout::reshape(r, arg(0)?, arg(1)?)?),
        Op::Flatten(a) => one(layout::flatten(a.axis, arg(0)?)?),
        Op::Squeeze => one(layout::squeeze(arg(0)?, opt(1))?),
        Op::Unsqueeze => one(layout::unsqueeze(arg(0)?, arg(1)?)?),
        Op::Transpose(t) => one(layout::transpose(&t.perm, arg(0)?)?),
        Op::Concat(a) => {
            let parts: Vec<&Tensor> = operands.iter().flatten().copied().collect();
            one(layout::concat(a.axis, &parts)?)
        }
        Op::Split(s) => layout::split(s, arg(0)?, opt(1)),
        Op::Slice => one(layout::slice(arg(0)?, arg(1)?, arg(2)?, opt(3), opt(4))?),
        Op::Gather(a) => one(layout::gather(a.axis, arg(0)?, arg(1)?)?),
        Op::GatherElements(a) => one(layout::gather_elements(a.axis, arg(0)?, arg(1)?)?),
        Op::Expand => one(layout::expand(arg(0)?, arg(1)?)?),
        Op::Tile => one(layout::tile(arg(0)?, arg(1)?)?),
        Op::Pad(p) => one(layout::pad(p, arg(0)?, arg(1)?, opt(2), opt(3))?),
        Op::Shape(s) => one(layout::shape(s, arg(0)?)?),
        Op::Size => one(Tensor::scalar(arg(0)?.len() as i64)),
        Op::ConstantOfShape(v) => one(layout::constant_of_shape(v, arg(0)?)?),
        Op::Range => one(layout::range(arg(0)?, arg(1)?, arg(2)?)?),
        Op::Trilu(t) => one(layout::trilu(t, arg(0)?, opt(1))?),
        Op::DepthToSpace(d) => one(layout::depth_to_space(d, arg(0)?)?),
        Op::SpaceToDepth(d) => one(layout::space_to_depth(d, arg(0)?)?),
        Op::OneHot(a) => one(layout::one_hot(a.axis, arg(0)?, arg(1)?, arg(2)?)?),
        Op::EyeLike(e) => one(layout::eye_like(e, arg(0)?)?),
        Op::NonZero => one(layout::non_zero(arg(0)?)?),
        Op::QuantizeLinear(q) => one(quant::quantize_linear(q, arg(0)?, arg(1)?, opt(2))?),
        Op::DequantizeLinear(d) => one(quant::dequantize_linear(d, arg(0)?, arg(1)?, opt(2))?),
        Op::DynamicQuantizeLinear => quant::dynamic_quantize_linear(arg(0)?),
        Op::MatMulInteger => one(quant::matmul_integer(arg(0)?, arg(1)?, opt(2), opt(3))?),
        Op::ConvInteger(c) => one(quant::conv_integer(c, arg(0)?, arg(1)?, opt(2), opt(3))?),
        Op::QLinearMatMul => one(quant::qlinear_matmul(std::array::from_fn(opt))?),
        Op::QLinearConv(c) => one(quant::qlinear_conv(c, std::array::from_fn(opt))?),
        Op::BitCast(b) => one(quant::bit_cast(b, arg(0)?)?),
        Op::NllLoss(l) => one(loss::nll_loss(l, arg(0)?, arg(1)?, opt(2))?),
        Op::Attention(a) => attention::attention(
            a,
            &attention::AttentionInputs {
                q: arg(0)?,
                k: arg(1)?,
                v: arg(2)?,
                mask: opt(3),
                past_key: opt(4),
                past_value: opt(5),
                nonpad: opt(6),
            },
        ),
        Op::ConvTranspose(c) => one(vision::conv_transpose(c, arg(0)?, arg(1)?, opt(2))?),
        Op::Lrn(l) => one(vision::lrn(l, arg(0)?)?),
        Op::Resize(r) => one(resize::resize(r, arg(0)?, opt(1), opt(2), opt(3))?),
        Op::MaxPoolIndices(p) => {
            let (values, indices) = vision::max_pool_indices(p, arg(0)?)?;
            Ok(vec![values, indices])
        }
        Op::MaxUnpool(u) => one(vision::max_unpool(u, arg(0)?, arg(1)?, opt(2))?),
        Op::GridSample(g) => one(sampling::grid_sample(g, arg(0)?, arg(1)?)?),
        Op::AffineGrid(g) => one(sampling::affine_grid(g.align_corners, arg(0)?, arg(1)?)?),
        Op::Col2Im(c) => one(vision::col2im(c, arg(0)?, arg(1)?, arg(2)?)?),
        Op::CenterCropPad(c) => one(vision::center_crop_pad(c, arg(0)?, arg(1)?)?),
        Op::RoiAlign(r) => one(sampling::roi_align(r, arg(0)?, arg(1)?, arg(2)?)?),
        Op::DeformConv(d) => one(sampling::deform_conv(d, arg(0)?, arg(1)?, arg(2)?, opt(3), opt(4))?),
        Op::Rnn(r) => recurrent::rnn(r, operands),
        Op::NonMaxSuppression(n) => one(select::non_max_suppression(
            n,
            arg(0)?,
            arg(1)?,
            opt(2),
            opt(3),
            opt(4),
        )?),
        Op::Unique(u) => select::unique(u, arg(0)?),
        Op::ReverseSequence(r) => one(select::reverse_sequence(r, arg(0)?, arg(1)?)?),
        Op::TfIdfVectorizer(t) => one(select::tf_idf(t, arg(0)?)?),
        Op::Dft(d) => one(signal::dft(d, arg(0)?, opt(1), opt(2))?),
        Op::Stft(s) => one(signal::stft(s, arg(0)?, arg(1)?, opt(2), opt(3))?),
        Op::Window(w) => one(signal::window(w, arg(0)?)?),
        Op::Random(r) => one(random::random(r)?),
        Op::RandomLike(r) => one(random::random_like(r, arg(0)?)?),
        Op::Bernoulli(b) => one(random::bernoulli(b, arg(0)?)?),
        Op::Multinomial(m) => one(random::multinomial(m, arg(0)?)?),
        Op::MelWeightMatrix(m) => one(signal::mel_weight_matrix(
            m,
            [arg(0)?, arg(1)?, arg(2)?, arg(3)?, arg(4)?],
        )?),
    }
}
