//===- emu/device_comm_emu.cpp - device_comm.h on the emulated GPU -------===//
//
// runtime/cuda/device_comm.h for the host emulation: the emulated GPU's
// memory is host memory, so each device collective is the host
// communicator's backend operation on the same pointers, enqueued on the
// emulated stream (run at once, or recorded into a capture and run at each
// replay). This stands in for NCCL where there is no GPU: what it checks is
// everything above it (the choice of path, packing on the device, the
// scratch, stream order, graph capture, the byte counts); NCCL's own calls
// run on a GPU (benchmarks/gpu/check.sh).
//
// The device path is only "possible" here when DITC_CUDA_COLLECTIVES=nccl
// asks for it, so that the default keeps the staged path under test; the
// ranks sharing the one emulated GPU get distinct keys (their ranks).
//
//===----------------------------------------------------------------------===//

#include "cuda_runtime.h"

#include "device_comm.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

using ditc_rt::comm::Backend;

class EmuOps final : public ditc_rt::comm::DeviceOps {
public:
  explicit EmuOps(ditc_rt_comm *host) : host_(host) {}

  const char *name() const override { return "nccl (emulated)"; }

  ditc_rt_comm_status allReduce(const void *send, void *recv, int64_t count, int32_t dtype,
                                int32_t op, void *stream) override {
    return later(stream, "all_reduce", [=](Backend &b, ditc_rt::comm::Deadline d) {
      return b.allReduce(send, recv, count, dtype, op, d);
    });
  }
  ditc_rt_comm_status allGather(const void *send, void *recv, int64_t count, int32_t dtype,
                                void *stream) override {
    return later(stream, "all_gather", [=](Backend &b, ditc_rt::comm::Deadline d) {
      return b.allGather(send, recv, count, dtype, d);
    });
  }
  ditc_rt_comm_status reduceScatter(const void *send, void *recv, int64_t count,
                                    int32_t dtype, int32_t op, void *stream) override {
    return later(stream, "reduce_scatter", [=](Backend &b, ditc_rt::comm::Deadline d) {
      return b.reduceScatter(send, recv, count, dtype, op, d);
    });
  }
  ditc_rt_comm_status allToAll(const void *send, void *recv, int64_t count, int32_t dtype,
                               void *stream) override {
    return later(stream, "all_to_all", [=](Backend &b, ditc_rt::comm::Deadline d) {
      return b.allToAll(send, recv, count, dtype, d);
    });
  }
  ditc_rt_comm_status broadcast(void *buf, int64_t count, int32_t dtype, int32_t root,
                                void *stream) override {
    return later(stream, "broadcast", [=](Backend &b, ditc_rt::comm::Deadline d) {
      return b.broadcast(buf, count, dtype, root, d);
    });
  }
  ditc_rt_comm_status send(const void *buf, int64_t count, int32_t dtype, int32_t peer,
                           int32_t tag, void *stream) override {
    return later(stream, "send", [=](Backend &b, ditc_rt::comm::Deadline d) {
      return b.send(buf, count, dtype, peer, tag, d);
    });
  }
  ditc_rt_comm_status recv(void *buf, int64_t count, int32_t dtype, int32_t peer, int32_t tag,
                           void *stream) override {
    return later(stream, "recv", [=](Backend &b, ditc_rt::comm::Deadline d) {
      return b.recv(buf, count, dtype, peer, tag, d);
    });
  }

  ditc_rt_comm_status sendRecv(const void *send, int64_t sendCount, int32_t dst, void *recv,
                               int64_t recvCount, int32_t src, int32_t dtype, int32_t tag,
                               void *stream) override {
    return later(stream, "sendrecv", [=](Backend &b, ditc_rt::comm::Deadline d) {
      static const unsigned char kEmpty = 0;
      unsigned char empty;
      std::unique_ptr<ditc_rt::comm::Request> req;
      ditc_rt_comm_status s =
          b.sendrecvStart(sendCount > 0 ? send : &kEmpty, sendCount, dst,
                          recvCount > 0 ? recv : &empty, recvCount, src, dtype, tag, req);
      return s != DITC_RT_COMM_OK ? s : req->wait(d);
    });
  }

private:
  /// Enqueues `op` on `stream`. A failure inside it has no caller to return
  /// to (on a GPU, NCCL's asynchronous error): it is printed and ends the
  /// process.
  template <class F> ditc_rt_comm_status later(void *stream, const char *fn, F op) {
    ditc_rt_comm *host = host_;
    cudaError_t e = ditc_emu::enqueue(static_cast<cudaStream_t>(stream), [host, fn, op] {
      ditc_rt_comm_status s =
          op(ditc_rt::comm::backendOf(host), ditc_rt::comm::deadlineFor(host));
      if (s != DITC_RT_COMM_OK) {
        std::fprintf(stderr, "ditc emu: device %s failed: %s\n", fn,
                     ditc_rt_comm_last_error());
        std::abort();
      }
    });
    if (e != cudaSuccess)
      return ditc_rt::comm::fail(DITC_RT_COMM_ERROR_INTERNAL, "%s: enqueue failed: %s", fn,
                                 cudaGetErrorString(e));
    return DITC_RT_COMM_OK;
  }

  ditc_rt_comm *host_;
};

} // namespace

namespace ditc_cu {

bool deviceCollectivesPossible(std::string &why) {
  const char *env = std::getenv("DITC_CUDA_COLLECTIVES");
  if (env && std::strcmp(env, "nccl") == 0)
    return true;
  why = "the emulated GPU takes the device path only when DITC_CUDA_COLLECTIVES=nccl";
  return false;
}

int64_t deviceKey(ditc_rt_comm *host) {
  int32_t rank = 0;
  ditc_rt_comm_rank(host, &rank);
  return rank;
}

ditc_rt_comm_status makeDeviceOps(ditc_rt_comm *host,
                                  std::unique_ptr<ditc_rt::comm::DeviceOps> &out) {
  out.reset(new EmuOps(host));
  return DITC_RT_COMM_OK;
}

} // namespace ditc_cu
