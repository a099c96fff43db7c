//! SIMD for `vectorized` loops: four 32-bit lanes (`f32x4`, `i32x4`) per step.
//!
//! A `vectorized` loop whose body is only `let`s and stores runs four iterations at once
//! when every access moves by exactly one element per iteration (a vector load or
//! store) or not at all (a scalar load, splat to all lanes), every value is `f32`, `i32`
//! or `u32`, and the body uses only operations that have the same per-lane meaning as
//! the scalar path: float `+ - * /`, `sqrt`, `neg`, `abs`, the NaN-propagating
//! `max`/`min` (the scalar path's compares and selects, lane by lane), float compares as
//! masks for `select`, and integer `+ - & | ^` and negation. Each lane computes exactly
//! the scalar path's operations, so the bits are the same (no fma: Cranelift never
//! contracts). The iterations past the last multiple of four run on the scalar path.
//! Any other body runs serially, as before.

use std::collections::HashMap;

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{types, InstBuilder, MemFlagsData, Type, Value};

use super::{Emitter, Res};
use crate::kernel::{
    visit_exprs, Affine, BinaryOp, BufferId, CmpOp, Expr, LocalId, LoopVar, ScalarType, Stmt, UnaryOp,
};

/// Lanes per vector.
pub(super) const LANES: usize = 4;

/// What a vectorized expression yields.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Kind {
    /// Four lanes of a 32-bit scalar type.
    Value(ScalarType),
    /// A compare result: each lane all ones or all zeros.
    Mask,
}

/// Whether `ty` fits a 32-bit lane.
fn lane_type(ty: ScalarType) -> bool {
    matches!(ty, ScalarType::F32 | ScalarType::I32 | ScalarType::U32)
}

/// The Cranelift vector type of a lane type.
fn vector(ty: ScalarType) -> Type {
    if ty == ScalarType::F32 {
        types::F32X4
    } else {
        types::I32X4
    }
}

/// Flags of vector loads and stores: in bounds (checked before the call) but only
/// element aligned.
fn vector_flags() -> MemFlagsData {
    MemFlagsData::new().with_notrap()
}

impl Emitter<'_, '_> {
    /// The byte distance between the elements `index` names in consecutive iterations of
    /// `var`; `None` for an unknown buffer.
    fn step_bytes(&self, buffer: BufferId, index: &[Affine], var: LoopVar) -> Option<i128> {
        let b = self.kernel.param(buffer)?;
        let size = b.dtype.size_bytes() as i128;
        let mut total = 0i128;
        for (a, &stride) in index.iter().zip(&b.strides) {
            for &(v, c) in &a.terms {
                if v == var {
                    total += i128::from(c) * stride as i128 * size;
                }
            }
        }
        Some(total)
    }

    /// The lane type of buffer `buffer`, when it has one.
    fn buffer_lane(&self, buffer: BufferId) -> Option<ScalarType> {
        let ty = ScalarType::of_dtype(self.kernel.param(buffer)?.dtype)?;
        lane_type(ty).then_some(ty)
    }

    /// Whether the body of a `vectorized` loop over `var` runs on vectors (see the
    /// [module docs](self)).
    pub(super) fn simd_ok(&self, var: LoopVar, body: &[Stmt]) -> bool {
        let mut lets: HashMap<LocalId, Kind> = HashMap::new();
        let mut stores: Vec<(BufferId, &[Affine])> = Vec::new();
        for s in body {
            match s {
                Stmt::Let { local, value } => match self.simd_kind(var, value, &lets) {
                    Some(k) => {
                        lets.insert(*local, k);
                    }
                    None => return false,
                },
                Stmt::Store { buffer, index, value } => {
                    let Some(ty) = self.buffer_lane(*buffer) else {
                        return false;
                    };
                    let size = self.kernel.param(*buffer).map_or(0, |b| b.dtype.size_bytes() as i128);
                    if self.step_bytes(*buffer, index, var) != Some(size)
                        || self.simd_kind(var, value, &lets) != Some(Kind::Value(ty))
                    {
                        return false;
                    }
                    stores.push((*buffer, index));
                }
                Stmt::Loop(_) | Stmt::Reduce(_) => return false,
            }
        }
        // A buffer the body stores may only be loaded at the element stored, so lanes
        // never see each other's stores.
        let mut ok = true;
        visit_exprs(body, &mut |e| {
            if let Expr::Load { buffer, index } = e {
                if stores.iter().any(|(b, i)| b == buffer && *i != index.as_slice()) {
                    ok = false;
                }
            }
        });
        ok
    }

    /// The kind of `e` on vectors, `None` when it has no vector form.
    fn simd_kind(&self, var: LoopVar, e: &Expr, lets: &HashMap<LocalId, Kind>) -> Option<Kind> {
        let value = |k: Option<Kind>| match k {
            Some(Kind::Value(t)) => Some(t),
            _ => None,
        };
        Some(match e {
            Expr::Const(c) => Kind::Value(lane_type(c.ty).then_some(c.ty)?),
            Expr::Local(l) => match lets.get(l) {
                Some(k) => *k,
                // A scalar from outside the loop, splat to all lanes.
                None => Kind::Value(self.local_types.get(l).copied().filter(|&t| lane_type(t))?),
            },
            Expr::Load { buffer, index } => {
                let ty = self.buffer_lane(*buffer)?;
                let size = ty.bits() as i128 / 8;
                let step = self.step_bytes(*buffer, index, var)?;
                if step != 0 && step != size {
                    return None;
                }
                Kind::Value(ty)
            }
            Expr::Unary { op, arg } => {
                let t = value(self.simd_kind(var, arg, lets))?;
                let ok = match op {
                    UnaryOp::Neg => true,
                    UnaryOp::Abs | UnaryOp::Sqrt => t.is_float(),
                    _ => false,
                };
                Kind::Value(ok.then_some(t)?)
            }
            Expr::Binary { op, lhs, rhs } => {
                let t = value(self.simd_kind(var, lhs, lets))?;
                if value(self.simd_kind(var, rhs, lets)) != Some(t) {
                    return None;
                }
                let ok = if t.is_float() {
                    matches!(
                        op,
                        BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Max | BinaryOp::Min
                    )
                } else {
                    matches!(
                        op,
                        BinaryOp::Add | BinaryOp::Sub | BinaryOp::And | BinaryOp::Or | BinaryOp::Xor
                    )
                };
                Kind::Value(ok.then_some(t)?)
            }
            Expr::Cmp { lhs, rhs, .. } => {
                let t = value(self.simd_kind(var, lhs, lets))?;
                if !t.is_float() || value(self.simd_kind(var, rhs, lets)) != Some(t) {
                    return None;
                }
                Kind::Mask
            }
            Expr::Select {
                cond,
                on_true,
                on_false,
            } => {
                if self.simd_kind(var, cond, lets)? != Kind::Mask {
                    return None;
                }
                let t = value(self.simd_kind(var, on_true, lets))?;
                if value(self.simd_kind(var, on_false, lets)) != Some(t) {
                    return None;
                }
                Kind::Value(t)
            }
            Expr::Cast { .. } | Expr::Call { .. } => return None,
        })
    }

    /// Emits one vector step of a body [`Emitter::simd_ok`] accepted; the loop variable
    /// holds the first lane's index.
    pub(super) fn simd_block(&mut self, var: LoopVar, body: &[Stmt]) -> Res {
        let mut lets: HashMap<LocalId, Value> = HashMap::new();
        for s in body {
            match s {
                Stmt::Let { local, value } => {
                    let v = self.vexpr(var, value, &lets)?;
                    lets.insert(*local, v);
                }
                Stmt::Store { buffer, index, value } => {
                    let v = self.vexpr(var, value, &lets)?;
                    let (addr, off) = self.address(*buffer, index)?;
                    self.b.ins().store(vector_flags(), v, addr, off);
                }
                Stmt::Loop(_) | Stmt::Reduce(_) => {
                    return Err(self.unsupported("a vectorized body with a nested loop or reduction"))
                }
            }
        }
        Ok(())
    }

    /// The vector value of `e` (a value or a mask).
    fn vexpr(&mut self, var: LoopVar, e: &Expr, lets: &HashMap<LocalId, Value>) -> Res<Value> {
        Ok(match e {
            Expr::Const(c) => {
                let s = self.constant(*c);
                self.b.ins().splat(vector(c.ty), s)
            }
            Expr::Local(l) => match lets.get(l) {
                Some(v) => *v,
                None => {
                    let ty = self.ty(e)?;
                    let s = self.expr(e)?;
                    self.b.ins().splat(vector(ty), s)
                }
            },
            Expr::Load { buffer, index } => {
                let ty = self.ty(e)?;
                if self.step_bytes(*buffer, index, var) == Some(0) {
                    let s = self.expr(e)?;
                    self.b.ins().splat(vector(ty), s)
                } else {
                    let (addr, off) = self.address(*buffer, index)?;
                    self.b.ins().load(vector(ty), vector_flags(), addr, off)
                }
            }
            Expr::Unary { op, arg } => {
                let ty = self.ty(arg)?;
                let x = self.vexpr(var, arg, lets)?;
                let ins = self.b.ins();
                match op {
                    UnaryOp::Neg if ty.is_float() => ins.fneg(x),
                    UnaryOp::Neg => ins.ineg(x),
                    UnaryOp::Abs => ins.fabs(x),
                    UnaryOp::Sqrt => ins.sqrt(x),
                    _ => return Err(self.unsupported(format!("vector {}", op.name()))),
                }
            }
            Expr::Binary { op, lhs, rhs } => {
                let ty = self.ty(lhs)?;
                let (a, b) = (self.vexpr(var, lhs, lets)?, self.vexpr(var, rhs, lets)?);
                let float = ty.is_float();
                match op {
                    BinaryOp::Max | BinaryOp::Min if float => self.vector_max_min(*op == BinaryOp::Max, a, b),
                    BinaryOp::Add if float => self.b.ins().fadd(a, b),
                    BinaryOp::Sub if float => self.b.ins().fsub(a, b),
                    BinaryOp::Mul if float => self.b.ins().fmul(a, b),
                    BinaryOp::Div if float => self.b.ins().fdiv(a, b),
                    BinaryOp::Add => self.b.ins().iadd(a, b),
                    BinaryOp::Sub => self.b.ins().isub(a, b),
                    BinaryOp::And => self.b.ins().band(a, b),
                    BinaryOp::Or => self.b.ins().bor(a, b),
                    BinaryOp::Xor => self.b.ins().bxor(a, b),
                    _ => return Err(self.unsupported(format!("vector integer {}", op.name()))),
                }
            }
            Expr::Cmp { op, lhs, rhs } => {
                let (a, b) = (self.vexpr(var, lhs, lets)?, self.vexpr(var, rhs, lets)?);
                let cc = match op {
                    CmpOp::Eq => FloatCC::Equal,
                    CmpOp::Ne => FloatCC::NotEqual,
                    CmpOp::Lt => FloatCC::LessThan,
                    CmpOp::Le => FloatCC::LessThanOrEqual,
                    CmpOp::Gt => FloatCC::GreaterThan,
                    CmpOp::Ge => FloatCC::GreaterThanOrEqual,
                };
                self.b.ins().fcmp(cc, a, b)
            }
            Expr::Select {
                cond,
                on_true,
                on_false,
            } => {
                let m = self.vexpr(var, cond, lets)?;
                let (t, f) = (self.vexpr(var, on_true, lets)?, self.vexpr(var, on_false, lets)?);
                self.vselect(m, t, f)
            }
            Expr::Cast { .. } | Expr::Call { .. } => {
                return Err(self.unsupported("a cast or call in a vectorized body"))
            }
        })
    }

    /// Lane-wise `mask ? t : f` (`mask` lanes all ones or all zeros).
    fn vselect(&mut self, mask: Value, t: Value, f: Value) -> Value {
        let ty = self.b.func.dfg.value_type(t);
        let m = if self.b.func.dfg.value_type(mask) == ty {
            mask
        } else {
            self.b.ins().bitcast(ty, MemFlagsData::new(), mask)
        };
        self.b.ins().bitselect(m, t, f)
    }

    /// The scalar path's `fmax` / `fmin` (`Emitter::float_max_min`), lane by lane.
    fn vector_max_min(&mut self, max: bool, a: Value, b: Value) -> Value {
        let cc = if max { FloatCC::GreaterThan } else { FloatCC::LessThan };
        let a_nan = self.b.ins().fcmp(FloatCC::Unordered, a, a);
        let b_nan = self.b.ins().fcmp(FloatCC::Unordered, b, b);
        let b_better = self.b.ins().fcmp(cc, b, a);
        let a_better = self.b.ins().fcmp(cc, a, b);
        let bits = self.b.ins().bitcast(types::I32X4, MemFlagsData::new(), a);
        let zero = self.b.ins().iconst(types::I32, 0);
        let zero = self.b.ins().splat(types::I32X4, zero);
        // max keeps `a` on a tie when its sign is clear (+0 over -0); min when it is set.
        let sign_cc = if max {
            IntCC::SignedGreaterThanOrEqual
        } else {
            IntCC::SignedLessThan
        };
        let a_sign_ok = self.b.ins().icmp(sign_cc, bits, zero);
        let keep_a = self.b.ins().bor(a_better, a_sign_ok);
        let r1 = self.vselect(keep_a, a, b);
        let take_b = self.b.ins().bor(b_nan, b_better);
        let r2 = self.vselect(take_b, b, r1);
        self.vselect(a_nan, a, r2)
    }
}
