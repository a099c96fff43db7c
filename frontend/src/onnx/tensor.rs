//! Conversion of ONNX `TensorProto`s to LightOS [`Tensor`]s.
//!
//! Every encoding ONNX allows is read:
//!
//! | dtype | typed field |
//! |---|---|
//! | `FLOAT` | `float_data` |
//! | `INT8`, `INT16`, `INT32`, `UINT8`, `UINT16`, `BOOL` | `int32_data` (one value each) |
//! | `FLOAT16`, `BFLOAT16` | `int32_data` (the 16-bit pattern each) |
//! | `INT64` | `int64_data` |
//! | `DOUBLE` | `double_data` |
//! | `UINT32`, `UINT64` | `uint64_data` |
//! | `FLOAT8E4M3FN`, `FLOAT8E4M3FNUZ`, `FLOAT8E5M2`, `FLOAT8E5M2FNUZ`, `FLOAT8E8M0` | `int32_data` (the 8-bit code each) |
//! | `UINT4`, `INT4`, `FLOAT4E2M1` | `int32_data` (one packed byte each: two elements) |
//! | `UINT2`, `INT2` | `int32_data` (one packed byte each: four elements) |
//!
//! or `raw_data` (little-endian bytes, row-major) for any dtype, or external data
//! (`data_location = EXTERNAL`, see [`super::external`]). Exactly one of these may hold
//! the data; a tensor with no elements may have none.
//!
//! # Packed 4- and 2-bit types
//!
//! ONNX stores `UINT4`, `INT4` and `FLOAT4E2M1` two to a byte (element `2i` in the low
//! nibble of byte `i`, element `2i + 1` in the high nibble) and `UINT2` and `INT2` four to
//! a byte (element `4i + j` in bits `2j..2j + 2`), in `raw_data`, external data and
//! `int32_data` alike; the last byte is padded. LightOS keeps one element per byte (see
//! [`lightos_ir::dtype`]), so these are unpacked here ([`unpack_sub_byte`]): `INT4` and
//! `INT2` are sign-extended, the others kept as their code. [`pack_sub_byte`] is the
//! inverse. Padding bits are ignored.
//!
//! Checks: the dtype must have a LightOS [`DType`]; dimensions must be non-negative and
//! their element count and byte size must not overflow; the data must have exactly the
//! size the shape needs; narrow integers in `int32_data` (and `UINT32` values in
//! `uint64_data`) must fit their dtype. Booleans are normalised to `0`/`1` (any non-zero
//! value is true, as ONNX Runtime and NumPy read them).

use std::path::{Path, PathBuf};

use lightos_ir::shape::{byte_size, format_dims, num_elements};
use lightos_ir::{DType, ShapeError, Tensor};

use super::error::{tensor_label, OnnxError};
use super::external::{read_slice, resolve_external};
use super::proto::tensor_proto::{DataLocation, DataType};
use super::proto::TensorProto;

/// What converting a tensor needs besides the tensor: where the model lives.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TensorContext {
    /// The folder of the model file, against which external data locations are resolved.
    /// `None` for a model given as bytes: then external data is refused.
    pub model_dir: Option<PathBuf>,
}

impl TensorContext {
    /// A context for a model that lives in `model_dir`.
    pub fn new(model_dir: impl Into<PathBuf>) -> TensorContext {
        TensorContext {
            model_dir: Some(model_dir.into()),
        }
    }

    /// A context for a model given as bytes, with no folder: external data is refused.
    pub fn in_memory() -> TensorContext {
        TensorContext { model_dir: None }
    }

    /// The model's folder, if any.
    pub fn model_dir(&self) -> Option<&Path> {
        self.model_dir.as_deref()
    }
}

/// The LightOS dtype of an ONNX `DataType` code, or `None` where there is none
/// (`STRING`, complex, the 6-bit floats, unknown codes).
pub fn dtype_from_onnx(code: i32) -> Option<DType> {
    Some(match DataType::try_from(code).ok()? {
        DataType::Float => DType::F32,
        DataType::Uint8 => DType::U8,
        DataType::Int8 => DType::I8,
        DataType::Uint16 => DType::U16,
        DataType::Int16 => DType::I16,
        DataType::Int32 => DType::I32,
        DataType::Int64 => DType::I64,
        DataType::Bool => DType::Bool,
        DataType::Float16 => DType::F16,
        DataType::Double => DType::F64,
        DataType::Uint32 => DType::U32,
        DataType::Uint64 => DType::U64,
        DataType::Bfloat16 => DType::BF16,
        DataType::Float8e4m3fn => DType::F8E4M3FN,
        DataType::Float8e4m3fnuz => DType::F8E4M3FNUZ,
        DataType::Float8e5m2 => DType::F8E5M2,
        DataType::Float8e5m2fnuz => DType::F8E5M2FNUZ,
        DataType::Float8e8m0 => DType::F8E8M0,
        DataType::Uint4 => DType::U4,
        DataType::Int4 => DType::I4,
        DataType::Float4e2m1 => DType::F4E2M1,
        DataType::Uint2 => DType::U2,
        DataType::Int2 => DType::I2,
        _ => return None,
    })
}

/// The ONNX `DataType` code of a LightOS dtype.
pub fn dtype_to_onnx(dtype: DType) -> i32 {
    let t = match dtype {
        DType::F32 => DataType::Float,
        DType::F16 => DataType::Float16,
        DType::BF16 => DataType::Bfloat16,
        DType::F64 => DataType::Double,
        DType::I8 => DataType::Int8,
        DType::I16 => DataType::Int16,
        DType::I32 => DataType::Int32,
        DType::I64 => DataType::Int64,
        DType::U8 => DataType::Uint8,
        DType::U16 => DataType::Uint16,
        DType::U32 => DataType::Uint32,
        DType::U64 => DataType::Uint64,
        DType::Bool => DataType::Bool,
        DType::F8E4M3FN => DataType::Float8e4m3fn,
        DType::F8E4M3FNUZ => DataType::Float8e4m3fnuz,
        DType::F8E5M2 => DataType::Float8e5m2,
        DType::F8E5M2FNUZ => DataType::Float8e5m2fnuz,
        DType::F8E8M0 => DataType::Float8e8m0,
        DType::U4 => DataType::Uint4,
        DType::I4 => DataType::Int4,
        DType::F4E2M1 => DataType::Float4e2m1,
        DType::U2 => DataType::Uint2,
        DType::I2 => DataType::Int2,
    };
    t as i32
}

/// The ONNX name of a `DataType` code, e.g. `FLOAT16`; `UNKNOWN` for codes ONNX does not
/// define.
pub fn onnx_type_name(code: i32) -> &'static str {
    DataType::try_from(code).map_or("UNKNOWN", DataType::as_str_name)
}

/// The LightOS dtype of an ONNX `DataType` code, or [`OnnxError::UnsupportedDType`]
/// naming `tensor` (a tensor or value name).
pub fn dtype_from_onnx_for(tensor: &str, code: i32) -> Result<DType, OnnxError> {
    dtype_from_onnx(code).ok_or_else(|| OnnxError::UnsupportedDType {
        tensor: tensor_label(tensor),
        data_type: code,
        type_name: onnx_type_name(code),
    })
}

/// The typed field that holds data of `dtype`.
fn typed_field(dtype: DType) -> &'static str {
    match dtype {
        DType::F32 => "float_data",
        DType::I8
        | DType::I16
        | DType::I32
        | DType::U8
        | DType::U16
        | DType::Bool
        | DType::F16
        | DType::BF16
        | DType::F8E4M3FN
        | DType::F8E4M3FNUZ
        | DType::F8E5M2
        | DType::F8E5M2FNUZ
        | DType::F8E8M0
        | DType::U4
        | DType::I4
        | DType::F4E2M1
        | DType::U2
        | DType::I2 => "int32_data",
        DType::I64 => "int64_data",
        DType::F64 => "double_data",
        DType::U32 | DType::U64 => "uint64_data",
    }
}

/// How many elements of `dtype` ONNX packs into one byte: 2 for the 4-bit types, 4 for
/// the 2-bit types, 1 otherwise.
fn per_byte(dtype: DType) -> usize {
    match dtype.bits() {
        4 => 2,
        2 => 4,
        _ => 1,
    }
}

/// The number of bytes ONNX stores `elements` elements of `dtype` in (packed for the 4-
/// and 2-bit types), or `None` on overflow.
fn stored_bytes(dtype: DType, elements: usize) -> Option<usize> {
    match per_byte(dtype) {
        1 => elements.checked_mul(dtype.size_bytes()),
        k => Some(elements.div_ceil(k)),
    }
}

/// Unpacks `count` elements of the 4- or 2-bit type `dtype` from ONNX's packed bytes
/// into one byte per element (`INT4` and `INT2` sign-extended); other dtypes are copied.
/// Bytes past the needed ones and padding bits are ignored; missing bytes read as zero.
pub fn unpack_sub_byte(dtype: DType, packed: &[u8], count: usize) -> Vec<u8> {
    let k = per_byte(dtype);
    if k == 1 {
        return packed.iter().copied().take(count).collect();
    }
    let bits = 8 / k;
    let mask = (1u8 << bits) - 1;
    (0..count)
        .map(|i| {
            let byte = packed.get(i / k).copied().unwrap_or(0);
            let v = (byte >> (bits * (i % k))) & mask;
            if dtype.is_signed_int() {
                // Sign-extend the field into an i8.
                (((v << (8 - bits)) as i8) >> (8 - bits)) as u8
            } else {
                v
            }
        })
        .collect()
}

/// Packs the one-byte-per-element data of a 4- or 2-bit `dtype` the way ONNX stores it
/// (the inverse of [`unpack_sub_byte`], padding with zero bits); other dtypes are copied.
pub fn pack_sub_byte(dtype: DType, bytes: &[u8]) -> Vec<u8> {
    let k = per_byte(dtype);
    if k == 1 {
        return bytes.to_vec();
    }
    let bits = 8 / k;
    let mask = (1u8 << bits) - 1;
    bytes
        .chunks(k)
        .map(|chunk| {
            chunk
                .iter()
                .enumerate()
                .fold(0u8, |acc, (j, &v)| acc | ((v & mask) << (bits * j)))
        })
        .collect()
}

/// The fields of `proto` that hold inline data, by name.
fn inline_fields(proto: &TensorProto) -> Vec<&'static str> {
    [
        ("raw_data", !proto.raw_data.is_empty()),
        ("float_data", !proto.float_data.is_empty()),
        ("int32_data", !proto.int32_data.is_empty()),
        ("string_data", !proto.string_data.is_empty()),
        ("int64_data", !proto.int64_data.is_empty()),
        ("double_data", !proto.double_data.is_empty()),
        ("uint64_data", !proto.uint64_data.is_empty()),
    ]
    .into_iter()
    .filter_map(|(name, present)| present.then_some(name))
    .collect()
}

/// The tensor being converted, for building errors.
struct Target<'a> {
    name: String,
    dtype: DType,
    dims: &'a [usize],
    elements: usize,
}

impl Target<'_> {
    fn build(&self, bytes: &[u8]) -> Result<Tensor, OnnxError> {
        Tensor::from_bytes(self.dtype, self.dims.to_vec(), bytes).map_err(|source| OnnxError::Tensor {
            tensor: self.name.clone(),
            source,
        })
    }

    fn check_count(&self, field: &'static str, actual: usize) -> Result<(), OnnxError> {
        if actual == self.elements {
            return Ok(());
        }
        Err(OnnxError::ElementCount {
            tensor: self.name.clone(),
            dtype: self.dtype,
            dims: format_dims(self.dims),
            field,
            expected: self.elements,
            actual,
        })
    }

    fn out_of_range(&self, field: &'static str, value: impl Into<i128>) -> OnnxError {
        OnnxError::ValueOutOfRange {
            tensor: self.name.clone(),
            dtype: self.dtype,
            field,
            value: value.into(),
        }
    }

    /// Narrows `int32_data` values to `T`, checking the range.
    fn narrow<T: TryFrom<i32> + bytemuck::Pod>(&self, values: &[i32]) -> Result<Tensor, OnnxError> {
        let out = values
            .iter()
            .map(|&v| T::try_from(v).map_err(|_| self.out_of_range("int32_data", v)))
            .collect::<Result<Vec<T>, _>>()?;
        self.build(bytemuck::cast_slice(&out))
    }

    /// 16-bit float patterns from `int32_data`. Values must fit 16 bits, as unsigned
    /// (what ONNX writes) or sign-extended.
    fn half_bits(&self, values: &[i32]) -> Result<Tensor, OnnxError> {
        let out = values
            .iter()
            .map(|&v| {
                if (-32768..=65535).contains(&v) {
                    Ok(v as u16)
                } else {
                    Err(self.out_of_range("int32_data", v))
                }
            })
            .collect::<Result<Vec<u16>, _>>()?;
        self.build(bytemuck::cast_slice(&out))
    }

    /// Narrow types from `int32_data`: one byte each (an 8-bit code, or a packed byte of
    /// 4- or 2-bit elements), as unsigned (what ONNX writes) or sign-extended.
    fn narrow_bytes(&self, values: &[i32]) -> Result<Tensor, OnnxError> {
        let bytes = values
            .iter()
            .map(|&v| {
                if (-128..=255).contains(&v) {
                    Ok(v as u8)
                } else {
                    Err(self.out_of_range("int32_data", v))
                }
            })
            .collect::<Result<Vec<u8>, _>>()?;
        self.build(&unpack_sub_byte(self.dtype, &bytes, self.elements))
    }

    fn build_typed(&self, proto: &TensorProto, field: &'static str) -> Result<Tensor, OnnxError> {
        match field {
            "float_data" => {
                self.check_count(field, proto.float_data.len())?;
                self.build(bytemuck::cast_slice(&proto.float_data))
            }
            "int64_data" => {
                self.check_count(field, proto.int64_data.len())?;
                self.build(bytemuck::cast_slice(&proto.int64_data))
            }
            "double_data" => {
                self.check_count(field, proto.double_data.len())?;
                self.build(bytemuck::cast_slice(&proto.double_data))
            }
            "uint64_data" => {
                let values = &proto.uint64_data;
                self.check_count(field, values.len())?;
                match self.dtype {
                    DType::U64 => self.build(bytemuck::cast_slice(values)),
                    _ => {
                        let out = values
                            .iter()
                            .map(|&v| u32::try_from(v).map_err(|_| self.out_of_range(field, v)))
                            .collect::<Result<Vec<u32>, _>>()?;
                        self.build(bytemuck::cast_slice(&out))
                    }
                }
            }
            _ => {
                let values = &proto.int32_data;
                if self.dtype.is_narrow() {
                    let stored = stored_bytes(self.dtype, self.elements).unwrap_or(usize::MAX);
                    if values.len() != stored {
                        return Err(OnnxError::ElementCount {
                            tensor: self.name.clone(),
                            dtype: self.dtype,
                            dims: format_dims(self.dims),
                            field,
                            expected: stored,
                            actual: values.len(),
                        });
                    }
                    return self.narrow_bytes(values);
                }
                self.check_count(field, values.len())?;
                match self.dtype {
                    DType::I32 => self.build(bytemuck::cast_slice(values)),
                    DType::I16 => self.narrow::<i16>(values),
                    DType::I8 => self.narrow::<i8>(values),
                    DType::U16 => self.narrow::<u16>(values),
                    DType::U8 => self.narrow::<u8>(values),
                    DType::Bool => {
                        let out: Vec<u8> = values.iter().map(|&v| u8::from(v != 0)).collect();
                        self.build(&out)
                    }
                    _ => self.half_bits(values),
                }
            }
        }
    }

    /// Builds the tensor from little-endian bytes already checked for length (packed for
    /// the 4- and 2-bit types).
    fn build_le_bytes(&self, bytes: &[u8]) -> Result<Tensor, OnnxError> {
        if per_byte(self.dtype) > 1 {
            return self.build(&unpack_sub_byte(self.dtype, bytes, self.elements));
        }
        if self.dtype == DType::Bool && bytes.iter().any(|&b| b > 1) {
            let normal: Vec<u8> = bytes.iter().map(|&b| u8::from(b != 0)).collect();
            return self.build(&normal);
        }
        self.build(bytes)
    }
}

/// Converts an ONNX tensor to a LightOS tensor, reading external data relative to
/// `ctx.model_dir`.
///
/// See the [module documentation](self) for the encodings read and the checks made.
pub fn tensor_from_proto(proto: &TensorProto, ctx: &TensorContext) -> Result<Tensor, OnnxError> {
    let name = tensor_label(&proto.name);
    if let Some(seg) = &proto.segment {
        return Err(OnnxError::SegmentedTensor {
            tensor: name,
            begin: seg.begin,
            end: seg.end,
        });
    }
    let dtype = dtype_from_onnx_for(&proto.name, proto.data_type)?;
    if proto.dims.iter().any(|&d| d < 0) {
        return Err(OnnxError::NegativeDim {
            tensor: name,
            dims: proto.dims.clone(),
        });
    }
    let dims = proto
        .dims
        .iter()
        .map(|&d| usize::try_from(d))
        .collect::<Result<Vec<usize>, _>>()
        .map_err(|_| OnnxError::ShapeOverflow {
            tensor: name.clone(),
            source: ShapeError::Overflow(format!("{:?}", proto.dims)),
        })?;
    let shape_err = |source| OnnxError::ShapeOverflow {
        tensor: name.clone(),
        source,
    };
    let elements = num_elements(&dims).map_err(shape_err)?;
    byte_size(&dims, dtype.size_bytes()).map_err(shape_err)?;
    // The bytes ONNX stores: packed for the 4- and 2-bit types.
    let nbytes =
        stored_bytes(dtype, elements).ok_or_else(|| shape_err(ShapeError::Overflow(format!("{:?}", proto.dims))))?;
    let target = Target {
        name: name.clone(),
        dtype,
        dims: &dims,
        elements,
    };
    let mut fields = inline_fields(proto);

    let location = DataLocation::try_from(proto.data_location).map_err(|_| OnnxError::UnknownDataLocation {
        tensor: name.clone(),
        value: proto.data_location,
    })?;
    if location == DataLocation::External {
        if !fields.is_empty() {
            fields.push("external data");
            return Err(OnnxError::ConflictingData { tensor: name, fields });
        }
        let slice = resolve_external(proto, ctx.model_dir())?;
        if slice.length != nbytes as u64 {
            return Err(OnnxError::ExternalDataLength {
                tensor: name,
                location: slice.location,
                dtype,
                dims: format_dims(&dims),
                expected: nbytes as u64,
                actual: slice.length,
            });
        }
        let bytes = read_slice(&proto.name, &slice)?;
        return target.build_le_bytes(&bytes);
    }

    match fields.as_slice() {
        [] if elements == 0 => target.build(&[]),
        [] => Err(OnnxError::MissingData {
            tensor: name,
            dtype,
            dims: format_dims(&dims),
            elements,
        }),
        ["raw_data"] => {
            if proto.raw_data.len() != nbytes {
                return Err(OnnxError::RawDataLength {
                    tensor: name,
                    dtype,
                    dims: format_dims(&dims),
                    expected: nbytes,
                    actual: proto.raw_data.len(),
                });
            }
            target.build_le_bytes(&proto.raw_data)
        }
        [field] => {
            let expected_field = typed_field(dtype);
            if *field != expected_field {
                return Err(OnnxError::WrongDataField {
                    tensor: name,
                    dtype,
                    field,
                    expected_field,
                });
            }
            target.build_typed(proto, field)
        }
        _ => Err(OnnxError::ConflictingData { tensor: name, fields }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::onnx::proto::StringStringEntryProto;
    use half::{bf16, f16};
    use prost::Message;

    /// Encodes and decodes `proto` (as a reader of a file would see it), then converts.
    fn convert(proto: &TensorProto) -> Result<Tensor, OnnxError> {
        let bytes = proto.encode_to_vec();
        let decoded = TensorProto::decode(bytes.as_slice()).unwrap();
        assert_eq!(&decoded, proto);
        tensor_from_proto(&decoded, &TensorContext::in_memory())
    }

    fn proto(name: &str, dt: DataType, dims: &[i64]) -> TensorProto {
        TensorProto {
            name: name.into(),
            data_type: dt as i32,
            dims: dims.to_vec(),
            ..Default::default()
        }
    }

    #[test]
    fn float_data() {
        let mut p = proto("f", DataType::Float, &[2, 2]);
        p.float_data = vec![1.0, -2.5, 3.25, f32::MIN_POSITIVE];
        let t = convert(&p).unwrap();
        assert_eq!(t, Tensor::from_vec(vec![2, 2], p.float_data.clone()).unwrap());
    }

    #[test]
    fn int32_data_for_every_narrow_type() {
        let mut p = proto("i", DataType::Int32, &[3]);
        p.int32_data = vec![-7, 0, i32::MAX];
        assert_eq!(
            convert(&p).unwrap(),
            Tensor::from_vec(vec![3], vec![-7i32, 0, i32::MAX]).unwrap()
        );

        p.data_type = DataType::Int16 as i32;
        p.int32_data = vec![-32768, 5, 32767];
        assert_eq!(
            convert(&p).unwrap(),
            Tensor::from_vec(vec![3], vec![-32768i16, 5, 32767]).unwrap()
        );

        p.data_type = DataType::Int8 as i32;
        p.int32_data = vec![-128, 1, 127];
        assert_eq!(
            convert(&p).unwrap(),
            Tensor::from_vec(vec![3], vec![-128i8, 1, 127]).unwrap()
        );

        p.data_type = DataType::Uint16 as i32;
        p.int32_data = vec![0, 1, 65535];
        assert_eq!(
            convert(&p).unwrap(),
            Tensor::from_vec(vec![3], vec![0u16, 1, 65535]).unwrap()
        );

        p.data_type = DataType::Uint8 as i32;
        p.int32_data = vec![0, 128, 255];
        assert_eq!(
            convert(&p).unwrap(),
            Tensor::from_vec(vec![3], vec![0u8, 128, 255]).unwrap()
        );

        p.data_type = DataType::Bool as i32;
        p.int32_data = vec![0, 1, 2];
        assert_eq!(
            convert(&p).unwrap(),
            Tensor::from_bools(vec![3], &[false, true, true]).unwrap()
        );
    }

    #[test]
    fn narrow_values_out_of_range_are_refused() {
        let mut p = proto("n", DataType::Int8, &[2]);
        p.int32_data = vec![1, 128];
        let err = convert(&p).unwrap_err();
        assert!(
            matches!(
                err,
                OnnxError::ValueOutOfRange {
                    value: 128,
                    dtype: DType::I8,
                    ..
                }
            ),
            "{err}"
        );
        let mut p = proto("u", DataType::Uint32, &[1]);
        p.uint64_data = vec![u64::from(u32::MAX) + 1];
        let err = convert(&p).unwrap_err();
        assert!(
            matches!(err, OnnxError::ValueOutOfRange { dtype: DType::U32, .. }),
            "{err}"
        );
    }

    #[test]
    fn half_floats_from_bit_patterns() {
        let vals = [1.5f32, -2.0, 65504.0];
        let mut p = proto("h", DataType::Float16, &[3]);
        p.int32_data = vals.iter().map(|&v| i32::from(f16::from_f32(v).to_bits())).collect();
        let t = convert(&p).unwrap();
        assert_eq!(t.dtype(), DType::F16);
        assert_eq!(t.to_f64_vec(), vec![1.5, -2.0, 65504.0]);

        let mut p = proto("b", DataType::Bfloat16, &[3]);
        p.int32_data = vals.iter().map(|&v| i32::from(bf16::from_f32(v).to_bits())).collect();
        let t = convert(&p).unwrap();
        assert_eq!(t.dtype(), DType::BF16);
        assert_eq!(t.as_slice::<bf16>().unwrap(), vals.map(bf16::from_f32).as_slice());

        p.int32_data[0] = 70000;
        assert!(matches!(convert(&p).unwrap_err(), OnnxError::ValueOutOfRange { .. }));
    }

    #[test]
    fn int64_double_uint64_data() {
        let mut p = proto("l", DataType::Int64, &[2]);
        p.int64_data = vec![i64::MIN, 42];
        assert_eq!(
            convert(&p).unwrap(),
            Tensor::from_vec(vec![2], vec![i64::MIN, 42]).unwrap()
        );

        let mut p = proto("d", DataType::Double, &[1, 2]);
        p.double_data = vec![std::f64::consts::PI, -0.0];
        let t = convert(&p).unwrap();
        assert_eq!(
            t,
            Tensor::from_vec(vec![1, 2], vec![std::f64::consts::PI, -0.0]).unwrap()
        );

        let mut p = proto("u64", DataType::Uint64, &[2]);
        p.uint64_data = vec![u64::MAX, 3];
        assert_eq!(
            convert(&p).unwrap(),
            Tensor::from_vec(vec![2], vec![u64::MAX, 3]).unwrap()
        );

        let mut p = proto("u32", DataType::Uint32, &[2]);
        p.uint64_data = vec![u64::from(u32::MAX), 3];
        assert_eq!(
            convert(&p).unwrap(),
            Tensor::from_vec(vec![2], vec![u32::MAX, 3]).unwrap()
        );
    }

    #[test]
    fn raw_data_for_every_dtype() {
        for code in 0..=30 {
            let Some(dtype) = dtype_from_onnx(code) else {
                continue;
            };
            assert_eq!(dtype_to_onnx(dtype), code);
            if per_byte(dtype) > 1 {
                continue; // packed, see `packed_sub_byte_types`
            }
            let n = 6 * dtype.size_bytes();
            let bytes: Vec<u8> = (0..n)
                .map(|i| {
                    if dtype == DType::Bool {
                        (i % 2) as u8
                    } else {
                        (i * 37 % 251) as u8
                    }
                })
                .collect();
            let mut p = proto("r", DataType::try_from(code).unwrap(), &[2, 3]);
            p.raw_data = bytes.clone();
            let t = convert(&p).unwrap();
            assert_eq!(t, Tensor::from_bytes(dtype, vec![2, 3], &bytes).unwrap(), "{dtype}");
        }
        // Little-endian: 1.0f32 is 00 00 80 3f.
        let mut p = proto("one", DataType::Float, &[]);
        p.raw_data = vec![0, 0, 0x80, 0x3f];
        assert_eq!(convert(&p).unwrap().as_slice::<f32>().unwrap(), &[1.0]);
    }

    #[test]
    fn packed_sub_byte_types() {
        // Five int4 elements [1, -2, 7, -8, 3]: nibbles 1, e, 7, 8, 3.
        let mut p = proto("i4", DataType::Int4, &[5]);
        p.raw_data = vec![0xE1, 0x87, 0x03];
        let t = convert(&p).unwrap();
        assert_eq!(t.dtype(), DType::I4);
        assert_eq!(t.to_i64_vec(), Some(vec![1, -2, 7, -8, 3]));
        assert_eq!(pack_sub_byte(DType::I4, t.bytes()), p.raw_data);
        // The same bytes in int32_data.
        p.raw_data.clear();
        p.int32_data = vec![0xE1, 0x87, 0x03];
        assert_eq!(convert(&p).unwrap(), t);
        // uint4 and float4e2m1 keep the nibble.
        let mut p = proto("u4", DataType::Uint4, &[3]);
        p.raw_data = vec![0xF0, 0x0A];
        assert_eq!(convert(&p).unwrap().bytes(), &[0, 15, 10]);
        let mut p = proto("f4", DataType::Float4e2m1, &[2]);
        p.raw_data = vec![0x9F];
        assert_eq!(convert(&p).unwrap().to_f64_vec(), vec![-6.0, -0.5]);
        // Two-bit types: four to a byte, low bits first.
        let mut p = proto("i2", DataType::Int2, &[2, 3]);
        p.raw_data = vec![0b1110_0100, 0b0000_0110];
        let t = convert(&p).unwrap();
        assert_eq!(t.to_i64_vec(), Some(vec![0, 1, -2, -1, -2, 1]));
        assert_eq!(pack_sub_byte(DType::I2, t.bytes()), p.raw_data);
        let mut p = proto("u2", DataType::Uint2, &[5]);
        p.int32_data = vec![0b1110_0100, 3];
        assert_eq!(convert(&p).unwrap().bytes(), &[0, 1, 2, 3, 3]);
        // The packed length is checked.
        let mut p = proto("short", DataType::Uint4, &[5]);
        p.raw_data = vec![0; 2];
        assert!(matches!(
            convert(&p).unwrap_err(),
            OnnxError::RawDataLength {
                expected: 3,
                actual: 2,
                ..
            }
        ));
        let mut p = proto("short", DataType::Uint2, &[5]);
        p.int32_data = vec![0; 1];
        assert!(matches!(
            convert(&p).unwrap_err(),
            OnnxError::ElementCount {
                expected: 2,
                actual: 1,
                ..
            }
        ));
    }

    #[test]
    fn float8_codes() {
        let mut p = proto("f8", DataType::Float8e4m3fn, &[3]);
        p.int32_data = vec![0x38, 0xC0, 0x7F];
        let t = convert(&p).unwrap();
        assert_eq!((t.dtype(), t.bytes()), (DType::F8E4M3FN, &[0x38u8, 0xC0, 0x7F][..]));
        p.int32_data = vec![0x38, 256, 0];
        assert!(matches!(
            convert(&p).unwrap_err(),
            OnnxError::ValueOutOfRange { value: 256, .. }
        ));
        let mut p = proto("e8", DataType::Float8e8m0, &[2]);
        p.raw_data = vec![127, 128];
        assert_eq!(convert(&p).unwrap().to_f64_vec(), vec![1.0, 2.0]);
    }

    #[test]
    fn raw_bools_are_normalised() {
        let mut p = proto("b", DataType::Bool, &[3]);
        p.raw_data = vec![0, 7, 1];
        assert_eq!(convert(&p).unwrap().as_bool_bytes().unwrap(), &[0, 1, 1]);
    }

    #[test]
    fn raw_data_length_mismatch() {
        let mut p = proto("w", DataType::Float, &[2, 3]);
        p.raw_data = vec![0; 20];
        let err = convert(&p).unwrap_err();
        match &err {
            OnnxError::RawDataLength {
                tensor,
                expected,
                actual,
                ..
            } => {
                assert_eq!((tensor.as_str(), *expected, *actual), ("w", 24, 20));
            }
            other => panic!("unexpected {other}"),
        }
        let msg = err.to_string();
        assert!(msg.contains("`w`") && msg.contains("24") && msg.contains("20"), "{msg}");
    }

    #[test]
    fn typed_count_mismatch() {
        let mut p = proto("w", DataType::Float, &[3]);
        p.float_data = vec![1.0, 2.0];
        let err = convert(&p).unwrap_err();
        assert!(
            matches!(
                err,
                OnnxError::ElementCount {
                    field: "float_data",
                    expected: 3,
                    actual: 2,
                    ..
                }
            ),
            "{err}"
        );
        let mut p = proto("w", DataType::Int64, &[1]);
        p.int64_data = vec![1, 2];
        assert!(matches!(convert(&p).unwrap_err(), OnnxError::ElementCount { .. }));
    }

    #[test]
    fn bad_dtypes_and_dims() {
        for (dt, name) in [
            (DataType::String, "STRING"),
            (DataType::Complex64, "COMPLEX64"),
            (DataType::Float6e2m3, "FLOAT6E2M3"),
        ] {
            let p = proto("s", dt, &[1]);
            let err = convert(&p).unwrap_err();
            assert!(
                matches!(&err, OnnxError::UnsupportedDType { tensor, type_name, .. } if tensor == "s" && *type_name == name),
                "{err}"
            );
            assert!(err.to_string().contains("`s`"));
        }
        let mut p = proto("x", DataType::Float, &[1]);
        p.data_type = 999;
        assert!(matches!(
            convert(&p).unwrap_err(),
            OnnxError::UnsupportedDType {
                type_name: "UNKNOWN",
                ..
            }
        ));

        let p = proto("neg", DataType::Float, &[2, -1]);
        assert!(matches!(convert(&p).unwrap_err(), OnnxError::NegativeDim { .. }));

        let mut p = proto("big", DataType::Float, &[i64::MAX, i64::MAX]);
        p.raw_data = vec![0; 4];
        assert!(matches!(convert(&p).unwrap_err(), OnnxError::ShapeOverflow { .. }));
        // Element count fits but the byte size does not.
        let p = proto("big", DataType::Double, &[1 << 62]);
        assert!(matches!(convert(&p).unwrap_err(), OnnxError::ShapeOverflow { .. }));
    }

    #[test]
    fn missing_conflicting_and_wrong_fields() {
        let p = proto("m", DataType::Float, &[2]);
        assert!(matches!(
            convert(&p).unwrap_err(),
            OnnxError::MissingData { elements: 2, .. }
        ));

        let empty = proto("e", DataType::Float, &[0, 3]);
        let t = convert(&empty).unwrap();
        assert_eq!((t.dims(), t.len()), (&[0usize, 3][..], 0));

        let mut p = proto("c", DataType::Float, &[1]);
        p.float_data = vec![1.0];
        p.raw_data = vec![0; 4];
        let err = convert(&p).unwrap_err();
        assert!(
            matches!(&err, OnnxError::ConflictingData { fields, .. } if fields == &["raw_data", "float_data"]),
            "{err}"
        );

        let mut p = proto("w", DataType::Float, &[1]);
        p.int64_data = vec![1];
        let err = convert(&p).unwrap_err();
        assert!(
            matches!(
                err,
                OnnxError::WrongDataField {
                    field: "int64_data",
                    expected_field: "float_data",
                    ..
                }
            ),
            "{err}"
        );

        let mut p = proto("seg", DataType::Float, &[1]);
        p.float_data = vec![1.0];
        p.segment = Some(crate::onnx::proto::tensor_proto::Segment { begin: 0, end: 1 });
        assert!(matches!(convert(&p).unwrap_err(), OnnxError::SegmentedTensor { .. }));

        let mut p = proto("loc", DataType::Float, &[1]);
        p.float_data = vec![1.0];
        p.data_location = 5;
        assert!(matches!(
            tensor_from_proto(&p, &TensorContext::in_memory()).unwrap_err(),
            OnnxError::UnknownDataLocation { value: 5, .. }
        ));
    }

    fn external(name: &str, dims: &[i64], entries: &[(&str, &str)]) -> TensorProto {
        let mut p = proto(name, DataType::Float, dims);
        p.data_location = DataLocation::External as i32;
        p.external_data = entries
            .iter()
            .map(|(k, v)| StringStringEntryProto {
                key: k.to_string(),
                value: v.to_string(),
            })
            .collect();
        p
    }

    #[test]
    fn external_data_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let values = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
        let mut file = vec![0xAAu8; 8];
        file.extend_from_slice(bytemuck::cast_slice(&values));
        std::fs::write(dir.path().join("weights.bin"), &file).unwrap();
        let ctx = TensorContext::new(dir.path());

        let p = external(
            "w",
            &[2, 3],
            &[("location", "weights.bin"), ("offset", "8"), ("length", "24")],
        );
        let decoded = TensorProto::decode(p.encode_to_vec().as_slice()).unwrap();
        let t = tensor_from_proto(&decoded, &ctx).unwrap();
        assert_eq!(t, Tensor::from_vec(vec![2, 3], values.to_vec()).unwrap());

        // Length defaults to the rest of the file.
        let p = external("w", &[2, 3], &[("location", "weights.bin"), ("offset", "8")]);
        assert_eq!(tensor_from_proto(&p, &ctx).unwrap(), t);

        // A range of the wrong size for the shape.
        let p = external("w", &[2, 3], &[("location", "weights.bin")]);
        let err = tensor_from_proto(&p, &ctx).unwrap_err();
        assert!(
            matches!(
                err,
                OnnxError::ExternalDataLength {
                    expected: 24,
                    actual: 32,
                    ..
                }
            ),
            "{err}"
        );

        // Unsafe locations are refused through this entry point too.
        let p = external("w", &[2, 3], &[("location", "../weights.bin")]);
        assert!(matches!(
            tensor_from_proto(&p, &ctx).unwrap_err(),
            OnnxError::ExternalParentDir { .. }
        ));
        let p = external(
            "w",
            &[2, 3],
            &[("location", "weights.bin"), ("offset", "8"), ("length", "100")],
        );
        assert!(matches!(
            tensor_from_proto(&p, &ctx).unwrap_err(),
            OnnxError::ExternalRange { .. }
        ));

        // No folder to resolve against.
        let p = external("w", &[2, 3], &[("location", "weights.bin")]);
        let err = tensor_from_proto(&p, &TensorContext::in_memory()).unwrap_err();
        assert!(matches!(err, OnnxError::ExternalNoModelDir { .. }), "{err}");

        // External and inline data at once.
        let mut p = external("w", &[1], &[("location", "weights.bin")]);
        p.float_data = vec![1.0];
        assert!(matches!(
            tensor_from_proto(&p, &ctx).unwrap_err(),
            OnnxError::ConflictingData { .. }
        ));
    }
}
