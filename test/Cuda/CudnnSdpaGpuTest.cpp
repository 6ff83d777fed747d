//===- CudnnSdpaGpuTest.cpp - cuDNN's SDPA against the own kernel (GPU) ---===//
//
// ditc_cu_attention_layout for F16 / BF16 with cuDNN's fused SDPA
// (runtime/cuda/cudnn_graphs.cpp, DITC_CUDNN=1 through sdpa::set_mode) and
// with the own kernel (DITC_CUDNN=0) on the same random inputs: both against
// each other and, for the smaller shapes, against the CPU runtime
// (ditc_rt_attention_layout_f32 on the rounded inputs). Shapes: B 2, H 16,
// sequences 256 to 4096, D 64 / 72 / 128, GQA, causal, seq-major layouts.
// sdpa::counters() proves which path ran: a test fails when cuDNN did not
// take a call it should (or took one it should not). Ring attention's
// blocks (offsets, kv_valid, the lse from cuDNN's softmax stats) the same
// way, out and lse. Then one call inside
// a captured CUDA graph (the plan built before the capture), replayed, and a
// capture that finds no plan (the own kernel runs it).
//
// Built as build/bin/ditc-cuda-cudnn-tests, run by cudnn.test (REQUIRES:
// cuda) and by benchmarks/gpu/check.sh. Without a GPU main prints "no GPU:
// ..." and exits 77; a GPU older than sm_80 exits 77 too (cuDNN's SDPA needs
// sm_80); where cuDNN cannot be loaded (or the runtime was built without
// cudnn-frontend) every test fails, saying why.
//
//===----------------------------------------------------------------------===//
#include "CudaTestUtil.h"
#include "CudnnTestUtil.h"
#include "cuda_runtime_api.h" // the ditc_cu_* launchers
#include "cudnn_graphs.h"

#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

namespace {

using ditc_cu::sdpa::Mode;
using ditc_cuda_test::compare;
using ditc_cuda_test::Device;
using ditc_cuda_test::dtypeName;
using ditc_cuda_test::Errors;
using ditc_cuda_test::fromHalf;
using ditc_cuda_test::randomFloats;
using ditc_cuda_test::toHalf;

std::string g_unusable; // why cuDNN cannot run here (main), or empty

struct Shape {
  const char *name;
  int64_t B, H, Hkv, Sq, Sk, D;
  bool causal;
  int32_t layout; // DITC_RT_SEQ_MAJOR_* bits
  bool cpu;       // also against the CPU (small enough)
};

const Shape kShapes[] = {
    {"S256 D64", 2, 16, 16, 256, 256, 64, false, 0, true},
    {"S256 D72", 2, 16, 16, 256, 256, 72, false, 0, true},
    {"S256 D128 causal", 2, 16, 16, 256, 256, 128, true, 0, true},
    {"S512 D128 GQA 16/4 causal", 2, 16, 4, 512, 512, 128, true, 0, true},
    {"Sq256 Sk1024 D64 GQA 16/2", 2, 16, 2, 256, 1024, 64, false, 0, true},
    {"S300 D64 causal seq-major", 2, 16, 16, 300, 300, 64, true,
     DITC_RT_SEQ_MAJOR_Q | DITC_RT_SEQ_MAJOR_K | DITC_RT_SEQ_MAJOR_V |
         DITC_RT_SEQ_MAJOR_OUT,
     true},
    {"S4096 D64 causal", 2, 16, 16, 4096, 4096, 64, true, 0, false},
    {"S4096 D128 GQA 16/8", 1, 16, 8, 4096, 4096, 128, false,
     DITC_RT_SEQ_MAJOR_Q | DITC_RT_SEQ_MAJOR_OUT, false},
};

// Bounds on |cuDNN - reference| for outputs of magnitude <= 1 (averages of
// values in [-1, 1]). cuDNN rounds the softmax weights to the dtype before
// P V (the own kernel keeps them in f32), so its error is a few ulp of the
// dtype, not half an ulp: BF16 2^-8 = 3.9e-3 per ulp, F16 2^-11 = 4.9e-4.
void bounds(int32_t dtype, double &max_abs, double &rel_l2) {
  max_abs = dtype == DITC_RT_BF16 ? 1.6e-2 : 2.5e-3;
  rel_l2 = dtype == DITC_RT_BF16 ? 8e-3 : 1e-3;
}

struct Problem {
  Shape s;
  int32_t dtype;
  std::vector<uint16_t> q, k, v; // rounded inputs, as bits
  int64_t qn, kn, on;
  float scale;
};

Problem make(const Shape &s, int32_t dtype, uint32_t seed) {
  Problem p{s, dtype, {}, {}, {}, 0, 0, 0, 0.f};
  p.qn = s.B * s.H * s.Sq * s.D;
  p.kn = s.B * s.Hkv * s.Sk * s.D;
  p.on = p.qn;
  std::vector<float> q = randomFloats(p.qn, seed, -2.f, 2.f),
                     k = randomFloats(p.kn, seed + 1, -1.f, 1.f),
                     v = randomFloats(p.kn, seed + 2, -1.f, 1.f);
  p.q = toHalf(dtype, q);
  p.k = toHalf(dtype, k);
  p.v = toHalf(dtype, v);
  p.scale = 1.f / std::sqrt((float)s.D);
  return p;
}

// out = attention of p on the GPU with cuDNN (mode On) or the own kernel
// (Off), on `stream`; checks which one ran.
void runGpu(const Problem &p, Mode mode, std::vector<float> &out) {
  const Shape &s = p.s;
  Device q(p.qn * 2), k(p.kn * 2), v(p.kn * 2), o(p.on * 2);
  ASSERT_TRUE(q.p && k.p && v.p && o.p);
  CUDA_OK(cudaMemcpy(q.p, p.q.data(), p.qn * 2, cudaMemcpyHostToDevice));
  CUDA_OK(cudaMemcpy(k.p, p.k.data(), p.kn * 2, cudaMemcpyHostToDevice));
  CUDA_OK(cudaMemcpy(v.p, p.v.data(), p.kn * 2, cudaMemcpyHostToDevice));
  CUDA_OK(cudaMemset(o.p, 0xff, p.on * 2)); // NaNs where nothing is written
  ditc_cu::sdpa::set_mode(mode);
  const auto before = ditc_cu::sdpa::counters();
  ditc_cu_attention_layout(p.dtype, q.p, k.p, v.p, nullptr, DITC_RT_MASK_NONE,
                           nullptr, o.p, nullptr, s.B, s.H, s.Hkv, s.Sq, s.Sk,
                           s.D, s.D, p.scale, s.causal, 0, 0, 0, s.layout);
  CUDA_OK(cudaDeviceSynchronize());
  const auto after = ditc_cu::sdpa::counters();
  EXPECT_EQ(after.ran - before.ran, mode == Mode::On ? 1u : 0u)
      << (mode == Mode::On ? "cuDNN did not run the call"
                           : "cuDNN ran with DITC_CUDNN=0");
  std::vector<uint16_t> bits(p.on);
  CUDA_OK(cudaMemcpy(bits.data(), o.p, p.on * 2, cudaMemcpyDeviceToHost));
  out = fromHalf(p.dtype, bits);
}

class CudnnSdpa : public ::testing::TestWithParam<int32_t> {
protected:
  void SetUp() override {
    if (!g_unusable.empty())
      FAIL() << "cuDNN is not usable here: " << g_unusable;
  }
  void TearDown() override { ditc_cu::sdpa::set_mode(Mode::Auto); }
};

TEST_P(CudnnSdpa, MatchesTheOwnKernelAndTheCpu) {
  const int32_t dtype = GetParam();
  double max_abs, rel_l2;
  bounds(dtype, max_abs, rel_l2);
  uint32_t seed = 11;
  for (const Shape &s : kShapes) {
    SCOPED_TRACE(std::string(s.name) + " " + dtypeName(dtype));
    const Problem p = make(s, dtype, seed += 7);
    std::vector<float> own, cudnn;
    runGpu(p, Mode::Off, own);
    runGpu(p, Mode::On, cudnn);
    const Errors vs_own = compare(cudnn, own);
    EXPECT_LE(vs_own.max_abs, max_abs) << "cuDNN vs own kernel";
    EXPECT_LE(vs_own.rel_l2, rel_l2) << "cuDNN vs own kernel";
    std::printf("  %-28s %-4s cuDNN vs own: max |d| %.3g, rel L2 %.3g",
                s.name, dtypeName(dtype), vs_own.max_abs, vs_own.rel_l2);
    if (s.cpu) {
      const std::vector<float> q = fromHalf(dtype, p.q),
                               k = fromHalf(dtype, p.k),
                               v = fromHalf(dtype, p.v);
      std::vector<float> want(p.on);
      ditc_rt_attention_layout_f32(q.data(), k.data(), v.data(), nullptr,
                                   DITC_RT_MASK_NONE, nullptr, want.data(),
                                   nullptr, s.B, s.H, s.Hkv, s.Sq, s.Sk, s.D,
                                   s.D, p.scale, s.causal, 0, 0, 0, s.layout);
      const Errors c = compare(cudnn, want), o = compare(own, want);
      EXPECT_LE(c.max_abs, max_abs) << "cuDNN vs CPU";
      EXPECT_LE(c.rel_l2, rel_l2) << "cuDNN vs CPU";
      std::printf("; vs CPU: cuDNN %.3g / %.3g, own %.3g / %.3g", c.max_abs,
                  c.rel_l2, o.max_abs, o.rel_l2);
    }
    std::printf("\n");
  }
}

INSTANTIATE_TEST_SUITE_P(Dtypes, CudnnSdpa,
                         ::testing::Values(DITC_RT_F16, DITC_RT_BF16),
                         [](const ::testing::TestParamInfo<int32_t> &i) {
                           return std::string(dtypeName(i.param));
                         });

// Blocks of Ring attention (runtime/cuda/ring_attention.cpp attends to its
// 16-bit blocks in their type): cuDNN with its softmax stats as the lse,
// against the own kernel on the same block, out and lse. Offsets (a band
// off the diagonal, or none), keys cut at kv_valid, seq-major tensors with
// a [B, Sq, H] lse (cuDNN >= 9.12 writes the stats where their strides
// say).
struct Block {
  const char *name;
  Shape s;
  int64_t qFirst, kFirst, kvValid;
};

const Block kBlocks[] = {
    {"keys after the queries", {"", 2, 16, 16, 256, 256, 64, false, 0, false}, 0, 256, 0},
    {"seq-major, 200 of 256 keys valid",
     {"", 2, 16, 16, 256, 256, 64, false,
      DITC_RT_SEQ_MAJOR_Q | DITC_RT_SEQ_MAJOR_K | DITC_RT_SEQ_MAJOR_V | DITC_RT_SEQ_MAJOR_OUT,
      false},
     0, 768, 968},
    {"causal diagonal", {"", 2, 16, 16, 512, 512, 128, true, 0, false}, 512, 512, 0},
    {"causal band 128 (GQA, seq-major)",
     {"", 2, 16, 4, 512, 512, 128, true,
      DITC_RT_SEQ_MAJOR_Q | DITC_RT_SEQ_MAJOR_K | DITC_RT_SEQ_MAJOR_V | DITC_RT_SEQ_MAJOR_OUT,
      false},
     128, 0, 0},
    {"causal, every key before the queries", {"", 1, 8, 8, 256, 256, 64, true, 0, false}, 512, 0, 0},
};

void runBlock(const Problem &p, const Block &b, Mode mode, std::vector<float> &out,
              std::vector<float> &lse) {
  const Shape &s = p.s;
  const int64_t rows = s.B * s.H * s.Sq;
  Device q(p.qn * 2), k(p.kn * 2), v(p.kn * 2), o(p.on * 2), l(rows * 4);
  ASSERT_TRUE(q.p && k.p && v.p && o.p && l.p);
  CUDA_OK(cudaMemcpy(q.p, p.q.data(), p.qn * 2, cudaMemcpyHostToDevice));
  CUDA_OK(cudaMemcpy(k.p, p.k.data(), p.kn * 2, cudaMemcpyHostToDevice));
  CUDA_OK(cudaMemcpy(v.p, p.v.data(), p.kn * 2, cudaMemcpyHostToDevice));
  CUDA_OK(cudaMemset(o.p, 0xff, p.on * 2)); // NaNs where nothing is written
  CUDA_OK(cudaMemset(l.p, 0xff, rows * 4));
  ditc_cu::sdpa::set_mode(mode);
  const auto before = ditc_cu::sdpa::counters();
  ditc_cu_attention_layout(p.dtype, q.p, k.p, v.p, nullptr, DITC_RT_MASK_NONE, nullptr, o.p,
                           static_cast<float *>(l.p), s.B, s.H, s.Hkv, s.Sq, s.Sk, s.D, s.D,
                           p.scale, s.causal, b.qFirst, b.kFirst, b.kvValid, s.layout);
  CUDA_OK(cudaDeviceSynchronize());
  const auto after = ditc_cu::sdpa::counters();
  EXPECT_EQ(after.ran - before.ran, mode == Mode::On ? 1u : 0u)
      << (mode == Mode::On ? "cuDNN did not run the block" : "cuDNN ran with DITC_CUDNN=0");
  std::vector<uint16_t> bits(p.on);
  CUDA_OK(cudaMemcpy(bits.data(), o.p, p.on * 2, cudaMemcpyDeviceToHost));
  out = fromHalf(p.dtype, bits);
  lse.resize(rows);
  CUDA_OK(cudaMemcpy(lse.data(), l.p, rows * 4, cudaMemcpyDeviceToHost));
}

TEST_P(CudnnSdpa, RingBlocksWithLseMatchTheOwnKernel) {
  const int32_t dtype = GetParam();
  double max_abs, rel_l2;
  bounds(dtype, max_abs, rel_l2);
  uint32_t seed = 101;
  int runs = 0;
  for (const Block &b : kBlocks) {
    SCOPED_TRACE(std::string(b.name) + " " + dtypeName(dtype));
    const Problem p = make(b.s, dtype, seed += 7);
    std::vector<float> own, cudnn, ownLse, cudnnLse;
    runBlock(p, b, Mode::Off, own, ownLse);
    runBlock(p, b, Mode::On, cudnn, cudnnLse);
    const Errors o = compare(cudnn, own);
    EXPECT_LE(o.max_abs, max_abs) << "out: cuDNN vs own kernel";
    EXPECT_LE(o.rel_l2, rel_l2) << "out: cuDNN vs own kernel";
    // The lse is f32 on both sides, from the same rounded inputs: only the
    // order of the sums differs.
    double worst = 0;
    int64_t off = 0; // rows off, NaN (not written) included
    for (size_t r = 0; r < ownLse.size(); ++r) {
      const double err = std::fabs((double)cudnnLse[r] - ownLse[r]) /
                         (1 + std::fabs((double)ownLse[r]));
      if (!(err <= 1e-4))
        ++off;
      else
        worst = std::max(worst, err);
    }
    EXPECT_EQ(off, 0) << "lse rows off: cuDNN vs own kernel";
    std::printf("  %-36s %-4s cuDNN vs own: out max |d| %.3g rel L2 %.3g, lse %.3g\n", b.name,
                dtypeName(dtype), o.max_abs, o.rel_l2, worst);
    ++runs;
  }
  EXPECT_EQ(runs, 5);
}

// What cuDNN must not take runs on the own kernel even with DITC_CUDNN=1.
TEST(CudnnSdpaRefused, F32AndOddHeadsRunTheOwnKernel) {
  if (!g_unusable.empty())
    FAIL() << "cuDNN is not usable here: " << g_unusable;
  ditc_cu::sdpa::set_mode(Mode::On);
  const int64_t B = 1, H = 4, S = 128;
  Device q(B * H * S * 80 * 4), k(B * H * S * 80 * 4), v(B * H * S * 80 * 4),
      o(B * H * S * 80 * 4);
  CUDA_OK(cudaMemset(q.p, 0, B * H * S * 80 * 4));
  CUDA_OK(cudaMemset(k.p, 0, B * H * S * 80 * 4));
  CUDA_OK(cudaMemset(v.p, 0, B * H * S * 80 * 4));
  const auto before = ditc_cu::sdpa::counters();
  ditc_cu_attention(DITC_RT_F32, q.p, k.p, v.p, nullptr, DITC_RT_MASK_NONE,
                    nullptr, o.p, B, H, H, S, S, 64, 64, 0.125f, 0);
  ditc_cu_attention(DITC_RT_BF16, q.p, k.p, v.p, nullptr, DITC_RT_MASK_NONE,
                    nullptr, o.p, B, H, H, S, S, 76, 76, 0.125f, 0);
  ditc_cu_attention(DITC_RT_F16, q.p, k.p, v.p, nullptr, DITC_RT_MASK_NONE,
                    nullptr, o.p, B, H, H, S, S / 2, 64, 64, 0.125f, 1);
  CUDA_OK(cudaDeviceSynchronize());
  const auto after = ditc_cu::sdpa::counters();
  EXPECT_EQ(after.ran, before.ran);
  EXPECT_EQ(after.fell_back - before.fell_back, 3u);
  ditc_cu::sdpa::set_mode(Mode::Auto);
}

// A plan built before the capture executes inside it: the replay writes what
// the eager call wrote. A problem without a plan, first seen during a
// capture, runs the own kernel there (and builds no plan).
TEST(CudnnSdpaGraph, CapturedAndReplayed) {
  if (!g_unusable.empty())
    FAIL() << "cuDNN is not usable here: " << g_unusable;
  ditc_cu::sdpa::set_mode(Mode::On);
  const Shape s = {"graph", 2, 16, 4, 1024, 1024, 128, true, 0, false};
  const Problem p = make(s, DITC_RT_BF16, 5);
  Device q(p.qn * 2), k(p.kn * 2), v(p.kn * 2), o(p.on * 2), o2(p.on * 2);
  CUDA_OK(cudaMemcpy(q.p, p.q.data(), p.qn * 2, cudaMemcpyHostToDevice));
  CUDA_OK(cudaMemcpy(k.p, p.k.data(), p.kn * 2, cudaMemcpyHostToDevice));
  CUDA_OK(cudaMemcpy(v.p, p.v.data(), p.kn * 2, cudaMemcpyHostToDevice));
  auto call = [&](void *out, int64_t sq) {
    ditc_cu_attention(DITC_RT_BF16, q.p, k.p, v.p, nullptr, DITC_RT_MASK_NONE,
                      nullptr, out, s.B, s.H, s.Hkv, sq, sq, s.D, s.D, p.scale,
                      1);
  };
  call(o.p, s.Sq); // eager: builds the plan
  CUDA_OK(cudaDeviceSynchronize());
  std::vector<uint16_t> eager(p.on), replay(p.on);
  CUDA_OK(cudaMemcpy(eager.data(), o.p, p.on * 2, cudaMemcpyDeviceToHost));
  CUDA_OK(cudaMemset(o.p, 0xff, p.on * 2));
  CUDA_OK(cudaMemset(o2.p, 0xff, p.on * 2));

  cudaStream_t st;
  CUDA_OK(cudaStreamCreate(&st));
  ditc_cu_set_stream(st);
  const auto before = ditc_cu::sdpa::counters();
  cudaGraph_t graph;
  CUDA_OK(cudaStreamBeginCapture(st, cudaStreamCaptureModeGlobal));
  call(o.p, s.Sq);      // the plan exists: cuDNN, captured
  call(o2.p, s.Sq / 2); // no plan for Sq/2 yet: the own kernel
  CUDA_OK(cudaStreamEndCapture(st, &graph));
  ditc_cu_set_stream(nullptr);
  const auto after = ditc_cu::sdpa::counters();
  EXPECT_EQ(after.ran - before.ran, 1u);
  EXPECT_EQ(after.plans, before.plans) << "a plan was built during a capture";
  EXPECT_EQ(after.fell_back - before.fell_back, 1u);
  cudaGraphExec_t exec;
  CUDA_OK(cudaGraphInstantiate(&exec, graph, 0));
  for (int i = 0; i < 2; ++i)
    CUDA_OK(cudaGraphLaunch(exec, st));
  CUDA_OK(cudaStreamSynchronize(st));
  CUDA_OK(cudaMemcpy(replay.data(), o.p, p.on * 2, cudaMemcpyDeviceToHost));
  EXPECT_TRUE(replay == eager) << "the replay differs from the eager call";
  // The fallen-back half against the own kernel outside the capture.
  std::vector<uint16_t> half(p.on / 2), own(p.on / 2);
  CUDA_OK(cudaMemcpy(half.data(), o2.p, p.on, cudaMemcpyDeviceToHost));
  ditc_cu::sdpa::set_mode(Mode::Off);
  call(o2.p, s.Sq / 2);
  CUDA_OK(cudaDeviceSynchronize());
  CUDA_OK(cudaMemcpy(own.data(), o2.p, p.on, cudaMemcpyDeviceToHost));
  EXPECT_TRUE(half == own) << "the captured fallback is not the own kernel";
  CUDA_OK(cudaGraphExecDestroy(exec));
  CUDA_OK(cudaGraphDestroy(graph));
  CUDA_OK(cudaStreamDestroy(st));
  ditc_cu::sdpa::set_mode(Mode::Auto);
}

} // namespace

int main(int argc, char **argv) {
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess || count == 0) {
    std::printf("no GPU: %s\n",
                e != cudaSuccess ? cudaGetErrorString(e) : "no CUDA device");
    return 77;
  }
  cudaDeviceProp prop;
  if (cudaGetDeviceProperties(&prop, 0) == cudaSuccess) {
    std::printf("device 0: %s (sm_%d%d)\n", prop.name, prop.major, prop.minor);
    if (prop.major < 8) {
      std::printf("no GPU: cuDNN's SDPA needs sm_80 or newer\n");
      return 77;
    }
  }
  if (!ditc_cu::sdpa::built_with_frontend()) {
    g_unusable = "the runtime was built without cudnn-frontend";
  } else {
    std::string why;
    const int64_t version = ditc_cu::sdpa::library_version(why);
    if (version == 0)
      g_unusable = why;
    else
      std::printf("cuDNN %lld\n", (long long)version);
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
