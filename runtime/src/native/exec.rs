//! Mapping native code into executable memory and calling it.

use lightos_ir::Tensor;
use memmap2::{Mmap, MmapMut};

use super::{math_symbol, NativeError, NativeKernelCode, ParamSpec};

/// The C-ABI signature of every native kernel (see the [module docs](super)).
type KernelFn = unsafe extern "C" fn(*const *mut u8, *const usize);

/// The calling-convention family of a target.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum AbiFamily {
    /// System V (x86-64 Linux, BSD and macOS) or AAPCS64 (aarch64 Linux).
    Standard,
    /// Windows x64.
    Windows,
    /// Apple's aarch64 variant of AAPCS64.
    Apple,
}

/// The architecture (as in Rust's `target_arch`) and calling-convention family of a
/// target triple.
fn triple_class(triple: &str) -> (String, AbiFamily) {
    let arch = triple.split('-').next().unwrap_or_default();
    let arch = match arch {
        "arm64" => "aarch64",
        "amd64" => "x86_64",
        a => a,
    };
    let family = if triple.contains("windows") {
        AbiFamily::Windows
    } else if arch == "aarch64" && ["apple", "darwin", "macos", "ios"].iter().any(|os| triple.contains(os)) {
        AbiFamily::Apple
    } else {
        AbiFamily::Standard
    };
    (arch.to_string(), family)
}

/// The target triple of this machine, e.g. `x86_64-unknown-linux-gnu`.
pub fn host_triple() -> String {
    let arch = std::env::consts::ARCH;
    let rest = match std::env::consts::OS {
        "linux" if cfg!(target_env = "musl") => "unknown-linux-musl",
        "linux" => "unknown-linux-gnu",
        "macos" => "apple-darwin",
        "windows" if cfg!(target_env = "gnu") => "pc-windows-gnu",
        "windows" => "pc-windows-msvc",
        os => return format!("{arch}-unknown-{os}"),
    };
    format!("{arch}-{rest}")
}

/// Whether this machine has the CPU feature `name` (Rust's feature names); `false` for
/// a name this build does not know.
fn has_feature(name: &str) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        match name {
            "sse2" => true,
            "sse3" => has!("sse3"),
            "ssse3" => has!("ssse3"),
            "sse4.1" => has!("sse4.1"),
            "sse4.2" => has!("sse4.2"),
            "popcnt" => has!("popcnt"),
            "avx" => has!("avx"),
            "avx2" => has!("avx2"),
            "fma" => has!("fma"),
            "bmi1" => has!("bmi1"),
            "bmi2" => has!("bmi2"),
            "lzcnt" => has!("lzcnt"),
            "avx512f" => has!("avx512f"),
            "avx512vl" => has!("avx512vl"),
            "avx512dq" => has!("avx512dq"),
            _ => false,
        }
    }
    #[cfg(target_arch = "aarch64")]
    {
        use std::arch::is_aarch64_feature_detected as has;
        match name {
            "neon" => true,
            "lse" => has!("lse"),
            "fp16" => has!("fp16"),
            "dotprod" => has!("dotprod"),
            "i8mm" => has!("i8mm"),
            _ => false,
        }
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        let _ = name;
        false
    }
}

/// Makes freshly written code visible to instruction fetch (aarch64 has no coherent
/// instruction cache).
#[cfg(target_arch = "aarch64")]
fn sync_icache(start: *const u8, len: usize) {
    use std::arch::asm;
    let ctr: u64;
    // SAFETY: reading CTR_EL0 is allowed at EL0 on every aarch64 OS LightOS supports,
    // and the cache maintenance instructions only touch lines of our own mapping.
    unsafe {
        asm!("mrs {}, ctr_el0", out(reg) ctr, options(nomem, nostack));
        let dline = 4usize << ((ctr >> 16) & 0xf);
        let iline = 4usize << (ctr & 0xf);
        let (begin, end) = (start as usize, start as usize + len);
        let mut a = begin & !(dline - 1);
        while a < end {
            asm!("dc cvau, {}", in(reg) a, options(nostack));
            a += dline;
        }
        asm!("dsb ish", options(nostack));
        let mut a = begin & !(iline - 1);
        while a < end {
            asm!("ic ivau, {}", in(reg) a, options(nostack));
            a += iline;
        }
        asm!("dsb ish", "isb", options(nostack));
    }
}

/// Other architectures keep instruction fetch coherent with stores.
#[cfg(not(target_arch = "aarch64"))]
fn sync_icache(_start: *const u8, _len: usize) {}

/// One argument of [`NativeKernel::run`]: the bytes of a buffer.
#[derive(Debug)]
pub enum KernelArg<'a> {
    /// A buffer the kernel only reads.
    Read(&'a [u8]),
    /// A buffer the kernel may write (it may also read it).
    Write(&'a mut [u8]),
}

impl<'a> KernelArg<'a> {
    /// A read-only buffer of plain elements (`f32`, `i64`, ...).
    pub fn read<T: bytemuck::Pod>(data: &'a [T]) -> KernelArg<'a> {
        KernelArg::Read(bytemuck::cast_slice(data))
    }

    /// A writable buffer of plain elements.
    pub fn write<T: bytemuck::Pod>(data: &'a mut [T]) -> KernelArg<'a> {
        KernelArg::Write(bytemuck::cast_slice_mut(data))
    }

    fn bytes(&self) -> &[u8] {
        match self {
            KernelArg::Read(b) => b,
            KernelArg::Write(b) => b,
        }
    }
}

/// A native kernel mapped into executable memory, ready to run.
#[derive(Debug)]
pub struct NativeKernel {
    name: String,
    params: Vec<ParamSpec>,
    /// The callee addresses, in the kernel's function table order.
    funcs: Vec<usize>,
    /// The code, read-only and executable.
    map: Mmap,
    entry: usize,
}

impl NativeKernel {
    /// Checks `code` against this machine and maps it executable.
    ///
    /// Refused with an error: code for another architecture or calling convention
    /// ([`NativeError::ForeignTarget`]), needing a CPU feature this machine lacks
    /// ([`NativeError::MissingFeature`]), calling a function the runtime does not provide
    /// ([`NativeError::UnknownCallee`]), or with an entry outside its code or a parameter
    /// whose size overflows ([`NativeError::InvalidKernel`]).
    ///
    /// # Safety
    ///
    /// The bytes are executed by [`NativeKernel::run`]. The caller vouches that they are
    /// what the LightOS native writer produced for exactly the parameters and callees
    /// `code` declares (for instance, read from an artifact this build's compiler wrote):
    /// such code accesses only its parameters' extents, stores only to writable ones,
    /// and calls only its declared callees.
    pub unsafe fn load(code: &NativeKernelCode) -> Result<NativeKernel, NativeError> {
        let kernel = code.name.clone();
        let host = host_triple();
        if triple_class(&code.triple) != triple_class(&host) {
            return Err(NativeError::ForeignTarget {
                kernel,
                triple: code.triple.clone(),
                host,
            });
        }
        if let Some(f) = code.features.iter().find(|f| !has_feature(f)) {
            return Err(NativeError::MissingFeature {
                kernel,
                feature: f.clone(),
            });
        }
        let invalid = |detail: String| NativeError::InvalidKernel {
            kernel: code.name.clone(),
            detail,
        };
        if code.entry >= code.code.len() {
            return Err(invalid(format!(
                "entry offset {} is outside its {} bytes of code",
                code.entry,
                code.code.len()
            )));
        }
        for p in &code.params {
            if p.byte_len().is_none() {
                return Err(invalid(format!("buffer `{}` has a bad or overflowing shape", p.name)));
            }
        }
        let mut funcs = Vec::with_capacity(code.callees.len());
        for c in &code.callees {
            match math_symbol(&c.symbol) {
                Some(f) if f.arity == c.arity => funcs.push(f.address),
                _ => {
                    return Err(NativeError::UnknownCallee {
                        kernel,
                        symbol: c.symbol.clone(),
                        arity: c.arity,
                    })
                }
            }
        }
        let map_err = |source| NativeError::Map {
            kernel: code.name.clone(),
            source,
        };
        let mut rw = MmapMut::map_anon(code.code.len()).map_err(map_err)?;
        rw.copy_from_slice(&code.code);
        sync_icache(rw.as_ptr(), rw.len());
        let map = rw.make_exec().map_err(map_err)?;
        Ok(NativeKernel {
            name: code.name.clone(),
            params: code.params.clone(),
            funcs,
            map,
            entry: code.entry,
        })
    }

    /// The kernel's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The parameters, in argument order.
    pub fn params(&self) -> &[ParamSpec] {
        &self.params
    }

    /// Runs the kernel on `args`, one per parameter in order.
    ///
    /// Each argument must have exactly the parameter's byte length (its extent times the
    /// element size) and be aligned to the element size, and a writable parameter needs
    /// a [`KernelArg::Write`]; otherwise nothing runs and the error names the buffer.
    pub fn run(&self, args: &mut [KernelArg<'_>]) -> Result<(), NativeError> {
        if args.len() != self.params.len() {
            return Err(NativeError::ArgCount {
                kernel: self.name.clone(),
                expected: self.params.len(),
                given: args.len(),
            });
        }
        let mut ptrs: Vec<*mut u8> = Vec::with_capacity(args.len());
        for (p, a) in self.params.iter().zip(args.iter_mut()) {
            let bad = |detail: String| NativeError::BadArg {
                kernel: self.name.clone(),
                param: p.name.clone(),
                detail,
            };
            let want = p.byte_len().ok_or_else(|| bad("the shape overflows".into()))?;
            let bytes = a.bytes();
            if bytes.len() != want {
                return Err(bad(format!(
                    "expected {want} bytes ({} {:?}), got {}",
                    p.dtype.name(),
                    p.dims,
                    bytes.len()
                )));
            }
            let size = p.dtype.size_bytes().max(1);
            if want > 0 && bytes.as_ptr().align_offset(size) != 0 {
                return Err(bad(format!("the data is not aligned to {size} bytes")));
            }
            match a {
                KernelArg::Write(b) => ptrs.push(b.as_mut_ptr()),
                KernelArg::Read(_) if p.writable => {
                    return Err(bad(
                        "the kernel writes this buffer, so it needs a writable argument".into()
                    ))
                }
                // The kernel never stores to a read-only parameter.
                KernelArg::Read(b) => ptrs.push(b.as_ptr().cast_mut()),
            }
        }
        // SAFETY: `load`'s contract says the code at `entry` is a kernel of `KernelFn`'s
        // signature that accesses only its parameters' extents (checked above against the
        // arguments' lengths and alignment), writes only writable ones (which have unique
        // `&mut` arguments), and calls only the resolved functions in `funcs`.
        unsafe {
            let f: KernelFn = std::mem::transmute::<*const u8, KernelFn>(self.map.as_ptr().add(self.entry));
            f(ptrs.as_ptr(), self.funcs.as_ptr());
        }
        Ok(())
    }

    /// Runs the kernel on tensors: `inputs` bind the read-only parameters in order, and
    /// each writable parameter gets a fresh zero-filled tensor, returned in parameter
    /// order. Every parameter must be contiguous, and each input must have its
    /// parameter's dtype and dims.
    pub fn run_tensors(&self, inputs: &[&Tensor]) -> Result<Vec<Tensor>, NativeError> {
        let readable = self.params.iter().filter(|p| !p.writable).count();
        if inputs.len() != readable {
            return Err(NativeError::ArgCount {
                kernel: self.name.clone(),
                expected: readable,
                given: inputs.len(),
            });
        }
        let bad = |p: &ParamSpec, detail: String| NativeError::BadArg {
            kernel: self.name.clone(),
            param: p.name.clone(),
            detail,
        };
        let mut outputs: Vec<Vec<u64>> = Vec::new();
        let mut next_input = inputs.iter();
        for p in &self.params {
            if !p.is_contiguous() {
                return Err(bad(p, "strided buffers take raw arguments (`run`)".into()));
            }
            if p.writable {
                let len = p.byte_len().ok_or_else(|| bad(p, "the shape overflows".into()))?;
                outputs.push(vec![0u64; len.div_ceil(8)]);
            } else if let Some(t) = next_input.next() {
                if t.dtype() != p.dtype || t.dims() != p.dims.as_slice() {
                    return Err(bad(
                        p,
                        format!(
                            "expected {} {:?}, got {} {:?}",
                            p.dtype.name(),
                            p.dims,
                            t.dtype().name(),
                            t.dims()
                        ),
                    ));
                }
            }
        }
        {
            let mut outs = outputs.iter_mut();
            let mut ins = inputs.iter();
            let mut args = Vec::with_capacity(self.params.len());
            for p in &self.params {
                let len = p.byte_len().unwrap_or(0);
                if p.writable {
                    if let Some(o) = outs.next() {
                        let bytes: &mut [u8] = bytemuck::cast_slice_mut(o.as_mut_slice());
                        args.push(KernelArg::Write(&mut bytes[..len]));
                    }
                } else if let Some(t) = ins.next() {
                    args.push(KernelArg::Read(t.bytes()));
                }
            }
            self.run(&mut args)?;
        }
        let mut result = Vec::with_capacity(outputs.len());
        for (p, o) in self.params.iter().filter(|p| p.writable).zip(&outputs) {
            let len = p.byte_len().unwrap_or(0);
            let bytes: &[u8] = bytemuck::cast_slice(o.as_slice());
            let t = Tensor::from_bytes(p.dtype, p.dims.clone(), &bytes[..len])
                .map_err(|e| bad(p, format!("the kernel wrote an invalid tensor: {e}")))?;
            result.push(t);
        }
        Ok(result)
    }
}
