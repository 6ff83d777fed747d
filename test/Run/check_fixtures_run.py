#!/usr/bin/python3
"""Compiles every model fixture with `ditc compile`, runs it with `ditc run`
on the fixture's inputs.npz and compares what it writes with the PyTorch
reference outputs.npz.

    check_fixtures_run.py DITC FIXTURES_DIR WORK_DIR [--tol 1e-4] [NAME...]
        [--compile-arg ARG ...] [--run-env KEY=VALUE ...]

--compile-arg adds an argument to every `ditc compile` (--runtime FILE.a: a
sanitized runtime), --run-env a variable to every `ditc run`'s environment
(LD_PRELOAD of the sanitizer's runtime), and to that process alone.

Prints one line per fixture,

    PASS dit_torchscript  sample rel_l2=1.6e-07
    FAIL flux_dynamo  compile failed: <the first error line>

then "N passed, M failed". The relative L2 error of an output is
||ditc - torch|| / ||torch||; a fixture passes when every output of
outputs.npz is there with the reference's dtype and shape and its error is
below the tolerance. Exits 1 when a fixture fails.
"""

import argparse
import os
import subprocess
import sys

import numpy as np

TIMEOUT_S = 600


def first_error(text):
    lines = [l for l in text.splitlines() if l.strip()]
    for l in lines:
        if "error" in l.lower():
            return l.strip()
    return lines[-1].strip() if lines else "(no output)"


def check(ditc, fixture_dir, work, tol, compile_args=(), run_env=None):
    """Returns (passed, detail)."""
    os.makedirs(work, exist_ok=True)
    lib = os.path.join(work, "model.so")
    out_npz = os.path.join(work, "outputs.npz")
    for f in (lib, out_npz):
        if os.path.exists(f):
            os.remove(f)
    try:
        p = subprocess.run([ditc, "compile", os.path.join(fixture_dir, "model.onnx"),
                            "-o", lib] + list(compile_args), capture_output=True, text=True,
                           timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return False, "compile timed out"
    if p.returncode != 0 or not os.path.exists(lib):
        return False, "compile failed: " + first_error(p.stderr + p.stdout)
    try:
        p = subprocess.run([ditc, "run", lib,
                            "--inputs", os.path.join(fixture_dir, "inputs.npz"),
                            "--outputs", out_npz], capture_output=True, text=True,
                           timeout=TIMEOUT_S, env=run_env)
    except subprocess.TimeoutExpired:
        return False, "run timed out"
    if p.returncode != 0:
        return False, "run failed: " + first_error(p.stderr + p.stdout)
    try:
        got = np.load(out_npz)
    except Exception as e:  # a .npz numpy cannot read is a failure too
        return False, "numpy cannot read the outputs: %s" % e
    ref = np.load(os.path.join(fixture_dir, "outputs.npz"))
    ok, parts = True, []
    for name in ref.files:
        r = ref[name]
        if name not in got.files:
            return False, "output '%s' missing (got %s)" % (name, got.files)
        g = got[name]
        if g.dtype != r.dtype or g.shape != r.shape:
            return False, "output '%s': %s %s, reference %s %s" % (
                name, g.dtype, g.shape, r.dtype, r.shape)
        r64, g64 = r.astype(np.float64), g.astype(np.float64)
        denom = np.linalg.norm(r64)
        err = np.linalg.norm(g64 - r64) / (denom if denom > 0 else 1.0)
        if not np.isfinite(err) or not err < tol:
            ok = False
        parts.append("%s rel_l2=%.2g" % (name, err))
    return ok, " ".join(parts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ditc")
    ap.add_argument("fixtures")
    ap.add_argument("work")
    ap.add_argument("names", nargs="*")
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("--compile-arg", action="append", default=[])
    ap.add_argument("--run-env", action="append", default=[])
    ap.add_argument("--prune", action="store_true",
                    help="remove a passing fixture's library and weights (a failing one keeps them)")
    args = ap.parse_args()
    run_env = None
    if args.run_env:
        run_env = dict(os.environ)
        for kv in args.run_env:
            k, _, v = kv.partition("=")
            run_env[k] = v

    names = args.names or sorted(
        d for d in os.listdir(args.fixtures)
        if os.path.isfile(os.path.join(args.fixtures, d, "model.onnx")))
    passed = failed = 0
    for name in names:
        ok, detail = check(args.ditc, os.path.join(args.fixtures, name),
                           os.path.join(args.work, name), args.tol,
                           args.compile_arg, run_env)
        print("%s %s  %s" % ("PASS" if ok else "FAIL", name, detail), flush=True)
        if ok and args.prune:
            work = os.path.join(args.work, name)
            for f in os.listdir(work):
                if f.endswith((".so", ".safetensors")):
                    os.remove(os.path.join(work, f))
        passed += ok
        failed += not ok
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
