//! Matrix products, convolution and pooling.
//!
//! Orders of the numerical contract:
//!
//! - `MatMul`, `Gemm`: each output element is a dot product along K in order from zero,
//!   `acc = acc + a * b`, each step a rounded multiply then a rounded add, in the compute
//!   type (`f16` and `bf16` accumulate in `f32` and round once at the end). Integers wrap.
//! - `Conv`: per output element, `acc = 0`; for each input channel of the group
//!   (ascending), for each kernel position in row-major order, `acc = acc + x * w`; then
//!   `y = acc + bias`. Kernel positions that fall into the padding are skipped, not added as
//!   `0 * w` (the two differ only for infinite or NaN weights, where skipping keeps the
//!   padding neutral).
//! - Windowed pools: per window, in row-major order over kernel positions, sequentially
//!   from zero. Global pools use the [`tree_sum`] order.

use lightos_ir::infer::{conv_geometry, ConvGeometry};
use lightos_ir::op::{ConvAttrs, GemmAttrs, Padding, PoolAttrs, PoolKind};
use lightos_ir::{DType, Element, Tensor};

use super::index::{broadcast_dims, broadcast_strides, StridedWalk};
use super::scalar::{elems, with_float, with_int, Float, FloatElem};
use crate::reference::accumulate::{tree_sum, Accum};
use crate::reference::{invalid, EvalError};

/// The error for a dtype `op` has no kernel for.
fn unsupported(op: &str, dtype: DType) -> EvalError {
    EvalError::UnsupportedDType { op: op.into(), dtype }
}

/// The element count of `dims`, or an error when it overflows.
fn numel(dims: &[usize]) -> Result<usize, EvalError> {
    match dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d)) {
        Some(n) => Ok(n),
        None => invalid!("shape {dims:?} overflows"),
    }
}

/// The arithmetic of dot products: IEEE rounding for floats, wrapping for integers.
trait Ring: Copy {
    /// Zero.
    const ZERO: Self;
    /// `self + o`.
    fn add(self, o: Self) -> Self;
    /// `self * o`.
    fn mul(self, o: Self) -> Self;
    /// A `Gemm` scale in this type; `None` where it cannot be represented (a
    /// non-integral scale for an integer type).
    fn scale(v: f32) -> Option<Self>;
}

/// Implements [`Ring`] for float types with plain IEEE arithmetic.
macro_rules! ring_float {
    ($($t:ty),*) => {$(
        impl Ring for $t {
            const ZERO: Self = 0.0;
            fn add(self, o: Self) -> Self { self + o }
            fn mul(self, o: Self) -> Self { self * o }
            fn scale(v: f32) -> Option<Self> { Some(v as $t) }
        }
    )*};
}
ring_float!(f32, f64);

/// Implements [`Ring`] for integer types with wrapping arithmetic.
macro_rules! ring_int {
    ($($t:ty),*) => {$(
        impl Ring for $t {
            const ZERO: Self = 0;
            fn add(self, o: Self) -> Self { self.wrapping_add(o) }
            fn mul(self, o: Self) -> Self { self.wrapping_mul(o) }
            fn scale(v: f32) -> Option<Self> {
                // Integral scales wrap into the type like every other integer result.
                (v.is_finite() && v.fract() == 0.0 && v.abs() < 9.2e18).then(|| v as i64 as $t)
            }
        }
    )*};
}
ring_int!(i8, i16, i32, i64, u8, u16, u32, u64);

/// How a stored element enters and leaves a dot product's compute type.
trait DotElem: Element {
    /// The compute type.
    type R: Ring;
    /// Converts to the compute type.
    fn up(self) -> Self::R;
    /// Converts from the compute type (rounding once for `f16` and `bf16`).
    fn down(r: Self::R) -> Self;
}

/// Implements [`DotElem`] for float types through [`FloatElem`].
macro_rules! dot_float {
    ($($t:ty => $r:ty),*) => {$(
        impl DotElem for $t {
            type R = $r;
            fn up(self) -> $r { FloatElem::widen(self) }
            fn down(r: $r) -> Self { <$t as FloatElem>::narrow(r) }
        }
    )*};
}
dot_float!(f32 => f32, f64 => f64, half::f16 => f32, half::bf16 => f32);

/// Implements [`DotElem`] for integer types, computing in the type itself.
macro_rules! dot_int {
    ($($t:ty),*) => {$(
        impl DotElem for $t {
            type R = $t;
            fn up(self) -> $t { self }
            fn down(r: $t) -> Self { r }
        }
    )*};
}
dot_int!(i8, i16, i32, i64, u8, u16, u32, u64);

/// Copies a `rows x cols` matrix into the compute type, row-major; with `transposed`,
/// `src` holds the matrix as `cols x rows`.
fn matrix<E: DotElem>(src: &[E], rows: usize, cols: usize, transposed: bool) -> Vec<E::R> {
    let mut out = Vec::with_capacity(rows * cols);
    for r in 0..rows {
        for c in 0..cols {
            let i = if transposed { c * rows + r } else { r * cols + c };
            out.push(src[i].up());
        }
    }
    out
}

/// `acc = acc + a[k] * b[k]` for `k` in order from zero, starting at zero.
fn dot<R: Ring>(a: &[R], b: &[R]) -> R {
    let mut acc = R::ZERO;
    for (&x, &y) in a.iter().zip(b) {
        acc = acc.add(x.mul(y));
    }
    acc
}

/// NumPy `matmul`: 1-d operands are promoted to matrices, batch axes broadcast.
pub(crate) fn matmul(a: &Tensor, b: &Tensor) -> Result<Tensor, EvalError> {
    if a.dtype() != b.dtype() {
        invalid!("MatMul operands differ in dtype: {} and {}", a.dtype(), b.dtype());
    }
    let dt = a.dtype();
    with_float!(dt, E => matmul_typed::<E>(a, b),
        _ => with_int!(dt, E => matmul_typed::<E>(a, b), _ => Err(unsupported("MatMul", dt))))
}

/// [`matmul`] for one element type.
fn matmul_typed<E: DotElem>(a: &Tensor, b: &Tensor) -> Result<Tensor, EvalError> {
    if a.dims().is_empty() || b.dims().is_empty() {
        invalid!(
            "MatMul operands must have rank 1 or more, got {:?} and {:?}",
            a.dims(),
            b.dims()
        );
    }
    let mut da = a.dims().to_vec();
    let mut db = b.dims().to_vec();
    let (a_vec, b_vec) = (da.len() == 1, db.len() == 1);
    if a_vec {
        da.insert(0, 1);
    }
    if b_vec {
        db.push(1);
    }
    let (m, k) = (da[da.len() - 2], da[da.len() - 1]);
    let (kb, n) = (db[db.len() - 2], db[db.len() - 1]);
    if k != kb {
        invalid!("MatMul inner dimensions differ: {:?} and {:?}", a.dims(), b.dims());
    }
    let (ba, bb) = (&da[..da.len() - 2], &db[..db.len() - 2]);
    let batch = broadcast_dims(ba, bb)?;
    let mut out_dims = batch.clone();
    if !a_vec {
        out_dims.push(m);
    }
    if !b_vec {
        out_dims.push(n);
    }
    let total = numel(&out_dims)?;
    let (xa, xb) = (elems::<E>(a)?, elems::<E>(b)?);
    // A as [batch, M, K] and B as [batch, N, K] in the compute type.
    let at = matrix::<E>(xa, numel(ba)? * m, k, false);
    let mut bt = Vec::with_capacity(xb.len());
    for i in 0..numel(bb)? {
        bt.extend(matrix::<E>(&xb[i * k * n..(i + 1) * k * n], n, k, true));
    }
    let (sa, sb) = (broadcast_strides(ba, &batch), broadcast_strides(bb, &batch));
    let (a_len, b_len) = (m * k, n * k);
    let mut out = Vec::with_capacity(total);
    for [ia, ib] in StridedWalk::new(&batch, [&sa, &sb]) {
        let (am, bm) = (&at[ia * a_len..(ia + 1) * a_len], &bt[ib * b_len..(ib + 1) * b_len]);
        for i in 0..m {
            for j in 0..n {
                out.push(E::down(dot(&am[i * k..(i + 1) * k], &bm[j * k..(j + 1) * k])));
            }
        }
    }
    Ok(Tensor::from_vec(out_dims, out)?)
}

/// ONNX `Gemm`: `alpha * (A' B') + beta * C`, with `C` broadcast to `[M, N]`.
///
/// Per element: `acc` is the dot product along K, then `t = alpha * acc` (always, also for
/// `alpha == 1`), then, when `C` is present and `beta != 0`, `t = t + beta * c`. Like ONNX
/// Runtime and the ONNX reference, `beta == 0` leaves `C` out entirely (so an infinite or
/// NaN `C` does not turn into NaN). Integer types need integral `alpha` and `beta`.
pub(crate) fn gemm(g: &GemmAttrs, a: &Tensor, b: &Tensor, c: Option<&Tensor>) -> Result<Tensor, EvalError> {
    if a.dtype() != b.dtype() || c.is_some_and(|c| c.dtype() != a.dtype()) {
        invalid!("Gemm operands must share one dtype");
    }
    let dt = a.dtype();
    with_float!(dt, E => gemm_typed::<E>(g, a, b, c),
        _ => with_int!(dt, E => gemm_typed::<E>(g, a, b, c), _ => Err(unsupported("Gemm", dt))))
}

/// [`gemm`] for one element type.
fn gemm_typed<E: DotElem>(g: &GemmAttrs, a: &Tensor, b: &Tensor, c: Option<&Tensor>) -> Result<Tensor, EvalError> {
    let (&[ra, ca], &[rb, cb]) = (a.dims(), b.dims()) else {
        invalid!("Gemm needs two rank-2 operands, got {:?} and {:?}", a.dims(), b.dims());
    };
    let (m, k) = if g.trans_a { (ca, ra) } else { (ra, ca) };
    let (kb, n) = if g.trans_b { (cb, rb) } else { (rb, cb) };
    if k != kb {
        invalid!("Gemm inner dimensions differ: {:?} and {:?}", a.dims(), b.dims());
    }
    let (Some(alpha), Some(beta)) = (E::R::scale(g.alpha), E::R::scale(g.beta)) else {
        invalid!(
            "Gemm on {} needs integral alpha and beta, got {} and {}",
            E::DTYPE,
            g.alpha,
            g.beta
        );
    };
    let at = matrix::<E>(elems::<E>(a)?, m, k, g.trans_a);
    let bt = matrix::<E>(elems::<E>(b)?, n, k, !g.trans_b);
    let out_dims = vec![m, n];
    let bias = match c {
        Some(c) if g.beta != 0.0 => Some((elems::<E>(c)?, unidirectional_strides(c.dims(), &out_dims)?)),
        _ => None,
    };
    let mut out = Vec::with_capacity(numel(&out_dims)?);
    for i in 0..m {
        for j in 0..n {
            let acc = dot(&at[i * k..(i + 1) * k], &bt[j * k..(j + 1) * k]);
            let mut t = alpha.mul(acc);
            if let Some((cv, cs)) = &bias {
                t = t.add(beta.mul(cv[i * cs[0] + j * cs[1]].up()));
            }
            out.push(E::down(t));
        }
    }
    Ok(Tensor::from_vec(out_dims, out)?)
}

/// Strides reading a tensor of `dims` as if broadcast to `target` (one way: `dims` may
/// only stretch its size-1 axes and gain leading ones).
fn unidirectional_strides(dims: &[usize], target: &[usize]) -> Result<Vec<usize>, EvalError> {
    let lead = target.len().checked_sub(dims.len());
    let fits = lead.is_some_and(|lead| dims.iter().zip(&target[lead..]).all(|(&d, &t)| d == 1 || d == t));
    if !fits {
        invalid!("shape {dims:?} does not broadcast to {target:?}");
    }
    Ok(broadcast_strides(dims, target))
}

/// Where one kernel position of a window lies along one axis.
#[derive(Copy, Clone)]
enum Along {
    /// Inside the input, at this coordinate.
    Inside(usize),
    /// In the explicit padding.
    Pad,
    /// Past the end padding (a partial last window of `ceil_mode`).
    Beyond,
}

/// The input positions one window covers.
#[derive(Default)]
struct Taps {
    /// `(flat kernel index, flat spatial input offset)` of each position inside the input,
    /// in row-major kernel order.
    inside: Vec<(usize, usize)>,
    /// Positions inside the padded input (the divisor of `count_include_pad`).
    padded: usize,
}

/// A sliding window over fixed spatial sizes, with geometry from [`conv_geometry`].
struct Window {
    /// Spatial input sizes.
    input: Vec<usize>,
    /// Kernel size per axis.
    kernel: Vec<usize>,
    /// Strides.
    strides: Vec<usize>,
    /// Dilations.
    dilations: Vec<usize>,
    /// Output sizes and pads.
    geo: ConvGeometry,
    /// Kernel positions per window.
    kernel_len: usize,
    /// Output positions.
    out_len: usize,
}

impl Window {
    /// Resolves the window of the given attributes over spatial `input` sizes.
    fn new(
        input: &[usize],
        kernel: &[usize],
        strides: &[usize],
        dilations: &[usize],
        padding: &Padding,
        ceil_mode: bool,
    ) -> Result<Window, EvalError> {
        // ONNX defaults: empty strides and dilations mean 1 on every axis.
        let ones = vec![1; input.len()];
        let strides = if strides.is_empty() { &ones } else { strides };
        let dilations = if dilations.is_empty() { &ones } else { dilations };
        let geo = conv_geometry(input, kernel, strides, dilations, padding, ceil_mode)?;
        Ok(Window {
            input: input.to_vec(),
            kernel: kernel.to_vec(),
            strides: strides.to_vec(),
            dilations: dilations.to_vec(),
            kernel_len: numel(kernel)?,
            out_len: numel(&geo.output)?,
            geo,
        })
    }

    /// Where kernel position `k` of output coordinate `o` lies along `axis`.
    fn along(&self, axis: usize, o: usize, k: usize) -> Along {
        let c = o
            .saturating_mul(self.strides[axis])
            .saturating_add(k.saturating_mul(self.dilations[axis]));
        let (begin, size) = (self.geo.pad_begin[axis], self.input[axis]);
        if c < begin {
            Along::Pad
        } else if c - begin < size {
            Along::Inside(c - begin)
        } else if c - begin - size < self.geo.pad_end[axis] {
            Along::Pad
        } else {
            Along::Beyond
        }
    }

    /// Fills `taps` with the positions the window of flat output position `out` covers.
    fn taps(&self, out: usize, taps: &mut Taps) {
        let rank = self.input.len();
        let mut o = vec![0; rank];
        let mut rem = out;
        for a in (0..rank).rev() {
            o[a] = rem % self.geo.output[a];
            rem /= self.geo.output[a];
        }
        let per_axis: Vec<Vec<Along>> = (0..rank)
            .map(|a| (0..self.kernel[a]).map(|k| self.along(a, o[a], k)).collect())
            .collect();
        taps.inside.clear();
        taps.padded = 0;
        for kf in 0..self.kernel_len {
            let (mut rem, mut offset, mut inside, mut beyond) = (kf, 0, true, false);
            let mut scale = 1;
            for a in (0..rank).rev() {
                match per_axis[a][rem % self.kernel[a]] {
                    Along::Inside(c) => offset += c * scale,
                    Along::Pad => inside = false,
                    Along::Beyond => beyond = true,
                }
                scale *= self.input[a];
                rem /= self.kernel[a];
            }
            if !beyond {
                taps.padded += 1;
            }
            if inside && !beyond {
                taps.inside.push((kf, offset));
            }
        }
    }
}

/// ONNX `Conv` over any number of spatial axes, with groups, strides, dilations and
/// padding; floats only. See the module docs for the accumulation order.
pub(crate) fn conv(c: &ConvAttrs, x: &Tensor, w: &Tensor, bias: Option<&Tensor>) -> Result<Tensor, EvalError> {
    if w.dtype() != x.dtype() || bias.is_some_and(|b| b.dtype() != x.dtype()) {
        invalid!("Conv operands must share one dtype");
    }
    let dt = x.dtype();
    with_float!(dt, E => conv_typed::<E>(c, x, w, bias), _ => Err(unsupported("Conv", dt)))
}

/// [`conv`] for one element type.
fn conv_typed<E: FloatElem>(c: &ConvAttrs, x: &Tensor, w: &Tensor, bias: Option<&Tensor>) -> Result<Tensor, EvalError> {
    let (xd, wd) = (x.dims(), w.dims());
    if xd.len() < 3 || wd.len() != xd.len() {
        invalid!("Conv needs input and weight of equal rank 3 or more, got {xd:?} and {wd:?}");
    }
    let (batch, cin, cout, cin_g) = (xd[0], xd[1], wd[0], wd[1]);
    let group = c.group;
    if group == 0 || cout % group != 0 || cin_g.checked_mul(group) != Some(cin) {
        invalid!("Conv input {xd:?} and weight {wd:?} do not fit group {group}");
    }
    if !c.kernel.is_empty() && c.kernel[..] != wd[2..] {
        invalid!("Conv kernel_shape {:?} disagrees with weight {wd:?}", c.kernel);
    }
    let win = Window::new(&xd[2..], &wd[2..], &c.strides, &c.dilations, &c.padding, false)?;
    let biases = match bias {
        Some(b) if b.len() != cout => {
            invalid!("Conv bias has {} elements for {cout} channels", b.len())
        }
        Some(b) => Some(elems::<E>(b)?),
        None => None,
    };
    let (xv, wv) = (elems::<E>(x)?, elems::<E>(w)?);
    let in_len = numel(&xd[2..])?;
    // Input offsets below stay under this product even where the input is empty.
    numel(&[batch, cin, in_len])?;
    let cout_g = cout / group;
    let mut out_dims = vec![batch, cout];
    out_dims.extend(&win.geo.output);
    let mut out = vec![E::zeroed(); numel(&out_dims)?];
    let mut taps = Taps::default();
    for pos in 0..win.out_len {
        win.taps(pos, &mut taps);
        for nb in 0..batch {
            for co in 0..cout {
                let g = co / cout_g;
                let mut acc = <E::C as Accum>::ZERO;
                for ci in 0..cin_g {
                    let xbase = (nb * cin + g * cin_g + ci) * in_len;
                    let wbase = (co * cin_g + ci) * win.kernel_len;
                    for &(kf, off) in &taps.inside {
                        let p = xv[xbase + off].widen() * wv[wbase + kf].widen();
                        acc = acc + p;
                    }
                }
                if let Some(bv) = biases {
                    acc = acc + bv[co].widen();
                }
                out[(nb * cout + co) * win.out_len + pos] = E::narrow(acc);
            }
        }
    }
    Ok(Tensor::from_vec(out_dims, out)?)
}

/// An element type max pooling compares: floats (NaN wins) and integers.
trait MaxElem: Element + PartialOrd {
    /// The identity of `max`: negative infinity or the type's minimum.
    const LOWEST: Self;
    /// Whether the value is NaN.
    fn nan(self) -> bool;
}

/// Implements [`MaxElem`] from a lowest value and a NaN test per type.
macro_rules! max_elem {
    ($($t:ty => $lowest:expr, $nan:expr);* $(;)?) => {$(
        impl MaxElem for $t {
            const LOWEST: Self = $lowest;
            fn nan(self) -> bool { let f: fn($t) -> bool = $nan; f(self) }
        }
    )*};
}
max_elem! {
    f32 => f32::NEG_INFINITY, |v| v.is_nan();
    f64 => f64::NEG_INFINITY, |v| v.is_nan();
    half::f16 => half::f16::NEG_INFINITY, |v| v.is_nan();
    half::bf16 => half::bf16::NEG_INFINITY, |v| v.is_nan();
    i8 => i8::MIN, |_| false; i16 => i16::MIN, |_| false;
    i32 => i32::MIN, |_| false; i64 => i64::MIN, |_| false;
    u8 => u8::MIN, |_| false; u16 => u16::MIN, |_| false;
    u32 => u32::MIN, |_| false; u64 => u64::MIN, |_| false;
}

/// The maximum of `values`, NaN winning; [`MaxElem::LOWEST`] when empty.
fn max_of<T: MaxElem>(values: impl IntoIterator<Item = T>) -> T {
    let mut m = T::LOWEST;
    for v in values {
        if v.nan() {
            return v;
        }
        if v > m {
            m = v;
        }
    }
    m
}

/// ONNX `MaxPool`, `AveragePool` and `LpPool` (first result only).
///
/// Padding never takes part in a maximum or a sum: `Max` is over the positions inside the
/// input (NaN wins; an all-padding window gives the lowest value), `Average` sums the
/// positions inside the input and divides by their count, or with `count_include_pad` by
/// the count of positions inside the padded input (positions of a `ceil_mode` partial
/// window past the end padding never count). `Lp` is `(sum |x|^p)^(1/p)` over the inside
/// positions; `p == 1` is `sum |x|` and `p == 2` is `sqrt(sum x * x)` (no `pow`).
pub(crate) fn pool(p: &PoolAttrs, x: &Tensor) -> Result<Tensor, EvalError> {
    let dt = x.dtype();
    if x.dims().len() < 3 {
        invalid!("pooling needs rank 3 or more, got {:?}", x.dims());
    }
    let win = Window::new(
        &x.dims()[2..],
        &p.kernel,
        &p.strides,
        &p.dilations,
        &p.padding,
        p.ceil_mode,
    )?;
    match p.kind {
        PoolKind::Max => with_float!(dt, E => max_pool::<E>(&win, x),
            _ => with_int!(dt, E => max_pool::<E>(&win, x), _ => Err(unsupported("MaxPool", dt)))),
        PoolKind::Average { count_include_pad } => {
            with_float!(dt, E => avg_pool::<E>(count_include_pad, &win, x), _ => Err(unsupported("AveragePool", dt)))
        }
        PoolKind::Lp { p } => {
            with_float!(dt, E => lp_pool::<E>(p, &win, x), _ => Err(unsupported("LpPool", dt)))
        }
    }
}

/// Runs `f` on every window of every `(n, c)` plane and collects the results as the
/// pool's output tensor.
fn pool_each<E: Element>(win: &Window, x: &Tensor, mut f: impl FnMut(&[E], &Taps) -> E) -> Result<Tensor, EvalError> {
    let xv = elems::<E>(x)?;
    let planes = numel(&x.dims()[..2])?;
    let in_len = numel(&x.dims()[2..])?;
    let mut out_dims = x.dims()[..2].to_vec();
    out_dims.extend(&win.geo.output);
    let mut out = vec![E::zeroed(); numel(&out_dims)?];
    if out.is_empty() {
        return Ok(Tensor::from_vec(out_dims, out)?);
    }
    // The taps of every output position, computed once; then plane by plane, so each
    // plane is read while it is in cache.
    let table: Vec<Taps> = (0..win.out_len)
        .map(|pos| {
            let mut taps = Taps::default();
            win.taps(pos, &mut taps);
            taps
        })
        .collect();
    for (plane, dst) in out.chunks_exact_mut(win.out_len).enumerate().take(planes) {
        let src = &xv[plane * in_len..(plane + 1) * in_len];
        for (o, taps) in dst.iter_mut().zip(&table) {
            *o = f(src, taps);
        }
    }
    Ok(Tensor::from_vec(out_dims, out)?)
}

/// Max pooling.
fn max_pool<E: MaxElem>(win: &Window, x: &Tensor) -> Result<Tensor, EvalError> {
    pool_each::<E>(win, x, |plane, taps| {
        max_of(taps.inside.iter().map(|&(_, off)| plane[off]))
    })
}

/// Average pooling: each window summed sequentially in row-major order, then divided.
fn avg_pool<E: FloatElem>(count_include_pad: bool, win: &Window, x: &Tensor) -> Result<Tensor, EvalError> {
    pool_each::<E>(win, x, |plane, taps| {
        let mut sum = <E::C as Accum>::ZERO;
        for &(_, off) in &taps.inside {
            sum = sum + plane[off].widen();
        }
        let count = if count_include_pad {
            taps.padded
        } else {
            taps.inside.len()
        };
        E::narrow(sum / E::C::from_f64(count as f64))
    })
}

/// Lp pooling: each window's terms summed sequentially in row-major order, then the root.
fn lp_pool<E: FloatElem>(p: f32, win: &Window, x: &Tensor) -> Result<Tensor, EvalError> {
    pool_each::<E>(win, x, |plane, taps| {
        let mut sum = <E::C as Accum>::ZERO;
        for &(_, off) in &taps.inside {
            sum = sum + lp_term(p, plane[off].widen());
        }
        E::narrow(lp_finish(p, sum))
    })
}

/// One term of an Lp sum: `|v|` for `p == 1`, `v * v` for `p == 2`, else `|v|^p`.
fn lp_term<C: Float>(p: f32, v: C) -> C {
    if p == 1.0 {
        v.abs()
    } else if p == 2.0 {
        v * v
    } else {
        v.abs().pow(C::from_f64(p as f64))
    }
}

/// The root of an Lp sum: the sum itself for `p == 1`, `sqrt` for `p == 2`, else `s^(1/p)`.
fn lp_finish<C: Float>(p: f32, s: C) -> C {
    if p == 1.0 {
        s
    } else if p == 2.0 {
        s.sqrt()
    } else {
        s.pow(C::ONE / C::from_f64(p as f64))
    }
}

/// ONNX `GlobalAveragePool`, `GlobalMaxPool` and `GlobalLpPool` over all spatial axes;
/// floats only. Sums use the [`tree_sum`] order; Average divides the sum by the count.
pub(crate) fn global_pool(kind: PoolKind, x: &Tensor) -> Result<Tensor, EvalError> {
    let dt = x.dtype();
    with_float!(dt, E => global_typed::<E>(kind, x), _ => Err(unsupported("GlobalPool", dt)))
}

/// [`global_pool`] for one element type.
fn global_typed<E: FloatElem + MaxElem>(kind: PoolKind, x: &Tensor) -> Result<Tensor, EvalError> {
    let dims = x.dims();
    if dims.len() < 3 {
        invalid!("global pooling needs rank 3 or more, got {dims:?}");
    }
    let xv = elems::<E>(x)?;
    let spatial = numel(&dims[2..])?;
    let mut out_dims = dims[..2].to_vec();
    out_dims.extend(std::iter::repeat_n(1, dims.len() - 2));
    let planes = numel(&dims[..2])?;
    let mut out = Vec::with_capacity(planes);
    for plane in 0..planes {
        let v = &xv[plane * spatial..(plane + 1) * spatial];
        out.push(match kind {
            PoolKind::Max => max_of(v.iter().copied()),
            PoolKind::Average { .. } => {
                E::narrow(tree_sum(v.iter().map(|e| e.widen())) / E::C::from_f64(spatial as f64))
            }
            PoolKind::Lp { p } => E::narrow(lp_finish(p, tree_sum(v.iter().map(|e| lp_term(p, e.widen()))))),
        });
    }
    Ok(Tensor::from_vec(out_dims, out)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use half::f16;

    /// An `f32` tensor.
    fn t(dims: &[usize], v: &[f32]) -> Tensor {
        Tensor::from_vec(dims.to_vec(), v.to_vec()).unwrap()
    }

    /// The elements of an `f32` tensor.
    fn f(t: &Tensor) -> Vec<f32> {
        t.as_slice::<f32>().unwrap().to_vec()
    }

    /// Pool attributes with explicit pads and unit dilations.
    fn pool_attrs(kind: PoolKind, kernel: &[usize], strides: &[usize], pads: &[usize], ceil: bool) -> PoolAttrs {
        PoolAttrs {
            kind,
            kernel: kernel.to_vec(),
            strides: strides.to_vec(),
            dilations: vec![1; kernel.len()],
            padding: Padding::Explicit(pads.to_vec()),
            ceil_mode: ceil,
        }
    }

    #[test]
    fn matmul_small() {
        let a = t(&[2, 3], &[1., 2., 3., 4., 5., 6.]);
        let b = t(&[3, 2], &[7., 8., 9., 10., 11., 12.]);
        let y = matmul(&a, &b).unwrap();
        assert_eq!(y.dims(), &[2, 2]);
        assert_eq!(f(&y), vec![58., 64., 139., 154.]);
    }

    #[test]
    fn matmul_vectors_and_broadcast() {
        let y = matmul(&t(&[3], &[1., 2., 3.]), &t(&[3], &[4., 5., 6.])).unwrap();
        assert_eq!((y.dims(), f(&y)), (&[][..], vec![32.]));
        // [2, 1, 2] x [2]: batch of row vectors times a vector.
        let y = matmul(&t(&[2, 1, 2], &[1., 2., 3., 4.]), &t(&[2], &[1., 1.])).unwrap();
        assert_eq!((y.dims(), f(&y)), (&[2, 1][..], vec![3., 7.]));
        // [2, 2, 2] x [2, 2] broadcasts B over the batch.
        let a = t(&[2, 2, 2], &[1., 0., 0., 1., 2., 0., 0., 2.]);
        let y = matmul(&a, &t(&[2, 2], &[1., 2., 3., 4.])).unwrap();
        assert_eq!(
            (y.dims(), f(&y)),
            (&[2, 2, 2][..], vec![1., 2., 3., 4., 2., 4., 6., 8.])
        );
        // An empty K gives zeros.
        let y = matmul(&t(&[2, 0], &[]), &t(&[0, 3], &[])).unwrap();
        assert_eq!((y.dims(), f(&y)), (&[2, 3][..], vec![0.; 6]));
        assert!(matmul(&t(&[2, 3], &[0.; 6]), &t(&[2, 3], &[0.; 6])).is_err());
    }

    #[test]
    fn matmul_ints_wrap_and_halfs_accumulate_in_f32() {
        let a = Tensor::from_vec(vec![1, 2], vec![i32::MAX, 1]).unwrap();
        let b = Tensor::from_vec(vec![2, 1], vec![2i32, 3]).unwrap();
        let y = matmul(&a, &b).unwrap();
        assert_eq!(
            y.as_slice::<i32>().unwrap(),
            &[i32::MAX.wrapping_mul(2).wrapping_add(3)]
        );
        // In f16 steps 2048 + 1 + 1 would stay 2048; in f32 it is 2050.
        let a = Tensor::from_vec(vec![3], vec![f16::from_f32(2048.), f16::ONE, f16::ONE]).unwrap();
        let b = Tensor::from_vec(vec![3], vec![f16::ONE; 3]).unwrap();
        let y = matmul(&a, &b).unwrap();
        assert_eq!(y.as_slice::<f16>().unwrap(), &[f16::from_f32(2050.)]);
        let bools = Tensor::from_bools(vec![1, 1], &[true]).unwrap();
        assert!(matches!(
            matmul(&bools, &bools),
            Err(EvalError::UnsupportedDType { .. })
        ));
    }

    #[test]
    fn gemm_transposes_scales_and_broadcasts() {
        // A stored as [K=3, M=2], so A' = [[1, 3, 5], [2, 4, 6]]; B' = B^T of [N=2, K=3].
        let a = t(&[3, 2], &[1., 2., 3., 4., 5., 6.]);
        let b = t(&[2, 3], &[1., 0., 1., 0., 1., 0.]);
        let c = t(&[2], &[10., 20.]);
        let g = GemmAttrs {
            alpha: 2.0,
            beta: 0.5,
            trans_a: true,
            trans_b: true,
        };
        // A'B' = [[6, 3], [8, 4]]; y = 2 * that + 0.5 * [10, 20].
        let y = gemm(&g, &a, &b, Some(&c)).unwrap();
        assert_eq!((y.dims(), f(&y)), (&[2, 2][..], vec![17., 16., 21., 18.]));
        // beta == 0 leaves C out, even an infinite one.
        let g0 = GemmAttrs { beta: 0.0, ..g };
        let y = gemm(&g0, &a, &b, Some(&t(&[1, 1], &[f32::INFINITY]))).unwrap();
        assert_eq!(f(&y), vec![12., 6., 16., 8.]);
        assert!(gemm(&g, &a, &b, Some(&t(&[3], &[0.; 3]))).is_err());
        let ai = Tensor::from_vec(vec![1, 1], vec![3i64]).unwrap();
        let gi = GemmAttrs {
            alpha: 2.0,
            beta: 1.0,
            trans_a: false,
            trans_b: false,
        };
        let y = gemm(&gi, &ai, &ai, Some(&Tensor::scalar(1i64))).unwrap();
        assert_eq!(y.as_slice::<i64>().unwrap(), &[19]);
        assert!(gemm(&GemmAttrs { alpha: 0.5, ..gi }, &ai, &ai, None).is_err());
    }

    #[test]
    fn conv_padding_stride_bias() {
        let x = t(&[1, 1, 3, 3], &[1., 2., 3., 4., 5., 6., 7., 8., 9.]);
        let w = t(&[1, 1, 2, 2], &[1., 2., 3., 4.]);
        let c = ConvAttrs {
            kernel: vec![2, 2],
            strides: vec![2, 2],
            dilations: vec![1, 1],
            padding: Padding::Explicit(vec![1, 1, 1, 1]),
            group: 1,
        };
        let y = conv(&c, &x, &w, Some(&t(&[1], &[1.]))).unwrap();
        assert_eq!((y.dims(), f(&y)), (&[1, 1, 2, 2][..], vec![5., 19., 37., 78.]));
    }

    #[test]
    fn conv_groups_dilation_1d() {
        let x = t(&[1, 2, 5], &[1., 2., 3., 4., 5., 10., 20., 30., 40., 50.]);
        let w = t(&[2, 1, 2], &[1., 1., 1., -1.]);
        let c = ConvAttrs {
            kernel: vec![2],
            strides: vec![1],
            dilations: vec![2],
            padding: Padding::Valid,
            group: 2,
        };
        let y = conv(&c, &x, &w, None).unwrap();
        assert_eq!((y.dims(), f(&y)), (&[1, 2, 3][..], vec![4., 6., 8., -20., -20., -20.]));
        let bad = ConvAttrs { group: 3, ..c };
        assert!(conv(&bad, &x, &w, None).is_err());
    }

    #[test]
    fn conv_multichannel_matches_naive() {
        // 2 input channels, 3 output channels, 3-d spatial, SAME_UPPER padding.
        let x: Vec<f32> = (0..2 * 3 * 4 * 2).map(|i| (i % 7) as f32 - 3.0).collect();
        let w: Vec<f32> = (0..3 * 2 * 2 * 2).map(|i| (i % 5) as f32 - 2.0).collect();
        let c = ConvAttrs {
            kernel: vec![2, 2, 1],
            strides: vec![1, 2, 1],
            dilations: vec![1, 1, 1],
            padding: Padding::SameUpper,
            group: 1,
        };
        let y = conv(&c, &t(&[1, 2, 3, 4, 2], &x), &t(&[3, 2, 2, 2, 1], &w), None).unwrap();
        assert_eq!(y.dims(), &[1, 3, 3, 2, 2]);
        // SAME_UPPER: axis 0 pads (0, 1), axis 1 output 2 needs (1 * 2 + 2) - 4 = 0 pads.
        let got = f(&y);
        for co in 0..3 {
            for (od, oh, ow) in (0..3).flat_map(|d| (0..2).flat_map(move |h| (0..2).map(move |w| (d, h, w)))) {
                let mut acc = 0.0f32;
                for ci in 0..2 {
                    for kd in 0..2 {
                        for kh in 0..2 {
                            let (id, ih) = (od + kd, oh * 2 + kh);
                            if id < 3 && ih < 4 {
                                acc += x[((ci * 3 + id) * 4 + ih) * 2 + ow] * w[((co * 2 + ci) * 2 + kd) * 2 + kh];
                            }
                        }
                    }
                }
                assert_eq!(got[((co * 3 + od) * 2 + oh) * 2 + ow], acc);
            }
        }
    }

    #[test]
    fn average_pool_count_include_pad_both_ways() {
        let x = t(&[1, 1, 3, 3], &[1., 2., 3., 4., 5., 6., 7., 8., 9.]);
        let avg = |cip| PoolKind::Average { count_include_pad: cip };
        let y = pool(&pool_attrs(avg(false), &[2, 2], &[2, 2], &[1, 1, 1, 1], false), &x).unwrap();
        assert_eq!((y.dims(), f(&y)), (&[1, 1, 2, 2][..], vec![1., 2.5, 5.5, 7.]));
        let y = pool(&pool_attrs(avg(true), &[2, 2], &[2, 2], &[1, 1, 1, 1], false), &x).unwrap();
        assert_eq!(f(&y), vec![0.25, 1.25, 2.75, 7.]);
    }

    #[test]
    fn average_pool_ceil_mode() {
        // The ONNX averagepool_2d_ceil case.
        let x: Vec<f32> = (1..=16).map(|i| i as f32).collect();
        let p = pool_attrs(
            PoolKind::Average {
                count_include_pad: false,
            },
            &[3, 3],
            &[2, 2],
            &[0; 4],
            true,
        );
        let y = pool(&p, &t(&[1, 1, 4, 4], &x)).unwrap();
        assert_eq!((y.dims(), f(&y)), (&[1, 1, 2, 2][..], vec![6., 7.5, 12., 13.5]));
        // 1-d with pads and a partial last window: positions past the end pad never count.
        let x = t(&[1, 1, 4], &[1., 2., 3., 4.]);
        let p = pool_attrs(
            PoolKind::Average {
                count_include_pad: true,
            },
            &[3],
            &[2],
            &[1, 1],
            true,
        );
        assert_eq!(f(&pool(&p, &x).unwrap()), vec![1., 3., 2.]);
        let p = pool_attrs(
            PoolKind::Average {
                count_include_pad: false,
            },
            &[3],
            &[2],
            &[1, 1],
            true,
        );
        assert_eq!(f(&pool(&p, &x).unwrap()), vec![1.5, 3., 4.]);
    }

    #[test]
    fn max_and_lp_pool() {
        let x = t(&[1, 1, 4], &[1., -5., f32::NAN, 2.]);
        let p = pool_attrs(PoolKind::Max, &[2], &[2], &[0, 0], false);
        let y = f(&pool(&p, &x).unwrap());
        assert_eq!(y[0], 1.);
        assert!(y[1].is_nan());
        let xu = Tensor::from_vec(vec![1, 1, 3], vec![3u8, 200, 7]).unwrap();
        let p = pool_attrs(PoolKind::Max, &[2], &[1], &[1, 0], false);
        assert_eq!(pool(&p, &xu).unwrap().as_slice::<u8>().unwrap(), &[3, 200, 200]);
        let x = t(&[1, 1, 4], &[3., -4., 1., 1.]);
        let p = pool_attrs(PoolKind::Lp { p: 2.0 }, &[2], &[2], &[0, 0], false);
        assert_eq!(f(&pool(&p, &x).unwrap()), vec![5., 2f32.sqrt()]);
        let p = pool_attrs(PoolKind::Lp { p: 1.0 }, &[2], &[2], &[0, 0], false);
        assert_eq!(f(&pool(&p, &x).unwrap()), vec![7., 2.]);
    }

    #[test]
    fn global_pools() {
        let x = t(&[1, 2, 2, 2], &[1., 2., 3., 4., -1., -2., -3., 4.]);
        let y = global_pool(
            PoolKind::Average {
                count_include_pad: false,
            },
            &x,
        )
        .unwrap();
        assert_eq!((y.dims(), f(&y)), (&[1, 2, 1, 1][..], vec![2.5, -0.5]));
        assert_eq!(f(&global_pool(PoolKind::Max, &x).unwrap()), vec![4., 4.]);
        let x = t(&[1, 1, 2], &[3., 4.]);
        assert_eq!(f(&global_pool(PoolKind::Lp { p: 2.0 }, &x).unwrap()), vec![5.]);
    }
}
