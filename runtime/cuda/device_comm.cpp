//===- device_comm.cpp - Collectives on device buffers through NCCL ------===//
//
// device_comm.h on NCCL. libnccl.so.2 is not linked: the first use
// dlopen()s it (DITC_NCCL_LIBRARY overrides the path) and resolves the
// functions below, declared with NCCL's documented types and values, so the
// CUDA runtime builds without it (the CUDA runtime itself is linked).
//
// A communicator's NCCL communicator is made on the current GPU (the
// library's, DeviceMemory.cpp) at its first collective: rank 0 gets an
// ncclUniqueId and broadcasts it, with a status word, over the host
// communicator (not counted); every rank then calls ncclCommInitRank.
// Every operation is enqueued on the step's stream and returns: NCCL 2.9 or
// newer can be captured into a CUDA graph. all_to_all is one group of
// ncclSend / ncclRecv per peer. Point-to-point messages are matched in the
// order they were sent (NCCL has no tags).
//
//===----------------------------------------------------------------------===//

#include "device_comm.h"

#include "../src/comm/nccl_abi.h"

#include <cuda_runtime.h>

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <functional>
#include <mutex>
#include <new>

using ditc_rt::comm::fail;

namespace {

using namespace ditc_rt::comm::nccl_abi;

struct Nccl {
  ncclResult_t (*getVersion)(int *);
  ncclResult_t (*getUniqueId)(ncclUniqueId *);
  ncclResult_t (*commInitRank)(ncclComm_t *, int, ncclUniqueId, int);
  ncclResult_t (*commDestroy)(ncclComm_t);
  const char *(*getErrorString)(ncclResult_t);
  ncclResult_t (*allReduce)(const void *, void *, size_t, int, int, ncclComm_t, cudaStream_t);
  ncclResult_t (*allGather)(const void *, void *, size_t, int, ncclComm_t, cudaStream_t);
  ncclResult_t (*reduceScatter)(const void *, void *, size_t, int, int, ncclComm_t,
                                cudaStream_t);
  ncclResult_t (*broadcast)(const void *, void *, size_t, int, int, ncclComm_t,
                            cudaStream_t);
  ncclResult_t (*send)(const void *, size_t, int, int, ncclComm_t, cudaStream_t);
  ncclResult_t (*recv)(void *, size_t, int, int, ncclComm_t, cudaStream_t);
  ncclResult_t (*groupStart)();
  ncclResult_t (*groupEnd)();
};

std::mutex g_mu;
bool g_loaded = false;
Nccl g_nccl;

/// Loads libnccl.so.2 once it can (a failure is retried at the next call).
bool load(std::string &why) {
  std::lock_guard<std::mutex> lock(g_mu);
  if (g_loaded)
    return true;
  const char *env = std::getenv("DITC_NCCL_LIBRARY");
  const char *path = env && *env ? env : "libnccl.so.2";
  void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char *e = dlerror();
    why = std::string("cannot load ") + path + " (" + (e ? e : "dlopen failed") +
          "; DITC_NCCL_LIBRARY names it)";
    return false;
  }
  Nccl n{};
  struct Symbol {
    const char *name;
    void **slot;
  } symbols[] = {
      {"ncclGetVersion", (void **)&n.getVersion},
      {"ncclGetUniqueId", (void **)&n.getUniqueId},
      {"ncclCommInitRank", (void **)&n.commInitRank},
      {"ncclCommDestroy", (void **)&n.commDestroy},
      {"ncclGetErrorString", (void **)&n.getErrorString},
      {"ncclAllReduce", (void **)&n.allReduce},
      {"ncclAllGather", (void **)&n.allGather},
      {"ncclReduceScatter", (void **)&n.reduceScatter},
      {"ncclBroadcast", (void **)&n.broadcast},
      {"ncclSend", (void **)&n.send},
      {"ncclRecv", (void **)&n.recv},
      {"ncclGroupStart", (void **)&n.groupStart},
      {"ncclGroupEnd", (void **)&n.groupEnd},
  };
  for (const Symbol &s : symbols)
    if (!(*s.slot = dlsym(lib, s.name))) {
      why = std::string(path) + " has no " + s.name;
      dlclose(lib);
      return false;
    }
  int version = 0;
  if (n.getVersion(&version) != ncclSuccess || version < 20906) {
    why = std::string(path) + " is NCCL " + std::to_string(version) +
          ", older than 2.9.6 (CUDA graph capture)";
    dlclose(lib);
    return false;
  }
  g_nccl = n;
  g_loaded = true;
  return true;
}

class NcclOps final : public ditc_rt::comm::DeviceOps {
public:
  NcclOps(ncclComm_t comm, int32_t rank, int32_t size) : comm_(comm), rank_(rank), size_(size) {}
  ~NcclOps() override { g_nccl.commDestroy(comm_); }

  const char *name() const override { return "nccl"; }

  ditc_rt_comm_status allReduce(const void *send, void *recv, int64_t count, int32_t dtype,
                                int32_t op, void *stream) override {
    return check("all_reduce", g_nccl.allReduce(send, recv, (size_t)count, ncclType(dtype),
                                                ncclOp(op),
                                                comm_, cuda(stream)));
  }
  ditc_rt_comm_status allGather(const void *send, void *recv, int64_t count, int32_t dtype,
                                void *stream) override {
    return check("all_gather", g_nccl.allGather(send, recv, (size_t)count, ncclType(dtype),
                                                comm_, cuda(stream)));
  }
  ditc_rt_comm_status reduceScatter(const void *send, void *recv, int64_t count,
                                    int32_t dtype, int32_t op, void *stream) override {
    return check("reduce_scatter",
                 g_nccl.reduceScatter(send, recv, (size_t)count, ncclType(dtype),
                                      ncclOp(op), comm_,
                                      cuda(stream)));
  }
  ditc_rt_comm_status allToAll(const void *send, void *recv, int64_t count, int32_t dtype,
                               void *stream) override {
    size_t bytes = (size_t)(count * ditc_rt::comm::dtypeSize(dtype));
    ncclResult_t r = g_nccl.groupStart();
    for (int32_t peer = 0; peer < size_ && r == ncclSuccess; ++peer) {
      r = g_nccl.send(static_cast<const char *>(send) + peer * bytes, (size_t)count,
                      ncclType(dtype), peer, comm_, cuda(stream));
      if (r == ncclSuccess)
        r = g_nccl.recv(static_cast<char *>(recv) + peer * bytes, (size_t)count,
                        ncclType(dtype), peer, comm_, cuda(stream));
    }
    ncclResult_t end = g_nccl.groupEnd();
    return check("all_to_all", r != ncclSuccess ? r : end);
  }
  ditc_rt_comm_status broadcast(void *buf, int64_t count, int32_t dtype, int32_t root,
                                void *stream) override {
    return check("broadcast", g_nccl.broadcast(buf, buf, (size_t)count, ncclType(dtype), root,
                                               comm_, cuda(stream)));
  }
  ditc_rt_comm_status send(const void *buf, int64_t count, int32_t dtype, int32_t peer,
                           int32_t, void *stream) override {
    return check("send", g_nccl.send(buf, (size_t)count, ncclType(dtype), peer, comm_,
                                     cuda(stream)));
  }
  ditc_rt_comm_status recv(void *buf, int64_t count, int32_t dtype, int32_t peer, int32_t,
                           void *stream) override {
    return check("recv", g_nccl.recv(buf, (size_t)count, ncclType(dtype), peer, comm_,
                                     cuda(stream)));
  }

  ditc_rt_comm_status sendRecv(const void *send, int64_t sendCount, int32_t dst, void *recv,
                               int64_t recvCount, int32_t src, int32_t dtype, int32_t,
                               void *stream) override {
    ncclResult_t r = g_nccl.groupStart();
    if (r == ncclSuccess && sendCount > 0)
      r = g_nccl.send(send, (size_t)sendCount, ncclType(dtype), dst, comm_, cuda(stream));
    if (r == ncclSuccess && recvCount > 0)
      r = g_nccl.recv(recv, (size_t)recvCount, ncclType(dtype), src, comm_, cuda(stream));
    ncclResult_t end = g_nccl.groupEnd();
    return check("sendrecv", r != ncclSuccess ? r : end);
  }

private:
  static cudaStream_t cuda(void *s) { return static_cast<cudaStream_t>(s); }
  ditc_rt_comm_status check(const char *fn, ncclResult_t r) const {
    if (r == ncclSuccess)
      return DITC_RT_COMM_OK;
    return fail(DITC_RT_COMM_ERROR_INTERNAL, "%s: NCCL failed on rank %d of %d: %s", fn,
                rank_, size_, g_nccl.getErrorString(r));
  }

  ncclComm_t comm_;
  int32_t rank_, size_;
};

} // namespace

namespace ditc_cu {

bool deviceCollectivesPossible(std::string &why) {
  if (!load(why))
    return false;
  int device = -1;
  if (cudaError_t e = cudaGetDevice(&device); e != cudaSuccess) {
    why = std::string("no GPU: ") + cudaGetErrorString(e);
    return false;
  }
  return true;
}

int64_t deviceKey(ditc_rt_comm *) {
  char host[256] = {0}, bus[64] = {0};
  gethostname(host, sizeof host - 1);
  int device = 0;
  cudaGetDevice(&device);
  cudaDeviceGetPCIBusId(bus, sizeof bus, device);
  std::string key = std::string(host) + "/" + bus;
  return (int64_t)(std::hash<std::string>()(key) & 0x7fffffffffffffffull);
}

ditc_rt_comm_status makeDeviceOps(ditc_rt_comm *host,
                                  std::unique_ptr<ditc_rt::comm::DeviceOps> &out) {
  std::string why;
  if (!load(why))
    return fail(DITC_RT_COMM_ERROR_UNAVAILABLE, "nccl: %s", why.c_str());
  int32_t rank = 0, size = 1;
  ditc_rt_comm_rank(host, &rank);
  ditc_rt_comm_size(host, &size);
  // Status word, then the id: a failure on rank 0 reaches every rank.
  unsigned char msg[4 + sizeof(ncclUniqueId)] = {};
  if (rank == 0) {
    ncclUniqueId id;
    int32_t rc = g_nccl.getUniqueId(&id) == ncclSuccess ? 0 : 1;
    std::memcpy(msg, &rc, 4);
    std::memcpy(msg + 4, &id, sizeof id);
  }
  DITC_TRY(ditc_rt::comm::backendOf(host).broadcast(msg, sizeof msg, DITC_RT_B8, 0,
                                                     ditc_rt::comm::deadlineFor(host)));
  int32_t rc0;
  std::memcpy(&rc0, msg, 4);
  if (rc0 != 0)
    return fail(DITC_RT_COMM_ERROR_INTERNAL, "nccl: rank 0 could not get an NCCL unique id");
  ncclUniqueId id;
  std::memcpy(&id, msg + 4, sizeof id);
  ncclComm_t comm = nullptr;
  if (ncclResult_t r = g_nccl.commInitRank(&comm, size, id, rank); r != ncclSuccess)
    return fail(DITC_RT_COMM_ERROR_INTERNAL, "nccl: ncclCommInitRank failed on rank %d of %d: %s",
                rank, size, g_nccl.getErrorString(r));
  out.reset(new (std::nothrow) NcclOps(comm, rank, size));
  if (!out) {
    g_nccl.commDestroy(comm);
    return fail(DITC_RT_COMM_ERROR_MEMORY, "nccl: cannot allocate the device communicator");
  }
  return DITC_RT_COMM_OK;
}

} // namespace ditc_cu
