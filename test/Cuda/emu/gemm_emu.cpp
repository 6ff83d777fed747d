//===- emu/gemm_emu.cpp - The host emulation's stand-in for cuBLASLt ------===//
//
// runtime/cuda/gemm.cpp runs ditc_cu_linear / ditc_cu_matmul on cuBLASLt,
// dlopen()ed at run time: no part of it can run in the host emulation
// (cuda_runtime.h). This file stands in for it there (libditc_model_cuda_emu.a,
// test/Cuda/model-emu.test): the same three exported functions
// (cuda_runtime_api.h, gemm.h) as plain host loops with what gemm.h promises
// of cuBLASLt:
//  - F32, F16, BF16 operands (kernel_math.h's conversions), f32 products
//    summed in f32 (no TF32), linear's bias added to the f32 sum, its
//    GELU_TANH activation applied to the f32 sum (cuBLASLt's GELU epilogue,
//    when k > 0), the result rounded once to the dtype on the store; other
//    activations as gemm.cpp runs them: ditc_cu_unary over the stored result;
//  - linear: y[m,n] = x[m,k] * W + bias[n], W [k,n], or [n,k] when
//    transpose_w (ditc_kernels.def, as runtime/src/gemm_fallback.cpp reads
//    it); matmul: c[batch..., m, n] = a[batch..., m, k] * b[batch..., k, n],
//    the a / b matrices contiguous row-major at their batch strides
//    (elements, 0 = broadcast), c contiguous;
//  - the call is enqueued on ditc_cu_get_stream()'s stream like a kernel
//    launch (ditc_emu::enqueue: run now, or recorded while that stream is
//    captured into a CUDA graph); the batch shape / stride arrays are host
//    pointers read during the call, so they are copied into the closure;
//  - the argument checks and their messages are gemm.cpp's ("ditc cuda:
//    linear: ...", abort).
// Checked against the CPU kernels (and PyTorch) by model-emu.test's fixtures.
//
//===----------------------------------------------------------------------===//
#include "gemm.h" // cuda_runtime_api.h: the declarations checked here
#include "kernel_math.h"

#include <cuda_runtime.h>

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <array>

namespace {

using ditc_cu::math::bfloat_t;
using ditc_cu::math::half_t;

constexpr int kMaxRank = DITC_RT_MAX_RANK;

// gemm.cpp's argument checks and messages (gemm.h), fatal from stream.cu.
using ditc_cu::fatal;
using ditc_cu::gemm::check_args;
using ditc_cu::gemm::elem_size;

/// One call's problem, by value (what the closure keeps).
struct Problem {
  int32_t dtype = 0;
  int64_t m = 0, k = 0, n = 0;
  bool transpose_w = false;
  int32_t activation = DITC_RT_ACTIVATION_NONE;
  int32_t batch_rank = 0;
  std::array<int64_t, kMaxRank> shape{}, left{}, right{};
  const void *x = nullptr, *w = nullptr, *bias = nullptr;
  void *y = nullptr;
};

/// Whether the emulated cuBLASLt applies the activation (gemm.cpp: the GELU
/// epilogue of a product with k > 0).
bool epilogue(const Problem &p) {
  return p.k > 0 && ditc_cu::gemm::epilogue_gelu(p.activation);
}

template <class T> void gemm_typed(const Problem &p) {
  const T *x = static_cast<const T *>(p.x);
  const T *w = static_cast<const T *>(p.w);
  const T *bias = static_cast<const T *>(p.bias);
  T *y = static_cast<T *>(p.y);
  int64_t batches = 1;
  for (int d = 0; d < p.batch_rank; ++d)
    batches *= p.shape[d];
  // Row-major [k,n] (b, W) or [n,k] (transpose_w W).
  const int64_t wk = p.transpose_w ? 1 : p.n, wn = p.transpose_w ? p.k : 1;
  const bool gelu = epilogue(p);
  for (int64_t bi = 0; bi < batches; ++bi) {
    int64_t lo = 0, ro = 0, rest = bi;
    for (int d = p.batch_rank - 1; d >= 0; --d) {
      const int64_t i = rest % p.shape[d];
      rest /= p.shape[d];
      lo += i * p.left[d];
      ro += i * p.right[d];
    }
    const T *a = x + lo, *b = w + ro;
    T *c = y + bi * p.m * p.n;
    for (int64_t i = 0; i < p.m; ++i)
      for (int64_t j = 0; j < p.n; ++j) {
        float acc = 0.f;
        for (int64_t l = 0; l < p.k; ++l)
          acc += ditc_cu::math::to_f32(a[i * p.k + l]) *
                 ditc_cu::math::to_f32(b[l * wk + j * wn]);
        if (bias)
          acc += ditc_cu::math::to_f32(bias[j]);
        if (gelu)
          acc = ditc_cu::math::gelu_tanh_f(acc);
        c[i * p.n + j] = ditc_cu::math::from_f32<T>(acc);
      }
  }
}

void gemm(const Problem &p) {
  switch (p.dtype) {
  case DITC_RT_F32:
    return gemm_typed<float>(p);
  case DITC_RT_F16:
    return gemm_typed<half_t>(p);
  case DITC_RT_BF16:
    return gemm_typed<bfloat_t>(p);
  }
}

void run(const char *name, const Problem &p) {
  int64_t batches = 1;
  for (int d = 0; d < p.batch_rank; ++d)
    batches *= p.shape[d];
  if (p.m == 0 || p.n == 0 || batches == 0)
    return;
  cudaStream_t stream = static_cast<cudaStream_t>(ditc_cu_get_stream());
  const cudaError_t e = ditc_emu::enqueue(stream, [p] { gemm(p); });
  if (e != cudaSuccess)
    fatal(name, "cannot enqueue the emulated cuBLASLt call: %s (%s)",
          cudaGetErrorString(e), cudaGetErrorName(e));
  if (p.activation != DITC_RT_ACTIVATION_NONE && !epilogue(p))
    ditc_cu_unary(p.activation, p.dtype, p.y, p.y, batches * p.m * p.n);
}

} // namespace

extern "C" {

void ditc_cu_linear(int32_t dtype, const void *x, const void *w,
                    const void *bias, void *y, int64_t m, int64_t k, int64_t n,
                    int32_t transpose_w, int32_t activation) {
  const char *name = "linear";
  check_args(name, dtype, m, k, n, 0, nullptr, nullptr, nullptr);
  ditc_cu::gemm::check_activation(name, activation);
  Problem p;
  p.dtype = dtype;
  p.m = m;
  p.k = k;
  p.n = n;
  p.transpose_w = transpose_w != 0;
  p.activation = activation;
  p.x = x;
  p.w = w;
  p.bias = bias;
  p.y = y;
  run(name, p);
}

void ditc_cu_matmul(int32_t dtype, const void *a, const void *b, void *c,
                    int64_t m, int64_t k, int64_t n, int32_t batch_rank,
                    const int64_t *batch_shape, const int64_t *a_batch_strides,
                    const int64_t *b_batch_strides) {
  const char *name = "matmul";
  check_args(name, dtype, m, k, n, batch_rank, batch_shape, a_batch_strides,
             b_batch_strides);
  Problem p;
  p.dtype = dtype;
  p.m = m;
  p.k = k;
  p.n = n;
  p.batch_rank = batch_rank;
  for (int d = 0; d < batch_rank; ++d) {
    p.shape[d] = batch_shape[d];
    p.left[d] = a_batch_strides[d];
    p.right[d] = b_batch_strides[d];
  }
  p.x = a;
  p.w = b;
  p.y = c;
  run(name, p);
}

// No plans to build: only the arguments are checked, as gemm.cpp does.
void ditc_cu_gemm_prepare(int32_t dtype, int64_t m, int64_t k, int64_t n,
                          int32_t, int32_t, int32_t activation,
                          int32_t batch_rank, const int64_t *batch_shape,
                          const int64_t *a_batch_strides,
                          const int64_t *b_batch_strides) {
  check_args("gemm_prepare", dtype, m, k, n, batch_rank, batch_shape,
             a_batch_strides, b_batch_strides);
  ditc_cu::gemm::check_activation("gemm_prepare", activation);
}

} // extern "C"
