"""Checks `ditc plan`'s look at fewer devices (lib/Driver/PlanSearch.h,
FewerDevicesCheck).

usage: check_fewer.py DITC MODEL DEVICES HW --expect-faster D|none
                      [ditc plan arguments ...]

Runs `ditc plan --format json` for DEVICES, then, for every device count
its look reports, `ditc plan --devices D --fewer-devices=false` on its own
(with the topology the look gave it), and `ditc profile` of the graph on
one device. Checks:

- one device's step is what `ditc profile` predicts for the unpartitioned
  graph (another path: the profile command, not the search);
- the counts are the halvings DEVICES/2, DEVICES/4, ..., and the look goes
  on only while each count is faster than the best before it;
- a searched count reports the plan and step the search for that count
  alone chooses (a consistency check: the search against itself);
- a count the bound left unsearched (one device's step over the count):
  the search for that count alone chooses no plan faster than the full
  count's, and the bound is no more than its best step (the bound held);
- the count predicted faster (or none) is the pinned one.

Prints one line per check and `N passed, M failed`.
"""
import json
import subprocess
import sys

from check_plan import search_parser


def run_json(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit("check_fewer: %s failed: %s" % (" ".join(cmd), p.stderr.strip()))
    return json.loads(p.stdout)


def main():
    ap = search_parser()
    ap.add_argument("--expect-faster", required=True)
    ap.add_argument("--dtype", default="")
    ap.add_argument("--nodes", type=int)
    ap.add_argument("--gpus-per-node", type=int)
    a, rest = ap.parse_known_args()
    dtype = ["--dtype", a.dtype] if a.dtype else []
    topology = ["--nodes", str(a.nodes)] if a.nodes else []
    topology += ["--gpus-per-node", str(a.gpus_per_node)] if a.gpus_per_node else []
    full = run_json([a.ditc, "plan", a.model, "--devices", str(a.devices), "--hw", a.hw,
                     "--format", "json", *topology, *dtype, *rest])
    fewer = full["fewer_devices"]
    passed = failed = 0

    def check(ok, what):
        nonlocal passed, failed
        print(("PASS " if ok else "FAIL ") + what)
        passed += bool(ok)
        failed += not ok

    def close(x, y):
        return abs(x - y) <= 1e-9 + 1e-6 * abs(y)

    prof = run_json([a.ditc, "profile", a.model, "--hw", a.hw, "--format", "json", *dtype])
    one = fewer["one_device_step_s"]
    check(close(one, prof["predicted_time_s"]),
          "one device: %.6g s, ditc profile %.6g s" % (one, prof["predicted_time_s"]))

    best = full["predicted_step_s"]
    d = a.devices
    for i, c in enumerate(fewer["checked"]):
        d //= 2
        check(c["devices"] == d, "count %d is the halving %d" % (c["devices"], d))
        last = i + 1 == len(fewer["checked"])
        ch = c["chosen"]
        if not c["searched"]:
            check(last and ch is None and close(c["bound_s"], one / d) and c["bound_s"] >= best,
                  "%d device(s) not searched: %.6g s = one device's over %d, not under the "
                  "best %.6g s" % (d, c["bound_s"], d, best))
        elif ch is None:
            check(last, "%d device(s): no plan fits, the look ends" % d)
        else:
            check(last or ch["predicted_step_s"] < best,
                  "%d device(s): %s at %.6g s%s" % (d, ch["plan_string"], ch["predicted_step_s"],
                                                    "" if last else ", faster: the look goes on"))
        if d == 1 and ch is not None:
            check(close(ch["predicted_step_s"], one), "one device's plan takes its step")
        elif d > 1:
            topo = ["--nodes", str(c["nodes"]), "--gpus-per-node", str(c["gpus_per_node"])] \
                if "nodes" in c else []
            alone = run_json([a.ditc, "plan", a.model, "--devices", str(d), "--hw", a.hw,
                              "--format", "json", "--top", "0", "--fewer-devices=false", *topo,
                              *dtype, *rest])
            if ch is not None:
                check(alone["plan_string"] == ch["plan_string"]
                      and close(alone["predicted_step_s"], ch["predicted_step_s"]),
                      "%d devices alone: %s at %.6g s (consistency)"
                      % (d, alone["plan_string"], alone["predicted_step_s"]))
            elif not c["searched"]:
                check(alone["predicted_step_s"] >= best and
                      alone["predicted_step_s"] >= c["bound_s"] * (1 - 1e-9),
                      "%d devices alone: best %s at %.6g s, no faster than the best %.6g s"
                      % (d, alone["plan_string"], alone["predicted_step_s"], best))
        if ch is not None and ch["predicted_step_s"] < best:
            best = ch["predicted_step_s"]

    faster = fewer["faster"]
    got = str(faster["devices"]) if faster else "none"
    check(got == a.expect_faster, "faster: %s (expected %s)" % (got, a.expect_faster))
    if faster:
        step = faster["chosen"]["predicted_step_s"]
        check(step == best and step < full["predicted_step_s"],
              "the faster count's step %.6g s is the best" % step)
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
