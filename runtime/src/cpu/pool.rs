//! 2-d max and average pooling, row by row.
//!
//! Each max-pool output is the reference's maximum: its window's in-bounds taps in
//! row-major order from negative infinity, a tap replacing the maximum when it is
//! greater, and the first NaN met winning outright; padding and positions past the input
//! never take part. Being a selection, not arithmetic, it is exact in both modes.
//!
//! Each average-pool output is the reference's: the in-bounds taps summed in row-major
//! order from zero, each add rounded, then divided by the count (positions inside the
//! padded input with `count_include_pad`, else in-bounds taps). The same operations in
//! the same order, so it is exact in both modes too.
//!
//! Max pooling runs on phase planes padded with negative infinity (see `phase.rs`): every
//! tap is one contiguous run across the plane's flat output, with the running maxima in
//! registers. Average pooling runs on phase planes padded with +0.0 the same way (a sum
//! from +0.0 never turns -0.0, and adding +0.0 leaves any other value's bits alone), with
//! each sum divided in registers; planes with only a few outputs (global pools) sum their
//! taps for several planes side by side instead. Planes are split across threads.

use super::gemm::{expect_len, mul};
use super::isa::Isa;
use super::phase::{PhaseOps, Phases};
use super::simd::{simd_dispatch, Scalar};
use super::threads::{self, SharedOut};
use super::CpuError;
use crate::reference::accumulate::{combine_lanes, LANES};

/// The window of a 2-d pooling: sizes, strides, dilations, the leading pads and the
/// output size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolWindow {
    /// Kernel `[height, width]`.
    pub kernel: [usize; 2],
    /// Strides.
    pub strides: [usize; 2],
    /// Dilations.
    pub dilations: [usize; 2],
    /// Padding above and on the left.
    pub pad_begin: [usize; 2],
    /// Padding below and on the right (what `count_include_pad` counts; `ceil_mode`
    /// windows may reach past it).
    pub pad_end: [usize; 2],
    /// Output `[height, width]`.
    pub output: [usize; 2],
}

/// Checks a pooling call's configuration and sizes; returns the number of planes.
fn check_pool(
    what: &str,
    threads: usize,
    x: &[f32],
    dims: [usize; 4],
    win: &PoolWindow,
    out: &[f32],
) -> Result<usize, CpuError> {
    let [n, c, h, w] = dims;
    let [oh, ow] = win.output;
    if threads == 0 || win.strides.contains(&0) || win.dilations.contains(&0) {
        return Err(CpuError::Invalid(format!(
            "{what} needs threads, strides and dilations of at least 1"
        )));
    }
    let planes = mul(n, c, "pool input")?;
    expect_len(
        "pool input",
        mul(mul(planes, h, "pool input")?, w, "pool input")?,
        x.len(),
    )?;
    expect_len(
        "pool output",
        mul(mul(planes, oh, "pool output")?, ow, "pool output")?,
        out.len(),
    )?;
    Ok(planes)
}

/// Max pooling of `x` (`[planes, h, w]` as `dims = [n, c, h, w]`) into `out`
/// (`[n, c, oh, ow]`), on `threads` threads.
pub fn max_pool2d_f32(
    threads: usize,
    x: &[f32],
    dims: [usize; 4],
    win: &PoolWindow,
    out: &mut [f32],
) -> Result<(), CpuError> {
    max_pool_on(Isa::detect(), threads, x, dims, win, out)
}

/// [`max_pool2d_f32`] with the code compiled for `isa` (which must be available); the
/// bits do not depend on it.
fn max_pool_on(
    isa: Isa,
    threads: usize,
    x: &[f32],
    dims: [usize; 4],
    win: &PoolWindow,
    out: &mut [f32],
) -> Result<(), CpuError> {
    let planes = check_pool("max pool", threads, x, dims, win, out)?;
    if !isa.is_available() {
        return Err(CpuError::IsaUnavailable(isa));
    }
    let [_, _, h, w] = dims;
    if out.is_empty() {
        return Ok(());
    }
    let workers = threads.min(out.len().div_ceil(1 << 12));
    let parts = threads::split(planes, workers * threads::BALANCE);
    let dst = SharedOut(out.as_mut_ptr());
    let mut bufs = vec![(Vec::<f32>::new(), Vec::<f32>::new()); workers.min(parts.len())];
    threads::run_balanced(&parts, &mut bufs, |part, buf| {
        // SAFETY: `isa` is available; each part writes only its own planes of `out`,
        // whose size `check_pool` checked.
        unsafe { max_planes_for(isa, win, [h, w], part, x, dst, buf) }
    });
    Ok(())
}

simd_dispatch! {
    /// [`max_planes`] with the widest vectors `isa` allows.
    ///
    /// # Safety
    ///
    /// As [`max_planes`]; `isa` must be available.
    unsafe fn max_planes_for(
        win: &PoolWindow,
        hw: [usize; 2],
        part: std::ops::Range<usize>,
        x: &[f32],
        dst: SharedOut,
        buf: &mut (Vec<f32>, Vec<f32>),
    ) => max_planes
}

/// Max-pools the planes `part` of `x` (each `h x w`) into `dst`.
///
/// Each plane is split into its phases padded with negative infinity (see `phase.rs`),
/// which no tap can replace a running maximum with, so each output sees its in-bounds
/// taps alone, in row-major order; then every tap is one contiguous run across the
/// plane's flat output, kept in registers from the first tap to the last.
///
/// # Safety
///
/// `dst` must point at the whole output (`[planes, oh, ow]`), and no other thread may
/// write these planes.
#[inline(always)]
unsafe fn max_planes<S: PhaseOps>(
    win: &PoolWindow,
    [h, w]: [usize; 2],
    part: std::ops::Range<usize>,
    x: &[f32],
    dst: SharedOut,
    buf: &mut (Vec<f32>, Vec<f32>),
) {
    let [oh, ow] = win.output;
    let ph = Phases::new(
        [h, w],
        win.pad_begin,
        win.kernel,
        win.strides,
        win.dilations,
        win.output,
        S::LANES,
    );
    let (phases, res) = buf;
    ph.prepare(f32::NEG_INFINITY, S::LANES, phases, res);
    for plane in part {
        let xs = &x[plane * h * w..][..h * w];
        ph.load::<S>(xs, phases);
        // Without NaNs the maximum is a plain `max` (ties keep the earlier tap); with
        // one, every step also lets a first NaN win.
        if has_nan(xs) {
            max_runs::<S, true>(&ph.offsets, phases, &mut res[..ph.span]);
        } else {
            max_runs::<S, false>(&ph.offsets, phases, &mut res[..ph.span]);
        }
        // The plane lies inside `out`, and only this thread writes it.
        ph.compact::<S>(res, dst.get().add(plane * oh * ow));
    }
}

/// Whether `xs` holds a NaN (a branch-free fold, so it vectorizes).
#[inline(always)]
fn has_nan(xs: &[f32]) -> bool {
    xs.chunks(256).any(|c| c.iter().fold(false, |a, v| a | v.is_nan()))
}

/// `res[q] = max over taps t of phases[offsets[t] + q]` for the whole of `res` (a
/// multiple of `S::LANES` long), taps in order from negative infinity; `NAN` lets the
/// first NaN win.
#[inline(always)]
unsafe fn max_runs<S: PhaseOps, const NAN: bool>(offsets: &[usize], phases: &[f32], res: &mut [f32]) {
    let step = |m: S::V, v: S::V| if NAN { S::max_nan(m, v) } else { S::max_keep(m, v) };
    let l = S::LANES;
    let span = res.len();
    debug_assert!(span.is_multiple_of(l) && offsets.iter().all(|&o| o + span <= phases.len()));
    let (src, out) = (phases.as_ptr(), res.as_mut_ptr());
    let mut q = 0;
    while q + 4 * l <= span {
        let mut m = [S::splat(f32::NEG_INFINITY); 4];
        for &o in offsets {
            let p = src.add(o + q);
            for (i, mi) in m.iter_mut().enumerate() {
                *mi = step(*mi, S::load(p.add(i * l)));
            }
        }
        for (i, &mi) in m.iter().enumerate() {
            S::store(out.add(q + i * l), mi);
        }
        q += 4 * l;
    }
    while q < span {
        let mut m = S::splat(f32::NEG_INFINITY);
        for &o in offsets {
            m = step(m, S::load(src.add(o + q)));
        }
        S::store(out.add(q), m);
        q += l;
    }
}

/// The number of window taps along one axis for output position `o` whose padded
/// coordinate lies in `lo..hi`.
fn taps_between(o: usize, stride: usize, dilation: usize, kernel: usize, lo: usize, hi: usize) -> usize {
    (0..kernel)
        .filter(|&k| {
            let c = o * stride + k * dilation;
            c >= lo && c < hi
        })
        .count()
}

/// Global average pooling of `x`, `planes` planes one after another, into `out` (one
/// value per plane), on `threads` threads: each plane's elements summed in the
/// reference's order ([`crate::reference::accumulate`]: element `j` into lane
/// `j % LANES`, then the lanes combined by halving), then divided by their count. The
/// same operations in the same order as the reference, so exact in both modes.
pub fn global_avg_pool_f32(threads: usize, x: &[f32], planes: usize, out: &mut [f32]) -> Result<(), CpuError> {
    if threads == 0 {
        return Err(CpuError::Invalid("global pool needs at least 1 thread".into()));
    }
    expect_len("global pool output", planes, out.len())?;
    if planes == 0 {
        return expect_len("global pool input", 0, x.len());
    }
    if !x.len().is_multiple_of(planes) {
        return Err(CpuError::Invalid(format!(
            "global pool input of {} elements is not {planes} equal planes",
            x.len()
        )));
    }
    let spatial = x.len() / planes;
    let count = spatial as f32;
    let workers = threads.min(x.len().div_ceil(1 << 15));
    let parts = threads::split(planes, workers);
    let dst = SharedOut(out.as_mut_ptr());
    let mut unit = vec![(); parts.len()];
    threads::run_parts(&parts, &mut unit, |part, _| {
        for plane in part {
            let sum = lane_sum(&x[plane * spatial..(plane + 1) * spatial]);
            // SAFETY: `plane < planes = out.len()`, and only this part writes it.
            unsafe { *dst.get().add(plane) = sum / count };
        }
    });
    Ok(())
}

/// The reference's lane-partial sum of `v`, written so that it vectorizes.
fn lane_sum(v: &[f32]) -> f32 {
    let mut lanes = [0.0f32; LANES];
    let mut chunks = v.chunks_exact(LANES);
    for chunk in &mut chunks {
        for (lane, &x) in lanes.iter_mut().zip(chunk) {
            *lane += x;
        }
    }
    for (lane, &x) in lanes.iter_mut().zip(chunks.remainder()) {
        *lane += x;
    }
    combine_lanes(lanes)
}

/// Average pooling of `x` (`dims = [n, c, h, w]`) into `out` (`[n, c, oh, ow]`), on
/// `threads` threads; `count_include_pad` divides by the positions inside the padded
/// input rather than the in-bounds taps.
pub fn avg_pool2d_f32(
    threads: usize,
    x: &[f32],
    dims: [usize; 4],
    win: &PoolWindow,
    count_include_pad: bool,
    out: &mut [f32],
) -> Result<(), CpuError> {
    avg_pool_on(Isa::detect(), threads, x, dims, win, count_include_pad, out)
}

/// [`avg_pool2d_f32`] with the code compiled for `isa` (which must be available); the
/// bits do not depend on it.
fn avg_pool_on(
    isa: Isa,
    threads: usize,
    x: &[f32],
    dims: [usize; 4],
    win: &PoolWindow,
    count_include_pad: bool,
    out: &mut [f32],
) -> Result<(), CpuError> {
    let planes = check_pool("average pool", threads, x, dims, win, out)?;
    if !isa.is_available() {
        return Err(CpuError::IsaUnavailable(isa));
    }
    let [_, _, h, w] = dims;
    let [oh, ow] = win.output;
    if out.is_empty() {
        return Ok(());
    }
    let [kh, kw] = win.kernel;
    let [sh, sw] = win.strides;
    let [dh, dw] = win.dilations;
    let [pt, pl] = win.pad_begin;
    let (row_hi, col_hi) = if count_include_pad {
        (pt + h + win.pad_end[0], pl + w + win.pad_end[1])
    } else {
        (pt + h, pl + w)
    };
    let (row_lo, col_lo) = if count_include_pad { (0, 0) } else { (pt, pl) };
    // The divisor of each output, the same for every plane.
    let col_counts: Vec<usize> = (0..ow).map(|ox| taps_between(ox, sw, dw, kw, col_lo, col_hi)).collect();
    let row_counts: Vec<usize> = (0..oh).map(|oy| taps_between(oy, sh, dh, kh, row_lo, row_hi)).collect();
    let counts: Vec<f32> = row_counts
        .iter()
        .flat_map(|&r| col_counts.iter().map(move |&c| (r * c) as f32))
        .collect();
    let workers = threads.min(out.len().div_ceil(1 << 12));
    let parts = threads::split(planes, workers * threads::BALANCE);
    let dst = SharedOut(out.as_mut_ptr());
    let mut bufs = vec![AvgBufs::default(); workers.min(parts.len())];
    threads::run_balanced(&parts, &mut bufs, |part, buf| {
        // SAFETY: `isa` is available; each part writes only its own planes of `out`,
        // whose size `check_pool` checked.
        unsafe { avg_planes_for(isa, win, [h, w], &counts, part, x, dst, buf) }
    });
    Ok(())
}

/// One thread's scratch for average pooling.
#[derive(Clone, Default)]
struct AvgBufs {
    /// The phases of a plane (see `phase.rs`).
    phases: Vec<f32>,
    /// The flat output of a plane (rows of the phases' width).
    res: Vec<f32>,
    /// Each flat output position's divisor (1 in the scratch columns).
    div: Vec<f32>,
}

/// At most this many outputs per plane take [`avg_plane_groups`] rather than phase planes.
const FEW_OUTPUTS: usize = 8;

simd_dispatch! {
    /// [`avg_planes`] with the widest vectors `isa` allows.
    ///
    /// # Safety
    ///
    /// As [`avg_planes`]; `isa` must be available.
    unsafe fn avg_planes_for(
        win: &PoolWindow,
        hw: [usize; 2],
        counts: &[f32],
        part: std::ops::Range<usize>,
        x: &[f32],
        dst: SharedOut,
        buf: &mut AvgBufs,
    ) => avg_planes
}

/// Average-pools the planes `part` of `x` (each `h x w`) into `dst`, dividing output `o`
/// of each plane by `counts[o]`.
///
/// Each plane is split into its phases padded with +0.0 (see `phase.rs`): a sum that
/// starts at +0.0 never becomes -0.0 when rounding to nearest, and adding +0.0 to any
/// other value (an infinity or a NaN too) leaves its bits alone, so each output is the
/// sum of its in-bounds taps alone, in row-major order; then every tap is one contiguous
/// run across the plane's flat output, kept in registers from the first tap to the
/// division. Planes with few outputs go to [`avg_plane_groups`] instead.
///
/// # Safety
///
/// `dst` must point at the whole output (`[planes, oh, ow]`), and no other thread may
/// write these planes.
#[inline(always)]
unsafe fn avg_planes<S: PhaseOps>(
    win: &PoolWindow,
    [h, w]: [usize; 2],
    counts: &[f32],
    part: std::ops::Range<usize>,
    x: &[f32],
    dst: SharedOut,
    buf: &mut AvgBufs,
) {
    let [oh, ow] = win.output;
    if oh * ow <= FEW_OUTPUTS {
        return avg_plane_groups(win, [h, w], counts, part, x, dst);
    }
    let ph = Phases::new(
        [h, w],
        win.pad_begin,
        win.kernel,
        win.strides,
        win.dilations,
        win.output,
        S::LANES,
    );
    let AvgBufs { phases, res, div } = buf;
    ph.prepare(0.0, S::LANES, phases, res);
    div.clear();
    div.resize(ph.span, 1.0);
    for (oy, row) in counts.chunks_exact(ow).enumerate() {
        let at = oy * ph.wq;
        div[at..at + ow].copy_from_slice(row);
    }
    for plane in part {
        let xs = &x[plane * h * w..][..h * w];
        ph.load::<S>(xs, phases);
        // Two NaNs meet in an add only where the input holds NaNs; then every add keeps
        // a NaN sum as it is, as the reference's `sum + v` does (its first operand).
        if has_nan(xs) {
            avg_runs::<S, true>(&ph.offsets, phases, div, &mut res[..ph.span]);
        } else {
            avg_runs::<S, false>(&ph.offsets, phases, div, &mut res[..ph.span]);
        }
        // The plane lies inside `out`, and only this thread writes it.
        ph.compact::<S>(res, dst.get().add(plane * oh * ow));
    }
}

/// `res[q] = (sum over taps t of phases[offsets[t] + q]) / div[q]` for the whole of
/// `res` (a multiple of `S::LANES` long, as `div`), taps in order from +0.0; `NAN`
/// keeps a NaN sum's bits (see [`add_tap`]).
#[inline(always)]
unsafe fn avg_runs<S: PhaseOps, const NAN: bool>(offsets: &[usize], phases: &[f32], div: &[f32], res: &mut [f32]) {
    let l = S::LANES;
    let span = res.len();
    debug_assert!(span.is_multiple_of(l) && div.len() == span);
    debug_assert!(offsets.iter().all(|&o| o + span <= phases.len()));
    let (src, d, out) = (phases.as_ptr(), div.as_ptr(), res.as_mut_ptr());
    let mut q = 0;
    while q + 4 * l <= span {
        let mut s = [S::zero(); 4];
        for &o in offsets {
            let p = src.add(o + q);
            for (i, si) in s.iter_mut().enumerate() {
                *si = add_tap::<S, NAN>(*si, S::load(p.add(i * l)));
            }
        }
        for (i, &si) in s.iter().enumerate() {
            S::store(out.add(q + i * l), S::div(si, S::load(d.add(q + i * l))));
        }
        q += 4 * l;
    }
    while q < span {
        let mut s = S::zero();
        for &o in offsets {
            s = add_tap::<S, NAN>(s, S::load(src.add(o + q)));
        }
        S::store(out.add(q), S::div(s, S::load(d.add(q))));
        q += l;
    }
}

/// The running sum `s` after tap `v`: `s + v`, rounded. With `NAN`, a NaN `s` stays as
/// it is: the reference's `sum + v` gives its first operand's NaN when both are NaN, but
/// the compiler may swap an add's operands, so the choice is made explicit. (A NaN sum
/// comes from an add, so it is already quiet, as the add would make it.)
#[inline(always)]
unsafe fn add_tap<S: PhaseOps, const NAN: bool>(s: S::V, v: S::V) -> S::V {
    let r = S::add(s, v);
    if NAN {
        S::select(S::nan(s), s, r)
    } else {
        r
    }
}

/// Planes pooled together in [`avg_plane_groups`].
const GROUP: usize = 8;

/// Average-pools the planes `part` of `x` into `dst` when each has few outputs (global
/// pools and the like), where a plane's sums are short chains of dependent adds: each
/// output's in-bounds taps (row-major) are listed once, then summed for [`GROUP`] planes
/// side by side, each from +0.0 in that order, and divided by `counts[o]`.
///
/// # Safety
///
/// As [`avg_planes`].
#[inline(always)]
unsafe fn avg_plane_groups(
    win: &PoolWindow,
    [h, w]: [usize; 2],
    counts: &[f32],
    part: std::ops::Range<usize>,
    x: &[f32],
    dst: SharedOut,
) {
    let [oh, ow] = win.output;
    let [kh, kw] = win.kernel;
    let [sh, sw] = win.strides;
    let [dh, dw] = win.dilations;
    let [pt, pl] = win.pad_begin;
    // Each output's in-bounds taps, as indices into a plane, and where its list ends.
    let (mut taps, mut ends) = (Vec::new(), Vec::with_capacity(oh * ow));
    for oy in 0..oh {
        for ox in 0..ow {
            for ky in 0..kh {
                let Some(iy) = (oy * sh + ky * dh).checked_sub(pt).filter(|&r| r < h) else {
                    continue;
                };
                for kx in 0..kw {
                    if let Some(ix) = (ox * sw + kx * dw).checked_sub(pl).filter(|&c| c < w) {
                        taps.push(iy * w + ix);
                    }
                }
            }
            ends.push(taps.len());
        }
    }
    let hw = h * w;
    let out = dst.get();
    let mut plane = part.start;
    while plane < part.end {
        let n = GROUP.min(part.end - plane);
        let xs = &x[plane * hw..(plane + n) * hw];
        if has_nan(xs) {
            avg_group::<true>(xs, hw, n, &taps, &ends, counts, out.add(plane * oh * ow));
        } else {
            avg_group::<false>(xs, hw, n, &taps, &ends, counts, out.add(plane * oh * ow));
        }
        plane += n;
    }
}

/// Average-pools the `n` (at most [`GROUP`]) planes `xs` (each `hw` long) into `out`
/// (each `counts.len()` long): output `o` sums the plane's elements
/// `taps[ends[o - 1]..ends[o]]` in order from +0.0 (`NAN` keeping a NaN sum's bits, as
/// [`add_tap`]) and divides by `counts[o]`.
///
/// # Safety
///
/// `out` must be valid for `n * counts.len()` writes, and nothing else may use them.
#[inline(always)]
unsafe fn avg_group<const NAN: bool>(
    xs: &[f32],
    hw: usize,
    n: usize,
    taps: &[usize],
    ends: &[usize],
    counts: &[f32],
    out: *mut f32,
) {
    let per = counts.len();
    let step = |s: f32, v: f32| add_tap::<Scalar, NAN>(s, v);
    let mut start = 0;
    for (o, &end) in ends.iter().enumerate() {
        let list = &taps[start..end];
        start = end;
        if n == GROUP {
            let mut s = [0.0f32; GROUP];
            for &t in list {
                for (p, sp) in s.iter_mut().enumerate() {
                    *sp = step(*sp, xs[p * hw + t]);
                }
            }
            for (p, &sp) in s.iter().enumerate() {
                *out.add(p * per + o) = sp / counts[o];
            }
        } else {
            for p in 0..n {
                let s = list.iter().fold(0.0f32, |s, &t| step(s, xs[p * hw + t]));
                *out.add(p * per + o) = s / counts[o];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lightos_ir::{Op, Padding, PoolAttrs, PoolKind, Tensor};

    /// The bits of `v`.
    fn bits(v: &[f32]) -> Vec<u32> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    /// The reference's result bits for the 2-d pool of `x` (`dims`) with this window, and
    /// the same window as a [`PoolWindow`].
    #[allow(clippy::too_many_arguments)]
    fn reference_pool(
        kind: PoolKind,
        kernel: [usize; 2],
        stride: usize,
        dilations: [usize; 2],
        pads: [usize; 4],
        ceil_mode: bool,
        x: &[f32],
        dims: [usize; 4],
    ) -> (Vec<u32>, PoolWindow) {
        let attrs = PoolAttrs {
            kind,
            kernel: kernel.to_vec(),
            strides: vec![stride, stride],
            dilations: dilations.to_vec(),
            padding: Padding::Explicit(pads.to_vec()),
            ceil_mode,
        };
        let t = Tensor::from_vec(dims.to_vec(), x.to_vec()).unwrap();
        let want = crate::reference::eval_op(&Op::Pool(attrs), &[Some(&t)]).unwrap();
        let d = want[0].dims();
        let win = PoolWindow {
            kernel,
            strides: [stride, stride],
            dilations,
            pad_begin: [pads[0], pads[1]],
            pad_end: [pads[2], pads[3]],
            output: [d[2], d[3]],
        };
        (bits(want[0].as_slice::<f32>().unwrap()), win)
    }

    /// Global average pooling against the reference, bit for bit: plane sizes below,
    /// at and past the lane count and with a short tail, special values (NaN, infinity,
    /// signed zeros, large terms that cancel) and 1, 2 and 3 threads.
    #[test]
    fn global_average_pool_matches_the_reference() {
        let specials = [f32::NAN, f32::INFINITY, -0.0, 0.0, 3.0e38, -3.0e38];
        for (planes, spatial) in [(3, 1), (2, 7), (4, 8), (5, 9), (40, 169), (1000, 49), (2, 3000)] {
            let x: Vec<f32> = (0..planes * spatial)
                .map(|i| match i % 37 {
                    5 if planes == 5 => specials[(i / 37) % specials.len()],
                    _ => ((i * 7919) % 1013) as f32 * 0.37 - 180.0,
                })
                .collect();
            let mut dims = vec![1, planes, spatial];
            if spatial == 169 {
                dims = vec![2, planes / 2, 13, 13];
            }
            let t = Tensor::from_vec(dims.clone(), x.clone()).unwrap();
            let op = Op::GlobalPool(PoolKind::Average {
                count_include_pad: false,
            });
            let want = crate::reference::eval_op(&op, &[Some(&t)]).unwrap();
            for threads in [1, 2, 3] {
                let mut out = vec![f32::NAN; planes];
                global_avg_pool_f32(threads, &x, planes, &mut out).unwrap();
                assert_eq!(
                    bits(&out),
                    bits(want[0].as_slice::<f32>().unwrap()),
                    "{planes} planes of {spatial}, {threads} threads"
                );
            }
        }
        let mut out = [0.0f32; 3];
        let e = global_avg_pool_f32(1, &[1.0; 10], 3, &mut out).unwrap_err();
        assert!(e.to_string().contains("not 3 equal planes"), "{e}");
        assert!(global_avg_pool_f32(0, &[1.0; 9], 3, &mut out).is_err());
    }

    /// Max pooling against the reference, bit for bit, with and without NaNs (whose
    /// first occurrence in a window wins) and with signed zeros (ties keep the first).
    #[test]
    fn max_pool_matches_the_reference_bits() {
        let (n, c, h, w) = (1, 3, 7, 9);
        let base: Vec<f32> = (0..n * c * h * w)
            .map(|i| match i % 11 {
                3 => 0.0,
                7 => -0.0,
                _ => ((i * 37 % 23) as f32 - 11.0) * 0.5,
            })
            .collect();
        let mut with_nan = base.clone();
        with_nan[10] = f32::NAN;
        with_nan[40] = f32::from_bits(0x7fc0_0001);
        with_nan[41] = f32::from_bits(0xffc0_0002);
        for x in [base, with_nan] {
            for (stride, pads) in [(1, [0, 0, 0, 0]), (2, [1, 1, 1, 1]), (2, [0, 2, 1, 0])] {
                let (want, win) = reference_pool(PoolKind::Max, [3, 2], stride, [1, 2], pads, true, &x, [n, c, h, w]);
                let mut out = vec![0.0f32; want.len()];
                max_pool2d_f32(2, &x, [n, c, h, w], &win, &mut out).unwrap();
                let got = bits(&out);
                assert_eq!(got, want, "stride {stride} pads {pads:?}");
            }
        }
    }

    /// The phase-plane max pool against the reference, bit for bit, on every available
    /// instruction set and 1 to 3 threads: strides 1, 2 and 3, odd and even widths,
    /// rows shorter than a vector and longer than four, pads, dilations, `ceil_mode`
    /// windows past the padding, and inputs with NaNs (of several payloads, in first
    /// and later taps), infinities and signed zeros.
    #[test]
    fn phase_max_pool_matches_the_reference_bits() {
        // (h, w, kernel, stride, dilations, pads [t, l, b, r], ceil_mode)
        type Case = ([usize; 2], [usize; 2], usize, [usize; 2], [usize; 4], bool);
        let cases: &[Case] = &[
            ([109, 109], [3, 3], 2, [1, 1], [0, 0, 0, 0], true),
            ([27, 27], [3, 3], 2, [1, 1], [0, 0, 0, 0], false),
            ([28, 28], [3, 3], 2, [1, 1], [1, 1, 1, 1], false),
            ([9, 10], [3, 3], 1, [1, 1], [1, 1, 1, 1], false),
            ([5, 6], [2, 2], 2, [1, 1], [0, 0, 0, 0], true),
            ([7, 7], [3, 3], 3, [1, 1], [1, 1, 1, 1], true),
            ([11, 40], [3, 2], 3, [2, 1], [1, 2, 0, 1], true),
            ([4, 3], [3, 3], 2, [1, 1], [1, 1, 1, 1], true),
            ([13, 71], [2, 3], 2, [2, 2], [1, 0, 0, 1], true),
            ([1, 1], [1, 1], 1, [1, 1], [0, 0, 0, 0], false),
            ([6, 33], [1, 4], 1, [1, 3], [0, 2, 0, 2], false),
        ];
        let special = [f32::INFINITY, f32::NEG_INFINITY, 0.0, -0.0, 0.0, -0.0];
        for (ci, &([h, w], kernel, stride, dil, pads, ceil_mode)) in cases.iter().enumerate() {
            let (n, c) = (1, 3);
            let base: Vec<f32> = (0..n * c * h * w)
                .map(|i| match i % 13 {
                    3 | 8 => special[(i / 13) % special.len()],
                    _ => ((i * 37 % 23) as f32 - 11.0) * 0.5,
                })
                .collect();
            let mut with_nan = base.clone();
            for (k, bits) in [0x7fc0_0001u32, 0xffc0_0002, 0x7fa0_0003, 0x7fc0_0000]
                .into_iter()
                .enumerate()
            {
                // The first element of a plane (a first tap), and others spread out.
                let at = [0, (h * w) / 2 + 1, h * w + w.min(3) - 1, 2 * h * w + (h * w * 2) / 3][k];
                if at < with_nan.len() {
                    with_nan[at] = f32::from_bits(bits);
                }
            }
            for x in [&base, &with_nan] {
                let (want, win) = reference_pool(PoolKind::Max, kernel, stride, dil, pads, ceil_mode, x, [n, c, h, w]);
                for isa in Isa::available() {
                    for threads in [1, 2, 3] {
                        let mut out = vec![0.0f32; want.len()];
                        max_pool_on(isa, threads, x, [n, c, h, w], &win, &mut out).unwrap();
                        assert_eq!(bits(&out), want, "case {ci} on {isa:?} t{threads}");
                    }
                }
            }
        }
    }

    /// Average pooling against the reference, bit for bit: with and without
    /// `count_include_pad`, padding, strides, dilations and `ceil_mode` windows that
    /// reach past the padding.
    #[test]
    fn avg_pool_matches_the_reference_bits() {
        let (n, c, h, w) = (2, 3, 7, 9);
        let x: Vec<f32> = (0..n * c * h * w)
            .map(|i| ((i * 37 % 23) as f32 - 11.0) * 0.37 + (i % 5) as f32 * 1e-3)
            .collect();
        for count_include_pad in [false, true] {
            for (kernel, stride, dil, pads, ceil_mode) in [
                ([3, 3], 1, [1, 1], [1, 1, 1, 1], false),
                ([3, 2], 2, [1, 2], [0, 2, 1, 0], true),
                ([2, 2], 2, [1, 1], [0, 0, 0, 0], true),
                ([5, 5], 3, [1, 1], [2, 2, 2, 2], true),
            ] {
                let kind = PoolKind::Average { count_include_pad };
                let (want, win) = reference_pool(kind, kernel, stride, dil, pads, ceil_mode, &x, [n, c, h, w]);
                for threads in [1, 2] {
                    let mut out = vec![0.0f32; want.len()];
                    avg_pool2d_f32(threads, &x, [n, c, h, w], &win, count_include_pad, &mut out).unwrap();
                    let got = bits(&out);
                    assert_eq!(
                        got, want,
                        "kernel {kernel:?} stride {stride} pads {pads:?} include {count_include_pad}"
                    );
                }
            }
        }
    }

    /// The phase-plane (and few-output) average pool against the reference, bit for bit,
    /// on every available instruction set and 1 to 3 threads, with and without
    /// `count_include_pad`: strides 1, 2 and 3, odd and even widths, rows shorter than a
    /// vector and longer than four, pads, dilations, `ceil_mode` windows past the padding,
    /// global pools, and inputs with NaNs (of several payloads, signalling ones and two in
    /// one window among them), infinities of both signs in one window, and signed zeros
    /// (windows whose only in-bounds values are -0.0 among them).
    #[test]
    fn phase_avg_pool_matches_the_reference_bits() {
        // (h, w, kernel, stride, dilations, pads [t, l, b, r], ceil_mode)
        type Case = ([usize; 2], [usize; 2], usize, [usize; 2], [usize; 4], bool);
        let cases: &[Case] = &[
            ([56, 56], [3, 3], 2, [1, 1], [1, 1, 1, 1], false),
            ([28, 28], [3, 3], 2, [1, 1], [1, 1, 1, 1], false),
            ([14, 14], [3, 3], 2, [1, 1], [1, 1, 1, 1], true),
            ([7, 7], [7, 7], 1, [1, 1], [0, 0, 0, 0], false),
            ([9, 9], [7, 7], 2, [1, 1], [1, 1, 1, 1], true),
            ([27, 27], [3, 3], 2, [1, 1], [0, 0, 0, 0], true),
            ([9, 10], [3, 3], 1, [1, 1], [1, 1, 1, 1], false),
            ([5, 6], [2, 2], 2, [1, 1], [0, 0, 0, 0], true),
            ([7, 7], [3, 3], 3, [1, 1], [1, 1, 1, 1], true),
            ([11, 40], [3, 2], 3, [2, 1], [1, 2, 0, 1], true),
            ([4, 3], [3, 3], 2, [1, 1], [1, 1, 1, 1], true),
            ([13, 71], [2, 3], 2, [2, 2], [1, 0, 0, 1], true),
            ([1, 1], [1, 1], 1, [1, 1], [0, 0, 0, 0], false),
            ([6, 33], [1, 4], 1, [1, 3], [0, 2, 0, 2], false),
            ([3, 5], [5, 5], 3, [1, 1], [2, 2, 2, 2], true),
        ];
        let special = [f32::INFINITY, f32::NEG_INFINITY, 0.0, -0.0, 0.0, -0.0];
        for (ci, &([h, w], kernel, stride, dil, pads, ceil_mode)) in cases.iter().enumerate() {
            // Enough planes for whole groups of the few-output path and a remainder.
            let (n, c) = (2, 9);
            let plane = h * w;
            let base: Vec<f32> = (0..n * c * plane)
                .map(|i| match i % 13 {
                    3 | 8 => special[(i / 13) % special.len()],
                    _ => ((i * 37 % 23) as f32 - 11.0) * 0.37 + (i % 5) as f32 * 1e-3,
                })
                .collect();
            let mut special_x = base.clone();
            for (k, bits) in [0x7fc0_0001u32, 0xffc0_0002, 0x7fa0_0003, 0x7fc0_0000, 0xff80_0005]
                .into_iter()
                .enumerate()
            {
                // The first element of a plane (a first tap), neighbours (two NaNs in
                // one window), and others spread out.
                let at = [0, 1, plane / 2 + 1, plane + w.min(3) - 1, 2 * plane + (plane * 2) / 3][k];
                if at < special_x.len() {
                    special_x[at] = f32::from_bits(bits);
                }
            }
            // Opposite infinities in one window of plane 3; plane 4 all -0.0.
            if plane >= 2 {
                special_x[3 * plane] = f32::INFINITY;
                special_x[3 * plane + 1] = f32::NEG_INFINITY;
            }
            special_x[4 * plane..5 * plane].fill(-0.0);
            for x in [&base, &special_x] {
                for count_include_pad in [false, true] {
                    let kind = PoolKind::Average { count_include_pad };
                    let (want, win) = reference_pool(kind, kernel, stride, dil, pads, ceil_mode, x, [n, c, h, w]);
                    for isa in Isa::available() {
                        for threads in [1, 2, 3] {
                            let mut out = vec![0.0f32; want.len()];
                            avg_pool_on(isa, threads, x, [n, c, h, w], &win, count_include_pad, &mut out).unwrap();
                            let got = bits(&out);
                            let first = got.iter().zip(&want).position(|(g, w)| g != w);
                            assert!(
                                first.is_none(),
                                "case {ci} include {count_include_pad} on {isa:?} t{threads}: output {first:?} \
                                 of {:?} is {:#x}, not {:#x}",
                                win.output,
                                got[first.unwrap()],
                                want[first.unwrap()]
                            );
                        }
                    }
                }
            }
        }
    }
}
