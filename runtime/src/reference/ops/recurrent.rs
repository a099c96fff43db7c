//! The recurrent layers: simple RNN, GRU and LSTM ([`Op::Rnn`]).
//!
//! Each direction and each batch row runs on its own, step by step; the state stays in the
//! compute type (`f32` for `f16`/`bf16`) and is rounded only when stored in `Y`, `Y_h`,
//! `Y_c`. The order of every gate's pre-activation is fixed, following the ONNX formulas
//! left to right:
//!
//! ```text
//! pre[j] = dot(x_t, W[j]) + dot(H_{t-1}, R[j]) (+ peephole) + Wb[j] + Rb[j]
//! ```
//!
//! where each `dot` accumulates along K in order from zero, each step a rounded multiply
//! then a rounded add ([`accumulate::dot`]), and the sums are rounded left to right. An
//! absent `B` or `P` leaves its terms out (rather than adding zeros). With `clip`, each
//! pre-activation is clamped to `[-clip, clip]` before its activation.
//!
//! - RNN: `H = f(pre)`.
//! - GRU (gates `z, r, h`): `z = f(pre_z)`, `r = f(pre_r)`; the candidate is
//!   `g(dot(x, Wh) + dot(r * H, Rh) + Rbh + Wbh)`, or with `linear_before_reset`
//!   `g(dot(x, Wh) + r * (dot(H, Rh) + Rbh) + Wbh)`; `H' = (1 - z) * cand + z * H`.
//! - LSTM (gates `i, o, f, c`, peepholes `i, o, f`): `i = f(dot + dot + Pi * C + Wbi + Rbi)`,
//!   `fg = f(... + Pf * C ...)` (or `1 - i` with `input_forget`), `cand = g(pre_c)`,
//!   `C' = fg * C + i * cand`, `o = f(... + Po * C' ...)`, `H' = o * h(C')`.
//!
//! With `sequence_lens`, batch row `b` runs over its first `len[b]` steps only (the
//! reverse direction from step `len[b] - 1` down to 0); `Y` is zero at the steps past
//! the length, and `Y_h` / `Y_c` hold the state after the row's last step (the initial
//! state when the length is 0).

use lightos_ir::{Op, RnnActivation, RnnActivationKind, RnnAttrs, RnnCell, RnnDirection, Tensor, UnaryOp};

use super::elementwise::float_unary;
use super::scalar::{elems, make, with_float, Float, FloatElem};
use crate::reference::accumulate::{dot, Accum};
use crate::reference::{invalid, EvalError};

/// Evaluates a recurrent layer; `operands` are `X, W, R, B?, sequence_lens?, initial_h?`
/// and for the LSTM `initial_c?, P?`. Returns `Y, Y_h` (and `Y_c` for the LSTM).
pub(crate) fn rnn(a: &RnnAttrs, operands: &[Option<&Tensor>]) -> Result<Vec<Tensor>, EvalError> {
    let get = |i: usize| operands.get(i).copied().flatten();
    let (Some(x), Some(w), Some(r)) = (get(0), get(1), get(2)) else {
        invalid!("{} needs X, W and R", a.cell.name());
    };
    let dtype = x.dtype();
    for (i, t) in operands.iter().enumerate() {
        if let Some(t) = t.filter(|t| i != 4 && t.dtype() != dtype) {
            invalid!(
                "{} operand {i} must be {dtype} like X, got {}",
                a.cell.name(),
                t.dtype()
            );
        }
    }
    let lstm = matches!(a.cell, RnnCell::Lstm { .. });
    if operands.len() > if lstm { 8 } else { 6 } {
        invalid!("{} got {} operands", a.cell.name(), operands.len());
    }
    with_float!(dtype,
        F => run::<F>(a, x, w, r, get(3), get(4), get(5), if lstm { get(6) } else { None }, if lstm { get(7) } else { None }),
        _ => Err(EvalError::UnsupportedDType { op: Op::Rnn(a.clone()).name(), dtype }))
}

/// The sizes of a recurrent layer.
#[derive(Copy, Clone)]
struct Sizes {
    seq: usize,
    batch: usize,
    input: usize,
    hidden: usize,
    dirs: usize,
    gates: usize,
    batch_major: bool,
}

impl Sizes {
    /// Offset of `X[t, b, 0]`.
    fn x_at(&self, t: usize, b: usize) -> usize {
        if self.batch_major {
            (b * self.seq + t) * self.input
        } else {
            (t * self.batch + b) * self.input
        }
    }

    /// Offset of `Y[t, d, b, 0]`.
    fn y_at(&self, t: usize, d: usize, b: usize) -> usize {
        if self.batch_major {
            ((b * self.seq + t) * self.dirs + d) * self.hidden
        } else {
            ((t * self.dirs + d) * self.batch + b) * self.hidden
        }
    }

    /// Offset of `state[d, b, 0]`.
    fn state_at(&self, d: usize, b: usize) -> usize {
        if self.batch_major {
            (b * self.dirs + d) * self.hidden
        } else {
            (d * self.batch + b) * self.hidden
        }
    }

    /// Dims of the states.
    fn state_dims(&self) -> Vec<usize> {
        if self.batch_major {
            vec![self.batch, self.dirs, self.hidden]
        } else {
            vec![self.dirs, self.batch, self.hidden]
        }
    }
}

/// Widens a float operand to its compute type, checking its dims.
fn widen<F: FloatElem>(t: &Tensor, want: &[usize], what: &str) -> Result<Vec<F::C>, EvalError> {
    if t.dims() != want {
        invalid!("{what} must have dims {want:?}, got {:?}", t.dims());
    }
    Ok(elems::<F>(t)?.iter().map(|v| v.widen()).collect())
}

/// `a * b` with an overflow check.
fn mul(a: usize, b: usize) -> Result<usize, EvalError> {
    match a.checked_mul(b) {
        Some(v) => Ok(v),
        None => invalid!("rnn sizes {a} * {b} overflow"),
    }
}

/// Applies one activation.
fn activate<C: Float>(act: &RnnActivation, x: C) -> C {
    let alpha = C::from_f64(f64::from(act.alpha));
    let beta = C::from_f64(f64::from(act.beta));
    let unary = |op| float_unary(op, x);
    match act.kind {
        RnnActivationKind::Relu => unary(UnaryOp::Relu),
        RnnActivationKind::Tanh => unary(UnaryOp::Tanh),
        RnnActivationKind::Sigmoid => unary(UnaryOp::Sigmoid),
        RnnActivationKind::Affine => alpha * x + beta,
        RnnActivationKind::LeakyRelu => unary(UnaryOp::LeakyRelu { alpha: act.alpha }),
        RnnActivationKind::ThresholdedRelu => unary(UnaryOp::ThresholdedRelu { alpha: act.alpha }),
        RnnActivationKind::ScaledTanh => alpha * (beta * x).tanh(),
        RnnActivationKind::HardSigmoid => unary(UnaryOp::HardSigmoid {
            alpha: act.alpha,
            beta: act.beta,
        }),
        RnnActivationKind::Elu => unary(UnaryOp::Elu { alpha: act.alpha }),
        RnnActivationKind::Softsign => unary(UnaryOp::Softsign),
        RnnActivationKind::Softplus => unary(UnaryOp::Softplus),
    }
}

/// One direction's weights, sliced for the cell.
struct Weights<'a, C> {
    /// `[gates * hidden, input]`.
    w: &'a [C],
    /// `[gates * hidden, hidden]`.
    r: &'a [C],
    /// Input biases `[gates * hidden]`.
    wb: Option<&'a [C]>,
    /// Recurrent biases `[gates * hidden]`.
    rb: Option<&'a [C]>,
    /// Peepholes `[3 * hidden]`.
    p: Option<&'a [C]>,
    /// The activations of this direction.
    acts: &'a [RnnActivation],
    /// The clip bound.
    clip: Option<C>,
}

impl<C: Float> Weights<'_, C> {
    /// `dot(x, W[j]) + dot(h, R[j])`.
    fn products(&self, s: &Sizes, x: &[C], h: &[C], j: usize) -> C {
        let xw = dot(
            x.iter().copied(),
            self.w[j * s.input..(j + 1) * s.input].iter().copied(),
        );
        let hr = dot(
            h.iter().copied(),
            self.r[j * s.hidden..(j + 1) * s.hidden].iter().copied(),
        );
        xw + hr
    }

    /// `v + Wb[j] + Rb[j]`, leaving out absent biases.
    fn biases(&self, v: C, j: usize) -> C {
        let mut v = v;
        if let Some(wb) = self.wb {
            v = v + wb[j];
        }
        if let Some(rb) = self.rb {
            v = v + rb[j];
        }
        v
    }

    /// Clamps a pre-activation to `[-clip, clip]` when clipping.
    fn clip(&self, v: C) -> C {
        match self.clip {
            Some(c) if v > c => c,
            Some(c) if v < -c => -c,
            _ => v,
        }
    }

    /// Activation `slot` of the direction on a clipped pre-activation.
    fn act(&self, slot: usize, v: C) -> C {
        activate(&self.acts[slot], self.clip(v))
    }
}

/// One time step of the cell: updates `h` (and `c` for the LSTM) from `x`.
fn step<C: Float>(cell: RnnCell, s: &Sizes, wt: &Weights<C>, x: &[C], h: &mut [C], c: &mut [C]) {
    let hs = s.hidden;
    match cell {
        RnnCell::Simple => {
            let new: Vec<C> = (0..hs)
                .map(|j| wt.act(0, wt.biases(wt.products(s, x, h, j), j)))
                .collect();
            h.copy_from_slice(&new);
        }
        RnnCell::Gru { linear_before_reset } => {
            let z: Vec<C> = (0..hs)
                .map(|j| wt.act(0, wt.biases(wt.products(s, x, h, j), j)))
                .collect();
            let r: Vec<C> = (0..hs)
                .map(|j| wt.act(0, wt.biases(wt.products(s, x, h, hs + j), hs + j)))
                .collect();
            let rh: Vec<C> = r.iter().zip(h.iter()).map(|(&a, &b)| a * b).collect();
            let new: Vec<C> = (0..hs)
                .map(|j| {
                    let row = 2 * hs + j;
                    let xw = dot(
                        x.iter().copied(),
                        wt.w[row * s.input..(row + 1) * s.input].iter().copied(),
                    );
                    let rrow = &wt.r[row * hs..(row + 1) * hs];
                    let wbh = wt.wb.map(|b| b[row]);
                    let rbh = wt.rb.map(|b| b[row]);
                    let pre = if linear_before_reset {
                        let mut hr = dot(h.iter().copied(), rrow.iter().copied());
                        if let Some(rb) = rbh {
                            hr = hr + rb;
                        }
                        let mut v = xw + r[j] * hr;
                        if let Some(wb) = wbh {
                            v = v + wb;
                        }
                        v
                    } else {
                        let mut v = xw + dot(rh.iter().copied(), rrow.iter().copied());
                        if let Some(rb) = rbh {
                            v = v + rb;
                        }
                        if let Some(wb) = wbh {
                            v = v + wb;
                        }
                        v
                    };
                    let cand = wt.act(1, pre);
                    (C::ONE - z[j]) * cand + z[j] * h[j]
                })
                .collect();
            h.copy_from_slice(&new);
        }
        RnnCell::Lstm { input_forget } => {
            let peep = |k: usize, j: usize, v: C, state: C| match wt.p {
                Some(p) => v + p[k * hs + j] * state,
                None => v,
            };
            let mut new_h = vec![C::ZERO; hs];
            let mut new_c = vec![C::ZERO; hs];
            for j in 0..hs {
                let gate = |g: usize| wt.products(s, x, h, g * hs + j);
                let i = wt.act(0, wt.biases(peep(0, j, gate(0), c[j]), j));
                let fg = if input_forget {
                    C::ONE - i
                } else {
                    wt.act(0, wt.biases(peep(2, j, gate(2), c[j]), 2 * hs + j))
                };
                let cand = wt.act(1, wt.biases(gate(3), 3 * hs + j));
                let cell = fg * c[j] + i * cand;
                let o = wt.act(0, wt.biases(peep(1, j, gate(1), cell), hs + j));
                new_c[j] = cell;
                new_h[j] = o * activate(&wt.acts[2], cell);
            }
            h.copy_from_slice(&new_h);
            c.copy_from_slice(&new_c);
        }
    }
}

/// The kernel for float element type `F`.
#[allow(clippy::too_many_arguments)]
fn run<F: FloatElem>(
    a: &RnnAttrs,
    x: &Tensor,
    w: &Tensor,
    r: &Tensor,
    b: Option<&Tensor>,
    lens: Option<&Tensor>,
    init_h: Option<&Tensor>,
    init_c: Option<&Tensor>,
    p: Option<&Tensor>,
) -> Result<Vec<Tensor>, EvalError> {
    let name = a.cell.name();
    let &[d0, d1, input] = x.dims() else {
        invalid!("{name} X must have rank 3, got dims {:?}", x.dims());
    };
    let (seq, batch) = if a.batch_major { (d1, d0) } else { (d0, d1) };
    let s = Sizes {
        seq,
        batch,
        input,
        hidden: a.hidden_size,
        dirs: a.direction.count(),
        gates: a.cell.gates(),
        batch_major: a.batch_major,
    };
    let per_dir = a.cell.activation_count();
    if a.activations.len() != per_dir * s.dirs {
        invalid!(
            "{name} needs {} activations, got {}",
            per_dir * s.dirs,
            a.activations.len()
        );
    }
    let gh = mul(s.gates, s.hidden)?;
    let xs: Vec<F::C> = elems::<F>(x)?.iter().map(|v| v.widen()).collect();
    let ws = widen::<F>(w, &[s.dirs, gh, input], &format!("{name} W"))?;
    let rs = widen::<F>(r, &[s.dirs, gh, s.hidden], &format!("{name} R"))?;
    let bs = b
        .map(|b| widen::<F>(b, &[s.dirs, mul(gh, 2)?], &format!("{name} B")))
        .transpose()?;
    let state_dims = s.state_dims();
    let hs0 = init_h
        .map(|t| widen::<F>(t, &state_dims, &format!("{name} initial_h")))
        .transpose()?;
    let cs0 = init_c
        .map(|t| widen::<F>(t, &state_dims, &format!("{name} initial_c")))
        .transpose()?;
    let ps = p
        .map(|t| widen::<F>(t, &[s.dirs, mul(s.hidden, 3)?], "lstm P"))
        .transpose()?;
    let lens: Vec<usize> = match lens {
        None => vec![seq; batch],
        Some(t) => {
            let Some(v) = t.to_i64_vec().filter(|v| v.len() == batch && t.dims().len() == 1) else {
                invalid!(
                    "{name} sequence_lens must be {batch} integers, got {:?} {}",
                    t.dims(),
                    t.dtype()
                );
            };
            let mut out = Vec::with_capacity(batch);
            for l in v {
                match usize::try_from(l) {
                    Ok(l) if l <= seq => out.push(l),
                    _ => invalid!("{name} sequence length {l} is outside [0, {seq}]"),
                }
            }
            out
        }
    };
    let y_len = mul(mul(mul(seq, s.dirs)?, batch)?, s.hidden)?;
    let state_len = mul(mul(s.dirs, batch)?, s.hidden)?;
    let mut y = vec![F::C::ZERO; y_len];
    let mut yh = vec![F::C::ZERO; state_len];
    let mut yc = vec![F::C::ZERO; state_len];
    let clip = a.clip.map(|c| F::C::from_f64(f64::from(c)));
    let hsz = s.hidden;
    for d in 0..s.dirs {
        let reverse = a.direction == RnnDirection::Reverse || d == 1;
        let wt = Weights {
            w: &ws[d * gh * input..(d + 1) * gh * input],
            r: &rs[d * gh * hsz..(d + 1) * gh * hsz],
            wb: bs.as_ref().map(|v| &v[d * 2 * gh..d * 2 * gh + gh]),
            rb: bs.as_ref().map(|v| &v[d * 2 * gh + gh..(d + 1) * 2 * gh]),
            p: ps.as_ref().map(|v| &v[d * 3 * hsz..(d + 1) * 3 * hsz]),
            acts: &a.activations[d * per_dir..(d + 1) * per_dir],
            clip,
        };
        for (bi, &len) in lens.iter().enumerate() {
            let at = s.state_at(d, bi);
            let mut h = hs0
                .as_ref()
                .map_or_else(|| vec![F::C::ZERO; hsz], |v| v[at..at + hsz].to_vec());
            let mut c = cs0
                .as_ref()
                .map_or_else(|| vec![F::C::ZERO; hsz], |v| v[at..at + hsz].to_vec());
            for k in 0..len {
                let t = if reverse { len - 1 - k } else { k };
                let xo = s.x_at(t, bi);
                step(a.cell, &s, &wt, &xs[xo..xo + input], &mut h, &mut c);
                let yo = s.y_at(t, d, bi);
                y[yo..yo + hsz].copy_from_slice(&h);
            }
            yh[at..at + hsz].copy_from_slice(&h);
            yc[at..at + hsz].copy_from_slice(&c);
        }
    }
    let narrow = |v: Vec<F::C>| -> Vec<F> { v.into_iter().map(F::narrow).collect() };
    let y_dims = if a.batch_major {
        vec![batch, seq, s.dirs, hsz]
    } else {
        vec![seq, s.dirs, batch, hsz]
    };
    let dtype = x.dtype();
    let mut out = vec![
        make(dtype, y_dims, narrow(y))?,
        make(dtype, state_dims.clone(), narrow(yh))?,
    ];
    if matches!(a.cell, RnnCell::Lstm { .. }) {
        out.push(make(dtype, state_dims, narrow(yc))?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(cell: RnnCell, direction: RnnDirection, hidden: usize, kinds: &[RnnActivationKind]) -> RnnAttrs {
        let per = cell.activation_count();
        let activations = (0..direction.count())
            .flat_map(|_| kinds[..per].iter().map(|&k| RnnActivation::new(k)))
            .collect();
        RnnAttrs {
            cell,
            direction,
            hidden_size: hidden,
            activations,
            clip: None,
            batch_major: false,
        }
    }

    fn t(dims: &[usize], v: &[f32]) -> Tensor {
        Tensor::from_vec(dims.to_vec(), v.to_vec()).unwrap()
    }

    fn f32s(t: &Tensor) -> Vec<f32> {
        t.as_slice::<f32>().unwrap().to_vec()
    }

    #[test]
    fn simple_rnn_affine_by_hand() {
        // Affine(alpha 1, beta 0) is the identity: H_t = x_t * w + H_{t-1} * r + wb + rb.
        let a = attrs(RnnCell::Simple, RnnDirection::Forward, 1, &[RnnActivationKind::Affine]);
        let x = t(&[3, 1, 1], &[1.0, 2.0, 3.0]);
        let w = t(&[1, 1, 1], &[2.0]);
        let r = t(&[1, 1, 1], &[0.5]);
        let b = t(&[1, 2], &[1.0, 0.25]);
        let out = rnn(&a, &[Some(&x), Some(&w), Some(&r), Some(&b)]).unwrap();
        // H1 = 2 + 0 + 1.25 = 3.25; H2 = 4 + 1.625 + 1.25 = 6.875; H3 = 6 + 3.4375 + 1.25.
        assert_eq!(f32s(&out[0]), vec![3.25, 6.875, 10.6875]);
        assert_eq!(out[0].dims(), &[3, 1, 1, 1]);
        assert_eq!(f32s(&out[1]), vec![10.6875]);
        // Reverse: steps 3, 2, 1.
        let rev = attrs(RnnCell::Simple, RnnDirection::Reverse, 1, &[RnnActivationKind::Affine]);
        let out = rnn(&rev, &[Some(&x), Some(&w), Some(&r), Some(&b)]).unwrap();
        // H(t=2) = 6 + 0 + 1.25 = 7.25; H(t=1) = 4 + 3.625 + 1.25 = 8.875; H(t=0) = 2 + 4.4375 + 1.25.
        assert_eq!(f32s(&out[0]), vec![7.6875, 8.875, 7.25]);
        assert_eq!(f32s(&out[1]), vec![7.6875]);
    }

    #[test]
    fn sequence_lens_and_clip() {
        let mut a = attrs(RnnCell::Simple, RnnDirection::Forward, 1, &[RnnActivationKind::Affine]);
        a.clip = Some(5.0);
        let x = t(&[3, 2, 1], &[1.0, 1.0, 2.0, 2.0, 3.0, 3.0]);
        let w = t(&[1, 1, 1], &[2.0]);
        let r = t(&[1, 1, 1], &[1.0]);
        let lens = Tensor::from_vec(vec![2], vec![3i32, 1]).unwrap();
        let out = rnn(&a, &[Some(&x), Some(&w), Some(&r), None, Some(&lens)]).unwrap();
        // Row 0: 2, min(2 + 4, 5) = 5, min(6 + 5, 5) = 5. Row 1: 2 then zeros.
        assert_eq!(f32s(&out[0]), vec![2.0, 2.0, 5.0, 0.0, 5.0, 0.0]);
        assert_eq!(f32s(&out[1]), vec![5.0, 2.0]);
        let bad = Tensor::from_vec(vec![2], vec![4i32, 1]).unwrap();
        assert!(rnn(&a, &[Some(&x), Some(&w), Some(&r), None, Some(&bad)]).is_err());
    }

    #[test]
    fn gru_by_hand() {
        // Hidden 1, input 1, weights zero but biases: z = sigmoid(0) = 0.5, cand = tanh(0) = 0.
        let a = attrs(
            RnnCell::Gru {
                linear_before_reset: false,
            },
            RnnDirection::Forward,
            1,
            &[RnnActivationKind::Affine, RnnActivationKind::Affine],
        );
        // With identity activations: z = x*1, r = x*1, cand = x*1 + (r*h)*1.
        let x = t(&[2, 1, 1], &[0.5, 0.25]);
        let w = t(&[1, 3, 1], &[1.0, 1.0, 1.0]);
        let r = t(&[1, 3, 1], &[0.0, 0.0, 1.0]);
        let out = rnn(&a, &[Some(&x), Some(&w), Some(&r)]).unwrap();
        // t0: z = .5, r = .5, cand = .5 + 0 = .5, H = .5 * .5 + .5 * 0 = .25.
        // t1: z = .25, r = .25, cand = .25 + .25 * .25 = .3125, H = .75 * .3125 + .25 * .25.
        assert_eq!(f32s(&out[1]), vec![0.75 * 0.3125 + 0.0625]);
        let lin = RnnAttrs {
            cell: RnnCell::Gru {
                linear_before_reset: true,
            },
            ..a
        };
        let out = rnn(&lin, &[Some(&x), Some(&w), Some(&r)]).unwrap();
        // Same products here: r * (h * 1) equals (r * h) * 1.
        assert_eq!(f32s(&out[1]), vec![0.75 * 0.3125 + 0.0625]);
    }

    #[test]
    fn lstm_by_hand() {
        use RnnActivationKind::Affine;
        let a = attrs(
            RnnCell::Lstm { input_forget: false },
            RnnDirection::Forward,
            1,
            &[Affine, Affine, Affine],
        );
        // Gates i, o, f, c all equal x (W = 1, R = 0).
        let x = t(&[2, 1, 1], &[0.5, 2.0]);
        let w = t(&[1, 4, 1], &[1.0; 4]);
        let r = t(&[1, 4, 1], &[0.0; 4]);
        let p = t(&[1, 3], &[0.0, 1.0, 0.0]);
        let out = rnn(&a, &[Some(&x), Some(&w), Some(&r), None, None, None, None, Some(&p)]).unwrap();
        // t0: C = .5 * 0 + .5 * .5 = .25; o = .5 + 1 * .25 = .75; H = .75 * .25.
        // t1: C = 2 * .25 + 2 * 2 = 4.5; o = 2 + 4.5 = 6.5; H = 6.5 * 4.5.
        assert_eq!(f32s(&out[0]), vec![0.1875, 29.25]);
        assert_eq!(f32s(&out[1]), vec![29.25]);
        assert_eq!(f32s(&out[2]), vec![4.5]);
    }

    #[test]
    fn bidirectional_batch_major_and_bad_shapes() {
        let mut a = attrs(
            RnnCell::Simple,
            RnnDirection::Bidirectional,
            1,
            &[RnnActivationKind::Affine],
        );
        a.batch_major = true;
        let x = t(&[1, 2, 1], &[1.0, 2.0]);
        let w = t(&[2, 1, 1], &[1.0, 10.0]);
        let r = t(&[2, 1, 1], &[1.0, 1.0]);
        let out = rnn(&a, &[Some(&x), Some(&w), Some(&r)]).unwrap();
        // Forward: 1, 3. Backward: 20, 30.
        assert_eq!(out[0].dims(), &[1, 2, 2, 1]);
        assert_eq!(f32s(&out[0]), vec![1.0, 30.0, 3.0, 20.0]);
        assert_eq!(out[1].dims(), &[1, 2, 1]);
        assert_eq!(f32s(&out[1]), vec![3.0, 30.0]);
        let bad_w = t(&[1, 1, 1], &[1.0]);
        assert!(rnn(&a, &[Some(&x), Some(&bad_w), Some(&r)]).is_err());
        assert!(rnn(&a, &[Some(&x), None, Some(&r)]).is_err());
    }
}
