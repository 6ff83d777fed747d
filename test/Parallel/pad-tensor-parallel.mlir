// RUN: ditc-opt %s -ditc-plan="plan=tp=2" -ditc-split-joined-linears -ditc-repeat-kv-heads -ditc-pad-tensor-parallel -ditc-seed-tensor-parallel | FileCheck %s
// RUN: ditc-opt %s -ditc-plan="plan=tp=2" -ditc-split-joined-linears -ditc-repeat-kv-heads -ditc-pad-tensor-parallel -ditc-seed-tensor-parallel -ditc-propagate-sharding -ditc-partition | FileCheck %s --check-prefix=PART
// RUN: ditc-opt %s -ditc-plan="plan=tp=2" -ditc-pad-tensor-parallel | FileCheck %s --check-prefix=ONLY

// 3 heads over tp=2 and 5 MLP hidden units: padded to 4 heads and 6 units
// with zero weights (NAME@pad keeps the stored tensor's shape in
// ditc.global_shape), then split as usual: 2 heads and 3 units per rank.
// CHECK-LABEL: func.func @main
// CHECK-DAG: ditc.weight "wq@pad" {{{.*}}ditc.global_shape = array<i64: 12, 12>, ditc.source_name = "wq"{{.*}}} : tensor<12x16xf32>
// CHECK-DAG: ditc.weight "bq@pad" {{{.*}}ditc.global_shape = array<i64: 12>{{.*}}} : tensor<16xf32>
// CHECK-DAG: ditc.weight "wo@pad" {{{.*}}ditc.global_shape = array<i64: 12, 12>{{.*}}} : tensor<16x12xf32>
// CHECK-DAG: ditc.weight "w1@pad" {{{.*}}ditc.global_shape = array<i64: 12, 5>{{.*}}} : tensor<12x6xf32>
// CHECK-DAG: ditc.weight "w2@pad" {{{.*}}ditc.global_shape = array<i64: 5, 12>{{.*}}} : tensor<6x12xf32>
// CHECK-NOT: ditc.weight "wq"
// CHECK: ditc.reshape {{.*}} -> tensor<1x8x4x4xf32>
// CHECK: ditc.transpose {{.*}}ditc.sharding = [#ditc.sharding<[{}, {"tp"}, {}, {}]>]{{.*}} -> tensor<1x4x8x4xf32>
// CHECK: ditc.attention {{.*}} -> tensor<1x4x8x4xf32>
// CHECK: ditc.linear {{.*}} : (tensor<1x8x16xf32>, tensor<16x12xf32>) -> tensor<1x8x12xf32>
// CHECK-NOT: ditc.sharding
// CHECK: ditc.layer_norm
// CHECK: ditc.linear {{.*}}ditc.sharding = [#ditc.sharding<[{}, {}, {"tp"}]>]{{.*}} -> tensor<1x8x6xf32>
// CHECK: return {{.*}} : tensor<1x8x12xf32>
//
// Per rank: half of each padded weight (the writer zero-fills the padding).
// PART: ditc.weight "wq@pad@{{\[\[\], \[tp\]\]}}" {{{.*}}ditc.global_shape = array<i64: 12, 12>{{.*}}ditc.source_name = "wq"{{.*}}} : tensor<12x8xf32>
// PART: ditc.attention {{.*}} -> tensor<1x2x8x4xf32>
// PART: ditc.weight "wo@pad@{{\[\[tp\], \[\]\]}}" {{{.*}}ditc.global_shape = array<i64: 12, 12>{{.*}}} : tensor<8x12xf32>
// PART: ditc.collective.all_reduce
// PART: ditc.weight "w2@pad@{{\[\[tp\], \[\]\]}}" {{{.*}}ditc.global_shape = array<i64: 5, 12>{{.*}}} : tensor<3x12xf32>
// PART: ditc.collective.all_reduce
// The pass alone: padded, no seeds yet.
// ONLY-NOT: ditc.sharding
// ONLY: ditc.weight "wq@pad"
// ONLY: ditc.attention {{.*}} -> tensor<1x4x8x4xf32>
// ONLY-NOT: ditc.sharding

module {
func.func @main(%x: tensor<1x8x12xf32>) -> tensor<1x8x12xf32> {
  %wq = ditc.weight "wq" {file = "m.onnx", offset = 0 : i64} : tensor<12x12xf32>
  %bq = ditc.weight "bq" {file = "m.onnx", offset = 0 : i64} : tensor<12xf32>
  %wk = ditc.weight "wk" {file = "m.onnx", offset = 0 : i64} : tensor<12x12xf32>
  %wv = ditc.weight "wv" {file = "m.onnx", offset = 0 : i64} : tensor<12x12xf32>
  %wo = ditc.weight "wo" {file = "m.onnx", offset = 0 : i64} : tensor<12x12xf32>
  %w1 = ditc.weight "w1" {file = "m.onnx", offset = 0 : i64} : tensor<12x5xf32>
  %w2 = ditc.weight "w2" {file = "m.onnx", offset = 0 : i64} : tensor<5x12xf32>
  %q = ditc.linear %x, %wq bias %bq : (tensor<1x8x12xf32>, tensor<12x12xf32>, tensor<12xf32>) -> tensor<1x8x12xf32>
  %k = ditc.linear %x, %wk : (tensor<1x8x12xf32>, tensor<12x12xf32>) -> tensor<1x8x12xf32>
  %v = ditc.linear %x, %wv : (tensor<1x8x12xf32>, tensor<12x12xf32>) -> tensor<1x8x12xf32>
  %q4 = ditc.reshape %q : (tensor<1x8x12xf32>) -> tensor<1x8x3x4xf32>
  %k4 = ditc.reshape %k : (tensor<1x8x12xf32>) -> tensor<1x8x3x4xf32>
  %v4 = ditc.reshape %v : (tensor<1x8x12xf32>) -> tensor<1x8x3x4xf32>
  %qt = ditc.transpose %q4 {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x8x3x4xf32>) -> tensor<1x3x8x4xf32>
  %kt = ditc.transpose %k4 {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x8x3x4xf32>) -> tensor<1x3x8x4xf32>
  %vt = ditc.transpose %v4 {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x8x3x4xf32>) -> tensor<1x3x8x4xf32>
  %o = ditc.attention %qt, %kt, %vt : (tensor<1x3x8x4xf32>, tensor<1x3x8x4xf32>, tensor<1x3x8x4xf32>) -> tensor<1x3x8x4xf32>
  %ot = ditc.transpose %o {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x3x8x4xf32>) -> tensor<1x8x3x4xf32>
  %o3 = ditc.reshape %ot : (tensor<1x8x3x4xf32>) -> tensor<1x8x12xf32>
  %a = ditc.linear %o3, %wo : (tensor<1x8x12xf32>, tensor<12x12xf32>) -> tensor<1x8x12xf32>
  %r = ditc.add %a, %x : (tensor<1x8x12xf32>, tensor<1x8x12xf32>) -> tensor<1x8x12xf32>
  %n = ditc.layer_norm %r {axis = 2 : i64, epsilon = 1.0e-06 : f64} : (tensor<1x8x12xf32>) -> tensor<1x8x12xf32>
  %h = ditc.linear %n, %w1 : (tensor<1x8x12xf32>, tensor<12x5xf32>) -> tensor<1x8x5xf32>
  %g = ditc.gelu %h : tensor<1x8x5xf32>
  %y = ditc.linear %g, %w2 : (tensor<1x8x5xf32>, tensor<5x12xf32>) -> tensor<1x8x12xf32>
  return %y : tensor<1x8x12xf32>
}
}
