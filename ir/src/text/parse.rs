//! Parsing the text format back into a graph.

use std::collections::HashMap;

use half::{bf16, f16};

use super::lex::{lex, Tok, Token};
use crate::graph::{Graph, TensorType, ValueId};
use crate::op::names::{decode, AttrValue};
use crate::op::Op;
use crate::shape::{Dim, Shape};
use crate::tensor::Tensor;
use crate::DType;

/// A syntax or reference error in graph text, with its position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {col}: {message}")]
pub struct ParseError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub col: usize,
    /// What is wrong.
    pub message: String,
}

/// Parses graph text. `weight` supplies the data of constants that are not inline, by
/// node name. The result is not verified; run the verifier on it.
pub fn parse_graph(text: &str, weight: &dyn Fn(&str) -> Option<Tensor>) -> Result<Graph, ParseError> {
    let tokens = lex(text).map_err(|(line, col, message)| ParseError { line, col, message })?;
    let mut p = Parser {
        tokens,
        pos: 0,
        values: HashMap::new(),
    };
    p.graph(weight)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    values: HashMap<u32, ValueId>,
}

type PResult<T> = Result<T, ParseError>;

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.pos).map(|t| &t.kind)
    }

    fn error<T>(&self, message: impl Into<String>) -> PResult<T> {
        let (line, col) = self
            .tokens
            .get(self.pos)
            .or(self.tokens.last())
            .map_or((1, 1), |t| (t.line, t.col));
        Err(ParseError {
            line,
            col,
            message: message.into(),
        })
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.tokens.get(self.pos).map(|t| t.kind.clone());
        self.pos += 1;
        t
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(&Tok::Punct(c)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: char) -> PResult<()> {
        if self.eat(c) {
            Ok(())
        } else {
            self.error(format!("expected `{c}`"))
        }
    }

    fn skip_newlines(&mut self) {
        while self.peek() == Some(&Tok::Newline) {
            self.pos += 1;
        }
    }

    fn end_line(&mut self) -> PResult<()> {
        match self.peek() {
            Some(Tok::Newline) | None => {
                self.skip_newlines();
                Ok(())
            }
            _ => self.error("expected the end of the line"),
        }
    }

    fn string(&mut self) -> PResult<String> {
        match self.peek().cloned() {
            Some(Tok::Str(s)) => {
                self.pos += 1;
                Ok(s)
            }
            _ => self.error("expected a quoted name"),
        }
    }

    fn keyword(&mut self, word: &str) -> PResult<()> {
        match self.peek() {
            Some(Tok::Ident(w)) if w == word => {
                self.pos += 1;
                Ok(())
            }
            _ => self.error(format!("expected `{word}`")),
        }
    }

    fn value_number(&mut self) -> PResult<u32> {
        match self.peek() {
            Some(Tok::Value(n)) => {
                let n = *n;
                self.pos += 1;
                Ok(n)
            }
            _ => self.error("expected a value like `%3`"),
        }
    }

    fn use_value(&mut self) -> PResult<ValueId> {
        let n = self.value_number()?;
        match self.values.get(&n) {
            Some(&v) => Ok(v),
            None => {
                self.pos -= 1;
                self.error(format!("value %{n} is used before it is defined"))
            }
        }
    }

    fn define(&mut self, n: u32, v: ValueId) -> PResult<()> {
        if self.values.insert(n, v).is_some() {
            return self.error(format!("value %{n} is defined twice"));
        }
        Ok(())
    }

    fn ty(&mut self) -> PResult<TensorType> {
        let dtype = match self.next() {
            Some(Tok::Ident(d)) => match d.parse::<DType>() {
                Ok(d) => d,
                Err(e) => {
                    self.pos -= 1;
                    return self.error(e.to_string());
                }
            },
            _ => {
                self.pos -= 1;
                return self.error("expected a dtype");
            }
        };
        self.expect('[')?;
        let mut dims = Vec::new();
        while !self.eat(']') {
            if !dims.is_empty() {
                self.expect(',')?;
            }
            dims.push(match self.next() {
                Some(Tok::Number(n)) => match n.parse::<usize>() {
                    Ok(n) => Dim::Fixed(n),
                    Err(_) => {
                        self.pos -= 1;
                        return self.error(format!("bad dimension `{n}`"));
                    }
                },
                Some(Tok::Ident(s)) | Some(Tok::Str(s)) => Dim::Sym(s),
                _ => {
                    self.pos -= 1;
                    return self.error("expected a dimension");
                }
            });
        }
        Ok(TensorType::new(dtype, Shape(dims)))
    }

    /// A bracketed list of numbers or booleans, as written.
    fn literal_list(&mut self) -> PResult<Vec<String>> {
        self.expect('[')?;
        let mut items = Vec::new();
        while !self.eat(']') {
            if !items.is_empty() {
                self.expect(',')?;
            }
            match self.next() {
                Some(Tok::Number(n)) => items.push(n),
                Some(Tok::Ident(b)) if b == "true" || b == "false" => items.push(b),
                _ => {
                    self.pos -= 1;
                    return self.error("expected a number");
                }
            }
        }
        Ok(items)
    }

    fn tensor(&mut self, items: &[String], ty: &TensorType) -> PResult<Tensor> {
        let Some(dims) = ty.shape.as_fixed() else {
            return self.error("a constant needs fixed dimensions");
        };
        let bad = |s: &str| format!("`{s}` is not a valid {}", ty.dtype);
        let floats = || -> Result<Vec<f64>, String> {
            items
                .iter()
                .map(|s| match s.as_str() {
                    "nan" | "NaN" => Ok(f64::NAN),
                    "inf" => Ok(f64::INFINITY),
                    "-inf" => Ok(f64::NEG_INFINITY),
                    _ => s.parse::<f64>().map_err(|_| bad(s)),
                })
                .collect()
        };
        let f32s = || -> Result<Vec<f32>, String> {
            items
                .iter()
                .map(|s| match s.as_str() {
                    "nan" | "NaN" => Ok(f32::NAN),
                    "inf" => Ok(f32::INFINITY),
                    "-inf" => Ok(f32::NEG_INFINITY),
                    _ => s.parse::<f32>().map_err(|_| bad(s)),
                })
                .collect()
        };
        macro_rules! ints {
            ($t:ty) => {
                items
                    .iter()
                    .map(|s| s.parse::<$t>().map_err(|_| bad(s)))
                    .collect::<Result<Vec<$t>, String>>()
                    .and_then(|v| Tensor::from_vec(dims.clone(), v).map_err(|e| e.to_string()))
            };
        }
        let result = match ty.dtype {
            DType::F32 => f32s().and_then(|v| Tensor::from_vec(dims.clone(), v).map_err(|e| e.to_string())),
            DType::F64 => floats().and_then(|v| Tensor::from_vec(dims.clone(), v).map_err(|e| e.to_string())),
            DType::F16 => f32s().and_then(|v| {
                Tensor::from_vec(dims.clone(), v.into_iter().map(f16::from_f32).collect()).map_err(|e| e.to_string())
            }),
            DType::BF16 => f32s().and_then(|v| {
                Tensor::from_vec(dims.clone(), v.into_iter().map(bf16::from_f32).collect()).map_err(|e| e.to_string())
            }),
            DType::Bool => items
                .iter()
                .map(|s| match s.as_str() {
                    "true" => Ok(true),
                    "false" => Ok(false),
                    _ => Err(bad(s)),
                })
                .collect::<Result<Vec<bool>, String>>()
                .and_then(|v| Tensor::from_bools(dims.clone(), &v).map_err(|e| e.to_string())),
            DType::I8 => ints!(i8),
            DType::I16 => ints!(i16),
            DType::I32 => ints!(i32),
            DType::I64 => ints!(i64),
            DType::U8 => ints!(u8),
            DType::U16 => ints!(u16),
            DType::U32 => ints!(u32),
            DType::U64 => ints!(u64),
            DType::U4 | DType::I4 | DType::U2 | DType::I2 => items
                .iter()
                .map(|s| match s.parse::<i8>() {
                    Ok(v) if ty.dtype.valid_byte(v as u8) => Ok(v as u8),
                    _ => Err(bad(s)),
                })
                .collect::<Result<Vec<u8>, String>>()
                .and_then(|v| Tensor::from_bytes(ty.dtype, dims.clone(), &v).map_err(|e| e.to_string())),
            DType::F8E4M3FN | DType::F8E4M3FNUZ | DType::F8E5M2 | DType::F8E5M2FNUZ | DType::F8E8M0 | DType::F4E2M1 => {
                f32s().and_then(|v| {
                    // Printed as the shortest f32 text, which reads back exactly as an f32.
                    let codes = items
                        .iter()
                        .zip(v)
                        .map(|(s, x)| narrow_float_code(ty.dtype, f64::from(x)).ok_or_else(|| bad(s)))
                        .collect::<Result<Vec<u8>, String>>()?;
                    Tensor::from_bytes(ty.dtype, dims.clone(), &codes).map_err(|e| e.to_string())
                })
            }
        };
        result.or_else(|m| self.error(m))
    }

    fn attr_value(&mut self) -> PResult<AttrValue> {
        match self.peek().cloned() {
            Some(Tok::Number(n)) => {
                self.pos += 1;
                if let Ok(i) = n.parse::<i64>() {
                    return Ok(AttrValue::Int(i));
                }
                let f = match n.as_str() {
                    "nan" | "NaN" => Some(f32::NAN),
                    "inf" => Some(f32::INFINITY),
                    "-inf" => Some(f32::NEG_INFINITY),
                    _ => n.parse::<f32>().ok(),
                };
                match f {
                    Some(f) => Ok(AttrValue::Float(f)),
                    None => {
                        self.pos -= 1;
                        self.error(format!("bad number `{n}`"))
                    }
                }
            }
            Some(Tok::Ident(w)) => {
                self.pos += 1;
                Ok(match w.as_str() {
                    "true" => AttrValue::Bool(true),
                    "false" => AttrValue::Bool(false),
                    _ => AttrValue::Ident(w),
                })
            }
            Some(Tok::Str(s)) => {
                self.pos += 1;
                Ok(AttrValue::Str(s))
            }
            Some(Tok::Punct('[')) => {
                let items = self.literal_list()?;
                if matches!(self.peek(), Some(Tok::Ident(_))) {
                    let ty = self.ty()?;
                    return Ok(AttrValue::Tensor(self.tensor(&items, &ty)?));
                }
                let mut ints = Vec::with_capacity(items.len());
                for s in &items {
                    match s.parse::<i64>() {
                        Ok(i) => ints.push(i),
                        Err(_) => return self.error(format!("`{s}` is not an integer")),
                    }
                }
                Ok(AttrValue::Ints(ints))
            }
            _ => self.error("expected an attribute value"),
        }
    }

    fn graph(&mut self, weight: &dyn Fn(&str) -> Option<Tensor>) -> PResult<Graph> {
        self.skip_newlines();
        self.keyword("graph")?;
        let name = self.string()?;
        self.end_line()?;
        let mut graph = Graph::new(name);
        while let Some(tok) = self.peek().cloned() {
            match tok {
                Tok::Ident(w) if w == "input" => {
                    self.pos += 1;
                    let n = self.value_number()?;
                    self.expect(':')?;
                    let ty = self.ty()?;
                    let name = self.string()?;
                    let v = graph.add_input(name, ty);
                    self.define(n, v)?;
                }
                Tok::Ident(w) if w == "output" => {
                    self.pos += 1;
                    let v = self.use_value()?;
                    let name = self.string()?;
                    graph.add_output(name, v);
                }
                Tok::Value(_) => self.node(&mut graph, weight)?,
                _ => return self.error("expected `input`, `output` or a node"),
            }
            self.end_line()?;
        }
        Ok(graph)
    }

    fn node(&mut self, graph: &mut Graph, weight: &dyn Fn(&str) -> Option<Tensor>) -> PResult<()> {
        let mut results = vec![self.value_number()?];
        while self.eat(',') {
            results.push(self.value_number()?);
        }
        self.expect('=')?;
        let op_name = match self.next() {
            Some(Tok::Ident(w)) => w,
            _ => {
                self.pos -= 1;
                return self.error("expected an op name");
            }
        };
        let mut operands = Vec::new();
        let mut inline = None;
        if op_name == "constant" {
            if self.peek() == Some(&Tok::Punct('[')) {
                inline = Some(self.literal_list()?);
            }
        } else {
            self.expect('(')?;
            while !self.eat(')') {
                if !operands.is_empty() {
                    self.expect(',')?;
                }
                operands.push(if self.eat('_') { None } else { Some(self.use_value()?) });
            }
        }
        let mut attrs = Vec::new();
        if self.eat('{') {
            while !self.eat('}') {
                if !attrs.is_empty() {
                    self.expect(',')?;
                }
                let key = match self.next() {
                    Some(Tok::Ident(k)) => k,
                    _ => {
                        self.pos -= 1;
                        return self.error("expected an attribute name");
                    }
                };
                self.expect('=')?;
                attrs.push((key, self.attr_value()?));
            }
        }
        self.expect(':')?;
        let mut types = vec![self.ty()?];
        while self.eat(',') {
            types.push(self.ty()?);
        }
        let name = self.string()?;
        if types.len() != results.len() {
            return self.error(format!("{} results but {} types", results.len(), types.len()));
        }
        let op = if op_name == "constant" {
            if !attrs.is_empty() {
                return self.error("constant takes no attributes");
            }
            let data = match &inline {
                Some(items) => self.tensor(items, &types[0])?,
                None => match weight(&name) {
                    Some(t) => t,
                    None => return self.error(format!("no weight data for constant \"{name}\"")),
                },
            };
            Op::Constant(data)
        } else {
            match decode(&op_name, attrs) {
                Ok(op) => op,
                Err(m) => return self.error(m),
            }
        };
        let id = graph.add_node(name, op, operands, types);
        let defined = graph.node(id).results.clone();
        for (n, v) in results.into_iter().zip(defined) {
            self.define(n, v)?;
        }
        Ok(())
    }
}

/// The code of `x` in the narrow float format `dtype` when `x` is exactly one of its
/// values (NaN gives the canonical NaN code; infinities only where the format has them).
/// Values that would need rounding are refused, so the text never changes a constant.
fn narrow_float_code(dtype: DType, x: f64) -> Option<u8> {
    use crate::dtype::minifloat::{decode, encode, encode_e8m0, RoundMode};
    let code = if dtype == DType::F8E8M0 {
        encode_e8m0(x as f32, false, RoundMode::Down)
    } else {
        encode(dtype, x, false)?
    };
    let back = f64::from(decode(dtype, code)?);
    let same = if x.is_nan() {
        back.is_nan()
    } else {
        back == x && back.is_sign_negative() == x.is_sign_negative()
    };
    same.then_some(code)
}
