//! The Cranelift writer: compiles [kernels](crate::kernel) ahead of time to native CPU
//! code for x86-64 and aarch64.
//!
//! A [`CpuTarget`] is a target triple plus the CPU features the code may use (for
//! x86-64: SSE3 up to AVX2, BMI and LZCNT, from the host or given by name; aarch64 is
//! cross-compiled for the baseline). [`CpuTarget::compile`] verifies a kernel and turns it
//! into a [`NativeKernelCode`]: name, triple, features, machine code and entry offset,
//! parameters and callees, ready for an artifact's `Code` section
//! ([`lightos_runtime::native::encode_section`]) and for
//! [`lightos_runtime::native::NativeKernel`].
//!
//! # The code
//!
//! - The calling convention is the one of [`lightos_runtime::native`]: a C function of
//!   `(buffers: *const *mut u8, funcs: *const usize)`.
//! - Position independent, with no relocations and no trap sites: constants live in the
//!   function's own constant island, and calls to math functions go through the `funcs`
//!   table the runtime fills (symbols `{name}_{type}`, e.g. `exp_f32`, checked against
//!   [`lightos_runtime::native::math_symbol`] here). Both properties are checked after
//!   compilation; a kernel that would need either is refused.
//! - Numerics are strict: every kernel operation is one Cranelift instruction or a fixed
//!   sequence of compares and selects (the NaN-propagating `max`/`min`, reduction steps);
//!   Cranelift never contracts a multiply and an add into a fused multiply-add, never
//!   reassociates, and NaN canonicalization is off, so results are the reference's bits.
//!   FMA is not enabled even where the host has it.
//! - Schedules: `parallel` loops run serially here (threads come later); `vectorized`
//!   loops run four 32-bit lanes at a time where their body allows it (see `simd.rs`:
//!   unit-stride or invariant accesses, `f32`/`i32` values, operations whose lanes give
//!   the scalar bits), with a scalar remainder, and serially otherwise; `unrolled(f)` loops are
//!   unrolled `min(f, 16)` times with a straight-line remainder. Tree reductions keep
//!   their partials in registers (unrolled by the lane count along the innermost axis, or
//!   rotated per term where the innermost trip count is not a multiple of it).
//! - Refused (as [`WriterError::Unsupported`]): integer division (it would need trap
//!   checks), tree reductions of more than 64 partials, and rounding ops (`floor`, `ceil`, `trunc`, `round_even`) on x86-64 without
//!   SSE4.1 (Cranelift would call a library routine).

mod emit;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::str::FromStr;

use cranelift_codegen::isa::{self, OwnedTargetIsa};
use cranelift_codegen::settings::{self, Configurable};
use lightos_runtime::native::{CalleeSpec, NativeKernelCode, ParamSpec};
use target_lexicon::{Architecture, Triple};

use crate::kernel::{verify, Kernel, KernelError};

/// The x86-64 features a [`CpuTarget`] can enable: Rust's feature name and Cranelift's
/// setting.
const X86_FEATURES: [(&str, &str); 10] = [
    ("sse3", "has_sse3"),
    ("ssse3", "has_ssse3"),
    ("sse4.1", "has_sse41"),
    ("sse4.2", "has_sse42"),
    ("popcnt", "has_popcnt"),
    ("avx", "has_avx"),
    ("avx2", "has_avx2"),
    ("bmi1", "has_bmi1"),
    ("bmi2", "has_bmi2"),
    ("lzcnt", "has_lzcnt"),
];

/// The most body copies an `unrolled` loop gets.
pub const MAX_UNROLL: u32 = 16;

/// Why a kernel could not be compiled.
#[derive(Debug, thiserror::Error)]
pub enum WriterError {
    /// The kernel is not valid kernel IR.
    #[error(transparent)]
    Verify(#[from] Box<KernelError>),
    /// The target triple or a feature is not supported.
    #[error("target `{triple}`: {detail}")]
    Target {
        /// The triple.
        triple: String,
        /// What is wrong.
        detail: String,
    },
    /// The kernel uses something this writer does not compile for this target.
    #[error("kernel `{kernel}`: {detail}")]
    Unsupported {
        /// The kernel.
        kernel: String,
        /// What is not supported.
        detail: String,
    },
    /// Cranelift rejected the generated function (a bug in this writer).
    #[error("kernel `{kernel}`: Cranelift failed: {detail}")]
    Backend {
        /// The kernel.
        kernel: String,
        /// Cranelift's message.
        detail: String,
    },
}

/// A CPU target: triple, enabled features and the configured Cranelift ISA.
pub struct CpuTarget {
    triple: String,
    features: Vec<String>,
    isa: OwnedTargetIsa,
    simd: bool,
}

impl std::fmt::Debug for CpuTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CpuTarget")
            .field("triple", &self.triple)
            .field("features", &self.features)
            .field("simd", &self.simd)
            .finish()
    }
}

impl CpuTarget {
    /// A target for `triple` (an x86-64 or aarch64 triple, e.g.
    /// `x86_64-unknown-linux-gnu`, `aarch64-unknown-linux-gnu`) with the given features
    /// (x86-64 only: `sse3`, `ssse3`, `sse4.1`, `sse4.2`, `popcnt`, `avx`, `avx2`,
    /// `bmi1`, `bmi2`, `lzcnt`; the code then runs only where all are present).
    pub fn new(triple: &str, features: &[&str]) -> Result<CpuTarget, WriterError> {
        let err = |detail: String| WriterError::Target {
            triple: triple.to_string(),
            detail,
        };
        let parsed = Triple::from_str(triple).map_err(|e| err(format!("not a target triple: {e}")))?;
        let x86 = match parsed.architecture {
            Architecture::X86_64 => true,
            Architecture::Aarch64(_) => false,
            a => {
                return Err(err(format!(
                    "architecture {a} is not supported (x86_64 and aarch64 are)"
                )))
            }
        };
        let mut flags = settings::builder();
        for (k, v) in [
            ("opt_level", "speed"),
            ("is_pic", "true"),
            ("enable_nan_canonicalization", "false"),
            ("enable_verifier", "true"),
            ("enable_probestack", "false"),
            ("unwind_info", "false"),
            ("preserve_frame_pointers", "true"),
        ] {
            flags.set(k, v).map_err(|e| err(format!("setting {k}={v}: {e}")))?;
        }
        let mut builder = isa::lookup(parsed).map_err(|e| err(e.to_string()))?;
        let mut enabled = Vec::new();
        for f in features {
            let setting = X86_FEATURES
                .iter()
                .find(|(name, _)| name == f)
                .filter(|_| x86)
                .map(|(_, s)| *s)
                .ok_or_else(|| err(format!("unknown CPU feature `{f}`")))?;
            builder.enable(setting).map_err(|e| err(format!("enabling {f}: {e}")))?;
            if !enabled.iter().any(|e: &String| e == f) {
                enabled.push((*f).to_string());
            }
        }
        let isa = builder
            .finish(settings::Flags::new(flags))
            .map_err(|e| err(format!("configuring Cranelift: {e}")))?;
        Ok(CpuTarget {
            triple: triple.to_string(),
            features: enabled,
            isa,
            simd: true,
        })
    }

    /// The same target with SIMD for `vectorized` loops on (the default) or off (every
    /// loop serial; for comparisons: the bits are the same either way).
    pub fn with_simd(mut self, on: bool) -> CpuTarget {
        self.simd = on;
        self
    }

    /// The machine this runs on, with every supported feature it has.
    pub fn host() -> Result<CpuTarget, WriterError> {
        let triple = lightos_runtime::native::host_triple();
        let features = host_features();
        CpuTarget::new(&triple, &features)
    }

    /// Baseline x86-64 Linux (SSE2 only): runs on every x86-64 machine.
    pub fn x86_64_linux() -> Result<CpuTarget, WriterError> {
        CpuTarget::new("x86_64-unknown-linux-gnu", &[])
    }

    /// Baseline aarch64 Linux, compiled on any host.
    pub fn aarch64_linux() -> Result<CpuTarget, WriterError> {
        CpuTarget::new("aarch64-unknown-linux-gnu", &[])
    }

    /// The target triple.
    pub fn triple(&self) -> &str {
        &self.triple
    }

    /// The enabled CPU features (Rust's names).
    pub fn features(&self) -> &[String] {
        &self.features
    }

    fn is_x86(&self) -> bool {
        self.isa.triple().architecture == Architecture::X86_64
    }

    fn has(&self, feature: &str) -> bool {
        self.features.iter().any(|f| f == feature)
    }

    /// Verifies `kernel` and compiles it (see the [module docs](self)).
    pub fn compile(&self, kernel: &Kernel) -> Result<NativeKernelCode, WriterError> {
        verify(kernel).map_err(Box::new)?;
        let unsupported = |detail: String| WriterError::Unsupported {
            kernel: kernel.name.clone(),
            detail,
        };
        if self.is_x86() && !self.has("sse4.1") && emit::uses_rounding(kernel) {
            return Err(unsupported(
                "floor, ceil, trunc and round_even need SSE4.1 on x86-64 (enable `sse4.1`)".into(),
            ));
        }
        let callees = kernel.callees();
        let mut specs = Vec::with_capacity(callees.len());
        for (name, ty, arity) in &callees {
            let symbol = format!("{name}_{}", ty.name());
            match lightos_runtime::native::math_symbol(&symbol) {
                Some(f) if f.arity == *arity => specs.push(CalleeSpec { symbol, arity: *arity }),
                _ => {
                    return Err(unsupported(format!(
                        "the runtime has no function `{symbol}` of {arity} arguments"
                    )))
                }
            }
        }
        let compiled = catch_unwind(AssertUnwindSafe(|| {
            emit::compile(&*self.isa, kernel, &callees, self.simd)
        }))
        .map_err(|_| WriterError::Backend {
            kernel: kernel.name.clone(),
            detail: "the code generator panicked".into(),
        })??;
        Ok(NativeKernelCode {
            name: kernel.name.clone(),
            triple: self.triple.clone(),
            features: self.features.clone(),
            code: compiled,
            entry: 0,
            params: kernel
                .params
                .iter()
                .map(|b| ParamSpec {
                    name: b.name.clone(),
                    dtype: b.dtype,
                    dims: b.dims.clone(),
                    strides: b.strides.clone(),
                    writable: b.access.writable(),
                })
                .collect(),
            callees: specs,
        })
    }
}

/// The supported CPU features of this machine (empty off x86-64).
fn host_features() -> Vec<&'static str> {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        let detected = [
            has!("sse3"),
            has!("ssse3"),
            has!("sse4.1"),
            has!("sse4.2"),
            has!("popcnt"),
            has!("avx"),
            has!("avx2"),
            has!("bmi1"),
            has!("bmi2"),
            has!("lzcnt"),
        ];
        X86_FEATURES
            .iter()
            .zip(detected)
            .filter(|(_, d)| *d)
            .map(|((name, _), _)| *name)
            .collect()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        Vec::new()
    }
}
