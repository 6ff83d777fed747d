#!/usr/bin/env bash
# Sets up, builds, and runs the whole test suite (lit + FileCheck, the
# real-model fixtures, the ONNX backend node tests, GoogleTests).
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/setup.sh
BUILD=${BUILD:-build}
ninja -C "$BUILD" all mlir-doc
log=$(mktemp)
set +e
/usr/lib/llvm-22/bin/lit -v "$BUILD/test" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
passed=$(sed -n 's/^ *Passed *: *\([0-9]*\).*/\1/p' "$log" | tail -1)
failed=$(sed -n 's/^ *\(Failed\|Unresolved\|Timed Out\|Unexpectedly Passed\) *: *\([0-9]*\).*/\2/p' "$log" | awk '{s+=$1} END {print s+0}')
rm -f "$log"
echo "${passed:-0} passed, ${failed} failed"
exit "$status"
