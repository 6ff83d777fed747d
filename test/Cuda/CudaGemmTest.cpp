//===- CudaGemmTest.cpp - ditc_cu_linear / ditc_cu_matmul against the CPU -===//
//
// The cuBLASLt launchers (runtime/cuda/gemm.cpp) on the GPU, on random data
// in F32, F16 and BF16, against the CPU runtime's ditc_rt_linear /
// ditc_rt_matmul (F32) on the same inputs (for F16 / BF16: the inputs
// rounded to the type, which is what the device reads): odd sizes (m = 1,
// k = 77, n = 300), with and without bias, transposed weights, k = 0,
// batches of rank 0 to 4 with broadcast, transposed-order and negative
// batch strides (one strided-batched call or a host loop), operands that
// are not 16-byte aligned, calls from several threads, and calls captured
// into a CUDA graph and replayed (prepared with ditc_cu_gemm_prepare, and
// not).
//
// Built as ditc-cuda-gemm-tests (build/bin) and run by gemm.test where lit
// finds a GPU; without a usable one it prints "no GPU: ..." and exits 77.
//
//===----------------------------------------------------------------------===//
#include "CudaTestUtil.h"
#include "cuda_runtime_api.h"
#include "gemm.h"

#include <cuda_runtime.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

using namespace ditc_cuda_test;

namespace {

/// A device buffer (bytes), filled from / read back to the host.
class Dev {
public:
  explicit Dev(size_t bytes) : bytes_(bytes) {
    if (cudaMalloc(&p_, bytes ? bytes : 1) != cudaSuccess)
      p_ = nullptr;
    EXPECT_NE(p_, nullptr) << "cudaMalloc(" << bytes << ")";
  }
  template <class T>
  explicit Dev(const std::vector<T> &v) : Dev(v.size() * sizeof(T)) {
    put(v.data());
  }
  ~Dev() { cudaFree(p_); }
  Dev(const Dev &) = delete;
  Dev &operator=(const Dev &) = delete;

  // put and poison wait for the device: a pageable cudaMemcpy or a
  // cudaMemset may return before the copy lands, and the graph tests then
  // read the buffers from a stream that does not wait for the legacy one.
  void put(const void *host) {
    if (bytes_) {
      EXPECT_EQ(cudaMemcpy(p_, host, bytes_, cudaMemcpyHostToDevice),
                cudaSuccess);
    }
    EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  }
  /// Fills with 0xff bytes (a NaN in every float type).
  void poison() {
    EXPECT_EQ(cudaMemset(p_, 0xff, bytes_), cudaSuccess);
    EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  }
  std::vector<uint8_t> get() const {
    EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    std::vector<uint8_t> v(bytes_);
    if (bytes_) {
      EXPECT_EQ(cudaMemcpy(v.data(), p_, bytes_, cudaMemcpyDeviceToHost),
                cudaSuccess);
    }
    return v;
  }
  char *p() const { return static_cast<char *>(p_); }

private:
  void *p_ = nullptr;
  size_t bytes_;
};

/// Values of a float dtype: `exact` the f32 values the device sees (rounded
/// to the dtype), `bytes` their storage.
struct FloatData {
  std::vector<float> exact;
  std::vector<uint8_t> bytes;
};

FloatData floatData(int32_t dtype, const std::vector<float> &x) {
  FloatData d{x, {}};
  if (dtype == DITC_RT_F32) {
    d.bytes.resize(x.size() * 4);
    if (!x.empty())
      std::memcpy(d.bytes.data(), x.data(), d.bytes.size());
  } else {
    const std::vector<uint16_t> h = toHalf(dtype, x);
    d.exact = fromHalf(dtype, h);
    d.bytes.resize(h.size() * 2);
    if (!h.empty())
      std::memcpy(d.bytes.data(), h.data(), d.bytes.size());
  }
  return d;
}

FloatData randomData(int32_t dtype, int64_t n, uint32_t seed) {
  return floatData(dtype, randomFloats((size_t)n, seed, -1.f, 1.f));
}

std::vector<float> absOf(const std::vector<float> &v) {
  std::vector<float> a(v.size());
  std::transform(v.begin(), v.end(), a.begin(),
                 [](float x) { return std::fabs(x); });
  return a;
}

std::vector<float> decode(int32_t dtype, const std::vector<uint8_t> &bytes) {
  if (dtype == DITC_RT_F32) {
    std::vector<float> f(bytes.size() / 4);
    if (!f.empty())
      std::memcpy(f.data(), bytes.data(), bytes.size());
    return f;
  }
  std::vector<uint16_t> h(bytes.size() / 2);
  if (!h.empty())
    std::memcpy(h.data(), bytes.data(), bytes.size());
  return fromHalf(dtype, h);
}

/// The spacing of `dtype` (F16 / BF16) values at |x|.
double halfUlp(int32_t dtype, float x) {
  int e = 0;
  std::frexp(std::fabs(x), &e); // |x| = f 2^e, f in [0.5, 1)
  const int exponent = x == 0.f ? -1000 : e - 1;
  if (dtype == DITC_RT_F16)
    return std::ldexp(1.0, std::max(exponent, -14) - 10);
  return std::ldexp(1.0, std::max(exponent, -126) - 7);
}

/// The device's output (bytes of `dtype`) against the CPU's f32 result
/// `want` on the same (rounded) inputs. absSum: sum |x| |w| (+ |bias|) of
/// each output; noBias: the product without the bias (empty: no bias).
///
/// The tolerance. The CPU (oneDNN sgemm) and cuBLASLt (CUBLAS_COMPUTE_32F,
/// no TF32) both accumulate the k products in f32, in different orders
/// (cuBLASLt may also split k and add the partial sums): products of f32
/// inputs round once, those of f16 / bf16 inputs are exact in f32, and any
/// order of k additions, plus the bias, is within (k + 1) 2^-24 absSum of
/// the exact sum (the standard bound gamma_n). So the two f32 results differ
/// by at most 2 (k + 2) 2^-24 absSum, which is all F32 allows. F16 / BF16:
/// cuBLASLt then rounds to the type once (half an ulp of the type; one ulp
/// allows for the two sums falling on either side of a rounding boundary);
/// should its bias epilogue round the product to the type before adding the
/// bias, that is another half ulp of the product. A wrong element (a
/// mapping or batch offset error) is off by O(1).
void expectClose(int32_t dtype, const std::vector<uint8_t> &gotBytes,
                 const std::vector<float> &want,
                 const std::vector<float> &absSum, int64_t k,
                 const std::vector<float> &noBias = {}) {
  const std::vector<float> got = decode(dtype, gotBytes);
  ASSERT_EQ(got.size(), want.size());
  int failures = 0;
  for (size_t i = 0; i < got.size() && failures < 10; ++i) {
    double tol = 2.0 * (double)(k + 2) * std::ldexp(1.0, -24) * absSum[i];
    if (dtype != DITC_RT_F32) {
      tol += halfUlp(dtype, want[i]);
      if (!noBias.empty())
        tol += 0.5 * halfUlp(dtype, noBias[i]);
    }
    if (!(std::fabs((double)got[i] - want[i]) <= tol)) {
      ADD_FAILURE() << dtypeName(dtype) << " element " << i << ": " << got[i]
                    << " vs " << want[i] << " (tolerance " << tol << ")";
      ++failures;
    }
  }
}

std::string dtypeParamName(const testing::TestParamInfo<int32_t> &info) {
  return dtypeName(info.param);
}

//===--- linear ------------------------------------------------------------===//

struct LinearCase {
  const char *name;
  int64_t m, k, n;
  bool transpose, bias;
};

const LinearCase kLinearCases[] = {
    {"m1 k77 n300", 1, 77, 300, false, false},
    {"m1 k77 n300 bias", 1, 77, 300, false, true},
    {"m1 k77 n300 transposed bias", 1, 77, 300, true, true},
    {"m33 k77 n300 transposed", 33, 77, 300, true, false},
    {"m300 k1 n7 bias", 300, 1, 7, false, true},
    {"m7 k3 n1 transposed bias", 7, 3, 1, true, true},
    {"m64 k128 n256 bias", 64, 128, 256, false, true},
    {"m129 k512 n96 transposed bias", 129, 512, 96, true, true},
    {"m2 k4096 n3 (long sums)", 2, 4096, 3, false, false},
    {"m5 k0 n3 bias (the bias rows)", 5, 0, 3, false, true},
    {"m5 k0 n3 transposed (zeros)", 5, 0, 3, true, false},
};

/// Runs ditc_cu_linear on random data of case c (operands at `shift`
/// elements past cudaMalloc's alignment) and checks it against the CPU.
void checkLinear(int32_t dtype, const LinearCase &c, uint32_t seed,
                 int64_t shift = 0) {
  SCOPED_TRACE(std::string(c.name) + " shift " + std::to_string(shift));
  const int64_t es = elemSize(dtype), m = c.m, k = c.k, n = c.n;
  const FloatData x = randomData(dtype, m * k, seed);
  const FloatData w = randomData(dtype, k * n, seed + 1);
  const FloatData b = randomData(dtype, n, seed + 2);
  std::vector<float> want(m * n), absSum(m * n), noBias;
  ditc_rt_linear(DITC_RT_F32, x.exact.data(), w.exact.data(),
                 c.bias ? b.exact.data() : nullptr, want.data(), m, k, n,
                 c.transpose, DITC_RT_ACTIVATION_NONE);
  const std::vector<float> ax = absOf(x.exact), aw = absOf(w.exact),
                           ab = absOf(b.exact);
  ditc_rt_linear(DITC_RT_F32, ax.data(), aw.data(),
                 c.bias ? ab.data() : nullptr, absSum.data(), m, k, n,
                 c.transpose, DITC_RT_ACTIVATION_NONE);
  if (c.bias) {
    noBias.resize(m * n);
    ditc_rt_linear(DITC_RT_F32, x.exact.data(), w.exact.data(), nullptr,
                   noBias.data(), m, k, n, c.transpose, DITC_RT_ACTIVATION_NONE);
  }
  const size_t pad = (size_t)(shift * es);
  Dev dx(x.bytes.size() + pad), dw(w.bytes.size() + pad),
      db(b.bytes.size() + pad), dy(m * n * es + pad);
  auto put = [&](Dev &d, const std::vector<uint8_t> &bytes) {
    if (!bytes.empty()) {
      EXPECT_EQ(cudaMemcpy(d.p() + pad, bytes.data(), bytes.size(),
                           cudaMemcpyHostToDevice),
                cudaSuccess);
    }
  }; // (the legacy stream orders these before the launch)
  put(dx, x.bytes);
  put(dw, w.bytes);
  put(db, b.bytes);
  dy.poison();
  ditc_cu_linear(dtype, dx.p() + pad, dw.p() + pad,
                 c.bias ? db.p() + pad : nullptr, dy.p() + pad, m, k, n,
                 c.transpose, DITC_RT_ACTIVATION_NONE);
  std::vector<uint8_t> y = dy.get();
  y.erase(y.begin(), y.begin() + pad);
  expectClose(dtype, y, want, absSum, k, noBias);
}

class CudaLinear : public testing::TestWithParam<int32_t> {};

TEST_P(CudaLinear, AgainstTheCpu) {
  uint32_t seed = 10;
  for (const LinearCase &c : kLinearCases)
    checkLinear(GetParam(), c, seed += 3);
}

TEST_P(CudaLinear, UnalignedOperands) {
  // One element past a 256-byte boundary: 2- or 4-byte aligned operands
  // get plans of their own (alignment in the plan key).
  uint32_t seed = 100;
  for (const LinearCase &c : kLinearCases)
    if (c.k > 0 && c.m * c.n < 40000)
      checkLinear(GetParam(), c, seed += 3, 1);
}

TEST_P(CudaLinear, PreparedThenCalledAgain) {
  const int32_t dtype = GetParam();
  const LinearCase c = {"m48 k77 n300 transposed bias", 48, 77, 300, true,
                        true};
  ditc_cu_gemm_prepare(dtype, c.m, c.k, c.n, 1, 1, DITC_RT_ACTIVATION_NONE, 0,
                       nullptr, nullptr, nullptr);
  for (uint32_t seed : {1000u, 2000u})
    checkLinear(dtype, c, seed);
}

/// Whether cuBLASLt's epilogues are on (gemm.h: DITC_CUBLASLT_EPILOGUE=0
/// stores the product alone and adds the bias and the activation after it;
/// benchmarks/gpu/check.sh runs the linear tests both ways).
bool epiloguesOn() {
  const char *v = std::getenv("DITC_CUBLASLT_EPILOGUE");
  return !(v && std::strcmp(v, "0") == 0);
}

/// A fused activation against the CPU, as gemm.h promises it: GELU_TANH
/// through cuBLASLt's GELU epilogue on the f32 sum (the CPU's fused linear:
/// with k = 4 the f32 tolerance is ~1e-6, far below GELU's erf form's
/// distance from the tanh one, ~5e-4 where the products bend), GELU and SILU
/// over the stored (rounded) product.
TEST_P(CudaLinear, ActivationAgainstTheCpu) {
  const int32_t dtype = GetParam();
  const int64_t es = elemSize(dtype);
  int ran = 0;
  uint32_t seed = 500;
  for (int64_t k : {int64_t(4), int64_t(77)})
    for (bool bias : {false, true})
      for (int32_t act : {DITC_RT_UNARY_GELU_TANH, DITC_RT_UNARY_GELU,
                          DITC_RT_UNARY_SILU}) {
        const int64_t m = 33, n = 96;
        SCOPED_TRACE("k " + std::to_string(k) + " bias " + std::to_string(bias) +
                     " activation " + std::to_string(act));
        const FloatData x = randomData(dtype, m * k, seed++);
        const FloatData w = randomData(dtype, k * n, seed++);
        const FloatData b = randomData(dtype, n, seed++);
        const float *bp = bias ? b.exact.data() : nullptr;
        std::vector<float> want(m * n), product(m * n), absSum(m * n), noBias(m * n);
        ditc_rt_linear(DITC_RT_F32, x.exact.data(), w.exact.data(), bp,
                       want.data(), m, k, n, 1, act);
        ditc_rt_linear(DITC_RT_F32, x.exact.data(), w.exact.data(), bp,
                       product.data(), m, k, n, 1, DITC_RT_ACTIVATION_NONE);
        ditc_rt_linear(DITC_RT_F32, x.exact.data(), w.exact.data(), nullptr,
                       noBias.data(), m, k, n, 1, DITC_RT_ACTIVATION_NONE);
        const std::vector<float> ax = absOf(x.exact), aw = absOf(w.exact),
                                 ab = absOf(b.exact);
        ditc_rt_linear(DITC_RT_F32, ax.data(), aw.data(), bias ? ab.data() : nullptr,
                       absSum.data(), m, k, n, 1, DITC_RT_ACTIVATION_NONE);
        Dev dx(x.bytes.size()), dw(w.bytes.size()), db(b.bytes.size()),
            dy(m * n * es);
        dx.put(x.bytes.data());
        dw.put(w.bytes.data());
        db.put(b.bytes.data());
        dy.poison();
        ditc_cu_linear(dtype, dx.p(), dw.p(), bias ? db.p() : nullptr, dy.p(), m,
                       k, n, 1, act);
        CUDA_OK(cudaDeviceSynchronize());
        const std::vector<float> got = decode(dtype, dy.get());
        int failures = 0;
        for (int64_t i = 0; i < m * n && failures < 10; ++i) {
          // The sums' order through a slope under 1.2; the two activations'
          // own f32 ulps; a 16-bit result's rounding (after the epilogue, or
          // of the product and again of the activation).
          double tol = 1.2 * 2.0 * (double)(k + 2) * std::ldexp(1.0, -24) * absSum[i] +
                       4e-7 * (std::fabs(want[i]) + 1e-3);
          if (dtype != DITC_RT_F32) {
            tol += halfUlp(dtype, want[i]);
            if (act != DITC_RT_UNARY_GELU_TANH || !epiloguesOn())
              tol += 0.6 * halfUlp(dtype, product[i]);
            if (bias && !epiloguesOn()) // the product rounded before the bias
              tol += 0.6 * halfUlp(dtype, noBias[i]);
          }
          if (!(std::fabs((double)got[i] - want[i]) <= tol)) {
            ADD_FAILURE() << dtypeName(dtype) << " element " << i << ": " << got[i]
                          << " vs " << want[i] << " (tolerance " << tol << ")";
            ++failures;
          }
        }
        ++ran;
      }
  EXPECT_EQ(ran, 2 * 2 * 3);
}

INSTANTIATE_TEST_SUITE_P(Dtype, CudaLinear,
                         testing::Values(DITC_RT_F32, DITC_RT_F16,
                                         DITC_RT_BF16),
                         dtypeParamName);

//===--- matmul ------------------------------------------------------------===//

struct MatmulCase {
  const char *name;
  int64_t m, k, n;
  std::vector<int64_t> shape;
  // Batch strides in matrices of a (m*k elements) / b (k*n elements).
  std::vector<int64_t> a, b;
};

const std::vector<MatmulCase> &matmulCases() {
  static const std::vector<MatmulCase> cases = {
      {"rank 0 m1 k77 n300", 1, 77, 300, {}, {}, {}},
      {"[4] contiguous", 7, 77, 33, {4}, {1}, {1}},
      {"[4] b broadcast", 7, 77, 33, {4}, {1}, {0}},
      {"[2,3] b broadcast inner (host loop)", 5, 77, 30, {2, 3}, {3, 1},
       {1, 0}},
      {"[3,2] transposed batch order", 5, 16, 9, {3, 2}, {1, 3}, {1, 3}},
      {"[2,1,3] a broadcast", 6, 40, 300, {2, 1, 3}, {0, 0, 0}, {3, 5, 1}},
      {"[2,3,2,2] mixed broadcast", 3, 9, 5, {2, 3, 2, 2}, {0, 4, 2, 1},
       {12, 0, 0, 1}},
      {"[8] m1", 1, 64, 256, {8}, {1}, {1}},
      {"[3] a reversed", 4, 8, 12, {3}, {-1}, {1}},
      {"[2] k0 (zeros)", 3, 0, 4, {2}, {1}, {1}},
      {"[0,3] empty", 3, 5, 4, {0, 3}, {3, 1}, {3, 1}},
  };
  return cases;
}

/// The strides in elements, the buffer's element count and the base offset
/// (from the buffer's start) of matrices of `matrix` elements placed by
/// `units` (in matrices).
struct Placement {
  std::vector<int64_t> strides;
  int64_t size = 0, base = 0;
};
Placement place(const std::vector<int64_t> &shape,
                const std::vector<int64_t> &units, int64_t matrix) {
  Placement p;
  int64_t lo = 0, hi = 0;
  for (size_t d = 0; d < shape.size(); ++d) {
    p.strides.push_back(units[d] * matrix);
    const int64_t span = std::max<int64_t>(shape[d] - 1, 0) * units[d] * matrix;
    (span < 0 ? lo : hi) += span;
  }
  p.base = -lo;
  p.size = hi - lo + matrix;
  return p;
}

void checkMatmul(int32_t dtype, const MatmulCase &c, uint32_t seed) {
  SCOPED_TRACE(c.name);
  const int64_t es = elemSize(dtype), m = c.m, k = c.k, n = c.n;
  const int32_t rank = (int32_t)c.shape.size();
  const Placement pa = place(c.shape, c.a, m * k), pb = place(c.shape, c.b,
                                                              k * n);
  int64_t count = 1;
  for (int64_t e : c.shape)
    count *= e;
  const FloatData a = randomData(dtype, pa.size, seed);
  const FloatData b = randomData(dtype, pb.size, seed + 1);
  std::vector<float> want(count * m * n), absSum(count * m * n);
  const std::vector<float> aa = absOf(a.exact), ab = absOf(b.exact);
  ditc_rt_matmul(DITC_RT_F32, a.exact.data() + pa.base,
                 b.exact.data() + pb.base, want.data(), m, k, n, rank,
                 c.shape.data(), pa.strides.data(), pb.strides.data());
  ditc_rt_matmul(DITC_RT_F32, aa.data() + pa.base, ab.data() + pb.base,
                 absSum.data(), m, k, n, rank, c.shape.data(),
                 pa.strides.data(), pb.strides.data());
  Dev da(a.bytes), db(b.bytes), dc(count * m * n * es);
  dc.poison();
  ditc_cu_matmul(dtype, da.p() + pa.base * es, db.p() + pb.base * es, dc.p(),
                 m, k, n, rank, c.shape.data(), pa.strides.data(),
                 pb.strides.data());
  expectClose(dtype, dc.get(), want, absSum, k);
}

class CudaMatmul : public testing::TestWithParam<int32_t> {};

TEST_P(CudaMatmul, AgainstTheCpu) {
  uint32_t seed = 500;
  for (const MatmulCase &c : matmulCases())
    checkMatmul(GetParam(), c, seed += 3);
}

INSTANTIATE_TEST_SUITE_P(Dtype, CudaMatmul,
                         testing::Values(DITC_RT_F32, DITC_RT_F16,
                                         DITC_RT_BF16),
                         dtypeParamName);

//===--- threads -------------------------------------------------------------===//

TEST(CudaGemmThreads, PlansBuiltFromSeveralThreads) {
  // Each thread on the legacy default stream (the workspace is shared by a
  // device's streams: concurrent gemms must not overlap), first calls of
  // new shapes racing for the plan cache.
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([t] {
      const LinearCase c = {"threads", 3 + t % 2, 61, 97, t % 2 == 1, true};
      checkLinear(DITC_RT_BF16, c, 3000 + 7 * t);
    });
  for (std::thread &t : threads)
    t.join();
}

//===--- CUDA graphs ---------------------------------------------------------===//

/// Captures `body` on a new stream into a graph and returns it instantiated.
void capture(cudaStream_t stream, void (*body)(void *), void *arg,
             cudaGraphExec_t *exec) {
  void *previous = ditc_cu_get_stream();
  ditc_cu_set_stream(stream);
  CUDA_OK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal));
  body(arg);
  cudaGraph_t graph = nullptr;
  const cudaError_t end = cudaStreamEndCapture(stream, &graph);
  ditc_cu_set_stream(previous);
  CUDA_OK(end);
  CUDA_OK(cudaGraphInstantiate(exec, graph, 0));
  CUDA_OK(cudaGraphDestroy(graph));
}

struct GraphLinear {
  int32_t dtype;
  int64_t m, k, n;
  Dev *x, *w, *b, *y;
};

void graphLinearBody(void *p) {
  const GraphLinear &g = *static_cast<GraphLinear *>(p);
  ditc_cu_linear(g.dtype, g.x->p(), g.w->p(), g.b->p(), g.y->p(), g.m, g.k,
                 g.n, 1, DITC_RT_ACTIVATION_NONE);
}

class CudaGemmGraph : public testing::TestWithParam<int32_t> {};

TEST_P(CudaGemmGraph, PreparedLinearReplayed) {
  const int32_t dtype = GetParam();
  const int64_t m = 17, k = 77, n = 300, es = elemSize(dtype);
  ditc_cu_gemm_prepare(dtype, m, k, n, 1, 1, DITC_RT_ACTIVATION_NONE, 0, nullptr,
                       nullptr, nullptr);
  Dev x(m * k * es), w(k * n * es), b(n * es), y(m * n * es);
  GraphLinear g{dtype, m, k, n, &x, &w, &b, &y};
  cudaStream_t stream = nullptr;
  CUDA_OK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  cudaGraphExec_t exec = nullptr;
  capture(stream, graphLinearBody, &g, &exec);
  ASSERT_NE(exec, nullptr);
  // Replays with new inputs each time: the graph reads the buffers.
  for (uint32_t rep = 0; rep < 3; ++rep) {
    SCOPED_TRACE("replay " + std::to_string(rep));
    const FloatData fx = randomData(dtype, m * k, 40 + 3 * rep);
    const FloatData fw = randomData(dtype, k * n, 41 + 3 * rep);
    const FloatData fb = randomData(dtype, n, 42 + 3 * rep);
    x.put(fx.bytes.data());
    w.put(fw.bytes.data());
    b.put(fb.bytes.data());
    y.poison();
    CUDA_OK(cudaGraphLaunch(exec, stream));
    CUDA_OK(cudaStreamSynchronize(stream));
    std::vector<float> want(m * n), absSum(m * n), noBias(m * n);
    ditc_rt_linear(DITC_RT_F32, fx.exact.data(), fw.exact.data(),
                   fb.exact.data(), want.data(), m, k, n, 1, DITC_RT_ACTIVATION_NONE);
    ditc_rt_linear(DITC_RT_F32, fx.exact.data(), fw.exact.data(), nullptr,
                   noBias.data(), m, k, n, 1, DITC_RT_ACTIVATION_NONE);
    const std::vector<float> ax = absOf(fx.exact), aw = absOf(fw.exact),
                             ab = absOf(fb.exact);
    ditc_rt_linear(DITC_RT_F32, ax.data(), aw.data(), ab.data(),
                   absSum.data(), m, k, n, 1, DITC_RT_ACTIVATION_NONE);
    expectClose(dtype, y.get(), want, absSum, k, noBias);
  }
  CUDA_OK(cudaGraphExecDestroy(exec));
  CUDA_OK(cudaStreamDestroy(stream));
}

struct GraphMatmul {
  int32_t dtype;
  const MatmulCase *c;
  Placement pa, pb;
  Dev *a, *b, *out;
};

void graphMatmulBody(void *p) {
  const GraphMatmul &g = *static_cast<GraphMatmul *>(p);
  const int64_t es = elemSize(g.dtype);
  ditc_cu_matmul(g.dtype, g.a->p() + g.pa.base * es,
                 g.b->p() + g.pb.base * es, g.out->p(), g.c->m, g.c->k,
                 g.c->n, (int32_t)g.c->shape.size(), g.c->shape.data(),
                 g.pa.strides.data(), g.pb.strides.data());
}

TEST_P(CudaGemmGraph, UnpreparedBatchedMatmulBuiltDuringCapture) {
  // A host loop of strided-batched calls whose plan is first built inside
  // the capture (descriptors and heuristic only: the device's workspace
  // exists already, from an earlier plan).
  const int32_t dtype = GetParam();
  const int64_t es = elemSize(dtype);
  ditc_cu_gemm_prepare(dtype, 8, 8, 8, 0, 0, DITC_RT_ACTIVATION_NONE, 0, nullptr,
                       nullptr, nullptr);
  const MatmulCase c = {"[2,3] b broadcast inner, m11 k37 n29", 11, 37, 29,
                        {2, 3}, {3, 1}, {1, 0}};
  GraphMatmul g{dtype, &c, place(c.shape, c.a, c.m * c.k),
                place(c.shape, c.b, c.k * c.n), nullptr, nullptr, nullptr};
  Dev a(g.pa.size * es), b(g.pb.size * es), out(6 * c.m * c.n * es);
  g.a = &a;
  g.b = &b;
  g.out = &out;
  cudaStream_t stream = nullptr;
  CUDA_OK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  cudaGraphExec_t exec = nullptr;
  capture(stream, graphMatmulBody, &g, &exec);
  ASSERT_NE(exec, nullptr);
  for (uint32_t rep = 0; rep < 2; ++rep) {
    SCOPED_TRACE("replay " + std::to_string(rep));
    const FloatData fa = randomData(dtype, g.pa.size, 70 + 2 * rep);
    const FloatData fb = randomData(dtype, g.pb.size, 71 + 2 * rep);
    a.put(fa.bytes.data());
    b.put(fb.bytes.data());
    out.poison();
    CUDA_OK(cudaGraphLaunch(exec, stream));
    CUDA_OK(cudaStreamSynchronize(stream));
    std::vector<float> want(6 * c.m * c.n), absSum(want.size());
    ditc_rt_matmul(DITC_RT_F32, fa.exact.data(), fb.exact.data(), want.data(),
                   c.m, c.k, c.n, 2, c.shape.data(), g.pa.strides.data(),
                   g.pb.strides.data());
    const std::vector<float> aa = absOf(fa.exact), ab = absOf(fb.exact);
    ditc_rt_matmul(DITC_RT_F32, aa.data(), ab.data(), absSum.data(), c.m, c.k,
                   c.n, 2, c.shape.data(), g.pa.strides.data(),
                   g.pb.strides.data());
    expectClose(dtype, out.get(), want, absSum, c.k);
  }
  CUDA_OK(cudaGraphExecDestroy(exec));
  CUDA_OK(cudaStreamDestroy(stream));
}

INSTANTIATE_TEST_SUITE_P(Dtype, CudaGemmGraph,
                         testing::Values(DITC_RT_F32, DITC_RT_F16,
                                         DITC_RT_BF16),
                         dtypeParamName);

//===--- argument errors -------------------------------------------------------===//

TEST(CudaGemmDeathTest, ArgumentsTheLaunchersCannotHonour) {
  EXPECT_DEATH(ditc_cu_linear(DITC_RT_I32, nullptr, nullptr, nullptr, nullptr,
                              2, 2, 2, 0, DITC_RT_ACTIVATION_NONE),
               "ditc cuda: linear: dtype 2 is not F32, F16 or BF16");
  const int64_t shape[1] = {2}, strides[1] = {4};
  EXPECT_DEATH(ditc_cu_matmul(DITC_RT_F32, nullptr, nullptr, nullptr, 2, 2, 2,
                              -1, shape, strides, strides),
               "ditc cuda: matmul: batch rank -1");
}

} // namespace

int main(int argc, char **argv) {
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess || count == 0) {
    std::printf("no GPU: %s\n", cudaGetErrorString(err != cudaSuccess
                                                       ? err
                                                       : cudaErrorNoDevice));
    return 77;
  }
  testing::InitGoogleTest(&argc, argv);
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  return RUN_ALL_TESTS();
}
