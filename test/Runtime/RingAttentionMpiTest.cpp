//===- RingAttentionMpiTest.cpp - ring_attention_f32 under mpirun ---------===//
//
// Runs under mpirun (ring-attention-mpi.test: -np 1, 2, 3, 4 and a
// singleton). Every rank builds the same global Q / K / V (and mask) from a
// shared seed, the token counts padded up to a multiple of P (padding keys
// cut off by kv_valid, padding queries computed like any other row), takes
// its block, runs ditc_rt_ring_attention_f32 over the world communicator
// (and over halves of it) and compares its rows with the double-precision
// reference of AttentionReference.h: relative L2 < 1e-5. Also: the bytes
// the ring sends, repeated calls, the double ring over every factorisation
// of the world, both rings with seq-major tensors (ditc_rt_ring_attention's
// `layout`), and a rank that never joins (TIMEOUT).
// Rank 0 prints GoogleTest's report; the others print only their failures.
//
//===----------------------------------------------------------------------===//
#include "AttentionReference.h"

#include "ditc/runtime/ditc_comm.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

using namespace ditc_test;

namespace {

ditc_rt_comm *gWorld = nullptr;
int32_t gRank = 0, gSize = 1;
// Long enough for a loaded machine; a broken test fails, it never hangs.
constexpr int64_t kTimeoutMs = 60000;
constexpr double kTol = 1e-5;
float gMaxErr = 0.f; // largest relative L2 error on this rank

double relL2(const std::vector<float> &got, const std::vector<float> &want) {
  double num = 0, den = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    double d = (double)got[i] - want[i];
    num += d * d;
    den += (double)want[i] * want[i];
  }
  double err = den == 0 ? std::sqrt(num) : std::sqrt(num / den);
  gMaxErr = std::max(gMaxErr, (float)err);
  return err;
}

struct Case {
  const char *name;
  int64_t B, H, Hkv;
  int64_t Nq, Nk; // tokens (before padding to a multiple of P)
  int64_t D, Dv;
  bool causal;
  int mask_kind;
  bool mask_batch, mask_heads, mask_rows;
  int64_t masked_row = -1;
};

const Case kCases[] = {
    {"full", 2, 4, 4, 37, 37, 16, 16, false, DITC_RT_MASK_NONE, false, false,
     false},
    {"causal_gqa", 1, 6, 2, 45, 45, 24, 24, true, DITC_RT_MASK_NONE, false,
     false, false},
    {"bool_gqa_causal", 2, 4, 2, 37, 37, 8, 12, true, DITC_RT_MASK_BOOL, true,
     false, true, 6},
    {"bool_key_padding", 2, 2, 1, 50, 50, 16, 16, false, DITC_RT_MASK_BOOL,
     true, false, false},
    {"additive_gqa", 1, 4, 2, 29, 29, 32, 20, false, DITC_RT_MASK_ADDITIVE,
     true, true, true, 2},
    {"cross_causal_gqa", 2, 4, 2, 19, 53, 16, 8, true, DITC_RT_MASK_NONE,
     false, false, false},
    {"one_query", 1, 8, 2, 1, 70, 32, 32, false, DITC_RT_MASK_BOOL, false,
     true, true},
    {"long_causal", 1, 2, 2, 403, 403, 64, 64, true, DITC_RT_MASK_NONE, false,
     false, false},
    // A block whose first key is some rank's last query (P = 2, 3, 4).
    {"causal_edge", 1, 2, 1, 5, 9, 8, 8, true, DITC_RT_MASK_NONE, false, false,
     false},
    {"causal_one_token_each", 2, 3, 1, 4, 4, 8, 8, true, DITC_RT_MASK_BOOL,
     false, true, true},
};

// One rank's view of a case over a communicator of p ranks.
struct RankRun {
  GlobalAttention g; // padded global problem
  int64_t qLen, kvLen, kvValid;
  std::vector<float> q, k, v, want;
};

/// kvValid > 0 cuts the keys there (before c.Nk), else at c.Nk.
RankRun makeRun(const Case &c, int32_t p, int32_t r, uint32_t seed,
                int64_t kvValid = 0) {
  RankRun run;
  run.qLen = (c.Nq + p - 1) / p;
  run.kvLen = (c.Nk + p - 1) / p;
  // < p * kvLen when the keys were padded.
  run.kvValid = kvValid > 0 ? kvValid : c.Nk;
  GlobalAttention &g = run.g;
  g.B = c.B;
  g.H = c.H;
  g.Hkv = c.Hkv;
  g.Sq = p * run.qLen;
  g.Sk = p * run.kvLen;
  g.D = c.D;
  g.Dv = c.Dv;
  g.causal = c.causal;
  g.mask_kind = c.mask_kind;
  g.kv_valid = run.kvValid;
  g.scale = 1.f / std::sqrt((float)c.D);
  fillGlobalAttention(g, seed, c.mask_batch, c.mask_heads, c.mask_rows,
                      c.masked_row);
  run.q = sliceDim2(g.q, c.B * c.H, g.Sq, c.D, r * run.qLen, run.qLen);
  run.k = sliceDim2(g.k, c.B * c.Hkv, g.Sk, c.D, r * run.kvLen, run.kvLen);
  run.v = sliceDim2(g.v, c.B * c.Hkv, g.Sk, c.Dv, r * run.kvLen, run.kvLen);
  referenceRows(g, r * run.qLen, run.qLen, run.want);
  return run;
}

/// Rank r's rows of the global mask (null without one).
const void *maskRows(const RankRun &run, int32_t r) {
  const GlobalAttention &g = run.g;
  const int64_t maskOff = r * run.qLen * g.ms[2]; // local row 0
  return g.mask_kind == DITC_RT_MASK_BOOL
             ? (const void *)(g.bool_mask.data() + maskOff)
         : g.mask_kind == DITC_RT_MASK_ADDITIVE
             ? (const void *)(g.add_mask.data() + maskOff)
             : nullptr;
}

int32_t ring(ditc_rt_comm *comm, const RankRun &run, int32_t r,
             std::vector<float> &out) {
  const GlobalAttention &g = run.g;
  out.assign(g.B * g.H * run.qLen * g.Dv, std::nanf(""));
  const void *mask = maskRows(run, r);
  return ditc_rt_ring_attention_f32(
      comm, run.q.data(), run.k.data(), run.v.data(), mask, g.mask_kind,
      g.maskStrides(), out.data(), g.B, g.H, g.Hkv, run.qLen, run.kvLen, g.D,
      g.Dv, g.scale, g.causal, run.kvValid);
}

TEST(RingAttentionMpi, MatchesReference) {
  uint32_t seed = 7000;
  for (const Case &c : kCases) {
    SCOPED_TRACE(std::string(c.name) + " P=" + std::to_string(gSize));
    RankRun run = makeRun(c, gSize, gRank, seed += 10);
    std::vector<float> out;
    ASSERT_EQ(ring(gWorld, run, gRank, out), 0) << ditc_rt_comm_last_error();
    double err = relL2(out, run.want);
    EXPECT_LT(err, kTol) << "relative L2 error, rank " << gRank;
    if (c.masked_row >= gRank * run.qLen &&
        c.masked_row < (gRank + 1) * run.qLen) // b 0, h 0: zeros
      for (int64_t t = 0; t < c.Dv; ++t)
        EXPECT_EQ(out[(c.masked_row - gRank * run.qLen) * c.Dv + t], 0.f);
  }
}

// Each rank sends its P - 1 blocks (K and V of one block in one message);
// the same call twice gives the same bits (the blocks of one call never mix
// with the next's).
TEST(RingAttentionMpi, BytesAndRepeats) {
  const Case &c = kCases[2];
  RankRun run = makeRun(c, gSize, gRank, 77);
  ASSERT_EQ(ditc_rt_comm_reset_stats(gWorld), DITC_RT_COMM_OK);
  std::vector<float> a, b;
  ASSERT_EQ(ring(gWorld, run, gRank, a), 0) << ditc_rt_comm_last_error();
  uint64_t bytes = 0, calls = 0;
  ASSERT_EQ(ditc_rt_comm_stats(gWorld, DITC_RT_COMM_SEND, &bytes, &calls),
            DITC_RT_COMM_OK);
  const uint64_t block =
      (uint64_t)(c.B * c.Hkv * run.kvLen * (c.D + c.Dv)) * sizeof(float);
  EXPECT_EQ(bytes, (uint64_t)(gSize - 1) * block);
  EXPECT_EQ(calls, (uint64_t)(gSize - 1));
  ASSERT_EQ(ring(gWorld, run, gRank, b), 0) << ditc_rt_comm_last_error();
  ASSERT_EQ(ring(gWorld, run, gRank, b), 0) << ditc_rt_comm_last_error();
  EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * sizeof(float)));
  EXPECT_LT(relL2(a, run.want), kTol);
}

// Ranks are the communicator's: two rings side by side (even and odd world
// ranks, reversed order), each with a problem of its own.
TEST(RingAttentionMpi, SubCommunicators) {
  ditc_rt_comm *half = nullptr;
  ASSERT_EQ(ditc_rt_comm_split(gWorld, gRank % 2, -gRank, &half),
            DITC_RT_COMM_OK)
      << ditc_rt_comm_last_error();
  int32_t r = 0, p = 0;
  ditc_rt_comm_rank(half, &r);
  ditc_rt_comm_size(half, &p);
  for (const Case &c : {kCases[1], kCases[2], kCases[5]}) {
    SCOPED_TRACE(std::string(c.name) + " color " + std::to_string(gRank % 2));
    RankRun run = makeRun(c, p, r, 9000 + 100 * (uint32_t)(gRank % 2));
    std::vector<float> out;
    ASSERT_EQ(ring(half, run, r, out), 0) << ditc_rt_comm_last_error();
    EXPECT_LT(relL2(out, run.want), kTol);
  }
  ditc_rt_comm_destroy(half);
}

int32_t doubleRing(ditc_rt_comm *inner, ditc_rt_comm *outer,
                   const RankRun &run, int32_t r, std::vector<float> &out) {
  const GlobalAttention &g = run.g;
  out.assign(g.B * g.H * run.qLen * g.Dv, std::nanf(""));
  const void *mask = maskRows(run, r);
  return ditc_rt_double_ring_attention_f32(
      inner, outer, run.q.data(), run.k.data(), run.v.data(), mask,
      g.mask_kind, g.maskStrides(), out.data(), g.B, g.H, g.Hkv, run.qLen,
      run.kvLen, g.D, g.Dv, g.scale, g.causal, run.kvValid);
}

// The double ring over every factorisation P = O x I of the world (groups
// of I neighbouring ranks, world rank g * I + i): every case against the
// reference, and the blocks each rank sends to its inner and its outer
// neighbour (O (I - 1) and O - 1).
TEST(RingAttentionMpi, DoubleRing) {
  for (int32_t I = 1; I <= gSize; ++I) {
    if (gSize % I)
      continue;
    const int32_t O = gSize / I;
    ditc_rt_comm *inner = nullptr, *outer = nullptr;
    ASSERT_EQ(ditc_rt_comm_split(gWorld, gRank / I, gRank % I, &inner),
              DITC_RT_COMM_OK);
    ASSERT_EQ(ditc_rt_comm_split(gWorld, gRank % I, gRank / I, &outer),
              DITC_RT_COMM_OK);
    uint32_t seed = 11000 + 100 * (uint32_t)I;
    for (const Case &c : kCases) {
      SCOPED_TRACE(std::string(c.name) + " O=" + std::to_string(O) +
                   " I=" + std::to_string(I));
      RankRun run = makeRun(c, gSize, gRank, seed += 10);
      std::vector<float> out;
      ASSERT_EQ(doubleRing(inner, outer, run, gRank, out), 0)
          << ditc_rt_comm_last_error();
      EXPECT_LT(relL2(out, run.want), kTol) << "rank " << gRank;
    }
    const Case &c = kCases[2];
    RankRun run = makeRun(c, gSize, gRank, 99);
    ASSERT_EQ(ditc_rt_comm_reset_stats(inner), DITC_RT_COMM_OK);
    ASSERT_EQ(ditc_rt_comm_reset_stats(outer), DITC_RT_COMM_OK);
    std::vector<float> out;
    ASSERT_EQ(doubleRing(inner, outer, run, gRank, out), 0)
        << ditc_rt_comm_last_error();
    const uint64_t block =
        (uint64_t)(c.B * c.Hkv * run.kvLen * (c.D + c.Dv)) * sizeof(float);
    uint64_t bytes = 0, calls = 0;
    ASSERT_EQ(ditc_rt_comm_stats(inner, DITC_RT_COMM_SEND, &bytes, &calls),
              DITC_RT_COMM_OK);
    EXPECT_EQ(calls, (uint64_t)(O * (I - 1)));
    EXPECT_EQ(bytes, calls * block);
    ASSERT_EQ(ditc_rt_comm_stats(outer, DITC_RT_COMM_SEND, &bytes, &calls),
              DITC_RT_COMM_OK);
    EXPECT_EQ(calls, (uint64_t)(O - 1));
    EXPECT_EQ(bytes, calls * block);
    ditc_rt_comm_destroy(inner);
    ditc_rt_comm_destroy(outer);
  }
}

//--- Seq-major tensors ---------------------------------------------------//

constexpr int32_t kAllSeqMajor = DITC_RT_SEQ_MAJOR_Q | DITC_RT_SEQ_MAJOR_K |
                                 DITC_RT_SEQ_MAJOR_V | DITC_RT_SEQ_MAJOR_OUT;
// Every tensor; the query and output only (K/V head-major, made
// elsewhere); the keys and values only; the output only.
const int32_t kLayouts[] = {kAllSeqMajor,
                            DITC_RT_SEQ_MAJOR_Q | DITC_RT_SEQ_MAJOR_OUT,
                            DITC_RT_SEQ_MAJOR_K | DITC_RT_SEQ_MAJOR_V,
                            DITC_RT_SEQ_MAJOR_OUT};
constexpr int kLayoutCount = sizeof(kLayouts) / sizeof(kLayouts[0]);
constexpr int kCaseCount = sizeof(kCases) / sizeof(kCases[0]);

// Causal cases with keys cut before their last token (kv_valid) on every
// world size, not only where padding cuts them: causal_gqa (45 tokens) at
// 31, cross_causal_gqa (19 queries, 53 keys) at 40.
struct Cut {
  int caseIndex;
  int64_t kvValid;
};
const Cut kCuts[] = {{1, 31}, {5, 40}};
constexpr int kCutCount = sizeof(kCuts) / sizeof(kCuts[0]);

/// x [B, H, S, D] as `layout` has it: [B, S, H, D] when it has `bit`.
std::vector<float> inLayout(const std::vector<float> &x, int32_t layout,
                            int32_t bit, int64_t B, int64_t H, int64_t S,
                            int64_t D) {
  return layout & bit ? swapHeads(x, B, H, S, D, true) : x;
}

/// ditc_rt_ring_attention over `inner` (outer null) or
/// ditc_rt_double_ring_attention, with this rank's q, k, v and out in
/// `layout`; out comes back as [B, H, qLen, Dv].
int32_t ringInLayout(ditc_rt_comm *inner, ditc_rt_comm *outer,
                     const RankRun &run, int32_t r, int32_t layout,
                     std::vector<float> &out) {
  const GlobalAttention &g = run.g;
  const std::vector<float>
      q = inLayout(run.q, layout, DITC_RT_SEQ_MAJOR_Q, g.B, g.H, run.qLen, g.D),
      k = inLayout(run.k, layout, DITC_RT_SEQ_MAJOR_K, g.B, g.Hkv, run.kvLen, g.D),
      v = inLayout(run.v, layout, DITC_RT_SEQ_MAJOR_V, g.B, g.Hkv, run.kvLen, g.Dv);
  out.assign(g.B * g.H * run.qLen * g.Dv, std::nanf(""));
  const void *mask = maskRows(run, r);
  const int32_t st =
      outer ? ditc_rt_double_ring_attention(
                  inner, outer, DITC_RT_F32, q.data(), k.data(), v.data(), mask, g.mask_kind,
                  g.maskStrides(), out.data(), g.B, g.H, g.Hkv, run.qLen, run.kvLen, g.D, g.Dv,
                  g.scale, g.causal, run.kvValid, layout)
            : ditc_rt_ring_attention(inner, DITC_RT_F32, q.data(), k.data(), v.data(), mask,
                                     g.mask_kind, g.maskStrides(), out.data(), g.B, g.H, g.Hkv,
                                     run.qLen, run.kvLen, g.D, g.Dv, g.scale, g.causal,
                                     run.kvValid, layout);
  if (st == 0 && (layout & DITC_RT_SEQ_MAJOR_OUT))
    out = swapHeads(out, g.B, g.H, run.qLen, g.Dv, false);
  return st;
}

// The plain ring over the world with seq-major tensors: every case in each
// of kLayouts, and the cut causal cases in every layout, against the
// reference (the blocks travel as the bytes of k then v in their layout,
// the merge pairs out's rows with the lse in either order).
TEST(RingAttentionMpi, SeqMajorLayouts) {
  uint32_t seed = 13000;
  int checked = 0;
  auto check = [&](const Case &c, int64_t kvValid, int32_t layout) {
    SCOPED_TRACE(std::string(c.name) + " kv_valid " + std::to_string(kvValid) +
                 " layout " + std::to_string(layout) + " P=" + std::to_string(gSize));
    RankRun run = makeRun(c, gSize, gRank, seed += 10, kvValid);
    std::vector<float> out;
    ASSERT_EQ(ringInLayout(gWorld, nullptr, run, gRank, layout, out), 0)
        << ditc_rt_comm_last_error();
    EXPECT_LT(relL2(out, run.want), kTol) << "relative L2 error, rank " << gRank;
    if (c.masked_row >= gRank * run.qLen &&
        c.masked_row < (gRank + 1) * run.qLen) // b 0, h 0: zeros
      for (int64_t t = 0; t < c.Dv; ++t)
        EXPECT_EQ(out[(c.masked_row - gRank * run.qLen) * c.Dv + t], 0.f);
    ++checked;
  };
  for (const Case &c : kCases)
    for (int32_t layout : kLayouts)
      check(c, 0, layout);
  for (const Cut &cut : kCuts)
    for (int32_t layout = 0; layout < 16; ++layout)
      check(kCases[cut.caseIndex], cut.kvValid, layout);
  EXPECT_EQ(checked, kCaseCount * kLayoutCount + kCutCount * 16);
}

// The double ring with seq-major tensors over every factorisation P = O x I
// of the world: every case with all tensors seq-major and with the query
// and output only, and the cut causal cases in each of kLayouts.
TEST(RingAttentionMpi, DoubleRingSeqMajor) {
  int checked = 0, factorisations = 0;
  for (int32_t I = 1; I <= gSize; ++I) {
    if (gSize % I)
      continue;
    ++factorisations;
    const int32_t O = gSize / I;
    ditc_rt_comm *inner = nullptr, *outer = nullptr;
    ASSERT_EQ(ditc_rt_comm_split(gWorld, gRank / I, gRank % I, &inner),
              DITC_RT_COMM_OK);
    ASSERT_EQ(ditc_rt_comm_split(gWorld, gRank % I, gRank / I, &outer),
              DITC_RT_COMM_OK);
    uint32_t seed = 15000 + 100 * (uint32_t)I;
    auto check = [&](const Case &c, int64_t kvValid, int32_t layout) {
      SCOPED_TRACE(std::string(c.name) + " kv_valid " + std::to_string(kvValid) +
                   " layout " + std::to_string(layout) + " O=" + std::to_string(O) +
                   " I=" + std::to_string(I));
      RankRun run = makeRun(c, gSize, gRank, seed += 10, kvValid);
      std::vector<float> out;
      ASSERT_EQ(ringInLayout(inner, outer, run, gRank, layout, out), 0)
          << ditc_rt_comm_last_error();
      EXPECT_LT(relL2(out, run.want), kTol) << "rank " << gRank;
      ++checked;
    };
    for (const Case &c : kCases)
      for (int32_t layout : {kAllSeqMajor, DITC_RT_SEQ_MAJOR_Q | DITC_RT_SEQ_MAJOR_OUT})
        check(c, 0, layout);
    for (const Cut &cut : kCuts)
      for (int32_t layout : kLayouts)
        check(kCases[cut.caseIndex], cut.kvValid, layout);
    ditc_rt_comm_destroy(inner);
    ditc_rt_comm_destroy(outer);
  }
  EXPECT_EQ(checked, factorisations * (kCaseCount * 2 + kCutCount * kLayoutCount));
}

// The last rank never calls: the others get TIMEOUT (the comm's status)
// with the reason, instead of hanging (each once its neighbour gave up).
// The blocks are tiny (128 bytes), so that MPI completes every send without
// its receiver (eagerly) and nothing is left pending at exit; the last rank
// drains what was sent to it.
TEST(RingAttentionMpi, MissingRankTimesOut) {
  if (gSize < 2)
    GTEST_SKIP() << "needs two ranks";
  ditc_rt_comm *c = nullptr;
  ASSERT_EQ(ditc_rt_comm_split(gWorld, 0, gRank, &c), DITC_RT_COMM_OK);
  ASSERT_EQ(ditc_rt_comm_set_timeout_ms(c, 300), DITC_RT_COMM_OK);
  const Case tiny{"tiny", 1, 2, 1, 2 * gSize, 2 * gSize, 8, 8, false,
                  DITC_RT_MASK_NONE, false, false, false};
  RankRun run = makeRun(tiny, gSize, gRank, 31);
  if (gRank != gSize - 1) {
    std::vector<float> out;
    int32_t st = ring(c, run, gRank, out);
    EXPECT_EQ(st, DITC_RT_COMM_ERROR_TIMEOUT) << ditc_rt_comm_last_error();
    EXPECT_STRNE(ditc_rt_comm_last_error(), "");
  }
  ASSERT_EQ(ditc_rt_comm_barrier(gWorld), DITC_RT_COMM_OK);
  if (gRank == gSize - 1) {
    const GlobalAttention &g = run.g;
    std::vector<float> blk(g.B * g.Hkv * run.kvLen * (g.D + g.Dv));
    while (ditc_rt_comm_recv(c, blk.data(), (int64_t)blk.size(), DITC_RT_F32,
                             gSize - 2, DITC_RT_RING_ATTENTION_TAG) ==
           DITC_RT_COMM_OK) {
    }
  }
  ASSERT_EQ(ditc_rt_comm_barrier(gWorld), DITC_RT_COMM_OK);
  ditc_rt_comm_destroy(c);
}

// Reports only the failures of a rank other than 0.
class FailurePrinter : public ::testing::EmptyTestEventListener {
  void OnTestPartResult(const ::testing::TestPartResult &t) override {
    if (t.failed())
      std::fprintf(stderr, "rank %d: %s:%d: failure\n%s\n", gRank,
                   t.file_name() ? t.file_name() : "?", t.line_number(),
                   t.summary());
  }
  void OnTestEnd(const ::testing::TestInfo &t) override {
    if (t.result()->Failed())
      std::fprintf(stderr, "rank %d: FAILED %s.%s\n", gRank,
                   t.test_suite_name(), t.name());
  }
};

} // namespace

int main(int argc, char **argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (ditc_rt_comm_create("mpi", &gWorld) != DITC_RT_COMM_OK) {
    std::fprintf(stderr, "cannot create the mpi communicator: %s\n",
                 ditc_rt_comm_last_error());
    return 1;
  }
  ditc_rt_comm_set_timeout_ms(gWorld, kTimeoutMs);
  ditc_rt_comm_rank(gWorld, &gRank);
  ditc_rt_comm_size(gWorld, &gSize);
  if (gRank != 0) {
    auto &listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
    listeners.Append(new FailurePrinter);
  }
  int rc = RUN_ALL_TESTS();
  float err = gMaxErr;
  if (ditc_rt_comm_all_reduce(gWorld, &err, &err, 1, DITC_RT_F32,
                              DITC_RT_REDUCE_MAX) == DITC_RT_COMM_OK &&
      gRank == 0)
    std::printf("largest relative L2 error over %d ranks: %.3g\n", gSize,
                err);
  ditc_rt_comm_destroy(gWorld);
  return rc;
}
