//===- isa.h - Vectors, vector math and loops for one ISA ----------------===//
//
// Every file under runtime/src/isa/ is compiled once per CPU code path, with
//   -DDITC_RT_ISA_NS=<namespace> -DDITC_RT_VEC_BYTES=<16|32|64> -march=<...>
// Everything it defines must therefore live in ditc_rt::DITC_RT_ISA_NS (the
// entry points) or in an anonymous namespace (the helpers below): a symbol
// shared between the variants would let the linker keep, say, the AVX-512
// copy for all of them.
//
// Vectors are GCC vector extensions of DITC_RT_VEC_BYTES bytes; the compiler
// lowers them to SSE, AVX2 or AVX-512 registers. Writing against a width W
// instead of intrinsics keeps one source for every path.
//
//===----------------------------------------------------------------------===//
#ifndef DITC_RUNTIME_SRC_ISA_ISA_H
#define DITC_RUNTIME_SRC_ISA_ISA_H

#include "../internal.h"

#include <omp.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <utility>

#if !defined(DITC_RT_ISA_NS) || !defined(DITC_RT_VEC_BYTES)
#error "compile runtime/src/isa/*.cpp through runtime/CMakeLists.txt"
#endif

#define DITC_INLINE inline __attribute__((always_inline))
#define DITC_RT_ISA_STR2(x) #x
#define DITC_RT_ISA_STR(x) DITC_RT_ISA_STR2(x)

namespace ditc_rt {
namespace DITC_RT_ISA_NS {
// The entry points this ISA defines, with the exact C signatures.
#define DITC_RT_ISA_ENTRY(fn) decltype(::ditc_rt_##fn) fn;
#include "../isa_entries.def"

namespace {

constexpr int W = DITC_RT_VEC_BYTES / 4; // floats per vector

typedef float vf __attribute__((vector_size(DITC_RT_VEC_BYTES)));
typedef int32_t vi __attribute__((vector_size(DITC_RT_VEC_BYTES)));
typedef float vf_u
    __attribute__((vector_size(DITC_RT_VEC_BYTES), aligned(4), may_alias));

typedef int32_t vi_u
    __attribute__((vector_size(DITC_RT_VEC_BYTES), aligned(4), may_alias));

DITC_INLINE vi loadu_i(const int32_t *p) {
  return *reinterpret_cast<const vi_u *>(p);
}
DITC_INLINE vf loadu(const float *p) {
  return *reinterpret_cast<const vf_u *>(p);
}
DITC_INLINE void storeu(float *p, vf v) { *reinterpret_cast<vf_u *>(p) = v; }
template <size_t... I>
DITC_INLINE vf splat_(float x, std::index_sequence<I...>) {
  return vf{((void)I, x)...};
}
// (not vf{} + x: that is an add, 0 + -0 being +0)
DITC_INLINE vf splat(float x) { return splat_(x, std::make_index_sequence<W>()); }
// First n (< W) lanes from p, the rest `fill`.
DITC_INLINE vf load_part(const float *p, int64_t n, float fill) {
  vf v = splat(fill);
  for (int64_t i = 0; i < n; ++i)
    v[i] = p[i];
  return v;
}
DITC_INLINE void store_part(float *p, vf v, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    p[i] = v[i];
}
DITC_INLINE vf vmax(vf a, vf b) { return a > b ? a : b; }
DITC_INLINE vf vmin(vf a, vf b) { return a < b ? a : b; }
// Clamp to [lo, hi]; NaN stays NaN.
DITC_INLINE vf clamp_v(vf x, float lo, float hi) {
  x = x < lo ? splat(lo) : x;
  return x > hi ? splat(hi) : x;
}
DITC_INLINE vf vabs(vf x) { return (vf)((vi)x & 0x7fffffff); }
DITC_INLINE float hsum(vf v) {
  float s = 0.f;
  for (int i = 0; i < W; ++i)
    s += v[i];
  return s;
}
DITC_INLINE float hmax(vf v) {
  float m = v[0];
  for (int i = 1; i < W; ++i)
    m = v[i] > m ? v[i] : m;
  return m;
}

constexpr float kInf = __builtin_inff();
constexpr float kRoundMagic = 12582912.f; // 1.5 * 2^23: x + M - M rounds

// e^x, about 1 ulp (Cephes expf). Results below about 2 FLT_MIN flush to 0,
// above FLT_MAX are inf; NaN stays NaN.
DITC_INLINE vf exp_v(vf x) {
  // Clamped, n = round(x log2 e) is in [-126, 128]: the scale 2^(n-1) is a
  // normal float or, for n = -126, exactly 0 (so is the result); times 2
  // at the end (n = 128 then overflows to inf, as it should).
  vf xc = clamp_v(x, -87.3365447505531f, 88.72283935546875f);
  vf n = (xc * 1.44269504088896341f + kRoundMagic) - kRoundMagic;
  vf r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  vf z = r * r;
  vf y = splat(1.9875691500E-4f);
  y = y * r + 1.3981999507E-3f;
  y = y * r + 8.3334519073E-3f;
  y = y * r + 4.1665795894E-2f;
  y = y * r + 1.6666665459E-1f;
  y = y * r + 5.0000001201E-1f;
  y = y * z + r + 1.f;
  vi ni = __builtin_convertvector(n, vi);
  return y * (vf)((ni + 126) << 23) * 2.f;
}

// 2^x for x <= 0 (the attention kernel's arguments): about 2 ulp (Cephes
// exp2f); -inf and anything below -127 give 0, NaN gives NaN.
DITC_INLINE vf exp2_v(vf x) {
  vf xc = x < -127.f ? splat(-127.f) : x; // n = -127: the scale is 0
  vf n = (xc + kRoundMagic) - kRoundMagic;
  vf f = xc - n;
  vf p = splat(1.535336188319500E-4f);
  p = p * f + 1.339887440266574E-3f;
  p = p * f + 9.618437357674640E-3f;
  p = p * f + 5.550332471162809E-2f;
  p = p * f + 2.402264791363012E-1f;
  p = p * f + 6.931472028550421E-1f;
  vf y = p * f + 1.f;
  vi ni = __builtin_convertvector(n, vi);
  return y * (vf)((ni + 127) << 23);
}

// tanh (Cephes tanhf): a polynomial below 0.625, 1 - 2/(e^2|x| + 1) above.
DITC_INLINE vf tanh_v(vf x) {
  vf ax = vabs(x);
  vf z = x * x;
  vf p = splat(-5.70498872745E-3f);
  p = p * z + 2.06390887954E-2f;
  p = p * z - 5.37397155531E-2f;
  p = p * z + 1.33314422036E-1f;
  p = p * z - 3.33332819422E-1f;
  vf small = p * z * x + x;
  vf e = exp_v(clamp_v(ax, 0.f, 10.f) * 2.f); // tanh(10) rounds to 1
  vf large = 1.f - 2.f / (e + 1.f);
  large = (vf)((vi)large | ((vi)x & (int32_t)0x80000000)); // copysign
  vf y = ax < 0.625f ? small : large;
  return x != x ? x : y;
}

DITC_INLINE vf sigmoid_v(vf x) { return 1.f / (1.f + exp_v(-x)); }

// erf: the rational approximation XLA and Eigen use (clamped to [-4, 4],
// a few ulp).
DITC_INLINE vf erf_v(vf x) {
  vf xc = clamp_v(x, -4.f, 4.f);
  vf x2 = xc * xc;
  vf p = splat(-2.72614225801306e-10f);
  p = p * x2 + 2.77068142495902e-08f;
  p = p * x2 - 2.10102402082508e-06f;
  p = p * x2 - 5.69250639462346e-05f;
  p = p * x2 - 7.34990630326855e-04f;
  p = p * x2 - 2.95459980854025e-03f;
  p = p * x2 - 1.60960333262415e-02f;
  p = p * xc;
  vf q = splat(-1.45660718464996e-05f);
  q = q * x2 - 2.13374055278905e-04f;
  q = q * x2 - 1.68282697438203e-03f;
  q = q * x2 - 7.37332916720468e-03f;
  q = q * x2 - 1.42647390514189e-02f;
  // The rational form overshoots 1 by an ulp near |x| = 3.8 (gelu's sign
  // then flips for x ~ -5.4): clamp to the range of erf.
  return clamp_v(p / q, -1.f, 1.f);
}

DITC_INLINE vf gelu_v(vf x) {
  return 0.5f * x * (1.f + erf_v(x * 0.70710678118654752f));
}
// 0.5 x (1 + tanh(u)) == x * sigmoid(2u): one exp, one division.
DITC_INLINE vf gelu_tanh_v(vf x) {
  vf u2 = 1.5957691216057308f * (x + 0.044715f * x * x * x);
  return x / (1.f + exp_v(-u2));
}
DITC_INLINE vf silu_v(vf x) { return x * sigmoid_v(x); }

//===--- Threads ---------------------------------------------------------===//

// Threads for `work` units when each thread should get at least `grain`.
DITC_INLINE int threads_for(int64_t work, int64_t grain) {
  int nt = ::ditc_rt::num_threads();
  if (nt <= 1 || work < 2 * grain)
    return 1;
  int64_t by_work = work / (grain > 0 ? grain : 1);
  return by_work < nt ? (int)by_work : nt;
}

// f(begin, end) on contiguous pieces of [0, n), one per thread; serial when
// n < 2 * grain.
template <class F> void parallel_range(int64_t n, int64_t grain, F &&f) {
  int nt = threads_for(n, grain);
  if (nt <= 1) {
    if (n > 0)
      f(int64_t(0), n);
    return;
  }
#pragma omp parallel num_threads(nt)
  {
    int64_t t = omp_get_thread_num(), T = omp_get_num_threads();
    int64_t b = n * t / T, e = n * (t + 1) / T;
    if (b < e)
      f(b, e);
  }
}

//===--- Strided iteration -----------------------------------------------===//

// N operands over one shape, after dropping size-1 dims and merging dims
// that are contiguous with each other in every operand. rank >= 1.
template <int N> struct Strided {
  int rank = 0;
  int64_t total = 0;
  int64_t shape[DITC_RT_MAX_RANK];
  int64_t stride[N][DITC_RT_MAX_RANK];
};

template <int N>
Strided<N> make_strided(const char *kernel, int32_t rank, const int64_t *shape,
                        const int64_t *const strides[N]) {
  if (rank < 0 || rank > DITC_RT_MAX_RANK)
    ::ditc_rt::fatal(kernel, "rank %d is outside [0, %d]", (int)rank,
                     DITC_RT_MAX_RANK);
  Strided<N> s;
  s.total = 1;
  for (int d = 0; d < rank; ++d) {
    if (shape[d] < 0)
      ::ditc_rt::fatal(kernel, "negative dimension %lld",
                       (long long)shape[d]);
    s.total *= shape[d];
  }
  for (int d = 0; d < rank; ++d) {
    if (shape[d] == 1)
      continue;
    int r = s.rank;
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

// Calls f(offsets[N], n) for the runs of consecutive innermost elements that
// make up linear indices [begin, end); offsets (elements) are those of the
// run's first element, the run continues with stride[o][rank-1].
template <int N, class F>
void walk(const Strided<N> &s, int64_t begin, int64_t end, F &&f) {
  const int last = s.rank - 1;
  int64_t idx[DITC_RT_MAX_RANK];
  int64_t off[N];
  int64_t rem = begin;
  for (int d = last; d >= 0; --d) {
    idx[d] = rem % s.shape[d];
    rem /= s.shape[d];
  }
  for (int o = 0; o < N; ++o) {
    off[o] = 0;
    for (int d = 0; d <= last; ++d)
      off[o] += idx[d] * s.stride[o][d];
  }
  int64_t pos = begin;
  while (pos < end) {
    int64_t n = s.shape[last] - idx[last];
    if (n > end - pos)
      n = end - pos;
    f(off, n);
    pos += n;
    if (pos >= end)
      break;
    // The run reached the end of the innermost dim: carry.
    for (int o = 0; o < N; ++o)
      off[o] += n * s.stride[o][last];
    idx[last] += n;
    int d = last;
    while (d > 0 && idx[d] == s.shape[d]) {
      for (int o = 0; o < N; ++o)
        off[o] -= s.shape[d] * s.stride[o][d];
      idx[d] = 0;
      --d;
      ++idx[d];
      for (int o = 0; o < N; ++o)
        off[o] += s.stride[o][d];
    }
  }
}

// walk() over all of s, split across threads when there are at least
// 2 * grain elements.
template <int N, class F>
void parallel_walk(const Strided<N> &s, int64_t grain, F &&f) {
  parallel_range(s.total, grain,
                 [&](int64_t b, int64_t e) { walk<N>(s, b, e, f); });
}

/// Sum of x[0..n): float vector partial sums over blocks of 4096, the
/// blocks added in double.
inline double sum_f(const float *x, int64_t n) {
  constexpr int64_t kBlock = 4096;
  double total = 0.0;
  for (int64_t b = 0; b < n; b += kBlock) {
    int64_t e = b + kBlock < n ? b + kBlock : n, i = b;
    vf a0 = vf{}, a1 = vf{}, a2 = vf{}, a3 = vf{};
    for (; i + 4 * W <= e; i += 4 * W) {
      a0 += loadu(x + i);
      a1 += loadu(x + i + W);
      a2 += loadu(x + i + 2 * W);
      a3 += loadu(x + i + 3 * W);
    }
    for (; i + W <= e; i += W)
      a0 += loadu(x + i);
    double s = hsum((a0 + a1) + (a2 + a3));
    for (; i < e; ++i)
      s += x[i];
    total += s;
  }
  return total;
}

} // namespace
} // namespace DITC_RT_ISA_NS
} // namespace ditc_rt

#endif // DITC_RUNTIME_SRC_ISA_ISA_H
