//===- emu/cuda_runtime.h - A host stand-in for the CUDA runtime ---------===//
//
// Lets runtime/cuda's kernels run on the CPU, for CudaKernelEmuTests: the
// .cu files are compiled as C++ with -DDITC_CU_EMULATE and this folder first
// on the include path (no CUDA toolkit on it), so this file is their
// <cuda_runtime.h>. common.cuh's launch() then calls ditc_emu::launch
// instead of <<<...>>>, which runs every block of the grid in turn, each of
// its threads a fiber on the calling thread: __syncthreads and the warp
// shuffles switch fibers until the block (or warp) has arrived, so the
// kernels' barriers and shuffles mean what they mean on a GPU. __shared__
// variables are function statics (one block runs at a time). Memory is host
// memory; streams and graphs are not emulated (launches are synchronous).
//
// Device math is the host's (sqrtf, cosf, ... of libm; kernel_math.h's
// software f16 / bf16 conversions): the emulation checks the kernels' logic
// (indexing, broadcasting, tiling, the reductions), not CUDA's libdevice.
//
//===----------------------------------------------------------------------===//
#ifndef DITC_TEST_CUDA_EMU_CUDA_RUNTIME_H
#define DITC_TEST_CUDA_EMU_CUDA_RUNTIME_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <functional>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __grid_constant__
#define __shared__ static

struct uint3 {
  unsigned x, y, z;
};
struct dim3 {
  unsigned x, y, z;
  dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1)
      : x(x_), y(y_), z(z_) {}
};

typedef struct CUstream_st *cudaStream_t;

enum cudaError_t {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorNoDevice = 100,
};

enum cudaMemcpyKind {
  cudaMemcpyHostToHost = 0,
  cudaMemcpyHostToDevice = 1,
  cudaMemcpyDeviceToHost = 2,
  cudaMemcpyDeviceToDevice = 3,
  cudaMemcpyDefault = 4,
};

namespace ditc_emu {

// The current fiber's indices (set by the scheduler before it resumes one).
extern uint3 thread_idx, block_idx;
extern dim3 block_dim, grid_dim;

/// Runs body once per thread of every block of the grid (blocks in turn).
void run_grid(dim3 grid, dim3 block, const std::function<void()> &body);

template <class F> void launch(dim3 grid, dim3 block, F body) {
  run_grid(grid, block, std::function<void()>(body));
}

void block_sync();
/// The calling thread's warp exchanges 8-byte slots: writes its own, waits
/// for the warp, reads lane `src`, waits again.
uint64_t warp_exchange(uint64_t mine, int src);

} // namespace ditc_emu

#define threadIdx (ditc_emu::thread_idx)
#define blockIdx (ditc_emu::block_idx)
#define blockDim (ditc_emu::block_dim)
#define gridDim (ditc_emu::grid_dim)

inline void __syncthreads() { ditc_emu::block_sync(); }

template <class T> inline T __shfl_xor_sync(unsigned, T v, int lane_mask) {
  static_assert(sizeof(T) <= 8, "shuffles move at most 8 bytes");
  uint64_t u = 0;
  memcpy(&u, &v, sizeof(T));
  const int lane = (int)(threadIdx.x + threadIdx.y * blockDim.x +
                         threadIdx.z * blockDim.x * blockDim.y) &
                   31;
  u = ditc_emu::warp_exchange(u, lane ^ lane_mask);
  T r;
  memcpy(&r, &u, sizeof(T));
  return r;
}

[[noreturn]] inline void __trap() {
  fflush(stdout);
  fprintf(stderr, "ditc emu: __trap()\n");
  abort();
}

// The runtime API the launchers and the tests use.
cudaError_t cudaGetLastError();
cudaError_t cudaPeekAtLastError();
const char *cudaGetErrorString(cudaError_t err);
const char *cudaGetErrorName(cudaError_t err);
cudaError_t cudaGetDeviceCount(int *count);
cudaError_t cudaMalloc(void **p, size_t bytes);
template <class T> cudaError_t cudaMalloc(T **p, size_t bytes) {
  return cudaMalloc(reinterpret_cast<void **>(p), bytes);
}
cudaError_t cudaFree(void *p);
cudaError_t cudaMemcpy(void *dst, const void *src, size_t bytes,
                       cudaMemcpyKind kind);
cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t bytes,
                            cudaMemcpyKind kind, cudaStream_t stream = 0);
cudaError_t cudaMemset(void *p, int value, size_t bytes);
cudaError_t cudaDeviceSynchronize();
cudaError_t cudaStreamCreate(cudaStream_t *stream);
cudaError_t cudaStreamDestroy(cudaStream_t stream);
cudaError_t cudaStreamSynchronize(cudaStream_t stream);

#endif // DITC_TEST_CUDA_EMU_CUDA_RUNTIME_H
