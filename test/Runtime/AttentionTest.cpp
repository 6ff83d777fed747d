//===- AttentionTest.cpp - ditc_rt_attention_f32 against a naive reference ===//
#include "AttentionReference.h"
#include "KernelTestUtil.h"

#include <fstream>
#include <limits>
#include <sstream>

using namespace ditc_test;

namespace {

struct AttnCase {
  const char *name;
  int64_t B, H, Hkv, Sq, Sk, D, Dv;
  bool causal;
  int mask_kind;
  bool mask_batch, mask_heads; // mask has a real batch / head dim
  bool mask_rows = true;       // mask has a real query dim
  bool fully_masked_row = false;
  float scale = 0.f; // 0: 1/sqrt(D)
};

struct AttnData {
  std::vector<float> q, k, v, add_mask;
  std::vector<uint8_t> bool_mask;
  int64_t ms[4] = {0, 0, 0, 0};
  float scale;
};

AttnData makeData(const AttnCase &c, uint32_t seed) {
  AttnData d;
  d.q = randomFloats(c.B * c.H * c.Sq * c.D, seed);
  d.k = randomFloats(c.B * c.Hkv * c.Sk * c.D, seed + 1);
  d.v = randomFloats(c.B * c.Hkv * c.Sk * c.Dv, seed + 2);
  d.scale = c.scale != 0.f ? c.scale : 1.f / std::sqrt((float)(c.D ? c.D : 1));
  if (c.mask_kind != DITC_RT_MASK_NONE) {
    int64_t mb = c.mask_batch ? c.B : 1, mh = c.mask_heads ? c.H : 1;
    int64_t mq = c.mask_rows ? c.Sq : 1;
    int64_t n = mb * mh * mq * c.Sk;
    d.ms[3] = 1;
    d.ms[2] = c.mask_rows ? c.Sk : 0;
    d.ms[1] = c.mask_heads ? mq * c.Sk : 0;
    d.ms[0] = c.mask_batch ? mh * mq * c.Sk : 0;
    if (c.mask_kind == DITC_RT_MASK_BOOL) {
      d.bool_mask = randomBools(n, seed + 3, 0.7);
      if (c.fully_masked_row && c.Sq > 3 && c.mask_rows)
        for (int64_t j = 0; j < c.Sk; ++j)
          d.bool_mask[3 * c.Sk + j] = 0; // row i = 3 of mask batch/head 0
    } else {
      d.add_mask = randomFloats(n, seed + 3, -2.f, 2.f);
      for (int64_t i = 5; i < n; i += 11)
        d.add_mask[i] = -std::numeric_limits<float>::infinity();
      if (c.fully_masked_row && c.Sq > 3 && c.mask_rows)
        for (int64_t j = 0; j < c.Sk; ++j)
          d.add_mask[3 * c.Sk + j] = -std::numeric_limits<float>::infinity();
    }
  }
  return d;
}

// One output row (b, h, i) of the reference, in double.
void refRow(const AttnCase &c, const AttnData &d, int64_t b, int64_t h,
            int64_t i, float *out) {
  int64_t g = h / (c.H / c.Hkv);
  const float *qr = d.q.data() + ((b * c.H + h) * c.Sq + i) * c.D;
  std::vector<double> s(c.Sk);
  std::vector<bool> ok(c.Sk, true);
  double mx = -std::numeric_limits<double>::infinity();
  for (int64_t j = 0; j < c.Sk; ++j) {
    const float *kr = d.k.data() + ((b * c.Hkv + g) * c.Sk + j) * c.D;
    double acc = 0;
    for (int64_t t = 0; t < c.D; ++t)
      acc += (double)qr[t] * kr[t];
    acc *= d.scale;
    int64_t mo = b * d.ms[0] + h * d.ms[1] + i * d.ms[2] + j * d.ms[3];
    if (c.causal && j > i)
      ok[j] = false;
    if (c.mask_kind == DITC_RT_MASK_BOOL && !d.bool_mask[mo])
      ok[j] = false;
    if (c.mask_kind == DITC_RT_MASK_ADDITIVE) {
      acc += d.add_mask[mo];
      if (std::isinf(acc) && acc < 0)
        ok[j] = false;
    }
    s[j] = acc;
    if (ok[j])
      mx = std::max(mx, acc);
  }
  std::vector<double> o(c.Dv, 0.0);
  double sum = 0;
  for (int64_t j = 0; j < c.Sk; ++j) {
    if (!ok[j])
      continue;
    double p = std::exp(s[j] - mx);
    sum += p;
    const float *vr = d.v.data() + ((b * c.Hkv + g) * c.Sk + j) * c.Dv;
    for (int64_t t = 0; t < c.Dv; ++t)
      o[t] += p * vr[t];
  }
  for (int64_t t = 0; t < c.Dv; ++t)
    out[t] = sum > 0 ? (float)(o[t] / sum) : 0.f;
}

std::vector<float> runKernel(const AttnCase &c, const AttnData &d) {
  std::vector<float> out(c.B * c.H * c.Sq * c.Dv, std::nanf(""));
  const void *mask = c.mask_kind == DITC_RT_MASK_BOOL
                         ? (const void *)d.bool_mask.data()
                     : c.mask_kind == DITC_RT_MASK_ADDITIVE
                         ? (const void *)d.add_mask.data()
                         : nullptr;
  ditc_rt_attention_f32(d.q.data(), d.k.data(), d.v.data(), mask, c.mask_kind,
                        c.mask_kind ? d.ms : nullptr, out.data(), c.B, c.H,
                        c.Hkv, c.Sq, c.Sk, c.D, c.Dv, d.scale, c.causal);
  return out;
}

const AttnCase kCases[] = {
    {"tiny", 1, 1, 1, 1, 1, 1, 1, false, DITC_RT_MASK_NONE, false, false},
    {"odd", 2, 3, 3, 7, 33, 7, 5, false, DITC_RT_MASK_NONE, false, false},
    {"gqa", 1, 8, 2, 33, 129, 72, 72, false, DITC_RT_MASK_NONE, false, false},
    {"mqa", 2, 4, 1, 129, 7, 64, 33, false, DITC_RT_MASK_NONE, false, false},
    {"wide_head", 1, 2, 1, 9, 40, 129, 1, false, DITC_RT_MASK_NONE, false,
     false},
    {"causal", 1, 2, 2, 129, 129, 64, 64, true, DITC_RT_MASK_NONE, false,
     false},
    {"causal_gqa_short_q", 2, 6, 3, 33, 200, 32, 48, true, DITC_RT_MASK_NONE,
     false, false},
    {"causal_long_q", 1, 2, 1, 150, 33, 16, 16, true, DITC_RT_MASK_NONE, false,
     false},
    {"bool_mask_heads_bcast", 2, 4, 2, 33, 97, 24, 24, false,
     DITC_RT_MASK_BOOL, true, false, true, true},
    {"bool_mask_causal", 1, 3, 1, 70, 70, 8, 12, true, DITC_RT_MASK_BOOL, false,
     true, true, true},
    {"additive_key_bcast", 2, 2, 2, 33, 129, 40, 40, false,
     DITC_RT_MASK_ADDITIVE, false, false, false},
    {"additive_full_causal", 2, 4, 2, 65, 65, 64, 64, true,
     DITC_RT_MASK_ADDITIVE, true, true, true, true},
    {"decode_gqa_bool", 3, 8, 2, 1, 300, 64, 64, false, DITC_RT_MASK_BOOL,
     true, false, true},
    {"decode_mha", 1, 3, 3, 1, 1000, 128, 128, false, DITC_RT_MASK_NONE, false,
     false},
    {"scaled", 1, 2, 2, 20, 20, 16, 16, false, DITC_RT_MASK_NONE, false, false,
     true, false, 0.9f},
};

class AttentionTest : public IsaTest {};

TEST_P(AttentionTest, MatchesReference) {
  uint32_t seed = 100;
  for (const AttnCase &c : kCases) {
    SCOPED_TRACE(c.name);
    AttnData d = makeData(c, seed += 10);
    std::vector<float> got = runKernel(c, d);
    std::vector<float> want(got.size());
    for (int64_t b = 0; b < c.B; ++b)
      for (int64_t h = 0; h < c.H; ++h)
        for (int64_t i = 0; i < c.Sq; ++i)
          refRow(c, d, b, h, i, want.data() + ((b * c.H + h) * c.Sq + i) * c.Dv);
    EXPECT_REL_L2(got, want, 1e-4);
    if (c.fully_masked_row) {
      // (b 0, h 0, i 3) sees no key: zeros, not NaN.
      for (int64_t t = 0; t < c.Dv; ++t)
        EXPECT_EQ(got[3 * c.Dv + t], 0.f);
    }
  }
}

TEST_P(AttentionTest, OddThreadCounts) {
  AttnCase c{"threads", 1, 5, 5, 77, 77, 40, 40, true, DITC_RT_MASK_NONE,
             false, false};
  AttnData d = makeData(c, 7);
  std::vector<float> want(c.B * c.H * c.Sq * c.Dv);
  for (int64_t h = 0; h < c.H; ++h)
    for (int64_t i = 0; i < c.Sq; ++i)
      refRow(c, d, 0, h, i, want.data() + (h * c.Sq + i) * c.Dv);
  for (int t : {1, 3, 7}) {
    ditc_rt_set_num_threads(t);
    EXPECT_REL_L2(runKernel(c, d), want, 1e-4);
  }
}

TEST_P(AttentionTest, EmptyKeysGiveZeros) {
  AttnCase c{"no_keys", 1, 2, 1, 5, 0, 8, 8, false, DITC_RT_MASK_NONE, false,
             false};
  AttnData d = makeData(c, 3);
  for (float x : runKernel(c, d))
    EXPECT_EQ(x, 0.f);
}

// Sq = Sk = 4096, D = 64, one head: compares a spread of rows.
TEST_P(AttentionTest, LongSequence) {
  for (bool causal : {false, true}) {
    SCOPED_TRACE(causal ? "causal" : "full");
    AttnCase c{"long", 1, 1, 1, 4096, 4096, 64, 64, causal,
               DITC_RT_MASK_NONE, false, false};
    AttnData d = makeData(c, 4242);
    std::vector<float> out = runKernel(c, d);
    std::vector<float> got, want;
    std::vector<float> row(c.Dv);
    for (int64_t i = 0; i < c.Sq; i += (i < 200 ? 37 : 509)) {
      refRow(c, d, 0, 0, i, row.data());
      want.insert(want.end(), row.begin(), row.end());
      got.insert(got.end(), out.begin() + i * c.Dv,
                 out.begin() + (i + 1) * c.Dv);
    }
    refRow(c, d, 0, 0, c.Sq - 1, row.data());
    want.insert(want.end(), row.begin(), row.end());
    got.insert(got.end(), out.end() - c.Dv, out.end());
    EXPECT_REL_L2(got, want, 1e-4);
  }
}

// The per-thread scratch is a function of the head sizes and (up to one
// tile) the query rows, never of the key length.
TEST_P(AttentionTest, ScratchIndependentOfKeyLength) {
  for (int64_t sq : {1, 64, 4096, 1 << 20}) {
    int64_t small = ditc_rt_attention_scratch_bytes(16, 16, sq, 128, 72, 72);
    int64_t huge = ditc_rt_attention_scratch_bytes(16, 16, sq, 1 << 24, 72, 72);
    EXPECT_EQ(small, huge);
    EXPECT_LT(huge, 1 << 20) << "more than 1 MiB per thread";
  }
  EXPECT_EQ(ditc_rt_attention_scratch_bytes(16, 16, 4096, 4096, 72, 72),
            ditc_rt_attention_scratch_bytes(16, 16, 1 << 20, 4096, 72, 72));
}

// attention_layout_f32 in each of the 16 layouts, on each case, against the
// naive reference: the seq-major tensors are the reference's, transposed.
// On 1 thread seq-major K / V are copied a whole kv head at a time; on 3,
// cases with fewer than 6 (batch, kv head) pairs pack each key block.
TEST_P(AttentionTest, SeqMajorLayoutsMatchReference) {
  uint32_t seed = 500;
  int checked = 0;
  for (int threads : {1, 3})
  for (const AttnCase &c : kCases) {
    ditc_rt_set_num_threads(threads);
    AttnData d = makeData(c, seed += 10);
    std::vector<float> want(c.B * c.H * c.Sq * c.Dv);
    for (int64_t b = 0; b < c.B; ++b)
      for (int64_t h = 0; h < c.H; ++h)
        for (int64_t i = 0; i < c.Sq; ++i)
          refRow(c, d, b, h, i, want.data() + ((b * c.H + h) * c.Sq + i) * c.Dv);
    const void *mask = c.mask_kind == DITC_RT_MASK_BOOL
                           ? (const void *)d.bool_mask.data()
                       : c.mask_kind == DITC_RT_MASK_ADDITIVE
                           ? (const void *)d.add_mask.data()
                           : nullptr;
    for (int32_t layout = 0; layout < 16; ++layout) {
      SCOPED_TRACE(std::string(c.name) + " layout " + std::to_string(layout));
      auto in = [&](const std::vector<float> &x, int32_t bit, int64_t H,
                    int64_t S, int64_t D) {
        return layout & bit ? swapHeads(x, c.B, H, S, D, true) : x;
      };
      std::vector<float> q = in(d.q, DITC_RT_SEQ_MAJOR_Q, c.H, c.Sq, c.D);
      std::vector<float> k = in(d.k, DITC_RT_SEQ_MAJOR_K, c.Hkv, c.Sk, c.D);
      std::vector<float> v = in(d.v, DITC_RT_SEQ_MAJOR_V, c.Hkv, c.Sk, c.Dv);
      std::vector<float> out(want.size(), std::nanf(""));
      ditc_rt_attention_layout_f32(q.data(), k.data(), v.data(), mask, c.mask_kind,
                                   c.mask_kind ? d.ms : nullptr, out.data(), nullptr,
                                   c.B, c.H, c.Hkv, c.Sq, c.Sk, c.D, c.Dv, d.scale,
                                   c.causal, 0, 0, 0, layout);
      if (layout & DITC_RT_SEQ_MAJOR_OUT)
        out = swapHeads(out, c.B, c.H, c.Sq, c.Dv, false);
      EXPECT_REL_L2(out, want, 1e-4);
      ++checked;
    }
  }
  EXPECT_EQ(checked, 2 * 16 * (int)(sizeof kCases / sizeof kCases[0]));
}

// A chunk loop's query rows in the layout kernel: rows q_offset.. of a
// causal problem, seq-major throughout, out over q (one layout, Dv == D).
TEST_P(AttentionTest, SeqMajorQueryRowsInPlace) {
  AttnCase whole{"rows", 2, 4, 2, 48, 48, 16, 16, true, DITC_RT_MASK_NONE,
                 false, false};
  AttnData d = makeData(whole, 77);
  const int64_t first = 20, rows = 12;
  const int32_t all = DITC_RT_SEQ_MAJOR_Q | DITC_RT_SEQ_MAJOR_K |
                      DITC_RT_SEQ_MAJOR_V | DITC_RT_SEQ_MAJOR_OUT;
  std::vector<float> qs = swapHeads(d.q, whole.B, whole.H, whole.Sq, whole.D, true);
  std::vector<float> ks = swapHeads(d.k, whole.B, whole.Hkv, whole.Sk, whole.D, true);
  std::vector<float> vs = swapHeads(d.v, whole.B, whole.Hkv, whole.Sk, whole.Dv, true);
  // The chunk: [B, rows, H, D], rows first.. of the whole.
  std::vector<float> chunk(whole.B * rows * whole.H * whole.D);
  for (int64_t b = 0; b < whole.B; ++b)
    std::copy_n(qs.begin() + (b * whole.Sq + first) * whole.H * whole.D,
                rows * whole.H * whole.D,
                chunk.begin() + b * rows * whole.H * whole.D);
  ditc_rt_attention_layout_f32(chunk.data(), ks.data(), vs.data(), nullptr, 0, nullptr,
                               chunk.data(), nullptr, whole.B, whole.H, whole.Hkv, rows,
                               whole.Sk, whole.D, whole.Dv, d.scale, 1, first, 0, 0, all);
  std::vector<float> got, want, row(whole.Dv);
  for (int64_t b = 0; b < whole.B; ++b)
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t h = 0; h < whole.H; ++h) {
        refRow(whole, d, b, h, first + i, row.data());
        want.insert(want.end(), row.begin(), row.end());
        auto at = chunk.begin() + ((b * rows + i) * whole.H + h) * whole.Dv;
        got.insert(got.end(), at, at + whole.Dv);
      }
  EXPECT_REL_L2(got, want, 1e-4);
}

// attention_layout_f32's lse follows out's rows: [B, Sq, H] when out is
// seq-major (DITC_RT_SEQ_MAJOR_OUT), which is the order attention_merge_f32
// pairs them in. Each case runs twice, out head-major and out seq-major
// (q, k and v in the case's layout): the second run's out and lse must be
// the first's, reordered, bit for bit (the rows are computed alike; only
// where they are stored differs). Over every key the lse must also be the
// double-precision reference's (AttentionReference.h), reordered. Query rows
// from q_offset of a longer problem, keys from kv_offset, kv_valid, a bool
// or additive mask, GQA and MQA; on 1 and 3 threads (whole kv heads packed,
// or each key block).
TEST_P(AttentionTest, SeqMajorOutLseFollowsOutRows) {
  struct LseCase {
    const char *name;
    int64_t B, H, Hkv, Sq, Sk, D, Dv;
    bool causal;
    int mask_kind;
    int64_t q0, nq;    // the query rows run: q0 .. q0 + nq - 1 of Sq
    int64_t j0, nk;    // the keys run: j0 .. j0 + nk - 1 of Sk
    int64_t kv_valid;  // <= 0: every key
    int32_t in_layout; // the DITC_RT_SEQ_MAJOR_* bits of q, k and v
    int64_t masked_row = -1;
  };
  const int32_t qkv = DITC_RT_SEQ_MAJOR_Q | DITC_RT_SEQ_MAJOR_K | DITC_RT_SEQ_MAJOR_V;
  const LseCase cases[] = {
      {"gqa_causal_rows", 2, 8, 2, 70, 70, 16, 16, true, DITC_RT_MASK_NONE, 30,
       40, 0, 70, 0, 0},
      {"bool_gqa_kv_valid", 2, 4, 2, 33, 97, 24, 20, false, DITC_RT_MASK_BOOL,
       0, 33, 0, 97, 80, qkv, 3},
      {"additive_causal_offsets", 1, 6, 3, 40, 150, 32, 48, true,
       DITC_RT_MASK_ADDITIVE, 20, 20, 25, 60, 70,
       DITC_RT_SEQ_MAJOR_K | DITC_RT_SEQ_MAJOR_V},
      {"mqa_decode", 3, 8, 1, 1, 300, 64, 64, false, DITC_RT_MASK_NONE, 0, 1, 0,
       300, 0, DITC_RT_SEQ_MAJOR_Q},
      {"additive_mha_kv_valid", 2, 4, 4, 30, 64, 8, 12, false,
       DITC_RT_MASK_ADDITIVE, 10, 17, 0, 64, 50, qkv, 12},
  };
  uint32_t seed = 800;
  int checked = 0, referenced = 0;
  for (int threads : {1, 3})
    for (const LseCase &c : cases) {
      SCOPED_TRACE(std::string(c.name) + " threads " + std::to_string(threads));
      ditc_rt_set_num_threads(threads);
      GlobalAttention g = attentionOf(c, c.Sk, 1.f / std::sqrt((float)c.D));
      g.kv_valid = c.kv_valid;
      fillGlobalAttention(g, seed += 10, true, true, true, c.masked_row);
      // The rows and keys run, each tensor in the case's layout; the mask
      // at the first row run (its key columns are global).
      auto in = [&](std::vector<float> x, int32_t bit, int64_t H, int64_t S,
                    int64_t D) {
        return c.in_layout & bit ? swapHeads(x, c.B, H, S, D, true) : x;
      };
      const std::vector<float> q =
          in(sliceDim2(g.q, c.B * c.H, c.Sq, c.D, c.q0, c.nq), DITC_RT_SEQ_MAJOR_Q,
             c.H, c.nq, c.D);
      const std::vector<float> k =
          in(sliceDim2(g.k, c.B * c.Hkv, c.Sk, c.D, c.j0, c.nk), DITC_RT_SEQ_MAJOR_K,
             c.Hkv, c.nk, c.D);
      const std::vector<float> v =
          in(sliceDim2(g.v, c.B * c.Hkv, c.Sk, c.Dv, c.j0, c.nk), DITC_RT_SEQ_MAJOR_V,
             c.Hkv, c.nk, c.Dv);
      const void *mask = nullptr;
      if (c.mask_kind == DITC_RT_MASK_BOOL)
        mask = g.bool_mask.data() + c.q0 * g.ms[2];
      else if (c.mask_kind == DITC_RT_MASK_ADDITIVE)
        mask = g.add_mask.data() + c.q0 * g.ms[2];
      const int64_t rows = c.B * c.H * c.nq;
      auto run = [&](int32_t layout, std::vector<float> &out, std::vector<float> &lse) {
        out.assign(rows * c.Dv, std::nanf(""));
        lse.assign(rows, std::nanf(""));
        ditc_rt_attention_layout_f32(q.data(), k.data(), v.data(), mask, c.mask_kind,
                                     g.maskStrides(), out.data(), lse.data(), c.B, c.H,
                                     c.Hkv, c.nq, c.nk, c.D, c.Dv, g.scale, c.causal,
                                     c.q0, c.j0, c.kv_valid, layout);
      };
      std::vector<float> headOut, headLse, seqOut, seqLse;
      run(c.in_layout, headOut, headLse);
      run(c.in_layout | DITC_RT_SEQ_MAJOR_OUT, seqOut, seqLse);
      // [B, H, nq] -> [B, nq, H]: swapHeads with a head size of 1.
      EXPECT_EQ(seqLse, swapHeads(headLse, c.B, c.H, c.nq, 1, true));
      EXPECT_EQ(seqOut, swapHeads(headOut, c.B, c.H, c.nq, c.Dv, true));
      ++checked;
      if (c.j0 != 0 || c.nk != c.Sk)
        continue;
      std::vector<float> want;
      std::vector<double> wantLse;
      referenceRows(g, c.q0, c.nq, want, &wantLse);
      EXPECT_REL_L2(swapHeads(seqOut, c.B, c.H, c.nq, c.Dv, false), want, 1e-4);
      const std::vector<double> wantSeq = swapHeads(wantLse, c.B, c.H, c.nq, 1, true);
      int bad = 0, minusInf = 0;
      for (int64_t r = 0; r < rows && bad < 5; ++r) {
        if (std::isinf(wantSeq[r])) {
          ++minusInf;
          if (!(std::isinf(seqLse[r]) && seqLse[r] < 0)) {
            ADD_FAILURE() << "lse[" << r << "] = " << seqLse[r] << ", want -inf";
            ++bad;
          }
        } else if (!(std::fabs(seqLse[r] - wantSeq[r]) <= 1e-5 * (1 + std::fabs(wantSeq[r])))) {
          ADD_FAILURE() << "lse[" << r << "] = " << seqLse[r] << ", want " << wantSeq[r];
          ++bad;
        }
      }
      // The masked row (b 0, h 0) attends to no key.
      EXPECT_EQ(minusInf > 0, c.masked_row >= c.q0 && c.masked_row < c.q0 + c.nq);
      ++referenced;
    }
  EXPECT_EQ(checked, 2 * 5);
  EXPECT_EQ(referenced, 2 * 4);
}

DITC_INSTANTIATE_ISA(AttentionTest);

TEST(AttentionDeathTest, UnknownLayoutBitsAbortWithOneLine) {
  float x[4] = {1, 2, 3, 4};
  EXPECT_DEATH(ditc_rt_attention_layout_f32(x, x, x, nullptr, 0, nullptr, x, nullptr,
                                            1, 1, 1, 1, 1, 4, 4, 0.5f, 0, 0, 0, 0, 16),
               "attention_layout_f32: unknown layout bits 0x10");
}

// Linux: peak RSS (VmHWM) in KiB, after resetting it; -1 when unsupported.
long peakRssKiB() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmHWM:", 0) == 0)
      return std::stol(line.substr(6));
  return -1;
}
bool resetPeakRss() {
  std::ofstream f("/proc/self/clear_refs");
  f << "5";
  f.flush();
  return f.good();
}

// Sq = Sk = 8192: a score matrix would be 256 MiB; the kernel's peak memory
// must stay within a few MiB of what the inputs already use.
TEST(AttentionMemory, PeakRssDoesNotGrowWithSqTimesSk) {
  const int64_t S = 8192, D = 64;
  std::vector<float> q = randomFloats(S * D, 1), k = randomFloats(S * D, 2),
                     v = randomFloats(S * D, 3), out(S * D, 0.f);
  if (!resetPeakRss() || peakRssKiB() < 0)
    GTEST_SKIP() << "cannot reset the peak RSS (/proc/self/clear_refs)";
  long before = peakRssKiB();
  ditc_rt_attention_f32(q.data(), k.data(), v.data(), nullptr, 0, nullptr,
                        out.data(), 1, 1, 1, S, S, D, D, 0.125f, 1);
  long after = peakRssKiB();
  long grew = after - before;
  std::printf("attention S=%lld: peak RSS grew by %ld KiB (scores: %lld KiB)\n",
              (long long)S, grew, (long long)(S * S * 4 / 1024));
  EXPECT_LT(grew, 16 * 1024);
  EXPECT_FALSE(std::isnan(out[12345]));
}

} // namespace
