//===- ModelTest.cpp - Model.cpp's parallel half, on one rank -------------===//
//
// The mesh arithmetic of runtime/src/model/Mesh.h (coordinates, the color
// and key of each comm group, the descriptor's fields and their errors) and
// ditc_model.h on one rank: a single-device library as before, comm groups
// as self communicators, a run whose collective fails, a library compiled
// for more ranks, per-rank weight files and their plan metadata, and a fuzz
// smoke test of the weight file's parser (malformed safetensors headers,
// truncations, flipped bytes: an error, never a crash). The generated half
// of the library is FakeModel.h. Multi-rank runs: ModelMpiTest.cpp.
//
//===----------------------------------------------------------------------===//
#include "FakeModel.h"

#include "runtime/src/model/Denoising.h"
#include "runtime/src/model/Mesh.h"

#include "ditc/runtime/ditc_comm.h"
#include "ditc/runtime/ditc_kernels.h"
#include "ditc/runtime/ditc_model.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <set>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

using ditc_rt::model::groupSplit;
using ditc_rt::model::meshCoords;
using ditc_rt::model::Parallel;
using ditc_rt::model::parseParallel;

namespace {

TEST(Mesh, RanksAreRowMajorFirstAxisMajor) {
  std::vector<int32_t> shape = {2, 3, 4};
  EXPECT_EQ(meshCoords(shape, 0), (std::vector<int32_t>{0, 0, 0}));
  EXPECT_EQ(meshCoords(shape, 5), (std::vector<int32_t>{0, 1, 1}));
  EXPECT_EQ(meshCoords(shape, 12), (std::vector<int32_t>{1, 0, 0}));
  EXPECT_EQ(meshCoords(shape, 23), (std::vector<int32_t>{1, 2, 3}));
  for (int32_t r = 0; r < 24; ++r) {
    std::vector<int32_t> c = meshCoords(shape, r);
    EXPECT_EQ(c[0] * 12 + c[1] * 4 + c[2], r);
  }
}

TEST(Mesh, GroupsOfATwoByTwoMesh) {
  // cfg x ulysses = 2 x 2: rank = 2 * cfg + ulysses.
  std::vector<int32_t> shape = {2, 2};
  auto split = [&](std::vector<int32_t> g, int32_t r) {
    int32_t color = -1, key = -1;
    groupSplit(shape, g, r, &color, &key);
    return std::make_pair(color, key);
  };
  using P = std::pair<int32_t, int32_t>;
  // ulysses: {0,1} and {2,3}.
  EXPECT_EQ(split({1}, 0), P(0, 0));
  EXPECT_EQ(split({1}, 1), P(0, 1));
  EXPECT_EQ(split({1}, 2), P(1, 0));
  EXPECT_EQ(split({1}, 3), P(1, 1));
  // cfg: {0,2} and {1,3}.
  EXPECT_EQ(split({0}, 0), P(0, 0));
  EXPECT_EQ(split({0}, 2), P(0, 1));
  EXPECT_EQ(split({0}, 1), P(1, 0));
  EXPECT_EQ(split({0}, 3), P(1, 1));
  // Both: the world in rank order; none: every rank alone.
  for (int32_t r = 0; r < 4; ++r) {
    EXPECT_EQ(split({0, 1}, r), P(0, r));
    EXPECT_EQ(split({}, r), P(r, 0));
  }
  // Both, the second axis major (a split listed [ulysses, cfg]): keys
  // 2 * ulysses + cfg.
  EXPECT_EQ(split({1, 0}, 0), P(0, 0));
  EXPECT_EQ(split({1, 0}, 2), P(0, 1));
  EXPECT_EQ(split({1, 0}, 1), P(0, 2));
  EXPECT_EQ(split({1, 0}, 3), P(0, 3));
}

// Every group of a 3-D mesh: the ranks of one color are those that agree on
// the axes outside the group, as many as the group's axes hold, with keys
// 0.. in the order of their coordinates on the group's axes.
TEST(Mesh, EveryGroupOfAThreeDimensionalMesh) {
  std::vector<int32_t> shape = {2, 3, 2};
  int32_t world = 12;
  for (int mask = 0; mask < 8; ++mask) {
    std::vector<int32_t> g;
    int32_t size = 1;
    for (int32_t a = 0; a < 3; ++a)
      if (mask >> a & 1) {
        g.push_back(a);
        size *= shape[a];
      }
    std::map<int32_t, std::map<int32_t, int32_t>> members; // color -> key -> r
    for (int32_t r = 0; r < world; ++r) {
      int32_t color, key;
      groupSplit(shape, g, r, &color, &key);
      EXPECT_TRUE(members[color].emplace(key, r).second)
          << "mask " << mask << ": key " << key << " twice";
    }
    EXPECT_EQ((int32_t)members.size(), world / size) << "mask " << mask;
    for (auto &[color, byKey] : members) {
      EXPECT_EQ((int32_t)byKey.size(), size);
      std::vector<int32_t> first = meshCoords(shape, byKey.begin()->second);
      std::vector<int32_t> prev;
      for (auto &[key, r] : byKey) {
        std::vector<int32_t> c = meshCoords(shape, r), on;
        for (int32_t a = 0; a < 3; ++a)
          if (mask >> a & 1)
            on.push_back(c[a]);
          else
            EXPECT_EQ(c[a], first[a]) << "mask " << mask << " rank " << r;
        EXPECT_LT(key, size);
        if (!prev.empty())
          EXPECT_LT(prev, on) << "mask " << mask;
        prev = on;
      }
    }
  }
}

TEST(Mesh, DescriptorFields) {
  Parallel p;
  std::string err;
  ASSERT_TRUE(parseParallel(nlohmann::json::object(), p, err)) << err;
  EXPECT_EQ(p.worldSize, 1);
  EXPECT_EQ(p.plan, "");
  EXPECT_EQ(p.axes, (std::vector<std::string>{"world"}));
  EXPECT_EQ(p.shape, (std::vector<int32_t>{1}));
  EXPECT_TRUE(p.groups.empty());
  EXPECT_TRUE(p.weightsFiles.empty());

  auto j = nlohmann::json::parse(R"({
    "world_size": 4, "plan": "cfg=2,ulysses=2",
    "mesh": {"axes": ["cfg", "ulysses"], "shape": [2, 2]},
    "comm_groups": [[1], [0, 1], []],
    "weights_files": ["a0", "a1", "a2", "a3"],
    "weights_checksums": ["c0", "c1", "c2", "c3"]})");
  ASSERT_TRUE(parseParallel(j, p, err)) << err;
  EXPECT_EQ(p.worldSize, 4);
  EXPECT_EQ(p.plan, "cfg=2,ulysses=2");
  EXPECT_EQ(p.axes, (std::vector<std::string>{"cfg", "ulysses"}));
  EXPECT_EQ(p.shape, (std::vector<int32_t>{2, 2}));
  EXPECT_EQ(p.groups, (std::vector<std::vector<int32_t>>{{1}, {0, 1}, {}}));
  EXPECT_EQ(p.weightsFiles[3], "a3");
  EXPECT_EQ(p.weightsChecksums[1], "c1");
  EXPECT_EQ(p.stageAxis, -1); // no pipeline axis

  // The pipeline stages' axis is named by index (kinds are informative).
  ASSERT_TRUE(parseParallel(nlohmann::json::parse(R"({
    "world_size": 4, "mesh": {"axes": ["stages", "t"], "shape": [2, 2],
                              "kinds": ["pipeline", "tensor"], "stage_axis": 0}})"),
                            p, err))
      << err;
  EXPECT_EQ(p.stageAxis, 0);

  // Without a mesh: one axis of world_size ranks.
  ASSERT_TRUE(parseParallel(
      nlohmann::json::parse(R"({"world_size": 3, "comm_groups": [[0]]})"), p,
      err));
  EXPECT_EQ(p.shape, (std::vector<int32_t>{3}));

  const char *bad[][2] = {
      {R"({"world_size": 0})", "world_size"},
      {R"({"world_size": "2"})", "world_size"},
      {R"({"plan": 3})", "plan"},
      {R"({"world_size": 4, "mesh": {"axes": ["a"], "shape": [2]}})",
       "holds 2 ranks but world_size is 4"},
      {R"({"world_size": 2, "mesh": {"axes": ["a", "b"], "shape": [2]}})",
       "one length"},
      {R"({"world_size": 2, "mesh": {"axes": ["a"], "shape": [0]}})",
       "positive size"},
      {R"({"world_size": 2, "mesh": {"axes": ["a"], "shape": [2], "stage_axis": 1}})",
       "stage_axis is not an axis index"},
      {R"({"world_size": 2, "comm_groups": [[1]]})", "distinct mesh axes"},
      {R"({"world_size": 2, "comm_groups": [[0, 0]]})", "distinct mesh axes"},
      {R"({"world_size": 2, "comm_groups": [0]})", "not a list"},
      {R"({"world_size": 2, "weights_files": ["a"]})", "one per rank"},
      {R"({"world_size": 1, "weights_checksums": [7]})", "not a string"},
  };
  for (auto &b : bad) {
    SCOPED_TRACE(b[0]);
    EXPECT_FALSE(parseParallel(nlohmann::json::parse(b[0]), p, err));
    EXPECT_NE(err.find(b[1]), std::string::npos) << err;
    EXPECT_NE(err.find("descriptor"), std::string::npos) << err;
  }
}

//===--- ditc_model.h on one rank -----------------------------------------===//

class Model : public ::testing::Test {
protected:
  void SetUp() override {
    unsetenv("DITC_COMM");
    unsetenv("DITC_COMM_TIMEOUT_S");
    fake::gRun = nullptr;
  }
  void TearDown() override {
    ditc_model_destroy(m);
    for (const std::string &f : files)
      std::remove(f.c_str());
    unsetenv("DITC_COMM");
    unsetenv("DITC_COMM_TIMEOUT_S");
  }
  // A weight file beside the executable, removed after the test.
  std::string
  weightFile(const std::string &name, const std::vector<float> &w,
             const std::vector<std::pair<std::string, std::string>> &metadata,
             std::string *checksum = nullptr) {
    std::string path = fake::exeDir() + "/" + name;
    std::string c = fake::writeWeights(path, w, metadata);
    if (checksum)
      *checksum = c;
    files.push_back(path);
    return path;
  }
  ditc_status create(const nlohmann::json &j, const char *weights = nullptr) {
    fake::gJson = j.dump();
    ditc_model_destroy(m);
    m = nullptr;
    return ditc_model_create(weights, &m);
  }
  ditc_status run() {
    float x[4] = {1, 2, 3, 4}, y[4] = {};
    const void *in[] = {x};
    void *out[] = {y};
    return ditc_model_run(m, in, out);
  }

  ditc_model *m = nullptr;
  std::vector<std::string> files;
};

TEST_F(Model, SingleDeviceLibraryAsBefore) {
  void *const *seen = reinterpret_cast<void *const *>(1);
  fake::gRun = [&](void *const *in, void *const *out, void *const *,
                   void *const *comms) {
    seen = comms;
    for (int i = 0; i < 4; ++i)
      static_cast<float *>(out[0])[i] =
          2 * static_cast<const float *>(in[0])[i];
    return 0;
  };
  ASSERT_EQ(create(fake::descriptor(4, 0)), DITC_OK)
      << ditc_model_last_error(nullptr);
  EXPECT_EQ(ditc_model_rank(m), 0);
  EXPECT_EQ(ditc_model_world_size(m), 1);
  EXPECT_STREQ(ditc_model_plan(m), "");
  float x[4] = {1, 2, 3, 4}, y[4] = {};
  const void *in[] = {x};
  void *out[] = {y};
  ASSERT_EQ(ditc_model_run(m, in, out), DITC_OK);
  EXPECT_EQ(y[3], 8.f);
  EXPECT_EQ(seen, nullptr); // no communicators
  for (int32_t k = 0; k < DITC_RT_COMM_KIND_COUNT; ++k) {
    uint64_t b = 1, n = 1;
    EXPECT_EQ(ditc_model_comm_stats(m, k, &b, &n), DITC_OK);
    EXPECT_EQ(b, 0u);
    EXPECT_EQ(n, 0u);
  }
  EXPECT_EQ(ditc_model_comm_stats(m, DITC_RT_COMM_KIND_COUNT, nullptr, nullptr),
            DITC_ERROR_ARGUMENT);
  EXPECT_EQ(ditc_model_comm_stats(m, -1, nullptr, nullptr),
            DITC_ERROR_ARGUMENT);
  EXPECT_EQ(ditc_model_comm_stats(nullptr, 0, nullptr, nullptr),
            DITC_ERROR_ARGUMENT);
  EXPECT_EQ(ditc_model_reset_comm_stats(m), DITC_OK);
  EXPECT_EQ(ditc_model_reset_comm_stats(nullptr), DITC_ERROR_ARGUMENT);
  EXPECT_EQ(ditc_model_rank(nullptr), 0);
  EXPECT_EQ(ditc_model_world_size(nullptr), 1);
  EXPECT_STREQ(ditc_model_plan(nullptr), "");
  EXPECT_STREQ(ditc_status_string(DITC_ERROR_COMM),
               "communication between ranks failed");
}

// comm groups of a one-rank library are self communicators; their traffic
// is what ditc_model_comm_stats adds up, until reset.
TEST_F(Model, CommGroupsOnOneRankAreSelfCommunicators) {
  nlohmann::json j = fake::descriptor(4, 0);
  j["comm_groups"] = {{0}, {0}};
  fake::gRun = [&](void *const *in, void *const *out, void *const *,
                   void *const *comms) -> int32_t {
    EXPECT_STREQ(ditc_rt_comm_backend(static_cast<ditc_rt_comm *>(comms[0])),
                 "self");
    EXPECT_NE(comms[0], comms[1]);
    int64_t shape[1] = {4};
    if (int32_t s =
            ditc_rt_coll_all_reduce(comms[0], in[0], out[0], 4, DITC_RT_F32))
      return s;
    float scratch[4];
    if (int32_t s = ditc_rt_coll_all_gather(comms[1], out[0], scratch,
                                            DITC_RT_F32, 1, shape, 0))
      return s;
    if (int32_t s = ditc_rt_coll_send(comms[1], scratch, 4, DITC_RT_F32, 0, 1))
      return s;
    return ditc_rt_coll_recv(comms[1], out[0], 4, DITC_RT_F32, 0, 1);
  };
  ASSERT_EQ(create(j), DITC_OK) << ditc_model_last_error(nullptr);
  EXPECT_EQ(ditc_model_world_size(m), 1);
  for (int i = 0; i < 2; ++i)
    ASSERT_EQ(run(), DITC_OK) << ditc_model_last_error(m);
  uint64_t b = 0, n = 0;
  EXPECT_EQ(ditc_model_comm_stats(m, DITC_RT_COMM_ALL_REDUCE, &b, &n), DITC_OK);
  EXPECT_EQ(b, 0u);
  EXPECT_EQ(n, 2u);
  EXPECT_EQ(ditc_model_comm_stats(m, DITC_RT_COMM_ALL_GATHER, &b, &n), DITC_OK);
  EXPECT_EQ(n, 2u);
  EXPECT_EQ(ditc_model_comm_stats(m, DITC_RT_COMM_SEND, &b, &n), DITC_OK);
  EXPECT_EQ(b, 32u);
  EXPECT_EQ(n, 2u);
  EXPECT_EQ(ditc_model_reset_comm_stats(m), DITC_OK);
  EXPECT_EQ(ditc_model_comm_stats(m, DITC_RT_COMM_SEND, &b, &n), DITC_OK);
  EXPECT_EQ(b, 0u);
  EXPECT_EQ(n, 0u);
}

// A collective that fails makes the run fail with DITC_ERROR_COMM and the
// communicator's error (a timeout here: DITC_COMM_TIMEOUT_S).
TEST_F(Model, FailedCollectiveIsACommError) {
  setenv("DITC_COMM_TIMEOUT_S", "0.2", 1);
  nlohmann::json j = fake::descriptor(4, 0);
  j["comm_groups"] = {{0}};
  fake::gRun = [&](void *const *, void *const *out, void *const *,
                   void *const *comms) {
    return ditc_rt_coll_recv(comms[0], out[0], 4, DITC_RT_F32, 0, 3);
  };
  ASSERT_EQ(create(j), DITC_OK) << ditc_model_last_error(nullptr);
  EXPECT_EQ(run(), DITC_ERROR_COMM);
  std::string err = ditc_model_last_error(m);
  EXPECT_NE(err.find("no message from rank 0 with tag 3"), std::string::npos)
      << err;
  EXPECT_NE(err.find("timeout"), std::string::npos) << err;
  // The communicator stays usable: a later run that succeeds is OK.
  fake::gRun = [](void *const *, void *const *, void *const *, void *const *) {
    return 0;
  };
  EXPECT_EQ(run(), DITC_OK);

  setenv("DITC_COMM_TIMEOUT_S", "soon", 1);
  EXPECT_EQ(create(j), DITC_ERROR_ARGUMENT);
  EXPECT_NE(std::string(ditc_model_last_error(nullptr)).find("soon"),
            std::string::npos);
}

TEST_F(Model, LibraryForMoreRanksIsRefused) {
  setenv("DITC_COMM", "self", 1);
  nlohmann::json j = fake::descriptor(4, 0);
  j["world_size"] = 4;
  j["plan"] = "cfg=2,ulysses=2";
  j["mesh"] = {{"axes", {"cfg", "ulysses"}}, {"shape", {2, 2}}};
  j["comm_groups"] = {{1}};
  EXPECT_EQ(create(j), DITC_ERROR_COMM);
  EXPECT_EQ(m, nullptr);
  EXPECT_STREQ(ditc_model_last_error(nullptr),
               "this library was compiled for --devices 4 (plan "
               "'cfg=2,ulysses=2') but runs on 1 rank; start it with mpirun "
               "-np 4");
  setenv("DITC_COMM", "nccl", 1);
  EXPECT_EQ(create(j), DITC_ERROR_COMM);
  EXPECT_NE(std::string(ditc_model_last_error(nullptr)).find("nccl"),
            std::string::npos)
      << ditc_model_last_error(nullptr);
  // An inconsistent descriptor.
  j["world_size"] = 3;
  EXPECT_EQ(create(j), DITC_ERROR_ABI);
  EXPECT_NE(std::string(ditc_model_last_error(nullptr)).find("mesh holds 4"),
            std::string::npos);
}

// weights_files / weights_checksums pick this rank's file (rank 0 here);
// the plan and rank in its metadata must be the library's.
TEST_F(Model, PerRankWeightsAndTheirPlan) {
  std::string c0;
  weightFile("ModelTest.p.rank0.safetensors", {1, 2, 3},
             {{"ditc_plan", "tp=1"}, {"ditc_rank", "0"}}, &c0);
  nlohmann::json j = fake::descriptor(4, 3);
  j["plan"] = "tp=1";
  j["weights_file"] = "ModelTest.nothing.safetensors"; // not used
  j["weights_files"] = {"ModelTest.p.rank0.safetensors"};
  j["weights_checksums"] = {c0};
  float seen = 0;
  fake::gRun = [&](void *const *, void *const *, void *const *w,
                   void *const *) {
    seen = static_cast<const float *>(w[0])[2];
    return 0;
  };
  ASSERT_EQ(create(j), DITC_OK) << ditc_model_last_error(nullptr);
  EXPECT_STREQ(ditc_model_plan(m), "tp=1");
  ASSERT_EQ(run(), DITC_OK);
  EXPECT_EQ(seen, 3.f);

  // Another checksum: refused as before.
  j["weights_checksums"] = {"123"};
  EXPECT_EQ(create(j), DITC_ERROR_CHECKSUM);
  j["weights_checksums"] = {c0};

  // {rank} in a weights path.
  std::string dir = fake::exeDir();
  EXPECT_EQ(create(j, (dir + "/ModelTest.p.rank{rank}.safetensors").c_str()),
            DITC_OK)
      << ditc_model_last_error(nullptr);

  // Rank 1 of another plan.
  std::string other = weightFile("ModelTest.q.safetensors", {1, 2, 3},
                                 {{"ditc_plan", "tp=2"}, {"ditc_rank", "1"}});
  j["plan"] = "tp=4";
  j.erase("weights_checksums");
  EXPECT_EQ(create(j, other.c_str()), DITC_ERROR_FORMAT);
  EXPECT_EQ(std::string(ditc_model_last_error(nullptr)),
            "weights '" + other +
                "' hold rank 1 of plan 'tp=2'; this library is rank 0 of "
                "plan 'tp=4' (weights from another compile?)");
  // No plan in the file at all.
  std::string none = weightFile("ModelTest.r.safetensors", {1, 2, 3}, {});
  EXPECT_EQ(create(j, none.c_str()), DITC_ERROR_FORMAT);
  EXPECT_NE(std::string(ditc_model_last_error(nullptr)).find("name no plan"),
            std::string::npos)
      << ditc_model_last_error(nullptr);
  // A single-device library does not look at the metadata.
  j.erase("plan");
  EXPECT_EQ(create(j, none.c_str()), DITC_OK) << ditc_model_last_error(nullptr);
  EXPECT_EQ(create(j, other.c_str()), DITC_OK);
  // Nor does rebinding skip the check.
  j["plan"] = "tp=1";
  ASSERT_EQ(create(j), DITC_OK) << ditc_model_last_error(nullptr);
  EXPECT_EQ(ditc_model_bind_weights(m, other.c_str()), DITC_ERROR_FORMAT);
  EXPECT_NE(std::string(ditc_model_last_error(m)).find("hold rank 1"),
            std::string::npos);
}

// A weight file is read from wherever the user points ditc_model_create:
// every malformed header, truncation and flipped byte gives an error (or,
// where the change is harmless, loads), never a crash. Each mutant is bound
// in a forked child; the child exits 0 (loaded) or 1 (refused with a
// one-line message), so a crash, an abort or an escaped exception fails the
// test naming the mutant.
TEST_F(Model, MalformedWeightFilesAreErrors) {
  const std::string path = weightFile("ModelTest.fuzz.safetensors", {1, 2, 3, 4},
                                      {{"ditc_plan", "tp=1"}, {"ditc_rank", "0"}});
  std::string good;
  {
    std::ifstream in(path, std::ios::binary);
    good.assign(std::istreambuf_iterator<char>(in), {});
  }
  ASSERT_GT(good.size(), 8u + 16u);
  uint64_t headerLen;
  std::memcpy(&headerLen, good.data(), 8);
  const std::string header = good.substr(8, headerLen);
  const std::string data = good.substr(8 + headerLen);
  nlohmann::json j = fake::descriptor(4, 4);
  j["plan"] = "tp=1";
  ASSERT_EQ(create(j, path.c_str()), DITC_OK) << ditc_model_last_error(nullptr);

  // A file of this header (padded as safetensors pads) and the data.
  auto withHeader = [&](const std::string &h) {
    std::string padded = h;
    while (padded.size() % 8)
      padded.push_back(' ');
    uint64_t len = padded.size();
    return std::string(reinterpret_cast<const char *>(&len), 8) + padded + data;
  };
  std::vector<std::pair<std::string, std::string>> mutants; // name, bytes
  // Structural: each field of the entry, the entry, the metadata and the
  // rank in it replaced by each of these.
  const char *values[] = {R"("x")", "-1", "1e30", "18446744073709551615", "null",
                          "{}", R"(["a"])", "[-4, 0]", "[0, 1e30]", "[0]",
                          "[null, null]", "[[1], 2]", "true", R"([0, "16"])"};
  const size_t nValues = sizeof values / sizeof values[0];
  for (const char *field : {"dtype", "shape", "data_offsets"})
    for (const char *v : values) {
      nlohmann::json h = nlohmann::json::parse(header);
      h["w"][field] = nlohmann::json::parse(v);
      mutants.emplace_back(std::string(field) + " = " + v, withHeader(h.dump()));
    }
  for (const char *v : values) {
    nlohmann::json h = nlohmann::json::parse(header);
    h["w"] = nlohmann::json::parse(v);
    mutants.emplace_back(std::string("w = ") + v, withHeader(h.dump()));
    h = nlohmann::json::parse(header);
    h["__metadata__"] = nlohmann::json::parse(v);
    mutants.emplace_back(std::string("__metadata__ = ") + v, withHeader(h.dump()));
    h = nlohmann::json::parse(header);
    h["__metadata__"]["ditc_rank"] = nlohmann::json::parse(v);
    mutants.emplace_back(std::string("ditc_rank = ") + v, withHeader(h.dump()));
  }
  const size_t structural = mutants.size();
  for (const char *h : {"", "[]", "5", R"("w")", "{", "{}"})
    mutants.emplace_back(std::string("header '") + h + "'", withHeader(h));
  // The header length: zero, past the end, huge.
  for (uint64_t len : {uint64_t(0), uint64_t(good.size()), ~uint64_t(0), uint64_t(1) << 63}) {
    std::string b = good;
    std::memcpy(&b[0], &len, 8);
    mutants.emplace_back("header length " + std::to_string(len), b);
  }
  // Every truncation, and flipped bytes of the header (fixed seed).
  for (size_t n = 0; n < good.size(); ++n)
    mutants.emplace_back("first " + std::to_string(n) + " bytes", good.substr(0, n));
  std::mt19937 rng(7);
  for (int i = 0; i < 600; ++i) {
    std::string b = good;
    const size_t at = 8 + rng() % headerLen;
    b[at] = static_cast<char>(rng() & 0xff);
    mutants.emplace_back("byte " + std::to_string(at) + " = " +
                             std::to_string((unsigned char)b[at]) + " (flip " +
                             std::to_string(i) + ")",
                         b);
  }

  const std::string file = fake::exeDir() + "/ModelTest.mutant.safetensors";
  files.push_back(file);
  int failed = 0;
  size_t refused = 0, structuralRefused = 0;
  for (size_t k = 0; k < mutants.size(); ++k) {
    const auto &[name, bytes] = mutants[k];
    {
      std::ofstream out(file, std::ios::binary | std::ios::trunc);
      out.write(bytes.data(), (std::streamsize)bytes.size());
    }
    std::fflush(nullptr);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      // An exception out of the C API is a crash for its caller.
      try {
        ditc_status st = create(j, file.c_str());
        const char *err = ditc_model_last_error(nullptr);
        bool oneLine = err && *err && !std::strchr(err, '\n');
        std::_Exit(st == DITC_OK ? 0 : oneLine ? 1 : 2);
      } catch (...) {
        std::_Exit(3);
      }
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) > 1) {
      if (failed++ < 10)
        ADD_FAILURE() << name << ": "
                      << (WIFSIGNALED(status)
                              ? "killed by signal " + std::to_string(WTERMSIG(status))
                          : WEXITSTATUS(status) == 3
                              ? std::string("an exception escaped ditc_model_create")
                              : std::string("an error without a one-line message"));
    } else if (WEXITSTATUS(status) == 1) {
      ++refused;
      structuralRefused += k < structural;
    }
  }
  EXPECT_EQ(failed, 0) << "of " << mutants.size() << " mutants";
  std::printf("%zu mutants: %zu refused, %zu of the %zu structural ones\n", mutants.size(),
              refused, structuralRefused, structural);
  // Every structural mutant (a wrong dtype, shape, offsets, entry, metadata
  // or rank), every broken header and every truncation is refused; only
  // some flipped bytes are harmless (whitespace, say). Counted so that a
  // parser that takes everything fails.
  EXPECT_EQ(structuralRefused, structural);
  EXPECT_GE(refused, structural + 10 + good.size());
}

} // namespace

//===--- Denoising runs (ditc_model_begin_denoising / _set_denoising_step) -===//

TEST_F(Model, DenoisingRunInOrder) {
  int calls = 0;
  fake::gRun = [&](void *const *in, void *const *out, void *const *, void *const *) {
    ++calls;
    for (int i = 0; i < 4; ++i)
      static_cast<float *>(out[0])[i] = 3 * static_cast<const float *>(in[0])[i];
    return 0;
  };
  ASSERT_EQ(create(fake::descriptor(4, 0)), DITC_OK) << ditc_model_last_error(nullptr);
  EXPECT_EQ(ditc_model_denoising_step(m), -1); // nothing has run
  ASSERT_EQ(run(), DITC_OK);
  EXPECT_EQ(ditc_model_denoising_step(m), -1); // a call without step information
  ASSERT_EQ(ditc_model_begin_denoising(m, 3, 1), DITC_OK) << ditc_model_last_error(m);
  for (int32_t i = 0; i < 3; ++i) {
    ASSERT_EQ(ditc_model_set_denoising_step(m, i), DITC_OK) << ditc_model_last_error(m);
    ASSERT_EQ(run(), DITC_OK);
    EXPECT_EQ(ditc_model_denoising_step(m), i);
  }
  // A synchronous call in between is allowed and is no step.
  ASSERT_EQ(run(), DITC_OK);
  EXPECT_EQ(ditc_model_denoising_step(m), -1);
  EXPECT_EQ(calls, 5);
  // The run has ended: a new one starts from 0.
  EXPECT_EQ(ditc_model_set_denoising_step(m, 3), DITC_ERROR_ARGUMENT);
  EXPECT_NE(std::string(ditc_model_last_error(m)).find("after the run's last step (2)"),
            std::string::npos)
      << ditc_model_last_error(m);
  ASSERT_EQ(ditc_model_begin_denoising(m, 2, 0), DITC_OK);
  ASSERT_EQ(ditc_model_set_denoising_step(m, 0), DITC_OK);
  ASSERT_EQ(run(), DITC_OK);
  EXPECT_EQ(ditc_model_denoising_step(m), 0);
}

TEST_F(Model, DenoisingRunErrorsNameTheCause) {
  fake::gRun = [](void *const *, void *const *, void *const *, void *const *) { return 0; };
  ASSERT_EQ(create(fake::descriptor(4, 0)), DITC_OK) << ditc_model_last_error(nullptr);
  auto expectError = [&](ditc_status s, const char *what) {
    EXPECT_EQ(s, DITC_ERROR_ARGUMENT);
    EXPECT_NE(std::string(ditc_model_last_error(m)).find(what), std::string::npos)
        << ditc_model_last_error(m);
  };
  expectError(ditc_model_set_denoising_step(m, 0), "no denoising run has begun");
  expectError(ditc_model_begin_denoising(m, 0, 0), "at least 1 step (got 0)");
  expectError(ditc_model_begin_denoising(m, 4, 5), "warm-up steps 5 outside 0 .. 4");
  expectError(ditc_model_begin_denoising(m, 4, -1), "warm-up steps -1 outside 0 .. 4");
  ASSERT_EQ(ditc_model_begin_denoising(m, 4, 1), DITC_OK);
  expectError(ditc_model_set_denoising_step(m, 1),
              "denoising step 1 out of order: the run expects step 0 next");
  ASSERT_EQ(ditc_model_set_denoising_step(m, 0), DITC_OK);
  expectError(ditc_model_set_denoising_step(m, 1), "set while step 0 has not run yet");
  ASSERT_EQ(run(), DITC_OK);
  expectError(ditc_model_set_denoising_step(m, 0), "out of order: the run expects step 1");
  expectError(ditc_model_set_denoising_step(m, -1), "out of order");
  // A rejected call changes nothing: step 1 is still next.
  ASSERT_EQ(ditc_model_set_denoising_step(m, 1), DITC_OK);
  ASSERT_EQ(run(), DITC_OK);
  EXPECT_EQ(ditc_model_denoising_step(m), 1);
  EXPECT_EQ(ditc_model_begin_denoising(nullptr, 2, 0), DITC_ERROR_ARGUMENT);
  EXPECT_EQ(ditc_model_set_denoising_step(nullptr, 0), DITC_ERROR_ARGUMENT);
  EXPECT_EQ(ditc_model_denoising_step(nullptr), -1);
}

TEST(DenoisingRun, WarmupAndStaleSteps) {
  ditc_rt::model::DenoisingRun r;
  std::string err;
  ASSERT_TRUE(r.begin(5, 2, err)) << err;
  // Warm-up steps and the first step run synchronously; later ones may use
  // state of the step before.
  EXPECT_FALSE(r.stale(0));
  EXPECT_FALSE(r.stale(1));
  EXPECT_TRUE(r.stale(2));
  EXPECT_TRUE(r.stale(4));
  ASSERT_TRUE(r.begin(3, 0, err)) << err;
  EXPECT_FALSE(r.stale(0)); // nothing to reuse at the first step
  EXPECT_TRUE(r.stale(1));
  EXPECT_EQ(r.take(), -1); // a call without a step set
  ASSERT_TRUE(r.setStep(0, err)) << err;
  EXPECT_EQ(r.take(), 0);
  EXPECT_EQ(r.last(), 0);
}
