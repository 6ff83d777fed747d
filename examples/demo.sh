#!/usr/bin/env bash
# The main job on a bundled example: set up, build, then take a real exported
# PixArt-alpha transformer (tiny config, dynamo exporter) through the whole
# path: import (summary), compile to a shared library, run it on the saved
# inputs, compare with PyTorch's outputs, and time it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/setup.sh
ninja -C build ditc ditc_runtime_static
FIXTURE=${1:-test/fixtures/pixart_dynamo}
OUT=build/demo
mkdir -p "$OUT"
echo "== ditc import $FIXTURE/model.onnx --summary"
build/bin/ditc import "$FIXTURE/model.onnx" --summary
echo "== ditc compile $FIXTURE/model.onnx -o $OUT/model.so"
build/bin/ditc compile "$FIXTURE/model.onnx" -o "$OUT/model.so"
echo "== ditc run $OUT/model.so --inputs $FIXTURE/inputs.npz --bench 20"
build/bin/ditc run "$OUT/model.so" --inputs "$FIXTURE/inputs.npz" \
  --outputs "$OUT/outputs.npz" --warmup 2 --bench 20
/usr/bin/python3 - "$OUT/outputs.npz" "$FIXTURE/outputs.npz" <<'PY'
import sys
import numpy as np
got, ref = np.load(sys.argv[1]), np.load(sys.argv[2])
for k in ref.files:
    err = np.linalg.norm(got[k].astype(np.float64) - ref[k]) / np.linalg.norm(ref[k])
    print("== %s: relative L2 error vs PyTorch %.2e" % (k, err))
PY
