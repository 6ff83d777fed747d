//===- EmuRuntimeTest.cpp - The host emulation's own CUDA runtime ---------===//
//
// Part of CudaKernelEmuTests only (DITC_CU_EMULATE): test/Cuda/emu's
// streams, events, graph capture and replay, the calls a capture forbids,
// the emulated device, and emu/gemm_emu.cpp (the stand-in for cuBLASLt that
// libditc_model_cuda_emu.a links) against the CPU runtime's linear / matmul.
//
//===----------------------------------------------------------------------===//
#include "CudaTestUtil.h"

#include "cuda_runtime_api.h"
#include "gemm.h"
#include "kernel_math.h"

#include <cuda_runtime.h>

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace {

using namespace ditc_cuda_test;

#define EMU_OK(expr) ASSERT_EQ((expr), cudaSuccess) << #expr

/// The current stream for the launchers, restored at scope exit.
struct StreamScope {
  cudaStream_t s = nullptr;
  void *previous;
  explicit StreamScope(unsigned flags = cudaStreamNonBlocking)
      : previous(ditc_cu_get_stream()) {
    cudaStreamCreateWithFlags(&s, flags);
    ditc_cu_set_stream(s);
  }
  ~StreamScope() {
    ditc_cu_set_stream(previous);
    cudaStreamDestroy(s);
  }
};

TEST(CudaEmuRuntime, Device) {
  int count = 0, dev = -1;
  EMU_OK(cudaGetDeviceCount(&count));
  EXPECT_EQ(count, 1);
  EMU_OK(cudaSetDevice(0));
  EXPECT_EQ(cudaSetDevice(1), cudaErrorInvalidDevice);
  EMU_OK(cudaGetDevice(&dev));
  EXPECT_EQ(dev, 0);
  cudaDeviceProp prop;
  EMU_OK(cudaGetDeviceProperties(&prop, 0));
  EXPECT_STREQ(prop.name, "ditc emulated GPU");
  EXPECT_EQ(prop.major * 10 + prop.minor, 90);
  size_t free_bytes = 0, total = 0;
  EMU_OK(cudaMemGetInfo(&free_bytes, &total));
  EXPECT_EQ(free_bytes, size_t(8) << 30);
  EXPECT_EQ(total, size_t(8) << 30);
}

// Launches, copies and memsets on a capturing stream run only when the
// graph is launched, each time, in order, on the buffers' contents then.
TEST(CudaEmuRuntime, CaptureRecordsAndGraphReplays) {
  const int64_t n = 1000;
  float *x = nullptr, *y = nullptr, *z = nullptr;
  EMU_OK(cudaMalloc(&x, n * 4));
  EMU_OK(cudaMalloc(&y, n * 4));
  EMU_OK(cudaMalloc(&z, n * 4));
  std::vector<float> hx = randomFloats(n, 1, -2.f, 2.f);
  EMU_OK(cudaMemcpy(x, hx.data(), n * 4, cudaMemcpyHostToDevice));
  for (int64_t i = 0; i < n; ++i)
    y[i] = z[i] = 7.f;
  cudaGraph_t graph = nullptr;
  {
    StreamScope scope;
    EMU_OK(cudaStreamBeginCapture(scope.s, cudaStreamCaptureModeThreadLocal));
    cudaStreamCaptureStatus status;
    EMU_OK(cudaStreamIsCapturing(scope.s, &status));
    EXPECT_EQ(status, cudaStreamCaptureStatusActive);
    EMU_OK(cudaMemsetAsync(y, 0, n * 4, scope.s));
    ditc_cu_unary(DITC_RT_UNARY_NEG, DITC_RT_F32, x, y, n);
    EMU_OK(cudaGetLastError());
    EMU_OK(cudaMemcpyAsync(z, y, n * 4, cudaMemcpyDeviceToDevice, scope.s));
    EMU_OK(cudaStreamEndCapture(scope.s, &graph));
    ASSERT_NE(graph, nullptr);
    EMU_OK(cudaStreamIsCapturing(scope.s, &status));
    EXPECT_EQ(status, cudaStreamCaptureStatusNone);
    EXPECT_EQ(y[0], 7.f); // nothing ran
    EXPECT_EQ(z[n - 1], 7.f);
    size_t nodes = 0;
    EMU_OK(cudaGraphGetNodes(graph, nullptr, &nodes));
    EXPECT_EQ(nodes, 3u);
    cudaGraphExec_t exec = nullptr;
    EMU_OK(cudaGraphInstantiate(&exec, graph, 0));
    EMU_OK(cudaGraphDestroy(graph));
    EMU_OK(cudaGraphLaunch(exec, scope.s));
    EMU_OK(cudaStreamSynchronize(scope.s));
    for (int64_t i = 0; i < n; ++i) {
      ASSERT_EQ(y[i], -hx[i]) << i;
      ASSERT_EQ(z[i], -hx[i]) << i;
    }
    // New contents, same pointers: the replay recomputes.
    for (int64_t i = 0; i < n; ++i)
      x[i] = (float)i;
    EMU_OK(cudaGraphLaunch(exec, scope.s));
    for (int64_t i = 0; i < n; ++i)
      ASSERT_EQ(z[i], -(float)i) << i;
    EMU_OK(cudaGraphExecDestroy(exec));
  }
  cudaFree(x);
  cudaFree(y);
  cudaFree(z);
}

// A stream that waits for an event recorded into a capture joins it (a
// fork): its work is recorded into the graph in the order it is issued. The
// capture ends only once the capturing stream has waited for the forked
// stream's last work (a join), as on a GPU.
TEST(CudaEmuRuntime, ForkedStreamsJoinTheCapture) {
  const int64_t n = 64;
  float *x = nullptr, *y = nullptr;
  EMU_OK(cudaMalloc(&x, n * 4));
  EMU_OK(cudaMalloc(&y, n * 4));
  for (int64_t i = 0; i < n; ++i)
    x[i] = y[i] = 1.f;
  cudaStream_t side = nullptr;
  cudaEvent_t forked = nullptr, done = nullptr;
  EMU_OK(cudaStreamCreateWithFlags(&side, cudaStreamNonBlocking));
  EMU_OK(cudaEventCreateWithFlags(&forked, cudaEventDisableTiming));
  EMU_OK(cudaEventCreateWithFlags(&done, cudaEventDisableTiming));
  {
    StreamScope scope;
    for (bool join : {true, false}) {
      cudaGraph_t graph = nullptr;
      EMU_OK(cudaStreamBeginCapture(scope.s, cudaStreamCaptureModeThreadLocal));
      EMU_OK(cudaEventRecord(forked, scope.s));
      EMU_OK(cudaStreamWaitEvent(side, forked, 0));
      cudaStreamCaptureStatus status;
      EMU_OK(cudaStreamIsCapturing(side, &status));
      EXPECT_EQ(status, cudaStreamCaptureStatusActive);
      EMU_OK(cudaMemcpyAsync(y, x, n * 4, cudaMemcpyDeviceToDevice, side));
      EMU_OK(cudaEventRecord(done, side));
      if (join)
        EMU_OK(cudaStreamWaitEvent(scope.s, done, 0));
      ditc_cu_unary(DITC_RT_UNARY_NEG, DITC_RT_F32, y, y, n);
      cudaError_t e = cudaStreamEndCapture(scope.s, &graph);
      EMU_OK(cudaStreamIsCapturing(side, &status));
      EXPECT_EQ(status, cudaStreamCaptureStatusNone) << "the fork ends with the capture";
      if (!join) {
        EXPECT_EQ(e, cudaErrorStreamCaptureUnjoined);
        EXPECT_EQ(graph, nullptr);
        continue;
      }
      EMU_OK(e);
      EXPECT_EQ(y[0], 1.f); // nothing ran
      size_t nodes = 0;
      EMU_OK(cudaGraphGetNodes(graph, nullptr, &nodes));
      EXPECT_EQ(nodes, 4u); // record, copy, record, negate
      cudaGraphExec_t exec = nullptr;
      EMU_OK(cudaGraphInstantiate(&exec, graph, 0));
      for (int64_t i = 0; i < n; ++i)
        x[i] = (float)i;
      EMU_OK(cudaGraphLaunch(exec, scope.s));
      for (int64_t i = 0; i < n; ++i)
        ASSERT_EQ(y[i], -(float)i) << i; // the copy, then the negation
      EMU_OK(cudaGraphExecDestroy(exec));
      EMU_OK(cudaGraphDestroy(graph));
    }
  }
  // Outside a capture the wait orders nothing that has not run.
  EMU_OK(cudaEventRecord(forked, nullptr));
  EMU_OK(cudaStreamWaitEvent(side, forked, 0));
  cudaEventDestroy(forked);
  cudaEventDestroy(done);
  cudaStreamDestroy(side);
  cudaFree(x);
  cudaFree(y);
}

// A global or thread-local capture forbids what would synchronize or
// allocate; the capture is then invalidated. Relaxed mode allows
// allocation.
TEST(CudaEmuRuntime, UnsafeCallsInvalidateTheCapture) {
  StreamScope scope;
  void *p = nullptr;
  EMU_OK(cudaStreamBeginCapture(scope.s, cudaStreamCaptureModeGlobal));
  EXPECT_EQ(cudaMalloc(&p, 64), cudaErrorStreamCaptureUnsupported);
  EXPECT_EQ(p, nullptr);
  cudaStreamCaptureStatus status;
  EMU_OK(cudaStreamIsCapturing(scope.s, &status));
  EXPECT_EQ(status, cudaStreamCaptureStatusInvalidated);
  cudaGraph_t graph = reinterpret_cast<cudaGraph_t>(1);
  EXPECT_EQ(cudaStreamEndCapture(scope.s, &graph),
            cudaErrorStreamCaptureInvalidated);
  EXPECT_EQ(graph, nullptr);

  char buf[16] = {};
  for (auto unsafe :
       {+[](char *b) { return cudaMemset(b, 1, 16); },
        +[](char *b) { return cudaMemcpy(b, b + 8, 8, cudaMemcpyDefault); },
        +[](char *) { return cudaDeviceSynchronize(); },
        +[](char *) { return cudaStreamSynchronize(nullptr); }}) {
    EMU_OK(cudaStreamBeginCapture(scope.s, cudaStreamCaptureModeThreadLocal));
    EXPECT_EQ(unsafe(buf), cudaErrorStreamCaptureUnsupported);
    EXPECT_EQ(cudaStreamEndCapture(scope.s, &graph),
              cudaErrorStreamCaptureInvalidated);
  }
  EXPECT_EQ(buf[0], 0);

  // Waiting for the stream being captured: never allowed.
  EMU_OK(cudaStreamBeginCapture(scope.s, cudaStreamCaptureModeRelaxed));
  EXPECT_EQ(cudaStreamSynchronize(scope.s), cudaErrorStreamCaptureUnsupported);
  EXPECT_EQ(cudaStreamEndCapture(scope.s, &graph),
            cudaErrorStreamCaptureInvalidated);

  EMU_OK(cudaStreamBeginCapture(scope.s, cudaStreamCaptureModeRelaxed));
  EMU_OK(cudaMalloc(&p, 64));
  EMU_OK(cudaStreamEndCapture(scope.s, &graph));
  EMU_OK(cudaGraphDestroy(graph));
  EMU_OK(cudaFree(p));

  // The legacy stream joins a blocking stream's capture: an error.
  StreamScope blocking(cudaStreamDefault);
  EMU_OK(cudaStreamBeginCapture(blocking.s, cudaStreamCaptureModeGlobal));
  EXPECT_EQ(cudaMemsetAsync(buf, 1, 16, nullptr),
            cudaErrorStreamCaptureImplicit);
  EXPECT_EQ(buf[0], 0);
  EXPECT_EQ(cudaStreamEndCapture(blocking.s, &graph),
            cudaErrorStreamCaptureInvalidated);
  // Capturing the legacy stream itself is not possible.
  EXPECT_EQ(cudaStreamBeginCapture(nullptr, cudaStreamCaptureModeGlobal),
            cudaErrorStreamCaptureUnsupported);
  EXPECT_EQ(cudaStreamEndCapture(scope.s, &graph), cudaErrorIllegalState);
}

TEST(CudaEmuRuntime, EventsTimeStreamOrder) {
  StreamScope scope;
  cudaEvent_t a = nullptr, b = nullptr, untimed = nullptr;
  EMU_OK(cudaEventCreate(&a));
  EMU_OK(cudaEventCreate(&b));
  EMU_OK(cudaEventCreateWithFlags(&untimed, cudaEventDisableTiming));
  float ms = -1.f;
  EXPECT_EQ(cudaEventElapsedTime(&ms, a, b), cudaErrorInvalidResourceHandle);
  EMU_OK(cudaEventSynchronize(a)); // never recorded: nothing to wait for
  EMU_OK(cudaEventRecord(a, scope.s));
  std::vector<float> buf(1 << 16, 1.f);
  ditc_cu_unary(DITC_RT_UNARY_NEG, DITC_RT_F32, buf.data(), buf.data(),
                (int64_t)buf.size());
  EMU_OK(cudaEventRecord(b, scope.s));
  EMU_OK(cudaEventRecord(untimed, scope.s));
  EMU_OK(cudaEventSynchronize(b));
  EMU_OK(cudaEventElapsedTime(&ms, a, b));
  EXPECT_GT(ms, 0.f);
  EXPECT_LT(ms, 60e3f);
  EXPECT_EQ(cudaEventElapsedTime(&ms, a, untimed),
            cudaErrorInvalidResourceHandle);

  // Recorded in a capture: stamped when the graph runs; waiting for it
  // from outside is an error until it is recorded outside again.
  cudaGraph_t graph = nullptr;
  EMU_OK(cudaStreamBeginCapture(scope.s, cudaStreamCaptureModeThreadLocal));
  EMU_OK(cudaEventRecord(b, scope.s));
  EMU_OK(cudaStreamEndCapture(scope.s, &graph));
  EXPECT_EQ(cudaEventSynchronize(b), cudaErrorCapturedEvent);
  cudaGraphExec_t exec = nullptr;
  EMU_OK(cudaGraphInstantiate(&exec, graph, 0));
  float before = 0.f, after = 0.f;
  EMU_OK(cudaEventElapsedTime(&before, a, b));
  EMU_OK(cudaGraphLaunch(exec, scope.s));
  EMU_OK(cudaEventElapsedTime(&after, a, b));
  EXPECT_GE(after, before);
  EMU_OK(cudaEventRecord(b, scope.s));
  EMU_OK(cudaEventSynchronize(b));
  EMU_OK(cudaGraphExecDestroy(exec));
  EMU_OK(cudaGraphDestroy(graph));
  for (cudaEvent_t e : {a, b, untimed})
    EMU_OK(cudaEventDestroy(e));
}

//--- emu/gemm_emu.cpp against the CPU runtime ---------------------------//

std::vector<float> roundTo(int32_t dtype, const std::vector<float> &v) {
  std::vector<float> r(v);
  for (float &x : r)
    x = dtype == DITC_RT_BF16
            ? ditc_cu::math::to_f32(
                  ditc_cu::math::from_f32<ditc_cu::math::bfloat_t>(x))
        : dtype == DITC_RT_F16
            ? ditc_cu::math::to_f32(
                  ditc_cu::math::from_f32<ditc_cu::math::half_t>(x))
            : x;
  return r;
}

/// v as `dtype` storage.
std::vector<uint8_t> store(int32_t dtype, const std::vector<float> &v) {
  const size_t es = dtype == DITC_RT_F32 ? 4 : 2;
  std::vector<uint8_t> out(v.size() * es);
  for (size_t i = 0; i < v.size(); ++i) {
    if (dtype == DITC_RT_F32) {
      std::memcpy(&out[i * 4], &v[i], 4);
    } else {
      const uint16_t bits =
          dtype == DITC_RT_BF16
              ? ditc_cu::math::from_f32<ditc_cu::math::bfloat_t>(v[i]).bits
              : ditc_cu::math::from_f32<ditc_cu::math::half_t>(v[i]).bits;
      std::memcpy(&out[i * 2], &bits, 2);
    }
  }
  return out;
}

std::vector<float> load(int32_t dtype, const std::vector<uint8_t> &b) {
  const size_t es = dtype == DITC_RT_F32 ? 4 : 2;
  std::vector<float> out(b.size() / es);
  for (size_t i = 0; i < out.size(); ++i) {
    if (dtype == DITC_RT_F32) {
      std::memcpy(&out[i], &b[i * 4], 4);
    } else {
      uint16_t bits;
      std::memcpy(&bits, &b[i * 2], 2);
      out[i] = dtype == DITC_RT_BF16 ? ditc_cu::math::bf16_bits_to_f32(bits)
                                     : ditc_cu::math::f16_bits_to_f32(bits);
    }
  }
  return out;
}

/// Within one ulp of the dtype (sums in another order may round across a
/// boundary), or 1e-5 relative for f32.
void expectClose(int32_t dtype, const std::vector<float> &got,
                 const std::vector<float> &want, const char *what) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    const float tol =
        dtype == DITC_RT_F32
            ? 1e-5f * (1.f + std::fabs(want[i]))
            : std::fabs(want[i]) *
                      (dtype == DITC_RT_BF16 ? 1.f / 128 : 1.f / 1024) +
                  1e-6f;
    ASSERT_NEAR(got[i], want[i], tol) << what << " element " << i;
  }
}

class CudaEmuGemm : public testing::TestWithParam<int32_t> {};

TEST_P(CudaEmuGemm, LinearMatchesTheCpu) {
  const int32_t dtype = GetParam();
  uint32_t seed = 10;
  int ran = 0;
  for (int transpose = 0; transpose < 2; ++transpose)
    for (int with_bias = 0; with_bias < 2; ++with_bias)
      for (int64_t k : {0, 1, 37})
        for (int32_t act : {int32_t(DITC_RT_ACTIVATION_NONE),
                            int32_t(DITC_RT_UNARY_GELU),
                            int32_t(DITC_RT_UNARY_GELU_TANH),
                            int32_t(DITC_RT_UNARY_SILU)}) {
        const int64_t m = 5, n = 19;
        const std::vector<uint8_t> x =
            store(dtype, randomFloats(m * k, ++seed, -1.f, 1.f));
        const std::vector<uint8_t> w =
            store(dtype, randomFloats(k * n, ++seed, -1.f, 1.f));
        const std::vector<uint8_t> b =
            store(dtype, randomFloats(n, ++seed, -1.f, 1.f));
        const size_t es = dtype == DITC_RT_F32 ? 4 : 2;
        std::vector<uint8_t> got(m * n * es, 0xff), want(m * n * es);
        const void *bias = with_bias ? b.data() : nullptr;
        ditc_cu_linear(dtype, x.data(), w.data(), bias, got.data(), m, k, n,
                       transpose, act);
        // gemm.h's contract: GELU_TANH is cuBLASLt's epilogue, on the f32
        // sum (the CPU's fused linear); GELU and SILU run over the stored
        // product (the CPU's linear, then its unary kernel), as does any
        // activation of an empty sum.
        if (act == DITC_RT_UNARY_GELU_TANH && k > 0) {
          ditc_rt_linear(dtype, x.data(), w.data(), bias, want.data(), m, k, n,
                         transpose, act);
        } else {
          ditc_rt_linear(dtype, x.data(), w.data(), bias, want.data(), m, k, n,
                         transpose, DITC_RT_ACTIVATION_NONE);
          if (act != DITC_RT_ACTIVATION_NONE)
            ditc_rt_unary(act, dtype, want.data(), want.data(), m * n);
        }
        const std::string what = "transpose " + std::to_string(transpose) +
                                 " bias " + std::to_string(with_bias) + " k " +
                                 std::to_string(k) + " activation " +
                                 std::to_string(act);
        expectClose(dtype, load(dtype, got), load(dtype, want), what.c_str());
        ++ran;
      }
  EXPECT_EQ(ran, 2 * 2 * 3 * 4);
}

TEST_P(CudaEmuGemm, BatchedBroadcastMatmulMatchesTheCpu) {
  const int32_t dtype = GetParam();
  const int64_t m = 6, k = 11, n = 9;
  // Batch [3, 4]: a broadcast over the first dim, b over the second.
  const int64_t shape[2] = {3, 4}, as[2] = {0, m * k}, bs[2] = {k * n, 0};
  const std::vector<uint8_t> a =
      store(dtype, randomFloats(4 * m * k, 3, -1.f, 1.f));
  const std::vector<uint8_t> b =
      store(dtype, randomFloats(3 * k * n, 4, -1.f, 1.f));
  const size_t es = dtype == DITC_RT_F32 ? 4 : 2;
  std::vector<uint8_t> got(12 * m * n * es, 0xff), want(12 * m * n * es);
  // Captured: the stride arrays are read at the call, not at the replay.
  StreamScope scope;
  int64_t shape_c[2], as_c[2], bs_c[2];
  std::memcpy(shape_c, shape, sizeof shape);
  std::memcpy(as_c, as, sizeof as);
  std::memcpy(bs_c, bs, sizeof bs);
  cudaGraph_t graph = nullptr;
  EMU_OK(cudaStreamBeginCapture(scope.s, cudaStreamCaptureModeThreadLocal));
  ditc_cu_matmul(dtype, a.data(), b.data(), got.data(), m, k, n, 2, shape_c,
                 as_c, bs_c);
  EMU_OK(cudaStreamEndCapture(scope.s, &graph));
  std::memset(shape_c, 0, sizeof shape_c);
  std::memset(as_c, 0, sizeof as_c);
  std::memset(bs_c, 0, sizeof bs_c);
  EXPECT_EQ(got[0], 0xff); // not run yet
  cudaGraphExec_t exec = nullptr;
  EMU_OK(cudaGraphInstantiate(&exec, graph, 0));
  EMU_OK(cudaGraphLaunch(exec, scope.s));
  ditc_rt_matmul(dtype, a.data(), b.data(), want.data(), m, k, n, 2, shape, as,
                 bs);
  expectClose(dtype, load(dtype, got), load(dtype, want), "matmul");
  EMU_OK(cudaGraphExecDestroy(exec));
  EMU_OK(cudaGraphDestroy(graph));
}

INSTANTIATE_TEST_SUITE_P(Dtype, CudaEmuGemm,
                         testing::Values(DITC_RT_F32, DITC_RT_F16,
                                         DITC_RT_BF16));

TEST(CudaEmuGemmDeathTest, BadArgumentsAbortAsGemmCppDoes) {
  EXPECT_DEATH(ditc_cu_linear(DITC_RT_B8, nullptr, nullptr, nullptr, nullptr, 1,
                              1, 1, 0, DITC_RT_ACTIVATION_NONE),
               "ditc cuda: linear: dtype .* is not F32, F16 or BF16");
  EXPECT_DEATH(ditc_cu_linear(DITC_RT_F32, nullptr, nullptr, nullptr, nullptr, 1,
                              1, 1, 0, DITC_RT_UNARY_RELU),
               "ditc cuda: linear: activation 9 is not GELU, GELU_TANH or SILU");
  EXPECT_DEATH(ditc_cu_matmul(DITC_RT_F32, nullptr, nullptr, nullptr, 1, 1, 1,
                              1, nullptr, nullptr, nullptr),
               "ditc cuda: matmul: batch rank 1 with a null shape");
  ditc_cu_gemm_prepare(DITC_RT_F32, 4, 4, 4, 0, 0, DITC_RT_ACTIVATION_NONE, 0,
                       nullptr, nullptr, nullptr); // nothing to prepare
}

} // namespace
