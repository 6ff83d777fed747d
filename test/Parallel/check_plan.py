"""Checks `ditc plan` against `ditc profile` (issue: automatic plans).

usage: check_plan.py DITC MODEL DEVICES HW [--mem-limit SIZE] [--steps S]
                     [--warmup-steps K] [--dtype D] [--expect-predicted N]
                     [--expect-refused N] [--expect-chosen PLAN]

Runs `ditc plan --format json --top 1000` (every legal plan comes back as
the chosen one or an alternative) and checks:

- every plan's degrees multiply to DEVICES, and joined they are a --plan
  that `ditc profile` accepts;
- consistency with `ditc profile --plan` (a second path through the same
  per-op time model): the step time is recomputed here from the per-rank
  predicted times `ditc profile --rank R [--schedule ...]` prints, with the
  step model written out again in this file (stages in sequence, or pp's
  stages pipelined over the micro-batches the profile reports; PipeFusion's
  stale steps pipelined over the patches; K of S steps warm-up), and the
  per-device memory from its weights, arena, inputs and outputs; both must
  agree to 1e-9 relative;
- the choice: the chosen plan fits the limit and no fitting plan is faster
  (by the recomputed times); every plan faster than the chosen one is over
  the limit and says so; every alternative says why;
- the placements the search leaves out (a USP plan's other context_first,
  a double ring of a listed ring): each one `ditc profile` predicts as fast
  as the listed plan it repeats, with as much memory or more;
- the pinned numbers of predicted and refused plans.

Prints one line per plan and `N passed, M failed`.
"""
import argparse
import json
import math
import subprocess
import sys

KEYS = ["cfg", "pipefusion", "ulysses", "ring", "ring_inner", "tp", "pp", "dp"]


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError("%s failed: %s" % (" ".join(cmd), p.stderr.strip()))
    return p.stdout


def profile(a, plan, rank, schedule):
    cmd = [a.ditc, "profile", a.model, "--devices", str(a.devices), "--plan", plan,
           "--hw", a.hw, "--format", "json", "--rank", str(rank), "--schedule", schedule]
    if a.dtype and a.dtype != "f32":
        cmd += ["--dtype", a.dtype]
    return json.loads(run(cmd))


def recompute(a, cand):
    """Step time and per-device bytes from `ditc profile`'s per-rank reports."""
    deg = cand["plan"]
    stages = max(deg.get("pp", 1), deg.get("pipefusion", 1))
    stride = a.devices // stages
    patches = deg.get("patches", 1)
    pf = deg.get("pipefusion", 1) > 1
    warm, stale, memory, micro = [], [], 0, 1
    for s in range(stages):
        for schedule in (["synchronous", "stale"] if pf else ["synchronous"]):
            p = profile(a, cand["plan_string"], s * stride, schedule)
            # Without a stale schedule (a warning at compile time) every
            # step runs the synchronous one: the profile names no schedule.
            pf = pf and "schedule" in p
            (stale if schedule == "stale" else warm).append(p["predicted_time_s"])
            micro = p.get("microbatches", 1)
            memory = max(memory, p["ir_param_bytes"] + p["activation_peak_bytes"]
                         + p["input_bytes"] + p["output_bytes"] + p.get("scratch_bytes", 0))
    # The slowest stage's whole time plus the others' share of one piece.
    warm_step = max(warm) + (sum(warm) - max(warm)) / micro
    if not pf:
        return warm_step, memory
    # A library whose stale schedule could not be built runs synchronously.
    stale_step = max(stale) + (sum(stale) - max(stale)) / patches
    k = min(max(a.warmup_steps, 1), a.steps)
    return (k * warm_step + (a.steps - k) * stale_step) / a.steps, memory


def plan_string(deg):
    """A plan's `--plan` string from its degrees (as ditc plan joins them)."""
    plan = ",".join("%s=%d" % (k, deg[k]) for k in KEYS if deg[k] > 1)
    for flag in ("context_first", "whole_stream"):
        if deg.get(flag):
            plan += ",%s=1" % flag
    if "patches" in deg and deg["patches"] != deg["pipefusion"]:
        plan += ",patches=%d" % deg["patches"]
    return plan


def search_parser():
    """The arguments every `ditc plan` check takes: DITC MODEL DEVICES HW."""
    ap = argparse.ArgumentParser()
    ap.add_argument("ditc")
    ap.add_argument("model")
    ap.add_argument("devices", type=int)
    ap.add_argument("hw")
    return ap


def main():
    ap = search_parser()
    ap.add_argument("--mem-limit")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup-steps", type=int, default=1)
    ap.add_argument("--dtype", default="")
    ap.add_argument("--expect-predicted", type=int)
    ap.add_argument("--expect-refused", type=int)
    ap.add_argument("--expect-chosen")
    a = ap.parse_args()

    cmd = [a.ditc, "plan", a.model, "--devices", str(a.devices), "--hw", a.hw,
           "--format", "json", "--top", "1000", "--steps", str(a.steps),
           "--warmup-steps", str(a.warmup_steps)]
    if a.mem_limit:
        cmd += ["--mem-limit", a.mem_limit]
    if a.dtype:
        cmd += ["--dtype", a.dtype]
    out = json.loads(run(cmd))
    limit = out["mem_limit_bytes"]
    chosen = dict(out)
    cands = [chosen] + out["alternatives"]
    passed = failed = 0

    def check(ok, what):
        nonlocal passed, failed
        if ok:
            passed += 1
        else:
            failed += 1
            print("FAIL: " + what)

    check(len(cands) == out["plans_predicted"],
          "%d plans reported, %d predicted" % (len(cands), out["plans_predicted"]))
    best_fit = None
    for c in cands:
        deg = c["plan"]
        prod = math.prod(deg[k] for k in KEYS)
        check(prod == a.devices, "%s: degrees multiply to %d" % (c["plan_string"], prod))
        joined = plan_string(deg)
        check(joined == c["plan_string"], "%s: joined keys give %s" % (c["plan_string"], joined))
        step, memory = recompute(a, c)
        rel = abs(step - c["predicted_step_s"]) / max(step, 1e-30)
        check(rel < 1e-9, "%s: predicted step %.9g, recomputed from ditc profile %.9g"
              % (c["plan_string"], c["predicted_step_s"], step))
        check(memory == c["per_device_bytes"], "%s: per device %d bytes, ditc profile %d"
              % (c["plan_string"], c["per_device_bytes"], memory))
        check(c["fits"] == (memory <= limit), "%s: fits=%s" % (c["plan_string"], c["fits"]))
        if c is not chosen:
            check(bool(c.get("why")), "%s: no why" % c["plan_string"])
            if not c["fits"]:
                check("over the" in c["why"] and "limit" in c["why"],
                      "%s: over the limit but says '%s'" % (c["plan_string"], c["why"]))
        if memory <= limit and (best_fit is None or step < best_fit[0]):
            best_fit = (step, c["plan_string"])
        print("%-40s %12.6f ms %12d B %s" % (c["plan_string"], 1e3 * step, memory,
                                             c.get("why", "(chosen)")))
    check(chosen["fits"], "the chosen plan does not fit")
    check(best_fit is not None and best_fit[1] == chosen["plan_string"],
          "chosen %s, fastest fitting by ditc profile %s" % (chosen["plan_string"], best_fit))
    for c in out["alternatives"]:
        if c["predicted_step_s"] < chosen["predicted_step_s"]:
            check(not c["fits"], "%s is faster and fits" % c["plan_string"])
    for r in out["refused"]:
        check(bool(r["why"]), "%s refused without a reason" % r["plan_string"])
    # The placements left out change nothing the time model charges: each
    # predicts the time of a listed plan it is a placement of (the one ring
    # for a double ring, the other context_first, or both), with as much
    # memory or more.
    listed = {c["plan_string"]: c for c in cands}
    refused = {r["plan_string"] for r in out["refused"]}
    links = out["links"]
    inner_max = links[0]["devices"] if len(links) > 1 and a.devices > links[0]["devices"] else 0

    def usp(deg):
        return deg["ulysses"] > 1 and deg["ring"] * deg["ring_inner"] > 1

    def flip(deg):
        return dict(deg, context_first=1 - deg.get("context_first", 0))

    def one_ring(deg):
        return dict(deg, ring=deg["ring"] * deg["ring_inner"], ring_inner=1)

    left = {}
    for c in cands:
        deg = dict(c["plan"])
        twins = [flip(deg)] if usp(deg) else []
        if deg["ring_inner"] == 1:
            twins += [dict(t, ring=t["ring"] // i, ring_inner=i) for t in [deg] + twins
                      for i in range(2, min(t["ring"] - 1, inner_max) + 1) if t["ring"] % i == 0]
        for t in twins:
            plan = plan_string(t)
            if plan not in listed and plan not in refused:
                left[plan] = t
    for plan, t in sorted(left.items()):
        same = [one_ring(t)] if t["ring_inner"] > 1 else []
        if usp(t):
            same += [flip(t)] + ([one_ring(flip(t))] if t["ring_inner"] > 1 else [])
        same = [listed[plan_string(e)] for e in same if plan_string(e) in listed]
        step, memory = recompute(a, {"plan": t, "plan_string": plan})
        match = [e["plan_string"] for e in same
                 if abs(step - e["predicted_step_s"]) / e["predicted_step_s"] < 1e-9
                 and memory >= e["per_device_bytes"]]
        check(bool(match), "%s left out: ditc profile predicts %.9g s and %d B; listed "
              "placements of it: %s" % (plan, step, memory, ", ".join(
                  "%s %.9g s %d B" % (e["plan_string"], e["predicted_step_s"],
                                      e["per_device_bytes"]) for e in same) or "none"))
    print("placements left out: %d" % len(left))
    if a.expect_predicted is not None:
        check(out["plans_predicted"] == a.expect_predicted,
              "%d plans predicted, expected %d" % (out["plans_predicted"], a.expect_predicted))
    if a.expect_refused is not None:
        check(len(out["refused"]) == a.expect_refused,
              "%d plans refused, expected %d" % (len(out["refused"]), a.expect_refused))
    if a.expect_chosen is not None:
        check(chosen["plan_string"] == a.expect_chosen,
              "chose %s, expected %s" % (chosen["plan_string"], a.expect_chosen))
    print("chosen: %s" % chosen["plan_string"])
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
