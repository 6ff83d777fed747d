//===- AttentionMathTest.cpp - attention_math.h on the host ---------------===//
//
// The online-softmax arithmetic of the CUDA attention (runtime/cuda/
// attention_math.h), compiled by the host compiler: no CUDA needed. The
// online update is driven the way attention.cu drives it (tiles of keys, a
// tile max shared by the row, partial sums per lane rescaled by the same
// factor and added at the end) over random scores in random tile splits, and
// checked against a naive softmax-weighted sum in double; the merge against
// ditc_rt_attention_merge_f32 of the CPU runtime and against the whole.
//
//===----------------------------------------------------------------------===//
#include "../../runtime/cuda/attention_math.h"

#include "ditc/runtime/ditc_kernels.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

namespace {

const float kInf = std::numeric_limits<float>::infinity();

// One query row: base-2 scores s[n] (-inf = masked) and values v[n][dv].
struct Row {
  std::vector<float> s;
  std::vector<float> v;
  int64_t dv = 0;
};

Row randomRow(std::mt19937 &rng, int64_t n, int64_t dv, float spread,
              double p_masked) {
  Row r;
  r.dv = dv;
  std::uniform_real_distribution<float> score(-spread, spread);
  std::uniform_real_distribution<float> val(-1.f, 1.f);
  std::bernoulli_distribution masked(p_masked);
  r.s.resize(n);
  for (float &x : r.s) {
    do
      x = score(rng);
    while (x == 0.f);
    if (masked(rng))
      x = -kInf;
  }
  r.v.resize(n * dv);
  for (float &x : r.v) {
    do
      x = val(rng);
    while (x == 0.f);
  }
  return r;
}

// The naive result in double: out = sum 2^(s - max) v / sum 2^(s - max),
// lse = ln sum e^(s ln 2); zeros and -inf when every score is masked.
void naive(const Row &r, std::vector<double> &out, double &lse) {
  const int64_t n = (int64_t)r.s.size();
  double mx = -std::numeric_limits<double>::infinity();
  for (float x : r.s)
    mx = std::max(mx, (double)x);
  out.assign(r.dv, 0.0);
  if (mx == -std::numeric_limits<double>::infinity()) {
    lse = mx;
    return;
  }
  double sum = 0;
  for (int64_t j = 0; j < n; ++j) {
    if (r.s[j] == -kInf)
      continue;
    const double p = std::exp2((double)r.s[j] - mx);
    sum += p;
    for (int64_t d = 0; d < r.dv; ++d)
      out[d] += p * r.v[j * r.dv + d];
  }
  for (double &o : out)
    o /= sum;
  lse = (mx + std::log2(sum)) * std::log(2.0);
}

// The kernel's loop over tiles: tile boundaries `cuts` (0 < ... < n), each
// tile's max, then per lane (key index % lanes within the tile) a partial
// running sum. Returns out (f32) and lse.
void online(const Row &r, const std::vector<int64_t> &cuts, int lanes,
            std::vector<float> &out, float &lse) {
  const int64_t n = (int64_t)r.s.size();
  float m = -kInf;
  std::vector<float> l(lanes, 0.f);
  std::vector<float> o(r.dv, 0.f);
  int64_t j0 = 0;
  for (size_t t = 0; t <= cuts.size(); ++t) {
    const int64_t j1 = t < cuts.size() ? cuts[t] : n;
    float tmax = -kInf;
    for (int64_t j = j0; j < j1; ++j)
      tmax = std::max(tmax, r.s[j]);
    const float alpha = ditc_att_update_max(&m, tmax);
    ASSERT_FALSE(std::isnan(alpha));
    for (float &x : l)
      x *= alpha;
    for (float &x : o)
      x *= alpha;
    for (int64_t j = j0; j < j1; ++j) {
      const float w = ditc_att_weight(r.s[j], m);
      ASSERT_FALSE(std::isnan(w));
      ASSERT_LE(w, 1.f); // m is the max so far
      l[(j - j0) % lanes] += w;
      for (int64_t d = 0; d < r.dv; ++d)
        o[d] += w * r.v[j * r.dv + d];
    }
    j0 = j1;
  }
  float lt = 0.f;
  for (float x : l)
    lt += x;
  const float inv = ditc_att_inv_sum(lt);
  out.resize(r.dv);
  for (int64_t d = 0; d < r.dv; ++d)
    out[d] = o[d] * inv;
  lse = ditc_att_lse(m, lt);
}

std::vector<int64_t> randomCuts(std::mt19937 &rng, int64_t n, int max_tile) {
  std::vector<int64_t> cuts;
  std::uniform_int_distribution<int> tile(1, max_tile);
  for (int64_t j = tile(rng); j < n; j += tile(rng))
    cuts.push_back(j);
  return cuts;
}

void expectClose(const std::vector<float> &got, float got_lse,
                 const std::vector<double> &want, double want_lse,
                 const char *what) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t d = 0; d < want.size(); ++d)
    EXPECT_NEAR(got[d], want[d], 2e-6 + 2e-6 * std::fabs(want[d]))
        << what << ", element " << d;
  if (want_lse == -std::numeric_limits<double>::infinity())
    EXPECT_EQ(got_lse, -kInf) << what;
  else
    EXPECT_NEAR(got_lse, want_lse, 2e-6 * (1 + std::fabs(want_lse))) << what;
}

TEST(AttentionMath, OnlineSoftmaxMatchesNaiveOverRandomTileSplits) {
  std::mt19937 rng(1234);
  const int64_t lens[] = {1, 2, 7, 33, 64, 77, 300};
  const float spreads[] = {1.f, 8.f, 60.f}; // 2^60: weights underflow
  const double masked[] = {0.0, 0.3, 0.9};
  for (int64_t n : lens)
    for (float spread : spreads)
      for (double pm : masked)
        for (int trial = 0; trial < 4; ++trial) {
          const Row r = randomRow(rng, n, 1 + (int64_t)(rng() % 9), spread, pm);
          std::vector<double> want;
          double want_lse;
          naive(r, want, want_lse);
          const int max_tile = 1 + (int)(rng() % 96);
          std::vector<float> got;
          float got_lse;
          online(r, randomCuts(rng, n, max_tile), trial % 2 ? 16 : 1, got,
                 got_lse);
          expectClose(got, got_lse, want, want_lse, "random split");
        }
}

TEST(AttentionMath, EveryTileSplitOfAShortRow) {
  // Every way of cutting 9 keys into tiles (2^8 splits).
  std::mt19937 rng(7);
  for (int trial = 0; trial < 3; ++trial) {
    const Row r = randomRow(rng, 9, 3, 20.f, trial == 2 ? 0.5 : 0.0);
    std::vector<double> want;
    double want_lse;
    naive(r, want, want_lse);
    for (unsigned bits = 0; bits < 256; ++bits) {
      std::vector<int64_t> cuts;
      for (int j = 1; j < 9; ++j)
        if (bits >> (j - 1) & 1)
          cuts.push_back(j);
      std::vector<float> got;
      float got_lse;
      online(r, cuts, 4, got, got_lse);
      expectClose(got, got_lse, want, want_lse, "exhaustive split");
    }
  }
}

TEST(AttentionMath, MaskedTilesBeforeAndAfterAttendedOnes) {
  // The running max stays -inf over fully masked tiles (weights against 0,
  // alpha 0), then jumps; later masked tiles leave the result alone.
  Row r;
  r.dv = 2;
  r.s = {-kInf, -kInf, -kInf, 3.f, -1.f, -kInf, -kInf, 40.f, -kInf};
  r.v = {9, 9, 9, 9, 9, 9, .5f, .25f, -1, 2, 9, 9, 9, 9, 1, -1, 9, 9};
  std::vector<double> want;
  double want_lse;
  naive(r, want, want_lse);
  std::vector<float> got;
  float got_lse;
  online(r, {3, 5, 7}, 2, got, got_lse);
  expectClose(got, got_lse, want, want_lse, "masked tiles");
}

TEST(AttentionMath, FullyMaskedRowIsZerosAndMinusInfinity) {
  Row r;
  r.dv = 3;
  r.s.assign(50, -kInf);
  r.v.assign(150, 1.f);
  std::vector<float> got;
  float got_lse;
  online(r, {10, 20, 49}, 16, got, got_lse);
  for (float x : got)
    EXPECT_EQ(x, 0.f);
  EXPECT_EQ(got_lse, -kInf);
}

TEST(AttentionMath, ScalarEdgeCases) {
  float m = -kInf;
  EXPECT_EQ(ditc_att_update_max(&m, -kInf), 0.f); // nothing attended yet
  EXPECT_EQ(m, -kInf);
  EXPECT_EQ(ditc_att_weight(-kInf, m), 0.f);
  EXPECT_EQ(ditc_att_update_max(&m, 2.f), 0.f); // first attended tile
  EXPECT_EQ(m, 2.f);
  EXPECT_EQ(ditc_att_weight(2.f, m), 1.f);
  EXPECT_EQ(ditc_att_update_max(&m, -kInf), 1.f);  // a masked tile
  EXPECT_EQ(ditc_att_update_max(&m, 1.f), 1.f);    // a lower max
  EXPECT_EQ(ditc_att_update_max(&m, 5.f), 0.125f); // 2^(2 - 5)
  EXPECT_EQ(m, 5.f);
  EXPECT_EQ(ditc_att_inv_sum(0.f), 0.f);
  EXPECT_EQ(ditc_att_inv_sum(4.f), 0.25f);
  EXPECT_EQ(ditc_att_lse(5.f, 0.f), -kInf);
  EXPECT_NEAR(ditc_att_lse(3.f, 2.f), 4 * std::log(2.0), 1e-6);
  float fa, fb;
  EXPECT_EQ(ditc_att_merge(-kInf, -kInf, &fa, &fb), -kInf);
  EXPECT_EQ(fa, 0.f);
  EXPECT_EQ(fb, 0.f);
  EXPECT_EQ(ditc_att_merge(-kInf, 1.5f, &fa, &fb), 1.5f);
  EXPECT_EQ(fa, 0.f);
  EXPECT_EQ(fb, 1.f);
  EXPECT_EQ(ditc_att_merge(0.25f, -kInf, &fa, &fb), 0.25f);
  EXPECT_EQ(fa, 1.f);
  EXPECT_EQ(fb, 0.f);
}

// ditc_att_merge applied per row, as attention.cu's merge kernel does
// (zeros where both are -inf).
void mergeRows(std::vector<float> &out, std::vector<float> &lse,
               const std::vector<float> &bout, const std::vector<float> &blse,
               int64_t dv) {
  for (size_t r = 0; r < lse.size(); ++r) {
    float fa, fb;
    const float nl = ditc_att_merge(lse[r], blse[r], &fa, &fb);
    for (int64_t d = 0; d < dv; ++d)
      out[r * dv + d] =
          nl == -kInf ? 0.f : out[r * dv + d] * fa + bout[r * dv + d] * fb;
    lse[r] = nl;
  }
}

TEST(AttentionMath, MergeMatchesTheCpuRuntime) {
  std::mt19937 rng(99);
  std::uniform_real_distribution<float> val(-1.f, 1.f), l(-30.f, 30.f);
  for (int64_t dv : {1, 5, 64, 72}) {
    const int64_t rows = 61;
    std::vector<float> out(rows * dv), bout(rows * dv), lse(rows), blse(rows);
    for (float &x : out)
      x = val(rng);
    for (float &x : bout)
      x = val(rng);
    for (int64_t r = 0; r < rows; ++r) {
      lse[r] = r % 7 == 1 || r % 5 == 0 ? -kInf : l(rng);
      blse[r] = r % 7 == 2 || r % 5 == 0 ? -kInf : l(rng);
      if (r % 11 == 3) // close and equal log-sum-exps
        blse[r] = lse[r] + (r % 2 ? 0.f : 1e-3f);
    }
    std::vector<float> cpu_out = out, cpu_lse = lse;
    ditc_rt_attention_merge_f32(cpu_out.data(), cpu_lse.data(), bout.data(),
                                blse.data(), rows, dv);
    mergeRows(out, lse, bout, blse, dv);
    for (int64_t r = 0; r < rows; ++r) {
      if (cpu_lse[r] == -kInf)
        EXPECT_EQ(lse[r], -kInf) << "row " << r;
      else
        EXPECT_FLOAT_EQ(lse[r], cpu_lse[r]) << "row " << r;
      for (int64_t d = 0; d < dv; ++d)
        EXPECT_NEAR(out[r * dv + d], cpu_out[r * dv + d],
                    1e-6f * (1 + std::fabs(cpu_out[r * dv + d])))
            << "row " << r << " element " << d;
    }
  }
}

TEST(AttentionMath, MergedBlocksEqualTheWhole) {
  // Rows split into key blocks; each block's result (naive, rounded to f32)
  // merged in order gives the naive result over all keys.
  std::mt19937 rng(5);
  for (int trial = 0; trial < 40; ++trial) {
    const int64_t n = 1 + (int64_t)(rng() % 200), dv = 1 + (int64_t)(rng() % 8);
    const Row r = randomRow(rng, n, dv, 15.f, trial % 3 == 0 ? 0.6 : 0.1);
    std::vector<double> want;
    double want_lse;
    naive(r, want, want_lse);
    std::vector<int64_t> cuts = randomCuts(rng, n, 64);
    cuts.push_back(n);
    std::vector<float> out(dv, 0.f), lse(1, -kInf);
    int64_t j0 = 0;
    for (int64_t j1 : cuts) {
      Row blk;
      blk.dv = dv;
      blk.s.assign(r.s.begin() + j0, r.s.begin() + j1);
      blk.v.assign(r.v.begin() + j0 * dv, r.v.begin() + j1 * dv);
      std::vector<double> bo;
      double bl;
      naive(blk, bo, bl);
      std::vector<float> bout(bo.begin(), bo.end()), blse(1, (float)bl);
      mergeRows(out, lse, bout, blse, dv);
      j0 = j1;
    }
    // The naive lse is natural units of base-2 scores: compare alike.
    expectClose(out, lse[0], want, want_lse, "merged blocks");
  }
}

} // namespace
