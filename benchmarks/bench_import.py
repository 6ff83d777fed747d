#!/usr/bin/env python3
"""Times `ditc import` (import + canonicalise + fuse, IR written to /dev/null)
on ONNX models and prints the median, min and max of N runs.

    python3 benchmarks/bench_import.py build/bin/ditc MODEL.onnx [MODEL.onnx ...] [--runs 10]

Models are full-size graphs made by examples/export_models.py --full-size
(not committed: gigabytes of weights). Import never reads the weights, so the
external-data file may even be absent.
"""
import argparse
import os
import statistics
import subprocess
import time


def node_count(path):
    try:
        import onnx
        return len(onnx.load(path, load_external_data=False).graph.node)
    except Exception:  # onnx missing or unreadable: leave the column empty
        return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("ditc")
    ap.add_argument("models", nargs="+")
    ap.add_argument("--runs", type=int, default=10)
    args = ap.parse_args()
    print("%-40s %7s %9s %9s %9s" % ("model", "nodes", "median s", "min s", "max s"))
    for m in args.models:
        times = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            subprocess.run([args.ditc, "import", m, "-o", os.devnull], check=True)
            times.append(time.perf_counter() - t0)
        n = node_count(m)
        print("%-40s %7s %9.3f %9.3f %9.3f" % (m[-40:], n if n is not None else "-",
                                               statistics.median(times), min(times), max(times)))


if __name__ == "__main__":
    main()
