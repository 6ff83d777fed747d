//===- AttentionReference.h - Naive attention over a global sequence ------===//
//
// The double-precision reference of the ring / block attention tests
// (RingAttentionTest.cpp, RingAttentionMpiTest.cpp): one problem over the
// whole (global) query and key sequences, with GQA, causal (global indices),
// a kv_valid cut and a bool or additive mask, and its per-row log-sum-exp.
// Also the seeded data both tests build (random, never zero).
//
//===----------------------------------------------------------------------===//
#ifndef DITC_TEST_RUNTIME_ATTENTIONREFERENCE_H
#define DITC_TEST_RUNTIME_ATTENTIONREFERENCE_H

#include "ditc/runtime/ditc_kernels.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

namespace ditc_test {

/// A problem over the global sequences: q [B,H,Sq,D], k [B,Hkv,Sk,D],
/// v [B,Hkv,Sk,Dv], mask element [b,h,i,j] at b*ms0 + h*ms1 + i*ms2 + j*ms3.
struct GlobalAttention {
  int64_t B = 1, H = 1, Hkv = 1, Sq = 1, Sk = 1, D = 1, Dv = 1;
  bool causal = false;
  int mask_kind = DITC_RT_MASK_NONE;
  int64_t kv_valid = 0; // <= 0: every key
  float scale = 1.f;
  std::vector<float> q, k, v, add_mask;
  std::vector<uint8_t> bool_mask;
  int64_t ms[4] = {0, 0, 0, 0};

  const void *mask() const {
    return mask_kind == DITC_RT_MASK_BOOL       ? (const void *)bool_mask.data()
           : mask_kind == DITC_RT_MASK_ADDITIVE ? (const void *)add_mask.data()
                                                : nullptr;
  }
  const int64_t *maskStrides() const {
    return mask_kind == DITC_RT_MASK_NONE ? nullptr : ms;
  }
};

/// The sizes, causality and mask kind of test case `c` (any struct with
/// B, H, Hkv, Sq, D, Dv, causal and mask_kind) over `sk` keys, scaled by
/// `scale`; its tensors are still to be made (fillGlobalAttention).
template <class Case>
GlobalAttention attentionOf(const Case &c, int64_t sk, float scale) {
  GlobalAttention g;
  g.B = c.B;
  g.H = c.H;
  g.Hkv = c.Hkv;
  g.Sq = c.Sq;
  g.Sk = sk;
  g.D = c.D;
  g.Dv = c.Dv;
  g.causal = c.causal;
  g.mask_kind = c.mask_kind;
  g.scale = scale;
  return g;
}

/// [B, H, S, D] -> [B, S, H, D] (to = true) or back: the seq-major
/// tensors of the layout tests (DITC_RT_SEQ_MAJOR_*).
template <typename T>
std::vector<T> swapHeads(const std::vector<T> &x, int64_t B, int64_t H,
                         int64_t S, int64_t D, bool to) {
  std::vector<T> y(x.size());
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t i = 0; i < S; ++i)
        for (int64_t t = 0; t < D; ++t) {
          int64_t bhsd = ((b * H + h) * S + i) * D + t;
          int64_t bshd = ((b * S + i) * H + h) * D + t;
          if (to)
            y[bshd] = x[bhsd];
          else
            y[bhsd] = x[bshd];
        }
  return y;
}

inline std::vector<float> nonZeroFloats(size_t n, uint32_t seed, float lo,
                                        float hi) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> x(n);
  for (float &e : x) {
    do
      e = dist(rng);
    while (e == 0.f);
  }
  return x;
}

/// Fills q, k, v and the mask from `seed`. The mask has a real batch dim
/// when mask_batch, a real head dim when mask_heads, a real query dim when
/// mask_rows (else it broadcasts there); bool masks attend with probability
/// 0.7, additive ones lie in [-2, 2] with every 11th element -inf. When
/// masked_row >= 0, that global query row (batch 0, head 0) is masked for
/// every key.
inline void fillGlobalAttention(GlobalAttention &g, uint32_t seed,
                                bool mask_batch, bool mask_heads,
                                bool mask_rows, int64_t masked_row = -1) {
  g.q = nonZeroFloats(g.B * g.H * g.Sq * g.D, seed, -1.f, 1.f);
  g.k = nonZeroFloats(g.B * g.Hkv * g.Sk * g.D, seed + 1, -1.f, 1.f);
  g.v = nonZeroFloats(g.B * g.Hkv * g.Sk * g.Dv, seed + 2, -1.f, 1.f);
  if (g.mask_kind == DITC_RT_MASK_NONE)
    return;
  const int64_t mb = mask_batch ? g.B : 1, mh = mask_heads ? g.H : 1,
                mq = mask_rows ? g.Sq : 1, n = mb * mh * mq * g.Sk;
  g.ms[3] = 1;
  g.ms[2] = mask_rows ? g.Sk : 0;
  g.ms[1] = mask_heads ? mq * g.Sk : 0;
  g.ms[0] = mask_batch ? mh * mq * g.Sk : 0;
  const float inf = std::numeric_limits<float>::infinity();
  if (g.mask_kind == DITC_RT_MASK_BOOL) {
    std::mt19937 rng(seed + 3);
    std::bernoulli_distribution attend(0.7);
    g.bool_mask.resize(n);
    for (uint8_t &e : g.bool_mask)
      e = attend(rng) ? (uint8_t)(1 + rng() % 255) : 0; // any nonzero
  } else {
    g.add_mask = nonZeroFloats(n, seed + 3, -2.f, 2.f);
    for (int64_t i = 5; i < n; i += 11)
      g.add_mask[i] = -inf;
  }
  if (masked_row >= 0 && mask_rows)
    for (int64_t j = 0; j < g.Sk; ++j) {
      int64_t at = masked_row * g.ms[2] + j;
      if (g.mask_kind == DITC_RT_MASK_BOOL)
        g.bool_mask[at] = 0;
      else
        g.add_mask[at] = -inf;
    }
}

/// Output row (b, h, global query i) into out[Dv]; returns the row's
/// log-sum-exp, -inf (and zeros) when it attends to no key.
inline double referenceRow(const GlobalAttention &g, int64_t b, int64_t h,
                           int64_t i, float *out) {
  const int64_t kvh = h / (g.H / g.Hkv);
  const double ninf = -std::numeric_limits<double>::infinity();
  const float *qr = g.q.data() + ((b * g.H + h) * g.Sq + i) * g.D;
  std::vector<double> s(g.Sk, ninf);
  double mx = ninf;
  for (int64_t j = 0; j < g.Sk; ++j) {
    if ((g.causal && j > i) || (g.kv_valid > 0 && j >= g.kv_valid))
      continue;
    const int64_t mo = b * g.ms[0] + h * g.ms[1] + i * g.ms[2] + j * g.ms[3];
    if (g.mask_kind == DITC_RT_MASK_BOOL && !g.bool_mask[mo])
      continue;
    const float *kr = g.k.data() + ((b * g.Hkv + kvh) * g.Sk + j) * g.D;
    double acc = 0;
    for (int64_t t = 0; t < g.D; ++t)
      acc += (double)qr[t] * kr[t];
    acc *= g.scale;
    if (g.mask_kind == DITC_RT_MASK_ADDITIVE)
      acc += g.add_mask[mo];
    s[j] = acc;
    mx = std::max(mx, acc);
  }
  std::vector<double> o(g.Dv, 0.0);
  double sum = 0;
  if (mx != ninf)
    for (int64_t j = 0; j < g.Sk; ++j) {
      if (s[j] == ninf)
        continue;
      double p = std::exp(s[j] - mx);
      sum += p;
      const float *vr = g.v.data() + ((b * g.Hkv + kvh) * g.Sk + j) * g.Dv;
      for (int64_t t = 0; t < g.Dv; ++t)
        o[t] += p * vr[t];
    }
  for (int64_t t = 0; t < g.Dv; ++t)
    out[t] = sum > 0 ? (float)(o[t] / sum) : 0.f;
  return sum > 0 ? mx + std::log(sum) : ninf;
}

/// The reference for global query rows [q0, q0 + n): out [B,H,n,Dv] and,
/// when lse is not null, lse [B,H,n].
inline void referenceRows(const GlobalAttention &g, int64_t q0, int64_t n,
                          std::vector<float> &out,
                          std::vector<double> *lse = nullptr) {
  out.assign(g.B * g.H * n * g.Dv, 0.f);
  if (lse)
    lse->assign(g.B * g.H * n, 0.0);
  for (int64_t b = 0; b < g.B; ++b)
    for (int64_t h = 0; h < g.H; ++h)
      for (int64_t i = 0; i < n; ++i) {
        const int64_t row = (b * g.H + h) * n + i;
        double l = referenceRow(g, b, h, q0 + i, out.data() + row * g.Dv);
        if (lse)
          (*lse)[row] = l;
      }
}

/// Rows [first, first + n) of dim 2 of x [d0, d1, len, inner], contiguous.
inline std::vector<float> sliceDim2(const std::vector<float> &x, int64_t d01,
                                    int64_t len, int64_t inner, int64_t first,
                                    int64_t n) {
  std::vector<float> y(d01 * n * inner);
  for (int64_t a = 0; a < d01; ++a)
    std::copy(x.begin() + (a * len + first) * inner,
              x.begin() + (a * len + first + n) * inner,
              y.begin() + a * n * inner);
  return y;
}

} // namespace ditc_test

#endif // DITC_TEST_RUNTIME_ATTENTIONREFERENCE_H
