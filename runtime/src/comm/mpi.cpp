//===- mpi.cpp - The "mpi" communicator backend (Open MPI) ---------------===//
//
// CPU ranks under mpirun: rank and size are MPI_COMM_WORLD's, which every
// communicator duplicates (so creating one is collective over the world).
// The first create initialises MPI when the process has not (asking for
// MPI_THREAD_MULTIPLE; MPI is then finalised at exit, and only then); outside
// a launcher that is an isolated singleton, world size 1, with no daemon.
// With less than MPI_THREAD_MULTIPLE every MPI call is serialised here.
//
// Every operation is non-blocking MPI polled with MPI_Test until it completes
// or the deadline passes, so a missing peer gives DITC_RT_COMM_ERROR_TIMEOUT,
// never a hang. MPI cannot cancel a collective (nor, in Open MPI, a send): a
// request that timed out is left pending (with any scratch buffer it writes)
// and the communicator then refuses everything but destroy; unless the late
// peer completes it after all, MPI is not finalised at exit (MPI_Finalize
// would wait for that peer too). Errors return
// (MPI_ERRORS_RETURN): an operation MPI refuses to start is INTERNAL, one
// that fails while it runs PEER, each with MPI's message.
//
// Reductions: I32 / I64 and F32 SUM are MPI's own; F32 MAX and F16 / BF16
// SUM / MAX are user-defined ops, element by element in f32 with one
// rounding per step (MAX propagates NaN, as one canonical quiet NaN, so that
// every rank gets the same bits).
//
// split gathers every rank's color and key with a polled non-blocking
// all_gather, then calls MPI_Comm_split (blocking in MPI), which every rank
// has then reached. sendrecv is MPI_Irecv + MPI_Isend, polled in the wait.
//
// Point to point: the MPI tag is tag * 8 + dtype, so that recv tells a
// message of another dtype (ARGUMENT) from none yet; recv probes before it
// receives, so a message of another size stays queued. A rank's messages to
// itself go through a LocalQueue, as in "self" (MPI would block a large one
// until its receive is posted). Concurrent recvs of one (peer, tag) from
// several threads take its messages in no set order.
//
// MPI counts are int: an operation of more than INT_MAX elements (per block)
// is refused with ARGUMENT.
//
//===----------------------------------------------------------------------===//
#include "backend.h"
#include "queue.h"

// The C API only (Open MPI's mpi.h would pull in its C++ bindings).
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <thread>
#include <vector>

namespace ditc_rt::comm {
namespace {

//===--- Process-wide MPI state -------------------------------------------===//

std::mutex initMu;      // guards MPI start-up and the state below
bool started = false;   // MPI is up, the ops below exist
bool serialise = false; // MPI gave less than MPI_THREAD_MULTIPLE
std::mutex mpiMu;       // held around every MPI call when `serialise`
int32_t maxTag = 0;     // the largest tag send / recv take
MPI_Op opF32Max, opF16Sum, opF16Max, opBf16Sum, opBf16Max;

std::mutex pendingMu;             // guards `pending`
std::vector<MPI_Request> pending; // left pending by a timeout

// The dtypes a communicator takes: DITC_RT_F32 .. DITC_RT_BF16.
constexpr int32_t kDtypes = 6;
constexpr int32_t kTagDtypes = 8; // MPI tag = tag * 8 + dtype

/// Holds mpiMu around an MPI call when MPI is not thread-multiple.
class MpiLock {
public:
  MpiLock() {
    if (serialise)
      mpiMu.lock();
  }
  ~MpiLock() {
    if (serialise)
      mpiMu.unlock();
  }
  MpiLock(const MpiLock &) = delete;
  MpiLock &operator=(const MpiLock &) = delete;
};

std::string mpiMessage(int rc) {
  char s[MPI_MAX_ERROR_STRING];
  int n = 0;
  if (MPI_Error_string(rc, s, &n) != MPI_SUCCESS)
    std::snprintf(s, sizeof s, "MPI error %d", rc);
  return s;
}

//===--- Reduction ops ----------------------------------------------------===//

float bf16ToF32(uint16_t h) {
  uint32_t u = (uint32_t)h << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
uint16_t f32ToBf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) // NaN: keep it quiet
    return (uint16_t)((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1u); // round to nearest even
  return (uint16_t)(u >> 16);
}
float f16ToF32(uint16_t h) {
  _Float16 x;
  std::memcpy(&x, &h, 2);
  return (float)x;
}
uint16_t f32ToF16(float f) {
  _Float16 x = (_Float16)f; // round to nearest even
  uint16_t h;
  std::memcpy(&h, &x, 2);
  return h;
}

// NaN if either is (one canonical NaN: ranks combine in different orders);
// max(-0, +0) = +0 either way round.
float maxNan(float x, float y) {
  if (x != x || y != y)
    return std::numeric_limits<float>::quiet_NaN();
  if (x == y)
    return std::signbit(x) ? y : x;
  return x > y ? x : y;
}

void f32Max(void *in, void *inout, int *len, MPI_Datatype *) {
  const float *a = (const float *)in;
  float *b = (float *)inout;
  for (int i = 0; i < *len; ++i)
    b[i] = maxNan(a[i], b[i]);
}

template <float (*Get)(uint16_t), uint16_t (*Put)(float), bool Max>
void halfOp(void *in, void *inout, int *len, MPI_Datatype *) {
  const uint16_t *a = (const uint16_t *)in;
  uint16_t *b = (uint16_t *)inout;
  for (int i = 0; i < *len; ++i) {
    float x = Get(a[i]), y = Get(b[i]);
    b[i] = Put(Max ? maxNan(x, y) : x + y);
  }
}

MPI_Datatype mpiType(int32_t dtype) {
  switch (dtype) {
  case DITC_RT_F32:
    return MPI_FLOAT;
  case DITC_RT_I64:
    return MPI_INT64_T;
  case DITC_RT_I32:
    return MPI_INT32_T;
  case DITC_RT_F16:
  case DITC_RT_BF16:
    return MPI_UINT16_T;
  default:
    return MPI_BYTE;
  }
}

MPI_Op mpiOp(int32_t dtype, int32_t op) {
  bool max = op == DITC_RT_REDUCE_MAX;
  switch (dtype) {
  case DITC_RT_F32:
    return max ? opF32Max : MPI_SUM;
  case DITC_RT_F16:
    return max ? opF16Max : opF16Sum;
  case DITC_RT_BF16:
    return max ? opBf16Max : opBf16Sum;
  default:
    return max ? MPI_MAX : MPI_SUM;
  }
}

//===--- Start-up ---------------------------------------------------------===//

bool underLauncher() {
  for (const char *v :
       {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"})
    if (std::getenv(v))
      return true;
  return false;
}

void finalizeAtExit();

// Initialises MPI when the process has not, once: ops, tag limit.
ditc_rt_comm_status startMpi() {
  std::lock_guard<std::mutex> lock(initMu);
  int flag = 0;
  MPI_Finalized(&flag);
  if (flag) {
    setError("create: MPI was already finalized in this process");
    return DITC_RT_COMM_ERROR_UNAVAILABLE;
  }
  if (started)
    return DITC_RT_COMM_OK;
  int provided = MPI_THREAD_SINGLE;
  MPI_Initialized(&flag);
  if (!flag) {
    // A singleton of Open MPI would otherwise start an orted daemon (and end
    // the process when it cannot).
    if (!underLauncher())
      setenv("OMPI_MCA_ess_singleton_isolated", "1", 0);
    int rc = MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided);
    if (rc != MPI_SUCCESS) {
      setError("create: MPI_Init_thread failed: %s", mpiMessage(rc).c_str());
      return DITC_RT_COMM_ERROR_UNAVAILABLE;
    }
    std::atexit(finalizeAtExit);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  } else {
    MPI_Query_thread(&provided);
  }
  serialise = provided < MPI_THREAD_MULTIPLE;

  int rc = MPI_Op_create(&f32Max, 1, &opF32Max);
  if (rc == MPI_SUCCESS)
    rc = MPI_Op_create(&halfOp<f16ToF32, f32ToF16, false>, 1, &opF16Sum);
  if (rc == MPI_SUCCESS)
    rc = MPI_Op_create(&halfOp<f16ToF32, f32ToF16, true>, 1, &opF16Max);
  if (rc == MPI_SUCCESS)
    rc = MPI_Op_create(&halfOp<bf16ToF32, f32ToBf16, false>, 1, &opBf16Sum);
  if (rc == MPI_SUCCESS)
    rc = MPI_Op_create(&halfOp<bf16ToF32, f32ToBf16, true>, 1, &opBf16Max);
  if (rc != MPI_SUCCESS) {
    setError("create: MPI_Op_create failed: %s", mpiMessage(rc).c_str());
    return DITC_RT_COMM_ERROR_INTERNAL;
  }
  int *tagUb = nullptr;
  flag = 0;
  MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_TAG_UB, &tagUb, &flag);
  maxTag = ((flag && tagUb ? *tagUb : 32767) - (kTagDtypes - 1)) / kTagDtypes;
  started = true;
  return DITC_RT_COMM_OK;
}

//===--- Waiting ----------------------------------------------------------===//

double msSince(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

// Between two polls: yield for the first second, then sleep 100 us. MPI
// moves a large message only while it is polled (a fragment per test), so
// sleeping early makes big collectives crawl (18 MiB took 180 ms with a
// 2 ms threshold, 10x the copy time); a peer a second late is waited for
// without burning the core.
void pause(Clock::time_point since) {
  if (Clock::now() - since < std::chrono::seconds(1))
    std::this_thread::yield();
  else
    std::this_thread::sleep_for(std::chrono::microseconds(100));
}

enum class Poll { Done, Failed, Expired };

// Tests `req` until it completes, fails (*rc) or `deadline` passes.
Poll poll(MPI_Request &req, Deadline deadline, MPI_Status *st, int *rc) {
  Clock::time_point start = Clock::now();
  for (;;) {
    int done = 0;
    {
      MpiLock l;
      *rc = MPI_Test(&req, &done, st);
    }
    if (*rc != MPI_SUCCESS)
      return Poll::Failed;
    if (done)
      return Poll::Done;
    if (Clock::now() >= deadline)
      return Poll::Expired;
    pause(start);
  }
}

// Whether every request a timeout left pending has completed since (a late
// peer took part after all), testing them for up to `grace`.
bool pendingDone(Clock::duration grace) {
  std::lock_guard<std::mutex> lock(pendingMu);
  Clock::time_point start = Clock::now();
  for (;;) {
    bool all = true;
    for (MPI_Request &req : pending) {
      if (req == MPI_REQUEST_NULL)
        continue;
      int done = 0;
      MpiLock l;
      if (MPI_Test(&req, &done, MPI_STATUS_IGNORE) != MPI_SUCCESS)
        req = MPI_REQUEST_NULL; // failed: complete all the same
      else if (!done)
        all = false;
    }
    if (all)
      return true;
    if (Clock::now() - start >= grace)
      return false;
    pause(start);
  }
}

// At exit, when this runtime initialised MPI. An operation that timed out
// and is still pending waits for a rank that never took part, and so would
// MPI_Finalize, forever: then the process exits without it (and mpirun ends
// the job with an error).
void finalizeAtExit() {
  int done = 1;
  if (MPI_Finalized(&done) != MPI_SUCCESS || done)
    return;
  if (pendingDone(std::chrono::seconds(1)))
    MPI_Finalize();
}

//===--- The backend ------------------------------------------------------===//

class MpiBackend final : public Backend {
public:
  MpiBackend(MPI_Comm comm, int32_t rank, int32_t size)
      : comm_(comm), rank_(rank), size_(size), self_(rank) {}

  ~MpiBackend() override {
    int done = 1;
    MPI_Finalized(&done);
    if (!done) {
      MpiLock l;
      MPI_Comm_free(&comm_); // pending requests still complete (or never)
    }
    // What requests left pending may still write is never freed.
    for (std::unique_ptr<unsigned char[]> &s : scratch_)
      (void)s.release();
  }

  const char *name() const override { return "mpi"; }
  int32_t rank() const override { return rank_; }
  int32_t size() const override { return size_; }

  ditc_rt_comm_status allReduce(const void *send, void *recv, int64_t count,
                                int32_t dtype, int32_t op,
                                Deadline deadline) override {
    const char *fn = "all_reduce";
    DITC_TRY(ready(fn, count));
    MPI_Request req;
    int rc;
    {
      MpiLock l;
      rc = MPI_Iallreduce(send == recv ? MPI_IN_PLACE : send, recv, (int)count,
                          mpiType(dtype), mpiOp(dtype, op), comm_, &req);
    }
    DITC_TRY(begun(fn, "MPI_Iallreduce", rc));
    return wait(fn, req, deadline, false);
  }

  ditc_rt_comm_status allGather(const void *send, void *recv, int64_t count,
                                int32_t dtype, Deadline deadline) override {
    const char *fn = "all_gather";
    DITC_TRY(ready(fn, count));
    bool inPlace =
        send == (const char *)recv + rank_ * count * dtypeSize(dtype);
    MPI_Datatype t = mpiType(dtype);
    MPI_Request req;
    int rc;
    {
      MpiLock l;
      rc = MPI_Iallgather(inPlace ? MPI_IN_PLACE : send, (int)count, t, recv,
                          (int)count, t, comm_, &req);
    }
    DITC_TRY(begun(fn, "MPI_Iallgather", rc));
    return wait(fn, req, deadline, false);
  }

  ditc_rt_comm_status reduceScatter(const void *send, void *recv, int64_t count,
                                    int32_t dtype, int32_t op,
                                    Deadline deadline) override {
    const char *fn = "reduce_scatter";
    DITC_TRY(ready(fn, count));
    int64_t b = count * dtypeSize(dtype);
    // In place (recv is block r of send): MPI_IN_PLACE would put the result
    // at block 0, so reduce into scratch and copy.
    std::unique_ptr<unsigned char[]> scratch;
    if (recv == (const char *)send + rank_ * b) {
      scratch.reset(new (std::nothrow) unsigned char[b]);
      if (!scratch) {
        setError("%s: cannot allocate %lld bytes of scratch", fn, (long long)b);
        return DITC_RT_COMM_ERROR_MEMORY;
      }
    }
    MPI_Request req;
    int rc;
    {
      MpiLock l;
      rc = MPI_Ireduce_scatter_block(send, scratch ? scratch.get() : recv,
                                     (int)count, mpiType(dtype),
                                     mpiOp(dtype, op), comm_, &req);
    }
    DITC_TRY(begun(fn, "MPI_Ireduce_scatter_block", rc));
    DITC_TRY(wait(fn, req, deadline, false, &scratch));
    if (scratch)
      std::memcpy(recv, scratch.get(), (size_t)b);
    return DITC_RT_COMM_OK;
  }

  ditc_rt_comm_status allToAll(const void *send, void *recv, int64_t count,
                               int32_t dtype, Deadline deadline) override {
    const char *fn = "all_to_all";
    DITC_TRY(ready(fn, count));
    MPI_Datatype t = mpiType(dtype);
    MPI_Request req;
    int rc;
    {
      MpiLock l;
      rc = MPI_Ialltoall(send, (int)count, t, recv, (int)count, t, comm_, &req);
    }
    DITC_TRY(begun(fn, "MPI_Ialltoall", rc));
    return wait(fn, req, deadline, false);
  }

  ditc_rt_comm_status broadcast(void *buf, int64_t count, int32_t dtype,
                                int32_t root, Deadline deadline) override {
    const char *fn = "broadcast";
    DITC_TRY(ready(fn, count));
    MPI_Request req;
    int rc;
    {
      MpiLock l;
      rc = MPI_Ibcast(buf, (int)count, mpiType(dtype), root, comm_, &req);
    }
    DITC_TRY(begun(fn, "MPI_Ibcast", rc));
    return wait(fn, req, deadline, false);
  }

  ditc_rt_comm_status barrier(Deadline deadline) override {
    const char *fn = "barrier";
    DITC_TRY(ready(fn, 0));
    MPI_Request req;
    int rc;
    {
      MpiLock l;
      rc = MPI_Ibarrier(comm_, &req);
    }
    DITC_TRY(begun(fn, "MPI_Ibarrier", rc));
    return wait(fn, req, deadline, false);
  }

  ditc_rt_comm_status send(const void *buf, int64_t count, int32_t dtype,
                           int32_t peer, int32_t tag,
                           Deadline deadline) override {
    const char *fn = "send";
    DITC_TRY(ready(fn, count));
    DITC_TRY(checkTag(fn, tag));
    if (peer == rank_)
      return self_.send(buf, count, dtype, tag);
    MPI_Request req;
    int rc;
    {
      MpiLock l;
      rc = MPI_Isend(buf, (int)count, mpiType(dtype), peer,
                     tag * kTagDtypes + dtype, comm_, &req);
    }
    DITC_TRY(begun(fn, "MPI_Isend", rc));
    return wait(fn, req, deadline, true);
  }

  ditc_rt_comm_status recv(void *buf, int64_t count, int32_t dtype,
                           int32_t peer, int32_t tag,
                           Deadline deadline) override {
    const char *fn = "recv";
    DITC_TRY(ready(fn, count));
    DITC_TRY(checkTag(fn, tag));
    if (peer == rank_)
      return self_.recv(buf, count, dtype, tag, deadline);
    // Probe first: a message of another size or dtype stays queued.
    Clock::time_point start = Clock::now();
    for (;;) {
      for (int32_t k = 0; k < kDtypes; ++k) {
        int32_t d = (dtype + k) % kDtypes; // this dtype first
        int found = 0, n = 0, rc;
        MPI_Status st;
        {
          MpiLock l;
          rc = MPI_Iprobe(peer, tag * kTagDtypes + d, comm_, &found, &st);
          if (rc == MPI_SUCCESS && found)
            rc = MPI_Get_count(&st, mpiType(d), &n);
        }
        if (rc != MPI_SUCCESS)
          return mpiFailure(fn, "MPI_Iprobe", rc, DITC_RT_COMM_ERROR_INTERNAL);
        if (!found)
          continue;
        if (d != dtype || n != count) {
          setError("%s: the message from rank %d with tag %d has %d elements "
                   "of dtype %d, not %lld of dtype %d",
                   fn, peer, tag, n, d, (long long)count, dtype);
          return DITC_RT_COMM_ERROR_ARGUMENT;
        }
        MPI_Request req;
        {
          MpiLock l;
          rc = MPI_Irecv(buf, (int)count, mpiType(dtype), peer,
                         tag * kTagDtypes + dtype, comm_, &req);
        }
        DITC_TRY(begun(fn, "MPI_Irecv", rc));
        return wait(fn, req, deadline, true);
      }
      if (Clock::now() >= deadline) {
        setError("%s: no message from rank %d with tag %d arrived within the "
                 "timeout (%.0f ms, rank %d of %d)",
                 fn, peer, tag, msSince(start), rank_, size_);
        return DITC_RT_COMM_ERROR_TIMEOUT;
      }
      pause(start);
    }
  }

  // Gathers every rank's (color, key) first, with a non-blocking all_gather
  // polled against the deadline: a missing rank gives TIMEOUT as any
  // collective does. MPI_Comm_split (blocking: MPI has no non-blocking form)
  // then runs once every rank has reached it.
  ditc_rt_comm_status split(int32_t color, int32_t key, Deadline deadline,
                            std::unique_ptr<Backend> &out) override {
    const char *fn = "split";
    DITC_TRY(ready(fn, 0));
    std::unique_ptr<unsigned char[]> all(
        new (std::nothrow) unsigned char[(size_t)size_ * 8]);
    if (!all) {
      setError("%s: cannot allocate %d bytes of scratch", fn, size_ * 8);
      return DITC_RT_COMM_ERROR_MEMORY;
    }
    int32_t mine[2] = {color, key};
    std::memcpy(all.get() + (size_t)rank_ * 8, mine, 8);
    MPI_Request req;
    int rc;
    {
      MpiLock l;
      rc = MPI_Iallgather(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, all.get(), 2,
                          MPI_INT32_T, comm_, &req);
    }
    DITC_TRY(begun(fn, "MPI_Iallgather", rc));
    DITC_TRY(wait(fn, req, deadline, false, &all));
    MPI_Comm sub = MPI_COMM_NULL;
    int rank = 0, size = 1;
    {
      MpiLock l;
      rc = MPI_Comm_split(comm_, color, key, &sub);
      if (rc == MPI_SUCCESS) {
        MPI_Comm_set_errhandler(sub, MPI_ERRORS_RETURN);
        MPI_Comm_rank(sub, &rank);
        MPI_Comm_size(sub, &size);
      }
    }
    if (rc != MPI_SUCCESS) {
      mpiFailure(fn, "MPI_Comm_split", rc, DITC_RT_COMM_ERROR_PEER);
      return fail(DITC_RT_COMM_ERROR_PEER);
    }
    out.reset(new (std::nothrow) MpiBackend(sub, rank, size));
    if (!out) {
      MpiLock l;
      MPI_Comm_free(&sub);
      setError("%s: cannot allocate the mpi communicator", fn);
      return DITC_RT_COMM_ERROR_MEMORY;
    }
    return DITC_RT_COMM_OK;
  }

  // MPI_Irecv (unless src is this rank: the LocalQueue, in the wait) and
  // MPI_Isend (to this rank: the LocalQueue, now).
  ditc_rt_comm_status sendrecvStart(const void *send, int64_t sendCount,
                                    int32_t dst, void *recv, int64_t recvCount,
                                    int32_t src, int32_t dtype, int32_t tag,
                                    std::unique_ptr<Request> &out) override {
    const char *fn = "sendrecv";
    DITC_TRY(ready(fn, std::max(sendCount, recvCount)));
    DITC_TRY(checkTag(fn, tag));
    std::unique_ptr<Exchange> ex(new (std::nothrow) Exchange(
        *this, recv, recvCount, dst, src, dtype, tag));
    if (!ex) {
      setError("%s: cannot allocate the request", fn);
      return DITC_RT_COMM_ERROR_MEMORY;
    }
    int mpiTag = tag * kTagDtypes + dtype;
    int rc;
    if (src != rank_) {
      {
        MpiLock l;
        rc = MPI_Irecv(recv, (int)recvCount, mpiType(dtype), src, mpiTag, comm_,
                       &ex->recvReq);
      }
      DITC_TRY(begun(fn, "MPI_Irecv", rc));
    }
    ditc_rt_comm_status s = DITC_RT_COMM_OK;
    if (dst == rank_) {
      s = self_.send(send, sendCount, dtype, tag);
    } else {
      {
        MpiLock l;
        rc = MPI_Isend(send, (int)sendCount, mpiType(dtype), dst, mpiTag, comm_,
                       &ex->sendReq);
      }
      s = begun(fn, "MPI_Isend", rc);
    }
    if (s != DITC_RT_COMM_OK) {
      std::string why = ditc_rt_comm_last_error();
      if (ex->recvReq != MPI_REQUEST_NULL && !cancel(ex->recvReq))
        park(ex->recvReq, nullptr); // matched, still arriving: never waited
      setError("%s", why.c_str());
      return s;
    }
    out = std::move(ex);
    return DITC_RT_COMM_OK;
  }

private:
  // A sendrecv under way: its MPI requests (MPI_REQUEST_NULL when done or
  // not needed) and, when src is this rank, what the LocalQueue receive
  // needs.
  class Exchange final : public Request {
  public:
    Exchange(MpiBackend &b, void *recv, int64_t recvCount, int32_t dst,
             int32_t src, int32_t dtype, int32_t tag)
        : b(b), recv(recv), recvCount(recvCount), dst(dst), src(src),
          dtype(dtype), tag(tag) {}
    ditc_rt_comm_status wait(Deadline deadline) override {
      return b.finish(*this, deadline);
    }

    MpiBackend &b;
    void *recv;
    int64_t recvCount;
    int32_t dst, src, dtype, tag;
    MPI_Request sendReq = MPI_REQUEST_NULL, recvReq = MPI_REQUEST_NULL;
  };

  // Cancels a point-to-point request: true once it is complete (cancelled,
  // or done after all), false when it is still pending after 100 ms.
  bool cancel(MPI_Request &req, bool *cancelled = nullptr,
              MPI_Status *status = nullptr) {
    {
      MpiLock l;
      MPI_Cancel(&req);
    }
    MPI_Status st;
    int rc;
    Poll p = poll(req, Clock::now() + std::chrono::milliseconds(100), &st, &rc);
    if (p == Poll::Expired)
      return false;
    int c = 0;
    if (p == Poll::Done) {
      MpiLock l;
      MPI_Test_cancelled(&st, &c);
    }
    if (cancelled)
      *cancelled = p == Poll::Failed || c;
    if (status)
      *status = st;
    req = MPI_REQUEST_NULL;
    return true;
  }

  // Leaves `req` pending for good (see wait below).
  void park(MPI_Request req, std::unique_ptr<unsigned char[]> *scratch) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (scratch && *scratch)
        scratch_.push_back(std::move(*scratch));
    }
    std::lock_guard<std::mutex> lock(pendingMu);
    pending.push_back(req);
  }

  // The received message must be the size asked for.
  ditc_rt_comm_status checkReceived(const char *fn, const Exchange &e,
                                    MPI_Status &st) {
    int n = 0;
    {
      MpiLock l;
      MPI_Get_count(&st, mpiType(e.dtype), &n);
    }
    if (n == e.recvCount)
      return DITC_RT_COMM_OK;
    setError("%s: the message from rank %d with tag %d has %d elements, not "
             "%lld",
             fn, e.src, e.tag, n, (long long)e.recvCount);
    return DITC_RT_COMM_ERROR_ARGUMENT;
  }

  // Polls both requests of `e` until they complete or `deadline` passes;
  // then the LocalQueue receive when src is this rank. The first failure
  // is the result; the other request is still completed (or cancelled).
  ditc_rt_comm_status finish(Exchange &e, Deadline deadline) {
    const char *fn = "sendrecv";
    ditc_rt_comm_status status = DITC_RT_COMM_OK;
    std::string why;
    auto note = [&](ditc_rt_comm_status s) {
      if (status == DITC_RT_COMM_OK && s != DITC_RT_COMM_OK) {
        status = s;
        why = ditc_rt_comm_last_error();
      }
    };
    Clock::time_point start = Clock::now();
    for (;;) {
      for (MPI_Request *req : {&e.sendReq, &e.recvReq}) {
        if (*req == MPI_REQUEST_NULL)
          continue;
        int done = 0, rc;
        MPI_Status st;
        {
          MpiLock l;
          rc = MPI_Test(req, &done, &st);
        }
        if (rc != MPI_SUCCESS) {
          *req = MPI_REQUEST_NULL;
          int cls = rc;
          MPI_Error_class(rc, &cls);
          if (cls == MPI_ERR_TRUNCATE)
            note(mpiFailure(fn, "receiving (a longer message?)", rc,
                            DITC_RT_COMM_ERROR_ARGUMENT));
          else
            note(mpiFailure(fn, req == &e.sendReq ? "sending" : "receiving", rc,
                            DITC_RT_COMM_ERROR_PEER));
        } else if (done && req == &e.recvReq) {
          note(checkReceived(fn, e, st));
        }
      }
      if (e.sendReq == MPI_REQUEST_NULL && e.recvReq == MPI_REQUEST_NULL)
        break;
      if (Clock::now() >= deadline) {
        double ms = msSince(start);
        bool timedOut = false, parked = false;
        if (e.recvReq != MPI_REQUEST_NULL) {
          bool cancelled = false;
          MPI_Status st;
          if (!cancel(e.recvReq, &cancelled, &st)) {
            park(e.recvReq, nullptr);
            parked = true;
          } else if (cancelled) {
            timedOut = true;
          } else {
            note(checkReceived(fn, e, st)); // arrived after all
          }
        }
        bool sendLate = false;
        if (e.sendReq != MPI_REQUEST_NULL) {
          bool cancelled = false;
          if (!cancel(e.sendReq, &cancelled)) {
            park(e.sendReq, nullptr);
            parked = sendLate = true;
          } else if (cancelled) {
            timedOut = sendLate = true;
          }
        }
        if (timedOut || parked) {
          char what[96];
          if (sendLate)
            std::snprintf(what, sizeof what, "rank %d did not take the message",
                          e.dst);
          else
            std::snprintf(what, sizeof what, "no message from rank %d arrived",
                          e.src);
          setError("%s: timed out after %.0f ms on rank %d of %d: %s (tag "
                   "%d)%s",
                   fn, ms, rank_, size_, what, e.tag,
                   parked ? "; the operation stays pending" : "");
          return parked ? fail(DITC_RT_COMM_ERROR_TIMEOUT)
                        : DITC_RT_COMM_ERROR_TIMEOUT;
        }
        break;
      }
      pause(start);
    }
    if (e.src == rank_ && status == DITC_RT_COMM_OK)
      note(self_.recv(e.recv, e.recvCount, e.dtype, e.tag, deadline));
    if (status != DITC_RT_COMM_OK)
      setError("%s", why.c_str());
    return status;
  }

  // OK, or the failure that left this communicator unusable.
  ditc_rt_comm_status ready(const char *fn, int64_t count) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (failed_ != DITC_RT_COMM_OK) {
        setError("%s: this communicator can only be destroyed: %s", fn,
                 failure_.c_str());
        return failed_;
      }
    }
    if (count > INT_MAX) {
      setError("%s: count %lld is more than one MPI call takes (%d elements)",
               fn, (long long)count, INT_MAX);
      return DITC_RT_COMM_ERROR_ARGUMENT;
    }
    return DITC_RT_COMM_OK;
  }

  ditc_rt_comm_status checkTag(const char *fn, int32_t tag) {
    if (tag <= maxTag)
      return DITC_RT_COMM_OK;
    setError("%s: tag %d is above the largest the mpi backend takes (%d)", fn,
             tag, maxTag);
    return DITC_RT_COMM_ERROR_ARGUMENT;
  }

  ditc_rt_comm_status mpiFailure(const char *fn, const char *call, int rc,
                                 ditc_rt_comm_status status) {
    int cls = rc;
    MPI_Error_class(rc, &cls);
    if (cls == MPI_ERR_NO_MEM)
      status = DITC_RT_COMM_ERROR_MEMORY;
    setError("%s: %s failed on rank %d of %d: %s", fn, call, rank_, size_,
             mpiMessage(rc).c_str());
    return status;
  }

  // After starting an operation: nothing was sent when MPI refused it.
  ditc_rt_comm_status begun(const char *fn, const char *call, int rc) {
    if (rc == MPI_SUCCESS)
      return DITC_RT_COMM_OK;
    return mpiFailure(fn, call, rc, DITC_RT_COMM_ERROR_INTERNAL);
  }

  // Marks the communicator unusable; the message is why.
  ditc_rt_comm_status fail(ditc_rt_comm_status status) {
    std::lock_guard<std::mutex> lock(mu_);
    if (failed_ == DITC_RT_COMM_OK) {
      failed_ = status;
      failure_ = ditc_rt_comm_last_error();
    }
    return status;
  }

  // Waits for `req` until `deadline`. A point-to-point request that expires
  // is cancelled if MPI can; one left pending makes the communicator
  // unusable and keeps *scratch (which it may still write) from being freed.
  ditc_rt_comm_status
  wait(const char *fn, MPI_Request &req, Deadline deadline, bool pointToPoint,
       std::unique_ptr<unsigned char[]> *scratch = nullptr) {
    Clock::time_point start = Clock::now();
    MPI_Status st;
    int rc;
    Poll p = poll(req, deadline, &st, &rc);
    if (p == Poll::Done)
      return DITC_RT_COMM_OK;
    if (p == Poll::Failed) {
      int cls = rc;
      MPI_Error_class(rc, &cls);
      if (cls == MPI_ERR_TRUNCATE) // a concurrent recv took the probed one
        return mpiFailure(fn, "receiving", rc, DITC_RT_COMM_ERROR_ARGUMENT);
      mpiFailure(fn, "the transfer", rc, DITC_RT_COMM_ERROR_PEER);
      return pointToPoint ? DITC_RT_COMM_ERROR_PEER
                          : fail(DITC_RT_COMM_ERROR_PEER);
    }
    double ms = msSince(start);
    if (pointToPoint) {
      {
        MpiLock l;
        MPI_Cancel(&req);
      }
      p = poll(req, Clock::now() + std::chrono::milliseconds(100), &st, &rc);
      int cancelled = 0;
      if (p == Poll::Done) {
        MpiLock l;
        MPI_Test_cancelled(&st, &cancelled);
      }
      if (p == Poll::Done && !cancelled)
        return DITC_RT_COMM_OK; // it completed after all
      if (p == Poll::Done) {
        setError("%s: timed out after %.0f ms on rank %d of %d (the peer did "
                 "not take part)",
                 fn, ms, rank_, size_);
        return DITC_RT_COMM_ERROR_TIMEOUT;
      }
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (scratch && *scratch)
        scratch_.push_back(std::move(*scratch));
    }
    {
      std::lock_guard<std::mutex> lock(pendingMu);
      pending.push_back(req);
    }
    setError("%s: timed out after %.0f ms on rank %d of %d (a peer did not "
             "take part, or died); the operation stays pending",
             fn, ms, rank_, size_);
    return fail(DITC_RT_COMM_ERROR_TIMEOUT);
  }

  MPI_Comm comm_;
  int32_t rank_, size_;
  LocalQueue self_;
  std::mutex mu_; // guards the members below
  ditc_rt_comm_status failed_ = DITC_RT_COMM_OK;
  std::string failure_;
  std::vector<std::unique_ptr<unsigned char[]>> scratch_;
};

} // namespace

ditc_rt_comm_status createMpiBackend(std::unique_ptr<Backend> &out) {
  DITC_TRY(startMpi());
  // MPI_Comm_idup is collective: every rank creates its communicators in the
  // same order. It waits as long as a new communicator's timeout.
  MPI_Comm comm = MPI_COMM_NULL;
  MPI_Request req;
  int rc;
  {
    MpiLock l;
    rc = MPI_Comm_idup(MPI_COMM_WORLD, &comm, &req);
  }
  if (rc != MPI_SUCCESS) {
    setError("create: MPI_Comm_idup failed: %s", mpiMessage(rc).c_str());
    return DITC_RT_COMM_ERROR_INTERNAL;
  }
  MPI_Status st;
  Poll p = poll(req,
                Clock::now() +
                    std::chrono::milliseconds(DITC_RT_COMM_DEFAULT_TIMEOUT_MS),
                &st, &rc);
  if (p == Poll::Expired) {
    setError("create: the other ranks did not create their mpi communicator "
             "within %d ms",
             DITC_RT_COMM_DEFAULT_TIMEOUT_MS);
    return DITC_RT_COMM_ERROR_TIMEOUT;
  }
  if (p == Poll::Failed) {
    setError("create: duplicating MPI_COMM_WORLD failed: %s",
             mpiMessage(rc).c_str());
    return DITC_RT_COMM_ERROR_PEER;
  }
  int rank = 0, size = 1;
  {
    MpiLock l;
    MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN);
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
  }
  out.reset(new (std::nothrow) MpiBackend(comm, rank, size));
  if (!out) {
    MpiLock l;
    MPI_Comm_free(&comm);
    setError("create: cannot allocate the mpi communicator");
    return DITC_RT_COMM_ERROR_MEMORY;
  }
  return DITC_RT_COMM_OK;
}

} // namespace ditc_rt::comm
