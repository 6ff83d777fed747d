//===- ModelMpiTest.cpp - Multi-rank model libraries under mpirun ---------===//
//
// Model.cpp joining a parallel run (test/Runtime/model-mpi.test: a
// singleton and mpirun -np 1..4): the communicator of every comm group holds
// the ranks the mesh says, in the order it says; each rank maps its own
// weight file; stats add up over the model's communicators; a library for
// another number of ranks, weights of another rank or plan, and a rank that
// cannot create its model make every rank fail with one line; a collective
// that times out fails the run with DITC_ERROR_COMM. The generated half of
// the library is FakeModel.h.
//
//===----------------------------------------------------------------------===//
#include "FakeModel.h"

#include "ditc/runtime/ditc_comm.h"
#include "ditc/runtime/ditc_kernels.h"
#include "ditc/runtime/ditc_model.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

int32_t gRank = 0, gSize = 1;

// The mesh of these tests: 2 x P/2 for even P, else P x 1.
std::vector<int32_t> meshShape() {
  return gSize % 2 == 0 ? std::vector<int32_t>{2, gSize / 2}
                        : std::vector<int32_t>{gSize, 1};
}

// The comm groups: each axis, both, none.
const std::vector<std::vector<int32_t>> kGroups = {{0}, {1}, {0, 1}, {}};

std::string plan() { return "test=" + std::to_string(gSize); }

class ModelMpi : public ::testing::Test {
protected:
  void SetUp() override {
    unsetenv("DITC_COMM");
    setenv("DITC_COMM_TIMEOUT_S", "60", 1);
    fake::gRun = nullptr;
    // Every rank writes its own weights: w = {r, 10 r, 100 r}.
    file = fake::exeDir() + "/ModelMpiTest.rank" + std::to_string(gRank) +
           ".safetensors";
    checksum = fake::writeWeights(
        file, {(float)gRank, 10.f * gRank, 100.f * gRank},
        {{"ditc_plan", plan()}, {"ditc_rank", std::to_string(gRank)}});
  }
  void TearDown() override {
    ditc_model_destroy(m);
    std::remove(file.c_str());
    unsetenv("DITC_COMM_TIMEOUT_S");
  }

  nlohmann::json descriptor() {
    nlohmann::json j = fake::descriptor(3, 3);
    j["world_size"] = gSize;
    j["plan"] = plan();
    std::vector<int32_t> shape = meshShape();
    j["mesh"] = {{"axes", {"a", "b"}}, {"shape", shape}};
    j["comm_groups"] = kGroups;
    j["weights_files"] = nlohmann::json::array();
    for (int32_t q = 0; q < gSize; ++q)
      j["weights_files"].push_back("ModelMpiTest.rank" + std::to_string(q) +
                                   ".safetensors");
    return j;
  }
  ditc_status create(const nlohmann::json &j, const char *weights = nullptr) {
    fake::gJson = j.dump();
    ditc_model_destroy(m);
    m = nullptr;
    return ditc_model_create(weights, &m);
  }
  ditc_status run(float *y) {
    float x[3] = {1, 2, 3};
    const void *in[] = {x};
    void *out[] = {y};
    return ditc_model_run(m, in, out);
  }

  ditc_model *m = nullptr;
  std::string file, checksum;
};

// The members of comm group `g` around this rank, in their order: the ranks
// with this rank's coordinates off the group's axes, by their coordinates on
// them (worked out here by enumeration, not by Mesh.h).
std::vector<int32_t> expectedMembers(const std::vector<int32_t> &g) {
  std::vector<int32_t> shape = meshShape();
  auto coords = [&](int32_t r) {
    return std::vector<int32_t>{r / shape[1], r % shape[1]};
  };
  std::vector<int32_t> mine = coords(gRank);
  std::vector<std::pair<std::vector<int32_t>, int32_t>> found;
  for (int32_t q = 0; q < gSize; ++q) {
    std::vector<int32_t> c = coords(q), on;
    bool same = true;
    for (int32_t a = 0; a < 2; ++a) {
      bool in = std::find(g.begin(), g.end(), a) != g.end();
      if (in)
        on.push_back(c[a]);
      else if (c[a] != mine[a])
        same = false;
    }
    if (same)
      found.emplace_back(on, q);
  }
  std::sort(found.begin(), found.end());
  std::vector<int32_t> v;
  for (auto &f : found)
    v.push_back(f.second);
  return v;
}

TEST_F(ModelMpi, GroupsFollowTheMesh) {
  std::vector<std::vector<int32_t>> got(kGroups.size());
  fake::gRun = [&](void *const *, void *const *, void *const *,
                   void *const *comms) -> int32_t {
    for (size_t g = 0; g < kGroups.size(); ++g) {
      int32_t p = 0;
      ditc_rt_comm_size(static_cast<ditc_rt_comm *>(comms[g]), &p);
      got[g].assign(p, -1);
      int64_t shape[1] = {1};
      if (int32_t s = ditc_rt_coll_all_gather(comms[g], &gRank, got[g].data(),
                                              DITC_RT_I32, 1, shape, 0))
        return s;
    }
    return 0;
  };
  ASSERT_EQ(create(descriptor()), DITC_OK) << ditc_model_last_error(nullptr);
  EXPECT_EQ(ditc_model_rank(m), gRank);
  EXPECT_EQ(ditc_model_world_size(m), gSize);
  EXPECT_EQ(std::string(ditc_model_plan(m)), plan());
  float y[3];
  ASSERT_EQ(run(y), DITC_OK) << ditc_model_last_error(m);
  for (size_t g = 0; g < kGroups.size(); ++g)
    EXPECT_EQ(got[g], expectedMembers(kGroups[g])) << "group " << g;
  // all_gather on each group: (P_g - 1) * 4 bytes.
  uint64_t b = 0, n = 0, want = 0;
  for (size_t g = 0; g < kGroups.size(); ++g)
    want += (expectedMembers(kGroups[g]).size() - 1) * 4;
  ASSERT_EQ(ditc_model_comm_stats(m, DITC_RT_COMM_ALL_GATHER, &b, &n), DITC_OK);
  EXPECT_EQ(b, want);
  EXPECT_EQ(n, kGroups.size());
  // Only the last run's traffic after a reset.
  ASSERT_EQ(ditc_model_reset_comm_stats(m), DITC_OK);
  ASSERT_EQ(run(y), DITC_OK);
  ASSERT_EQ(ditc_model_comm_stats(m, DITC_RT_COMM_ALL_GATHER, &b, &n), DITC_OK);
  EXPECT_EQ(b, want);
  EXPECT_EQ(n, kGroups.size());
  ASSERT_EQ(ditc_model_comm_stats(m, DITC_RT_COMM_ALL_REDUCE, &b, &n), DITC_OK);
  EXPECT_EQ(n, 0u); // create's own agreement is not counted
}

TEST_F(ModelMpi, EachRankMapsItsWeights) {
  nlohmann::json j = descriptor();
  // The checksums of every rank's file: every rank writes the same bytes
  // for rank q as rank q does.
  j["weights_checksums"] = nlohmann::json::array();
  for (int32_t q = 0; q < gSize; ++q) {
    std::string tmp = fake::exeDir() + "/ModelMpiTest.sum" +
                      std::to_string(gRank) + ".safetensors";
    j["weights_checksums"].push_back(fake::writeWeights(
        tmp, {(float)q, 10.f * q, 100.f * q},
        {{"ditc_plan", plan()}, {"ditc_rank", std::to_string(q)}}));
    std::remove(tmp.c_str());
  }
  fake::gRun = [&](void *const *, void *const *out, void *const *w,
                   void *const *comms) {
    return ditc_rt_coll_all_reduce(comms[2], w[0], out[0], 3, DITC_RT_F32);
  };
  ASSERT_EQ(create(j), DITC_OK) << ditc_model_last_error(nullptr);
  float y[3] = {};
  ASSERT_EQ(run(y), DITC_OK) << ditc_model_last_error(m);
  float s = gSize * (gSize - 1) / 2.f;
  EXPECT_EQ(y[0], s);
  EXPECT_EQ(y[1], 10 * s);
  EXPECT_EQ(y[2], 100 * s);
  uint64_t b = 0, n = 0;
  ASSERT_EQ(ditc_model_comm_stats(m, DITC_RT_COMM_ALL_REDUCE, &b, &n), DITC_OK);
  EXPECT_EQ(b, (uint64_t)(2 * (gSize - 1) * 12 / gSize));
  EXPECT_EQ(n, 1u);
}

TEST_F(ModelMpi, LibraryForAnotherRunSizeFailsOnEveryRank) {
  nlohmann::json j = descriptor();
  j["world_size"] = gSize + 1;
  j["mesh"] = {{"axes", {"a"}}, {"shape", {gSize + 1}}};
  j["comm_groups"] = {{0}};
  j["weights_files"].push_back("ModelMpiTest.extra.safetensors");
  EXPECT_EQ(create(j), DITC_ERROR_COMM);
  EXPECT_EQ(std::string(ditc_model_last_error(nullptr)),
            "this library was compiled for --devices " +
                std::to_string(gSize + 1) + " (plan '" + plan() +
                "') but runs on " + std::to_string(gSize) +
                (gSize == 1 ? " rank" : " ranks") +
                "; start it with mpirun -np " + std::to_string(gSize + 1));
}

// Every rank maps the next rank's file: every rank refuses it, naming it.
TEST_F(ModelMpi, WeightsOfAnotherRankAreRefused) {
  if (gSize == 1)
    GTEST_SKIP() << "needs 2 ranks";
  std::string next = fake::exeDir() + "/ModelMpiTest.rank" +
                     std::to_string((gRank + 1) % gSize) + ".safetensors";
  // Wait until the next rank has written its file: a barrier over a
  // communicator of our own.
  ditc_rt_comm *c = nullptr;
  ASSERT_EQ(ditc_rt_comm_create("mpi", &c), DITC_RT_COMM_OK);
  ASSERT_EQ(ditc_rt_comm_barrier(c), DITC_RT_COMM_OK);
  EXPECT_EQ(create(descriptor(), next.c_str()), DITC_ERROR_FORMAT);
  EXPECT_EQ(std::string(ditc_model_last_error(nullptr)),
            "weights '" + next + "' hold rank " +
                std::to_string((gRank + 1) % gSize) + " of plan '" + plan() +
                "'; this library is rank " + std::to_string(gRank) +
                " of plan '" + plan() + "' (weights from another compile?)");
  // Nobody removes a file before everyone read it.
  ASSERT_EQ(ditc_rt_comm_barrier(c), DITC_RT_COMM_OK);
  ditc_rt_comm_destroy(c);
}

// The last rank cannot open its file: it says why, the others that it
// failed, instead of waiting for it in a collective.
TEST_F(ModelMpi, ARankThatCannotCreateItsModelStopsTheOthers) {
  if (gSize == 1)
    GTEST_SKIP() << "needs 2 ranks";
  nlohmann::json j = descriptor();
  j["weights_files"][gSize - 1] = "ModelMpiTest.missing.safetensors";
  ditc_status s = create(j);
  std::string err = ditc_model_last_error(nullptr);
  if (gRank == gSize - 1) {
    EXPECT_EQ(s, DITC_ERROR_IO);
    EXPECT_NE(err.find("ModelMpiTest.missing.safetensors"), std::string::npos)
        << err;
  } else {
    EXPECT_EQ(s, DITC_ERROR_COMM);
    EXPECT_EQ(err, "rank " + std::to_string(gSize - 1) + " of " +
                       std::to_string(gSize) +
                       " could not create its model (its error says why); "
                       "rank " +
                       std::to_string(gRank) + " stops too");
  }
}

// Rank 0 waits for a message nobody sends: its run fails after
// DITC_COMM_TIMEOUT_S with DITC_ERROR_COMM naming the peer; the others'
// runs succeed. The model stays usable.
TEST_F(ModelMpi, ATimedOutCollectiveFailsTheRun) {
  setenv("DITC_COMM_TIMEOUT_S", "0.3", 1);
  fake::gRun = [&](void *const *, void *const *out, void *const *,
                   void *const *comms) -> int32_t {
    if (gRank != 0)
      return 0;
    return ditc_rt_coll_recv(comms[2], out[0], 3, DITC_RT_F32, gSize - 1, 77);
  };
  ASSERT_EQ(create(descriptor()), DITC_OK) << ditc_model_last_error(nullptr);
  float y[3];
  ditc_status s = run(y);
  if (gRank == 0) {
    EXPECT_EQ(s, DITC_ERROR_COMM);
    std::string err = ditc_model_last_error(m);
    EXPECT_NE(err.find("no message from rank " + std::to_string(gSize - 1) +
                       " with tag 77"),
              std::string::npos)
        << err;
  } else {
    EXPECT_EQ(s, DITC_OK);
  }
  // Still usable: a collective run on every rank (with a timeout that
  // lets rank 0 come late).
  fake::gRun = [&](void *const *, void *const *out, void *const *w,
                   void *const *comms) {
    ditc_rt_comm_set_timeout_ms(static_cast<ditc_rt_comm *>(comms[2]), 60000);
    return ditc_rt_coll_all_reduce(comms[2], w[0], out[0], 3, DITC_RT_F32);
  };
  EXPECT_EQ(run(y), DITC_OK) << ditc_model_last_error(m);
  EXPECT_EQ(y[0], gSize * (gSize - 1) / 2.f);
}

// Reports only the failures of a rank other than 0.
class FailurePrinter : public ::testing::EmptyTestEventListener {
  void OnTestPartResult(const ::testing::TestPartResult &t) override {
    if (t.failed())
      std::fprintf(stderr, "rank %d: %s:%d: failure\n%s\n", gRank,
                   t.file_name() ? t.file_name() : "?", t.line_number(),
                   t.summary());
  }
};

} // namespace

int main(int argc, char **argv) {
  ::testing::InitGoogleTest(&argc, argv);
  // The world, as the model libraries see it.
  ditc_rt_comm *world = nullptr;
  if (ditc_rt_comm_create("mpi", &world) != DITC_RT_COMM_OK) {
    std::fprintf(stderr, "cannot create the mpi communicator: %s\n",
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
  // Every rank's verdict: the exit status is that of the worst.
  int32_t worst = 0;
  ditc_rt_comm_create("mpi", &world);
  ditc_rt_comm_all_reduce(world, &rc, &worst, 1, DITC_RT_I32,
                          DITC_RT_REDUCE_MAX);
  ditc_rt_comm_destroy(world);
  return worst;
}
