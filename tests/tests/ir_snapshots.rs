//! Golden snapshots of the IR text of every fixture model after the default passes,
//! and the text format's round trip (print, parse, print gives identical text).

use std::collections::HashMap;

use lightos_cc::{compile, CompileOptions};
use lightos_ir::text::{parse_graph, print_graph, weights};
use lightos_ir::verify;
use lightos_tests::{fixtures_dir, FIXTURES};

fn compiled_text(name: &str) -> (lightos_ir::Graph, String) {
    let path = fixtures_dir().join(format!("{name}.onnx"));
    let compiled = compile(&path, &CompileOptions::default(), &mut |_, _| {}).expect("fixture compiles");
    let text = print_graph(&compiled.graph);
    (compiled.graph, text)
}

#[test]
fn fixture_ir_snapshots() {
    for name in FIXTURES {
        let (_, text) = compiled_text(name);
        insta::assert_snapshot!(name, text);
    }
}

#[test]
fn text_round_trips_for_every_fixture() {
    for name in FIXTURES {
        let (graph, text) = compiled_text(name);
        let table: HashMap<String, lightos_ir::Tensor> = weights(&graph).into_iter().collect();
        let parsed = parse_graph(&text, &|n| table.get(n).cloned()).unwrap_or_else(|e| panic!("{name}: {e}"));
        verify(&parsed).unwrap_or_else(|e| panic!("{name}: parsed graph does not verify: {e}"));
        assert_eq!(print_graph(&parsed), text, "{name}: print, parse, print differs");
        assert_eq!(parsed, graph, "{name}: parsed graph differs from the original");
    }
}

#[test]
fn unfused_import_round_trips_too() {
    for name in FIXTURES {
        let graph = lightos_cc::load_graph(&fixtures_dir().join(format!("{name}.onnx"))).expect("fixture imports");
        let text = print_graph(&graph);
        let table: HashMap<String, lightos_ir::Tensor> = weights(&graph).into_iter().collect();
        let parsed = parse_graph(&text, &|n| table.get(n).cloned()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(print_graph(&parsed), text, "{name}: print, parse, print differs");
    }
}
