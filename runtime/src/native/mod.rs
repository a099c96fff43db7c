//! Native CPU kernels compiled ahead of time: loading machine code from an artifact's
//! `Code` section into executable memory and calling it safely.
//!
//! The compiler (`lightos-codegen`'s Cranelift writer) turns a kernel into position-
//! independent machine code without relocations and records, per kernel, a
//! [`NativeKernelCode`]: its name, target triple, required CPU features, code bytes, entry
//! offset, the functions it calls and its parameters. This module holds no compiler: it
//! only checks and maps such code.
//!
//! # Calling convention
//!
//! A kernel is a C-ABI function `fn(buffers: *const *mut u8, funcs: *const usize)`:
//! `buffers[i]` is the base address of parameter `i` (its element `(i0, i1, ...)` at byte
//! offset `sum(i_d * strides[d]) * size`), and `funcs[j]` is the address of callee `j`
//! (see [`math_symbol`]), an `extern "C" fn` on scalars of the callee's type. The kernel
//! returns nothing and touches no memory outside its parameters' extents.
//!
//! # Safety
//!
//! Code is executed as it is found, so [`NativeKernel::load`] is `unsafe`: the caller
//! vouches that the bytes are what the LightOS writer produced for the parameters they
//! declare (an artifact's checksum guards against damage, not against a forged file).
//! Given that, [`NativeKernel::run`] is safe: it checks the host (architecture, calling
//! convention, CPU features) at load time and every argument's count, access, size and
//! alignment against the declared parameters before each call, so the kernel's accesses
//! stay inside the buffers passed.
//!
//! # The `Code` section payload
//!
//! [`encode_section`] and [`decode_section`] store any number of kernels in one payload
//! (all integers little-endian):
//!
//! | offset | size | field |
//! |---:|---:|---|
//! | 0 | 8 | magic `LNATIVE\0` ([`SECTION_MAGIC`]) |
//! | 8 | 4 | version `1` ([`SECTION_VERSION`]) |
//! | 12 | 4 | reserved, `0` |
//! | 16 | 8 | length `H` of the JSON header |
//! | 24 | `H` | JSON header: an array with one object per kernel (name, triple, features, entry, code offset and length, params, callees) |
//! | ... | | code area, from the first 16-byte boundary after the header: the code blobs, each 16-byte aligned, at their `code_offset` from its start |
//!
//! [`decode_section`] checks every field and range and refuses a damaged payload with
//! [`NativeError::Malformed`]; nothing in it can make the decoder panic.

mod exec;
mod math;
mod program;
mod section;

#[cfg(test)]
mod tests;

pub use exec::{host_triple, KernelArg, NativeKernel};
pub use math::{math_symbol, MathFn};
pub use program::{KernelInfo, KernelStatus, NativeProgram, NativeProgramError};
pub use section::{decode_section, encode_section, SECTION_MAGIC, SECTION_VERSION};

use lightos_ir::DType;

/// One parameter of a native kernel, as declared by the compiler.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParamSpec {
    /// The parameter's name (for messages).
    pub name: String,
    /// The element type.
    pub dtype: DType,
    /// The size of each axis.
    pub dims: Vec<usize>,
    /// The distance between neighbours along each axis, in elements.
    pub strides: Vec<usize>,
    /// Whether the kernel stores to it (otherwise it only loads).
    pub writable: bool,
}

impl ParamSpec {
    /// The number of elements the view spans (one past its largest offset; `0` when an
    /// axis is empty); `None` on overflow or when strides and dims differ in length.
    pub fn extent(&self) -> Option<usize> {
        if self.strides.len() != self.dims.len() {
            return None;
        }
        if self.dims.contains(&0) {
            return Some(0);
        }
        let mut last = 0usize;
        for (&d, &s) in self.dims.iter().zip(&self.strides) {
            last = last.checked_add((d - 1).checked_mul(s)?)?;
        }
        last.checked_add(1)
    }

    /// The number of bytes an argument for it must have; `None` on overflow.
    pub fn byte_len(&self) -> Option<usize> {
        self.extent()?.checked_mul(self.dtype.size_bytes())
    }

    /// Whether the strides are the row-major strides of the dims.
    pub fn is_contiguous(&self) -> bool {
        self.strides == lightos_ir::shape::strides(&self.dims)
    }
}

/// A function a native kernel calls through its function table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CalleeSpec {
    /// The symbol, e.g. `exp_f32` (see [`math_symbol`]).
    pub symbol: String,
    /// The number of arguments the kernel passes.
    pub arity: usize,
}

/// The compiled code of one kernel, as stored in a `Code` section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NativeKernelCode {
    /// The kernel's name.
    pub name: String,
    /// The target triple the code is for, e.g. `x86_64-unknown-linux-gnu`.
    pub triple: String,
    /// The CPU features the code may use, in the names of Rust's
    /// `is_x86_feature_detected!` (e.g. `sse4.1`, `avx2`); empty for the baseline.
    pub features: Vec<String>,
    /// The machine code (position independent, no relocations).
    pub code: Vec<u8>,
    /// The byte offset of the entry point in `code`.
    pub entry: usize,
    /// The parameters, in the order of the `buffers` array.
    pub params: Vec<ParamSpec>,
    /// The functions called, in the order of the `funcs` array.
    pub callees: Vec<CalleeSpec>,
}

/// Why native code could not be decoded, loaded or run.
#[derive(Debug, thiserror::Error)]
pub enum NativeError {
    /// A `Code` section payload is damaged or of an unknown layout.
    #[error("malformed native code section: {0}")]
    Malformed(String),
    /// The code is for another architecture or calling convention than this machine.
    #[error(
        "kernel `{kernel}` was compiled for {triple}, which this machine ({host}) cannot run; \
         compile the model for this machine's target"
    )]
    ForeignTarget {
        /// The kernel.
        kernel: String,
        /// The triple the code is for.
        triple: String,
        /// This machine's triple.
        host: String,
    },
    /// The code needs a CPU feature this machine lacks (or one this build cannot detect).
    #[error("kernel `{kernel}` needs the CPU feature `{feature}`, which this machine does not have")]
    MissingFeature {
        /// The kernel.
        kernel: String,
        /// The feature.
        feature: String,
    },
    /// The code calls a function the runtime does not provide, or with another arity.
    #[error("kernel `{kernel}` calls `{symbol}` with {arity} arguments, which the runtime does not provide")]
    UnknownCallee {
        /// The kernel.
        kernel: String,
        /// The symbol.
        symbol: String,
        /// The arity the kernel uses.
        arity: usize,
    },
    /// The kernel's description is inconsistent (entry outside the code, bad parameter).
    #[error("kernel `{kernel}` is invalid: {detail}")]
    InvalidKernel {
        /// The kernel.
        kernel: String,
        /// What is wrong.
        detail: String,
    },
    /// Executable memory could not be obtained.
    #[error("cannot map executable memory for kernel `{kernel}`: {source}")]
    Map {
        /// The kernel.
        kernel: String,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The call passed a wrong number of arguments.
    #[error("kernel `{kernel}` takes {expected} buffers but was given {given}")]
    ArgCount {
        /// The kernel.
        kernel: String,
        /// The number of parameters.
        expected: usize,
        /// The number of arguments.
        given: usize,
    },
    /// An argument does not fit its parameter.
    #[error("kernel `{kernel}`, buffer `{param}`: {detail}")]
    BadArg {
        /// The kernel.
        kernel: String,
        /// The parameter.
        param: String,
        /// What is wrong.
        detail: String,
    },
}
