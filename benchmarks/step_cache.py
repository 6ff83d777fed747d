#!/usr/bin/env python3
"""Step caches on a full-size graph: time saved, steps skipped, error.

    /opt/ditc-export-venv/bin/python benchmarks/step_cache.py \
        [--ditc build/bin/ditc] [--dir /tmp/ditc-full/dit] [--steps 20] \
        [--threads 2] [--fbcache 0.05,0.1,0.2] [--teacache 0.2,0.4,0.8] \
        [--redundancy-steps 8] [--plans "ulysses=2 ring=2 cfg=2 pipefusion=2"]

--plans runs each plan (comma-separated keys; plans separated by spaces in
one argument, e.g. "ulysses=2 cfg=2 pipefusion=2,ulysses=2") under
`mpirun -np N` (N the product of its degrees, one thread per rank) without a
cache and with fbcache at the policy's threshold, after the one-rank table.

Exports DiT-XL/2 at 256 px, batch 2 (examples/export_models.py --full-size
dit --seq 256; seeded random weights) unless DIR/model.onnx exists, then:

  1. compiles it without a cache and with each cache and threshold, and
     once with --probes redundancy;
  2. runs `ditc run --steps S` on each (the same inputs, the same sampler),
     reading the time of every denoising step and the steps skipped;
  3. compares each final latent with the uncached one (relative L2);
  4. runs `ditc redundancy` on the probed library (one plot per layer, to
     DIR/redundancy.svg) to check that the probes work at full size.

Prints a markdown table: cache, threshold, steps skipped, sampler seconds,
the time relative to no cache, what computed steps over all steps predict
((S - skipped) / S, plus the first block's share of a skipped step for
fbcache) and the final latent's relative L2 against no cache. Random
weights make the redundancy itself meaningless for image quality; the
skip ratios and the time they save are what this measures.
"""
import argparse
import os
import re
import subprocess
import sys
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def log(msg):
    print("step_cache: " + msg, file=sys.stderr, flush=True)


def sh(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError("%s exited %d: %s" % (" ".join(cmd[:3]), p.returncode,
                                                 (p.stdout + p.stderr).strip()[-600:]))
    return p.stdout + p.stderr


def probes(a, model, inputs, weights, policy):
    """The probes at full size: ditc redundancy on a probed library (its
    JSON is the caches' policy; the SVG one plot per layer)."""
    d = os.path.dirname(model)
    lib = os.path.join(d, "probes.so")
    log("compiling with --probes redundancy")
    sh([a.ditc, "compile", model, "-o", lib, "--probes", "redundancy", "--no-weights"])
    t0 = time.perf_counter()
    for fmt, out in (("json", policy), ("svg", os.path.join(d, "redundancy.svg"))):
        log("ditc redundancy --format %s (%d steps)" % (fmt, a.redundancy_steps))
        sh([a.ditc, "redundancy", lib, "--inputs", inputs, "--steps", str(a.redundancy_steps),
            "--threads", str(a.threads), "--format", fmt, "-o", out, "--weights", weights])
    log("ditc redundancy: %.1f s" % (time.perf_counter() - t0))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ditc", default=os.path.join(REPO, "build", "bin", "ditc"))
    ap.add_argument("--dir", default="/tmp/ditc-full/dit")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--fbcache", default="policy,0.5,1.0")
    ap.add_argument("--teacache", default="policy,0.4,0.8")
    ap.add_argument("--redundancy-steps", type=int, default=8)
    ap.add_argument("--plans", default="",
                    help="plans to run under mpirun too, separated by spaces")
    a = ap.parse_args()
    d = a.dir
    if not os.path.exists(os.path.join(d, "model.onnx")):
        log("exporting DiT-XL/2 256px into %s (minutes)" % d)
        subprocess.run([sys.executable, os.path.join(REPO, "examples", "export_models.py"),
                        "--full-size", "dit", "--out", d, "--seq", "256"], check=True)
    model, inputs = os.path.join(d, "model.onnx"), os.path.join(d, "inputs.npz")
    configs = [("none", None)]
    configs += [("fbcache", t) for t in a.fbcache.split(",") if t]
    configs += [("teacache", t) for t in a.teacache.split(",") if t]
    rows = []
    plain = None
    weights = os.path.join(d, "cache-none-None.safetensors")
    policy = os.path.join(d, "redundancy.json")
    for kind, thr in configs:
        lib = os.path.join(d, "cache-%s-%s.so" % (kind, thr))
        cmd = [a.ditc, "compile", model, "-o", lib]
        if kind != "none":
            # One weight file (the uncached library's) serves them all.
            cmd += ["--cache", kind, "--no-weights"]
            cmd += (["--cache-policy", policy] if thr == "policy" else
                    ["--cache-threshold", thr])
        log("compiling %s %s" % (kind, thr if thr is not None else ""))
        compiled = sh(cmd)
        out = lib[:-3] + ".npz"
        log("running %d denoising steps" % a.steps)
        if kind == "none":
            probes(a, model, inputs, weights, policy)
        text = sh([a.ditc, "run", lib, "--inputs", inputs, "--steps", str(a.steps),
                   "--threads", str(a.threads), "--outputs", out, "--weights", weights])
        steps = [float(m) for m in re.findall(r"denoising step \d+/\d+: t = [0-9.]+, ([0-9.]+) ms",
                                              text)]
        assert len(steps) == a.steps, text
        skipped = int(re.search(r"skipped (\d+) of", text).group(1)) if kind != "none" else 0
        latent = np.load(out)
        latent = latent[latent.files[0]].astype(np.float64)
        if plain is None:
            plain = latent
        rel = np.linalg.norm(latent - plain) / np.linalg.norm(plain)
        if thr == "policy":
            thr = "policy " + re.search(r"threshold ([0-9.]+)", compiled).group(1)
        # The first step also sets up the kernels: compare the later ones.
        rows.append((kind, thr, skipped, sum(steps[1:]) / 1000, steps, rel))
    base = rows[0][3]
    # A skipped step still runs what precedes the decision (fbcache: the
    # first block and the embeddings): its share, from the skipped steps'
    # median over the computed ones'.
    print("| cache | threshold | skipped | sampler s (steps 2..S) | vs none | predicted | "
          "rel L2 vs none |")
    print("|---|---|---|---|---|---|---|")
    for kind, thr, skipped, secs, steps, rel in rows:
        computed = a.steps - skipped
        text = "-" if thr is None else thr
        if kind == "none":
            print("| none | - | 0 | %.2f | 1.00 | 1.00 | 0 |" % secs)
            continue
        full = np.median(rows[0][4][1:])
        part = [s for s in steps[1:]]
        share = min(part) / full
        predicted = ((computed - 1) + skipped * share) / (a.steps - 1)
        print("| %s | %s | %d of %d | %.2f | %.2f | %.2f | %.1e |" %
              (kind, text, skipped, a.steps, secs, secs / base, predicted, rel))
    if a.plans.split():
        plans(a, model, inputs, policy, plain)


MPIRUN = ["mpirun", "--allow-run-as-root", "--oversubscribe",
          "--mca", "btl_vader_single_copy_mechanism", "none"]


def run_plan(a, model, inputs, plan, ranks, cache, policy):
    """Compiles `model` for `plan` (with fbcache at the policy's threshold
    when `cache`), runs the sampler under mpirun; returns (per-step ms of
    rank 0, the skipped steps of every rank, rank 0's latent)."""
    d = os.path.dirname(model)
    tag = plan.replace("=", "").replace(",", "-") + ("-fb" if cache else "")
    lib = os.path.join(d, "plan-%s.so" % tag)
    cmd = [a.ditc, "compile", model, "-o", lib, "--devices", str(ranks), "--plan", plan]
    if cache:
        cmd += ["--cache", "fbcache", "--cache-policy", policy]
    log("compiling %s%s" % (plan, " with fbcache" if cache else ""))
    sh(cmd)
    out = lib[:-3] + ".%r.npz"
    log("running %s on %d ranks" % (plan, ranks))
    text = sh(MPIRUN + ["-np", str(ranks), a.ditc, "run", lib, "--inputs", inputs,
                        "--steps", str(a.steps), "--threads", "1", "--outputs", out])
    steps = [float(m) for m in re.findall(r"denoising step \d+/\d+: t = [0-9.]+, ([0-9.]+) ms",
                                          text)]
    skipped = sorted(set(re.findall(r"rank \d+/\d+: cache fbcache: skipped (.*)", text)))
    latent = np.load(out.replace("%r", "0"))
    latent = latent[latent.files[0]].astype(np.float64)
    for f in os.listdir(d):  # the libraries' weight shards: gigabytes each
        if f.startswith("plan-%s." % tag) and f.endswith(".safetensors"):
            os.remove(os.path.join(d, f))
    return steps, skipped, latent


def plans(a, model, inputs, policy, plain):
    print()
    print("| plan | ranks | skipped (every rank) | sampler s, none | fbcache | vs none | "
          "predicted | rel L2 vs one rank, none | cached vs plan none |")
    print("|---|---|---|---|---|---|---|---|---|")
    for plan in a.plans.split():
        ranks = int(np.prod([int(v) for v in re.findall(r"=(\d+)", plan)]))
        base_steps, _, base = run_plan(a, model, inputs, plan, ranks, False, policy)
        steps, skipped, latent = run_plan(a, model, inputs, plan, ranks, True, policy)
        assert len(skipped) == 1, skipped  # every rank the same steps
        n = int(re.match(r"(\d+) of", skipped[0]).group(1))
        full, secs = sum(base_steps[1:]) / 1000, sum(steps[1:]) / 1000
        share = min(steps[1:]) / np.median(base_steps[1:])
        predicted = ((a.steps - n - 1) + n * share) / (a.steps - 1)
        print("| %s | %d | %s | %.2f | %.2f | %.2f | %.2f | %.1e | %.1e |" %
              (plan, ranks, skipped[0], full, secs, secs / full, predicted,
               np.linalg.norm(base - plain) / np.linalg.norm(plain),
               np.linalg.norm(latent - base) / np.linalg.norm(base)), flush=True)


if __name__ == "__main__":
    main()
