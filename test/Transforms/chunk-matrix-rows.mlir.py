"""chunk-matrix-rows.mlir: the loop cost with matrix_half_rows against the
one without, and their difference against the rows formula."""
import re
import sys


def loop(path):
    text = open(path).read()
    count = int(re.search(r"ditc\.chunk\(%arg0\) \{count = (\d+)", text).group(1))
    cost = float(re.search(r"ditc\.cost_s = ([0-9.eE+-]+)", text).group(1))
    return count, cost


(c0, flat), (c1, rows) = loop(sys.argv[1]), loop(sys.argv[2])
print("count", c0, c1)
rate, h = 1.0e9, 100.0               # toy-hw.json, toy-rows-hw.json
flops = 2 * (2 * 128 * 32 * 128)     # the two linears, all rows
whole, chunk = 128, 128 // c1        # rows of one product
want = flops / rate * ((chunk + h) / chunk - (whole + h) / whole)
got = rows - flat
ok = abs(got - want) <= 1e-9 * want
print("delta", "matches the formula" if ok else f"{got!r} != {want!r}")
