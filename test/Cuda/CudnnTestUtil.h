//===- CudnnTestUtil.h - What the cuDNN tests share ----------------------===//
//
// The host tests (CudnnSdpaTest.cpp, CudnnConvTest.cpp: CudaCudnnHostTests):
// EXPECT_TAKEN / EXPECT_REFUSED on a call's eligibility (sdpa::ineligible
// or conv::ineligible, found by the call's type). The GPU tests
// (CudnnSdpaGpuTest.cpp, CudnnConvGpuTest.cpp: ditc-cuda-cudnn-tests): an
// assertion on a CUDA call, a device buffer freed at scope exit, and the
// errors of a result against a reference.
//
//===----------------------------------------------------------------------===//
#ifndef DITC_TEST_CUDA_CUDNNTESTUTIL_H
#define DITC_TEST_CUDA_CUDNNTESTUTIL_H

#include "CudaTestUtil.h" // CUDA_OK

#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#define EXPECT_TAKEN(c)                                                        \
  EXPECT_EQ(ineligible(c), nullptr) << ditc_cuda_test::whyRefused(c)
#define EXPECT_REFUSED(c, text)                                                \
  do {                                                                         \
    const char *r_ = ineligible(c);                                            \
    ASSERT_NE(r_, nullptr);                                                    \
    EXPECT_NE(std::string(r_).find(text), std::string::npos) << r_;            \
  } while (0)

namespace ditc_cuda_test {

/// Why a cuDNN kind refuses call c, or "(eligible)".
template <class Call> std::string whyRefused(const Call &c) {
  const char *r = ineligible(c);
  return r ? r : "(eligible)";
}

/// cudaMalloc'd bytes (p null when it failed), freed at scope exit.
struct Device {
  void *p = nullptr;
  explicit Device(size_t bytes) { (void)cudaMalloc(&p, bytes); }
  ~Device() { cudaFree(p); }
  Device(const Device &) = delete;
  Device &operator=(const Device &) = delete;
};

/// |got - want|: the largest (infinite where either is NaN), the relative
/// L2 norm, and the largest |want|.
struct Errors {
  double max_abs = 0, rel_l2 = 0, max_want = 0;
};

inline Errors compare(const std::vector<float> &got, const std::vector<float> &want) {
  Errors e;
  double num = 0, den = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    const double d = (double)got[i] - (double)want[i];
    if (!(std::fabs(d) <= e.max_abs)) // NaN included
      e.max_abs = std::isnan(d) ? INFINITY : std::fabs(d);
    num += d * d;
    den += (double)want[i] * want[i];
    e.max_want = std::max(e.max_want, std::fabs((double)want[i]));
  }
  e.rel_l2 = den > 0 ? std::sqrt(num / den) : std::sqrt(num);
  return e;
}

} // namespace ditc_cuda_test

#endif // DITC_TEST_CUDA_CUDNNTESTUTIL_H
