//! The LightOS runtime: the `.lart` artifact format, NumPy `.npy` I/O, the project's own
//! math functions, and the reference interpreter that defines every op's numerics.
//!
//! It depends on the IR crate only, so a deployed binary never links the compiler.

pub mod artifact;
pub mod backend;
pub mod cpu;
pub mod exec;
pub mod math;
pub mod model;
pub mod native;
pub mod npy;
pub mod plan;
pub mod reference;
#[cfg(test)]
mod test_values;
