"""Checks weight_stream_bandwidth of a description `ditc calibrate` wrote
against the times its log printed (calibrate.test, calibrate-link-mpi.test).

argv: the log, the description."""
import json
import re
import sys

log = open(sys.argv[1]).read()
h = json.load(open(sys.argv[2]))
m = re.search(r"weights out of the caches ([0-9.]+) ms, in them ([0-9.]+) ms: (\d+) MiB", log)
cold, hot = float(m.group(1)) * 1e-3, float(m.group(2)) * 1e-3
chain = 48 * 1152 * 1152 * 4  # 48 weights of 1152 x 1152 f32
got = h.get("weight_stream_bandwidth", 0.0)
# Nothing measurable (at most 1% more): nothing is added.
want = chain / (cold - hot) if cold - hot > 0.01 * hot else 0.0
# The printed times are rounded to the microsecond.
ok = abs(got - want) <= 1e-3 * want + 1e-6 if want else got == 0.0
print("weight_stream_bandwidth = 243 MiB / (each once - one):", ok and int(m.group(3)) * 2**20 == chain,
      f"({got / 1e9:.2f} GB/s)")
# The cache a core has to itself, as sysfs lists it (written only with a
# stream: without one it has nothing to say).
best = 0
for i in range(8):
    d = f"/sys/devices/system/cpu/cpu0/cache/index{i}/"
    try:
        size = open(d + "size").read().strip()
        shared = open(d + "shared_cpu_list").read().strip()
    except OSError:
        continue
    if "," in shared or "-" in shared:
        continue
    n = int(size.rstrip("KM")) * {"K": 1024, "M": 1 << 20}.get(size[-1], 1)
    best = max(best, n)
print("weight_cache_bytes = the core's own largest cache:",
      h.get("weight_cache_bytes", 0) == (best if got else 0), f"({best} B)")
