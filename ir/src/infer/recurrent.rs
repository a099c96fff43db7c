//! Type rule of the recurrent layers ([`crate::Op::Rnn`]).

use super::{bail, expect_float, Args, InferError};
use crate::graph::TensorType;
use crate::op::RnnAttrs;
use crate::shape::{Dim, Shape};

/// Checks that a fixed `dim` equals `want`; symbolic dims pass.
fn check_dim(dim: &Dim, want: usize, what: &str, ty: &TensorType) -> Result<(), InferError> {
    if let Some(n) = dim.fixed() {
        if n != want {
            bail!("{what} must be {want}, got {n} in {ty}");
        }
    }
    Ok(())
}

/// Two dims that must agree when both are fixed.
fn same_dim(a: &Dim, b: &Dim, what: &str) -> Result<(), InferError> {
    if let (Some(x), Some(y)) = (a.fixed(), b.fixed()) {
        if x != y {
            bail!("{what}: {x} and {y} differ");
        }
    }
    Ok(())
}

/// `Y, Y_h` (and `Y_c` for the LSTM) of a recurrent layer; see [`RnnAttrs`] for the
/// operand and result layouts.
pub(super) fn rnn(a: &RnnAttrs, args: &Args) -> Result<Vec<TensorType>, InferError> {
    let x = args.get(0)?.ty;
    let w = args.get(1)?.ty;
    let r = args.get(2)?.ty;
    expect_float(x, "rnn X")?;
    if x.rank() != 3 || w.rank() != 3 || r.rank() != 3 {
        bail!("{} needs X, W and R of rank 3, got {x}, {w} and {r}", a.cell.name());
    }
    for t in [w, r] {
        if t.dtype != x.dtype {
            bail!("{} weights must have X's dtype {}, got {t}", a.cell.name(), x.dtype);
        }
    }
    let dirs = a.direction.count();
    let h = a.hidden_size;
    let overflow = || InferError(format!("hidden size {h} overflows"));
    let gh = a.cell.gates().checked_mul(h).ok_or_else(overflow)?;
    let gh2 = gh.checked_mul(2).ok_or_else(overflow)?;
    let h3 = h.checked_mul(3).ok_or_else(overflow)?;
    if a.activations.len() != a.cell.activation_count() * dirs {
        bail!(
            "{} needs {} activations, got {}",
            a.cell.name(),
            a.cell.activation_count() * dirs,
            a.activations.len()
        );
    }
    let (seq, batch) = if a.batch_major {
        (x.shape.0[1].clone(), x.shape.0[0].clone())
    } else {
        (x.shape.0[0].clone(), x.shape.0[1].clone())
    };
    let input = x.shape.0[2].clone();
    check_dim(&w.shape.0[0], dirs, "W's direction dim", w)?;
    check_dim(&w.shape.0[1], gh, "W's gate dim", w)?;
    same_dim(&w.shape.0[2], &input, "W's input size and X's")?;
    check_dim(&r.shape.0[0], dirs, "R's direction dim", r)?;
    check_dim(&r.shape.0[1], gh, "R's gate dim", r)?;
    check_dim(&r.shape.0[2], h, "R's hidden dim", r)?;
    if let Some(b) = args.opt(3) {
        let b = b.ty;
        if b.dtype != x.dtype || b.rank() != 2 {
            bail!("{} B must be a rank-2 {} tensor, got {b}", a.cell.name(), x.dtype);
        }
        check_dim(&b.shape.0[0], dirs, "B's direction dim", b)?;
        check_dim(&b.shape.0[1], gh2, "B's bias dim", b)?;
    }
    if let Some(s) = args.opt(4) {
        let s = s.ty;
        if !s.dtype.is_int() || s.rank() != 1 {
            bail!(
                "{} sequence_lens must be a rank-1 integer tensor, got {s}",
                a.cell.name()
            );
        }
        same_dim(&s.shape.0[0], &batch, "sequence_lens and the batch size")?;
    }
    let state_dims = if a.batch_major {
        vec![batch.clone(), Dim::Fixed(dirs), Dim::Fixed(h)]
    } else {
        vec![Dim::Fixed(dirs), batch.clone(), Dim::Fixed(h)]
    };
    let is_lstm = a.cell.results() == 3;
    let mut states = vec![5];
    if is_lstm {
        states.push(6);
    }
    for i in states {
        if let Some(s) = args.opt(i) {
            let s = s.ty;
            if s.dtype != x.dtype || s.rank() != 3 {
                bail!(
                    "{} initial state must be a rank-3 {} tensor, got {s}",
                    a.cell.name(),
                    x.dtype
                );
            }
            for (d, want) in s.shape.0.iter().zip(&state_dims) {
                same_dim(d, want, "the initial state's dims")?;
            }
        }
    }
    if is_lstm {
        if let Some(p) = args.opt(7) {
            let p = p.ty;
            if p.dtype != x.dtype || p.rank() != 2 {
                bail!("lstm P must be a rank-2 {} tensor, got {p}", x.dtype);
            }
            check_dim(&p.shape.0[0], dirs, "P's direction dim", p)?;
            check_dim(&p.shape.0[1], h3, "P's peephole dim", p)?;
        }
    } else if args.len() > 6 {
        bail!("{} takes at most 6 operands, got {}", a.cell.name(), args.len());
    }
    if args.len() > 8 {
        bail!("lstm takes at most 8 operands, got {}", args.len());
    }
    let y_dims = if a.batch_major {
        vec![batch, seq, Dim::Fixed(dirs), Dim::Fixed(h)]
    } else {
        vec![seq, Dim::Fixed(dirs), batch, Dim::Fixed(h)]
    };
    let state = TensorType::new(x.dtype, Shape(state_dims));
    let mut out = vec![TensorType::new(x.dtype, Shape(y_dims)), state.clone()];
    if is_lstm {
        out.push(state);
    }
    Ok(out)
}
