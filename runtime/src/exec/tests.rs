//! The executor's fused steps against the plain interpreter: bit-identical in strict
//! mode, the same bits at every thread count in fast mode, and the fusion they promise.

use lightos_ir::{text::parse_graph, verify, DType, Graph, Tensor};

use super::Executor;
use crate::backend::{Backend, CpuConfig};
use crate::cpu::Mode;
use crate::reference::Interpreter;

/// A small deterministic generator of values in [-1, 1).
fn values(seed: u64, n: usize) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect()
}

/// A network exercising every fused pattern: conv + batch norm + scale + shift + relu
/// (one conv step), conv + residual add + relu, depthwise conv, max pooling, a scale +
/// relu chain, matmul + bias row + relu, fast-mode LRN, and a concat of two flattened
/// views, one of them of a value whose other readers ran long before.
const NET: &str = r#"graph "fused"
input %0: f32[2, 4, 9, 9] "x"
%1 = constant : f32[6, 4, 3, 3] "w1"
%2 = constant : f32[6] "b1"
%3 = conv(%0, %1, %2) {kernel = [3, 3], strides = [1, 1], dilations = [1, 1], padding = [1, 1, 1, 1], group = 1} : f32[2, 6, 9, 9] "c1"
%4 = constant : f32[6] "bn_s"
%5 = constant : f32[6] "bn_b"
%6 = constant : f32[6] "bn_m"
%7 = constant : f32[6] "bn_v"
%8 = batch_norm(%3, %4, %5, %6, %7) {epsilon = 1e-5} : f32[2, 6, 9, 9] "bn"
%9 = constant : f32[6, 1, 1] "k"
%10 = mul(%9, %8) : f32[2, 6, 9, 9] "scale"
%11 = constant [0.25] : f32[] "shift_v"
%12 = sub(%10, %11) : f32[2, 6, 9, 9] "shift"
%13 = relu(%12) : f32[2, 6, 9, 9] "r1"
%14 = constant : f32[6, 6, 3, 3] "w2"
%15 = conv(%13, %14, _) {kernel = [3, 3], strides = [1, 1], dilations = [1, 1], padding = [1, 1, 1, 1], group = 1} : f32[2, 6, 9, 9] "c2"
%16 = add(%13, %15) : f32[2, 6, 9, 9] "res"
%17 = relu(%16) : f32[2, 6, 9, 9] "r2"
%18 = constant : f32[6, 1, 3, 3] "dw"
%19 = conv(%17, %18, _) {kernel = [3, 3], strides = [2, 2], dilations = [1, 1], padding = [1, 1, 1, 1], group = 6} : f32[2, 6, 5, 5] "c3"
%20 = max_pool(%19) {kernel = [2, 2], strides = [2, 2], dilations = [1, 1], padding = [0, 0, 0, 0], ceil_mode = true} : f32[2, 6, 3, 3] "pool"
%30 = mul(%20, %9) : f32[2, 6, 3, 3] "pscale"
%31 = relu(%30) : f32[2, 6, 3, 3] "prelu"
%21 = lrn(%31) {size = 3, alpha = 0.0001, beta = 0.75, bias = 1.0} : f32[2, 6, 3, 3] "lrn"
%22 = constant : f32[3, 5] "w3"
%23 = constant [0.5, -0.5, 0.25, 0.0, 1.0] : f32[5] "b3"
%50 = mul(%21, %9) : f32[2, 6, 3, 3] "lscale"
%24 = matmul(%50, %22) : f32[2, 6, 3, 5] "mm"
%25 = add(%24, %23) : f32[2, 6, 3, 5] "bias"
%26 = relu(%25) : f32[2, 6, 3, 5] "r3"
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
fn fused_steps_cover_the_patterns() {
    let g = net();
    let e = Executor::new(&g, cpu(Mode::Fast, 1)).unwrap();
    let kinds: Vec<(String, usize, usize)> = e.summary().kernels;
    let expect = [
        ("chain", 2, 3),    // pscale + prelu; lscale
        ("concat", 1, 1),   // cat
        ("conv", 3, 9),     // c1 + bn + scale + shift + r1; c2 + res + r2; c3
        ("gemm", 1, 3),     // mm + bias + r3
        ("lrn", 1, 1),      // fast mode only
        ("max_pool", 1, 1), // pool
        ("node", 2, 2),     // the flattens
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
    // The three convs, the pool, the two chains and the GEMM put their results in the
    // arena (the flattens are views into it); LRN runs as a node in strict mode, and the
    // concat is the graph output.
    assert_eq!(summary.arena_values, 7, "{summary:?}");
    let sizes = [81, 81, 25, 9, 9, 9, 15].map(|n| n * 2 * 6 * 4);
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
