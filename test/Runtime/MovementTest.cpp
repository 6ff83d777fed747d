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
  // The heads' swap [B, H, S, D] -> [B, S, H, D] in short rows of D, which
  // the copy blocks over S (a few positions of every head at a time), with
  // a tail of positions after the blocks: [2, 16, 61, 72] (elements of 4
  // and 3 bytes: blocks of 14 and 18 positions) and [1, 16, 200, 24]
  // (blocks of 85, 42, 56, 21 and 10 positions for 2, 4, 3, 8 and 16 bytes).
  v.push_back({"head_swap_rows", {2, 61, 16, 72}, {16 * 61 * 72, 72, 61 * 72, 1},
               contig({2, 61, 16, 72}), 2 * 16 * 61 * 72, 0, 2 * 16 * 61 * 72, 0});
  v.push_back({"head_swap_rows_long", {1, 200, 16, 24}, {16 * 200 * 24, 24, 200 * 24, 1},
               contig({1, 200, 16, 24}), 16 * 200 * 24, 0, 16 * 200 * 24, 0});
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

/// ditc.rope's formula on x [..., D] with cos / sin [..., W] broadcast to x's
/// leading dims (numpy rules, aligned on the right), in double.
std::vector<double> ropeReference(const std::vector<float> &x,
                                  const std::vector<int64_t> &xs,
                                  const std::vector<float> &cs,
                                  const std::vector<float> &sn,
                                  const std::vector<int64_t> &ts,
                                  bool interleaved) {
  const int64_t D = xs.back(), Wd = ts.back(), h = Wd / 2;
  std::vector<int64_t> lead(xs.begin(), xs.end() - 1);
  std::vector<int64_t> tstr = contiguousStrides(ts);
  const size_t off = xs.size() - ts.size();
  std::vector<double> want(x.size());
  int64_t row = 0;
  forEachIndex(lead, [&](const std::vector<int64_t> &idx) {
    int64_t t = 0;
    for (size_t k = 0; k + 1 < ts.size(); ++k)
      t += (ts[k] == 1 ? 0 : idx[k + off]) * tstr[k];
    const float *xr = x.data() + row * D;
    double *w = want.data() + row * D;
    for (int64_t d = 0; d < D; ++d)
      w[d] = xr[d];
    for (int64_t i = 0; i < h; ++i) {
      int64_t a = interleaved ? 2 * i : i, b = interleaved ? 2 * i + 1 : i + h;
      w[a] = (double)xr[a] * cs[t + a] - (double)xr[b] * sn[t + a];
      w[b] = (double)xr[b] * cs[t + b] + (double)xr[a] * sn[t + b];
    }
    ++row;
  });
  return want;
}

TEST_P(RopeTest, MatchesReference) {
  // x and table shapes, and the kernel's view of them: rows [n0, n1, n2]
  // and the table strides (as ditc-lower-to-runtime derives them).
  struct C {
    const char *name;
    std::vector<int64_t> x, table;
    int64_t n[3], t[3];
    int threads;
  } cases[] = {
      {"llama_shared", {2, 3, 7, 8}, {1, 1, 7, 8}, {6, 7, 1}, {0, 8, 0}, 0},
      {"llama_2d_partial", {1, 2, 7, 10}, {7, 4}, {2, 7, 1}, {0, 4, 0}, 0},
      {"llama_batch_table", {2, 3, 7, 8}, {2, 1, 7, 6}, {2, 3, 7},
       {42, 0, 6}, 0},
      {"flux", {1, 24, 2, 16}, {1, 24, 1, 16}, {1, 24, 2}, {0, 16, 0}, 0},
      {"flux_odd_partial", {2, 5, 3, 18}, {1, 5, 1, 12}, {2, 5, 3},
       {0, 12, 0}, 0},
      {"table_per_row", {3, 4, 5, 6}, {3, 4, 5, 6}, {60, 1, 1}, {6, 0, 0}, 0},
      {"head_broadcast", {2, 5, 3, 8}, {2, 5, 1, 8}, {1, 10, 3}, {0, 8, 0}, 0},
      {"one_pair", {1, 1, 1, 2}, {1, 1, 1, 2}, {1, 1, 1}, {0, 0, 0}, 0},
      {"one_pair_of_odd", {3, 1, 5, 7}, {5, 2}, {3, 5, 1}, {0, 2, 0}, 0},
      {"odd_half", {1, 3, 11, 70}, {11, 66}, {3, 11, 1}, {0, 66, 0}, 0},
      {"wide_threads", {2, 8, 65, 128}, {1, 1, 65, 128}, {16, 65, 1},
       {0, 128, 0}, 3},
      {"wide_threads_flux", {5, 97, 11, 40}, {1, 97, 1, 34}, {5, 97, 11},
       {0, 34, 0}, 4},
  };
  uint32_t seed = 1;
  for (const C &c : cases)
    for (int inter : {0, 1})
      for (bool in_place : {false, true}) {
        SCOPED_TRACE(std::string(c.name) + " interleaved=" +
                     std::to_string(inter) + " in_place=" +
                     std::to_string(in_place));
        ditc_rt_set_num_threads(c.threads);
        const int64_t D = c.x.back(), Wd = c.table.back();
        std::vector<float> x = randomFloats(product(c.x), seed++);
        // Asymmetric tables: cos[a] != cos[b], sin[a] != sin[b].
        std::vector<float> cs = randomFloats(product(c.table), seed++);
        std::vector<float> sn = randomFloats(product(c.table), seed++);
        std::vector<double> want =
            ropeReference(x, c.x, cs, sn, c.table, inter != 0);
        std::vector<float> x0 = x, y(x.size(), std::nanf(""));
        float *out = in_place ? x.data() : y.data();
        ditc_rt_rope_f32(x.data(), cs.data(), sn.data(), out, c.n[0], c.n[1],
                         c.n[2], D, Wd, c.t, inter);
        const std::vector<float> &got = in_place ? x : y;
        EXPECT_REL_L2(got, want, 1e-6);
        // Passthrough features are copied bit for bit.
        int64_t bad = 0;
        for (size_t r = 0; r < got.size() / D; ++r)
          for (int64_t d = Wd; d < D; ++d)
            bad += got[r * D + d] != x0[r * D + d];
        EXPECT_EQ(bad, 0);
      }
}

TEST_P(RopeTest, EmptyAndInvalid) {
  int64_t t[3] = {0, 0, 0};
  float v = 1.f;
  // No rows: nothing is read or written.
  ditc_rt_rope_f32(nullptr, nullptr, nullptr, nullptr, 0, 3, 4, 8, 8, t, 0);
  EXPECT_DEATH(ditc_rt_rope_f32(&v, &v, &v, &v, 1, 1, 1, 8, 3, t, 0),
               "rope_f32: rotated features 3 must be even");
  EXPECT_DEATH(ditc_rt_rope_f32(&v, &v, &v, &v, 1, 1, 1, 8, 10, t, 0),
               "at most dim 8");
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
