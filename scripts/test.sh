#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: installs the Python packages that make
# the ONNX node conformance cases, writes the cases once, then runs every Rust test.
set -euo pipefail
cd "$(dirname "$0")/.."

ONNX_VERSION=1.23.2
if ! python3 -c "import onnx, sys; sys.exit(onnx.__version__ != '$ONNX_VERSION')" 2>/dev/null; then
    python3 -m pip install --quiet --disable-pip-version-check "onnx==$ONNX_VERSION" numpy
fi

cases=target/onnx-node-cases-$ONNX_VERSION
if [ ! -f "$cases/.complete" ]; then
    rm -rf "$cases"
    python3 scripts/gen_node_cases.py "$cases"
    touch "$cases/.complete"
fi
export LIGHTOS_NODE_CASES="$PWD/$cases"

cargo test --workspace "$@"
