//===- ThreadsTest.cpp - the runtime's default thread count ---------------===//
//
// Its own binary: the default is fixed at the first call in the process.
//
//===----------------------------------------------------------------------===//

#include "ditc/runtime/ditc_kernels.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <cstdlib>

namespace {

TEST(Threads, DefaultIgnoresTheCallersOpenMPCount) {
  // What a small GEMM of another runtime copy in this process (a second
  // model library) leaves on the calling thread.
  omp_set_num_threads(1);
  const char *env = std::getenv("OMP_NUM_THREADS");
  int expect = env && std::atoi(env) > 0 ? std::atoi(env) : omp_get_num_procs();
  EXPECT_EQ(ditc_rt_get_num_threads(), expect);

  // An explicit count wins; <= 0 restores the default.
  ditc_rt_set_num_threads(3);
  EXPECT_EQ(ditc_rt_get_num_threads(), 3);
  ditc_rt_set_num_threads(0);
  EXPECT_EQ(ditc_rt_get_num_threads(), expect);
}

} // namespace
