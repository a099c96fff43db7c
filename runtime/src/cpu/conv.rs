//! 2-d convolution (NCHW) as GEMM.
//!
//! For image `n` and group `g`, the output channels of the group are the rows of
//! `C[cout_g, OH * OW] = W_g[cout_g, K] * B[K, OH * OW]`, with `K = cin_g * KH * KW` in the
//! reference's order `(ci, kh, kw)`. `W_g` is the weight tensor as it is (row-major), and
//! `B` is never materialised: the GEMM's B packing reads it straight from the input
//! (implicit im2col), one `NR`-column panel at a time right before the microkernel uses
//! it. A 1x1 convolution with unit strides and no padding packs the input itself as B.
//!
//! Padding. A padded convolution first copies the input once into zero-padded planes, so
//! that every kernel tap reads inside them and a panel row is one contiguous copy. The
//! reference skips kernel positions in the padding; the padded copy instead adds
//! `acc + 0 * w` there. While `w` is finite that is `acc + (+-0)`,
//! which is `acc` bit for bit: `acc` starts at `+0.0` and round-to-nearest never makes a
//! sum `-0` from a `+0` start (`+0 + -0 = +0`, `a + -a = +0`), so adding a signed zero
//! never changes it. With fma (fast mode) it is `fma(0, w, acc) = acc` alike. An infinite
//! or NaN weight would turn the padding into NaN, so when the weights hold one and the
//! geometry has padding, both modes run a direct loop in the reference's order instead.
//!
//! Column stride 2. The (padded) input is then also split once into the even and odd
//! columns of every row, so each packed panel row is one contiguous copy rather than a
//! strided gather; the values packed, and so the bits, are the same.

use lightos_ir::infer::conv_geometry;
use lightos_ir::op::Padding;

use super::chain::ChainStage;
use super::gemm::{expect_len, mul, pack_a, run_region, Activation, BSource, MatRef, PackB, Problem};
use super::isa::{kernels, Isa};
use super::kernel::{epilogue_vec, EpiRaw};
use super::phase::PhaseOps;
use super::simd::{simd_dispatch, Scalar};
use super::threads::{self, SharedOut};
use super::winograd::{self, WinogradWeights};
use super::{CpuError, Mode};

/// The shape and attributes of a 2-d convolution over NCHW tensors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conv2dParams {
    /// Images in the batch (N).
    pub batch: usize,
    /// Input channels (C).
    pub in_channels: usize,
    /// Input height (H).
    pub in_h: usize,
    /// Input width (W).
    pub in_w: usize,
    /// Output channels (the weight's first axis).
    pub out_channels: usize,
    /// Kernel `[height, width]`.
    pub kernel: [usize; 2],
    /// Strides `[height, width]`.
    pub strides: [usize; 2],
    /// Dilations `[height, width]`.
    pub dilations: [usize; 2],
    /// Padding, resolved with [`conv_geometry`] exactly as the reference does.
    pub padding: Padding,
    /// Groups; `in_channels` and `out_channels` must be multiples of it.
    pub groups: usize,
}

impl Conv2dParams {
    /// A convolution with unit strides and dilations, no padding and one group.
    pub fn new(
        batch: usize,
        in_channels: usize,
        in_hw: [usize; 2],
        out_channels: usize,
        kernel: [usize; 2],
    ) -> Conv2dParams {
        Conv2dParams {
            batch,
            in_channels,
            in_h: in_hw[0],
            in_w: in_hw[1],
            out_channels,
            kernel,
            strides: [1, 1],
            dilations: [1, 1],
            padding: Padding::Explicit(vec![0; 4]),
            groups: 1,
        }
    }

    /// The output shape `[N, out_channels, OH, OW]`.
    pub fn output_dims(&self) -> Result<[usize; 4], CpuError> {
        let g = self.geometry()?;
        Ok([self.batch, self.out_channels, g.oh, g.ow])
    }

    /// The weight shape `[out_channels, in_channels / groups, KH, KW]`.
    pub fn weight_dims(&self) -> Result<[usize; 4], CpuError> {
        self.check_groups()?;
        Ok([
            self.out_channels,
            self.in_channels / self.groups,
            self.kernel[0],
            self.kernel[1],
        ])
    }

    /// Fails unless the channel counts fit the groups.
    fn check_groups(&self) -> Result<(), CpuError> {
        let g = self.groups;
        if g == 0 || !self.in_channels.is_multiple_of(g) || !self.out_channels.is_multiple_of(g) {
            return Err(CpuError::Invalid(format!(
                "{} input and {} output channels do not fit {g} groups",
                self.in_channels, self.out_channels
            )));
        }
        Ok(())
    }

    /// Output sizes and begin pads.
    fn geometry(&self) -> Result<Geometry, CpuError> {
        self.check_groups()?;
        let geo = conv_geometry(
            &[self.in_h, self.in_w],
            &self.kernel,
            &self.strides,
            &self.dilations,
            &self.padding,
            false,
        )
        .map_err(|e| CpuError::Invalid(format!("convolution geometry: {e}")))?;
        let padded = geo.pad_begin.iter().chain(&geo.pad_end).any(|&p| p > 0);
        Ok(Geometry {
            oh: geo.output[0],
            ow: geo.output[1],
            pad_top: geo.pad_begin[0],
            pad_left: geo.pad_begin[1],
            pad_bottom: geo.pad_end[0],
            pad_right: geo.pad_end[1],
            padded,
        })
    }
}

/// Resolved output sizes and padding.
#[derive(Copy, Clone, Debug)]
pub(crate) struct Geometry {
    /// Output height.
    pub(crate) oh: usize,
    /// Output width.
    pub(crate) ow: usize,
    /// Padding above.
    pub(crate) pad_top: usize,
    /// Padding on the left.
    pub(crate) pad_left: usize,
    /// Padding below.
    pad_bottom: usize,
    /// Padding on the right.
    pad_right: usize,
    /// Whether any pad is nonzero.
    padded: bool,
}

/// What is fused after the bias of a convolution: `act(stages(acc + bias) [+ r])` or
/// `act(stages(acc + bias)) + r`, one rounded operation per step.
#[derive(Copy, Clone, Debug, Default)]
pub struct ConvFusion<'a> {
    /// A residual of the output's shape, added before the activation (or after it with
    /// `residual_after_activation`).
    pub residual: Option<&'a [f32]>,
    /// Add the residual after the activation.
    pub residual_after_activation: bool,
    /// The activation.
    pub activation: Activation,
    /// Per-channel stages (batch norm, scale, shift) applied after the bias and before
    /// the residual and the activation, each with one value per output channel; no
    /// activation stages (the activation above comes after the residual).
    pub stages: &'a [ChainStage<'a>],
}

/// `out = conv(x, w) + bias` (ONNX `Conv` on 4-d `f32` tensors) on the widest
/// instruction set of this CPU, on `threads` threads.
///
/// `x` is `[N, C, H, W]`, `w` is [`Conv2dParams::weight_dims`], `bias` has one value per
/// output channel, `out` is [`Conv2dParams::output_dims`]. In [`Mode::Strict`] the result
/// is bit-identical to the reference `Conv`; in [`Mode::Fast`] it is the same from run to
/// run and for every thread count.
pub fn conv2d_f32(
    mode: Mode,
    threads: usize,
    p: &Conv2dParams,
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    out: &mut [f32],
) -> Result<(), CpuError> {
    conv2d_fused_f32(Isa::detect(), mode, threads, p, x, w, bias, &ConvFusion::default(), out)
}

/// [`conv2d_f32`] on instruction set `isa`, with a fused residual and activation.
#[allow(clippy::too_many_arguments)]
pub fn conv2d_fused_f32(
    isa: Isa,
    mode: Mode,
    threads: usize,
    p: &Conv2dParams,
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    fusion: &ConvFusion,
    out: &mut [f32],
) -> Result<(), CpuError> {
    conv_from(isa, mode, threads, p, x, w, None, bias, fusion, out)
}

/// The weights of a convolution packed once for one instruction set and mode (the A
/// panels of every group's GEMM), so repeated calls skip packing them.
#[derive(Clone, Debug)]
pub struct PackedConvWeights {
    /// The instruction set it was packed for.
    isa: Isa,
    /// The mode it was packed for.
    mode: Mode,
    /// The weight dims it was packed from.
    dims: [usize; 4],
    /// The groups.
    groups: usize,
    /// The packed panels, group after group.
    data: Vec<f32>,
    /// Whether every weight is finite (padding then may take part as zeros).
    finite: bool,
    /// The Winograd-transformed weights, in fast mode for the convolutions
    /// [`winograd::applies`] to, with finite weights.
    pub(super) winograd: Option<WinogradWeights>,
}

impl PackedConvWeights {
    /// Packs the weights `w` of the convolution `p` for `isa` and `mode`.
    pub fn new(isa: Isa, mode: Mode, p: &Conv2dParams, w: &[f32]) -> Result<PackedConvWeights, CpuError> {
        super::gemm::check_config(isa, 1)?;
        let dims = p.weight_dims()?;
        let (cout_g, k) = (p.out_channels / p.groups, dims[1] * dims[2] * dims[3]);
        expect_len("weight", mul(p.out_channels, k, "weight")?, w.len())?;
        let ks = kernels(isa, mode);
        let mut data = Vec::new();
        for g in 0..p.groups {
            let wg = &w[g * cout_g * k..(g + 1) * cout_g * k];
            pack_a(&MatRef::row_major(wg, cout_g, k), ks.mr, &mut data);
        }
        let finite = w.iter().all(|v| v.is_finite());
        let winograd = (mode == Mode::Fast && finite && winograd::applies(p))
            .then(|| WinogradWeights::new(w, p.out_channels, p.in_channels, winograd::tile_for(p), ks.mr));
        Ok(PackedConvWeights {
            isa,
            mode,
            dims,
            groups: p.groups,
            data,
            finite,
            winograd,
        })
    }
}

impl PackedConvWeights {
    /// Whether the convolution runs as Winograd `F(4x4, 3x3)` or `F(2x2, 3x3)` (fast mode, 3x3 kernel,
    /// unit strides and dilations, one group, at least 8 input and output channels,
    /// finite weights); see the `winograd` module for how its numbers differ.
    pub fn is_winograd(&self) -> bool {
        self.winograd.is_some()
    }
}

/// [`conv2d_fused_f32`] with weights also packed ahead of time by
/// [`PackedConvWeights::new`] (from `w`, for the same `isa`, `mode` and `p`): the same
/// bits, without packing `w` again.
#[allow(clippy::too_many_arguments)]
pub fn conv2d_packed_f32(
    isa: Isa,
    mode: Mode,
    threads: usize,
    p: &Conv2dParams,
    x: &[f32],
    w: &[f32],
    packed: &PackedConvWeights,
    bias: Option<&[f32]>,
    fusion: &ConvFusion,
    out: &mut [f32],
) -> Result<(), CpuError> {
    if (packed.isa, packed.mode, packed.groups) != (isa, mode, p.groups) || packed.dims != p.weight_dims()? {
        return Err(CpuError::Invalid(
            "the packed weights were made for another convolution, instruction set or mode".into(),
        ));
    }
    conv_from(isa, mode, threads, p, x, w, Some(packed), bias, fusion, out)
}

/// The convolution behind [`conv2d_fused_f32`] and [`conv2d_packed_f32`].
#[allow(clippy::too_many_arguments)]
fn conv_from(
    isa: Isa,
    mode: Mode,
    threads: usize,
    p: &Conv2dParams,
    x: &[f32],
    w: &[f32],
    prepacked: Option<&PackedConvWeights>,
    bias: Option<&[f32]>,
    fusion: &ConvFusion,
    out: &mut [f32],
) -> Result<(), CpuError> {
    super::gemm::check_config(isa, threads)?;
    let geo = p.geometry()?;
    let (hw, ohw) = (
        mul(p.in_h, p.in_w, "input plane")?,
        mul(geo.oh, geo.ow, "output plane")?,
    );
    let (cin_g, cout_g) = (p.in_channels / p.groups, p.out_channels / p.groups);
    let taps = mul(p.kernel[0], p.kernel[1], "kernel")?;
    let k = mul(cin_g, taps, "K")?;
    expect_len(
        "input",
        mul(mul(p.batch, p.in_channels, "input")?, hw, "input")?,
        x.len(),
    )?;
    expect_len("weight", mul(p.out_channels, k, "weight")?, w.len())?;
    let out_len = mul(mul(p.batch, p.out_channels, "output")?, ohw, "output")?;
    expect_len("output", out_len, out.len())?;
    if let Some(b) = bias {
        expect_len("bias", p.out_channels, b.len())?;
    }
    if let Some(r) = fusion.residual {
        expect_len("residual", out_len, r.len())?;
    }
    for stage in fusion.stages {
        if matches!(stage, ChainStage::Activation(_)) {
            return Err(CpuError::Invalid(
                "fused convolution stages are per-channel arithmetic; the activation is its own field".into(),
            ));
        }
        stage.check(p.out_channels)?;
    }
    if out_len == 0 {
        return Ok(());
    }
    let mut cv = ConvView {
        p,
        geo,
        hw,
        ohw,
        cin_g,
        cout_g,
        k,
        bias,
        fusion,
        taps: Vec::new(),
    };
    if cin_g == 1 && cout_g == 1 {
        super::depthwise::depthwise(&cv, isa, threads, x, w, out);
        return Ok(());
    }
    let all_finite = || prepacked.map_or_else(|| w.iter().all(|v| v.is_finite()), |pre| pre.finite);
    if geo.padded && !all_finite() {
        direct(&cv, x, w, out);
        return Ok(());
    }
    let ks = kernels(isa, mode);
    // (The packed weights are checked against the weight dims only, so the geometry is
    // checked here too.)
    if let Some(u) = prepacked
        .and_then(|pre| pre.winograd.as_ref())
        .filter(|_| winograd::applies(p))
    {
        winograd::conv(&cv, &ks, isa, threads, x, u, out);
        return Ok(());
    }
    let one_by_one = p.kernel == [1, 1] && p.strides == [1, 1] && !geo.padded;
    // The padded input's sizes (the input itself when there is no padding).
    let (hp, wp) = (
        p.in_h + geo.pad_top + geo.pad_bottom,
        p.in_w + geo.pad_left + geo.pad_right,
    );
    let plane_p = mul(hp, wp, "padded input")?;
    mul(mul(p.batch, p.in_channels, "padded input")?, plane_p, "padded input")?;
    // With a column stride of 2 the (padded) input is split once into the even and odd
    // columns of each row, so every im2col row reads a contiguous run instead of a
    // strided gather: padded column `c` of a row is at `(c % 2) * wq + c / 2`.
    let split = p.strides[1] == 2 && !one_by_one;
    let wq = wp.div_ceil(2);
    let (width, plane_s) = if split { (2 * wq, hp * 2 * wq) } else { (wp, plane_p) };
    if !one_by_one {
        cv.taps = all_taps(
            p,
            cin_g,
            plane_s,
            width,
            |c| if split { (c % 2) * wq + c / 2 } else { c },
        );
    }
    let a_len = mul(mul(cout_g.div_ceil(ks.mr), ks.mr, "packed weight")?, k, "packed weight")?;
    mul(a_len, p.groups, "packed weight")?;
    let col_tiles = ohw.div_ceil(ks.nr);
    let row_parts = row_parts(p.batch * p.groups, col_tiles, ohw, ks.nr, cout_g, ks.mr, threads);
    let row_ranges: Vec<std::ops::Range<usize>> = threads::split(cout_g.div_ceil(ks.mr), row_parts)
        .into_iter()
        .map(|r| r.start * ks.mr..(r.end * ks.mr).min(cout_g))
        .collect();
    // Units: column tiles, within row parts, within images and groups.
    let units = p.batch * p.groups * row_ranges.len() * col_tiles;
    let parts = threads::split(units, threads * threads::BALANCE);
    let workers = threads.min(parts.len());
    let outp = SharedOut(out.as_mut_ptr());
    threads::with_buffers(3 + workers, |bufs| {
        let (shared, bbufs) = bufs.split_at_mut(3);
        let [packed, xpad, xsplit] = shared else {
            unreachable!("three shared buffers")
        };
        let packed = match prepacked {
            Some(pre) => &pre.data[..],
            None => {
                for g in 0..p.groups {
                    let wg = &w[g * cout_g * k..(g + 1) * cout_g * k];
                    pack_a(&MatRef::row_major(wg, cout_g, k), ks.mr, packed);
                }
                &packed[..]
            }
        };
        // Convolution over the zero-padded input has no padding: every tap is inside.
        let (xsrc, plane) = if split {
            pad_split_input(isa, threads, p, &geo, x, wq, xsplit);
            (&xsplit[..], plane_s)
        } else if geo.padded {
            pad_input(p, &geo, x, xpad);
            (&xpad[..], plane_p)
        } else {
            (x, hw)
        };
        threads::run_balanced(&parts, bbufs, |part, bbuf| {
            let mut u = part.start;
            while u < part.end {
                let (ngr, t0) = (u / col_tiles, u % col_tiles);
                let t1 = col_tiles.min(t0 + (part.end - u));
                u += t1 - t0;
                let (ng, rows) = (ngr / row_ranges.len(), row_ranges[ngr % row_ranges.len()].clone());
                let (n, g) = (ng / p.groups, ng % p.groups);
                let xs = &xsrc[(n * p.in_channels + g * cin_g) * plane..][..cin_g * plane];
                let im2col = Im2col {
                    x: xs,
                    taps: &cv.taps,
                    width,
                    ow: geo.ow,
                    strides: if split { [p.strides[0], 1] } else { p.strides },
                };
                let direct_b = MatRef::row_major(xs, cin_g, hw);
                let b: BSource = if one_by_one {
                    BSource::Pack(&direct_b)
                } else {
                    BSource::Pack(&im2col)
                };
                let pr = Problem {
                    k,
                    packed_a: &packed[g * a_len..(g + 1) * a_len],
                    b,
                    // SAFETY: in bounds: `(n, g)` is a valid image and group.
                    c: unsafe { outp.get().add((n * p.out_channels + g * cout_g) * ohw) },
                    ldc: ohw,
                    epi: cv.epilogue(n, g),
                };
                let cols = t0 * ks.nr..(t1 * ks.nr).min(ohw);
                // SAFETY: the kernels were checked available; units own disjoint tiles.
                unsafe { run_region(&ks, &pr, rows, cols, bbuf) };
            }
        });
    });
    Ok(())
}

/// Into how many parts to split each image and group's output channels (rows), so that
/// `threads` threads get even shares: one, unless splitting the `planes * col_tiles`
/// column tiles alone would leave the busiest thread with more than 5% over its share of
/// the `planes * cols` columns (a few tiles, or a short last one, as on 7x7 and 14x14
/// images) while `threads` row parts would not. Every element is computed the same way
/// whichever thread computes it, so this never changes a bit.
fn row_parts(planes: usize, col_tiles: usize, cols: usize, nr: usize, rows: usize, mr: usize, threads: usize) -> usize {
    if threads <= 1 {
        return 1;
    }
    // The largest share of real columns (rows) any thread gets, over the even share.
    let worst = |tiles: usize, tile: usize, len: usize, count: usize, parts: usize| {
        let real = |t: usize| (len - (t % tiles) * tile).min(tile);
        let most = threads::split(count * tiles, parts)
            .into_iter()
            .map(|r| r.map(real).sum::<usize>())
            .max()
            .unwrap_or(0);
        most as f64 * parts as f64 / (count * len) as f64
    };
    let by_cols = worst(col_tiles, nr, cols, planes, threads);
    if by_cols <= 1.05 || rows.div_ceil(mr) < threads {
        return 1;
    }
    let by_rows = worst(rows.div_ceil(mr), mr, rows, planes, threads);
    if by_rows < by_cols {
        threads
    } else {
        1
    }
}

/// A checked convolution call.
pub(crate) struct ConvView<'a> {
    /// The parameters.
    pub(crate) p: &'a Conv2dParams,
    /// The geometry.
    pub(crate) geo: Geometry,
    /// Input plane size.
    pub(crate) hw: usize,
    /// Output plane size.
    pub(crate) ohw: usize,
    /// Input channels per group.
    pub(crate) cin_g: usize,
    /// Output channels per group.
    pub(crate) cout_g: usize,
    /// GEMM K.
    k: usize,
    /// Bias.
    bias: Option<&'a [f32]>,
    /// Fused residual and activation.
    fusion: &'a ConvFusion<'a>,
    /// The im2col rows (empty for the direct paths).
    taps: Vec<Tap>,
}

impl ConvView<'_> {
    /// The epilogue of image `n`, group `g` in its GEMM's coordinates (row = output
    /// channel of the group, column = output position).
    pub(crate) fn epilogue(&self, n: usize, g: usize) -> EpiRaw {
        let mut e = EpiRaw::IDENTITY;
        if let Some(b) = self.bias {
            e.row_bias = b[g * self.cout_g..].as_ptr();
        }
        if let Some(r) = self.fusion.residual {
            let off = (n * self.p.out_channels + g * self.cout_g) * self.ohw;
            e.residual = Some((r[off..].as_ptr(), self.ohw));
            e.res_after = self.fusion.residual_after_activation;
        }
        e.act = self.fusion.activation;
        // SAFETY of the lifetime erasure: the epilogue lives only for this call, during
        // which `fusion` (and so its stages) is borrowed.
        e.stages = (self.fusion.stages.as_ptr().cast(), self.fusion.stages.len());
        e.chan0 = g * self.cout_g;
        e
    }
}

/// Copies `x` into `out` with the geometry's zero padding around every plane.
fn pad_input(p: &Conv2dParams, geo: &Geometry, x: &[f32], out: &mut Vec<f32>) {
    let (h, w) = (p.in_h, p.in_w);
    let wp = w + geo.pad_left + geo.pad_right;
    let hp = h + geo.pad_top + geo.pad_bottom;
    out.resize(p.batch * p.in_channels * hp * wp, 0.0);
    if h == 0 || w == 0 {
        // All padding (`out` came empty, so it is all zeros now).
        return;
    }
    for (src, dst) in x.chunks_exact(h * w).zip(out.chunks_exact_mut(hp * wp)) {
        dst[..geo.pad_top * wp].fill(0.0);
        for (r, row) in src.chunks_exact(w).enumerate() {
            let d = &mut dst[(geo.pad_top + r) * wp..][..wp];
            d[..geo.pad_left].fill(0.0);
            d[geo.pad_left..geo.pad_left + w].copy_from_slice(row);
            d[geo.pad_left + w..].fill(0.0);
        }
        dst[(geo.pad_top + h) * wp..].fill(0.0);
    }
}

/// The implicit im2col matrix of one image and group of an unpadded (or already padded)
/// input: row `(ci, kh, kw)`, column `(oh, ow)`.
struct Im2col<'a> {
    /// The group's input channels of the image, `cin_g` planes.
    x: &'a [f32],
    /// Every row's tap.
    taps: &'a [Tap],
    /// Input row length.
    width: usize,
    /// Output row length.
    ow: usize,
    /// Strides.
    strides: [usize; 2],
}

/// One row of the implicit im2col matrix: a kernel tap of one input channel, as the
/// offset of the input element that output position `(0, 0)` reads.
#[derive(Copy, Clone, Debug)]
struct Tap(usize);

/// The taps of every row of the implicit im2col matrix, in K order `(ci, kh, kw)`, over
/// input planes of `plane` elements and rows of `width`; `col` maps a kernel column's
/// offset in the row (`kw * dilation`) to its place in the stored row.
fn all_taps(p: &Conv2dParams, cin_g: usize, plane: usize, width: usize, col: impl Fn(usize) -> usize) -> Vec<Tap> {
    let (kh, kw) = (p.kernel[0], p.kernel[1]);
    (0..cin_g * kh * kw)
        .map(|k| {
            let (ci, t) = (k / (kh * kw), k % (kh * kw));
            Tap(ci * plane + t / kw * p.dilations[0] * width + col(t % kw * p.dilations[1]))
        })
        .collect()
}

/// The zero-padded input with each padded row (`wp` long) split into its even columns
/// and then its odd ones, each padded to `wq` (`2 * wq` per row; a last odd slot of an
/// odd row is zero), into `out`: padded column `c` of a row at `(c % 2) * wq + c / 2`.
/// One pass per plane from `x` (no padded copy in between), planes split across
/// `threads`, with the widest vectors `isa` has; every element of the result is written.
fn pad_split_input(
    isa: Isa,
    threads: usize,
    p: &Conv2dParams,
    geo: &Geometry,
    x: &[f32],
    wq: usize,
    out: &mut Vec<f32>,
) {
    let (h, w) = (p.in_h, p.in_w);
    let hp = h + geo.pad_top + geo.pad_bottom;
    let (planes, plane) = (p.batch * p.in_channels, hp * 2 * wq);
    if out.len() < planes * plane {
        out.resize(planes * plane, 0.0);
    }
    let dst = SharedOut(out.as_mut_ptr());
    let parts = threads::split(planes, threads * threads::BALANCE);
    let mut rows = vec![Vec::<f32>::new(); threads.min(parts.len())];
    threads::run_balanced(&parts, &mut rows, |part, row| {
        // One padded row, zero outside the input's columns (and in a last odd slot).
        row.clear();
        row.resize(2 * wq, 0.0);
        for plane_index in part {
            // SAFETY: each part writes only its own planes, which lie inside `out`.
            let d = unsafe { std::slice::from_raw_parts_mut(dst.get().add(plane_index * plane), plane) };
            let src = &x[plane_index * h * w..][..h * w];
            for (r, drow) in d.chunks_exact_mut(2 * wq).enumerate() {
                match r.checked_sub(geo.pad_top).filter(|&i| i < h) {
                    Some(i) => {
                        row[geo.pad_left..geo.pad_left + w].copy_from_slice(&src[i * w..][..w]);
                        // SAFETY: the caller checked that `isa` runs here.
                        unsafe { split_row_for(isa, row, drow) };
                    }
                    None => drow.fill(0.0),
                }
            }
        }
    });
}

simd_dispatch! {
    /// [`split_row`] with the widest vectors `isa` has.
    ///
    /// # Safety
    ///
    /// `isa` must be available.
    unsafe fn split_row_for(row: &[f32], out: &mut [f32]) => split_row
}

/// Writes the even elements of `row` (of even length) to the first half of `out` (as
/// long) and the odd ones to the second half, on vectors of `S`.
#[inline(always)]
fn split_row<S: PhaseOps>(row: &[f32], out: &mut [f32]) {
    let pairs = row.len() / 2;
    assert!(row.len() == 2 * pairs && out.len() == row.len());
    let (even, odd) = out.split_at_mut(pairs);
    // SAFETY: `row` holds `2 * pairs` elements and each half of `out` `pairs`.
    unsafe { S::split2(row.as_ptr(), pairs, even.as_mut_ptr(), odd.as_mut_ptr()) };
}

impl Im2col<'_> {
    /// Packs with a panel width known at compile time: a panel whose positions lie in one
    /// output row is a fixed-size copy per tap (a strided gather for strides above one);
    /// a panel across rows is copied run by run.
    fn pack_nr<const NR: usize>(&self, pc: usize, kc: usize, jc: usize, nc: usize, dst: &mut [f32]) {
        let [sh, sw] = self.strides;
        let taps = &self.taps[pc..pc + kc];
        for q in 0..nc.div_ceil(NR) {
            let panel = &mut dst[q * kc * NR..(q + 1) * kc * NR];
            let p0 = jc + q * NR;
            let count = NR.min(jc + nc - p0);
            let (oy, ox) = (p0 / self.ow, p0 % self.ow);
            if count == NR && ox + NR <= self.ow {
                let start = oy * sh * self.width + ox * sw;
                for (t, row) in taps.iter().zip(panel.chunks_exact_mut(NR)) {
                    let base = t.0 + start;
                    if sw == 1 {
                        let src = &self.x[base..base + NR];
                        if let (Ok(d), Ok(s)) = (<&mut [f32; NR]>::try_from(row), <&[f32; NR]>::try_from(src)) {
                            *d = *s;
                        }
                    } else {
                        let src = self.x[base..].iter().step_by(sw);
                        for (d, s) in row.iter_mut().zip(src) {
                            *d = *s;
                        }
                    }
                }
            } else {
                for (t, row) in taps.iter().zip(panel.chunks_exact_mut(NR)) {
                    self.fill_row(row, *t, p0, count);
                }
            }
        }
    }

    /// One packed row for tap `t` at positions `p0..p0 + count`, zero after.
    fn fill_row(&self, row: &mut [f32], t: Tap, p0: usize, count: usize) {
        let [sh, sw] = self.strides;
        let (mut oy, mut ox) = (p0 / self.ow, p0 % self.ow);
        let mut l = 0;
        while l < count {
            let run = (self.ow - ox).min(count - l);
            let first = t.0 + oy * sh * self.width + ox * sw;
            if sw == 1 {
                row[l..l + run].copy_from_slice(&self.x[first..first + run]);
            } else {
                let src = self.x[first..].iter().step_by(sw);
                for (d, s) in row[l..l + run].iter_mut().zip(src) {
                    *d = *s;
                }
            }
            l += run;
            ox = 0;
            oy += 1;
        }
        row[count..].fill(0.0);
    }
}

impl PackB for Im2col<'_> {
    fn pack(&self, pc: usize, kc: usize, jc: usize, nc: usize, nr: usize, dst: &mut [f32]) {
        match nr {
            4 => self.pack_nr::<4>(pc, kc, jc, nc, dst),
            8 => self.pack_nr::<8>(pc, kc, jc, nc, dst),
            16 => self.pack_nr::<16>(pc, kc, jc, nc, dst),
            32 => self.pack_nr::<32>(pc, kc, jc, nc, dst),
            _ => {
                for q in 0..nc.div_ceil(nr) {
                    let panel = &mut dst[q * kc * nr..(q + 1) * kc * nr];
                    let p0 = jc + q * nr;
                    let count = nr.min(jc + nc - p0);
                    for (t, row) in self.taps[pc..pc + kc].iter().zip(panel.chunks_exact_mut(nr)) {
                        self.fill_row(row, *t, p0, count);
                    }
                }
            }
        }
    }
}

/// The reference's loop (positions in the padding skipped), for weights that are not all
/// finite; both modes.
fn direct(cv: &ConvView, x: &[f32], w: &[f32], out: &mut [f32]) {
    let (p, geo) = (cv.p, &cv.geo);
    let (kh, kw) = (p.kernel[0], p.kernel[1]);
    for n in 0..p.batch {
        for g in 0..p.groups {
            let e = cv.epilogue(n, g);
            let xs = &x[(n * p.in_channels + g * cv.cin_g) * cv.hw..][..cv.cin_g * cv.hw];
            for r in 0..cv.cout_g {
                let co = g * cv.cout_g + r;
                let wr = &w[co * cv.k..(co + 1) * cv.k];
                for oy in 0..geo.oh {
                    for ox in 0..geo.ow {
                        let mut acc = 0.0f32;
                        for ci in 0..cv.cin_g {
                            let plane = &xs[ci * cv.hw..(ci + 1) * cv.hw];
                            for ky in 0..kh {
                                let iy = (oy * p.strides[0] + ky * p.dilations[0]) as isize - geo.pad_top as isize;
                                if iy < 0 || iy >= p.in_h as isize {
                                    continue;
                                }
                                for kx in 0..kw {
                                    let ix = (ox * p.strides[1] + kx * p.dilations[1]) as isize - geo.pad_left as isize;
                                    if ix < 0 || ix >= p.in_w as isize {
                                        continue;
                                    }
                                    let xv = plane[iy as usize * p.in_w + ix as usize];
                                    let prod = xv * wr[(ci * kh + ky) * kw + kx];
                                    acc += prod;
                                }
                            }
                        }
                        let pos = oy * geo.ow + ox;
                        // SAFETY: the epilogue's pointers were offset and checked for
                        // this image and group; `(r, pos)` lies inside it.
                        let v = unsafe { epilogue_vec::<Scalar>(&e, acc, r, pos, 1) };
                        out[(n * p.out_channels + co) * cv.ohw + pos] = v;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::row_parts;

    /// Rows are split only where the column tiles alone would leave one thread well over
    /// its share, and splitting rows does better (the strict conv tests check the bits of
    /// such splits against the reference at 2 and 4 threads).
    #[test]
    fn rows_are_split_only_when_columns_split_unevenly() {
        // (planes, col tiles, cols, rows, threads) with 16-wide tiles and 6-row panels.
        for (planes, tiles, cols, rows, threads, want) in [
            (1, 4, 49, 2048, 2, 2),   // a 7x7 image: 32 and 17 columns
            (1, 13, 196, 1024, 2, 2), // 14x14: 112 and 84 columns
            (1, 196, 3136, 64, 2, 1), // 56x56: even
            (1, 4, 49, 6, 2, 1),      // one row panel: nothing to split
            (1, 4, 49, 2048, 1, 1),   // one thread
            (4, 4, 49, 136, 2, 1),    // four groups of 49 columns: even by columns
            (1, 2, 25, 20, 2, 2),     // 16 and 9 columns; rows 12 and 8
        ] {
            assert_eq!(
                row_parts(planes, tiles, cols, 16, rows, 6, threads),
                want,
                "{planes} planes, {cols} cols, {rows} rows, t{threads}"
            );
        }
    }
}
