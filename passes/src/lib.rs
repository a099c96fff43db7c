//! Graph passes of LightOS and the pass manager that runs them.
//!
//! A [`Pass`] takes a graph and returns it changed, with [`PassStats`]. The
//! [`PassManager`] runs a pipeline of passes by name, verifies the graph after each,
//! times each, can print the IR after any pass, and can leave passes out by name.

mod dce;
mod fold;
pub mod fuse;
mod manager;
mod shape_inference;

pub use dce::DeadCodeElimination;
pub use fold::ConstantFolding;
pub use fuse::Fusion;
pub use manager::{PassError, PassManager, PassReport};
pub use shape_inference::ShapeInference;

use lightos_ir::Graph;

/// What a pass did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PassStats {
    /// How many nodes or values the pass changed, removed or refined.
    pub changed: usize,
    /// Notes for the user, e.g. what was skipped and why.
    pub notes: Vec<String>,
    /// Named measurements, e.g. fusion's kernel counts before and after.
    pub measures: Vec<(&'static str, f64)>,
}

/// A graph transformation.
pub trait Pass {
    /// The pass's name, used by `--print-after` and `--disable-pass`.
    fn name(&self) -> &'static str;

    /// Runs the pass.
    fn run(&self, graph: Graph) -> Result<(Graph, PassStats), PassError>;
}

/// The default pipeline: fold constants (refining shapes as it goes), infer shapes,
/// remove dead code, and fuse.
pub fn default_pipeline() -> PassManager {
    let mut pm = PassManager::new();
    pm.add(Box::new(ConstantFolding::default()));
    pm.add(Box::new(ShapeInference));
    pm.add(Box::new(DeadCodeElimination));
    pm.add(Box::new(Fusion::default()));
    pm
}
