//===- ring_attention.cpp - Ring attention on device tensors -------------===//
//
// ditc_cu_ring_attention and ditc_cu_double_ring_attention: the entry points
// of ditc_kernels.def for GPU libraries whose plan has a ring. The rounds
// are the CPU's (src/ring_schedule.h, shared): the K/V blocks travel in
// pinned host buffers over the library's communicator (mpi between ranks,
// which is what lets several ranks share one GPU; self on one), and in each
// round the block at hand is copied to the GPU and attended to there
// (ditc_cu_attention_block_f32, then ditc_cu_attention_merge_f32 into the
// running result) while the host waits for the next block: the transfer of
// round t overlaps the GPU's attention on block t.
//
// The blocks travel in the call's dtype (bf16 blocks are half the bytes
// of f32), as on the CPU, so the bytes counted are the CPU library's; on
// the device they are widened to f32 (ditc_cu_cast) and everything is
// computed in f32 as on the CPU, q widened once, the result narrowed once.
// Scratch (device: q and the block at hand as f32, the block as it
// travelled, the log-sum-exps, the block's and the running output; host:
// the blocks of the rounds) is kept per thread and grows to the largest
// call; it waits for the stream, so a library with a ring runs kernel by
// kernel, as one with any collective does (DeviceMemory.cpp).
//
//===----------------------------------------------------------------------===//

#include "cuda_runtime_api.h"

#include "../src/comm/backend.h"
#include "../src/ring_schedule.h"

#include <cuda_runtime.h>

#include <cstdint>

using ditc_rt::comm::fail;
namespace ring = ditc_rt::ring;

namespace {

constexpr const char *kName = "ring_attention";

cudaStream_t current() {
  return static_cast<cudaStream_t>(ditc_cu_get_stream());
}

int32_t cudaFailed(const char *what, cudaError_t e) {
  return fail(DITC_RT_COMM_ERROR_INTERNAL, "%s: %s failed: %s", kName, what,
              cudaGetErrorString(e));
}

/// Scratch of the calling thread, grown to the largest call and kept (the
/// next call reuses it; the process's end frees it).
struct Scratch {
  char *device = nullptr, *host = nullptr;
  int64_t deviceBytes = 0, hostBytes = 0;
  cudaEvent_t copied = nullptr;
};
thread_local Scratch g_scratch;

/// Makes g_scratch hold `device` and `host` bytes.
int32_t reserve(int64_t device, int64_t host) {
  Scratch &s = g_scratch;
  if (device > s.deviceBytes || host > s.hostBytes) {
    // Work before this call may still use the old buffers.
    if (cudaError_t e = cudaStreamSynchronize(current()))
      return cudaFailed("waiting for the stream", e);
  }
  if (device > s.deviceBytes) {
    if (s.device)
      cudaFree(s.device);
    s.device = nullptr;
    s.deviceBytes = 0;
    if (cudaError_t e =
            cudaMalloc(reinterpret_cast<void **>(&s.device), (size_t)device))
      return fail(DITC_RT_COMM_ERROR_MEMORY,
                  "%s: cannot allocate %lld bytes of device scratch: %s", kName,
                  (long long)device, cudaGetErrorString(e));
    s.deviceBytes = device;
  }
  if (host > s.hostBytes) {
    if (s.host)
      cudaFreeHost(s.host);
    s.host = nullptr;
    s.hostBytes = 0;
    if (cudaError_t e =
            cudaMallocHost(reinterpret_cast<void **>(&s.host), (size_t)host))
      return fail(DITC_RT_COMM_ERROR_MEMORY,
                  "%s: cannot allocate %lld bytes of pinned host memory: %s",
                  kName, (long long)host, cudaGetErrorString(e));
    s.hostBytes = host;
  }
  if (!s.copied) {
    if (cudaError_t e =
            cudaEventCreateWithFlags(&s.copied, cudaEventDisableTiming))
      return cudaFailed("creating an event", e);
  }
  return DITC_RT_COMM_OK;
}

/// The GPU's part of the rounds: each block is copied to the device (as it
/// travelled, then widened) and attended to there, on the stream.
struct DeviceOps {
  const ring::Shape &s;
  const float *q; // device, f32
  const void *mask;
  int32_t maskKind;
  const int64_t *maskStrides;
  char *landed; // device: the block as it travelled (its dtype)
  float *kv, *acc, *lse, *part, *partLse; // device, f32 (kv may be landed)
  float scale;
  int64_t qFirst;
  cudaEvent_t copied;
  bool inFlight = false;          // a copy from a host block may be running
  cudaError_t error = cudaSuccess; // the first failed CUDA call

  void attend(const char *block, int64_t kFirst, bool first) {
    cudaStream_t st = current();
    cudaError_t e = cudaMemcpyAsync(landed, block, s.blockBytes(),
                                    cudaMemcpyHostToDevice, st);
    if (e == cudaSuccess)
      e = cudaEventRecord(copied, st);
    if (e != cudaSuccess) {
      if (error == cudaSuccess)
        error = e;
      return;
    }
    inFlight = true;
    if (static_cast<void *>(kv) != landed)
      ditc_cu_cast(s.dtype, DITC_RT_F32, landed, kv, s.blockCount());
    ditc_cu_attention_block_f32(q, kv, kv + s.kCount(), mask, maskKind,
                                maskStrides, first ? acc : part,
                                first ? lse : partLse, s.batch, s.heads,
                                s.kvHeads, s.qLen, s.kvLen, s.headDim,
                                s.vHeadDim, scale, s.causal, qFirst, kFirst,
                                s.kvValid);
    if (!first)
      ditc_cu_attention_merge_f32(acc, lse, part, partLse, s.rows(),
                                  s.vHeadDim);
  }
  /// The host block last copied may be overwritten after this.
  void release() {
    if (!inFlight)
      return;
    if (cudaError_t e = cudaEventSynchronize(copied); e != cudaSuccess &&
                                                      error == cudaSuccess)
      error = e;
    inFlight = false;
  }
};

int32_t ringAttention(ditc_rt_comm *inner, ditc_rt_comm *outer, int32_t dtype,
                      const void *q, const void *k, const void *v,
                      const void *mask, int32_t mask_kind,
                      const int64_t *mask_strides, void *out, int64_t batch,
                      int64_t heads, int64_t kv_heads, int64_t q_len,
                      int64_t kv_len, int64_t head_dim, int64_t v_head_dim,
                      float scale, int32_t causal, int64_t kv_valid) {
  const ring::Shape s{batch,    heads,      kv_heads, q_len,    kv_len,
                      head_dim, v_head_dim, causal,   kv_valid, dtype};
  if (const char *why = ring::checkArguments(s, mask, mask_kind, mask_strides))
    return fail(DITC_RT_COMM_ERROR_ARGUMENT, "%s: %s", kName, why);
  ring::Place place;
  if (ditc_rt_comm_status st = ring::placeOf(inner, outer, place))
    return st;
  const int64_t rows = s.rows(), outCount = s.outCount();
  const int64_t kCount = s.kCount(), vCount = s.vCount();
  const int64_t e = s.elemBytes();
  if ((outCount > 0 && (!q || !out)) ||
      (kv_len > 0 && batch > 0 && ((!k && kCount) || (!v && vCount))))
    return fail(DITC_RT_COMM_ERROR_ARGUMENT, "%s: null tensor", kName);
  if (outCount == 0) // every rank agrees: nothing to compute or exchange
    return DITC_RT_COMM_OK;

  // Device scratch, 64-byte aligned pieces: the block as it travelled and,
  // as f32: q and the block (a narrower dtype), the running and the
  // block's log-sum-exp, the block's output, the running output (a
  // narrower dtype, or out overlapping q, which later rounds still read).
  const bool wide = dtype == DITC_RT_F32;
  const bool separateAcc =
      !wide || ring::overlaps(out, outCount * e, q, s.qCount() * e);
  int64_t at = 0;
  auto take = [&](int64_t bytes) {
    int64_t here = at;
    at += ring::roundUp(bytes, 64);
    return here;
  };
  const int64_t offLanded = take(s.blockBytes());
  const int64_t offQ = wide ? -1 : take(s.qCount() * 4);
  const int64_t offKv = wide ? offLanded : take(s.blockCount() * 4);
  const int64_t offLse = take(rows * 4), offPartLse = take(rows * 4);
  const int64_t offPart = take(outCount * 4);
  const int64_t offAcc = separateAcc ? take(outCount * 4) : -1;
  const int64_t blockStride = ring::roundUp(s.blockBytes(), 64);
  const bool alone = place.size() == 1;
  const int64_t hostBytes = alone ? 0 : blockStride * ring::count(place);
  if (int32_t st = reserve(at, hostBytes))
    return st;
  Scratch &sc = g_scratch;
  auto floats = [&](int64_t off) {
    return reinterpret_cast<float *>(sc.device + off);
  };
  cudaStream_t stream = current();
  const float *dq = static_cast<const float *>(q);
  if (!wide) {
    ditc_cu_cast(dtype, DITC_RT_F32, q, floats(offQ), s.qCount());
    dq = floats(offQ);
  }
  float *acc = separateAcc ? floats(offAcc) : static_cast<float *>(out);

  DeviceOps ops{s,
                dq,
                mask,
                mask_kind,
                mask_strides,
                sc.device + offLanded,
                floats(offKv),
                acc,
                floats(offLse),
                floats(offPart),
                floats(offPartLse),
                scale,
                place.qFirst(q_len),
                sc.copied};
  bool attended = true;
  if (alone) {
    // k and v as f32 on the device: themselves, or widened.
    const float *dk = static_cast<const float *>(k),
                *dv = static_cast<const float *>(v);
    if (!wide) {
      ditc_cu_cast(dtype, DITC_RT_F32, k, ops.kv, kCount);
      ditc_cu_cast(dtype, DITC_RT_F32, v, ops.kv + kCount, vCount);
      dk = ops.kv;
      dv = ops.kv + kCount;
    }
    ditc_cu_attention_block_f32(dq, dk, dv, mask, mask_kind, mask_strides, acc,
                                nullptr, batch, heads, kv_heads, q_len, kv_len,
                                head_dim, v_head_dim, scale, causal, 0, 0,
                                kv_valid);
  } else {
    // This rank's block to the host, where the rounds pass it on.
    ring::Blocks blocks = ring::layout(place, sc.host, blockStride);
    cudaError_t err = cudaSuccess;
    if (kCount)
      err = cudaMemcpyAsync(blocks.own, k, kCount * e, cudaMemcpyDeviceToHost,
                            stream);
    if (err == cudaSuccess && vCount)
      err = cudaMemcpyAsync(blocks.own + kCount * e, v, vCount * e,
                            cudaMemcpyDeviceToHost, stream);
    if (err == cudaSuccess)
      err = cudaStreamSynchronize(stream);
    if (err != cudaSuccess)
      return cudaFailed("copying the K/V block to the host", err);
    ring::Outcome r = ring::runRounds(ops, inner, outer, place, s, blocks);
    // The scratch is kept, so a transfer still pending (r.pending) finds
    // its buffers.
    if (r.status != DITC_RT_COMM_OK)
      return r.status;
    ops.release();
    if (ops.error != cudaSuccess)
      return cudaFailed("copying a K/V block to the device", ops.error);
    attended = r.attended;
  }
  if (!attended)
    if (cudaError_t e =
            cudaMemsetAsync(acc, 0, outCount * sizeof(float), stream))
      return cudaFailed("clearing the output", e);
  if (!wide)
    ditc_cu_cast(DITC_RT_F32, dtype, acc, out, outCount);
  else if (acc != out)
    if (cudaError_t e = cudaMemcpyAsync(out, acc, outCount * sizeof(float),
                                        cudaMemcpyDeviceToDevice, stream))
      return cudaFailed("copying the output", e);
  return DITC_RT_COMM_OK;
}

} // namespace

extern "C" {

int32_t ditc_cu_double_ring_attention(
    void *inner, void *outer, int32_t dtype, const void *q, const void *k,
    const void *v, const void *mask, int32_t mask_kind,
    const int64_t *mask_strides, void *out, int64_t batch, int64_t heads,
    int64_t kv_heads, int64_t q_len, int64_t kv_len, int64_t head_dim,
    int64_t v_head_dim, float scale, int32_t causal, int64_t kv_valid) {
  return ringAttention(static_cast<ditc_rt_comm *>(inner),
                       static_cast<ditc_rt_comm *>(outer), dtype, q, k, v, mask,
                       mask_kind, mask_strides, out, batch, heads, kv_heads,
                       q_len, kv_len, head_dim, v_head_dim, scale, causal,
                       kv_valid);
}

int32_t ditc_cu_ring_attention(void *comm, int32_t dtype, const void *q,
                               const void *k, const void *v, const void *mask,
                               int32_t mask_kind, const int64_t *mask_strides,
                               void *out, int64_t batch, int64_t heads,
                               int64_t kv_heads, int64_t q_len, int64_t kv_len,
                               int64_t head_dim, int64_t v_head_dim,
                               float scale, int32_t causal, int64_t kv_valid) {
  return ringAttention(static_cast<ditc_rt_comm *>(comm), nullptr, dtype, q, k,
                       v, mask, mask_kind, mask_strides, out, batch, heads,
                       kv_heads, q_len, kv_len, head_dim, v_head_dim, scale,
                       causal, kv_valid);
}

} // extern "C"
