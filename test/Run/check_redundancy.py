#!/usr/bin/env python3
"""Recomputes `ditc redundancy`'s values with NumPy from its --dump of the
probed tensors and compares them with its JSON report:

    check_redundancy.py REPORT.json DUMP_DIR STEPS SETS PROBES

`check_redundancy.py inputs IN.npz OUT.npz SEED` writes another input set:
IN's float arrays redrawn from N(0, 1) with SEED, the others as they are.
`check_redundancy.py same A.npz B.npz` checks that two output files hold
the same arrays, bit for bit (probes must not change what a model computes);
`check_redundancy.py close A.npz B.npz TOL` that they agree to relative L2
below TOL; `check_redundancy.py compare A.json B.json TOL` that two reports
of one model agree (values within TOL relative, the same cache decisions).

For every probe (key LAYER:QUANTITY of DUMP_DIR/set<k>/step<i>.npz) and
denoising step i >= 1: sum |x_i - x_{i-1}| / sum |x_{i-1}| in float64; over
the input sets their mean and, with two or more, the coefficient of
variation (population standard deviation over the mean). Every value must
match the report to relative 1e-6; the report must hold exactly the dumped
probes (PROBES of them) and nothing else. Prints "PASS probes=N steps=S
sets=K max_rel=..." or fails with the first mismatch.
"""
import json
import sys

import numpy as np


def other_inputs(src, dst, seed):
    rng = np.random.default_rng(int(seed))
    arrays = dict(np.load(src))
    for k, v in arrays.items():
        if v.dtype.kind == "f":
            arrays[k] = rng.standard_normal(v.shape).astype(v.dtype)
    np.savez(dst, **arrays)


def main():
    if sys.argv[1] == "inputs":
        return other_inputs(*sys.argv[2:5])
    if sys.argv[1] == "same":
        a, b = np.load(sys.argv[2]), np.load(sys.argv[3])
        assert sorted(a.files) == sorted(b.files) and a.files, (a.files, b.files)
        for k in a.files:
            assert a[k].dtype == b[k].dtype and np.array_equal(a[k], b[k]), k
        print(f"SAME {len(a.files)} arrays")
        return
    if sys.argv[1] == "compare":
        # Two reports of one model (say the CUDA and the CPU library): the
        # same layers, values within TOL relative, the same cache decisions.
        a, b, tol = json.load(open(sys.argv[2])), json.load(open(sys.argv[3])), float(sys.argv[4])
        assert [l["name"] for l in a["layers"]] == [l["name"] for l in b["layers"]]
        worst, n = 0.0, 0
        for la, lb in zip(a["layers"], b["layers"]):
            assert la.keys() == lb.keys(), (la.keys(), lb.keys())
            for q in la:
                if q == "name":
                    continue
                for x, y in zip(la[q], lb[q]):
                    assert (x is None) == (y is None), (la["name"], q, x, y)
                    if y is not None:
                        worst, n = max(worst, abs(x - y) / max(abs(y), 1e-12)), n + 1
        assert worst < tol and n > 0, (worst, tol, n)
        assert a.get("cache", {}).get("skipped") == b.get("cache", {}).get("skipped")
        print(f"COMPARE {n} values")
        return
    if sys.argv[1] == "close":
        a, b, tol = np.load(sys.argv[2]), np.load(sys.argv[3]), float(sys.argv[4])
        assert sorted(a.files) == sorted(b.files) and a.files, (a.files, b.files)
        worst = 0.0
        for k in a.files:
            x, y = a[k].astype(np.float64), b[k].astype(np.float64)
            worst = max(worst, np.linalg.norm(x - y) / np.linalg.norm(x))
        assert worst < tol, (worst, tol)
        print(f"CLOSE {len(a.files)} arrays (relative L2 {worst:.2e})")
        return
    report_path, dump, steps, sets, probes = sys.argv[1:6]
    steps, sets, probes = int(steps), int(sets), int(probes)
    report = json.load(open(report_path))
    assert report["steps"] == steps, report["steps"]
    assert len(report["input_sets"]) == sets, report["input_sets"]
    dumps = [[np.load(f"{dump}/set{k}/step{i}.npz") for i in range(steps)] for k in range(sets)]
    keys = sorted(dumps[0][0].files)
    assert len(keys) == probes, (len(keys), probes)
    layers = {l["name"]: l for l in report["layers"]}
    reported = sorted(f"{l['name']}:{q}" for l in report["layers"] for q in l
                      if q != "name" and not q.startswith("cv_"))
    assert reported == keys, (reported, keys)
    worst = 0.0

    def close(got, want, what):
        nonlocal worst
        if want is None or not np.isfinite(want):
            assert got is None, (what, got, want)
            return
        rel = abs(got - want) / max(abs(want), 1e-300)
        worst = max(worst, rel)
        assert rel < 1e-6, (what, got, want, rel)

    for key in keys:
        layer, quantity = key.rsplit(":", 1)
        change = np.empty((sets, steps - 1))
        for k in range(sets):
            for i in range(1, steps):
                x = dumps[k][i][key].astype(np.float64)
                prev = dumps[k][i - 1][key].astype(np.float64)
                assert x.shape == prev.shape and x.size > 0
                change[k, i - 1] = np.abs(x - prev).sum() / np.abs(prev).sum()
        mean = change.mean(axis=0)
        got = layers[layer][quantity]
        assert len(got) == steps - 1, (key, len(got))
        for i in range(steps - 1):
            close(got[i], mean[i], f"{key} step {i + 1}")
        if sets > 1:
            cv = change.std(axis=0) / mean
            got = layers[layer]["cv_" + quantity]
            for i in range(steps - 1):
                close(got[i], cv[i], f"cv {key} step {i + 1}")
        else:
            assert "cv_" + quantity not in layers[layer], key
    # The values change: a report of zeros or of one repeated value would
    # pass the comparison only if the dumps were identical, which they are
    # not.
    assert len({round(v, 12) for l in report["layers"] for q, a in l.items()
                if q != "name" and not q.startswith("cv_") for v in a if v is not None}) > probes
    print(f"PASS probes={len(keys)} steps={steps} sets={sets} max_rel={worst:.1e}")


if __name__ == "__main__":
    main()
