//===- ring_schedule.h - Ring attention's rounds, for every target -------===//
//
// The part of Ring attention that the CPU runtime (ring_attention.cpp) and
// the GPU libraries (runtime/cuda/ring_attention.cpp) share: the argument
// checks, each rank's place in the (double) ring, and the rounds: which K/V
// block a rank holds in each round, where it came from (its first global
// key), which blocks are skipped because causality or kv_valid masks them
// whole, and when each transfer starts and is waited for. The target gives
// the attention on a block (the CPU kernel on the host block; a copy to the
// GPU and the GPU kernels there) and the memory; the K/V blocks travel in
// host buffers on both, in the dtype of the call (bf16 blocks are half the
// bytes of f32 ones; each target widens a block to f32 to attend to it).
// Each tensor is [B, H, S, D] or, by the call's `layout` bits
// (DITC_RT_SEQ_MAJOR_*), [B, S, H, D]: a block is the bytes of k then v as
// the caller laid them out, and the targets' attention kernels read every
// tensor, and write out and the lse, in its own layout (the lse in the
// order of out's rows, which is what the merge pairs them by).
//
// Rank r of P keeps its queries and passes the K/V blocks around the ring:
// in round t it holds the block that started at rank (r - t) mod P, starts
// sending it to r + 1 and receiving the next from r - 1, attends to it
// while the transfer runs and then waits for the transfer. Two buffers
// alternate; the last round sends nothing. The double ring (LoongTrain)
// orders the P = O x I ranks as O groups of I (ring rank g * I + i): in
// outer round o a rank starts from the block that rank ((g - o) mod O, i)
// started with, sends it on to group g + 1 (overlapping the whole inner
// round) and circulates it around its inner ring. O = 1 is the plain ring.
//
// Header-only and free of any runtime library's symbols but the
// communicator's (ditc_comm.h), so that both runtimes compile it.
//
//===----------------------------------------------------------------------===//
#ifndef DITC_RUNTIME_RING_SCHEDULE_H
#define DITC_RUNTIME_RING_SCHEDULE_H

#include "attention_layout.h"

#include "ditc/runtime/ditc_comm.h"
#include "ditc/runtime/ditc_kernels.h"

#include <cstdint>
#include <cstdio>
#include <tuple>
#include <utility>

namespace ditc_rt::ring {

inline int64_t roundUp(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

/// Whether the byte ranges [a, a + aBytes) and [b, b + bBytes) overlap.
inline bool overlaps(const void *a, int64_t aBytes, const void *b,
                     int64_t bBytes) {
  auto pa = reinterpret_cast<uintptr_t>(a), pb = reinterpret_cast<uintptr_t>(b);
  return aBytes > 0 && bBytes > 0 && pa < pb + (uintptr_t)bBytes &&
         pb < pa + (uintptr_t)aBytes;
}

/// The sizes of one call, as ring_attention takes them.
struct Shape {
  int64_t batch, heads, kvHeads, qLen, kvLen, headDim, vHeadDim;
  int32_t causal;
  int64_t kvValid;
  /// The element type of q, k, v and out (F32, BF16 or F16).
  int32_t dtype;
  /// The DITC_RT_SEQ_MAJOR_* bits of q, k, v and out (0: all head-major).
  /// The counts below do not depend on it.
  int32_t layout;

  int64_t rows() const { return batch * heads * qLen; }
  int64_t qCount() const { return rows() * headDim; }
  int64_t outCount() const { return rows() * vHeadDim; }
  int64_t kCount() const { return batch * kvHeads * kvLen * headDim; }
  int64_t vCount() const { return batch * kvHeads * kvLen * vHeadDim; }
  /// One K/V block (K then V), elements.
  int64_t blockCount() const { return kCount() + vCount(); }
  int64_t elemBytes() const { return dtype == DITC_RT_F32 ? 4 : 2; }
  int64_t blockBytes() const { return blockCount() * elemBytes(); }
};

/// Why the sizes or the mask cannot be honoured, or null.
inline const char *checkArguments(const Shape &s, const void *mask,
                                  int32_t maskKind, const int64_t *maskStrides) {
  if (s.batch < 0 || s.heads < 0 || s.qLen < 0 || s.kvLen < 0 ||
      s.headDim < 0 || s.vHeadDim < 0)
    return "negative size";
  if (s.kvHeads <= 0 || s.heads % s.kvHeads != 0)
    return "heads must be a multiple of kv_heads (> 0)";
  if (s.qLen > INT32_MAX)
    return "q_len is too long";
  if (s.dtype != DITC_RT_F32 && s.dtype != DITC_RT_BF16 &&
      s.dtype != DITC_RT_F16)
    return "the dtype is not F32, BF16 or F16";
  if (maskKind != DITC_RT_MASK_NONE && maskKind != DITC_RT_MASK_BOOL &&
      maskKind != DITC_RT_MASK_ADDITIVE)
    return "unknown mask kind";
  if (maskKind != DITC_RT_MASK_NONE && (!mask || !maskStrides))
    return "a mask kind without a mask or its strides";
  if (!knownLayout(s.layout)) {
    // The reason names the bits, as the attention kernels' check does; it
    // is the calling thread's, read before that thread's next call.
    thread_local char why[48];
    std::snprintf(why, sizeof why, "unknown layout bits 0x%x",
                  (unsigned)s.layout);
    return why;
  }
  return nullptr;
}

/// One call's arguments, as the dtype-taking entry points of
/// ditc_kernels.def take them (`outer` null: a plain ring over `inner`).
struct Args {
  ditc_rt_comm *inner, *outer;
  const void *q, *k, *v, *mask;
  int32_t maskKind;
  const int64_t *maskStrides;
  void *out;
  float scale;
  Shape shape;
};

/// This rank's place: member i of an inner ring of I ranks, group g of O.
struct Place {
  int32_t i = 0, inSize = 1, g = 0, outSize = 1;
  int32_t size() const { return inSize * outSize; }
  /// The first global query row of this rank.
  int64_t qFirst(int64_t qLen) const {
    return ((int64_t)g * inSize + i) * qLen;
  }
};

/// The place from the inner and (when not null) the outer communicator.
inline ditc_rt_comm_status placeOf(ditc_rt_comm *inner, ditc_rt_comm *outer,
                                   Place &p) {
  for (auto [comm, rank, size] : {std::tuple{inner, &p.i, &p.inSize},
                                  std::tuple{outer, &p.g, &p.outSize}}) {
    if (!comm)
      continue;
    ditc_rt_comm_status st = ditc_rt_comm_rank(comm, rank);
    if (st == DITC_RT_COMM_OK)
      st = ditc_rt_comm_size(comm, size);
    if (st != DITC_RT_COMM_OK)
      return st;
  }
  return DITC_RT_COMM_OK;
}

/// Checks a call and finds this rank's place. Returns OK, ARGUMENT (`why`
/// says why) or the communicator's status; `empty`: nothing to compute or
/// to exchange (every rank passes the same sizes, so every rank agrees).
inline ditc_rt_comm_status prepare(const Args &a, Place &place,
                                   const char *&why, bool &empty) {
  const Shape &s = a.shape;
  why = checkArguments(s, a.mask, a.maskKind, a.maskStrides);
  if (!why && ((s.outCount() > 0 && (!a.q || !a.out)) ||
               (s.kvLen > 0 && s.batch > 0 &&
                ((!a.k && s.kCount()) || (!a.v && s.vCount())))))
    why = "null tensor";
  if (why)
    return DITC_RT_COMM_ERROR_ARGUMENT;
  empty = s.outCount() == 0;
  return placeOf(a.inner, a.outer, place);
}

/// The host K/V buffers the rounds use, blockBytes each: `own`
/// (this rank's block on entry), `outerNext` (the next outer round's,
/// O > 1), `inner[0]` and `inner[1]` (I > 1; the plain ring's second inner
/// buffer is `own`).
struct Blocks {
  char *own = nullptr, *outerNext = nullptr, *inner[2] = {nullptr, nullptr};
};

/// How many K/V buffers `place` needs, and how a target lays them out in
/// `count(place)` consecutive pieces of `stride` bytes from `base`.
inline int count(const Place &p) {
  return 1 + (p.outSize > 1) + (p.inSize > 1) + (p.inSize > 1 && p.outSize > 1);
}
inline Blocks layout(const Place &p, char *base, int64_t stride) {
  Blocks b;
  int n = 0;
  b.own = base + stride * n++;
  if (p.outSize > 1)
    b.outerNext = base + stride * n++;
  if (p.inSize > 1) {
    b.inner[0] = base + stride * n++;
    b.inner[1] = p.outSize > 1 ? base + stride * n++ : b.own;
  }
  return b;
}

/// What a round leaves behind.
struct Outcome {
  ditc_rt_comm_status status = DITC_RT_COMM_OK;
  /// Some block was attended to (else every row attends to no key).
  bool attended = false;
  /// On failure: a transfer may still read or write the buffers, which
  /// must then stay allocated.
  bool pending = false;
};

/// The exchange of host buffers (the CPU and the GPU's staged rounds): a
/// sendrecv on the host communicator, started and waited for on the host.
struct HostExchange {
  using Request = ditc_rt_comm_request *;
  ditc_rt_comm_status exchange(ditc_rt_comm *comm, char *send, int32_t dst, char *recv,
                               int32_t src, int64_t count, int32_t dtype, Request *req) {
    return ditc_rt_comm_sendrecv_start(comm, send, count, dst, recv, count, src, dtype,
                                       DITC_RT_RING_ATTENTION_TAG, req);
  }
  ditc_rt_comm_status wait(Request req) { return ditc_rt_comm_request_wait(req); }
};

/// Runs the rounds over the buffers `b` (`b.own` holds this rank's block).
/// `ops` gives the target's part:
///   void attend(const char *kv, int64_t kFirst, bool first): the local
///     queries' attention on the block `kv` (K then V) whose first global
///     key is kFirst; `first`: the first block attended (it starts the
///     running result), else merged into it;
///   void release(): before a transfer into a buffer that attend() may
///     still be reading starts (the GPU's copy of it may be in flight);
///   Request, exchange(comm, send, dst, recv, src, count, dtype, &req) and
///     wait(req): start the transfer of a block to the next rank and from
///     the previous one, and wait for it (HostExchange, or the GPU's
///     device-to-device transfer on a stream of its own).
template <class Ops>
Outcome runRounds(Ops &ops, ditc_rt_comm *inner, ditc_rt_comm *outer,
                  const Place &p, const Shape &s, Blocks b) {
  using Request = typename Ops::Request;
  Outcome r;
  const int64_t blockCount = s.blockCount();
  const int64_t qFirst = p.qFirst(s.qLen), qLast = qFirst + s.qLen - 1;
  auto exchange = [&](ditc_rt_comm *comm, int32_t rank, int32_t n, char *send,
                      char *recv, Request *req) {
    ops.release();
    return ops.exchange(comm, send, (rank + 1) % n, recv, (rank + n - 1) % n, blockCount,
                        s.dtype, req);
  };
  char *start = b.own, *outerNext = b.outerNext;
  for (int32_t o = 0; o < p.outSize; ++o) {
    Request outerReq{};
    if (o + 1 < p.outSize && blockCount > 0) {
      r.status = exchange(outer, p.g, p.outSize, start, outerNext, &outerReq);
      if (r.status != DITC_RT_COMM_OK)
        return r;
    }
    char *cur = start;
    for (int32_t t = 0; t < p.inSize; ++t) {
      char *recv = p.inSize > 1 ? b.inner[t & 1] : nullptr;
      Request req{};
      if (t + 1 < p.inSize && blockCount > 0) {
        r.status = exchange(inner, p.i, p.inSize, cur, recv, &req);
        if (r.status != DITC_RT_COMM_OK) {
          r.pending = outerReq != Request{};
          return r;
        }
      }
      // Where cur started: ring rank of group g - o, member i - t.
      const int64_t src =
          (int64_t)((p.g - o + p.outSize) % p.outSize) * p.inSize +
          (p.i - t + p.inSize) % p.inSize;
      const int64_t kFirst = src * s.kvLen;
      const bool masked = s.kvLen == 0 ||
                          (s.kvValid > 0 && kFirst >= s.kvValid) ||
                          (s.causal && kFirst > qLast);
      if (!masked) {
        ops.attend(cur, kFirst, !r.attended);
        r.attended = true;
      }
      if (req) {
        // On failure the send may still be pending in the backend
        // (ditc_comm.h), which may read its buffer later.
        r.status = ops.wait(req);
        if (r.status != DITC_RT_COMM_OK) {
          r.pending = true;
          return r;
        }
      }
      cur = recv;
    }
    if (outerReq) {
      r.status = ops.wait(outerReq);
      if (r.status != DITC_RT_COMM_OK) {
        r.pending = true;
        return r;
      }
      std::swap(start, outerNext);
    }
  }
  return r;
}

} // namespace ditc_rt::ring

/// Defines PREFIX_double_ring_attention and PREFIX_ring_attention, the
/// dtype-taking entry points of ditc_kernels.def, on IMPL, a function of
/// (const ditc_rt::ring::Args &) returning the status.
#define DITC_RING_ATTENTION_ENTRY_POINTS(PREFIX, IMPL)                         \
  extern "C" int32_t PREFIX##_double_ring_attention(                           \
      void *inner, void *outer, int32_t dtype, const void *q, const void *k,   \
      const void *v, const void *mask, int32_t mask_kind,                      \
      const int64_t *mask_strides, void *out, int64_t batch, int64_t heads,    \
      int64_t kv_heads, int64_t q_len, int64_t kv_len, int64_t head_dim,       \
      int64_t v_head_dim, float scale, int32_t causal, int64_t kv_valid,       \
      int32_t layout) {                                                        \
    return IMPL(ditc_rt::ring::Args{                                           \
        static_cast<ditc_rt_comm *>(inner),                                    \
        static_cast<ditc_rt_comm *>(outer),                                    \
        q,                                                                     \
        k,                                                                     \
        v,                                                                     \
        mask,                                                                  \
        mask_kind,                                                             \
        mask_strides,                                                          \
        out,                                                                   \
        scale,                                                                 \
        {batch, heads, kv_heads, q_len, kv_len, head_dim, v_head_dim, causal,  \
         kv_valid, dtype, layout}});                                           \
  }                                                                            \
  extern "C" int32_t PREFIX##_ring_attention(                                  \
      void *comm, int32_t dtype, const void *q, const void *k, const void *v,  \
      const void *mask, int32_t mask_kind, const int64_t *mask_strides,        \
      void *out, int64_t batch, int64_t heads, int64_t kv_heads,               \
      int64_t q_len, int64_t kv_len, int64_t head_dim, int64_t v_head_dim,     \
      float scale, int32_t causal, int64_t kv_valid, int32_t layout) {         \
    return PREFIX##_double_ring_attention(                                     \
        comm, nullptr, dtype, q, k, v, mask, mask_kind, mask_strides, out,     \
        batch, heads, kv_heads, q_len, kv_len, head_dim, v_head_dim, scale,    \
        causal, kv_valid, layout);                                             \
  }

#endif // DITC_RUNTIME_RING_SCHEDULE_H
