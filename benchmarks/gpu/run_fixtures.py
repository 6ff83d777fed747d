#!/usr/bin/env python3
"""Runs the prepared model fixtures' libraries (benchmarks/gpu/prepare.sh,
linked by check.sh) and checks their outputs.

    run_fixtures.py PREPARED FIXTURES [--prefix cuda] [--dtypes f32,bf16]

PREPARED/<name>/<prefix>_<dtype>.so is run through the Python bindings
(python/ditc) on FIXTURES/<name>/inputs.npz, three times: the first run of
a --target cuda library goes kernel by kernel, the second captures the CUDA
graph, the third replays it. Checked, as relative L2 errors
||a - b|| / ||b||:

  torch   the last run against PyTorch's f32 outputs.npz (independent)
  cpu     the last run against the CPU runtime's outputs of the same dtype
          (PREPARED/<name>/cpu_<dtype>.npz, ditc run on this tree's CPU
          kernels)
  replay  the third run against the first (graph against kernel by kernel)

Bounds per dtype: f32 torch 1e-4, cpu 1e-4; bf16 torch 2e-2, cpu 2e-2;
replay 1e-6 for both. Prints one line per library, then "N passed, M
failed"; exits 1 when one failed (or none ran).
"""

import argparse
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))
from ditc import DitcError, Model  # noqa: E402

BOUNDS = {"f32": {"torch": 1e-4, "cpu": 1e-4, "replay": 1e-6},
          "bf16": {"torch": 2e-2, "cpu": 2e-2, "replay": 1e-6},
          "f16": {"torch": 5e-3, "cpu": 5e-3, "replay": 1e-6}}


def rel_l2(a, b):
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    if a.shape != b.shape:
        return float("inf")
    den = np.linalg.norm(b)
    num = np.linalg.norm(a - b)
    return float(num / den) if den > 0 else float(num)


def worst(outs, ref):
    """The largest error over the outputs ref has (inf: one missing)."""
    errs = []
    for name, r in ref.items():
        if name not in outs or outs[name].dtype.kind != "f":
            errs.append(float("inf") if name not in outs else rel_l2(outs[name], r))
            continue
        errs.append(rel_l2(outs[name], r))
    return max(errs) if errs else float("inf")


def check(lib, fixture, cpu_npz, dtype):
    inputs = dict(np.load(os.path.join(fixture, "inputs.npz")))
    torch_ref = dict(np.load(os.path.join(fixture, "outputs.npz")))
    with Model(lib) as m:
        runs = []
        t = []
        for _ in range(3):
            start = time.perf_counter()
            runs.append(m.run(inputs))
            t.append(time.perf_counter() - start)
        target = m.target
    errs = {"torch": worst(runs[-1], torch_ref)}
    if os.path.exists(cpu_npz):
        errs["cpu"] = worst(runs[-1], dict(np.load(cpu_npz)))
    else:
        errs["cpu"] = float("inf")
    errs["replay"] = worst(runs[2], runs[0])
    bounds = BOUNDS[dtype]
    bad = [k for k, v in errs.items() if not v <= bounds[k]]
    detail = " ".join(f"{k}={v:.1e}" for k, v in errs.items())
    detail += f" ({target}; runs {t[0]*1e3:.1f}/{t[1]*1e3:.1f}/{t[2]*1e3:.1f} ms)"
    if bad:
        detail += " over the bound: " + ", ".join(f"{k} > {bounds[k]:g}" for k in bad)
    return not bad, detail


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("prepared")
    ap.add_argument("fixtures")
    ap.add_argument("--prefix", default="cuda")
    ap.add_argument("--dtypes", default="f32,bf16")
    args = ap.parse_args()
    passed = failed = 0
    for name in sorted(os.listdir(args.prepared)):
        fixture = os.path.join(args.fixtures, name)
        if not os.path.isfile(os.path.join(fixture, "inputs.npz")):
            continue
        for dtype in args.dtypes.split(","):
            lib = os.path.join(args.prepared, name, f"{args.prefix}_{dtype}.so")
            label = f"{name} {dtype}"
            if not os.path.exists(lib):
                print(f"FAIL {label}  no library {lib}", flush=True)
                failed += 1
                continue
            try:
                ok, detail = check(lib, fixture,
                                   os.path.join(args.prepared, name, f"cpu_{dtype}.npz"),
                                   dtype)
            except DitcError as e:
                ok, detail = False, f"error: {e}"
            print(f"{'PASS' if ok else 'FAIL'} {label}  {detail}", flush=True)
            passed += ok
            failed += not ok
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
