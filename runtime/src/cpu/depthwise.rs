//! Depthwise convolution (one input and one output channel per group) computed directly,
//! row by row, instead of as GEMMs of one row each.
//!
//! Each output element accumulates its taps in the reference order (`ky`, then `kx`),
//! starting from `+0`, each step a rounded multiply and then a rounded add, and skips
//! taps that fall in the padding exactly as the reference does; then the epilogue (bias,
//! residual, activation) runs as in the GEMM path. So the result is bit-identical to the
//! reference in both modes. The vectors run across the output row (neighbouring output
//! positions), which keeps every element's own order.

use super::conv::ConvView;
use super::isa::Isa;
use super::kernel::{epilogue_vec, fetch, put};
use super::simd::{Scalar, Simd};
use super::threads::{self, SharedOut};

/// The output columns `ox` whose tap at kernel column offset `off` (`kx * dilation`)
/// lands inside a row of `width`: `0 <= ox * stride + off - pad < width`.
pub(crate) fn inside(ow: usize, stride: usize, off: usize, pad: usize, width: usize) -> std::ops::Range<usize> {
    // ox * stride >= pad - off
    let lo = pad.saturating_sub(off).div_ceil(stride);
    // ox * stride + off - pad <= width - 1
    let hi = if width + pad > off {
        ((width - 1 + pad - off) / stride + 1).min(ow)
    } else {
        0
    };
    lo.min(hi)..hi
}

/// Runs the depthwise convolution `cv` (whose groups have one input and one output
/// channel each) on `threads` threads, with the code compiled for `isa`.
pub(crate) fn depthwise(cv: &ConvView, isa: Isa, threads: usize, x: &[f32], w: &[f32], out: &mut [f32]) {
    let p = cv.p;
    let planes = p.batch * p.groups;
    let parts = threads::split(planes, threads.min(planes.max(1)));
    let mut rows = vec![Vec::<f32>::new(); parts.len()];
    let dst = SharedOut(out.as_mut_ptr());
    threads::run_parts(&parts, &mut rows, |part, acc| {
        acc.resize(cv.geo.ow, 0.0);
        // SAFETY: `isa` was checked available by the caller; each part writes only its
        // own planes of `out`.
        unsafe { planes_for(isa, cv, part, x, w, dst, acc) }
    });
}

/// [`planes`] with the widest vectors `isa` allows: the same operations in the same
/// order, so the bits do not depend on it.
///
/// # Safety
///
/// As [`planes`]; `isa` must be available.
unsafe fn planes_for(
    isa: Isa,
    cv: &ConvView,
    part: std::ops::Range<usize>,
    x: &[f32],
    w: &[f32],
    dst: SharedOut,
    acc: &mut [f32],
) {
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    if matches!(isa, Isa::Avx2 | Isa::Avx512) {
        return planes_avx2(cv, part, x, w, dst, acc);
    }
    let _ = isa;
    planes::<Scalar>(cv, part, x, w, dst, acc)
}

#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
#[target_feature(enable = "avx2")]
unsafe fn planes_avx2(
    cv: &ConvView,
    part: std::ops::Range<usize>,
    x: &[f32],
    w: &[f32],
    dst: SharedOut,
    acc: &mut [f32],
) {
    planes::<super::simd::Avx2>(cv, part, x, w, dst, acc)
}

/// Computes the output planes `part` (image-major, then group) into `dst`, a row at a
/// time in `acc`, with the epilogue on vectors of `S` (lane by lane the same operations).
///
/// # Safety
///
/// `dst` must point at the whole output, and no other thread may write these planes.
#[inline(always)]
unsafe fn planes<S: Simd>(
    cv: &ConvView,
    part: std::ops::Range<usize>,
    x: &[f32],
    w: &[f32],
    dst: SharedOut,
    acc: &mut [f32],
) {
    let (p, geo) = (cv.p, &cv.geo);
    let (kh, kw) = (p.kernel[0], p.kernel[1]);
    let [sh, sw] = p.strides;
    let [dh, dw] = p.dilations;
    // Each kernel column's in-bounds output columns and first input column: the same
    // for every row and plane.
    let columns: Vec<(std::ops::Range<usize>, usize)> = (0..kw)
        .map(|kx| {
            let off = kx * dw;
            let cols = inside(geo.ow, sw, off, geo.pad_left, p.in_w);
            let first = if cols.is_empty() {
                0
            } else {
                cols.start * sw + off - geo.pad_left
            };
            (cols, first)
        })
        .collect();
    for plane in part {
        let (n, g) = (plane / p.groups, plane % p.groups);
        let e = cv.epilogue(n, g);
        let xs = &x[plane * cv.hw..][..cv.hw];
        let ws = &w[g * kh * kw..][..kh * kw];
        for oy in 0..geo.oh {
            acc.fill(0.0);
            for ky in 0..kh {
                let iy = (oy * sh + ky * dh) as isize - geo.pad_top as isize;
                if iy < 0 || iy >= p.in_h as isize {
                    continue;
                }
                let row = &xs[iy as usize * p.in_w..][..p.in_w];
                for (kx, (cols, first)) in columns.iter().enumerate() {
                    if cols.is_empty() {
                        continue;
                    }
                    let (wv, first) = (ws[ky * kw + kx], *first);
                    let out = &mut acc[cols.clone()];
                    if sw == 1 {
                        for (a, &xv) in out.iter_mut().zip(&row[first..first + cols.len()]) {
                            *a += xv * wv;
                        }
                    } else {
                        for (i, a) in out.iter_mut().enumerate() {
                            *a += row[first + i * sw] * wv;
                        }
                    }
                }
            }
            let base = plane * cv.ohw + oy * geo.ow;
            let mut ox = 0;
            while ox < geo.ow {
                let n = S::LANES.min(geo.ow - ox);
                // The epilogue was made for this image and group, and `(0, oy * ow + ox)`
                // lies inside it; `base + ox .. + n` lies inside `out`, in a plane only
                // this thread writes.
                let v = fetch::<S>(acc.as_ptr().add(ox), 1, n);
                let v = epilogue_vec::<S>(&e, v, 0, oy * geo.ow + ox, n);
                put::<S>(dst.get().add(base + ox), n, v);
                ox += n;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::inside;

    #[test]
    fn inside_columns_are_exactly_the_in_bounds_taps() {
        for (ow, stride, off, pad, width) in [(5, 1, 0, 1, 5), (3, 2, 2, 1, 5), (4, 1, 4, 2, 4), (2, 3, 0, 0, 6)] {
            let want: Vec<usize> = (0..ow)
                .filter(|&ox| {
                    let ix = (ox * stride + off) as isize - pad as isize;
                    ix >= 0 && ix < width as isize
                })
                .collect();
            let got: Vec<usize> = inside(ow, stride, off, pad, width).collect();
            assert_eq!(got, want, "{ow} {stride} {off} {pad} {width}");
        }
    }
}
