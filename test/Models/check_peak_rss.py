#!/usr/bin/python3
"""Independent check of the predicted activation memory: the peak RSS that
the operating system measures for `ditc run`.

Writes two ONNX graphs of the same four elementwise ops (Sigmoid, Mul, Add,
Mul, with intermediates live at once) on x: [1, S, 1024] f32, a small one
(S = 16) and a large one (S = 8192, 32 MiB per tensor); compiles and runs
both on random inputs. The growth of peak RSS from the small run to the large
one must equal, within 10%, what ditc predicts the large one adds: the
profile's activation_peak_bytes (the memory plan's arena) plus the input and
output buffers that `ditc run` allocates. The check that the profile's peak
equals the library's reported arena (test/Models/profile.test) compares the
memory plan with itself; this one compares it with the kernel's count of
touched pages.

  check_peak_rss.py DITC WORK_DIR
"""

import json
import os
import re
import subprocess
import sys

import onnx
from onnx import TensorProto, helper

WIDTH = 1024


def write_model(path, s):
    x = helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, s, WIDTH])
    y = helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, s, WIDTH])
    nodes = [helper.make_node("Sigmoid", ["X"], ["A"]),
             helper.make_node("Mul", ["A", "X"], ["B"]),
             helper.make_node("Add", ["B", "A"], ["C"]),
             helper.make_node("Mul", ["C", "B"], ["Y"])]
    model = helper.make_model(helper.make_graph(nodes, "g", [x], [y]),
                              opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path)


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if p.returncode:
        sys.exit(f"FAIL: {' '.join(cmd)}: {(p.stdout + p.stderr).strip()[-400:]}")
    return p.stdout + p.stderr


def measure(ditc, work, s):
    model = os.path.join(work, f"chain{s}.onnx")
    write_model(model, s)
    lib = os.path.join(work, f"chain{s}.so")
    report = os.path.join(work, f"chain{s}.json")
    run([ditc, "compile", model, "-o", lib])
    run([ditc, "profile", model, "--format", "json", "-o", report])
    out = run([ditc, "run", lib])
    m = re.search(r"peak RSS: ([0-9.]+) MiB", out)
    if not m:
        sys.exit(f"FAIL: ditc run printed no peak RSS: {out[-300:]}")
    peak = json.load(open(report))["activation_peak_bytes"]
    io = 2 * s * WIDTH * 4  # the input and output buffers
    return float(m.group(1)) * 1048576, peak + io


def main():
    ditc, work = sys.argv[1:3]
    os.makedirs(work, exist_ok=True)
    rss_small, want_small = measure(ditc, work, 16)
    rss_large, want_large = measure(ditc, work, 8192)
    grew, predicted = rss_large - rss_small, want_large - want_small
    rel = abs(grew - predicted) / predicted
    print(f"{'PASS' if rel < 0.1 else 'FAIL'}: peak RSS grew "
          f"{grew / 1048576:.1f} MiB, predicted {predicted / 1048576:.1f} MiB "
          f"(activations + inputs + outputs), off by {100 * rel:.1f}%")
    return 0 if rel < 0.1 else 1


if __name__ == "__main__":
    sys.exit(main())
