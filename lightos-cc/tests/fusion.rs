//! Fusion on the nine `light_*` models: golden snapshots of the IR after fusion, the
//! same IR on every compile, and fused output within a relative 1e-5 of unfused output.
//!
//! Needs `LIGHTOS_MODEL_REFS` (see `scripts/test.sh`).

mod light;

use light::{refs, LIGHT};
use lightos_cc::{compile, CompileOptions};
use lightos_ir::text::print_graph;
use lightos_ir::Tensor;
use lightos_runtime::backend::{Backend, CpuConfig};
use lightos_runtime::cpu::Mode;
use lightos_runtime::exec::Executor;
use lightos_runtime::npy::read_npy;

fn compiled(name: &str, disabled: &[&str]) -> lightos_cc::Compiled {
    let options = CompileOptions {
        disabled_passes: disabled.iter().map(|s| s.to_string()).collect(),
        ..CompileOptions::default()
    };
    compile(&refs().join(format!("light_{name}.onnx")), &options, &mut |_, _| {}).expect("light model compiles")
}

fn run_strict(graph: &lightos_ir::Graph, input: &Tensor) -> Vec<Tensor> {
    let backend = Backend::Cpu(CpuConfig {
        mode: Mode::Strict,
        threads: 2,
    });
    Executor::new(graph, backend)
        .and_then(|e| e.run(std::slice::from_ref(input)))
        .expect("light model runs")
}

#[test]
fn fused_ir_of_every_light_model_matches_its_snapshot_on_every_compile() {
    for name in LIGHT {
        let first = print_graph(&compiled(name, &[]).graph);
        let second = print_graph(&compiled(name, &[]).graph);
        assert_eq!(first, second, "{name}: fusion gave different IR on a second compile");
        insta::assert_snapshot!(format!("light_{name}"), first);
    }
}

#[test]
fn fused_output_is_within_1e_5_of_unfused_output() {
    for name in LIGHT {
        let fused = compiled(name, &[]);
        let unfused = compiled(name, &["fuse"]);
        let info = fused.fusion_info().expect("fusion ran");
        let report = fused.reports.iter().find(|r| r.name == "fuse").unwrap();
        assert!(
            !report.stats.notes.iter().any(|n| n.starts_with("stopped")),
            "{name}: {:?}",
            report.stats.notes
        );
        assert!(
            info.kernels_after < info.kernels_before && info.bytes_after < info.bytes_before,
            "{name}: fusion saved nothing: {info:?}"
        );
        assert!(unfused.fusion_info().is_none());
        let input = read_npy(refs().join(format!("light_{name}_in.npy"))).unwrap();
        let got = run_strict(&fused.graph, &input);
        let want = run_strict(&unfused.graph, &input);
        for (k, (g, w)) in got.iter().zip(&want).enumerate() {
            let (g, w) = (g.as_slice::<f32>().unwrap(), w.as_slice::<f32>().unwrap());
            let scale = w.iter().fold(0f32, |m, v| m.max(v.abs()));
            for (i, (a, b)) in g.iter().zip(w).enumerate() {
                let tol = 1e-5 * (b.abs() + scale);
                assert!(
                    (a - b).abs() <= tol,
                    "{name} output {k} element {i}: fused {a}, unfused {b} (largest |unfused| {scale})"
                );
            }
        }
    }
}
