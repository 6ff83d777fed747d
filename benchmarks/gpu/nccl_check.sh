#!/usr/bin/env bash
# Checks the "nccl" communicator (runtime/src/comm/nccl.cpp) on a machine with
# a GPU. Not run in CI. From the repository root:
#
#   benchmarks/gpu/nccl_check.sh [BUILD_DIR]     (default build-gpu)
#
# Configures the runtime alone (cmake -S runtime: no MLIR needed), builds
# libditc_runtime.so and the RuntimeCommMpi test binary, points
# DITC_NCCL_LIBRARY (and DITC_CUDART_LIBRARY) at a libnccl.so.2 / libcudart
# it finds (PyTorch's bundled copies under site-packages/nvidia, unless the
# variables are set already or the system's load), runs the comm-nccl.test
# tests with world size 1 (and 2 when there are two devices), and prints a
# table. Exits non-zero when a run fails.
set -u
cd "$(dirname "$0")/../.."
BUILD=${1:-build-gpu}

find_lib() { # NAME_GLOB: the first match under any site-packages/nvidia
  python3 - "$1" <<'PY'
import glob, os, site, sys
roots = set(site.getsitepackages() + [site.getusersitepackages()])
try:
    import nvidia
    roots.update(os.path.dirname(p) for p in nvidia.__path__)
except Exception:
    pass
for r in sorted(roots):
    hits = sorted(glob.glob(os.path.join(r, "**", sys.argv[1]), recursive=True))
    if hits:
        print(hits[0]); break
PY
}

if [ -z "${DITC_NCCL_LIBRARY:-}" ]; then
  DITC_NCCL_LIBRARY=$(find_lib 'libnccl.so.2')
  [ -n "$DITC_NCCL_LIBRARY" ] && export DITC_NCCL_LIBRARY
fi
if [ -z "${DITC_CUDART_LIBRARY:-}" ]; then
  DITC_CUDART_LIBRARY=$(find_lib 'libcudart.so.1[0-9]*')
  [ -n "$DITC_CUDART_LIBRARY" ] && export DITC_CUDART_LIBRARY
fi
echo "DITC_NCCL_LIBRARY=${DITC_NCCL_LIBRARY:-(system libnccl.so.2)}"
echo "DITC_CUDART_LIBRARY=${DITC_CUDART_LIBRARY:-(system libcudart)}"
nvidia-smi -L 2>/dev/null || echo "nvidia-smi: not found"

# The runtime alone, plus GoogleTest for the test binary (test/Runtime's
# CMakeLists wants the whole project, so the binary is compiled here).
cmake -S runtime -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DDITC_BUILD_BENCHMARKS=OFF >"$BUILD.cmake.log" 2>&1 ||
  { tail -20 "$BUILD.cmake.log"; exit 1; }
ninja -C "$BUILD" ditc_runtime >"$BUILD.build.log" 2>&1 ||
  { tail -30 "$BUILD.build.log"; exit 1; }
BIN=$BUILD/bin/RuntimeCommMpi
c++ -std=c++17 -O2 -Iinclude test/Runtime/CommMpiTest.cpp -o "$BIN" \
  -L"$BUILD/lib" -lditc_runtime -Wl,-rpath,"$PWD/$BUILD/lib" \
  -lgtest -lpthread >>"$BUILD.build.log" 2>&1 ||
  { tail -30 "$BUILD.build.log"; exit 1; }

probe=$(python3 -c "import ctypes,sys; L=ctypes.CDLL(sys.argv[1]); \
L.ditc_rt_comm_last_error.restype=ctypes.c_char_p; c=ctypes.c_void_p(); \
print(L.ditc_rt_comm_backend_available(b'nccl')); \
s=L.ditc_rt_comm_create(b'nccl', ctypes.byref(c)); \
print(s, L.ditc_rt_comm_last_error().decode()); \
L.ditc_rt_comm_destroy(c) if s == 0 else None" "$BUILD/lib/libditc_runtime.so" 2>&1)
echo "probe: $probe"

FILTER=$(sed -n 's/^DEFINE: %{nccl_tests} = //p' test/Runtime/comm-nccl.test)
MPIRUN="mpirun --allow-run-as-root --oversubscribe --mca btl_vader_single_copy_mechanism none -x DITC_TEST_COMM_BACKEND -x DITC_NCCL_LIBRARY -x DITC_CUDART_LIBRARY"
export DITC_TEST_COMM_BACKEND=nccl
GPUS=$(nvidia-smi -L 2>/dev/null | wc -l)
rows=()
fail=0
for np in 0 1 2; do
  if [ "$np" = 2 ] && [ "$GPUS" -lt 2 ]; then
    rows+=("mpirun -np 2|skipped ($GPUS device)|")
    continue
  fi
  log=$BUILD/nccl-np$np.log
  if [ "$np" = 0 ]; then cmd=(timeout 300 "$BIN"); name="singleton"
  else cmd=(timeout 300 $MPIRUN -np "$np" "$BIN"); name="mpirun -np $np"; fi
  start=$(date +%s.%N)
  "${cmd[@]}" --gtest_filter="$FILTER" >"$log" 2>&1
  rc=$?
  secs=$(python3 -c "import time; print(f'{time.time()-$start:.1f}')")
  passed=$(grep -c '^\[       OK \]' "$log")
  failed=$(grep -c '^\[  FAILED  \] Mpi\.' "$log")
  [ "$rc" = 0 ] || fail=1
  rows+=("$name|rc=$rc passed=$passed failed=$failed|${secs}s")
done
echo
printf '%-16s %-34s %s\n' "run" "result" "time"
for r in "${rows[@]}"; do
  IFS='|' read -r a b c <<<"$r"
  printf '%-16s %-34s %s\n' "$a" "$b" "$c"
done
[ "$fail" = 0 ] || { echo; echo "failures (first 40 lines of each failing log):";
  for f in "$BUILD"/nccl-np*.log; do grep -q FAILED "$f" && { echo "== $f"; grep -B2 -A8 'Failure\|FAILED\|error' "$f" | head -40; }; done; }
exit $fail
