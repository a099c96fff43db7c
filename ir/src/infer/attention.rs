//! Type rules of the attention ops.

use super::{bail, expect_float, Args, InferError, SymbolNamer};
use crate::graph::TensorType;
use crate::op::{AttentionAttrs, RotaryAttrs};
use crate::shape::{Dim, Shape};
use crate::DType;

/// Requires two dims to agree when both are fixed.
fn same(a: &Dim, b: &Dim, what: &str) -> Result<(), InferError> {
    if let (Dim::Fixed(x), Dim::Fixed(y)) = (a, b) {
        if x != y {
            bail!("attention {what} differ: {x} and {y}");
        }
    }
    Ok(())
}

/// `d / n` for a dim that must split into `n` equal parts.
fn split(d: &Dim, n: usize, what: &str, names: &mut SymbolNamer) -> Result<Dim, InferError> {
    match d {
        Dim::Fixed(x) if n > 0 && x % n == 0 => Ok(Dim::Fixed(x / n)),
        Dim::Fixed(x) => bail!("attention {what} size {x} does not split into {n} heads"),
        Dim::Sym(_) => Ok(names.fresh()),
    }
}

/// `a * b`, checked, or a fresh symbol.
fn product(a: &Dim, b: &Dim, names: &mut SymbolNamer) -> Result<Dim, InferError> {
    match (a, b) {
        (Dim::Fixed(x), Dim::Fixed(y)) => match x.checked_mul(*y) {
            Some(p) => Ok(Dim::Fixed(p)),
            None => bail!("attention output size {x} * {y} overflows"),
        },
        _ => Ok(names.fresh()),
    }
}

/// `a + b`, checked; `a` when `b` is zero; else a fresh symbol.
fn sum(a: &Dim, b: &Dim, names: &mut SymbolNamer) -> Result<Dim, InferError> {
    match (a, b) {
        (Dim::Fixed(x), Dim::Fixed(y)) => match x.checked_add(*y) {
            Some(s) => Ok(Dim::Fixed(s)),
            None => bail!("attention sequence length {x} + {y} overflows"),
        },
        (d, Dim::Fixed(0)) | (Dim::Fixed(0), d) => Ok(d.clone()),
        _ => Ok(names.fresh()),
    }
}

/// The head geometry of `Q`, `K` and `V` as rank-4 dims.
struct Heads {
    /// Batch size.
    batch: Dim,
    /// Query heads.
    q_heads: Dim,
    /// Query sequence length.
    q_len: Dim,
    /// Query and key head size.
    head_size: Dim,
    /// Key and value heads.
    kv_heads: Dim,
    /// Key and value sequence length (without the past).
    kv_len: Dim,
    /// Value head size.
    v_head_size: Dim,
}

/// Reads the head geometry of rank-3 or rank-4 `Q`, `K`, `V`.
fn heads(a: &AttentionAttrs, q: &Shape, k: &Shape, v: &Shape, names: &mut SymbolNamer) -> Result<Heads, InferError> {
    let h = if q.rank() == 3 {
        let (Some(hq), Some(hkv)) = (a.q_num_heads, a.kv_num_heads) else {
            bail!("attention with rank-3 operands needs q_num_heads and kv_num_heads");
        };
        let [qd, kd, vd] = [q, k, v].map(|s| s.dims());
        Heads {
            batch: qd[0].clone(),
            q_heads: Dim::Fixed(hq),
            q_len: qd[1].clone(),
            head_size: split(&qd[2], hq, "query hidden", names)?,
            kv_heads: Dim::Fixed(hkv),
            kv_len: kd[1].clone(),
            v_head_size: split(&vd[2], hkv, "value hidden", names)?,
        }
    } else {
        let [qd, kd, vd] = [q, k, v].map(|s| s.dims());
        same(&kd[3], &qd[3], "query and key head sizes")?;
        same(&kd[1], &vd[1], "key and value head counts")?;
        if let Some(hq) = a.q_num_heads {
            same(&Dim::Fixed(hq), &qd[1], "q_num_heads and query heads")?;
        }
        if let Some(hkv) = a.kv_num_heads {
            same(&Dim::Fixed(hkv), &kd[1], "kv_num_heads and key heads")?;
        }
        Heads {
            batch: qd[0].clone(),
            q_heads: qd[1].clone(),
            q_len: qd[2].clone(),
            head_size: qd[3].clone(),
            kv_heads: kd[1].clone(),
            kv_len: kd[2].clone(),
            v_head_size: vd[3].clone(),
        }
    };
    if q.rank() == 3 {
        let kh = split(&k.dims()[2], a.kv_num_heads.unwrap_or(1), "key hidden", names)?;
        same(&kh, &h.head_size, "query and key head sizes")?;
    }
    let kv_dims: [&[Dim]; 2] = [k.dims(), v.dims()];
    for d in kv_dims {
        same(&d[0], &h.batch, "batch sizes")?;
    }
    let seq = if q.rank() == 3 { 1 } else { 2 };
    same(&k.dims()[seq], &v.dims()[seq], "key and value sequence lengths")?;
    if let (Dim::Fixed(hq), Dim::Fixed(hkv)) = (&h.q_heads, &h.kv_heads) {
        if *hkv == 0 || hq % hkv != 0 {
            bail!("attention query heads {hq} are not a multiple of key/value heads {hkv}");
        }
    }
    Ok(h)
}

/// `Attention`: results `Y`, `present_key`, `present_value`, `qk_matmul_output`.
pub(super) fn attention(
    a: &AttentionAttrs,
    args: &Args,
    names: &mut SymbolNamer,
) -> Result<Vec<TensorType>, InferError> {
    let q = args.get(0)?.ty;
    let k = args.get(1)?.ty;
    let v = args.get(2)?.ty;
    expect_float(q, "attention query")?;
    if k.dtype != q.dtype || v.dtype != q.dtype {
        bail!("attention query, key and value must share a dtype, got {q}, {k} and {v}");
    }
    let rank = q.rank();
    if !(rank == 3 || rank == 4) || k.rank() != rank || v.rank() != rank {
        bail!("attention query, key and value must all be rank 3 or all rank 4, got {q}, {k} and {v}");
    }
    let h = heads(a, &q.shape, &k.shape, &v.shape, names)?;
    let past = match (args.opt(4), args.opt(5)) {
        (None, None) => None,
        (Some(pk), Some(pv)) => Some((pk.ty, pv.ty)),
        _ => bail!("attention past_key and past_value must be given together"),
    };
    let total = match past {
        None => h.kv_len.clone(),
        Some((pk, pv)) => {
            if pk.dtype != q.dtype || pv.dtype != q.dtype || pk.rank() != 4 || pv.rank() != 4 {
                bail!(
                    "attention past_key and past_value must be rank 4 of {}, got {pk} and {pv}",
                    q.dtype
                );
            }
            let (kd, vd) = (pk.shape.dims(), pv.shape.dims());
            same(&kd[0], &h.batch, "past_key and query batch sizes")?;
            same(&vd[0], &h.batch, "past_value and query batch sizes")?;
            same(&kd[1], &h.kv_heads, "past_key and key heads")?;
            same(&vd[1], &h.kv_heads, "past_value and value heads")?;
            same(&kd[2], &vd[2], "past_key and past_value lengths")?;
            same(&kd[3], &h.head_size, "past_key and key head sizes")?;
            same(&vd[3], &h.v_head_size, "past_value and value head sizes")?;
            sum(&kd[2], &h.kv_len, names)?
        }
    };
    if let Some(m) = args.opt(3) {
        if !(m.ty.dtype == DType::Bool || m.ty.dtype.is_float()) || m.ty.rank() > 4 {
            bail!(
                "attention attn_mask must be bool or float of rank 4 or less, got {}",
                m.ty
            );
        }
        if let (Some(Dim::Fixed(last)), Dim::Fixed(t)) = (m.ty.shape.dims().last(), &total) {
            if last > t {
                bail!("attention attn_mask is {} keys long, more than the {t} keys", last);
            }
        }
    }
    if let Some(n) = args.opt(6) {
        if n.ty.dtype != DType::I64 || n.ty.rank() != 1 {
            bail!("attention nonpad_kv_seqlen must be rank-1 i64, got {}", n.ty);
        }
        if past.is_some() {
            bail!("attention nonpad_kv_seqlen cannot be combined with past_key and past_value");
        }
        same(&n.ty.shape.dims()[0], &h.batch, "nonpad_kv_seqlen and batch sizes")?;
    }
    let y = if rank == 3 {
        let hidden = product(&h.q_heads, &h.v_head_size, names)?;
        Shape(vec![h.batch.clone(), h.q_len.clone(), hidden])
    } else {
        Shape(vec![
            h.batch.clone(),
            h.q_heads.clone(),
            h.q_len.clone(),
            h.v_head_size.clone(),
        ])
    };
    let dt = q.dtype;
    Ok(vec![
        TensorType::new(dt, y),
        TensorType::new(
            dt,
            Shape(vec![h.batch.clone(), h.kv_heads.clone(), total.clone(), h.head_size]),
        ),
        TensorType::new(
            dt,
            Shape(vec![h.batch.clone(), h.kv_heads, total.clone(), h.v_head_size]),
        ),
        TensorType::new(dt, Shape(vec![h.batch, h.q_heads, h.q_len, total])),
    ])
}

/// `RotaryEmbedding`: the result is shaped like the input.
pub(super) fn rotary(r: &RotaryAttrs, args: &Args) -> Result<TensorType, InferError> {
    let x = args.get(0)?.ty;
    let cos = args.get(1)?.ty;
    let sin = args.get(2)?.ty;
    expect_float(x, "rotary_embedding input")?;
    if cos.dtype != x.dtype || sin.dtype != x.dtype || cos.shape != sin.shape {
        bail!("rotary_embedding caches must match each other and the input's dtype, got {cos} and {sin}");
    }
    let head_size = match x.rank() {
        4 => x.shape.dims()[3].clone(),
        3 => match (r.num_heads, &x.shape.dims()[2]) {
            (None, _) => bail!("rotary_embedding with a rank-3 input needs num_heads"),
            (Some(h), Dim::Fixed(hidden)) if h == 0 || hidden % h != 0 => {
                bail!("rotary_embedding hidden size {hidden} does not split into {h} heads")
            }
            (Some(h), Dim::Fixed(hidden)) => Dim::Fixed(hidden / h),
            (Some(_), d) => d.clone(),
        },
        _ => bail!("rotary_embedding input must be rank 3 or 4, got {x}"),
    };
    if let (Some(rd), Dim::Fixed(hs)) = (r.rotary_dim, &head_size) {
        if !rd.is_multiple_of(2) || rd > *hs {
            bail!("rotary_embedding dim {rd} must be even and at most the head size {hs}");
        }
    }
    let want_rank = if args.opt(3).is_some() { 2 } else { 3 };
    if cos.rank() != want_rank {
        bail!("rotary_embedding caches must be rank {want_rank}, got {cos}");
    }
    if let Some(p) = args.opt(3) {
        if !p.ty.dtype.is_int() || p.ty.rank() != 2 {
            bail!(
                "rotary_embedding position_ids must be a rank-2 integer tensor, got {}",
                p.ty
            );
        }
    }
    Ok(x.clone())
}
