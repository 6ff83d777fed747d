//===- queue.h - Messages a rank sends to itself -------------------------===//
//
// The queue behind send / recv with peer == this rank: "self" (world size 1)
// and "mpi" (a rank sending to itself, which MPI would block on for a message
// larger than its eager limit). send copies the message in; recv takes the
// oldest message of its tag, waiting (for another thread's send) until the
// deadline. Thread-safe.
//
//===----------------------------------------------------------------------===//
#ifndef DITC_RUNTIME_SRC_COMM_QUEUE_H
#define DITC_RUNTIME_SRC_COMM_QUEUE_H

#include "backend.h"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <vector>

namespace ditc_rt::comm {

class LocalQueue {
public:
  /// `rank` names the sender in error messages.
  explicit LocalQueue(int32_t rank) : rank_(rank) {}

  /// Copies the message in; MEMORY when it cannot.
  ditc_rt_comm_status send(const void *buf, int64_t count, int32_t dtype,
                           int32_t tag);
  /// The oldest message of `tag`: ARGUMENT (and it stays queued) when it is
  /// not count elements of dtype, TIMEOUT when none came before `deadline`.
  ditc_rt_comm_status recv(void *buf, int64_t count, int32_t dtype, int32_t tag,
                           Deadline deadline);

private:
  struct Message {
    int32_t tag;
    int32_t dtype;
    int64_t count;
    std::vector<unsigned char> bytes;
  };

  int32_t rank_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Message> queue_;
};

} // namespace ditc_rt::comm

#endif // DITC_RUNTIME_SRC_COMM_QUEUE_H
