//! Scaled dot-product attention (ONNX `Attention`, opsets 23 to 25).
//!
//! The kernel composes the steps of the ONNX function body, each rounded to the operands'
//! dtype `T` as the separate ops would be, so a fused backend and the expanded graph agree.
//! `C` is `T`'s compute type (`f32` for `f16`, `bf16` and `f32`; `f64` for `f64`) and
//! `r(x)` rounds a compute value to `T` (the identity for `f32` and `f64`). For batch `b`
//! and query head `h`, with key/value head `g = h / (q_heads / kv_heads)` (each key/value
//! head serves consecutive query heads):
//!
//! 1. `present_key = concat(past_key, K)` and `present_value = concat(past_value, V)`
//!    along the sequence axis (rank-3 operands are split into heads first).
//! 2. `s = r(sqrt(scale))`, `scale` the attribute or `1 / sqrt(head_size)`, computed in
//!    `f64`.
//! 3. `q'[i][d] = r(q[i][d] * s)`, `k'[j][d] = r(k[j][d] * s)`.
//! 4. `qk[i][j] = r(dot(q'[i], k'[j]))`: from zero along `d` in order, each step a rounded
//!    multiply then a rounded add in `C` (the `MatMul` order).
//! 5. Soft cap `c > 0` (with `c` rounded to `T`): `t = r(r(tanh(r(qk / c))) * c)`; else `t = qk`.
//! 6. The bias `bias[i][j]`: the mask term (a float mask's value rounded to `T`; a bool
//!    mask's `0` for true and `-inf` for false; `-inf` for keys past the mask's last axis,
//!    which is padded, never broadcast), `0` without a mask; then `-inf` is added for each
//!    rule that excludes the key: causal (`j <= i + offset`), the window
//!    (`i + offset - j <= left`, `j - (i + offset) <= right`) and the padding
//!    (`j < nonpad_kv_seqlen[b]`). `offset` is the past length with `past_key`,
//!    `nonpad_kv_seqlen[b] - q_len` with `nonpad_kv_seqlen`, else `0`.
//! 7. `x = r(t + bias)`.
//! 8. Softmax along `j` in the precision `P` (`softmax_precision`, or `T`): `x` rounded to
//!    `P`, then in `P`'s compute type `m = max(x)` (NaN wins; `0` when `-inf`),
//!    `e = exp(x - m)`, `s = tree_sum(e)` (`1` when `0`), `p = e / s`, rounded to `P` and
//!    then to `T`.
//! 9. A row whose bias is `-inf` everywhere (no key attended) gets `p = 0`.
//! 10. `y[i][e] = r(dot(p[i], v[·][e]))`, in the `MatMul` order.
//!
//! `qk_matmul_output` is `qk` (raw), `t` (soft-capped), `x` (biased) or `p` (softmax).

use half::{bf16, f16};
use lightos_ir::op::{AttentionAttrs, QkOutput};
use lightos_ir::{DType, Tensor};

use super::scalar::{elems, with_float, Float, FloatElem};
use crate::reference::accumulate::{tree_sum, Accum};
use crate::reference::{invalid, EvalError};

/// The operands of an attention op, optional ones `None`.
pub(crate) struct AttentionInputs<'a> {
    /// Queries.
    pub q: &'a Tensor,
    /// Keys.
    pub k: &'a Tensor,
    /// Values.
    pub v: &'a Tensor,
    /// Additive (float) or selecting (bool) mask.
    pub mask: Option<&'a Tensor>,
    /// Key cache before this step.
    pub past_key: Option<&'a Tensor>,
    /// Value cache before this step.
    pub past_value: Option<&'a Tensor>,
    /// Valid keys per batch entry.
    pub nonpad: Option<&'a Tensor>,
}

/// ONNX `Attention`: returns `Y`, `present_key`, `present_value` and `qk_matmul_output`.
pub(crate) fn attention(a: &AttentionAttrs, x: &AttentionInputs) -> Result<Vec<Tensor>, EvalError> {
    let dt = x.q.dtype();
    for t in [Some(x.k), Some(x.v), x.past_key, x.past_value].into_iter().flatten() {
        if t.dtype() != dt {
            invalid!("Attention operands differ in dtype: {dt} and {}", t.dtype());
        }
    }
    with_float!(dt, E => attention_typed::<E>(a, x), _ => Err(EvalError::UnsupportedDType { op: "Attention".into(), dtype: dt }))
}

/// A rank-3 or rank-4 operand seen as `[batch, heads, seq, size]`.
#[derive(Copy, Clone, Debug)]
struct Heads {
    /// Batch size.
    batch: usize,
    /// Heads.
    heads: usize,
    /// Sequence length.
    seq: usize,
    /// Head size.
    size: usize,
    /// Stored as `[batch, seq, heads * size]`.
    packed: bool,
}

impl Heads {
    /// The geometry of `t`, split into `heads` heads when it is rank 3.
    fn of(t: &Tensor, heads: Option<usize>, what: &str) -> Result<Heads, EvalError> {
        match *t.dims() {
            [batch, seq, hidden] => {
                let Some(h) = heads.filter(|&h| h > 0) else {
                    invalid!("Attention with rank-3 {what} needs a positive head count");
                };
                if hidden % h != 0 {
                    invalid!("Attention {what} hidden size {hidden} does not split into {h} heads");
                }
                Ok(Heads {
                    batch,
                    heads: h,
                    seq,
                    size: hidden / h,
                    packed: true,
                })
            }
            [batch, heads, seq, size] => Ok(Heads {
                batch,
                heads,
                seq,
                size,
                packed: false,
            }),
            _ => invalid!("Attention {what} must be rank 3 or 4, got {:?}", t.dims()),
        }
    }

    /// Flat index of element `(b, h, s, d)`.
    fn at(&self, b: usize, h: usize, s: usize, d: usize) -> usize {
        if self.packed {
            ((b * self.seq + s) * self.heads + h) * self.size + d
        } else {
            ((b * self.heads + h) * self.seq + s) * self.size + d
        }
    }
}

/// The element count of `dims`, or an error when it overflows.
fn numel(dims: &[usize]) -> Result<usize, EvalError> {
    match dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d)) {
        Some(n) => Ok(n),
        None => invalid!("Attention shape {dims:?} overflows"),
    }
}

/// `concat(past, cur)` along the sequence axis as a `[batch, heads, past + cur, size]`
/// tensor's elements.
fn append<E: FloatElem>(past: Option<(&[E], Heads)>, cur: &[E], c: Heads) -> Result<(Vec<E>, usize), EvalError> {
    let p = past.map_or(0, |(_, g)| g.seq);
    let total = p + c.seq;
    let mut out = Vec::with_capacity(numel(&[c.batch, c.heads, total, c.size])?);
    for b in 0..c.batch {
        for h in 0..c.heads {
            if let Some((pv, g)) = past {
                for s in 0..p {
                    out.extend((0..c.size).map(|d| pv[g.at(b, h, s, d)]));
                }
            }
            for s in 0..c.seq {
                out.extend((0..c.size).map(|d| cur[c.at(b, h, s, d)]));
            }
        }
    }
    Ok((out, total))
}

/// The mask as compute values broadcast to `[batch, q_heads, q_len, mask_len]`: its values
/// and the strides of the first three axes, and its last axis length.
struct Mask<C> {
    /// The mask terms, row-major over the mask's own dims.
    values: Vec<C>,
    /// Element strides of the batch, head and query axes (0 where broadcast).
    strides: [usize; 3],
    /// Length of the key axis; keys past it are masked.
    len: usize,
}

impl<C: Float> Mask<C> {
    /// Reads `m` (bool or float), rounding float values through `round`.
    fn new(m: &Tensor, target: [usize; 3], keys: usize, round: impl Fn(f64) -> C) -> Result<Mask<C>, EvalError> {
        let dims = m.dims();
        if dims.is_empty() || dims.len() > 4 {
            invalid!("Attention attn_mask must have rank 1 to 4, got {dims:?}");
        }
        let len = dims[dims.len() - 1];
        if len > keys {
            invalid!("Attention attn_mask has {len} keys, more than the {keys} keys");
        }
        let lead = &dims[..dims.len() - 1];
        let mut strides = [0usize; 3];
        let mut stride = len;
        for (k, &d) in lead.iter().enumerate().rev() {
            let axis = 3 - lead.len() + k;
            if d != 1 && d != target[axis] {
                invalid!("Attention attn_mask of shape {dims:?} does not broadcast to {target:?} x {keys}");
            }
            strides[axis] = if d == 1 { 0 } else { stride };
            stride *= d;
        }
        let ninf = C::from_f64(f64::NEG_INFINITY);
        let zero = <C as Accum>::ZERO;
        let values = match m.dtype() {
            DType::Bool => elems::<u8>(m)?
                .iter()
                .map(|&v| if v != 0 { zero } else { ninf })
                .collect(),
            dt if dt.is_float() => m.to_f64_vec().into_iter().map(round).collect(),
            dt => invalid!("Attention attn_mask must be bool or float, got {dt}"),
        };
        Ok(Mask { values, strides, len })
    }

    /// The mask term of key `j` for query `(b, h, i)`.
    fn term(&self, b: usize, h: usize, i: usize, j: usize) -> C {
        if j >= self.len {
            return C::from_f64(f64::NEG_INFINITY);
        }
        self.values[b * self.strides[0] + h * self.strides[1] + i * self.strides[2] + j]
    }
}

/// Which keys the structural rules (causal, window, padding) let a query see.
struct Visibility {
    /// Apply the causal rule.
    is_causal: bool,
    /// The left window bound.
    left: Option<i128>,
    /// The right window bound.
    right: Option<i128>,
    /// The causal and window offset per batch entry.
    offsets: Vec<i128>,
    /// Valid keys per batch entry.
    nonpad: Option<Vec<i128>>,
}

impl Visibility {
    /// Whether query `i` of batch entry `b` may see key `j`.
    fn allows(&self, b: usize, i: usize, j: usize) -> bool {
        let (i, j) = (i as i128, j as i128);
        let p = i + self.offsets[b];
        let mut ok = !self.is_causal || j <= p;
        if let Some(l) = self.left {
            ok &= p - j <= l;
        }
        if let Some(r) = self.right {
            ok &= j - p <= r;
        }
        if let Some(n) = &self.nonpad {
            ok &= j < n[b];
        }
        ok
    }
}

/// `acc = acc + a * b` along the pairs in order, from zero.
fn dot<C: Float>(pairs: impl Iterator<Item = (C, C)>) -> C {
    let mut acc = <C as Accum>::ZERO;
    for (x, y) in pairs {
        let p = x * y;
        acc = acc + p;
    }
    acc
}

/// Rounds a compute value of `E` to `E` and back.
fn r<E: FloatElem>(v: E::C) -> E::C {
    E::narrow(v).widen()
}

/// Rounds `v` to the dtype `p` (a float dtype), in `f64`.
fn round_to(p: DType, v: f64) -> f64 {
    match p {
        DType::F16 => f16::from_f64(v).to_f64(),
        DType::BF16 => bf16::from_f64(v).to_f64(),
        DType::F32 => v as f32 as f64,
        _ => v,
    }
}

/// Softmax of one row in the compute type `S`, with `x` rounded to the precision `p`
/// first and the result rounded to `p` (step 8 of the module docs).
fn softmax_row<S: Float>(p: DType, xs: &[f64], out: &mut [f64]) {
    if xs.is_empty() {
        return;
    }
    let x: Vec<S> = xs.iter().map(|&v| S::from_f64(round_to(p, v))).collect();
    let ninf = S::from_f64(f64::NEG_INFINITY);
    let mut m = x[0];
    for &v in &x {
        if v.is_nan() {
            m = v;
            break;
        }
        if v > m {
            m = v;
        }
    }
    if m == ninf {
        m = <S as Accum>::ZERO;
    }
    let e: Vec<S> = x.iter().map(|&v| (v - m).exp()).collect();
    let mut sum = tree_sum(e.iter().copied());
    if sum == <S as Accum>::ZERO {
        sum = S::ONE;
    }
    for (o, &v) in out.iter_mut().zip(&e) {
        *o = round_to(p, (v / sum).to_f64());
    }
}

/// The mask of an `f32` attention as [`attention`] reads it (a float mask's values
/// rounded to `f32`, a bool mask's `0` or `-inf`), for the native CPU kernel: the terms
/// row-major over the mask's own dims, the element strides of the batch, head and query
/// axes of `target` (0 where broadcast), and the mask's key count (keys past it are
/// masked). Refuses what [`attention`] refuses.
pub(crate) fn attention_mask_f32(
    m: &Tensor,
    target: [usize; 3],
    keys: usize,
) -> Result<(Vec<f32>, [usize; 3], usize), EvalError> {
    let mask = Mask::<f32>::new(m, target, keys, |v| r::<f32>(f32::from_f64(v)))?;
    Ok((mask.values, mask.strides, mask.len))
}

/// `e^x` as the `f32` softmax of [`attention`] computes it (step 8 of the module docs).
pub(crate) fn attention_exp_f32(x: f32) -> f32 {
    <f32 as Float>::exp(x)
}

/// [`attention`] for one element type.
fn attention_typed<E: FloatElem>(a: &AttentionAttrs, x: &AttentionInputs) -> Result<Vec<Tensor>, EvalError> {
    let packed = x.q.dims().len() == 3;
    if x.k.dims().len() != x.q.dims().len() || x.v.dims().len() != x.q.dims().len() {
        invalid!(
            "Attention query, key and value must have one rank, got {:?}, {:?} and {:?}",
            x.q.dims(),
            x.k.dims(),
            x.v.dims()
        );
    }
    let q = Heads::of(x.q, a.q_num_heads, "query")?;
    let k = Heads::of(x.k, a.kv_num_heads, "key")?;
    let v = Heads::of(x.v, a.kv_num_heads, "value")?;
    if k.batch != q.batch || v.batch != q.batch || k.heads != v.heads || k.seq != v.seq || k.size != q.size {
        invalid!(
            "Attention key {:?} and value {:?} do not fit query {:?}",
            x.k.dims(),
            x.v.dims(),
            x.q.dims()
        );
    }
    if k.heads == 0 || q.heads % k.heads != 0 {
        invalid!(
            "Attention query heads {} are not a multiple of key/value heads {}",
            q.heads,
            k.heads
        );
    }
    let group = q.heads / k.heads;
    let past = match (x.past_key, x.past_value) {
        (None, None) => None,
        (Some(pk), Some(pv)) => {
            let (gk, gv) = (Heads::of(pk, None, "past_key")?, Heads::of(pv, None, "past_value")?);
            if pk.dims().len() != 4
                || pv.dims().len() != 4
                || [gk.batch, gk.heads, gk.size] != [q.batch, k.heads, k.size]
                || [gv.batch, gv.heads, gv.size, gv.seq] != [q.batch, k.heads, v.size, gk.seq]
            {
                invalid!(
                    "Attention past_key {:?} and past_value {:?} do not fit the keys and values",
                    pk.dims(),
                    pv.dims()
                );
            }
            Some((elems::<E>(pk)?, gk, elems::<E>(pv)?, gv))
        }
        _ => invalid!("Attention past_key and past_value must be given together"),
    };
    let past_len = past.as_ref().map_or(0, |p| p.1.seq);
    let (present_k, total) = append::<E>(past.as_ref().map(|p| (p.0, p.1)), elems::<E>(x.k)?, k)?;
    let (present_v, _) = append::<E>(past.as_ref().map(|p| (p.2, p.3)), elems::<E>(x.v)?, v)?;
    let pk = Heads {
        seq: total,
        packed: false,
        ..k
    };
    let pv = Heads {
        seq: total,
        packed: false,
        ..v
    };

    let nonpad = match x.nonpad {
        None => None,
        Some(n) => {
            if past.is_some() {
                invalid!("Attention nonpad_kv_seqlen cannot be combined with past_key and past_value");
            }
            let vals = n.to_i64_vec().filter(|v| v.len() == q.batch && n.dims().len() == 1);
            let Some(vals) = vals else {
                invalid!(
                    "Attention nonpad_kv_seqlen must be i64 of shape [{}], got {} {:?}",
                    q.batch,
                    n.dtype(),
                    n.dims()
                );
            };
            Some(vals.into_iter().map(i128::from).collect::<Vec<_>>())
        }
    };
    let offsets = match &nonpad {
        Some(n) => n.iter().map(|&v| v - q.seq as i128).collect(),
        None => vec![past_len as i128; q.batch],
    };
    let vis = Visibility {
        is_causal: a.is_causal,
        left: a.left_window.map(|w| w as i128),
        right: a.right_window.map(|w| w as i128),
        offsets,
        nonpad,
    };
    let mask = x
        .mask
        .map(|m| Mask::<E::C>::new(m, [q.batch, q.heads, q.seq], total, |v| r::<E>(E::C::from_f64(v))))
        .transpose()?;

    let scale = match a.scale {
        Some(s) => s as f64,
        None => 1.0 / (q.size as f64).sqrt(),
    };
    let s = r::<E>(E::C::from_f64(scale.sqrt()));
    let softcap = (a.softcap > 0.0).then(|| r::<E>(E::C::from_f64(a.softcap as f64)));
    let precision = a.softmax_precision.unwrap_or(E::DTYPE);
    if !precision.is_float() {
        invalid!("Attention softmax_precision must be a float dtype, got {precision}");
    }

    let qv = elems::<E>(x.q)?;
    let zero = <E::C as Accum>::ZERO;
    let ninf = E::C::from_f64(f64::NEG_INFINITY);
    let mut y = vec![E::narrow(zero); numel(&[q.batch, q.heads, q.seq, v.size])?];
    let y_at = Heads {
        size: v.size,
        packed,
        ..q
    };
    let mut qk_out = vec![E::narrow(zero); numel(&[q.batch, q.heads, q.seq, total])?];
    let mut qs = vec![zero; q.size];
    let mut ks = vec![zero; total * q.size];
    let (mut row, mut bias) = (vec![zero; total], vec![zero; total]);
    let (mut xs, mut ps) = (vec![0f64; total], vec![0f64; total]);
    for b in 0..q.batch {
        for h in 0..q.heads {
            let g = h / group;
            for j in 0..total {
                for d in 0..q.size {
                    ks[j * q.size + d] = r::<E>(present_k[pk.at(b, g, j, d)].widen() * s);
                }
            }
            for i in 0..q.seq {
                for (d, o) in qs.iter_mut().enumerate() {
                    *o = r::<E>(qv[q.at(b, h, i, d)].widen() * s);
                }
                let base = ((b * q.heads + h) * q.seq + i) * total;
                for j in 0..total {
                    let raw = r::<E>(dot(qs
                        .iter()
                        .copied()
                        .zip(ks[j * q.size..(j + 1) * q.size].iter().copied())));
                    let capped = match softcap {
                        Some(c) => r::<E>(r::<E>(r::<E>(raw / c).tanh()) * c),
                        None => raw,
                    };
                    let mut bj = mask.as_ref().map_or(zero, |m| m.term(b, h, i, j));
                    if !vis.allows(b, i, j) {
                        bj = bj + ninf;
                    }
                    bias[j] = bj;
                    row[j] = r::<E>(capped + bj);
                    match a.qk_output {
                        QkOutput::Raw => qk_out[base + j] = E::narrow(raw),
                        QkOutput::Softcapped => qk_out[base + j] = E::narrow(capped),
                        QkOutput::Biased => qk_out[base + j] = E::narrow(row[j]),
                        QkOutput::Softmax => {}
                    }
                }
                for (o, &v) in xs.iter_mut().zip(&row) {
                    *o = v.to_f64();
                }
                if precision == DType::F64 {
                    softmax_row::<f64>(precision, &xs, &mut ps);
                } else {
                    softmax_row::<f32>(precision, &xs, &mut ps);
                }
                let masked_row = total > 0 && {
                    let mut m = bias[0];
                    let mut nan = false;
                    for &v in &bias {
                        nan |= v.is_nan();
                        if v > m {
                            m = v;
                        }
                    }
                    !nan && m == ninf
                };
                for (j, p) in row.iter_mut().enumerate() {
                    *p = if masked_row {
                        zero
                    } else {
                        r::<E>(E::C::from_f64(ps[j]))
                    };
                }
                if a.qk_output == QkOutput::Softmax {
                    for (j, &p) in row.iter().enumerate() {
                        qk_out[base + j] = E::narrow(p);
                    }
                }
                for e in 0..v.size {
                    let acc = dot((0..total).map(|j| (row[j], present_v[pv.at(b, g, j, e)].widen())));
                    y[y_at.at(b, h, i, e)] = E::narrow(acc);
                }
            }
        }
    }
    let y_dims = if packed {
        vec![q.batch, q.seq, q.heads * v.size]
    } else {
        vec![q.batch, q.heads, q.seq, v.size]
    };
    Ok(vec![
        Tensor::from_vec(y_dims, y)?,
        Tensor::from_vec(vec![q.batch, k.heads, total, k.size], present_k)?,
        Tensor::from_vec(vec![q.batch, k.heads, total, v.size], present_v)?,
        Tensor::from_vec(vec![q.batch, q.heads, q.seq, total], qk_out)?,
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An `f32` tensor.
    fn t(dims: &[usize], v: &[f32]) -> Tensor {
        Tensor::from_vec(dims.to_vec(), v.to_vec()).unwrap()
    }

    /// The `f32` elements.
    fn f(t: &Tensor) -> Vec<f32> {
        t.as_slice::<f32>().unwrap().to_vec()
    }

    /// Attributes with everything off and `scale = 1`.
    fn plain() -> AttentionAttrs {
        AttentionAttrs {
            is_causal: false,
            q_num_heads: None,
            kv_num_heads: None,
            qk_output: QkOutput::Raw,
            scale: Some(1.0),
            softcap: 0.0,
            softmax_precision: None,
            left_window: None,
            right_window: None,
        }
    }

    /// Runs with `Q`, `K`, `V` and optional extras.
    fn run(
        a: &AttentionAttrs,
        q: &Tensor,
        k: &Tensor,
        v: &Tensor,
        mask: Option<&Tensor>,
        nonpad: Option<&Tensor>,
    ) -> Vec<Tensor> {
        let x = AttentionInputs {
            q,
            k,
            v,
            mask,
            past_key: None,
            past_value: None,
            nonpad,
        };
        attention(a, &x).unwrap()
    }

    #[test]
    fn equal_scores_average_and_causal_masks() {
        // Two queries, two keys with equal scores: each query averages the values it sees.
        let q = t(&[1, 1, 2, 1], &[1., 1.]);
        let k = t(&[1, 1, 2, 1], &[1., 1.]);
        let v = t(&[1, 1, 2, 1], &[2., 4.]);
        let r = run(&plain(), &q, &k, &v, None, None);
        assert_eq!(f(&r[0]), [3., 3.]);
        assert_eq!(f(&r[3]), [1., 1., 1., 1.]);
        // Causal: query 0 sees key 0 only.
        let causal = AttentionAttrs {
            is_causal: true,
            qk_output: QkOutput::Softmax,
            ..plain()
        };
        let r = run(&causal, &q, &k, &v, None, None);
        assert_eq!(f(&r[0]), [2., 3.]);
        assert_eq!(f(&r[3]), [1., 0., 0.5, 0.5]);
        // A bool mask hiding every key of query 1 zeroes its row; the padding mask
        // (nonpad 1) hides key 1 from query 0.
        let mask = Tensor::from_bools(vec![2, 2], &[true, true, false, false]).unwrap();
        let soft = AttentionAttrs {
            qk_output: QkOutput::Softmax,
            ..plain()
        };
        let r = run(&soft, &q, &k, &v, Some(&mask), None);
        assert_eq!(f(&r[0]), [3., 0.]);
        assert_eq!(f(&r[3]), [0.5, 0.5, 0., 0.]);
        let nonpad = Tensor::from_vec(vec![1], vec![1i64]).unwrap();
        let r = run(&plain(), &q, &k, &v, None, Some(&nonpad));
        assert_eq!(f(&r[0]), [2., 2.]);
        // A float mask is added: -inf on key 0 leaves key 1.
        let fmask = t(&[1, 2], &[f32::NEG_INFINITY, 0.]);
        let biased = AttentionAttrs {
            qk_output: QkOutput::Biased,
            ..plain()
        };
        let r = run(&biased, &q, &k, &v, Some(&fmask), None);
        assert_eq!(f(&r[0]), [4., 4.]);
        assert_eq!(f(&r[3]), [f32::NEG_INFINITY, 1., f32::NEG_INFINITY, 1.]);
    }

    #[test]
    fn scale_softcap_and_windows() {
        // Scores q * k * scale: sqrt(4) = 2 multiplies q and k each.
        let q = t(&[1, 1, 1, 1], &[1.]);
        let k = t(&[1, 1, 2, 1], &[1., -1.]);
        let v = t(&[1, 1, 2, 1], &[0., 0.]);
        let a = AttentionAttrs {
            scale: Some(4.0),
            ..plain()
        };
        assert_eq!(f(&run(&a, &q, &k, &v, None, None)[3]), [4., -4.]);
        // Soft cap 2: 2 * tanh(4 / 2), monotone and within (-2, 2).
        let capped = AttentionAttrs {
            softcap: 2.0,
            qk_output: QkOutput::Softcapped,
            ..a
        };
        let c = f(&run(&capped, &q, &k, &v, None, None)[3]);
        assert!((c[0] - 2.0 * 2f32.tanh()).abs() < 1e-6 && (c[1] + c[0]).abs() < 1e-6);
        // Window: with left 0 and right 0 each query sees only its own position.
        let q2 = t(&[1, 1, 3, 1], &[0., 0., 0.]);
        let v3 = t(&[1, 1, 3, 1], &[1., 2., 3.]);
        let w = AttentionAttrs {
            left_window: Some(0),
            right_window: Some(0),
            ..plain()
        };
        assert_eq!(f(&run(&w, &q2, &q2, &v3, None, None)[0]), [1., 2., 3.]);
        let left1 = AttentionAttrs {
            left_window: Some(1),
            is_causal: true,
            ..plain()
        };
        assert_eq!(f(&run(&left1, &q2, &q2, &v3, None, None)[0]), [1., 1.5, 2.5]);
    }

    #[test]
    fn heads_packing_and_cache() {
        // Rank 3, two query heads sharing one key/value head (GQA): Y packs the heads.
        let a = AttentionAttrs {
            q_num_heads: Some(2),
            kv_num_heads: Some(1),
            ..plain()
        };
        let q = t(&[1, 1, 2], &[1., 1.]);
        let k = t(&[1, 2, 1], &[1., 1.]);
        let v = t(&[1, 2, 1], &[2., 4.]);
        let r = run(&a, &q, &k, &v, None, None);
        assert_eq!((r[0].dims(), f(&r[0])), (&[1usize, 1, 2][..], vec![3., 3.]));
        assert_eq!(r[1].dims(), &[1, 1, 2, 1]);
        // The cache: past keys come first in the present key and value.
        let pk = t(&[1, 1, 1, 1], &[1.]);
        let pv = t(&[1, 1, 1, 1], &[6.]);
        let x = AttentionInputs {
            q: &q,
            k: &k,
            v: &v,
            mask: None,
            past_key: Some(&pk),
            past_value: Some(&pv),
            nonpad: None,
        };
        let r = attention(&a, &x).unwrap();
        assert_eq!(f(&r[2]), [6., 2., 4.]);
        assert_eq!(f(&r[0]), [4., 4.]);
        // Mismatched heads are refused.
        let bad = AttentionAttrs {
            q_num_heads: Some(2),
            kv_num_heads: Some(2),
            ..plain()
        };
        let x = AttentionInputs {
            past_key: None,
            past_value: None,
            ..x
        };
        assert!(attention(&bad, &x).is_err());
    }

    #[test]
    fn half_precision_rounds_each_step() {
        // f16 and bf16 results agree with the f32 ones to their precision.
        let q = t(&[1, 1, 2, 2], &[0.3, -1.2, 0.7, 0.1]);
        let k = t(&[1, 1, 3, 2], &[0.5, 0.25, -0.75, 1.5, 0.2, 0.9]);
        let v = t(&[1, 1, 3, 2], &[1., 2., 3., 4., 5., 6.]);
        let a = AttentionAttrs { scale: None, ..plain() };
        let want = f(&run(&a, &q, &k, &v, None, None)[0]);
        let to16 = |x: &Tensor| {
            Tensor::from_vec(
                x.dims().to_vec(),
                f(x).iter().map(|&v| half::f16::from_f32(v)).collect::<Vec<_>>(),
            )
            .unwrap()
        };
        let r = run(&a, &to16(&q), &to16(&k), &to16(&v), None, None);
        for (got, w) in r[0].as_slice::<half::f16>().unwrap().iter().zip(&want) {
            assert!((got.to_f32() - w).abs() < 1e-2 * w.abs().max(1.0), "{got} vs {w}");
        }
    }
}
