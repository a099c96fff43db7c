//! Real models through the command line, against ONNX Runtime: the nine `light_*` models
//! the `onnx` package ships, and a dynamic-batch model compiled once and run at batch
//! sizes 1, 3 and 8.
//!
//! `scripts/gen_model_refs.py` writes the seeded inputs and ONNX Runtime's outputs into
//! the folder named by `LIGHTOS_MODEL_REFS` (`scripts/test.sh` does this).

mod light;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use light::{refs, LIGHT};
use lightos_runtime::npy::read_npy;

fn cc(args: &[&Path]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lightos-cc"))
        .args(args)
        .output()
        .expect("run lightos-cc")
}

fn check(out: Output, what: &str) {
    assert!(out.status.success(), "{what}: {}", String::from_utf8_lossy(&out.stderr));
}

/// Compares `got` with ONNX Runtime's `want` within `atol + rtol * |want|`.
fn assert_close(got: &Path, want: &Path, rtol: f64, atol: f64, what: &str) {
    let (g, w) = (read_npy(got).unwrap(), read_npy(want).unwrap());
    assert_eq!(g.dims(), w.dims(), "{what}: dims");
    for (i, (a, b)) in g.to_f64_vec().iter().zip(w.to_f64_vec()).enumerate() {
        assert!(
            (a - b).abs() <= atol + rtol * b.abs(),
            "{what}: element {i} is {a}, ONNX Runtime gives {b}"
        );
    }
}

/// Runs `art` on `input` with extra `run` arguments; returns the output folder.
fn run(art: &Path, input: &Path, out: &Path, extra: &[&str]) -> PathBuf {
    let mut args: Vec<&Path> = vec![
        Path::new("run"),
        art,
        Path::new("--input"),
        input,
        Path::new("--output-dir"),
        out,
    ];
    args.extend(extra.iter().map(Path::new));
    check(cc(&args), &art.display().to_string());
    out.to_path_buf()
}

/// Whether two output folders hold byte-identical `output_K.npy` files.
fn same_bits(a: &Path, b: &Path, outputs: usize) -> bool {
    (0..outputs).all(|k| {
        let file = format!("output_{k}.npy");
        std::fs::read(a.join(&file)).unwrap() == std::fs::read(b.join(&file)).unwrap()
    })
}

#[test]
fn light_models_match_onnx_runtime() {
    let refs = refs();
    let work = tempfile::tempdir().unwrap();
    for name in LIGHT {
        let model = refs.join(format!("light_{name}.onnx"));
        let art = work.path().join(format!("{name}.lart"));
        check(cc(&[&model, Path::new("-o"), &art]), name);
        let input = refs.join(format!("light_{name}_in.npy"));
        let out = run(&art, &input, &work.path().join(name), &[]);
        let out2 = run(
            &art,
            &input,
            &work.path().join(format!("{name}_t2")),
            &["--threads", "2"],
        );
        let mut k = 0;
        while refs.join(format!("light_{name}_out_{k}.npy")).exists() {
            let want = refs.join(format!("light_{name}_out_{k}.npy"));
            assert_close(
                &out.join(format!("output_{k}.npy")),
                &want,
                1e-3,
                1e-4,
                &format!("{name} output {k}"),
            );
            k += 1;
        }
        assert!(k > 0, "{name}: no reference outputs");
        assert!(
            same_bits(&out, &out2, k),
            "{name}: fast mode differs between 1 and 2 threads"
        );

        let strict = work.path().join(format!("{name}_strict.lart"));
        check(
            cc(&[
                &model,
                Path::new("-o"),
                &strict,
                Path::new("--mode"),
                Path::new("strict"),
            ]),
            name,
        );
        let native = run(
            &strict,
            &input,
            &work.path().join(format!("{name}_strict")),
            &["--threads", "2"],
        );
        let reference = run(
            &strict,
            &input,
            &work.path().join(format!("{name}_ref")),
            &["--backend", "reference"],
        );
        assert!(
            same_bits(&native, &reference, k),
            "{name}: strict CPU output is not bit-identical to the reference"
        );
    }
}

#[test]
fn dynamic_batch_compiles_once_and_runs_at_batch_1_3_and_8() {
    let refs = refs();
    let work = tempfile::tempdir().unwrap();
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/models");
    for name in ["digits_mlp_dynamic", "digits_cnn_dynamic"] {
        let art = work.path().join(format!("{name}.lart"));
        check(cc(&[&models.join(format!("{name}.onnx")), Path::new("-o"), &art]), name);
        for batch in [1, 3, 8] {
            let out = work.path().join(format!("{name}_{batch}"));
            let input = refs.join(format!("{name}_b{batch}_in.npy"));
            check(
                cc(&[
                    Path::new("run"),
                    &art,
                    Path::new("--input"),
                    &input,
                    Path::new("--output-dir"),
                    &out,
                ]),
                name,
            );
            let want = refs.join(format!("{name}_b{batch}_out.npy"));
            assert_close(
                &out.join("output_0.npy"),
                &want,
                1e-4,
                1e-5,
                &format!("{name} at batch {batch}"),
            );
        }
    }
}
