//===- PrecisionTest.cpp - The entry points for any float type -----------===//
//
// ditc_kernels.def, "Any float type": linear, matmul, conv2d, attention,
// ring_attention (one rank: comm null), layer / rms / group norm, softmax,
// unary and rope on F16 and BF16; ditc_rt_binary on BF16 and ditc_rt_reduce
// on F16 and BF16 (precision.cpp).
//
// Each half result is checked against a reference computed here in double,
// in naive loops, from the half-rounded inputs, and rounded once to the half
// type (refToF16 / refToBF16). The kernels compute in f32 and round once, so
// a result is within 1 ulp of that rounded reference whenever the f32 path
// is within half an ulp of the exact value: the tolerance is 1 ulp (0 for
// the exact ops, 2 where the f32 kernel is itself an approximation: the
// exp / erf / tanh based ones, attention, softmax). Where a result is small
// against its terms (cancellation: a dot product near 0, x near the mean in
// a norm, ...) f32 rounding alone can exceed half an ulp of it; such an
// element also passes when it lies within half an ulp (of itself) plus
// `slack` of the unrounded reference, slack being a bound of the f32 path's
// own error derived next to each test from the unit roundoff u = 2^-24.
// Every bound is far below an ulp of a typical result, so a wrong index,
// stride, transpose or bias still fails by many ulps; and since the f32
// results sit far closer to the exact value than half an ulp, at most 2% of
// the elements (+2) may differ from the rounded reference at all, which
// catches a narrowing that truncates (within 1 ulp, but off half the time).
//
// Also: the F32 path equals the _f32 kernel bit for bit (it forwards); the
// in-place forms the API allows give the out-of-place bits on half types;
// a dtype other than F32 / F16 / BF16 aborts with one line naming the
// kernel.
//
//===----------------------------------------------------------------------===//
#include "AttentionReference.h"
#include "KernelTestUtil.h"

#include "ditc/runtime/ditc_comm.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <limits>

using namespace ditc_test;

namespace {

constexpr double kU = 0x1p-24; // f32 unit roundoff
// Higham's gamma_n = n u / (1 - n u): relative bound of an n-term f32 sum
// (any order, FMA or not) against the sum of the terms' magnitudes.
double gammaN(int64_t n) { return n * kU / (1 - n * kU); }

const int kHalfTypes[] = {DITC_RT_F16, DITC_RT_BF16};

std::string dtName(int dt) {
  return dt == DITC_RT_F16 ? "f16" : dt == DITC_RT_BF16 ? "bf16" : "f32";
}
uint16_t toHalf(int dt, double v) {
  return dt == DITC_RT_F16 ? refToF16(v) : refToBF16(v);
}
double halfValue(int dt, uint16_t h) {
  return dt == DITC_RT_F16 ? refF16ToF64(h) : refBF16ToF64(h);
}
// What output buffers start as: a NaN, so an element never written fails.
uint16_t halfNaN(int dt) { return dt == DITC_RT_F16 ? 0x7e00 : 0x7fc0; }

// Sign-magnitude bits to a line where neighbours differ by one (+0 == -0).
int64_t ordered(uint16_t h) {
  return (h & 0x8000) ? -(int64_t)(h & 0x7fff) : (int64_t)(h & 0x7fff);
}
int64_t ulpDistance(uint16_t a, uint16_t b) {
  return std::llabs(ordered(a) - ordered(b));
}
// The gap from |h| to the next value away from zero.
double ulpAt(int dt, uint16_t h) {
  uint16_t m = h & 0x7fff;
  return halfValue(dt, (uint16_t)(m + 1)) - halfValue(dt, m);
}

// Rounds v to `dt` in place (to the values the kernel sees) and returns the
// bits. An element that would round to zero (f16 below 2^-25) becomes
// +-2^-14: the data is never zero.
std::vector<uint16_t> roundToHalf(int dt, std::vector<float> &v) {
  std::vector<uint16_t> h(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    uint16_t b = toHalf(dt, v[i]);
    if ((b & 0x7fff) == 0)
      b = toHalf(dt, std::copysign(0x1p-14, v[i]));
    h[i] = b;
    v[i] = (float)halfValue(dt, b);
  }
  return h;
}

// A tensor of a half type: its bits and their (exact) values.
struct HalfTensor {
  std::vector<uint16_t> bits;
  std::vector<float> vals;
  const void *data() const { return bits.data(); }
  size_t size() const { return bits.size(); }
};

HalfTensor randomHalf(int dt, size_t n, uint32_t seed, float lo = -1.f,
                      float hi = 1.f) {
  HalfTensor t;
  t.vals = randomFloats(n, seed, lo, hi);
  t.bits = roundToHalf(dt, t.vals);
  return t;
}

// Checks got (bits of `dt`) against the double reference `ref`: element i
// passes when it is within max_ulp ulps of ref[i] rounded to `dt`, or when
// |got - ref[i]| <= ulp(got) / 2 + slack[i] (slack empty: 0), i.e. got is
// the rounding of a value within slack[i] of the reference.
//
// Besides, at most 2 + max_inexact * n elements may differ from the rounded
// reference at all. The f32 results are off by far less than half an ulp
// of the half type (measured: under 0.2% of the elements round the other
// way), so a narrowing that truncated, or rounded twice through a coarser
// step, which stays within 1 ulp everywhere, still fails here (about half
// the elements off). max_inexact 1 turns this off, for gelu only.
void expectHalfNear(int dt, const std::vector<uint16_t> &got,
                    const std::vector<double> &ref, int64_t max_ulp,
                    const std::vector<double> &slack = {},
                    double max_inexact = 0.02) {
  ASSERT_EQ(got.size(), ref.size());
  ASSERT_TRUE(slack.empty() || slack.size() == ref.size());
  int64_t bad = 0, inexact = 0;
  std::vector<double> gv(got.size());
  for (size_t i = 0; i < got.size(); ++i) {
    const uint16_t want = toHalf(dt, ref[i]);
    const double g = halfValue(dt, got[i]);
    gv[i] = g;
    const int64_t d = ulpDistance(got[i], want);
    inexact += d != 0;
    if (!std::isnan(g) && d <= max_ulp)
      continue;
    const double s = slack.empty() ? 0.0 : slack[i];
    if (std::isfinite(g) && std::fabs(g - ref[i]) <= 0.5 * ulpAt(dt, got[i]) + s)
      continue;
    if (++bad <= 5)
      ADD_FAILURE() << dtName(dt) << " element " << i << ": got " << g
                    << " (0x" << std::hex << got[i] << "), want "
                    << halfValue(dt, want) << " (0x" << want << std::dec
                    << "), unrounded " << ref[i] << ": " << d << " ulp (max "
                    << max_ulp << "), slack " << s;
  }
  EXPECT_EQ(bad, 0) << "elements out of tolerance, of " << got.size();
  EXPECT_LE(inexact, 2 + (int64_t)(max_inexact * got.size()))
      << "elements not the rounded reference, of " << got.size();
  recordError(relL2(gv, ref));
}

// Exact equality of two half results (in-place against out-of-place).
void expectSameBits(const std::vector<uint16_t> &a,
                    const std::vector<uint16_t> &b) {
  ASSERT_EQ(a.size(), b.size());
  int64_t diff = 0;
  for (size_t i = 0; i < a.size(); ++i)
    diff += a[i] != b[i];
  EXPECT_EQ(diff, 0) << "elements differ, of " << a.size();
}

void expectSameFloats(const std::vector<float> &a, const std::vector<float> &b) {
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * sizeof(float)));
}

class PrecisionTest : public IsaTest {};

//===--- Linear algebra ---------------------------------------------------===//

// Slack (linear, matmul, conv2d): an f32 dot product of n terms plus a bias
// is off by at most gamma_{n+1} times the sum of the magnitudes of its terms
// and bias, whatever the summation order oneDNN picks.

struct LinearCase {
  int64_t m, k, n;
};
const LinearCase kLinear[] = {
    {1, 1, 1}, {7, 33, 17}, {13, 7, 33}, {33, 129, 1}, {5, 300, 9}};

TEST_P(PrecisionTest, Linear) {
  uint32_t seed = 1;
  int ran = 0;
  for (int dt : kHalfTypes)
    for (const LinearCase &c : kLinear)
      for (int tw : {0, 1})
        for (bool with_bias : {false, true}) {
          SCOPED_TRACE(dtName(dt) + " " + std::to_string(c.m) + "x" +
                       std::to_string(c.k) + "x" + std::to_string(c.n) +
                       " tw=" + std::to_string(tw) +
                       " bias=" + std::to_string(with_bias));
          HalfTensor x = randomHalf(dt, c.m * c.k, seed++);
          HalfTensor w = randomHalf(dt, c.k * c.n, seed++);
          HalfTensor b = randomHalf(dt, c.n, seed++);
          std::vector<double> want(c.m * c.n), slack(c.m * c.n);
          for (int64_t i = 0; i < c.m; ++i)
            for (int64_t j = 0; j < c.n; ++j) {
              double acc = with_bias ? b.vals[j] : 0.0;
              double mag = std::fabs(acc);
              for (int64_t t = 0; t < c.k; ++t) {
                double p = (double)x.vals[i * c.k + t] *
                           (tw ? w.vals[j * c.k + t] : w.vals[t * c.n + j]);
                acc += p;
                mag += std::fabs(p);
              }
              want[i * c.n + j] = acc;
              slack[i * c.n + j] = gammaN(c.k + 1) * mag;
            }
          std::vector<uint16_t> y(c.m * c.n, halfNaN(dt));
          ditc_rt_linear(dt, x.data(), w.data(), with_bias ? b.data() : nullptr,
                         y.data(), c.m, c.k, c.n, tw, DITC_RT_ACTIVATION_NONE);
          expectHalfNear(dt, y, want, 1, slack);
          ++ran;
        }
  EXPECT_EQ(ran, 2 * 5 * 2 * 2);
}

// A fused activation is computed on the f32 sum and rounded once: within an
// ulp of the double reference, and (expectHalfNear's inexact count) not the
// activation of a rounded product, which is off in about half the elements.
TEST_P(PrecisionTest, LinearActivationRoundsOnce) {
  const auto activate = [](int32_t act, double v) {
    if (act == DITC_RT_UNARY_GELU)
      return 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0)));
    if (act == DITC_RT_UNARY_GELU_TANH)
      return 0.5 * v *
             (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (v + 0.044715 * v * v * v)));
    return v / (1.0 + std::exp(-v));
  };
  uint32_t seed = 300;
  int ran = 0;
  const int64_t m = 24, k = 40, n = 33;
  for (int dt : kHalfTypes)
    for (int32_t act : {DITC_RT_UNARY_GELU, DITC_RT_UNARY_GELU_TANH, DITC_RT_UNARY_SILU}) {
      SCOPED_TRACE(dtName(dt) + " activation " + std::to_string(act));
      // Products of up to +-6, where the activations bend.
      HalfTensor x = randomHalf(dt, m * k, seed++, -1.f, 1.f);
      HalfTensor w = randomHalf(dt, k * n, seed++, -0.6f, 0.6f);
      HalfTensor b = randomHalf(dt, n, seed++);
      std::vector<double> want(m * n), slack(m * n);
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
          double acc = b.vals[j], mag = std::fabs(acc);
          for (int64_t t = 0; t < k; ++t) {
            double p = (double)x.vals[i * k + t] * w.vals[t * n + j];
            acc += p;
            mag += std::fabs(p);
          }
          want[i * n + j] = activate(act, acc);
          // The sum's error through a slope under 1.2, and the f32
          // activation's own few ulps.
          slack[i * n + j] = 1.2 * gammaN(k + 1) * mag + 1e-6 * std::fabs(want[i * n + j]);
        }
      std::vector<uint16_t> y(m * n, halfNaN(dt));
      ditc_rt_linear(dt, x.data(), w.data(), b.data(), y.data(), m, k, n, 0, act);
      expectHalfNear(dt, y, want, 1, slack);
      ++ran;
    }
  EXPECT_EQ(ran, 2 * 3);
}

TEST_P(PrecisionTest, MatmulBroadcastBatches) {
  struct C {
    int64_t m, k, n;
    std::vector<int64_t> a_batch, b_batch; // 1 = broadcast
  } cases[] = {
      {7, 33, 5, {}, {}},
      {1, 1, 1, {3}, {3}},
      {9, 16, 33, {2, 3}, {2, 3}},
      {13, 7, 12, {2, 1}, {1, 4}},
      {5, 6, 7, {1, 3, 1}, {2, 1, 4}},
  };
  uint32_t seed = 100;
  int ran = 0;
  for (int dt : kHalfTypes)
    for (const C &c : cases) {
      SCOPED_TRACE(dtName(dt) + " " + std::to_string(c.m) + "x" +
                   std::to_string(c.k) + "x" + std::to_string(c.n) +
                   " batch rank " + std::to_string(c.a_batch.size()));
      const size_t r = c.a_batch.size();
      std::vector<int64_t> bshape(r), as(r), bs(r);
      int64_t a_count = 1, b_count = 1;
      for (size_t d = r; d-- > 0;) {
        bshape[d] = std::max(c.a_batch[d], c.b_batch[d]);
        as[d] = c.a_batch[d] == 1 ? 0 : a_count * c.m * c.k;
        bs[d] = c.b_batch[d] == 1 ? 0 : b_count * c.k * c.n;
        a_count *= c.a_batch[d];
        b_count *= c.b_batch[d];
      }
      HalfTensor a = randomHalf(dt, a_count * c.m * c.k, seed++);
      HalfTensor b = randomHalf(dt, b_count * c.k * c.n, seed++);
      const int64_t batches = product(bshape);
      std::vector<double> want(batches * c.m * c.n), slack(want.size());
      int64_t bi = 0;
      forEachIndex(bshape, [&](const std::vector<int64_t> &idx) {
        const float *pa = a.vals.data() + dot(idx, as);
        const float *pb = b.vals.data() + dot(idx, bs);
        for (int64_t i = 0; i < c.m; ++i)
          for (int64_t j = 0; j < c.n; ++j) {
            double acc = 0, mag = 0;
            for (int64_t t = 0; t < c.k; ++t) {
              double p = (double)pa[i * c.k + t] * pb[t * c.n + j];
              acc += p;
              mag += std::fabs(p);
            }
            want[(bi * c.m + i) * c.n + j] = acc;
            slack[(bi * c.m + i) * c.n + j] = gammaN(c.k) * mag;
          }
        ++bi;
      });
      ASSERT_EQ(bi, batches);
      std::vector<uint16_t> y(want.size(), halfNaN(dt));
      ditc_rt_matmul(dt, a.data(), b.data(), y.data(), c.m, c.k, c.n,
                     (int32_t)r, bshape.data(), as.data(), bs.data());
      expectHalfNear(dt, y, want, 1, slack);
      ++ran;
    }
  EXPECT_EQ(ran, 2 * 5);
}

struct ConvCase {
  int64_t n, c, h, w, m, kh, kw, sh, sw, pt, pl, pb, pr, dh, dw, g;
  bool bias;
};
const ConvCase kConv[] = {
    {1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, false},
    {2, 3, 7, 9, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, true},
    {1, 4, 16, 16, 8, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 1, true}, // patchify
    {1, 6, 13, 11, 6, 3, 3, 2, 1, 0, 1, 2, 0, 1, 1, 3, false}, // groups
    {2, 8, 9, 10, 8, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 8, true}, // depthwise, dil
    {1, 5, 8, 8, 7, 5, 3, 1, 2, 2, 0, 1, 3, 1, 1, 1, true},
};

int64_t convOut(int64_t in, int64_t pa, int64_t pb, int64_t dil, int64_t k,
                int64_t s) {
  return (in + pa + pb - dil * (k - 1) - 1) / s + 1;
}

TEST_P(PrecisionTest, Conv2d) {
  uint32_t seed = 200;
  int ran = 0;
  for (int dt : kHalfTypes)
    for (const ConvCase &c : kConv) {
      SCOPED_TRACE(dtName(dt) + " conv " + std::to_string(c.c) + "->" +
                   std::to_string(c.m) + " k" + std::to_string(c.kh) + "x" +
                   std::to_string(c.kw) + " g" + std::to_string(c.g));
      const int64_t oh = convOut(c.h, c.pt, c.pb, c.dh, c.kh, c.sh);
      const int64_t ow = convOut(c.w, c.pl, c.pr, c.dw, c.kw, c.sw);
      const int64_t cg = c.c / c.g, mg = c.m / c.g;
      HalfTensor x = randomHalf(dt, c.n * c.c * c.h * c.w, seed++);
      HalfTensor w = randomHalf(dt, c.m * cg * c.kh * c.kw, seed++);
      HalfTensor b = randomHalf(dt, c.m, seed++);
      std::vector<double> want(c.n * c.m * oh * ow), slack(want.size());
      for (int64_t n = 0; n < c.n; ++n)
        for (int64_t m = 0; m < c.m; ++m)
          for (int64_t i = 0; i < oh; ++i)
            for (int64_t j = 0; j < ow; ++j) {
              double acc = c.bias ? b.vals[m] : 0.0, mag = std::fabs(acc);
              const int64_t g = m / mg;
              for (int64_t ci = 0; ci < cg; ++ci)
                for (int64_t u = 0; u < c.kh; ++u)
                  for (int64_t v = 0; v < c.kw; ++v) {
                    const int64_t yy = i * c.sh - c.pt + u * c.dh;
                    const int64_t xx = j * c.sw - c.pl + v * c.dw;
                    if (yy < 0 || yy >= c.h || xx < 0 || xx >= c.w)
                      continue;
                    double p =
                        (double)x.vals[((n * c.c + g * cg + ci) * c.h + yy) *
                                           c.w + xx] *
                        w.vals[((m * cg + ci) * c.kh + u) * c.kw + v];
                    acc += p;
                    mag += std::fabs(p);
                  }
              const int64_t at = ((n * c.m + m) * oh + i) * ow + j;
              want[at] = acc;
              slack[at] = gammaN(cg * c.kh * c.kw + 1) * mag;
            }
      std::vector<uint16_t> y(want.size(), halfNaN(dt));
      ditc_rt_conv2d(dt, x.data(), w.data(), c.bias ? b.data() : nullptr,
                     y.data(), c.n, c.c, c.h, c.w, c.m, c.kh, c.kw, c.sh, c.sw,
                     c.pt, c.pl, c.pb, c.pr, c.dh, c.dw, c.g);
      expectHalfNear(dt, y, want, 1, slack);
      ++ran;
    }
  EXPECT_EQ(ran, 2 * 6);
}

//===--- Attention --------------------------------------------------------===//

struct AttnCase {
  const char *name;
  int64_t B, H, Hkv, Sq, Sk, D, Dv;
  bool causal;
  int mask_kind;
  bool mask_batch, mask_heads, mask_rows; // else the mask broadcasts there
  int64_t kv_valid;   // ring_attention only; <= 0: every key
  int64_t masked_row; // a query row that sees no key (-1: none)
};
const AttnCase kAttn[] = {
    {"odd", 2, 3, 3, 7, 33, 7, 5, false, DITC_RT_MASK_NONE, false, false,
     false, 0, -1},
    {"gqa_bool_heads_bcast", 2, 4, 2, 17, 45, 16, 16, false, DITC_RT_MASK_BOOL,
     true, false, true, 40, 3},
    {"gqa_additive_causal", 1, 6, 2, 23, 23, 20, 20, true,
     DITC_RT_MASK_ADDITIVE, false, true, true, 0, -1},
    {"additive_keys_bcast", 2, 2, 1, 9, 70, 32, 24, false,
     DITC_RT_MASK_ADDITIVE, true, false, false, 61, -1},
    {"causal_long_q_bool", 1, 4, 1, 40, 7, 8, 8, true, DITC_RT_MASK_BOOL,
     false, true, true, 5, 2},
    {"additive_batch_rows_causal", 2, 2, 2, 11, 29, 12, 12, true,
     DITC_RT_MASK_ADDITIVE, true, false, true, 20, 4},
    {"wide_head", 1, 2, 1, 5, 20, 129, 1, false, DITC_RT_MASK_NONE, false,
     false, false, 0, -1},
};
constexpr int kAttnCases = sizeof(kAttn) / sizeof(kAttn[0]);

GlobalAttention makeAttention(const AttnCase &c, uint32_t seed) {
  GlobalAttention g = attentionOf(c, c.Sk, 1.f / std::sqrt((float)c.D));
  fillGlobalAttention(g, seed, c.mask_batch, c.mask_heads, c.mask_rows,
                      c.masked_row);
  return g;
}

// The reference of g (q, k, v already half values) and the slack of each
// output element. A score s = scale q.k (+ mask) is off in f32 by at most
// E = (D + 4) u |scale| D (its D-term dot product of |q|, |k| <= 1, the
// scale and log2 e folded in) + 4 u max|s| (mask add, max subtraction);
// each weight exp2(s - max) then by 2 E + 8 u (exp2_v is about 2 ulp) +
// 4 u Sk (online rescales, at most one per key); the normalised sum over
// Sk keys adds 2 gamma_{Sk+2}. An output element is off by that relative
// error times M = sum_j w_j |v_j| (the reference run on |v|), doubled for
// margin, plus u |ref| (referenceRows itself returns f32).
void attentionReference(const GlobalAttention &g, std::vector<double> &want,
                        std::vector<double> &slack) {
  std::vector<float> out, mag;
  referenceRows(g, 0, g.Sq, out);
  GlobalAttention ga = g;
  for (float &e : ga.v)
    e = std::fabs(e);
  referenceRows(ga, 0, g.Sq, mag);
  const double sc = std::fabs(g.scale);
  const double smax =
      sc * g.D + (g.mask_kind == DITC_RT_MASK_ADDITIVE ? 2.0 : 0.0);
  const double E = (g.D + 4) * kU * sc * g.D + 4 * kU * smax;
  const double rel = 2 * E + 8 * kU + 4 * kU * g.Sk;
  const double relw = 2 * rel + 2 * gammaN(g.Sk + 2);
  want.assign(out.begin(), out.end());
  slack.resize(out.size());
  for (size_t i = 0; i < out.size(); ++i)
    slack[i] = 2 * relw * mag[i] + kU * std::fabs(out[i]);
}

// Runs ditc_rt_attention (ring: ditc_rt_ring_attention on one rank) on the
// half values of g, into out (or q when in_place).
std::vector<uint16_t> runAttention(int dt, const GlobalAttention &g,
                                   const std::vector<uint16_t> &q,
                                   const std::vector<uint16_t> &k,
                                   const std::vector<uint16_t> &v, bool ring,
                                   bool in_place) {
  std::vector<uint16_t> qin = q;
  std::vector<uint16_t> out(g.B * g.H * g.Sq * g.Dv, halfNaN(dt));
  void *po = in_place ? (void *)qin.data() : (void *)out.data();
  if (ring) {
    int32_t rc = ditc_rt_ring_attention(
        nullptr, dt, qin.data(), k.data(), v.data(), g.mask(), g.mask_kind,
        g.maskStrides(), po, g.B, g.H, g.Hkv, g.Sq, g.Sk, g.D, g.Dv, g.scale,
        g.causal, g.kv_valid, /*layout=*/0);
    EXPECT_EQ(rc, 0);
  } else {
    ditc_rt_attention(dt, qin.data(), k.data(), v.data(), g.mask(),
                      g.mask_kind, g.maskStrides(), po, g.B, g.H, g.Hkv, g.Sq,
                      g.Sk, g.D, g.Dv, g.scale, g.causal);
  }
  return in_place ? qin : out;
}

void checkAttention(bool ring) {
  uint32_t seed = ring ? 400 : 300;
  int ran = 0, in_place = 0;
  for (int dt : kHalfTypes)
    for (const AttnCase &c : kAttn) {
      SCOPED_TRACE(dtName(dt) + " " + c.name);
      GlobalAttention g = makeAttention(c, seed);
      seed += 7;
      if (ring)
        g.kv_valid = c.kv_valid;
      std::vector<uint16_t> q = roundToHalf(dt, g.q), k = roundToHalf(dt, g.k),
                            v = roundToHalf(dt, g.v);
      std::vector<double> want, slack;
      attentionReference(g, want, slack);
      std::vector<uint16_t> got = runAttention(dt, g, q, k, v, ring, false);
      // Two ulp: exp2_v and the online softmax are approximations of their
      // own (see attentionReference for the slack).
      expectHalfNear(dt, got, want, 2, slack);
      if (c.masked_row >= 0) { // that row of batch 0, head 0 is zeros
        int64_t zeros = 0;
        for (int64_t t = 0; t < g.Dv; ++t)
          zeros += halfValue(dt, got[c.masked_row * g.Dv + t]) == 0.0;
        EXPECT_EQ(zeros, g.Dv);
      }
      if (g.Dv == g.D) { // out may be q
        expectSameBits(runAttention(dt, g, q, k, v, ring, true), got);
        ++in_place;
      }
      ++ran;
    }
  EXPECT_EQ(ran, 2 * kAttnCases);
  EXPECT_EQ(in_place, 2 * 4);
}

TEST_P(PrecisionTest, Attention) { checkAttention(false); }

// ditc_rt_attention_layout with every tensor seq-major ([B, S, H, D]) on
// the same half values, against the same reference: widening keeps each
// tensor's layout.
TEST_P(PrecisionTest, AttentionLayoutSeqMajor) {
  uint32_t seed = 300;
  int ran = 0;
  const int32_t all = DITC_RT_SEQ_MAJOR_Q | DITC_RT_SEQ_MAJOR_K |
                      DITC_RT_SEQ_MAJOR_V | DITC_RT_SEQ_MAJOR_OUT;
  for (int dt : kHalfTypes)
    for (const AttnCase &c : kAttn) {
      SCOPED_TRACE(dtName(dt) + " " + c.name);
      GlobalAttention g = makeAttention(c, seed);
      seed += 7;
      // Rounds g's tensors to their half values first (the reference's).
      std::vector<uint16_t> q = swapHeads(roundToHalf(dt, g.q), g.B, g.H, g.Sq, g.D, true),
                            k = swapHeads(roundToHalf(dt, g.k), g.B, g.Hkv, g.Sk, g.D, true),
                            v = swapHeads(roundToHalf(dt, g.v), g.B, g.Hkv, g.Sk, g.Dv, true);
      std::vector<double> want, slack;
      attentionReference(g, want, slack);
      std::vector<uint16_t> out(want.size(), halfNaN(dt));
      ditc_rt_attention_layout(dt, q.data(), k.data(), v.data(), g.mask(), g.mask_kind,
                               g.maskStrides(), out.data(), nullptr, g.B, g.H, g.Hkv,
                               g.Sq, g.Sk, g.D, g.Dv, g.scale, g.causal, 0, 0, 0, all);
      expectHalfNear(dt, swapHeads(out, g.B, g.H, g.Sq, g.Dv, false), want, 2, slack);
      ++ran;
    }
  EXPECT_EQ(ran, 2 * kAttnCases);
}

// ditc_rt_attention_block as a chunk loop calls it for a causal attention
// whose query rows it cuts: rows r0 .. r0 + n - 1 (a copy of them, and the
// mask from row r0 on) with q_offset r0, over every key. The chunks put
// together must match the naive reference of the whole attention: the
// causal diagonal moves with q_offset. Chunks of 3 rows (the last shorter).
TEST_P(PrecisionTest, AttentionBlockRowsOfTheWhole) {
  uint32_t seed = 700;
  int ran = 0;
  for (int dt : kHalfTypes)
    for (const AttnCase &c : kAttn) {
      if (!c.causal)
        continue;
      SCOPED_TRACE(dtName(dt) + " " + c.name);
      GlobalAttention g = makeAttention(c, seed);
      seed += 7;
      std::vector<uint16_t> q = roundToHalf(dt, g.q), k = roundToHalf(dt, g.k),
                            v = roundToHalf(dt, g.v);
      std::vector<double> want, slack;
      attentionReference(g, want, slack);
      std::vector<uint16_t> got(want.size(), halfNaN(dt));
      const int64_t rows = 3, bh = g.B * g.H;
      const size_t melem = g.mask_kind == DITC_RT_MASK_BOOL ? 1 : 4;
      int chunks = 0;
      for (int64_t r0 = 0; r0 < g.Sq; r0 += rows, ++chunks) {
        int64_t n = std::min(rows, g.Sq - r0);
        std::vector<uint16_t> qc(bh * n * g.D), oc(bh * n * g.Dv, halfNaN(dt));
        for (int64_t p = 0; p < bh; ++p)
          std::copy_n(q.begin() + (p * g.Sq + r0) * g.D, n * g.D,
                      qc.begin() + p * n * g.D);
        const char *mask = static_cast<const char *>(g.mask());
        if (mask)
          mask += r0 * g.ms[2] * melem;
        ditc_rt_attention_block(dt, qc.data(), k.data(), v.data(), mask,
                                g.mask_kind, g.maskStrides(), oc.data(),
                                nullptr, g.B, g.H, g.Hkv, n, g.Sk, g.D, g.Dv,
                                g.scale, 1, r0, 0, 0);
        for (int64_t p = 0; p < bh; ++p)
          std::copy_n(oc.begin() + p * n * g.Dv, n * g.Dv,
                      got.begin() + (p * g.Sq + r0) * g.Dv);
      }
      EXPECT_GT(chunks, 2);
      expectHalfNear(dt, got, want, 2, slack);
      ++ran;
    }
  EXPECT_EQ(ran, 2 * 3);
}
TEST_P(PrecisionTest, RingAttentionOneRank) { checkAttention(true); }

// ditc_rt_ring_attention on one rank with seq-major tensors ([B, S, H, D]),
// every tensor and the query and output only, on the half values of the
// ring cases (kv_valid included), against the same reference: q is widened
// and the result narrowed in their layouts, the block's k and v attended
// to in theirs. The half path keeps its own scratch (the widened q and
// block), unlike F32 on one rank.
TEST_P(PrecisionTest, RingAttentionSeqMajor) {
  uint32_t seed = 400;
  int ran = 0;
  const int32_t all = DITC_RT_SEQ_MAJOR_Q | DITC_RT_SEQ_MAJOR_K |
                      DITC_RT_SEQ_MAJOR_V | DITC_RT_SEQ_MAJOR_OUT;
  for (int dt : kHalfTypes)
    for (const AttnCase &c : kAttn) {
      GlobalAttention g = makeAttention(c, seed);
      seed += 7;
      g.kv_valid = c.kv_valid;
      // Rounds g's tensors to their half values first (the reference's).
      const std::vector<uint16_t> hq = roundToHalf(dt, g.q), hk = roundToHalf(dt, g.k),
                                  hv = roundToHalf(dt, g.v);
      std::vector<double> want, slack;
      attentionReference(g, want, slack);
      for (int32_t layout : {all, DITC_RT_SEQ_MAJOR_Q | DITC_RT_SEQ_MAJOR_OUT}) {
        SCOPED_TRACE(dtName(dt) + " " + c.name + " layout " + std::to_string(layout));
        auto in = [&](const std::vector<uint16_t> &h, int32_t bit, int64_t H, int64_t S,
                      int64_t D) {
          return layout & bit ? swapHeads(h, g.B, H, S, D, true) : h;
        };
        std::vector<uint16_t> q = in(hq, DITC_RT_SEQ_MAJOR_Q, g.H, g.Sq, g.D),
                              k = in(hk, DITC_RT_SEQ_MAJOR_K, g.Hkv, g.Sk, g.D),
                              v = in(hv, DITC_RT_SEQ_MAJOR_V, g.Hkv, g.Sk, g.Dv);
        std::vector<uint16_t> out(want.size(), halfNaN(dt));
        ASSERT_EQ(ditc_rt_ring_attention(nullptr, dt, q.data(), k.data(), v.data(), g.mask(),
                                         g.mask_kind, g.maskStrides(), out.data(), g.B, g.H,
                                         g.Hkv, g.Sq, g.Sk, g.D, g.Dv, g.scale, g.causal,
                                         g.kv_valid, layout),
                  0)
            << ditc_rt_comm_last_error();
        if (layout & DITC_RT_SEQ_MAJOR_OUT)
          out = swapHeads(out, g.B, g.H, g.Sq, g.Dv, false);
        expectHalfNear(dt, out, want, 2, slack);
        ++ran;
      }
    }
  EXPECT_EQ(ran, 2 * 2 * kAttnCases);
}

//===--- Norms and softmax ------------------------------------------------===//

// The statistics of n values in double: their mean, the mean of their
// magnitudes (for the slack of the f32 sums) and 1/sqrt(variance + eps).
struct Stats {
  double mean, mabs, rstd;
};
Stats statsOf(const float *x, int64_t n, double eps) {
  double mean = 0, mabs = 0, var = 0;
  for (int64_t i = 0; i < n; ++i) {
    mean += x[i];
    mabs += std::fabs(x[i]);
  }
  mean /= n;
  mabs /= n;
  for (int64_t i = 0; i < n; ++i)
    var += (x[i] - mean) * (x[i] - mean);
  var /= n;
  return {mean, mabs, 1 / std::sqrt(var + eps)};
}

// Slack (layer and group norm): over a row (group) of n values the f32 mean
// is off by at most dm = gamma_{n+2} mean|x|, which x - mean carries
// (times rstd and scale) whatever the size of x - mean; the variance, rstd
// and the products add gamma_{n+8} relative to |z scale| (z the normalised
// value) and the bias 4 u |bias|. Doubled for margin.
double normSlack(double dm, double rstd, double z, double s, double b,
                 int64_t n) {
  return 2 * (std::fabs(s) * rstd * dm + (gammaN(n + 8) + 4 * kU) *
                                             std::fabs(z * s) +
              4 * kU * std::fabs(b));
}

TEST_P(PrecisionTest, LayerNorm) {
  uint32_t seed = 500;
  int ran = 0;
  for (int dt : kHalfTypes)
    for (int64_t rows : {1, 3, 5})
      for (int64_t cols : {1, 7, 33, 129, 1152})
        for (int variant = 0; variant < 4; ++variant) {
          SCOPED_TRACE(dtName(dt) + " " + std::to_string(rows) + "x" +
                       std::to_string(cols) + " variant " +
                       std::to_string(variant));
          HalfTensor x = randomHalf(dt, rows * cols, seed++, -3.f, 5.f);
          HalfTensor sc = randomHalf(dt, cols, seed++, 0.5f, 2.f);
          HalfTensor bi = randomHalf(dt, cols, seed++);
          const bool has_s = variant & 1, has_b = variant & 2;
          const float eps = 1e-5f;
          std::vector<double> want(rows * cols), slack(rows * cols);
          for (int64_t r = 0; r < rows; ++r) {
            const float *xr = x.vals.data() + r * cols;
            const auto [mean, mabs, rstd] = statsOf(xr, cols, eps);
            for (int64_t c = 0; c < cols; ++c) {
              const double z = (xr[c] - mean) * rstd;
              const double s = has_s ? sc.vals[c] : 1.0;
              const double b = has_b ? bi.vals[c] : 0.0;
              want[r * cols + c] = z * s + b;
              slack[r * cols + c] =
                  normSlack(gammaN(cols + 2) * mabs, rstd, z, s, b, cols);
            }
          }
          const void *ps = has_s ? sc.data() : nullptr;
          const void *pb = has_b ? bi.data() : nullptr;
          std::vector<uint16_t> y(rows * cols, halfNaN(dt));
          ditc_rt_layer_norm(dt, x.data(), ps, pb, y.data(), rows, cols, eps);
          expectHalfNear(dt, y, want, 1, slack);
          std::vector<uint16_t> inplace = x.bits;
          ditc_rt_layer_norm(dt, inplace.data(), ps, pb, inplace.data(), rows,
                             cols, eps);
          expectSameBits(inplace, y);
          ++ran;
        }
  EXPECT_EQ(ran, 2 * 3 * 5 * 4);
}

// The adaLN-modulated norm computes norm * mod_scale + mod_shift in f32 and
// rounds once: within an ulp of the rounded double reference, and equal to
// it almost everywhere (rounding the norm first, then modulating, would
// leave far more elements off than max_inexact allows).
TEST_P(PrecisionTest, LayerNormModulatedRoundsOnce) {
  uint32_t seed = 900;
  int ran = 0;
  for (int dt : kHalfTypes)
    for (auto [rows, groups] : {std::pair<int64_t, int64_t>{6, 2}, {8, 1}})
      for (int64_t cols : {33, 1152})
      for (bool apart : {false, true}) {
        SCOPED_TRACE(dtName(dt) + " " + std::to_string(rows) + "x" +
                     std::to_string(cols) + " groups " + std::to_string(groups) +
                     (apart ? " rows apart, 1 + scale" : ""));
        // Apart: the modulation rows within six parameters side by side.
        const int64_t ss = apart ? 6 * cols : cols, ts = apart ? 6 * cols + 3 : cols;
        const float off = apart ? 1.f : 0.f;
        HalfTensor x = randomHalf(dt, rows * cols, seed++, -3.f, 5.f);
        HalfTensor sc = randomHalf(dt, cols, seed++, 0.5f, 2.f);
        HalfTensor bi = randomHalf(dt, cols, seed++);
        HalfTensor ms = randomHalf(dt, groups * ss, seed++, -2.f, 2.f);
        HalfTensor mt = randomHalf(dt, groups * ts, seed++, -1.f, 1.f);
        const float eps = 1e-6f;
        std::vector<double> want(rows * cols), slack(rows * cols);
        for (int64_t r = 0; r < rows; ++r) {
          const float *xr = x.vals.data() + r * cols;
          const int64_t g = r / (rows / groups);
          const auto [mean, mabs, rstd] = statsOf(xr, cols, eps);
          for (int64_t c = 0; c < cols; ++c) {
            const double z = (xr[c] - mean) * rstd, s = sc.vals[c],
                         b = bi.vals[c], m = (double)ms.vals[g * ss + c] + off,
                         t = mt.vals[g * ts + c], v = z * s + b;
            want[r * cols + c] = v * m + t;
            slack[r * cols + c] =
                std::fabs(m) * normSlack(gammaN(cols + 2) * mabs, rstd, z, s, b, cols) +
                4 * kU * (std::fabs(v * m) + std::fabs(t));
          }
        }
        std::vector<uint16_t> y(rows * cols, halfNaN(dt));
        ditc_rt_layer_norm_mod(dt, x.data(), sc.data(), bi.data(), ms.data(),
                               mt.data(), y.data(), rows, cols, groups, ss, ts, off, eps);
        expectHalfNear(dt, y, want, 1, slack);
        ++ran;
      }
  EXPECT_EQ(ran, 2 * 2 * 2 * 2);
}

TEST_P(PrecisionTest, RmsNorm) {
  uint32_t seed = 600;
  int ran = 0;
  for (int dt : kHalfTypes)
    for (int64_t rows : {1, 5})
      for (int64_t cols : {1, 7, 33, 129, 1152})
        for (bool with_scale : {false, true}) {
          SCOPED_TRACE(dtName(dt) + " " + std::to_string(rows) + "x" +
                       std::to_string(cols) +
                       " scale=" + std::to_string(with_scale));
          HalfTensor x = randomHalf(dt, rows * cols, seed++, -2.f, 3.f);
          HalfTensor sc = randomHalf(dt, cols, seed++, 0.5f, 2.f);
          const float eps = 1e-6f;
          std::vector<double> want(rows * cols), slack(rows * cols);
          for (int64_t r = 0; r < rows; ++r) {
            const float *xr = x.vals.data() + r * cols;
            double ms = 0;
            for (int64_t c = 0; c < cols; ++c)
              ms += (double)xr[c] * xr[c];
            ms /= cols;
            for (int64_t c = 0; c < cols; ++c) {
              const double y =
                  xr[c] / std::sqrt(ms + eps) * (with_scale ? sc.vals[c] : 1.0);
              want[r * cols + c] = y;
              // No cancellation: the mean square (n positive terms) and the
              // few products are off by gamma_{n+8} relative, doubled.
              slack[r * cols + c] = 2 * gammaN(cols + 8) * std::fabs(y);
            }
          }
          const void *ps = with_scale ? sc.data() : nullptr;
          std::vector<uint16_t> y(rows * cols, halfNaN(dt));
          ditc_rt_rms_norm(dt, x.data(), ps, y.data(), rows, cols, eps);
          expectHalfNear(dt, y, want, 1, slack);
          std::vector<uint16_t> inplace = x.bits;
          ditc_rt_rms_norm(dt, inplace.data(), ps, inplace.data(), rows, cols,
                           eps);
          expectSameBits(inplace, y);
          ++ran;
        }
  EXPECT_EQ(ran, 2 * 2 * 5 * 2);
}

TEST_P(PrecisionTest, GroupNorm) {
  struct C {
    int64_t n, c, spatial, groups;
  } cases[] = {{1, 1, 1, 1},  {2, 6, 7, 3},  {1, 32, 33, 32},
               {2, 64, 17, 8}, {3, 4, 5, 1}, {1, 12, 129, 4}};
  uint32_t seed = 700;
  int ran = 0;
  for (int dt : kHalfTypes)
    for (const C &c : cases)
      for (bool affine : {false, true}) {
        SCOPED_TRACE(dtName(dt) + " " + std::to_string(c.c) + " channels " +
                     std::to_string(c.groups) + " groups, spatial " +
                     std::to_string(c.spatial));
        HalfTensor x = randomHalf(dt, c.n * c.c * c.spatial, seed++, -1, 4);
        HalfTensor sc = randomHalf(dt, c.c, seed++, 0.5f, 2.f);
        HalfTensor bi = randomHalf(dt, c.c, seed++);
        const float eps = 1e-5f;
        const int64_t cpg = c.c / c.groups, len = cpg * c.spatial;
        std::vector<double> want(x.size()), slack(x.size());
        for (int64_t t = 0; t < c.n * c.groups; ++t) {
          const float *xg = x.vals.data() + t * len;
          const auto [mean, mabs, rstd] = statsOf(xg, len, eps);
          for (int64_t i = 0; i < len; ++i) {
            const int64_t ch = (t % c.groups) * cpg + i / c.spatial;
            const double z = (xg[i] - mean) * rstd;
            const double s = affine ? sc.vals[ch] : 1.0;
            const double b = affine ? bi.vals[ch] : 0.0;
            want[t * len + i] = z * s + b;
            slack[t * len + i] =
                normSlack(gammaN(len + 2) * mabs, rstd, z, s, b, len);
          }
        }
        const void *ps = affine ? sc.data() : nullptr;
        const void *pb = affine ? bi.data() : nullptr;
        std::vector<uint16_t> y(x.size(), halfNaN(dt));
        ditc_rt_group_norm(dt, x.data(), ps, pb, y.data(), c.n, c.c, c.spatial,
                           c.groups, eps);
        expectHalfNear(dt, y, want, 1, slack);
        std::vector<uint16_t> inplace = x.bits;
        ditc_rt_group_norm(dt, inplace.data(), ps, pb, inplace.data(), c.n,
                           c.c, c.spatial, c.groups, eps);
        expectSameBits(inplace, y);
        ++ran;
      }
  EXPECT_EQ(ran, 2 * 6 * 2);
}

TEST_P(PrecisionTest, SoftmaxMiddleAxis) {
  struct C {
    int64_t outer, len, inner;
  } cases[] = {{1, 1, 1}, {3, 7, 1},  {5, 33, 7}, {2, 9, 129},
               {2, 1000, 1}, {4, 77, 6}, {1, 3, 1000}};
  uint32_t seed = 800;
  int ran = 0;
  for (int dt : kHalfTypes)
    for (const C &c : cases) {
      SCOPED_TRACE(dtName(dt) + " " + std::to_string(c.outer) + "," +
                   std::to_string(c.len) + "," + std::to_string(c.inner));
      HalfTensor x = randomHalf(dt, c.outer * c.len * c.inner, seed++, -8, 8);
      std::vector<double> want(x.size()), slack(x.size());
      for (int64_t o = 0; o < c.outer; ++o)
        for (int64_t i = 0; i < c.inner; ++i) {
          auto at = [&](int64_t l) { return (o * c.len + l) * c.inner + i; };
          double mx = -INFINITY, sum = 0;
          for (int64_t l = 0; l < c.len; ++l)
            mx = std::max(mx, (double)x.vals[at(l)]);
          for (int64_t l = 0; l < c.len; ++l)
            sum += std::exp(x.vals[at(l)] - mx);
          for (int64_t l = 0; l < c.len; ++l) {
            const double y = std::exp(x.vals[at(l)] - mx) / sum;
            want[at(l)] = y;
            // Positive terms, no cancellation: x - max rounds in f32
            // (u |x - max| in the exponent), exp_v is about 1 ulp, the sum
            // of len terms gamma_{len}, the division u: relative, doubled.
            slack[at(l)] = 2 *
                           (gammaN(c.len + 4) +
                            2 * kU * std::fabs(x.vals[at(l)] - mx)) *
                           y;
          }
        }
      std::vector<uint16_t> y(x.size(), halfNaN(dt));
      ditc_rt_softmax(dt, x.data(), y.data(), c.outer, c.len, c.inner);
      // Two ulp: exp_v is an approximation.
      expectHalfNear(dt, y, want, 2, slack);
      std::vector<uint16_t> inplace = x.bits;
      ditc_rt_softmax(dt, inplace.data(), inplace.data(), c.outer, c.len,
                      c.inner);
      expectSameBits(inplace, y);
      ++ran;
    }
  EXPECT_EQ(ran, 2 * 7);
}

//===--- Unary ------------------------------------------------------------===//

double refSigmoid(double x) { return 1 / (1 + std::exp(-x)); }
double refGelu(double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); }
double refGeluTanh(double x) {
  return 0.5 * x *
         (1 + std::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
}

struct UnaryCase {
  int op;
  const char *name;
  float lo, hi;
  std::function<double(double)> ref;
  // 0: the f32 op is exact (so is the half result); 1: correctly rounded or
  // within an f32 ulp (sqrtf, 1/x, cosf, sinf, logf: one f32 rounding then
  // one half rounding); 2: the f32 op is a polynomial approximation.
  int ulp;
  // The f32 approximation's error bound at x (0 for the others).
  std::function<double(double x, double y)> slack;
};

// Slacks of the approximate ops (y the exact result): the Cephes exp and
// tanh and the sigmoid built on exp are within a few f32 ulp, 8 u |y|; erf
// (a rational approximation, "a few ulp") 16 u |y|. gelu is
// 0.5 x (1 + erf(x / sqrt 2)): where erf is near -1 the sum cancels and
// only the absolute error 8 u |x| of 0.5 x erf survives. gelu_tanh is
// x / (1 + exp(-2a)), a = sqrt(2/pi) (x + 0.044715 x^3): the f32 argument
// 2a is off by about 4 u |2a|, which exp turns into a relative error.
double slackRel(double r, double y) { return r * kU * std::fabs(y); }
const UnaryCase kUnary[] = {
    {DITC_RT_UNARY_NEG, "neg", -5, 5, [](double x) { return -x; }, 0, nullptr},
    {DITC_RT_UNARY_SQRT, "sqrt", 0.01f, 100,
     [](double x) { return std::sqrt(x); }, 1, nullptr},
    {DITC_RT_UNARY_RECIPROCAL, "reciprocal", 0.1f, 4,
     [](double x) { return 1 / x; }, 1, nullptr},
    {DITC_RT_UNARY_EXP, "exp", -10, 10, [](double x) { return std::exp(x); },
     2, [](double, double y) { return slackRel(8, y); }},
    {DITC_RT_UNARY_ERF, "erf", -5, 5, [](double x) { return std::erf(x); }, 2,
     [](double, double y) { return slackRel(16, y); }},
    {DITC_RT_UNARY_COS, "cos", -10, 10, [](double x) { return std::cos(x); },
     1, nullptr},
    {DITC_RT_UNARY_SIN, "sin", -10, 10, [](double x) { return std::sin(x); },
     1, nullptr},
    {DITC_RT_UNARY_TANH, "tanh", -6, 6, [](double x) { return std::tanh(x); },
     2, [](double, double y) { return slackRel(8, y); }},
    {DITC_RT_UNARY_SIGMOID, "sigmoid", -15, 15, refSigmoid, 2,
     [](double, double y) { return slackRel(8, y); }},
    {DITC_RT_UNARY_RELU, "relu", -3, 3,
     [](double x) { return x > 0 ? x : 0.0; }, 0, nullptr},
    {DITC_RT_UNARY_GELU, "gelu", -6, 6, refGelu, 2,
     [](double x, double y) { return slackRel(8, x) + slackRel(16, y); }},
    {DITC_RT_UNARY_GELU_TANH, "gelu_tanh", -6, 6, refGeluTanh, 2,
     [](double x, double y) {
       double a2 = 1.5957691216057308 * (x + 0.044715 * x * x * x);
       return slackRel(8 + 4 * std::fabs(a2), y);
     }},
    {DITC_RT_UNARY_SILU, "silu", -15, 15,
     [](double x) { return x * refSigmoid(x); }, 2,
     [](double, double y) { return slackRel(8, y); }},
    {DITC_RT_UNARY_ABS, "abs", -3, 3, [](double x) { return std::fabs(x); }, 0,
     nullptr},
    {DITC_RT_UNARY_LOG, "log", 0.001f, 1000,
     [](double x) { return std::log(x); }, 1, nullptr},
    {DITC_RT_UNARY_FLOOR, "floor", -50, 50,
     [](double x) { return std::floor(x); }, 0, nullptr},
    {DITC_RT_UNARY_CEIL, "ceil", -50, 50, [](double x) { return std::ceil(x); },
     0, nullptr},
    {DITC_RT_UNARY_ROUND, "round", -50, 50,
     [](double x) { return std::nearbyint(x); }, 0, nullptr},
};
static_assert(sizeof(kUnary) / sizeof(kUnary[0]) == DITC_RT_UNARY_COUNT,
              "a unary op lacks a half test");

TEST_P(PrecisionTest, UnaryEveryOp) {
  uint32_t seed = 900;
  int ran = 0;
  for (int dt : kHalfTypes)
    for (const UnaryCase &c : kUnary)
      for (int64_t n : {1, 7, 33, 4099}) {
        SCOPED_TRACE(dtName(dt) + " " + c.name + " n=" + std::to_string(n));
        std::vector<float> xf = randomFloats(n, seed++, c.lo, c.hi);
        if (c.op == DITC_RT_UNARY_RECIPROCAL)
          for (int64_t i = 0; i < n; i += 2)
            xf[i] = -xf[i];
        if (c.op == DITC_RT_UNARY_ROUND && n > 8) {
          xf[1] = 2.5f; // halves go to even
          xf[2] = -3.5f;
          xf[3] = 0.5f;
        }
        if ((c.op == DITC_RT_UNARY_TANH || c.op == DITC_RT_UNARY_ERF) && n > 8) {
          xf[4] = 1e-4f; // the small-argument branch
          xf[5] = -0.3f;
          xf[6] = 0.62f;
        }
        std::vector<uint16_t> x = roundToHalf(dt, xf);
        std::vector<double> want(n), slack(n, 0.0);
        for (int64_t i = 0; i < n; ++i) {
          want[i] = c.ref(xf[i]);
          if (c.slack)
            slack[i] = c.slack(xf[i], want[i]);
        }
        std::vector<uint16_t> y(n, halfNaN(dt));
        ditc_rt_unary(c.op, dt, x.data(), y.data(), n);
        // gelu: erf_v's absolute error where erf(x / sqrt 2) is near -1
        // rounds about 15% of the (tiny) negative-tail results elsewhere
        // than the reference; the slack bounds them.
        expectHalfNear(dt, y, want, c.ulp, slack,
                       c.op == DITC_RT_UNARY_GELU ? 1.0 : 0.02);
        ditc_rt_unary(c.op, dt, x.data(), x.data(), n); // y == x
        expectSameBits(x, y);
        ++ran;
      }
  EXPECT_EQ(ran, 2 * DITC_RT_UNARY_COUNT * 4);
}

//===--- Rope -------------------------------------------------------------===//

TEST_P(PrecisionTest, Rope) {
  struct C {
    const char *name;
    std::vector<int64_t> x, table; // table's last dim is rot_dim
    int64_t n[3], t[3];
  } cases[] = {
      {"llama_shared", {2, 3, 7, 8}, {1, 1, 7, 8}, {6, 7, 1}, {0, 8, 0}},
      {"llama_2d_partial", {1, 2, 7, 10}, {7, 4}, {2, 7, 1}, {0, 4, 0}},
      {"llama_batch_table", {2, 3, 7, 8}, {2, 1, 7, 6}, {2, 3, 7}, {42, 0, 6}},
      {"flux_odd_partial", {2, 5, 3, 18}, {1, 5, 1, 12}, {2, 5, 3}, {0, 12, 0}},
      {"table_per_row", {3, 4, 5, 6}, {3, 4, 5, 6}, {60, 1, 1}, {6, 0, 0}},
      {"odd_half", {1, 3, 11, 70}, {11, 66}, {3, 11, 1}, {0, 66, 0}},
  };
  uint32_t seed = 1000;
  int ran = 0;
  for (int dt : kHalfTypes)
    for (const C &c : cases)
      for (int inter : {0, 1}) {
        SCOPED_TRACE(dtName(dt) + " " + c.name +
                     " interleaved=" + std::to_string(inter));
        const int64_t D = c.x.back(), R = c.table.back(), half = R / 2;
        const int64_t rows = product(c.x) / D;
        ASSERT_EQ(rows, c.n[0] * c.n[1] * c.n[2]);
        HalfTensor x = randomHalf(dt, product(c.x), seed++);
        HalfTensor cs = randomHalf(dt, product(c.table), seed++);
        HalfTensor sn = randomHalf(dt, product(c.table), seed++);
        std::vector<double> want(x.size()), slack(x.size(), 0.0);
        int64_t row = 0;
        for (int64_t i0 = 0; i0 < c.n[0]; ++i0)
          for (int64_t i1 = 0; i1 < c.n[1]; ++i1)
            for (int64_t i2 = 0; i2 < c.n[2]; ++i2, ++row) {
              const float *xr = x.vals.data() + row * D;
              const int64_t to = i0 * c.t[0] + i1 * c.t[1] + i2 * c.t[2];
              const float *cr = cs.vals.data() + to, *sr = sn.vals.data() + to;
              double *yr = want.data() + row * D, *sl = slack.data() + row * D;
              for (int64_t d = R; d < D; ++d)
                yr[d] = xr[d]; // passthrough: exact
              for (int64_t p = 0; p < half; ++p) {
                const int64_t a = inter ? 2 * p : p, b = inter ? 2 * p + 1 : p + half;
                const double xa = xr[a], xb = xr[b];
                yr[a] = xa * cr[a] - xb * sr[a];
                yr[b] = xb * cr[b] + xa * sr[b];
                // Two f32 products and a sum: 3 u times their magnitudes
                // (the difference may cancel).
                sl[a] = 3 * kU * (std::fabs(xa * cr[a]) + std::fabs(xb * sr[a]));
                sl[b] = 3 * kU * (std::fabs(xb * cr[b]) + std::fabs(xa * sr[b]));
              }
            }
        std::vector<uint16_t> y(x.size(), halfNaN(dt));
        ditc_rt_rope(dt, x.data(), cs.data(), sn.data(), y.data(), c.n[0],
                     c.n[1], c.n[2], D, R, c.t, inter);
        expectHalfNear(dt, y, want, 1, slack);
        int64_t passthrough_changed = 0;
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t d = R; d < D; ++d)
            passthrough_changed += y[r * D + d] != x.bits[r * D + d];
        EXPECT_EQ(passthrough_changed, 0);
        std::vector<uint16_t> inplace = x.bits;
        ditc_rt_rope(dt, inplace.data(), cs.data(), sn.data(), inplace.data(),
                     c.n[0], c.n[1], c.n[2], D, R, c.t, inter);
        expectSameBits(inplace, y);
        ++ran;
      }
  EXPECT_EQ(ran, 2 * 6 * 2);
}

//===--- Binary on BF16 ---------------------------------------------------===//

struct Layout {
  const char *name;
  std::vector<int64_t> shape, as, bs; // strides of a and b over shape
  int64_t a_count, b_count;
};

std::vector<Layout> bf16Layouts() {
  return {
      {"same", {5, 33}, {33, 1}, {33, 1}, 5 * 33, 5 * 33},
      {"rank0", {}, {}, {}, 1, 1},
      // a [7,1,33] x b [1,5,33]
      {"bcast", {7, 5, 33}, {33, 0, 1}, {0, 33, 1}, 7 * 33, 5 * 33},
      {"scalar_rhs", {9, 13}, {13, 1}, {0, 0}, 9 * 13, 1},
      {"scalar_lhs", {129}, {0}, {1}, 1, 129},
      // b transposed ([17, 40] storage), a a column
      {"column_transposed", {40, 17}, {1, 0}, {1, 40}, 40, 40 * 17},
      // on threads: a [300, 301] + b [300, 1]
      {"large", {300, 301}, {301, 1}, {1, 0}, 300 * 301, 300},
  };
}

double refBinary(int op, double x, double y) {
  switch (op) {
  case DITC_RT_BINARY_ADD:
    return x + y;
  case DITC_RT_BINARY_SUB:
    return x - y;
  case DITC_RT_BINARY_MUL:
    return x * y;
  case DITC_RT_BINARY_DIV:
    return x / y;
  case DITC_RT_BINARY_POW:
    return std::pow(x, y);
  case DITC_RT_BINARY_MAX:
    return std::max(x, y);
  case DITC_RT_BINARY_MIN:
    return std::min(x, y);
  case DITC_RT_BINARY_FMOD:
    return std::fmod(x, y);
  case DITC_RT_BINARY_MOD: {
    double r = std::fmod(x, y);
    return r != 0 && (r < 0) != (y < 0) ? r + y : r;
  }
  }
  ADD_FAILURE() << "no reference for op " << op;
  return 0;
}

TEST_P(PrecisionTest, BinaryBF16) {
  const int dt = DITC_RT_BF16;
  uint32_t seed = 1100;
  int ops = 0, ran = 0;
  for (int op = 0; op < DITC_RT_BINARY_COUNT; ++op) {
    if (!(ditc_rt_binary_dtypes(op) & (1u << dt)))
      continue;
    ++ops;
    const bool divides = op == DITC_RT_BINARY_DIV || op == DITC_RT_BINARY_MOD ||
                         op == DITC_RT_BINARY_FMOD;
    const bool cmp = isComparison(op);
    for (const Layout &L : bf16Layouts()) {
      SCOPED_TRACE("bf16 op " + std::to_string(op) + " layout " + L.name);
      std::vector<float> af, bf;
      if (op == DITC_RT_BINARY_POW) {
        af = randomFloats(L.a_count, seed++, 0.1f, 3.f);
        bf = randomFloats(L.b_count, seed++, -2.f, 2.f);
      } else {
        af = randomFloats(L.a_count, seed++, -4.f, 4.f);
        bf = randomFloats(L.b_count, seed++, -4.f, 4.f);
        for (size_t i = 0; i < af.size(); i += 4) // integral values
          af[i] = (float)(int)(af[i] * 2) == 0 ? 1.f : (float)(int)(af[i] * 2);
        if (divides)
          for (float &e : bf) // away from 0
            e = e < 0 ? e - 0.5f : e + 0.5f;
      }
      std::vector<uint16_t> a = roundToHalf(dt, af), b = roundToHalf(dt, bf);
      if (L.a_count == L.b_count && op != DITC_RT_BINARY_POW && !divides)
        for (int64_t i = 0; i < L.a_count; i += 5) { // equal pairs
          b[i] = a[i];
          bf[i] = af[i];
        }
      const int64_t n = product(L.shape);
      std::vector<double> want(n);
      std::vector<uint8_t> want_b(n);
      int64_t o = 0;
      forEachIndex(L.shape, [&](const std::vector<int64_t> &idx) {
        const double x = af[dot(idx, L.as)], y = bf[dot(idx, L.bs)];
        if (cmp)
          want_b[o++] = refCompare<double>(op, x, y);
        else
          want[o++] = refBinary(op, x, y);
      });
      ASSERT_EQ(o, n);
      if (cmp) {
        std::vector<uint8_t> got(n, 7);
        ditc_rt_binary(op, dt, a.data(), L.as.data(), b.data(), L.bs.data(),
                       got.data(), L.shape.data(), (int32_t)L.shape.size());
        int64_t wrong = 0;
        for (int64_t i = 0; i < n; ++i)
          wrong += got[i] != want_b[i];
        EXPECT_EQ(wrong, 0);
      } else {
        std::vector<uint16_t> got(n, halfNaN(dt));
        ditc_rt_binary(op, dt, a.data(), L.as.data(), b.data(), L.bs.data(),
                       got.data(), L.shape.data(), (int32_t)L.shape.size());
        // MAX, MIN: exact. The others: one f32 rounding (powf within an
        // f32 ulp) and one bf16 rounding: 1 ulp.
        const bool exact =
            op == DITC_RT_BINARY_MAX || op == DITC_RT_BINARY_MIN;
        expectHalfNear(dt, got, want, exact ? 0 : 1);
        if (std::string(L.name) == "same") { // out may be a
          std::vector<uint16_t> inplace = a;
          ditc_rt_binary(op, dt, inplace.data(), L.as.data(), b.data(),
                         L.bs.data(), inplace.data(), L.shape.data(),
                         (int32_t)L.shape.size());
          expectSameBits(inplace, got);
        }
      }
      ++ran;
    }
  }
  // ADD SUB MUL DIV POW MAX MIN, 6 comparisons, MOD FMOD.
  EXPECT_EQ(ops, 15);
  EXPECT_EQ(ran, 15 * 7);
}

//===--- mul_add ----------------------------------------------------------===//

// a * b + c over `shape`, each operand read with its strides from element
// `off` of its buffer (count elements).
struct MulAddLayout {
  const char *name;
  std::vector<int64_t> shape;
  std::vector<int64_t> st[3];
  int64_t count[3], off[3];
};

std::vector<MulAddLayout> mulAddLayouts() {
  return {
      // A DiT's gated residual: gate [2,1,33] * y [2,5,33] + x [2,5,33].
      {"gate", {2, 5, 33}, {{33, 0, 1}, {165, 33, 1}, {165, 33, 1}},
       {66, 330, 330}, {0, 0, 0}},
      {"rank0", {}, {{}, {}, {}}, {1, 1, 1}, {0, 0, 0}},
      // b a scalar, c a column, a read backwards along its rows.
      {"scalar_column_reversed", {9, 13}, {{13, -1}, {0, 0}, {1, 0}},
       {117, 1, 9}, {12, 0, 0}},
      // b transposed ([17, 40] storage).
      {"transposed", {40, 17}, {{17, 1}, {1, 40}, {17, 1}},
       {680, 680, 680}, {0, 0, 0}},
      // On threads: [300, 301] with a bias row a.
      {"large", {300, 301}, {{0, 1}, {301, 1}, {301, 1}},
       {301, 90300, 90300}, {0, 0, 0}},
  };
}

// Each dtype against a double reference: F32 within the two roundings of
// the product and the sum (or one, fused); F16 / BF16 one rounding of that
// f32 value (1 ulp, and the rounded reference nearly everywhere: a product
// rounded to the half type first fails the inexact count). Over c's buffer
// when c has out's layout.
TEST_P(PrecisionTest, MulAddRoundsOnce) {
  uint32_t seed = 1300;
  int ran = 0;
  for (int dt : {DITC_RT_F32, DITC_RT_F16, DITC_RT_BF16})
    for (const MulAddLayout &L : mulAddLayouts()) {
      SCOPED_TRACE(dtName(dt) + " layout " + L.name);
      std::vector<float> v[3];
      std::vector<uint16_t> h[3];
      for (int k = 0; k < 3; ++k) {
        v[k] = randomFloats(L.count[k], seed++, -3.f, 3.f);
        if (dt != DITC_RT_F32)
          h[k] = roundToHalf(dt, v[k]);
      }
      const int64_t n = product(L.shape);
      std::vector<double> want(n), slack(n);
      int64_t o = 0;
      forEachIndex(L.shape, [&](const std::vector<int64_t> &idx) {
        double x[3];
        for (int k = 0; k < 3; ++k)
          x[k] = v[k][L.off[k] + dot(idx, L.st[k])];
        want[o] = x[0] * x[1] + x[2];
        slack[o++] = 2 * kU * (std::fabs(x[0] * x[1]) + std::fabs(x[2]));
      });
      const void *in[3];
      for (int k = 0; k < 3; ++k)
        in[k] = dt == DITC_RT_F32 ? (const void *)(v[k].data() + L.off[k])
                                  : (const void *)(h[k].data() + L.off[k]);
      const int32_t rank = (int32_t)L.shape.size();
      const bool cInPlace = L.count[2] == n && L.off[2] == 0 &&
                            (rank == 0 || L.st[2].back() == 1);
      if (dt == DITC_RT_F32) {
        std::vector<float> got(n, NAN);
        ditc_rt_mul_add(dt, in[0], L.st[0].data(), in[1], L.st[1].data(), in[2],
                        L.st[2].data(), got.data(), L.shape.data(), rank);
        int64_t bad = 0;
        for (int64_t i = 0; i < n; ++i)
          bad += !(std::fabs(got[i] - want[i]) <= slack[i]);
        EXPECT_EQ(bad, 0) << "elements off, of " << n;
        if (cInPlace) {
          std::vector<float> c = v[2];
          ditc_rt_mul_add(dt, in[0], L.st[0].data(), in[1], L.st[1].data(), c.data(),
                          L.st[2].data(), c.data(), L.shape.data(), rank);
          EXPECT_EQ(c, got);
        }
      } else {
        std::vector<uint16_t> got(n, halfNaN(dt));
        ditc_rt_mul_add(dt, in[0], L.st[0].data(), in[1], L.st[1].data(), in[2],
                        L.st[2].data(), got.data(), L.shape.data(), rank);
        expectHalfNear(dt, got, want, 1, slack);
        if (cInPlace) {
          std::vector<uint16_t> c = h[2];
          ditc_rt_mul_add(dt, in[0], L.st[0].data(), in[1], L.st[1].data(), c.data(),
                          L.st[2].data(), c.data(), L.shape.data(), rank);
          expectSameBits(c, got);
        }
      }
      ++ran;
    }
  EXPECT_EQ(ran, 3 * 5);
}

//===--- Reduce on F16 / BF16 ---------------------------------------------===//

TEST_P(PrecisionTest, ReduceHalf) {
  struct C {
    std::vector<int64_t> shape;
    std::vector<int64_t> masks;
  } cases[] = {
      {{}, {0}},
      {{1}, {0, 1}},
      {{7}, {1}},
      {{129}, {1}},
      {{3, 5, 7}, {1, 2, 4, 3, 5, 6, 7, 0}},
      {{2, 1, 33, 4}, {1, 2, 4, 8, 10, 5, 15}},
      {{33, 129}, {1, 2, 3}},
      {{4, 3, 2, 5, 7}, {21, 10, 31}},
  };
  uint32_t seed = 1200;
  int ran = 0;
  for (int dt : kHalfTypes)
    for (const C &c : cases)
      for (int64_t mask : c.masks)
        for (int op = 0; op < DITC_RT_REDUCE_COUNT; ++op) {
          SCOPED_TRACE(dtName(dt) + " op " + std::to_string(op) + " rank " +
                       std::to_string(c.shape.size()) + " mask " +
                       std::to_string(mask));
          const int64_t n = product(c.shape);
          // Magnitudes in [0.5, 1.5] ([0.9, 1.1] for PROD, which stays in
          // range over 4257 factors), every third negative.
          const bool prod = op == DITC_RT_REDUCE_PROD;
          std::vector<float> xf =
              randomFloats(n, seed++, prod ? 0.9f : 0.5f, prod ? 1.1f : 1.5f);
          for (int64_t i = 0; i < n; i += 3)
            xf[i] = -xf[i];
          std::vector<uint16_t> x = roundToHalf(dt, xf);
          std::vector<int64_t> oshape = c.shape;
          for (size_t d = 0; d < c.shape.size(); ++d)
            if ((mask >> d) & 1)
              oshape[d] = 1;
          const std::vector<int64_t> ostr = contiguousStrides(oshape),
                                     xstr = contiguousStrides(c.shape);
          std::vector<std::vector<double>> groups(product(oshape));
          forEachIndex(c.shape, [&](const std::vector<int64_t> &idx) {
            std::vector<int64_t> oi = idx;
            for (size_t d = 0; d < idx.size(); ++d)
              if ((mask >> d) & 1)
                oi[d] = 0;
            groups[dot(oi, ostr)].push_back(xf[dot(idx, xstr)]);
          });
          std::vector<double> want(groups.size()), slack(groups.size());
          for (size_t g = 0; g < groups.size(); ++g) {
            const std::vector<double> &v = groups[g];
            const int64_t len = (int64_t)v.size();
            double r = 0, mag = 0;
            if (op == DITC_RT_REDUCE_MAX)
              r = *std::max_element(v.begin(), v.end());
            else if (op == DITC_RT_REDUCE_MIN)
              r = *std::min_element(v.begin(), v.end());
            else if (prod) {
              r = 1;
              for (double e : v)
                r *= e;
            } else {
              for (double e : v) {
                r += e;
                mag += std::fabs(e);
              }
              if (op == DITC_RT_REDUCE_MEAN) {
                r /= len;
                mag /= len;
              }
            }
            want[g] = r;
            // SUM / MEAN: an f32 sum of len terms that cancel, gamma_{len+1}
            // times the sum of magnitudes; PROD: gamma_len relative; MAX /
            // MIN are exact (slack 0).
            slack[g] = prod ? gammaN(len) * std::fabs(r)
                            : gammaN(len + 1) * mag;
          }
          std::vector<uint16_t> y(groups.size(), halfNaN(dt));
          ditc_rt_reduce(op, dt, x.data(), c.shape.data(),
                         (int32_t)c.shape.size(), mask, y.data());
          const bool exact =
              op == DITC_RT_REDUCE_MAX || op == DITC_RT_REDUCE_MIN;
          expectHalfNear(dt, y, want, exact ? 0 : 1, slack);
          ++ran;
        }
  EXPECT_EQ(ran, 2 * 26 * DITC_RT_REDUCE_COUNT);
}

//===--- F32 forwards -----------------------------------------------------===//

// dtype F32 calls the _f32 kernel: the same bits, on float data.
TEST_P(PrecisionTest, F32ForwardsBitForBit) {
  const float nan = std::nanf("");
  int kernels = 0;
  { // linear
    const int64_t m = 7, k = 33, n = 17;
    std::vector<float> x = randomFloats(m * k, 1), w = randomFloats(k * n, 2),
                       b = randomFloats(n, 3), y0(m * n, nan), y1(m * n, nan);
    for (int tw : {0, 1}) {
      for (int32_t act : {int32_t(DITC_RT_ACTIVATION_NONE), int32_t(DITC_RT_UNARY_GELU_TANH)}) {
        ditc_rt_linear(DITC_RT_F32, x.data(), w.data(), b.data(), y0.data(), m,
                       k, n, tw, act);
        ditc_rt_linear_f32(x.data(), w.data(), b.data(), y1.data(), m, k, n, tw,
                           act);
        expectSameFloats(y0, y1);
      }
    }
    ++kernels;
  }
  { // matmul, a [2,1] x b [1,3] batches
    const int64_t m = 5, k = 6, n = 7, shape[] = {2, 3},
                  as[] = {m * k, 0}, bs[] = {0, k * n};
    std::vector<float> a = randomFloats(2 * m * k, 4),
                       b = randomFloats(3 * k * n, 5), c0(6 * m * n, nan),
                       c1(6 * m * n, nan);
    ditc_rt_matmul(DITC_RT_F32, a.data(), b.data(), c0.data(), m, k, n, 2,
                   shape, as, bs);
    ditc_rt_matmul_f32(a.data(), b.data(), c1.data(), m, k, n, 2, shape, as,
                       bs);
    expectSameFloats(c0, c1);
    ++kernels;
  }
  { // conv2d
    const ConvCase &c = kConv[3];
    const int64_t oh = convOut(c.h, c.pt, c.pb, c.dh, c.kh, c.sh);
    const int64_t ow = convOut(c.w, c.pl, c.pr, c.dw, c.kw, c.sw);
    std::vector<float> x = randomFloats(c.n * c.c * c.h * c.w, 6),
                       w = randomFloats(c.m * (c.c / c.g) * c.kh * c.kw, 7),
                       b = randomFloats(c.m, 8), y0(c.n * c.m * oh * ow, nan),
                       y1(y0.size(), nan);
    ditc_rt_conv2d(DITC_RT_F32, x.data(), w.data(), b.data(), y0.data(), c.n,
                   c.c, c.h, c.w, c.m, c.kh, c.kw, c.sh, c.sw, c.pt, c.pl,
                   c.pb, c.pr, c.dh, c.dw, c.g);
    ditc_rt_conv2d_f32(x.data(), w.data(), b.data(), y1.data(), c.n, c.c, c.h,
                       c.w, c.m, c.kh, c.kw, c.sh, c.sw, c.pt, c.pl, c.pb,
                       c.pr, c.dh, c.dw, c.g);
    expectSameFloats(y0, y1);
    ++kernels;
  }
  { // attention and ring_attention
    for (int ci : {1, 2}) {
      GlobalAttention g = makeAttention(kAttn[ci], 9 + ci);
      g.kv_valid = kAttn[ci].kv_valid;
      const size_t os = g.B * g.H * g.Sq * g.Dv;
      std::vector<float> o0(os, nan), o1(os, nan), o2(os, nan), o3(os, nan);
      ditc_rt_attention(DITC_RT_F32, g.q.data(), g.k.data(), g.v.data(),
                        g.mask(), g.mask_kind, g.maskStrides(), o0.data(), g.B,
                        g.H, g.Hkv, g.Sq, g.Sk, g.D, g.Dv, g.scale, g.causal);
      ditc_rt_attention_f32(g.q.data(), g.k.data(), g.v.data(), g.mask(),
                            g.mask_kind, g.maskStrides(), o1.data(), g.B, g.H,
                            g.Hkv, g.Sq, g.Sk, g.D, g.Dv, g.scale, g.causal);
      expectSameFloats(o0, o1);
      EXPECT_EQ(0, ditc_rt_ring_attention(
                       nullptr, DITC_RT_F32, g.q.data(), g.k.data(),
                       g.v.data(), g.mask(), g.mask_kind, g.maskStrides(),
                       o2.data(), g.B, g.H, g.Hkv, g.Sq, g.Sk, g.D, g.Dv,
                       g.scale, g.causal, g.kv_valid, /*layout=*/0));
      EXPECT_EQ(0, ditc_rt_ring_attention_f32(
                       nullptr, g.q.data(), g.k.data(), g.v.data(), g.mask(),
                       g.mask_kind, g.maskStrides(), o3.data(), g.B, g.H,
                       g.Hkv, g.Sq, g.Sk, g.D, g.Dv, g.scale, g.causal,
                       g.kv_valid));
      expectSameFloats(o2, o3);
    }
    kernels += 2;
  }
  const int64_t rows = 5, cols = 129;
  std::vector<float> x = randomFloats(rows * cols, 10, -3.f, 5.f),
                     s = randomFloats(cols, 11, 0.5f, 2.f),
                     b = randomFloats(cols, 12), y0(rows * cols, nan),
                     y1(rows * cols, nan);
  ditc_rt_layer_norm(DITC_RT_F32, x.data(), s.data(), b.data(), y0.data(),
                     rows, cols, 1e-5f);
  ditc_rt_layer_norm_f32(x.data(), s.data(), b.data(), y1.data(), rows, cols,
                         1e-5f);
  expectSameFloats(y0, y1);
  ++kernels;
  ditc_rt_rms_norm(DITC_RT_F32, x.data(), s.data(), y0.data(), rows, cols,
                   1e-6f);
  ditc_rt_rms_norm_f32(x.data(), s.data(), y1.data(), rows, cols, 1e-6f);
  expectSameFloats(y0, y1);
  ++kernels;
  { // group_norm: x as [1, 15, 43] in 5 groups
    std::vector<float> gs = randomFloats(15, 13), gb = randomFloats(15, 14);
    ditc_rt_group_norm(DITC_RT_F32, x.data(), gs.data(), gb.data(), y0.data(),
                       1, 15, 43, 5, 1e-5f);
    ditc_rt_group_norm_f32(x.data(), gs.data(), gb.data(), y1.data(), 1, 15,
                           43, 5, 1e-5f);
    expectSameFloats(y0, y1);
    ++kernels;
  }
  ditc_rt_softmax(DITC_RT_F32, x.data(), y0.data(), 5, 43, 3);
  ditc_rt_softmax_f32(x.data(), y1.data(), 5, 43, 3);
  expectSameFloats(y0, y1);
  ++kernels;
  for (int op = 0; op < DITC_RT_UNARY_COUNT; ++op) {
    std::vector<float> ux = randomFloats(rows * cols, 20 + op, 0.1f, 4.f);
    ditc_rt_unary(op, DITC_RT_F32, ux.data(), y0.data(), rows * cols);
    ditc_rt_unary_f32(op, ux.data(), y1.data(), rows * cols);
    expectSameFloats(y0, y1);
  }
  ++kernels;
  { // rope: [2,3,7,10] with tables [7, 6] (4 features pass through)
    std::vector<float> rx = randomFloats(2 * 3 * 7 * 10, 40),
                       cs = randomFloats(7 * 6, 41), sn = randomFloats(7 * 6, 42),
                       r0(rx.size(), nan), r1(rx.size(), nan);
    const int64_t t[3] = {0, 6, 0};
    for (int inter : {0, 1}) {
      ditc_rt_rope(DITC_RT_F32, rx.data(), cs.data(), sn.data(), r0.data(), 6,
                   7, 1, 10, 6, t, inter);
      ditc_rt_rope_f32(rx.data(), cs.data(), sn.data(), r1.data(), 6, 7, 1, 10,
                       6, t, inter);
      expectSameFloats(r0, r1);
    }
    ++kernels;
  }
  EXPECT_EQ(kernels, 11);
}

DITC_INSTANTIATE_ISA(PrecisionTest);

//===--- Unknown dtypes ---------------------------------------------------===//

// One line on stderr, naming the kernel, then abort.
TEST(PrecisionDeathTest, UnknownDtypeAbortsNamingTheKernel) {
  float v[8] = {1, 1, 1, 1, 1, 1, 1, 1}, y[8];
  const int64_t st[4] = {0, 0, 0, 0}, shape[1] = {1};
  const int I32 = DITC_RT_I32;
#define DITC_EXPECT_DTYPE_DEATH(call, kernel, dtype)                           \
  EXPECT_DEATH(call, "^ditc runtime: " kernel ": dtype " #dtype                \
                     " is not F32, F16 or BF16\n$")
  DITC_EXPECT_DTYPE_DEATH(
      ditc_rt_linear(I32, v, v, nullptr, y, 1, 1, 1, 0, DITC_RT_ACTIVATION_NONE),
      "linear", 2);
  DITC_EXPECT_DTYPE_DEATH(
      ditc_rt_matmul(I32, v, v, y, 1, 1, 1, 1, shape, st, st), "matmul", 2);
  DITC_EXPECT_DTYPE_DEATH(ditc_rt_conv2d(I32, v, v, nullptr, y, 1, 1, 1, 1, 1,
                                         1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1),
                          "conv2d", 2);
  DITC_EXPECT_DTYPE_DEATH(ditc_rt_attention(DITC_RT_F64, v, v, v, nullptr,
                                            DITC_RT_MASK_NONE, nullptr, y, 1,
                                            1, 1, 1, 1, 1, 1, 1.f, 0),
                          "attention", 6);
  DITC_EXPECT_DTYPE_DEATH(
      ditc_rt_layer_norm(I32, v, nullptr, nullptr, y, 1, 8, 1e-5f),
      "layer_norm", 2);
  DITC_EXPECT_DTYPE_DEATH(ditc_rt_rms_norm(I32, v, nullptr, y, 1, 8, 1e-5f),
                          "rms_norm", 2);
  DITC_EXPECT_DTYPE_DEATH(
      ditc_rt_group_norm(I32, v, nullptr, nullptr, y, 1, 2, 4, 1, 1e-5f),
      "group_norm", 2);
  DITC_EXPECT_DTYPE_DEATH(ditc_rt_mul_add(I32, v, st, v, st, v, st, y, shape, 1),
                          "mul_add", 2);
  DITC_EXPECT_DTYPE_DEATH(ditc_rt_softmax(DITC_RT_B8, v, y, 1, 8, 1),
                          "softmax", 3);
  DITC_EXPECT_DTYPE_DEATH(
      ditc_rt_unary(DITC_RT_UNARY_EXP, I32, v, y, 8), "unary", 2);
  DITC_EXPECT_DTYPE_DEATH(ditc_rt_rope(DITC_RT_DTYPE_COUNT, v, v, v, y, 1, 1, 1,
                                       8, 8, st, 0),
                          "rope", 13);
#undef DITC_EXPECT_DTYPE_DEATH
}

// BF16 binary reads reversed operands (negative strides) as the f32 kernel
// does: a[1], a[0] (stride -1 from a + 1) minus b[0], b[1], b[2]... over a
// 2 x 3 broadcast, against the double reference rounded once.
TEST(PrecisionBinary, BF16NegativeStrides) {
  const double av[2] = {1.5, -2.75}, bv[3] = {0.3125, 4.5, -1.25};
  uint16_t a[2], b[3], y[6];
  for (int i = 0; i < 2; ++i)
    a[i] = refToBF16(av[i]);
  for (int i = 0; i < 3; ++i)
    b[i] = refToBF16(bv[i]);
  const int64_t shape[2] = {2, 3}, as[2] = {-1, 0}, bs[2] = {0, 1};
  ditc_rt_binary(DITC_RT_BINARY_SUB, DITC_RT_BF16, a + 1, as, b, bs, y, shape, 2);
  int checked = 0;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j, ++checked)
      EXPECT_EQ(y[i * 3 + j], refToBF16(av[1 - i] - bv[j])) << i << "," << j;
  EXPECT_EQ(checked, 6);
}

} // namespace
