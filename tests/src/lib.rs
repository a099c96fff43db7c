//! Shared helpers of the LightOS integration tests: where the test data lives, and
//! numeric comparison of tensors against references.

use std::path::{Path, PathBuf};

use lightos_ir::{DType, Tensor};

/// The folder of this crate's test data.
pub fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data")
}

/// The folder of the fixture models (copied from `shared/fixtures`).
pub fn fixtures_dir() -> PathBuf {
    data_dir().join("fixtures")
}

/// The fixture models, by name.
pub const FIXTURES: [&str; 4] = ["digits_mlp", "digits_cnn", "lenet_bn", "tiny_transformer"];

/// Compares `actual` with `expected`: same dtype and dims; floats within
/// `atol + rtol * |expected|` (NaN matches NaN, infinities must be equal); integers and
/// bools exactly. Returns a description of the first mismatch.
pub fn compare(actual: &Tensor, expected: &Tensor, rtol: f64, atol: f64) -> Result<(), String> {
    if actual.dtype() != expected.dtype() {
        return Err(format!(
            "dtype {} where {} was expected",
            actual.dtype(),
            expected.dtype()
        ));
    }
    if actual.dims() != expected.dims() {
        return Err(format!(
            "dims {:?} where {:?} were expected",
            actual.dims(),
            expected.dims()
        ));
    }
    if !actual.dtype().is_float() {
        if actual.bytes() == expected.bytes() {
            return Ok(());
        }
        let (a, e) = (actual.to_f64_vec(), expected.to_f64_vec());
        let i = (0..a.len()).find(|&i| a[i] != e[i]).unwrap_or(0);
        return Err(format!(
            "element {i} is {} where {} was expected (exact match required)",
            a.get(i).copied().unwrap_or(f64::NAN),
            e.get(i).copied().unwrap_or(f64::NAN)
        ));
    }
    let (a, e) = (actual.to_f64_vec(), expected.to_f64_vec());
    for i in 0..a.len() {
        let (x, y) = (a[i], e[i]);
        let ok = if y.is_nan() || x.is_nan() {
            x.is_nan() && y.is_nan()
        } else if y.is_infinite() || x.is_infinite() {
            x == y
        } else {
            (x - y).abs() <= atol + rtol * y.abs()
        };
        if !ok {
            return Err(format!(
                "element {i} is {x} where {y} was expected (rtol {rtol}, atol {atol})"
            ));
        }
    }
    Ok(())
}

/// Whether `dtype` is compared exactly.
pub fn is_exact(dtype: DType) -> bool {
    !dtype.is_float()
}
