//! The executor's native steps against the plain interpreter: bit-identical in strict
//! mode, the same bits at every thread count in fast mode, and the kernels they promise
//! (every fused node form on a native kernel, not on the reference).

use lightos_ir::{text::parse_graph, verify, DType, Graph, Tensor};

use super::steps::Kernel;
use super::Executor;
use crate::backend::{Backend, CpuConfig};
use crate::cpu::{Activation, Mode};
use crate::reference::Interpreter;

use crate::test_values::values;

/// A network with every kind of step: a fused conv with per-channel scale and shift and a
/// relu in its epilogue, a batch norm (a one-stage chain), a fused conv with a residual
/// add and a relu, a fused conv with a relu, a residual add after it and a sigmoid (the
/// sigmoid on the elementwise program kernel), a depthwise conv, max pooling, a fused
/// elementwise scale + relu, fast-mode LRN, a fused matmul + bias row + relu, and a concat
/// of two flattened views, one of them of a value whose other readers ran long before.
const NET: &str = r#"graph "fused"
input %0: f32[2, 4, 9, 9] "x"
%1 = constant : f32[6, 4, 3, 3] "w1"
%2 = constant : f32[6] "b1"
%9 = constant : f32[6, 1, 1] "k"
%11 = constant [0.25] : f32[] "shift_v"
%3 = fused_conv(%0, %1, %2, %9, %11) {kernel = [3, 3], strides = [1, 1], dilations = [1, 1], padding = [1, 1, 1, 1], group = 1, program = "mul(in3, acc); sub(t0, in4); relu(t1)"} : f32[2, 6, 9, 9] "c1"
%4 = constant : f32[6] "bn_s"
%5 = constant : f32[6] "bn_b"
%6 = constant : f32[6] "bn_m"
%7 = constant : f32[6] "bn_v"
%8 = batch_norm(%3, %4, %5, %6, %7) {epsilon = 1e-5} : f32[2, 6, 9, 9] "bn"
%14 = constant : f32[6, 6, 3, 3] "w2"
%15 = fused_conv(%8, %14, _, %8) {kernel = [3, 3], strides = [1, 1], dilations = [1, 1], padding = [1, 1, 1, 1], group = 1, program = "add(in3, acc); relu(t0)"} : f32[2, 6, 9, 9] "c2"
%16 = fused_conv(%15, %14, _, %15) {kernel = [3, 3], strides = [1, 1], dilations = [1, 1], padding = [1, 1, 1, 1], group = 1, program = "relu(acc); add(t0, in3); sigmoid(t1)"} : f32[2, 6, 9, 9] "c2b"
%18 = constant : f32[6, 1, 3, 3] "dw"
%19 = conv(%16, %18, _) {kernel = [3, 3], strides = [2, 2], dilations = [1, 1], padding = [1, 1, 1, 1], group = 6} : f32[2, 6, 5, 5] "c3"
%20 = max_pool(%19) {kernel = [2, 2], strides = [2, 2], dilations = [1, 1], padding = [0, 0, 0, 0], ceil_mode = true} : f32[2, 6, 3, 3] "pool"
%31 = fused_elementwise(%20, %9) {program = "mul(in0, in1); relu(t0)"} : f32[2, 6, 3, 3] "prelu"
%21 = lrn(%31) {size = 3, alpha = 0.0001, beta = 0.75, bias = 1.0} : f32[2, 6, 3, 3] "lrn"
%22 = constant : f32[3, 5] "w3"
%23 = constant [0.5, -0.5, 0.25, 0.0, 1.0] : f32[5] "b3"
%26 = fused_matmul(%21, %22, %23) {program = "add(acc, in2); relu(t0)"} : f32[2, 6, 3, 5] "mm"
%40 = flatten(%31) {axis = 1} : f32[2, 54] "flat_chain"
%41 = flatten(%26) {axis = 1} : f32[2, 90] "flat_mm"
%42 = concat(%40, %41) {axis = 1} : f32[2, 144] "cat"
output %42 "y"
"#;

fn net() -> Graph {
    let weight = |name: &str| -> Option<Tensor> {
        let (dims, seed): (Vec<usize>, u64) = match name {
            "w1" => (vec![6, 4, 3, 3], 1),
            "b1" => (vec![6], 2),
            "bn_s" => (vec![6], 3),
            "bn_b" => (vec![6], 4),
            "bn_m" => (vec![6], 5),
            "k" => (vec![6, 1, 1], 7),
            "w2" => (vec![6, 6, 3, 3], 8),
            "dw" => (vec![6, 1, 3, 3], 9),
            "w3" => (vec![3, 5], 10),
            "bn_v" => return Tensor::from_vec(vec![6], values(6, 6).iter().map(|v| v.abs() + 0.5).collect()).ok(),
            _ => return None,
        };
        let n = dims.iter().product();
        Tensor::from_vec(dims, values(seed, n)).ok()
    };
    let g = parse_graph(NET, &weight).expect("the test network parses");
    verify(&g).expect("the test network verifies");
    g
}

fn input() -> Tensor {
    Tensor::from_vec(vec![2, 4, 9, 9], values(42, 2 * 4 * 81)).unwrap()
}

fn cpu(mode: Mode, threads: usize) -> Backend {
    Backend::Cpu(CpuConfig { mode, threads })
}

#[test]
fn each_node_gets_its_kernel() {
    let g = net();
    let e = Executor::new(&g, cpu(Mode::Fast, 1)).unwrap();
    let kinds: Vec<(String, usize, usize)> = e.summary().kernels;
    let expect = [
        ("chain", 1, 1),       // bn
        ("concat", 1, 1),      // cat
        ("conv", 4, 4),        // c1, c2, c2b (its sigmoid in place), c3
        ("elementwise", 1, 1), // prelu
        ("gemm", 1, 1),        // mm
        ("lrn", 1, 1),         // fast mode only
        ("max_pool", 1, 1),    // pool
        ("node", 2, 2),        // the flattens
    ];
    let expect: Vec<(String, usize, usize)> = expect.iter().map(|&(k, s, n)| (k.to_string(), s, n)).collect();
    assert_eq!(kinds, expect);
    let strict = Executor::new(&g, cpu(Mode::Strict, 1)).unwrap();
    let kinds = strict.summary().kernels;
    // LRN stays a node in strict mode, beside the two flattens.
    assert!(kinds.contains(&("node".to_string(), 3, 3)), "{kinds:?}");
    assert!(!kinds.iter().any(|(k, _, _)| k == "lrn"), "{kinds:?}");
}

#[test]
fn a_profiled_run_times_every_step_and_gives_the_same_outputs() {
    let g = net();
    let x = input();
    let e = Executor::new(&g, cpu(Mode::Strict, 2)).unwrap();
    let labels = e.step_labels();
    assert_eq!(labels.len(), e.summary().steps);
    // Labels follow the summary's kernel kinds, step for step.
    for (kind, steps, _) in e.summary().kernels {
        assert_eq!(labels.iter().filter(|l| l.kernel == kind).count(), steps, "{kind}");
    }
    assert!(
        labels.iter().all(|l| !l.ops.is_empty() && l.shape.starts_with('[')),
        "{labels:?}"
    );
    let mut times = vec![std::time::Duration::ZERO; labels.len()];
    let got = e.run_profiled(std::slice::from_ref(&x), &mut times).unwrap();
    assert_eq!(got, e.run(std::slice::from_ref(&x)).unwrap());
    assert!(times.iter().any(|t| !t.is_zero()), "{times:?}");
    let mut short = vec![std::time::Duration::ZERO; labels.len() - 1];
    let err = e.run_profiled(std::slice::from_ref(&x), &mut short).unwrap_err();
    assert!(
        matches!(err, crate::reference::RunError::Profile { steps, got } if steps == labels.len() && got == steps - 1),
        "{err}"
    );
}

#[test]
fn strict_steps_are_bit_identical_to_the_interpreter() {
    let g = net();
    let x = input();
    let want = Interpreter::new(&g).run(std::slice::from_ref(&x)).unwrap();
    assert_eq!(want[0].dtype(), DType::F32);
    for threads in [1, 2, 4] {
        let got = Executor::new(&g, cpu(Mode::Strict, threads))
            .unwrap()
            .run(std::slice::from_ref(&x))
            .unwrap();
        assert_eq!(got, want, "strict at {threads} threads");
    }
}

#[test]
fn fast_steps_are_deterministic_and_close() {
    let g = net();
    let x = input();
    let want = Interpreter::new(&g).run(std::slice::from_ref(&x)).unwrap();
    let one = Executor::new(&g, cpu(Mode::Fast, 1)).unwrap();
    let first = one.run(std::slice::from_ref(&x)).unwrap();
    assert_eq!(one.run(std::slice::from_ref(&x)).unwrap(), first, "run to run");
    for threads in [2, 4] {
        let got = Executor::new(&g, cpu(Mode::Fast, threads))
            .unwrap()
            .run(std::slice::from_ref(&x))
            .unwrap();
        assert_eq!(got, first, "fast at {threads} threads");
    }
    let (a, b) = (first[0].as_slice::<f32>().unwrap(), want[0].as_slice::<f32>().unwrap());
    for (i, (p, q)) in a.iter().zip(b).enumerate() {
        assert!((p - q).abs() <= 1e-5 * q.abs().max(1.0), "element {i}: {p} vs {q}");
    }
}

#[test]
fn native_results_share_one_arena_across_runs_and_threads() {
    let g = net();
    let x = input();
    let e = Executor::new(&g, cpu(Mode::Strict, 2)).unwrap();
    let summary = e.summary();
    // The four convs, the batch norm, the pool, the elementwise program and the GEMM put
    // their results in the arena (the flattens are views into it); LRN runs as a node in
    // strict mode, and the concat is the graph output.
    assert_eq!(summary.arena_values, 8, "{summary:?}");
    let sizes = [81, 81, 81, 81, 25, 9, 9, 15].map(|n| n * 2 * 6 * 4);
    assert!(summary.arena_bytes < sizes.iter().sum::<usize>(), "{summary:?}");
    let want = Interpreter::new(&g).run(std::slice::from_ref(&x)).unwrap();
    std::thread::scope(|s| {
        let runs: Vec<_> = (0..3)
            .map(|_| s.spawn(|| e.run(std::slice::from_ref(&x)).unwrap()))
            .collect();
        for r in runs {
            assert_eq!(r.join().unwrap(), want);
        }
    });
    assert_eq!(e.run(std::slice::from_ref(&x)).unwrap(), want);
}

/// A view read long after its operand's other readers: without the plan keeping the
/// operand's slot alive for the view, `c3` would take that slot and overwrite the bytes
/// the concat reads through the view.
const VIEWS: &str = r#"graph "views"
input %0: f32[1, 4, 6, 6] "x"
%1 = constant : f32[4, 4, 3, 3] "w"
%2 = conv(%0, %1, _) {kernel = [3, 3], strides = [1, 1], dilations = [1, 1], padding = [1, 1, 1, 1], group = 1} : f32[1, 4, 6, 6] "c1"
%3 = flatten(%2) {axis = 1} : f32[1, 144] "f1"
%4 = conv(%2, %1, _) {kernel = [3, 3], strides = [1, 1], dilations = [1, 1], padding = [1, 1, 1, 1], group = 1} : f32[1, 4, 6, 6] "c2"
%5 = conv(%4, %1, _) {kernel = [3, 3], strides = [1, 1], dilations = [1, 1], padding = [1, 1, 1, 1], group = 1} : f32[1, 4, 6, 6] "c3"
%6 = flatten(%5) {axis = 1} : f32[1, 144] "f3"
%7 = concat(%3, %6) {axis = 1} : f32[1, 288] "cat"
output %7 "y"
"#;

#[test]
fn views_keep_their_slot_alive() {
    let weight = |name: &str| (name == "w").then(|| Tensor::from_vec(vec![4, 4, 3, 3], values(3, 144)).unwrap());
    let g = parse_graph(VIEWS, &weight).unwrap();
    verify(&g).unwrap();
    let x = Tensor::from_vec(vec![1, 4, 6, 6], values(9, 144)).unwrap();
    let want = Interpreter::new(&g).run(std::slice::from_ref(&x)).unwrap();
    let e = Executor::new(&g, cpu(Mode::Strict, 1)).unwrap();
    assert_eq!(e.steps.iter().filter(|s| s.view).count(), 2, "both flattens are views");
    assert_eq!(e.run(std::slice::from_ref(&x)).unwrap(), want);
    assert_eq!(e.run(std::slice::from_ref(&x)).unwrap(), want);
}

/// Values in [-1, 1) with the awkward ones mixed in: NaN, signed zeros, infinities and a
/// subnormal, one in every 13 elements.
fn awkward(seed: u64, n: usize) -> Vec<f32> {
    let special = [f32::NAN, -0.0, 0.0, f32::INFINITY, f32::NEG_INFINITY, 1e-40, -3.5, 40.0];
    let mut v = values(seed, n);
    for (i, x) in v.iter_mut().enumerate().filter(|(i, _)| i % 13 == 5) {
        *x = special[(i / 13) % special.len()];
    }
    v
}

/// Parses `text`, whose constants are named in `consts` with their dims (deterministic
/// values), and verifies it.
fn graph_of(text: &str, consts: &[(&str, &[usize])]) -> Graph {
    let weight = |name: &str| -> Option<Tensor> {
        let (i, (_, dims)) = consts.iter().enumerate().find(|(_, (n, _))| *n == name)?;
        let n = dims.iter().product();
        Tensor::from_vec(dims.to_vec(), values(100 + i as u64, n)).ok()
    };
    let g = parse_graph(text, &weight).unwrap_or_else(|e| panic!("{e}\n{text}"));
    verify(&g).unwrap_or_else(|e| panic!("{e}\n{text}"));
    g
}

/// Checks `g` on `inputs`: strict bit-identical to the interpreter at 1, 2 and 4 threads;
/// fast the same bits run to run and at every thread count, and within `1e-5` relative
/// of the interpreter. Returns the strict plan's step kinds.
fn check(g: &Graph, inputs: &[Tensor]) -> Vec<&'static str> {
    let want = Interpreter::new(g).run(inputs).unwrap();
    for threads in [1, 2, 4] {
        let got = Executor::new(g, cpu(Mode::Strict, threads))
            .unwrap()
            .run(inputs)
            .unwrap();
        assert_eq!(got, want, "strict at {threads} threads: {}", g.name);
    }
    let one = Executor::new(g, cpu(Mode::Fast, 1)).unwrap();
    let first = one.run(inputs).unwrap();
    assert_eq!(one.run(inputs).unwrap(), first, "fast run to run: {}", g.name);
    for threads in [2, 4] {
        let got = Executor::new(g, cpu(Mode::Fast, threads)).unwrap().run(inputs).unwrap();
        assert_eq!(got, first, "fast at {threads} threads: {}", g.name);
    }
    for (p, q) in first.iter().zip(&want) {
        let (a, b) = (p.as_slice::<f32>().unwrap(), q.as_slice::<f32>().unwrap());
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            let close = (x.is_nan() && y.is_nan()) || x == y || (x - y).abs() <= 1e-5 * y.abs().max(1.0);
            assert!(close, "{}: fast element {i}: {x} vs {y}", g.name);
        }
    }
    let e = Executor::new(g, cpu(Mode::Strict, 1)).unwrap();
    e.steps.iter().map(|s| s.kernel.name()).collect()
}

/// How a fused convolution step splits its program: per-channel stages, residual (and
/// whether after the activation), activation, and the tail program's length.
type ConvSplit = (usize, Option<bool>, Activation, Option<usize>);

fn conv_split(e: &Executor) -> ConvSplit {
    let conv = e.steps.iter().find_map(|s| match &s.kernel {
        Kernel::Conv(c) => Some(c),
        _ => None,
    });
    let c = conv.expect("a conv step");
    (
        c.stages.len(),
        c.residual.map(|r| r.after_activation),
        c.activation,
        c.tail.as_ref().map(|t| t.program.len()),
    )
}

#[test]
fn fused_conv_forms_are_native_and_exact() {
    let forms: [(&str, ConvSplit); 12] = [
        ("relu(acc)", (0, None, Activation::Relu, None)),
        ("add(acc, in3); relu(t0)", (0, Some(false), Activation::Relu, None)),
        ("relu(acc); add(t0, in3)", (0, Some(true), Activation::Relu, None)),
        (
            "add(in3, acc); relu(t0); sigmoid(t1)",
            (0, Some(false), Activation::Relu, Some(1)),
        ),
        ("sigmoid(acc)", (0, None, Activation::None, Some(1))),
        (
            "clip(acc, in4, in5)",
            (
                0,
                None,
                Activation::Clip {
                    min: Some(-0.5),
                    max: Some(0.5),
                },
                None,
            ),
        ),
        (
            "leaky_relu{alpha = 0.1}(acc)",
            (0, None, Activation::LeakyRelu { alpha: 0.1 }, None),
        ),
        (
            "mul(acc, in6); add(in7, t0); hard_swish(t1)",
            (2, None, Activation::None, Some(1)),
        ),
        (
            "mul(acc, in6); gelu{tanh = false}(t0); add(t1, in3)",
            (1, None, Activation::None, Some(2)),
        ),
        ("sigmoid(acc); mul(acc, t0)", (0, None, Activation::None, Some(2))),
        (
            "relu(acc); mul(t0, in6); swish{alpha = 1.0}(t1)",
            (0, None, Activation::Relu, Some(2)),
        ),
        (
            "div(in6, acc); sub(t0, in4); add(t1, in3); tanh(t2)",
            (2, Some(false), Activation::None, Some(1)),
        ),
    ];
    let consts: [(&str, &[usize]); 4] = [
        ("w", &[6, 4, 3, 3]),
        ("b", &[6]),
        ("k", &[6, 1, 1]),
        ("s", &[1, 6, 1, 1]),
    ];
    let x = Tensor::from_vec(vec![2, 4, 7, 7], values(1, 2 * 4 * 49)).unwrap();
    let r = Tensor::from_vec(vec![2, 6, 7, 7], values(2, 2 * 6 * 49)).unwrap();
    for (program, split) in forms {
        let text = format!(
            r#"graph "conv {program}"
input %0: f32[2, 4, 7, 7] "x"
input %1: f32[2, 6, 7, 7] "r"
%2 = constant : f32[6, 4, 3, 3] "w"
%3 = constant : f32[6] "b"
%4 = constant [-0.5] : f32[] "lo"
%5 = constant [0.5] : f32[] "hi"
%6 = constant : f32[6, 1, 1] "k"
%7 = constant : f32[1, 6, 1, 1] "s"
%8 = fused_conv(%0, %2, %3, %1, %4, %5, %6, %7) {{kernel = [3, 3], strides = [1, 1], dilations = [1, 1], padding = [1, 1, 1, 1], group = 1, program = "{program}"}} : f32[2, 6, 7, 7] "y"
output %8 "y"
"#
        );
        let g = graph_of(&text, &consts);
        let kinds = check(&g, &[x.clone(), r.clone()]);
        assert_eq!(kinds, ["conv"], "{program}");
        for mode in [Mode::Strict, Mode::Fast] {
            let e = Executor::new(&g, cpu(mode, 1)).unwrap();
            assert_eq!(conv_split(&e), split, "{program}");
        }
    }
}

#[test]
fn fused_products_are_native_and_exact() {
    let consts: [(&str, &[usize]); 4] = [("w", &[8, 5]), ("wt", &[5, 8]), ("bias", &[5]), ("row", &[1, 5])];
    let a = Tensor::from_vec(vec![2, 3, 8], values(3, 48)).unwrap();
    let r = Tensor::from_vec(vec![2, 3, 5], values(4, 30)).unwrap();
    let matmul = [
        "add(acc, in2); relu(t0)",
        "add(in2, acc); add(t0, in3); relu(t1)",
        "add(acc, in4); gelu{tanh = true}(t0)",
        "relu(acc); add(t0, in3); sigmoid(t1)",
        "mul(acc, in2); relu(t0)",
    ];
    for program in matmul {
        let text = format!(
            r#"graph "matmul {program}"
input %0: f32[2, 3, 8] "a"
input %1: f32[2, 3, 5] "r"
%2 = constant : f32[8, 5] "w"
%3 = constant : f32[5] "bias"
%4 = constant : f32[1, 5] "row"
%5 = fused_matmul(%0, %2, %3, %1, %4) {{program = "{program}"}} : f32[2, 3, 5] "y"
output %5 "y"
"#
        );
        let g = graph_of(&text, &consts);
        assert_eq!(check(&g, &[a.clone(), r.clone()]), ["gemm"], "{program}");
    }
    let a = Tensor::from_vec(vec![4, 8], values(5, 32)).unwrap();
    let r = Tensor::from_vec(vec![4, 5], values(6, 20)).unwrap();
    for program in [
        "relu(acc)",
        "add(acc, in3); leaky_relu{alpha = 0.2}(t0); add(t1, in4)",
        "exp(acc)",
    ] {
        let text = format!(
            r#"graph "gemm {program}"
input %0: f32[4, 8] "a"
input %1: f32[4, 5] "r"
%2 = constant : f32[5, 8] "wt"
%3 = constant : f32[5] "bias"
%4 = fused_gemm(%0, %2, %3, %3, %1) {{alpha = 0.5, beta = 2.0, trans_a = false, trans_b = true, program = "{program}"}} : f32[4, 5] "y"
output %4 "y"
"#
        );
        let g = graph_of(&text, &consts);
        assert_eq!(check(&g, &[a.clone(), r.clone()]), ["gemm"], "{program}");
    }
}

#[test]
fn fused_elementwise_programs_are_native_and_exact() {
    let programs = [
        // Same shape, per-channel, scalar.
        "add(in0, in1); mul(t0, in2); sub(t1, in3); relu(t2)",
        // General broadcast: [1, 6, 1, 7] * [5, 1], then the full shape.
        "mul(in4, in5); add(t0, in0)",
        "sigmoid(in0); tanh(t0); erf(in1); add(t1, t2); gelu{tanh = false}(t3); exp(t4)",
        "abs(in0); sqrt(t0); neg(t1); clip(t2, in6, in7)",
        "max(in0, in1); min(t0, in3); div(t1, in2); pow(t2, in3)",
        "leaky_relu{alpha = 0.01}(in0); hard_swish(t0); swish{alpha = 1.5}(t1); gelu{tanh = true}(t2)",
        "clip(in0, _, in7); sub(in3, t0); log(t1); softplus(in5); mul(t2, t3)",
        "prelu(in0, in2); reciprocal(t0); floor(in1); add(t1, t2)",
    ];
    let consts: [(&str, &[usize]); 2] = [("c", &[6, 1, 1]), ("f", &[5, 1])];
    let a = Tensor::from_vec(vec![2, 6, 5, 7], awkward(7, 420)).unwrap();
    let b = Tensor::from_vec(vec![2, 6, 5, 7], awkward(8, 420)).unwrap();
    let e = Tensor::from_vec(vec![1, 6, 1, 7], awkward(9, 42)).unwrap();
    for program in programs {
        let text = format!(
            r#"graph "elementwise {program}"
input %0: f32[2, 6, 5, 7] "a"
input %1: f32[2, 6, 5, 7] "b"
input %4: f32[1, 6, 1, 7] "e"
%2 = constant : f32[6, 1, 1] "c"
%3 = constant [0.75] : f32[] "d"
%5 = constant : f32[5, 1] "f"
%6 = constant [-0.25] : f32[] "lo"
%7 = constant [0.5] : f32[] "hi"
%8 = fused_elementwise(%0, %1, %2, %3, %4, %5, %6, %7) {{program = "{program}"}} : f32[2, 6, 5, 7] "y"
output %8 "y"
"#
        );
        let g = graph_of(&text, &consts);
        assert_eq!(
            check(&g, &[a.clone(), b.clone(), e.clone()]),
            ["elementwise"],
            "{program}"
        );
    }
}

/// Single elementwise nodes run as one-instruction programs (activations as one-stage
/// chains); ops without an `f32`
/// result (comparisons) stay nodes, and a fused node on other dtypes falls back to the
/// reference kernel.
#[test]
fn single_elementwise_nodes_and_fallbacks() {
    let text = r#"graph "single"
input %0: f32[3, 1, 4] "a"
input %1: f32[5, 1] "b"
%2 = add(%0, %1) : f32[3, 5, 4] "sum"
%3 = sigmoid(%2) : f32[3, 5, 4] "sig"
%4 = constant [0.5] : f32[] "hi"
%5 = clip(%3, _, %4) : f32[3, 5, 4] "clip"
%6 = greater(%5, %4) : bool[3, 5, 4] "gt"
%7 = cast(%6) {to = f32} : f32[3, 5, 4] "back"
%8 = fused_elementwise(%7, %5) {program = "mul(in0, in1); erf(t0)"} : f32[3, 5, 4] "y"
output %8 "y"
"#;
    let g = graph_of(text, &[]);
    let a = Tensor::from_vec(vec![3, 1, 4], awkward(10, 12)).unwrap();
    let b = Tensor::from_vec(vec![5, 1], values(11, 5)).unwrap();
    let kinds = check(&g, &[a, b]);
    // The clip with constant bounds is an activation: a one-stage per-channel chain.
    assert_eq!(
        kinds,
        ["elementwise", "elementwise", "chain", "node", "node", "elementwise"]
    );
    let text = r#"graph "f64"
input %0: f64[2, 3] "a"
%1 = fused_elementwise(%0) {program = "exp(in0); neg(t0)"} : f64[2, 3] "y"
output %1 "y"
"#;
    let g = graph_of(text, &[]);
    let a = Tensor::from_vec(vec![2, 3], vec![0.5f64, -1.0, 2.0, 0.0, 3.0, -0.25]).unwrap();
    let want = Interpreter::new(&g).run(std::slice::from_ref(&a)).unwrap();
    let e = Executor::new(&g, cpu(Mode::Strict, 2)).unwrap();
    assert_eq!(e.steps.iter().map(|s| s.kernel.name()).collect::<Vec<_>>(), ["node"]);
    assert_eq!(e.run(std::slice::from_ref(&a)).unwrap(), want);
}
