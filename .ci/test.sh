#!/usr/bin/env bash
# Sets up, builds, and runs the whole test suite (lit + FileCheck, the
# real-model fixtures, the ONNX backend node tests, GoogleTests).
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/setup.sh
BUILD=${BUILD:-build}
ninja -C "$BUILD" all mlir-doc
# The suite writes about 4 GB under $BUILD/test; a disk that fills mid-run
# fails tests far from the cause, so the free space is printed before and
# after, with a warning when it is short.
free_gb() { df -P -BG "$BUILD" | awk 'NR == 2 {sub("G", "", $4); print $4}'; }
echo "== disk: $(free_gb) GB free under $BUILD before the tests"
if [ "$(free_gb)" -lt 8 ]; then
  echo "warning: under 8 GB free under $BUILD; tests may fail for want of disk" >&2
fi
log=$(mktemp)
set +e
/usr/lib/llvm-22/bin/lit -v "$BUILD/test" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
passed=$(sed -n 's/^ *Passed *: *\([0-9]*\).*/\1/p' "$log" | tail -1)
failed=$(sed -n 's/^ *\(Failed\|Unresolved\|Timed Out\|Unexpectedly Passed\) *: *\([0-9]*\).*/\2/p' "$log" | awk '{s+=$1} END {print s+0}')
rm -f "$log"
echo "== disk: $(free_gb) GB free under $BUILD after the tests"
echo "${passed:-0} passed, ${failed} failed"
exit "$status"
