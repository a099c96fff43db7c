//! The generic microkernel, macrokernel and register epilogue.
//!
//! Everything here is `#[inline(always)]` and generic over [`Simd`]; `isa.rs` instantiates
//! it once per instruction set and mode inside a `#[target_feature]` function.
//!
//! The microkernel keeps an `MR x (NV * LANES)` tile of accumulators in registers. Each
//! step `p` along K broadcasts `MR` values of the packed A panel and loads `NV` vectors of
//! the packed B panel; every lane is one output element, so every element still
//! accumulates along K in order:
//!
//! - strict: `acc = acc + a * b`, a rounded multiply then a rounded add;
//! - fast: `acc = fma(a, b, acc)`.
//!
//! A column panel with only a few real columns (the last of a 7x7 image's 49) runs on a
//! turned-around kernel instead, whose vectors run down the rows ([`narrow_panel`]); each
//! element still accumulates along K in order with the same operation.
//!
//! K is cut into blocks for the caches, but a block never starts a new partial sum: the
//! next block reloads the stored `f32` accumulators and goes on, which gives exactly the
//! bits of one unbroken loop. So neither the block sizes nor the thread split change a bit.

use super::chain::ChainStage;
use super::gemm::Activation;
use super::simd::Simd;

/// The epilogue of one sub-GEMM, as raw pointers already offset to its first element.
///
/// Applied per element after the last K step, in this order: `t = alpha * acc`;
/// `t = t + beta * c[i, j]`; `t = t + bias`; the per-row chain stages; `t = t + r[i, j]`
/// (unless `res_after`); activation; `t = t + r[i, j]` (if `res_after`).
#[derive(Copy, Clone, Debug)]
pub(crate) struct EpiRaw {
    /// Scale of the product.
    pub alpha: Option<f32>,
    /// `(data, row stride, column stride, beta)` of a scaled addend.
    pub addend: Option<(*const f32, usize, usize, f32)>,
    /// Per-row bias (indexed by row), or null.
    pub row_bias: *const f32,
    /// Per-column bias (indexed by column), or null.
    pub col_bias: *const f32,
    /// `(data, row stride)` of a row-major residual.
    pub residual: Option<(*const f32, usize)>,
    /// Add the residual after the activation instead of before.
    pub res_after: bool,
    /// Activation.
    pub act: Activation,
    /// Per-row chain stages `(first, count)`, borrowed for the call; row `i` is channel
    /// `chan0 + i` of the stages' per-channel values.
    pub stages: (*const ChainStage<'static>, usize),
    /// The channel of row 0, for the chain stages.
    pub chan0: usize,
}

impl EpiRaw {
    /// The epilogue that leaves the dot products as they are.
    pub(crate) const IDENTITY: EpiRaw = EpiRaw {
        alpha: None,
        addend: None,
        row_bias: std::ptr::null(),
        col_bias: std::ptr::null(),
        residual: None,
        res_after: false,
        act: Activation::None,
        stages: (std::ptr::null(), 0),
        chan0: 0,
    };

    /// Whether applying this epilogue changes nothing.
    pub(crate) fn is_identity(&self) -> bool {
        self.alpha.is_none()
            && self.addend.is_none()
            && self.row_bias.is_null()
            && self.stages.1 == 0
            && self.col_bias.is_null()
            && self.residual.is_none()
            && matches!(self.act, Activation::None)
    }

    /// Whether every element's epilogue depends on its row only (no addend, column bias
    /// or residual), so it may run on values before they reach their columns.
    pub(crate) fn is_per_row(&self) -> bool {
        self.addend.is_none() && self.col_bias.is_null() && self.residual.is_none()
    }
}

/// One macrokernel call: a `rows x cols` block of C over one K block of length `kc`.
pub(crate) struct MacroJob {
    /// Length of this K block.
    pub kc: usize,
    /// Packed A: the first row panel of the block, at this K block's offset.
    pub a: *const f32,
    /// Distance between consecutive packed A row panels.
    pub a_stride: usize,
    /// Packed B: the first column panel of the block.
    pub b: *const f32,
    /// Distance between consecutive packed B column panels (`kc * NR`).
    pub b_stride: usize,
    /// Valid rows of the block.
    pub rows: usize,
    /// Valid columns of the block.
    pub cols: usize,
    /// C at the block's first element.
    pub c: *mut f32,
    /// Row stride of C.
    pub ldc: usize,
    /// First K block: the accumulators start at `+0.0` instead of C.
    pub first: bool,
    /// Last K block: apply this epilogue; `(epilogue, row, column)` of the block's first
    /// element in the epilogue's coordinates.
    pub epi: Option<(EpiRaw, usize, usize)>,
}

/// Loads up to `LANES` elements `p[l * stride]`, `l < n`, zero-filling the rest.
#[inline(always)]
pub(crate) unsafe fn fetch<S: Simd>(p: *const f32, stride: usize, n: usize) -> S::V {
    if stride == 0 {
        return S::splat(*p);
    }
    if stride == 1 {
        return if n == S::LANES { S::load(p) } else { S::load_first(p, n) };
    }
    let mut buf = [0.0f32; 16];
    for (l, slot) in buf.iter_mut().enumerate().take(n) {
        *slot = *p.add(l * stride);
    }
    S::load(buf.as_ptr())
}

/// Stores the first `n` lanes of `v` to `p`.
#[inline(always)]
pub(crate) unsafe fn put<S: Simd>(p: *mut f32, n: usize, v: S::V) {
    if n == S::LANES {
        S::store(p, v);
    } else {
        S::store_first(p, n, v);
    }
}

/// ONNX `Max(v, lo)` for a fixed `lo`: NaN `v` wins, then NaN `lo`, then the larger, and
/// `+0` over `-0`.
#[inline(always)]
unsafe fn fmax_const<S: Simd>(v: S::V, lo: f32) -> S::V {
    let l = S::splat(lo);
    if lo.is_nan() {
        return S::select(S::nan(v), v, l);
    }
    let r = S::select(S::gt(l, v), l, v);
    // Equal values: identical bits, or zeros of both signs where `+0` wins (bitwise and).
    S::select(S::eq(v, l), S::and_bits(v, l), r)
}

/// ONNX `Min(v, hi)` for a fixed `hi`: NaN `v` wins, then NaN `hi`, then the smaller, and
/// `-0` under `+0`.
#[inline(always)]
unsafe fn fmin_const<S: Simd>(v: S::V, hi: f32) -> S::V {
    let h = S::splat(hi);
    if hi.is_nan() {
        return S::select(S::nan(v), v, h);
    }
    let r = S::select(S::gt(v, h), h, v);
    S::select(S::eq(v, h), S::or_bits(v, h), r)
}

/// Applies `act` to one vector with the reference's semantics.
#[inline(always)]
pub(crate) unsafe fn activate<S: Simd>(t: S::V, act: &Activation) -> S::V {
    match *act {
        Activation::None => t,
        // `x` if `x > 0` or NaN, else `+0`.
        Activation::Relu => {
            let keep = S::or_mask(S::gt(t, S::zero()), S::nan(t));
            S::keep(keep, t)
        }
        // `alpha * x` if `x < 0`, else `x`.
        Activation::LeakyRelu { alpha } => S::select(S::gt(S::zero(), t), S::mul(S::splat(alpha), t), t),
        Activation::Clip { min, max } => {
            let t = match min {
                Some(lo) => fmax_const::<S>(t, lo),
                None => t,
            };
            match max {
                Some(hi) => fmin_const::<S>(t, hi),
                None => t,
            }
        }
    }
}

/// Applies the epilogue `e` to one vector `t` of row `i`, columns `j..j + n`: the
/// one-vector tile of [`epilogue_tile`].
#[inline(always)]
pub(crate) unsafe fn epilogue_vec<S: Simd>(e: &EpiRaw, t: S::V, i: usize, j: usize, n: usize) -> S::V {
    epilogue_tile::<S, 1, 1>(e, [[t]], i, 1, j, &[n])[0][0]
}

/// One K step of one accumulator: `fma(a, b, acc)` in fast mode (`FMA`), a rounded
/// multiply then a rounded add in strict mode.
#[inline(always)]
unsafe fn madd<S: Simd, const FMA: bool>(a: S::V, b: S::V, acc: S::V) -> S::V {
    if FMA {
        S::fmadd(a, b, acc)
    } else {
        S::add(acc, S::mul(a, b))
    }
}

/// The K loop of one tile: `acc[r][v] (+)= a[p][r] * b[p][v]` for `p` in `0..kc`.
#[inline(always)]
unsafe fn micro<S: Simd, const MR: usize, const NV: usize, const FMA: bool>(
    kc: usize,
    mut a: *const f32,
    mut b: *const f32,
    acc: &mut [[S::V; NV]; MR],
) {
    // Work on a local copy, so that the accumulators stay in registers through the loop
    // even where the caller keeps `acc` in memory.
    let mut tile = *acc;
    for _ in 0..kc {
        let mut bv = [S::zero(); NV];
        for (v, slot) in bv.iter_mut().enumerate() {
            *slot = S::load(b.add(v * S::LANES));
        }
        for (r, row) in tile.iter_mut().enumerate() {
            let ar = S::splat(*a.add(r));
            for (v, x) in row.iter_mut().enumerate() {
                *x = madd::<S, FMA>(ar, bv[v], *x);
            }
        }
        a = a.add(MR);
        b = b.add(NV * S::LANES);
    }
    *acc = tile;
}

/// Runs the microkernel over every `MR x NR` tile of a block (column panels outer, so one
/// packed B panel stays in L1 while the A panels stream from L2), with edge tiles masked.
#[inline(always)]
pub(crate) unsafe fn macro_kernel<S: Simd, const MR: usize, const NV: usize, const FMA: bool>(job: &MacroJob) {
    if MR > 1 && job.rows == 1 {
        return macro_row::<S, MR, NV, FMA>(job);
    }
    let nr = NV * S::LANES;
    let epi = job.epi.filter(|(e, _, _)| !e.is_identity());
    for jp in 0..job.cols.div_ceil(nr) {
        let cv = nr.min(job.cols - jp * nr);
        if cv <= NARROW_COLS && MR <= S::LANES {
            narrow_panel::<S, MR, NV, FMA>(job, jp, cv, epi.as_ref());
            continue;
        }
        let b = job.b.add(jp * job.b_stride);
        for ip in 0..job.rows.div_ceil(MR) {
            let rv = MR.min(job.rows - ip * MR);
            // Whole tiles (nearly all of them) take a copy of the code where the row and
            // lane counts are constants, without the edge tiles' checks.
            if rv == MR && cv == nr {
                tile::<S, MR, NV, FMA, true>(job, b, ip, jp, rv, cv, epi.as_ref());
            } else {
                tile::<S, MR, NV, FMA, false>(job, b, ip, jp, rv, cv, epi.as_ref());
            }
        }
    }
}

/// One `MR x NR` tile of [`macro_kernel`]: row panel `ip` by column panel `jp` (packed B
/// at `b`), of which `rv` rows and `cv` columns are real, all of them if `FULL`.
#[inline(always)]
unsafe fn tile<S: Simd, const MR: usize, const NV: usize, const FMA: bool, const FULL: bool>(
    job: &MacroJob,
    b: *const f32,
    ip: usize,
    jp: usize,
    rv: usize,
    cv: usize,
    epi: Option<&(EpiRaw, usize, usize)>,
) {
    let nr = NV * S::LANES;
    let (rv, cv) = if FULL { (MR, nr) } else { (rv, cv) };
    let c = job.c.add(ip * MR * job.ldc + jp * nr);
    // Lanes of each accumulator vector that are real columns of C.
    let lanes: [usize; NV] = std::array::from_fn(|v| cv.saturating_sub(v * S::LANES).min(S::LANES));
    let mut acc = [[S::zero(); NV]; MR];
    if !job.first {
        for (r, row) in acc.iter_mut().enumerate() {
            if r < rv {
                for (v, x) in row.iter_mut().enumerate() {
                    *x = fetch::<S>(c.add(r * job.ldc + v * S::LANES), 1, lanes[v]);
                }
            }
        }
    }
    // Start fetching the next tile of C (loaded or written after its K loop).
    let next = if ip + 1 < job.rows.div_ceil(MR) {
        c.wrapping_add(MR * job.ldc)
    } else {
        job.c.wrapping_add((jp + 1) * nr)
    };
    for r in 0..MR {
        S::prefetch(next.wrapping_add(r * job.ldc));
        S::prefetch(next.wrapping_add(r * job.ldc + nr - 1));
    }
    // The residual the epilogue adds was written long before this kernel: start fetching
    // this tile's rows of it now, so the K loop hides the misses.
    if let Some((e, i0, j0)) = epi {
        if let Some((res, ld)) = e.residual {
            for r in 0..rv {
                let row = res.wrapping_add((i0 + ip * MR + r) * ld + j0 + jp * nr);
                S::prefetch(row);
                S::prefetch(row.wrapping_add(cv - 1));
            }
        }
    }
    micro::<S, MR, NV, FMA>(job.kc, job.a.add(ip * job.a_stride), b, &mut acc);
    if let Some((e, i0, j0)) = epi {
        acc = epilogue_tile::<S, MR, NV>(e, acc, i0 + ip * MR, rv, j0 + jp * nr, &lanes);
    }
    for (r, row) in acc.iter().enumerate() {
        if r < rv {
            for (v, &x) in row.iter().enumerate().filter(|&(v, _)| lanes[v] > 0) {
                put::<S>(c.add(r * job.ldc + v * S::LANES), lanes[v], x);
            }
        }
    }
}

/// The most real columns a panel may have for [`narrow_panel`] to take it.
const NARROW_COLS: usize = 4;

/// [`macro_kernel`] for column panel `jp` when only `cv <= NARROW_COLS` of its columns
/// are real (the last panel of a 7x7 image's 49 columns has one): the `MR x NR` tile
/// would spend its multiply-adds on all `NR` columns for those few. This turns the tile
/// around: each accumulator vector holds one column of one row panel (`MR` rows, the
/// lanes past `MR` unused), so a K step loads one vector of packed A per row panel and
/// broadcasts each column's B value. Every element still accumulates along K in order
/// with the same operation, so the bits are those of the tiled kernel.
#[inline(always)]
unsafe fn narrow_panel<S: Simd, const MR: usize, const NV: usize, const FMA: bool>(
    job: &MacroJob,
    jp: usize,
    cv: usize,
    epi: Option<&(EpiRaw, usize, usize)>,
) {
    // Row panels per pass: as many as keep all accumulators and the broadcasts in
    // registers.
    match cv {
        1 => narrow_columns::<S, MR, NV, FMA, 1, 8>(job, jp, epi),
        2 => narrow_columns::<S, MR, NV, FMA, 2, 6>(job, jp, epi),
        3 => narrow_columns::<S, MR, NV, FMA, 3, 4>(job, jp, epi),
        _ => narrow_columns::<S, MR, NV, FMA, 4, 2>(job, jp, epi),
    }
}

/// [`narrow_panel`] for `CV` real columns, `G` row panels at a time.
#[inline(always)]
unsafe fn narrow_columns<
    S: Simd,
    const MR: usize,
    const NV: usize,
    const FMA: bool,
    const CV: usize,
    const G: usize,
>(
    job: &MacroJob,
    jp: usize,
    epi: Option<&(EpiRaw, usize, usize)>,
) {
    let panels = job.rows.div_ceil(MR);
    let mut ip = 0;
    while ip + G <= panels {
        narrow_rows::<S, MR, NV, FMA, CV, G>(job, jp, ip, epi);
        ip += G;
    }
    while ip < panels {
        narrow_rows::<S, MR, NV, FMA, CV, 1>(job, jp, ip, epi);
        ip += 1;
    }
}

/// Row panels `ip..ip + G` of [`narrow_panel`]'s column panel `jp`.
#[inline(always)]
unsafe fn narrow_rows<S: Simd, const MR: usize, const NV: usize, const FMA: bool, const CV: usize, const G: usize>(
    job: &MacroJob,
    jp: usize,
    ip: usize,
    epi: Option<&(EpiRaw, usize, usize)>,
) {
    let nr = NV * S::LANES;
    let b = job.b.add(jp * job.b_stride);
    let a: [*const f32; G] = std::array::from_fn(|g| job.a.add((ip + g) * job.a_stride));
    let c: [*mut f32; G] = std::array::from_fn(|g| job.c.add((ip + g) * MR * job.ldc + jp * nr));
    let rv: [usize; G] = std::array::from_fn(|g| MR.min(job.rows - (ip + g) * MR));
    // `acc[g][j]`: column `j` of row panel `g`, row `r` in lane `r`.
    let mut acc = [[S::zero(); CV]; G];
    if !job.first {
        for g in 0..G {
            for (j, x) in acc[g].iter_mut().enumerate() {
                *x = fetch::<S>(c[g].add(j), job.ldc, rv[g]);
            }
        }
    }
    if job.kc > 0 {
        // The last step loads only `MR` floats: a whole vector could reach past packed A.
        for p in 0..job.kc - 1 {
            narrow_step::<S, MR, FMA, CV, G, false>(&mut acc, &a, b.add(p * nr), p);
        }
        narrow_step::<S, MR, FMA, CV, G, true>(&mut acc, &a, b.add((job.kc - 1) * nr), job.kc - 1);
    }
    for g in 0..G {
        // Back to the tile's layout: row `r` in one vector, column `j` in lane `j`.
        let mut cols = [[0.0f32; 16]; CV];
        for (col, &x) in cols.iter_mut().zip(&acc[g]) {
            S::store(col.as_mut_ptr(), x);
        }
        let mut tile: [[S::V; 1]; MR] = std::array::from_fn(|r| [fetch::<S>(cols[0].as_ptr().add(r), 16, CV)]);
        if let Some((e, i0, j0)) = epi {
            tile = epilogue_tile::<S, MR, 1>(e, tile, i0 + (ip + g) * MR, rv[g], j0 + jp * nr, &[CV]);
        }
        for (r, row) in tile.iter().enumerate().take(rv[g]) {
            put::<S>(c[g].add(r * job.ldc), CV, row[0]);
        }
    }
}

/// K step `p` of [`narrow_rows`]; `LAST` loads only the `MR` floats of the step from
/// packed A.
#[inline(always)]
unsafe fn narrow_step<S: Simd, const MR: usize, const FMA: bool, const CV: usize, const G: usize, const LAST: bool>(
    acc: &mut [[S::V; CV]; G],
    a: &[*const f32; G],
    b: *const f32,
    p: usize,
) {
    let bv: [S::V; CV] = std::array::from_fn(|j| S::splat(*b.add(j)));
    for (accs, &ag) in acc.iter_mut().zip(a) {
        let av = if LAST {
            S::load_first(ag.add(p * MR), MR)
        } else {
            S::load(ag.add(p * MR))
        };
        for (x, &bj) in accs.iter_mut().zip(&bv) {
            *x = madd::<S, FMA>(av, bj, *x);
        }
    }
}

/// Column panels the one-row kernel works on at once.
const ROW_PANELS: usize = 4;

/// [`macro_kernel`] for a block of one row (a matrix-vector product, such as a
/// classifier's fully connected layer at batch 1), where the `MR`-row tile would leave all
/// but one row idle: it runs [`ROW_PANELS`] column panels at a time instead, whose
/// `ROW_PANELS * NV` accumulators are independent chains that keep the multiply-add units
/// busy. Each element still accumulates along K in order with the same operation, so the
/// bits are those of the tiled kernel.
#[inline(always)]
unsafe fn macro_row<S: Simd, const MR: usize, const NV: usize, const FMA: bool>(job: &MacroJob) {
    let nr = NV * S::LANES;
    let epi = job.epi.filter(|(e, _, _)| !e.is_identity());
    let panels = job.cols.div_ceil(nr);
    for jp in (0..panels).step_by(ROW_PANELS) {
        let group = ROW_PANELS.min(panels - jp);
        // A short last group repeats its last panel in the unused slots, never stored.
        let b: [*const f32; ROW_PANELS] = std::array::from_fn(|q| job.b.add((jp + q.min(group - 1)) * job.b_stride));
        let lanes: [[usize; NV]; ROW_PANELS] = std::array::from_fn(|q| {
            let cv = nr.min(job.cols - (jp + q.min(group - 1)) * nr);
            std::array::from_fn(|v| cv.saturating_sub(v * S::LANES).min(S::LANES))
        });
        let mut acc = [[S::zero(); NV]; ROW_PANELS];
        if !job.first {
            for (q, row) in acc.iter_mut().enumerate().take(group) {
                for (v, x) in row.iter_mut().enumerate() {
                    *x = fetch::<S>(job.c.add((jp + q) * nr + v * S::LANES), 1, lanes[q][v]);
                }
            }
        }
        let mut a = job.a;
        let mut off = 0;
        for _ in 0..job.kc {
            let ar = S::splat(*a);
            for (row, &bq) in acc.iter_mut().zip(&b) {
                for (v, x) in row.iter_mut().enumerate() {
                    *x = madd::<S, FMA>(ar, S::load(bq.add(off + v * S::LANES)), *x);
                }
            }
            a = a.add(MR);
            off += nr;
        }
        for (q, row) in acc.iter_mut().enumerate().take(group) {
            let mut tile = [*row];
            if let Some((e, i0, j0)) = &epi {
                tile = epilogue_tile::<S, 1, NV>(e, tile, *i0, 1, j0 + (jp + q) * nr, &lanes[q]);
            }
            for (v, &x) in tile[0].iter().enumerate().filter(|&(v, _)| lanes[q][v] > 0) {
                put::<S>(job.c.add((jp + q) * nr + v * S::LANES), lanes[q][v], x);
            }
        }
    }
}

/// Applies the epilogue `e` to a finished `MR x NV` tile of accumulators whose first
/// element is `(i, j)` in the epilogue's coordinates; `rows` of its rows and `lanes[v]`
/// lanes of its vector `v` are real elements of C.
///
/// Per element, in this order: `t = alpha * acc`; `t = t + beta * c[i, j]`; row bias;
/// column bias; the per-row chain stages; the residual (unless after the activation); the
/// activation; the residual (if after). Each step runs over the whole tile, so that the
/// choice of steps is made once per tile. The lanes and rows outside C compute values
/// that are never stored; their operands are read from row `rows - 1` (and masked
/// loads), never past C's operands.
///
/// The steps before the row bias's (`alpha`, the addend, the column bias, the chain
/// stages: [`epilogue_front`]) work on a copy of the tile in memory; with none of them,
/// the row bias, residual and activation keep the tile in registers, which matters for
/// short K loops (a 1x1 convolution from 16 channels runs 16 steps per tile).
///
/// Plain loops only: a closure would not inherit the caller's target features, and its
/// intrinsics would not inline. The tile is taken and returned by value, so that LLVM
/// keeps it in registers even where the caller's accumulators live in memory.
#[inline(always)]
pub(crate) unsafe fn epilogue_tile<S: Simd, const MR: usize, const NV: usize>(
    e: &EpiRaw,
    mut acc: [[S::V; NV]; MR],
    i: usize,
    rows: usize,
    j: usize,
    lanes: &[usize; NV],
) -> [[S::V; NV]; MR] {
    if e.alpha.is_some() || e.addend.is_some() || !e.col_bias.is_null() || e.stages.1 > 0 {
        // The rarer steps work on a copy in memory, so that the common ones below keep
        // the tile in registers.
        let mut tile = acc;
        epilogue_front::<S, MR, NV>(e, &mut tile, i, rows, j, lanes);
        acc = tile;
    } else if !e.row_bias.is_null() {
        for (r, accs) in acc.iter_mut().enumerate() {
            let b = S::splat(*e.row_bias.add(i + r.min(rows - 1)));
            for x in accs.iter_mut() {
                *x = S::add(*x, b);
            }
        }
    }
    if let Some(res) = e.residual.filter(|_| !e.res_after) {
        add_residual_tile::<S, MR, NV>(&mut acc, res, i, rows, j, lanes);
    }
    match e.act {
        Activation::None => {}
        // The common cases, with the activation known to the compiler in the loop (so
        // that it unrolls and the tile stays in registers).
        Activation::Relu => {
            for accs in acc.iter_mut() {
                for x in accs.iter_mut() {
                    *x = activate::<S>(*x, &Activation::Relu);
                }
            }
        }
        Activation::LeakyRelu { alpha } => {
            for accs in acc.iter_mut() {
                for x in accs.iter_mut() {
                    *x = activate::<S>(*x, &Activation::LeakyRelu { alpha });
                }
            }
        }
        act => {
            for accs in acc.iter_mut() {
                for x in accs.iter_mut() {
                    *x = activate::<S>(*x, &act);
                }
            }
        }
    }
    if let Some(res) = e.residual.filter(|_| e.res_after) {
        add_residual_tile::<S, MR, NV>(&mut acc, res, i, rows, j, lanes);
    }
    acc
}

/// The steps of [`epilogue_tile`] before the residual: `alpha`, the scaled addend, the
/// row and column biases and the chain stages, in that order, on a tile in memory.
#[inline(always)]
unsafe fn epilogue_front<S: Simd, const MR: usize, const NV: usize>(
    e: &EpiRaw,
    acc: &mut [[S::V; NV]; MR],
    i: usize,
    rows: usize,
    j: usize,
    lanes: &[usize; NV],
) {
    if let Some(alpha) = e.alpha {
        let a = S::splat(alpha);
        for accs in acc.iter_mut() {
            for x in accs.iter_mut() {
                *x = S::mul(a, *x);
            }
        }
    }
    if let Some((c, rs, cs, beta)) = e.addend {
        let b = S::splat(beta);
        for (r, accs) in acc.iter_mut().enumerate() {
            let ri = i + r.min(rows - 1);
            for (v, x) in accs.iter_mut().enumerate() {
                let cv = fetch::<S>(c.add(ri * rs + (j + v * S::LANES) * cs), cs, lanes[v]);
                *x = S::add(*x, S::mul(b, cv));
            }
        }
    }
    if !e.row_bias.is_null() {
        for (r, accs) in acc.iter_mut().enumerate() {
            let b = S::splat(*e.row_bias.add(i + r.min(rows - 1)));
            for x in accs.iter_mut() {
                *x = S::add(*x, b);
            }
        }
    }
    if !e.col_bias.is_null() {
        let mut b = [S::zero(); NV];
        for (v, b) in b.iter_mut().enumerate() {
            *b = fetch::<S>(e.col_bias.add(j + v * S::LANES), 1, lanes[v]);
        }
        for accs in acc.iter_mut() {
            for (x, &b) in accs.iter_mut().zip(&b) {
                *x = S::add(*x, b);
            }
        }
    }
    // (`stages.0` is null when there are none, which `from_raw_parts` does not allow.)
    let stages = if e.stages.1 > 0 {
        std::slice::from_raw_parts(e.stages.0, e.stages.1)
    } else {
        &[]
    };
    for stage in stages {
        for (r, accs) in acc.iter_mut().enumerate() {
            let chan = e.chan0 + i + r.min(rows - 1);
            for x in accs.iter_mut() {
                *x = stage.apply_vec::<S>(chan, *x);
            }
        }
    }
}

/// Adds the tile's elements of the row-major residual `(data, row stride)` to `acc`, as
/// [`epilogue_tile`] lays the tile out.
#[inline(always)]
unsafe fn add_residual_tile<S: Simd, const MR: usize, const NV: usize>(
    acc: &mut [[S::V; NV]; MR],
    (res, ld): (*const f32, usize),
    i: usize,
    rows: usize,
    j: usize,
    lanes: &[usize; NV],
) {
    for (r, accs) in acc.iter_mut().enumerate() {
        let ri = i + r.min(rows - 1);
        for (v, x) in accs.iter_mut().enumerate() {
            *x = S::add(*x, fetch::<S>(res.add(ri * ld + j + v * S::LANES), 1, lanes[v]));
        }
    }
}
