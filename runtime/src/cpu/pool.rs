//! 2-d max pooling, row by row.
//!
//! Each output is the reference's maximum: its window's in-bounds taps in row-major
//! order from negative infinity, a tap replacing the maximum when it is greater, and the
//! first NaN met winning outright; padding and positions past the input never take part.
//! Being a selection, not arithmetic, it is exact in both modes. The vectors run across
//! the output row; planes are split across threads.

use super::conv::SendPtr;
use super::depthwise::inside;
use super::gemm::{expect_len, mul};
use super::threads;
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
    /// Output `[height, width]`.
    pub output: [usize; 2],
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
    let [n, c, h, w] = dims;
    let [oh, ow] = win.output;
    if threads == 0 || win.strides.contains(&0) || win.dilations.contains(&0) {
        return Err(CpuError::Invalid(
            "max pool needs threads, strides and dilations of at least 1".into(),
        ));
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
    if out.is_empty() {
        return Ok(());
    }
    let [kh, kw] = win.kernel;
    let [sh, sw] = win.strides;
    let [dh, dw] = win.dilations;
    let parts = threads::split(planes, threads.min(out.len().div_ceil(1 << 12)));
    let dst = SendPtr(out.as_mut_ptr());
    let mut rows = vec![Vec::<f32>::new(); parts.len()];
    threads::run_parts(&parts, &mut rows, |part, acc| {
        acc.resize(ow, 0.0);
        for plane in part {
            let xs = &x[plane * h * w..][..h * w];
            for oy in 0..oh {
                acc.fill(f32::NEG_INFINITY);
                for ky in 0..kh {
                    let iy = (oy * sh + ky * dh) as isize - win.pad_begin[0] as isize;
                    if iy < 0 || iy >= h as isize {
                        continue;
                    }
                    let row = &xs[iy as usize * w..][..w];
                    for kx in 0..kw {
                        let off = kx * dw;
                        let cols = inside(ow, sw, off, win.pad_begin[1], w);
                        if cols.is_empty() {
                            continue;
                        }
                        let first = cols.start * sw + off - win.pad_begin[1];
                        // A NaN maximum stays; a NaN tap or a greater one replaces it
                        // (written as selects, so the loop has no branches).
                        let step = |m: &mut f32, v: f32| {
                            let take = !m.is_nan() & (v.is_nan() | (v > *m));
                            *m = if take { v } else { *m };
                        };
                        if sw == 1 {
                            for (m, &v) in acc[cols.clone()].iter_mut().zip(&row[first..first + cols.len()]) {
                                step(m, v);
                            }
                        } else {
                            for (i, m) in acc[cols].iter_mut().enumerate() {
                                step(m, row[first + i * sw]);
                            }
                        }
                    }
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
