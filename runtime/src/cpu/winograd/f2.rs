//! Winograd `F(2x2, 3x3)`: each tile is 2x2 outputs from a 4x4 input patch, 16
//! transformed positions.
//!
//! The input is split, per channel, into zero-padded rows of even and odd columns, so
//! that the patches of consecutive tiles of a tile row are contiguous vectors.

use super::super::kernel::{epilogue_vec, put, EpiRaw};
use super::super::phase::PhaseOps;
use super::super::simd::{simd_dispatch, Simd};
use super::{store_lanes, Grid};

/// `G g Gᵀ` for one 3x3 kernel `g` (row-major), computed in `f64` and rounded once, with
/// `G = [[1, 0, 0], [1/2, 1/2, 1/2], [1/2, -1/2, 1/2], [0, 0, 1]]`.
pub(super) fn transform_kernel(g: &[f32]) -> [f32; 16] {
    const G: [[f64; 3]; 4] = [[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]];
    let mut gg = [[0.0f64; 3]; 4];
    for (i, row) in gg.iter_mut().enumerate() {
        for (j, slot) in row.iter_mut().enumerate() {
            *slot = (0..3).map(|k| G[i][k] * f64::from(g[k * 3 + j])).sum();
        }
    }
    let mut out = [0.0f32; 16];
    for i in 0..4 {
        for j in 0..4 {
            out[i * 4 + j] = (0..3).map(|k| gg[i][k] * G[j][k]).sum::<f64>() as f32;
        }
    }
    out
}

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

simd_dispatch! {
    /// [`input_tiles`] with the widest vectors `isa` has.
    ///
    /// # Safety
    ///
    /// As [`input_tiles`]; `isa` must be available.
    pub(super) unsafe fn input_for(xs: &[f32], g: &Grid, t: std::ops::Range<usize>, v: &mut [f32]) => input_tiles
}

/// Writes `V = Bᵀ d B` of the tiles `t` of every input channel into `v`, position `ξ`'s
/// matrix in packed B panels: tile `t.start + q * nr + l`, channel `ci` at
/// `ξ * v_len + q * cin * nr + ci * nr + l`. Vectors run across the tiles of a tile row.
#[inline(always)]
unsafe fn input_tiles<S: Simd>(xs: &[f32], g: &Grid, t: std::ops::Range<usize>, v: &mut [f32]) {
    let vp = v.as_mut_ptr();
    for ci in 0..g.cin {
        let plane = xs[ci * g.plane()..][..g.plane()].as_ptr();
        let mut tile = t.start;
        while tile < t.end {
            let (ty, tx) = (tile / g.tw, tile % g.tw);
            let lane0 = tile - t.start;
            let (q, l) = (lane0 / g.nr, lane0 % g.nr);
            // Tiles of one tile row and one panel.
            let n = S::LANES.min(g.tw - tx).min(t.end - tile).min(g.nr - l);
            let dst = vp.add(q * g.cin * g.nr + ci * g.nr + l);
            // Row `i` of the patches of consecutive tiles: its columns 0 to 3 are the even
            // columns from `tx`, the odd from `tx`, the even from `tx + 1`, the odd from
            // `tx + 1` of input row `2 * ty + i`. One column `j` of `Bᵀ d B` at a time
            // (each row's column transform, then the row transform), which keeps few
            // vectors live.
            // (No closures here: they would not inherit this function's target features.)
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
            tile += n;
        }
    }
}

simd_dispatch! {
    /// [`output_tiles`] with the widest vectors `isa` has.
    ///
    /// # Safety
    ///
    /// As [`output_tiles`]; `isa` must be available.
    pub(super) unsafe fn output_for(m: &[f32], g: &Grid, part: [std::ops::Range<usize>; 2], e: &EpiRaw, out: *mut f32) => output_tiles
}

/// Writes `Y = Aᵀ M A` of the tiles `t` of the output channels `chans`, through the epilogue
/// `e` (row = output channel, column = position in the plane), into the image `out`.
///
/// # Safety
///
/// `out` must be the image's `[cout, oh, ow]` output, not written by another thread in
/// these tiles; `e` must be the image's epilogue.
#[inline(always)]
unsafe fn output_tiles<S: Simd>(
    m: &[f32],
    g: &Grid,
    [t, chans]: [std::ops::Range<usize>; 2],
    e: &EpiRaw,
    out: *mut f32,
) {
    let ohw = g.oh * g.ow;
    let identity = e.is_identity();
    for co in chans {
        let mut tile = t.start;
        while tile < t.end {
            let (ty, tx) = (tile / g.tw, tile % g.tw);
            let n = S::LANES.min(g.tw - tx).min(t.end - tile);
            let at = m.as_ptr().add(co * g.block + tile - t.start);
            // `Aᵀ M`, one column at a time: `s[0] = m0 + m1 + m2`, `s[1] = m1 - m2 - m3`
            // over the rows of `M`.
            let (mut s0, mut s1) = ([S::zero(); 4], [S::zero(); 4]);
            for (j, (a, b)) in s0.iter_mut().zip(&mut s1).enumerate() {
                let mut m = [S::zero(); 4];
                for (i, slot) in m.iter_mut().enumerate() {
                    *slot = S::load(at.add((i * 4 + j) * g.m_len()));
                }
                *a = S::add(S::add(m[0], m[1]), m[2]);
                *b = S::sub(S::sub(m[1], m[2]), m[3]);
            }
            let s = [s0, s1];
            for (i, si) in s.iter().enumerate() {
                let oy = 2 * ty + i;
                if oy >= g.oh {
                    break;
                }
                let (lo, hi) = S::zip(S::add(S::add(si[0], si[1]), si[2]), S::sub(S::sub(si[1], si[2]), si[3]));
                let ox = 2 * tx;
                let count = (2 * n).min(g.ow - ox);
                let mut c = 0;
                while c < count {
                    let len = S::LANES.min(count - c);
                    let pos = oy * g.ow + ox + c;
                    let mut val = if c == 0 { lo } else { hi };
                    if !identity {
                        val = epilogue_vec::<S>(e, val, co, pos, len);
                    }
                    put::<S>(out.add(co * ohw + pos), len, val);
                    c += len;
                }
            }
            tile += n;
        }
    }
}
