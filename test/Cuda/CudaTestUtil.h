//===- CudaTestUtil.h - Helpers of the CUDA kernel tests -----------------===//
//
// CUDA_OK, random data, ulp distances and the f16 / bf16 round trips of the CPU
// runtime (ditc_rt_cast), shared by KernelMathTest.cpp (host only) and
// CudaKernelTest.cpp (GPU or its host emulation).
//
//===----------------------------------------------------------------------===//
#ifndef DITC_TEST_CUDA_CUDATESTUTIL_H
#define DITC_TEST_CUDA_CUDATESTUTIL_H

#include "ditc/runtime/ditc_kernels.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

/// Asserts that a CUDA runtime call succeeded (cuda_runtime.h, or the host
/// emulation's, where it is used).
#define CUDA_OK(expr)                                                          \
  do {                                                                         \
    cudaError_t err_ = (expr);                                                 \
    ASSERT_EQ(err_, cudaSuccess) << #expr << ": " << cudaGetErrorString(err_); \
  } while (0)

namespace ditc_cuda_test {

inline std::vector<float> randomFloats(size_t n, uint32_t seed, float lo,
                                       float hi) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (auto &x : v) {
    do
      x = dist(rng);
    while (x == 0.f);
  }
  return v;
}

template <class T>
std::vector<T> randomInts(size_t n, uint32_t seed, int64_t lo, int64_t hi) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int64_t> dist(lo, hi);
  std::vector<T> v(n);
  for (auto &x : v)
    x = (T)dist(rng);
  return v;
}

inline uint32_t bitsOf(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

/// Floats in order as integers: ulp distance = difference.
inline int64_t orderedBits(float f) {
  const int32_t i = (int32_t)bitsOf(f);
  return i < 0 ? (int64_t)INT32_MIN - i : (int64_t)i;
}
inline int64_t ulpDistance(float a, float b) {
  if (std::isnan(a) || std::isnan(b))
    return (std::isnan(a) && std::isnan(b)) ? 0 : INT64_MAX;
  if (a == b)
    return 0; // +0 and -0 too
  const int64_t d = orderedBits(a) - orderedBits(b);
  return d < 0 ? -d : d;
}
/// The spacing of floats at |x|.
inline float ulpOf(float x) {
  x = std::fabs(x);
  if (!std::isfinite(x))
    return 0.f;
  return std::nextafter(x, INFINITY) - x;
}

/// f16 / bf16 halves (bits) in order as integers.
inline int64_t orderedHalf(uint16_t h) {
  const int32_t mag = h & 0x7fff;
  return (h & 0x8000) ? -mag : mag;
}
inline bool halfIsNan(int32_t dtype, uint16_t h) {
  return dtype == DITC_RT_BF16 ? (h & 0x7fff) > 0x7f80
                               : (h & 0x7fff) > 0x7c00;
}

/// x rounded to `dtype` (F16 / BF16) by the CPU runtime, as bits.
inline std::vector<uint16_t> toHalf(int32_t dtype,
                                    const std::vector<float> &x) {
  std::vector<uint16_t> h(x.size());
  ditc_rt_cast(DITC_RT_F32, dtype, x.data(), h.data(), (int64_t)x.size());
  return h;
}
inline std::vector<float> fromHalf(int32_t dtype,
                                   const std::vector<uint16_t> &h) {
  std::vector<float> x(h.size());
  ditc_rt_cast(dtype, DITC_RT_F32, h.data(), x.data(), (int64_t)h.size());
  return x;
}

inline const char *dtypeName(int32_t dtype) {
  switch (dtype) {
  case DITC_RT_F32:
    return "F32";
  case DITC_RT_I64:
    return "I64";
  case DITC_RT_I32:
    return "I32";
  case DITC_RT_B8:
    return "B8";
  case DITC_RT_F16:
    return "F16";
  case DITC_RT_BF16:
    return "BF16";
  case DITC_RT_F64:
    return "F64";
  }
  return "?";
}

inline int64_t elemSize(int32_t dtype) { return ditc_rt_dtype_bytes(dtype); }

/// Floats that stress conversions: signed zeros, subnormals of f32 and f16,
/// the f16 / bf16 overflow and rounding boundaries, integer limits, inf,
/// NaN.
inline std::vector<float> specialFloats() {
  std::vector<float> v = {0.f,
                          -0.f,
                          1.f,
                          -1.f,
                          0.5f,
                          -0.5f,
                          1.5f,
                          2.5f,
                          -2.5f,
                          65504.f,
                          65519.f,
                          65520.f,
                          65536.f,
                          -65520.f,
                          6.1035156e-05f,  // 2^-14, smallest normal f16
                          5.9604645e-08f,  // 2^-24, smallest f16
                          2.9802322e-08f,  // 2^-25: ties to 0
                          2.9802326e-08f,  // just above: to 2^-24
                          8.940697e-08f,   // 1.5 * 2^-24: ties to even
                          1e-40f,          // f32 subnormal
                          -1e-45f,
                          1.17549435e-38f, // FLT_MIN
                          3.3895314e38f,   // rounds to bf16 inf
                          3.4028235e38f,   // FLT_MAX
                          2147483520.f,
                          2147483648.f,
                          -2147483648.f,
                          -2147483904.f,
                          9.2233715e18f,
                          9.223372e18f,
                          -9.223372e18f,
                          -9.2233730e18f,
                          1e20f,
                          -1e20f,
                          1.00390625f, // 1 + 2^-8: a bf16 tie
                          1.01171875f, // 1 + 3 * 2^-8: a bf16 tie, odd
                          1.00048828125f, // 1 + 2^-11: an f16 tie
                          INFINITY,
                          -INFINITY,
                          NAN,
                          -NAN};
  return v;
}

} // namespace ditc_cuda_test

#endif // DITC_TEST_CUDA_CUDATESTUTIL_H
