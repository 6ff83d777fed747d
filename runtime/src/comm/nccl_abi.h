//===- nccl_abi.h - The NCCL types and values the runtime uses ------------===//
//
// NCCL is loaded at run time (dlopen), never included: these are its
// documented types and enum values (nccl.h, 2.7 and later), for the "nccl"
// communicator (nccl.cpp, host buffers) and the GPU libraries' device
// collectives (runtime/cuda/device_comm.cpp).
//
//===----------------------------------------------------------------------===//
#ifndef DITC_RUNTIME_SRC_COMM_NCCL_ABI_H
#define DITC_RUNTIME_SRC_COMM_NCCL_ABI_H

#include "ditc/runtime/ditc_comm.h"
#include "ditc/runtime/ditc_kernels.h"

namespace ditc_rt::comm::nccl_abi {

struct ncclUniqueId {
  char internal[128];
};
using ncclComm_t = struct ncclComm *;
using ncclResult_t = int;
using ncclDataType_t = int;
using ncclRedOp_t = int;

constexpr ncclResult_t ncclSuccess = 0, ncclSystemError = 2, ncclRemoteError = 6,
                       ncclInProgress = 7;
constexpr ncclDataType_t ncclUint8 = 1, ncclInt32 = 2, ncclInt64 = 4, ncclFloat16 = 6,
                         ncclFloat32 = 7, ncclBfloat16 = 9;
constexpr ncclRedOp_t ncclSum = 0, ncclMax = 2;

/// The NCCL type that moves a DITC_RT_* dtype (bytes for any other).
inline ncclDataType_t ncclType(int32_t dtype) {
  switch (dtype) {
  case DITC_RT_F32:
    return ncclFloat32;
  case DITC_RT_I64:
    return ncclInt64;
  case DITC_RT_I32:
    return ncclInt32;
  case DITC_RT_F16:
    return ncclFloat16;
  case DITC_RT_BF16:
    return ncclBfloat16;
  default:
    return ncclUint8;
  }
}

/// The NCCL reduction of a DITC_RT_REDUCE_* op (SUM or MAX).
inline ncclRedOp_t ncclOp(int32_t op) { return op == DITC_RT_REDUCE_MAX ? ncclMax : ncclSum; }

} // namespace ditc_rt::comm::nccl_abi

#endif // DITC_RUNTIME_SRC_COMM_NCCL_ABI_H
