//! Depthwise convolution (one input and one output channel per group) computed directly,
//! plane by plane on zero-padded phase planes (see `phase.rs`), instead of as GEMMs of
//! one row each.
//!
//! Each output element accumulates its taps in the reference order (`ky`, then `kx`),
//! starting from `+0`, each step a rounded multiply and then a rounded add; taps that
//! fall in the padding take no part, as in the reference (with finite weights they add a
//! zero, which changes no bit: see `planes`); then the epilogue (bias,
//! residual, activation) runs as in the GEMM path. So the result is bit-identical to the
//! reference in both modes. The vectors run across neighbouring output positions, which
//! keeps every element's own order.

use super::conv::ConvView;
use super::isa::Isa;
use super::kernel::{epilogue_tile, epilogue_vec, fetch, put, EpiRaw};
use super::phase::{PhaseOps, Phases};
use super::simd::simd_dispatch;
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
    let parts = threads::split(planes, threads * threads::BALANCE);
    let mut bufs = vec![(Vec::<f32>::new(), Vec::<f32>::new()); threads.min(parts.len())];
    let dst = SharedOut(out.as_mut_ptr());
    threads::run_balanced(&parts, &mut bufs, |part, buf| {
        // SAFETY: `isa` was checked available by the caller; each part writes only its
        // own planes of `out`.
        unsafe { planes_for(isa, cv, part, x, w, dst, buf) }
    });
}

simd_dispatch! {
    /// [`planes`] with the widest vectors `isa` allows: the same operations in the same
    /// order, so the bits do not depend on it.
    ///
    /// # Safety
    ///
    /// As [`planes`]; `isa` must be available.
    unsafe fn planes_for(
        cv: &ConvView,
        part: std::ops::Range<usize>,
        x: &[f32],
        w: &[f32],
        dst: SharedOut,
        buf: &mut (Vec<f32>, Vec<f32>),
    ) => planes
}

/// Computes the output planes `part` (image-major, then group) into `dst`: each plane's
/// sums, then the epilogue over the plane on vectors of `S` (lane by lane the same
/// operations).
///
/// With finite weights the plane is split into its phases padded with zeros (see
/// `phase.rs`) and every tap is one contiguous run across the plane's flat output, the
/// sums kept in registers from the first tap to the last. A padding tap then adds
/// `0 * w`, a zero, to its sum, which leaves every sum's bits as they were: a sum starts
/// at `+0` and can never become `-0` (a rounded add gives `-0` only from two `-0`s), and
/// adding a zero to `+0` gives `+0`, to anything else that thing itself (a NaN keeps
/// its payload). A non-finite weight would make `0 * w` a NaN, so such planes skip their
/// out-of-bounds taps instead ([`plane_direct`]).
///
/// # Safety
///
/// `dst` must point at the whole output, and no other thread may write these planes.
#[inline(always)]
unsafe fn planes<S: PhaseOps>(
    cv: &ConvView,
    part: std::ops::Range<usize>,
    x: &[f32],
    w: &[f32],
    dst: SharedOut,
    buf: &mut (Vec<f32>, Vec<f32>),
) {
    let (p, geo) = (cv.p, &cv.geo);
    let (kh, kw) = (p.kernel[0], p.kernel[1]);
    let ph = Phases::new(
        [p.in_h, p.in_w],
        [geo.pad_top, geo.pad_left],
        p.kernel,
        p.strides,
        p.dilations,
        [geo.oh, geo.ow],
        S::LANES,
    );
    let (phases, res) = buf;
    ph.prepare(0.0, S::LANES, phases, res);
    let mut wv: Vec<S::V> = Vec::with_capacity(kh * kw);
    let mut acc = Vec::new();
    for plane in part {
        let (n, g) = (plane / p.groups, plane % p.groups);
        let xs = &x[plane * cv.hw..][..cv.hw];
        let ws = &w[g * kh * kw..][..kh * kw];
        let out = dst.get().add(plane * cv.ohw);
        let e = cv.epilogue(n, g);
        if ws.iter().all(|v| v.is_finite()) {
            ph.load::<S>(xs, phases);
            wv.clear();
            wv.extend(ws.iter().map(|&v| S::splat(v)));
            // An epilogue that depends on the row (channel) only runs on the sums before
            // they are compacted: the same operations on the same values.
            let per_row = e.is_per_row().then_some(&e);
            sum_runs::<S>(&ph.offsets, &wv, phases, &mut res[..ph.span], per_row);
            // The plane lies inside `out`, and only this thread writes it.
            ph.compact::<S>(res, out);
            if per_row.is_some() {
                continue;
            }
        } else {
            plane_direct(cv, xs, ws, &mut acc, out);
        }
        // The epilogue was made for this image and group, and every `(0, j)` with
        // `j < ohw` lies inside it; the plane lies inside `out`.
        let (l, mut j) = (S::LANES, 0);
        while j + l <= cv.ohw {
            S::store(out.add(j), epilogue_vec::<S>(&e, S::load(out.add(j)), 0, j, l));
            j += l;
        }
        if j < cv.ohw {
            let n = cv.ohw - j;
            let v = fetch::<S>(out.add(j), 1, n);
            put::<S>(out.add(j), n, epilogue_vec::<S>(&e, v, 0, j, n));
        }
    }
}

/// `res[q] = sum over taps t of phases[offsets[t] + q] * w[t]` for the whole of `res` (a
/// multiple of `S::LANES` long): from `+0`, in tap order, each a rounded multiply and
/// then a rounded add; then, if given, the per-row epilogue `e` of row 0.
#[inline(always)]
unsafe fn sum_runs<S: PhaseOps>(offsets: &[usize], w: &[S::V], phases: &[f32], res: &mut [f32], e: Option<&EpiRaw>) {
    let l = S::LANES;
    let span = res.len();
    debug_assert!(span.is_multiple_of(l) && offsets.len() == w.len());
    debug_assert!(offsets.iter().all(|&o| o + span <= phases.len()));
    let (src, out) = (phases.as_ptr(), res.as_mut_ptr());
    let mut q = 0;
    while q + 4 * l <= span {
        let mut a = [S::zero(); 4];
        for (&o, &wt) in offsets.iter().zip(w) {
            let p = src.add(o + q);
            for (i, ai) in a.iter_mut().enumerate() {
                *ai = S::add(*ai, S::mul(S::load(p.add(i * l)), wt));
            }
        }
        if let Some(e) = e {
            [a] = epilogue_tile::<S, 1, 4>(e, [a], 0, 1, 0, &[l; 4]);
        }
        for (i, &ai) in a.iter().enumerate() {
            S::store(out.add(q + i * l), ai);
        }
        q += 4 * l;
    }
    while q < span {
        let mut a = S::zero();
        for (&o, &wt) in offsets.iter().zip(w) {
            a = S::add(a, S::mul(S::load(src.add(o + q)), wt));
        }
        if let Some(e) = e {
            a = epilogue_vec::<S>(e, a, 0, 0, l);
        }
        S::store(out.add(q), a);
        q += l;
    }
}

/// One plane's sums into `out` (`oh x ow`), row by row in `acc`, skipping the taps that
/// fall outside the input: for weights that are not all finite.
///
/// # Safety
///
/// `out` must be valid for the plane's `oh * ow` writes.
unsafe fn plane_direct(cv: &ConvView, xs: &[f32], ws: &[f32], acc: &mut Vec<f32>, out: *mut f32) {
    let (p, geo) = (cv.p, &cv.geo);
    let (kh, kw) = (p.kernel[0], p.kernel[1]);
    let [sh, sw] = p.strides;
    let [dh, dw] = p.dilations;
    acc.resize(geo.ow, 0.0);
    for oy in 0..geo.oh {
        acc.fill(0.0);
        for ky in 0..kh {
            let iy = (oy * sh + ky * dh) as isize - geo.pad_top as isize;
            if iy < 0 || iy >= p.in_h as isize {
                continue;
            }
            let row = &xs[iy as usize * p.in_w..][..p.in_w];
            for kx in 0..kw {
                let off = kx * dw;
                let cols = inside(geo.ow, sw, off, geo.pad_left, p.in_w);
                if cols.is_empty() {
                    continue;
                }
                let (wv, first) = (ws[ky * kw + kx], cols.start * sw + off - geo.pad_left);
                for (i, a) in acc[cols].iter_mut().enumerate() {
                    *a += row[first + i * sw] * wv;
                }
            }
        }
        std::ptr::copy_nonoverlapping(acc.as_ptr(), out.add(oy * geo.ow), geo.ow);
    }
}

#[cfg(test)]
mod tests {
    use super::super::{conv2d_fused_f32, Activation, Conv2dParams, ConvFusion, Isa, Mode};
    use super::inside;
    use lightos_ir::op::{ConvAttrs, Padding};
    use lightos_ir::{Op, Tensor};

    /// The depthwise kernel against the reference convolution, bit for bit, on every
    /// available instruction set and 1 to 3 threads: strides 1, 2 and 3, odd and even
    /// widths, planes narrower than a vector, pads, dilations; inputs with NaNs,
    /// infinities and signed zeros (so padding taps would show as `-0` or NaN if they
    /// took part), weights with zeros of both signs, and planes whose weights are not
    /// finite (the tap-skipping path); with a bias and a ReLU, with a residual too, or none.
    #[test]
    fn depthwise_matches_the_reference_bits() {
        // (channels, [h, w], kernel, strides, dilations, pads [t, l, b, r])
        type Case = (usize, [usize; 2], [usize; 2], [usize; 2], [usize; 2], [usize; 4]);
        let cases: &[Case] = &[
            (4, [28, 28], [3, 3], [1, 1], [1, 1], [1, 1, 1, 1]),
            (4, [28, 28], [3, 3], [2, 2], [1, 1], [1, 1, 1, 1]),
            (5, [7, 7], [3, 3], [1, 1], [1, 1], [1, 1, 1, 1]),
            (5, [14, 14], [3, 3], [2, 2], [1, 1], [1, 1, 1, 1]),
            (3, [7, 7], [3, 3], [2, 2], [1, 1], [1, 1, 1, 1]),
            (3, [9, 13], [3, 3], [3, 3], [1, 1], [1, 1, 1, 1]),
            (3, [8, 11], [5, 3], [2, 1], [1, 2], [2, 0, 1, 3]),
            (2, [3, 4], [3, 3], [1, 2], [2, 1], [2, 2, 2, 2]),
            (2, [1, 1], [3, 3], [1, 1], [1, 1], [1, 1, 1, 1]),
            (2, [6, 45], [1, 3], [1, 3], [1, 2], [0, 4, 0, 1]),
            (3, [10, 10], [3, 3], [1, 1], [1, 1], [0, 0, 0, 0]),
        ];
        let special = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -0.0, 0.0];
        let mut seed = 7u32;
        let mut next = move || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (seed >> 8) as f32 / (1u32 << 23) as f32 - 1.0
        };
        for (ci, &(ch, [h, w], kernel, strides, dilations, pads)) in cases.iter().enumerate() {
            let batch = 2;
            let x: Vec<f32> = (0..batch * ch * h * w)
                .map(|i| {
                    if i % 17 == 5 {
                        special[(i / 17) % special.len()]
                    } else {
                        next()
                    }
                })
                .collect();
            let mut wt: Vec<f32> = (0..ch * kernel[0] * kernel[1]).map(|_| next()).collect();
            wt[0] = -0.0;
            wt[1] = 0.0;
            // The last channel's weights are not finite.
            let k = kernel[0] * kernel[1];
            wt[(ch - 1) * k + k / 2] = f32::INFINITY;
            let bias: Vec<f32> = (0..ch).map(|_| next()).collect();
            let p = Conv2dParams {
                batch,
                in_channels: ch,
                in_h: h,
                in_w: w,
                out_channels: ch,
                kernel,
                strides,
                dilations,
                padding: Padding::Explicit(pads.to_vec()),
                groups: ch,
            };
            let attrs = ConvAttrs {
                kernel: kernel.to_vec(),
                strides: strides.to_vec(),
                dilations: dilations.to_vec(),
                padding: Padding::Explicit(pads.to_vec()),
                group: ch,
            };
            let xt = Tensor::from_vec(vec![batch, ch, h, w], x.clone()).unwrap();
            let wtt = Tensor::from_vec(vec![ch, 1, kernel[0], kernel[1]], wt.clone()).unwrap();
            let bt = Tensor::from_vec(vec![ch], bias.clone()).unwrap();
            // Neither; a bias and a ReLU (which run on the sums before they are compacted);
            // a bias, a residual and a ReLU (which run on the output plane).
            for (with_bias, with_residual) in [(false, false), (true, false), (true, true)] {
                let args = [Some(&xt), Some(&wtt), with_bias.then_some(&bt)];
                let conv = crate::reference::eval_op(&Op::Conv(attrs.clone()), &args).unwrap();
                let residual: Vec<f32> = (0..conv[0].len()).map(|_| next()).collect();
                let mut want = conv[0].clone();
                if with_residual {
                    let r = Tensor::from_vec(want.dims().to_vec(), residual.clone()).unwrap();
                    let add = Op::Binary(lightos_ir::op::BinaryOp::Add);
                    want = crate::reference::eval_op(&add, &[Some(&want), Some(&r)])
                        .unwrap()
                        .remove(0);
                }
                if with_bias {
                    let relu = Op::Unary(lightos_ir::op::UnaryOp::Relu);
                    want = crate::reference::eval_op(&relu, &[Some(&want)]).unwrap().remove(0);
                }
                let want: Vec<f32> = want.as_slice::<f32>().unwrap().to_vec();
                let fusion = ConvFusion {
                    activation: if with_bias { Activation::Relu } else { Activation::None },
                    residual: with_residual.then_some(&residual[..]),
                    ..ConvFusion::default()
                };
                let b = with_bias.then_some(&bias[..]);
                for isa in Isa::available() {
                    for threads in [1, 2, 3] {
                        let mut out = vec![f32::NAN; want.len()];
                        conv2d_fused_f32(isa, Mode::Strict, threads, &p, &x, &wt, b, &fusion, &mut out).unwrap();
                        for (i, (g, e)) in out.iter().zip(&want).enumerate() {
                            assert_eq!(
                                g.to_bits(),
                                e.to_bits(),
                                "case {ci} bias {with_bias} residual {with_residual} on {isa:?} t{threads}: element {i}"
                            );
                        }
                    }
                }
            }
        }
    }

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
