//===- TimeModelTest.cpp - roofline, alpha-beta and machine files ---------===//

#include "passes/Analysis/Hardware.h"
#include "passes/Analysis/Profile.h"
#include "passes/Analysis/TimeModel.h"

#include "dialects/Ditc/IR/DitcDialect.h"
#include "dialects/Ditc/IR/DitcOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Parser/Parser.h"

#include <gtest/gtest.h>

using namespace mlir::ditc;

namespace {

HardwareDesc machine() {
  std::string err;
  std::optional<HardwareDesc> hw = parseHardware(R"({
    "name": "t", "kind": "gpu",
    "matrix_flops": {"f32": 1e12, "bf16": 4e12},
    "vector_flops": {"f32": 1e11},
    "memory_bandwidth": 1e11, "memory_capacity": 1e10,
    "launch_overhead_s": 2e-6,
    "op_overhead_s": {"matrix": 1e-5, "movement": 5e-7},
    "efficiency": {"matrix": 0.5, "memory": 0.5},
    "links": [
      {"name": "fast", "kind": "nvlink", "bandwidth": 1e9, "latency_s": 1e-6, "devices": 4},
      {"name": "slow", "kind": "ethernet", "bandwidth": 1e8, "latency_s": 1e-5, "devices": 16}]
  })", "test", err);
  EXPECT_TRUE(hw) << err;
  return *hw;
}

TEST(TimeModel, ComputeBoundOpIsFlopsOverRatePlusLaunch) {
  HardwareDesc hw = machine();
  OpCost c;
  c.flopsMatrix = 2'000'000'000; // 2e9 / (1e12 * 0.5) = 4 ms
  c.flopsOther = 1'000'000;      // 1e6 / 1e11 = 10 us
  c.bytesRead = 1'000'000;       // 2e6 / (1e11 * 0.5) = 40 us
  c.bytesWritten = 1'000'000;
  OpTime t = predictOpTime(c, hw);
  EXPECT_DOUBLE_EQ(t.computeS, 4e-3 + 1e-5);
  EXPECT_DOUBLE_EQ(t.memoryS, 4e-5);
  EXPECT_FALSE(t.memoryBound);
  EXPECT_DOUBLE_EQ(t.totalS, 4e-3 + 1e-5 + 2e-6);
}

TEST(TimeModel, SmallMatrixProductsRunAtALowerRate) {
  HardwareDesc hw = machine();
  OpCost c;
  c.flopsMatrix = 2'000'000'000; // 4 ms at the matrix rate
  c.matrixRows = 512;
  // Without matrix_half_rows every size runs at the rate.
  EXPECT_DOUBLE_EQ(predictOpTime(c, hw).computeS, 4e-3);
  hw.matrixHalfRows = 128;
  // 512 rows: 512 / 640 of the rate.
  EXPECT_DOUBLE_EQ(predictOpTime(c, hw).computeS, 4e-3 * 640 / 512);
  // Eight calls of 64 rows doing the same FLOPs: 64 / 192 of the rate.
  c.matrixRows = 64;
  c.repeats = 8;
  EXPECT_DOUBLE_EQ(predictOpTime(c, hw).computeS, 4e-3 * 192 / 64);
  // Attention is priced by its own rate, not by rows.
  OpCost other;
  other.flopsMatrix = 2'000'000'000;
  EXPECT_DOUBLE_EQ(predictOpTime(other, hw).computeS, 4e-3);
}

TEST(Hardware, MatrixHalfRowsFitsTwoRates) {
  // Rates from peak 250 with h = 100: M / (M + h) * 250.
  auto rate = [](double m) { return 250.0 * m / (m + 100); };
  EXPECT_NEAR(fitMatrixHalfRows(1024, rate(1024), 128, rate(128)), 100, 1e-9);
  EXPECT_NEAR(fitMatrixHalfRows(4096, rate(4096), 512, rate(512)), 100, 1e-9);
  // The measured case of docs/CHUNK.md: 242 GFLOP/s at 4096 rows, 205 at
  // 512 give about 108 rows.
  EXPECT_NEAR(fitMatrixHalfRows(4096, 242, 512, 205), 108, 1);
  // A smaller product no slower (noise): no term.
  EXPECT_EQ(fitMatrixHalfRows(1024, 200, 128, 201), 0);
  EXPECT_EQ(fitMatrixHalfRows(1024, 200, 128, 200), 0);
  EXPECT_EQ(fitMatrixHalfRows(128, 200, 1024, 100), 0);
  // The field parses, prints and is checked.
  std::string err;
  auto hw = parseHardware(R"({"name": "x", "kind": "cpu",
    "matrix_flops": {"f32": 1e11}, "vector_flops": {"f32": 1e10},
    "memory_bandwidth": 1e10, "memory_capacity": 1e9,
    "launch_overhead_s": 1e-7, "matrix_half_rows": 96})", "f.json", err);
  ASSERT_TRUE(hw) << err;
  EXPECT_EQ(hw->matrixHalfRows, 96);
  EXPECT_DOUBLE_EQ(hw->matrixRowsFactor(96), 0.5);
  auto again = parseHardware(printHardware(*hw), "again", err);
  ASSERT_TRUE(again) << err;
  EXPECT_EQ(again->matrixHalfRows, 96);
  EXPECT_FALSE(parseHardware(R"({"name": "x", "kind": "cpu",
    "matrix_flops": {"f32": 1e11}, "vector_flops": {"f32": 1e10},
    "memory_bandwidth": 1e10, "memory_capacity": 1e9,
    "launch_overhead_s": 1e-7, "matrix_half_rows": -1})", "f.json", err));
  EXPECT_EQ(err, "f.json: field 'matrix_half_rows' must be a non-negative number");
}

TEST(TimeModel, MemoryBoundOpIsBytesOverBandwidth) {
  HardwareDesc hw = machine();
  OpCost c;
  c.flopsOther = 1000;
  c.bytesRead = 50'000'000;
  c.bytesWritten = 50'000'000; // 1e8 / 5e10 = 2 ms
  OpTime t = predictOpTime(c, hw);
  EXPECT_TRUE(t.memoryBound);
  EXPECT_DOUBLE_EQ(t.totalS, 2e-3 + 2e-6);
  // A bf16 run of the same graph moves half the bytes.
  TimeOptions bf16;
  bf16.dtype = "bf16";
  bf16.bytesScale = 0.5;
  EXPECT_DOUBLE_EQ(predictOpTime(c, hw, bf16).totalS, 1e-3 + 2e-6);
}

TEST(TimeModel, WeightsReadFromBeyondTheCachesAddTheirStream) {
  // A product of 1e9 FLOPs (2 ms at the matrix rate, 1e12 x 0.5)
  // that is the first of the step to read a weight of 8 MB: at a weight
  // stream of 4e9 B/s it takes 2 ms more, on top of its compute.
  HardwareDesc hw = machine();
  OpCost c;
  c.flopsMatrix = 1'000'000'000;
  c.bytesRead = 8'000'000;
  c.paramBytes = 8'000'000;
  double without = predictOpTime(c, hw).totalS;
  EXPECT_DOUBLE_EQ(without, 2e-3 + 2e-6);
  hw.weightStreamBandwidth = 4e9;
  OpTime t = predictOpTime(c, hw);
  EXPECT_DOUBLE_EQ(t.totalS, without + 2e-3);
  EXPECT_DOUBLE_EQ(t.memoryS, 8e6 / 5e10 + 2e-3);
  // In bf16 the weight is half the bytes.
  TimeOptions bf16;
  bf16.dtype = "bf16";
  bf16.bytesScale = 0.5;
  EXPECT_DOUBLE_EQ(predictOpTime(c, hw, bf16).totalS,
                   predictOpTime(c, machine(), bf16).totalS + 1e-3);
  // A program whose weights fit the cache a core has to itself keeps them
  // there: with 8 MB of weights a step and a 16 MB cache, nothing streams;
  // with 24 MB, or 40 MB in bf16 (20 MB), they do.
  hw.weightCacheBytes = 16e6;
  TimeOptions small;
  small.stepParamBytes = 8'000'000;
  EXPECT_DOUBLE_EQ(predictOpTime(c, hw, small).totalS, without);
  EXPECT_DOUBLE_EQ(predictOpTime(c, hw, withStepParams(TimeOptions(), {c})).totalS, without);
  TimeOptions large;
  large.stepParamBytes = 24'000'000;
  EXPECT_DOUBLE_EQ(predictOpTime(c, hw, large).totalS, without + 2e-3);
  TimeOptions largeBf16 = bf16;
  largeBf16.stepParamBytes = 40'000'000;
  EXPECT_DOUBLE_EQ(predictOpTime(c, hw, largeBf16).totalS,
                   predictOpTime(c, machine(), bf16).totalS + 1e-3);
  // Not known (-1, the default): they stream.
  EXPECT_DOUBLE_EQ(predictOpTime(c, hw).totalS, without + 2e-3);
  // A later reader of the same weight (paramBytes 0: the step read it
  // already) and an op without weights pay nothing more.
  c.paramBytes = 0;
  EXPECT_DOUBLE_EQ(predictOpTime(c, hw).totalS, without);
  // The field is parsed and printed; absent, nothing is added.
  std::string err;
  std::optional<HardwareDesc> again = parseHardware(printHardware(hw), "again", err);
  ASSERT_TRUE(again) << err;
  EXPECT_DOUBLE_EQ(again->weightStreamBandwidth, 4e9);
  EXPECT_DOUBLE_EQ(again->weightCacheBytes, 16e6);
  EXPECT_DOUBLE_EQ(machine().weightStreamBandwidth, 0.0);
}

TEST(TimeModel, DtypeRatesFallBackToF32) {
  HardwareDesc hw = machine();
  OpCost c;
  c.flopsMatrix = 4'000'000'000;
  TimeOptions bf16{"bf16", 1.0};
  EXPECT_DOUBLE_EQ(predictOpTime(c, hw, bf16).computeS, 4e9 / 2e12);
  TimeOptions fp8{"fp8", 1.0}; // not listed: the f32 rate
  EXPECT_DOUBLE_EQ(predictOpTime(c, hw, fp8).computeS, 4e9 / 5e11);
  // A causal kernel that executes a fraction of the products.
  c.matrixFraction = 0.25;
  EXPECT_DOUBLE_EQ(predictOpTime(c, hw).computeS, 1e9 / 5e11);
}

TEST(TimeModel, ViewsAndEmptyOpsCostNothing) {
  HardwareDesc hw = machine();
  OpCost view;
  view.isView = true;
  view.bytesRead = 1 << 20;
  EXPECT_EQ(predictOpTime(view, hw).totalS, 0.0);
  EXPECT_EQ(predictOpTime(OpCost(), hw).totalS, 0.0);
}

TEST(TimeModel, FixedCostPerClassOfOp) {
  HardwareDesc hw = machine();
  EXPECT_EQ(hw.overheadFor("matrix"), 1e-5);
  EXPECT_EQ(hw.overheadFor("movement"), 5e-7);
  // Classes the machine does not list cost the launch overhead.
  EXPECT_EQ(hw.overheadFor("norm"), 2e-6);
  EXPECT_EQ(hw.overheadFor("elementwise"), 2e-6);
  // An op without an operation (a synthetic cost) is elementwise.
  OpCost c;
  c.flopsOther = 100;
  EXPECT_DOUBLE_EQ(predictOpTime(c, hw).overheadS, 2e-6);
}

TEST(TimeModel, CollectivesFollowAlphaBeta) {
  HardwareDesc hw = machine();
  const int64_t bytes = 4'000'000;
  // 4 ranks fit the fast level: alpha 1 us, beta 1 GB/s.
  EXPECT_DOUBLE_EQ(predictCollectiveTime(CollectiveKind::AllReduce, bytes, 4, hw),
                   6 * 1e-6 + 6e6 / 1e9);
  EXPECT_DOUBLE_EQ(predictCollectiveTime(CollectiveKind::AllGather, bytes, 4, hw),
                   3 * 1e-6 + 3e6 / 1e9);
  EXPECT_DOUBLE_EQ(predictCollectiveTime(CollectiveKind::AllToAll, bytes, 4, hw),
                   3 * 1e-6 + 3e6 / 1e9);
  EXPECT_DOUBLE_EQ(predictCollectiveTime(CollectiveKind::SendRecv, bytes, 2, hw),
                   1e-6 + 4e6 / 1e9);
  // 8 ranks need the slow level.
  EXPECT_DOUBLE_EQ(
      predictCollectiveTime(CollectiveKind::ReduceScatter, 8'000'000, 8, hw),
      7 * 1e-5 + 7e6 / 1e8);
  // One rank talks to nobody; 32 ranks fit no level.
  EXPECT_EQ(predictCollectiveTime(CollectiveKind::AllReduce, bytes, 1, hw), 0.0);
  EXPECT_LT(predictCollectiveTime(CollectiveKind::AllReduce, bytes, 32, hw), 0.0);
}

TEST(TimeModel, EachCollectiveKindMovesAtItsOwnRateOnALink) {
  // The fast level with all-to-alls at 0.5 and all-gathers at 1.25 of its
  // bandwidth (LinkLevel::collectiveRates): their byte terms change, their
  // latencies and every other kind stay.
  HardwareDesc hw = machine();
  const int64_t bytes = 4'000'000;
  double reduce = predictCollectiveTime(CollectiveKind::AllReduce, bytes, 4, hw);
  hw.links[0].collectiveRates = {{"all_to_all", 0.5}, {"all_gather", 1.25}};
  EXPECT_DOUBLE_EQ(predictCollectiveTime(CollectiveKind::AllToAll, bytes, 4, hw),
                   3 * 1e-6 + 3e6 / 0.5e9);
  EXPECT_DOUBLE_EQ(predictCollectiveTime(CollectiveKind::AllGather, bytes, 4, hw),
                   3 * 1e-6 + 3e6 / 1.25e9);
  EXPECT_DOUBLE_EQ(predictCollectiveTime(CollectiveKind::AllReduce, bytes, 4, hw), reduce);
  // The slow level keeps its one rate.
  EXPECT_DOUBLE_EQ(predictCollectiveTime(CollectiveKind::AllToAll, 8'000'000, 8, hw),
                   7 * 1e-5 + 7e6 / 1e8);
  // A shared level divides the kind's rate among the transfers crossing it.
  hw.links[1].sharedBy = 4;
  hw.links[1].collectiveRates = {{"all_to_all", 0.5}};
  EXPECT_DOUBLE_EQ(predictCollectiveTime(CollectiveKind::AllToAll, 8'000'000, 8, hw),
                   7 * 1e-5 + 7e6 / (0.25e8 * 0.5));
  // The names follow CollectiveKind's order.
  EXPECT_STREQ(kCollectiveKindNames[(int)CollectiveKind::AllToAll], "all_to_all");
  EXPECT_STREQ(kCollectiveKindNames[(int)CollectiveKind::SendRecv], "send_recv");
  EXPECT_STREQ(kCollectiveKindNames[(int)CollectiveKind::Broadcast], "broadcast");
}

TEST(TimeModel, GroupsSpreadAcrossNodesTakeTheOuterLink) {
  HardwareDesc hw = machine();
  const int64_t bytes = 4'000'000;
  // Two ranks 8 apart (a group of an outer mesh axis over 8 inner ranks)
  // cross the slow level although two devices fit the fast one.
  EXPECT_DOUBLE_EQ(predictCollectiveTime(CollectiveKind::AllGather, bytes, 2, hw, 16),
                   1e-5 + 2e6 / 1e8);
  EXPECT_DOUBLE_EQ(predictCollectiveTime(CollectiveKind::AllGather, bytes, 2, hw, 4),
                   1e-6 + 2e6 / 1e9);
  // A span below the group is the group.
  EXPECT_DOUBLE_EQ(predictCollectiveTime(CollectiveKind::AllGather, bytes, 8, hw, 1),
                   predictCollectiveTime(CollectiveKind::AllGather, bytes, 8, hw));
  // The op's link is the one its span reaches.
  OpCost c;
  c.commKind = (int)CollectiveKind::AllToAll;
  c.commGroup = 2;
  c.commSpan = 8;
  c.commBytes = bytes;
  c.bytesRead = bytes;
  OpTime t = predictOpTime(c, hw);
  ASSERT_NE(t.link, nullptr);
  EXPECT_EQ(t.link->name, "slow");
  c.commSpan = 2;
  EXPECT_EQ(predictOpTime(c, hw).link->name, "fast");
}

TEST(TimeModel, ASharedLinkDividesItsBandwidth) {
  // The slow level as one link for the 4 devices of each fast group (the
  // GPUs of a socket): every device of a plan sends at once, so each gets
  // a quarter of it; the latency and the fast level are unchanged.
  HardwareDesc hw = machine();
  const int64_t bytes = 8'000'000;
  double alone = predictCollectiveTime(CollectiveKind::AllToAll, bytes, 8, hw);
  double fast = predictCollectiveTime(CollectiveKind::AllToAll, bytes, 4, hw);
  hw.links[1].sharedBy = 4;
  EXPECT_DOUBLE_EQ(alone, 7 * 1e-5 + 7e6 / 1e8);
  EXPECT_DOUBLE_EQ(predictCollectiveTime(CollectiveKind::AllToAll, bytes, 8, hw),
                   7 * 1e-5 + 7e6 / 0.25e8);
  EXPECT_DOUBLE_EQ(predictCollectiveTime(CollectiveKind::AllToAll, bytes, 4, hw), fast);
  // Ring attention's exchange across it too.
  OpCost c;
  c.commKind = (int)CollectiveKind::RingExchange;
  c.commGroup = 2;
  c.commSpan = 8;
  c.commBytes = bytes;
  c.bytesRead = bytes;
  EXPECT_DOUBLE_EQ(predictOpTime(c, hw).commS, 1e-5 + 4e6 / 0.25e8);
  // The l40 description's socket link and the node's Ethernet port.
  std::string err;
  std::optional<HardwareDesc> l40 = loadHardware("l40", err);
  ASSERT_TRUE(l40) << err;
  EXPECT_EQ(l40->linkFor(8)->sharedBy, 4);
  EXPECT_DOUBLE_EQ(l40->linkFor(8)->rate(), l40->linkFor(8)->bandwidth / 4);
  EXPECT_EQ(l40->linkFor(16)->sharedBy, 8);
  EXPECT_EQ(l40->linkFor(4)->sharedBy, 1);
}

/// The cost of the one communicating op of a module of one function.
OpCost commCostOf(mlir::MLIRContext &ctx, llvm::StringRef mesh, llvm::StringRef body,
                  llvm::StringRef type) {
  std::string text = ("module attributes {ditc.mesh = #ditc.mesh<[" + mesh +
                      "]>} {\n  func.func @f(%x: " + type + ") {\n    " + body +
                      "\n    return\n  }\n}")
                         .str();
  mlir::OwningOpRef<mlir::ModuleOp> m = mlir::parseSourceString<mlir::ModuleOp>(text, &ctx);
  EXPECT_TRUE(m) << text;
  OpCost c;
  if (m)
    m->walk([&](mlir::Operation *op) {
      if (costOf(op).commKind >= 0)
        c = costOf(op);
    });
  EXPECT_GE(c.commKind, 0) << text;
  c.op = nullptr; // the module goes
  return c;
}

TEST(TimeModel, ASharedLinkIsDividedAmongTheTransfersCrossingIt) {
  // 8 L40: two sockets of 4 (ranks 0-3, 4-7), each socket's GPUs behind one
  // 10 GB/s link to the other (shared_by 4). Meshes as `ditc plan` lays
  // them out (planMesh: ring before ulysses, the last axis fastest).
  mlir::MLIRContext ctx;
  ctx.loadDialect<DitcDialect, mlir::func::FuncDialect>();
  std::string err;
  std::optional<HardwareDesc> l40 = loadHardware("l40", err);
  ASSERT_TRUE(l40) << err;
  const LinkLevel &socket = l40->links[1], &pcie = l40->links[0];
  ASSERT_EQ(socket.name, "cross-socket");
  ASSERT_EQ(socket.sharedBy, 4);
  const double bw = socket.bandwidth, lat = socket.latencyS;
  // Ring attention, one rank's K and V 1 MiB (4 heads of 1024 x 64, bf16).
  const char *ringType = "tensor<1x4x1024x64xbf16>";
  const double block = 1 << 20;
  auto ringOn = [&](llvm::StringRef mesh, llvm::StringRef attrs) {
    return commCostOf(ctx, mesh,
                      ("%0 = ditc.ring_attention %x, %x, %x {" + attrs +
                       ", kv_valid = 0 : i64} : (tensor<1x4x1024x64xbf16>, "
                       "tensor<1x4x1024x64xbf16>, tensor<1x4x1024x64xbf16>) -> "
                       "tensor<1x4x1024x64xbf16>")
                          .str(),
                      ringType);
  };
  // ulysses=2,ring=4: the rings {0,2,4,6} and {1,3,5,7} cross the sockets
  // in 2 -> 4, 3 -> 5 (out of socket 0) and 6 -> 0, 7 -> 1 (into it): two
  // transfers share a link, each at half its bandwidth (was a quarter).
  OpCost u2r4 = ringOn(R"("ring" = 4 : ring, "ulysses" = 2 : ulysses)", R"(axes = ["ring"])");
  EXPECT_EQ(u2r4.commGroup, 4);
  EXPECT_EQ(u2r4.commSpan, 8);
  EXPECT_EQ(sharedLinkFlows(CollectiveKind::RingExchange, u2r4.commGroups, 4), 2);
  EXPECT_DOUBLE_EQ(linkRate(socket, *l40, CollectiveKind::RingExchange, &u2r4.commGroups),
                   bw / 2);
  OpTime t = predictOpTime(u2r4, *l40);
  EXPECT_EQ(t.link, &socket);
  EXPECT_DOUBLE_EQ(t.commS, 3 * (lat + block / (bw / 2)));
  // Without the groups' placement: every device's share (the old charge).
  OpCost blind = u2r4;
  blind.commGroups = CommGroups();
  EXPECT_DOUBLE_EQ(predictOpTime(blind, *l40).commS, 3 * (lat + block / (bw / 4)));
  // ulysses=4,ring=2: the rings {r, r + 4}: all four GPUs of a socket send
  // across at once: a quarter each.
  OpCost u4r2 = ringOn(R"("ring" = 2 : ring, "ulysses" = 4 : ulysses)", R"(axes = ["ring"])");
  EXPECT_EQ(sharedLinkFlows(CollectiveKind::RingExchange, u4r2.commGroups, 4), 4);
  EXPECT_DOUBLE_EQ(predictOpTime(u4r2, *l40).commS, lat + block / (bw / 4));
  // ring=8: one ring through both sockets, 3 -> 4 and 7 -> 0 cross: the
  // whole link.
  OpCost r8 = ringOn(R"("ring" = 8 : ring)", R"(axes = ["ring"])");
  EXPECT_EQ(sharedLinkFlows(CollectiveKind::RingExchange, r8.commGroups, 4), 1);
  EXPECT_DOUBLE_EQ(predictOpTime(r8, *l40).commS, 7 * (lat + block / bw));
  // The double ring ring=4,ring_inner=2: inner rings {2k, 2k + 1} inside a
  // socket (pcie), the outer ring from one inner ring to the next, {0, 2,
  // 4, 6} and {1, 3, 5, 7}: as ulysses=2,ring=4's, a half each.
  OpCost dbl = ringOn(R"("ring" = 4 : ring, "ring_inner" = 2 : ring_inner)",
                      R"(axes = ["ring", "ring_inner"], inner = ["ring_inner"])");
  EXPECT_EQ(dbl.commGroup, 4);
  EXPECT_EQ(dbl.commInnerGroup, 2);
  EXPECT_EQ(sharedLinkFlows(CollectiveKind::RingExchange, dbl.commGroups, 4), 2);
  OpTime d = predictOpTime(dbl, *l40);
  EXPECT_EQ(d.link, &socket);
  EXPECT_EQ(d.innerLink, &pcie);
  double round = pcie.latencyS + block / pcie.bandwidth, hop = lat + block / (bw / 2);
  EXPECT_DOUBLE_EQ(d.commS, 3 * std::max(round, hop) + round);

  // NCCL's rings (all-reduce, all-gather, reduce-scatter) leave and enter a
  // socket once per group. tp=8: one group, one transfer each way.
  const char *vec = "tensor<1x1048576xbf16>";
  const double bytes = 2 << 20;
  OpCost tp8 = commCostOf(ctx, R"("tp" = 8 : tensor)",
                          R"(%0 = ditc.collective.all_reduce %x {axes = ["tp"]} : (tensor<1x1048576xbf16>) -> tensor<1x1048576xbf16>)",
                          vec);
  EXPECT_EQ(sharedLinkFlows(CollectiveKind::AllReduce, tp8.commGroups, 4), 1);
  EXPECT_DOUBLE_EQ(predictOpTime(tp8, *l40).commS, 14 * lat + 2 * 7 * (bytes / 8) / bw);
  // cfg=2 on 8: the groups {0, 4} ... {3, 7} all cross, four at once.
  OpCost cfg = commCostOf(ctx, R"("cfg" = 2 : cfg, "ulysses" = 4 : ulysses)",
                          R"(%0 = ditc.collective.all_gather %x {axis = 0 : i64, axes = ["cfg"]} : (tensor<1x1048576xbf16>) -> tensor<2x1048576xbf16>)",
                          vec);
  EXPECT_EQ(cfg.commSpan, 8);
  EXPECT_EQ(sharedLinkFlows(CollectiveKind::AllGather, cfg.commGroups, 4), 4);
  EXPECT_DOUBLE_EQ(predictOpTime(cfg, *l40).commS, lat + bytes / (bw / 4));
  // Ulysses' all-to-all over 8: every GPU of a socket has partners in the
  // other: a quarter each, as before.
  OpCost u8 = commCostOf(ctx, R"("ulysses" = 8 : ulysses)",
                         R"(%0 = ditc.collective.all_to_all %x {split_axis = 1 : i64, concat_axis = 0 : i64, axes = ["ulysses"]} : (tensor<1x1048576xbf16>) -> tensor<8x131072xbf16>)",
                         vec);
  EXPECT_EQ(sharedLinkFlows(CollectiveKind::AllToAll, u8.commGroups, 4), 4);
  EXPECT_DOUBLE_EQ(predictOpTime(u8, *l40).commS, 7 * lat + 7 * (bytes / 8) / (bw / 4));
  // A group inside one socket (ulysses=4 under ring=2) stays on pcie,
  // whole.
  OpCost u4 = commCostOf(ctx, R"("ring" = 2 : ring, "ulysses" = 4 : ulysses)",
                         R"(%0 = ditc.collective.all_to_all %x {split_axis = 1 : i64, concat_axis = 0 : i64, axes = ["ulysses"]} : (tensor<1x1048576xbf16>) -> tensor<4x262144xbf16>)",
                         vec);
  OpTime p = predictOpTime(u4, *l40);
  EXPECT_EQ(p.link, &pcie);
  EXPECT_DOUBLE_EQ(p.commS, 3 * pcie.latencyS + 3 * (bytes / 4) / pcie.bandwidth);
}

TEST(TimeModel, SharedLinkFlowsFollowTheGroupsOrderAndBlocks) {
  auto groups = [](std::vector<int32_t> shape, std::vector<int8_t> axes) {
    CommGroups g;
    g.dims = int8_t(shape.size());
    g.numAxes = int8_t(axes.size());
    std::copy(shape.begin(), shape.end(), g.shape.begin());
    std::copy(axes.begin(), axes.end(), g.axes.begin());
    return g;
  };
  // A mesh [2, 4] (rank = 4a + b): a ring over (a, b) is 0..7 in order,
  // crossing between 4-blocks once each way; over (b, a) it is 0 4 1 5 2 6
  // 3 7, every hop crossing: four leave each block.
  EXPECT_EQ(sharedLinkFlows(CollectiveKind::RingExchange, groups({2, 4}, {0, 1}), 4), 1);
  EXPECT_EQ(sharedLinkFlows(CollectiveKind::RingExchange, groups({2, 4}, {1, 0}), 4), 4);
  // NCCL's rings do not depend on the order.
  EXPECT_EQ(sharedLinkFlows(CollectiveKind::AllGather, groups({2, 4}, {1, 0}), 4), 1);
  // Nothing crosses: a group inside a block, or none at all.
  EXPECT_EQ(sharedLinkFlows(CollectiveKind::AllToAll, groups({2, 4}, {1}), 4), 0);
  EXPECT_EQ(sharedLinkFlows(CollectiveKind::AllToAll, CommGroups(), 4), 0);
  // 16 L40 in two nodes of 8 behind one Ethernet port each (shared_by 8):
  // blocks of 8. tp=16's all-reduce crosses once each way; cfg=2 over 8
  // (groups {r, r + 8}) eight times; a ring over the outer axis of [2, 8]
  // eight times, over [16] once.
  EXPECT_EQ(sharedLinkFlows(CollectiveKind::AllReduce, groups({16}, {0}), 8), 1);
  EXPECT_EQ(sharedLinkFlows(CollectiveKind::AllGather, groups({2, 8}, {0}), 8), 8);
  EXPECT_EQ(sharedLinkFlows(CollectiveKind::RingExchange, groups({2, 8}, {0}), 8), 8);
  EXPECT_EQ(sharedLinkFlows(CollectiveKind::RingExchange, groups({16}, {0}), 8), 1);
  std::string err;
  std::optional<HardwareDesc> l40 = loadHardware("l40", err);
  ASSERT_TRUE(l40) << err;
  const LinkLevel &ethernet = l40->links[2];
  CommGroups tp16 = groups({16}, {0});
  EXPECT_DOUBLE_EQ(linkRate(ethernet, *l40, CollectiveKind::AllReduce, &tp16),
                   ethernet.bandwidth);
  CommGroups cfg = groups({2, 8}, {0});
  EXPECT_DOUBLE_EQ(linkRate(ethernet, *l40, CollectiveKind::AllGather, &cfg),
                   ethernet.bandwidth / 8);
  // Send/recv between two stages of 8 (pp=2): every GPU of a node sends.
  EXPECT_DOUBLE_EQ(linkRate(ethernet, *l40, CollectiveKind::SendRecv, &cfg),
                   ethernet.bandwidth / 8);
  // A level nobody shares keeps its bandwidth whatever crosses it.
  EXPECT_DOUBLE_EQ(linkRate(l40->links[0], *l40, CollectiveKind::AllToAll, &cfg),
                   l40->links[0].bandwidth);
  // The machines without a shared level charge as before: the same time
  // with and without the groups.
  std::optional<HardwareDesc> h100 = loadHardware("h100-sxm", err);
  ASSERT_TRUE(h100) << err;
  for (const LinkLevel &l : h100->links)
    EXPECT_EQ(linkRate(l, *h100, CollectiveKind::AllToAll, &cfg), l.rate());
}

TEST(TimeModel, DoubleRingKeepsTheInnerRoundsOnTheFastLink) {
  HardwareDesc hw = machine();
  const double block = 1e6; // one rank's K and V
  // A ring of 8 over both levels: every one of its 7 steps waits for the
  // slow link.
  OpCost ring;
  ring.bytesRead = 1000;
  ring.commKind = (int)CollectiveKind::RingExchange;
  ring.commGroup = 8;
  ring.commSpan = 8;
  ring.commBytes = int64_t(8 * block);
  OpTime single = predictOpTime(ring, hw);
  EXPECT_DOUBLE_EQ(single.commS, 7 * (1e-5 + block / 1e8));
  EXPECT_EQ(single.innerLink, nullptr);
  // As 2 groups of 4: per outer round 3 inner transfers on the fast link,
  // the outer one (slow) overlapped; 2 rounds, the last without one.
  OpCost dbl = ring;
  dbl.commGroup = 2;
  dbl.commSpan = 8;
  dbl.commInnerGroup = 4;
  dbl.commInnerSpan = 4;
  OpTime t = predictOpTime(dbl, hw);
  double round = 3 * (1e-6 + block / 1e9), hop = 1e-5 + block / 1e8;
  EXPECT_DOUBLE_EQ(t.commS, std::max(round, hop) + round);
  ASSERT_NE(t.link, nullptr);
  ASSERT_NE(t.innerLink, nullptr);
  EXPECT_EQ(t.link->name, "slow");
  EXPECT_EQ(t.innerLink->name, "fast");
  EXPECT_DOUBLE_EQ(t.innerShare, 2 * round / (2 * round + hop));
  EXPECT_LT(t.totalS, single.totalS / 4);
  // Inner rings on the slow level too: the transfers share the device's
  // link and nothing overlaps: the single ring's 7 slow steps.
  dbl.commInnerSpan = 16;
  EXPECT_DOUBLE_EQ(predictOpTime(dbl, hw).commS, 7 * (1e-5 + block / 1e8));
  // Both on the fast level (a ring of 4 inside a node as 2 x 2): 3 fast
  // steps, as the one ring of 4.
  OpCost fast = dbl;
  fast.commGroup = 2;
  fast.commSpan = 4;
  fast.commInnerGroup = 2;
  fast.commInnerSpan = 2;
  fast.commBytes = int64_t(4 * block);
  EXPECT_DOUBLE_EQ(predictOpTime(fast, hw).commS, 3 * (1e-6 + block / 1e9));
}

TEST(TimeModel, RingAttentionPaysItsBlockKernelsAndMerges) {
  HardwareDesc hw = machine();
  // One attention kernel over the whole sequence: 2 ms of matrix work.
  OpCost one;
  one.flopsMatrix = 1'000'000'000; // 1e9 / (1e12 * 0.5)
  OpTime whole = predictOpTime(one, hw);
  EXPECT_DOUBLE_EQ(whole.totalS, 2e-3 + 2e-6);
  // The same work as a ring of 4 on one link (no transfer to speak of):
  // 3 more block launches and 3 merge launches (2 us each: no op class is
  // listed for them), and 3 merges of 1 MB each at 1e11 * 0.5 B/s.
  OpCost ring = one;
  ring.ringBlocks = 4;
  ring.ringPassBytes = 3'000'000;
  OpTime t = predictOpTime(ring, hw);
  EXPECT_DOUBLE_EQ(t.overheadS, 2e-6 + 6 * 2e-6);
  EXPECT_DOUBLE_EQ(t.memoryS, 3e6 / 5e10);
  EXPECT_DOUBLE_EQ(t.totalS, 2e-3 + 3e6 / 5e10 + 2e-6 + 6 * 2e-6);
  // In a chunk loop, each run pays them again.
  ring.repeats = 2;
  EXPECT_DOUBLE_EQ(predictOpTime(ring, hw).overheadS, 2 * (2e-6 + 6 * 2e-6));
  // In bf16 one attention kernel runs at bf16's rate (4x f32's here), but
  // a CPU computes the ring's blocks in f32: they keep f32's 2 ms (a GPU's
  // are AGpuAttendsToA16BitRingsBlocksInItsDtype's).
  TimeOptions bf16;
  bf16.dtype = "bf16";
  EXPECT_DOUBLE_EQ(predictOpTime(one, hw, bf16).computeS, 0.5e-3);
  hw.kind = "cpu";
  ring.repeats = 1;
  EXPECT_DOUBLE_EQ(predictOpTime(ring, hw, bf16).computeS, 2e-3);
  EXPECT_DOUBLE_EQ(predictOpTime(ring, hw, bf16).totalS, t.totalS);
}

TEST(TimeModel, AGpuAttendsToA16BitRingsBlocksInItsDtype) {
  mlir::MLIRContext ctx;
  ctx.loadDialect<DitcDialect, mlir::func::FuncDialect>();
  // One rank of a ring of 2 in bf16: 4 heads of 1024 queries, each block
  // 1024 keys, 64 wide.
  mlir::OwningOpRef<mlir::ModuleOp> m = mlir::parseSourceString<mlir::ModuleOp>(R"(
    module attributes {ditc.mesh = #ditc.mesh<["ring" = 2 : ring]>} {
      func.func @f(%q: tensor<1x4x1024x64xbf16>) -> tensor<1x4x1024x64xbf16> {
        %0 = ditc.ring_attention %q, %q, %q {axes = ["ring"], kv_valid = 0 : i64}
          : (tensor<1x4x1024x64xbf16>, tensor<1x4x1024x64xbf16>, tensor<1x4x1024x64xbf16>)
          -> tensor<1x4x1024x64xbf16>
        return %0 : tensor<1x4x1024x64xbf16>
      }
    })", &ctx);
  ASSERT_TRUE(m);
  RingAttentionOp op;
  m->walk([&](RingAttentionOp r) { op = r; });
  ASSERT_TRUE(op);
  OpCost c = costOf(op);
  ASSERT_EQ(c.ringBlocks, 2);
  // 2 x 4 x 1024 x 2048 scores x (64 + 64); 5 per score and 1 per output.
  ASSERT_EQ(c.flopsMatrix, 2'147'483'648);
  ASSERT_EQ(c.flopsOther, 41'943'040 + 262'144);
  // 262144 outputs in 4096 rows, K and V 1 MiB: the GPU's first result
  // widened (6 B per output), one merge (10 per output, 12 per row), the
  // copy (2 MiB) and the narrowing (6 per output); the CPU's f32 merge
  // (12 per output and row), the copy, and q, both K/V blocks and the
  // result widened or narrowed (6 x 262144 elements, 6 B each).
  EXPECT_EQ(c.ringPassBytesNarrow, 12 * 262'144 + 10 * 262'144 + 12 * 4096 + 2'097'152);
  EXPECT_EQ(c.ringPassBytes, 12 * (262'144 + 4096) + 2'097'152 + 6 * 6 * 262'144);
  HardwareDesc gpu = machine();
  gpu.attentionEfficiency = 0.25; // apart from the matrix products' 0.5
  HardwareDesc cpu = gpu;
  cpu.kind = "cpu";
  TimeOptions bf16;
  bf16.dtype = "bf16";
  const double vector = 42'205'184 / 1e11, memory = 5e10;
  // The GPU: the blocks at bf16's attention rate (4e12 x 0.25), its own passes.
  OpTime g = predictOpTime(c, gpu, bf16);
  EXPECT_DOUBLE_EQ(g.computeS, 2'147'483'648 / 1e12 + vector);
  EXPECT_DOUBLE_EQ(g.memoryS, double(c.bytes() + c.ringPassBytesNarrow) / memory);
  // The CPU widens them: f32's attention rate (1e12 x 0.25), 4x slower.
  OpTime w = predictOpTime(c, cpu, bf16);
  EXPECT_DOUBLE_EQ(w.computeS, 2'147'483'648 / 2.5e11 + vector);
  EXPECT_DOUBLE_EQ(w.memoryS, double(c.bytes() + c.ringPassBytes) / memory);
  EXPECT_DOUBLE_EQ(g.overheadS, w.overheadS);
  EXPECT_LT(g.totalS, w.totalS);
  // A GPU in f32 computes them as the CPU does, at f32's rates.
  TimeOptions f32;
  EXPECT_DOUBLE_EQ(predictOpTime(c, gpu, f32).computeS, w.computeS);
  // Blocks at half the attention rate (efficiency.ring_block): their
  // products take twice as long, the softmax and the passes as before; one
  // attention over every key (no ring) keeps the attention rate.
  HardwareDesc slowBlocks = gpu;
  slowBlocks.ringBlockEfficiency = 0.5;
  OpTime s = predictOpTime(c, slowBlocks, bf16);
  EXPECT_DOUBLE_EQ(s.computeS, 2 * 2'147'483'648 / 1e12 + vector);
  EXPECT_DOUBLE_EQ(s.memoryS, g.memoryS);
  OpCost whole = c;
  whole.ringBlocks = 1;
  EXPECT_DOUBLE_EQ(predictOpTime(whole, slowBlocks, bf16).computeS,
                   predictOpTime(whole, gpu, bf16).computeS);
}

TEST(TimeModel, CollectivesRunTheirTrafficWithTheTransferThenTheirLayoutPasses) {
  HardwareDesc hw = machine();
  // An all-gather of 4 MB on 2 ranks of the fast level: 1 us + 2 MB / 1 GB/s
  // of transfer; its 6 MB of reads and writes (0.12 ms at 5e10 B/s) run
  // with it, not after it.
  OpCost c;
  c.commKind = (int)CollectiveKind::AllGather;
  c.commGroup = 2;
  c.commBytes = 4'000'000;
  c.bytesRead = 2'000'000;
  c.bytesWritten = 4'000'000;
  const double transfer = 1e-6 + 2e6 / 1e9, overhead = 2e-6;
  OpTime t = predictOpTime(c, hw);
  EXPECT_DOUBLE_EQ(t.commS, transfer);
  EXPECT_DOUBLE_EQ(t.totalS, transfer + overhead);
  // Gathered along an inner axis: the runtime unpacks the 4 MB it received
  // (read and write, 8 MB at 5e10 B/s) after the transfer.
  c.packBytes = 8'000'000;
  t = predictOpTime(c, hw);
  EXPECT_DOUBLE_EQ(t.totalS, transfer + overhead + 8e6 / 5e10);
  EXPECT_DOUBLE_EQ(t.memoryS, 6e6 / 5e10 + 8e6 / 5e10);
  // Those passes copy in runs, at the machine's movement rate.
  hw.movementEfficiency = 0.5;
  EXPECT_DOUBLE_EQ(predictOpTime(c, hw).totalS, transfer + overhead + 8e6 / 2.5e10);
  hw.movementEfficiency = 1;
  // A collective whose own traffic outlasts the transfer (the all-reduce's
  // sums at the vector rate) costs that.
  OpCost r;
  r.commKind = (int)CollectiveKind::AllReduce;
  r.commGroup = 2;
  r.commBytes = 8;
  r.flopsOther = 100'000'000; // 1 ms at 1e11 FLOP/s
  EXPECT_DOUBLE_EQ(predictOpTime(r, hw).totalS, 1e-3 + overhead);
}

TEST(TimeModel, RingExchangeOverlapsOnlyOnLinksThatMoveWhileComputing) {
  HardwareDesc hw = machine();
  // 2 ms of blocks, a ring of 2 exchanging 1 MB (1 us + 1 MB / 1 GB/s).
  OpCost ring;
  ring.flopsMatrix = 1'000'000'000;
  ring.commKind = (int)CollectiveKind::RingExchange;
  ring.commGroup = 2;
  ring.commBytes = 2'000'000;
  const double compute = 2e-3 + 2e-6, comm = 1e-6 + 1e6 / 1e9;
  ASSERT_TRUE(hw.links[0].overlapsCompute); // a "gpu" machine's default
  EXPECT_DOUBLE_EQ(predictOpTime(ring, hw).totalS, compute);
  hw.links[0].overlapsCompute = false;
  EXPECT_DOUBLE_EQ(predictOpTime(ring, hw).totalS, compute + comm);
  // A double ring is hidden only when both of its levels move meanwhile.
  HardwareDesc two = machine();
  OpCost dbl = ring;
  dbl.commGroup = 2;
  dbl.commSpan = 8;
  dbl.commInnerGroup = 2;
  dbl.commInnerSpan = 2;
  dbl.commBytes = 400'000; // 1.1 ms of transfers: the slow hop, an inner round
  OpTime hidden = predictOpTime(dbl, two);
  EXPECT_DOUBLE_EQ(hidden.totalS, compute);
  two.links[1].overlapsCompute = false;
  EXPECT_DOUBLE_EQ(predictOpTime(dbl, two).totalS, compute + hidden.commS);
}

TEST(Hardware, OverlapsComputeDefaultsByKindOfMachine) {
  std::string err;
  std::string fields = R"("matrix_flops": {"f32": 1e12}, "vector_flops": {"f32": 1e11},
    "memory_bandwidth": 1e11, "memory_capacity": 1e9, "launch_overhead_s": 1e-6)";
  std::string link = R"("links": [{"name": "a", "kind": "shared-memory",
    "bandwidth": 1e9, "latency_s": 1e-6, "devices": 2)";
  auto parse = [&](const char *kind, const char *extra) {
    return parseHardware(std::string("{\"name\": \"x\", \"kind\": \"") + kind + "\", " +
                             fields + ", " + link + extra + "}]}",
                         "f.json", err);
  };
  std::optional<HardwareDesc> cpu = parse("cpu", ""), gpu = parse("gpu", "");
  ASSERT_TRUE(cpu && gpu) << err;
  EXPECT_FALSE(cpu->links[0].overlapsCompute);
  EXPECT_TRUE(gpu->links[0].overlapsCompute);
  std::optional<HardwareDesc> set = parse("cpu", R"(, "overlaps_compute": true)");
  ASSERT_TRUE(set) << err;
  EXPECT_TRUE(set->links[0].overlapsCompute);
  EXPECT_NE(printHardware(*set).find("\"overlaps_compute\": true"), std::string::npos);
  EXPECT_FALSE(parse("cpu", R"(, "overlaps_compute": 1)"));
  EXPECT_EQ(err, "f.json: field 'links[0].overlaps_compute' must be true or false");
}

TEST(TimeModel, BytesSentPerRank) {
  EXPECT_EQ(collectiveBytesSent(CollectiveKind::AllReduce, 800, 4), 1200);
  EXPECT_EQ(collectiveBytesSent(CollectiveKind::AllGather, 800, 4), 600);
  EXPECT_EQ(collectiveBytesSent(CollectiveKind::AllToAll, 800, 2), 400);
  EXPECT_EQ(collectiveBytesSent(CollectiveKind::RingExchange, 800, 4), 600);
  EXPECT_EQ(collectiveBytesSent(CollectiveKind::SendRecv, 800, 2), 800);
  EXPECT_EQ(collectiveBytesSent(CollectiveKind::AllReduce, 800, 1), 0);
}

TEST(Hardware, BuiltinsParseAndRoundTrip) {
  std::vector<std::string> names = builtinHardwareNames();
  for (const char *want : {"a100-sxm", "cpu", "h100-sxm", "h20", "l40", "rtx4090"})
    EXPECT_NE(std::find(names.begin(), names.end(), want), names.end()) << want;
  for (const std::string &name : names) {
    std::string err;
    std::optional<HardwareDesc> hw = loadHardware(name, err);
    ASSERT_TRUE(hw) << err;
    EXPECT_EQ(hw->name, name);
    EXPECT_GT(hw->matrixRate("f32"), 0);
    EXPECT_GT(hw->bandwidthRate(), 0);
    EXPECT_FALSE(hw->links.empty()) << name;
    std::optional<HardwareDesc> again =
        parseHardware(printHardware(*hw), "round trip", err);
    ASSERT_TRUE(again) << err;
    EXPECT_EQ(printHardware(*again), printHardware(*hw));
  }
  std::string err;
  std::optional<HardwareDesc> h100 = loadHardware("h100-sxm", err);
  ASSERT_TRUE(h100);
  EXPECT_GT(h100->matrixRate("bf16"), h100->matrixRate("f32"));
  EXPECT_EQ(h100->linkFor(8)->kind, "nvlink");
  EXPECT_EQ(h100->linkFor(16)->kind, "infiniband");
}

TEST(Hardware, BadDescriptionsNameTheField) {
  auto error = [](const std::string &text) {
    std::string err;
    EXPECT_FALSE(parseHardware(text, "f.json", err));
    return err;
  };
  std::string base = R"("name": "x", "kind": "gpu", "matrix_flops": {"f32": 1e12},
    "vector_flops": {"f32": 1e11}, "memory_bandwidth": 1e11,
    "memory_capacity": 1e9, "launch_overhead_s": 1e-6)";
  EXPECT_EQ(error("[1, 2]"), "f.json: the description must be a JSON object");
  EXPECT_EQ(error("{" + base + R"(, "efficiency": {"matrix": 1.5}})"),
            "f.json: field 'efficiency.matrix' must be in (0, 1]");
  EXPECT_EQ(error("{" + base + R"(, "efficiency": {"tensor": 0.5}})"),
            "f.json: unknown field 'efficiency.tensor' (expected matrix, "
            "attention, vector, memory, movement, ring_block)");
  EXPECT_EQ(error("{" + base + R"(, "efficiency": {"ring_block": 0}})"),
            "f.json: field 'efficiency.ring_block' must be in (0, 1]");
  std::string err;
  std::optional<HardwareDesc> blocks =
      parseHardware("{" + base + R"(, "efficiency": {"ring_block": 0.8}})", "f.json", err);
  ASSERT_TRUE(blocks) << err;
  EXPECT_DOUBLE_EQ(blocks->ringBlockEfficiency, 0.8);
  EXPECT_DOUBLE_EQ(parseHardware("{" + base + "}", "f.json", err)->ringBlockEfficiency, 1.0);
  EXPECT_EQ(error("{" + base +
                  R"(, "links": [{"name": "a", "kind": "pcie", "bandwidth": 1e9,
                  "latency_s": 1e-6, "devices": 8}, {"name": "b", "kind": "pcie",
                  "bandwidth": 1e9, "latency_s": 1e-6, "devices": 8}]})"),
            "f.json: field 'links[1].devices' must grow from one level to the "
            "next");
  EXPECT_EQ(error("{" + base +
                  R"(, "links": [{"name": "a", "kind": "pcie", "bandwidth": 1e9,
                  "latency_s": 1e-6, "devices": 8, "shared_by": 16}]})"),
            "f.json: field 'links[0].shared_by' must be an integer from 1 to "
            "the level's devices");
  EXPECT_EQ(error("{" + base +
                  R"(, "links": [{"name": "a", "kind": "pcie", "bandwidth": 1e9,
                  "latency_s": 1e-6, "devices": 8, "shared_by": 0.5}]})"),
            "f.json: field 'links[0].shared_by' must be an integer from 1 to "
            "the level's devices");
  const std::string link = R"(, "links": [{"name": "a", "kind": "pcie", "bandwidth": 1e9,
                  "latency_s": 1e-6, "devices": 8, "collective_rates": )";
  EXPECT_EQ(error("{" + base + link + R"({"gather": 0.9}}]})"),
            "f.json: unknown field 'links[0].collective_rates.gather' (expected "
            "all_reduce, all_gather, reduce_scatter, all_to_all, send_recv, "
            "ring_exchange, broadcast)");
  EXPECT_EQ(error("{" + base + link + R"({"all_to_all": 0}}]})"),
            "f.json: field 'links[0].collective_rates.all_to_all' must be in (0, 100]");
  EXPECT_EQ(error("{" + base + link + R"([0.9]}]})"),
            "f.json: field 'links[0].collective_rates' must be an object");
  std::optional<HardwareDesc> rates =
      parseHardware("{" + base + link + R"({"all_to_all": 0.9, "all_reduce": 1.1}}]})",
                    "f.json", err);
  ASSERT_TRUE(rates) << err;
  EXPECT_DOUBLE_EQ(rates->links[0].collectiveRate("all_to_all"), 0.9);
  EXPECT_DOUBLE_EQ(rates->links[0].collectiveRate("all_reduce"), 1.1);
  EXPECT_DOUBLE_EQ(rates->links[0].collectiveRate("all_gather"), 1.0);
  std::optional<HardwareDesc> again = parseHardware(printHardware(*rates), "again", err);
  ASSERT_TRUE(again) << err;
  EXPECT_EQ(again->links[0].collectiveRates, rates->links[0].collectiveRates);
  EXPECT_EQ(error("{" + base + R"(, "weight_stream_bandwidth": -1})"),
            "f.json: field 'weight_stream_bandwidth' must be a non-negative number");
  EXPECT_EQ(error("{" + base + R"(, "op_overhead_s": {"gemm": 1e-6}})"),
            "f.json: unknown field 'op_overhead_s.gemm' (expected matrix, "
            "conv, attention, norm, movement, elementwise)");
  EXPECT_EQ(error(R"({"name": "x", "kind": "tpu", "matrix_flops": {"f32": 1},
    "vector_flops": {"f32": 1}, "memory_bandwidth": 1, "memory_capacity": 1,
    "launch_overhead_s": 0})"),
            "f.json: field 'kind' must be \"gpu\" or \"cpu\"");
  EXPECT_EQ(error(R"({"name": "x", "kind": "gpu", "matrix_flops": {},
    "vector_flops": {"f32": 1}, "memory_bandwidth": 1, "memory_capacity": 1,
    "launch_overhead_s": 0})"),
            "f.json: field 'matrix_flops' must be an object of dtype: FLOP/s, "
            "e.g. {\"f32\": 1e12}");
}

/// The plan search's lower bounds (lib/Driver/PlanSearch.h) rest on this:
/// an op run as k pieces (pp's micro-batches, PipeFusion's patches: each
/// piece 1/k of the rows, FLOPs, activations and messages, and the whole
/// weights again) is never predicted faster in total than the op run once.
/// Checked on every built-in machine, in f32 and bf16, for matrix products,
/// attention, memory-bound ops and every collective over its links.
TEST(TimeModel, SplittingAnOpIntoPiecesNeverSavesTime) {
  for (const std::string &name : builtinHardwareNames()) {
    std::string err;
    std::optional<HardwareDesc> hw = loadHardware(name, err);
    ASSERT_TRUE(hw) << err;
    for (const char *dtype : {"f32", "bf16"}) {
      TimeOptions opts{dtype, 1.0};
      auto check = [&](const OpCost &whole, const OpCost &piece, int64_t k,
                       const std::string &what) {
        double once = predictOpTime(whole, *hw, opts).totalS;
        double pieces = double(k) * predictOpTime(piece, *hw, opts).totalS;
        EXPECT_GE(pieces, once * (1 - 1e-12))
            << name << " " << dtype << ": " << what << " in " << k << " pieces";
      };
      for (int64_t rows : {64, 512, 4096, 32768})
        for (int64_t k : {2, 4, 8, 16, 64}) {
          if (rows % k)
            continue;
          // A linear layer [rows, 1152] x [1152, 4608] with its weights.
          int64_t in = 1152, out = 4608, weights = in * out * 4;
          OpCost linear;
          linear.flopsMatrix = 2 * rows * in * out;
          linear.matrixRows = rows;
          linear.bytesRead = rows * in * 4 + weights;
          linear.bytesWritten = rows * out * 4;
          OpCost part = linear;
          part.flopsMatrix /= k;
          part.matrixRows = rows / k;
          part.bytesRead = rows / k * in * 4 + weights;
          part.bytesWritten /= k;
          check(linear, part, k, "a linear layer of " + std::to_string(rows) + " rows");
          // Attention of `rows` queries over `rows` keys (16 heads of 72):
          // each piece's queries over every key.
          OpCost attention;
          attention.flopsMatrix = 4 * 16 * rows * rows * 72;
          attention.flopsOther = 16 * rows * rows * 5;
          attention.bytesRead = 3 * rows * 1152 * 4;
          attention.bytesWritten = rows * 1152 * 4;
          OpCost patch = attention;
          patch.flopsMatrix /= k;
          patch.flopsOther /= k;
          patch.bytesRead = rows / k * 1152 * 4 + 2 * rows * 1152 * 4;
          patch.bytesWritten /= k;
          check(attention, patch, k, "attention over " + std::to_string(rows) + " tokens");
          // An elementwise op.
          OpCost add;
          add.flopsOther = rows * 1152;
          add.bytesRead = 2 * rows * 1152 * 4;
          add.bytesWritten = rows * 1152 * 4;
          OpCost addPart = add;
          addPart.flopsOther /= k;
          addPart.bytesRead /= k;
          addPart.bytesWritten /= k;
          check(add, addPart, k, "an add of " + std::to_string(rows) + " rows");
          // Each collective over 2 and 8 ranks (on their links).
          for (int kind = 0; kind < kNumCollectiveKinds; ++kind) {
            if (kind == (int)CollectiveKind::RingExchange)
              continue; // priced with its block kernels, below
            for (int64_t group : {2, 8}) {
              OpCost c;
              c.commKind = kind;
              c.commGroup = group;
              c.commSpan = group;
              c.commBytes = rows * 1152 * 4;
              c.commBytesSent = collectiveBytesSent((CollectiveKind)kind, c.commBytes, group);
              c.bytesRead = c.commBytes;
              OpCost piece = c;
              piece.commBytes /= k;
              piece.commBytesSent =
                  collectiveBytesSent((CollectiveKind)kind, piece.commBytes, group);
              piece.bytesRead /= k;
              check(c, piece, k,
                    "collective " + std::to_string(kind) + " over " + std::to_string(group));
            }
          }
        }
    }
  }
}

} // namespace
