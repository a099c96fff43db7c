//! 2-d convolution (NCHW) as GEMM.
//!
//! For image `n` and group `g`, the output channels of the group are the rows of
//! `C[cout_g, OH * OW] = W_g[cout_g, K] * B[K, OH * OW]`, with `K = cin_g * KH * KW` in the
//! reference's order `(ci, kh, kw)`. `W_g` is the weight tensor as it is (row-major), and
//! `B` is never materialised: the GEMM's B packing reads it straight from the input
//! (implicit im2col). A 1x1 convolution with unit strides and no padding packs the input
//! itself as B.
//!
//! Padding. The reference skips kernel positions in the padding; the packing writes a
//! zero there, which adds `acc + 0 * w`. While `w` is finite that is `acc + (+-0)`,
//! which is `acc` bit for bit: `acc` starts at `+0.0` and round-to-nearest never makes a
//! sum `-0` from a `+0` start (`+0 + -0 = +0`, `a + -a = +0`), so adding a signed zero
//! never changes it. With fma (fast mode) it is `fma(0, w, acc) = acc` alike. An infinite
//! or NaN weight would turn the padding into NaN, so when the weights hold one and the
//! geometry has padding, both modes run a direct loop in the reference's order instead.

use lightos_ir::infer::conv_geometry;
use lightos_ir::op::Padding;

use super::gemm::{expect_len, mul, pack_a, run_region, Activation, MatRef, PackB, Problem};
use super::isa::{kernels, Isa};
use super::kernel::{epilogue_vec, EpiRaw};
use super::simd::Scalar;
use super::threads;
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
            padded,
        })
    }
}

/// Resolved output sizes and padding.
#[derive(Copy, Clone, Debug)]
struct Geometry {
    /// Output height.
    oh: usize,
    /// Output width.
    ow: usize,
    /// Padding above.
    pad_top: usize,
    /// Padding on the left.
    pad_left: usize,
    /// Whether any pad is nonzero.
    padded: bool,
}

/// What is fused after the bias of a convolution: `act(acc + bias [+ r])` or
/// `act(acc + bias) + r`, one rounded operation per step.
#[derive(Copy, Clone, Debug, Default)]
pub struct ConvFusion<'a> {
    /// A residual of the output's shape, added before the activation (or after it with
    /// `residual_after_activation`).
    pub residual: Option<&'a [f32]>,
    /// Add the residual after the activation.
    pub residual_after_activation: bool,
    /// The activation.
    pub activation: Activation,
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
    conv2d_fused_f32(
        Isa::detect(),
        mode,
        threads,
        p,
        x,
        w,
        bias,
        &ConvFusion::default(),
        out,
    )
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
    if out_len == 0 {
        return Ok(());
    }
    let cv = ConvView {
        p,
        geo,
        hw,
        ohw,
        cin_g,
        cout_g,
        k,
        bias,
        fusion,
    };
    if geo.padded && w.iter().any(|v| !v.is_finite()) {
        direct(&cv, x, w, out);
        return Ok(());
    }
    let ks = kernels(isa, mode);
    let a_len = mul(
        mul(cout_g.div_ceil(ks.mr), ks.mr, "packed weight")?,
        k,
        "packed weight",
    )?;
    let mut packed = Vec::with_capacity(a_len * p.groups);
    for g in 0..p.groups {
        let wg = &w[g * cout_g * k..(g + 1) * cout_g * k];
        packed.extend(pack_a(&MatRef::row_major(wg, cout_g, k), ks.mr));
    }
    let one_by_one = p.kernel == [1, 1] && p.strides == [1, 1] && !geo.padded;
    let col_tiles = ohw.div_ceil(ks.nr);
    let units = p.batch * p.groups * col_tiles;
    let outp = SendPtr(out.as_mut_ptr());
    threads::run_parts(&threads::split(units, threads), |part| {
        let mut bbuf = Vec::new();
        let mut u = part.start;
        while u < part.end {
            let (ng, t0) = (u / col_tiles, u % col_tiles);
            let t1 = col_tiles.min(t0 + (part.end - u));
            u += t1 - t0;
            let (n, g) = (ng / p.groups, ng % p.groups);
            let xs = &x[(n * p.in_channels + g * cin_g) * hw..][..cin_g * hw];
            let im2col = Im2col { cv: &cv, x: xs };
            let direct_b = MatRef::row_major(xs, cin_g, hw);
            let b: &dyn PackB = if one_by_one { &direct_b } else { &im2col };
            let pr = Problem {
                k,
                packed_a: &packed[g * a_len..(g + 1) * a_len],
                b,
                // SAFETY: in bounds: `(n, g)` is a valid image and group.
                c: unsafe { outp.get().add((n * p.out_channels + g * cout_g) * ohw) },
                ldc: ohw,
                epi: cv.epilogue(n, g),
            };
            // SAFETY: the kernels were checked available; units own disjoint tiles.
            unsafe {
                run_region(
                    &ks,
                    &pr,
                    0..cout_g,
                    t0 * ks.nr..(t1 * ks.nr).min(ohw),
                    &mut bbuf,
                );
            }
        }
    });
    Ok(())
}

/// The output pointer, shared by the threads that write disjoint tiles of it.
#[derive(Copy, Clone)]
struct SendPtr(*mut f32);

impl SendPtr {
    /// The pointer (a method, so closures capture the whole `Sync` wrapper).
    fn get(self) -> *mut f32 {
        self.0
    }
}

// SAFETY: see the type's doc; the output outlives the scoped threads.
unsafe impl Send for SendPtr {}
unsafe impl Sync for SendPtr {}

/// A checked convolution call.
struct ConvView<'a> {
    /// The parameters.
    p: &'a Conv2dParams,
    /// The geometry.
    geo: Geometry,
    /// Input plane size.
    hw: usize,
    /// Output plane size.
    ohw: usize,
    /// Input channels per group.
    cin_g: usize,
    /// Output channels per group.
    cout_g: usize,
    /// GEMM K.
    k: usize,
    /// Bias.
    bias: Option<&'a [f32]>,
    /// Fused residual and activation.
    fusion: &'a ConvFusion<'a>,
}

impl ConvView<'_> {
    /// The epilogue of image `n`, group `g` in its GEMM's coordinates (row = output
    /// channel of the group, column = output position).
    fn epilogue(&self, n: usize, g: usize) -> EpiRaw {
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
        e
    }
}

/// The implicit im2col matrix of one image and group: row `(ci, kh, kw)`, column
/// `(oh, ow)`, zero in the padding.
struct Im2col<'a> {
    /// The call.
    cv: &'a ConvView<'a>,
    /// The group's input channels of the image, `cin_g x H x W`.
    x: &'a [f32],
}

/// One row of the implicit im2col matrix: a kernel tap of one input channel.
#[derive(Copy, Clone)]
struct Tap {
    /// Offset of the input channel's plane.
    plane: usize,
    /// Input row of output row 0 (`ky * dh - pad_top`).
    dy: isize,
    /// Input column of output column 0 (`kx * dw - pad_left`).
    dx: isize,
}

impl Im2col<'_> {
    /// The taps of rows `pc..pc + kc`.
    fn taps(&self, pc: usize, kc: usize) -> Vec<Tap> {
        let p = self.cv.p;
        let (kh, kw) = (p.kernel[0], p.kernel[1]);
        (pc..pc + kc)
            .map(|k| {
                let (ci, t) = (k / (kh * kw), k % (kh * kw));
                Tap {
                    plane: ci * self.cv.hw,
                    dy: (t / kw * p.dilations[0]) as isize - self.cv.geo.pad_top as isize,
                    dx: (t % kw * p.dilations[1]) as isize - self.cv.geo.pad_left as isize,
                }
            })
            .collect()
    }

    /// Packs with a panel width known at compile time. A panel whose `NR` positions lie
    /// in one output row, all inside the input for a tap, is a fixed-size copy (or a
    /// strided gather); the rest go element by element.
    fn pack_nr<const NR: usize>(
        &self,
        pc: usize,
        kc: usize,
        jc: usize,
        nc: usize,
        dst: &mut [f32],
    ) {
        let cv = self.cv;
        let p = cv.p;
        let (sh, sw) = (p.strides[0], p.strides[1]);
        let (h, w) = (p.in_h as isize, p.in_w as isize);
        let ow = cv.geo.ow;
        let taps = self.taps(pc, kc);
        for q in 0..nc.div_ceil(NR) {
            let panel = &mut dst[q * kc * NR..(q + 1) * kc * NR];
            let p0 = jc + q * NR;
            let count = NR.min(jc + nc - p0);
            let (oy, ox) = (p0 / ow, p0 % ow);
            let one_row = count == NR && ox + NR <= ow;
            let (iy0, ix0) = ((oy * sh) as isize, (ox * sw) as isize);
            let span = ((NR - 1) * sw) as isize;
            for (t, row) in taps.iter().zip(panel.chunks_exact_mut(NR)) {
                let (iy, ix) = (iy0 + t.dy, ix0 + t.dx);
                if one_row && (0..h).contains(&iy) && ix >= 0 && ix + span < w {
                    let base = t.plane + iy as usize * p.in_w + ix as usize;
                    if sw == 1 {
                        let src = &self.x[base..base + NR];
                        if let (Ok(d), Ok(s)) = (
                            <&mut [f32; NR]>::try_from(&mut *row),
                            <&[f32; NR]>::try_from(src),
                        ) {
                            *d = *s;
                        }
                    } else {
                        for (l, slot) in row.iter_mut().enumerate() {
                            *slot = self.x[base + l * sw];
                        }
                    }
                } else {
                    self.fill_row(row, t, p0, count);
                }
            }
        }
    }

    /// One packed row for tap `t` at positions `p0..p0 + count`, zero elsewhere.
    fn fill_row(&self, row: &mut [f32], t: &Tap, p0: usize, count: usize) {
        let cv = self.cv;
        let p = cv.p;
        let (sh, sw) = (p.strides[0] as isize, p.strides[1] as isize);
        let (h, w) = (p.in_h as isize, p.in_w as isize);
        let ow = cv.geo.ow;
        let (mut oy, mut ox) = (p0 / ow, p0 % ow);
        let mut l = 0;
        while l < count {
            let run = (ow - ox).min(count - l);
            let iy = oy as isize * sh + t.dy;
            let dst = &mut row[l..l + run];
            if (0..h).contains(&iy) {
                let base = t.plane as isize + iy * w;
                for (i, slot) in dst.iter_mut().enumerate() {
                    let ix = (ox + i) as isize * sw + t.dx;
                    *slot = if (0..w).contains(&ix) {
                        self.x[(base + ix) as usize]
                    } else {
                        0.0
                    };
                }
            } else {
                dst.fill(0.0);
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
                let taps = self.taps(pc, kc);
                for q in 0..nc.div_ceil(nr) {
                    let panel = &mut dst[q * kc * nr..(q + 1) * kc * nr];
                    let p0 = jc + q * nr;
                    let count = nr.min(jc + nc - p0);
                    for (t, row) in taps.iter().zip(panel.chunks_exact_mut(nr)) {
                        self.fill_row(row, t, p0, count);
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
                                let iy = (oy * p.strides[0] + ky * p.dilations[0]) as isize
                                    - geo.pad_top as isize;
                                if iy < 0 || iy >= p.in_h as isize {
                                    continue;
                                }
                                for kx in 0..kw {
                                    let ix = (ox * p.strides[1] + kx * p.dilations[1]) as isize
                                        - geo.pad_left as isize;
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
