//===- queue.cpp - Messages a rank sends to itself -----------------------===//
#include "queue.h"

#include <cstring>
#include <new>

namespace ditc_rt::comm {

ditc_rt_comm_status LocalQueue::send(const void *buf, int64_t count,
                                     int32_t dtype, int32_t tag) {
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

ditc_rt_comm_status LocalQueue::recv(void *buf, int64_t count, int32_t dtype,
                                     int32_t tag, Deadline deadline) {
  std::unique_lock<std::mutex> lock(mu_);
  bool expired = false;
  for (;;) {
    for (auto it = queue_.begin(); it != queue_.end(); ++it) {
      if (it->tag != tag)
        continue;
      if (it->dtype != dtype || it->count != count) {
        setError("recv: the message from rank %d with tag %d has %lld "
                 "elements of dtype %d, not %lld of dtype %d",
                 rank_, tag, (long long)it->count, it->dtype, (long long)count,
                 dtype);
        return DITC_RT_COMM_ERROR_ARGUMENT;
      }
      if (!it->bytes.empty()) // an empty message may come with no buffer
        std::memcpy(buf, it->bytes.data(), it->bytes.size());
      queue_.erase(it);
      return DITC_RT_COMM_OK;
    }
    // Looked once more after the deadline: a send may have landed just
    // before it.
    if (expired) {
      setError("recv: no message from rank %d with tag %d arrived within "
               "the timeout",
               rank_, tag);
      return DITC_RT_COMM_ERROR_TIMEOUT;
    }
    if (deadline == Deadline::max())
      cv_.wait(lock);
    else if (cv_.wait_until(lock, deadline) == std::cv_status::timeout)
      expired = true;
  }
}

} // namespace ditc_rt::comm
