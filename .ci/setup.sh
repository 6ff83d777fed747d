#!/usr/bin/env bash
# Installs what ditc needs on a fresh Debian 12 machine (as root), fetches the
# ONNX backend node tests, and builds. Safe to run again: it skips what is there.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  cmake ninja-build g++ git python3 python3-numpy python3-pip python3-pytest python3-venv unzip
  libmlir-22-dev mlir-22-tools llvm-22-dev llvm-22-tools
  libonnx-dev libprotobuf-dev protobuf-compiler libonnx-testdata python3-onnx
  nlohmann-json3-dev libgtest-dev libdnnl-dev libopenmpi-dev openmpi-bin
)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q "${missing[@]}"
fi

BUILD=${BUILD:-build}

# The newer ONNX backend node tests (opsets up to 23: Attention,
# RMSNormalization, RotaryEmbedding, Gelu) ship inside the onnx 1.19.1 wheel;
# only its test data is unpacked, nothing is installed.
NODE_TESTS="$BUILD/onnx-node-tests"
if [ ! -d "$NODE_TESTS/node" ]; then
  echo "== fetching the ONNX backend node tests (onnx 1.19.1 wheel)"
  tmp=$(mktemp -d)
  python3 -m pip download -q --no-deps --only-binary=:all: \
    --python-version 3.11 --platform manylinux2014_x86_64 \
    onnx==1.19.1 -d "$tmp"
  mkdir -p "$NODE_TESTS"
  unzip -q "$tmp"/onnx-1.19.1-*.whl 'onnx/backend/test/data/node/*' -d "$tmp/x"
  mv "$tmp/x/onnx/backend/test/data/node" "$NODE_TESTS/node"
  rm -rf "$tmp"
fi

# A newer onnx package (Debian's 1.12 cannot infer shapes through the
# TorchScript exports' Reshape chains) for the independent FLOP counts of
# test/Driver/check_profile.py; private to the build tree.
PYLIB="$BUILD/pylib"
if [ ! -d "$PYLIB/onnx" ]; then
  echo "== installing onnx 1.19.1 into $PYLIB (test helpers only)"
  python3 -m pip install -q --disable-pip-version-check --target "$PYLIB" \
    onnx==1.19.1
fi

# torch, diffusers and transformers for the Python package's tests
# (test/Python/pytest-venv.test): a venv of its own, made when missing and
# completed when a pin is missing (about 6 GB: the PyPI torch wheel brings
# CUDA libraries, unused on a CPU).
VENV=${DITC_VENV:-/opt/ditc-venv}
if [ ! -x "$VENV/bin/python" ]; then
  echo "== making the Python test venv $VENV"
  python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python" - python/requirements-test.txt <<'PY'
import sys
from importlib.metadata import version, PackageNotFoundError
for line in open(sys.argv[1]):
    line = line.split("#")[0].strip()
    if not line:
        continue
    name, want = line.split("==")
    try:
        if version(name) != want:
            sys.exit(1)
    except PackageNotFoundError:
        sys.exit(1)
PY
then
  echo "== installing python/requirements-test.txt into $VENV"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check \
    -r python/requirements-test.txt
fi

# cudnn-frontend's C++ headers (header-only; the wheel's include/ folder) for
# the CUDA runtime's attention on cuDNN (runtime/cuda/cudnn_graphs.cpp: CMake
# finds them under the venv's site-packages/include). --no-deps: only the
# headers are used, not the Python bindings' dependencies.
CUDNN_FE=nvidia-cudnn-frontend==1.32.0
if ! "$VENV/bin/python" -c "
from importlib.metadata import version
import sys
sys.exit(version('nvidia-cudnn-frontend') != '${CUDNN_FE#*==}')" 2>/dev/null; then
  echo "== installing $CUDNN_FE into $VENV (its C++ headers)"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-deps \
    "$CUDNN_FE"
fi

echo "== configuring and building ($BUILD)"
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH=/usr/lib/llvm-22 >/dev/null
ninja -C "$BUILD" ditc ditc-opt
