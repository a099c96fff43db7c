//! Importers of the random-number ops: `RandomUniform`, `RandomNormal`, their `Like`
//! forms, `Bernoulli` and `Multinomial`. The values come from the reference backend's own
//! documented generator, so they differ from other frameworks' for the same seed.

use lightos_ir::{BernoulliAttrs, DType, MultinomialAttrs, Op, RandomAttrs, RandomDist, RandomLikeAttrs};

use super::super::context::{ImportResult, Importer, NodeCx};
use crate::onnx::tensor::dtype_from_onnx;

/// The `dtype` attribute as a [`DType`], if present.
fn dtype_attr(cx: &NodeCx) -> Result<Option<DType>, String> {
    match cx.attrs.int("dtype")? {
        None => Ok(None),
        Some(code) => i32::try_from(code)
            .ok()
            .and_then(dtype_from_onnx)
            .map(Some)
            .ok_or_else(|| format!("dtype {code} is not supported")),
    }
}

/// The distribution of the op type.
fn dist(cx: &NodeCx) -> Result<RandomDist, String> {
    let a = &cx.attrs;
    Ok(if cx.node.op_type.starts_with("RandomUniform") {
        RandomDist::Uniform {
            low: a.float_or("low", 0.0)?,
            high: a.float_or("high", 1.0)?,
        }
    } else {
        RandomDist::Normal {
            mean: a.float_or("mean", 0.0)?,
            scale: a.float_or("scale", 1.0)?,
        }
    })
}

/// `RandomUniform` and `RandomNormal`.
pub(super) fn random(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let attrs = RandomAttrs {
        dist: dist(cx)?,
        dtype: dtype_attr(cx)?.unwrap_or(DType::F32),
        shape: cx.attrs.usizes("shape")?.ok_or("attribute `shape` is required")?,
        seed: cx.attrs.float("seed")?,
    };
    im.emit(&cx.name, Op::Random(attrs), vec![])
}

/// `RandomUniformLike` and `RandomNormalLike`.
pub(super) fn random_like(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let attrs = RandomLikeAttrs {
        dist: dist(cx)?,
        dtype: dtype_attr(cx)?,
        seed: cx.attrs.float("seed")?,
    };
    let x = im.req(cx, 0)?;
    im.emit(&cx.name, Op::RandomLike(attrs), vec![Some(x)])
}

/// `Bernoulli`.
pub(super) fn bernoulli(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let attrs = BernoulliAttrs {
        dtype: dtype_attr(cx)?,
        seed: cx.attrs.float("seed")?,
    };
    let p = im.req(cx, 0)?;
    im.emit(&cx.name, Op::Bernoulli(attrs), vec![Some(p)])
}

/// `Multinomial` (`dtype` defaults to int32, `sample_size` to 1).
pub(super) fn multinomial(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let size = cx.attrs.int_or("sample_size", 1)?;
    let attrs = MultinomialAttrs {
        sample_size: usize::try_from(size).map_err(|_| format!("sample_size {size} is negative"))?,
        dtype: dtype_attr(cx)?.unwrap_or(DType::I32),
        seed: cx.attrs.float("seed")?,
    };
    let x = im.req(cx, 0)?;
    im.emit(&cx.name, Op::Multinomial(attrs), vec![Some(x)])
}
