#!/usr/bin/env python3
"""PipeFusion's stale schedule over a denoising run: error against the exact one.

For each model and patch count, runs `ditc run --steps S --warmup-steps K`
on the one-rank library (exact: every denoising step synchronous) and, under
mpirun, on the `pipefusion=P,patches=M` library for each K, and prints the
relative L2 of the final latent against the one-rank one, as a markdown
table (one row per model and M, one column per K). With K = S every step is
synchronous: the column must be ~0.

usage: pipefusion_stale.py [--ditc build/bin/ditc] [--fixtures test/fixtures]
         [--models dit_dynamo,pixart_dynamo] [--patches 2,4,8] [--stages 2]
         [--steps 20] [--warmup 1,2,4,20] [--work DIR]
"""
import argparse
import os
import subprocess
import sys

import numpy as np

MPIRUN = ["mpirun", "--allow-run-as-root", "--oversubscribe",
          "--mca", "btl_vader_single_copy_mechanism", "none"]


def sh(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if p.returncode:
        sys.exit(" ".join(cmd) + "\n" + p.stdout[-2000:])
    return p.stdout


def latent(path):
    d = np.load(path)
    return next(iter(d.values())).astype(np.float64)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ditc", default="build/bin/ditc")
    ap.add_argument("--fixtures", default="test/fixtures")
    ap.add_argument("--models", default="dit_dynamo,pixart_dynamo")
    ap.add_argument("--patches", default="2,4,8")
    ap.add_argument("--stages", type=int, default=2)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", default="1,2,4,20")
    ap.add_argument("--work", default="/tmp/ditc-pipefusion-stale")
    a = ap.parse_args()
    warmups = [int(k) for k in a.warmup.split(",")]
    os.makedirs(a.work, exist_ok=True)
    print(f"| model | patches | " + " | ".join(f"K = {k}" for k in warmups) + " |")
    print("|---|---|" + "---|" * len(warmups))
    for model in a.models.split(","):
        onnx = os.path.join(a.fixtures, model, "model.onnx")
        inputs = os.path.join(a.fixtures, model, "inputs.npz")
        one = os.path.join(a.work, model + "-1.so")
        sh([a.ditc, "compile", onnx, "-o", one])
        ref_path = os.path.join(a.work, model + "-1.npz")
        sh([a.ditc, "run", one, "--inputs", inputs, "--steps", str(a.steps),
            "--outputs", ref_path])
        ref = latent(ref_path)
        for m in a.patches.split(","):
            plan = f"pipefusion={a.stages},patches={m}"
            lib = os.path.join(a.work, f"{model}-pf{a.stages}-m{m}.so")
            out = sh([a.ditc, "compile", onnx, "-o", lib, "--devices", str(a.stages),
                      "--plan", plan])
            if "synchronous schedule at every denoising step" in out:
                print(f"| {model} | {m} | " + " | ".join("no stale schedule" for _ in warmups) +
                      " |")
                continue
            errs = []
            for k in warmups:
                o = os.path.join(a.work, f"{model}-pf{a.stages}-m{m}-k{k}.npz")
                sh(MPIRUN + ["-np", str(a.stages), a.ditc, "run", lib, "--inputs", inputs,
                             "--steps", str(a.steps), "--warmup-steps", str(k), "--outputs", o])
                x = latent(o)
                errs.append(np.linalg.norm(x - ref) / np.linalg.norm(ref))
            print(f"| {model} | {m} | " + " | ".join(f"{e:.1e}" for e in errs) + " |")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
