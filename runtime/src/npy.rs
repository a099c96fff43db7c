//! NumPy `.npy` files: reading them into [`Tensor`]s and writing tensors as `.npy`.
//!
//! Supported: format versions 1.0, 2.0 and 3.0; C-order (row-major) arrays; little-endian
//! data; the dtypes `<f2 <f4 <f8 |i1 <i2 <i4 <i8 |u1 <u2 <u4 <u8 |b1` (one-byte types with
//! any byte-order mark); any rank, scalars (`()`) included.
//!
//! Refused, each with its own error: big-endian data, Fortran-order arrays, structured,
//! string, complex, object and date dtypes, and (when writing) bfloat16, which NumPy has no
//! dtype for. Bytes after the array data are refused too, since NumPy never writes them.
//!
//! The header is parsed by a small parser for the Python literal subset NumPy writes
//! (dicts, tuples, lists, strings, integers, `True`, `False`, `None`); no input makes it
//! panic.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use lightos_ir::{DType, Tensor};

/// The first 6 bytes of every `.npy` file.
pub const NPY_MAGIC: [u8; 6] = *b"\x93NUMPY";

/// Errors reading or writing `.npy` files.
#[derive(Debug, thiserror::Error)]
pub enum NpyError {
    /// The operating system refused an operation on a file.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done, e.g. `read`.
        action: &'static str,
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// An error about the contents of a named file; see [`NpyError::innermost`].
    #[error("{}: {source}", path.display())]
    InFile {
        /// The file concerned.
        path: PathBuf,
        /// What is wrong with it.
        source: Box<NpyError>,
    },
    /// The data does not start with the `.npy` magic.
    #[error("not a NumPy .npy file (bad magic)")]
    NotNpy,
    /// The data ends before the header or the array data does.
    #[error("truncated .npy file: the {what} needs {expected} bytes but only {actual} are present")]
    Truncated {
        /// What was cut: `preamble`, `header` or `array data`.
        what: &'static str,
        /// The bytes needed.
        expected: u64,
        /// The bytes present.
        actual: u64,
    },
    /// A format version other than 1.0, 2.0 and 3.0.
    #[error(".npy format version {major}.{minor} is not supported (only 1.0, 2.0 and 3.0 are)")]
    UnsupportedVersion {
        /// Major version.
        major: u8,
        /// Minor version.
        minor: u8,
    },
    /// The header dictionary cannot be parsed or lacks a required entry.
    #[error("malformed .npy header: {0}")]
    BadHeader(String),
    /// A dtype with no LightOS equivalent.
    #[error("unsupported .npy dtype {0}; supported are <f2 <f4 <f8 |i1 <i2 <i4 <i8 |u1 <u2 <u4 <u8 |b1")]
    UnsupportedDType(String),
    /// Big-endian data.
    #[error(
        "big-endian .npy data (dtype '{0}') is not supported; save little-endian data, \
         e.g. with arr.astype(arr.dtype.newbyteorder('<'))"
    )]
    BigEndian(String),
    /// A Fortran-order (column-major) array.
    #[error(
        "Fortran-order (column-major) .npy arrays are not supported; save a C-order array, \
         e.g. np.save(path, np.ascontiguousarray(arr))"
    )]
    FortranOrder,
    /// Bytes after the array data.
    #[error(".npy file has {extra} bytes after the array data")]
    TrailingBytes {
        /// How many.
        extra: u64,
    },
    /// A tensor whose dtype NumPy cannot represent, when writing.
    #[error("{0} tensors cannot be saved as .npy: NumPy has no {0} dtype; convert to f32 first")]
    NoNumpyDType(DType),
}

impl NpyError {
    /// The error without the [`NpyError::InFile`] wrapper, for matching on the cause.
    pub fn innermost(&self) -> &NpyError {
        match self {
            NpyError::InFile { source, .. } => source.innermost(),
            other => other,
        }
    }

    fn in_file(self, path: &Path) -> NpyError {
        match self {
            e @ (NpyError::Io { .. } | NpyError::InFile { .. }) => e,
            e => NpyError::InFile {
                path: path.to_path_buf(),
                source: Box::new(e),
            },
        }
    }
}

/// Reads the `.npy` file at `path`.
pub fn read_npy(path: impl AsRef<Path>) -> Result<Tensor, NpyError> {
    let path = path.as_ref();
    let bytes = fs::read(path).map_err(|source| NpyError::Io {
        action: "read",
        path: path.to_path_buf(),
        source,
    })?;
    parse_npy(&bytes).map_err(|e| e.in_file(path))
}

/// Writes `tensor` to `path` as a `.npy` file (see [`encode_npy`]).
pub fn write_npy(path: impl AsRef<Path>, tensor: &Tensor) -> Result<(), NpyError> {
    let path = path.as_ref();
    let bytes = encode_npy(tensor)?;
    fs::write(path, bytes).map_err(|source| NpyError::Io {
        action: "write",
        path: path.to_path_buf(),
        source,
    })
}

/// The `.npy` descr of a dtype, or `None` for bfloat16 and the narrow ONNX types
/// (float8, float4, 4- and 2-bit integers), which NumPy has no dtype for.
pub fn npy_descr(dtype: DType) -> Option<&'static str> {
    Some(match dtype {
        DType::F16 => "<f2",
        DType::F32 => "<f4",
        DType::F64 => "<f8",
        DType::I8 => "|i1",
        DType::I16 => "<i2",
        DType::I32 => "<i4",
        DType::I64 => "<i8",
        DType::U8 => "|u1",
        DType::U16 => "<u2",
        DType::U32 => "<u4",
        DType::U64 => "<u8",
        DType::Bool => "|b1",
        DType::BF16
        | DType::F8E4M3FN
        | DType::F8E4M3FNUZ
        | DType::F8E5M2
        | DType::F8E5M2FNUZ
        | DType::F8E8M0
        | DType::U4
        | DType::I4
        | DType::F4E2M1
        | DType::U2
        | DType::I2 => return None,
    })
}

/// Encodes `tensor` as a `.npy` file: version 1.0 when the header fits (it always does below
/// rank ~6000), else 2.0; C order; the header padded so the data starts at a multiple of 64.
/// Fails only for bfloat16 and the narrow ONNX types (see [`npy_descr`]).
pub fn encode_npy(tensor: &Tensor) -> Result<Vec<u8>, NpyError> {
    let descr = npy_descr(tensor.dtype()).ok_or(NpyError::NoNumpyDType(tensor.dtype()))?;
    let shape = match tensor.dims() {
        [] => "()".to_string(),
        [d] => format!("({d},)"),
        dims => format!(
            "({})",
            dims.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")
        ),
    };
    let dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    // Preamble: magic, 2 version bytes, then a 2-byte (v1) or 4-byte (v2) header length.
    // The header is the dict, space padding and a newline, ending at a multiple of 64.
    let layout = |len_bytes: usize| {
        let preamble = NPY_MAGIC.len() + 2 + len_bytes;
        let total = (preamble + dict.len() + 1).div_ceil(64) * 64;
        (total, total - preamble)
    };
    let (major, (total, header_len)) = match layout(2) {
        v1 if v1.1 <= usize::from(u16::MAX) => (1u8, v1),
        _ => (2u8, layout(4)),
    };
    let mut out = Vec::with_capacity(total + tensor.bytes().len());
    out.extend_from_slice(&NPY_MAGIC);
    out.extend_from_slice(&[major, 0]);
    if major == 1 {
        out.extend_from_slice(&(header_len as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&(header_len as u32).to_le_bytes());
    }
    out.extend_from_slice(dict.as_bytes());
    out.resize(total - 1, b' ');
    out.push(b'\n');
    out.extend_from_slice(tensor.bytes());
    Ok(out)
}

/// Parses a whole `.npy` file held in memory.
pub fn parse_npy(bytes: &[u8]) -> Result<Tensor, NpyError> {
    let n = bytes.len().min(NPY_MAGIC.len());
    if bytes[..n] != NPY_MAGIC[..n] {
        return Err(NpyError::NotNpy);
    }
    let truncated = |what, expected: usize| NpyError::Truncated {
        what,
        expected: expected as u64,
        actual: bytes.len() as u64,
    };
    if bytes.len() < 8 {
        return Err(truncated("preamble", 10));
    }
    let (major, minor) = (bytes[6], bytes[7]);
    let len_bytes = match (major, minor) {
        (1, 0) => 2,
        (2, 0) | (3, 0) => 4,
        _ => return Err(NpyError::UnsupportedVersion { major, minor }),
    };
    let preamble = 8 + len_bytes;
    if bytes.len() < preamble {
        return Err(truncated("preamble", preamble));
    }
    let header_len = if len_bytes == 2 {
        u16::from_le_bytes([bytes[8], bytes[9]]) as usize
    } else {
        u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize
    };
    let data_start = preamble
        .checked_add(header_len)
        .ok_or_else(|| truncated("header", usize::MAX))?;
    if bytes.len() < data_start {
        return Err(truncated("header", data_start));
    }
    let header = std::str::from_utf8(&bytes[preamble..data_start])
        .map_err(|_| NpyError::BadHeader("the header is not valid UTF-8 text".into()))?;
    let (dtype, dims) = parse_header(header)?;

    let elements = dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    let data_len = elements
        .and_then(|n| n.checked_mul(dtype.size_bytes()))
        .ok_or_else(|| NpyError::BadHeader(format!("the shape {dims:?} is too large")))?;
    let data = &bytes[data_start..];
    if data.len() < data_len {
        return Err(NpyError::Truncated {
            what: "array data",
            expected: data_len as u64,
            actual: data.len() as u64,
        });
    }
    if data.len() > data_len {
        return Err(NpyError::TrailingBytes {
            extra: (data.len() - data_len) as u64,
        });
    }
    let tensor = if dtype == DType::Bool {
        // NumPy booleans are 0 or 1; make sure of it, since LightOS relies on that.
        let normalized: Vec<u8> = data.iter().map(|&b| u8::from(b != 0)).collect();
        Tensor::from_bytes(dtype, dims, &normalized)
    } else {
        Tensor::from_bytes(dtype, dims, data)
    };
    tensor.map_err(|e| NpyError::BadHeader(e.to_string()))
}

/// Reads the dtype and dimensions from a header dictionary.
fn parse_header(header: &str) -> Result<(DType, Vec<usize>), NpyError> {
    let bad = |m: String| NpyError::BadHeader(m);
    let value = Parser::new(header).parse_all()?;
    let Value::Dict(entries) = value else {
        return Err(bad(format!("expected a dictionary, found {}", value.kind())));
    };
    let (mut descr, mut fortran, mut shape) = (None, None, None);
    for (key, value) in entries {
        let Value::Str(key) = key else {
            return Err(bad(format!("a dictionary key is {}, not a string", key.kind())));
        };
        let slot = match key.as_str() {
            "descr" => &mut descr,
            "fortran_order" => &mut fortran,
            "shape" => &mut shape,
            other => return Err(bad(format!("unexpected key '{other}'"))),
        };
        if slot.replace(value).is_some() {
            return Err(bad(format!("the key '{key}' appears twice")));
        }
    }
    let missing = |k: &str| bad(format!("the key '{k}' is missing"));
    let descr = match descr.ok_or_else(|| missing("descr"))? {
        Value::Str(s) => s,
        Value::List(_) => {
            return Err(NpyError::UnsupportedDType(
                "(a structured dtype with named fields)".into(),
            ))
        }
        v => return Err(bad(format!("'descr' is {}, not a string", v.kind()))),
    };
    match fortran.ok_or_else(|| missing("fortran_order"))? {
        Value::Bool(false) => {}
        Value::Bool(true) => return Err(NpyError::FortranOrder),
        v => return Err(bad(format!("'fortran_order' is {}, not True or False", v.kind()))),
    }
    let dims = match shape.ok_or_else(|| missing("shape"))? {
        Value::Tuple(items) => items
            .into_iter()
            .map(|v| match v {
                Value::Int(n) => {
                    usize::try_from(n).map_err(|_| bad(format!("the dimension {n} in 'shape' is out of range")))
                }
                v => Err(bad(format!("'shape' holds {}, not an integer", v.kind()))),
            })
            .collect::<Result<Vec<_>, _>>()?,
        v => return Err(bad(format!("'shape' is {}, not a tuple", v.kind()))),
    };
    Ok((dtype_of_descr(&descr)?, dims))
}

/// The dtype a descr string names.
fn dtype_of_descr(descr: &str) -> Result<DType, NpyError> {
    let unsupported = || NpyError::UnsupportedDType(format!("'{descr}'"));
    let mut chars = descr.chars();
    let order = chars.next().ok_or_else(unsupported)?;
    let code = chars.as_str();
    let dtype = match code {
        "f2" => DType::F16,
        "f4" => DType::F32,
        "f8" => DType::F64,
        "i1" => DType::I8,
        "i2" => DType::I16,
        "i4" => DType::I32,
        "i8" => DType::I64,
        "u1" => DType::U8,
        "u2" => DType::U16,
        "u4" => DType::U32,
        "u8" => DType::U64,
        "b1" => DType::Bool,
        _ => return Err(unsupported()),
    };
    match order {
        // Byte order does not matter for one-byte types.
        '<' | '>' | '|' | '=' if dtype.size_bytes() == 1 => Ok(dtype),
        '<' => Ok(dtype),
        '=' if cfg!(target_endian = "little") => Ok(dtype),
        '>' => Err(NpyError::BigEndian(descr.to_string())),
        '=' => Err(NpyError::BigEndian(descr.to_string())),
        _ => Err(unsupported()),
    }
}

/// A Python literal, as far as `.npy` headers use them.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Str(String),
    Int(i128),
    Bool(bool),
    None,
    Tuple(Vec<Value>),
    List(Vec<Value>),
    Dict(Vec<(Value, Value)>),
}

impl Value {
    /// What the value is, for messages.
    fn kind(&self) -> &'static str {
        match self {
            Value::Str(_) => "a string",
            Value::Int(_) => "an integer",
            Value::Bool(_) => "a boolean",
            Value::None => "None",
            Value::Tuple(_) => "a tuple",
            Value::List(_) => "a list",
            Value::Dict(_) => "a dictionary",
        }
    }
}

/// Nesting deeper than this is refused, so garbage cannot exhaust the stack.
const MAX_DEPTH: usize = 32;

/// A recursive-descent parser for Python literals.
struct Parser<'s> {
    src: &'s str,
    pos: usize,
}

impl<'s> Parser<'s> {
    fn new(src: &'s str) -> Parser<'s> {
        Parser { src, pos: 0 }
    }

    fn error(&self, what: &str) -> NpyError {
        let context: String = self.src[self.pos..].chars().take(20).collect();
        if context.is_empty() {
            NpyError::BadHeader(format!("{what} at the end of the header"))
        } else {
            NpyError::BadHeader(format!("{what} at byte {} (near {context:?})", self.pos))
        }
    }

    /// One value followed only by whitespace.
    fn parse_all(mut self) -> Result<Value, NpyError> {
        let v = self.value(0)?;
        self.skip_ws();
        if self.pos != self.src.len() {
            return Err(self.error("unexpected text after the dictionary"));
        }
        Ok(v)
    }

    fn skip_ws(&mut self) {
        let rest = &self.src[self.pos..];
        self.pos += rest.len() - rest.trim_start().len();
    }

    fn peek(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn eat(&mut self, c: char) -> bool {
        self.skip_ws();
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, NpyError> {
        if depth > MAX_DEPTH {
            return Err(self.error("values nested too deeply"));
        }
        self.skip_ws();
        match self.peek() {
            Some('{') => {
                self.pos += 1;
                let mut entries = Vec::new();
                self.items('}', |p| {
                    let k = p.value(depth + 1)?;
                    if !p.eat(':') {
                        return Err(p.error("expected ':'"));
                    }
                    entries.push((k, p.value(depth + 1)?));
                    Ok(())
                })?;
                Ok(Value::Dict(entries))
            }
            Some('(') => {
                self.pos += 1;
                let mut items = Vec::new();
                let commas = self.items(')', |p| {
                    items.push(p.value(depth + 1)?);
                    Ok(())
                })?;
                // `(x)` is just `x` in Python; `(x,)` is a one-tuple.
                if items.len() == 1 && commas == 0 {
                    Ok(items.pop().expect("one item"))
                } else {
                    Ok(Value::Tuple(items))
                }
            }
            Some('[') => {
                self.pos += 1;
                let mut items = Vec::new();
                self.items(']', |p| {
                    items.push(p.value(depth + 1)?);
                    Ok(())
                })?;
                Ok(Value::List(items))
            }
            Some(q @ ('\'' | '"')) => self.string(q),
            Some(c) if c.is_ascii_digit() || c == '-' || c == '+' => self.int(),
            Some(c) if c.is_ascii_alphabetic() || c == '_' => {
                let rest = &self.src[self.pos..];
                let end = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(rest.len());
                let word = &rest[..end];
                let v = match word {
                    "True" => Value::Bool(true),
                    "False" => Value::Bool(false),
                    "None" => Value::None,
                    _ => return Err(self.error(&format!("unknown name '{word}'"))),
                };
                self.pos += end;
                Ok(v)
            }
            Some(_) => Err(self.error("unexpected character")),
            None => Err(self.error("expected a value")),
        }
    }

    /// Comma-separated items up to `close`, a trailing comma allowed; returns the number of
    /// commas seen.
    fn items(
        &mut self,
        close: char,
        mut item: impl FnMut(&mut Self) -> Result<(), NpyError>,
    ) -> Result<usize, NpyError> {
        let mut commas = 0;
        loop {
            if self.eat(close) {
                return Ok(commas);
            }
            item(self)?;
            if self.eat(',') {
                commas += 1;
            } else if self.eat(close) {
                return Ok(commas);
            } else {
                return Err(self.error(&format!("expected ',' or '{close}'")));
            }
        }
    }

    fn string(&mut self, quote: char) -> Result<Value, NpyError> {
        let start = self.pos;
        self.pos += 1;
        let mut out = String::new();
        let mut chars = self.src[self.pos..].char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                c if c == quote => {
                    self.pos += i + 1;
                    return Ok(Value::Str(out));
                }
                '\\' => match chars.next() {
                    Some((_, e @ ('\\' | '\'' | '"'))) => out.push(e),
                    Some((_, 'n')) => out.push('\n'),
                    Some((_, 't')) => out.push('\t'),
                    _ => {
                        self.pos = start;
                        return Err(self.error("unsupported escape in a string"));
                    }
                },
                '\n' => break,
                c => out.push(c),
            }
        }
        self.pos = start;
        Err(self.error("unterminated string"))
    }

    fn int(&mut self) -> Result<Value, NpyError> {
        let rest = &self.src[self.pos..];
        let sign_len = usize::from(rest.starts_with(['-', '+']));
        let digits = rest[sign_len..]
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len() - sign_len);
        if digits == 0 {
            return Err(self.error("expected digits"));
        }
        let text = &rest[..sign_len + digits];
        let n: i128 = text
            .parse()
            .map_err(|_| self.error(&format!("the integer {text} is out of range")))?;
        self.pos += sign_len + digits;
        // Python 2 wrote long integers with an `L` suffix, e.g. `(3L, 4L)`.
        if self.peek() == Some('L') {
            self.pos += 1;
        }
        Ok(Value::Int(n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use half::f16;

    fn header_file(major: u8, dict: &str, data: &[u8]) -> Vec<u8> {
        let mut out = NPY_MAGIC.to_vec();
        out.extend_from_slice(&[major, 0]);
        let header = format!("{dict}\n");
        if major == 1 {
            out.extend_from_slice(&(header.len() as u16).to_le_bytes());
        } else {
            out.extend_from_slice(&(header.len() as u32).to_le_bytes());
        }
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(data);
        out
    }

    fn round_trip(t: &Tensor) {
        let bytes = encode_npy(t).unwrap();
        let header_end = bytes.len() - t.bytes().len();
        assert_eq!(header_end % 64, 0, "data starts aligned");
        assert_eq!(bytes[header_end - 1], b'\n');
        let back = parse_npy(&bytes).unwrap();
        assert_eq!(&back, t);
    }

    #[test]
    fn round_trip_every_numpy_dtype() {
        round_trip(&Tensor::from_vec(vec![2, 3], vec![1.5f32, -2.0, 0.0, f32::MAX, f32::MIN_POSITIVE, -0.0]).unwrap());
        round_trip(&Tensor::from_vec(vec![3], vec![1.5f64, -1e300, 7.0]).unwrap());
        round_trip(&Tensor::from_vec(vec![2], vec![f16::from_f32(0.5), f16::from_f32(-3.0)]).unwrap());
        round_trip(&Tensor::from_vec(vec![4], vec![i8::MIN, -1, 0, i8::MAX]).unwrap());
        round_trip(&Tensor::from_vec(vec![2, 1], vec![i16::MIN, i16::MAX]).unwrap());
        round_trip(&Tensor::from_vec(vec![1, 2], vec![i32::MIN, i32::MAX]).unwrap());
        round_trip(&Tensor::from_vec(vec![2], vec![i64::MIN, i64::MAX]).unwrap());
        round_trip(&Tensor::from_vec(vec![3], vec![0u8, 128, 255]).unwrap());
        round_trip(&Tensor::from_vec(vec![2], vec![0u16, u16::MAX]).unwrap());
        round_trip(&Tensor::from_vec(vec![2], vec![0u32, u32::MAX]).unwrap());
        round_trip(&Tensor::from_vec(vec![2], vec![0u64, u64::MAX]).unwrap());
        round_trip(&Tensor::from_bools(vec![2, 2], &[true, false, false, true]).unwrap());
        // Scalars, empty arrays and high ranks.
        round_trip(&Tensor::scalar(42.5f32));
        round_trip(&Tensor::scalar(-7i64));
        round_trip(&Tensor::zeros(DType::F32, vec![0, 5]).unwrap());
        round_trip(&Tensor::zeros(DType::I32, vec![1, 2, 1, 2, 1, 2]).unwrap());
        // A header too long for version 1.0 is written as 2.0.
        let many = Tensor::zeros(DType::U8, vec![1; 30_000]).unwrap();
        let bytes = encode_npy(&many).unwrap();
        assert_eq!(bytes[6], 2);
        round_trip(&many);
    }

    #[test]
    fn header_matches_numpy() {
        let t = Tensor::from_vec(vec![8, 64], vec![0f32; 512]).unwrap();
        let bytes = encode_npy(&t).unwrap();
        assert_eq!(&bytes[..10], b"\x93NUMPY\x01\x00\x76\x00");
        let header = std::str::from_utf8(&bytes[10..128]).unwrap();
        assert!(header.starts_with("{'descr': '<f4', 'fortran_order': False, 'shape': (8, 64), }"));
        let s = encode_npy(&Tensor::scalar(1u8)).unwrap();
        assert!(String::from_utf8_lossy(&s).contains("'descr': '|u1', 'fortran_order': False, 'shape': ()"));
        let v = encode_npy(&Tensor::from_vec(vec![3], vec![1i64, 2, 3]).unwrap()).unwrap();
        assert!(String::from_utf8_lossy(&v).contains("'shape': (3,)"));
    }

    #[test]
    fn files_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.npy");
        let t = Tensor::from_vec(vec![2, 2], vec![1i32, 2, 3, 4]).unwrap();
        write_npy(&path, &t).unwrap();
        assert_eq!(read_npy(&path).unwrap(), t);
        let err = read_npy(dir.path().join("missing.npy")).unwrap_err();
        assert!(matches!(err, NpyError::Io { action: "read", .. }));
        assert!(err.to_string().contains("missing.npy"), "{err}");
    }

    #[test]
    fn real_fixtures() {
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures");
        let fixtures = if fixtures.exists() {
            fixtures
        } else {
            PathBuf::from("/work/shared/fixtures")
        };
        let x = read_npy(fixtures.join("digits_mlp_in.npy")).unwrap();
        assert_eq!(x.dtype(), DType::F32);
        assert_eq!(x.dims(), &[8, 64]);
        assert_eq!(x.as_slice::<f32>().unwrap()[..4], [0.0, 0.0, 0.4375, 1.0]);
        let y = read_npy(fixtures.join("digits_y_test.npy")).unwrap();
        assert_eq!(y.dtype(), DType::I64);
        assert_eq!(y.dims(), &[450]);
        assert_eq!(y.to_i64_vec().unwrap()[..5], [2, 0, 4, 9, 4]);
        // Re-encoding gives NumPy's bytes exactly.
        let raw = fs::read(fixtures.join("digits_y_test.npy")).unwrap();
        assert_eq!(encode_npy(&y).unwrap(), raw);
    }

    #[test]
    fn versions_two_and_three_and_header_variants() {
        let data: Vec<u8> = [1.0f32, 2.0].iter().flat_map(|x| x.to_le_bytes()).collect();
        let expect = Tensor::from_vec(vec![2], vec![1.0f32, 2.0]).unwrap();
        for major in [1, 2, 3] {
            let b = header_file(
                major,
                "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }",
                &data,
            );
            assert_eq!(parse_npy(&b).unwrap(), expect);
        }
        // Other spellings NumPy and other writers produce.
        for dict in [
            "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (2,)}",
            "{'shape': (2L,), 'fortran_order': False, 'descr': '<f4'}",
            "  {'descr':'=f4','fortran_order':False,'shape':(2,),}  ",
        ] {
            assert_eq!(parse_npy(&header_file(1, dict, &data)).unwrap(), expect, "{dict}");
        }
        // One-byte types with any byte-order mark.
        for descr in ["|i1", "<i1", ">i1", "=i1"] {
            let b = header_file(
                1,
                &format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': (1,)}}"),
                &[0xff],
            );
            assert_eq!(parse_npy(&b).unwrap(), Tensor::from_vec(vec![1], vec![-1i8]).unwrap());
        }
        // Booleans are normalized to 0 or 1.
        let b = header_file(1, "{'descr': '|b1', 'fortran_order': False, 'shape': (2,)}", &[0, 7]);
        assert_eq!(parse_npy(&b).unwrap().as_bool_bytes().unwrap(), &[0, 1]);
    }

    fn expect_err(bytes: &[u8], check: impl Fn(&NpyError) -> bool) {
        match parse_npy(bytes) {
            Err(e) if check(&e) => {}
            other => panic!("unexpected result {other:?}"),
        }
    }

    #[test]
    fn refusals() {
        let f4 = |dict: &str, data: &[u8]| header_file(1, dict, data);
        let ok_data = [0u8; 8];
        // Big-endian, Fortran order, unsupported dtypes.
        let e = parse_npy(&f4("{'descr': '>f4', 'fortran_order': False, 'shape': (2,)}", &ok_data)).unwrap_err();
        assert!(matches!(&e, NpyError::BigEndian(d) if d == ">f4"), "{e}");
        assert!(e.to_string().contains("big-endian"));
        let e = parse_npy(&f4("{'descr': '<f4', 'fortran_order': True, 'shape': (2,)}", &ok_data)).unwrap_err();
        assert!(matches!(e, NpyError::FortranOrder), "{e}");
        assert!(e.to_string().contains("Fortran-order"));
        for descr in ["<c8", "<U3", "|O", "<M8[ns]", "<V2", "bfloat16", "", "|f4", "<f16"] {
            let d = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': (2,)}}");
            expect_err(&f4(&d, &ok_data), |e| matches!(e, NpyError::UnsupportedDType(_)));
        }
        expect_err(
            &f4(
                "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,)}",
                &ok_data,
            ),
            |e| matches!(e, NpyError::UnsupportedDType(_)),
        );
        // Data too short or too long.
        let dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)}";
        expect_err(&f4(dict, &[0; 7]), |e| {
            matches!(
                e,
                NpyError::Truncated {
                    what: "array data",
                    expected: 8,
                    actual: 7
                }
            )
        });
        expect_err(&f4(dict, &[0; 9]), |e| {
            matches!(e, NpyError::TrailingBytes { extra: 1 })
        });
        // Truncation anywhere in a real encoding.
        let good = encode_npy(&Tensor::from_vec(vec![3], vec![1i16, 2, 3]).unwrap()).unwrap();
        for cut in 1..good.len() {
            expect_err(&good[..cut], |e| matches!(e, NpyError::Truncated { .. }));
        }
        expect_err(&[], |e| matches!(e, NpyError::Truncated { .. }));
        // Versions and magic.
        let mut v4 = good.clone();
        v4[6] = 4;
        expect_err(&v4, |e| {
            matches!(e, NpyError::UnsupportedVersion { major: 4, minor: 0 })
        });
        let mut v11 = good.clone();
        v11[7] = 1;
        expect_err(&v11, |e| {
            matches!(e, NpyError::UnsupportedVersion { major: 1, minor: 1 })
        });
        expect_err(b"PK\x03\x04 a zip file", |e| matches!(e, NpyError::NotNpy));
        expect_err(b"\x89PNG\r\n\x1a\n", |e| matches!(e, NpyError::NotNpy));
        // Header length larger than the file.
        let mut long = good.clone();
        long[8..10].copy_from_slice(&u16::MAX.to_le_bytes());
        expect_err(&long, |e| matches!(e, NpyError::Truncated { what: "header", .. }));
        // Bad headers.
        for dict in [
            "",
            "{",
            "}",
            "[1, 2]",
            "{'descr': '<f4', 'fortran_order': False}",
            "{'descr': '<f4', 'shape': (2,)}",
            "{'fortran_order': False, 'shape': (2,)}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 1}",
            "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}",
            "{'descr': '<f4', 'fortran_order': 0, 'shape': (2,)}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': [2]}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2)}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (-2,)}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2.5,)}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': ('2',)}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999999999999999999999,)}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296)}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)} trailing",
            "{'descr': '<f4, 'fortran_order': False, 'shape': (2,)}",
            "{'descr': '<f4' 'fortran_order': False, 'shape': (2,)}",
            "{'descr' '<f4', 'fortran_order': False, 'shape': (2,)}",
            "{1: '<f4', 'fortran_order': False, 'shape': (2,)}",
            "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2,)}",
            "{'descr': '\\x41', 'fortran_order': False, 'shape': (2,)}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (-,)}",
        ] {
            expect_err(&f4(dict, &ok_data), |e| matches!(e, NpyError::BadHeader(_)));
        }
        // Deep nesting is refused, not a stack overflow.
        let deep = format!("{}{}", "(".repeat(100_000), ")".repeat(100_000));
        expect_err(&header_file(2, &deep, &[]), |e| matches!(e, NpyError::BadHeader(_)));
        // Non-UTF-8 header.
        let mut bad = good.clone();
        bad[12] = 0xff;
        expect_err(&bad, |e| matches!(e, NpyError::BadHeader(_)));
    }

    #[test]
    fn narrow_types_cannot_be_written() {
        for d in DType::ALL.into_iter().filter(|d| d.is_narrow()) {
            let t = Tensor::zeros(d, vec![2]).unwrap();
            assert!(
                matches!(encode_npy(&t), Err(NpyError::NoNumpyDType(x)) if x == d),
                "{d}"
            );
        }
    }

    #[test]
    fn bf16_cannot_be_written() {
        let t = Tensor::from_vec(vec![1], vec![half::bf16::from_f32(1.0)]).unwrap();
        let e = encode_npy(&t).unwrap_err();
        assert!(matches!(e, NpyError::NoNumpyDType(DType::BF16)));
        assert!(e.to_string().contains("NumPy has no bf16 dtype"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        assert!(write_npy(dir.path().join("b.npy"), &t).is_err());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0, "nothing written");
    }

    #[test]
    fn errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.npy");
        fs::write(&path, b"hello").unwrap();
        let e = read_npy(&path).unwrap_err();
        assert!(matches!(e.innermost(), NpyError::NotNpy));
        assert!(e.to_string().contains("bad.npy: not a NumPy .npy file"), "{e}");
    }

    #[test]
    fn garbage_never_panics() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let alphabet = b"{}()[]'\":,. -+0123456789LTrueFalsNonedscrip_<>|=fiub\\\n\xff";
        for _ in 0..5000 {
            let len = (next() % 80) as usize;
            let dict: Vec<u8> = (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            let mut b = NPY_MAGIC.to_vec();
            b.extend_from_slice(&[1, 0]);
            b.extend_from_slice(&(dict.len() as u16).to_le_bytes());
            b.extend_from_slice(&dict);
            b.extend((0..next() % 16).map(|_| next() as u8));
            let _ = parse_npy(&b);
        }
    }
}
