//===- KernelMathTest.cpp - runtime/cuda/kernel_math.h against the CPU ---===//
//
// kernel_math.h is the per-element arithmetic of the CUDA kernels; compiled
// here by the host compiler (no CUDA), each formula is checked against the
// CPU runtime's kernel on random data: on the generic code path (no FMA,
// the same operations in the same order) the results must be bit for bit
// the same, on the FMA paths within a few ulp.
//
//===----------------------------------------------------------------------===//
#include "CudaTestUtil.h"
#include "kernel_math.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

using namespace ditc_cuda_test;
namespace km = ditc_cu::math;

namespace {

/// The ISAs of this CPU, generic first; each selected in turn by f(isa).
template <class F> void forEachIsa(F f) {
  for (int isa : {DITC_RT_ISA_GENERIC, DITC_RT_ISA_AVX2, DITC_RT_ISA_AVX512}) {
    if (!ditc_rt_set_isa(isa))
      continue;
    SCOPED_TRACE(testing::Message() << "ISA " << isa);
    f(isa);
  }
  ditc_rt_set_isa(DITC_RT_ISA_AUTO);
}

/// Inputs for a unary op: a range where it is defined and interesting.
std::vector<float> unaryInputs(int op, uint32_t seed) {
  size_t n = 4099;
  switch (op) {
  case DITC_RT_UNARY_SQRT:
  case DITC_RT_UNARY_LOG:
    return randomFloats(n, seed, 1e-3f, 100.f);
  case DITC_RT_UNARY_EXP:
    return randomFloats(n, seed, -90.f, 89.f);
  case DITC_RT_UNARY_COS:
  case DITC_RT_UNARY_SIN:
    return randomFloats(n, seed, -40.f, 40.f);
  case DITC_RT_UNARY_ROUND:
  case DITC_RT_UNARY_FLOOR:
  case DITC_RT_UNARY_CEIL: {
    std::vector<float> v = randomFloats(n, seed, -20.f, 20.f);
    for (size_t i = 0; i < v.size(); i += 3)
      v[i] = std::round(v[i] * 2.f) / 2.f; // halves: ties
    return v;
  }
  default:
    return randomFloats(n, seed, -8.f, 8.f);
  }
}

/// What GELU adds to a few ulp of its result: with erf, 1 + erf cancels for
/// x << 0 (erf's ulp at 1, times |x| / 2); with tanh, the argument u of
/// e^-u carries a few ulp, which e^-u turns into |u| times as many.
float geluSlack(int op, float x, float y) {
  const float ax = std::fabs(x);
  if (op == DITC_RT_UNARY_GELU)
    return 4e-7f * ax;
  if (op == DITC_RT_UNARY_GELU_TANH)
    return 8 * 1.2e-7f * 1.6f * (ax + 0.045f * ax * ax * ax) * std::fabs(y);
  return 0.f;
}

TEST(KernelMath, UnaryMatchesCpu) {
  forEachIsa([](int isa) {
    for (int op = 0; op < DITC_RT_UNARY_COUNT; ++op) {
      SCOPED_TRACE(testing::Message() << "op " << op);
      std::vector<float> x = unaryInputs(op, 100 + op);
      x.push_back(0.f);
      x.push_back(-0.f);
      x.push_back(NAN);
      if (op != DITC_RT_UNARY_EXP) {
        x.push_back(INFINITY);
        x.push_back(-INFINITY);
      }
      std::vector<float> want(x.size());
      ditc_rt_unary_f32(op, x.data(), want.data(), (int64_t)x.size());
      int64_t worst = 0;
      for (size_t i = 0; i < x.size(); ++i) {
        const float got = km::unary_any(op, x[i]);
        if (isa == DITC_RT_ISA_GENERIC) {
          // The same operations in the same order: the same bits.
          ASSERT_EQ(ulpDistance(got, want[i]), 0)
              << "x = " << x[i] << ": " << got << " vs " << want[i];
          continue;
        }
        // FMA contraction: a few ulp (erf's p / q up to 8), amplified by
        // GELU (see geluSlack).
        const int64_t d = ulpDistance(got, want[i]);
        const float slack = geluSlack(op, x[i], want[i]);
        if (d > 8)
          ASSERT_LE(std::fabs(got - want[i]), 8 * ulpOf(want[i]) + slack)
              << "x = " << x[i] << ": " << got << " vs " << want[i];
        worst = std::max(worst, std::fabs(got - want[i]) <= slack ? 0 : d);
      }
      EXPECT_LE(worst, 8);
    }
  });
}

TEST(KernelMath, HalfConversionsMatchCpuCast) {
  // Every f16 / bf16 pattern widens exactly.
  std::vector<uint16_t> all(65536);
  for (int i = 0; i < 65536; ++i)
    all[i] = (uint16_t)i;
  for (int32_t dt : {DITC_RT_F16, DITC_RT_BF16}) {
    std::vector<float> want = fromHalf(dt, all);
    for (int i = 0; i < 65536; ++i) {
      const float got = dt == DITC_RT_F16 ? km::f16_bits_to_f32(all[i])
                                          : km::bf16_bits_to_f32(all[i]);
      ASSERT_EQ(ulpDistance(got, want[i]), 0)
          << dtypeName(dt) << " bits 0x" << std::hex << i;
      if (!std::isnan(got))
        ASSERT_EQ(bitsOf(got), bitsOf(want[i]));
    }
  }
  // Rounding: specials, every exponent, and the halfway points.
  std::vector<float> x = specialFloats();
  std::mt19937 rng(7);
  for (int i = 0; i < 200000; ++i) {
    uint32_t u = rng();
    float f;
    std::memcpy(&f, &u, 4);
    x.push_back(f);
  }
  for (uint32_t e = 90; e < 160; ++e)
    for (uint32_t low : {0x1000u, 0x0fffu, 0x1001u, 0x3000u, 0x8000u, 0x7fffu,
                         0x8001u, 0x18000u})
      x.push_back(km::bits_f32((e << 23) | low));
  for (int32_t dt : {DITC_RT_F16, DITC_RT_BF16}) {
    std::vector<uint16_t> want = toHalf(dt, x);
    for (size_t i = 0; i < x.size(); ++i) {
      const uint16_t got = dt == DITC_RT_F16 ? km::f32_to_f16_bits(x[i])
                                             : km::f32_to_bf16_bits(x[i]);
      if (halfIsNan(dt, want[i])) {
        ASSERT_TRUE(halfIsNan(dt, got)) << dtypeName(dt) << " of " << x[i];
        continue;
      }
      ASSERT_EQ(got, want[i]) << dtypeName(dt) << " of " << x[i] << " (0x"
                              << std::hex << bitsOf(x[i]) << ")";
    }
  }
}

/// Values of each cast dtype (specials, large, random; B8 with 2 as true).
std::vector<float> castFloats() {
  std::vector<float> v = specialFloats();
  std::vector<float> r = randomFloats(500, 3, -3e4f, 3e4f);
  v.insert(v.end(), r.begin(), r.end());
  return v;
}
std::vector<int64_t> castInts() {
  std::vector<int64_t> v = {0,
                            1,
                            -1,
                            2,
                            255,
                            256,
                            65504,
                            65520,
                            16777217,
                            -16777217,
                            2147483647,
                            (int64_t)2147483648LL,
                            -2147483647 - 1,
                            (int64_t)-2147483649LL,
                            std::numeric_limits<int64_t>::max(),
                            std::numeric_limits<int64_t>::min(),
                            (int64_t)1 << 53,
                            ((int64_t)1 << 53) + 1};
  std::vector<int64_t> r = randomInts<int64_t>(300, 5, -(int64_t)1 << 40,
                                               (int64_t)1 << 40);
  v.insert(v.end(), r.begin(), r.end());
  return v;
}

/// The source values as bytes of dtype `dt`.
std::vector<uint8_t> castSource(int32_t dt) {
  std::vector<float> f = castFloats();
  std::vector<int64_t> i = castInts();
  std::vector<uint8_t> bytes;
  auto put = [&](const void *p, size_t n) {
    const uint8_t *b = static_cast<const uint8_t *>(p);
    bytes.insert(bytes.end(), b, b + n);
  };
  switch (dt) {
  case DITC_RT_F32:
    put(f.data(), f.size() * 4);
    break;
  case DITC_RT_F16:
  case DITC_RT_BF16: {
    std::vector<uint16_t> h = toHalf(dt, f);
    put(h.data(), h.size() * 2);
    break;
  }
  case DITC_RT_I64:
    put(i.data(), i.size() * 8);
    break;
  case DITC_RT_I32: {
    std::vector<int32_t> i32(i.size());
    for (size_t k = 0; k < i.size(); ++k)
      i32[k] = (int32_t)(uint32_t)i[k];
    put(i32.data(), i32.size() * 4);
    break;
  }
  case DITC_RT_B8:
    for (int k = 0; k < 30; ++k)
      bytes.push_back((uint8_t)(k % 3)); // 0, 1, 2
    break;
  }
  return bytes;
}

template <class D, class S>
void castAll(const uint8_t *src, uint8_t *dst, int64_t n) {
  for (int64_t k = 0; k < n; ++k) {
    S s;
    std::memcpy(&s, src + k * sizeof(S), sizeof(S));
    const D d = km::cast_value<D>(s);
    std::memcpy(dst + k * sizeof(D), &d, sizeof(D));
  }
}

template <class F> void visitCastType(int32_t dt, F f) {
  switch (dt) {
  case DITC_RT_F32:
    return f(float{});
  case DITC_RT_F16:
    return f(km::half_t{});
  case DITC_RT_BF16:
    return f(km::bfloat_t{});
  case DITC_RT_I64:
    return f(int64_t{});
  case DITC_RT_I32:
    return f(int32_t{});
  case DITC_RT_B8:
    return f(km::bool8{});
  }
}

TEST(KernelMath, CastsMatchCpuCast) {
  const int32_t types[] = {DITC_RT_F32, DITC_RT_F16, DITC_RT_BF16,
                           DITC_RT_I64, DITC_RT_I32, DITC_RT_B8};
  for (int32_t s : types) {
    std::vector<uint8_t> src = castSource(s);
    const int64_t n = (int64_t)src.size() / elemSize(s);
    for (int32_t d : types) {
      SCOPED_TRACE(testing::Message()
                   << dtypeName(s) << " -> " << dtypeName(d));
      std::vector<uint8_t> want(n * elemSize(d)), got(n * elemSize(d));
      ditc_rt_cast(s, d, src.data(), want.data(), n);
      visitCastType(s, [&](auto st) {
        visitCastType(d, [&](auto dt) {
          castAll<decltype(dt), decltype(st)>(src.data(), got.data(), n);
        });
      });
      for (int64_t k = 0; k < n; ++k) {
        const uint8_t *g = got.data() + k * elemSize(d);
        const uint8_t *w = want.data() + k * elemSize(d);
        if (d == DITC_RT_F32) {
          float a, b;
          std::memcpy(&a, g, 4);
          std::memcpy(&b, w, 4);
          ASSERT_EQ(ulpDistance(a, b), 0) << "element " << k;
        } else if (d == DITC_RT_F16 || d == DITC_RT_BF16) {
          uint16_t a, b;
          std::memcpy(&a, g, 2);
          std::memcpy(&b, w, 2);
          if (halfIsNan(d, b))
            ASSERT_TRUE(halfIsNan(d, a)) << "element " << k;
          else
            ASSERT_EQ(a, b) << "element " << k;
        } else {
          ASSERT_EQ(0, std::memcmp(g, w, elemSize(d))) << "element " << k;
        }
      }
    }
  }
}

template <int OP = 0>
float binaryF(int op, float a, float b) {
  if constexpr (OP < DITC_RT_BINARY_COUNT) {
    if (op != OP)
      return binaryF<OP + 1>(op, a, b);
    if constexpr (OP >= DITC_RT_BINARY_AND && OP <= DITC_RT_BINARY_XOR)
      return 0.f;
    else
      return km::binary_f<OP>(a, b);
  }
  return 0.f;
}
template <class T, int OP = 0> T binaryI(int op, T a, T b) {
  if constexpr (OP < DITC_RT_BINARY_COUNT) {
    if (op != OP)
      return binaryI<T, OP + 1>(op, a, b);
    return km::binary_i<OP, T>(a, b);
  }
  return 0;
}
template <int OP = 0> uint8_t binaryB8(int op, uint8_t a, uint8_t b) {
  if constexpr (OP < DITC_RT_BINARY_COUNT) {
    if (op != OP)
      return binaryB8<OP + 1>(op, a, b);
    return km::binary_b8<OP>(a, b);
  }
  return 0;
}

TEST(KernelMath, BinaryMatchesCpu) {
  const int64_t n = 2000;
  const int64_t shape[1] = {n}, one[1] = {1};
  // F32: every op but the bitwise ones, with equal pairs for comparisons.
  std::vector<float> a = randomFloats(n, 11, -10.f, 10.f);
  std::vector<float> b = randomFloats(n, 12, -4.f, 4.f);
  for (int64_t i = 0; i < n; i += 7)
    b[i] = a[i];
  for (int64_t i = 3; i < n; i += 11)
    b[i] = std::round(b[i]); // integer exponents for POW, exact zeros
  a[5] = NAN;
  b[9] = NAN;
  for (int op = 0; op < DITC_RT_BINARY_COUNT; ++op) {
    if (op >= DITC_RT_BINARY_AND && op <= DITC_RT_BINARY_XOR)
      continue;
    SCOPED_TRACE(testing::Message() << "F32 op " << op);
    const bool cmp = km::binary_is_comparison(op);
    std::vector<float> want(n);
    std::vector<uint8_t> wantB(n);
    ditc_rt_binary(op, DITC_RT_F32, a.data(), one, b.data(), one,
                   cmp ? (void *)wantB.data() : (void *)want.data(), shape, 1);
    for (int64_t i = 0; i < n; ++i) {
      const float got = binaryF(op, a[i], b[i]);
      if (cmp)
        ASSERT_EQ((uint8_t)(got != 0.f), wantB[i]) << a[i] << " " << b[i];
      else
        ASSERT_LE(ulpDistance(got, want[i]), op == DITC_RT_BINARY_POW ? 1 : 0)
            << a[i] << " " << b[i] << ": " << got << " vs " << want[i];
    }
  }
  // I64 and I32: every op, with zeros, -1 and the extremes.
  auto ints = [&](auto zero, int32_t dt) {
    using T = decltype(zero);
    std::vector<T> x = randomInts<T>(n, 21, -60, 60);
    std::vector<T> y = randomInts<T>(n, 22, -6, 6);
    x[0] = std::numeric_limits<T>::min();
    y[0] = -1;
    x[1] = std::numeric_limits<T>::max();
    y[1] = 2;
    x[2] = std::numeric_limits<T>::min();
    y[2] = 0;
    for (int op = 0; op < DITC_RT_BINARY_COUNT; ++op) {
      SCOPED_TRACE(testing::Message() << dtypeName(dt) << " op " << op);
      const bool cmp = km::binary_is_comparison(op);
      std::vector<T> want(n);
      std::vector<uint8_t> wantB(n);
      ditc_rt_binary(op, dt, x.data(), one, y.data(), one,
                     cmp ? (void *)wantB.data() : (void *)want.data(), shape,
                     1);
      for (int64_t i = 0; i < n; ++i) {
        const T got = binaryI<T>(op, x[i], y[i]);
        if (cmp)
          ASSERT_EQ((uint8_t)got, wantB[i]) << x[i] << " " << y[i];
        else
          ASSERT_EQ(got, want[i]) << x[i] << " " << y[i];
      }
    }
  };
  ints(int64_t{}, DITC_RT_I64);
  ints(int32_t{}, DITC_RT_I32);
  // B8: 0, 1 and 2 (also true).
  std::vector<uint8_t> p, q;
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) {
      p.push_back((uint8_t)i);
      q.push_back((uint8_t)j);
    }
  const int64_t m[1] = {(int64_t)p.size()};
  for (int op = DITC_RT_BINARY_MAX; op <= DITC_RT_BINARY_XOR; ++op) {
    std::vector<uint8_t> want(p.size());
    ditc_rt_binary(op, DITC_RT_B8, p.data(), one, q.data(), one, want.data(),
                   m, 1);
    for (size_t i = 0; i < p.size(); ++i)
      ASSERT_EQ(binaryB8(op, p[i], q[i]), want[i])
          << "B8 op " << op << " " << (int)p[i] << " " << (int)q[i];
  }
}

/// The statistics of one row as a group of G threads takes them (each
/// thread its tiles of kVpt values, then a pairwise combine over threads).
constexpr int kVpt = 8;
template <class Stat, class Of, class Comb>
Stat rowStat(const float *x, int64_t cols, int G, Stat identity, Of of,
             Comb comb) {
  std::vector<Stat> per(G, identity);
  for (int t = 0; t < G; ++t)
    for (int64_t base = 0; base < cols; base += (int64_t)G * kVpt) {
      float v[kVpt];
      int cnt = 0;
      for (int k = 0; k < kVpt; ++k) {
        const int64_t i = base + t + (int64_t)k * G;
        v[k] = i < cols ? x[i] : 0.f;
        cnt += i < cols;
      }
      per[t] = comb(per[t], of(v, cnt));
    }
  for (int w = 1; w < G; w *= 2)
    for (int t = 0; t + w < G; t += 2 * w)
      per[t] = comb(per[t], per[t + w]);
  return per[0];
}

int groupFor(int64_t cols) {
  if (cols <= 32 * kVpt)
    return 32;
  int64_t th = ((cols + kVpt - 1) / kVpt + 31) / 32 * 32;
  return (int)std::min<int64_t>(th, 1024);
}

/// |got - want| within `ulps` of the scale of the terms that make y.
void expectNear(const std::vector<float> &got, const std::vector<float> &want,
                const std::vector<float> &scale, float ulps) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(got[i]) && std::isnan(want[i]))
      continue;
    ASSERT_LE(std::fabs(got[i] - want[i]),
              ulps * (ulpOf(want[i]) + ulpOf(scale[i])))
        << "element " << i << ": " << got[i] << " vs " << want[i];
  }
}

TEST(KernelMath, LayerAndRmsNormStatisticsMatchCpu) {
  for (int64_t cols : {1, 5, 64, 255, 256, 257, 1152, 4099, 9000}) {
    for (float offset : {0.f, 50.f}) {
      SCOPED_TRACE(testing::Message() << "cols " << cols << " offset "
                                      << offset);
      const int64_t rows = 3;
      std::vector<float> x = randomFloats(rows * cols, 31, -2.f, 2.f);
      for (auto &v : x)
        v += offset;
      std::vector<float> scale = randomFloats(cols, 32, 0.5f, 1.5f);
      std::vector<float> bias = randomFloats(cols, 33, -1.f, 1.f);
      const float eps = 1e-5f;
      forEachIsa([&](int) {
        std::vector<float> want(x.size()), got(x.size()), mag(x.size());
        ditc_rt_layer_norm_f32(x.data(), scale.data(), bias.data(),
                               want.data(), rows, cols, eps);
        for (int64_t r = 0; r < rows; ++r) {
          const float *xr = &x[r * cols];
          km::MeanM2 st = rowStat(
              xr, cols, groupFor(cols), km::MeanM2{0.f, 0.f, 0.f},
              [](const float(&v)[kVpt], int c) { return km::meanm2_of(v, c); },
              km::meanm2_combine);
          const float rstd = km::meanm2_rstd(st, eps);
          for (int64_t c = 0; c < cols; ++c) {
            got[r * cols + c] = km::norm_apply(xr[c], st.mean, rstd, true,
                                               scale[c], true, bias[c]);
            // the error of (x - mean) is that of the mean, |x| ulps
            mag[r * cols + c] = (std::fabs(xr[c]) * rstd + 1.f) *
                                    std::fabs(scale[c]) +
                                std::fabs(bias[c]);
          }
        }
        expectNear(got, want, mag, 4.f);

        ditc_rt_rms_norm_f32(x.data(), scale.data(), want.data(), rows, cols,
                             eps);
        for (int64_t r = 0; r < rows; ++r) {
          const float *xr = &x[r * cols];
          const float ss = rowStat(
              xr, cols, groupFor(cols), 0.f,
              [](const float(&v)[kVpt], int c) { return km::sum_sq_of(v, c); },
              [](float a, float b) { return a + b; });
          const float rstd = km::rms_rstd(ss, (float)cols, eps);
          for (int64_t c = 0; c < cols; ++c) {
            got[r * cols + c] =
                km::norm_apply(xr[c], 0.f, rstd, true, scale[c], false, 0.f);
            mag[r * cols + c] = 0.f;
          }
        }
        expectNear(got, want, mag, 4.f);
      });
    }
  }
}

// The modulated layer norm per element (norm_apply, then modulate_apply
// with the row's group) against the CPU's layer_norm_mod_f32.
TEST(KernelMath, ModulatedLayerNormMatchesCpu) {
  const int64_t rows = 6, groups = 3;
  for (int64_t cols : {5, 257, 1152}) {
    SCOPED_TRACE(testing::Message() << "cols " << cols);
    std::vector<float> x = randomFloats(rows * cols, 51, -2.f, 2.f);
    std::vector<float> scale = randomFloats(cols, 52, 0.5f, 1.5f);
    std::vector<float> ms = randomFloats(groups * cols, 53, -2.f, 2.f);
    std::vector<float> mt = randomFloats(groups * cols, 54, -1.f, 1.f);
    const float eps = 1e-6f;
    forEachIsa([&](int) {
      std::vector<float> want(x.size()), got(x.size()), mag(x.size());
      ditc_rt_layer_norm_mod_f32(x.data(), scale.data(), nullptr, ms.data(),
                                 mt.data(), want.data(), rows, cols, groups, cols,
                                 cols, 1.f, eps);
      for (int64_t r = 0; r < rows; ++r) {
        const float *xr = &x[r * cols];
        const int64_t g = (r / (rows / groups)) * cols;
        km::MeanM2 st = rowStat(
            xr, cols, groupFor(cols), km::MeanM2{0.f, 0.f, 0.f},
            [](const float(&v)[kVpt], int c) { return km::meanm2_of(v, c); },
            km::meanm2_combine);
        const float rstd = km::meanm2_rstd(st, eps);
        for (int64_t c = 0; c < cols; ++c) {
          const float v = km::norm_apply(xr[c], st.mean, rstd, true, scale[c],
                                         false, 0.f);
          got[r * cols + c] =
              km::modulate_apply(v, true, ms[g + c], 1.f, true, mt[g + c]);
          mag[r * cols + c] =
              (std::fabs(xr[c]) * rstd + 1.f) * std::fabs(scale[c]) *
                  (std::fabs(ms[g + c]) + 1.f) +
              std::fabs(mt[g + c]);
        }
      }
      expectNear(got, want, mag, 4.f);
    });
  }
  // Without parameters the value passes through unchanged.
  EXPECT_EQ(km::modulate_apply(1.25f, false, 7.f, 1.f, false, 3.f), 1.25f);
  EXPECT_EQ(km::modulate_apply(1.25f, true, 2.f, 0.f, false, 3.f), 2.5f);
  EXPECT_EQ(km::modulate_apply(1.25f, true, 2.f, 1.f, false, 3.f), 3.75f);
  EXPECT_EQ(km::modulate_apply(1.25f, false, 2.f, 1.f, true, 3.f), 4.25f);
}

TEST(KernelMath, GroupNormMatchesCpu) {
  const int64_t n = 2, c = 12, spatial = 37, groups = 3, cpg = c / groups;
  std::vector<float> x = randomFloats(n * c * spatial, 41, -3.f, 3.f);
  std::vector<float> scale = randomFloats(c, 42, 0.5f, 1.5f);
  std::vector<float> bias = randomFloats(c, 43, -1.f, 1.f);
  const float eps = 1e-6f;
  forEachIsa([&](int) {
    std::vector<float> want(x.size()), got(x.size()), mag(x.size());
    ditc_rt_group_norm_f32(x.data(), scale.data(), bias.data(), want.data(),
                           n, c, spatial, groups, eps);
    const int64_t len = cpg * spatial;
    for (int64_t row = 0; row < n * groups; ++row) {
      const float *xr = &x[row * len];
      km::MeanM2 st = rowStat(
          xr, len, groupFor(len), km::MeanM2{0.f, 0.f, 0.f},
          [](const float(&v)[kVpt], int k) { return km::meanm2_of(v, k); },
          km::meanm2_combine);
      const float rstd = km::meanm2_rstd(st, eps);
      for (int64_t i = 0; i < len; ++i) {
        const int64_t ch = (row % groups) * cpg + i / spatial;
        got[row * len + i] = km::group_norm_apply(xr[i], st.mean,
                                                  rstd * scale[ch], bias[ch]);
        mag[row * len + i] = (std::fabs(xr[i]) * rstd + 1.f) * scale[ch] +
                             std::fabs(bias[ch]);
      }
    }
    expectNear(got, want, mag, 4.f);
  });
}

TEST(KernelMath, SoftmaxStatisticsMatchCpu) {
  for (int64_t cols : {1, 7, 256, 300, 5000}) {
    SCOPED_TRACE(testing::Message() << "cols " << cols);
    const int64_t rows = 4;
    std::vector<float> x = randomFloats(rows * cols, 51, -20.f, 20.f);
    if (cols > 1)
      x[1] = -INFINITY; // a masked element
    x[rows * cols - 1] = NAN; // the last row's results are all NaN
    forEachIsa([&](int) {
      std::vector<float> want(x.size()), got(x.size()), got2(x.size());
      ditc_rt_softmax_f32(x.data(), want.data(), rows, cols, 1);
      for (int64_t r = 0; r < rows; ++r) {
        const float *xr = &x[r * cols];
        // As the row kernel: tiles, then the combine.
        km::MaxSum st = rowStat(
            xr, cols, groupFor(cols), km::MaxSum{-km::kInf, 0.f},
            [](const float(&v)[kVpt], int c) { return km::maxsum_of(v, c); },
            km::maxsum_combine);
        // As the strided kernel: one value at a time.
        km::MaxSum on{-km::kInf, 0.f};
        for (int64_t c = 0; c < cols; ++c)
          on = km::maxsum_push(on, xr[c]);
        if (r < rows - 1)
          ASSERT_EQ(st.m, on.m);
        // f32 sums of `cols` terms in two orders (one of them sequential)
        const float sumUlps = 8.f + 2.f * std::sqrt((float)cols);
        ASSERT_LE(ulpDistance(st.s, on.s), (int64_t)sumUlps);
        for (int64_t c = 0; c < cols; ++c) {
          got[r * cols + c] = km::softmax_apply(xr[c], st.m, 1.f / st.s);
          got2[r * cols + c] = km::softmax_apply(xr[c], on.m, 1.f / on.s);
        }
      }
      std::vector<float> none(x.size(), 0.f);
      const float sumUlps = 8.f + 2.f * std::sqrt((float)cols);
      expectNear(got, want, none, sumUlps);
      expectNear(got2, want, none, sumUlps);
    });
  }
}

TEST(KernelMath, RopePairsMatchCpu) {
  const int64_t n0 = 2, n1 = 3, n2 = 1, dim = 24, rot = 20;
  std::vector<float> x = randomFloats(n0 * n1 * n2 * dim, 61, -3.f, 3.f);
  // Tables [n1, rot] broadcast over n0, full width (each member its own).
  std::vector<float> cs = randomFloats(n1 * rot, 62, -1.f, 1.f);
  std::vector<float> sn = randomFloats(n1 * rot, 63, -1.f, 1.f);
  const int64_t ts[3] = {0, rot, 0};
  for (int interleaved : {0, 1}) {
    forEachIsa([&](int isa) {
      std::vector<float> want(x.size()), got(x.size());
      ditc_rt_rope_f32(x.data(), cs.data(), sn.data(), want.data(), n0, n1,
                       n2, dim, rot, ts, interleaved);
      for (int64_t r = 0; r < n0 * n1 * n2; ++r) {
        const int64_t i1 = r / n2 % n1;
        const float *xr = &x[r * dim], *c = &cs[i1 * rot], *s = &sn[i1 * rot];
        float *yr = &got[r * dim];
        for (int64_t k = 0; k < rot / 2; ++k) {
          const int64_t a = interleaved ? 2 * k : k;
          const int64_t b = interleaved ? 2 * k + 1 : k + rot / 2;
          km::rope_pair(xr[a], xr[b], c[a], s[a], c[b], s[b], &yr[a], &yr[b]);
        }
        for (int64_t f = rot; f < dim; ++f)
          yr[f] = xr[f];
      }
      for (size_t i = 0; i < x.size(); ++i) {
        if (isa == DITC_RT_ISA_GENERIC)
          ASSERT_EQ(ulpDistance(got[i], want[i]), 0) << "element " << i;
        else // the products: a + b - c with or without FMA
          ASSERT_LE(std::fabs(got[i] - want[i]), 2 * ulpOf(9.f))
              << "element " << i;
      }
    });
  }
}

} // namespace
