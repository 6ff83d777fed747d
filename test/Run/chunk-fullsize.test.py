"""Reads `ditc profile --format json` reports: the unchunked one, then
FILE=MIB for each budget; prints the unchunked arena and, per budget,
whether the chunked arena meets it (and how many loops it took)."""
import json
import sys

none = json.load(open(sys.argv[1]))
print("unchunked arena", none["activation_peak_bytes"])
for arg in sys.argv[2:]:
    path, mib = arg.split("=")
    j = json.load(open(path))
    limit = int(mib) << 20
    peak = j["activation_peak_bytes"]
    chunks = j.get("chunks", [])
    verdict = "met" if 0 < peak <= limit and chunks else "MISSED (%d bytes)" % peak
    print("limit %s MiB: %s (%d loops)" % (mib, verdict, len(chunks)))
