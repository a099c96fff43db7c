//! Typed attributes of the selection and sequence ops — non-maximum suppression,
//! `Unique`, `ReverseSequence` and the n-gram `TfIdfVectorizer` — and their text-format
//! encoding.

use super::names::{AttrList, AttrValue};
use super::take::{push_f32s, Take};

/// Attributes of [`crate::Op::NonMaxSuppression`].
///
/// Operands `boxes` `[batch, boxes, 4]`, `scores` `[batch, classes, boxes]`,
/// `max_output_boxes_per_class?` (i64, one value; absent means 0), `iou_threshold?` (one
/// float; absent means 0) and `score_threshold?` (one float; absent means no score
/// filter). The result is `[selected, 3]` i64 rows `(batch, class, box)`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct NmsAttrs {
    /// Boxes are `(x_center, y_center, width, height)` instead of two corners
    /// `(y1, x1, y2, x2)`.
    pub center_point_box: bool,
}

/// Attributes of [`crate::Op::Unique`].
///
/// Results: the unique elements (or slices along `axis`), the index of each one's first
/// occurrence, the index into the uniques of every input element (or slice), and each
/// unique's count; the last three are i64.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct UniqueAttrs {
    /// Unique slices along this axis; `None` flattens the input first.
    pub axis: Option<usize>,
    /// Sort the uniques ascending (lexicographically for slices); else keep the order of
    /// first occurrence.
    pub sorted: bool,
}

/// Attributes of [`crate::Op::ReverseSequence`]; operands `input, sequence_lens` (i64,
/// one length per batch entry).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ReverseSequenceAttrs {
    /// The batch axis.
    pub batch_axis: usize,
    /// The time axis.
    pub time_axis: usize,
}

/// How [`crate::Op::TfIdfVectorizer`] weighs the n-gram counts.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum TfIdfMode {
    /// The count.
    Tf,
    /// The n-gram's weight (or 1) where the count is positive, else 0.
    Idf,
    /// The weight times the count (or the count without weights).
    TfIdf,
}

impl TfIdfMode {
    /// The keyword of the mode in the text format.
    pub fn keyword(self) -> &'static str {
        match self {
            TfIdfMode::Tf => "tf",
            TfIdfMode::Idf => "idf",
            TfIdfMode::TfIdf => "tfidf",
        }
    }
}

/// Attributes of [`crate::Op::TfIdfVectorizer`] over an integer pool of n-grams.
///
/// The operand is `[C]` or `[B, C]` integers; the result is f32 `[out]` or `[B, out]`
/// with `out = max(ngram_indexes) + 1`.
#[derive(Clone, Debug, PartialEq)]
pub struct TfIdfAttrs {
    /// The weighting.
    pub mode: TfIdfMode,
    /// The shortest n-gram counted.
    pub min_gram_length: usize,
    /// The longest n-gram counted.
    pub max_gram_length: usize,
    /// The most items skipped between the items of an n-gram.
    pub max_skip_count: usize,
    /// Where the `n`-grams start in `pool` (entry `n - 1`), non-decreasing.
    pub ngram_counts: Vec<usize>,
    /// The output column of each n-gram of the pool, in pool order.
    pub ngram_indexes: Vec<usize>,
    /// The n-grams, shortest first, concatenated.
    pub pool: Vec<i64>,
    /// One weight per output column, or empty.
    pub weights: Vec<f32>,
}

/// The text name and attributes of `non_max_suppression`.
pub(super) fn encode_nms(a: &NmsAttrs) -> (&'static str, AttrList) {
    (
        "non_max_suppression",
        vec![("center_point_box", AttrValue::Bool(a.center_point_box))],
    )
}

/// The text name and attributes of `unique`; `axis` is left out when flattening.
pub(super) fn encode_unique(a: &UniqueAttrs) -> (&'static str, AttrList) {
    let mut attrs = vec![];
    if let Some(axis) = a.axis {
        attrs.push(("axis", AttrValue::Int(axis as i64)));
    }
    attrs.push(("sorted", AttrValue::Bool(a.sorted)));
    ("unique", attrs)
}

/// The text name and attributes of `reverse_sequence`.
pub(super) fn encode_reverse_sequence(a: &ReverseSequenceAttrs) -> (&'static str, AttrList) {
    (
        "reverse_sequence",
        vec![
            ("batch_axis", AttrValue::Int(a.batch_axis as i64)),
            ("time_axis", AttrValue::Int(a.time_axis as i64)),
        ],
    )
}

/// A list of sizes as an integer-list attribute.
fn int_list(v: &[usize]) -> AttrValue {
    AttrValue::Ints(v.iter().map(|&x| x as i64).collect())
}

/// The text name and attributes of `tf_idf_vectorizer`; `weights` is left out when empty.
pub(super) fn encode_tf_idf(a: &TfIdfAttrs) -> (&'static str, AttrList) {
    let mut attrs: AttrList = vec![
        ("mode", AttrValue::Ident(a.mode.keyword().into())),
        ("min_gram_length", AttrValue::Int(a.min_gram_length as i64)),
        ("max_gram_length", AttrValue::Int(a.max_gram_length as i64)),
        ("max_skip_count", AttrValue::Int(a.max_skip_count as i64)),
        ("ngram_counts", int_list(&a.ngram_counts)),
        ("ngram_indexes", int_list(&a.ngram_indexes)),
        ("pool", AttrValue::Ints(a.pool.clone())),
    ];
    push_f32s(&mut attrs, "weights", &a.weights);
    ("tf_idf_vectorizer", attrs)
}

/// Decodes the op `name` (one of this module's) from its text attributes; `None` when the
/// name is not one of them.
pub(super) fn decode(name: &str, items: &mut Vec<(String, AttrValue)>) -> Result<Option<super::Op>, String> {
    use super::Op;
    let mut t = Take(items);
    Ok(Some(match name {
        "non_max_suppression" => Op::NonMaxSuppression(NmsAttrs {
            center_point_box: t.bool("center_point_box")?,
        }),
        "unique" => {
            let axis = match t.opt("axis") {
                None => None,
                Some(AttrValue::Int(v)) => {
                    Some(usize::try_from(v).map_err(|_| format!("unique axis {v} is negative"))?)
                }
                Some(other) => return Err(format!("attribute `axis` must be an integer, got {other:?}")),
            };
            Op::Unique(UniqueAttrs {
                axis,
                sorted: t.bool("sorted")?,
            })
        }
        "reverse_sequence" => Op::ReverseSequence(ReverseSequenceAttrs {
            batch_axis: t.usize("batch_axis")?,
            time_axis: t.usize("time_axis")?,
        }),
        "tf_idf_vectorizer" => Op::TfIdfVectorizer(TfIdfAttrs {
            mode: match t.ident("mode")?.as_str() {
                "tf" => TfIdfMode::Tf,
                "idf" => TfIdfMode::Idf,
                "tfidf" => TfIdfMode::TfIdf,
                m => return Err(format!("unknown tf_idf_vectorizer mode `{m}`")),
            },
            min_gram_length: t.usize("min_gram_length")?,
            max_gram_length: t.usize("max_gram_length")?,
            max_skip_count: t.usize("max_skip_count")?,
            ngram_counts: t.usizes("ngram_counts")?,
            ngram_indexes: t.usizes("ngram_indexes")?,
            pool: t.ints("pool")?,
            weights: t.opt_f32s("weights")?.unwrap_or_default(),
        }),
        _ => return Ok(None),
    }))
}
