//===- KernelTestUtil.h - Shared helpers for the runtime kernel tests ----===//
//
// Every kernel is checked against a naive reference written here, in plain
// loops with double accumulation, on seeded random data. Tests that depend
// on the CPU code path run once per ditc_rt_isa (skipped where the CPU or
// the build lacks it).
//
//===----------------------------------------------------------------------===//
#ifndef DITC_TEST_RUNTIME_KERNELTESTUTIL_H
#define DITC_TEST_RUNTIME_KERNELTESTUTIL_H

#include "ditc/runtime/ditc_kernels.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace ditc_test {

inline std::vector<float> randomFloats(size_t n, uint32_t seed, float lo = -1.f,
                                       float hi = 1.f) {
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

inline std::vector<uint8_t> randomBools(size_t n, uint32_t seed,
                                        double p_true = 0.5) {
  std::mt19937 rng(seed);
  std::bernoulli_distribution dist(p_true);
  std::vector<uint8_t> v(n);
  for (auto &x : v)
    x = dist(rng) ? 1 : 0;
  return v;
}

/// sqrt(sum (got - want)^2 / sum want^2); 0 when both are empty or zero.
template <class A, class B>
double relL2(const std::vector<A> &got, const std::vector<B> &want) {
  EXPECT_EQ(got.size(), want.size());
  double num = 0, den = 0;
  for (size_t i = 0; i < got.size() && i < want.size(); ++i) {
    double d = (double)got[i] - (double)want[i];
    num += d * d;
    den += (double)want[i] * (double)want[i];
  }
  if (den == 0)
    return std::sqrt(num);
  return std::sqrt(num / den);
}

/// IEEE half and bfloat16 from a double, rounded to nearest even once, and
/// back (exact): references written apart from the runtime's conversions.
uint16_t refToF16(double f);
double refF16ToF64(uint16_t h);
uint16_t refToBF16(double f);
double refBF16ToF64(uint16_t h);

/// The comparison ops of ditc_rt_binary, and their reference on T.
inline bool isComparison(int op) {
  return op >= DITC_RT_BINARY_EQUAL && op <= DITC_RT_BINARY_NOT_EQUAL;
}
template <class T> inline uint8_t refCompare(int op, T a, T b) {
  switch (op) {
  case DITC_RT_BINARY_EQUAL:
    return a == b;
  case DITC_RT_BINARY_GREATER:
    return a > b;
  case DITC_RT_BINARY_LESS:
    return a < b;
  case DITC_RT_BINARY_GREATER_EQUAL:
    return a >= b;
  case DITC_RT_BINARY_LESS_EQUAL:
    return a <= b;
  case DITC_RT_BINARY_NOT_EQUAL:
    return a != b;
  }
  ADD_FAILURE() << "no reference for op " << op;
  return 0;
}

/// Keeps the largest relative L2 error per test (over ISAs), printed at the
/// end of the run.
void recordError(double err);

#define EXPECT_REL_L2(got, want, tol)                                          \
  do {                                                                         \
    double err_ = ::ditc_test::relL2(got, want);                               \
    ::ditc_test::recordError(err_);                                            \
    EXPECT_LT(err_, tol) << "relative L2 error";                               \
  } while (0)

/// Contiguous strides of a shape, in elements.
inline std::vector<int64_t>
contiguousStrides(const std::vector<int64_t> &shape) {
  std::vector<int64_t> s(shape.size());
  int64_t acc = 1;
  for (size_t d = shape.size(); d-- > 0;) {
    s[d] = acc;
    acc *= shape[d];
  }
  return s;
}

inline int64_t product(const std::vector<int64_t> &shape) {
  int64_t p = 1;
  for (int64_t d : shape)
    p *= d;
  return p;
}

/// Calls f(index vector) for every index of `shape`, in row-major order.
template <class F> void forEachIndex(const std::vector<int64_t> &shape, F f) {
  std::vector<int64_t> idx(shape.size(), 0);
  if (product(shape) == 0)
    return;
  while (true) {
    f(idx);
    int d = (int)shape.size() - 1;
    while (d >= 0 && ++idx[d] == shape[d]) {
      idx[d] = 0;
      --d;
    }
    if (d < 0)
      return;
  }
}

inline int64_t dot(const std::vector<int64_t> &idx,
                   const std::vector<int64_t> &strides) {
  int64_t o = 0;
  for (size_t d = 0; d < idx.size(); ++d)
    o += idx[d] * strides[d];
  return o;
}

/// Fixture parameterised by ditc_rt_isa: selects it, or skips.
class IsaTest : public ::testing::TestWithParam<int> {
protected:
  void SetUp() override {
    if (!ditc_rt_set_isa(GetParam()))
      GTEST_SKIP() << "ISA " << GetParam() << " is not available here";
  }
  void TearDown() override {
    ditc_rt_set_isa(DITC_RT_ISA_AUTO);
    ditc_rt_set_num_threads(0);
  }
};

std::string isaName(const ::testing::TestParamInfo<int> &info);

#define DITC_INSTANTIATE_ISA(Suite)                                            \
  INSTANTIATE_TEST_SUITE_P(                                                    \
      Isa, Suite,                                                              \
      ::testing::Values(DITC_RT_ISA_GENERIC, DITC_RT_ISA_AVX2,                 \
                        DITC_RT_ISA_AVX512, DITC_RT_ISA_AVX2_W16),             \
      ::ditc_test::isaName)

} // namespace ditc_test

#endif // DITC_TEST_RUNTIME_KERNELTESTUTIL_H
