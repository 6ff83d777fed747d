#!/usr/bin/env python3
"""Runs the prepared model fixtures' libraries (benchmarks/gpu/prepare.sh,
linked by check.sh) and checks their outputs.

    run_fixtures.py PREPARED FIXTURES [--prefix cuda] [--dtypes f32,bf16]

PREPARED/<name>/<prefix>_<dtype>.so is run through the Python bindings
(python/ditc) four times in one process, on the fixture's inputs A
(FIXTURES/<name>/inputs.npz) and on other inputs B of the same shapes
(floats 0.5 - 0.75 x, integers shifted by one within their range):

  1. B   kernel by kernel (a --target cuda library's first run)
  2. A   captured into the CUDA graph and launched
  3. B   the graph replayed
  4. A   the graph replayed

(a CPU library runs all four directly). Checked, as relative L2 errors
||a - b|| / ||b||:

  torch   run 4 against PyTorch's f32 outputs.npz (independent)
  cpu     run 4 against the CPU runtime's outputs of the same dtype
          (PREPARED/<name>/cpu_<dtype>.npz, ditc run on this tree's CPU
          kernels)
  replay  the larger of run 3 against run 1 and run 4 against run 2: the
          graph against kernel by kernel on other inputs than it was
          captured with (a graph that does nothing, or misses an operation,
          keeps the last outputs and fails here)

and runs 1 and 2 must differ (else the replay check says nothing). Bounds
per dtype: f32 (and f32chunk, the chunked f32 library prepare.sh makes
where chunking reaches half the arena; skipped where it does not) torch
1e-4, cpu 1e-4; bf16 torch 2e-2, cpu 2e-2; replay 0
(bit for bit) for both. Prints one line per library, then "N passed, M
failed"; exits 1 when one failed (or none ran).
"""

import argparse
import glob
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))
from ditc import DitcError, Model  # noqa: E402

BOUNDS = {"f32": {"torch": 1e-4, "cpu": 1e-4, "replay": 0.0},
          "bf16": {"torch": 2e-2, "cpu": 2e-2, "replay": 0.0},
          "f16": {"torch": 5e-3, "cpu": 5e-3, "replay": 0.0}}
# f32chunk: the f32 library with AutoChunk's loops (prepare.sh), held to f32's
# bounds against the unchunked CPU run.
BOUNDS["f32chunk"] = BOUNDS["f32"]


def other_inputs(inputs):
    """Values of the same shapes and dtypes, different and in range."""
    out = {}
    for k, v in inputs.items():
        if v.dtype.kind == "f":
            out[k] = (0.5 - 0.75 * v).astype(v.dtype)
        elif v.dtype.kind in "iu":
            hi = int(v.max()) + 1 if v.size else 1
            out[k] = ((v + 1) % max(hi, 2)).astype(v.dtype)
        else:
            out[k] = v
    return out


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
    a = dict(np.load(os.path.join(fixture, "inputs.npz")))
    b = other_inputs(a)
    torch_ref = dict(np.load(os.path.join(fixture, "outputs.npz")))
    with Model(lib) as m:
        runs, t = [], []
        for feed in (b, a, b, a):
            start = time.perf_counter()
            runs.append(m.run(feed))
            t.append(time.perf_counter() - start)
        target = m.target
    errs = {"torch": worst(runs[3], torch_ref)}
    if os.path.exists(cpu_npz):
        errs["cpu"] = worst(runs[3], dict(np.load(cpu_npz)))
    else:
        errs["cpu"] = float("inf")
    errs["replay"] = max(worst(runs[2], runs[0]), worst(runs[3], runs[1]))
    bounds = BOUNDS[dtype]
    bad = [f"{k} > {bounds[k]:g}" for k, v in errs.items() if not v <= bounds[k]]
    if worst(runs[0], runs[1]) == 0.0:
        bad.append("the other inputs give the same outputs")
    detail = " ".join(f"{k}={v:.1e}" for k, v in errs.items())
    detail += f" ({target}; runs " + "/".join(f"{x * 1e3:.1f}" for x in t) + " ms)"
    if bad:
        detail += " failed: " + ", ".join(bad)
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
        # The fixture's directory: test/fixtures/NAME, or one group below
        # (test/fixtures/video/NAME).
        fixture = next((d for d in [os.path.join(args.fixtures, name)] +
                        sorted(glob.glob(os.path.join(args.fixtures, "*", name)))
                        if os.path.isfile(os.path.join(d, "inputs.npz"))), None)
        if fixture is None:
            continue
        for dtype in args.dtypes.split(","):
            lib = os.path.join(args.prepared, name, f"{args.prefix}_{dtype}.so")
            label = f"{name} {dtype}"
            if not os.path.exists(lib) and dtype.endswith("chunk"):
                continue  # prepare.sh makes chunked libraries where chunking reaches
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
