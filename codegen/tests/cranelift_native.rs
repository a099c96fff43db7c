//! The Cranelift writer: lowered kernels run natively (on x86-64 hosts) and give the
//! reference interpreter's bits; aarch64 code is cross-compiled and decoded.

use lightos_codegen::cranelift::{CpuTarget, WriterError};
use lightos_codegen::kernel::{
    lower_op, Access, Affine, Binding, Buffer, Constant, Expr, Ids, Kernel, Loop, LoweredKernel, OperandInfo, Reduce,
    ReduceAxis, ReduceOp, ReduceOrder, ScalarType, Schedule, Stmt,
};
use lightos_ir::{BinaryOp, DType, Op, ReduceAttrs, ReduceKind, Tensor, UnaryOp};
use lightos_runtime::native::{decode_section, encode_section, KernelArg, NativeError, NativeKernel, NativeKernelCode};
use lightos_runtime::reference::eval_op;

/// Deterministic test values: specials first, then pseudo-random floats of mixed scale.
fn values(n: usize, seed: u64) -> Vec<f32> {
    let specials = [
        0.0,
        -0.0,
        1.0,
        -1.0,
        0.5,
        -2.5,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        f32::from_bits(0xffc0_1234), // negative NaN with a payload
        f32::MIN_POSITIVE / 4.0,     // subnormal
        -3.0e38,
        6.0,
        -6.0,
        3.0,
        -0.25,
    ];
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..n)
        .map(|i| {
            if i < specials.len() && seed.is_multiple_of(2) {
                return specials[i];
            }
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let m = ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0;
            let e = ((s >> 20) % 9) as i32 - 4;
            m * 10f32.powi(e)
        })
        .collect()
}

fn f32s(dims: &[usize], seed: u64) -> Tensor {
    let n = dims.iter().product();
    Tensor::from_vec(dims.to_vec(), values(n, seed)).unwrap()
}

/// The targets that can run here: the host with its features, and (on x86-64) the
/// baseline without any.
fn runnable_targets() -> Vec<CpuTarget> {
    let mut t = vec![CpuTarget::host().unwrap()];
    if cfg!(target_arch = "x86_64") {
        t.push(CpuTarget::x86_64_linux().unwrap());
    }
    t
}

fn can_run_here() -> bool {
    cfg!(all(target_arch = "x86_64", target_os = "linux")) || cfg!(all(target_arch = "aarch64", target_os = "linux"))
}

/// Lowers `op` on `inputs` (all passed with their values, so constant operands such as
/// reduction axes are known).
fn lower(op: &Op, inputs: &[Option<&Tensor>]) -> LoweredKernel {
    let infos: Vec<Option<OperandInfo<'_>>> = inputs
        .iter()
        .map(|t| {
            t.map(|t| OperandInfo {
                dtype: t.dtype(),
                dims: t.dims(),
                value: Some(t),
            })
        })
        .collect();
    lower_op("test", op, &infos).unwrap_or_else(|| panic!("{op:?} was not lowered"))
}

/// Runs `op` natively on every runnable target and compares with the reference bit for bit.
fn check(op: &Op, inputs: &[Option<&Tensor>]) {
    let lowered = lower(op, inputs);
    let expected = eval_op(op, inputs).unwrap();
    // Cross-compiling for aarch64 must work for every kernel, wherever the tests run.
    let arm = CpuTarget::aarch64_linux().unwrap().compile(&lowered.kernel).unwrap();
    check_aarch64_code(&arm);
    if !can_run_here() {
        return;
    }
    for target in runnable_targets() {
        let code = match target.compile(&lowered.kernel) {
            Ok(c) => c,
            Err(WriterError::Unsupported { detail, .. })
                if detail.contains("SSE4.1") && target.features().is_empty() =>
            {
                continue
            }
            Err(e) => panic!("{op:?} on {target:?}: {e}"),
        };
        assert!(!code.code.is_empty());
        // Through a code section and back, as an artifact would carry it.
        let code = decode_section(&encode_section(&[code])).unwrap().remove(0);
        // SAFETY: the code was just produced by the writer for these parameters.
        let native = unsafe { NativeKernel::load(&code) }.unwrap();
        let args: Vec<&Tensor> = lowered
            .bindings
            .iter()
            .filter_map(|b| match b {
                Binding::Operand(i) => inputs[*i],
                Binding::Result(_) => None,
            })
            .collect();
        let got = native.run_tensors(&args).unwrap();
        assert_eq!(got.len(), expected.len());
        for (g, e) in got.iter().zip(&expected) {
            assert_eq!(g.dtype(), e.dtype(), "{op:?}");
            assert_eq!(g.dims(), e.dims(), "{op:?}");
            if !same_bits(g, e) {
                panic!(
                    "{op:?} on {:?}: native and reference differ\n native: {:?}\n    ref: {:?}",
                    target,
                    show(g),
                    show(e)
                );
            }
        }
    }
}

/// Whether two tensors hold the same bits, except that two NaNs count as equal whatever
/// their sign and payload: where two NaNs meet in one operation, IEEE 754 leaves open
/// which one propagates, x86 and aarch64 take the first operand, and LLVM freely commutes
/// the operands of the reference's own `+` and `*`, so the payload is no part of the
/// contract there.
fn same_bits(a: &Tensor, b: &Tensor) -> bool {
    match a.dtype() {
        DType::F32 => {
            let (x, y) = (a.as_slice::<f32>().unwrap(), b.as_slice::<f32>().unwrap());
            x.iter()
                .zip(y)
                .all(|(p, q)| p.to_bits() == q.to_bits() || (p.is_nan() && q.is_nan()))
        }
        DType::F64 => {
            let (x, y) = (a.as_slice::<f64>().unwrap(), b.as_slice::<f64>().unwrap());
            x.iter()
                .zip(y)
                .all(|(p, q)| p.to_bits() == q.to_bits() || (p.is_nan() && q.is_nan()))
        }
        _ => a.bytes() == b.bytes(),
    }
}

/// The elements of a tensor as bit patterns, for messages.
fn show(t: &Tensor) -> Vec<String> {
    match t.dtype() {
        DType::F32 => t
            .as_slice::<f32>()
            .unwrap()
            .iter()
            .map(|v| format!("{v}({:#x})", v.to_bits()))
            .collect(),
        _ => t.bytes().iter().map(|b| b.to_string()).collect(),
    }
}

/// Decodes aarch64 code with yaxpeax-arm: whole 4-byte words, a `ret`
/// (`0xd65f03c0`), and every word up to the last `ret` a valid instruction. Words after
/// the last `ret` are Cranelift's constant island (literal data read with PC-relative
/// loads), which need not decode; there are few of them.
fn check_aarch64_code(code: &NativeKernelCode) {
    use yaxpeax_arch::{Decoder, U8Reader};
    use yaxpeax_arm::armv8::a64::{InstDecoder, Opcode};
    assert_eq!(code.triple, "aarch64-unknown-linux-gnu");
    assert!(
        !code.code.is_empty() && code.code.len().is_multiple_of(4),
        "{} bytes",
        code.code.len()
    );
    let words: Vec<&[u8]> = code.code.chunks(4).collect();
    let last_ret = words
        .iter()
        .rposition(|w| *w == [0xc0, 0x03, 0x5f, 0xd6])
        .unwrap_or_else(|| panic!("kernel {} has no ret", code.name));
    let decoder = InstDecoder::default();
    for (i, word) in words[..=last_ret].iter().enumerate() {
        let mut reader = U8Reader::new(word);
        match decoder.decode(&mut reader) {
            Ok(inst) => assert!(i != last_ret || inst.opcode == Opcode::RET),
            Err(e) => panic!("kernel {}: word {i} ({word:02x?}) does not decode: {e:?}", code.name),
        }
    }
    assert!(
        words.len() - last_ret - 1 <= 64,
        "kernel {}: a large tail after the last ret",
        code.name
    );
}

#[test]
fn unary_ops_match_the_reference() {
    let x = f32s(&[5, 7], 0);
    let ops = [
        UnaryOp::Abs,
        UnaryOp::Neg,
        UnaryOp::Sqrt,
        UnaryOp::Reciprocal,
        UnaryOp::Floor,
        UnaryOp::Ceil,
        UnaryOp::Round,
        UnaryOp::Sign,
        UnaryOp::Relu,
        UnaryOp::LeakyRelu { alpha: 0.1 },
        UnaryOp::Softsign,
        UnaryOp::HardSigmoid { alpha: 0.2, beta: 0.5 },
        UnaryOp::HardSwish,
        UnaryOp::ThresholdedRelu { alpha: 1.0 },
        UnaryOp::Shrink { bias: 0.5, lambd: 1.0 },
        UnaryOp::IsNaN,
        UnaryOp::IsInf {
            negative: true,
            positive: true,
        },
        UnaryOp::IsInf {
            negative: false,
            positive: true,
        },
        UnaryOp::IsInf {
            negative: true,
            positive: false,
        },
        UnaryOp::IsInf {
            negative: false,
            positive: false,
        },
    ];
    for op in ops {
        check(&Op::Unary(op), &[Some(&x)]);
    }
    let x64 = Tensor::from_vec(vec![9], values(9, 4).into_iter().map(f64::from).collect::<Vec<_>>()).unwrap();
    for op in [UnaryOp::HardSwish, UnaryOp::Sign, UnaryOp::Sqrt, UnaryOp::Relu] {
        check(&Op::Unary(op), &[Some(&x64)]);
    }
    let b = Tensor::from_bools(vec![4], &[true, false, false, true]).unwrap();
    check(&Op::Unary(UnaryOp::Not), &[Some(&b)]);
    // Rank 0 and empty tensors.
    check(&Op::Unary(UnaryOp::Relu), &[Some(&Tensor::scalar(-3.0f32))]);
    check(&Op::Unary(UnaryOp::Relu), &[Some(&f32s(&[3, 0], 1))]);
}

#[test]
fn binary_ops_broadcast_and_match_the_reference() {
    let shapes: [(&[usize], &[usize]); 5] = [
        (&[2, 3, 4], &[2, 3, 4]),
        (&[2, 3, 4], &[3, 1]),
        (&[4], &[2, 3, 4]),
        (&[], &[5]),
        (&[3, 1, 2], &[1, 4, 1]),
    ];
    let ops = [
        BinaryOp::Add,
        BinaryOp::Sub,
        BinaryOp::Mul,
        BinaryOp::Div,
        BinaryOp::Max,
        BinaryOp::Min,
        BinaryOp::Equal,
        BinaryOp::Less,
        BinaryOp::LessOrEqual,
        BinaryOp::Greater,
        BinaryOp::GreaterOrEqual,
    ];
    for (i, (sa, sb)) in shapes.iter().enumerate() {
        let a = f32s(sa, 2 * i as u64);
        let b = f32s(sb, 2 * i as u64 + 1);
        for op in ops {
            check(&Op::Binary(op), &[Some(&a), Some(&b)]);
        }
    }
    // Signed zeros and NaNs against each other for max/min.
    let z = Tensor::from_vec(vec![6], vec![0.0f32, -0.0, 0.0, -0.0, f32::NAN, 1.0]).unwrap();
    let w = Tensor::from_vec(vec![6], vec![-0.0f32, 0.0, 0.0, -0.0, 1.0, f32::from_bits(0x7fc0_0042)]).unwrap();
    check(&Op::Binary(BinaryOp::Max), &[Some(&z), Some(&w)]);
    check(&Op::Binary(BinaryOp::Min), &[Some(&z), Some(&w)]);
    check(&Op::Binary(BinaryOp::Min), &[Some(&w), Some(&z)]);
    let x = f32s(&[2, 3], 6);
    let slope = f32s(&[3], 7);
    check(&Op::Binary(BinaryOp::PRelu), &[Some(&x), Some(&slope)]);
    // Integers wrap; unsigned compare unsigned.
    let i = Tensor::from_vec(vec![4], vec![i32::MAX, -5, 7, i32::MIN]).unwrap();
    let j = Tensor::from_vec(vec![4], vec![1, 9, -7, -1]).unwrap();
    for op in [
        BinaryOp::Add,
        BinaryOp::Sub,
        BinaryOp::Mul,
        BinaryOp::Max,
        BinaryOp::Min,
        BinaryOp::Less,
    ] {
        check(&Op::Binary(op), &[Some(&i), Some(&j)]);
    }
    let u = Tensor::from_vec(vec![3], vec![0u8, 200, 255]).unwrap();
    let v = Tensor::from_vec(vec![3], vec![1u8, 100, 2]).unwrap();
    for op in [BinaryOp::Add, BinaryOp::Max, BinaryOp::Greater] {
        check(&Op::Binary(op), &[Some(&u), Some(&v)]);
    }
    let p = Tensor::from_bools(vec![4], &[true, true, false, false]).unwrap();
    let q = Tensor::from_bools(vec![4], &[true, false, true, false]).unwrap();
    for op in [BinaryOp::And, BinaryOp::Or, BinaryOp::Xor] {
        check(&Op::Binary(op), &[Some(&p), Some(&q)]);
    }
}

#[test]
fn clip_and_where_match_the_reference() {
    let x = f32s(&[4, 5], 8);
    let lo = Tensor::scalar(-0.5f32);
    let hi = Tensor::from_vec(vec![1], vec![2.0f32]).unwrap();
    check(&Op::Clip, &[Some(&x), Some(&lo), Some(&hi)]);
    check(&Op::Clip, &[Some(&x), Some(&lo), None]);
    check(&Op::Clip, &[Some(&x), None, Some(&hi)]);
    let nan = Tensor::scalar(f32::NAN);
    check(&Op::Clip, &[Some(&x), Some(&nan), None]);
    let c = Tensor::from_bools(vec![5], &[true, false, true, true, false]).unwrap();
    let y = f32s(&[4, 1], 9);
    check(&Op::Where, &[Some(&c), Some(&x), Some(&y)]);
}

#[test]
fn matmul_matches_the_reference() {
    for (m, k, n, seed) in [(3, 5, 4, 10), (1, 0, 3, 11), (17, 33, 9, 12), (1, 1, 1, 14)] {
        let a = f32s(&[m, k], seed);
        let b = f32s(&[k, n], seed + 1);
        check(&Op::MatMul, &[Some(&a), Some(&b)]);
    }
    let a = Tensor::from_vec(vec![2, 3], vec![1.0f64, 2.0, 3.0, 4.0, 5.0, 6.5]).unwrap();
    let b = Tensor::from_vec(vec![3, 1], vec![0.1f64, 0.2, 0.3]).unwrap();
    check(&Op::MatMul, &[Some(&a), Some(&b)]);
}

#[test]
fn reductions_match_the_reference() {
    let kinds = [
        ReduceKind::Sum,
        ReduceKind::Mean,
        ReduceKind::SumSquare,
        ReduceKind::L1,
        ReduceKind::L2,
        ReduceKind::Prod,
        ReduceKind::Max,
        ReduceKind::Min,
    ];
    // Single axis (13 terms: unrolled by 8 plus a remainder), inner axis a multiple of 8
    // (unrolled), inner axis not a multiple of 8 (rotating partials), all axes, empty.
    let cases: [(&[usize], &[i64], u64); 6] = [
        (&[3, 13, 5], &[1], 1),
        (&[4, 3, 16], &[0, 2], 3),
        (&[2, 7, 3], &[1, 2], 5),
        (&[3, 29], &[-1], 7),
        (&[5, 6], &[], 9),
        (&[3, 0], &[1], 11),
    ];
    for (dims, axes, seed) in cases {
        // Odd seeds skip the special values, so sums are not all NaN.
        let x = f32s(dims, seed);
        let ax = Tensor::from_vec(vec![axes.len()], axes.to_vec()).unwrap();
        for kind in kinds {
            for keepdims in [false, true] {
                let op = Op::Reduce(ReduceAttrs {
                    kind,
                    keepdims,
                    noop_with_empty_axes: false,
                });
                check(&op, &[Some(&x), Some(&ax)]);
            }
        }
    }
    // NaN propagation of max/min: the first NaN wins.
    let x = Tensor::from_vec(
        vec![2, 4],
        vec![
            1.0f32,
            f32::from_bits(0x7fc0_0001),
            5.0,
            f32::from_bits(0x7fc0_0002),
            -0.0,
            0.0,
            -1.0,
            0.0,
        ],
    )
    .unwrap();
    let ax = Tensor::from_vec(vec![1], vec![1i64]).unwrap();
    for kind in [ReduceKind::Max, ReduceKind::Min, ReduceKind::Sum, ReduceKind::Prod] {
        let op = Op::Reduce(ReduceAttrs {
            kind,
            keepdims: false,
            noop_with_empty_axes: false,
        });
        check(&op, &[Some(&x), Some(&ax)]);
    }
}

#[test]
fn softmax_matches_the_reference() {
    use lightos_ir::{SoftmaxAttrs, SoftmaxKind};
    let cases: [(&[usize], usize, bool, u64); 5] = [
        (&[3, 10], 1, false, 1),
        (&[4, 3], 0, false, 3),
        (&[2, 3, 4], 1, true, 5),
        (&[2, 9], 1, false, 0), // with the special values: NaN, infinities
        (&[2, 0], 1, false, 7),
    ];
    for (dims, axis, flatten, seed) in cases {
        let x = f32s(dims, seed);
        for kind in [SoftmaxKind::Softmax, SoftmaxKind::LogSoftmax] {
            let op = Op::Softmax(SoftmaxAttrs { kind, axis, flatten });
            let l = lower(&op, &[Some(&x)]);
            let callees = CpuTarget::aarch64_linux().unwrap().compile(&l.kernel).unwrap().callees;
            assert!(callees.iter().any(|c| c.symbol == "exp_f32"), "{callees:?}");
            check(&op, &[Some(&x)]);
        }
    }
    let x = Tensor::from_vec(vec![2, 3], vec![1.0f64, 2.0, 3.0, -1.0, 0.0, 700.0]).unwrap();
    check(
        &Op::Softmax(SoftmaxAttrs {
            kind: SoftmaxKind::Softmax,
            axis: 1,
            flatten: false,
        }),
        &[Some(&x)],
    );
}

/// A hand-written kernel exercising what lowering does not yet produce: unrolled loops,
/// locals, casts and a call through the function table.
fn exotic_kernel() -> Kernel {
    let mut k = Kernel::new("exotic");
    let x = k.add_param(Buffer::contiguous("x", DType::F32, &[11], Access::Read));
    let e = k.add_param(Buffer::contiguous("e", DType::F32, &[11], Access::Write));
    let i8s = k.add_param(Buffer::contiguous("i8s", DType::I8, &[11], Access::Write));
    let u64s = k.add_param(Buffer::contiguous("u64s", DType::U64, &[11], Access::Write));
    let back = k.add_param(Buffer::contiguous("back", DType::F64, &[11], Access::Write));
    // A 2x3 view with strides [1, 2] of the first 6 elements: transposed reads.
    let s = k.add_param(Buffer {
        name: "s".into(),
        dtype: DType::F32,
        dims: vec![2, 3],
        strides: vec![1, 2],
        access: Access::Read,
    });
    let sums = k.add_param(Buffer::contiguous("sums", DType::F32, &[2], Access::Write));
    let mut ids = Ids::new();
    let i = ids.var();
    let t = ids.local();
    let xi = || Expr::load(x, vec![Affine::var(i)]);
    let body = vec![
        Stmt::Let {
            local: t,
            value: Expr::call("exp", ScalarType::F32, vec![xi()]),
        },
        Stmt::Store {
            buffer: e,
            index: vec![Affine::var(i)],
            value: Expr::Local(t),
        },
        Stmt::Store {
            buffer: i8s,
            index: vec![Affine::var(i)],
            value: Expr::cast(
                ScalarType::I8,
                Expr::binary(lightos_codegen::kernel::BinaryOp::Mul, xi(), Expr::f32(100.0)),
            ),
        },
        Stmt::Store {
            buffer: u64s,
            index: vec![Affine::var(i)],
            value: Expr::cast(
                ScalarType::U64,
                Expr::binary(lightos_codegen::kernel::BinaryOp::Mul, xi(), Expr::f32(1.0e19)),
            ),
        },
        Stmt::Store {
            buffer: back,
            index: vec![Affine::var(i)],
            value: Expr::cast(ScalarType::F64, Expr::cast(ScalarType::I16, xi())),
        },
    ];
    k.body.push(Stmt::Loop(Loop {
        var: i,
        trip: 11,
        schedule: Schedule::Unrolled { factor: 4 },
        body,
    }));
    let r = ids.var();
    let c = ids.var();
    let acc = ids.local();
    k.body.push(Stmt::Loop(Loop {
        var: r,
        trip: 2,
        schedule: Schedule::Parallel,
        body: vec![
            Stmt::Reduce(Reduce {
                local: acc,
                op: ReduceOp::Add,
                order: ReduceOrder::LanePartialTree { lanes: 2 },
                init: Constant::f32(0.0),
                axes: vec![ReduceAxis { var: c, trip: 3 }],
                value: Expr::load(s, vec![Affine::var(r), Affine::var(c)]),
            }),
            Stmt::Store {
                buffer: sums,
                index: vec![Affine::var(r)],
                value: Expr::Local(acc),
            },
        ],
    }));
    k
}

#[test]
fn hand_written_kernel_with_calls_casts_and_unrolling() {
    let k = exotic_kernel();
    let arm = CpuTarget::aarch64_linux().unwrap().compile(&k).unwrap();
    check_aarch64_code(&arm);
    assert_eq!(arm.callees.len(), 1);
    assert_eq!(arm.callees[0].symbol, "exp_f32");
    if !can_run_here() {
        return;
    }
    let x: Vec<f32> = vec![0.0, -0.0, 1.0, -1.5, 0.3, 88.0, -200.0, f32::NAN, 1.27, -1.29, 40000.0];
    for target in runnable_targets() {
        let code = target.compile(&k).unwrap();
        // SAFETY: produced by the writer for these parameters.
        let native = unsafe { NativeKernel::load(&code) }.unwrap();
        let mut e = [0f32; 11];
        let mut i8s = [0i8; 11];
        let mut u64s = [0u64; 11];
        let mut back = [0f64; 11];
        let mut sums = [0f32; 2];
        native
            .run(&mut [
                KernelArg::read(&x),
                KernelArg::write(&mut e),
                KernelArg::write(&mut i8s),
                KernelArg::write(&mut u64s),
                KernelArg::write(&mut back),
                KernelArg::read(&x[..6]),
                KernelArg::write(&mut sums),
            ])
            .unwrap();
        for j in 0..11 {
            let v = x[j];
            assert_eq!(e[j].to_bits(), lightos_runtime::math::exp_f32(v).to_bits(), "exp({v})");
            assert_eq!(i8s[j], (v * 100.0) as i8, "i8 of {v}");
            assert_eq!(u64s[j], (v * 1.0e19) as u64, "u64 of {v}");
            assert_eq!(back[j].to_bits(), f64::from(v as i16).to_bits(), "i16 of {v}");
        }
        // Row r of the view is x[r], x[r + 2], x[r + 4]; two lanes: (t0 + t2) + t1.
        for r in 0..2 {
            let want = (0.0 + x[r] + x[r + 4]) + (0.0 + x[r + 2]);
            assert_eq!(sums[r].to_bits(), want.to_bits(), "row {r}");
        }
    }
}

#[test]
fn refusals_are_errors() {
    // Integer division would need trap checks.
    let mut k = Kernel::new("idiv");
    let a = k.add_param(Buffer::contiguous("a", DType::I32, &[2], Access::Read));
    let y = k.add_param(Buffer::contiguous("y", DType::I32, &[2], Access::Write));
    k.body.push(Stmt::Store {
        buffer: y,
        index: vec![Affine::constant(0)],
        value: Expr::binary(
            lightos_codegen::kernel::BinaryOp::Div,
            Expr::load(a, vec![Affine::constant(0)]),
            Expr::load(a, vec![Affine::constant(1)]),
        ),
    });
    let err = CpuTarget::aarch64_linux().unwrap().compile(&k).unwrap_err();
    assert!(matches!(err, WriterError::Unsupported { .. }), "{err}");
    // An invalid kernel is a verification error.
    k.body.push(Stmt::Store {
        buffer: y,
        index: vec![Affine::constant(2)],
        value: Expr::Const(Constant::int(ScalarType::I32, 1)),
    });
    assert!(matches!(
        CpuTarget::aarch64_linux().unwrap().compile(&k).unwrap_err(),
        WriterError::Verify(_)
    ));
    // Unknown functions, targets and features.
    let mut k = Kernel::new("call");
    let y = k.add_param(Buffer::contiguous("y", DType::F32, &[], Access::Write));
    k.body.push(Stmt::Store {
        buffer: y,
        index: vec![],
        value: Expr::call("frobnicate", ScalarType::F32, vec![Expr::f32(1.0)]),
    });
    let err = CpuTarget::aarch64_linux().unwrap().compile(&k).unwrap_err();
    assert!(err.to_string().contains("frobnicate_f32"), "{err}");
    assert!(CpuTarget::new("riscv64gc-unknown-linux-gnu", &[]).is_err());
    assert!(CpuTarget::new("not a triple", &[]).is_err());
    assert!(CpuTarget::new("x86_64-unknown-linux-gnu", &["avx9000"]).is_err());
    assert!(CpuTarget::new("aarch64-unknown-linux-gnu", &["avx2"]).is_err());
    // Rounding without SSE4.1 on x86-64.
    let l = lower(&Op::Unary(UnaryOp::Floor), &[Some(&f32s(&[3], 1))]);
    let err = CpuTarget::x86_64_linux().unwrap().compile(&l.kernel).unwrap_err();
    assert!(err.to_string().contains("SSE4.1"), "{err}");
    CpuTarget::new("x86_64-unknown-linux-gnu", &["sse4.1"])
        .unwrap()
        .compile(&l.kernel)
        .unwrap();
}

#[test]
fn foreign_code_is_refused_by_the_runtime() {
    let l = lower(&Op::Unary(UnaryOp::Relu), &[Some(&f32s(&[3], 1))]);
    let foreign = if cfg!(target_arch = "aarch64") {
        CpuTarget::x86_64_linux()
    } else {
        CpuTarget::aarch64_linux()
    };
    let code = foreign.unwrap().compile(&l.kernel).unwrap();
    // SAFETY: refused before mapping.
    let err = unsafe { NativeKernel::load(&code) }.unwrap_err();
    assert!(matches!(err, NativeError::ForeignTarget { .. }), "{err}");
}

#[test]
fn native_kernels_check_their_arguments() {
    if !can_run_here() {
        return;
    }
    let l = lower(&Op::MatMul, &[Some(&f32s(&[2, 3], 1)), Some(&f32s(&[3, 2], 3))]);
    let code = CpuTarget::host().unwrap().compile(&l.kernel).unwrap();
    // SAFETY: produced by the writer for these parameters.
    let k = unsafe { NativeKernel::load(&code) }.unwrap();
    let a = [1.0f32; 6];
    let mut y = [0.0f32; 4];
    let err = k
        .run(&mut [KernelArg::read(&a[..5]), KernelArg::read(&a), KernelArg::write(&mut y)])
        .unwrap_err();
    assert!(err.to_string().contains("buffer `a`: expected 24 bytes"), "{err}");
    k.run(&mut [KernelArg::read(&a), KernelArg::read(&a), KernelArg::write(&mut y)])
        .unwrap();
    assert_eq!(y, [3.0; 4]);
    let wrong = f32s(&[3, 2], 1);
    let err = k.run_tensors(&[&wrong, &wrong]).unwrap_err();
    assert!(err.to_string().contains("expected f32 [2, 3]"), "{err}");
}
