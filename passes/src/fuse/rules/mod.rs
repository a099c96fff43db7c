//! The rewrite rules of the fusion pass.
//!
//! A rule looks at one e-class and proposes expressions equal to it; the saturation loop
//! adds them and merges them into the class. Rules are Rust functions rather than egg
//! patterns because their right-hand sides are computed: a fused kernel's program, folded
//! weights, a composed permutation.
//!
//! Every rule proposes an expression no more expensive than the one it matched under
//! the cost model, and extraction picks the cheapest, so fusion never makes a program
//! more expensive. Rules that merge a value into its reader (fusion, weight folding)
//! only fire when nothing else reads that value, so nothing is computed twice.

mod algebra;
mod attention;
mod decomposed;
mod epilogue;
mod fold_weights;
mod layout;
pub(crate) mod query;

use egg::Id;

use super::lang::{EGraph, Term};

/// An expression proposed by a rule: existing e-classes combined by new terms.
#[derive(Clone, Debug)]
pub enum Expr {
    /// An existing e-class.
    Class(Id),
    /// A term applied to sub-expressions.
    Node(Term, Vec<Expr>),
}

impl Expr {
    /// A node of an IR op.
    pub fn op(op: lightos_ir::Op, children: Vec<Expr>) -> Expr {
        Expr::Node(Term::Op(op), children)
    }

    /// A new constant.
    pub fn constant(t: lightos_ir::Tensor) -> Expr {
        Expr::Node(Term::Const(t), Vec::new())
    }
}

/// A rule: given the e-graph and an e-class, pushes expressions equal to the class.
pub type RuleFn = fn(&EGraph, Id, &mut Vec<Expr>);

/// A named rule.
pub struct Rule {
    /// The rule's name, used in reports.
    pub name: &'static str,
    /// The rule.
    pub apply: RuleFn,
}

/// Every rule, in the order they are tried.
pub fn all() -> Vec<Rule> {
    let mut rules = Vec::new();
    rules.extend(algebra::rules());
    rules.extend(layout::rules());
    rules.extend(fold_weights::rules());
    rules.extend(decomposed::rules());
    rules.extend(attention::rules());
    rules.extend(epilogue::rules());
    rules
}
