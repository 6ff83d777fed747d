//===- MovementTest.cpp - strided_copy, gather, rope, trilu --------------===//
#include "KernelTestUtil.h"

#include <cstring>

using namespace ditc_test;

namespace {

struct CopyCase {
  const char *name;
  std::vector<int64_t> shape, src_strides, dst_strides;
  int64_t src_count, src_offset, dst_count, dst_offset;
};

std::vector<CopyCase> copyCases() {
  std::vector<CopyCase> v;
  auto contig = [](std::vector<int64_t> s) { return contiguousStrides(s); };
  v.push_back({"contiguous", {33, 129}, {129, 1}, {129, 1}, 33 * 129, 0,
               33 * 129, 0});
  v.push_back({"rank0", {}, {}, {}, 1, 0, 1, 0});
  // rows 18, 15, ..., 3 and columns 1, 3, ..., 27 of a [20, 30]
  v.push_back({"slice_negative_step", {6, 14}, {-90, 2}, contig({6, 14}), 600,
               18 * 30 + 1, 6 * 14, 0});
  v.push_back({"reverse_last", {20, 30}, {30, -1}, contig({20, 30}), 600, 29,
               600, 0});
  v.push_back({"reverse_all", {7, 5, 3}, {-15, -3, -1}, contig({7, 5, 3}),
               105, 104, 105, 0});
  v.push_back({"broadcast_rows", {40, 33}, {0, 1}, contig({40, 33}), 33, 0,
               40 * 33, 0});
  v.push_back({"broadcast_scalar", {7, 9}, {0, 0}, contig({7, 9}), 1, 0, 63,
               0});
  v.push_back({"broadcast_middle", {5, 6, 7}, {7, 0, 1}, contig({5, 6, 7}), 35,
               0, 210, 0});
  v.push_back({"broadcast_inner", {5, 6, 7}, {6, 1, 0}, contig({5, 6, 7}), 30,
               0, 210, 0});
  v.push_back({"transpose_2d", {33, 129}, {1, 33}, contig({33, 129}), 33 * 129,
               0, 33 * 129, 0});
  // [2,3,4,5] -> permutation (0, 2, 3, 1)
  v.push_back({"permute_4d", {2, 4, 5, 3}, {60, 5, 1, 20}, contig({2, 4, 5, 3}),
               120, 0, 120, 0});
  // reversed rows, transposed
  v.push_back({"transpose_reversed", {40, 50}, {-1, 40}, contig({40, 50}), 2000,
               39, 2000, 0});
  // scatter into a transposed destination
  v.push_back({"transposed_dst", {20, 10}, {10, 1}, {1, 20}, 200, 0, 200, 0});
  // a [10, 7] piece into columns 7..14 of a [10, 20] (concat)
  v.push_back({"concat_piece", {10, 7}, {7, 1}, {20, 1}, 70, 0, 200, 7});
  // split: columns 3..11 of a [9, 17]
  v.push_back({"split_piece", {9, 8}, {17, 1}, contig({9, 8}), 153, 3, 72, 0});
  v.push_back({"large_transpose", {1000, 999}, {1, 1000}, contig({1000, 999}),
               999000, 0, 999000, 0});
  v.push_back({"large_copy", {4, 300001}, {300001, 1}, contig({4, 300001}),
               1200004, 0, 1200004, 0});
  v.push_back({"large_broadcast", {3000, 129}, {0, 1}, contig({3000, 129}), 129,
               0, 3000 * 129, 0});
  return v;
}

class StridedCopyTest : public IsaTest {};

TEST_P(StridedCopyTest, MatchesReference) {
  uint32_t seed = 1;
  for (int threads : {1, 2, 3}) {
    ditc_rt_set_num_threads(threads);
    for (const CopyCase &c : copyCases())
      for (int64_t es : {1, 2, 4, 8, 3, 16}) {
        if (product(c.shape) > 100000 && es != 4 && es != 3)
          continue;
        SCOPED_TRACE(std::string(c.name) + " elem " + std::to_string(es) +
                     " threads " + std::to_string(threads));
        std::vector<uint8_t> src = randomInts<uint8_t>(c.src_count * es,
                                                       seed++, 0, 255);
        std::vector<uint8_t> want = randomInts<uint8_t>(c.dst_count * es,
                                                        seed++, 0, 255);
        std::vector<uint8_t> got = want;
        forEachIndex(c.shape, [&](const std::vector<int64_t> &idx) {
          std::memcpy(want.data() + (c.dst_offset + dot(idx, c.dst_strides)) * es,
                      src.data() + (c.src_offset + dot(idx, c.src_strides)) * es,
                      es);
        });
        ditc_rt_strided_copy(es, src.data(), c.src_offset, c.src_strides.data(),
                             got.data() + c.dst_offset * es,
                             c.dst_strides.data(), c.shape.data(),
                             (int32_t)c.shape.size());
        ASSERT_TRUE(got == want);
      }
  }
}

DITC_INSTANTIATE_ISA(StridedCopyTest);

//===--- Gather ----------------------------------------------------------===//

class GatherTest : public IsaTest {};

TEST_P(GatherTest, MatchesReference) {
  struct C {
    int64_t outer, axis_len, inner, num;
  } cases[] = {{1, 1, 1, 1},   {3, 7, 1, 5},   {2, 33, 7, 40},
               {1, 1000, 64, 300}, {5, 4, 129, 2}, {4000, 3, 1, 3}};
  uint32_t seed = 1;
  for (const C &c : cases)
    for (int64_t es : {2, 4, 8})
      for (int idt : {DITC_RT_I64, DITC_RT_I32}) {
        std::vector<int64_t> idx =
            randomInts<int64_t>(c.num, seed++, -c.axis_len, c.axis_len - 1);
        std::vector<int32_t> idx32(idx.begin(), idx.end());
        std::vector<uint8_t> data = randomInts<uint8_t>(
            c.outer * c.axis_len * c.inner * es, seed++, 0, 255);
        std::vector<uint8_t> want(c.outer * c.num * c.inner * es), got(want.size());
        for (int64_t o = 0; o < c.outer; ++o)
          for (int64_t t = 0; t < c.num; ++t) {
            int64_t i = idx[t] < 0 ? idx[t] + c.axis_len : idx[t];
            std::memcpy(want.data() + (o * c.num + t) * c.inner * es,
                        data.data() + (o * c.axis_len + i) * c.inner * es,
                        c.inner * es);
          }
        ditc_rt_gather(es, data.data(), c.outer, c.axis_len, c.inner,
                       idt == DITC_RT_I64 ? (const void *)idx.data()
                                          : (const void *)idx32.data(),
                       idt, c.num, got.data());
        ASSERT_TRUE(got == want) << c.outer << "," << c.axis_len << "," << c.inner;
      }
}

TEST(GatherDeathTest, OutOfRangeIndexAborts) {
  std::vector<float> data(10), out(1);
  int64_t idx = 10;
  EXPECT_DEATH(ditc_rt_gather(4, data.data(), 1, 10, 1, &idx, DITC_RT_I64, 1,
                              out.data()),
               "gather: index 10 is outside");
}

DITC_INSTANTIATE_ISA(GatherTest);

//===--- RoPE ------------------------------------------------------------===//

class RopeTest : public IsaTest {};

TEST_P(RopeTest, MatchesReference) {
  struct C {
    int64_t B, H, S, D, R, cos_batch;
  } cases[] = {{1, 1, 1, 2, 1, 1},  {2, 3, 7, 8, 4, 1},  {2, 4, 33, 64, 32, 2},
               {1, 2, 9, 72, 16, 1}, {3, 2, 5, 129, 64, 3}, {1, 1, 5, 10, 0, 1}};
  uint32_t seed = 1;
  for (const C &c : cases)
    for (int inter : {0, 1})
      for (bool in_place : {false, true}) {
        SCOPED_TRACE("D=" + std::to_string(c.D) + " R=" + std::to_string(c.R) +
                     " interleaved=" + std::to_string(inter));
        std::vector<float> x = randomFloats(c.B * c.H * c.S * c.D, seed++);
        std::vector<float> cs = randomFloats(c.cos_batch * c.S * c.R, seed++);
        std::vector<float> sn = randomFloats(c.cos_batch * c.S * c.R, seed++);
        std::vector<double> want(x.size());
        for (int64_t b = 0; b < c.B; ++b)
          for (int64_t h = 0; h < c.H; ++h)
            for (int64_t s = 0; s < c.S; ++s) {
              int64_t row = ((b * c.H + h) * c.S + s) * c.D;
              int64_t cb = c.cos_batch == 1 ? 0 : b;
              for (int64_t d = 0; d < c.D; ++d)
                want[row + d] = x[row + d];
              for (int64_t i = 0; i < c.R; ++i) {
                double co = cs[(cb * c.S + s) * c.R + i];
                double si = sn[(cb * c.S + s) * c.R + i];
                int64_t i0 = inter ? 2 * i : i, i1 = inter ? 2 * i + 1 : i + c.R;
                double x0 = x[row + i0], x1 = x[row + i1];
                want[row + i0] = x0 * co - x1 * si;
                want[row + i1] = x1 * co + x0 * si;
              }
            }
        std::vector<float> y(x.size(), std::nanf(""));
        float *out = in_place ? x.data() : y.data();
        ditc_rt_rope_f32(x.data(), cs.data(), sn.data(), out, c.B, c.H, c.S,
                         c.D, c.R, c.cos_batch, inter);
        EXPECT_REL_L2(in_place ? x : y, want, 1e-6);
      }
}

DITC_INSTANTIATE_ISA(RopeTest);

//===--- Trilu -----------------------------------------------------------===//

class TriluTest : public IsaTest {};

TEST_P(TriluTest, MatchesReference) {
  struct C {
    int64_t batch, rows, cols;
  } cases[] = {{1, 1, 1}, {1, 5, 5}, {2, 7, 33}, {3, 33, 7}, {1, 129, 129}};
  uint32_t seed = 1;
  for (const C &c : cases)
    for (int64_t k : {-40, -2, 0, 1, 5, 200})
      for (int upper : {0, 1})
        for (int64_t es : {1, 4}) {
          std::vector<uint8_t> x = randomInts<uint8_t>(
              c.batch * c.rows * c.cols * es, seed++, 1, 255);
          std::vector<uint8_t> want(x.size()), got(x.size(), 0xee);
          for (int64_t b = 0; b < c.batch; ++b)
            for (int64_t i = 0; i < c.rows; ++i)
              for (int64_t j = 0; j < c.cols; ++j) {
                bool keep = upper ? (j - i >= k) : (j - i <= k);
                int64_t at = ((b * c.rows + i) * c.cols + j) * es;
                for (int64_t e = 0; e < es; ++e)
                  want[at + e] = keep ? x[at + e] : 0;
              }
          ditc_rt_trilu(es, x.data(), got.data(), c.batch, c.rows, c.cols, k,
                        upper);
          ASSERT_TRUE(got == want) << "k=" << k << " upper=" << upper;
          ditc_rt_trilu(es, x.data(), x.data(), c.batch, c.rows, c.cols, k,
                        upper); // in place
          ASSERT_TRUE(x == want);
        }
}

DITC_INSTANTIATE_ISA(TriluTest);

} // namespace
