//! Fused kernels in the text format: a fused node prints and parses back to itself, and
//! a damaged program or a source that does not exist is an error naming the line or the
//! node.

use lightos_ir::text::{parse_graph, print_graph};
use lightos_ir::verify;

const GOOD: &str = r#"graph "g"
input %0: f32[2, 3] "x"
input %1: f32[3] "b"
%2 = fused_elementwise(%0, %1) {program = "add(in0, in1); leaky_relu{alpha = 0.1}(t0); clip(t1, _, _)"} : f32[2, 3] "f"
output %2 "y"
"#;

#[test]
fn a_fused_node_round_trips() {
    let g = parse_graph(GOOD, &|_| None).unwrap();
    verify(&g).unwrap();
    assert_eq!(print_graph(&g), GOOD);
}

#[test]
fn a_damaged_program_is_a_parse_error_on_its_line() {
    let bad = GOOD.replace("leaky_relu{alpha = 0.1}(t0)", "leaky_relu{alpha = 0.1}(t0");
    let e = parse_graph(&bad, &|_| None).unwrap_err();
    assert_eq!(e.line, 4, "{e}");
    assert!(e.message.contains("fused instruction 1"), "{e}");

    let not_elementwise = GOOD.replace("add(in0, in1)", "matmul(in0, in1)");
    let e = parse_graph(&not_elementwise, &|_| None).unwrap_err();
    assert!(e.message.contains("not an elementwise op"), "{e}");
}

#[test]
fn a_source_out_of_range_fails_verification_naming_the_node() {
    let bad = GOOD.replace("add(in0, in1)", "add(in0, in5)");
    let g = parse_graph(&bad, &|_| None).unwrap();
    let e = verify(&g).unwrap_err().to_string();
    assert!(e.contains("\"f\"") && e.contains("in5"), "{e}");
}
