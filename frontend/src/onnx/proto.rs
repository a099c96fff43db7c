//! The ONNX protobuf messages, written by hand as prost structs.
//!
//! Field names, numbers and wire types follow the published `onnx.proto` (proto2 syntax,
//! `onnx/onnx.proto` in the ONNX repository). Only the messages a model importer needs are
//! declared; fields that are not declared here (training info, functions, device
//! configurations, ...) are skipped by the decoder as unknown fields.
//!
//! ONNX is a proto2 schema, so its scalar fields have explicit presence. These structs
//! keep scalars as plain values: a field that is absent reads as its default (`0`, `""`,
//! empty), which is also what ONNX defines an absent field to mean. Message-typed fields
//! are `Option`s, so their presence is kept. Repeated numeric fields that `onnx.proto`
//! does not mark `packed` are declared `packed = "false"`, so that encoding matches the
//! spec; the decoder accepts both packed and unpacked forms either way.

/// Operator set identifier: which version of an operator domain a model uses.
#[derive(Clone, PartialEq, prost::Message)]
pub struct OperatorSetIdProto {
    /// The domain of the operator set; empty (or `ai.onnx`) is the default ONNX domain.
    #[prost(string, tag = "1")]
    pub domain: String,
    /// The version of the operator set.
    #[prost(int64, tag = "2")]
    pub version: i64,
}

/// A key/value pair of strings (metadata, external data locations).
#[derive(Clone, PartialEq, prost::Message)]
pub struct StringStringEntryProto {
    /// The key.
    #[prost(string, tag = "1")]
    pub key: String,
    /// The value.
    #[prost(string, tag = "2")]
    pub value: String,
}

/// A whole model: metadata, the operator sets it imports and its main graph.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ModelProto {
    /// The ONNX IR version the model was written with.
    #[prost(int64, tag = "1")]
    pub ir_version: i64,
    /// The operator sets the model uses, one entry per domain.
    #[prost(message, repeated, tag = "8")]
    pub opset_import: Vec<OperatorSetIdProto>,
    /// The name of the tool that wrote the model.
    #[prost(string, tag = "2")]
    pub producer_name: String,
    /// The version of the tool that wrote the model.
    #[prost(string, tag = "3")]
    pub producer_version: String,
    /// The model's namespace (reverse-DNS style).
    #[prost(string, tag = "4")]
    pub domain: String,
    /// The model's own version.
    #[prost(int64, tag = "5")]
    pub model_version: i64,
    /// Human-readable documentation.
    #[prost(string, tag = "6")]
    pub doc_string: String,
    /// The main graph. Required: a model without one is refused by the decoder.
    #[prost(message, optional, tag = "7")]
    pub graph: Option<GraphProto>,
    /// Named metadata.
    #[prost(message, repeated, tag = "14")]
    pub metadata_props: Vec<StringStringEntryProto>,
}

/// A graph: nodes in topological order, constant initializers, inputs and outputs.
#[derive(Clone, PartialEq, prost::Message)]
pub struct GraphProto {
    /// The nodes, in topological order.
    #[prost(message, repeated, tag = "1")]
    pub node: Vec<NodeProto>,
    /// The graph's name.
    #[prost(string, tag = "2")]
    pub name: String,
    /// Constant tensors (weights); each is named after the value it defines.
    #[prost(message, repeated, tag = "5")]
    pub initializer: Vec<TensorProto>,
    /// Constant sparse tensors.
    #[prost(message, repeated, tag = "15")]
    pub sparse_initializer: Vec<SparseTensorProto>,
    /// Human-readable documentation.
    #[prost(string, tag = "10")]
    pub doc_string: String,
    /// The graph's inputs (may also list initializers, for older IR versions).
    #[prost(message, repeated, tag = "11")]
    pub input: Vec<ValueInfoProto>,
    /// The graph's outputs.
    #[prost(message, repeated, tag = "12")]
    pub output: Vec<ValueInfoProto>,
    /// Types of intermediate values, where known.
    #[prost(message, repeated, tag = "13")]
    pub value_info: Vec<ValueInfoProto>,
}

/// One node of a graph: an operator call.
#[derive(Clone, PartialEq, prost::Message)]
pub struct NodeProto {
    /// Names of the input values; an empty name is an omitted optional input.
    #[prost(string, repeated, tag = "1")]
    pub input: Vec<String>,
    /// Names of the output values; an empty name is an omitted optional output.
    #[prost(string, repeated, tag = "2")]
    pub output: Vec<String>,
    /// The node's name (optional, for diagnostics).
    #[prost(string, tag = "3")]
    pub name: String,
    /// The operator, e.g. `Conv`.
    #[prost(string, tag = "4")]
    pub op_type: String,
    /// The operator's domain; empty is the default ONNX domain.
    #[prost(string, tag = "7")]
    pub domain: String,
    /// The operator's attributes.
    #[prost(message, repeated, tag = "5")]
    pub attribute: Vec<AttributeProto>,
    /// Human-readable documentation.
    #[prost(string, tag = "6")]
    pub doc_string: String,
}

/// A named attribute of a node. `type` says which of the value fields is in use.
#[derive(Clone, PartialEq, prost::Message)]
pub struct AttributeProto {
    /// The attribute's name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// In a function body: the name of the caller's attribute this one refers to.
    #[prost(string, tag = "21")]
    pub ref_attr_name: String,
    /// Human-readable documentation.
    #[prost(string, tag = "13")]
    pub doc_string: String,
    /// Which value field is in use (an [`attribute_proto::AttributeType`] code).
    #[prost(enumeration = "attribute_proto::AttributeType", tag = "20")]
    pub r#type: i32,
    /// A float value.
    #[prost(float, tag = "2")]
    pub f: f32,
    /// An integer value.
    #[prost(int64, tag = "3")]
    pub i: i64,
    /// A string value (UTF-8 bytes).
    #[prost(bytes = "vec", tag = "4")]
    pub s: Vec<u8>,
    /// A tensor value.
    #[prost(message, optional, tag = "5")]
    pub t: Option<TensorProto>,
    /// A graph value (a subgraph, e.g. a branch of `If`).
    #[prost(message, optional, tag = "6")]
    pub g: Option<GraphProto>,
    /// A sparse tensor value.
    #[prost(message, optional, tag = "22")]
    pub sparse_tensor: Option<SparseTensorProto>,
    /// A type value.
    #[prost(message, optional, tag = "14")]
    pub tp: Option<TypeProto>,
    /// A list of floats.
    #[prost(float, repeated, packed = "false", tag = "7")]
    pub floats: Vec<f32>,
    /// A list of integers.
    #[prost(int64, repeated, packed = "false", tag = "8")]
    pub ints: Vec<i64>,
    /// A list of strings (UTF-8 bytes each).
    #[prost(bytes = "vec", repeated, tag = "9")]
    pub strings: Vec<Vec<u8>>,
    /// A list of tensors.
    #[prost(message, repeated, tag = "10")]
    pub tensors: Vec<TensorProto>,
    /// A list of graphs.
    #[prost(message, repeated, tag = "11")]
    pub graphs: Vec<GraphProto>,
    /// A list of sparse tensors.
    #[prost(message, repeated, tag = "23")]
    pub sparse_tensors: Vec<SparseTensorProto>,
    /// A list of types.
    #[prost(message, repeated, tag = "15")]
    pub type_protos: Vec<TypeProto>,
}

/// Types nested in [`AttributeProto`].
pub mod attribute_proto {
    /// Which value field of an [`AttributeProto`](super::AttributeProto) is in use.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
    #[repr(i32)]
    pub enum AttributeType {
        /// Not set.
        Undefined = 0,
        /// `f`.
        Float = 1,
        /// `i`.
        Int = 2,
        /// `s`.
        String = 3,
        /// `t`.
        Tensor = 4,
        /// `g`.
        Graph = 5,
        /// `sparse_tensor`.
        SparseTensor = 11,
        /// `tp`.
        TypeProto = 13,
        /// `floats`.
        Floats = 6,
        /// `ints`.
        Ints = 7,
        /// `strings`.
        Strings = 8,
        /// `tensors`.
        Tensors = 9,
        /// `graphs`.
        Graphs = 10,
        /// `sparse_tensors`.
        SparseTensors = 12,
        /// `type_protos`.
        TypeProtos = 14,
    }

    impl AttributeType {
        /// The name `onnx.proto` gives this value, e.g. `INTS`.
        pub fn as_str_name(self) -> &'static str {
            match self {
                AttributeType::Undefined => "UNDEFINED",
                AttributeType::Float => "FLOAT",
                AttributeType::Int => "INT",
                AttributeType::String => "STRING",
                AttributeType::Tensor => "TENSOR",
                AttributeType::Graph => "GRAPH",
                AttributeType::SparseTensor => "SPARSE_TENSOR",
                AttributeType::TypeProto => "TYPE_PROTO",
                AttributeType::Floats => "FLOATS",
                AttributeType::Ints => "INTS",
                AttributeType::Strings => "STRINGS",
                AttributeType::Tensors => "TENSORS",
                AttributeType::Graphs => "GRAPHS",
                AttributeType::SparseTensors => "SPARSE_TENSORS",
                AttributeType::TypeProtos => "TYPE_PROTOS",
            }
        }
    }
}

/// A named value with its type: a graph input, output or intermediate.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ValueInfoProto {
    /// The value's name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// The value's type, where known.
    #[prost(message, optional, tag = "2")]
    pub r#type: Option<TypeProto>,
    /// Human-readable documentation.
    #[prost(string, tag = "3")]
    pub doc_string: String,
    /// Named metadata.
    #[prost(message, repeated, tag = "4")]
    pub metadata_props: Vec<StringStringEntryProto>,
}

/// The type of a value: a tensor, a sequence, a map, an optional or a sparse tensor.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TypeProto {
    /// Which kind of type this is.
    #[prost(oneof = "type_proto::Value", tags = "1, 4, 5, 9, 8, 7")]
    pub value: Option<type_proto::Value>,
    /// A denotation of the type's meaning (e.g. `IMAGE`).
    #[prost(string, tag = "6")]
    pub denotation: String,
}

/// Types nested in [`TypeProto`].
pub mod type_proto {
    /// A dense tensor type.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Tensor {
        /// The element type, a [`DataType`](super::tensor_proto::DataType) code.
        #[prost(int32, tag = "1")]
        pub elem_type: i32,
        /// The shape; absent means the rank is unknown.
        #[prost(message, optional, tag = "2")]
        pub shape: Option<super::TensorShapeProto>,
    }

    /// A sequence type.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Sequence {
        /// The type of the sequence's elements.
        #[prost(message, optional, boxed, tag = "1")]
        pub elem_type: Option<Box<super::TypeProto>>,
    }

    /// A map type.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Map {
        /// The key type, a [`DataType`](super::tensor_proto::DataType) code.
        #[prost(int32, tag = "1")]
        pub key_type: i32,
        /// The value type.
        #[prost(message, optional, boxed, tag = "2")]
        pub value_type: Option<Box<super::TypeProto>>,
    }

    /// An optional type: a value that may be absent.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Optional {
        /// The type of the value when present.
        #[prost(message, optional, boxed, tag = "1")]
        pub elem_type: Option<Box<super::TypeProto>>,
    }

    /// A sparse tensor type.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct SparseTensor {
        /// The element type, a [`DataType`](super::tensor_proto::DataType) code.
        #[prost(int32, tag = "1")]
        pub elem_type: i32,
        /// The shape; absent means the rank is unknown.
        #[prost(message, optional, tag = "2")]
        pub shape: Option<super::TensorShapeProto>,
    }

    /// An opaque type, named by a domain and a name.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Opaque {
        /// The domain of the type.
        #[prost(string, tag = "1")]
        pub domain: String,
        /// The name of the type.
        #[prost(string, tag = "2")]
        pub name: String,
    }

    /// The kind of a [`TypeProto`](super::TypeProto).
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Value {
        /// A dense tensor.
        #[prost(message, tag = "1")]
        TensorType(Tensor),
        /// A sequence.
        #[prost(message, tag = "4")]
        SequenceType(Sequence),
        /// A map.
        #[prost(message, tag = "5")]
        MapType(Map),
        /// An optional.
        #[prost(message, tag = "9")]
        OptionalType(Optional),
        /// A sparse tensor.
        #[prost(message, tag = "8")]
        SparseTensorType(SparseTensor),
        /// An opaque type.
        #[prost(message, tag = "7")]
        OpaqueType(Opaque),
    }
}

/// The shape of a tensor type: one entry per axis, each fixed, symbolic or unknown.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TensorShapeProto {
    /// The dimensions, outermost first.
    #[prost(message, repeated, tag = "1")]
    pub dim: Vec<tensor_shape_proto::Dimension>,
}

/// Types nested in [`TensorShapeProto`].
pub mod tensor_shape_proto {
    /// One dimension: a fixed size, a symbol, or neither (unknown).
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Dimension {
        /// The size or symbol; `None` is an unknown dimension.
        #[prost(oneof = "dimension::Value", tags = "1, 2")]
        pub value: Option<dimension::Value>,
        /// A denotation of the axis' meaning (e.g. `DATA_BATCH`).
        #[prost(string, tag = "3")]
        pub denotation: String,
    }

    /// Types nested in [`Dimension`].
    pub mod dimension {
        /// The value of a [`Dimension`](super::Dimension).
        #[derive(Clone, PartialEq, prost::Oneof)]
        pub enum Value {
            /// A fixed size.
            #[prost(int64, tag = "1")]
            DimValue(i64),
            /// A symbolic size, e.g. `batch`.
            #[prost(string, tag = "2")]
            DimParam(String),
        }
    }
}

/// A constant tensor: dtype, dimensions and data in one of several encodings.
///
/// The data is in exactly one of: `raw_data` (little-endian bytes), the typed field that
/// goes with `data_type`, or an external file (`data_location = EXTERNAL`, described by
/// `external_data`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct TensorProto {
    /// The dimensions, outermost first; empty is a scalar.
    #[prost(int64, repeated, packed = "false", tag = "1")]
    pub dims: Vec<i64>,
    /// The element type, a [`tensor_proto::DataType`] code.
    #[prost(int32, tag = "2")]
    pub data_type: i32,
    /// For very large tensors split into chunks: which part of the tensor this is.
    #[prost(message, optional, tag = "3")]
    pub segment: Option<tensor_proto::Segment>,
    /// Data of `FLOAT` tensors.
    #[prost(float, repeated, tag = "4")]
    pub float_data: Vec<f32>,
    /// Data of `INT32`, `INT16`, `INT8`, `UINT16`, `UINT8`, `BOOL` tensors, and the bit
    /// patterns of `FLOAT16` and `BFLOAT16` tensors.
    #[prost(int32, repeated, tag = "5")]
    pub int32_data: Vec<i32>,
    /// Data of `STRING` tensors.
    #[prost(bytes = "vec", repeated, tag = "6")]
    pub string_data: Vec<Vec<u8>>,
    /// Data of `INT64` tensors.
    #[prost(int64, repeated, tag = "7")]
    pub int64_data: Vec<i64>,
    /// The tensor's name (the value it defines, for initializers).
    #[prost(string, tag = "8")]
    pub name: String,
    /// Human-readable documentation.
    #[prost(string, tag = "12")]
    pub doc_string: String,
    /// The data as little-endian bytes, row-major.
    #[prost(bytes = "vec", tag = "9")]
    pub raw_data: Vec<u8>,
    /// Where external data lives: keys `location`, `offset`, `length`, `checksum`.
    #[prost(message, repeated, tag = "13")]
    pub external_data: Vec<StringStringEntryProto>,
    /// Whether the data is stored in the message or in an external file
    /// (a [`tensor_proto::DataLocation`] code).
    #[prost(enumeration = "tensor_proto::DataLocation", tag = "14")]
    pub data_location: i32,
    /// Data of `DOUBLE` tensors.
    #[prost(double, repeated, tag = "10")]
    pub double_data: Vec<f64>,
    /// Data of `UINT32` and `UINT64` tensors.
    #[prost(uint64, repeated, tag = "11")]
    pub uint64_data: Vec<u64>,
    /// Named metadata.
    #[prost(message, repeated, tag = "16")]
    pub metadata_props: Vec<StringStringEntryProto>,
}

/// Types nested in [`TensorProto`].
pub mod tensor_proto {
    /// A chunk of a segmented tensor: elements `begin..end` of the flattened tensor.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Segment {
        /// First element of the chunk.
        #[prost(int64, tag = "1")]
        pub begin: i64,
        /// One past the last element of the chunk.
        #[prost(int64, tag = "2")]
        pub end: i64,
    }

    /// Element types of tensors, as numbered by ONNX.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
    #[repr(i32)]
    pub enum DataType {
        /// Not set.
        Undefined = 0,
        /// IEEE binary32.
        Float = 1,
        /// Unsigned 8-bit integer.
        Uint8 = 2,
        /// Signed 8-bit integer.
        Int8 = 3,
        /// Unsigned 16-bit integer.
        Uint16 = 4,
        /// Signed 16-bit integer.
        Int16 = 5,
        /// Signed 32-bit integer.
        Int32 = 6,
        /// Signed 64-bit integer.
        Int64 = 7,
        /// Byte string.
        String = 8,
        /// Boolean.
        Bool = 9,
        /// IEEE binary16.
        Float16 = 10,
        /// IEEE binary64.
        Double = 11,
        /// Unsigned 32-bit integer.
        Uint32 = 12,
        /// Unsigned 64-bit integer.
        Uint64 = 13,
        /// Complex number of two binary32.
        Complex64 = 14,
        /// Complex number of two binary64.
        Complex128 = 15,
        /// bfloat16.
        Bfloat16 = 16,
        /// 8-bit float E4M3, finite only.
        Float8e4m3fn = 17,
        /// 8-bit float E4M3, finite only, no negative zero.
        Float8e4m3fnuz = 18,
        /// 8-bit float E5M2.
        Float8e5m2 = 19,
        /// 8-bit float E5M2, finite only, no negative zero.
        Float8e5m2fnuz = 20,
        /// Unsigned 4-bit integer.
        Uint4 = 21,
        /// Signed 4-bit integer.
        Int4 = 22,
        /// 4-bit float E2M1.
        Float4e2m1 = 23,
        /// 8-bit exponent-only float E8M0.
        Float8e8m0 = 24,
        /// Unsigned 2-bit integer.
        Uint2 = 25,
        /// Signed 2-bit integer.
        Int2 = 26,
        /// 6-bit float E2M3.
        Float6e2m3 = 27,
        /// 6-bit float E3M2.
        Float6e3m2 = 28,
    }

    impl DataType {
        /// The name `onnx.proto` gives this value, e.g. `FLOAT16`.
        pub fn as_str_name(self) -> &'static str {
            match self {
                DataType::Undefined => "UNDEFINED",
                DataType::Float => "FLOAT",
                DataType::Uint8 => "UINT8",
                DataType::Int8 => "INT8",
                DataType::Uint16 => "UINT16",
                DataType::Int16 => "INT16",
                DataType::Int32 => "INT32",
                DataType::Int64 => "INT64",
                DataType::String => "STRING",
                DataType::Bool => "BOOL",
                DataType::Float16 => "FLOAT16",
                DataType::Double => "DOUBLE",
                DataType::Uint32 => "UINT32",
                DataType::Uint64 => "UINT64",
                DataType::Complex64 => "COMPLEX64",
                DataType::Complex128 => "COMPLEX128",
                DataType::Bfloat16 => "BFLOAT16",
                DataType::Float8e4m3fn => "FLOAT8E4M3FN",
                DataType::Float8e4m3fnuz => "FLOAT8E4M3FNUZ",
                DataType::Float8e5m2 => "FLOAT8E5M2",
                DataType::Float8e5m2fnuz => "FLOAT8E5M2FNUZ",
                DataType::Uint4 => "UINT4",
                DataType::Int4 => "INT4",
                DataType::Float4e2m1 => "FLOAT4E2M1",
                DataType::Float8e8m0 => "FLOAT8E8M0",
                DataType::Uint2 => "UINT2",
                DataType::Int2 => "INT2",
                DataType::Float6e2m3 => "FLOAT6E2M3",
                DataType::Float6e3m2 => "FLOAT6E3M2",
            }
        }
    }

    /// Where a tensor's data is stored.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
    #[repr(i32)]
    pub enum DataLocation {
        /// In the message itself (`raw_data` or a typed field).
        Default = 0,
        /// In an external file, described by `external_data`.
        External = 1,
    }
}

/// A sparse tensor in coordinate format.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SparseTensorProto {
    /// The non-default values, a 1-D tensor of `NNZ` elements.
    #[prost(message, optional, tag = "1")]
    pub values: Option<TensorProto>,
    /// The indices of the values: `[NNZ]` linearized or `[NNZ, rank]` coordinates.
    #[prost(message, optional, tag = "2")]
    pub indices: Option<TensorProto>,
    /// The dimensions of the dense tensor.
    #[prost(int64, repeated, packed = "false", tag = "3")]
    pub dims: Vec<i64>,
}
