//! Fusing a value into the kernel that reads it: a convolution or matrix product into
//! the elementwise ops after it (bias, activation, residual add), and elementwise ops
//! into each other, so a chain of any length becomes one kernel.

use egg::Id;
use lightos_ir::{BinaryOp, FusedAnchor, FusedAttrs, FusedInstr, FusedSrc, Op, UnaryOp};

use super::query::{is_absent, is_f32, ops, same_type, shared};
use super::{Expr, Rule};
use crate::fuse::lang::EGraph;

/// The longest program a fused kernel gets.
const MAX_PROGRAM: usize = 24;

pub(super) fn rules() -> Vec<Rule> {
    vec![
        Rule {
            name: "fuse-epilogue",
            apply: |eg, id, out| fuse_into_reader(eg, id, out, true),
        },
        Rule {
            name: "fuse-elementwise",
            apply: |eg, id, out| fuse_into_reader(eg, id, out, false),
        },
    ]
}

/// A fused kernel under construction: an anchor, the node's operands (the anchor's slots
/// first), and the program.
#[derive(Clone, Debug)]
pub(crate) struct Program {
    pub anchor: Option<FusedAnchor>,
    pub children: Vec<Id>,
    pub instrs: Vec<FusedInstr>,
}

/// Whether a unary function may be part of a fused `f32` program.
fn fusable_unary(u: &UnaryOp) -> bool {
    !matches!(
        u,
        UnaryOp::Not | UnaryOp::BitwiseNot | UnaryOp::IsNaN | UnaryOp::IsInf { .. }
    )
}

/// Whether a binary function may be part of a fused `f32` program.
fn fusable_binary(b: &BinaryOp) -> bool {
    matches!(
        b,
        BinaryOp::Add
            | BinaryOp::Sub
            | BinaryOp::Mul
            | BinaryOp::Div
            | BinaryOp::Pow
            | BinaryOp::Max
            | BinaryOp::Min
            | BinaryOp::PRelu
    )
}

impl Program {
    /// The program an e-node computes, if it can be part of a fused kernel: an anchor
    /// op, an `f32` elementwise op, or a fused kernel.
    pub(crate) fn of(eg: &EGraph, op: &Op, children: &[Id]) -> Option<Program> {
        if let Some(anchor) = FusedAnchor::of(op) {
            if children.len() > anchor.operand_count() {
                return None;
            }
            let mut children = children.to_vec();
            while children.len() < anchor.operand_count() {
                children.push(absent_class(eg)?);
            }
            return Some(Program {
                anchor: Some(anchor),
                children,
                instrs: Vec::new(),
            });
        }
        if let Op::Fused(f) = op {
            return Some(Program {
                anchor: f.anchor.clone(),
                children: children.to_vec(),
                instrs: f.program.clone(),
            });
        }
        if !children.iter().all(|&c| is_absent(eg, c) || is_f32(eg, c)) {
            return None;
        }
        let mut p = Program {
            anchor: None,
            children: Vec::new(),
            instrs: Vec::new(),
        };
        let src = |p: &mut Program, k: usize| -> Option<Option<FusedSrc>> {
            match children.get(k) {
                Some(&c) if !is_absent(eg, c) => Some(Some(p.operand(c))),
                _ => Some(None),
            }
        };
        let instr = match op {
            Op::Unary(u) if fusable_unary(u) => FusedInstr::Unary {
                op: *u,
                x: src(&mut p, 0)??,
            },
            Op::Binary(b) if fusable_binary(b) => FusedInstr::Binary {
                op: *b,
                a: src(&mut p, 0)??,
                b: src(&mut p, 1)??,
            },
            Op::Clip => FusedInstr::Clip {
                x: src(&mut p, 0)??,
                min: src(&mut p, 1)?,
                max: src(&mut p, 2)?,
            },
            _ => return None,
        };
        p.instrs.push(instr);
        Some(p)
    }

    fn first_operand(&self) -> usize {
        self.anchor.as_ref().map_or(0, FusedAnchor::operand_count)
    }

    /// The source reading class `id` as a program operand, added if new.
    fn operand(&mut self, id: Id) -> FusedSrc {
        let first = self.first_operand();
        if let Some(k) = self.children[first..].iter().position(|&c| c == id) {
            return FusedSrc::Operand(first + k);
        }
        self.children.push(id);
        FusedSrc::Operand(self.children.len() - 1)
    }

    /// This program with `producer` computing its operand slot `slot` inline; `None`
    /// when both have an anchor or the slot is an anchor operand.
    pub(crate) fn inline(&self, slot: usize, producer: &Program) -> Option<Program> {
        if slot < self.first_operand() || (self.anchor.is_some() && producer.anchor.is_some()) {
            return None;
        }
        let anchored = if producer.anchor.is_some() { producer } else { self };
        let first = anchored.first_operand();
        let mut out = Program {
            anchor: anchored.anchor.clone(),
            children: anchored.children[..first].to_vec(),
            instrs: Vec::with_capacity(producer.instrs.len() + self.instrs.len()),
        };
        let map = |out: &mut Program, from: &Program, s: FusedSrc, shift: usize, slot_value: Option<FusedSrc>| match s {
            FusedSrc::Anchor => FusedSrc::Anchor,
            FusedSrc::Temp(t) => FusedSrc::Temp(t + shift),
            FusedSrc::Operand(k) => {
                let c = from.children[k];
                match slot_value {
                    Some(v) if c == self.children[slot] => v,
                    _ => out.operand(c),
                }
            }
        };
        for instr in &producer.instrs {
            let m = |out: &mut Program, s| map(out, producer, s, 0, None);
            let i = remap(instr, &mut out, m);
            out.instrs.push(i);
        }
        let produced = if producer.instrs.is_empty() {
            FusedSrc::Anchor
        } else {
            FusedSrc::Temp(producer.instrs.len() - 1)
        };
        let shift = producer.instrs.len();
        for instr in &self.instrs {
            let m = |out: &mut Program, s| map(out, self, s, shift, Some(produced));
            let i = remap(instr, &mut out, m);
            out.instrs.push(i);
        }
        Some(out)
    }

    /// The fused kernel as an expression.
    pub(crate) fn into_expr(self) -> Expr {
        let attrs = FusedAttrs {
            anchor: self.anchor,
            program: self.instrs,
        };
        Expr::op(
            Op::Fused(Box::new(attrs)),
            self.children.into_iter().map(Expr::Class).collect(),
        )
    }
}

fn remap(instr: &FusedInstr, out: &mut Program, mut m: impl FnMut(&mut Program, FusedSrc) -> FusedSrc) -> FusedInstr {
    match *instr {
        FusedInstr::Unary { op, x } => FusedInstr::Unary { op, x: m(out, x) },
        FusedInstr::Binary { op, a, b } => {
            let a = m(out, a);
            FusedInstr::Binary { op, a, b: m(out, b) }
        }
        FusedInstr::Clip { x, min, max } => {
            let x = m(out, x);
            let min = min.map(|s| m(out, s));
            FusedInstr::Clip {
                x,
                min,
                max: max.map(|s| m(out, s)),
            }
        }
    }
}

/// The class of the absent operand, when the e-graph has one.
fn absent_class(eg: &EGraph) -> Option<Id> {
    eg.analysis.absent.map(|a| eg.find(a))
}

/// For each reader of class `id` that can absorb one of its operands: the kernel with
/// that operand's producer inlined. With `anchored`, only producers or readers with an
/// anchor (epilogue fusion); otherwise only elementwise ones.
fn fuse_into_reader(eg: &EGraph, id: Id, out: &mut Vec<Expr>, anchored: bool) {
    if !is_f32(eg, id) {
        return;
    }
    for (op, children) in ops(eg, id) {
        if FusedAnchor::of(op).is_some() {
            continue;
        }
        let Some(reader) = Program::of(eg, op, children) else {
            continue;
        };
        if reader.instrs.len() >= MAX_PROGRAM {
            continue;
        }
        for slot in reader.first_operand()..reader.children.len() {
            let x = reader.children[slot];
            if shared(eg, x) || !same_type(eg, x, id) || x == id {
                continue;
            }
            for (pop, pchildren) in ops(eg, x) {
                let Some(producer) = Program::of(eg, pop, pchildren) else {
                    continue;
                };
                if producer.instrs.len() + reader.instrs.len() > MAX_PROGRAM {
                    continue;
                }
                if let Some(p) = reader.inline(slot, &producer) {
                    if p.anchor.is_some() == anchored {
                        out.push(p.into_expr());
                    }
                }
            }
        }
    }
}
