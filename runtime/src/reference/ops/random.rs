//! Random-number kernels: uniform and normal generators, Bernoulli and multinomial
//! sampling, all from one documented counter-based generator.
//!
//! # The generator
//!
//! A node's stream is keyed by its seed: `key = mix(bits)` where `bits` is the IEEE bit
//! pattern of the `f32` seed, or `2^32` when the node has no seed, and
//!
//! ```text
//! mix(z):  z = z + 0x9E3779B97F4A7C15 (wrapping)
//!          z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
//!          z = (z ^ (z >> 27)) * 0x94D049BB133111EB
//!          z ^ (z >> 31)
//! ```
//!
//! (SplitMix64's step; multiplications wrap). Word `i` of the stream is
//! `mix(key + i * 0x9E3779B97F4A7C15)` and the uniform number `u_i = (word_i >> 11) *
//! 2^-53`, in `[0, 1)`. Every element uses its own words, so the results are the same on
//! every run, machine and thread count, but they are not NumPy's or ONNX Runtime's.
//!
//! - Uniform: element `i` is `low + (high - low) * u_i` in `f64`, cast once.
//! - Normal (Box-Muller): element `i` is `mean + scale * (sqrt(-2 ln(1 - u_{2i})) *
//!   cos(2 pi u_{2i+1}))` in `f64` with the project's own `ln` and `cos`, cast once.
//! - Bernoulli: element `i` is 1 when `u_i < p_i` (in `f64`), else 0.
//! - Multinomial: sample `j` of row `b` takes `u = u_{b * sample_size + j}`; with
//!   `e_k = exp(x_k - max_k x_k)` in `f64` and running sums `c_k = c_{k-1} + e_k` in class
//!   order, it is the first class with `u * c_last < c_k` (the last class if none).

use std::f64::consts::TAU;

use lightos_ir::{BernoulliAttrs, DType, MultinomialAttrs, RandomAttrs, RandomDist, RandomLikeAttrs, Tensor};

use super::elementwise::cast;
use super::scalar::Float;
use crate::reference::{invalid, EvalError};

/// SplitMix64's increment, `2^64 / phi`.
const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64's output step.
fn mix(z: u64) -> u64 {
    let z = z.wrapping_add(GOLDEN);
    let z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    let z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A node's stream of uniform numbers.
struct Stream {
    key: u64,
}

impl Stream {
    /// The stream of `seed` (or the default stream).
    fn new(seed: Option<f32>) -> Stream {
        let bits = seed.map_or(1u64 << 32, |s| u64::from(s.to_bits()));
        Stream { key: mix(bits) }
    }

    /// `u_i` in `[0, 1)`.
    fn uniform(&self, i: u64) -> f64 {
        let w = mix(self.key.wrapping_add(i.wrapping_mul(GOLDEN)));
        (w >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

/// `count` values of the distribution, in `f64`.
fn sample(dist: &RandomDist, stream: &Stream, count: usize) -> Vec<f64> {
    (0..count as u64)
        .map(|i| match *dist {
            RandomDist::Uniform { low, high } => {
                let (low, high) = (f64::from(low), f64::from(high));
                low + (high - low) * stream.uniform(i)
            }
            RandomDist::Normal { mean, scale } => {
                let u1 = stream.uniform(2 * i);
                let u2 = stream.uniform(2 * i + 1);
                let r = (-2.0 * Float::ln(1.0 - u1)).sqrt();
                f64::from(mean) + f64::from(scale) * (r * Float::cos(TAU * u2))
            }
        })
        .collect()
}

/// The element count of `dims`, refusing overflow.
fn count(dims: &[usize]) -> Result<usize, EvalError> {
    lightos_ir::shape::num_elements(dims).map_err(|e| EvalError::Invalid(e.to_string()))
}

/// A float tensor of `dtype` from `f64` values (each rounded once).
fn finish(dtype: DType, dims: Vec<usize>, values: Vec<f64>) -> Result<Tensor, EvalError> {
    if !dtype.is_float() {
        invalid!("random values must be a float dtype, got {dtype}");
    }
    cast(&Tensor::from_vec(dims, values)?, dtype)
}

/// `RandomUniform` / `RandomNormal`.
pub(crate) fn random(a: &RandomAttrs) -> Result<Tensor, EvalError> {
    let n = count(&a.shape)?;
    finish(a.dtype, a.shape.clone(), sample(&a.dist, &Stream::new(a.seed), n))
}

/// `RandomUniformLike` / `RandomNormalLike`.
pub(crate) fn random_like(a: &RandomLikeAttrs, x: &Tensor) -> Result<Tensor, EvalError> {
    let dtype = a.dtype.unwrap_or(x.dtype());
    finish(dtype, x.dims().to_vec(), sample(&a.dist, &Stream::new(a.seed), x.len()))
}

/// `Bernoulli`: 1 where `u_i < p_i`.
pub(crate) fn bernoulli(a: &BernoulliAttrs, p: &Tensor) -> Result<Tensor, EvalError> {
    if !p.dtype().is_float() {
        invalid!("bernoulli probabilities must be floats, got {}", p.dtype());
    }
    let stream = Stream::new(a.seed);
    let values: Vec<f64> = p
        .to_f64_vec()
        .into_iter()
        .enumerate()
        .map(|(i, p)| if stream.uniform(i as u64) < p { 1.0 } else { 0.0 })
        .collect();
    cast(
        &Tensor::from_vec(p.dims().to_vec(), values)?,
        a.dtype.unwrap_or(p.dtype()),
    )
}

/// `Multinomial`: `sample_size` class indices per row.
pub(crate) fn multinomial(a: &MultinomialAttrs, x: &Tensor) -> Result<Tensor, EvalError> {
    let &[batch, classes] = x.dims() else {
        invalid!("multinomial input must be [batch, classes], got {:?}", x.dims());
    };
    if !x.dtype().is_float() {
        invalid!("multinomial input must be floats, got {}", x.dtype());
    }
    if classes == 0 {
        invalid!("multinomial needs at least one class");
    }
    let total = count(&[batch, a.sample_size])?;
    let stream = Stream::new(a.seed);
    let v = x.to_f64_vec();
    let mut out = Vec::with_capacity(total);
    for b in 0..batch {
        let row = &v[b * classes..(b + 1) * classes];
        let max = row
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, |m, x| if x > m { x } else { m });
        let mut cum = Vec::with_capacity(classes);
        let mut c = 0.0f64;
        for &x in row {
            c += Float::exp(x - max);
            cum.push(c);
        }
        for j in 0..a.sample_size {
            let target = stream.uniform((b * a.sample_size + j) as u64) * c;
            let k = cum.iter().position(|&ck| target < ck).unwrap_or(classes - 1);
            out.push(k as i64);
        }
    }
    let t = Tensor::from_vec(vec![batch, a.sample_size], out)?;
    match a.dtype {
        DType::I64 => Ok(t),
        DType::I32 => cast(&t, DType::I32),
        d => invalid!("multinomial results must be i32 or i64, got {d}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generator_is_fixed() {
        // SplitMix64's published first output for seed 0 is 0xE220A8397B1DCDAF.
        assert_eq!(mix(0), 0xE220_A839_7B1D_CDAF);
        let s = Stream::new(Some(0.0));
        let u: Vec<f64> = (0..1000).map(|i| s.uniform(i)).collect();
        assert!(u.iter().all(|&x| (0.0..1.0).contains(&x)));
        let mean = u.iter().sum::<f64>() / 1000.0;
        assert!((mean - 0.5).abs() < 0.05, "{mean}");
        // Seeds give different streams; the same seed the same one.
        assert_ne!(Stream::new(Some(1.0)).uniform(0), s.uniform(0));
        assert_eq!(Stream::new(Some(0.0)).uniform(7), s.uniform(7));
    }

    #[test]
    fn distributions() {
        let a = RandomAttrs {
            dist: RandomDist::Uniform { low: 2.0, high: 3.0 },
            dtype: DType::F32,
            shape: vec![4, 5],
            seed: Some(3.0),
        };
        let t = random(&a).unwrap();
        assert_eq!(t.dims(), &[4, 5]);
        assert!(t.as_slice::<f32>().unwrap().iter().all(|&v| (2.0..=3.0).contains(&v)));
        assert_eq!(random(&a).unwrap(), t);
        let n = RandomLikeAttrs {
            dist: RandomDist::Normal { mean: 10.0, scale: 0.0 },
            dtype: Some(DType::F64),
            seed: None,
        };
        let z = random_like(&n, &t).unwrap();
        assert!(z.as_slice::<f64>().unwrap().iter().all(|&v| v == 10.0));
        let p = Tensor::from_vec(vec![3], vec![0.0f32, 1.0, 1.0]).unwrap();
        let b = bernoulli(
            &BernoulliAttrs {
                dtype: None,
                seed: Some(1.0),
            },
            &p,
        )
        .unwrap();
        assert_eq!(b.as_slice::<f32>().unwrap(), &[0.0, 1.0, 1.0]);
        let logits = Tensor::from_vec(vec![2, 3], vec![0.0f32, -1000.0, -1000.0, -1000.0, -1000.0, 0.0]).unwrap();
        let m = MultinomialAttrs {
            sample_size: 4,
            dtype: DType::I32,
            seed: None,
        };
        let s = multinomial(&m, &logits).unwrap();
        assert_eq!(s.as_slice::<i32>().unwrap(), &[0, 0, 0, 0, 2, 2, 2, 2]);
    }
}
