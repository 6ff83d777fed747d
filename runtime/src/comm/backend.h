//===- backend.h - The table every communicator backend implements -------===//
//
// ditc_comm.h's C functions (comm.cpp) check every argument, work out the
// deadline from the communicator's timeout and count the bytes; a backend
// only moves the data. Each backend derives from Backend; comm.cpp's
// registry maps a name to its factory, or to null for a backend that is
// reserved but not built (mpi and nccl when the runtime was configured
// without MPI); a backend may also have a probe that says whether it can run
// here (nccl: its libraries and a device).
//
// A backend method gets arguments that are already valid: non-null buffers
// with count > 0, a dtype the operation takes, buffers that are either
// disjoint or in the documented in-place form, ranks in range. It returns a
// status and, on failure, says why with setError().
//
//===----------------------------------------------------------------------===//
#ifndef DITC_RUNTIME_SRC_COMM_BACKEND_H
#define DITC_RUNTIME_SRC_COMM_BACKEND_H

#include "ditc/runtime/ditc_comm.h"
#include "ditc/runtime/ditc_kernels.h"

#include <chrono>
#include <cstdint>
#include <memory>

/// Returns the status of `expr` from the enclosing function unless it is OK.
#define DITC_TRY(expr)                                                         \
  do {                                                                         \
    ditc_rt_comm_status s_ = (expr);                                           \
    if (s_ != DITC_RT_COMM_OK)                                                 \
      return s_;                                                               \
  } while (0)

namespace ditc_rt::comm {

using Clock = std::chrono::steady_clock;
/// When a blocking call gives up; Clock::time_point::max() for never.
using Deadline = Clock::time_point;

/// Records the calling thread's last error (printf format).
void setError(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/// setError(fmt, ...) and returns `status`.
ditc_rt_comm_status fail(ditc_rt_comm_status status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/// Bytes of one element of `dtype`; 0 for an unknown dtype.
int64_t dtypeSize(int32_t dtype);

/// A started sendrecv (Backend::sendrecvStart). Destroying it before wait()
/// returned OK abandons it (the backend keeps what is still pending alive).
class Request {
public:
  virtual ~Request() = default;
  /// Completes the exchange by `deadline`.
  virtual ditc_rt_comm_status wait(Deadline deadline) = 0;
};

class Backend {
public:
  virtual ~Backend() = default;

  virtual const char *name() const = 0;
  virtual int32_t rank() const = 0;
  virtual int32_t size() const = 0;

  // The collectives of ditc_comm.h, same arguments; op is SUM or MAX.
  virtual ditc_rt_comm_status allReduce(const void *send, void *recv,
                                        int64_t count, int32_t dtype,
                                        int32_t op, Deadline deadline) = 0;
  virtual ditc_rt_comm_status allGather(const void *send, void *recv,
                                        int64_t count, int32_t dtype,
                                        Deadline deadline) = 0;
  virtual ditc_rt_comm_status reduceScatter(const void *send, void *recv,
                                            int64_t count, int32_t dtype,
                                            int32_t op, Deadline deadline) = 0;
  virtual ditc_rt_comm_status allToAll(const void *send, void *recv,
                                       int64_t count, int32_t dtype,
                                       Deadline deadline) = 0;
  virtual ditc_rt_comm_status broadcast(void *buf, int64_t count,
                                        int32_t dtype, int32_t root,
                                        Deadline deadline) = 0;
  virtual ditc_rt_comm_status barrier(Deadline deadline) = 0;
  virtual ditc_rt_comm_status send(const void *buf, int64_t count,
                                   int32_t dtype, int32_t peer, int32_t tag,
                                   Deadline deadline) = 0;
  virtual ditc_rt_comm_status recv(void *buf, int64_t count, int32_t dtype,
                                   int32_t peer, int32_t tag,
                                   Deadline deadline) = 0;

  /// The new communicator of this rank's color (>= 0): collective.
  virtual ditc_rt_comm_status split(int32_t color, int32_t key,
                                    Deadline deadline,
                                    std::unique_ptr<Backend> &out) = 0;
  /// Starts a sendrecv; blocks on nothing. send / recv are never null (an
  /// empty message points at a byte), counts may be 0.
  virtual ditc_rt_comm_status sendrecvStart(const void *send, int64_t sendCount,
                                            int32_t dst, void *recv,
                                            int64_t recvCount, int32_t src,
                                            int32_t dtype, int32_t tag,
                                            std::unique_ptr<Request> &out) = 0;
};

/// Collectives on device buffers, enqueued on a CUDA stream (`stream` is a
/// cudaStream_t) and not waited for. A GPU library attaches them to a
/// communicator whose ranks each have a GPU (runtime/cuda/device_comm.cpp:
/// NCCL); ditc_comm.h's buffer operations, called inside a DeviceScope, run
/// through them with the same argument checks and byte counts as on the
/// host. Point-to-point messages are matched in the order they were sent
/// (NCCL has no tags: the tag is only passed on).
class DeviceOps {
public:
  virtual ~DeviceOps() = default;
  virtual const char *name() const = 0;
  virtual ditc_rt_comm_status allReduce(const void *send, void *recv,
                                        int64_t count, int32_t dtype,
                                        int32_t op, void *stream) = 0;
  virtual ditc_rt_comm_status allGather(const void *send, void *recv,
                                        int64_t count, int32_t dtype,
                                        void *stream) = 0;
  virtual ditc_rt_comm_status reduceScatter(const void *send, void *recv,
                                            int64_t count, int32_t dtype,
                                            int32_t op, void *stream) = 0;
  virtual ditc_rt_comm_status allToAll(const void *send, void *recv,
                                       int64_t count, int32_t dtype,
                                       void *stream) = 0;
  virtual ditc_rt_comm_status broadcast(void *buf, int64_t count,
                                        int32_t dtype, int32_t root,
                                        void *stream) = 0;
  virtual ditc_rt_comm_status send(const void *buf, int64_t count,
                                   int32_t dtype, int32_t peer, int32_t tag,
                                   void *stream) = 0;
  virtual ditc_rt_comm_status recv(void *buf, int64_t count, int32_t dtype,
                                   int32_t peer, int32_t tag,
                                   void *stream) = 0;
  /// Sends to dst and receives from src at once (a ring's step).
  virtual ditc_rt_comm_status sendRecv(const void *send, int64_t sendCount,
                                       int32_t dst, void *recv,
                                       int64_t recvCount, int32_t src,
                                       int32_t dtype, int32_t tag,
                                       void *stream) = 0;
};

/// ditc_rt_comm_sendrecv on device buffers through `comm`'s DeviceOps,
/// enqueued on `stream` and not waited for: the same checks, the bytes sent
/// counted under DITC_RT_COMM_SEND. INTERNAL when `comm` has no DeviceOps.
ditc_rt_comm_status deviceSendRecv(ditc_rt_comm *comm, const void *send,
                                   int64_t sendCount, int32_t dst, void *recv,
                                   int64_t recvCount, int32_t src,
                                   int32_t dtype, int32_t tag, void *stream);

/// What a communicator's tensor collectives run on in a GPU library,
/// decided collectively at its first one (runtime/cuda/collectives.cpp).
enum class DevicePath { Undecided, Staged, Device };

/// The communicator's device path and its DeviceOps (null unless Device).
DevicePath devicePath(const ditc_rt_comm *comm, DeviceOps **ops);
/// Records the decision; `ops` (Device only) is owned by the communicator.
void setDevicePath(ditc_rt_comm *comm, DevicePath path,
                   std::unique_ptr<DeviceOps> ops);

/// The communicator's backend and the deadline of an operation started now,
/// for the runtime's own exchanges that are not the model's traffic (they
/// are not counted): a GPU library agreeing on its device path,
/// bootstrapping NCCL.
Backend &backendOf(ditc_rt_comm *comm);
Deadline deadlineFor(const ditc_rt_comm *comm);

/// Adds to the communicator's statistics: a GPU library's step replayed
/// from a CUDA graph counts what the step it captured counted
/// (Model.cpp), as no operation is called again.
void addStats(ditc_rt_comm *comm, int32_t kind, uint64_t bytes, uint64_t calls);

/// While one is alive on a thread, that thread's buffer operations on a
/// communicator with DeviceOps go through them, enqueued on `stream`; on one
/// without, they fail with INTERNAL. Scopes do not nest.
class DeviceScope {
public:
  explicit DeviceScope(void *stream);
  ~DeviceScope();
  DeviceScope(const DeviceScope &) = delete;
  DeviceScope &operator=(const DeviceScope &) = delete;
};

/// Creates a backend, or returns a status (and setError) when it cannot.
using BackendFactory = ditc_rt_comm_status (*)(std::unique_ptr<Backend> &out);

/// The "self" backend (self.cpp): world size 1.
ditc_rt_comm_status createSelfBackend(std::unique_ptr<Backend> &out);

#ifdef DITC_RT_HAVE_MPI
/// The "mpi" backend (mpi.cpp): the ranks of MPI_COMM_WORLD. Collective.
ditc_rt_comm_status createMpiBackend(std::unique_ptr<Backend> &out);
/// The "nccl" backend (nccl.cpp): NCCL and the CUDA runtime loaded at run
/// time, bootstrapped over MPI_COMM_WORLD. Collective.
ditc_rt_comm_status createNcclBackend(std::unique_ptr<Backend> &out);
/// 1 when libnccl.so.2 and the CUDA runtime load and a device exists.
int32_t ncclBackendAvailable();
#endif

} // namespace ditc_rt::comm

#endif // DITC_RUNTIME_SRC_COMM_BACKEND_H
