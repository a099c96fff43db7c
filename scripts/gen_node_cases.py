"""Writes the ONNX node conformance cases of the installed `onnx` package to a folder.

Usage: python3 scripts/gen_node_cases.py OUT_DIR

Each case NAME becomes OUT_DIR/NAME/ with model.onnx, input_K.pb and output_K.pb
(serialized TensorProto, first data set only). A case whose inputs or outputs are not
plain tensors (sequences, optionals, maps) gets a file `unsupported.txt` saying why,
so the Rust harness can count it as failed with that reason.
"""
import os
import sys
import warnings

import numpy as np
import onnx
from onnx import numpy_helper
import onnx.backend.test.case.node as node_cases


def write_case(out_dir, case):
    case_dir = os.path.join(out_dir, case.name)
    os.makedirs(case_dir, exist_ok=True)
    onnx.save(case.model, os.path.join(case_dir, "model.onnx"))
    inputs, outputs = case.data_sets[0]
    for kind, values in (("input", inputs), ("output", outputs)):
        for k, value in enumerate(values):
            if isinstance(value, onnx.TensorProto):
                with open(os.path.join(case_dir, f"{kind}_{k}.pb"), "wb") as f:
                    f.write(value.SerializeToString())
                continue
            if isinstance(value, np.generic):
                value = np.asarray(value)
            if not isinstance(value, np.ndarray):
                with open(os.path.join(case_dir, "unsupported.txt"), "w") as f:
                    f.write(f"{kind} {k} is a {type(value).__name__}, not a tensor\n")
                continue
            name = None
            graph_values = case.model.graph.input if kind == "input" else case.model.graph.output
            if k < len(graph_values):
                name = graph_values[k].name
            try:
                proto = numpy_helper.from_array(value, name)
            except Exception as err:  # e.g. dtypes numpy_helper cannot express
                with open(os.path.join(case_dir, "unsupported.txt"), "w") as f:
                    f.write(f"{kind} {k} cannot be serialized: {err}\n")
                continue
            with open(os.path.join(case_dir, f"{kind}_{k}.pb"), "wb") as f:
                f.write(proto.SerializeToString())
    with open(os.path.join(case_dir, "tolerance.txt"), "w") as f:
        f.write(f"{case.rtol} {case.atol}\n")


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: gen_node_cases.py OUT_DIR")
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cases = node_cases.collect_testcases()
    for case in cases:
        write_case(out_dir, case)
    print(f"wrote {len(cases)} node cases from onnx {onnx.__version__} to {out_dir}")


if __name__ == "__main__":
    main()
