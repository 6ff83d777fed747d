//===- NormReduceTest.cpp - norms, softmax, reduce -----------------------===//
#include "KernelTestUtil.h"

#include <limits>

using namespace ditc_test;

namespace {

class NormTest : public IsaTest {};

const int64_t kCols[] = {1, 7, 33, 129, 1152, 5000};

TEST_P(NormTest, LayerNorm) {
  uint32_t seed = 1;
  for (int64_t rows : {1, 3, 64})
    for (int64_t cols : kCols)
      for (int variant = 0; variant < 4; ++variant) {
        SCOPED_TRACE(std::to_string(rows) + "x" + std::to_string(cols) +
                     " variant " + std::to_string(variant));
        std::vector<float> x = randomFloats(rows * cols, seed++, -3.f, 5.f);
        std::vector<float> sc = randomFloats(cols, seed++, 0.5f, 2.f);
        std::vector<float> bi = randomFloats(cols, seed++);
        const float *ps = (variant & 1) ? sc.data() : nullptr;
        const float *pb = (variant & 2) ? bi.data() : nullptr;
        const float eps = 1e-5f;
        std::vector<double> want(rows * cols);
        for (int64_t r = 0; r < rows; ++r) {
          double mean = 0, var = 0;
          for (int64_t c = 0; c < cols; ++c)
            mean += x[r * cols + c];
          mean /= cols;
          for (int64_t c = 0; c < cols; ++c)
            var += (x[r * cols + c] - mean) * (x[r * cols + c] - mean);
          var /= cols;
          for (int64_t c = 0; c < cols; ++c)
            want[r * cols + c] = (x[r * cols + c] - mean) / std::sqrt(var + eps) *
                                     (ps ? ps[c] : 1.0) +
                                 (pb ? pb[c] : 0.0);
        }
        std::vector<float> y(rows * cols);
        ditc_rt_layer_norm_f32(x.data(), ps, pb, y.data(), rows, cols, eps);
        if (cols == 1) {
          // var = 0: (x - mean) = 0 exactly
          for (int64_t i = 0; i < rows; ++i)
            EXPECT_NEAR(y[i], want[i], 1e-6);
        } else {
          EXPECT_REL_L2(y, want, 1e-5);
        }
      }
}

// The adaLN-modulated layer norm: rows in `groups` groups, each group's
// rows times its mod_scale row plus its mod_shift row, against a double
// reference; every combination of the four parameters, in place too. Then
// with the modulation rows apart (as six parameters side by side: the
// scale's rows 6 cols apart, the shift's 6 cols + 3) and norm(x) * (1 +
// scale) + shift (scale_offset 1).
TEST_P(NormTest, LayerNormModulated) {
  uint32_t seed = 500;
  int cases = 0;
  for (auto [rows, groups] : {std::pair<int64_t, int64_t>{1, 1}, {6, 1},
                              {6, 2}, {6, 3}, {6, 6}, {64, 4}})
    for (int64_t cols : {7, 129, 1152})
      for (int variant = 0; variant < 32; ++variant) {
        SCOPED_TRACE(std::to_string(rows) + "x" + std::to_string(cols) +
                     " groups " + std::to_string(groups) + " variant " +
                     std::to_string(variant));
        const bool apart = variant & 16;
        const int64_t ss = apart ? 6 * cols : cols, ts = apart ? 6 * cols + 3 : cols;
        const float off = apart ? 1.f : 0.f;
        std::vector<float> x = randomFloats(rows * cols, seed++, -3.f, 5.f);
        std::vector<float> sc = randomFloats(cols, seed++, 0.5f, 2.f);
        std::vector<float> bi = randomFloats(cols, seed++);
        std::vector<float> ms = randomFloats(groups * ss, seed++, -2.f, 2.f);
        std::vector<float> mt = randomFloats(groups * ts, seed++, -1.f, 1.f);
        const float *ps = (variant & 1) ? sc.data() : nullptr;
        const float *pb = (variant & 2) ? bi.data() : nullptr;
        const float *pms = (variant & 4) ? ms.data() : nullptr;
        const float *pmt = (variant & 8) ? mt.data() : nullptr;
        const float eps = 1e-6f;
        std::vector<double> want(rows * cols);
        for (int64_t r = 0; r < rows; ++r) {
          const int64_t g = r / (rows / groups);
          double mean = 0, var = 0;
          for (int64_t c = 0; c < cols; ++c)
            mean += x[r * cols + c];
          mean /= cols;
          for (int64_t c = 0; c < cols; ++c)
            var += (x[r * cols + c] - mean) * (x[r * cols + c] - mean);
          var /= cols;
          for (int64_t c = 0; c < cols; ++c) {
            double v = (x[r * cols + c] - mean) / std::sqrt(var + eps) *
                           (ps ? ps[c] : 1.0) +
                       (pb ? pb[c] : 0.0);
            want[r * cols + c] = v * (pms ? (double)pms[g * ss + c] + off : 1.0) +
                                 (pmt ? pmt[g * ts + c] : 0.0);
          }
        }
        std::vector<float> y(rows * cols), inplace = x;
        ditc_rt_layer_norm_mod_f32(x.data(), ps, pb, pms, pmt, y.data(), rows,
                                   cols, groups, ss, ts, off, eps);
        EXPECT_REL_L2(y, want, 1e-5);
        ditc_rt_layer_norm_mod_f32(inplace.data(), ps, pb, pms, pmt,
                                   inplace.data(), rows, cols, groups, ss, ts, off, eps);
        EXPECT_EQ(inplace, y);
        ++cases;
      }
  EXPECT_EQ(cases, 6 * 3 * 32);
}

TEST_P(NormTest, LayerNormModulatedBadGroups) {
  std::vector<float> x(12, 1.f), y(12);
  EXPECT_DEATH(ditc_rt_layer_norm_mod_f32(x.data(), nullptr, nullptr, x.data(),
                                          nullptr, y.data(), 3, 4, 2, 4, 4, 0.f, 1e-5f),
               "layer_norm_mod_f32: rows .3. must be a multiple of the "
               "modulation.s groups .2.");
  EXPECT_DEATH(ditc_rt_layer_norm_mod_f32(x.data(), nullptr, nullptr, x.data(),
                                          nullptr, y.data(), 2, 4, 2, -4, 4, 0.f, 1e-5f),
               "layer_norm_mod_f32: negative modulation row stride .-4, 4.");
}

TEST_P(NormTest, RmsNorm) {
  uint32_t seed = 100;
  for (int64_t rows : {1, 5, 64})
    for (int64_t cols : kCols)
      for (bool with_scale : {false, true}) {
        std::vector<float> x = randomFloats(rows * cols, seed++, -2.f, 3.f);
        std::vector<float> sc = randomFloats(cols, seed++, 0.5f, 2.f);
        const float eps = 1e-6f;
        std::vector<double> want(rows * cols);
        for (int64_t r = 0; r < rows; ++r) {
          double ms = 0;
          for (int64_t c = 0; c < cols; ++c)
            ms += (double)x[r * cols + c] * x[r * cols + c];
          ms /= cols;
          for (int64_t c = 0; c < cols; ++c)
            want[r * cols + c] = x[r * cols + c] / std::sqrt(ms + eps) *
                                 (with_scale ? sc[c] : 1.0);
        }
        std::vector<float> y(rows * cols);
        ditc_rt_rms_norm_f32(x.data(), with_scale ? sc.data() : nullptr,
                             y.data(), rows, cols, eps);
        EXPECT_REL_L2(y, want, 1e-5);
      }
}

TEST_P(NormTest, GroupNorm) {
  struct C {
    int64_t n, c, spatial, groups;
  } cases[] = {{1, 1, 1, 1},   {2, 6, 7, 3},    {1, 32, 33, 32},
               {2, 64, 129, 8}, {1, 64, 4096, 32}, {3, 4, 5, 1}};
  uint32_t seed = 200;
  for (const C &c : cases)
    for (bool affine : {false, true}) {
      SCOPED_TRACE(std::to_string(c.c) + " channels " + std::to_string(c.groups) +
                   " groups");
      std::vector<float> x = randomFloats(c.n * c.c * c.spatial, seed++, -1, 4);
      std::vector<float> sc = randomFloats(c.c, seed++, 0.5f, 2.f);
      std::vector<float> bi = randomFloats(c.c, seed++);
      const float eps = 1e-5f;
      int64_t cpg = c.c / c.groups, len = cpg * c.spatial;
      std::vector<double> want(x.size());
      for (int64_t t = 0; t < c.n * c.groups; ++t) {
        const float *xg = x.data() + t * len;
        double mean = 0, var = 0;
        for (int64_t i = 0; i < len; ++i)
          mean += xg[i];
        mean /= len;
        for (int64_t i = 0; i < len; ++i)
          var += (xg[i] - mean) * (xg[i] - mean);
        var /= len;
        for (int64_t i = 0; i < len; ++i) {
          int64_t ch = (t % c.groups) * cpg + i / c.spatial;
          want[t * len + i] = (xg[i] - mean) / std::sqrt(var + eps) *
                                  (affine ? sc[ch] : 1.0) +
                              (affine ? bi[ch] : 0.0);
        }
      }
      std::vector<float> y(x.size());
      ditc_rt_group_norm_f32(x.data(), affine ? sc.data() : nullptr,
                             affine ? bi.data() : nullptr, y.data(), c.n, c.c,
                             c.spatial, c.groups, eps);
      if (len == 1) {
        for (size_t i = 0; i < y.size(); ++i)
          EXPECT_NEAR(y[i], want[i], 1e-6);
      } else {
        EXPECT_REL_L2(y, want, 1e-5);
      }
    }
}

TEST_P(NormTest, Softmax) {
  struct C {
    int64_t outer, len, inner;
  } cases[] = {{1, 1, 1},    {3, 7, 1},     {64, 129, 1},  {2, 1000, 1},
               {5, 33, 7},   {2, 9, 129},   {1, 3, 1000},  {4, 77, 600},
               {16, 1024, 1}};
  uint32_t seed = 300;
  for (const C &c : cases) {
    SCOPED_TRACE(std::to_string(c.outer) + "," + std::to_string(c.len) + "," +
                 std::to_string(c.inner));
    std::vector<float> x = randomFloats(c.outer * c.len * c.inner, seed++, -8, 8);
    std::vector<double> want(x.size());
    for (int64_t o = 0; o < c.outer; ++o)
      for (int64_t i = 0; i < c.inner; ++i) {
        auto at = [&](int64_t l) { return (o * c.len + l) * c.inner + i; };
        double mx = -INFINITY, sum = 0;
        for (int64_t l = 0; l < c.len; ++l)
          mx = std::max(mx, (double)x[at(l)]);
        for (int64_t l = 0; l < c.len; ++l)
          sum += std::exp(x[at(l)] - mx);
        for (int64_t l = 0; l < c.len; ++l)
          want[at(l)] = std::exp(x[at(l)] - mx) / sum;
      }
    std::vector<float> y(x.size());
    ditc_rt_softmax_f32(x.data(), y.data(), c.outer, c.len, c.inner);
    EXPECT_REL_L2(y, want, 1e-5);
    // in place
    ditc_rt_softmax_f32(x.data(), x.data(), c.outer, c.len, c.inner);
    EXPECT_EQ(x, y);
  }
}

DITC_INSTANTIATE_ISA(NormTest);

//===--- Reduce ----------------------------------------------------------===//

template <class T> double refReduce(int op, const std::vector<double> &vals) {
  if (op == DITC_RT_REDUCE_MAX || op == DITC_RT_REDUCE_MIN) {
    double r = op == DITC_RT_REDUCE_MAX ? -INFINITY : INFINITY;
    for (double v : vals)
      r = op == DITC_RT_REDUCE_MAX ? std::max(r, v) : std::min(r, v);
    return r;
  }
  if (op == DITC_RT_REDUCE_PROD) {
    double r = 1;
    for (double v : vals)
      r *= v;
    return r;
  }
  double s = 0;
  for (double v : vals)
    s += v;
  if (op == DITC_RT_REDUCE_MEAN) {
    if (std::is_floating_point_v<T>)
      return s / vals.size();
    return std::trunc(s / vals.size());
  }
  return s;
}

template <class T>
void checkReduce(int dtype, const std::vector<int64_t> &shape, int64_t mask,
                 uint32_t seed) {
  int64_t n = product(shape);
  std::vector<T> x;
  if constexpr (std::is_floating_point_v<T>)
    x = randomFloats(n, seed, 0.5f, 1.5f); // positive: meaningful rel. error
  else
    x = randomInts<T>(n, seed, -100, 100);
  std::vector<int64_t> oshape = shape;
  for (size_t d = 0; d < shape.size(); ++d)
    if ((mask >> d) & 1)
      oshape[d] = 1;
  std::vector<int64_t> ostr = contiguousStrides(oshape);
  std::vector<int64_t> xstr = contiguousStrides(shape);
  for (int op = 0; op < DITC_RT_REDUCE_COUNT; ++op) {
    if (op == DITC_RT_REDUCE_PROD && !std::is_floating_point_v<T>)
      continue; // overflows; covered by the small case below
    SCOPED_TRACE("op " + std::to_string(op) + " mask " + std::to_string(mask));
    std::vector<std::vector<double>> groups(product(oshape));
    forEachIndex(shape, [&](const std::vector<int64_t> &idx) {
      std::vector<int64_t> oi = idx;
      for (size_t d = 0; d < idx.size(); ++d)
        if ((mask >> d) & 1)
          oi[d] = 0;
      groups[dot(oi, ostr)].push_back((double)x[dot(idx, xstr)]);
    });
    std::vector<double> want(groups.size());
    for (size_t i = 0; i < groups.size(); ++i)
      want[i] = (double)(T)refReduce<T>(op, groups[i]); // in T's range
    std::vector<T> y(groups.size());
    ditc_rt_reduce(op, dtype, x.data(), shape.data(), (int32_t)shape.size(),
                   mask, y.data());
    if constexpr (std::is_floating_point_v<T>) {
      EXPECT_REL_L2(y, want, 1e-5);
    } else {
      for (size_t i = 0; i < y.size(); ++i)
        ASSERT_EQ((double)y[i], want[i]) << i;
    }
  }
}

struct ReduceCase {
  std::vector<int64_t> shape;
  std::vector<int64_t> masks;
};

const ReduceCase kReduce[] = {
    {{}, {0}},
    {{1}, {0, 1}},
    {{7}, {1}},
    {{129}, {1}},
    {{3, 5, 7}, {1, 2, 4, 3, 5, 6, 7, 0}},
    {{2, 1, 33, 4}, {1, 2, 4, 8, 10, 5, 15}},
    {{33, 129}, {1, 2, 3}},
    {{4, 3, 2, 5, 7}, {21, 10, 31}},
};

class ReduceTest : public IsaTest {};

TEST_P(ReduceTest, F32) {
  uint32_t seed = 1;
  for (const ReduceCase &c : kReduce)
    for (int64_t m : c.masks)
      checkReduce<float>(DITC_RT_F32, c.shape, m, seed++);
}
TEST_P(ReduceTest, I64) {
  uint32_t seed = 100;
  for (const ReduceCase &c : kReduce)
    for (int64_t m : c.masks)
      checkReduce<int64_t>(DITC_RT_I64, c.shape, m, seed++);
}
TEST_P(ReduceTest, I32) {
  uint32_t seed = 200;
  for (const ReduceCase &c : kReduce)
    for (int64_t m : c.masks)
      checkReduce<int32_t>(DITC_RT_I32, c.shape, m, seed++);
}

TEST_P(ReduceTest, LargeOnThreads) {
  for (int t : {1, 2, 3}) {
    ditc_rt_set_num_threads(t);
    for (int64_t m : {1, 2, 3})
      checkReduce<float>(DITC_RT_F32, {700, 900}, m, 50 + (uint32_t)m);
    checkReduce<int64_t>(DITC_RT_I64, {300, 1000}, 1, 60);
  }
}

TEST_P(ReduceTest, IntegerProductAndNan) {
  std::vector<int32_t> x = {2, -3, 4, 1, 5, -1};
  int64_t shape[] = {2, 3};
  std::vector<int32_t> y(2);
  ditc_rt_reduce(DITC_RT_REDUCE_PROD, DITC_RT_I32, x.data(), shape, 2, 2,
                 y.data());
  EXPECT_EQ(y[0], -24);
  EXPECT_EQ(y[1], -5);
  std::vector<float> f = randomFloats(100, 3);
  f[57] = std::nanf("");
  float r = 0;
  int64_t n = 100;
  ditc_rt_reduce(DITC_RT_REDUCE_MAX, DITC_RT_F32, f.data(), &n, 1, 1, &r);
  EXPECT_TRUE(std::isnan(r));
  ditc_rt_reduce(DITC_RT_REDUCE_MIN, DITC_RT_F32, f.data(), &n, 1, 1, &r);
  EXPECT_TRUE(std::isnan(r));
}

DITC_INSTANTIATE_ISA(ReduceTest);

} // namespace
