//! The kernel verifier.
//!
//! [`verify`] checks, in order: the parameters (a loadable dtype, one stride per axis, an
//! extent that fits `usize`, unique names), then every statement in order: loop variables
//! and locals are defined once and used only in scope, types agree, buffers are loaded
//! only if readable and stored only if writable, and every index lies inside its buffer
//! axis for every iteration of the enclosing loops (statements that can never run,
//! inside a loop of trip count 0, are not bounds-checked). Errors name the kernel and the
//! statement (its path and its text).

use std::collections::{HashMap, HashSet};

use super::print::stmt_head;
use super::{
    Affine, BinaryOp, Buffer, BufferId, Expr, Kernel, LocalId, LoopVar, ReduceOp, ReduceOrder, ScalarType, Schedule,
    Stmt, UnaryOp,
};

/// A kernel that failed verification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("kernel `{kernel}`, {stmt}: {kind}")]
pub struct KernelError {
    /// The kernel's name.
    pub kernel: String,
    /// Which statement: `parameters`, or `statement P (TEXT)` with `P` the path of
    /// statement indices through nested bodies (e.g. `0.1.0`) and `TEXT` its header.
    pub stmt: String,
    /// What is wrong.
    pub kind: KernelErrorKind,
}

/// What is wrong with a kernel.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KernelErrorKind {
    /// A parameter is malformed (dtype, strides, extent, name).
    #[error("parameter `{name}`: {detail}")]
    BadParam {
        /// The parameter's name.
        name: String,
        /// What is wrong.
        detail: String,
    },
    /// A load or store names a buffer the kernel does not have.
    #[error("there is no buffer {0}")]
    UnknownBuffer(u32),
    /// A loop variable is used outside its loop or never defined.
    #[error("loop variable %i{0} is not in scope")]
    VarOutOfScope(u32),
    /// A local is used before (or outside the block of) its definition.
    #[error("local $l{0} is not in scope")]
    LocalOutOfScope(u32),
    /// A loop variable or local is defined twice.
    #[error("{0} is defined twice")]
    Redefined(String),
    /// An index has the wrong number of axes.
    #[error("`{buffer}` has {rank} axes but is indexed with {given}")]
    IndexRank {
        /// The buffer.
        buffer: String,
        /// Its rank.
        rank: usize,
        /// The number of indices given.
        given: usize,
    },
    /// An index leaves its axis for some iteration.
    #[error("index {axis} of `{buffer}` ranges over [{min}, {max}] but the axis has size {size}")]
    OutOfBounds {
        /// The buffer.
        buffer: String,
        /// The axis.
        axis: usize,
        /// The smallest value the index takes (saturated to `i64`).
        min: i64,
        /// The largest value the index takes (saturated to `i64`).
        max: i64,
        /// The axis size.
        size: usize,
    },
    /// A load from a write-only buffer, or a store to a read-only one.
    #[error("`{buffer}` is {access} but is {used}")]
    Access {
        /// The buffer.
        buffer: String,
        /// Its declared access (`in`, `out`).
        access: &'static str,
        /// How it is used (`loaded`, `stored`).
        used: &'static str,
    },
    /// Operand or result types do not fit.
    #[error("type mismatch: {0}")]
    Type(String),
    /// A schedule mark or reduction order has an invalid parameter.
    #[error("{0}")]
    BadSchedule(String),
}

/// The type of `e`, given the parameters and the types of locals in scope; `None` when
/// it is ill-typed or refers to something unknown (the verifier says what).
pub(crate) fn expr_type(
    e: &Expr,
    params: &[Buffer],
    local: &dyn Fn(LocalId) -> Option<ScalarType>,
) -> Option<ScalarType> {
    match e {
        Expr::Const(c) => Some(c.ty),
        Expr::Local(l) => local(*l),
        Expr::Load { buffer, .. } => ScalarType::of_dtype(params.get(buffer.index())?.dtype),
        Expr::Unary { op, arg } => {
            let t = expr_type(arg, params, local)?;
            unary_ok(*op, t).then_some(t)
        }
        Expr::Binary { op, lhs, rhs } => {
            let (a, b) = (expr_type(lhs, params, local)?, expr_type(rhs, params, local)?);
            (a == b && binary_ok(*op, a)).then_some(a)
        }
        Expr::Cmp { lhs, rhs, .. } => {
            let (a, b) = (expr_type(lhs, params, local)?, expr_type(rhs, params, local)?);
            (a == b).then_some(ScalarType::Bool)
        }
        Expr::Select {
            cond,
            on_true,
            on_false,
        } => {
            let c = expr_type(cond, params, local)?;
            let (a, b) = (expr_type(on_true, params, local)?, expr_type(on_false, params, local)?);
            (c == ScalarType::Bool && a == b).then_some(a)
        }
        Expr::Cast { to, arg } => {
            expr_type(arg, params, local)?;
            Some(*to)
        }
        Expr::Call { ty, args, .. } => {
            for a in args {
                if expr_type(a, params, local)? != *ty {
                    return None;
                }
            }
            ty.is_float().then_some(*ty)
        }
    }
}

/// `v` clamped into `i64`.
fn saturate(v: i128) -> i64 {
    i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX })
}

/// Whether unary `op` takes type `t`.
fn unary_ok(op: UnaryOp, t: ScalarType) -> bool {
    match op {
        UnaryOp::Neg | UnaryOp::Abs => t.is_float() || t.is_int(),
        UnaryOp::Sqrt | UnaryOp::Floor | UnaryOp::Ceil | UnaryOp::Trunc | UnaryOp::RoundEven => t.is_float(),
        UnaryOp::Not => !t.is_float(),
    }
}

/// Whether binary `op` takes type `t`.
fn binary_ok(op: BinaryOp, t: ScalarType) -> bool {
    match op {
        BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Max | BinaryOp::Min => {
            t != ScalarType::Bool
        }
        BinaryOp::And | BinaryOp::Or | BinaryOp::Xor => !t.is_float(),
    }
}

/// Checks `kernel`; see the [module docs](self).
pub fn verify(kernel: &Kernel) -> Result<(), KernelError> {
    let fail = |stmt: String, kind: KernelErrorKind| KernelError {
        kernel: kernel.name.clone(),
        stmt,
        kind,
    };
    let mut names = HashSet::new();
    for b in &kernel.params {
        let bad = |detail: String| {
            fail(
                "parameters".into(),
                KernelErrorKind::BadParam {
                    name: b.name.clone(),
                    detail,
                },
            )
        };
        if b.name.is_empty() || !b.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(bad("names are non-empty ASCII letters, digits and `_`".into()));
        }
        if !names.insert(b.name.as_str()) {
            return Err(bad("the name is used twice".into()));
        }
        if ScalarType::of_dtype(b.dtype).is_none() {
            return Err(bad(format!("dtype {} cannot be loaded by a kernel", b.dtype.name())));
        }
        if b.strides.len() != b.dims.len() {
            return Err(bad(format!("{} strides for {} axes", b.strides.len(), b.dims.len())));
        }
        let bytes = b
            .extent()
            .and_then(|n| n.checked_mul(b.dtype.size_bytes()))
            .filter(|&n| n <= isize::MAX as usize);
        if bytes.is_none() {
            return Err(bad("the extent overflows".into()));
        }
    }
    let mut v = Verifier {
        kernel,
        vars: HashMap::new(),
        defined_vars: HashSet::new(),
        defined_locals: HashSet::new(),
        scopes: vec![HashMap::new()],
    };
    v.block(&kernel.body, "", true)
        .map_err(|(path, stmt, kind)| fail(format!("statement {path} ({})", stmt_head(kernel, stmt)), kind))
}

/// An error and the statement it is about.
type Failure<'k> = (String, &'k Stmt, KernelErrorKind);

struct Verifier<'k> {
    kernel: &'k Kernel,
    /// Loop variables in scope and their trip counts.
    vars: HashMap<LoopVar, usize>,
    defined_vars: HashSet<LoopVar>,
    defined_locals: HashSet<LocalId>,
    /// Locals in scope, one map per open block.
    scopes: Vec<HashMap<LocalId, ScalarType>>,
}

impl<'k> Verifier<'k> {
    fn local_type(&self, l: LocalId) -> Option<ScalarType> {
        self.scopes.iter().rev().find_map(|s| s.get(&l).copied())
    }

    fn define_var(&mut self, v: LoopVar, trip: usize) -> Result<(), KernelErrorKind> {
        if !self.defined_vars.insert(v) {
            return Err(KernelErrorKind::Redefined(format!("loop variable %i{}", v.0)));
        }
        self.vars.insert(v, trip);
        Ok(())
    }

    fn define_local(&mut self, l: LocalId, ty: ScalarType) -> Result<(), KernelErrorKind> {
        if !self.defined_locals.insert(l) {
            return Err(KernelErrorKind::Redefined(format!("local $l{}", l.0)));
        }
        if let Some(s) = self.scopes.last_mut() {
            s.insert(l, ty);
        }
        Ok(())
    }

    /// Checks a block; `live` is false inside a loop that never runs.
    fn block(&mut self, stmts: &'k [Stmt], path: &str, live: bool) -> Result<(), Failure<'k>> {
        for (i, s) in stmts.iter().enumerate() {
            let here = if path.is_empty() {
                i.to_string()
            } else {
                format!("{path}.{i}")
            };
            let fail = |kind| (here.clone(), s, kind);
            match s {
                Stmt::Loop(l) => {
                    match l.schedule {
                        Schedule::Vectorized { width: 0 } => {
                            return Err(fail(KernelErrorKind::BadSchedule("vector width 0".into())))
                        }
                        Schedule::Unrolled { factor: 0 } => {
                            return Err(fail(KernelErrorKind::BadSchedule("unroll factor 0".into())))
                        }
                        _ => {}
                    }
                    self.define_var(l.var, l.trip).map_err(fail)?;
                    self.scopes.push(HashMap::new());
                    let r = self.block(&l.body, &here, live && l.trip > 0);
                    self.scopes.pop();
                    self.vars.remove(&l.var);
                    r?;
                }
                Stmt::Let { local, value } => {
                    let ty = self.expr(value, live).map_err(fail)?;
                    self.define_local(*local, ty).map_err(fail)?;
                }
                Stmt::Store { buffer, index, value } => {
                    let b = self.access(*buffer, index, live).map_err(fail)?;
                    if !b.access.writable() {
                        return Err(fail(KernelErrorKind::Access {
                            buffer: b.name.clone(),
                            access: b.access.name(),
                            used: "stored",
                        }));
                    }
                    let ty = self.expr(value, live).map_err(fail)?;
                    let want = ScalarType::of_dtype(b.dtype);
                    if want != Some(ty) {
                        return Err(fail(KernelErrorKind::Type(format!(
                            "storing {} into `{}` of {}",
                            ty.name(),
                            b.name,
                            b.dtype.name()
                        ))));
                    }
                }
                Stmt::Reduce(r) => {
                    if let ReduceOrder::LanePartialTree { lanes } = r.order {
                        if !lanes.is_power_of_two() {
                            return Err(fail(KernelErrorKind::BadSchedule(format!(
                                "lane count {lanes} is not a power of two"
                            ))));
                        }
                    }
                    let mut body_live = live;
                    for a in &r.axes {
                        self.define_var(a.var, a.trip).map_err(fail)?;
                        body_live &= a.trip > 0;
                    }
                    let ty = self.expr(&r.value, body_live);
                    for a in &r.axes {
                        self.vars.remove(&a.var);
                    }
                    let ty = ty.map_err(fail)?;
                    if ty != r.init.ty {
                        return Err(fail(KernelErrorKind::Type(format!(
                            "reducing {} values from a {} start",
                            ty.name(),
                            r.init.ty.name()
                        ))));
                    }
                    if ty == ScalarType::Bool {
                        let op = match r.op {
                            ReduceOp::Add => "add",
                            ReduceOp::Mul => "mul",
                            ReduceOp::Max => "max",
                            ReduceOp::Min => "min",
                        };
                        return Err(fail(KernelErrorKind::Type(format!("reduce {op} of bool"))));
                    }
                    self.define_local(r.local, ty).map_err(fail)?;
                }
            }
        }
        Ok(())
    }

    /// Checks a load or store index and returns the buffer.
    fn access(&self, id: BufferId, index: &[Affine], live: bool) -> Result<&'k Buffer, KernelErrorKind> {
        let b = self.kernel.param(id).ok_or(KernelErrorKind::UnknownBuffer(id.0))?;
        if index.len() != b.dims.len() {
            return Err(KernelErrorKind::IndexRank {
                buffer: b.name.clone(),
                rank: b.dims.len(),
                given: index.len(),
            });
        }
        for (axis, (a, &size)) in index.iter().zip(&b.dims).enumerate() {
            let (mut min, mut max) = (i128::from(a.constant), i128::from(a.constant));
            for &(v, c) in &a.terms {
                let trip = *self.vars.get(&v).ok_or(KernelErrorKind::VarOutOfScope(v.0))?;
                let hi = i128::from(c) * (trip as i128 - 1).max(0);
                min += hi.min(0);
                max += hi.max(0);
            }
            if live && (min < 0 || max >= size as i128) {
                return Err(KernelErrorKind::OutOfBounds {
                    buffer: b.name.clone(),
                    axis,
                    min: saturate(min),
                    max: saturate(max),
                    size,
                });
            }
        }
        Ok(b)
    }

    /// Checks an expression and returns its type.
    fn expr(&self, e: &Expr, live: bool) -> Result<ScalarType, KernelErrorKind> {
        let ty = |e: &Expr| self.expr(e, live);
        let mismatch = |msg: String| Err(KernelErrorKind::Type(msg));
        match e {
            Expr::Const(c) => Ok(c.ty),
            Expr::Local(l) => self.local_type(*l).ok_or(KernelErrorKind::LocalOutOfScope(l.0)),
            Expr::Load { buffer, index } => {
                let b = self.access(*buffer, index, live)?;
                if !b.access.readable() {
                    return Err(KernelErrorKind::Access {
                        buffer: b.name.clone(),
                        access: b.access.name(),
                        used: "loaded",
                    });
                }
                ScalarType::of_dtype(b.dtype)
                    .ok_or_else(|| KernelErrorKind::Type(format!("{} cannot be loaded", b.dtype.name())))
            }
            Expr::Unary { op, arg } => {
                let t = ty(arg)?;
                if unary_ok(*op, t) {
                    Ok(t)
                } else {
                    mismatch(format!("{} of {}", op.name(), t.name()))
                }
            }
            Expr::Binary { op, lhs, rhs } => {
                let (a, b) = (ty(lhs)?, ty(rhs)?);
                if a != b {
                    mismatch(format!("{} of {} and {}", op.name(), a.name(), b.name()))
                } else if !binary_ok(*op, a) {
                    mismatch(format!("{} of {}", op.name(), a.name()))
                } else {
                    Ok(a)
                }
            }
            Expr::Cmp { op, lhs, rhs } => {
                let (a, b) = (ty(lhs)?, ty(rhs)?);
                if a != b {
                    mismatch(format!("{} of {} and {}", op.name(), a.name(), b.name()))
                } else {
                    Ok(ScalarType::Bool)
                }
            }
            Expr::Select {
                cond,
                on_true,
                on_false,
            } => {
                let c = ty(cond)?;
                let (a, b) = (ty(on_true)?, ty(on_false)?);
                if c != ScalarType::Bool {
                    mismatch(format!("select on {}", c.name()))
                } else if a != b {
                    mismatch(format!("select between {} and {}", a.name(), b.name()))
                } else {
                    Ok(a)
                }
            }
            Expr::Cast { to, arg } => {
                ty(arg)?;
                Ok(*to)
            }
            Expr::Call { func, ty: t, args } => {
                if func.is_empty() || !func.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    return mismatch(format!("bad function name `{func}`"));
                }
                if !t.is_float() {
                    return mismatch(format!("call {func} at {}", t.name()));
                }
                for a in args {
                    let at = ty(a)?;
                    if at != *t {
                        return mismatch(format!("call {func}.{} with a {} argument", t.name(), at.name()));
                    }
                }
                Ok(*t)
            }
        }
    }
}
