//! Run-time instruction-set detection and kernel dispatch.
//!
//! [`Isa::detect`] picks the widest instruction set the running CPU has: AVX-512F, then
//! AVX2 with FMA on x86-64, NEON on AArch64, else portable scalar code. Every kernel entry
//! point below is a `#[target_feature]` function that instantiates the generic kernels of
//! `kernel.rs` for one instruction set and mode; [`kernels`] hands out the table for an
//! `(Isa, Mode)` pair and is only ever called after [`Isa::is_available`] said yes.

use super::kernel::{macro_kernel, MacroJob};
use super::simd::Scalar;
use super::Mode;

/// An instruction set the CPU kernels are compiled for.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Isa {
    /// Portable scalar code (any CPU). Its fast mode is its strict mode: no fused
    /// multiply-add is assumed.
    Scalar,
    /// x86-64 AVX2 with FMA: 6 x 16 tiles in 12 `ymm` accumulators.
    Avx2,
    /// x86-64 AVX-512F: 12 x 32 tiles in 24 `zmm` accumulators.
    Avx512,
    /// AArch64 NEON: 8 x 8 tiles in 16 `v` accumulators.
    Neon,
}

impl Isa {
    /// Every instruction set, narrowest first.
    pub const ALL: [Isa; 4] = [Isa::Scalar, Isa::Avx2, Isa::Avx512, Isa::Neon];

    /// The widest instruction set the running CPU has.
    pub fn detect() -> Isa {
        [Isa::Avx512, Isa::Avx2, Isa::Neon]
            .into_iter()
            .find(|i| i.is_available())
            .unwrap_or(Isa::Scalar)
    }

    /// Whether the running CPU (and this build's target architecture) has this
    /// instruction set.
    pub fn is_available(self) -> bool {
        match self {
            Isa::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => {
                is_x86_feature_detected!("avx512f")
                    && is_x86_feature_detected!("avx2")
                    && is_x86_feature_detected!("fma")
            }
            #[cfg(target_arch = "aarch64")]
            Isa::Neon => std::arch::is_aarch64_feature_detected!("neon"),
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }

    /// The instruction sets available on the running CPU, narrowest first.
    pub fn available() -> Vec<Isa> {
        Isa::ALL.into_iter().filter(|i| i.is_available()).collect()
    }

    /// Rows of one register tile (`MR`).
    pub fn tile_rows(self) -> usize {
        match self {
            Isa::Scalar => 4,
            Isa::Avx2 => 6,
            Isa::Avx512 => 12,
            Isa::Neon => 8,
        }
    }

    /// Columns of one register tile (`NR`), the width of a packed B panel.
    pub fn tile_cols(self) -> usize {
        match self {
            Isa::Scalar => 4,
            Isa::Avx2 => 16,
            Isa::Avx512 => 32,
            Isa::Neon => 8,
        }
    }
}

/// A macrokernel entry point.
pub(crate) type MacroFn = unsafe fn(&MacroJob);

/// The kernels and cache blocking of one `(Isa, Mode)` pair.
#[derive(Copy, Clone)]
pub(crate) struct Kernels {
    /// Tile rows.
    pub mr: usize,
    /// Tile columns.
    pub nr: usize,
    /// Largest K block (the packed B panel, `kc * nr`, stays in L1).
    pub kc: usize,
    /// Rows per A block (a multiple of `mr`; the `mc * kc` A block stays in L2).
    pub mc: usize,
    /// Columns per packed B block (a multiple of `nr`).
    pub nc: usize,
    /// The macrokernel.
    pub run: MacroFn,
}

/// The kernel table for `isa` in `mode`. The caller has checked [`Isa::is_available`].
pub(crate) fn kernels(isa: Isa, mode: Mode) -> Kernels {
    let fast = mode == Mode::Fast;
    let (isa, run): (Isa, MacroFn) = match isa {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 if fast => (isa, x86::avx2_fast),
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => (isa, x86::avx2_strict),
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 if fast => (isa, x86::avx512_fast),
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => (isa, x86::avx512_strict),
        #[cfg(target_arch = "aarch64")]
        Isa::Neon if fast => (isa, arm::neon_fast),
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => (isa, arm::neon_strict),
        // Scalar, or an ISA this build has no code for (never reached after the check).
        _ => (Isa::Scalar, scalar_strict),
    };
    let (mr, nr) = (isa.tile_rows(), isa.tile_cols());
    Kernels {
        mr,
        nr,
        kc: super::gemm::KC,
        mc: mr * (144 / mr).max(1),
        nc: nr * (4096 / nr),
        run,
    }
}

/// Portable scalar macrokernel (strict; also used for fast mode).
unsafe fn scalar_strict(job: &MacroJob) {
    macro_kernel::<Scalar, 4, 4, false>(job)
}

/// x86-64 entry points.
#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::super::kernel::{macro_kernel, MacroJob};
    use super::super::simd::{Avx2, Avx512};

    /// AVX2 strict: multiply then add, 6 x 16 tiles.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn avx2_strict(job: &MacroJob) {
        macro_kernel::<Avx2, 6, 2, false>(job)
    }

    /// AVX2 fast: fused multiply-add, 6 x 16 tiles.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn avx2_fast(job: &MacroJob) {
        macro_kernel::<Avx2, 6, 2, true>(job)
    }

    /// AVX-512F strict: multiply then add, 12 x 32 tiles.
    #[target_feature(enable = "avx512f,avx2,fma")]
    pub(super) unsafe fn avx512_strict(job: &MacroJob) {
        macro_kernel::<Avx512, 12, 2, false>(job)
    }

    /// AVX-512F fast: fused multiply-add, 12 x 32 tiles.
    #[target_feature(enable = "avx512f,avx2,fma")]
    pub(super) unsafe fn avx512_fast(job: &MacroJob) {
        macro_kernel::<Avx512, 12, 2, true>(job)
    }
}

/// AArch64 entry points (NEON is part of the AArch64 baseline).
#[cfg(target_arch = "aarch64")]
mod arm {
    use super::super::kernel::{macro_kernel, MacroJob};
    use super::super::simd::Neon;

    /// NEON strict: multiply then add, 8 x 8 tiles.
    #[target_feature(enable = "neon")]
    pub(super) unsafe fn neon_strict(job: &MacroJob) {
        macro_kernel::<Neon, 8, 2, false>(job)
    }

    /// NEON fast: fused multiply-add, 8 x 8 tiles.
    #[target_feature(enable = "neon")]
    pub(super) unsafe fn neon_fast(job: &MacroJob) {
        macro_kernel::<Neon, 8, 2, true>(job)
    }
}
