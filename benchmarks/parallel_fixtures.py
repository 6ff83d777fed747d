#!/usr/bin/env python3
"""Median step time of the test fixtures under parallel plans, for one or
more ditc builds (to compare a change against the build before it):

    python3 benchmarks/parallel_fixtures.py [--ditc LABEL=PATH ...] \
        [--cases sd3_dynamo:ulysses=2,flux_dynamo:ring=2] [--runs 50] \
        [--warmup 5] [--threads 1] [--work /tmp/ditc-parallel-fixtures]

Cases are separated by commas; a plan's own commas are written as
semicolons (sd3_dynamo:ulysses=2;ring=2). Each case is compiled by each build (`ditc compile --devices N --plan P`)
and run under `mpirun -np N ditc run --bench RUNS --warmup W --threads T`
on the fixture's inputs; rank 0's median is read from the "bench:" line.
Prints a markdown table: case, then one column per build. The builds run
one after another on the same machine: compare ratios from one run, not
numbers across days.
"""
import argparse
import math
import os
import re
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MPIRUN = ["mpirun", "--allow-run-as-root", "--oversubscribe",
          "--mca", "btl_vader_single_copy_mechanism", "none"]


def run(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if p.returncode:
        sys.exit(f"parallel_fixtures: failed ({p.returncode}): {' '.join(cmd)}\n{p.stdout[-2000:]}")
    return p.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ditc", action="append",
                    help="LABEL=PATH of a ditc binary (repeatable; default this build)")
    ap.add_argument("--cases", default="sd3_dynamo:ulysses=2,sd3_dynamo:ring=2,"
                    "flux_dynamo:ulysses=2,flux_dynamo:ring=2")
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--work", default="/tmp/ditc-parallel-fixtures")
    a = ap.parse_args()
    builds = [d.split("=", 1) for d in (a.ditc or [f"this={REPO}/build/bin/ditc"])]
    cases = []
    for c in a.cases.split(","):
        fixture, plan = c.split(":", 1)
        cases.append((fixture, plan.replace(";", ",")))
    rows = []
    for fixture, plan in cases:
        ranks = math.prod(int(kv.split("=")[1]) for kv in plan.split(","))
        src = os.path.join(REPO, "test", "fixtures", fixture)
        row = [f"{fixture} `{plan}`"]
        for label, ditc in builds:
            d = os.path.join(a.work, label, f"{fixture}-{plan.replace('=', '').replace(',', '-')}")
            os.makedirs(d, exist_ok=True)
            so = os.path.join(d, "m.so")
            run([ditc, "compile", os.path.join(src, "model.onnx"), "-o", so,
                 "--devices", str(ranks), "--plan", plan])
            out = run(MPIRUN + ["-np", str(ranks), ditc, "run", so,
                                "--inputs", os.path.join(src, "inputs.npz"),
                                "--bench", str(a.runs), "--warmup", str(a.warmup),
                                "--threads", str(a.threads)])
            m = re.search(r"median ([0-9.]+) ms", out)
            if not m:
                sys.exit(f"parallel_fixtures: no median in the output of {label} {fixture}")
            row.append(f"{float(m.group(1)):.3f}")
            print(f"parallel_fixtures: {label} {fixture} {plan}: {row[-1]} ms", file=sys.stderr)
        rows.append(row)
    print("| case | " + " | ".join(f"{label} median ms" for label, _ in builds) + " |")
    print("|---|" + "---|" * len(builds))
    for r in rows:
        print("| " + " | ".join(r) + " |")


if __name__ == "__main__":
    main()
