//===- elementwise.cpp - Unary, binary, where, cast ----------------------===//
#include "isa.h"

#include <limits>
#include <math.h>
#include <type_traits>

namespace ditc_rt {
namespace DITC_RT_ISA_NS {
namespace {

constexpr int64_t kCheapGrain = 32768; // elements per thread, at least
constexpr int64_t kCostlyGrain = 4096;

//===--- Unary -----------------------------------------------------------===//

// y = f(x) on whole vectors; the tail goes through the same vector code.
template <class F>
void unary_vec(const float *x, float *y, int64_t n, int64_t grain, F f) {
  int64_t nvec = (n + W - 1) / W;
  parallel_range(nvec, grain / W, [&](int64_t b, int64_t e) {
    int64_t i = b * W, end = e * W < n ? e * W : n;
    for (; i + W <= end; i += W)
      storeu(y + i, f(loadu(x + i)));
    if (i < end)
      store_part(y + i, f(load_part(x + i, end - i, 0.f)), end - i);
  });
}

template <class F>
void unary_scalar(const float *x, float *y, int64_t n, int64_t grain, F f) {
  parallel_range(n, grain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i)
      y[i] = f(x[i]);
  });
}

//===--- Dtypes ----------------------------------------------------------===//

// The C type of each dtype. B8 and U8 share uint8_t: code tells them apart.
template <int DT, class CT> struct DtBase {
  static constexpr int code = DT;
  using T = CT;
};
template <int DT> struct Dt;
template <> struct Dt<DITC_RT_F32> : DtBase<DITC_RT_F32, float> {};
template <> struct Dt<DITC_RT_I64> : DtBase<DITC_RT_I64, int64_t> {};
template <> struct Dt<DITC_RT_I32> : DtBase<DITC_RT_I32, int32_t> {};
template <> struct Dt<DITC_RT_B8> : DtBase<DITC_RT_B8, uint8_t> {};
template <> struct Dt<DITC_RT_F16> : DtBase<DITC_RT_F16, _Float16> {};
template <> struct Dt<DITC_RT_BF16> : DtBase<DITC_RT_BF16, uint16_t> {};
template <> struct Dt<DITC_RT_F64> : DtBase<DITC_RT_F64, double> {};
template <> struct Dt<DITC_RT_I8> : DtBase<DITC_RT_I8, int8_t> {};
template <> struct Dt<DITC_RT_U8> : DtBase<DITC_RT_U8, uint8_t> {};
template <> struct Dt<DITC_RT_I16> : DtBase<DITC_RT_I16, int16_t> {};
template <> struct Dt<DITC_RT_U16> : DtBase<DITC_RT_U16, uint16_t> {};
template <> struct Dt<DITC_RT_U32> : DtBase<DITC_RT_U32, uint32_t> {};
template <> struct Dt<DITC_RT_U64> : DtBase<DITC_RT_U64, uint64_t> {};

// Calls f(Dt<dtype>{}); false (f not called) for an unknown dtype.
template <class F> bool visit_dtype(int32_t dtype, F &&f) {
  switch (dtype) {
#define DITC_VISIT(DT)                                                         \
  case DT:                                                                     \
    f(Dt<DT>{});                                                               \
    return true;
    DITC_VISIT(DITC_RT_F32)
    DITC_VISIT(DITC_RT_I64)
    DITC_VISIT(DITC_RT_I32)
    DITC_VISIT(DITC_RT_B8)
    DITC_VISIT(DITC_RT_F16)
    DITC_VISIT(DITC_RT_BF16)
    DITC_VISIT(DITC_RT_F64)
    DITC_VISIT(DITC_RT_I8)
    DITC_VISIT(DITC_RT_U8)
    DITC_VISIT(DITC_RT_I16)
    DITC_VISIT(DITC_RT_U16)
    DITC_VISIT(DITC_RT_U32)
    DITC_VISIT(DITC_RT_U64)
#undef DITC_VISIT
  }
  return false;
}
static_assert(DITC_RT_DTYPE_COUNT == 13, "visit_dtype lacks a dtype");

// f32, f64 and f16 (libstdc++ 12 does not count _Float16 as floating point).
template <class T>
constexpr bool is_float_v =
    std::is_floating_point_v<T> || std::is_same_v<T, _Float16>;

//===--- Binary ----------------------------------------------------------===//

// Integer arithmetic in an unsigned type of at least int's width: wraps
// instead of overflowing (uint16 * uint16 would overflow int).
template <class T>
using UW = std::conditional_t<(sizeof(T) < sizeof(unsigned)), unsigned,
                              std::make_unsigned_t<T>>;

template <class T> DITC_INLINE T add_(T a, T b) {
  if constexpr (std::is_integral_v<T>)
    return (T)((UW<T>)a + (UW<T>)b);
  else
    return a + b;
}
template <class T> DITC_INLINE T sub_(T a, T b) {
  if constexpr (std::is_integral_v<T>)
    return (T)((UW<T>)a - (UW<T>)b);
  else
    return a - b;
}
template <class T> DITC_INLINE T mul_(T a, T b) {
  if constexpr (std::is_integral_v<T>)
    return (T)((UW<T>)a * (UW<T>)b);
  else
    return a * b;
}
template <class T> DITC_INLINE T div_(T a, T b) {
  if constexpr (std::is_integral_v<T>) {
    if (b == 0)
      return 0;
    if constexpr (std::is_signed_v<T>)
      if (b == -1)
        return (T)(UW<T>(0) - (UW<T>)a); // min / -1 wraps
    return (T)(a / b);
  } else {
    return a / b;
  }
}
template <class T> T ipow(T base, T e) {
  if constexpr (std::is_signed_v<T>) {
    if (e < 0) {
      if (base == 1)
        return 1;
      if (base == -1)
        return (e & 1) ? -1 : 1;
      return 0; // |base| > 1: truncates to 0 (base 0: no infinity for ints)
    }
  }
  UW<T> r = 1, b = (UW<T>)base;
  while (e) {
    if (e & 1)
      r *= b;
    b *= b;
    e >>= 1;
  }
  return (T)r;
}
template <class T> DITC_INLINE T pow_(T a, T b) {
  if constexpr (std::is_same_v<T, double>)
    return pow(a, b);
  else if constexpr (is_float_v<T>)
    return (T)powf((float)a, (float)b);
  else
    return ipow(a, b);
}
template <class T> DITC_INLINE T max_(T a, T b) {
  if constexpr (is_float_v<T>)
    return a != a ? a : (b != b ? b : (a > b ? a : b));
  else
    return a > b ? a : b;
}
template <class T> DITC_INLINE T min_(T a, T b) {
  if constexpr (is_float_v<T>)
    return a != a ? a : (b != b ? b : (a < b ? a : b));
  else
    return a < b ? a : b;
}
// The remainder with the sign of the dividend (C fmod, integer %); integer
// x % 0 is 0 (and min % -1, which traps in C, is 0 as it should be).
template <class T> DITC_INLINE T fmod_(T a, T b) {
  if constexpr (std::is_same_v<T, double>) {
    return fmod(a, b);
  } else if constexpr (is_float_v<T>) {
    return (T)fmodf((float)a, (float)b);
  } else {
    if (b == 0)
      return 0;
    if constexpr (std::is_signed_v<T>)
      if (b == -1)
        return 0;
    return (T)(a % b);
  }
}
// The remainder with the sign of the divisor (Python's %).
template <class T> DITC_INLINE T mod_(T a, T b) {
  T r = fmod_(a, b);
  if constexpr (std::is_signed_v<T> || is_float_v<T>)
    if (r != 0 && ((r < 0) != (b < 0)))
      r = (T)(r + b);
  return r;
}

// One functor per op: Out f(T, T).
#define DITC_BIN_OP(NAME, OUT, EXPR)                                          \
  template <class T> struct NAME {                                            \
    using Out = OUT;                                                          \
    static DITC_INLINE Out f(T a, T b) { return EXPR; }                       \
  };
DITC_BIN_OP(OpAdd, T, add_(a, b))
DITC_BIN_OP(OpSub, T, sub_(a, b))
DITC_BIN_OP(OpMul, T, mul_(a, b))
DITC_BIN_OP(OpDiv, T, div_(a, b))
DITC_BIN_OP(OpPow, T, pow_(a, b))
DITC_BIN_OP(OpMax, T, max_(a, b))
DITC_BIN_OP(OpMin, T, min_(a, b))
DITC_BIN_OP(OpMod, T, mod_(a, b))
DITC_BIN_OP(OpFmod, T, fmod_(a, b))
DITC_BIN_OP(OpEq, uint8_t, a == b)
DITC_BIN_OP(OpGt, uint8_t, a > b)
DITC_BIN_OP(OpLt, uint8_t, a < b)
DITC_BIN_OP(OpGe, uint8_t, a >= b)
DITC_BIN_OP(OpLe, uint8_t, a <= b)
DITC_BIN_OP(OpNe, uint8_t, a != b)
// Bitwise on integers, logical on bools.
DITC_BIN_OP(OpAnd, T, (T)(a & b))
DITC_BIN_OP(OpOr, T, (T)(a | b))
DITC_BIN_OP(OpXor, T, (T)(a ^ b))
DITC_BIN_OP(OpLogicalAnd, T, (a != 0) & (b != 0))
DITC_BIN_OP(OpLogicalOr, T, (a != 0) | (b != 0))
DITC_BIN_OP(OpLogicalXor, T, (a != 0) ^ (b != 0))
#undef DITC_BIN_OP

// On bools (any non-zero byte is true) the comparisons, max and min see
// 0 / 1, so that they write 0 / 1 and 2 == 1 holds.
template <class Op> struct OnBools {
  using Out = typename Op::Out;
  static DITC_INLINE Out f(uint8_t a, uint8_t b) {
    return Op::f(a != 0, b != 0);
  }
};
template <class Op, int DT>
using BoolsNormalized = std::conditional_t<DT == DITC_RT_B8, OnBools<Op>, Op>;

template <class Op, class T>
void binary_run(const Strided<3> &s, const T *a, const T *b,
                typename Op::Out *out) {
  using Out = typename Op::Out;
  const int last = s.rank - 1;
  const int64_t sa = s.stride[0][last], sb = s.stride[1][last];
  parallel_walk(s, kCheapGrain, [&](const int64_t *off, int64_t n) {
    const T *pa = a + off[0];
    const T *pb = b + off[1];
    Out *po = out + off[2]; // out is contiguous: its inner stride is 1
    if (sa == 1 && sb == 1) {
      for (int64_t i = 0; i < n; ++i)
        po[i] = Op::f(pa[i], pb[i]);
    } else if (sa == 1 && sb == 0) {
      const T bv = pb[0];
      if constexpr (std::is_same_v<Op, OpPow<float>>) {
        if (bv == 2.f) {
          for (int64_t i = 0; i < n; ++i)
            po[i] = pa[i] * pa[i];
          return;
        }
        if (bv == 1.f) {
          for (int64_t i = 0; i < n; ++i)
            po[i] = pa[i];
          return;
        }
      }
      for (int64_t i = 0; i < n; ++i)
        po[i] = Op::f(pa[i], bv);
    } else if (sa == 0 && sb == 1) {
      const T av = pa[0];
      for (int64_t i = 0; i < n; ++i)
        po[i] = Op::f(av, pb[i]);
    } else {
      for (int64_t i = 0; i < n; ++i)
        po[i] = Op::f(pa[i * sa], pb[i * sb]);
    }
  });
}

template <int DT>
void binary_typed(int32_t op, const Strided<3> &s, const void *a,
                  const void *b, void *out) {
  using T = typename Dt<DT>::T;
  const T *pa = static_cast<const T *>(a), *pb = static_cast<const T *>(b);
  uint8_t *pbool = static_cast<uint8_t *>(out);
  T *pt = static_cast<T *>(out);
  switch (op) {
  case DITC_RT_BINARY_EQUAL:
    return binary_run<BoolsNormalized<OpEq<T>, DT>>(s, pa, pb, pbool);
  case DITC_RT_BINARY_GREATER:
    return binary_run<BoolsNormalized<OpGt<T>, DT>>(s, pa, pb, pbool);
  case DITC_RT_BINARY_LESS:
    return binary_run<BoolsNormalized<OpLt<T>, DT>>(s, pa, pb, pbool);
  case DITC_RT_BINARY_GREATER_EQUAL:
    return binary_run<BoolsNormalized<OpGe<T>, DT>>(s, pa, pb, pbool);
  case DITC_RT_BINARY_LESS_EQUAL:
    return binary_run<BoolsNormalized<OpLe<T>, DT>>(s, pa, pb, pbool);
  case DITC_RT_BINARY_NOT_EQUAL:
    return binary_run<BoolsNormalized<OpNe<T>, DT>>(s, pa, pb, pbool);
  case DITC_RT_BINARY_MAX:
    return binary_run<BoolsNormalized<OpMax<T>, DT>>(s, pa, pb, pt);
  case DITC_RT_BINARY_MIN:
    return binary_run<BoolsNormalized<OpMin<T>, DT>>(s, pa, pb, pt);
  }
  if constexpr (DT == DITC_RT_B8) {
    switch (op) {
    case DITC_RT_BINARY_AND:
      return binary_run<OpLogicalAnd<T>>(s, pa, pb, pt);
    case DITC_RT_BINARY_OR:
      return binary_run<OpLogicalOr<T>>(s, pa, pb, pt);
    case DITC_RT_BINARY_XOR:
      return binary_run<OpLogicalXor<T>>(s, pa, pb, pt);
    }
  } else {
    switch (op) {
    case DITC_RT_BINARY_ADD:
      return binary_run<OpAdd<T>>(s, pa, pb, pt);
    case DITC_RT_BINARY_SUB:
      return binary_run<OpSub<T>>(s, pa, pb, pt);
    case DITC_RT_BINARY_MUL:
      return binary_run<OpMul<T>>(s, pa, pb, pt);
    case DITC_RT_BINARY_DIV:
      return binary_run<OpDiv<T>>(s, pa, pb, pt);
    case DITC_RT_BINARY_POW:
      return binary_run<OpPow<T>>(s, pa, pb, pt);
    case DITC_RT_BINARY_MOD:
      return binary_run<OpMod<T>>(s, pa, pb, pt);
    case DITC_RT_BINARY_FMOD:
      return binary_run<OpFmod<T>>(s, pa, pb, pt);
    }
    if constexpr (!is_float_v<T>) {
      switch (op) {
      case DITC_RT_BINARY_AND:
        return binary_run<OpAnd<T>>(s, pa, pb, pt);
      case DITC_RT_BINARY_OR:
        return binary_run<OpOr<T>>(s, pa, pb, pt);
      case DITC_RT_BINARY_XOR:
        return binary_run<OpXor<T>>(s, pa, pb, pt);
      }
    }
  }
}

int64_t dtype_size(const char *kernel, int32_t dtype) {
  int64_t size = 0;
  if (!visit_dtype(dtype, [&](auto dt) {
        size = sizeof(typename decltype(dt)::T);
      }))
    fatal(kernel, "unknown dtype %d", (int)dtype);
  return size;
}

void contiguous_strides(const int64_t *shape, int32_t rank, int64_t *st) {
  int64_t s = 1;
  for (int32_t d = rank - 1; d >= 0; --d) {
    st[d] = s;
    s *= shape[d];
  }
}

// Three strided operands and a contiguous result over `shape` (where,
// mul_add).
Strided<4> three_in_one_out(const char *name, const int64_t *shape, int32_t rank,
                            const int64_t *s0, const int64_t *s1, const int64_t *s2) {
  if (rank < 0 || rank > DITC_RT_MAX_RANK)
    fatal(name, "rank %d is outside [0, %d]", (int)rank, DITC_RT_MAX_RANK);
  int64_t out_strides[DITC_RT_MAX_RANK];
  contiguous_strides(shape, rank, out_strides);
  const int64_t *st[4] = {s0, s1, s2, out_strides};
  return make_strided<4>(name, rank, shape, st);
}

//===--- Where -----------------------------------------------------------===//

template <class T>
void where_run(const Strided<4> &s, const uint8_t *c, const T *x, const T *y,
               T *out) {
  const int last = s.rank - 1;
  const int64_t sc = s.stride[0][last], sx = s.stride[1][last],
                sy = s.stride[2][last];
  parallel_walk(s, kCheapGrain, [&](const int64_t *off, int64_t n) {
    const uint8_t *pc = c + off[0];
    const T *px = x + off[1];
    const T *py = y + off[2];
    T *po = out + off[3];
    if (sc == 1 && sx == 1 && sy == 1) {
      for (int64_t i = 0; i < n; ++i)
        po[i] = pc[i] ? px[i] : py[i];
    } else {
      for (int64_t i = 0; i < n; ++i)
        po[i] = pc[i * sc] ? px[i * sx] : py[i * sy];
    }
  });
}

//===--- Cast ------------------------------------------------------------===//

DITC_INLINE float bf16_to_f32(uint16_t h) {
  uint32_t u = (uint32_t)h << 16;
  float f;
  memcpy(&f, &u, 4);
  return f;
}
DITC_INLINE uint16_t f32_to_bf16(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) // NaN: keep it quiet
    return (uint16_t)((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1u); // round to nearest even
  return (uint16_t)(u >> 16);
}
// One rounding: to float toward zero with a sticky last bit (round to odd,
// exact enough for the 8 bits kept), then to nearest even.
DITC_INLINE uint16_t f64_to_bf16(double d) {
  float f = (float)d;
  if (f == f && (double)f != d) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if (fabs((double)f) > fabs(d)) // rounded away from zero (inf included)
      --u;
    u |= 1u;
    memcpy(&f, &u, 4);
  }
  return f32_to_bf16(f);
}

template <class I, class F> DITC_INLINE I float_to_int(F f) {
  if (f != f)
    return 0;
  constexpr double lo = (double)std::numeric_limits<I>::min();
  constexpr double hi = (double)std::numeric_limits<I>::max();
  if ((double)f <= lo)
    return std::numeric_limits<I>::min();
  if ((double)f >= hi)
    return std::numeric_limits<I>::max();
  return (I)f;
}

// How cast reads and writes a dtype: get() widens a value (f32, f16, bf16 to
// float, f64 to double, u64 to uint64_t, other integers and bools to
// int64_t), from() converts any of those into the dtype.
template <int DT> struct Cell {
  using T = typename Dt<DT>::T;
  static DITC_INLINE auto get(T v) {
    if constexpr (DT == DITC_RT_BF16)
      return bf16_to_f32(v);
    else if constexpr (DT == DITC_RT_B8)
      return (int64_t)(v != 0);
    else if constexpr (std::is_same_v<T, _Float16>)
      return (float)v;
    else if constexpr (is_float_v<T> || std::is_same_v<T, uint64_t>)
      return v;
    else
      return (int64_t)v;
  }
  template <class V> static DITC_INLINE T from(V v) {
    if constexpr (DT == DITC_RT_B8)
      return v != 0;
    else if constexpr (DT == DITC_RT_BF16 && std::is_same_v<V, double>)
      return f64_to_bf16(v);
    else if constexpr (DT == DITC_RT_BF16)
      return f32_to_bf16((float)v);
    else if constexpr (std::is_same_v<T, _Float16> && std::is_integral_v<V>)
      return (T)(float)v;
    else if constexpr (is_float_v<T>)
      return (T)v;
    else if constexpr (is_float_v<V>)
      return float_to_int<T>(v);
    else
      return (T)(std::make_unsigned_t<T>)v; // wraps
  }
};

template <int S, int D> void cast_run(const void *x, void *y, int64_t n) {
  using ST = typename Cell<S>::T;
  using DT = typename Cell<D>::T;
  const ST *px = static_cast<const ST *>(x);
  DT *py = static_cast<DT *>(y);
  parallel_range(n, kCheapGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i)
      py[i] = Cell<D>::from(Cell<S>::get(px[i]));
  });
}

//===--- Mul-add ---------------------------------------------------------===//

// out = a * b + c in f32, rounded once to DT (F32, F16, BF16).
template <int DT>
void mul_add_run(const Strided<4> &s, const void *a, const void *b,
                 const void *c, void *out) {
  using T = typename Cell<DT>::T;
  const T *ta = static_cast<const T *>(a), *tb = static_cast<const T *>(b),
          *tc = static_cast<const T *>(c);
  T *to = static_cast<T *>(out);
  const int last = s.rank - 1;
  const int64_t sa = s.stride[0][last], sb = s.stride[1][last],
                sc = s.stride[2][last];
  parallel_walk(s, kCheapGrain, [&](const int64_t *off, int64_t n) {
    const T *pa = ta + off[0], *pb = tb + off[1], *pc = tc + off[2];
    T *po = to + off[3]; // out is contiguous: its inner stride is 1
    auto f = [](T x, T y, T z) -> T {
      return Cell<DT>::from((float)Cell<DT>::get(x) * (float)Cell<DT>::get(y) +
                            (float)Cell<DT>::get(z));
    };
    if (sa == 1 && sb == 1 && sc == 1) {
      for (int64_t i = 0; i < n; ++i)
        po[i] = f(pa[i], pb[i], pc[i]);
    } else {
      for (int64_t i = 0; i < n; ++i)
        po[i] = f(pa[i * sa], pb[i * sb], pc[i * sc]);
    }
  });
}

} // namespace

void unary_f32(int32_t op, const float *x, float *y, int64_t n) {
  if (n <= 0)
    return;
  switch (op) {
  case DITC_RT_UNARY_NEG:
    return unary_scalar(x, y, n, kCheapGrain, [](float v) { return -v; });
  case DITC_RT_UNARY_SQRT:
    return unary_scalar(x, y, n, kCheapGrain, [](float v) { return sqrtf(v); });
  case DITC_RT_UNARY_RECIPROCAL:
    return unary_scalar(x, y, n, kCheapGrain, [](float v) { return 1.f / v; });
  case DITC_RT_UNARY_EXP:
    return unary_vec(x, y, n, kCostlyGrain, [](vf v) { return exp_v(v); });
  case DITC_RT_UNARY_ERF:
    return unary_vec(x, y, n, kCostlyGrain, [](vf v) { return erf_v(v); });
  case DITC_RT_UNARY_COS:
    return unary_scalar(x, y, n, kCostlyGrain / 4,
                        [](float v) { return cosf(v); });
  case DITC_RT_UNARY_SIN:
    return unary_scalar(x, y, n, kCostlyGrain / 4,
                        [](float v) { return sinf(v); });
  case DITC_RT_UNARY_TANH:
    return unary_vec(x, y, n, kCostlyGrain, [](vf v) { return tanh_v(v); });
  case DITC_RT_UNARY_SIGMOID:
    return unary_vec(x, y, n, kCostlyGrain,
                     [](vf v) { return sigmoid_v(v); });
  case DITC_RT_UNARY_RELU:
    return unary_scalar(x, y, n, kCheapGrain,
                        [](float v) { return v < 0.f ? 0.f : v; });
  case DITC_RT_UNARY_GELU:
    return unary_vec(x, y, n, kCostlyGrain, [](vf v) { return gelu_v(v); });
  case DITC_RT_UNARY_GELU_TANH:
    return unary_vec(x, y, n, kCostlyGrain,
                     [](vf v) { return gelu_tanh_v(v); });
  case DITC_RT_UNARY_SILU:
    return unary_vec(x, y, n, kCostlyGrain, [](vf v) { return silu_v(v); });
  case DITC_RT_UNARY_ABS:
    return unary_scalar(x, y, n, kCheapGrain, [](float v) { return fabsf(v); });
  case DITC_RT_UNARY_LOG:
    return unary_scalar(x, y, n, kCostlyGrain / 4,
                        [](float v) { return logf(v); });
  case DITC_RT_UNARY_FLOOR:
    return unary_scalar(x, y, n, kCheapGrain,
                        [](float v) { return floorf(v); });
  case DITC_RT_UNARY_CEIL:
    return unary_scalar(x, y, n, kCheapGrain, [](float v) { return ceilf(v); });
  case DITC_RT_UNARY_ROUND:
    return unary_scalar(x, y, n, kCheapGrain,
                        [](float v) { return nearbyintf(v); });
  }
  fatal("unary_f32", "unknown op %d", (int)op);
}

void is_nan(int32_t dtype, const void *x, uint8_t *y, int64_t n) {
  bool floating = false;
  visit_dtype(dtype, [&](auto dt) {
    constexpr int DT = decltype(dt)::code;
    using T = typename decltype(dt)::T;
    if constexpr (is_float_v<T> || DT == DITC_RT_BF16) {
      floating = true;
      const T *px = static_cast<const T *>(x);
      parallel_range(n, kCheapGrain, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) {
          auto v = Cell<DT>::get(px[i]);
          y[i] = v != v;
        }
      });
    }
  });
  if (!floating)
    fatal("is_nan", "dtype %d is not a float dtype", (int)dtype);
}

void not_b8(const uint8_t *x, uint8_t *y, int64_t n) {
  parallel_range(n, kCheapGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i)
      y[i] = x[i] == 0;
  });
}

void binary(int32_t op, int32_t dtype, const void *a, const int64_t *a_strides,
            const void *b, const int64_t *b_strides, void *out,
            const int64_t *shape, int32_t rank) {
  const char *name = "binary";
  if (op < 0 || op >= DITC_RT_BINARY_COUNT)
    fatal(name, "unknown op %d", (int)op);
  if (dtype < 0 || dtype >= DITC_RT_DTYPE_COUNT ||
      !(ditc_rt_binary_dtypes(op) & (1u << dtype)))
    fatal(name, "op %d does not take dtype %d", (int)op, (int)dtype);
  if (rank < 0 || rank > DITC_RT_MAX_RANK)
    fatal(name, "rank %d is outside [0, %d]", (int)rank, DITC_RT_MAX_RANK);
  int64_t out_strides[DITC_RT_MAX_RANK];
  contiguous_strides(shape, rank, out_strides);
  const int64_t *st[3] = {a_strides, b_strides, out_strides};
  Strided<3> s = make_strided<3>(name, rank, shape, st);
  if (s.total == 0)
    return;
  visit_dtype(dtype, [&](auto dt) {
    if constexpr (decltype(dt)::code != DITC_RT_BF16) // not taken
      binary_typed<decltype(dt)::code>(op, s, a, b, out);
  });
}

void where(int32_t dtype, const uint8_t *cond, const int64_t *cond_strides,
           const void *x, const int64_t *x_strides, const void *y,
           const int64_t *y_strides, void *out, const int64_t *shape,
           int32_t rank) {
  const char *name = "where";
  int64_t size = dtype_size(name, dtype);
  Strided<4> s = three_in_one_out(name, shape, rank, cond_strides, x_strides, y_strides);
  if (s.total == 0)
    return;
  switch (size) {
  case 1:
    return where_run(s, cond, static_cast<const uint8_t *>(x),
                     static_cast<const uint8_t *>(y),
                     static_cast<uint8_t *>(out));
  case 2:
    return where_run(s, cond, static_cast<const uint16_t *>(x),
                     static_cast<const uint16_t *>(y),
                     static_cast<uint16_t *>(out));
  case 4:
    return where_run(s, cond, static_cast<const uint32_t *>(x),
                     static_cast<const uint32_t *>(y),
                     static_cast<uint32_t *>(out));
  case 8:
    return where_run(s, cond, static_cast<const uint64_t *>(x),
                     static_cast<const uint64_t *>(y),
                     static_cast<uint64_t *>(out));
  }
}

void mul_add(int32_t dtype, const void *a, const int64_t *a_strides,
             const void *b, const int64_t *b_strides, const void *c,
             const int64_t *c_strides, void *out, const int64_t *shape,
             int32_t rank) {
  const char *name = "mul_add";
  if (dtype != DITC_RT_F32 && dtype != DITC_RT_F16 && dtype != DITC_RT_BF16)
    fatal(name, "dtype %d is not F32, F16 or BF16", (int)dtype);
  Strided<4> s = three_in_one_out(name, shape, rank, a_strides, b_strides, c_strides);
  if (s.total == 0)
    return;
  if (dtype == DITC_RT_F32)
    mul_add_run<DITC_RT_F32>(s, a, b, c, out);
  else if (dtype == DITC_RT_F16)
    mul_add_run<DITC_RT_F16>(s, a, b, c, out);
  else
    mul_add_run<DITC_RT_BF16>(s, a, b, c, out);
}

void cast(int32_t src_dtype, int32_t dst_dtype, const void *x, void *y,
          int64_t n) {
  if (n <= 0)
    return;
  bool known_dst = true;
  bool known_src = visit_dtype(src_dtype, [&](auto src) {
    known_dst = visit_dtype(dst_dtype, [&](auto dst) {
      cast_run<decltype(src)::code, decltype(dst)::code>(x, y, n);
    });
  });
  if (!known_src)
    fatal("cast", "unknown source dtype %d", (int)src_dtype);
  if (!known_dst)
    fatal("cast", "unknown destination dtype %d", (int)dst_dtype);
}

} // namespace DITC_RT_ISA_NS
} // namespace ditc_rt
