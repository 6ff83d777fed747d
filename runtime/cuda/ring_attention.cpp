//===- ring_attention.cpp - Ring attention on device tensors -------------===//
//
// ditc_cu_ring_attention and ditc_cu_double_ring_attention: the entry points
// of ditc_kernels.def for GPU libraries whose plan has a ring. The rounds
// are the CPU's (src/ring_schedule.h, shared). Two ways for the K/V blocks,
// the rings' communicators' path (collectives.cpp):
//
//  - device to device (DeviceRing): the blocks stay in device scratch and
//    travel with the communicators' DeviceOps (NCCL) on a transfer stream
//    per ring; an event recorded on the step's stream when a transfer starts
//    orders it after the work that wrote its send buffer and last read its
//    receive buffer, and the step's stream waits for the transfer's end
//    before attending to the block. Nothing waits on the host: the step can
//    be captured, the transfer streams forked into the graph.
//  - staged (StagedRing): the blocks travel in pinned host buffers over
//    the library's communicator (mpi between ranks, which is what lets
//    several ranks share one GPU); in each round the block at hand is
//    copied to the GPU while the host waits for the next one. It waits on
//    the host (ditc_cu_note_host_wait): such a step runs kernel by kernel.
//
// The blocks travel in the call's dtype (bf16 blocks are half the bytes
// of f32), as on the CPU, so the bytes counted are the CPU library's. Each
// block is attended to in that dtype with ditc_cu_attention_layout: in F16
// / BF16 that is cuDNN's flash attention, its softmax stats the block's
// log-sum-exp (cudnn_graphs.h; the own kernel where cuDNN does not take the
// block), where the CPU widens everything to f32. The block's result (in
// the dtype) is widened into the running result (f32) or merged into it
// (ditc_cu_attention_merge, f32 arithmetic), and the running result is
// narrowed once at the end. Each tensor keeps the call's layout throughout:
// the lse follows out's rows, which is the order the merge pairs them in.
// Scratch (device: the block as it travelled, the log-sum-exps, the
// block's and the running result, the device path's blocks; host: the
// staged path's blocks) is kept per thread and grows to the largest call
// (outside a capture: a step's first run).
//
//===----------------------------------------------------------------------===//

#include "cuda_runtime_api.h"

#include "../src/comm/backend.h"
#include "../src/ring_schedule.h"
#include "device_comm.h"

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
  // The device path: a stream per ring (inner, outer) for the transfers,
  // an event marking the step's stream at each transfer's start and one
  // marking each transfer's end.
  cudaStream_t transfer[2] = {nullptr, nullptr};
  cudaEvent_t ready = nullptr, moved[2] = {nullptr, nullptr};
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
  for (cudaEvent_t *ev : {&s.copied, &s.ready, &s.moved[0], &s.moved[1]})
    if (!*ev)
      if (cudaError_t e = cudaEventCreateWithFlags(ev, cudaEventDisableTiming))
        return cudaFailed("creating an event", e);
  for (cudaStream_t &st : s.transfer)
    if (!st)
      if (cudaError_t e = cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking))
        return cudaFailed("creating a stream", e);
  return DITC_RT_COMM_OK;
}

/// What both paths do with a block on the device: attend the local queries
/// to it in the call's dtype (cuDNN's flash attention with its softmax
/// stats where it takes the block, else the own kernel), starting the f32
/// running result or merged into it, on the step's stream.
struct BlockAttention {
  const ring::Shape &s;
  const void *q; // device, the call's dtype
  const void *mask;
  int32_t maskKind;
  const int64_t *maskStrides;
  float *acc, *lse, *partLse; // device, f32
  void *part;                 // device: the block's result, the call's dtype
  float scale;
  int64_t qFirst;

  void operator()(const char *block, int64_t kFirst, bool first) const {
    const bool wide = s.dtype == DITC_RT_F32;
    // An f32 first block starts the running result in place.
    void *o = first && wide ? static_cast<void *>(acc) : part;
    ditc_cu_attention_layout(s.dtype, q, block, block + s.kCount() * s.elemBytes(), mask,
                             maskKind, maskStrides, o, first ? lse : partLse, s.batch,
                             s.heads, s.kvHeads, s.qLen, s.kvLen, s.headDim, s.vHeadDim,
                             scale, s.causal, qFirst, kFirst, s.kvValid, s.layout);
    if (!first)
      ditc_cu_attention_merge(s.dtype, acc, lse, part, partLse, s.rows(), s.vHeadDim);
    else if (!wide)
      ditc_cu_cast(s.dtype, DITC_RT_F32, part, acc, s.outCount());
  }
};

/// The device path's rounds: the K/V blocks stay on the GPU and travel
/// device to device (the communicators' DeviceOps: NCCL) on a stream of
/// their own per ring, ordered against the step's stream by events. Nothing
/// waits on the host, so the step can be captured, and each round's
/// transfer overlaps the attention to the block at hand.
struct DeviceRing {
  using Request = int; // 0: none; else 1 + the ring (0 inner, 1 outer)
  BlockAttention attendTo;
  ditc_rt_comm *outer;
  Scratch &sc;
  cudaError_t error = cudaSuccess; // the first failed CUDA call

  void check(cudaError_t e) {
    if (e != cudaSuccess && error == cudaSuccess)
      error = e;
  }
  void attend(const char *block, int64_t kFirst, bool first) { attendTo(block, kFirst, first); }
  void release() {} // the transfer waits for the step's stream (exchange)
  ditc_rt_comm_status exchange(ditc_rt_comm *comm, char *send, int32_t dst, char *recv,
                               int32_t src, int64_t count, int32_t dtype, Request *req) {
    const int k = comm == outer ? 1 : 0;
    // What the step's stream did so far (the block to send written, the
    // buffer to receive into no longer read) comes first.
    check(cudaEventRecord(sc.ready, current()));
    check(cudaStreamWaitEvent(sc.transfer[k], sc.ready, 0));
    DITC_TRY(ditc_rt::comm::deviceSendRecv(comm, send, count, dst, recv, count, src, dtype,
                                           DITC_RT_RING_ATTENTION_TAG, sc.transfer[k]));
    check(cudaEventRecord(sc.moved[k], sc.transfer[k]));
    *req = 1 + k;
    return DITC_RT_COMM_OK;
  }
  ditc_rt_comm_status wait(Request req) {
    check(cudaStreamWaitEvent(current(), sc.moved[req - 1], 0));
    return DITC_RT_COMM_OK;
  }
};

/// The staged rounds: each block is copied to the device (as it
/// travelled, into `landed`) and attended to there.
struct StagedRing : ring::HostExchange {
  BlockAttention attendTo;
  char *landed; // device: the block as it travelled (its dtype)
  cudaEvent_t copied;
  bool inFlight = false;          // a copy from a host block may be running
  cudaError_t error = cudaSuccess; // the first failed CUDA call

  void attend(const char *block, int64_t kFirst, bool first) {
    cudaStream_t st = current();
    cudaError_t e =
        cudaMemcpyAsync(landed, block, attendTo.s.blockBytes(), cudaMemcpyHostToDevice, st);
    if (e == cudaSuccess)
      e = cudaEventRecord(copied, st);
    if (e != cudaSuccess) {
      if (error == cudaSuccess)
        error = e;
      return;
    }
    inFlight = true;
    attendTo(landed, kFirst, first);
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

int32_t ringAttention(const ring::Args &a) {
  const ring::Shape &s = a.shape;
  ring::Place place;
  const char *why = nullptr;
  bool empty = false;
  if (ditc_rt_comm_status st = ring::prepare(a, place, why, empty))
    return why ? fail(st, "%s: %s", kName, why) : st;
  if (empty)
    return DITC_RT_COMM_OK;
  const bool alone = place.size() == 1;
  // The blocks travel device to device where every ring's communicator
  // takes the device path (collectives.cpp), else through host memory.
  bool onDevice = !alone;
  for (ditc_rt_comm *c : {a.inner, a.outer})
    if (c && !alone) {
      ditc_rt::comm::DevicePath path;
      if (ditc_rt_comm_status st = ditc_cu::collectivePath(c, path))
        return st;
      onDevice = onDevice && path == ditc_rt::comm::DevicePath::Device;
    }
  if (!alone && !onDevice)
    ditc_cu_note_host_wait();
  const int32_t dtype = s.dtype;
  const int64_t rows = s.rows(), outCount = s.outCount();
  const int64_t kCount = s.kCount(), vCount = s.vCount();
  const int64_t e = s.elemBytes();
  const void *q = a.q, *k = a.k, *v = a.v;
  void *out = a.out;

  // Device scratch, 64-byte aligned pieces: the block as it travelled, the
  // running and the block's log-sum-exp (f32), the block's result (the
  // dtype) and the running result (f32: a narrower dtype, or out
  // overlapping q, which later rounds still read).
  const bool wide = dtype == DITC_RT_F32;
  const bool outOverQ = ring::overlaps(out, outCount * e, q, s.qCount() * e);
  const bool separateAcc = !wide || outOverQ;
  int64_t at = 0;
  auto take = [&](int64_t bytes) {
    int64_t here = at;
    at += ring::roundUp(bytes, 64);
    return here;
  };
  const int64_t offLanded = take(s.blockBytes());
  const int64_t offLse = take(rows * 4), offPartLse = take(rows * 4);
  const int64_t offPart = take(outCount * e);
  const int64_t offAcc = separateAcc ? take(outCount * 4) : -1;
  const int64_t blockStride = ring::roundUp(s.blockBytes(), 64);
  const int64_t blockBytes = alone ? 0 : blockStride * ring::count(place);
  const int64_t offBlocks = onDevice ? take(blockBytes) : -1;
  if (int32_t st = reserve(at, onDevice ? 0 : blockBytes))
    return st;
  Scratch &sc = g_scratch;
  auto floats = [&](int64_t off) {
    return reinterpret_cast<float *>(sc.device + off);
  };
  cudaStream_t stream = current();
  float *acc = separateAcc ? floats(offAcc) : static_cast<float *>(out);
  void *part = sc.device + offPart;

  BlockAttention attendTo{s,
                          q,
                          a.mask,
                          a.maskKind,
                          a.maskStrides,
                          acc,
                          floats(offLse),
                          floats(offPartLse),
                          part,
                          a.scale,
                          place.qFirst(s.qLen)};
  if (alone) {
    // One attention in the call's dtype, into out unless out overlaps q.
    void *o = outOverQ ? part : out;
    ditc_cu_attention_layout(dtype, q, k, v, a.mask, a.maskKind, a.maskStrides, o, nullptr,
                             s.batch, s.heads, s.kvHeads, s.qLen, s.kvLen, s.headDim,
                             s.vHeadDim, a.scale, s.causal, 0, 0, s.kvValid, s.layout);
    if (o != out)
      if (cudaError_t err = cudaMemcpyAsync(out, o, outCount * e, cudaMemcpyDeviceToDevice,
                                            stream))
        return cudaFailed("copying the output", err);
    return DITC_RT_COMM_OK;
  }
  bool attended = true;
  if (onDevice) {
    // This rank's block, K then V, where the rounds pass it on.
    ring::Blocks blocks = ring::layout(place, sc.device + offBlocks, blockStride);
    cudaError_t err = cudaSuccess;
    if (kCount)
      err = cudaMemcpyAsync(blocks.own, k, kCount * e, cudaMemcpyDeviceToDevice, stream);
    if (err == cudaSuccess && vCount)
      err = cudaMemcpyAsync(blocks.own + kCount * e, v, vCount * e, cudaMemcpyDeviceToDevice,
                            stream);
    if (err != cudaSuccess)
      return cudaFailed("copying the K/V block", err);
    DeviceRing rounds{attendTo, a.outer, sc};
    ring::Outcome r = ring::runRounds(rounds, a.inner, a.outer, place, s, blocks);
    if (r.status != DITC_RT_COMM_OK)
      return r.status;
    if (rounds.error != cudaSuccess)
      return cudaFailed("ordering the K/V transfers", rounds.error);
    attended = r.attended;
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
    StagedRing ops{{}, attendTo, sc.device + offLanded, sc.copied};
    ring::Outcome r = ring::runRounds(ops, a.inner, a.outer, place, s, blocks);
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

DITC_RING_ATTENTION_ENTRY_POINTS(ditc_cu, ringAttention)
