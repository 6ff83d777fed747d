// RUN: ditc-opt %s -ditc-plan="plan=tp=2" -ditc-seed-tensor-parallel -ditc-propagate-sharding -ditc-split-lone-linears="hw=%S/Inputs/lone-fast-link.json" | FileCheck %s --check-prefix=FAST
// RUN: ditc-opt %s -ditc-plan="plan=tp=2" -ditc-seed-tensor-parallel -ditc-propagate-sharding -ditc-split-lone-linears="hw=%S/Inputs/lone-slow-link.json" | FileCheck %s --check-prefix=SLOW
// RUN: ditc-opt %s -ditc-plan="plan=tp=2" -ditc-seed-tensor-parallel -ditc-propagate-sharding -ditc-split-lone-linears | FileCheck %s --check-prefix=SLOW
// RUN: ditc-opt %s -ditc-plan="plan=tp=2" -ditc-seed-tensor-parallel -ditc-propagate-sharding -ditc-split-lone-linears="hw=%S/Inputs/lone-fast-link.json" -ditc-partition | FileCheck %s --check-prefix=PART
// RUN: ditc-opt %s -ditc-plan="plan=cfg=2" -ditc-seed-tensor-parallel -ditc-propagate-sharding -ditc-split-lone-linears="hw=%S/Inputs/lone-fast-link.json" | FileCheck %s --check-prefix=NOTP
// RUN: ditc-opt %s -ditc-plan="plan=cfg=2,tp=2" -ditc-seed-tensor-parallel -ditc-propagate-sharding -ditc-split-lone-linears="hw=%S/Inputs/lone-fast-link.json" | FileCheck %s --check-prefix=MIXED
// RUN: not ditc-opt %s -ditc-plan="plan=tp=2" -ditc-split-lone-linears="hw=nosuch" 2>&1 | FileCheck %s --check-prefix=BAD

// Two lone linear layers (each followed by a layer norm over its output
// features, so tp's seeds leave them whole). On a machine whose link keeps
// up with its memory (toy rates: 1 GFLOP/s, 1 GB/s, 1 us a message), the
// first one (K = 64, N = 64, 16 rows: 131 us whole, 66 us for a column
// block plus 3 us for the gather) is split by its output columns; the
// second one's 63 units do not divide over 2. On a slow link (0.1 MB/s, 1
// ms a message), on no machine (no hw) and without a tensor axis (cfg=2),
// nothing changes.

// FAST: module attributes {ditc.lone_splits = 1 : i64
// FAST: ditc.linear %arg0, %0 bias %1 {ditc.sharding = [#ditc.sharding<[{}, {}, {"tp"}]>]}
// FAST-NOT: ditc.sharding
// FAST: return

// NOTP-NOT: ditc.lone_splits
// NOTP-NOT: "tp"
// NOTP: return

// Under cfg=2,tp=2 each rank has one of the batch's two rows of 8 tokens:
// the column split still wins (65 us whole, 33 + 2 us split), and keeps the
// batch's split.
// MIXED: ditc.lone_splits = 1
// MIXED: ditc.linear %arg0, %0 bias %1 {ditc.sharding = [#ditc.sharding<[{"cfg"}, {}, {"tp"}]>]}

// SLOW-NOT: ditc.lone_splits
// SLOW-NOT: ditc.sharding
// SLOW: return

// The partition carries it out: each rank's column block of the weight and
// bias, and an all-gather before the norm.
// PART: ditc.weight "w@{{.*}}ditc.shard = #ditc.sharding<[{}, {"tp"}]>{{.*}} : tensor<64x32xf32>
// PART: ditc.weight "b@{{.*}}ditc.shard = #ditc.sharding<[{"tp"}]>{{.*}} : tensor<32xf32>
// PART: ditc.linear %arg0, %0 bias %1 : (tensor<2x8x64xf32>, tensor<64x32xf32>, tensor<32xf32>) -> tensor<2x8x32xf32>
// PART-NEXT: ditc.collective.all_gather {{.*}} {axes = ["tp"], axis = 2 : i64} : (tensor<2x8x32xf32>) -> tensor<2x8x64xf32>
// PART-NEXT: ditc.layer_norm
// PART: ditc.linear %arg1, {{.*}}ditc.replicated = "has no dimension tied to a split one"

// BAD: error: {{.*}}nosuch

func.func @main(%x: tensor<2x8x64xf32>, %s: tensor<2x8x2xf32>) -> (tensor<2x8x64xf32>, tensor<2x8x63xf32>) {
  %w = ditc.weight "w" {file = "m.onnx", offset = 0 : i64} : tensor<64x64xf32>
  %b = ditc.weight "b" {file = "m.onnx", offset = 16384 : i64} : tensor<64xf32>
  %y = ditc.linear %x, %w bias %b : (tensor<2x8x64xf32>, tensor<64x64xf32>, tensor<64xf32>) -> tensor<2x8x64xf32>
  %n = ditc.layer_norm %y {axis = 2 : i64, epsilon = 1.0e-06 : f64} : (tensor<2x8x64xf32>) -> tensor<2x8x64xf32>
  %w2 = ditc.weight "w2" {file = "m.onnx", offset = 16640 : i64} : tensor<2x63xf32>
  %z = ditc.linear %s, %w2 : (tensor<2x8x2xf32>, tensor<2x63xf32>) -> tensor<2x8x63xf32>
  %m = ditc.layer_norm %z {axis = 2 : i64, epsilon = 1.0e-06 : f64} : (tensor<2x8x63xf32>) -> tensor<2x8x63xf32>
  return %n, %m : tensor<2x8x64xf32>, tensor<2x8x63xf32>
}
