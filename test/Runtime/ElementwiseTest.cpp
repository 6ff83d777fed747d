//===- ElementwiseTest.cpp - unary, is_nan, not, binary, where, cast -----===//
#include "KernelTestUtil.h"

#include <cstring>
#include <functional>
#include <limits>

using namespace ditc_test;

namespace {

const int64_t kSizes[] = {1, 7, 33, 129, 100003};

//===--- Unary -----------------------------------------------------------===//

struct UnaryCase {
  int op;
  const char *name;
  float lo, hi;
  std::function<double(double)> ref;
  double tol;
};

double refGelu(double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); }
double refGeluTanh(double x) {
  return 0.5 * x *
         (1 + std::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
}
double refSigmoid(double x) { return 1 / (1 + std::exp(-x)); }

const UnaryCase kUnary[] = {
    {DITC_RT_UNARY_NEG, "neg", -5, 5, [](double x) { return -x; }, 1e-6},
    {DITC_RT_UNARY_SQRT, "sqrt", 0.01f, 100, [](double x) { return std::sqrt(x); },
     1e-6},
    {DITC_RT_UNARY_RECIPROCAL, "reciprocal", 0.1f, 4,
     [](double x) { return 1 / x; }, 1e-6},
    {DITC_RT_UNARY_EXP, "exp", -20, 20, [](double x) { return std::exp(x); },
     1e-5},
    {DITC_RT_UNARY_ERF, "erf", -5, 5, [](double x) { return std::erf(x); },
     1e-5},
    {DITC_RT_UNARY_COS, "cos", -10, 10, [](double x) { return std::cos(x); },
     1e-5},
    {DITC_RT_UNARY_SIN, "sin", -10, 10, [](double x) { return std::sin(x); },
     1e-5},
    {DITC_RT_UNARY_TANH, "tanh", -6, 6, [](double x) { return std::tanh(x); },
     1e-5},
    {DITC_RT_UNARY_SIGMOID, "sigmoid", -30, 30, refSigmoid, 1e-5},
    {DITC_RT_UNARY_RELU, "relu", -3, 3,
     [](double x) { return x > 0 ? x : 0.0; }, 1e-6},
    {DITC_RT_UNARY_GELU, "gelu", -6, 6, refGelu, 1e-4},
    {DITC_RT_UNARY_GELU_TANH, "gelu_tanh", -6, 6, refGeluTanh, 1e-4},
    {DITC_RT_UNARY_SILU, "silu", -20, 20,
     [](double x) { return x * refSigmoid(x); }, 1e-5},
    {DITC_RT_UNARY_ABS, "abs", -3, 3, [](double x) { return std::fabs(x); },
     1e-6},
    {DITC_RT_UNARY_LOG, "log", 0.001f, 1000, [](double x) { return std::log(x); },
     1e-5},
    {DITC_RT_UNARY_FLOOR, "floor", -50, 50,
     [](double x) { return std::floor(x); }, 1e-6},
    {DITC_RT_UNARY_CEIL, "ceil", -50, 50, [](double x) { return std::ceil(x); },
     1e-6},
    {DITC_RT_UNARY_ROUND, "round", -50, 50,
     [](double x) { return std::nearbyint(x); }, 1e-6},
};

class UnaryTest : public IsaTest {};

TEST_P(UnaryTest, EveryOpMatchesReference) {
  static_assert(sizeof(kUnary) / sizeof(kUnary[0]) == DITC_RT_UNARY_COUNT,
                "a unary op lacks a test");
  uint32_t seed = 1;
  for (const UnaryCase &c : kUnary) {
    for (int64_t n : kSizes) {
      SCOPED_TRACE(std::string(c.name) + " n=" + std::to_string(n));
      std::vector<float> x = randomFloats(n, seed++, c.lo, c.hi);
      if (c.op == DITC_RT_UNARY_RECIPROCAL)
        for (size_t i = 0; i < x.size(); i += 2)
          x[i] = -x[i];
      if (c.op == DITC_RT_UNARY_ROUND && n > 8) {
        x[1] = 2.5f; // halves go to even
        x[2] = -3.5f;
        x[3] = 0.5f;
      }
      if ((c.op == DITC_RT_UNARY_TANH || c.op == DITC_RT_UNARY_ERF) && n > 8) {
        x[4] = 1e-4f; // the small-argument branch
        x[5] = -0.3f;
        x[6] = 0.62f;
      }
      std::vector<float> y(n, std::nanf(""));
      std::vector<double> want(n);
      for (int64_t i = 0; i < n; ++i)
        want[i] = c.ref(x[i]);
      ditc_rt_unary_f32(c.op, x.data(), y.data(), n);
      EXPECT_REL_L2(y, want, c.tol);
      // in place
      ditc_rt_unary_f32(c.op, x.data(), x.data(), n);
      EXPECT_EQ(0, std::memcmp(x.data(), y.data(), n * sizeof(float)));
    }
  }
}

TEST_P(UnaryTest, SpecialValues) {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::nanf("");
  std::vector<float> x = {inf, -inf, nan, 0.f, -0.f, 100.f, -100.f, 88.f, -88.f};
  std::vector<float> y(x.size());
  ditc_rt_unary_f32(DITC_RT_UNARY_EXP, x.data(), y.data(), x.size());
  EXPECT_EQ(y[0], inf);
  EXPECT_EQ(y[1], 0.f);
  EXPECT_TRUE(std::isnan(y[2]));
  EXPECT_EQ(y[3], 1.f);
  EXPECT_EQ(y[5], inf);
  EXPECT_EQ(y[6], 0.f);
  EXPECT_NEAR(y[7] / std::exp(88.0), 1.0, 1e-5);
  ditc_rt_unary_f32(DITC_RT_UNARY_TANH, x.data(), y.data(), x.size());
  EXPECT_EQ(y[0], 1.f);
  EXPECT_EQ(y[1], -1.f);
  EXPECT_TRUE(std::isnan(y[2]));
  EXPECT_EQ(y[5], 1.f);
  ditc_rt_unary_f32(DITC_RT_UNARY_SIGMOID, x.data(), y.data(), x.size());
  EXPECT_EQ(y[0], 1.f);
  EXPECT_EQ(y[1], 0.f);
  EXPECT_TRUE(std::isnan(y[2]));
  EXPECT_EQ(y[3], 0.5f);
  ditc_rt_unary_f32(DITC_RT_UNARY_GELU, x.data(), y.data(), x.size());
  EXPECT_TRUE(std::isnan(y[2]));
  EXPECT_EQ(y[5], 100.f);
  EXPECT_EQ(y[6], 0.f);
  ditc_rt_unary_f32(DITC_RT_UNARY_RELU, x.data(), y.data(), x.size());
  EXPECT_TRUE(std::isnan(y[2]));
}

TEST_P(UnaryTest, IsNanAndNot) {
  for (int64_t n : kSizes) {
    std::vector<float> x = randomFloats(n, 9);
    for (int64_t i = 0; i < n; i += 3)
      x[i] = std::nanf("");
    if (n > 4)
      x[1] = std::numeric_limits<float>::infinity();
    std::vector<uint8_t> y(n, 7);
    ditc_rt_is_nan_f32(x.data(), y.data(), n);
    for (int64_t i = 0; i < n; ++i)
      ASSERT_EQ(y[i], i % 3 == 0 ? 1 : 0) << i;
    std::vector<uint8_t> b = randomInts<uint8_t>(n, 10, 0, 3), nb(n, 7);
    ditc_rt_not_b8(b.data(), nb.data(), n);
    for (int64_t i = 0; i < n; ++i)
      ASSERT_EQ(nb[i], b[i] == 0 ? 1 : 0) << i;
  }
}

DITC_INSTANTIATE_ISA(UnaryTest);

//===--- Binary ----------------------------------------------------------===//

template <class T> using U = std::make_unsigned_t<T>;

// The documented semantics, written out independently of the kernel.
template <class T> double refBinary(int op, T a, T b) {
  const bool isf = std::is_floating_point_v<T>;
  const bool isb = std::is_same_v<T, uint8_t>;
  switch (op) {
  case DITC_RT_BINARY_ADD:
    if constexpr (!std::is_floating_point_v<T>)
      return (T)((U<T>)a + (U<T>)b);
    return (double)a + b;
  case DITC_RT_BINARY_SUB:
    if constexpr (!std::is_floating_point_v<T>)
      return (T)((U<T>)a - (U<T>)b);
    return (double)a - b;
  case DITC_RT_BINARY_MUL:
    if constexpr (!std::is_floating_point_v<T>)
      return (T)((U<T>)a * (U<T>)b);
    return (double)a * b;
  case DITC_RT_BINARY_DIV:
    if (isf)
      return (double)a / b;
    if (b == 0)
      return 0;
    return (double)(a / b);
  case DITC_RT_BINARY_POW: {
    if (isf)
      return std::pow((double)a, (double)b);
    if (b < 0)
      return a == 1 ? 1 : a == (T)-1 ? ((int64_t)b % 2 ? -1 : 1) : 0;
    if constexpr (!std::is_floating_point_v<T>) {
      T r = 1;
      for (int64_t i = 0; i < (int64_t)b; ++i)
        r = (T)((U<T>)r * (U<T>)a);
      return r;
    }
    return 0;
  }
  case DITC_RT_BINARY_MAX:
    return a > b ? a : b;
  case DITC_RT_BINARY_MIN:
    return a < b ? a : b;
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
  case DITC_RT_BINARY_AND:
    if (isb)
      return (a != 0) && (b != 0);
    if constexpr (!std::is_floating_point_v<T>)
      return (T)(a & b);
    return 0;
  case DITC_RT_BINARY_OR:
    if (isb)
      return (a != 0) || (b != 0);
    if constexpr (!std::is_floating_point_v<T>)
      return (T)(a | b);
    return 0;
  case DITC_RT_BINARY_XOR:
    if (isb)
      return (a != 0) != (b != 0);
    if constexpr (!std::is_floating_point_v<T>)
      return (T)(a ^ b);
    return 0;
  }
  return 0;
}

bool opTakes(int op, int dtype) {
  if (op <= DITC_RT_BINARY_POW)
    return dtype != DITC_RT_B8;
  if (op >= DITC_RT_BINARY_AND)
    return dtype != DITC_RT_F32;
  return true;
}
bool isComparison(int op) {
  return op >= DITC_RT_BINARY_EQUAL && op <= DITC_RT_BINARY_NOT_EQUAL;
}

template <class T> std::vector<T> operands(int op, size_t n, uint32_t seed,
                                           bool rhs) {
  if constexpr (std::is_same_v<T, float>) {
    if (op == DITC_RT_BINARY_POW)
      return rhs ? randomFloats(n, seed, -2.f, 2.f)
                 : randomFloats(n, seed, 0.1f, 3.f);
    std::vector<float> v = randomFloats(n, seed, -4.f, 4.f);
    if (op == DITC_RT_BINARY_DIV && rhs)
      for (float &x : v)
        x = x < 0 ? x - 0.5f : x + 0.5f;
    // some equal pairs for the comparisons
    for (size_t i = 0; i < n; i += 4)
      v[i] = (float)(int)(v[i] * 2);
    return v;
  } else if constexpr (std::is_same_v<T, uint8_t>) {
    return randomInts<uint8_t>(n, seed, 0, 2);
  } else {
    if (op == DITC_RT_BINARY_POW)
      return rhs ? randomInts<T>(n, seed, -2, 6) : randomInts<T>(n, seed, -5, 5);
    if (op == DITC_RT_BINARY_MUL || op == DITC_RT_BINARY_ADD ||
        op == DITC_RT_BINARY_SUB) {
      auto v = randomInts<T>(n, seed, std::numeric_limits<T>::min(),
                             std::numeric_limits<T>::max()); // wraps
      auto w = randomInts<T>(n, seed + 99, -6, 6);
      for (size_t i = 0; i < n; i += 2)
        v[i] = w[i];
      return v;
    }
    return randomInts<T>(n, seed, -20, 20); // DIV sees zeros
  }
}

struct BinaryLayout {
  const char *name;
  std::vector<int64_t> shape;
  // strides of a and b over `shape`; the element counts to allocate;
  // offsets of element 0 (for negative strides)
  std::vector<int64_t> as, bs;
  int64_t a_count, b_count, a_off, b_off;
};

std::vector<BinaryLayout> binaryLayouts() {
  std::vector<BinaryLayout> v;
  v.push_back({"same", {33, 129}, {129, 1}, {129, 1}, 33 * 129, 33 * 129, 0, 0});
  v.push_back({"rank0", {}, {}, {}, 1, 1, 0, 0});
  v.push_back({"ones", {1, 1, 7}, {7, 7, 1}, {0, 0, 1}, 7, 7, 0, 0});
  // a [7,1,33] x b [1,5,33]
  v.push_back({"bcast", {7, 5, 33}, {33, 0, 1}, {0, 33, 1}, 7 * 33, 5 * 33, 0,
               0});
  v.push_back({"scalar_rhs", {9, 13}, {13, 1}, {0, 0}, 9 * 13, 1, 0, 0});
  v.push_back({"scalar_lhs", {129}, {0}, {1}, 1, 129, 0, 0});
  v.push_back({"column", {40, 17}, {17, 1}, {1, 0}, 40 * 17, 40, 0, 0});
  // a reversed along the last dim, b transposed ([17, 40] storage)
  v.push_back({"reversed_transposed", {40, 17}, {17, -1}, {1, 40}, 40 * 17,
               40 * 17, 16, 0});
  // large enough to run on threads: a [1000, 1000] + b [1000, 1]
  v.push_back({"large", {1000, 1000}, {1000, 1}, {1, 0}, 1000000, 1000, 0, 0});
  return v;
}

template <class T> void checkBinary(int dtype) {
  uint32_t seed = 500;
  for (int op = 0; op < DITC_RT_BINARY_COUNT; ++op) {
    if (!opTakes(op, dtype))
      continue;
    for (const BinaryLayout &L : binaryLayouts()) {
      SCOPED_TRACE("op " + std::to_string(op) + " layout " + L.name);
      std::vector<T> a = operands<T>(op, L.a_count, seed++, false);
      std::vector<T> b = operands<T>(op, L.b_count, seed++, true);
      if (std::string(L.name) == "same" && op != DITC_RT_BINARY_DIV &&
          op != DITC_RT_BINARY_POW)
        for (int64_t i = 0; i < L.a_count; i += 5)
          b[i] = a[i]; // equal pairs
      int64_t n = product(L.shape);
      std::vector<double> want(n);
      int64_t o = 0;
      forEachIndex(L.shape, [&](const std::vector<int64_t> &idx) {
        want[o++] = refBinary<T>(op, a[L.a_off + dot(idx, L.as)],
                                 b[L.b_off + dot(idx, L.bs)]);
      });
      if (isComparison(op) || dtype == DITC_RT_B8) {
        std::vector<uint8_t> out(n, 9);
        ditc_rt_binary(op, dtype, a.data() + L.a_off, L.as.data(),
                       b.data() + L.b_off, L.bs.data(), out.data(),
                       L.shape.data(), (int32_t)L.shape.size());
        for (int64_t i = 0; i < n; ++i)
          ASSERT_EQ((double)out[i], want[i]) << "at " << i;
      } else {
        std::vector<T> out(n);
        ditc_rt_binary(op, dtype, a.data() + L.a_off, L.as.data(),
                       b.data() + L.b_off, L.bs.data(), out.data(),
                       L.shape.data(), (int32_t)L.shape.size());
        if constexpr (std::is_floating_point_v<T>) {
          EXPECT_REL_L2(out, want, 1e-6);
        } else {
          for (int64_t i = 0; i < n; ++i)
            ASSERT_EQ((double)out[i], want[i]) << "at " << i;
        }
      }
    }
  }
}

class BinaryTest : public IsaTest {};

TEST_P(BinaryTest, F32) { checkBinary<float>(DITC_RT_F32); }
TEST_P(BinaryTest, I64) { checkBinary<int64_t>(DITC_RT_I64); }
TEST_P(BinaryTest, I32) { checkBinary<int32_t>(DITC_RT_I32); }
TEST_P(BinaryTest, B8) { checkBinary<uint8_t>(DITC_RT_B8); }

TEST_P(BinaryTest, ThreadCounts) {
  for (int t : {1, 3}) {
    ditc_rt_set_num_threads(t);
    checkBinary<float>(DITC_RT_F32);
  }
}

TEST_P(BinaryTest, FloatMaxMinPropagateNan) {
  std::vector<float> a = {1.f, std::nanf(""), 3.f}, b = {std::nanf(""), 2.f, 1.f};
  std::vector<float> y(3);
  int64_t shape[] = {3}, st[] = {1};
  ditc_rt_binary(DITC_RT_BINARY_MAX, DITC_RT_F32, a.data(), st, b.data(), st,
                 y.data(), shape, 1);
  EXPECT_TRUE(std::isnan(y[0]));
  EXPECT_TRUE(std::isnan(y[1]));
  EXPECT_EQ(y[2], 3.f);
  ditc_rt_binary(DITC_RT_BINARY_MIN, DITC_RT_F32, a.data(), st, b.data(), st,
                 y.data(), shape, 1);
  EXPECT_TRUE(std::isnan(y[0]));
  EXPECT_TRUE(std::isnan(y[1]));
  EXPECT_EQ(y[2], 1.f);
}

TEST_P(BinaryTest, IntegerEdgeCases) {
  std::vector<int64_t> a = {INT64_MIN, 7, -7, 5}, b = {-1, 0, 2, -2};
  std::vector<int64_t> y(4);
  int64_t shape[] = {4}, st[] = {1};
  ditc_rt_binary(DITC_RT_BINARY_DIV, DITC_RT_I64, a.data(), st, b.data(), st,
                 y.data(), shape, 1);
  EXPECT_EQ(y[0], INT64_MIN); // wraps
  EXPECT_EQ(y[1], 0);         // x / 0
  EXPECT_EQ(y[2], -3);        // truncates
  EXPECT_EQ(y[3], -2);
}

DITC_INSTANTIATE_ISA(BinaryTest);

//===--- Where -----------------------------------------------------------===//

template <class T> void checkWhere(int dtype, uint32_t seed) {
  // cond [5,1,33] (reversed along the last dim), x [1,4,33], y [5,4,1]
  std::vector<int64_t> shape = {5, 4, 33};
  std::vector<uint8_t> c = randomInts<uint8_t>(5 * 33, seed, 0, 3);
  std::vector<T> x = randomInts<T>(4 * 33, seed + 1, 0, 100);
  std::vector<T> y = randomInts<T>(5 * 4, seed + 2, 0, 100);
  std::vector<int64_t> cs = {33, 0, -1}, xs = {0, 33, 1}, ys = {4, 1, 0};
  const int64_t c_off = 32;
  std::vector<T> out(product(shape)), want(out.size());
  int64_t o = 0;
  forEachIndex(shape, [&](const std::vector<int64_t> &idx) {
    want[o++] = c[c_off + dot(idx, cs)] ? x[dot(idx, xs)] : y[dot(idx, ys)];
  });
  ditc_rt_where(dtype, c.data() + c_off, cs.data(), x.data(), xs.data(),
                y.data(), ys.data(), out.data(), shape.data(), 3);
  EXPECT_EQ(out, want);
  // contiguous, large
  int64_t n = 200001;
  std::vector<uint8_t> c2 = randomBools(n, seed + 3);
  std::vector<T> x2 = randomInts<T>(n, seed + 4, 0, 100),
                 y2 = randomInts<T>(n, seed + 5, 0, 100), o2(n), w2(n);
  for (int64_t i = 0; i < n; ++i)
    w2[i] = c2[i] ? x2[i] : y2[i];
  int64_t st[] = {1};
  ditc_rt_where(dtype, c2.data(), st, x2.data(), st, y2.data(), st, o2.data(),
                &n, 1);
  EXPECT_EQ(o2, w2);
}

class WhereTest : public IsaTest {};
TEST_P(WhereTest, AllElementSizes) {
  checkWhere<int64_t>(DITC_RT_I64, 1);
  checkWhere<int32_t>(DITC_RT_I32, 2);
  checkWhere<uint8_t>(DITC_RT_B8, 3);
  checkWhere<uint16_t>(DITC_RT_F16, 4);
  // floats, by value
  std::vector<float> x = randomFloats(64, 5), y = randomFloats(64, 6), o(64);
  std::vector<uint8_t> c = randomBools(64, 7);
  int64_t n = 64, st[] = {1};
  ditc_rt_where(DITC_RT_F32, c.data(), st, x.data(), st, y.data(), st,
                o.data(), &n, 1);
  for (int i = 0; i < 64; ++i)
    EXPECT_EQ(o[i], c[i] ? x[i] : y[i]);
}
DITC_INSTANTIATE_ISA(WhereTest);

//===--- Cast ------------------------------------------------------------===//

// IEEE half from float, round to nearest even, computed in double.
uint16_t refF32ToF16(float f) {
  uint16_t sign = std::signbit(f) ? 0x8000 : 0;
  if (std::isnan(f))
    return 0x7e00 | sign;
  double a = std::fabs((double)f);
  if (a >= 65520.0)
    return sign | 0x7c00;
  if (a < std::ldexp(1.0, -14)) { // subnormal (or zero)
    double m = std::nearbyint(a / std::ldexp(1.0, -24));
    return sign | (uint16_t)m; // m == 1024 is the smallest normal
  }
  int e = std::ilogb(a);
  double m = std::nearbyint(a / std::ldexp(1.0, e - 10));
  if (m == 2048) {
    m = 1024;
    ++e;
  }
  if (e > 15)
    return sign | 0x7c00;
  return sign | (uint16_t)((e + 15) << 10) | (uint16_t)(m - 1024);
}
double refF16ToF64(uint16_t h) {
  int e = (h >> 10) & 31, m = h & 1023;
  double s = (h & 0x8000) ? -1 : 1;
  if (e == 0)
    return s * std::ldexp((double)m, -24);
  if (e == 31)
    return m ? std::nan("") : s * INFINITY;
  return s * std::ldexp((double)(1024 + m), e - 25);
}
uint16_t refF32ToBF16(float f) {
  uint16_t sign = std::signbit(f) ? 0x8000 : 0;
  if (std::isnan(f))
    return 0x7fc0 | sign;
  double a = std::fabs((double)f);
  if (a == 0)
    return sign;
  if (std::isinf(a))
    return sign | 0x7f80;
  int e = std::ilogb(a);
  if (e < -126)
    e = -126; // subnormal: fixed quantum 2^-133
  double m = std::nearbyint(a / std::ldexp(1.0, e - 7));
  double v = m * std::ldexp(1.0, e - 7);
  if (v >= std::ldexp(1.0, 128))
    return sign | 0x7f80;
  float r = (float)v; // exact: 8 significant bits
  uint32_t u;
  std::memcpy(&u, &r, 4);
  return sign | (uint16_t)((u >> 16) & 0x7fff);
}
double refBF16ToF64(uint16_t h) {
  uint32_t u = (uint32_t)h << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

template <class I> double refFloatToInt(double f) {
  if (std::isnan(f))
    return 0;
  double lo = (double)std::numeric_limits<I>::min();
  double hi = (double)std::numeric_limits<I>::max();
  if (f <= lo)
    return (double)std::numeric_limits<I>::min();
  if (f >= hi)
    return (double)std::numeric_limits<I>::max();
  return std::trunc(f);
}

// The values a test sends through cast, as doubles, per source dtype.
std::vector<double> castSource(int dtype, int64_t n, uint32_t seed) {
  std::vector<double> v;
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(-1000, 1000);
  for (int64_t i = 0; i < n; ++i) {
    switch (dtype) {
    case DITC_RT_F32:
    case DITC_RT_F16:
    case DITC_RT_BF16: {
      static const double special[] = {
          0.0,    -0.0,      0.5,      -1.5,   2.5,     65504,   65519.9,
          65520,  1e5,       -1e5,     1e-8,   -3e-6,   6.1e-5,  1e-40,
          3e9,    -3e9,      1e20,     -1e20,  INFINITY, -INFINITY, NAN,
          1.00048828125, 1.000732421875};
      const int ns = sizeof(special) / sizeof(special[0]);
      double x = i < ns ? special[i] : u(rng);
      if (i >= ns && i % 3 == 0)
        x = std::ldexp(u(rng) / 1000, (int)(i % 40) - 20);
      v.push_back((double)(float)x);
      break;
    }
    case DITC_RT_I64:
      v.push_back((double)(int64_t)std::ldexp(u(rng), (int)(i % 50)));
      break;
    case DITC_RT_I32:
      v.push_back((double)(int32_t)std::ldexp(u(rng), (int)(i % 21)));
      break;
    case DITC_RT_B8:
      v.push_back((double)(i % 3)); // 2 is true too
      break;
    }
  }
  return v;
}

// Encodes doubles into a typed buffer of `dtype` (inputs are representable).
std::vector<uint8_t> encode(int dtype, const std::vector<double> &v) {
  size_t es = dtype == DITC_RT_I64 ? 8 : dtype == DITC_RT_B8 ? 1
              : (dtype == DITC_RT_F16 || dtype == DITC_RT_BF16) ? 2 : 4;
  std::vector<uint8_t> buf(v.size() * es);
  for (size_t i = 0; i < v.size(); ++i) {
    uint8_t *p = buf.data() + i * es;
    switch (dtype) {
    case DITC_RT_F32: {
      float f = (float)v[i];
      std::memcpy(p, &f, 4);
      break;
    }
    case DITC_RT_I64: {
      int64_t x = (int64_t)v[i];
      std::memcpy(p, &x, 8);
      break;
    }
    case DITC_RT_I32: {
      int32_t x = (int32_t)v[i];
      std::memcpy(p, &x, 4);
      break;
    }
    case DITC_RT_B8:
      *p = (uint8_t)v[i];
      break;
    case DITC_RT_F16: {
      uint16_t h = refF32ToF16((float)v[i]);
      std::memcpy(p, &h, 2);
      break;
    }
    case DITC_RT_BF16: {
      uint16_t h = refF32ToBF16((float)v[i]);
      std::memcpy(p, &h, 2);
      break;
    }
    }
  }
  return buf;
}

// The value each source element holds (after encoding), as a double.
double sourceValue(int dtype, const uint8_t *p) {
  switch (dtype) {
  case DITC_RT_F32: {
    float f;
    std::memcpy(&f, p, 4);
    return f;
  }
  case DITC_RT_I64: {
    int64_t x;
    std::memcpy(&x, p, 8);
    return (double)x;
  }
  case DITC_RT_I32: {
    int32_t x;
    std::memcpy(&x, p, 4);
    return x;
  }
  case DITC_RT_B8:
    return *p;
  case DITC_RT_F16: {
    uint16_t h;
    std::memcpy(&h, p, 2);
    return refF16ToF64(h);
  }
  case DITC_RT_BF16: {
    uint16_t h;
    std::memcpy(&h, p, 2);
    return refBF16ToF64(h);
  }
  }
  return 0;
}

size_t dtypeSize(int dtype) {
  return dtype == DITC_RT_I64 ? 8 : dtype == DITC_RT_B8 ? 1
         : (dtype == DITC_RT_F16 || dtype == DITC_RT_BF16) ? 2 : 4;
}

class CastTest : public IsaTest {};

TEST_P(CastTest, AllPairs) {
  const int dtypes[] = {DITC_RT_F32, DITC_RT_I64, DITC_RT_I32,
                        DITC_RT_B8,  DITC_RT_F16, DITC_RT_BF16};
  for (int64_t n : {int64_t(40), int64_t(70001)})
    for (int s : dtypes)
      for (int d : dtypes) {
        SCOPED_TRACE("cast " + std::to_string(s) + " -> " + std::to_string(d) +
                     " n=" + std::to_string(n));
        std::vector<uint8_t> src = encode(s, castSource(s, n, 77 + s));
        std::vector<uint8_t> dst(n * dtypeSize(d), 0xcd);
        ditc_rt_cast(s, d, src.data(), dst.data(), n);
        for (int64_t i = 0; i < n; ++i) {
          const uint8_t *ps = src.data() + i * dtypeSize(s);
          const uint8_t *pd = dst.data() + i * dtypeSize(d);
          double x = sourceValue(s, ps);
          if (s == DITC_RT_B8)
            x = x != 0; // any nonzero byte is true
          bool src_float = s == DITC_RT_F32 || s == DITC_RT_F16 ||
                           s == DITC_RT_BF16;
          switch (d) {
          case DITC_RT_F32: {
            float got;
            std::memcpy(&got, pd, 4);
            if (std::isnan(x))
              ASSERT_TRUE(std::isnan(got)) << i;
            else if (s == DITC_RT_I64) // int64 -> float rounds once
              ASSERT_EQ(got, (float)(int64_t)x) << i;
            else
              ASSERT_EQ(got, (float)x) << i;
            break;
          }
          case DITC_RT_I64: {
            int64_t got;
            std::memcpy(&got, pd, 8);
            double want = src_float ? refFloatToInt<int64_t>(x) : x;
            ASSERT_EQ((double)got, want) << i << " from " << x;
            break;
          }
          case DITC_RT_I32: {
            int32_t got;
            std::memcpy(&got, pd, 4);
            double want = src_float ? refFloatToInt<int32_t>(x)
                          : s == DITC_RT_I64
                              ? (double)(int32_t)(uint32_t)(uint64_t)(int64_t)x
                              : x;
            ASSERT_EQ((double)got, want) << i << " from " << x;
            break;
          }
          case DITC_RT_B8:
            ASSERT_EQ(*pd, x != 0 ? 1 : 0) << i << " from " << x;
            break;
          case DITC_RT_F16:
          case DITC_RT_BF16: {
            uint16_t got;
            std::memcpy(&got, pd, 2);
            float xf = s == DITC_RT_I64 ? (float)(int64_t)x : (float)x;
            uint16_t want = d == DITC_RT_F16 ? refF32ToF16(xf) : refF32ToBF16(xf);
            if (std::isnan(x))
              ASSERT_TRUE(std::isnan(d == DITC_RT_F16 ? refF16ToF64(got)
                                                      : refBF16ToF64(got)))
                  << i;
            else
              ASSERT_EQ(got, want) << i << " from " << x;
            break;
          }
          }
        }
      }
}
DITC_INSTANTIATE_ISA(CastTest);

} // namespace
