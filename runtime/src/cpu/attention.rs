//! Scaled dot-product attention (`f32`, rank 4, no cache), bit-identical to the
//! reference kernel (`reference/ops/attention.rs`) in both modes.
//!
//! For batch `b`, query head `h` and key/value head `g = h / (q_heads / kv_heads)`, every
//! element is computed with the reference's scalar operations in the reference's order:
//!
//! 1. `k'[j][d] = k[j][d] * s` and `q'[i][d] = q[i][d] * s`, `s` given by the caller as
//!    the reference computes it (`r(sqrt(scale))`);
//! 2. `raw[i][j]`: from `+0.0` along `d` in order, a rounded multiply then a rounded add;
//! 3. `bias = mask term (or +0.0)`, plus `-inf` when the causal rule hides the key;
//!    `x = raw + bias`;
//! 4. the softmax of the reference's `softmax_row` in `f32`: `m = max(x)` (NaN wins, `0`
//!    when `-inf`), `e = exp(x - m)` with the reference's own `exp`, `sum = tree_sum(e)`
//!    (`1` when `0`), `p = e / sum`; a row whose bias is `-inf` everywhere gets `p = 0`;
//! 5. `y[i][e]`: from `+0.0` along `j` in order, a rounded multiply then a rounded add.
//!
//! The vectors run across independent outputs only (16 keys of one query row in step 2,
//! 16 value columns in step 5, up to 4 query rows sharing each load), so every lane keeps
//! the sequential order and a SIMD multiply then add is exact to the scalar loop; nothing
//! is fused in either mode. Work is split over query rows (a fixed split, [`split`]); each
//! row is computed whole by one thread, so the thread count never changes a bit.

use std::ops::Range;

use lightos_ir::QkOutput;

use super::threads::{run_parts, split};
use super::{CpuError, Isa};
use crate::reference::accumulate::tree_sum;
use crate::reference::attention_exp_f32;

/// Keys (in step 2) and value columns (in step 5) per vector tile.
const W: usize = 16;
/// Query rows per tile.
const R: usize = 4;

/// The sizes of an attention: `Q [batch, q_heads, q_len, head_size]`,
/// `K [batch, kv_heads, kv_len, head_size]`, `V [batch, kv_heads, kv_len, v_size]`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct AttentionDims {
    /// Batch size.
    pub batch: usize,
    /// Query heads (a multiple of `kv_heads`).
    pub q_heads: usize,
    /// Key/value heads.
    pub kv_heads: usize,
    /// Queries per head.
    pub q_len: usize,
    /// Keys per head.
    pub kv_len: usize,
    /// Query and key head size.
    pub head_size: usize,
    /// Value head size.
    pub v_size: usize,
}

/// An additive mask broadcast to `[batch, q_heads, q_len, len]`: the term of key `j` of
/// query `(b, h, i)` is `values[b * strides[0] + h * strides[1] + i * strides[2] + j]` for
/// `j < len`, `-inf` past it.
#[derive(Copy, Clone, Debug)]
pub struct AttentionMask<'a> {
    /// The terms.
    pub values: &'a [f32],
    /// Element strides of the batch, head and query axes (0 where broadcast).
    pub strides: [usize; 3],
    /// Keys the mask covers.
    pub len: usize,
}

/// What one attention computes besides its operands.
#[derive(Copy, Clone, Debug)]
pub struct AttentionParams<'a> {
    /// The factor applied to both `q` and `k` (`r(sqrt(scale))`).
    pub s: f32,
    /// Apply the causal rule (`j <= i`).
    pub causal: bool,
    /// The mask, if any.
    pub mask: Option<AttentionMask<'a>>,
    /// What `qk` receives: raw scores (also the soft-capped ones: there is no soft cap
    /// here), biased scores, or the softmax.
    pub qk_output: QkOutput,
}

fn check(what: &'static str, got: usize, expected: usize) -> Result<(), CpuError> {
    if got == expected {
        Ok(())
    } else {
        Err(CpuError::Size { what, expected, got })
    }
}

fn product(dims: &[usize]) -> Result<usize, CpuError> {
    dims.iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| CpuError::Overflow(format!("attention size {dims:?}")))
}

/// Attention into `y` (`[batch, q_heads, q_len, v_size]`) and `qk`
/// (`[batch, q_heads, q_len, kv_len]`, per `p.qk_output`), on `threads` threads.
#[allow(clippy::too_many_arguments)]
pub fn attention_f32(
    isa: Isa,
    threads: usize,
    dims: &AttentionDims,
    q: &[f32],
    k: &[f32],
    v: &[f32],
    p: &AttentionParams<'_>,
    y: &mut [f32],
    qk: &mut [f32],
) -> Result<(), CpuError> {
    let d = *dims;
    if d.kv_heads == 0 || !d.q_heads.is_multiple_of(d.kv_heads) {
        return Err(CpuError::Invalid(format!(
            "query heads {} are not a multiple of key/value heads {}",
            d.q_heads, d.kv_heads
        )));
    }
    let rows = product(&[d.batch, d.q_heads, d.q_len])?;
    check("Q", q.len(), product(&[rows, d.head_size])?)?;
    check("K", k.len(), product(&[d.batch, d.kv_heads, d.kv_len, d.head_size])?)?;
    check("V", v.len(), product(&[d.batch, d.kv_heads, d.kv_len, d.v_size])?)?;
    check("Y", y.len(), product(&[rows, d.v_size])?)?;
    check("qk", qk.len(), product(&[rows, d.kv_len])?)?;
    if let Some(m) = &p.mask {
        if m.len > d.kv_len {
            return Err(CpuError::Invalid(format!(
                "the mask has {} keys of {}",
                m.len, d.kv_len
            )));
        }
        let last = [d.batch, d.q_heads, d.q_len]
            .iter()
            .zip(m.strides)
            .try_fold(m.len, |a, (&n, s)| a.checked_add(n.saturating_sub(1).checked_mul(s)?))
            .ok_or_else(|| CpuError::Overflow("attention mask".into()))?;
        if rows > 0 && m.len > 0 && last > m.values.len() {
            return Err(CpuError::Size {
                what: "mask",
                expected: last,
                got: m.values.len(),
            });
        }
    }
    if rows == 0 {
        return Ok(());
    }

    // Step 1 for the keys, once per (batch, key head): `k'` transposed to
    // `[head_size, kv_len]`, so 16 keys of one `d` are contiguous.
    let heads = d.batch * d.kv_heads;
    let per_head = d.head_size * d.kv_len;
    let mut kt = vec![0f32; heads * per_head];
    if per_head > 0 {
        let parts = split(heads, threads);
        let mut chunks = chunk(&mut kt, &parts, per_head);
        run_parts(&parts, &mut chunks, |range, out| {
            for (n, hd) in range.enumerate() {
                let src = &k[hd * per_head..(hd + 1) * per_head];
                let dst = &mut out[n * per_head..(n + 1) * per_head];
                for (j, key) in src.chunks_exact(d.head_size).enumerate() {
                    for (c, &x) in key.iter().enumerate() {
                        dst[c * d.kv_len + j] = x * p.s;
                    }
                }
            }
        });
    }

    let ctx = Ctx {
        d,
        q,
        kt: &kt,
        v,
        p,
        avx2: matches!(isa, Isa::Avx2 | Isa::Avx512) && isa.is_available(),
    };
    let parts = split(rows, threads);
    let mut ys = chunk(y, &parts, d.v_size);
    let mut qks = chunk(qk, &parts, d.kv_len);
    let mut state: Vec<(&mut [f32], &mut [f32])> = ys
        .iter_mut()
        .map(|y| &mut **y)
        .zip(qks.iter_mut().map(|q| &mut **q))
        .collect();
    run_parts(&parts, &mut state, |range, (y, qk)| ctx.rows(range, y, qk));
    Ok(())
}

/// `buf` cut into one chunk per part, `unit` elements per unit of the part.
fn chunk<'a>(buf: &'a mut [f32], parts: &[Range<usize>], unit: usize) -> Vec<&'a mut [f32]> {
    let mut rest = buf;
    let mut out = Vec::with_capacity(parts.len());
    for part in parts {
        let (head, tail) = std::mem::take(&mut rest).split_at_mut(part.len() * unit);
        out.push(head);
        rest = tail;
    }
    out
}

/// What every part reads.
struct Ctx<'a> {
    d: AttentionDims,
    q: &'a [f32],
    /// `k'`, per (batch, key head) `[head_size, kv_len]`.
    kt: &'a [f32],
    v: &'a [f32],
    p: &'a AttentionParams<'a>,
    /// Run the tiles compiled for AVX2.
    avx2: bool,
}

/// Per-part scratch rows.
struct Scratch {
    /// `q'` of the tile's rows, `[R, head_size]`.
    qs: Vec<f32>,
    /// Raw scores of the tile's rows, `[R, kv_len]`.
    raw: Vec<f32>,
    /// Probabilities of the tile's rows, `[R, kv_len]`.
    p: Vec<f32>,
    /// The biased scores of one row.
    x: Vec<f32>,
    /// The bias of one row.
    bias: Vec<f32>,
    /// The exponentials of one row.
    e: Vec<f32>,
}

impl Ctx<'_> {
    /// Query rows `range` (global, over `[batch, q_heads, q_len]`) into `y` and `qk`, the
    /// rows' own chunks.
    fn rows(&self, range: Range<usize>, y: &mut [f32], qk: &mut [f32]) {
        let d = self.d;
        let (n, hd) = (d.kv_len, d.head_size);
        let mut s = Scratch {
            qs: vec![0.0; R * hd],
            raw: vec![0.0; R * n],
            p: vec![0.0; R * n],
            x: vec![0.0; n],
            bias: vec![0.0; n],
            e: vec![0.0; n],
        };
        let group = d.q_heads / d.kv_heads;
        let mut r = range.start;
        while r < range.end {
            let (bh, i) = (r / d.q_len, r % d.q_len);
            let rows = (range.end - r).min(d.q_len - i).min(R);
            let (b, h) = (bh / d.q_heads, bh % d.q_heads);
            let g = b * d.kv_heads + h / group;
            let local = r - range.start;
            for t in 0..rows {
                let src = &self.q[(r + t) * hd..(r + t + 1) * hd];
                for (o, &x) in s.qs[t * hd..(t + 1) * hd].iter_mut().zip(src) {
                    *o = x * self.p.s;
                }
            }
            let kt = &self.kt[g * hd * n..(g + 1) * hd * n];
            let vh = &self.v[g * n * d.v_size..(g + 1) * n * d.v_size];
            self.scores(rows, kt, &mut s);
            for t in 0..rows {
                let qk_row = &mut qk[(local + t) * n..(local + t + 1) * n];
                self.softmax(b, h, i + t, t, qk_row, &mut s);
            }
            let out = &mut y[local * d.v_size..(local + rows) * d.v_size];
            self.values(rows, vh, &s.p, out);
            r += rows;
        }
    }

    /// Step 2 for `rows` rows: `s.raw[t][j] = dot(q'[t], k'[j])`.
    fn scores(&self, rows: usize, kt: &[f32], s: &mut Scratch) {
        let (n, hd) = (self.d.kv_len, self.d.head_size);
        let (qs, raw) = (&s.qs[..], &mut s.raw[..]);
        #[cfg(target_arch = "x86_64")]
        if self.avx2 {
            // SAFETY: `avx2` is set only where the CPU has AVX2.
            unsafe { x86::scores_avx2(rows, n, hd, qs, kt, raw) };
            return;
        }
        scores_tiles(rows, n, hd, qs, kt, raw);
    }

    /// Step 5 for `rows` rows: `out[t][e] = dot(p[t], v[·][e])`.
    fn values(&self, rows: usize, vh: &[f32], p: &[f32], out: &mut [f32]) {
        let (n, dv) = (self.d.kv_len, self.d.v_size);
        #[cfg(target_arch = "x86_64")]
        if self.avx2 {
            // SAFETY: `avx2` is set only where the CPU has AVX2.
            unsafe { x86::values_avx2(rows, n, dv, p, vh, out) };
            return;
        }
        values_tiles(rows, n, dv, p, vh, out);
    }

    /// Steps 3 and 4 for query `(b, h, i)`, tile row `t`: `s.p[t]` and the `qk` row.
    fn softmax(&self, b: usize, h: usize, i: usize, t: usize, qk: &mut [f32], s: &mut Scratch) {
        let n = self.d.kv_len;
        let raw = &s.raw[t * n..(t + 1) * n];
        let ninf = f32::NEG_INFINITY;
        let mask = self.p.mask.as_ref().map(|m| {
            let at = b * m.strides[0] + h * m.strides[1] + i * m.strides[2];
            (m, at)
        });
        for (j, ((bias, x), &raw)) in s.bias.iter_mut().zip(s.x.iter_mut()).zip(raw).enumerate() {
            let mut bj = match mask {
                Some((m, _)) if j >= m.len => ninf,
                Some((m, at)) => m.values[at + j],
                None => 0.0,
            };
            if self.p.causal && j > i {
                bj += ninf;
            }
            *bias = bj;
            *x = raw + bj;
        }
        match self.p.qk_output {
            QkOutput::Raw | QkOutput::Softcapped => qk.copy_from_slice(raw),
            QkOutput::Biased => qk.copy_from_slice(&s.x),
            QkOutput::Softmax => {}
        }
        let p = &mut s.p[t * n..(t + 1) * n];
        softmax_row(&s.x, &mut s.e, p);
        let masked_row = n > 0 && {
            let mut m = s.bias[0];
            let mut nan = false;
            for &v in &s.bias {
                nan |= v.is_nan();
                if v > m {
                    m = v;
                }
            }
            !nan && m == ninf
        };
        if masked_row {
            p.fill(0.0);
        }
        if self.p.qk_output == QkOutput::Softmax {
            qk.copy_from_slice(p);
        }
    }
}

/// The reference's `softmax_row` in `f32` (with `f32` values the rounding to the
/// precision and back is exact): `p = exp(x - m) / tree_sum(exp(x - m))`.
fn softmax_row(x: &[f32], e: &mut [f32], p: &mut [f32]) {
    let Some(&first) = x.first() else { return };
    let mut m = first;
    for &v in x {
        if v.is_nan() {
            m = v;
            break;
        }
        if v > m {
            m = v;
        }
    }
    if m == f32::NEG_INFINITY {
        m = 0.0;
    }
    for (o, &v) in e.iter_mut().zip(x) {
        *o = attention_exp_f32(v - m);
    }
    let mut sum = tree_sum(e.iter().copied());
    if sum == 0.0 {
        sum = 1.0;
    }
    for (o, &v) in p.iter_mut().zip(e.iter()) {
        *o = v / sum;
    }
}

/// Step 2 on tiles of up to [`R`] rows and [`W`] keys: `raw[t][j]` from `+0.0` along
/// `d` in order, `acc = acc + q'[t][d] * k'[d][j]`. `qs` is `[R, hd]`, `kt` is `[hd, n]`,
/// `raw` is `[R, n]`.
#[inline(always)]
fn scores_tiles(rows: usize, n: usize, hd: usize, qs: &[f32], kt: &[f32], raw: &mut [f32]) {
    match rows {
        1 => scores_tile::<1>(n, hd, qs, kt, raw),
        2 => scores_tile::<2>(n, hd, qs, kt, raw),
        3 => scores_tile::<3>(n, hd, qs, kt, raw),
        _ => scores_tile::<R>(n, hd, qs, kt, raw),
    }
}

#[inline(always)]
fn scores_tile<const T: usize>(n: usize, hd: usize, qs: &[f32], kt: &[f32], raw: &mut [f32]) {
    let full = n - n % W;
    for j0 in (0..full).step_by(W) {
        let mut acc = [[0f32; W]; T];
        for c in 0..hd {
            let kr: &[f32; W] = kt[c * n + j0..c * n + j0 + W].try_into().unwrap_or(&[0.0; W]);
            for (t, a) in acc.iter_mut().enumerate() {
                let qd = qs[t * hd + c];
                for (x, &kv) in a.iter_mut().zip(kr) {
                    *x += qd * kv;
                }
            }
        }
        for (t, a) in acc.iter().enumerate() {
            raw[t * n + j0..t * n + j0 + W].copy_from_slice(a);
        }
    }
    for j in full..n {
        for t in 0..T {
            let mut acc = 0f32;
            for c in 0..hd {
                acc += qs[t * hd + c] * kt[c * n + j];
            }
            raw[t * n + j] = acc;
        }
    }
}

/// Step 5 on tiles of up to [`R`] rows and [`W`] value columns: `out[t][e]` from `+0.0`
/// along `j` in order, `acc = acc + p[t][j] * v[j][e]`. `p` is `[R, n]`, `vh` is
/// `[n, dv]`, `out` is `[rows, dv]`.
#[inline(always)]
fn values_tiles(rows: usize, n: usize, dv: usize, p: &[f32], vh: &[f32], out: &mut [f32]) {
    match rows {
        1 => values_tile::<1>(n, dv, p, vh, out),
        2 => values_tile::<2>(n, dv, p, vh, out),
        3 => values_tile::<3>(n, dv, p, vh, out),
        _ => values_tile::<R>(n, dv, p, vh, out),
    }
}

#[inline(always)]
fn values_tile<const T: usize>(n: usize, dv: usize, p: &[f32], vh: &[f32], out: &mut [f32]) {
    let full = dv - dv % W;
    for e0 in (0..full).step_by(W) {
        let mut acc = [[0f32; W]; T];
        for j in 0..n {
            let vr: &[f32; W] = vh[j * dv + e0..j * dv + e0 + W].try_into().unwrap_or(&[0.0; W]);
            for (t, a) in acc.iter_mut().enumerate() {
                let pj = p[t * n + j];
                for (x, &vv) in a.iter_mut().zip(vr) {
                    *x += pj * vv;
                }
            }
        }
        for (t, a) in acc.iter().enumerate() {
            out[t * dv + e0..t * dv + e0 + W].copy_from_slice(a);
        }
    }
    for e in full..dv {
        for t in 0..T {
            let mut acc = 0f32;
            for j in 0..n {
                acc += p[t * n + j] * vh[j * dv + e];
            }
            out[t * dv + e] = acc;
        }
    }
}

/// The tiles compiled for AVX2 (the compiler vectorizes the lanes; Rust never fuses a
/// multiply and an add, so the bits are the portable code's).
#[cfg(target_arch = "x86_64")]
mod x86 {
    /// [`super::scores_tiles`] with AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn scores_avx2(rows: usize, n: usize, hd: usize, qs: &[f32], kt: &[f32], raw: &mut [f32]) {
        super::scores_tiles(rows, n, hd, qs, kt, raw)
    }

    /// [`super::values_tiles`] with AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn values_avx2(rows: usize, n: usize, dv: usize, p: &[f32], vh: &[f32], out: &mut [f32]) {
        super::values_tiles(rows, n, dv, p, vh, out)
    }
}
