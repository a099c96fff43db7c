//! Phase planes: a padded input plane split by the strides, so that every window tap
//! of a strided 2-d kernel reads one contiguous run.
//!
//! Phase `(py, px)` of a plane padded with a fill value holds the padded elements
//! `[i * sh + py][j * sw + px]` at `[i][j]`, in a plane of `hq x wq`. Output `(oy, ox)`'s
//! tap `(ky, kx)` reads padded `[oy * sh + ky * dh][ox * sw + kx * dw]`, which is phase
//! `((ky * dh) % sh, (kx * dw) % sw)` at `[oy + ky * dh / sh][ox + kx * dw / sw]`: with the
//! output laid out on rows of `wq` (flat position `oy * wq + ox`) each tap is one fixed
//! offset from the flat position, so a kernel walks the whole plane as one run of vectors
//! for every tap in turn. The columns from `ow` to `wq` of each such row are scratch
//! (computed from whatever lies there, then dropped by [`Phases::compact`]).
//!
//! The pool and depthwise kernels fill the padding with a value that cannot change their
//! result (negative infinity for a maximum, zero for a sum of products with finite
//! weights), so each output still sees exactly its in-bounds taps, in the same order.

use super::simd::{Scalar, Simd};

/// The phase layout of one plane for one window geometry, and each tap's offset in it.
#[derive(Clone, Debug)]
pub(crate) struct Phases {
    /// Input `[height, width]`.
    in_hw: [usize; 2],
    /// Leading pads `[top, left]`.
    pad: [usize; 2],
    /// Strides `[sh, sw]`.
    strides: [usize; 2],
    /// Output `[oh, ow]`.
    out: [usize; 2],
    /// Width of a phase plane's rows (and of the flat output's rows).
    pub(crate) wq: usize,
    /// Elements in one phase plane (`hq * wq`).
    area: usize,
    /// Each tap's offset (row-major `ky`, then `kx`) from the flat output position to the
    /// element it reads in the phase buffer.
    pub(crate) offsets: Vec<usize>,
    /// Flat output positions computed per plane: `(oh - 1) * wq + ow`, rounded up to a
    /// whole number of vectors.
    pub(crate) span: usize,
    /// Length of the phase buffer: every tap's read over the whole span lies inside.
    pub(crate) len: usize,
}

impl Phases {
    /// The layout for an input of `in_hw`, leading pads `pad`, window `kernel`,
    /// `strides` and `dilations`, and an output of `out` (both sides non-zero), with the
    /// span rounded up to a multiple of `lanes`.
    pub(crate) fn new(
        in_hw: [usize; 2],
        pad: [usize; 2],
        kernel: [usize; 2],
        strides: [usize; 2],
        dilations: [usize; 2],
        out: [usize; 2],
        lanes: usize,
    ) -> Phases {
        debug_assert!(out[0] > 0 && out[1] > 0 && strides.iter().all(|&s| s > 0));
        // The padded extent each axis needs: the input, and the reach of the last window.
        let extent = |a: usize| {
            (pad[a] + in_hw[a])
                .max((out[a] - 1) * strides[a] + (kernel[a].max(1) - 1) * dilations[a] + 1)
                .div_ceil(strides[a])
        };
        let (hq, wq) = (extent(0), extent(1));
        let area = hq * wq;
        let [sh, sw] = strides;
        let mut offsets = Vec::with_capacity(kernel[0] * kernel[1]);
        for ky in 0..kernel[0] {
            let r = ky * dilations[0];
            for kx in 0..kernel[1] {
                let c = kx * dilations[1];
                offsets.push(((r % sh) * sw + c % sw) * area + (r / sh) * wq + c / sw);
            }
        }
        let span = ((out[0] - 1) * wq + out[1]).next_multiple_of(lanes.max(1));
        let len = (sh * sw * area).max(offsets.iter().max().copied().unwrap_or(0) + span);
        Phases {
            in_hw,
            pad,
            strides,
            out,
            wq,
            area,
            offsets,
            span,
            len,
        }
    }

    /// Sizes `buf` for the phases and `res` for the flat output (with a vector's slack
    /// for [`Phases::compact`]), and fills the phases with `fill`: the padding, which
    /// [`Phases::load`] never writes, so it stays for every plane of this layout.
    pub(crate) fn prepare(&self, fill: f32, lanes: usize, buf: &mut Vec<f32>, res: &mut Vec<f32>) {
        buf.clear();
        buf.resize(self.len, fill);
        res.clear();
        res.resize(self.span + lanes, 0.0);
    }

    /// Writes the plane `x` (`h * w`) into its places in the phases `buf` (made by
    /// [`Phases::prepare`]).
    #[inline(always)]
    pub(crate) fn load<S: PhaseOps>(&self, x: &[f32], buf: &mut [f32]) {
        let [h, w] = self.in_hw;
        let [pt, pl] = self.pad;
        let [sh, sw] = self.strides;
        let (wq, area) = (self.wq, self.area);
        let buf = &mut buf[..self.len];
        assert_eq!(x.len(), h * w);
        if w == 0 {
            return;
        }
        // The padded row `r + pt` is row `i` of row phase `py`.
        let (mut py, mut i) = (pt % sh, pt / sh);
        for row in x.chunks_exact(w) {
            let base = py * sw * area + i * wq;
            match sw {
                1 => {
                    let dst = &mut buf[base + pl..][..w];
                    // SAFETY: both runs are `w` long.
                    unsafe { copy_run::<S>(row.as_ptr(), dst.as_mut_ptr(), w) };
                }
                2 => {
                    // Even input columns land in phase `pl % 2`, odd ones in the other.
                    let (even, odd) = (
                        base + (pl % 2) * area + pl / 2,
                        base + ((pl + 1) % 2) * area + pl.div_ceil(2),
                    );
                    let pairs = w / 2;
                    assert!(even + w.div_ceil(2) <= buf.len() && odd + pairs <= buf.len());
                    // SAFETY: `row` holds `2 * pairs` elements, and both runs lie inside
                    // `buf` (checked above); they do not overlap (different phases).
                    unsafe {
                        S::split2(
                            row.as_ptr(),
                            pairs,
                            buf.as_mut_ptr().add(even),
                            buf.as_mut_ptr().add(odd),
                        );
                    }
                    if w % 2 == 1 {
                        buf[even + pairs] = row[w - 1];
                    }
                }
                _ => {
                    let (mut px, mut j) = (pl % sw, pl / sw);
                    for &v in row {
                        buf[base + px * area + j] = v;
                        px += 1;
                        if px == sw {
                            (px, j) = (0, j + 1);
                        }
                    }
                }
            }
            py += 1;
            if py == sh {
                (py, i) = (0, i + 1);
            }
        }
    }

    /// Copies the flat output `res` (rows of `wq`, made by [`Phases::prepare`]) to
    /// `out`, `oh x ow`, dropping the scratch columns.
    ///
    /// # Safety
    ///
    /// `out` must be valid for `oh * ow` writes, and nothing else may use them meanwhile.
    #[inline(always)]
    pub(crate) unsafe fn compact<S: Simd>(&self, res: &[f32], out: *mut f32) {
        let [oh, ow] = self.out;
        let (l, wq) = (S::LANES, self.wq);
        let whole = ow.next_multiple_of(l);
        assert!(res.len() >= (oh - 1) * wq + whole);
        for oy in 0..oh {
            let (src, dst) = (res.as_ptr().add(oy * wq), out.add(oy * ow));
            if (oy + 1) * ow + (whole - ow) <= oh * ow {
                // Whole vectors: what spills past the row lands in later rows of the
                // plane, which are written after this one.
                for k in (0..whole).step_by(l) {
                    S::store(dst.add(k), S::load(src.add(k)));
                }
            } else {
                copy_run::<S>(src, dst, ow);
            }
        }
    }
}

/// Copies `n` elements from `src` to `dst` (not overlapping) on vectors of `S`.
///
/// # Safety
///
/// Both must be valid for `n` elements.
#[inline(always)]
unsafe fn copy_run<S: Simd>(src: *const f32, dst: *mut f32, n: usize) {
    let l = S::LANES;
    if n < l {
        for k in 0..n {
            *dst.add(k) = *src.add(k);
        }
        return;
    }
    let mut k = 0;
    while k + l < n {
        S::store(dst.add(k), S::load(src.add(k)));
        k += l;
    }
    // The last vector ends at `n` (overlapping the one before it).
    S::store(dst.add(n - l), S::load(src.add(n - l)));
}

/// The vector operations the phase kernels need beyond [`Simd`].
pub(crate) trait PhaseOps: Simd {
    /// Splits `2 * pairs` elements at `src` into `even[k] = src[2k]` and
    /// `odd[k] = src[2k + 1]`.
    ///
    /// # Safety
    ///
    /// The pointers must be valid for those elements, the outputs must not overlap.
    #[inline(always)]
    unsafe fn split2(src: *const f32, pairs: usize, even: *mut f32, odd: *mut f32) {
        for k in 0..pairs {
            *even.add(k) = *src.add(2 * k);
            *odd.add(k) = *src.add(2 * k + 1);
        }
    }

    /// `v` if `v > m`, else `m`: the running maximum `m` after tap `v` when neither is NaN
    /// (ties keep `m`, the earlier tap; a NaN `m` stays).
    #[inline(always)]
    unsafe fn max_keep(m: Self::V, v: Self::V) -> Self::V {
        Self::select(Self::gt(v, m), v, m)
    }

    /// The running maximum `m` after tap `v` when either may be NaN: a NaN `m` stays,
    /// else a NaN `v` wins, else [`PhaseOps::max_keep`].
    #[inline(always)]
    unsafe fn max_nan(m: Self::V, v: Self::V) -> Self::V {
        let r = Self::max_keep(m, v);
        let r = Self::select(Self::nan(v), v, r);
        Self::select(Self::nan(m), m, r)
    }
}

impl PhaseOps for Scalar {}

#[cfg(target_arch = "x86_64")]
impl PhaseOps for super::simd::Avx2 {
    #[inline(always)]
    unsafe fn split2(src: *const f32, pairs: usize, even: *mut f32, odd: *mut f32) {
        use std::arch::x86_64::*;
        let mut k = 0;
        while k + 8 <= pairs {
            let a = _mm256_loadu_ps(src.add(2 * k));
            let b = _mm256_loadu_ps(src.add(2 * k + 8));
            // Per 128-bit lane: [a0 a2 b0 b2 | a4 a6 b4 b6]; then the 64-bit quarters
            // reordered 0, 2, 1, 3 give [a0 a2 a4 a6 b0 b2 b4 b6].
            let e = _mm256_shuffle_ps::<0b10_00_10_00>(a, b);
            let o = _mm256_shuffle_ps::<0b11_01_11_01>(a, b);
            let e = _mm256_castpd_ps(_mm256_permute4x64_pd::<0b11_01_10_00>(_mm256_castps_pd(e)));
            let o = _mm256_castpd_ps(_mm256_permute4x64_pd::<0b11_01_10_00>(_mm256_castps_pd(o)));
            _mm256_storeu_ps(even.add(k), e);
            _mm256_storeu_ps(odd.add(k), o);
            k += 8;
        }
        for k in k..pairs {
            *even.add(k) = *src.add(2 * k);
            *odd.add(k) = *src.add(2 * k + 1);
        }
    }

    #[inline(always)]
    unsafe fn max_keep(m: Self::V, v: Self::V) -> Self::V {
        // `maxps a, b` is `a > b ? a : b` (its second operand on ties and NaN).
        std::arch::x86_64::_mm256_max_ps(v, m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every phase element is the padded plane's element it stands for, for strides 1 to
    /// 3, odd and even widths and pads.
    #[test]
    fn phases_hold_the_padded_plane() {
        for (h, w, pad, strides) in [
            (5, 7, [1, 2], [2, 2]),
            (4, 6, [0, 1], [2, 2]),
            (6, 19, [2, 0], [1, 2]),
            (3, 8, [1, 1], [3, 3]),
            (4, 4, [0, 0], [1, 1]),
        ] {
            let x: Vec<f32> = (0..h * w).map(|i| i as f32).collect();
            let ph = Phases::new([h, w], pad, [3, 3], strides, [2, 2], [1, 1], 8);
            let check = |buf: &[f32]| {
                let [sh, sw] = strides;
                for py in 0..sh {
                    for px in 0..sw {
                        for i in 0..ph.area / ph.wq {
                            for j in 0..ph.wq {
                                let (r, c) = (
                                    (i * sh + py) as isize - pad[0] as isize,
                                    (j * sw + px) as isize - pad[1] as isize,
                                );
                                let want = if r >= 0 && c >= 0 && (r as usize) < h && (c as usize) < w {
                                    x[r as usize * w + c as usize]
                                } else {
                                    -1.0
                                };
                                assert_eq!(
                                    buf[(py * sw + px) * ph.area + i * ph.wq + j],
                                    want,
                                    "{h}x{w} {pad:?} {strides:?}"
                                );
                            }
                        }
                    }
                }
            };
            let (mut buf, mut res) = (Vec::new(), Vec::new());
            ph.prepare(-1.0, 8, &mut buf, &mut res);
            ph.load::<Scalar>(&x, &mut buf);
            check(&buf);
            #[cfg(target_arch = "x86_64")]
            if super::super::isa::Isa::Avx2.is_available() {
                ph.prepare(-1.0, 8, &mut buf, &mut res);
                // SAFETY: AVX2 is available.
                unsafe { load_avx2(&ph, &x, &mut buf) };
                check(&buf);
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn load_avx2(ph: &Phases, x: &[f32], buf: &mut [f32]) {
        ph.load::<super::super::simd::Avx2>(x, buf)
    }
}
