//===- collective.cpp - Tensor collectives for generated code ------------===//
//
// The coll_* entry points of ditc_kernels.def on host memory: the
// algorithm of tensor_collectives.h with host scratch and host strided
// copies (ditc_rt_strided_copy, or, built with DITC_RT_COMM_HOST_COPY for
// the GPU libraries, which have no CPU kernels and stage device tensors
// through host memory in runtime/cuda/collectives.cpp, a plain loop).
// Scratch belongs to the calling thread and is kept for its next call.
//
//===----------------------------------------------------------------------===//
#include "tensor_collectives.h"

#include <cstring>
#include <memory>
#include <new>

using namespace ditc_rt::comm;

namespace {

/// A growable buffer per thread, kept between calls.
class Scratch {
public:
  /// At least `bytes` bytes, or null (error recorded) when they cannot be had.
  unsigned char *get(const char *fn, int64_t bytes) {
    if (bytes > capacity_) {
      data_.reset(new (std::nothrow) unsigned char[(size_t)bytes]);
      capacity_ = data_ ? bytes : 0;
      if (!data_) {
        setError("%s: cannot allocate %lld bytes of scratch", fn, (long long)bytes);
        return nullptr;
      }
    }
    return data_.get();
  }

private:
  std::unique_ptr<unsigned char[]> data_;
  int64_t capacity_ = 0;
};
thread_local Scratch scratchBuffers[2];

/// Host memory.
struct HostEnv {
  unsigned char *scratch(int which, const char *fn, int64_t bytes) {
    return scratchBuffers[which].get(fn, bytes);
  }

  void copy(int64_t elem, const void *src, int64_t srcOffset, const int64_t *srcStrides,
            void *dst, const int64_t *dstStrides, const int64_t *shape, int32_t rank) {
#ifdef DITC_RT_COMM_HOST_COPY
    int64_t count = 1;
    for (int32_t d = 0; d < rank; ++d)
      count *= shape[d];
    const char *s = static_cast<const char *>(src) + srcOffset * elem;
    char *t = static_cast<char *>(dst);
    int64_t index[8] = {0};
    for (int64_t n = 0; n < count; ++n) {
      int64_t from = 0, to = 0;
      for (int32_t d = 0; d < rank; ++d) {
        from += index[d] * srcStrides[d];
        to += index[d] * dstStrides[d];
      }
      std::memcpy(t + to * elem, s + from * elem, elem);
      for (int32_t d = rank - 1; d >= 0 && ++index[d] == shape[d]; --d)
        index[d] = 0;
    }
#else
    ditc_rt_strided_copy(elem, src, srcOffset, srcStrides, dst, dstStrides, shape, rank);
#endif
  }

  void copyBytes(void *dst, const void *src, int64_t bytes) { std::memmove(dst, src, bytes); }
};

} // namespace

extern "C" {

int32_t ditc_rt_coll_all_reduce(void *comm, const void *x, void *y, int64_t count,
                                int32_t dtype) {
  return tensor::allReduce(comm, x, y, count, dtype);
}

int32_t ditc_rt_coll_all_gather(void *comm, const void *x, void *y, int32_t dtype,
                                int32_t rank, const int64_t *shape, int32_t axis) {
  HostEnv env;
  return tensor::allGather(env, comm, x, y, dtype, rank, shape, axis);
}

int32_t ditc_rt_coll_reduce_scatter(void *comm, const void *x, void *y, int32_t dtype,
                                    int32_t rank, const int64_t *shape, int32_t axis) {
  HostEnv env;
  return tensor::reduceScatter(env, comm, x, y, dtype, rank, shape, axis);
}

int32_t ditc_rt_coll_all_to_all(void *comm, const void *x, void *y, int32_t dtype,
                                int32_t rank, const int64_t *shape, int32_t split_axis,
                                int32_t concat_axis) {
  HostEnv env;
  return tensor::allToAll(env, comm, x, y, dtype, rank, shape, split_axis, concat_axis);
}

int32_t ditc_rt_coll_slice(void *comm, const void *x, void *y, int32_t dtype, int32_t rank,
                           const int64_t *shape, int32_t axis) {
  HostEnv env;
  return tensor::slice(env, comm, x, y, dtype, rank, shape, axis);
}

int32_t ditc_rt_coll_send(void *comm, const void *x, int64_t count, int32_t dtype,
                          int32_t peer, int32_t tag) {
  return tensor::send(comm, x, count, dtype, peer, tag);
}

int32_t ditc_rt_coll_recv(void *comm, void *y, int64_t count, int32_t dtype, int32_t peer,
                          int32_t tag) {
  return tensor::recv(comm, y, count, dtype, peer, tag);
}

int32_t ditc_rt_coll_broadcast(void *comm, const void *x, void *y, int64_t count,
                               int32_t dtype, int32_t root) {
  HostEnv env;
  return tensor::broadcast(env, comm, x, y, count, dtype, root);
}

int32_t ditc_rt_coll_rank(void *comm) { return tensor::rankOf(comm); }

} // extern "C"
