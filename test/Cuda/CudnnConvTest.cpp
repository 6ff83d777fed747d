//===- CudnnConvTest.cpp - cuDNN's convolution, host side -----------------===//
//
// conv::ineligible and conv::validate_graph (runtime/cuda/cudnn_graphs.cpp)
// without a GPU, in CudaCudnnHostTests beside CudnnSdpaTest.cpp: which
// ditc_cu_conv2d calls cuDNN may take, and the frontend graphs of DiT-XL/2's
// patch embedding (bf16 x [2, 4, 32, 32], w [1152, 4, 2, 2], stride 2, a
// bias) and of a 3x3 pad-1 convolution [2, 64, 64, 64] -> [2, 64, 64, 64]
// through validate(), which needs the library but no device. Plans and
// execution need a GPU: CudnnConvGpuTest.cpp (ditc-cuda-cudnn-tests).
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

using ditc_cu::conv::Call;
using ditc_cu::conv::ineligible;

// A contiguous BF16 call with a bias, stand-in pointers 1 GiB apart (never
// dereferenced), on an sm_90 device; OH / OW from the pads.
Call call(int64_t N, int64_t C, int64_t H, int64_t W, int64_t O, int64_t k,
          int64_t stride, int64_t pad, int64_t dil = 1) {
  Call c;
  c.dtype = DITC_RT_BF16;
  c.x = reinterpret_cast<const void *>(uintptr_t(0x40000000));
  c.w = reinterpret_cast<const void *>(uintptr_t(0x80000000));
  c.bias = reinterpret_cast<const void *>(uintptr_t(0xc0000000));
  c.y = reinterpret_cast<void *>(uintptr_t(0x100000000));
  c.N = N;
  c.C = C;
  c.H = H;
  c.W = W;
  c.O = O;
  c.kh = c.kw = k;
  c.stride_h = c.stride_w = stride;
  c.pad_top = c.pad_left = c.pad_bottom = c.pad_right = pad;
  c.dil_h = c.dil_w = dil;
  c.OH = (H + 2 * pad - dil * (k - 1) - 1) / stride + 1;
  c.OW = (W + 2 * pad - dil * (k - 1) - 1) / stride + 1;
  c.sm = 90;
  return c;
}

Call patchEmbed() { return call(2, 4, 32, 32, 1152, 2, 2, 0); }
Call conv3x3() { return call(2, 64, 64, 64, 64, 3, 1, 1); }

TEST(CudnnConvEligible, TheCommonCasesAreTaken) {
  EXPECT_TAKEN(patchEmbed());
  EXPECT_TAKEN(conv3x3());
  EXPECT_TAKEN(call(1, 16, 33, 47, 24, 3, 2, 2, 2)); // strided, dilated
  Call f16 = conv3x3();
  f16.dtype = DITC_RT_F16;
  EXPECT_TAKEN(f16);
  Call no_bias = conv3x3();
  no_bias.bias = nullptr;
  EXPECT_TAKEN(no_bias);
  Call ampere = patchEmbed();
  ampere.sm = 80;
  EXPECT_TAKEN(ampere);
}

TEST(CudnnConvEligible, F32StaysWithTheOwnKernel) {
  Call f32 = conv3x3();
  f32.dtype = DITC_RT_F32;
  EXPECT_REFUSED(f32, "not F16 or BF16");
  Call i64 = conv3x3();
  i64.dtype = DITC_RT_I64;
  EXPECT_REFUSED(i64, "not F16 or BF16");
}

// Asymmetric pads are cuDNN's pre- and post-padding (its check_support
// decides); the output size must be the one they give.
TEST(CudnnConvEligible, Pads) {
  Call asym = call(1, 8, 16, 16, 8, 3, 1, 0);
  asym.pad_top = asym.pad_left = 1;
  asym.pad_bottom = asym.pad_right = 0;
  asym.OH = asym.OW = 15;
  EXPECT_TAKEN(asym);
  Call wrong = asym;
  wrong.OH = 16; // the size symmetric pads of 1 would give
  EXPECT_REFUSED(wrong, "output size");
  Call negative = conv3x3();
  negative.pad_left = -1;
  negative.OW -= 1;
  EXPECT_REFUSED(negative, "negative padding");
}

TEST(CudnnConvEligible, Groups) {
  Call g2 = conv3x3();
  g2.groups = 2;
  EXPECT_REFUSED(g2, "grouped");
  Call depthwise = conv3x3();
  depthwise.groups = 64;
  EXPECT_REFUSED(depthwise, "grouped");
}

TEST(CudnnConvEligible, Sizes) {
  Call empty = conv3x3();
  empty.N = 0;
  EXPECT_REFUSED(empty, "empty");
  Call no_out = conv3x3();
  no_out.OH = 0;
  EXPECT_REFUSED(no_out, "empty");
  Call stride0 = conv3x3();
  stride0.stride_w = 0;
  EXPECT_REFUSED(stride0, "stride or dilation");
}

TEST(CudnnConvEligible, AlignmentOverlapAndDevice) {
  Call x = conv3x3();
  x.x = static_cast<const char *>(x.x) + 2; // one element off
  EXPECT_REFUSED(x, "16-byte aligned");
  Call w = conv3x3();
  w.w = static_cast<const char *>(w.w) + 8;
  EXPECT_REFUSED(w, "16-byte aligned");
  Call b = conv3x3();
  b.bias = static_cast<const char *>(b.bias) + 2;
  EXPECT_REFUSED(b, "16-byte aligned");
  Call y = conv3x3();
  y.y = static_cast<char *>(y.y) + 4;
  EXPECT_REFUSED(y, "16-byte aligned");

  Call in_place = conv3x3(); // same shape in and out: y == x
  in_place.y = const_cast<void *>(in_place.x);
  EXPECT_REFUSED(in_place, "overlaps");
  Call into_x = conv3x3(); // y starts at x's last 16 bytes
  into_x.y = const_cast<char *>(static_cast<const char *>(into_x.x)) +
             2 * (2 * 64 * 64 * 64) - 16;
  EXPECT_REFUSED(into_x, "overlaps");
  Call after_x = conv3x3(); // just past x
  after_x.y = const_cast<char *>(static_cast<const char *>(after_x.x)) +
              2 * (2 * 64 * 64 * 64);
  EXPECT_TAKEN(after_x);
  Call over_w = conv3x3(); // y ends in w
  over_w.y = const_cast<char *>(static_cast<const char *>(over_w.w)) -
             2 * (2 * 64 * 64 * 64) + 16;
  EXPECT_REFUSED(over_w, "overlaps");
  Call over_bias = conv3x3(); // the bias inside y
  over_bias.bias = static_cast<const char *>(over_bias.y) + 4096;
  EXPECT_REFUSED(over_bias, "overlaps");
  Call no_bias = over_bias; // no bias: nothing to overlap
  no_bias.bias = nullptr;
  EXPECT_TAKEN(no_bias);

  Call turing = patchEmbed();
  turing.sm = 75;
  EXPECT_REFUSED(turing, "sm_80");
  Call unknown = patchEmbed();
  unknown.sm = 0;
  EXPECT_REFUSED(unknown, "sm_80");
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

TEST(CudnnConvGraph, DiTConvolutionsValidate) {
  if (!ditc_cu::cudnn::built_with_frontend()) {
    // Not a pass: this build cannot check the frontend at all.
    FAIL() << "built without cudnn-frontend (DITC_CUDNN_FRONTEND_INCLUDE_DIR)";
  }
  setenv("DITC_CUDNN_LIBRARY", realLibrary().c_str(), 1);
  std::string why;
  ASSERT_GE(ditc_cu::cudnn::library_version(why), 90000) << why;
  Call strided = call(1, 16, 33, 47, 24, 3, 2, 2, 2);
  Call asym = call(1, 8, 16, 16, 8, 3, 1, 0);
  asym.pad_top = asym.pad_left = 1;
  asym.OH = asym.OW = 15;
  for (Call c : {patchEmbed(), conv3x3(), strided, asym}) {
    for (int32_t dtype : {DITC_RT_BF16, DITC_RT_F16}) {
      for (bool bias : {true, false}) {
        c.dtype = dtype;
        Call d = c;
        if (!bias)
          d.bias = nullptr;
        EXPECT_TRUE(ditc_cu::conv::validate_graph(d, why))
            << "C " << c.C << " O " << c.O << " k " << c.kh << " dtype "
            << dtype << " bias " << bias << ": " << why;
      }
    }
  }
  // What validate_graph refuses before the frontend: its eligibility.
  Call f32 = patchEmbed();
  f32.dtype = DITC_RT_F32;
  EXPECT_FALSE(ditc_cu::conv::validate_graph(f32, why));
  EXPECT_NE(why.find("not F16 or BF16"), std::string::npos) << why;
}

// Nothing ran: no device here, and the counters are the convolution's own.
TEST(CudnnConvGraph, CountersStartAtZero) {
  const auto c = ditc_cu::conv::counters();
  EXPECT_EQ(c.ran, 0u);
  EXPECT_EQ(c.plans, 0u);
}

} // namespace
