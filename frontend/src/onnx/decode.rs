//! Decoding ONNX protobuf bytes: whole models and single tensors.
//!
//! Decoding uses prost with its default recursion limit, so deeply nested subgraphs give an
//! error, not a stack overflow. Fields this crate does not declare are skipped.

use std::path::{Path, PathBuf};

use prost::Message;

use super::error::OnnxError;
use super::proto::{ModelProto, TensorProto};

/// Decodes an ONNX model from its protobuf bytes. A model without a graph is refused.
pub fn decode_model(bytes: &[u8]) -> Result<ModelProto, OnnxError> {
    decode_model_in(bytes, "ONNX model".to_string())
}

fn decode_model_in(bytes: &[u8], context: String) -> Result<ModelProto, OnnxError> {
    let model = ModelProto::decode(bytes).map_err(|source| OnnxError::Decode { context, source })?;
    if model.graph.is_none() {
        return Err(OnnxError::MissingGraph);
    }
    Ok(model)
}

/// Reads and decodes the ONNX model at `path`. Returns the model and the folder it lives
/// in, against which external data is resolved (`.` for a bare file name).
pub fn load_model(path: &Path) -> Result<(ModelProto, PathBuf), OnnxError> {
    let bytes = std::fs::read(path).map_err(|source| OnnxError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let model = decode_model_in(&bytes, format!("ONNX model {}", path.display()))?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok((model, dir))
}

/// Decodes a single serialized `TensorProto`, such as an ONNX conformance test's
/// `input_0.pb`.
pub fn decode_tensor(bytes: &[u8]) -> Result<TensorProto, OnnxError> {
    TensorProto::decode(bytes).map_err(|source| OnnxError::Decode {
        context: "ONNX tensor".to_string(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::onnx::proto::tensor_proto::DataType;
    use crate::onnx::proto::{GraphProto, NodeProto, OperatorSetIdProto};
    use crate::onnx::tensor::{tensor_from_proto, TensorContext};

    fn small_model() -> ModelProto {
        ModelProto {
            ir_version: 8,
            opset_import: vec![OperatorSetIdProto {
                domain: String::new(),
                version: 17,
            }],
            producer_name: "test".into(),
            graph: Some(GraphProto {
                name: "g".into(),
                node: vec![NodeProto {
                    op_type: "Relu".into(),
                    input: vec!["x".into()],
                    output: vec!["y".into()],
                    ..Default::default()
                }],
                initializer: vec![TensorProto {
                    name: "w".into(),
                    data_type: DataType::Float as i32,
                    dims: vec![2],
                    float_data: vec![1.0, 2.0],
                    ..Default::default()
                }],
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn model_round_trip() {
        let m = small_model();
        let decoded = decode_model(&m.encode_to_vec()).unwrap();
        assert_eq!(decoded, m);
    }

    #[test]
    fn truncated_and_garbage_bytes() {
        let bytes = small_model().encode_to_vec();
        for cut in [bytes.len() - 1, bytes.len() / 2, 3] {
            let err = decode_model(&bytes[..cut]).unwrap_err();
            assert!(matches!(err, OnnxError::Decode { .. }), "cut {cut}: {err}");
            assert!(err.to_string().starts_with("cannot decode ONNX model: "), "{err}");
        }
        let garbage: &[&[u8]] = &[&[0xff; 16], &[0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f], &[0x07]];
        for g in garbage {
            assert!(
                matches!(decode_model(g).unwrap_err(), OnnxError::Decode { .. }),
                "{g:?}"
            );
            assert!(
                matches!(decode_tensor(g).unwrap_err(), OnnxError::Decode { .. }),
                "{g:?}"
            );
        }
    }

    #[test]
    fn model_without_graph() {
        let mut m = small_model();
        m.graph = None;
        assert!(matches!(
            decode_model(&m.encode_to_vec()).unwrap_err(),
            OnnxError::MissingGraph
        ));
        assert!(matches!(decode_model(&[]).unwrap_err(), OnnxError::MissingGraph));
    }

    #[test]
    fn tensor_round_trip() {
        let t = small_model().graph.unwrap().initializer.remove(0);
        assert_eq!(decode_tensor(&t.encode_to_vec()).unwrap(), t);
    }

    #[test]
    fn load_model_reports_paths_and_folder() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.onnx");
        std::fs::write(&path, small_model().encode_to_vec()).unwrap();
        let (m, folder) = load_model(&path).unwrap();
        assert_eq!(m, small_model());
        assert_eq!(folder, dir.path());

        let missing = dir.path().join("nope.onnx");
        let err = load_model(&missing).unwrap_err();
        assert!(matches!(&err, OnnxError::Io { path, .. } if path == &missing), "{err}");
        assert!(err.to_string().contains("nope.onnx"));

        std::fs::write(&path, [0xffu8; 8]).unwrap();
        let err = load_model(&path).unwrap_err();
        assert!(err.to_string().contains("m.onnx"), "{err}");
    }

    /// The shared fixture exported by PyTorch, if this checkout has it.
    fn fixture(name: &str) -> Option<PathBuf> {
        let candidates = [
            std::env::var_os("LIGHTOS_FIXTURES").map(PathBuf::from),
            Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures")),
            Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures")),
        ];
        candidates
            .into_iter()
            .flatten()
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    }

    #[test]
    fn real_model_decodes() {
        let Some(path) = fixture("digits_mlp.onnx") else {
            eprintln!("digits_mlp.onnx not found; skipping");
            return;
        };
        let (m, dir) = load_model(&path).unwrap();
        assert_eq!(m.ir_version, 8);
        assert_eq!(m.opset_import[0].version, 17);
        let g = m.graph.as_ref().unwrap();
        let ops: Vec<&str> = g.node.iter().map(|n| n.op_type.as_str()).collect();
        assert_eq!(ops, ["Gemm", "Relu", "Gemm", "Relu", "Gemm"]);
        let ctx = TensorContext::new(dir);
        let mut shapes = Vec::new();
        for init in &g.initializer {
            let t = tensor_from_proto(init, &ctx).unwrap();
            shapes.push((init.name.clone(), t.dims().to_vec()));
            if init.name == "fc3.bias" {
                let v = t.as_slice::<f32>().unwrap();
                assert!((v[0] - -0.110_256_69).abs() < 1e-6, "{}", v[0]);
                let sum: f64 = t.to_f64_vec().iter().sum();
                assert!((sum - -0.362_133_871_763_944_6).abs() < 1e-9, "{sum}");
            }
        }
        assert_eq!(shapes[0], ("fc1.weight".to_string(), vec![128, 64]));
        assert_eq!(shapes.len(), 6);
    }
}
