#!/usr/bin/env python3
"""Random and hostile --plan strings through ditc-opt -ditc-plan (with the
partition and pipeline stages after it): every one must be accepted (exit 0)
or refused with one "error: plan ..." or "error: ..." line (exit 1), never a
crash, a hang or an assertion.

usage: fuzz_plans.py DITC_OPT MODULE.mlir [COUNT]
"""
import random
import subprocess
import sys

KEYS = ["cfg", "dp", "ulysses", "ring", "ring_inner", "tp", "pp", "pipefusion", "patches", "x",
        ""]
VALS = ["0", "1", "2", "3", "4", "8", "-1", "2.5", "", "99999999999999999999", "0x2",
        " 2", "2 ", "４", "2e3", "nan"]
FIXED = ["", ",", "=", "==", "tp", "tp=", "=2", "tp==2", "tp=2,,ulysses=2", "tp=2,tp=2",
         "pp=2,pp=3", ",".join(["tp=1"] * 300), "a" * 5000, "tp=2\x00", "tp=2;pp=2",
         "pp=4096", "pp=4097", "ring=64,ulysses=64", "pp=2,tp=2,ulysses=2,ring=2,cfg=2,dp=2",
         "ring=3", "ulysses=2,ring=2", "tp=2,ring=2", "pipefusion=2,ulysses=2", "ring=8",
         "ring=2,ring_inner=2", "ring_inner=4", "ring=2,ring_inner=3,ulysses=2,context_first=1",
         "ring=4,ring_inner=2,pipefusion=2", "ring=2,ring_inner=2,whole_stream=1"]


def main():
    opt, module = sys.argv[1:3]
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 150
    rng = random.Random(20261128)
    plans = FIXED + [",".join(f"{rng.choice(KEYS)}={rng.choice(VALS)}"
                              for _ in range(rng.randint(1, 4))) for _ in range(count)]
    bad = accepted = 0
    for plan in plans:
        plan = plan.replace("\x00", "")  # argv cannot hold NUL
        p = subprocess.run([opt, module, f"-ditc-plan=plan={plan}", "-ditc-propagate-sharding",
                            "-ditc-partition", "-ditc-pipeline-stages", "-o", "/dev/null"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           errors="replace", timeout=60)
        errors = [l for l in p.stderr.splitlines() if "error:" in l]
        ok = p.returncode == 0 or (p.returncode == 1 and len(errors) >= 1)
        accepted += p.returncode == 0
        if not ok:
            bad += 1
            print(f"FAIL plan {plan[:80]!r}: exit {p.returncode}: {p.stderr[-300:]!r}")
    print(f"{len(plans)} plans ({accepted} accepted), {bad} crashed or exited oddly")


if __name__ == "__main__":
    main()
