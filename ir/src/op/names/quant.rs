//! Text-format names and attributes of the quantization ops and `BitCast` (see
//! [`crate::op::QuantizeAttrs`], [`crate::op::DequantizeAttrs`], [`crate::op::BitCastAttrs`]).

use super::{int, ints, padding, AttrList, AttrValue, Attrs};
use crate::op::*;

/// The attributes of a convolution, in the order `conv` prints them.
fn conv_attrs(c: &ConvAttrs) -> AttrList {
    vec![
        ("kernel", ints(&c.kernel)),
        ("strides", ints(&c.strides)),
        ("dilations", ints(&c.dilations)),
        ("padding", padding(&c.padding)),
        ("group", int(c.group)),
    ]
}

/// Reads the attributes [`conv_attrs`] writes.
fn read_conv(a: &mut Attrs) -> Result<ConvAttrs, String> {
    Ok(ConvAttrs {
        kernel: a.usizes("kernel")?,
        strides: a.usizes("strides")?,
        dilations: a.usizes("dilations")?,
        padding: a.padding()?,
        group: a.usize("group")?,
    })
}

/// The text name and attributes of a quantization op or `BitCast`; `None` for other ops.
pub(super) fn encode(op: &Op) -> Option<(&'static str, AttrList)> {
    use AttrValue::{Bool, Ident};
    Some(match op {
        Op::QuantizeLinear(q) => {
            let mut attrs = vec![
                ("axis", int(q.axis)),
                ("block_size", int(q.block_size)),
                ("to", Ident(q.to.name().into())),
                ("saturate", Bool(q.saturate)),
            ];
            if let Some(p) = q.precision {
                attrs.push(("precision", Ident(p.name().into())));
            }
            ("quantize_linear", attrs)
        }
        Op::DequantizeLinear(d) => (
            "dequantize_linear",
            vec![
                ("axis", int(d.axis)),
                ("block_size", int(d.block_size)),
                ("to", Ident(d.to.name().into())),
            ],
        ),
        Op::DynamicQuantizeLinear => ("dynamic_quantize_linear", vec![]),
        Op::MatMulInteger => ("matmul_integer", vec![]),
        Op::ConvInteger(c) => ("conv_integer", conv_attrs(c)),
        Op::QLinearMatMul => ("qlinear_matmul", vec![]),
        Op::QLinearConv(c) => ("qlinear_conv", conv_attrs(c)),
        Op::BitCast(b) => ("bit_cast", vec![("to", Ident(b.to.name().into()))]),
        _ => return None,
    })
}

/// The quantization op or `BitCast` named `name`; `None` for other names.
pub(super) fn decode(name: &str, a: &mut Attrs) -> Result<Option<Op>, String> {
    Ok(Some(match name {
        "quantize_linear" => Op::QuantizeLinear(QuantizeAttrs {
            axis: a.usize("axis")?,
            block_size: a.usize("block_size")?,
            to: a.dtype("to")?,
            saturate: a.bool("saturate")?,
            precision: match a.take_opt("precision") {
                None => None,
                Some(AttrValue::Ident(p)) => Some(p.parse().map_err(|e: crate::dtype::UnknownDType| e.to_string())?),
                Some(other) => return Err(format!("attribute `precision` must be a dtype, got {other:?}")),
            },
        }),
        "dequantize_linear" => Op::DequantizeLinear(DequantizeAttrs {
            axis: a.usize("axis")?,
            block_size: a.usize("block_size")?,
            to: a.dtype("to")?,
        }),
        "dynamic_quantize_linear" => Op::DynamicQuantizeLinear,
        "matmul_integer" => Op::MatMulInteger,
        "conv_integer" => Op::ConvInteger(read_conv(a)?),
        "qlinear_matmul" => Op::QLinearMatMul,
        "qlinear_conv" => Op::QLinearConv(read_conv(a)?),
        "bit_cast" => Op::BitCast(BitCastAttrs { to: a.dtype("to")? }),
        _ => return Ok(None),
    }))
}

#[cfg(test)]
mod tests {
    use crate::dtype::minifloat::RoundMode;
    use crate::dtype::DType;
    use crate::graph::{Graph, TensorType, ValueId};
    use crate::infer::{infer, Operand, SymbolNamer};
    use crate::op::*;
    use crate::tensor::Tensor;
    use crate::text::{parse_graph, print_graph};

    /// Appends a node with inferred result types; returns its first result.
    fn add(g: &mut Graph, name: &str, op: Op, operands: Vec<Option<ValueId>>) -> ValueId {
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

    /// A constant node of `dtype` with the given bytes.
    fn constant(g: &mut Graph, name: &str, dtype: DType, dims: &[usize], bytes: &[u8]) -> ValueId {
        let t = Tensor::from_bytes(dtype, dims.to_vec(), bytes).unwrap();
        add(g, name, Op::Constant(t), vec![])
    }

    #[test]
    fn quant_ops_and_narrow_constants_round_trip_through_text() {
        let mut g = Graph::new("quant");
        let x = g.add_input("x", TensorType::fixed(DType::F32, &[2, 4]));
        let s = g.add_input("s", TensorType::fixed(DType::F32, &[2, 2]));
        // Constants of every narrow dtype, with NaN, infinities, -0 and extremes.
        let zp = constant(&mut g, "zp", DType::I4, &[2, 2], &[0xF8, 7, 0, 0xFF]);
        let q = QuantizeAttrs {
            axis: 1,
            block_size: 2,
            to: DType::I4,
            saturate: false,
            precision: Some(DType::F16),
        };
        let y = add(&mut g, "q", Op::QuantizeLinear(q), vec![Some(x), Some(s), Some(zp)]);
        let d = DequantizeAttrs {
            axis: 1,
            block_size: 2,
            to: DType::BF16,
        };
        let dq = add(&mut g, "dq", Op::DequantizeLinear(d), vec![Some(y), Some(s), Some(zp)]);
        g.add_output("dq", dq);
        for (name, dtype, bytes) in [
            ("e4m3fn", DType::F8E4M3FN, vec![0x7F, 0xFE, 0x80, 0x01]),
            ("e4m3fnuz", DType::F8E4M3FNUZ, vec![0x80, 0xFF, 0x00, 0x01]),
            ("e5m2", DType::F8E5M2, vec![0x7C, 0xFC, 0x7E, 0x80]),
            ("e5m2fnuz", DType::F8E5M2FNUZ, vec![0x80, 0x7F, 0x00, 0x81]),
            ("e8m0", DType::F8E8M0, vec![0, 127, 254, 255]),
            ("f4", DType::F4E2M1, vec![0, 8, 7, 15]),
            ("u4", DType::U4, vec![0, 15, 7, 8]),
            ("u2", DType::U2, vec![0, 1, 2, 3]),
            ("i2", DType::I2, vec![0xFE, 0xFF, 0, 1]),
        ] {
            let c = constant(&mut g, name, dtype, &[4], &bytes);
            let b = add(
                &mut g,
                &format!("{name}.cast"),
                Op::Cast(CastAttrs {
                    saturate: false,
                    round_mode: RoundMode::Nearest,
                    ..CastAttrs::to(DType::F32)
                }),
                vec![Some(c)],
            );
            g.add_output(name, b);
        }
        let a = g.add_input("a", TensorType::fixed(DType::U8, &[1, 1, 3, 3]));
        let w = g.add_input("w", TensorType::fixed(DType::I8, &[2, 1, 2, 2]));
        let conv = ConvAttrs {
            kernel: vec![2, 2],
            strides: vec![1, 1],
            dilations: vec![1, 1],
            padding: Padding::SameUpper,
            group: 1,
        };
        let ci = add(
            &mut g,
            "ci",
            Op::ConvInteger(conv.clone()),
            vec![Some(a), Some(w), None, None],
        );
        g.add_output("ci", ci);
        let one = add(&mut g, "one", Op::Constant(Tensor::scalar(0.5f32)), vec![]);
        let qc = add(
            &mut g,
            "qc",
            Op::QLinearConv(conv),
            vec![
                Some(a),
                Some(one),
                None,
                Some(w),
                Some(one),
                None,
                Some(one),
                None,
                None,
            ],
        );
        g.add_output("qc", qc);
        let m = g.add_input("m", TensorType::fixed(DType::U8, &[3, 4]));
        let n = g.add_input("n", TensorType::fixed(DType::U8, &[4, 2]));
        let mi = add(&mut g, "mi", Op::MatMulInteger, vec![Some(m), Some(n), None, None]);
        g.add_output("mi", mi);
        let qm = add(
            &mut g,
            "qm",
            Op::QLinearMatMul,
            vec![Some(m), Some(one), None, Some(n), Some(one), None, Some(one), None],
        );
        g.add_output("qm", qm);
        let dy = add(&mut g, "dyn", Op::DynamicQuantizeLinear, vec![Some(x)]);
        g.add_output("dyn", dy);
        let bc = add(
            &mut g,
            "bc",
            Op::BitCast(BitCastAttrs { to: DType::I32 }),
            vec![Some(x)],
        );
        g.add_output("bc", bc);
        crate::verify(&g).unwrap();
        let text = print_graph(&g);
        assert!(
            text.contains("[nan, -448.0, -0.0, 0.001953125] : f8e4m3fn[4]"),
            "{text}"
        );
        assert!(text.contains("[inf, -inf, nan, -0.0] : f8e5m2[4]"), "{text}");
        assert!(text.contains("saturate = false, round_mode = nearest"), "{text}");
        let back = parse_graph(&text, &|_| None).unwrap();
        assert_eq!(print_graph(&back), text);
        for (a, b) in back.nodes().iter().zip(g.nodes()) {
            assert_eq!(a.op, b.op, "{}", a.name);
        }
    }

    #[test]
    fn inexact_narrow_constants_are_refused() {
        let text = "graph \"g\"\n%0 = constant [1000.0] : f8e4m3fn[1] \"c\"\noutput %0 \"y\"\n";
        assert!(parse_graph(text, &|_| None).is_err());
        let text = "graph \"g\"\n%0 = constant [8] : i4[1] \"c\"\noutput %0 \"y\"\n";
        assert!(parse_graph(text, &|_| None).is_err());
        let text = "graph \"g\"\n%0 = constant [-8] : i4[1] \"c\"\noutput %0 \"y\"\n";
        assert!(parse_graph(text, &|_| None).is_ok());
    }
}
