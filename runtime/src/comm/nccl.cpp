//===- nccl.cpp - The "nccl" communicator backend, loaded at run time ----===//
//
// NCCL and the CUDA runtime are not linked: the first use dlopen()s
// libnccl.so.2 (DITC_NCCL_LIBRARY overrides the path) and the CUDA runtime
// (libcudart.so.13, .12, then libcudart.so; DITC_CUDART_LIBRARY overrides)
// and resolves the few functions below, declared here with NCCL's and
// CUDA's documented types and values, so the runtime builds without either.
// A missing library or no device is DITC_RT_COMM_ERROR_UNAVAILABLE with a
// line naming what is missing; loading is retried on every create until it
// succeeds.
//
// Bootstrap over MPI: a communicator owns an "mpi" communicator of the same
// ranks (mpi.cpp; outside mpirun a singleton, world size 1). Its rank 0 gets
// an ncclUniqueId and broadcasts it (with a status word, so that a failure
// there reaches every rank) over MPI, against the deadline; then every rank
// selects its device (the local rank, OMPI_COMM_WORLD_LOCAL_RANK, modulo the
// device count), creates a non-blocking stream of its own and calls
// ncclCommInitRank (blocking in NCCL: every rank has reached it by then).
// split splits the MPI communicator and does the same per color. barrier is
// the MPI communicator's.
//
// Buffers are host memory (as for "mpi"): every operation stages through a
// device scratch buffer, grown and reused per communicator: H2D copies on
// the stream, the NCCL call on the stream, then cudaStreamQuery is polled
// (with ncclCommGetAsyncError) until the stream is idle or the deadline
// passes, then the D2H copy (the stream is idle, so a pageable copy cannot
// block on NCCL). A timeout calls ncclCommAbort; an asynchronous NCCL error
// aborts too (PEER for a remote or system error, else INTERNAL): the
// communicator can then only be destroyed, and its stream and scratch are
// never freed (cudaFree would wait for the aborted kernels).
//
// Point to point: NCCL has no tags. A message is a 16-byte header (count,
// dtype, tag) then the payload; messages to a peer are matched in the order
// they were sent, whatever their tags. A recv whose header names another
// count, dtype or tag is refused with ARGUMENT, and the message is consumed
// (unlike "mpi", where it stays queued). send blocks until the peer
// receives. Messages to this rank go through a LocalQueue, as in "mpi".
// sendrecv_start exchanges the headers; the wait moves the payloads.
//
// One operation at a time per communicator (send / recv included: a second
// thread waits for the first); a started sendrecv must be waited for before
// anything else is called on its communicator (ARGUMENT otherwise).
//
//===----------------------------------------------------------------------===//
#include "backend.h"
#include "nccl_abi.h"
#include "queue.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <mutex>
#include <new>
#include <string>
#include <thread>

namespace ditc_rt::comm {
namespace {

//===--- The NCCL and CUDA runtime declarations this file needs ----------===//

using namespace nccl_abi;
using cudaStream_t = struct CUstream_st *;
using cudaError_t = int;

constexpr cudaError_t cudaSuccess = 0, cudaErrorMemoryAllocation = 2,
                      cudaErrorNotReady = 600;
constexpr unsigned cudaStreamNonBlocking = 1;
constexpr int cudaMemcpyHostToDevice = 1, cudaMemcpyDeviceToHost = 2;

struct Api {
  ncclResult_t (*getVersion)(int *);
  ncclResult_t (*getUniqueId)(ncclUniqueId *);
  ncclResult_t (*commInitRank)(ncclComm_t *, int, ncclUniqueId, int);
  ncclResult_t (*commDestroy)(ncclComm_t);
  ncclResult_t (*commAbort)(ncclComm_t);
  const char *(*getErrorString)(ncclResult_t);
  ncclResult_t (*commGetAsyncError)(ncclComm_t, ncclResult_t *);
  ncclResult_t (*allReduce)(const void *, void *, size_t, ncclDataType_t,
                            ncclRedOp_t, ncclComm_t, cudaStream_t);
  ncclResult_t (*allGather)(const void *, void *, size_t, ncclDataType_t,
                            ncclComm_t, cudaStream_t);
  ncclResult_t (*reduceScatter)(const void *, void *, size_t, ncclDataType_t,
                                ncclRedOp_t, ncclComm_t, cudaStream_t);
  ncclResult_t (*broadcast)(const void *, void *, size_t, ncclDataType_t, int,
                            ncclComm_t, cudaStream_t);
  ncclResult_t (*send)(const void *, size_t, ncclDataType_t, int, ncclComm_t,
                       cudaStream_t);
  ncclResult_t (*recv)(void *, size_t, ncclDataType_t, int, ncclComm_t,
                       cudaStream_t);
  ncclResult_t (*groupStart)();
  ncclResult_t (*groupEnd)();

  cudaError_t (*getDeviceCount)(int *);
  cudaError_t (*setDevice)(int);
  cudaError_t (*streamCreateWithFlags)(cudaStream_t *, unsigned);
  cudaError_t (*streamDestroy)(cudaStream_t);
  cudaError_t (*streamQuery)(cudaStream_t);
  cudaError_t (*malloc)(void **, size_t);
  cudaError_t (*free)(void *);
  cudaError_t (*memcpyAsync)(void *, const void *, size_t, int, cudaStream_t);
  const char *(*cudaErrorString)(cudaError_t);
};

std::mutex apiMu;     // guards the three below
bool apiLoaded = false;
Api api;              // valid once apiLoaded
int apiDevices = 0;   // the device count, once apiLoaded

template <class F>
bool resolve(void *lib, const char *name, F &f, const char *libName,
             std::string &why) {
  f = reinterpret_cast<F>(dlsym(lib, name));
  if (f)
    return true;
  why = std::string("nccl: ") + libName + " has no " + name;
  return false;
}

// dlopen()s `env`'s path when it is set, else the first of `names`.
void *openLibrary(const char *env, std::initializer_list<const char *> names,
                  const char *what, std::string &why) {
  if (const char *path = std::getenv(env); path && *path) {
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      const char *e = dlerror();
      why = std::string("nccl: cannot load ") + env + "=" + path + ": " +
            (e ? e : "dlopen failed");
    }
    return h;
  }
  for (const char *n : names)
    if (void *h = dlopen(n, RTLD_NOW | RTLD_LOCAL))
      return h;
  why = std::string("nccl: ") + what + " not found (set " + env + ")";
  return nullptr;
}

// Loads both libraries (once they load, for good). False with `why` when a
// library or function is missing.
bool loadApi(std::string &why) {
  std::lock_guard<std::mutex> lock(apiMu);
  if (apiLoaded)
    return true;
  void *nccl = openLibrary("DITC_NCCL_LIBRARY", {"libnccl.so.2"},
                           "libnccl.so.2", why);
  if (!nccl)
    return false;
  void *cudart = openLibrary(
      "DITC_CUDART_LIBRARY",
      {"libcudart.so.13", "libcudart.so.12", "libcudart.so"},
      "the CUDA runtime (libcudart.so.13, libcudart.so.12, libcudart.so)", why);
  if (!cudart) {
    dlclose(nccl);
    return false;
  }
  Api a{};
  const char *n = "libnccl.so.2", *c = "libcudart";
  bool ok = resolve(nccl, "ncclGetVersion", a.getVersion, n, why) &&
            resolve(nccl, "ncclGetUniqueId", a.getUniqueId, n, why) &&
            resolve(nccl, "ncclCommInitRank", a.commInitRank, n, why) &&
            resolve(nccl, "ncclCommDestroy", a.commDestroy, n, why) &&
            resolve(nccl, "ncclCommAbort", a.commAbort, n, why) &&
            resolve(nccl, "ncclGetErrorString", a.getErrorString, n, why) &&
            resolve(nccl, "ncclCommGetAsyncError", a.commGetAsyncError, n,
                    why) &&
            resolve(nccl, "ncclAllReduce", a.allReduce, n, why) &&
            resolve(nccl, "ncclAllGather", a.allGather, n, why) &&
            resolve(nccl, "ncclReduceScatter", a.reduceScatter, n, why) &&
            resolve(nccl, "ncclBroadcast", a.broadcast, n, why) &&
            resolve(nccl, "ncclSend", a.send, n, why) &&
            resolve(nccl, "ncclRecv", a.recv, n, why) &&
            resolve(nccl, "ncclGroupStart", a.groupStart, n, why) &&
            resolve(nccl, "ncclGroupEnd", a.groupEnd, n, why) &&
            resolve(cudart, "cudaGetDeviceCount", a.getDeviceCount, c, why) &&
            resolve(cudart, "cudaSetDevice", a.setDevice, c, why) &&
            resolve(cudart, "cudaStreamCreateWithFlags",
                    a.streamCreateWithFlags, c, why) &&
            resolve(cudart, "cudaStreamDestroy", a.streamDestroy, c, why) &&
            resolve(cudart, "cudaStreamQuery", a.streamQuery, c, why) &&
            resolve(cudart, "cudaMalloc", a.malloc, c, why) &&
            resolve(cudart, "cudaFree", a.free, c, why) &&
            resolve(cudart, "cudaMemcpyAsync", a.memcpyAsync, c, why) &&
            resolve(cudart, "cudaGetErrorString", a.cudaErrorString, c, why);
  int version = 0;
  if (ok && (a.getVersion(&version) != ncclSuccess || version < 20700)) {
    why = "nccl: libnccl.so.2 is version " + std::to_string(version) +
          ", older than 2.7 (no ncclSend / ncclRecv)";
    ok = false;
  }
  int devices = 0;
  if (ok) {
    cudaError_t e = a.getDeviceCount(&devices);
    if (e != cudaSuccess || devices <= 0) {
      why = std::string("nccl: no CUDA device") +
            (e != cudaSuccess ? std::string(" (cudaGetDeviceCount: ") +
                                    a.cudaErrorString(e) + ")"
                              : std::string());
      ok = false;
    }
  }
  if (!ok) {
    dlclose(cudart);
    dlclose(nccl);
    return false;
  }
  api = a;
  apiDevices = devices;
  apiLoaded = true;
  return true;
}

size_t align256(size_t n) { return (n + 255) & ~size_t(255); }

// Between two polls: yield for the first second, then sleep 100 us.
void pause(Clock::time_point since) {
  if (Clock::now() - since < std::chrono::seconds(1))
    std::this_thread::yield();
  else
    std::this_thread::sleep_for(std::chrono::microseconds(100));
}

int32_t localRank() {
  for (const char *v : {"OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID",
                        "SLURM_LOCALID", "LOCAL_RANK"})
    if (const char *s = std::getenv(v))
      return std::atoi(s);
  return 0;
}

// A point-to-point message's header, sent before its payload.
struct Header {
  int64_t count;
  int32_t dtype;
  int32_t tag;
};
static_assert(sizeof(Header) == 16, "the header is 16 bytes");

//===--- The backend ------------------------------------------------------===//

class NcclBackend final : public Backend {
public:
  // Bootstraps an NCCL communicator of `mpi`'s ranks on `device`.
  static ditc_rt_comm_status make(const char *fn, std::unique_ptr<Backend> mpi,
                                  int device, Deadline deadline,
                                  std::unique_ptr<Backend> &out) {
    int32_t r = mpi->rank(), p = mpi->size();
    // Status word, then the id: a failure on rank 0 reaches every rank.
    unsigned char msg[4 + sizeof(ncclUniqueId)] = {};
    if (r == 0) {
      int32_t rc = api.setDevice(device);
      if (rc == cudaSuccess) {
        ncclUniqueId id;
        rc = api.getUniqueId(&id) == ncclSuccess ? 0 : 1;
        std::memcpy(msg + 4, &id, sizeof id);
      } else {
        rc = 1;
      }
      std::memcpy(msg, &rc, 4);
    }
    DITC_TRY(mpi->broadcast(msg, sizeof msg, DITC_RT_B8, 0, deadline));
    int32_t rc0;
    std::memcpy(&rc0, msg, 4);
    if (rc0 != 0) {
      setError("%s: rank 0 could not get an NCCL unique id", fn);
      return DITC_RT_COMM_ERROR_INTERNAL;
    }
    ncclUniqueId id;
    std::memcpy(&id, msg + 4, sizeof id);
    cudaError_t e = api.setDevice(device);
    if (e != cudaSuccess) {
      setError("%s: cudaSetDevice(%d) failed on rank %d of %d: %s", fn, device,
               r, p, api.cudaErrorString(e));
      return DITC_RT_COMM_ERROR_UNAVAILABLE;
    }
    cudaStream_t stream = nullptr;
    e = api.streamCreateWithFlags(&stream, cudaStreamNonBlocking);
    if (e != cudaSuccess) {
      setError("%s: cudaStreamCreateWithFlags failed on rank %d of %d: %s", fn,
               r, p, api.cudaErrorString(e));
      return DITC_RT_COMM_ERROR_INTERNAL;
    }
    ncclComm_t comm = nullptr;
    ncclResult_t n = api.commInitRank(&comm, p, id, r);
    if (n != ncclSuccess) {
      api.streamDestroy(stream);
      setError("%s: ncclCommInitRank failed on rank %d of %d (device %d): %s",
               fn, r, p, device, api.getErrorString(n));
      return n == ncclRemoteError || n == ncclSystemError
                 ? DITC_RT_COMM_ERROR_PEER
                 : DITC_RT_COMM_ERROR_INTERNAL;
    }
    out.reset(new (std::nothrow)
                  NcclBackend(std::move(mpi), device, comm, stream));
    if (!out) {
      api.commDestroy(comm);
      api.streamDestroy(stream);
      setError("%s: cannot allocate the nccl communicator", fn);
      return DITC_RT_COMM_ERROR_MEMORY;
    }
    return DITC_RT_COMM_OK;
  }

  ~NcclBackend() override {
    std::lock_guard<std::mutex> lock(mu_);
    api.setDevice(device_);
    // An abandoned sendrecv may still be in flight: abort rather than wait.
    if (!aborted_ && api.streamQuery(stream_) != cudaSuccess) {
      api.commAbort(comm_);
      aborted_ = true;
    }
    if (aborted_)
      return; // the stream and scratch may still be used: never freed
    api.commDestroy(comm_);
    api.streamDestroy(stream_);
    if (dev_)
      api.free(dev_);
  }

  const char *name() const override { return "nccl"; }
  int32_t rank() const override { return rank_; }
  int32_t size() const override { return size_; }

  ditc_rt_comm_status allReduce(const void *send, void *recv, int64_t count,
                                int32_t dtype, int32_t op,
                                Deadline deadline) override {
    const char *fn = "all_reduce";
    std::lock_guard<std::mutex> lock(mu_);
    DITC_TRY(ready(fn));
    size_t b = (size_t)(count * dtypeSize(dtype));
    DITC_TRY(scratch(fn, b));
    char *d = (char *)dev_;
    DITC_TRY(toDevice(fn, d, send, b));
    DITC_TRY(nccl(fn, "ncclAllReduce",
                  api.allReduce(d, d, (size_t)count, ncclType(dtype),
                                ncclOp(op),
                                comm_, stream_)));
    DITC_TRY(drain(fn, deadline));
    return toHost(fn, recv, d, b, deadline);
  }

  ditc_rt_comm_status allGather(const void *send, void *recv, int64_t count,
                                int32_t dtype, Deadline deadline) override {
    const char *fn = "all_gather";
    std::lock_guard<std::mutex> lock(mu_);
    DITC_TRY(ready(fn));
    size_t b = (size_t)(count * dtypeSize(dtype));
    DITC_TRY(scratch(fn, align256(b) + (size_t)size_ * b));
    char *in = (char *)dev_, *out = in + align256(b);
    DITC_TRY(toDevice(fn, in, send, b));
    DITC_TRY(nccl(fn, "ncclAllGather",
                  api.allGather(in, out, (size_t)count, ncclType(dtype), comm_,
                                stream_)));
    DITC_TRY(drain(fn, deadline));
    return toHost(fn, recv, out, (size_t)size_ * b, deadline);
  }

  ditc_rt_comm_status reduceScatter(const void *send, void *recv, int64_t count,
                                    int32_t dtype, int32_t op,
                                    Deadline deadline) override {
    const char *fn = "reduce_scatter";
    std::lock_guard<std::mutex> lock(mu_);
    DITC_TRY(ready(fn));
    size_t b = (size_t)(count * dtypeSize(dtype)), all = (size_t)size_ * b;
    DITC_TRY(scratch(fn, align256(all) + b));
    char *in = (char *)dev_, *out = in + align256(all);
    DITC_TRY(toDevice(fn, in, send, all));
    DITC_TRY(nccl(fn, "ncclReduceScatter",
                  api.reduceScatter(in, out, (size_t)count, ncclType(dtype),
                                    ncclOp(op),
                                    comm_, stream_)));
    DITC_TRY(drain(fn, deadline));
    return toHost(fn, recv, out, b, deadline);
  }

  ditc_rt_comm_status allToAll(const void *send, void *recv, int64_t count,
                               int32_t dtype, Deadline deadline) override {
    const char *fn = "all_to_all";
    std::lock_guard<std::mutex> lock(mu_);
    DITC_TRY(ready(fn));
    size_t b = (size_t)(count * dtypeSize(dtype)), all = (size_t)size_ * b;
    DITC_TRY(scratch(fn, align256(all) + all));
    char *in = (char *)dev_, *out = in + align256(all);
    DITC_TRY(toDevice(fn, in, send, all));
    DITC_TRY(nccl(fn, "ncclGroupStart", api.groupStart()));
    ncclResult_t rc = ncclSuccess;
    for (int32_t q = 0; q < size_ && rc == ncclSuccess; ++q) {
      rc = api.send(in + q * b, b, ncclUint8, q, comm_, stream_);
      if (rc == ncclSuccess)
        rc = api.recv(out + q * b, b, ncclUint8, q, comm_, stream_);
    }
    ncclResult_t end = api.groupEnd();
    DITC_TRY(nccl(fn, "ncclSend / ncclRecv", rc));
    DITC_TRY(nccl(fn, "ncclGroupEnd", end));
    DITC_TRY(drain(fn, deadline));
    return toHost(fn, recv, out, all, deadline);
  }

  ditc_rt_comm_status broadcast(void *buf, int64_t count, int32_t dtype,
                                int32_t root, Deadline deadline) override {
    const char *fn = "broadcast";
    std::lock_guard<std::mutex> lock(mu_);
    DITC_TRY(ready(fn));
    size_t b = (size_t)(count * dtypeSize(dtype));
    DITC_TRY(scratch(fn, b));
    char *d = (char *)dev_;
    if (rank_ == root)
      DITC_TRY(toDevice(fn, d, buf, b));
    DITC_TRY(nccl(fn, "ncclBroadcast",
                  api.broadcast(d, d, (size_t)count, ncclType(dtype), root,
                                comm_, stream_)));
    DITC_TRY(drain(fn, deadline));
    return rank_ == root ? DITC_RT_COMM_OK : toHost(fn, buf, d, b, deadline);
  }

  ditc_rt_comm_status barrier(Deadline deadline) override {
    std::lock_guard<std::mutex> lock(mu_);
    DITC_TRY(ready("barrier"));
    return mpi_->barrier(deadline);
  }

  ditc_rt_comm_status send(const void *buf, int64_t count, int32_t dtype,
                           int32_t peer, int32_t tag,
                           Deadline deadline) override {
    const char *fn = "send";
    std::lock_guard<std::mutex> lock(mu_);
    DITC_TRY(ready(fn));
    if (peer == rank_)
      return self_.send(buf, count, dtype, tag);
    size_t b = (size_t)(count * dtypeSize(dtype));
    DITC_TRY(scratch(fn, 256 + b));
    char *d = (char *)dev_;
    Header h{count, dtype, tag};
    DITC_TRY(toDevice(fn, d, &h, sizeof h));
    DITC_TRY(nccl(fn, "ncclSend",
                  api.send(d, sizeof h, ncclUint8, peer, comm_, stream_)));
    if (b > 0) {
      DITC_TRY(toDevice(fn, d + 256, buf, b));
      DITC_TRY(nccl(fn, "ncclSend",
                    api.send(d + 256, b, ncclUint8, peer, comm_, stream_)));
    }
    return drain(fn, deadline);
  }

  ditc_rt_comm_status recv(void *buf, int64_t count, int32_t dtype,
                           int32_t peer, int32_t tag,
                           Deadline deadline) override {
    const char *fn = "recv";
    std::lock_guard<std::mutex> lock(mu_);
    DITC_TRY(ready(fn));
    if (peer == rank_)
      return self_.recv(buf, count, dtype, tag, deadline);
    DITC_TRY(scratch(fn, 256));
    Header h;
    DITC_TRY(nccl(fn, "ncclRecv",
                  api.recv(dev_, sizeof h, ncclUint8, peer, comm_, stream_)));
    DITC_TRY(drain(fn, deadline));
    DITC_TRY(toHost(fn, &h, dev_, sizeof h, deadline));
    size_t got;
    DITC_TRY(payloadBytes(fn, h, peer, &got));
    if (got > 0) {
      DITC_TRY(scratch(fn, got));
      DITC_TRY(nccl(fn, "ncclRecv",
                    api.recv(dev_, got, ncclUint8, peer, comm_, stream_)));
      DITC_TRY(drain(fn, deadline));
    }
    DITC_TRY(matches(fn, h, count, dtype, tag, peer));
    return toHost(fn, buf, dev_, got, deadline);
  }

  ditc_rt_comm_status split(int32_t color, int32_t key, Deadline deadline,
                            std::unique_ptr<Backend> &out) override {
    const char *fn = "split";
    std::lock_guard<std::mutex> lock(mu_);
    DITC_TRY(ready(fn));
    std::unique_ptr<Backend> sub;
    DITC_TRY(mpi_->split(color, key, deadline, sub));
    return make(fn, std::move(sub), device_, deadline, out);
  }

  ditc_rt_comm_status sendrecvStart(const void *send, int64_t sendCount,
                                    int32_t dst, void *recv, int64_t recvCount,
                                    int32_t src, int32_t dtype, int32_t tag,
                                    std::unique_ptr<Request> &out) override {
    const char *fn = "sendrecv";
    std::lock_guard<std::mutex> lock(mu_);
    DITC_TRY(ready(fn));
    std::unique_ptr<Exchange> ex(new (std::nothrow) Exchange(
        *this, send, sendCount, dst, recv, recvCount, src, dtype, tag));
    if (!ex) {
      setError("%s: cannot allocate the request", fn);
      return DITC_RT_COMM_ERROR_MEMORY;
    }
    DITC_TRY(scratch(fn, 512));
    char *d = (char *)dev_;
    if (dst == rank_) {
      DITC_TRY(self_.send(send, sendCount, dtype, tag));
    } else {
      Header h{sendCount, dtype, tag};
      DITC_TRY(toDevice(fn, d, &h, sizeof h));
    }
    // Header phase: d holds the outgoing header, d + 256 the incoming one.
    if (dst != rank_ || src != rank_) {
      DITC_TRY(nccl(fn, "ncclGroupStart", api.groupStart()));
      ncclResult_t rc = ncclSuccess;
      if (dst != rank_)
        rc = api.send(d, sizeof(Header), ncclUint8, dst, comm_, stream_);
      if (rc == ncclSuccess && src != rank_)
        rc = api.recv(d + 256, sizeof(Header), ncclUint8, src, comm_, stream_);
      ncclResult_t end = api.groupEnd();
      DITC_TRY(nccl(fn, "ncclSend / ncclRecv", rc));
      DITC_TRY(nccl(fn, "ncclGroupEnd", end));
    }
    busy_ = true;
    ex->armed = true;
    out = std::move(ex);
    return DITC_RT_COMM_OK;
  }

private:
  class Exchange final : public Request {
  public:
    Exchange(NcclBackend &b, const void *send, int64_t sendCount, int32_t dst,
             void *recv, int64_t recvCount, int32_t src, int32_t dtype,
             int32_t tag)
        : b(b), send(send), recv(recv), sendCount(sendCount),
          recvCount(recvCount), dst(dst), src(src), dtype(dtype), tag(tag) {}
    ~Exchange() override {
      if (armed)
        b.abandon();
    }
    ditc_rt_comm_status wait(Deadline deadline) override {
      armed = false;
      return b.finish(*this, deadline);
    }

    NcclBackend &b;
    const void *send;
    void *recv;
    int64_t sendCount, recvCount;
    int32_t dst, src, dtype, tag;
    bool armed = false; // started and not waited for
  };

  NcclBackend(std::unique_ptr<Backend> mpi, int device, ncclComm_t comm,
              cudaStream_t stream)
      : mpi_(std::move(mpi)), rank_(mpi_->rank()), size_(mpi_->size()),
        device_(device), comm_(comm), stream_(stream), self_(rank_) {}

  // Payload phase of a sendrecv; then the self receive, if src is this rank.
  ditc_rt_comm_status finish(Exchange &e, Deadline deadline) {
    const char *fn = "sendrecv";
    std::lock_guard<std::mutex> lock(mu_);
    busy_ = false;
    DITC_TRY(ready(fn));
    DITC_TRY(drain(fn, deadline));
    Header h{0, e.dtype, e.tag};
    size_t got = 0;
    if (e.src != rank_) {
      DITC_TRY(toHost(fn, &h, (char *)dev_ + 256, sizeof h, deadline));
      DITC_TRY(payloadBytes(fn, h, e.src, &got));
    }
    size_t sent = e.dst != rank_ ? (size_t)(e.sendCount * dtypeSize(e.dtype))
                                 : 0;
    DITC_TRY(scratch(fn, align256(sent) + got));
    char *out = (char *)dev_, *in = out + align256(sent);
    if (sent > 0)
      DITC_TRY(toDevice(fn, out, e.send, sent));
    if (sent > 0 || got > 0) {
      DITC_TRY(nccl(fn, "ncclGroupStart", api.groupStart()));
      ncclResult_t rc = ncclSuccess;
      if (sent > 0)
        rc = api.send(out, sent, ncclUint8, e.dst, comm_, stream_);
      if (rc == ncclSuccess && got > 0)
        rc = api.recv(in, got, ncclUint8, e.src, comm_, stream_);
      ncclResult_t end = api.groupEnd();
      DITC_TRY(nccl(fn, "ncclSend / ncclRecv", rc));
      DITC_TRY(nccl(fn, "ncclGroupEnd", end));
      DITC_TRY(drain(fn, deadline));
    }
    if (e.src == rank_)
      return self_.recv(e.recv, e.recvCount, e.dtype, e.tag, deadline);
    DITC_TRY(matches(fn, h, e.recvCount, e.dtype, e.tag, e.src));
    return toHost(fn, e.recv, in, got, deadline);
  }

  // A sendrecv destroyed before its wait: the peers' payload phases would
  // no longer match, so the communicator can only be destroyed.
  void abandon() {
    std::lock_guard<std::mutex> lock(mu_);
    busy_ = false;
    if (failed_ == DITC_RT_COMM_OK) {
      failed_ = DITC_RT_COMM_ERROR_ARGUMENT;
      failure_ = "a sendrecv request was destroyed before its wait";
    }
  }

  // The payload size a received header announces.
  ditc_rt_comm_status payloadBytes(const char *fn, const Header &h,
                                   int32_t peer, size_t *bytes) {
    int64_t e = dtypeSize(h.dtype);
    if (e == 0 || h.count < 0) {
      setError("%s: a corrupt message header from rank %d", fn, peer);
      return fail(DITC_RT_COMM_ERROR_INTERNAL);
    }
    *bytes = (size_t)(h.count * e);
    return DITC_RT_COMM_OK;
  }

  // A received message (already consumed) must be what the receive asked.
  ditc_rt_comm_status matches(const char *fn, const Header &h, int64_t count,
                              int32_t dtype, int32_t tag, int32_t peer) {
    if (h.count == count && h.dtype == dtype && h.tag == tag)
      return DITC_RT_COMM_OK;
    setError("%s: the next message from rank %d has %lld elements of dtype %d "
             "with tag %d, not %lld of dtype %d with tag %d (nccl has no "
             "tags: messages from a peer are taken in order; this one is "
             "dropped)",
             fn, peer, (long long)h.count, h.dtype, h.tag, (long long)count,
             dtype, tag);
    return DITC_RT_COMM_ERROR_ARGUMENT;
  }

  // OK, or why the communicator is unusable; selects the device for this
  // thread. Called with mu_ held.
  ditc_rt_comm_status ready(const char *fn) {
    if (failed_ != DITC_RT_COMM_OK) {
      setError("%s: this communicator can only be destroyed: %s", fn,
               failure_.c_str());
      return failed_;
    }
    if (busy_) {
      setError("%s: a sendrecv is still under way on this nccl communicator "
               "(wait for it first)",
               fn);
      return DITC_RT_COMM_ERROR_ARGUMENT;
    }
    cudaError_t e = api.setDevice(device_);
    if (e != cudaSuccess) {
      setError("%s: cudaSetDevice(%d) failed: %s", fn, device_,
               api.cudaErrorString(e));
      return DITC_RT_COMM_ERROR_INTERNAL;
    }
    return DITC_RT_COMM_OK;
  }

  // Marks the communicator unusable; the last error is why.
  ditc_rt_comm_status fail(ditc_rt_comm_status status) {
    if (failed_ == DITC_RT_COMM_OK) {
      failed_ = status;
      failure_ = ditc_rt_comm_last_error();
    }
    return status;
  }

  // An NCCL call that enqueues: a failure leaves the peers out of step.
  ditc_rt_comm_status nccl(const char *fn, const char *call, ncclResult_t rc) {
    if (rc == ncclSuccess)
      return DITC_RT_COMM_OK;
    setError("%s: %s failed on rank %d of %d: %s", fn, call, rank_, size_,
             api.getErrorString(rc));
    return fail(DITC_RT_COMM_ERROR_INTERNAL);
  }

  ditc_rt_comm_status cuda(const char *fn, const char *call, cudaError_t e) {
    if (e == cudaSuccess)
      return DITC_RT_COMM_OK;
    setError("%s: %s failed on rank %d of %d: %s", fn, call, rank_, size_,
             api.cudaErrorString(e));
    return fail(DITC_RT_COMM_ERROR_INTERNAL);
  }

  // At least `bytes` of device scratch (the stream is idle here).
  ditc_rt_comm_status scratch(const char *fn, size_t bytes) {
    if (bytes <= devBytes_)
      return DITC_RT_COMM_OK;
    size_t want = std::max(bytes, devBytes_ * 2);
    if (dev_) {
      DITC_TRY(cuda(fn, "cudaFree", api.free(dev_)));
      dev_ = nullptr;
      devBytes_ = 0;
    }
    cudaError_t e = api.malloc(&dev_, want);
    if (e != cudaSuccess && want > bytes)
      e = api.malloc(&dev_, want = bytes);
    if (e == cudaErrorMemoryAllocation) {
      dev_ = nullptr;
      setError("%s: cannot allocate %zu bytes of device scratch", fn, bytes);
      return DITC_RT_COMM_ERROR_MEMORY;
    }
    DITC_TRY(cuda(fn, "cudaMalloc", e));
    devBytes_ = want;
    return DITC_RT_COMM_OK;
  }

  ditc_rt_comm_status toDevice(const char *fn, void *dst, const void *src,
                               size_t bytes) {
    if (bytes == 0)
      return DITC_RT_COMM_OK;
    return cuda(fn, "cudaMemcpyAsync (to the device)",
                api.memcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice,
                                stream_));
  }

  // The stream is idle: the copy is done when drain returns.
  ditc_rt_comm_status toHost(const char *fn, void *dst, const void *src,
                             size_t bytes, Deadline deadline) {
    if (bytes == 0)
      return DITC_RT_COMM_OK;
    DITC_TRY(cuda(fn, "cudaMemcpyAsync (to the host)",
                  api.memcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost,
                                  stream_)));
    return drain(fn, deadline);
  }

  // Polls the stream until it is idle, NCCL reports an error or `deadline`
  // passes (then the communicator is aborted).
  ditc_rt_comm_status drain(const char *fn, Deadline deadline) {
    Clock::time_point start = Clock::now();
    for (;;) {
      cudaError_t e = api.streamQuery(stream_);
      if (e == cudaSuccess)
        return DITC_RT_COMM_OK;
      if (e != cudaErrorNotReady)
        return cuda(fn, "the stream", e);
      ncclResult_t async = ncclSuccess;
      if (api.commGetAsyncError(comm_, &async) == ncclSuccess &&
          async != ncclSuccess && async != ncclInProgress) {
        api.commAbort(comm_);
        aborted_ = true;
        setError("%s: NCCL failed on rank %d of %d: %s", fn, rank_, size_,
                 api.getErrorString(async));
        return fail(async == ncclRemoteError || async == ncclSystemError
                        ? DITC_RT_COMM_ERROR_PEER
                        : DITC_RT_COMM_ERROR_INTERNAL);
      }
      if (Clock::now() >= deadline) {
        double ms =
            std::chrono::duration<double, std::milli>(Clock::now() - start)
                .count();
        api.commAbort(comm_);
        aborted_ = true;
        setError("%s: timed out after %.0f ms on rank %d of %d (a peer did not "
                 "take part, or died); the NCCL communicator was aborted",
                 fn, ms, rank_, size_);
        return fail(DITC_RT_COMM_ERROR_TIMEOUT);
      }
      pause(start);
    }
  }

  std::unique_ptr<Backend> mpi_; // the same ranks: bootstrap and barrier
  int32_t rank_, size_;
  int device_;
  ncclComm_t comm_;
  cudaStream_t stream_;
  LocalQueue self_;
  std::mutex mu_; // one operation at a time; guards everything below
  void *dev_ = nullptr;
  size_t devBytes_ = 0;
  bool busy_ = false;    // a sendrecv was started and not yet waited for
  bool aborted_ = false; // ncclCommAbort was called
  ditc_rt_comm_status failed_ = DITC_RT_COMM_OK;
  std::string failure_;
};

} // namespace

int32_t ncclBackendAvailable() {
  std::string why;
  return loadApi(why) ? 1 : 0;
}

ditc_rt_comm_status createNcclBackend(std::unique_ptr<Backend> &out) {
  std::string why;
  if (!loadApi(why)) {
    setError("%s", why.c_str());
    return DITC_RT_COMM_ERROR_UNAVAILABLE;
  }
  std::unique_ptr<Backend> mpi;
  DITC_TRY(createMpiBackend(mpi));
  int device = localRank() % apiDevices;
  return NcclBackend::make(
      "create", std::move(mpi), device,
      Clock::now() + std::chrono::milliseconds(DITC_RT_COMM_DEFAULT_TIMEOUT_MS),
      out);
}

} // namespace ditc_rt::comm
