//! Einsum equations: parsing, normalization and the type rule of [`crate::Op::Einsum`].

use super::{bail, Args, InferError, SymbolNamer};
use crate::graph::TensorType;
use crate::op::EinsumAttrs;
use crate::shape::{Dim, Shape};

/// One label of an einsum term.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum EinsumLabel {
    /// An ASCII letter.
    Letter(u8),
    /// `...`: the broadcast dims.
    Ellipsis,
}

/// A parsed einsum equation with an explicit output term.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EinsumEquation {
    /// The label terms of the operands.
    pub inputs: Vec<Vec<EinsumLabel>>,
    /// The label term of the result.
    pub output: Vec<EinsumLabel>,
}

/// Parses one term: letters and at most one `...`.
fn term(s: &str, what: &str) -> Result<Vec<EinsumLabel>, InferError> {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_alphabetic() {
            out.push(EinsumLabel::Letter(b[i]));
            i += 1;
        } else if b[i..].starts_with(b"...") {
            if out.contains(&EinsumLabel::Ellipsis) {
                bail!("einsum {what} `{s}` has more than one `...`");
            }
            out.push(EinsumLabel::Ellipsis);
            i += 3;
        } else {
            bail!("einsum {what} `{s}` has an unexpected character");
        }
    }
    Ok(out)
}

impl EinsumEquation {
    /// Parses an ONNX einsum equation (spaces allowed, the output optional). Without an
    /// output, the result has the ellipsis dims (when any operand has them) and then the
    /// letters that appear exactly once, in ASCII order.
    pub fn parse(equation: &str) -> Result<EinsumEquation, InferError> {
        let eq: String = equation.chars().filter(|c| !c.is_whitespace()).collect();
        let (lhs, rhs) = match eq.split_once("->") {
            Some((l, r)) => (l, Some(r)),
            None => (eq.as_str(), None),
        };
        let inputs = lhs
            .split(',')
            .map(|t| term(t, "operand term"))
            .collect::<Result<Vec<_>, _>>()?;
        let output = match rhs {
            Some(r) => {
                let out = term(r, "output term")?;
                for (k, l) in out.iter().enumerate() {
                    if out[..k].contains(l) {
                        bail!("einsum output term `{r}` repeats a label");
                    }
                    if let EinsumLabel::Letter(c) = l {
                        if !inputs.iter().flatten().any(|x| x == l) {
                            bail!("einsum output label `{}` is not in any operand", *c as char);
                        }
                    }
                }
                out
            }
            None => {
                let mut out = Vec::new();
                if inputs.iter().flatten().any(|l| *l == EinsumLabel::Ellipsis) {
                    out.push(EinsumLabel::Ellipsis);
                }
                for c in 0u8..128 {
                    let n = inputs
                        .iter()
                        .flatten()
                        .filter(|l| **l == EinsumLabel::Letter(c))
                        .count();
                    if n == 1 {
                        out.push(EinsumLabel::Letter(c));
                    }
                }
                out
            }
        };
        Ok(EinsumEquation { inputs, output })
    }

    /// The normalized text: terms without spaces and an explicit output.
    pub fn text(&self) -> String {
        let t = |labels: &[EinsumLabel]| -> String {
            labels
                .iter()
                .map(|l| match l {
                    EinsumLabel::Letter(c) => (*c as char).to_string(),
                    EinsumLabel::Ellipsis => "...".into(),
                })
                .collect()
        };
        let ins: Vec<String> = self.inputs.iter().map(|i| t(i)).collect();
        format!("{}->{}", ins.join(","), t(&self.output))
    }
}

/// The sizes an einsum's labels take for given operand shapes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EinsumDims {
    /// The size of each letter that appears, by letter.
    pub letters: Vec<(u8, Dim)>,
    /// The broadcast ellipsis dims.
    pub ellipsis: Vec<Dim>,
    /// How many dims the ellipsis covers in each operand.
    pub operand_ellipsis: Vec<usize>,
    /// The result's dims.
    pub output: Vec<Dim>,
}

impl EinsumDims {
    /// The size of letter `c`.
    pub fn letter(&self, c: u8) -> Option<&Dim> {
        self.letters.iter().find(|(l, _)| *l == c).map(|(_, d)| d)
    }
}

/// Two sizes of one label: equal, or one of them 1 (broadcast).
fn unify(a: &Dim, b: &Dim, what: &str, names: &mut SymbolNamer) -> Result<Dim, InferError> {
    Ok(match (a, b) {
        (Dim::Fixed(1), d) | (d, Dim::Fixed(1)) => d.clone(),
        (x, y) if x == y => x.clone(),
        (Dim::Fixed(n), Dim::Sym(_)) | (Dim::Sym(_), Dim::Fixed(n)) => Dim::Fixed(*n),
        (Dim::Sym(_), Dim::Sym(_)) => names.fresh(),
        (Dim::Fixed(x), Dim::Fixed(y)) => bail!("einsum {what} has sizes {x} and {y}"),
    })
}

/// The label sizes and result dims of `eq` applied to operands of dims `shapes`.
pub fn einsum_dims(eq: &EinsumEquation, shapes: &[&[Dim]], names: &mut SymbolNamer) -> Result<EinsumDims, InferError> {
    if shapes.len() != eq.inputs.len() {
        bail!(
            "einsum equation has {} operand terms for {} operands",
            eq.inputs.len(),
            shapes.len()
        );
    }
    let mut letters: Vec<(u8, Dim)> = Vec::new();
    let mut ellipsis: Vec<Dim> = Vec::new();
    let mut operand_ellipsis = Vec::with_capacity(shapes.len());
    for (k, (labels, dims)) in eq.inputs.iter().zip(shapes).enumerate() {
        let explicit = labels.iter().filter(|l| **l != EinsumLabel::Ellipsis).count();
        let has_ellipsis = labels.len() != explicit;
        if dims.len() < explicit || (!has_ellipsis && dims.len() != explicit) {
            bail!("einsum operand {k} has rank {} for {} labels", dims.len(), labels.len());
        }
        let ell = dims.len() - explicit;
        operand_ellipsis.push(ell);
        let mut axis = 0;
        for l in labels {
            match *l {
                EinsumLabel::Letter(c) => {
                    let d = &dims[axis];
                    match letters.iter_mut().find(|(x, _)| *x == c) {
                        Some((_, size)) => *size = unify(size, d, &format!("label `{}`", c as char), names)?,
                        None => letters.push((c, d.clone())),
                    }
                    axis += 1;
                }
                EinsumLabel::Ellipsis => {
                    let part = &dims[axis..axis + ell];
                    if part.len() > ellipsis.len() {
                        let mut grown = part[..part.len() - ellipsis.len()].to_vec();
                        grown.append(&mut ellipsis);
                        ellipsis = grown;
                    }
                    let lead = ellipsis.len() - part.len();
                    for (j, d) in part.iter().enumerate() {
                        ellipsis[lead + j] = unify(&ellipsis[lead + j], d, "`...`", names)?;
                    }
                    axis += ell;
                }
            }
        }
    }
    let mut output = Vec::new();
    for l in &eq.output {
        match *l {
            EinsumLabel::Letter(c) => match letters.iter().find(|(x, _)| *x == c) {
                Some((_, d)) => output.push(d.clone()),
                None => bail!("einsum output label `{}` is not in any operand", c as char),
            },
            EinsumLabel::Ellipsis => output.extend(ellipsis.iter().cloned()),
        }
    }
    Ok(EinsumDims {
        letters,
        ellipsis,
        operand_ellipsis,
        output,
    })
}

/// `Einsum`: every operand of one numeric dtype.
pub(super) fn einsum(e: &EinsumAttrs, args: &Args, names: &mut SymbolNamer) -> Result<TensorType, InferError> {
    let eq = EinsumEquation::parse(&e.equation)?;
    let ops: Vec<_> = (0..args.len()).map(|i| args.get(i)).collect::<Result<_, _>>()?;
    let Some(first) = ops.first() else {
        bail!("einsum needs at least one operand");
    };
    if ops.iter().any(|o| o.ty.dtype != first.ty.dtype) || !first.ty.dtype.is_numeric() {
        bail!("einsum operands must share a numeric dtype");
    }
    let shapes: Vec<&[Dim]> = ops.iter().map(|o| o.ty.shape.dims()).collect();
    let dims = einsum_dims(&eq, &shapes, names)?;
    Ok(TensorType::new(first.ty.dtype, Shape(dims.output)))
}

/// `Det`: `[..., n, n]` to `[...]`.
pub(super) fn det(args: &Args) -> Result<TensorType, InferError> {
    let x = args.get(0)?.ty;
    super::expect_float(x, "det input")?;
    let d = x.shape.dims();
    if d.len() < 2 {
        bail!("det needs rank 2 or more, got {x}");
    }
    if let (Dim::Fixed(a), Dim::Fixed(b)) = (&d[d.len() - 2], &d[d.len() - 1]) {
        if a != b {
            bail!("det needs square matrices, got {x}");
        }
    }
    Ok(TensorType::new(x.dtype, Shape(d[..d.len() - 2].to_vec())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_normalizes() {
        let eq = EinsumEquation::parse(" bij, bjk -> bik").unwrap();
        assert_eq!(eq.text(), "bij,bjk->bik");
        assert_eq!(EinsumEquation::parse("ij,jk").unwrap().text(), "ij,jk->ik");
        assert_eq!(EinsumEquation::parse("...ii->...i").unwrap().text(), "...ii->...i");
        assert_eq!(EinsumEquation::parse("b...a,Ba").unwrap().text(), "b...a,Ba->...Bb");
        assert_eq!(EinsumEquation::parse("->").unwrap().text(), "->");
        assert!(EinsumEquation::parse("i->j").is_err());
        assert!(EinsumEquation::parse("i.j").is_err());
        let mut n = SymbolNamer::new("t");
        let f = |v: &[usize]| v.iter().map(|&d| Dim::Fixed(d)).collect::<Vec<_>>();
        let (a, b) = (f(&[7, 2, 3]), f(&[3, 4]));
        let d = einsum_dims(&EinsumEquation::parse("...ij,jk").unwrap(), &[&a, &b], &mut n).unwrap();
        assert_eq!(d.output, f(&[7, 2, 4]));
        assert!(einsum_dims(&EinsumEquation::parse("ij,jk").unwrap(), &[&a, &b], &mut n).is_err());
    }
}
