//===- attention_layout.h - Strides of the attention tensors ----*- C++ -*-===//
//
// attention_layout's `layout` (DITC_RT_SEQ_MAJOR_*) as element strides, shared
// by the CPU kernel (isa/attention.cpp) and the CUDA one (runtime/cuda/
// attention.cu), so that both read the same element for the same layout.
// Host code only.
//
//===----------------------------------------------------------------------===//
#ifndef DITC_RUNTIME_SRC_ATTENTION_LAYOUT_H
#define DITC_RUNTIME_SRC_ATTENTION_LAYOUT_H

#include "ditc/runtime/ditc_kernels.h"

#include <cstdint>

namespace ditc_rt {

/// Element strides of one attention tensor's batch, head and sequence dims;
/// its last (head size) dim is contiguous.
struct HeadStrides {
  int64_t batch, head, seq;
  int64_t at(int64_t b, int64_t h, int64_t i) const {
    return b * batch + h * head + i * seq;
  }
};

/// A dense [B, H, S, D] tensor, or [B, S, H, D] when `seqMajor`.
inline HeadStrides headStrides(bool seqMajor, int64_t heads, int64_t len,
                               int64_t d) {
  if (seqMajor)
    return {len * heads * d, d, heads * d};
  return {heads * len * d, len * d, d};
}

/// The strides of q, k, v and out for `layout`, and of the per-row
/// log-sum-exp: lse is in the order of out's rows ([B, H, Sq] or, with out
/// seq-major, [B, Sq, H]), so that attention_merge_f32, which pairs row r
/// of out with lse[r], merges either layout unchanged.
struct AttentionStrides {
  HeadStrides q, k, v, out, lse;
};

/// Whether `layout` has no bits but the DITC_RT_SEQ_MAJOR_* ones.
inline bool knownLayout(int32_t layout) {
  const int32_t all = DITC_RT_SEQ_MAJOR_Q | DITC_RT_SEQ_MAJOR_K |
                      DITC_RT_SEQ_MAJOR_V | DITC_RT_SEQ_MAJOR_OUT;
  return (layout & ~all) == 0;
}

/// False when `layout` has bits other than the DITC_RT_SEQ_MAJOR_* ones.
inline bool attentionStrides(int32_t layout, int64_t heads, int64_t kv_heads,
                             int64_t q_len, int64_t kv_len, int64_t head_dim,
                             int64_t v_head_dim, AttentionStrides &s) {
  if (!knownLayout(layout))
    return false;
  s.q = headStrides(layout & DITC_RT_SEQ_MAJOR_Q, heads, q_len, head_dim);
  s.k = headStrides(layout & DITC_RT_SEQ_MAJOR_K, kv_heads, kv_len, head_dim);
  s.v = headStrides(layout & DITC_RT_SEQ_MAJOR_V, kv_heads, kv_len, v_head_dim);
  s.out = headStrides(layout & DITC_RT_SEQ_MAJOR_OUT, heads, q_len, v_head_dim);
  s.lse = headStrides(layout & DITC_RT_SEQ_MAJOR_OUT, heads, q_len, 1);
  return true;
}

} // namespace ditc_rt

#endif // DITC_RUNTIME_SRC_ATTENTION_LAYOUT_H
