//! One test per class of bad input, each checking the specific error it gets.

use std::fs;

use lightos_frontend::onnx::proto::tensor_proto::DataLocation;
use lightos_frontend::onnx::proto::{
    type_proto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, StringStringEntryProto, TensorProto,
    TensorShapeProto, TypeProto, ValueInfoProto,
};
use lightos_frontend::onnx::{decode_model, import_model, load_model, OnnxError};
use lightos_ir::Tensor;
use lightos_runtime::artifact::ArtifactError;
use lightos_runtime::model::{LoadError, Model};
use lightos_runtime::reference::RunError;
use lightos_tests::fixtures_dir;
use prost::Message;

fn value_info(name: &str, dims: &[i64]) -> ValueInfoProto {
    use lightos_frontend::onnx::proto::tensor_shape_proto::{dimension, Dimension};
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: 1,
                shape: Some(TensorShapeProto {
                    dim: dims
                        .iter()
                        .map(|&d| Dimension {
                            value: Some(dimension::Value::DimValue(d)),
                            ..Default::default()
                        })
                        .collect(),
                }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn node(op: &str, name: &str, inputs: &[&str], outputs: &[&str]) -> NodeProto {
    NodeProto {
        op_type: op.into(),
        name: name.into(),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: outputs.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

fn model(nodes: Vec<NodeProto>, initializers: Vec<TensorProto>) -> ModelProto {
    ModelProto {
        ir_version: 8,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: 17,
        }],
        graph: Some(GraphProto {
            name: "g".into(),
            node: nodes,
            initializer: initializers,
            input: vec![value_info("x", &[2])],
            output: vec![value_info("y", &[2])],
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn fixture_bytes() -> Vec<u8> {
    fs::read(fixtures_dir().join("digits_mlp.onnx")).expect("fixture")
}

#[test]
fn truncated_protobuf_is_a_decode_error() {
    let bytes = fixture_bytes();
    let err = decode_model(&bytes[..bytes.len() / 2]).unwrap_err();
    assert!(matches!(err, OnnxError::Decode { .. }), "{err}");
}

#[test]
fn garbage_protobuf_is_a_decode_error() {
    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let err = decode_model(&garbage).unwrap_err();
    assert!(matches!(err, OnnxError::Decode { .. }), "{err}");
}

#[test]
fn model_without_graph_is_refused() {
    let mut m = model(vec![], vec![]);
    m.graph = None;
    let err = decode_model(&m.encode_to_vec()).unwrap_err();
    assert!(matches!(err, OnnxError::MissingGraph), "{err}");
}

#[test]
fn cyclic_graph_is_refused_naming_the_nodes() {
    let m = model(
        vec![
            node("Add", "first", &["x", "b"], &["a"]),
            node("Relu", "second", &["a"], &["b"]),
            node("Identity", "out", &["a"], &["y"]),
        ],
        vec![],
    );
    let err = import_model(&m, None).unwrap_err();
    match &err {
        OnnxError::Cycle { nodes } => {
            assert!(nodes.contains(&"first".to_string()) && nodes.contains(&"second".to_string()))
        }
        other => panic!("expected a cycle error, got {other}"),
    }
}

#[test]
fn duplicate_value_names_are_refused() {
    let m = model(
        vec![node("Relu", "r1", &["x"], &["y"]), node("Neg", "r2", &["x"], &["y"])],
        vec![],
    );
    let err = import_model(&m, None).unwrap_err();
    assert!(
        matches!(&err, OnnxError::DuplicateValue { value, .. } if value == "y"),
        "{err}"
    );
}

#[test]
fn dims_that_overflow_are_refused() {
    let huge = TensorProto {
        name: "w".into(),
        dims: vec![1 << 40, 1 << 40, 1 << 40],
        data_type: 1,
        ..Default::default()
    };
    let m = model(vec![node("Add", "add", &["x", "w"], &["y"])], vec![huge]);
    let err = import_model(&m, None).unwrap_err();
    assert!(matches!(err, OnnxError::ShapeOverflow { .. }), "{err}");
}

#[test]
fn raw_data_of_the_wrong_length_is_refused() {
    let w = TensorProto {
        name: "w".into(),
        dims: vec![2],
        data_type: 1,
        raw_data: vec![0; 7],
        ..Default::default()
    };
    let m = model(vec![node("Add", "add", &["x", "w"], &["y"])], vec![w]);
    let err = import_model(&m, None).unwrap_err();
    assert!(
        matches!(
            &err,
            OnnxError::RawDataLength {
                expected: 8,
                actual: 7,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn external_data_outside_the_model_folder_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let model_dir = root.path().join("model");
    fs::create_dir(&model_dir).unwrap();
    fs::write(root.path().join("secret.bin"), [0u8; 8]).unwrap();
    let w = TensorProto {
        name: "w".into(),
        dims: vec![2],
        data_type: 1,
        data_location: DataLocation::External as i32,
        external_data: vec![StringStringEntryProto {
            key: "location".into(),
            value: "../secret.bin".into(),
        }],
        ..Default::default()
    };
    let m = model(vec![node("Add", "add", &["x", "w"], &["y"])], vec![w]);
    let path = model_dir.join("m.onnx");
    fs::write(&path, m.encode_to_vec()).unwrap();
    let (m, dir) = load_model(&path).unwrap();
    let err = import_model(&m, Some(&dir)).unwrap_err();
    assert!(matches!(err, OnnxError::ExternalParentDir { .. }), "{err}");
}

#[test]
fn unsupported_ops_are_reported_all_at_once() {
    let m = model(
        vec![
            node("FancyOp", "f1", &["x"], &["a"]),
            node("Relu", "r", &["a"], &["b"]),
            node("OtherOp", "f2", &["b"], &["y"]),
        ],
        vec![],
    );
    let err = import_model(&m, None).unwrap_err();
    match &err {
        OnnxError::UnsupportedOps { ops } => {
            let got: Vec<(&str, &str)> = ops.iter().map(|o| (o.op_type.as_str(), o.node.as_str())).collect();
            assert_eq!(got, vec![("FancyOp", "f1"), ("OtherOp", "f2")]);
        }
        other => panic!("expected unsupported ops, got {other}"),
    }
}

fn compiled_fixture(dir: &std::path::Path) -> std::path::PathBuf {
    let graph = lightos_cc::compile(
        &fixtures_dir().join("digits_mlp.onnx"),
        &Default::default(),
        &mut |_, _| {},
    )
    .expect("fixture compiles")
    .graph;
    let out = dir.join("digits_mlp.lart");
    lightos_cc::compile::artifact_parts(&graph)
        .unwrap()
        .write_to(&out)
        .unwrap();
    out
}

#[test]
fn corrupted_artifact_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = compiled_fixture(dir.path());
    let mut bytes = fs::read(&path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    fs::write(&path, &bytes).unwrap();
    let err = Model::load(&path).err().expect("corrupted artifact must be refused");
    assert!(
        matches!(err, LoadError::Artifact(ArtifactError::Corrupted { .. })),
        "{err}"
    );
}

#[test]
fn wrong_input_shape_or_dtype_is_refused_at_run_time() {
    let dir = tempfile::tempdir().unwrap();
    let model = Model::load(&compiled_fixture(dir.path())).unwrap();
    let wrong_shape = Tensor::from_vec(vec![8, 63], vec![0.0f32; 8 * 63]).unwrap();
    let err = model.run(&[wrong_shape]).unwrap_err();
    assert!(
        matches!(&err, RunError::InputShape { name, .. } if name == "input"),
        "{err}"
    );
    let wrong_dtype = Tensor::from_vec(vec![8, 64], vec![0.0f64; 8 * 64]).unwrap();
    let err = model.run(&[wrong_dtype]).unwrap_err();
    assert!(
        matches!(&err, RunError::InputDType { name, .. } if name == "input"),
        "{err}"
    );
}
