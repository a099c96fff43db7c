//! Compiling a model file into a graph and an artifact: the library behind the CLI's
//! compile command, also usable from build scripts.

use std::path::{Path, PathBuf};
use std::time::Duration;

use lightos_codegen::{ArtifactParts, NativeTarget};
use lightos_frontend::onnx::{import_model_with, load_model, ImportOptions};
use lightos_ir::Graph;
use lightos_passes::{default_pipeline, PassReport};
use lightos_runtime::cpu::Mode;
use lightos_runtime::model::FusionInfo;
use lightos_targets::Target;

use crate::error::CliError;

/// How to compile.
#[derive(Clone, Debug, Default)]
pub struct CompileOptions {
    /// Passes to print the IR after.
    pub print_after: Vec<String>,
    /// Passes to leave out.
    pub disabled_passes: Vec<String>,
}

/// A compiled model.
pub struct Compiled {
    /// The final graph.
    pub graph: Graph,
    /// What each pass did.
    pub reports: Vec<PassReport>,
    /// Time spent in the frontend.
    pub frontend_time: Duration,
}

impl Compiled {
    /// Kernels and bytes moved before and after fusion, from the fusion pass's report;
    /// `None` when the pass was disabled.
    pub fn fusion_info(&self) -> Option<FusionInfo> {
        let report = self.reports.iter().find(|r| r.name == "fuse" && !r.disabled)?;
        let measure = |key: &str| report.stats.measures.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
        Some(FusionInfo {
            kernels_before: measure("kernels_before")? as usize,
            kernels_after: measure("kernels_after")? as usize,
            bytes_before: measure("bytes_before")? as u64,
            bytes_after: measure("bytes_after")? as u64,
        })
    }
}

/// Loads a model file (ONNX) into the IR.
pub fn load_graph(path: &Path) -> Result<Graph, CliError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "onnx" => {
            let onnx_error = |source| CliError::Onnx {
                path: path.to_path_buf(),
                source: Box::new(source),
            };
            let (model, dir) = load_model(path).map_err(onnx_error)?;
            import_model_with(&model, Some(&dir), &import_options()).map_err(onnx_error)
        }
        "pt" | "pth" => Err(CliError::UnsupportedFormat {
            path: path.to_path_buf(),
            format: "TorchScript",
        }),
        _ => Err(CliError::UnknownFormat {
            path: path.to_path_buf(),
        }),
    }
}

/// The import options of the compiler: constants fold through the reference kernels,
/// so folding gives exactly the values the model would compute at run time.
pub fn import_options() -> ImportOptions {
    ImportOptions {
        fold: Some(|op, operands| lightos_runtime::reference::eval_op(op, operands).ok()),
    }
}

/// Loads and optimizes a model. `print` receives `(pass, ir_text)` for the passes in
/// `options.print_after`.
pub fn compile(path: &Path, options: &CompileOptions, print: &mut dyn FnMut(&str, &str)) -> Result<Compiled, CliError> {
    let start = std::time::Instant::now();
    let graph = load_graph(path)?;
    let frontend_time = start.elapsed();
    let mut pm = default_pipeline();
    for name in &options.print_after {
        pm.print_after(name)?;
    }
    for name in &options.disabled_passes {
        pm.disable(name)?;
    }
    let (graph, reports) = pm.run(graph, print)?;
    Ok(Compiled {
        graph,
        reports,
        frontend_time,
    })
}

/// The artifact parts of a compiled graph, in the default numerics mode (fast), with
/// native code for this machine.
pub fn artifact_parts(graph: &Graph) -> Result<ArtifactParts, CliError> {
    artifact_parts_with(graph, Mode::Fast)
}

/// The artifact parts of a compiled graph for numerics `mode`, with native code for this
/// machine.
pub fn artifact_parts_with(graph: &Graph, mode: Mode) -> Result<ArtifactParts, CliError> {
    artifact_parts_for(graph, mode, &NativeTarget::Host)
}

/// The artifact parts of a compiled graph for numerics `mode`, with native code for
/// `native` (a triple, this machine, or none).
pub fn artifact_parts_for(graph: &Graph, mode: Mode, native: &NativeTarget) -> Result<ArtifactParts, CliError> {
    Ok(lightos_codegen::lower_with(graph, &[Target::Reference], mode, native)?)
}

/// The default artifact path: the model's stem plus `.lart`, next to it.
pub fn default_output(model: &Path) -> PathBuf {
    model.with_extension("lart")
}
