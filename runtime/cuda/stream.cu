//===- stream.cu - The current stream, error reporting -------------------===//
#include "common.cuh"

#include <vector>

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

namespace ditc_cu {
namespace {
// Step tracing (ditc compile --trace): an event per step on the current
// stream, recorded by trace_step and read when tracing stops.
double *g_trace = nullptr;
std::vector<cudaEvent_t> g_events; // [0]: the start, [i + 1]: step i's end
std::vector<char> g_recorded;
} // namespace
} // namespace ditc_cu

extern "C" {

// trace_begin(seconds, steps): events created (outside any graph capture),
// the start recorded on the current stream; trace_begin(NULL, 0) waits for
// the last event and stores each recorded step's end, in seconds since the
// start (steps not recorded are left as they are).
void ditc_cu_trace_begin(double *step_end_seconds, int32_t steps) {
  using namespace ditc_cu;
  cudaStream_t s = static_cast<cudaStream_t>(g_stream);
  if (!step_end_seconds || steps <= 0) {
    if (g_trace && !g_events.empty()) {
      if (cudaStreamSynchronize(s) != cudaSuccess)
        fatal("trace_begin", "the traced step failed: %s",
              cudaGetErrorString(cudaGetLastError()));
      for (size_t i = 1; i < g_events.size(); ++i) {
        float ms = 0.f;
        if (g_recorded[i] &&
            cudaEventElapsedTime(&ms, g_events[0], g_events[i]) == cudaSuccess)
          g_trace[i - 1] = ms * 1e-3;
      }
    }
    g_trace = nullptr;
    return;
  }
  while ((int32_t)g_events.size() < steps + 1) {
    cudaEvent_t e = nullptr;
    if (cudaEventCreate(&e) != cudaSuccess)
      fatal("trace_begin", "cannot create a CUDA event");
    g_events.push_back(e);
  }
  g_recorded.assign(g_events.size(), 0);
  g_trace = step_end_seconds;
  if (cudaEventRecord(g_events[0], s) != cudaSuccess)
    fatal("trace_begin", "cannot record a CUDA event");
  g_recorded[0] = 1;
}

void ditc_cu_trace_step(int32_t step) {
  using namespace ditc_cu;
  if (!g_trace || step < 0 || (size_t)step + 1 >= g_events.size())
    return;
  if (cudaEventRecord(g_events[step + 1], static_cast<cudaStream_t>(g_stream)) !=
      cudaSuccess)
    fatal("trace_step", "cannot record a CUDA event");
  g_recorded[step + 1] = 1;
}

void ditc_cu_set_stream(void *stream) { ditc_cu::g_stream = stream; }

void *ditc_cu_get_stream(void) { return ditc_cu::g_stream; }

} // extern "C"
