//===- RingAttentionTest.cpp - Block attention, merge, one-rank ring ------===//
//
// ditc_rt_attention_block_f32 + ditc_rt_attention_merge_f32 against the
// double-precision reference of AttentionReference.h: the keys split into 2
// to 5 uneven blocks (empty ones included), each attended with its global
// offset, merged in a shuffled order; the same with seq-major tensors
// (attention_layout_f32, whose lse follows out's rows). ditc_rt_ring_attention_f32
// on one rank ("self" communicator, and a null one) against
// ditc_rt_attention_f32 and the reference, and ditc_rt_ring_attention in
// every layout. Several ranks: RingAttentionMpiTest.cpp under mpirun.
//
//===----------------------------------------------------------------------===//
#include "AttentionReference.h"
#include "KernelTestUtil.h"

#include "ditc/runtime/ditc_comm.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <numeric>
#include <random>
#include <string>

using namespace ditc_test;

namespace {

constexpr double kTol = 1e-5;

struct Case {
  const char *name;
  int64_t B, H, Hkv, Sq, Sk, D, Dv;
  bool causal;
  int mask_kind;
  bool mask_batch, mask_heads, mask_rows;
  int64_t kv_valid;        // <= 0: every key
  int64_t masked_row = -1; // a query row that sees no key (mask)
  float scale = 0.f;       // 0: 1/sqrt(D)
};

const Case kCases[] = {
    {"tiny", 1, 1, 1, 1, 1, 1, 1, false, DITC_RT_MASK_NONE, false, false,
     false, 0},
    {"odd", 2, 3, 3, 7, 33, 7, 5, false, DITC_RT_MASK_NONE, false, false,
     false, 0},
    {"gqa", 1, 8, 2, 33, 129, 72, 72, false, DITC_RT_MASK_NONE, false, false,
     false, 0},
    {"gqa_padded", 1, 8, 2, 33, 129, 72, 72, false, DITC_RT_MASK_NONE, false,
     false, false, 100},
    {"causal_square", 1, 2, 2, 129, 129, 64, 64, true, DITC_RT_MASK_NONE,
     false, false, false, 0},
    {"causal_gqa_padded", 2, 6, 3, 40, 150, 32, 48, true, DITC_RT_MASK_NONE,
     false, false, false, 131},
    {"causal_long_q", 2, 4, 1, 150, 7, 16, 33, true, DITC_RT_MASK_NONE, false,
     false, false, 0},
    {"bool_heads_bcast", 2, 4, 2, 33, 97, 24, 24, false, DITC_RT_MASK_BOOL,
     true, false, true, 0, 3},
    {"bool_causal_padded", 1, 3, 1, 70, 70, 8, 12, true, DITC_RT_MASK_BOOL,
     false, true, true, 61, 5},
    {"bool_keys_only", 2, 2, 1, 17, 45, 16, 16, false, DITC_RT_MASK_BOOL, true,
     false, false, 40},
    {"additive_key_bcast", 2, 2, 2, 33, 129, 40, 40, false,
     DITC_RT_MASK_ADDITIVE, false, false, false, 0},
    {"additive_causal", 2, 4, 2, 65, 65, 64, 64, true, DITC_RT_MASK_ADDITIVE,
     true, true, true, 0, 3},
    {"additive_padded_gqa", 1, 6, 2, 23, 77, 20, 9, false,
     DITC_RT_MASK_ADDITIVE, false, true, true, 70},
    {"decode_gqa_bool", 3, 8, 2, 1, 300, 64, 64, false, DITC_RT_MASK_BOOL, true,
     false, true, 0},
    {"wide_head", 1, 2, 1, 9, 40, 129, 1, false, DITC_RT_MASK_NONE, false,
     false, false, 0},
    {"scaled", 1, 2, 2, 20, 20, 16, 16, true, DITC_RT_MASK_NONE, false, false,
     false, 0, -1, 0.9f},
};

constexpr int kCaseCount = sizeof(kCases) / sizeof(kCases[0]);

constexpr int32_t kAllSeqMajor = DITC_RT_SEQ_MAJOR_Q | DITC_RT_SEQ_MAJOR_K |
                                 DITC_RT_SEQ_MAJOR_V | DITC_RT_SEQ_MAJOR_OUT;

// x [B, H, S, D] as `layout` has it: [B, S, H, D] when it has `bit`.
std::vector<float> inLayout(const std::vector<float> &x, int32_t layout,
                            int32_t bit, int64_t B, int64_t H, int64_t S,
                            int64_t D) {
  return layout & bit ? swapHeads(x, B, H, S, D, true) : x;
}

GlobalAttention makeProblem(const Case &c, uint32_t seed) {
  GlobalAttention g =
      attentionOf(c, c.Sk, c.scale != 0.f ? c.scale : 1.f / std::sqrt((float)c.D));
  g.kv_valid = c.kv_valid;
  fillGlobalAttention(g, seed, c.mask_batch, c.mask_heads, c.mask_rows,
                      c.masked_row);
  return g;
}

// The mask for local query rows starting at global row q0.
const void *maskAtRow(const GlobalAttention &g, int64_t q0) {
  int64_t off = q0 * g.ms[2];
  if (g.mask_kind == DITC_RT_MASK_BOOL)
    return g.bool_mask.data() + off;
  if (g.mask_kind == DITC_RT_MASK_ADDITIVE)
    return g.add_mask.data() + off;
  return nullptr;
}

// Compares lse with the reference: the same -inf rows, finite values within
// kTol (relative to 1 + |ref|).
void expectLse(const std::vector<float> &got, const std::vector<double> &want) {
  ASSERT_EQ(got.size(), want.size());
  int bad = 0;
  for (size_t i = 0; i < got.size() && bad < 5; ++i) {
    if (std::isinf(want[i])) {
      if (!(std::isinf(got[i]) && got[i] < 0)) {
        ADD_FAILURE() << "lse[" << i << "] = " << got[i] << ", want -inf";
        ++bad;
      }
    } else if (!(std::fabs(got[i] - want[i]) <= kTol * (1 + std::fabs(want[i])))) {
      ADD_FAILURE() << "lse[" << i << "] = " << got[i] << ", want " << want[i];
      ++bad;
    }
  }
}

class RingAttentionTest : public IsaTest {};

// Query rows [q0, q0 + nq) against the keys cut into `blocks` uneven
// pieces: attention_block_f32 per piece, merged in a random order.
TEST_P(RingAttentionTest, BlocksMergeToTheReference) {
  uint32_t seed = 500;
  int blocks = 2;
  for (const Case &c : kCases) {
    GlobalAttention g = makeProblem(c, seed += 10);
    for (int si = 0; si < 2; ++si) {
      const int64_t q0 = si == 0 ? 0 : c.Sq / 3; // query block's first row
      if (si == 1 && q0 == 0)
        continue;
      const int64_t nq = c.Sq - q0;
      blocks = blocks == 5 ? 2 : blocks + 1;
      SCOPED_TRACE(std::string(c.name) + " q0=" + std::to_string(q0) +
                   " blocks=" + std::to_string(blocks));
      // Uneven cuts; a block may be empty.
      std::mt19937 rng(seed + (uint32_t)q0);
      std::vector<int64_t> cut = {0, c.Sk};
      for (int i = 1; i < blocks; ++i)
        cut.push_back((int64_t)(rng() % (uint64_t)(c.Sk + 1)));
      std::sort(cut.begin(), cut.end());
      std::vector<int> order(blocks);
      std::iota(order.begin(), order.end(), 0);
      std::shuffle(order.begin(), order.end(), rng);

      const std::vector<float> q =
          sliceDim2(g.q, c.B * c.H, c.Sq, c.D, q0, nq);
      const int64_t rows = c.B * c.H * nq;
      std::vector<float> out(rows * c.Dv), lse(rows);
      std::vector<float> part(rows * c.Dv), partLse(rows);
      bool first = true;
      for (int bi : order) {
        const int64_t j0 = cut[bi], nk = cut[bi + 1] - cut[bi];
        std::vector<float> k = sliceDim2(g.k, c.B * c.Hkv, c.Sk, c.D, j0, nk);
        std::vector<float> v =
            sliceDim2(g.v, c.B * c.Hkv, c.Sk, c.Dv, j0, nk);
        float *o = first ? out.data() : part.data();
        float *l = first ? lse.data() : partLse.data();
        std::fill(o, o + rows * c.Dv, std::nanf(""));
        std::fill(l, l + rows, std::nanf(""));
        ditc_rt_attention_block_f32(
            q.data(), k.data(), v.data(), maskAtRow(g, q0), c.mask_kind,
            g.maskStrides(), o, l, c.B, c.H, c.Hkv, nq, nk, c.D, c.Dv,
            g.scale, c.causal, q0, j0, c.kv_valid);
        if (!first)
          ditc_rt_attention_merge_f32(out.data(), lse.data(), part.data(),
                                      partLse.data(), rows, c.Dv);
        first = false;
      }
      std::vector<float> want;
      std::vector<double> wantLse;
      referenceRows(g, q0, nq, want, &wantLse);
      EXPECT_REL_L2(out, want, kTol);
      expectLse(lse, wantLse);
      if (c.masked_row >= q0 && c.masked_row < c.Sq) // b 0, h 0: zeros
        for (int64_t t = 0; t < c.Dv; ++t)
          EXPECT_EQ(out[(c.masked_row - q0) * c.Dv + t], 0.f);
    }
  }
}

// One block with offsets 0 and no kv_valid is attention_f32, bit for bit,
// with or without the lse.
TEST_P(RingAttentionTest, WholeBlockIsAttention) {
  uint32_t seed = 900;
  for (const Case &c : kCases) {
    if (c.kv_valid > 0)
      continue;
    SCOPED_TRACE(c.name);
    GlobalAttention g = makeProblem(c, seed += 10);
    const size_t n = c.B * c.H * c.Sq * c.Dv;
    std::vector<float> want(n), got(n), got2(n), lse(c.B * c.H * c.Sq);
    ditc_rt_attention_f32(g.q.data(), g.k.data(), g.v.data(), g.mask(),
                          c.mask_kind, g.maskStrides(), want.data(), c.B, c.H,
                          c.Hkv, c.Sq, c.Sk, c.D, c.Dv, g.scale, c.causal);
    ditc_rt_attention_block_f32(g.q.data(), g.k.data(), g.v.data(), g.mask(),
                                c.mask_kind, g.maskStrides(), got.data(),
                                lse.data(), c.B, c.H, c.Hkv, c.Sq, c.Sk, c.D,
                                c.Dv, g.scale, c.causal, 0, 0, 0);
    ditc_rt_attention_block_f32(g.q.data(), g.k.data(), g.v.data(), g.mask(),
                                c.mask_kind, g.maskStrides(), got2.data(),
                                nullptr, c.B, c.H, c.Hkv, c.Sq, c.Sk, c.D,
                                c.Dv, g.scale, c.causal, 0, 0, 0);
    EXPECT_EQ(0, std::memcmp(got.data(), want.data(), n * sizeof(float)));
    EXPECT_EQ(0, std::memcmp(got2.data(), want.data(), n * sizeof(float)));
  }
}

// Blocks that causality or kv_valid mask entirely, and empty ones: zeros
// and -inf.
TEST_P(RingAttentionTest, MaskedBlocksGiveZerosAndMinusInf) {
  Case c{"masked", 2, 4, 2, 9, 13, 8, 6, true, DITC_RT_MASK_NONE, false,
         false, false, 0};
  GlobalAttention g = makeProblem(c, 77);
  const int64_t rows = c.B * c.H * c.Sq;
  struct {
    int64_t q0, kv0, kv_valid, kv_len;
    bool causal;
  } blocks[] = {{0, 9, 0, 13, true},   // every key after every query
                {20, 30, 25, 13, false}, // past kv_valid
                {0, 0, 0, 0, false}};  // no keys
  for (auto &b : blocks) {
    std::vector<float> out(rows * c.Dv, 7.f), lse(rows, 7.f);
    ditc_rt_attention_block_f32(g.q.data(), g.k.data(), g.v.data(), nullptr,
                                DITC_RT_MASK_NONE, nullptr, out.data(),
                                lse.data(), c.B, c.H, c.Hkv, c.Sq, b.kv_len,
                                c.D, c.Dv, g.scale, b.causal, b.q0, b.kv0,
                                b.kv_valid);
    for (float x : out)
      ASSERT_EQ(x, 0.f);
    for (float x : lse)
      ASSERT_TRUE(std::isinf(x) && x < 0);
  }
}

// The merge against its formula in double, -inf rows on either side.
TEST_P(RingAttentionTest, MergeMatchesFormula) {
  for (int64_t dv : {1, 3, 16, 67}) {
    SCOPED_TRACE("dv=" + std::to_string(dv));
    const int64_t rows = 41;
    std::vector<float> a = randomFloats(rows * dv, 1, -1.f, 1.f),
                       b = randomFloats(rows * dv, 2, -1.f, 1.f),
                       la = randomFloats(rows, 3, -30.f, 30.f),
                       lb = randomFloats(rows, 4, -30.f, 30.f);
    const float inf = std::numeric_limits<float>::infinity();
    la[3] = -inf;
    lb[4] = -inf;
    la[5] = lb[5] = -inf;
    for (int64_t t = 0; t < dv; ++t) { // out rows without keys are zeros
      a[3 * dv + t] = 0.f;
      b[4 * dv + t] = 0.f;
      a[5 * dv + t] = b[5 * dv + t] = 0.f;
    }
    std::vector<float> want(rows * dv);
    std::vector<double> wantLse(rows);
    for (int64_t r = 0; r < rows; ++r) {
      double m = std::max<double>(la[r], lb[r]);
      if (std::isinf(m)) {
        wantLse[r] = -inf;
        continue;
      }
      double wa = std::exp(la[r] - m), wb = std::exp(lb[r] - m);
      for (int64_t t = 0; t < dv; ++t)
        want[r * dv + t] =
            (float)((a[r * dv + t] * wa + b[r * dv + t] * wb) / (wa + wb));
      wantLse[r] = m + std::log(wa + wb);
    }
    ditc_rt_attention_merge_f32(a.data(), la.data(), b.data(), lb.data(), rows,
                                dv);
    EXPECT_REL_L2(a, want, 1e-6);
    expectLse(la, wantLse);
  }
}

// ring_attention_f32 on one rank: attention_f32 (bit for bit without
// kv_valid) and the reference, through a "self" communicator and a null one.
TEST_P(RingAttentionTest, OneRankIsAttention) {
  ditc_rt_comm *self = nullptr;
  ASSERT_EQ(ditc_rt_comm_create("self", &self), DITC_RT_COMM_OK);
  uint32_t seed = 1300;
  for (const Case &c : kCases) {
    SCOPED_TRACE(c.name);
    GlobalAttention g = makeProblem(c, seed += 10);
    const size_t n = c.B * c.H * c.Sq * c.Dv;
    std::vector<float> want;
    referenceRows(g, 0, c.Sq, want);
    std::vector<float> flash(n);
    ditc_rt_attention_f32(g.q.data(), g.k.data(), g.v.data(), g.mask(),
                          c.mask_kind, g.maskStrides(), flash.data(), c.B, c.H,
                          c.Hkv, c.Sq, c.Sk, c.D, c.Dv, g.scale, c.causal);
    for (ditc_rt_comm *comm : {self, (ditc_rt_comm *)nullptr}) {
      std::vector<float> got(n, std::nanf(""));
      ASSERT_EQ(ditc_rt_ring_attention_f32(
                    comm, g.q.data(), g.k.data(), g.v.data(), g.mask(),
                    c.mask_kind, g.maskStrides(), got.data(), c.B, c.H, c.Hkv,
                    c.Sq, c.Sk, c.D, c.Dv, g.scale, c.causal, c.kv_valid),
                0)
          << ditc_rt_comm_last_error();
      EXPECT_REL_L2(got, want, kTol);
      if (c.kv_valid <= 0)
        EXPECT_EQ(0, std::memcmp(got.data(), flash.data(), n * sizeof(float)));
    }
  }
  uint64_t bytes = 1;
  ditc_rt_comm_stats(self, DITC_RT_COMM_SEND, &bytes, nullptr);
  EXPECT_EQ(bytes, 0u) << "one rank sends nothing";
  ditc_rt_comm_destroy(self);
}

// out may be q (Dv == D), in any layouts: where q and out have one layout
// the kernel writes each row over the query row it came from; where they
// differ, rows would land on queries other rows still read, so the ring
// must compute into scratch first.
TEST_P(RingAttentionTest, OutMayBeQ) {
  Case c{"in_place", 2, 4, 2, 31, 31, 16, 16, true, DITC_RT_MASK_NONE, false,
         false, false, 27};
  GlobalAttention g = makeProblem(c, 41);
  std::vector<float> want;
  referenceRows(g, 0, c.Sq, want);
  std::vector<float> qo = g.q;
  ASSERT_EQ(ditc_rt_ring_attention_f32(nullptr, qo.data(), g.k.data(),
                                       g.v.data(), nullptr, DITC_RT_MASK_NONE,
                                       nullptr, qo.data(), c.B, c.H, c.Hkv,
                                       c.Sq, c.Sk, c.D, c.Dv, g.scale,
                                       c.causal, c.kv_valid),
            0);
  EXPECT_REL_L2(qo, want, kTol);
  for (int32_t layout : {kAllSeqMajor, (int32_t)DITC_RT_SEQ_MAJOR_Q,
                         (int32_t)DITC_RT_SEQ_MAJOR_OUT,
                         DITC_RT_SEQ_MAJOR_Q | DITC_RT_SEQ_MAJOR_K}) {
    SCOPED_TRACE("layout " + std::to_string(layout));
    qo = inLayout(g.q, layout, DITC_RT_SEQ_MAJOR_Q, c.B, c.H, c.Sq, c.D);
    const std::vector<float> k = inLayout(g.k, layout, DITC_RT_SEQ_MAJOR_K, c.B, c.Hkv, c.Sk, c.D),
                             v = inLayout(g.v, layout, DITC_RT_SEQ_MAJOR_V, c.B, c.Hkv, c.Sk, c.Dv);
    ASSERT_EQ(ditc_rt_ring_attention(nullptr, DITC_RT_F32, qo.data(), k.data(), v.data(),
                                     nullptr, DITC_RT_MASK_NONE, nullptr, qo.data(), c.B,
                                     c.H, c.Hkv, c.Sq, c.Sk, c.D, c.Dv, g.scale, c.causal,
                                     c.kv_valid, layout),
              0)
        << ditc_rt_comm_last_error();
    if (layout & DITC_RT_SEQ_MAJOR_OUT)
      qo = swapHeads(qo, c.B, c.H, c.Sq, c.Dv, false);
    EXPECT_REL_L2(qo, want, kTol);
  }
}

// BlocksMergeToTheReference with seq-major tensors: attention_layout_f32 on
// each of 3 uneven key blocks (one may be empty), merged in a random order
// by attention_merge_f32 over the B*H*nq rows as they lie. With out
// seq-major those rows are [B, nq, H], and so is the lse the kernel writes:
// the merge pairs them unchanged, and the result is the reference's,
// reordered.
TEST_P(RingAttentionTest, SeqMajorBlocksMergeToTheReference) {
  uint32_t seed = 700;
  int checked = 0;
  for (const Case &c : kCases) {
    GlobalAttention g = makeProblem(c, seed += 10);
    const int64_t q0 = c.Sq / 3, nq = c.Sq - q0;
    std::vector<float> want;
    std::vector<double> wantLse;
    referenceRows(g, q0, nq, want, &wantLse);
    const std::vector<float> qh = sliceDim2(g.q, c.B * c.H, c.Sq, c.D, q0, nq);
    const int64_t rows = c.B * c.H * nq;
    for (int32_t layout : {kAllSeqMajor, DITC_RT_SEQ_MAJOR_Q | DITC_RT_SEQ_MAJOR_OUT,
                           (int32_t)DITC_RT_SEQ_MAJOR_OUT,
                           DITC_RT_SEQ_MAJOR_K | DITC_RT_SEQ_MAJOR_V}) {
      SCOPED_TRACE(std::string(c.name) + " layout " + std::to_string(layout));
      std::mt19937 rng(seed + (uint32_t)layout);
      std::vector<int64_t> cut = {0, c.Sk, (int64_t)(rng() % (uint64_t)(c.Sk + 1)),
                                  (int64_t)(rng() % (uint64_t)(c.Sk + 1))};
      std::sort(cut.begin(), cut.end());
      std::vector<int> order = {0, 1, 2};
      std::shuffle(order.begin(), order.end(), rng);
      const std::vector<float> q = inLayout(qh, layout, DITC_RT_SEQ_MAJOR_Q, c.B, c.H, nq, c.D);
      std::vector<float> out(rows * c.Dv), lse(rows), part(rows * c.Dv), partLse(rows);
      bool first = true;
      for (int bi : order) {
        const int64_t j0 = cut[bi], nk = cut[bi + 1] - cut[bi];
        const std::vector<float> k =
            inLayout(sliceDim2(g.k, c.B * c.Hkv, c.Sk, c.D, j0, nk), layout,
                     DITC_RT_SEQ_MAJOR_K, c.B, c.Hkv, nk, c.D);
        const std::vector<float> v =
            inLayout(sliceDim2(g.v, c.B * c.Hkv, c.Sk, c.Dv, j0, nk), layout,
                     DITC_RT_SEQ_MAJOR_V, c.B, c.Hkv, nk, c.Dv);
        float *o = first ? out.data() : part.data();
        float *l = first ? lse.data() : partLse.data();
        std::fill(o, o + rows * c.Dv, std::nanf(""));
        std::fill(l, l + rows, std::nanf(""));
        ditc_rt_attention_layout_f32(q.data(), k.data(), v.data(), maskAtRow(g, q0),
                                     c.mask_kind, g.maskStrides(), o, l, c.B, c.H, c.Hkv,
                                     nq, nk, c.D, c.Dv, g.scale, c.causal, q0, j0,
                                     c.kv_valid, layout);
        if (!first)
          ditc_rt_attention_merge_f32(out.data(), lse.data(), part.data(), partLse.data(),
                                      rows, c.Dv);
        first = false;
      }
      if (layout & DITC_RT_SEQ_MAJOR_OUT) {
        out = swapHeads(out, c.B, c.H, nq, c.Dv, false);
        lse = swapHeads(lse, c.B, c.H, nq, 1, false);
      }
      EXPECT_REL_L2(out, want, kTol);
      expectLse(lse, wantLse);
      ++checked;
    }
  }
  EXPECT_EQ(checked, 4 * kCaseCount);
}

// ditc_rt_ring_attention (F32) on one rank in each of the 16 layouts,
// through a "self" communicator and a null one in turn, against the
// reference: the seq-major tensors are the reference's, transposed.
TEST_P(RingAttentionTest, OneRankSeqMajorLayouts) {
  ditc_rt_comm *self = nullptr;
  ASSERT_EQ(ditc_rt_comm_create("self", &self), DITC_RT_COMM_OK);
  uint32_t seed = 1700;
  int checked = 0;
  for (const Case &c : kCases) {
    GlobalAttention g = makeProblem(c, seed += 10);
    std::vector<float> want;
    referenceRows(g, 0, c.Sq, want);
    for (int32_t layout = 0; layout < 16; ++layout) {
      SCOPED_TRACE(std::string(c.name) + " layout " + std::to_string(layout));
      const std::vector<float>
          q = inLayout(g.q, layout, DITC_RT_SEQ_MAJOR_Q, c.B, c.H, c.Sq, c.D),
          k = inLayout(g.k, layout, DITC_RT_SEQ_MAJOR_K, c.B, c.Hkv, c.Sk, c.D),
          v = inLayout(g.v, layout, DITC_RT_SEQ_MAJOR_V, c.B, c.Hkv, c.Sk, c.Dv);
      std::vector<float> out(want.size(), std::nanf(""));
      ASSERT_EQ(ditc_rt_ring_attention(layout % 2 ? self : nullptr, DITC_RT_F32, q.data(),
                                       k.data(), v.data(), g.mask(), c.mask_kind,
                                       g.maskStrides(), out.data(), c.B, c.H, c.Hkv, c.Sq,
                                       c.Sk, c.D, c.Dv, g.scale, c.causal, c.kv_valid, layout),
                0)
          << ditc_rt_comm_last_error();
      if (layout & DITC_RT_SEQ_MAJOR_OUT)
        out = swapHeads(out, c.B, c.H, c.Sq, c.Dv, false);
      EXPECT_REL_L2(out, want, kTol);
      if (c.masked_row >= 0) // b 0, h 0: zeros
        for (int64_t t = 0; t < c.Dv; ++t)
          EXPECT_EQ(out[c.masked_row * c.Dv + t], 0.f);
      ++checked;
    }
  }
  EXPECT_EQ(checked, 16 * kCaseCount);
  ditc_rt_comm_destroy(self);
}

DITC_INSTANTIATE_ISA(RingAttentionTest);

// Bad arguments are refused with ARGUMENT and a reason, nothing aborts.
TEST(RingAttentionArguments, Refused) {
  std::vector<float> x(64, 1.f), out(64);
  int64_t ms[4] = {0, 0, 0, 1};
  struct {
    const char *what;
    int64_t heads, kv_heads, q_len;
    int32_t mask_kind;
    const void *mask;
  } bad[] = {{"negative", 2, 1, -1, DITC_RT_MASK_NONE, nullptr},
             {"heads", 3, 2, 2, DITC_RT_MASK_NONE, nullptr},
             {"kv_heads", 2, 0, 2, DITC_RT_MASK_NONE, nullptr},
             {"mask kind", 2, 1, 2, 7, x.data()},
             {"no mask", 2, 1, 2, DITC_RT_MASK_BOOL, nullptr}};
  for (auto &b : bad) {
    SCOPED_TRACE(b.what);
    EXPECT_EQ(ditc_rt_ring_attention_f32(nullptr, x.data(), x.data(), x.data(),
                                         b.mask, b.mask_kind, ms, out.data(),
                                         1, b.heads, b.kv_heads, b.q_len, 2, 4,
                                         4, 0.5f, 0, 0),
              DITC_RT_COMM_ERROR_ARGUMENT);
    EXPECT_EQ(std::string(ditc_rt_comm_last_error()).rfind("ring_attention: ", 0),
              0u);
  }
  // A dtype it cannot compute in: a status (the generated code returns it),
  // not an abort.
  EXPECT_EQ(ditc_rt_ring_attention(nullptr, DITC_RT_I32, x.data(), x.data(),
                                   x.data(), nullptr, DITC_RT_MASK_NONE, nullptr,
                                   out.data(), 1, 2, 1, 2, 2, 4, 4, 0.5f, 0, 0, 0),
            DITC_RT_COMM_ERROR_ARGUMENT);
  EXPECT_EQ(std::string(ditc_rt_comm_last_error()),
            "ring_attention: the dtype is not F32, BF16 or F16");
  // Layout bits other than DITC_RT_SEQ_MAJOR_*: named, as the attention
  // kernels name them (which abort instead).
  EXPECT_EQ(ditc_rt_ring_attention(nullptr, DITC_RT_F32, x.data(), x.data(),
                                   x.data(), nullptr, DITC_RT_MASK_NONE, nullptr,
                                   out.data(), 1, 2, 1, 2, 2, 4, 4, 0.5f, 0, 0, 16),
            DITC_RT_COMM_ERROR_ARGUMENT);
  EXPECT_EQ(std::string(ditc_rt_comm_last_error()),
            "ring_attention: unknown layout bits 0x10");
  EXPECT_EQ(ditc_rt_double_ring_attention(
                nullptr, nullptr, DITC_RT_BF16, x.data(), x.data(), x.data(),
                nullptr, DITC_RT_MASK_NONE, nullptr, out.data(), 1, 2, 1, 2, 2,
                4, 4, 0.5f, 0, 0, DITC_RT_SEQ_MAJOR_Q | 0x40),
            DITC_RT_COMM_ERROR_ARGUMENT);
  EXPECT_EQ(std::string(ditc_rt_comm_last_error()),
            "ring_attention: unknown layout bits 0x41");
}

} // namespace
