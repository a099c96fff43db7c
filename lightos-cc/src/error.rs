//! The errors of the command line, each naming what failed and where.

use std::path::PathBuf;

/// Everything that can go wrong in a `lightos-cc` command.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The model file's format is not recognized.
    #[error("{}: unknown model format (expected .onnx)", path.display())]
    UnknownFormat {
        /// The model.
        path: PathBuf,
    },
    /// A known format without a frontend yet.
    #[error("{}: {format} models are not supported yet", path.display())]
    UnsupportedFormat {
        /// The model.
        path: PathBuf,
        /// The format's name.
        format: &'static str,
    },
    /// The ONNX frontend refused the model.
    #[error("{}: {source}", path.display())]
    Onnx {
        /// The model.
        path: PathBuf,
        /// The frontend's error.
        source: Box<lightos_frontend::onnx::OnnxError>,
    },
    /// A pass failed.
    #[error(transparent)]
    Pass(Box<lightos_passes::PassError>),
    /// Code generation failed.
    #[error(transparent)]
    Codegen(Box<lightos_codegen::CodegenError>),
    /// The artifact could not be loaded.
    #[error(transparent)]
    Load(Box<lightos_runtime::model::LoadError>),
    /// Running the model failed.
    #[error("run failed: {0}")]
    Run(Box<lightos_runtime::reference::RunError>),
    /// An input or output file could not be read or written.
    #[error("{}: {source}", path.display())]
    Npy {
        /// The file.
        path: PathBuf,
        /// The error.
        source: lightos_runtime::npy::NpyError,
    },
    /// A file system operation failed.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The inputs given to `run` do not bind the model's inputs.
    #[error("{0}")]
    Inputs(String),
}

macro_rules! boxed_from {
    ($($variant:ident($t:ty)),* $(,)?) => {
        $(impl From<$t> for CliError {
            fn from(e: $t) -> Self {
                CliError::$variant(Box::new(e))
            }
        })*
    };
}

boxed_from! {
    Pass(lightos_passes::PassError),
    Codegen(lightos_codegen::CodegenError),
    Load(lightos_runtime::model::LoadError),
    Run(lightos_runtime::reference::RunError),
}
