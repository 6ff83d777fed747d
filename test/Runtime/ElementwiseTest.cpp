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
    ditc_rt_is_nan(DITC_RT_F32, x.data(), y.data(), n);
    for (int64_t i = 0; i < n; ++i)
      ASSERT_EQ(y[i], i % 3 == 0 ? 1 : 0) << i;
    std::vector<uint8_t> b = randomInts<uint8_t>(n, 10, 0, 3), nb(n, 7);
    ditc_rt_not_b8(b.data(), nb.data(), n);
    for (int64_t i = 0; i < n; ++i)
      ASSERT_EQ(nb[i], b[i] == 0 ? 1 : 0) << i;
  }
}

// erf stays within [-1, 1], so gelu keeps its sign in the far tails (the
// rational erf overshot -1 near x = -3.8 and gelu(-5.4) came out positive).
TEST_P(UnaryTest, ErfBoundedGeluKeepsSign) {
  std::vector<float> x;
  for (float v = -8.f; v <= 8.f; v += 1.f / 64)
    x.push_back(v);
  ASSERT_EQ(x.size(), 1025u);
  std::vector<float> e(x.size()), g(x.size());
  ditc_rt_unary_f32(DITC_RT_UNARY_ERF, x.data(), e.data(), (int64_t)x.size());
  ditc_rt_unary_f32(DITC_RT_UNARY_GELU, x.data(), g.data(), (int64_t)x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    EXPECT_LE(std::fabs(e[i]), 1.f) << "erf(" << x[i] << ")";
    if (x[i] < 0)
      EXPECT_LE(g[i], 0.f) << "gelu(" << x[i] << ")";
  }
}

DITC_INSTANTIATE_ISA(UnaryTest);

//===--- Binary ----------------------------------------------------------===//

// f32, f64, f16 (libstdc++ 12 does not count _Float16 as floating point).
template <class T>
constexpr bool kFloat = std::is_floating_point_v<T> || std::is_same_v<T, _Float16>;

// Every binary dtype with its C type; B8 and U8 share uint8_t.
template <class F> void forEachBinaryDtype(F f) {
  f(DITC_RT_F32, float{});
  f(DITC_RT_F64, double{});
  f(DITC_RT_F16, _Float16{});
  f(DITC_RT_I64, int64_t{});
  f(DITC_RT_I32, int32_t{});
  f(DITC_RT_I16, int16_t{});
  f(DITC_RT_I8, int8_t{});
  f(DITC_RT_U64, uint64_t{});
  f(DITC_RT_U32, uint32_t{});
  f(DITC_RT_U16, uint16_t{});
  f(DITC_RT_U8, uint8_t{});
  f(DITC_RT_B8, uint8_t{});
}

bool isFloatDtype(int dtype) {
  return dtype == DITC_RT_F32 || dtype == DITC_RT_F64 || dtype == DITC_RT_F16 ||
         dtype == DITC_RT_BF16;
}
// The op / dtype table of ditc_kernels.h, written out.
bool opTakes(int op, int dtype) {
  bool arith = op <= DITC_RT_BINARY_POW || op == DITC_RT_BINARY_MOD ||
               op == DITC_RT_BINARY_FMOD;
  bool bitwise = op >= DITC_RT_BINARY_AND && op <= DITC_RT_BINARY_XOR;
  if (arith)
    return dtype != DITC_RT_B8;
  if (bitwise)
    return !isFloatDtype(dtype);
  return true;
}

// The documented semantics, written out independently of the kernel:
// integers in 64-bit (wrapping unsigned) arithmetic, floats in double, the
// result rounded once to T.
template <class T> T refArith(int op, T a, T b, bool isb) {
  if constexpr (kFloat<T>) {
    double x = (double)a, y = (double)b;
    switch (op) {
    case DITC_RT_BINARY_ADD:
      return (T)(x + y);
    case DITC_RT_BINARY_SUB:
      return (T)(x - y);
    case DITC_RT_BINARY_MUL:
      return (T)(x * y);
    case DITC_RT_BINARY_DIV:
      return (T)(x / y);
    case DITC_RT_BINARY_POW:
      return (T)std::pow(x, y);
    case DITC_RT_BINARY_MAX:
    case DITC_RT_BINARY_MIN:
      if (std::isnan(x) || std::isnan(y))
        return (T)NAN;
      return (op == DITC_RT_BINARY_MAX) == (x > y) ? a : b;
    case DITC_RT_BINARY_FMOD:
      return (T)std::fmod(x, y);
    case DITC_RT_BINARY_MOD: {
      double r = std::fmod(x, y);
      return (T)(r != 0 && (r < 0) != (y < 0) ? r + y : r);
    }
    }
  } else {
    using W = std::conditional_t<std::is_signed_v<T>, int64_t, uint64_t>;
    W x = a, y = b;
    uint64_t ux = (uint64_t)x, uy = (uint64_t)y;
    switch (op) {
    case DITC_RT_BINARY_ADD:
      return (T)(ux + uy);
    case DITC_RT_BINARY_SUB:
      return (T)(ux - uy);
    case DITC_RT_BINARY_MUL:
      return (T)(ux * uy);
    case DITC_RT_BINARY_DIV:
      if (y == 0)
        return 0;
      if (std::is_signed_v<T> && y == (W)-1)
        return (T)(0 - ux);
      return (T)(x / y);
    case DITC_RT_BINARY_POW: {
      if (std::is_signed_v<T> && y < 0)
        return x == 1 ? 1 : x == (W)-1 ? (T)((y % 2) ? -1 : 1) : 0;
      uint64_t r = 1;
      for (W i = 0; i < y; ++i)
        r *= ux;
      return (T)r;
    }
    case DITC_RT_BINARY_MAX:
      return x > y ? a : b;
    case DITC_RT_BINARY_MIN:
      return x < y ? a : b;
    case DITC_RT_BINARY_FMOD:
    case DITC_RT_BINARY_MOD: {
      if (y == 0 || (std::is_signed_v<T> && y == (W)-1))
        return 0;
      W r = x % y;
      if (op == DITC_RT_BINARY_MOD && r != 0 && (r < 0) != (y < 0))
        r += y;
      return (T)r;
    }
    case DITC_RT_BINARY_AND:
      return isb ? (x != 0 && y != 0) : (T)(ux & uy);
    case DITC_RT_BINARY_OR:
      return isb ? (x != 0 || y != 0) : (T)(ux | uy);
    case DITC_RT_BINARY_XOR:
      return isb ? ((x != 0) != (y != 0)) : (T)(ux ^ uy);
    }
  }
  ADD_FAILURE() << "no reference for op " << op;
  return 0;
}

// Any bit pattern of T, uniformly.
template <class T> std::vector<T> randomBits(size_t n, uint32_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<T> v(n);
  for (auto &x : v)
    x = (T)rng();
  return v;
}

template <class T>
std::vector<T> operands(int op, int dtype, size_t n, uint32_t seed, bool rhs) {
  const bool divides = op == DITC_RT_BINARY_DIV || op == DITC_RT_BINARY_MOD ||
                       op == DITC_RT_BINARY_FMOD;
  if constexpr (kFloat<T>) {
    std::vector<float> f;
    if (op == DITC_RT_BINARY_POW)
      f = rhs ? randomFloats(n, seed, -2.f, 2.f) : randomFloats(n, seed, 0.1f, 3.f);
    else
      f = randomFloats(n, seed, -4.f, 4.f);
    if (divides && rhs)
      for (float &x : f)
        x = x < 0 ? x - 0.5f : x + 0.5f;
    // some equal pairs for the comparisons, integral values for mod
    for (size_t i = 0; i < n && op != DITC_RT_BINARY_POW; i += 4)
      f[i] = (float)(int)(f[i] * 2);
    if (divides && rhs)
      for (float &x : f)
        x = x == 0 ? 1.f : x;
    std::vector<T> v(n);
    for (size_t i = 0; i < n; ++i) // f64 gets bits beyond f32 too
      v[i] = (T)(std::is_same_v<T, double> ? f[i] * (1.0 + 1e-12 * (i % 7))
                                           : (double)f[i]);
    return v;
  } else if (dtype == DITC_RT_B8) {
    return randomInts<T>(n, seed, 0, 2);
  } else {
    const bool sgn = std::is_signed_v<T>;
    if (op == DITC_RT_BINARY_POW)
      return rhs ? randomInts<T>(n, seed, sgn ? -2 : 0, 6)
                 : randomInts<T>(n, seed, sgn ? -5 : 0, 5);
    if (op == DITC_RT_BINARY_MUL || op == DITC_RT_BINARY_ADD ||
        op == DITC_RT_BINARY_SUB || (divides && !rhs)) {
      auto v = randomBits<T>(n, seed); // wraps
      auto w = randomInts<T>(n, seed + 99, sgn ? -6 : 0, 6);
      for (size_t i = 0; i < n; i += 2)
        v[i] = w[i];
      return v;
    }
    return randomInts<T>(n, seed, sgn ? -20 : 0, 20); // DIV, MOD see zeros
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

// Every op `dtype` takes on every layout; the large one (threads) only when
// `large`.
template <class T> void checkBinary(int dtype, bool large) {
  uint32_t seed = 500;
  const bool isb = dtype == DITC_RT_B8;
  for (int op = 0; op < DITC_RT_BINARY_COUNT; ++op) {
    if (!opTakes(op, dtype))
      continue;
    EXPECT_TRUE(ditc_rt_binary_dtypes(op) & (1u << dtype)) << op;
    for (const BinaryLayout &L : binaryLayouts()) {
      if (!large && L.shape.size() == 2 && L.shape[0] == 1000)
        continue;
      SCOPED_TRACE("dtype " + std::to_string(dtype) + " op " +
                   std::to_string(op) + " layout " + L.name);
      std::vector<T> a = operands<T>(op, dtype, L.a_count, seed++, false);
      std::vector<T> b = operands<T>(op, dtype, L.b_count, seed++, true);
      if (std::string(L.name) == "same" && op != DITC_RT_BINARY_DIV &&
          op != DITC_RT_BINARY_POW && op != DITC_RT_BINARY_MOD &&
          op != DITC_RT_BINARY_FMOD)
        for (int64_t i = 0; i < L.a_count; i += 5)
          b[i] = a[i]; // equal pairs
      const int64_t n = product(L.shape);
      const bool cmp = isComparison(op);
      std::vector<T> want(n), out(n);
      std::vector<uint8_t> want_b(n), out_b(n, 9);
      int64_t o = 0;
      forEachIndex(L.shape, [&](const std::vector<int64_t> &idx) {
        T x = a[L.a_off + dot(idx, L.as)], y = b[L.b_off + dot(idx, L.bs)];
        if (isb) { // any non-zero byte is true
          x = x != 0;
          y = y != 0;
        }
        if (cmp)
          want_b[o++] = refCompare<T>(op, x, y);
        else
          want[o++] = refArith<T>(op, x, y, isb);
      });
      ditc_rt_binary(op, dtype, a.data() + L.a_off, L.as.data(),
                     b.data() + L.b_off, L.bs.data(),
                     cmp ? (void *)out_b.data() : (void *)out.data(),
                     L.shape.data(), (int32_t)L.shape.size());
      if (cmp) {
        for (int64_t i = 0; i < n; ++i)
          ASSERT_EQ(out_b[i], want_b[i]) << "at " << i;
      } else if constexpr (kFloat<T>) {
        std::vector<double> got(out.begin(), out.end()),
            ref(want.begin(), want.end());
        const double tol = std::is_same_v<T, _Float16> ? 1e-3 : 1e-6;
        EXPECT_REL_L2(got, ref, tol);
      } else {
        for (int64_t i = 0; i < n; ++i)
          ASSERT_EQ(+out[i], +want[i]) << "at " << i;
      }
    }
  }
}

class BinaryTest : public IsaTest {};

TEST_P(BinaryTest, EveryDtype) {
  forEachBinaryDtype([](int dtype, auto t) {
    checkBinary<decltype(t)>(dtype, dtype <= DITC_RT_B8);
  });
}

TEST_P(BinaryTest, ThreadCounts) {
  for (int t : {1, 3}) {
    ditc_rt_set_num_threads(t);
    checkBinary<float>(DITC_RT_F32, true);
    checkBinary<int8_t>(DITC_RT_I8, true);
  }
}

TEST_P(BinaryTest, DtypeTable) {
  for (int op = 0; op < DITC_RT_BINARY_COUNT; ++op)
    for (int d = 0; d < DITC_RT_DTYPE_COUNT; ++d)
      EXPECT_EQ((ditc_rt_binary_dtypes(op) >> d) & 1, opTakes(op, d))
          << "op " << op << " dtype " << d;
  EXPECT_EQ(ditc_rt_binary_dtypes(-1), 0u);
  EXPECT_EQ(ditc_rt_binary_dtypes(DITC_RT_BINARY_COUNT), 0u);
}

template <class T> void checkNanPropagation(int dtype) {
  T nan = (T)NAN;
  std::vector<T> a = {(T)1, nan, (T)3}, b = {nan, (T)2, (T)1}, y(3);
  int64_t shape[] = {3}, st[] = {1};
  ditc_rt_binary(DITC_RT_BINARY_MAX, dtype, a.data(), st, b.data(), st,
                 y.data(), shape, 1);
  EXPECT_TRUE(y[0] != y[0]);
  EXPECT_TRUE(y[1] != y[1]);
  EXPECT_TRUE(y[2] == (T)3);
  ditc_rt_binary(DITC_RT_BINARY_MIN, dtype, a.data(), st, b.data(), st,
                 y.data(), shape, 1);
  EXPECT_TRUE(y[0] != y[0]);
  EXPECT_TRUE(y[1] != y[1]);
  EXPECT_TRUE(y[2] == (T)1);
}

TEST_P(BinaryTest, FloatMaxMinPropagateNan) {
  checkNanPropagation<float>(DITC_RT_F32);
  checkNanPropagation<double>(DITC_RT_F64);
  checkNanPropagation<_Float16>(DITC_RT_F16);
}

// One op on equal-length vectors.
template <class T>
std::vector<T> run1d(int op, int dtype, const std::vector<T> &a,
                     const std::vector<T> &b) {
  std::vector<T> y(a.size());
  int64_t shape[] = {(int64_t)a.size()}, st[] = {1};
  ditc_rt_binary(op, dtype, a.data(), st, b.data(), st, y.data(), shape, 1);
  return y;
}

TEST_P(BinaryTest, IntegerEdgeCases) {
  std::vector<int64_t> y = run1d<int64_t>(
      DITC_RT_BINARY_DIV, DITC_RT_I64, {INT64_MIN, 7, -7, 5}, {-1, 0, 2, -2});
  EXPECT_EQ(y, (std::vector<int64_t>{INT64_MIN, 0, -3, -2})); // wraps, x/0 = 0
  // narrow types wrap; unsigned compare as unsigned
  EXPECT_EQ(run1d<int8_t>(DITC_RT_BINARY_ADD, DITC_RT_I8, {127, -128}, {1, -1}),
            (std::vector<int8_t>{-128, 127}));
  EXPECT_EQ(run1d<int16_t>(DITC_RT_BINARY_DIV, DITC_RT_I16, {-32768, 9}, {-1, -2}),
            (std::vector<int16_t>{-32768, -4}));
  EXPECT_EQ(run1d<uint16_t>(DITC_RT_BINARY_MUL, DITC_RT_U16, {65535, 300}, {65535, 300}),
            (std::vector<uint16_t>{1, 24464}));
  EXPECT_EQ(run1d<uint8_t>(DITC_RT_BINARY_SUB, DITC_RT_U8, {0, 200}, {1, 100}),
            (std::vector<uint8_t>{255, 100}));
  EXPECT_EQ(run1d<uint32_t>(DITC_RT_BINARY_DIV, DITC_RT_U32, {4000000000u, 7}, {3, 0}),
            (std::vector<uint32_t>{1333333333u, 0}));
  EXPECT_EQ(run1d<uint64_t>(DITC_RT_BINARY_MAX, DITC_RT_U64, {(1ull << 63) + 5, 2}, {3, 1ull << 63}),
            (std::vector<uint64_t>{(1ull << 63) + 5, 1ull << 63}));
  std::vector<uint64_t> a = {(1ull << 63) + 5}, b = {3};
  uint8_t gt = 9;
  int64_t shape[] = {1}, st[] = {1};
  ditc_rt_binary(DITC_RT_BINARY_GREATER, DITC_RT_U64, a.data(), st, b.data(),
                 st, &gt, shape, 1);
  EXPECT_EQ(gt, 1);
}

TEST_P(BinaryTest, ModSigns) {
  // ONNX Mod: fmod = 0 takes the divisor's sign, fmod = 1 the dividend's.
  std::vector<int32_t> a = {7, -7, 7, -7, 5, INT32_MIN, 6, -6},
                       b = {3, 3, -3, -3, 0, -1, 3, -3};
  EXPECT_EQ(run1d(DITC_RT_BINARY_MOD, DITC_RT_I32, a, b),
            (std::vector<int32_t>{1, 2, -2, -1, 0, 0, 0, 0}));
  EXPECT_EQ(run1d(DITC_RT_BINARY_FMOD, DITC_RT_I32, a, b),
            (std::vector<int32_t>{1, -1, 1, -1, 0, 0, 0, 0}));
  EXPECT_EQ(run1d<int8_t>(DITC_RT_BINARY_MOD, DITC_RT_I8, {-128, 127}, {3, -2}),
            (std::vector<int8_t>{1, -1}));
  EXPECT_EQ(run1d<uint8_t>(DITC_RT_BINARY_MOD, DITC_RT_U8, {250, 9}, {7, 0}),
            (std::vector<uint8_t>{5, 0}));
  std::vector<float> fa = {-4.5f, 4.5f, -4.5f, 4.5f, 6.f},
                     fb = {2.f, -2.f, -2.f, 2.f, 3.f};
  EXPECT_EQ(run1d(DITC_RT_BINARY_FMOD, DITC_RT_F32, fa, fb),
            (std::vector<float>{-0.5f, 0.5f, -0.5f, 0.5f, 0.f}));
  EXPECT_EQ(run1d(DITC_RT_BINARY_MOD, DITC_RT_F32, fa, fb),
            (std::vector<float>{1.5f, -1.5f, -0.5f, 0.5f, 0.f}));
  std::vector<double> da = {-4.5, 1e300 + 1e284}, db = {2.0, 3.0};
  std::vector<double> dy = run1d(DITC_RT_BINARY_FMOD, DITC_RT_F64, da, db);
  EXPECT_EQ(dy[0], -0.5);
  EXPECT_EQ(dy[1], std::fmod(da[1], 3.0)); // computed in double
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


// Saturating, truncating; NaN is 0.
template <class I> I refFloatToInt(double f) {
  if (std::isnan(f))
    return 0;
  if (f <= (double)std::numeric_limits<I>::min())
    return std::numeric_limits<I>::min();
  if (f >= (double)std::numeric_limits<I>::max())
    return std::numeric_limits<I>::max();
  return (I)std::trunc(f);
}

enum Kind { kFloatKind, kSigned, kUnsigned, kBool };
struct DtypeInfo {
  int code;
  size_t size;
  Kind kind;
};
// In code order.
const DtypeInfo kDtypes[] = {
    {DITC_RT_F32, 4, kFloatKind}, {DITC_RT_I64, 8, kSigned},
    {DITC_RT_I32, 4, kSigned},    {DITC_RT_B8, 1, kBool},
    {DITC_RT_F16, 2, kFloatKind}, {DITC_RT_BF16, 2, kFloatKind},
    {DITC_RT_F64, 8, kFloatKind}, {DITC_RT_I8, 1, kSigned},
    {DITC_RT_U8, 1, kUnsigned},   {DITC_RT_I16, 2, kSigned},
    {DITC_RT_U16, 2, kUnsigned},  {DITC_RT_U32, 4, kUnsigned},
    {DITC_RT_U64, 8, kUnsigned},
};
static_assert(sizeof(kDtypes) / sizeof(kDtypes[0]) == DITC_RT_DTYPE_COUNT,
              "a dtype lacks a cast test");

// The low `size` bytes of an integer (x is an integer-valued double, in
// range of int64 or uint64).
uint64_t intBits(double x) {
  return x < 0 ? (uint64_t)(int64_t)x : (uint64_t)x;
}
uint64_t lowBits(uint64_t v, size_t size) {
  return size == 8 ? v : v & ((uint64_t(1) << (8 * size)) - 1);
}

// The values a test sends through cast, as doubles, per source dtype; each
// is representable in the source dtype except for the floats, which encode
// rounds.
std::vector<double> castSource(int dtype, int64_t n, uint32_t seed) {
  static const double special[] = {
      0.0,    -0.0,      0.5,      -1.5,   2.5,     65504,   65519.9,
      65520,  1e5,       -1e5,     1e-8,   -3e-6,   6.1e-5,  1e-40,
      3e9,    -3e9,      1e20,     -1e20,  INFINITY, -INFINITY, NAN,
      1.00048828125, 1.000732421875};
  // f64 only: a tie in f16 / bf16 plus a bit that f32 would lose (rounding
  // through f32 first goes the wrong way), beyond f32 and int ranges.
  static const double special64[] = {
      1 + 0x1p-11 + 0x1p-40, -(1 + 0x1p-11 + 0x1p-40), 1 + 0x1p-8 + 0x1p-40,
      -(1 + 0x1p-8 + 0x1p-40), 1 + 0x1p-24 + 0x1p-60, 1e300, -1e300, 1e-300,
      3.4e38 * 1.001, 0x1p63, -0x1p63, 0x1p64, 1e19, 4294967295.5,
      -2147483648.7, 65519.99999};
  const int ns = sizeof(special) / sizeof(special[0]);
  const int ns64 = sizeof(special64) / sizeof(special64[0]);
  std::vector<double> v;
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(-1000, 1000);
  for (int64_t i = 0; i < n; ++i) {
    double r = u(rng), x = 0;
    switch (dtype) {
    case DITC_RT_F32:
    case DITC_RT_F16:
    case DITC_RT_BF16:
      x = i < ns ? special[i] : r;
      if (i >= ns && i % 3 == 0)
        x = std::ldexp(r / 1000, (int)(i % 40) - 20);
      x = (double)(float)x;
      break;
    case DITC_RT_F64:
      x = i < ns64 ? special64[i] : i < ns64 + ns ? special[i - ns64] : r;
      if (i >= ns64 + ns && i % 3 == 0)
        x = std::ldexp(r / 1000, (int)(i % 80) - 40);
      break;
    case DITC_RT_I64:
      x = (double)(int64_t)std::ldexp(r, (int)(i % 50));
      break;
    case DITC_RT_I32:
      x = (double)(int32_t)std::ldexp(r, (int)(i % 21));
      break;
    case DITC_RT_I16:
      x = std::trunc(r * (i % 2 ? 32 : 1));
      break;
    case DITC_RT_I8:
      x = std::trunc(r / 8);
      break;
    case DITC_RT_U8:
      x = std::trunc(std::fabs(r) / 4);
      break;
    case DITC_RT_U16:
      x = std::trunc(std::fabs(r) * 65);
      break;
    case DITC_RT_U32:
      x = (double)(uint32_t)std::ldexp(std::fabs(r), (int)(i % 23));
      break;
    case DITC_RT_U64:
      x = (double)(uint64_t)std::ldexp(std::fabs(r), (int)(i % 54));
      break;
    case DITC_RT_B8:
      x = (double)(i % 3); // 2 is true too
      break;
    }
    v.push_back(x);
  }
  return v;
}

// Encodes doubles into a typed buffer of `dtype`; floats round to nearest
// even, integers must be in range.
std::vector<uint8_t> encode(int dtype, const std::vector<double> &v) {
  const DtypeInfo &t = kDtypes[dtype];
  std::vector<uint8_t> buf(v.size() * t.size);
  for (size_t i = 0; i < v.size(); ++i) {
    uint8_t *p = buf.data() + i * t.size;
    uint64_t bits = 0;
    if (dtype == DITC_RT_F32) {
      float f = (float)v[i];
      std::memcpy(&bits, &f, 4);
    } else if (dtype == DITC_RT_F64) {
      std::memcpy(&bits, &v[i], 8);
    } else if (dtype == DITC_RT_F16) {
      bits = refToF16(v[i]);
    } else if (dtype == DITC_RT_BF16) {
      bits = refToBF16(v[i]);
    } else {
      bits = intBits(v[i]);
    }
    std::memcpy(p, &bits, t.size); // little-endian
  }
  return buf;
}

// The value an element of `dtype` holds, as a double.
double decode(int dtype, const uint8_t *p) {
  const DtypeInfo &t = kDtypes[dtype];
  uint64_t bits = 0;
  std::memcpy(&bits, p, t.size);
  switch (dtype) {
  case DITC_RT_F32: {
    float f;
    std::memcpy(&f, p, 4);
    return f;
  }
  case DITC_RT_F64: {
    double d;
    std::memcpy(&d, p, 8);
    return d;
  }
  case DITC_RT_F16:
    return refF16ToF64((uint16_t)bits);
  case DITC_RT_BF16:
    return refBF16ToF64((uint16_t)bits);
  }
  if (t.kind == kSigned && t.size < 8 && (bits >> (8 * t.size - 1)) & 1)
    bits |= ~uint64_t(0) << (8 * t.size); // sign-extend
  return t.kind == kSigned ? (double)(int64_t)bits : (double)bits;
}

// The expected bits of an integer destination for a float source value.
uint64_t refFloatToIntBits(int dst, double x) {
  switch (dst) {
  case DITC_RT_I64:
    return (uint64_t)refFloatToInt<int64_t>(x);
  case DITC_RT_I32:
    return (uint64_t)refFloatToInt<int32_t>(x);
  case DITC_RT_I16:
    return (uint64_t)refFloatToInt<int16_t>(x);
  case DITC_RT_I8:
    return (uint64_t)refFloatToInt<int8_t>(x);
  case DITC_RT_U64:
    return refFloatToInt<uint64_t>(x);
  case DITC_RT_U32:
    return refFloatToInt<uint32_t>(x);
  case DITC_RT_U16:
    return refFloatToInt<uint16_t>(x);
  case DITC_RT_U8:
    return refFloatToInt<uint8_t>(x);
  }
  ADD_FAILURE() << "not an integer dtype " << dst;
  return 0;
}

class CastTest : public IsaTest {};

TEST_P(CastTest, AllPairs) {
  for (int64_t n : {int64_t(40), int64_t(70001)})
    for (const DtypeInfo &s : kDtypes)
      for (const DtypeInfo &d : kDtypes) {
        SCOPED_TRACE("cast " + std::to_string(s.code) + " -> " +
                     std::to_string(d.code) + " n=" + std::to_string(n));
        std::vector<uint8_t> src =
            encode(s.code, castSource(s.code, n, 77 + s.code));
        std::vector<uint8_t> dst(n * d.size, 0xcd);
        ditc_rt_cast(s.code, d.code, src.data(), dst.data(), n);
        for (int64_t i = 0; i < n; ++i) {
          double x = decode(s.code, src.data() + i * s.size);
          if (s.kind == kBool)
            x = x != 0; // any nonzero byte is true
          // Integers reach f16 / bf16 through f32 (rounding twice).
          double xr = s.kind == kFloatKind ? x : (double)(float)x;
          const uint8_t *pd = dst.data() + i * d.size;
          uint64_t got = 0;
          std::memcpy(&got, pd, d.size);
          uint64_t want = 0;
          switch (d.code) {
          case DITC_RT_F32: {
            float f = (float)x;
            std::memcpy(&want, &f, 4);
            break;
          }
          case DITC_RT_F64:
            std::memcpy(&want, &x, 8);
            break;
          case DITC_RT_F16:
            want = refToF16(xr);
            break;
          case DITC_RT_BF16:
            want = refToBF16(xr);
            break;
          case DITC_RT_B8:
            want = x != 0;
            break;
          default:
            want = lowBits(s.kind == kFloatKind ? refFloatToIntBits(d.code, x)
                                                : intBits(x),
                           d.size);
          }
          if (std::isnan(x) && d.kind == kFloatKind)
            ASSERT_TRUE(std::isnan(decode(d.code, pd))) << i;
          else
            ASSERT_EQ(got, want) << i << " from " << x;
        }
      }
}

TEST_P(CastTest, IsNanEveryFloatDtype) {
  for (int dtype : {DITC_RT_F32, DITC_RT_F64, DITC_RT_F16, DITC_RT_BF16})
    for (int64_t n : kSizes) {
      SCOPED_TRACE("dtype " + std::to_string(dtype) + " n=" + std::to_string(n));
      std::vector<double> v = castSource(DITC_RT_F64, n, 5);
      for (int64_t i = 0; i < n; i += 3)
        v[i] = std::nan("");
      std::vector<uint8_t> x = encode(dtype, v), y(n, 7);
      ditc_rt_is_nan(dtype, x.data(), y.data(), n);
      for (int64_t i = 0; i < n; ++i)
        ASSERT_EQ(y[i], std::isnan(v[i]) ? 1 : 0) << i;
    }
}
DITC_INSTANTIATE_ISA(CastTest);

} // namespace
