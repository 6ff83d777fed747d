#!/usr/bin/python3
"""AutoChunk on full-width graphs: arena, peak RSS, step time and output with
and without `ditc compile --activation-limit`.

    benchmarks/chunk.py [--ditc build/bin/ditc] [--dir /tmp/ditc-full]
        [--models dit-block4096,llm-mlp4096] [--fractions 0.5,0.2]
        [--threads 2] [--runs 3] [--rounds 1] [--fit-arena 256MiB] [--json OUT.json]

For each model (exported with random weights by examples/export_models.py
into DIR/NAME unless it is there):
  1. `ditc profile --format json` gives the unchunked arena A;
  2. `ditc compile` without a budget, and once per fraction f with
     `--activation-limit f*A`;
  3. `ditc run --inputs --outputs --warmup 1 --bench RUNS --threads T` on
     each: the median step time, the peak RSS and the arena it reports;
  4. each chunked output against the unchunked one (relative L2).
With --rounds R, step 3 runs a model's libraries in turn R times, and each
library's time relative to the unchunked one is the median of the R
rounds' ratios (a shared VM changes speed between runs: the rounds reach
every library alike); the table gives their range too.
Prints a markdown table: one row per library, the time relative to the
unchunked library of the same run (this machine is shared: compare ratios).
With --fit-arena SIZE, also the longest token count (a multiple of 256,
`ditc profile --dim tokens=N`) whose arena fits SIZE without chunking and
with `--activation-limit SIZE`.
"""

import argparse
import json
import os
import re
import subprocess
import sys

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The export venv (examples/requirements-export.txt), else the test venv
# (torch and onnx too).
EXPORT_PY = next((p for p in ("/opt/ditc-export-venv/bin/python", "/opt/ditc-venv/bin/python")
                  if os.path.exists(p)), "/opt/ditc-export-venv/bin/python")

MODELS = {
    # name: (export_models.py --full-size kind, extra args, description)
    "dit-block4096": ("dit-block", ["--seq", "4096"], "DiT-XL/2 block, 4096 tokens b2", 4096),
    "llm-mlp4096": ("llm-mlp", ["--seq", "4096"], "Llama MLP block (2048/5632), 4096 tokens", 4096),
}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def export(name, d):
    kind, extra, _, _ = MODELS[name]
    if os.path.exists(os.path.join(d, "model.onnx")) and os.path.exists(
            os.path.join(d, "inputs.npz")):
        return
    log("exporting %s into %s" % (name, d))
    env = dict(os.environ, LD_LIBRARY_PATH="/usr/local/cuda/lib64:/usr/local/cuda/lib")
    subprocess.run([EXPORT_PY, os.path.join(REPO, "examples", "export_models.py"),
                    "--full-size", kind, "--out", d] + extra, check=True, env=env)


def run(ditc, lib, inputs, out, threads, runs):
    p = subprocess.run([ditc, "run", lib, "--inputs", inputs, "--outputs", out,
                        "--threads", str(threads), "--warmup", "1", "--bench", str(runs)],
                       capture_output=True, text=True)
    text = p.stdout + p.stderr
    if p.returncode != 0:
        raise RuntimeError("ditc run exited %d: %s" % (p.returncode, text.strip()[-400:]))
    median = float(re.search(r"median ([0-9.]+) ms", text).group(1)) / 1000
    rss = float(re.search(r"peak RSS: ([0-9.]+) MiB", text).group(1))
    arena = int(re.search(r"arena: [0-9.]+ MiB \(([0-9]+) bytes\)", text).group(1))
    return median, rss, arena


def fits(ditc, model, tokens, budget, chunk):
    """Whether the arena at `tokens` fits `budget` (with chunking: whether
    ditc profile --activation-limit meets it)."""
    cmd = [ditc, "profile", model, "--format", "json", "--dim", "tokens=%d" % tokens]
    if chunk:
        cmd += ["--activation-limit", budget]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        if "cannot be met" in p.stderr:
            return False
        raise RuntimeError(p.stderr.strip())
    arena = json.loads(p.stdout)["activation_peak_bytes"]
    return arena <= parse_size(budget)


def parse_size(text):
    m = re.fullmatch(r"([0-9]+)\s*(|B|KiB|MiB|GiB|KB|MB|GB)", text)
    unit = {"": 1, "B": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "KB": 10**3,
            "MB": 10**6, "GB": 10**9}[m.group(2)]
    return int(m.group(1)) * unit


def longest(ditc, model, budget, chunk, step=256, top=1 << 20):
    """The largest multiple of `step` tokens that fits (0 if none)."""
    lo, hi = 0, step
    while fits(ditc, model, hi, budget, chunk):
        lo, hi = hi, hi * 2
        if hi > top:
            return lo  # fits at the cap: reported as ">= lo"
    while hi - lo > step:
        mid = (lo + hi) // 2 // step * step
        if fits(ditc, model, mid, budget, chunk):
            lo = mid
        else:
            hi = mid
    return lo


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ditc", default=os.path.join(REPO, "build", "bin", "ditc"))
    ap.add_argument("--dir", default="/tmp/ditc-full")
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--fractions", default="0.5,0.2")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=1,
                    help="run a model's libraries in turn this many times (median of the ratios)")
    ap.add_argument("--fit-arena", help="also the longest token count that fits this arena")
    ap.add_argument("--json")
    args = ap.parse_args()
    rows = []
    for name in args.models.split(","):
        d = os.path.join(args.dir, name)
        export(name, d)
        model = os.path.join(d, "model.onnx")
        inputs = os.path.join(d, "inputs.npz")
        dims = ["--dim", "tokens=%d" % MODELS[name][3]]
        prof = subprocess.run([args.ditc, "profile", model, "--format", "json"] + dims,
                              capture_output=True, text=True, check=True)
        arena = json.loads(prof.stdout)["activation_peak_bytes"]
        libs = []
        for frac in [None] + [float(f) for f in args.fractions.split(",")]:
            tag = "base" if frac is None else "chunk%g" % frac
            lib = os.path.join(d, tag + ".so")
            out = os.path.join(d, tag + "_out.npz")
            cmd = [args.ditc, "compile", model, "-o", lib] + dims
            limit = None
            if frac is not None:
                limit = int(arena * frac)
                cmd += ["--activation-limit", str(limit)]
            log("compiling %s (%s)" % (name, tag))
            p = subprocess.run(cmd, capture_output=True, text=True)
            if p.returncode != 0:
                rows.append({"model": name, "limit": limit, "error": p.stderr.strip()[-300:]})
                continue
            loops = re.search(r"chunked (\d+) region", p.stderr)
            libs.append({"model": name, "limit": limit, "lib": lib, "out": out,
                         "loops": int(loops.group(1)) if loops else 0, "times": [], "ratios": []})
        if not libs or libs[0]["limit"] is not None:
            continue  # no unchunked library to compare with
        for rnd in range(args.rounds):
            for r in libs:
                log("running %s (%s), round %d/%d" % (name, os.path.basename(r["lib"]), rnd + 1,
                                                      args.rounds))
                median, r["rss_mib"], r["arena"] = run(args.ditc, r["lib"], inputs, r["out"],
                                                       args.threads, args.runs)
                r["times"].append(median)
                r["ratios"].append(median / libs[0]["times"][-1])
        base_out = np.load(libs[0]["out"])
        for r in libs:
            got = np.load(r["out"])
            err = 0.0
            for k in base_out.files:
                ref, g = base_out[k].astype(np.float64), got[k].astype(np.float64)
                err = max(err, float(np.linalg.norm(g - ref) / np.linalg.norm(ref)))
            rows.append({"model": name, "limit": r["limit"], "arena": r["arena"],
                         "loops": r["loops"], "median_s": float(np.median(r["times"])),
                         "rss_mib": r["rss_mib"], "ratio": float(np.median(r["ratios"])),
                         "ratio_min": min(r["ratios"]), "ratio_max": max(r["ratios"]),
                         "rel_l2": err})
    print("| model | limit | loops | arena (MiB) | peak RSS (MiB) | step (s) | vs unchunked "
          "(rounds' range) | rel L2 vs unchunked |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        if "error" in r:
            print("| %s | %s | - | - | - | - | - | %s |" % (r["model"], r["limit"], r["error"]))
            continue
        print("| %s | %s | %d | %.1f | %.0f | %.3f | %.3f (%.3f-%.3f) | %.1e |" % (
            r["model"], "none" if r["limit"] is None else "%.1f MiB" % (r["limit"] / 2**20),
            r["loops"], r["arena"] / 2**20, r["rss_mib"], r["median_s"], r["ratio"],
            r["ratio_min"], r["ratio_max"], r["rel_l2"]))
    if args.fit_arena:
        print()
        print("| model | arena budget | longest tokens, unchunked | longest tokens, chunked |")
        print("|---|---|---|---|")
        for name in args.models.split(","):
            model = os.path.join(args.dir, name, "model.onnx")
            plain = longest(args.ditc, model, args.fit_arena, False)
            chunked = longest(args.ditc, model, args.fit_arena, True)
            cap = lambda n: (">= %d" % n) if n >= (1 << 20) else "%d" % n
            print("| %s | %s | %s | %s |" % (name, args.fit_arena, cap(plain), cap(chunked)))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    sys.exit(main())
