//===- kernel_math.h - Scalar math of the CUDA kernels, host too ------===//
//
// The per-element arithmetic of runtime/cuda, written once for the device
// and the host: under nvcc the functions are __host__ __device__, under a
// plain C++ compiler (g++ for test/Cuda/KernelMathTest.cpp) ordinary inline
// functions, so the host test checks exactly the formulas the kernels run
// against the CPU runtime (runtime/src/isa/*.cpp):
//
//   - each DITC_RT_UNARY_* op, with the CPU's approximations of exp, erf and
//     tanh (Cephes / XLA polynomials, the same coefficients and operation
//     order as isa.h; cos, sin, log are the platform's cosf / sinf / logf);
//   - the binary ops on floats and on wrapping integers (x / 0 = 0, ...);
//   - f32 <-> f16 / bf16 conversions, round to nearest even (on the device
//     the cvt instructions, which round the same way), and every cast;
//   - the statistics of layer / group norm (count, mean, M2 with Chan's
//     combine), RMS norm (sum of squares) and softmax (max, sum of exp with
//     the rescaling combine), and how a norm applies them;
//   - the rotation of one RoPE pair.
//
// Everything is in namespace ditc_cu::math and header-only; it includes no
// CUDA header unless compiled by nvcc.
//
//===----------------------------------------------------------------------===//
#ifndef DITC_RUNTIME_CUDA_KERNEL_MATH_H
#define DITC_RUNTIME_CUDA_KERNEL_MATH_H

#ifdef __CUDACC__
#define DITC_HD __host__ __device__
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#define DITC_UNROLL _Pragma("unroll")
#else
#define DITC_HD
#define DITC_UNROLL
#endif

#include "ditc/runtime/ditc_kernels.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

namespace ditc_cu {
namespace math {

//===--- Storage types ----------------------------------------------------===//

/// IEEE binary16 and bfloat16 as their bits; B8 as a byte (0 false, else
/// true). Distinct types so that templates tell them apart.
struct half_t {
  uint16_t bits;
};
struct bfloat_t {
  uint16_t bits;
};
struct bool8 {
  uint8_t v;
};

template <class T> struct is_float_like {
  static constexpr bool value = false;
};
template <> struct is_float_like<float> {
  static constexpr bool value = true;
};
template <> struct is_float_like<half_t> {
  static constexpr bool value = true;
};
template <> struct is_float_like<bfloat_t> {
  static constexpr bool value = true;
};

//===--- Bits -------------------------------------------------------------===//

DITC_HD inline uint32_t f32_bits(float f) {
#ifdef __CUDA_ARCH__
  return __float_as_uint(f);
#else
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
#endif
}

DITC_HD inline float bits_f32(uint32_t u) {
#ifdef __CUDA_ARCH__
  return __uint_as_float(u);
#else
  float f;
  memcpy(&f, &u, 4);
  return f;
#endif
}

DITC_HD inline bool is_nan(float f) { return f != f; }

constexpr float kInf = __builtin_huge_valf();

//===--- f16 / bf16 conversions -------------------------------------------===//

/// f32 to IEEE half, round to nearest even; overflow gives inf, NaN a
/// quiet NaN.
DITC_HD inline uint16_t f32_to_f16_bits(float f) {
#ifdef __CUDA_ARCH__
  return __half_as_ushort(__float2half_rn(f));
#else
  const uint32_t u = f32_bits(f);
  const uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
  const uint32_t a = u & 0x7fffffffu;
  if (a > 0x7f800000u) // NaN: quiet, the top payload bits kept
    return (uint16_t)(sign | 0x7e00u | ((a >> 13) & 0x3ffu));
  if (a >= 0x477ff000u) // >= 65520 (inf included) rounds to inf
    return (uint16_t)(sign | 0x7c00u);
  if (a < 0x38800000u) { // below 2^-14: a subnormal half, or zero
    if (a <= 0x33000000u) // <= 2^-25: ties to even gives 0
      return sign;
    // value = m * 2^(e - 150); in units of 2^-24: m >> (126 - e), rounded
    const uint32_t m = (a & 0x7fffffu) | 0x800000u;
    const int shift = 126 - (int)(a >> 23); // 14 .. 24
    uint32_t q = m >> shift;
    const uint32_t rem = m & ((1u << shift) - 1u), halfway = 1u << (shift - 1);
    if (rem > halfway || (rem == halfway && (q & 1u)))
      ++q; // may carry into the smallest normal: the right encoding
    return (uint16_t)(sign | q);
  }
  // Normal: round the 13 dropped bits to nearest even, rebias 127 -> 15.
  const uint32_t r = a + 0xfffu + ((a >> 13) & 1u) - (112u << 23);
  return (uint16_t)(sign | (r >> 13));
#endif
}

/// IEEE half to f32 (exact).
DITC_HD inline float f16_bits_to_f32(uint16_t h) {
#ifdef __CUDA_ARCH__
  return __half2float(__ushort_as_half(h));
#else
  const uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
  const uint32_t e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
  if (e == 0x1f)
    return bits_f32(sign | 0x7f800000u | (m << 13));
  if (e == 0) { // zero or subnormal: m * 2^-24
    const float v = (float)m * 5.9604644775390625e-8f;
    return sign ? -v : v;
  }
  return bits_f32(sign | ((e + 112u) << 23) | (m << 13));
#endif
}

/// f32 to bfloat16, round to nearest even; NaN stays a quiet NaN.
DITC_HD inline uint16_t f32_to_bf16_bits(float f) {
#ifdef __CUDA_ARCH__
  return __bfloat16_as_ushort(__float2bfloat16_rn(f));
#else
  uint32_t u = f32_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u)
    return (uint16_t)((u >> 16) | 0x40u);
  u += 0x7fffu + ((u >> 16) & 1u);
  return (uint16_t)(u >> 16);
#endif
}

DITC_HD inline float bf16_bits_to_f32(uint16_t h) {
  return bits_f32((uint32_t)h << 16);
}

/// Loads widen a storage float to f32; stores round f32 once.
DITC_HD inline float to_f32(float v) { return v; }
DITC_HD inline float to_f32(half_t v) { return f16_bits_to_f32(v.bits); }
DITC_HD inline float to_f32(bfloat_t v) { return bf16_bits_to_f32(v.bits); }

template <class S> DITC_HD inline S from_f32(float v);
template <> DITC_HD inline float from_f32<float>(float v) { return v; }
template <> DITC_HD inline half_t from_f32<half_t>(float v) {
  return half_t{f32_to_f16_bits(v)};
}
template <> DITC_HD inline bfloat_t from_f32<bfloat_t>(float v) {
  return bfloat_t{f32_to_bf16_bits(v)};
}

//===--- Unary ops --------------------------------------------------------===//

/// Clamp to [lo, hi]; NaN stays NaN (as isa.h's clamp_v).
DITC_HD inline float clampf(float x, float lo, float hi) {
  x = x < lo ? lo : x;
  return x > hi ? hi : x;
}

/// e^x, about 1 ulp: isa.h's exp_v (Cephes expf) on one lane. Below about
/// 2 FLT_MIN the result is 0, above FLT_MAX inf; NaN stays NaN.
DITC_HD inline float exp_f(float x) {
  if (is_nan(x))
    return x;
  const float kRoundMagic = 12582912.f; // 1.5 * 2^23: x + M - M rounds
  const float xc = clampf(x, -87.3365447505531f, 88.72283935546875f);
  const float n = (xc * 1.44269504088896341f + kRoundMagic) - kRoundMagic;
  float r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  const float z = r * r;
  float y = 1.9875691500E-4f;
  y = y * r + 1.3981999507E-3f;
  y = y * r + 8.3334519073E-3f;
  y = y * r + 4.1665795894E-2f;
  y = y * r + 1.6666665459E-1f;
  y = y * r + 5.0000001201E-1f;
  y = y * z + r + 1.f;
  const int ni = (int)n; // in [-126, 128]
  return y * bits_f32((uint32_t)(ni + 126) << 23) * 2.f;
}

/// tanh: isa.h's tanh_v (Cephes tanhf).
DITC_HD inline float tanh_f(float x) {
  if (is_nan(x))
    return x;
  const float ax = fabsf(x);
  if (ax < 0.625f) {
    const float z = x * x;
    float p = -5.70498872745E-3f;
    p = p * z + 2.06390887954E-2f;
    p = p * z - 5.37397155531E-2f;
    p = p * z + 1.33314422036E-1f;
    p = p * z - 3.33332819422E-1f;
    return p * z * x + x;
  }
  const float e = exp_f(clampf(ax, 0.f, 10.f) * 2.f); // tanh(10) rounds to 1
  const float large = 1.f - 2.f / (e + 1.f);
  return bits_f32(f32_bits(large) | (f32_bits(x) & 0x80000000u));
}

DITC_HD inline float sigmoid_f(float x) { return 1.f / (1.f + exp_f(-x)); }

/// erf: isa.h's erf_v (the rational approximation of XLA / Eigen).
DITC_HD inline float erf_f(float x) {
  const float xc = clampf(x, -4.f, 4.f);
  const float x2 = xc * xc;
  float p = -2.72614225801306e-10f;
  p = p * x2 + 2.77068142495902e-08f;
  p = p * x2 - 2.10102402082508e-06f;
  p = p * x2 - 5.69250639462346e-05f;
  p = p * x2 - 7.34990630326855e-04f;
  p = p * x2 - 2.95459980854025e-03f;
  p = p * x2 - 1.60960333262415e-02f;
  p = p * xc;
  float q = -1.45660718464996e-05f;
  q = q * x2 - 2.13374055278905e-04f;
  q = q * x2 - 1.68282697438203e-03f;
  q = q * x2 - 7.37332916720468e-03f;
  q = q * x2 - 1.42647390514189e-02f;
  // The rational form overshoots 1 by an ulp near |x| = 3.8: clamped to
  // erf's range, as the CPU.
  return clampf(p / q, -1.f, 1.f);
}

/// x * Phi(x) with erf.
DITC_HD inline float gelu_f(float x) {
  return 0.5f * x * (1.f + erf_f(x * 0.70710678118654752f));
}
/// The tanh approximation: 0.5 x (1 + tanh(u)) == x * sigmoid(2u).
DITC_HD inline float gelu_tanh_f(float x) {
  const float u2 = 1.5957691216057308f * (x + 0.044715f * x * x * x);
  return x / (1.f + exp_f(-u2));
}
DITC_HD inline float silu_f(float x) { return x * sigmoid_f(x); }

/// The DITC_RT_UNARY_* op OP on one value (OP a constant: the switch folds).
template <int OP> DITC_HD inline float unary_f(float x) {
  switch (OP) {
  case DITC_RT_UNARY_NEG:
    return -x;
  case DITC_RT_UNARY_SQRT:
    return sqrtf(x);
  case DITC_RT_UNARY_RECIPROCAL:
    return 1.f / x;
  case DITC_RT_UNARY_EXP:
    return exp_f(x);
  case DITC_RT_UNARY_ERF:
    return erf_f(x);
  case DITC_RT_UNARY_COS:
    return cosf(x);
  case DITC_RT_UNARY_SIN:
    return sinf(x);
  case DITC_RT_UNARY_TANH:
    return tanh_f(x);
  case DITC_RT_UNARY_SIGMOID:
    return sigmoid_f(x);
  case DITC_RT_UNARY_RELU:
    return x < 0.f ? 0.f : x;
  case DITC_RT_UNARY_GELU:
    return gelu_f(x);
  case DITC_RT_UNARY_GELU_TANH:
    return gelu_tanh_f(x);
  case DITC_RT_UNARY_SILU:
    return silu_f(x);
  case DITC_RT_UNARY_ABS:
    return fabsf(x);
  case DITC_RT_UNARY_LOG:
    return logf(x);
  case DITC_RT_UNARY_FLOOR:
    return floorf(x);
  case DITC_RT_UNARY_CEIL:
    return ceilf(x);
  case DITC_RT_UNARY_ROUND:
    return rintf(x); // half to even (the default rounding mode)
  }
  return x;
}

/// unary_f with the op known at run time (the host test's entry).
DITC_HD inline float unary_any(int op, float x) {
  switch (op) {
#define DITC_CU_UNARY_CASE(OP)                                                 \
  case OP:                                                                     \
    return unary_f<OP>(x);
    DITC_CU_UNARY_CASE(DITC_RT_UNARY_NEG)
    DITC_CU_UNARY_CASE(DITC_RT_UNARY_SQRT)
    DITC_CU_UNARY_CASE(DITC_RT_UNARY_RECIPROCAL)
    DITC_CU_UNARY_CASE(DITC_RT_UNARY_EXP)
    DITC_CU_UNARY_CASE(DITC_RT_UNARY_ERF)
    DITC_CU_UNARY_CASE(DITC_RT_UNARY_COS)
    DITC_CU_UNARY_CASE(DITC_RT_UNARY_SIN)
    DITC_CU_UNARY_CASE(DITC_RT_UNARY_TANH)
    DITC_CU_UNARY_CASE(DITC_RT_UNARY_SIGMOID)
    DITC_CU_UNARY_CASE(DITC_RT_UNARY_RELU)
    DITC_CU_UNARY_CASE(DITC_RT_UNARY_GELU)
    DITC_CU_UNARY_CASE(DITC_RT_UNARY_GELU_TANH)
    DITC_CU_UNARY_CASE(DITC_RT_UNARY_SILU)
    DITC_CU_UNARY_CASE(DITC_RT_UNARY_ABS)
    DITC_CU_UNARY_CASE(DITC_RT_UNARY_LOG)
    DITC_CU_UNARY_CASE(DITC_RT_UNARY_FLOOR)
    DITC_CU_UNARY_CASE(DITC_RT_UNARY_CEIL)
    DITC_CU_UNARY_CASE(DITC_RT_UNARY_ROUND)
#undef DITC_CU_UNARY_CASE
  }
  return x;
}
static_assert(DITC_RT_UNARY_COUNT == 18, "unary_any lacks an op");

//===--- Binary ops -------------------------------------------------------===//

template <class T> struct int_traits;
template <> struct int_traits<int64_t> {
  using U = uint64_t;
  static constexpr int64_t max = (int64_t)(~(uint64_t)0 >> 1);
  static constexpr int64_t min = -max - 1;
};
template <> struct int_traits<int32_t> {
  using U = uint32_t;
  static constexpr int32_t min = -2147483647 - 1;
  static constexpr int32_t max = 2147483647;
};

/// Floats propagate NaN through max / min (either operand).
DITC_HD inline float max_f(float a, float b) {
  return is_nan(a) ? a : (is_nan(b) ? b : (a > b ? a : b));
}
DITC_HD inline float min_f(float a, float b) {
  return is_nan(a) ? a : (is_nan(b) ? b : (a < b ? a : b));
}
/// Remainder with the sign of the dividend (C fmod) / of the divisor
/// (Python %).
DITC_HD inline float fmod_f(float a, float b) { return fmodf(a, b); }
DITC_HD inline float mod_f(float a, float b) {
  float r = fmodf(a, b);
  if (r != 0.f && ((r < 0.f) != (b < 0.f)))
    r = r + b;
  return r;
}
/// powf, with b == 2 and b == 1 exact.
DITC_HD inline float pow_f(float a, float b) {
  if (b == 2.f)
    return a * a;
  if (b == 1.f)
    return a;
  return powf(a, b);
}

/// Integers wrap (arithmetic in the unsigned type); x / 0, x % 0 are 0.
template <class T> DITC_HD inline T add_i(T a, T b) {
  return (T)((typename int_traits<T>::U)a + (typename int_traits<T>::U)b);
}
template <class T> DITC_HD inline T sub_i(T a, T b) {
  return (T)((typename int_traits<T>::U)a - (typename int_traits<T>::U)b);
}
template <class T> DITC_HD inline T mul_i(T a, T b) {
  return (T)((typename int_traits<T>::U)a * (typename int_traits<T>::U)b);
}
template <class T> DITC_HD inline T div_i(T a, T b) {
  if (b == 0)
    return 0;
  if (b == -1) // min / -1 wraps
    return (T)((typename int_traits<T>::U)0 - (typename int_traits<T>::U)a);
  return (T)(a / b);
}
template <class T> DITC_HD inline T fmod_i(T a, T b) {
  if (b == 0 || b == -1)
    return 0;
  return (T)(a % b);
}
template <class T> DITC_HD inline T mod_i(T a, T b) {
  T r = fmod_i(a, b);
  if (r != 0 && ((r < 0) != (b < 0)))
    r = (T)(r + b);
  return r;
}
/// A negative exponent truncates: 1 and -1 keep their powers, the rest 0.
template <class T> DITC_HD inline T pow_i(T base, T e) {
  typedef typename int_traits<T>::U U;
  if (e < 0) {
    if (base == 1)
      return 1;
    if (base == -1)
      return (e & 1) ? (T)-1 : (T)1;
    return 0;
  }
  U r = 1, b = (U)base;
  while (e) {
    if (e & 1)
      r *= b;
    b *= b;
    e >>= 1;
  }
  return (T)r;
}

/// True for the comparison ops (they write B8).
DITC_HD constexpr bool binary_is_comparison(int op) {
  return op >= DITC_RT_BINARY_EQUAL && op <= DITC_RT_BINARY_NOT_EQUAL;
}

/// One binary op on f32 (F32, F16, BF16 operands, widened). Comparisons
/// return 0 / 1. The bitwise ops are not defined on floats.
template <int OP> DITC_HD inline float binary_f(float a, float b) {
  switch (OP) {
  case DITC_RT_BINARY_ADD:
    return a + b;
  case DITC_RT_BINARY_SUB:
    return a - b;
  case DITC_RT_BINARY_MUL:
    return a * b;
  case DITC_RT_BINARY_DIV:
    return a / b;
  case DITC_RT_BINARY_POW:
    return pow_f(a, b);
  case DITC_RT_BINARY_MAX:
    return max_f(a, b);
  case DITC_RT_BINARY_MIN:
    return min_f(a, b);
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
  case DITC_RT_BINARY_MOD:
    return mod_f(a, b);
  case DITC_RT_BINARY_FMOD:
    return fmod_f(a, b);
  }
  return a;
}

/// One binary op on int64_t / int32_t (comparisons return 0 / 1).
template <int OP, class T> DITC_HD inline T binary_i(T a, T b) {
  switch (OP) {
  case DITC_RT_BINARY_ADD:
    return add_i(a, b);
  case DITC_RT_BINARY_SUB:
    return sub_i(a, b);
  case DITC_RT_BINARY_MUL:
    return mul_i(a, b);
  case DITC_RT_BINARY_DIV:
    return div_i(a, b);
  case DITC_RT_BINARY_POW:
    return pow_i(a, b);
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
    return (T)(a & b);
  case DITC_RT_BINARY_OR:
    return (T)(a | b);
  case DITC_RT_BINARY_XOR:
    return (T)(a ^ b);
  case DITC_RT_BINARY_MOD:
    return mod_i(a, b);
  case DITC_RT_BINARY_FMOD:
    return fmod_i(a, b);
  }
  return a;
}

/// One binary op on B8 (any non-zero byte is true; results 0 / 1): max,
/// min, the comparisons and the logical AND / OR / XOR.
template <int OP> DITC_HD inline uint8_t binary_b8(uint8_t a, uint8_t b) {
  const int x = a != 0, y = b != 0;
  switch (OP) {
  case DITC_RT_BINARY_MAX:
  case DITC_RT_BINARY_OR:
    return (uint8_t)(x | y);
  case DITC_RT_BINARY_MIN:
  case DITC_RT_BINARY_AND:
    return (uint8_t)(x & y);
  case DITC_RT_BINARY_XOR:
  case DITC_RT_BINARY_NOT_EQUAL:
    return (uint8_t)(x ^ y);
  case DITC_RT_BINARY_EQUAL:
    return x == y;
  case DITC_RT_BINARY_GREATER:
    return x > y;
  case DITC_RT_BINARY_LESS:
    return x < y;
  case DITC_RT_BINARY_GREATER_EQUAL:
    return x >= y;
  case DITC_RT_BINARY_LESS_EQUAL:
    return x <= y;
  }
  return a;
}

//===--- Casts ------------------------------------------------------------===//

/// Float to integer: truncates toward zero, saturates, NaN gives 0.
template <class I> DITC_HD inline I float_to_int(float f) {
  // -2^(bits-1) and 2^(bits-1), both exact floats
  typedef typename int_traits<I>::U U;
  const float lo = -(float)((U)1 << (sizeof(I) * 8 - 1));
  const float hi = -lo;
  if (is_nan(f))
    return 0;
  if (f <= lo)
    return int_traits<I>::min;
  if (f >= hi)
    return int_traits<I>::max;
  return (I)f;
}

/// What a value reads as when cast: floats widen to f32, integers and B8
/// (0 / 1) to int64_t.
DITC_HD inline float cast_src(float v) { return v; }
DITC_HD inline float cast_src(half_t v) { return to_f32(v); }
DITC_HD inline float cast_src(bfloat_t v) { return to_f32(v); }
DITC_HD inline int64_t cast_src(int64_t v) { return v; }
DITC_HD inline int64_t cast_src(int32_t v) { return v; }
DITC_HD inline int64_t cast_src(bool8 v) { return v.v != 0; }

template <class D> struct cast_to;
template <> struct cast_to<float> {
  DITC_HD static float from(float v) { return v; }
  DITC_HD static float from(int64_t v) { return (float)v; }
};
template <> struct cast_to<half_t> { // integers go through f32, as the CPU
  DITC_HD static half_t from(float v) { return from_f32<half_t>(v); }
  DITC_HD static half_t from(int64_t v) { return from_f32<half_t>((float)v); }
};
template <> struct cast_to<bfloat_t> {
  DITC_HD static bfloat_t from(float v) { return from_f32<bfloat_t>(v); }
  DITC_HD static bfloat_t from(int64_t v) {
    return from_f32<bfloat_t>((float)v);
  }
};
template <> struct cast_to<int64_t> {
  DITC_HD static int64_t from(float v) { return float_to_int<int64_t>(v); }
  DITC_HD static int64_t from(int64_t v) { return v; }
};
template <> struct cast_to<int32_t> {
  DITC_HD static int32_t from(float v) { return float_to_int<int32_t>(v); }
  DITC_HD static int32_t from(int64_t v) { return (int32_t)(uint32_t)v; }
};
template <> struct cast_to<bool8> {
  DITC_HD static bool8 from(float v) { return bool8{(uint8_t)(v != 0.f)}; }
  DITC_HD static bool8 from(int64_t v) { return bool8{(uint8_t)(v != 0)}; }
};

/// ditc_rt_cast of one value from S to D.
template <class D, class S> DITC_HD inline D cast_value(S v) {
  return cast_to<D>::from(cast_src(v));
}

//===--- Norm and softmax statistics --------------------------------------===//

/// Count, mean and sum of squared deviations of a set of values. A thread
/// takes them exactly (two passes) over the values it holds; sets combine
/// with Chan's formula, which is exact in exact arithmetic and never
/// subtracts large sums of squares.
struct MeanM2 {
  float n, mean, m2;
};

DITC_HD inline MeanM2 meanm2_combine(MeanM2 a, MeanM2 b) {
  if (b.n == 0.f)
    return a;
  if (a.n == 0.f)
    return b;
  const float n = a.n + b.n, d = b.mean - a.mean, wb = b.n / n;
  return MeanM2{n, a.mean + d * wb, a.m2 + b.m2 + d * d * a.n * wb};
}

/// The statistics of v[0..count) (count <= N), two passes. (N a constant
/// and the loops unrolled: on the device v stays in registers.)
template <int N>
DITC_HD inline MeanM2 meanm2_of(const float (&v)[N], int count) {
  float s = 0.f;
  DITC_UNROLL
  for (int i = 0; i < N; ++i)
    if (i < count)
      s += v[i];
  const float mean = count > 0 ? s / (float)count : 0.f;
  float m2 = 0.f;
  DITC_UNROLL
  for (int i = 0; i < N; ++i) {
    if (i < count) {
      const float d = v[i] - mean;
      m2 += d * d;
    }
  }
  return MeanM2{(float)count, mean, m2};
}

/// The sum of squares of v[0..count) (RMS norm), in order.
template <int N>
DITC_HD inline float sum_sq_of(const float (&v)[N], int count) {
  float s = 0.f;
  DITC_UNROLL
  for (int i = 0; i < N; ++i)
    if (i < count)
      s += v[i] * v[i];
  return s;
}

/// 1 / sqrt(var + eps): the factor layer / group norm scale by.
DITC_HD inline float meanm2_rstd(MeanM2 s, float eps) {
  return 1.f / sqrtf(s.m2 / s.n + eps);
}

/// RMS norm's factor from the sum of squares of n values.
DITC_HD inline float rms_rstd(float sum_sq, float n, float eps) {
  return 1.f / sqrtf(sum_sq / n + eps);
}

/// Layer / RMS norm of one value: (x - mean) * rstd, times the scale and
/// plus the bias when given (in that order, as the CPU).
DITC_HD inline float norm_apply(float x, float mean, float rstd,
                                bool has_scale, float scale, bool has_bias,
                                float bias) {
  float v = (x - mean) * rstd;
  if (has_scale)
    v = v * scale;
  if (has_bias)
    v = v + bias;
  return v;
}

/// A DiT's adaLN modulation of a normalised value: times s + offset (the
/// 1 of 1 + scale), plus t, when given (in that order, as the CPU's
/// layer_norm_mod).
DITC_HD inline float modulate_apply(float v, bool has_s, float s, float offset,
                                    bool has_t, float t) {
  if (has_s)
    v = v * (s + offset);
  if (has_t)
    v = v + t;
  return v;
}

/// Group norm of one value: (x - mean) * (rstd * scale[c]) + bias[c].
DITC_HD inline float group_norm_apply(float x, float mean, float a, float b) {
  return (x - mean) * a + b;
}

/// Softmax statistics: the running max m and sum s of e^(x - m).
struct MaxSum {
  float m, s;
};

DITC_HD inline MaxSum maxsum_combine(MaxSum a, MaxSum b) {
  // NaN anywhere sticks: it becomes the max, and e^NaN the sum.
  const float m = (b.m > a.m || is_nan(b.m)) ? b.m : a.m;
  if (m == -kInf) // both empty, or only -inf seen
    return MaxSum{m, 0.f};
  return MaxSum{m, a.s * exp_f(a.m - m) + b.s * exp_f(b.m - m)};
}

/// One value into the running statistics (one exp unless the max moves).
DITC_HD inline MaxSum maxsum_push(MaxSum st, float x) {
  if (x > st.m) {
    st.s = st.s * exp_f(st.m - x) + 1.f;
    st.m = x;
  } else if (st.m != -kInf || is_nan(x)) {
    st.s += exp_f(x - st.m);
  }
  return st;
}

/// The statistics of v[0..count) (count <= N): the max, then the sum of
/// e^(v - max).
template <int N>
DITC_HD inline MaxSum maxsum_of(const float (&v)[N], int count) {
  float m = -kInf;
  DITC_UNROLL
  for (int i = 0; i < N; ++i)
    if (i < count)
      m = (v[i] > m || is_nan(v[i])) ? v[i] : m;
  float s = 0.f;
  if (m != -kInf) {
    DITC_UNROLL
    for (int i = 0; i < N; ++i)
      if (i < count)
        s += exp_f(v[i] - m);
  }
  return MaxSum{m, s};
}

/// A softmax output from the row's statistics (inv = 1 / s).
DITC_HD inline float softmax_apply(float x, float m, float inv) {
  return exp_f(x - m) * inv;
}

//===--- RoPE -------------------------------------------------------------===//

/// One rotated pair (a, b): ya = xa cos_a - xb sin_a, yb = xb cos_b + xa sin_b
/// (each member has its own table entry, as ditc_rt_rope_f32).
DITC_HD inline void rope_pair(float xa, float xb, float ca, float sa, float cb,
                              float sb, float *ya, float *yb) {
  *ya = xa * ca - xb * sa;
  *yb = xb * cb + xa * sb;
}

} // namespace math
} // namespace ditc_cu

#endif // DITC_RUNTIME_CUDA_KERNEL_MATH_H
