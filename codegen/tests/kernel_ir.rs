//! Kernel IR: golden text of lowered kernels, and the verifier's errors.

use lightos_codegen::kernel::{
    lower_op, print, verify, Access, Affine, Binding, Buffer, BufferId, Expr, Ids, Kernel, KernelErrorKind, Loop,
    OperandInfo, Reduce, ReduceAxis, ReduceOp, ReduceOrder, ScalarType, Schedule, Stmt,
};
use lightos_ir::{BinaryOp, DType, Op, ReduceAttrs, ReduceKind, Tensor, UnaryOp};

fn info(dtype: DType, dims: &[usize]) -> Option<OperandInfo<'_>> {
    Some(OperandInfo {
        dtype,
        dims,
        value: None,
    })
}

#[test]
fn snapshot_broadcast_add() {
    let k = lower_op(
        "add/broadcast",
        &Op::Binary(BinaryOp::Add),
        &[info(DType::F32, &[2, 3, 4]), info(DType::F32, &[3, 1])],
    )
    .unwrap();
    assert_eq!(
        k.bindings,
        vec![Binding::Operand(0), Binding::Operand(1), Binding::Result(0)]
    );
    insta::assert_snapshot!("broadcast_add", print(&k.kernel));
}

#[test]
fn snapshot_matmul() {
    let k = lower_op(
        "matmul",
        &Op::MatMul,
        &[info(DType::F32, &[3, 5]), info(DType::F32, &[5, 4])],
    )
    .unwrap();
    insta::assert_snapshot!("matmul", print(&k.kernel));
}

#[test]
fn snapshot_reduce_mean_and_hard_swish() {
    let axes = Tensor::from_vec(vec![2], vec![0i64, 2]).unwrap();
    let k = lower_op(
        "mean",
        &Op::Reduce(ReduceAttrs {
            kind: ReduceKind::Mean,
            keepdims: true,
            noop_with_empty_axes: false,
        }),
        &[
            info(DType::F32, &[4, 3, 5]),
            Some(OperandInfo {
                dtype: DType::I64,
                dims: &[2],
                value: Some(&axes),
            }),
        ],
    )
    .unwrap();
    insta::assert_snapshot!("reduce_mean", print(&k.kernel));
    let k = lower_op("hswish", &Op::Unary(UnaryOp::HardSwish), &[info(DType::F32, &[6])]).unwrap();
    insta::assert_snapshot!("hard_swish", print(&k.kernel));
}

#[test]
fn snapshot_softmax() {
    let op = Op::Softmax(lightos_ir::SoftmaxAttrs {
        kind: lightos_ir::SoftmaxKind::Softmax,
        axis: 1,
        flatten: false,
    });
    let k = lower_op("softmax", &op, &[info(DType::F32, &[2, 5])]).unwrap();
    insta::assert_snapshot!("softmax", print(&k.kernel));
}

#[test]
fn nodes_of_a_graph_lower_with_their_declared_types() {
    use lightos_codegen::kernel::lower_node;
    use lightos_ir::{Graph, TensorType};
    let mut g = Graph::new("g");
    let a = g.add_input("a", TensorType::fixed(DType::F32, &[2, 3]));
    let b = g.add_input("b", TensorType::fixed(DType::F32, &[3, 4]));
    let mm = g.add_node(
        "mm",
        Op::MatMul,
        vec![Some(a), Some(b)],
        vec![TensorType::fixed(DType::F32, &[2, 4])],
    );
    let bad = g.add_node(
        "bad",
        Op::MatMul,
        vec![Some(a), Some(b)],
        vec![TensorType::fixed(DType::F32, &[4, 2])],
    );
    let l = lower_node(&g, mm).unwrap();
    assert_eq!(l.kernel.name, "mm");
    assert_eq!(l.results, vec![(DType::F32, vec![2, 4])]);
    // A declared type that disagrees with the op is not lowered.
    assert!(lower_node(&g, bad).is_none());
    assert!(lower_node(&g, lightos_ir::NodeId(99)).is_none());
}

#[test]
fn ops_that_are_not_lowered_give_none() {
    let x = info(DType::F32, &[4]);
    assert!(lower_op("e", &Op::Unary(UnaryOp::Exp), &[x]).is_none());
    assert!(lower_op("t", &Op::Unary(UnaryOp::Tanh), &[x]).is_none());
    assert!(lower_op("h", &Op::Unary(UnaryOp::Relu), &[info(DType::F16, &[4])]).is_none());
    assert!(lower_op("p", &Op::Binary(BinaryOp::Pow), &[x, x]).is_none());
    assert!(lower_op("d", &Op::Binary(BinaryOp::Div), &[info(DType::I32, &[4]); 2]).is_none());
    assert!(lower_op("b", &Op::Binary(BinaryOp::Add), &[x, info(DType::F32, &[3])]).is_none());
    assert!(lower_op(
        "m",
        &Op::MatMul,
        &[info(DType::F32, &[2, 3]), info(DType::F32, &[4, 2])]
    )
    .is_none());
    assert!(lower_op(
        "m",
        &Op::MatMul,
        &[info(DType::F32, &[2, 2, 3]), info(DType::F32, &[3, 2])]
    )
    .is_none());
    // Reduce axes that are not constant.
    let r = Op::Reduce(ReduceAttrs {
        kind: ReduceKind::Sum,
        keepdims: false,
        noop_with_empty_axes: false,
    });
    assert!(lower_op("r", &r, &[x, info(DType::I64, &[1])]).is_none());
    assert!(lower_op("missing operand", &Op::Binary(BinaryOp::Add), &[x]).is_none());
    assert!(lower_op("n", &Op::Identity, &[x]).is_none());
}

/// A kernel `y[i] = x[i + shift]` over `trip` iterations, `x` and `y` of 4 `f32`s.
fn shifted_copy(trip: usize, shift: i64) -> Kernel {
    let mut k = Kernel::new("copy");
    let x = k.add_param(Buffer::contiguous("x", DType::F32, &[4], Access::Read));
    let y = k.add_param(Buffer::contiguous("y", DType::F32, &[4], Access::Write));
    let mut ids = Ids::new();
    let i = ids.var();
    k.body.push(Stmt::Loop(Loop {
        var: i,
        trip,
        schedule: Schedule::Serial,
        body: vec![Stmt::Store {
            buffer: y,
            index: vec![Affine::var(i)],
            value: Expr::load(x, vec![Affine::var(i).plus_constant(shift)]),
        }],
    }));
    k
}

#[test]
fn verifier_checks_bounds_for_every_iteration() {
    verify(&shifted_copy(4, 0)).unwrap();
    verify(&shifted_copy(3, 1)).unwrap();
    let err = verify(&shifted_copy(4, 1)).unwrap_err();
    assert_eq!(
        err.kind,
        KernelErrorKind::OutOfBounds {
            buffer: "x".into(),
            axis: 0,
            min: 1,
            max: 4,
            size: 4
        }
    );
    let msg = err.to_string();
    assert!(
        msg.starts_with("kernel `copy`, statement 0.0 (y[%i0] = x[%i0 + 1])"),
        "{msg}"
    );
    assert!(msg.contains("ranges over [1, 4] but the axis has size 4"), "{msg}");
    assert!(matches!(
        verify(&shifted_copy(2, -1)).unwrap_err().kind,
        KernelErrorKind::OutOfBounds { min: -1, .. }
    ));
    // A loop that never runs is not bounds-checked.
    verify(&shifted_copy(0, 100)).unwrap();
}

#[test]
fn verifier_checks_scopes_types_and_access() {
    let mut k = shifted_copy(4, 0);
    // Use the loop variable after its loop.
    k.body.push(Stmt::Store {
        buffer: BufferId(1),
        index: vec![Affine::var(lightos_codegen::kernel::LoopVar(0))],
        value: Expr::f32(1.0),
    });
    let err = verify(&k).unwrap_err();
    assert_eq!(err.kind, KernelErrorKind::VarOutOfScope(0));
    assert!(err.stmt.starts_with("statement 1 "), "{}", err.stmt);

    let mut k = shifted_copy(4, 0);
    k.body.push(Stmt::Store {
        buffer: BufferId(1),
        index: vec![Affine::constant(0)],
        value: Expr::Const(lightos_codegen::kernel::Constant::int(ScalarType::I32, 1)),
    });
    assert!(matches!(verify(&k).unwrap_err().kind, KernelErrorKind::Type(m) if m.contains("storing i32")));

    let mut k = shifted_copy(4, 0);
    k.body.push(Stmt::Store {
        buffer: BufferId(0),
        index: vec![Affine::constant(0)],
        value: Expr::f32(1.0),
    });
    assert!(matches!(
        verify(&k).unwrap_err().kind,
        KernelErrorKind::Access { used: "stored", .. }
    ));

    let mut k = shifted_copy(4, 0);
    k.body.push(Stmt::Store {
        buffer: BufferId(7),
        index: vec![],
        value: Expr::f32(1.0),
    });
    assert_eq!(verify(&k).unwrap_err().kind, KernelErrorKind::UnknownBuffer(7));

    let mut k = shifted_copy(4, 0);
    k.body.push(Stmt::Store {
        buffer: BufferId(1),
        index: vec![Affine::constant(0), Affine::constant(0)],
        value: Expr::f32(1.0),
    });
    assert!(matches!(
        verify(&k).unwrap_err().kind,
        KernelErrorKind::IndexRank { rank: 1, given: 2, .. }
    ));

    // A local used outside the loop that defines it.
    let mut k = shifted_copy(4, 0);
    let l = lightos_codegen::kernel::LocalId(0);
    if let Stmt::Loop(lp) = &mut k.body[0] {
        lp.body.insert(
            0,
            Stmt::Let {
                local: l,
                value: Expr::f32(2.0),
            },
        );
    }
    verify(&k).unwrap();
    k.body.push(Stmt::Store {
        buffer: BufferId(1),
        index: vec![Affine::constant(0)],
        value: Expr::Local(l),
    });
    assert_eq!(verify(&k).unwrap_err().kind, KernelErrorKind::LocalOutOfScope(0));

    // A reduction with a non-power-of-two lane count, and one redefining a variable.
    let mut k = shifted_copy(4, 0);
    let reduce = |lanes, var| {
        Stmt::Reduce(Reduce {
            local: lightos_codegen::kernel::LocalId(5),
            op: ReduceOp::Add,
            order: ReduceOrder::LanePartialTree { lanes },
            init: lightos_codegen::kernel::Constant::f32(0.0),
            axes: vec![ReduceAxis { var, trip: 4 }],
            value: Expr::load(BufferId(0), vec![Affine::var(var)]),
        })
    };
    k.body.push(reduce(3, lightos_codegen::kernel::LoopVar(9)));
    assert!(matches!(verify(&k).unwrap_err().kind, KernelErrorKind::BadSchedule(_)));
    k.body.pop();
    k.body.push(reduce(4, lightos_codegen::kernel::LoopVar(0)));
    assert!(matches!(verify(&k).unwrap_err().kind, KernelErrorKind::Redefined(_)));

    // Bad parameters.
    let mut k = Kernel::new("p");
    k.add_param(Buffer {
        name: "h".into(),
        dtype: DType::F16,
        dims: vec![2],
        strides: vec![1],
        access: Access::Read,
    });
    let err = verify(&k).unwrap_err();
    assert_eq!(err.stmt, "parameters");
    assert!(err.to_string().contains("f16 cannot be loaded"), "{err}");
    let mut k = Kernel::new("p");
    k.add_param(Buffer {
        name: "big".into(),
        dtype: DType::F32,
        dims: vec![usize::MAX, 2],
        strides: vec![2, 1],
        access: Access::Read,
    });
    assert!(verify(&k).unwrap_err().to_string().contains("overflows"));
}
