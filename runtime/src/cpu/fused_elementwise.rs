//! Elementwise programs in one pass: the kernel behind fused elementwise nodes (and the
//! program a fused convolution or matrix product runs after its epilogue).
//!
//! A program is a list of [`ProgInstr`]s; instruction `i` defines temporary `t<i>` and the
//! last one is the result. Sources are the kernel's inputs, which broadcast (NumPy rules)
//! to the result's dims, earlier temporaries, and [`ProgSrc::Prior`], the output buffer's
//! contents before the call (the result of the anchor the program follows).
//!
//! # Loop nest
//!
//! The result's axes are simplified first: axes of size 1 are dropped, and neighbouring
//! axes merge wherever every input walks them as one (same shape contiguous, scalar, a
//! per-channel value constant along the inner run all merge). What is left is rows of
//! one inner run. Each row is cut into blocks of at most [`BLOCK`] elements, and a block
//! is evaluated instruction by instruction into small per-temporary buffers (the last
//! instruction writes straight into the output), so every temporary stays in L1 and the
//! output is written once. Along the inner run an input is either a contiguous slice or
//! one value (a splat), which gives the loops their fast paths.
//!
//! # Numerics
//!
//! Every element is computed on its own with the reference's scalar functions
//! ([`crate::reference`]'s `f32` element kernels), or, for the simple ops (add, sub, mul,
//! div, neg, abs, relu, leaky relu), with the same single rounded IEEE operation written
//! as a plain loop the compiler vectorizes (never contracted: Rust has no fast-math). So
//! the result is bit-identical to running the instructions one by one on the reference,
//! in either mode. Blocks are split over threads ([`super::threads`]) in a fixed way, and
//! each element is computed whole by one thread, so the thread count never changes a bit.

use lightos_ir::{BinaryOp, UnaryOp};

use super::gemm::{expect_len, mul};
use super::threads::{self, SharedOut};
use super::{CpuError, Isa};
use crate::reference::{binary_f32, clip_f32, is_f32_unary, unary_f32};

/// Elements per block along the inner run.
pub const BLOCK: usize = 512;

/// Where an instruction reads a value from.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ProgSrc {
    /// The output buffer's contents before the call, element for element.
    Prior,
    /// Input `k`, broadcast to the result's dims.
    Input(usize),
    /// The result of instruction `i` (an earlier one).
    Temp(usize),
}

/// One instruction of an elementwise program.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum ProgInstr {
    /// A unary function with an `f32` result.
    Unary {
        /// The function.
        op: UnaryOp,
        /// Its argument.
        x: ProgSrc,
    },
    /// A binary function of two `f32` values with an `f32` result.
    Binary {
        /// The function.
        op: BinaryOp,
        /// Left argument.
        a: ProgSrc,
        /// Right argument.
        b: ProgSrc,
    },
    /// Clamping to constant bounds.
    Clip {
        /// The value.
        x: ProgSrc,
        /// Lower bound, if any.
        min: Option<f32>,
        /// Upper bound, if any.
        max: Option<f32>,
    },
}

impl ProgInstr {
    /// The sources read.
    pub fn sources(&self) -> Vec<ProgSrc> {
        match *self {
            ProgInstr::Unary { x, .. } | ProgInstr::Clip { x, .. } => vec![x],
            ProgInstr::Binary { a, b, .. } => vec![a, b],
        }
    }
}

/// An input of a program: row-major `f32` data and its dims.
#[derive(Copy, Clone, Debug)]
pub struct ProgInput<'a> {
    /// The elements, row-major.
    pub data: &'a [f32],
    /// The dims; they broadcast to the result's.
    pub dims: &'a [usize],
}

/// An input read along one block: a contiguous run or one value.
#[derive(Copy, Clone)]
enum Operand<'a> {
    Splat(f32),
    Slice(&'a [f32]),
}

/// The loop nest after simplification: `shape` (the last axis is the inner run) and, per
/// input, its element stride along each axis (0 where it broadcasts).
struct Nest {
    shape: Vec<usize>,
    strides: Vec<Vec<usize>>,
}

/// Simplifies the loop nest over `dims` for `inputs` (see the module docs).
fn nest(dims: &[usize], inputs: &[ProgInput], used: &[bool]) -> Nest {
    let rank = dims.len();
    // Per input, broadcast strides aligned to `dims` (unused inputs walk nothing).
    let full: Vec<Vec<usize>> = inputs
        .iter()
        .zip(used)
        .map(|(inp, &u)| {
            let mut s = vec![0; rank];
            if u {
                let off = rank - inp.dims.len();
                let mut acc = 1;
                for a in (0..inp.dims.len()).rev() {
                    if inp.dims[a] != 1 {
                        s[off + a] = acc;
                    }
                    acc *= inp.dims[a];
                }
            }
            s
        })
        .collect();
    let mut shape: Vec<usize> = Vec::new();
    let mut strides: Vec<Vec<usize>> = vec![Vec::new(); inputs.len()];
    // From the innermost axis out; `shape[0]` is the outermost kept so far (reversed).
    for a in (0..rank).rev() {
        if dims[a] == 1 {
            continue;
        }
        let merge = !shape.is_empty()
            && full.iter().zip(&strides).all(|(f, s)| {
                let (inner_stride, inner_len) = (s[s.len() - 1], shape[shape.len() - 1]);
                f[a] == inner_stride * inner_len
            });
        if merge {
            let last = shape.len() - 1;
            shape[last] *= dims[a];
        } else {
            shape.push(dims[a]);
            for (s, f) in strides.iter_mut().zip(&full) {
                s.push(f[a]);
            }
        }
    }
    if shape.is_empty() {
        shape.push(1);
        strides.iter_mut().for_each(|s| s.push(0));
    }
    shape.reverse();
    strides.iter_mut().for_each(|s| s.reverse());
    Nest { shape, strides }
}

/// Checks the program: sources in range, temporaries defined earlier, ops with `f32`
/// results. Returns which inputs are read and whether [`ProgSrc::Prior`] is.
fn check_program(program: &[ProgInstr], inputs: usize) -> Result<(Vec<bool>, bool), CpuError> {
    if program.is_empty() {
        return Err(CpuError::Invalid("an elementwise program needs an instruction".into()));
    }
    let mut used = vec![false; inputs];
    let mut prior = false;
    for (i, instr) in program.iter().enumerate() {
        match *instr {
            ProgInstr::Unary { op, .. } if !is_f32_unary(op) => {
                return Err(CpuError::Invalid(format!("instruction {i}: {op:?} has no f32 result")))
            }
            ProgInstr::Binary { op, .. } if binary_f32(op).is_none() => {
                return Err(CpuError::Invalid(format!("instruction {i}: {op:?} has no f32 result")))
            }
            _ => {}
        }
        for s in instr.sources() {
            match s {
                ProgSrc::Prior => prior = true,
                ProgSrc::Input(k) if k < inputs => used[k] = true,
                ProgSrc::Temp(t) if t < i => {}
                other => {
                    return Err(CpuError::Invalid(format!(
                        "instruction {i} reads {other:?}, which is not there"
                    )))
                }
            }
        }
    }
    Ok((used, prior))
}

/// `out = program(inputs, out)` over a row-major result of `dims`, on `threads` threads.
///
/// Every read input must broadcast to `dims`; [`ProgSrc::Prior`] reads `out` as it was.
/// Inputs the program does not read are not looked at.
pub fn elementwise_program_f32(
    isa: Isa,
    threads: usize,
    dims: &[usize],
    inputs: &[ProgInput],
    program: &[ProgInstr],
    out: &mut [f32],
) -> Result<(), CpuError> {
    if threads == 0 {
        return Err(CpuError::Invalid("thread count must be at least 1".into()));
    }
    let (used, prior) = check_program(program, inputs.len())?;
    let len = dims.iter().try_fold(1usize, |a, &d| mul(a, d, "program result"))?;
    expect_len("program output", len, out.len())?;
    for (k, inp) in inputs.iter().enumerate().filter(|(k, _)| used[*k]) {
        let rank = dims.len();
        let fits = inp.dims.len() <= rank
            && inp
                .dims
                .iter()
                .zip(&dims[rank - inp.dims.len()..])
                .all(|(&a, &b)| a == b || a == 1);
        if !fits {
            return Err(CpuError::Invalid(format!(
                "program input {k} {:?} does not broadcast to {dims:?}",
                inp.dims
            )));
        }
        let n = inp.dims.iter().try_fold(1usize, |a, &d| mul(a, d, "program input"))?;
        expect_len("program input", n, inp.data.len())?;
    }
    if len == 0 {
        return Ok(());
    }
    let nest = nest(dims, inputs, &used);
    let inner = nest.shape[nest.shape.len() - 1];
    let rows = len / inner;
    let blocks_per_row = inner.div_ceil(BLOCK);
    let units = rows * blocks_per_row;
    // Per thread: a block per temporary, one for `Prior`, one per input (a gather).
    let scratch = (program.len() + 1 + inputs.len()) * BLOCK;
    let parts = threads::split(units, threads.min(len.div_ceil(1 << 14)));
    let mut bufs: Vec<Vec<f32>> = parts.iter().map(|_| vec![0.0; scratch]).collect();
    let job = Job {
        nest: &nest,
        inputs,
        used: &used,
        prior,
        program,
        out: SharedOut(out.as_mut_ptr()),
        inner,
        blocks_per_row,
    };
    threads::run_parts(&parts, &mut bufs, |range, buf| {
        // SAFETY: the dispatch runs the AVX2 copy only where the CPU has AVX2; every block
        // lies inside `out` and only this part writes it.
        unsafe { job.run(isa, range, buf) }
    });
    Ok(())
}

/// Everything a part needs to evaluate its blocks.
struct Job<'a> {
    nest: &'a Nest,
    inputs: &'a [ProgInput<'a>],
    used: &'a [bool],
    prior: bool,
    program: &'a [ProgInstr],
    out: SharedOut,
    inner: usize,
    blocks_per_row: usize,
}

// SAFETY: `out` is only written at disjoint blocks by the parts (see `SharedOut`).
unsafe impl Sync for Job<'_> {}

impl Job<'_> {
    /// Runs units `range` with the code for `isa` (the same operations either way: only
    /// the vector width the compiler may use differs).
    ///
    /// # Safety
    ///
    /// `isa` must be available; the units must be this part's alone.
    unsafe fn run(&self, isa: Isa, range: std::ops::Range<usize>, buf: &mut [f32]) {
        #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
        if matches!(isa, Isa::Avx2 | Isa::Avx512) {
            return self.run_avx2(range, buf);
        }
        let _ = isa;
        self.run_units(range, buf)
    }

    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    #[target_feature(enable = "avx2")]
    unsafe fn run_avx2(&self, range: std::ops::Range<usize>, buf: &mut [f32]) {
        self.run_units(range, buf)
    }

    #[inline(always)]
    unsafe fn run_units(&self, range: std::ops::Range<usize>, buf: &mut [f32]) {
        let nest = self.nest;
        let outer = &nest.shape[..nest.shape.len() - 1];
        let (temps, rest) = buf.split_at_mut(self.program.len() * BLOCK);
        let (prior_buf, gather) = rest.split_at_mut(BLOCK);
        let mut bases = vec![0usize; self.inputs.len()];
        for u in range {
            let (row, blk) = (u / self.blocks_per_row, u % self.blocks_per_row);
            let j0 = blk * BLOCK;
            let n = BLOCK.min(self.inner - j0);
            // Each input's offset at (row, j0).
            let mut r = row;
            bases.iter_mut().for_each(|b| *b = 0);
            for a in (0..outer.len()).rev() {
                let c = r % outer[a];
                r /= outer[a];
                for (b, s) in bases.iter_mut().zip(&nest.strides) {
                    *b += c * s[a];
                }
            }
            let o = row * self.inner + j0;
            if self.prior {
                prior_buf[..n].copy_from_slice(std::slice::from_raw_parts(self.out.get().add(o), n));
            }
            let mut ops: Vec<Operand> = Vec::with_capacity(self.inputs.len());
            let mut gather_rest: &mut [f32] = &mut *gather;
            for (k, inp) in self.inputs.iter().enumerate() {
                let (g, tail) = std::mem::take(&mut gather_rest).split_at_mut(BLOCK);
                gather_rest = tail;
                if !self.used[k] {
                    ops.push(Operand::Splat(0.0));
                    continue;
                }
                let s = nest.strides[k][nest.shape.len() - 1];
                let start = bases[k] + j0 * s;
                ops.push(match s {
                    0 => Operand::Splat(inp.data[bases[k]]),
                    1 => Operand::Slice(&inp.data[start..start + n]),
                    _ => {
                        for (i, x) in g[..n].iter_mut().enumerate() {
                            *x = inp.data[start + i * s];
                        }
                        Operand::Slice(&g[..n])
                    }
                });
            }
            for (i, instr) in self.program.iter().enumerate() {
                let (before, after) = temps.split_at_mut(i * BLOCK);
                let dst: &mut [f32] = if i + 1 == self.program.len() {
                    std::slice::from_raw_parts_mut(self.out.get().add(o), n)
                } else {
                    &mut after[..n]
                };
                let src = |s: ProgSrc| match s {
                    ProgSrc::Prior => Operand::Slice(&prior_buf[..n]),
                    ProgSrc::Input(k) => ops[k],
                    ProgSrc::Temp(t) => Operand::Slice(&before[t * BLOCK..t * BLOCK + n]),
                };
                match *instr {
                    ProgInstr::Unary { op, x } => unary(op, src(x), dst),
                    ProgInstr::Binary { op, a, b } => binary(op, src(a), src(b), dst),
                    ProgInstr::Clip { x, min, max } => map1(src(x), dst, |v| clip_f32(v, min, max)),
                }
            }
        }
    }
}

/// `dst[i] = f(x[i])`.
#[inline(always)]
fn map1(x: Operand, dst: &mut [f32], f: impl Fn(f32) -> f32) {
    match x {
        Operand::Splat(v) => dst.fill(f(v)),
        Operand::Slice(s) => dst.iter_mut().zip(s).for_each(|(d, &v)| *d = f(v)),
    }
}

/// `dst[i] = f(a[i], b[i])`.
#[inline(always)]
fn map2(a: Operand, b: Operand, dst: &mut [f32], f: impl Fn(f32, f32) -> f32) {
    match (a, b) {
        (Operand::Slice(a), Operand::Slice(b)) => {
            dst.iter_mut()
                .zip(a.iter().zip(b))
                .for_each(|(d, (&x, &y))| *d = f(x, y));
        }
        (Operand::Slice(a), Operand::Splat(y)) => dst.iter_mut().zip(a).for_each(|(d, &x)| *d = f(x, y)),
        (Operand::Splat(x), Operand::Slice(b)) => dst.iter_mut().zip(b).for_each(|(d, &y)| *d = f(x, y)),
        (Operand::Splat(x), Operand::Splat(y)) => dst.fill(f(x, y)),
    }
}

/// One unary instruction over a block.
#[inline(always)]
fn unary(op: UnaryOp, x: Operand, dst: &mut [f32]) {
    match op {
        // The reference's formulas, one select or one rounded operation each.
        UnaryOp::Relu => map1(x, dst, |v| if v > 0.0 || v.is_nan() { v } else { 0.0 }),
        UnaryOp::LeakyRelu { alpha } => map1(x, dst, |v| if v < 0.0 { alpha * v } else { v }),
        UnaryOp::Neg => map1(x, dst, |v| -v),
        UnaryOp::Abs => map1(x, dst, f32::abs),
        _ => map1(x, dst, |v| unary_f32(op, v)),
    }
}

/// One binary instruction over a block.
#[inline(always)]
fn binary(op: BinaryOp, a: Operand, b: Operand, dst: &mut [f32]) {
    match op {
        BinaryOp::Add => map2(a, b, dst, |x, y| x + y),
        BinaryOp::Sub => map2(a, b, dst, |x, y| x - y),
        BinaryOp::Mul => map2(a, b, dst, |x, y| x * y),
        BinaryOp::Div => map2(a, b, dst, |x, y| x / y),
        _ => {
            // Checked before the loops: every binary op here has an `f32` function.
            let f = binary_f32(op).unwrap_or(|x, _| x);
            map2(a, b, dst, f)
        }
    }
}
