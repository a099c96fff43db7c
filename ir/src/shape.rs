//! Tensor shapes with fixed and symbolic dimensions, and checked arithmetic on them.

use std::fmt;

/// One dimension of a shape: a known size or a named symbol bound at run time.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dim {
    /// A size known at compile time.
    Fixed(usize),
    /// A size known only at run time, named by a symbol such as `batch`.
    Sym(String),
}

impl Dim {
    /// The size, when it is fixed.
    pub fn fixed(&self) -> Option<usize> {
        match self {
            Dim::Fixed(n) => Some(*n),
            Dim::Sym(_) => None,
        }
    }
}

impl From<usize> for Dim {
    fn from(n: usize) -> Self {
        Dim::Fixed(n)
    }
}

impl fmt::Display for Dim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dim::Fixed(n) => write!(f, "{n}"),
            Dim::Sym(s) => f.write_str(s),
        }
    }
}

/// Errors of shape arithmetic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShapeError {
    /// A product of dimensions does not fit in `usize`, or a byte size overflows.
    #[error("shape {0} has more elements than fit in memory (overflow)")]
    Overflow(String),
    /// A fixed count was needed but a dimension is symbolic.
    #[error("shape {0} has a symbolic dimension where a fixed one is needed")]
    NotFixed(String),
}

/// The shape of a tensor: one [`Dim`] per axis. Rank 0 is a scalar.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Shape(pub Vec<Dim>);

impl Shape {
    /// A shape of fixed dimensions.
    pub fn fixed(dims: &[usize]) -> Shape {
        Shape(dims.iter().map(|&d| Dim::Fixed(d)).collect())
    }

    /// The scalar shape (rank 0).
    pub fn scalar() -> Shape {
        Shape(Vec::new())
    }

    /// Number of axes.
    pub fn rank(&self) -> usize {
        self.0.len()
    }

    /// The dimensions.
    pub fn dims(&self) -> &[Dim] {
        &self.0
    }

    /// The fixed sizes, or `None` when any dimension is symbolic.
    pub fn as_fixed(&self) -> Option<Vec<usize>> {
        self.0.iter().map(Dim::fixed).collect()
    }

    /// Whether every dimension is fixed.
    pub fn is_fixed(&self) -> bool {
        self.0.iter().all(|d| d.fixed().is_some())
    }

    /// The number of elements, checked for overflow; `NotFixed` if a dimension is symbolic.
    pub fn num_elements(&self) -> Result<usize, ShapeError> {
        let dims = self.as_fixed().ok_or_else(|| ShapeError::NotFixed(self.to_string()))?;
        num_elements(&dims)
    }
}

/// The number of elements of fixed dimensions, checked for overflow.
pub fn num_elements(dims: &[usize]) -> Result<usize, ShapeError> {
    dims.iter().try_fold(1usize, |acc, &d| {
        acc.checked_mul(d)
            .ok_or_else(|| ShapeError::Overflow(format_dims(dims)))
    })
}

/// The byte size of a tensor of `dims` with `elem_size`-byte elements, checked for overflow.
pub fn byte_size(dims: &[usize], elem_size: usize) -> Result<usize, ShapeError> {
    num_elements(dims)?
        .checked_mul(elem_size)
        .ok_or_else(|| ShapeError::Overflow(format_dims(dims)))
}

/// Row-major strides (in elements) of fixed dimensions.
pub fn strides(dims: &[usize]) -> Vec<usize> {
    let mut out = vec![1usize; dims.len()];
    for i in (0..dims.len().saturating_sub(1)).rev() {
        out[i] = out[i + 1] * dims[i + 1];
    }
    out
}

/// Formats fixed dimensions as `[a, b, c]`.
pub fn format_dims(dims: &[usize]) -> String {
    let parts: Vec<String> = dims.iter().map(|d| d.to_string()).collect();
    format!("[{}]", parts.join(", "))
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{d}")?;
        }
        f.write_str("]")
    }
}

impl From<Vec<usize>> for Shape {
    fn from(dims: Vec<usize>) -> Self {
        Shape::fixed(&dims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn num_elements_is_checked() {
        assert_eq!(num_elements(&[2, 3, 4]), Ok(24));
        assert_eq!(num_elements(&[]), Ok(1));
        assert!(matches!(num_elements(&[usize::MAX, 2]), Err(ShapeError::Overflow(_))));
        let sym = Shape(vec![Dim::Sym("n".into()), Dim::Fixed(3)]);
        assert!(matches!(sym.num_elements(), Err(ShapeError::NotFixed(_))));
    }

    #[test]
    fn strides_are_row_major() {
        assert_eq!(strides(&[2, 3, 4]), vec![12, 4, 1]);
        assert_eq!(strides(&[]), Vec::<usize>::new());
    }
}
