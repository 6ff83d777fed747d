//===- CommTest.cpp - ditc_comm.h: the "self" communicator (world size 1) -===//
//
// Every collective on seeded random data (never zeros) for every dtype it
// takes, against what world size 1 must give; the byte counters; recv's
// timeout; refused backends; invalid arguments.
//
//===----------------------------------------------------------------------===//
#include "ditc/runtime/ditc_comm.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr int32_t kAllDtypes[] = {DITC_RT_F32, DITC_RT_I64, DITC_RT_I32,
                                  DITC_RT_B8,  DITC_RT_F16, DITC_RT_BF16};
constexpr int32_t kReduceDtypes[] = {DITC_RT_F32, DITC_RT_I64, DITC_RT_I32,
                                     DITC_RT_F16, DITC_RT_BF16};

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

// count elements of dtype, every element nonzero (random bit patterns that
// are never all-zero per element; F32 values are finite).
std::vector<unsigned char> randomBuffer(int32_t dtype, int64_t count,
                                        uint32_t seed) {
  std::mt19937 rng(seed);
  size_t e = elemSize(dtype);
  std::vector<unsigned char> v(count * e);
  for (int64_t i = 0; i < count; ++i) {
    unsigned char *p = v.data() + i * e;
    if (dtype == DITC_RT_F32) {
      std::uniform_real_distribution<float> d(-4.f, 4.f);
      float x;
      do
        x = d(rng);
      while (x == 0.f);
      std::memcpy(p, &x, 4);
      continue;
    }
    if (dtype == DITC_RT_B8) {
      p[0] = 1;
      continue;
    }
    do
      for (size_t b = 0; b < e; ++b)
        p[b] = (unsigned char)rng();
    while (std::all_of(p, p + e, [](unsigned char c) { return c == 0; }));
    if (dtype == DITC_RT_F16 || dtype == DITC_RT_BF16)
      p[1] &= 0x3f; // finite halves / bfloats (exponent never all ones)
  }
  return v;
}

std::string dtypeName(int32_t d) {
  static const char *n[] = {"f32", "i64", "i32", "b8", "f16", "bf16"};
  return n[d];
}

class Comm : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_EQ(ditc_rt_comm_create("self", &c), DITC_RT_COMM_OK)
        << ditc_rt_comm_last_error();
    ASSERT_NE(c, nullptr);
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

  ditc_rt_comm *c = nullptr;
};

constexpr int64_t kCount = 1000;

TEST_F(Comm, SelfRankSizeBackend) {
  int32_t r = -1, p = -1;
  EXPECT_EQ(ditc_rt_comm_rank(c, &r), DITC_RT_COMM_OK);
  EXPECT_EQ(ditc_rt_comm_size(c, &p), DITC_RT_COMM_OK);
  EXPECT_EQ(r, 0);
  EXPECT_EQ(p, 1);
  EXPECT_STREQ(ditc_rt_comm_backend(c), "self");
  EXPECT_EQ(ditc_rt_comm_backend_available("self"), 1);
  int64_t ms = 0;
  EXPECT_EQ(ditc_rt_comm_get_timeout_ms(c, &ms), DITC_RT_COMM_OK);
  EXPECT_EQ(ms, DITC_RT_COMM_DEFAULT_TIMEOUT_MS);
  EXPECT_EQ(ditc_rt_comm_set_timeout_ms(c, 250), DITC_RT_COMM_OK);
  EXPECT_EQ(ditc_rt_comm_get_timeout_ms(c, &ms), DITC_RT_COMM_OK);
  EXPECT_EQ(ms, 250);
  EXPECT_EQ(ditc_rt_comm_set_timeout_ms(c, -7), DITC_RT_COMM_OK);
  EXPECT_EQ(ditc_rt_comm_get_timeout_ms(c, &ms), DITC_RT_COMM_OK);
  EXPECT_EQ(ms, 0);
}

TEST_F(Comm, AllReduce) {
  uint32_t seed = 1;
  for (int32_t op : {DITC_RT_REDUCE_SUM, DITC_RT_REDUCE_MAX})
    for (int32_t d : kReduceDtypes) {
      SCOPED_TRACE(dtypeName(d) + (op == DITC_RT_REDUCE_SUM ? " sum" : " max"));
      auto in = randomBuffer(d, kCount, seed++);
      auto keep = in;
      std::vector<unsigned char> out(in.size(), 0xAB);
      ASSERT_EQ(ditc_rt_comm_all_reduce(c, in.data(), out.data(), kCount, d,
                                        op),
                DITC_RT_COMM_OK)
          << ditc_rt_comm_last_error();
      EXPECT_EQ(out, in);
      EXPECT_EQ(in, keep);
      // In place: unchanged.
      ASSERT_EQ(ditc_rt_comm_all_reduce(c, in.data(), in.data(), kCount, d,
                                        op),
                DITC_RT_COMM_OK);
      EXPECT_EQ(in, keep);
    }
  EXPECT_EQ(bytes(DITC_RT_COMM_ALL_REDUCE), 0u);
  EXPECT_EQ(calls(DITC_RT_COMM_ALL_REDUCE), 20u);
}

TEST_F(Comm, AllGather) {
  uint32_t seed = 100;
  for (int32_t d : kAllDtypes) {
    SCOPED_TRACE(dtypeName(d));
    auto in = randomBuffer(d, kCount, seed++);
    std::vector<unsigned char> out(in.size(), 0xAB);
    ASSERT_EQ(ditc_rt_comm_all_gather(c, in.data(), out.data(), kCount, d),
              DITC_RT_COMM_OK)
        << ditc_rt_comm_last_error();
    EXPECT_EQ(out, in);
    // In place: send is this rank's (the only) block of recv.
    auto keep = in;
    ASSERT_EQ(ditc_rt_comm_all_gather(c, in.data(), in.data(), kCount, d),
              DITC_RT_COMM_OK);
    EXPECT_EQ(in, keep);
  }
  EXPECT_EQ(bytes(DITC_RT_COMM_ALL_GATHER), 0u);
  EXPECT_EQ(calls(DITC_RT_COMM_ALL_GATHER), 12u);
}

TEST_F(Comm, ReduceScatter) {
  uint32_t seed = 200;
  for (int32_t d : kReduceDtypes) {
    SCOPED_TRACE(dtypeName(d));
    auto in = randomBuffer(d, kCount, seed++);
    std::vector<unsigned char> out(in.size(), 0xAB);
    ASSERT_EQ(ditc_rt_comm_reduce_scatter(c, in.data(), out.data(), kCount, d,
                                          DITC_RT_REDUCE_SUM),
              DITC_RT_COMM_OK)
        << ditc_rt_comm_last_error();
    EXPECT_EQ(out, in);
    auto keep = in;
    ASSERT_EQ(ditc_rt_comm_reduce_scatter(c, in.data(), in.data(), kCount, d,
                                          DITC_RT_REDUCE_SUM),
              DITC_RT_COMM_OK);
    EXPECT_EQ(in, keep);
  }
  // Only SUM.
  auto in = randomBuffer(DITC_RT_F32, kCount, 299);
  std::vector<unsigned char> out(in.size());
  EXPECT_EQ(ditc_rt_comm_reduce_scatter(c, in.data(), out.data(), kCount,
                                        DITC_RT_F32, DITC_RT_REDUCE_MAX),
            DITC_RT_COMM_ERROR_ARGUMENT);
  EXPECT_EQ(bytes(DITC_RT_COMM_REDUCE_SCATTER), 0u);
  EXPECT_EQ(calls(DITC_RT_COMM_REDUCE_SCATTER), 10u);
}

TEST_F(Comm, AllToAll) {
  uint32_t seed = 300;
  for (int32_t d : kAllDtypes) {
    SCOPED_TRACE(dtypeName(d));
    auto in = randomBuffer(d, kCount, seed++);
    auto keep = in;
    std::vector<unsigned char> out(in.size(), 0xAB);
    ASSERT_EQ(ditc_rt_comm_all_to_all(c, in.data(), out.data(), kCount, d),
              DITC_RT_COMM_OK)
        << ditc_rt_comm_last_error();
    EXPECT_EQ(out, in);
    EXPECT_EQ(in, keep);
    // No in-place form.
    EXPECT_EQ(ditc_rt_comm_all_to_all(c, in.data(), in.data(), kCount, d),
              DITC_RT_COMM_ERROR_ARGUMENT);
  }
  EXPECT_EQ(bytes(DITC_RT_COMM_ALL_TO_ALL), 0u);
  EXPECT_EQ(calls(DITC_RT_COMM_ALL_TO_ALL), 6u);
}

TEST_F(Comm, Broadcast) {
  uint32_t seed = 400;
  for (int32_t d : kAllDtypes) {
    SCOPED_TRACE(dtypeName(d));
    auto buf = randomBuffer(d, kCount, seed++);
    auto keep = buf;
    ASSERT_EQ(ditc_rt_comm_broadcast(c, buf.data(), kCount, d, 0),
              DITC_RT_COMM_OK)
        << ditc_rt_comm_last_error();
    EXPECT_EQ(buf, keep);
    EXPECT_EQ(ditc_rt_comm_broadcast(c, buf.data(), kCount, d, 1),
              DITC_RT_COMM_ERROR_ARGUMENT);
    EXPECT_EQ(ditc_rt_comm_broadcast(c, buf.data(), kCount, d, -1),
              DITC_RT_COMM_ERROR_ARGUMENT);
  }
  EXPECT_EQ(bytes(DITC_RT_COMM_BROADCAST), 0u);
  EXPECT_EQ(calls(DITC_RT_COMM_BROADCAST), 6u);
}

TEST_F(Comm, Barrier) { EXPECT_EQ(ditc_rt_comm_barrier(c), DITC_RT_COMM_OK); }

TEST_F(Comm, SendRecvSelf) {
  uint32_t seed = 500;
  for (int32_t d : kAllDtypes) {
    SCOPED_TRACE(dtypeName(d));
    auto a = randomBuffer(d, kCount, seed++);
    auto b = randomBuffer(d, kCount / 2, seed++);
    ASSERT_EQ(ditc_rt_comm_send(c, a.data(), kCount, d, 0, 7), DITC_RT_COMM_OK)
        << ditc_rt_comm_last_error();
    ASSERT_EQ(ditc_rt_comm_send(c, b.data(), kCount / 2, d, 0, 3),
              DITC_RT_COMM_OK);
    auto sentA = a;
    std::fill(a.begin(), a.end(), 0xCD); // send copied the message
    // Matched by tag, not by order of sending.
    std::vector<unsigned char> gotB(b.size(), 0xAB), gotA(a.size(), 0xAB);
    ASSERT_EQ(ditc_rt_comm_recv(c, gotB.data(), kCount / 2, d, 0, 3),
              DITC_RT_COMM_OK)
        << ditc_rt_comm_last_error();
    ASSERT_EQ(ditc_rt_comm_recv(c, gotA.data(), kCount, d, 0, 7),
              DITC_RT_COMM_OK);
    EXPECT_EQ(gotA, sentA);
    EXPECT_EQ(gotB, b);
  }
  uint64_t want = 0;
  for (int32_t d : kAllDtypes)
    want += (kCount + kCount / 2) * elemSize(d);
  EXPECT_EQ(bytes(DITC_RT_COMM_SEND), want);
  EXPECT_EQ(calls(DITC_RT_COMM_SEND), 12u);
}

TEST_F(Comm, SendRecvFifoPerTag) {
  for (int32_t i = 0; i < 5; ++i)
    ASSERT_EQ(ditc_rt_comm_send(c, &i, 1, DITC_RT_I32, 0, 1), DITC_RT_COMM_OK);
  for (int32_t i = 0; i < 5; ++i) {
    int32_t got = -1;
    ASSERT_EQ(ditc_rt_comm_recv(c, &got, 1, DITC_RT_I32, 0, 1),
              DITC_RT_COMM_OK);
    EXPECT_EQ(got, i);
  }
}

TEST_F(Comm, RecvMismatchKeepsMessage) {
  int64_t v[4] = {11, -22, 33, -44};
  ASSERT_EQ(ditc_rt_comm_send(c, v, 4, DITC_RT_I64, 0, 9), DITC_RT_COMM_OK);
  int64_t got[4] = {0, 0, 0, 0};
  EXPECT_EQ(ditc_rt_comm_recv(c, got, 3, DITC_RT_I64, 0, 9),
            DITC_RT_COMM_ERROR_ARGUMENT);
  EXPECT_NE(std::string(ditc_rt_comm_last_error()).find("tag 9"),
            std::string::npos);
  EXPECT_EQ(ditc_rt_comm_recv(c, got, 8, DITC_RT_I32, 0, 9),
            DITC_RT_COMM_ERROR_ARGUMENT);
  EXPECT_EQ(got[0], 0);
  ASSERT_EQ(ditc_rt_comm_recv(c, got, 4, DITC_RT_I64, 0, 9), DITC_RT_COMM_OK);
  EXPECT_EQ(std::memcmp(got, v, sizeof v), 0);
}

TEST_F(Comm, RecvTimesOut) {
  ASSERT_EQ(ditc_rt_comm_set_timeout_ms(c, 200), DITC_RT_COMM_OK);
  float buf[3] = {1.5f, -2.5f, 3.5f};
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(ditc_rt_comm_recv(c, buf, 3, DITC_RT_F32, 0, 4),
            DITC_RT_COMM_ERROR_TIMEOUT);
  double ms = std::chrono::duration<double, std::milli>(
                  std::chrono::steady_clock::now() - t0)
                  .count();
  EXPECT_GE(ms, 190.0);
  EXPECT_LT(ms, 2000.0);
  EXPECT_EQ(buf[0], 1.5f); // untouched
  EXPECT_EQ(buf[2], 3.5f);
  EXPECT_NE(std::string(ditc_rt_comm_last_error()).find("timeout"),
            std::string::npos);
  // A message of another tag does not match either.
  ASSERT_EQ(ditc_rt_comm_send(c, buf, 3, DITC_RT_F32, 0, 5), DITC_RT_COMM_OK);
  ASSERT_EQ(ditc_rt_comm_set_timeout_ms(c, 20), DITC_RT_COMM_OK);
  EXPECT_EQ(ditc_rt_comm_recv(c, buf, 3, DITC_RT_F32, 0, 4),
            DITC_RT_COMM_ERROR_TIMEOUT);
  EXPECT_STREQ(ditc_rt_comm_status_string(DITC_RT_COMM_ERROR_TIMEOUT),
               "timed out");
}

TEST_F(Comm, RecvWaitsForAnotherThread) {
  ASSERT_EQ(ditc_rt_comm_set_timeout_ms(c, 5000), DITC_RT_COMM_OK);
  int64_t sent = 0x1234567890LL, got = 0;
  std::thread t([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(ditc_rt_comm_send(c, &sent, 1, DITC_RT_I64, 0, 2),
              DITC_RT_COMM_OK);
  });
  EXPECT_EQ(ditc_rt_comm_recv(c, &got, 1, DITC_RT_I64, 0, 2), DITC_RT_COMM_OK)
      << ditc_rt_comm_last_error();
  t.join();
  EXPECT_EQ(got, sent);
}

TEST_F(Comm, SplitMakesAnIndependentSelfCommunicator) {
  ASSERT_EQ(ditc_rt_comm_set_timeout_ms(c, 1234), DITC_RT_COMM_OK);
  int32_t v = 5;
  ASSERT_EQ(ditc_rt_comm_send(c, &v, 1, DITC_RT_I32, 0, 1), DITC_RT_COMM_OK);
  ditc_rt_comm *sub = nullptr;
  ASSERT_EQ(ditc_rt_comm_split(c, 3, -9, &sub), DITC_RT_COMM_OK)
      << ditc_rt_comm_last_error();
  ASSERT_NE(sub, nullptr);
  int32_t r = -1, p = -1;
  EXPECT_EQ(ditc_rt_comm_rank(sub, &r), DITC_RT_COMM_OK);
  EXPECT_EQ(ditc_rt_comm_size(sub, &p), DITC_RT_COMM_OK);
  EXPECT_EQ(r, 0);
  EXPECT_EQ(p, 1);
  EXPECT_STREQ(ditc_rt_comm_backend(sub), "self");
  int64_t ms = 0;
  EXPECT_EQ(ditc_rt_comm_get_timeout_ms(sub, &ms), DITC_RT_COMM_OK);
  EXPECT_EQ(ms, 1234); // the parent's timeout
  // Counters of its own; the parent's queue is not shared.
  uint64_t b = 1, n = 1;
  EXPECT_EQ(ditc_rt_comm_stats(sub, DITC_RT_COMM_SEND, &b, &n),
            DITC_RT_COMM_OK);
  EXPECT_EQ(b, 0u);
  EXPECT_EQ(n, 0u);
  ASSERT_EQ(ditc_rt_comm_set_timeout_ms(sub, 20), DITC_RT_COMM_OK);
  int32_t got = 0;
  EXPECT_EQ(ditc_rt_comm_recv(sub, &got, 1, DITC_RT_I32, 0, 1),
            DITC_RT_COMM_ERROR_TIMEOUT);
  float x[3] = {1, 2, 3}, y[3] = {};
  EXPECT_EQ(
      ditc_rt_comm_all_reduce(sub, x, y, 3, DITC_RT_F32, DITC_RT_REDUCE_SUM),
      DITC_RT_COMM_OK);
  EXPECT_EQ(y[2], 3.f);
  EXPECT_EQ(calls(DITC_RT_COMM_ALL_REDUCE), 0u);
  // A split of a split; the parent may go first.
  ditc_rt_comm *subsub = nullptr;
  ASSERT_EQ(ditc_rt_comm_split(sub, 0, 0, &subsub), DITC_RT_COMM_OK);
  ditc_rt_comm_destroy(sub);
  EXPECT_EQ(ditc_rt_comm_barrier(subsub), DITC_RT_COMM_OK);
  ditc_rt_comm_destroy(subsub);
  ASSERT_EQ(ditc_rt_comm_recv(c, &got, 1, DITC_RT_I32, 0, 1), DITC_RT_COMM_OK);
  EXPECT_EQ(got, 5);
  // Refused: a negative color, null out / comm.
  sub = reinterpret_cast<ditc_rt_comm *>(&got);
  EXPECT_EQ(ditc_rt_comm_split(c, -1, 0, &sub), DITC_RT_COMM_ERROR_ARGUMENT);
  EXPECT_EQ(sub, nullptr);
  EXPECT_NE(std::string(ditc_rt_comm_last_error()).find("color"),
            std::string::npos);
  EXPECT_EQ(ditc_rt_comm_split(c, 0, 0, nullptr), DITC_RT_COMM_ERROR_ARGUMENT);
  EXPECT_EQ(ditc_rt_comm_split(nullptr, 0, 0, &sub),
            DITC_RT_COMM_ERROR_ARGUMENT);
}

TEST_F(Comm, SendRecvToSelf) {
  uint32_t seed = 900;
  for (int32_t d : kAllDtypes) {
    SCOPED_TRACE(dtypeName(d));
    auto a = randomBuffer(d, kCount, seed++);
    std::vector<unsigned char> got(a.size(), 0xAB);
    ASSERT_EQ(ditc_rt_comm_sendrecv(c, a.data(), kCount, 0, got.data(), kCount,
                                    0, d, 11),
              DITC_RT_COMM_OK)
        << ditc_rt_comm_last_error();
    EXPECT_EQ(got, a);
  }
  uint64_t want = 0;
  for (int32_t d : kAllDtypes)
    want += kCount * elemSize(d);
  EXPECT_EQ(bytes(DITC_RT_COMM_SEND), want);
  EXPECT_EQ(calls(DITC_RT_COMM_SEND), 6u);
}

TEST_F(Comm, SendRecvRequests) {
  // Two exchanges pending at once, and a collective meanwhile; waited for in
  // the other order.
  int64_t a[3] = {1, 2, 3}, b[2] = {-4, -5}, ga[3] = {}, gb[2] = {};
  ditc_rt_comm_request *ra = nullptr, *rb = nullptr;
  ASSERT_EQ(
      ditc_rt_comm_sendrecv_start(c, a, 3, 0, ga, 3, 0, DITC_RT_I64, 1, &ra),
      DITC_RT_COMM_OK);
  ASSERT_EQ(
      ditc_rt_comm_sendrecv_start(c, b, 2, 0, gb, 2, 0, DITC_RT_I64, 2, &rb),
      DITC_RT_COMM_OK);
  EXPECT_EQ(calls(DITC_RT_COMM_SEND), 0u); // counted when complete
  EXPECT_EQ(ditc_rt_comm_barrier(c), DITC_RT_COMM_OK);
  EXPECT_EQ(ditc_rt_comm_request_wait(rb), DITC_RT_COMM_OK);
  EXPECT_EQ(ditc_rt_comm_request_wait(ra), DITC_RT_COMM_OK);
  EXPECT_EQ(std::memcmp(a, ga, sizeof a), 0);
  EXPECT_EQ(std::memcmp(b, gb, sizeof b), 0);
  EXPECT_EQ(bytes(DITC_RT_COMM_SEND), 40u);
  EXPECT_EQ(calls(DITC_RT_COMM_SEND), 2u);
  EXPECT_EQ(ditc_rt_comm_request_wait(nullptr), DITC_RT_COMM_OK);
  // Interoperates with send / recv: the receive takes the older message of
  // the tag, recv takes the exchange's.
  int32_t old = 77, mine = 88, got = 0, got2 = 0;
  ASSERT_EQ(ditc_rt_comm_send(c, &old, 1, DITC_RT_I32, 0, 5), DITC_RT_COMM_OK);
  ASSERT_EQ(ditc_rt_comm_sendrecv(c, &mine, 1, 0, &got, 1, 0, DITC_RT_I32, 5),
            DITC_RT_COMM_OK);
  EXPECT_EQ(got, 77);
  ASSERT_EQ(ditc_rt_comm_recv(c, &got2, 1, DITC_RT_I32, 0, 5), DITC_RT_COMM_OK);
  EXPECT_EQ(got2, 88);
  // Empty messages.
  EXPECT_EQ(
      ditc_rt_comm_sendrecv(c, nullptr, 0, 0, nullptr, 0, 0, DITC_RT_F16, 6),
      DITC_RT_COMM_OK);
  // Sizes that do not match: ARGUMENT from the wait, recv untouched; the
  // message stays queued (recv takes it).
  float f[4] = {1, 2, 3, 4}, g[3] = {9, 9, 9};
  ASSERT_EQ(ditc_rt_comm_set_timeout_ms(c, 50), DITC_RT_COMM_OK);
  EXPECT_EQ(ditc_rt_comm_sendrecv(c, f, 4, 0, g, 3, 0, DITC_RT_F32, 8),
            DITC_RT_COMM_ERROR_ARGUMENT);
  EXPECT_NE(std::string(ditc_rt_comm_last_error()).find("tag 8"),
            std::string::npos)
      << ditc_rt_comm_last_error();
  EXPECT_EQ(g[0], 9.f);
  float h[4] = {};
  EXPECT_EQ(ditc_rt_comm_recv(c, h, 4, DITC_RT_F32, 0, 8), DITC_RT_COMM_OK);
  EXPECT_EQ(h[3], 4.f);
  EXPECT_EQ(calls(DITC_RT_COMM_SEND), 5u); // + send, sendrecv, empty one
}

TEST_F(Comm, SendRecvInvalidArguments) {
  const int32_t A = DITC_RT_COMM_ERROR_ARGUMENT;
  float buf[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  ditc_rt_comm_request *req = nullptr;
  auto start = [&](ditc_rt_comm *comm, const void *s, int64_t ns, int32_t dst,
                   void *r, int64_t nr, int32_t src, int32_t d, int32_t tag) {
    req = reinterpret_cast<ditc_rt_comm_request *>(buf);
    int32_t st =
        ditc_rt_comm_sendrecv_start(comm, s, ns, dst, r, nr, src, d, tag, &req);
    EXPECT_EQ(req, nullptr);
    return st;
  };
  EXPECT_EQ(start(nullptr, buf, 2, 0, buf + 4, 2, 0, DITC_RT_F32, 0), A);
  EXPECT_EQ(start(c, buf, 2, 1, buf + 4, 2, 0, DITC_RT_F32, 0), A);
  EXPECT_EQ(start(c, buf, 2, 0, buf + 4, 2, -1, DITC_RT_F32, 0), A);
  EXPECT_EQ(start(c, buf, 2, 0, buf + 4, 2, 0, 99, 0), A);
  EXPECT_EQ(start(c, buf, -2, 0, buf + 4, 2, 0, DITC_RT_F32, 0), A);
  EXPECT_EQ(start(c, buf, 2, 0, buf + 4, -1, 0, DITC_RT_F32, 0), A);
  EXPECT_EQ(start(c, buf, 2, 0, buf + 4, 2, 0, DITC_RT_F32, -1), A);
  EXPECT_EQ(start(c, nullptr, 2, 0, buf + 4, 2, 0, DITC_RT_F32, 0), A);
  EXPECT_EQ(start(c, buf, 2, 0, nullptr, 2, 0, DITC_RT_F32, 0), A);
  EXPECT_EQ(start(c, buf, 4, 0, buf + 3, 4, 0, DITC_RT_F32, 0), A);
  EXPECT_NE(std::string(ditc_rt_comm_last_error()).find("overlap"),
            std::string::npos);
  EXPECT_EQ(ditc_rt_comm_sendrecv_start(c, buf, 2, 0, buf + 4, 2, 0,
                                        DITC_RT_F32, 0, nullptr),
            A);
  EXPECT_EQ(
      ditc_rt_comm_sendrecv(c, buf, 2, 0, buf + 2, 2, 0, DITC_RT_B8 + 99, 0),
      A);
  EXPECT_EQ(calls(DITC_RT_COMM_SEND), 0u);
  // Nothing was queued.
  ASSERT_EQ(ditc_rt_comm_set_timeout_ms(c, 10), DITC_RT_COMM_OK);
  EXPECT_EQ(ditc_rt_comm_recv(c, buf, 2, DITC_RT_F32, 0, 0),
            DITC_RT_COMM_ERROR_TIMEOUT);
}

// The coll_* entry points at P = 1: every one is a copy of x (a slice or a
// block is all of it), whatever the axis and dtype; errors are refused.
TEST_F(Comm, TensorCollectivesAtWorldSizeOne) {
  const int64_t shape[4] = {3, 5, 1, 7};
  const int64_t n = 105;
  uint32_t seed = 1000;
  for (int32_t d = 0; d < DITC_RT_DTYPE_COUNT; ++d) {
    SCOPED_TRACE("dtype " + std::to_string(d));
    size_t e = d == DITC_RT_F64 || d == DITC_RT_U64   ? 8
               : d == DITC_RT_U32                     ? 4
               : d == DITC_RT_I16 || d == DITC_RT_U16 ? 2
               : d == DITC_RT_I8 || d == DITC_RT_U8   ? 1
                                                      : elemSize(d);
    auto x = randomBuffer(DITC_RT_B8, n * e, seed++);
    for (size_t i = 0; i < x.size(); ++i)
      x[i] = (unsigned char)(x[i] * 37 + i); // not all ones
    for (int32_t axis = 0; axis < 4; ++axis) {
      std::vector<unsigned char> y(x.size(), 0);
      EXPECT_EQ(
          ditc_rt_coll_all_gather(c, x.data(), y.data(), d, 4, shape, axis),
          DITC_RT_COMM_OK)
          << ditc_rt_comm_last_error();
      EXPECT_EQ(y, x);
      std::fill(y.begin(), y.end(), 0);
      EXPECT_EQ(ditc_rt_coll_slice(c, x.data(), y.data(), d, 4, shape, axis),
                DITC_RT_COMM_OK);
      EXPECT_EQ(y, x);
      std::fill(y.begin(), y.end(), 0);
      EXPECT_EQ(ditc_rt_coll_all_to_all(c, x.data(), y.data(), d, 4, shape,
                                        axis, (axis + 1) % 4),
                DITC_RT_COMM_OK)
          << ditc_rt_comm_last_error();
      EXPECT_EQ(y, x);
      bool adds = d == DITC_RT_F32 || d == DITC_RT_I64 || d == DITC_RT_I32 ||
                  d == DITC_RT_F16 || d == DITC_RT_BF16;
      std::fill(y.begin(), y.end(), 0);
      EXPECT_EQ(
          ditc_rt_coll_reduce_scatter(c, x.data(), y.data(), d, 4, shape, axis),
          adds ? DITC_RT_COMM_OK : DITC_RT_COMM_ERROR_ARGUMENT);
      if (adds)
        EXPECT_EQ(y, x);
    }
  }
  // all_reduce in place; send / recv of a dtype the communicator does not
  // name (moved by size).
  auto f = randomBuffer(DITC_RT_F32, 10, 77);
  auto keep = f;
  EXPECT_EQ(ditc_rt_coll_all_reduce(c, f.data(), f.data(), 10, DITC_RT_F32),
            DITC_RT_COMM_OK);
  EXPECT_EQ(f, keep);
  EXPECT_EQ(ditc_rt_coll_all_reduce(c, f.data(), f.data(), 10, DITC_RT_F64),
            DITC_RT_COMM_ERROR_ARGUMENT);
  double v[3] = {1.5, -2.25, 1e300}, w[3] = {};
  EXPECT_EQ(ditc_rt_coll_send(c, v, 3, DITC_RT_F64, 0, 4), DITC_RT_COMM_OK);
  EXPECT_EQ(ditc_rt_coll_recv(c, w, 3, DITC_RT_F64, 0, 4), DITC_RT_COMM_OK)
      << ditc_rt_comm_last_error();
  EXPECT_EQ(std::memcmp(v, w, sizeof v), 0);
  EXPECT_EQ(bytes(DITC_RT_COMM_SEND), 24u);
  // Zero-size tensors: a call that moves nothing, null buffers allowed.
  const int64_t empty[2] = {4, 0};
  EXPECT_EQ(
      ditc_rt_coll_all_gather(c, nullptr, nullptr, DITC_RT_F32, 2, empty, 0),
      DITC_RT_COMM_OK);
  EXPECT_EQ(
      ditc_rt_coll_all_to_all(c, nullptr, nullptr, DITC_RT_F32, 2, empty, 0, 1),
      DITC_RT_COMM_OK);
}

TEST_F(Comm, TensorCollectiveArgumentErrors) {
  const int32_t A = DITC_RT_COMM_ERROR_ARGUMENT;
  float x[16] = {}, y[16] = {};
  const int64_t shape[2] = {4, 4};
  EXPECT_EQ(ditc_rt_coll_all_gather(nullptr, x, y, DITC_RT_F32, 2, shape, 0),
            A);
  EXPECT_NE(std::string(ditc_rt_comm_last_error()).find("null"),
            std::string::npos);
  EXPECT_EQ(ditc_rt_coll_all_gather(c, x, y, 99, 2, shape, 0), A);
  EXPECT_EQ(ditc_rt_coll_all_gather(c, x, y, DITC_RT_F32, 0, shape, 0), A);
  EXPECT_EQ(ditc_rt_coll_all_gather(c, x, y, DITC_RT_F32, DITC_RT_MAX_RANK + 1,
                                    shape, 0),
            A);
  EXPECT_EQ(ditc_rt_coll_all_gather(c, x, y, DITC_RT_F32, 2, nullptr, 0), A);
  EXPECT_EQ(ditc_rt_coll_all_gather(c, x, y, DITC_RT_F32, 2, shape, 2), A);
  EXPECT_NE(std::string(ditc_rt_comm_last_error()).find("axis 2"),
            std::string::npos);
  EXPECT_EQ(ditc_rt_coll_reduce_scatter(c, x, y, DITC_RT_F32, 2, shape, -1), A);
  EXPECT_EQ(ditc_rt_coll_slice(c, nullptr, y, DITC_RT_F32, 2, shape, 0), A);
  EXPECT_EQ(ditc_rt_coll_all_to_all(c, x, y, DITC_RT_F32, 2, shape, 1, 1), A);
  EXPECT_EQ(ditc_rt_coll_all_to_all(c, x, y, DITC_RT_F32, 2, shape, 0, 2), A);
  const int64_t negative[2] = {4, -1};
  EXPECT_EQ(ditc_rt_coll_slice(c, x, y, DITC_RT_F32, 2, negative, 0), A);
  const int64_t huge[2] = {INT64_MAX / 2, 4};
  EXPECT_EQ(ditc_rt_coll_all_gather(c, x, y, DITC_RT_F32, 2, huge, 0), A);
  EXPECT_EQ(ditc_rt_coll_send(nullptr, x, 1, DITC_RT_F32, 0, 0), A);
  EXPECT_EQ(ditc_rt_coll_recv(c, y, 1, 42, 0, 0), A);
  EXPECT_EQ(ditc_rt_coll_send(c, x, 1, DITC_RT_F32, 1, 0), A); // no rank 1
  for (int32_t k = 0; k < DITC_RT_COMM_KIND_COUNT; ++k)
    EXPECT_EQ(calls(k), 0u) << k;
}

TEST_F(Comm, ByteCountersAndReset) {
  auto a = randomBuffer(DITC_RT_F32, 64, 600);
  std::vector<unsigned char> b(a.size());
  ASSERT_EQ(ditc_rt_comm_all_reduce(c, a.data(), b.data(), 64, DITC_RT_F32,
                                    DITC_RT_REDUCE_SUM),
            DITC_RT_COMM_OK);
  ASSERT_EQ(ditc_rt_comm_send(c, a.data(), 64, DITC_RT_F32, 0, 0),
            DITC_RT_COMM_OK);
  ASSERT_EQ(ditc_rt_comm_send(c, a.data(), 10, DITC_RT_I64, 0, 0),
            DITC_RT_COMM_OK);
  EXPECT_EQ(bytes(DITC_RT_COMM_ALL_REDUCE), 0u); // size 1: nothing leaves
  EXPECT_EQ(calls(DITC_RT_COMM_ALL_REDUCE), 1u);
  EXPECT_EQ(bytes(DITC_RT_COMM_SEND), 64u * 4 + 10 * 8);
  EXPECT_EQ(calls(DITC_RT_COMM_SEND), 2u);
  // A failed call counts nothing.
  EXPECT_EQ(ditc_rt_comm_send(c, a.data(), 64, DITC_RT_F32, 1, 0),
            DITC_RT_COMM_ERROR_ARGUMENT);
  EXPECT_EQ(calls(DITC_RT_COMM_SEND), 2u);
  // Barrier and recv count nothing.
  std::vector<unsigned char> r(a.size());
  ASSERT_EQ(ditc_rt_comm_recv(c, r.data(), 64, DITC_RT_F32, 0, 0),
            DITC_RT_COMM_OK);
  ASSERT_EQ(ditc_rt_comm_barrier(c), DITC_RT_COMM_OK);
  EXPECT_EQ(bytes(DITC_RT_COMM_SEND), 64u * 4 + 10 * 8);

  ASSERT_EQ(ditc_rt_comm_reset_stats(c), DITC_RT_COMM_OK);
  for (int32_t k = 0; k < DITC_RT_COMM_KIND_COUNT; ++k) {
    EXPECT_EQ(bytes(k), 0u) << k;
    EXPECT_EQ(calls(k), 0u) << k;
  }
  EXPECT_STREQ(ditc_rt_comm_kind_name(DITC_RT_COMM_ALL_REDUCE), "all_reduce");
  EXPECT_STREQ(ditc_rt_comm_kind_name(DITC_RT_COMM_ALL_GATHER), "all_gather");
  EXPECT_STREQ(ditc_rt_comm_kind_name(DITC_RT_COMM_REDUCE_SCATTER),
               "reduce_scatter");
  EXPECT_STREQ(ditc_rt_comm_kind_name(DITC_RT_COMM_ALL_TO_ALL), "all_to_all");
  EXPECT_STREQ(ditc_rt_comm_kind_name(DITC_RT_COMM_BROADCAST), "broadcast");
  EXPECT_STREQ(ditc_rt_comm_kind_name(DITC_RT_COMM_SEND), "send");
  EXPECT_EQ(ditc_rt_comm_kind_name(DITC_RT_COMM_KIND_COUNT), nullptr);
  EXPECT_EQ(ditc_rt_comm_kind_name(-1), nullptr);
  EXPECT_EQ(ditc_rt_comm_stats(c, DITC_RT_COMM_KIND_COUNT, nullptr, nullptr),
            DITC_RT_COMM_ERROR_ARGUMENT);
  EXPECT_EQ(ditc_rt_comm_stats(c, -1, nullptr, nullptr),
            DITC_RT_COMM_ERROR_ARGUMENT);
}

TEST(CommCreate, RefusesUnknownAndUnbuiltBackends) {
  // "mpi" is built when CMake found MPI (RuntimeCommMpi tests it, under
  // mpirun); creating one here would initialise MPI in this process.
  EXPECT_EQ(ditc_rt_comm_backend_available("mpi"), DITC_TEST_HAVE_MPI);
  // Without MPI neither "mpi" nor "nccl" (bootstrapped over MPI) is built.
  for (const char *name : {"mpi", "nccl"}) {
    if (DITC_TEST_HAVE_MPI)
      continue;
    ditc_rt_comm *c = reinterpret_cast<ditc_rt_comm *>(0x1);
    EXPECT_EQ(ditc_rt_comm_backend_available(name), 0) << name;
    EXPECT_EQ(ditc_rt_comm_create(name, &c), DITC_RT_COMM_ERROR_UNAVAILABLE)
        << name;
    EXPECT_EQ(c, nullptr);
    std::string err = ditc_rt_comm_last_error();
    EXPECT_NE(err.find(name), std::string::npos) << err;
    EXPECT_NE(err.find("not built"), std::string::npos) << err;
  }
  for (const char *name : {"gloo", "", "SELF", "self "}) {
    ditc_rt_comm *c = reinterpret_cast<ditc_rt_comm *>(0x1);
    EXPECT_EQ(ditc_rt_comm_backend_available(name), 0) << name;
    EXPECT_EQ(ditc_rt_comm_create(name, &c), DITC_RT_COMM_ERROR_ARGUMENT)
        << name;
    EXPECT_EQ(c, nullptr);
    EXPECT_NE(std::string(ditc_rt_comm_last_error()).find("unknown"),
              std::string::npos);
  }
  ditc_rt_comm *c = nullptr;
  EXPECT_EQ(ditc_rt_comm_create(nullptr, &c), DITC_RT_COMM_ERROR_ARGUMENT);
  EXPECT_EQ(ditc_rt_comm_create("self", nullptr), DITC_RT_COMM_ERROR_ARGUMENT);
  EXPECT_EQ(ditc_rt_comm_backend_available(nullptr), 0);
  EXPECT_STREQ(ditc_rt_comm_status_string(DITC_RT_COMM_ERROR_UNAVAILABLE),
               "communicator backend not available");
  EXPECT_STREQ(ditc_rt_comm_status_string(1000), "unknown status");
}

// "nccl" loads libnccl.so.2 and the CUDA runtime when it is used: without
// them (or without a device) it is UNAVAILABLE with one line naming what is
// missing, quickly and before MPI is touched. Skipped where NCCL runs.
TEST(CommCreate, NcclWithoutItsLibraries) {
  if (!DITC_TEST_HAVE_MPI)
    GTEST_SKIP() << "built without MPI: nccl is not built in";
  const char *saved = std::getenv("DITC_NCCL_LIBRARY");
  std::string savedValue = saved ? saved : "";
  unsetenv("DITC_NCCL_LIBRARY");
  if (ditc_rt_comm_backend_available("nccl")) {
    if (saved)
      setenv("DITC_NCCL_LIBRARY", savedValue.c_str(), 1);
    GTEST_SKIP() << "NCCL, the CUDA runtime and a device are here";
  }
  auto t0 = std::chrono::steady_clock::now();
  ditc_rt_comm *c = reinterpret_cast<ditc_rt_comm *>(0x1);
  EXPECT_EQ(ditc_rt_comm_create("nccl", &c), DITC_RT_COMM_ERROR_UNAVAILABLE);
  EXPECT_EQ(c, nullptr);
  std::string err = ditc_rt_comm_last_error();
  EXPECT_EQ(err.find('\n'), std::string::npos) << err;
  EXPECT_NE(err.find("nccl"), std::string::npos) << err;
  // What is missing: the library (set DITC_NCCL_LIBRARY), the CUDA runtime
  // or a device.
  EXPECT_TRUE(err.find("libnccl.so.2") != std::string::npos ||
              err.find("libcudart") != std::string::npos ||
              err.find("device") != std::string::npos)
      << err;
  if (err.find("libnccl.so.2 not found") != std::string::npos)
    EXPECT_NE(err.find("DITC_NCCL_LIBRARY"), std::string::npos) << err;

  // A path that does not exist is named.
  const char *bad = "/nonexistent/ditc-test/libnccl-missing.so.2";
  setenv("DITC_NCCL_LIBRARY", bad, 1);
  EXPECT_EQ(ditc_rt_comm_backend_available("nccl"), 0);
  c = reinterpret_cast<ditc_rt_comm *>(0x1);
  EXPECT_EQ(ditc_rt_comm_create("nccl", &c), DITC_RT_COMM_ERROR_UNAVAILABLE);
  EXPECT_EQ(c, nullptr);
  err = ditc_rt_comm_last_error();
  EXPECT_NE(err.find(bad), std::string::npos) << err;
  EXPECT_NE(err.find("DITC_NCCL_LIBRARY"), std::string::npos) << err;
  EXPECT_EQ(err.find('\n'), std::string::npos) << err;
  if (saved)
    setenv("DITC_NCCL_LIBRARY", savedValue.c_str(), 1);
  else
    unsetenv("DITC_NCCL_LIBRARY");
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
                .count(),
            10.0);
}

TEST(CommCreate, NullCommunicator) {
  int32_t v = 0;
  int64_t t = 0;
  float buf[4] = {1, 2, 3, 4};
  const int32_t A = DITC_RT_COMM_ERROR_ARGUMENT;
  ditc_rt_comm_destroy(nullptr);
  EXPECT_EQ(ditc_rt_comm_backend(nullptr), nullptr);
  EXPECT_EQ(ditc_rt_comm_rank(nullptr, &v), A);
  EXPECT_EQ(ditc_rt_comm_size(nullptr, &v), A);
  EXPECT_EQ(ditc_rt_comm_set_timeout_ms(nullptr, 5), A);
  EXPECT_EQ(ditc_rt_comm_get_timeout_ms(nullptr, &t), A);
  EXPECT_EQ(ditc_rt_comm_all_reduce(nullptr, buf, buf, 4, DITC_RT_F32,
                                    DITC_RT_REDUCE_SUM),
            A);
  EXPECT_EQ(ditc_rt_comm_all_gather(nullptr, buf, buf, 4, DITC_RT_F32), A);
  EXPECT_EQ(ditc_rt_comm_reduce_scatter(nullptr, buf, buf, 4, DITC_RT_F32,
                                        DITC_RT_REDUCE_SUM),
            A);
  EXPECT_EQ(ditc_rt_comm_all_to_all(nullptr, buf, buf + 2, 2, DITC_RT_F32), A);
  EXPECT_EQ(ditc_rt_comm_broadcast(nullptr, buf, 4, DITC_RT_F32, 0), A);
  EXPECT_EQ(ditc_rt_comm_barrier(nullptr), A);
  EXPECT_EQ(ditc_rt_comm_send(nullptr, buf, 4, DITC_RT_F32, 0, 0), A);
  EXPECT_EQ(ditc_rt_comm_recv(nullptr, buf, 4, DITC_RT_F32, 0, 0), A);
  EXPECT_EQ(ditc_rt_comm_stats(nullptr, 0, nullptr, nullptr), A);
  EXPECT_EQ(ditc_rt_comm_reset_stats(nullptr), A);
  EXPECT_NE(std::string(ditc_rt_comm_last_error()).find("null"),
            std::string::npos);
}

TEST_F(Comm, InvalidArguments) {
  const int32_t A = DITC_RT_COMM_ERROR_ARGUMENT;
  float buf[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  float keep[8];
  std::memcpy(keep, buf, sizeof buf);
  EXPECT_EQ(ditc_rt_comm_rank(c, nullptr), A);
  EXPECT_EQ(ditc_rt_comm_size(c, nullptr), A);
  EXPECT_EQ(ditc_rt_comm_get_timeout_ms(c, nullptr), A);
  // Null buffers with count > 0.
  EXPECT_EQ(ditc_rt_comm_all_reduce(c, nullptr, buf, 4, DITC_RT_F32,
                                    DITC_RT_REDUCE_SUM),
            A);
  EXPECT_EQ(ditc_rt_comm_all_reduce(c, buf, nullptr, 4, DITC_RT_F32,
                                    DITC_RT_REDUCE_SUM),
            A);
  EXPECT_EQ(ditc_rt_comm_all_gather(c, nullptr, buf, 4, DITC_RT_F32), A);
  EXPECT_EQ(ditc_rt_comm_reduce_scatter(c, buf, nullptr, 4, DITC_RT_F32,
                                        DITC_RT_REDUCE_SUM),
            A);
  EXPECT_EQ(ditc_rt_comm_all_to_all(c, nullptr, buf, 4, DITC_RT_F32), A);
  EXPECT_EQ(ditc_rt_comm_broadcast(c, nullptr, 4, DITC_RT_F32, 0), A);
  EXPECT_EQ(ditc_rt_comm_send(c, nullptr, 4, DITC_RT_F32, 0, 0), A);
  EXPECT_EQ(ditc_rt_comm_recv(c, nullptr, 4, DITC_RT_F32, 0, 0), A);
  // Unknown dtype, op; B8 reductions; negative and overflowing counts.
  for (int32_t d : {-1, 6, 99}) {
    EXPECT_EQ(ditc_rt_comm_all_reduce(c, buf, buf, 4, d, DITC_RT_REDUCE_SUM),
              A);
    EXPECT_EQ(ditc_rt_comm_all_gather(c, buf, buf, 4, d), A);
    EXPECT_EQ(ditc_rt_comm_send(c, buf, 4, d, 0, 0), A);
  }
  for (int32_t op : std::initializer_list<int32_t>{DITC_RT_REDUCE_MEAN, DITC_RT_REDUCE_MIN,
                     DITC_RT_REDUCE_PROD, -1, 42})
    EXPECT_EQ(ditc_rt_comm_all_reduce(c, buf, buf, 4, DITC_RT_F32, op), A)
        << op;
  EXPECT_EQ(ditc_rt_comm_all_reduce(c, buf, buf, 4, DITC_RT_B8,
                                    DITC_RT_REDUCE_MAX),
            A);
  EXPECT_EQ(ditc_rt_comm_reduce_scatter(c, buf, buf, 4, DITC_RT_B8,
                                        DITC_RT_REDUCE_SUM),
            A);
  EXPECT_EQ(ditc_rt_comm_all_reduce(c, buf, buf, -1, DITC_RT_F32,
                                    DITC_RT_REDUCE_SUM),
            A);
  EXPECT_EQ(ditc_rt_comm_all_gather(c, buf, buf, INT64_MAX / 2, DITC_RT_F32),
            A);
  // Partial overlaps.
  EXPECT_EQ(ditc_rt_comm_all_reduce(c, buf, buf + 1, 4, DITC_RT_F32,
                                    DITC_RT_REDUCE_SUM),
            A);
  EXPECT_EQ(ditc_rt_comm_all_gather(c, buf + 1, buf, 4, DITC_RT_F32), A);
  EXPECT_EQ(ditc_rt_comm_reduce_scatter(c, buf, buf + 1, 4, DITC_RT_F32,
                                        DITC_RT_REDUCE_SUM),
            A);
  EXPECT_EQ(ditc_rt_comm_all_to_all(c, buf, buf + 3, 4, DITC_RT_F32), A);
  // Peers out of range, negative tags.
  EXPECT_EQ(ditc_rt_comm_send(c, buf, 4, DITC_RT_F32, 1, 0), A);
  EXPECT_EQ(ditc_rt_comm_send(c, buf, 4, DITC_RT_F32, -1, 0), A);
  EXPECT_EQ(ditc_rt_comm_send(c, buf, 4, DITC_RT_F32, 0, -3), A);
  EXPECT_EQ(ditc_rt_comm_recv(c, buf, 4, DITC_RT_F32, 1, 0), A);
  EXPECT_EQ(ditc_rt_comm_recv(c, buf, 4, DITC_RT_F32, 0, -3), A);
  EXPECT_EQ(std::memcmp(buf, keep, sizeof buf), 0);
  for (int32_t k = 0; k < DITC_RT_COMM_KIND_COUNT; ++k)
    EXPECT_EQ(calls(k), 0u) << k;
}

TEST_F(Comm, ZeroCountIsANoOp) {
  EXPECT_EQ(ditc_rt_comm_all_reduce(c, nullptr, nullptr, 0, DITC_RT_F32,
                                    DITC_RT_REDUCE_SUM),
            DITC_RT_COMM_OK);
  EXPECT_EQ(ditc_rt_comm_all_gather(c, nullptr, nullptr, 0, DITC_RT_I64),
            DITC_RT_COMM_OK);
  EXPECT_EQ(ditc_rt_comm_reduce_scatter(c, nullptr, nullptr, 0, DITC_RT_I32,
                                        DITC_RT_REDUCE_SUM),
            DITC_RT_COMM_OK);
  EXPECT_EQ(ditc_rt_comm_all_to_all(c, nullptr, nullptr, 0, DITC_RT_B8),
            DITC_RT_COMM_OK);
  EXPECT_EQ(ditc_rt_comm_broadcast(c, nullptr, 0, DITC_RT_F16, 0),
            DITC_RT_COMM_OK);
  // An empty message is still a message.
  EXPECT_EQ(ditc_rt_comm_send(c, nullptr, 0, DITC_RT_BF16, 0, 1),
            DITC_RT_COMM_OK);
  EXPECT_EQ(ditc_rt_comm_recv(c, nullptr, 0, DITC_RT_BF16, 0, 1),
            DITC_RT_COMM_OK);
  EXPECT_EQ(bytes(DITC_RT_COMM_SEND), 0u);
  EXPECT_EQ(calls(DITC_RT_COMM_SEND), 1u);
}

} // namespace
