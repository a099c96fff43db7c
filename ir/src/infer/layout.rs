//! Type rules of shape and data-movement ops, and the index arithmetic they share with
//! the interpreters.

use super::elementwise::broadcast;
use super::{bail, Args, InferError, SymbolNamer};
use crate::graph::TensorType;
use crate::op::{ReshapeAttrs, ShapeAttrs, SplitAttrs, TopKAttrs};
use crate::shape::{Dim, Shape};
use crate::tensor::Tensor;
use crate::DType;

/// Normalizes a possibly negative axis for a tensor of `rank`.
pub fn normalize_axis(axis: i64, rank: usize) -> Result<usize, InferError> {
    let r = rank as i64;
    if axis < -r || axis >= r.max(1) {
        bail!("axis {axis} is out of range for rank {rank}");
    }
    Ok(if axis < 0 { (axis + r) as usize } else { axis as usize })
}

/// Normalizes axes and refuses repeats.
pub fn normalize_axes(axes: &[i64], rank: usize) -> Result<Vec<usize>, InferError> {
    let mut out = Vec::with_capacity(axes.len());
    for &a in axes {
        let n = normalize_axis(a, rank)?;
        if out.contains(&n) {
            bail!("axis {a} is repeated");
        }
        out.push(n);
    }
    Ok(out)
}

/// Resolves a reshape target (with ONNX's `0` and `-1` rules) against input dims.
///
/// With symbolic input dims, a `-1` resolves when the symbolic factors of the input and
/// the target cancel; otherwise `fresh` names it.
pub fn resolve_reshape(
    input: &[Dim],
    target: &[i64],
    allowzero: bool,
    fresh: &mut dyn FnMut() -> Dim,
) -> Result<Vec<Dim>, InferError> {
    let mut out = Vec::with_capacity(target.len());
    let mut infer_at = None;
    for (i, &t) in target.iter().enumerate() {
        match t {
            -1 => {
                if infer_at.replace(i).is_some() {
                    bail!("reshape target {target:?} has more than one -1");
                }
                out.push(Dim::Fixed(1));
            }
            0 if !allowzero => match input.get(i) {
                Some(d) => out.push(d.clone()),
                None => bail!("reshape target {target:?} copies axis {i} the input does not have"),
            },
            t if t >= 0 => out.push(Dim::Fixed(t as usize)),
            _ => bail!("reshape target {target:?} has a negative size"),
        }
    }
    let (in_fixed, mut in_syms) = factor(input)?;
    let (out_fixed, out_syms) = factor(&out)?;
    match infer_at {
        None => {
            if in_syms.is_empty() && out_syms.is_empty() && in_fixed != out_fixed {
                bail!("cannot reshape {} elements to {target:?}", in_fixed);
            }
        }
        Some(i) => {
            let mut cancelled = true;
            for s in &out_syms {
                match in_syms.iter().position(|x| x == s) {
                    Some(p) => {
                        in_syms.remove(p);
                    }
                    None => cancelled = false,
                }
            }
            out[i] = if !cancelled || in_syms.len() > 1 {
                fresh()
            } else if out_fixed == 0 || in_fixed % out_fixed != 0 {
                if in_syms.is_empty() {
                    bail!("cannot reshape {} elements to {target:?}", in_fixed);
                }
                fresh()
            } else {
                let n = in_fixed / out_fixed;
                match in_syms.pop() {
                    None => Dim::Fixed(n),
                    Some(s) if n == 1 => Dim::Sym(s),
                    Some(_) => fresh(),
                }
            };
        }
    }
    Ok(out)
}

/// The product of the fixed dims, and the symbols.
fn factor(dims: &[Dim]) -> Result<(usize, Vec<String>), InferError> {
    let mut n = 1usize;
    let mut syms = Vec::new();
    for d in dims {
        match d {
            Dim::Fixed(x) => {
                n = n
                    .checked_mul(*x)
                    .ok_or_else(|| InferError("reshape size overflows".into()))?
            }
            Dim::Sym(s) => syms.push(s.clone()),
        }
    }
    Ok((n, syms))
}

/// Resolved bounds of one sliced axis.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct SliceBounds {
    /// First index.
    pub start: i64,
    /// Step (non-zero).
    pub step: i64,
    /// Number of elements taken.
    pub count: usize,
}

/// Clamps ONNX slice parameters to an axis of size `dim`.
pub fn slice_bounds(dim: usize, start: i64, end: i64, step: i64) -> Result<SliceBounds, InferError> {
    if step == 0 {
        bail!("slice step is 0");
    }
    let d = dim as i64;
    let adjust = |v: i64| if v < 0 { v.saturating_add(d) } else { v };
    let (start, end) = (adjust(start), adjust(end));
    let (start, end) = if step > 0 {
        (start.clamp(0, d), end.clamp(0, d))
    } else {
        (start.clamp(-1, d - 1), end.clamp(-1, d - 1))
    };
    let count = if step > 0 {
        if end > start {
            (end - start - 1) / step + 1
        } else {
            0
        }
    } else if start > end {
        (start - end - 1) / (-step) + 1
    } else {
        0
    };
    Ok(SliceBounds {
        start,
        step,
        count: count as usize,
    })
}

pub(super) fn reshape(r: &ReshapeAttrs, args: &Args, names: &mut SymbolNamer) -> Result<TensorType, InferError> {
    let x = args.get(0)?.ty;
    let shape = args.get(1)?;
    if shape.ty.rank() != 1 || shape.ty.dtype != DType::I64 {
        bail!("reshape target must be a rank-1 i64 tensor, got {}", shape.ty);
    }
    let dims = match args.const_ints(1)? {
        Some(target) => resolve_reshape(&x.shape.0, &target, r.allowzero, &mut || names.fresh())?,
        None => match shape.ty.shape.0[0].fixed() {
            Some(n) => (0..n).map(|_| names.fresh()).collect(),
            None => bail!("reshape target {} has no fixed length", shape.ty),
        },
    };
    Ok(TensorType::new(x.dtype, Shape(dims)))
}

fn product(dims: &[Dim], names: &mut SymbolNamer) -> Dim {
    let mut n = 1usize;
    let mut sym = None;
    for d in dims {
        match d {
            Dim::Fixed(x) => n = n.saturating_mul(*x),
            Dim::Sym(s) => {
                if sym.is_some() {
                    return names.fresh();
                }
                sym = Some(s.clone());
            }
        }
    }
    match sym {
        None => Dim::Fixed(n),
        Some(s) if n == 1 => Dim::Sym(s),
        Some(_) => names.fresh(),
    }
}

pub(super) fn flatten(axis: usize, args: &Args, names: &mut SymbolNamer) -> Result<TensorType, InferError> {
    let x = args.get(0)?.ty;
    if axis > x.rank() {
        bail!("flatten axis {axis} is out of range for {x}");
    }
    let outer = product(&x.shape.0[..axis], names);
    let inner = product(&x.shape.0[axis..], names);
    Ok(TensorType::new(x.dtype, Shape(vec![outer, inner])))
}

pub(super) fn squeeze(args: &Args) -> Result<TensorType, InferError> {
    let x = args.get(0)?.ty;
    let axes = match args.const_ints(1)? {
        Some(a) => normalize_axes(&a, x.rank())?,
        None if args.opt(1).is_some() => bail!("squeeze axes must be constant"),
        None => {
            let mut axes = Vec::new();
            for (i, d) in x.shape.0.iter().enumerate() {
                match d {
                    Dim::Fixed(1) => axes.push(i),
                    Dim::Sym(_) => bail!("squeeze without axes needs fixed dims, got {x}"),
                    _ => {}
                }
            }
            axes
        }
    };
    let mut out = Vec::new();
    for (i, d) in x.shape.0.iter().enumerate() {
        if axes.contains(&i) {
            if let Dim::Fixed(n) = d {
                if *n != 1 {
                    bail!("squeeze axis {i} of {x} has size {n}, not 1");
                }
            }
        } else {
            out.push(d.clone());
        }
    }
    Ok(TensorType::new(x.dtype, Shape(out)))
}

/// `Unsqueeze`. With axes known only at run time the rank still follows from their
/// count, but which dims are the new ones does not: every dim is then a fresh symbol
/// (or 1 when every input dim is 1).
pub(super) fn unsqueeze(args: &Args, names: &mut SymbolNamer) -> Result<TensorType, InferError> {
    let x = args.get(0)?.ty;
    let Some(axes) = args.const_ints(1)? else {
        let a = args.get(1)?.ty;
        let count = match a.shape.dims() {
            [Dim::Fixed(n)] => *n,
            _ => bail!("unsqueeze axes must be constant or rank 1 of fixed length, got {a}"),
        };
        let Some(rank) = x.rank().checked_add(count) else {
            bail!("unsqueeze rank overflows");
        };
        let ones = x.shape.0.iter().all(|d| *d == Dim::Fixed(1));
        let out = (0..rank)
            .map(|_| if ones { Dim::Fixed(1) } else { names.fresh() })
            .collect();
        return Ok(TensorType::new(x.dtype, Shape(out)));
    };
    let rank = x.rank() + axes.len();
    let axes = normalize_axes(&axes, rank)?;
    let mut rest = x.shape.0.iter();
    let out = (0..rank)
        .map(|i| {
            if axes.contains(&i) {
                Dim::Fixed(1)
            } else {
                rest.next().cloned().unwrap_or(Dim::Fixed(1))
            }
        })
        .collect();
    Ok(TensorType::new(x.dtype, Shape(out)))
}

pub(super) fn transpose(perm: &[usize], args: &Args) -> Result<TensorType, InferError> {
    let x = args.get(0)?.ty;
    let mut seen = vec![false; x.rank()];
    if perm.len() != x.rank() {
        bail!("transpose perm {perm:?} does not fit {x}");
    }
    for &p in perm {
        if p >= x.rank() || std::mem::replace(&mut seen[p], true) {
            bail!("transpose perm {perm:?} is not a permutation of {} axes", x.rank());
        }
    }
    Ok(TensorType::new(
        x.dtype,
        Shape(perm.iter().map(|&p| x.shape.0[p].clone()).collect()),
    ))
}

pub(super) fn concat(axis: usize, args: &Args, names: &mut SymbolNamer) -> Result<TensorType, InferError> {
    let first = args.get(0)?.ty;
    if axis >= first.rank() {
        bail!("concat axis {axis} is out of range for {first}");
    }
    let mut total = Some(0usize);
    for o in args.present() {
        if o.ty.dtype != first.dtype || o.ty.rank() != first.rank() {
            bail!("concat operands differ: {first} and {}", o.ty);
        }
        for (i, (a, b)) in first.shape.0.iter().zip(&o.ty.shape.0).enumerate() {
            if i != axis {
                if let (Dim::Fixed(x), Dim::Fixed(y)) = (a, b) {
                    if x != y {
                        bail!("concat operands differ off the axis: {first} and {}", o.ty);
                    }
                }
            }
        }
        total = match (total, &o.ty.shape.0[axis]) {
            (Some(t), Dim::Fixed(n)) => t.checked_add(*n),
            _ => None,
        };
    }
    let mut dims = first.shape.0.clone();
    dims[axis] = total.map(Dim::Fixed).unwrap_or_else(|| names.fresh());
    Ok(TensorType::new(first.dtype, Shape(dims)))
}

/// The sizes of the parts of a split of `dim` into `outputs` parts (ONNX rules: equal
/// parts, the last one smaller when `dim` does not divide).
pub fn split_sizes(dim: usize, outputs: usize) -> Result<Vec<usize>, InferError> {
    if outputs == 0 {
        bail!("split into 0 parts");
    }
    let part = dim.div_ceil(outputs);
    let mut sizes = Vec::with_capacity(outputs);
    let mut left = dim;
    for _ in 0..outputs {
        let s = part.min(left);
        sizes.push(s);
        left -= s;
    }
    Ok(sizes)
}

pub(super) fn split(s: &SplitAttrs, args: &Args, names: &mut SymbolNamer) -> Result<Vec<TensorType>, InferError> {
    let x = args.get(0)?.ty;
    if s.axis >= x.rank() {
        bail!("split axis {} is out of range for {x}", s.axis);
    }
    let sizes: Vec<Dim> = match (args.const_ints(1)?, &x.shape.0[s.axis]) {
        (Some(sizes), d) => {
            if sizes.len() != s.outputs || sizes.iter().any(|&v| v < 0) {
                bail!("split sizes {sizes:?} do not give {} parts", s.outputs);
            }
            if let Dim::Fixed(n) = d {
                if sizes.iter().sum::<i64>() != *n as i64 {
                    bail!("split sizes {sizes:?} do not add up to {n}");
                }
            }
            sizes.into_iter().map(|v| Dim::Fixed(v as usize)).collect()
        }
        (None, Dim::Fixed(n)) if args.opt(1).is_none() => {
            split_sizes(*n, s.outputs)?.into_iter().map(Dim::Fixed).collect()
        }
        _ => (0..s.outputs).map(|_| names.fresh()).collect(),
    };
    Ok(sizes
        .into_iter()
        .map(|d| {
            let mut dims = x.shape.0.clone();
            dims[s.axis] = d;
            TensorType::new(x.dtype, Shape(dims))
        })
        .collect())
}

pub(super) fn slice(args: &Args, names: &mut SymbolNamer) -> Result<TensorType, InferError> {
    let x = args.get(0)?.ty;
    let mut dims = x.shape.0.clone();
    let (starts, ends) = (args.const_ints(1)?, args.const_ints(2)?);
    let axes = args.const_ints(3)?;
    let steps = args.const_ints(4)?;
    let all_known = starts.is_some()
        && ends.is_some()
        && (args.opt(3).is_none() || axes.is_some())
        && (args.opt(4).is_none() || steps.is_some());
    if !all_known {
        let n = args.get(1)?.ty.shape.0.first().and_then(Dim::fixed).unwrap_or(0);
        match axes {
            Some(a) => {
                for ax in normalize_axes(&a, x.rank())? {
                    dims[ax] = names.fresh();
                }
            }
            None if args.opt(3).is_none() => {
                for d in dims.iter_mut().take(n) {
                    *d = names.fresh();
                }
            }
            None => dims.iter_mut().for_each(|d| *d = names.fresh()),
        }
        return Ok(TensorType::new(x.dtype, Shape(dims)));
    }
    let (starts, ends) = (starts.unwrap_or_default(), ends.unwrap_or_default());
    if starts.len() != ends.len() {
        bail!("slice starts {starts:?} and ends {ends:?} differ in length");
    }
    let axes = match axes {
        Some(a) => normalize_axes(&a, x.rank())?,
        None => (0..starts.len()).collect(),
    };
    let steps = steps.unwrap_or_else(|| vec![1; starts.len()]);
    if axes.len() != starts.len() || steps.len() != starts.len() {
        bail!("slice parameters differ in length");
    }
    for (i, &ax) in axes.iter().enumerate() {
        if ax >= x.rank() {
            bail!("slice axis {ax} is out of range for {x}");
        }
        dims[ax] = match &dims[ax] {
            Dim::Fixed(n) => Dim::Fixed(slice_bounds(*n, starts[i], ends[i], steps[i])?.count),
            Dim::Sym(_) => names.fresh(),
        };
    }
    Ok(TensorType::new(x.dtype, Shape(dims)))
}

pub(super) fn gather(axis: usize, args: &Args) -> Result<TensorType, InferError> {
    let x = args.get(0)?.ty;
    let idx = args.get(1)?.ty;
    if axis >= x.rank() || !matches!(idx.dtype, DType::I32 | DType::I64) {
        bail!("gather axis {axis} and indices {idx} do not fit {x}");
    }
    let mut dims = x.shape.0[..axis].to_vec();
    dims.extend(idx.shape.0.iter().cloned());
    dims.extend(x.shape.0[axis + 1..].iter().cloned());
    Ok(TensorType::new(x.dtype, Shape(dims)))
}

pub(super) fn gather_elements(axis: usize, args: &Args) -> Result<TensorType, InferError> {
    let x = args.get(0)?.ty;
    let idx = args.get(1)?.ty;
    if axis >= x.rank() || idx.rank() != x.rank() || !matches!(idx.dtype, DType::I32 | DType::I64) {
        bail!("gather_elements axis {axis} and indices {idx} do not fit {x}");
    }
    Ok(TensorType::new(x.dtype, idx.shape.clone()))
}

fn shape_operand(args: &Args, i: usize, names: &mut SymbolNamer) -> Result<Shape, InferError> {
    let o = args.get(i)?;
    if o.ty.rank() != 1 || o.ty.dtype != DType::I64 {
        bail!("shape operand must be a rank-1 i64 tensor, got {}", o.ty);
    }
    match args.const_ints(i)? {
        Some(v) => {
            if v.iter().any(|&d| d < 0) {
                bail!("shape {v:?} has a negative size");
            }
            Ok(Shape(v.into_iter().map(|d| Dim::Fixed(d as usize)).collect()))
        }
        None => match o.ty.shape.0[0].fixed() {
            Some(n) => Ok(Shape((0..n).map(|_| names.fresh()).collect())),
            None => bail!("shape operand {} has no fixed length", o.ty),
        },
    }
}

pub(super) fn expand(args: &Args, names: &mut SymbolNamer) -> Result<TensorType, InferError> {
    let x = args.get(0)?.ty;
    let target = shape_operand(args, 1, names)?;
    Ok(TensorType::new(x.dtype, broadcast(&x.shape, &target, names)?))
}

pub(super) fn tile(args: &Args, names: &mut SymbolNamer) -> Result<TensorType, InferError> {
    let x = args.get(0)?.ty;
    let dims = match args.const_ints(1)? {
        Some(r) => {
            if r.len() != x.rank() || r.iter().any(|&v| v < 0) {
                bail!("tile repeats {r:?} do not fit {x}");
            }
            x.shape
                .0
                .iter()
                .zip(&r)
                .map(|(d, &k)| match d {
                    Dim::Fixed(n) => n
                        .checked_mul(k as usize)
                        .map(Dim::Fixed)
                        .ok_or_else(|| InferError("tile overflows".into())),
                    Dim::Sym(_) if k == 1 => Ok(d.clone()),
                    Dim::Sym(_) => Ok(names.fresh()),
                })
                .collect::<Result<_, _>>()?
        }
        None => (0..x.rank()).map(|_| names.fresh()).collect(),
    };
    Ok(TensorType::new(x.dtype, Shape(dims)))
}

pub(super) fn pad(args: &Args, names: &mut SymbolNamer) -> Result<TensorType, InferError> {
    let x = args.get(0)?.ty;
    let rank = x.rank();
    let axes = match args.const_ints(3)? {
        Some(a) => normalize_axes(&a, rank)?,
        None if args.opt(3).is_some() => {
            return Ok(TensorType::new(
                x.dtype,
                Shape((0..rank).map(|_| names.fresh()).collect()),
            ))
        }
        None => (0..rank).collect(),
    };
    if let Some(v) = args.opt(2) {
        if v.ty.dtype != x.dtype {
            bail!("pad value must be {}, got {}", x.dtype, v.ty);
        }
    }
    let Some(pads) = args.const_ints(1)? else {
        return Ok(TensorType::new(
            x.dtype,
            Shape((0..rank).map(|_| names.fresh()).collect()),
        ));
    };
    if pads.len() != 2 * axes.len() {
        bail!("pads {pads:?} do not fit {} axes", axes.len());
    }
    let mut dims = x.shape.0.clone();
    for (i, &ax) in axes.iter().enumerate() {
        dims[ax] = match &dims[ax] {
            Dim::Fixed(n) => {
                let size = *n as i64 + pads[i] + pads[axes.len() + i];
                if size < 0 {
                    bail!("pads {pads:?} make axis {ax} of {x} negative");
                }
                Dim::Fixed(size as usize)
            }
            Dim::Sym(s) if pads[i] == 0 && pads[axes.len() + i] == 0 => Dim::Sym(s.clone()),
            Dim::Sym(_) => names.fresh(),
        };
    }
    Ok(TensorType::new(x.dtype, Shape(dims)))
}

/// The `[start, end)` range of axes that a shape op reports for `rank`.
pub fn shape_range(s: &ShapeAttrs, rank: usize) -> (usize, usize) {
    let r = rank as i64;
    let clamp = |v: i64| (if v < 0 { v + r } else { v }).clamp(0, r) as usize;
    let start = clamp(s.start);
    let end = clamp(s.end.unwrap_or(r));
    (start, end.max(start))
}

pub(super) fn shape_of(s: &ShapeAttrs, args: &Args) -> Result<TensorType, InferError> {
    let x = args.get(0)?.ty;
    let (start, end) = shape_range(s, x.rank());
    Ok(TensorType::fixed(DType::I64, &[end - start]))
}

pub(super) fn constant_of_shape(v: &Tensor, args: &Args, names: &mut SymbolNamer) -> Result<TensorType, InferError> {
    if v.len() != 1 {
        bail!("constant_of_shape value must hold one element, got {v:?}");
    }
    Ok(TensorType::new(v.dtype(), shape_operand(args, 0, names)?))
}

pub(super) fn range(args: &Args, names: &mut SymbolNamer) -> Result<TensorType, InferError> {
    let start = args.get(0)?;
    for i in 1..3 {
        let o = args.get(i)?;
        if o.ty.dtype != start.ty.dtype || o.ty.rank() != 0 {
            bail!(
                "range operands must be scalars of one dtype, got {} and {}",
                start.ty,
                o.ty
            );
        }
    }
    let values: Option<Vec<f64>> = (0..3)
        .map(|i| args.get(i).ok()?.value.map(|t| t.to_f64_vec()[0]))
        .collect();
    let dim = match values {
        Some(v) => {
            if v[2] == 0.0 {
                bail!("range delta is 0");
            }
            Dim::Fixed(((v[1] - v[0]) / v[2]).ceil().max(0.0) as usize)
        }
        None => names.fresh(),
    };
    Ok(TensorType::new(start.ty.dtype, Shape(vec![dim])))
}

fn nchw(args: &Args, what: &str) -> Result<TensorType, InferError> {
    let x = args.get(0)?.ty;
    if x.rank() != 4 {
        bail!("{what} needs a rank-4 input, got {x}");
    }
    Ok(x.clone())
}

fn scale_dim(d: &Dim, mul: usize, div: usize, names: &mut SymbolNamer) -> Result<Dim, InferError> {
    match d {
        Dim::Fixed(n) => {
            let scaled = n
                .checked_mul(mul)
                .ok_or_else(|| InferError(format!("size {n} times {mul} overflows")))?;
            if div == 0 || !scaled.is_multiple_of(div) {
                bail!("size {n} is not divisible by {div}");
            }
            Ok(Dim::Fixed(scaled / div))
        }
        Dim::Sym(_) => Ok(names.fresh()),
    }
}

pub(super) fn depth_to_space(b: usize, args: &Args, names: &mut SymbolNamer) -> Result<TensorType, InferError> {
    let x = nchw(args, "depth_to_space")?;
    let s = &x.shape.0;
    let dims = vec![
        s[0].clone(),
        scale_dim(&s[1], 1, b.saturating_mul(b), names)?,
        scale_dim(&s[2], b, 1, names)?,
        scale_dim(&s[3], b, 1, names)?,
    ];
    Ok(TensorType::new(x.dtype, Shape(dims)))
}

pub(super) fn space_to_depth(b: usize, args: &Args, names: &mut SymbolNamer) -> Result<TensorType, InferError> {
    let x = nchw(args, "space_to_depth")?;
    let s = &x.shape.0;
    let dims = vec![
        s[0].clone(),
        scale_dim(&s[1], b.saturating_mul(b), 1, names)?,
        scale_dim(&s[2], 1, b, names)?,
        scale_dim(&s[3], 1, b, names)?,
    ];
    Ok(TensorType::new(x.dtype, Shape(dims)))
}

pub(super) fn top_k(t: &TopKAttrs, args: &Args, names: &mut SymbolNamer) -> Result<Vec<TensorType>, InferError> {
    let x = args.get(0)?.ty;
    if t.axis >= x.rank() {
        bail!("top_k axis {} is out of range for {x}", t.axis);
    }
    let mut dims = x.shape.0.clone();
    dims[t.axis] = match args.const_ints(1)? {
        Some(k) if k.len() == 1 && k[0] >= 0 => Dim::Fixed(k[0] as usize),
        Some(k) => bail!("top_k k must be one non-negative value, got {k:?}"),
        None => names.fresh(),
    };
    let shape = Shape(dims);
    Ok(vec![
        TensorType::new(x.dtype, shape.clone()),
        TensorType::new(DType::I64, shape),
    ])
}

pub(super) fn one_hot(axis: usize, args: &Args, names: &mut SymbolNamer) -> Result<TensorType, InferError> {
    let idx = args.get(0)?.ty;
    let values = args.get(2)?.ty;
    if axis > idx.rank() || values.rank() != 1 {
        bail!("one_hot axis {axis} or values {values} do not fit indices {idx}");
    }
    let depth = match args.get(1)?.value {
        Some(d) => {
            let v = d.to_f64_vec();
            if v.len() != 1 || v[0] < 0.0 {
                bail!("one_hot depth must be one non-negative value");
            }
            Dim::Fixed(v[0] as usize)
        }
        None => names.fresh(),
    };
    let mut dims = idx.shape.0.clone();
    dims.insert(axis, depth);
    Ok(TensorType::new(values.dtype, Shape(dims)))
}
