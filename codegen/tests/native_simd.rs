//! SIMD for `vectorized` loops: kernels whose lanes meet the special values (NaN, signed
//! zeros, infinities) in every lane position give the scalar path's and the reference's
//! bits, the vector code really differs from the serial code, and bodies the vector path
//! does not cover still compile (serially).

use lightos_codegen::cranelift::CpuTarget;
use lightos_codegen::kernel::{lower_op, Binding, LoweredKernel, OperandInfo};
use lightos_ir::{BinaryOp, Op, Tensor, UnaryOp};
use lightos_runtime::native::NativeKernel;
use lightos_runtime::reference::eval_op;

const SPECIALS: [f32; 8] = [
    0.0,
    -0.0,
    f32::NAN,
    f32::INFINITY,
    f32::NEG_INFINITY,
    1.5,
    -2.0,
    f32::MIN_POSITIVE / 8.0,
];

/// Every pair of special values, once with each first, so each pair meets in every lane.
fn pairs() -> (Tensor, Tensor) {
    let mut a = Vec::new();
    let mut b = Vec::new();
    for &x in &SPECIALS {
        for &y in &SPECIALS {
            a.push(x);
            b.push(y);
        }
    }
    // 64 pairs plus 3: a vector part and a scalar remainder.
    a.extend([0.0, -0.0, f32::NAN]);
    b.extend([-0.0, 0.0, 1.0]);
    let n = a.len();
    (
        Tensor::from_vec(vec![n], a).unwrap(),
        Tensor::from_vec(vec![n], b).unwrap(),
    )
}

fn lower(op: &Op, inputs: &[&Tensor]) -> LoweredKernel {
    let infos: Vec<Option<OperandInfo<'_>>> = inputs
        .iter()
        .map(|t| {
            Some(OperandInfo {
                dtype: t.dtype(),
                dims: t.dims(),
                value: None,
            })
        })
        .collect();
    lower_op("simd", op, &infos).expect("lowered")
}

/// Same bits, any two NaNs equal (see `cranelift_native.rs`).
fn same_bits(a: &Tensor, b: &Tensor) -> bool {
    a.dtype() == b.dtype()
        && a.dims() == b.dims()
        && match (a.as_slice::<f32>(), b.as_slice::<f32>()) {
            (Ok(x), Ok(y)) => x
                .iter()
                .zip(y)
                .all(|(p, q)| p.to_bits() == q.to_bits() || (p.is_nan() && q.is_nan())),
            _ => a.bytes() == b.bytes(),
        }
}

/// Compiles `op` with and without SIMD (and for aarch64), runs both here and compares
/// with the reference; returns whether the SIMD code differs from the serial code.
fn check(op: &Op, inputs: &[&Tensor]) -> bool {
    let lowered = lower(op, inputs);
    CpuTarget::aarch64_linux().unwrap().compile(&lowered.kernel).unwrap();
    let host = CpuTarget::host().unwrap();
    let simd = host.compile(&lowered.kernel).unwrap();
    let serial = CpuTarget::host()
        .unwrap()
        .with_simd(false)
        .compile(&lowered.kernel)
        .unwrap();
    if !cfg!(any(target_arch = "x86_64", target_arch = "aarch64")) {
        return simd.code != serial.code;
    }
    let operands: Vec<Option<&Tensor>> = inputs.iter().map(|&t| Some(t)).collect();
    let want = eval_op(op, &operands).unwrap();
    let args: Vec<&Tensor> = lowered
        .bindings
        .iter()
        .filter_map(|b| match b {
            Binding::Operand(i) => Some(inputs[*i]),
            Binding::Result(_) => None,
        })
        .collect();
    for code in [&simd, &serial] {
        // SAFETY: the code was just produced by the writer for these parameters.
        let k = unsafe { NativeKernel::load(code) }.unwrap();
        let got = k.run_tensors(&args).unwrap();
        assert!(same_bits(&got[0], &want[0]), "{op:?}: {:?} vs {:?}", got[0], want[0]);
    }
    simd.code != serial.code
}

#[test]
fn max_and_min_keep_nan_and_signed_zero_rules_in_every_lane() {
    let (a, b) = pairs();
    for op in [BinaryOp::Max, BinaryOp::Min] {
        assert!(check(&Op::Binary(op), &[&a, &b]));
        assert!(check(&Op::Binary(op), &[&b, &a]));
    }
    // Clip is max then min against one-element bounds (splat in every lane).
    let lo = Tensor::from_vec(vec![1], vec![-0.0f32]).unwrap();
    let hi = Tensor::from_vec(vec![1], vec![1.0f32]).unwrap();
    assert!(check(&Op::Clip, &[&a, &lo, &hi]));
}

#[test]
fn float_ops_and_selects_match_in_every_lane() {
    let (a, b) = pairs();
    for op in [
        BinaryOp::Add,
        BinaryOp::Sub,
        BinaryOp::Mul,
        BinaryOp::Div,
        BinaryOp::PRelu,
    ] {
        assert!(check(&Op::Binary(op), &[&a, &b]), "{op:?}");
    }
    for op in [
        UnaryOp::Relu,
        UnaryOp::Abs,
        UnaryOp::Neg,
        UnaryOp::Sqrt,
        UnaryOp::Sign,
        UnaryOp::LeakyRelu { alpha: 0.01 },
        UnaryOp::HardSwish,
        UnaryOp::Shrink { bias: 0.5, lambd: 1.0 },
    ] {
        assert!(check(&Op::Unary(op), &[&a]), "{op:?}");
    }
}

#[test]
fn broadcasts_use_vectors_where_the_inner_axis_moves() {
    let m = Tensor::from_vec(vec![3, 13], (0..39).map(|i| i as f32 - 19.5).collect::<Vec<_>>()).unwrap();
    let row = Tensor::from_vec(vec![13], (0..13).map(|i| 0.25 * i as f32).collect::<Vec<_>>()).unwrap();
    let col = Tensor::from_vec(vec![3, 1], vec![1.0f32, -0.0, f32::NAN]).unwrap();
    assert!(check(&Op::Binary(BinaryOp::Add), &[&m, &row]));
    assert!(check(&Op::Binary(BinaryOp::Max), &[&m, &col]));
    assert!(check(&Op::Binary(BinaryOp::Mul), &[&col, &m]));
}

#[test]
fn integer_adds_vectorize_and_other_bodies_stay_serial() {
    let i: Vec<i32> = (0..11)
        .map(|k| if k % 3 == 0 { i32::MAX - k } else { -7 * k })
        .collect();
    let j: Vec<i32> = (0..11).map(|k| if k % 2 == 0 { i32::MIN + k } else { 5 * k }).collect();
    let (i, j) = (
        Tensor::from_vec(vec![11], i).unwrap(),
        Tensor::from_vec(vec![11], j).unwrap(),
    );
    assert!(check(&Op::Binary(BinaryOp::Add), &[&i, &j]));
    assert!(check(&Op::Binary(BinaryOp::Sub), &[&i, &j]));
    // Integer max needs SSE4.1 as a vector op, so it stays serial; so do compares to bool
    // (one byte per lane) and fewer than four iterations.
    assert!(!check(&Op::Binary(BinaryOp::Max), &[&i, &j]));
    let (a, b) = pairs();
    assert!(!check(&Op::Binary(BinaryOp::Less), &[&a, &b]));
    let short = Tensor::from_vec(vec![3], vec![1.0f32, -0.0, f32::NAN]).unwrap();
    assert!(!check(&Op::Unary(UnaryOp::Relu), &[&short]));
}
