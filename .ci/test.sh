#!/usr/bin/env bash
# Sets up, builds, and runs the whole test suite (lit + FileCheck, the
# real-model fixtures, the ONNX backend node tests, GoogleTests).
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/setup.sh
BUILD=${BUILD:-build}
ninja -C "$BUILD" all mlir-doc
/usr/lib/llvm-22/bin/lit -v "$BUILD/test"
