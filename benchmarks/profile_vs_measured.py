#!/usr/bin/env python3
"""MAP's predicted per-layer times against measured ones, on this machine.

    python3 benchmarks/profile_vs_measured.py --ditc build/bin/ditc \
        --calibrate --runs 50 MODEL.onnx [...]

For each model: `ditc calibrate` (with --calibrate; else --hw names the
machine), `ditc profile --hw HW --format json` (predicted time per op and
the layers it found), `ditc compile --trace` (the library records when
each step ends), and `ditc run --trace T.json --warmup 3 --bench N` (the
median duration of every step over N runs). Steps are the same in both (the
profile and the compiled library schedule the same legalised graph), so the
measured steps are summed over the profile's layers. Prints, per model, each
layer's predicted and measured time and their ratio, and the whole step.
Nothing here is a test.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{p.stderr.strip()}")
    return p.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ditc", default="build/bin/ditc")
    ap.add_argument("--hw", default="cpu")
    ap.add_argument("--calibrate", action="store_true",
                    help="run `ditc calibrate` right before each model and predict "
                    "with that description (this VM's speed drifts by 2x over minutes)")
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--group", action="store_true",
                    help="also print one line per kind of block (mean over repeats)")
    ap.add_argument("models", nargs="+")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="ditc-pvm-")
    worst = 0.0
    print(f"{'model':<28} {'layer':<16} {'steps':>9} {'predicted':>11} "
          f"{'measured':>11} {'pred/meas':>9}")
    for model in args.models:
        tag = os.path.basename(os.path.dirname(os.path.abspath(model)))
        prof = os.path.join(tmp, tag + ".json")
        lib = os.path.join(tmp, tag + ".so")
        trace = os.path.join(tmp, tag + ".trace.json")
        run([args.ditc, "compile", model, "--trace", "-o", lib])
        hw = args.hw
        if args.calibrate:
            hw = os.path.join(tmp, tag + ".hw.json")
            cal = [args.ditc, "calibrate", "-o", hw]
            if args.threads:
                cal += ["--threads", str(args.threads)]
            run(cal)
        run([args.ditc, "profile", model, "--hw", hw, "--format", "json",
             "-o", prof])
        inputs = os.path.join(os.path.dirname(model), "inputs.npz")
        cmd = [args.ditc, "run", lib, "--warmup", "3", "--bench", str(args.runs),
               "--trace", trace]
        if os.path.exists(inputs):
            cmd += ["--inputs", inputs]
        if args.threads:
            cmd += ["--threads", str(args.threads)]
        run(cmd)
        p = json.load(open(prof))
        t = json.load(open(trace))
        steps = t["step_seconds"]
        if len(steps) != len(p["ops"]):
            sys.exit(f"{model}: the trace has {len(steps)} steps, the profile "
                     f"{len(p['ops'])}")
        total_pred = total_meas = 0.0
        for layer in p["layers"]:
            a, b = layer["first_step"], layer["last_step"] + 1
            pred = layer["predicted_time_s"]
            meas = sum(steps[a:b])
            total_pred += pred
            total_meas += meas
            ratio = pred / meas if meas > 0 else float("nan")
            if layer["kind"] >= 0:
                worst = max(worst, abs(ratio - 1))
            print(f"{tag:<28} {layer['name']:<16} {f'{a}-{b - 1}':>9} "
                  f"{pred * 1e3:>9.3f}ms {meas * 1e3:>9.3f}ms {ratio:>9.2f}")
        print(f"{tag:<28} {'whole step':<16} {len(steps):>9} "
              f"{total_pred * 1e3:>9.3f}ms {total_meas * 1e3:>9.3f}ms "
              f"{total_pred / total_meas:>9.2f}")
    print(f"largest per-block deviation: {worst:.0%}")


if __name__ == "__main__":
    main()
