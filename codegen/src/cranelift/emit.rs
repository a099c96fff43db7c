//! Translating one verified kernel into a Cranelift function and compiling it.

use std::collections::HashMap;

use cranelift_codegen::control::ControlPlane;
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::immediates::{Ieee32, Ieee64};
use cranelift_codegen::ir::{
    types, AbiParam, Function, InstBuilder, MemFlagsData, SigRef, Signature, Type, UserFuncName, Value,
};
use cranelift_codegen::isa::TargetIsa;
use cranelift_codegen::Context;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Variable};

use super::{WriterError, MAX_UNROLL};
use crate::kernel::verify::expr_type;
use crate::kernel::{
    visit_exprs, Affine, BinaryOp, BufferId, CmpOp, Constant, Expr, Kernel, LocalId, LoopVar, Reduce, ReduceAxis,
    ReduceOp, ReduceOrder, ScalarType, Schedule, Stmt, UnaryOp,
};

#[path = "simd.rs"]
mod simd;

/// The most partials a tree reduction may have.
const MAX_LANES: usize = 64;

/// The result of an emitting step.
type Res<T = ()> = Result<T, WriterError>;

/// Whether the kernel uses a rounding op (`floor`, `ceil`, `trunc`, `round_even`).
pub(super) fn uses_rounding(kernel: &Kernel) -> bool {
    let mut found = false;
    visit_exprs(&kernel.body, &mut |e| {
        if let Expr::Unary { op, .. } = e {
            found |= matches!(op, UnaryOp::Floor | UnaryOp::Ceil | UnaryOp::Trunc | UnaryOp::RoundEven);
        }
    });
    found
}

/// The Cranelift type of a scalar type (`Bool` is an `i8` holding 0 or 1).
fn clif(ty: ScalarType) -> Type {
    match ty {
        ScalarType::Bool | ScalarType::I8 | ScalarType::U8 => types::I8,
        ScalarType::I16 | ScalarType::U16 => types::I16,
        ScalarType::I32 | ScalarType::U32 => types::I32,
        ScalarType::I64 | ScalarType::U64 => types::I64,
        ScalarType::F32 => types::F32,
        ScalarType::F64 => types::F64,
    }
}

/// Compiles a verified kernel; returns the machine code (entry at offset 0).
pub(super) fn compile(
    isa: &dyn TargetIsa,
    kernel: &Kernel,
    callees: &[(String, ScalarType, usize)],
    simd: bool,
) -> Res<Vec<u8>> {
    let backend = |detail: String| WriterError::Backend {
        kernel: kernel.name.clone(),
        detail,
    };
    let call_conv = isa.default_call_conv();
    let ptr = types::I64;
    let mut sig = Signature::new(call_conv);
    sig.params.push(AbiParam::new(ptr));
    sig.params.push(AbiParam::new(ptr));
    let mut func = Function::with_name_signature(UserFuncName::user(0, 0), sig);
    let mut fctx = FunctionBuilderContext::new();
    {
        let mut b = FunctionBuilder::new(&mut func, &mut fctx);
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        let (bufs, funcs) = (b.block_params(entry)[0], b.block_params(entry)[1]);
        let mut bases = Vec::with_capacity(kernel.params.len());
        for i in 0..kernel.params.len() {
            bases.push(b.ins().load(ptr, MemFlagsData::trusted(), bufs, (i * 8) as i32));
        }
        let mut sigs = Vec::with_capacity(callees.len());
        for (_, ty, arity) in callees {
            let mut s = Signature::new(call_conv);
            for _ in 0..*arity {
                s.params.push(AbiParam::new(clif(*ty)));
            }
            s.returns.push(AbiParam::new(clif(*ty)));
            sigs.push(b.import_signature(s));
        }
        let mut e = Emitter {
            kernel,
            b,
            bases,
            funcs,
            callees,
            sigs,
            vars: HashMap::new(),
            locals: HashMap::new(),
            local_types: HashMap::new(),
            simd,
        };
        e.block(&kernel.body)?;
        e.b.ins().return_(&[]);
        e.b.seal_all_blocks();
        e.b.finalize(isa.frontend_config());
    }
    let mut ctx = Context::for_function(func);
    let code = ctx
        .compile(isa, &mut ControlPlane::default())
        .map_err(|e| backend(format!("{:?}", e.inner)))?;
    if let Some(r) = code.buffer.relocs().first() {
        return Err(backend(format!(
            "the code needs a relocation ({:?}), which native kernels may not have",
            r.kind
        )));
    }
    if !code.buffer.traps().is_empty() {
        return Err(backend(format!(
            "the code has {} trap sites, which native kernels may not have",
            code.buffer.traps().len()
        )));
    }
    Ok(code.code_buffer().to_vec())
}

/// Translation state of one kernel.
struct Emitter<'k, 'f> {
    kernel: &'k Kernel,
    b: FunctionBuilder<'f>,
    /// The base address of each buffer.
    bases: Vec<Value>,
    /// The function table.
    funcs: Value,
    callees: &'k [(String, ScalarType, usize)],
    sigs: Vec<SigRef>,
    /// The current value (`i64`) of each loop variable in scope.
    vars: HashMap<LoopVar, Value>,
    locals: HashMap<LocalId, Value>,
    local_types: HashMap<LocalId, ScalarType>,
    /// Whether `vectorized` loops may use SIMD.
    simd: bool,
}

impl Emitter<'_, '_> {
    fn unsupported(&self, detail: impl Into<String>) -> WriterError {
        WriterError::Unsupported {
            kernel: self.kernel.name.clone(),
            detail: detail.into(),
        }
    }

    fn block(&mut self, stmts: &[Stmt]) -> Res {
        for s in stmts {
            match s {
                Stmt::Loop(l)
                    if self.simd
                        && matches!(l.schedule, Schedule::Vectorized { .. })
                        && l.trip >= simd::LANES
                        && self.simd_ok(l.var, &l.body) =>
                {
                    let main = l.trip / simd::LANES * simd::LANES;
                    let (var, body) = (l.var, &l.body);
                    self.counted_loop(main, simd::LANES, &mut |e, i| {
                        e.vars.insert(var, i);
                        e.simd_block(var, body)
                    })?;
                    for u in main..l.trip {
                        let v = self.b.ins().iconst(types::I64, u as i64);
                        self.vars.insert(var, v);
                        self.block(body)?;
                    }
                    self.vars.remove(&var);
                }
                Stmt::Loop(l) => {
                    let factor = match l.schedule {
                        Schedule::Unrolled { factor } => factor.clamp(1, MAX_UNROLL) as usize,
                        Schedule::Serial | Schedule::Parallel | Schedule::Vectorized { .. } => 1,
                    };
                    let main = l.trip / factor * factor;
                    let (var, body) = (l.var, &l.body);
                    self.counted_loop(main, factor, &mut |e, i| {
                        for u in 0..factor {
                            let v = if u == 0 { i } else { e.b.ins().iadd_imm_s(i, u as i64) };
                            e.vars.insert(var, v);
                            e.block(body)?;
                        }
                        Ok(())
                    })?;
                    for u in main..l.trip {
                        let v = self.b.ins().iconst(types::I64, u as i64);
                        self.vars.insert(var, v);
                        self.block(body)?;
                    }
                    self.vars.remove(&var);
                }
                Stmt::Let { local, value } => {
                    let ty = self.ty(value)?;
                    let v = self.expr(value)?;
                    self.locals.insert(*local, v);
                    self.local_types.insert(*local, ty);
                }
                Stmt::Store { buffer, index, value } => {
                    let v = self.expr(value)?;
                    let (addr, off) = self.address(*buffer, index)?;
                    self.b.ins().store(MemFlagsData::trusted(), v, addr, off);
                }
                Stmt::Reduce(r) => self.reduce(r)?,
            }
        }
        Ok(())
    }

    /// Runs `body(i)` for `i = 0, step, 2 * step, ... < trip` (`trip` a multiple of
    /// `step`), as a bottom-tested loop.
    fn counted_loop(&mut self, trip: usize, step: usize, body: &mut dyn FnMut(&mut Self, Value) -> Res) -> Res {
        if trip == 0 {
            return Ok(());
        }
        let counter = self.b.declare_var(types::I64);
        let zero = self.b.ins().iconst(types::I64, 0);
        self.b.def_var(counter, zero);
        let head = self.b.create_block();
        let exit = self.b.create_block();
        self.b.ins().jump(head, &[]);
        self.b.switch_to_block(head);
        let i = self.b.use_var(counter);
        body(self, i)?;
        let next = self.b.ins().iadd_imm_s(i, step as i64);
        self.b.def_var(counter, next);
        let more = self.b.ins().icmp_imm_s(IntCC::UnsignedLessThan, next, trip as i64);
        self.b.ins().brif(more, head, &[], exit, &[]);
        self.b.switch_to_block(exit);
        Ok(())
    }

    /// Runs `body` at every position of `axes`, row-major.
    fn nest(&mut self, axes: &[ReduceAxis], body: &mut dyn FnMut(&mut Self) -> Res) -> Res {
        match axes.split_first() {
            None => body(self),
            Some((a, rest)) => {
                let var = a.var;
                self.counted_loop(a.trip, 1, &mut |e, i| {
                    e.vars.insert(var, i);
                    e.nest(rest, body)
                })?;
                self.vars.remove(&var);
                Ok(())
            }
        }
    }

    fn reduce(&mut self, r: &Reduce) -> Res {
        let ty = r.init.ty;
        let init = self.constant(r.init);
        let lanes = match r.order {
            ReduceOrder::Sequential => 1,
            ReduceOrder::LanePartialTree { lanes } => lanes as usize,
        };
        if lanes > MAX_LANES {
            return Err(self.unsupported(format!(
                "a tree reduction of {lanes} partials (at most {MAX_LANES} are kept in registers)"
            )));
        }
        let accs: Vec<Variable> = (0..lanes)
            .map(|_| {
                let v = self.b.declare_var(clif(ty));
                self.b.def_var(v, init);
                v
            })
            .collect();
        // One term into the partial at position `lane`.
        let add_term = |e: &mut Self, lane: usize| -> Res {
            let v = e.expr(&r.value)?;
            let acc = e.b.use_var(accs[lane]);
            let n = e.step(r.op, ty, acc, v);
            e.b.def_var(accs[lane], n);
            Ok(())
        };
        let total = r
            .axes
            .iter()
            .try_fold(1usize, |a, x| a.checked_mul(x.trip))
            .ok_or_else(|| self.unsupported("the reduction has too many terms"))?;
        // `rotation`: after the terms, lane `q`'s partial is in variable `(q - rotation) % lanes`.
        let mut rotation = 0;
        match r.axes.split_last() {
            _ if lanes == 1 => self.nest(&r.axes, &mut |e| add_term(e, 0))?,
            None => add_term(self, 0)?,
            Some((inner, outer)) if outer.is_empty() || inner.trip % lanes == 0 => {
                // Term j's lane is the inner index modulo `lanes`: unroll by `lanes`.
                let var = inner.var;
                let chunks = inner.trip / lanes * lanes;
                self.nest(outer, &mut |e| {
                    e.counted_loop(chunks, lanes, &mut |e, i| {
                        for u in 0..lanes {
                            let v = if u == 0 { i } else { e.b.ins().iadd_imm_s(i, u as i64) };
                            e.vars.insert(var, v);
                            add_term(e, u)?;
                        }
                        Ok(())
                    })?;
                    for u in chunks..inner.trip {
                        let v = e.b.ins().iconst(types::I64, u as i64);
                        e.vars.insert(var, v);
                        add_term(e, u - chunks)?;
                    }
                    e.vars.remove(&var);
                    Ok(())
                })?;
            }
            Some(_) => {
                // General case: the partial of the current term is always in variable 0;
                // rotate the partials by one after each term.
                self.nest(&r.axes, &mut |e| {
                    add_term(e, 0)?;
                    let vals: Vec<Value> = accs.iter().map(|&a| e.b.use_var(a)).collect();
                    for (p, &a) in accs.iter().enumerate() {
                        e.b.def_var(a, vals[(p + 1) % lanes]);
                    }
                    Ok(())
                })?;
                rotation = total % lanes;
            }
        }
        let mut vals: Vec<Value> = (0..lanes)
            .map(|q| self.b.use_var(accs[(q + lanes - rotation) % lanes]))
            .collect();
        let mut w = lanes / 2;
        while w > 0 {
            for i in 0..w {
                vals[i] = self.step(r.op, ty, vals[i], vals[i + w]);
            }
            w /= 2;
        }
        self.locals.insert(r.local, vals[0]);
        self.local_types.insert(r.local, ty);
        Ok(())
    }

    /// One reduction step `acc = step(acc, v)` (see [`ReduceOp`]).
    fn step(&mut self, op: ReduceOp, ty: ScalarType, acc: Value, v: Value) -> Value {
        match (op, ty.is_float()) {
            (ReduceOp::Add, true) => self.b.ins().fadd(acc, v),
            (ReduceOp::Add, false) => self.b.ins().iadd(acc, v),
            (ReduceOp::Mul, true) => self.b.ins().fmul(acc, v),
            (ReduceOp::Mul, false) => self.b.ins().imul(acc, v),
            (ReduceOp::Max | ReduceOp::Min, true) => {
                let cc = if op == ReduceOp::Max {
                    FloatCC::GreaterThan
                } else {
                    FloatCC::LessThan
                };
                let acc_nan = self.b.ins().fcmp(FloatCC::Unordered, acc, acc);
                let v_nan = self.b.ins().fcmp(FloatCC::Unordered, v, v);
                let better = self.b.ins().fcmp(cc, v, acc);
                let take = self.b.ins().bor(v_nan, better);
                let r = self.b.ins().select(take, v, acc);
                self.b.ins().select(acc_nan, acc, r)
            }
            (ReduceOp::Max, false) if ty.is_signed_int() => self.b.ins().smax(acc, v),
            (ReduceOp::Max, false) => self.b.ins().umax(acc, v),
            (ReduceOp::Min, false) if ty.is_signed_int() => self.b.ins().smin(acc, v),
            (ReduceOp::Min, false) => self.b.ins().umin(acc, v),
        }
    }

    fn ty(&self, e: &Expr) -> Res<ScalarType> {
        expr_type(e, &self.kernel.params, &|l| self.local_types.get(&l).copied())
            .ok_or_else(|| self.unsupported("an expression has no type (unverified kernel)"))
    }

    fn constant(&mut self, c: Constant) -> Value {
        match c.ty {
            ScalarType::F32 => self.b.ins().f32const(Ieee32::with_bits(c.bits as u32)),
            ScalarType::F64 => self.b.ins().f64const(Ieee64::with_bits(c.bits)),
            t => self.b.ins().iconst(clif(t), c.bits as i64),
        }
    }

    /// The address of `buffer[index]` as a base value and a constant byte offset.
    fn address(&mut self, buffer: BufferId, index: &[Affine]) -> Res<(Value, i32)> {
        let b = self
            .kernel
            .param(buffer)
            .ok_or_else(|| self.unsupported(format!("no buffer {}", buffer.0)))?;
        let size = b.dtype.size_bytes() as i128;
        let mut coeffs: Vec<(LoopVar, i128)> = Vec::new();
        let mut constant: i128 = 0;
        for (a, &stride) in index.iter().zip(&b.strides) {
            let s = stride as i128;
            constant += i128::from(a.constant) * s * size;
            for &(v, c) in &a.terms {
                let c = i128::from(c) * s * size;
                match coeffs.iter_mut().find(|t| t.0 == v) {
                    Some(t) => t.1 += c,
                    None => coeffs.push((v, c)),
                }
            }
        }
        let kernel = self.kernel;
        let too_big = || WriterError::Unsupported {
            kernel: kernel.name.clone(),
            detail: "an address offset does not fit in 64 bits".into(),
        };
        let mut addr = self.bases[buffer.index()];
        for (v, c) in coeffs {
            if c == 0 {
                continue;
            }
            let c = i64::try_from(c).map_err(|_| too_big())?;
            let x = *self
                .vars
                .get(&v)
                .ok_or_else(|| self.unsupported(format!("loop variable %i{} is not in scope", v.0)))?;
            let t = if c == 1 { x } else { self.b.ins().imul_imm_s(x, c) };
            addr = self.b.ins().iadd(addr, t);
        }
        let off = match i32::try_from(constant) {
            Ok(o) => o,
            Err(_) => {
                let c = i64::try_from(constant).map_err(|_| too_big())?;
                addr = self.b.ins().iadd_imm_s(addr, c);
                0
            }
        };
        Ok((addr, off))
    }

    fn expr(&mut self, e: &Expr) -> Res<Value> {
        Ok(match e {
            Expr::Const(c) => self.constant(*c),
            Expr::Local(l) => *self
                .locals
                .get(l)
                .ok_or_else(|| self.unsupported(format!("local $l{} is not in scope", l.0)))?,
            Expr::Load { buffer, index } => {
                let ty = self.ty(e)?;
                let (addr, off) = self.address(*buffer, index)?;
                let v = self.b.ins().load(clif(ty), MemFlagsData::trusted(), addr, off);
                if ty == ScalarType::Bool {
                    self.b.ins().icmp_imm_s(IntCC::NotEqual, v, 0)
                } else {
                    v
                }
            }
            Expr::Unary { op, arg } => {
                let ty = self.ty(arg)?;
                let x = self.expr(arg)?;
                self.unary(*op, ty, x)
            }
            Expr::Binary { op, lhs, rhs } => {
                let ty = self.ty(lhs)?;
                let (a, b) = (self.expr(lhs)?, self.expr(rhs)?);
                self.binary(*op, ty, a, b)?
            }
            Expr::Cmp { op, lhs, rhs } => {
                let ty = self.ty(lhs)?;
                let (a, b) = (self.expr(lhs)?, self.expr(rhs)?);
                self.compare(*op, ty, a, b)
            }
            Expr::Select {
                cond,
                on_true,
                on_false,
            } => {
                let c = self.expr(cond)?;
                let (t, f) = (self.expr(on_true)?, self.expr(on_false)?);
                self.b.ins().select(c, t, f)
            }
            Expr::Cast { to, arg } => {
                let from = self.ty(arg)?;
                let x = self.expr(arg)?;
                self.cast(from, *to, x)
            }
            Expr::Call { func, ty, args } => {
                let idx = self
                    .callees
                    .iter()
                    .position(|c| &c.0 == func && c.1 == *ty)
                    .ok_or_else(|| self.unsupported(format!("call of unknown function `{func}`")))?;
                let mut vals = Vec::with_capacity(args.len());
                for a in args {
                    vals.push(self.expr(a)?);
                }
                let f = self
                    .b
                    .ins()
                    .load(types::I64, MemFlagsData::trusted(), self.funcs, (idx * 8) as i32);
                let call = self.b.ins().call_indirect(self.sigs[idx], f, &vals);
                self.b.inst_results(call)[0]
            }
        })
    }

    fn unary(&mut self, op: UnaryOp, ty: ScalarType, x: Value) -> Value {
        let ins = self.b.ins();
        match op {
            UnaryOp::Neg if ty.is_float() => ins.fneg(x),
            UnaryOp::Neg => ins.ineg(x),
            UnaryOp::Abs if ty.is_float() => ins.fabs(x),
            UnaryOp::Abs if ty.is_signed_int() => ins.iabs(x),
            UnaryOp::Abs => x,
            UnaryOp::Sqrt => ins.sqrt(x),
            UnaryOp::Floor => ins.floor(x),
            UnaryOp::Ceil => ins.ceil(x),
            UnaryOp::Trunc => ins.trunc(x),
            UnaryOp::RoundEven => ins.nearest(x),
            UnaryOp::Not if ty == ScalarType::Bool => ins.bxor_imm_s(x, 1),
            UnaryOp::Not => ins.bnot(x),
        }
    }

    fn binary(&mut self, op: BinaryOp, ty: ScalarType, a: Value, b: Value) -> Res<Value> {
        if ty.is_float() {
            return Ok(match op {
                BinaryOp::Add => self.b.ins().fadd(a, b),
                BinaryOp::Sub => self.b.ins().fsub(a, b),
                BinaryOp::Mul => self.b.ins().fmul(a, b),
                BinaryOp::Div => self.b.ins().fdiv(a, b),
                BinaryOp::Max | BinaryOp::Min => self.float_max_min(op == BinaryOp::Max, ty, a, b),
                BinaryOp::And | BinaryOp::Or | BinaryOp::Xor => {
                    return Err(self.unsupported(format!("{} of floats", op.name())))
                }
            });
        }
        if op == BinaryOp::Div {
            return Err(self.unsupported("integer division is not compiled natively"));
        }
        let signed = ty.is_signed_int();
        let ins = self.b.ins();
        Ok(match op {
            BinaryOp::Add => ins.iadd(a, b),
            BinaryOp::Sub => ins.isub(a, b),
            // Division was refused above.
            BinaryOp::Mul | BinaryOp::Div => ins.imul(a, b),
            BinaryOp::Max if signed => ins.smax(a, b),
            BinaryOp::Max => ins.umax(a, b),
            BinaryOp::Min if signed => ins.smin(a, b),
            BinaryOp::Min => ins.umin(a, b),
            BinaryOp::And => ins.band(a, b),
            BinaryOp::Or => ins.bor(a, b),
            BinaryOp::Xor => ins.bxor(a, b),
        })
    }

    /// The reference's `fmax(a, b)` / `fmin(a, b)` (see [`BinaryOp::Max`]).
    fn float_max_min(&mut self, max: bool, ty: ScalarType, a: Value, b: Value) -> Value {
        let int = if ty == ScalarType::F32 { types::I32 } else { types::I64 };
        let cc = if max { FloatCC::GreaterThan } else { FloatCC::LessThan };
        let a_nan = self.b.ins().fcmp(FloatCC::Unordered, a, a);
        let b_nan = self.b.ins().fcmp(FloatCC::Unordered, b, b);
        let b_better = self.b.ins().fcmp(cc, b, a);
        let a_better = self.b.ins().fcmp(cc, a, b);
        let bits = self.b.ins().bitcast(int, MemFlagsData::new(), a);
        // max keeps `a` on a tie when its sign is clear (+0 over -0); min when it is set.
        let sign_cc = if max {
            IntCC::SignedGreaterThanOrEqual
        } else {
            IntCC::SignedLessThan
        };
        let a_sign_ok = self.b.ins().icmp_imm_s(sign_cc, bits, 0);
        let keep_a = self.b.ins().bor(a_better, a_sign_ok);
        let r1 = self.b.ins().select(keep_a, a, b);
        let take_b = self.b.ins().bor(b_nan, b_better);
        let r2 = self.b.ins().select(take_b, b, r1);
        self.b.ins().select(a_nan, a, r2)
    }

    fn compare(&mut self, op: CmpOp, ty: ScalarType, a: Value, b: Value) -> Value {
        if ty.is_float() {
            let cc = match op {
                CmpOp::Eq => FloatCC::Equal,
                CmpOp::Ne => FloatCC::NotEqual,
                CmpOp::Lt => FloatCC::LessThan,
                CmpOp::Le => FloatCC::LessThanOrEqual,
                CmpOp::Gt => FloatCC::GreaterThan,
                CmpOp::Ge => FloatCC::GreaterThanOrEqual,
            };
            return self.b.ins().fcmp(cc, a, b);
        }
        let s = ty.is_signed_int();
        let cc = match op {
            CmpOp::Eq => IntCC::Equal,
            CmpOp::Ne => IntCC::NotEqual,
            CmpOp::Lt if s => IntCC::SignedLessThan,
            CmpOp::Lt => IntCC::UnsignedLessThan,
            CmpOp::Le if s => IntCC::SignedLessThanOrEqual,
            CmpOp::Le => IntCC::UnsignedLessThanOrEqual,
            CmpOp::Gt if s => IntCC::SignedGreaterThan,
            CmpOp::Gt => IntCC::UnsignedGreaterThan,
            CmpOp::Ge if s => IntCC::SignedGreaterThanOrEqual,
            CmpOp::Ge => IntCC::UnsignedGreaterThanOrEqual,
        };
        self.b.ins().icmp(cc, a, b)
    }

    /// A conversion with the rules of [`Expr::Cast`].
    fn cast(&mut self, from: ScalarType, to: ScalarType, x: Value) -> Value {
        if from == to {
            return x;
        }
        // Bool values are 0 or 1, so they convert as unsigned bytes.
        let from = if from == ScalarType::Bool { ScalarType::U8 } else { from };
        if to == ScalarType::Bool {
            return if from.is_float() {
                let z = if from == ScalarType::F32 {
                    self.b.ins().f32const(0.0)
                } else {
                    self.b.ins().f64const(0.0)
                };
                self.b.ins().fcmp(FloatCC::NotEqual, x, z)
            } else {
                self.b.ins().icmp_imm_s(IntCC::NotEqual, x, 0)
            };
        }
        let (ft, tt) = (clif(from), clif(to));
        match (from.is_float(), to.is_float()) {
            (true, true) => {
                if to.bits() > from.bits() {
                    self.b.ins().fpromote(tt, x)
                } else {
                    self.b.ins().fdemote(tt, x)
                }
            }
            (false, true) => {
                // Widen narrow integers to 32 bits first.
                let x = if from.bits() < 32 {
                    self.int_resize(from.is_signed_int(), ft, types::I32, x)
                } else {
                    x
                };
                if from.is_signed_int() {
                    self.b.ins().fcvt_from_sint(tt, x)
                } else {
                    self.b.ins().fcvt_from_uint(tt, x)
                }
            }
            (true, false) => {
                let signed = to.is_signed_int();
                if to.bits() >= 32 {
                    return if signed {
                        self.b.ins().fcvt_to_sint_sat(tt, x)
                    } else {
                        self.b.ins().fcvt_to_uint_sat(tt, x)
                    };
                }
                // Saturate to 32 bits, then clamp to the narrow range and truncate.
                let (lo, hi) = match to {
                    ScalarType::I8 => (i64::from(i8::MIN), i64::from(i8::MAX)),
                    ScalarType::I16 => (i64::from(i16::MIN), i64::from(i16::MAX)),
                    ScalarType::U8 => (0, i64::from(u8::MAX)),
                    _ => (0, i64::from(u16::MAX)),
                };
                let wide = if signed {
                    self.b.ins().fcvt_to_sint_sat(types::I32, x)
                } else {
                    self.b.ins().fcvt_to_uint_sat(types::I32, x)
                };
                let hi_v = self.b.ins().iconst(types::I32, hi);
                let clamped = if signed {
                    let lo_v = self.b.ins().iconst(types::I32, lo & 0xffff_ffff);
                    let c = self.b.ins().smin(wide, hi_v);
                    self.b.ins().smax(c, lo_v)
                } else {
                    self.b.ins().umin(wide, hi_v)
                };
                self.b.ins().ireduce(tt, clamped)
            }
            (false, false) => self.int_resize(from.is_signed_int(), ft, tt, x),
        }
    }

    /// Extends (by signedness) or truncates an integer between Cranelift types.
    fn int_resize(&mut self, signed: bool, from: Type, to: Type, x: Value) -> Value {
        if to.bits() > from.bits() {
            if signed {
                self.b.ins().sextend(to, x)
            } else {
                self.b.ins().uextend(to, x)
            }
        } else if to.bits() < from.bits() {
            self.b.ins().ireduce(to, x)
        } else {
            x
        }
    }
}
