//! A loaded model: an artifact's manifest, its graph (parsed from the program section,
//! weights read in place from the weight section), its native kernels (from the code
//! section, where the artifact has one) and the reference executor.

pub mod manifest;

use std::collections::HashMap;
use std::path::Path;

use lightos_ir::{text::parse_graph, verify, DType, Graph, Tensor};

use crate::artifact::{Artifact, ArtifactError};
use crate::backend::Backend;
use crate::exec::Executor;
use crate::native::{NativeError, NativeProgram, NativeProgramError};
use crate::reference::RunError;
pub use manifest::{
    FusionInfo, Manifest, NativeBinding, NativeNodeInfo, PortInfo, WeightInfo, CODE_SECTION, MANIFEST_VERSION,
    PROGRAM_SECTION, WEIGHTS_SECTION,
};

/// Why an artifact could not be loaded as a model.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file is not a valid artifact.
    #[error(transparent)]
    Artifact(#[from] ArtifactError),
    /// The manifest is not valid JSON of the expected schema.
    #[error("{file}: the manifest is invalid: {message}")]
    Manifest {
        /// The artifact.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// A section the model needs is missing.
    #[error("{file}: the artifact has no `{section}` section")]
    MissingSection {
        /// The artifact.
        file: String,
        /// The section.
        section: &'static str,
    },
    /// A weight lies outside its section or does not fit its dtype and dims.
    #[error("{file}: weight \"{weight}\": {message}")]
    Weight {
        /// The artifact.
        file: String,
        /// The weight.
        weight: String,
        /// What is wrong.
        message: String,
    },
    /// The program does not parse or verify.
    #[error("{file}: the program is invalid: {message}")]
    Program {
        /// The artifact.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// The native code section is damaged, or a kernel in it is inconsistent.
    #[error("{file}: {source}")]
    NativeSection {
        /// The artifact.
        file: String,
        /// What is wrong.
        source: NativeError,
    },
    /// A manifest entry of a native kernel does not fit the program or the code section.
    #[error("{file}: native kernel entry for node {node} (\"{name}\"): {message}")]
    NativeEntry {
        /// The artifact.
        file: String,
        /// The node index the entry gives.
        node: usize,
        /// The node name the entry gives.
        name: String,
        /// What is wrong.
        message: String,
    },
}

/// A model ready to run.
pub struct Model {
    manifest: Manifest,
    graph: Graph,
    native: Option<NativeProgram>,
}

impl Model {
    /// Loads the artifact at `path`. Weights are read in place from the memory map.
    pub fn load(path: &Path) -> Result<Model, LoadError> {
        Model::from_artifact(&Artifact::open(path)?)
    }

    /// Builds a model from an opened artifact.
    pub fn from_artifact(artifact: &Artifact) -> Result<Model, LoadError> {
        let file = artifact
            .path()
            .map_or_else(|| "in-memory artifact".to_string(), |p| p.display().to_string());
        let manifest: Manifest = serde_json::from_str(artifact.manifest()).map_err(|e| LoadError::Manifest {
            file: file.clone(),
            message: e.to_string(),
        })?;
        if crate::cpu::Mode::from_name(&manifest.mode).is_none() {
            return Err(LoadError::Manifest {
                file,
                message: format!("unknown numerics mode `{}` (expected strict or fast)", manifest.mode),
            });
        }
        if manifest.version != MANIFEST_VERSION {
            return Err(LoadError::Manifest {
                file,
                message: format!(
                    "schema version {} is not supported (expected {MANIFEST_VERSION})",
                    manifest.version
                ),
            });
        }
        let program = artifact
            .section(PROGRAM_SECTION)
            .ok_or_else(|| LoadError::MissingSection {
                file: file.clone(),
                section: PROGRAM_SECTION,
            })?;
        let program = std::str::from_utf8(program).map_err(|_| LoadError::Program {
            file: file.clone(),
            message: "not UTF-8".into(),
        })?;
        let weights = load_weights(artifact, &manifest, &file)?;
        let graph = parse_graph(program, &|name| weights.get(name).cloned()).map_err(|e| LoadError::Program {
            file: file.clone(),
            message: e.to_string(),
        })?;
        verify(&graph).map_err(|e| LoadError::Program {
            file: file.clone(),
            message: e.to_string(),
        })?;
        let native = load_native(artifact, &manifest, &graph, &file)?;
        Ok(Model {
            manifest,
            graph,
            native,
        })
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The graph.
    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// Runs the model on the reference backend; `inputs` in graph-input order.
    pub fn run(&self, inputs: &[Tensor]) -> Result<Vec<Tensor>, RunError> {
        self.run_on(Backend::Reference, inputs)
    }

    /// The artifact's native kernels, when it has a code section (kernels for another
    /// machine are in it but not loaded; see [`NativeProgram`]).
    pub fn native_program(&self) -> Option<&NativeProgram> {
        self.native.as_ref()
    }

    /// Runs the model on `backend`; `inputs` in graph-input order. On the CPU backend,
    /// nodes with a native kernel from the artifact run on it.
    /// To run it many times, prepare an [`Executor`] once with [`Model::executor`].
    pub fn run_on(&self, backend: Backend, inputs: &[Tensor]) -> Result<Vec<Tensor>, RunError> {
        self.executor(backend)?.run(inputs)
    }

    /// The model prepared for repeated runs on `backend` (with the artifact's native
    /// kernels on the CPU backend).
    pub fn executor(&self, backend: Backend) -> Result<Executor<'_>, RunError> {
        Executor::with_native(&self.graph, backend, self.native.as_ref())
    }

    /// The CPU backend configured as the artifact asks (its compile mode), on `threads`.
    pub fn cpu_backend(&self, threads: usize) -> Backend {
        let mode = crate::cpu::Mode::from_name(&self.manifest.mode).unwrap_or_default();
        Backend::Cpu(crate::backend::CpuConfig { mode, threads })
    }
}

/// The native kernels of the artifact's code section; `None` without one. Manifest
/// entries without a code section are an error.
fn load_native(
    artifact: &Artifact,
    manifest: &Manifest,
    graph: &Graph,
    file: &str,
) -> Result<Option<NativeProgram>, LoadError> {
    let Some(section) = artifact.section(CODE_SECTION) else {
        if manifest.native.is_empty() {
            return Ok(None);
        }
        return Err(LoadError::MissingSection {
            file: file.to_string(),
            section: CODE_SECTION,
        });
    };
    match NativeProgram::new(section, &manifest.native, graph) {
        Ok(p) => Ok(Some(p)),
        Err(NativeProgramError::Section(source)) => Err(LoadError::NativeSection {
            file: file.to_string(),
            source,
        }),
        Err(NativeProgramError::Entry { node, name, detail }) => Err(LoadError::NativeEntry {
            file: file.to_string(),
            node,
            name,
            message: detail,
        }),
    }
}

fn load_weights(artifact: &Artifact, manifest: &Manifest, file: &str) -> Result<HashMap<String, Tensor>, LoadError> {
    if manifest.weights.is_empty() {
        return Ok(HashMap::new());
    }
    let section = artifact
        .section(WEIGHTS_SECTION)
        .ok_or_else(|| LoadError::MissingSection {
            file: file.to_string(),
            section: WEIGHTS_SECTION,
        })?;
    let base = artifact.section_offset(WEIGHTS_SECTION).unwrap_or(0);
    let mmap = artifact.mmap();
    let mut out = HashMap::with_capacity(manifest.weights.len());
    for w in &manifest.weights {
        let bad = |message: String| LoadError::Weight {
            file: file.to_string(),
            weight: w.name.clone(),
            message,
        };
        let dtype: DType = w
            .dtype
            .parse()
            .map_err(|e: lightos_ir::dtype::UnknownDType| bad(e.to_string()))?;
        let end = w.offset.checked_add(w.len).filter(|&e| e <= section.len());
        let Some(end) = end else {
            return Err(bad(format!(
                "bytes {}..+{} lie outside the weight section",
                w.offset, w.len
            )));
        };
        let expected = lightos_ir::shape::byte_size(&w.dims, dtype.size_bytes()).map_err(|e| bad(e.to_string()))?;
        if expected != w.len {
            return Err(bad(format!(
                "{dtype}{:?} needs {expected} bytes, the manifest says {}",
                w.dims, w.len
            )));
        }
        let tensor = match &mmap {
            Some(map) => Tensor::from_mmap(dtype, w.dims.clone(), map.clone(), base + w.offset),
            None => Tensor::from_bytes(dtype, w.dims.clone(), &section[w.offset..end]),
        }
        .map_err(|e| bad(e.to_string()))?;
        if out.insert(w.name.clone(), tensor).is_some() {
            return Err(bad("the name is listed twice".into()));
        }
    }
    Ok(out)
}
