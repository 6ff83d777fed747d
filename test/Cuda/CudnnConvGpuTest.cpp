//===- CudnnConvGpuTest.cpp - cuDNN's convolution against the own kernel --===//
//
// ditc_cu_conv2d for F16 / BF16 with cuDNN (runtime/cuda/cudnn_graphs.cpp,
// conv::run; DITC_CUDNN=1 through cudnn::set_mode) and with the own direct
// kernel (DITC_CUDNN=0) on the same random inputs: against each other and
// against the CPU runtime (ditc_rt_conv2d_f32 on the rounded inputs).
// Shapes: DiT-XL/2's patch embedding, a 3x3 pad-1 convolution with 64
// channels, a strided and dilated one, each with and without a bias, and
// asymmetric pads (which cuDNN may refuse: then the own kernel must have
// run it). conv::counters() proves which path ran. Then one call inside a
// captured CUDA graph (the plan built before the capture), replayed: bit
// for bit the eager call's output.
//
// In ditc-cuda-cudnn-tests beside CudnnSdpaGpuTest.cpp (whose main skips
// without a GPU or below sm_80); where cuDNN cannot be loaded every test
// here fails, saying why.
//
//===----------------------------------------------------------------------===//
#include "CudaTestUtil.h"
#include "CudnnTestUtil.h"
#include "cuda_runtime_api.h" // the ditc_cu_* launchers
#include "cudnn_graphs.h"

#include "ditc/runtime/ditc_kernels.h"

#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

namespace {

using ditc_cu::cudnn::Mode;
using ditc_cuda_test::compare;
using ditc_cuda_test::Device;
using ditc_cuda_test::dtypeName;
using ditc_cuda_test::Errors;
using ditc_cuda_test::fromHalf;
using ditc_cuda_test::randomFloats;
using ditc_cuda_test::toHalf;

// Why cuDNN cannot run here, or empty.
std::string unusable() {
  if (!ditc_cu::cudnn::built_with_frontend())
    return "the runtime was built without cudnn-frontend";
  std::string why;
  return ditc_cu::cudnn::library_version(why) == 0 ? why : std::string();
}

struct Shape {
  const char *name;
  int64_t n, c, h, w, o, kh, kw, sh, sw, pt, pl, pb, pr, dh, dw;
  bool may_refuse; // cuDNN may refuse it (then the own kernel runs it)
  int64_t oh() const { return (h + pt + pb - dh * (kh - 1) - 1) / sh + 1; }
  int64_t ow() const { return (w + pl + pr - dw * (kw - 1) - 1) / sw + 1; }
};

const Shape kShapes[] = {
    {"DiT-XL/2 patch embed 4->1152 k2 s2", 2, 4, 32, 32, 1152, 2, 2, 2, 2, 0,
     0, 0, 0, 1, 1, false},
    {"3x3 pad 1 64->64 64x64", 2, 64, 64, 64, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1,
     1, false},
    {"3x3 stride 2 pad 2 dil 2 32->48 33x47", 2, 32, 33, 47, 48, 3, 3, 2, 2,
     2, 2, 2, 2, 2, 2, false},
    {"3x3 pads 1,1,0,0 16->16 16x16", 1, 16, 16, 16, 16, 3, 3, 1, 1, 1, 1, 0,
     0, 1, 1, true},
};

// Bounds on |cuDNN - reference|: both sum in f32 (in different orders) and
// round once to the dtype, so they differ by about an ulp of the output:
// max |d| <= 4 ulp of the largest output (BF16 2^-6, F16 2^-9 of it), rel
// L2 a few times the dtype's half-ulp (BF16 2^-9, F16 2^-12).
void bounds(int32_t dtype, double max_want, double &max_abs,
            double &rel_l2) {
  max_abs = max_want * (dtype == DITC_RT_BF16 ? 1.0 / 64 : 1.0 / 512);
  rel_l2 = dtype == DITC_RT_BF16 ? 8e-3 : 1e-3;
}

struct Problem {
  Shape s;
  int32_t dtype;
  bool bias;
  std::vector<uint16_t> x, w, b; // rounded inputs, as bits
  int64_t xn, wn, yn;
};

// Weights scaled by 1/sqrt(fan-in): outputs of magnitude about 1.
Problem make(const Shape &s, int32_t dtype, bool bias, uint32_t seed) {
  Problem p{s, dtype, bias, {}, {}, {}, 0, 0, 0};
  p.xn = s.n * s.c * s.h * s.w;
  p.wn = s.o * s.c * s.kh * s.kw;
  p.yn = s.n * s.o * s.oh() * s.ow();
  const float scale = 1.f / std::sqrt((float)(s.c * s.kh * s.kw));
  p.x = toHalf(dtype, randomFloats(p.xn, seed, -1.f, 1.f));
  p.w = toHalf(dtype, randomFloats(p.wn, seed + 1, -scale, scale));
  p.b = toHalf(dtype, randomFloats(s.o, seed + 2, -1.f, 1.f));
  return p;
}

// y = conv2d of p on the GPU with cuDNN (mode On) or the own kernel (Off);
// `ran` says whether cuDNN ran it (from the counters).
void runGpu(const Problem &p, Mode mode, std::vector<uint16_t> &y,
            bool &ran) {
  const Shape &s = p.s;
  Device x(p.xn * 2), w(p.wn * 2), b(s.o * 2), o(p.yn * 2);
  ASSERT_TRUE(x.p && w.p && b.p && o.p);
  CUDA_OK(cudaMemcpy(x.p, p.x.data(), p.xn * 2, cudaMemcpyHostToDevice));
  CUDA_OK(cudaMemcpy(w.p, p.w.data(), p.wn * 2, cudaMemcpyHostToDevice));
  CUDA_OK(cudaMemcpy(b.p, p.b.data(), s.o * 2, cudaMemcpyHostToDevice));
  CUDA_OK(cudaMemset(o.p, 0xff, p.yn * 2)); // NaNs where nothing is written
  ditc_cu::cudnn::set_mode(mode);
  const auto before = ditc_cu::conv::counters();
  ditc_cu_conv2d(p.dtype, x.p, w.p, p.bias ? b.p : nullptr, o.p, s.n, s.c,
                 s.h, s.w, s.o, s.kh, s.kw, s.sh, s.sw, s.pt, s.pl, s.pb,
                 s.pr, s.dh, s.dw, 1);
  CUDA_OK(cudaDeviceSynchronize());
  const auto after = ditc_cu::conv::counters();
  ran = after.ran != before.ran;
  EXPECT_EQ(after.ran - before.ran + after.fell_back - before.fell_back, 1u);
  y.resize(p.yn);
  CUDA_OK(cudaMemcpy(y.data(), o.p, p.yn * 2, cudaMemcpyDeviceToHost));
}

class CudnnConv : public ::testing::TestWithParam<int32_t> {
protected:
  void SetUp() override {
    const std::string why = unusable();
    if (!why.empty())
      FAIL() << "cuDNN is not usable here: " << why;
  }
  void TearDown() override { ditc_cu::cudnn::set_mode(Mode::Auto); }
};

TEST_P(CudnnConv, MatchesTheOwnKernelAndTheCpu) {
  const int32_t dtype = GetParam();
  uint32_t seed = 23;
  for (const Shape &s : kShapes) {
    for (bool bias : {true, false}) {
      SCOPED_TRACE(std::string(s.name) + (bias ? " bias " : " ") +
                   dtypeName(dtype));
      const Problem p = make(s, dtype, bias, seed += 7);
      std::vector<uint16_t> own_bits, cudnn_bits;
      bool own_ran = true, cudnn_ran = false;
      runGpu(p, Mode::Off, own_bits, own_ran);
      runGpu(p, Mode::On, cudnn_bits, cudnn_ran);
      EXPECT_FALSE(own_ran) << "cuDNN ran with DITC_CUDNN=0";
      if (!s.may_refuse)
        EXPECT_TRUE(cudnn_ran) << "cuDNN did not run the call";
      const std::vector<float> own = fromHalf(dtype, own_bits),
                               cudnn = fromHalf(dtype, cudnn_bits);
      // The CPU on the rounded inputs, in f32.
      const std::vector<float> x = fromHalf(dtype, p.x),
                               w = fromHalf(dtype, p.w),
                               b = fromHalf(dtype, p.b);
      std::vector<float> want(p.yn);
      ditc_rt_conv2d_f32(x.data(), w.data(), bias ? b.data() : nullptr,
                         want.data(), s.n, s.c, s.h, s.w, s.o, s.kh, s.kw,
                         s.sh, s.sw, s.pt, s.pl, s.pb, s.pr, s.dh, s.dw, 1);
      const Errors vs_own = compare(cudnn, own), c = compare(cudnn, want),
                   o = compare(own, want);
      double max_abs, rel_l2;
      bounds(dtype, c.max_want, max_abs, rel_l2);
      EXPECT_LE(vs_own.max_abs, max_abs) << "cuDNN vs own kernel";
      EXPECT_LE(vs_own.rel_l2, rel_l2) << "cuDNN vs own kernel";
      EXPECT_LE(c.max_abs, max_abs) << "cuDNN vs CPU";
      EXPECT_LE(c.rel_l2, rel_l2) << "cuDNN vs CPU";
      std::printf("  %-40s %-4s %-4s %s: vs own max |d| %.3g, rel L2 %.3g; "
                  "vs CPU: cuDNN %.3g / %.3g, own %.3g / %.3g\n",
                  s.name, bias ? "bias" : "", dtypeName(dtype),
                  cudnn_ran ? "cuDNN" : "REFUSED (own)", vs_own.max_abs,
                  vs_own.rel_l2, c.max_abs, c.rel_l2, o.max_abs, o.rel_l2);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Dtypes, CudnnConv,
                         ::testing::Values(DITC_RT_F16, DITC_RT_BF16),
                         [](const ::testing::TestParamInfo<int32_t> &i) {
                           return std::string(dtypeName(i.param));
                         });

// F32 runs the own kernel even with DITC_CUDNN=1.
TEST(CudnnConvRefused, F32RunsTheOwnKernel) {
  const std::string why = unusable();
  if (!why.empty())
    FAIL() << "cuDNN is not usable here: " << why;
  ditc_cu::cudnn::set_mode(Mode::On);
  Device x(2 * 64 * 16 * 16 * 4), w(64 * 64 * 9 * 4), y(2 * 64 * 16 * 16 * 4);
  CUDA_OK(cudaMemset(x.p, 0, 2 * 64 * 16 * 16 * 4));
  CUDA_OK(cudaMemset(w.p, 0, 64 * 64 * 9 * 4));
  const auto before = ditc_cu::conv::counters();
  ditc_cu_conv2d(DITC_RT_F32, x.p, w.p, nullptr, y.p, 2, 64, 16, 16, 64, 3, 3,
                 1, 1, 1, 1, 1, 1, 1, 1, 1);
  CUDA_OK(cudaDeviceSynchronize());
  const auto after = ditc_cu::conv::counters();
  EXPECT_EQ(after.ran, before.ran);
  ditc_cu::cudnn::set_mode(Mode::Auto);
}

// A plan built before the capture executes inside it: the replay writes
// bit for bit what the eager call wrote.
TEST(CudnnConvGraph, CapturedAndReplayed) {
  const std::string why = unusable();
  if (!why.empty())
    FAIL() << "cuDNN is not usable here: " << why;
  ditc_cu::cudnn::set_mode(Mode::On);
  const Shape &s = kShapes[1];
  const Problem p = make(s, DITC_RT_BF16, true, 5);
  Device x(p.xn * 2), w(p.wn * 2), b(s.o * 2), o(p.yn * 2);
  CUDA_OK(cudaMemcpy(x.p, p.x.data(), p.xn * 2, cudaMemcpyHostToDevice));
  CUDA_OK(cudaMemcpy(w.p, p.w.data(), p.wn * 2, cudaMemcpyHostToDevice));
  CUDA_OK(cudaMemcpy(b.p, p.b.data(), s.o * 2, cudaMemcpyHostToDevice));
  auto call = [&] {
    ditc_cu_conv2d(DITC_RT_BF16, x.p, w.p, b.p, o.p, s.n, s.c, s.h, s.w, s.o,
                   s.kh, s.kw, s.sh, s.sw, s.pt, s.pl, s.pb, s.pr, s.dh, s.dw,
                   1);
  };
  const auto eager_before = ditc_cu::conv::counters();
  call(); // eager: builds the plan
  CUDA_OK(cudaDeviceSynchronize());
  EXPECT_EQ(ditc_cu::conv::counters().ran - eager_before.ran, 1u)
      << "cuDNN did not run the eager call";
  std::vector<uint16_t> eager(p.yn), replay(p.yn);
  CUDA_OK(cudaMemcpy(eager.data(), o.p, p.yn * 2, cudaMemcpyDeviceToHost));
  CUDA_OK(cudaMemset(o.p, 0xff, p.yn * 2));

  cudaStream_t st;
  CUDA_OK(cudaStreamCreate(&st));
  ditc_cu_set_stream(st);
  const auto before = ditc_cu::conv::counters();
  cudaGraph_t graph;
  CUDA_OK(cudaStreamBeginCapture(st, cudaStreamCaptureModeGlobal));
  call(); // the plan exists: cuDNN, captured
  CUDA_OK(cudaStreamEndCapture(st, &graph));
  ditc_cu_set_stream(nullptr);
  const auto after = ditc_cu::conv::counters();
  EXPECT_EQ(after.ran - before.ran, 1u);
  EXPECT_EQ(after.plans, before.plans) << "a plan was built during a capture";
  cudaGraphExec_t exec;
  CUDA_OK(cudaGraphInstantiate(&exec, graph, 0));
  for (int i = 0; i < 2; ++i)
    CUDA_OK(cudaGraphLaunch(exec, st));
  CUDA_OK(cudaStreamSynchronize(st));
  CUDA_OK(cudaMemcpy(replay.data(), o.p, p.yn * 2, cudaMemcpyDeviceToHost));
  EXPECT_TRUE(replay == eager) << "the replay differs from the eager call";
  CUDA_OK(cudaGraphExecDestroy(exec));
  CUDA_OK(cudaGraphDestroy(graph));
  CUDA_OK(cudaStreamDestroy(st));
  ditc_cu::cudnn::set_mode(Mode::Auto);
}

} // namespace
