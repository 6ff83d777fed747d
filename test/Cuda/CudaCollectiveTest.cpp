//===- CudaCollectiveTest.cpp - Device-to-device collectives, world size 1 -===//
//
// The coll_* entry points of GPU libraries (runtime/cuda/collectives.cpp)
// on their device path (DITC_CUDA_COLLECTIVES=nccl) over the "self"
// communicator: every tensor collective of a partitioned program on device
// buffers, F32 and BF16, along the axes that need packing into device
// scratch and those that do not, against the host algorithm
// (ditc_rt_coll_*, runtime/src/comm/collective.cpp) on the same random
// data, byte for byte. Each is called once as a step's first run is (which
// makes the NCCL communicator), then captured into a CUDA graph and
// replayed twice; nothing may wait on the host (ditc_cu_host_waits) and the
// communicator must be on the device path.
//
// Built twice:
//  - ditc-cuda-collective-tests (build/bin): on the GPU with NCCL
//    (collective.test, feature "cuda"; benchmarks/gpu/check.sh); without a
//    GPU it prints "no GPU: ..." and exits 77, without NCCL "no NCCL: ...";
//  - CudaCollectiveEmuTests (build/test/Unit): on the host emulation, whose
//    device collectives are the host communicator's on the emulated stream
//    (emu/device_comm_emu.cpp).
//
//===----------------------------------------------------------------------===//
#include "cuda_runtime_api.h"
#include "device_comm.h"

#include "ditc/runtime/ditc_comm.h"

#include <cuda_runtime.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace {

#define CUDA_OK(expr)                                                          \
  do {                                                                         \
    cudaError_t err_ = (expr);                                                 \
    ASSERT_EQ(err_, cudaSuccess) << #expr << ": " << cudaGetErrorString(err_); \
  } while (0)

/// Random bytes that are finite floats of `dtype` (F32 or BF16).
std::vector<uint8_t> randomTensor(int32_t dtype, int64_t count, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-2.f, 2.f);
  std::vector<uint8_t> out((size_t)(count * ditc_rt_dtype_bytes(dtype)));
  for (int64_t i = 0; i < count; ++i) {
    float f = dist(rng);
    uint32_t u;
    std::memcpy(&u, &f, 4);
    if (dtype == DITC_RT_BF16) {
      uint16_t h = (uint16_t)(u >> 16);
      std::memcpy(out.data() + 2 * i, &h, 2);
    } else {
      std::memcpy(out.data() + 4 * i, &u, 4);
    }
  }
  return out;
}

/// One collective: on host buffers (the reference) and on device ones.
struct Case {
  std::string name;
  int64_t in = 0, out = 0; // elements of x and y
  std::function<int32_t(void *comm, const void *x, void *y)> host, device;
};

std::vector<Case> cases(int32_t dtype) {
  static const int64_t shape[3] = {2, 6, 4};
  const int64_t n = 2 * 6 * 4;
  std::vector<Case> out;
  out.push_back({"all_reduce", n, n,
                 [=](void *c, const void *x, void *y) {
                   return ditc_rt_coll_all_reduce(c, x, y, n, dtype);
                 },
                 [=](void *c, const void *x, void *y) {
                   return ditc_cu_coll_all_reduce(c, x, y, n, dtype);
                 }});
  for (int32_t axis : {0, 1, 2}) // axis 0: no packing; 1, 2: packing
    out.push_back({"all_gather axis " + std::to_string(axis), n, n,
                   [=](void *c, const void *x, void *y) {
                     return ditc_rt_coll_all_gather(c, x, y, dtype, 3, shape, axis);
                   },
                   [=](void *c, const void *x, void *y) {
                     return ditc_cu_coll_all_gather(c, x, y, dtype, 3, shape, axis);
                   }});
  for (int32_t axis : {0, 1})
    out.push_back({"reduce_scatter axis " + std::to_string(axis), n, n,
                   [=](void *c, const void *x, void *y) {
                     return ditc_rt_coll_reduce_scatter(c, x, y, dtype, 3, shape, axis);
                   },
                   [=](void *c, const void *x, void *y) {
                     return ditc_cu_coll_reduce_scatter(c, x, y, dtype, 3, shape, axis);
                   }});
  for (auto [split, concat] : {std::pair{1, 2}, std::pair{2, 0}, std::pair{0, 1}})
    out.push_back({"all_to_all " + std::to_string(split) + "->" + std::to_string(concat), n, n,
                   [=](void *c, const void *x, void *y) {
                     return ditc_rt_coll_all_to_all(c, x, y, dtype, 3, shape, split, concat);
                   },
                   [=](void *c, const void *x, void *y) {
                     return ditc_cu_coll_all_to_all(c, x, y, dtype, 3, shape, split, concat);
                   }});
  out.push_back({"broadcast", n, n,
                 [=](void *c, const void *x, void *y) {
                   return ditc_rt_coll_broadcast(c, x, y, n, dtype, 0);
                 },
                 [=](void *c, const void *x, void *y) {
                   return ditc_cu_coll_broadcast(c, x, y, n, dtype, 0);
                 }});
  out.push_back({"slice axis 1", n, n,
                 [=](void *c, const void *x, void *y) {
                   return ditc_rt_coll_slice(c, x, y, dtype, 3, shape, 1);
                 },
                 [=](void *c, const void *x, void *y) {
                   return ditc_cu_coll_slice(c, x, y, dtype, 3, shape, 1);
                 }});
  return out;
}

class Collective : public ::testing::TestWithParam<int32_t> {
protected:
  void SetUp() override {
    ASSERT_EQ(ditc_rt_comm_create("self", &comm), DITC_RT_COMM_OK) << ditc_rt_comm_last_error();
    ASSERT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), cudaSuccess);
  }
  void TearDown() override {
    ditc_cu_set_stream(nullptr);
    cudaStreamDestroy(stream);
    ditc_rt_comm_destroy(comm);
  }
  ditc_rt_comm *comm = nullptr;
  cudaStream_t stream = nullptr;
};

TEST_P(Collective, DeviceToDeviceMatchesTheHostInACapturedGraph) {
  const int32_t dtype = GetParam();
  const int64_t e = ditc_rt_dtype_bytes(dtype);
  uint32_t seed = 1;
  for (const Case &c : cases(dtype)) {
    SCOPED_TRACE(c.name);
    std::vector<uint8_t> x = randomTensor(dtype, c.in, seed++);
    std::vector<uint8_t> want(c.out * e, 0);
    ASSERT_EQ(c.host(comm, x.data(), want.data()), DITC_RT_COMM_OK) << ditc_rt_comm_last_error();

    void *dx = nullptr, *dy = nullptr;
    CUDA_OK(cudaMalloc(&dx, x.size()));
    CUDA_OK(cudaMalloc(&dy, want.size()));
    CUDA_OK(cudaMemcpy(dx, x.data(), x.size(), cudaMemcpyHostToDevice));
    ditc_cu_set_stream(stream);
    auto check = [&](const char *when) {
      std::vector<uint8_t> got(want.size());
      CUDA_OK(cudaStreamSynchronize(stream));
      CUDA_OK(cudaMemcpy(got.data(), dy, got.size(), cudaMemcpyDeviceToHost));
      EXPECT_EQ(got, want) << when;
    };
    // As a step's first run: eager (the first call makes the NCCL comm).
    CUDA_OK(cudaMemsetAsync(dy, 0xff, want.size(), stream));
    ASSERT_EQ(c.device(comm, dx, dy), DITC_RT_COMM_OK) << ditc_rt_comm_last_error();
    check("eager");
    ditc_rt::comm::DeviceOps *ops = nullptr;
    EXPECT_EQ(ditc_rt::comm::devicePath(comm, &ops), ditc_rt::comm::DevicePath::Device);
    ASSERT_NE(ops, nullptr);

    // Captured, then replayed twice, the output poisoned before each.
    uint64_t waits = ditc_cu_host_waits();
    cudaGraph_t graph = nullptr;
    cudaGraphExec_t exec = nullptr;
    CUDA_OK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
    int32_t rc = c.device(comm, dx, dy);
    CUDA_OK(cudaStreamEndCapture(stream, &graph));
    ASSERT_EQ(rc, DITC_RT_COMM_OK) << ditc_rt_comm_last_error();
    CUDA_OK(cudaGraphInstantiate(&exec, graph, 0));
    for (int replay = 0; replay < 2; ++replay) {
      CUDA_OK(cudaMemsetAsync(dy, 0xff, want.size(), stream));
      CUDA_OK(cudaGraphLaunch(exec, stream));
      check("replayed");
    }
    EXPECT_EQ(ditc_cu_host_waits(), waits) << "a device collective waited on the host";
    cudaGraphExecDestroy(exec);
    cudaGraphDestroy(graph);
    ditc_cu_set_stream(nullptr);
    cudaFree(dx);
    cudaFree(dy);
  }
}

// The bytes are counted as on the host path, in a replayed graph too (once
// per call: a graph replay calls nothing, Model.cpp adds its step's counts).
TEST_P(Collective, CountsTheBytesOfTheHostPath) {
  const int32_t dtype = GetParam();
  const int64_t n = 48;
  std::vector<uint8_t> x = randomTensor(dtype, n, 7);
  void *dx = nullptr, *dy = nullptr;
  CUDA_OK(cudaMalloc(&dx, x.size()));
  CUDA_OK(cudaMalloc(&dy, x.size()));
  CUDA_OK(cudaMemcpy(dx, x.data(), x.size(), cudaMemcpyHostToDevice));
  ditc_cu_set_stream(stream);
  static const int64_t shape[2] = {6, 8};
  ASSERT_EQ(ditc_cu_coll_all_gather(comm, dx, dy, dtype, 2, shape, 1), DITC_RT_COMM_OK);
  ASSERT_EQ(ditc_cu_coll_all_reduce(comm, dx, dy, n, dtype), DITC_RT_COMM_OK);
  CUDA_OK(cudaStreamSynchronize(stream));
  uint64_t bytes = 1, calls = 0;
  ASSERT_EQ(ditc_rt_comm_stats(comm, DITC_RT_COMM_ALL_GATHER, &bytes, &calls), DITC_RT_COMM_OK);
  EXPECT_EQ(calls, 1u);
  EXPECT_EQ(bytes, 0u); // (P - 1) * block at P = 1
  ASSERT_EQ(ditc_rt_comm_stats(comm, DITC_RT_COMM_ALL_REDUCE, &bytes, &calls), DITC_RT_COMM_OK);
  EXPECT_EQ(calls, 1u);
  ditc_cu_set_stream(nullptr);
  cudaFree(dx);
  cudaFree(dy);
}

// Device scratch grows on a step's first run, never inside a capture
// (cudaMalloc there would end it): a collective that would need more in a
// capture fails with one line instead.
TEST_P(Collective, ScratchDoesNotGrowInACapture) {
  const int32_t dtype = GetParam();
  // More bytes than any call before (the scratch is kept between tests).
  static int64_t rows = 64;
  rows *= 4;
  const int64_t big[3] = {2, rows, 32};
  const int64_t n = 2 * rows * 32;
  void *dx = nullptr, *dy = nullptr;
  CUDA_OK(cudaMalloc(&dx, n * ditc_rt_dtype_bytes(dtype)));
  CUDA_OK(cudaMalloc(&dy, n * ditc_rt_dtype_bytes(dtype)));
  ditc_cu_set_stream(stream);
  // A first run makes the NCCL communicator (never in a capture), on a
  // small tensor.
  static const int64_t small[3] = {1, 2, 4};
  ASSERT_EQ(ditc_cu_coll_all_gather(comm, dx, dy, dtype, 3, small, 1), DITC_RT_COMM_OK)
      << ditc_rt_comm_last_error();
  CUDA_OK(cudaStreamSynchronize(stream));
  cudaGraph_t graph = nullptr;
  CUDA_OK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
  int32_t rc = ditc_cu_coll_all_gather(comm, dx, dy, dtype, 3, big, 1);
  std::string why = ditc_rt_comm_last_error();
  cudaStreamEndCapture(stream, &graph);
  if (graph)
    cudaGraphDestroy(graph);
  EXPECT_EQ(rc, DITC_RT_COMM_ERROR_MEMORY);
  EXPECT_NE(why.find("during a CUDA graph capture"), std::string::npos) << why;
  // Outside a capture the same call grows it and runs.
  EXPECT_EQ(ditc_cu_coll_all_gather(comm, dx, dy, dtype, 3, big, 1), DITC_RT_COMM_OK)
      << ditc_rt_comm_last_error();
  CUDA_OK(cudaStreamSynchronize(stream));
  ditc_cu_set_stream(nullptr);
  cudaFree(dx);
  cudaFree(dy);
}

INSTANTIATE_TEST_SUITE_P(Dtypes, Collective, ::testing::Values(DITC_RT_F32, DITC_RT_BF16),
                         [](const ::testing::TestParamInfo<int32_t> &i) {
                           return std::string(i.param == DITC_RT_F32 ? "F32" : "BF16");
                         });

} // namespace

int main(int argc, char **argv) {
  // The device path or an error: never the staged one.
  setenv("DITC_CUDA_COLLECTIVES", "nccl", 1);
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess || count == 0) {
    std::printf("no GPU: %s\n",
                cudaGetErrorString(err != cudaSuccess ? err : cudaErrorNoDevice));
    return 77;
  }
  std::string why;
  if (!ditc_cu::deviceCollectivesPossible(why)) {
    std::printf("no NCCL: %s\n", why.c_str());
    return 77;
  }
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
