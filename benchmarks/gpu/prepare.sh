#!/usr/bin/env bash
# What benchmarks/gpu/check.sh needs from this machine, into build-gpu-deps/
# (ignored by git: the device tool carries it, `carry: ["build-gpu-deps"]`).
# Run here, where ditc is built (the GPU machine has no MLIR):
#
#   bash benchmarks/gpu/prepare.sh [BUILD]      (BUILD: default ./build)
#
# Writes
#   build-gpu-deps/googletest/       GoogleTest's sources (/usr/src/googletest)
#   build-gpu-deps/json/nlohmann/    nlohmann/json's header (Model.cpp)
#   build-gpu-deps/cudnn-frontend/include/
#                                    cudnn-frontend's headers (the PyPI
#                                    wheel's include/, from DITC_VENV, default
#                                    /opt/ditc-venv) and the toolkit's cudnn*.h
#                                    (the GPU machine's toolkit may have
#                                    none): the attention's cuDNN path
#                                    (runtime/cuda/cudnn_graphs.cpp), ~3.6 MiB
#   build-gpu-deps/fixtures/<name>/  per model fixture of test/fixtures and test/fixtures/video:
#     cuda_f32.o, cuda_bf16.o        the generated half of a --target cuda
#                                    library (ditc compile --emit obj), linked
#                                    there with the runtime built there;
#     cuda_f32.safetensors, ...      their weights;
#     cpu_f32.npz, cpu_bf16.npz      the CPU runtime's outputs on the
#                                    fixture's inputs.npz (ditc run), which
#                                    the GPU's are checked against.
#   build-gpu-deps/models/<name>/    per full-size graph of examples/graphs
#     cuda_bf16.o, meta.json         (committed without weights): the object
#                                    of its --no-weights --target cuda
#                                    library, timed there on random weights
#   build-gpu-deps/pylib/diffusers   diffusers without its pipelines (the
#                                    PyTorch baselines' models), from
#                                    DITC_EXPORT_VENV (default
#                                    /opt/ditc-export-venv) when it has one
# The fixture's inputs.npz and outputs.npz (PyTorch's) travel with the tree.
# Prints the size of what travels (the device tool carries at most 64 MiB).
set -eu
cd "$(dirname "$0")/../.."
ROOT=$PWD
BUILD=${1:-$ROOT/build}
DITC=$BUILD/bin/ditc
DEPS=$ROOT/build-gpu-deps
[ -x "$DITC" ] || { echo "prepare.sh: no $DITC (build ditc first)" >&2; exit 1; }

mkdir -p "$DEPS"
if [ ! -f "$DEPS/googletest/CMakeLists.txt" ] && [ -d /usr/src/googletest ]; then
  cp -r /usr/src/googletest "$DEPS/"
fi
if [ ! -f "$DEPS/json/nlohmann/json.hpp" ] && [ -f /usr/include/nlohmann/json.hpp ]; then
  mkdir -p "$DEPS/json"
  cp -r /usr/include/nlohmann "$DEPS/json/"
fi

CFE_VENV=${DITC_VENV:-/opt/ditc-venv}
CFE_SRC=$(ls -d "$CFE_VENV"/lib/python3*/site-packages/include 2>/dev/null | head -1)
if [ -n "$CFE_SRC" ] && [ -f "$CFE_SRC/cudnn_frontend.h" ]; then
  rm -rf "$DEPS/cudnn-frontend"
  mkdir -p "$DEPS/cudnn-frontend/include"
  cp -r "$CFE_SRC"/cudnn_frontend* "$CFE_SRC"/cudnn_backend_base.h "$DEPS/cudnn-frontend/include/"
  CUDNN_H=
  for d in /usr/local/cuda/include /usr/include /usr/include/x86_64-linux-gnu; do
    [ -f "$d/cudnn.h" ] && { CUDNN_H=$d; break; }
  done
  [ -n "$CUDNN_H" ] && cp "$CUDNN_H"/cudnn*.h "$DEPS/cudnn-frontend/include/"
  echo "prepared cudnn-frontend ($(du -sh "$DEPS/cudnn-frontend" | cut -f1)${CUDNN_H:+, cudnn.h from $CUDNN_H})"
else
  echo "prepare.sh: no cudnn-frontend under $CFE_VENV (.ci/setup.sh installs it): the GPU check builds attention without cuDNN" >&2
fi

rm -rf "$DEPS/fixtures"
# The model fixtures and the video DiT ones (test/fixtures/video).
for dir in "$ROOT"/test/fixtures/*/ "$ROOT"/test/fixtures/video/*/; do
  name=$(basename "$dir")
  [ -f "$dir/model.onnx" ] || continue
  out=$DEPS/fixtures/$name
  mkdir -p "$out"
  for dtype in f32 bf16; do
    "$DITC" compile "$dir/model.onnx" --target cuda --dtype $dtype --emit obj \
      -o "$out/cuda_$dtype.o" 2>"$out/compile.log" ||
      { echo "prepare.sh: $name: ditc compile --target cuda --dtype $dtype failed:" >&2
        tail -3 "$out/compile.log" >&2; exit 1; }
    tmp=$(mktemp -d)
    "$DITC" compile "$dir/model.onnx" --dtype $dtype -o "$tmp/cpu.so" 2>"$out/compile.log"
    "$DITC" run "$tmp/cpu.so" --inputs "$dir/inputs.npz" \
      --outputs "$out/cpu_$dtype.npz" >/dev/null
    rm -rf "$tmp"
  done
  # AutoChunk's loops on the GPU: the f32 library again with half the
  # arena as its budget (where chunking reaches it), checked against the
  # same references as cuda_f32.
  arena=$("$DITC" profile "$dir/model.onnx" --format json 2>/dev/null |
    python3 -c "import json, sys; print(json.load(sys.stdin)['activation_peak_bytes'])")
  if "$DITC" compile "$dir/model.onnx" --target cuda --dtype f32 --emit obj \
      --activation-limit $((arena / 2)) -o "$out/cuda_f32chunk.o" 2>"$out/compile.log"; then
    cp "$out/cpu_f32.npz" "$out/cpu_f32chunk.npz"
  else
    rm -f "$out/cuda_f32chunk".*
  fi
  rm -f "$out/compile.log"
  echo "prepared $name"
done
rm -rf "$DEPS/models"
for dir in "$ROOT"/examples/graphs/*/; do
  name=$(basename "$dir")
  [ -f "$dir/model.onnx" ] || continue
  out=$DEPS/models/$name
  mkdir -p "$out"
  "$DITC" compile "$dir/model.onnx" --target cuda --dtype bf16 --no-weights \
    --emit obj -o "$out/cuda_bf16.o" 2>"$out/compile.log" ||
    { echo "prepare.sh: $name: ditc compile failed:" >&2; tail -3 "$out/compile.log" >&2; exit 1; }
  cp "$dir/meta.json" "$out/"
  rm -f "$out/compile.log"
  echo "prepared $name (no weights)"
done

VENV=${DITC_EXPORT_VENV:-/opt/ditc-export-venv}
SITE=$(ls -d "$VENV"/lib/python3*/site-packages 2>/dev/null | head -1)
if [ -n "$SITE" ] && [ -d "$SITE/diffusers" ] && [ ! -d "$DEPS/pylib/diffusers" ]; then
  mkdir -p "$DEPS/pylib"
  (cd "$SITE" && tar cf - --exclude=__pycache__ --exclude=diffusers/pipelines \
     --exclude=diffusers/modular_pipelines diffusers) | tar xf - -C "$DEPS/pylib"
fi
echo "build-gpu-deps: $(du -sh "$DEPS" | cut -f1) (fixtures $(du -sh "$DEPS/fixtures" | cut -f1))"
