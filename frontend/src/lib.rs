//! Model frontends of LightOS.

pub mod onnx;
