//! Native CPU code in artifacts, end to end: an ONNX model of elementwise ops compiled
//! through the command line and the library carries a `code` section with one kernel per
//! distinct node, the CPU backend runs them with the reference backend's bits, code for
//! another machine is skipped (and still decodes), and a damaged section or manifest
//! entry is refused with its own error. The model is compiled without the fusion pass,
//! which would merge the elementwise nodes into one fused kernel: these tests are about
//! one native kernel per node.

mod common;

use common::{cc, ok, s};

use std::path::{Path, PathBuf};

use lightos_codegen::{ArtifactParts, NativeTarget};
use lightos_frontend::onnx::proto::tensor_shape_proto::{dimension, Dimension};
use lightos_frontend::onnx::proto::{
    attribute_proto, type_proto, AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto,
    TensorShapeProto, TypeProto, ValueInfoProto,
};
use lightos_ir::{Graph, Tensor};
use lightos_runtime::artifact::{Artifact, SectionKind};
use lightos_runtime::cpu::Mode;
use lightos_runtime::model::{LoadError, Model, NativeBinding, CODE_SECTION};
use lightos_runtime::native::{decode_section, host_triple, NativeError, NativeKernelCode};
use lightos_runtime::npy::{read_npy, write_npy};
use lightos_runtime::reference::Interpreter;
use prost::Message;

/// Rows and columns of the model's input (37 columns: a SIMD part and a remainder).
const ROWS: usize = 4;
const COLS: usize = 37;

/// The nodes of the model that get a native kernel (`Tanh` does not: it is not lowered).
const NATIVE_NODES: [&str; 8] = ["add", "relu1", "relu2", "mul", "less", "where", "max", "softmax"];

fn value_info(name: &str, dims: &[usize]) -> ValueInfoProto {
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: 1,
                shape: Some(TensorShapeProto {
                    dim: dims
                        .iter()
                        .map(|&d| Dimension {
                            value: Some(dimension::Value::DimValue(d as i64)),
                            ..Default::default()
                        })
                        .collect(),
                }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn node(op: &str, name: &str, inputs: &[&str], output: &str) -> NodeProto {
    NodeProto {
        op_type: op.into(),
        name: name.into(),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: vec![output.to_string()],
        ..Default::default()
    }
}

/// Deterministic values with the special ones first: signed zeros, infinities, NaN.
fn values(n: usize, seed: u32) -> Vec<f32> {
    let specials = [
        0.0,
        -0.0,
        1.0,
        -1.0,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        0.5,
        -2.5,
    ];
    let mut s = seed.wrapping_mul(2_654_435_761) | 1;
    (0..n)
        .map(|i| {
            if seed == 0 && i < specials.len() {
                return specials[i];
            }
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            (s as f32 / u32::MAX as f32) * 6.0 - 3.0
        })
        .collect()
}

/// `y = softmax(max(where(x < b, x * relu(tanh(relu(x + b))), x + b), x), axis 1)`.
fn model_bytes() -> Vec<u8> {
    let bias = TensorProto {
        name: "b".into(),
        dims: vec![COLS as i64],
        data_type: 1,
        float_data: values(COLS, 7),
        ..Default::default()
    };
    let mut softmax = node("Softmax", "softmax", &["mx"], "y");
    softmax.attribute.push(AttributeProto {
        name: "axis".into(),
        r#type: attribute_proto::AttributeType::Int as i32,
        i: 1,
        ..Default::default()
    });
    let m = ModelProto {
        ir_version: 8,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: 17,
        }],
        graph: Some(GraphProto {
            name: "elementwise".into(),
            node: vec![
                node("Add", "add", &["x", "b"], "a"),
                node("Relu", "relu1", &["a"], "r1"),
                node("Tanh", "tanh", &["r1"], "t"),
                node("Relu", "relu2", &["t"], "r2"),
                node("Mul", "mul", &["r2", "x"], "m"),
                node("Less", "less", &["x", "b"], "c"),
                node("Where", "where", &["c", "m", "a"], "w"),
                node("Max", "max", &["w", "x"], "mx"),
                softmax,
            ],
            initializer: vec![bias],
            input: vec![value_info("x", &[ROWS, COLS])],
            output: vec![value_info("y", &[ROWS, COLS])],
            ..Default::default()
        }),
        ..Default::default()
    };
    m.encode_to_vec()
}

/// Writes the model and an input into `dir`; returns their paths.
fn write_model(dir: &Path) -> (PathBuf, PathBuf) {
    let model = dir.join("elementwise.onnx");
    std::fs::write(&model, model_bytes()).unwrap();
    let input = dir.join("x.npy");
    write_npy(&input, &input_tensor()).unwrap();
    (model, input)
}

fn input_tensor() -> Tensor {
    Tensor::from_vec(vec![ROWS, COLS], values(ROWS * COLS, 0)).unwrap()
}

/// Whether the writer compiles for this machine (x86-64 or aarch64).
fn host_supported() -> bool {
    cfg!(any(target_arch = "x86_64", target_arch = "aarch64"))
}

/// The same bits, except that any two NaNs count as equal (which NaN propagates where
/// two meet is no part of the contract).
fn assert_same_bits(got: &Tensor, want: &Tensor) {
    assert_eq!(got.dtype(), want.dtype());
    assert_eq!(got.dims(), want.dims());
    let (g, w) = (got.as_slice::<f32>().unwrap(), want.as_slice::<f32>().unwrap());
    for (i, (a, b)) in g.iter().zip(w).enumerate() {
        assert!(
            a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
            "element {i}: {a} ({:#x}) vs {b} ({:#x})",
            a.to_bits(),
            b.to_bits()
        );
    }
}

/// The code section's kernels.
fn kernels_of(artifact: &Artifact) -> Vec<NativeKernelCode> {
    let info = artifact.section_info(CODE_SECTION).expect("a code section");
    assert_eq!(info.kind, SectionKind::Code);
    decode_section(artifact.section(CODE_SECTION).unwrap()).unwrap()
}

/// Checks the native table: the expected nodes, both ReLUs on one kernel, every other
/// node on its own.
fn check_table(model: &Model, kernels: &[NativeKernelCode]) {
    let table = &model.manifest().native;
    let names: Vec<&str> = table.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, NATIVE_NODES);
    assert_eq!(kernels.len(), NATIVE_NODES.len() - 1, "the two ReLUs share a kernel");
    let kernel_of = |name: &str| table.iter().find(|n| n.name == name).unwrap().kernel;
    assert_eq!(kernel_of("relu1"), kernel_of("relu2"));
    let add = table.iter().find(|n| n.name == "add").unwrap();
    assert_eq!(
        add.bindings,
        [
            NativeBinding::Operand(0),
            NativeBinding::Operand(1),
            NativeBinding::Result(0)
        ]
    );
    for n in table {
        assert_eq!(model.graph().nodes()[n.node].name, n.name);
    }
}

#[test]
fn native_kernels_run_with_the_reference_bits() {
    if !host_supported() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (onnx, input) = write_model(dir.path());
    let art = dir.path().join("m.lart");
    ok(&cc(&[
        s(&onnx),
        "-o",
        s(&art),
        "--mode",
        "strict",
        "--disable-pass",
        "fuse",
    ]));

    let artifact = Artifact::open(&art).unwrap();
    let kernels = kernels_of(&artifact);
    assert!(kernels.iter().all(|k| k.triple == host_triple()));
    let model = Model::from_artifact(&artifact).unwrap();
    check_table(&model, &kernels);
    let program = model.native_program().expect("native code");
    assert_eq!(program.kernel_count(), 7);
    assert_eq!(program.loaded_count(), 7);
    assert_eq!(program.node_count(), 8);
    assert_eq!(program.native_node_count(), 8);

    // The whole model: CPU backend (native kernels) against the reference backend.
    let x = input_tensor();
    let want = model.run(std::slice::from_ref(&x)).unwrap();
    let got = model.run_on(model.cpu_backend(1), std::slice::from_ref(&x)).unwrap();
    assert_same_bits(&got[0], &want[0]);
    // The reference interpreter's hook, on the CPU backend.
    let hooked = Interpreter::with_backend(model.graph(), model.cpu_backend(1))
        .with_native(program)
        .run(std::slice::from_ref(&x))
        .unwrap();
    assert_same_bits(&hooked[0], &want[0]);

    // One node on its own: the Add node's kernel against the reference kernel.
    let add = model.manifest().native.iter().find(|n| n.name == "add").unwrap().node;
    let node = &model.graph().nodes()[add];
    let bias = model.graph().constant_value(node.operands[1].unwrap()).unwrap();
    let native = program
        .run_node(add, &[Some(&x), Some(bias)])
        .expect("a kernel")
        .unwrap();
    let reference = lightos_runtime::reference::eval_op(&node.op, &[Some(&x), Some(bias)]).unwrap();
    assert_same_bits(&native[0], &reference[0]);
    // A node without a kernel (Tanh) and operands of the wrong shape.
    let tanh = model.graph().nodes().iter().position(|n| n.name == "tanh").unwrap();
    assert!(program.run_node(tanh, &[Some(&x)]).is_none());
    let small = Tensor::from_vec(vec![COLS], values(COLS, 3)).unwrap();
    assert!(program.run_node(add, &[Some(&small), Some(bias)]).unwrap().is_err());
    assert!(program.run_node(add, &[Some(&x), None]).unwrap().is_err());

    // Through the command line: `run` on both backends, and `inspect`.
    for backend in ["cpu", "reference"] {
        let out = dir.path().join(backend);
        ok(&cc(&[
            "run",
            s(&art),
            "--input",
            s(&input),
            "--output-dir",
            s(&out),
            "--backend",
            backend,
        ]));
        assert_same_bits(&read_npy(out.join("output_0.npy")).unwrap(), &want[0]);
    }
    let text = ok(&cc(&["inspect", s(&art)]));
    let bytes: usize = kernels.iter().map(|k| k.code.len()).sum();
    assert!(
        text.contains(&format!(
            "native code: 8 nodes on 7 distinct kernels, {bytes} bytes of code, target {}",
            host_triple()
        )),
        "{text}"
    );
    assert!(text.contains("7 of 7 kernels run on this machine"), "{text}");
    assert!(text.contains("code (code): "), "{text}");
}

#[test]
fn no_native_leaves_the_code_section_out() {
    let dir = tempfile::tempdir().unwrap();
    let (onnx, input) = write_model(dir.path());
    let art = dir.path().join("m.lart");
    ok(&cc(&[s(&onnx), "-o", s(&art), "--no-native", "--disable-pass", "fuse"]));
    let artifact = Artifact::open(&art).unwrap();
    assert!(artifact.section(CODE_SECTION).is_none());
    let model = Model::from_artifact(&artifact).unwrap();
    assert!(model.native_program().is_none());
    assert!(model.manifest().native.is_empty());
    assert!(
        !artifact.manifest().contains("\"native\""),
        "the manifest keeps its old shape"
    );
    let text = ok(&cc(&["inspect", s(&art)]));
    assert!(text.contains("native code: none"), "{text}");
    let out = dir.path().join("out");
    ok(&cc(&["run", s(&art), "--input", s(&input), "--output-dir", s(&out)]));
    let want = model.run(&[input_tensor()]).unwrap();
    assert_same_bits(&read_npy(out.join("output_0.npy")).unwrap(), &want[0]);
    // Both flags at once is a malformed command line.
    let both = cc(&[
        s(&onnx),
        "-o",
        s(&art),
        "--no-native",
        "--cpu-target",
        "x86_64-unknown-linux-gnu",
    ]);
    assert_eq!(both.status.code(), Some(2));
    // An unsupported target is an error naming it.
    let bad = cc(&[s(&onnx), "-o", s(&art), "--cpu-target", "riscv64gc-unknown-linux-gnu"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("riscv64gc-unknown-linux-gnu"));
}

/// Checks that aarch64 code decodes as A64 instructions up to its last `ret`.
fn check_aarch64_code(code: &NativeKernelCode) {
    use yaxpeax_arch::{Decoder, U8Reader};
    use yaxpeax_arm::armv8::a64::{InstDecoder, Opcode};
    assert_eq!(code.triple, "aarch64-unknown-linux-gnu");
    assert!(!code.code.is_empty() && code.code.len().is_multiple_of(4));
    let words: Vec<&[u8]> = code.code.chunks(4).collect();
    let last_ret = words
        .iter()
        .rposition(|w| *w == [0xc0, 0x03, 0x5f, 0xd6])
        .unwrap_or_else(|| panic!("kernel {} has no ret", code.name));
    let decoder = InstDecoder::default();
    for (i, word) in words[..=last_ret].iter().enumerate() {
        let mut reader = U8Reader::new(word);
        match decoder.decode(&mut reader) {
            Ok(inst) => assert!(i != last_ret || inst.opcode == Opcode::RET),
            Err(e) => panic!("kernel {}: word {i} ({word:02x?}) does not decode: {e:?}", code.name),
        }
    }
}

#[test]
fn code_for_another_machine_is_skipped_and_decodes() {
    let dir = tempfile::tempdir().unwrap();
    let (onnx, input) = write_model(dir.path());
    let art = dir.path().join("arm.lart");
    ok(&cc(&[
        s(&onnx),
        "-o",
        s(&art),
        "--cpu-target",
        "aarch64-unknown-linux-gnu",
        "--disable-pass",
        "fuse",
    ]));
    let artifact = Artifact::open(&art).unwrap();
    let kernels = kernels_of(&artifact);
    kernels.iter().for_each(check_aarch64_code);
    let model = Model::from_artifact(&artifact).unwrap();
    check_table(&model, &kernels);
    let program = model.native_program().unwrap();
    let here = cfg!(all(target_arch = "aarch64", target_os = "linux"));
    assert_eq!(program.loaded_count(), if here { 7 } else { 0 });
    let want = model.run(&[input_tensor()]).unwrap();
    let out = dir.path().join("out");
    ok(&cc(&["run", s(&art), "--input", s(&input), "--output-dir", s(&out)]));
    assert_same_bits(&read_npy(out.join("output_0.npy")).unwrap(), &want[0]);
    if !here {
        let text = ok(&cc(&["inspect", s(&art)]));
        assert!(text.contains("target aarch64-unknown-linux-gnu"), "{text}");
        assert!(text.contains("0 of 7 kernels run on this machine"), "{text}");
        assert!(text.contains("not loaded here"), "{text}");
    }
}

/// The compiled graph of the model, and its artifact parts (code for aarch64, so the
/// checks below run on every machine without executing anything).
fn parts(dir: &Path) -> (Graph, ArtifactParts) {
    let (onnx, _) = write_model(dir);
    let unfused = lightos_cc::CompileOptions {
        disabled_passes: vec!["fuse".into()],
        ..Default::default()
    };
    let graph = lightos_cc::compile(&onnx, &unfused, &mut |_, _| {}).unwrap().graph;
    let target = NativeTarget::Triple("aarch64-unknown-linux-gnu".into());
    let parts = lightos_cc::compile::artifact_parts_for(&graph, Mode::Strict, &target).unwrap();
    (graph, parts)
}

fn load(parts: &ArtifactParts) -> Result<Model, LoadError> {
    Model::from_artifact(&Artifact::from_bytes(parts.to_bytes().unwrap()).unwrap())
}

#[test]
fn damaged_native_code_is_refused_with_its_error() {
    let dir = tempfile::tempdir().unwrap();
    let (_, good) = parts(dir.path());
    assert!(load(&good).is_ok());

    // A damaged payload: bad magic, then a truncated one.
    let mut p = parts(dir.path()).1;
    p.code.as_mut().unwrap()[0] ^= 0xff;
    match load(&p) {
        Err(LoadError::NativeSection {
            source: NativeError::Malformed(m),
            ..
        }) => assert!(m.contains("magic"), "{m}"),
        other => panic!("expected a malformed section, got {:?}", other.err()),
    }
    let mut p = parts(dir.path()).1;
    let code = p.code.as_mut().unwrap();
    code.truncate(code.len() / 2);
    assert!(matches!(
        load(&p),
        Err(LoadError::NativeSection {
            source: NativeError::Malformed(_),
            ..
        })
    ));

    // Manifest entries that do not fit: each is a `NativeEntry` error naming the node.
    let entry_error = |edit: &dyn Fn(&mut ArtifactParts), needle: &str| {
        let mut p = parts(dir.path()).1;
        edit(&mut p);
        match load(&p) {
            Err(e @ LoadError::NativeEntry { .. }) => {
                assert!(e.to_string().contains(needle), "{e}")
            }
            other => panic!("expected a native entry error ({needle}), got {:?}", other.err()),
        }
    };
    entry_error(&|p| p.manifest.native[0].kernel = 99, "kernel 99 does not exist");
    entry_error(&|p| p.manifest.native[0].node = 999, "the program has only");
    entry_error(&|p| p.manifest.native[0].name = "other".into(), "is \"add\"");
    entry_error(&|p| p.manifest.native[0].bindings.swap(0, 2), "bound to");
    entry_error(
        &|p| p.manifest.native[0].bindings.pop().map(drop).unwrap_or(()),
        "2 bindings",
    );
    entry_error(
        &|p| p.manifest.native[0].bindings[1] = NativeBinding::Operand(0),
        "\"add\"",
    );
    entry_error(
        &|p| {
            // The `relu1` entry pointed at the `add` kernel: parameter counts differ.
            let add = p.manifest.native[0].kernel;
            p.manifest.native[1].kernel = add;
        },
        "relu1",
    );
    entry_error(
        &|p| {
            let first = p.manifest.native[0].clone();
            p.manifest.native.push(first);
        },
        "listed twice",
    );

    // Entries without a code section.
    let mut p = parts(dir.path()).1;
    p.code = None;
    assert!(matches!(
        load(&p),
        Err(LoadError::MissingSection {
            section: CODE_SECTION,
            ..
        })
    ));
}
