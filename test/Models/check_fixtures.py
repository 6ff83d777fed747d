#!/usr/bin/env python3
"""Imports every real-model fixture and checks the fused graph's structure.

For each test/fixtures/<model>_<exporter>/ folder (made by
examples/export_models.py), `ditc import` must succeed, and the fused IR must
hold exactly `attention_count` ditc.attention ops (the scaled-dot-product
attentions PyTorch ran, counted at export time), no softmax left over, and
linear layers. Prints one line per fixture and 'N passed, N failed'.
"""
import json
import os
import re
import subprocess
import sys


def count(op, text):
    return len(re.findall(r"= ditc\.%s\b" % re.escape(op), text))


def check(ditc, folder):
    meta = json.load(open(os.path.join(folder, "meta.json")))
    model = os.path.join(folder, "model.onnx")
    proc = subprocess.run([ditc, "import", model], capture_output=True,
                          text=True, timeout=120)
    if proc.returncode != 0:
        return "import failed: " + proc.stderr.strip()
    ir = proc.stdout
    problems = []
    want = meta["attention_count"]
    got = count("attention", ir)
    if got != want:
        problems.append("%d ditc.attention, expected %d" % (got, want))
    if count("softmax", ir):
        problems.append("%d unfused ditc.softmax" % count("softmax", ir))
    if not count("linear", ir):
        problems.append("no ditc.linear")
    raw = subprocess.run([ditc, "import", "--no-fuse", model],
                         capture_output=True, text=True, timeout=120)
    if raw.returncode != 0:
        problems.append("--no-fuse import failed: " + raw.stderr.strip())
    elif count("attention", raw.stdout) > want:
        problems.append("unfused import already has more attention ops")
    return "; ".join(problems)


def main():
    ditc, root = sys.argv[1], sys.argv[2]
    folders = sorted(os.path.join(root, d) for d in os.listdir(root)
                     if os.path.isfile(os.path.join(root, d, "meta.json")))
    if not folders:
        print("no fixtures under", root)
        return 1
    failed = 0
    for f in folders:
        err = check(ditc, f)
        name = os.path.basename(f)
        print("%-24s %s" % (name, "ok" if not err else "FAIL: " + err))
        failed += bool(err)
    print("%d passed, %d failed" % (len(folders) - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
