"""Counts, in a compiled program (ditc compile --emit mlir), the mul_add ops
and the pieces of slices and splits that are strided views (memory-plan
offset -1) against all such pieces: "mul_add=N views=V/P"."""
import re
import sys

text = open(sys.argv[1]).read()
mul_add = len(re.findall(r"= ditc\.mul_add ", text))
views = pieces = 0
for m in re.finditer(r"= ditc\.(slice|split) [^\n]*?ditc\.offsets = array<i64: ([-0-9, ]*)>", text):
    offsets = [int(x) for x in m.group(2).split(",")]
    pieces += len(offsets)
    views += sum(1 for o in offsets if o == -1)
print(f"mul_add={mul_add} views={views}/{pieces}")
