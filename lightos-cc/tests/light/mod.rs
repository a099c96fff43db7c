//! The nine `light_*` models the `onnx` package ships, shared by the test files that run
//! them: their names, and the folder `scripts/gen_model_refs.py` wrote them and ONNX
//! Runtime's outputs into (named by `LIGHTOS_MODEL_REFS`; `scripts/test.sh` sets it).

use std::path::PathBuf;

/// The models, without the `light_` prefix.
pub const LIGHT: [&str; 9] = [
    "bvlc_alexnet",
    "densenet121",
    "inception_v1",
    "inception_v2",
    "resnet50",
    "shufflenet",
    "squeezenet",
    "vgg19",
    "zfnet512",
];

/// The folder holding the models, their seeded inputs and ONNX Runtime's outputs.
pub fn refs() -> PathBuf {
    let dir = std::env::var_os("LIGHTOS_MODEL_REFS")
        .expect("LIGHTOS_MODEL_REFS is not set: run scripts/test.sh, which writes ONNX Runtime's reference outputs");
    PathBuf::from(dir)
}
