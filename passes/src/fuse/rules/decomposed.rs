//! Recognizing the decomposed forms exporters write as the one op they mean: the
//! erf-based and tanh-based GELU, SiLU (`x * sigmoid(x)`), the ReduceMean/Sub/Pow/Sqrt/Div layer normalization
//! (with its scale and shift), and the Exp/ReduceSum/Div softmax (with or without the
//! subtracted maximum).

use egg::Id;
use lightos_ir::{BinaryOp, DType, LayerNormAttrs, Op, ReduceKind, SoftmaxAttrs, SoftmaxKind, Tensor, UnaryOp};

use super::query::{constant, ints, is_absent, ops, splat, ty};
use super::{Expr, Rule};
use crate::fuse::lang::EGraph;

pub(super) fn rules() -> Vec<Rule> {
    vec![
        Rule {
            name: "recognize-softmax",
            apply: softmax,
        },
        Rule {
            name: "recognize-layer-norm",
            apply: layer_norm,
        },
        Rule {
            name: "layer-norm-affine",
            apply: layer_norm_affine,
        },
        Rule {
            name: "recognize-gelu",
            apply: gelu,
        },
        Rule {
            name: "recognize-swish",
            apply: swish,
        },
    ]
}

/// `x * sigmoid(x)` → `swish(x)` (SiLU), and `x * sigmoid(a * x)` → `swish(x, a)`.
fn swish(eg: &EGraph, id: Id, out: &mut Vec<Expr>) {
    for (x, s) in either(binary(eg, id, BinaryOp::Mul)) {
        for inner in unary(eg, s, |u| *u == UnaryOp::Sigmoid) {
            let mut alphas = Vec::new();
            if eg.find(inner) == eg.find(x) {
                alphas.push(1.0);
            }
            for (y, a) in either(binary(eg, inner, BinaryOp::Mul)) {
                if eg.find(y) == eg.find(x) {
                    alphas.extend(splat(eg, a));
                }
            }
            for alpha in alphas {
                out.push(Expr::op(Op::Unary(UnaryOp::Swish { alpha }), vec![Expr::Class(x)]));
            }
        }
    }
}

/// Whether `v` is within a relative `1e-5` of `want`.
fn near(v: f32, want: f32) -> bool {
    (v - want).abs() <= 1e-5 * want.abs()
}

/// The children of binary nodes `op` in class `id`.
fn binary(eg: &EGraph, id: Id, want: BinaryOp) -> Vec<(Id, Id)> {
    ops(eg, id)
        .filter_map(|(op, ch)| match (op, ch) {
            (Op::Binary(b), &[a, c]) if *b == want => Some((a, c)),
            _ => None,
        })
        .collect()
}

/// The operands of unary nodes `want` in class `id`.
fn unary(eg: &EGraph, id: Id, want: fn(&UnaryOp) -> bool) -> Vec<Id> {
    ops(eg, id)
        .filter_map(|(op, ch)| match (op, ch) {
            (Op::Unary(u), &[x]) if want(u) => Some(x),
            _ => None,
        })
        .collect()
}

/// Both orders of a commutative operation's operands.
fn either(pairs: Vec<(Id, Id)>) -> impl Iterator<Item = (Id, Id)> {
    pairs.into_iter().flat_map(|(a, b)| [(a, b), (b, a)])
}

/// The reductions `kind` with `keepdims` in class `id`: their data and normalized axes.
fn reductions(eg: &EGraph, id: Id, kind: ReduceKind) -> Vec<(Id, Vec<usize>)> {
    let mut found = Vec::new();
    for (op, ch) in ops(eg, id) {
        let Op::Reduce(r) = op else { continue };
        if r.kind != kind || !r.keepdims {
            continue;
        }
        let Some(&x) = ch.first() else { continue };
        let Some(rank) = ty(eg, x).map(|t| t.rank() as i64) else {
            continue;
        };
        let axes = match ch.get(1) {
            Some(&a) if !is_absent(eg, a) => match ints(eg, a) {
                Some(v) => v,
                None => continue,
            },
            _ if r.noop_with_empty_axes => continue,
            _ => (0..rank).collect(),
        };
        let mut norm: Vec<usize> = axes
            .iter()
            .map(|&a| (if a < 0 { a + rank } else { a }) as usize)
            .collect();
        norm.sort_unstable();
        norm.dedup();
        found.push((x, norm));
    }
    found
}

/// `exp(x) / reduce_sum(exp(x), [a])` and `exp(x - reduce_max(x, [a])) / …` → `softmax(x, a)`.
fn softmax(eg: &EGraph, id: Id, out: &mut Vec<Expr>) {
    for (e, s) in binary(eg, id, BinaryOp::Div) {
        for (summed, axes) in reductions(eg, s, ReduceKind::Sum) {
            if eg.find(summed) != eg.find(e) || axes.len() != 1 {
                continue;
            }
            let axis = axes[0];
            for z in unary(eg, e, |u| *u == UnaryOp::Exp) {
                let mut inputs = vec![z];
                for (x, m) in binary(eg, z, BinaryOp::Sub) {
                    if reductions(eg, m, ReduceKind::Max)
                        .iter()
                        .any(|(mx, ax)| eg.find(*mx) == eg.find(x) && *ax == axes)
                    {
                        inputs.push(x);
                    }
                }
                for x in inputs {
                    out.push(Expr::op(
                        Op::Softmax(SoftmaxAttrs {
                            kind: SoftmaxKind::Softmax,
                            axis,
                            flatten: false,
                        }),
                        vec![Expr::Class(x)],
                    ));
                }
            }
        }
    }
}

/// Whether `axes` are the trailing axes of a rank-`rank` value; the first of them.
fn trailing(axes: &[usize], rank: usize) -> Option<usize> {
    let first = *axes.first()?;
    (axes.iter().enumerate().all(|(i, &a)| a == first + i) && axes.last() == Some(&(rank - 1))).then_some(first)
}

/// `(x - mean(x)) / sqrt(mean((x - mean(x))^2) + eps)` over trailing axes →
/// `layer_norm(x, ones)`.
fn layer_norm(eg: &EGraph, id: Id, out: &mut Vec<Expr>) {
    for (d, sd) in binary(eg, id, BinaryOp::Div) {
        for (x, m) in binary(eg, d, BinaryOp::Sub) {
            for (mx, axes) in reductions(eg, m, ReduceKind::Mean) {
                if eg.find(mx) != eg.find(x) {
                    continue;
                }
                let Some(xt) = ty(eg, x).filter(|t| t.dtype == DType::F32) else {
                    continue;
                };
                let Some(axis) = trailing(&axes, xt.rank()) else {
                    continue;
                };
                for v_eps in unary(eg, sd, |u| *u == UnaryOp::Sqrt) {
                    for (v, eps) in either(binary(eg, v_eps, BinaryOp::Add)) {
                        let Some(epsilon) = splat(eg, eps) else { continue };
                        let variance_of_d = reductions(eg, v, ReduceKind::Mean)
                            .into_iter()
                            .any(|(sq, ax)| ax == axes && is_square_of(eg, sq, d));
                        if !variance_of_d {
                            continue;
                        }
                        let Some(norm_dims) = xt.shape.dims()[axis..]
                            .iter()
                            .map(|d| d.fixed())
                            .collect::<Option<Vec<_>>>()
                        else {
                            continue;
                        };
                        let count: usize = norm_dims.iter().product();
                        let Ok(ones) = Tensor::from_vec(norm_dims, vec![1.0f32; count]) else {
                            continue;
                        };
                        out.push(Expr::op(
                            Op::LayerNorm(LayerNormAttrs {
                                axis,
                                epsilon,
                                stats: false,
                            }),
                            vec![Expr::Class(x), Expr::constant(ones)],
                        ));
                    }
                }
            }
        }
    }
}

/// Whether class `sq` holds `d^2` or `d * d`.
fn is_square_of(eg: &EGraph, sq: Id, d: Id) -> bool {
    let d = eg.find(d);
    binary(eg, sq, BinaryOp::Pow)
        .iter()
        .any(|&(b, e)| eg.find(b) == d && splat(eg, e) == Some(2.0))
        || binary(eg, sq, BinaryOp::Mul)
            .iter()
            .any(|&(a, b)| eg.find(a) == d && eg.find(b) == d)
}

/// `layer_norm(x, g) * s` → `layer_norm(x, g * s)` and `layer_norm(x, g) + b` →
/// `layer_norm(x, g, b)` for constants shaped like the normalized axes.
fn layer_norm_affine(eg: &EGraph, id: Id, out: &mut Vec<Expr>) {
    for (op, ch) in ops(eg, id) {
        let Op::Binary(bop @ (BinaryOp::Mul | BinaryOp::Add)) = op else {
            continue;
        };
        let &[a, b] = ch else { continue };
        for (ln, c) in [(a, b), (b, a)] {
            if eg[ln].data.shared {
                continue;
            }
            let Some(param) = constant(eg, c).filter(|t| t.dtype() == DType::F32) else {
                continue;
            };
            for (lop, lch) in ops(eg, ln) {
                let Op::LayerNorm(attrs) = lop else { continue };
                if attrs.stats {
                    continue;
                }
                let (x, scale) = (lch[0], lch[1]);
                let bias = lch.get(2).copied().filter(|&b| !is_absent(eg, b));
                let Some(scale_t) = constant(eg, scale) else { continue };
                let norm_dims = scale_t.dims().to_vec();
                // The constant must broadcast over the normalized axes only.
                let mut pdims: Vec<usize> = param.dims().to_vec();
                while pdims.len() > norm_dims.len() && pdims.first() == Some(&1) {
                    pdims.remove(0);
                }
                if pdims != norm_dims {
                    continue;
                }
                let (Ok(p), Ok(s)) = (param.as_slice::<f32>(), scale_t.as_slice::<f32>()) else {
                    continue;
                };
                match bop {
                    BinaryOp::Mul => {
                        let scaled: Vec<f32> = s.iter().zip(p).map(|(s, p)| s * p).collect();
                        let bias_scaled = match bias {
                            Some(b) => match constant(eg, b).and_then(|t| t.as_slice::<f32>().ok()) {
                                Some(bs) => Some(bs.iter().zip(p).map(|(b, p)| b * p).collect::<Vec<f32>>()),
                                None => continue,
                            },
                            None => None,
                        };
                        let Ok(scaled) = Tensor::from_vec(norm_dims.clone(), scaled) else {
                            continue;
                        };
                        let mut children = vec![Expr::Class(x), Expr::constant(scaled)];
                        if let Some(bs) = bias_scaled {
                            let Ok(bs) = Tensor::from_vec(norm_dims.clone(), bs) else {
                                continue;
                            };
                            children.push(Expr::constant(bs));
                        }
                        out.push(Expr::op(lop.clone(), children));
                    }
                    _ => {
                        let shifted: Vec<f32> = match bias {
                            Some(b) => match constant(eg, b).and_then(|t| t.as_slice::<f32>().ok()) {
                                Some(bs) => bs.iter().zip(p).map(|(b, p)| b + p).collect(),
                                None => continue,
                            },
                            None => p.to_vec(),
                        };
                        let Ok(shifted) = Tensor::from_vec(norm_dims.clone(), shifted) else {
                            continue;
                        };
                        out.push(Expr::op(
                            lop.clone(),
                            vec![Expr::Class(x), Expr::Class(scale), Expr::constant(shifted)],
                        ));
                    }
                }
            }
        }
    }
}

/// The factor lists of a product in class `id`, two or three deep: `a * b`,
/// `(c * d) * b`, `a * (c * d)`.
fn factors(eg: &EGraph, id: Id) -> Vec<Vec<Id>> {
    let mut lists = Vec::new();
    for (a, b) in binary(eg, id, BinaryOp::Mul) {
        lists.push(vec![a, b]);
        for (c, d) in binary(eg, a, BinaryOp::Mul) {
            lists.push(vec![c, d, b]);
        }
        for (c, d) in binary(eg, b, BinaryOp::Mul) {
            lists.push(vec![a, c, d]);
        }
    }
    lists
}

/// Whether class `e` holds `1 + f(inner)` for a unary `f` picked by `want`; the inners.
fn one_plus(eg: &EGraph, e: Id, want: fn(&UnaryOp) -> bool) -> Vec<Id> {
    either(binary(eg, e, BinaryOp::Add))
        .filter(|&(_, one)| splat(eg, one) == Some(1.0))
        .flat_map(|(f, _)| unary(eg, f, want))
        .collect()
}

/// Whether class `inner` is `x / sqrt(2)` or `x * (1 / sqrt(2))`.
fn is_x_over_sqrt2(eg: &EGraph, inner: Id, x: Id) -> bool {
    let x = eg.find(x);
    binary(eg, inner, BinaryOp::Div)
        .iter()
        .any(|&(a, c)| eg.find(a) == x && splat(eg, c).is_some_and(|v| near(v, std::f32::consts::SQRT_2)))
        || either(binary(eg, inner, BinaryOp::Mul))
            .any(|(a, c)| eg.find(a) == x && splat(eg, c).is_some_and(|v| near(v, std::f32::consts::FRAC_1_SQRT_2)))
}

/// Whether class `cube` is `x^3`, `x * (x * x)` or `(x * x) * x`.
fn is_cube_of(eg: &EGraph, cube: Id, x: Id) -> bool {
    let x = eg.find(x);
    binary(eg, cube, BinaryOp::Pow)
        .iter()
        .any(|&(b, e)| eg.find(b) == x && splat(eg, e) == Some(3.0))
        || either(binary(eg, cube, BinaryOp::Mul)).any(|(a, sq)| {
            eg.find(a) == x
                && binary(eg, sq, BinaryOp::Mul)
                    .iter()
                    .any(|&(p, q)| eg.find(p) == x && eg.find(q) == x)
        })
}

/// Whether class `inner` is `sqrt(2/pi) * (x + 0.044715 * x^3)` (in either order).
fn is_tanh_gelu_inner(eg: &EGraph, inner: Id, x: Id) -> bool {
    let sqrt_2_over_pi = (2.0f32 / std::f32::consts::PI).sqrt();
    either(binary(eg, inner, BinaryOp::Mul)).any(|(sum, c)| {
        splat(eg, c).is_some_and(|v| near(v, sqrt_2_over_pi))
            && either(binary(eg, sum, BinaryOp::Add)).any(|(xx, term)| {
                eg.find(xx) == eg.find(x)
                    && either(binary(eg, term, BinaryOp::Mul))
                        .any(|(cube, k)| splat(eg, k).is_some_and(|v| near(v, 0.044715)) && is_cube_of(eg, cube, x))
            })
    })
}

/// `0.5 * x * (1 + erf(x / sqrt(2)))` → `gelu(x)`, and `0.5 * x * (1 + tanh(sqrt(2/pi)
/// * (x + 0.044715 x^3)))` → `gelu(x, tanh)`, with the factors in any order.
fn gelu(eg: &EGraph, id: Id, out: &mut Vec<Expr>) {
    if ty(eg, id).is_none_or(|t| t.dtype != DType::F32) {
        return;
    }
    for list in factors(eg, id) {
        if list.len() != 3 {
            continue;
        }
        for half in 0..3 {
            if splat(eg, list[half]) != Some(0.5) {
                continue;
            }
            for xi in 0..3 {
                if xi == half {
                    continue;
                }
                let (x, e) = (list[xi], list[3 - half - xi]);
                if constant(eg, x).is_some() {
                    continue;
                }
                for inner in one_plus(eg, e, |u| *u == UnaryOp::Erf) {
                    if is_x_over_sqrt2(eg, inner, x) {
                        out.push(Expr::op(Op::Unary(UnaryOp::Gelu { tanh: false }), vec![Expr::Class(x)]));
                    }
                }
                for inner in one_plus(eg, e, |u| *u == UnaryOp::Tanh) {
                    if is_tanh_gelu_inner(eg, inner, x) {
                        out.push(Expr::op(Op::Unary(UnaryOp::Gelu { tanh: true }), vec![Expr::Class(x)]));
                    }
                }
            }
        }
    }
}
