//! The reference fused kernel: the anchor's reference kernel, then each instruction's,
//! so a fused node gives the bits of the nodes it replaced.

use lightos_ir::{FusedAttrs, FusedInstr, FusedSrc, Tensor};

use super::{elementwise, eval_op};
use crate::reference::{invalid, EvalError};

/// Evaluates a fused kernel on its operands.
pub(super) fn fused(f: &FusedAttrs, operands: &[Option<&Tensor>]) -> Result<Tensor, EvalError> {
    if let Err(e) = f.check_sources(operands.len()) {
        invalid!("{e}");
    }
    let anchor = match &f.anchor {
        Some(a) => {
            let count = a.operand_count().min(operands.len());
            eval_op(&a.op(), &operands[..count])?.pop()
        }
        None => None,
    };
    let mut temps: Vec<Tensor> = Vec::with_capacity(f.program.len());
    for instr in &f.program {
        let get = |s: FusedSrc| -> Result<&Tensor, EvalError> {
            match s {
                FusedSrc::Anchor => anchor
                    .as_ref()
                    .ok_or_else(|| EvalError::Invalid("no anchor result".into())),
                FusedSrc::Operand(k) => operands[k].ok_or_else(|| EvalError::Invalid(format!("operand {k} is absent"))),
                FusedSrc::Temp(t) => Ok(&temps[t]),
            }
        };
        let t = match *instr {
            FusedInstr::Unary { op, x } => elementwise::unary(op, get(x)?)?,
            FusedInstr::Binary { op, a, b } => elementwise::binary(op, get(a)?, get(b)?)?,
            FusedInstr::Clip { x, min, max } => {
                let min = min.map(get).transpose()?;
                let max = max.map(get).transpose()?;
                elementwise::clip(get(x)?, min, max)?
            }
        };
        temps.push(t);
    }
    match temps.pop().or(anchor) {
        Some(t) => Ok(t),
        None => invalid!("a fused kernel needs an anchor or a program"),
    }
}
