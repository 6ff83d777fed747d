#!/usr/bin/env bash
# The CUDA backend's tests on a GPU machine without MLIR, oneDNN or MPI (the
# lent H200 machine: CUDA toolkit, CMake, ninja, PyTorch; nothing to install).
# Not run in CI. From the repository root:
#
#   bash benchmarks/gpu/check.sh [--quick]
#
# Configures the runtime alone (cmake -S runtime: no MLIR) with
# DITC_RT_ONEDNN=OFF (the C++ GEMM fallback is the CPU reference),
# DITC_RT_CUDA_TESTS=ON and the CUDA architectures of the GPU found, into
# build-gpu/ (ignored: it never travels, and reruns on the same machine are
# incremental); builds test/Cuda's GPU binaries and the GPU model archive
# (libditc_model_cuda.a) and runs each binary with a timeout. Then the model
# fixtures: benchmarks/gpu/prepare.sh (run where ditc is built) leaves the
# generated half of each fixture's --target cuda library (f32 and bf16) in
# build-gpu-deps/fixtures; each is linked here as `ditc compile` links and
# run by run_fixtures.py against PyTorch's outputs and the CPU runtime's.
# --quick stops after the correctness checks; without it the host tests of
# test/Cuda run too, and then the timings of the full-size graphs prepared
# without weights (time_models.py: ditc with and without its CUDA graph,
# PyTorch eager, torch.compile) and of the attention kernel alone on the
# models' shapes beside PyTorch's SDPA (ditc-cuda-attention-bench,
# time_attention.py: the goal of >= 90% of SDPA's speed).
#
# Everything goes to $OUT (default ./gpu-out) as it goes: build.log (configure
# and build), gpu-tests.log (the GPU binaries), host-tests.log, fixtures.log,
# without --quick timings.log and timings.json, and summary.txt (the
# machine, one line per binary, the timings table; printed last). At most 7
# files: the device tool brings back 8.
#
# Exit status: 0 all passed on a GPU; 1 a build step or a test failed; 2 no
# GPU was found (the GPU binaries then exit 77, "SKIP (no GPU)"), so that a
# machine without one is never read as a pass.
#
# Environment: DITC_CUDA_ARCHS (default: from nvidia-smi, e.g. 9.0 -> 90a;
# 90a without a GPU), DITC_GPU_BUILD (build folder, default build-gpu),
# DITC_GPU_JOBS (default nproc), DITC_GPU_TEST_TIMEOUT (seconds per binary,
# default 150 with --quick, 600 without), DITC_GTEST_SOURCE_DIR (GoogleTest
# sources; default build-gpu-deps/googletest, then /usr/src/googletest, else
# an installed GoogleTest; "none": the installed one).
set -u
set -o pipefail

QUICK=0
for arg in "$@"; do
  case $arg in
  --quick) QUICK=1 ;;
  -h | --help)
    sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'
    exit 0
    ;;
  *)
    echo "check.sh: unknown argument '$arg' (use --quick)" >&2
    exit 64
    ;;
  esac
done

cd "$(dirname "$0")/../.." || exit 1
ROOT=$PWD
OUT=${OUT:-$ROOT/gpu-out}
mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd) || exit 1
BUILD=${DITC_GPU_BUILD:-$ROOT/build-gpu}
JOBS=${DITC_GPU_JOBS:-$(nproc)}
if [ "$QUICK" = 1 ]; then TIMEOUT=${DITC_GPU_TEST_TIMEOUT:-150}
else TIMEOUT=${DITC_GPU_TEST_TIMEOUT:-600}; fi
SUMMARY=$OUT/summary.txt
BUILD_LOG=$OUT/build.log
: >"$SUMMARY"
: >"$BUILD_LOG"
T0=$(date +%s)

say() { echo "$*" | tee -a "$SUMMARY"; }
since() { echo "$(($(date +%s) - $1))s"; }

#===--- The machine ----------------------------------------------------===#
say "== ditc GPU check ($([ "$QUICK" = 1 ] && echo quick || echo full)), $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
if COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null); then
  git -C "$ROOT" diff --quiet HEAD 2>/dev/null || COMMIT="$COMMIT (+ local changes)"
  say "commit: $COMMIT"
else
  say "commit: unknown (not a git checkout)"
fi
GPU=0
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1 &&
  [ -n "$(nvidia-smi -L 2>/dev/null)" ]; then
  GPU=1
  nvidia-smi -L 2>&1 | sed 's/^/gpu: /' | tee -a "$SUMMARY"
  say "driver: $(nvidia-smi --query-gpu=driver_version --format=csv,noheader 2>/dev/null | head -1)"
else
  say "gpu: none (nvidia-smi missing or lists no GPU)"
fi

NVCC=${CUDACXX:-}
[ -z "$NVCC" ] && NVCC=$(command -v nvcc 2>/dev/null)
[ -z "$NVCC" ] && [ -x /usr/local/cuda/bin/nvcc ] && NVCC=/usr/local/cuda/bin/nvcc
if [ -n "$NVCC" ]; then
  say "nvcc: $NVCC, $("$NVCC" --version | grep -i release | sed 's/.*release/release/')"
else
  say "nvcc: not found (no CUDA compiler: the GPU binaries cannot be built)"
fi
say "cmake: $(cmake --version 2>/dev/null | head -1)"
say "ninja: $(ninja --version 2>/dev/null || echo 'not found')"
say "c++: $(c++ --version 2>/dev/null | head -1)"
say "cpus: $(nproc), build jobs: $JOBS"

if [ -n "${DITC_CUDA_ARCHS:-}" ]; then
  ARCHS=$DITC_CUDA_ARCHS
elif [ "$GPU" = 1 ]; then
  # 9.0 -> 90a (the arch-specific features: the GPU runs what was built for
  # it); below 9.0 the plain architecture.
  ARCHS=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null |
    tr -d ' .' | sort -u |
    awk '/^[0-9]+$/ { printf "%s%s%s", sep, $1, ($1 >= 90 ? "a" : ""); sep = ";" }')
fi
ARCHS=${ARCHS:-90a}
say "cuda archs: $ARCHS"

#===--- Libraries the tests dlopen -------------------------------------===#
# cuBLASLt (runtime/cuda/gemm.cpp), cuDNN, NCCL, and the shared CUDA runtime
# that cudnn-frontend dlopen()s for calls of its own (runtime/cuda/
# cudnn_graphs.h; the runtime itself links cudart statically): where the
# loader does not find one, the folder of the first copy under the CUDA
# toolkit or site-packages/nvidia (PyTorch's wheels) goes on LD_LIBRARY_PATH.
LIBS=$(python3 - libcublasLt.so.13 libcudnn.so.9 libnccl.so.2 libcudart.so.13 <<'PY' 2>/dev/null
import ctypes, glob, os, site, sys
roots = ["/usr/local/cuda/lib64", "/usr/local/cuda/targets/x86_64-linux/lib"]
try:
    roots += [os.path.join(p, "nvidia") for p in site.getsitepackages()]
except Exception:
    pass
try:
    import nvidia  # a namespace package: PyTorch's CUDA wheels
    roots += list(nvidia.__path__)
except Exception:
    pass
for name in sys.argv[1:]:
    try:
        ctypes.CDLL(name)
        print(f"{name}\t-\tfound by the loader")
        continue
    except OSError:
        pass
    hit = ""
    for r in dict.fromkeys(roots):
        found = sorted(glob.glob(os.path.join(r, "**", name), recursive=True))
        if found:
            hit = os.path.dirname(os.path.realpath(found[0]))
            break
    print(f"{name}\t{hit or '-'}\t{'from ' + hit if hit else 'not found'}")
PY
)
if [ -z "$LIBS" ]; then
  say "libraries: python3 missing or failed; LD_LIBRARY_PATH left as it is"
fi
while IFS=$'\t' read -r name dir how; do
  [ -n "$name" ] || continue
  say "$name: $how"
  if [ "$dir" != "-" ]; then
    case ":${LD_LIBRARY_PATH:-}:" in
    *":$dir:"*) ;;
    *) export LD_LIBRARY_PATH=$dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} ;;
    esac
  fi
done <<<"$LIBS"
say "LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}"

#===--- Configure and build --------------------------------------------===#
GTEST_SRC=${DITC_GTEST_SOURCE_DIR:-}
if [ "$GTEST_SRC" = none ]; then
  GTEST_SRC=
elif [ -z "$GTEST_SRC" ]; then
  for d in "$ROOT/build-gpu-deps/googletest" /usr/src/googletest; do
    [ -f "$d/CMakeLists.txt" ] && { GTEST_SRC=$d; break; }
  done
fi
say "googletest: ${GTEST_SRC:-an installed one (find_package)}"

GPU_TESTS=(ditc-cuda-kernel-tests ditc-cuda-attention-tests ditc-cuda-gemm-tests
  ditc-cuda-collective-tests ditc-cuda-cudnn-tests)
# The host side of the cuBLASLt GEMM (with the real library where there is
# one) and of the GPU model libraries; no GPU needed.
HOST_QUICK=(CudaGemmPlanTests CudaModelHostTests CudaDeviceCommHostTests
  CudaCudnnHostTests)
HOST_FULL=(CudaKernelMathTests CudaAttentionMathTests CudaKernelEmuTests
  CudaAttentionEmuTests CudaCollectiveEmuTests)
TARGETS=("${GPU_TESTS[@]}" "${HOST_QUICK[@]}" ditc_model_cuda)
# Without --quick also the attention benchmark (benchmarks/gpu/
# attention_bench.cpp, timed beside PyTorch's SDPA in Timings).
[ "$QUICK" = 1 ] || TARGETS+=("${HOST_FULL[@]}" ditc-cuda-attention-bench)

fail_build() {
  say "build: FAILED at $1 after $(since "$T0") (last lines of $BUILD_LOG below)"
  tail -40 "$BUILD_LOG"
  exit 1
}

[ -n "$NVCC" ] || fail_build "finding nvcc"
t=$(date +%s)
CMAKE_ARGS=(-S "$ROOT/runtime" -B "$BUILD" -G Ninja
  -DCMAKE_BUILD_TYPE=Release
  -DCMAKE_CUDA_COMPILER="$NVCC"
  "-DDITC_CUDA_ARCHS=$ARCHS"
  -DDITC_RT_ONEDNN=OFF
  -DDITC_RT_CUDA=ON
  -DDITC_RT_CUDA_TESTS=ON
  -DDITC_RT_TESTS=OFF
  -DDITC_RT_AVX2_W16=OFF
  -DDITC_BUILD_BENCHMARKS=OFF
  "-DDITC_RT_GTEST_SOURCE_DIR=$GTEST_SRC")
# nlohmann/json (Model.cpp of the model archive): carried, where the machine
# has none.
[ -f "$ROOT/build-gpu-deps/json/nlohmann/json.hpp" ] &&
  CMAKE_ARGS+=("-DDITC_RT_JSON_INCLUDE_DIR=$ROOT/build-gpu-deps/json")
# cudnn-frontend's headers (and cudnn.h) for the attention's cuDNN path:
# carried by prepare.sh; without them the runtime builds without it and
# ditc-cuda-cudnn-tests fails, saying so.
if [ -f "$ROOT/build-gpu-deps/cudnn-frontend/include/cudnn_frontend.h" ]; then
  CMAKE_ARGS+=("-DDITC_CUDNN_FRONTEND_INCLUDE_DIR=$ROOT/build-gpu-deps/cudnn-frontend/include")
  say "cudnn-frontend: build-gpu-deps/cudnn-frontend/include"
else
  say "cudnn-frontend: not carried (run benchmarks/gpu/prepare.sh): attention without cuDNN"
fi
echo "\$ cmake ${CMAKE_ARGS[*]}" >>"$BUILD_LOG"
if ! cmake "${CMAKE_ARGS[@]}" >>"$BUILD_LOG" 2>&1; then
  grep -q 'GTest' "$BUILD_LOG" && [ -z "$GTEST_SRC" ] &&
    say "hint: no GoogleTest here; carry its sources as build-gpu-deps/googletest (benchmarks/gpu/README.md)"
  fail_build "cmake configure"
fi
say "configure: $(since "$t")"
KNOWN=$(ninja -C "$BUILD" -t targets all 2>/dev/null | sed 's/:.*//')
for target in "${TARGETS[@]}"; do
  grep -qx "$target" <<<"$KNOWN" ||
    fail_build "configure: no target $target (CUDA not found?)"
done
t=$(date +%s)
echo "\$ ninja -C $BUILD -j$JOBS ${TARGETS[*]}" >>"$BUILD_LOG"
ninja -C "$BUILD" -j"$JOBS" "${TARGETS[@]}" >>"$BUILD_LOG" 2>&1 ||
  fail_build "ninja"
say "build: $(since "$t") (${#TARGETS[@]} targets, -j$JOBS)"

#===--- Run ------------------------------------------------------------===#
declare -a ROWS=() FAILURES=()
FAILED=0
SKIPPED=0

# run NAME PATH LOG: one binary with the timeout; a row for the summary.
run() { # NAME BIN LOG [ARG...]
  local name=$1 bin=$2 log=$3 t start end rc result passed failed tests
  shift 3
  t=$(date +%s)
  echo "== $name" >>"$log"
  start=$(wc -l <"$log")
  timeout -k 10 "$TIMEOUT" "$bin" "$@" >>"$log" 2>&1
  rc=$?
  end=$(wc -l <"$log")
  # This run's lines only (host-tests.log holds several).
  passed=$(tail -n +"$((start + 1))" "$log" |
    sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
  failed=$(tail -n +"$((start + 1))" "$log" |
    sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
  case $rc in
  0) result="PASS" ;;
  77) result="SKIP (no GPU)"; SKIPPED=1 ;;
  124 | 137) result="FAIL (timeout ${TIMEOUT}s)"; FAILED=1 ;;
  *) result="FAIL (exit $rc)"; FAILED=1 ;;
  esac
  case $result in FAIL*) FAILURES+=("$name|$log|$start|$end") ;; esac
  if [ "$rc" = 77 ]; then tests="-"
  else tests="${passed:-0} passed, ${failed:-0} failed"; fi
  ROWS+=("$name|$result|$tests|$(since "$t")")
  echo "$name: $result" >&2
}

: >"$OUT/gpu-tests.log"
for name in "${GPU_TESTS[@]}"; do
  run "$name" "$BUILD/bin/$name" "$OUT/gpu-tests.log"
done
# The linear layers again with no cuBLASLt epilogue (gemm.h: the path taken
# where cuBLASLt has no algorithm with the bias or GELU).
run "ditc-cuda-gemm-tests, DITC_CUBLASLT_EPILOGUE=0" env "$OUT/gpu-tests.log" \
  DITC_CUBLASLT_EPILOGUE=0 "$BUILD/bin/ditc-cuda-gemm-tests" --gtest_filter='*CudaLinear*'
# The convolutions with their bias as a kernel after cuDNN's (cudnn_graphs.h:
# the path taken where cuDNN refuses the fused graph).
run "ditc-cuda-cudnn-tests, DITC_CUDNN_CONV_BIAS=0" env "$OUT/gpu-tests.log" \
  DITC_CUDNN_CONV_BIAS=0 "$BUILD/bin/ditc-cuda-cudnn-tests" --gtest_filter='*CudnnConv*'
: >"$OUT/host-tests.log"
for name in "${HOST_QUICK[@]}"; do
  run "$name" "$BUILD/test/Unit/$name" "$OUT/host-tests.log"
done
if [ "$QUICK" = 0 ]; then
  for name in "${HOST_FULL[@]}"; do
    run "$name" "$BUILD/test/Unit/$name" "$OUT/host-tests.log"
  done
fi

#===--- Model fixtures -------------------------------------------------===#
# link_model OBJ SO: the generated object with the model archive, the way
# `ditc compile` links (lib/Target/Emit.cpp).
LINKER=${CC:-cc}
command -v "$LINKER" >/dev/null 2>&1 || LINKER=c++
link_model() {
  "$LINKER" -shared -o "$2" "$1" -Wl,--whole-archive "$BUILD/lib/libditc_model_cuda.a" \
    -Wl,--no-whole-archive -Wl,-Bsymbolic \
    "-Wl,--version-script=$BUILD/lib/ditc_model.map" "@$BUILD/lib/ditc_model_cuda.libs"
}
PREPARED=$ROOT/build-gpu-deps/fixtures
FIXLOG=$OUT/fixtures.log
: >"$FIXLOG"
if [ -d "$PREPARED" ]; then
  t=$(date +%s)
  linked=0
  for obj in "$PREPARED"/*/cuda_*.o; do
    [ -f "$obj" ] || continue
    if link_model "$obj" "${obj%.o}.so" >>"$FIXLOG" 2>&1; then
      linked=$((linked + 1))
    else
      echo "link failed: $obj" >>"$FIXLOG"
    fi
  done
  echo "== run_fixtures.py ($linked libraries linked in $(since "$t"))" >>"$FIXLOG"
  start=$(wc -l <"$FIXLOG")
  timeout -k 10 "$TIMEOUT" python3 "$ROOT/benchmarks/gpu/run_fixtures.py" \
    "$PREPARED" "$ROOT/test/fixtures" --prefix cuda --dtypes f32,bf16,f32chunk >>"$FIXLOG" 2>&1
  rc=$?
  end=$(wc -l <"$FIXLOG")
  counts=$(tail -1 "$FIXLOG")
  if [ "$rc" = 0 ]; then result=PASS
  elif [ "$GPU" = 0 ]; then result="SKIP (no GPU)"; SKIPPED=1
  else result="FAIL (exit $rc)"; FAILED=1; FAILURES+=("fixtures|$FIXLOG|$start|$end"); fi
  ROWS+=("model fixtures|$result|$counts|$(since "$t")")
  echo "model fixtures: $result" >&2
else
  say "model fixtures: none prepared (run benchmarks/gpu/prepare.sh where ditc is built and carry build-gpu-deps)"
fi

#===--- Timings --------------------------------------------------------===#
# Full-size graphs (examples/graphs, prepared without weights): one step on
# random weights with and without the CUDA graph, beside PyTorch eager and
# torch.compile (time_models.py); the table goes to timings.log and the
# summary.
if [ "$QUICK" = 0 ]; then
  TLOG=$OUT/timings.log
  : >"$TLOG"
  t=$(date +%s)
  if [ -d "$ROOT/build-gpu-deps/models" ]; then
    for obj in "$ROOT"/build-gpu-deps/models/*/cuda_bf16.o; do
      [ -f "$obj" ] && { link_model "$obj" "${obj%.o}.so" >>"$TLOG" 2>&1 ||
        echo "link failed: $obj" >>"$TLOG"; }
    done
    OUT=$OUT timeout -k 10 "$TIMEOUT" python3 "$ROOT/benchmarks/gpu/time_models.py" \
      "$ROOT/build-gpu-deps" >"$OUT/.table" 2>>"$TLOG"
    rc=$?
    cat "$OUT/.table" >>"$TLOG"
    say ""
    cat "$OUT/.table" | tee -a "$SUMMARY"
    rm -f "$OUT/.table"
    if [ "$rc" = 0 ]; then result=PASS
    elif [ "$GPU" = 0 ]; then result="SKIP (no GPU)"; SKIPPED=1
    else result="FAIL (exit $rc)"; FAILED=1; FAILURES+=("timings|$TLOG|0|$(wc -l <"$TLOG")"); fi
    ROWS+=("timings|$result|-|$(since "$t")")
  else
    say "timings: no full-size graphs prepared (benchmarks/gpu/prepare.sh)"
  fi
fi

# The attention kernel alone (ditc-cuda-attention-bench: bf16, the models'
# shapes, seq-major as the compiled models call it, with the cuDNN path
# allowed and with the own kernel only) beside PyTorch's SDPA on the same
# shapes (time_attention.py); well under 30 s. Its lines and table go to
# timings.log, its rows into timings.json ("attention"), the table to the
# summary.
if [ "$QUICK" = 0 ]; then
  TLOG=$OUT/timings.log
  t=$(date +%s)
  ABENCH=$BUILD/attention-bench.txt # outside $OUT: at most 7 files there
  echo "== ditc-cuda-attention-bench" >>"$TLOG"
  timeout -k 10 "$TIMEOUT" "$BUILD/bin/ditc-cuda-attention-bench" >"$ABENCH" 2>&1
  brc=$?
  cat "$ABENCH" >>"$TLOG"
  echo "== time_attention.py (bench exit $brc)" >>"$TLOG"
  timeout -k 10 "$TIMEOUT" python3 "$ROOT/benchmarks/gpu/time_attention.py" \
    "$ABENCH" >"$OUT/.table" 2>>"$TLOG"
  rc=$?
  cat "$OUT/.table" >>"$TLOG"
  say ""
  cat "$OUT/.table" | tee -a "$SUMMARY"
  rm -f "$OUT/.table"
  # Ring attention's blocks against the whole attention's rate (the time
  # model charges them at it).
  grep '^RING_BLOCK' "$ABENCH" | tee -a "$SUMMARY"
  if [ "$brc" = 77 ] || [ "$GPU" = 0 ]; then result="SKIP (no GPU)"; SKIPPED=1
  elif [ "$brc" != 0 ]; then
    result="FAIL (bench exit $brc)"; FAILED=1
    FAILURES+=("attention timings|$TLOG|0|$(wc -l <"$TLOG")")
  elif [ "$rc" != 0 ]; then
    result="FAIL (exit $rc)"; FAILED=1
    FAILURES+=("attention timings|$TLOG|0|$(wc -l <"$TLOG")")
  else result=PASS; fi
  # time_attention.py's "attention goal: cuDNN path N/M, own kernel N/M".
  goal=$(sed -n 's/^attention goal: //p' "$TLOG" | tail -1)
  ROWS+=("attention timings|$result|${goal:--}|$(since "$t")")
fi

#===--- Summary --------------------------------------------------------===#
{
  echo
  printf '%-28s %-22s %-26s %s\n' binary result tests time
  for r in "${ROWS[@]}"; do
    IFS='|' read -r a b c d <<<"$r"
    printf '%-28s %-22s %-26s %s\n' "$a" "$b" "$c" "$d"
  done
  echo
  if [ "$FAILED" = 1 ]; then
    echo "result: FAILED (logs in $OUT), total $(since "$T0")"
  elif [ "$GPU" = 0 ] || [ "$SKIPPED" = 1 ]; then
    echo "result: NO GPU, nothing ran on a GPU (exit 2), total $(since "$T0")"
  else
    echo "result: PASSED, total $(since "$T0")"
  fi
} | tee -a "$SUMMARY"

if [ "$FAILED" = 1 ]; then
  for f in "${FAILURES[@]}"; do
    IFS='|' read -r name log start end <<<"$f"
    echo
    echo "== $name ($log), failures or the last lines:"
    sed -n "$((start + 1)),${end}p" "$log" >"$OUT/.part"
    if grep -q 'Failure\|^\[  FAILED  \]\|^FAIL ' "$OUT/.part"; then
      grep -B2 -A6 'Failure\|^\[  FAILED  \]\|^FAIL ' "$OUT/.part" | head -40
    else
      tail -15 "$OUT/.part"
    fi
    rm -f "$OUT/.part"
  done
  exit 1
fi
[ "$GPU" = 1 ] && [ "$SKIPPED" = 0 ] || exit 2
exit 0
