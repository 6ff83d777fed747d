//===- UploadPlanTest.cpp - GPU libraries' host-side placement logic ------===//
//
// runtime/cuda/upload_plan.h without a GPU: how DeviceMemory.cpp packs
// tensors into device blocks, cuts the weight block into staging windows
// and picks the lowest architecture of a library. The windows are checked
// against an independent byte map: every byte of every tensor is staged
// exactly once, at its packed offset, and nothing else is.
//
//===----------------------------------------------------------------------===//

#include "upload_plan.h"

#include <gtest/gtest.h>

#include <random>

using namespace ditc_cu;

TEST(PackTensors, AlignsEachTensor) {
  Packing p = packTensors({1, 256, 257, 0, 5}, 256);
  EXPECT_EQ(p.offsets, (std::vector<uint64_t>{0, 256, 512, 1024, 1024}));
  EXPECT_EQ(p.bytes, 1280u);
  Packing empty = packTensors({}, 256);
  EXPECT_EQ(empty.bytes, 0u);
  EXPECT_TRUE(empty.offsets.empty());
}

/// Replays the windows into a byte map of the block: owner[i] is the
/// tensor whose byte lands at block byte i (or -1), byteOf[i] its index.
static void checkWindows(const std::vector<uint64_t> &sizes, uint64_t window) {
  Packing p = packTensors(sizes, 256);
  std::vector<Window> ws = stagingWindows(sizes, p, window);
  ASSERT_EQ(ws.size(), (p.bytes + window - 1) / window);
  std::vector<int64_t> owner(p.bytes, -1), byteOf(p.bytes, -1);
  uint64_t covered = 0;
  for (size_t k = 0; k < ws.size(); ++k) {
    const Window &w = ws[k];
    EXPECT_EQ(w.start, k * window);
    EXPECT_LE(w.bytes, window);
    EXPECT_EQ(w.start + w.bytes, std::min(p.bytes, (k + 1) * window));
    for (const Piece &pc : w.pieces) {
      ASSERT_LT(pc.tensor, sizes.size());
      ASSERT_LE(pc.at + pc.bytes, w.bytes) << "piece outside its window";
      ASSERT_LE(pc.from + pc.bytes, sizes[pc.tensor]) << "piece outside its tensor";
      for (uint64_t b = 0; b < pc.bytes; ++b) {
        uint64_t at = w.start + pc.at + b;
        ASSERT_EQ(owner[at], -1) << "block byte " << at << " staged twice";
        owner[at] = (int64_t)pc.tensor;
        byteOf[at] = (int64_t)(pc.from + b);
      }
      covered += pc.bytes;
    }
  }
  uint64_t total = 0;
  for (size_t t = 0; t < sizes.size(); ++t) {
    total += sizes[t];
    for (uint64_t b = 0; b < sizes[t]; ++b) {
      ASSERT_EQ(owner[p.offsets[t] + b], (int64_t)t);
      ASSERT_EQ(byteOf[p.offsets[t] + b], (int64_t)b);
    }
  }
  EXPECT_EQ(covered, total);
}

TEST(StagingWindows, CoverEveryByteOnce) {
  checkWindows({1000, 3, 0, 70000, 256, 1}, 4096);
  checkWindows({1000, 3, 0, 70000, 256, 1}, 256);   // a window per alignment unit
  checkWindows({1 << 20}, 1000);                    // one tensor, many windows
  checkWindows({5, 6, 7}, 1 << 20);                 // one window, many tensors
  std::mt19937 rng(7);
  for (int round = 0; round < 20; ++round) {
    std::vector<uint64_t> sizes(1 + rng() % 40);
    for (uint64_t &s : sizes)
      s = rng() % 4 == 0 ? 0 : rng() % 20000;
    checkWindows(sizes, 512 + rng() % 8192);
  }
}

TEST(StagingWindows, NoneForAnEmptyBlock) {
  Packing p = packTensors({0, 0}, 256);
  EXPECT_TRUE(stagingWindows({0, 0}, p, 4096).empty());
  EXPECT_TRUE(stagingWindows({10}, packTensors({10}), 0).empty());
}

TEST(LowestArch, ReadsTheNumbers) {
  EXPECT_EQ(lowestArch({"80", "90a"}), 80);
  EXPECT_EQ(lowestArch({"90a", "86"}), 86);
  EXPECT_EQ(lowestArch({"100a"}), 100);
  EXPECT_EQ(lowestArch({}), -1);
  EXPECT_EQ(lowestArch({"sm"}), -1);
}
