#!/usr/bin/env python3
"""NumPy ports of xDiT's two step-cache rules
(xfuser/model_executor/cache/utils.py: FBCachedTransformerBlocks and
TeaCachedTransformerBlocks), checked against the decisions a library
compiled with `ditc compile --cache` took, as `ditc redundancy --format json`
records them ("cache": change and skipped per step):

    check_cache.py fbcache REPORT.json DUMP_DIR THRESHOLD
        The measure is recomputed from the first block's residual that the
        probes dumped (DUMP_DIR/set0/step<i>.npz, key "<first layer with a
        residual>:residual", e.g. "block A.0:residual"):
        d = mean |ref - r| / mean |ref|, the reference replaced by r whenever
        the step before computed; skip when d < THRESHOLD.
    check_cache.py teacache REPORT.json THRESHOLD C0 C1 ...
        On the recorded change trace: poly(d) (coefficients highest power
        first) accumulates; skip while it stays below THRESHOLD and the
        rule's counter (which starts at the first comparison) is neither 0
        nor S - 1; a computed step resets the accumulator.

ditc also computes the first and the last step of a run, whatever the rule
says, and the rule's state follows what the step did (a forced step counts
as computed). Every decision must match, and for fbcache every measure
(relative 1e-6). Prints "PASS <kind> steps=S skipped=K".

With --stale (a library compiled with --cache-stale, or under pipeline
stages), the measure of step t decides step t + 1: the same rules, the
step they decide one later; step 0 computes.

    check_cache.py fbcache RUN.txt THRESHOLD [--stale]
    check_cache.py teacache RUN.txt THRESHOLD C0 C1 ... [--stale]
        The same on the lines `ditc run --steps` printed (rank 0: "cache:
        change X, computed|skipped"); fbcache's decisions from the recorded
        measure alone.
"""
import json
import math
import re
import sys

import numpy as np


def fbcache(report, dump, threshold, lag):
    steps = report["steps"]
    got_change, got_skip = report["cache"]["change"][0], report["cache"]["skipped"][0]
    want = [False] * steps
    ref = None
    # The first block's (image) residual: the first layer that has one.
    first = next(l["name"] for l in report["layers"] if "residual" in l)
    for t in range(steps):
        r = np.load(f"{dump}/set0/step{t}.npz")[f"{first}:residual"].astype(np.float64)
        d = None if ref is None else np.abs(ref - r).mean() / np.abs(ref).mean()
        if d is None:
            assert got_change[t] is None, (t, got_change[t])
        else:
            assert abs(got_change[t] - d) <= 1e-6 * abs(d), (t, got_change[t], d)
        u = t + lag  # the step this measure decides
        if u < steps:
            want[u] = d is not None and bool(d < threshold) and u not in (0, steps - 1)
        # The reference follows the input while the step before the one
        # decided computed.
        if t + lag - 1 < 0 or not want[t + lag - 1]:
            ref = r
    return check(got_skip, want)


def teacache(report, threshold, coefficients, lag):
    steps = report["steps"]
    got_change, got_skip = report["cache"]["change"][0], report["cache"]["skipped"][0]
    want = [False] * steps
    accum, cnt = 0.0, 0
    for t in range(steps):
        d, u = got_change[t], t + lag
        if u >= steps:
            continue
        if d is None:
            assert t == 0, f"no measure at step {t}"
            continue
        new = accum + np.polyval(coefficients, d)
        use = bool(new < threshold and cnt not in (0, steps - 1)) and u != steps - 1
        accum = new if use else 0.0
        cnt = cnt + 1 if cnt + 1 < steps else 0
        want[u] = use
    return check(got_skip, want)


def run_report(path):
    """The per-step lines of `ditc run --steps` (rank 0) as the report's
    "cache" part: change (None for "-") and skipped per step."""
    change, skipped = [], []
    for line in open(path):
        m = re.match(r"denoising step (\d+)/(\d+): .*cache: change (\S+), (computed|skipped)", line)
        if m:
            change.append(None if m.group(3) == "-" else float(m.group(3)))
            skipped.append(m.group(4) == "skipped")
            steps = int(m.group(2))
    assert change and len(change) == steps, f"{path}: {len(change)} cache lines"
    return {"steps": steps, "cache": {"change": [change], "skipped": [skipped]}}


def fbcache_trace(report, threshold, lag):
    """fbcache's decisions from the recorded measure alone."""
    steps = report["steps"]
    got_change, got_skip = report["cache"]["change"][0], report["cache"]["skipped"][0]
    want = [False] * steps
    for t, d in enumerate(got_change):
        u = t + lag
        if u < steps:
            want[u] = d is not None and d < threshold and u not in (0, steps - 1)
    return check(got_skip, want)


def check(got_skip, want):
    for i, (g, w) in enumerate(zip(got_skip, want)):
        assert bool(g) == w, (i, g, w)
    return len(want), sum(want)


def main():
    args = [a for a in sys.argv[1:] if a != "--stale"]
    lag = 1 if "--stale" in sys.argv else 0
    kind = args[0]
    if args[1].endswith(".txt"):
        report = run_report(args[1])
        if kind == "fbcache":
            steps, skipped = fbcache_trace(report, float(args[2]), lag)
        else:
            steps, skipped = teacache(report, float(args[2]), [float(c) for c in args[3:]], lag)
        print(f"PASS {kind}{' stale' if lag else ''} steps={steps} skipped={skipped}")
        return
    report = json.load(open(args[1]))
    assert report["cache"]["kind"] == kind, report["cache"]["kind"]
    if kind == "fbcache":
        steps, skipped = fbcache(report, args[2], float(args[3]), lag)
    else:
        steps, skipped = teacache(report, float(args[2]), [float(c) for c in args[3:]], lag)
    print(f"PASS {kind}{' stale' if lag else ''} steps={steps} skipped={skipped}")


if __name__ == "__main__":
    main()
