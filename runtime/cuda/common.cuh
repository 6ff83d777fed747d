//===- common.cuh - Launching, strided indexing, reductions (CUDA) -----===//
//
// Included by every .cu of runtime/cuda (nothing here is exported: the
// library is built with hidden visibility; only the ditc_cu_* launchers of
// cuda_runtime_api.h are default).
//
//===----------------------------------------------------------------------===//
#ifndef DITC_RUNTIME_CUDA_COMMON_CUH
#define DITC_RUNTIME_CUDA_COMMON_CUH

#include "cuda_runtime_api.h"
#include "kernel_math.h"

#include <cuda_runtime.h>

#include <stdint.h>

#include <type_traits>

namespace ditc_cu {

using math::bfloat_t;
using math::bool8;
using math::half_t;

/// Prints "ditc cuda: <kernel>: <message>" to stderr and aborts.
[[noreturn]] void fatal(const char *kernel, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/// After a launch: aborts (naming the kernel) when cudaGetLastError() has
/// an error.
void check_launch(const char *kernel);

/// The calling thread's stream (ditc_cu_set_stream).
inline cudaStream_t stream() {
  return static_cast<cudaStream_t>(ditc_cu_get_stream());
}

constexpr int kMaxRank = DITC_RT_MAX_RANK;
constexpr int kThreads = 256;            // elementwise block size
constexpr int64_t kMaxBlocks = 1 << 16;  // grid-stride beyond this

/// kernel<<<grid, block, 0, stream()>>>(args...): every launch goes through
/// here (test/Cuda's emulation build runs the kernels on the host instead).
template <class... P, class... A>
inline void launch(void (*kernel)(P...), dim3 grid, dim3 block, A... args) {
#ifdef DITC_CU_EMULATE
  ditc_emu::launch(grid, block, [=] { kernel(args...); });
#else
  kernel<<<grid, block, 0, stream()>>>(args...);
#endif
}

/// Blocks for n work items at `per_block` items a block (at least 1).
inline unsigned blocks_for(int64_t n, int64_t per_block) {
  int64_t b = (n + per_block - 1) / per_block;
  if (b < 1)
    b = 1;
  return (unsigned)(b < kMaxBlocks ? b : kMaxBlocks);
}

/// Calls f(T{}) with T the storage type of a float dtype (F32, F16, BF16).
template <class F>
void dispatch_float(const char *kernel, int32_t dtype, F &&f) {
  switch (dtype) {
  case DITC_RT_F32:
    return f(float{});
  case DITC_RT_F16:
    return f(half_t{});
  case DITC_RT_BF16:
    return f(bfloat_t{});
  }
  fatal(kernel, "dtype %d is not F32, F16 or BF16", (int)dtype);
}

//===--- Grid-stride loops ------------------------------------------------===//

__device__ __forceinline__ int64_t global_thread() {
  return (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
}
__device__ __forceinline__ int64_t global_stride() {
  return (int64_t)gridDim.x * blockDim.x;
}

/// a / b and a % b for 0 <= a, 0 < b: a 32-bit division when both fit.
__device__ __forceinline__ int64_t divmod(int64_t a, int64_t b, int64_t &r) {
  if ((((uint64_t)a | (uint64_t)b) >> 32) == 0) {
    const uint32_t q = (uint32_t)a / (uint32_t)b;
    r = (int64_t)((uint32_t)a - q * (uint32_t)b);
    return q;
  }
  const int64_t q = a / b;
  r = a - q * b;
  return q;
}

//===--- Strided operands -------------------------------------------------===//

/// N operands over one shape after dropping size-1 dims and merging dims
/// that are contiguous with each other in every operand (rank >= 1).
/// Passed to kernels by value (__grid_constant__: read in place).
/// R: the most dims it holds (strided_copy adds one for the bytes of an
/// element).
template <int N, int R = kMaxRank> struct Strided {
  int32_t rank;
  int64_t total;
  int64_t shape[R];
  int64_t stride[N][R];
};

/// Host: the collapsed form of `shape` (rank dims) with N stride arrays.
template <int N, int R = kMaxRank>
Strided<N, R> make_strided(const char *kernel, int32_t rank,
                           const int64_t *shape,
                           const int64_t *const strides[N]) {
  if (rank < 0 || rank > R)
    fatal(kernel, "rank %d is outside [0, %d]", (int)rank, R);
  Strided<N, R> s;
  s.rank = 0;
  s.total = 1;
  for (int d = 0; d < rank; ++d) {
    if (shape[d] < 0)
      fatal(kernel, "negative dimension %lld", (long long)shape[d]);
    s.total *= shape[d];
  }
  for (int d = 0; d < rank; ++d) {
    if (shape[d] == 1)
      continue;
    const int r = s.rank;
    if (r > 0) {
      bool merge = true;
      for (int o = 0; o < N; ++o)
        merge = merge && s.stride[o][r - 1] == shape[d] * strides[o][d];
      if (merge) {
        s.shape[r - 1] *= shape[d];
        for (int o = 0; o < N; ++o)
          s.stride[o][r - 1] = strides[o][d];
        continue;
      }
    }
    s.shape[r] = shape[d];
    for (int o = 0; o < N; ++o)
      s.stride[o][r] = strides[o][d];
    ++s.rank;
  }
  if (s.rank == 0) {
    s.rank = 1;
    s.shape[0] = 1;
    for (int o = 0; o < N; ++o)
      s.stride[o][0] = 0;
  }
  return s;
}

/// Row-major strides of a dense `shape`.
inline void contiguous_strides(const int64_t *shape, int32_t rank,
                               int64_t *st) {
  int64_t s = 1;
  for (int32_t d = rank - 1; d >= 0; --d) {
    st[d] = s;
    s *= shape[d];
  }
}

/// Device: the element offsets of the first K operands at linear index i.
template <int K, int N, int R>
__device__ __forceinline__ void strided_offsets(const Strided<N, R> &s,
                                                int64_t i, int64_t (&off)[K]) {
  static_assert(K <= N, "more offsets than operands");
#pragma unroll
  for (int o = 0; o < K; ++o)
    off[o] = 0;
  for (int d = s.rank - 1; d > 0; --d) {
    int64_t c;
    i = divmod(i, s.shape[d], c);
#pragma unroll
    for (int o = 0; o < K; ++o)
      off[o] += c * s.stride[o][d];
  }
#pragma unroll
  for (int o = 0; o < K; ++o)
    off[o] += i * s.stride[o][0];
}

/// Elements an elementwise thread handles one after another along the
/// innermost (collapsed) dimension: kRun where it divides that dimension,
/// else 1. The offsets cost a division per outer dimension; a run computes
/// them once and steps along the innermost strides (0 for an operand that
/// broadcasts there).
constexpr int kRun = 4;
template <int N, int R> inline int run_length(const Strided<N, R> &s) {
  return s.shape[s.rank - 1] % kRun == 0 ? kRun : 1;
}

/// Device, grid-stride: f(i, off) for every linear index i of s, off the
/// element offsets of its first K operands there, `run` (run_length(s))
/// consecutive indices per step of a thread; Runs false: one (run must be
/// 1; a kernel whose element op is heavy, as 64-bit integer division,
/// spills registers with runs). Launch blocks_for(s.total / run, ...)
/// blocks.
template <int K, bool Runs = true, int N, int R, class F>
__device__ __forceinline__ void for_each_element(const Strided<N, R> &s,
                                                 int run_arg, F &&f) {
  const int run = Runs ? run_arg : 1;
  const int last = s.rank - 1;
  const int64_t runs = s.total / run;
  for (int64_t g = global_thread(); g < runs; g += global_stride()) {
    int64_t off[K];
    strided_offsets<K>(s, g * run, off);
    for (int v = 0; v < run; ++v) {
      f(g * run + v, off);
#pragma unroll
      for (int k = 0; k < K; ++k)
        off[k] += s.stride[k][last];
    }
  }
}

//===--- Reductions over a warp or a block --------------------------------===//

__device__ __forceinline__ float shfl(float v, int o) {
  return __shfl_xor_sync(0xffffffffu, v, o);
}
__device__ __forceinline__ int64_t shfl(int64_t v, int o) {
  return (int64_t)__shfl_xor_sync(0xffffffffu, (long long)v, o);
}
__device__ __forceinline__ double shfl(double v, int o) {
  return __shfl_xor_sync(0xffffffffu, v, o);
}
__device__ __forceinline__ math::MeanM2 shfl(math::MeanM2 v, int o) {
  return math::MeanM2{shfl(v.n, o), shfl(v.mean, o), shfl(v.m2, o)};
}
__device__ __forceinline__ math::MaxSum shfl(math::MaxSum v, int o) {
  return math::MaxSum{shfl(v.m, o), shfl(v.s, o)};
}

/// Butterfly over a warp; the lower lane's value is always the left
/// operand, so all lanes compute the same combines.
template <class T, class C>
__device__ __forceinline__ T warp_reduce(T v, C comb) {
  const int lane = threadIdx.x & 31;
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) {
    const T other = shfl(v, o);
    v = (lane & o) ? comb(other, v) : comb(v, other);
  }
  return v;
}

/// The combine over the thread's group (G == 32: its warp; else the block,
/// which every thread of the block must reach). smem: 32 entries.
template <class T, class C>
__device__ __forceinline__ T group_reduce(T v, C comb, T identity, int G,
                                          T *smem) {
  v = warp_reduce(v, comb);
  if (G <= 32)
    return v;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  __syncthreads(); // an earlier row's readers are done with smem
  if (lane == 0)
    smem[warp] = v;
  __syncthreads();
  v = lane < (int)(blockDim.x >> 5) ? smem[lane] : identity;
  return warp_reduce(v, comb);
}

} // namespace ditc_cu

#endif // DITC_RUNTIME_CUDA_COMMON_CUH
