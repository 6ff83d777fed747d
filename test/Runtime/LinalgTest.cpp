//===- LinalgTest.cpp - linear, matmul, conv2d (oneDNN) ------------------===//
#include "KernelTestUtil.h"

using namespace ditc_test;

namespace {

/// A linear layer's activation in double, from <cmath> (not the runtime's
/// unary kernels): the reference of the fused epilogue.
double activate(int32_t act, double v) {
  switch (act) {
  case DITC_RT_UNARY_GELU:
    return 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0)));
  case DITC_RT_UNARY_GELU_TANH:
    return 0.5 * v *
           (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (v + 0.044715 * v * v * v)));
  case DITC_RT_UNARY_SILU:
    return v / (1.0 + std::exp(-v));
  }
  return v;
}

constexpr int32_t kActivations[] = {DITC_RT_ACTIVATION_NONE, DITC_RT_UNARY_GELU,
                                    DITC_RT_UNARY_GELU_TANH, DITC_RT_UNARY_SILU};

TEST(LinearTest, MatchesReference) {
  struct C {
    int64_t m, k, n;
  } cases[] = {{1, 1, 1},   {7, 33, 129}, {129, 7, 33},
               {33, 129, 1}, {1, 1152, 7}, {64, 1152, 96},
               // Either side of the rows where a [N, K] weight's matmul
               // primitive gives way to dnnl_sgemm (onednn.cpp).
               {1023, 40, 24}, {1024, 40, 24},
               // Either side of linear_rows_f32's rows (at most 8; a [N, K]
               // weight only).
               {2, 1155, 2051}, {3, 7, 1030}, {8, 64, 33}, {9, 64, 33}};
  uint32_t seed = 1;
  int ran = 0;
  for (const C &c : cases)
    for (int tw : {0, 1})
      for (bool with_bias : {false, true})
        for (int32_t act : kActivations) {
        // Each activation on both of oneDNN's paths (the primitive below
        // 1024 rows with a [N, K] weight, sgemm otherwise), once per shape.
        if (act != DITC_RT_ACTIVATION_NONE && (with_bias != (tw == 1)))
          continue;
        ++ran;
        SCOPED_TRACE(std::to_string(c.m) + "x" + std::to_string(c.k) + "x" +
                     std::to_string(c.n) + " tw=" + std::to_string(tw) +
                     " activation=" + std::to_string(act));
        std::vector<float> x = randomFloats(c.m * c.k, seed++);
        std::vector<float> w = randomFloats(c.k * c.n, seed++);
        std::vector<float> b = randomFloats(c.n, seed++);
        std::vector<double> want(c.m * c.n);
        for (int64_t i = 0; i < c.m; ++i)
          for (int64_t j = 0; j < c.n; ++j) {
            double acc = with_bias ? b[j] : 0.0;
            for (int64_t t = 0; t < c.k; ++t)
              acc += (double)x[i * c.k + t] *
                     (tw ? w[j * c.k + t] : w[t * c.n + j]);
            want[i * c.n + j] = activate(act, acc);
          }
        std::vector<float> y(c.m * c.n, std::nanf(""));
        ditc_rt_linear_f32(x.data(), w.data(), with_bias ? b.data() : nullptr,
                           y.data(), c.m, c.k, c.n, tw, act);
        EXPECT_REL_L2(y, want, 1e-5);
      }
  EXPECT_EQ(ran, 12 * (2 * 2 + 2 * 3));
}

// linear_rows_f32 against a double-precision sum, on 1 to 3 threads: k in
// vectors with a scalar tail, columns split unevenly between the threads,
// with and without a bias.
TEST(LinearRowsTest, MatchesReference) {
  struct C {
    int64_t k, n;
  } cases[] = {{1, 1}, {3, 17}, {1155, 2051}, {64, 4099}, {1152, 6912}};
  uint32_t seed = 900;
  int ran = 0;
  for (const C &c : cases)
    for (int64_t m = 1; m <= DITC_RT_LINEAR_ROWS_MAX; ++m)
      for (int threads : {1, 2, 3})
        for (bool with_bias : {false, true}) {
          SCOPED_TRACE(std::to_string(m) + "x" + std::to_string(c.k) + "x" +
                       std::to_string(c.n) + " bias=" + std::to_string(with_bias) +
                       " threads=" + std::to_string(threads));
          ditc_rt_set_num_threads(threads);
          std::vector<float> x = randomFloats(m * c.k, seed++);
          std::vector<float> w = randomFloats(c.k * c.n, seed++);
          std::vector<float> b = randomFloats(c.n, seed++);
          std::vector<double> want(m * c.n);
          for (int64_t i = 0; i < m; ++i)
            for (int64_t j = 0; j < c.n; ++j) {
              double acc = with_bias ? b[j] : 0.0;
              for (int64_t t = 0; t < c.k; ++t)
                acc += (double)x[i * c.k + t] * w[j * c.k + t];
              want[i * c.n + j] = acc;
            }
          std::vector<float> y(m * c.n, std::nanf(""));
          ditc_rt_linear_rows_f32(x.data(), w.data(), with_bias ? b.data() : nullptr,
                                  y.data(), m, c.k, c.n);
          EXPECT_REL_L2(y, want, 1e-5);
          ++ran;
        }
  ditc_rt_set_num_threads(0);
  EXPECT_EQ(ran, 5 * DITC_RT_LINEAR_ROWS_MAX * 2 * 3);
}

TEST(LinearRowsDeathTest, TooManyRows) {
  std::vector<float> y(DITC_RT_LINEAR_ROWS_MAX + 1);
  EXPECT_DEATH(ditc_rt_linear_rows_f32(nullptr, nullptr, nullptr, y.data(),
                                       DITC_RT_LINEAR_ROWS_MAX + 1, 0, 1),
               "linear_rows_f32: 9 rows \\(at most 8\\)");
}

TEST(LinearTest, EmptyInnerDimension) {
  std::vector<float> b = {1.f, -2.f, 3.f}, y(6, std::nanf(""));
  ditc_rt_linear_f32(nullptr, nullptr, b.data(), y.data(), 2, 0, 3, 0,
                     DITC_RT_ACTIVATION_NONE);
  EXPECT_EQ(y, (std::vector<float>{1, -2, 3, 1, -2, 3}));
  // The activation of the bias rows.
  ditc_rt_linear_f32(nullptr, nullptr, b.data(), y.data(), 2, 0, 3, 0,
                     DITC_RT_UNARY_SILU);
  for (int i = 0; i < 6; ++i)
    EXPECT_NEAR(y[i], activate(DITC_RT_UNARY_SILU, b[i % 3]), 1e-6) << i;
  ditc_rt_linear_f32(nullptr, nullptr, nullptr, y.data(), 2, 0, 3, 0,
                     DITC_RT_ACTIVATION_NONE);
  EXPECT_EQ(y, std::vector<float>(6, 0.f));
}

TEST(LinearDeathTest, UnknownActivation) {
  std::vector<float> y(1);
  EXPECT_DEATH(ditc_rt_linear_f32(nullptr, nullptr, nullptr, y.data(), 1, 0, 1,
                                  0, DITC_RT_UNARY_EXP),
               "linear_f32: activation 3 is not GELU, GELU_TANH or SILU");
}

TEST(MatmulTest, BroadcastBatches) {
  struct C {
    int64_t m, k, n;
    std::vector<int64_t> a_batch, b_batch; // broadcast shapes (1 = bcast)
  } cases[] = {
      {7, 33, 5, {}, {}},
      {1, 1, 1, {3}, {3}},
      {9, 16, 129, {2, 3}, {2, 3}},
      {33, 7, 12, {2, 1}, {1, 4}},
      {5, 6, 7, {1, 3, 1}, {2, 1, 4}},
      {64, 72, 64, {16}, {16}}, // attention-like: many small products
  };
  uint32_t seed = 50;
  for (const C &c : cases)
    for (int threads : {1, 2, 3}) {
      ditc_rt_set_num_threads(threads);
      size_t r = c.a_batch.size();
      std::vector<int64_t> bshape(r), as(r), bs(r);
      int64_t a_count = 1, b_count = 1;
      for (size_t d = r; d-- > 0;) {
        bshape[d] = std::max(c.a_batch[d], c.b_batch[d]);
        as[d] = c.a_batch[d] == 1 ? 0 : a_count * c.m * c.k;
        bs[d] = c.b_batch[d] == 1 ? 0 : b_count * c.k * c.n;
        a_count *= c.a_batch[d];
        b_count *= c.b_batch[d];
      }
      std::vector<float> a = randomFloats(a_count * c.m * c.k, seed++);
      std::vector<float> b = randomFloats(b_count * c.k * c.n, seed++);
      int64_t batches = product(bshape);
      std::vector<double> want(batches * c.m * c.n);
      int64_t bi = 0;
      forEachIndex(bshape, [&](const std::vector<int64_t> &idx) {
        const float *pa = a.data() + dot(idx, as);
        const float *pb = b.data() + dot(idx, bs);
        for (int64_t i = 0; i < c.m; ++i)
          for (int64_t j = 0; j < c.n; ++j) {
            double acc = 0;
            for (int64_t t = 0; t < c.k; ++t)
              acc += (double)pa[i * c.k + t] * pb[t * c.n + j];
            want[(bi * c.m + i) * c.n + j] = acc;
          }
        ++bi;
      });
      std::vector<float> y(want.size(), std::nanf(""));
      ditc_rt_matmul_f32(a.data(), b.data(), y.data(), c.m, c.k, c.n, (int32_t)r,
                         bshape.data(), as.data(), bs.data());
      EXPECT_REL_L2(y, want, 1e-5);
    }
  ditc_rt_set_num_threads(0);
}

TEST(Conv2dTest, MatchesReference) {
  struct C {
    int64_t n, c, h, w, m, kh, kw, sh, sw, pt, pl, pb, pr, dh, dw, g;
    bool bias;
  } cases[] = {
      {1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, false},
      {2, 3, 7, 9, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, true},
      {1, 4, 16, 16, 8, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 1, true}, // patchify
      {1, 6, 13, 11, 6, 3, 3, 2, 1, 0, 1, 2, 0, 1, 1, 3, false},
      {2, 8, 9, 10, 8, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 8, true}, // depthwise
      {1, 16, 33, 17, 32, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, true},
      {1, 5, 8, 8, 7, 5, 3, 1, 2, 2, 0, 1, 3, 1, 1, 1, true},
  };
  uint32_t seed = 70;
  for (const C &c : cases) {
    SCOPED_TRACE("conv " + std::to_string(c.c) + "->" + std::to_string(c.m) +
                 " k" + std::to_string(c.kh) + "x" + std::to_string(c.kw) +
                 " g" + std::to_string(c.g));
    int64_t oh = (c.h + c.pt + c.pb - c.dh * (c.kh - 1) - 1) / c.sh + 1;
    int64_t ow = (c.w + c.pl + c.pr - c.dw * (c.kw - 1) - 1) / c.sw + 1;
    int64_t cg = c.c / c.g, mg = c.m / c.g;
    std::vector<float> x = randomFloats(c.n * c.c * c.h * c.w, seed++);
    std::vector<float> w = randomFloats(c.m * cg * c.kh * c.kw, seed++);
    std::vector<float> b = randomFloats(c.m, seed++);
    std::vector<double> want(c.n * c.m * oh * ow);
    for (int64_t n = 0; n < c.n; ++n)
      for (int64_t m = 0; m < c.m; ++m)
        for (int64_t i = 0; i < oh; ++i)
          for (int64_t j = 0; j < ow; ++j) {
            double acc = c.bias ? b[m] : 0.0;
            int64_t g = m / mg;
            for (int64_t ci = 0; ci < cg; ++ci)
              for (int64_t u = 0; u < c.kh; ++u)
                for (int64_t v = 0; v < c.kw; ++v) {
                  int64_t y = i * c.sh - c.pt + u * c.dh;
                  int64_t xx = j * c.sw - c.pl + v * c.dw;
                  if (y < 0 || y >= c.h || xx < 0 || xx >= c.w)
                    continue;
                  acc += (double)x[((n * c.c + g * cg + ci) * c.h + y) * c.w + xx] *
                         w[((m * cg + ci) * c.kh + u) * c.kw + v];
                }
            want[((n * c.m + m) * oh + i) * ow + j] = acc;
          }
    std::vector<float> y(want.size(), std::nanf(""));
    for (int rep = 0; rep < 2; ++rep) { // the second call hits the cache
      ditc_rt_conv2d_f32(x.data(), w.data(), c.bias ? b.data() : nullptr,
                         y.data(), c.n, c.c, c.h, c.w, c.m, c.kh, c.kw, c.sh,
                         c.sw, c.pt, c.pl, c.pb, c.pr, c.dh, c.dw, c.g);
      EXPECT_REL_L2(y, want, 1e-5);
    }
  }
}

/// Laplace expansion along the first row: an algorithm independent of the
/// kernel's elimination.
double cofactorDet(const std::vector<double> &a, int64_t n) {
  if (n == 1)
    return a[0];
  double det = 0;
  for (int64_t c = 0; c < n; ++c) {
    std::vector<double> minor;
    for (int64_t r = 1; r < n; ++r)
      for (int64_t k = 0; k < n; ++k)
        if (k != c)
          minor.push_back(a[r * n + k]);
    det += (c % 2 ? -1.0 : 1.0) * a[c] * cofactorDet(minor, n - 1);
  }
  return det;
}

TEST(DetTest, MatchesCofactorExpansion) {
  uint32_t seed = 7;
  for (int64_t n : {1, 2, 3, 4, 6}) {
    SCOPED_TRACE("n=" + std::to_string(n));
    const int64_t batch = 3;
    std::vector<float> x = randomFloats(batch * n * n, seed++);
    std::vector<double> xd(x.begin(), x.end());
    std::vector<float> y(batch);
    std::vector<double> yd(batch);
    ditc_rt_det(DITC_RT_F32, x.data(), y.data(), batch, n);
    ditc_rt_det(DITC_RT_F64, xd.data(), yd.data(), batch, n);
    for (int64_t b = 0; b < batch; ++b) {
      std::vector<double> m(xd.begin() + b * n * n, xd.begin() + (b + 1) * n * n);
      double want = cofactorDet(m, n);
      EXPECT_NEAR(yd[b], want, 1e-12 * std::max(1.0, std::fabs(want)));
      EXPECT_NEAR(y[b], want, 1e-5 * std::max(1.0, std::fabs(want)));
    }
  }
  // A singular matrix (two equal rows) and one that needs a row swap.
  std::vector<double> singular = {1, 2, 3, 4, 5, 6, 1, 2, 3};
  std::vector<double> swap = {0, 1, 0, 1, 0, 0, 0, 0, 2};
  double out[2];
  ditc_rt_det(DITC_RT_F64, singular.data(), out, 1, 3);
  ditc_rt_det(DITC_RT_F64, swap.data(), out + 1, 1, 3);
  EXPECT_EQ(out[0], 0.0);
  EXPECT_EQ(out[1], -2.0);
}

} // namespace
