//! Text-format names and attributes of the vision ops (transposed and deformable
//! convolution, LRN, resampling, grids, pooling with indices, unpooling, col2im, centre
//! crop-or-pad, RoI align; see `crate::op::vision`).

use super::{int, ints, padding, AttrList, AttrValue, Attrs};
use crate::op::*;

/// Names of [`ResizeMode`].
const RESIZE_MODES: &[(&str, ResizeMode)] = &[
    ("nearest", ResizeMode::Nearest),
    ("linear", ResizeMode::Linear),
    ("cubic", ResizeMode::Cubic),
];

/// Names of [`CoordTransform`].
const COORDS: &[(&str, CoordTransform)] = &[
    ("half_pixel", CoordTransform::HalfPixel),
    ("half_pixel_symmetric", CoordTransform::HalfPixelSymmetric),
    ("pytorch_half_pixel", CoordTransform::PytorchHalfPixel),
    ("align_corners", CoordTransform::AlignCorners),
    ("asymmetric", CoordTransform::Asymmetric),
    ("tf_crop_and_resize", CoordTransform::TfCropAndResize),
];

/// Names of [`NearestMode`].
const NEAREST: &[(&str, NearestMode)] = &[
    ("round_prefer_floor", NearestMode::RoundPreferFloor),
    ("round_prefer_ceil", NearestMode::RoundPreferCeil),
    ("floor", NearestMode::Floor),
    ("ceil", NearestMode::Ceil),
    ("simple", NearestMode::Simple),
];

/// Names of [`AspectPolicy`].
const ASPECT: &[(&str, AspectPolicy)] = &[
    ("stretch", AspectPolicy::Stretch),
    ("not_larger", AspectPolicy::NotLarger),
    ("not_smaller", AspectPolicy::NotSmaller),
];

/// Names of [`GridMode`].
const GRID_MODES: &[(&str, GridMode)] = &[
    ("nearest", GridMode::Nearest),
    ("linear", GridMode::Linear),
    ("cubic", GridMode::Cubic),
];

/// Names of [`GridPadding`].
const GRID_PADDING: &[(&str, GridPadding)] = &[
    ("zeros", GridPadding::Zeros),
    ("border", GridPadding::Border),
    ("reflection", GridPadding::Reflection),
];

/// A keyword attribute from a name table.
fn ident<T: PartialEq + Copy>(table: &[(&'static str, T)], v: T) -> AttrValue {
    AttrValue::Ident(super::name_of(table, v).unwrap_or("unknown").into())
}

/// Reads a keyword attribute through a name table.
fn keyword<T: Copy>(a: &mut Attrs, key: &str, table: &[(&'static str, T)]) -> Result<T, String> {
    let name = a.ident(key)?;
    super::value_of(table, &name).ok_or_else(|| format!("unknown {key} `{name}`"))
}

/// The text name and attributes of a vision op; `None` for other ops.
pub(super) fn encode(op: &Op) -> Option<(&'static str, AttrList)> {
    use AttrValue::{Bool, Float};
    Some(match op {
        Op::ConvTranspose(c) => {
            let mut attrs = vec![
                ("kernel", ints(&c.kernel)),
                ("strides", ints(&c.strides)),
                ("dilations", ints(&c.dilations)),
                ("padding", padding(&c.padding)),
                ("output_padding", ints(&c.output_padding)),
            ];
            if let Some(s) = &c.output_shape {
                attrs.push(("output_shape", ints(s)));
            }
            attrs.push(("group", int(c.group)));
            ("conv_transpose", attrs)
        }
        Op::Lrn(l) => (
            "lrn",
            vec![
                ("size", int(l.size)),
                ("alpha", Float(l.alpha)),
                ("beta", Float(l.beta)),
                ("bias", Float(l.bias)),
            ],
        ),
        Op::Resize(r) => (
            "resize",
            vec![
                ("mode", ident(RESIZE_MODES, r.mode)),
                ("coord", ident(COORDS, r.coord)),
                ("nearest", ident(NEAREST, r.nearest)),
                ("cubic_coeff_a", Float(r.cubic_coeff_a)),
                ("exclude_outside", Bool(r.exclude_outside)),
                ("extrapolation_value", Float(r.extrapolation_value)),
                ("aspect", ident(ASPECT, r.aspect)),
                ("antialias", Bool(r.antialias)),
                ("axes", ints(&r.axes)),
            ],
        ),
        Op::MaxPoolIndices(p) => (
            "max_pool_indices",
            vec![
                ("kernel", ints(&p.kernel)),
                ("strides", ints(&p.strides)),
                ("dilations", ints(&p.dilations)),
                ("padding", padding(&p.padding)),
                ("ceil_mode", Bool(p.ceil_mode)),
                ("column_major", Bool(p.column_major)),
            ],
        ),
        Op::MaxUnpool(u) => (
            "max_unpool",
            vec![
                ("kernel", ints(&u.kernel)),
                ("strides", ints(&u.strides)),
                ("pads", ints(&u.pads)),
            ],
        ),
        Op::GridSample(g) => (
            "grid_sample",
            vec![
                ("mode", ident(GRID_MODES, g.mode)),
                ("padding", ident(GRID_PADDING, g.padding)),
                ("align_corners", Bool(g.align_corners)),
            ],
        ),
        Op::AffineGrid(g) => ("affine_grid", vec![("align_corners", Bool(g.align_corners))]),
        Op::Col2Im(c) => (
            "col2im",
            vec![
                ("dilations", ints(&c.dilations)),
                ("pads", ints(&c.pads)),
                ("strides", ints(&c.strides)),
            ],
        ),
        Op::CenterCropPad(c) => ("center_crop_pad", vec![("axes", ints(&c.axes))]),
        Op::RoiAlign(r) => (
            "roi_align",
            vec![
                ("max", Bool(r.max)),
                ("output_height", int(r.output_height)),
                ("output_width", int(r.output_width)),
                ("sampling_ratio", int(r.sampling_ratio)),
                ("spatial_scale", Float(r.spatial_scale)),
                ("half_pixel", Bool(r.half_pixel)),
            ],
        ),
        Op::DeformConv(d) => (
            "deform_conv",
            vec![
                ("kernel", ints(&d.kernel)),
                ("strides", ints(&d.strides)),
                ("dilations", ints(&d.dilations)),
                ("pads", ints(&d.pads)),
                ("group", int(d.group)),
                ("offset_group", int(d.offset_group)),
            ],
        ),
        _ => return None,
    })
}

/// The vision op named `name`, reading its attributes from `a`; `None` for other names.
pub(super) fn decode(name: &str, a: &mut Attrs) -> Result<Option<Op>, String> {
    Ok(Some(match name {
        "conv_transpose" => Op::ConvTranspose(ConvTransposeAttrs {
            kernel: a.usizes("kernel")?,
            strides: a.usizes("strides")?,
            dilations: a.usizes("dilations")?,
            padding: a.padding()?,
            output_padding: a.usizes("output_padding")?,
            output_shape: if a.items.iter().any(|(k, _)| k == "output_shape") {
                Some(a.usizes("output_shape")?)
            } else {
                None
            },
            group: a.usize("group")?,
        }),
        "lrn" => Op::Lrn(LrnAttrs {
            size: a.usize("size")?,
            alpha: a.float("alpha")?,
            beta: a.float("beta")?,
            bias: a.float("bias")?,
        }),
        "resize" => Op::Resize(ResizeAttrs {
            mode: keyword(a, "mode", RESIZE_MODES)?,
            coord: keyword(a, "coord", COORDS)?,
            nearest: keyword(a, "nearest", NEAREST)?,
            cubic_coeff_a: a.float("cubic_coeff_a")?,
            exclude_outside: a.bool("exclude_outside")?,
            extrapolation_value: a.float("extrapolation_value")?,
            aspect: keyword(a, "aspect", ASPECT)?,
            antialias: a.bool("antialias")?,
            axes: a.usizes("axes")?,
        }),
        "max_pool_indices" => Op::MaxPoolIndices(MaxPoolIndicesAttrs {
            kernel: a.usizes("kernel")?,
            strides: a.usizes("strides")?,
            dilations: a.usizes("dilations")?,
            padding: a.padding()?,
            ceil_mode: a.bool("ceil_mode")?,
            column_major: a.bool("column_major")?,
        }),
        "max_unpool" => Op::MaxUnpool(MaxUnpoolAttrs {
            kernel: a.usizes("kernel")?,
            strides: a.usizes("strides")?,
            pads: a.usizes("pads")?,
        }),
        "grid_sample" => Op::GridSample(GridSampleAttrs {
            mode: keyword(a, "mode", GRID_MODES)?,
            padding: keyword(a, "padding", GRID_PADDING)?,
            align_corners: a.bool("align_corners")?,
        }),
        "affine_grid" => Op::AffineGrid(AffineGridAttrs {
            align_corners: a.bool("align_corners")?,
        }),
        "col2im" => Op::Col2Im(Col2ImAttrs {
            dilations: a.usizes("dilations")?,
            pads: a.usizes("pads")?,
            strides: a.usizes("strides")?,
        }),
        "center_crop_pad" => Op::CenterCropPad(CenterCropPadAttrs {
            axes: a.usizes("axes")?,
        }),
        "roi_align" => Op::RoiAlign(RoiAlignAttrs {
            max: a.bool("max")?,
            output_height: a.usize("output_height")?,
            output_width: a.usize("output_width")?,
            sampling_ratio: a.usize("sampling_ratio")?,
            spatial_scale: a.float("spatial_scale")?,
            half_pixel: a.bool("half_pixel")?,
        }),
        "deform_conv" => Op::DeformConv(DeformConvAttrs {
            kernel: a.usizes("kernel")?,
            strides: a.usizes("strides")?,
            dilations: a.usizes("dilations")?,
            pads: a.usizes("pads")?,
            group: a.usize("group")?,
            offset_group: a.usize("offset_group")?,
        }),
        _ => return Ok(None),
    }))
}

#[cfg(test)]
mod tests {
    use crate::graph::{Graph, TensorType};
    use crate::infer::{infer, Operand, SymbolNamer};
    use crate::op::*;
    use crate::text::{parse_graph, print_graph};
    use crate::DType;

    /// Appends a node of `op`, typed by inference, and returns its first result.
    fn add(g: &mut Graph, name: &str, op: Op, operands: Vec<Option<crate::ValueId>>) -> crate::ValueId {
        let types = {
            let ops: Vec<Option<Operand>> = operands
                .iter()
                .map(|o| {
                    o.map(|v| Operand {
                        ty: g.ty(v),
                        value: g.constant_value(v),
                    })
                })
                .collect();
            infer(&op, &ops, &mut SymbolNamer::new(name)).unwrap()
        };
        let node = g.add_node(name, op, operands, types);
        g.node(node).results[0]
    }

    #[test]
    fn vision_ops_round_trip_through_text() {
        let mut g = Graph::new("vision");
        let x = g.add_input("x", TensorType::fixed(DType::F32, &[1, 2, 3, 3]));
        let w = g.add_input("w", TensorType::fixed(DType::F32, &[2, 1, 3, 3]));
        let s = g.add_input("s", TensorType::fixed(DType::F32, &[2]));
        let ct = add(
            &mut g,
            "ct",
            Op::ConvTranspose(ConvTransposeAttrs {
                kernel: vec![3, 3],
                strides: vec![3, 2],
                dilations: vec![1, 1],
                padding: Padding::SameLower,
                output_padding: vec![1, 1],
                output_shape: Some(vec![10, 8]),
                group: 2,
            }),
            vec![Some(x), Some(w), None],
        );
        let l = add(
            &mut g,
            "lrn",
            Op::Lrn(LrnAttrs {
                size: 3,
                alpha: 1e-4,
                beta: 0.75,
                bias: 2.0,
            }),
            vec![Some(ct)],
        );
        let r = add(
            &mut g,
            "resize",
            Op::Resize(ResizeAttrs {
                mode: ResizeMode::Cubic,
                coord: CoordTransform::HalfPixelSymmetric,
                nearest: NearestMode::RoundPreferCeil,
                cubic_coeff_a: -0.5,
                exclude_outside: true,
                extrapolation_value: -1.25,
                aspect: AspectPolicy::NotSmaller,
                antialias: true,
                axes: vec![3, 2],
            }),
            vec![Some(l), None, Some(s), None],
        );
        g.add_output("y", r);
        // The other vision ops, each on fresh inputs.
        let x4 = g.add_input("x4", TensorType::fixed(DType::F32, &[1, 2, 4, 4]));
        let i64s = |g: &mut Graph, name: &str, dims: &[usize]| g.add_input(name, TensorType::fixed(DType::I64, dims));
        let mp = add(
            &mut g,
            "mp",
            Op::MaxPoolIndices(MaxPoolIndicesAttrs {
                kernel: vec![2, 2],
                strides: vec![2, 2],
                dilations: vec![1, 1],
                padding: Padding::Explicit(vec![0, 0, 1, 1]),
                ceil_mode: true,
                column_major: true,
            }),
            vec![Some(x4)],
        );
        g.add_output("mp", mp);
        let mi = g.nodes()[3].results[1];
        let up = add(
            &mut g,
            "unpool",
            Op::MaxUnpool(MaxUnpoolAttrs {
                kernel: vec![2, 2],
                strides: vec![2, 2],
                pads: vec![0, 0, 1, 1],
            }),
            vec![Some(mp), Some(mi), None],
        );
        g.add_output("up", up);
        let grid = g.add_input("grid", TensorType::fixed(DType::F32, &[1, 3, 5, 2]));
        let gs = add(
            &mut g,
            "gs",
            Op::GridSample(GridSampleAttrs {
                mode: GridMode::Cubic,
                padding: GridPadding::Reflection,
                align_corners: true,
            }),
            vec![Some(x4), Some(grid)],
        );
        g.add_output("gs", gs);
        let theta = g.add_input("theta", TensorType::fixed(DType::F32, &[1, 2, 3]));
        let size = i64s(&mut g, "size", &[4]);
        let ag = add(
            &mut g,
            "ag",
            Op::AffineGrid(AffineGridAttrs { align_corners: false }),
            vec![Some(theta), Some(size)],
        );
        g.add_output("ag", ag);
        let cols = g.add_input("cols", TensorType::fixed(DType::F32, &[1, 4, 9]));
        let (image, block) = (i64s(&mut g, "image", &[2]), i64s(&mut g, "block", &[2]));
        let ci = add(
            &mut g,
            "col2im",
            Op::Col2Im(Col2ImAttrs {
                dilations: vec![1, 1],
                pads: vec![],
                strides: vec![1, 2],
            }),
            vec![Some(cols), Some(image), Some(block)],
        );
        g.add_output("ci", ci);
        let shape = i64s(&mut g, "shape", &[2]);
        let cc = add(
            &mut g,
            "ccp",
            Op::CenterCropPad(CenterCropPadAttrs { axes: vec![3, 1] }),
            vec![Some(x4), Some(shape)],
        );
        g.add_output("cc", cc);
        let rois = g.add_input("rois", TensorType::fixed(DType::F32, &[3, 4]));
        let bi = i64s(&mut g, "bi", &[3]);
        let ra = add(
            &mut g,
            "roi",
            Op::RoiAlign(RoiAlignAttrs {
                max: true,
                output_height: 2,
                output_width: 3,
                sampling_ratio: 0,
                spatial_scale: 0.0625,
                half_pixel: false,
            }),
            vec![Some(x4), Some(rois), Some(bi)],
        );
        g.add_output("ra", ra);
        let off = g.add_input("off", TensorType::fixed(DType::F32, &[1, 16, 3, 3]));
        let wd = g.add_input("wd", TensorType::fixed(DType::F32, &[4, 1, 2, 2]));
        let dc = add(
            &mut g,
            "deform",
            Op::DeformConv(DeformConvAttrs {
                kernel: vec![2, 2],
                strides: vec![1, 1],
                dilations: vec![1, 1],
                pads: vec![0; 4],
                group: 2,
                offset_group: 2,
            }),
            vec![Some(x4), Some(wd), Some(off), None, None],
        );
        g.add_output("dc", dc);
        crate::verify(&g).unwrap();
        let text = print_graph(&g);
        assert!(
            text.contains("conv_transpose") && text.contains("half_pixel_symmetric"),
            "{text}"
        );
        let back = parse_graph(&text, &|_| None).unwrap();
        assert_eq!(print_graph(&back), text);
        for (a, b) in back.nodes().iter().zip(g.nodes()) {
            assert_eq!(a.op, b.op);
        }
    }
}
