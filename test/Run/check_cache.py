#!/usr/bin/env python3
"""NumPy ports of xDiT's two step-cache rules
(xfuser/model_executor/cache/utils.py: FBCachedTransformerBlocks and
TeaCachedTransformerBlocks), checked against the decisions a library
compiled with `ditc compile --cache` took, as `ditc redundancy --format json`
records them ("cache": change and skipped per step):

    check_cache.py fbcache REPORT.json DUMP_DIR THRESHOLD
        The measure is recomputed from the first block's residual that the
        probes dumped (DUMP_DIR/set0/step<i>.npz, key "block A.0:residual"):
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
"""
import json
import math
import sys

import numpy as np


def fbcache(report, dump, threshold):
    steps = report["steps"]
    got_change, got_skip = report["cache"]["change"][0], report["cache"]["skipped"][0]
    ref, prev_use, skipped = None, False, 0
    for i in range(steps):
        r = np.load(f"{dump}/set0/step{i}.npz")["block A.0:residual"].astype(np.float64)
        forced = i in (0, steps - 1)
        if ref is None:
            use, d = False, None
        else:
            d = np.abs(ref - r).mean() / np.abs(ref).mean()
            use = bool(d < threshold) and not forced
        if not prev_use:
            ref = r
        prev_use = use
        want = use
        if d is None:
            assert got_change[i] is None, (i, got_change[i])
        else:
            assert abs(got_change[i] - d) <= 1e-6 * abs(d), (i, got_change[i], d)
        assert bool(got_skip[i]) == want, (i, got_skip[i], want, d)
        skipped += want
    return steps, skipped


def teacache(report, threshold, coefficients):
    steps = report["steps"]
    got_change, got_skip = report["cache"]["change"][0], report["cache"]["skipped"][0]
    accum, cnt, skipped = 0.0, 0, 0
    for i in range(steps):
        d = got_change[i]
        if d is None:
            assert i == 0, f"no measure at step {i}"
            use = False
        else:
            new = accum + np.polyval(coefficients, d)
            use = bool(new < threshold and cnt not in (0, steps - 1)) and i != steps - 1
            accum = new if use else 0.0
            cnt = cnt + 1 if cnt + 1 < steps else 0
        want = use
        assert bool(got_skip[i]) == want, (i, got_skip[i], want, d, accum)
        skipped += want
    return steps, skipped


def main():
    kind, report = sys.argv[1], json.load(open(sys.argv[2]))
    assert report["cache"]["kind"] == kind, report["cache"]["kind"]
    if kind == "fbcache":
        steps, skipped = fbcache(report, sys.argv[3], float(sys.argv[4]))
    else:
        steps, skipped = teacache(report, float(sys.argv[3]), [float(c) for c in sys.argv[4:]])
    print(f"PASS {kind} steps={steps} skipped={skipped}")


if __name__ == "__main__":
    main()
