//===- CudaAttentionTest.cpp - The CUDA attention against the CPU runtime -===//
//
// ditc_cu_attention (F32, F16, BF16), ditc_cu_attention_block_f32 and
// ditc_cu_attention_merge_f32 (runtime/cuda/attention.cu) on a GPU, against
// ditc_rt_attention_f32 / _block_f32 / _merge_f32 of the CPU runtime on the
// same inputs (for F16 / BF16: the inputs rounded to the type, given to the
// CPU as the f32 values they hold). Shapes cover every head-dim bucket of the
// kernel (D 40, 64, 72, 128, 256, Dv != D, odd D), query / key lengths 1, 77
// and 300 (tiles of 32 / 64 rows and 32 / 64 keys, so partial tiles), GQA,
// bool and additive masks with broadcast strides, causal, fully masked rows,
// unaligned tensors (the kernel's scalar load path) and out == q; and
// ditc_cu_attention_layout's seq-major tensors, every layout, and its lse in
// the order of out's rows.
//
// Always the own kernel (main sets DITC_CUDNN=0: cuDNN's fused SDPA, which
// would take the F16 / BF16 calls without masks, is CudnnSdpaGpuTest.cpp's).
//
// Built twice: ditc-cuda-attention-tests on the GPU, run by attention.test
// (REQUIRES: cuda; without a usable GPU main prints "no GPU: ..." and exits
// 77), and CudaAttentionEmuTests, the same kernels compiled for the host
// through test/Cuda/emu (DITC_CU_EMULATE: a block's 128 threads as fibers),
// in the Unit suite everywhere; there F16 / BF16 take only the smaller cases
// (their code differs from F32 only in the loads and stores).
//
//===----------------------------------------------------------------------===//
#include "../Runtime/AttentionReference.h"
#include "cuda_runtime_api.h" // the ditc_cu_* launchers

#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

using ditc_test::GlobalAttention;

namespace {

const float kInf = std::numeric_limits<float>::infinity();

#define CUDA_OK(expr)                                                          \
  do {                                                                         \
    cudaError_t e_ = (expr);                                                   \
    ASSERT_EQ(e_, cudaSuccess) << #expr << ": " << cudaGetErrorString(e_);     \
  } while (0)

//--- Host half / bfloat16 (round to nearest even), independent of CUDA's ---//

uint16_t toF16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
  uint32_t ax = x & 0x7fffffffu;
  if (ax >= 0x7f800000u) // inf, NaN
    return sign | 0x7c00 | (ax > 0x7f800000u ? 0x200 : 0);
  if (ax < 0x38800000u) { // below 2^-14: subnormal (units of 2^-24)
    float a;
    std::memcpy(&a, &ax, 4);
    return sign | (uint16_t)std::nearbyint(a * 16777216.f);
  }
  ax += 0xfffu + ((ax >> 13) & 1); // round the 13 dropped bits, ties even
  if (ax >= 0x47800000u)           // 2^16 and up: infinity
    return sign | 0x7c00;
  return sign | (uint16_t)((ax - 0x38000000u) >> 13);
}

float f16ToF32(uint16_t h) {
  const uint32_t sign = (uint32_t)(h & 0x8000) << 16;
  const int e = (h >> 10) & 0x1f, m = h & 0x3ff;
  float f;
  if (e == 0) {
    f = std::ldexp((float)m, -24);
    return sign ? -f : f;
  }
  uint32_t x = e == 31
                   ? sign | 0x7f800000u | ((uint32_t)m << 13)
                   : sign | ((uint32_t)(e + 112) << 23) | ((uint32_t)m << 13);
  std::memcpy(&f, &x, 4);
  return f;
}

uint16_t toBF16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  if ((x & 0x7fffffffu) > 0x7f800000u)
    return (uint16_t)((x >> 16) | 0x40);
  x += 0x7fffu + ((x >> 16) & 1);
  return (uint16_t)(x >> 16);
}

float bf16ToF32(uint16_t h) {
  const uint32_t x = (uint32_t)h << 16;
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

// x rounded to `dtype` in place (the values the device sees), and its
// device bytes.
std::vector<uint8_t> toDtype(int dtype, std::vector<float> &x) {
  std::vector<uint8_t> bytes;
  if (dtype == DITC_RT_F32) {
    bytes.resize(x.size() * 4);
    std::memcpy(bytes.data(), x.data(), bytes.size());
    return bytes;
  }
  bytes.resize(x.size() * 2);
  for (size_t i = 0; i < x.size(); ++i) {
    const uint16_t h = dtype == DITC_RT_F16 ? toF16(x[i]) : toBF16(x[i]);
    x[i] = dtype == DITC_RT_F16 ? f16ToF32(h) : bf16ToF32(h);
    std::memcpy(bytes.data() + 2 * i, &h, 2);
  }
  return bytes;
}

std::vector<float> fromDtype(int dtype, const std::vector<uint8_t> &bytes) {
  const size_t es = dtype == DITC_RT_F32 ? 4 : 2;
  std::vector<float> x(bytes.size() / es);
  for (size_t i = 0; i < x.size(); ++i) {
    if (dtype == DITC_RT_F32) {
      std::memcpy(&x[i], bytes.data() + 4 * i, 4);
    } else {
      uint16_t h;
      std::memcpy(&h, bytes.data() + 2 * i, 2);
      x[i] = dtype == DITC_RT_F16 ? f16ToF32(h) : bf16ToF32(h);
    }
  }
  return x;
}

const char *dtypeName(int dtype) {
  return dtype == DITC_RT_F32 ? "F32" : dtype == DITC_RT_F16 ? "F16" : "BF16";
}

// A device buffer of `bytes` bytes, placed `offset_bytes` past a 256-byte
// aligned allocation (an odd offset makes the kernel take its scalar loads).
class DeviceBuffer {
public:
  DeviceBuffer() = default;
  DeviceBuffer(size_t bytes, size_t offset_bytes = 0) {
    alloc(bytes, offset_bytes);
  }
  ~DeviceBuffer() {
    if (base_)
      cudaFree(base_);
  }
  DeviceBuffer(const DeviceBuffer &) = delete;
  DeviceBuffer &operator=(const DeviceBuffer &) = delete;

  void alloc(size_t bytes, size_t offset_bytes = 0) {
    bytes_ = bytes;
    ASSERT_EQ(cudaMalloc(&base_, bytes + offset_bytes + 16), cudaSuccess);
    ptr_ = static_cast<uint8_t *>(base_) + offset_bytes;
    // Garbage (NaN bit patterns) where nothing is uploaded.
    ASSERT_EQ(cudaMemset(base_, 0xff, bytes + offset_bytes + 16), cudaSuccess);
  }
  template <class T> void upload(const std::vector<T> &x) {
    ASSERT_EQ(x.size() * sizeof(T), bytes_);
    if (bytes_) {
      ASSERT_EQ(cudaMemcpy(ptr_, x.data(), bytes_, cudaMemcpyHostToDevice),
                cudaSuccess);
    }
  }
  template <class T> std::vector<T> download() const {
    std::vector<T> x(bytes_ / sizeof(T));
    EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    if (bytes_) {
      EXPECT_EQ(cudaMemcpy(x.data(), ptr_, bytes_, cudaMemcpyDeviceToHost),
                cudaSuccess);
    }
    return x;
  }
  void *get() const { return ptr_; }
  float *f32() const { return static_cast<float *>(ptr_); }

private:
  void *base_ = nullptr;
  void *ptr_ = nullptr;
  size_t bytes_ = 0;
};

struct Case {
  const char *name;
  int64_t B, H, Hkv, Sq, Sk, D, Dv;
  bool causal = false;
  int mask_kind = DITC_RT_MASK_NONE;
  bool mask_batch = false, mask_heads = false, mask_rows = true;
  // A query row (batch 0, head 0) with every key masked, or -1.
  int64_t masked_row = -1;
  size_t misalign = 0; // elements past an aligned address, every tensor
};

GlobalAttention makeProblem(const Case &c, uint32_t seed) {
  GlobalAttention g =
      ditc_test::attentionOf(c, c.Sk, 1.f / std::sqrt((float)(c.D ? c.D : 1)));
  ditc_test::fillGlobalAttention(g, seed, c.mask_batch, c.mask_heads,
                                 c.mask_rows, c.masked_row);
  // Scores of a few units: softmax weights far from uniform.
  for (float &x : g.q)
    x *= 2.f;
  return g;
}

// Tolerances, per element: |gpu - cpu| <= abs + rel * |cpu|.
//  - F32: both sides compute in f32 over the same inputs, differing in the
//    order of the sums (tiles of 32 / 64 keys, partial sums per lane, the
//    dot products in float4 steps) and in exp2 (the device's exp2f is within
//    2 ulp): a few ulp of the weights, on outputs of magnitude <= 1 (averages
//    of values in [-1, 1]); 2e-5 absolute bounds it with a wide margin.
//  - F16 / BF16: the same f32 result, then rounded once to the type: at most
//    half an ulp, 2^-11 (F16) / 2^-8 (BF16) relative, plus the f32
//    difference above (which can move a value across a rounding boundary:
//    the bound holds either way since it is added, not multiplied).
void tolerance(int dtype, double &abs_tol, double &rel_tol) {
  abs_tol = 2e-5;
  rel_tol = dtype == DITC_RT_F32   ? 0.0
            : dtype == DITC_RT_F16 ? std::ldexp(1.0, -11)
                                   : std::ldexp(1.0, -8);
}

void expectNear(const std::vector<float> &got, const std::vector<float> &want,
                double abs_tol, double rel_tol, const std::string &what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  int failures = 0;
  double worst = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    const double err = std::fabs((double)got[i] - (double)want[i]);
    const double tol = abs_tol + rel_tol * std::fabs((double)want[i]);
    worst = std::max(worst, err);
    if (!(err <= tol) && failures++ < 5)
      ADD_FAILURE() << what << ": element " << i << " got " << got[i]
                    << " want " << want[i] << " (tolerance " << tol << ")";
  }
  EXPECT_EQ(failures, 0) << what << ": " << failures << " of " << want.size()
                         << " elements off, worst " << worst;
}

// q, k, v (device bytes), the output and the mask of g on the device,
// every tensor `misalign` elements past an aligned address.
struct DeviceProblem {
  DeviceBuffer q, k, v, out, mask;
  DeviceProblem(const GlobalAttention &g, const std::vector<uint8_t> &qb,
                const std::vector<uint8_t> &kb, const std::vector<uint8_t> &vb,
                size_t out_bytes, size_t es, size_t misalign)
      : q(qb.size(), misalign * es), k(kb.size(), misalign * es),
        v(vb.size(), misalign * es), out(out_bytes, misalign * es) {
    q.upload(qb);
    k.upload(kb);
    v.upload(vb);
    if (g.mask_kind == DITC_RT_MASK_BOOL) {
      mask.alloc(g.bool_mask.size());
      mask.upload(g.bool_mask);
    } else if (g.mask_kind == DITC_RT_MASK_ADDITIVE) {
      mask.alloc(g.add_mask.size() * 4, 4 * misalign);
      mask.upload(g.add_mask);
    }
    EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  }
};

void runAttention(const Case &c, int dtype, uint32_t seed) {
  SCOPED_TRACE(std::string(c.name) + " " + dtypeName(dtype));
  GlobalAttention g = makeProblem(c, seed);
  const std::vector<uint8_t> qb = toDtype(dtype, g.q), kb = toDtype(dtype, g.k),
                             vb = toDtype(dtype, g.v);
  const size_t es = dtype == DITC_RT_F32 ? 4 : 2;
  const int64_t out_n = c.B * c.H * c.Sq * c.Dv;

  // The CPU on the rounded inputs.
  std::vector<float> want(out_n, 0.f);
  ditc_rt_attention_f32(g.q.data(), g.k.data(), g.v.data(), g.mask(),
                        g.mask_kind, g.maskStrides(), want.data(), g.B, g.H,
                        g.Hkv, g.Sq, g.Sk, g.D, g.Dv, g.scale, g.causal);

  DeviceProblem d(g, qb, kb, vb, out_n * es, es, c.misalign);
  ditc_cu_attention(dtype, d.q.get(), d.k.get(), d.v.get(), d.mask.get(),
                    g.mask_kind, g.maskStrides(), d.out.get(), g.B, g.H, g.Hkv,
                    g.Sq, g.Sk, g.D, g.Dv, g.scale, g.causal);
  const std::vector<float> got = fromDtype(dtype, d.out.download<uint8_t>());
  double abs_tol, rel_tol;
  tolerance(dtype, abs_tol, rel_tol);
  expectNear(got, want, abs_tol, rel_tol, "out");
  if (c.masked_row >= 0) {
    for (int64_t d = 0; d < c.Dv; ++d)
      EXPECT_EQ(got[c.masked_row * c.Dv + d], 0.f) << "fully masked row";
  }
}

const Case kCases[] = {
    {"D64", 2, 4, 4, 77, 300, 64, 64},
    {"D64 Sq300 Sk77 causal", 1, 2, 2, 300, 77, 64, 64, true},
    {"D72 GQA 8/2 causal", 1, 8, 2, 300, 300, 72, 72, true},
    {"D128 bool mask [1,1,Sq,Sk]", 2, 2, 2, 77, 77, 128, 128, false,
     DITC_RT_MASK_BOOL},
    {"D256 additive mask [1,H,Sq,Sk], masked row", 1, 2, 1, 77, 300, 256, 256,
     false, DITC_RT_MASK_ADDITIVE, false, true, true, 5},
    {"D40 Dv72 additive key mask [B,1,1,Sk]", 2, 4, 2, 77, 300, 40, 72, false,
     DITC_RT_MASK_ADDITIVE, true, false, false},
    {"D40 Dv24 causal bool [B,H,Sq,Sk], masked row", 2, 8, 2, 77, 77, 40, 24,
     true, DITC_RT_MASK_BOOL, true, true, true, 3},
    {"D128 Sq1", 2, 4, 4, 1, 300, 128, 128},
    {"D128 Sq1 causal", 1, 4, 2, 1, 77, 128, 128, true},
    {"D64 Sk1", 1, 4, 4, 77, 1, 64, 64},
    {"D64 Sk1 causal", 1, 2, 1, 77, 1, 64, 64, true},
    {"D256 Sq1 Sk1", 1, 2, 2, 1, 1, 256, 256},
    {"D256 Dv200 causal GQA 8/2", 1, 8, 2, 300, 300, 256, 200, true},
    {"D3 Dv5 odd", 2, 3, 3, 77, 77, 3, 5},
    {"D130 Dv7 bool [1,1,1,Sk]", 1, 2, 2, 77, 300, 130, 7, false,
     DITC_RT_MASK_BOOL, false, false, false},
    {"D64 unaligned", 1, 4, 2, 77, 300, 64, 64, true, DITC_RT_MASK_ADDITIVE,
     false, false, true, -1, 1},
    {"D128 unaligned", 1, 2, 2, 300, 77, 128, 128, false, DITC_RT_MASK_NONE,
     false, false, true, -1, 3},
};

class CudaAttention : public ::testing::TestWithParam<int> {};

TEST_P(CudaAttention, MatchesTheCpu) {
  uint32_t seed = 100;
  for (const Case &c : kCases) {
#ifdef DITC_CU_EMULATE
    if (GetParam() != DITC_RT_F32 &&
        c.B * c.H * c.Sq * c.Sk * (c.D + c.Dv) > 6500000) {
      seed += 10;
      continue;
    }
#endif
    runAttention(c, GetParam(), seed);
    seed += 10;
    if (::testing::Test::HasFatalFailure())
      return;
  }
}

INSTANTIATE_TEST_SUITE_P(Dtypes, CudaAttention,
                         ::testing::Values((int)DITC_RT_F32, (int)DITC_RT_F16,
                                           (int)DITC_RT_BF16),
                         [](const ::testing::TestParamInfo<int> &info) {
                           return std::string(dtypeName(info.param));
                         });

// ditc_cu_attention_layout with seq-major tensors ([B, S, H, D]: the
// DITC_RT_SEQ_MAJOR_* bits of `layout`) against the CPU attention of the
// same problem in [B, H, S, D].
void runLayout(const Case &c, int dtype, uint32_t seed, int32_t layout) {
  SCOPED_TRACE(std::string(c.name) + " " + dtypeName(dtype) + " layout " +
               std::to_string(layout));
  GlobalAttention g = makeProblem(c, seed);
  // Round to the type first: the CPU then sees the values the GPU reads.
  toDtype(dtype, g.q);
  toDtype(dtype, g.k);
  toDtype(dtype, g.v);
  const int64_t out_n = c.B * c.H * c.Sq * c.Dv;
  std::vector<float> want(out_n, 0.f);
  ditc_rt_attention_f32(g.q.data(), g.k.data(), g.v.data(), g.mask(),
                        g.mask_kind, g.maskStrides(), want.data(), g.B, g.H,
                        g.Hkv, g.Sq, g.Sk, g.D, g.Dv, g.scale, g.causal);
  auto in = [&](const std::vector<float> &x, int32_t bit, int64_t H, int64_t S,
                int64_t D) {
    std::vector<float> t = layout & bit ? ditc_test::swapHeads(x, c.B, H, S, D, true) : x;
    return toDtype(dtype, t);
  };
  const size_t es = dtype == DITC_RT_F32 ? 4 : 2;
  const std::vector<uint8_t> qb = in(g.q, DITC_RT_SEQ_MAJOR_Q, c.H, c.Sq, c.D),
                             kb = in(g.k, DITC_RT_SEQ_MAJOR_K, c.Hkv, c.Sk, c.D),
                             vb = in(g.v, DITC_RT_SEQ_MAJOR_V, c.Hkv, c.Sk, c.Dv);
  DeviceProblem d(g, qb, kb, vb, out_n * es, es, c.misalign);
  ditc_cu_attention_layout(dtype, d.q.get(), d.k.get(), d.v.get(), d.mask.get(),
                           g.mask_kind, g.maskStrides(), d.out.get(), nullptr, g.B,
                           g.H, g.Hkv, g.Sq, g.Sk, g.D, g.Dv, g.scale, g.causal, 0,
                           0, 0, layout);
  std::vector<float> got = fromDtype(dtype, d.out.download<uint8_t>());
  if (layout & DITC_RT_SEQ_MAJOR_OUT)
    got = ditc_test::swapHeads(got, c.B, c.H, c.Sq, c.Dv, false);
  double abs_tol, rel_tol;
  tolerance(dtype, abs_tol, rel_tol);
  expectNear(got, want, abs_tol, rel_tol, "out");
}

// Every layout on a GQA causal problem; the four a fused graph has (all
// seq-major; query and output only, K/V from elsewhere) on masked, odd,
// multi-bucket and unaligned ones.
TEST_P(CudaAttention, SeqMajorLayoutsMatchTheCpu) {
  const Case gqa{"D72 GQA 8/2 causal", 2, 8, 2, 77, 77, 72, 72, true};
  int runs = 0;
  for (int32_t layout = 0; layout < 16; ++layout, ++runs)
    runLayout(gqa, GetParam(), 900 + layout, layout);
  const Case more[] = {
      {"D40 Dv24 causal bool [B,H,Sq,Sk], masked row", 2, 8, 2, 77, 77, 40, 24,
       true, DITC_RT_MASK_BOOL, true, true, true, 3},
      {"D3 Dv5 odd", 2, 3, 3, 77, 33, 3, 5},
      {"D256 Dv200 GQA 4/2", 1, 4, 2, 65, 70, 256, 200},
      {"D64 unaligned", 1, 4, 2, 77, 100, 64, 64, true, DITC_RT_MASK_ADDITIVE,
       false, false, true, -1, 1},
  };
  const int32_t all = DITC_RT_SEQ_MAJOR_Q | DITC_RT_SEQ_MAJOR_K |
                      DITC_RT_SEQ_MAJOR_V | DITC_RT_SEQ_MAJOR_OUT;
  for (const Case &c : more)
    for (int32_t layout : {all, DITC_RT_SEQ_MAJOR_Q | DITC_RT_SEQ_MAJOR_OUT}) {
      runLayout(c, GetParam(), 950 + runs, layout);
      ++runs;
    }
  EXPECT_EQ(runs, 24);
}

TEST(CudaAttention, EmptyProblemsLaunchNothing) {
  // Empty problems launch nothing (and read no pointer).
  const int64_t strides[4] = {0, 0, 0, 1};
  ditc_cu_attention(DITC_RT_F32, nullptr, nullptr, nullptr, nullptr,
                    DITC_RT_MASK_NONE, strides, nullptr, 0, 4, 2, 77, 77, 64,
                    64, 1.f, 0);
  ditc_cu_attention(DITC_RT_F16, nullptr, nullptr, nullptr, nullptr,
                    DITC_RT_MASK_NONE, nullptr, nullptr, 2, 4, 2, 0, 77, 64, 64,
                    1.f, 1);
  ditc_cu_attention(DITC_RT_BF16, nullptr, nullptr, nullptr, nullptr,
                    DITC_RT_MASK_NONE, nullptr, nullptr, 2, 4, 2, 5, 77, 64, 0,
                    1.f, 1);
  EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
}

//--- attention_block_f32 + attention_merge_f32 ---------------------------//

// One rank's query block of a ring (global rows q0 .. q0 + Sq - 1), its keys
// in three blocks of different lengths, merged in order: against the CPU's
// blocks and merges, and against one CPU block over all the keys.
struct BlockCase {
  const char *name;
  int64_t B, H, Hkv, Sq, D, Dv;
  int64_t blocks[3]; // key block lengths
  int64_t q_offset;
  int64_t kv_valid; // <= 0: every key
  bool causal;
  int mask_kind;
  bool in_place = false; // the first block writes over q (Dv == D)
};

void runBlocks(const BlockCase &c, uint32_t seed) {
  SCOPED_TRACE(c.name);
  const int64_t Sk = c.blocks[0] + c.blocks[1] + c.blocks[2];
  GlobalAttention g = ditc_test::attentionOf(c, Sk, 0.3f);
  // The mask [B,H,Sq(local rows),Sk(global keys)].
  ditc_test::fillGlobalAttention(g, seed, true, true, true, 2);
  const int64_t *ms = g.maskStrides();
  const int64_t rows = c.B * c.H * c.Sq;

  // The whole, on the CPU.
  std::vector<float> whole(rows * c.Dv), whole_lse(rows);
  ditc_rt_attention_block_f32(g.q.data(), g.k.data(), g.v.data(), g.mask(),
                              g.mask_kind, ms, whole.data(), whole_lse.data(),
                              c.B, c.H, c.Hkv, c.Sq, Sk, c.D, c.Dv, g.scale,
                              c.causal, c.q_offset, 0, c.kv_valid);

  DeviceBuffer dq(g.q.size() * 4), dout(rows * c.Dv * 4), dlse(rows * 4),
      dbout(rows * c.Dv * 4), dblse(rows * 4), dmask;
  dq.upload(g.q);
  if (g.mask_kind == DITC_RT_MASK_BOOL) {
    dmask.alloc(g.bool_mask.size());
    dmask.upload(g.bool_mask);
  } else if (g.mask_kind == DITC_RT_MASK_ADDITIVE) {
    dmask.alloc(g.add_mask.size() * 4);
    dmask.upload(g.add_mask);
  }
  std::vector<float> cpu_out(rows * c.Dv), cpu_lse(rows), cpu_bout(rows * c.Dv),
      cpu_blse(rows);
  int64_t kv_offset = 0;
  for (int blk = 0; blk < 3; ++blk) {
    const int64_t n = c.blocks[blk];
    // This block's keys and values, [B,Hkv,n,D] / [B,Hkv,n,Dv].
    const std::vector<float> kblk =
        ditc_test::sliceDim2(g.k, c.B * c.Hkv, Sk, c.D, kv_offset, n);
    const std::vector<float> vblk =
        ditc_test::sliceDim2(g.v, c.B * c.Hkv, Sk, c.Dv, kv_offset, n);
    DeviceBuffer dk(kblk.size() * 4), dv(vblk.size() * 4);
    dk.upload(kblk);
    dv.upload(vblk);
    CUDA_OK(cudaDeviceSynchronize());
    const bool first = blk == 0;
    // In place: the block writes over (a copy of) q, which then becomes the
    // running output.
    DeviceBuffer dqi(first && c.in_place ? g.q.size() * 4 : 0);
    if (first && c.in_place) {
      ASSERT_EQ(c.D, c.Dv);
      dqi.upload(g.q);
      CUDA_OK(cudaDeviceSynchronize());
    }
    const float *q = first && c.in_place ? dqi.f32() : dq.f32();
    float *out = first ? (c.in_place ? dqi.f32() : dout.f32()) : dbout.f32();
    float *lse = first ? dlse.f32() : dblse.f32();
    ditc_cu_attention_block_f32(q, dk.f32(), dv.f32(), dmask.get(), g.mask_kind,
                                ms, out, lse, c.B, c.H, c.Hkv, c.Sq, n, c.D,
                                c.Dv, g.scale, c.causal, c.q_offset, kv_offset,
                                c.kv_valid);
    // The CPU's block.
    float *cout = first ? cpu_out.data() : cpu_bout.data();
    float *clse = first ? cpu_lse.data() : cpu_blse.data();
    ditc_rt_attention_block_f32(g.q.data(), kblk.data(), vblk.data(), g.mask(),
                                g.mask_kind, ms, cout, clse, c.B, c.H, c.Hkv,
                                c.Sq, n, c.D, c.Dv, g.scale, c.causal,
                                c.q_offset, kv_offset, c.kv_valid);
    const std::string what = "block " + std::to_string(blk);
    const DeviceBuffer &got_out = first && c.in_place ? dqi
                                  : first             ? dout
                                                      : dbout;
    std::vector<float> got = got_out.download<float>();
    if (first && c.in_place)
      dout.upload(got);
    expectNear(got, std::vector<float>(cout, cout + rows * c.Dv), 2e-5, 0,
               what + " out");
    const std::vector<float> got_lse = (first ? dlse : dblse).download<float>();
    for (int64_t r = 0; r < rows; ++r) {
      if (clse[r] == -kInf)
        EXPECT_EQ(got_lse[r], -kInf) << what << " lse row " << r;
      else
        EXPECT_NEAR(got_lse[r], clse[r], 2e-5 * (1 + std::fabs(clse[r])))
            << what << " lse row " << r;
    }
    if (!first) {
      ditc_cu_attention_merge_f32(dout.f32(), dlse.f32(), dbout.f32(),
                                  dblse.f32(), rows, c.Dv);
      ditc_rt_attention_merge_f32(cpu_out.data(), cpu_lse.data(),
                                  cpu_bout.data(), cpu_blse.data(), rows, c.Dv);
      expectNear(dout.download<float>(), cpu_out, 2e-5, 0,
                 what + " merged out");
    }
    kv_offset += n;
  }
  // Merged, against the whole.
  expectNear(dout.download<float>(), whole, 3e-5, 0, "merged vs whole");
  const std::vector<float> lse = dlse.download<float>();
  for (int64_t r = 0; r < rows; ++r) {
    if (whole_lse[r] == -kInf)
      EXPECT_EQ(lse[r], -kInf) << "merged lse row " << r;
    else
      EXPECT_NEAR(lse[r], whole_lse[r], 3e-5 * (1 + std::fabs(whole_lse[r])))
          << "merged lse row " << r;
  }
}

TEST(CudaAttentionBlocks, ThreeBlocksMergedEqualTheWhole) {
  const BlockCase cases[] = {
      // Causal from global row 0: the later blocks are masked for the first
      // rows (lse -inf, merged away); row 2 is masked by the mask.
      {"causal bool",
       1,
       4,
       2,
       77,
       64,
       64,
       {40, 77, 100},
       0,
       0,
       true,
       DITC_RT_MASK_BOOL},
      // A later query block of a ring, kv_valid cutting into the last block.
      {"causal additive q_offset kv_valid",
       2,
       2,
       1,
       50,
       72,
       72,
       {64, 33, 70},
       80,
       150,
       true,
       DITC_RT_MASK_ADDITIVE},
      // kv_valid before the last block: it attends to nothing.
      {"kv_valid before the last block",
       1,
       2,
       2,
       33,
       128,
       40,
       {30, 31, 32},
       0,
       55,
       false,
       DITC_RT_MASK_NONE},
      {"D256 in place",
       1,
       2,
       2,
       40,
       256,
       256,
       {1, 65, 7},
       10,
       0,
       false,
       DITC_RT_MASK_ADDITIVE,
       true},
      {"D40 Dv 24 Sq1",
       2,
       3,
       3,
       1,
       40,
       24,
       {5, 1, 77},
       3,
       0,
       true,
       DITC_RT_MASK_NONE},
  };
  uint32_t seed = 7;
  for (const BlockCase &c : cases) {
    runBlocks(c, seed);
    seed += 10;
    if (::testing::Test::HasFatalFailure())
      return;
  }
}

// Ring attention's 16-bit path (runtime/cuda/ring_attention.cpp): a rank's
// queries attended to three K/V blocks in the dtype, each block's result
// written in the dtype with its f32 lse, and merged into an f32 running
// result (ditc_cu_attention_merge widens it; the running result starts
// empty, lse -inf, so the first merge takes the block as it is): against
// the CPU's attention of the same rounded inputs over all the keys, out
// and lse, head-major and seq-major, plain and causal. (The own kernel
// here; on a GPU cuDNN takes such blocks where this binary allows it,
// which CudnnSdpaGpuTest checks against the own kernel.)
TEST(CudaAttentionBlocks, SixteenBitBlocksMergedEqualTheWhole) {
  const int64_t B = 2, H = 4, Hkv = 2, Sq = 48, D = 64, blocks[3] = {32, 64, 16};
  const int64_t Sk = blocks[0] + blocks[1] + blocks[2], rows = B * H * Sq;
  const float scale = 0.125f;
  const int32_t seqMajor = DITC_RT_SEQ_MAJOR_Q | DITC_RT_SEQ_MAJOR_K |
                           DITC_RT_SEQ_MAJOR_V | DITC_RT_SEQ_MAJOR_OUT;
  std::mt19937 rng(17);
  std::uniform_real_distribution<float> val(-1.f, 1.f);
  int runs = 0;
  for (int32_t dtype : {DITC_RT_F16, DITC_RT_BF16})
    for (int32_t layout : {0, seqMajor})
      for (bool causal : {false, true}) {
        SCOPED_TRACE(std::string(dtypeName(dtype)) + (layout ? " seq-major" : " head-major") +
                     (causal ? " causal" : ""));
        // The queries are global rows 40.. (causal: the first block wholly
        // before them, the second cut by the diagonal, the last after most).
        const int64_t qFirst = 40;
        std::vector<float> q(B * H * Sq * D), k(B * Hkv * Sk * D), v(B * Hkv * Sk * D);
        for (std::vector<float> *x : {&q, &k, &v})
          for (float &e : *x)
            e = val(rng);
        const std::vector<uint8_t> qb = toDtype(dtype, q), kb = toDtype(dtype, k),
                                   vb = toDtype(dtype, v); // rounds q, k, v
        std::vector<float> want(rows * D), wantLse(rows);
        ditc_rt_attention_layout_f32(q.data(), k.data(), v.data(), nullptr, DITC_RT_MASK_NONE,
                                     nullptr, want.data(), wantLse.data(), B, H, Hkv, Sq, Sk,
                                     D, D, scale, causal, qFirst, 0, 0, layout);
        DeviceBuffer dq(qb.size()), part(rows * D * 2), acc(rows * D * 4), lse(rows * 4),
            plse(rows * 4);
        dq.upload(qb);
        acc.upload(std::vector<float>(rows * D, 0.f));
        lse.upload(std::vector<float>(rows, -kInf));
        int64_t first = 0;
        for (int64_t n : blocks) {
          // The block's rows of k and v (their sequence dim cut), in the
          // layout, as bytes of the dtype.
          auto cut = [&](const std::vector<uint8_t> &x) {
            const int64_t outer = layout ? B : B * Hkv, inner = layout ? Hkv * D : D;
            std::vector<uint8_t> y(outer * n * inner * 2);
            for (int64_t a = 0; a < outer; ++a)
              std::memcpy(&y[a * n * inner * 2], &x[(a * Sk + first) * inner * 2],
                          n * inner * 2);
            return y;
          };
          const std::vector<uint8_t> kc = cut(kb), vc = cut(vb);
          DeviceBuffer dk(kc.size()), dv(vc.size());
          dk.upload(kc);
          dv.upload(vc);
          ditc_cu_attention_layout(dtype, dq.get(), dk.get(), dv.get(), nullptr,
                                   DITC_RT_MASK_NONE, nullptr, part.get(), plse.f32(), B, H,
                                   Hkv, Sq, n, D, D, scale, causal, qFirst, first, 0, layout);
          ditc_cu_attention_merge(dtype, acc.f32(), lse.f32(), part.get(), plse.f32(), rows,
                                  D);
          first += n;
        }
        // One rounding of each block's result to the dtype apart.
        expectNear(acc.download<float>(), want, dtype == DITC_RT_BF16 ? 8e-3 : 1e-3, 0,
                   "merged out");
        const std::vector<float> got = lse.download<float>();
        for (int64_t r = 0; r < rows; ++r)
          ASSERT_NEAR(got[r], wantLse[r], 2e-5 * (1 + std::fabs(wantLse[r]))) << "lse row " << r;
        ++runs;
      }
  EXPECT_EQ(runs, 8);
}

// ditc_cu_attention_layout's lse follows out's rows: [B, H, Sq] with out
// head-major, [B, Sq, H] with out seq-major (DITC_RT_SEQ_MAJOR_OUT), the
// order ditc_cu_attention_merge_f32 pairs them in. One key block of a ring
// (query rows from q_offset, keys from kv_offset, kv_valid, masks) in both
// out layouts, q, k and v in the case's, against the CPU's head-major
// ditc_rt_attention_block_f32: its out and lse, reordered for seq-major.
TEST(CudaAttentionBlocks, SeqMajorOutLseFollowsOutRows) {
  struct LseCase {
    const char *name;
    int64_t B, H, Hkv, Sq, D, Dv;
    int64_t kv_offset, nk; // the block: global keys kv_offset .. + nk - 1
    int64_t q_offset, kv_valid;
    bool causal;
    int mask_kind;
    int32_t in_layout; // the DITC_RT_SEQ_MAJOR_* bits of q, k and v
  };
  const int32_t qkv = DITC_RT_SEQ_MAJOR_Q | DITC_RT_SEQ_MAJOR_K | DITC_RT_SEQ_MAJOR_V;
  const LseCase cases[] = {
      {"GQA 8/2 causal q_offset", 2, 8, 2, 77, 64, 64, 0, 100, 40, 0, true,
       DITC_RT_MASK_NONE, qkv},
      // Rows before the block's first key attend to none: lse -inf.
      {"additive causal kv_offset kv_valid", 2, 2, 1, 20, 72, 72, 25, 64, 10,
       70, true, DITC_RT_MASK_ADDITIVE, DITC_RT_SEQ_MAJOR_K | DITC_RT_SEQ_MAJOR_V},
      {"bool D40 Dv24 kv_offset", 1, 4, 2, 33, 40, 24, 30, 60, 0, 0, false,
       DITC_RT_MASK_BOOL, 0},
      {"MQA Sq1", 3, 8, 1, 1, 128, 128, 0, 77, 300, 0, false, DITC_RT_MASK_NONE,
       DITC_RT_SEQ_MAJOR_Q},
  };
  uint32_t seed = 31;
  int runs = 0;
  for (const LseCase &c : cases) {
    SCOPED_TRACE(c.name);
    const int64_t Sk = c.kv_offset + c.nk, rows = c.B * c.H * c.Sq;
    GlobalAttention g = ditc_test::attentionOf(c, Sk, 0.3f);
    // The mask [B,H,Sq(local rows),Sk(global keys)], row 2 fully masked.
    ditc_test::fillGlobalAttention(g, seed += 10, true, true, true, 2);
    const std::vector<float> kblk =
        ditc_test::sliceDim2(g.k, c.B * c.Hkv, Sk, c.D, c.kv_offset, c.nk);
    const std::vector<float> vblk =
        ditc_test::sliceDim2(g.v, c.B * c.Hkv, Sk, c.Dv, c.kv_offset, c.nk);
    std::vector<float> want(rows * c.Dv), wantLse(rows);
    ditc_rt_attention_block_f32(g.q.data(), kblk.data(), vblk.data(), g.mask(),
                                g.mask_kind, g.maskStrides(), want.data(), wantLse.data(),
                                c.B, c.H, c.Hkv, c.Sq, c.nk, c.D, c.Dv, g.scale, c.causal,
                                c.q_offset, c.kv_offset, c.kv_valid);
    auto in = [&](const std::vector<float> &x, int32_t bit, int64_t H, int64_t S,
                  int64_t D) {
      return c.in_layout & bit ? ditc_test::swapHeads(x, c.B, H, S, D, true) : x;
    };
    DeviceBuffer dq(g.q.size() * 4), dk(kblk.size() * 4), dv(vblk.size() * 4),
        dmask, dout(rows * c.Dv * 4), dlse(rows * 4);
    dq.upload(in(g.q, DITC_RT_SEQ_MAJOR_Q, c.H, c.Sq, c.D));
    dk.upload(in(kblk, DITC_RT_SEQ_MAJOR_K, c.Hkv, c.nk, c.D));
    dv.upload(in(vblk, DITC_RT_SEQ_MAJOR_V, c.Hkv, c.nk, c.Dv));
    if (g.mask_kind == DITC_RT_MASK_BOOL) {
      dmask.alloc(g.bool_mask.size());
      dmask.upload(g.bool_mask);
    } else if (g.mask_kind == DITC_RT_MASK_ADDITIVE) {
      dmask.alloc(g.add_mask.size() * 4);
      dmask.upload(g.add_mask);
    }
    CUDA_OK(cudaDeviceSynchronize());
    for (int32_t out_bit : {0, (int32_t)DITC_RT_SEQ_MAJOR_OUT}) {
      const std::string what = out_bit ? "seq-major out" : "head-major out";
      ditc_cu_attention_layout(DITC_RT_F32, dq.get(), dk.get(), dv.get(), dmask.get(),
                               g.mask_kind, g.maskStrides(), dout.get(), dlse.f32(), c.B,
                               c.H, c.Hkv, c.Sq, c.nk, c.D, c.Dv, g.scale, c.causal,
                               c.q_offset, c.kv_offset, c.kv_valid, c.in_layout | out_bit);
      std::vector<float> got = dout.download<float>(), lse = dlse.download<float>();
      if (out_bit) {
        got = ditc_test::swapHeads(got, c.B, c.H, c.Sq, c.Dv, false);
        lse = ditc_test::swapHeads(lse, c.B, c.H, c.Sq, 1, false);
      }
      expectNear(got, want, 2e-5, 0, what + " out");
      int minus_inf = 0;
      for (int64_t r = 0; r < rows; ++r) {
        if (wantLse[r] == -kInf) {
          ++minus_inf;
          EXPECT_EQ(lse[r], -kInf) << what << " lse row " << r;
        } else {
          EXPECT_NEAR(lse[r], wantLse[r], 2e-5 * (1 + std::fabs(wantLse[r])))
              << what << " lse row " << r;
        }
      }
      if (c.mask_kind != DITC_RT_MASK_NONE)
        EXPECT_GT(minus_inf, 0) << "row 2 of batch 0, head 0 sees no key";
      ++runs;
    }
    if (::testing::Test::HasFatalFailure())
      return;
  }
  EXPECT_EQ(runs, 2 * 4);
}

// The merge with the block's result in each dtype (ring attention's 16-bit
// blocks stay in their type, ditc_cu_attention_merge widens them as it
// reads): the CPU's f32 merge of the same, rounded values.
TEST(CudaAttentionBlocks, MergeMatchesTheCpu) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> val(-1.f, 1.f), l(-20.f, 20.f);
  int runs = 0;
  for (int32_t dtype : {DITC_RT_F32, DITC_RT_F16, DITC_RT_BF16}) {
    for (int64_t dv : {1, 33, 64, 256}) {
      SCOPED_TRACE(std::string(dtypeName(dtype)) + " dv " + std::to_string(dv));
      const int64_t rows = 37;
      std::vector<float> out(rows * dv), bout(rows * dv), lse(rows), blse(rows);
      for (float &x : out)
        x = val(rng);
      for (float &x : bout)
        x = val(rng);
      for (int64_t r = 0; r < rows; ++r) {
        lse[r] = r % 4 == 1 || r % 9 == 0 ? -kInf : l(rng);
        blse[r] = r % 4 == 2 || r % 9 == 0 ? -kInf : l(rng);
      }
      const std::vector<uint8_t> bbytes = toDtype(dtype, bout); // rounds bout
      DeviceBuffer dout(out.size() * 4), dlse(rows * 4), dbout(bbytes.size()),
          dblse(rows * 4);
      dout.upload(out);
      dlse.upload(lse);
      dbout.upload(bbytes);
      dblse.upload(blse);
      CUDA_OK(cudaDeviceSynchronize());
      if (dtype == DITC_RT_F32)
        ditc_cu_attention_merge_f32(dout.f32(), dlse.f32(), dbout.f32(),
                                    dblse.f32(), rows, dv);
      else
        ditc_cu_attention_merge(dtype, dout.f32(), dlse.f32(), dbout.get(),
                                dblse.f32(), rows, dv);
      ditc_rt_attention_merge_f32(out.data(), lse.data(), bout.data(),
                                  blse.data(), rows, dv);
      expectNear(dout.download<float>(), out, 1e-6, 1e-6, "merged out");
      const std::vector<float> got_lse = dlse.download<float>();
      for (int64_t r = 0; r < rows; ++r) {
        if (lse[r] == -kInf)
          EXPECT_EQ(got_lse[r], -kInf) << "row " << r;
        else
          EXPECT_NEAR(got_lse[r], lse[r], 1e-6 * (1 + std::fabs(lse[r])))
              << "row " << r;
      }
      ++runs;
    }
  }
  EXPECT_EQ(runs, 3 * 4);
}

//--- CUDA graphs ---------------------------------------------------------//

// The launchers enqueue on ditc_cu_set_stream's stream only (no
// synchronisation, no allocation): a global-mode capture records them (the
// first D = 256 launch of the process may happen inside it, with its
// one-time shared-memory opt-in), and the graph reproduces the direct
// results bit for bit. The two blocks merged equal the whole. (In the host
// emulation too: its captures record launches and fail the calls a GPU
// capture forbids.)
TEST(CudaAttentionGraph, LaunchersAreCapturable) {
  Case c = {"graph", 1,    4,   1,    77,
            150,     256,  256, true, DITC_RT_MASK_ADDITIVE,
            false,   true, true};
  GlobalAttention g = makeProblem(c, 77);
  const int64_t rows = c.B * c.H * c.Sq, split = 80;
  DeviceBuffer dq(g.q.size() * 4), dk(g.k.size() * 4), dv(g.v.size() * 4),
      dmask(g.add_mask.size() * 4), dout(rows * c.Dv * 4), do1(rows * c.Dv * 4),
      dl1(rows * 4), do2(rows * c.Dv * 4), dl2(rows * 4);
  dq.upload(g.q);
  dk.upload(g.k);
  dv.upload(g.v);
  dmask.upload(g.add_mask);
  CUDA_OK(cudaDeviceSynchronize());
  const int64_t *ms = g.maskStrides();
  auto run = [&] {
    ditc_cu_attention(DITC_RT_F32, dq.get(), dk.get(), dv.get(), dmask.get(),
                      g.mask_kind, ms, dout.get(), c.B, c.H, c.Hkv, c.Sq, c.Sk,
                      c.D, c.Dv, g.scale, 1);
    // Hkv = B = 1: keys [split, Sk) start at row `split` of k and v.
    ditc_cu_attention_block_f32(dq.f32(), dk.f32(), dv.f32(), dmask.get(),
                                g.mask_kind, ms, do1.f32(), dl1.f32(), c.B, c.H,
                                c.Hkv, c.Sq, split, c.D, c.Dv, g.scale, 1, 0, 0,
                                0);
    ditc_cu_attention_block_f32(
        dq.f32(), dk.f32() + split * c.D, dv.f32() + split * c.Dv, dmask.get(),
        g.mask_kind, ms, do2.f32(), dl2.f32(), c.B, c.H, c.Hkv, c.Sq,
        c.Sk - split, c.D, c.Dv, g.scale, 1, 0, split, 0);
    ditc_cu_attention_merge_f32(do1.f32(), dl1.f32(), do2.f32(), dl2.f32(),
                                rows, c.Dv);
  };

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
  EXPECT_EQ(nodes, 4u);
  cudaGraphExec_t exec;
  CUDA_OK(cudaGraphInstantiate(&exec, graph, 0));
  CUDA_OK(cudaGraphLaunch(exec, s));
  CUDA_OK(cudaStreamSynchronize(s));
  const std::vector<float> out_graph = dout.download<float>(),
                           merged_graph = do1.download<float>(),
                           lse_graph = dl1.download<float>();
  CUDA_OK(cudaGraphExecDestroy(exec));
  CUDA_OK(cudaGraphDestroy(graph));
  CUDA_OK(cudaStreamDestroy(s));

  run(); // directly, on the default stream
  EXPECT_EQ(dout.download<float>(), out_graph);
  EXPECT_EQ(do1.download<float>(), merged_graph);
  EXPECT_EQ(dl1.download<float>(), lse_graph);
  expectNear(merged_graph, out_graph, 3e-5, 0, "merged blocks vs attention");
  std::vector<float> want(rows * c.Dv);
  ditc_rt_attention_f32(g.q.data(), g.k.data(), g.v.data(), g.mask(),
                        g.mask_kind, ms, want.data(), c.B, c.H, c.Hkv, c.Sq,
                        c.Sk, c.D, c.Dv, g.scale, 1);
  expectNear(out_graph, want, 2e-5, 0, "graph vs CPU");
}

} // namespace

int main(int argc, char **argv) {
  // These tests are the own kernel's: F16 / BF16 calls cuDNN could take
  // (runtime/cuda/cudnn_graphs.h) stay here too. cuDNN's path has its own
  // tests (CudnnSdpaGpuTest.cpp). Nothing on the host emulation.
  setenv("DITC_CUDNN", "0", 1);
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess || count == 0) {
    std::printf("no GPU: %s\n",
                e != cudaSuccess ? cudaGetErrorString(e) : "no CUDA device");
    return 77;
  }
#ifndef DITC_CU_EMULATE
  cudaDeviceProp prop;
  if (cudaGetDeviceProperties(&prop, 0) == cudaSuccess)
    std::printf("device 0: %s (sm_%d%d)\n", prop.name, prop.major, prop.minor);
#endif
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
