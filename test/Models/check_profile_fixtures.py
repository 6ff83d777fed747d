#!/usr/bin/python3
"""For every fixture: `ditc profile --format json`, checked against the ONNX
file by test/Driver/check_profile.py (parameters exact, matrix FLOPs within
0.5% of an independent count), then compiled and run once with `ditc run`,
whose reported arena must equal the profile's activation_peak_bytes within 5%:
a consistency check (they come from one memory plan, so they are expected to
be equal); check_peak_rss.py is the independent one.

  check_profile_fixtures.py DITC FIXTURES_DIR WORK_DIR
"""

import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CHECK = os.path.join(HERE, "..", "Driver", "check_profile.py")


def main():
    ditc, fixtures, work = sys.argv[1:4]
    os.makedirs(work, exist_ok=True)
    passed = failed = 0
    for name in sorted(os.listdir(fixtures)):
        model = os.path.join(fixtures, name, "model.onnx")
        if not os.path.exists(model):
            continue
        report = os.path.join(work, name + ".json")
        lib = os.path.join(work, name + ".so")
        steps = [
            [ditc, "profile", model, "--format", "json", "-o", report],
            [sys.executable, CHECK, report, model],
            [ditc, "compile", model, "-o", lib],
            [ditc, "run", lib],
        ]
        out = ""
        ok = True
        for cmd in steps:
            p = subprocess.run(cmd, capture_output=True, text=True)
            out = p.stdout + p.stderr
            if p.returncode != 0:
                print(f"FAIL {name}: {' '.join(cmd[:2])}: {out.strip()[-400:]}")
                ok = False
                break
            if cmd[0] == sys.executable:
                print(p.stdout.strip())
        if ok:
            import json
            predicted = json.load(open(report))["activation_peak_bytes"]
            m = re.search(r"arena: .*\((\d+) bytes\)", out)
            if not m:
                print(f"FAIL {name}: ditc run printed no arena size")
                ok = False
            else:
                arena = int(m.group(1))
                rel = abs(predicted - arena) / max(arena, 1)
                print(f"{'ok' if rel <= 0.05 else 'FAIL'} {name}: consistency: "
                      f"predicted arena {predicted} B, runtime arena "
                      f"{arena} B")
                ok = rel <= 0.05
        passed += ok
        failed += not ok
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
