//! The CPU backend's two promises on every fixture: strict mode gives the reference
//! backend's bits exactly, at any thread count; fast mode gives the same bits from run to
//! run and at 1, 2 and 4 threads, and stays close to the reference.

use lightos_cc::{compile, CompileOptions};
use lightos_ir::Tensor;
use lightos_runtime::backend::{Backend, CpuConfig};
use lightos_runtime::cpu::Mode;
use lightos_runtime::exec::Executor;
use lightos_runtime::npy::read_npy;
use lightos_runtime::reference::Interpreter;
use lightos_tests::{compare, fixtures_dir, FIXTURES};

fn run(graph: &lightos_ir::Graph, backend: Backend, input: &Tensor) -> Vec<Tensor> {
    Executor::new(graph, backend)
        .and_then(|e| e.run(std::slice::from_ref(input)))
        .expect("fixture runs")
}

/// The plain node-by-node reference interpreter's outputs.
fn reference(graph: &lightos_ir::Graph, input: &Tensor) -> Vec<Tensor> {
    Interpreter::new(graph)
        .run(std::slice::from_ref(input))
        .expect("fixture runs")
}

fn cpu(mode: Mode, threads: usize) -> Backend {
    Backend::Cpu(CpuConfig { mode, threads })
}

#[test]
fn strict_is_bit_identical_to_the_reference() {
    for name in FIXTURES {
        let graph = compile(
            &fixtures_dir().join(format!("{name}.onnx")),
            &CompileOptions::default(),
            &mut |_, _| {},
        )
        .unwrap()
        .graph;
        let input = read_npy(fixtures_dir().join(format!("{name}_in.npy"))).unwrap();
        let reference = reference(&graph, &input);
        for threads in [1, 2, 4] {
            assert_eq!(
                run(&graph, cpu(Mode::Strict, threads), &input),
                reference,
                "{name} at {threads} threads"
            );
        }
    }
}

#[test]
fn fast_is_deterministic_across_runs_and_thread_counts() {
    for name in FIXTURES {
        let graph = compile(
            &fixtures_dir().join(format!("{name}.onnx")),
            &CompileOptions::default(),
            &mut |_, _| {},
        )
        .unwrap()
        .graph;
        let input = read_npy(fixtures_dir().join(format!("{name}_in.npy"))).unwrap();
        let first = run(&graph, cpu(Mode::Fast, 1), &input);
        for threads in [1, 2, 4] {
            for _ in 0..2 {
                assert_eq!(
                    run(&graph, cpu(Mode::Fast, threads), &input),
                    first,
                    "{name} at {threads} threads"
                );
            }
        }
        let reference = reference(&graph, &input);
        for (f, r) in first.iter().zip(&reference) {
            compare(f, r, 1e-4, 1e-5).unwrap_or_else(|e| panic!("{name}: fast drifts from the reference: {e}"));
        }
    }
}
