//! Einstein summation (ONNX `Einsum`).
//!
//! Order of the numerical contract: the index variables are the result's axes (in
//! output order, the ellipsis expanded) and then the summed ones (letters missing from
//! the output in order of first appearance, then the ellipsis dims when the output has
//! no `...`). For each result element, in row-major order over the summed variables, the
//! term is the product of the operands' elements taken left to right
//! (`p = x0 * x1 * ...`, each step rounded); the terms accumulate from zero in order,
//! `acc = acc + p`, like a dot product. Without summed variables the single term is the
//! result. Floats compute in the compute type (`f16` and `bf16` in `f32`, rounded once at
//! the end); integers wrap. A repeated letter in one operand takes its diagonal; size-1
//! axes broadcast.

use lightos_ir::infer::{einsum_dims, EinsumEquation, EinsumLabel, SymbolNamer};
use lightos_ir::op::EinsumAttrs;
use lightos_ir::{Dim, Element, Tensor};

use super::scalar::{elems, with_float, with_int, FloatElem};
use crate::reference::accumulate::Accum;
use crate::reference::{invalid, EvalError};

/// An index variable of the summation.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Var {
    /// A letter.
    Letter(u8),
    /// Broadcast ellipsis dim `p`.
    Ell(usize),
}

/// The walk of an einsum: variable sizes and each operand's stride per variable.
struct Plan {
    /// Sizes of the result's variables, then of the summed ones.
    sizes: Vec<usize>,
    /// How many leading variables are the result's.
    out_vars: usize,
    /// Per operand, the element stride of each variable (0 where it does not appear or
    /// broadcasts).
    strides: Vec<Vec<usize>>,
    /// The result's dims.
    out_dims: Vec<usize>,
}

/// Works out the variables and strides of `e` for operands of dims `shapes`.
fn plan(e: &EinsumAttrs, shapes: &[&[usize]]) -> Result<Plan, EvalError> {
    let eq = EinsumEquation::parse(&e.equation)?;
    let dims: Vec<Vec<Dim>> = shapes
        .iter()
        .map(|s| s.iter().map(|&d| Dim::Fixed(d)).collect())
        .collect();
    let refs: Vec<&[Dim]> = dims.iter().map(|d| d.as_slice()).collect();
    let sized = einsum_dims(&eq, &refs, &mut SymbolNamer::new("einsum"))?;
    let fixed = |d: &Dim| {
        d.fixed()
            .ok_or_else(|| EvalError::Invalid("einsum size is not fixed".into()))
    };
    let ell: Vec<usize> = sized.ellipsis.iter().map(fixed).collect::<Result<_, _>>()?;
    let mut vars: Vec<Var> = Vec::new();
    for l in &eq.output {
        match *l {
            EinsumLabel::Letter(c) => vars.push(Var::Letter(c)),
            EinsumLabel::Ellipsis => vars.extend((0..ell.len()).map(Var::Ell)),
        }
    }
    let out_vars = vars.len();
    for l in eq.inputs.iter().flatten() {
        if let EinsumLabel::Letter(c) = *l {
            if !vars.contains(&Var::Letter(c)) {
                vars.push(Var::Letter(c));
            }
        }
    }
    for p in 0..ell.len() {
        if !vars.contains(&Var::Ell(p)) {
            vars.push(Var::Ell(p));
        }
    }
    let size_of = |v: &Var| -> Result<usize, EvalError> {
        match *v {
            Var::Letter(c) => fixed(
                sized
                    .letter(c)
                    .ok_or_else(|| EvalError::Invalid("einsum label has no size".into()))?,
            ),
            Var::Ell(p) => Ok(ell[p]),
        }
    };
    let sizes: Vec<usize> = vars.iter().map(size_of).collect::<Result<_, _>>()?;
    let mut strides = Vec::with_capacity(shapes.len());
    for (k, (labels, shape)) in eq.inputs.iter().zip(shapes).enumerate() {
        let own = lightos_ir::shape::strides(shape);
        let mut s = vec![0usize; vars.len()];
        let ell_k = sized.operand_ellipsis[k];
        let mut axis = 0;
        let mut add = |var: Var, axis: usize| -> Result<(), EvalError> {
            let Some(v) = vars.iter().position(|x| *x == var) else {
                invalid!("einsum variable {var:?} is missing");
            };
            if shape[axis] != 1 || sizes[v] == 1 {
                if shape[axis] != sizes[v] {
                    invalid!(
                        "einsum operand {k} axis {axis} has size {}, expected {}",
                        shape[axis],
                        sizes[v]
                    );
                }
                s[v] += own[axis];
            }
            Ok(())
        };
        for l in labels {
            match *l {
                EinsumLabel::Letter(c) => {
                    add(Var::Letter(c), axis)?;
                    axis += 1;
                }
                EinsumLabel::Ellipsis => {
                    for q in 0..ell_k {
                        add(Var::Ell(ell.len() - ell_k + q), axis)?;
                        axis += 1;
                    }
                }
            }
        }
        strides.push(s);
    }
    let out_dims = sizes[..out_vars].to_vec();
    Ok(Plan {
        sizes,
        out_vars,
        strides,
        out_dims,
    })
}

/// The element count of `dims`, or an error when it overflows.
fn numel(dims: &[usize]) -> Result<usize, EvalError> {
    match dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d)) {
        Some(n) => Ok(n),
        None => invalid!("einsum shape {dims:?} overflows"),
    }
}

/// Runs the summation of `p` over operand values `xs` (see the module docs).
fn contract<A: Copy>(
    p: &Plan,
    xs: &[Vec<A>],
    zero: A,
    mul: impl Fn(A, A) -> A,
    add: impl Fn(A, A) -> A,
) -> Result<Vec<A>, EvalError> {
    let total = numel(&p.out_dims)?;
    let inner_sizes = &p.sizes[p.out_vars..];
    let inner = numel(inner_sizes)?;
    let mut out = Vec::with_capacity(total);
    let nv = p.sizes.len();
    let mut idx = vec![0usize; nv];
    let offset = |k: usize, idx: &[usize]| -> usize { idx.iter().zip(&p.strides[k]).map(|(i, s)| i * s).sum() };
    let term = |idx: &[usize]| -> A {
        let mut t = xs[0][offset(0, idx)];
        for (k, x) in xs.iter().enumerate().skip(1) {
            t = mul(t, x[offset(k, idx)]);
        }
        t
    };
    for o in 0..total {
        let mut rem = o;
        for v in (0..p.out_vars).rev() {
            idx[v] = rem % p.sizes[v];
            rem /= p.sizes[v];
        }
        if p.out_vars == nv {
            out.push(term(&idx));
            continue;
        }
        let mut acc = zero;
        for i in 0..inner {
            let mut rem = i;
            for v in (p.out_vars..nv).rev() {
                idx[v] = rem % p.sizes[v];
                rem /= p.sizes[v];
            }
            acc = add(acc, term(&idx));
        }
        out.push(acc);
    }
    Ok(out)
}

/// ONNX `Einsum`.
pub(crate) fn einsum(e: &EinsumAttrs, operands: &[&Tensor]) -> Result<Tensor, EvalError> {
    let Some(first) = operands.first() else {
        invalid!("einsum needs at least one operand");
    };
    let dt = first.dtype();
    if operands.iter().any(|t| t.dtype() != dt) {
        invalid!("einsum operands differ in dtype");
    }
    let shapes: Vec<&[usize]> = operands.iter().map(|t| t.dims()).collect();
    let p = plan(e, &shapes)?;
    with_float!(dt, E => float_einsum::<E>(&p, operands),
        _ => with_int!(dt, I => int_einsum::<I>(&p, operands),
        _ => Err(EvalError::UnsupportedDType { op: "Einsum".into(), dtype: dt })))
}

/// [`einsum`] of floats, in the compute type.
fn float_einsum<E: FloatElem>(p: &Plan, operands: &[&Tensor]) -> Result<Tensor, EvalError> {
    let mut xs: Vec<Vec<E::C>> = Vec::with_capacity(operands.len());
    for t in operands {
        xs.push(elems::<E>(t)?.iter().map(|v| v.widen()).collect());
    }
    let out = contract(p, &xs, <E::C as Accum>::ZERO, |a, b| a * b, |a, b| a + b)?;
    Ok(Tensor::from_vec(
        p.out_dims.clone(),
        out.into_iter().map(E::narrow).collect::<Vec<E>>(),
    )?)
}

/// [`einsum`] of integers, wrapping.
fn int_einsum<I: WrapInt>(p: &Plan, operands: &[&Tensor]) -> Result<Tensor, EvalError> {
    let mut xs: Vec<Vec<I>> = Vec::with_capacity(operands.len());
    for t in operands {
        xs.push(elems::<I>(t)?.to_vec());
    }
    let out = contract(p, &xs, I::zero(), I::wrapping_mul, I::wrapping_add)?;
    Ok(Tensor::from_vec(p.out_dims.clone(), out)?)
}

/// Wrapping integer arithmetic for [`einsum`].
trait WrapInt: Element {
    /// `self * o`, wrapping.
    fn wrapping_mul(self, o: Self) -> Self;
    /// `self + o`, wrapping.
    fn wrapping_add(self, o: Self) -> Self;
    /// Zero.
    fn zero() -> Self;
}

/// Implements [`WrapInt`] for the integer types.
macro_rules! wrap_int {
    ($($t:ty),*) => {$(
        impl WrapInt for $t {
            fn wrapping_mul(self, o: Self) -> Self { <$t>::wrapping_mul(self, o) }
            fn wrapping_add(self, o: Self) -> Self { <$t>::wrapping_add(self, o) }
            fn zero() -> Self { 0 }
        }
    )*};
}
wrap_int!(i8, i16, i32, i64, u8, u16, u32, u64);

#[cfg(test)]
mod tests {
    use super::*;

    /// An `f32` tensor.
    fn t(dims: &[usize], v: &[f32]) -> Tensor {
        Tensor::from_vec(dims.to_vec(), v.to_vec()).unwrap()
    }

    /// Einsum of `eq` (normalized here).
    fn run(eq: &str, ops: &[&Tensor]) -> Tensor {
        let equation = EinsumEquation::parse(eq).unwrap().text();
        einsum(&EinsumAttrs { equation }, ops).unwrap()
    }

    #[test]
    fn einsum_forms() {
        let a = t(&[2, 2], &[1., 2., 3., 4.]);
        let b = t(&[2, 2], &[5., 6., 7., 8.]);
        // Matrix product: [[19, 22], [43, 50]].
        assert_eq!(
            run("ij,jk", &[&a, &b]).as_slice::<f32>().unwrap(),
            &[19., 22., 43., 50.]
        );
        assert_eq!(run("ij->ji", &[&a]).as_slice::<f32>().unwrap(), &[1., 3., 2., 4.]);
        assert_eq!(run("ii->i", &[&a]).as_slice::<f32>().unwrap(), &[1., 4.]);
        assert_eq!(run("ij->", &[&a]).as_slice::<f32>().unwrap(), &[10.]);
        assert_eq!(run("ij->i", &[&a]).as_slice::<f32>().unwrap(), &[3., 7.]);
        // Ellipsis broadcasting: [2, 2] x [2] over the leading dims.
        let v = t(&[2], &[1., -1.]);
        assert_eq!(run("...j,j->...", &[&a, &v]).as_slice::<f32>().unwrap(), &[-1., -1.]);
        let xi = Tensor::from_vec(vec![3], vec![1i32, 2, 3]).unwrap();
        assert_eq!(run("i,i", &[&xi, &xi]).as_slice::<i32>().unwrap(), &[14]);
        let bad = EinsumAttrs {
            equation: "ij,jk->ik".into(),
        };
        assert!(einsum(&bad, &[&a, &v]).is_err());
    }
}
