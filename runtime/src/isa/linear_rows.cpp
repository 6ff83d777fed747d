//===- linear_rows.cpp - Linear layers of a few rows ----------------------===//
//
// linear_rows_f32: y[m, n] = x[m, k] . W (+ bias[n]) for m of at most
// DITC_RT_LINEAR_ROWS_MAX rows, where reading the weight once is the whole
// cost: a DiT block's adaLN modulation runs on the batch's rows (2 with
// CFG), a decoding LLM's projections on one. With a [N, K] weight (as
// PyTorch stores it) oneDNN's matmul primitive took 1.5 to 1.9x as long as
// these loops (docs/BENCHMARKS.md, "Linear layers of a few rows"), so
// linear_f32 calls them there; with [K, N] its sgemm streams as fast. The
// loops stream the weight:
//
//   W [K, N]   four rows of K at a time, a page of columns at a time, into
//              y's m rows (in the caches): y[i, c] += sum_t x[i, t] W[t, c]
//   W [N, K]   (transpose_w) one row per output column, dotted with x's m
//              rows (in the caches)
//
// The threads split the output columns. Each output is a sum over k in
// float, in k's order within each vector lane: not oneDNN's order, so the
// two differ by rounding (LinalgTest compares both with a double sum).
//
//===----------------------------------------------------------------------===//
#include "isa.h"

#include <algorithm>

namespace ditc_rt {
namespace DITC_RT_ISA_NS {
namespace {

// Columns of a W [K, N] block whose four rows stay in L1 across y's rows.
constexpr int64_t kColumnBlock = 1024;

// y[0:M, c0:c1] += x[0:M, :] . W[:, c0:c1], W [K, N].
template <int M>
void rows_kn(const float *x, const float *w, float *y, int64_t k, int64_t n,
             int64_t c0, int64_t c1) {
  for (int64_t b0 = c0; b0 < c1; b0 += kColumnBlock) {
    const int64_t b1 = b0 + kColumnBlock < c1 ? b0 + kColumnBlock : c1;
    int64_t t = 0;
    for (; t + 4 <= k; t += 4) {
      const float *w0 = w + t * n, *w1 = w0 + n, *w2 = w1 + n, *w3 = w2 + n;
      for (int i = 0; i < M; ++i) {
        const float *xi = x + i * k + t;
        const vf a0 = splat(xi[0]), a1 = splat(xi[1]), a2 = splat(xi[2]),
                 a3 = splat(xi[3]);
        float *yi = y + i * n;
        int64_t j = b0;
        for (; j + W <= b1; j += W)
          storeu(yi + j, loadu(yi + j) + a0 * loadu(w0 + j) + a1 * loadu(w1 + j) +
                             a2 * loadu(w2 + j) + a3 * loadu(w3 + j));
        for (; j < b1; ++j)
          yi[j] += xi[0] * w0[j] + xi[1] * w1[j] + xi[2] * w2[j] + xi[3] * w3[j];
      }
    }
    for (; t < k; ++t) {
      const float *wt = w + t * n;
      for (int i = 0; i < M; ++i) {
        const float xt = x[i * k + t];
        const vf a = splat(xt);
        float *yi = y + i * n;
        int64_t j = b0;
        for (; j + W <= b1; j += W)
          storeu(yi + j, loadu(yi + j) + a * loadu(wt + j));
        for (; j < b1; ++j)
          yi[j] += xt * wt[j];
      }
    }
  }
}

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
                 int64_t k, int64_t n, int32_t transpose_w) {
  // Each thread at least 64K weight elements; W [K, N]'s columns in whole
  // vectors.
  const int64_t unit = transpose_w ? 1 : W;
  const int64_t units = (n + unit - 1) / unit;
  const int64_t grain = std::max<int64_t>(1, (int64_t(1) << 16) / (k * unit));
  parallel_range(units, grain, [&](int64_t u0, int64_t u1) {
    const int64_t c0 = u0 * unit, c1 = std::min(n, u1 * unit);
    if (transpose_w) {
      rows_nk<M>(x, w, bias, y, k, n, c0, c1);
      return;
    }
    for (int i = 0; i < M; ++i) {
      if (bias)
        memcpy(y + i * n + c0, bias + c0, sizeof(float) * (c1 - c0));
      else
        memset(y + i * n + c0, 0, sizeof(float) * (c1 - c0));
    }
    rows_kn<M>(x, w, y, k, n, c0, c1);
  });
}

} // namespace

void linear_rows_f32(const float *x, const float *w, const float *bias,
                     float *y, int64_t m, int64_t k, int64_t n,
                     int32_t transpose_w) {
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
                       int64_t, int64_t, int32_t);
  static constexpr Rows kRows[] = {linear_rows<1>, linear_rows<2>, linear_rows<3>,
                                   linear_rows<4>, linear_rows<5>, linear_rows<6>,
                                   linear_rows<7>, linear_rows<8>};
  static_assert(sizeof(kRows) / sizeof(kRows[0]) == DITC_RT_LINEAR_ROWS_MAX,
                "one instance per row count");
  kRows[m - 1](x, w, bias, y, k, n, transpose_w);
}

} // namespace DITC_RT_ISA_NS
} // namespace ditc_rt
