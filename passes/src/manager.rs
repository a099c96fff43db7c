//! The pass manager: runs passes by name, verifies after each, times each, and prints
//! the IR after the passes asked for.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use lightos_ir::{text::print_graph, verify, Graph, VerifyError};

use crate::Pass;

/// A pass that failed, or left the graph invalid.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PassError {
    /// A pass could not process a node.
    #[error("pass `{pass}` failed at node \"{node}\": {message}")]
    Node {
        /// The pass.
        pass: &'static str,
        /// The node.
        node: String,
        /// What went wrong.
        message: String,
    },
    /// The graph failed verification after a pass.
    #[error("the graph is invalid after pass `{pass}`: {source}")]
    Verify {
        /// The pass.
        pass: String,
        /// The verifier's error.
        source: VerifyError,
    },
    /// A pass name given by the user is not in the pipeline.
    #[error("unknown pass `{name}`; passes: {known}")]
    UnknownPass {
        /// The name given.
        name: String,
        /// The known pass names.
        known: String,
    },
}

/// What one pass did and how long it took.
#[derive(Clone, Debug)]
pub struct PassReport {
    /// The pass.
    pub name: &'static str,
    /// Wall time.
    pub duration: Duration,
    /// Its statistics.
    pub stats: crate::PassStats,
    /// Whether it was disabled (and so not run).
    pub disabled: bool,
}

/// Runs a pipeline of passes.
#[derive(Default)]
pub struct PassManager {
    passes: Vec<Box<dyn Pass>>,
    print_after: BTreeSet<String>,
    disabled: BTreeSet<String>,
}

impl PassManager {
    /// An empty pipeline.
    pub fn new() -> PassManager {
        PassManager::default()
    }

    /// Appends a pass.
    pub fn add(&mut self, pass: Box<dyn Pass>) {
        self.passes.push(pass);
    }

    /// The pass names, in order.
    pub fn names(&self) -> Vec<&'static str> {
        self.passes.iter().map(|p| p.name()).collect()
    }

    fn check_name(&self, name: &str) -> Result<(), PassError> {
        if self.names().contains(&name) {
            Ok(())
        } else {
            Err(PassError::UnknownPass {
                name: name.to_string(),
                known: self.names().join(", "),
            })
        }
    }

    /// Prints the IR after pass `name`.
    pub fn print_after(&mut self, name: &str) -> Result<(), PassError> {
        self.check_name(name)?;
        self.print_after.insert(name.to_string());
        Ok(())
    }

    /// Leaves pass `name` out.
    pub fn disable(&mut self, name: &str) -> Result<(), PassError> {
        self.check_name(name)?;
        self.disabled.insert(name.to_string());
        Ok(())
    }

    /// Runs the pipeline. `print` receives the pass name and IR text for each pass in
    /// the print-after set.
    pub fn run(
        &self,
        mut graph: Graph,
        print: &mut dyn FnMut(&str, &str),
    ) -> Result<(Graph, Vec<PassReport>), PassError> {
        let mut reports = Vec::with_capacity(self.passes.len());
        for pass in &self.passes {
            let name = pass.name();
            if self.disabled.contains(name) {
                reports.push(PassReport {
                    name,
                    duration: Duration::ZERO,
                    stats: Default::default(),
                    disabled: true,
                });
                continue;
            }
            let start = Instant::now();
            let (g, stats) = pass.run(graph)?;
            let duration = start.elapsed();
            verify(&g).map_err(|source| PassError::Verify {
                pass: name.to_string(),
                source,
            })?;
            if self.print_after.contains(name) {
                print(name, &print_graph(&g));
            }
            graph = g;
            reports.push(PassReport {
                name,
                duration,
                stats,
                disabled: false,
            });
        }
        Ok((graph, reports))
    }
}
