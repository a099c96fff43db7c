//! The ONNX frontend: protobuf decoding and tensor conversion.
//!
//! - [`proto`]: the ONNX protobuf messages as hand-written prost structs.
//! - [`decode`]: [`decode_model`], [`load_model`], [`decode_tensor`].
//! - [`tensor`]: [`tensor_from_proto`], converting every ONNX tensor encoding.
//! - [`external`]: external tensor data, resolved only inside the model's folder.
//! - [`error`]: [`OnnxError`], the one error type of the ONNX frontend.
//! - [`import`]: [`import_model`], from a decoded model to a verified LightOS graph.

pub mod decode;
pub mod error;
pub mod external;
pub mod proto;
pub mod tensor;

pub use decode::{decode_model, decode_tensor, load_model};
pub use error::OnnxError;
pub use tensor::{tensor_from_proto, TensorContext};
pub mod import;

pub use import::{import_model, import_model_with, Folder, ImportOptions};
