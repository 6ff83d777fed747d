"""chunk-matrix-rows.mlir: the loop cost with matrix_half_rows against the
one without, and their difference against the rows formula."""
import re
import sys


def loop(path):
    text = open(path).read()
    count = int(re.search(r"ditc\.chunk\([^)]*\) \{count = (\d+)", text).group(1))
    cost = float(re.search(r"ditc\.cost_s = ([0-9.eE+-]+)", text).group(1))
    # Rows of one product: the leading dimensions of the body's first
    # linear layer's result.
    shape = re.search(r"ditc\.linear .*-> tensor<(\d+)x(\d+)x128xf32>", text)
    return count, cost, int(shape.group(1)) * int(shape.group(2))


(c0, flat, m0), (c1, rows, m1) = loop(sys.argv[1]), loop(sys.argv[2])
print("count", c0, c1)
assert (c0, m0) == (c1, m1)
rate, h = 1.0e9, 100.0               # toy-hw.json, toy-rows-hw.json
flops = 2 * (2 * 128 * 32 * 128)     # the two linears, all 128 rows
whole, chunk = 128, m1
looped = flops * c1 * chunk / whole  # the loop's FLOPs (an uneven loop's
                                     # last chunk overlaps the one before)
want = (looped / rate * (chunk + h) / chunk - flops / rate * (whole + h) / whole
        - (looped - flops) / rate)
got = rows - flat
ok = abs(got - want) <= 1e-9 * want
print("rows", chunk)
print("delta", "matches the formula" if ok else f"{got!r} != {want!r}")
