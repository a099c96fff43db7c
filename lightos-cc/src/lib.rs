//! The LightOS compiler driver: the command line ([`cli`]) and the compile API
//! ([`compile`]) that build scripts use.

pub mod bench;
pub mod cli;
pub mod compile;
pub mod error;

pub use compile::{compile, load_graph, CompileOptions, Compiled};
pub use error::CliError;
