#!/usr/bin/python3
"""How much of a model's work one rank of a plan computes, from
`ditc profile --format json` of the model alone and under the plan,
checked against an independent count made here from the ONNX file
(test/Driver/check_profile.py's count of 2*M*N*K over every MatMul, Gemm and
Conv, with the onnx package only):

  - the one-device profile's matrix FLOPs are the source count (within 0.5%);
  - the rank's matrix FLOPs are at least its fair share (source / RANKS,
    within 0.5%: no work lost) and at most MAX_FRACTION of the source count;
  - consistency (the report against itself): world_flops is the one-device
    profile's flops.total, work_fraction * world_flops the rank's
    flops.total, replicated_ops add up to replicated_flops, each with a
    node and a reason;
  - the number of replicated ops is REPLICATED (pinned: a change fails).

  check_work.py DITC FIXTURES WORKDIR CASE...
    CASE = fixture:plan:MAX_FRACTION:REPLICATED
           e.g. sd3_dynamo:ulysses=2,ring=2:0.30:24

Prints one line per case, "PASS fixture plan: matrix fraction F, repeated
R" or "FAIL fixture plan: why", then "N passed, M failed".
"""
import json
import math
import os
import subprocess
import sys

import onnx

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Driver"))
from check_profile import source_matrix_flops  # noqa: E402


def check(one, plan, model_path, ranks, max_fraction, replicated):
    """The failed checks of one case (empty: it passes), and a summary."""
    model = onnx.load(model_path, load_external_data=False)
    npz = os.path.join(os.path.dirname(model_path), "inputs.npz")
    source, missing = source_matrix_flops(model, npz if os.path.exists(npz) else None)
    fails = []
    if missing or source <= 0:
        fails.append(f"no source count ({len(missing)} matrix nodes without shapes)")
        source = max(source, 1)
    if abs(one["flops"]["matrix"] - source) > 0.005 * source:
        fails.append(f"one device: {one['flops']['matrix']} matrix FLOPs, source {source}")
    mine = plan["flops"]["matrix"]
    if mine < source / ranks * 0.995:
        fails.append(f"rank's matrix FLOPs {mine} below its share {source / ranks:.0f}")
    if mine > max_fraction * source:
        fails.append(f"rank's matrix FLOPs {mine} are {mine / source:.3f} of {source}, "
                     f"above {max_fraction}")
    # Consistency: the report against itself.
    if plan.get("world_flops") != one["flops"]["total"]:
        fails.append(f"world_flops {plan.get('world_flops')} != one device's "
                     f"{one['flops']['total']}")
    if not math.isclose(plan["work_fraction"] * plan["world_flops"], plan["flops"]["total"],
                        rel_tol=1e-9):
        fails.append("work_fraction * world_flops != flops.total")
    ops = plan["replicated_ops"]
    if sum(o["flops"] for o in ops) != plan["replicated_flops"]:
        fails.append("replicated_ops do not add up to replicated_flops")
    if any(not o["node"] or not o["reason"] or o["flops"] <= 0 for o in ops):
        fails.append("a replicated op without node, reason or FLOPs")
    if len(ops) != replicated:
        fails.append(f"{len(ops)} replicated ops, pinned {replicated}")
    return fails, (f"matrix fraction {mine / source:.3f}, repeated "
                   f"{plan['replicated_flops'] / plan['world_flops']:.3f}")


def profile(ditc, model, out, args):
    p = subprocess.run([ditc, "profile", model, "--format", "json", "-o", out] + args,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if p.returncode:
        raise RuntimeError(p.stdout.strip().splitlines()[-1])
    return json.load(open(out))


def main():
    ditc, fixtures, work = sys.argv[1:4]
    os.makedirs(work, exist_ok=True)
    passed = failed = 0
    for case in sys.argv[4:]:
        fixture, plan, max_fraction, replicated = case.split(":")
        ranks = math.prod(int(kv.split("=")[1]) for kv in plan.split(","))
        model = os.path.join(fixtures, fixture, "model.onnx")
        try:
            one = profile(ditc, model, os.path.join(work, fixture + ".json"), [])
            mine = profile(ditc, model, os.path.join(work, f"{fixture}-{plan}.json"),
                           ["--devices", str(ranks), "--plan", plan])
            fails, summary = check(one, mine, model, ranks, float(max_fraction),
                                   int(replicated))
        except RuntimeError as e:
            fails, summary = [f"ditc profile: {e}"], ""
        if fails:
            failed += 1
            print(f"FAIL {fixture} {plan}: " + "; ".join(fails))
        else:
            passed += 1
            print(f"PASS {fixture} {plan}: {summary}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
