//! Window geometry shared by convolution and pooling.

use super::{bail, InferError};
use crate::op::Padding;

/// The resolved geometry of a sliding window over fixed spatial sizes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConvGeometry {
    /// Output size per spatial axis.
    pub output: Vec<usize>,
    /// Padding before each spatial axis.
    pub pad_begin: Vec<usize>,
    /// Padding after each spatial axis.
    pub pad_end: Vec<usize>,
}

/// Resolves padding and output sizes for windows of `kernel` over `input` sizes.
///
/// With `ceil_mode`, the output size rounds up, but a last window that would start in the
/// end padding is dropped (the ONNX and PyTorch rule).
pub fn conv_geometry(
    input: &[usize],
    kernel: &[usize],
    strides: &[usize],
    dilations: &[usize],
    padding: &Padding,
    ceil_mode: bool,
) -> Result<ConvGeometry, InferError> {
    let n = input.len();
    if kernel.len() != n || strides.len() != n || dilations.len() != n {
        bail!(
            "window attributes have {} / {} / {} axes for {n} spatial axes",
            kernel.len(),
            strides.len(),
            dilations.len()
        );
    }
    let mut geo = ConvGeometry {
        output: Vec::with_capacity(n),
        pad_begin: Vec::with_capacity(n),
        pad_end: Vec::with_capacity(n),
    };
    for i in 0..n {
        let (stride, dilation) = (strides[i], dilations[i]);
        if stride == 0 || dilation == 0 || kernel[i] == 0 {
            bail!("window axis {i} has a zero kernel, stride or dilation");
        }
        let extent = dilation
            .checked_mul(kernel[i] - 1)
            .and_then(|e| e.checked_add(1))
            .ok_or_else(|| InferError(format!("window axis {i} overflows")))?;
        let (begin, end) = match padding {
            Padding::Explicit(p) => {
                if p.len() != 2 * n {
                    bail!("pads has {} entries for {n} spatial axes", p.len());
                }
                (p[i], p[n + i])
            }
            Padding::Valid => (0, 0),
            Padding::SameUpper | Padding::SameLower => {
                let out = input[i].div_ceil(stride);
                let needed = ((out.max(1) - 1) * stride + extent).saturating_sub(input[i]);
                let small = needed / 2;
                let large = needed - small;
                if matches!(padding, Padding::SameUpper) {
                    (small, large)
                } else {
                    (large, small)
                }
            }
        };
        let padded = input[i]
            .checked_add(begin)
            .and_then(|x| x.checked_add(end))
            .ok_or_else(|| InferError(format!("padded axis {i} overflows")))?;
        if padded < extent {
            bail!("window of extent {extent} does not fit padded input size {padded} on axis {i}");
        }
        let span = padded - extent;
        let mut out = if ceil_mode {
            span.div_ceil(stride) + 1
        } else {
            span / stride + 1
        };
        if ceil_mode && (out - 1) * stride >= input[i] + begin {
            out -= 1;
        }
        geo.output.push(out);
        geo.pad_begin.push(begin);
        geo.pad_end.push(end);
    }
    Ok(geo)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_and_same_padding() {
        let g = conv_geometry(
            &[8, 8],
            &[3, 3],
            &[1, 1],
            &[1, 1],
            &Padding::Explicit(vec![1, 1, 1, 1]),
            false,
        )
        .unwrap();
        assert_eq!(g.output, vec![8, 8]);
        let g = conv_geometry(&[5], &[2], &[2], &[1], &Padding::SameUpper, false).unwrap();
        assert_eq!((g.output, g.pad_begin, g.pad_end), (vec![3], vec![0], vec![1]));
        let g = conv_geometry(&[5], &[2], &[2], &[1], &Padding::SameLower, false).unwrap();
        assert_eq!((g.pad_begin, g.pad_end), (vec![1], vec![0]));
    }

    #[test]
    fn ceil_mode_rounds_up() {
        let g = conv_geometry(&[4], &[3], &[2], &[1], &Padding::Valid, true).unwrap();
        assert_eq!(g.output, vec![2]);
        let g = conv_geometry(&[4], &[3], &[2], &[1], &Padding::Valid, false).unwrap();
        assert_eq!(g.output, vec![1]);
    }
}
