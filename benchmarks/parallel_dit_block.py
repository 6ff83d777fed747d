#!/usr/bin/env python3
"""Speed of the parallel strategies on this machine: one rank vs 2 ranks.

Compiles a model (by default the full-width DiT block, hidden 1152, 16
heads, 4096 tokens, batch 2) for one rank and for each plan, runs it with
`ditc run --bench` (one rank with 1 thread and with T threads; P ranks
under mpirun with T/P threads each, so that they use the cores one rank
with T threads uses), and prints per plan: the median step time, the
speed-up over one rank per device (1 rank x T/P threads: a rank is a
device) and over one rank on the same cores (1 rank x T threads), the communication share (the traced
steps of the collectives over the whole step; Ring's K/V exchange runs
inside its attention step and is not in that share), and the bytes each
rank sent as `ditc run --comm-stats` counted them next to what
`ditc profile --plan` predicts from the partitioned IR.

usage: parallel_dit_block.py [--ditc build/bin/ditc] [--model M.onnx]
         [--inputs IN.npz] [--plans ulysses=2,ring=2,tp=2,cfg=2]
         [--threads 2] [--runs 5] [--warmup 1] [--work DIR] [--json OUT]
Run it on an idle machine: see docs/BENCHMARKS.md.
"""
import argparse
import json
import math
import os
import re
import subprocess
import sys

MPIRUN = ["mpirun", "--allow-run-as-root", "--oversubscribe",
          "--mca", "btl_vader_single_copy_mechanism", "none"]
COLLECTIVES = ("ditc.collective.all_gather", "ditc.collective.all_reduce",
               "ditc.collective.all_to_all", "ditc.collective.reduce_scatter",
               "ditc.collective.send", "ditc.collective.recv",
               "ditc.collective.broadcast")


def sh(cmd, env=None):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       env=env)
    if p.returncode:
        sys.exit("failed: %s\n%s" % (" ".join(cmd), p.stdout[-3000:]))
    return p.stdout


def median_ms(out):
    m = re.search(r"median ([0-9.]+) ms", out)
    if not m:
        sys.exit("no median in ditc run output:\n" + out[-2000:])
    return float(m.group(1))


def comm_bytes(out):
    """rank -> {kind: bytes} from --comm-stats lines."""
    per = {}
    for m in re.finditer(r"comm rank (\d+)/\d+: (\w+) (\d+) bytes", out):
        if m.group(2) != "total":
            per.setdefault(int(m.group(1)), {})[m.group(2)] = int(m.group(3))
    return per


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ditc", default="build/bin/ditc")
    ap.add_argument("--model", default="/tmp/ditc-full/dit-block-4096/model.onnx")
    ap.add_argument("--inputs", default=None)
    ap.add_argument("--plans", default="ulysses=2;ring=2;tp=2;cfg=2;pp=2")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--work", default="/tmp/ditc-parallel-bench")
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    inputs = a.inputs or os.path.join(os.path.dirname(a.model), "inputs.npz")
    bench = ["--bench", str(a.runs), "--warmup", str(a.warmup)]
    if os.path.exists(inputs):
        bench += ["--inputs", inputs]

    so1 = os.path.join(a.work, "one.so")
    sh([a.ditc, "compile", a.model, "-o", so1])
    # One rank per device (as many threads as each of P ranks gets) and one
    # rank on all the cores.
    single = {}
    for t in sorted({1, a.threads}):
        single[t] = median_ms(sh([a.ditc, "run", so1, "--threads", str(t)] + bench))
        print(f"1 rank x {t} threads: {single[t]:.1f} ms", flush=True)
    base = single[a.threads]
    rows = [{"plan": "1 rank", "ranks": 1, "threads_per_rank": t, "median_ms": ms,
             "speedup": base / ms} for t, ms in single.items()]
    for plan in a.plans.split(";"):
        n = math.prod(int(kv.split("=")[1]) for kv in plan.split(","))
        tag = plan.replace("=", "").replace(",", "-")
        so = os.path.join(a.work, tag + ".so")
        sh([a.ditc, "compile", a.model, "-o", so, "--devices", str(n), "--plan", plan, "--trace"])
        pj = os.path.join(a.work, tag + ".profile.json")
        sh([a.ditc, "profile", a.model, "--plan", plan, "--format", "json", "-o", pj])
        prof = json.load(open(pj))
        trace = os.path.join(a.work, tag + ".trace.json")
        threads = max(1, a.threads // n)
        if threads not in single:
            single[threads] = median_ms(sh([a.ditc, "run", so1, "--threads", str(threads)] + bench))
        out = sh(MPIRUN + ["-np", str(n), a.ditc, "run", so, "--threads", str(threads),
                           "--trace", trace, "--comm-stats"] + bench)
        ms = median_ms(out)
        steps = json.load(open(trace))["step_seconds"]
        # Rank 0's steps (under pp its stage's: the others take no time).
        comm_s = sum(steps[o["step"]] for o in prof["ops"] if o["op"] in COLLECTIVES)
        measured = comm_bytes(out).get(0, {})
        # The runtime lists the kinds it sent bytes in.
        predicted = {k: v["bytes_sent_per_rank"] for k, v in prof["comm"].items()
                     if v["bytes_sent_per_rank"]}
        # The runtime counts ring attention's exchange under "send".
        if "ring_exchange" in predicted:
            predicted["send"] = predicted.pop("ring_exchange") + predicted.get("send", 0)
        row = {"plan": plan, "ranks": n, "threads_per_rank": threads, "median_ms": ms,
               "speedup": base / ms, "speedup_per_device": single[threads] / ms,
               "comm_share": comm_s / max(sum(steps), 1e-12),
               "bytes_measured": measured, "bytes_predicted": predicted}
        rows.append(row)
        print(f"{plan} ({n} ranks x {threads} threads): {ms:.1f} ms, speed-up "
              f"{single[threads] / ms:.2f}x per device, {base / ms:.2f}x on the same cores, collectives {100 * row['comm_share']:.1f}% of the step; "
              f"bytes/rank measured {measured} predicted {predicted}", flush=True)
    print("\n| plan | ranks x threads | median ms | speed-up per device | speed-up on the same cores "
          "| collectives share | MiB sent per rank (measured = predicted) |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        if r["ranks"] == 1:
            print(f"| 1 rank | 1 x {r['threads_per_rank']} | {r['median_ms']:.1f} | - | "
                  f"{r['speedup']:.2f} | - | - |")
            continue
        mib = sum(r["bytes_measured"].values()) / 2**20
        same = "yes" if r["bytes_measured"] == r["bytes_predicted"] else "NO"
        print(f"| {r['plan']} | {r['ranks']} x {r['threads_per_rank']} | {r['median_ms']:.1f} | "
              f"{r['speedup_per_device']:.2f} | {r['speedup']:.2f} | {100 * r['comm_share']:.1f}% "
              f"| {mib:.1f} ({same}) |")
    if a.json:
        json.dump(rows, open(a.json, "w"), indent=1)


if __name__ == "__main__":
    main()
