//! Lowering graph ops to kernels.
//!
//! [`lower_op`] (and [`lower_node`] for a node of a graph) builds one [`Kernel`] that
//! computes an op exactly as the reference interpreter does (same operations, same
//! order, so the same bits), or returns `None` when it cannot, and the op then runs on
//! the reference implementation. Lowered today, for fixed shapes:
//!
//! - `Unary` on `f32`/`f64` for the ops without transcendental functions: `abs`, `neg`,
//!   `sqrt`, `reciprocal`, `floor`, `ceil`, `round`, `sign`, `relu`, `leaky_relu`,
//!   `softsign`, `hard_sigmoid`, `hard_swish`, `thresholded_relu`, `shrink`, `is_nan`,
//!   `is_inf`; `not` on bool.
//! - `Binary` with NumPy broadcasting: `add`, `sub`, `mul`, `max`, `min` and comparisons
//!   on floats and integers, `div` and `prelu` on floats, `and`/`or`/`xor` on bool.
//! - `Clip` (float; bounds as one-element buffers), `Where`.
//! - `MatMul` of two 2-d float matrices: per output element a sequential dot product along
//!   K from `+0`, each step a rounded multiply then a rounded add.
//! - `Reduce` on floats with constant axes: `sum`, `mean`, `sum_square`, `l1`, `l2` in the
//!   lane-partial tree order (8 lanes), `prod`, `max`, `min` sequentially.
//! - `Softmax` and `LogSoftmax` on floats (also the pre-opset-13 flattened form): per
//!   line the sequential maximum, `exp` and `ln` as calls of the project's math functions
//!   ([`Expr::Call`]), the denominator in the tree order, as the reference's
//!   `softmax_line` / `log_softmax_line`.
//!
//! A lowered kernel's parameters are the op's present operands that the kernel reads (in
//! operand order), then its results; [`LoweredKernel::bindings`] says which is which.
//! Loop schedules: every loop of the output space is `parallel` except the innermost,
//! which is `vectorized(8)` when its body holds no further loop (a reduction inside it
//! is fine: each lane keeps its own order); reduction axes are inside the reduction.

use lightos_ir::{
    BinaryOp as GBinary, DType, Graph, NodeId, Op, ReduceKind, SoftmaxAttrs, SoftmaxKind, Tensor, UnaryOp as GUnary,
};

use super::{
    verify, Access, Affine, BinaryOp, Buffer, BufferId, CmpOp, Constant, Expr, Ids, Kernel, Loop, LoopVar, Reduce,
    ReduceAxis, ReduceOp, ReduceOrder, ScalarType, Schedule, Stmt, UnaryOp,
};

/// The vector width the lowering marks innermost loops with.
const VECTOR_WIDTH: u32 = 8;

/// The lane count of tree-ordered reductions (the reference's
/// [`LANES`](lightos_runtime::reference::accumulate::LANES)).
const TREE_LANES: u32 = lightos_runtime::reference::accumulate::LANES as u32;

/// An operand as lowering sees it: dtype, fixed dims and, for a constant, its value.
#[derive(Copy, Clone, Debug)]
pub struct OperandInfo<'a> {
    /// The element type.
    pub dtype: DType,
    /// The dims.
    pub dims: &'a [usize],
    /// The value, when the operand is a constant.
    pub value: Option<&'a Tensor>,
}

/// What tensor a kernel parameter is bound to.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Binding {
    /// The op's operand with this index.
    Operand(usize),
    /// The op's result with this index.
    Result(usize),
}

/// A kernel lowered from an op, with the binding of each parameter.
#[derive(Clone, Debug, PartialEq)]
pub struct LoweredKernel {
    /// The kernel (verified).
    pub kernel: Kernel,
    /// `bindings[i]` is the tensor bound to `kernel.params[i]`.
    pub bindings: Vec<Binding>,
    /// The dtype and dims of each result, in result order.
    pub results: Vec<(DType, Vec<usize>)>,
}

/// Lowers node `node` of `graph` (operand and result types must be fixed); `None` when
/// the node's op, dtypes or shapes are not lowered (see the [module docs](self)), or the
/// node does not exist.
pub fn lower_node(graph: &Graph, node: NodeId) -> Option<LoweredKernel> {
    let n = graph.try_node(node)?;
    let mut dims = Vec::with_capacity(n.operands.len());
    for o in &n.operands {
        dims.push(match o {
            Some(v) => Some(graph.try_value(*v)?.ty.shape.as_fixed()?),
            None => None,
        });
    }
    let mut operands = Vec::with_capacity(n.operands.len());
    for (o, d) in n.operands.iter().zip(&dims) {
        operands.push(match (o, d) {
            (Some(v), Some(d)) => Some(OperandInfo {
                dtype: graph.ty(*v).dtype,
                dims: d,
                value: graph.constant_value(*v),
            }),
            _ => None,
        });
    }
    let lowered = lower_op(&n.name, &n.op, &operands)?;
    // The kernel must produce exactly the types the graph declares.
    if lowered.results.len() != n.results.len() {
        return None;
    }
    for ((dtype, dims), r) in lowered.results.iter().zip(&n.results) {
        let ty = &graph.try_value(*r)?.ty;
        if ty.dtype != *dtype || ty.shape.as_fixed().as_deref() != Some(dims.as_slice()) {
            return None;
        }
    }
    Some(lowered)
}

/// Lowers `op` applied to `operands` (`None` for absent optional ones) to a kernel named
/// after `name` (non-identifier characters become `_`); `None` when it is not lowered.
pub fn lower_op(name: &str, op: &Op, operands: &[Option<OperandInfo<'_>>]) -> Option<LoweredKernel> {
    let mut b = Builder::new(name);
    let arg = |i: usize| operands.get(i).copied().flatten();
    match op {
        Op::Unary(u) => b.unary(*u, arg(0)?)?,
        Op::Binary(g) => b.binary(*g, arg(0)?, arg(1)?)?,
        Op::Clip => b.clip(arg(0)?, arg(1), arg(2))?,
        Op::Where => b.where_(arg(0)?, arg(1)?, arg(2)?)?,
        Op::MatMul => b.matmul(arg(0)?, arg(1)?)?,
        Op::Softmax(s) => b.softmax(s, arg(0)?)?,
        Op::Reduce(r) => {
            let axes = match arg(1) {
                Some(a) => Some(a.value?.to_i64_vec()?),
                None => None,
            };
            let has_axes = operands.get(1).is_some_and(Option::is_some);
            let x = arg(0)?;
            let axes = lightos_ir::infer::reduce_axes(r, x.dims.len(), axes, has_axes).ok()??;
            b.reduce(r.kind, r.keepdims, x, &axes)?
        }
        _ => return None,
    }
    let lowered = b.finish();
    // A lowering that fails verification is a bug here; fall back rather than emit it.
    verify(&lowered.kernel).ok()?;
    Some(lowered)
}

/// A kernel under construction.
struct Builder {
    kernel: Kernel,
    bindings: Vec<Binding>,
    results: Vec<(DType, Vec<usize>)>,
    ids: Ids,
}

/// A float constant of type `ty` (`f32` or `f64`), rounded from `v`.
fn fconst(ty: ScalarType, v: f64) -> Expr {
    Expr::Const(if ty == ScalarType::F32 {
        Constant::f32(v as f32)
    } else {
        Constant::f64(v)
    })
}

/// The float scalar type of `dtype`, for `f32` and `f64` only.
fn float_type(dtype: DType) -> Option<ScalarType> {
    match dtype {
        DType::F32 => Some(ScalarType::F32),
        DType::F64 => Some(ScalarType::F64),
        _ => None,
    }
}

/// NumPy broadcast of two shapes.
fn broadcast(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let rank = a.len().max(b.len());
    let mut out = Vec::with_capacity(rank);
    for i in 0..rank {
        let da = if i < rank - a.len() { 1 } else { a[i - (rank - a.len())] };
        let db = if i < rank - b.len() { 1 } else { b[i - (rank - b.len())] };
        out.push(match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => return None,
        });
    }
    Some(out)
}

/// The index of an operand of `dims` broadcast to an output indexed by `vars`.
fn broadcast_index(dims: &[usize], vars: &[LoopVar], out: &[usize]) -> Vec<Affine> {
    let lead = out.len() - dims.len();
    dims.iter()
        .enumerate()
        .map(|(i, &d)| {
            if d == 1 && out[lead + i] != 1 {
                Affine::constant(0)
            } else {
                Affine::var(vars[lead + i])
            }
        })
        .collect()
}

/// The index of every axis at `vars`.
fn identity_index(vars: &[LoopVar]) -> Vec<Affine> {
    vars.iter().map(|&v| Affine::var(v)).collect()
}

impl Builder {
    fn new(name: &str) -> Builder {
        let mut clean: String = name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' })
            .collect();
        if clean.is_empty() {
            clean.push_str("kernel");
        }
        Builder {
            kernel: Kernel::new(clean),
            bindings: Vec::new(),
            results: Vec::new(),
            ids: Ids::new(),
        }
    }

    fn finish(self) -> LoweredKernel {
        LoweredKernel {
            kernel: self.kernel,
            bindings: self.bindings,
            results: self.results,
        }
    }

    /// Adds operand `i` as a read-only contiguous buffer.
    fn input(&mut self, i: usize, name: &str, x: OperandInfo<'_>) -> Option<BufferId> {
        ScalarType::of_dtype(x.dtype)?;
        self.bindings.push(Binding::Operand(i));
        Some(
            self.kernel
                .add_param(Buffer::contiguous(name, x.dtype, x.dims, Access::Read)),
        )
    }

    /// Adds result `i` as a write-only contiguous buffer.
    fn output(&mut self, i: usize, name: &str, dtype: DType, dims: &[usize], access: Access) -> BufferId {
        self.bindings.push(Binding::Result(i));
        self.results.push((dtype, dims.to_vec()));
        self.kernel.add_param(Buffer::contiguous(name, dtype, dims, access))
    }

    /// Fresh variables for the loops of an output space of `dims`.
    fn vars(&mut self, dims: &[usize]) -> Vec<LoopVar> {
        dims.iter().map(|_| self.ids.var()).collect()
    }

    /// Wraps `body` in loops over `dims` with `vars`: parallel, except the innermost,
    /// which is vectorized when `body` holds no loop of its own.
    fn nest(dims: &[usize], vars: &[LoopVar], body: Vec<Stmt>) -> Vec<Stmt> {
        let leaf = !body.iter().any(|s| matches!(s, Stmt::Loop(_)));
        let mut stmts = body;
        for (i, (&trip, &var)) in dims.iter().zip(vars).enumerate().rev() {
            let schedule = if leaf && i + 1 == dims.len() {
                Schedule::Vectorized { width: VECTOR_WIDTH }
            } else {
                Schedule::Parallel
            };
            stmts = vec![Stmt::Loop(Loop {
                var,
                trip,
                schedule,
                body: stmts,
            })];
        }
        stmts
    }

    /// An elementwise kernel over `dims`: `out[i] = value(i)`.
    fn elementwise(&mut self, out: BufferId, dims: &[usize], vars: &[LoopVar], value: Expr) {
        let store = Stmt::Store {
            buffer: out,
            index: identity_index(vars),
            value,
        };
        self.kernel.body.extend(Self::nest(dims, vars, vec![store]));
    }

    fn unary(&mut self, op: GUnary, x: OperandInfo<'_>) -> Option<()> {
        if op == GUnary::Not {
            if x.dtype != DType::Bool {
                return None;
            }
            let xb = self.input(0, "x", x)?;
            let vars = self.vars(x.dims);
            let out = self.output(0, "y", DType::Bool, x.dims, Access::Write);
            let v = Expr::unary(UnaryOp::Not, Expr::load(xb, identity_index(&vars)));
            self.elementwise(out, x.dims, &vars, v);
            return Some(());
        }
        let ty = float_type(x.dtype)?;
        let result_dtype = match op {
            GUnary::IsNaN | GUnary::IsInf { .. } => DType::Bool,
            _ => x.dtype,
        };
        let xb = self.input(0, "x", x)?;
        let vars = self.vars(x.dims);
        let out = self.output(0, "y", result_dtype, x.dims, Access::Write);
        let v = Expr::load(xb, identity_index(&vars));
        let value = float_unary(op, ty, v)?;
        self.elementwise(out, x.dims, &vars, value);
        Some(())
    }

    fn binary(&mut self, op: GBinary, a: OperandInfo<'_>, b: OperandInfo<'_>) -> Option<()> {
        if a.dtype != b.dtype {
            return None;
        }
        let ty = ScalarType::of_dtype(a.dtype)?;
        let dims = broadcast(a.dims, b.dims)?;
        if op == GBinary::PRelu && dims != a.dims {
            return None;
        }
        let result_dtype = if op.is_comparison() { DType::Bool } else { a.dtype };
        let value_of = |x: Expr, y: Expr| -> Option<Expr> {
            let arith = |o| Some(Expr::binary(o, x.clone(), y.clone()));
            let cmp = |o| Some(Expr::cmp(o, x.clone(), y.clone()));
            match (op, ty) {
                (GBinary::Equal, t) if t != ScalarType::Bool => cmp(CmpOp::Eq),
                (GBinary::Less, t) if t != ScalarType::Bool => cmp(CmpOp::Lt),
                (GBinary::LessOrEqual, t) if t != ScalarType::Bool => cmp(CmpOp::Le),
                (GBinary::Greater, t) if t != ScalarType::Bool => cmp(CmpOp::Gt),
                (GBinary::GreaterOrEqual, t) if t != ScalarType::Bool => cmp(CmpOp::Ge),
                (GBinary::And, ScalarType::Bool) => arith(BinaryOp::And),
                (GBinary::Or, ScalarType::Bool) => arith(BinaryOp::Or),
                (GBinary::Xor, ScalarType::Bool) => arith(BinaryOp::Xor),
                (_, ScalarType::Bool) => None,
                (GBinary::Add, _) => arith(BinaryOp::Add),
                (GBinary::Sub, _) => arith(BinaryOp::Sub),
                (GBinary::Mul, _) => arith(BinaryOp::Mul),
                (GBinary::Max, _) => arith(BinaryOp::Max),
                (GBinary::Min, _) => arith(BinaryOp::Min),
                (GBinary::Div, t) if t.is_float() => arith(BinaryOp::Div),
                // `slope * x` if `x < 0`, else `x`.
                (GBinary::PRelu, t) if t.is_float() => Some(Expr::select(
                    Expr::cmp(CmpOp::Lt, x.clone(), fconst(t, 0.0)),
                    Expr::binary(BinaryOp::Mul, y.clone(), x.clone()),
                    x.clone(),
                )),
                _ => None,
            }
        };
        // Check the op is lowered before adding parameters.
        value_of(Expr::f32(0.0), Expr::f32(0.0))?;
        let ab = self.input(0, "a", a)?;
        let bb = self.input(1, "b", b)?;
        let vars = self.vars(&dims);
        let out = self.output(0, "y", result_dtype, &dims, Access::Write);
        let x = Expr::load(ab, broadcast_index(a.dims, &vars, &dims));
        let y = Expr::load(bb, broadcast_index(b.dims, &vars, &dims));
        let value = value_of(x, y)?;
        self.elementwise(out, &dims, &vars, value);
        Some(())
    }

    fn clip(&mut self, x: OperandInfo<'_>, lo: Option<OperandInfo<'_>>, hi: Option<OperandInfo<'_>>) -> Option<()> {
        float_type(x.dtype)?;
        for b in [lo, hi].into_iter().flatten() {
            if b.dtype != x.dtype || b.dims.iter().product::<usize>() != 1 {
                return None;
            }
        }
        let xb = self.input(0, "x", x)?;
        let lob = match lo {
            Some(l) => Some((self.input(1, "min", l)?, l.dims.len())),
            None => None,
        };
        let hib = match hi {
            Some(h) => Some((self.input(2, "max", h)?, h.dims.len())),
            None => None,
        };
        let vars = self.vars(x.dims);
        let out = self.output(0, "y", x.dtype, x.dims, Access::Write);
        let mut v = Expr::load(xb, identity_index(&vars));
        if let Some((b, rank)) = lob {
            v = Expr::binary(BinaryOp::Max, v, Expr::load(b, vec![Affine::constant(0); rank]));
        }
        if let Some((b, rank)) = hib {
            v = Expr::binary(BinaryOp::Min, v, Expr::load(b, vec![Affine::constant(0); rank]));
        }
        self.elementwise(out, x.dims, &vars, v);
        Some(())
    }

    fn where_(&mut self, c: OperandInfo<'_>, x: OperandInfo<'_>, y: OperandInfo<'_>) -> Option<()> {
        if c.dtype != DType::Bool || x.dtype != y.dtype {
            return None;
        }
        ScalarType::of_dtype(x.dtype)?;
        let dims = broadcast(&broadcast(c.dims, x.dims)?, y.dims)?;
        let cb = self.input(0, "cond", c)?;
        let xb = self.input(1, "x", x)?;
        let yb = self.input(2, "y", y)?;
        let vars = self.vars(&dims);
        let out = self.output(0, "out", x.dtype, &dims, Access::Write);
        let value = Expr::select(
            Expr::load(cb, broadcast_index(c.dims, &vars, &dims)),
            Expr::load(xb, broadcast_index(x.dims, &vars, &dims)),
            Expr::load(yb, broadcast_index(y.dims, &vars, &dims)),
        );
        self.elementwise(out, &dims, &vars, value);
        Some(())
    }

    fn matmul(&mut self, a: OperandInfo<'_>, b: OperandInfo<'_>) -> Option<()> {
        let ty = float_type(a.dtype)?;
        if a.dtype != b.dtype || a.dims.len() != 2 || b.dims.len() != 2 || a.dims[1] != b.dims[0] {
            return None;
        }
        let (m, k, n) = (a.dims[0], a.dims[1], b.dims[1]);
        let ab = self.input(0, "a", a)?;
        let bb = self.input(1, "b", b)?;
        let out = self.output(0, "y", a.dtype, &[m, n], Access::Write);
        let (vm, vn, vk) = (self.ids.var(), self.ids.var(), self.ids.var());
        let acc = self.ids.local();
        let term = Expr::binary(
            BinaryOp::Mul,
            Expr::load(ab, vec![Affine::var(vm), Affine::var(vk)]),
            Expr::load(bb, vec![Affine::var(vk), Affine::var(vn)]),
        );
        let body = vec![
            Stmt::Reduce(Reduce {
                local: acc,
                op: ReduceOp::Add,
                order: ReduceOrder::Sequential,
                init: zero(ty),
                axes: vec![ReduceAxis { var: vk, trip: k }],
                value: term,
            }),
            Stmt::Store {
                buffer: out,
                index: vec![Affine::var(vm), Affine::var(vn)],
                value: Expr::Local(acc),
            },
        ];
        self.kernel.body.extend(Self::nest(&[m, n], &[vm, vn], body));
        Some(())
    }

    fn softmax(&mut self, s: &SoftmaxAttrs, x: OperandInfo<'_>) -> Option<()> {
        let ty = float_type(x.dtype)?;
        let rank = x.dims.len();
        let line: Vec<usize> = if s.flatten {
            if s.axis > rank {
                return None;
            }
            (s.axis..rank).collect()
        } else {
            if s.axis >= rank {
                return None;
            }
            vec![s.axis]
        };
        let access = match s.kind {
            SoftmaxKind::Softmax => Access::ReadWrite,
            SoftmaxKind::LogSoftmax => Access::Write,
            SoftmaxKind::Hardmax => return None,
        };
        let xb = self.input(0, "x", x)?;
        let out = self.output(0, "y", x.dtype, x.dims, access);
        let outer: Vec<(usize, LoopVar)> = (0..rank)
            .filter(|d| !line.contains(d))
            .map(|d| (d, self.ids.var()))
            .collect();
        let dims = x.dims;
        // The index of an element of the current line at `vars` (one per line axis).
        let index = |vars: &[LoopVar]| -> Vec<Affine> {
            (0..rank)
                .map(|d| match line.iter().position(|&l| l == d) {
                    Some(i) => Affine::var(vars[i]),
                    None => Affine::var(outer.iter().find(|o| o.0 == d).map_or(LoopVar(u32::MAX), |o| o.1)),
                })
                .collect()
        };
        let fresh = |ids: &mut Ids| -> Vec<LoopVar> { line.iter().map(|_| ids.var()).collect() };
        let reduce_axes = |vars: &[LoopVar]| -> Vec<ReduceAxis> {
            vars.iter()
                .zip(&line)
                .map(|(&var, &d)| ReduceAxis { var, trip: dims[d] })
                .collect()
        };
        let line_dims: Vec<usize> = line.iter().map(|&d| dims[d]).collect();
        let (m, sum) = (self.ids.local(), self.ids.local());
        let exp_of = |e: Expr| Expr::call("exp", ty, vec![e]);
        let v1 = fresh(&mut self.ids);
        let mut body = vec![Stmt::Reduce(Reduce {
            local: m,
            op: ReduceOp::Max,
            order: ReduceOrder::Sequential,
            init: neg_const(&fconst(ty, f64::INFINITY))?,
            axes: reduce_axes(&v1),
            value: Expr::load(xb, index(&v1)),
        })];
        let shifted = |vars: &[LoopVar]| Expr::binary(BinaryOp::Sub, Expr::load(xb, index(vars)), Expr::Local(m));
        let tree = ReduceOrder::LanePartialTree { lanes: TREE_LANES };
        match s.kind {
            SoftmaxKind::Softmax => {
                let v2 = fresh(&mut self.ids);
                let store = Stmt::Store {
                    buffer: out,
                    index: index(&v2),
                    value: exp_of(shifted(&v2)),
                };
                body.extend(Self::nest(&line_dims, &v2, vec![store]));
                let v3 = fresh(&mut self.ids);
                body.push(Stmt::Reduce(Reduce {
                    local: sum,
                    op: ReduceOp::Add,
                    order: tree,
                    init: zero(ty),
                    axes: reduce_axes(&v3),
                    value: Expr::load(out, index(&v3)),
                }));
                let v4 = fresh(&mut self.ids);
                let store = Stmt::Store {
                    buffer: out,
                    index: index(&v4),
                    value: Expr::binary(BinaryOp::Div, Expr::load(out, index(&v4)), Expr::Local(sum)),
                };
                body.extend(Self::nest(&line_dims, &v4, vec![store]));
            }
            _ => {
                let v2 = fresh(&mut self.ids);
                body.push(Stmt::Reduce(Reduce {
                    local: sum,
                    op: ReduceOp::Add,
                    order: tree,
                    init: zero(ty),
                    axes: reduce_axes(&v2),
                    value: exp_of(shifted(&v2)),
                }));
                let log_sum = self.ids.local();
                body.push(Stmt::Let {
                    local: log_sum,
                    value: Expr::call("ln", ty, vec![Expr::Local(sum)]),
                });
                let v3 = fresh(&mut self.ids);
                let store = Stmt::Store {
                    buffer: out,
                    index: index(&v3),
                    value: Expr::binary(BinaryOp::Sub, shifted(&v3), Expr::Local(log_sum)),
                };
                body.extend(Self::nest(&line_dims, &v3, vec![store]));
            }
        }
        let (odims, ovars): (Vec<usize>, Vec<LoopVar>) = outer.iter().map(|&(d, v)| (dims[d], v)).unzip();
        let nest = Self::nest(&odims, &ovars, body);
        self.kernel.body.extend(nest);
        Some(())
    }

    fn reduce(&mut self, kind: ReduceKind, keepdims: bool, x: OperandInfo<'_>, axes: &[usize]) -> Option<()> {
        let ty = float_type(x.dtype)?;
        if axes.iter().any(|&a| a >= x.dims.len()) {
            return None;
        }
        let mut out_dims = Vec::new();
        let mut out_vars = Vec::new();
        let mut red_axes = Vec::new();
        let mut in_index = Vec::new();
        let mut out_index = Vec::new();
        for (d, &size) in x.dims.iter().enumerate() {
            let v = self.ids.var();
            in_index.push(Affine::var(v));
            if axes.contains(&d) {
                red_axes.push(ReduceAxis { var: v, trip: size });
                if keepdims {
                    out_dims.push(1);
                    out_index.push(Affine::constant(0));
                }
            } else {
                out_dims.push(size);
                out_vars.push((v, size));
                out_index.push(Affine::var(v));
            }
        }
        let count: usize = red_axes.iter().map(|a| a.trip).product();
        let xb = self.input(0, "x", x)?;
        let out = self.output(0, "y", x.dtype, &out_dims, Access::Write);
        let v = Expr::load(xb, in_index);
        let inf = fconst(ty, f64::INFINITY);
        let tree = ReduceOrder::LanePartialTree { lanes: TREE_LANES };
        let (op, order, init, value) = match kind {
            ReduceKind::Sum | ReduceKind::Mean => (ReduceOp::Add, tree, zero(ty), v),
            ReduceKind::SumSquare | ReduceKind::L2 => {
                (ReduceOp::Add, tree, zero(ty), Expr::binary(BinaryOp::Mul, v.clone(), v))
            }
            ReduceKind::L1 => (ReduceOp::Add, tree, zero(ty), Expr::unary(UnaryOp::Abs, v)),
            ReduceKind::Prod => (ReduceOp::Mul, ReduceOrder::Sequential, one(ty), v),
            ReduceKind::Max => (ReduceOp::Max, ReduceOrder::Sequential, neg_const(&inf)?, v),
            ReduceKind::Min => (ReduceOp::Min, ReduceOrder::Sequential, const_of(&inf)?, v),
            ReduceKind::LogSum | ReduceKind::LogSumExp => return None,
        };
        let acc = self.ids.local();
        let result = match kind {
            ReduceKind::Mean => Expr::binary(BinaryOp::Div, Expr::Local(acc), fconst(ty, count as f64)),
            ReduceKind::L2 => Expr::unary(UnaryOp::Sqrt, Expr::Local(acc)),
            _ => Expr::Local(acc),
        };
        let body = vec![
            Stmt::Reduce(Reduce {
                local: acc,
                op,
                order,
                init,
                axes: red_axes,
                value,
            }),
            Stmt::Store {
                buffer: out,
                index: out_index,
                value: result,
            },
        ];
        let (dims, vars): (Vec<usize>, Vec<LoopVar>) = out_vars.iter().map(|&(v, d)| (d, v)).unzip();
        self.kernel.body.extend(Self::nest(&dims, &vars, body));
        Some(())
    }
}

/// `+0` of a float type.
fn zero(ty: ScalarType) -> Constant {
    const_of(&fconst(ty, 0.0)).unwrap_or(Constant::f32(0.0))
}

/// `1` of a float type.
fn one(ty: ScalarType) -> Constant {
    const_of(&fconst(ty, 1.0)).unwrap_or(Constant::f32(1.0))
}

/// The constant of a constant expression.
fn const_of(e: &Expr) -> Option<Constant> {
    match e {
        Expr::Const(c) => Some(*c),
        _ => None,
    }
}

/// The negation of a float constant expression.
fn neg_const(e: &Expr) -> Option<Constant> {
    let c = const_of(e)?;
    Some(match c.ty {
        ScalarType::F32 => Constant::f32(-c.as_f32()),
        _ => Constant::f64(-c.as_f64()),
    })
}

/// The reference formula of a float unary op applied to `x` (see the reference's
/// `float_unary`); `None` for ops needing transcendental functions.
fn float_unary(op: GUnary, ty: ScalarType, x: Expr) -> Option<Expr> {
    let c = |v: f64| fconst(ty, v);
    let attr = |v: f32| fconst(ty, f64::from(v));
    let zero = c(0.0);
    let one = c(1.0);
    let un = |o, a| Expr::unary(o, a);
    let bin = |o, a, b| Expr::binary(o, a, b);
    let cmp = |o, a, b| Expr::cmp(o, a, b);
    let sel = |p, a, b| Expr::select(p, a, b);
    // `max(0, min(1, alpha * x + beta))`.
    let hard_sigmoid = |x: Expr, alpha: Expr, beta: Expr| {
        bin(
            BinaryOp::Max,
            c(0.0),
            bin(
                BinaryOp::Min,
                c(1.0),
                bin(BinaryOp::Add, bin(BinaryOp::Mul, alpha, x), beta),
            ),
        )
    };
    Some(match op {
        GUnary::Abs => un(UnaryOp::Abs, x),
        GUnary::Neg => un(UnaryOp::Neg, x),
        GUnary::Sqrt => un(UnaryOp::Sqrt, x),
        GUnary::Floor => un(UnaryOp::Floor, x),
        GUnary::Ceil => un(UnaryOp::Ceil, x),
        GUnary::Round => un(UnaryOp::RoundEven, x),
        GUnary::Reciprocal => bin(BinaryOp::Div, one, x),
        // 1 if x > 0, -1 if x < 0, x if NaN, else +0.
        GUnary::Sign => sel(
            cmp(CmpOp::Gt, x.clone(), zero.clone()),
            one,
            sel(
                cmp(CmpOp::Lt, x.clone(), zero.clone()),
                c(-1.0),
                sel(cmp(CmpOp::Ne, x.clone(), x.clone()), x, zero),
            ),
        ),
        // x if x > 0 or NaN, else +0: `x <= 0` is false exactly for those.
        GUnary::Relu => sel(cmp(CmpOp::Le, x.clone(), zero.clone()), zero, x),
        GUnary::LeakyRelu { alpha } => sel(
            cmp(CmpOp::Lt, x.clone(), zero),
            bin(BinaryOp::Mul, attr(alpha), x.clone()),
            x,
        ),
        GUnary::Softsign => bin(BinaryOp::Div, x.clone(), bin(BinaryOp::Add, one, un(UnaryOp::Abs, x))),
        GUnary::HardSigmoid { alpha, beta } => hard_sigmoid(x, attr(alpha), attr(beta)),
        GUnary::HardSwish => bin(BinaryOp::Mul, x.clone(), hard_sigmoid(x, c(1.0 / 6.0), c(0.5))),
        GUnary::ThresholdedRelu { alpha } => sel(cmp(CmpOp::Gt, x.clone(), attr(alpha)), x, zero),
        // x + bias if x < -lambd, x - bias if x > lambd, else 0.
        GUnary::Shrink { bias, lambd } => {
            let l = attr(lambd);
            let neg_l = neg_const(&l).map(Expr::Const)?;
            sel(
                cmp(CmpOp::Lt, x.clone(), neg_l),
                bin(BinaryOp::Add, x.clone(), attr(bias)),
                sel(cmp(CmpOp::Gt, x.clone(), l), bin(BinaryOp::Sub, x, attr(bias)), zero),
            )
        }
        GUnary::IsNaN => cmp(CmpOp::Ne, x.clone(), x),
        GUnary::IsInf { negative, positive } => {
            let inf = c(f64::INFINITY);
            let ninf = c(f64::NEG_INFINITY);
            match (negative, positive) {
                (true, true) => cmp(CmpOp::Eq, un(UnaryOp::Abs, x), inf),
                (false, true) => cmp(CmpOp::Eq, x, inf),
                (true, false) => cmp(CmpOp::Eq, x, ninf),
                (false, false) => Expr::Const(Constant::bool(false)),
            }
        }
        _ => return None,
    })
}
