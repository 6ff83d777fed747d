#!/usr/bin/env python3
"""Predicted step time of a full-depth model from a full-width slice of it.

A slice (examples/export_models.py --full-size flux-slice: one block of each
kind at full width) is profiled per plan with `ditc profile --format json`;
its ops are grouped by the ONNX node scope of the block they belong to
(every op, collectives included, carries its node), and the full model's
step is the rest plus each block's time times its count:

    python3 benchmarks/extrapolate_blocks.py /tmp/ditc-full/flux-slice-b1/model.onnx \
        --blocks single_transformer_blocks.0=38,transformer_blocks.0=19 \
        --plans ulysses=2,ring=2,ulysses=2;ring=2,ulysses=4,ring=4 \
        --hw h100-sxm --dtype bf16 --steps 28

Plans are separated by commas, a plan's own commas written as semicolons;
the one-device step is always included. A scope is matched as a substring
of the node name, the first listed first (list the longer name first when
one contains another). Prints a markdown table: plan, predicted step of the
slice, of the full model, the run of --steps steps and the speed-up over
one device. Only plans whose ranks run the same program (no pp or
pipefusion) are meaningful here: rank 0 is profiled.
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--blocks", required=True, help="SCOPE=COUNT,... (node-name substrings)")
    ap.add_argument("--plans", default="", help="plans, commas between, semicolons inside")
    ap.add_argument("--hw", default="h100-sxm")
    ap.add_argument("--dtype", default="bf16")
    ap.add_argument("--steps", type=int, default=28)
    ap.add_argument("--ditc", default=os.path.join(REPO, "build", "bin", "ditc"))
    a = ap.parse_args()
    blocks = [(s.split("=")[0], int(s.split("=")[1])) for s in a.blocks.split(",")]
    plans = [""] + [p.replace(";", ",") for p in a.plans.split(",") if p]
    rows, base = [], None
    with tempfile.TemporaryDirectory() as tmp:
        for plan in plans:
            out = os.path.join(tmp, "p.json")
            cmd = [a.ditc, "profile", a.model, "--hw", a.hw, "--dtype", a.dtype,
                   "--format", "json", "-o", out]
            if plan:
                n = math.prod(int(kv.split("=")[1]) for kv in plan.split(","))
                cmd += ["--devices", str(n), "--plan", plan]
            p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            if p.returncode:
                sys.exit(f"error: {' '.join(cmd)}: {p.stdout.strip().splitlines()[-1]}")
            j = json.load(open(out))
            per = {s: 0.0 for s, _ in blocks}
            rest = 0.0
            for op in j["ops"]:
                scope = next((s for s, _ in blocks if s in op["node"]), None)
                if scope is None:
                    rest += op["predicted_time_s"]
                else:
                    per[scope] += op["predicted_time_s"]
            full = rest + sum(per[s] * c for s, c in blocks)
            base = base or full
            rows.append((plan or "1 device", j["predicted_time_s"], full))
    print(f"| plan | slice step | full step | {a.steps} steps | speed-up |")
    print("|---|---|---|---|---|")
    for plan, sl, full in rows:
        print(f"| `{plan}` | {sl * 1e3:.3f} ms | {full * 1e3:.2f} ms | {full * a.steps:.2f} s | "
              f"{base / full:.2f}x |")


if __name__ == "__main__":
    main()
