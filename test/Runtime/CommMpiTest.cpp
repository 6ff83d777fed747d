//===- CommMpiTest.cpp - ditc_comm.h: the "mpi" communicator --------------===//
//
// Runs under mpirun (test/Runtime/comm-mpi.test: -np 1, 2, 3, 4 and without
// a launcher, a singleton). Every rank builds every rank's input from the
// same seeds (random, never zero) and checks what it got against a naive
// reference: every collective, every dtype, both reduce ops, in-place forms,
// count 0, odd counts, send / recv between every pair of ranks (uneven
// sizes), the byte counters, argument errors and timeouts. Rank 0 prints
// GoogleTest's report; the others print only their failures.
//
// `RuntimeCommMpi --dead-peer=exit|_exit|abort|hang TIMEOUT_MS` is not a
// test run: the last rank leaves or hangs before an all_reduce that the
// others enter (see comm-mpi-dead-peer.test).
//
//===----------------------------------------------------------------------===//
#include "ditc/runtime/ditc_comm.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

int32_t gRank = 0, gSize = 1;
// The backend under test: "mpi", or DITC_TEST_COMM_BACKEND (comm-nccl.test
// runs the tests NCCL can pass with "nccl"). The timeout tests' extra "sync"
// communicators stay "mpi".
const char *gBackend = "mpi";
// Long enough for a loaded machine; a broken test fails, it never hangs.
constexpr int64_t kTimeoutMs = 60000;

using Bytes = std::vector<unsigned char>;
using Clock = std::chrono::steady_clock;

double msSince(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

constexpr int32_t kAllDtypes[] = {DITC_RT_F32, DITC_RT_I64, DITC_RT_I32,
                                  DITC_RT_B8,  DITC_RT_F16, DITC_RT_BF16};
constexpr int32_t kReduceDtypes[] = {DITC_RT_F32, DITC_RT_I64, DITC_RT_I32,
                                     DITC_RT_F16, DITC_RT_BF16};
constexpr int64_t kCounts[] = {1, 7, 1000, 4099};

size_t elemSize(int32_t dtype) {
  switch (dtype) {
  case DITC_RT_I64:
    return 8;
  case DITC_RT_F32:
  case DITC_RT_I32:
    return 4;
  case DITC_RT_F16:
  case DITC_RT_BF16:
    return 2;
  default:
    return 1;
  }
}

std::string dtypeName(int32_t d) {
  static const char *n[] = {"f32", "i64", "i32", "b8", "f16", "bf16"};
  return n[d];
}

float f16ToF32(uint16_t h) {
  _Float16 x;
  std::memcpy(&x, &h, 2);
  return (float)x;
}
uint16_t f32ToF16(float f) {
  _Float16 x = (_Float16)f;
  uint16_t h;
  std::memcpy(&h, &x, 2);
  return h;
}
float bf16ToF32(uint16_t h) {
  uint32_t u = (uint32_t)h << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
uint16_t f32ToBf16(float f) { // finite values only
  uint32_t u;
  std::memcpy(&u, &f, 4);
  u += 0x7fffu + ((u >> 16) & 1u);
  return (uint16_t)(u >> 16);
}

// Element i of a buffer as a double (floats widened, integers exact enough
// for the tolerances below; integers are compared exactly elsewhere).
double valueAt(int32_t d, const unsigned char *p, int64_t i) {
  switch (d) {
  case DITC_RT_F32: {
    float f;
    std::memcpy(&f, p + 4 * i, 4);
    return f;
  }
  case DITC_RT_F16:
  case DITC_RT_BF16: {
    uint16_t h;
    std::memcpy(&h, p + 2 * i, 2);
    return d == DITC_RT_F16 ? f16ToF32(h) : bf16ToF32(h);
  }
  default:
    return 0;
  }
}

// Rank q's count elements for `seed`: random, never zero. Floats lie in
// [-4, 4] (so that halves neither overflow nor go subnormal); integers stay
// far from overflow when summed over a few ranks; B8 bytes are 1..255.
Bytes rankData(int32_t d, int64_t count, uint32_t seed, int32_t q) {
  std::mt19937 rng(seed * 7919u + (uint32_t)q * 104729u + 1u);
  std::uniform_real_distribution<float> real(-4.f, 4.f);
  size_t e = elemSize(d);
  Bytes v(count * e);
  for (int64_t i = 0; i < count; ++i) {
    unsigned char *p = v.data() + i * e;
    switch (d) {
    case DITC_RT_F32:
    case DITC_RT_F16:
    case DITC_RT_BF16: {
      float x;
      uint16_t h = 0;
      do {
        x = real(rng);
        if (d == DITC_RT_F16)
          h = f32ToF16(x);
        else if (d == DITC_RT_BF16)
          h = f32ToBf16(x);
      } while (d == DITC_RT_F32 ? x == 0.f : (h & 0x7fff) == 0);
      if (d == DITC_RT_F32)
        std::memcpy(p, &x, 4);
      else
        std::memcpy(p, &h, 2);
      break;
    }
    case DITC_RT_I64: {
      int64_t x;
      do
        x = (int64_t)(rng() | ((uint64_t)rng() << 32)) >> 23; // |x| < 2^41
      while (x == 0);
      std::memcpy(p, &x, 8);
      break;
    }
    case DITC_RT_I32: {
      int32_t x;
      do
        x = (int32_t)rng() >> 8; // |x| < 2^23
      while (x == 0);
      std::memcpy(p, &x, 4);
      break;
    }
    default:
      p[0] = (unsigned char)(1 + rng() % 255);
    }
  }
  return v;
}

// Checks element i of `got` (count elements) against the reduction over
// ranks of in[q] at element offset + i. Integers and MAX exactly; sums of
// floats exactly for up to 2 ranks (one rounding of the f32 sum), else within
// (P - 1) roundings of the partial sums.
void checkReduced(int32_t d, int32_t op, const std::vector<Bytes> &in,
                  int64_t offset, const unsigned char *got, int64_t count) {
  int64_t bad = 0;
  for (int64_t i = 0; i < count && bad < 5; ++i) {
    int64_t k = offset + i;
    if (d == DITC_RT_I64 || d == DITC_RT_I32) {
      int64_t want = 0, g;
      for (size_t q = 0; q < in.size(); ++q) {
        int64_t x;
        if (d == DITC_RT_I64) {
          std::memcpy(&x, in[q].data() + 8 * k, 8);
        } else {
          int32_t y;
          std::memcpy(&y, in[q].data() + 4 * k, 4);
          x = y;
        }
        want = op == DITC_RT_REDUCE_MAX ? (q == 0 ? x : std::max(want, x))
                                        : want + x;
      }
      if (d == DITC_RT_I64) {
        std::memcpy(&g, got + 8 * i, 8);
      } else {
        int32_t y;
        std::memcpy(&y, got + 4 * i, 4);
        g = y;
      }
      if (g != want) {
        ++bad;
        ADD_FAILURE() << "element " << i << ": " << g << ", want " << want;
      }
      continue;
    }
    double g = valueAt(d, got, i), sumAbs = 0, exact = 0;
    double want = -INFINITY;
    float pairSum = 0; // the two-rank sum with one rounding
    for (size_t q = 0; q < in.size(); ++q) {
      double x = valueAt(d, in[q].data(), k);
      want = std::max(want, x);
      exact += x;
      sumAbs += std::fabs(x);
      pairSum += (float)x;
    }
    if (op == DITC_RT_REDUCE_MAX) {
      if (g != want) {
        ++bad;
        ADD_FAILURE() << "element " << i << ": " << g << ", want max " << want;
      }
      continue;
    }
    if (in.size() <= 2) {
      double w = d == DITC_RT_F32   ? (double)pairSum
                 : d == DITC_RT_F16 ? f16ToF32(f32ToF16(pairSum))
                                    : bf16ToF32(f32ToBf16(pairSum));
      if (g != w) {
        ++bad;
        ADD_FAILURE() << "element " << i << ": " << g << ", want " << w;
      }
      continue;
    }
    double u = d == DITC_RT_F32 ? 0x1p-24 : d == DITC_RT_F16 ? 0x1p-11 : 0x1p-8;
    double tol = (double)in.size() * u * sumAbs;
    if (!(std::fabs(g - exact) <= tol)) {
      ++bad;
      ADD_FAILURE() << "element " << i << ": " << g << ", want " << exact
                    << " within " << tol;
    }
  }
}

class Mpi : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_EQ(ditc_rt_comm_create(gBackend, &c), DITC_RT_COMM_OK)
        << ditc_rt_comm_last_error();
    ASSERT_EQ(ditc_rt_comm_set_timeout_ms(c, kTimeoutMs), DITC_RT_COMM_OK);
    r = gRank;
    p = gSize;
  }
  void TearDown() override { ditc_rt_comm_destroy(c); }

  uint64_t bytes(int32_t kind) {
    uint64_t b = ~0ull;
    EXPECT_EQ(ditc_rt_comm_stats(c, kind, &b, nullptr), DITC_RT_COMM_OK);
    return b;
  }
  uint64_t calls(int32_t kind) {
    uint64_t n = ~0ull;
    EXPECT_EQ(ditc_rt_comm_stats(c, kind, nullptr, &n), DITC_RT_COMM_OK);
    return n;
  }
  std::vector<Bytes> allRanks(int32_t d, int64_t count, uint32_t seed) {
    std::vector<Bytes> v;
    for (int32_t q = 0; q < p; ++q)
      v.push_back(rankData(d, count, seed, q));
    return v;
  }
  // Every rank holds the same bytes in `buf`.
  void expectSameOnEveryRank(const Bytes &buf) {
    Bytes all(buf.size() * p);
    ASSERT_EQ(ditc_rt_comm_all_gather(c, buf.data(), all.data(),
                                      (int64_t)buf.size(), DITC_RT_B8),
              DITC_RT_COMM_OK)
        << ditc_rt_comm_last_error();
    for (int32_t q = 0; q < p; ++q)
      EXPECT_TRUE(
          std::equal(buf.begin(), buf.end(), all.begin() + q * buf.size()))
          << "rank " << q << " got other bytes than rank " << r;
  }

  ditc_rt_comm *c = nullptr;
  int32_t r = 0, p = 1;
};

TEST_F(Mpi, WorldAndBackend) {
  int32_t rank = -1, size = -1;
  ASSERT_EQ(ditc_rt_comm_rank(c, &rank), DITC_RT_COMM_OK);
  ASSERT_EQ(ditc_rt_comm_size(c, &size), DITC_RT_COMM_OK);
  EXPECT_EQ(rank, gRank);
  EXPECT_EQ(size, gSize);
  const char *world = std::getenv("OMPI_COMM_WORLD_SIZE");
  EXPECT_EQ(size, world ? std::atoi(world) : 1);
  EXPECT_STREQ(ditc_rt_comm_backend(c), gBackend);
  EXPECT_EQ(ditc_rt_comm_backend_available(gBackend), 1);
  ditc_rt_comm *fresh = nullptr;
  ASSERT_EQ(ditc_rt_comm_create(gBackend, &fresh), DITC_RT_COMM_OK);
  int64_t ms = 0;
  EXPECT_EQ(ditc_rt_comm_get_timeout_ms(fresh, &ms), DITC_RT_COMM_OK);
  EXPECT_EQ(ms, DITC_RT_COMM_DEFAULT_TIMEOUT_MS);
  ditc_rt_comm_destroy(fresh);
  std::vector<int32_t> ranks(p, -1);
  ASSERT_EQ(ditc_rt_comm_all_gather(c, &rank, ranks.data(), 1, DITC_RT_I32),
            DITC_RT_COMM_OK);
  for (int32_t q = 0; q < p; ++q)
    EXPECT_EQ(ranks[q], q);
}

TEST_F(Mpi, AllReduce) {
  uint32_t seed = 1;
  uint64_t n = 0;
  for (int32_t op : {DITC_RT_REDUCE_SUM, DITC_RT_REDUCE_MAX})
    for (int32_t d : kReduceDtypes)
      for (int64_t count : kCounts) {
        SCOPED_TRACE(dtypeName(d) + (op ? " max" : " sum") + " count " +
                     std::to_string(count));
        auto in = allRanks(d, count, seed++);
        Bytes mine = in[r], out(mine.size(), 0xAB);
        ASSERT_EQ(
            ditc_rt_comm_all_reduce(c, mine.data(), out.data(), count, d, op),
            DITC_RT_COMM_OK)
            << ditc_rt_comm_last_error();
        EXPECT_EQ(mine, in[r]); // send is read only
        checkReduced(d, op, in, 0, out.data(), count);
        expectSameOnEveryRank(out);
        ASSERT_EQ(
            ditc_rt_comm_all_reduce(c, mine.data(), mine.data(), count, d, op),
            DITC_RT_COMM_OK)
            << ditc_rt_comm_last_error();
        checkReduced(d, op, in, 0, mine.data(), count);
        expectSameOnEveryRank(mine);
        n += 2;
      }
  EXPECT_EQ(calls(DITC_RT_COMM_ALL_REDUCE), n);
}

TEST_F(Mpi, AllReduceMaxPropagatesNaN) {
  // Rank 0 has NaN at 1, the last rank at 5; -0 on rank 0 against +0.
  constexpr int64_t kN = 8;
  std::vector<float> x(kN);
  for (int64_t i = 0; i < kN; ++i)
    x[i] = (float)(r + i);
  if (r == 0)
    x[1] = NAN;
  if (r == p - 1)
    x[5] = -NAN;
  x[6] = r == 0 ? -0.f : 0.f;
  std::vector<float> out(kN, 123.f);
  ASSERT_EQ(ditc_rt_comm_all_reduce(c, x.data(), out.data(), kN, DITC_RT_F32,
                                    DITC_RT_REDUCE_MAX),
            DITC_RT_COMM_OK)
      << ditc_rt_comm_last_error();
  for (int64_t i = 0; i < kN; ++i) {
    if (i == 1 || i == 5)
      EXPECT_TRUE(std::isnan(out[i])) << i;
    else if (i == 6)
      EXPECT_TRUE(out[i] == 0.f && std::signbit(out[i]) == (p == 1)) << i;
    else
      EXPECT_EQ(out[i], (float)(p - 1 + i)) << i;
  }
  // In place, and the halves (in f32, NaN kept).
  ASSERT_EQ(ditc_rt_comm_all_reduce(c, x.data(), x.data(), kN, DITC_RT_F32,
                                    DITC_RT_REDUCE_MAX),
            DITC_RT_COMM_OK);
  EXPECT_TRUE(std::isnan(x[1]) && std::isnan(x[5]));
  for (int32_t d : {DITC_RT_F16, DITC_RT_BF16}) {
    uint16_t h[2] = {d == DITC_RT_F16 ? f32ToF16((float)r)
                                      : f32ToBf16((float)r),
                     (uint16_t)(r == p - 1 ? 0x7fc0 : 0x3c00)};
    ASSERT_EQ(ditc_rt_comm_all_reduce(c, h, h, 2, d, DITC_RT_REDUCE_MAX),
              DITC_RT_COMM_OK);
    float top = d == DITC_RT_F16 ? f16ToF32(h[0]) : bf16ToF32(h[0]);
    EXPECT_EQ(top, (float)(p - 1)) << dtypeName(d);
    EXPECT_TRUE(std::isnan(d == DITC_RT_F16 ? f16ToF32(h[1]) : bf16ToF32(h[1])))
        << dtypeName(d);
  }
}

TEST_F(Mpi, AllGather) {
  uint32_t seed = 100;
  for (int32_t d : kAllDtypes)
    for (int64_t count : kCounts) {
      SCOPED_TRACE(dtypeName(d) + " count " + std::to_string(count));
      auto in = allRanks(d, count, seed++);
      Bytes want;
      for (const Bytes &b : in)
        want.insert(want.end(), b.begin(), b.end());
      Bytes out(want.size(), 0xAB);
      ASSERT_EQ(ditc_rt_comm_all_gather(c, in[r].data(), out.data(), count, d),
                DITC_RT_COMM_OK)
          << ditc_rt_comm_last_error();
      EXPECT_EQ(out, want);
      // In place: send is this rank's block of recv.
      Bytes buf(want.size(), 0xCD);
      std::copy(in[r].begin(), in[r].end(), buf.begin() + r * in[r].size());
      ASSERT_EQ(ditc_rt_comm_all_gather(c, buf.data() + r * in[r].size(),
                                        buf.data(), count, d),
                DITC_RT_COMM_OK)
          << ditc_rt_comm_last_error();
      EXPECT_EQ(buf, want);
    }
}

TEST_F(Mpi, ReduceScatter) {
  uint32_t seed = 200;
  for (int32_t d : kReduceDtypes)
    for (int64_t count : kCounts) {
      SCOPED_TRACE(dtypeName(d) + " count " + std::to_string(count));
      auto in = allRanks(d, p * count, seed++);
      size_t b = count * elemSize(d);
      Bytes mine = in[r], out(b, 0xAB);
      ASSERT_EQ(ditc_rt_comm_reduce_scatter(c, mine.data(), out.data(), count,
                                            d, DITC_RT_REDUCE_SUM),
                DITC_RT_COMM_OK)
          << ditc_rt_comm_last_error();
      EXPECT_EQ(mine, in[r]);
      checkReduced(d, DITC_RT_REDUCE_SUM, in, r * count, out.data(), count);
      // In place: recv is this rank's block of send.
      ASSERT_EQ(ditc_rt_comm_reduce_scatter(c, mine.data(), mine.data() + r * b,
                                            count, d, DITC_RT_REDUCE_SUM),
                DITC_RT_COMM_OK)
          << ditc_rt_comm_last_error();
      checkReduced(d, DITC_RT_REDUCE_SUM, in, r * count, mine.data() + r * b,
                   count);
    }
  // Only SUM, refused on every rank before anything is sent.
  float x[4] = {1, 2, 3, 4};
  EXPECT_EQ(
      ditc_rt_comm_reduce_scatter(c, x, x, 1, DITC_RT_F32, DITC_RT_REDUCE_MAX),
      DITC_RT_COMM_ERROR_ARGUMENT);
}

TEST_F(Mpi, AllToAll) {
  uint32_t seed = 300;
  for (int32_t d : kAllDtypes)
    for (int64_t count : kCounts) {
      SCOPED_TRACE(dtypeName(d) + " count " + std::to_string(count));
      auto in = allRanks(d, p * count, seed++);
      size_t b = count * elemSize(d);
      Bytes want;
      for (int32_t q = 0; q < p; ++q)
        want.insert(want.end(), in[q].begin() + r * b,
                    in[q].begin() + (r + 1) * b);
      Bytes mine = in[r], out(want.size(), 0xAB);
      ASSERT_EQ(ditc_rt_comm_all_to_all(c, mine.data(), out.data(), count, d),
                DITC_RT_COMM_OK)
          << ditc_rt_comm_last_error();
      EXPECT_EQ(out, want);
      EXPECT_EQ(mine, in[r]);
    }
}

TEST_F(Mpi, BroadcastFromEveryRoot) {
  uint32_t seed = 400;
  for (int32_t d : kAllDtypes)
    for (int64_t count : {1, 7, 1000})
      for (int32_t root = 0; root < p; ++root) {
        SCOPED_TRACE(dtypeName(d) + " count " + std::to_string(count) +
                     " root " + std::to_string(root));
        auto in = allRanks(d, count, seed++);
        Bytes buf = in[r];
        ASSERT_EQ(ditc_rt_comm_broadcast(c, buf.data(), count, d, root),
                  DITC_RT_COMM_OK)
            << ditc_rt_comm_last_error();
        EXPECT_EQ(buf, in[root]);
      }
}

// Rank 0 enters late; no rank leaves before it entered (the ranks of these
// tests share one machine, hence one steady clock).
TEST_F(Mpi, BarrierWaitsForEveryRank) {
  int64_t entered = 0;
  if (r == 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    entered = Clock::now().time_since_epoch().count();
  }
  ASSERT_EQ(ditc_rt_comm_barrier(c), DITC_RT_COMM_OK)
      << ditc_rt_comm_last_error();
  int64_t left = Clock::now().time_since_epoch().count();
  ASSERT_EQ(ditc_rt_comm_broadcast(c, &entered, 1, DITC_RT_I64, 0),
            DITC_RT_COMM_OK);
  EXPECT_GE(left, entered);
}

// Rank a sends rank b (a and b any two ranks, a == b included) a message of
// 1 + 37a + 11b elements (one of 300 000, past any eager limit) of a dtype
// that depends on the pair, from a thread of its own while the main thread
// receives: send / recv from two threads at once.
int64_t pairCount(int32_t a, int32_t b) {
  return a == 0 && b == 1 ? 300000 : 1 + 37 * a + 11 * b;
}
int32_t pairDtype(int32_t a, int32_t b) { return kAllDtypes[(a * 5 + b) % 6]; }

TEST_F(Mpi, SendRecvEveryPair) {
  uint32_t seed = 500;
  std::thread sender([&] {
    for (int32_t k = 0; k < p; ++k) {
      int32_t b = (r + k) % p; // staggered, so that no rank is swamped
      int32_t d = pairDtype(r, b);
      Bytes msg = rankData(d, pairCount(r, b), seed + b, r);
      EXPECT_EQ(
          ditc_rt_comm_send(c, msg.data(), pairCount(r, b), d, b, 1000 + r),
          DITC_RT_COMM_OK)
          << "to " << b << ": " << ditc_rt_comm_last_error();
    }
  });
  for (int32_t k = 0; k < p; ++k) {
    int32_t a = (r - k + p) % p;
    int32_t d = pairDtype(a, r);
    Bytes want = rankData(d, pairCount(a, r), seed + r, a);
    Bytes got(want.size(), 0xAB);
    EXPECT_EQ(ditc_rt_comm_recv(c, got.data(), pairCount(a, r), d, a, 1000 + a),
              DITC_RT_COMM_OK)
        << "from " << a << ": " << ditc_rt_comm_last_error();
    EXPECT_TRUE(got == want) << "from " << a;
  }
  sender.join();
  uint64_t sent = 0;
  for (int32_t b = 0; b < p; ++b)
    sent += pairCount(r, b) * elemSize(pairDtype(r, b));
  EXPECT_EQ(bytes(DITC_RT_COMM_SEND), sent);
  EXPECT_EQ(calls(DITC_RT_COMM_SEND), (uint64_t)p);
}

TEST_F(Mpi, SendRecvInOrderPerTagAndMatchedByTag) {
  int32_t next = (r + 1) % p, prev = (r - 1 + p) % p;
  for (int32_t i = 0; i < 5; ++i) {
    int32_t v = 100 * r + i;
    ASSERT_EQ(ditc_rt_comm_send(c, &v, 1, DITC_RT_I32, next, 3),
              DITC_RT_COMM_OK);
  }
  int64_t late = -77 - r;
  ASSERT_EQ(ditc_rt_comm_send(c, &late, 1, DITC_RT_I64, next, 4),
            DITC_RT_COMM_OK);
  int64_t got64 = 0; // tag 4 first: matched by tag, not by order of sending
  ASSERT_EQ(ditc_rt_comm_recv(c, &got64, 1, DITC_RT_I64, prev, 4),
            DITC_RT_COMM_OK)
      << ditc_rt_comm_last_error();
  EXPECT_EQ(got64, -77 - prev);
  for (int32_t i = 0; i < 5; ++i) {
    int32_t got = -1;
    ASSERT_EQ(ditc_rt_comm_recv(c, &got, 1, DITC_RT_I32, prev, 3),
              DITC_RT_COMM_OK)
        << ditc_rt_comm_last_error();
    EXPECT_EQ(got, 100 * prev + i);
  }
}

TEST_F(Mpi, RecvMismatchKeepsMessage) {
  int32_t next = (r + 1) % p, prev = (r - 1 + p) % p;
  int64_t v[4] = {11, -22, 33, -44 - r};
  ASSERT_EQ(ditc_rt_comm_send(c, v, 4, DITC_RT_I64, next, 9), DITC_RT_COMM_OK);
  int64_t got[4] = {0, 0, 0, 0};
  EXPECT_EQ(ditc_rt_comm_recv(c, got, 3, DITC_RT_I64, prev, 9),
            DITC_RT_COMM_ERROR_ARGUMENT);
  std::string err = ditc_rt_comm_last_error();
  EXPECT_NE(err.find("tag 9"), std::string::npos) << err;
  EXPECT_EQ(ditc_rt_comm_recv(c, got, 8, DITC_RT_I32, prev, 9),
            DITC_RT_COMM_ERROR_ARGUMENT);
  err = ditc_rt_comm_last_error();
  EXPECT_NE(err.find("dtype 1"), std::string::npos) << err;
  EXPECT_EQ(got[0], 0);
  ASSERT_EQ(ditc_rt_comm_recv(c, got, 4, DITC_RT_I64, prev, 9), DITC_RT_COMM_OK)
      << ditc_rt_comm_last_error();
  EXPECT_EQ(got[3], -44 - prev);
  EXPECT_EQ(got[1], -22);
}

TEST_F(Mpi, RecvTimesOutAndTheCommunicatorStaysUsable) {
  ASSERT_EQ(ditc_rt_comm_set_timeout_ms(c, 300), DITC_RT_COMM_OK);
  float buf[3] = {1.5f, -2.5f, 3.5f};
  auto t0 = Clock::now();
  EXPECT_EQ(ditc_rt_comm_recv(c, buf, 3, DITC_RT_F32, (r + 1) % p, 77),
            DITC_RT_COMM_ERROR_TIMEOUT);
  double ms = msSince(t0);
  EXPECT_GE(ms, 290.0);
  EXPECT_LT(ms, 3000.0);
  EXPECT_EQ(buf[0], 1.5f);
  EXPECT_EQ(buf[2], 3.5f);
  std::string err = ditc_rt_comm_last_error();
  EXPECT_NE(err.find("tag 77"), std::string::npos) << err;
  ASSERT_EQ(ditc_rt_comm_set_timeout_ms(c, kTimeoutMs), DITC_RT_COMM_OK);
  EXPECT_EQ(ditc_rt_comm_barrier(c), DITC_RT_COMM_OK)
      << ditc_rt_comm_last_error();
}

TEST_F(Mpi, ByteCounters) {
  // B = count * element size; P ranks; integer arithmetic.
  const uint64_t P = p;
  auto h = rankData(DITC_RT_F16, 1001, 600, r);
  ASSERT_EQ(ditc_rt_comm_all_reduce(c, h.data(), h.data(), 1001, DITC_RT_F16,
                                    DITC_RT_REDUCE_SUM),
            DITC_RT_COMM_OK);
  EXPECT_EQ(bytes(DITC_RT_COMM_ALL_REDUCE), 2 * (P - 1) * 2002 / P);
  auto g = rankData(DITC_RT_I64, 7, 601, r);
  Bytes gathered(7 * 8 * P);
  ASSERT_EQ(
      ditc_rt_comm_all_gather(c, g.data(), gathered.data(), 7, DITC_RT_I64),
      DITC_RT_COMM_OK);
  EXPECT_EQ(bytes(DITC_RT_COMM_ALL_GATHER), (P - 1) * 56);
  auto s = rankData(DITC_RT_F32, 13 * p, 602, r);
  Bytes block(13 * 4);
  ASSERT_EQ(ditc_rt_comm_reduce_scatter(c, s.data(), block.data(), 13,
                                        DITC_RT_F32, DITC_RT_REDUCE_SUM),
            DITC_RT_COMM_OK);
  EXPECT_EQ(bytes(DITC_RT_COMM_REDUCE_SCATTER), (P - 1) * 52);
  auto a = rankData(DITC_RT_I32, 5 * p, 603, r);
  Bytes a2(a.size());
  ASSERT_EQ(ditc_rt_comm_all_to_all(c, a.data(), a2.data(), 5, DITC_RT_I32),
            DITC_RT_COMM_OK);
  EXPECT_EQ(bytes(DITC_RT_COMM_ALL_TO_ALL), (P - 1) * 20);
  // Broadcast from the last rank: the chain ends at rank P - 2 (0 for P = 1).
  auto b = rankData(DITC_RT_BF16, 9, 604, r);
  int32_t root = p - 1, end = (root + p - 1) % p;
  ASSERT_EQ(ditc_rt_comm_broadcast(c, b.data(), 9, DITC_RT_BF16, root),
            DITC_RT_COMM_OK);
  EXPECT_EQ(bytes(DITC_RT_COMM_BROADCAST), r == end ? 0u : 18u);
  // Send: the message, whatever the peer; an empty message counts 0 bytes.
  float m[3] = {1, 2, 3};
  int32_t next = (r + 1) % p, prev = (r - 1 + p) % p;
  ASSERT_EQ(ditc_rt_comm_send(c, m, 3, DITC_RT_F32, next, 1), DITC_RT_COMM_OK);
  ASSERT_EQ(ditc_rt_comm_send(c, nullptr, 0, DITC_RT_F32, next, 2),
            DITC_RT_COMM_OK);
  // A failed call counts nothing.
  EXPECT_EQ(ditc_rt_comm_send(c, m, 3, DITC_RT_F32, p, 1),
            DITC_RT_COMM_ERROR_ARGUMENT);
  float got[3];
  ASSERT_EQ(ditc_rt_comm_recv(c, got, 3, DITC_RT_F32, prev, 1),
            DITC_RT_COMM_OK);
  ASSERT_EQ(ditc_rt_comm_recv(c, nullptr, 0, DITC_RT_F32, prev, 2),
            DITC_RT_COMM_OK);
  ASSERT_EQ(ditc_rt_comm_barrier(c), DITC_RT_COMM_OK);
  EXPECT_EQ(bytes(DITC_RT_COMM_SEND), 12u); // recv and barrier count nothing
  for (int32_t k = 0; k < DITC_RT_COMM_SEND; ++k)
    EXPECT_EQ(calls(k), 1u) << ditc_rt_comm_kind_name(k);
  EXPECT_EQ(calls(DITC_RT_COMM_SEND), 2u);
  ASSERT_EQ(ditc_rt_comm_reset_stats(c), DITC_RT_COMM_OK);
  for (int32_t k = 0; k < DITC_RT_COMM_KIND_COUNT; ++k) {
    EXPECT_EQ(bytes(k), 0u) << k;
    EXPECT_EQ(calls(k), 0u) << k;
  }
}

TEST_F(Mpi, ZeroCountIsANoOp) {
  EXPECT_EQ(ditc_rt_comm_all_reduce(c, nullptr, nullptr, 0, DITC_RT_F32,
                                    DITC_RT_REDUCE_MAX),
            DITC_RT_COMM_OK);
  EXPECT_EQ(ditc_rt_comm_all_gather(c, nullptr, nullptr, 0, DITC_RT_I64),
            DITC_RT_COMM_OK);
  EXPECT_EQ(ditc_rt_comm_reduce_scatter(c, nullptr, nullptr, 0, DITC_RT_BF16,
                                        DITC_RT_REDUCE_SUM),
            DITC_RT_COMM_OK);
  EXPECT_EQ(ditc_rt_comm_all_to_all(c, nullptr, nullptr, 0, DITC_RT_B8),
            DITC_RT_COMM_OK);
  EXPECT_EQ(ditc_rt_comm_broadcast(c, nullptr, 0, DITC_RT_F16, p - 1),
            DITC_RT_COMM_OK);
  // An empty message is still a message.
  EXPECT_EQ(ditc_rt_comm_send(c, nullptr, 0, DITC_RT_BF16, (r + 1) % p, 1),
            DITC_RT_COMM_OK);
  EXPECT_EQ(ditc_rt_comm_recv(c, nullptr, 0, DITC_RT_BF16, (r - 1 + p) % p, 1),
            DITC_RT_COMM_OK)
      << ditc_rt_comm_last_error();
  for (int32_t k = 0; k < DITC_RT_COMM_KIND_COUNT; ++k) {
    EXPECT_EQ(bytes(k), 0u) << k;
    EXPECT_EQ(calls(k), 1u) << k;
  }
}

TEST_F(Mpi, InvalidArgumentsSendNothing) {
  const int32_t A = DITC_RT_COMM_ERROR_ARGUMENT;
  float buf[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  EXPECT_EQ(ditc_rt_comm_send(c, buf, 4, DITC_RT_F32, p, 0), A);
  EXPECT_EQ(ditc_rt_comm_send(c, buf, 4, DITC_RT_F32, -1, 0), A);
  EXPECT_EQ(ditc_rt_comm_recv(c, buf, 4, DITC_RT_F32, p, 0), A);
  EXPECT_EQ(ditc_rt_comm_send(c, buf, 4, DITC_RT_F32, 0, -1), A);
  EXPECT_EQ(ditc_rt_comm_broadcast(c, buf, 4, DITC_RT_F32, p), A);
  EXPECT_EQ(
      ditc_rt_comm_all_reduce(c, buf, buf, 4, DITC_RT_B8, DITC_RT_REDUCE_SUM),
      A);
  EXPECT_EQ(ditc_rt_comm_all_reduce(c, buf, buf + 1, 4, DITC_RT_F32,
                                    DITC_RT_REDUCE_SUM),
            A);
  // The MPI tag holds the dtype too: tags above about 2^28 are refused.
  EXPECT_EQ(ditc_rt_comm_send(c, buf, 4, DITC_RT_F32, r, INT32_MAX), A);
  std::string err = ditc_rt_comm_last_error();
  EXPECT_NE(err.find("tag"), std::string::npos) << err;
  EXPECT_EQ(ditc_rt_comm_recv(c, buf, 4, DITC_RT_F32, r, INT32_MAX), A);
  // MPI counts are int: more elements are refused before anything moves
  // (the buffers are never touched).
  void *huge = reinterpret_cast<void *>(uintptr_t(1) << 40);
  EXPECT_EQ(ditc_rt_comm_all_reduce(c, huge, huge, int64_t(INT_MAX) + 1,
                                    DITC_RT_F32, DITC_RT_REDUCE_SUM),
            A);
  err = ditc_rt_comm_last_error();
  EXPECT_NE(err.find("MPI"), std::string::npos) << err;
  EXPECT_EQ(
      ditc_rt_comm_broadcast(c, huge, int64_t(INT_MAX) + 1, DITC_RT_B8, 0), A);
  for (int32_t k = 0; k < DITC_RT_COMM_KIND_COUNT; ++k)
    EXPECT_EQ(calls(k), 0u) << k;
  // Still in step: a collective works.
  EXPECT_EQ(ditc_rt_comm_barrier(c), DITC_RT_COMM_OK);
}

// The other ranks enter the all_reduce only after rank 0 gave up on it (its
// timeout): rank 0 gets TIMEOUT, its communicator then refuses everything
// but destroy; the late ranks still complete the operation with rank 0's
// data, which therefore outlives the test (as the header warns). The ranks
// keep in step on a second communicator. Since nothing stays pending, MPI is
// finalised at exit as usual.
TEST_F(Mpi, CollectiveTimesOutWhenPeersAreLate) {
  if (p == 1)
    GTEST_SKIP() << "needs 2 ranks";
  ditc_rt_comm *sync = nullptr;
  ASSERT_EQ(ditc_rt_comm_create("mpi", &sync), DITC_RT_COMM_OK);
  auto *x = new std::vector<float>(1000, 1.f + r); // read or written late
  if (r == 0) {
    ASSERT_EQ(ditc_rt_comm_set_timeout_ms(c, 500), DITC_RT_COMM_OK);
    auto t0 = Clock::now();
    EXPECT_EQ(ditc_rt_comm_all_reduce(c, x->data(), x->data(), 1000,
                                      DITC_RT_F32, DITC_RT_REDUCE_SUM),
              DITC_RT_COMM_ERROR_TIMEOUT);
    double ms = msSince(t0);
    EXPECT_GE(ms, 490.0);
    EXPECT_LT(ms, 2500.0);
    std::string err = ditc_rt_comm_last_error();
    EXPECT_NE(err.find("timed out"), std::string::npos) << err;
    EXPECT_EQ(calls(DITC_RT_COMM_ALL_REDUCE), 0u);
    t0 = Clock::now();
    EXPECT_EQ(ditc_rt_comm_barrier(c), DITC_RT_COMM_ERROR_TIMEOUT);
    err = ditc_rt_comm_last_error();
    EXPECT_NE(err.find("only be destroyed"), std::string::npos) << err;
    EXPECT_EQ(ditc_rt_comm_send(c, x->data(), 1, DITC_RT_F32, 1, 0),
              DITC_RT_COMM_ERROR_TIMEOUT);
    EXPECT_LT(msSince(t0), 250.0);
  }
  ASSERT_EQ(ditc_rt_comm_barrier(sync), DITC_RT_COMM_OK);
  if (r != 0) {
    std::vector<float> out(1000, 0.f);
    EXPECT_EQ(ditc_rt_comm_all_reduce(c, x->data(), out.data(), 1000,
                                      DITC_RT_F32, DITC_RT_REDUCE_SUM),
              DITC_RT_COMM_OK)
        << ditc_rt_comm_last_error();
    EXPECT_EQ(out[999], (float)(p * (p + 1) / 2));
    delete x;
  }
  // Rank 0 drives its pending all_reduce to completion in here.
  EXPECT_EQ(ditc_rt_comm_barrier(sync), DITC_RT_COMM_OK);
  ditc_rt_comm_destroy(sync);
}

// Rank 1 receives a message past the eager limit only after rank 0's send
// gave up on it: the message still arrives whole.
TEST_F(Mpi, SendTimesOutWhenThePeerIsLate) {
  if (p == 1)
    GTEST_SKIP() << "needs 2 ranks";
  ditc_rt_comm *sync = nullptr;
  ASSERT_EQ(ditc_rt_comm_create("mpi", &sync), DITC_RT_COMM_OK);
  constexpr int64_t kN = 1 << 20;
  if (r == 0) {
    ASSERT_EQ(ditc_rt_comm_set_timeout_ms(c, 400), DITC_RT_COMM_OK);
    auto *x = new std::vector<float>(kN, 2.5f); // read late: never freed
    auto t0 = Clock::now();
    EXPECT_EQ(ditc_rt_comm_send(c, x->data(), kN, DITC_RT_F32, 1, 5),
              DITC_RT_COMM_ERROR_TIMEOUT);
    double ms = msSince(t0);
    EXPECT_GE(ms, 390.0);
    EXPECT_LT(ms, 2500.0);
    EXPECT_EQ(calls(DITC_RT_COMM_SEND), 0u);
  }
  ASSERT_EQ(ditc_rt_comm_barrier(sync), DITC_RT_COMM_OK);
  if (r == 1) {
    std::vector<float> got(kN, 0.f);
    EXPECT_EQ(ditc_rt_comm_recv(c, got.data(), kN, DITC_RT_F32, 0, 5),
              DITC_RT_COMM_OK)
        << ditc_rt_comm_last_error();
    EXPECT_EQ(got[0], 2.5f);
    EXPECT_EQ(got[kN - 1], 2.5f);
  }
  EXPECT_EQ(ditc_rt_comm_barrier(sync), DITC_RT_COMM_OK);
  ditc_rt_comm_destroy(sync);
}

//===--- sendrecv ---------------------------------------------------------===//

// The message rank a sends rank b in ring shift tests: its size and dtype
// depend on the pair (one of 300 000 elements, past any eager limit).
int64_t shiftCount(int32_t a, int32_t b) {
  return a == 1 && b == 0 ? 300000 : 3 + 29 * a + 7 * b;
}

// Every shift k (dst = r + k, src = r - k; k = 0 is this rank to itself)
// covers every ordered pair of ranks, with every dtype over the shifts.
TEST_F(Mpi, SendRecvRingShiftsCoverEveryPair) {
  uint32_t seed = 1300;
  uint64_t sent = 0;
  for (int32_t k = 0; k < p; ++k) {
    int32_t dst = (r + k) % p, src = (r - k + p) % p;
    int32_t d = kAllDtypes[k % 6];
    SCOPED_TRACE("shift " + std::to_string(k) + " " + dtypeName(d));
    Bytes msg = rankData(d, shiftCount(r, dst), seed + k * 64 + dst, r);
    Bytes want = rankData(d, shiftCount(src, r), seed + k * 64 + r, src);
    Bytes got(want.size(), 0xAB);
    ASSERT_EQ(ditc_rt_comm_sendrecv(c, msg.data(), shiftCount(r, dst), dst,
                                    got.data(), shiftCount(src, r), src, d,
                                    40 + k),
              DITC_RT_COMM_OK)
        << ditc_rt_comm_last_error();
    EXPECT_TRUE(got == want) << "from " << src;
    sent += msg.size();
  }
  EXPECT_EQ(bytes(DITC_RT_COMM_SEND), sent);
  EXPECT_EQ(calls(DITC_RT_COMM_SEND), (uint64_t)p);
}

// Every shift started at once (a tag each), a collective while they are
// pending, then waited for in reverse order.
TEST_F(Mpi, SendRecvManyPendingRequests) {
  uint32_t seed = 1400;
  std::vector<Bytes> msgs, gots, wants;
  std::vector<ditc_rt_comm_request *> reqs;
  for (int32_t k = 0; k < p; ++k) {
    int32_t dst = (r + k) % p, src = (r - k + p) % p;
    msgs.push_back(rankData(DITC_RT_F32, 1000 + k, seed + dst, r));
    wants.push_back(rankData(DITC_RT_F32, 1000 + k, seed + r, src));
    gots.emplace_back(wants.back().size(), 0);
  }
  for (int32_t k = 0; k < p; ++k) {
    ditc_rt_comm_request *req = nullptr;
    ASSERT_EQ(ditc_rt_comm_sendrecv_start(
                  c, msgs[k].data(), 1000 + k, (r + k) % p, gots[k].data(),
                  1000 + k, (r - k + p) % p, DITC_RT_F32, 7 + k, &req),
              DITC_RT_COMM_OK)
        << ditc_rt_comm_last_error();
    reqs.push_back(req);
  }
  int64_t one = 1, sum = 0;
  ASSERT_EQ(ditc_rt_comm_all_reduce(c, &one, &sum, 1, DITC_RT_I64,
                                    DITC_RT_REDUCE_SUM),
            DITC_RT_COMM_OK)
      << ditc_rt_comm_last_error();
  EXPECT_EQ(sum, p);
  for (int32_t k = p - 1; k >= 0; --k) {
    EXPECT_EQ(ditc_rt_comm_request_wait(reqs[k]), DITC_RT_COMM_OK)
        << ditc_rt_comm_last_error();
    EXPECT_TRUE(gots[k] == wants[k]) << "shift " << k;
  }
  EXPECT_EQ(calls(DITC_RT_COMM_SEND), (uint64_t)p);
}

// The message of a sendrecv is an ordinary one: a recv takes it, and a
// sendrecv's receive takes a send's message.
TEST_F(Mpi, SendRecvInteroperatesWithSendAndRecv) {
  int32_t next = (r + 1) % p, prev = (r - 1 + p) % p;
  int64_t v = 1000 + r, got = 0;
  ASSERT_EQ(
      ditc_rt_comm_sendrecv(c, &v, 1, next, &got, 1, prev, DITC_RT_I64, 3),
      DITC_RT_COMM_OK)
      << ditc_rt_comm_last_error();
  EXPECT_EQ(got, 1000 + prev);
  int32_t w = 2000 + r, got32 = 0;
  ASSERT_EQ(ditc_rt_comm_send(c, &w, 1, DITC_RT_I32, next, 4), DITC_RT_COMM_OK);
  ditc_rt_comm_request *req = nullptr;
  int32_t back = 3000 + r;
  ASSERT_EQ(ditc_rt_comm_sendrecv_start(c, &back, 1, prev, &got32, 1, prev,
                                        DITC_RT_I32, 4, &req),
            DITC_RT_COMM_OK);
  int32_t fromNext = 0;
  ASSERT_EQ(ditc_rt_comm_recv(c, &fromNext, 1, DITC_RT_I32, next, 4),
            DITC_RT_COMM_OK)
      << ditc_rt_comm_last_error();
  ASSERT_EQ(ditc_rt_comm_request_wait(req), DITC_RT_COMM_OK)
      << ditc_rt_comm_last_error();
  if (p == 1) { // one queue: recv took the oldest, the wait the other
    EXPECT_EQ(fromNext, 2000);
    EXPECT_EQ(got32, 3000);
  } else { // the receive was posted first: it takes prev's send
    EXPECT_EQ(got32, 2000 + prev);
    EXPECT_EQ(fromNext, 3000 + next);
  }
}

// A receive of the wrong size is refused (ARGUMENT) and the communicator
// stays usable.
TEST_F(Mpi, SendRecvSizeMismatch) {
  if (p == 1)
    GTEST_SKIP() << "needs 2 ranks (to itself the message stays queued)";
  int32_t next = (r + 1) % p, prev = (r - 1 + p) % p;
  float x[5] = {1, 2, 3, 4, 5}, y[8] = {};
  EXPECT_EQ(ditc_rt_comm_sendrecv(c, x, 5, next, y, 8, prev, DITC_RT_F32, 2),
            DITC_RT_COMM_ERROR_ARGUMENT);
  std::string err = ditc_rt_comm_last_error();
  EXPECT_NE(err.find("5 elements"), std::string::npos) << err;
  EXPECT_EQ(calls(DITC_RT_COMM_SEND), 0u);
  EXPECT_EQ(ditc_rt_comm_barrier(c), DITC_RT_COMM_OK)
      << ditc_rt_comm_last_error();
}

// Rank 1 takes part only after rank 0's sendrecv gave up: rank 0 gets
// TIMEOUT naming rank 1, its receive is cancelled; its (small, eagerly
// sent) message still reaches rank 1, and rank 1's message waits for a recv.
// The communicator stays usable.
TEST_F(Mpi, SendRecvTimesOutWhenThePeerIsLate) {
  if (p == 1)
    GTEST_SKIP() << "needs 2 ranks";
  ditc_rt_comm *sync = nullptr;
  ASSERT_EQ(ditc_rt_comm_create("mpi", &sync), DITC_RT_COMM_OK);
  int32_t mine = 500 + r, got = -1;
  if (r == 0) {
    ASSERT_EQ(ditc_rt_comm_set_timeout_ms(c, 400), DITC_RT_COMM_OK);
    auto t0 = Clock::now();
    EXPECT_EQ(ditc_rt_comm_sendrecv(c, &mine, 1, 1, &got, 1, 1, DITC_RT_I32, 6),
              DITC_RT_COMM_ERROR_TIMEOUT);
    double ms = msSince(t0);
    EXPECT_GE(ms, 390.0);
    EXPECT_LT(ms, 3000.0);
    std::string err = ditc_rt_comm_last_error();
    EXPECT_NE(err.find("timed out"), std::string::npos) << err;
    EXPECT_NE(err.find("rank 1"), std::string::npos) << err;
    EXPECT_EQ(got, -1);
    EXPECT_EQ(calls(DITC_RT_COMM_SEND), 0u);
    ASSERT_EQ(ditc_rt_comm_set_timeout_ms(c, kTimeoutMs), DITC_RT_COMM_OK);
  }
  ASSERT_EQ(ditc_rt_comm_barrier(sync), DITC_RT_COMM_OK);
  if (r == 1) {
    EXPECT_EQ(ditc_rt_comm_sendrecv(c, &mine, 1, 0, &got, 1, 0, DITC_RT_I32, 6),
              DITC_RT_COMM_OK)
        << ditc_rt_comm_last_error();
    EXPECT_EQ(got, 500);
  }
  if (r == 0) {
    EXPECT_EQ(ditc_rt_comm_recv(c, &got, 1, DITC_RT_I32, 1, 6), DITC_RT_COMM_OK)
        << ditc_rt_comm_last_error();
    EXPECT_EQ(got, 501);
  }
  EXPECT_EQ(ditc_rt_comm_barrier(c), DITC_RT_COMM_OK)
      << ditc_rt_comm_last_error();
  EXPECT_EQ(ditc_rt_comm_barrier(sync), DITC_RT_COMM_OK);
  ditc_rt_comm_destroy(sync);
}

//===--- split ------------------------------------------------------------===//

// Checks a sub-communicator made of `members` (world ranks, in sub rank
// order): rank, size, backend, timeout, and every collective and a ring
// sendrecv on it against references from the members' seeds; its traffic
// is counted on it alone.
void checkSub(ditc_rt_comm *parent, ditc_rt_comm *sub,
              const std::vector<int32_t> &members, uint32_t seed) {
  int32_t world = 0;
  ASSERT_EQ(ditc_rt_comm_rank(parent, &world), DITC_RT_COMM_OK);
  int32_t sr = -1, sp = -1;
  ASSERT_EQ(ditc_rt_comm_rank(sub, &sr), DITC_RT_COMM_OK);
  ASSERT_EQ(ditc_rt_comm_size(sub, &sp), DITC_RT_COMM_OK);
  ASSERT_EQ(sp, (int32_t)members.size());
  ASSERT_GE(sr, 0);
  ASSERT_LT(sr, sp);
  EXPECT_EQ(members[sr], world);
  EXPECT_STREQ(ditc_rt_comm_backend(sub), gBackend);
  int64_t ms = 0;
  EXPECT_EQ(ditc_rt_comm_get_timeout_ms(sub, &ms), DITC_RT_COMM_OK);
  EXPECT_EQ(ms, kTimeoutMs);
  uint64_t parentCalls[DITC_RT_COMM_KIND_COUNT];
  for (int32_t k = 0; k < DITC_RT_COMM_KIND_COUNT; ++k)
    ditc_rt_comm_stats(parent, k, nullptr, &parentCalls[k]);

  // all_reduce: the sum over the members.
  const int64_t n = 1001;
  std::vector<Bytes> in;
  for (int32_t q : members)
    in.push_back(rankData(DITC_RT_F32, n, seed, q));
  Bytes y(n * 4);
  ASSERT_EQ(ditc_rt_comm_all_reduce(sub, in[sr].data(), y.data(), n,
                                    DITC_RT_F32, DITC_RT_REDUCE_SUM),
            DITC_RT_COMM_OK)
      << ditc_rt_comm_last_error();
  checkReduced(DITC_RT_F32, DITC_RT_REDUCE_SUM, in, 0, y.data(), n);
  // all_gather: the members' blocks in sub rank order.
  std::vector<Bytes> g;
  for (int32_t q : members)
    g.push_back(rankData(DITC_RT_I64, 13, seed + 1, q));
  Bytes all(13 * 8 * sp);
  ASSERT_EQ(
      ditc_rt_comm_all_gather(sub, g[sr].data(), all.data(), 13, DITC_RT_I64),
      DITC_RT_COMM_OK);
  for (int32_t q = 0; q < sp; ++q)
    EXPECT_TRUE(std::equal(g[q].begin(), g[q].end(), all.begin() + q * 104))
        << "block " << q;
  // all_to_all: block q of member s goes to member q.
  std::vector<Bytes> a;
  for (int32_t q : members)
    a.push_back(rankData(DITC_RT_I32, 5 * sp, seed + 2, q));
  Bytes a2(5 * 4 * sp);
  ASSERT_EQ(
      ditc_rt_comm_all_to_all(sub, a[sr].data(), a2.data(), 5, DITC_RT_I32),
      DITC_RT_COMM_OK);
  for (int32_t q = 0; q < sp; ++q)
    EXPECT_TRUE(std::equal(a[q].begin() + sr * 20, a[q].begin() + sr * 20 + 20,
                           a2.begin() + q * 20))
        << "from " << q;
  // reduce_scatter: block sr of the sum.
  std::vector<Bytes> rs;
  for (int32_t q : members)
    rs.push_back(rankData(DITC_RT_I64, 7 * sp, seed + 3, q));
  Bytes blk(7 * 8);
  ASSERT_EQ(ditc_rt_comm_reduce_scatter(sub, rs[sr].data(), blk.data(), 7,
                                        DITC_RT_I64, DITC_RT_REDUCE_SUM),
            DITC_RT_COMM_OK);
  checkReduced(DITC_RT_I64, DITC_RT_REDUCE_SUM, rs, 7 * sr, blk.data(), 7);
  // broadcast from the last member.
  Bytes bc = rankData(DITC_RT_BF16, 9, seed + 4, world);
  ASSERT_EQ(ditc_rt_comm_broadcast(sub, bc.data(), 9, DITC_RT_BF16, sp - 1),
            DITC_RT_COMM_OK);
  EXPECT_TRUE(bc == rankData(DITC_RT_BF16, 9, seed + 4, members[sp - 1]));
  // A ring shift by one within the members.
  int32_t next = (sr + 1) % sp, prev = (sr - 1 + sp) % sp;
  Bytes msg = rankData(DITC_RT_F16, 77, seed + 5, world);
  Bytes got(msg.size());
  ASSERT_EQ(ditc_rt_comm_sendrecv(sub, msg.data(), 77, next, got.data(), 77,
                                  prev, DITC_RT_F16, 1),
            DITC_RT_COMM_OK)
      << ditc_rt_comm_last_error();
  EXPECT_TRUE(got == rankData(DITC_RT_F16, 77, seed + 5, members[prev]));
  ASSERT_EQ(ditc_rt_comm_barrier(sub), DITC_RT_COMM_OK);

  // Counted on sub, never on the parent.
  uint64_t b = 0, calls = 0;
  ditc_rt_comm_stats(sub, DITC_RT_COMM_ALL_GATHER, &b, &calls);
  EXPECT_EQ(b, (uint64_t)(sp - 1) * 104);
  EXPECT_EQ(calls, 1u);
  ditc_rt_comm_stats(sub, DITC_RT_COMM_SEND, &b, &calls);
  EXPECT_EQ(b, 154u);
  EXPECT_EQ(calls, 1u);
  for (int32_t k = 0; k < DITC_RT_COMM_KIND_COUNT; ++k) {
    uint64_t now = 0;
    ditc_rt_comm_stats(parent, k, nullptr, &now);
    EXPECT_EQ(now, parentCalls[k]) << ditc_rt_comm_kind_name(k);
  }
}

// Even and odd ranks, each ranked in reverse (key = -rank).
TEST_F(Mpi, SplitByParityWithReversedKeys) {
  ditc_rt_comm *sub = nullptr;
  ASSERT_EQ(ditc_rt_comm_split(c, r % 2, -r, &sub), DITC_RT_COMM_OK)
      << ditc_rt_comm_last_error();
  std::vector<int32_t> members;
  for (int32_t q = p - 1; q >= 0; --q)
    if (q % 2 == r % 2)
      members.push_back(q);
  checkSub(c, sub, members, 1500);
  ditc_rt_comm_destroy(sub);
  EXPECT_EQ(ditc_rt_comm_barrier(c), DITC_RT_COMM_OK);
}

// Blocks of two consecutive ranks ({0,1}, {2,3}, ...), reversed keys; then
// the columns across the blocks ({0,2}, {1,3}), with keys that tie (ranked
// by parent rank); then a split of a split.
TEST_F(Mpi, SplitByBlocksAndColumns) {
  ditc_rt_comm *rows = nullptr, *cols = nullptr;
  ASSERT_EQ(ditc_rt_comm_split(c, r / 2, 100 - r, &rows), DITC_RT_COMM_OK)
      << ditc_rt_comm_last_error();
  ASSERT_EQ(ditc_rt_comm_split(c, r % 2, 0, &cols), DITC_RT_COMM_OK)
      << ditc_rt_comm_last_error();
  std::vector<int32_t> rowMembers, colMembers;
  for (int32_t q = p - 1; q >= 0; --q)
    if (q / 2 == r / 2)
      rowMembers.push_back(q);
  for (int32_t q = 0; q < p; ++q)
    if (q % 2 == r % 2)
      colMembers.push_back(q);
  checkSub(c, rows, rowMembers, 1600);
  checkSub(c, cols, colMembers, 1700);
  // Everyone alone, from the rows: size 1.
  int32_t rowRank = 0;
  ASSERT_EQ(ditc_rt_comm_rank(rows, &rowRank), DITC_RT_COMM_OK);
  ditc_rt_comm *alone = nullptr;
  ASSERT_EQ(ditc_rt_comm_split(rows, rowRank, 0, &alone), DITC_RT_COMM_OK);
  ditc_rt_comm_destroy(rows); // the parent first
  checkSub(c, alone, {r}, 1800);
  ditc_rt_comm_destroy(alone);
  ditc_rt_comm_destroy(cols);
}

// One color for all: the world again, ranked by key.
TEST_F(Mpi, SplitOneColorReordersTheWorld) {
  ditc_rt_comm *sub = nullptr;
  int32_t key = (r * 3) % p; // a permutation when gcd(3, p) == 1
  if (p % 3 == 0)
    key = p - 1 - r;
  ASSERT_EQ(ditc_rt_comm_split(c, 7, key, &sub), DITC_RT_COMM_OK)
      << ditc_rt_comm_last_error();
  std::vector<int32_t> members(p);
  for (int32_t q = 0; q < p; ++q)
    members[p % 3 == 0 ? p - 1 - q : (q * 3) % p] = q;
  checkSub(c, sub, members, 1900);
  ditc_rt_comm_destroy(sub);
}

// Rank 0 splits while the others come late: TIMEOUT (the split's gathering
// is a collective), then its communicator can only be destroyed; the late
// ranks complete the gathering with rank 0's (abandoned) contribution but
// not the MPI_Comm_split, so they must not split: they run an all_gather on
// the same communicator, which matches rank 0's pending one.
TEST_F(Mpi, SplitTimesOutWhenPeersAreLate) {
  if (p == 1)
    GTEST_SKIP() << "needs 2 ranks";
  ditc_rt_comm *sync = nullptr;
  ASSERT_EQ(ditc_rt_comm_create("mpi", &sync), DITC_RT_COMM_OK);
  if (r == 0) {
    ASSERT_EQ(ditc_rt_comm_set_timeout_ms(c, 300), DITC_RT_COMM_OK);
    ditc_rt_comm *sub = nullptr;
    auto t0 = Clock::now();
    EXPECT_EQ(ditc_rt_comm_split(c, 0, 0, &sub), DITC_RT_COMM_ERROR_TIMEOUT);
    EXPECT_GE(msSince(t0), 290.0);
    EXPECT_EQ(sub, nullptr);
    std::string err = ditc_rt_comm_last_error();
    EXPECT_NE(err.find("split"), std::string::npos) << err;
    EXPECT_EQ(ditc_rt_comm_barrier(c), DITC_RT_COMM_ERROR_TIMEOUT);
  }
  ASSERT_EQ(ditc_rt_comm_barrier(sync), DITC_RT_COMM_OK);
  if (r != 0) {
    Bytes all((size_t)8 * p);
    int32_t mine[2] = {0, 0};
    std::memcpy(all.data() + 8 * r, mine, 8);
    EXPECT_EQ(ditc_rt_comm_all_gather(c, all.data() + 8 * r, all.data(), 2,
                                      DITC_RT_I32),
              DITC_RT_COMM_OK)
        << ditc_rt_comm_last_error();
  }
  EXPECT_EQ(ditc_rt_comm_barrier(sync), DITC_RT_COMM_OK);
  ditc_rt_comm_destroy(sync);
}

//===--- Tensor collectives (ditc_kernels.def coll_*)
//----------------------===//

// A dense row-major tensor of `shape`, elements of `elem` bytes.
struct Tensor {
  std::vector<int64_t> shape;
  int64_t elem = 1;
  Bytes data;
  int64_t count() const {
    int64_t n = 1;
    for (int64_t d : shape)
      n *= d;
    return n;
  }
};

int64_t product(const std::vector<int64_t> &s, size_t b, size_t e) {
  int64_t n = 1;
  for (size_t i = b; i < e; ++i)
    n *= s[i];
  return n;
}

// Block q of t cut into p equal blocks along axis, element by element.
Tensor blockOf(const Tensor &t, int32_t axis, int32_t p, int32_t q) {
  Tensor b = t;
  b.shape[axis] /= p;
  int64_t outer = product(t.shape, 0, axis), len = t.shape[axis],
          bl = b.shape[axis],
          inner = product(t.shape, axis + 1, t.shape.size());
  b.data.assign(b.count() * t.elem, 0);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < bl; ++j)
      for (int64_t i = 0; i < inner; ++i) {
        int64_t src = (o * len + q * bl + j) * inner + i;
        int64_t dst = (o * bl + j) * inner + i;
        std::memcpy(&b.data[dst * t.elem], &t.data[src * t.elem], t.elem);
      }
  return b;
}

// The blocks (all of one shape) concatenated along axis.
Tensor concat(const std::vector<Tensor> &blocks, int32_t axis) {
  Tensor y = blocks[0];
  int32_t p = (int32_t)blocks.size();
  y.shape[axis] *= p;
  int64_t outer = product(y.shape, 0, axis), bl = blocks[0].shape[axis],
          inner = product(y.shape, axis + 1, y.shape.size());
  y.data.assign(y.count() * y.elem, 0);
  for (int32_t q = 0; q < p; ++q)
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t j = 0; j < bl; ++j)
        for (int64_t i = 0; i < inner; ++i) {
          int64_t src = (o * bl + j) * inner + i;
          int64_t dst = (o * bl * p + q * bl + j) * inner + i;
          std::memcpy(&y.data[dst * y.elem], &blocks[q].data[src * y.elem],
                      y.elem);
        }
  return y;
}

// Random 3-D or 4-D shapes with odd dims (1..7), the same on every rank.
std::vector<std::vector<int64_t>> oddShapes(uint32_t seed, int n) {
  std::mt19937 rng(seed);
  std::vector<std::vector<int64_t>> v;
  for (int k = 0; k < n; ++k) {
    std::vector<int64_t> s(3 + k % 2);
    for (int64_t &d : s)
      d = 1 + 2 * (int64_t)(rng() % 4);
    v.push_back(s);
  }
  return v;
}

// Moved by element size: a dtype of each size, the unusual ones included.
constexpr int32_t kMoveDtypes[] = {DITC_RT_F64, DITC_RT_U16, DITC_RT_I8,
                                   DITC_RT_F32, DITC_RT_U32, DITC_RT_BF16};
int64_t moveSize(int32_t d) {
  switch (d) {
  case DITC_RT_F64:
  case DITC_RT_I64:
  case DITC_RT_U64:
    return 8;
  case DITC_RT_F32:
  case DITC_RT_I32:
  case DITC_RT_U32:
    return 4;
  case DITC_RT_U16:
  case DITC_RT_I16:
  case DITC_RT_F16:
  case DITC_RT_BF16:
    return 2;
  default:
    return 1;
  }
}

// Rank q's tensor: random nonzero bytes.
Tensor rankTensor(const std::vector<int64_t> &shape, int32_t dtype,
                  uint32_t seed, int32_t q) {
  Tensor t;
  t.shape = shape;
  t.elem = moveSize(dtype);
  t.data = rankData(DITC_RT_B8, t.count() * t.elem, seed, q);
  return t;
}

std::string shapeName(const std::vector<int64_t> &s) {
  std::string n;
  for (int64_t d : s)
    n += (n.empty() ? "" : "x") + std::to_string(d);
  return n;
}

TEST_F(Mpi, CollAllGatherEveryAxis) {
  uint32_t seed = 2000;
  uint64_t want = 0;
  int calls = 0;
  for (const auto &shape : oddShapes(20, 6))
    for (int32_t axis = 0; axis < (int32_t)shape.size(); ++axis) {
      int32_t d = kMoveDtypes[seed % 6];
      SCOPED_TRACE(shapeName(shape) + " axis " + std::to_string(axis) +
                   " dtype " + std::to_string(d));
      std::vector<Tensor> xs;
      for (int32_t q = 0; q < p; ++q)
        xs.push_back(rankTensor(shape, d, seed, q));
      Tensor ref = concat(xs, axis);
      Bytes y(ref.data.size(), 0);
      ASSERT_EQ(ditc_rt_coll_all_gather(c, xs[r].data.data(), y.data(), d,
                                        (int32_t)shape.size(), shape.data(),
                                        axis),
                DITC_RT_COMM_OK)
          << ditc_rt_comm_last_error();
      EXPECT_TRUE(y == ref.data);
      want += (uint64_t)(p - 1) * xs[r].data.size();
      ++calls;
      ++seed;
    }
  EXPECT_EQ(bytes(DITC_RT_COMM_ALL_GATHER), want);
  EXPECT_EQ(this->calls(DITC_RT_COMM_ALL_GATHER), (uint64_t)calls);
}

TEST_F(Mpi, CollReduceScatterEveryAxis) {
  uint32_t seed = 2100;
  for (const auto &base : oddShapes(21, 6))
    for (int32_t axis = 0; axis < (int32_t)base.size(); ++axis)
      for (int32_t d : {DITC_RT_F32, DITC_RT_I64, DITC_RT_I32}) {
        std::vector<int64_t> shape = base;
        shape[axis] *= p;
        SCOPED_TRACE(shapeName(shape) + " axis " + std::to_string(axis) + " " +
                     dtypeName(d));
        int64_t n = product(shape, 0, shape.size());
        std::vector<Bytes> xs;
        for (int32_t q = 0; q < p; ++q)
          xs.push_back(rankData(d, n, seed, q));
        // The reference: block r of each rank's x, summed.
        std::vector<Bytes> blocks;
        for (int32_t q = 0; q < p; ++q) {
          Tensor t{shape, (int64_t)elemSize(d), xs[q]};
          blocks.push_back(blockOf(t, axis, p, r).data);
        }
        Bytes y(blocks[0].size(), 0);
        ASSERT_EQ(ditc_rt_coll_reduce_scatter(c, xs[r].data(), y.data(), d,
                                              (int32_t)shape.size(),
                                              shape.data(), axis),
                  DITC_RT_COMM_OK)
            << ditc_rt_comm_last_error();
        checkReduced(d, DITC_RT_REDUCE_SUM, blocks, 0, y.data(), n / p);
        ++seed;
      }
}

TEST_F(Mpi, CollAllToAllEveryAxisPair) {
  uint32_t seed = 2200;
  uint64_t want = 0;
  for (const auto &base : oddShapes(22, 4))
    for (int32_t s = 0; s < (int32_t)base.size(); ++s)
      for (int32_t cat = 0; cat < (int32_t)base.size(); ++cat) {
        if (s == cat)
          continue;
        int32_t d = kMoveDtypes[seed % 6];
        std::vector<int64_t> shape = base;
        shape[s] *= p;
        SCOPED_TRACE(shapeName(shape) + " split " + std::to_string(s) +
                     " concat " + std::to_string(cat) + " dtype " +
                     std::to_string(d));
        std::vector<Tensor> fromEach;
        Tensor mine;
        for (int32_t q = 0; q < p; ++q) {
          Tensor x = rankTensor(shape, d, seed, q);
          if (q == r)
            mine = x;
          fromEach.push_back(blockOf(x, s, p, r));
        }
        Tensor ref = concat(fromEach, cat);
        Bytes y(ref.data.size(), 0);
        ASSERT_EQ(ditc_rt_coll_all_to_all(c, mine.data.data(), y.data(), d,
                                          (int32_t)shape.size(), shape.data(),
                                          s, cat),
                  DITC_RT_COMM_OK)
            << ditc_rt_comm_last_error();
        EXPECT_TRUE(y == ref.data);
        want += (uint64_t)(p - 1) * (mine.data.size() / p);
        ++seed;
      }
  EXPECT_EQ(bytes(DITC_RT_COMM_ALL_TO_ALL), want);
}

TEST_F(Mpi, CollSliceEveryAxisAndGatherBack) {
  uint32_t seed = 2300;
  for (const auto &base : oddShapes(23, 6))
    for (int32_t axis = 0; axis < (int32_t)base.size(); ++axis) {
      int32_t d = kMoveDtypes[seed % 6];
      std::vector<int64_t> shape = base;
      shape[axis] *= p;
      SCOPED_TRACE(shapeName(shape) + " axis " + std::to_string(axis));
      Tensor x = rankTensor(shape, d, seed, 0); // the same on every rank
      Tensor ref = blockOf(x, axis, p, r);
      Bytes y(ref.data.size(), 0);
      ASSERT_EQ(ditc_rt_coll_slice(c, x.data.data(), y.data(), d,
                                   (int32_t)shape.size(), shape.data(), axis),
                DITC_RT_COMM_OK)
          << ditc_rt_comm_last_error();
      EXPECT_TRUE(y == ref.data);
      // all_gather of the slices gives x back.
      Bytes back(x.data.size(), 0);
      ASSERT_EQ(ditc_rt_coll_all_gather(c, y.data(), back.data(), d,
                                        (int32_t)shape.size(), ref.shape.data(),
                                        axis),
                DITC_RT_COMM_OK)
          << ditc_rt_comm_last_error();
      EXPECT_TRUE(back == x.data);
      ++seed;
    }
  EXPECT_EQ(calls(DITC_RT_COMM_SEND), 0u);
}

TEST_F(Mpi, CollAllReduceAndSendRecv) {
  const int64_t n = 333;
  std::vector<Bytes> xs;
  for (int32_t q = 0; q < p; ++q)
    xs.push_back(rankData(DITC_RT_F32, n, 2400, q));
  Bytes y = xs[r];
  ASSERT_EQ(ditc_rt_coll_all_reduce(c, y.data(), y.data(), n, DITC_RT_F32),
            DITC_RT_COMM_OK)
      << ditc_rt_comm_last_error();
  checkReduced(DITC_RT_F32, DITC_RT_REDUCE_SUM, xs, 0, y.data(), n);
  // A pipeline: rank q sends to q + 1 (a dtype of 8 bytes the communicator
  // does not know by name).
  Bytes msg = rankData(DITC_RT_B8, 8 * 21, 2401, r);
  if (r + 1 < p)
    ASSERT_EQ(ditc_rt_coll_send(c, msg.data(), 21, DITC_RT_F64, r + 1, 9),
              DITC_RT_COMM_OK)
        << ditc_rt_comm_last_error();
  if (r > 0) {
    Bytes got(msg.size(), 0);
    ASSERT_EQ(ditc_rt_coll_recv(c, got.data(), 21, DITC_RT_F64, r - 1, 9),
              DITC_RT_COMM_OK)
        << ditc_rt_comm_last_error();
    EXPECT_TRUE(got == rankData(DITC_RT_B8, 8 * 21, 2401, r - 1));
  }
  EXPECT_EQ(bytes(DITC_RT_COMM_SEND), r + 1 < p ? 168u : 0u);
}

TEST_F(Mpi, CollArgumentErrors) {
  const int32_t A = DITC_RT_COMM_ERROR_ARGUMENT;
  float x[64] = {}, y[256] = {};
  // A dim that does not cut into P blocks (P > 1), refused before any
  // traffic; so are bad axes and shapes, on every rank alike.
  int64_t shape[3] = {2, 4 * p + (p > 1 ? 1 : 0), 3};
  if (p > 1) {
    EXPECT_EQ(ditc_rt_coll_reduce_scatter(c, x, y, DITC_RT_F32, 3, shape, 1),
              A);
    EXPECT_NE(std::string(ditc_rt_comm_last_error()).find("equal blocks"),
              std::string::npos)
        << ditc_rt_comm_last_error();
    EXPECT_EQ(ditc_rt_coll_slice(c, x, y, DITC_RT_F32, 3, shape, 1), A);
    EXPECT_EQ(ditc_rt_coll_all_to_all(c, x, y, DITC_RT_F32, 3, shape, 1, 0), A);
  }
  int64_t ok[3] = {2, 2, 3};
  EXPECT_EQ(ditc_rt_coll_all_gather(c, x, y, DITC_RT_F32, 3, ok, 3), A);
  EXPECT_EQ(ditc_rt_coll_all_gather(c, x, y, DITC_RT_F32, 3, ok, -1), A);
  EXPECT_EQ(ditc_rt_coll_all_to_all(c, x, y, DITC_RT_F32, 3, ok, 1, 1), A);
  for (int64_t k = 0; k < DITC_RT_COMM_KIND_COUNT; ++k)
    EXPECT_EQ(calls((int32_t)k), 0u) << k;
  EXPECT_EQ(ditc_rt_comm_barrier(c), DITC_RT_COMM_OK);
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

// --dead-peer=exit|_exit|abort|hang TIMEOUT_MS: the last rank leaves
// (exit(3), which finalises MPI; _Exit(3), which does not; abort()) or hangs
// (sleeps 100 s) before an all_reduce the others enter with that timeout. A
// survivor prints what all_reduce returned.
int deadPeer(const char *how, int64_t timeoutMs) {
  ditc_rt_comm *c = nullptr;
  if (ditc_rt_comm_create("mpi", &c) != DITC_RT_COMM_OK) {
    std::fprintf(stderr, "create: %s\n", ditc_rt_comm_last_error());
    return 2;
  }
  int32_t r = 0, p = 1;
  ditc_rt_comm_rank(c, &r);
  ditc_rt_comm_size(c, &p);
  ditc_rt_comm_set_timeout_ms(c, timeoutMs);
  if (ditc_rt_comm_barrier(c) != DITC_RT_COMM_OK)
    return 2;
  if (r == p - 1) {
    std::fprintf(stderr, "rank %d: leaving before the all_reduce\n", r);
    std::fflush(stderr);
    if (std::strcmp(how, "hang") == 0)
      std::this_thread::sleep_for(std::chrono::seconds(100));
    if (std::strcmp(how, "abort") == 0)
      std::abort();
    if (std::strcmp(how, "_exit") == 0)
      std::_Exit(3); // no atexit handlers: MPI is never finalised
    std::exit(3);    // the runtime finalises MPI at exit
  }
  float x[64] = {1};
  auto t0 = Clock::now();
  int32_t s =
      ditc_rt_comm_all_reduce(c, x, x, 64, DITC_RT_F32, DITC_RT_REDUCE_SUM);
  double ms = msSince(t0);
  std::printf("rank %d: all_reduce returned \"%s\" after %.0f ms: %s\n", r,
              ditc_rt_comm_status_string(s), ms, ditc_rt_comm_last_error());
  std::fflush(stdout);
  ditc_rt_comm_destroy(c);
  return s == DITC_RT_COMM_OK ? 1 : 0;
}

} // namespace

int main(int argc, char **argv) {
  if (argc == 3 && std::strncmp(argv[1], "--dead-peer=", 12) == 0)
    return deadPeer(argv[1] + 12, std::atoll(argv[2]));
  ::testing::InitGoogleTest(&argc, argv);
  if (const char *b = std::getenv("DITC_TEST_COMM_BACKEND"); b && *b)
    gBackend = b;
  ditc_rt_comm *world = nullptr;
  if (ditc_rt_comm_create(gBackend, &world) != DITC_RT_COMM_OK) {
    std::fprintf(stderr, "cannot create the %s communicator: %s\n", gBackend,
                 ditc_rt_comm_last_error());
    return 1;
  }
  ditc_rt_comm_rank(world, &gRank);
  ditc_rt_comm_size(world, &gSize);
  if (gRank != 0) {
    auto &listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
    listeners.Append(new FailurePrinter);
  }
  int rc = RUN_ALL_TESTS();
  ditc_rt_comm_destroy(world);
  return rc;
}
