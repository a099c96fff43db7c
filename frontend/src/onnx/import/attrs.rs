//! Typed access to a node's ONNX attributes.

use crate::onnx::proto::attribute_proto::AttributeType;
use crate::onnx::proto::{AttributeProto, NodeProto, TensorProto};

/// The attributes of one node, read by name with the expected type checked.
pub(crate) struct Attrs<'a> {
    node: &'a NodeProto,
}

/// An attribute that has the wrong type or value.
pub(crate) type AttrResult<T> = Result<T, String>;

impl<'a> Attrs<'a> {
    /// The attributes of `node`.
    pub(crate) fn new(node: &'a NodeProto) -> Attrs<'a> {
        Attrs { node }
    }

    fn find(&self, name: &str) -> Option<&'a AttributeProto> {
        self.node.attribute.iter().find(|a| a.name == name)
    }

    fn typed(&self, name: &str, want: AttributeType) -> AttrResult<Option<&'a AttributeProto>> {
        match self.find(name) {
            None => Ok(None),
            Some(a) if a.r#type == want as i32 => Ok(Some(a)),
            Some(a) if a.r#type == AttributeType::Undefined as i32 => Ok(Some(a)),
            Some(a) => Err(format!(
                "attribute `{name}` must be {want:?}, got {}",
                AttributeType::try_from(a.r#type).map_or_else(|_| "an unknown type".to_string(), |t| format!("{t:?}"))
            )),
        }
    }

    /// Whether the attribute is present.
    pub(crate) fn has(&self, name: &str) -> bool {
        self.find(name).is_some()
    }

    /// An integer attribute.
    pub(crate) fn int(&self, name: &str) -> AttrResult<Option<i64>> {
        Ok(self.typed(name, AttributeType::Int)?.map(|a| a.i))
    }

    /// An integer attribute with a default.
    pub(crate) fn int_or(&self, name: &str, default: i64) -> AttrResult<i64> {
        Ok(self.int(name)?.unwrap_or(default))
    }

    /// A boolean attribute (an integer 0 or 1) with a default.
    pub(crate) fn bool_or(&self, name: &str, default: bool) -> AttrResult<bool> {
        match self.int(name)? {
            None => Ok(default),
            Some(0) => Ok(false),
            Some(1) => Ok(true),
            Some(v) => Err(format!("attribute `{name}` must be 0 or 1, got {v}")),
        }
    }

    /// A float attribute with a default.
    pub(crate) fn float_or(&self, name: &str, default: f32) -> AttrResult<f32> {
        Ok(self.typed(name, AttributeType::Float)?.map_or(default, |a| a.f))
    }

    /// A float attribute.
    pub(crate) fn float(&self, name: &str) -> AttrResult<Option<f32>> {
        Ok(self.typed(name, AttributeType::Float)?.map(|a| a.f))
    }

    /// A list of integers.
    pub(crate) fn ints(&self, name: &str) -> AttrResult<Option<Vec<i64>>> {
        Ok(self.typed(name, AttributeType::Ints)?.map(|a| a.ints.clone()))
    }

    /// A list of non-negative integers.
    pub(crate) fn usizes(&self, name: &str) -> AttrResult<Option<Vec<usize>>> {
        match self.ints(name)? {
            None => Ok(None),
            Some(v) => v
                .iter()
                .map(|&x| usize::try_from(x).map_err(|_| format!("attribute `{name}` has a negative entry {x}")))
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
        }
    }

    /// A list of floats.
    pub(crate) fn floats(&self, name: &str) -> AttrResult<Option<Vec<f32>>> {
        Ok(self.typed(name, AttributeType::Floats)?.map(|a| a.floats.clone()))
    }

    /// A string attribute.
    pub(crate) fn string(&self, name: &str) -> AttrResult<Option<String>> {
        match self.typed(name, AttributeType::String)? {
            None => Ok(None),
            Some(a) => String::from_utf8(a.s.clone())
                .map(Some)
                .map_err(|_| format!("attribute `{name}` is not UTF-8")),
        }
    }

    /// A string attribute with a default.
    pub(crate) fn string_or(&self, name: &str, default: &str) -> AttrResult<String> {
        Ok(self.string(name)?.unwrap_or_else(|| default.to_string()))
    }

    /// A tensor attribute.
    pub(crate) fn tensor(&self, name: &str) -> AttrResult<Option<&'a TensorProto>> {
        Ok(self.typed(name, AttributeType::Tensor)?.and_then(|a| a.t.as_ref()))
    }
}
