"""Checks the plan search's lower bounds (lib/Driver/PlanSearch.h).

usage: check_bound.py DITC MODEL DEVICES HW --skipped N --bounded N
                      [ditc plan arguments ...]

Runs `ditc plan --format json` twice: as a user does (the bounds skip the
pipelined plans they show can be neither chosen nor listed) and with
`--exhaustive --top 1000` (every candidate predicted, every bound
computed). A consistency check (the search against itself); the
independent ones are check_plan.py and the unit test
SplittingAnOpIntoPiecesNeverSavesTime. Checks:

- the result is the exhaustive one: the same chosen plan with the same
  predictions, and the same alternatives in the same order with the same
  reasons (the first --top of the exhaustive list);
- every candidate is accounted for: predicted + refused + skipped is the
  exhaustive run's predicted + refused;
- the bound is a lower bound on every plan it was computed for: in the
  exhaustive run no `lower_bound_s` exceeds its plan's `predicted_step_s`;
- the pinned counts of skipped plans and of plans with a bound, so that a
  bound that stops skipping (or a search that stops bounding) fails.

Prints one line per check and `N passed, M failed`.
"""
import json
import subprocess
import sys

from check_plan import search_parser


def plan(a, extra):
    cmd = [a.ditc, "plan", a.model, "--devices", str(a.devices), "--hw", a.hw,
           "--format", "json", *a.rest, *extra]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit("check_bound: %s failed: %s" % (" ".join(cmd), p.stderr.strip()))
    return json.loads(p.stdout)


def result(d, top):
    """The chosen plan and the first `top` alternatives, less the search's
    bookkeeping (time, counts, bounds)."""
    def plain(c):
        return {k: v for k, v in c.items()
                if k not in ("lower_bound_s", "alternatives", "plans_predicted",
                             "plans_skipped", "stage_probes", "refused", "search_s",
                             "fewer_devices")}
    return plain(d), [plain(c) for c in d["alternatives"][:top]]


def main():
    ap = search_parser()
    ap.add_argument("--skipped", type=int, required=True)
    ap.add_argument("--bounded", type=int, required=True)
    ap.add_argument("--top", type=int, default=5)
    a, rest = ap.parse_known_args()
    a.rest = rest
    fast = plan(a, ["--top", str(a.top)])
    full = plan(a, ["--exhaustive", "--top", "1000"])
    passed = failed = 0

    def check(ok, what):
        nonlocal passed, failed
        print(("PASS " if ok else "FAIL ") + what)
        passed += ok
        failed += not ok

    chosen_f, alts_f = result(fast, a.top)
    chosen_x, alts_x = result(full, a.top)
    check(chosen_f == chosen_x,
          "chosen %s, exhaustive %s" % (fast["plan_string"], full["plan_string"]))
    check(alts_f == alts_x,
          "alternatives %s, exhaustive %s" % ([c["plan_string"] for c in alts_f],
                                              [c["plan_string"] for c in alts_x]))
    total_f = fast["plans_predicted"] + len(fast["refused"]) + fast["plans_skipped"]
    total_x = full["plans_predicted"] + len(full["refused"])
    check(total_f == total_x and full["plans_skipped"] == 0,
          "candidates %d (%d predicted, %d refused, %d skipped), exhaustive %d"
          % (total_f, fast["plans_predicted"], len(fast["refused"]), fast["plans_skipped"],
             total_x))
    check(fast["plans_skipped"] == a.skipped,
          "skipped %d, pinned %d" % (fast["plans_skipped"], a.skipped))
    bounded = [c for c in [full] + full["alternatives"] if "lower_bound_s" in c]
    over = [c for c in bounded if c["lower_bound_s"] > c["predicted_step_s"]]
    for c in over:
        print("  bound %.6g s over the predicted %.6g s: %s"
              % (c["lower_bound_s"], c["predicted_step_s"], c["plan_string"]))
    tight = min((c["predicted_step_s"] / c["lower_bound_s"] for c in bounded), default=0)
    check(not over, "%d bounds, none over its plan's prediction (tightest: prediction %.3fx "
          "the bound)" % (len(bounded), tight))
    check(len(bounded) == a.bounded, "bounded %d, pinned %d" % (len(bounded), a.bounded))
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
