//===- ring_attention.cpp - Ring attention over a communicator -----------===//
//
// ditc_rt_ring_attention[_f32] and ditc_rt_double_ring_attention[_f32]
// (ditc_kernels.def, runtime/README.md) on the CPU. The rounds (which block
// a rank holds when, which it skips, when each transfer starts and ends)
// are ring_schedule.h's, shared with the GPU libraries; here each block is
// attended to where it lies (ditc_rt_attention_layout_f32: global offsets,
// per-row log-sum-exp, each tensor in the call's layout) while the transfer
// runs, and merged into the running result (ditc_rt_attention_merge_f32,
// the online softmax; the lse is in the order of out's rows in either
// layout, so the merge is the same). Blocks that causality or the kv_valid
// cut mask entirely are forwarded but not computed. bf16 / f16 blocks
// travel as they are (half the bytes of f32) and are widened to f32 to be
// attended to; q is widened once, the result narrowed once (element by
// element, so every tensor keeps its layout).
//
// Compiled once (not per ISA): the kernels it calls dispatch to the active
// code path themselves.
//
//===----------------------------------------------------------------------===//
#include "comm/backend.h"
#include "ring_schedule.h"

#include "ditc/runtime/ditc_comm.h"
#include "ditc/runtime/ditc_kernels.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>

using ditc_rt::comm::setError;
namespace ring = ditc_rt::ring;

namespace {

constexpr const char *kName = "ring_attention";

ditc_rt_comm_status argumentError(const char *why) {
  setError("%s: %s", kName, why);
  return DITC_RT_COMM_ERROR_ARGUMENT;
}

/// The CPU's part of the rounds.
struct HostOps : ring::HostExchange {
  const ring::Shape &s;
  const float *q;
  const void *mask;
  int32_t maskKind;
  const int64_t *maskStrides;
  float *kvWide; // the block as f32 (null: the blocks are f32)
  float *acc, *lse, *part, *partLse;
  float scale;
  int64_t qFirst;

  void attend(const char *block, int64_t kFirst, bool first) {
    const float *kv = reinterpret_cast<const float *>(block);
    if (kvWide) {
      ditc_rt_cast(s.dtype, DITC_RT_F32, block, kvWide, s.blockCount());
      kv = kvWide;
    }
    ditc_rt_attention_layout_f32(
        q, kv, kv + s.kCount(), mask, maskKind, maskStrides,
        first ? acc : part, first ? lse : partLse, s.batch, s.heads, s.kvHeads,
        s.qLen, s.kvLen, s.headDim, s.vHeadDim, scale, s.causal, qFirst,
        kFirst, s.kvValid, s.layout);
    if (!first)
      ditc_rt_attention_merge_f32(acc, lse, part, partLse, s.rows(),
                                  s.vHeadDim);
  }
  void release() {} // attend() is done when it returns
};

/// The scratch of this thread's ring attentions, kept from one call to the
/// next: freshly allocated each call, tens of MiB came from mmap() every
/// time (above glibc's threshold) and their first touch page-faulted
/// inside the attention, several milliseconds of a DiT block's 40 on this
/// VM. A call that fails with a transfer still pending gives its buffer up
/// (the transfer may write it later) and the next call allocates anew.
class RingScratch {
public:
  /// At least `bytes` bytes, 64-byte aligned, or null.
  char *get(int64_t bytes) {
    if (bytes > capacity_) {
      std::free(data_);
      capacity_ = 0;
      data_ = static_cast<char *>(std::aligned_alloc(64, (size_t)bytes));
      if (data_)
        capacity_ = bytes;
    }
    return data_;
  }
  /// Leaves the buffer to a transfer that may still write it.
  void abandon() {
    data_ = nullptr;
    capacity_ = 0;
  }
  ~RingScratch() { std::free(data_); }

private:
  char *data_ = nullptr;
  int64_t capacity_ = 0;
};
thread_local RingScratch ringScratch;

/// Ring attention over `a.inner` (and, when not null, a double ring with
/// the outer ring over `a.outer`).
int32_t ringAttention(const ring::Args &a) {
  const ring::Shape &s = a.shape;
  ring::Place place;
  const char *why = nullptr;
  bool empty = false;
  if (ditc_rt_comm_status st = ring::prepare(a, place, why, empty))
    return why ? argumentError(why) : st;
  if (empty)
    return DITC_RT_COMM_OK;
  const int32_t dtype = s.dtype;
  const int64_t rows = s.rows(), outCount = s.outCount();
  const int64_t kCount = s.kCount(), vCount = s.vCount();
  const int64_t e = s.elemBytes();
  const void *q = a.q, *k = a.k, *v = a.v;
  void *out = a.out;
  const bool wide = dtype == DITC_RT_F32;
  // The kernel may write out over q only when both have one layout (each
  // row then overwrites the query row it was computed from); otherwise an
  // overlapping out takes the general path's separate accumulator.
  const bool qOutOneLayout =
      !(s.layout & DITC_RT_SEQ_MAJOR_Q) == !(s.layout & DITC_RT_SEQ_MAJOR_OUT);
  if (wide && place.size() == 1 &&
      (qOutOneLayout || !ring::overlaps(out, outCount * e, q, s.qCount() * e))) {
    ditc_rt_attention_layout_f32(
        static_cast<const float *>(q), static_cast<const float *>(k),
        static_cast<const float *>(v), a.mask, a.maskKind, a.maskStrides,
        static_cast<float *>(out), nullptr, s.batch, s.heads, s.kvHeads,
        s.qLen, s.kvLen, s.headDim, s.vHeadDim, a.scale, s.causal, 0, 0,
        s.kvValid, s.layout);
    return DITC_RT_COMM_OK;
  }

  // Scratch, one buffer (RingScratch) of 64-byte aligned pieces: the K/V
  // blocks of the rounds (ring_schedule.h, in the dtype), and in f32: q
  // and the block at hand (a narrower dtype), the running and the block's
  // log-sum-exp, the block's output, the running output (a narrower dtype,
  // or out overlapping q, which later rounds still read).
  const bool separateAcc =
      !wide || ring::overlaps(out, outCount * e, q, s.qCount() * e);
  const int64_t blockStride = ring::roundUp(s.blockBytes(), 64);
  int64_t at = blockStride * ring::count(place); // bytes
  auto take = [&](int64_t floats) {
    int64_t here = at;
    at += ring::roundUp(floats * 4, 64);
    return here;
  };
  const int64_t offQ = wide ? -1 : take(s.qCount());
  const int64_t offKv = wide ? -1 : take(s.blockCount());
  const int64_t offLse = take(rows), offPartLse = take(rows);
  const int64_t offPart = take(outCount);
  const int64_t offAcc = separateAcc ? take(outCount) : -1;
  char *scratch = ringScratch.get(at);
  if (!scratch) {
    setError("%s: out of memory (%lld bytes of scratch)", kName,
             (long long)at);
    return DITC_RT_COMM_ERROR_MEMORY;
  }
  auto floats = [&](int64_t off) {
    return off < 0 ? nullptr : reinterpret_cast<float *>(scratch + off);
  };
  ring::Blocks blocks = ring::layout(place, scratch, blockStride);
  if (kCount)
    std::memcpy(blocks.own, k, kCount * e);
  if (vCount)
    std::memcpy(blocks.own + kCount * e, v, vCount * e);
  const float *wq = static_cast<const float *>(q);
  if (!wide) {
    ditc_rt_cast(dtype, DITC_RT_F32, q, floats(offQ), s.qCount());
    wq = floats(offQ);
  }
  float *acc = separateAcc ? floats(offAcc) : static_cast<float *>(out);

  HostOps ops{{},
              s,
              wq,
              a.mask,
              a.maskKind,
              a.maskStrides,
              floats(offKv),
              acc,
              floats(offLse),
              floats(offPart),
              floats(offPartLse),
              a.scale,
              place.qFirst(s.qLen)};
  ring::Outcome r;
  if (place.size() == 1) {
    ops.attend(blocks.own, 0, true);
    r.attended = true;
  } else {
    r = ring::runRounds(ops, a.inner, a.outer, place, s, blocks);
  }
  if (r.status != DITC_RT_COMM_OK) {
    // A transfer still pending may touch the scratch later: it is left.
    if (r.pending)
      ringScratch.abandon();
    return r.status;
  }
  if (!r.attended)
    std::memset(acc, 0, outCount * sizeof(float));
  if (!wide)
    ditc_rt_cast(DITC_RT_F32, dtype, acc, out, outCount);
  else if (acc != out)
    std::memcpy(out, acc, outCount * sizeof(float));
  return DITC_RT_COMM_OK;
}

} // namespace

DITC_RING_ATTENTION_ENTRY_POINTS(ditc_rt, ringAttention)

extern "C" {

int32_t ditc_rt_ring_attention_f32(void *comm, const float *q, const float *k,
                                   const float *v, const void *mask,
                                   int32_t mask_kind,
                                   const int64_t *mask_strides, float *out,
                                   int64_t batch, int64_t heads,
                                   int64_t kv_heads, int64_t q_len,
                                   int64_t kv_len, int64_t head_dim,
                                   int64_t v_head_dim, float scale,
                                   int32_t causal, int64_t kv_valid) {
  return ditc_rt_ring_attention(comm, DITC_RT_F32, q, k, v, mask, mask_kind,
                                mask_strides, out, batch, heads, kv_heads,
                                q_len, kv_len, head_dim, v_head_dim, scale,
                                causal, kv_valid, /*layout=*/0);
}

int32_t ditc_rt_double_ring_attention_f32(
    void *inner, void *outer, const float *q, const float *k, const float *v,
    const void *mask, int32_t mask_kind, const int64_t *mask_strides,
    float *out, int64_t batch, int64_t heads, int64_t kv_heads, int64_t q_len,
    int64_t kv_len, int64_t head_dim, int64_t v_head_dim, float scale,
    int32_t causal, int64_t kv_valid) {
  return ditc_rt_double_ring_attention(
      inner, outer, DITC_RT_F32, q, k, v, mask, mask_kind, mask_strides, out,
      batch, heads, kv_heads, q_len, kv_len, head_dim, v_head_dim, scale,
      causal, kv_valid, /*layout=*/0);
}

} // extern "C"
