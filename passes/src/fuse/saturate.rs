//! Equality saturation: rules run over every e-class, their proposals are added and
//! merged, and the e-graph is rebuilt, until nothing changes or a limit is hit. Limits
//! count iterations and e-nodes, never time, so a model always fuses the same way.

use std::collections::BTreeMap;

use egg::Id;

use super::lang::{Data, EGraph, FNode, Term};
use super::rules::{Expr, Rule};

/// When saturation stops early.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most rounds of rule application.
    pub iterations: usize,
    /// Most e-nodes.
    pub nodes: usize,
    /// Most rounds of build, saturate and extract.
    pub rounds: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            iterations: 16,
            nodes: 100_000,
            rounds: 4,
        }
    }
}

/// What saturation did.
#[derive(Clone, Debug, Default)]
pub struct Saturation {
    /// Iterations of rule application, over all rounds.
    pub iterations: usize,
    /// Whether a round changed nothing (so every rule's consequences are in).
    pub saturated: bool,
    /// Merges made by each rule.
    pub applied: BTreeMap<&'static str, usize>,
}

/// Adds `expr`, checking each new e-node's operands fit its op; `None` when one does not.
fn add_expr(eg: &mut EGraph, expr: &Expr) -> Option<Id> {
    match expr {
        Expr::Class(id) => Some(eg.find(*id)),
        Expr::Node(term, children) => {
            let ids = children.iter().map(|c| add_expr(eg, c)).collect::<Option<Vec<Id>>>()?;
            let data: Vec<Data> = ids.iter().map(|&i| eg[i].data.clone()).collect();
            let refs: Vec<&Data> = data.iter().collect();
            if !matches!(term, Term::Absent) {
                eg.analysis.result_type(term, &refs)?;
            }
            let term = eg.analysis.intern(term.clone());
            Some(eg.add(FNode { term, children: ids }))
        }
    }
}

/// Runs `rules` on `eg` to saturation or `limits`.
pub fn saturate(eg: &mut EGraph, rules: &[Rule], limits: Limits) -> Saturation {
    let mut report = Saturation::default();
    for _ in 0..limits.iterations {
        report.iterations += 1;
        let mut classes: Vec<Id> = eg.classes().map(|c| c.id).collect();
        classes.sort_unstable();
        let mut proposals: Vec<(Id, Expr, &'static str)> = Vec::new();
        for rule in rules {
            for &class in &classes {
                let mut found = Vec::new();
                (rule.apply)(eg, class, &mut found);
                proposals.extend(found.into_iter().map(|e| (class, e, rule.name)));
            }
        }
        let mut changed = false;
        for (class, expr, name) in proposals {
            if eg.total_number_of_nodes() >= limits.nodes {
                break;
            }
            let Some(new) = add_expr(eg, &expr) else { continue };
            let class = eg.find(class);
            if eg[new].data.ty.is_none() || eg[new].data.ty != eg[class].data.ty {
                continue;
            }
            if eg.union(class, new) {
                changed = true;
                *report.applied.entry(name).or_default() += 1;
            }
        }
        eg.rebuild();
        if !changed {
            report.saturated = true;
            break;
        }
        if eg.total_number_of_nodes() >= limits.nodes {
            break;
        }
    }
    report
}
