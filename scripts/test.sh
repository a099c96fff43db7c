#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: installs the Python packages that make
# the ONNX node conformance cases and the ONNX Runtime references, writes them once
# (under target/), then runs every Rust test.
set -euo pipefail
cd "$(dirname "$0")/.."

ONNX_VERSION=1.23.2
ORT_VERSION=1.32.0
if ! python3 -c "import onnx, sys; sys.exit(onnx.__version__ != '$ONNX_VERSION')" 2>/dev/null; then
    python3 -m pip install --quiet --disable-pip-version-check "onnx==$ONNX_VERSION" numpy
fi
if ! python3 -c "import onnxruntime, sys; sys.exit(onnxruntime.__version__ != '$ORT_VERSION')" 2>/dev/null; then
    python3 -m pip install --quiet --disable-pip-version-check "onnxruntime==$ORT_VERSION"
fi

cases=target/onnx-node-cases-$ONNX_VERSION-$(sha1sum scripts/gen_node_cases.py | cut -c1-8)
if [ ! -f "$cases/.complete" ]; then
    rm -rf "$cases"
    python3 scripts/gen_node_cases.py "$cases"
    touch "$cases/.complete"
fi
export LIGHTOS_NODE_CASES="$PWD/$cases"

refs=target/model-refs-$ORT_VERSION-$(cat scripts/gen_model_refs.py tests/data/models/*.onnx | sha1sum | cut -c1-8)
if [ ! -f "$refs/.complete" ]; then
    rm -rf "$refs"
    python3 scripts/gen_model_refs.py "$refs"
    touch "$refs/.complete"
fi
export LIGHTOS_MODEL_REFS="$PWD/$refs"

cargo test --workspace --no-fail-fast "$@" -- --show-output
