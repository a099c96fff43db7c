//! Typed attributes of the random-number ops — uniform and normal generators, Bernoulli
//! and multinomial sampling — and their text-format encoding.
//!
//! The numbers come from the documented counter-based generator of the reference backend
//! (see `lightos_runtime`'s random kernels), not from any framework's generator, so they
//! are the same on every run and every machine but differ from ONNX Runtime's or NumPy's.

use super::names::{AttrList, AttrValue};
use super::take::Take;
use crate::dtype::DType;

/// The distribution of [`crate::Op::Random`] and [`crate::Op::RandomLike`].
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum RandomDist {
    /// Uniform on `[low, high)`.
    Uniform {
        /// Lower bound.
        low: f32,
        /// Upper bound.
        high: f32,
    },
    /// Normal with the given mean and standard deviation.
    Normal {
        /// Mean.
        mean: f32,
        /// Standard deviation.
        scale: f32,
    },
}

/// Attributes of [`crate::Op::Random`]: no operands.
#[derive(Clone, Debug, PartialEq)]
pub struct RandomAttrs {
    /// The distribution.
    pub dist: RandomDist,
    /// The result dtype (a float type).
    pub dtype: DType,
    /// The result dims.
    pub shape: Vec<usize>,
    /// The seed (ONNX's float seed); `None` uses the generator's default stream.
    pub seed: Option<f32>,
}

/// Attributes of [`crate::Op::RandomLike`]: the operand gives the dims (and the dtype when
/// `dtype` is `None`).
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct RandomLikeAttrs {
    /// The distribution.
    pub dist: RandomDist,
    /// The result dtype; the operand's when `None`.
    pub dtype: Option<DType>,
    /// The seed; `None` uses the default stream.
    pub seed: Option<f32>,
}

/// Attributes of [`crate::Op::Bernoulli`]: the operand holds the probabilities of 1.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct BernoulliAttrs {
    /// The result dtype; the operand's when `None`.
    pub dtype: Option<DType>,
    /// The seed; `None` uses the default stream.
    pub seed: Option<f32>,
}

/// Attributes of [`crate::Op::Multinomial`]: the operand is `[batch, classes]`
/// unnormalized log-probabilities; the result `[batch, sample_size]` class indices.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct MultinomialAttrs {
    /// Samples per batch row.
    pub sample_size: usize,
    /// The result dtype (i32 or i64).
    pub dtype: DType,
    /// The seed; `None` uses the default stream.
    pub seed: Option<f32>,
}

/// The attributes of a distribution, in their fixed order.
fn dist_attrs(d: &RandomDist) -> AttrList {
    match *d {
        RandomDist::Uniform { low, high } => vec![("low", AttrValue::Float(low)), ("high", AttrValue::Float(high))],
        RandomDist::Normal { mean, scale } => {
            vec![("mean", AttrValue::Float(mean)), ("scale", AttrValue::Float(scale))]
        }
    }
}

/// Appends the seed when there is one.
fn push_seed(attrs: &mut AttrList, seed: Option<f32>) {
    if let Some(s) = seed {
        attrs.push(("seed", AttrValue::Float(s)));
    }
}

/// Appends the dtype when there is one.
fn push_dtype(attrs: &mut AttrList, dtype: Option<DType>) {
    if let Some(d) = dtype {
        attrs.push(("dtype", AttrValue::Ident(d.name().into())));
    }
}

/// The text name and attributes of `random_uniform` / `random_normal`.
pub(super) fn encode_random(a: &RandomAttrs) -> (&'static str, AttrList) {
    let name = match a.dist {
        RandomDist::Uniform { .. } => "random_uniform",
        RandomDist::Normal { .. } => "random_normal",
    };
    let mut attrs = dist_attrs(&a.dist);
    attrs.push(("dtype", AttrValue::Ident(a.dtype.name().into())));
    attrs.push(("shape", AttrValue::Ints(a.shape.iter().map(|&d| d as i64).collect())));
    push_seed(&mut attrs, a.seed);
    (name, attrs)
}

/// The text name and attributes of `random_uniform_like` / `random_normal_like`.
pub(super) fn encode_random_like(a: &RandomLikeAttrs) -> (&'static str, AttrList) {
    let name = match a.dist {
        RandomDist::Uniform { .. } => "random_uniform_like",
        RandomDist::Normal { .. } => "random_normal_like",
    };
    let mut attrs = dist_attrs(&a.dist);
    push_dtype(&mut attrs, a.dtype);
    push_seed(&mut attrs, a.seed);
    (name, attrs)
}

/// The text name and attributes of `bernoulli`.
pub(super) fn encode_bernoulli(a: &BernoulliAttrs) -> (&'static str, AttrList) {
    let mut attrs = vec![];
    push_dtype(&mut attrs, a.dtype);
    push_seed(&mut attrs, a.seed);
    ("bernoulli", attrs)
}

/// The text name and attributes of `multinomial`.
pub(super) fn encode_multinomial(a: &MultinomialAttrs) -> (&'static str, AttrList) {
    let mut attrs = vec![
        ("sample_size", AttrValue::Int(a.sample_size as i64)),
        ("dtype", AttrValue::Ident(a.dtype.name().into())),
    ];
    push_seed(&mut attrs, a.seed);
    ("multinomial", attrs)
}

/// Decodes the op `name` (one of this module's) from its text attributes; `None` when the
/// name is not one of them.
pub(super) fn decode(name: &str, items: &mut Vec<(String, AttrValue)>) -> Result<Option<super::Op>, String> {
    use super::Op;
    let mut t = Take(items);
    let uniform = |t: &mut Take| -> Result<RandomDist, String> {
        Ok(RandomDist::Uniform {
            low: t.float("low")?,
            high: t.float("high")?,
        })
    };
    let normal = |t: &mut Take| -> Result<RandomDist, String> {
        Ok(RandomDist::Normal {
            mean: t.float("mean")?,
            scale: t.float("scale")?,
        })
    };
    let opt_dtype = |t: &mut Take| -> Result<Option<DType>, String> {
        match t.opt("dtype") {
            None => Ok(None),
            Some(AttrValue::Ident(d)) => d
                .parse()
                .map(Some)
                .map_err(|e: crate::dtype::UnknownDType| e.to_string()),
            Some(other) => Err(format!("attribute `dtype` must be a dtype, got {other:?}")),
        }
    };
    let op = match name {
        "random_uniform" | "random_normal" => {
            let dist = if name == "random_uniform" {
                uniform(&mut t)?
            } else {
                normal(&mut t)?
            };
            Op::Random(RandomAttrs {
                dist,
                dtype: t.dtype("dtype")?,
                shape: t.usizes("shape")?,
                seed: t.opt_float("seed")?,
            })
        }
        "random_uniform_like" | "random_normal_like" => {
            let dist = if name == "random_uniform_like" {
                uniform(&mut t)?
            } else {
                normal(&mut t)?
            };
            Op::RandomLike(RandomLikeAttrs {
                dist,
                dtype: opt_dtype(&mut t)?,
                seed: t.opt_float("seed")?,
            })
        }
        "bernoulli" => Op::Bernoulli(BernoulliAttrs {
            dtype: opt_dtype(&mut t)?,
            seed: t.opt_float("seed")?,
        }),
        "multinomial" => Op::Multinomial(MultinomialAttrs {
            sample_size: t.usize("sample_size")?,
            dtype: t.dtype("dtype")?,
            seed: t.opt_float("seed")?,
        }),
        _ => return Ok(None),
    };
    Ok(Some(op))
}
