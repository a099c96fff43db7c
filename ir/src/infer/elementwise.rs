//! Type rules of elementwise ops, and NumPy broadcasting of shapes.

use super::{bail, Args, InferError, SymbolNamer};
use crate::graph::TensorType;
use crate::op::{BinaryOp, UnaryOp};
use crate::shape::{Dim, Shape};
use crate::DType;

/// The broadcast of two shapes under NumPy rules.
pub(crate) fn broadcast(a: &Shape, b: &Shape, names: &mut SymbolNamer) -> Result<Shape, InferError> {
    let rank = a.rank().max(b.rank());
    let mut out = Vec::with_capacity(rank);
    for i in 0..rank {
        let da = dim_from_right(a, rank - 1 - i);
        let db = dim_from_right(b, rank - 1 - i);
        out.push(match (da, db) {
            (Dim::Fixed(1), d) | (d, Dim::Fixed(1)) => d.clone(),
            (x, y) if x == y => x.clone(),
            (Dim::Fixed(n), Dim::Sym(_)) | (Dim::Sym(_), Dim::Fixed(n)) => Dim::Fixed(*n),
            (Dim::Sym(_), Dim::Sym(_)) => names.fresh(),
            (Dim::Fixed(_), Dim::Fixed(_)) => bail!("shapes {a} and {b} do not broadcast"),
        });
    }
    Ok(Shape(out))
}

fn dim_from_right(s: &Shape, from_right: usize) -> &Dim {
    static ONE: Dim = Dim::Fixed(1);
    if from_right < s.rank() {
        &s.0[s.rank() - 1 - from_right]
    } else {
        &ONE
    }
}

pub(super) fn unary(op: UnaryOp, args: &Args) -> Result<TensorType, InferError> {
    let x = args.get(0)?.ty;
    let ok = match op {
        UnaryOp::Not => x.dtype == DType::Bool,
        UnaryOp::BitwiseNot => x.dtype.is_int(),
        UnaryOp::Abs | UnaryOp::Sign => x.dtype.is_numeric(),
        UnaryOp::Neg => x.dtype.is_signed(),
        UnaryOp::Relu | UnaryOp::LeakyRelu { .. } => x.dtype.is_signed(),
        _ => x.dtype.is_float(),
    };
    if !ok {
        bail!("unary {op:?} does not take {}", x.dtype);
    }
    let dtype = match op {
        UnaryOp::IsNaN | UnaryOp::IsInf { .. } => DType::Bool,
        _ => x.dtype,
    };
    Ok(TensorType::new(dtype, x.shape.clone()))
}

pub(super) fn binary(op: BinaryOp, args: &Args, names: &mut SymbolNamer) -> Result<TensorType, InferError> {
    let a = args.get(0)?.ty;
    let b = args.get(1)?.ty;
    if op != BinaryOp::Pow && a.dtype != b.dtype {
        bail!("binary {op:?} operands differ in dtype: {} and {}", a.dtype, b.dtype);
    }
    let ok = match op {
        BinaryOp::And | BinaryOp::Or | BinaryOp::Xor => a.dtype == DType::Bool,
        BinaryOp::ShiftLeft | BinaryOp::ShiftRight => a.dtype.is_int(),
        BinaryOp::BitwiseAnd | BinaryOp::BitwiseOr | BinaryOp::BitwiseXor => a.dtype.is_int(),
        BinaryOp::Equal => true,
        BinaryOp::Pow => a.dtype.is_numeric() && b.dtype.is_numeric(),
        _ => a.dtype.is_numeric(),
    };
    if !ok {
        bail!("binary {op:?} does not take {}", a.dtype);
    }
    let shape = if op == BinaryOp::PRelu {
        let s = broadcast(&a.shape, &b.shape, names)?;
        if s.rank() != a.rank() {
            bail!("prelu slope {b} does not broadcast to {a}");
        }
        a.shape.clone()
    } else {
        broadcast(&a.shape, &b.shape, names)?
    };
    let dtype = if op.is_comparison() { DType::Bool } else { a.dtype };
    Ok(TensorType::new(dtype, shape))
}

pub(super) fn where_(args: &Args, names: &mut SymbolNamer) -> Result<TensorType, InferError> {
    let c = args.get(0)?.ty;
    let x = args.get(1)?.ty;
    let y = args.get(2)?.ty;
    if c.dtype != DType::Bool {
        bail!("where condition must be bool, got {c}");
    }
    if x.dtype != y.dtype {
        bail!("where branches differ in dtype: {} and {}", x.dtype, y.dtype);
    }
    let s = broadcast(&c.shape, &x.shape, names)?;
    Ok(TensorType::new(x.dtype, broadcast(&s, &y.shape, names)?))
}

pub(super) fn clip(args: &Args) -> Result<TensorType, InferError> {
    let x = args.get(0)?.ty;
    for i in 1..args.len().min(3) {
        if let Some(b) = args.opt(i) {
            if b.ty.dtype != x.dtype || b.ty.rank() > 1 {
                bail!("clip bound {i} must be a scalar of {}, got {}", x.dtype, b.ty);
            }
        }
    }
    Ok(x.clone())
}
