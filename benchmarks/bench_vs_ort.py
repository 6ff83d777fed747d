#!/usr/bin/env python3
"""ditc vs ONNX Runtime on the CPU, same thread count, one step each.

    /opt/ditc-export-venv/bin/python benchmarks/bench_vs_ort.py \
        --ditc build/bin/ditc --threads 2 --runs 5 MODEL.onnx [MODEL.onnx ...]

For each model: `ditc compile` it, time `ditc run --bench` (median of
--runs after one warm-up), time onnxruntime's InferenceSession.run on the same
inputs (intra_op_num_threads = --threads, median of --runs after one warm-up),
and check the outputs agree (relative L2). Inputs come from inputs.npz beside
the model when present, else random (as `ditc run` makes them). Prints a
table; nothing here is a test. Needs onnxruntime (the export venv has it).
"""
import argparse
import os
import re
import statistics
import subprocess
import tempfile
import time

import numpy as np


def ort_session(path, threads):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ditc", default="build/bin/ditc")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("models", nargs="+")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, model in enumerate(args.models):
            lib = os.path.join(tmp, "m%d.so" % i)
            subprocess.run([args.ditc, "compile", model, "-o", lib], check=True,
                           stderr=subprocess.DEVNULL)
            inputs = os.path.join(os.path.dirname(model), "inputs.npz")
            out = os.path.join(tmp, "out%d.npz" % i)
            cmd = [args.ditc, "run", lib, "--threads", str(args.threads),
                   "--warmup", "1", "--bench", str(args.runs), "--outputs", out]
            if os.path.exists(inputs):
                cmd += ["--inputs", inputs]
            else:  # save the random inputs ditc made, for ORT
                inputs = None
            text = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
            median = float(re.search(r"median ([0-9.]+) ms", text).group(1))
            arena = re.search(r"arena: ([0-9.]+) MiB", text).group(1)
            sess = ort_session(model, args.threads)
            if inputs:
                feed = dict(np.load(inputs))
            else:
                feed = {}
                rng = np.random.default_rng(0)
                for inp in sess.get_inputs():
                    shape = inp.shape
                    if "float" in inp.type:
                        feed[inp.name] = rng.standard_normal(shape).astype(np.float32)
                    else:
                        feed[inp.name] = rng.integers(0, 1000 if len(shape) <= 1 else 100,
                                                      shape).astype(np.int64)
            sess.run(None, feed)
            times = []
            for _ in range(args.runs):
                t0 = time.perf_counter()
                ref = sess.run(None, feed)
                times.append((time.perf_counter() - t0) * 1000)
            ort_ms = statistics.median(times)
            got = np.load(out)
            names = [o.name for o in sess.get_outputs()]
            err = max(float(np.linalg.norm(got[n].astype(np.float64) - r) /
                            max(np.linalg.norm(r), 1e-30))
                      for n, r in zip(names, ref)) if inputs else float("nan")
            rows.append((model, median, ort_ms, arena, err))
    print("%-52s %10s %10s %8s %10s %9s" % ("model", "ditc ms", "ORT ms", "speedup",
                                            "arena MiB", "rel L2"))
    for model, d, o, arena, err in rows:
        print("%-52s %10.2f %10.2f %7.2fx %10s %9.1e" % (model[-52:], d, o, o / d, arena, err))


if __name__ == "__main__":
    main()
