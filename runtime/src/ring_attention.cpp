//===- ring_attention.cpp - Ring attention over a communicator -----------===//
//
// ditc_rt_ring_attention_f32 and ditc_rt_double_ring_attention_f32
// (ditc_kernels.def, runtime/README.md). Rank r of P keeps its queries and
// passes the K/V blocks around the ring: in round t it holds the block that
// started at rank (r - t) mod P, starts sending it to r + 1 and receiving
// the next from r - 1, attends to it (ditc_rt_attention_block_f32: global
// offsets, per-row log-sum-exp) while the transfer runs, merges the partial
// result into the running one (ditc_rt_attention_merge_f32, the online
// softmax) and then waits for the transfer. Two K/V buffers alternate; the
// last round sends nothing. Blocks that causality or the kv_valid cut mask
// entirely are forwarded but not computed.
//
// The double ring (LoongTrain) orders the P = O x I ranks as O groups of I
// (ring rank g * I + i): an inner ring per group and an outer ring across
// the groups. In outer round o a rank starts from the block that rank
// ((g - o) mod O, i) started with, sends that block on around the outer
// ring (to group g + 1, overlapping the whole inner round) and circulates
// it around its inner ring. Each rank sends O (I - 1) blocks to its inner
// neighbour and O - 1 to its outer one, instead of P - 1 to one neighbour:
// across nodes, only O - 1 transfers cross the slow link. O = 1 is the
// plain ring.
//
// Compiled once (not per ISA): the kernels it calls dispatch to the active
// code path themselves.
//
//===----------------------------------------------------------------------===//
#include "comm/backend.h"

#include "ditc/runtime/ditc_comm.h"
#include "ditc/runtime/ditc_kernels.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <tuple>
#include <utility>

using ditc_rt::comm::setError;

namespace {

constexpr const char *kName = "ring_attention_f32";

int64_t roundUp(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

bool overlaps(const void *a, int64_t aBytes, const void *b, int64_t bBytes) {
  auto pa = reinterpret_cast<uintptr_t>(a), pb = reinterpret_cast<uintptr_t>(b);
  return aBytes > 0 && bBytes > 0 && pa < pb + (uintptr_t)bBytes &&
         pb < pa + (uintptr_t)aBytes;
}

ditc_rt_comm_status argumentError(const char *why) {
  setError("%s: %s", kName, why);
  return DITC_RT_COMM_ERROR_ARGUMENT;
}

/// Ring attention over `inner` (and, when not null, a double ring with the
/// outer ring over `outer`).
int32_t ringAttention(ditc_rt_comm *inner, ditc_rt_comm *outer, const float *q,
                      const float *k, const float *v, const void *mask,
                      int32_t mask_kind, const int64_t *mask_strides, float *out,
                      int64_t batch, int64_t heads, int64_t kv_heads,
                      int64_t q_len, int64_t kv_len, int64_t head_dim,
                      int64_t v_head_dim, float scale, int32_t causal,
                      int64_t kv_valid) {
  if (batch < 0 || heads < 0 || q_len < 0 || kv_len < 0 || head_dim < 0 ||
      v_head_dim < 0)
    return argumentError("negative size");
  if (kv_heads <= 0 || heads % kv_heads != 0)
    return argumentError("heads must be a multiple of kv_heads (> 0)");
  if (q_len > INT32_MAX)
    return argumentError("q_len is too long");
  if (mask_kind != DITC_RT_MASK_NONE && mask_kind != DITC_RT_MASK_BOOL &&
      mask_kind != DITC_RT_MASK_ADDITIVE)
    return argumentError("unknown mask kind");
  if (mask_kind != DITC_RT_MASK_NONE && (!mask || !mask_strides))
    return argumentError("a mask kind without a mask or its strides");

  // This rank's place: group g of O, member i of I.
  int32_t i = 0, inSize = 1, g = 0, outSize = 1;
  for (auto [comm, rank, size] : {std::tuple{inner, &i, &inSize},
                                  std::tuple{outer, &g, &outSize}}) {
    if (!comm)
      continue;
    ditc_rt_comm_status st = ditc_rt_comm_rank(comm, rank);
    if (st == DITC_RT_COMM_OK)
      st = ditc_rt_comm_size(comm, size);
    if (st != DITC_RT_COMM_OK)
      return st;
  }
  const int32_t size = inSize * outSize;

  const int64_t rows = batch * heads * q_len; // output rows
  const int64_t outCount = rows * v_head_dim;
  const int64_t kCount = batch * kv_heads * kv_len * head_dim;
  const int64_t vCount = batch * kv_heads * kv_len * v_head_dim;
  const int64_t blockCount = kCount + vCount; // one K/V block, floats
  if ((outCount > 0 && (!q || !out)) ||
      (kv_len > 0 && batch > 0 && ((!k && kCount) || (!v && vCount))))
    return argumentError("null tensor");
  // Every rank passes the same sizes, so every rank agrees that there is
  // nothing to compute or to exchange.
  if (outCount == 0)
    return DITC_RT_COMM_OK;

  if (size == 1) {
    ditc_rt_attention_block_f32(q, k, v, mask, mask_kind, mask_strides, out,
                                nullptr, batch, heads, kv_heads, q_len, kv_len,
                                head_dim, v_head_dim, scale, causal, 0, 0,
                                kv_valid);
    return DITC_RT_COMM_OK;
  }

  // Scratch, one allocation of 64-byte aligned pieces: this rank's K/V
  // block, the outer round's next one (double ring), one inner buffer (a
  // second when there are outer rounds: the plain ring reuses its own
  // block's), the running and the block's log-sum-exp, the block's output
  // and, when out overlaps q (still read in later rounds), the running
  // output.
  const bool outIsQ =
      overlaps(out, outCount * 4, q, batch * heads * q_len * head_dim * 4);
  int64_t at = 0;
  auto take = [&](int64_t n) {
    int64_t here = at;
    at += roundUp(n, 16);
    return here;
  };
  const int64_t offOwn = take(blockCount);
  const int64_t offOuterNext = outSize > 1 ? take(blockCount) : -1;
  const int64_t offInner0 = inSize > 1 ? take(blockCount) : -1;
  const int64_t offInner1 = inSize > 1 && outSize > 1 ? take(blockCount) : -1;
  const int64_t offLse = take(rows), offPartLse = take(rows);
  const int64_t offPart = take(outCount);
  const int64_t offAcc = outIsQ ? take(outCount) : -1;
  float *scratch = static_cast<float *>(
      std::aligned_alloc(64, (size_t)at * sizeof(float)));
  if (!scratch) {
    setError("%s: out of memory (%lld bytes of scratch)", kName,
             (long long)(at * 4));
    return DITC_RT_COMM_ERROR_MEMORY;
  }
  auto slot = [&](int64_t off) { return off < 0 ? nullptr : scratch + off; };
  float *start = slot(offOwn), *outerNext = slot(offOuterNext);
  float *innerBuf[2] = {slot(offInner0),
                        outSize > 1 ? slot(offInner1) : slot(offOwn)};
  float *lse = scratch + offLse, *partLse = scratch + offPartLse;
  float *part = scratch + offPart;
  float *acc = outIsQ ? scratch + offAcc : out;

  if (kCount)
    std::memcpy(start, k, kCount * sizeof(float));
  if (vCount)
    std::memcpy(start + kCount, v, vCount * sizeof(float));

  const int64_t qFirst = ((int64_t)g * inSize + i) * q_len,
                qLast = qFirst + q_len - 1;
  auto exchange = [&](ditc_rt_comm *comm, int32_t rank, int32_t n, float *send,
                      float *recv, ditc_rt_comm_request **req) {
    return ditc_rt_comm_sendrecv_start(comm, send, blockCount, (rank + 1) % n,
                                       recv, blockCount, (rank + n - 1) % n,
                                       DITC_RT_F32, DITC_RT_RING_ATTENTION_TAG,
                                       req);
  };
  bool have = false; // acc / lse hold a block's result
  for (int32_t o = 0; o < outSize; ++o) {
    ditc_rt_comm_request *outerReq = nullptr;
    if (o + 1 < outSize && blockCount > 0) {
      ditc_rt_comm_status st =
          exchange(outer, g, outSize, start, outerNext, &outerReq);
      if (st != DITC_RT_COMM_OK) {
        std::free(scratch);
        return st;
      }
    }
    float *cur = start;
    for (int32_t t = 0; t < inSize; ++t) {
      float *recv = innerBuf[t & 1];
      ditc_rt_comm_request *req = nullptr;
      if (t + 1 < inSize && blockCount > 0) {
        ditc_rt_comm_status st = exchange(inner, i, inSize, cur, recv, &req);
        if (st != DITC_RT_COMM_OK) {
          // An outer transfer may still be pending: the scratch is left.
          if (!outerReq)
            std::free(scratch);
          return st;
        }
      }

      // Where cur started: ring rank of group g - o, member i - t.
      const int64_t src = (int64_t)((g - o + outSize) % outSize) * inSize +
                          (i - t + inSize) % inSize;
      const int64_t kFirst = src * kv_len;
      const bool masked = kv_len == 0 || (kv_valid > 0 && kFirst >= kv_valid) ||
                          (causal && kFirst > qLast);
      if (!masked) {
        ditc_rt_attention_block_f32(
            q, cur, cur + kCount, mask, mask_kind, mask_strides,
            have ? part : acc, have ? partLse : lse, batch, heads, kv_heads,
            q_len, kv_len, head_dim, v_head_dim, scale, causal, qFirst, kFirst,
            kv_valid);
        if (have)
          ditc_rt_attention_merge_f32(acc, lse, part, partLse, rows,
                                      v_head_dim);
        have = true;
      }

      if (req) {
        // On failure the send may still be pending in the backend
        // (ditc_comm.h), which may read its buffer later: the scratch is
        // left allocated.
        if (ditc_rt_comm_status st = ditc_rt_comm_request_wait(req);
            st != DITC_RT_COMM_OK)
          return st;
      }
      cur = recv;
    }
    if (outerReq) {
      if (ditc_rt_comm_status st = ditc_rt_comm_request_wait(outerReq);
          st != DITC_RT_COMM_OK)
        return st;
      std::swap(start, outerNext);
    }
  }

  if (!have)
    std::memset(acc, 0, outCount * sizeof(float));
  if (outIsQ)
    std::memcpy(out, acc, outCount * sizeof(float));
  std::free(scratch);
  return DITC_RT_COMM_OK;
}

} // namespace

extern "C" int32_t
ditc_rt_ring_attention_f32(void *comm, const float *q, const float *k,
                           const float *v, const void *mask, int32_t mask_kind,
                           const int64_t *mask_strides, float *out,
                           int64_t batch, int64_t heads, int64_t kv_heads,
                           int64_t q_len, int64_t kv_len, int64_t head_dim,
                           int64_t v_head_dim, float scale, int32_t causal,
                           int64_t kv_valid) {
  return ringAttention(static_cast<ditc_rt_comm *>(comm), nullptr, q, k, v,
                       mask, mask_kind, mask_strides, out, batch, heads,
                       kv_heads, q_len, kv_len, head_dim, v_head_dim, scale,
                       causal, kv_valid);
}

extern "C" int32_t ditc_rt_double_ring_attention_f32(
    void *inner, void *outer, const float *q, const float *k, const float *v,
    const void *mask, int32_t mask_kind, const int64_t *mask_strides,
    float *out, int64_t batch, int64_t heads, int64_t kv_heads, int64_t q_len,
    int64_t kv_len, int64_t head_dim, int64_t v_head_dim, float scale,
    int32_t causal, int64_t kv_valid) {
  return ringAttention(static_cast<ditc_rt_comm *>(inner),
                       static_cast<ditc_rt_comm *>(outer), q, k, v, mask,
                       mask_kind, mask_strides, out, batch, heads, kv_heads,
                       q_len, kv_len, head_dim, v_head_dim, scale, causal,
                       kv_valid);
}
