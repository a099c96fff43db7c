//! Index arithmetic shared by the kernels: broadcasting and strided walks.

use crate::reference::{invalid, EvalError};

/// The NumPy broadcast of fixed dims.
pub(crate) fn broadcast_dims(a: &[usize], b: &[usize]) -> Result<Vec<usize>, EvalError> {
    let rank = a.len().max(b.len());
    let mut out = vec![0; rank];
    for i in 0..rank {
        let da = if i < rank - a.len() { 1 } else { a[i - (rank - a.len())] };
        let db = if i < rank - b.len() { 1 } else { b[i - (rank - b.len())] };
        out[i] = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => invalid!("shapes {a:?} and {b:?} do not broadcast"),
        };
    }
    Ok(out)
}

/// Element strides of `dims` read as if broadcast to `out` (0 on broadcast axes).
pub(crate) fn broadcast_strides(dims: &[usize], out: &[usize]) -> Vec<usize> {
    let own = lightos_ir::shape::strides(dims);
    let lead = out.len() - dims.len();
    (0..out.len())
        .map(|i| {
            if i < lead || dims[i - lead] == 1 {
                0
            } else {
                own[i - lead]
            }
        })
        .collect()
}

/// Walks every index of `dims` in row-major order and yields, for each, the offsets
/// given by each set of `strides`.
pub(crate) struct StridedWalk<'a, const N: usize> {
    dims: &'a [usize],
    strides: [&'a [usize]; N],
    index: Vec<usize>,
    offsets: [usize; N],
    remaining: usize,
}

impl<'a, const N: usize> StridedWalk<'a, N> {
    /// A walk over `dims` with `N` stride sets, each as long as `dims`.
    pub(crate) fn new(dims: &'a [usize], strides: [&'a [usize]; N]) -> Self {
        StridedWalk {
            dims,
            strides,
            index: vec![0; dims.len()],
            offsets: [0; N],
            remaining: dims.iter().product(),
        }
    }
}

impl<const N: usize> Iterator for StridedWalk<'_, N> {
    type Item = [usize; N];

    fn next(&mut self) -> Option<[usize; N]> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        let current = self.offsets;
        for axis in (0..self.dims.len()).rev() {
            self.index[axis] += 1;
            for (k, s) in self.strides.iter().enumerate() {
                self.offsets[k] += s[axis];
            }
            if self.index[axis] < self.dims[axis] {
                break;
            }
            for (k, s) in self.strides.iter().enumerate() {
                self.offsets[k] -= s[axis] * self.dims[axis];
            }
            self.index[axis] = 0;
        }
        Some(current)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walk_broadcasts() {
        let out = broadcast_dims(&[2, 1], &[3]).unwrap();
        assert_eq!(out, vec![2, 3]);
        let sa = broadcast_strides(&[2, 1], &out);
        let sb = broadcast_strides(&[3], &out);
        let pairs: Vec<[usize; 2]> = StridedWalk::new(&out, [&sa, &sb]).collect();
        assert_eq!(pairs, vec![[0, 0], [0, 1], [0, 2], [1, 0], [1, 1], [1, 2]]);
        assert!(broadcast_dims(&[2], &[3]).is_err());
    }
}
