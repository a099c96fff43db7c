//! Algebraic identities: `x * 1`, `x + 0`, `x - 0`, `x / 1`, `--x`, identity ops, and
//! division by a constant turned into multiplication by its reciprocal.

use egg::Id;
use lightos_ir::{BinaryOp, DType, Op, Tensor, UnaryOp};

use super::query::{batch_norm_params, constant, ops, same_type, splat};
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
        Rule {
            name: "batch-norm-as-affine",
            apply: batch_norm_as_affine,
        },
        Rule {
            name: "combine-constant-affine",
            apply: combine_constant_affine,
        },
    ]
}

/// The operands of binary nodes `want` in class `id` as `(value, constant)` pairs, in
/// either order for commutative ops.
fn with_constant(eg: &EGraph, id: Id, want: BinaryOp) -> Vec<(Id, Id)> {
    let mut found = Vec::new();
    for (op, ch) in ops(eg, id) {
        let (Op::Binary(b), &[x, y]) = (op, ch) else { continue };
        if *b != want {
            continue;
        }
        let f32_const = |c: Id| constant(eg, c).is_some_and(|t| t.dtype() == DType::F32);
        if f32_const(y) && !f32_const(x) {
            found.push((x, y));
        }
        if f32_const(x) && !f32_const(y) && matches!(want, BinaryOp::Add | BinaryOp::Mul) {
            found.push((y, x));
        }
    }
    found
}

fn binary(op: BinaryOp, a: Expr, b: Expr) -> Expr {
    Expr::op(Op::Binary(op), vec![a, b])
}

/// `batch_norm(x, gamma, beta, mean, var)` with constant parameters → `x * k + c` with
/// `k = gamma / sqrt(var + eps)` and `c = beta - mean * k` per channel, so it can join an
/// elementwise kernel.
fn batch_norm_as_affine(eg: &EGraph, id: Id, out: &mut Vec<Expr>) {
    for (op, ch) in ops(eg, id) {
        let (Op::BatchNorm(n), &[x, gamma, beta, mean, var]) = (op, ch) else {
            continue;
        };
        let Some(rank) = eg[x].data.ty.as_ref().map(|t| t.rank()) else {
            continue;
        };
        let Some(bn) = batch_norm_params(eg, [gamma, beta, mean, var], n.epsilon) else {
            continue;
        };
        if rank < 2 {
            continue;
        }
        let k = bn.k;
        let c: Vec<f32> = (0..k.len()).map(|i| bn.beta[i] - bn.mean[i] * k[i]).collect();
        let mut dims = vec![k.len()];
        dims.resize(rank - 1, 1);
        let (Ok(k), Ok(c)) = (Tensor::from_vec(dims.clone(), k), Tensor::from_vec(dims, c)) else {
            continue;
        };
        let scaled = binary(BinaryOp::Mul, Expr::Class(x), Expr::constant(k));
        out.push(binary(BinaryOp::Add, scaled, Expr::constant(c)));
    }
}

/// Constants applied one after another combine: `(x * a) * b` → `x * (a * b)`,
/// `(x + a) + b` → `x + (a + b)`, `(x + a) * b` → `x * b + a * b`; the combined
/// constants are folded at compile time.
fn combine_constant_affine(eg: &EGraph, id: Id, out: &mut Vec<Expr>) {
    for (outer, b) in with_constant(eg, id, BinaryOp::Mul) {
        for (x, a) in with_constant(eg, outer, BinaryOp::Mul) {
            let ab = binary(BinaryOp::Mul, Expr::Class(a), Expr::Class(b));
            out.push(binary(BinaryOp::Mul, Expr::Class(x), ab));
        }
        for (x, a) in with_constant(eg, outer, BinaryOp::Add) {
            let xb = binary(BinaryOp::Mul, Expr::Class(x), Expr::Class(b));
            let ab = binary(BinaryOp::Mul, Expr::Class(a), Expr::Class(b));
            out.push(binary(BinaryOp::Add, xb, ab));
        }
    }
    for (outer, b) in with_constant(eg, id, BinaryOp::Add) {
        for (x, a) in with_constant(eg, outer, BinaryOp::Add) {
            let ab = binary(BinaryOp::Add, Expr::Class(a), Expr::Class(b));
            out.push(binary(BinaryOp::Add, Expr::Class(x), ab));
        }
    }
}

/// `x * 1`, `1 * x`, `x + 0`, `0 + x`, `x - 0`, `x / 1` → `x`, where the constant does
/// not broadcast `x` to a larger shape.
fn neutral_element(eg: &EGraph, id: Id, out: &mut Vec<Expr>) {
    for (op, ch) in ops(eg, id) {
        let &[a, b] = ch else { continue };
        let Op::Binary(bop) = op else { continue };
        let keep = match bop {
            BinaryOp::Mul => match (splat(eg, a), splat(eg, b)) {
                (_, Some(1.0)) => Some(a),
                (Some(1.0), _) => Some(b),
                _ => None,
            },
            BinaryOp::Add => match (splat(eg, a), splat(eg, b)) {
                (_, Some(0.0)) => Some(a),
                (Some(0.0), _) => Some(b),
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
        let (Op::Unary(UnaryOp::Neg), &[y]) = (op, ch) else {
            continue;
        };
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
        let (Op::Binary(BinaryOp::Div), &[x, c]) = (op, ch) else {
            continue;
        };
        let Some(t) = constant(eg, c).filter(|t| t.dtype() == DType::F32) else {
            continue;
        };
        if constant(eg, x).is_some() {
            continue;
        }
        let Ok(s) = t.as_slice::<f32>() else { continue };
        let recip: Vec<f32> = s.iter().map(|v| 1.0 / v).collect();
        let Ok(r) = Tensor::from_vec(t.dims().to_vec(), recip) else {
            continue;
        };
        out.push(Expr::op(
            Op::Binary(BinaryOp::Mul),
            vec![Expr::Class(x), Expr::constant(r)],
        ));
    }
}
