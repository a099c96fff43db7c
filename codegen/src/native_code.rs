//! Native CPU code for a whole graph: every node that [`lower_node`] lowers is compiled
//! with the Cranelift writer, identical kernels are stored once, and the manifest gets a
//! table from node to kernel.
//!
//! A node the lowering does not cover, or whose kernel the writer refuses, simply has no
//! entry: the runtime runs it on its other kernels. `MatMul` is left out on purpose: the
//! CPU backend's GEMM microkernels (blocked, multi-threaded) beat the lowered kernel's
//! plain dot-product loops by far.

use lightos_ir::{Graph, Op};
use lightos_runtime::model::{NativeBinding, NativeNodeInfo};
use lightos_runtime::native::NativeKernelCode;

use crate::cranelift::{CpuTarget, WriterError};
use crate::kernel::{lower_node, Binding};

/// Which machine an artifact's native code is compiled for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum NativeTarget {
    /// The machine the compiler runs on, with all the CPU features it has; skipped
    /// (no code section) when the writer does not support this machine.
    #[default]
    Host,
    /// A target triple (`x86_64-unknown-linux-gnu`, `aarch64-unknown-linux-gnu`, ...),
    /// baseline features; an unsupported triple is an error.
    Triple(String),
    /// No native code.
    Off,
}

impl NativeTarget {
    /// The Cranelift target, `None` for [`NativeTarget::Off`] and for a host the writer
    /// does not support.
    pub fn cpu_target(&self) -> Result<Option<CpuTarget>, WriterError> {
        match self {
            NativeTarget::Host => Ok(CpuTarget::host().ok()),
            NativeTarget::Triple(t) => CpuTarget::new(t, &[]).map(Some),
            NativeTarget::Off => Ok(None),
        }
    }
}

/// A node the writer could not compile (it stays on the runtime's other kernels).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused {
    /// The node's name.
    pub node: String,
    /// The writer's reason.
    pub reason: String,
}

/// The native code of a graph.
#[derive(Clone, Debug, Default)]
pub struct NativeCode {
    /// The distinct kernels, in the order of the code section.
    pub kernels: Vec<NativeKernelCode>,
    /// The nodes that run on a kernel, in node order (the manifest's `native` table).
    pub nodes: Vec<NativeNodeInfo>,
    /// The lowered nodes the writer refused.
    pub refused: Vec<Refused>,
}

/// Whether a node of op `op` gets a native kernel (see the [module docs](self)).
fn wanted(op: &Op) -> bool {
    !matches!(op, Op::MatMul)
}

/// Compiles every lowered node of `graph` for `target`, storing identical kernels
/// (same code, entry, parameters, callees, triple and features) once.
pub fn compile_graph(graph: &Graph, target: &CpuTarget) -> NativeCode {
    let mut out = NativeCode::default();
    for (index, (node, id)) in graph.nodes().iter().zip(graph.node_ids()).enumerate() {
        if !wanted(&node.op) {
            continue;
        }
        let Some(lowered) = lower_node(graph, id) else {
            continue;
        };
        let code = match target.compile(&lowered.kernel) {
            Ok(c) => c,
            Err(e) => {
                out.refused.push(Refused {
                    node: node.name.clone(),
                    reason: e.to_string(),
                });
                continue;
            }
        };
        let kernel = match out.kernels.iter().position(|k| same_code(k, &code)) {
            Some(k) => k,
            None => {
                out.kernels.push(code);
                out.kernels.len() - 1
            }
        };
        out.nodes.push(NativeNodeInfo {
            node: index,
            name: node.name.clone(),
            kernel,
            bindings: lowered
                .bindings
                .iter()
                .map(|b| match *b {
                    Binding::Operand(i) => NativeBinding::Operand(i),
                    Binding::Result(i) => NativeBinding::Result(i),
                })
                .collect(),
        });
    }
    out
}

/// Whether two kernels are interchangeable (everything but the name is equal).
fn same_code(a: &NativeKernelCode, b: &NativeKernelCode) -> bool {
    a.code == b.code
        && a.entry == b.entry
        && a.params == b.params
        && a.callees == b.callees
        && a.triple == b.triple
        && a.features == b.features
}
