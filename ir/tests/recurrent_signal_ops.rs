//! The recurrent, selection, signal and random ops: their type rules, and their text form
//! round-trips (print, parse, print gives the same text, and the ops compare equal).

use lightos_ir::infer::{infer, Operand, SymbolNamer};
use lightos_ir::text::{parse_graph, print_graph};
use lightos_ir::*;

/// Builds a one-node graph of `op` on inputs of `types`, with result types inferred, and
/// checks the verifier and the text round trip. Returns the result types.
fn round_trip(op: Op, inputs: &[Option<TensorType>]) -> Vec<TensorType> {
    let mut g = Graph::new("t");
    let ids: Vec<Option<ValueId>> = inputs
        .iter()
        .enumerate()
        .map(|(i, t)| t.clone().map(|t| g.add_input(format!("x{i}"), t)))
        .collect();
    let types = {
        let ops: Vec<Option<Operand>> = ids
            .iter()
            .map(|v| {
                v.map(|v| Operand {
                    ty: g.ty(v),
                    value: None,
                })
            })
            .collect();
        infer(&op, &ops, &mut SymbolNamer::new("n")).unwrap_or_else(|e| panic!("{op:?}: {e}"))
    };
    let node = g.add_node("node", op.clone(), ids, types.clone());
    for (i, r) in g.node(node).results.clone().into_iter().enumerate() {
        g.add_output(format!("y{i}"), r);
    }
    verify(&g).unwrap();
    let text = print_graph(&g);
    let back = parse_graph(&text, &|_| None).unwrap_or_else(|e| panic!("{text}\n{e}"));
    assert_eq!(print_graph(&back), text);
    assert_eq!(back.nodes()[0].op, op, "{text}");
    types
}

fn f32t(dims: &[usize]) -> Option<TensorType> {
    Some(TensorType::fixed(DType::F32, dims))
}

fn i64t(dims: &[usize]) -> Option<TensorType> {
    Some(TensorType::fixed(DType::I64, dims))
}

#[test]
fn recurrent_layers() {
    let lstm = RnnAttrs {
        cell: RnnCell::Lstm { input_forget: false },
        direction: RnnDirection::Bidirectional,
        hidden_size: 3,
        activations: vec![
            RnnActivation::new(RnnActivationKind::Sigmoid),
            RnnActivation {
                kind: RnnActivationKind::ScaledTanh,
                alpha: 2.0,
                beta: 0.5,
            },
            RnnActivation::new(RnnActivationKind::Tanh),
            RnnActivation::new(RnnActivationKind::HardSigmoid),
            RnnActivation {
                kind: RnnActivationKind::LeakyRelu,
                alpha: 0.25,
                beta: 0.0,
            },
            RnnActivation::new(RnnActivationKind::Affine),
        ],
        clip: Some(4.5),
        batch_major: true,
    };
    let x = f32t(&[2, 5, 4]);
    let types = round_trip(
        Op::Rnn(lstm.clone()),
        &[
            x.clone(),
            f32t(&[2, 12, 4]),
            f32t(&[2, 12, 3]),
            f32t(&[2, 24]),
            None,
            None,
            None,
            f32t(&[2, 9]),
        ],
    );
    assert_eq!(types.len(), 3);
    assert_eq!(types[0], TensorType::fixed(DType::F32, &[2, 5, 2, 3]));
    assert_eq!(types[1], TensorType::fixed(DType::F32, &[2, 2, 3]));
    let gru = RnnAttrs {
        cell: RnnCell::Gru {
            linear_before_reset: true,
        },
        direction: RnnDirection::Reverse,
        hidden_size: 3,
        activations: vec![
            RnnActivation::new(RnnActivationKind::Sigmoid),
            RnnActivation::new(RnnActivationKind::Tanh),
        ],
        clip: None,
        batch_major: false,
    };
    let types = round_trip(Op::Rnn(gru), &[f32t(&[5, 2, 4]), f32t(&[1, 9, 4]), f32t(&[1, 9, 3])]);
    assert_eq!(types[0], TensorType::fixed(DType::F32, &[5, 1, 2, 3]));
    // A weight of the wrong gate count is refused.
    let rnn = RnnAttrs {
        cell: RnnCell::Simple,
        direction: RnnDirection::Forward,
        hidden_size: 3,
        activations: vec![RnnActivation::new(RnnActivationKind::Tanh)],
        clip: None,
        batch_major: false,
    };
    let x = TensorType::fixed(DType::F32, &[5, 2, 4]);
    let w = TensorType::fixed(DType::F32, &[1, 6, 4]);
    let r = TensorType::fixed(DType::F32, &[1, 3, 3]);
    let ops = [&x, &w, &r].map(|t| Some(Operand { ty: t, value: None }));
    assert!(infer(&Op::Rnn(rnn), &ops, &mut SymbolNamer::new("n")).is_err());
}

#[test]
fn selection_ops() {
    let t = round_trip(
        Op::NonMaxSuppression(NmsAttrs { center_point_box: true }),
        &[f32t(&[1, 6, 4]), f32t(&[1, 2, 6]), i64t(&[1]), f32t(&[1]), None],
    );
    assert_eq!(t[0].shape.0[1], Dim::Fixed(3));
    let t = round_trip(
        Op::Unique(UniqueAttrs {
            axis: Some(1),
            sorted: false,
        }),
        &[f32t(&[2, 3, 4])],
    );
    assert_eq!(t.len(), 4);
    assert_eq!(t[2], TensorType::fixed(DType::I64, &[3]));
    let t = round_trip(
        Op::Unique(UniqueAttrs {
            axis: None,
            sorted: true,
        }),
        &[f32t(&[2, 3])],
    );
    assert_eq!(t[2], TensorType::fixed(DType::I64, &[6]));
    round_trip(
        Op::ReverseSequence(ReverseSequenceAttrs {
            batch_axis: 1,
            time_axis: 0,
        }),
        &[f32t(&[4, 3]), i64t(&[3])],
    );
    let tf = TfIdfAttrs {
        mode: TfIdfMode::TfIdf,
        min_gram_length: 1,
        max_gram_length: 2,
        max_skip_count: 3,
        ngram_counts: vec![0, 2],
        ngram_indexes: vec![0, 1, 2],
        pool: vec![5, 6, 5, 7],
        weights: vec![0.5, 1.0, 1.5],
    };
    let t = round_trip(Op::TfIdfVectorizer(tf), &[Some(TensorType::fixed(DType::I32, &[2, 6]))]);
    assert_eq!(t[0], TensorType::fixed(DType::F32, &[2, 3]));
}

#[test]
fn signal_ops() {
    let t = round_trip(
        Op::Dft(DftAttrs {
            inverse: false,
            onesided: true,
        }),
        &[f32t(&[1, 10, 10, 1]), None, None],
    );
    // The default axis is -2: the second 10 becomes 6.
    assert_eq!(t[0], TensorType::fixed(DType::F32, &[1, 10, 6, 2]));
    // An axis known only at run time: sizes the transform keeps stay, others are symbols.
    let t = round_trip(
        Op::Dft(DftAttrs {
            inverse: false,
            onesided: true,
        }),
        &[f32t(&[1, 10, 1]), None, i64t(&[])],
    );
    assert_eq!(t[0].shape.0[0], Dim::Fixed(1));
    assert!(t[0].shape.0[1].fixed().is_none());
    let t = round_trip(
        Op::Dft(DftAttrs {
            inverse: true,
            onesided: false,
        }),
        &[f32t(&[1, 10, 2]), None, i64t(&[])],
    );
    assert_eq!(t[0], TensorType::fixed(DType::F32, &[1, 10, 2]));
    round_trip(
        Op::Stft(StftAttrs { onesided: true }),
        &[f32t(&[1, 128, 1]), i64t(&[]), f32t(&[16])],
    );
    for kind in [WindowKind::Hann, WindowKind::Hamming, WindowKind::Blackman] {
        round_trip(
            Op::Window(WindowAttrs {
                kind,
                periodic: false,
                dtype: DType::F64,
            }),
            &[Some(TensorType::fixed(DType::I32, &[]))],
        );
    }
    let i32s = Some(TensorType::fixed(DType::I32, &[]));
    round_trip(
        Op::MelWeightMatrix(MelWeightMatrixAttrs { dtype: DType::F32 }),
        &[i32s.clone(), i32s.clone(), i32s, f32t(&[]), f32t(&[])],
    );
}

#[test]
fn random_ops() {
    let t = round_trip(
        Op::Random(RandomAttrs {
            dist: RandomDist::Normal { mean: 1.0, scale: 2.0 },
            dtype: DType::F64,
            shape: vec![2, 3],
            seed: Some(5.0),
        }),
        &[],
    );
    assert_eq!(t[0], TensorType::fixed(DType::F64, &[2, 3]));
    round_trip(
        Op::RandomLike(RandomLikeAttrs {
            dist: RandomDist::Uniform { low: -1.0, high: 1.0 },
            dtype: None,
            seed: None,
        }),
        &[f32t(&[4])],
    );
    round_trip(
        Op::Bernoulli(BernoulliAttrs {
            dtype: Some(DType::F64),
            seed: Some(0.0),
        }),
        &[f32t(&[10])],
    );
    let t = round_trip(
        Op::Multinomial(MultinomialAttrs {
            sample_size: 7,
            dtype: DType::I64,
            seed: None,
        }),
        &[f32t(&[3, 5])],
    );
    assert_eq!(t[0], TensorType::fixed(DType::I64, &[3, 7]));
}
