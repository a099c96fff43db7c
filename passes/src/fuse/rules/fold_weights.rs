//! Folding per-channel arithmetic after a convolution or `Gemm` into its weights and
//! bias: batch normalization, and multiplication or addition by per-channel constants.
//! The folded kernel does no work for them at all.

use egg::Id;
use lightos_ir::{BinaryOp, DType, Op, Tensor};

use super::query::{batch_norm_params, constant, is_absent, ops, same_type, shared};
use super::{Expr, Rule};
use crate::fuse::lang::EGraph;

pub(super) fn rules() -> Vec<Rule> {
    vec![
        Rule {
            name: "fold-batch-norm",
            apply: batch_norm,
        },
        Rule {
            name: "fold-channel-scale",
            apply: channel_scale,
        },
        Rule {
            name: "fold-channel-shift",
            apply: channel_shift,
        },
    ]
}

/// An `f32` constant's values, one per channel of a rank-`rank` value with `channels`
/// channels on axis 1, when it broadcasts that way (a scalar gives one value for all).
fn per_channel(t: &Tensor, rank: usize, channels: usize) -> Option<Vec<f32>> {
    if t.dtype() != DType::F32 || t.dims().len() > rank {
        return None;
    }
    let s = t.as_slice::<f32>().ok()?;
    if s.len() == 1 {
        return Some(vec![s[0]; channels]);
    }
    let offset = rank - t.dims().len();
    for (i, &d) in t.dims().iter().enumerate() {
        let axis = i + offset;
        if d != 1 && !(axis == 1 && d == channels) {
            return None;
        }
    }
    (s.len() == channels).then(|| s.to_vec())
}

/// A weight tensor `[C_out, ...]` with each output channel's slice scaled, as the
/// product of the weights' class and a constant shaped to broadcast along axis 0. The
/// product is folded when the e-node is made, once: proposing it again finds it.
fn scale_rows(w_class: Id, w: &Tensor, k: &[f32]) -> Option<Expr> {
    let rows = *w.dims().first()?;
    if rows != k.len() || rows == 0 {
        return None;
    }
    let mut dims = vec![rows];
    dims.resize(w.dims().len(), 1);
    let k = Tensor::from_vec(dims, k.to_vec()).ok()?;
    Some(Expr::op(
        Op::Binary(BinaryOp::Mul),
        vec![Expr::Class(w_class), Expr::constant(k)],
    ))
}

/// A matrix `[K, N]` with each column scaled, as a product like [`scale_rows`].
fn scale_cols(w_class: Id, w: &Tensor, k: &[f32]) -> Option<Expr> {
    if w.dims().len() != 2 || w.dims()[1] != k.len() {
        return None;
    }
    let k = Tensor::from_vec(vec![1, k.len()], k.to_vec()).ok()?;
    Some(Expr::op(
        Op::Binary(BinaryOp::Mul),
        vec![Expr::Class(w_class), Expr::constant(k)],
    ))
}

/// A convolution whose weights (and bias, if any) are `f32` constants.
struct ConstantConv {
    /// The `Conv` op.
    op: Op,
    /// Its input's class.
    input: Id,
    /// Its weights.
    w: Tensor,
    /// Its bias.
    bias: Option<Tensor>,
    /// The weights' class.
    w_class: Id,
}

/// A convolution in class `x` with constant `f32` weights: its operands `(X, W, B?)`.
fn conv_with_constant_weights(eg: &EGraph, x: Id) -> Vec<ConstantConv> {
    let mut found = Vec::new();
    for (op, ch) in ops(eg, x) {
        let Op::Conv(_) = op else { continue };
        let Some(w) = ch.get(1).and_then(|&w| constant(eg, w)) else {
            continue;
        };
        if w.dtype() != DType::F32 {
            continue;
        }
        let bias = match ch.get(2) {
            Some(&b) if !is_absent(eg, b) => match constant(eg, b) {
                Some(t) if t.dtype() == DType::F32 && t.len() == w.dims()[0] => Some(t.clone()),
                _ => continue,
            },
            _ => None,
        };
        found.push(ConstantConv {
            op: op.clone(),
            input: ch[0],
            w: w.clone(),
            bias,
            w_class: ch[1],
        });
    }
    found
}

/// Whether class `id` already holds a convolution or `Gemm` reading `input`: the fold
/// was made in an earlier iteration, and computing its weights again would be wasted.
fn already_folded(eg: &EGraph, id: Id, input: Id) -> bool {
    ops(eg, id).any(|(op, ch)| {
        matches!(op, Op::Conv(_) | Op::Gemm(_)) && ch.first().map(|&c| eg.find(c)) == Some(eg.find(input))
    })
}

fn vector(v: Vec<f32>) -> Option<Tensor> {
    Tensor::from_vec(vec![v.len()], v).ok()
}

/// A convolution with its weights and bias replaced.
fn conv_expr(op: Op, input: Id, w: Expr, b: Vec<f32>) -> Option<Expr> {
    Some(Expr::op(op, vec![Expr::Class(input), w, Expr::constant(vector(b)?)]))
}

/// `BatchNorm(Conv(x, W, B))` → `Conv(x, W * k, (B - mean) * k + beta)` with
/// `k = gamma / sqrt(var + eps)`, and the same for `Gemm` on its output columns.
fn batch_norm(eg: &EGraph, id: Id, out: &mut Vec<Expr>) {
    for (op, ch) in ops(eg, id) {
        let Op::BatchNorm(n) = op else { continue };
        let &[x, gamma, beta, mean, var] = ch else { continue };
        if shared(eg, x) || !same_type(eg, x, id) {
            continue;
        }
        let Some(bn) = batch_norm_params(eg, [gamma, beta, mean, var], n.epsilon) else {
            continue;
        };
        let (k, beta, mean) = (bn.k, bn.beta, bn.mean);
        let shift = |b: Option<&[f32]>| -> Vec<f32> {
            (0..k.len())
                .map(|c| (b.map_or(0.0, |b| b[c]) - mean[c]) * k[c] + beta[c])
                .collect()
        };
        for ConstantConv {
            op,
            input,
            w,
            bias: b,
            w_class: wc,
        } in conv_with_constant_weights(eg, x)
        {
            if w.dims()[0] != k.len() || already_folded(eg, id, input) {
                continue;
            }
            let b = b.as_ref().and_then(|t| t.as_slice::<f32>().ok());
            if let Some(e) = scale_rows(wc, &w, &k).and_then(|w| conv_expr(op, input, w, shift(b))) {
                out.push(e);
            }
        }
        for (gop, gch) in ops(eg, x) {
            let Op::Gemm(g) = gop else { continue };
            let Some(bw) = gch.get(1).and_then(|&b| constant(eg, b)) else {
                continue;
            };
            if bw.dtype() != DType::F32 || bw.dims().len() != 2 || already_folded(eg, id, gch[0]) {
                continue;
            }
            // Only a bias that is absent or one value per output column folds simply.
            let c = match gch.get(2) {
                Some(&c) if !is_absent(eg, c) => match constant(eg, c).and_then(|t| t.as_slice::<f32>().ok()) {
                    Some(s) if s.len() == k.len() => Some(s.iter().map(|v| v * g.beta).collect::<Vec<f32>>()),
                    _ => continue,
                },
                _ => None,
            };
            let folded = if g.trans_b {
                scale_rows(gch[1], bw, &k)
            } else {
                scale_cols(gch[1], bw, &k)
            };
            let (Some(folded), Some(bias)) = (folded, vector(shift(c.as_deref()))) else {
                continue;
            };
            let mut attrs = *g;
            attrs.beta = 1.0;
            out.push(Expr::op(
                Op::Gemm(attrs),
                vec![Expr::Class(gch[0]), folded, Expr::constant(bias)],
            ));
        }
    }
}

/// The convolution operand of a binary node and the per-channel constant beside it.
fn conv_and_channel_constant(eg: &EGraph, id: Id, a: Id, b: Id) -> Option<(Id, Vec<f32>)> {
    let rank = eg[id].data.ty.as_ref()?.rank();
    let channels = eg[id].data.ty.as_ref()?.shape.dims().get(1)?.fixed()?;
    for (x, c) in [(a, b), (b, a)] {
        if shared(eg, x) || !same_type(eg, x, id) {
            continue;
        }
        if let Some(v) = constant(eg, c).and_then(|t| per_channel(t, rank, channels)) {
            return Some((x, v));
        }
    }
    None
}

/// `Conv(x, W, B) * s` with `s` per output channel → `Conv(x, W * s, B * s)`.
fn channel_scale(eg: &EGraph, id: Id, out: &mut Vec<Expr>) {
    for (op, ch) in ops(eg, id) {
        let (Op::Binary(BinaryOp::Mul), &[a, b]) = (op, ch) else {
            continue;
        };
        let Some((x, k)) = conv_and_channel_constant(eg, id, a, b) else {
            continue;
        };
        for ConstantConv {
            op,
            input,
            w,
            bias,
            w_class: wc,
        } in conv_with_constant_weights(eg, x)
        {
            if already_folded(eg, id, input) {
                continue;
            }
            let b: Vec<f32> = match bias.as_ref().and_then(|t| t.as_slice::<f32>().ok()) {
                Some(s) => s.iter().zip(&k).map(|(b, k)| b * k).collect(),
                None => vec![0.0; k.len()],
            };
            if let Some(e) = scale_rows(wc, &w, &k).and_then(|w| conv_expr(op, input, w, b)) {
                out.push(e);
            }
        }
    }
}

/// `Conv(x, W, B) + t` (or `- t`) with `t` per output channel → `Conv(x, W, B ± t)`.
fn channel_shift(eg: &EGraph, id: Id, out: &mut Vec<Expr>) {
    for (op, ch) in ops(eg, id) {
        let (sign, a, b) = match (op, ch) {
            (Op::Binary(BinaryOp::Add), &[a, b]) => (1.0f32, a, b),
            (Op::Binary(BinaryOp::Sub), &[a, b]) if constant(eg, b).is_some() => (-1.0, a, b),
            _ => continue,
        };
        let Some((x, t)) = conv_and_channel_constant(eg, id, a, b) else {
            continue;
        };
        if sign < 0.0 && x != a {
            continue;
        }
        for ConstantConv {
            op,
            input,
            w,
            bias,
            w_class: wc,
        } in conv_with_constant_weights(eg, x)
        {
            if w.dims()[0] != t.len() || already_folded(eg, id, input) {
                continue;
            }
            let b: Vec<f32> = match bias.as_ref().and_then(|t| t.as_slice::<f32>().ok()) {
                Some(s) => s.iter().zip(&t).map(|(b, t)| b + sign * t).collect(),
                None => t.iter().map(|t| sign * t).collect(),
            };
            if let Some(e) = conv_expr(op, input, Expr::Class(wc), b) {
                out.push(e);
            }
        }
    }
}
