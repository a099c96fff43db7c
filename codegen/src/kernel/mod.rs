//! The kernel IR: a target-neutral, loop-level description of one kernel.
//!
//! A [`Kernel`] is what every code writer consumes (the Cranelift CPU writer in
//! [`crate::cranelift`] today; PTX, HSACO, SPIR-V and Metal writers later). It says *what*
//! is computed and in *which order of floating-point operations*, and marks where a writer
//! may spread work over threads or vector lanes, but holds nothing specific to a CPU, a
//! GPU or an instruction set.
//!
//! # The pieces
//!
//! - **Buffers** ([`Buffer`]) are the kernel's parameters: a dtype, a shape and strides
//!   in elements, and whether the kernel reads or writes them. A writer receives one base
//!   pointer per buffer, in parameter order.
//! - **Loops** ([`Loop`]) run a loop variable from `0` to a fixed trip count, step 1, and
//!   carry a [`Schedule`] mark: `serial`, `parallel` (iterations are independent and may
//!   run on different threads or workgroups), `vectorized(width)` (iterations are
//!   independent and may run in vector lanes) or `unrolled(factor)`. A mark is a
//!   permission, never a change of meaning: every schedule computes exactly what the
//!   serial loop computes.
//! - **Indices** ([`Affine`]) are affine in the loop variables: `sum(var * coeff) + c`.
//!   A load or store gives one index per buffer axis; the element offset is
//!   `sum(index[d] * strides[d])`.
//! - **Scalar expressions** ([`Expr`]): constants, loads, locals, unary and binary
//!   arithmetic ([`UnaryOp`], [`BinaryOp`]), comparisons ([`CmpOp`]) and `select`,
//!   casts, and calls to named functions ([`Expr::Call`], e.g. `exp`) that each writer
//!   resolves to the project's own implementation (never a vendor math library).
//! - **Statements** ([`Stmt`]): loops, immutable local bindings (`let`), stores and
//!   reductions.
//! - **Reductions** ([`Reduce`]) fold a value over one or more axes with an explicit
//!   accumulation order ([`ReduceOrder`]): `Sequential`, or `LanePartialTree { lanes }`,
//!   the lane-partial then halving-tree order of
//!   [`lightos_runtime::reference::accumulate`].
//!
//! # Numerics
//!
//! Every operation is one IEEE operation rounded to its type, in the order written: a
//! writer must not contract `a * b + c` into a fused multiply-add, reassociate, or use
//! approximate instructions. [`BinaryOp::Max`] and [`BinaryOp::Min`] are the reference's
//! NaN-propagating maximum and minimum (see their docs), and [`ReduceOp`] fixes the step of
//! each reduction, so a kernel lowered from a graph op gives the reference's bits.
//!
//! [`verify`] checks a kernel (indices in bounds for every iteration, types, scopes);
//! [`print`] gives its canonical text; [`lower`] builds kernels from graph ops.

pub mod lower;
mod print;
pub(crate) mod verify;

pub use lower::{lower_node, lower_op, Binding, LoweredKernel, OperandInfo};
pub use print::print;
pub use verify::{verify, KernelError, KernelErrorKind};

use lightos_ir::DType;

/// A buffer parameter of a kernel, by its position in [`Kernel::params`].
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BufferId(pub u32);

/// A loop variable (of a [`Loop`] or a [`Reduce`] axis).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LoopVar(pub u32);

/// An immutable scalar local, defined by [`Stmt::Let`] or [`Stmt::Reduce`].
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LocalId(pub u32);

impl BufferId {
    /// The index into [`Kernel::params`].
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// How a kernel uses a buffer.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Access {
    /// Only loaded from.
    Read,
    /// Only stored to.
    Write,
    /// Loaded from and stored to.
    ReadWrite,
}

impl Access {
    /// Whether the kernel may store to the buffer.
    pub fn writable(self) -> bool {
        matches!(self, Access::Write | Access::ReadWrite)
    }

    /// Whether the kernel may load from the buffer.
    pub fn readable(self) -> bool {
        matches!(self, Access::Read | Access::ReadWrite)
    }

    /// The name in the text format: `in`, `out` or `inout`.
    pub fn name(self) -> &'static str {
        match self {
            Access::Read => "in",
            Access::Write => "out",
            Access::ReadWrite => "inout",
        }
    }
}

/// A kernel parameter: a strided view of elements of one dtype.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Buffer {
    /// A name for the text format and diagnostics (unique within the kernel).
    pub name: String,
    /// The element type; it must have a [`ScalarType`] (see [`ScalarType::of_dtype`]).
    pub dtype: DType,
    /// The size of each axis.
    pub dims: Vec<usize>,
    /// The distance between neighbours along each axis, in elements.
    pub strides: Vec<usize>,
    /// Whether the kernel reads or writes it.
    pub access: Access,
}

impl Buffer {
    /// A row-major (C-contiguous) buffer of `dims`.
    pub fn contiguous(name: impl Into<String>, dtype: DType, dims: &[usize], access: Access) -> Buffer {
        Buffer {
            name: name.into(),
            dtype,
            dims: dims.to_vec(),
            strides: lightos_ir::shape::strides(dims),
            access,
        }
    }

    /// The number of elements the view spans: one past its largest element offset, `0`
    /// when an axis is empty; `None` when that overflows `usize`.
    pub fn extent(&self) -> Option<usize> {
        if self.dims.contains(&0) {
            return Some(0);
        }
        let mut last = 0usize;
        for (&d, &s) in self.dims.iter().zip(&self.strides) {
            last = last.checked_add((d - 1).checked_mul(s)?)?;
        }
        last.checked_add(1)
    }
}

/// The type of a scalar value inside a kernel. `Bool` is stored as one byte, `0` or `1`
/// (a loaded nonzero byte counts as true).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ScalarType {
    /// Boolean.
    Bool,
    /// Signed 8-bit integer.
    I8,
    /// Signed 16-bit integer.
    I16,
    /// Signed 32-bit integer.
    I32,
    /// Signed 64-bit integer.
    I64,
    /// Unsigned 8-bit integer.
    U8,
    /// Unsigned 16-bit integer.
    U16,
    /// Unsigned 32-bit integer.
    U32,
    /// Unsigned 64-bit integer.
    U64,
    /// IEEE 754 binary32.
    F32,
    /// IEEE 754 binary64.
    F64,
}

impl ScalarType {
    /// The scalar type of buffer elements of `dtype`; `None` for dtypes a kernel cannot
    /// load directly (`f16`, `bf16`, the float8, float4 and sub-byte integer types).
    pub fn of_dtype(dtype: DType) -> Option<ScalarType> {
        Some(match dtype {
            DType::Bool => ScalarType::Bool,
            DType::I8 => ScalarType::I8,
            DType::I16 => ScalarType::I16,
            DType::I32 => ScalarType::I32,
            DType::I64 => ScalarType::I64,
            DType::U8 => ScalarType::U8,
            DType::U16 => ScalarType::U16,
            DType::U32 => ScalarType::U32,
            DType::U64 => ScalarType::U64,
            DType::F32 => ScalarType::F32,
            DType::F64 => ScalarType::F64,
            _ => return None,
        })
    }

    /// The dtype of a buffer element of this type.
    pub fn dtype(self) -> DType {
        match self {
            ScalarType::Bool => DType::Bool,
            ScalarType::I8 => DType::I8,
            ScalarType::I16 => DType::I16,
            ScalarType::I32 => DType::I32,
            ScalarType::I64 => DType::I64,
            ScalarType::U8 => DType::U8,
            ScalarType::U16 => DType::U16,
            ScalarType::U32 => DType::U32,
            ScalarType::U64 => DType::U64,
            ScalarType::F32 => DType::F32,
            ScalarType::F64 => DType::F64,
        }
    }

    /// The name in the text format, e.g. `f32`.
    pub fn name(self) -> &'static str {
        self.dtype().name()
    }

    /// Whether it is `F32` or `F64`.
    pub fn is_float(self) -> bool {
        matches!(self, ScalarType::F32 | ScalarType::F64)
    }

    /// Whether it is a signed or unsigned integer type (not `Bool`).
    pub fn is_int(self) -> bool {
        !self.is_float() && self != ScalarType::Bool
    }

    /// Whether it is a signed integer type.
    pub fn is_signed_int(self) -> bool {
        matches!(
            self,
            ScalarType::I8 | ScalarType::I16 | ScalarType::I32 | ScalarType::I64
        )
    }

    /// The width in bits of a value (8 for `Bool`).
    pub fn bits(self) -> u32 {
        match self {
            ScalarType::Bool | ScalarType::I8 | ScalarType::U8 => 8,
            ScalarType::I16 | ScalarType::U16 => 16,
            ScalarType::I32 | ScalarType::U32 | ScalarType::F32 => 32,
            ScalarType::I64 | ScalarType::U64 | ScalarType::F64 => 64,
        }
    }

    /// The size of a stored element in bytes.
    pub fn size_bytes(self) -> usize {
        self.bits() as usize / 8
    }
}

/// A typed scalar constant, held as bits: IEEE bits for floats, the two's complement
/// value in the type's width (zero-extended) for integers, `0` or `1` for `Bool`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Constant {
    /// The type.
    pub ty: ScalarType,
    /// The bits, in the low [`ScalarType::bits`] bits.
    pub bits: u64,
}

impl Constant {
    /// An `f32` constant.
    pub fn f32(v: f32) -> Constant {
        Constant {
            ty: ScalarType::F32,
            bits: u64::from(v.to_bits()),
        }
    }

    /// An `f64` constant.
    pub fn f64(v: f64) -> Constant {
        Constant {
            ty: ScalarType::F64,
            bits: v.to_bits(),
        }
    }

    /// A `Bool` constant.
    pub fn bool(v: bool) -> Constant {
        Constant {
            ty: ScalarType::Bool,
            bits: u64::from(v),
        }
    }

    /// An integer constant of type `ty`, wrapped into its width (`ty` must be an integer
    /// type; other types give the wrapped bits too, which is rarely meant).
    pub fn int(ty: ScalarType, v: i64) -> Constant {
        let bits = v as u64;
        let mask = if ty.bits() == 64 {
            u64::MAX
        } else {
            (1u64 << ty.bits()) - 1
        };
        Constant { ty, bits: bits & mask }
    }

    /// The value of an `F32` constant's bits as `f32`.
    pub fn as_f32(self) -> f32 {
        f32::from_bits(self.bits as u32)
    }

    /// The value of an `F64` constant's bits as `f64`.
    pub fn as_f64(self) -> f64 {
        f64::from_bits(self.bits)
    }

    /// The integer value, sign-extended for signed types.
    pub fn as_i64(self) -> i64 {
        let b = self.ty.bits();
        if self.ty.is_signed_int() && b < 64 {
            let shift = 64 - b;
            ((self.bits << shift) as i64) >> shift
        } else {
            self.bits as i64
        }
    }
}

/// An affine index: `sum(var * coeff) + constant`, in elements of one buffer axis.
///
/// Kept canonical by its constructors: terms sorted by variable, one term per variable,
/// no zero coefficients.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Affine {
    /// The `(variable, coefficient)` terms.
    pub terms: Vec<(LoopVar, i64)>,
    /// The constant term.
    pub constant: i64,
}

impl Affine {
    /// The constant `c`.
    pub fn constant(c: i64) -> Affine {
        Affine {
            terms: Vec::new(),
            constant: c,
        }
    }

    /// The loop variable `v` itself.
    pub fn var(v: LoopVar) -> Affine {
        Affine {
            terms: vec![(v, 1)],
            constant: 0,
        }
    }

    /// `self + coeff * v`, kept canonical.
    pub fn plus_term(mut self, v: LoopVar, coeff: i64) -> Affine {
        if let Some(t) = self.terms.iter_mut().find(|t| t.0 == v) {
            t.1 = t.1.wrapping_add(coeff);
        } else {
            self.terms.push((v, coeff));
        }
        self.terms.retain(|t| t.1 != 0);
        self.terms.sort_by_key(|t| t.0);
        self
    }

    /// `self + c`.
    pub fn plus_constant(mut self, c: i64) -> Affine {
        self.constant = self.constant.wrapping_add(c);
        self
    }

    /// The coefficient of `v` (0 when absent).
    pub fn coeff(&self, v: LoopVar) -> i64 {
        self.terms.iter().find(|t| t.0 == v).map_or(0, |t| t.1)
    }
}

/// A unary scalar operation.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    /// `-x`: flips the sign bit of a float (NaN payload kept); wrapping for integers.
    Neg,
    /// `|x|`: clears the sign bit of a float; wrapping for signed integers (`|MIN| = MIN`).
    Abs,
    /// Correctly rounded square root (floats).
    Sqrt,
    /// Round toward negative infinity (floats).
    Floor,
    /// Round toward positive infinity (floats).
    Ceil,
    /// Round toward zero (floats).
    Trunc,
    /// Round to nearest, ties to even (floats).
    RoundEven,
    /// Logical not (`Bool`) or bitwise not (integers).
    Not,
}

impl UnaryOp {
    /// The name in the text format.
    pub fn name(self) -> &'static str {
        match self {
            UnaryOp::Neg => "neg",
            UnaryOp::Abs => "abs",
            UnaryOp::Sqrt => "sqrt",
            UnaryOp::Floor => "floor",
            UnaryOp::Ceil => "ceil",
            UnaryOp::Trunc => "trunc",
            UnaryOp::RoundEven => "round_even",
            UnaryOp::Not => "not",
        }
    }
}

/// A binary scalar operation; both operands have one type, and so has the result.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    /// `a + b`: one rounded IEEE addition; wrapping for integers.
    Add,
    /// `a - b`.
    Sub,
    /// `a * b`.
    Mul,
    /// `a / b` (floats: IEEE division; integers: truncating, `x / 0 = 0` and
    /// `MIN / -1 = MIN`; a writer may refuse integer division).
    Div,
    /// The larger, as the reference's `fmax` for floats: `a` if `a` is NaN, else `b` if
    /// `b` is NaN or `b > a`, else `a` if `a > b` or `a` has a clear sign bit, else `b`
    /// (so NaN propagates with its payload and `+0 > -0`). Integers: the larger.
    Max,
    /// The smaller, as the reference's `fmin`: `a` if `a` is NaN, else `b` if `b` is NaN
    /// or `b < a`, else `a` if `a < b` or `a` has its sign bit set, else `b`.
    Min,
    /// Logical (`Bool`) or bitwise (integer) and.
    And,
    /// Logical or bitwise or.
    Or,
    /// Logical or bitwise exclusive or.
    Xor,
}

impl BinaryOp {
    /// The name in the text format.
    pub fn name(self) -> &'static str {
        match self {
            BinaryOp::Add => "add",
            BinaryOp::Sub => "sub",
            BinaryOp::Mul => "mul",
            BinaryOp::Div => "div",
            BinaryOp::Max => "max",
            BinaryOp::Min => "min",
            BinaryOp::And => "and",
            BinaryOp::Or => "or",
            BinaryOp::Xor => "xor",
        }
    }
}

/// A comparison giving `Bool`. Float comparisons are IEEE: every comparison with a NaN is
/// false except `Ne`, which is true; `-0 == +0`. Integers compare by their signedness.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum CmpOp {
    /// `a == b`.
    Eq,
    /// `a != b` (true when either float is NaN).
    Ne,
    /// `a < b`.
    Lt,
    /// `a <= b`.
    Le,
    /// `a > b`.
    Gt,
    /// `a >= b`.
    Ge,
}

impl CmpOp {
    /// The name in the text format.
    pub fn name(self) -> &'static str {
        match self {
            CmpOp::Eq => "eq",
            CmpOp::Ne => "ne",
            CmpOp::Lt => "lt",
            CmpOp::Le => "le",
            CmpOp::Gt => "gt",
            CmpOp::Ge => "ge",
        }
    }
}

/// A scalar expression. Expressions have no side effects; a load reads the buffer as
/// it is when the enclosing statement runs.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// A constant.
    Const(Constant),
    /// The value of a local.
    Local(LocalId),
    /// One element of a buffer; one index per buffer axis.
    Load {
        /// The buffer.
        buffer: BufferId,
        /// The index of each axis.
        index: Vec<Affine>,
    },
    /// A unary operation.
    Unary {
        /// The operation.
        op: UnaryOp,
        /// The operand.
        arg: Box<Expr>,
    },
    /// A binary operation.
    Binary {
        /// The operation.
        op: BinaryOp,
        /// The left operand.
        lhs: Box<Expr>,
        /// The right operand.
        rhs: Box<Expr>,
    },
    /// A comparison, giving `Bool`.
    Cmp {
        /// The comparison.
        op: CmpOp,
        /// The left operand.
        lhs: Box<Expr>,
        /// The right operand.
        rhs: Box<Expr>,
    },
    /// `on_true` if `cond` (a `Bool`) holds, else `on_false`; both are evaluated.
    Select {
        /// The condition.
        cond: Box<Expr>,
        /// The value when true.
        on_true: Box<Expr>,
        /// The value when false.
        on_false: Box<Expr>,
    },
    /// A conversion, with the reference's `Cast` rules: float to float rounds to nearest
    /// even; integer to float rounds to nearest even; float to integer truncates toward
    /// zero and saturates (NaN gives 0); integer to integer wraps or extends by the
    /// source's signedness; to `Bool` is "nonzero" (NaN is true); from `Bool` is 0 or 1.
    Cast {
        /// The target type.
        to: ScalarType,
        /// The operand.
        arg: Box<Expr>,
    },
    /// A call of a named pure function of the project's math library (e.g. `exp`,
    /// `ln`, `tanh`, `erf`) at type `ty`; arguments and result are all of type `ty`.
    /// Writers resolve the name to the project's implementation for `ty` (on CPUs
    /// `lightos_runtime::math::{name}_{ty}`), never to a vendor library.
    Call {
        /// The function's name, without a type suffix.
        func: String,
        /// The type of the arguments and the result.
        ty: ScalarType,
        /// The arguments.
        args: Vec<Expr>,
    },
}

impl Expr {
    /// A constant `f32`.
    pub fn f32(v: f32) -> Expr {
        Expr::Const(Constant::f32(v))
    }

    /// A load of `buffer[index]`.
    pub fn load(buffer: BufferId, index: Vec<Affine>) -> Expr {
        Expr::Load { buffer, index }
    }

    /// A unary operation.
    pub fn unary(op: UnaryOp, arg: Expr) -> Expr {
        Expr::Unary { op, arg: Box::new(arg) }
    }

    /// A binary operation.
    pub fn binary(op: BinaryOp, lhs: Expr, rhs: Expr) -> Expr {
        Expr::Binary {
            op,
            lhs: Box::new(lhs),
            rhs: Box::new(rhs),
        }
    }

    /// A comparison.
    pub fn cmp(op: CmpOp, lhs: Expr, rhs: Expr) -> Expr {
        Expr::Cmp {
            op,
            lhs: Box::new(lhs),
            rhs: Box::new(rhs),
        }
    }

    /// `cond ? on_true : on_false`.
    pub fn select(cond: Expr, on_true: Expr, on_false: Expr) -> Expr {
        Expr::Select {
            cond: Box::new(cond),
            on_true: Box::new(on_true),
            on_false: Box::new(on_false),
        }
    }

    /// A conversion to `to`.
    pub fn cast(to: ScalarType, arg: Expr) -> Expr {
        Expr::Cast { to, arg: Box::new(arg) }
    }

    /// A call of `func` at type `ty`.
    pub fn call(func: impl Into<String>, ty: ScalarType, args: Vec<Expr>) -> Expr {
        Expr::Call {
            func: func.into(),
            ty,
            args,
        }
    }

    /// Calls `f` on this expression and every subexpression, parents first.
    pub fn walk<'a>(&'a self, f: &mut impl FnMut(&'a Expr)) {
        f(self);
        match self {
            Expr::Const(_) | Expr::Local(_) | Expr::Load { .. } => {}
            Expr::Unary { arg, .. } | Expr::Cast { arg, .. } => arg.walk(f),
            Expr::Binary { lhs, rhs, .. } | Expr::Cmp { lhs, rhs, .. } => {
                lhs.walk(f);
                rhs.walk(f);
            }
            Expr::Select {
                cond,
                on_true,
                on_false,
            } => {
                cond.walk(f);
                on_true.walk(f);
                on_false.walk(f);
            }
            Expr::Call { args, .. } => args.iter().for_each(|a| a.walk(f)),
        }
    }
}

/// How a writer may run a loop's iterations. Every mark computes what the serial loop
/// computes; the marks other than `Serial` and `Unrolled` promise that the iterations are
/// independent (no iteration reads what another writes).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Schedule {
    /// One iteration after another.
    Serial,
    /// Independent iterations: a writer may split them across threads or workgroups.
    Parallel,
    /// Independent iterations: a writer may run `width` consecutive ones in vector lanes.
    Vectorized {
        /// The number of lanes.
        width: u32,
    },
    /// Serial, with the body repeated `factor` times per step (and a remainder loop).
    Unrolled {
        /// The number of body copies per step.
        factor: u32,
    },
}

/// A counted loop: `var` runs `0, 1, ..., trip - 1`.
#[derive(Clone, Debug, PartialEq)]
pub struct Loop {
    /// The loop variable.
    pub var: LoopVar,
    /// The number of iterations.
    pub trip: usize,
    /// How the iterations may be run.
    pub schedule: Schedule,
    /// The body.
    pub body: Vec<Stmt>,
}

/// The combining step of a reduction, `acc = step(acc, v)`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum ReduceOp {
    /// `acc + v` (one rounded addition; wrapping for integers).
    Add,
    /// `acc * v`.
    Mul,
    /// The reference's running maximum: `acc` if `acc` is NaN, else `v` if `v` is NaN or
    /// `v > acc`, else `acc` (the first NaN wins; of equal values the earlier is kept).
    /// Integers: the larger.
    Max,
    /// The running minimum: `acc` if `acc` is NaN, else `v` if `v` is NaN or `v < acc`,
    /// else `acc`.
    Min,
}

impl ReduceOp {
    /// The name in the text format.
    pub fn name(self) -> &'static str {
        match self {
            ReduceOp::Add => "add",
            ReduceOp::Mul => "mul",
            ReduceOp::Max => "max",
            ReduceOp::Min => "min",
        }
    }
}

/// The order in which a reduction's terms are combined. Term `j` is the value at the
/// `j`-th position of the reduction axes in row-major order.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum ReduceOrder {
    /// `acc = init`, then `acc = step(acc, term_j)` for `j = 0, 1, ...` in order.
    Sequential,
    /// `lanes` partials (a power of two) each start at `init`; term `j` goes into partial
    /// `j % lanes`, each partial in order; then the partials combine by halving: for
    /// `w = lanes / 2, lanes / 4, ..., 1`, partial `i` becomes `step(partial[i],
    /// partial[i + w])` for `i < w`; the result is partial 0. With `lanes = 8`, `init = 0`
    /// and `Add` this is the reference's
    /// [`tree_sum`](lightos_runtime::reference::accumulate::tree_sum).
    LanePartialTree {
        /// The number of partials.
        lanes: u32,
    },
}

/// One axis of a reduction.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct ReduceAxis {
    /// The variable the value may index with.
    pub var: LoopVar,
    /// The number of positions.
    pub trip: usize,
}

/// A reduction defining the local `local`: `value` (which may use the axes' variables) is
/// folded over the axes, row-major, with `op` in the given order, starting from `init`.
#[derive(Clone, Debug, PartialEq)]
pub struct Reduce {
    /// The local receiving the result.
    pub local: LocalId,
    /// The combining step.
    pub op: ReduceOp,
    /// The accumulation order.
    pub order: ReduceOrder,
    /// The starting value of the accumulator (of every partial); its type is the type of
    /// the reduction.
    pub init: Constant,
    /// The reduction axes, outermost first.
    pub axes: Vec<ReduceAxis>,
    /// The term at each position.
    pub value: Expr,
}

/// A statement.
#[derive(Clone, Debug, PartialEq)]
pub enum Stmt {
    /// A loop.
    Loop(Loop),
    /// Defines an immutable local, visible in the rest of the enclosing block.
    Let {
        /// The local.
        local: LocalId,
        /// Its value.
        value: Expr,
    },
    /// `buffer[index] = value`.
    Store {
        /// The buffer (writable).
        buffer: BufferId,
        /// The index of each axis.
        index: Vec<Affine>,
        /// The value, of the buffer's scalar type.
        value: Expr,
    },
    /// A reduction defining a local.
    Reduce(Reduce),
}

/// One kernel: parameters and a body.
#[derive(Clone, Debug, PartialEq)]
pub struct Kernel {
    /// The kernel's name (used for its symbol and in diagnostics).
    pub name: String,
    /// The buffer parameters, in the order a writer receives their base pointers.
    pub params: Vec<Buffer>,
    /// The statements.
    pub body: Vec<Stmt>,
}

impl Kernel {
    /// A kernel without parameters or statements.
    pub fn new(name: impl Into<String>) -> Kernel {
        Kernel {
            name: name.into(),
            params: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Adds a parameter and returns its id.
    pub fn add_param(&mut self, buffer: Buffer) -> BufferId {
        self.params.push(buffer);
        BufferId(self.params.len() as u32 - 1)
    }

    /// The parameter `id`, if it exists.
    pub fn param(&self, id: BufferId) -> Option<&Buffer> {
        self.params.get(id.index())
    }

    /// The distinct functions the kernel calls, as `(name, type, arity)`, in order of
    /// first appearance (the order of a writer's function table).
    pub fn callees(&self) -> Vec<(String, ScalarType, usize)> {
        let mut out: Vec<(String, ScalarType, usize)> = Vec::new();
        visit_exprs(&self.body, &mut |e| {
            if let Expr::Call { func, ty, args } = e {
                if !out.iter().any(|c| &c.0 == func && c.1 == *ty) {
                    out.push((func.clone(), *ty, args.len()));
                }
            }
        });
        out
    }
}

/// Calls `f` on every expression (and subexpression) of `stmts`, in statement order.
pub fn visit_exprs<'a>(stmts: &'a [Stmt], f: &mut impl FnMut(&'a Expr)) {
    for s in stmts {
        match s {
            Stmt::Loop(l) => visit_exprs(&l.body, f),
            Stmt::Let { value, .. } | Stmt::Store { value, .. } => value.walk(f),
            Stmt::Reduce(r) => r.value.walk(f),
        }
    }
}

/// Allocates fresh loop variables and locals while building a kernel.
#[derive(Debug, Default)]
pub struct Ids {
    next_var: u32,
    next_local: u32,
}

impl Ids {
    /// A fresh allocator.
    pub fn new() -> Ids {
        Ids::default()
    }

    /// A new loop variable.
    pub fn var(&mut self) -> LoopVar {
        self.next_var += 1;
        LoopVar(self.next_var - 1)
    }

    /// A new local.
    pub fn local(&mut self) -> LocalId {
        self.next_local += 1;
        LocalId(self.next_local - 1)
    }
}
