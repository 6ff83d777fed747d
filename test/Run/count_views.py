"""Counts, in a compiled program (ditc compile --emit mlir), the mul_add ops,
the pieces of slices and splits that are strided views (memory-plan offset
-1) against all such pieces, and the modulated layer norms with a
mod_scale_offset (the 1 of 1 + scale folded in) against all modulated ones:
"mul_add=N views=V/P offsets=K/M"."""
import re
import sys

text = open(sys.argv[1]).read()
mul_add = len(re.findall(r"= ditc\.mul_add ", text))
views = pieces = 0
for m in re.finditer(r"= ditc\.(slice|split) [^\n]*?ditc\.offsets = array<i64: ([-0-9, ]*)>", text):
    offsets = [int(x) for x in m.group(2).split(",")]
    pieces += len(offsets)
    views += sum(1 for o in offsets if o == -1)
norms = re.findall(r"= ditc\.layer_norm [^\n]* mod_scale [^\n]*", text)
offsets = sum(1 for n in norms if "mod_scale_offset" in n)
print(f"mul_add={mul_add} views={views}/{pieces} offsets={offsets}/{len(norms)}")
