//! Winograd `F(4x4, 3x3)`: each tile is 4x4 outputs from a 6x6 input patch, 36
//! transformed positions, with the interpolation points `0, 1, -1, 2, -2` and infinity:
//!
//! ```text
//!      [4  0 -5  0  1  0]        [ 1/4     0     0]        [1  1  1  1  1  0]
//!      [0 -4 -4  1  1  0]        [-1/6  -1/6  -1/6]        [0  1 -1  2 -2  0]
//! Bᵀ = [0  4 -4 -1  1  0]    G = [-1/6   1/6  -1/6]   Aᵀ = [0  1  1  4  4  0]
//!      [0 -2 -1  2  1  0]        [1/24  1/12   1/6]        [0  1 -1  8 -8  1]
//!      [0  2 -1 -2  1  0]        [1/24 -1/12   1/6]
//!      [0  4  0 -5  0  1]        [   0     0     1]
//! ```
//!
//! The input is split, per channel, into zero-padded rows of four phases (the columns
//! `c` with the same `c % 4`), so that the patches of consecutive tiles of a tile row
//! are contiguous vectors: patch column `k` of tile `tx` is phase `k % 4` at
//! `tx + k / 4`.

use super::super::phase::PhaseOps;
use super::super::simd::{simd_dispatch, Simd};
use super::{store_lanes, Grid, RowOut, Transforms};

/// The kernel transform `G`.
pub(super) const G: [[f64; 3]; 6] = [
    [1.0 / 4.0, 0.0, 0.0],
    [-1.0 / 6.0, -1.0 / 6.0, -1.0 / 6.0],
    [-1.0 / 6.0, 1.0 / 6.0, -1.0 / 6.0],
    [1.0 / 24.0, 1.0 / 12.0, 1.0 / 6.0],
    [1.0 / 24.0, -1.0 / 12.0, 1.0 / 6.0],
    [0.0, 0.0, 1.0],
];

simd_dispatch! {
    /// [`split_plane`] with the widest vectors `isa` has.
    ///
    /// # Safety
    ///
    /// `isa` must be available.
    pub(super) unsafe fn split_for(x: &[f32], hw: [usize; 2], pad: [usize; 2], g: &Grid, out: &mut [f32], rows: &mut Vec<f32>) => split_plane
}

/// Writes one input plane (`[h, w]`) into `rows` rows of `out` zero-padded by
/// `pad = [top, left]`, each split into its four phases of `half` elements; every element
/// of `out` is written. `scratch` holds one padded row and its even and odd columns; the
/// padding it holds stays zero from plane to plane of a call (the same geometry), so it
/// is zeroed only when its length changes.
#[inline(always)]
fn split_plane<S: PhaseOps>(
    x: &[f32],
    [h, w]: [usize; 2],
    [top, left]: [usize; 2],
    g: &Grid,
    out: &mut [f32],
    scratch: &mut Vec<f32>,
) {
    let row_len = 4 * g.half;
    assert!(x.len() >= h * w && out.len() >= g.rows * row_len && left + w <= row_len);
    if scratch.len() != 2 * row_len {
        scratch.clear();
        scratch.resize(2 * row_len, 0.0);
    }
    let (padded, halves) = scratch.split_at_mut(row_len);
    for (r, row) in out.chunks_exact_mut(row_len).take(g.rows).enumerate() {
        let iy = r.wrapping_sub(top);
        if iy >= h || w == 0 {
            row.fill(0.0);
            continue;
        }
        padded[left..left + w].copy_from_slice(&x[iy * w..][..w]);
        let (even, odd) = halves.split_at_mut(2 * g.half);
        let dst = row.as_mut_ptr();
        // SAFETY: `padded` holds `2 * half` pairs, `even` and `odd` `half` pairs each;
        // the four phases are disjoint quarters of `row`. Column `4k + p` is even's
        // `2k + p` (p = 0, 2) or odd's `2k + p - 1` (p = 1, 3).
        unsafe {
            S::split2(padded.as_ptr(), 2 * g.half, even.as_mut_ptr(), odd.as_mut_ptr());
            S::split2(even.as_ptr(), g.half, dst, dst.add(2 * g.half));
            S::split2(odd.as_ptr(), g.half, dst.add(g.half), dst.add(3 * g.half));
        }
    }
}

/// Row `j` of `Bᵀ` applied to `d`:
/// `4 d0 - 5 d2 + d4`, `(d3 + d4) - 4 (d1 + d2)`, `(d4 - d3) + 4 (d1 - d2)`,
/// `(d4 - d2) + 2 (d3 - d1)`, `(d4 - d2) - 2 (d3 - d1)`, `4 d1 - 5 d3 + d5`.
#[inline(always)]
unsafe fn bt_row<S: Simd, const J: usize>(d: &[S::V; 6]) -> S::V {
    match J {
        0 => S::fmadd(S::splat(4.0), d[0], S::fmadd(S::splat(-5.0), d[2], d[4])),
        1 => S::fmadd(S::splat(-4.0), S::add(d[1], d[2]), S::add(d[3], d[4])),
        2 => S::fmadd(S::splat(4.0), S::sub(d[1], d[2]), S::sub(d[4], d[3])),
        3 => S::fmadd(S::splat(2.0), S::sub(d[3], d[1]), S::sub(d[4], d[2])),
        4 => S::fmadd(S::splat(-2.0), S::sub(d[3], d[1]), S::sub(d[4], d[2])),
        _ => S::fmadd(S::splat(4.0), d[1], S::fmadd(S::splat(-5.0), d[3], d[5])),
    }
}

/// `Bᵀ d`.
#[inline(always)]
unsafe fn bt<S: Simd>(d: &[S::V; 6]) -> [S::V; 6] {
    [
        bt_row::<S, 0>(d),
        bt_row::<S, 1>(d),
        bt_row::<S, 2>(d),
        bt_row::<S, 3>(d),
        bt_row::<S, 4>(d),
        bt_row::<S, 5>(d),
    ]
}

/// `Aᵀ m`: `m0 + (m1 + m2) + (m3 + m4)`, `(m1 - m2) + 2 (m3 - m4)`,
/// `(m1 + m2) + 4 (m3 + m4)`, `((m1 - m2) + 8 (m3 - m4)) + m5`.
#[inline(always)]
unsafe fn at<S: Simd>(m: &[S::V; 6]) -> [S::V; 4] {
    let (s12, d12) = (S::add(m[1], m[2]), S::sub(m[1], m[2]));
    let (s34, d34) = (S::add(m[3], m[4]), S::sub(m[3], m[4]));
    [
        S::add(S::add(m[0], s12), s34),
        S::fmadd(S::splat(2.0), d34, d12),
        S::fmadd(S::splat(4.0), s34, s12),
        S::add(S::fmadd(S::splat(8.0), d34, d12), m[5]),
    ]
}

/// The `F(4x4, 3x3)` transforms.
pub(super) struct F4;

impl Transforms for F4 {
    /// One column `j` of `Bᵀ d B` at a time: row `j` of `Bᵀ` on each patch row (`d B`'s
    /// column `j`), then `Bᵀ` on that column. Few vectors stay live.
    #[inline(always)]
    unsafe fn input_run<S: Simd>(plane: *const f32, g: &Grid, [ty, tx]: [usize; 2], dst: *mut f32, n: usize) {
        let mut rows = [plane; 6];
        for (i, r) in rows.iter_mut().enumerate() {
            *r = plane.add((4 * ty + i) * 4 * g.half + tx);
        }
        input_column::<S, 0>(&rows, g, dst, n);
        input_column::<S, 1>(&rows, g, dst, n);
        input_column::<S, 2>(&rows, g, dst, n);
        input_column::<S, 3>(&rows, g, dst, n);
        input_column::<S, 4>(&rows, g, dst, n);
        input_column::<S, 5>(&rows, g, dst, n);
    }

    /// `Aᵀ M`, one column `j` of `M` at a time (`rows[k][j]` is row `k` of `Aᵀ` on it),
    /// then `Aᵀ` on each row of that: row `k` of the tiles in four vectors across the
    /// tiles, interleaved into the plane's order.
    #[inline(always)]
    unsafe fn output_run<S: Simd>(m: *const f32, g: &Grid, [ty, tx]: [usize; 2], n: usize, out: &RowOut) {
        let mut rows = [[S::zero(); 6]; 4];
        for j in 0..6 {
            let mut col = [S::zero(); 6];
            for (i, slot) in col.iter_mut().enumerate() {
                *slot = S::load(m.add((i * 6 + j) * g.m_len()));
            }
            for (row, v) in rows.iter_mut().zip(at::<S>(&col)) {
                row[j] = v;
            }
        }
        for (k, sk) in rows.iter().enumerate() {
            let [o0, o1, o2, o3] = at::<S>(sk);
            let ((p0, p1), (q0, q1)) = (S::zip(o0, o2), S::zip(o1, o3));
            let ((v0, v1), (v2, v3)) = (S::zip(p0, q0), S::zip(p1, q1));
            out.store::<S>(g, [4 * ty + k, 4 * tx], 4 * n, &[v0, v1, v2, v3]);
        }
    }
}

/// Column `J` of `Bᵀ d B` for the patches whose rows start at `rows`, stored (its first `n`
/// lanes) at positions `(i, J)` of the block at `dst`.
#[inline(always)]
unsafe fn input_column<S: Simd, const J: usize>(rows: &[*const f32; 6], g: &Grid, dst: *mut f32, n: usize) {
    let mut c = [S::zero(); 6];
    for (slot, &r) in c.iter_mut().zip(rows) {
        // Loads the row's six elements; the ones row `J` of `Bᵀ` does not use are dropped
        // by the compiler.
        let mut d = [S::zero(); 6];
        for (k, e) in d.iter_mut().enumerate() {
            *e = S::load(r.add((k % 4) * g.half + k / 4));
        }
        *slot = bt_row::<S, J>(&d);
    }
    for (i, &val) in bt::<S>(&c).iter().enumerate() {
        store_lanes::<S>(dst.add((i * 6 + J) * g.v_len()), n, val);
    }
}
