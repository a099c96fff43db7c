//! Fused kernels: an optional anchor (a convolution or a matrix product) followed by an
//! elementwise program, all computed in one kernel.
//!
//! The program is a list of instructions. Instruction `i` defines the temporary `t<i>`;
//! the kernel's result is the last temporary, or the anchor's result when the program is
//! empty. Sources are `acc` (the anchor's result), `in<k>` (node operand `k`, which comes
//! after the anchor's operands) and earlier temporaries. Every source broadcasts to the
//! result's shape, so an instruction computes exactly what its unfused node computes on
//! each element.
//!
//! In the text format the program is one string, for example
//! `"add(acc, in3); relu(t0)"` or `"leaky_relu{alpha = 0.1}(acc)"`.

use super::{names, BinaryOp, ConvAttrs, GemmAttrs, Op, UnaryOp};
use crate::op::names::AttrValue;

/// The op a fused kernel computes before its program.
#[derive(Clone, Debug, PartialEq)]
pub enum FusedAnchor {
    /// A convolution; operands `X, W, B?`.
    Conv(ConvAttrs),
    /// A general matrix product; operands `A, B, C?`.
    Gemm(GemmAttrs),
    /// A batched matrix product; operands `A, B`.
    MatMul,
}

impl FusedAnchor {
    /// The unfused op.
    pub fn op(&self) -> Op {
        match self {
            FusedAnchor::Conv(c) => Op::Conv(c.clone()),
            FusedAnchor::Gemm(g) => Op::Gemm(*g),
            FusedAnchor::MatMul => Op::MatMul,
        }
    }

    /// The anchor of `op`, when it can anchor a fused kernel.
    pub fn of(op: &Op) -> Option<FusedAnchor> {
        match op {
            Op::Conv(c) => Some(FusedAnchor::Conv(c.clone())),
            Op::Gemm(g) => Some(FusedAnchor::Gemm(*g)),
            Op::MatMul => Some(FusedAnchor::MatMul),
            _ => None,
        }
    }

    /// How many operand slots the anchor takes (optional ones included).
    pub fn operand_count(&self) -> usize {
        match self {
            FusedAnchor::Conv(_) | FusedAnchor::Gemm(_) => 3,
            FusedAnchor::MatMul => 2,
        }
    }
}

/// Where an instruction reads a value from.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FusedSrc {
    /// The anchor's result.
    Anchor,
    /// Node operand `k`.
    Operand(usize),
    /// The result of instruction `i`.
    Temp(usize),
}

/// One elementwise instruction of a fused program.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum FusedInstr {
    /// A unary function.
    Unary {
        /// The function.
        op: UnaryOp,
        /// Its argument.
        x: FusedSrc,
    },
    /// A binary function, broadcast.
    Binary {
        /// The function.
        op: BinaryOp,
        /// Left argument.
        a: FusedSrc,
        /// Right argument.
        b: FusedSrc,
    },
    /// Clamping to scalar bounds.
    Clip {
        /// The value.
        x: FusedSrc,
        /// Lower bound (a scalar), if any.
        min: Option<FusedSrc>,
        /// Upper bound (a scalar), if any.
        max: Option<FusedSrc>,
    },
}

impl FusedInstr {
    /// The sources read, in order (absent clip bounds left out).
    pub fn sources(&self) -> Vec<FusedSrc> {
        match *self {
            FusedInstr::Unary { x, .. } => vec![x],
            FusedInstr::Binary { a, b, .. } => vec![a, b],
            FusedInstr::Clip { x, min, max } => [Some(x), min, max].into_iter().flatten().collect(),
        }
    }

    /// The unfused op this instruction computes.
    pub fn op(&self) -> Op {
        match *self {
            FusedInstr::Unary { op, .. } => Op::Unary(op),
            FusedInstr::Binary { op, .. } => Op::Binary(op),
            FusedInstr::Clip { .. } => Op::Clip,
        }
    }

    /// The sources in the unfused op's operand slots (`None` for an absent bound).
    pub fn operand_slots(&self) -> Vec<Option<FusedSrc>> {
        match *self {
            FusedInstr::Unary { x, .. } => vec![Some(x)],
            FusedInstr::Binary { a, b, .. } => vec![Some(a), Some(b)],
            FusedInstr::Clip { x, min, max } => vec![Some(x), min, max],
        }
    }
}

/// Attributes of [`Op::Fused`].
#[derive(Clone, Debug, PartialEq)]
pub struct FusedAttrs {
    /// The op computed first, read by the program as `acc`; `None` for a kernel that is
    /// only an elementwise program.
    pub anchor: Option<FusedAnchor>,
    /// The elementwise program.
    pub program: Vec<FusedInstr>,
}

impl FusedAttrs {
    /// The first operand slot after the anchor's.
    pub fn first_program_operand(&self) -> usize {
        self.anchor.as_ref().map_or(0, FusedAnchor::operand_count)
    }

    /// Checks that every source exists: `acc` only with an anchor, operands past the
    /// anchor's and below `operand_count`, temporaries defined earlier.
    pub fn check_sources(&self, operand_count: usize) -> Result<(), String> {
        let first = self.first_program_operand();
        if self.anchor.is_none() && self.program.is_empty() {
            return Err("a fused kernel without an anchor needs a program".into());
        }
        for (i, instr) in self.program.iter().enumerate() {
            for s in instr.sources() {
                match s {
                    FusedSrc::Anchor if self.anchor.is_none() => {
                        return Err(format!("instruction {i} reads `acc`, but the kernel has no anchor"))
                    }
                    FusedSrc::Operand(k) if k < first || k >= operand_count => {
                        return Err(format!(
                            "instruction {i} reads `in{k}`, but program operands are {first}..{operand_count}"
                        ))
                    }
                    FusedSrc::Temp(t) if t >= i => {
                        return Err(format!("instruction {i} reads `t{t}` before it is defined"))
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }

    /// The program as text, e.g. `add(acc, in3); relu(t0)`.
    pub fn program_text(&self) -> String {
        let parts: Vec<String> = self.program.iter().map(instr_text).collect();
        parts.join("; ")
    }

    /// Parses a program written by [`FusedAttrs::program_text`].
    pub fn parse_program(text: &str) -> Result<Vec<FusedInstr>, String> {
        if text.trim().is_empty() {
            return Ok(Vec::new());
        }
        text.split(';')
            .enumerate()
            .map(|(i, part)| {
                parse_instr(part.trim()).map_err(|e| format!("fused instruction {i} `{}`: {e}", part.trim()))
            })
            .collect()
    }
}

fn src_text(s: FusedSrc) -> String {
    match s {
        FusedSrc::Anchor => "acc".into(),
        FusedSrc::Operand(k) => format!("in{k}"),
        FusedSrc::Temp(t) => format!("t{t}"),
    }
}

fn float_text(f: f32) -> String {
    if f.is_nan() {
        "nan".into()
    } else if f.is_infinite() {
        if f > 0.0 { "inf" } else { "-inf" }.into()
    } else {
        format!("{f:?}")
    }
}

fn instr_text(instr: &FusedInstr) -> String {
    let (name, attrs) = names::encode(&instr.op());
    let mut out = name.to_string();
    if !attrs.is_empty() {
        let parts: Vec<String> = attrs
            .iter()
            .map(|(k, v)| match v {
                AttrValue::Float(f) => format!("{k} = {}", float_text(*f)),
                AttrValue::Bool(b) => format!("{k} = {b}"),
                AttrValue::Int(i) => format!("{k} = {i}"),
                other => format!("{k} = {other:?}"),
            })
            .collect();
        out.push('{');
        out.push_str(&parts.join(", "));
        out.push('}');
    }
    let args: Vec<String> = instr
        .operand_slots()
        .into_iter()
        .map(|s| s.map_or_else(|| "_".to_string(), src_text))
        .collect();
    out.push('(');
    out.push_str(&args.join(", "));
    out.push(')');
    out
}

fn parse_src(s: &str) -> Result<FusedSrc, String> {
    let number = |digits: &str| digits.parse::<usize>().map_err(|_| format!("bad source `{s}`"));
    if s == "acc" {
        Ok(FusedSrc::Anchor)
    } else if let Some(k) = s.strip_prefix("in") {
        number(k).map(FusedSrc::Operand)
    } else if let Some(t) = s.strip_prefix('t') {
        number(t).map(FusedSrc::Temp)
    } else {
        Err(format!("bad source `{s}`; sources are acc, in<k> and t<i>"))
    }
}

fn parse_attr_value(v: &str) -> Result<AttrValue, String> {
    match v {
        "true" => Ok(AttrValue::Bool(true)),
        "false" => Ok(AttrValue::Bool(false)),
        "nan" => Ok(AttrValue::Float(f32::NAN)),
        "inf" => Ok(AttrValue::Float(f32::INFINITY)),
        "-inf" => Ok(AttrValue::Float(f32::NEG_INFINITY)),
        _ => v
            .parse::<f32>()
            .map(AttrValue::Float)
            .map_err(|_| format!("bad attribute value `{v}`")),
    }
}

fn parse_instr(text: &str) -> Result<FusedInstr, String> {
    let open = text.find('(').ok_or("expected `(`")?;
    let body = text[open + 1..].strip_suffix(')').ok_or("expected `)` at the end")?;
    let head = &text[..open];
    let (name, attrs) = match head.find('{') {
        Some(b) => {
            let inner = head[b + 1..].trim_end().strip_suffix('}').ok_or("expected `}`")?;
            let mut attrs = Vec::new();
            for item in inner.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                let (k, v) = item.split_once('=').ok_or_else(|| format!("bad attribute `{item}`"))?;
                attrs.push((k.trim().to_string(), parse_attr_value(v.trim())?));
            }
            (head[..b].trim(), attrs)
        }
        None => (head.trim(), Vec::new()),
    };
    let args: Vec<Option<FusedSrc>> = body
        .split(',')
        .map(str::trim)
        .map(|a| if a == "_" { Ok(None) } else { parse_src(a).map(Some) })
        .collect::<Result<_, _>>()?;
    let arg = |i: usize| -> Result<FusedSrc, String> {
        args.get(i)
            .copied()
            .flatten()
            .ok_or_else(|| format!("`{name}` needs argument {i}"))
    };
    let arity = |n: usize| -> Result<(), String> {
        if args.len() == n {
            Ok(())
        } else {
            Err(format!("`{name}` takes {n} arguments, got {}", args.len()))
        }
    };
    match names::decode(name, attrs)? {
        Op::Unary(op) => {
            arity(1)?;
            Ok(FusedInstr::Unary { op, x: arg(0)? })
        }
        Op::Binary(op) => {
            arity(2)?;
            Ok(FusedInstr::Binary {
                op,
                a: arg(0)?,
                b: arg(1)?,
            })
        }
        Op::Clip => {
            arity(3)?;
            Ok(FusedInstr::Clip {
                x: arg(0)?,
                min: args[1],
                max: args[2],
            })
        }
        _ => Err(format!("`{name}` is not an elementwise op")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn program_text_round_trips() {
        let program = vec![
            FusedInstr::Binary {
                op: BinaryOp::Add,
                a: FusedSrc::Anchor,
                b: FusedSrc::Operand(3),
            },
            FusedInstr::Unary {
                op: UnaryOp::LeakyRelu { alpha: 0.1 },
                x: FusedSrc::Temp(0),
            },
            FusedInstr::Clip {
                x: FusedSrc::Temp(1),
                min: None,
                max: Some(FusedSrc::Operand(4)),
            },
            FusedInstr::Unary {
                op: UnaryOp::Gelu { tanh: true },
                x: FusedSrc::Temp(2),
            },
        ];
        let attrs = FusedAttrs {
            anchor: Some(FusedAnchor::MatMul),
            program,
        };
        let text = attrs.program_text();
        assert_eq!(
            text,
            "add(acc, in3); leaky_relu{alpha = 0.1}(t0); clip(t1, _, in4); gelu{tanh = true}(t2)"
        );
        assert_eq!(FusedAttrs::parse_program(&text).unwrap(), attrs.program);
        assert_eq!(attrs.check_sources(5), Ok(()));
        assert!(attrs.check_sources(4).unwrap_err().contains("in4"));
    }

    #[test]
    fn bad_programs_are_rejected_with_the_instruction() {
        let e = FusedAttrs::parse_program("relu(acc); conv(t0)").unwrap_err();
        assert!(e.contains("instruction 1"), "{e}");
        let e = FusedAttrs::parse_program("add(acc)").unwrap_err();
        assert!(e.contains("takes 2 arguments"), "{e}");
        let e = FusedAttrs::parse_program("relu(x7)").unwrap_err();
        assert!(e.contains("bad source"), "{e}");
        let attrs = FusedAttrs {
            anchor: None,
            program: FusedAttrs::parse_program("relu(t0)").unwrap(),
        };
        assert!(attrs.check_sources(1).unwrap_err().contains("before it is defined"));
    }
}
