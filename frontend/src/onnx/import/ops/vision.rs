//! Importers of the vision ops: `ConvTranspose`, `DeformConv`, `LRN`, `Resize`,
//! `Upsample`, `GridSample`, `AffineGrid`, `MaxPool` with indices, `MaxUnpool`, `Col2Im`,
//! `CenterCropPad` and `RoiAlign`.

use lightos_ir::infer::normalize_axes;
use lightos_ir::{
    AffineGridAttrs, AspectPolicy, CenterCropPadAttrs, Col2ImAttrs, ConvTransposeAttrs, CoordTransform,
    DeformConvAttrs, GridMode, GridPadding, GridSampleAttrs, LrnAttrs, MaxPoolIndicesAttrs, MaxUnpoolAttrs,
    NearestMode, Op, Padding, ResizeAttrs, ResizeMode, RoiAlignAttrs, Tensor, ValueId,
};

use super::super::context::{ImportResult, Importer, NodeCx};

/// `ConvTranspose`: the kernel shape defaults to the weight's spatial dims; `output_shape`
/// may name the spatial sizes only or (as some exporters write it) the whole shape.
pub(super) fn conv_transpose(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let x = im.req(cx, 0)?;
    let w = im.req(cx, 1)?;
    let a = &cx.attrs;
    let rank = im.ty(x).rank();
    if rank < 3 {
        return Err(format!(
            "ConvTranspose needs an input of rank 3 or more, got {}",
            im.ty(x)
        ));
    }
    let n = rank - 2;
    let kernel = super::nn::kernel_shape(im, w, a)?;
    if kernel.len() != n {
        return Err(format!("kernel_shape {kernel:?} does not fit a {n}-d input"));
    }
    let list = |name: &str, default: usize| -> Result<Vec<usize>, String> {
        let v = a.usizes(name)?.unwrap_or_else(|| vec![default; n]);
        if v.len() != n {
            return Err(format!("{name} {v:?} does not fit a {n}-d kernel"));
        }
        Ok(v)
    };
    let padding = match a.string_or("auto_pad", "NOTSET")?.as_str() {
        "NOTSET" => Padding::Explicit(a.usizes("pads")?.unwrap_or_else(|| vec![0; 2 * n])),
        "SAME_UPPER" => Padding::SameUpper,
        "SAME_LOWER" => Padding::SameLower,
        "VALID" => Padding::Valid,
        other => return Err(format!("unknown auto_pad `{other}`")),
    };
    let output_shape = match a.usizes("output_shape")? {
        None => None,
        Some(s) if s.len() == n => Some(s),
        Some(s) if s.len() == rank => Some(s[2..].to_vec()),
        Some(s) => return Err(format!("output_shape {s:?} does not fit a {n}-d input")),
    };
    let group = a.int_or("group", 1)?;
    let attrs = ConvTransposeAttrs {
        kernel,
        strides: list("strides", 1)?,
        dilations: list("dilations", 1)?,
        padding,
        output_padding: list("output_padding", 0)?,
        output_shape,
        group: usize::try_from(group).map_err(|_| format!("group {group} is negative"))?,
    };
    let ops = vec![Some(x), Some(w), im.input(cx, 2)?];
    im.emit(&cx.name, Op::ConvTranspose(attrs), ops)
}

/// `LRN`.
pub(super) fn lrn(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let x = im.req(cx, 0)?;
    let a = &cx.attrs;
    let size = a.int("size")?.ok_or("attribute `size` is required")?;
    let attrs = LrnAttrs {
        size: usize::try_from(size)
            .ok()
            .filter(|&s| s > 0)
            .ok_or_else(|| format!("size {size} must be positive"))?,
        alpha: a.float_or("alpha", 1e-4)?,
        beta: a.float_or("beta", 0.75)?,
        bias: a.float_or("bias", 1.0)?,
    };
    im.emit(&cx.name, Op::Lrn(attrs), vec![Some(x)])
}

/// The interpolation mode named `s` (`bilinear` is `Upsample`-1's name for linear).
fn resize_mode(s: &str) -> Result<ResizeMode, String> {
    Ok(match s {
        "nearest" => ResizeMode::Nearest,
        "linear" | "bilinear" => ResizeMode::Linear,
        "cubic" => ResizeMode::Cubic,
        other => return Err(format!("unknown mode `{other}`")),
    })
}

/// The attributes of `Resize` before opset 11 and of `Upsample`: `asymmetric`
/// coordinates and, for nearest, the old rounding rule, over all axes.
fn legacy_resize(mode: ResizeMode, rank: usize) -> ResizeAttrs {
    ResizeAttrs {
        mode,
        coord: CoordTransform::Asymmetric,
        nearest: NearestMode::Simple,
        cubic_coeff_a: -0.75,
        exclude_outside: false,
        extrapolation_value: 0.0,
        aspect: AspectPolicy::Stretch,
        antialias: false,
        axes: (0..rank).collect(),
    }
}

/// Whether `v` is known to have no elements.
fn is_empty(im: &Importer, v: ValueId) -> bool {
    im.ty(v).shape.num_elements().is_ok_and(|n| n == 0)
}

/// `Resize`: opset 10 has `X, scales` and the old rules; opset 11 adds `roi` and `sizes`
/// (an empty `scales` standing for "not given") and the coordinate attributes; opset 18
/// adds `axes`, `antialias` and `keep_aspect_ratio_policy`.
pub(super) fn resize(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let x = im.req(cx, 0)?;
    let rank = im.ty(x).rank();
    let a = &cx.attrs;
    let mode = resize_mode(&a.string_or("mode", "nearest")?)?;
    if cx.opset < 11 {
        let scales = im.req(cx, 1)?;
        return im.emit(
            &cx.name,
            Op::Resize(legacy_resize(mode, rank)),
            vec![Some(x), None, Some(scales), None],
        );
    }
    let coord = match a.string_or("coordinate_transformation_mode", "half_pixel")?.as_str() {
        "half_pixel" => CoordTransform::HalfPixel,
        "half_pixel_symmetric" => CoordTransform::HalfPixelSymmetric,
        "pytorch_half_pixel" => CoordTransform::PytorchHalfPixel,
        "align_corners" => CoordTransform::AlignCorners,
        "asymmetric" => CoordTransform::Asymmetric,
        "tf_crop_and_resize" => CoordTransform::TfCropAndResize,
        other => return Err(format!("unknown coordinate_transformation_mode `{other}`")),
    };
    let nearest = match a.string_or("nearest_mode", "round_prefer_floor")?.as_str() {
        "round_prefer_floor" => NearestMode::RoundPreferFloor,
        "round_prefer_ceil" => NearestMode::RoundPreferCeil,
        "floor" => NearestMode::Floor,
        "ceil" => NearestMode::Ceil,
        other => return Err(format!("unknown nearest_mode `{other}`")),
    };
    let aspect = match a.string_or("keep_aspect_ratio_policy", "stretch")?.as_str() {
        "stretch" => AspectPolicy::Stretch,
        "not_larger" => AspectPolicy::NotLarger,
        "not_smaller" => AspectPolicy::NotSmaller,
        other => return Err(format!("unknown keep_aspect_ratio_policy `{other}`")),
    };
    let axes = match a.ints("axes")? {
        Some(v) => normalize_axes(&v, rank).map_err(|e| e.0)?,
        None => (0..rank).collect(),
    };
    let antialias = a.bool_or("antialias", false)?;
    if antialias && mode == ResizeMode::Nearest {
        return Err("antialias is not defined for nearest mode".into());
    }
    let attrs = ResizeAttrs {
        mode,
        coord,
        nearest,
        cubic_coeff_a: a.float_or("cubic_coeff_a", -0.75)?,
        exclude_outside: a.bool_or("exclude_outside", false)?,
        extrapolation_value: a.float_or("extrapolation_value", 0.0)?,
        aspect,
        antialias,
        axes,
    };
    // The roi only matters to tf_crop_and_resize; elsewhere it is often an empty placeholder.
    let roi = match coord {
        CoordTransform::TfCropAndResize => Some(im.input(cx, 1)?.ok_or("tf_crop_and_resize needs a roi operand")?),
        _ => None,
    };
    // Sizes win over scales; an empty sizes next to scales is not given.
    let (scales, sizes) = match (im.input(cx, 2)?, im.input(cx, 3)?) {
        (Some(s), Some(z)) if is_empty(im, z) => (Some(s), None),
        (_, Some(z)) => (None, Some(z)),
        (s, None) => (s, None),
    };
    im.emit(&cx.name, Op::Resize(attrs), vec![Some(x), roi, scales, sizes])
}

/// `Upsample` (deprecated): `Resize` with the rules of opset 10; the scales are an
/// attribute before opset 9 (`height_scale` and `width_scale` in opset 1) and an operand
/// since.
pub(super) fn upsample(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let x = im.req(cx, 0)?;
    let rank = im.ty(x).rank();
    let a = &cx.attrs;
    let mode = resize_mode(&a.string_or("mode", "nearest")?)?;
    let scales = if cx.opset >= 9 {
        im.req(cx, 1)?
    } else {
        let values = match a.floats("scales")? {
            Some(v) => v,
            None if rank == 4 => {
                let h = a.float("height_scale")?.ok_or("attribute `scales` is required")?;
                let w = a.float("width_scale")?.ok_or("attribute `scales` is required")?;
                vec![1.0, 1.0, h, w]
            }
            None => return Err("attribute `scales` is required".into()),
        };
        let t = Tensor::from_vec(vec![values.len()], values).map_err(|e| e.to_string())?;
        im.constant(&format!("{}/scales", cx.name), t)
    };
    im.emit(
        &cx.name,
        Op::Resize(legacy_resize(mode, rank)),
        vec![Some(x), None, Some(scales), None],
    )
}

/// A list attribute of `n` entries (or `2 * n` for pads), or the default when absent.
fn spatial_list(cx: &NodeCx, name: &str, len: usize, default: usize) -> Result<Vec<usize>, String> {
    let v = cx.attrs.usizes(name)?.unwrap_or_else(|| vec![default; len]);
    if v.len() != len {
        return Err(format!("{name} {v:?} must have {len} entries"));
    }
    Ok(v)
}

/// The spatial rank of operand 0, which must have rank 3 or more.
fn spatial_rank(im: &Importer, cx: &NodeCx) -> Result<usize, String> {
    let x = im.req(cx, 0)?;
    let rank = im.ty(x).rank();
    if rank < 3 {
        return Err(format!("needs an input of rank 3 or more, got {}", im.ty(x)));
    }
    Ok(rank - 2)
}

/// `MaxPool`: without the `Indices` output (and with the default `storage_order`) the
/// plain pooling op; otherwise max pooling with indices.
pub(super) fn max_pool(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let a = &cx.attrs;
    let wants_indices = cx.node.output.get(1).is_some_and(|o| !o.is_empty());
    let storage_order = a.int_or("storage_order", 0)?;
    if !wants_indices && storage_order == 0 {
        return super::nn::pool(im, cx);
    }
    if storage_order != 0 && storage_order != 1 {
        return Err(format!("storage_order must be 0 or 1, got {storage_order}"));
    }
    let x = im.req(cx, 0)?;
    let n = spatial_rank(im, cx)?;
    let kernel = a
        .usizes("kernel_shape")?
        .ok_or("attribute `kernel_shape` is required")?;
    if kernel.len() != n {
        return Err(format!("kernel_shape {kernel:?} does not fit a {n}-d input"));
    }
    let padding = match a.string_or("auto_pad", "NOTSET")?.as_str() {
        "NOTSET" => Padding::Explicit(spatial_list(cx, "pads", 2 * n, 0)?),
        "SAME_UPPER" => Padding::SameUpper,
        "SAME_LOWER" => Padding::SameLower,
        "VALID" => Padding::Valid,
        other => return Err(format!("unknown auto_pad `{other}`")),
    };
    let attrs = MaxPoolIndicesAttrs {
        kernel,
        strides: spatial_list(cx, "strides", n, 1)?,
        dilations: spatial_list(cx, "dilations", n, 1)?,
        padding,
        ceil_mode: a.bool_or("ceil_mode", false)?,
        column_major: storage_order == 1,
    };
    im.emit(&cx.name, Op::MaxPoolIndices(attrs), vec![Some(x)])
}

/// `MaxUnpool`.
pub(super) fn max_unpool(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let n = spatial_rank(im, cx)?;
    let kernel = cx
        .attrs
        .usizes("kernel_shape")?
        .ok_or("attribute `kernel_shape` is required")?;
    if kernel.len() != n {
        return Err(format!("kernel_shape {kernel:?} does not fit a {n}-d input"));
    }
    let attrs = MaxUnpoolAttrs {
        kernel,
        strides: spatial_list(cx, "strides", n, 1)?,
        pads: spatial_list(cx, "pads", 2 * n, 0)?,
    };
    let ops = vec![Some(im.req(cx, 0)?), Some(im.req(cx, 1)?), im.input(cx, 2)?];
    im.emit(&cx.name, Op::MaxUnpool(attrs), ops)
}

/// `GridSample`: opset 16 names the modes `bilinear` and `bicubic`, opset 20 `linear`
/// and `cubic`.
pub(super) fn grid_sample(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let a = &cx.attrs;
    let mode = match a
        .string_or("mode", if cx.opset < 20 { "bilinear" } else { "linear" })?
        .as_str()
    {
        "nearest" => GridMode::Nearest,
        "linear" | "bilinear" => GridMode::Linear,
        "cubic" | "bicubic" => GridMode::Cubic,
        other => return Err(format!("unknown mode `{other}`")),
    };
    let padding = match a.string_or("padding_mode", "zeros")?.as_str() {
        "zeros" => GridPadding::Zeros,
        "border" => GridPadding::Border,
        "reflection" => GridPadding::Reflection,
        other => return Err(format!("unknown padding_mode `{other}`")),
    };
    let attrs = GridSampleAttrs {
        mode,
        padding,
        align_corners: a.bool_or("align_corners", false)?,
    };
    let ops = vec![Some(im.req(cx, 0)?), Some(im.req(cx, 1)?)];
    im.emit(&cx.name, Op::GridSample(attrs), ops)
}

/// `AffineGrid`.
pub(super) fn affine_grid(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let attrs = AffineGridAttrs {
        align_corners: cx.attrs.bool_or("align_corners", false)?,
    };
    let ops = vec![Some(im.req(cx, 0)?), Some(im.req(cx, 1)?)];
    im.emit(&cx.name, Op::AffineGrid(attrs), ops)
}

/// `Col2Im`: absent attributes stay empty (their defaults depend on the image rank,
/// which the `image_shape` operand gives).
pub(super) fn col2im(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let a = &cx.attrs;
    let attrs = Col2ImAttrs {
        dilations: a.usizes("dilations")?.unwrap_or_default(),
        pads: a.usizes("pads")?.unwrap_or_default(),
        strides: a.usizes("strides")?.unwrap_or_default(),
    };
    let ops = vec![Some(im.req(cx, 0)?), Some(im.req(cx, 1)?), Some(im.req(cx, 2)?)];
    im.emit(&cx.name, Op::Col2Im(attrs), ops)
}

/// `CenterCropPad`.
pub(super) fn center_crop_pad(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let x = im.req(cx, 0)?;
    let rank = im.ty(x).rank();
    let axes = match cx.attrs.ints("axes")? {
        Some(v) => normalize_axes(&v, rank).map_err(|e| e.0)?,
        None => (0..rank).collect(),
    };
    let shape = im.req(cx, 1)?;
    im.emit(
        &cx.name,
        Op::CenterCropPad(CenterCropPadAttrs { axes }),
        vec![Some(x), Some(shape)],
    )
}

/// `RoiAlign`: opset 16 adds `coordinate_transformation_mode` (default `half_pixel`);
/// before, rois are not shifted (`output_half_pixel`).
pub(super) fn roi_align(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let a = &cx.attrs;
    let default_coord = if cx.opset < 16 {
        "output_half_pixel"
    } else {
        "half_pixel"
    };
    let half_pixel = match a.string_or("coordinate_transformation_mode", default_coord)?.as_str() {
        "half_pixel" => true,
        "output_half_pixel" => false,
        other => return Err(format!("unknown coordinate_transformation_mode `{other}`")),
    };
    let max = match a.string_or("mode", "avg")?.as_str() {
        "avg" => false,
        "max" => true,
        other => return Err(format!("unknown mode `{other}`")),
    };
    let size = |name: &str, default: i64| -> Result<usize, String> {
        let v = a.int_or(name, default)?;
        usize::try_from(v).map_err(|_| format!("{name} {v} is negative"))
    };
    let attrs = RoiAlignAttrs {
        max,
        output_height: size("output_height", 1)?,
        output_width: size("output_width", 1)?,
        sampling_ratio: size("sampling_ratio", 0)?,
        spatial_scale: a.float_or("spatial_scale", 1.0)?,
        half_pixel,
    };
    let ops = vec![Some(im.req(cx, 0)?), Some(im.req(cx, 1)?), Some(im.req(cx, 2)?)];
    im.emit(&cx.name, Op::RoiAlign(attrs), ops)
}

/// `DeformConv`: the kernel shape defaults to the weight's spatial dims.
pub(super) fn deform_conv(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let n = spatial_rank(im, cx)?;
    let w = im.req(cx, 1)?;
    let a = &cx.attrs;
    let kernel = super::nn::kernel_shape(im, w, a)?;
    if kernel.len() != n {
        return Err(format!("kernel_shape {kernel:?} does not fit a {n}-d input"));
    }
    let count = |name: &str| -> Result<usize, String> {
        let v = a.int_or(name, 1)?;
        usize::try_from(v)
            .ok()
            .filter(|&v| v > 0)
            .ok_or_else(|| format!("{name} {v} must be positive"))
    };
    let attrs = DeformConvAttrs {
        kernel,
        strides: spatial_list(cx, "strides", n, 1)?,
        dilations: spatial_list(cx, "dilations", n, 1)?,
        pads: spatial_list(cx, "pads", 2 * n, 0)?,
        group: count("group")?,
        offset_group: count("offset_group")?,
    };
    let ops = vec![
        Some(im.req(cx, 0)?),
        Some(w),
        Some(im.req(cx, 2)?),
        im.input(cx, 3)?,
        im.input(cx, 4)?,
    ];
    im.emit(&cx.name, Op::DeformConv(attrs), ops)
}
