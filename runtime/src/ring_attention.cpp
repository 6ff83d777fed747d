//===- ring_attention.cpp - Ring attention over a communicator -----------===//
//
// ditc_rt_ring_attention_f32 (ditc_kernels.def, runtime/README.md). Rank r
// of P keeps its queries and passes the K/V blocks around the ring: in round
// t it holds the block that started at rank (r - t) mod P, starts sending it
// to r + 1 and receiving the next from r - 1, attends to it
// (ditc_rt_attention_block_f32: global offsets, per-row log-sum-exp) while
// the transfer runs, merges the partial result into the running one
// (ditc_rt_attention_merge_f32, the online softmax) and then waits for the
// transfer. Two K/V buffers alternate; the last round sends nothing. Blocks
// that causality or the kv_valid cut masks entirely are forwarded but not
// computed.
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

} // namespace

extern "C" int32_t
ditc_rt_ring_attention_f32(void *commArg, const float *q, const float *k,
                           const float *v, const void *mask, int32_t mask_kind,
                           const int64_t *mask_strides, float *out,
                           int64_t batch, int64_t heads, int64_t kv_heads,
                           int64_t q_len, int64_t kv_len, int64_t head_dim,
                           int64_t v_head_dim, float scale, int32_t causal,
                           int64_t kv_valid) {
  auto *comm = static_cast<ditc_rt_comm *>(commArg);
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

  int32_t rank = 0, size = 1;
  if (comm) {
    ditc_rt_comm_status st = ditc_rt_comm_rank(comm, &rank);
    if (st == DITC_RT_COMM_OK)
      st = ditc_rt_comm_size(comm, &size);
    if (st != DITC_RT_COMM_OK)
      return st;
  }

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

  // Scratch, one allocation of 64-byte aligned pieces: the two K/V blocks,
  // the running and the block's log-sum-exp, the block's output and, when
  // out overlaps q (still read in later rounds), the running output.
  const bool outIsQ =
      overlaps(out, outCount * 4, q, batch * heads * q_len * head_dim * 4);
  int64_t at = 0;
  auto take = [&](int64_t n) {
    int64_t here = at;
    at += roundUp(n, 16);
    return here;
  };
  const int64_t offBuf0 = take(blockCount), offBuf1 = take(blockCount);
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
  float *buf[2] = {scratch + offBuf0, scratch + offBuf1};
  float *lse = scratch + offLse, *partLse = scratch + offPartLse;
  float *part = scratch + offPart;
  float *acc = outIsQ ? scratch + offAcc : out;

  if (kCount)
    std::memcpy(buf[0], k, kCount * sizeof(float));
  if (vCount)
    std::memcpy(buf[0] + kCount, v, vCount * sizeof(float));

  const int64_t qFirst = (int64_t)rank * q_len, qLast = qFirst + q_len - 1;
  const int32_t next = (rank + 1) % size, prev = (rank + size - 1) % size;
  bool have = false; // acc / lse hold a block's result
  for (int32_t t = 0; t < size; ++t) {
    float *cur = buf[t & 1];
    const int64_t src = (rank - t + size) % size; // where cur started
    ditc_rt_comm_request *req = nullptr;
    if (t + 1 < size && blockCount > 0) {
      ditc_rt_comm_status st = ditc_rt_comm_sendrecv_start(
          comm, cur, blockCount, next, buf[(t + 1) & 1], blockCount, prev,
          DITC_RT_F32, DITC_RT_RING_ATTENTION_TAG, &req);
      if (st != DITC_RT_COMM_OK) {
        std::free(scratch);
        return st;
      }
    }

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
      ditc_rt_comm_status st = ditc_rt_comm_request_wait(req);
      if (st != DITC_RT_COMM_OK) {
        // The send may still be pending in the backend (ditc_comm.h), which
        // may read its buffer later: the scratch is left allocated.
        return st;
      }
    }
  }

  if (!have)
    std::memset(acc, 0, outCount * sizeof(float));
  if (outIsQ)
    std::memcpy(out, acc, outCount * sizeof(float));
  std::free(scratch);
  return DITC_RT_COMM_OK;
}
