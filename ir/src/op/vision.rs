//! Typed attributes of the vision ops: transposed convolution, local response
//! normalization and resampling.

use super::Padding;

/// Attributes of [`crate::Op::ConvTranspose`].
///
/// The weight is `[C_in, C_out / group, k...]`. Per spatial axis the full output extent is
/// `stride * (in - 1) + output_padding + (kernel - 1) * dilation + 1`; the output is that
/// extent less the begin and end pads. With `output_shape` the output size is given and the
/// pads are derived from it (see [`crate::infer::conv_transpose_geometry`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConvTransposeAttrs {
    /// Spatial kernel size (the weight's spatial dims).
    pub kernel: Vec<usize>,
    /// Stride per spatial axis.
    pub strides: Vec<usize>,
    /// Dilation per spatial axis.
    pub dilations: Vec<usize>,
    /// Padding: explicit pads, or `auto_pad`'s `SAME_UPPER` / `SAME_LOWER` / `VALID`.
    pub padding: Padding,
    /// Extra output positions at the end of each spatial axis (ONNX's `output_padding`).
    pub output_padding: Vec<usize>,
    /// The spatial output size when given explicitly; pads are then derived from it.
    pub output_shape: Option<Vec<usize>>,
    /// Number of groups.
    pub group: usize,
}

/// Attributes of [`crate::Op::Lrn`]: local response normalization across channels,
/// `y = x / (bias + alpha / size * sum(x^2 over the channel window))^beta`.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct LrnAttrs {
    /// Channels in the window: `floor((size - 1) / 2)` before and `ceil((size - 1) / 2)`
    /// after the channel itself, clipped to the tensor.
    pub size: usize,
    /// Scale of the sum of squares (divided by `size`).
    pub alpha: f32,
    /// Exponent.
    pub beta: f32,
    /// Offset added before the power.
    pub bias: f32,
}

/// The interpolation of [`crate::Op::Resize`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ResizeMode {
    /// The nearest input element, chosen by a [`NearestMode`].
    Nearest,
    /// Linear along each resized axis (bilinear, trilinear, ...).
    Linear,
    /// Cubic convolution along each resized axis.
    Cubic,
}

/// How an output coordinate maps to an input coordinate in [`crate::Op::Resize`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum CoordTransform {
    /// `(y + 0.5) / scale - 0.5`.
    HalfPixel,
    /// `half_pixel` about the centre of the resized region when the output size is not
    /// exactly `scale * in`.
    HalfPixelSymmetric,
    /// `half_pixel`, except that an output of size 1 samples input coordinate 0 (PyTorch).
    PytorchHalfPixel,
    /// `y * (in - 1) / (out - 1)`.
    AlignCorners,
    /// `y / scale`.
    Asymmetric,
    /// Crops to the region of interest operand, then `align_corners` within it; positions
    /// outside the input take the extrapolation value.
    TfCropAndResize,
}

/// How `nearest` mode rounds a fractional input coordinate.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum NearestMode {
    /// Round half down.
    RoundPreferFloor,
    /// Round half up.
    RoundPreferCeil,
    /// Round down.
    Floor,
    /// Round up.
    Ceil,
    /// The rule of `Upsample` and `Resize` before opset 11: round down when upsampling,
    /// up when downsampling, along each axis.
    Simple,
}

/// How [`crate::Op::Resize`] with a `sizes` operand keeps the aspect ratio.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum AspectPolicy {
    /// Each axis gets its own size and scale.
    Stretch,
    /// One scale, the smallest of the axes', so no axis is larger than asked.
    NotLarger,
    /// One scale, the largest of the axes', so no axis is smaller than asked.
    NotSmaller,
}

/// Attributes of [`crate::Op::Resize`]; operands `X, roi?, scales?, sizes?` (exactly one of
/// `scales` and `sizes`), with one `roi` begin/end pair, scale or size per resized axis.
#[derive(Clone, Debug, PartialEq)]
pub struct ResizeAttrs {
    /// The interpolation.
    pub mode: ResizeMode,
    /// The coordinate transformation.
    pub coord: CoordTransform,
    /// Rounding in nearest mode.
    pub nearest: NearestMode,
    /// The `a` of the cubic kernel (-0.75 like PyTorch, -0.5 like TensorFlow).
    pub cubic_coeff_a: f32,
    /// Give zero weight to taps outside the input and renormalize the rest.
    pub exclude_outside: bool,
    /// The value of `tf_crop_and_resize` outputs outside the input.
    pub extrapolation_value: f32,
    /// The aspect-ratio policy for `sizes`.
    pub aspect: AspectPolicy,
    /// Widen the linear or cubic kernel by `1 / scale` when downsampling.
    pub antialias: bool,
    /// The resized axes, normalized, in the order of the scales, sizes and roi entries.
    pub axes: Vec<usize>,
}

/// Attributes of [`crate::Op::MaxPoolIndices`]: max pooling that also gives, per output,
/// the flat index of the selected input element.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MaxPoolIndicesAttrs {
    /// Window size per spatial axis.
    pub kernel: Vec<usize>,
    /// Stride per spatial axis.
    pub strides: Vec<usize>,
    /// Dilation per spatial axis.
    pub dilations: Vec<usize>,
    /// Padding.
    pub padding: Padding,
    /// Round the output size up instead of down.
    pub ceil_mode: bool,
    /// Number the spatial positions column-major (ONNX `storage_order = 1`): the first
    /// spatial axis varies fastest. The `(n, c)` plane offset is row-major either way.
    pub column_major: bool,
}

/// Attributes of [`crate::Op::MaxUnpool`]; operands `X, I, output_shape?`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MaxUnpoolAttrs {
    /// Window size per spatial axis.
    pub kernel: Vec<usize>,
    /// Stride per spatial axis.
    pub strides: Vec<usize>,
    /// Begin pads of each spatial axis, then end pads.
    pub pads: Vec<usize>,
}

/// The interpolation of [`crate::Op::GridSample`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum GridMode {
    /// The nearest element (coordinates rounded half to even).
    Nearest,
    /// N-linear.
    Linear,
    /// N-cubic with `a = -0.75`.
    Cubic,
}

/// How [`crate::Op::GridSample`] treats positions outside the input.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum GridPadding {
    /// Zero.
    Zeros,
    /// The nearest border element.
    Border,
    /// Reflected at the borders.
    Reflection,
}

/// Attributes of [`crate::Op::GridSample`]; operands `X, grid`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct GridSampleAttrs {
    /// The interpolation.
    pub mode: GridMode,
    /// The treatment of outside positions.
    pub padding: GridPadding,
    /// `-1` and `1` are the centres of the corner elements (else their outer edges).
    pub align_corners: bool,
}

/// Attributes of [`crate::Op::AffineGrid`]; operands `theta, size`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct AffineGridAttrs {
    /// `-1` and `1` are the centres of the corner elements (else their outer edges).
    pub align_corners: bool,
}

/// Attributes of [`crate::Op::Col2Im`]; operands `input, image_shape, block_shape`.
/// Empty lists mean the ONNX defaults (ones, zero pads).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Col2ImAttrs {
    /// Dilation per spatial axis.
    pub dilations: Vec<usize>,
    /// Begin pads of each spatial axis, then end pads.
    pub pads: Vec<usize>,
    /// Stride per spatial axis.
    pub strides: Vec<usize>,
}

/// Attributes of [`crate::Op::CenterCropPad`]; operands `input, shape`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CenterCropPadAttrs {
    /// The cropped or padded axes, normalized, in the order of the shape's entries.
    pub axes: Vec<usize>,
}

/// Attributes of [`crate::Op::RoiAlign`]; operands `X, rois, batch_indices`.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct RoiAlignAttrs {
    /// Max pooling of the samples (else their average).
    pub max: bool,
    /// Output height.
    pub output_height: usize,
    /// Output width.
    pub output_width: usize,
    /// Samples per bin along each axis; 0 for `ceil(roi size / output size)`.
    pub sampling_ratio: usize,
    /// Scale from roi coordinates to input coordinates.
    pub spatial_scale: f32,
    /// Shift the roi by half a pixel (ONNX `half_pixel`, the default since opset 16); else
    /// `output_half_pixel`, which also makes rois at least one pixel wide.
    pub half_pixel: bool,
}

/// Attributes of [`crate::Op::DeformConv`]; operands `X, W, offset, B?, mask?`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeformConvAttrs {
    /// Spatial kernel size.
    pub kernel: Vec<usize>,
    /// Stride per spatial axis.
    pub strides: Vec<usize>,
    /// Dilation per spatial axis.
    pub dilations: Vec<usize>,
    /// Begin pads of each spatial axis, then end pads.
    pub pads: Vec<usize>,
    /// Number of channel groups.
    pub group: usize,
    /// Number of offset groups: input channels share offsets within a group.
    pub offset_group: usize,
}
