//! Layout rules: transposes composed and cancelled, chains of reshape-like views
//! collapsed into one reshape, views that change nothing removed, and transposes moved
//! across elementwise ops so that they can meet and cancel.

use egg::Id;
use lightos_ir::{Op, ReshapeAttrs, Tensor, TransposeAttrs};

use super::query::{dims, ops, same_type, splat};
use super::{Expr, Rule};
use crate::fuse::cost::is_view;
use crate::fuse::lang::EGraph;

pub(super) fn rules() -> Vec<Rule> {
    vec![
        Rule {
            name: "compose-transposes",
            apply: compose_transposes,
        },
        Rule {
            name: "collapse-views",
            apply: collapse_views,
        },
        Rule {
            name: "sink-transpose",
            apply: sink_transpose,
        },
    ]
}

fn transpose(x: Expr, perm: Vec<usize>) -> Expr {
    if perm.iter().enumerate().all(|(i, &p)| i == p) {
        return x;
    }
    Expr::op(Op::Transpose(TransposeAttrs { perm }), vec![x])
}

/// `transpose(transpose(x, p), q)` → `transpose(x, p∘q)`, or `x` when that is the
/// identity; `transpose(x, identity)` → `x`.
fn compose_transposes(eg: &EGraph, id: Id, out: &mut Vec<Expr>) {
    for (op, ch) in ops(eg, id) {
        let (Op::Transpose(q), &[y]) = (op, ch) else { continue };
        if q.perm.iter().enumerate().all(|(i, &p)| i == p) {
            out.push(Expr::Class(y));
            continue;
        }
        for (inner, ich) in ops(eg, y) {
            let (Op::Transpose(p), &[x]) = (inner, ich) else {
                continue;
            };
            if p.perm.len() != q.perm.len() {
                continue;
            }
            let composed: Vec<usize> = q.perm.iter().map(|&i| p.perm[i]).collect();
            out.push(transpose(Expr::Class(x), composed));
        }
    }
}

/// A view of a view → one reshape of the original to the final (fixed) dims; a view
/// that does not change the type → its operand.
fn collapse_views(eg: &EGraph, id: Id, out: &mut Vec<Expr>) {
    for (op, ch) in ops(eg, id) {
        if !is_view(op) || matches!(op, Op::Identity) {
            continue;
        }
        let Some(&y) = ch.first() else { continue };
        if same_type(eg, y, id) {
            out.push(Expr::Class(y));
            continue;
        }
        let Some(target) = dims(eg, id) else { continue };
        for (inner, ich) in ops(eg, y) {
            if !is_view(inner) {
                continue;
            }
            let Some(&x) = ich.first() else { continue };
            if same_type(eg, x, id) {
                out.push(Expr::Class(x));
                continue;
            }
            let shape: Vec<i64> = target.iter().map(|&d| d as i64).collect();
            let Ok(shape) = Tensor::from_vec(vec![shape.len()], shape) else {
                continue;
            };
            out.push(Expr::op(
                Op::Reshape(ReshapeAttrs { allowzero: true }),
                vec![Expr::Class(x), Expr::constant(shape)],
            ));
        }
    }
}

/// `u(transpose(x, p))` → `transpose(u(x), p)` for an elementwise unary `u`, and
/// `b(transpose(x, p), transpose(y, p))` or `b(transpose(x, p), scalar)` likewise for a
/// binary `b`: the transpose moves past the elementwise op, toward another transpose.
fn sink_transpose(eg: &EGraph, id: Id, out: &mut Vec<Expr>) {
    let transposed = |c: Id| -> Vec<(Vec<usize>, Id)> {
        ops(eg, c)
            .filter_map(|(op, ch)| match (op, ch) {
                (Op::Transpose(t), &[x]) => Some((t.perm.clone(), x)),
                _ => None,
            })
            .collect()
    };
    for (op, ch) in ops(eg, id) {
        match (op, ch) {
            (Op::Unary(_), &[y]) => {
                for (perm, x) in transposed(y) {
                    out.push(transpose(Expr::op(op.clone(), vec![Expr::Class(x)]), perm));
                }
            }
            (Op::Binary(_), &[a, b]) => {
                let (ta, tb) = (transposed(a), transposed(b));
                for (pa, x) in &ta {
                    for (pb, y) in &tb {
                        if pa == pb && same_type(eg, *x, *y) {
                            let inner = Expr::op(op.clone(), vec![Expr::Class(*x), Expr::Class(*y)]);
                            out.push(transpose(inner, pa.clone()));
                        }
                    }
                    if splat(eg, b).is_some() && dims(eg, b).is_some_and(|d| d.iter().product::<usize>() == 1) {
                        let inner = Expr::op(op.clone(), vec![Expr::Class(*x), Expr::Class(b)]);
                        out.push(transpose(inner, pa.clone()));
                    }
                }
            }
            _ => {}
        }
    }
}
