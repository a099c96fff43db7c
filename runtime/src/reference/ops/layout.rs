//! Data movement and shape ops. They move elements as raw bytes, so every dtype works
//! (bool included); only `range`, `eye_like` and `non_zero` look at values.
//!
//! Most ops here are one "table gather": output position `(i0, i1, ...)` takes the source
//! element at `tables[0][i0] + tables[1][i1] + ...` (see [`gather_tables`]).

use lightos_ir::infer::{normalize_axes, resolve_reshape, shape_range, slice_bounds, split_sizes};
use lightos_ir::shape::{byte_size, num_elements, strides};
use lightos_ir::{
    DType, DepthToSpaceAttrs, Dim, EyeLikeAttrs, PadAttrs, PadMode, ReshapeAttrs, ShapeAttrs, SplitAttrs, Tensor,
    TensorError, TriluAttrs,
};

use super::index::broadcast_dims;
use super::reduce::Int;
use super::scalar::{elems, with_float, with_int, Float, FloatElem};
use crate::reference::accumulate::Accum;
use crate::reference::{invalid, EvalError};

/// A table entry for an output position that takes the fill value instead of an element.
const OUTSIDE: usize = usize::MAX;

/// The element count of `dims`, checked.
fn count(dims: &[usize]) -> Result<usize, EvalError> {
    Ok(num_elements(dims).map_err(TensorError::from)?)
}

/// Reads an integer operand (`what` names it in errors).
fn ints(t: &Tensor, what: &str) -> Result<Vec<i64>, EvalError> {
    match t.to_i64_vec() {
        Some(v) => Ok(v),
        None => invalid!("{what} must be integers, got {}", t.dtype()),
    }
}

/// Reads a one-element integer operand.
fn one_int(t: &Tensor, what: &str) -> Result<i64, EvalError> {
    match ints(t, what)?.as_slice() {
        &[v] => Ok(v),
        _ => invalid!("{what} must hold one value, got {t:?}"),
    }
}

/// Reads a shape operand: non-negative integers.
fn dims_operand(t: &Tensor, what: &str) -> Result<Vec<usize>, EvalError> {
    ints(t, what)?
        .into_iter()
        .map(|d| usize::try_from(d).map_err(|_| EvalError::Invalid(format!("{what} has a negative size {d}"))))
        .collect()
}

/// Builds the output of `x`'s dtype and `out_dims` whose position `(i0, i1, ...)` takes
/// source element `tables[a][ia]` summed over axes `a`, or `fill` where a term is
/// [`OUTSIDE`]. `table(a, n, strides)` builds the table of output axis `a` (of size `n`)
/// from the row-major strides of `x`; it is not called when the output is empty, and
/// otherwise the strides are bounded by the output's size, so they cannot overflow.
fn gather_tables(
    x: &Tensor,
    out_dims: Vec<usize>,
    table: impl Fn(usize, usize, &[usize]) -> Vec<usize>,
    fill: Option<&[u8]>,
) -> Result<Tensor, EvalError> {
    let size = byte_size(&out_dims, x.dtype().size_bytes()).map_err(TensorError::from)?;
    if size == 0 {
        return Ok(Tensor::zeros(x.dtype(), out_dims)?);
    }
    let st = strides(x.dims());
    let tables: Vec<Vec<usize>> = out_dims.iter().enumerate().map(|(a, &n)| table(a, n, &st)).collect();
    let mut g = Gather {
        src: x.bytes(),
        es: x.dtype().size_bytes(),
        fill: fill.unwrap_or(&[]),
        out: Vec::with_capacity(size),
    };
    g.walk(&tables, 0)?;
    Ok(Tensor::from_bytes(x.dtype(), out_dims, &g.out)?)
}

/// The state of a table gather.
struct Gather<'a> {
    src: &'a [u8],
    es: usize,
    fill: &'a [u8],
    out: Vec<u8>,
}

impl Gather<'_> {
    /// Emits every output position under the remaining `tables`, offset by `base`.
    fn walk(&mut self, tables: &[Vec<usize>], base: usize) -> Result<(), EvalError> {
        let Some((first, rest)) = tables.split_first() else {
            return self.emit(base);
        };
        for &off in first {
            let next = if base == OUTSIDE || off == OUTSIDE {
                OUTSIDE
            } else {
                base.saturating_add(off)
            };
            self.walk(rest, next)?;
        }
        Ok(())
    }

    /// Appends source element `at` (or the fill value).
    fn emit(&mut self, at: usize) -> Result<(), EvalError> {
        let bytes = if at == OUTSIDE {
            Some(self.fill).filter(|f| f.len() == self.es)
        } else {
            at.checked_mul(self.es).and_then(|b| self.src.get(b..b + self.es))
        };
        match bytes {
            Some(b) => self.out.extend_from_slice(b),
            None => invalid!("gathered element {at} is out of range"),
        }
        Ok(())
    }
}

/// `Reshape` to the shape operand (ONNX's `0` and `-1` rules); shares the data.
pub(crate) fn reshape(r: &ReshapeAttrs, x: &Tensor, shape: &Tensor) -> Result<Tensor, EvalError> {
    let target = ints(shape, "reshape shape")?;
    let input: Vec<Dim> = x.dims().iter().map(|&d| Dim::Fixed(d)).collect();
    let fresh = &mut || Dim::Sym("?".into());
    let mut dims = Vec::with_capacity(target.len());
    for d in resolve_reshape(&input, &target, r.allowzero, fresh)? {
        match d {
            Dim::Fixed(n) => dims.push(n),
            Dim::Sym(_) => invalid!("cannot reshape {:?} to {target:?}", x.dims()),
        }
    }
    Ok(x.reshaped(dims)?)
}

/// `Flatten` to 2-d at `axis`; shares the data.
pub(crate) fn flatten(axis: usize, x: &Tensor) -> Result<Tensor, EvalError> {
    let dims = x.dims();
    if axis > dims.len() {
        invalid!("flatten axis {axis} is out of range for {dims:?}");
    }
    Ok(x.reshaped(vec![count(&dims[..axis])?, count(&dims[axis..])?])?)
}

/// `Squeeze` the given axes (all size-1 axes when absent); shares the data.
pub(crate) fn squeeze(x: &Tensor, axes: Option<&Tensor>) -> Result<Tensor, EvalError> {
    let dims = x.dims();
    let axes = match axes {
        Some(a) => normalize_axes(&ints(a, "squeeze axes")?, dims.len())?,
        None => (0..dims.len()).filter(|&i| dims[i] == 1).collect(),
    };
    let mut out = Vec::with_capacity(dims.len());
    for (i, &d) in dims.iter().enumerate() {
        if !axes.contains(&i) {
            out.push(d);
        } else if d != 1 {
            invalid!("squeeze axis {i} of {dims:?} has size {d}, not 1");
        }
    }
    Ok(x.reshaped(out)?)
}

/// `Unsqueeze`: inserts size-1 axes at the given output positions; shares the data.
pub(crate) fn unsqueeze(x: &Tensor, axes: &Tensor) -> Result<Tensor, EvalError> {
    let axes = ints(axes, "unsqueeze axes")?;
    let rank = x.dims().len() + axes.len();
    let axes = normalize_axes(&axes, rank)?;
    let mut rest = x.dims().iter();
    let out = (0..rank)
        .map(|i| {
            if axes.contains(&i) {
                1
            } else {
                rest.next().copied().unwrap_or(1)
            }
        })
        .collect();
    Ok(x.reshaped(out)?)
}

/// `Transpose`: output axis `i` is input axis `perm[i]`.
pub(crate) fn transpose(perm: &[usize], x: &Tensor) -> Result<Tensor, EvalError> {
    let dims = x.dims();
    let mut seen = vec![false; dims.len()];
    if perm.len() != dims.len()
        || perm
            .iter()
            .any(|&p| p >= dims.len() || std::mem::replace(&mut seen[p], true))
    {
        invalid!("transpose perm {perm:?} is not a permutation of the axes of {dims:?}");
    }
    let out: Vec<usize> = perm.iter().map(|&p| dims[p]).collect();
    let size = x.dtype().size_bytes();
    let words = permuted_words(size, dims, perm, x.bytes());
    Ok(Tensor::from_words(x.dtype(), out, words)?)
}

/// The elements (`size` bytes each) of `src`, of shape `dims`, in the order of the axes
/// `perm` (see [`permute_bytes`]), as words zero-padded past the last byte. Nothing is
/// zeroed first that the permutation is about to write.
fn permuted_words(size: usize, dims: &[usize], perm: &[usize], src: &[u8]) -> Vec<u64> {
    let len = src.len();
    let mut words: Vec<u64> = Vec::with_capacity(len.div_ceil(8));
    let dst = words.as_mut_ptr().cast::<u8>();
    // SAFETY: the capacity holds `len.div_ceil(8) * 8 >= len` bytes; `permute_bytes`
    // writes each of the first `len` exactly once (the permuted elements tile them), the
    // padding after them is zeroed here, so every word is initialized before `set_len`.
    unsafe {
        permute_bytes(size, dims, perm, src, dst, len);
        std::ptr::write_bytes(dst.add(len), 0, len.div_ceil(8) * 8 - len);
        words.set_len(len.div_ceil(8));
    }
    words
}

/// Writes the elements (`size` bytes each) of `src`, of shape `dims`, to the `len` bytes
/// at `dst` in the order of the axes `perm`: output axis `i` is input axis `perm[i]`.
/// Output axes that stay neighbours in the input are merged, and a run that is contiguous
/// in both is copied as one block.
///
/// # Safety
///
/// `dst` must be valid for `len == src.len()` bytes of writes and not overlap `src`.
unsafe fn permute_bytes(size: usize, dims: &[usize], perm: &[usize], src: &[u8], dst: *mut u8, len: usize) {
    if len == 0 {
        return;
    }
    let mut in_strides = vec![size; dims.len()];
    for a in (0..dims.len().saturating_sub(1)).rev() {
        in_strides[a] = in_strides[a + 1] * dims[a + 1];
    }
    // Output axes as (extent, input byte stride), merging neighbours.
    let mut axes: Vec<(usize, usize)> = Vec::with_capacity(perm.len());
    for &p in perm {
        let (n, st) = (dims[p], in_strides[p]);
        if n == 1 {
            continue;
        }
        match axes.last_mut() {
            Some((pn, pst)) if *pst == st * n => {
                *pn *= n;
                *pst = st;
            }
            _ => axes.push((n, st)),
        }
    }
    // The innermost run contiguous in the input is one block.
    let block = match axes.last() {
        Some(&(n, st)) if st == size => {
            axes.pop();
            n * size
        }
        _ => size,
    };
    let mut index = vec![0usize; axes.len()];
    let mut offset = 0usize;
    for start in (0..len).step_by(block) {
        let from = &src[offset..offset + block];
        // SAFETY: `start + block <= len` (the blocks tile the output), and the caller
        // gave `len` writable bytes at `dst`.
        std::ptr::copy_nonoverlapping(from.as_ptr(), dst.add(start), block);
        for a in (0..axes.len()).rev() {
            index[a] += 1;
            offset += axes[a].1;
            if index[a] < axes[a].0 {
                break;
            }
            offset -= axes[a].1 * axes[a].0;
            index[a] = 0;
        }
    }
}

/// The dims of `Concat` of `parts` along `axis`: the parts must share the dtype and
/// every other dim, and there must be at least one.
pub(crate) fn concat_dims(axis: usize, parts: &[&Tensor]) -> Result<Vec<usize>, EvalError> {
    let Some(first) = parts.first() else {
        invalid!("concat needs at least one operand");
    };
    let rank = first.dims().len();
    if axis >= rank {
        invalid!("concat axis {axis} is out of range for {:?}", first.dims());
    }
    let mut dims = first.dims().to_vec();
    dims[axis] = 0;
    for p in parts {
        let fits = p.dtype() == first.dtype()
            && p.dims().len() == rank
            && p.dims()
                .iter()
                .zip(first.dims())
                .enumerate()
                .all(|(i, (a, b))| i == axis || a == b);
        if !fits {
            invalid!("concat operands {:?} and {:?} do not fit along axis {axis}", first, p);
        }
        dims[axis] = match dims[axis].checked_add(p.dims()[axis]) {
            Some(n) => n,
            None => invalid!("concat size overflows"),
        };
    }
    Ok(dims)
}

/// `Concat` along `axis`; parts may be empty along it.
pub(crate) fn concat(axis: usize, parts: &[&Tensor]) -> Result<Tensor, EvalError> {
    let dims = concat_dims(axis, parts)?;
    let first = parts[0];
    let size = byte_size(&dims, first.dtype().size_bytes()).map_err(TensorError::from)?;
    if size == 0 {
        return Ok(Tensor::zeros(first.dtype(), dims)?);
    }
    let outer = count(&dims[..axis])?;
    let mut out = Vec::with_capacity(size);
    for o in 0..outer {
        for p in parts {
            let chunk = p.bytes().len() / outer;
            out.extend_from_slice(&p.bytes()[o * chunk..(o + 1) * chunk]);
        }
    }
    Ok(Tensor::from_bytes(first.dtype(), dims, &out)?)
}

/// The `len` elements of `x` along `axis` from `start`, for every outer index.
fn narrow(x: &Tensor, axis: usize, start: usize, len: usize) -> Result<Tensor, EvalError> {
    let mut dims = x.dims().to_vec();
    let n = dims[axis];
    dims[axis] = len;
    let size = byte_size(&dims, x.dtype().size_bytes()).map_err(TensorError::from)?;
    if size == 0 {
        return Ok(Tensor::zeros(x.dtype(), dims)?);
    }
    let outer = count(&dims[..axis])?;
    let row = x.bytes().len() / outer / n;
    let mut out = Vec::with_capacity(size);
    for o in 0..outer {
        let at = (o * n + start) * row;
        out.extend_from_slice(&x.bytes()[at..at + len * row]);
    }
    Ok(Tensor::from_bytes(x.dtype(), dims, &out)?)
}

/// `Split` along the axis into the operand's sizes, or into equal parts (the last smaller).
pub(crate) fn split(s: &SplitAttrs, x: &Tensor, split: Option<&Tensor>) -> Result<Vec<Tensor>, EvalError> {
    let Some(&n) = x.dims().get(s.axis) else {
        invalid!("split axis {} is out of range for {:?}", s.axis, x.dims());
    };
    let sizes = match split {
        Some(t) => {
            let sizes = dims_operand(t, "split sizes")?;
            let total = sizes.iter().try_fold(0usize, |a, &b| a.checked_add(b));
            if sizes.len() != s.outputs || total != Some(n) {
                invalid!("split sizes {sizes:?} do not cut {n} into {} parts", s.outputs);
            }
            sizes
        }
        None => split_sizes(n, s.outputs)?,
    };
    let mut start = 0;
    let mut out = Vec::with_capacity(sizes.len());
    for len in sizes {
        out.push(narrow(x, s.axis, start, len)?);
        start += len;
    }
    Ok(out)
}

/// `Slice` with ONNX's clamping; starts and ends may be any integer dtype.
pub(crate) fn slice(
    x: &Tensor,
    starts: &Tensor,
    ends: &Tensor,
    axes: Option<&Tensor>,
    steps: Option<&Tensor>,
) -> Result<Tensor, EvalError> {
    let dims = x.dims();
    let starts = ints(starts, "slice starts")?;
    let ends = ints(ends, "slice ends")?;
    let axes = match axes {
        Some(a) => normalize_axes(&ints(a, "slice axes")?, dims.len())?,
        None => (0..starts.len()).collect(),
    };
    let steps = match steps {
        Some(s) => ints(s, "slice steps")?,
        None => vec![1; starts.len()],
    };
    if ends.len() != starts.len() || axes.len() != starts.len() || steps.len() != starts.len() {
        invalid!("slice starts, ends, axes and steps differ in length");
    }
    // Per axis: (first index, step); axes not sliced are taken whole.
    let mut bounds: Vec<(i64, i64)> = vec![(0, 1); dims.len()];
    let mut out = dims.to_vec();
    for (i, &ax) in axes.iter().enumerate() {
        let Some(&d) = dims.get(ax) else {
            invalid!("slice axis {ax} is out of range for {dims:?}");
        };
        // A step of i64::MIN takes at most one element, as does -i64::MAX.
        let b = slice_bounds(d, starts[i], ends[i], steps[i].max(-i64::MAX))?;
        bounds[ax] = (b.start, b.step);
        out[ax] = b.count;
    }
    let table = |a: usize, n: usize, st: &[usize]| {
        let (start, step) = bounds[a];
        (0..n as i64).map(|i| (start + i * step) as usize * st[a]).collect()
    };
    gather_tables(x, out, table, None)
}

/// Normalizes an index against an axis of size `n` (negative counts from the end).
fn wrap_index(i: i64, n: usize, what: &str) -> Result<usize, EvalError> {
    let v = if i < 0 { i.checked_add(n as i64) } else { Some(i) };
    match v {
        Some(v) if v >= 0 && (v as u64) < n as u64 => Ok(v as usize),
        _ => invalid!("{what} index {i} is out of range for an axis of size {n}"),
    }
}

/// `Gather` slices along `axis` by indices (negative ones count from the end).
pub(crate) fn gather(axis: usize, x: &Tensor, indices: &Tensor) -> Result<Tensor, EvalError> {
    let dims = x.dims();
    let Some(&n) = dims.get(axis) else {
        invalid!("gather axis {axis} is out of range for {dims:?}");
    };
    let idx: Vec<usize> = ints(indices, "gather indices")?
        .into_iter()
        .map(|i| wrap_index(i, n, "gather"))
        .collect::<Result<_, _>>()?;
    let mut out = dims[..axis].to_vec();
    out.extend_from_slice(indices.dims());
    out.extend_from_slice(&dims[axis + 1..]);
    let size = byte_size(&out, x.dtype().size_bytes()).map_err(TensorError::from)?;
    if size == 0 {
        return Ok(Tensor::zeros(x.dtype(), out)?);
    }
    let outer = count(&dims[..axis])?;
    let row = x.bytes().len() / outer / n;
    let mut bytes = Vec::with_capacity(size);
    for o in 0..outer {
        for &i in &idx {
            let at = (o * n + i) * row;
            bytes.extend_from_slice(&x.bytes()[at..at + row]);
        }
    }
    Ok(Tensor::from_bytes(x.dtype(), out, &bytes)?)
}

/// `GatherElements`: the output has the indices' shape; the index replaces the position
/// along `axis`.
pub(crate) fn gather_elements(axis: usize, x: &Tensor, indices: &Tensor) -> Result<Tensor, EvalError> {
    let dims = x.dims();
    let idims = indices.dims();
    let fits = axis < dims.len()
        && idims.len() == dims.len()
        && idims
            .iter()
            .zip(dims)
            .enumerate()
            .all(|(i, (a, b))| i == axis || a <= b);
    if !fits {
        invalid!("gather_elements indices {idims:?} do not fit data {dims:?} on axis {axis}");
    }
    let idx = ints(indices, "gather_elements indices")?;
    if idx.is_empty() {
        return Ok(Tensor::zeros(x.dtype(), idims.to_vec())?);
    }
    // Valid indices make the data non-empty, so its strides cannot overflow.
    let idx: Vec<usize> = idx
        .into_iter()
        .map(|i| wrap_index(i, dims[axis], "gather_elements"))
        .collect::<Result<_, _>>()?;
    let (st, ist) = (strides(dims), strides(idims));
    let es = x.dtype().size_bytes();
    let mut bytes = Vec::with_capacity(idx.len() * es);
    for (p, &i) in idx.iter().enumerate() {
        let mut src = 0;
        for a in 0..dims.len() {
            let coord = if a == axis { i } else { p / ist[a] % idims[a] };
            src += coord * st[a];
        }
        bytes.extend_from_slice(&x.bytes()[src * es..(src + 1) * es]);
    }
    Ok(Tensor::from_bytes(x.dtype(), idims.to_vec(), &bytes)?)
}

/// `Expand`: broadcasts `x` and the shape operand together.
pub(crate) fn expand(x: &Tensor, shape: &Tensor) -> Result<Tensor, EvalError> {
    let out = broadcast_dims(x.dims(), &dims_operand(shape, "expand shape")?)?;
    let lead = out.len() - x.dims().len();
    let dims = x.dims().to_vec();
    let table = |a: usize, n: usize, st: &[usize]| {
        let s = if a < lead || dims[a - lead] == 1 {
            0
        } else {
            st[a - lead]
        };
        (0..n).map(|i| i * s).collect()
    };
    gather_tables(x, out, table, None)
}

/// `Tile`: repeats `x` along each axis.
pub(crate) fn tile(x: &Tensor, repeats: &Tensor) -> Result<Tensor, EvalError> {
    let dims = x.dims();
    let reps = dims_operand(repeats, "tile repeats")?;
    if reps.len() != dims.len() {
        invalid!("tile repeats {reps:?} do not fit {dims:?}");
    }
    let mut out = Vec::with_capacity(dims.len());
    for (&d, &r) in dims.iter().zip(&reps) {
        match d.checked_mul(r) {
            Some(n) => out.push(n),
            None => invalid!("tile of {dims:?} by {reps:?} overflows"),
        }
    }
    gather_tables(x, out, |a, n, st| (0..n).map(|i| i % dims[a] * st[a]).collect(), None)
}

/// `Pad` in every mode; negative pads crop.
pub(crate) fn pad(
    p: &PadAttrs,
    x: &Tensor,
    pads: &Tensor,
    value: Option<&Tensor>,
    axes: Option<&Tensor>,
) -> Result<Tensor, EvalError> {
    let dims = x.dims();
    let axes = match axes {
        Some(a) => normalize_axes(&ints(a, "pad axes")?, dims.len())?,
        None => (0..dims.len()).collect(),
    };
    let pads = ints(pads, "pads")?;
    if pads.len() != 2 * axes.len() {
        invalid!("pads {pads:?} do not fit {} axes", axes.len());
    }
    let mut begin = vec![0i64; dims.len()];
    let mut out = dims.to_vec();
    for (i, &ax) in axes.iter().enumerate() {
        let (b, e) = (pads[i], pads[axes.len() + i]);
        let size = (dims[ax] as i64).checked_add(b).and_then(|s| s.checked_add(e));
        match size {
            Some(s) if s >= 0 => out[ax] = s as usize,
            _ => invalid!("pads {pads:?} give axis {ax} of {dims:?} a negative size"),
        }
        if p.mode != PadMode::Constant && dims[ax] == 0 && out[ax] > 0 {
            invalid!("{:?} pad of an empty axis {ax}", p.mode);
        }
        begin[ax] = b;
    }
    let fill = match value {
        Some(v) if v.dtype() != x.dtype() => invalid!("pad value {v:?} is not {}", x.dtype()),
        Some(v) if !v.is_empty() => v.bytes()[..x.dtype().size_bytes()].to_vec(),
        _ => vec![0; x.dtype().size_bytes()],
    };
    let table = |a: usize, n: usize, st: &[usize]| {
        (0..n as i64)
            .map(|i| pad_source(p.mode, i - begin[a], dims[a]).map_or(OUTSIDE, |j| j * st[a]))
            .collect()
    };
    gather_tables(x, out, table, Some(&fill))
}

/// The source index along an axis of size `d` for unclamped position `j`; `None` takes
/// the constant. `d` is not 0 when the mode is not constant.
fn pad_source(mode: PadMode, j: i64, d: usize) -> Option<usize> {
    let d = d as i64;
    if (0..d).contains(&j) {
        return Some(j as usize);
    }
    let k = match mode {
        PadMode::Constant => return None,
        PadMode::Edge => j.clamp(0, d - 1),
        PadMode::Wrap => j.rem_euclid(d),
        PadMode::Reflect if d == 1 => 0,
        PadMode::Reflect => {
            let m = j.rem_euclid(2 * (d - 1));
            if m >= d {
                2 * (d - 1) - m
            } else {
                m
            }
        }
    };
    Some(k as usize)
}

/// `Shape`: the dims from `start` to `end`, as `i64`.
pub(crate) fn shape(s: &ShapeAttrs, x: &Tensor) -> Result<Tensor, EvalError> {
    let (start, end) = shape_range(s, x.dims().len());
    let v: Vec<i64> = x.dims()[start..end].iter().map(|&d| d as i64).collect();
    Ok(Tensor::from_vec(vec![v.len()], v)?)
}

/// `ConstantOfShape`: the one-element `value` repeated to the shape operand.
pub(crate) fn constant_of_shape(value: &Tensor, shape: &Tensor) -> Result<Tensor, EvalError> {
    if value.len() != 1 {
        invalid!("constant_of_shape value must hold one element, got {value:?}");
    }
    let dims = dims_operand(shape, "constant_of_shape shape")?;
    byte_size(&dims, value.dtype().size_bytes()).map_err(TensorError::from)?;
    let bytes = value.bytes().repeat(count(&dims)?);
    Ok(Tensor::from_bytes(value.dtype(), dims, &bytes)?)
}

/// A float element type built straight from `f64` (one rounding, as NumPy's `astype`).
trait FromF64: FloatElem {
    /// Rounds from `f64`.
    fn round_from_f64(v: f64) -> Self;
}

impl FromF64 for f32 {
    fn round_from_f64(v: f64) -> f32 {
        v as f32
    }
}

impl FromF64 for f64 {
    fn round_from_f64(v: f64) -> f64 {
        v
    }
}

impl FromF64 for half::f16 {
    fn round_from_f64(v: f64) -> half::f16 {
        half::f16::from_f64(v)
    }
}

impl FromF64 for half::bf16 {
    fn round_from_f64(v: f64) -> half::bf16 {
        half::bf16::from_f64(v)
    }
}

/// The largest element count a `range` may produce.
const MAX_RANGE: u64 = 1 << 40;

/// `Range`: `max(ceil((limit - start) / delta), 0)` values `start + i * delta`. Floats
/// compute in `f64` (as the ONNX reference does) and round once; integers are exact.
pub(crate) fn range(start: &Tensor, limit: &Tensor, delta: &Tensor) -> Result<Tensor, EvalError> {
    let dtype = start.dtype();
    for t in [start, limit, delta] {
        if t.dtype() != dtype || t.len() != 1 {
            invalid!("range operands must be one-element tensors of one dtype, got {t:?}");
        }
    }
    with_float!(dtype, T => {
        let [s, l, d] = [start, limit, delta].map(|t| elems::<T>(t).map(|v| v[0].widen().to_f64()));
        let (s, l, d) = (s?, l?, d?);
        if d == 0.0 {
            invalid!("range delta is 0");
        }
        let n = ((l - s) / d).ceil().max(0.0);
        if n > MAX_RANGE as f64 {
            invalid!("range from {s} to {l} by {d} has too many elements");
        }
        let v: Vec<T> = (0..n as u64).map(|i| T::round_from_f64(s + i as f64 * d)).collect();
        Ok(Tensor::from_vec(vec![v.len()], v)?)
    }, _ => with_int!(dtype, T => int_range::<T>(start, limit, delta),
        _ => Err(EvalError::UnsupportedDType { op: "Range".into(), dtype })))
}

/// `Range` over an integer type, exactly.
fn int_range<T: Int>(start: &Tensor, limit: &Tensor, delta: &Tensor) -> Result<Tensor, EvalError> {
    let [s, l, d] = [start, limit, delta].map(|t| elems::<T>(t).map(|v| v[0].to_i128()));
    let (s, l, d) = (s?, l?, d?);
    if d == 0 {
        invalid!("range delta is 0");
    }
    let diff = l - s;
    let n = if diff != 0 && (diff > 0) == (d > 0) {
        (diff.abs() + d.abs() - 1) / d.abs()
    } else {
        0
    };
    if n > MAX_RANGE as i128 {
        invalid!("range from {s} to {l} by {d} has too many elements");
    }
    let v: Vec<T> = (0..n).map(|i| T::from_i128(s + i * d)).collect();
    Ok(Tensor::from_vec(vec![v.len()], v)?)
}

/// `Trilu`: keeps the upper (`j - i >= k`) or lower (`j - i <= k`) triangle of the last two
/// axes and zeroes the rest.
pub(crate) fn trilu(t: &TriluAttrs, x: &Tensor, k: Option<&Tensor>) -> Result<Tensor, EvalError> {
    let dims = x.dims();
    if dims.len() < 2 {
        invalid!("trilu needs rank 2 or more, got {dims:?}");
    }
    let k = match k {
        Some(k) => one_int(k, "trilu k")?,
        None => 0,
    };
    let (rows, cols) = (dims[dims.len() - 2], dims[dims.len() - 1]);
    let es = x.dtype().size_bytes();
    let mut bytes = x.bytes().to_vec();
    for (e, chunk) in bytes.chunks_exact_mut(es).enumerate() {
        let (i, j) = ((e / cols % rows) as i64, (e % cols) as i64);
        let keep = if t.upper { j - i >= k } else { j - i <= k };
        if !keep {
            chunk.fill(0);
        }
    }
    Ok(Tensor::from_bytes(x.dtype(), dims.to_vec(), &bytes)?)
}

/// The `[n, c, h, w]` dims of a rank-4 operand.
fn nchw(x: &Tensor, what: &str) -> Result<[usize; 4], EvalError> {
    match x.dims() {
        &[n, c, h, w] => Ok([n, c, h, w]),
        d => invalid!("{what} needs a rank-4 input, got {d:?}"),
    }
}

/// `a * b`, checked.
fn mul(a: usize, b: usize) -> Result<usize, EvalError> {
    match a.checked_mul(b) {
        Some(v) => Ok(v),
        None => invalid!("size {a} times {b} overflows"),
    }
}

/// `DepthToSpace` in `DCR` or `CRD` order: a reshape, a transpose and a reshape.
pub(crate) fn depth_to_space(d: &DepthToSpaceAttrs, x: &Tensor) -> Result<Tensor, EvalError> {
    let [n, c, h, w] = nchw(x, "depth_to_space")?;
    let b = d.blocksize;
    let bb = b.checked_mul(b).filter(|&bb| bb > 0 && c % bb == 0);
    let Some(bb) = bb else {
        invalid!("depth_to_space channels {c} are not divisible by blocksize {b} squared");
    };
    let (tmp, perm) = if d.crd {
        (vec![n, c / bb, b, b, h, w], [0, 1, 4, 2, 5, 3])
    } else {
        (vec![n, b, b, c / bb, h, w], [0, 3, 4, 1, 5, 2])
    };
    let out = vec![n, c / bb, mul(h, b)?, mul(w, b)?];
    Ok(transpose(&perm, &x.reshaped(tmp)?)?.reshaped(out)?)
}

/// `SpaceToDepth`: a reshape to `[n, c, h / b, b, w / b, b]`, a transpose (`DCR` order:
/// the block offsets before the channel; `CRD`: after it) and a reshape.
pub(crate) fn space_to_depth(d: &DepthToSpaceAttrs, x: &Tensor) -> Result<Tensor, EvalError> {
    let [n, c, h, w] = nchw(x, "space_to_depth")?;
    let b = d.blocksize;
    if b == 0 || h % b != 0 || w % b != 0 {
        invalid!("space_to_depth sizes {h}x{w} are not divisible by blocksize {b}");
    }
    let perm: &[usize] = if d.crd {
        &[0, 1, 3, 5, 2, 4]
    } else {
        &[0, 3, 5, 1, 2, 4]
    };
    let t = transpose(perm, &x.reshaped(vec![n, c, h / b, b, w / b, b])?)?;
    Ok(t.reshaped(vec![n, mul(c, mul(b, b)?)?, h / b, w / b])?)
}

/// `OneHot`: a new axis of size `depth` at `axis`, `values[1]` where it equals the index
/// (negative indices count from `depth`; out-of-range ones match nothing), else `values[0]`.
pub(crate) fn one_hot(axis: usize, indices: &Tensor, depth: &Tensor, values: &Tensor) -> Result<Tensor, EvalError> {
    let idims = indices.dims();
    if axis > idims.len() {
        invalid!("one_hot axis {axis} is out of range for indices {idims:?}");
    }
    let depth = match depth.to_f64_vec().as_slice() {
        &[v] if v >= 0.0 && v <= MAX_RANGE as f64 => v as usize,
        _ => invalid!("one_hot depth must be one non-negative value, got {depth:?}"),
    };
    let es = values.dtype().size_bytes();
    if values.len() != 2 {
        invalid!("one_hot values must hold [off, on], got {values:?}");
    }
    let (off, on) = values.bytes().split_at(es);
    let mut dims = idims.to_vec();
    dims.insert(axis, depth);
    let size = byte_size(&dims, es).map_err(TensorError::from)?;
    if size == 0 {
        return Ok(Tensor::zeros(values.dtype(), dims)?);
    }
    let idx = indices.to_f64_vec();
    let inner = count(&idims[axis..])?;
    let mut bytes = Vec::with_capacity(size);
    for o in 0..count(&idims[..axis])? {
        for d in 0..depth {
            for i in 0..inner {
                let v = idx[o * inner + i];
                let v = if v < 0.0 { v + depth as f64 } else { v };
                bytes.extend_from_slice(if v == d as f64 { on } else { off });
            }
        }
    }
    Ok(Tensor::from_bytes(values.dtype(), dims, &bytes)?)
}

/// The bytes of the value 1 in `dtype`.
fn one_bytes(dtype: DType) -> Vec<u8> {
    with_float!(dtype, T => bytemuck::bytes_of(&T::narrow(<T as FloatElem>::C::ONE)).to_vec(), _ => {
        let mut v = vec![0; dtype.size_bytes()];
        v[0] = 1;
        v
    })
}

/// `EyeLike`: ones on diagonal `k` of a rank-2 shape, zeros elsewhere.
pub(crate) fn eye_like(e: &EyeLikeAttrs, x: &Tensor) -> Result<Tensor, EvalError> {
    let &[rows, cols] = x.dims() else {
        invalid!("eye_like needs a rank-2 operand, got {:?}", x.dims());
    };
    let dtype = e.dtype.unwrap_or(x.dtype());
    let es = dtype.size_bytes();
    let one = one_bytes(dtype);
    let mut bytes = vec![0; x.len() * es];
    for (p, chunk) in bytes.chunks_exact_mut(es).enumerate() {
        if (p % cols) as i64 - (p / cols) as i64 == e.k {
            chunk.copy_from_slice(&one);
        }
    }
    Ok(Tensor::from_bytes(dtype, vec![rows, cols], &bytes)?)
}

/// Whether each element is non-zero (NaN is; `-0.0` is not).
fn nonzero_mask(x: &Tensor) -> Result<Vec<bool>, EvalError> {
    with_float!(x.dtype(), T => Ok(elems::<T>(x)?.iter().map(|v| v.widen() != <T as FloatElem>::C::ZERO).collect()), _ => {
        Ok(x.bytes().chunks_exact(x.dtype().size_bytes()).map(|c| c.iter().any(|&b| b != 0)).collect())
    })
}

/// `NonZero`: the `[rank, count]` coordinates of the non-zero elements, row-major.
pub(crate) fn non_zero(x: &Tensor) -> Result<Tensor, EvalError> {
    let mask = nonzero_mask(x)?;
    let hits: Vec<usize> = (0..mask.len()).filter(|&p| mask[p]).collect();
    let dims = x.dims();
    if dims.is_empty() || hits.is_empty() {
        return Ok(Tensor::zeros(DType::I64, vec![dims.len(), hits.len()])?);
    }
    let st = strides(dims);
    let mut out = Vec::with_capacity(dims.len() * hits.len());
    for a in 0..dims.len() {
        out.extend(hits.iter().map(|&p| (p / st[a] % dims[a]) as i64));
    }
    Ok(Tensor::from_vec(vec![dims.len(), hits.len()], out)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(dims: &[usize], v: &[f32]) -> Tensor {
        Tensor::from_vec(dims.to_vec(), v.to_vec()).unwrap()
    }

    fn i64s(v: &[i64]) -> Tensor {
        Tensor::from_vec(vec![v.len()], v.to_vec()).unwrap()
    }

    fn f32s(t: &Tensor) -> Vec<f32> {
        t.as_slice::<f32>().unwrap().to_vec()
    }

    fn seq(dims: &[usize]) -> Tensor {
        let n = dims.iter().product::<usize>();
        t(dims, &(0..n).map(|i| i as f32).collect::<Vec<_>>())
    }

    #[test]
    fn reshapes() {
        let x = seq(&[2, 3, 4]);
        let r = reshape(&ReshapeAttrs { allowzero: false }, &x, &i64s(&[0, -1])).unwrap();
        assert_eq!(r.dims(), &[2, 12]);
        assert!(reshape(&ReshapeAttrs { allowzero: false }, &x, &i64s(&[5, -1])).is_err());
        assert_eq!(flatten(1, &x).unwrap().dims(), &[2, 12]);
        assert_eq!(flatten(0, &x).unwrap().dims(), &[1, 24]);
        let y = seq(&[1, 3, 1]);
        assert_eq!(squeeze(&y, None).unwrap().dims(), &[3]);
        assert_eq!(squeeze(&y, Some(&i64s(&[-1]))).unwrap().dims(), &[1, 3]);
        assert!(squeeze(&y, Some(&i64s(&[1]))).is_err());
        assert_eq!(unsqueeze(&seq(&[3]), &i64s(&[0, -1])).unwrap().dims(), &[1, 3, 1]);
    }

    #[test]
    fn transposes() {
        let x = seq(&[2, 3]);
        let y = transpose(&[1, 0], &x).unwrap();
        assert_eq!(y.dims(), &[3, 2]);
        assert_eq!(f32s(&y), vec![0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
        assert!(transpose(&[0, 0], &x).is_err());
    }

    #[test]
    fn concat_and_split() {
        let a = seq(&[2, 1]);
        let b = t(&[2, 2], &[10.0, 11.0, 12.0, 13.0]);
        let e = t(&[2, 0], &[]);
        let c = concat(1, &[&a, &e, &b]).unwrap();
        assert_eq!(c.dims(), &[2, 3]);
        assert_eq!(f32s(&c), vec![0.0, 10.0, 11.0, 1.0, 12.0, 13.0]);
        let parts = split(&SplitAttrs { axis: 1, outputs: 2 }, &c, Some(&i64s(&[2, 1]))).unwrap();
        assert_eq!(f32s(&parts[0]), vec![0.0, 10.0, 1.0, 12.0]);
        assert_eq!(f32s(&parts[1]), vec![11.0, 13.0]);
        let eq = split(&SplitAttrs { axis: 1, outputs: 2 }, &c, None).unwrap();
        assert_eq!(eq[0].dims(), &[2, 2]);
        assert_eq!(eq[1].dims(), &[2, 1]);
    }

    #[test]
    fn slices() {
        let x = seq(&[3, 4]);
        let i32s = |v: &[i32]| Tensor::from_vec(vec![v.len()], v.to_vec()).unwrap();
        let y = slice(&x, &i32s(&[1, 0]), &i32s(&[3, 4]), None, Some(&i64s(&[1, 2]))).unwrap();
        assert_eq!(f32s(&y), vec![4.0, 6.0, 8.0, 10.0]);
        let r = slice(
            &x,
            &i64s(&[-1]),
            &i64s(&[i64::MIN]),
            Some(&i64s(&[1])),
            Some(&i64s(&[-1])),
        )
        .unwrap();
        assert_eq!(r.dims(), &[3, 4]);
        assert_eq!(&f32s(&r)[..4], &[3.0, 2.0, 1.0, 0.0]);
        let big = slice(
            &x,
            &i64s(&[1]),
            &i64s(&[i64::MAX]),
            Some(&i64s(&[0])),
            Some(&i64s(&[i64::MIN])),
        )
        .unwrap();
        assert_eq!(big.dims(), &[0, 4]);
    }

    #[test]
    fn gathers() {
        let x = seq(&[3, 2]);
        let g = gather(0, &x, &i64s(&[2, -3])).unwrap();
        assert_eq!(f32s(&g), vec![4.0, 5.0, 0.0, 1.0]);
        let err = gather(0, &x, &i64s(&[3])).unwrap_err();
        assert!(err.to_string().contains("index 3"));
        let idx = Tensor::from_vec(vec![2, 2], vec![0i64, 0, 1, 0]).unwrap();
        let ge = gather_elements(1, &t(&[2, 2], &[1.0, 2.0, 3.0, 4.0]), &idx).unwrap();
        assert_eq!(f32s(&ge), vec![1.0, 1.0, 4.0, 3.0]);
    }

    #[test]
    fn expand_and_tile() {
        let x = t(&[3, 1], &[1.0, 2.0, 3.0]);
        let e = expand(&x, &i64s(&[2, 1, 2])).unwrap();
        assert_eq!(e.dims(), &[2, 3, 2]);
        assert_eq!(
            f32s(&e),
            vec![1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 1.0, 1.0, 2.0, 2.0, 3.0, 3.0]
        );
        let tl = tile(&seq(&[1, 2]), &i64s(&[2, 2])).unwrap();
        assert_eq!(f32s(&tl), vec![0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0]);
    }

    #[test]
    fn pads() {
        let x = t(&[3], &[1.0, 2.0, 3.0]);
        let run = |mode, p: &[i64]| {
            f32s(&pad(&PadAttrs { mode }, &x, &i64s(p), Some(&Tensor::scalar(9.0f32)), None).unwrap())
        };
        assert_eq!(run(PadMode::Constant, &[2, 1]), vec![9.0, 9.0, 1.0, 2.0, 3.0, 9.0]);
        assert_eq!(run(PadMode::Edge, &[2, 1]), vec![1.0, 1.0, 1.0, 2.0, 3.0, 3.0]);
        assert_eq!(run(PadMode::Reflect, &[2, 1]), vec![3.0, 2.0, 1.0, 2.0, 3.0, 2.0]);
        assert_eq!(run(PadMode::Wrap, &[2, 1]), vec![2.0, 3.0, 1.0, 2.0, 3.0, 1.0]);
        assert_eq!(run(PadMode::Constant, &[-1, 1]), vec![2.0, 3.0, 9.0]);
        let y = seq(&[2, 2]);
        let p = pad(
            &PadAttrs {
                mode: PadMode::Constant,
            },
            &y,
            &i64s(&[1, 0]),
            None,
            Some(&i64s(&[-1])),
        )
        .unwrap();
        assert_eq!(f32s(&p), vec![0.0, 0.0, 1.0, 0.0, 2.0, 3.0]);
    }

    #[test]
    fn shapes_and_constants() {
        let x = seq(&[2, 3, 4]);
        let s = shape(&ShapeAttrs { start: 1, end: None }, &x).unwrap();
        assert_eq!(s.as_slice::<i64>().unwrap(), &[3, 4]);
        let c = constant_of_shape(&Tensor::from_vec(vec![1], vec![7i32]).unwrap(), &i64s(&[2, 2])).unwrap();
        assert_eq!(c.as_slice::<i32>().unwrap(), &[7; 4]);
        let r = range(
            &Tensor::scalar(1.0f32),
            &Tensor::scalar(2.0f32),
            &Tensor::scalar(0.25f32),
        )
        .unwrap();
        assert_eq!(f32s(&r), vec![1.0, 1.25, 1.5, 1.75]);
        let r = range(&Tensor::scalar(10i32), &Tensor::scalar(3i32), &Tensor::scalar(-3i32)).unwrap();
        assert_eq!(r.as_slice::<i32>().unwrap(), &[10, 7, 4]);
        let r = range(&Tensor::scalar(3i64), &Tensor::scalar(3i64), &Tensor::scalar(1i64)).unwrap();
        assert_eq!(r.dims(), &[0]);
    }

    #[test]
    fn triangles_and_eye() {
        let x = seq(&[3, 3]);
        let up = trilu(&TriluAttrs { upper: true }, &x, Some(&Tensor::scalar(1i64))).unwrap();
        assert_eq!(f32s(&up), vec![0.0, 1.0, 2.0, 0.0, 0.0, 5.0, 0.0, 0.0, 0.0]);
        let lo = trilu(&TriluAttrs { upper: false }, &x, None).unwrap();
        assert_eq!(f32s(&lo), vec![0.0, 0.0, 0.0, 3.0, 4.0, 0.0, 6.0, 7.0, 8.0]);
        let e = eye_like(
            &EyeLikeAttrs {
                k: -1,
                dtype: Some(DType::I32),
            },
            &seq(&[3, 2]),
        )
        .unwrap();
        assert_eq!(e.as_slice::<i32>().unwrap(), &[0, 0, 1, 0, 0, 1]);
        let f = eye_like(&EyeLikeAttrs { k: 0, dtype: None }, &seq(&[2, 2])).unwrap();
        assert_eq!(f32s(&f), vec![1.0, 0.0, 0.0, 1.0]);
    }

    #[test]
    fn depth_space_round_trip() {
        let x = seq(&[1, 4, 1, 2]);
        let dcr = depth_to_space(
            &DepthToSpaceAttrs {
                blocksize: 2,
                crd: false,
            },
            &x,
        )
        .unwrap();
        assert_eq!(dcr.dims(), &[1, 1, 2, 4]);
        assert_eq!(f32s(&dcr), vec![0.0, 2.0, 1.0, 3.0, 4.0, 6.0, 5.0, 7.0]);
        let s2d = |crd| DepthToSpaceAttrs { blocksize: 2, crd };
        assert_eq!(space_to_depth(&s2d(false), &dcr).unwrap(), x);
        // CRD is the inverse of depth_to_space's CRD.
        let x8 = seq(&[1, 8, 1, 1]);
        let back = depth_to_space(&s2d(true), &x8).unwrap();
        assert_eq!(space_to_depth(&s2d(true), &back).unwrap(), x8);
        let crd = depth_to_space(
            &DepthToSpaceAttrs {
                blocksize: 2,
                crd: true,
            },
            &x,
        )
        .unwrap();
        assert_eq!(f32s(&crd), vec![0.0, 2.0, 1.0, 3.0, 4.0, 6.0, 5.0, 7.0]);
        let x8 = seq(&[1, 8, 1, 1]);
        let crd = depth_to_space(
            &DepthToSpaceAttrs {
                blocksize: 2,
                crd: true,
            },
            &x8,
        )
        .unwrap();
        assert_eq!(f32s(&crd), vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]);
        let dcr = depth_to_space(
            &DepthToSpaceAttrs {
                blocksize: 2,
                crd: false,
            },
            &x8,
        )
        .unwrap();
        assert_eq!(f32s(&dcr), vec![0.0, 2.0, 4.0, 6.0, 1.0, 3.0, 5.0, 7.0]);
    }

    #[test]
    fn one_hots_and_non_zero() {
        let idx = Tensor::from_vec(vec![3], vec![0i64, -1, 5]).unwrap();
        let vals = t(&[2], &[0.0, 1.0]);
        let oh = one_hot(1, &idx, &Tensor::scalar(3i64), &vals).unwrap();
        assert_eq!(oh.dims(), &[3, 3]);
        assert_eq!(f32s(&oh), vec![1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0]);
        let oh0 = one_hot(0, &idx, &Tensor::scalar(3i64), &vals).unwrap();
        assert_eq!(f32s(&oh0), vec![1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
        let x = t(&[2, 2], &[0.0, -0.0, f32::NAN, 2.0]);
        let nz = non_zero(&x).unwrap();
        assert_eq!(nz.dims(), &[2, 2]);
        assert_eq!(nz.as_slice::<i64>().unwrap(), &[1, 1, 0, 1]);
        assert_eq!(non_zero(&Tensor::scalar(3i32)).unwrap().dims(), &[0, 1]);
    }

    #[test]
    fn bad_and_degenerate_inputs() {
        let big = 1usize << 40;
        let x = Tensor::zeros(DType::F32, vec![0, big, big]).unwrap();
        let idx = Tensor::from_vec(vec![1, 1, 1], vec![0i64]).unwrap();
        assert!(gather_elements(0, &x, &idx).is_err());
        assert_eq!(transpose(&[0, 2, 1], &x).unwrap().dims(), &[0, big, big]);
        assert_eq!(non_zero(&x).unwrap().dims(), &[3, 0]);
        let (one, zero) = (Tensor::scalar(1.0f32), Tensor::scalar(0.0f32));
        assert!(range(&zero, &Tensor::scalar(f32::INFINITY), &one).is_err());
        assert!(range(&zero, &one, &zero).is_err());
        let edge = PadAttrs { mode: PadMode::Edge };
        let empty = t(&[0], &[]);
        assert!(pad(&edge, &empty, &i64s(&[1, 0]), None, None).is_err());
        assert!(pad(&edge, &seq(&[2]), &i64s(&[-3, 0]), None, None).is_err());
        let bools = Tensor::from_bools(vec![2], &[true, false]).unwrap();
        let g = gather(0, &bools, &i64s(&[1, 0, 0])).unwrap();
        assert_eq!(g.as_bool_bytes().unwrap(), &[0, 1, 1]);
    }
}
