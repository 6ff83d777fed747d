//===- tensor_collectives.h - Tensor collectives over buffer ones --------===//
//
// The coll_* entry points of ditc_kernels.def (what a partitioned model's
// generated code calls) as templates over where the tensors are: host
// memory (collective.cpp, the CPU libraries and the GPU libraries' staged
// path) or device memory, the buffer operations enqueued on the step's
// stream (runtime/cuda/collectives.cpp). One algorithm for both, built on
// ditc_comm.h's buffer collectives, which count the bytes.
//
// Along an axis, a tensor of `shape` is viewed as [outer, len, inner]
// (outer = product of the dims before the axis, inner of those after);
// cutting it into P blocks along the axis gives [outer, P, len/P * inner].
// A block is contiguous only when outer == 1; otherwise it is packed into
// (or unpacked from) block-major scratch [P, outer, len/P * inner] with the
// environment's strided copy.
//
// Data-movement collectives take any dtype by its element size (moved as
// B8 / F16 / I32 / I64, whichever has that size); all_reduce and
// reduce_scatter add, so they take the dtypes the communicator reduces.
//
// An environment `Env` provides:
//   unsigned char *scratch(int which, const char *fn, int64_t bytes);
//       a buffer kept between calls (which: 0 for sends, 1 for receives),
//       or null with the error recorded;
//   void copy(int64_t elem, const void *src, int64_t srcOffset,
//             const int64_t *srcStrides, void *dst,
//             const int64_t *dstStrides, const int64_t *shape, int32_t rank);
//       ditc_rt_strided_copy's contract;
//   void copyBytes(void *dst, const void *src, int64_t bytes).
//
//===----------------------------------------------------------------------===//
#ifndef DITC_RUNTIME_SRC_COMM_TENSOR_COLLECTIVES_H
#define DITC_RUNTIME_SRC_COMM_TENSOR_COLLECTIVES_H

#include "backend.h"

#include <initializer_list>
#include <limits>

namespace ditc_rt::comm::tensor {

/// The communicator dtype that moves elements of `bytes` bytes.
inline int32_t movedAs(int64_t bytes) {
  switch (bytes) {
  case 1:
    return DITC_RT_B8;
  case 2:
    return DITC_RT_F16;
  case 4:
    return DITC_RT_I32;
  default:
    return DITC_RT_I64;
  }
}

inline bool reducible(int32_t dtype) {
  return dtype == DITC_RT_F32 || dtype == DITC_RT_I64 || dtype == DITC_RT_I32 ||
         dtype == DITC_RT_F16 || dtype == DITC_RT_BF16;
}

/// One tensor argument, checked, and its communicator.
struct Tensor {
  ditc_rt_comm *comm = nullptr;
  int32_t size = 1, rank = 0; // P and r of the communicator
  int64_t elem = 0;           // bytes per element
  int64_t count = 0;          // elements
  const int64_t *shape = nullptr;
  int32_t dims = 0;

  /// The product of the dims in [begin, end).
  int64_t product(int32_t begin, int32_t end) const {
    int64_t n = 1;
    for (int32_t i = begin; i < end; ++i)
      n *= shape[i];
    return n;
  }
};

/// Checks what every tensor collective takes; `axes` are checked in range.
inline ditc_rt_comm_status check(const char *fn, void *comm, const void *x,
                                 const void *y, int32_t dtype, int32_t rank,
                                 const int64_t *shape,
                                 std::initializer_list<int32_t> axes,
                                 Tensor &t) {
  if (!comm)
    return fail(DITC_RT_COMM_ERROR_ARGUMENT, "%s: the communicator is null", fn);
  t.comm = static_cast<ditc_rt_comm *>(comm);
  ditc_rt_comm_size(t.comm, &t.size);
  ditc_rt_comm_rank(t.comm, &t.rank);
  t.elem = ditc_rt_dtype_bytes(dtype);
  if (t.elem == 0)
    return fail(DITC_RT_COMM_ERROR_ARGUMENT, "%s: unknown dtype %d", fn, dtype);
  if (rank < 1 || rank > DITC_RT_MAX_RANK)
    return fail(DITC_RT_COMM_ERROR_ARGUMENT, "%s: tensor rank %d is not in 1..%d", fn,
                rank, DITC_RT_MAX_RANK);
  if (!shape)
    return fail(DITC_RT_COMM_ERROR_ARGUMENT, "%s: the shape is null", fn);
  t.shape = shape;
  t.dims = rank;
  // Every buffer holds at most P * count elements: keep that in range.
  int64_t limit = std::numeric_limits<int64_t>::max() / t.elem / t.size;
  t.count = 1;
  for (int32_t i = 0; i < rank; ++i) {
    if (shape[i] < 0)
      return fail(DITC_RT_COMM_ERROR_ARGUMENT, "%s: dim %d is negative (%lld)", fn, i,
                  (long long)shape[i]);
    if (shape[i] > 0 && t.count > limit / shape[i])
      return fail(DITC_RT_COMM_ERROR_ARGUMENT, "%s: the tensor is too large (bytes overflow)",
                  fn);
    t.count *= shape[i];
  }
  for (int32_t axis : axes)
    if (axis < 0 || axis >= rank)
      return fail(DITC_RT_COMM_ERROR_ARGUMENT, "%s: axis %d is not in 0..%d", fn, axis,
                  rank - 1);
  if (t.count > 0 && (!x || !y))
    return fail(DITC_RT_COMM_ERROR_ARGUMENT, "%s: %s is null", fn, !x ? "x" : "y");
  return DITC_RT_COMM_OK;
}

/// shape[axis] must cut into P equal blocks.
inline ditc_rt_comm_status checkDivisible(const char *fn, const Tensor &t, int32_t axis) {
  if (t.shape[axis] % t.size == 0)
    return DITC_RT_COMM_OK;
  return fail(DITC_RT_COMM_ERROR_ARGUMENT, "%s: dim %d (%lld) does not cut into %d equal blocks",
              fn, axis, (long long)t.shape[axis], t.size);
}

/// Between [outer, P, run] (blocks interleaved, as in the tensor) and
/// [P, outer, run] (block-major, as the communicator wants): `toBlocks`
/// packs, otherwise unpacks. Elements of `elem` bytes.
template <class Env>
void moveBlocks(Env &env, int64_t elem, const void *src, void *dst, int64_t p,
                int64_t outer, int64_t run, bool toBlocks) {
  const int64_t shape[3] = {p, outer, run};
  const int64_t blockMajor[3] = {outer * run, run, 1};
  const int64_t interleaved[3] = {run, p * run, 1};
  env.copy(elem, src, 0, toBlocks ? interleaved : blockMajor, dst,
           toBlocks ? blockMajor : interleaved, shape, 3);
}

inline int32_t allReduce(void *comm, const void *x, void *y, int64_t count, int32_t dtype) {
  if (!comm)
    return fail(DITC_RT_COMM_ERROR_ARGUMENT, "coll_all_reduce: the communicator is null");
  return ditc_rt_comm_all_reduce(static_cast<ditc_rt_comm *>(comm), x, y, count, dtype,
                                 DITC_RT_REDUCE_SUM);
}

template <class Env>
int32_t allGather(Env &env, void *comm, const void *x, void *y, int32_t dtype, int32_t rank,
                  const int64_t *shape, int32_t axis) {
  const char *fn = "coll_all_gather";
  Tensor t;
  DITC_TRY(check(fn, comm, x, y, dtype, rank, shape, {axis}, t));
  int64_t outer = t.product(0, axis);
  int32_t d = movedAs(t.elem);
  if (outer == 1 || t.count == 0) // y is [P, x]
    return ditc_rt_comm_all_gather(t.comm, x, y, t.count, d);
  unsigned char *all = env.scratch(1, fn, t.size * t.count * t.elem);
  if (!all)
    return DITC_RT_COMM_ERROR_MEMORY;
  DITC_TRY(ditc_rt_comm_all_gather(t.comm, x, all, t.count, d));
  moveBlocks(env, t.elem, all, y, t.size, outer, t.count / outer, false);
  return DITC_RT_COMM_OK;
}

template <class Env>
int32_t reduceScatter(Env &env, void *comm, const void *x, void *y, int32_t dtype,
                      int32_t rank, const int64_t *shape, int32_t axis) {
  const char *fn = "coll_reduce_scatter";
  Tensor t;
  DITC_TRY(check(fn, comm, x, y, dtype, rank, shape, {axis}, t));
  DITC_TRY(checkDivisible(fn, t, axis));
  if (!reducible(dtype))
    return fail(DITC_RT_COMM_ERROR_ARGUMENT,
                "%s: dtype %d is not one the communicator adds (F32 I64 I32 F16 BF16)", fn,
                dtype);
  int64_t outer = t.product(0, axis);
  int64_t block = t.count / t.size; // y's elements
  if (outer == 1 || t.count == 0)   // x is [P, y]
    return ditc_rt_comm_reduce_scatter(t.comm, x, y, block, dtype, DITC_RT_REDUCE_SUM);
  unsigned char *blocks = env.scratch(0, fn, t.count * t.elem);
  if (!blocks)
    return DITC_RT_COMM_ERROR_MEMORY;
  moveBlocks(env, t.elem, x, blocks, t.size, outer, block / outer, true);
  return ditc_rt_comm_reduce_scatter(t.comm, blocks, y, block, dtype, DITC_RT_REDUCE_SUM);
}

template <class Env>
int32_t allToAll(Env &env, void *comm, const void *x, void *y, int32_t dtype, int32_t rank,
                 const int64_t *shape, int32_t split_axis, int32_t concat_axis) {
  const char *fn = "coll_all_to_all";
  Tensor t;
  DITC_TRY(check(fn, comm, x, y, dtype, rank, shape, {split_axis, concat_axis}, t));
  if (split_axis == concat_axis)
    return fail(DITC_RT_COMM_ERROR_ARGUMENT, "%s: split and concat axis are both %d", fn,
                split_axis);
  DITC_TRY(checkDivisible(fn, t, split_axis));
  int64_t p = t.size, block = t.count / p;
  // Sent: x's blocks along split_axis, each in the block's row-major layout.
  int64_t sendOuter = t.product(0, split_axis);
  // Received: blocks of the same shape, to concatenate along concat_axis,
  // where y is [outer, P, run] with outer the product of the block's dims
  // before concat_axis (split_axis's among them at its cut size).
  int64_t recvOuter = t.product(0, concat_axis);
  if (split_axis < concat_axis)
    recvOuter /= p;
  int32_t d = movedAs(t.elem);
  bool packSend = sendOuter > 1 && t.count > 0;
  bool unpackRecv = recvOuter > 1 && t.count > 0;
  const void *send = x;
  void *recv = y;
  if (packSend) {
    unsigned char *s = env.scratch(0, fn, t.count * t.elem);
    if (!s)
      return DITC_RT_COMM_ERROR_MEMORY;
    moveBlocks(env, t.elem, x, s, p, sendOuter, block / sendOuter, true);
    send = s;
  }
  if (unpackRecv) {
    recv = env.scratch(1, fn, t.count * t.elem);
    if (!recv)
      return DITC_RT_COMM_ERROR_MEMORY;
  }
  DITC_TRY(ditc_rt_comm_all_to_all(t.comm, send, recv, block, d));
  if (unpackRecv)
    moveBlocks(env, t.elem, recv, y, p, recvOuter, block / recvOuter, false);
  return DITC_RT_COMM_OK;
}

/// This rank's block along `axis`: a copy, no message.
template <class Env>
int32_t slice(Env &env, void *comm, const void *x, void *y, int32_t dtype, int32_t rank,
              const int64_t *shape, int32_t axis) {
  const char *fn = "coll_slice";
  Tensor t;
  DITC_TRY(check(fn, comm, x, y, dtype, rank, shape, {axis}, t));
  DITC_TRY(checkDivisible(fn, t, axis));
  if (t.count == 0)
    return DITC_RT_COMM_OK;
  int64_t outer = t.product(0, axis);
  int64_t run = t.count / outer / t.size; // one block's row
  const int64_t dims[2] = {outer, run};
  const int64_t src[2] = {t.size * run, 1};
  const int64_t dst[2] = {run, 1};
  env.copy(t.elem, x, t.rank * run, src, y, dst, dims, 2);
  return DITC_RT_COMM_OK;
}

inline int32_t send(void *comm, const void *x, int64_t count, int32_t dtype, int32_t peer,
                    int32_t tag) {
  int64_t e = ditc_rt_dtype_bytes(dtype);
  if (!comm || e == 0)
    return fail(DITC_RT_COMM_ERROR_ARGUMENT, "coll_send: %s",
                !comm ? "the communicator is null" : "unknown dtype");
  return ditc_rt_comm_send(static_cast<ditc_rt_comm *>(comm), x, count, movedAs(e), peer, tag);
}

inline int32_t recv(void *comm, void *y, int64_t count, int32_t dtype, int32_t peer,
                    int32_t tag) {
  int64_t e = ditc_rt_dtype_bytes(dtype);
  if (!comm || e == 0)
    return fail(DITC_RT_COMM_ERROR_ARGUMENT, "coll_recv: %s",
                !comm ? "the communicator is null" : "unknown dtype");
  return ditc_rt_comm_recv(static_cast<ditc_rt_comm *>(comm), y, count, movedAs(e), peer, tag);
}

template <class Env>
int32_t broadcast(Env &env, void *comm, const void *x, void *y, int64_t count, int32_t dtype,
                  int32_t root) {
  int64_t e = ditc_rt_dtype_bytes(dtype);
  auto *c = static_cast<ditc_rt_comm *>(comm);
  int32_t rank = -1;
  if (!c || e == 0 || count < 0 || ditc_rt_comm_rank(c, &rank) != DITC_RT_COMM_OK)
    return fail(DITC_RT_COMM_ERROR_ARGUMENT, "coll_broadcast: %s",
                !c ? "the communicator is null" : "unknown dtype or bad count");
  if (rank == root && x != y && count > 0)
    env.copyBytes(y, x, count * e);
  return ditc_rt_comm_broadcast(c, y, count, movedAs(e), root);
}

inline int32_t rankOf(void *comm) {
  int32_t rank = -1;
  if (!comm || ditc_rt_comm_rank(static_cast<ditc_rt_comm *>(comm), &rank) != DITC_RT_COMM_OK)
    return -1;
  return rank;
}

} // namespace ditc_rt::comm::tensor

#endif // DITC_RUNTIME_SRC_COMM_TENSOR_COLLECTIVES_H
