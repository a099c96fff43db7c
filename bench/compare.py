"""Runs ONNX Runtime and `lightos-cc bench` side by side on this machine.

Usage: python3 bench/compare.py [--iters N] [--rounds R] [--threads 1,2] [--refs DIR]

For the fixture models and the nine `light_*` models (copied by
scripts/gen_model_refs.py into DIR, default target/model-refs-*), at each thread count,
prints each model's median latency under ONNX Runtime (pip, same thread count, all
graph optimizations) and under LightOS (CPU backend, fast mode) without and with the
fusion pass, the kernel counts before and after fusion (from `lightos-cc inspect`), the
ratio fused LightOS / ONNX Runtime, the speed-up fusion gives, and fused LightOS's
GFLOP/s (multiply-adds of Conv, ConvTranspose, Gemm and MatMul counted as 2 flops), then
the geometric means of the ratios.

This machine's speed swings by up to 1.5x from one second to the next, so each model is
timed in R rounds (default 3) that alternate ONNX Runtime, fused and unfused LightOS;
each figure is the fastest round's median, so all three are read at the machine's
quieter moments rather than one at a good and another at a bad one. The `paired` column
is a second estimate of the ratio that a change of speed between rounds cannot bias: the
median over the rounds of fused LightOS's median over ONNX Runtime's median in that
round, the two timed back to back.
"""
import re
import argparse
import glob
import json
import math
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
import onnxruntime as ort

ort.set_default_logger_severity(3)
from onnx import shape_inference

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CC = os.path.join(REPO, "target", "release", "lightos-cc")


def flops(model_path):
    """Multiply-add flops of the model's products and convolutions, from inferred shapes."""
    model = shape_inference.infer_shapes(onnx.load(model_path))
    shapes = {}
    for v in list(model.graph.value_info) + list(model.graph.input) + list(model.graph.output):
        dims = [d.dim_value for d in v.type.tensor_type.shape.dim]
        shapes[v.name] = dims
    for init in model.graph.initializer:
        shapes[init.name] = list(init.dims)
    total = 0
    for node in model.graph.node:
        out = shapes.get(node.output[0])
        if not out or 0 in out:
            continue
        if node.op_type in ("Conv", "ConvTranspose"):
            w = shapes.get(node.input[1])
            if w:
                per_out = math.prod(w[1:]) if node.op_type == "Conv" else w[0] * math.prod(w[2:])
                total += 2 * math.prod(out) * per_out // (1 if node.op_type == "Conv" else out[1])
        elif node.op_type in ("Gemm", "MatMul"):
            a = shapes.get(node.input[0])
            if a:
                k = a[0] if node.op_type == "Gemm" and any(x.name == "transA" and x.i for x in node.attribute) else a[-1]
                total += 2 * math.prod(out) * k
    return total


def ort_median(model_path, feeds, threads, iters):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(model_path, opts, providers=["CPUExecutionProvider"])
    sess.run(None, feeds)
    times = []
    for _ in range(iters):
        start = time.perf_counter()
        sess.run(None, feeds)
        times.append(time.perf_counter() - start)
    # ONNX Runtime's workers spin for a while after a run; let them stop before LightOS
    # runs on the same cores.
    del sess
    time.sleep(0.5)
    return float(np.median(times)) * 1e3


def compiled(model_path, work, fused):
    """The artifact of the model, with or without fusion, compiled once."""
    art = os.path.join(work, os.path.basename(model_path) + (".lart" if fused else ".unfused.lart"))
    if not os.path.exists(art):
        extra = [] if fused else ["--disable-pass", "fuse"]
        subprocess.run([CC, model_path, "-o", art] + extra, check=True)
    return art


def kernel_counts(art):
    """Kernels before and after fusion, from `inspect`."""
    out = subprocess.run([CC, "inspect", art], check=True, capture_output=True, text=True).stdout
    m = re.search(r"fusion: (\d+) kernels before, (\d+) after", out)
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


def lightos_median(art, inputs, threads, iters):
    args = [CC, "bench", art, "--iters", str(iters), "--threads", str(threads), "--json"]
    for name, path in inputs:
        args += ["--input", f"{name}={path}"]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    return json.loads(out)["median_ms"]


def models(refs):
    fixtures = os.path.join(REPO, "tests", "data", "fixtures")
    for name in ("digits_mlp", "digits_cnn", "lenet_bn", "tiny_transformer"):
        yield name, os.path.join(fixtures, f"{name}.onnx"), os.path.join(fixtures, f"{name}_in.npy")
    for path in sorted(glob.glob(os.path.join(refs, "light_*.onnx"))):
        name = os.path.basename(path)[:-5]
        yield name, path, os.path.join(refs, f"{name}_in.npy")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--iters", type=int, default=10)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--threads", default="1,2")
    p.add_argument("--refs", default=None)
    a = p.parse_args()
    refs = a.refs or next(iter(sorted(glob.glob(os.path.join(REPO, "target", "model-refs-*")))), None)
    if not refs:
        sys.exit("no model references: run scripts/test.sh (or scripts/gen_model_refs.py) first")
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "lightos-cc"], check=True, cwd=REPO)
    with tempfile.TemporaryDirectory() as work:
        for threads in [int(t) for t in a.threads.split(",")]:
            print(f"threads={threads}")
            print(
                f"{'model':24} {'kernels':>9} {'ORT ms':>9} {'unfused ms':>11} {'fused ms':>9} "
                f"{'ratio':>6} {'paired':>6} {'fusion':>7} {'GFLOP/s':>8}"
            )
            ratios, unfused_ratios, speedups, light, light_paired = [], [], [], [], []
            for name, model_path, input_path in models(refs):
                sess_inputs = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"]).get_inputs()
                inits = {i.name for i in onnx.load(model_path).graph.initializer}
                data = [i for i in sess_inputs if i.name not in inits]
                x = np.load(input_path)
                feeds = {data[0].name: x}
                feed = [(data[0].name, input_path)]
                fused_art = compiled(model_path, work, True)
                unfused_art = compiled(model_path, work, False)
                ort_ms = unfused_ms = ours_ms = math.inf
                per_round = []
                for _ in range(a.rounds):
                    ort_round = ort_median(model_path, feeds, threads, a.iters)
                    ours_round = lightos_median(fused_art, feed, threads, a.iters)
                    per_round.append(ours_round / ort_round)
                    ort_ms, ours_ms = min(ort_ms, ort_round), min(ours_ms, ours_round)
                    unfused_ms = min(unfused_ms, lightos_median(unfused_art, feed, threads, a.iters))
                paired = float(np.median(per_round))
                before, after = kernel_counts(fused_art)
                gflops = flops(model_path) / (ours_ms * 1e6)
                ratio = ours_ms / ort_ms
                ratios.append(ratio)
                if name.startswith("light_"):
                    light.append(ratio)
                    light_paired.append(paired)
                unfused_ratios.append(unfused_ms / ort_ms)
                speedups.append(unfused_ms / ours_ms)
                print(
                    f"{name:24} {f'{before}->{after}':>9} {ort_ms:9.3f} {unfused_ms:11.3f} {ours_ms:9.3f} "
                    f"{ratio:6.2f} {paired:6.2f} {unfused_ms / ours_ms:6.2f}x {gflops:8.2f}"
                )
            geo = lambda xs: math.exp(sum(math.log(r) for r in xs) / len(xs))
            print(f"geometric mean ratio (LightOS / ONNX Runtime): {geo(ratios):.2f} fused, "
                  f"{geo(unfused_ratios):.2f} unfused; fusion speed-up {geo(speedups):.2f}x")
            if light:
                print(f"geometric mean ratio of the light_* models (the target): {geo(light):.2f} fused, "
                      f"{geo(light_paired):.2f} paired\n")


if __name__ == "__main__":
    main()
