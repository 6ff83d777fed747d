//===- linear_rows.cpp - Linear layers of a few rows ----------------------===//
//
// linear_rows_f32: y[m, n] = x[m, k] . W[n, k]^T (+ bias[n]) for m of at
// most DITC_RT_LINEAR_ROWS_MAX rows, where reading the weight once is the
// whole cost: a DiT block's adaLN modulation runs on the batch's rows (2
// with CFG), a decoding LLM's projections on one. With the weight [N, K]
// (as PyTorch stores it) oneDNN's matmul primitive took 1.25 to 1.64x as
// long at 1 to 4 rows (docs/BENCHMARKS.md, "Linear layers of a few rows"),
// so linear_f32 calls this there; with [K, N] oneDNN's sgemm already
// streams. Each weight row (one output column) is read once and dotted with
// x's m rows, which stay in the caches; the threads split the columns.
// Each output is a sum over k in float, in k's order within each vector
// lane: not oneDNN's order, so the two differ by rounding (LinalgTest
// compares both with a double sum).
//
//===----------------------------------------------------------------------===//
#include "isa.h"

#include <algorithm>

namespace ditc_rt {
namespace DITC_RT_ISA_NS {
namespace {

// y[0:M, c0:c1] = x[0:M, :] . W[c0:c1, :]^T (+ bias), W [N, K].
template <int M>
void rows_nk(const float *x, const float *w, const float *bias, float *y,
             int64_t k, int64_t n, int64_t c0, int64_t c1) {
  for (int64_t c = c0; c < c1; ++c) {
    const float *wc = w + c * k;
    vf acc[M];
    for (int i = 0; i < M; ++i)
      acc[i] = vf{};
    int64_t t = 0;
    for (; t + W <= k; t += W) {
      const vf wv = loadu(wc + t);
      for (int i = 0; i < M; ++i)
        acc[i] += loadu(x + i * k + t) * wv;
    }
    for (int i = 0; i < M; ++i) {
      float s = hsum(acc[i]);
      for (int64_t r = t; r < k; ++r)
        s += x[i * k + r] * wc[r];
      y[i * n + c] = bias ? s + bias[c] : s;
    }
  }
}

template <int M>
void linear_rows(const float *x, const float *w, const float *bias, float *y,
                 int64_t k, int64_t n) {
  // Each thread at least 64K weight elements.
  const int64_t grain = std::max<int64_t>(1, (int64_t(1) << 16) / k);
  parallel_range(n, grain, [&](int64_t c0, int64_t c1) {
    rows_nk<M>(x, w, bias, y, k, n, c0, c1);
  });
}

} // namespace

void linear_rows_f32(const float *x, const float *w, const float *bias,
                     float *y, int64_t m, int64_t k, int64_t n) {
  if (m < 0 || k < 0 || n < 0)
    fatal("linear_rows_f32", "negative size");
  if (m > DITC_RT_LINEAR_ROWS_MAX)
    fatal("linear_rows_f32", "%lld rows (at most %d)", (long long)m,
          DITC_RT_LINEAR_ROWS_MAX);
  if (m == 0 || n == 0)
    return;
  if (k == 0) {
    for (int64_t i = 0; i < m; ++i)
      if (bias)
        memcpy(y + i * n, bias, sizeof(float) * n);
      else
        memset(y + i * n, 0, sizeof(float) * n);
    return;
  }
  using Rows = void (*)(const float *, const float *, const float *, float *,
                       int64_t, int64_t);
  static constexpr Rows kRows[] = {linear_rows<1>, linear_rows<2>, linear_rows<3>,
                                   linear_rows<4>, linear_rows<5>, linear_rows<6>,
                                   linear_rows<7>, linear_rows<8>};
  static_assert(sizeof(kRows) / sizeof(kRows[0]) == DITC_RT_LINEAR_ROWS_MAX,
                "one instance per row count");
  kRows[m - 1](x, w, bias, y, k, n);
}

} // namespace DITC_RT_ISA_NS
} // namespace ditc_rt
