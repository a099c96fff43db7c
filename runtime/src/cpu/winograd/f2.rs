//! Winograd `F(2x2, 3x3)`: each tile is 2x2 outputs from a 4x4 input patch, 16
//! transformed positions.
//!
//! The input is split, per channel, into zero-padded rows of even and odd columns, so
//! that the patches of consecutive tiles of a tile row are contiguous vectors.

use super::super::phase::PhaseOps;
use super::super::simd::{simd_dispatch, Simd};
use super::{store_lanes, Grid, RowOut, Transforms};

/// The kernel transform `G`.
pub(super) const G: [[f64; 3]; 4] = [[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]];

simd_dispatch! {
    /// [`split_plane`] with the widest vectors `isa` has.
    ///
    /// # Safety
    ///
    /// `isa` must be available.
    pub(super) unsafe fn split_for(x: &[f32], hw: [usize; 2], pad: [usize; 2], g: &Grid, out: &mut [f32]) => split_plane
}

/// Writes one input plane (`[h, w]`) into `rows` rows of `out` zero-padded by
/// `pad = [top, left]`, each split into its even and then its odd columns of `half`
/// elements; every element of `out` is written.
#[inline(always)]
fn split_plane<S: PhaseOps>(x: &[f32], [h, w]: [usize; 2], [top, left]: [usize; 2], g: &Grid, out: &mut [f32]) {
    assert!(x.len() >= h * w && out.len() >= g.rows * 2 * g.half && left + w <= 2 * g.half);
    let pairs = w / 2;
    // Input column `ix` is padded column `ix + left`: phase `(ix + left) % 2`, at
    // `(ix + left) / 2`; the even input columns fill `w.div_ceil(2)` places of one
    // phase, the odd ones `pairs` of the other.
    let (even, odd) = (left % 2, (left + 1) % 2);
    let runs = [(even, left / 2, w.div_ceil(2)), (odd, left.div_ceil(2), pairs)];
    for (r, row) in out.chunks_exact_mut(2 * g.half).take(g.rows).enumerate() {
        let iy = r.wrapping_sub(top);
        if iy >= h || w == 0 {
            row.fill(0.0);
            continue;
        }
        for &(phase, start, len) in &runs {
            let ph = &mut row[phase * g.half..][..g.half];
            ph[..start].fill(0.0);
            ph[start + len..].fill(0.0);
        }
        let src = &x[iy * w..][..w];
        let (e, o) = (runs[0], runs[1]);
        // SAFETY: `2 * pairs <= w` inputs; each run ends inside its phase (since
        // `left + w <= 2 * half`), and the two phases are disjoint halves of `row`.
        unsafe {
            S::split2(
                src.as_ptr(),
                pairs,
                row.as_mut_ptr().add(e.0 * g.half + e.1),
                row.as_mut_ptr().add(o.0 * g.half + o.1),
            )
        };
        if w % 2 == 1 {
            row[e.0 * g.half + e.1 + pairs] = src[w - 1];
        }
    }
}

/// The `F(2x2, 3x3)` transforms.
pub(super) struct F2;

impl Transforms for F2 {
    /// Row `i` of the patches of consecutive tiles: its columns 0 to 3 are the even
    /// columns from `tx`, the odd from `tx`, the even from `tx + 1`, the odd from `tx + 1`
    /// of input row `2 * ty + i`. One column `j` of `Bᵀ d B` at a time (each row's column
    /// transform, then the row transform), which keeps few vectors live.
    #[inline(always)]
    unsafe fn input_run<S: Simd>(plane: *const f32, g: &Grid, [ty, tx]: [usize; 2], dst: *mut f32, n: usize) {
        let mut even = [plane; 4];
        for (i, e) in even.iter_mut().enumerate() {
            *e = plane.add((2 * ty + i) * 2 * g.half + tx);
        }
        for j in 0..4 {
            let mut c = [S::zero(); 4];
            for (ci_, &e) in c.iter_mut().zip(&even) {
                let o = e.add(g.half);
                *ci_ = match j {
                    0 => S::sub(S::load(e), S::load(e.add(1))),
                    1 => S::add(S::load(o), S::load(e.add(1))),
                    2 => S::sub(S::load(e.add(1)), S::load(o)),
                    _ => S::sub(S::load(o), S::load(o.add(1))),
                };
            }
            let col = [
                S::sub(c[0], c[2]),
                S::add(c[1], c[2]),
                S::sub(c[2], c[1]),
                S::sub(c[1], c[3]),
            ];
            for (i, &val) in col.iter().enumerate() {
                store_lanes::<S>(dst.add((i * 4 + j) * g.v_len()), n, val);
            }
        }
    }

    /// `Aᵀ M`, one column at a time: `s[0] = m0 + m1 + m2`, `s[1] = m1 - m2 - m3` over
    /// the rows of `M`; then the same over the columns of each row of that.
    #[inline(always)]
    unsafe fn output_run<S: Simd>(m: *const f32, g: &Grid, [ty, tx]: [usize; 2], n: usize, out: &RowOut) {
        let (mut s0, mut s1) = ([S::zero(); 4], [S::zero(); 4]);
        for (j, (a, b)) in s0.iter_mut().zip(&mut s1).enumerate() {
            let mut col = [S::zero(); 4];
            for (i, slot) in col.iter_mut().enumerate() {
                *slot = S::load(m.add((i * 4 + j) * g.m_len()));
            }
            *a = S::add(S::add(col[0], col[1]), col[2]);
            *b = S::sub(S::sub(col[1], col[2]), col[3]);
        }
        for (i, si) in [s0, s1].iter().enumerate() {
            let (lo, hi) = S::zip(S::add(S::add(si[0], si[1]), si[2]), S::sub(S::sub(si[1], si[2]), si[3]));
            out.store::<S>(g, [2 * ty + i, 2 * tx], 2 * n, &[lo, hi]);
        }
    }
}
