//! The command line end to end: compile each fixture to an artifact, run it, and compare
//! the outputs with PyTorch's; plus `inspect`, `--emit ir`, input binding and errors.

mod common;

use common::{cc, ok, s};

use std::path::{Path, PathBuf};

use lightos_runtime::npy::read_npy;

const FIXTURES: [&str; 4] = ["digits_mlp", "digits_cnn", "lenet_bn", "tiny_transformer"];

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data/fixtures")
        .join(name)
}

/// Compiles `name` into `dir` and returns the artifact path.
fn compile_into(name: &str, dir: &Path) -> PathBuf {
    let art = dir.join(format!("{name}.lart"));
    ok(&cc(&[s(&fixture(&format!("{name}.onnx"))), "-o", s(&art)]));
    art
}

#[test]
fn every_fixture_matches_pytorch_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    for name in FIXTURES {
        let art = compile_into(name, dir.path());
        let out_dir = dir.path().join(format!("{name}_out"));
        ok(&cc(&[
            "run",
            s(&art),
            "--input",
            s(&fixture(&format!("{name}_in.npy"))),
            "--output-dir",
            s(&out_dir),
        ]));
        let got = read_npy(out_dir.join("output_0.npy")).unwrap();
        let want = read_npy(fixture(&format!("{name}_out.npy"))).unwrap();
        assert_eq!(got.dims(), want.dims(), "{name}");
        let (g, w) = (got.to_f64_vec(), want.to_f64_vec());
        for (i, (a, b)) in g.iter().zip(&w).enumerate() {
            assert!(
                (a - b).abs() <= 1e-5 + 1e-4 * b.abs(),
                "{name}: element {i} is {a}, PyTorch gives {b}"
            );
        }
    }
}

#[test]
fn default_output_goes_next_to_the_model() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.onnx");
    std::fs::copy(fixture("digits_mlp.onnx"), &model).unwrap();
    ok(&cc(&[s(&model)]));
    assert!(dir.path().join("m.lart").is_file());
}

#[test]
fn inputs_bind_by_name_and_outputs_are_numbered() {
    let dir = tempfile::tempdir().unwrap();
    let art = compile_into("digits_mlp", dir.path());
    let input = format!("input={}", s(&fixture("digits_mlp_in.npy")));
    let out_dir = dir.path().join("named");
    ok(&cc(&["run", s(&art), "--input", &input, "--output-dir", s(&out_dir)]));
    assert!(out_dir.join("output_0.npy").is_file());
}

#[test]
fn inspect_prints_the_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let art = compile_into("digits_mlp", dir.path());
    let text = ok(&cc(&["inspect", s(&art)]));
    assert!(text.contains("input: f32[8, 64]"), "{text}");
    assert!(text.contains("output: f32[8, 10]"), "{text}");
    // Fusion made each Gemm + Relu pair one fused kernel.
    assert!(text.contains("fused_gemm: 2\n  gemm: 1"), "{text}");
    assert!(text.contains("fusion: 5 kernels before, 3 after"), "{text}");
    assert!(text.contains("weights: 6 tensors"), "{text}");
    assert!(text.contains("memory plan: peak "), "{text}");
    // Each fused kernel runs as one GEMM with the activation in its epilogue.
    assert!(text.contains("cpu plan (fast mode): 3 steps per run"), "{text}");
    // The two hidden layers' results share the arena; the last is the graph output.
    assert!(text.contains("holding 2 native results"), "{text}");
    assert!(text.contains("gemm: 3 steps covering 3 nodes"), "{text}");
}

#[test]
fn fusion_can_be_disabled_and_printed() {
    let dir = tempfile::tempdir().unwrap();
    let art = dir.path().join("unfused.lart");
    ok(&cc(&[
        s(&fixture("digits_mlp.onnx")),
        "-o",
        s(&art),
        "--disable-pass",
        "fuse",
    ]));
    let text = ok(&cc(&["inspect", s(&art)]));
    assert!(text.contains("fusion: off"), "{text}");
    assert!(text.contains("gemm: 3\n  relu: 2"), "{text}");
    // Unfused, each Relu is a step of its own.
    assert!(text.contains("cpu plan (fast mode): 5 steps per run"), "{text}");

    let printed = ok(&cc(&[
        s(&fixture("digits_mlp.onnx")),
        "-o",
        s(&dir.path().join("fused.lart")),
        "--print-after",
        "fuse",
    ]));
    assert!(printed.starts_with("// IR after pass `fuse`\ngraph "), "{printed}");
    assert_eq!(
        printed
            .matches(r#"{alpha = 1.0, beta = 1.0, trans_a = false, trans_b = true, program = "relu(acc)"}"#)
            .count(),
        2,
        "{printed}"
    );
}

#[test]
fn emit_ir_and_print_after_show_the_ir() {
    let text = ok(&cc(&[
        s(&fixture("digits_mlp.onnx")),
        "--emit",
        "ir",
        "--print-after",
        "fold",
    ]));
    assert!(text.starts_with("// IR after pass `fold`\ngraph "), "{text}");
    // Three Gemm nodes after folding; after fusion two of them carry their Relu.
    assert_eq!(text.matches("= gemm(").count(), 4, "{text}");
    assert_eq!(text.matches("= fused_gemm(").count(), 2, "{text}");
}

#[test]
fn errors_are_one_clear_line_and_a_failure_code() {
    let dir = tempfile::tempdir().unwrap();
    let missing = cc(&[s(&dir.path().join("nope.onnx"))]);
    assert_eq!(missing.status.code(), Some(1));
    let err = String::from_utf8_lossy(&missing.stderr);
    assert!(err.starts_with("error: ") && err.contains("nope.onnx"), "{err}");

    let art = compile_into("digits_mlp", dir.path());
    let wrong = cc(&[
        "run",
        s(&art),
        "--input",
        s(&fixture("digits_cnn_in.npy")),
        "--output-dir",
        s(dir.path()),
    ]);
    assert_eq!(wrong.status.code(), Some(1));
    let err = String::from_utf8_lossy(&wrong.stderr);
    assert!(err.contains("input \"input\" must have shape [8, 64]"), "{err}");

    let bad_pass = cc(&[s(&fixture("digits_mlp.onnx")), "--disable-pass", "nosuch"]);
    assert!(String::from_utf8_lossy(&bad_pass.stderr).contains("unknown pass `nosuch`"));

    let garbage = dir.path().join("garbage.lart");
    std::fs::write(&garbage, b"definitely not an artifact").unwrap();
    let out = cc(&["inspect", s(&garbage)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("garbage.lart"));
}

#[test]
fn bench_reports_latency_memory_and_a_per_step_profile() {
    let dir = tempfile::tempdir().unwrap();
    let art = compile_into("digits_cnn", dir.path());
    let input = fixture("digits_cnn_in.npy");
    let json = ok(&cc(&["bench", s(&art), "--input", s(&input), "--iters", "3", "--json"]));
    let line = json.trim();
    assert!(line.starts_with("{\"median_ms\": ") && line.ends_with('}'), "{line}");
    assert!(
        line.contains("\"min_ms\": ") && line.contains("\"peak_bytes\": "),
        "{line}"
    );

    // The plan's step count, as `inspect` reports it.
    let manifest = ok(&cc(&["inspect", s(&art)]));
    let steps: usize = manifest
        .split("cpu plan (fast mode): ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no step count in {manifest}"));
    let text = ok(&cc(&[
        "bench",
        s(&art),
        "--input",
        s(&input),
        "--iters",
        "3",
        "--profile",
        "2",
    ]));
    assert!(text.contains("steps by median time over 3 runs"), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    let header = lines.iter().position(|l| l.trim_start().starts_with("step ")).unwrap();
    let kinds = lines.iter().position(|l| *l == "per kernel kind:").unwrap();
    // Exactly the two slowest steps, each naming its kernel, result shape and node.
    assert_eq!(kinds - header - 1, 2, "{text}");
    for l in &lines[header + 1..kinds] {
        assert!(
            l.contains('%') && l.contains('[') && l.split_whitespace().count() >= 7,
            "{l}"
        );
    }
    // Every step is counted once in the per-kind totals.
    let counted: usize = lines[kinds + 1..]
        .iter()
        .map(|l| {
            l.split_whitespace()
                .nth(1)
                .and_then(|n| n.parse::<usize>().ok())
                .unwrap()
        })
        .sum();
    assert_eq!(counted, steps, "{text}");

    let zero = cc(&["bench", s(&art), "--input", s(&input), "--iters", "0"]);
    assert_eq!(zero.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&zero.stderr).contains("--iters must be at least 1"));
}
