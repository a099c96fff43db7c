//! Printing a graph as canonical text.

use std::collections::HashMap;
use std::fmt::Write;

use half::{bf16, f16};

use super::INLINE_LIMIT;
use crate::graph::{Graph, TensorType, ValueId};
use crate::op::names::{encode, AttrValue};
use crate::op::Op;
use crate::shape::Dim;
use crate::tensor::Tensor;
use crate::DType;

/// Prints `graph` in the canonical text format.
pub fn print_graph(graph: &Graph) -> String {
    let mut numbers: HashMap<ValueId, usize> = HashMap::new();
    let number = |v: ValueId, numbers: &mut HashMap<ValueId, usize>| {
        let n = numbers.len();
        *numbers.entry(v).or_insert(n)
    };
    let mut out = String::new();
    let _ = writeln!(out, "graph {}", quote(&graph.name));
    for port in graph.inputs() {
        let n = number(port.value, &mut numbers);
        let _ = writeln!(
            out,
            "input %{n}: {} {}",
            type_text(graph.ty(port.value)),
            quote(&port.name)
        );
    }
    for node in graph.nodes() {
        let results: Vec<String> = node
            .results
            .iter()
            .map(|&r| format!("%{}", number(r, &mut numbers)))
            .collect();
        let (name, attrs) = encode(&node.op);
        let _ = write!(out, "{} = {name}", results.join(", "));
        if let Op::Constant(t) = &node.op {
            if t.len() <= INLINE_LIMIT {
                let _ = write!(out, " {}", tensor_data(t));
            }
        } else {
            let operands: Vec<String> = node
                .operands
                .iter()
                .map(|o| match o {
                    Some(v) => numbers.get(v).map_or_else(|| format!("%?{}", v.0), |n| format!("%{n}")),
                    None => "_".to_string(),
                })
                .collect();
            let _ = write!(out, "({})", operands.join(", "));
        }
        if !attrs.is_empty() {
            let parts: Vec<String> = attrs.iter().map(|(k, v)| format!("{k} = {}", attr_text(v))).collect();
            let _ = write!(out, " {{{}}}", parts.join(", "));
        }
        let types: Vec<String> = node.results.iter().map(|&r| type_text(graph.ty(r))).collect();
        let _ = writeln!(out, " : {} {}", types.join(", "), quote(&node.name));
    }
    for port in graph.outputs() {
        let v = numbers
            .get(&port.value)
            .map_or_else(|| format!("%?{}", port.value.0), |n| format!("%{n}"));
        let _ = writeln!(out, "output {v} {}", quote(&port.name));
    }
    out
}

/// The constants too large to print inline, by node name, in graph order.
pub fn weights(graph: &Graph) -> Vec<(String, Tensor)> {
    graph
        .nodes()
        .iter()
        .filter_map(|n| match &n.op {
            Op::Constant(t) if t.len() > INLINE_LIMIT => Some((n.name.clone(), t.clone())),
            _ => None,
        })
        .collect()
}

pub(super) fn quote(s: &str) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            '\n' => q.push_str("\\n"),
            c if c.is_control() => {
                let _ = write!(q, "\\u{{{:x}}}", c as u32);
            }
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !matches!(s, "inf" | "nan" | "NaN" | "true" | "false")
}

fn type_text(ty: &TensorType) -> String {
    let dims: Vec<String> = ty
        .shape
        .dims()
        .iter()
        .map(|d| match d {
            Dim::Fixed(n) => n.to_string(),
            Dim::Sym(s) if is_ident(s) => s.clone(),
            Dim::Sym(s) => quote(s),
        })
        .collect();
    format!("{}[{}]", ty.dtype, dims.join(", "))
}

fn attr_text(v: &AttrValue) -> String {
    match v {
        AttrValue::Int(i) => i.to_string(),
        AttrValue::Float(f) => float_text(f64::from(*f), format!("{f:?}")),
        AttrValue::Bool(b) => b.to_string(),
        AttrValue::Ints(v) => {
            let parts: Vec<String> = v.iter().map(|x| x.to_string()).collect();
            format!("[{}]", parts.join(", "))
        }
        AttrValue::Ident(s) => s.clone(),
        AttrValue::Str(s) => quote(s),
        AttrValue::Tensor(t) => format!(
            "{} {}",
            tensor_data(t),
            type_text(&TensorType::fixed(t.dtype(), t.dims()))
        ),
    }
}

fn float_text(v: f64, shortest: String) -> String {
    if v.is_nan() {
        "nan".into()
    } else if v.is_infinite() {
        if v > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        }
    } else {
        shortest
    }
}

/// The elements of `t` as a bracketed list.
fn tensor_data(t: &Tensor) -> String {
    let b = t.bytes();
    let items: Vec<String> = match t.dtype() {
        DType::F32 => bytemuck::pod_collect_to_vec::<u8, f32>(b)
            .into_iter()
            .map(|x| float_text(f64::from(x), format!("{x:?}")))
            .collect(),
        DType::F64 => bytemuck::pod_collect_to_vec::<u8, f64>(b)
            .into_iter()
            .map(|x| float_text(x, format!("{x:?}")))
            .collect(),
        DType::F16 => bytemuck::pod_collect_to_vec::<u8, f16>(b)
            .into_iter()
            .map(|x| float_text(f64::from(x), format!("{:?}", f32::from(x))))
            .collect(),
        DType::BF16 => bytemuck::pod_collect_to_vec::<u8, bf16>(b)
            .into_iter()
            .map(|x| float_text(f64::from(x), format!("{:?}", f32::from(x))))
            .collect(),
        DType::Bool => b.iter().map(|&x| (x != 0).to_string()).collect(),
        d if d.is_narrow_float() => t
            .to_f64_vec()
            .into_iter()
            .map(|x| float_text(x, format!("{:?}", x as f32)))
            .collect(),
        DType::U64 => bytemuck::pod_collect_to_vec::<u8, u64>(b)
            .into_iter()
            .map(|x| x.to_string())
            .collect(),
        _ => t
            .to_i64_vec()
            .unwrap_or_default()
            .into_iter()
            .map(|x| x.to_string())
            .collect(),
    };
    format!("[{}]", items.join(", "))
}
