//! Type rules of matrix products, convolution and pooling.

use super::elementwise::broadcast;
use super::{bail, expect_float, Args, InferError, SymbolNamer};
use crate::graph::TensorType;
use crate::op::{ConvAttrs, GemmAttrs, PoolAttrs};
use crate::shape::{Dim, Shape};

pub(super) fn matmul(args: &Args, names: &mut SymbolNamer) -> Result<TensorType, InferError> {
    let a = args.get(0)?.ty;
    let b = args.get(1)?.ty;
    if a.dtype != b.dtype || !a.dtype.is_numeric() {
        bail!("matmul operands must share a numeric dtype, got {a} and {b}");
    }
    if a.rank() == 0 || b.rank() == 0 {
        bail!("matmul operands must have rank 1 or more, got {a} and {b}");
    }
    let mut sa = a.shape.0.clone();
    let mut sb = b.shape.0.clone();
    let a_vec = sa.len() == 1;
    let b_vec = sb.len() == 1;
    if a_vec {
        sa.insert(0, Dim::Fixed(1));
    }
    if b_vec {
        sb.push(Dim::Fixed(1));
    }
    let (m, ka) = (sa[sa.len() - 2].clone(), sa[sa.len() - 1].clone());
    let (kb, n) = (sb[sb.len() - 2].clone(), sb[sb.len() - 1].clone());
    if let (Dim::Fixed(x), Dim::Fixed(y)) = (&ka, &kb) {
        if x != y {
            bail!("matmul inner dimensions differ: {a} and {b}");
        }
    }
    let batch = broadcast(
        &Shape(sa[..sa.len() - 2].to_vec()),
        &Shape(sb[..sb.len() - 2].to_vec()),
        names,
    )?;
    let mut out = batch.0;
    if !a_vec {
        out.push(m);
    }
    if !b_vec {
        out.push(n);
    }
    Ok(TensorType::new(a.dtype, Shape(out)))
}

pub(super) fn gemm(g: &GemmAttrs, args: &Args) -> Result<TensorType, InferError> {
    let a = args.get(0)?.ty;
    let b = args.get(1)?.ty;
    if a.rank() != 2 || b.rank() != 2 || a.dtype != b.dtype {
        bail!("gemm needs two rank-2 operands of one dtype, got {a} and {b}");
    }
    let (m, ka) = if g.trans_a {
        (&a.shape.0[1], &a.shape.0[0])
    } else {
        (&a.shape.0[0], &a.shape.0[1])
    };
    let (kb, n) = if g.trans_b {
        (&b.shape.0[1], &b.shape.0[0])
    } else {
        (&b.shape.0[0], &b.shape.0[1])
    };
    if let (Dim::Fixed(x), Dim::Fixed(y)) = (ka, kb) {
        if x != y {
            bail!("gemm inner dimensions differ: {a} and {b}");
        }
    }
    if let Some(c) = args.opt(2) {
        if c.ty.dtype != a.dtype || c.ty.rank() > 2 {
            bail!("gemm C must be a tensor of rank 2 or less of {}, got {}", a.dtype, c.ty);
        }
    }
    Ok(TensorType::new(a.dtype, Shape(vec![m.clone(), n.clone()])))
}

fn spatial_output(
    x: &TensorType,
    kernel: &[usize],
    strides: &[usize],
    dilations: &[usize],
    padding: &crate::op::Padding,
    ceil_mode: bool,
    names: &mut SymbolNamer,
) -> Result<Vec<Dim>, InferError> {
    let spatial = &x.shape.0[2..];
    match Shape(spatial.to_vec()).as_fixed() {
        Some(sizes) => Ok(
            super::conv_geometry(&sizes, kernel, strides, dilations, padding, ceil_mode)?
                .output
                .into_iter()
                .map(Dim::Fixed)
                .collect(),
        ),
        None => Ok(spatial.iter().map(|_| names.fresh()).collect()),
    }
}

pub(super) fn conv(c: &ConvAttrs, args: &Args, names: &mut SymbolNamer) -> Result<TensorType, InferError> {
    let x = args.get(0)?.ty;
    let w = args.get(1)?.ty;
    expect_float(x, "conv input")?;
    if x.rank() < 3 || w.rank() != x.rank() || w.dtype != x.dtype {
        bail!("conv needs input and weight of equal rank 3 or more and one dtype, got {x} and {w}");
    }
    if c.kernel.len() != x.rank() - 2 {
        bail!("conv kernel has {} axes for input {x}", c.kernel.len());
    }
    if c.group == 0 {
        bail!("conv group must be positive");
    }
    if let (Dim::Fixed(cin), Dim::Fixed(wc)) = (&x.shape.0[1], &w.shape.0[1]) {
        if *cin != wc * c.group {
            bail!(
                "conv input has {cin} channels but weight {w} with group {} expects {}",
                c.group,
                wc * c.group
            );
        }
    }
    if let Some(b) = args.opt(2) {
        if b.ty.rank() != 1 || b.ty.dtype != x.dtype {
            bail!("conv bias must be rank 1 of {}, got {}", x.dtype, b.ty);
        }
    }
    let mut out = vec![x.shape.0[0].clone(), w.shape.0[0].clone()];
    out.extend(spatial_output(
        x,
        &c.kernel,
        &c.strides,
        &c.dilations,
        &c.padding,
        false,
        names,
    )?);
    Ok(TensorType::new(x.dtype, Shape(out)))
}

pub(super) fn pool(p: &PoolAttrs, args: &Args, names: &mut SymbolNamer) -> Result<TensorType, InferError> {
    let x = args.get(0)?.ty;
    if x.rank() < 3 || p.kernel.len() != x.rank() - 2 {
        bail!("pool kernel has {} axes for input {x}", p.kernel.len());
    }
    let int_max_pool = matches!(p.kind, crate::op::PoolKind::Max) && x.dtype.is_int();
    if !x.dtype.is_float() && !int_max_pool {
        bail!("pool does not take {}", x.dtype);
    }
    let mut out = x.shape.0[..2].to_vec();
    out.extend(spatial_output(
        x,
        &p.kernel,
        &p.strides,
        &p.dilations,
        &p.padding,
        p.ceil_mode,
        names,
    )?);
    Ok(TensorType::new(x.dtype, Shape(out)))
}

pub(super) fn global_pool(args: &Args) -> Result<TensorType, InferError> {
    let x = args.get(0)?.ty;
    expect_float(x, "global pool input")?;
    if x.rank() < 3 {
        bail!("global pool needs rank 3 or more, got {x}");
    }
    let mut out = x.shape.0[..2].to_vec();
    out.extend(std::iter::repeat_n(Dim::Fixed(1), x.rank() - 2));
    Ok(TensorType::new(x.dtype, Shape(out)))
}
