//! Text-format names and attributes of the attention, loss and indexing ops (see
//! [`crate::op::AttentionAttrs`], [`crate::op::NllLossAttrs`]).
//!
//! Optional attributes are printed only when set, in a fixed order.

use super::{int, AttrList, AttrValue, Attrs};
use crate::op::*;

/// Names of [`QkOutput`].
const QK_OUTPUTS: &[(&str, QkOutput)] = &[
    ("raw", QkOutput::Raw),
    ("softcapped", QkOutput::Softcapped),
    ("biased", QkOutput::Biased),
    ("softmax", QkOutput::Softmax),
];

/// Names of [`LossReduction`].
const REDUCTIONS: &[(&str, LossReduction)] = &[
    ("none", LossReduction::None),
    ("sum", LossReduction::Sum),
    ("mean", LossReduction::Mean),
];

/// Names of [`ScatterReduction`].
const SCATTER: &[(&str, ScatterReduction)] = &[
    ("none", ScatterReduction::None),
    ("add", ScatterReduction::Add),
    ("mul", ScatterReduction::Mul),
    ("max", ScatterReduction::Max),
    ("min", ScatterReduction::Min),
];

/// A scatter reduction as a keyword.
fn scatter_ident(r: ScatterReduction) -> AttrValue {
    AttrValue::Ident(super::name_of(SCATTER, r).unwrap_or("none").into())
}

/// Reads a scatter reduction keyword.
fn scatter_reduction(a: &mut Attrs) -> Result<ScatterReduction, String> {
    let r = a.ident("reduction")?;
    super::value_of(SCATTER, &r).ok_or_else(|| format!("unknown scatter reduction `{r}`"))
}

/// The text name and attributes of an attention, loss or indexing op; `None` for other ops.
pub(super) fn encode(op: &Op) -> Option<(&'static str, AttrList)> {
    use AttrValue::{Bool, Float, Ident};
    Some(match op {
        Op::Attention(a) => {
            let mut attrs = vec![("is_causal", Bool(a.is_causal))];
            if let Some(h) = a.q_num_heads {
                attrs.push(("q_num_heads", int(h)));
            }
            if let Some(h) = a.kv_num_heads {
                attrs.push(("kv_num_heads", int(h)));
            }
            let qk = super::name_of(QK_OUTPUTS, a.qk_output).unwrap_or("raw");
            attrs.push(("qk_output", Ident(qk.into())));
            if let Some(s) = a.scale {
                attrs.push(("scale", Float(s)));
            }
            attrs.push(("softcap", Float(a.softcap)));
            if let Some(d) = a.softmax_precision {
                attrs.push(("softmax_precision", Ident(d.name().into())));
            }
            if let Some(w) = a.left_window {
                attrs.push(("left_window", int(w)));
            }
            if let Some(w) = a.right_window {
                attrs.push(("right_window", int(w)));
            }
            ("attention", attrs)
        }
        Op::NllLoss(l) => {
            let red = super::name_of(REDUCTIONS, l.reduction).unwrap_or("mean");
            let mut attrs = vec![("reduction", Ident(red.into()))];
            if let Some(i) = l.ignore_index {
                attrs.push(("ignore_index", AttrValue::Int(i)));
            }
            ("nll_loss", attrs)
        }
        Op::ScatterElements(s) => (
            "scatter_elements",
            vec![("axis", int(s.axis)), ("reduction", scatter_ident(s.reduction))],
        ),
        Op::ScatterNd(s) => ("scatter_nd", vec![("reduction", scatter_ident(s.reduction))]),
        Op::GatherNd(g) => ("gather_nd", vec![("batch_dims", int(g.batch_dims))]),
        Op::Compress(c) => ("compress", c.axis.map(|x| vec![("axis", int(x))]).unwrap_or_default()),
        Op::Det => ("det", vec![]),
        Op::Einsum(e) => ("einsum", vec![("equation", Ident(einsum_ident(&e.equation)))]),
        Op::RotaryEmbedding(r) => {
            let mut attrs = vec![("interleaved", Bool(r.interleaved))];
            if let Some(d) = r.rotary_dim {
                attrs.push(("rotary_dim", int(d)));
            }
            if let Some(h) = r.num_heads {
                attrs.push(("num_heads", int(h)));
            }
            ("rotary_embedding", attrs)
        }
        _ => return None,
    })
}

/// An einsum equation as a text-format keyword: `eq_` and then the equation with `,` as
/// `1`, `->` as `2` and `...` as `0` (`ij,jk->ik` is `eq_ij1jk2ik`).
fn einsum_ident(equation: &str) -> String {
    let body = equation.replace("...", "0").replace("->", "2").replace(',', "1");
    format!("eq_{body}")
}

/// The equation of an [`einsum_ident`] keyword.
fn einsum_equation(ident: &str) -> Result<String, String> {
    let body = ident
        .strip_prefix("eq_")
        .ok_or_else(|| format!("einsum equation `{ident}` must start with `eq_`"))?;
    if !body
        .chars()
        .all(|c| c.is_ascii_alphabetic() || matches!(c, '0' | '1' | '2'))
    {
        return Err(format!("einsum equation `{ident}` has an unexpected character"));
    }
    Ok(body.replace('0', "...").replace('1', ",").replace('2', "->"))
}

/// An optional non-negative integer attribute.
fn opt_usize(a: &mut Attrs, key: &str) -> Result<Option<usize>, String> {
    match a.take_opt(key) {
        None => Ok(None),
        Some(AttrValue::Int(v)) => usize::try_from(v)
            .map(Some)
            .map_err(|_| format!("attribute `{key}` must not be negative, got {v}")),
        Some(other) => Err(format!("attribute `{key}` must be an integer, got {other:?}")),
    }
}

/// The attention, loss or indexing op named `name`, or `None` for other names.
pub(super) fn decode(name: &str, a: &mut Attrs) -> Result<Option<Op>, String> {
    Ok(Some(match name {
        "attention" => {
            let is_causal = a.bool("is_causal")?;
            let q_num_heads = opt_usize(a, "q_num_heads")?;
            let kv_num_heads = opt_usize(a, "kv_num_heads")?;
            let qk = a.ident("qk_output")?;
            let qk_output = super::value_of(QK_OUTPUTS, &qk).ok_or_else(|| format!("unknown qk_output `{qk}`"))?;
            let scale = match a.take_opt("scale") {
                None => None,
                Some(AttrValue::Float(v)) => Some(v),
                Some(AttrValue::Int(v)) => Some(v as f32),
                Some(other) => return Err(format!("attribute `scale` must be a float, got {other:?}")),
            };
            let softcap = a.float("softcap")?;
            let softmax_precision = match a.take_opt("softmax_precision") {
                None => None,
                Some(AttrValue::Ident(d)) => Some(d.parse().map_err(|e: crate::dtype::UnknownDType| e.to_string())?),
                Some(other) => return Err(format!("attribute `softmax_precision` must be a dtype, got {other:?}")),
            };
            Op::Attention(AttentionAttrs {
                is_causal,
                q_num_heads,
                kv_num_heads,
                qk_output,
                scale,
                softcap,
                softmax_precision,
                left_window: opt_usize(a, "left_window")?,
                right_window: opt_usize(a, "right_window")?,
            })
        }
        "nll_loss" => {
            let red = a.ident("reduction")?;
            let reduction = super::value_of(REDUCTIONS, &red).ok_or_else(|| format!("unknown reduction `{red}`"))?;
            let ignore_index = match a.take_opt("ignore_index") {
                None => None,
                Some(AttrValue::Int(i)) => Some(i),
                Some(other) => return Err(format!("attribute `ignore_index` must be an integer, got {other:?}")),
            };
            Op::NllLoss(NllLossAttrs {
                reduction,
                ignore_index,
            })
        }
        "rotary_embedding" => Op::RotaryEmbedding(RotaryAttrs {
            interleaved: a.bool("interleaved")?,
            rotary_dim: opt_usize(a, "rotary_dim")?,
            num_heads: opt_usize(a, "num_heads")?,
        }),
        "scatter_elements" => Op::ScatterElements(ScatterElementsAttrs {
            axis: a.usize("axis")?,
            reduction: scatter_reduction(a)?,
        }),
        "scatter_nd" => Op::ScatterNd(ScatterNdAttrs {
            reduction: scatter_reduction(a)?,
        }),
        "gather_nd" => Op::GatherNd(GatherNdAttrs {
            batch_dims: a.usize("batch_dims")?,
        }),
        "compress" => Op::Compress(CompressAttrs {
            axis: opt_usize(a, "axis")?,
        }),
        "det" => Op::Det,
        "einsum" => Op::Einsum(EinsumAttrs {
            equation: einsum_equation(&a.ident("equation")?)?,
        }),
        _ => return Ok(None),
    }))
}

#[cfg(test)]
mod tests {
    use super::super::{decode, encode};
    use crate::dtype::DType;
    use crate::op::*;

    /// Encodes and decodes `op` and expects it back.
    fn round_trip(op: Op) {
        let (name, attrs) = encode(&op);
        let attrs = attrs.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        assert_eq!(decode(name, attrs).unwrap(), op, "{name}");
    }

    #[test]
    fn ops_round_trip() {
        round_trip(Op::Attention(AttentionAttrs {
            is_causal: true,
            q_num_heads: Some(4),
            kv_num_heads: Some(2),
            qk_output: QkOutput::Biased,
            scale: Some(0.125),
            softcap: 2.5,
            softmax_precision: Some(DType::F64),
            left_window: Some(3),
            right_window: None,
        }));
        round_trip(Op::Attention(AttentionAttrs {
            is_causal: false,
            q_num_heads: None,
            kv_num_heads: None,
            qk_output: QkOutput::Raw,
            scale: None,
            softcap: 0.0,
            softmax_precision: None,
            left_window: None,
            right_window: Some(0),
        }));
        round_trip(Op::NllLoss(NllLossAttrs {
            reduction: LossReduction::Sum,
            ignore_index: Some(-1),
        }));
        round_trip(Op::NllLoss(NllLossAttrs {
            reduction: LossReduction::None,
            ignore_index: None,
        }));
        round_trip(Op::Einsum(EinsumAttrs {
            equation: "...ij,jk->...ik".into(),
        }));
        round_trip(Op::Einsum(EinsumAttrs { equation: "->".into() }));
        round_trip(Op::RotaryEmbedding(RotaryAttrs {
            interleaved: true,
            rotary_dim: Some(4),
            num_heads: None,
        }));
        round_trip(Op::ScatterElements(ScatterElementsAttrs {
            axis: 1,
            reduction: ScatterReduction::Mul,
        }));
        round_trip(Op::ScatterNd(ScatterNdAttrs {
            reduction: ScatterReduction::None,
        }));
        round_trip(Op::GatherNd(GatherNdAttrs { batch_dims: 1 }));
        round_trip(Op::Compress(CompressAttrs { axis: None }));
        round_trip(Op::Compress(CompressAttrs { axis: Some(2) }));
        round_trip(Op::Det);
        round_trip(Op::CumProd(CumSumAttrs {
            exclusive: true,
            reverse: false,
        }));
        round_trip(Op::LayerNorm(LayerNormAttrs {
            axis: 1,
            epsilon: 1e-5,
            stats: true,
        }));
        round_trip(Op::LayerNorm(LayerNormAttrs {
            axis: 2,
            epsilon: 0.5,
            stats: false,
        }));
        round_trip(Op::SpaceToDepth(DepthToSpaceAttrs {
            blocksize: 2,
            crd: true,
        }));
        round_trip(Op::Unary(UnaryOp::Swish { alpha: 1.5 }));
    }
}
