//===- stream.cu - The current stream, error reporting -------------------===//
#include "common.cuh"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

namespace ditc_cu {

namespace {
thread_local void *g_stream = nullptr; // null: the legacy default stream
} // namespace

void fatal(const char *kernel, const char *fmt, ...) {
  fprintf(stderr, "ditc cuda: %s: ", kernel);
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  fflush(stderr);
  abort();
}

void check_launch(const char *kernel) {
  const cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess)
    fatal(kernel, "kernel launch failed: %s (%s)", cudaGetErrorString(err),
          cudaGetErrorName(err));
}

} // namespace ditc_cu

extern "C" {

void ditc_cu_set_stream(void *stream) { ditc_cu::g_stream = stream; }

void *ditc_cu_get_stream(void) { return ditc_cu::g_stream; }

} // extern "C"
