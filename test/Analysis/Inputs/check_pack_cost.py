#!/usr/bin/python3
"""The time model's weight-repacking term, through `ditc profile`.

Two graphs of one MatMul (512 x 1152 by a 1152 x 4608 weight) between a Relu
and a second op (so that its operands are in the arena): a Relu (the
MatMul's rows and its output columns may both be chunked) and a Softmax over
the columns (only rows). Two machine descriptions differ only in
matrix_pack_bandwidth (absent, and 1e9 bytes/s). Each graph is profiled on
both, unchunked and with --activation-limit 4MiB; per case the script prints
the chunk loop chosen and how many times the weight is repacked: the
MatMul's predicted time on the second description less that on the first,
over the weight's bytes / 1e9.

  check_pack_cost.py DITC WORK_DIR
"""

import json
import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

M, K, N = 512, 1152, 4608


def write(path, last):
    x = helper.make_tensor_value_info("X", TensorProto.FLOAT, [M, K])
    y = helper.make_tensor_value_info("Y", TensorProto.FLOAT, [M, N])
    w = numpy_helper.from_array(np.full((K, N), 0.01, np.float32), "W")
    nodes = [helper.make_node("Relu", ["X"], ["A"]),
             helper.make_node("MatMul", ["A", "W"], ["B"]),
             helper.make_node(last, ["B"], ["Y"], **(
                 {"axis": -1} if last == "Softmax" else {}))]
    g = helper.make_graph(nodes, "g", [x], [y], [w])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, path)


def main():
    ditc, work = sys.argv[1:3]
    os.makedirs(work, exist_ok=True)
    hw = {"name": "box", "kind": "cpu", "matrix_flops": {"f32": 1e11},
          "vector_flops": {"f32": 1e10}, "memory_bandwidth": 2e10,
          "memory_capacity": 1e10, "launch_overhead_s": 1e-6,
          "links": [{"name": "shm", "kind": "shared-memory",
                     "bandwidth": 1e10, "latency_s": 1e-6, "devices": 2}]}
    files = {}
    for tag, extra in (("plain", {}), ("pack", {"matrix_pack_bandwidth": 1e9})):
        files[tag] = os.path.join(work, tag + ".json")
        json.dump({**hw, **extra}, open(files[tag], "w"))
    weight = K * N * 4
    for last in ("Relu", "Softmax"):
        model = os.path.join(work, last + ".onnx")
        write(model, last)
        for limit in (None, "4MiB"):
            times, loops = {}, {}
            for tag, path in files.items():
                report = os.path.join(work, f"{last}-{tag}-{limit}.json")
                cmd = [ditc, "profile", model, "--hw", path, "--format",
                       "json", "-o", report]
                if limit:
                    cmd += ["--activation-limit", limit]
                subprocess.run(cmd, check=True, capture_output=True)
                r = json.load(open(report))
                times[tag] = sum(o["predicted_time_s"] for o in r["ops"]
                                 if o["op"] == "ditc.linear")
                loops[tag] = ", ".join(
                    f"{c['count']} chunks of dim {c['dim']}"
                    for c in r.get("chunks", [])) or "unchunked"
            repacks = (times["pack"] - times["plain"]) / (weight / 1e9)
            print(f"{last} limit {limit or 'none'}: without the term "
                  f"{loops['plain']}; with it {loops['pack']}, the weight "
                  f"repacked {repacks:.2f} times")


if __name__ == "__main__":
    main()
