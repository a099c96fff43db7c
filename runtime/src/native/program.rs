//! The native kernels of a whole program: an artifact's `Code` section mapped for this
//! machine, with the manifest's table of which node runs on which kernel.
//!
//! [`NativeProgram::new`] decodes the section, loads each kernel this machine can run
//! (a kernel for another architecture, or one needing a CPU feature or a math function
//! this machine or build lacks, is skipped: its nodes then run on the reference kernels),
//! and checks every manifest entry against the graph: the node exists and has the
//! entry's name, the kernel exists, and each binding names an operand or result whose
//! dtype and fixed dims are the kernel parameter's, read-only parameters bound to
//! operands and writable ones to results, every result exactly once. These checks run
//! for skipped kernels too, so a damaged artifact is refused on every machine.
//!
//! An executor asks [`NativeProgram::run_node`] before its own kernels; `None` means the
//! node has no native kernel here.

use lightos_ir::{Graph, Tensor};

use super::{decode_section, KernelArg, NativeError, NativeKernel, NativeKernelCode};
use crate::model::{NativeBinding, NativeNodeInfo};
use crate::reference::EvalError;

/// Why a program's native code could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum NativeProgramError {
    /// The `Code` section is damaged, or a kernel in it is inconsistent.
    #[error(transparent)]
    Section(NativeError),
    /// A manifest entry does not fit the program or the section.
    #[error("native kernel entry for node {node} (\"{name}\"): {detail}")]
    Entry {
        /// The node index the entry gives.
        node: usize,
        /// The node name the entry gives.
        name: String,
        /// What is wrong.
        detail: String,
    },
}

/// Whether a kernel of the section runs on this machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KernelStatus {
    /// Mapped and ready.
    Loaded,
    /// Not loaded (the reason, e.g. another target); its nodes use the reference kernels.
    Skipped(String),
}

/// One kernel of a program's `Code` section.
#[derive(Clone, Debug)]
pub struct KernelInfo {
    /// The kernel's name.
    pub name: String,
    /// The target triple it was compiled for.
    pub triple: String,
    /// The CPU features it needs.
    pub features: Vec<String>,
    /// The size of its machine code in bytes.
    pub code_bytes: usize,
    /// Whether it runs here.
    pub status: KernelStatus,
}

/// How one node calls its kernel.
#[derive(Debug)]
struct NodeKernel {
    kernel: usize,
    bindings: Vec<NativeBinding>,
    result_count: usize,
}

/// The native kernels of a program, ready to run node by node.
#[derive(Debug)]
pub struct NativeProgram {
    infos: Vec<KernelInfo>,
    kernels: Vec<Option<NativeKernel>>,
    /// The kernel of each node, by node index.
    nodes: Vec<Option<NodeKernel>>,
}

impl NativeProgram {
    /// Decodes the `Code` section payload `section`, loads the kernels this machine can
    /// run and checks `entries` against `graph` (see the [module docs](self)).
    ///
    /// The section must come from an artifact (checksummed) that a LightOS compiler wrote;
    /// its code is executed as found (see [`NativeKernel::load`]).
    pub fn new(section: &[u8], entries: &[NativeNodeInfo], graph: &Graph) -> Result<NativeProgram, NativeProgramError> {
        let codes = decode_section(section).map_err(NativeProgramError::Section)?;
        let mut infos = Vec::with_capacity(codes.len());
        let mut kernels = Vec::with_capacity(codes.len());
        for code in &codes {
            // SAFETY: the payload is an artifact's code section, whose kernels the LightOS
            // writer produced for the parameters they declare (`NativeKernel::load`'s
            // contract; the artifact checksum guards against damage), and `run_node` only
            // calls them through `NativeKernel::run`, which checks every buffer.
            let (kernel, status) = match unsafe { NativeKernel::load(code) } {
                Ok(k) => (Some(k), KernelStatus::Loaded),
                Err(
                    e @ (NativeError::ForeignTarget { .. }
                    | NativeError::MissingFeature { .. }
                    | NativeError::UnknownCallee { .. }
                    | NativeError::Map { .. }),
                ) => (None, KernelStatus::Skipped(e.to_string())),
                Err(e) => return Err(NativeProgramError::Section(e)),
            };
            kernels.push(kernel);
            infos.push(KernelInfo {
                name: code.name.clone(),
                triple: code.triple.clone(),
                features: code.features.clone(),
                code_bytes: code.code.len(),
                status,
            });
        }
        let mut nodes: Vec<Option<NodeKernel>> = Vec::new();
        nodes.resize_with(graph.nodes().len(), || None);
        for e in entries {
            let node = check_entry(e, graph, &codes)?;
            if nodes[e.node].replace(node).is_some() {
                return Err(entry_error(e, "the node is listed twice".into()));
            }
        }
        Ok(NativeProgram { infos, kernels, nodes })
    }

    /// The number of kernels in the section (distinct kernels; nodes may share one).
    pub fn kernel_count(&self) -> usize {
        self.infos.len()
    }

    /// The number of kernels loaded for this machine.
    pub fn loaded_count(&self) -> usize {
        self.kernels.iter().filter(|k| k.is_some()).count()
    }

    /// The kernels of the section, in section order.
    pub fn kernels(&self) -> &[KernelInfo] {
        &self.infos
    }

    /// The number of nodes the manifest gives a kernel (loaded here or not).
    pub fn node_count(&self) -> usize {
        self.nodes.iter().filter(|n| n.is_some()).count()
    }

    /// Whether node `node_index` runs on a native kernel on this machine.
    pub fn has_native(&self, node_index: usize) -> bool {
        self.loaded_kernel(node_index).is_some()
    }

    /// The number of nodes that run on a native kernel on this machine.
    pub fn native_node_count(&self) -> usize {
        (0..self.nodes.len()).filter(|&i| self.has_native(i)).count()
    }

    fn loaded_kernel(&self, node_index: usize) -> Option<(&NodeKernel, &NativeKernel)> {
        let node = self.nodes.get(node_index)?.as_ref()?;
        let kernel = self.kernels.get(node.kernel)?.as_ref()?;
        Some((node, kernel))
    }

    /// Runs node `node_index` (its position in the graph's node order) on its native
    /// kernel: `operands` are the node's operands as an executor holds them, and the
    /// results come back in result order. `None` when the node has no native kernel on
    /// this machine (run it on another kernel then); an operand that is missing or does
    /// not have the dtype and dims the kernel was compiled for is an error.
    pub fn run_node(&self, node_index: usize, operands: &[Option<&Tensor>]) -> Option<Result<Vec<Tensor>, EvalError>> {
        let (node, kernel) = self.loaded_kernel(node_index)?;
        Some(call(node, kernel, operands))
    }
}

/// Calls `kernel` for one node.
fn call(node: &NodeKernel, kernel: &NativeKernel, operands: &[Option<&Tensor>]) -> Result<Vec<Tensor>, EvalError> {
    let params = kernel.params();
    // Result buffers as 8-byte words (the tensor storage's unit and alignment).
    let mut outs: Vec<Vec<u64>> = vec![Vec::new(); node.result_count];
    for (b, p) in node.bindings.iter().zip(params) {
        if let NativeBinding::Result(r) = *b {
            let len = p.byte_len().ok_or_else(|| {
                EvalError::Invalid(format!("native kernel `{}`: output size overflows", kernel.name()))
            })?;
            outs[r] = vec![0u64; len.div_ceil(8)];
        }
    }
    {
        let mut slots: Vec<Option<&mut Vec<u64>>> = outs.iter_mut().map(Some).collect();
        let mut args = Vec::with_capacity(params.len());
        for (b, p) in node.bindings.iter().zip(params) {
            match *b {
                NativeBinding::Operand(i) => {
                    let t = operands.get(i).copied().flatten().ok_or_else(|| {
                        EvalError::Invalid(format!("native kernel `{}`: operand {i} has no value", kernel.name()))
                    })?;
                    if t.dtype() != p.dtype || t.dims() != p.dims.as_slice() {
                        return Err(EvalError::Invalid(format!(
                            "native kernel `{}` was compiled for operand {i} of {}{:?}, got {}{:?}",
                            kernel.name(),
                            p.dtype.name(),
                            p.dims,
                            t.dtype().name(),
                            t.dims()
                        )));
                    }
                    args.push(KernelArg::Read(t.bytes()));
                }
                NativeBinding::Result(r) => {
                    let len = p.byte_len().unwrap_or(0);
                    let words = slots.get_mut(r).and_then(Option::take).ok_or_else(|| {
                        EvalError::Invalid(format!("native kernel `{}`: result {r} bound twice", kernel.name()))
                    })?;
                    let bytes: &mut [u8] = bytemuck::cast_slice_mut(words.as_mut_slice());
                    args.push(KernelArg::Write(&mut bytes[..len]));
                }
            }
        }
        kernel.run(&mut args).map_err(|e| EvalError::Invalid(e.to_string()))?;
    }
    let mut results: Vec<Option<Tensor>> = vec![None; node.result_count];
    for (b, p) in node.bindings.iter().zip(params) {
        if let NativeBinding::Result(r) = *b {
            let words = std::mem::take(&mut outs[r]);
            results[r] = Some(Tensor::from_words(p.dtype, p.dims.clone(), words)?);
        }
    }
    results
        .into_iter()
        .enumerate()
        .map(|(r, t)| t.ok_or_else(|| EvalError::Invalid(format!("native kernel: result {r} was not produced"))))
        .collect()
}

fn entry_error(e: &NativeNodeInfo, detail: String) -> NativeProgramError {
    NativeProgramError::Entry {
        node: e.node,
        name: e.name.clone(),
        detail,
    }
}

/// Checks one manifest entry against the graph and the section's kernels.
fn check_entry(
    e: &NativeNodeInfo,
    graph: &Graph,
    codes: &[NativeKernelCode],
) -> Result<NodeKernel, NativeProgramError> {
    let bad = |detail: String| entry_error(e, detail);
    let node = graph
        .nodes()
        .get(e.node)
        .ok_or_else(|| bad(format!("the program has only {} nodes", graph.nodes().len())))?;
    if node.name != e.name {
        return Err(bad(format!("node {} of the program is \"{}\"", e.node, node.name)));
    }
    let code = codes.get(e.kernel).ok_or_else(|| {
        bad(format!(
            "kernel {} does not exist (the code section has {})",
            e.kernel,
            codes.len()
        ))
    })?;
    if e.bindings.len() != code.params.len() {
        return Err(bad(format!(
            "{} bindings for kernel `{}` of {} parameters",
            e.bindings.len(),
            code.name,
            code.params.len()
        )));
    }
    let mut bound = vec![false; node.results.len()];
    for (b, p) in e.bindings.iter().zip(&code.params) {
        let param = |detail: String| bad(format!("kernel `{}`, parameter `{}`: {detail}", code.name, p.name));
        let value = match *b {
            NativeBinding::Operand(i) => {
                if p.writable {
                    return Err(param(format!("written by the kernel but bound to operand {i}")));
                }
                node.operands
                    .get(i)
                    .copied()
                    .flatten()
                    .ok_or_else(|| param(format!("bound to operand {i}, which the node does not have")))?
            }
            NativeBinding::Result(r) => {
                if !p.writable {
                    return Err(param(format!("bound to result {r} but never written")));
                }
                match bound.get_mut(r) {
                    Some(seen) if !*seen => *seen = true,
                    Some(_) => return Err(param(format!("result {r} is bound twice"))),
                    None => return Err(param(format!("bound to result {r}, which the node does not have"))),
                }
                node.results[r]
            }
        };
        let ty = &graph
            .try_value(value)
            .ok_or_else(|| param("bound to a value the graph does not have".into()))?
            .ty;
        if ty.dtype != p.dtype || ty.shape.as_fixed().as_deref() != Some(p.dims.as_slice()) {
            return Err(param(format!(
                "declared {}{:?}, but the graph's tensor is {ty}",
                p.dtype.name(),
                p.dims
            )));
        }
        if !p.is_contiguous() {
            return Err(param(
                "the buffer is strided; node kernels take contiguous tensors".into(),
            ));
        }
    }
    if let Some(r) = bound.iter().position(|b| !b) {
        return Err(bad(format!("result {r} is not bound to a kernel parameter")));
    }
    Ok(NodeKernel {
        kernel: e.kernel,
        bindings: e.bindings.clone(),
        result_count: node.results.len(),
    })
}
