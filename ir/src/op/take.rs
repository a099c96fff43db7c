//! Attribute reading for the text-format decoders of the recurrent, signal, random and
//! selection ops: takes attributes out of the parsed list by name, checking their kind.

use super::names::{AttrList, AttrValue};
use crate::dtype::DType;
use crate::tensor::Tensor;

/// The parsed attributes of one node, consumed by name. What is left over after decoding
/// is an unknown attribute, which the caller refuses.
pub(super) struct Take<'a>(pub(super) &'a mut Vec<(String, AttrValue)>);

impl Take<'_> {
    /// Removes and returns the attribute `key`, if present.
    pub(super) fn opt(&mut self, key: &str) -> Option<AttrValue> {
        let i = self.0.iter().position(|(k, _)| k == key)?;
        Some(self.0.remove(i).1)
    }

    /// Removes and returns the attribute `key`, which must be present.
    pub(super) fn req(&mut self, key: &str) -> Result<AttrValue, String> {
        self.opt(key).ok_or_else(|| format!("missing attribute `{key}`"))
    }

    /// An integer attribute.
    pub(super) fn int(&mut self, key: &str) -> Result<i64, String> {
        match self.req(key)? {
            AttrValue::Int(v) => Ok(v),
            other => Err(format!("attribute `{key}` must be an integer, got {other:?}")),
        }
    }

    /// A non-negative integer attribute.
    pub(super) fn usize(&mut self, key: &str) -> Result<usize, String> {
        let v = self.int(key)?;
        usize::try_from(v).map_err(|_| format!("attribute `{key}` must not be negative, got {v}"))
    }

    /// A float attribute (an integer literal is accepted).
    pub(super) fn float(&mut self, key: &str) -> Result<f32, String> {
        match self.req(key)? {
            AttrValue::Float(v) => Ok(v),
            AttrValue::Int(v) => Ok(v as f32),
            other => Err(format!("attribute `{key}` must be a float, got {other:?}")),
        }
    }

    /// An optional float attribute.
    pub(super) fn opt_float(&mut self, key: &str) -> Result<Option<f32>, String> {
        match self.opt(key) {
            None => Ok(None),
            Some(AttrValue::Float(v)) => Ok(Some(v)),
            Some(AttrValue::Int(v)) => Ok(Some(v as f32)),
            Some(other) => Err(format!("attribute `{key}` must be a float, got {other:?}")),
        }
    }

    /// A boolean attribute.
    pub(super) fn bool(&mut self, key: &str) -> Result<bool, String> {
        match self.req(key)? {
            AttrValue::Bool(v) => Ok(v),
            other => Err(format!("attribute `{key}` must be true or false, got {other:?}")),
        }
    }

    /// A keyword attribute.
    pub(super) fn ident(&mut self, key: &str) -> Result<String, String> {
        match self.req(key)? {
            AttrValue::Ident(v) => Ok(v),
            other => Err(format!("attribute `{key}` must be a keyword, got {other:?}")),
        }
    }

    /// A dtype attribute.
    pub(super) fn dtype(&mut self, key: &str) -> Result<DType, String> {
        let name = self.ident(key)?;
        name.parse().map_err(|e: crate::dtype::UnknownDType| e.to_string())
    }

    /// A list of integers.
    pub(super) fn ints(&mut self, key: &str) -> Result<Vec<i64>, String> {
        match self.req(key)? {
            AttrValue::Ints(v) => Ok(v),
            other => Err(format!("attribute `{key}` must be a list of integers, got {other:?}")),
        }
    }

    /// A list of non-negative integers.
    pub(super) fn usizes(&mut self, key: &str) -> Result<Vec<usize>, String> {
        self.ints(key)?
            .into_iter()
            .map(|x| usize::try_from(x).map_err(|_| format!("attribute `{key}` has a negative entry {x}")))
            .collect()
    }

    /// An optional list of `f32` values, written as an `f32[n]` tensor.
    pub(super) fn opt_f32s(&mut self, key: &str) -> Result<Option<Vec<f32>>, String> {
        match self.opt(key) {
            None => Ok(None),
            Some(AttrValue::Tensor(t)) if t.dtype() == DType::F32 && t.dims().len() == 1 => {
                t.as_slice::<f32>().map(|s| Some(s.to_vec())).map_err(|e| e.to_string())
            }
            Some(other) => Err(format!("attribute `{key}` must be an f32[n] tensor, got {other:?}")),
        }
    }
}

/// An `f32[n]` tensor attribute holding `values`.
pub(super) fn f32s(values: &[f32]) -> AttrValue {
    AttrValue::Tensor(Tensor::from_vec(vec![values.len()], values.to_vec()).expect("length matches"))
}

/// Appends `(key, f32s(values))` unless `values` is empty.
pub(super) fn push_f32s(attrs: &mut AttrList, key: &'static str, values: &[f32]) {
    if !values.is_empty() {
        attrs.push((key, f32s(values)));
    }
}
