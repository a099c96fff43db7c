//! The function table native kernels call through: the project's own math functions
//! ([`crate::math`]) behind C-ABI wrappers.

use crate::math;

/// A function native code may call: its C-ABI address and arity. Arguments and result
/// are all of the type its symbol's suffix names (`_f32` or `_f64`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct MathFn {
    /// The address of an `extern "C" fn` taking `arity` scalars and returning one.
    pub address: usize,
    /// The number of arguments.
    pub arity: usize,
}

/// Declares C-ABI wrappers around math functions and the symbol table.
macro_rules! table {
    ($(unary $ty:ty: $($u:ident),* ; binary: $($b:ident),* ;)*) => {
        mod wrappers {
            use super::math;
            $(
                $(
                    #[allow(missing_docs)]
                    pub extern "C" fn $u(x: $ty) -> $ty { math::$u(x) }
                )*
                $(
                    #[allow(missing_docs)]
                    pub extern "C" fn $b(x: $ty, y: $ty) -> $ty { math::$b(x, y) }
                )*
            )*
        }

        /// The function a kernel calls as `symbol` (a math function name with a type
        /// suffix, e.g. `exp_f32`, `pow_f64`, as the kernel IR's `call exp.f32` is
        /// named); `None` for an unknown symbol.
        ///
        /// Known: `exp`, `exp2`, `exp_m1`, `ln`, `ln_1p`, `log2`, `log10`, `sin`, `cos`,
        /// `tan`, `asin`, `acos`, `atan`, `sinh`, `cosh`, `tanh`, `asinh`, `acosh`,
        /// `atanh`, `erf`, `sigmoid` (one argument) and `pow`, `atan2` (two), each as
        /// `_f32` and `_f64`.
        pub fn math_symbol(symbol: &str) -> Option<MathFn> {
            match symbol {
                $(
                    $(stringify!($u) => Some(MathFn { address: wrappers::$u as *const () as usize, arity: 1 }),)*
                    $(stringify!($b) => Some(MathFn { address: wrappers::$b as *const () as usize, arity: 2 }),)*
                )*
                _ => None,
            }
        }
    };
}

table! {
    unary f32: exp_f32, exp2_f32, exp_m1_f32, ln_f32, ln_1p_f32, log2_f32, log10_f32, sin_f32,
        cos_f32, tan_f32, asin_f32, acos_f32, atan_f32, sinh_f32, cosh_f32, tanh_f32,
        asinh_f32, acosh_f32, atanh_f32, erf_f32, sigmoid_f32;
    binary: pow_f32, atan2_f32;
    unary f64: exp_f64, exp2_f64, exp_m1_f64, ln_f64, ln_1p_f64, log2_f64, log10_f64, sin_f64,
        cos_f64, tan_f64, asin_f64, acos_f64, atan_f64, sinh_f64, cosh_f64, tanh_f64,
        asinh_f64, acosh_f64, atanh_f64, erf_f64, sigmoid_f64;
    binary: pow_f64, atan2_f64;
}
