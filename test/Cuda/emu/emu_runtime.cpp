//===- emu/emu_runtime.cpp - The emulation's fibers, streams and graphs --===//
//
// See cuda_runtime.h. A block's threads are ucontext fibers run round-robin
// by a scheduler on the launching thread; a fiber runs until it waits at a
// barrier (the block's, for __syncthreads, or its warp's, twice per shuffle)
// or returns. A barrier opens when every fiber of it that has not returned
// has arrived, as on the GPU where exited threads no longer count.
//
// Stream work runs at once unless its stream is being captured; then it is
// a closure appended to the stream's capture, which becomes a graph's list
// of operations (replayed in order by cudaGraphLaunch). Kernels launch on
// ditc_cu_get_stream()'s stream (runtime/cuda/stream.cu, linked with every
// user of this file).
//
//===----------------------------------------------------------------------===//
#include "cuda_runtime.h"

#include "cuda_runtime_api.h" // ditc_cu_get_stream

#include <ucontext.h>

#include <chrono>
#include <memory>
#include <vector>

struct CUstream_st {
  unsigned flags = cudaStreamDefault;
  bool capturing = false;
  bool invalidated = false;
  cudaStreamCaptureMode mode = cudaStreamCaptureModeGlobal;
  std::vector<std::function<void()>> ops; // the capture so far
  // A stream forked into another's capture (cudaStreamWaitEvent): its work
  // goes to that capture; `unjoined`: work since the capturing stream last
  // waited for it.
  CUstream_st *joined = nullptr;
  bool unjoined = false;
};
struct CUevent_st {
  unsigned flags = cudaEventDefault;
  bool recorded = false; // reached in stream order at least once
  bool captured = false; // last recorded into a capture
  CUstream_st *capture = nullptr; // that capture's stream
  CUstream_st *on = nullptr;      // the stream it was last recorded on
  std::chrono::steady_clock::time_point time;
};
struct CUgraph_st {
  std::vector<std::function<void()>> ops;
};
struct CUgraphExec_st {
  std::vector<std::function<void()>> ops;
};

namespace ditc_emu {

uint3 thread_idx, block_idx;
dim3 block_dim, grid_dim;

namespace {

constexpr size_t kStackBytes = 256 * 1024;

struct Barrier {
  int expected = 0, arrived = 0;
  uint64_t generation = 0;
};

struct Fiber {
  ucontext_t ctx;
  std::unique_ptr<char[]> stack;
  uint3 idx;
  int warp;
  bool done;
  Barrier *waiting = nullptr; // blocked on this barrier ...
  uint64_t wait_gen = 0;      // ... until it leaves this generation
};

ucontext_t g_scheduler;
std::vector<Fiber> g_fibers;
int g_current = -1;
Barrier g_block;
std::vector<Barrier> g_warps;
std::vector<uint64_t> g_slots; // 32 per warp
const std::function<void()> *g_body = nullptr;
cudaError_t g_last_error = cudaSuccess;

void yield() { swapcontext(&g_fibers[g_current].ctx, &g_scheduler); }

void wait(Barrier &b) {
  const uint64_t gen = b.generation;
  if (++b.arrived >= b.expected) {
    b.arrived = 0;
    ++b.generation;
    return;
  }
  Fiber &f = g_fibers[g_current];
  f.waiting = &b;
  f.wait_gen = gen;
  while (b.generation == gen)
    yield();
  f.waiting = nullptr;
}

void drop(Barrier &b) {
  --b.expected;
  if (b.arrived > 0 && b.arrived >= b.expected) {
    b.arrived = 0;
    ++b.generation;
  }
}

void trampoline() {
  (*g_body)();
  Fiber &f = g_fibers[g_current];
  f.done = true;
  drop(g_block);
  drop(g_warps[f.warp]);
  // returning resumes uc_link: the scheduler
}

} // namespace

namespace {
bool valid_config(dim3 grid, dim3 block) {
  const uint64_t threads = (uint64_t)block.x * block.y * block.z;
  return !(threads == 0 || threads > 1024 || block.z > 64 || grid.x == 0 ||
           grid.y == 0 || grid.z == 0 || grid.y > 65535 || grid.z > 65535);
}
} // namespace

namespace {
/// DITC_EMU_REVERSE=1: blocks run last first, and a block's fibers are
/// resumed highest thread first. A kernel's results must not change: one
/// that reads what another block, or another thread without a barrier in
/// between, wrote has a race on a GPU, which the usual order may hide.
bool reverse_order() {
  static const bool r = [] {
    const char *e = getenv("DITC_EMU_REVERSE");
    return e && *e && strcmp(e, "0") != 0;
  }();
  return r;
}
} // namespace

void run_grid(dim3 grid, dim3 block, const std::function<void()> &body) {
  if (!valid_config(grid, block)) {
    g_last_error = cudaErrorInvalidConfiguration;
    return;
  }
  const uint64_t threads = (uint64_t)block.x * block.y * block.z;
  if (g_current >= 0) {
    fprintf(stderr, "ditc emu: a launch from inside a kernel\n");
    abort();
  }
  const int n = (int)threads, nwarps = (n + 31) / 32;
  if ((int)g_fibers.size() < n)
    g_fibers.resize(n);
  for (int i = 0; i < n; ++i)
    if (!g_fibers[i].stack)
      g_fibers[i].stack.reset(new char[kStackBytes]);
  g_warps.assign(nwarps, Barrier());
  g_slots.assign((size_t)nwarps * 32, 0);
  g_body = &body;
  grid_dim = grid;
  block_dim = block;
  const bool rev = reverse_order();
  for (unsigned bz0 = 0; bz0 < grid.z; ++bz0)
    for (unsigned by0 = 0; by0 < grid.y; ++by0)
      for (unsigned bx0 = 0; bx0 < grid.x; ++bx0) {
        const unsigned bz = rev ? grid.z - 1 - bz0 : bz0,
                       by = rev ? grid.y - 1 - by0 : by0,
                       bx = rev ? grid.x - 1 - bx0 : bx0;
        g_block = Barrier();
        g_block.expected = n;
        for (int w = 0; w < nwarps; ++w) {
          g_warps[w] = Barrier();
          g_warps[w].expected = w + 1 < nwarps ? 32 : n - 32 * w;
        }
        for (int i = 0; i < n; ++i) {
          Fiber &f = g_fibers[i];
          f.idx = uint3{(unsigned)i % block.x, (unsigned)i / block.x % block.y,
                        (unsigned)i / (block.x * block.y)};
          f.warp = i / 32;
          f.done = false;
          f.waiting = nullptr;
          getcontext(&f.ctx);
          f.ctx.uc_stack.ss_sp = f.stack.get();
          f.ctx.uc_stack.ss_size = kStackBytes;
          f.ctx.uc_link = &g_scheduler;
          makecontext(&f.ctx, trampoline, 0);
        }
        block_idx = uint3{bx, by, bz};
        int remaining = n;
        while (remaining > 0) {
          bool ran = false;
          for (int i0 = 0; i0 < n; ++i0) {
            const int i = rev ? n - 1 - i0 : i0;
            Fiber &f = g_fibers[i];
            if (f.done || (f.waiting && f.waiting->generation == f.wait_gen))
              continue;
            ran = true;
            g_current = i;
            thread_idx = f.idx;
            swapcontext(&g_scheduler, &f.ctx);
            g_current = -1;
            if (f.done)
              --remaining;
          }
          if (!ran && remaining > 0) {
            fprintf(stderr,
                    "ditc emu: deadlock: %d threads of block "
                    "(%u, %u, %u) wait at a barrier the others never "
                    "reach\n",
                    remaining, bx, by, bz);
            abort();
          }
        }
      }
  g_body = nullptr;
}

void block_sync() { wait(g_block); }

uint64_t warp_exchange(uint64_t mine, int src) {
  const Fiber &f = g_fibers[g_current];
  const int lane = g_current % 32;
  uint64_t *slots = &g_slots[(size_t)f.warp * 32];
  slots[lane] = mine;
  wait(g_warps[f.warp]);
  const uint64_t r = slots[src];
  wait(g_warps[f.warp]);
  return r;
}

//===--- Streams and captures ---------------------------------------------===//

namespace {

int g_device = 0;

/// DITC_EMU_VERBOSE=1: captures and graph launches say so on stderr (what
/// model-emu.test checks the graph and no-graph paths by).
bool verbose() {
  static const bool v = [] {
    const char *e = getenv("DITC_EMU_VERBOSE");
    return e && *e && strcmp(e, "0") != 0;
  }();
  return v;
}

std::vector<cudaStream_t> g_streams; // created, not destroyed

/// A call that is illegal during a strict capture (not relaxed mode; the
/// emulation has one thread, so thread-local and global modes are alike):
/// every such capture is invalidated and the call fails, as on a GPU.
cudaError_t unsafe_call() {
  bool any = false;
  for (cudaStream_t s : g_streams)
    if (s->capturing && s->mode != cudaStreamCaptureModeRelaxed) {
      s->invalidated = true;
      any = true;
    }
  return any ? cudaErrorStreamCaptureUnsupported : cudaSuccess;
}

bool known_stream(cudaStream_t s) {
  for (cudaStream_t t : g_streams)
    if (t == s)
      return true;
  return false;
}

} // namespace

/// The stream whose capture `stream`'s work goes to, or null.
cudaStream_t capture_of(cudaStream_t stream) {
  if (!stream)
    return nullptr;
  if (stream->capturing)
    return stream;
  return stream->joined && stream->joined->capturing ? stream->joined : nullptr;
}

cudaError_t enqueue(cudaStream_t stream, std::function<void()> op) {
  if (!stream) {
    // The legacy default stream waits for every blocking stream: work on it
    // while one is captured would join the capture (an error on a GPU).
    bool implicit = false;
    for (cudaStream_t s : g_streams)
      if (s->capturing && !(s->flags & cudaStreamNonBlocking) &&
          s->mode != cudaStreamCaptureModeRelaxed) {
        s->invalidated = true;
        implicit = true;
      }
    if (implicit)
      return cudaErrorStreamCaptureImplicit;
    op();
    return cudaSuccess;
  }
  if (cudaStream_t cap = capture_of(stream)) {
    if (cap != stream)
      stream->unjoined = true;
    if (!cap->invalidated)
      cap->ops.push_back(std::move(op));
    return cap->invalidated ? cudaErrorStreamCaptureInvalidated : cudaSuccess;
  }
  op();
  return cudaSuccess;
}

void launch_grid(dim3 grid, dim3 block, std::function<void()> body) {
  if (!valid_config(grid, block)) {
    g_last_error = cudaErrorInvalidConfiguration;
    return;
  }
  cudaStream_t stream = static_cast<cudaStream_t>(ditc_cu_get_stream());
  const cudaError_t e = enqueue(stream, [grid, block, body = std::move(body)] {
    run_grid(grid, block, body);
  });
  if (e != cudaSuccess)
    g_last_error = e;
}

} // namespace ditc_emu

using ditc_emu::enqueue;

cudaError_t cudaGetLastError() {
  const cudaError_t e = ditc_emu::g_last_error;
  ditc_emu::g_last_error = cudaSuccess;
  return e;
}
cudaError_t cudaPeekAtLastError() { return ditc_emu::g_last_error; }

const char *cudaGetErrorString(cudaError_t err) {
  switch (err) {
  case cudaSuccess:
    return "no error";
  case cudaErrorInvalidValue:
    return "invalid argument";
  case cudaErrorMemoryAllocation:
    return "out of memory";
  case cudaErrorInvalidConfiguration:
    return "invalid configuration argument";
  case cudaErrorNoDevice:
    return "no CUDA-capable device is detected";
  case cudaErrorInvalidDevice:
    return "invalid device ordinal";
  case cudaErrorInvalidResourceHandle:
    return "invalid resource handle";
  case cudaErrorIllegalState:
    return "the operation cannot be performed in the present state";
  case cudaErrorNotReady:
    return "device not ready";
  case cudaErrorStreamCaptureUnsupported:
    return "operation not permitted when stream is capturing";
  case cudaErrorStreamCaptureInvalidated:
    return "operation failed due to a previous error during capture";
  case cudaErrorStreamCaptureImplicit:
    return "operation would make the legacy stream depend on a capturing "
           "blocking stream";
  case cudaErrorCapturedEvent:
    return "operation not permitted on an event last recorded in a "
           "capturing stream";
  }
  return "unknown error";
}
const char *cudaGetErrorName(cudaError_t err) {
  switch (err) {
  case cudaSuccess:
    return "cudaSuccess";
  case cudaErrorInvalidValue:
    return "cudaErrorInvalidValue";
  case cudaErrorMemoryAllocation:
    return "cudaErrorMemoryAllocation";
  case cudaErrorInvalidConfiguration:
    return "cudaErrorInvalidConfiguration";
  case cudaErrorNoDevice:
    return "cudaErrorNoDevice";
  case cudaErrorInvalidDevice:
    return "cudaErrorInvalidDevice";
  case cudaErrorInvalidResourceHandle:
    return "cudaErrorInvalidResourceHandle";
  case cudaErrorIllegalState:
    return "cudaErrorIllegalState";
  case cudaErrorNotReady:
    return "cudaErrorNotReady";
  case cudaErrorStreamCaptureUnsupported:
    return "cudaErrorStreamCaptureUnsupported";
  case cudaErrorStreamCaptureInvalidated:
    return "cudaErrorStreamCaptureInvalidated";
  case cudaErrorStreamCaptureImplicit:
    return "cudaErrorStreamCaptureImplicit";
  case cudaErrorCapturedEvent:
    return "cudaErrorCapturedEvent";
  }
  return "cudaErrorUnknown";
}

// The emulated machine, shaped by the environment for the error tests
// (model-emu-errors.test): DITC_EMU_DEVICES (GPUs, default 1),
// DITC_EMU_SM (compute capability, default 90), DITC_EMU_FREE_MIB (free
// memory, default 8192 of 8192).
static long emuEnv(const char *name, long fallback) {
  const char *v = getenv(name);
  if (!v || !*v)
    return fallback;
  char *end = nullptr;
  long n = strtol(v, &end, 10);
  return end != v && !*end && n >= 0 ? n : fallback;
}

cudaError_t cudaGetDeviceCount(int *count) {
  *count = (int)emuEnv("DITC_EMU_DEVICES", 1);
  return *count ? cudaSuccess : cudaErrorNoDevice;
}
cudaError_t cudaSetDevice(int device) {
  if (device != 0)
    return cudaErrorInvalidDevice;
  ditc_emu::g_device = device;
  return cudaSuccess;
}
cudaError_t cudaGetDevice(int *device) {
  *device = ditc_emu::g_device;
  return cudaSuccess;
}
cudaError_t cudaGetDeviceProperties(cudaDeviceProp *prop, int device) {
  if (device != 0)
    return cudaErrorInvalidDevice;
  memset(prop, 0, sizeof *prop);
  snprintf(prop->name, sizeof prop->name, "ditc emulated GPU");
  prop->totalGlobalMem = size_t(8) << 30;
  prop->sharedMemPerBlock = 48 * 1024;
  prop->sharedMemPerBlockOptin = 227 * 1024;
  prop->regsPerBlock = 65536;
  prop->warpSize = 32;
  prop->maxThreadsPerBlock = 1024;
  prop->maxThreadsDim[0] = 1024;
  prop->maxThreadsDim[1] = 1024;
  prop->maxThreadsDim[2] = 64;
  prop->maxGridSize[0] = 0x7fffffff;
  prop->maxGridSize[1] = 65535;
  prop->maxGridSize[2] = 65535;
  prop->major = (int)(emuEnv("DITC_EMU_SM", 90) / 10);
  prop->minor = (int)(emuEnv("DITC_EMU_SM", 90) % 10);
  prop->multiProcessorCount = 132;
  return cudaSuccess;
}
cudaError_t cudaMemGetInfo(size_t *free_bytes, size_t *total_bytes) {
  *free_bytes = size_t(emuEnv("DITC_EMU_FREE_MIB", 8192)) << 20;
  *total_bytes = size_t(8) << 30;
  return cudaSuccess;
}

//===--- Memory -----------------------------------------------------------===//

cudaError_t cudaMalloc(void **p, size_t bytes) {
  if (cudaError_t e = ditc_emu::unsafe_call()) {
    *p = nullptr;
    return e;
  }
  const size_t rounded = (bytes + 255) / 256 * 256;
  *p = aligned_alloc(256, rounded ? rounded : 256);
  if (!*p)
    return cudaErrorMemoryAllocation;
  // A GPU's fresh memory is whatever was there: here all bits set (NaN as
  // f32, f16 or bf16; -1 as an integer), so that reading what no kernel or
  // copy wrote shows.
  memset(*p, 0xff, rounded ? rounded : 256);
  return cudaSuccess;
}
cudaError_t cudaFree(void *p) {
  if (cudaError_t e = ditc_emu::unsafe_call())
    return e;
  free(p);
  return cudaSuccess;
}
cudaError_t cudaHostAlloc(void **p, size_t bytes, unsigned int) {
  if (cudaError_t e = ditc_emu::unsafe_call()) {
    *p = nullptr;
    return e;
  }
  const size_t rounded = (bytes + 4095) / 4096 * 4096;
  *p = aligned_alloc(4096, rounded ? rounded : 4096);
  if (!*p)
    return cudaErrorMemoryAllocation;
  memset(*p, 0xff, rounded ? rounded : 4096); // as cudaMalloc's
  return cudaSuccess;
}
cudaError_t cudaMallocHost(void **p, size_t bytes) {
  return cudaHostAlloc(p, bytes, cudaHostAllocDefault);
}
cudaError_t cudaFreeHost(void *p) {
  if (cudaError_t e = ditc_emu::unsafe_call())
    return e;
  free(p);
  return cudaSuccess;
}
cudaError_t cudaMemcpy(void *dst, const void *src, size_t bytes,
                       cudaMemcpyKind) {
  if (cudaError_t e = ditc_emu::unsafe_call())
    return e;
  if (bytes)
    memmove(dst, src, bytes);
  return cudaSuccess;
}
cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t bytes,
                            cudaMemcpyKind, cudaStream_t stream) {
  return enqueue(stream, [dst, src, bytes] {
    if (bytes)
      memmove(dst, src, bytes);
  });
}
cudaError_t cudaMemset(void *p, int value, size_t bytes) {
  if (cudaError_t e = ditc_emu::unsafe_call())
    return e;
  if (bytes)
    memset(p, value, bytes);
  return cudaSuccess;
}
cudaError_t cudaMemsetAsync(void *p, int value, size_t bytes,
                            cudaStream_t stream) {
  return enqueue(stream, [p, value, bytes] {
    if (bytes)
      memset(p, value, bytes);
  });
}

//===--- Streams ----------------------------------------------------------===//

cudaError_t cudaDeviceSynchronize() { return ditc_emu::unsafe_call(); }
cudaError_t cudaStreamCreate(cudaStream_t *stream) {
  return cudaStreamCreateWithFlags(stream, cudaStreamDefault);
}
cudaError_t cudaStreamCreateWithFlags(cudaStream_t *stream,
                                      unsigned int flags) {
  *stream = new CUstream_st;
  (*stream)->flags = flags;
  ditc_emu::g_streams.push_back(*stream);
  return cudaSuccess;
}
cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  if (!stream)
    return cudaSuccess;
  auto &all = ditc_emu::g_streams;
  for (size_t i = 0; i < all.size(); ++i)
    if (all[i] == stream) {
      all.erase(all.begin() + i);
      delete stream;
      return cudaSuccess;
    }
  return cudaErrorInvalidResourceHandle;
}
cudaError_t cudaStreamSynchronize(cudaStream_t stream) {
  // The work is done already; what is checked is whether a GPU would allow
  // the wait: not on a stream being captured (strict mode or not), not on
  // the legacy stream during a strict capture.
  if (!stream)
    return ditc_emu::unsafe_call();
  if (!ditc_emu::known_stream(stream))
    return cudaErrorInvalidResourceHandle;
  if (stream->capturing) {
    stream->invalidated = true;
    return cudaErrorStreamCaptureUnsupported;
  }
  return cudaSuccess;
}

//===--- Events -----------------------------------------------------------===//

cudaError_t cudaEventCreate(cudaEvent_t *event) {
  return cudaEventCreateWithFlags(event, cudaEventDefault);
}
cudaError_t cudaEventCreateWithFlags(cudaEvent_t *event, unsigned int flags) {
  *event = new CUevent_st;
  (*event)->flags = flags;
  return cudaSuccess;
}
cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream) {
  if (!event)
    return cudaErrorInvalidResourceHandle;
  cudaStream_t capture = ditc_emu::capture_of(stream);
  const cudaError_t e = enqueue(stream, [event] {
    event->recorded = true;
    event->time = std::chrono::steady_clock::now();
  });
  if (e == cudaSuccess) {
    event->captured = capture != nullptr;
    event->capture = capture;
    event->on = stream;
  }
  return e;
}
cudaError_t cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t event,
                                unsigned int) {
  if (!event || (stream && !ditc_emu::known_stream(stream)))
    return cudaErrorInvalidResourceHandle;
  cudaStream_t origin = event->captured ? event->capture : nullptr;
  if (!origin || !origin->capturing)
    return cudaSuccess; // outside a capture the work is done already
  if (!stream)
    return ditc_emu::unsafe_call(); // the legacy stream cannot join
  cudaStream_t mine = ditc_emu::capture_of(stream);
  if (!mine) {
    stream->joined = origin; // a fork
    stream->unjoined = false;
  } else if (mine != origin) {
    return cudaErrorInvalidValue; // two captures do not mix
  }
  // Waiting for what a forked stream recorded joins it back.
  if (event->on && event->on != stream && event->on->joined == origin &&
      !event->on->capturing)
    event->on->unjoined = false;
  return cudaSuccess;
}
cudaError_t cudaEventSynchronize(cudaEvent_t event) {
  if (!event)
    return cudaErrorInvalidResourceHandle;
  return event->captured ? cudaErrorCapturedEvent : cudaSuccess;
}
cudaError_t cudaEventQuery(cudaEvent_t event) {
  return cudaEventSynchronize(event);
}
cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t start,
                                 cudaEvent_t end) {
  if (!start || !end || !start->recorded || !end->recorded ||
      ((start->flags | end->flags) & cudaEventDisableTiming))
    return cudaErrorInvalidResourceHandle;
  *ms =
      std::chrono::duration<float, std::milli>(end->time - start->time).count();
  return cudaSuccess;
}
cudaError_t cudaEventDestroy(cudaEvent_t event) {
  delete event;
  return cudaSuccess;
}

//===--- Captures and graphs ----------------------------------------------===//

cudaError_t cudaStreamBeginCapture(cudaStream_t stream,
                                   cudaStreamCaptureMode mode) {
  if (!stream)
    return cudaErrorStreamCaptureUnsupported; // not the legacy stream
  if (!ditc_emu::known_stream(stream))
    return cudaErrorInvalidResourceHandle;
  if (stream->capturing)
    return cudaErrorIllegalState;
  stream->capturing = true;
  stream->invalidated = false;
  stream->mode = mode;
  stream->ops.clear();
  return cudaSuccess;
}
cudaError_t cudaStreamEndCapture(cudaStream_t stream, cudaGraph_t *graph) {
  *graph = nullptr;
  if (!stream || !ditc_emu::known_stream(stream))
    return cudaErrorInvalidResourceHandle;
  if (!stream->capturing)
    return cudaErrorIllegalState;
  stream->capturing = false;
  std::vector<std::function<void()>> ops = std::move(stream->ops);
  stream->ops.clear();
  bool unjoined = false;
  for (cudaStream_t s : ditc_emu::g_streams)
    if (s->joined == stream) {
      unjoined = unjoined || s->unjoined;
      s->joined = nullptr;
      s->unjoined = false;
    }
  if (unjoined && !stream->invalidated) {
    stream->invalidated = false;
    return cudaErrorStreamCaptureUnjoined;
  }
  if (stream->invalidated) {
    stream->invalidated = false;
    return cudaErrorStreamCaptureInvalidated;
  }
  *graph = new CUgraph_st;
  (*graph)->ops = std::move(ops);
  if (ditc_emu::verbose())
    fprintf(stderr, "ditc emu: captured a graph of %zu operations\n",
            (*graph)->ops.size());
  return cudaSuccess;
}
cudaError_t cudaStreamIsCapturing(cudaStream_t stream,
                                  cudaStreamCaptureStatus *status) {
  if (!stream) { // the legacy stream: implicitly part of a strict capture
    *status = cudaStreamCaptureStatusNone;
    for (cudaStream_t s : ditc_emu::g_streams)
      if (s->capturing && !(s->flags & cudaStreamNonBlocking) &&
          s->mode != cudaStreamCaptureModeRelaxed)
        return cudaErrorStreamCaptureImplicit;
    return cudaSuccess;
  }
  if (!ditc_emu::known_stream(stream))
    return cudaErrorInvalidResourceHandle;
  cudaStream_t cap = ditc_emu::capture_of(stream);
  *status = !cap                ? cudaStreamCaptureStatusNone
            : cap->invalidated ? cudaStreamCaptureStatusInvalidated
                               : cudaStreamCaptureStatusActive;
  return cudaSuccess;
}
cudaError_t cudaGraphGetNodes(cudaGraph_t graph, cudaGraphNode_t *nodes,
                              size_t *count) {
  if (!graph || !count)
    return cudaErrorInvalidValue;
  if (!nodes) {
    *count = graph->ops.size();
    return cudaSuccess;
  }
  // Opaque handles: the operations' positions, from 1.
  const size_t n = *count < graph->ops.size() ? *count : graph->ops.size();
  for (size_t i = 0; i < n; ++i)
    nodes[i] = reinterpret_cast<cudaGraphNode_t>(i + 1);
  *count = n;
  return cudaSuccess;
}
cudaError_t cudaGraphInstantiate(cudaGraphExec_t *exec, cudaGraph_t graph,
                                 unsigned long long) {
  if (!exec || !graph)
    return cudaErrorInvalidValue;
  *exec = new CUgraphExec_st;
  (*exec)->ops = graph->ops;
  return cudaSuccess;
}
cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t stream) {
  if (!exec)
    return cudaErrorInvalidResourceHandle;
  if (ditc_emu::verbose())
    fprintf(stderr, "ditc emu: graph launch (%zu operations)\n",
            exec->ops.size());
  // Captured into another capture, the whole graph is one operation there.
  return enqueue(stream, [exec] {
    for (const std::function<void()> &op : exec->ops)
      op();
  });
}
cudaError_t cudaGraphDestroy(cudaGraph_t graph) {
  delete graph;
  return cudaSuccess;
}
cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec) {
  delete exec;
  return cudaSuccess;
}
