#!/usr/bin/env python3
"""ditc's predictions for xDiT's published settings of one model on one
machine, beside the published latencies: for each device count, the
predicted step of the configuration xDiT ran (the best plan of the search
with those degrees: `ditc plan --top 1000 --format json`), its speed-up over
one device (`ditc profile`), the published speed-up and how far apart they
are, and ditc's own choice with its speed-up. Prints one markdown table.

    python3 benchmarks/xdit_settings.py MODEL.onnx --hw a100-sxm --dtype bf16 \
        --steps 20 --published 1=1.81,2=0.93,4=0.85,8=0.90 \
        --settings "2=cfg=2;4=cfg=2,pipefusion=2;8=cfg=2,pipefusion=4"

Published latencies are of xDiT's whole pipeline (seconds per image);
ditc's are the transformer's, one step times --steps. The configurations
are `--plan` strings; degrees not named are 1, and a PipeFusion setting
matches any patch count (xDiT's is not published), the best one predicted.
"""
import argparse
import json
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEGREES = ("cfg", "pipefusion", "ulysses", "ring", "ring_inner", "tp", "pp", "dp")


def run_json(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode:
        sys.exit(f"xdit_settings: failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr[-2000:]}")
    return json.loads(p.stdout)


def degrees(plan_string):
    d = {k: 1 for k in DEGREES}
    for kv in filter(None, plan_string.split(",")):
        k, _, v = kv.partition("=")
        if k not in DEGREES:
            if k == "patches":
                continue
            sys.exit(f"xdit_settings: unknown plan key '{k}' in '{plan_string}'")
        d[k] = int(v)
    return d


def pairs(text, what):
    out = {}
    for item in filter(None, text.split(";" if what == "settings" else ",")):
        n, _, value = item.partition("=")
        if not n.isdigit() or not value:
            sys.exit(f"xdit_settings: --{what}: '{item}' is not N=VALUE")
        out[int(n)] = value
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model")
    ap.add_argument("--hw", required=True)
    ap.add_argument("--dtype", default="bf16")
    ap.add_argument("--steps", type=int, required=True)
    ap.add_argument("--settings", required=True,
                    help="N=PLAN;... xDiT's configuration per device count")
    ap.add_argument("--published", required=True,
                    help="N=SECONDS,... xDiT's latency per device count (1 included)")
    ap.add_argument("--extra", nargs="*", default=[], help="more ditc plan/profile arguments")
    ap.add_argument("--ditc", default=os.path.join(REPO, "build", "bin", "ditc"))
    a = ap.parse_args()
    settings = {n: degrees(p) for n, p in pairs(a.settings, "settings").items()}
    published = {n: float(s) for n, s in pairs(a.published, "published").items()}
    if 1 not in published:
        sys.exit("xdit_settings: --published needs the one-device latency (1=SECONDS)")

    common = ["--hw", a.hw, "--dtype", a.dtype, *a.extra]
    one = run_json([a.ditc, "profile", a.model, *common, "--format", "json"])["predicted_time_s"]
    print(f"| GPUs | xDiT's configuration | published | published speed-up | "
          f"ditc predicts for it | ditc's choice |")
    print("|---|---|---|---|---|---|")
    print(f"| 1 | | {published[1]:.2f} s | 1.00x | {1e3 * one:.2f} ms/step "
          f"({one * a.steps:.2f} s) | |")
    for n in sorted(settings):
        out = run_json([a.ditc, "plan", a.model, *common, "--devices", str(n), "--steps",
                        str(a.steps), "--top", "1000", "--format", "json"])
        cands = [out] + out["alternatives"]
        want = settings[n]
        match = [c for c in cands if c.get("fits", True)
                 and all(c["plan"].get(k, 1) == v for k, v in want.items())]
        pub = published[1] / published[n] if n in published else None
        chosen = f"`{out['plan_string']}` {one / out['predicted_step_s']:.2f}x"
        config = ", ".join(f"{k}={v}" for k, v in want.items() if v > 1)
        if not match:
            cell = "not a legal plan here"
        else:
            best = min(match, key=lambda c: c["predicted_step_s"])
            sp = one / best["predicted_step_s"]
            cell = f"{sp:.2f}x"
            if pub:
                cell += f" ({100 * (sp / pub - 1):+.0f}%)"
            if best is out:
                chosen = f"the same ({chosen.split(' ')[-1]})"
        pub_cell = f"{published[n]:.2f} s | {pub:.2f}x" if pub else "| "
        print(f"| {n} | {config} | {pub_cell} | {cell} | {chosen} |")


if __name__ == "__main__":
    main()
