//! The digits classifiers, compiled with a dynamic batch dimension, classify the whole
//! held-out test split (450 images in one batch) as accurately as the trained PyTorch
//! models did (`fixtures.json`).

use lightos_cc::{compile, CompileOptions};
use lightos_runtime::artifact::Artifact;
use lightos_runtime::model::Model;
use lightos_runtime::npy::read_npy;
use lightos_tests::{data_dir, fixtures_dir};

fn accuracy(model: &str, image_dims: &[usize]) -> f64 {
    let path = data_dir().join("models").join(format!("{model}.onnx"));
    let graph = compile(&path, &CompileOptions::default(), &mut |_, _| {})
        .unwrap()
        .graph;
    let bytes = lightos_cc::compile::artifact_parts(&graph).unwrap().to_bytes().unwrap();
    let model = Model::from_artifact(&Artifact::from_bytes(bytes).unwrap()).unwrap();

    let x = read_npy(fixtures_dir().join("digits_X_test.npy")).unwrap();
    let labels = read_npy(fixtures_dir().join("digits_y_test.npy"))
        .unwrap()
        .to_i64_vec()
        .unwrap();
    let n = x.dims()[0];
    let dims: Vec<usize> = std::iter::once(n).chain(image_dims.iter().copied()).collect();
    let logits = model.run(&[x.reshaped(dims).unwrap()]).unwrap().remove(0);
    let classes = logits.dims()[1];
    let values = logits.as_slice::<f32>().unwrap();
    let correct = (0..n)
        .filter(|&i| {
            let row = &values[i * classes..(i + 1) * classes];
            let best = (0..classes).fold(0, |b, c| if row[c] > row[b] { c } else { b });
            best as i64 == labels[i]
        })
        .count();
    correct as f64 / n as f64
}

fn recorded(key: &str) -> f64 {
    let text = std::fs::read_to_string(fixtures_dir().join("fixtures.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json[key].as_f64().unwrap()
}

#[test]
fn digits_mlp_matches_its_recorded_accuracy() {
    let acc = accuracy("digits_mlp_dynamic", &[64]);
    assert!(
        (acc - recorded("digits_mlp_test_accuracy")).abs() < 1e-9,
        "accuracy {acc}"
    );
}

#[test]
fn digits_cnn_matches_its_recorded_accuracy() {
    let acc = accuracy("digits_cnn_dynamic", &[1, 8, 8]);
    assert!(
        (acc - recorded("digits_cnn_test_accuracy")).abs() < 1e-9,
        "accuracy {acc}"
    );
}
