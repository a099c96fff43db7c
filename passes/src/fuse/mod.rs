//! Fusion by equality saturation.
//!
//! The graph becomes an [egg] e-graph ([`build`]); rewrite rules ([`rules`]) add
//! equivalent programs: fused kernels, folded weights, recognized composite ops,
//! simplified layouts. The cheapest program under the target's cost model ([`cost`]) is
//! extracted and written back as a graph ([`emit`]).
//!
//! The pass is deterministic: saturation stops on iteration and node limits only, rules
//! visit e-classes in id order, and extraction breaks ties by the e-nodes' order, so the
//! same model always gives the same graph. If the extracted program were costlier than
//! the input (it cannot be, since the input is one of the programs considered) or could
//! not be written back, the pass keeps the input and says why in its notes.

mod build;
pub mod cost;
mod emit;
mod lang;
pub mod rules;
mod saturate;

use egg::Extractor;
use lightos_ir::{verify, Graph};
use lightos_targets::Target;

pub use cost::{graph_cost, GraphCost};
pub use saturate::{Limits, Saturation};

use crate::{Pass, PassError, PassStats};

/// The fusion pass.
#[derive(Clone, Debug)]
pub struct Fusion {
    /// The target whose cost model picks the program.
    pub target: Target,
    /// Saturation limits.
    pub limits: Limits,
}

impl Default for Fusion {
    fn default() -> Self {
        Fusion {
            target: Target::Cpu,
            limits: Limits::default(),
        }
    }
}

/// What fusion did to a graph.
#[derive(Clone, Debug)]
pub struct FusionOutcome {
    /// The graph after fusion.
    pub graph: Graph,
    /// The input's cost.
    pub before: GraphCost,
    /// The output's cost.
    pub after: GraphCost,
    /// What saturation did.
    pub saturation: Saturation,
    /// Why the last round's result was not taken, if it was not.
    pub kept_input: Option<String>,
}

impl Fusion {
    /// Fuses `graph`.
    ///
    /// Fusion runs in rounds: each builds an e-graph from the previous round's graph,
    /// saturates and extracts. A round sees the use counts of the graph it starts from,
    /// so a value that was read several times only by a decomposed op (a GELU's input,
    /// say) can fuse into its producer once the op is recognized. Rounds stop when one
    /// no longer lowers the cost, or after [`Limits::rounds`].
    pub fn fuse(&self, graph: Graph) -> FusionOutcome {
        let model = self.target.cost_model();
        let before = graph_cost(&graph, &model);
        let mut saturation = Saturation::default();
        let mut current = graph;
        let mut current_cost = before;
        let mut kept_input = None;
        for _ in 0..self.limits.rounds {
            match self.round(&current, &mut saturation) {
                Ok(next) => {
                    let cost = graph_cost(&next, &model);
                    if cost.ns < current_cost.ns * (1.0 - 1e-9) {
                        current = next;
                        current_cost = cost;
                    } else {
                        if cost.ns > current_cost.ns * (1.0 + 1e-9) {
                            kept_input = Some(format!(
                                "a round would raise the estimated cost from {:.0} ns to {:.0} ns",
                                current_cost.ns, cost.ns
                            ));
                        }
                        break;
                    }
                }
                Err(why) => {
                    kept_input = Some(why);
                    break;
                }
            }
        }
        FusionOutcome {
            graph: current,
            before,
            after: current_cost,
            saturation,
            kept_input,
        }
    }

    /// One round: build, saturate, extract, write back and verify.
    fn round(&self, graph: &Graph, saturation: &mut Saturation) -> Result<Graph, String> {
        let model = self.target.cost_model();
        let mut built = build::build(graph);
        let report = saturate::saturate(&mut built.egraph, &rules::all(), self.limits);
        saturation.iterations += report.iterations;
        saturation.saturated = report.saturated;
        for (rule, n) in report.applied {
            *saturation.applied.entry(rule).or_default() += n;
        }
        let own = cost::own_costs(&built.egraph, &model);
        let extractor = Extractor::new(
            &built.egraph,
            cost::ExtractCost {
                own: &own,
                egraph: &built.egraph,
            },
        );
        let fused = emit::emit(&built.egraph, &extractor, &own, graph, &built.class_of).map_err(|e| e.to_string())?;
        verify(&fused).map_err(|e| format!("the fused graph is invalid: {e}"))?;
        Ok(fused)
    }
}

impl Pass for Fusion {
    fn name(&self) -> &'static str {
        "fuse"
    }

    fn run(&self, graph: Graph) -> Result<(Graph, PassStats), PassError> {
        let outcome = self.fuse(graph);
        let mut stats = PassStats {
            changed: outcome.before.kernels.saturating_sub(outcome.after.kernels),
            ..PassStats::default()
        };
        stats.notes.push(format!(
            "kernels {} -> {}, bytes moved {} -> {}, estimated {:.1} us -> {:.1} us on {}",
            outcome.before.kernels,
            outcome.after.kernels,
            outcome.before.bytes as u64,
            outcome.after.bytes as u64,
            outcome.before.ns / 1e3,
            outcome.after.ns / 1e3,
            self.target
        ));
        let applied: Vec<String> = outcome
            .saturation
            .applied
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        stats.notes.push(format!(
            "{} iterations{}; rules applied: {}",
            outcome.saturation.iterations,
            if outcome.saturation.saturated {
                ", saturated"
            } else {
                ""
            },
            if applied.is_empty() {
                "none".to_string()
            } else {
                applied.join(", ")
            }
        ));
        if let Some(why) = &outcome.kept_input {
            stats.notes.push(format!("stopped: {why}"));
        }
        stats.measures = vec![
            ("kernels_before", outcome.before.kernels as f64),
            ("kernels_after", outcome.after.kernels as f64),
            ("bytes_before", outcome.before.bytes),
            ("bytes_after", outcome.after.bytes),
        ];
        Ok((outcome.graph, stats))
    }
}

#[cfg(test)]
mod tests;
