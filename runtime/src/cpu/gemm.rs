//! Packed single-precision GEMM: `C[M, N] = epilogue(A[M, K] * B[K, N])`.
//!
//! The classic blocked layout: A is packed once into row panels of `MR` rows (each panel
//! holds all of K, `MR` values per K step); for every `NC`-column, `KC`-row block of B,
//! each thread packs its columns into panels of `NR` columns; the macrokernel then walks
//! `NR`-column panels (kept in L1) against `MR`-row panels (streamed from L2). See
//! `kernel.rs` for why the blocking never changes a bit, and `mod.rs` for the contract of
//! each [`Mode`].
//!
//! The epilogue ([`Epilogue`]) runs on the accumulators while the tile is still in
//! registers, once per element after the last K step.

use std::ops::Range;

use super::isa::{kernels, Isa, Kernels};
use super::kernel::{EpiRaw, MacroJob};
use super::threads;
use super::{CpuError, Mode};

/// A read-only matrix view: element `(i, j)` is `data[i * row_stride + j * col_stride]`.
///
/// Row-major is `row_stride = cols, col_stride = 1`; a transposed operand is the same
/// data with the strides swapped. Strides may be zero (broadcast).
#[derive(Copy, Clone, Debug)]
pub struct MatRef<'a> {
    /// The elements.
    pub data: &'a [f32],
    /// Number of rows.
    pub rows: usize,
    /// Number of columns.
    pub cols: usize,
    /// Distance between consecutive rows.
    pub row_stride: usize,
    /// Distance between consecutive columns.
    pub col_stride: usize,
}

impl<'a> MatRef<'a> {
    /// A dense row-major `rows x cols` matrix.
    pub fn row_major(data: &'a [f32], rows: usize, cols: usize) -> MatRef<'a> {
        MatRef {
            data,
            rows,
            cols,
            row_stride: cols,
            col_stride: 1,
        }
    }

    /// A `rows x cols` matrix stored column-major (a row-major `cols x rows` matrix,
    /// transposed).
    pub fn col_major(data: &'a [f32], rows: usize, cols: usize) -> MatRef<'a> {
        MatRef {
            data,
            rows,
            cols,
            row_stride: 1,
            col_stride: rows,
        }
    }

    /// The transpose (no copy).
    pub fn t(self) -> MatRef<'a> {
        MatRef {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
        }
    }

    /// Checks that every element lies inside `data`.
    fn check(&self, what: &'static str) -> Result<(), CpuError> {
        check_extent(
            what,
            self.data.len(),
            self.rows,
            self.cols,
            self.row_stride,
            self.col_stride,
        )
    }

    /// Element `(i, j)` (in bounds after [`MatRef::check`]).
    #[inline(always)]
    fn at(&self, i: usize, j: usize) -> f32 {
        self.data[i * self.row_stride + j * self.col_stride]
    }
}

/// Checks that a strided `rows x cols` view fits in `len` elements.
fn check_extent(
    what: &'static str,
    len: usize,
    rows: usize,
    cols: usize,
    rs: usize,
    cs: usize,
) -> Result<(), CpuError> {
    if rows == 0 || cols == 0 {
        return Ok(());
    }
    let last = (rows - 1)
        .checked_mul(rs)
        .and_then(|r| (cols - 1).checked_mul(cs).and_then(|c| r.checked_add(c)))
        .ok_or_else(|| CpuError::Overflow(format!("{what} strides overflow")))?;
    if last >= len {
        return Err(CpuError::Size {
            what,
            expected: last + 1,
            got: len,
        });
    }
    Ok(())
}

/// An elementwise activation fused into the epilogue, with the reference's semantics.
#[derive(Copy, Clone, Debug, Default, PartialEq)]
pub enum Activation {
    /// None.
    #[default]
    None,
    /// `x` if `x > 0` or NaN, else `+0`.
    Relu,
    /// `alpha * x` if `x < 0`, else `x`.
    LeakyRelu {
        /// The slope for negative inputs.
        alpha: f32,
    },
    /// ONNX `Clip`: `min(max(x, min), max)` with NaN propagating (a NaN `x` first, then a
    /// NaN bound) and `+0` above `-0`.
    Clip {
        /// Lower bound, if any.
        min: Option<f32>,
        /// Upper bound, if any.
        max: Option<f32>,
    },
}

/// A bias added in the epilogue.
#[derive(Copy, Clone, Debug, Default)]
pub enum Bias<'a> {
    /// No bias.
    #[default]
    None,
    /// `t + bias[i]` for row `i` (length M).
    PerRow(&'a [f32]),
    /// `t + bias[j]` for column `j` (length N).
    PerColumn(&'a [f32]),
}

/// A scaled addend `beta * c[i, j]`, `c` read with strides (ONNX `Gemm`'s `C`, which
/// broadcasts: a zero stride repeats a row or a column).
#[derive(Copy, Clone, Debug)]
pub struct Addend<'a> {
    /// The elements.
    pub data: &'a [f32],
    /// Distance between rows (0 to broadcast one row).
    pub row_stride: usize,
    /// Distance between columns (0 to broadcast one column).
    pub col_stride: usize,
    /// The scale; applied as `t + beta * c`, also when `beta` is 1 or 0 (leave the
    /// addend out to skip it, as ONNX does for `beta == 0`).
    pub beta: f32,
}

/// A residual `r[i, j]` added in the epilogue.
#[derive(Copy, Clone, Debug)]
pub struct Residual<'a> {
    /// The elements, row-major.
    pub data: &'a [f32],
    /// Distance between rows (at least N).
    pub row_stride: usize,
    /// Add after the activation (`act(t) + r`) instead of before (`act(t + r)`).
    pub after_activation: bool,
}

/// What happens to each dot product `acc` before it is stored, in this order:
///
/// 1. `t = alpha * acc` (if `alpha` is set; ONNX `Gemm` always sets it, also to 1);
/// 2. `t = t + beta * c[i, j]` (if `addend` is set);
/// 3. `t = t + bias` (per row or per column);
/// 4. `t = t + r[i, j]` (if `residual` is set and not `after_activation`);
/// 5. `t = activation(t)`;
/// 6. `t = t + r[i, j]` (if `residual` is set and `after_activation`).
///
/// Every step is one rounded operation (never fused, in either mode), so a fused epilogue
/// gives the bits of the same ops run one after another by the reference.
#[derive(Copy, Clone, Debug, Default)]
pub struct Epilogue<'a> {
    /// Scale of the product.
    pub alpha: Option<f32>,
    /// A scaled, broadcasting addend.
    pub addend: Option<Addend<'a>>,
    /// A bias.
    pub bias: Bias<'a>,
    /// A residual.
    pub residual: Option<Residual<'a>>,
    /// An activation.
    pub activation: Activation,
}

impl Epilogue<'_> {
    /// The epilogue that stores the dot products as they are.
    pub fn none() -> Epilogue<'static> {
        Epilogue::default()
    }

    /// Checks the operands against an `m x n` output and lowers to raw pointers.
    pub(crate) fn lower(&self, m: usize, n: usize) -> Result<EpiRaw, CpuError> {
        let mut e = EpiRaw::IDENTITY;
        e.alpha = self.alpha;
        if let Some(c) = &self.addend {
            check_extent("addend", c.data.len(), m, n, c.row_stride, c.col_stride)?;
            e.addend = Some((c.data.as_ptr(), c.row_stride, c.col_stride, c.beta));
        }
        match self.bias {
            Bias::None => {}
            Bias::PerRow(b) => {
                expect_len("row bias", m, b.len())?;
                e.row_bias = b.as_ptr();
            }
            Bias::PerColumn(b) => {
                expect_len("column bias", n, b.len())?;
                e.col_bias = b.as_ptr();
            }
        }
        if let Some(r) = &self.residual {
            if r.row_stride < n && m > 1 {
                return Err(CpuError::Invalid(format!(
                    "residual row stride {} is below the {n} columns",
                    r.row_stride
                )));
            }
            check_extent("residual", r.data.len(), m, n, r.row_stride, 1)?;
            e.residual = Some((r.data.as_ptr(), r.row_stride));
            e.res_after = r.after_activation;
        }
        e.act = self.activation;
        Ok(e)
    }
}

/// Fails unless `got == expected`.
pub(crate) fn expect_len(what: &'static str, expected: usize, got: usize) -> Result<(), CpuError> {
    if got != expected {
        return Err(CpuError::Size { what, expected, got });
    }
    Ok(())
}

/// `a * b` or an overflow error naming `what`.
pub(crate) fn mul(a: usize, b: usize, what: &str) -> Result<usize, CpuError> {
    a.checked_mul(b)
        .ok_or_else(|| CpuError::Overflow(format!("{what} overflows")))
}

/// A source of packed B panels.
pub(crate) trait PackB: Sync {
    /// Packs rows `pc..pc + kc` and columns `jc..jc + nc` into panels of `nr` columns:
    /// panel `q` is `dst[q * kc * nr..][..kc * nr]`, `nr` values per row, zero past `nc`.
    fn pack(&self, pc: usize, kc: usize, jc: usize, nc: usize, nr: usize, dst: &mut [f32]);
}

impl PackB for MatRef<'_> {
    fn pack(&self, pc: usize, kc: usize, jc: usize, nc: usize, nr: usize, dst: &mut [f32]) {
        if self.col_stride == 1 {
            match nr {
                4 => self.pack_rows::<4>(pc, kc, jc, nc, dst),
                8 => self.pack_rows::<8>(pc, kc, jc, nc, dst),
                16 => self.pack_rows::<16>(pc, kc, jc, nc, dst),
                32 => self.pack_rows::<32>(pc, kc, jc, nc, dst),
                _ => self.pack_any(pc, kc, jc, nc, nr, dst),
            }
        } else {
            self.pack_any(pc, kc, jc, nc, nr, dst)
        }
    }
}

impl MatRef<'_> {
    /// [`PackB::pack`] for unit column stride and a panel width known at compile time
    /// (full panel rows are fixed-size copies).
    fn pack_rows<const NR: usize>(&self, pc: usize, kc: usize, jc: usize, nc: usize, dst: &mut [f32]) {
        for q in 0..nc.div_ceil(NR) {
            let j0 = jc + q * NR;
            let w = NR.min(jc + nc - j0);
            let panel = &mut dst[q * kc * NR..(q + 1) * kc * NR];
            for (p, row) in panel.chunks_exact_mut(NR).enumerate() {
                let base = (pc + p) * self.row_stride + j0;
                // The next panel's part of this row: B is often a large activation read
                // cold, one short piece from each of up to `kc` rows, too many streams
                // for the hardware prefetcher to follow.
                let next = self.data.as_ptr().wrapping_add(base + NR);
                prefetch_line(next);
                prefetch_line(next.wrapping_add(NR - 1));
                let src = &self.data[base..base + w];
                match (<&mut [f32; NR]>::try_from(row), <&[f32; NR]>::try_from(src)) {
                    (Ok(d), Ok(s)) => *d = *s,
                    (Ok(d), Err(_)) => {
                        d[..w].copy_from_slice(src);
                        d[w..].fill(0.0);
                    }
                    (Err(_), _) => {}
                }
            }
        }
    }

    /// [`PackB::pack`] for any strides and panel width.
    fn pack_any(&self, pc: usize, kc: usize, jc: usize, nc: usize, nr: usize, dst: &mut [f32]) {
        for q in 0..nc.div_ceil(nr) {
            let j0 = jc + q * nr;
            let w = nr.min(jc + nc - j0);
            let panel = &mut dst[q * kc * nr..(q + 1) * kc * nr];
            if w < nr {
                panel.fill(0.0);
            }
            if self.row_stride == 1 {
                // Column by column: contiguous reads when B is stored transposed.
                for l in 0..w {
                    for p in 0..kc {
                        panel[p * nr + l] = self.at(pc + p, j0 + l);
                    }
                }
            } else {
                for p in 0..kc {
                    for l in 0..w {
                        panel[p * nr + l] = self.at(pc + p, j0 + l);
                    }
                }
            }
        }
    }
}

/// Hints that the cache line holding `p` will be read soon (on x86-64; elsewhere it does
/// nothing). `p` need not be valid: a prefetch never faults.
#[inline(always)]
fn prefetch_line(p: *const f32) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch reads nothing the program can observe and never faults; SSE is
    // part of every x86-64 CPU.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p.cast::<i8>())
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Largest K block: a packed B panel of `KC * nr` values stays in L1.
pub(crate) const KC: usize = 256;

/// Appends all of `a` (`m x k`) to `out`, packed into row panels of `mr` rows, zero past
/// the last row, K block by K block ([`k_blocks`] of [`KC`]): the block of K steps
/// `pc..pc + kc` holds every panel's steps, panel after panel, so that a pass over one K
/// block of all the rows (what [`run_region`] makes) reads one contiguous run. Panel `i`,
/// K step `pc + p`, row `r` is at `pc * panels * mr + i * kc * mr + p * mr + r` from the
/// old end, with `panels = m.div_ceil(mr)`; with one K block that is
/// `i * k * mr + p * mr + r`.
pub(crate) fn pack_a(a: &MatRef, mr: usize, out: &mut Vec<f32>) {
    let (m, k) = (a.rows, a.cols);
    let panels = m.div_ceil(mr);
    let start = out.len();
    out.resize(start + panels * mr * k, 0.0);
    let dst_all = &mut out[start..];
    for (pc, kc) in k_blocks(k, KC) {
        let block = &mut dst_all[pc * panels * mr..][..kc * panels * mr];
        for i in 0..panels {
            let rows = mr.min(m - i * mr);
            let dst = &mut block[i * kc * mr..][..kc * mr];
            for (p, step) in dst.chunks_exact_mut(mr).enumerate() {
                for (r, slot) in step.iter_mut().enumerate().take(rows) {
                    *slot = a.at(i * mr + r, pc + p);
                }
            }
        }
    }
}

/// Where the B panels of a GEMM come from.
#[derive(Copy, Clone)]
pub(crate) enum BSource<'a> {
    /// Packed by each thread, block by block, right before use.
    Pack(&'a dyn PackB),
    /// Packed once ahead of time (a weight).
    Packed(&'a PackedB),
    /// Already in [`PackedB`]'s panel layout for the kernels' `nr`, with `k` rows per
    /// panel (a Winograd transform writes its B this way).
    Panels {
        /// The panels.
        data: &'a [f32],
        /// Rows (K) of every panel.
        k: usize,
    },
}

/// A constant B (`K x N`) packed once for one instruction set and mode, so repeated
/// products with it (a layer's weights) skip the per-call packing.
///
/// Layout: column panel `q` (columns `q * NR..`) holds all K rows, `NR` values per row,
/// zero past column N: element `(p, q * NR + l)` is at `q * K * NR + p * NR + l`.
#[derive(Clone, Debug)]
pub struct PackedB {
    /// The instruction set it was packed for.
    isa: Isa,
    /// The mode it was packed for.
    mode: Mode,
    /// Panel width.
    nr: usize,
    /// Rows (K).
    k: usize,
    /// Columns (N).
    n: usize,
    /// The panels.
    data: Vec<f32>,
}

impl PackedB {
    /// Packs `b` for products on `isa` in `mode`.
    pub fn new(isa: Isa, mode: Mode, b: MatRef) -> Result<PackedB, CpuError> {
        check_config(isa, 1)?;
        b.check("B")?;
        let ks = kernels(isa, mode);
        let (k, n) = (b.rows, b.cols);
        let len = mul(mul(n.div_ceil(ks.nr), ks.nr, "packed B")?, k, "packed B")?;
        let mut data = vec![0.0f32; len];
        if len > 0 {
            b.pack(0, k, 0, n, ks.nr, &mut data);
        }
        Ok(PackedB {
            isa,
            mode,
            nr: ks.nr,
            k,
            n,
            data,
        })
    }

    /// Rows (K).
    pub fn rows(&self) -> usize {
        self.k
    }

    /// Columns (N).
    pub fn cols(&self) -> usize {
        self.n
    }

    /// The first element of rows `pc..` of the panel holding column `jc` (a multiple of
    /// the panel width), and the distance between panels.
    fn panel(&self, pc: usize, jc: usize) -> (*const f32, usize) {
        let stride = self.k * self.nr;
        (self.data[(jc / self.nr) * stride + pc * self.nr..].as_ptr(), stride)
    }
}

/// One GEMM as the threads see it.
pub(crate) struct Problem<'a> {
    /// K.
    pub k: usize,
    /// A packed by [`pack_a`] with the kernels' `mr`.
    pub packed_a: &'a [f32],
    /// B.
    pub b: BSource<'a>,
    /// C's first element.
    pub c: *mut f32,
    /// C's row stride.
    pub ldc: usize,
    /// The epilogue, in this problem's coordinates.
    pub epi: EpiRaw,
}

// SAFETY: `c` points into an output borrowed mutably for the whole call; threads write
// disjoint tiles of it. The epilogue's pointers are read-only borrows for the call.
unsafe impl Sync for Problem<'_> {}
unsafe impl Send for Problem<'_> {}

/// The K blocks `(start, len)`: equal-sized blocks of at most `kc`, one empty block for
/// `k == 0` (so the epilogue still runs).
fn k_blocks(k: usize, kc: usize) -> impl Iterator<Item = (usize, usize)> {
    let count = k.div_ceil(kc).max(1);
    let size = k.div_ceil(count);
    (0..count).map(move |i| {
        let start = (i * size).min(k);
        (start, size.min(k - start))
    })
}

/// Computes `rows x cols` of `pr` (`rows.start` a multiple of `ks.mr`), packing B into
/// `bbuf`.
///
/// # Safety
///
/// `ks.run` must be runnable on this CPU; `pr.c` must be valid for the region and not
/// written by anyone else meanwhile.
pub(crate) unsafe fn run_region(
    ks: &Kernels,
    pr: &Problem,
    rows: Range<usize>,
    cols: Range<usize>,
    bbuf: &mut Vec<f32>,
) {
    if rows.is_empty() || cols.is_empty() {
        return;
    }
    debug_assert_eq!(rows.start % ks.mr, 0);
    let blocks: Vec<(usize, usize)> = k_blocks(pr.k, ks.kc).collect();
    let kc_max = blocks[0].1;
    // Row panels of the whole packed A (see `pack_a` for its layout).
    let panels = if pr.k == 0 {
        0
    } else {
        pr.packed_a.len() / (pr.k * ks.mr)
    };
    debug_assert_eq!(panels * pr.k * ks.mr, pr.packed_a.len());
    // One A block: pack one B panel at a time and use it at once, while it is in L1.
    // Several A blocks: pack a whole B block and reuse it for each of them.
    let nc_step = if rows.len() <= ks.mc { ks.nr } else { ks.nc };
    let need = (kc_max * nc_step.min(cols.len().div_ceil(ks.nr) * ks.nr)).max(1);
    if matches!(pr.b, BSource::Pack(_)) && bbuf.len() < need {
        bbuf.resize(need, 0.0);
    }
    for jc in cols.clone().step_by(nc_step) {
        let nc = nc_step.min(cols.end - jc);
        for (bi, &(pc, kc)) in blocks.iter().enumerate() {
            let (b, b_stride) = match pr.b {
                BSource::Pack(src) => {
                    let panel_len = kc * ks.nr;
                    src.pack(pc, kc, jc, nc, ks.nr, &mut bbuf[..nc.div_ceil(ks.nr) * panel_len]);
                    (bbuf.as_ptr(), panel_len)
                }
                BSource::Packed(packed) => packed.panel(pc, jc),
                BSource::Panels { data, k } => {
                    let stride = k * ks.nr;
                    (data[(jc / ks.nr) * stride + pc * ks.nr..].as_ptr(), stride)
                }
            };
            let last = bi + 1 == blocks.len();
            for ic in rows.clone().step_by(ks.mc) {
                let mc = ks.mc.min(rows.end - ic);
                let job = MacroJob {
                    kc,
                    a: pr.packed_a.as_ptr().add((pc * panels + (ic / ks.mr) * kc) * ks.mr),
                    a_stride: kc * ks.mr,
                    b,
                    b_stride,
                    rows: mc,
                    cols: nc,
                    c: pr.c.add(ic * pr.ldc + jc),
                    ldc: pr.ldc,
                    first: bi == 0,
                    epi: last.then_some((pr.epi, ic, jc)),
                };
                (ks.run)(&job);
            }
        }
    }
}

/// Fails unless `isa` runs here and `threads` is at least one.
pub(crate) fn check_config(isa: Isa, threads: usize) -> Result<(), CpuError> {
    if !isa.is_available() {
        return Err(CpuError::IsaUnavailable(isa));
    }
    if threads == 0 {
        return Err(CpuError::Invalid("thread count must be at least 1".into()));
    }
    Ok(())
}

/// Row-major `out[M, N] = epilogue(a[M, K] * b[K, N])` on the widest instruction set of
/// this CPU ([`Isa::detect`]), on `threads` threads.
///
/// In [`Mode::Strict`] the result is bit-identical to the reference `MatMul` (with
/// [`Epilogue::none`]) and `Gemm`; in [`Mode::Fast`] it is the same from run to run and
/// for every thread count.
#[allow(clippy::too_many_arguments)]
pub fn matmul_f32(
    mode: Mode,
    threads: usize,
    a: &[f32],
    b: &[f32],
    m: usize,
    k: usize,
    n: usize,
    epilogue: &Epilogue,
    out: &mut [f32],
) -> Result<(), CpuError> {
    expect_len("A", mul(m, k, "A")?, a.len())?;
    expect_len("B", mul(k, n, "B")?, b.len())?;
    gemm_f32(
        Isa::detect(),
        mode,
        threads,
        MatRef::row_major(a, m, k),
        MatRef::row_major(b, k, n),
        epilogue,
        out,
    )
}

/// `out[M, N] = epilogue(a * b)` for strided `a` (`M x K`) and `b` (`K x N`), written
/// row-major into `out`, on instruction set `isa` and `threads` threads.
///
/// Errors: `isa` not available here, zero threads, inner dimensions that differ, views or
/// epilogue operands that do not fit their data, an `out` that is not `M * N` long.
pub fn gemm_f32(
    isa: Isa,
    mode: Mode,
    threads: usize,
    a: MatRef,
    b: MatRef,
    epilogue: &Epilogue,
    out: &mut [f32],
) -> Result<(), CpuError> {
    b.check("B")?;
    gemm_from(
        isa,
        mode,
        threads,
        a,
        BSource::Pack(&b),
        (b.rows, b.cols),
        epilogue,
        out,
    )
}

/// [`gemm_f32`] with a B packed ahead of time by [`PackedB::new`] (for the same `isa`
/// and `mode`): the same bits as [`gemm_f32`] on the unpacked B.
pub fn gemm_packed_f32(
    isa: Isa,
    mode: Mode,
    threads: usize,
    a: MatRef,
    b: &PackedB,
    epilogue: &Epilogue,
    out: &mut [f32],
) -> Result<(), CpuError> {
    if (b.isa, b.mode) != (isa, mode) {
        return Err(CpuError::Invalid(format!(
            "B was packed for {:?} in {} mode, not {isa:?} in {} mode",
            b.isa,
            b.mode.name(),
            mode.name()
        )));
    }
    gemm_from(isa, mode, threads, a, BSource::Packed(b), (b.k, b.n), epilogue, out)
}

/// The GEMM behind [`gemm_f32`] and [`gemm_packed_f32`]; `b_dims` is B's `(K, N)`.
#[allow(clippy::too_many_arguments)]
fn gemm_from(
    isa: Isa,
    mode: Mode,
    threads: usize,
    a: MatRef,
    b: BSource,
    b_dims: (usize, usize),
    epilogue: &Epilogue,
    out: &mut [f32],
) -> Result<(), CpuError> {
    check_config(isa, threads)?;
    a.check("A")?;
    if a.cols != b_dims.0 {
        return Err(CpuError::Invalid(format!(
            "inner dimensions differ: A is {} x {}, B is {} x {}",
            a.rows, a.cols, b_dims.0, b_dims.1
        )));
    }
    let (m, k, n) = (a.rows, a.cols, b_dims.1);
    expect_len("output", mul(m, n, "output")?, out.len())?;
    let epi = epilogue.lower(m, n)?;
    if m == 0 || n == 0 {
        return Ok(());
    }
    let ks = kernels(isa, mode);
    mul(mul(m.div_ceil(ks.mr), ks.mr, "packed A")?, k, "packed A")?;
    let (row_tiles, col_tiles) = (m.div_ceil(ks.mr), n.div_ceil(ks.nr));
    let t = threads.min(row_tiles.max(col_tiles));
    let by_cols = col_tiles >= t && (n >= m || row_tiles < t);
    let parts = threads::split(if by_cols { col_tiles } else { row_tiles }, t * threads::BALANCE);
    threads::with_buffers(1 + t.min(parts.len()), |bufs| {
        let (packed_a, bbufs) = bufs.split_at_mut(1);
        pack_a(&a, ks.mr, &mut packed_a[0]);
        let pr = Problem {
            k,
            packed_a: &packed_a[0],
            b,
            c: out.as_mut_ptr(),
            ldc: n,
            epi,
        };
        threads::run_balanced(&parts, bbufs, |part, bbuf| {
            // SAFETY: the kernels were checked available; parts are disjoint tiles of
            // `out`.
            unsafe {
                if by_cols {
                    let cols = part.start * ks.nr..(part.end * ks.nr).min(n);
                    run_region(&ks, &pr, 0..m, cols, bbuf);
                } else {
                    let rows = part.start * ks.mr..(part.end * ks.mr).min(m);
                    run_region(&ks, &pr, rows, 0..n, bbuf);
                }
            }
        });
    });
    Ok(())
}
