//===- CudaKernelTest.cpp - The CUDA kernels against the CPU runtime -----===//
//
// Every ditc_cu_* launcher runs on random data of several shapes (odd sizes,
// broadcast strides, ranks 1 to 5, F32 / F16 / BF16) and is compared with
// its CPU twin ditc_rt_*: F32 within a few ulp where the arithmetic is not
// exact, F16 / BF16 against the CPU's f32 kernel on the same rounded inputs,
// rounded once, within one ulp of the half type.
//
// Built twice: ditc-cuda-kernel-tests runs the kernels on the GPU (no GPU:
// "no GPU: ..." and exit status 77); CudaKernelEmuTests runs the same kernels
// compiled for the host through test/Cuda/emu (DITC_CU_EMULATE), where the
// largest cases and the CUDA graph test are skipped.
//
//===----------------------------------------------------------------------===//
#include "CudaTestUtil.h"
#include "cuda_runtime_api.h"

#include <cuda_runtime.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <numeric>
#include <random>
#include <thread>
#include <vector>

using namespace ditc_cuda_test;

namespace {

#ifdef DITC_CU_EMULATE
constexpr bool kEmulated = true;
#else
constexpr bool kEmulated = false;
#endif

/// A device buffer (bytes), filled from / read back to the host.
class Dev {
public:
  explicit Dev(size_t bytes) : bytes_(bytes) {
    if (cudaMalloc(&p_, bytes ? bytes : 1) != cudaSuccess)
      p_ = nullptr;
    EXPECT_NE(p_, nullptr) << "cudaMalloc(" << bytes << ")";
  }
  Dev(const void *host, size_t bytes) : Dev(bytes) { put(host); }
  template <class T>
  explicit Dev(const std::vector<T> &v) : Dev(v.data(), v.size() * sizeof(T)) {}
  ~Dev() { cudaFree(p_); }
  Dev(const Dev &) = delete;
  Dev &operator=(const Dev &) = delete;

  void put(const void *host) {
    if (bytes_)
      EXPECT_EQ(cudaMemcpy(p_, host, bytes_, cudaMemcpyHostToDevice),
                cudaSuccess);
  }
  template <class T> std::vector<T> get() const {
    EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    std::vector<T> v(bytes_ / sizeof(T));
    if (bytes_)
      EXPECT_EQ(cudaMemcpy(v.data(), p_, v.size() * sizeof(T),
                           cudaMemcpyDeviceToHost),
                cudaSuccess);
    return v;
  }
  void *p() const { return p_; }
  template <class T> T *as() const { return static_cast<T *>(p_); }

private:
  void *p_ = nullptr;
  size_t bytes_;
};

template <class T> std::vector<uint8_t> rawBytes(const std::vector<T> &v) {
  std::vector<uint8_t> b(v.size() * sizeof(T));
  if (!b.empty())
    std::memcpy(b.data(), v.data(), b.size());
  return b;
}
template <class T> std::vector<T> fromBytes(const std::vector<uint8_t> &b) {
  std::vector<T> v(b.size() / sizeof(T));
  if (!v.empty())
    std::memcpy(v.data(), b.data(), v.size() * sizeof(T));
  return v;
}

//===--- Float data in F32 / F16 / BF16 -----------------------------------===//

/// Values of a float dtype: `exact` the f32 values the device sees (rounded
/// to the dtype), `bytes` their storage.
struct FloatData {
  int32_t dtype;
  std::vector<float> exact;
  std::vector<uint8_t> bytes;
};

FloatData floatData(int32_t dtype, const std::vector<float> &x) {
  FloatData d{dtype, x, {}};
  if (dtype == DITC_RT_F32) {
    d.bytes = rawBytes(x);
  } else {
    std::vector<uint16_t> h = toHalf(dtype, x);
    d.exact = fromHalf(dtype, h);
    d.bytes = rawBytes(h);
  }
  return d;
}

/// Checks a float output of `dtype` (bytes from the device) against the
/// CPU's f32 result `want` on the same inputs: F32 within `ulps` ulp plus
/// slack[i] (absolute); F16 / BF16 equal to want rounded, or one ulp of the
/// type away, or within the F32 bound.
void expectFloats(int32_t dtype, const std::vector<uint8_t> &got,
                  const std::vector<float> &want, float ulps,
                  const std::vector<float> &slack = {}) {
  const size_t n = want.size();
  ASSERT_EQ(got.size(), n * (size_t)elemSize(dtype));
  auto bound = [&](size_t i) {
    return ulps * ulpOf(want[i]) + (slack.empty() ? 0.f : slack[i]);
  };
  int failures = 0;
  if (dtype == DITC_RT_F32) {
    std::vector<float> g = fromBytes<float>(got);
    for (size_t i = 0; i < n && failures < 10; ++i) {
      if (std::isnan(want[i]) || std::isnan(g[i])) {
        if (!(std::isnan(want[i]) && std::isnan(g[i]))) {
          ADD_FAILURE() << "element " << i << ": " << g[i] << " vs "
                        << want[i];
          ++failures;
        }
        continue;
      }
      if (g[i] == want[i])
        continue;
      if (!(std::fabs(g[i] - want[i]) <= bound(i))) {
        ADD_FAILURE() << "element " << i << ": " << g[i] << " vs " << want[i]
                      << " (" << ulpDistance(g[i], want[i]) << " ulp)";
        ++failures;
      }
    }
    return;
  }
  std::vector<uint16_t> g = fromBytes<uint16_t>(got);
  std::vector<uint16_t> w = toHalf(dtype, want);
  std::vector<float> gf = fromHalf(dtype, g);
  for (size_t i = 0; i < n && failures < 10; ++i) {
    const bool gn = halfIsNan(dtype, g[i]), wn = halfIsNan(dtype, w[i]);
    if (gn || wn) {
      if (!(gn && wn)) {
        ADD_FAILURE() << "element " << i << ": " << gf[i] << " vs "
                      << want[i];
        ++failures;
      }
      continue;
    }
    if (std::llabs(orderedHalf(g[i]) - orderedHalf(w[i])) <= 1)
      continue;
    if (std::fabs(gf[i] - want[i]) <= bound(i))
      continue;
    ADD_FAILURE() << dtypeName(dtype) << " element " << i << ": " << gf[i]
                  << " (0x" << std::hex << g[i] << ") vs " << want[i]
                  << " (0x" << w[i] << std::dec << ")";
    ++failures;
  }
}

std::string dtypeParamName(const testing::TestParamInfo<int32_t> &info) {
  return dtypeName(info.param);
}

class FloatTypes : public testing::TestWithParam<int32_t> {};

#define DITC_FLOAT_TYPES(Suite)                                                \
  INSTANTIATE_TEST_SUITE_P(                                                    \
      Dtype, Suite,                                                            \
      testing::Values(DITC_RT_F32, DITC_RT_F16, DITC_RT_BF16), dtypeParamName)

//===--- Shapes with broadcasting -----------------------------------------===//

/// An operand of a broadcast: its own dims (1 where it broadcasts) and the
/// strides it is read with (0 there).
struct Operand {
  std::vector<int64_t> dims, strides;
  int64_t count;
};

Operand operandOf(const std::vector<int64_t> &shape,
                  const std::vector<bool> &broadcast) {
  Operand o;
  o.dims = shape;
  for (size_t d = 0; d < shape.size(); ++d)
    if (broadcast[d])
      o.dims[d] = 1;
  o.strides.assign(shape.size(), 0);
  int64_t s = 1;
  for (size_t d = shape.size(); d-- > 0;) {
    o.strides[d] = o.dims[d] == 1 ? 0 : s;
    s *= o.dims[d];
  }
  o.count = s;
  return o;
}

int64_t countOf(const std::vector<int64_t> &shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

/// Shapes of rank 1 to 5 with odd sizes, and per operand which dims
/// broadcast.
struct BroadcastCase {
  std::vector<int64_t> shape;
  std::vector<std::vector<bool>> bcast; // per operand
};

std::vector<BroadcastCase> broadcastCases(int operands, uint32_t seed) {
  std::vector<BroadcastCase> cases;
  auto add = [&](std::vector<int64_t> shape,
                 std::vector<std::vector<bool>> b) {
    b.resize(operands, std::vector<bool>(shape.size(), false));
    cases.push_back({shape, b});
  };
  add({1}, {});
  add({1001}, {});
  add({37, 45}, {{false, false}, {true, false}}); // a bias row
  add({37, 45}, {{false, true}, {false, false}}); // a column
  add({3, 1, 17}, {{false, false, false}, {false, false, false}});
  add({6, 1}, {{true, true}, {false, false}}); // a scalar
  // Innermost dims that kRun (4) divides: runs of elements per thread, the
  // first operand stepping along a row, broadcast down a column (innermost
  // stride 0) or read as a scalar.
  add({5, 12}, {{false, false}, {false, true}, {true, false}});
  add({3, 2, 8}, {{true, false, false}, {false, false, true}, {true, true, true}});
  std::mt19937 rng(seed);
  const int64_t sizes[] = {1, 2, 3, 5, 7, 13};
  for (int k = 0; k < 8; ++k) {
    const int rank = 1 + (int)(rng() % 5);
    std::vector<int64_t> shape(rank);
    for (auto &d : shape)
      d = sizes[rng() % 6];
    std::vector<std::vector<bool>> b(operands, std::vector<bool>(rank));
    for (auto &ob : b)
      for (int d = 0; d < rank; ++d)
        ob[d] = rng() % 3 == 0;
    add(shape, b);
  }
  add({4, 0, 3}, {}); // empty
  return cases;
}

//===--- The interface ----------------------------------------------------===//

TEST(CudaApi, EveryListedLauncherIsDefined) {
  // DITC_CU_KERNELS names what the library defines: each must link.
#define DITC_CHECK_DEFINED(name)                                               \
  EXPECT_NE(reinterpret_cast<void *>(&ditc_cu_##name), nullptr) << #name;
  DITC_CU_KERNELS(DITC_CHECK_DEFINED)
#undef DITC_CHECK_DEFINED
}

//===--- Stream and graph -------------------------------------------------===//

TEST(CudaStream, PerThreadAndUsed) {
  EXPECT_EQ(ditc_cu_get_stream(), nullptr);
  cudaStream_t s;
  CUDA_OK(cudaStreamCreate(&s));
  ditc_cu_set_stream(s);
  EXPECT_EQ(ditc_cu_get_stream(), (void *)s);
  void *seen = (void *)1;
  std::thread([&] { seen = ditc_cu_get_stream(); }).join();
  EXPECT_EQ(seen, nullptr);
  std::vector<float> x = randomFloats(1000, 1, -2.f, 2.f);
  Dev dx(x), dy(x.size() * 4);
  ditc_cu_unary(DITC_RT_UNARY_NEG, DITC_RT_F32, dx.p(), dy.p(), 1000);
  CUDA_OK(cudaStreamSynchronize(s));
  std::vector<float> y = dy.get<float>();
  for (size_t i = 0; i < x.size(); ++i)
    ASSERT_EQ(y[i], -x[i]);
  ditc_cu_set_stream(nullptr);
  EXPECT_EQ(ditc_cu_get_stream(), nullptr);
  CUDA_OK(cudaStreamDestroy(s));
}

#ifndef DITC_CU_EMULATE
// The launchers neither allocate nor synchronise: a capture in the strictest
// mode records them, and the graph reproduces the direct results.
TEST(CudaGraph, LaunchersAreCapturable) {
  const int64_t rows = 33, cols = 300;
  std::vector<float> x = randomFloats(rows * cols, 2, -3.f, 3.f);
  std::vector<float> sc = randomFloats(cols, 3, 0.5f, 1.5f);
  Dev dx(x), dsc(sc), dy(x.size() * 4), dz(x.size() * 4), dr(rows * 4);
  const int64_t shape[2] = {rows, cols}, st[2] = {cols, 1}, bst[2] = {0, 1};
  // y^T: [cols, rows] dense, read from y [rows, cols]
  const int64_t tshape[2] = {cols, rows}, tsrc[2] = {1, cols},
                tdst[2] = {rows, 1};
  auto run = [&] {
    ditc_cu_layer_norm(DITC_RT_F32, dx.p(), dsc.p(), nullptr, dy.p(), rows,
                       cols, 1e-5f);
    ditc_cu_binary(DITC_RT_BINARY_MUL, DITC_RT_F32, dy.p(), st, dsc.p(), bst,
                   dz.p(), shape, 2);
    ditc_cu_unary(DITC_RT_UNARY_GELU, DITC_RT_F32, dz.p(), dz.p(),
                  rows * cols);
    ditc_cu_softmax(DITC_RT_F32, dz.p(), dy.p(), rows, cols, 1);
    ditc_cu_strided_copy(4, dy.p(), 0, tsrc, dz.p(), tdst, tshape, 2);
    ditc_cu_reduce(DITC_RT_REDUCE_SUM, DITC_RT_F32, dy.p(), shape, 2, 2,
                   dr.p());
  };
  run();
  std::vector<float> z1 = dz.get<float>(), r1 = dr.get<float>();
  CUDA_OK(cudaMemset(dz.p(), 0, x.size() * 4));
  CUDA_OK(cudaMemset(dr.p(), 0, rows * 4));
  CUDA_OK(cudaDeviceSynchronize());

  cudaStream_t s;
  CUDA_OK(cudaStreamCreate(&s));
  ditc_cu_set_stream(s);
  cudaGraph_t graph;
  CUDA_OK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
  run();
  CUDA_OK(cudaStreamEndCapture(s, &graph));
  ditc_cu_set_stream(nullptr);
  size_t nodes = 0;
  CUDA_OK(cudaGraphGetNodes(graph, nullptr, &nodes));
  EXPECT_EQ(nodes, 6u);
  cudaGraphExec_t exec;
  CUDA_OK(cudaGraphInstantiate(&exec, graph, 0));
  CUDA_OK(cudaGraphLaunch(exec, s));
  CUDA_OK(cudaStreamSynchronize(s));
  EXPECT_EQ(dz.get<float>(), z1);
  EXPECT_EQ(dr.get<float>(), r1);
  CUDA_OK(cudaGraphExecDestroy(exec));
  CUDA_OK(cudaGraphDestroy(graph));
  CUDA_OK(cudaStreamDestroy(s));
}
#endif

//===--- unary ------------------------------------------------------------===//

std::vector<float> unaryInputs(int op, size_t n, uint32_t seed) {
  switch (op) {
  case DITC_RT_UNARY_SQRT:
  case DITC_RT_UNARY_LOG:
    return randomFloats(n, seed, 1e-3f, 100.f);
  case DITC_RT_UNARY_EXP:
    return randomFloats(n, seed, -90.f, 12.f);
  case DITC_RT_UNARY_COS:
  case DITC_RT_UNARY_SIN:
    return randomFloats(n, seed, -40.f, 40.f);
  default: {
    std::vector<float> v = randomFloats(n, seed, -8.f, 8.f);
    for (size_t i = 0; i < n; i += 5)
      v[i] = std::round(v[i] * 2.f) / 2.f; // ties for ROUND
    return v;
  }
  }
}

TEST_P(FloatTypes, Unary) {
  const int32_t dt = GetParam();
  for (int op = 0; op < DITC_RT_UNARY_COUNT; ++op) {
    for (int64_t n : {1, 37, 4099, 70001}) {
      if (kEmulated && n > 5000)
        continue;
      SCOPED_TRACE(testing::Message() << "op " << op << " n " << n);
      FloatData x = floatData(dt, unaryInputs(op, n, 7 + op));
      std::vector<float> want(n);
      ditc_rt_unary_f32(op, x.exact.data(), want.data(), n);
      Dev dx(x.bytes), dy(x.bytes.size());
      ditc_cu_unary(op, dt, dx.p(), dy.p(), n);
      // GELU amplifies the error of its inner terms: with erf, 1 + erf
      // cancels for x << 0 (erf's ulp at 1, times |x| / 2); with tanh, the
      // few ulp of the argument u of e^-u become |u| times as many.
      std::vector<float> slack(n, 0.f);
      for (int64_t i = 0; i < n; ++i) {
        const float ax = std::fabs(x.exact[i]);
        if (op == DITC_RT_UNARY_GELU)
          slack[i] = 4e-7f * ax;
        else if (op == DITC_RT_UNARY_GELU_TANH)
          slack[i] = 8 * 1.2e-7f * 1.6f * (ax + 0.045f * ax * ax * ax) *
                     std::fabs(want[i]);
      }
      // FMA contraction and CUDA's libm: a few ulp (erf's p / q up to 8).
      expectFloats(dt, dy.get<uint8_t>(), want, 8.f, slack);
      if (n == 37) { // in place
        ditc_cu_unary(op, dt, dx.p(), dx.p(), n);
        expectFloats(dt, dx.get<uint8_t>(), want, 8.f, slack);
      }
    }
  }
}

TEST(CudaUnary, GridStrideLoop) {
  if (kEmulated)
    GTEST_SKIP() << "too large to emulate";
  // More elements than kMaxBlocks * 256 threads: each thread loops.
  const int64_t n = (int64_t)(1 << 16) * 256 * 2 + 3;
  std::vector<uint16_t> h(n);
  for (int64_t i = 0; i < n; ++i)
    h[i] = (uint16_t)(i * 2654435761u >> 17) & 0x7bff;
  Dev dx(h), dy(n * 2);
  ditc_cu_unary(DITC_RT_UNARY_NEG, DITC_RT_F16, dx.p(), dy.p(), n);
  std::vector<uint16_t> y = dy.get<uint16_t>();
  for (int64_t i = 0; i < n; ++i)
    ASSERT_EQ(y[i], h[i] ^ 0x8000) << "element " << i;
}

//===--- binary -----------------------------------------------------------===//

class BinaryTypes : public testing::TestWithParam<int32_t> {};

/// Inputs for binary ops of `dt`, as F32 for the float types.
std::vector<float> binaryFloats(size_t n, uint32_t seed) {
  std::vector<float> v = randomFloats(n, seed, -6.f, 6.f);
  std::mt19937 rng(seed);
  for (size_t i = 0; i < n; ++i)
    if (rng() % 4 == 0)
      v[i] = (float)(int)(rng() % 7) - 3.f; // repeats, zeros, integers
  return v;
}

TEST_P(BinaryTypes, Binary) {
  const int32_t dt = GetParam();
  const bool isFloat =
      dt == DITC_RT_F32 || dt == DITC_RT_F16 || dt == DITC_RT_BF16;
  int ci = 0;
  for (const BroadcastCase &c : broadcastCases(2, 99)) {
    ++ci;
    const int rank = (int)c.shape.size();
    const Operand a = operandOf(c.shape, c.bcast[0]);
    const Operand b = operandOf(c.shape, c.bcast[1]);
    const int64_t n = countOf(c.shape);
    for (int op = 0; op < DITC_RT_BINARY_COUNT; ++op) {
      const int32_t asType = dt == DITC_RT_BF16 ? DITC_RT_F16 : dt;
      if (!(ditc_rt_binary_dtypes(op) & (1u << asType)))
        continue;
      SCOPED_TRACE(testing::Message() << "case " << ci << " op " << op);
      const bool cmp = op >= DITC_RT_BINARY_EQUAL &&
                       op <= DITC_RT_BINARY_NOT_EQUAL;
      const bool b8Out = cmp || dt == DITC_RT_B8;
      if (isFloat) {
        FloatData x = floatData(dt, binaryFloats(a.count, 10 + ci));
        FloatData y = floatData(dt, binaryFloats(b.count, 20 + ci));
        if (a.count > 3) { // a NaN operand
          std::vector<float> v = x.exact;
          v[3] = NAN;
          x = floatData(dt, v);
        }
        Dev da(x.bytes), db(y.bytes);
        Dev dout(n * (b8Out ? 1 : elemSize(dt)));
        ditc_cu_binary(op, dt, da.p(), a.strides.data(), db.p(),
                       b.strides.data(), dout.p(), c.shape.data(), rank);
        if (cmp) {
          std::vector<uint8_t> want(n);
          ditc_rt_binary(op, DITC_RT_F32, x.exact.data(), a.strides.data(),
                         y.exact.data(), b.strides.data(), want.data(),
                         c.shape.data(), rank);
          EXPECT_EQ(dout.get<uint8_t>(), want);
        } else {
          std::vector<float> want(n);
          ditc_rt_binary(op, DITC_RT_F32, x.exact.data(), a.strides.data(),
                         y.exact.data(), b.strides.data(), want.data(),
                         c.shape.data(), rank);
          // CUDA's powf is within 4 ulp (glibc's within 1).
          expectFloats(dt, dout.get<uint8_t>(), want,
                       op == DITC_RT_BINARY_POW ? 5.f : 0.f);
        }
        continue;
      }
      // Integers and B8: exactly the CPU's bytes.
      const int64_t es = elemSize(dt);
      std::vector<uint8_t> xa(a.count * es), xb(b.count * es);
      if (dt == DITC_RT_B8) {
        std::vector<uint8_t> p = randomInts<uint8_t>(a.count, 30 + ci, 0, 2);
        std::vector<uint8_t> q = randomInts<uint8_t>(b.count, 40 + ci, 0, 2);
        xa = p;
        xb = q;
      } else if (dt == DITC_RT_I64) {
        const bool pw = op == DITC_RT_BINARY_POW;
        xa = rawBytes(randomInts<int64_t>(a.count, 30 + ci, pw ? -5 : -1000,
                                          pw ? 5 : 1000));
        xb = rawBytes(randomInts<int64_t>(b.count, 40 + ci, pw ? -2 : -9,
                                          pw ? 30 : 9));
      } else {
        const bool pw = op == DITC_RT_BINARY_POW;
        xa = rawBytes(randomInts<int32_t>(a.count, 30 + ci, pw ? -5 : -1000,
                                          pw ? 5 : 1000));
        xb = rawBytes(randomInts<int32_t>(b.count, 40 + ci, pw ? -2 : -9,
                                          pw ? 30 : 9));
      }
      Dev da(xa), db(xb), dout(n * (b8Out ? 1 : es));
      ditc_cu_binary(op, dt, da.p(), a.strides.data(), db.p(),
                     b.strides.data(), dout.p(), c.shape.data(), rank);
      std::vector<uint8_t> want(n * (b8Out ? 1 : es));
      ditc_rt_binary(op, dt, xa.data(), a.strides.data(), xb.data(),
                     b.strides.data(), want.data(), c.shape.data(), rank);
      EXPECT_EQ(dout.get<uint8_t>(), want);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Dtype, BinaryTypes,
                         testing::Values(DITC_RT_F32, DITC_RT_F16,
                                         DITC_RT_BF16, DITC_RT_I64,
                                         DITC_RT_I32, DITC_RT_B8),
                         dtypeParamName);

TEST(CudaBinary, InPlace) {
  const int64_t n = 1001, shape[1] = {n}, one[1] = {1};
  std::vector<float> a = randomFloats(n, 5, -2.f, 2.f);
  std::vector<float> b = randomFloats(n, 6, -2.f, 2.f);
  std::vector<float> want(n);
  ditc_rt_binary(DITC_RT_BINARY_SUB, DITC_RT_F32, a.data(), one, b.data(),
                 one, want.data(), shape, 1);
  Dev da(a), db(b);
  ditc_cu_binary(DITC_RT_BINARY_SUB, DITC_RT_F32, da.p(), one, db.p(), one,
                 da.p(), shape, 1);
  EXPECT_EQ(da.get<float>(), want);
}

TEST(CudaBinary, NegativeStrides) {
  // b read reversed along the last axis and a broadcast down the first.
  const int64_t shape[2] = {5, 7}, as[2] = {0, 1}, bs[2] = {7, -1};
  for (int32_t dt : {DITC_RT_F32, DITC_RT_BF16}) {
    FloatData a = floatData(dt, randomFloats(7, 11, -2.f, 2.f));
    FloatData b = floatData(dt, randomFloats(35, 12, -2.f, 2.f));
    std::vector<float> want(35);
    ditc_rt_binary(DITC_RT_BINARY_MUL, DITC_RT_F32, a.exact.data(), as,
                   b.exact.data() + 6, bs, want.data(), shape, 2);
    Dev da(a.bytes), db(b.bytes), dout(35 * elemSize(dt));
    ditc_cu_binary(DITC_RT_BINARY_MUL, dt, da.p(), as,
                   db.as<uint8_t>() + 6 * elemSize(dt), bs, dout.p(), shape,
                   2);
    expectFloats(dt, dout.get<uint8_t>(), want, 0.f);
  }
}

//===--- cast, is_nan, not_b8, where --------------------------------------===//

/// Source values of a cast dtype, as bytes.
std::vector<uint8_t> castSource(int32_t dt, uint32_t seed) {
  std::vector<float> f = specialFloats();
  std::vector<float> r = randomFloats(3000, seed, -7e4f, 7e4f);
  f.insert(f.end(), r.begin(), r.end());
  std::vector<int64_t> i = {0,
                            1,
                            -1,
                            65520,
                            16777217,
                            2147483647,
                            (int64_t)2147483648LL,
                            std::numeric_limits<int64_t>::max(),
                            std::numeric_limits<int64_t>::min()};
  std::vector<int64_t> ri =
      randomInts<int64_t>(3000, seed, -(int64_t)1 << 40, (int64_t)1 << 40);
  i.insert(i.end(), ri.begin(), ri.end());
  switch (dt) {
  case DITC_RT_F32:
    return rawBytes(f);
  case DITC_RT_F16:
  case DITC_RT_BF16:
    return rawBytes(toHalf(dt, f));
  case DITC_RT_I64:
    return rawBytes(i);
  case DITC_RT_I32: {
    std::vector<int32_t> v(i.size());
    for (size_t k = 0; k < i.size(); ++k)
      v[k] = (int32_t)(uint32_t)i[k];
    return rawBytes(v);
  }
  default:
    return randomInts<uint8_t>(2001, seed, 0, 2);
  }
}

TEST(CudaCast, AllPairs) {
  const int32_t types[] = {DITC_RT_F32, DITC_RT_F16, DITC_RT_BF16,
                           DITC_RT_I64, DITC_RT_I32, DITC_RT_B8};
  for (int32_t s : types) {
    const std::vector<uint8_t> src = castSource(s, 3);
    const int64_t n = (int64_t)src.size() / elemSize(s);
    Dev dx(src);
    for (int32_t d : types) {
      SCOPED_TRACE(testing::Message()
                   << dtypeName(s) << " -> " << dtypeName(d));
      std::vector<uint8_t> want(n * elemSize(d));
      ditc_rt_cast(s, d, src.data(), want.data(), n);
      Dev dy(want.size());
      ditc_cu_cast(s, d, dx.p(), dy.p(), n);
      std::vector<uint8_t> got = dy.get<uint8_t>();
      if (d == DITC_RT_F32) {
        std::vector<float> g = fromBytes<float>(got);
        std::vector<float> w = fromBytes<float>(want);
        for (int64_t k = 0; k < n; ++k)
          ASSERT_EQ(ulpDistance(g[k], w[k]), 0) << "element " << k;
      } else if (d == DITC_RT_F16 || d == DITC_RT_BF16) {
        std::vector<uint16_t> g = fromBytes<uint16_t>(got),
                              w = fromBytes<uint16_t>(want);
        for (int64_t k = 0; k < n; ++k) {
          if (halfIsNan(d, w[k]))
            ASSERT_TRUE(halfIsNan(d, g[k])) << "element " << k;
          else
            ASSERT_EQ(g[k], w[k]) << "element " << k;
        }
      } else {
        EXPECT_EQ(got, want);
      }
    }
  }
  // In place between equal sizes.
  std::vector<float> f = randomFloats(777, 4, -1e9f, 1e9f);
  std::vector<int32_t> want(f.size());
  ditc_rt_cast(DITC_RT_F32, DITC_RT_I32, f.data(), want.data(), 777);
  Dev d(f);
  ditc_cu_cast(DITC_RT_F32, DITC_RT_I32, d.p(), d.p(), 777);
  EXPECT_EQ(d.get<int32_t>(), want);
}

TEST(CudaIsNan, FloatTypes) {
  std::vector<float> f = specialFloats();
  std::vector<float> r = randomFloats(1000, 8, -1.f, 1.f);
  f.insert(f.end(), r.begin(), r.end());
  for (size_t i = 0; i < f.size(); i += 7)
    f[i] = NAN;
  for (int32_t dt : {DITC_RT_F32, DITC_RT_F16, DITC_RT_BF16, DITC_RT_F64}) {
    std::vector<uint8_t> x;
    if (dt == DITC_RT_F64) {
      std::vector<double> dd(f.begin(), f.end());
      x = rawBytes(dd);
    } else {
      x = floatData(dt, f).bytes;
    }
    const int64_t n = (int64_t)f.size();
    std::vector<uint8_t> want(n);
    ditc_rt_is_nan(dt, x.data(), want.data(), n);
    Dev dx(x), dy(n);
    ditc_cu_is_nan(dt, dx.p(), dy.as<uint8_t>(), n);
    EXPECT_EQ(dy.get<uint8_t>(), want) << dtypeName(dt);
  }
}

TEST(CudaNotB8, Bytes) {
  std::vector<uint8_t> x = randomInts<uint8_t>(3001, 9, 0, 3);
  std::vector<uint8_t> want(x.size());
  ditc_rt_not_b8(x.data(), want.data(), (int64_t)x.size());
  Dev dx(x), dy(x.size());
  ditc_cu_not_b8(dx.as<uint8_t>(), dy.as<uint8_t>(), (int64_t)x.size());
  EXPECT_EQ(dy.get<uint8_t>(), want);
}

TEST(CudaWhere, EveryElementSize) {
  int ci = 0;
  for (const BroadcastCase &c : broadcastCases(3, 77)) {
    ++ci;
    for (int32_t dt : {DITC_RT_B8, DITC_RT_F16, DITC_RT_F32, DITC_RT_I64}) {
      SCOPED_TRACE(testing::Message() << "case " << ci << " "
                                      << dtypeName(dt));
      const int rank = (int)c.shape.size();
      const Operand oc = operandOf(c.shape, c.bcast[0]);
      const Operand ox = operandOf(c.shape, c.bcast[1]);
      const Operand oy = operandOf(c.shape, c.bcast[2]);
      const int64_t n = countOf(c.shape), es = elemSize(dt);
      std::vector<uint8_t> cond = randomInts<uint8_t>(oc.count, ci, 0, 2);
      std::vector<uint8_t> x = randomInts<uint8_t>(ox.count * es, ci + 1, 0,
                                                   255);
      std::vector<uint8_t> y = randomInts<uint8_t>(oy.count * es, ci + 2, 0,
                                                   255);
      std::vector<uint8_t> want(n * es);
      ditc_rt_where(dt, cond.data(), oc.strides.data(), x.data(),
                    ox.strides.data(), y.data(), oy.strides.data(),
                    want.data(), c.shape.data(), rank);
      Dev dc(cond), dx(x), dy(y), dout(n * es);
      ditc_cu_where(dt, dc.as<uint8_t>(), oc.strides.data(), dx.p(),
                    ox.strides.data(), dy.p(), oy.strides.data(), dout.p(),
                    c.shape.data(), rank);
      EXPECT_EQ(dout.get<uint8_t>(), want);
    }
  }
}

//===--- mul_add ----------------------------------------------------------===//

// Against the CPU kernel on the same (rounded) values in f32: the product
// may be fused into an fma on one side and not the other, one ulp of |a b|
// apart. Then over c's buffer (a gated residual in place), bit for bit.
TEST_P(FloatTypes, MulAdd) {
  const int32_t dt = GetParam();
  std::vector<BroadcastCase> cases = broadcastCases(3, 55);
  // A DiT's gate [2, 1, 1152] times y [2, 64, 1152] plus x.
  cases.push_back({{2, 64, 1152},
                   {{false, true, false}, {false, false, false}, {false, false, false}}});
  int ci = 0;
  for (const BroadcastCase &c : cases) {
    ++ci;
    SCOPED_TRACE(testing::Message() << "case " << ci);
    const int rank = (int)c.shape.size();
    Operand op[3];
    FloatData x[3];
    for (int k = 0; k < 3; ++k) {
      op[k] = operandOf(c.shape, c.bcast[k]);
      x[k] = floatData(dt, randomFloats(op[k].count, 60 + 3 * ci + k, -3.f, 3.f));
    }
    const int64_t n = countOf(c.shape);
    std::vector<float> want(n);
    ditc_rt_mul_add(DITC_RT_F32, x[0].exact.data(), op[0].strides.data(),
                    x[1].exact.data(), op[1].strides.data(), x[2].exact.data(),
                    op[2].strides.data(), want.data(), c.shape.data(), rank);
    Dev da(x[0].bytes), db(x[1].bytes), dc(x[2].bytes), dout(n * elemSize(dt));
    ditc_cu_mul_add(dt, da.p(), op[0].strides.data(), db.p(), op[1].strides.data(),
                    dc.p(), op[2].strides.data(), dout.p(), c.shape.data(), rank);
    const std::vector<float> slack(n, ulpOf(9.f));
    std::vector<uint8_t> got = dout.get<uint8_t>();
    expectFloats(dt, got, want, 1.f, slack);
    if (op[2].count == n) {
      ditc_cu_mul_add(dt, da.p(), op[0].strides.data(), db.p(), op[1].strides.data(),
                      dc.p(), op[2].strides.data(), dc.p(), c.shape.data(), rank);
      EXPECT_EQ(dc.get<uint8_t>(), got);
    }
  }
  EXPECT_EQ(ci, 18);
}

//===--- strided_copy, gather, trilu --------------------------------------===//

struct CopyCase {
  const char *what;
  int64_t elem;
  std::vector<int64_t> shape, src_strides, dst_strides;
  int64_t src_offset = 0, src_elems = 0, dst_elems = 0, dst_offset = 0;
};

/// The smallest buffer (elements) a strided view reaches, from offset 0.
int64_t reach(const std::vector<int64_t> &shape,
              const std::vector<int64_t> &strides, int64_t offset) {
  int64_t hi = offset;
  for (size_t d = 0; d < shape.size(); ++d)
    if (shape[d] > 0 && strides[d] > 0)
      hi += (shape[d] - 1) * strides[d];
  return hi + 1;
}

std::vector<int64_t> permuted(const std::vector<int64_t> &v,
                              const std::vector<int> &perm) {
  std::vector<int64_t> r(perm.size());
  for (size_t i = 0; i < perm.size(); ++i)
    r[i] = v[perm[i]];
  return r;
}
std::vector<int64_t> dense(const std::vector<int64_t> &shape) {
  std::vector<int64_t> s(shape.size());
  int64_t acc = 1;
  for (size_t d = shape.size(); d-- > 0;) {
    s[d] = acc;
    acc *= shape[d];
  }
  return s;
}

/// Transpose: dst dense in `shape`, src dense in the permuted shape.
CopyCase transposeCase(const char *what, int64_t elem,
                       const std::vector<int64_t> &shape,
                       const std::vector<int> &perm) {
  // src holds the tensor in dims order perm: src dim k is shape[perm[k]].
  std::vector<int64_t> srcShape = permuted(shape, perm);
  std::vector<int64_t> srcDense = dense(srcShape);
  std::vector<int64_t> srcStrides(shape.size());
  for (size_t k = 0; k < perm.size(); ++k)
    srcStrides[perm[k]] = srcDense[k];
  return CopyCase{what, elem, shape, srcStrides, dense(shape)};
}

std::vector<CopyCase> copyCases() {
  std::vector<CopyCase> cs;
  for (int64_t es : {1, 2, 3, 4, 8, 12, 16}) {
    cs.push_back({"contiguous", es, {1001}, {1}, {1}});
    cs.push_back(transposeCase("transpose 2d", es, {37, 45}, {1, 0}));
  }
  for (int64_t es : {1, 2, 4, 8}) {
    cs.push_back(transposeCase("transpose large", es, {300, 257}, {1, 0}));
    cs.push_back(
        transposeCase("head split", es, {2, 3, 5, 7}, {0, 2, 1, 3}));
    cs.push_back(
        transposeCase("channels last", es, {2, 9, 11, 10}, {0, 2, 3, 1}));
    cs.push_back(
        transposeCase("rank 5", es, {2, 3, 4, 5, 9}, {4, 2, 0, 3, 1}));
  }
  cs.push_back({"slice step 3", 4, {40}, {3}, {1}});
  {
    CopyCase c{"reversed", 2, {50}, {-1}, {1}};
    c.src_offset = 49;
    cs.push_back(c);
  }
  {
    CopyCase c{"reversed rows", 4, {6, 33}, {-33, 1}, {33, 1}};
    c.src_offset = 5 * 33;
    cs.push_back(c);
  }
  cs.push_back({"broadcast row", 4, {4, 33}, {0, 1}, {33, 1}});
  cs.push_back({"broadcast scalar", 2, {5, 7}, {0, 0}, {7, 1}});
  cs.push_back({"broadcast column", 8, {9, 13}, {1, 0}, {13, 1}});
  {
    CopyCase c{"concat piece", 4, {3, 7}, {7, 1}, {20, 1}};
    c.dst_offset = 5;
    c.dst_elems = 60;
    cs.push_back(c);
  }
  {
    CopyCase c{"misaligned bytes", 1, {3, 64}, {70, 1}, {64, 1}};
    c.src_offset = 1;
    cs.push_back(c);
  }
  {
    CopyCase c{"slice of a slice", 2, {4, 5, 6}, {60, 12, 2}, {30, 6, 1}};
    c.src_offset = 3;
    cs.push_back(c);
  }
  cs.push_back({"empty", 4, {3, 0, 5}, {0, 5, 1}, {0, 5, 1}});
  {
    // 16 dims: none merge (every dim is transposed against its neighbour).
    std::vector<int64_t> shape(16, 2);
    std::vector<int> perm(16);
    for (int i = 0; i < 16; ++i)
      perm[i] = i ^ 1;
    cs.push_back(transposeCase("rank 16", 2, shape, perm));
    cs.push_back(transposeCase("rank 16 odd bytes", 3, shape, perm));
  }
  return cs;
}

TEST(CudaStridedCopy, Cases) {
  for (const CopyCase &c : copyCases()) {
    SCOPED_TRACE(testing::Message() << c.what << ", " << c.elem << " bytes");
    const int rank = (int)c.shape.size();
    const int64_t srcElems =
        std::max(c.src_elems, reach(c.shape, c.src_strides, c.src_offset));
    const int64_t dstElems = std::max(
        c.dst_elems, reach(c.shape, c.dst_strides, c.dst_offset));
    std::vector<uint8_t> src =
        randomInts<uint8_t>(srcElems * c.elem, (uint32_t)c.elem, 0, 255);
    std::vector<uint8_t> dst0 =
        randomInts<uint8_t>(dstElems * c.elem, 1000 + (uint32_t)c.elem, 0,
                            255);
    std::vector<uint8_t> want = dst0;
    ditc_rt_strided_copy(c.elem, src.data(), c.src_offset,
                         c.src_strides.data(),
                         want.data() + c.dst_offset * c.elem,
                         c.dst_strides.data(), c.shape.data(), rank);
    Dev ds(src), dd(dst0);
    ditc_cu_strided_copy(c.elem, ds.p(), c.src_offset, c.src_strides.data(),
                         dd.as<uint8_t>() + c.dst_offset * c.elem,
                         c.dst_strides.data(), c.shape.data(), rank);
    EXPECT_EQ(dd.get<uint8_t>(), want);
  }
}

TEST(CudaGather, ElementSizesAndIndexTypes) {
  for (int64_t es : {1, 2, 3, 4, 8}) {
    for (int64_t inner : {1, 5, 64}) {
      const int64_t outer = 3, axis = 11, ni = 9;
      SCOPED_TRACE(testing::Message() << es << " bytes, inner " << inner);
      std::vector<uint8_t> data =
          randomInts<uint8_t>(outer * axis * inner * es, (uint32_t)es, 0, 255);
      std::vector<int64_t> idx = randomInts<int64_t>(ni, 3, -axis, axis - 1);
      std::vector<int32_t> idx32(idx.begin(), idx.end());
      for (int32_t it : {DITC_RT_I64, DITC_RT_I32}) {
        const void *hi = it == DITC_RT_I64 ? (const void *)idx.data()
                                           : (const void *)idx32.data();
        std::vector<uint8_t> want(outer * ni * inner * es);
        ditc_rt_gather(es, data.data(), outer, axis, inner, hi, it, ni,
                       want.data());
        Dev dd(data), dout(want.size());
        Dev didx(hi, ni * (it == DITC_RT_I64 ? 8 : 4));
        ditc_cu_gather(es, dd.p(), outer, axis, inner, didx.p(), it, ni,
                       dout.p());
        EXPECT_EQ(dout.get<uint8_t>(), want);
      }
    }
  }
}

TEST(CudaTrilu, Cases) {
  const int64_t batch = 2, rows = 7, cols = 9;
  for (int64_t es : {1, 2, 3, 4, 8}) {
    for (int64_t k : {-3, -1, 0, 2, 10}) {
      for (int32_t upper : {0, 1}) {
        SCOPED_TRACE(testing::Message() << es << " bytes, k " << k
                                        << (upper ? " upper" : " lower"));
        std::vector<uint8_t> x = randomInts<uint8_t>(batch * rows * cols * es,
                                                     (uint32_t)(es + k), 1,
                                                     255);
        std::vector<uint8_t> want(x.size());
        ditc_rt_trilu(es, x.data(), want.data(), batch, rows, cols, k, upper);
        Dev dx(x), dy(x.size());
        ditc_cu_trilu(es, dx.p(), dy.p(), batch, rows, cols, k, upper);
        EXPECT_EQ(dy.get<uint8_t>(), want);
        ditc_cu_trilu(es, dx.p(), dx.p(), batch, rows, cols, k, upper);
        EXPECT_EQ(dx.get<uint8_t>(), want) << "in place";
      }
    }
  }
}

//===--- rope -------------------------------------------------------------===//

TEST_P(FloatTypes, Rope) {
  const int32_t dt = GetParam();
  struct Case {
    int64_t n0, n1, n2, dim, rot;
    int64_t tables; // table rows
    int64_t ts[3];
  };
  // Llama [B*H, S, 1, D] with tables [S, D]; Flux [B, S, H, D] with tables
  // [1, S, 1, D]; a partial rotation.
  const Case cases[] = {{6, 17, 1, 64, 64, 17, {0, 64, 0}},
                        {2, 9, 3, 32, 32, 9, {0, 32, 0}},
                        {3, 5, 2, 24, 16, 5 * 2, {0, 32, 16}}};
  for (const Case &c : cases) {
    for (int32_t inter : {0, 1}) {
      for (bool inPlace : {false, true}) {
        SCOPED_TRACE(testing::Message() << "dim " << c.dim << " rot " << c.rot
                                        << " interleaved " << inter
                                        << (inPlace ? " in place" : ""));
        const int64_t n = c.n0 * c.n1 * c.n2 * c.dim;
        const int64_t tn = c.tables * std::max(c.rot, c.dim) * 2;
        FloatData x = floatData(dt, randomFloats(n, 1, -3.f, 3.f));
        FloatData cs = floatData(dt, randomFloats(tn, 2, -1.f, 1.f));
        FloatData sn = floatData(dt, randomFloats(tn, 3, -1.f, 1.f));
        std::vector<float> want(n);
        ditc_rt_rope_f32(x.exact.data(), cs.exact.data(), sn.exact.data(),
                         want.data(), c.n0, c.n1, c.n2, c.dim, c.rot, c.ts,
                         inter);
        Dev dx(x.bytes), dc(cs.bytes), ds(sn.bytes), dy(x.bytes.size());
        Dev &out = inPlace ? dx : dy;
        ditc_cu_rope(dt, dx.p(), dc.p(), ds.p(), out.p(), c.n0, c.n1, c.n2,
                     c.dim, c.rot, c.ts, inter);
        // a*c - b*s with or without FMA: ulps of the products (<= 3).
        std::vector<float> slack(n, 2 * ulpOf(3.f));
        expectFloats(dt, out.get<uint8_t>(), want, 1.f, slack);
      }
    }
  }
}

//===--- norms and softmax ------------------------------------------------===//

/// Per element, a bound for a norm's output: the error of the mean (a few
/// ulp of |x|) and of rstd, scaled as the output.
std::vector<float> normSlack(const std::vector<float> &x, int64_t rows,
                             int64_t cols, const std::vector<float> *scale,
                             const std::vector<float> *bias, bool rms) {
  std::vector<float> slack(x.size());
  for (int64_t r = 0; r < rows; ++r) {
    double mean = 0, var = 0;
    for (int64_t c = 0; c < cols; ++c)
      mean += x[r * cols + c];
    mean = rms ? 0.0 : mean / cols;
    for (int64_t c = 0; c < cols; ++c)
      var += (x[r * cols + c] - mean) * (x[r * cols + c] - mean);
    const float rstd = (float)(1.0 / std::sqrt(var / cols + 1e-5));
    for (int64_t c = 0; c < cols; ++c) {
      const float s = scale ? std::fabs((*scale)[c]) : 1.f;
      const float b = bias ? std::fabs((*bias)[c]) : 0.f;
      slack[r * cols + c] =
          8.f * ulpOf((std::fabs(x[r * cols + c]) * rstd + 1.f) * s + b);
    }
  }
  return slack;
}

TEST_P(FloatTypes, LayerAndRmsNorm) {
  const int32_t dt = GetParam();
  for (int64_t cols : {1, 7, 64, 256, 257, 1152, 4099, 9000}) {
    for (int64_t rows : {1, 5, 37}) {
      if (kEmulated && rows * cols > 40000)
        continue;
      for (int variant = 0; variant < 3; ++variant) {
        SCOPED_TRACE(testing::Message() << rows << " x " << cols
                                        << " variant " << variant);
        const float offset = variant == 2 ? 20.f : 0.f;
        std::vector<float> xr = randomFloats(rows * cols, (uint32_t)cols,
                                             -2.f, 2.f);
        for (auto &v : xr)
          v += offset;
        FloatData x = floatData(dt, xr);
        FloatData sc = floatData(dt, randomFloats(cols, 5, 0.5f, 1.5f));
        FloatData bi = floatData(dt, randomFloats(cols, 6, -1.f, 1.f));
        const bool hasScale = variant != 1, hasBias = variant == 0;
        const float eps = 1e-5f;
        Dev dx(x.bytes), ds(sc.bytes), db(bi.bytes), dy(x.bytes.size());

        std::vector<float> want(rows * cols);
        ditc_rt_layer_norm_f32(x.exact.data(),
                               hasScale ? sc.exact.data() : nullptr,
                               hasBias ? bi.exact.data() : nullptr,
                               want.data(), rows, cols, eps);
        ditc_cu_layer_norm(dt, dx.p(), hasScale ? ds.p() : nullptr,
                           hasBias ? db.p() : nullptr, dy.p(), rows, cols,
                           eps);
        std::vector<float> slack =
            normSlack(x.exact, rows, cols, hasScale ? &sc.exact : nullptr,
                      hasBias ? &bi.exact : nullptr, false);
        expectFloats(dt, dy.get<uint8_t>(), want, 4.f, slack);

        ditc_rt_rms_norm_f32(x.exact.data(),
                             hasScale ? sc.exact.data() : nullptr,
                             want.data(), rows, cols, eps);
        ditc_cu_rms_norm(dt, dx.p(), hasScale ? ds.p() : nullptr, dy.p(),
                         rows, cols, eps);
        slack = normSlack(x.exact, rows, cols,
                          hasScale ? &sc.exact : nullptr, nullptr, true);
        expectFloats(dt, dy.get<uint8_t>(), want, 4.f, slack);

        if (variant == 0) { // in place
          ditc_rt_layer_norm_f32(x.exact.data(), sc.exact.data(),
                                 bi.exact.data(), want.data(), rows, cols,
                                 eps);
          ditc_cu_layer_norm(dt, dx.p(), ds.p(), db.p(), dx.p(), rows, cols,
                             eps);
          slack = normSlack(x.exact, rows, cols, &sc.exact, &bi.exact, false);
          expectFloats(dt, dx.get<uint8_t>(), want, 4.f, slack);
        }
      }
    }
  }
}

// The adaLN-modulated layer norm (one kernel: the norm, times the group's
// mod_scale row, plus its mod_shift row, rounded once) against the CPU's
// layer_norm_mod_f32 on the same (representable) values: packed rows with
// and without mod_scale, and rows apart (within six parameters side by
// side) with norm(x) * (1 + scale) + shift.
TEST_P(FloatTypes, LayerNormModulated) {
  const int32_t dt = GetParam();
  int ran = 0;
  for (int64_t cols : {7, 256, 257, 1152, 4099}) {
    for (auto [rows, groups] : {std::pair<int64_t, int64_t>{6, 2}, {5, 1},
                                {37, 37}}) {
      if (kEmulated && rows * cols > 40000)
        continue;
      for (int variant = 0; variant < 3; ++variant) {
        const bool withScale = variant != 1, apart = variant == 2;
        SCOPED_TRACE(testing::Message() << rows << " x " << cols << " groups "
                                        << groups << " variant " << variant);
        const int64_t ss = apart ? 6 * cols : cols, ts = apart ? 6 * cols + 3 : cols;
        const float off = apart ? 1.f : 0.f;
        FloatData x = floatData(dt, randomFloats(rows * cols, (uint32_t)cols + 7,
                                                 -2.f, 3.f));
        FloatData sc = floatData(dt, randomFloats(cols, 15, 0.5f, 1.5f));
        FloatData ms = floatData(dt, randomFloats(groups * ss, 16, -2.f, 2.f));
        FloatData mt = floatData(dt, randomFloats(groups * ts, 17, -1.f, 1.f));
        const float eps = 1e-5f;
        Dev dx(x.bytes), ds(sc.bytes), dms(ms.bytes), dmt(mt.bytes),
            dy(x.bytes.size());
        std::vector<float> want(rows * cols);
        ditc_rt_layer_norm_mod_f32(x.exact.data(), sc.exact.data(), nullptr,
                                   withScale ? ms.exact.data() : nullptr,
                                   mt.exact.data(), want.data(), rows, cols,
                                   groups, ss, ts, off, eps);
        ditc_cu_layer_norm_mod(dt, dx.p(), ds.p(), nullptr,
                               withScale ? dms.p() : nullptr, dmt.p(), dy.p(),
                               rows, cols, groups, ss, ts, off, eps);
        std::vector<float> slack =
            normSlack(x.exact, rows, cols, &sc.exact, nullptr, false);
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t c = 0; c < cols; ++c) {
            const int64_t i = r * cols + c, g = r / (rows / groups);
            const float m = withScale ? std::fabs(ms.exact[g * ss + c] + off) : 1.f;
            slack[i] = slack[i] * m + 4.f * ulpOf(std::fabs(want[i]) +
                                                  std::fabs(mt.exact[g * ts + c]));
          }
        expectFloats(dt, dy.get<uint8_t>(), want, 4.f, slack);
        ++ran;
      }
    }
  }
  EXPECT_EQ(ran, kEmulated ? 39 : 45);
}

TEST_P(FloatTypes, GroupNorm) {
  const int32_t dt = GetParam();
  struct Case {
    int64_t n, c, spatial, groups;
  };
  const Case cases[] = {
      {2, 12, 37, 3}, {1, 64, 300, 32}, {3, 6, 1, 6}, {1, 8, 1500, 2}};
  for (const Case &k : cases) {
    for (bool affine : {true, false}) {
      if (kEmulated && k.n * k.c * k.spatial > 30000)
        continue;
      SCOPED_TRACE(testing::Message() << k.n << "x" << k.c << "x" << k.spatial
                                      << " groups " << k.groups
                                      << (affine ? "" : " no scale/bias"));
      const int64_t len = k.c / k.groups * k.spatial, rows = k.n * k.groups;
      FloatData x = floatData(
          dt, randomFloats(k.n * k.c * k.spatial, 7, -3.f, 3.f));
      FloatData sc = floatData(dt, randomFloats(k.c, 8, 0.5f, 1.5f));
      FloatData bi = floatData(dt, randomFloats(k.c, 9, -1.f, 1.f));
      std::vector<float> want(x.exact.size());
      ditc_rt_group_norm_f32(x.exact.data(), affine ? sc.exact.data() : nullptr,
                             affine ? bi.exact.data() : nullptr, want.data(),
                             k.n, k.c, k.spatial, k.groups, 1e-5f);
      Dev dx(x.bytes), ds(sc.bytes), db(bi.bytes), dy(x.bytes.size());
      ditc_cu_group_norm(dt, dx.p(), affine ? ds.p() : nullptr,
                         affine ? db.p() : nullptr, dy.p(), k.n, k.c,
                         k.spatial, k.groups, 1e-5f);
      // scale / bias per channel: bound with their largest values
      std::vector<float> one(len, 1.5f), half(len, 1.f);
      std::vector<float> slack = normSlack(x.exact, rows, len, &one, &half,
                                           false);
      expectFloats(dt, dy.get<uint8_t>(), want, 4.f, slack);
    }
  }
}

TEST_P(FloatTypes, Softmax) {
  const int32_t dt = GetParam();
  struct Case {
    int64_t outer, len, inner;
  };
  const Case cases[] = {{5, 1, 1},   {5, 7, 1},     {9, 256, 1}, {3, 300, 1},
                        {2, 5000, 1}, {3, 17, 5},   {2, 300, 33}, {1, 4, 40},
                        {4, 9000, 1}};
  for (const Case &c : cases) {
    const int64_t n = c.outer * c.len * c.inner;
    if (kEmulated && n > 40000)
      continue;
    SCOPED_TRACE(testing::Message() << c.outer << " x " << c.len << " x "
                                    << c.inner);
    std::vector<float> xr = randomFloats(n, (uint32_t)n, -15.f, 15.f);
    if (c.len > 1)
      xr[2] = -INFINITY; // masked (a row of -inf alone would be NaN)
    FloatData x = floatData(dt, xr);
    std::vector<float> want(n);
    ditc_rt_softmax_f32(x.exact.data(), want.data(), c.outer, c.len, c.inner);
    Dev dx(x.bytes), dy(x.bytes.size());
    ditc_cu_softmax(dt, dx.p(), dy.p(), c.outer, c.len, c.inner);
    // The sum of `len` f32 terms in another order (sequential for inner > 1).
    const float ulps = 8.f + 2.f * std::sqrt((float)c.len);
    expectFloats(dt, dy.get<uint8_t>(), want, ulps);
    ditc_cu_softmax(dt, dx.p(), dx.p(), c.outer, c.len, c.inner);
    expectFloats(dt, dx.get<uint8_t>(), want, ulps);
  }
}

//===--- conv2d -----------------------------------------------------------===//

struct ConvCase {
  int64_t n, c, h, w, o, kh, kw, sh, sw, pt, pl, pb, pr, dh, dw, group;
  bool bias;
};

/// Per output of `k`: the sum of |x * w| over its taps plus |bias|, times
/// the taps' count and 2^-23: a bound on how far two f32 sums of the same
/// products in different orders (the GPU's, the CPU's GEMM) may be apart.
std::vector<float> convSlack(const ConvCase &k, int64_t oh, int64_t ow,
                             const std::vector<float> &x,
                             const std::vector<float> &w,
                             const std::vector<float> &b) {
  const int64_t cg = k.c / k.group, og = k.o / k.group;
  const double taps = (double)(cg * k.kh * k.kw + 1);
  std::vector<float> slack(k.n * k.o * oh * ow);
  size_t idx = 0;
  for (int64_t n = 0; n < k.n; ++n)
    for (int64_t o = 0; o < k.o; ++o)
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < ow; ++j) {
          double s = k.bias ? std::fabs(b[o]) : 0.0;
          const int64_t c0 = o / og * cg;
          for (int64_t c = 0; c < cg; ++c)
            for (int64_t u = 0; u < k.kh; ++u)
              for (int64_t v = 0; v < k.kw; ++v) {
                const int64_t yy = i * k.sh - k.pt + u * k.dh;
                const int64_t xx = j * k.sw - k.pl + v * k.dw;
                if (yy < 0 || yy >= k.h || xx < 0 || xx >= k.w)
                  continue;
                s += std::fabs(
                    (double)x[((n * k.c + c0 + c) * k.h + yy) * k.w + xx] *
                    w[((o * cg + c) * k.kh + u) * k.kw + v]);
              }
          slack[idx++] = (float)(s * taps * 0x1p-23);
        }
  return slack;
}

TEST_P(FloatTypes, Conv2d) {
  const int32_t dt = GetParam();
  // n, c, h, w, o, kh, kw, sh, sw, pad top / left / bottom / right, dh, dw,
  // group, bias
  const ConvCase cases[] = {
      // "same" padding; 5 output channels: a partial tile of 4
      {1, 3, 7, 9, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, true},
      // DiT's patch embedding (2 x 2 patches)
      {2, 4, 32, 32, 64, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 1, true},
      // 3 groups, stride 2, asymmetric pads
      {2, 6, 11, 10, 9, 3, 3, 2, 2, 0, 1, 2, 0, 1, 1, 3, true},
      // depthwise, dilation 2, no bias
      {1, 8, 13, 12, 8, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 8, false},
      // rectangular kernel, strides 3 / 2, dilation 2 / 1
      {3, 5, 9, 14, 7, 2, 5, 3, 2, 1, 0, 0, 3, 2, 1, 1, true},
      // 4 groups of 3 -> 5 channels, stride 2 / 3, dilation 3 / 2
      {1, 12, 17, 15, 20, 5, 3, 2, 3, 4, 0, 1, 2, 3, 2, 4, false},
      // pointwise, 2 groups
      {1, 16, 20, 20, 32, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 2, true},
      // the corners see only padding: bias alone
      {1, 2, 3, 3, 4, 3, 3, 1, 1, 3, 3, 3, 3, 1, 1, 1, true},
      // 576 taps an output
      {2, 64, 28, 28, 96, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, true},
      // more work items than threads in the grid: the grid-stride loop
      {1, 1, 4100, 4100, 4, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, true},
  };
  uint32_t seed = 100;
  for (const ConvCase &k : cases) {
    seed += 3;
    const int64_t oh =
        (k.h + k.pt + k.pb - k.dh * (k.kh - 1) - 1) / k.sh + 1;
    const int64_t ow =
        (k.w + k.pl + k.pr - k.dw * (k.kw - 1) - 1) / k.sw + 1;
    const int64_t ysize = k.n * k.o * oh * ow;
    if (kEmulated && ysize > (1 << 20))
      continue;
    SCOPED_TRACE(testing::Message()
                 << "x " << k.n << "x" << k.c << "x" << k.h << "x" << k.w
                 << " w " << k.o << "x" << k.c / k.group << "x" << k.kh
                 << "x" << k.kw << " stride " << k.sh << "," << k.sw
                 << " pads " << k.pt << "," << k.pl << "," << k.pb << ","
                 << k.pr << " dilation " << k.dh << "," << k.dw << " group "
                 << k.group << (k.bias ? "" : " no bias"));
    const size_t xsize = k.n * k.c * k.h * k.w;
    const size_t wsize = k.o * (k.c / k.group) * k.kh * k.kw;
    FloatData x = floatData(dt, randomFloats(xsize, seed, -2.f, 2.f));
    FloatData w = floatData(dt, randomFloats(wsize, seed + 1, -1.f, 1.f));
    FloatData b = floatData(dt, randomFloats(k.o, seed + 2, -1.f, 1.f));
    const size_t ybytes = ysize * elemSize(dt);

    // The CPU twin on the same stored inputs: F16 / BF16 through its f32
    // kernel, rounded once.
    std::vector<uint8_t> ref(ybytes);
    ditc_rt_conv2d(dt, x.bytes.data(), w.bytes.data(),
                   k.bias ? b.bytes.data() : nullptr, ref.data(), k.n, k.c,
                   k.h, k.w, k.o, k.kh, k.kw, k.sh, k.sw, k.pt, k.pl, k.pb,
                   k.pr, k.dh, k.dw, k.group);
    const std::vector<float> want =
        dt == DITC_RT_F32 ? fromBytes<float>(ref)
                          : fromHalf(dt, fromBytes<uint16_t>(ref));

    Dev dx(x.bytes), dw(w.bytes), db(b.bytes), dy(ybytes);
    CUDA_OK(cudaMemset(dy.p(), 0xff, ybytes)); // NaN: every output is written
    ditc_cu_conv2d(dt, dx.p(), dw.p(), k.bias ? db.p() : nullptr, dy.p(), k.n,
                   k.c, k.h, k.w, k.o, k.kh, k.kw, k.sh, k.sw, k.pt, k.pl,
                   k.pb, k.pr, k.dh, k.dw, k.group);
    expectFloats(dt, dy.get<uint8_t>(), want, 2.f,
                 convSlack(k, oh, ow, x.exact, w.exact, b.exact));
  }
}

DITC_FLOAT_TYPES(FloatTypes);

//===--- reduce -----------------------------------------------------------===//

class ReduceTypes : public testing::TestWithParam<int32_t> {};

TEST_P(ReduceTypes, Reduce) {
  const int32_t dt = GetParam();
  const bool isFloat =
      dt == DITC_RT_F32 || dt == DITC_RT_F16 || dt == DITC_RT_BF16;
  struct Case {
    std::vector<int64_t> shape;
    int64_t mask;
  };
  std::vector<Case> cases = {{{1000}, 1},
                             {{37, 45}, 1},
                             {{37, 45}, 2},
                             {{37, 45}, 3},
                             {{2, 3, 4, 5, 6}, 0b10101},
                             {{2, 3, 4, 5, 6}, 0b01010},
                             {{2, 3, 4, 5, 6}, 0b11100},
                             {{2, 3, 4, 5, 6}, 0},
                             {{5, 1, 7}, 2},
                             {{3, 5000}, 2},
                             {{5000, 3}, 1},
                             {{3, 0, 4}, 2},
                             {{3, 0, 4}, 1},
                             {{2, 40, 3}, 5},
                             {{}, 0}};
  for (const Case &c : cases) {
    const int rank = (int)c.shape.size();
    const int64_t n = countOf(c.shape);
    int64_t out = 1;
    for (int d = 0; d < rank; ++d)
      if (!((c.mask >> d) & 1))
        out *= c.shape[d];
    for (int op = 0; op < DITC_RT_REDUCE_COUNT; ++op) {
      SCOPED_TRACE(testing::Message() << "rank " << rank << " mask " << c.mask
                                      << " op " << op);
      const bool prod = op == DITC_RT_REDUCE_PROD;
      if (isFloat) {
        std::vector<float> xr = prod ? randomFloats(n, 1, 0.9f, 1.1f)
                                     : randomFloats(n, 1, -2.f, 2.f);
        FloatData x = floatData(dt, xr);
        std::vector<float> want(out);
        ditc_rt_reduce(op, DITC_RT_F32, x.exact.data(), c.shape.data(), rank,
                       c.mask, want.data());
        Dev dx(x.bytes), dy(out * elemSize(dt));
        ditc_cu_reduce(op, dt, dx.p(), c.shape.data(), rank, c.mask, dy.p());
        // f32 accumulation against the CPU's double: bound by the sum of
        // |x| (the product: relative).
        std::vector<float> slack(out, 0.f);
        const int64_t count = out ? n / out : 0;
        for (int64_t o = 0; o < out; ++o)
          slack[o] = prod ? 1e-5f * std::fabs(want[o])
                          : 2e-6f * 2.f * (float)count /
                                (op == DITC_RT_REDUCE_MEAN && count ? count
                                                                    : 1);
        expectFloats(dt, dy.get<uint8_t>(), want, 2.f, slack);
      } else {
        const int64_t es = elemSize(dt);
        std::vector<uint8_t> x =
            dt == DITC_RT_I64
                ? rawBytes(randomInts<int64_t>(n, 2, prod ? -3 : -100000,
                                               prod ? 3 : 100000))
                : rawBytes(randomInts<int32_t>(n, 2, prod ? -3 : -100000,
                                               prod ? 3 : 100000));
        std::vector<uint8_t> want(out * es);
        ditc_rt_reduce(op, dt, x.data(), c.shape.data(), rank, c.mask,
                       want.data());
        Dev dx(x), dy(out * es);
        ditc_cu_reduce(op, dt, dx.p(), c.shape.data(), rank, c.mask, dy.p());
        EXPECT_EQ(dy.get<uint8_t>(), want);
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Dtype, ReduceTypes,
                         testing::Values(DITC_RT_F32, DITC_RT_F16,
                                         DITC_RT_BF16, DITC_RT_I64,
                                         DITC_RT_I32),
                         dtypeParamName);

TEST(CudaReduce, MaxMinPropagateNan) {
  const int64_t shape[2] = {4, 300};
  std::vector<float> x = randomFloats(1200, 3, -1.f, 1.f);
  x[310] = NAN;  // row 1
  x[1199] = NAN; // row 3, last
  for (int op : {DITC_RT_REDUCE_MAX, DITC_RT_REDUCE_MIN}) {
    for (int64_t mask : {1, 2}) {
      std::vector<float> want(mask == 2 ? 4 : 300);
      ditc_rt_reduce(op, DITC_RT_F32, x.data(), shape, 2, mask, want.data());
      Dev dx(x), dy(want.size() * 4);
      ditc_cu_reduce(op, DITC_RT_F32, dx.p(), shape, 2, mask, dy.p());
      std::vector<float> got = dy.get<float>();
      for (size_t i = 0; i < want.size(); ++i)
        ASSERT_EQ(ulpDistance(got[i], want[i]), 0)
            << "op " << op << " mask " << mask << " output " << i;
    }
  }
}

//===--- argument errors --------------------------------------------------===//

TEST(CudaDeathTest, ArgumentsTheLaunchersCannotHonour) {
  const int64_t shape[1] = {4}, one[1] = {1};
  EXPECT_DEATH(ditc_cu_unary(99, DITC_RT_F32, nullptr, nullptr, 4),
               "ditc cuda: unary: unknown op 99");
  EXPECT_DEATH(ditc_cu_unary(0, DITC_RT_I64, nullptr, nullptr, 4),
               "unary: dtype 1 is not F32, F16 or BF16");
  EXPECT_DEATH(ditc_cu_binary(DITC_RT_BINARY_AND, DITC_RT_BF16, nullptr, one,
                              nullptr, one, nullptr, shape, 1),
               "binary: op 13 does not take dtype 5");
  EXPECT_DEATH(ditc_cu_binary(DITC_RT_BINARY_ADD, DITC_RT_U16, nullptr, one,
                              nullptr, one, nullptr, shape, 1),
               "binary: dtype 10 is not supported");
  EXPECT_DEATH(ditc_cu_mul_add(DITC_RT_I32, nullptr, one, nullptr, one, nullptr,
                               one, nullptr, shape, 1),
               "mul_add: dtype 2 is not F32, F16 or BF16");
  EXPECT_DEATH(ditc_cu_reduce(0, DITC_RT_B8, nullptr, shape, 1, 1, nullptr),
               "reduce: dtype 3");
  EXPECT_DEATH(ditc_cu_cast(DITC_RT_F64, DITC_RT_F32, nullptr, nullptr, 4),
               "cast: source dtype 6");
  EXPECT_DEATH(ditc_cu_strided_copy(4, nullptr, 0, one, nullptr, one, shape,
                                    17),
               "strided_copy: rank 17");
  EXPECT_DEATH(ditc_cu_group_norm(DITC_RT_F32, nullptr, nullptr, nullptr,
                                  nullptr, 1, 10, 4, 3, 1e-5f),
               "group_norm: channels \\(10\\) must be a multiple");
  EXPECT_DEATH(ditc_cu_rope(DITC_RT_F32, nullptr, nullptr, nullptr, nullptr, 1,
                            1, 1, 8, 3, one, 0),
               "rope: rotated features 3");
  EXPECT_DEATH(ditc_cu_conv2d(DITC_RT_I64, nullptr, nullptr, nullptr, nullptr,
                              1, 4, 8, 8, 4, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1),
               "conv2d: dtype 1 is not F32, F16 or BF16");
  EXPECT_DEATH(ditc_cu_conv2d(DITC_RT_F32, nullptr, nullptr, nullptr, nullptr,
                              1, 6, 8, 8, 4, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 4),
               "conv2d: channels 6 -> 4 do not split into 4 groups");
  EXPECT_DEATH(ditc_cu_conv2d(DITC_RT_BF16, nullptr, nullptr, nullptr,
                              nullptr, 1, 4, 8, 8, 4, 3, 3, 0, 1, 0, 0, 0, 0,
                              1, 1, 1),
               "conv2d: bad kernel, stride, dilation or padding");
  EXPECT_DEATH(ditc_cu_conv2d(DITC_RT_F16, nullptr, nullptr, nullptr, nullptr,
                              1, 4, 2, 2, 4, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1),
               "conv2d: empty output \\(0 x 0\\)");
}

void gatherOutOfRange() {
  const std::vector<int64_t> idx = {0, 5};
  std::vector<float> data(4 * 3, 1.f);
  Dev dd(data);
  Dev di(idx);
  Dev dout(2 * 3 * 4);
  ditc_cu_gather(4, dd.p(), 1, 4, 3, di.p(), DITC_RT_I64, 2, dout.p());
  if (cudaDeviceSynchronize() != cudaSuccess) // the kernel trapped
    abort();
}

TEST(CudaDeathTest, GatherIndexOutOfRange) {
  EXPECT_DEATH(gatherOutOfRange(), "");
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
