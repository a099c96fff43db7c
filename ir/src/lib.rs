//! The LightOS IR: a typed graph of tensor ops.
//!
//! - [`DType`], [`Shape`] and [`Dim`] describe tensors; [`Tensor`] holds constant data.
//! - [`Op`] is the op set, with typed attributes.
//! - [`Graph`] owns arenas of values and nodes, referred to by [`ValueId`] and [`NodeId`].
//! - [`infer`] gives each op's result types; [`verify`] checks a whole graph.
//! - [`text`] prints and parses the canonical text format.

pub mod dtype;
pub mod op;
pub mod shape;
pub mod tensor;

pub use dtype::{DType, Element};
pub use op::*;
pub use shape::{Dim, Shape, ShapeError};
pub use tensor::{Arena, Tensor, TensorError};
pub mod graph;
pub mod infer;

pub use graph::{Graph, Node, NodeId, Port, TensorType, ValueData, ValueDef, ValueId};
pub mod text;
pub mod verify;

pub use verify::{verify, VerifyError};
