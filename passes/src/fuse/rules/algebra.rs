//! Algebraic identities: `x * 1`, `x + 0`, `x - 0`, `x / 1`, `--x`, identity ops, and
//! division by a constant turned into multiplication by its reciprocal.

use egg::Id;
use lightos_ir::{BinaryOp, DType, Op, Tensor, UnaryOp};

use super::query::{constant, ops, same_type, splat};
use super::{Expr, Rule};
use crate::fuse::lang::EGraph;

pub(super) fn rules() -> Vec<Rule> {
    vec![
        Rule {
            name: "neutral-element",
            apply: neutral_element,
        },
        Rule {
            name: "double-negation",
            apply: double_negation,
        },
        Rule {
            name: "identity",
            apply: identity,
        },
        Rule {
            name: "divide-by-constant",
            apply: divide_by_constant,
        },
    ]
}

/// `x * 1`, `1 * x`, `x + 0`, `0 + x`, `x - 0`, `x / 1` → `x`, where the constant does
/// not broadcast `x` to a larger shape.
fn neutral_element(eg: &EGraph, id: Id, out: &mut Vec<Expr>) {
    for (op, ch) in ops(eg, id) {
        let &[a, b] = ch else { continue };
        let Op::Binary(bop) = op else { continue };
        let keep = match bop {
            BinaryOp::Mul => match (splat(eg, a), splat(eg, b)) {
                (_, Some(v)) if v == 1.0 => Some(a),
                (Some(v), _) if v == 1.0 => Some(b),
                _ => None,
            },
            BinaryOp::Add => match (splat(eg, a), splat(eg, b)) {
                (_, Some(v)) if v == 0.0 => Some(a),
                (Some(v), _) if v == 0.0 => Some(b),
                _ => None,
            },
            BinaryOp::Sub => splat(eg, b).filter(|&v| v == 0.0).map(|_| a),
            BinaryOp::Div => splat(eg, b).filter(|&v| v == 1.0).map(|_| a),
            _ => None,
        };
        if let Some(x) = keep.filter(|&x| same_type(eg, x, id)) {
            out.push(Expr::Class(x));
        }
    }
}

/// `-(-x)` → `x`.
fn double_negation(eg: &EGraph, id: Id, out: &mut Vec<Expr>) {
    for (op, ch) in ops(eg, id) {
        let (Op::Unary(UnaryOp::Neg), &[y]) = (op, ch) else { continue };
        for (inner, ich) in ops(eg, y) {
            if let (Op::Unary(UnaryOp::Neg), &[x]) = (inner, ich) {
                out.push(Expr::Class(x));
            }
        }
    }
}

/// `Identity(x)` → `x`.
fn identity(eg: &EGraph, id: Id, out: &mut Vec<Expr>) {
    for (op, ch) in ops(eg, id) {
        if let (Op::Identity, &[x]) = (op, ch) {
            out.push(Expr::Class(x));
        }
    }
}

/// `x / c` → `x * (1 / c)` for an `f32` constant `c`.
fn divide_by_constant(eg: &EGraph, id: Id, out: &mut Vec<Expr>) {
    for (op, ch) in ops(eg, id) {
        let (Op::Binary(BinaryOp::Div), &[x, c]) = (op, ch) else { continue };
        let Some(t) = constant(eg, c).filter(|t| t.dtype() == DType::F32) else { continue };
        if constant(eg, x).is_some() {
            continue;
        }
        let Ok(s) = t.as_slice::<f32>() else { continue };
        let recip: Vec<f32> = s.iter().map(|v| 1.0 / v).collect();
        let Ok(r) = Tensor::from_vec(t.dims().to_vec(), recip) else { continue };
        out.push(Expr::op(
            Op::Binary(BinaryOp::Mul),
            vec![Expr::Class(x), Expr::constant(r)],
        ));
    }
}
