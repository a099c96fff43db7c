//! Depthwise convolution (one input and one output channel per group) computed directly,
//! row by row, instead of as GEMMs of one row each.
//!
//! Each output element accumulates its taps in the reference order (`ky`, then `kx`),
//! starting from `+0`, each step a rounded multiply and then a rounded add, and skips
//! taps that fall in the padding exactly as the reference does; then the epilogue (bias,
//! residual, activation) runs as in the GEMM path. So the result is bit-identical to the
//! reference in both modes. The vectors run across the output row (neighbouring output
//! positions), which keeps every element's own order.

use super::conv::{ConvView, SendPtr};
use super::kernel::epilogue_vec;
use super::simd::Scalar;
use super::threads;

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
/// channel each) on `threads` threads.
pub(crate) fn depthwise(cv: &ConvView, threads: usize, x: &[f32], w: &[f32], out: &mut [f32]) {
    let (p, geo) = (cv.p, &cv.geo);
    let (kh, kw) = (p.kernel[0], p.kernel[1]);
    let [sh, sw] = p.strides;
    let [dh, dw] = p.dilations;
    let planes = p.batch * p.groups;
    let parts = threads::split(planes, threads.min(planes.max(1)));
    let mut rows = vec![Vec::<f32>::new(); parts.len()];
    let dst = SendPtr(out.as_mut_ptr());
    threads::run_parts(&parts, &mut rows, |part, acc| {
        acc.resize(geo.ow, 0.0);
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
                    for kx in 0..kw {
                        let wv = ws[ky * kw + kx];
                        let off = kx * dw;
                        let cols = inside(geo.ow, sw, off, geo.pad_left, p.in_w);
                        if cols.is_empty() {
                            continue;
                        }
                        let first = cols.start * sw + off - geo.pad_left;
                        if sw == 1 {
                            let src = &row[first..first + cols.len()];
                            for (a, &xv) in acc[cols].iter_mut().zip(src) {
                                *a += xv * wv;
                            }
                        } else {
                            for (i, a) in acc[cols].iter_mut().enumerate() {
                                *a += row[first + i * sw] * wv;
                            }
                        }
                    }
                }
                let base = plane * cv.ohw + oy * geo.ow;
                for (ox, &a) in acc.iter().enumerate() {
                    // SAFETY: the epilogue was made for this image and group, and
                    // `(0, oy * ow + ox)` lies inside it; `base + ox` lies inside `out`,
                    // in the plane only this thread writes.
                    unsafe {
                        let v = epilogue_vec::<Scalar>(&e, a, 0, oy * geo.ow + ox, 1);
                        *dst.get().add(base + ox) = v;
                    }
                }
            }
        }
    });
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
