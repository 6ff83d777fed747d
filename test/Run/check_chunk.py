#!/usr/bin/python3
"""AutoChunk on the model fixtures: each is compiled twice, without a budget
and with `--activation-limit` at a fraction of the unchunked arena, and both
libraries run on the fixture's inputs.

    check_chunk.py DITC FIXTURES_DIR WORK_DIR [--fraction 0.5] [--tol 1e-5]
        [--ref-tol 1e-4] [--compile-arg ARG ...] [--mpirun CMD] [NAME...]

The arena of each library is the one `ditc run` reports ("arena: ... (N
bytes)"). A fixture passes when the chunked library's arena is within the
budget, every output matches the unchunked library's to relative L2 below
--tol and the PyTorch reference outputs.npz below --ref-tol. When ditc says
the budget cannot be met ("cannot be met: the smallest arena ..."), the
fixture is listed as FLOOR with that line: it is no failure, but the test
pins how many reach the budget. Prints one line per fixture, then
"N passed, M failed, K floor".

With --compile-arg --devices --compile-arg N (and a plan), both libraries run
under --mpirun (e.g. "mpirun -np 2"): the budget is then per rank, and the
arena is rank 0's.
"""

import argparse
import os
import re
import shlex
import subprocess
import sys

import numpy as np

from check_fixtures_run import TIMEOUT_S, first_error


def rel_l2(got, ref):
    g, r = got.astype(np.float64), ref.astype(np.float64)
    denom = np.linalg.norm(r)
    return np.linalg.norm(g - r) / (denom if denom > 0 else 1.0)


def build_and_run(ditc, fixture, work, tag, extra, mpirun):
    """Returns (arena_bytes, outputs, compile_stderr) or raises RuntimeError."""
    lib = os.path.join(work, tag + ".so")
    # Under mpirun every rank writes its outputs (%r); all are checked.
    ranks = int(re.search(r"-np\s+(\d+)", mpirun).group(1)) if mpirun else 1
    out = os.path.join(work, tag + (".%r.npz" if mpirun else ".npz"))
    outs = [out.replace("%r", str(r)) for r in range(ranks)]
    for f in [lib] + outs:
        if os.path.exists(f):
            os.remove(f)
    p = subprocess.run([ditc, "compile", os.path.join(fixture, "model.onnx"), "-o", lib] +
                       extra, capture_output=True, text=True, timeout=TIMEOUT_S)
    if p.returncode != 0 or not os.path.exists(lib):
        raise RuntimeError("compile failed: " + first_error(p.stderr + p.stdout))
    compile_log = p.stderr
    cmd = shlex.split(mpirun) if mpirun else []
    cmd += [ditc, "run", lib, "--inputs", os.path.join(fixture, "inputs.npz"),
            "--outputs", out]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S)
    if p.returncode != 0:
        raise RuntimeError("run failed: " + first_error(p.stderr + p.stdout))
    m = re.search(r"arena: [0-9.]+ MiB \(([0-9]+) bytes\)", p.stdout)
    if not m:
        raise RuntimeError("ditc run reported no arena:\n" + p.stdout)
    first = np.load(outs[0])
    for path in outs[1:]:
        other = np.load(path)
        for k in first.files:
            a, b = first[k].astype(np.float64), other[k].astype(np.float64)
            if a.shape != b.shape or \
                    np.linalg.norm(a - b) > 1e-6 * max(np.linalg.norm(a), 1e-30):
                raise RuntimeError(f"{path}: output '{k}' differs from rank 0's")
    return int(m.group(1)), first, compile_log


def check(args, name):
    fixture = os.path.join(args.fixtures, name)
    work = os.path.join(args.work, name)
    os.makedirs(work, exist_ok=True)
    try:
        arena, base, _ = build_and_run(args.ditc, fixture, work, "base", args.compile_arg,
                                       args.mpirun)
    except RuntimeError as e:
        return "FAIL", "unchunked: %s" % e
    limit = int(arena * args.fraction)
    try:
        chunked, outs, log = build_and_run(
            args.ditc, fixture, work, "chunked",
            args.compile_arg + ["--activation-limit", str(limit)], args.mpirun)
    except RuntimeError as e:
        if "cannot be met" in str(e):
            return "FLOOR", "arena %d, limit %d: %s" % (arena, limit, e)
        return "FAIL", str(e)
    m = re.search(r"chunked (\d+) region", log)
    loops = int(m.group(1)) if m else 0
    detail = "arena %d -> %d (limit %d) loops %d" % (arena, chunked, limit, loops)
    if chunked > limit or loops == 0:
        return "FAIL", detail + ": over the limit" if chunked > limit else ": no loop"
    ref = np.load(os.path.join(fixture, "outputs.npz"))
    ok = True
    for k in base.files:
        e, r = rel_l2(outs[k], base[k]), rel_l2(outs[k], ref[k])
        ok &= bool(np.isfinite(e) and e < args.tol and np.isfinite(r) and r < args.ref_tol)
        detail += " %s rel_l2=%.2g ref_rel_l2=%.2g" % (k, e, r)
    return ("PASS" if ok else "FAIL"), detail


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ditc")
    ap.add_argument("fixtures")
    ap.add_argument("work")
    ap.add_argument("names", nargs="*")
    ap.add_argument("--fraction", type=float, default=0.5)
    ap.add_argument("--tol", type=float, default=1e-5)
    ap.add_argument("--ref-tol", type=float, default=1e-4)
    ap.add_argument("--compile-arg", action="append", default=[])
    ap.add_argument("--mpirun", default="")
    args = ap.parse_args()
    names = args.names or sorted(
        d for d in os.listdir(args.fixtures)
        if os.path.isfile(os.path.join(args.fixtures, d, "model.onnx")))
    counts = {"PASS": 0, "FAIL": 0, "FLOOR": 0}
    for name in names:
        status, detail = check(args, name)
        counts[status] += 1
        print("%s %s  %s" % (status, name, detail), flush=True)
    print("%d passed, %d failed, %d floor" % (counts["PASS"], counts["FAIL"], counts["FLOOR"]))
    return 1 if counts["FAIL"] else 0


if __name__ == "__main__":
    sys.exit(main())
