//! The manifest of an artifact: what the model takes and gives, what it holds, and where
//! its weights lie. Stored as JSON in the artifact's manifest.

use serde::{Deserialize, Serialize};

/// The current manifest schema version.
pub const MANIFEST_VERSION: u32 = 1;

/// Name of the section holding the graph's canonical IR text.
pub const PROGRAM_SECTION: &str = "program";
/// Name of the section holding the weights.
pub const WEIGHTS_SECTION: &str = "weights";
/// Name of the section holding native CPU kernels (a [`crate::native`] `Code` payload).
pub const CODE_SECTION: &str = "code";

/// The manifest.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Schema version ([`MANIFEST_VERSION`]).
    pub version: u32,
    /// What wrote the artifact, e.g. `lightos-cc 0.1.0`.
    pub producer: String,
    /// The graph's name.
    pub graph: String,
    /// The graph inputs, in order.
    pub inputs: Vec<PortInfo>,
    /// The graph outputs, in order.
    pub outputs: Vec<PortInfo>,
    /// Node count per op name, sorted by name.
    pub op_counts: Vec<(String, usize)>,
    /// The targets code was made for.
    pub targets: Vec<String>,
    /// The numerics mode the model was compiled for: `strict` (bit-identical to the
    /// reference backend) or `fast`.
    #[serde(default = "default_mode")]
    pub mode: String,
    /// The weights, in the order of the weight section.
    pub weights: Vec<WeightInfo>,
    /// The nodes that have a native kernel in the [`CODE_SECTION`], in node order.
    /// Absent (empty) in artifacts without native code, so older manifests still load.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub native: Vec<NativeNodeInfo>,
    /// What the fusion pass did; absent when it did not run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fusion: Option<FusionInfo>,
}

/// Kernels and memory traffic per run before and after fusion, as the compiler's cost
/// model counts them (kernels are nodes that are not constants or views).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FusionInfo {
    /// Kernels before fusion.
    pub kernels_before: usize,
    /// Kernels after fusion.
    pub kernels_after: usize,
    /// Bytes read and written by the kernels before fusion.
    pub bytes_before: u64,
    /// Bytes read and written by the kernels after fusion.
    pub bytes_after: u64,
}

/// A node of the program that runs on a native kernel of the [`CODE_SECTION`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NativeNodeInfo {
    /// The node's position in the program's node order.
    pub node: usize,
    /// The node's name (checked against the program when loading).
    pub name: String,
    /// The kernel's position in the code section (kernels are shared between nodes that
    /// compile to identical code).
    pub kernel: usize,
    /// `bindings[i]` is the tensor bound to the kernel's parameter `i`.
    pub bindings: Vec<NativeBinding>,
}

/// The tensor a native kernel parameter is bound to.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NativeBinding {
    /// The node's operand with this index (read only).
    Operand(usize),
    /// The node's result with this index (written).
    Result(usize),
}

/// A graph input or output.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PortInfo {
    /// Its name.
    pub name: String,
    /// Its dtype, as in the IR text (`f32`).
    pub dtype: String,
    /// Its dims: a number, or a symbol for a size bound at run time.
    pub shape: Vec<String>,
}

/// One weight tensor in the weight section.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WeightInfo {
    /// The constant node's name, which the program text refers to.
    pub name: String,
    /// Its dtype.
    pub dtype: String,
    /// Its dims.
    pub dims: Vec<usize>,
    /// Byte offset inside the weight section (a multiple of 64).
    pub offset: usize,
    /// Byte length.
    pub len: usize,
}

impl Manifest {
    /// Total bytes of weights.
    pub fn weight_bytes(&self) -> usize {
        self.weights.iter().map(|w| w.len).sum()
    }
}

fn default_mode() -> String {
    "fast".to_string()
}
