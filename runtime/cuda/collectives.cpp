//===- collectives.cpp - Tensor collectives on device tensors -------------===//
//
// The coll_* entry points of ditc_kernels.def for GPU libraries, staged
// through host memory: wait for the step's stream, copy the device input to
// a host buffer, run the host collective (runtime/src/comm/collective.cpp on
// the library's communicator: mpi between ranks, self on one), copy the
// result back. Correct for any backend and any number of ranks per GPU,
// which is what lets several ranks share one GPU in tests (NCCL refuses
// that); not fast, and not capturable: a library with collectives runs kernel
// by kernel (DeviceMemory.cpp). NCCL on device buffers on the stream is the
// fast path still to come (docs/GPU.md).
//
//===----------------------------------------------------------------------===//

#include "cuda_runtime_api.h"

#include "../src/comm/backend.h"

#include <cuda_runtime.h>

#include <vector>

using ditc_rt::comm::fail;

namespace {

/// Host staging of the calling thread (kept for its next call).
struct Staging {
  std::vector<char> x, y;
};
thread_local Staging g_staging;

cudaStream_t current() { return static_cast<cudaStream_t>(ditc_cu_get_stream()); }

/// Copies `bytes` between device and host on the current stream and waits
/// for it (and all work before it): DITC_RT_COMM_OK or INTERNAL.
int32_t copy(void *dst, const void *src, int64_t bytes, cudaMemcpyKind kind,
             const char *fn) {
  if (bytes <= 0)
    return DITC_RT_COMM_OK;
  cudaError_t e = cudaMemcpyAsync(dst, src, (size_t)bytes, kind, current());
  if (e == cudaSuccess)
    e = cudaStreamSynchronize(current());
  if (e != cudaSuccess)
    return fail(DITC_RT_COMM_ERROR_INTERNAL, "%s: staging through host memory failed: %s",
                fn, cudaGetErrorString(e));
  return DITC_RT_COMM_OK;
}

int64_t count(int32_t rank, const int64_t *shape) {
  int64_t n = 1;
  for (int32_t d = 0; shape && d < rank; ++d)
    n *= shape[d];
  return n;
}

int32_t groupSize(void *comm) {
  int32_t p = 0;
  if (!comm || ditc_rt_comm_size(static_cast<ditc_rt_comm *>(comm), &p) != DITC_RT_COMM_OK)
    return 0;
  return p;
}

/// in: bytes of x; out: bytes of y. Stages x, runs `host` on the staged
/// buffers, copies y back.
template <class F>
int32_t staged(const char *fn, const void *x, int64_t in, void *y, int64_t out, F host) {
  if (in < 0 || out < 0)
    return fail(DITC_RT_COMM_ERROR_ARGUMENT, "%s: bad sizes", fn);
  Staging &s = g_staging;
  if ((int64_t)s.x.size() < in)
    s.x.resize(in);
  if ((int64_t)s.y.size() < out)
    s.y.resize(out);
  if (int32_t st = copy(s.x.data(), x, x ? in : 0, cudaMemcpyDeviceToHost, fn))
    return st;
  if (int32_t st = host(s.x.data(), s.y.data()))
    return st;
  return copy(y, s.y.data(), y ? out : 0, cudaMemcpyHostToDevice, fn);
}

} // namespace

extern "C" {

int32_t ditc_cu_coll_all_reduce(void *comm, const void *x, void *y, int64_t n,
                                int32_t dtype) {
  int64_t b = n * ditc_rt_dtype_bytes(dtype);
  return staged("coll_all_reduce", x, b, y, b, [&](void *hx, void *hy) {
    return ditc_rt_coll_all_reduce(comm, hx, hy, n, dtype);
  });
}

int32_t ditc_cu_coll_all_gather(void *comm, const void *x, void *y, int32_t dtype,
                                int32_t rank, const int64_t *shape, int32_t axis) {
  int64_t b = count(rank, shape) * ditc_rt_dtype_bytes(dtype);
  return staged("coll_all_gather", x, b, y, b * groupSize(comm), [&](void *hx, void *hy) {
    return ditc_rt_coll_all_gather(comm, hx, hy, dtype, rank, shape, axis);
  });
}

int32_t ditc_cu_coll_reduce_scatter(void *comm, const void *x, void *y, int32_t dtype,
                                    int32_t rank, const int64_t *shape, int32_t axis) {
  int64_t b = count(rank, shape) * ditc_rt_dtype_bytes(dtype), p = groupSize(comm);
  return staged("coll_reduce_scatter", x, b, y, p > 0 ? b / p : 0, [&](void *hx, void *hy) {
    return ditc_rt_coll_reduce_scatter(comm, hx, hy, dtype, rank, shape, axis);
  });
}

int32_t ditc_cu_coll_all_to_all(void *comm, const void *x, void *y, int32_t dtype,
                                int32_t rank, const int64_t *shape, int32_t split_axis,
                                int32_t concat_axis) {
  int64_t b = count(rank, shape) * ditc_rt_dtype_bytes(dtype);
  return staged("coll_all_to_all", x, b, y, b, [&](void *hx, void *hy) {
    return ditc_rt_coll_all_to_all(comm, hx, hy, dtype, rank, shape, split_axis,
                                   concat_axis);
  });
}

int32_t ditc_cu_coll_slice(void *comm, const void *x, void *y, int32_t dtype,
                           int32_t rank, const int64_t *shape, int32_t axis) {
  int64_t b = count(rank, shape) * ditc_rt_dtype_bytes(dtype), p = groupSize(comm);
  return staged("coll_slice", x, b, y, p > 0 ? b / p : 0, [&](void *hx, void *hy) {
    return ditc_rt_coll_slice(comm, hx, hy, dtype, rank, shape, axis);
  });
}

int32_t ditc_cu_coll_send(void *comm, const void *x, int64_t n, int32_t dtype,
                          int32_t peer, int32_t tag) {
  return staged("coll_send", x, n * ditc_rt_dtype_bytes(dtype), nullptr, 0,
                [&](void *hx, void *) { return ditc_rt_coll_send(comm, hx, n, dtype, peer, tag); });
}

int32_t ditc_cu_coll_recv(void *comm, void *y, int64_t n, int32_t dtype, int32_t peer,
                          int32_t tag) {
  return staged("coll_recv", nullptr, 0, y, n * ditc_rt_dtype_bytes(dtype),
                [&](void *, void *hy) { return ditc_rt_coll_recv(comm, hy, n, dtype, peer, tag); });
}

int32_t ditc_cu_coll_broadcast(void *comm, const void *x, void *y, int64_t n,
                               int32_t dtype, int32_t root) {
  // Only the root's x is read; every rank's y is written.
  int32_t me = ditc_rt_coll_rank(comm);
  int64_t b = n * ditc_rt_dtype_bytes(dtype);
  return staged("coll_broadcast", me == root ? x : nullptr, me == root ? b : 0, y, b,
                [&](void *hx, void *hy) {
                  return ditc_rt_coll_broadcast(comm, hx, hy, n, dtype, root);
                });
}

int32_t ditc_cu_coll_rank(void *comm) { return ditc_rt_coll_rank(comm); }

} // extern "C"
