//===- self.cpp - The "self" communicator backend: world size 1 ----------===//
//
// Rank 0 of 1. Every collective is a copy (or nothing, in place): with one
// rank the reduction over ranks of x is x. send to rank 0 copies the message
// into a queue; recv from rank 0 takes the oldest queued message of its tag,
// waiting (for another thread's send) until the deadline.
//
//===----------------------------------------------------------------------===//
#include "backend.h"

#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <new>
#include <vector>

namespace ditc_rt::comm {
namespace {

struct Message {
  int32_t tag;
  int32_t dtype;
  int64_t count;
  std::vector<unsigned char> bytes;
};

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
    Message m;
    m.tag = tag;
    m.dtype = dtype;
    m.count = count;
    try {
      m.bytes.assign((const unsigned char *)buf,
                     (const unsigned char *)buf + count * dtypeSize(dtype));
      std::lock_guard<std::mutex> lock(mu_);
      queue_.push_back(std::move(m));
    } catch (const std::bad_alloc &) {
      setError("send: cannot allocate %lld bytes for the message",
               (long long)(count * dtypeSize(dtype)));
      return DITC_RT_COMM_ERROR_MEMORY;
    }
    cv_.notify_all();
    return DITC_RT_COMM_OK;
  }

  ditc_rt_comm_status recv(void *buf, int64_t count, int32_t dtype,
                           int32_t, int32_t tag, Deadline deadline) override {
    std::unique_lock<std::mutex> lock(mu_);
    bool expired = false;
    for (;;) {
      for (auto it = queue_.begin(); it != queue_.end(); ++it) {
        if (it->tag != tag)
          continue;
        if (it->dtype != dtype || it->count != count) {
          setError("recv: the message from rank 0 with tag %d has %lld "
                   "elements of dtype %d, not %lld of dtype %d",
                   tag, (long long)it->count, it->dtype, (long long)count,
                   dtype);
          return DITC_RT_COMM_ERROR_ARGUMENT;
        }
        std::memcpy(buf, it->bytes.data(), it->bytes.size());
        queue_.erase(it);
        return DITC_RT_COMM_OK;
      }
      // Looked once more after the deadline: a send may have landed just
      // before it.
      if (expired) {
        setError("recv: no message from rank 0 with tag %d arrived within "
                 "the timeout",
                 tag);
        return DITC_RT_COMM_ERROR_TIMEOUT;
      }
      if (deadline == Deadline::max())
        cv_.wait(lock);
      else if (cv_.wait_until(lock, deadline) == std::cv_status::timeout)
        expired = true;
    }
  }

private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Message> queue_;
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
