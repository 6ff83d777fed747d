#!/usr/bin/env python3
"""Bytes each rank sends, measured (ditc run --comm-stats) vs the partitioned
IR (ditc profile --plan, which counts each collective as the runtime does;
ring attention's K/V exchange is counted under "send"), per kind and call
count, on every rank. Also checks the weight bytes ditc run reports per rank
against the single-rank library: divided by the degree under tp (up to
weights that stay whole: norms, biases of row-parallel layers, embeddings).

usage: check_comm_bytes.py DITC MPIRUN FIXTURES WORKDIR fixture:plan...
"""
import json
import math
import os
import re
import subprocess
import sys


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
    passed = failed = 0
    for case in sys.argv[5:]:
        fixture, plan = case.split(":")
        n = math.prod(int(kv.split("=")[1]) for kv in plan.split(","))
        src = os.path.join(fixtures, fixture)
        model = os.path.join(src, "model.onnx")
        inputs = os.path.join(src, "inputs.npz")
        tag = f"{fixture}-{plan.replace('=', '').replace(',', '-')}"
        try:
            pj = os.path.join(work, tag + ".profile.json")
            run([ditc, "profile", model, "--plan", plan, "--format", "json", "-o", pj])
            prof = json.load(open(pj))
            want = {}
            for kind, v in prof["comm"].items():
                kind = "send" if kind == "ring_exchange" else kind
                b, c = want.get(kind, (0, 0))
                want[kind] = (b + v["bytes_sent_per_rank"], c + v["calls"])
            so = os.path.join(work, tag + ".so")
            run([ditc, "compile", model, "-o", so, "--devices", str(n), "--plan", plan])
            out = run(mpirun + [str(n), ditc, "run", so, "--inputs", inputs, "--comm-stats"])
            got = {}
            for m in re.finditer(r"comm rank (\d+)/\d+: (\w+) (\d+) bytes in (\d+) calls?", out):
                got.setdefault(int(m.group(1)), {})[m.group(2)] = (int(m.group(3)), int(m.group(4)))
            # Ring attention sends one message per round: calls differ from ops.
            ok = len(got) == n and all(
                {k: v[0] for k, v in g.items()} == {k: v[0] for k, v in want.items()} and
                all(g[k][1] == want[k][1] for k in want if k != "send")
                for g in got.values())
            msg = f"measured {got.get(0)} predicted {want} on {len(got)}/{n} ranks"
            if ok and "tp" in plan:
                # Weight bytes per rank: exactly the per-rank slices of the
                # partitioned IR, and at most 1/tp plus the weights that stay
                # whole (norms, embeddings, layers without a partner).
                one = os.path.join(work, fixture + "-1.so")
                if not os.path.exists(one):
                    run([ditc, "compile", model, "-o", one])
                w1 = weight_bytes(run([ditc, "run", one, "--inputs", inputs]))
                wn = weight_bytes(out)
                ir = os.path.join(work, tag + ".mlir")
                run([ditc, "compile", model, "--devices", str(n), "--plan", plan,
                     "--emit", "mlir", "-o", ir])
                seen, sliced, whole = set(), 0, 0
                for m in re.finditer(r'ditc.weight "([^"]+)".*: tensor<([0-9x]+)x?f32>',
                                     open(ir).read()):
                    if m.group(1) in seen:
                        continue
                    seen.add(m.group(1))
                    b = 4 * math.prod(int(d) for d in m.group(2).split("x") if d)
                    if "@" in m.group(1):
                        sliced += b
                    else:
                        whole += b
                tp = int(re.search(r"tp=(\d+)", plan).group(1))
                ok = wn == sliced + whole and sliced > 0 and wn <= (w1 - whole) / tp + whole
                msg += (f"; weights per rank {wn} = {sliced} sliced + {whole} whole, "
                        f"of {w1} on one rank (tp={tp})")
        except Exception as e:  # one line per failure
            ok, msg = False, str(e).splitlines()[0]
        if ok:
            passed += 1
            print(f"PASS {fixture} {plan}: {msg}")
        else:
            failed += 1
            print(f"FAIL {fixture} {plan}: {msg}")
    print(f"{passed} passed, {failed} failed")


if __name__ == "__main__":
    main()
