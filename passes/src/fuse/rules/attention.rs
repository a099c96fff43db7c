//! Scaled dot-product attention: `softmax(scale * Q Kᵀ + mask) V`, written by exporters as
//! two matrix products around a softmax, with the scale applied to the product or to `Q`
//! and `Kᵀ` separately, becomes one fused `attention` op (rank-4 `Q`, `K`, `V`).

use egg::Id;
use lightos_ir::{AttentionAttrs, BinaryOp, DType, Op, QkOutput, TransposeAttrs};

use super::query::{ops, splat, ty};
use super::{Expr, Rule};
use crate::fuse::lang::EGraph;

pub(super) fn rules() -> Vec<Rule> {
    vec![Rule {
        name: "recognize-attention",
        apply: attention,
    }]
}

/// Class `id` as `x * c` (either order) or `x / c` for a scalar constant `c`: the pairs
/// `(x, factor)`, with `(id, 1)` always first.
fn scaled(eg: &EGraph, id: Id) -> Vec<(Id, f32)> {
    let mut found = vec![(id, 1.0)];
    for (op, ch) in ops(eg, id) {
        match (op, ch) {
            (Op::Binary(BinaryOp::Mul), &[a, b]) => {
                if let Some(c) = splat(eg, b) {
                    found.push((a, c));
                }
                if let Some(c) = splat(eg, a) {
                    found.push((b, c));
                }
            }
            (Op::Binary(BinaryOp::Div), &[a, b]) => {
                if let Some(c) = splat(eg, b) {
                    found.push((a, 1.0 / c));
                }
            }
            _ => {}
        }
    }
    found
}

fn rank4_f32(eg: &EGraph, id: Id) -> bool {
    ty(eg, id).is_some_and(|t| t.rank() == 4 && t.dtype == DType::F32)
}

/// `matmul(softmax(scale * matmul(Q, Kᵀ) [+ mask], last axis), V)` → `attention(Q, K, V,
/// mask)`.
fn attention(eg: &EGraph, id: Id, out: &mut Vec<Expr>) {
    for (op, ch) in ops(eg, id) {
        let (Op::MatMul, &[p, v]) = (op, ch) else { continue };
        if !rank4_f32(eg, v) {
            continue;
        }
        for (sop, sch) in ops(eg, p) {
            let (Op::Softmax(s), &[scores]) = (sop, sch) else {
                continue;
            };
            if s.flatten || s.axis != 3 || s.kind != lightos_ir::SoftmaxKind::Softmax {
                continue;
            }
            // Scores, with or without an additive mask.
            let mut candidates = vec![(scores, None)];
            for (aop, ach) in ops(eg, scores) {
                if let (Op::Binary(BinaryOp::Add), &[a, b]) = (aop, ach) {
                    candidates.push((a, Some(b)));
                    candidates.push((b, Some(a)));
                }
            }
            for (product, mask) in candidates {
                if let Some(m) = mask {
                    let kv = ty(eg, v).and_then(|t| t.shape.dims()[2].fixed());
                    let ok = ty(eg, m).is_some_and(|t| {
                        t.dtype == DType::F32 && t.rank() <= 4 && t.shape.dims().last().and_then(|d| d.fixed()) == kv
                    });
                    if !ok {
                        continue;
                    }
                }
                for (qk, outer) in scaled(eg, product) {
                    for (mop, mch) in ops(eg, qk) {
                        let (Op::MatMul, &[qs, kts]) = (mop, mch) else { continue };
                        for (q, cq) in scaled(eg, qs) {
                            for (kt, ck) in scaled(eg, kts) {
                                if !rank4_f32(eg, q) || !rank4_f32(eg, kt) {
                                    continue;
                                }
                                let scale = outer * cq * ck;
                                let k = Expr::op(
                                    Op::Transpose(TransposeAttrs { perm: vec![0, 1, 3, 2] }),
                                    vec![Expr::Class(kt)],
                                );
                                let mut children = vec![Expr::Class(q), k, Expr::Class(v)];
                                if let Some(m) = mask {
                                    children.push(Expr::Class(m));
                                }
                                out.push(Expr::op(
                                    Op::Attention(AttentionAttrs {
                                        is_causal: false,
                                        q_num_heads: None,
                                        kv_num_heads: None,
                                        qk_output: QkOutput::Raw,
                                        scale: Some(scale),
                                        softcap: 0.0,
                                        softmax_precision: None,
                                        left_window: None,
                                        right_window: None,
                                    }),
                                    children,
                                ));
                            }
                        }
                    }
                }
            }
        }
    }
}
