// RUN: ditc-opt %s -ditc-plan="plan=tp=3" -ditc-split-joined-linears -ditc-repeat-kv-heads -ditc-pad-tensor-parallel -ditc-seed-tensor-parallel | FileCheck %s
// RUN: ditc-opt %s -ditc-plan="plan=tp=3" -ditc-repeat-kv-heads | FileCheck %s --check-prefix=ONLY

// Grouped K/V heads (4 query heads on 2 K/V heads) over tp=3: the K/V heads
// are repeated for every query head, then padded by whole groups: 3 K/V
// heads (one of zeros) and 6 query heads, each query head still on its K/V
// head (h / 2), split 2 query heads and 1 K/V head per rank.
// CHECK-LABEL: func.func @main
// CHECK-DAG: ditc.weight "wq@pad" {{{.*}}ditc.global_shape = array<i64: 16, 16>{{.*}}} : tensor<16x24xf32>
// CHECK-DAG: ditc.weight "wk@pad" {{{.*}}ditc.global_shape = array<i64: 16, 8>{{.*}}} : tensor<16x12xf32>
// CHECK-DAG: ditc.weight "wo@pad" {{{.*}}} : tensor<24x16xf32>
// CHECK: %[[K:.*]] = ditc.transpose {{.*}} -> tensor<1x3x8x4xf32>
// CHECK: %[[K5:.*]] = ditc.reshape %[[K]] : (tensor<1x3x8x4xf32>) -> tensor<1x3x1x8x4xf32>
// CHECK: %[[KB:.*]] = ditc.broadcast %[[K5]] : (tensor<1x3x1x8x4xf32>) -> tensor<1x3x2x8x4xf32>
// CHECK: %[[KR:.*]] = ditc.reshape %[[KB]] : (tensor<1x3x2x8x4xf32>) -> tensor<1x6x8x4xf32>
// CHECK: ditc.attention %{{.*}}, %[[KR]], %{{.*}} : (tensor<1x6x8x4xf32>, tensor<1x6x8x4xf32>, tensor<1x6x8x4xf32>) -> tensor<1x6x8x4xf32>
// The pass alone: K/V repeated to the 4 query heads, nothing padded yet.
// ONLY-NOT: @pad
// ONLY: ditc.broadcast {{.*}} -> tensor<1x2x2x8x4xf32>
// ONLY: ditc.attention {{.*}} : (tensor<1x4x8x4xf32>, tensor<1x4x8x4xf32>, tensor<1x4x8x4xf32>) -> tensor<1x4x8x4xf32>
// ONLY-NOT: ditc.sharding

func.func @main(%x: tensor<1x8x16xf32>) -> tensor<1x8x16xf32> {
  %wq = ditc.weight "wq" {file = "m.onnx", offset = 0 : i64} : tensor<16x16xf32>
  %wk = ditc.weight "wk" {file = "m.onnx", offset = 0 : i64} : tensor<16x8xf32>
  %wo = ditc.weight "wo" {file = "m.onnx", offset = 0 : i64} : tensor<16x16xf32>
  %q = ditc.linear %x, %wq : (tensor<1x8x16xf32>, tensor<16x16xf32>) -> tensor<1x8x16xf32>
  %k = ditc.linear %x, %wk : (tensor<1x8x16xf32>, tensor<16x8xf32>) -> tensor<1x8x8xf32>
  %q4 = ditc.reshape %q : (tensor<1x8x16xf32>) -> tensor<1x8x4x4xf32>
  %k4 = ditc.reshape %k : (tensor<1x8x8xf32>) -> tensor<1x8x2x4xf32>
  %qt = ditc.transpose %q4 {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x8x4x4xf32>) -> tensor<1x4x8x4xf32>
  %kt = ditc.transpose %k4 {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x8x2x4xf32>) -> tensor<1x2x8x4xf32>
  %o = ditc.attention %qt, %kt, %kt : (tensor<1x4x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>) -> tensor<1x4x8x4xf32>
  %ot = ditc.transpose %o {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x4x8x4xf32>) -> tensor<1x8x4x4xf32>
  %o3 = ditc.reshape %ot : (tensor<1x8x4x4xf32>) -> tensor<1x8x16xf32>
  %y = ditc.linear %o3, %wo : (tensor<1x8x16xf32>, tensor<16x16xf32>) -> tensor<1x8x16xf32>
  return %y : tensor<1x8x16xf32>
}
