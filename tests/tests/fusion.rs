//! Fusion on every fixture: fewer kernels and less memory traffic, fused output within a
//! relative 1e-5 of unfused output on the reference backend, and the CPU backend in
//! strict mode bit-identical to the reference on the fused IR.

use lightos_cc::{compile, CompileOptions};
use lightos_ir::Tensor;
use lightos_runtime::backend::{Backend, CpuConfig};
use lightos_runtime::cpu::Mode;
use lightos_runtime::exec::Executor;
use lightos_runtime::npy::read_npy;
use lightos_runtime::reference::Interpreter;
use lightos_tests::{fixtures_dir, FIXTURES};

fn compiled(name: &str, disabled: &[&str]) -> lightos_cc::Compiled {
    let options = CompileOptions {
        disabled_passes: disabled.iter().map(|s| s.to_string()).collect(),
        ..CompileOptions::default()
    };
    compile(&fixtures_dir().join(format!("{name}.onnx")), &options, &mut |_, _| {}).expect("fixture compiles")
}

fn reference(graph: &lightos_ir::Graph, input: &Tensor) -> Vec<Tensor> {
    Interpreter::new(graph)
        .run(std::slice::from_ref(input))
        .expect("fixture runs")
}

#[test]
fn fused_fixtures_agree_with_unfused_and_run_bit_exactly_on_the_cpu() {
    for name in FIXTURES {
        let fused = compiled(name, &[]);
        let unfused = compiled(name, &["fuse"]);
        let info = fused.fusion_info().expect("fusion ran");
        assert!(
            info.kernels_after < info.kernels_before && info.bytes_after < info.bytes_before,
            "{name}: {info:?}"
        );
        let input = read_npy(fixtures_dir().join(format!("{name}_in.npy"))).unwrap();
        let got = reference(&fused.graph, &input);
        let want = reference(&unfused.graph, &input);
        for (k, (g, w)) in got.iter().zip(&want).enumerate() {
            let (g, w) = (g.as_slice::<f32>().unwrap(), w.as_slice::<f32>().unwrap());
            let scale = w.iter().fold(0f32, |m, v| m.max(v.abs()));
            for (i, (a, b)) in g.iter().zip(w).enumerate() {
                assert!(
                    (a - b).abs() <= 1e-5 * (b.abs() + scale),
                    "{name} output {k} element {i}: fused {a}, unfused {b}"
                );
            }
        }
        let strict = Backend::Cpu(CpuConfig {
            mode: Mode::Strict,
            threads: 2,
        });
        let cpu = Executor::new(&fused.graph, strict)
            .and_then(|e| e.run(std::slice::from_ref(&input)))
            .expect("fixture runs");
        assert_eq!(
            cpu, got,
            "{name}: strict CPU differs from the reference on the fused IR"
        );
    }
}
