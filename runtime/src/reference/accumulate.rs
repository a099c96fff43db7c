//! The fixed summation orders of the numerical contract.
//!
//! Long reductions (sums, means, norms, softmax denominators) add their terms into
//! [`LANES`] lane partials, term `j` into lane `j % LANES`, each lane in order from zero;
//! then the lanes are combined by halving: lane `i` += lane `i + 4`, then `i + 2`, then
//! `i + 1`. A SIMD backend reproduces this with one vector accumulator and a fixed
//! horizontal reduction. Dot products (matmul, convolution) instead accumulate along K
//! in order, each step a rounded multiply then a rounded add, starting from zero.

/// Number of lane partials in a long reduction.
pub const LANES: usize = 8;

/// A summable element type of the accumulation helpers.
pub trait Accum: Copy + std::ops::Add<Output = Self> + std::ops::Mul<Output = Self> {
    /// Zero.
    const ZERO: Self;
}

impl Accum for f32 {
    const ZERO: f32 = 0.0;
}

impl Accum for f64 {
    const ZERO: f64 = 0.0;
}

/// Sums `terms` in the lane-partial then halving-tree order.
pub fn tree_sum<T: Accum>(terms: impl IntoIterator<Item = T>) -> T {
    let mut lanes = [T::ZERO; LANES];
    for (j, t) in terms.into_iter().enumerate() {
        lanes[j % LANES] = lanes[j % LANES] + t;
    }
    combine_lanes(lanes)
}

/// Combines lane partials by halving: `+4`, then `+2`, then `+1`.
pub fn combine_lanes<T: Accum>(mut lanes: [T; LANES]) -> T {
    let mut width = LANES / 2;
    while width > 0 {
        for i in 0..width {
            lanes[i] = lanes[i] + lanes[i + width];
        }
        width /= 2;
    }
    lanes[0]
}

/// `sum_k a[k] * b[k]` accumulated along K in order from zero, each step rounded twice.
pub fn dot<T: Accum>(a: impl IntoIterator<Item = T>, b: impl IntoIterator<Item = T>) -> T {
    let mut acc = T::ZERO;
    for (x, y) in a.into_iter().zip(b) {
        let p = x * y;
        acc = acc + p;
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_sum_order_is_fixed() {
        let v: Vec<f32> = (0..20).map(|i| i as f32).collect();
        assert_eq!(tree_sum(v.iter().copied()), 190.0);
        // Term 8 lands in lane 0 with term 0, so 1e8 and -1e8 cancel before the small
        // term of lane 1 is added; a left-to-right sum would lose that 1.
        let mut w = [0.0f32; 16];
        w[0] = 1.0e8;
        w[1] = 1.0;
        w[8] = -1.0e8;
        assert_eq!(tree_sum(w.iter().copied()), 1.0);
    }
}
