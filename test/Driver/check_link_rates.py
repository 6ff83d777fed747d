"""Checks the links[0].collective_rates of a description `ditc calibrate`
wrote under mpirun against the chain times its log printed
(calibrate-link-mpi.test).

argv: the log, the description."""
import json
import re
import sys

log = open(sys.argv[1]).read()
h = json.load(open(sys.argv[2]))
link = h["links"][0]
rates = link["collective_rates"]
print("kinds:", " ".join(sorted(rates)))
# The bandwidth is the harmonic mean of the all-reduces' and the
# all-to-alls' rates (the chains also timed small).
mean = 2 / (1.0 / rates["all_reduce"] + 1.0 / rates["all_to_all"])
print("harmonic mean of the all-reduce and all-to-all rates = 1:", abs(mean - 1.0) < 1e-9)
ranks = int(re.search(r"link between (\d+) ranks", log).group(1))
# Each 16 MiB chain (4 collectives of 2^22 f32 elements per rank, as the
# calibration builds them): the bytes a rank sends per collective, as the
# time model counts them, over the chain's time per collective bound the
# kind's transfer rate from below.
B = 4 * (1 << 22)
sent = {"all_reduce": 2 * (ranks - 1) * B / ranks,
        "all_to_all": (ranks - 1) * B / ranks,
        "all_gather": (ranks - 1) * B / ranks}
for kind in ("all_reduce", "all_to_all", "all_gather"):
    us = float(re.search(r"link %s 16 MiB\s+([0-9.]+) us" % kind, log).group(1))
    floor = sent[kind] / (us * 1e-6 / 4)
    got = rates[kind] * link["bandwidth"]
    print(f"{kind} at least its bytes over its time:", got >= 0.999 * floor,
          f"({got / 1e9:.3f} GB/s, floor {floor / 1e9:.3f})")
