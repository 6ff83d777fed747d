#!/usr/bin/env python3
"""Multi-rank runs of the real-model fixtures against world size 1.

For every fixture and plan given, compiles the model for one rank and for
the plan, runs the plan under mpirun (one process per rank), and compares
every rank's outputs (`ditc run --outputs out.%r.npz`) with the single-rank
outputs (relative L2). A plan that
ditc refuses must be one the case list expects to be refused, with the
expected words in the one-line error. Prints one line per case and a
summary "N passed, M failed".

usage: check_parallel.py DITC MPIRUN FIXTURES WORKDIR CASE...
  CASE = fixture:plan[:refused=WORDS][:dtype=D][:hw=FILE:lone=N]
         e.g. dit_dynamo:cfg=2,ulysses=2
  dtype=bf16 (or f16) compiles both libraries with --dtype D and compares
  them to relative L2 < 1e-2 (the ranks round partial results at other
  points than one rank does). hw=FILE compiles the plan for that machine
  (--hw), and lone=N pins how many lone linear layers its time model split
  by output columns (the count `ditc compile` prints; 0: none).
"""
import math
import os
import re
import subprocess
import sys

import numpy as np

TOL = 1e-4
TOL_16BIT = 1e-2


def rel_l2(a, b):
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30))


def prune(d, prefix=""):
    """A passing case's library and weights (7 MB or more each, 140 cases in
    fixtures.test) are removed; a failing case keeps its files. Also used by
    check_comm_bytes.py (whose cases share one folder: `prefix` picks one)
    and check_stale.py."""
    for f in os.listdir(d):
        if f.startswith(prefix) and f.endswith((".so", ".safetensors")):
            os.remove(os.path.join(d, f))


def hw_option(opts):
    """A case's hw=FILE: the compile's --hw arguments and a folder suffix
    (also used by check_stale.py)."""
    if "hw" not in opts:
        return [], ""
    return ["--hw", opts["hw"]], "-" + os.path.splitext(os.path.basename(opts["hw"]))[0]


def run(cmd, timeout=300):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=timeout)
    return p.returncode, p.stdout


def main():
    ditc, mpirun, fixtures, work = sys.argv[1:5]
    mpirun = mpirun.split()
    cases = sys.argv[5:]
    os.makedirs(work, exist_ok=True)
    passed = failed = 0
    single = {}
    for case in cases:
        fixture, plan, *rest = case.split(":")
        opts = dict(r.split("=", 1) for r in rest)
        refused = opts.get("refused")
        dtype = ["--dtype", opts["dtype"]] if "dtype" in opts else []
        suffix = "-" + opts["dtype"] if dtype else ""
        hw, hwtag = hw_option(opts)
        tol = TOL_16BIT if dtype else TOL
        # Every key is a device degree but `patches` (PipeFusion's) and the
        # placement key `context_first`.
        n = math.prod(int(kv.split("=")[1]) for kv in plan.split(",")
                      if kv.split("=")[0] not in ("patches", "context_first"))
        src = os.path.join(fixtures, fixture)
        tag = f"{fixture}-{plan.replace('=', '').replace(',', '-')}{suffix}{hwtag}"
        ref = fixture + suffix

        def fail(why):
            nonlocal failed
            failed += 1
            print(f"FAIL {fixture} {plan}: {why}")

        if ref not in single:
            d = os.path.join(work, ref + "-1")
            os.makedirs(d, exist_ok=True)
            so = os.path.join(d, "m.so")
            rc, out = run([ditc, "compile", os.path.join(src, "model.onnx"), "-o", so] + dtype)
            rc2, out2 = run([ditc, "run", so, "--inputs", os.path.join(src, "inputs.npz"),
                             "--outputs", os.path.join(d, "out.npz")]) if rc == 0 else (rc, "")
            if rc or rc2:
                single[ref] = None
                fail("single rank: " + (out + out2).strip().splitlines()[-1])
                continue
            single[ref] = dict(np.load(os.path.join(d, "out.npz")))
            prune(d)
        if single[ref] is None:
            fail("no single-rank reference")
            continue
        d = os.path.join(work, tag)
        os.makedirs(d, exist_ok=True)
        so = os.path.join(d, "m.so")
        rc, out = run([ditc, "compile", os.path.join(src, "model.onnx"), "-o", so,
                       "--devices", str(n), "--plan", plan] + dtype + hw)
        if refused is not None:
            last = out.strip().splitlines()[-1] if out.strip() else ""
            if rc != 0 and refused in last and last.startswith("error:"):
                passed += 1
                prune(d)
                print(f"PASS {fixture} {plan}: refused: {last}")
            else:
                fail(f"expected a refusal with '{refused}', got rc={rc}: {last}")
            continue
        if rc:
            fail("compile: " + out.strip().splitlines()[-1])
            continue
        if "lone" in opts:
            m = re.search(r"; (\d+) lone linear layers? split by output columns", out)
            split = int(m.group(1)) if m else 0
            if split != int(opts["lone"]):
                fail(f"{split} lone linear layers split by columns, expected {opts['lone']}")
                continue
        # Every rank writes its outputs (out.<rank>.npz): all must match.
        rc, out = run(mpirun + [str(n), ditc, "run", so, "--inputs",
                                os.path.join(src, "inputs.npz"), "--outputs",
                                os.path.join(d, "out.%r.npz"), "--comm-timeout", "60"])
        if rc:
            lines = [l for l in out.splitlines() if "error" in l.lower()] or out.splitlines()[-3:]
            fail(f"run -np {n}: " + " | ".join(lines[:2]))
            continue
        worst, where = 0.0, 0
        for r in range(n):
            path = os.path.join(d, f"out.{r}.npz")
            if not os.path.exists(path):
                worst, where = math.inf, r
                break
            got = dict(np.load(path))
            for k, v in single[ref].items():
                e = rel_l2(got[k], v) if k in got and got[k].shape == v.shape else math.inf
                if e > worst:
                    worst, where = e, r
        if worst < tol:
            passed += 1
            prune(d)
            lone = f", {opts['lone']} lone linear layers split" if "lone" in opts else ""
            print(f"PASS {fixture} {plan}{suffix}{lone}: rel L2 {worst:.2e} on {n} ranks (every rank's outputs)")
        else:
            fail(f"rel L2 {worst:.2e} on rank {where} of {n}")
    print(f"{passed} passed, {failed} failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
