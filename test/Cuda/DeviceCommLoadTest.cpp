//===- DeviceCommLoadTest.cpp - Loading NCCL for the device collectives ---===//
//
// runtime/cuda/device_comm.cpp's loader on the host, no GPU needed: with
// DITC_NCCL_LIBRARY naming a file that is not there it says so; with the
// NCCL of the CUDA toolkit (or the loader's) every function it needs
// resolves and the version is new enough, so that what stops it on a
// machine without a GPU is the GPU ("no GPU: ..."), never the library.
// Where no libnccl.so.2 can be found at all, the error must name it.
//
//===----------------------------------------------------------------------===//
#include "device_comm.h"

#include <cuda_runtime.h>
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

namespace {

TEST(DeviceCommLoad, AMissingLibraryIsNamed) {
  setenv("DITC_NCCL_LIBRARY", "/nonexistent/libnccl.so.2", 1);
  std::string why;
  EXPECT_FALSE(ditc_cu::deviceCollectivesPossible(why));
  EXPECT_NE(why.find("cannot load /nonexistent/libnccl.so.2"), std::string::npos) << why;
  EXPECT_NE(why.find("DITC_NCCL_LIBRARY"), std::string::npos) << why;
  unsetenv("DITC_NCCL_LIBRARY");
}

TEST(DeviceCommLoad, TheToolkitsNcclLoadsAndOnlyTheGpuIsMissing) {
  const char *path = "/usr/local/cuda/lib64/libnccl.so.2";
  void *probe = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!probe) {
    path = "libnccl.so.2";
    probe = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  }
  std::string why;
  if (!probe) {
    // No NCCL here: the loader says so, naming the library.
    EXPECT_FALSE(ditc_cu::deviceCollectivesPossible(why));
    EXPECT_NE(why.find("cannot load libnccl.so.2"), std::string::npos) << why;
    return;
  }
  dlclose(probe);
  setenv("DITC_NCCL_LIBRARY", path, 1);
  bool possible = ditc_cu::deviceCollectivesPossible(why);
  unsetenv("DITC_NCCL_LIBRARY");
  int devices = 0;
  if (cudaGetDeviceCount(&devices) == cudaSuccess && devices > 0) {
    EXPECT_TRUE(possible) << why;
    return;
  }
  EXPECT_FALSE(possible);
  EXPECT_EQ(why.rfind("no GPU: ", 0), 0u) << why; // the library was fine
}

} // namespace
