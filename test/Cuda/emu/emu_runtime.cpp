//===- emu/emu_runtime.cpp - Fibers and memory for the host emulation ----===//
//
// See cuda_runtime.h. A block's threads are ucontext fibers run round-robin
// by a scheduler on the launching thread; a fiber runs until it waits at a
// barrier (the block's, for __syncthreads, or its warp's, twice per shuffle)
// or returns. A barrier opens when every fiber of it that has not returned
// has arrived, as on the GPU where exited threads no longer count.
//
//===----------------------------------------------------------------------===//
#include "cuda_runtime.h"

#include <ucontext.h>

#include <memory>
#include <vector>

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

void run_grid(dim3 grid, dim3 block, const std::function<void()> &body) {
  const uint64_t threads = (uint64_t)block.x * block.y * block.z;
  if (threads == 0 || threads > 1024 || block.z > 64 || grid.x == 0 ||
      grid.y == 0 || grid.z == 0 || grid.y > 65535 || grid.z > 65535) {
    g_last_error = cudaErrorInvalidConfiguration;
    return;
  }
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
  for (unsigned bz = 0; bz < grid.z; ++bz)
    for (unsigned by = 0; by < grid.y; ++by)
      for (unsigned bx = 0; bx < grid.x; ++bx) {
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
          for (int i = 0; i < n; ++i) {
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
            fprintf(stderr, "ditc emu: deadlock: %d threads of block "
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

} // namespace ditc_emu

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
  }
  return "cudaErrorUnknown";
}

cudaError_t cudaGetDeviceCount(int *count) {
  *count = 1;
  return cudaSuccess;
}

cudaError_t cudaMalloc(void **p, size_t bytes) {
  const size_t rounded = (bytes + 255) / 256 * 256;
  *p = aligned_alloc(256, rounded ? rounded : 256);
  return *p ? cudaSuccess : cudaErrorMemoryAllocation;
}
cudaError_t cudaFree(void *p) {
  free(p);
  return cudaSuccess;
}
cudaError_t cudaMemcpy(void *dst, const void *src, size_t bytes,
                       cudaMemcpyKind) {
  if (bytes)
    memmove(dst, src, bytes);
  return cudaSuccess;
}
cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t bytes,
                            cudaMemcpyKind kind, cudaStream_t) {
  return cudaMemcpy(dst, src, bytes, kind);
}
cudaError_t cudaMemset(void *p, int value, size_t bytes) {
  if (bytes)
    memset(p, value, bytes);
  return cudaSuccess;
}
cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }
cudaError_t cudaStreamCreate(cudaStream_t *stream) {
  static char token;
  *stream = reinterpret_cast<cudaStream_t>(&token);
  return cudaSuccess;
}
cudaError_t cudaStreamDestroy(cudaStream_t) { return cudaSuccess; }
cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
