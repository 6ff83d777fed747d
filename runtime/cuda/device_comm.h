//===- device_comm.h - Collectives on device buffers (NCCL) --------------===//
//
// What runtime/cuda/collectives.cpp needs to move a GPU library's tensors
// device to device: whether this rank can, a key that tells GPUs apart, and
// the DeviceOps (src/comm/backend.h) of a communicator's ranks.
// device_comm.cpp implements them on NCCL, loaded at run time; the host
// emulation of the GPU tests (test/Cuda/emu/device_comm_emu.cpp) on the
// host communicator, each operation enqueued on the emulated stream.
//
//===----------------------------------------------------------------------===//
#ifndef DITC_RUNTIME_CUDA_DEVICE_COMM_H
#define DITC_RUNTIME_CUDA_DEVICE_COMM_H

#include "../src/comm/backend.h"

#include <memory>
#include <string>

namespace ditc_cu {

/// Whether this rank can run device collectives (the library loads, the
/// current GPU answers); `why` when it cannot.
bool deviceCollectivesPossible(std::string &why);

/// A key of this rank's GPU, equal for two ranks only when they share one
/// (NCCL refuses two ranks on one GPU). Never negative.
int64_t deviceKey(ditc_rt_comm *host);

/// Collective over `host`: the DeviceOps of its ranks on their current
/// GPUs, bootstrapped over `host` (not counted in its statistics).
ditc_rt_comm_status makeDeviceOps(ditc_rt_comm *host,
                                  std::unique_ptr<ditc_rt::comm::DeviceOps> &out);

/// `comm`'s path (collectives.cpp), decided at its first use: collective
/// over it.
ditc_rt_comm_status collectivePath(ditc_rt_comm *comm,
                                   ditc_rt::comm::DevicePath &path);

} // namespace ditc_cu

#endif // DITC_RUNTIME_CUDA_DEVICE_COMM_H
