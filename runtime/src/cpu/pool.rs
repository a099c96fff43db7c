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
//! The vectors run across the output row; planes are split across threads.

use super::depthwise::inside;
use super::gemm::{expect_len, mul};
use super::threads::{self, SharedOut};
use super::CpuError;

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

/// Calls `f(cols, taps)` for each in-bounds row tap of output row `oy`, in the
/// reference's row-major order (`ky`, then `kx`): `cols` are the output columns whose tap
/// lands inside the input row, `taps` the input values they read, in column order.
#[inline(always)]
fn for_each_tap<'a>(
    win: &PoolWindow,
    plane: &'a [f32],
    [h, w]: [usize; 2],
    oy: usize,
    mut f: impl FnMut(std::ops::Range<usize>, std::iter::StepBy<std::slice::Iter<'a, f32>>),
) {
    let [kh, kw] = win.kernel;
    let [sh, sw] = win.strides;
    let [dh, dw] = win.dilations;
    let ow = win.output[1];
    for ky in 0..kh {
        let iy = (oy * sh + ky * dh) as isize - win.pad_begin[0] as isize;
        if iy < 0 || iy >= h as isize {
            continue;
        }
        let row = &plane[iy as usize * w..][..w];
        for kx in 0..kw {
            let off = kx * dw;
            let cols = inside(ow, sw, off, win.pad_begin[1], w);
            if cols.is_empty() {
                continue;
            }
            let first = cols.start * sw + off - win.pad_begin[1];
            f(cols, row[first..].iter().step_by(sw));
        }
    }
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
    let planes = check_pool("max pool", threads, x, dims, win, out)?;
    let [_, _, h, w] = dims;
    let [oh, ow] = win.output;
    if out.is_empty() {
        return Ok(());
    }
    let parts = threads::split(planes, threads.min(out.len().div_ceil(1 << 12)));
    let dst = SharedOut(out.as_mut_ptr());
    let mut rows = vec![Vec::<f32>::new(); parts.len()];
    threads::run_parts(&parts, &mut rows, |part, acc| {
        acc.resize(ow, 0.0);
        for plane in part {
            let xs = &x[plane * h * w..][..h * w];
            // Without NaNs the maximum is a plain `max` (ties keep the earlier tap, as the
            // reference does), which vectorizes; with one, every step checks for NaN.
            let has_nan = xs.iter().any(|v| v.is_nan());
            for oy in 0..oh {
                acc.fill(f32::NEG_INFINITY);
                for_each_tap(win, xs, [h, w], oy, |cols, taps| {
                    // A NaN maximum stays; a NaN tap or a greater one replaces it
                    // (written as selects, so the loop has no branches).
                    if has_nan {
                        for (m, &v) in acc[cols].iter_mut().zip(taps) {
                            let take = !m.is_nan() & (v.is_nan() | (v > *m));
                            *m = if take { v } else { *m };
                        }
                    } else {
                        for (m, &v) in acc[cols].iter_mut().zip(taps) {
                            *m = if v > *m { v } else { *m };
                        }
                    }
                });
                // SAFETY: the row lies inside `out`, in the plane only this thread writes.
                unsafe {
                    std::ptr::copy_nonoverlapping(acc.as_ptr(), dst.get().add((plane * oh + oy) * ow), ow);
                }
            }
        }
    });
    Ok(())
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
    let planes = check_pool("average pool", threads, x, dims, win, out)?;
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
    // The divisor of each output column and row, the same for every plane.
    let col_counts: Vec<usize> = (0..ow).map(|ox| taps_between(ox, sw, dw, kw, col_lo, col_hi)).collect();
    let row_counts: Vec<usize> = (0..oh).map(|oy| taps_between(oy, sh, dh, kh, row_lo, row_hi)).collect();
    let parts = threads::split(planes, threads.min(out.len().div_ceil(1 << 12)));
    let dst = SharedOut(out.as_mut_ptr());
    let mut rows = vec![Vec::<f32>::new(); parts.len()];
    threads::run_parts(&parts, &mut rows, |part, acc| {
        acc.resize(ow, 0.0);
        for plane in part {
            let xs = &x[plane * h * w..][..h * w];
            for (oy, &rows_in) in row_counts.iter().enumerate() {
                acc.fill(0.0);
                for_each_tap(win, xs, [h, w], oy, |cols, taps| {
                    for (a, &v) in acc[cols].iter_mut().zip(taps) {
                        *a += v;
                    }
                });
                for (a, &cc) in acc.iter_mut().zip(&col_counts) {
                    *a /= (rows_in * cc) as f32;
                }
                // SAFETY: the row lies inside `out`, in the plane only this thread writes.
                unsafe {
                    std::ptr::copy_nonoverlapping(acc.as_ptr(), dst.get().add((plane * oh + oy) * ow), ow);
                }
            }
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use lightos_ir::{Op, Padding, PoolAttrs, PoolKind, Tensor};

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
                let attrs = PoolAttrs {
                    kind: PoolKind::Max,
                    kernel: vec![3, 2],
                    strides: vec![stride, stride],
                    dilations: vec![1, 2],
                    padding: Padding::Explicit(pads.to_vec()),
                    ceil_mode: true,
                };
                let t = Tensor::from_vec(vec![n, c, h, w], x.clone()).unwrap();
                let want = crate::reference::eval_op(&Op::Pool(attrs), &[Some(&t)]).unwrap();
                let d = want[0].dims().to_vec();
                let win = PoolWindow {
                    kernel: [3, 2],
                    strides: [stride, stride],
                    dilations: [1, 2],
                    pad_begin: [pads[0], pads[1]],
                    pad_end: [pads[2], pads[3]],
                    output: [d[2], d[3]],
                };
                let mut out = vec![0.0f32; d.iter().product()];
                max_pool2d_f32(2, &x, [n, c, h, w], &win, &mut out).unwrap();
                let got: Vec<u32> = out.iter().map(|v| v.to_bits()).collect();
                let want: Vec<u32> = want[0].as_slice::<f32>().unwrap().iter().map(|v| v.to_bits()).collect();
                assert_eq!(got, want, "stride {stride} pads {pads:?}");
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
        let t = Tensor::from_vec(vec![n, c, h, w], x.clone()).unwrap();
        for count_include_pad in [false, true] {
            for (kernel, stride, dil, pads, ceil_mode) in [
                ([3, 3], 1, [1, 1], [1, 1, 1, 1], false),
                ([3, 2], 2, [1, 2], [0, 2, 1, 0], true),
                ([2, 2], 2, [1, 1], [0, 0, 0, 0], true),
                ([5, 5], 3, [1, 1], [2, 2, 2, 2], true),
            ] {
                let attrs = PoolAttrs {
                    kind: PoolKind::Average { count_include_pad },
                    kernel: kernel.to_vec(),
                    strides: vec![stride, stride],
                    dilations: dil.to_vec(),
                    padding: Padding::Explicit(pads.to_vec()),
                    ceil_mode,
                };
                let want = crate::reference::eval_op(&Op::Pool(attrs), &[Some(&t)]).unwrap();
                let d = want[0].dims().to_vec();
                let win = PoolWindow {
                    kernel,
                    strides: [stride, stride],
                    dilations: dil,
                    pad_begin: [pads[0], pads[1]],
                    pad_end: [pads[2], pads[3]],
                    output: [d[2], d[3]],
                };
                for threads in [1, 2] {
                    let mut out = vec![0.0f32; d.iter().product()];
                    avg_pool2d_f32(threads, &x, [n, c, h, w], &win, count_include_pad, &mut out).unwrap();
                    let got: Vec<u32> = out.iter().map(|v| v.to_bits()).collect();
                    let want: Vec<u32> = want[0].as_slice::<f32>().unwrap().iter().map(|v| v.to_bits()).collect();
                    assert_eq!(
                        got, want,
                        "kernel {kernel:?} stride {stride} pads {pads:?} include {count_include_pad}"
                    );
                }
            }
        }
    }
}
