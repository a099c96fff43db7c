"""Writes seeded inputs and ONNX Runtime's outputs for the model tests.

Usage: python3 scripts/gen_model_refs.py OUT_DIR

For each of the nine `light_*.onnx` models shipped in the `onnx` package, writes
OUT_DIR/NAME.onnx, OUT_DIR/NAME_in.npy (uniform [0, 1) input, seed 0) and
OUT_DIR/NAME_out_K.npy (ONNX Runtime's K-th output, CPU, 1 thread). The light models'
weights are constants, so their final softmax is nearly uniform; the copy therefore also
exposes the input of the last Softmax (the logits) as a second output, which checks the
whole network's arithmetic. For the dynamic-batch digits
models in tests/data/models, writes ONNX Runtime's outputs at batch 1, 3 and 8 on the
digits test split.
"""
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort

LIGHT = ["bvlc_alexnet", "densenet121", "inception_v1", "inception_v2", "resnet50",
         "shufflenet", "squeezenet", "vgg19", "zfnet512"]
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def session(path):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])


def light_models(out_dir):
    light_dir = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", "light")
    for name in LIGHT:
        src = os.path.join(light_dir, f"light_{name}.onnx")
        dst = os.path.join(out_dir, f"light_{name}.onnx")
        model = onnx.load(src)
        softmaxes = [n for n in model.graph.node if n.op_type == "Softmax"]
        if softmaxes:
            logits = softmaxes[-1].input[0]
            model.graph.output.append(onnx.helper.make_tensor_value_info(logits, onnx.TensorProto.FLOAT, None))
        onnx.save(model, dst)
        sess = session(dst)
        inits = {i.name for i in onnx.load(dst).graph.initializer}
        feeds = [i for i in sess.get_inputs() if i.name not in inits]
        assert len(feeds) == 1, f"{name}: expected one data input, got {[f.name for f in feeds]}"
        shape = [d if isinstance(d, int) else 1 for d in feeds[0].shape]
        x = np.random.default_rng(0).random(shape, dtype=np.float32)
        np.save(os.path.join(out_dir, f"light_{name}_in.npy"), x)
        for k, y in enumerate(sess.run(None, {feeds[0].name: x})):
            np.save(os.path.join(out_dir, f"light_{name}_out_{k}.npy"), y)


def dynamic_digits(out_dir):
    x_test = np.load(os.path.join(REPO, "tests", "data", "fixtures", "digits_X_test.npy"))
    for name, reshape in (("digits_mlp_dynamic", lambda x: x), ("digits_cnn_dynamic", lambda x: x.reshape(-1, 1, 8, 8))):
        sess = session(os.path.join(REPO, "tests", "data", "models", f"{name}.onnx"))
        for batch in (1, 3, 8):
            x = reshape(x_test[:batch]).astype(np.float32)
            y = sess.run(None, {sess.get_inputs()[0].name: x})[0]
            np.save(os.path.join(out_dir, f"{name}_b{batch}_in.npy"), x)
            np.save(os.path.join(out_dir, f"{name}_b{batch}_out.npy"), y)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: gen_model_refs.py OUT_DIR")
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    light_models(out_dir)
    dynamic_digits(out_dir)
    print(f"wrote model references from onnxruntime {ort.__version__} to {out_dir}")


if __name__ == "__main__":
    main()
