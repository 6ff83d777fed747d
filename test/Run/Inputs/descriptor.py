#!/usr/bin/python3
"""Prints a summary of the model descriptor in `ditc compile --emit llvm`
output (stdin): weight count and elements, arena MiB, constants, dtype,
target, architectures, inputs. For lit tests of graphs too big to run."""
import json
import math
import re
import sys

ir = sys.stdin.read()
m = re.search(r'@ditc_generated_json_data = .*? c"(.*?)\\00"', ir)
if not m:
    sys.exit("no descriptor in the input")
raw = re.sub(r'\\([0-9A-Fa-f]{2})', lambda h: chr(int(h.group(1), 16)), m.group(1))
j = json.loads(raw)
print("weights", len(j["weights"]), "elements", sum(math.prod(w["shape"]) for w in j["weights"]),
      "arena_mib", j["arena_bytes"] >> 20, "constants", j["constants"], "dtype", j["dtype"],
      "target", j["target"], "cuda_arch", ",".join(j.get("cuda_arch", [])),
      "weights_file", j.get("weights_file", "none"))
for i in j["inputs"]:
    print("input", i["name"], i["dtype"], "x".join(map(str, i["shape"])))
for o in j["outputs"]:
    print("output", o["name"], o["dtype"], "x".join(map(str, o["shape"])))
