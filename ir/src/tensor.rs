//! Dense tensors: a dtype, fixed dimensions and aligned, shared storage.
//!
//! Storage is owned heap memory, a window of a memory-mapped file (so weights can be read
//! in place from an artifact), or a window of an [`Arena`] (a block an executor reuses
//! for the intermediate values of its runs). Cloning a tensor shares its storage.

use std::fmt;
use std::sync::Arc;

use crate::dtype::{DType, Element};
use crate::shape::{byte_size, format_dims, ShapeError};

/// Errors building or viewing tensors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TensorError {
    /// The data length does not agree with the dtype and dimensions.
    #[error("tensor data has {actual} bytes but {dtype}{dims} needs {expected}")]
    LengthMismatch {
        /// Element type.
        dtype: DType,
        /// Dimensions, formatted.
        dims: String,
        /// Bytes the dimensions need.
        expected: usize,
        /// Bytes given.
        actual: usize,
    },
    /// The tensor was viewed as another element type than its own.
    #[error("tensor of dtype {actual} viewed as {requested}")]
    DTypeMismatch {
        /// The tensor's dtype.
        actual: DType,
        /// The dtype asked for.
        requested: DType,
    },
    /// The storage is not aligned for the element type.
    #[error("tensor storage is not aligned for {0}")]
    Misaligned(DType),
    /// The shape overflows.
    #[error(transparent)]
    Shape(#[from] ShapeError),
    /// A byte is not a valid element of a narrow dtype (e.g. `0x10` for `u4`).
    #[error("byte {byte:#04x} at element {index} is not a valid {dtype}")]
    InvalidElement {
        /// Element type.
        dtype: DType,
        /// Index of the element.
        index: usize,
        /// The byte.
        byte: u8,
    },
}

/// Checks that every byte of `bytes` is a valid element of the narrow dtype `dtype` (see
/// [`DType::valid_byte`]); other dtypes accept any bytes.
fn check_elements(dtype: DType, bytes: &[u8]) -> Result<(), TensorError> {
    if !dtype.is_narrow() {
        return Ok(());
    }
    match bytes.iter().position(|&b| !dtype.valid_byte(b)) {
        None => Ok(()),
        Some(index) => Err(TensorError::InvalidElement {
            dtype,
            index,
            byte: bytes[index],
        }),
    }
}

/// Where a tensor's bytes live.
#[derive(Clone)]
enum Storage {
    /// Owned, 8-byte aligned heap memory; `len` bytes of it are used.
    Heap { words: Arc<Vec<u64>>, len: usize },
    /// A window of a memory-mapped file.
    Mapped {
        map: Arc<memmap2::Mmap>,
        offset: usize,
        len: usize,
    },
    /// A window of an arena.
    Arena {
        arena: Arc<Arena>,
        offset: usize,
        len: usize,
    },
}

/// A fixed block of 8-byte aligned memory in which tensors are placed by offset: the
/// arena of a static memory plan, reused from run to run.
///
/// Tensors in an arena may alias one another's bytes over time (a plan gives two values
/// the same bytes when their lifetimes do not meet), so writing into one is `unsafe`
/// ([`Tensor::from_arena`]): the writer vouches that nothing else reads those bytes
/// meanwhile.
pub struct Arena {
    words: Box<[std::cell::UnsafeCell<u64>]>,
}

// SAFETY: the bytes are only written through `Tensor::from_arena`, whose caller
// guarantees that no other thread or tensor reads the written range at the same time.
unsafe impl Sync for Arena {}
unsafe impl Send for Arena {}

impl Arena {
    /// A zeroed arena of at least `bytes` bytes.
    pub fn new(bytes: usize) -> Arena {
        Arena {
            words: (0..bytes.div_ceil(8)).map(|_| std::cell::UnsafeCell::new(0)).collect(),
        }
    }

    /// Its size in bytes.
    pub fn len(&self) -> usize {
        self.words.len() * 8
    }

    /// Whether it holds no bytes.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// The address of byte `offset`.
    fn ptr(&self, offset: usize) -> *mut u8 {
        // `UnsafeCell<u64>` has the layout of `u64`, so the cells are one run of bytes.
        (self.words.as_ptr() as *mut u8).wrapping_add(offset)
    }
}

impl Storage {
    fn bytes(&self) -> &[u8] {
        match self {
            Storage::Heap { words, len } => &bytemuck::cast_slice::<u64, u8>(words)[..*len],
            Storage::Mapped { map, offset, len } => &map[*offset..*offset + *len],
            // SAFETY: the window was checked to lie inside the arena when the tensor was
            // made; writers of the arena guarantee nobody reads bytes they write.
            Storage::Arena { arena, offset, len } => unsafe { std::slice::from_raw_parts(arena.ptr(*offset), *len) },
        }
    }
}

/// A dense, row-major tensor.
#[derive(Clone)]
pub struct Tensor {
    dtype: DType,
    dims: Vec<usize>,
    storage: Storage,
}

impl Tensor {
    /// A tensor copied from raw little-endian bytes. For the narrow dtypes (one byte per
    /// element, see [`crate::dtype`]) every byte must be a valid element.
    pub fn from_bytes(dtype: DType, dims: Vec<usize>, bytes: &[u8]) -> Result<Tensor, TensorError> {
        let expected = byte_size(&dims, dtype.size_bytes())?;
        if bytes.len() != expected {
            return Err(TensorError::LengthMismatch {
                dtype,
                dims: format_dims(&dims),
                expected,
                actual: bytes.len(),
            });
        }
        check_elements(dtype, bytes)?;
        let mut words = vec![0u64; expected.div_ceil(8)];
        bytemuck::cast_slice_mut::<u64, u8>(&mut words)[..expected].copy_from_slice(bytes);
        Ok(Tensor {
            dtype,
            dims,
            storage: Storage::Heap {
                words: Arc::new(words),
                len: expected,
            },
        })
    }

    /// A tensor that reads its bytes in place from a memory map. For the narrow dtypes
    /// every byte must be a valid element.
    pub fn from_mmap(
        dtype: DType,
        dims: Vec<usize>,
        map: Arc<memmap2::Mmap>,
        offset: usize,
    ) -> Result<Tensor, TensorError> {
        let len = byte_size(&dims, dtype.size_bytes())?;
        let available = map.len().saturating_sub(offset);
        if len > available {
            return Err(TensorError::LengthMismatch {
                dtype,
                dims: format_dims(&dims),
                expected: len,
                actual: available,
            });
        }
        let t = Tensor {
            dtype,
            dims,
            storage: Storage::Mapped { map, offset, len },
        };
        if t.bytes().as_ptr().align_offset(dtype.size_bytes()) != 0 {
            return Err(TensorError::Misaligned(dtype));
        }
        check_elements(dtype, t.bytes())?;
        Ok(t)
    }

    /// A tensor owning `data`, with `dims`. The length must match.
    pub fn from_vec<T: Element>(dims: Vec<usize>, data: Vec<T>) -> Result<Tensor, TensorError> {
        Tensor::from_bytes(T::DTYPE, dims, bytemuck::cast_slice(&data))
    }

    /// A tensor taking ownership of `words`, 8-byte words whose first bytes are the
    /// elements' little-endian bytes (no copy); `words` must have exactly the words the
    /// dtype and dims need (the bytes past the elements are ignored). For the narrow
    /// dtypes every element byte must be valid.
    pub fn from_words(dtype: DType, dims: Vec<usize>, words: Vec<u64>) -> Result<Tensor, TensorError> {
        let len = byte_size(&dims, dtype.size_bytes())?;
        if words.len() != len.div_ceil(8) {
            return Err(TensorError::LengthMismatch {
                dtype,
                dims: format_dims(&dims),
                expected: len,
                actual: words.len().saturating_mul(8),
            });
        }
        check_elements(dtype, &bytemuck::cast_slice::<u64, u8>(&words)[..len])?;
        Ok(Tensor {
            dtype,
            dims,
            storage: Storage::Heap {
                words: Arc::new(words),
                len,
            },
        })
    }

    /// A boolean tensor from `bool`s.
    pub fn from_bools(dims: Vec<usize>, data: &[bool]) -> Result<Tensor, TensorError> {
        let bytes: Vec<u8> = data.iter().map(|&b| b as u8).collect();
        Tensor::from_bytes(DType::Bool, dims, &bytes)
    }

    /// A rank-0 tensor holding `value`.
    pub fn scalar<T: Element>(value: T) -> Tensor {
        Tensor::from_bytes(T::DTYPE, Vec::new(), bytemuck::bytes_of(&value)).expect("one element always fits a scalar")
    }

    /// A tensor of zeros (all bytes zero).
    pub fn zeros(dtype: DType, dims: Vec<usize>) -> Result<Tensor, TensorError> {
        let len = byte_size(&dims, dtype.size_bytes())?;
        Ok(Tensor {
            dtype,
            dims,
            storage: Storage::Heap {
                words: Arc::new(vec![0u64; len.div_ceil(8)]),
                len,
            },
        })
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// The dimensions.
    pub fn dims(&self) -> &[usize] {
        &self.dims
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.storage.bytes().len() / self.dtype.size_bytes()
    }

    /// Whether the tensor has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The raw little-endian bytes.
    pub fn bytes(&self) -> &[u8] {
        self.storage.bytes()
    }

    /// Whether the bytes are read in place from a memory-mapped file.
    pub fn is_mapped(&self) -> bool {
        matches!(self.storage, Storage::Mapped { .. })
    }

    /// The elements as mutable `T`, for filling a tensor just made (by
    /// [`Tensor::zeros`]); `None` when the bytes are shared with another tensor or read
    /// from a file, or when `T` is not the dtype.
    pub fn as_mut_slice<T: Element>(&mut self) -> Option<&mut [T]> {
        if T::DTYPE != self.dtype {
            return None;
        }
        match &mut self.storage {
            Storage::Heap { words, len } => {
                let bytes = &mut bytemuck::cast_slice_mut::<u64, u8>(Arc::get_mut(words)?.as_mut_slice())[..*len];
                bytemuck::try_cast_slice_mut(bytes).ok()
            }
            Storage::Mapped { .. } | Storage::Arena { .. } => None,
        }
    }

    /// A tensor of `dims` placed at byte `offset` of `arena`, whose elements `fill`
    /// writes (all of them) before the tensor is returned.
    ///
    /// # Safety
    ///
    /// No other tensor whose bytes meet this window may be read or written while `fill`
    /// runs or while the returned tensor is alive (a memory plan's liveness gives this).
    pub unsafe fn from_arena<T: Element, E>(
        arena: &Arc<Arena>,
        offset: usize,
        dims: Vec<usize>,
        fill: impl FnOnce(&mut [T]) -> Result<(), E>,
    ) -> Result<Result<Tensor, E>, TensorError> {
        let len = byte_size(&dims, T::DTYPE.size_bytes())?;
        let fits = offset.checked_add(len).is_some_and(|end| end <= arena.len());
        if !fits {
            return Err(TensorError::LengthMismatch {
                dtype: T::DTYPE,
                dims: format_dims(&dims),
                expected: len,
                actual: arena.len().saturating_sub(offset),
            });
        }
        let ptr = arena.ptr(offset);
        if ptr.align_offset(std::mem::align_of::<T>()) != 0 {
            return Err(TensorError::Misaligned(T::DTYPE));
        }
        // SAFETY: in bounds and aligned (checked above); exclusive by the caller's promise.
        let elements =
            unsafe { std::slice::from_raw_parts_mut(ptr.cast::<T>(), len / std::mem::size_of::<T>().max(1)) };
        if let Err(e) = fill(elements) {
            return Ok(Err(e));
        }
        Ok(Ok(Tensor {
            dtype: T::DTYPE,
            dims,
            storage: Storage::Arena {
                arena: Arc::clone(arena),
                offset,
                len,
            },
        }))
    }

    /// Whether the bytes lie in an [`Arena`].
    pub fn is_in_arena(&self) -> bool {
        matches!(self.storage, Storage::Arena { .. })
    }

    /// The same tensor with its bytes copied to heap memory of its own.
    pub fn to_owned_storage(&self) -> Tensor {
        let len = self.bytes().len();
        let mut words = vec![0u64; len.div_ceil(8)];
        bytemuck::cast_slice_mut::<u64, u8>(&mut words)[..len].copy_from_slice(self.bytes());
        Tensor {
            dtype: self.dtype,
            dims: self.dims.clone(),
            storage: Storage::Heap {
                words: Arc::new(words),
                len,
            },
        }
    }

    /// The elements as `T`. For bool tensors use `u8` through [`Tensor::as_bool_bytes`].
    pub fn as_slice<T: Element>(&self) -> Result<&[T], TensorError> {
        if T::DTYPE != self.dtype {
            return Err(TensorError::DTypeMismatch {
                actual: self.dtype,
                requested: T::DTYPE,
            });
        }
        bytemuck::try_cast_slice(self.bytes()).map_err(|_| TensorError::Misaligned(self.dtype))
    }

    /// The elements of a bool tensor, one byte (0 or 1) each.
    pub fn as_bool_bytes(&self) -> Result<&[u8], TensorError> {
        if self.dtype != DType::Bool {
            return Err(TensorError::DTypeMismatch {
                actual: self.dtype,
                requested: DType::Bool,
            });
        }
        Ok(self.bytes())
    }

    /// The same data with other dimensions of the same element count.
    pub fn reshaped(&self, dims: Vec<usize>) -> Result<Tensor, TensorError> {
        let expected = byte_size(&dims, self.dtype.size_bytes())?;
        if expected != self.bytes().len() {
            return Err(TensorError::LengthMismatch {
                dtype: self.dtype,
                dims: format_dims(&dims),
                expected,
                actual: self.bytes().len(),
            });
        }
        Ok(Tensor {
            dtype: self.dtype,
            dims,
            storage: self.storage.clone(),
        })
    }

    /// The elements converted to `i64`, for integer tensors that carry shapes, axes or
    /// indices (the 4- and 2-bit integers included). `None` for float and bool tensors.
    pub fn to_i64_vec(&self) -> Option<Vec<i64>> {
        let b = self.bytes();
        Some(match self.dtype {
            DType::I64 => bytemuck::pod_collect_to_vec::<u8, i64>(b),
            DType::I32 => bytemuck::pod_collect_to_vec::<u8, i32>(b)
                .into_iter()
                .map(i64::from)
                .collect(),
            DType::I16 => bytemuck::pod_collect_to_vec::<u8, i16>(b)
                .into_iter()
                .map(i64::from)
                .collect(),
            DType::I8 | DType::I4 | DType::I2 => b.iter().map(|&x| x as i8 as i64).collect(),
            DType::U8 | DType::U4 | DType::U2 => b.iter().map(|&x| x as i64).collect(),
            DType::U16 => bytemuck::pod_collect_to_vec::<u8, u16>(b)
                .into_iter()
                .map(i64::from)
                .collect(),
            DType::U32 => bytemuck::pod_collect_to_vec::<u8, u32>(b)
                .into_iter()
                .map(i64::from)
                .collect(),
            DType::U64 => bytemuck::pod_collect_to_vec::<u8, u64>(b)
                .into_iter()
                .map(|x| x as i64)
                .collect(),
            _ => return None,
        })
    }

    /// The elements converted to `f64`, for printing and comparison (exactly: the
    /// narrow float formats are decoded by [`crate::dtype::minifloat::decode`]).
    pub fn to_f64_vec(&self) -> Vec<f64> {
        let b = self.bytes();
        if self.dtype.is_narrow_float() {
            let dtype = self.dtype;
            return b
                .iter()
                .map(|&c| crate::dtype::minifloat::decode(dtype, c).map_or(f64::NAN, f64::from))
                .collect();
        }
        match self.dtype {
            DType::F32 => bytemuck::pod_collect_to_vec::<u8, f32>(b)
                .into_iter()
                .map(f64::from)
                .collect(),
            DType::F64 => bytemuck::pod_collect_to_vec::<u8, f64>(b),
            DType::F16 => bytemuck::pod_collect_to_vec::<u8, half::f16>(b)
                .into_iter()
                .map(f64::from)
                .collect(),
            DType::BF16 => bytemuck::pod_collect_to_vec::<u8, half::bf16>(b)
                .into_iter()
                .map(f64::from)
                .collect(),
            DType::Bool => b.iter().map(|&x| x as f64).collect(),
            _ => self
                .to_i64_vec()
                .map(|v| match self.dtype {
                    DType::U64 => bytemuck::pod_collect_to_vec::<u8, u64>(b)
                        .into_iter()
                        .map(|x| x as f64)
                        .collect(),
                    _ => v.into_iter().map(|x| x as f64).collect(),
                })
                .unwrap_or_default(),
        }
    }
}

impl PartialEq for Tensor {
    /// Bitwise equality of dtype, dimensions and bytes.
    fn eq(&self, other: &Self) -> bool {
        self.dtype == other.dtype && self.dims == other.dims && self.bytes() == other.bytes()
    }
}

impl fmt::Debug for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tensor({}{}", self.dtype, format_dims(&self.dims))?;
        if self.len() <= 16 {
            write!(f, " {:?}", self.to_f64_vec())?;
        }
        f.write_str(")")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_is_checked() {
        let err = Tensor::from_bytes(DType::F32, vec![2, 2], &[0; 12]).unwrap_err();
        assert!(matches!(
            err,
            TensorError::LengthMismatch {
                expected: 16,
                actual: 12,
                ..
            }
        ));
    }

    #[test]
    fn narrow_elements_are_checked_and_converted() {
        let err = Tensor::from_bytes(DType::U4, vec![2], &[15, 16]).unwrap_err();
        assert!(
            matches!(err, TensorError::InvalidElement { index: 1, byte: 16, .. }),
            "{err}"
        );
        let t = Tensor::from_bytes(DType::I4, vec![3], &[0xF8, 7, 0xFF]).unwrap();
        assert_eq!(t.to_i64_vec(), Some(vec![-8, 7, -1]));
        assert_eq!(t.to_f64_vec(), vec![-8.0, 7.0, -1.0]);
        let t = Tensor::from_bytes(DType::F8E4M3FN, vec![3], &[0x38, 0xC0, 0x7F]).unwrap();
        let v = t.to_f64_vec();
        assert_eq!(&v[..2], &[1.0, -2.0]);
        assert!(v[2].is_nan());
        assert_eq!(t.to_i64_vec(), None);
    }

    #[test]
    fn views_are_typed() {
        let t = Tensor::from_vec(vec![3], vec![1.0f32, 2.0, 3.0]).unwrap();
        assert_eq!(t.as_slice::<f32>().unwrap(), &[1.0, 2.0, 3.0]);
        assert!(t.as_slice::<i32>().is_err());
        let r = t.reshaped(vec![1, 3]).unwrap();
        assert_eq!(r.dims(), &[1, 3]);
        assert!(t.reshaped(vec![2]).is_err());
    }
}
