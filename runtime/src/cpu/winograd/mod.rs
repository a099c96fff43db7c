//! Winograd convolution, `F(2x2, 3x3)` and `F(4x4, 3x3)`, for 3x3 convolutions with unit
//! strides and dilations and one group, in fast mode only.
//!
//! Each `m x m` block of outputs (a tile) of output channel `co` is
//! `Y = Aᵀ [sum over ci of (G g Gᵀ) ⊙ (Bᵀ d B)] A`, where `g` is the 3x3 kernel of
//! `(co, ci)` and `d` the `(m + 2) x (m + 2)` input patch under the tile (zero in the
//! padding). The sum over input channels is, for each of the `(m + 2)²` positions `ξ` of
//! the transformed tile, one GEMM `M_ξ[cout, tiles] = U_ξ[cout, cin] · V_ξ[cin, tiles]`
//! on the ordinary microkernels. Per output and channel pair that is 4 multiply-adds for
//! `F(2x2, 3x3)` (module `f2`) and 2.25 for `F(4x4, 3x3)` (module `f4`), where the direct
//! convolution takes 9. [`tile_for`] picks the tile size from the output size.
//!
//! The numbers differ from the direct convolution's by more than rounding order: the
//! transforms add and subtract (and, for `F(4x4, 3x3)`, scale by small integers)
//! neighbouring inputs before they are multiplied, so the error is bounded by a small
//! multiple of the unit roundoff times the sum of the magnitudes of the terms, as for any
//! reordered sum. That is why strict mode never uses it. Infinite or NaN inputs spread to
//! the whole tile (and to the neighbouring tiles whose patches overlap them) rather than
//! to the outputs they touch. Everything is still computed in a fixed order that depends
//! only on the shapes, so the result is the same on every run and for every thread count.
//!
//! Layout. The input is first copied, per channel, into zero-padded rows split into `m`
//! phases (the columns `c` with the same `c % m`), so that the patches of consecutive
//! tiles of a tile row are contiguous vectors. Tiles are processed in blocks of a few
//! `NR`-wide panels: a block's transformed input `V` is written straight into the GEMM's
//! packed B layout, its products `M` go to a scratch buffer, and the output transform
//! runs the convolution's epilogue (bias, per-channel stages, residual, activation) on the
//! finished rows.

mod f2;
mod f4;

use super::conv::ConvView;
use super::gemm::{pack_a, run_region, BSource, MatRef, Problem};
use super::isa::{Isa, Kernels};
use super::kernel::{epilogue_vec, put, EpiRaw};
use super::simd::{simd_dispatch, Simd};
use super::threads::{self, SharedOut};

/// Elements between one position's matrix and the next beyond its size (one 128-byte
/// pair of cache lines).
const SKEW: usize = 32;

/// Bytes of transformed input and products one block may hold, at least.
const BLOCK_BYTES: usize = 1 << 20;

thread_local! {
    /// The calling thread's split input, kept between calls.
    static SPLIT: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
    /// Each thread's transformed input and products of a block, kept between calls.
    static BLOCKS: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Runs `f` on this thread's scratch `key`, at least `len` elements long (grown with
/// zeros; what earlier calls left stays), or on a fresh buffer if it is in use.
fn with_scratch<R>(
    key: &'static std::thread::LocalKey<std::cell::RefCell<Vec<f32>>>,
    len: usize,
    f: impl FnOnce(&mut [f32]) -> R,
) -> R {
    key.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => {
            if buf.len() < len {
                buf.resize(len, 0.0);
            }
            f(&mut buf[..len])
        }
        Err(_) => f(&mut vec![0.0f32; len]),
    })
}

/// The Winograd variant: its output tile size. Every choice between the two variants'
/// code is made here.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Tile {
    /// `F(2x2, 3x3)` (module `f2`).
    F2x2,
    /// `F(4x4, 3x3)` (module `f4`).
    F4x4,
}

impl Tile {
    /// The output tile size `m`.
    pub(crate) fn size(self) -> usize {
        match self {
            Tile::F2x2 => 2,
            Tile::F4x4 => 4,
        }
    }

    /// Positions of a transformed tile, `(m + 2)²`.
    fn positions(self) -> usize {
        (self.size() + 2) * (self.size() + 2)
    }

    /// `G g Gᵀ` of one 3x3 kernel `g`, row-major.
    fn transform_kernel(self, g: &[f32]) -> Vec<f32> {
        match self {
            Tile::F2x2 => transform_kernel(&f2::G, g),
            Tile::F4x4 => transform_kernel(&f4::G, g),
        }
    }

    /// Writes one input plane into its split rows `out` (see the variant's `split_plane`);
    /// `rows` is scratch for a padded row, kept between the planes of one call.
    ///
    /// # Safety
    ///
    /// `isa` must be available.
    #[allow(clippy::too_many_arguments)]
    unsafe fn split(
        self,
        isa: Isa,
        x: &[f32],
        hw: [usize; 2],
        pad: [usize; 2],
        g: &Grid,
        out: &mut [f32],
        rows: &mut Vec<f32>,
    ) {
        match self {
            Tile::F2x2 => f2::split_for(isa, x, hw, pad, g, out),
            Tile::F4x4 => f4::split_for(isa, x, hw, pad, g, out, rows),
        }
    }

    /// [`input_tiles`] of this variant.
    ///
    /// # Safety
    ///
    /// As [`input_tiles`]; `isa` must be available.
    unsafe fn input(self, isa: Isa, xs: &[f32], g: &Grid, t: std::ops::Range<usize>, v: &mut [f32]) {
        match self {
            Tile::F2x2 => input_f2(isa, xs, g, t, v),
            Tile::F4x4 => input_f4(isa, xs, g, t, v),
        }
    }

    /// [`output_tiles`] of this variant.
    ///
    /// # Safety
    ///
    /// As [`output_tiles`]; `isa` must be available.
    unsafe fn output(
        self,
        isa: Isa,
        m: &[f32],
        g: &Grid,
        part: [std::ops::Range<usize>; 2],
        e: &EpiRaw,
        out: *mut f32,
    ) {
        match self {
            Tile::F2x2 => output_f2(isa, m, g, part, e, out),
            Tile::F4x4 => output_f4(isa, m, g, part, e, out),
        }
    }
}

/// The transformed weights `U = G g Gᵀ` of every output and input channel pair, packed as
/// the A panels of the position GEMMs, one position after the other.
#[derive(Clone, Debug)]
pub(crate) struct WinogradWeights {
    /// The variant they were transformed for.
    tile: Tile,
    /// The packed panels.
    data: Vec<f32>,
    /// Elements of one position's packed matrix.
    per_position: usize,
}

impl WinogradWeights {
    /// Transforms and packs `w` (`[cout, cin, 3, 3]`, one group) for the variant `tile`
    /// into panels of `mr` rows.
    pub(crate) fn new(w: &[f32], cout: usize, cin: usize, tile: Tile, mr: usize) -> WinogradWeights {
        let positions = tile.positions();
        let mut u = vec![0.0f32; positions * cout * cin];
        for co in 0..cout {
            for ci in 0..cin {
                let t = tile.transform_kernel(&w[(co * cin + ci) * 9..][..9]);
                for (xi, v) in t.into_iter().enumerate() {
                    u[(xi * cout + co) * cin + ci] = v;
                }
            }
        }
        let mut data = Vec::new();
        for xi in 0..positions {
            pack_a(
                &MatRef::row_major(&u[xi * cout * cin..][..cout * cin], cout, cin),
                mr,
                &mut data,
            );
        }
        let per_position = data.len() / positions;
        WinogradWeights {
            tile,
            data,
            per_position,
        }
    }
}

/// `G g Gᵀ` (`n x n`, row-major) for one 3x3 kernel `g` (row-major) and an `n x 3`
/// transform `G`, computed in `f64` and rounded once.
fn transform_kernel<const N: usize>(gm: &[[f64; 3]; N], g: &[f32]) -> Vec<f32> {
    let mut gg = [[0.0f64; 3]; N];
    for (i, row) in gg.iter_mut().enumerate() {
        for (j, slot) in row.iter_mut().enumerate() {
            *slot = (0..3).map(|k| gm[i][k] * f64::from(g[k * 3 + j])).sum();
        }
    }
    let mut out = vec![0.0f32; N * N];
    for (i, gi) in gg.iter().enumerate() {
        for (j, gj) in gm.iter().enumerate() {
            out[i * N + j] = (0..3).map(|k| gi[k] * gj[k]).sum::<f64>() as f32;
        }
    }
    out
}

/// Whether the weights of convolution `p` are transformed (fast mode adds finite weights):
/// a 3x3 kernel, unit strides and dilations, one group, and enough channels for the
/// transforms to pay.
pub(crate) fn applies(p: &super::conv::Conv2dParams) -> bool {
    p.kernel == [3, 3]
        && p.strides == [1, 1]
        && p.dilations == [1, 1]
        && p.groups == 1
        && p.in_channels >= 8
        && p.out_channels >= 8
}

/// Fewest 4x4 tiles an output must have for `F(4x4, 3x3)`: with fewer (square outputs
/// under 21x21), the tiles are few for the GEMM's panels and more of them are padding,
/// and the gemm bench measured `F(2x2, 3x3)` as fast or faster (14x14 and 7x7 images).
const MIN_F4_TILES: usize = 32;

/// The variant for convolution `p` (for which [`applies`] holds): `F(4x4, 3x3)`, with
/// fewer multiplications, on outputs of at least [`MIN_F4_TILES`] 4x4 tiles, else
/// `F(2x2, 3x3)`. It depends on the shapes only, never on the thread count.
pub(crate) fn tile_for(p: &super::conv::Conv2dParams) -> Tile {
    match p.output_dims() {
        Ok([_, _, oh, ow]) if oh.div_ceil(4) * ow.div_ceil(4) >= MIN_F4_TILES => Tile::F4x4,
        _ => Tile::F2x2,
    }
}

/// The tile grid and buffer sizes of one call.
#[derive(Copy, Clone)]
struct Grid {
    /// Input and output channels.
    cin: usize,
    cout: usize,
    /// Output height and width.
    oh: usize,
    ow: usize,
    /// Output tile size `m`: also the number of phases each padded row is split into.
    m: usize,
    /// Tile columns.
    tw: usize,
    /// Tiles per block (a multiple of `nr`).
    block: usize,
    /// Panel width of the GEMM.
    nr: usize,
    /// Padded rows per channel, and the length of one phase of one,
    /// with room to read a whole vector at the last tile (lanes past the tiles of a row
    /// are computed and never stored).
    rows: usize,
    half: usize,
}

impl Grid {
    /// Elements of one channel's split input.
    fn plane(&self) -> usize {
        self.rows * self.m * self.half
    }

    /// Elements of one position's transformed input in a block, plus a skew so that the
    /// positions' matrices do not start a multiple of 4 KiB apart (which would map
    /// the transforms' streams onto the same cache sets).
    fn v_len(&self) -> usize {
        self.cin * self.block + SKEW
    }

    /// Elements of one position's products in a block, plus the skew.
    fn m_len(&self) -> usize {
        self.cout * self.block + SKEW
    }
}

/// Runs the convolution `cv` (for which [`applies`] holds) with the weights `u`
/// transformed for the kernels `ks`, on `threads` threads.
#[allow(clippy::too_many_arguments)]
pub(crate) fn conv(
    cv: &ConvView,
    ks: &Kernels,
    isa: Isa,
    threads: usize,
    x: &[f32],
    u: &WinogradWeights,
    out: &mut [f32],
) {
    let (p, geo) = (cv.p, &cv.geo);
    let (tile, positions) = (u.tile, u.tile.positions());
    let (th, tw) = (geo.oh.div_ceil(tile.size()), geo.ow.div_ceil(tile.size()));
    let tiles = th * tw;
    let (cin, cout) = (p.in_channels, p.out_channels);
    // Every block streams all of `U` (positions * cin * cout values) once, so blocks are as
    // large as the budget allows, and larger still when `U` is large, but at least one
    // panel; then the blocks are evened out so that every thread gets as many (the block
    // size never changes a bit: the columns of a GEMM are independent).
    let budget = BLOCK_BYTES.max(positions * 4 * cin * cout / 2);
    let fit = ((budget / (positions * 4 * (cin + cout))) / ks.nr * ks.nr).max(ks.nr);
    let mut per_image = tiles.div_ceil(fit);
    while (p.batch * per_image) % threads != 0 && tiles.div_ceil(per_image + 1) >= ks.nr {
        per_image += 1;
    }
    let block = tiles.div_ceil(per_image).next_multiple_of(ks.nr);
    let g = Grid {
        cin,
        cout,
        oh: geo.oh,
        ow: geo.ow,
        tw,
        block,
        nr: ks.nr,
        m: tile.size(),
        rows: tile.size() * th + 2,
        // Room for a whole vector read from the last tile of a row.
        half: tw + 1 + 16,
    };
    let blocks = tiles.div_ceil(block);
    // Too few blocks for the threads (a small image): the output channels are split too,
    // each part transforming the block's input for itself.
    let row_panels = cout.div_ceil(ks.mr);
    let chan_parts = (threads / (p.batch * blocks)).clamp(1, row_panels);
    let chans: Vec<std::ops::Range<usize>> = threads::split(row_panels, chan_parts)
        .into_iter()
        .map(|r| r.start * ks.mr..(r.end * ks.mr).min(cout))
        .collect();
    let planes = p.batch * cin;
    let split_parts = threads::split(planes, threads);
    // A few ranges of units per thread, handed out to the threads as they finish.
    let parts = threads::split(p.batch * blocks * chan_parts, threads * threads::BALANCE);
    let dst = SharedOut(out.as_mut_ptr());
    // The split input and each thread's blocks live in per-thread scratch that is kept
    // between calls: the split writes every element, padding included, and a block's
    // garbage lanes (past its last tile) are never stored, so nothing is zeroed first.
    with_scratch(&SPLIT, planes * g.plane(), |xs| {
        let split_dst = SharedOut(xs.as_mut_ptr());
        let mut row_bufs = vec![Vec::new(); split_parts.len()];
        threads::run_parts(&split_parts, &mut row_bufs, |part, row_buf| {
            for plane in part {
                // SAFETY: each thread writes only its own planes of `xs`.
                let d = unsafe { std::slice::from_raw_parts_mut(split_dst.get().add(plane * g.plane()), g.plane()) };
                // SAFETY: `isa` was checked available by the caller.
                unsafe {
                    tile.split(
                        isa,
                        &x[plane * cv.hw..][..cv.hw],
                        [p.in_h, p.in_w],
                        [geo.pad_top, geo.pad_left],
                        &g,
                        d,
                        row_buf,
                    )
                };
            }
        });
        let xs = &xs[..];
        let mut units = vec![(); threads.min(parts.len())];
        threads::run_balanced(&parts, &mut units, |part, _| {
            with_scratch(&BLOCKS, positions * (g.v_len() + g.m_len()), |buf| {
                let (v, m) = buf.split_at_mut(positions * g.v_len());
                let mut unused = Vec::new();
                for unit in part {
                    let (n, b, rows) = (
                        unit / chan_parts / blocks,
                        unit / chan_parts % blocks,
                        chans[unit % chan_parts].clone(),
                    );
                    let t = b * block..((b + 1) * block).min(tiles);
                    let xn = &xs[n * cin * g.plane()..][..cin * g.plane()];
                    // SAFETY: `isa` was checked available by the caller; `v` holds a block.
                    unsafe { tile.input(isa, xn, &g, t.clone(), v) };
                    for xi in 0..positions {
                        let pr = Problem {
                            k: cin,
                            packed_a: &u.data[xi * u.per_position..][..u.per_position],
                            b: BSource::Panels {
                                data: &v[xi * g.v_len()..][..g.v_len()],
                                k: cin,
                            },
                            c: m[xi * g.m_len()..].as_mut_ptr(),
                            ldc: block,
                            epi: EpiRaw::IDENTITY,
                        };
                        // SAFETY: the kernels run here; `M_ξ` is `cout x block`, and the
                        // packed `U_ξ` and `V_ξ` hold `cin` rows.
                        unsafe { run_region(ks, &pr, rows.clone(), 0..t.len(), &mut unused) };
                    }
                    let e = cv.epilogue(n, 0);
                    // SAFETY: as above; image `n` of the output is written by this unit's
                    // thread only in this block's tiles and these channels.
                    unsafe {
                        let image = dst.get().add(n * cout * cv.ohw);
                        tile.output(isa, m, &g, [t, rows], &e, image);
                    }
                }
            });
        });
    });
}

/// The transforms of one Winograd variant, on a run of `n <= S::LANES` consecutive tiles
/// of one tile row, one tile per lane.
trait Transforms {
    /// Writes the first `n` lanes of `V = Bᵀ d B` of the tiles from `[ty, tx]` of the
    /// split channel `plane` (see [`Grid::plane`]), position `ξ` at `dst + ξ * v_len`.
    ///
    /// # Safety
    ///
    /// `plane` must be a whole split channel and `dst` valid for a vector at every
    /// position.
    unsafe fn input_run<S: Simd>(plane: *const f32, g: &Grid, tile: [usize; 2], dst: *mut f32, n: usize);

    /// Finishes `Y = Aᵀ M A` of the tiles from `[ty, tx]` of one output channel, whose
    /// products of position `ξ` are at `m + ξ * m_len`, and hands each output row of
    /// them to `out`.
    ///
    /// # Safety
    ///
    /// `m` must be valid for a vector at every position.
    unsafe fn output_run<S: Simd>(m: *const f32, g: &Grid, tile: [usize; 2], n: usize, out: &RowOut);
}

/// Where [`Transforms::output_run`] puts finished rows: one output channel of an image,
/// through the epilogue.
struct RowOut<'a> {
    /// The epilogue (row = output channel, column = position in the plane).
    e: &'a EpiRaw,
    /// Whether the epilogue changes nothing.
    identity: bool,
    /// The output channel.
    co: usize,
    /// The channel's plane.
    plane: *mut f32,
}

impl RowOut<'_> {
    /// Stores `count` outputs of row `oy` from column `ox` (at most what `vals` hold,
    /// which are in the plane's order), dropping those past the plane's width or height.
    ///
    /// # Safety
    ///
    /// The plane must be valid and written by this thread alone in these outputs.
    #[inline(always)]
    unsafe fn store<S: Simd>(&self, g: &Grid, [oy, ox]: [usize; 2], count: usize, vals: &[S::V]) {
        if oy >= g.oh {
            return;
        }
        let count = count.min(g.ow - ox);
        let mut c = 0;
        while c < count {
            let len = S::LANES.min(count - c);
            let pos = oy * g.ow + ox + c;
            let mut val = vals[c / S::LANES];
            if !self.identity {
                val = epilogue_vec::<S>(self.e, val, self.co, pos, len);
            }
            put::<S>(self.plane.add(pos), len, val);
            c += len;
        }
    }
}

/// Writes `V = Bᵀ d B` of the tiles `t` of every input channel into `v`, position `ξ`'s
/// matrix in packed B panels: tile `t.start + q * nr + l`, channel `ci` at
/// `ξ * v_len + q * cin * nr + ci * nr + l`. Vectors run across the tiles of a tile row.
#[inline(always)]
unsafe fn input_tiles<S: Simd, T: Transforms>(xs: &[f32], g: &Grid, t: std::ops::Range<usize>, v: &mut [f32]) {
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
            T::input_run::<S>(plane, g, [ty, tx], vp.add(q * g.cin * g.nr + ci * g.nr + l), n);
            tile += n;
        }
    }
}

/// Writes `Y = Aᵀ M A` of the tiles `t` of the output channels `chans`, through the epilogue
/// `e`, into the image `out`.
///
/// # Safety
///
/// `out` must be the image's `[cout, oh, ow]` output, not written by another thread in
/// these tiles; `e` must be the image's epilogue.
#[inline(always)]
unsafe fn output_tiles<S: Simd, T: Transforms>(
    m: &[f32],
    g: &Grid,
    [t, chans]: [std::ops::Range<usize>; 2],
    e: &EpiRaw,
    out: *mut f32,
) {
    let identity = e.is_identity();
    for co in chans {
        let rows = RowOut {
            e,
            identity,
            co,
            plane: out.add(co * g.oh * g.ow),
        };
        let mut tile = t.start;
        while tile < t.end {
            let (ty, tx) = (tile / g.tw, tile % g.tw);
            let n = S::LANES.min(g.tw - tx).min(t.end - tile);
            T::output_run::<S>(m.as_ptr().add(co * g.block + tile - t.start), g, [ty, tx], n, &rows);
            tile += n;
        }
    }
}

/// [`input_tiles`] of `F(2x2, 3x3)`.
#[inline(always)]
unsafe fn input_tiles_f2<S: Simd>(xs: &[f32], g: &Grid, t: std::ops::Range<usize>, v: &mut [f32]) {
    input_tiles::<S, f2::F2>(xs, g, t, v)
}

/// [`input_tiles`] of `F(4x4, 3x3)`.
#[inline(always)]
unsafe fn input_tiles_f4<S: Simd>(xs: &[f32], g: &Grid, t: std::ops::Range<usize>, v: &mut [f32]) {
    input_tiles::<S, f4::F4>(xs, g, t, v)
}

/// [`output_tiles`] of `F(2x2, 3x3)`.
#[inline(always)]
unsafe fn output_tiles_f2<S: Simd>(m: &[f32], g: &Grid, part: [std::ops::Range<usize>; 2], e: &EpiRaw, out: *mut f32) {
    output_tiles::<S, f2::F2>(m, g, part, e, out)
}

/// [`output_tiles`] of `F(4x4, 3x3)`.
#[inline(always)]
unsafe fn output_tiles_f4<S: Simd>(m: &[f32], g: &Grid, part: [std::ops::Range<usize>; 2], e: &EpiRaw, out: *mut f32) {
    output_tiles::<S, f4::F4>(m, g, part, e, out)
}

simd_dispatch! {
    /// [`input_tiles_f2`] with the widest vectors `isa` has.
    ///
    /// # Safety
    ///
    /// As [`input_tiles`]; `isa` must be available.
    unsafe fn input_f2(xs: &[f32], g: &Grid, t: std::ops::Range<usize>, v: &mut [f32]) => input_tiles_f2
}

simd_dispatch! {
    /// [`input_tiles_f4`] with the widest vectors `isa` has.
    ///
    /// # Safety
    ///
    /// As [`input_tiles`]; `isa` must be available.
    unsafe fn input_f4(xs: &[f32], g: &Grid, t: std::ops::Range<usize>, v: &mut [f32]) => input_tiles_f4
}

simd_dispatch! {
    /// [`output_tiles_f2`] with the widest vectors `isa` has.
    ///
    /// # Safety
    ///
    /// As [`output_tiles`]; `isa` must be available.
    unsafe fn output_f2(m: &[f32], g: &Grid, part: [std::ops::Range<usize>; 2], e: &EpiRaw, out: *mut f32) => output_tiles_f2
}

simd_dispatch! {
    /// [`output_tiles_f4`] with the widest vectors `isa` has.
    ///
    /// # Safety
    ///
    /// As [`output_tiles`]; `isa` must be available.
    unsafe fn output_f4(m: &[f32], g: &Grid, part: [std::ops::Range<usize>; 2], e: &EpiRaw, out: *mut f32) => output_tiles_f4
}

/// Stores the first `n` lanes of `val` at `dst` and leaves the `LANES - n` elements after
/// them as they were (read back and written again: `dst` is this thread's scratch, valid
/// for a whole vector).
#[inline(always)]
pub(super) unsafe fn store_lanes<S: Simd>(dst: *mut f32, n: usize, val: S::V) {
    if n == S::LANES {
        S::store(dst, val);
        return;
    }
    const LANE: [f32; 16] = [
        0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0,
    ];
    let keep = S::gt(S::splat(n as f32), S::load(LANE.as_ptr()));
    S::store(dst, S::select(keep, val, S::load(dst)));
}

#[cfg(test)]
mod tests {
    use super::super::isa::kernels;
    use super::super::{conv2d_packed_f32, Activation, Conv2dParams, ConvFusion, Isa, Mode, PackedConvWeights};
    use super::{Tile, WinogradWeights};
    use crate::reference::eval_op;
    use crate::test_values::values;
    use lightos_ir::op::{ConvAttrs, Padding};
    use lightos_ir::{Op, Tensor};

    /// The reference convolution of `x` and `w` (with `bias`) for `p` with explicit `pads`.
    fn reference(p: &Conv2dParams, pads: [usize; 4], x: &[f32], w: &[f32], bias: Option<&[f32]>) -> Vec<f32> {
        let attrs = ConvAttrs {
            kernel: vec![3, 3],
            strides: p.strides.to_vec(),
            dilations: vec![1, 1],
            padding: Padding::Explicit(pads.to_vec()),
            group: 1,
        };
        let xt = Tensor::from_vec(vec![p.batch, p.in_channels, p.in_h, p.in_w], x.to_vec()).unwrap();
        let wt = Tensor::from_vec(p.weight_dims().unwrap().to_vec(), w.to_vec()).unwrap();
        let bt = bias.map(|b| Tensor::from_vec(vec![b.len()], b.to_vec()).unwrap());
        let out = eval_op(&Op::Conv(attrs), &[Some(&xt), Some(&wt), bt.as_ref()]).unwrap();
        out[0].as_slice::<f32>().unwrap().to_vec()
    }

    /// Fast-mode convolutions whose packed weights take the Winograd path agree with the
    /// reference within the rounding error of a reordered sum (relative to the sum of the
    /// terms' magnitudes), with the fused bias, residual and activation; odd and even
    /// sizes, several tile blocks, asymmetric and no padding, a batch; and give the same
    /// bits on 1, 2 and 3 threads.
    #[test]
    fn winograd_matches_the_reference_within_rounding() {
        /// `(batch, cin, cout, h, w, pads [top, left, bottom, right])`.
        type Case = (usize, usize, usize, usize, usize, [usize; 4]);
        let cases: &[Case] = &[
            (1, 8, 8, 6, 6, [1, 1, 1, 1]),
            (2, 9, 13, 7, 5, [1, 1, 1, 1]),
            (1, 16, 8, 11, 9, [0, 0, 0, 0]),
            (1, 8, 10, 5, 8, [2, 1, 0, 2]),
            (1, 32, 24, 23, 21, [1, 1, 1, 1]),
            (1, 8, 9, 3, 3, [1, 1, 1, 1]),
            (1, 16, 20, 13, 13, [1, 1, 1, 1]),
            (1, 24, 8, 30, 9, [1, 1, 1, 1]),
        ];
        for (seed, &(batch, cin, cout, h, w, pads)) in cases.iter().enumerate() {
            let mut p = Conv2dParams::new(batch, cin, [h, w], cout, [3, 3]);
            p.padding = Padding::Explicit(pads.to_vec());
            let seed = seed as u64 * 10;
            let x = values(seed + 1, batch * cin * h * w);
            let wt = values(seed + 2, cout * cin * 9);
            let bias = values(seed + 3, cout);
            let conv = reference(&p, pads, &x, &wt, Some(&bias));
            let abs_x: Vec<f32> = x.iter().map(|v| v.abs()).collect();
            let abs_w: Vec<f32> = wt.iter().map(|v| v.abs()).collect();
            let scale = reference(&p, pads, &abs_x, &abs_w, None);
            let res = values(seed + 4, conv.len());
            let fusion = ConvFusion {
                residual: Some(&res),
                residual_after_activation: false,
                activation: Activation::Relu,
                stages: &[],
            };
            for (isa, tile) in Isa::available()
                .into_iter()
                .flat_map(|isa| [(isa, Tile::F2x2), (isa, Tile::F4x4)])
            {
                let mut packed = PackedConvWeights::new(isa, Mode::Fast, &p, &wt).unwrap();
                assert!(packed.winograd.is_some(), "case {seed}: no Winograd weights");
                let mr = kernels(isa, Mode::Fast).mr;
                packed.winograd = Some(WinogradWeights::new(&wt, cout, cin, tile, mr));
                let mut first: Option<Vec<f32>> = None;
                for threads in [1, 2, 3] {
                    let mut out = vec![0.0f32; conv.len()];
                    conv2d_packed_f32(
                        isa,
                        Mode::Fast,
                        threads,
                        &p,
                        &x,
                        &wt,
                        &packed,
                        Some(&bias),
                        &fusion,
                        &mut out,
                    )
                    .unwrap();
                    for (i, &got) in out.iter().enumerate() {
                        let want = (conv[i] + res[i]).max(0.0);
                        let tol = 1e-5 * (scale[i] + bias[i / (conv.len() / batch / cout) % cout].abs() + res[i].abs());
                        assert!(
                            (got - want).abs() <= tol + 1e-6,
                            "case {seed} {isa:?} {tile:?} t{threads} element {i}: {got} vs {want} (tolerance {tol})"
                        );
                    }
                    match &first {
                        None => first = Some(out),
                        Some(f) => assert!(
                            f.iter().zip(&out).all(|(a, b)| a.to_bits() == b.to_bits()),
                            "case {seed} {isa:?} {tile:?}: {threads} threads change the bits"
                        ),
                    }
                }
            }
        }
    }

    /// The tile size follows the output size: `F(4x4, 3x3)` from 32 tiles of 4x4 up,
    /// `F(2x2, 3x3)` below and when the size is unknown (zero).
    #[test]
    fn the_tile_size_follows_the_output_size() {
        let isa = Isa::detect();
        let w = values(8, 8 * 8 * 9);
        let mut p = Conv2dParams::new(1, 8, [0, 0], 8, [3, 3]);
        p.padding = Padding::Explicit(vec![1; 4]);
        for (hw, tile) in [(0, 2), (7, 2), (14, 2), (20, 2), (21, 4), (28, 4), (56, 4)] {
            (p.in_h, p.in_w) = (hw, hw);
            assert_eq!(super::tile_for(&p).size(), tile, "{hw}x{hw}");
            let packed = PackedConvWeights::new(isa, Mode::Fast, &p, &w).unwrap();
            assert_eq!(packed.winograd.map(|u| u.tile.size()), Some(tile), "{hw}x{hw}");
        }
        (p.in_h, p.in_w) = (100, 14);
        assert_eq!(super::tile_for(&p).size(), 4, "100x14: 25 x 4 tiles");
    }

    /// Strict mode, non-finite weights and other geometries never make Winograd weights.
    #[test]
    fn winograd_is_only_for_fast_mode_with_finite_weights() {
        let isa = Isa::detect();
        let mut p = Conv2dParams::new(1, 8, [6, 6], 8, [3, 3]);
        let w = values(7, 8 * 8 * 9);
        assert!(PackedConvWeights::new(isa, Mode::Fast, &p, &w)
            .unwrap()
            .winograd
            .is_some());
        assert!(PackedConvWeights::new(isa, Mode::Strict, &p, &w)
            .unwrap()
            .winograd
            .is_none());
        let mut inf = w.clone();
        inf[5] = f32::INFINITY;
        assert!(PackedConvWeights::new(isa, Mode::Fast, &p, &inf)
            .unwrap()
            .winograd
            .is_none());
        p.strides = [2, 2];
        assert!(PackedConvWeights::new(isa, Mode::Fast, &p, &w)
            .unwrap()
            .winograd
            .is_none());
    }

    /// Weights packed (with Winograd transforms) for a stride-1 convolution and then used
    /// for a stride-2 one of the same weight dims take the direct path: the result is
    /// the strided convolution's, not a Winograd one of the wrong geometry.
    #[test]
    fn packed_winograd_weights_are_not_used_for_another_geometry() {
        let isa = Isa::detect();
        let mut p = Conv2dParams::new(1, 8, [9, 9], 8, [3, 3]);
        let (x, wt) = (values(11, 8 * 81), values(12, 8 * 8 * 9));
        let packed = PackedConvWeights::new(isa, Mode::Fast, &p, &wt).unwrap();
        assert!(packed.winograd.is_some());
        p.strides = [2, 2];
        let want = reference(&p, [0, 0, 0, 0], &x, &wt, None);
        let mut out = vec![0.0f32; want.len()];
        conv2d_packed_f32(
            isa,
            Mode::Fast,
            1,
            &p,
            &x,
            &wt,
            &packed,
            None,
            &ConvFusion::default(),
            &mut out,
        )
        .unwrap();
        for (got, want) in out.iter().zip(&want) {
            assert!((got - want).abs() <= 1e-5, "{got} vs {want}");
        }
    }
}
