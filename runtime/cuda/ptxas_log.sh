#!/bin/sh
# The compiler launcher of ditc_cuda_kernels (CUDA_COMPILER_LAUNCHER):
#   sh ptxas_log.sh <dir> <nvcc command...>
# runs the command (which compiles with -Xptxas=-v), keeps its "ptxas info"
# lines and their "bytes stack frame" follow-ups in <dir>/<file.cu>.log,
# passes every other line of its output on to stderr and exits with its
# status.
dir=$1
shift
src=
for arg in "$@"; do
  case $arg in
  *.cu) src=$arg ;;
  esac
done
name=$(basename "${src:-unknown.cu}")
tmp="$dir/$name.out.$$"
"$@" >"$tmp" 2>&1
rc=$?
pattern='^ptxas info|bytes stack frame'
if [ "$rc" -eq 0 ] && [ -n "$src" ]; then
  grep -E "$pattern" "$tmp" >"$dir/$name.log"
else
  rm -f "$dir/$name.log"
fi
grep -vE "$pattern" "$tmp" >&2
rm -f "$tmp"
exit "$rc"
