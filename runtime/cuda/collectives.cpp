//===- collectives.cpp - Tensor collectives on device tensors -------------===//
//
// The coll_* entry points of ditc_kernels.def for GPU libraries: the
// algorithm of src/comm/tensor_collectives.h, on one of two paths chosen per
// communicator at its first collective, the same on all of its ranks:
//
//  - device: the buffer collectives run device to device, enqueued on the
//    step's stream (DeviceOps, device_comm.h: NCCL), packing and unpacking
//    with the strided-copy kernel into device scratch. Nothing waits on the
//    host, so the step can be captured into a CUDA graph.
//  - staged: wait for the stream, copy the device input to host memory, run
//    the host collective on the library's communicator (mpi between ranks,
//    self on one), copy the result back. Correct for any number of ranks per
//    GPU, which is what lets several ranks share one GPU in tests (NCCL
//    refuses that); it waits on the host (ditc_cu_note_host_wait), so such a
//    step runs kernel by kernel.
//
// DITC_CUDA_COLLECTIVES chooses: "staged", "nccl" (the device path, or an
// error naming why not), or unset / "auto": the device path when every rank
// can take it (device_comm.h: the library loads, a GPU of its own), decided
// by an exchange of one key per rank over the host communicator (not
// counted in its statistics), else staged. The statistics count the same
// bytes on both paths.
//
// Device scratch belongs to the calling thread and grows outside a capture
// (a step's first run is never captured, and later runs need no more).
//
//===----------------------------------------------------------------------===//

#include "cuda_runtime_api.h"

#include "../src/comm/tensor_collectives.h"
#include "device_comm.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

using ditc_rt::comm::DevicePath;
using ditc_rt::comm::DeviceScope;
using ditc_rt::comm::fail;
namespace tensor = ditc_rt::comm::tensor;

namespace {

std::atomic<uint64_t> g_hostWaits{0};

cudaStream_t current() { return static_cast<cudaStream_t>(ditc_cu_get_stream()); }

//===--- The path -----------------------------------------------------------===//

/// Decides `comm`'s path at its first collective (collective over it).
ditc_rt_comm_status decide(const char *fn, void *commArg, DevicePath &path) {
  auto *comm = static_cast<ditc_rt_comm *>(commArg);
  if (!comm)
    return fail(DITC_RT_COMM_ERROR_ARGUMENT, "%s: the communicator is null", fn);
  path = ditc_rt::comm::devicePath(comm, nullptr);
  if (path != DevicePath::Undecided)
    return DITC_RT_COMM_OK;
  const char *env = std::getenv("DITC_CUDA_COLLECTIVES");
  std::string mode = env && *env ? env : "auto";
  if (mode != "auto" && mode != "staged" && mode != "nccl")
    return fail(DITC_RT_COMM_ERROR_ARGUMENT,
                "DITC_CUDA_COLLECTIVES='%s' is not auto, nccl or staged", mode.c_str());
  if (mode == "staged") {
    path = DevicePath::Staged;
    ditc_rt::comm::setDevicePath(comm, path, nullptr);
    return DITC_RT_COMM_OK;
  }
  // One key per rank: -1 where this rank cannot.
  std::string why;
  int64_t mine = ditc_cu::deviceCollectivesPossible(why) ? ditc_cu::deviceKey(comm) : -1;
  int32_t p = 1, me = 0;
  ditc_rt_comm_size(comm, &p);
  ditc_rt_comm_rank(comm, &me);
  std::vector<int64_t> keys((size_t)p);
  DITC_TRY(ditc_rt::comm::backendOf(comm).allGather(&mine, keys.data(), 1, DITC_RT_I64,
                                                     ditc_rt::comm::deadlineFor(comm)));
  std::string refused;
  for (int32_t r = 0; r < p && refused.empty(); ++r) {
    if (keys[r] < 0)
      refused = r == me ? why : "rank " + std::to_string(r) + " cannot use NCCL";
    for (int32_t q = 0; q < r && refused.empty(); ++q)
      if (keys[q] == keys[r])
        refused = "ranks " + std::to_string(q) + " and " + std::to_string(r) +
                  " share a GPU (NCCL takes one rank per GPU)";
  }
  if (!refused.empty()) {
    if (mode == "nccl")
      return fail(DITC_RT_COMM_ERROR_UNAVAILABLE,
                  "DITC_CUDA_COLLECTIVES=nccl, but %s (DITC_CUDA_COLLECTIVES=staged "
                  "moves the tensors through host memory)",
                  refused.c_str());
    path = DevicePath::Staged;
    ditc_rt::comm::setDevicePath(comm, path, nullptr);
    return DITC_RT_COMM_OK;
  }
  std::unique_ptr<ditc_rt::comm::DeviceOps> ops;
  DITC_TRY(ditc_cu::makeDeviceOps(comm, ops));
  path = DevicePath::Device;
  ditc_rt::comm::setDevicePath(comm, path, std::move(ops));
  return DITC_RT_COMM_OK;
}

//===--- The device path ------------------------------------------------------===//

/// Device scratch of the calling thread (kept; the process's end frees it).
struct DeviceScratch {
  void *data[2] = {nullptr, nullptr};
  int64_t bytes[2] = {0, 0};
};
thread_local DeviceScratch g_deviceScratch;

/// Device memory, the operations on the current stream.
struct DeviceEnv {
  unsigned char *scratch(int which, const char *fn, int64_t bytes) {
    DeviceScratch &s = g_deviceScratch;
    if (bytes > s.bytes[which]) {
      cudaStreamCaptureStatus capturing = cudaStreamCaptureStatusNone;
      cudaStreamIsCapturing(current(), &capturing);
      if (capturing != cudaStreamCaptureStatusNone) {
        ditc_rt::comm::setError("%s: device scratch would grow to %lld bytes during a "
                                "CUDA graph capture",
                                fn, (long long)bytes);
        return nullptr;
      }
      // Work before this call may still use the old buffer.
      cudaError_t e = cudaStreamSynchronize(current());
      if (s.data[which])
        cudaFree(s.data[which]);
      s.data[which] = nullptr;
      s.bytes[which] = 0;
      if (e == cudaSuccess)
        e = cudaMalloc(&s.data[which], (size_t)bytes);
      if (e != cudaSuccess) {
        s.data[which] = nullptr;
        ditc_rt::comm::setError("%s: cannot allocate %lld bytes of device scratch: %s", fn,
                                (long long)bytes, cudaGetErrorString(e));
        return nullptr;
      }
      s.bytes[which] = bytes;
    }
    return static_cast<unsigned char *>(s.data[which]);
  }

  void copy(int64_t elem, const void *src, int64_t srcOffset, const int64_t *srcStrides,
            void *dst, const int64_t *dstStrides, const int64_t *shape, int32_t rank) {
    ditc_cu_strided_copy(elem, src, srcOffset, srcStrides, dst, dstStrides, shape, rank);
  }

  void copyBytes(void *dst, const void *src, int64_t bytes) {
    // A failure shows at the next synchronisation (the step's end).
    cudaMemcpyAsync(dst, src, (size_t)bytes, cudaMemcpyDeviceToDevice, current());
  }
};

//===--- The staged path ------------------------------------------------------===//

/// Host staging of the calling thread (kept for its next call).
struct Staging {
  std::vector<char> x, y;
};
thread_local Staging g_staging;

/// Copies `bytes` between device and host on the current stream and waits
/// for it (and all work before it): DITC_RT_COMM_OK or INTERNAL.
int32_t copy(void *dst, const void *src, int64_t bytes, cudaMemcpyKind kind, const char *fn) {
  if (bytes <= 0)
    return DITC_RT_COMM_OK;
  cudaError_t e = cudaMemcpyAsync(dst, src, (size_t)bytes, kind, current());
  if (e == cudaSuccess)
    e = cudaStreamSynchronize(current());
  if (e != cudaSuccess)
    return fail(DITC_RT_COMM_ERROR_INTERNAL, "%s: staging through host memory failed: %s", fn,
                cudaGetErrorString(e));
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
  ditc_cu_note_host_wait();
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

/// Runs `device` inside a DeviceScope on the current stream when `comm`'s
/// path is the device one, else `host` staged (x: in bytes, y: out bytes).
template <class D, class H>
int32_t collective(const char *fn, void *comm, const void *x, int64_t in, void *y,
                   int64_t out, D device, H host) {
  DevicePath path;
  DITC_TRY(decide(fn, comm, path));
  if (path == DevicePath::Device) {
    DeviceScope scope(current());
    DeviceEnv env;
    return device(env);
  }
  return staged(fn, x, in, y, out, host);
}

} // namespace

namespace ditc_cu {
ditc_rt_comm_status collectivePath(ditc_rt_comm *comm, DevicePath &path) {
  return decide("ring_attention", comm, path);
}
} // namespace ditc_cu

extern "C" {

void ditc_cu_note_host_wait(void) { g_hostWaits.fetch_add(1, std::memory_order_relaxed); }

uint64_t ditc_cu_host_waits(void) { return g_hostWaits.load(std::memory_order_relaxed); }

int32_t ditc_cu_coll_all_reduce(void *comm, const void *x, void *y, int64_t n,
                                int32_t dtype) {
  int64_t b = n * ditc_rt_dtype_bytes(dtype);
  return collective(
      "coll_all_reduce", comm, x, b, y, b,
      [&](DeviceEnv &) { return tensor::allReduce(comm, x, y, n, dtype); },
      [&](void *hx, void *hy) { return ditc_rt_coll_all_reduce(comm, hx, hy, n, dtype); });
}

int32_t ditc_cu_coll_all_gather(void *comm, const void *x, void *y, int32_t dtype,
                                int32_t rank, const int64_t *shape, int32_t axis) {
  int64_t b = count(rank, shape) * ditc_rt_dtype_bytes(dtype);
  return collective(
      "coll_all_gather", comm, x, b, y, b * groupSize(comm),
      [&](DeviceEnv &env) {
        return tensor::allGather(env, comm, x, y, dtype, rank, shape, axis);
      },
      [&](void *hx, void *hy) {
        return ditc_rt_coll_all_gather(comm, hx, hy, dtype, rank, shape, axis);
      });
}

int32_t ditc_cu_coll_reduce_scatter(void *comm, const void *x, void *y, int32_t dtype,
                                    int32_t rank, const int64_t *shape, int32_t axis) {
  int64_t b = count(rank, shape) * ditc_rt_dtype_bytes(dtype), p = groupSize(comm);
  return collective(
      "coll_reduce_scatter", comm, x, b, y, p > 0 ? b / p : 0,
      [&](DeviceEnv &env) {
        return tensor::reduceScatter(env, comm, x, y, dtype, rank, shape, axis);
      },
      [&](void *hx, void *hy) {
        return ditc_rt_coll_reduce_scatter(comm, hx, hy, dtype, rank, shape, axis);
      });
}

int32_t ditc_cu_coll_all_to_all(void *comm, const void *x, void *y, int32_t dtype,
                                int32_t rank, const int64_t *shape, int32_t split_axis,
                                int32_t concat_axis) {
  int64_t b = count(rank, shape) * ditc_rt_dtype_bytes(dtype);
  return collective(
      "coll_all_to_all", comm, x, b, y, b,
      [&](DeviceEnv &env) {
        return tensor::allToAll(env, comm, x, y, dtype, rank, shape, split_axis, concat_axis);
      },
      [&](void *hx, void *hy) {
        return ditc_rt_coll_all_to_all(comm, hx, hy, dtype, rank, shape, split_axis,
                                       concat_axis);
      });
}

int32_t ditc_cu_coll_slice(void *comm, const void *x, void *y, int32_t dtype, int32_t rank,
                           const int64_t *shape, int32_t axis) {
  // A copy of this rank's block, no message: always on the device.
  DeviceEnv env;
  return tensor::slice(env, comm, x, y, dtype, rank, shape, axis);
}

int32_t ditc_cu_coll_send(void *comm, const void *x, int64_t n, int32_t dtype, int32_t peer,
                          int32_t tag) {
  return collective(
      "coll_send", comm, x, n * ditc_rt_dtype_bytes(dtype), nullptr, 0,
      [&](DeviceEnv &) { return tensor::send(comm, x, n, dtype, peer, tag); },
      [&](void *hx, void *) { return ditc_rt_coll_send(comm, hx, n, dtype, peer, tag); });
}

int32_t ditc_cu_coll_recv(void *comm, void *y, int64_t n, int32_t dtype, int32_t peer,
                          int32_t tag) {
  return collective(
      "coll_recv", comm, nullptr, 0, y, n * ditc_rt_dtype_bytes(dtype),
      [&](DeviceEnv &) { return tensor::recv(comm, y, n, dtype, peer, tag); },
      [&](void *, void *hy) { return ditc_rt_coll_recv(comm, hy, n, dtype, peer, tag); });
}

int32_t ditc_cu_coll_broadcast(void *comm, const void *x, void *y, int64_t n, int32_t dtype,
                               int32_t root) {
  // Only the root's x is read; every rank's y is written.
  int32_t me = ditc_rt_coll_rank(comm);
  int64_t b = n * ditc_rt_dtype_bytes(dtype);
  return collective(
      "coll_broadcast", comm, me == root ? x : nullptr, me == root ? b : 0, y, b,
      [&](DeviceEnv &env) { return tensor::broadcast(env, comm, x, y, n, dtype, root); },
      [&](void *hx, void *hy) { return ditc_rt_coll_broadcast(comm, hx, hy, n, dtype, root); });
}

int32_t ditc_cu_coll_rank(void *comm) { return ditc_rt_coll_rank(comm); }

} // extern "C"
