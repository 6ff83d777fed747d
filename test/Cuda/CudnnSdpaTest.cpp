//===- CudnnSdpaTest.cpp - cuDNN's SDPA for attention, host side ----------===//
//
// runtime/cuda/cudnn_graphs.cpp without a GPU (CudaCudnnHostTests, in the
// Unit suite): which calls cuDNN may take (sdpa::ineligible; a ring
// block's keys and causal band, sdpa::band), DITC_CUDNN's
// values, the loader against the toolkit's real libcudnn.so.9 (its version
// is read: cudnnGetVersion needs no device) and a missing library (named in
// the error; with DITC_CUDNN=1 the first call aborts naming it), and the
// frontend graph of an eligible problem through validate(), which needs the
// library but no device (the device's sm is given). Building and executing
// plans needs a GPU: ditc-cuda-cudnn-tests (CudnnSdpaGpuTest.cpp).
//
//===----------------------------------------------------------------------===//
#include "CudnnTestUtil.h"
#include "cudnn_graphs.h"

#include "ditc/runtime/ditc_kernels.h"

#include <dlfcn.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

namespace {

using ditc_cu::sdpa::Call;
using ditc_cu::sdpa::ineligible;

// A contiguous [B, H, S, D] call, BF16, stand-in pointers 1 GiB apart
// (never dereferenced), on an sm_90 device.
Call call(int64_t B, int64_t H, int64_t Hkv, int64_t Sq, int64_t Skv,
          int64_t D, bool causal = false) {
  Call c;
  c.dtype = DITC_RT_BF16;
  c.q = reinterpret_cast<const void *>(uintptr_t(0x40000000));
  c.k = reinterpret_cast<const void *>(uintptr_t(0x80000000));
  c.v = reinterpret_cast<const void *>(uintptr_t(0xc0000000));
  c.out = reinterpret_cast<void *>(uintptr_t(0x100000000));
  c.B = B;
  c.H = H;
  c.Hkv = Hkv;
  c.Sq = Sq;
  c.Skv = Skv;
  c.D = c.Dv = D;
  auto set = [](int64_t *s, int64_t h, int64_t len, int64_t d) {
    s[0] = h * len * d;
    s[1] = len * d;
    s[2] = d;
  };
  set(c.q_stride, H, Sq, D);
  set(c.k_stride, Hkv, Skv, D);
  set(c.v_stride, Hkv, Skv, D);
  set(c.o_stride, H, Sq, D);
  c.scale = 0.125f;
  c.causal = causal;
  c.sm = 90;
  return c;
}

TEST(CudnnSdpaEligible, TheCommonCasesAreTaken) {
  EXPECT_TAKEN(call(2, 16, 16, 256, 256, 64));
  EXPECT_TAKEN(call(2, 16, 16, 256, 256, 128, true));
  EXPECT_TAKEN(call(1, 8, 8, 77, 300, 256)); // odd lengths are fine
  Call f16 = call(2, 16, 16, 256, 256, 64);
  f16.dtype = DITC_RT_F16;
  EXPECT_TAKEN(f16);
  Call ampere = call(2, 16, 16, 256, 256, 64);
  ampere.sm = 80;
  EXPECT_TAKEN(ampere);
}

TEST(CudnnSdpaEligible, HeadDims) {
  EXPECT_TAKEN(call(1, 4, 4, 64, 64, 72));
  EXPECT_TAKEN(call(1, 4, 4, 64, 64, 8));
  EXPECT_REFUSED(call(1, 4, 4, 64, 64, 76), "multiple of 8");
  EXPECT_REFUSED(call(1, 4, 4, 64, 64, 264), "multiple of 8 in [8, 256]");
  EXPECT_REFUSED(call(1, 4, 4, 64, 64, 3), "multiple of 8");
  Call dv = call(1, 4, 4, 64, 64, 64);
  dv.Dv = 128;
  EXPECT_REFUSED(dv, "v_head_dim");
}

TEST(CudnnSdpaEligible, GroupedQueryAttention) {
  EXPECT_TAKEN(call(2, 16, 4, 256, 256, 128, true));
  EXPECT_TAKEN(call(2, 16, 1, 256, 256, 64));
  EXPECT_REFUSED(call(2, 16, 3, 256, 256, 64), "multiple of kv_heads");
}

TEST(CudnnSdpaEligible, WhatTheOwnKernelKeeps) {
  Call f32 = call(2, 16, 16, 256, 256, 64);
  f32.dtype = DITC_RT_F32;
  EXPECT_REFUSED(f32, "not F16 or BF16");
  Call bool_mask = call(2, 16, 16, 256, 256, 64);
  bool_mask.mask_kind = DITC_RT_MASK_BOOL;
  EXPECT_REFUSED(bool_mask, "mask");
  Call add_mask = call(2, 16, 16, 256, 256, 64);
  add_mask.mask_kind = DITC_RT_MASK_ADDITIVE;
  EXPECT_REFUSED(add_mask, "mask");
  EXPECT_REFUSED(call(1, 4, 4, 300, 77, 64, true), "causal with q_len");
  EXPECT_REFUSED(call(1, 4, 4, 1, 77, 64, true), "causal with q_len");
  EXPECT_REFUSED(call(0, 16, 16, 256, 256, 64), "empty");
  EXPECT_REFUSED(call(1, 4, 4, 64, 0, 64), "empty");
}

// A [B, H, Sq] (or, seq-major, [B, Sq, H]) log-sum-exp for `c`, 1 GiB past
// its output.
void withLse(Call &c, bool seqMajor = false) {
  c.lse = reinterpret_cast<float *>(uintptr_t(0x140000000));
  c.lse_stride[0] = c.H * c.Sq;
  c.lse_stride[1] = seqMajor ? 1 : c.Sq;
  c.lse_stride[2] = seqMajor ? c.H : 1;
}

// A block of Ring attention at these global positions.
Call block(int64_t Sq, int64_t Skv, bool causal, int64_t qFirst,
           int64_t kFirst, int64_t kvValid = 0) {
  Call c = call(2, 16, 16, Sq, Skv, 64, causal);
  withLse(c);
  c.q_offset = qFirst;
  c.kv_offset = kFirst;
  c.kv_valid = kvValid;
  return c;
}

void expectBand(const Call &c, int64_t keys, bool causal, int64_t rightBound) {
  const ditc_cu::sdpa::Band b = ditc_cu::sdpa::band(c);
  EXPECT_EQ(b.keys, keys);
  EXPECT_EQ(b.causal, causal);
  EXPECT_EQ(b.right_bound, rightBound);
}

// What cuDNN computes of a ring block: the keys before kv_valid, and the
// causal mask as a top-left band shifted by the blocks' distance (or none
// where it masks nothing).
TEST(CudnnSdpaBand, RingBlocks) {
  expectBand(block(256, 256, false, 0, 0), 256, false, 0);
  expectBand(block(256, 256, false, 512, 0), 256, false, 0);
  expectBand(block(256, 256, false, 0, 256, 300), 44, false, 0);
  expectBand(block(256, 256, false, 0, 0, 300), 256, false, 0);
  expectBand(block(256, 256, false, 0, 512, 300), 0, false, 0);
  // The diagonal block; one a band to the left; one wholly before the
  // queries (nothing masked); one wholly after them (every key masked).
  expectBand(block(256, 256, true, 256, 256), 256, true, 0);
  expectBand(block(256, 256, true, 128, 0), 256, true, 128);
  expectBand(block(256, 256, true, 255, 0), 256, false, 0);
  expectBand(block(256, 256, true, 256, 0), 256, false, 0);
  expectBand(block(256, 256, true, 0, 256), 256, true, -256);
  // kv_valid cuts the keys the band is measured against.
  expectBand(block(256, 256, true, 256, 256, 300), 44, true, 0);
  expectBand(block(256, 256, true, 512, 256, 300), 44, false, 0);
}

TEST(CudnnSdpaEligible, RingBlocksAreTaken) {
  EXPECT_TAKEN(block(256, 256, false, 0, 0));
  EXPECT_TAKEN(block(256, 256, false, 256, 0));
  EXPECT_TAKEN(block(256, 256, false, 0, 256));
  EXPECT_TAKEN(block(256, 256, false, 0, 256, 300)); // 44 keys
  EXPECT_TAKEN(block(256, 256, true, 256, 256));
  EXPECT_TAKEN(block(256, 256, true, 128, 0));
  EXPECT_TAKEN(block(256, 256, true, 512, 0));
  Call seqMajor = call(2, 16, 16, 256, 256, 64);
  withLse(seqMajor, true);
  EXPECT_TAKEN(seqMajor);
  EXPECT_REFUSED(block(256, 256, false, 0, 512, 300), "no key before kv_valid");
  EXPECT_REFUSED(block(256, 256, true, 0, 256), "see no key");
  EXPECT_REFUSED(block(256, 256, true, 256, 256, 300), "causal with q_len");
  EXPECT_REFUSED(block(256, 256, false, -1, 0), "negative offset");
  Call lse = block(256, 256, false, 0, 256);
  lse.lse += 1; // 4 bytes off
  EXPECT_REFUSED(lse, "16-byte aligned");
  Call stride = block(256, 256, false, 0, 256);
  stride.lse_stride[1] = -1;
  EXPECT_REFUSED(stride, "negative lse stride");
}

TEST(CudnnSdpaEligible, AlignmentAndDevice) {
  Call q = call(2, 16, 16, 256, 256, 64);
  q.q = static_cast<const char *>(q.q) + 2; // one element off
  EXPECT_REFUSED(q, "16-byte aligned");
  Call out = call(2, 16, 16, 256, 256, 64);
  out.out = static_cast<char *>(out.out) + 8;
  EXPECT_REFUSED(out, "16-byte aligned");
  Call stride = call(2, 16, 16, 256, 256, 64);
  stride.k_stride[2] = 68; // rows 136 bytes apart
  EXPECT_REFUSED(stride, "stride");
  Call in_place = call(2, 16, 16, 256, 256, 64);
  in_place.out = const_cast<void *>(in_place.q);
  EXPECT_REFUSED(in_place, "overlaps");
  Call into_v = call(1, 4, 4, 64, 64, 64); // v's last row
  into_v.out = const_cast<char *>(static_cast<const char *>(into_v.v)) +
               2 * (4 * 64 * 64 - 64);
  EXPECT_REFUSED(into_v, "overlaps");
  Call after_v = call(1, 4, 4, 64, 64, 64); // just past v
  after_v.out = const_cast<char *>(static_cast<const char *>(after_v.v)) +
                2 * (4 * 64 * 64);
  EXPECT_TAKEN(after_v);
  Call turing = call(2, 16, 16, 256, 256, 64);
  turing.sm = 75;
  EXPECT_REFUSED(turing, "sm_80");
  Call unknown = call(2, 16, 16, 256, 256, 64);
  unknown.sm = 0;
  EXPECT_REFUSED(unknown, "sm_80");
}

TEST(CudnnSdpaMode, Values) {
  using ditc_cu::sdpa::Mode;
  Mode m = Mode::On;
  EXPECT_TRUE(ditc_cu::sdpa::parse_mode(nullptr, m));
  EXPECT_EQ(m, Mode::Auto);
  EXPECT_TRUE(ditc_cu::sdpa::parse_mode("", m));
  EXPECT_EQ(m, Mode::Auto);
  EXPECT_TRUE(ditc_cu::sdpa::parse_mode("auto", m));
  EXPECT_EQ(m, Mode::Auto);
  EXPECT_TRUE(ditc_cu::sdpa::parse_mode("0", m));
  EXPECT_EQ(m, Mode::Off);
  EXPECT_TRUE(ditc_cu::sdpa::parse_mode("1", m));
  EXPECT_EQ(m, Mode::On);
  EXPECT_FALSE(ditc_cu::sdpa::parse_mode("yes", m));
  EXPECT_FALSE(ditc_cu::sdpa::parse_mode("2", m));
}

// The toolkit's cuDNN where this machine has one, else the loader's.
std::string realLibrary() {
  const char *path = "/usr/local/cuda/lib64/libcudnn.so.9";
  if (void *probe = dlopen(path, RTLD_NOW | RTLD_LOCAL)) {
    dlclose(probe);
    return path;
  }
  return "libcudnn.so.9";
}

TEST(CudnnSdpaLoad, TheToolkitsLibraryLoads) {
  std::string why;
  const std::string path = realLibrary();
  const int64_t version = ditc_cu::sdpa::probe_library(path, why);
  EXPECT_GE(version, 90000) << path << ": " << why;
  EXPECT_TRUE(why.empty()) << why;
}

TEST(CudnnSdpaLoad, AMissingLibraryIsNamed) {
  std::string why;
  EXPECT_EQ(ditc_cu::sdpa::probe_library("/nonexistent.so", why), 0);
  EXPECT_NE(why.find("cannot load /nonexistent.so: "), std::string::npos)
      << why;
  // dlerror's own words follow.
  EXPECT_GT(why.size(), std::string("cannot load /nonexistent.so: ").size());
  // Not cuDNN at all: libc has no cudnnGetVersion.
  why.clear();
  EXPECT_EQ(ditc_cu::sdpa::probe_library("libc.so.6", why), 0);
  EXPECT_NE(why.find("no cudnnGetVersion"), std::string::npos) << why;
}

// DITC_CUDNN=1 with a library that is not there: the first attention call
// aborts with one line naming DITC_CUDNN_LIBRARY, the path and dlerror. In
// a fresh process ("threadsafe" death tests re-run this test alone), since
// the process loads its library once.
TEST(CudnnSdpaLoadDeathTest, DitcCudnn1NeedsTheLibrary) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        setenv("DITC_CUDNN_LIBRARY", "/nonexistent.so", 1);
        setenv("DITC_CUDNN", "1", 1);
        std::string why;
        ditc_cu::sdpa::run(call(2, 16, 16, 256, 256, 64), nullptr, &why);
      },
      "ditc cuda: attention: DITC_CUDNN=1: "
      "DITC_CUDNN_LIBRARY=/nonexistent.so: cannot load /nonexistent.so: ");
}

// The same without DITC_CUDNN=1: the call is handed back, with the reason.
TEST(CudnnSdpaLoadDeathTest, AutoFallsBackNamingTheLibrary) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        setenv("DITC_CUDNN_LIBRARY", "/nonexistent.so", 1);
        unsetenv("DITC_CUDNN");
        std::string why;
        const bool ran =
            ditc_cu::sdpa::run(call(2, 16, 16, 256, 256, 64), nullptr, &why);
        std::fprintf(stderr, "ran %d: %s\n", (int)ran, why.c_str());
        std::exit(ran ? 1 : 3);
      },
      ::testing::ExitedWithCode(3),
      "ran 0: DITC_CUDNN_LIBRARY=/nonexistent.so: cannot load "
      "/nonexistent.so");
}

TEST(CudnnSdpaGraph, AnEligibleProblemValidates) {
  if (!ditc_cu::sdpa::built_with_frontend()) {
    // Not a pass: this build cannot check the frontend at all.
    FAIL() << "built without cudnn-frontend (DITC_CUDNN_FRONTEND_INCLUDE_DIR)";
  }
  setenv("DITC_CUDNN_LIBRARY", realLibrary().c_str(), 1);
  std::string why;
  ASSERT_GE(ditc_cu::sdpa::library_version(why), 90000) << why;
  for (Call c : {call(2, 16, 16, 256, 256, 64),
                 call(2, 16, 4, 1024, 1024, 128, true),
                 call(1, 8, 8, 77, 300, 72)}) {
    for (int32_t dtype : {DITC_RT_BF16, DITC_RT_F16}) {
      c.dtype = dtype;
      EXPECT_TRUE(ditc_cu::sdpa::validate_graph(c, why))
          << "D " << c.D << " dtype " << dtype << ": " << why;
    }
  }
  // Seq-major ([B, S, H, D]) tensors: only the strides differ.
  Call bshd = call(2, 16, 4, 256, 256, 64);
  bshd.q_stride[1] = bshd.o_stride[1] = 64;
  bshd.q_stride[2] = bshd.o_stride[2] = 16 * 64;
  bshd.k_stride[1] = bshd.v_stride[1] = 64;
  bshd.k_stride[2] = bshd.v_stride[2] = 4 * 64;
  EXPECT_TRUE(ditc_cu::sdpa::validate_graph(bshd, why)) << why;
  // Ring blocks: the softmax stats as the lse, head-major and, with
  // seq-major tensors, seq-major ([B, Sq, H]: cuDNN >= 9.12 honours the
  // strides); keys cut at kv_valid; a causal band off the diagonal.
  Call stats = block(256, 256, false, 0, 256, 300);
  EXPECT_TRUE(ditc_cu::sdpa::validate_graph(stats, why)) << why;
  withLse(bshd, true);
  EXPECT_TRUE(ditc_cu::sdpa::validate_graph(bshd, why)) << why;
  Call band = block(256, 256, true, 128, 0);
  EXPECT_TRUE(ditc_cu::sdpa::validate_graph(band, why)) << why;
}

} // namespace
