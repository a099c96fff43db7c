//! Errors of the ONNX frontend.
//!
//! One enum, [`OnnxError`], covers decoding, tensor conversion and external data; the
//! importer adds its own variants here. Every variant that concerns a tensor names it
//! (`<unnamed>` when the tensor has no name), and every variant about external data also
//! names the `location` the model gave.

use std::path::PathBuf;

use lightos_ir::{DType, ShapeError, TensorError};

/// An error reading an ONNX model or converting its tensors.
#[derive(Debug, thiserror::Error)]
pub enum OnnxError {
    // ---- reading and decoding ------------------------------------------------------
    /// The bytes are not a valid protobuf encoding of the expected message.
    #[error("cannot decode {context}: {source}")]
    Decode {
        /// What was being decoded, e.g. `ONNX model` or `ONNX model model.onnx`.
        context: String,
        /// The protobuf error.
        source: prost::DecodeError,
    },
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The model has no main graph.
    #[error("ONNX model has no graph")]
    MissingGraph,

    // ---- tensors -------------------------------------------------------------------
    /// The tensor's element type has no LightOS dtype (or is not a known ONNX type).
    #[error("tensor `{tensor}` has data type {type_name} ({data_type}), which LightOS does not support")]
    UnsupportedDType {
        /// The tensor's name.
        tensor: String,
        /// The ONNX `DataType` code.
        data_type: i32,
        /// The ONNX name of the code (`UNKNOWN` for codes ONNX does not define).
        type_name: &'static str,
    },
    /// A dimension is negative.
    #[error("tensor `{tensor}` has a negative dimension in {dims:?}")]
    NegativeDim {
        /// The tensor's name.
        tensor: String,
        /// The dimensions as given.
        dims: Vec<i64>,
    },
    /// The dimensions' element count or byte size overflows.
    #[error("tensor `{tensor}`: {source}")]
    ShapeOverflow {
        /// The tensor's name.
        tensor: String,
        /// The shape error.
        source: ShapeError,
    },
    /// The tensor is a segment of a larger one, which is not supported.
    #[error("tensor `{tensor}` is a segment ({begin}..{end}) of a larger tensor; segmented tensors are not supported")]
    SegmentedTensor {
        /// The tensor's name.
        tensor: String,
        /// First element of the segment.
        begin: i64,
        /// One past the last element.
        end: i64,
    },
    /// `data_location` is neither DEFAULT nor EXTERNAL.
    #[error("tensor `{tensor}` has unknown data_location {value}")]
    UnknownDataLocation {
        /// The tensor's name.
        tensor: String,
        /// The code given.
        value: i32,
    },
    /// `raw_data` does not hold as many bytes as the dtype and dimensions need.
    #[error("tensor `{tensor}` ({dtype}{dims}): raw_data has {actual} bytes, the shape needs {expected}")]
    RawDataLength {
        /// The tensor's name.
        tensor: String,
        /// The element type.
        dtype: DType,
        /// The dimensions, formatted.
        dims: String,
        /// Bytes the shape needs.
        expected: usize,
        /// Bytes given.
        actual: usize,
    },
    /// A typed data field holds another number of elements than the shape has.
    #[error("tensor `{tensor}` ({dtype}{dims}): {field} has {actual} elements, the shape has {expected}")]
    ElementCount {
        /// The tensor's name.
        tensor: String,
        /// The element type.
        dtype: DType,
        /// The dimensions, formatted.
        dims: String,
        /// The field, e.g. `float_data`.
        field: &'static str,
        /// Elements the shape has.
        expected: usize,
        /// Elements given.
        actual: usize,
    },
    /// The tensor has elements but no data.
    #[error("tensor `{tensor}` ({dtype}{dims}) has {elements} elements but no data")]
    MissingData {
        /// The tensor's name.
        tensor: String,
        /// The element type.
        dtype: DType,
        /// The dimensions, formatted.
        dims: String,
        /// Elements the shape has.
        elements: usize,
    },
    /// More than one data field is set.
    #[error("tensor `{tensor}` has data in more than one place ({}); exactly one is allowed", fields.join(", "))]
    ConflictingData {
        /// The tensor's name.
        tensor: String,
        /// The fields that hold data.
        fields: Vec<&'static str>,
    },
    /// The data is in a typed field that does not go with the dtype.
    #[error("tensor `{tensor}` of dtype {dtype} has its data in {field}, which is not the field for {dtype} (expected {expected_field} or raw_data)")]
    WrongDataField {
        /// The tensor's name.
        tensor: String,
        /// The element type.
        dtype: DType,
        /// The field that holds the data.
        field: &'static str,
        /// The field that should hold it.
        expected_field: &'static str,
    },
    /// A value in a typed field does not fit the dtype.
    #[error("tensor `{tensor}`: value {value} in {field} does not fit dtype {dtype}")]
    ValueOutOfRange {
        /// The tensor's name.
        tensor: String,
        /// The element type.
        dtype: DType,
        /// The field, e.g. `int32_data`.
        field: &'static str,
        /// The value.
        value: i128,
    },
    /// Building the tensor failed (should not happen once lengths are checked).
    #[error("tensor `{tensor}`: {source}")]
    Tensor {
        /// The tensor's name.
        tensor: String,
        /// The tensor error.
        source: TensorError,
    },

    // ---- external data -------------------------------------------------------------
    /// External data but no model folder to resolve it against (model given as bytes).
    #[error("tensor `{tensor}` has external data at `{location}`, but the model was not loaded from a folder")]
    ExternalNoModelDir {
        /// The tensor's name.
        tensor: String,
        /// The location given.
        location: String,
    },
    /// `data_location` is EXTERNAL but no (non-empty) `location` entry is given.
    #[error("tensor `{tensor}` has external data without a location")]
    ExternalMissingLocation {
        /// The tensor's name.
        tensor: String,
    },
    /// An `external_data` entry (`offset`, `length`) is not a non-negative integer.
    #[error("tensor `{tensor}` (external data at `{location}`): {key} = `{value}` is not a non-negative integer")]
    ExternalBadField {
        /// The tensor's name.
        tensor: String,
        /// The location given.
        location: String,
        /// The key.
        key: String,
        /// The value given.
        value: String,
    },
    /// The location is an absolute path.
    #[error("tensor `{tensor}`: external data location `{location}` is an absolute path; it must be relative to the model's folder")]
    ExternalAbsolutePath {
        /// The tensor's name.
        tensor: String,
        /// The location given.
        location: String,
    },
    /// The location has a `..` component.
    #[error(
        "tensor `{tensor}`: external data location `{location}` contains `..`; it must stay inside the model's folder"
    )]
    ExternalParentDir {
        /// The tensor's name.
        tensor: String,
        /// The location given.
        location: String,
    },
    /// The location resolves (through symbolic links) to a file outside the model's folder.
    #[error("tensor `{tensor}`: external data location `{location}` resolves to {}, outside the model's folder {}", resolved.display(), model_dir.display())]
    ExternalOutsideFolder {
        /// The tensor's name.
        tensor: String,
        /// The location given.
        location: String,
        /// Where it resolves to.
        resolved: PathBuf,
        /// The model's folder, canonicalized.
        model_dir: PathBuf,
    },
    /// The external data file does not exist.
    #[error("tensor `{tensor}`: external data file `{location}` does not exist in {}", model_dir.display())]
    ExternalMissingFile {
        /// The tensor's name.
        tensor: String,
        /// The location given.
        location: String,
        /// The model's folder.
        model_dir: PathBuf,
    },
    /// The location is not a regular file (a folder, a device, a pipe, ...).
    #[error("tensor `{tensor}`: external data location `{location}` is not a regular file")]
    ExternalNotAFile {
        /// The tensor's name.
        tensor: String,
        /// The location given.
        location: String,
    },
    /// `offset` and `length` reach beyond the end of the file.
    #[error("tensor `{tensor}`: external data range (offset {offset}, length {}) is beyond the end of `{location}` ({file_size} bytes)", length.map_or_else(|| "unspecified".to_string(), |l| l.to_string()))]
    ExternalRange {
        /// The tensor's name.
        tensor: String,
        /// The location given.
        location: String,
        /// The offset given (0 when not given).
        offset: u64,
        /// The length given, if any.
        length: Option<u64>,
        /// The file's size.
        file_size: u64,
    },
    /// The external data's length disagrees with the shape.
    #[error("tensor `{tensor}` ({dtype}{dims}): external data at `{location}` has {actual} bytes, the shape needs {expected}")]
    ExternalDataLength {
        /// The tensor's name.
        tensor: String,
        /// The location given.
        location: String,
        /// The element type.
        dtype: DType,
        /// The dimensions, formatted.
        dims: String,
        /// Bytes the shape needs.
        expected: u64,
        /// Bytes the external data has.
        actual: u64,
    },
    /// Reading the external data file failed.
    #[error("tensor `{tensor}`: cannot read external data `{location}`: {source}")]
    ExternalIo {
        /// The tensor's name.
        tensor: String,
        /// The location given.
        location: String,
        /// The I/O error.
        source: std::io::Error,
    },

    // ---- import --------------------------------------------------------------------
    /// The model imports an opset this frontend does not cover.
    #[error("model uses opset {version} of domain `{domain}`; supported: ai.onnx opsets {min} to {max}")]
    UnsupportedOpset {
        /// The domain (`ai.onnx` for the default domain).
        domain: String,
        /// The version asked for.
        version: i64,
        /// Oldest supported version.
        min: i64,
        /// Newest supported version.
        max: i64,
    },
    /// The model imports no version of the default (ai.onnx) domain.
    #[error("model imports no ai.onnx opset (its opset_import lists only other domains)")]
    NoAiOnnxOpset,
    /// Ops with no importer, all of them at once.
    #[error("{} unsupported op(s): {}", ops.len(), format_unsupported(ops))]
    UnsupportedOps {
        /// Each unsupported node: its op type (with domain when not the default) and name.
        ops: Vec<UnsupportedOp>,
    },
    /// A node reads a value nothing defines.
    #[error("node `{node}` reads `{value}`, which no node, input or initializer defines")]
    UndefinedValue {
        /// The node.
        node: String,
        /// The value name.
        value: String,
    },
    /// A graph output names a value nothing defines.
    #[error("graph output `{0}` is not defined by any node, input or initializer")]
    UndefinedOutput(String),
    /// Two definitions share a value name.
    #[error("value `{value}` is defined twice (again by {by})")]
    DuplicateValue {
        /// The value name.
        value: String,
        /// The second definition (a node, an input or an initializer).
        by: String,
    },
    /// The nodes form a cycle.
    #[error("the graph has a cycle through node(s) {}", nodes.join(", "))]
    Cycle {
        /// Nodes on or behind the cycle, by name.
        nodes: Vec<String>,
    },
    /// A graph input has no usable tensor type.
    #[error("graph input `{input}`: {message}")]
    BadInput {
        /// The input.
        input: String,
        /// What is wrong.
        message: String,
    },
    /// A node is malformed or its operands do not fit the op.
    #[error("node `{node}` ({op_type}): {message}")]
    BadNode {
        /// The node.
        node: String,
        /// Its op type.
        op_type: String,
        /// What is wrong.
        message: String,
    },
    /// The imported graph fails verification (a frontend bug or an inconsistent model).
    #[error("imported graph is invalid: {0}")]
    Verify(#[from] lightos_ir::VerifyError),
}

/// The name of a tensor for error messages: its own, or `<unnamed>`.
pub(crate) fn tensor_label(name: &str) -> String {
    if name.is_empty() {
        "<unnamed>".to_string()
    } else {
        name.to_string()
    }
}

/// One node with no importer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsupportedOp {
    /// The op type, prefixed by its domain when not the default one.
    pub op_type: String,
    /// The node's name.
    pub node: String,
}

fn format_unsupported(ops: &[UnsupportedOp]) -> String {
    let parts: Vec<String> = ops
        .iter()
        .map(|o| format!("{} (node `{}`)", o.op_type, o.node))
        .collect();
    parts.join(", ")
}
