//! The ONNX node conformance cases, run through the frontend, the default passes and the
//! reference backend, and compared with the outputs the `onnx` package ships. Each
//! passing case is also run on the CPU backend in strict mode, which must give the
//! reference backend's bits exactly.
//!
//! `scripts/gen-node-cases.sh` writes the cases from the pinned `onnx` pip package; the
//! folder is passed in `LIGHTOS_NODE_CASES`. The harness prints `N passed, M failed`, and
//! fails when a case listed in `data/node_cases_passing.txt` fails (a regression) or when
//! fewer cases than the floor pass. With `LIGHTOS_UPDATE_PASSING=1` it rewrites the list
//! from this run, which is how the list ratchets up.

use std::collections::BTreeSet;
use std::fs;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use lightos_frontend::onnx::{decode_tensor, import_model_with, load_model, tensor_from_proto, TensorContext};
use lightos_ir::Tensor;
use lightos_runtime::backend::{Backend, CpuConfig};
use lightos_runtime::cpu::Mode;
use lightos_runtime::exec::Executor;
use lightos_runtime::reference::Interpreter;
use lightos_tests::{compare, data_dir};

/// The fewest cases that must pass.
const FLOOR: usize = 600;
/// Relative tolerance for float outputs.
const RTOL: f64 = 1e-3;
/// Absolute tolerance for float outputs.
const ATOL: f64 = 1e-7;

fn read_tensor(path: &Path) -> Result<Tensor, String> {
    let bytes = fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let proto = decode_tensor(&bytes).map_err(|e| e.to_string())?;
    tensor_from_proto(&proto, &TensorContext::in_memory()).map_err(|e| e.to_string())
}

fn numbered(dir: &Path, prefix: &str) -> Result<Vec<Tensor>, String> {
    let mut out = Vec::new();
    loop {
        let path = dir.join(format!("{prefix}_{}.pb", out.len()));
        if !path.exists() {
            return Ok(out);
        }
        out.push(read_tensor(&path)?);
    }
}

/// Runs one case: `Ok` when every output matches.
fn run_case(dir: &Path) -> Result<(), String> {
    if let Ok(reason) = fs::read_to_string(dir.join("unsupported.txt")) {
        return Err(format!("not a tensor case: {}", reason.trim()));
    }
    let (model, model_dir) = load_model(&dir.join("model.onnx")).map_err(|e| format!("load: {e}"))?;
    let graph = import_model_with(&model, Some(&model_dir), &lightos_cc::compile::import_options())
        .map_err(|e| format!("import: {e}"))?;
    let (graph, _) = lightos_passes::default_pipeline()
        .run(graph, &mut |_, _| {})
        .map_err(|e| format!("passes: {e}"))?;
    let inputs = numbered(dir, "input")?;
    let expected = numbered(dir, "output")?;
    let outputs = Interpreter::new(&graph).run(&inputs).map_err(|e| format!("run: {e}"))?;
    if outputs.len() != expected.len() {
        return Err(format!("{} outputs, expected {}", outputs.len(), expected.len()));
    }
    for (k, (a, e)) in outputs.iter().zip(&expected).enumerate() {
        compare(a, e, RTOL, ATOL).map_err(|m| format!("output {k}: {m}"))?;
    }
    let strict = Backend::Cpu(CpuConfig {
        mode: Mode::Strict,
        threads: 2,
    });
    let native = Executor::new(&graph, strict)
        .and_then(|e| e.run(&inputs))
        .map_err(|e| format!("cpu strict: {e}"))?;
    for (k, (a, r)) in native.iter().zip(&outputs).enumerate() {
        if a != r {
            return Err(format!(
                "output {k}: the strict CPU backend is not bit-identical to the reference"
            ));
        }
    }
    Ok(())
}

#[test]
fn onnx_node_conformance() {
    let Some(root) = std::env::var_os("LIGHTOS_NODE_CASES") else {
        panic!("LIGHTOS_NODE_CASES is not set: run scripts/test.sh, which generates the ONNX node cases");
    };
    let root = Path::new(&root);
    let mut names: Vec<String> = fs::read_dir(root)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", root.display()))
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(names.len() > 1000, "only {} cases in {}", names.len(), root.display());

    let mut passed = BTreeSet::new();
    let mut failures = Vec::new();
    for name in &names {
        let result = catch_unwind(AssertUnwindSafe(|| run_case(&root.join(name))))
            .unwrap_or_else(|_| Err("PANIC (a bug: bad input must give an error)".into()));
        match result {
            Ok(()) => {
                passed.insert(name.clone());
            }
            Err(reason) => failures.push(format!("{name}: {reason}")),
        }
    }
    let report = data_dir().join("../../target/node-conformance-failures.txt");
    let _ = fs::write(&report, failures.join("\n") + "\n");

    let list_path = data_dir().join("node_cases_passing.txt");
    let listed: BTreeSet<String> = fs::read_to_string(&list_path)
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect();
    if std::env::var_os("LIGHTOS_UPDATE_PASSING").is_some() {
        let body: Vec<&str> = passed.iter().map(String::as_str).collect();
        fs::write(
            &list_path,
            format!(
                "# ONNX node cases that pass; regenerate with LIGHTOS_UPDATE_PASSING=1\n{}\n",
                body.join("\n")
            ),
        )
        .expect("write the passing list");
    }
    let regressions: Vec<&String> = listed.iter().filter(|n| !passed.contains(*n)).collect();
    let panics = failures.iter().filter(|f| f.contains("PANIC")).count();
    println!(
        "node conformance: {} cases, failures listed in {}",
        names.len(),
        report.display()
    );
    println!("{} passed, {} failed", passed.len(), failures.len());
    assert!(
        regressions.is_empty(),
        "cases that passed before now fail: {regressions:?}"
    );
    assert_eq!(panics, 0, "some cases panicked; see {}", report.display());
    assert!(
        passed.len() >= FLOOR,
        "only {} cases pass; at least {FLOOR} must",
        passed.len()
    );
}
