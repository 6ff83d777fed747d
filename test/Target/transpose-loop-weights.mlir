// RUN: ditc-opt %s -ditc-transpose-loop-weights | FileCheck %s

// The weights of the linear layers in a chunk loop become [N, K]: the
// weight op's type is transposed and marked ditc.transposed, and every
// linear layer that reads it (the one after the loop too) takes
// transpose_weight. Both weight ops named "fc2" change alike.
// CHECK-LABEL: func.func @mlp
// CHECK: %[[W1:.*]] = ditc.weight "fc1" {ditc.transposed, file = "m.onnx.data", offset = 0 : i64} : tensor<64x32xf32>
// CHECK: %[[W2:.*]] = ditc.weight "fc2" {ditc.transposed, file = "m.onnx.data", offset = 8192 : i64} : tensor<32x64xf32>
// CHECK: ditc.chunk
// CHECK: ditc.linear %{{.*}}, %[[W1]] {transpose_weight} : (tensor<2x16x32xf32>, tensor<64x32xf32>) -> tensor<2x16x64xf32>
// CHECK: ditc.linear %{{.*}}, %[[W2]] {transpose_weight} : (tensor<2x16x64xf32>, tensor<32x64xf32>) -> tensor<2x16x32xf32>
// CHECK: ditc.weight "fc2" {ditc.transposed, file = "m.onnx.data", offset = 8192 : i64} : tensor<32x64xf32>
// CHECK: ditc.linear %{{.*}}, %{{.*}} {transpose_weight} : (tensor<2x64x64xf32>, tensor<32x64xf32>) -> tensor<2x64x32xf32>
func.func @mlp(%x: tensor<2x64x32xf32>, %h: tensor<2x64x64xf32>) -> (tensor<2x64x32xf32>, tensor<2x64x32xf32>) {
  %w1 = ditc.weight "fc1" {file = "m.onnx.data", offset = 0 : i64} : tensor<32x64xf32>
  %w2 = ditc.weight "fc2" {file = "m.onnx.data", offset = 8192 : i64} : tensor<64x32xf32>
  %y = ditc.chunk (%x) {count = 4 : i64, input_dims = array<i64: 1>, result_dims = array<i64: 1>}
      : (tensor<2x64x32xf32>) -> tensor<2x64x32xf32> {
  ^bb0(%c: tensor<2x16x32xf32>):
    %a = ditc.linear %c, %w1 : (tensor<2x16x32xf32>, tensor<32x64xf32>) -> tensor<2x16x64xf32>
    %b = ditc.linear %a, %w2 : (tensor<2x16x64xf32>, tensor<64x32xf32>) -> tensor<2x16x32xf32>
    ditc.yield %b : tensor<2x16x32xf32>
  }
  %w2b = ditc.weight "fc2" {file = "m.onnx.data", offset = 8192 : i64} : tensor<64x32xf32>
  %z = ditc.linear %h, %w2b : (tensor<2x64x64xf32>, tensor<64x32xf32>) -> tensor<2x64x32xf32>
  return %y, %z : tensor<2x64x32xf32>, tensor<2x64x32xf32>
}

// Left as they are: a weight no loop reads, one that another op also
// reads, one already [N, K], and a padded one (the plan pads, as it
// shards, in the stored layout).
// CHECK-LABEL: func.func @kept
// CHECK: ditc.weight "outside" {file = "m.onnx.data", offset = 0 : i64} : tensor<32x32xf32>
// CHECK: ditc.weight "shared" {file = "m.onnx.data", offset = 4096 : i64} : tensor<32x32xf32>
// CHECK: ditc.weight "nk" {file = "m.onnx.data", offset = 8192 : i64} : tensor<32x32xf32>
// CHECK: ditc.weight "padded" {ditc.global_shape = array<i64: 32, 14>, file = "m.onnx.data", offset = 12288 : i64} : tensor<32x16xf32>
// CHECK-NOT: ditc.transposed
// CHECK: ditc.linear %{{.*}}, %{{.*}} : (tensor<2x64x32xf32>, tensor<32x32xf32>) -> tensor<2x64x32xf32>
// CHECK: ditc.linear %{{.*}}, %{{.*}} : (tensor<2x16x32xf32>, tensor<32x32xf32>) -> tensor<2x16x32xf32>
// CHECK: ditc.linear %{{.*}}, %{{.*}} {transpose_weight} : (tensor<2x16x32xf32>, tensor<32x32xf32>) -> tensor<2x16x32xf32>
// CHECK: ditc.linear %{{.*}}, %{{.*}} : (tensor<2x16x32xf32>, tensor<32x16xf32>) -> tensor<2x16x16xf32>
func.func @kept(%x: tensor<2x64x32xf32>) -> (tensor<2x64x32xf32>, tensor<2x64x16xf32>, tensor<32x32xf32>) {
  %w0 = ditc.weight "outside" {file = "m.onnx.data", offset = 0 : i64} : tensor<32x32xf32>
  %ws = ditc.weight "shared" {file = "m.onnx.data", offset = 4096 : i64} : tensor<32x32xf32>
  %wn = ditc.weight "nk" {file = "m.onnx.data", offset = 8192 : i64} : tensor<32x32xf32>
  %wh = ditc.weight "padded" {ditc.global_shape = array<i64: 32, 14>, file = "m.onnx.data", offset = 12288 : i64} : tensor<32x16xf32>
  %o = ditc.linear %x, %w0 : (tensor<2x64x32xf32>, tensor<32x32xf32>) -> tensor<2x64x32xf32>
  %y:2 = ditc.chunk (%o) {count = 4 : i64, input_dims = array<i64: 1>, result_dims = array<i64: 1, 1>}
      : (tensor<2x64x32xf32>) -> (tensor<2x64x32xf32>, tensor<2x64x16xf32>) {
  ^bb0(%c: tensor<2x16x32xf32>):
    %a = ditc.linear %c, %ws : (tensor<2x16x32xf32>, tensor<32x32xf32>) -> tensor<2x16x32xf32>
    %b = ditc.linear %a, %wn {transpose_weight} : (tensor<2x16x32xf32>, tensor<32x32xf32>) -> tensor<2x16x32xf32>
    %d = ditc.linear %b, %wh : (tensor<2x16x32xf32>, tensor<32x16xf32>) -> tensor<2x16x16xf32>
    ditc.yield %b, %d : tensor<2x16x32xf32>, tensor<2x16x16xf32>
  }
  %s = ditc.add %ws, %ws : (tensor<32x32xf32>, tensor<32x32xf32>) -> tensor<32x32xf32>
  return %y#0, %y#1, %s : tensor<2x64x32xf32>, tensor<2x64x16xf32>, tensor<32x32xf32>
}
