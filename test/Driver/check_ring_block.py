"""Checks efficiency.ring_block of a description `ditc calibrate` wrote
under mpirun against the times its log printed (calibrate-link-mpi.test).

argv: the log, the description."""
import json
import re
import sys

log = open(sys.argv[1]).read()
h = json.load(open(sys.argv[2]))
m = re.search(r"link between (\d+) ranks: latency ([0-9.]+) us, ([0-9.]+) GB/s \([^)]*\); ring attention "
              r"([0-9.]+) ms, ([0-9.]+) of it outside the blocks as predicted, one attention of "
              r"its FLOPs ([0-9.]+) ms: blocks at ([0-9.]+) of the attention rate", log)
ranks = int(m.group(1))
ring, outside, whole = (float(m.group(i)) * 1e-3 for i in (4, 5, 6))
e = h["efficiency"]["ring_block"]
print("ring_block in (0.05, 1]:", 0.05 <= e <= 1.0)
# The printed times are rounded to the microsecond.
expect = min(max(whole / max(ring - outside, 0.2 * ring), 0.05), 1.0)
print("ring_block = whole / (ring - outside):", abs(e - expect) <= 1e-3 * expect + 2e-3)
# The ring passes this rank's K and V block ([2, 512, 16, 72] each, f32)
# around the ring once: ranks - 1 transfers at the fitted link, which the
# CPU's communicator does not overlap with the blocks.
link = h["links"][0]
block = 2 * 2 * 512 * 16 * 72 * 4
exchange = (ranks - 1) * (link["latency_s"] + block / link["bandwidth"])
print("outside the blocks >= the exchange alone:", outside >= 0.999 * exchange - 1e-6,
      f"({outside * 1e3:.3f} ms, exchange {exchange * 1e3:.3f} ms)")
