// RUN: ditc-opt %s -split-input-file -ditc-propagate-sharding | FileCheck %s

// One seed on the tokens of a linear layer's output reaches every
// dimension tied to it: the input's tokens (through the linear), the
// residual add, the norm's rows, through a transpose, and a reshape that
// merges the tokens with a size-1 axis. Dimensions not tied stay whole.
// CHECK-LABEL: func.func @tokens
// CHECK-SAME: %arg0: tensor<2x8x16xf32> {ditc.sharding = #ditc.sharding<[{}, {"ring"}, {}]>}
// CHECK: ditc.weight {{.*}}: tensor<16x16xf32>
// CHECK-NOT: sharding
// CHECK: ditc.linear {{.*}}ditc.sharding = [#ditc.sharding<[{}, {"ring"}, {}]>]
// CHECK: ditc.add {{.*}}ditc.sharding = [#ditc.sharding<[{}, {"ring"}, {}]>]
// CHECK: ditc.layer_norm {{.*}}ditc.sharding = [#ditc.sharding<[{}, {"ring"}, {}]>]
// CHECK: ditc.transpose {{.*}}ditc.sharding = [#ditc.sharding<[{}, {}, {"ring"}]>]
// CHECK: ditc.reduce_sum {{.*}}ditc.sharding = [#ditc.sharding<[{}, {}, {"ring"}]>]
module attributes {ditc.mesh = #ditc.mesh<["ring" = 2 : ring]>} {
  func.func @tokens(%x: tensor<2x8x16xf32>) -> tensor<2x1x8xf32> {
    %w = ditc.weight "w" {file = "m.onnx", offset = 0 : i64} : tensor<16x16xf32>
    %y = ditc.linear %x, %w {ditc.sharding = [#ditc.sharding<[{}, {"ring"}, {}]>]} : (tensor<2x8x16xf32>, tensor<16x16xf32>) -> tensor<2x8x16xf32>
    %r = ditc.add %y, %x : (tensor<2x8x16xf32>, tensor<2x8x16xf32>) -> tensor<2x8x16xf32>
    %n = ditc.layer_norm %r {axis = 2 : i64, epsilon = 1.0e-06 : f64} : (tensor<2x8x16xf32>) -> tensor<2x8x16xf32>
    %t = ditc.transpose %n {permutation = array<i64: 0, 2, 1>} : (tensor<2x8x16xf32>) -> tensor<2x16x8xf32>
    %s = ditc.reduce_sum %t {axes = array<i64: 1>, keep_dims = true} : (tensor<2x16x8xf32>) -> tensor<2x1x8xf32>
    return %s : tensor<2x1x8xf32>
  }
}

// -----

// A linear layer's contraction ties its input's last dimension to the
// weight's rows; the output units to its columns and the bias.
// CHECK-LABEL: func.func @contraction
// CHECK: ditc.weight "w1" {ditc.sharding = [#ditc.sharding<[{}, {"tp"}]>]
// CHECK: ditc.weight "b1" {ditc.sharding = [#ditc.sharding<[{"tp"}]>]
// CHECK: ditc.weight "w2" {ditc.sharding = [#ditc.sharding<[{"tp"}, {}]>]
// CHECK: ditc.gelu {{.*}}ditc.sharding = [#ditc.sharding<[{}, {"tp"}]>]
// CHECK: %[[OUT:.*]] = ditc.linear
// CHECK-NOT: sharding
// CHECK: return %[[OUT]]
module attributes {ditc.mesh = #ditc.mesh<["tp" = 4 : tensor]>} {
  func.func @contraction(%x: tensor<8x16xf32>) -> tensor<8x16xf32> {
    %w1 = ditc.weight "w1" {file = "m.onnx", offset = 0 : i64} : tensor<16x64xf32>
    %b1 = ditc.weight "b1" {file = "m.onnx", offset = 4096 : i64} : tensor<64xf32>
    %w2 = ditc.weight "w2" {file = "m.onnx", offset = 4352 : i64} : tensor<64x16xf32>
    %h = ditc.linear %x, %w1 bias %b1 {ditc.sharding = [#ditc.sharding<[{}, {"tp"}]>]} : (tensor<8x16xf32>, tensor<16x64xf32>, tensor<64xf32>) -> tensor<8x64xf32>
    %g = ditc.gelu %h : tensor<8x64xf32>
    %y = ditc.linear %g, %w2 : (tensor<8x64xf32>, tensor<64x16xf32>) -> tensor<8x16xf32>
    return %y : tensor<8x16xf32>
  }
}
