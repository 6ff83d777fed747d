//===- comm.cpp - ditc_comm.h: argument checks, timeouts, byte counters --===//
//
// The C entry points of ditc_comm.h. They check every argument, turn the
// communicator's timeout into a deadline, call the backend (backend.h) and,
// when it succeeds, count the bytes the operation's algorithm sends (the
// rule documented in ditc_comm.h, the same for every backend).
//
//===----------------------------------------------------------------------===//
#include "backend.h"

#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <limits>
#include <new>
#include <string>

using namespace ditc_rt::comm;

struct ditc_rt_comm {
  std::unique_ptr<Backend> backend;
  std::atomic<int64_t> timeoutMs{DITC_RT_COMM_DEFAULT_TIMEOUT_MS};
  std::atomic<uint64_t> bytes[DITC_RT_COMM_KIND_COUNT] = {};
  std::atomic<uint64_t> calls[DITC_RT_COMM_KIND_COUNT] = {};
  // A GPU library's choice for its tensor collectives (backend.h).
  DevicePath devicePath = DevicePath::Undecided;
  std::unique_ptr<DeviceOps> device;
};

struct ditc_rt_comm_request {
  ditc_rt_comm *comm;
  uint64_t bytes; // counted under DITC_RT_COMM_SEND when it succeeds
  std::unique_ptr<Request> impl;
};

namespace ditc_rt::comm {

namespace {
thread_local std::string lastError;
thread_local bool scopeOpen = false; // a DeviceScope is alive
thread_local void *scopeStream = nullptr;
} // namespace

DevicePath devicePath(const ditc_rt_comm *comm, DeviceOps **ops) {
  if (ops)
    *ops = comm ? comm->device.get() : nullptr;
  return comm ? comm->devicePath : DevicePath::Undecided;
}

void setDevicePath(ditc_rt_comm *comm, DevicePath path,
                   std::unique_ptr<DeviceOps> ops) {
  comm->devicePath = path;
  comm->device = path == DevicePath::Device ? std::move(ops) : nullptr;
}

Backend &backendOf(ditc_rt_comm *comm) { return *comm->backend; }

void addStats(ditc_rt_comm *comm, int32_t kind, uint64_t bytes, uint64_t calls) {
  comm->bytes[kind].fetch_add(bytes, std::memory_order_relaxed);
  comm->calls[kind].fetch_add(calls, std::memory_order_relaxed);
}

DeviceScope::DeviceScope(void *stream) {
  scopeOpen = true;
  scopeStream = stream;
}
DeviceScope::~DeviceScope() {
  scopeOpen = false;
  scopeStream = nullptr;
}

void setError(const char *fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  lastError = buf;
}

int64_t dtypeSize(int32_t dtype) {
  switch (dtype) {
  case DITC_RT_F32:
  case DITC_RT_I32:
    return 4;
  case DITC_RT_I64:
    return 8;
  case DITC_RT_B8:
    return 1;
  case DITC_RT_F16:
  case DITC_RT_BF16:
    return 2;
  default:
    return 0;
  }
}

ditc_rt_comm_status fail(ditc_rt_comm_status status, const char *fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  setError("%s", buf);
  return status;
}

} // namespace ditc_rt::comm

namespace {

// The backends by name; a null factory is reserved but not built.
struct Registered {
  const char *name;
  BackendFactory factory;
  const char *missing;        // why a null factory is refused
  int32_t (*probe)() = nullptr; // null: available whenever built
};
const Registered kBackends[] = {
    {"self", &createSelfBackend, nullptr},
#ifdef DITC_RT_HAVE_MPI
    {"mpi", &createMpiBackend, nullptr},
    {"nccl", &createNcclBackend, nullptr, &ncclBackendAvailable},
#else
    {"mpi", nullptr,
     "this runtime was built without MPI (the mpi backend is not built in)"},
    {"nccl", nullptr,
     "this runtime was built without MPI (the nccl backend bootstraps over "
     "MPI and is not built in)"},
#endif
};

const Registered *findBackend(const char *name) {
  if (!name)
    return nullptr;
  for (const Registered &r : kBackends)
    if (std::strcmp(r.name, name) == 0)
      return &r;
  return nullptr;
}

Deadline deadlineOf(const ditc_rt_comm *c) {
  int64_t ms = c->timeoutMs.load(std::memory_order_relaxed);
  if (ms <= 0)
    return Deadline::max();
  // Beyond about 100 days is forever (and keeps the addition in range).
  constexpr int64_t kMaxMs = int64_t(100) * 24 * 3600 * 1000;
  if (ms > kMaxMs)
    return Deadline::max();
  return Clock::now() + std::chrono::milliseconds(ms);
}

bool overlaps(const void *a, int64_t na, const void *b, int64_t nb) {
  auto pa = (uintptr_t)a, pb = (uintptr_t)b;
  return na > 0 && nb > 0 && pa < pb + (uintptr_t)nb &&
         pb < pa + (uintptr_t)na;
}

// Checks the arguments every buffer operation shares. `blocks` is how many
// count-element blocks the larger buffer holds (1 or P). Sets *bytes to
// count * element size. Returns OK, or the failure (error recorded).
ditc_rt_comm_status checkCommon(const char *fn, const ditc_rt_comm *c,
                                int64_t count, int32_t dtype, bool reduction,
                                int64_t blocks, int64_t *bytes) {
  if (!c)
    return fail(DITC_RT_COMM_ERROR_ARGUMENT, "%s: the communicator is null",
                fn);
  int64_t e = dtypeSize(dtype);
  if (e == 0)
    return fail(DITC_RT_COMM_ERROR_ARGUMENT, "%s: unknown dtype %d", fn,
                dtype);
  if (reduction && dtype == DITC_RT_B8)
    return fail(DITC_RT_COMM_ERROR_ARGUMENT,
                "%s: reductions take F32 I64 I32 F16 BF16, not B8", fn);
  if (count < 0)
    return fail(DITC_RT_COMM_ERROR_ARGUMENT, "%s: negative count %lld", fn,
                (long long)count);
  if (count > std::numeric_limits<int64_t>::max() / e / blocks)
    return fail(DITC_RT_COMM_ERROR_ARGUMENT,
                "%s: count %lld is too large (bytes overflow)", fn,
                (long long)count);
  *bytes = count * e;
  return DITC_RT_COMM_OK;
}

ditc_rt_comm_status checkOp(const char *fn, int32_t op, bool maxAllowed) {
  if (op == DITC_RT_REDUCE_SUM || (maxAllowed && op == DITC_RT_REDUCE_MAX))
    return DITC_RT_COMM_OK;
  return fail(DITC_RT_COMM_ERROR_ARGUMENT, "%s: op %d is not %s", fn, op,
              maxAllowed ? "DITC_RT_REDUCE_SUM or DITC_RT_REDUCE_MAX"
                         : "DITC_RT_REDUCE_SUM");
}

ditc_rt_comm_status checkRank(const char *fn, const char *what,
                              const ditc_rt_comm *c, int32_t rank) {
  int32_t p = c->backend->size();
  if (rank < 0 || rank >= p)
    return fail(DITC_RT_COMM_ERROR_ARGUMENT,
                "%s: %s %d is not a rank of this communicator (size %d)", fn,
                what, rank, p);
  return DITC_RT_COMM_OK;
}

void tally(ditc_rt_comm *c, ditc_rt_comm_kind kind, uint64_t bytes) {
  c->bytes[kind].fetch_add(bytes, std::memory_order_relaxed);
  c->calls[kind].fetch_add(1, std::memory_order_relaxed);
}

// What a backend returned: a failure without a message gets one.
ditc_rt_comm_status result(const char *fn, ditc_rt_comm_status s) {
  if (s != DITC_RT_COMM_OK && lastError.empty())
    setError("%s: %s", fn, ditc_rt_comm_status_string(s));
  return s;
}

// What a sendrecv checks; *sendBytes: the bytes sent.
ditc_rt_comm_status checkSendRecv(const char *fn, const ditc_rt_comm *comm,
                                  const void *send, int64_t sendCount,
                                  int32_t dst, const void *recv,
                                  int64_t recvCount, int32_t src, int32_t dtype,
                                  int32_t tag, int64_t *sendBytes) {
  int64_t recvBytes;
  DITC_TRY(checkCommon(fn, comm, sendCount, dtype, false, 1, sendBytes));
  DITC_TRY(checkCommon(fn, comm, recvCount, dtype, false, 1, &recvBytes));
  DITC_TRY(checkRank(fn, "dst", comm, dst));
  DITC_TRY(checkRank(fn, "src", comm, src));
  if (tag < 0)
    return fail(DITC_RT_COMM_ERROR_ARGUMENT, "%s: negative tag %d", fn, tag);
  if ((sendCount > 0 && !send) || (recvCount > 0 && !recv))
    return fail(DITC_RT_COMM_ERROR_ARGUMENT, "%s: %s is null", fn,
                sendCount > 0 && !send ? "send" : "recv");
  if (overlaps(send, *sendBytes, recv, recvBytes))
    return fail(DITC_RT_COMM_ERROR_ARGUMENT, "%s: send and recv overlap", fn);
  return DITC_RT_COMM_OK;
}

// `c`'s device ops; INTERNAL when it has none.
ditc_rt_comm_status requireDevice(const char *fn, ditc_rt_comm *c,
                                  DeviceOps **ops) {
  *ops = c->device.get();
  if (*ops)
    return DITC_RT_COMM_OK;
  return fail(DITC_RT_COMM_ERROR_INTERNAL,
              "%s: device buffers on a communicator without device "
              "collectives",
              fn);
}

// The device ops this thread's buffer operation on `c` goes through (null:
// the backend). INTERNAL when a DeviceScope is open and `c` has none.
ditc_rt_comm_status deviceTarget(const char *fn, ditc_rt_comm *c,
                                 DeviceOps **ops) {
  *ops = nullptr;
  if (!scopeOpen)
    return DITC_RT_COMM_OK;
  return requireDevice(fn, c, ops);
}

} // namespace

extern "C" {

const char *ditc_rt_comm_status_string(int32_t status) {
  switch (status) {
  case DITC_RT_COMM_OK:
    return "ok";
  case DITC_RT_COMM_ERROR_ARGUMENT:
    return "invalid argument";
  case DITC_RT_COMM_ERROR_UNAVAILABLE:
    return "communicator backend not available";
  case DITC_RT_COMM_ERROR_TIMEOUT:
    return "timed out";
  case DITC_RT_COMM_ERROR_PEER:
    return "a peer rank failed";
  case DITC_RT_COMM_ERROR_MEMORY:
    return "out of memory";
  case DITC_RT_COMM_ERROR_INTERNAL:
    return "communicator backend error";
  default:
    return "unknown status";
  }
}

const char *ditc_rt_comm_last_error(void) { return lastError.c_str(); }

int32_t ditc_rt_comm_backend_available(const char *backend) {
  const Registered *r = findBackend(backend);
  return r && r->factory && (!r->probe || r->probe()) ? 1 : 0;
}

ditc_rt_comm_status ditc_rt_comm_create(const char *backend,
                                        ditc_rt_comm **out) {
  if (out)
    *out = nullptr;
  if (!out)
    return fail(DITC_RT_COMM_ERROR_ARGUMENT, "create: out is null");
  if (!backend)
    return fail(DITC_RT_COMM_ERROR_ARGUMENT,
                "create: the backend name is null");
  const Registered *r = findBackend(backend);
  if (!r)
    return fail(DITC_RT_COMM_ERROR_ARGUMENT,
                "create: unknown communicator backend \"%s\" (known: self, "
                "mpi, nccl)",
                backend);
  if (!r->factory)
    return fail(DITC_RT_COMM_ERROR_UNAVAILABLE, "create: backend \"%s\": %s",
                r->name, r->missing);
  auto *c = new (std::nothrow) ditc_rt_comm();
  if (!c)
    return fail(DITC_RT_COMM_ERROR_MEMORY,
                "create: cannot allocate the communicator");
  lastError.clear();
  ditc_rt_comm_status s = r->factory(c->backend);
  if (s == DITC_RT_COMM_OK && !c->backend)
    s = fail(DITC_RT_COMM_ERROR_INTERNAL, "create: backend \"%s\" made nothing",
             r->name);
  if (s != DITC_RT_COMM_OK) {
    delete c;
    return result("create", s);
  }
  *out = c;
  return DITC_RT_COMM_OK;
}

void ditc_rt_comm_destroy(ditc_rt_comm *comm) { delete comm; }

const char *ditc_rt_comm_backend(const ditc_rt_comm *comm) {
  return comm ? comm->backend->name() : nullptr;
}

ditc_rt_comm_status ditc_rt_comm_rank(const ditc_rt_comm *comm,
                                      int32_t *rank) {
  if (!comm || !rank)
    return fail(DITC_RT_COMM_ERROR_ARGUMENT, "rank: %s is null",
                comm ? "rank" : "the communicator");
  *rank = comm->backend->rank();
  return DITC_RT_COMM_OK;
}

ditc_rt_comm_status ditc_rt_comm_size(const ditc_rt_comm *comm,
                                      int32_t *size) {
  if (!comm || !size)
    return fail(DITC_RT_COMM_ERROR_ARGUMENT, "size: %s is null",
                comm ? "size" : "the communicator");
  *size = comm->backend->size();
  return DITC_RT_COMM_OK;
}

ditc_rt_comm_status ditc_rt_comm_set_timeout_ms(ditc_rt_comm *comm,
                                                int64_t ms) {
  if (!comm)
    return fail(DITC_RT_COMM_ERROR_ARGUMENT,
                "set_timeout_ms: the communicator is null");
  comm->timeoutMs.store(ms < 0 ? 0 : ms, std::memory_order_relaxed);
  return DITC_RT_COMM_OK;
}

ditc_rt_comm_status ditc_rt_comm_get_timeout_ms(const ditc_rt_comm *comm,
                                                int64_t *ms) {
  if (!comm || !ms)
    return fail(DITC_RT_COMM_ERROR_ARGUMENT, "get_timeout_ms: %s is null",
                comm ? "ms" : "the communicator");
  *ms = comm->timeoutMs.load(std::memory_order_relaxed);
  return DITC_RT_COMM_OK;
}

ditc_rt_comm_status ditc_rt_comm_all_reduce(ditc_rt_comm *comm,
                                            const void *send, void *recv,
                                            int64_t count, int32_t dtype,
                                            int32_t op) {
  const char *fn = "all_reduce";
  int64_t b;
  DITC_TRY(checkCommon(fn, comm, count, dtype, true, 1, &b));
  DITC_TRY(checkOp(fn, op, true));
  if (count > 0) {
    if (!send || !recv)
      return fail(DITC_RT_COMM_ERROR_ARGUMENT, "%s: a buffer is null", fn);
    if (send != recv && overlaps(send, b, recv, b))
      return fail(DITC_RT_COMM_ERROR_ARGUMENT,
                  "%s: send and recv overlap but are not the same buffer", fn);
    lastError.clear();
    DeviceOps *dev;
    DITC_TRY(deviceTarget(fn, comm, &dev));
    DITC_TRY(result(
        fn, dev ? dev->allReduce(send, recv, count, dtype, op, scopeStream)
                : comm->backend->allReduce(send, recv, count, dtype, op,
                                           deadlineOf(comm))));
  }
  uint64_t p = (uint64_t)comm->backend->size();
  tally(comm, DITC_RT_COMM_ALL_REDUCE,
        (uint64_t)((unsigned __int128)2 * (p - 1) * (uint64_t)b / p));
  return DITC_RT_COMM_OK;
}

ditc_rt_comm_status ditc_rt_comm_all_gather(ditc_rt_comm *comm,
                                            const void *send, void *recv,
                                            int64_t count, int32_t dtype) {
  const char *fn = "all_gather";
  int64_t b;
  int64_t p = comm ? comm->backend->size() : 1;
  DITC_TRY(checkCommon(fn, comm, count, dtype, false, p, &b));
  if (count > 0) {
    if (!send || !recv)
      return fail(DITC_RT_COMM_ERROR_ARGUMENT, "%s: a buffer is null", fn);
    const void *inPlace =
        (const char *)recv + comm->backend->rank() * b;
    if (send != inPlace && overlaps(send, b, recv, p * b))
      return fail(DITC_RT_COMM_ERROR_ARGUMENT,
                  "%s: send overlaps recv but is not this rank's block of it",
                  fn);
    lastError.clear();
    DeviceOps *dev;
    DITC_TRY(deviceTarget(fn, comm, &dev));
    DITC_TRY(result(
        fn, dev ? dev->allGather(send, recv, count, dtype, scopeStream)
                : comm->backend->allGather(send, recv, count, dtype,
                                           deadlineOf(comm))));
  }
  tally(comm, DITC_RT_COMM_ALL_GATHER, (uint64_t)(p - 1) * (uint64_t)b);
  return DITC_RT_COMM_OK;
}

ditc_rt_comm_status ditc_rt_comm_reduce_scatter(ditc_rt_comm *comm,
                                                const void *send, void *recv,
                                                int64_t count, int32_t dtype,
                                                int32_t op) {
  const char *fn = "reduce_scatter";
  int64_t b;
  int64_t p = comm ? comm->backend->size() : 1;
  DITC_TRY(checkCommon(fn, comm, count, dtype, true, p, &b));
  DITC_TRY(checkOp(fn, op, false));
  if (count > 0) {
    if (!send || !recv)
      return fail(DITC_RT_COMM_ERROR_ARGUMENT, "%s: a buffer is null", fn);
    const void *inPlace = (const char *)send + comm->backend->rank() * b;
    if (recv != inPlace && overlaps(send, p * b, recv, b))
      return fail(DITC_RT_COMM_ERROR_ARGUMENT,
                  "%s: recv overlaps send but is not this rank's block of it",
                  fn);
    lastError.clear();
    DeviceOps *dev;
    DITC_TRY(deviceTarget(fn, comm, &dev));
    DITC_TRY(result(
        fn, dev ? dev->reduceScatter(send, recv, count, dtype, op, scopeStream)
                : comm->backend->reduceScatter(send, recv, count, dtype, op,
                                               deadlineOf(comm))));
  }
  tally(comm, DITC_RT_COMM_REDUCE_SCATTER, (uint64_t)(p - 1) * (uint64_t)b);
  return DITC_RT_COMM_OK;
}

ditc_rt_comm_status ditc_rt_comm_all_to_all(ditc_rt_comm *comm,
                                            const void *send, void *recv,
                                            int64_t count, int32_t dtype) {
  const char *fn = "all_to_all";
  int64_t b;
  int64_t p = comm ? comm->backend->size() : 1;
  DITC_TRY(checkCommon(fn, comm, count, dtype, false, p, &b));
  if (count > 0) {
    if (!send || !recv)
      return fail(DITC_RT_COMM_ERROR_ARGUMENT, "%s: a buffer is null", fn);
    if (overlaps(send, p * b, recv, p * b))
      return fail(DITC_RT_COMM_ERROR_ARGUMENT,
                  "%s: send and recv overlap (all_to_all has no in-place form)",
                  fn);
    lastError.clear();
    DeviceOps *dev;
    DITC_TRY(deviceTarget(fn, comm, &dev));
    DITC_TRY(result(
        fn, dev ? dev->allToAll(send, recv, count, dtype, scopeStream)
                : comm->backend->allToAll(send, recv, count, dtype,
                                          deadlineOf(comm))));
  }
  tally(comm, DITC_RT_COMM_ALL_TO_ALL, (uint64_t)(p - 1) * (uint64_t)b);
  return DITC_RT_COMM_OK;
}

ditc_rt_comm_status ditc_rt_comm_broadcast(ditc_rt_comm *comm, void *buf,
                                           int64_t count, int32_t dtype,
                                           int32_t root) {
  const char *fn = "broadcast";
  int64_t b;
  DITC_TRY(checkCommon(fn, comm, count, dtype, false, 1, &b));
  DITC_TRY(checkRank(fn, "root", comm, root));
  int32_t p = comm->backend->size(), r = comm->backend->rank();
  if (count > 0) {
    if (!buf)
      return fail(DITC_RT_COMM_ERROR_ARGUMENT, "%s: buf is null", fn);
    lastError.clear();
    DeviceOps *dev;
    DITC_TRY(deviceTarget(fn, comm, &dev));
    DITC_TRY(result(
        fn, dev ? dev->broadcast(buf, count, dtype, root, scopeStream)
                : comm->backend->broadcast(buf, count, dtype, root,
                                           deadlineOf(comm))));
  }
  // The chain root, root+1, ..., root+P-1: all but its last rank send B.
  bool last = r == (root + p - 1) % p;
  tally(comm, DITC_RT_COMM_BROADCAST, last ? 0 : (uint64_t)b);
  return DITC_RT_COMM_OK;
}

ditc_rt_comm_status ditc_rt_comm_barrier(ditc_rt_comm *comm) {
  if (!comm)
    return fail(DITC_RT_COMM_ERROR_ARGUMENT,
                "barrier: the communicator is null");
  lastError.clear();
  return result("barrier", comm->backend->barrier(deadlineOf(comm)));
}

ditc_rt_comm_status ditc_rt_comm_send(ditc_rt_comm *comm, const void *buf,
                                      int64_t count, int32_t dtype,
                                      int32_t peer, int32_t tag) {
  const char *fn = "send";
  int64_t b;
  DITC_TRY(checkCommon(fn, comm, count, dtype, false, 1, &b));
  DITC_TRY(checkRank(fn, "peer", comm, peer));
  if (tag < 0)
    return fail(DITC_RT_COMM_ERROR_ARGUMENT, "%s: negative tag %d", fn, tag);
  if (count > 0 && !buf)
    return fail(DITC_RT_COMM_ERROR_ARGUMENT, "%s: buf is null", fn);
  // A message of 0 elements is still a message: the matching recv takes it.
  static const unsigned char kEmpty = 0;
  lastError.clear();
  DeviceOps *dev;
  DITC_TRY(deviceTarget(fn, comm, &dev));
  if (dev && count == 0) // nothing moves on the device: NCCL has no empty message
    return DITC_RT_COMM_OK;
  DITC_TRY(result(fn, dev ? dev->send(buf, count, dtype, peer, tag, scopeStream)
                          : comm->backend->send(count > 0 ? buf : &kEmpty,
                                                count, dtype, peer, tag,
                                                deadlineOf(comm))));
  tally(comm, DITC_RT_COMM_SEND, (uint64_t)b);
  return DITC_RT_COMM_OK;
}

ditc_rt_comm_status ditc_rt_comm_recv(ditc_rt_comm *comm, void *buf,
                                      int64_t count, int32_t dtype,
                                      int32_t peer, int32_t tag) {
  const char *fn = "recv";
  int64_t b;
  DITC_TRY(checkCommon(fn, comm, count, dtype, false, 1, &b));
  DITC_TRY(checkRank(fn, "peer", comm, peer));
  if (tag < 0)
    return fail(DITC_RT_COMM_ERROR_ARGUMENT, "%s: negative tag %d", fn, tag);
  if (count > 0 && !buf)
    return fail(DITC_RT_COMM_ERROR_ARGUMENT, "%s: buf is null", fn);
  unsigned char empty;
  lastError.clear();
  DeviceOps *dev;
  DITC_TRY(deviceTarget(fn, comm, &dev));
  if (dev && count == 0)
    return DITC_RT_COMM_OK;
  return result(fn, dev ? dev->recv(buf, count, dtype, peer, tag, scopeStream)
                        : comm->backend->recv(count > 0 ? buf : &empty, count,
                                              dtype, peer, tag,
                                              deadlineOf(comm)));
}

ditc_rt_comm_status ditc_rt_comm_split(ditc_rt_comm *comm, int32_t color,
                                       int32_t key, ditc_rt_comm **out) {
  const char *fn = "split";
  if (out)
    *out = nullptr;
  if (!comm || !out)
    return fail(DITC_RT_COMM_ERROR_ARGUMENT, "%s: %s is null", fn,
                comm ? "out" : "the communicator");
  if (color < 0)
    return fail(DITC_RT_COMM_ERROR_ARGUMENT,
                "%s: negative color %d (every rank needs a color >= 0)", fn,
                color);
  auto *c = new (std::nothrow) ditc_rt_comm();
  if (!c)
    return fail(DITC_RT_COMM_ERROR_MEMORY,
                "%s: cannot allocate the communicator", fn);
  lastError.clear();
  ditc_rt_comm_status s =
      comm->backend->split(color, key, deadlineOf(comm), c->backend);
  if (s == DITC_RT_COMM_OK && !c->backend)
    s = fail(DITC_RT_COMM_ERROR_INTERNAL, "%s: the backend made nothing", fn);
  if (s != DITC_RT_COMM_OK) {
    delete c;
    return result(fn, s);
  }
  c->timeoutMs.store(comm->timeoutMs.load(std::memory_order_relaxed),
                     std::memory_order_relaxed);
  *out = c;
  return DITC_RT_COMM_OK;
}

ditc_rt_comm_status
ditc_rt_comm_sendrecv_start(ditc_rt_comm *comm, const void *send,
                            int64_t send_count, int32_t dst, void *recv,
                            int64_t recv_count, int32_t src, int32_t dtype,
                            int32_t tag, ditc_rt_comm_request **out) {
  const char *fn = "sendrecv";
  if (out)
    *out = nullptr;
  int64_t sendBytes;
  DITC_TRY(checkSendRecv(fn, comm, send, send_count, dst, recv, recv_count, src,
                         dtype, tag, &sendBytes));
  if (!out)
    return fail(DITC_RT_COMM_ERROR_ARGUMENT, "%s: out is null", fn);
  auto *req = new (std::nothrow)
      ditc_rt_comm_request{comm, (uint64_t)sendBytes, nullptr};
  if (!req)
    return fail(DITC_RT_COMM_ERROR_MEMORY, "%s: cannot allocate the request",
                fn);
  // Empty messages are still messages (as in send / recv).
  static const unsigned char kEmpty = 0;
  thread_local unsigned char empty;
  lastError.clear();
  ditc_rt_comm_status s = comm->backend->sendrecvStart(
      send_count > 0 ? send : &kEmpty, send_count, dst,
      recv_count > 0 ? recv : &empty, recv_count, src, dtype, tag, req->impl);
  if (s == DITC_RT_COMM_OK && !req->impl)
    s = fail(DITC_RT_COMM_ERROR_INTERNAL, "%s: the backend started nothing",
             fn);
  if (s != DITC_RT_COMM_OK) {
    delete req;
    return result(fn, s);
  }
  *out = req;
  return DITC_RT_COMM_OK;
}

ditc_rt_comm_status ditc_rt_comm_request_wait(ditc_rt_comm_request *req) {
  if (!req)
    return DITC_RT_COMM_OK;
  std::unique_ptr<ditc_rt_comm_request> owned(req);
  lastError.clear();
  ditc_rt_comm_status s =
      result("sendrecv", req->impl->wait(deadlineOf(req->comm)));
  if (s == DITC_RT_COMM_OK)
    tally(req->comm, DITC_RT_COMM_SEND, req->bytes);
  return s;
}

ditc_rt_comm_status ditc_rt_comm_sendrecv(ditc_rt_comm *comm, const void *send,
                                          int64_t send_count, int32_t dst,
                                          void *recv, int64_t recv_count,
                                          int32_t src, int32_t dtype,
                                          int32_t tag) {
  ditc_rt_comm_request *req = nullptr;
  DITC_TRY(ditc_rt_comm_sendrecv_start(comm, send, send_count, dst, recv,
                                         recv_count, src, dtype, tag, &req));
  return ditc_rt_comm_request_wait(req);
}

ditc_rt_comm_status ditc_rt_comm_stats(const ditc_rt_comm *comm, int32_t kind,
                                       uint64_t *bytes, uint64_t *calls) {
  if (!comm)
    return fail(DITC_RT_COMM_ERROR_ARGUMENT,
                "stats: the communicator is null");
  if (kind < 0 || kind >= DITC_RT_COMM_KIND_COUNT)
    return fail(DITC_RT_COMM_ERROR_ARGUMENT, "stats: unknown kind %d", kind);
  if (bytes)
    *bytes = comm->bytes[kind].load(std::memory_order_relaxed);
  if (calls)
    *calls = comm->calls[kind].load(std::memory_order_relaxed);
  return DITC_RT_COMM_OK;
}

ditc_rt_comm_status ditc_rt_comm_reset_stats(ditc_rt_comm *comm) {
  if (!comm)
    return fail(DITC_RT_COMM_ERROR_ARGUMENT,
                "reset_stats: the communicator is null");
  for (int k = 0; k < DITC_RT_COMM_KIND_COUNT; ++k) {
    comm->bytes[k].store(0, std::memory_order_relaxed);
    comm->calls[k].store(0, std::memory_order_relaxed);
  }
  return DITC_RT_COMM_OK;
}

const char *ditc_rt_comm_kind_name(int32_t kind) {
  static const char *const kNames[DITC_RT_COMM_KIND_COUNT] = {
      "all_reduce", "all_gather", "reduce_scatter",
      "all_to_all", "broadcast",  "send"};
  return kind >= 0 && kind < DITC_RT_COMM_KIND_COUNT ? kNames[kind] : nullptr;
}

} // extern "C"

namespace ditc_rt::comm {
Deadline deadlineFor(const ditc_rt_comm *comm) { return deadlineOf(comm); }

ditc_rt_comm_status deviceSendRecv(ditc_rt_comm *comm, const void *send,
                                   int64_t sendCount, int32_t dst, void *recv,
                                   int64_t recvCount, int32_t src,
                                   int32_t dtype, int32_t tag, void *stream) {
  const char *fn = "sendrecv";
  int64_t sendBytes;
  DITC_TRY(checkSendRecv(fn, comm, send, sendCount, dst, recv, recvCount, src,
                         dtype, tag, &sendBytes));
  DeviceOps *dev;
  DITC_TRY(requireDevice(fn, comm, &dev));
  lastError.clear();
  DITC_TRY(result(fn, dev->sendRecv(send, sendCount, dst, recv, recvCount,
                                    src, dtype, tag, stream)));
  tally(comm, DITC_RT_COMM_SEND, (uint64_t)sendBytes);
  return DITC_RT_COMM_OK;
}
} // namespace ditc_rt::comm
