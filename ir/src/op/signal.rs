//! Typed attributes of the signal-processing ops — the discrete Fourier transform, the
//! short-time Fourier transform, the window generators and the mel filter bank — and
//! their text-format encoding.

use super::names::{AttrList, AttrValue};
use super::take::Take;
use crate::dtype::DType;

/// Attributes of [`crate::Op::Dft`].
///
/// Operands `input, dft_length?, axis?`: `input` is `[..., 1]` (real) or `[..., 2]`
/// (complex, real then imaginary), `dft_length` one integer (absent: the axis's size, or
/// `2 * (size - 1)` for the inverse one-sided transform), `axis` one integer in
/// `[-r, -2] ∪ [0, r - 2]` (absent: `-2`). Older opsets' `axis` attribute becomes the
/// operand at import.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct DftAttrs {
    /// The inverse transform (scaled by `1 / dft_length`).
    pub inverse: bool,
    /// Forward: return only bins `0..=n/2`. Inverse: the input is such a half spectrum
    /// and the result is real (`[..., 1]`).
    pub onesided: bool,
}

/// Attributes of [`crate::Op::Stft`].
///
/// Operands `signal` `[batch, length, 1 or 2]`, `frame_step` (one integer), `window?`
/// `[frame_length]`, `frame_length?` (one integer). The result is
/// `[batch, frames, bins, 2]` with `frames = (length - frame_length) / frame_step + 1`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct StftAttrs {
    /// Return only bins `0..=frame_length/2`.
    pub onesided: bool,
}

/// The window functions of [`crate::Op::Window`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum WindowKind {
    /// `0.5 - 0.5 cos(2 pi n / N)`.
    Hann,
    /// `25/46 - 21/46 cos(2 pi n / N)`.
    Hamming,
    /// `0.42 - 0.5 cos(2 pi n / N) + 0.08 cos(4 pi n / N)`.
    Blackman,
}

impl WindowKind {
    /// The text-format name of the op.
    pub fn name(self) -> &'static str {
        match self {
            WindowKind::Hann => "hann_window",
            WindowKind::Hamming => "hamming_window",
            WindowKind::Blackman => "blackman_window",
        }
    }
}

/// Attributes of [`crate::Op::Window`]; the operand is the window size (one integer).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct WindowAttrs {
    /// The function.
    pub kind: WindowKind,
    /// `N` is the size (periodic) rather than the size less one (symmetric).
    pub periodic: bool,
    /// The result dtype.
    pub dtype: DType,
}

/// Attributes of [`crate::Op::MelWeightMatrix`]; operands `num_mel_bins`, `dft_length`,
/// `sample_rate` (integers), `lower_edge_hertz`, `upper_edge_hertz` (floats), each one
/// value. The result is `[dft_length / 2 + 1, num_mel_bins]`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct MelWeightMatrixAttrs {
    /// The result dtype.
    pub dtype: DType,
}

/// The text name and attributes of `dft`.
pub(super) fn encode_dft(a: &DftAttrs) -> (&'static str, AttrList) {
    (
        "dft",
        vec![
            ("inverse", AttrValue::Bool(a.inverse)),
            ("onesided", AttrValue::Bool(a.onesided)),
        ],
    )
}

/// The text name and attributes of `stft`.
pub(super) fn encode_stft(a: &StftAttrs) -> (&'static str, AttrList) {
    ("stft", vec![("onesided", AttrValue::Bool(a.onesided))])
}

/// The text name and attributes of a window op.
pub(super) fn encode_window(a: &WindowAttrs) -> (&'static str, AttrList) {
    (
        a.kind.name(),
        vec![
            ("periodic", AttrValue::Bool(a.periodic)),
            ("dtype", AttrValue::Ident(a.dtype.name().into())),
        ],
    )
}

/// The text name and attributes of `mel_weight_matrix`.
pub(super) fn encode_mel(a: &MelWeightMatrixAttrs) -> (&'static str, AttrList) {
    (
        "mel_weight_matrix",
        vec![("dtype", AttrValue::Ident(a.dtype.name().into()))],
    )
}

/// Decodes the op `name` (one of this module's) from its text attributes; `None` when the
/// name is not one of them.
pub(super) fn decode(name: &str, items: &mut Vec<(String, AttrValue)>) -> Result<Option<super::Op>, String> {
    use super::Op;
    let mut t = Take(items);
    let window = |kind: WindowKind, t: &mut Take| -> Result<Op, String> {
        Ok(Op::Window(WindowAttrs {
            kind,
            periodic: t.bool("periodic")?,
            dtype: t.dtype("dtype")?,
        }))
    };
    Ok(Some(match name {
        "dft" => Op::Dft(DftAttrs {
            inverse: t.bool("inverse")?,
            onesided: t.bool("onesided")?,
        }),
        "stft" => Op::Stft(StftAttrs {
            onesided: t.bool("onesided")?,
        }),
        "hann_window" => window(WindowKind::Hann, &mut t)?,
        "hamming_window" => window(WindowKind::Hamming, &mut t)?,
        "blackman_window" => window(WindowKind::Blackman, &mut t)?,
        "mel_weight_matrix" => Op::MelWeightMatrix(MelWeightMatrixAttrs {
            dtype: t.dtype("dtype")?,
        }),
        _ => return Ok(None),
    }))
}
