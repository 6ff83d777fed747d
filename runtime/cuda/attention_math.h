//===- attention_math.h - Online-softmax arithmetic of the CUDA attention -===//
//
// The scalar arithmetic of the flash attention in attention.cu, host and
// device alike, so the host test (test/Cuda/AttentionMathTest.cpp) checks the
// very functions the kernels call. Scores are in base 2: the kernels fold
// scale * log2(e) into Q (and multiply an additive mask by log2(e)), so the
// softmax weights are 2^(s - m).
//
// Per query row the kernel keeps the running max m (base 2, -inf while no key
// has been attended) and the running sum l of 2^(s - m). For each tile of
// keys:
//
//   alpha = ditc_att_update_max(&m, tile_max);   // the new max, and
//   l = l * alpha + sum_j ditc_att_weight(s_j, m);
//   o = o * alpha + sum_j ditc_att_weight(s_j, m) * v_j;
//
// and at the end out = o * ditc_att_inv_sum(l), lse = ditc_att_lse(m, l)
// (natural log, -inf when the row attended to nothing). Merging two results
// over disjoint keys (ring attention) is ditc_att_merge on their lse.
//
// Masked scores are -inf. A row whose keys are all masked so far has m = -inf;
// the weights are then taken against 0 instead (ditc_att_exp_base), so
// 2^(-inf - 0) = 0 and no -inf - -inf = NaN appears.
//
//===----------------------------------------------------------------------===//
#ifndef DITC_RUNTIME_CUDA_ATTENTION_MATH_H
#define DITC_RUNTIME_CUDA_ATTENTION_MATH_H

#include <math.h>

#ifndef DITC_HD
#ifdef __CUDACC__
#define DITC_HD __host__ __device__
#else
#define DITC_HD
#endif
#endif

#define DITC_ATT_LOG2E 1.44269504088896341f
#define DITC_ATT_LN2 0.693147180559945309f

/// The value weights are taken against for running max m: m itself, or 0
/// while m is -inf (every key so far masked).
DITC_HD inline float ditc_att_exp_base(float m) {
  return m == -INFINITY ? 0.f : m;
}

/// The softmax weight 2^(s - m) of base-2 score s under running max m
/// (0 for a masked score, s = -inf).
DITC_HD inline float ditc_att_weight(float s, float m) {
  return exp2f(s - ditc_att_exp_base(m));
}

/// Folds the max of a new tile's scores into the running max *m and returns
/// the factor alpha = 2^(m_old - m_new) the running sum and output are
/// multiplied by (0 while nothing was attended, 1 when the max stays).
DITC_HD inline float ditc_att_update_max(float *m, float tile_max) {
  const float m_old = *m;
  const float m_new = tile_max > m_old ? tile_max : m_old;
  *m = m_new;
  return exp2f(m_old - ditc_att_exp_base(m_new));
}

/// 1 / l, or 0 for a row that attended to no key (its output is zeros).
DITC_HD inline float ditc_att_inv_sum(float l) {
  return l > 0.f ? 1.f / l : 0.f;
}

/// The row's natural log-sum-exp ln sum_j e^(s_j ln 2) from the base-2
/// running max m and sum l; -inf for a row that attended to no key.
DITC_HD inline float ditc_att_lse(float m, float l) {
  return l > 0.f ? (m + log2f(l)) * DITC_ATT_LN2 : -INFINITY;
}

/// The merge of two results over disjoint keys (attention_merge_f32): with
/// log-sum-exps la (the running one) and lb (the block's), the output is
/// o = o_a * (*fa) + o_b * (*fb) and the new log-sum-exp is returned. With
/// m = max(la, lb) and s = e^(la - m) + e^(lb - m) (in [1, 2]):
/// fa = e^(la - m) / s, fb = e^(lb - m) / s, lse = m + ln s. Both -inf: the
/// row attends to nothing, fa = fb = 0 (zeros) and -inf.
DITC_HD inline float ditc_att_merge(float la, float lb, float *fa, float *fb) {
  const float m = la > lb ? la : lb;
  if (m == -INFINITY) {
    *fa = 0.f;
    *fb = 0.f;
    return -INFINITY;
  }
  const float wa = expf(la - m), wb = expf(lb - m);
  const float s = wa + wb;
  *fa = wa / s;
  *fb = wb / s;
  return m + logf(s);
}

#endif // DITC_RUNTIME_CUDA_ATTENTION_MATH_H
