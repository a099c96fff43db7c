//! LightOS code generation: from a verified graph to the sections of an artifact.
//!
//! For the reference target the code is the graph's canonical text (the `program`
//! section) plus its weights (the `weights` section, each tensor 64-byte aligned so the
//! runtime can read it in place). Nodes the kernel IR covers also get native CPU code
//! (the `code` section, see [`native_code`]) unless [`NativeTarget::Off`] is asked for.

pub mod cranelift;
pub mod kernel;
pub mod native_code;

use std::path::Path;

use lightos_ir::{text, verify, Graph, VerifyError};
use lightos_runtime::artifact::{ArtifactError, ArtifactWriter, SectionKind};
use lightos_runtime::cpu::Mode;
use lightos_runtime::model::{
    Manifest, PortInfo, WeightInfo, CODE_SECTION, MANIFEST_VERSION, PROGRAM_SECTION, WEIGHTS_SECTION,
};
use lightos_targets::Target;

pub use native_code::{NativeCode, NativeTarget};

/// Alignment of each weight inside the weight section.
pub const WEIGHT_ALIGN: usize = 64;

/// Why an artifact could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum CodegenError {
    /// The graph is not valid IR.
    #[error("cannot generate code for an invalid graph: {0}")]
    Verify(#[from] VerifyError),
    /// The artifact could not be written.
    #[error(transparent)]
    Artifact(#[from] ArtifactError),
    /// The native code target is not supported.
    #[error("native code: {0}")]
    Native(#[from] cranelift::WriterError),
}

/// The manifest and section payloads of a graph compiled for `targets`.
pub struct ArtifactParts {
    /// The manifest.
    pub manifest: Manifest,
    /// The program text.
    pub program: String,
    /// The weight section.
    pub weights: Vec<u8>,
    /// The native code section payload (see [`lightos_runtime::native::encode_section`]);
    /// `None` when there is no native code.
    pub code: Option<Vec<u8>>,
    /// The native code's kernels and node table (empty without native code).
    pub native: NativeCode,
}

/// Lays out `graph` as artifact parts, compiled for `targets` in numerics `mode`, with
/// native code for this machine ([`NativeTarget::Host`]).
pub fn lower(graph: &Graph, targets: &[Target], mode: Mode) -> Result<ArtifactParts, CodegenError> {
    lower_with(graph, targets, mode, &NativeTarget::Host)
}

/// Lays out `graph` as artifact parts, compiled for `targets` in numerics `mode`, with
/// native code for `native`. The native kernels follow the strict numerics (the
/// reference's bits), which `fast` also allows.
pub fn lower_with(
    graph: &Graph,
    targets: &[Target],
    mode: Mode,
    native: &NativeTarget,
) -> Result<ArtifactParts, CodegenError> {
    verify(graph)?;
    let native = match native.cpu_target()? {
        Some(t) => native_code::compile_graph(graph, &t),
        None => NativeCode::default(),
    };
    let mut weights = Vec::new();
    let mut infos = Vec::new();
    for (name, t) in text::weights(graph) {
        let offset = weights.len().next_multiple_of(WEIGHT_ALIGN);
        weights.resize(offset, 0);
        weights.extend_from_slice(t.bytes());
        infos.push(WeightInfo {
            name,
            dtype: t.dtype().name().to_string(),
            dims: t.dims().to_vec(),
            offset,
            len: t.bytes().len(),
        });
    }
    let port = |p: &lightos_ir::Port| {
        let ty = graph.ty(p.value);
        PortInfo {
            name: p.name.clone(),
            dtype: ty.dtype.name().to_string(),
            shape: ty.shape.dims().iter().map(|d| d.to_string()).collect(),
        }
    };
    let manifest = Manifest {
        version: MANIFEST_VERSION,
        producer: format!("lightos-cc {}", env!("CARGO_PKG_VERSION")),
        graph: graph.name.clone(),
        inputs: graph.inputs().iter().map(port).collect(),
        outputs: graph.outputs().iter().map(port).collect(),
        op_counts: graph.op_counts(),
        targets: targets.iter().map(|t| t.name().to_string()).collect(),
        mode: mode.name().to_string(),
        weights: infos,
        native: native.nodes.clone(),
        fusion: None,
    };
    let code = (!native.kernels.is_empty()).then(|| lightos_runtime::native::encode_section(&native.kernels));
    Ok(ArtifactParts {
        manifest,
        program: text::print_graph(graph),
        weights,
        code,
        native,
    })
}

impl ArtifactParts {
    /// A writer holding the manifest and sections.
    pub fn writer(&self) -> ArtifactWriter<'_> {
        let manifest = serde_json::to_vec_pretty(&self.manifest).expect("the manifest always serializes");
        let mut w = ArtifactWriter::new(manifest);
        w.add_section(PROGRAM_SECTION, SectionKind::Program, self.program.as_bytes());
        w.add_section(WEIGHTS_SECTION, SectionKind::Weights, self.weights.as_slice());
        if let Some(code) = &self.code {
            w.add_section(CODE_SECTION, SectionKind::Code, code.as_slice());
        }
        w
    }

    /// Writes the artifact to `path` (atomically: a temporary file is renamed over it).
    pub fn write_to(&self, path: &Path) -> Result<(), CodegenError> {
        Ok(self.writer().write_to(path)?)
    }

    /// The artifact's bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>, CodegenError> {
        Ok(self.writer().to_bytes()?)
    }
}
