//! Selection and sequence kernels: non-maximum suppression, `Unique`, `ReverseSequence`
//! and the n-gram `TfIdfVectorizer`.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use lightos_ir::{NmsAttrs, ReverseSequenceAttrs, Tensor, TfIdfAttrs, TfIdfMode, UniqueAttrs};

use super::scalar::{elems, with_any, with_float, Float, FloatElem};
use crate::reference::accumulate::Accum;
use crate::reference::{invalid, EvalError};

/// `(outer, n, inner)` around `axis` of `dims`.
fn split_at(dims: &[usize], axis: usize) -> (usize, usize, usize) {
    let outer = dims[..axis].iter().product();
    let inner = dims[axis + 1..].iter().product();
    (outer, dims[axis], inner)
}

/// Orders two values with NaN after every number and equal to NaN (`-0 == +0`).
fn total_cmp<T: PartialOrd>(a: &T, b: &T) -> Ordering {
    match a.partial_cmp(b) {
        Some(o) => o,
        None => {
            let (na, nb) = (a.partial_cmp(a).is_none(), b.partial_cmp(b).is_none());
            na.cmp(&nb)
        }
    }
}

// ---------------------------------------------------------------------------------------
// NonMaxSuppression
// ---------------------------------------------------------------------------------------

/// The value of an optional one-element float operand, in the compute type.
fn one_float<C: Float>(t: Option<&Tensor>, what: &str) -> Result<Option<C>, EvalError> {
    let Some(t) = t else { return Ok(None) };
    match t.to_f64_vec().as_slice() {
        [] => Ok(None),
        [v] => Ok(Some(C::from_f64(*v))),
        _ => invalid!("{what} must hold one value, got {} values", t.len()),
    }
}

/// Whether box `a` overlaps box `b` with an IoU above `threshold` (in the compute type).
///
/// Corners are `(y1, x1, y2, x2)` in any order; with `center` the box is
/// `(x_center, y_center, width, height)` and its edges are `center ∓ size / 2`. Empty
/// intersections, or boxes or unions with no area, never suppress. The order of
/// operations follows the ONNX reference: `inter = (ix_max - ix_min) * (iy_max - iy_min)`,
/// `union = area_a + area_b - inter`, `iou = inter / union`.
fn suppresses<C: Float>(a: &[C], b: &[C], center: bool, threshold: C) -> bool {
    let two = C::ONE + C::ONE;
    let span = |lo: C, hi: C| if lo >= hi { (hi, lo) } else { (lo, hi) };
    let edges = |v: &[C]| -> ((C, C), (C, C)) {
        if center {
            let (hw, hh) = (v[2] / two, v[3] / two);
            ((v[0] - hw, v[0] + hw), (v[1] - hh, v[1] + hh))
        } else {
            (span(v[1], v[3]), span(v[0], v[2]))
        }
    };
    let ((ax0, ax1), (ay0, ay1)) = edges(a);
    let ((bx0, bx1), (by0, by1)) = edges(b);
    let max = |p: C, q: C| if p >= q { p } else { q };
    let min = |p: C, q: C| if p <= q { p } else { q };
    let (ix0, ix1) = (max(ax0, bx0), min(ax1, bx1));
    if ix1 <= ix0 {
        return false;
    }
    let (iy0, iy1) = (max(ay0, by0), min(ay1, by1));
    if iy1 <= iy0 {
        return false;
    }
    let inter = (ix1 - ix0) * (iy1 - iy0);
    if inter <= C::ZERO {
        return false;
    }
    let area_a = (ax1 - ax0) * (ay1 - ay0);
    let area_b = (bx1 - bx0) * (by1 - by0);
    let union = area_a + area_b - inter;
    if area_a <= C::ZERO || area_b <= C::ZERO || union <= C::ZERO {
        return false;
    }
    inter / union > threshold
}

/// `NonMaxSuppression`: per batch and class, candidates (scores above `score_threshold`
/// when given) in order of descending score, ties by ascending box index; each is kept
/// unless a box kept before it suppresses it ([`suppresses`]), up to
/// `max_output_boxes_per_class` (absent: 0). Rows `(batch, class, box)` in that order.
pub(crate) fn non_max_suppression(
    a: &NmsAttrs,
    boxes: &Tensor,
    scores: &Tensor,
    max_out: Option<&Tensor>,
    iou: Option<&Tensor>,
    score: Option<&Tensor>,
) -> Result<Tensor, EvalError> {
    let dtype = boxes.dtype();
    if scores.dtype() != dtype {
        invalid!(
            "non_max_suppression boxes and scores differ in dtype: {dtype} and {}",
            scores.dtype()
        );
    }
    with_float!(dtype,
        F => nms::<F>(a, boxes, scores, max_out, iou, score),
        _ => Err(EvalError::UnsupportedDType { op: "non_max_suppression".into(), dtype }))
}

/// [`non_max_suppression`] for float element type `F`.
fn nms<F: FloatElem>(
    a: &NmsAttrs,
    boxes: &Tensor,
    scores: &Tensor,
    max_out: Option<&Tensor>,
    iou: Option<&Tensor>,
    score: Option<&Tensor>,
) -> Result<Tensor, EvalError> {
    let (&[batches, n, four], &[sb, classes, sn]) = (boxes.dims(), scores.dims()) else {
        invalid!(
            "non_max_suppression needs boxes [batch, boxes, 4] and scores [batch, classes, boxes], got {:?} and {:?}",
            boxes.dims(),
            scores.dims()
        );
    };
    if four != 4 || sb != batches || sn != n {
        invalid!(
            "non_max_suppression boxes {:?} and scores {:?} do not fit",
            boxes.dims(),
            scores.dims()
        );
    }
    let limit = match max_out.map(|t| t.to_i64_vec()) {
        None => 0,
        Some(Some(v)) if v.is_empty() => 0,
        Some(Some(v)) if v.len() == 1 => usize::try_from(v[0].max(0)).unwrap_or(usize::MAX),
        _ => invalid!("max_output_boxes_per_class must be one integer"),
    };
    let iou = one_float::<F::C>(iou, "iou_threshold")?.unwrap_or(F::C::ZERO);
    let score = one_float::<F::C>(score, "score_threshold")?;
    let bx: Vec<F::C> = elems::<F>(boxes)?.iter().map(|v| v.widen()).collect();
    let sc: Vec<F::C> = elems::<F>(scores)?.iter().map(|v| v.widen()).collect();
    let mut rows: Vec<i64> = Vec::new();
    for b in 0..batches {
        let bb = &bx[b * n * 4..(b + 1) * n * 4];
        for c in 0..classes {
            let s = &sc[(b * classes + c) * n..(b * classes + c + 1) * n];
            let mut cands: Vec<usize> = (0..n).filter(|&i| score.is_none_or(|t| s[i] > t)).collect();
            // Descending score; a stable sort keeps ties in ascending index order.
            cands.sort_by(|&i, &j| total_cmp(&s[j], &s[i]));
            let mut kept: Vec<usize> = Vec::new();
            for i in cands {
                if kept.len() >= limit {
                    break;
                }
                let bi = &bb[i * 4..i * 4 + 4];
                if kept
                    .iter()
                    .all(|&k| !suppresses(bi, &bb[k * 4..k * 4 + 4], a.center_point_box, iou))
                {
                    kept.push(i);
                    rows.extend([b as i64, c as i64, i as i64]);
                }
            }
        }
    }
    let count = rows.len() / 3;
    Ok(Tensor::from_vec(vec![count, 3], rows)?)
}

// ---------------------------------------------------------------------------------------
// Unique
// ---------------------------------------------------------------------------------------

/// Sorts the `n` slices of `v` (viewed as `[outer, n, inner]`) and groups equal ones:
/// the groups as `(first index, count)` in ascending order, and each slice's group.
fn group_slices<T: PartialOrd>(v: &[T], (outer, n, inner): (usize, usize, usize)) -> (Vec<(usize, usize)>, Vec<usize>) {
    let cmp = |i: usize, j: usize| -> Ordering {
        for o in 0..outer {
            for k in 0..inner {
                let ord = total_cmp(&v[(o * n + i) * inner + k], &v[(o * n + j) * inner + k]);
                if ord != Ordering::Equal {
                    return ord;
                }
            }
        }
        Ordering::Equal
    };
    // A stable sort: the first of equal slices is the first occurrence.
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&i, &j| cmp(i, j));
    let mut groups: Vec<(usize, usize)> = Vec::new();
    let mut group_of = vec![0usize; n];
    for (pos, &i) in order.iter().enumerate() {
        if pos == 0 || cmp(order[pos - 1], i) != Ordering::Equal {
            groups.push((i, 0));
        }
        let g = groups.len() - 1;
        groups[g].1 += 1;
        group_of[i] = g;
    }
    (groups, group_of)
}

/// `Unique`: the distinct elements (or slices along the axis), each slice compared
/// lexicographically in row-major order with NaN after every number, NaN equal to NaN
/// and `-0 == +0`. Sorted ascending, or in order of first occurrence. Results `Y`, the
/// first-occurrence index of each unique, the unique index of every input element (or
/// slice), and the counts.
pub(crate) fn unique(a: &UniqueAttrs, x: &Tensor) -> Result<Vec<Tensor>, EvalError> {
    let dims = x.dims();
    let (outer, n, inner) = match a.axis {
        None => (1, x.len(), 1),
        Some(axis) if axis < dims.len() => split_at(dims, axis),
        Some(axis) => invalid!("unique axis {axis} is out of range for rank {}", dims.len()),
    };
    let (groups, group_of) = with_any!(x.dtype(), T => group_slices(elems::<T>(x)?, (outer, n, inner)));
    // Output position of each group.
    let mut rank: Vec<usize> = (0..groups.len()).collect();
    if !a.sorted {
        rank.sort_by_key(|&g| groups[g].0);
    }
    let mut position = vec![0usize; groups.len()];
    for (p, &g) in rank.iter().enumerate() {
        position[g] = p;
    }
    let es = x.dtype().size_bytes();
    let bytes = x.bytes();
    let mut y = Vec::with_capacity(outer * rank.len() * inner * es);
    for o in 0..outer {
        for &g in &rank {
            let start = (o * n + groups[g].0) * inner * es;
            y.extend_from_slice(&bytes[start..start + inner * es]);
        }
    }
    let y_dims = match a.axis {
        None => vec![rank.len()],
        Some(axis) => {
            let mut d = dims.to_vec();
            d[axis] = rank.len();
            d
        }
    };
    let firsts: Vec<i64> = rank.iter().map(|&g| groups[g].0 as i64).collect();
    let counts: Vec<i64> = rank.iter().map(|&g| groups[g].1 as i64).collect();
    let inverse: Vec<i64> = group_of.iter().map(|&g| position[g] as i64).collect();
    let u = rank.len();
    Ok(vec![
        Tensor::from_bytes(x.dtype(), y_dims, &y)?,
        Tensor::from_vec(vec![u], firsts)?,
        Tensor::from_vec(vec![n], inverse)?,
        Tensor::from_vec(vec![u], counts)?,
    ])
}

// ---------------------------------------------------------------------------------------
// ReverseSequence
// ---------------------------------------------------------------------------------------

/// `ReverseSequence`: along the time axis, the first `lens[b]` entries of batch entry `b`
/// are reversed; the rest are copied.
pub(crate) fn reverse_sequence(a: &ReverseSequenceAttrs, x: &Tensor, lens: &Tensor) -> Result<Tensor, EvalError> {
    let dims = x.dims();
    let (ba, ta) = (a.batch_axis, a.time_axis);
    if ba == ta || ba >= dims.len() || ta >= dims.len() {
        invalid!("reverse_sequence axes {ba} and {ta} do not fit rank {}", dims.len());
    }
    let Some(lens) = lens.to_i64_vec() else {
        invalid!("reverse_sequence sequence_lens must be integers");
    };
    if lens.len() != dims[ba] {
        invalid!(
            "reverse_sequence has {} lengths for a batch of {}",
            lens.len(),
            dims[ba]
        );
    }
    let steps = dims[ta];
    let lens: Vec<usize> = lens
        .iter()
        .map(|&l| match usize::try_from(l) {
            Ok(l) if l <= steps => Ok(l),
            _ => invalid!("reverse_sequence length {l} is outside [0, {steps}]"),
        })
        .collect::<Result<_, _>>()?;
    let es = x.dtype().size_bytes();
    let strides = lightos_ir::shape::strides(dims);
    let src = x.bytes();
    let mut out = src.to_vec();
    let mut index = vec![0usize; dims.len()];
    for e in 0..x.len() {
        let (b, t) = (index[ba], index[ta]);
        if t < lens[b] {
            let from = e - t * strides[ta] + (lens[b] - 1 - t) * strides[ta];
            out[e * es..(e + 1) * es].copy_from_slice(&src[from * es..(from + 1) * es]);
        }
        for axis in (0..dims.len()).rev() {
            index[axis] += 1;
            if index[axis] < dims[axis] {
                break;
            }
            index[axis] = 0;
        }
    }
    Ok(Tensor::from_bytes(x.dtype(), dims.to_vec(), &out)?)
}

// ---------------------------------------------------------------------------------------
// TfIdfVectorizer
// ---------------------------------------------------------------------------------------

/// The pool's n-grams that are counted (lengths in `[min, max]`), each with its output
/// column. Ids run over every n-gram of the pool in order, counted or not; a repeated
/// n-gram keeps the column of its last occurrence.
fn pool_map(a: &TfIdfAttrs) -> Result<BTreeMap<Vec<i64>, usize>, EvalError> {
    let mut map = BTreeMap::new();
    let mut id = 0usize;
    for (level, &start) in a.ngram_counts.iter().enumerate() {
        let size = level + 1;
        let end = a.ngram_counts.get(level + 1).copied().unwrap_or(a.pool.len());
        if start > end || end > a.pool.len() {
            invalid!(
                "tf_idf_vectorizer ngram_counts {:?} do not fit a pool of {}",
                a.ngram_counts,
                a.pool.len()
            );
        }
        let grams = (end - start) / size;
        if size < a.min_gram_length || size > a.max_gram_length {
            id += grams;
            continue;
        }
        for g in 0..grams {
            let Some(&column) = a.ngram_indexes.get(id) else {
                invalid!(
                    "tf_idf_vectorizer has {} ngram_indexes for more n-grams",
                    a.ngram_indexes.len()
                );
            };
            let at = start + g * size;
            map.insert(a.pool[at..at + size].to_vec(), column);
            id += 1;
        }
    }
    Ok(map)
}

/// `TfIdfVectorizer` over integers: for each row, counts each pool n-gram of length in
/// `[min, max]` over every start and every skip distance `1..=max_skip_count + 1`
/// (unigrams once, at distance 1), then weighs the counts by the mode. f32 results.
pub(crate) fn tf_idf(a: &TfIdfAttrs, x: &Tensor) -> Result<Tensor, EvalError> {
    let Some(values) = x.to_i64_vec().filter(|_| x.dtype().is_int()) else {
        invalid!("tf_idf_vectorizer needs integers, got {}", x.dtype());
    };
    let (rows, cols, out_dims) = match x.dims() {
        &[c] => (1, c, vec![]),
        &[b, c] => (b, c, vec![b]),
        d => invalid!("tf_idf_vectorizer needs [C] or [B, C], got {d:?}"),
    };
    let Some(width) = a.ngram_indexes.iter().max().and_then(|m| m.checked_add(1)) else {
        invalid!("tf_idf_vectorizer needs ngram_indexes");
    };
    if !a.weights.is_empty() && a.weights.len() < width {
        invalid!("tf_idf_vectorizer has {} weights for {width} outputs", a.weights.len());
    }
    let map = pool_map(a)?;
    let Some(total) = rows.checked_mul(width) else {
        invalid!("tf_idf_vectorizer output size overflows");
    };
    let mut counts = vec![0u64; total];
    for r in 0..rows {
        let row = &values[r * cols..(r + 1) * cols];
        let freq = &mut counts[r * width..(r + 1) * width];
        for skip in 1..=a.max_skip_count.saturating_add(1) {
            let first = if skip == 1 {
                a.min_gram_length
            } else {
                a.min_gram_length.max(2)
            };
            if first > a.max_gram_length || (skip > 1 && a.max_gram_length < 2) {
                break;
            }
            if skip > cols {
                break;
            }
            for start in 0..cols {
                let mut key = Vec::with_capacity(a.max_gram_length);
                for size in 1..=a.max_gram_length {
                    let Some(pos) = (size - 1).checked_mul(skip).and_then(|o| o.checked_add(start)) else {
                        break;
                    };
                    if pos >= cols {
                        break;
                    }
                    key.push(row[pos]);
                    if size >= first {
                        if let Some(&col) = map.get(&key) {
                            freq[col] += 1;
                        }
                    }
                }
            }
        }
    }
    let y: Vec<f32> = counts
        .iter()
        .enumerate()
        .map(|(i, &f)| {
            let w = a.weights.get(i % width).copied();
            match a.mode {
                TfIdfMode::Tf => f as f32,
                TfIdfMode::Idf if f > 0 => w.unwrap_or(1.0),
                TfIdfMode::Idf => 0.0,
                TfIdfMode::TfIdf => match w {
                    Some(w) => w * f as f32,
                    None => f as f32,
                },
            }
        })
        .collect();
    let mut dims = out_dims;
    dims.push(width);
    Ok(Tensor::from_vec(dims, y)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn i64s(t: &Tensor) -> Vec<i64> {
        t.as_slice::<i64>().unwrap().to_vec()
    }

    #[test]
    fn nms_suppresses_overlaps() {
        // Three boxes: 0 and 1 overlap with IoU 0.81, 2 is apart.
        let boxes = Tensor::from_vec(
            vec![1, 3, 4],
            vec![0.0f32, 0.0, 1.0, 1.0, 0.0, 0.1, 1.0, 1.1, 0.0, 10.0, 1.0, 11.0],
        )
        .unwrap();
        let scores = Tensor::from_vec(vec![1, 1, 3], vec![0.9f32, 0.95, 0.5]).unwrap();
        let max = Tensor::from_vec(vec![1], vec![3i64]).unwrap();
        let iou = Tensor::from_vec(vec![1], vec![0.5f32]).unwrap();
        let a = NmsAttrs {
            center_point_box: false,
        };
        let out = non_max_suppression(&a, &boxes, &scores, Some(&max), Some(&iou), None).unwrap();
        assert_eq!(out.dims(), &[2, 3]);
        assert_eq!(i64s(&out), vec![0, 0, 1, 0, 0, 2]);
        // A score threshold of 0.6 drops box 2; a limit of 1 keeps only the best.
        let thr = Tensor::from_vec(vec![1], vec![0.6f32]).unwrap();
        let out = non_max_suppression(&a, &boxes, &scores, Some(&max), Some(&iou), Some(&thr)).unwrap();
        assert_eq!(i64s(&out), vec![0, 0, 1]);
        let one = Tensor::from_vec(vec![1], vec![1i64]).unwrap();
        let out = non_max_suppression(&a, &boxes, &scores, Some(&one), Some(&iou), None).unwrap();
        assert_eq!(i64s(&out), vec![0, 0, 1]);
        // Without a limit nothing is selected.
        let out = non_max_suppression(&a, &boxes, &scores, None, None, None).unwrap();
        assert_eq!(out.dims(), &[0, 3]);
        let bad = Tensor::from_vec(vec![1, 1, 2], vec![0.9f32, 0.95]).unwrap();
        assert!(non_max_suppression(&a, &boxes, &bad, Some(&max), None, None).is_err());
    }

    #[test]
    fn unique_sorted_and_by_occurrence() {
        let x = Tensor::from_vec(vec![6], vec![2.0f32, 1.0, 1.0, 3.0, 4.0, 3.0]).unwrap();
        let sorted = unique(
            &UniqueAttrs {
                axis: None,
                sorted: true,
            },
            &x,
        )
        .unwrap();
        assert_eq!(sorted[0].as_slice::<f32>().unwrap(), &[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(i64s(&sorted[1]), vec![1, 0, 3, 4]);
        assert_eq!(i64s(&sorted[2]), vec![1, 0, 0, 2, 3, 2]);
        assert_eq!(i64s(&sorted[3]), vec![2, 1, 2, 1]);
        let plain = unique(
            &UniqueAttrs {
                axis: None,
                sorted: false,
            },
            &x,
        )
        .unwrap();
        assert_eq!(plain[0].as_slice::<f32>().unwrap(), &[2.0, 1.0, 3.0, 4.0]);
        assert_eq!(i64s(&plain[1]), vec![0, 1, 3, 4]);
        assert_eq!(i64s(&plain[2]), vec![0, 1, 1, 2, 3, 2]);
        assert_eq!(i64s(&plain[3]), vec![1, 2, 2, 1]);
    }

    #[test]
    fn unique_rows() {
        let x = Tensor::from_vec(vec![3, 2], vec![1i32, 1, 0, 5, 1, 1]).unwrap();
        let out = unique(
            &UniqueAttrs {
                axis: Some(0),
                sorted: true,
            },
            &x,
        )
        .unwrap();
        assert_eq!(out[0].dims(), &[2, 2]);
        assert_eq!(out[0].as_slice::<i32>().unwrap(), &[0, 5, 1, 1]);
        assert_eq!(i64s(&out[1]), vec![1, 0]);
        assert_eq!(i64s(&out[2]), vec![1, 0, 1]);
        assert_eq!(i64s(&out[3]), vec![1, 2]);
        let cols = unique(
            &UniqueAttrs {
                axis: Some(1),
                sorted: true,
            },
            &x,
        )
        .unwrap();
        assert_eq!(cols[0].dims(), &[3, 2]);
        assert!(unique(
            &UniqueAttrs {
                axis: Some(2),
                sorted: true
            },
            &x
        )
        .is_err());
    }

    #[test]
    fn reverse_sequence_by_batch() {
        // [batch 2, time 3]: reverse the first 3 and the first 2.
        let x = Tensor::from_vec(vec![2, 3], vec![1i64, 2, 3, 4, 5, 6]).unwrap();
        let lens = Tensor::from_vec(vec![2], vec![3i64, 2]).unwrap();
        let a = ReverseSequenceAttrs {
            batch_axis: 0,
            time_axis: 1,
        };
        let y = reverse_sequence(&a, &x, &lens).unwrap();
        assert_eq!(i64s(&y), vec![3, 2, 1, 5, 4, 6]);
        let too_long = Tensor::from_vec(vec![2], vec![4i64, 2]).unwrap();
        assert!(reverse_sequence(&a, &x, &too_long).is_err());
    }

    #[test]
    fn tf_idf_counts_grams() {
        let a = TfIdfAttrs {
            mode: TfIdfMode::Tf,
            min_gram_length: 1,
            max_gram_length: 2,
            max_skip_count: 1,
            ngram_counts: vec![0, 2],
            ngram_indexes: vec![0, 1, 2],
            pool: vec![7, 8, 7, 9],
            weights: vec![],
        };
        // Unigrams 7 (twice), 8; bigram (7, 9) at skip 1 (positions 2, 3) only: skip 2 pairs
        // (7, 7) and (8, 9).
        let x = Tensor::from_vec(vec![4], vec![7i32, 8, 7, 9]).unwrap();
        let y = tf_idf(&a, &x).unwrap();
        assert_eq!(y.as_slice::<f32>().unwrap(), &[2.0, 1.0, 1.0]);
        let idf = TfIdfAttrs {
            mode: TfIdfMode::TfIdf,
            weights: vec![0.5, 1.0, 2.0],
            ..a
        };
        let y = tf_idf(&idf, &x).unwrap();
        assert_eq!(y.as_slice::<f32>().unwrap(), &[1.0, 1.0, 2.0]);
    }
}
