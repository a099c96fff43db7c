//! The reference kernels, one module per op family, and the dispatch from [`Op`].

mod elementwise;
mod index;
mod layout;
mod linalg;
mod norm;
mod reduce;
mod scalar;

use lightos_ir::{Op, Tensor};

use super::{invalid, EvalError};

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
        Op::Cast(c) => one(elementwise::cast(arg(0)?, c.to)?),
        Op::MatMul => one(linalg::matmul(arg(0)?, arg(1)?)?),
        Op::Gemm(g) => one(linalg::gemm(g, arg(0)?, arg(1)?, opt(2))?),
        Op::Conv(c) => one(linalg::conv(c, arg(0)?, arg(1)?, opt(2))?),
        Op::Pool(p) => one(linalg::pool(p, arg(0)?)?),
        Op::GlobalPool(k) => one(linalg::global_pool(*k, arg(0)?)?),
        Op::BatchNorm(n) => one(norm::batch_norm(n, arg(0)?, arg(1)?, arg(2)?, arg(3)?, arg(4)?)?),
        Op::InstanceNorm(n) => one(norm::instance_norm(n, arg(0)?, arg(1)?, arg(2)?)?),
        Op::LayerNorm(n) => one(norm::layer_norm(n, arg(0)?, arg(1)?, opt(2))?),
        Op::RmsNorm(n) => one(norm::rms_norm(n, arg(0)?, arg(1)?)?),
        Op::LpNorm(n) => one(norm::lp_norm(n, arg(0)?)?),
        Op::Softmax(s) => one(norm::softmax(s, arg(0)?)?),
        Op::Reduce(r) => one(reduce::reduce(r, arg(0)?, opt(1))?),
        Op::ArgReduce(a) => one(reduce::arg_reduce(a, arg(0)?)?),
        Op::CumSum(c) => one(reduce::cum_sum(c, arg(0)?, arg(1)?)?),
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
        Op::SpaceToDepth(b) => one(layout::space_to_depth(b.blocksize, arg(0)?)?),
        Op::OneHot(a) => one(layout::one_hot(a.axis, arg(0)?, arg(1)?, arg(2)?)?),
        Op::EyeLike(e) => one(layout::eye_like(e, arg(0)?)?),
        Op::NonZero => one(layout::non_zero(arg(0)?)?),
    }
}
