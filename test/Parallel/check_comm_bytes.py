#!/usr/bin/env python3
"""Bytes each rank sends, measured (ditc run --comm-stats) vs the partitioned
IR (ditc profile --plan, which counts each collective as the runtime does;
ring attention's K/V exchange is counted under "send"), per kind and call
count, on every rank; for PipeFusion both schedules (a call without denoising
steps: synchronous; the last of two denoising steps: stale, against
`ditc profile --schedule stale`). Also checks the weight bytes ditc run reports per rank
against the single-rank library: divided by the degree under tp (up to
weights that stay whole: norms, biases of row-parallel layers, embeddings).

The runtime's counters and the profile share the cost model's formulas, so
that comparison is a consistency check. With --transport=LIB (the PMPI
library test/Runtime/MpiTraffic.c) every rank also runs with LIB preloaded,
which counts the bytes and calls at the MPI boundary from the MPI calls' own
arguments; for the synchronous schedule they must equal the runtime's
counters on every rank (the independent check).

usage: check_comm_bytes.py DITC MPIRUN FIXTURES WORKDIR [--transport=LIB]
           fixture:plan...
"""
import json
import math
import os
import re
import subprocess
import sys

from check_parallel import prune


def run(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=300)
    if p.returncode:
        raise RuntimeError(" ".join(cmd) + "\n" + p.stdout[-2000:])
    return p.stdout


def weight_bytes(out):
    m = re.search(r"weights: [0-9.]+ MiB \((\d+) bytes\)", out)
    return int(m.group(1)) if m else None


def main():
    ditc, mpirun, fixtures, work = sys.argv[1:5]
    mpirun = mpirun.split()
    os.makedirs(work, exist_ok=True)
    cases = sys.argv[5:]
    transport = None
    if cases and cases[0].startswith("--transport="):
        transport = cases.pop(0).split("=", 1)[1]
    passed = failed = 0
    for case in cases:
        # fixture:plan[:dtype]: compiled for --dtype (bf16, f16); the
        # profile counts the graph's f32 bytes, which the time model scales
        # by the width (--dtype): the runtime must send the scaled bytes.
        fixture, plan, *rest = case.split(":")
        dtype = rest[0] if rest else None
        scale = {"bf16": 0.5, "f16": 0.5}.get(dtype, 1.0)
        dflag = ["--dtype", dtype] if dtype else []
        shown = f" {dtype}" if dtype else ""
        # Every key is a device degree but `patches` (PipeFusion's).
        n = math.prod(int(kv.split("=")[1]) for kv in plan.split(",")
                      if kv.split("=")[0] != "patches")
        src = os.path.join(fixtures, fixture)
        model = os.path.join(src, "model.onnx")
        inputs = os.path.join(src, "inputs.npz")
        tag = f"{fixture}-{plan.replace('=', '').replace(',', '-')}" + (f"-{dtype}" if dtype else "")
        try:
            # Pipeline stages: pp, or PipeFusion's.
            staged = re.search(r"(?:^|,)(?:pp|pipefusion)=(\d+)", plan)
            pp = staged is not None
            so = os.path.join(work, tag + ".so")
            run([ditc, "compile", model, "-o", so, "--devices", str(n), "--plan", plan] + dflag)
            # PipeFusion: a call without denoising steps runs the synchronous
            # schedule; the last of 2 denoising steps (1 warm-up) the stale
            # one (when the library has one: else the synchronous one again).
            schedules = [("synchronous", [])]
            if "pipefusion" in plan:
                schedules.append(("stale", ["--steps", "2", "--warmup-steps", "1"]))
            ok, msg = True, ""
            for schedule, steps in schedules:
                # Under pp the stages differ: profile every rank; else rank 0.
                want = {}
                for r in range(n if pp else 1):
                    pj = os.path.join(work, f"{tag}.rank{r}.{schedule}.profile.json")
                    run([ditc, "profile", model, "--plan", plan, "--rank", str(r),
                         "--schedule", schedule, "--format", "json", "-o", pj])
                    prof = json.load(open(pj))
                    w = {}
                    for kind, v in prof["comm"].items():
                        kind = "send" if kind == "ring_exchange" else kind
                        b, c = w.get(kind, (0, 0))
                        w[kind] = (b + int(v["bytes_sent_per_rank"] * scale), c + v["calls"])
                    # The runtime lists the kinds a rank sent bytes in.
                    want[r] = {k: v for k, v in w.items() if v[0]}
                traffic = os.path.join(work, f"{tag}.{schedule}.traffic.%r")
                preload = ["-x", f"LD_PRELOAD={transport}", "-x",
                           f"DITC_MPI_TRAFFIC={traffic}"] if transport else []
                out = run(mpirun + [str(n)] + preload +
                          [ditc, "run", so, "--inputs", inputs, "--comm-stats"] + steps)
                got, weights = {}, {}
                for m in re.finditer(r"comm rank (\d+)/\d+: (\w+) (\d+) bytes in (\d+) calls?",
                                     out):
                    got.setdefault(int(m.group(1)), {})[m.group(2)] = (int(m.group(3)),
                                                                       int(m.group(4)))
                for m in re.finditer(r"weights rank (\d+)/\d+: (\d+) bytes", out):
                    weights[int(m.group(1))] = int(m.group(2))
                # Ring attention sends one message per round: calls differ from ops.
                ok = ok and len(got) == n and all(
                    {k: v[0] for k, v in g.items()} == {k: v[0] for k, v in wr.items()} and
                    all(g[k][1] == wr[k][1] for k in wr if k != "send")
                    for r, g in got.items() for wr in [want[r if pp else 0]])
                msg += (f"{schedule}: " if len(schedules) > 1 else "") + \
                    f"consistency: measured {got.get(0)} predicted {want[0]} on " \
                    f"{len(got)}/{n} ranks; "
                if transport and not steps:
                    # Independent: the MPI boundary's count on every rank.
                    seen = {}
                    for r in range(n):
                        path = traffic.replace("%r", str(r))
                        seen[r] = {}
                        for line in open(path) if os.path.exists(path) else []:
                            kind, b, c = line.split()
                            if kind != "setup" and int(b):
                                seen[r][kind] = (int(b), int(c))
                    # Less the model creation's agreement (one i32 max
                    # all-reduce over the world, before the runtime resets
                    # its counters).
                    for r in range(n):
                        b, c = seen[r].get("all_reduce", (0, 0))
                        b, c = b - 2 * (n - 1) * 4 // n, c - 1
                        seen[r]["all_reduce"] = (b, c)
                        if (b, c) == (0, 0):
                            del seen[r]["all_reduce"]
                    same = all(seen[r] == got.get(r, {}) for r in range(n))
                    ok = ok and same
                    msg += f"at MPI {'equal' if same else 'DIFFERENT: ' + str(seen)} on {n} ranks; "
            msg = msg.rstrip("; ")
            if ok and ("tp" in plan or pp):
                # Weight bytes per rank: exactly the per-rank slices of the
                # partitioned IR, and at most 1/tp plus the weights that stay
                # whole (norms, embeddings, layers without a partner); under
                # pp each stage's weights only, about 1/pp of the rest.
                one = os.path.join(work, fixture + "-1" + (f"-{dtype}" if dtype else "") + ".so")
                if not os.path.exists(one):
                    run([ditc, "compile", model, "-o", one] + dflag)
                w1 = weight_bytes(run([ditc, "run", one, "--inputs", inputs]))
                ir = os.path.join(work, tag + ".mlir")
                run([ditc, "compile", model, "--devices", str(n), "--plan", plan,
                     "--emit", "mlir", "-o", ir])
                text = open(ir).read()
                tp = int(re.search(r"tp=(\d+)", plan).group(1)) if "tp" in plan else 1
                stages = int(staged.group(1)) if pp else 1
                # Per stage: weights its ops read (sliced or whole).
                sliced, whole, seen, padding = [0] * stages, [0] * stages, set(), 0
                for m in re.finditer(r'ditc.weight "([^"]+)"(.*?): tensor<([0-9x]+)x?f32>', text):
                    if m.group(1) in seen:
                        continue
                    seen.add(m.group(1))
                    b = 4 * math.prod(int(d) for d in m.group(3).split("x") if d)
                    st = re.search(r"ditc.stages = array<i64: ([0-9, ]+)>", m.group(2))
                    for s in (map(int, st.group(1).split(",")) if st else range(stages)):
                        (sliced if "@" in m.group(1) else whole)[s] += b
                    # Heads or hidden units padded to a multiple of tp: the
                    # slices cover the padded tensor (zeros past the stored one).
                    # (A part of a joined weight: of its window.)
                    g = re.search(r"ditc.window_shape = array<i64: ([0-9, ]+)>", m.group(2)) or \
                        re.search(r"ditc.global_shape = array<i64: ([0-9, ]+)>", m.group(2))
                    if "@pad" in m.group(1) and g:
                        padding += b * tp - 4 * math.prod(int(d) for d in g.group(1).split(","))
                shared = whole[0] if stages == 1 else min(whole)  # read by every stage
                for r in range(n):
                    s = r // (n // stages)  # pp is the outermost mesh axis
                    wn = weights.get(r)
                    bound = (w1 + padding - shared) / (tp * stages) * 1.5 + shared if pp \
                        else (w1 + padding - whole[s]) / tp + whole[s]
                    ok = ok and wn == sliced[s] + whole[s] and (sliced[s] > 0 or tp == 1) \
                        and wn <= bound
                msg += (f"; weights per rank {[weights.get(r) for r in range(n)]} "
                        f"of {w1} on one rank (tp={tp}, pp={stages}, {padding} bytes of padding)")
        except Exception as e:  # one line per failure
            ok, msg = False, str(e).splitlines()[0]
        if ok:
            passed += 1
            prune(work, tag + ".")
            print(f"PASS {fixture} {plan}{shown}: {msg}")
        else:
            failed += 1
            print(f"FAIL {fixture} {plan}{shown}: {msg}")
    print(f"{passed} passed, {failed} failed")


if __name__ == "__main__":
    main()
