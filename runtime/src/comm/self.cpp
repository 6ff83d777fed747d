//===- self.cpp - The "self" communicator backend: world size 1 ----------===//
//
// Rank 0 of 1. Every collective is a copy (or nothing, in place): with one
// rank the reduction over ranks of x is x. send and recv to / from rank 0 go
// through a LocalQueue (queue.h).
//
//===----------------------------------------------------------------------===//
#include "backend.h"
#include "queue.h"

#include <cstring>
#include <new>

namespace ditc_rt::comm {
namespace {

void copyBytes(void *dst, const void *src, int64_t bytes) {
  if (dst != src)
    std::memmove(dst, src, (size_t)bytes);
}

class SelfBackend final : public Backend {
public:
  const char *name() const override { return "self"; }
  int32_t rank() const override { return 0; }
  int32_t size() const override { return 1; }

  ditc_rt_comm_status allReduce(const void *send, void *recv, int64_t count,
                                int32_t dtype, int32_t, Deadline) override {
    copyBytes(recv, send, count * dtypeSize(dtype));
    return DITC_RT_COMM_OK;
  }
  ditc_rt_comm_status allGather(const void *send, void *recv, int64_t count,
                                int32_t dtype, Deadline) override {
    copyBytes(recv, send, count * dtypeSize(dtype));
    return DITC_RT_COMM_OK;
  }
  ditc_rt_comm_status reduceScatter(const void *send, void *recv,
                                    int64_t count, int32_t dtype, int32_t,
                                    Deadline) override {
    copyBytes(recv, send, count * dtypeSize(dtype));
    return DITC_RT_COMM_OK;
  }
  ditc_rt_comm_status allToAll(const void *send, void *recv, int64_t count,
                               int32_t dtype, Deadline) override {
    copyBytes(recv, send, count * dtypeSize(dtype));
    return DITC_RT_COMM_OK;
  }
  ditc_rt_comm_status broadcast(void *, int64_t, int32_t, int32_t,
                                Deadline) override {
    return DITC_RT_COMM_OK;
  }
  ditc_rt_comm_status barrier(Deadline) override { return DITC_RT_COMM_OK; }

  ditc_rt_comm_status send(const void *buf, int64_t count, int32_t dtype,
                           int32_t, int32_t tag, Deadline) override {
    return queue_.send(buf, count, dtype, tag);
  }
  ditc_rt_comm_status recv(void *buf, int64_t count, int32_t dtype, int32_t,
                           int32_t tag, Deadline deadline) override {
    return queue_.recv(buf, count, dtype, tag, deadline);
  }

private:
  LocalQueue queue_{0};
};

} // namespace

ditc_rt_comm_status createSelfBackend(std::unique_ptr<Backend> &out) {
  out.reset(new (std::nothrow) SelfBackend());
  if (!out) {
    setError("create: cannot allocate the self communicator");
    return DITC_RT_COMM_ERROR_MEMORY;
  }
  return DITC_RT_COMM_OK;
}

} // namespace ditc_rt::comm
