//! Each rule on a small graph: the fused graph has the expected ops, computes what the
//! input computes (within a relative 1e-5 on the reference backend), costs no more,
//! and comes out the same on every compile.

use lightos_ir::infer::{infer, Operand, SymbolNamer};
use lightos_ir::text::print_graph;
use lightos_ir::{
    BinaryOp, ConvAttrs, GemmAttrs, Graph, NormAttrs, Op, Padding, ReduceAttrs, ReduceKind, ReshapeAttrs, SoftmaxAttrs,
    SoftmaxKind, Tensor, TensorType, TransposeAttrs, UnaryOp, ValueId,
};
use lightos_runtime::reference::Interpreter;

use super::{graph_cost, Fusion};
use lightos_targets::Target;

/// A graph under construction, with types inferred.
struct Builder {
    g: Graph,
    n: usize,
    seed: u32,
}

impl Builder {
    fn new() -> Builder {
        Builder {
            g: Graph::new("test"),
            n: 0,
            seed: 7,
        }
    }

    fn input(&mut self, dims: &[usize]) -> ValueId {
        let name = format!("in{}", self.g.inputs().len());
        self.g.add_input(name, TensorType::fixed(lightos_ir::DType::F32, dims))
    }

    fn op(&mut self, op: Op, operands: &[Option<ValueId>]) -> ValueId {
        let types = {
            let ops: Vec<Option<Operand<'_>>> = operands
                .iter()
                .map(|o| {
                    o.map(|v| Operand {
                        ty: self.g.ty(v),
                        value: self.g.constant_value(v),
                    })
                })
                .collect();
            infer(&op, &ops, &mut SymbolNamer::new("t")).expect("operands fit")
        };
        self.n += 1;
        let node = self.g.add_node(format!("n{}", self.n), op, operands.to_vec(), types);
        self.g.node(node).results[0]
    }

    fn tensor(&mut self, t: Tensor) -> ValueId {
        self.op(Op::Constant(t), &[])
    }

    /// A constant of pseudo-random values in `[lo, hi)`.
    fn random(&mut self, dims: &[usize], lo: f32, hi: f32) -> ValueId {
        let n: usize = dims.iter().product();
        let data: Vec<f32> = (0..n)
            .map(|_| {
                self.seed = self.seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                lo + (hi - lo) * ((self.seed >> 8) as f32 / (1u32 << 24) as f32)
            })
            .collect();
        self.tensor(Tensor::from_vec(dims.to_vec(), data).unwrap())
    }

    fn scalar(&mut self, v: f32) -> ValueId {
        self.tensor(Tensor::scalar(v))
    }

    fn ints(&mut self, v: &[i64]) -> ValueId {
        self.tensor(Tensor::from_vec(vec![v.len()], v.to_vec()).unwrap())
    }

    fn bin(&mut self, b: BinaryOp, x: ValueId, y: ValueId) -> ValueId {
        self.op(Op::Binary(b), &[Some(x), Some(y)])
    }

    fn un(&mut self, u: UnaryOp, x: ValueId) -> ValueId {
        self.op(Op::Unary(u), &[Some(x)])
    }

    fn finish(mut self, outputs: &[ValueId]) -> Graph {
        for (i, &v) in outputs.iter().enumerate() {
            self.g.add_output(format!("out{i}"), v);
        }
        lightos_ir::verify(&self.g).expect("test graph verifies");
        self.g
    }
}

fn conv(b: &mut Builder, x: ValueId, cin: usize, cout: usize) -> ValueId {
    let w = b.random(&[cout, cin, 3, 3], -0.5, 0.5);
    let bias = b.random(&[cout], -0.1, 0.1);
    b.op(
        Op::Conv(ConvAttrs {
            kernel: vec![3, 3],
            strides: vec![1, 1],
            dilations: vec![1, 1],
            padding: Padding::Explicit(vec![1, 1, 1, 1]),
            group: 1,
        }),
        &[Some(x), Some(w), Some(bias)],
    )
}

fn inputs_for(g: &Graph) -> Vec<Tensor> {
    g.inputs()
        .iter()
        .enumerate()
        .map(|(k, p)| {
            let dims: Vec<usize> = g.ty(p.value).shape.dims().iter().map(|d| d.fixed().unwrap()).collect();
            let n: usize = dims.iter().product();
            let data = (0..n)
                .map(|i| (((i * 37 + k * 11) % 101) as f32 / 50.0) - 1.0)
                .collect();
            Tensor::from_vec(dims, data).unwrap()
        })
        .collect()
}

/// Fuses `g`, checks numerics, cost and determinism; returns the fused graph's text.
fn fuse_and_check(g: &Graph) -> (Graph, String) {
    let fused = Fusion::default().fuse(g.clone());
    assert!(fused.kept_input.is_none(), "fusion stopped: {:?}", fused.kept_input);
    let again = Fusion::default().fuse(g.clone());
    let text = print_graph(&fused.graph);
    assert_eq!(text, print_graph(&again.graph), "fusion is not deterministic");
    let model = Target::Cpu.cost_model();
    assert!(graph_cost(&fused.graph, &model).ns <= graph_cost(g, &model).ns);
    let inputs = inputs_for(g);
    let want = Interpreter::new(g).run(&inputs).expect("original runs");
    let got = Interpreter::new(&fused.graph).run(&inputs).expect("fused runs");
    for (w, o) in want.iter().zip(&got) {
        assert_eq!(w.dims(), o.dims());
        let (w, o) = (w.as_slice::<f32>().unwrap(), o.as_slice::<f32>().unwrap());
        let scale = w.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-30);
        for (a, b) in w.iter().zip(o) {
            assert!(
                (a - b).abs() <= 1e-5 * (a.abs() + scale * 1e-1),
                "fused {b} differs from unfused {a}\n{text}"
            );
        }
    }
    (fused.graph, text)
}

fn ops_of(g: &Graph) -> Vec<String> {
    g.nodes()
        .iter()
        .filter(|n| !matches!(n.op, Op::Constant(_)))
        .map(|n| n.op.name())
        .collect()
}

#[test]
fn conv_batch_norm_relu_folds_and_fuses_into_one_kernel() {
    let mut b = Builder::new();
    let x = b.input(&[1, 3, 6, 6]);
    let c = conv(&mut b, x, 3, 4);
    let (s, sh, m) = (
        b.random(&[4], 0.5, 1.5),
        b.random(&[4], -1.0, 1.0),
        b.random(&[4], -1.0, 1.0),
    );
    let v = b.random(&[4], 0.5, 2.0);
    let bn = b.op(
        Op::BatchNorm(NormAttrs { axis: 1, epsilon: 1e-5 }),
        &[Some(c), Some(s), Some(sh), Some(m), Some(v)],
    );
    // An exporter's explicit per-channel scale and shift after the batch norm.
    let k = b.random(&[4, 1, 1], 0.5, 1.5);
    let t = b.random(&[4, 1, 1], -0.5, 0.5);
    let scaled = b.bin(BinaryOp::Mul, bn, k);
    let shifted = b.bin(BinaryOp::Add, scaled, t);
    let r = b.un(UnaryOp::Relu, shifted);
    let (g, text) = fuse_and_check(&b.finish(&[r]));
    assert_eq!(ops_of(&g), ["fused_conv"], "{text}");
    assert!(text.contains(r#"program = "relu(acc)""#), "{text}");
}

#[test]
fn conv_residual_relu_is_one_kernel_but_a_shared_conv_is_not_fused() {
    let mut b = Builder::new();
    let x = b.input(&[1, 4, 5, 5]);
    let c1 = conv(&mut b, x, 4, 4);
    let a = b.bin(BinaryOp::Add, c1, x);
    let r = b.un(UnaryOp::Relu, a);
    // c2 is read twice, so it stays a kernel of its own.
    let c2 = conv(&mut b, r, 4, 4);
    let s = b.un(UnaryOp::Sigmoid, c2);
    let (g, text) = fuse_and_check(&b.finish(&[s, c2]));
    assert_eq!(ops_of(&g), ["fused_conv", "conv", "sigmoid"], "{text}");
    assert!(text.contains(r#"program = "add(acc, in3); relu(t0)""#), "{text}");
}

#[test]
fn a_decomposed_silu_after_a_conv_becomes_its_epilogue() {
    let mut b = Builder::new();
    let x = b.input(&[1, 3, 5, 5]);
    let c = conv(&mut b, x, 3, 4);
    let s = b.un(UnaryOp::Sigmoid, c);
    let y = b.bin(BinaryOp::Mul, c, s);
    let (g, text) = fuse_and_check(&b.finish(&[y]));
    assert_eq!(ops_of(&g), ["fused_conv"], "{text}");
    assert!(text.contains(r#"program = "swish{alpha = 1.0}(acc)""#), "{text}");
}

#[test]
fn matmul_bias_relu_becomes_one_ffn_kernel() {
    let mut b = Builder::new();
    let x = b.input(&[2, 8, 16]);
    let w = b.random(&[16, 32], -0.3, 0.3);
    let bias = b.random(&[32], -0.1, 0.1);
    let m = b.op(Op::MatMul, &[Some(x), Some(w)]);
    let a = b.bin(BinaryOp::Add, bias, m);
    let r = b.un(UnaryOp::Relu, a);
    let w2 = b.random(&[32, 16], -0.3, 0.3);
    let m2 = b.op(Op::MatMul, &[Some(r), Some(w2)]);
    let x2 = b.input(&[8, 16]);
    let g2 = b.op(
        Op::Gemm(GemmAttrs {
            alpha: 1.0,
            beta: 1.0,
            trans_a: false,
            trans_b: false,
        }),
        &[Some(x2), Some(w), None],
    );
    let h = b.un(UnaryOp::HardSwish, g2);
    let (g, text) = fuse_and_check(&b.finish(&[m2, h]));
    assert!(
        text.contains(r#"fused_matmul"#) && text.contains(r#"program = "add(in2, acc); relu(t0)""#),
        "{text}"
    );
    assert!(text.contains(r#"program = "hard_swish(acc)""#), "{text}");
    assert_eq!(ops_of(&g).len(), 3, "{text}");
}

#[test]
fn an_elementwise_chain_of_any_length_is_one_kernel() {
    let mut b = Builder::new();
    let x = b.input(&[2, 3, 4, 4]);
    let y = b.input(&[2, 3, 4, 4]);
    let per_channel = b.random(&[1, 3, 1, 1], 0.5, 1.5);
    let two = b.scalar(2.0);
    let mut v = b.bin(BinaryOp::Mul, x, per_channel);
    v = b.bin(BinaryOp::Add, v, y);
    v = b.un(UnaryOp::Tanh, v);
    v = b.bin(BinaryOp::Div, v, two);
    v = b.un(UnaryOp::Sigmoid, v);
    v = b.bin(BinaryOp::Max, v, x);
    v = b.un(UnaryOp::Exp, v);
    let (g, text) = fuse_and_check(&b.finish(&[v]));
    assert_eq!(ops_of(&g), ["fused_elementwise"], "{text}");
    // The division by a constant became a multiplication by its reciprocal.
    assert!(text.contains("mul(t2, in"), "{text}");
    assert!(!text.contains("div("), "{text}");
}

fn gelu_erf(b: &mut Builder, x: ValueId) -> ValueId {
    let sqrt2 = b.scalar(std::f32::consts::SQRT_2);
    let one = b.scalar(1.0);
    let half = b.scalar(0.5);
    let d = b.bin(BinaryOp::Div, x, sqrt2);
    let e = b.un(UnaryOp::Erf, d);
    let a = b.bin(BinaryOp::Add, e, one);
    let m = b.bin(BinaryOp::Mul, x, a);
    b.bin(BinaryOp::Mul, m, half)
}

fn gelu_tanh(b: &mut Builder, x: ValueId) -> ValueId {
    let three = b.scalar(3.0);
    let k = b.scalar(0.044715);
    let c = b.scalar((2.0f32 / std::f32::consts::PI).sqrt());
    let one = b.scalar(1.0);
    let half = b.scalar(0.5);
    let cube = b.bin(BinaryOp::Pow, x, three);
    let t = b.bin(BinaryOp::Mul, k, cube);
    let s = b.bin(BinaryOp::Add, x, t);
    let i = b.bin(BinaryOp::Mul, c, s);
    let th = b.un(UnaryOp::Tanh, i);
    let a = b.bin(BinaryOp::Add, one, th);
    let hx = b.bin(BinaryOp::Mul, half, x);
    b.bin(BinaryOp::Mul, hx, a)
}

#[test]
fn decomposed_gelus_are_recognized_and_fuse_into_their_producer() {
    let mut b = Builder::new();
    let x = b.input(&[4, 16]);
    let w = b.random(&[16, 16], -0.5, 0.5);
    let m = b.op(Op::MatMul, &[Some(x), Some(w)]);
    let g1 = gelu_erf(&mut b, m);
    let g2 = gelu_tanh(&mut b, x);
    let (g, text) = fuse_and_check(&b.finish(&[g1, g2]));
    assert!(text.contains(r#"program = "gelu{tanh = false}(acc)""#), "{text}");
    assert!(text.contains("gelu(%0) {tanh = true}"), "{text}");
    assert_eq!(ops_of(&g).len(), 2, "{text}");
}

#[test]
fn decomposed_layer_norm_and_softmax_are_recognized() {
    let mut b = Builder::new();
    let x = b.input(&[2, 5, 8]);
    let axes = b.ints(&[-1]);
    let mean = |b: &mut Builder, v: ValueId| {
        b.op(
            Op::Reduce(ReduceAttrs {
                kind: ReduceKind::Mean,
                keepdims: true,
                noop_with_empty_axes: false,
            }),
            &[Some(v), Some(axes)],
        )
    };
    let mu = mean(&mut b, x);
    let d = b.bin(BinaryOp::Sub, x, mu);
    let two = b.scalar(2.0);
    let sq = b.bin(BinaryOp::Pow, d, two);
    let var = mean(&mut b, sq);
    let eps = b.scalar(1e-5);
    let ve = b.bin(BinaryOp::Add, var, eps);
    let sd = b.un(UnaryOp::Sqrt, ve);
    let n = b.bin(BinaryOp::Div, d, sd);
    let gamma = b.random(&[8], 0.5, 1.5);
    let beta = b.random(&[8], -0.5, 0.5);
    let scaled = b.bin(BinaryOp::Mul, n, gamma);
    let ln = b.bin(BinaryOp::Add, scaled, beta);

    let reduce = |b: &mut Builder, kind, v| {
        b.op(
            Op::Reduce(ReduceAttrs {
                kind,
                keepdims: true,
                noop_with_empty_axes: false,
            }),
            &[Some(v), Some(axes)],
        )
    };
    let mx = reduce(&mut b, ReduceKind::Max, ln);
    let z = b.bin(BinaryOp::Sub, ln, mx);
    let e = b.un(UnaryOp::Exp, z);
    let s = reduce(&mut b, ReduceKind::Sum, e);
    let sm = b.bin(BinaryOp::Div, e, s);
    let (g, text) = fuse_and_check(&b.finish(&[sm]));
    assert_eq!(ops_of(&g), ["layer_norm", "softmax"], "{text}");
}

#[test]
fn scaled_dot_product_attention_becomes_one_op_and_transposes_cancel() {
    let mut b = Builder::new();
    let q = b.input(&[1, 2, 6, 4]);
    let k = b.input(&[1, 2, 6, 4]);
    let v = b.input(&[1, 2, 6, 4]);
    let mask = b.random(&[1, 1, 6, 6], -1.0, 0.0);
    let kt = b.op(Op::Transpose(TransposeAttrs { perm: vec![0, 1, 3, 2] }), &[Some(k)]);
    let qk = b.op(Op::MatMul, &[Some(q), Some(kt)]);
    let s = b.scalar(0.5);
    let scaled = b.bin(BinaryOp::Mul, qk, s);
    let masked = b.bin(BinaryOp::Add, scaled, mask);
    let p = b.op(
        Op::Softmax(SoftmaxAttrs {
            kind: SoftmaxKind::Softmax,
            axis: 3,
            flatten: false,
        }),
        &[Some(masked)],
    );
    let y = b.op(Op::MatMul, &[Some(p), Some(v)]);
    let (g, text) = fuse_and_check(&b.finish(&[y]));
    assert_eq!(ops_of(&g), ["attention"], "{text}");
    assert!(text.contains("scale = 0.5"), "{text}");
}

#[test]
fn layout_rules_remove_double_transposes_and_view_chains() {
    let mut b = Builder::new();
    let x = b.input(&[2, 3, 4]);
    let t1 = b.op(Op::Transpose(TransposeAttrs { perm: vec![1, 0, 2] }), &[Some(x)]);
    let r = b.un(UnaryOp::Relu, t1);
    let t2 = b.op(Op::Transpose(TransposeAttrs { perm: vec![1, 0, 2] }), &[Some(r)]);
    let s1 = b.ints(&[6, 4]);
    let v1 = b.op(Op::Reshape(ReshapeAttrs { allowzero: false }), &[Some(t2), Some(s1)]);
    let s2 = b.ints(&[24]);
    let v2 = b.op(Op::Reshape(ReshapeAttrs { allowzero: false }), &[Some(v1), Some(s2)]);
    let one = b.scalar(1.0);
    let zero = b.scalar(0.0);
    let m = b.bin(BinaryOp::Mul, v2, one);
    let a = b.bin(BinaryOp::Add, zero, m);
    let (g, text) = fuse_and_check(&b.finish(&[a]));
    assert_eq!(ops_of(&g), ["relu", "reshape"], "{text}");
}
