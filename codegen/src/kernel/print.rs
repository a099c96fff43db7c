//! The canonical text of a kernel, for golden snapshots and diagnostics.
//!
//! Loop variables print as `%0, %1, ...` and locals as `$0, $1, ...`, numbered in order of
//! definition as the text reads, so the text does not depend on how ids were allocated.
//! Example:
//!
//! ```text
//! kernel add(
//!   in a: f32[2, 3] strides [3, 1],
//!   in b: f32[3] strides [1],
//!   out y: f32[2, 3] strides [3, 1],
//! ) {
//!   parallel %0 in 0..2 {
//!     serial %1 in 0..3 {
//!       y[%0, %1] = add(a[%0, %1], b[%1])
//!     }
//!   }
//! }
//! ```

use std::collections::HashMap;
use std::fmt::Write;

use super::verify::expr_type;
use super::{Affine, Constant, Expr, Kernel, LocalId, LoopVar, ReduceOrder, ScalarType, Schedule, Stmt};

/// The canonical text of `kernel`. Works on invalid kernels too (unknown ids print as
/// `%?N` / `$?N`, unknown buffers as `?bufN`).
pub fn print(kernel: &Kernel) -> String {
    let mut p = Printer::new(kernel);
    let mut out = String::new();
    let _ = writeln!(out, "kernel {}(", kernel.name);
    for b in &kernel.params {
        let _ = writeln!(
            out,
            "  {} {}: {}{} strides {},",
            b.access.name(),
            b.name,
            b.dtype.name(),
            list(&b.dims),
            list(&b.strides)
        );
    }
    out.push_str(") {\n");
    p.block(&kernel.body, 1, &mut out);
    out.push_str("}\n");
    out
}

/// A one-line summary of a statement (its header, without nested bodies), for
/// diagnostics. Ids print raw (`%i3`, `$l2`) since there is no enclosing numbering.
pub(crate) fn stmt_head(kernel: &Kernel, stmt: &Stmt) -> String {
    let mut p = Printer::new(kernel);
    p.raw = true;
    p.head(stmt)
}

/// `[a, b, c]`.
fn list(v: &[usize]) -> String {
    let items: Vec<String> = v.iter().map(|d| d.to_string()).collect();
    format!("[{}]", items.join(", "))
}

/// Printing state: the renumbering of variables and locals, and local types.
struct Printer<'k> {
    kernel: &'k Kernel,
    vars: HashMap<LoopVar, usize>,
    locals: HashMap<LocalId, usize>,
    local_types: HashMap<LocalId, ScalarType>,
    /// Print raw ids instead of renumbering.
    raw: bool,
}

impl<'k> Printer<'k> {
    fn new(kernel: &'k Kernel) -> Printer<'k> {
        Printer {
            kernel,
            vars: HashMap::new(),
            locals: HashMap::new(),
            local_types: HashMap::new(),
            raw: false,
        }
    }

    fn define_var(&mut self, v: LoopVar) {
        let n = self.vars.len();
        self.vars.entry(v).or_insert(n);
    }

    fn define_local(&mut self, l: LocalId, ty: Option<ScalarType>) {
        let n = self.locals.len();
        self.locals.entry(l).or_insert(n);
        if let Some(ty) = ty {
            self.local_types.insert(l, ty);
        }
    }

    fn var(&self, v: LoopVar) -> String {
        if self.raw {
            return format!("%i{}", v.0);
        }
        match self.vars.get(&v) {
            Some(n) => format!("%{n}"),
            None => format!("%?{}", v.0),
        }
    }

    fn local(&self, l: LocalId) -> String {
        if self.raw {
            return format!("$l{}", l.0);
        }
        match self.locals.get(&l) {
            Some(n) => format!("${n}"),
            None => format!("$?{}", l.0),
        }
    }

    fn block(&mut self, stmts: &[Stmt], depth: usize, out: &mut String) {
        for s in stmts {
            let pad = "  ".repeat(depth);
            match s {
                Stmt::Loop(l) => {
                    self.define_var(l.var);
                    let _ = writeln!(out, "{pad}{} {{", self.head(s));
                    self.block(&l.body, depth + 1, out);
                    let _ = writeln!(out, "{pad}}}");
                }
                Stmt::Let { local, value } => {
                    let ty = self.ty(value);
                    self.define_local(*local, ty);
                    let _ = writeln!(out, "{pad}{}", self.let_text(*local, ty, value));
                }
                Stmt::Reduce(r) => {
                    for a in &r.axes {
                        self.define_var(a.var);
                    }
                    self.define_local(r.local, Some(r.init.ty));
                    let _ = writeln!(out, "{pad}{}", self.head(s));
                }
                Stmt::Store { .. } => {
                    let _ = writeln!(out, "{pad}{}", self.head(s));
                }
            }
        }
    }

    fn ty(&self, e: &Expr) -> Option<ScalarType> {
        expr_type(e, &self.kernel.params, &|l| self.local_types.get(&l).copied())
    }

    fn let_text(&self, local: LocalId, ty: Option<ScalarType>, value: &Expr) -> String {
        let ty = ty.map_or("?", ScalarType::name);
        format!("let {}: {ty} = {}", self.local(local), self.expr(value))
    }

    /// The header line of a statement.
    fn head(&self, s: &Stmt) -> String {
        match s {
            Stmt::Loop(l) => {
                let sched = match l.schedule {
                    Schedule::Serial => "serial".to_string(),
                    Schedule::Parallel => "parallel".to_string(),
                    Schedule::Vectorized { width } => format!("vectorized({width})"),
                    Schedule::Unrolled { factor } => format!("unrolled({factor})"),
                };
                format!("{sched} {} in 0..{}", self.var(l.var), l.trip)
            }
            Stmt::Let { local, value } => self.let_text(*local, self.ty(value), value),
            Stmt::Store { buffer, index, value } => {
                format!("{} = {}", self.access(buffer.index(), index), self.expr(value))
            }
            Stmt::Reduce(r) => {
                let order = match r.order {
                    ReduceOrder::Sequential => "sequential".to_string(),
                    ReduceOrder::LanePartialTree { lanes } => format!("lane_tree({lanes})"),
                };
                let axes: Vec<String> = r
                    .axes
                    .iter()
                    .map(|a| format!("{} in 0..{}", self.var(a.var), a.trip))
                    .collect();
                format!(
                    "{}: {} = reduce {} {order} init {} over ({}) {{ {} }}",
                    self.local(r.local),
                    r.init.ty.name(),
                    r.op.name(),
                    constant(r.init),
                    axes.join(", "),
                    self.expr(&r.value)
                )
            }
        }
    }

    fn access(&self, buffer: usize, index: &[Affine]) -> String {
        let name = match self.kernel.params.get(buffer) {
            Some(b) => b.name.clone(),
            None => format!("?buf{buffer}"),
        };
        let parts: Vec<String> = index.iter().map(|a| self.affine(a)).collect();
        format!("{name}[{}]", parts.join(", "))
    }

    fn affine(&self, a: &Affine) -> String {
        let mut s = String::new();
        for (i, &(v, c)) in a.terms.iter().enumerate() {
            let var = self.var(v);
            let mag = c.unsigned_abs();
            let term = if mag == 1 { var } else { format!("{mag}*{var}") };
            match (i, c < 0) {
                (0, false) => s.push_str(&term),
                (0, true) => {
                    s.push('-');
                    s.push_str(&term);
                }
                (_, false) => {
                    s.push_str(" + ");
                    s.push_str(&term);
                }
                (_, true) => {
                    s.push_str(" - ");
                    s.push_str(&term);
                }
            }
        }
        if a.terms.is_empty() {
            s = a.constant.to_string();
        } else if a.constant > 0 {
            let _ = write!(s, " + {}", a.constant);
        } else if a.constant < 0 {
            let _ = write!(s, " - {}", a.constant.unsigned_abs());
        }
        s
    }

    fn expr(&self, e: &Expr) -> String {
        match e {
            Expr::Const(c) => constant(*c),
            Expr::Local(l) => self.local(*l),
            Expr::Load { buffer, index } => self.access(buffer.index(), index),
            Expr::Unary { op, arg } => format!("{}({})", op.name(), self.expr(arg)),
            Expr::Binary { op, lhs, rhs } => {
                format!("{}({}, {})", op.name(), self.expr(lhs), self.expr(rhs))
            }
            Expr::Cmp { op, lhs, rhs } => {
                format!("{}({}, {})", op.name(), self.expr(lhs), self.expr(rhs))
            }
            Expr::Select {
                cond,
                on_true,
                on_false,
            } => format!(
                "select({}, {}, {})",
                self.expr(cond),
                self.expr(on_true),
                self.expr(on_false)
            ),
            Expr::Cast { to, arg } => format!("cast.{}({})", to.name(), self.expr(arg)),
            Expr::Call { func, ty, args } => {
                let a: Vec<String> = args.iter().map(|x| self.expr(x)).collect();
                format!("call {func}.{}({})", ty.name(), a.join(", "))
            }
        }
    }
}

/// A typed literal: `1.5:f32`, `-3:i64`, `true`, `nan(0x7fc00000):f32`.
fn constant(c: Constant) -> String {
    match c.ty {
        ScalarType::Bool => (c.bits != 0).to_string(),
        ScalarType::F32 => {
            let v = c.as_f32();
            if v.is_nan() {
                format!("nan({:#010x}):f32", c.bits)
            } else {
                format!("{v:?}:f32")
            }
        }
        ScalarType::F64 => {
            let v = c.as_f64();
            if v.is_nan() {
                format!("nan({:#018x}):f64", c.bits)
            } else {
                format!("{v:?}:f64")
            }
        }
        t if t.is_signed_int() => format!("{}:{}", c.as_i64(), t.name()),
        t => format!("{}:{}", c.bits, t.name()),
    }
}
