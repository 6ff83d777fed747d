//===- self.cpp - The "self" communicator backend: world size 1 ----------===//
//
// Rank 0 of 1. Every collective is a copy (or nothing, in place): with one
// rank the reduction over ranks of x is x. send and recv to / from rank 0 go
// through a LocalQueue (queue.h), and so does sendrecv; split makes another
// self communicator.
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

  ditc_rt_comm_status split(int32_t, int32_t, Deadline,
                            std::unique_ptr<Backend> &out) override {
    return createSelfBackend(out);
  }

  // The message goes into the queue now; the wait takes the oldest of the
  // tag (this one, unless older ones wait there).
  ditc_rt_comm_status sendrecvStart(const void *send, int64_t sendCount,
                                    int32_t, void *recv, int64_t recvCount,
                                    int32_t, int32_t dtype, int32_t tag,
                                    std::unique_ptr<Request> &out) override {
    out.reset(new (std::nothrow) Exchange(queue_, recv, recvCount, dtype, tag));
    if (!out) {
      setError("sendrecv: cannot allocate the request");
      return DITC_RT_COMM_ERROR_MEMORY;
    }
    ditc_rt_comm_status s = queue_.send(send, sendCount, dtype, tag);
    if (s != DITC_RT_COMM_OK)
      out.reset();
    return s;
  }

private:
  class Exchange final : public Request {
  public:
    Exchange(LocalQueue &queue, void *recv, int64_t count, int32_t dtype,
             int32_t tag)
        : queue_(queue), recv_(recv), count_(count), dtype_(dtype), tag_(tag) {}
    ditc_rt_comm_status wait(Deadline deadline) override {
      return queue_.recv(recv_, count_, dtype_, tag_, deadline);
    }

  private:
    LocalQueue &queue_;
    void *recv_;
    int64_t count_;
    int32_t dtype_, tag_;
  };

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
