//! Strict mode against the reference interpreter, bit for bit, on every instruction set
//! this CPU has; fast mode against itself across thread counts and runs, and against the
//! reference within rounding.

use lightos_ir::op::{BinaryOp, ConvAttrs, GemmAttrs, Padding, UnaryOp};
use lightos_ir::{Op, Tensor};

use super::*;
use crate::reference::eval_op;

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `[-1, 1)`, with full mantissas so every step rounds.
    fn f(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }

    fn vec(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| self.f()).collect()
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn t(dims: &[usize], v: &[f32]) -> Tensor {
    Tensor::from_vec(dims.to_vec(), v.to_vec()).unwrap()
}

fn run_ref(op: &Op, args: &[Option<&Tensor>]) -> Vec<f32> {
    let out = eval_op(op, args).unwrap();
    out[0].as_slice::<f32>().unwrap().to_vec()
}

/// Bit equality, any NaN equal to any NaN.
fn same_bits(got: &[f32], want: &[f32], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let ok = g.to_bits() == w.to_bits() || (g.is_nan() && w.is_nan());
        assert!(
            ok,
            "{what}: element {i}: got {g:e} ({:#x}), want {w:e} ({:#x})",
            g.to_bits(),
            w.to_bits()
        );
    }
}

/// Close within `tol` relative to `scale[i]` (the sum of absolute products).
fn close(got: &[f32], want: &[f32], scale: &[f32], tol: f32, what: &str) {
    for (i, ((g, w), s)) in got.iter().zip(want).zip(scale).enumerate() {
        let d = (g - w).abs();
        assert!(
            d <= tol * s.max(w.abs()) + 1e-30,
            "{what}: element {i}: {g} vs {w} (scale {s})"
        );
    }
}

const SHAPES: &[(usize, usize, usize)] = &[
    (1, 1, 1),
    (1, 7, 1),
    (6, 8, 16),
    (7, 13, 5),
    (12, 32, 33),
    (13, 300, 37),
    (50, 1, 70),
    (3, 0, 4),
    (0, 5, 3),
    (4, 5, 0),
    (25, 17, 129),
    (97, 600, 18),
    (130, 64, 9),
    // One row (the one-row kernel): two K blocks and a short last group of panels; and
    // a last row block of one row (145 = 144 + 1).
    (1, 300, 133),
    (145, 20, 40),
    // A last column panel of 1 to 4 real columns (the turned-around narrow kernel): row
    // panels in full groups and left over, one and several K blocks.
    (100, 70, 49),
    (53, 600, 18),
    (40, 33, 35),
    (27, 300, 20),
];

#[test]
fn strict_matmul_is_bit_identical_on_every_isa() {
    let mut rng = Rng(7);
    for &(m, k, n) in SHAPES {
        let (a, b) = (rng.vec(m * k), rng.vec(k * n));
        let want = run_ref(&Op::MatMul, &[Some(&t(&[m, k], &a)), Some(&t(&[k, n], &b))]);
        for isa in Isa::available() {
            for threads in [1, 3] {
                let mut out = vec![f32::NAN; m * n];
                gemm_f32(
                    isa,
                    Mode::Strict,
                    threads,
                    MatRef::row_major(&a, m, k),
                    MatRef::row_major(&b, k, n),
                    &Epilogue::none(),
                    &mut out,
                )
                .unwrap();
                same_bits(&out, &want, &format!("{m}x{k}x{n} {isa:?} t{threads}"));
            }
        }
        let mut out = vec![0.0; m * n];
        matmul_f32(Mode::Strict, 2, &a, &b, m, k, n, &Epilogue::none(), &mut out).unwrap();
        same_bits(&out, &want, "matmul_f32");
    }
}

#[test]
fn strict_matmul_special_values() {
    let mut rng = Rng(11);
    let specials = [
        0.0,
        -0.0,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        f32::MIN_POSITIVE / 8.0,
        -f32::MIN_POSITIVE / 3.0,
        3.0e38,
        -3.0e38,
        1.0e-30,
    ];
    let (m, k, n) = (9, 40, 21);
    let pick = |rng: &mut Rng| {
        if rng.below(4) == 0 {
            specials[rng.below(specials.len())]
        } else {
            rng.f()
        }
    };
    let a: Vec<f32> = (0..m * k).map(|_| pick(&mut rng)).collect();
    let b: Vec<f32> = (0..k * n).map(|_| pick(&mut rng)).collect();
    // Cancellation to exact zeros and products that underflow to -0.
    let mut a2 = rng.vec(m * k);
    let b2: Vec<f32> = (0..k * n).map(|i| if i % 3 == 0 { -1.0e-30 } else { 0.0 }).collect();
    for x in a2.iter_mut().step_by(5) {
        *x = 1.0e-20;
    }
    for (a, b) in [(a, b), (a2, b2)] {
        let want = run_ref(&Op::MatMul, &[Some(&t(&[m, k], &a)), Some(&t(&[k, n], &b))]);
        for isa in Isa::available() {
            let mut out = vec![0.0; m * n];
            let (am, bm) = (MatRef::row_major(&a, m, k), MatRef::row_major(&b, k, n));
            gemm_f32(isa, Mode::Strict, 2, am, bm, &Epilogue::none(), &mut out).unwrap();
            same_bits(&out, &want, &format!("specials {isa:?}"));
        }
    }
}

#[test]
fn strict_gemm_transposes_scales_and_broadcasts() {
    let mut rng = Rng(3);
    for (case, &(m, k, n)) in [(5, 9, 7), (14, 270, 19), (1, 3, 40), (31, 20, 1)].iter().enumerate() {
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let (a, b) = (rng.vec(m * k), rng.vec(k * n));
            let ad = if ta { [k, m] } else { [m, k] };
            let bd = if tb { [n, k] } else { [k, n] };
            let am = if ta {
                MatRef::row_major(&a, k, m).t()
            } else {
                MatRef::row_major(&a, m, k)
            };
            let bm = if tb {
                MatRef::row_major(&b, n, k).t()
            } else {
                MatRef::row_major(&b, k, n)
            };
            // C as [N], [M, 1], [M, N], [1], and none.
            let cs: [(Vec<usize>, usize, usize); 5] = [
                (vec![n], 0, 1),
                (vec![m, 1], 1, 0),
                (vec![m, n], n, 1),
                (vec![1], 0, 0),
                (vec![], 0, 0),
            ];
            for (ci, (cdims, rs, cst)) in cs.iter().enumerate() {
                let c = rng.vec(cdims.iter().product());
                let (alpha, beta) = [(1.0, 1.0), (0.37, -1.5), (-2.0, 0.25)][(case + ci) % 3];
                let g = GemmAttrs {
                    alpha,
                    beta,
                    trans_a: ta,
                    trans_b: tb,
                };
                let ct = t(cdims, &c);
                let with_c = !cdims.is_empty();
                let want = run_ref(
                    &Op::Gemm(g),
                    &[Some(&t(&ad, &a)), Some(&t(&bd, &b)), with_c.then_some(&ct)],
                );
                let epi = Epilogue {
                    alpha: Some(alpha),
                    addend: with_c.then_some(Addend {
                        data: &c,
                        row_stride: *rs,
                        col_stride: *cst,
                        beta,
                    }),
                    ..Epilogue::default()
                };
                for isa in Isa::available() {
                    let mut out = vec![0.0; m * n];
                    gemm_f32(isa, Mode::Strict, 2, am, bm, &epi, &mut out).unwrap();
                    same_bits(&out, &want, &format!("gemm {m}x{k}x{n} ta{ta} tb{tb} c{ci} {isa:?}"));
                }
            }
        }
    }
}

/// Reference `x + y` of equal shapes.
fn ref_add(x: &[f32], y: &[f32], dims: &[usize]) -> Vec<f32> {
    run_ref(&Op::Binary(BinaryOp::Add), &[Some(&t(dims, x)), Some(&t(dims, y))])
}

/// Reference activation.
fn ref_act(act: Activation, x: &[f32], dims: &[usize]) -> Vec<f32> {
    match act {
        Activation::None => x.to_vec(),
        Activation::Relu => run_ref(&Op::Unary(UnaryOp::Relu), &[Some(&t(dims, x))]),
        Activation::LeakyRelu { alpha } => run_ref(&Op::Unary(UnaryOp::LeakyRelu { alpha }), &[Some(&t(dims, x))]),
        Activation::Clip { min, max } => {
            let (lo, hi) = (min.map(Tensor::scalar), max.map(Tensor::scalar));
            run_ref(&Op::Clip, &[Some(&t(dims, x)), lo.as_ref(), hi.as_ref()])
        }
    }
}

const ACTS: [Activation; 6] = [
    Activation::Relu,
    Activation::LeakyRelu { alpha: 0.1 },
    Activation::Clip {
        min: Some(-0.25),
        max: Some(0.5),
    },
    Activation::Clip {
        min: Some(0.0),
        max: None,
    },
    Activation::Clip {
        min: None,
        max: Some(-0.0),
    },
    Activation::Clip {
        min: Some(f32::NAN),
        max: Some(1.0),
    },
];

#[test]
fn strict_fused_epilogue_matches_the_reference_ops_in_sequence() {
    let mut rng = Rng(5);
    let (m, k, n) = (11, 37, 29);
    let a = rng.vec(m * k);
    let mut b = rng.vec(k * n);
    b[3] = f32::NAN;
    let bias = rng.vec(n);
    let mut res = rng.vec(m * n);
    res[7] = -0.0;
    let mm = run_ref(&Op::MatMul, &[Some(&t(&[m, k], &a)), Some(&t(&[k, n], &b))]);
    let bias_full: Vec<f32> = (0..m * n).map(|i| bias[i % n]).collect();
    for act in ACTS {
        for after in [false, true] {
            let mut want = ref_add(&mm, &bias_full, &[m, n]);
            if !after {
                want = ref_add(&want, &res, &[m, n]);
            }
            want = ref_act(act, &want, &[m, n]);
            if after {
                want = ref_add(&want, &res, &[m, n]);
            }
            let epi = Epilogue {
                bias: Bias::PerColumn(&bias),
                residual: Some(Residual {
                    data: &res,
                    row_stride: n,
                    after_activation: after,
                }),
                activation: act,
                ..Epilogue::default()
            };
            for isa in Isa::available() {
                let mut out = vec![0.0; m * n];
                let (am, bm) = (MatRef::row_major(&a, m, k), MatRef::row_major(&b, k, n));
                gemm_f32(isa, Mode::Strict, 1, am, bm, &epi, &mut out).unwrap();
                same_bits(&out, &want, &format!("{act:?} after {after} {isa:?}"));
            }
        }
    }
}

#[test]
fn activations_on_signed_zeros_and_nans() {
    // The matmul of an identity gives exactly these values (NaN rows stay NaN), and
    // alpha = -1 turns +0 into -0 before the activation.
    let vals = [
        0.0,
        -0.0,
        1.5,
        -1.5,
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        -0.25,
        0.5,
    ];
    let n = vals.len();
    let eye: Vec<f32> = (0..n * n).map(|i| if i / n == i % n { 1.0 } else { 0.0 }).collect();
    for alpha in [1.0f32, -1.0] {
        let pre = run_ref(
            &Op::Gemm(GemmAttrs {
                alpha,
                beta: 0.0,
                trans_a: false,
                trans_b: false,
            }),
            &[Some(&t(&[1, n], &vals)), Some(&t(&[n, n], &eye)), None],
        );
        for act in ACTS {
            let want = ref_act(act, &pre, &[1, n]);
            let epi = Epilogue {
                alpha: Some(alpha),
                activation: act,
                ..Epilogue::default()
            };
            for isa in Isa::available() {
                let mut out = vec![0.0; n];
                let (am, bm) = (MatRef::row_major(&vals, 1, n), MatRef::row_major(&eye, n, n));
                gemm_f32(isa, Mode::Strict, 1, am, bm, &epi, &mut out).unwrap();
                same_bits(&out, &want, &format!("alpha {alpha} {act:?} {isa:?}"));
            }
        }
    }
}

/// A random convolution case.
struct ConvCase {
    p: Conv2dParams,
    pads: [usize; 4],
}

fn conv_attrs(c: &ConvCase) -> ConvAttrs {
    ConvAttrs {
        kernel: c.p.kernel.to_vec(),
        strides: c.p.strides.to_vec(),
        dilations: c.p.dilations.to_vec(),
        padding: Padding::Explicit(c.pads.to_vec()),
        group: c.p.groups,
    }
}

/// `(batch, cin, [h, w], cout, kernel, strides, dilations, pads [t, l, b, r], groups)`.
type CaseRow = (
    usize,
    usize,
    [usize; 2],
    usize,
    [usize; 2],
    [usize; 2],
    [usize; 2],
    [usize; 4],
    usize,
);

fn conv_cases() -> Vec<ConvCase> {
    let mut v = Vec::new();
    // (batch, cin, h, w, cout, kernel, strides, dilations, pads [t, l, b, r], groups)
    let list: &[CaseRow] = &[
        (1, 3, [8, 8], 5, [3, 3], [1, 1], [1, 1], [1, 1, 1, 1], 1),
        (2, 4, [7, 9], 6, [1, 1], [1, 1], [1, 1], [0, 0, 0, 0], 1),
        (1, 16, [5, 5], 20, [1, 1], [1, 1], [1, 1], [0, 0, 0, 0], 1),
        (1, 4, [9, 9], 4, [1, 1], [2, 2], [1, 1], [0, 0, 0, 0], 1),
        (1, 4, [6, 6], 8, [1, 1], [1, 1], [1, 1], [1, 0, 0, 1], 2),
        (2, 6, [11, 10], 9, [3, 3], [2, 2], [1, 1], [1, 1, 1, 1], 3),
        (1, 8, [10, 12], 8, [3, 3], [1, 1], [1, 1], [1, 1, 1, 1], 8),
        (1, 5, [12, 13], 7, [3, 2], [1, 2], [2, 3], [2, 0, 1, 3], 1),
        (1, 2, [4, 4], 3, [5, 5], [1, 1], [1, 1], [2, 2, 2, 2], 1),
        (1, 3, [15, 17], 13, [7, 7], [2, 2], [1, 1], [3, 3, 3, 3], 1),
        (1, 32, [9, 9], 19, [3, 3], [1, 1], [1, 1], [1, 1, 1, 1], 1),
        (1, 1, [3, 40], 2, [1, 3], [1, 3], [1, 1], [0, 4, 0, 5], 1),
        (1, 2, [2, 2], 2, [3, 3], [1, 1], [1, 1], [2, 2, 2, 2], 1),
        (1, 3, [6, 37], 5, [3, 3], [1, 1], [1, 1], [1, 1, 1, 1], 1),
        (2, 2, [5, 70], 3, [3, 3], [2, 2], [1, 2], [1, 1, 1, 1], 1),
        (1, 4, [3, 67], 33, [1, 1], [1, 1], [1, 1], [0, 0, 0, 0], 1),
        (1, 2, [4, 50], 2, [2, 5], [1, 1], [2, 1], [0, 3, 1, 0], 2),
        (1, 2, [0, 3], 2, [1, 1], [1, 1], [1, 1], [1, 0, 1, 0], 1),
        // Depthwise (one channel per group): the direct row kernel.
        (2, 6, [9, 11], 6, [3, 3], [2, 2], [1, 1], [1, 1, 1, 1], 6),
        (1, 4, [7, 8], 4, [3, 5], [1, 2], [2, 1], [2, 0, 1, 3], 4),
        (1, 3, [2, 2], 3, [5, 5], [1, 1], [1, 1], [2, 2, 2, 2], 3),
        (1, 5, [6, 30], 5, [1, 3], [1, 3], [1, 2], [0, 4, 0, 1], 5),
    ];
    for &(batch, cin, [h, w], cout, kernel, strides, dilations, pads, groups) in list {
        v.push(ConvCase {
            p: Conv2dParams {
                batch,
                in_channels: cin,
                in_h: h,
                in_w: w,
                out_channels: cout,
                kernel,
                strides,
                dilations,
                padding: Padding::Explicit(pads.to_vec()),
                groups,
            },
            pads,
        });
    }
    v
}

/// Input, weight and bias of a case.
fn conv_data(c: &ConvCase, rng: &mut Rng) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let p = &c.p;
    let wd = p.weight_dims().unwrap();
    (
        rng.vec(p.batch * p.in_channels * p.in_h * p.in_w),
        rng.vec(wd.iter().product()),
        rng.vec(p.out_channels),
    )
}

fn ref_conv(c: &ConvCase, x: &[f32], w: &[f32], bias: Option<&[f32]>) -> Vec<f32> {
    let p = &c.p;
    let xt = t(&[p.batch, p.in_channels, p.in_h, p.in_w], x);
    let wt = t(&p.weight_dims().unwrap(), w);
    let bt = bias.map(|b| t(&[p.out_channels], b));
    run_ref(&Op::Conv(conv_attrs(c)), &[Some(&xt), Some(&wt), bt.as_ref()])
}

#[test]
fn strict_conv_is_bit_identical_on_every_isa() {
    let mut rng = Rng(17);
    for (ci, c) in conv_cases().iter().enumerate() {
        let (x, w, b) = conv_data(c, &mut rng);
        let len: usize = c.p.output_dims().unwrap().iter().product();
        for with_bias in [false, true] {
            let bias = with_bias.then_some(&b[..]);
            let want = ref_conv(c, &x, &w, bias);
            for isa in Isa::available() {
                for threads in [1, 2, 4] {
                    let mut out = vec![f32::NAN; len];
                    conv2d_fused_f32(
                        isa,
                        Mode::Strict,
                        threads,
                        &c.p,
                        &x,
                        &w,
                        bias,
                        &ConvFusion::default(),
                        &mut out,
                    )
                    .unwrap();
                    same_bits(
                        &out,
                        &want,
                        &format!("conv case {ci} bias {with_bias} {isa:?} t{threads}"),
                    );
                }
            }
        }
        let mut out = vec![0.0; len];
        conv2d_f32(Mode::Strict, 2, &c.p, &x, &w, Some(&b), &mut out).unwrap();
        same_bits(&out, &ref_conv(c, &x, &w, Some(&b)), "conv2d_f32");
    }
}

#[test]
fn strict_conv_with_same_padding_and_fusion() {
    let mut rng = Rng(19);
    let mut c = conv_cases().remove(5);
    c.p.padding = Padding::SameUpper;
    let geo =
        lightos_ir::infer::conv_geometry(&[11, 10], &[3, 3], &[2, 2], &[1, 1], &Padding::SameUpper, false).unwrap();
    c.pads = [geo.pad_begin[0], geo.pad_begin[1], geo.pad_end[0], geo.pad_end[1]];
    let (x, w, b) = conv_data(&c, &mut rng);
    let dims = c.p.output_dims().unwrap();
    let len: usize = dims.iter().product();
    let res = rng.vec(len);
    let conv = ref_conv(&c, &x, &w, Some(&b));
    for act in ACTS {
        let want = ref_act(act, &ref_add(&conv, &res, &dims), &dims);
        let fusion = ConvFusion {
            residual: Some(&res),
            residual_after_activation: false,
            activation: act,
            stages: &[],
        };
        for isa in Isa::available() {
            let mut out = vec![0.0; len];
            conv2d_fused_f32(isa, Mode::Strict, 2, &c.p, &x, &w, Some(&b), &fusion, &mut out).unwrap();
            same_bits(&out, &want, &format!("same-padded fused {act:?} {isa:?}"));
        }
    }
}

#[test]
fn strict_conv_with_non_finite_weights_keeps_the_padding_neutral() {
    let mut rng = Rng(23);
    for c in conv_cases().iter().filter(|c| c.pads.iter().any(|&p| p > 0)) {
        let (x, mut w, b) = conv_data(c, &mut rng);
        w[0] = f32::INFINITY;
        let last = w.len() - 1;
        w[last] = f32::NAN;
        if w.len() > 2 {
            w[1] = f32::NEG_INFINITY;
        }
        let want = ref_conv(c, &x, &w, Some(&b));
        let len = want.len();
        for isa in Isa::available() {
            for mode in [Mode::Strict, Mode::Fast] {
                let mut out = vec![0.0; len];
                conv2d_fused_f32(isa, mode, 2, &c.p, &x, &w, Some(&b), &ConvFusion::default(), &mut out).unwrap();
                same_bits(&out, &want, &format!("non-finite weights {isa:?} {mode:?}"));
            }
        }
    }
}

/// `sum_k |a[i, k] * b[k, j]|`, the scale of a dot product's rounding error.
fn abs_scale(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f32> {
    let mut s = vec![0.0f32; m * n];
    for i in 0..m {
        for j in 0..n {
            s[i * n + j] = (0..k).map(|p| (a[i * k + p] * b[p * n + j]).abs()).sum();
        }
    }
    s
}

#[test]
fn fast_matmul_is_deterministic_and_close() {
    let mut rng = Rng(29);
    for &(m, k, n) in SHAPES.iter().chain(&[(67, 1000, 45), (200, 70, 300)]) {
        let (a, b) = (rng.vec(m * k), rng.vec(k * n));
        let want = run_ref(&Op::MatMul, &[Some(&t(&[m, k], &a)), Some(&t(&[k, n], &b))]);
        let scale = abs_scale(&a, &b, m, k, n);
        for isa in Isa::available() {
            let run = |threads| {
                let mut out = vec![0.0; m * n];
                let (am, bm) = (MatRef::row_major(&a, m, k), MatRef::row_major(&b, k, n));
                gemm_f32(isa, Mode::Fast, threads, am, bm, &Epilogue::none(), &mut out).unwrap();
                out
            };
            let one = run(1);
            for threads in [1, 2, 4] {
                same_bits(&run(threads), &one, &format!("fast {m}x{k}x{n} {isa:?} t{threads}"));
            }
            close(&one, &want, &scale, 1e-5, &format!("fast {m}x{k}x{n} {isa:?}"));
        }
    }
}

#[test]
fn fast_conv_is_deterministic_and_close() {
    let mut rng = Rng(31);
    for (ci, c) in conv_cases().iter().enumerate() {
        let (x, w, b) = conv_data(c, &mut rng);
        let want = ref_conv(c, &x, &w, Some(&b));
        // The error scale: the same convolution of |x| and |w|, plus |bias|.
        let ax: Vec<f32> = x.iter().map(|v| v.abs()).collect();
        let aw: Vec<f32> = w.iter().map(|v| v.abs()).collect();
        let ab: Vec<f32> = b.iter().map(|v| v.abs()).collect();
        let scale = ref_conv(c, &ax, &aw, Some(&ab));
        for isa in Isa::available() {
            let run = |threads| {
                let mut out = vec![0.0; want.len()];
                conv2d_fused_f32(
                    isa,
                    Mode::Fast,
                    threads,
                    &c.p,
                    &x,
                    &w,
                    Some(&b),
                    &ConvFusion::default(),
                    &mut out,
                )
                .unwrap();
                out
            };
            let one = run(1);
            for threads in [1, 2, 4] {
                same_bits(&run(threads), &one, &format!("fast conv {ci} {isa:?} t{threads}"));
            }
            close(&one, &want, &scale, 1e-5, &format!("fast conv {ci} {isa:?}"));
        }
    }
}

#[test]
fn fast_mode_fuses_where_the_isa_can() {
    // acc = -p; then x * x - p, which is 0 with a rounded product, 2^-24 with fma.
    let x = 1.0f32 + 2f32.powi(-12);
    let p = x * x;
    let (a, b) = ([1.0, x], [-p, x]);
    for isa in Isa::available() {
        for (mode, want) in [(Mode::Strict, 0.0), (Mode::Fast, 2f32.powi(-24))] {
            let want = if isa == Isa::Scalar { 0.0 } else { want };
            let mut out = [f32::NAN];
            let (am, bm) = (MatRef::row_major(&a, 1, 2), MatRef::row_major(&b, 2, 1));
            gemm_f32(isa, mode, 1, am, bm, &Epilogue::none(), &mut out).unwrap();
            assert_eq!(out[0], want, "{isa:?} {mode:?}");
        }
    }
}

#[test]
fn bad_arguments_are_errors() {
    let a = vec![0.0; 6];
    let mut out = vec![0.0; 4];
    let none = Epilogue::none();
    assert!(matches!(
        matmul_f32(Mode::Fast, 1, &a, &a, 2, 3, 2, &none, &mut out[..3]),
        Err(CpuError::Size { .. })
    ));
    assert!(matmul_f32(Mode::Fast, 1, &a[..5], &a, 2, 3, 2, &none, &mut out).is_err());
    assert!(matmul_f32(Mode::Fast, 0, &a, &a, 2, 3, 2, &none, &mut out).is_err());
    assert!(matmul_f32(Mode::Fast, 1, &a, &a, usize::MAX, 2, 2, &none, &mut out).is_err());
    let short = [1.0f32];
    let bad_bias = Epilogue {
        bias: Bias::PerColumn(&short),
        ..Epilogue::default()
    };
    assert!(matmul_f32(Mode::Strict, 1, &a, &a, 2, 3, 2, &bad_bias, &mut out).is_err());
    let bad_c = Epilogue {
        addend: Some(Addend {
            data: &short,
            row_stride: 1,
            col_stride: 1,
            beta: 1.0,
        }),
        ..Epilogue::default()
    };
    assert!(matmul_f32(Mode::Strict, 1, &a, &a, 2, 3, 2, &bad_c, &mut out).is_err());
    let (am, bm) = (MatRef::row_major(&a, 2, 3), MatRef::row_major(&a, 2, 3));
    assert!(gemm_f32(Isa::Scalar, Mode::Fast, 1, am, bm, &none, &mut out).is_err());
    let missing = Isa::ALL.into_iter().find(|i| !i.is_available());
    if let Some(isa) = missing {
        let bm = MatRef::row_major(&a, 3, 2);
        assert_eq!(
            gemm_f32(isa, Mode::Fast, 1, am, bm, &none, &mut out),
            Err(CpuError::IsaUnavailable(isa))
        );
    }
    let mut p = Conv2dParams::new(1, 3, [4, 4], 4, [3, 3]);
    let (x, w) = (vec![0.0; 48], vec![0.0; 4 * 27]);
    let mut y = vec![0.0; 16];
    assert!(conv2d_f32(Mode::Fast, 1, &p, &x, &w, None, &mut y[..8]).is_err());
    assert!(conv2d_f32(Mode::Fast, 1, &p, &x[..47], &w, None, &mut y[..8]).is_err());
    p.groups = 2;
    assert!(conv2d_f32(Mode::Fast, 1, &p, &x, &w, None, &mut y).is_err());
    p.groups = 1;
    p.kernel = [5, 5];
    assert!(conv2d_f32(Mode::Fast, 1, &p, &x, &w, None, &mut y).is_err());
    p.kernel = [3, 3];
    p.strides = [0, 1];
    assert!(conv2d_f32(Mode::Fast, 1, &p, &x, &w, None, &mut y).is_err());
}

/// Batch norm, scale, shift and divide fused into the convolution's epilogue give the
/// bits of the reference ops run one after another, on every instruction set, for plain,
/// grouped and depthwise convolutions, with a residual and an activation after them.
#[test]
fn strict_conv_with_fused_channel_stages_matches_the_reference_ops() {
    let mut rng = Rng(31);
    let cases = conv_cases();
    for ci in [0, 5, 6, 18] {
        let c = &cases[ci];
        let (x, w, b) = conv_data(c, &mut rng);
        let dims = c.p.output_dims().unwrap();
        let len: usize = dims.iter().product();
        let co = c.p.out_channels;
        let (mean, scale, bias, k, k2) = (rng.vec(co), rng.vec(co), rng.vec(co), rng.vec(co), rng.vec(1));
        let var: Vec<f32> = rng.vec(co).iter().map(|v| v.abs() + 0.1).collect();
        let eps = 1e-5f32;
        let inv: Vec<f32> = var.iter().map(|&v| 1.0 / (v + eps).sqrt()).collect();
        let res = rng.vec(len);
        // The reference, op by op.
        let per_channel = |v: &[f32]| t(&[co, 1, 1], v);
        let mut want = ref_conv(c, &x, &w, Some(&b));
        let bn = Op::BatchNorm(lightos_ir::NormAttrs { axis: 1, epsilon: eps });
        let ch = |v: &[f32]| t(&[co], v);
        want = run_ref(
            &bn,
            &[
                Some(&t(&dims, &want)),
                Some(&ch(&scale)),
                Some(&ch(&bias)),
                Some(&ch(&mean)),
                Some(&ch(&var)),
            ],
        );
        want = run_ref(
            &Op::Binary(BinaryOp::Mul),
            &[Some(&per_channel(&k)), Some(&t(&dims, &want))],
        );
        want = run_ref(
            &Op::Binary(BinaryOp::Sub),
            &[Some(&t(&dims, &want)), Some(&t(&[1], &k2))],
        );
        want = run_ref(
            &Op::Binary(BinaryOp::Div),
            &[Some(&per_channel(&k)), Some(&t(&dims, &want))],
        );
        want = ref_act(Activation::Relu, &ref_add(&want, &res, &dims), &dims);
        let stages = [
            ChainStage::BatchNorm {
                mean: &mean,
                inv: &inv,
                scale: &scale,
                bias: &bias,
            },
            ChainStage::Binary {
                op: ChainOp::Mul,
                values: &k,
                value_first: true,
            },
            ChainStage::Binary {
                op: ChainOp::Sub,
                values: &k2,
                value_first: false,
            },
            ChainStage::Binary {
                op: ChainOp::Div,
                values: &k,
                value_first: true,
            },
        ];
        let fusion = ConvFusion {
            residual: Some(&res),
            residual_after_activation: false,
            activation: Activation::Relu,
            stages: &stages,
        };
        for isa in Isa::available() {
            for threads in [1, 3] {
                let mut out = vec![0.0; len];
                conv2d_fused_f32(isa, Mode::Strict, threads, &c.p, &x, &w, Some(&b), &fusion, &mut out).unwrap();
                same_bits(
                    &out,
                    &want,
                    &format!("conv case {ci} with stages on {isa:?} t{threads}"),
                );
            }
        }
        let bad = [ChainStage::Activation(Activation::Relu)];
        let mut out = vec![0.0; len];
        let refused = ConvFusion {
            stages: &bad,
            ..ConvFusion::default()
        };
        assert!(conv2d_fused_f32(Isa::Scalar, Mode::Strict, 1, &c.p, &x, &w, Some(&b), &refused, &mut out).is_err());
    }
}

/// The elementwise program kernel against the reference fused kernel on shapes whose
/// inner runs span several blocks (and a tail), at 1, 3 and 4 threads on every available
/// instruction set: bit for bit, NaN, signed zeros and infinities included.
#[test]
fn elementwise_program_matches_the_reference_fused_kernel() {
    use lightos_ir::{FusedAttrs, FusedInstr, FusedSrc};
    let awkward = |seed: u32, n: usize| -> Vec<f32> {
        let special = [f32::NAN, -0.0, 0.0, f32::INFINITY, f32::NEG_INFINITY, 1e-40];
        (0..n)
            .map(|i| {
                if i % 11 == 3 {
                    special[(i / 11) % special.len()]
                } else {
                    let h = (i as u32)
                        .wrapping_mul(2_654_435_761)
                        .wrapping_add(seed.wrapping_mul(40_503));
                    (h >> 8) as f32 / (1u32 << 23) as f32 - 1.0
                }
            })
            .collect()
    };
    let (o, c, h, w) = (2, 3, 53, 157);
    let x = Tensor::from_vec(vec![o, c, h, w], awkward(1, o * c * h * w)).unwrap();
    let y = Tensor::from_vec(vec![o, c, h, w], awkward(2, o * c * h * w)).unwrap();
    let k = Tensor::from_vec(vec![c, 1, 1], vec![0.5f32, -2.0, 3.0]).unwrap();
    let s = Tensor::from_vec(vec![], vec![1.25f32]).unwrap();
    let col = Tensor::from_vec(vec![h, 1], awkward(3, h)).unwrap();
    let row = Tensor::from_vec(vec![1, 1, w], awkward(4, w)).unwrap();
    let tensors = [&x, &y, &k, &s, &col, &row];
    let programs = [
        "add(in0, in1); mul(t0, in2); sub(t1, in3); relu(t2)",
        "mul(in4, in5); add(t0, in0); sigmoid(t1)",
        "tanh(in0); erf(in1); max(t0, t1); gelu{tanh = false}(t2); min(t3, in2)",
        "leaky_relu{alpha = 0.1}(in0); div(in3, t0); clip(t1, _, _); hard_swish(t2); abs(in1); sqrt(t4); add(t3, t5)",
        "mul(in2, in4); exp(t0); neg(t1)",
    ];
    for text in programs {
        let attrs = FusedAttrs {
            anchor: None,
            program: FusedAttrs::parse_program(text).unwrap(),
        };
        let operands: Vec<Option<&Tensor>> = tensors.iter().map(|t| Some(*t)).collect();
        let want = eval_op(&Op::Fused(Box::new(attrs.clone())), &operands)
            .unwrap()
            .remove(0);
        let program: Vec<ProgInstr> = attrs
            .program
            .iter()
            .map(|i| {
                let src = |s: FusedSrc| match s {
                    FusedSrc::Operand(k) => ProgSrc::Input(k),
                    FusedSrc::Temp(t) => ProgSrc::Temp(t),
                    FusedSrc::Anchor => ProgSrc::Prior,
                };
                match *i {
                    FusedInstr::Unary { op, x } => ProgInstr::Unary { op, x: src(x) },
                    FusedInstr::Binary { op, a, b } => ProgInstr::Binary {
                        op,
                        a: src(a),
                        b: src(b),
                    },
                    FusedInstr::Clip { x, .. } => ProgInstr::Clip {
                        x: src(x),
                        min: None,
                        max: None,
                    },
                }
            })
            .collect();
        let inputs: Vec<ProgInput> = tensors
            .iter()
            .map(|t| ProgInput {
                data: t.as_slice::<f32>().unwrap(),
                dims: t.dims(),
            })
            .collect();
        for isa in Isa::available() {
            for threads in [1, 3, 4] {
                let mut out = vec![0.0f32; want.len()];
                elementwise_program_f32(isa, threads, want.dims(), &inputs, &program, &mut out).unwrap();
                let got = Tensor::from_vec(want.dims().to_vec(), out).unwrap();
                assert_eq!(got, want, "{text} on {isa:?} at {threads} threads");
            }
        }
    }
}

/// A program reading `Prior` updates its output in place; bad programs are refused.
#[test]
fn elementwise_program_in_place_and_errors() {
    let dims = [3usize, 700];
    let before: Vec<f32> = (0..2100).map(|i| (i as f32 - 1000.0) / 300.0).collect();
    let bias: Vec<f32> = (0..700).map(|i| i as f32 / 700.0).collect();
    let inputs = [ProgInput {
        data: &bias,
        dims: &[700],
    }];
    let program = [
        ProgInstr::Binary {
            op: BinaryOp::Add,
            a: ProgSrc::Prior,
            b: ProgSrc::Input(0),
        },
        ProgInstr::Unary {
            op: UnaryOp::Sigmoid,
            x: ProgSrc::Temp(0),
        },
        ProgInstr::Binary {
            op: BinaryOp::Mul,
            a: ProgSrc::Prior,
            b: ProgSrc::Temp(1),
        },
    ];
    let mut out = before.clone();
    elementwise_program_f32(Isa::detect(), 2, &dims, &inputs, &program, &mut out).unwrap();
    for (i, (&got, &x)) in out.iter().zip(&before).enumerate() {
        let t = x + bias[i % 700];
        let want = x * crate::reference::unary_f32(UnaryOp::Sigmoid, t);
        assert_eq!(got.to_bits(), want.to_bits(), "element {i}");
    }
    let bad = [ProgInstr::Unary {
        op: UnaryOp::Relu,
        x: ProgSrc::Temp(0),
    }];
    assert!(elementwise_program_f32(Isa::Scalar, 1, &dims, &inputs, &bad, &mut out).is_err());
    let not_f32 = [ProgInstr::Unary {
        op: UnaryOp::IsNaN,
        x: ProgSrc::Input(0),
    }];
    assert!(elementwise_program_f32(Isa::Scalar, 1, &dims, &inputs, &not_f32, &mut out).is_err());
    let wide = [ProgInput {
        data: &bias[..7],
        dims: &[7],
    }];
    let read = [ProgInstr::Unary {
        op: UnaryOp::Neg,
        x: ProgSrc::Input(0),
    }];
    assert!(elementwise_program_f32(Isa::Scalar, 1, &dims, &wide, &read, &mut out).is_err());
}
